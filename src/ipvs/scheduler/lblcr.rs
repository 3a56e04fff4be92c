//! *Locality-based least connection with replication* (`lblcr`): like lblc, but a busy
//! destination address may be served by a *set* of servers that grows and shrinks.
//!
//! For each destination address (`daddr`) lblcr remembers a set of servers, newest member first.
//! A new connection goes to the least loaded member of the set (weighted, as in wlc).
//! If that member is overloaded in lblc's sense ([`is_overloaded`]), lblcr picks a server
//! from the whole service with wlc, **adds** it to the set, and uses it: a popular site gets
//! replicated onto more caches. If the set has not changed for `expiration` (24 h by default),
//! its most loaded member is dropped on the next lookup, so the set shrinks again when the
//! rush is over. Whole entries unused for 24 hours are forgotten, as in lblc.
//!
//! # Simplifications
//!
//! - Set members are [`DestKey`]s. A member that is missing from the slice (deleted and not
//!   kept as an unavailable entry) is skipped by the set minimum, as the kernel skips a deleted
//!   server, and is never chosen by the set maximum, whereas the kernel still knows a deleted
//!   server's weight and load and may drop it. Keep deleted servers in the slice with
//!   `available == false` to get the kernel's behaviour.
//! - Expiry runs lazily; see [`locality`](super::locality).
//!
//! # Further reading
//!
//! - Linux `net/netfilter/ipvs/ip_vs_lblcr.c` (`ip_vs_lblcr_schedule`, `ip_vs_dest_set_min`,
//!   `ip_vs_dest_set_max`, `ip_vs_dest_set_insert`, `ip_vs_dest_set_erase`, `ip_vs_lblcr_new`).
//! - `shared/reference/ipvs-schedulers.md`, section 2.10.
//!
//! Start reading at [`Lblcr::schedule`](Scheduler::schedule).

use std::net::Ipv4Addr;

use super::hash::HashFlavor;
use super::locality::{DEFAULT_EXPIRATION_NS, LocalityTable, find, is_overloaded};
use super::wlc::{is_lighter, weighted_least_connection};
use super::{Connection, DestKey, Destination, Scheduler, SchedulerState};

/// lblcr's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LblcrOptions {
    /// The `lblcr_expiration` sysctl in ns. It ages whole entries (by `lastuse`) and also
    /// decides when a set may shrink (by `lastmod`). Default 24 hours.
    pub expiration_ns: u64,
    /// When the scheduler was bound to the service (ns); the expiry timer runs every 60 s from here.
    pub bind_ns: u64,
    /// The kernel generation's hash for the table buckets; see [`HashFlavor`].
    pub hash: HashFlavor,
}

impl Default for LblcrOptions {
    fn default() -> Self {
        LblcrOptions {
            expiration_ns: DEFAULT_EXPIRATION_NS,
            bind_ns: 0,
            hash: HashFlavor::Modern,
        }
    }
}

/// The servers remembered for one destination address (kernel `struct ip_vs_dest_set`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DestSet {
    /// The members, newest first (new members are added at the head, `list_add_rcu`).
    pub members: Vec<DestKey>,
    /// The last time (ns) a member was added or removed; the set shrinks only after it has
    /// been unchanged for the expiration time.
    pub lastmod_ns: u64,
}

impl DestSet {
    /// `ip_vs_dest_set_insert(set, dest, check = true)`: adds `key` at the head unless it is
    /// already a member. Adding updates `lastmod`.
    fn insert(&mut self, key: DestKey, now_ns: u64) {
        if self.members.contains(&key) {
            return;
        }
        self.members.insert(0, key);
        self.lastmod_ns = now_ns;
    }

    /// `ip_vs_dest_set_erase()`: removes `key` and updates `lastmod`.
    fn erase(&mut self, key: DestKey, now_ns: u64) {
        self.members.retain(|&member| member != key);
        self.lastmod_ns = now_ns;
    }

    /// `ip_vs_dest_set_min()`: the index into `dests` of the member with the least
    /// `conn_overhead / weight`, first on ties; `None` if no member qualifies.
    ///
    /// Members with the threshold flag are skipped, and the winner must be available (and,
    /// for the first one, have a positive weight).
    pub fn min(&self, dests: &[Destination]) -> Option<usize> {
        // Members missing from the slice are skipped: the kernel would find them unavailable.
        let mut members = self.members.iter().filter_map(|&key| find(dests, key));
        // 1. The first member that is not overloaded, has a positive weight and is available.
        let mut least_index = members.find(|&index| {
            let dest = &dests[index];
            !dest.overloaded && dest.weight > 0 && dest.available
        })?;
        let mut least_overhead = dests[least_index].conn_overhead();
        // 2. Later members replace it when strictly lighter and available.
        for index in members {
            let dest = &dests[index];
            if dest.overloaded {
                continue;
            }
            let overhead = dest.conn_overhead();
            if is_lighter(
                overhead,
                dest.weight,
                least_overhead,
                dests[least_index].weight,
            ) && dest.available
            {
                least_index = index;
                least_overhead = overhead;
            }
        }
        Some(least_index)
    }

    /// `ip_vs_dest_set_max()`: the member with the greatest `conn_overhead / weight`, first on
    /// ties, among members with a positive weight; `None` if there is none.
    ///
    /// Unlike [`DestSet::min`], neither the threshold flag nor availability is checked.
    pub fn max(&self, dests: &[Destination]) -> Option<DestKey> {
        // Simplification: a member missing from the slice is treated as weight 0 (never chosen).
        let mut members = self.members.iter().filter_map(|&key| find(dests, key));
        // 1. The first member with a positive weight.
        let mut most_index = members.find(|&index| dests[index].weight > 0)?;
        let mut most_overhead = dests[most_index].conn_overhead();
        // 2. Later members replace it when strictly heavier (cross-multiplied:
        //    most_overhead * weight < overhead * most_weight) and their weight is positive.
        for index in members {
            let dest = &dests[index];
            let overhead = dest.conn_overhead();
            let heavier = u128::from(most_overhead) * u128::from(dest.weight)
                < u128::from(overhead) * u128::from(dests[most_index].weight);
            if heavier && dest.weight > 0 {
                most_index = index;
                most_overhead = overhead;
            }
        }
        Some(dests[most_index].key())
    }
}

/// lblcr state: the cache from destination address to a set of servers.
#[derive(Clone, Debug)]
pub struct Lblcr {
    /// The remembered server set per destination address, with its expiry timer.
    table: LocalityTable<DestSet>,
}

impl Lblcr {
    /// An empty cache, bound at `options.bind_ns`.
    pub fn new(options: LblcrOptions) -> Self {
        Lblcr {
            table: LocalityTable::new(options.hash, options.expiration_ns, options.bind_ns),
        }
    }

    /// The server set remembered for `daddr`, if any (as of the last call; timers are not run).
    pub fn cached(&self, daddr: Ipv4Addr) -> Option<&DestSet> {
        self.table.get(daddr).map(|entry| &entry.value)
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

impl Scheduler for Lblcr {
    fn name(&self) -> &'static str {
        "lblcr"
    }

    fn schedule(&mut self, dests: &[Destination], conn: &Connection, now_ns: u64) -> Option<usize> {
        // 0. Let the garbage collector catch up with simulated time.
        self.table.run_timers(now_ns);
        let expiration_ns = self.table.expiration_ns();

        if let Some(entry) = self.table.get_mut(conn.daddr) {
            // 1. A hit refreshes `lastuse`.
            entry.lastuse_ns = now_ns;
            let set = &mut entry.value;
            // 2. The least loaded usable member.
            let least = set.min(dests);
            // 3. Shrink: a set of several members that has not changed for the expiration time
            //    (strictly longer, `time_after`) loses its most loaded member. That may be the
            //    member just chosen in step 2, which is still used below.
            if set.members.len() > 1
                && now_ns > set.lastmod_ns.saturating_add(expiration_ns)
                && let Some(most) = set.max(dests)
            {
                set.erase(most, now_ns);
            }
            // 4. Use the least loaded member unless it is overloaded in lblc's sense.
            if let Some(index) = least
                && !is_overloaded(&dests[index], dests)
            {
                return Some(index);
            }
            // 5. Otherwise replicate: pick with wlc over the whole service and add the pick to
            //    the set (at the head, if it is not a member yet).
            let index = weighted_least_connection(dests)?;
            set.insert(dests[index].key(), now_ns);
            return Some(index);
        }

        // No entry: pick with wlc and remember a one-member set.
        let index = weighted_least_connection(dests)?;
        let set = DestSet {
            members: vec![dests[index].key()],
            lastmod_ns: now_ns,
        };
        self.table.insert(conn.daddr, set, now_ns);
        Some(index)
    }

    fn state(&self, _dests: &[Destination], conn: &Connection) -> SchedulerState {
        // Read before the pick's garbage collection, so an entry about to expire still shows.
        let set = self.cached(conn.daddr);
        SchedulerState::Locality {
            cached: set.and_then(|set| set.members.first().copied()),
            members: set.map_or(0, |set| set.members.len()),
        }
    }

    fn on_dests_changed(&mut self, _dests: &[Destination]) {
        // lblcr has no add/edit/delete hooks: stale members are noticed at lookup time.
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::scheduler::locality::NS_PER_SEC;
    use crate::ipvs::scheduler::testing::{conn, dest, name_at};

    const HOUR: u64 = 3600 * NS_PER_SEC;

    fn pick(lblcr: &mut Lblcr, dests: &[Destination], now_ns: u64) -> Option<char> {
        lblcr
            .schedule(dests, &conn(), now_ns)
            .map(|index| name_at(dests, index))
    }

    /// The cached set for the test connection, as server letters, newest first.
    fn members(lblcr: &Lblcr, dests: &[Destination]) -> String {
        let set = lblcr.cached(conn().daddr).expect("an entry exists");
        set.members
            .iter()
            .map(|&key| name_at(dests, find(dests, key).expect("member is in the slice")))
            .collect()
    }

    /// A set with the named members, in the given order (newest first).
    fn set_of(names: &str) -> DestSet {
        let members = names
            .chars()
            .map(|name| dest(name, 1, 0, 0).key())
            .collect();
        DestSet {
            members,
            lastmod_ns: 0,
        }
    }

    #[test]
    fn a_new_address_gets_a_one_member_set() {
        let mut lblcr = Lblcr::new(LblcrOptions::default());
        let dests = [dest('A', 1, 1, 0), dest('B', 1, 0, 0)];
        assert_eq!(pick(&mut lblcr, &dests, 5), Some('B'));
        assert_eq!(members(&lblcr, &dests), "B");
        assert_eq!(lblcr.cached(conn().daddr).unwrap().lastmod_ns, 5);
    }

    #[test]
    fn set_min_is_weighted_least_with_first_on_ties() {
        let dests = [dest('A', 1, 2, 0), dest('B', 2, 2, 0), dest('C', 4, 4, 0)];
        // Set order C, B, A: C 1024/4 = 256, B 512/2 = 256 (tie, C stays), A 512.
        assert_eq!(set_of("CBA").min(&dests), Some(2));
        assert_eq!(set_of("BCA").min(&dests), Some(1));
    }

    #[test]
    fn set_min_skips_overloaded_unavailable_and_weight_zero_first() {
        let mut dests = [
            dest('A', 0, 0, 0),
            dest('B', 1, 0, 0),
            dest('C', 1, 5, 0),
            dest('D', 1, 9, 0),
        ];
        dests[1].overloaded = true;
        dests[2].available = false;
        // A cannot start (weight 0), B is flagged, C is unavailable: D.
        assert_eq!(set_of("ABCD").min(&dests), Some(3));
        // An unavailable member never wins even when lighter.
        assert_eq!(set_of("DC").min(&dests), Some(3));
        dests[3].overloaded = true;
        assert_eq!(set_of("ABCD").min(&dests), None);
    }

    #[test]
    fn set_max_ignores_the_threshold_flag_and_availability() {
        let mut dests = [dest('A', 1, 1, 0), dest('B', 1, 3, 0), dest('C', 0, 9, 0)];
        dests[1].overloaded = true;
        dests[1].available = false;
        // C has weight 0 and is never the maximum; B is the heaviest despite its flags.
        assert_eq!(set_of("CAB").max(&dests), Some(dests[1].key()));
        // Ties keep the first: A 256/1 vs a copy with equal ratio.
        let dests = [dest('A', 1, 1, 0), dest('B', 2, 2, 0)];
        assert_eq!(set_of("AB").max(&dests), Some(dests[0].key()));
        assert_eq!(set_of("BA").max(&dests), Some(dests[1].key()));
    }

    #[test]
    fn an_overloaded_member_triggers_replication() {
        let mut lblcr = Lblcr::new(LblcrOptions::default());
        let mut dests = [dest('A', 1, 0, 0), dest('B', 4, 0, 0)];
        assert_eq!(pick(&mut lblcr, &dests, 0), Some('A'));
        // A: 2 active > weight 1 while B is under half busy: overloaded. wlc picks B and the
        // set becomes {B, A}, newest first.
        dests[0].active_conns = 2;
        dests[1].active_conns = 1;
        assert_eq!(pick(&mut lblcr, &dests, 10), Some('B'));
        assert_eq!(members(&lblcr, &dests), "BA");
        assert_eq!(lblcr.cached(conn().daddr).unwrap().lastmod_ns, 10);
        // Now the set minimum is B (256/4 = 64 < 512/1), which is fine: B again, set unchanged.
        assert_eq!(pick(&mut lblcr, &dests, 20), Some('B'));
        assert_eq!(members(&lblcr, &dests), "BA");
        assert_eq!(lblcr.cached(conn().daddr).unwrap().lastmod_ns, 10);
    }

    #[test]
    fn replication_does_not_duplicate_a_member() {
        let mut lblcr = Lblcr::new(LblcrOptions::default());
        let mut dests = [dest('A', 1, 0, 0), dest('B', 4, 0, 0)];
        assert_eq!(pick(&mut lblcr, &dests, 0), Some('A'));
        // A is overloaded in lblc's sense, but flag B so the set minimum is A, and make wlc
        // return A as well (B is skipped by wlc because of the flag).
        dests[0].active_conns = 2;
        dests[1].overloaded = true;
        assert_eq!(pick(&mut lblcr, &dests, 5), Some('A'));
        assert_eq!(members(&lblcr, &dests), "A");
        // Unchanged set: lastmod stays at creation.
        assert_eq!(lblcr.cached(conn().daddr).unwrap().lastmod_ns, 0);
    }

    #[test]
    fn no_usable_member_falls_back_to_wlc_and_adds() {
        let mut lblcr = Lblcr::new(LblcrOptions::default());
        let mut dests = [dest('A', 1, 0, 0), dest('B', 1, 1, 0)];
        assert_eq!(pick(&mut lblcr, &dests, 0), Some('A'));
        dests[0].weight = 0;
        assert_eq!(pick(&mut lblcr, &dests, 1), Some('B'));
        assert_eq!(members(&lblcr, &dests), "BA");
    }

    #[test]
    fn wlc_failure_returns_none_and_keeps_the_entry() {
        let mut lblcr = Lblcr::new(LblcrOptions::default());
        let mut dests = [dest('A', 1, 0, 0)];
        assert_eq!(pick(&mut lblcr, &dests, 0), Some('A'));
        dests[0].weight = 0;
        assert_eq!(pick(&mut lblcr, &dests, 3), None);
        assert_eq!(members(&lblcr, &dests), "A");
        assert_eq!(lblcr.table.get(conn().daddr).unwrap().lastuse_ns, 3);
        assert_eq!(pick(&mut lblcr, &[], 4), None);
    }

    #[test]
    fn the_set_shrinks_after_an_unchanged_expiration() {
        let options = LblcrOptions {
            expiration_ns: HOUR,
            ..LblcrOptions::default()
        };
        let mut lblcr = Lblcr::new(options);
        let mut dests = [dest('A', 1, 0, 0), dest('B', 4, 0, 0)];
        assert_eq!(pick(&mut lblcr, &dests, 0), Some('A'));
        dests[0].active_conns = 2;
        dests[1].active_conns = 1;
        assert_eq!(pick(&mut lblcr, &dests, 10), Some('B'));
        assert_eq!(members(&lblcr, &dests), "BA");
        // Exactly one expiration after the last change: not yet (time_after is strict).
        assert_eq!(pick(&mut lblcr, &dests, 10 + HOUR), Some('B'));
        assert_eq!(members(&lblcr, &dests), "BA");
        // One nanosecond later the most loaded member, A (512/1), is dropped.
        assert_eq!(pick(&mut lblcr, &dests, 11 + HOUR), Some('B'));
        assert_eq!(members(&lblcr, &dests), "B");
        assert_eq!(lblcr.cached(conn().daddr).unwrap().lastmod_ns, 11 + HOUR);
        // A single member is never dropped, however long the set is unchanged. (Look up before
        // the full check at 2.5 h, which would forget the whole entry.)
        assert_eq!(pick(&mut lblcr, &dests, 2 * HOUR + 12), Some('B'));
        assert_eq!(members(&lblcr, &dests), "B");
        assert_eq!(lblcr.cached(conn().daddr).unwrap().lastmod_ns, 11 + HOUR);
    }

    #[test]
    fn shrinking_may_drop_the_member_that_is_then_used() {
        let options = LblcrOptions {
            expiration_ns: HOUR,
            ..LblcrOptions::default()
        };
        // Set {B, A}, last changed at 1 ns; a lookup at 1 h keeps the entry alive (the full
        // checks forget entries unused for an hour), and from 1 h + 2 ns the set may shrink.
        let replicated = || {
            let mut lblcr = Lblcr::new(options);
            let mut dests = [dest('A', 1, 0, 0), dest('B', 4, 0, 0)];
            assert_eq!(pick(&mut lblcr, &dests, 0), Some('A'));
            dests[0].active_conns = 2;
            dests[1].active_conns = 1;
            assert_eq!(pick(&mut lblcr, &dests, 1), Some('B'));
            assert_eq!(pick(&mut lblcr, &dests, HOUR), Some('B'));
            assert_eq!(members(&lblcr, &dests), "BA");
            (lblcr, dests)
        };
        // B carries the threshold flag, so the set minimum is A; the set maximum ignores the
        // flag and finds B heaviest (9 * 256 / 4 = 576 against A's 256 / 1): B is dropped.
        let (mut lblcr, mut dests) = replicated();
        dests[0].active_conns = 1;
        dests[1].active_conns = 9;
        dests[1].overloaded = true;
        assert_eq!(pick(&mut lblcr, &dests, HOUR + 2), Some('A'));
        assert_eq!(members(&lblcr, &dests), "A");
        // Now A is both the minimum (B is flagged) and the maximum (256 / 1 against B's
        // 256 / 4): A is dropped from the set, and still used for this connection.
        let (mut lblcr, mut dests) = replicated();
        dests[0].active_conns = 1;
        dests[1].overloaded = true;
        assert_eq!(pick(&mut lblcr, &dests, HOUR + 2), Some('A'));
        assert_eq!(members(&lblcr, &dests), "B");
        assert_eq!(lblcr.cached(conn().daddr).unwrap().lastmod_ns, HOUR + 2);
    }

    #[test]
    fn entries_expire_like_lblc() {
        let mut lblcr = Lblcr::new(LblcrOptions::default());
        let dests = [dest('A', 1, 0, 0)];
        assert_eq!(pick(&mut lblcr, &dests, NS_PER_SEC), Some('A'));
        lblcr.expire(24 * HOUR);
        assert_eq!(lblcr.entries(), 1);
        lblcr.expire(24 * HOUR + 1800 * NS_PER_SEC);
        assert_eq!(lblcr.entries(), 0);
    }
}
