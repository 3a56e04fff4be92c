//! *Locality-based least connection* (`lblc`): keep sending one destination address to the
//! same server, unless that server is swamped.
//!
//! lblc was written for clusters of web caches behind a firewall-mark service: requests for one
//! destination address should hit the cache that already holds that site.
//! It remembers, per destination address (`daddr`), the server it chose last
//! ([`LocalityTable`]). For a new connection:
//! the remembered server is used if it is still available, has a positive weight and is not
//! overloaded in lblc's own sense ([`is_overloaded`]: more active connections than its weight
//! while some other server is under half its weight). Otherwise lblc picks afresh with wlc and
//! remembers that choice. Entries unused for 24 hours are forgotten.
//! Note that the threshold flag (`overloaded`, `ipvsadm -x`) is **not** checked for the
//! remembered server; only the fresh wlc pick skips flagged servers.
//!
//! # Simplifications
//!
//! - The cache stores the server's [`DestKey`], not a pointer. A deleted server's entries fail
//!   the availability test (the server is missing from the slice, or marked unavailable); if a
//!   server with the same address and port is added again before the entry is replaced, the
//!   entry is valid again. The kernel does the same when the server is recovered from its
//!   trash, but not for a brand-new server struct.
//! - Expiry runs lazily; see [`locality`](super::locality).
//! - Allocation failures (the kernel then just does not cache) cannot happen here.
//!
//! # Further reading
//!
//! - Linux `net/netfilter/ipvs/ip_vs_lblc.c` (`ip_vs_lblc_schedule`, `ip_vs_lblc_new`,
//!   `__ip_vs_lblc_schedule`, `is_overloaded`).
//! - `shared/reference/ipvs-schedulers.md`, section 2.9.
//!
//! Start reading at [`Lblc::schedule`](Scheduler::schedule).

use std::net::Ipv4Addr;

use super::hash::HashFlavor;
use super::locality::{DEFAULT_EXPIRATION_NS, LocalityTable, find, is_overloaded};
use super::wlc::weighted_least_connection;
use super::{Connection, DestKey, Destination, Scheduler, SchedulerState};

/// lblc's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LblcOptions {
    /// The `lblc_expiration` sysctl in ns: the full check forgets entries unused this long.
    /// Default 24 hours.
    pub expiration_ns: u64,
    /// When the scheduler was bound to the service (ns); the expiry timer runs every 60 s from here.
    pub bind_ns: u64,
    /// The kernel generation's hash for the table buckets; see [`HashFlavor`].
    pub hash: HashFlavor,
}

impl Default for LblcOptions {
    fn default() -> Self {
        LblcOptions {
            expiration_ns: DEFAULT_EXPIRATION_NS,
            bind_ns: 0,
            hash: HashFlavor::Modern,
        }
    }
}

/// lblc state: the cache from destination address to server.
#[derive(Clone, Debug)]
pub struct Lblc {
    /// The remembered server per destination address, with its expiry timer.
    table: LocalityTable<DestKey>,
}

impl Lblc {
    /// An empty cache, bound at `options.bind_ns`.
    pub fn new(options: LblcOptions) -> Self {
        Lblc {
            table: LocalityTable::new(options.hash, options.expiration_ns, options.bind_ns),
        }
    }

    /// The server remembered for `daddr`, if any (as of the last call; timers are not run).
    pub fn cached(&self, daddr: Ipv4Addr) -> Option<DestKey> {
        self.table.get(daddr).map(|entry| entry.value)
    }

    /// How many addresses are remembered.
    pub fn entries(&self) -> usize {
        self.table.len()
    }

    /// Runs the expiry timer up to `now_ns` without scheduling, e.g. before inspecting the cache.
    pub fn expire(&mut self, now_ns: u64) {
        self.table.run_timers(now_ns);
    }
}

impl Scheduler for Lblc {
    fn name(&self) -> &'static str {
        "lblc"
    }

    fn schedule(&mut self, dests: &[Destination], conn: &Connection, now_ns: u64) -> Option<usize> {
        // 0. Let the garbage collector catch up with simulated time.
        self.table.run_timers(now_ns);

        // 1. Look in the cache. A hit always refreshes `lastuse`, even if the server turns out
        //    to be unusable. The remembered server is used if it is available, has a positive
        //    weight and is not overloaded in lblc's sense; the threshold flag is not checked.
        if let Some(entry) = self.table.get_mut(conn.daddr) {
            entry.lastuse_ns = now_ns;
            if let Some(index) = find(dests, entry.value) {
                let dest = &dests[index];
                if dest.available && dest.weight > 0 && !is_overloaded(dest, dests) {
                    return Some(index);
                }
            }
        }

        // 2. No entry, or an unusable one: pick with wlc over the whole service.
        //    If that fails the old entry stays as it is.
        let index = weighted_least_connection(dests)?;

        // 3. ip_vs_lblc_new(): remember the pick. An entry that already names it is kept;
        //    one naming another server is replaced by a new entry at the head of its bucket.
        let key = dests[index].key();
        match self.table.get(conn.daddr) {
            Some(entry) if entry.value == key => {}
            Some(_) => {
                self.table.remove(conn.daddr);
                self.table.insert(conn.daddr, key, now_ns);
            }
            None => self.table.insert(conn.daddr, key, now_ns),
        }
        Some(index)
    }

    fn state(&self, _dests: &[Destination], conn: &Connection) -> SchedulerState {
        // Read before the pick's garbage collection, so an entry about to expire still shows.
        let cached = self.cached(conn.daddr);
        SchedulerState::Locality {
            cached,
            members: usize::from(cached.is_some()),
        }
    }

    fn on_dests_changed(&mut self, _dests: &[Destination]) {
        // lblc has no add/edit/delete hooks: stale entries are noticed at lookup time.
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::scheduler::locality::NS_PER_SEC;
    use crate::ipvs::scheduler::testing::{addr_of, conn, dest, name_at};

    const HOUR: u64 = 3600 * NS_PER_SEC;

    fn pick(
        lblc: &mut Lblc,
        dests: &[Destination],
        conn: &Connection,
        now_ns: u64,
    ) -> Option<char> {
        lblc.schedule(dests, conn, now_ns)
            .map(|index| name_at(dests, index))
    }

    fn to(daddr: Ipv4Addr) -> Connection {
        Connection { daddr, ..conn() }
    }

    #[test]
    fn first_pick_is_wlc_and_is_remembered() {
        let mut lblc = Lblc::new(LblcOptions::default());
        let dests = [dest('A', 1, 1, 0), dest('B', 1, 0, 0)];
        assert_eq!(pick(&mut lblc, &dests, &conn(), 0), Some('B'));
        assert_eq!(lblc.cached(conn().daddr), Some(dests[1].key()));
        assert_eq!(lblc.entries(), 1);
    }

    #[test]
    fn a_cache_hit_sticks_even_when_wlc_would_choose_another() {
        let mut lblc = Lblc::new(LblcOptions::default());
        let mut dests = [dest('A', 1, 0, 0), dest('B', 1, 0, 0)];
        assert_eq!(pick(&mut lblc, &dests, &conn(), 0), Some('A'));
        // A now has one active connection (not more than its weight): still A.
        dests[0].active_conns = 1;
        dests[0].inactive_conns = 50;
        assert_eq!(pick(&mut lblc, &dests, &conn(), 1), Some('A'));
        // A different destination address has no entry, so wlc picks B for it.
        let other = to(Ipv4Addr::new(10, 9, 9, 9));
        assert_eq!(pick(&mut lblc, &dests, &other, 2), Some('B'));
        assert_eq!(lblc.entries(), 2);
    }

    #[test]
    fn the_threshold_flag_is_ignored_for_the_cached_server() {
        let mut lblc = Lblc::new(LblcOptions::default());
        let mut dests = [dest('A', 1, 0, 0), dest('B', 1, 0, 0)];
        assert_eq!(pick(&mut lblc, &dests, &conn(), 0), Some('A'));
        dests[0].overloaded = true;
        assert_eq!(pick(&mut lblc, &dests, &conn(), 1), Some('A'));
        // ...but the fresh wlc pick for a new address skips it.
        assert_eq!(
            pick(&mut lblc, &dests, &to(Ipv4Addr::new(10, 9, 9, 9)), 2),
            Some('B')
        );
    }

    #[test]
    fn lblc_overload_moves_the_address_to_a_lighter_server() {
        let mut lblc = Lblc::new(LblcOptions::default());
        let mut dests = [dest('A', 1, 0, 0), dest('B', 4, 0, 0)];
        assert_eq!(pick(&mut lblc, &dests, &conn(), 0), Some('A'));
        // A: 2 active > weight 1, and B is under half busy (1 * 2 < 4): overloaded.
        dests[0].active_conns = 2;
        dests[1].active_conns = 1;
        // wlc: A 512/1, B 256/4 = 64: B, which replaces A in the cache.
        assert_eq!(pick(&mut lblc, &dests, &conn(), 1), Some('B'));
        assert_eq!(lblc.cached(conn().daddr), Some(dests[1].key()));
    }

    #[test]
    fn no_half_idle_server_means_the_cached_server_stays() {
        let mut lblc = Lblc::new(LblcOptions::default());
        let mut dests = [dest('A', 1, 0, 0), dest('B', 4, 0, 0)];
        assert_eq!(pick(&mut lblc, &dests, &conn(), 0), Some('A'));
        dests[0].active_conns = 5;
        dests[1].active_conns = 2; // 2 * 2 < 4 is false
        assert_eq!(pick(&mut lblc, &dests, &conn(), 1), Some('A'));
    }

    #[test]
    fn weight_zero_cached_server_is_replaced() {
        let mut lblc = Lblc::new(LblcOptions::default());
        let mut dests = [dest('A', 1, 0, 0), dest('B', 1, 3, 0)];
        assert_eq!(pick(&mut lblc, &dests, &conn(), 0), Some('A'));
        dests[0].weight = 0;
        assert_eq!(pick(&mut lblc, &dests, &conn(), 1), Some('B'));
        assert_eq!(lblc.cached(conn().daddr), Some(dests[1].key()));
    }

    #[test]
    fn deleted_cached_server_is_replaced_and_readding_revalidates() {
        let mut lblc = Lblc::new(LblcOptions::default());
        let mut dests = vec![dest('A', 1, 0, 0), dest('B', 1, 1, 0)];
        let x = to(Ipv4Addr::new(10, 1, 1, 1));
        let y = to(Ipv4Addr::new(10, 2, 2, 2));
        assert_eq!(pick(&mut lblc, &dests, &x, 0), Some('A'));
        assert_eq!(pick(&mut lblc, &dests, &y, 0), Some('A'));
        // Delete A. Address y is looked up meanwhile and moves to B.
        let removed = dests.remove(0);
        assert_eq!(pick(&mut lblc, &dests, &y, 1), Some('B'));
        // x's entry still names A. Re-add A (it goes to the head) before x is looked up again:
        // the entry is valid again.
        crate::ipvs::scheduler::add_destination(&mut dests, removed);
        assert_eq!(
            lblc.cached(x.daddr),
            Some(DestKey {
                addr: addr_of('A'),
                port: 80
            })
        );
        assert_eq!(pick(&mut lblc, &dests, &x, 2), Some('A'));
    }

    #[test]
    fn unavailable_cached_server_is_not_used() {
        let mut lblc = Lblc::new(LblcOptions::default());
        let mut dests = [dest('A', 1, 0, 0), dest('B', 1, 1, 0)];
        assert_eq!(pick(&mut lblc, &dests, &conn(), 0), Some('A'));
        dests[0].available = false;
        assert_eq!(pick(&mut lblc, &dests, &conn(), 1), Some('B'));
    }

    #[test]
    fn failed_repick_keeps_the_old_entry_but_refreshes_it() {
        let mut lblc = Lblc::new(LblcOptions::default());
        let mut dests = [dest('A', 1, 0, 0), dest('B', 1, 0, 0)];
        assert_eq!(pick(&mut lblc, &dests, &conn(), 0), Some('A'));
        dests[0].weight = 0;
        dests[1].overloaded = true;
        assert_eq!(pick(&mut lblc, &dests, &conn(), 7), None);
        assert_eq!(lblc.cached(conn().daddr), Some(dests[0].key()));
        assert_eq!(lblc.table.get(conn().daddr).unwrap().lastuse_ns, 7);
    }

    #[test]
    fn empty_service_gives_none_and_caches_nothing() {
        let mut lblc = Lblc::new(LblcOptions::default());
        assert_eq!(pick(&mut lblc, &[], &conn(), 0), None);
        assert_eq!(lblc.entries(), 0);
    }

    #[test]
    fn entries_expire_after_24_hours_at_the_next_full_check() {
        let mut lblc = Lblc::new(LblcOptions::default());
        let mut dests = [dest('A', 1, 0, 0), dest('B', 1, 0, 0)];
        assert_eq!(pick(&mut lblc, &dests, &conn(), 0), Some('A'));
        // wlc would now prefer B, but the cache holds A.
        dests[0].inactive_conns = 5;
        lblc.expire(24 * HOUR - 1);
        assert_eq!(lblc.entries(), 1);
        // The full check at 24 h (a multiple of 30 min after bind) forgets it...
        lblc.expire(24 * HOUR);
        assert_eq!(lblc.entries(), 0);
        // ...so the next connection is scheduled afresh.
        assert_eq!(pick(&mut lblc, &dests, &conn(), 24 * HOUR + 1), Some('B'));
    }

    #[test]
    fn every_lookup_refreshes_the_entry() {
        let mut lblc = Lblc::new(LblcOptions::default());
        let dests = [dest('A', 1, 0, 0)];
        assert_eq!(pick(&mut lblc, &dests, &conn(), 0), Some('A'));
        assert_eq!(pick(&mut lblc, &dests, &conn(), 10 * HOUR), Some('A'));
        lblc.expire(33 * HOUR + 1800 * NS_PER_SEC);
        assert_eq!(lblc.entries(), 1);
        lblc.expire(34 * HOUR);
        assert_eq!(lblc.entries(), 0);
    }

    #[test]
    fn a_shorter_expiration_sysctl_and_a_later_bind() {
        let options = LblcOptions {
            expiration_ns: 60 * NS_PER_SEC,
            bind_ns: 100 * NS_PER_SEC,
            ..LblcOptions::default()
        };
        let mut lblc = Lblc::new(options);
        let dests = [dest('A', 1, 0, 0)];
        assert_eq!(
            pick(&mut lblc, &dests, &conn(), 100 * NS_PER_SEC),
            Some('A')
        );
        // The first full check is 30 minutes after the bind, at 1900 s.
        lblc.expire(1899 * NS_PER_SEC);
        assert_eq!(lblc.entries(), 1);
        lblc.expire(1900 * NS_PER_SEC);
        assert_eq!(lblc.entries(), 0);
    }

    #[test]
    fn the_key_is_the_destination_address_not_the_client() {
        let mut lblc = Lblc::new(LblcOptions::default());
        let mut dests = [dest('A', 1, 0, 0), dest('B', 1, 0, 0)];
        assert_eq!(pick(&mut lblc, &dests, &conn(), 0), Some('A'));
        dests[0].inactive_conns = 1;
        let other_client = Connection {
            client_addr: Ipv4Addr::new(198, 51, 100, 7),
            ..conn()
        };
        assert_eq!(pick(&mut lblc, &dests, &other_client, 1), Some('A'));
    }
}
