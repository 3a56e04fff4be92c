//! *The locality cache*: the table and garbage collector shared by lblc and lblcr.
//!
//! lblc and lblcr remember, per destination address (`daddr`), which server(s) handled it
//! last, so that repeat traffic to one address finds a warm cache server.
//! The memory is a hash table of 1024 buckets (`hash_32(daddr, 10)`), each a list of entries
//! with the newest at the front; an entry records its address, its server(s) and `lastuse`,
//! the time it was last looked up.
//! A periodic timer, every 60 s from the moment the scheduler is bound, removes stale entries:
//! every 30th run is a **full check** that drops every entry unused for `expiration` (24 h by
//! default); on the other runs, only if the table holds more than 16384 entries, a **partial
//! GC** drops entries unused for 6 minutes, bucket by bucket, until it has removed enough.
//! The same module holds lblc's own notion of an overloaded server, [`is_overloaded`].
//!
//! # Simplifications
//!
//! - Time is `u64` nanoseconds, not wrapping `jiffies`; "unused for x" is exact, not HZ-rounded.
//! - There is no real timer: every call that passes a `now_ns` first runs, in order, each
//!   timer expiry due at or before `now_ns` ([`LocalityTable::run_timers`]), each one with its
//!   own firing time. A timer and a packet at the same instant: the timer runs first.
//!   The cost is one step per elapsed minute.
//! - The kernel's timer drifts by the handler's run time; here it fires exactly every 60 s.
//!
//! # Further reading
//!
//! - Linux `net/netfilter/ipvs/ip_vs_lblc.c` (`ip_vs_lblc_check_expire`,
//!   `ip_vs_lblc_full_check`, `is_overloaded`) and its twin in `ip_vs_lblcr.c`.
//! - `shared/reference/ipvs-schedulers.md`, sections 2.9 and 2.10.
//! - The sysctls `/proc/sys/net/ipv4/vs/lblc_expiration` and `lblcr_expiration`.
//!
//! Start reading at [`LocalityTable::run_timers`].

use std::net::Ipv4Addr;

use super::hash::{HashFlavor, mask};
use super::{Destination, service_list};

/// One second in nanoseconds.
pub const NS_PER_SEC: u64 = 1_000_000_000;

/// `IP_VS_LBLC_TAB_BITS` (and lblcr's): the table has `2^10 = 1024` buckets.
pub const TAB_BITS: u32 = 10;

/// The number of hash buckets.
pub const TAB_SIZE: usize = 1 << TAB_BITS;

/// `tbl->max_size`: above this many entries the partial GC runs (16 per bucket).
pub const MAX_SIZE: usize = TAB_SIZE * 16;

/// `CHECK_EXPIRE_INTERVAL`: the garbage-collection timer period, 60 s.
pub const CHECK_EXPIRE_INTERVAL_NS: u64 = 60 * NS_PER_SEC;

/// `ENTRY_TIMEOUT`: the partial GC removes entries unused for at least 6 minutes.
pub const ENTRY_TIMEOUT_NS: u64 = 6 * 60 * NS_PER_SEC;

/// `DEFAULT_EXPIRATION`, the sysctl default: the full check removes entries unused for 24 hours.
pub const DEFAULT_EXPIRATION_NS: u64 = 24 * 60 * 60 * NS_PER_SEC;

/// `COUNT_FOR_FULL_EXPIRATION`: every 30th timer run is a full check (every 30 minutes).
pub const COUNT_FOR_FULL_EXPIRATION: u32 = 30;

/// One cache entry (kernel `struct ip_vs_lblc_entry` / `ip_vs_lblcr_entry`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry<V> {
    /// The destination address this entry is for; compared in full, not by hash.
    pub addr: Ipv4Addr,
    /// What is remembered: one server for lblc, a set of servers for lblcr.
    pub value: V,
    /// The last time (ns) this entry was looked up; the garbage collector ages entries by it.
    pub lastuse_ns: u64,
}

/// The hash table of entries plus the state of its expiry timer (kernel `struct ip_vs_lblc_table`).
#[derive(Clone, Debug)]
pub struct LocalityTable<V> {
    /// Which kernel generation's hash spreads addresses over buckets.
    hash: HashFlavor,
    /// The full check's age limit in ns (the `lblc_expiration`/`lblcr_expiration` sysctl).
    expiration_ns: u64,
    /// `TAB_SIZE` buckets; each holds its entries newest first, like the kernel's `hlist_add_head`.
    buckets: Vec<Vec<Entry<V>>>,
    /// The total number of entries (kernel `tbl->entries`).
    entries: usize,
    /// Counts timer runs towards the next full check; starts at 1, full check when it is a
    /// multiple of 30. Runs that do a partial GC do not advance it.
    counter: u32,
    /// The bucket where the last partial GC stopped; the next one starts after it.
    rover: usize,
    /// When the timer fires next (ns).
    next_check_ns: u64,
}

impl<V> LocalityTable<V> {
    /// An empty table bound at `bind_ns`; the first timer run is 60 s later.
    pub fn new(hash: HashFlavor, expiration_ns: u64, bind_ns: u64) -> Self {
        LocalityTable {
            hash,
            expiration_ns,
            buckets: (0..TAB_SIZE).map(|_| Vec::new()).collect(),
            entries: 0,
            counter: 1,
            rover: 0,
            next_check_ns: bind_ns.saturating_add(CHECK_EXPIRE_INTERVAL_NS),
        }
    }

    /// The configured expiration (ns).
    pub fn expiration_ns(&self) -> u64 {
        self.expiration_ns
    }

    /// `ip_vs_lblc_hashkey()`: the bucket of `addr`.
    pub fn bucket_of(&self, addr: Ipv4Addr) -> usize {
        self.hash.bucket(u32::from(addr), TAB_BITS) as usize
    }

    /// `ip_vs_lblc_get()`: the entry for `addr`, if any.
    pub fn get(&self, addr: Ipv4Addr) -> Option<&Entry<V>> {
        self.buckets[self.bucket_of(addr)]
            .iter()
            .find(|entry| entry.addr == addr)
    }

    /// The entry for `addr`, to update it in place.
    pub fn get_mut(&mut self, addr: Ipv4Addr) -> Option<&mut Entry<V>> {
        let bucket = self.bucket_of(addr);
        self.buckets[bucket]
            .iter_mut()
            .find(|entry| entry.addr == addr)
    }

    /// Adds a new entry at the head of its bucket (`hlist_add_head_rcu`).
    ///
    /// Invariant: there is no entry for `addr` yet; callers remove the old one first.
    pub fn insert(&mut self, addr: Ipv4Addr, value: V, now_ns: u64) {
        debug_assert!(self.get(addr).is_none(), "at most one entry per address");
        let bucket = self.bucket_of(addr);
        self.buckets[bucket].insert(
            0,
            Entry {
                addr,
                value,
                lastuse_ns: now_ns,
            },
        );
        self.entries += 1;
    }

    /// Removes the entry for `addr`, if any (`ip_vs_lblc_del`).
    pub fn remove(&mut self, addr: Ipv4Addr) {
        let bucket = self.bucket_of(addr);
        let before = self.buckets[bucket].len();
        self.buckets[bucket].retain(|entry| entry.addr != addr);
        self.entries -= before - self.buckets[bucket].len();
    }

    /// How many entries the table holds.
    pub fn len(&self) -> usize {
        self.entries
    }

    /// True when the table holds no entries.
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// Runs every timer expiry due at or before `now_ns`, each at its own firing time.
    pub fn run_timers(&mut self, now_ns: u64) {
        while self.next_check_ns <= now_ns {
            let fired_ns = self.next_check_ns;
            self.check_expire(fired_ns);
            // mod_timer(jiffies + CHECK_EXPIRE_INTERVAL): the next run is one period later.
            self.next_check_ns = fired_ns.saturating_add(CHECK_EXPIRE_INTERVAL_NS);
        }
    }

    /// `ip_vs_lblc_check_expire()`: one run of the periodic timer at `now_ns`.
    fn check_expire(&mut self, now_ns: u64) {
        // 1. Every 30th run: full check, then start counting again.
        if self.counter.is_multiple_of(COUNT_FOR_FULL_EXPIRATION) {
            self.full_check(now_ns);
            self.counter = 1;
            return;
        }
        // 2. A table within its size limit needs nothing more; count towards the full check.
        if self.entries <= MAX_SIZE {
            self.counter += 1;
            return;
        }
        // 3. An oversized table: remove about 4/3 of the excess (at most half the limit),
        //    taking entries unused for ENTRY_TIMEOUT, whole buckets at a time, starting after
        //    the bucket where the previous partial GC stopped. The goal is checked only after
        //    each bucket, so a little more than the goal may go.
        let mut goal = ((self.entries - MAX_SIZE) * 4 / 3).min(MAX_SIZE / 2) as i64;
        let mut bucket = self.rover;
        for _ in 0..TAB_SIZE {
            bucket = (bucket + 1) & mask(TAB_BITS) as usize;
            let before = self.buckets[bucket].len();
            // time_before(now, lastuse + ENTRY_TIMEOUT) keeps an entry.
            self.buckets[bucket]
                .retain(|entry| now_ns < entry.lastuse_ns.saturating_add(ENTRY_TIMEOUT_NS));
            let removed = before - self.buckets[bucket].len();
            self.entries -= removed;
            goal -= removed as i64;
            if goal <= 0 {
                break;
            }
        }
        self.rover = bucket;
    }

    /// `ip_vs_lblc_full_check()`: removes every entry unused for the expiration time.
    fn full_check(&mut self, now_ns: u64) {
        // The kernel walks all buckets starting after `rover` and ends where it started, so the
        // order does not matter and `rover` is unchanged.
        let expiration_ns = self.expiration_ns;
        for bucket in self.buckets.iter_mut() {
            let before = bucket.len();
            // time_before(now, lastuse + expiration) keeps an entry: it goes once
            // now >= lastuse + expiration.
            bucket.retain(|entry| now_ns < entry.lastuse_ns.saturating_add(expiration_ns));
            self.entries -= before - bucket.len();
        }
    }
}

/// lblc's and lblcr's own `is_overloaded(dest, svc)`.
///
/// A server counts as overloaded when it has more active connections than its weight **and**
/// some server in the service is less than half busy (`active * 2 < weight`), i.e. when moving
/// traffic would actually help. Inactive connections and the threshold flag play no part.
/// The less-than-half-busy server can be any server in the service, even one with the
/// threshold flag; a weight-0 server never qualifies (`active * 2 < 0` is false), and neither
/// can `dest` itself (it would need `active > weight > 2 * active`).
pub fn is_overloaded(dest: &Destination, dests: &[Destination]) -> bool {
    u64::from(dest.active_conns) > u64::from(dest.weight)
        && service_list(dests)
            .any(|(_, other)| u64::from(other.active_conns) * 2 < u64::from(other.weight))
}

/// The position of the server with `key` in `dests`, if it is there.
pub(crate) fn find(dests: &[Destination], key: super::DestKey) -> Option<usize> {
    dests.iter().position(|dest| dest.key() == key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::scheduler::hash::hash_32;
    use crate::ipvs::scheduler::testing::dest;

    const MINUTE: u64 = 60 * NS_PER_SEC;
    const HOUR: u64 = 60 * MINUTE;

    fn addr(n: u32) -> Ipv4Addr {
        Ipv4Addr::from(0x0A00_0000 + n)
    }

    #[test]
    fn constants_match_the_kernel() {
        assert_eq!(TAB_SIZE, 1024);
        assert_eq!(MAX_SIZE, 16384);
        assert_eq!(CHECK_EXPIRE_INTERVAL_NS, 60_000_000_000);
        assert_eq!(ENTRY_TIMEOUT_NS, 360_000_000_000);
        assert_eq!(DEFAULT_EXPIRATION_NS, 86_400_000_000_000);
    }

    #[test]
    fn buckets_use_hash_32_with_10_bits() {
        let table: LocalityTable<()> =
            LocalityTable::new(HashFlavor::Modern, DEFAULT_EXPIRATION_NS, 0);
        let vip = Ipv4Addr::new(10, 0, 0, 100);
        // Computed independently in Python.
        assert_eq!(table.bucket_of(vip), 993);
        assert_eq!(table.bucket_of(Ipv4Addr::from(1)), 391);
        let legacy: LocalityTable<()> =
            LocalityTable::new(HashFlavor::Legacy, DEFAULT_EXPIRATION_NS, 0);
        assert_eq!(legacy.bucket_of(vip), 292);
    }

    #[test]
    fn insert_get_remove() {
        let mut table = LocalityTable::new(HashFlavor::Modern, DEFAULT_EXPIRATION_NS, 0);
        table.insert(addr(1), 'A', 5);
        table.insert(addr(2), 'B', 6);
        assert_eq!(table.len(), 2);
        assert_eq!(
            table.get(addr(1)).map(|e| (e.value, e.lastuse_ns)),
            Some(('A', 5))
        );
        table.get_mut(addr(2)).unwrap().lastuse_ns = 9;
        assert_eq!(table.get(addr(2)).unwrap().lastuse_ns, 9);
        table.remove(addr(1));
        table.remove(addr(1));
        assert_eq!(table.len(), 1);
        assert!(table.get(addr(1)).is_none());
        assert!(!table.is_empty());
    }

    #[test]
    fn new_entries_go_to_the_head_of_their_bucket() {
        let mut table = LocalityTable::new(HashFlavor::Modern, DEFAULT_EXPIRATION_NS, 0);
        // Two addresses in the same bucket, found by search.
        let first = addr(0);
        let bucket = table.bucket_of(first);
        let second = (1..)
            .map(addr)
            .find(|&a| table.bucket_of(a) == bucket)
            .unwrap();
        table.insert(first, 1, 0);
        table.insert(second, 2, 0);
        let order: Vec<Ipv4Addr> = table.buckets[bucket].iter().map(|e| e.addr).collect();
        assert_eq!(order, vec![second, first]);
    }

    #[test]
    fn first_full_check_is_30_minutes_after_bind() {
        let mut table = LocalityTable::new(HashFlavor::Modern, 10 * MINUTE, 0);
        table.insert(addr(1), (), 0);
        // Runs at 1..29 minutes only count; the entry is 29 minutes old but survives.
        table.run_timers(30 * MINUTE - 1);
        assert_eq!((table.len(), table.counter), (1, 30));
        // The 30th run (at 30 min) is the full check.
        table.run_timers(30 * MINUTE);
        assert_eq!((table.len(), table.counter), (0, 1));
    }

    #[test]
    fn full_check_boundary_is_now_at_least_lastuse_plus_expiration() {
        let mut table = LocalityTable::new(HashFlavor::Modern, 30 * MINUTE, 0);
        table.insert(addr(1), (), 0);
        table.insert(addr(2), (), 1);
        // Full check at exactly 30 min: addr(1) is exactly 30 min old and goes, addr(2) stays.
        table.run_timers(30 * MINUTE);
        assert!(table.get(addr(1)).is_none());
        assert!(table.get(addr(2)).is_some());
        // The next full check is 30 minutes later.
        table.run_timers(60 * MINUTE - 1);
        assert!(table.get(addr(2)).is_some());
        table.run_timers(60 * MINUTE);
        assert!(table.is_empty());
    }

    #[test]
    fn default_expiration_lets_an_entry_live_24h_to_24h30() {
        let mut table = LocalityTable::new(HashFlavor::Modern, DEFAULT_EXPIRATION_NS, 0);
        table.insert(addr(1), (), NS_PER_SEC);
        table.run_timers(24 * HOUR);
        assert_eq!(table.len(), 1, "the 24 h check is 1 s too early");
        table.run_timers(24 * HOUR + 30 * MINUTE - 1);
        assert_eq!(table.len(), 1);
        table.run_timers(24 * HOUR + 30 * MINUTE);
        assert_eq!(table.len(), 0);
    }

    #[test]
    fn timer_phase_follows_the_bind_time() {
        let bind = 10 * NS_PER_SEC;
        let mut table = LocalityTable::new(HashFlavor::Modern, MINUTE, bind);
        table.insert(addr(1), (), bind);
        table.run_timers(bind + 30 * MINUTE - 1);
        assert_eq!(table.len(), 1);
        table.run_timers(bind + 30 * MINUTE);
        assert_eq!(table.len(), 0);
    }

    #[test]
    fn partial_gc_trims_an_oversized_table_bucket_by_bucket() {
        let n_entries: u32 = 17_000;
        let mut table = LocalityTable::new(HashFlavor::Modern, DEFAULT_EXPIRATION_NS, 0);
        for n in 0..n_entries {
            table.insert(addr(n), (), 0);
        }
        // Runs at 1..5 minutes find the table oversized but every entry younger than 6 minutes:
        // nothing goes, the walk covers all 1024 buckets and ends where it began, and the
        // counter does not advance.
        table.run_timers(5 * MINUTE);
        assert_eq!((table.len(), table.counter, table.rover), (17_000, 1, 0));
        // At 6 minutes every entry is old enough. goal = (17000 - 16384) * 4 / 3 = 821.
        // Buckets 1, 2, ... are emptied until at least 821 entries are gone.
        let mut bucket_sizes = vec![0usize; TAB_SIZE];
        for n in 0..n_entries {
            bucket_sizes[hash_32(u32::from(addr(n)), TAB_BITS) as usize] += 1;
        }
        let mut expected_removed = 0;
        let mut last_bucket = 0;
        while expected_removed < 821 {
            last_bucket += 1;
            expected_removed += bucket_sizes[last_bucket];
        }
        table.run_timers(6 * MINUTE);
        assert_eq!(table.len(), 17_000 - expected_removed);
        assert_eq!(table.rover, last_bucket);
        assert_eq!(table.counter, 1);
        assert!(table.buckets[1..=last_bucket].iter().all(Vec::is_empty));
        assert!(!table.buckets[last_bucket + 1].is_empty());
        // Now within the limit: the next run only counts.
        assert!(table.len() <= MAX_SIZE);
        table.run_timers(7 * MINUTE);
        assert_eq!(table.counter, 2);
    }

    #[test]
    fn partial_gc_goal_is_capped_at_half_the_limit() {
        let n_entries: u32 = 40_000;
        let mut table = LocalityTable::new(HashFlavor::Modern, DEFAULT_EXPIRATION_NS, 0);
        for n in 0..n_entries {
            table.insert(addr(n), (), 0);
        }
        // (40000 - 16384) * 4 / 3 = 31488, capped at 8192.
        table.run_timers(6 * MINUTE);
        let removed = 40_000 - table.len();
        assert!((8192..8192 + 100).contains(&removed), "removed {removed}");
    }

    #[test]
    fn lblc_overload_needs_a_half_idle_server() {
        // A: 2 active > weight 1. B: 1 * 2 < 4, so moving helps.
        let dests = [dest('A', 1, 2, 0), dest('B', 4, 1, 0)];
        assert!(is_overloaded(&dests[0], &dests));
        assert!(!is_overloaded(&dests[1], &dests));
        // B: 2 * 2 < 4 is false, and A: 4 < 1 is false: nobody to move to.
        let dests = [dest('A', 1, 2, 0), dest('B', 4, 2, 0)];
        assert!(!is_overloaded(&dests[0], &dests));
        // Exactly `active == weight` is not over.
        let dests = [dest('A', 2, 2, 0), dest('B', 4, 0, 0)];
        assert!(!is_overloaded(&dests[0], &dests));
        // Inactive connections never count.
        let dests = [dest('A', 1, 0, 1000), dest('B', 4, 0, 0)];
        assert!(!is_overloaded(&dests[0], &dests));
    }

    #[test]
    fn lblc_overload_counts_threshold_flagged_servers_as_helpers() {
        let mut dests = [dest('A', 1, 2, 0), dest('B', 4, 0, 0)];
        dests[1].overloaded = true;
        assert!(is_overloaded(&dests[0], &dests));
        // But not servers outside the service.
        dests[1].available = false;
        assert!(!is_overloaded(&dests[0], &dests));
    }
}
