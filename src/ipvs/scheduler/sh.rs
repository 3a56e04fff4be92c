//! *Source hashing* (`sh`): the same client always lands on the same server.
//!
//! sh keeps a table of 256 buckets, each naming one server. The table is filled by walking the
//! list and giving each server `weight` **consecutive** buckets (at least one), wrapping round
//! the list until all buckets are taken: weights A:2, B:1 give `A A B A A B ...`.
//! A new connection hashes its **source address** (plus the source port, with the sh-port
//! option) into a bucket, and the bucket's server gets it, so a client sticks to one server
//! without any per-client state.
//! If that server has weight 0 or is overloaded, sh returns nothing, unless the sh-fallback
//! option is set; then it probes other buckets.
//! The table is rebuilt on every add, edit and delete; it ignores load, `overloaded` and counters.
//!
//! # Simplifications
//!
//! - The kernel hashes the *destination* address for "inverse" packets (ICMP errors travelling
//!   the other way); here [`Scheduler::schedule`] is only asked about new client connections,
//!   so the source address is always used.
//! - With sh-port the kernel uses the port only for TCP, UDP and SCTP; the caller must not set
//!   the option for other protocols.
//! - The table has the default 256 buckets (`CONFIG_IP_VS_SH_TAB_BITS = 8`).
//!
//! # Further reading
//!
//! - Linux `net/netfilter/ipvs/ip_vs_sh.c` (`ip_vs_sh_hashkey`, `ip_vs_sh_reassign`,
//!   `ip_vs_sh_get`, `ip_vs_sh_get_fallback`, `ip_vs_sh_schedule`).
//! - `shared/reference/ipvs-schedulers.md`, section 2.7. The old LVS wiki's "overloaded means
//!   conns > 2 * weight" is pre-2.6 behaviour and not modelled.
//!
//! Start reading at [`SourceHashing::rebuild`], then [`sh_hashkey`].

use super::hash::{HashFlavor, mask};
use super::{Connection, Destination, Scheduler, SchedulerState, service_list};

/// `CONFIG_IP_VS_SH_TAB_BITS`: the table has `2^8 = 256` buckets.
pub const SH_TAB_BITS: u32 = 8;

/// `IP_VS_SH_TAB_SIZE`: the number of buckets.
pub const SH_TAB_SIZE: usize = 1 << SH_TAB_BITS;

/// The service flags sh reads (`ipvsadm -b`), and which hash to reproduce.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ShOptions {
    /// `-b sh-fallback` (`IP_VS_SVC_F_SCHED_SH_FALLBACK`, flag-1): when the hashed server is
    /// unusable, probe other buckets instead of giving up.
    pub fallback: bool,
    /// `-b sh-port` (`IP_VS_SVC_F_SCHED_SH_PORT`, flag-2): hash the source port too, so one
    /// client's connections spread over servers.
    pub port: bool,
    /// The kernel generation's hash; see [`HashFlavor`].
    pub hash: HashFlavor,
}

/// sh state: the kernel's `struct ip_vs_sh_state`.
#[derive(Clone, Debug)]
pub struct SourceHashing {
    /// The service flags and hash flavour this scheduler was created with.
    options: ShOptions,
    /// `buckets[i]` is the index into `dests` of the server owning bucket `i`, as of the last
    /// rebuild; `None` when the service was empty.
    /// Invariant: rebuilt by every [`Scheduler::on_dests_changed`], so the indices match the list.
    buckets: Vec<Option<usize>>,
}

impl SourceHashing {
    /// A scheduler with the given options over an empty service: every bucket empty.
    pub fn new(options: ShOptions) -> Self {
        SourceHashing {
            options,
            buckets: vec![None; SH_TAB_SIZE],
        }
    }

    /// `ip_vs_sh_reassign()`: refills every bucket from the current list and weights.
    pub fn rebuild(&mut self, dests: &[Destination]) {
        let list: Vec<usize> = service_list(dests).map(|(index, _)| index).collect();
        // An empty service empties every bucket.
        if list.is_empty() {
            self.buckets.fill(None);
            return;
        }
        // `pos` walks the list circularly; `count` is how many buckets the current server
        // has had in this cycle.
        let mut pos = 0;
        let mut count: u64 = 0;
        for bucket in self.buckets.iter_mut() {
            // 1. The current server takes this bucket.
            let index = list[pos];
            *bucket = Some(index);
            // 2. Move on once it has `weight` buckets. Comparing after the increment means a
            //    weight-0 server still takes one bucket per cycle.
            count += 1;
            if count >= u64::from(dests[index].weight) {
                pos = (pos + 1) % list.len();
                count = 0;
            }
        }
    }

    /// The bucket table, for inspection: the index into `dests` owning each bucket.
    pub fn buckets(&self) -> &[Option<usize>] {
        &self.buckets
    }
}

/// `ip_vs_sh_hashkey()`: the bucket for `addr` and `port`, shifted by `offset`.
///
/// `(offset + hash_32(port + addr, 8)) & 255`, with the port and address in host byte order
/// and the sum wrapping at 32 bits. `port` is 0 unless the sh-port option is set.
pub fn sh_hashkey(flavor: HashFlavor, addr: u32, port: u16, offset: u32) -> usize {
    let key = u32::from(port).wrapping_add(addr);
    let bucket = offset.wrapping_add(flavor.bucket(key, SH_TAB_BITS)) & mask(SH_TAB_BITS);
    bucket as usize
}

/// sh's `is_unavailable()`: weight 0 or over the connection threshold.
fn is_unusable(dest: &Destination) -> bool {
    dest.weight == 0 || dest.overloaded
}

impl Scheduler for SourceHashing {
    fn name(&self) -> &'static str {
        "sh"
    }

    fn schedule(
        &mut self,
        dests: &[Destination],
        conn: &Connection,
        _now_ns: u64,
    ) -> Option<usize> {
        // 1. The key: the client's address, plus its port only with sh-port.
        let addr = u32::from(conn.client_addr);
        let port = if self.options.port {
            conn.client_port
        } else {
            0
        };
        // The server in a bucket, if any. Invariant: the hook keeps indices in range; `get`
        // turns a broken invariant into "no server" rather than a panic.
        let bucket_dest = |bucket: usize| {
            self.buckets[bucket].and_then(|index| dests.get(index).map(|dest| (index, dest)))
        };

        // 2. The bucket the key hashes to. An empty bucket (empty service) means no server.
        let ihash = sh_hashkey(self.options.hash, addr, port, 0);
        let (index, dest) = bucket_dest(ihash)?;
        if !is_unusable(dest) {
            return Some(index);
        }
        // 3. Without sh-fallback an unusable server is final: no rehash.
        if !self.options.fallback {
            return None;
        }
        // 4. ip_vs_sh_get_fallback(): probe with offsets. Because sh_hashkey adds the hash again,
        //    probe `offset` lands on bucket (offset + 2 * ihash) mod 256, so the probes start at
        //    2 * ihash, not at ihash + 1. An empty bucket ends the search.
        for offset in 0..SH_TAB_SIZE as u32 {
            let roffset = (offset + ihash as u32) % SH_TAB_SIZE as u32;
            let bucket = sh_hashkey(self.options.hash, addr, port, roffset);
            let (index, dest) = bucket_dest(bucket)?;
            if !is_unusable(dest) {
                return Some(index);
            }
        }
        None
    }

    fn state(&self, dests: &[Destination], conn: &Connection) -> SchedulerState {
        // The first bucket looked at (step 2 of `schedule`); fallback probes are not shown.
        let port = if self.options.port {
            conn.client_port
        } else {
            0
        };
        let bucket = sh_hashkey(self.options.hash, u32::from(conn.client_addr), port, 0);
        SchedulerState::Bucket {
            bucket,
            owner: self.buckets[bucket].and_then(|index| dests.get(index).map(Destination::key)),
        }
    }

    fn on_dests_changed(&mut self, dests: &[Destination]) {
        // sh reacts to add, edit and delete alike: weights shape the table.
        self.rebuild(dests);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::scheduler::hash::{hash_32, legacy_hash};
    use crate::ipvs::scheduler::testing::{conn, dest, name_at};
    use std::net::Ipv4Addr;

    fn built(options: ShOptions, dests: &[Destination]) -> SourceHashing {
        let mut sh = SourceHashing::new(options);
        sh.on_dests_changed(dests);
        sh
    }

    /// A client address whose bucket (port 0, modern hash) is `bucket`: found by search,
    /// so the tests do not depend on hand-computed hashes.
    fn client_in_bucket(bucket: usize) -> Ipv4Addr {
        (0..u32::MAX)
            .map(|n| Ipv4Addr::from(0xC000_0200 + n))
            .find(|&addr| sh_hashkey(HashFlavor::Modern, u32::from(addr), 0, 0) == bucket)
            .expect("some address hashes to every bucket")
    }

    fn from(addr: Ipv4Addr) -> Connection {
        Connection {
            client_addr: addr,
            ..conn()
        }
    }

    #[test]
    fn hashkey_is_hash_32_of_port_plus_address() {
        let client = u32::from(Ipv4Addr::new(192, 0, 2, 1));
        // Values computed independently in Python from the C formula.
        assert_eq!(sh_hashkey(HashFlavor::Modern, client, 0, 0), 50);
        assert_eq!(sh_hashkey(HashFlavor::Modern, client, 40000, 0), 214);
        assert_eq!(sh_hashkey(HashFlavor::Modern, client, 80, 0), 193);
        assert_eq!(
            sh_hashkey(HashFlavor::Modern, client, 0, 0),
            hash_32(client, 8) as usize
        );
        // The offset is added after hashing and wraps at 256.
        assert_eq!(sh_hashkey(HashFlavor::Modern, client, 0, 10), 60);
        assert_eq!(
            sh_hashkey(HashFlavor::Modern, client, 0, 250),
            (50 + 250) % 256
        );
        // The legacy hash keeps the low bits of the product.
        assert_eq!(sh_hashkey(HashFlavor::Legacy, client, 0, 0), 177);
        assert_eq!(
            sh_hashkey(HashFlavor::Legacy, client, 80, 0),
            legacy_hash(client + 80, 8) as usize
        );
    }

    #[test]
    fn fill_gives_each_server_weight_consecutive_buckets() {
        let dests = [dest('A', 2, 0, 0), dest('B', 1, 0, 0)];
        let sh = built(ShOptions::default(), &dests);
        assert_eq!(
            &sh.buckets()[..6],
            &[Some(0), Some(0), Some(1), Some(0), Some(0), Some(1)]
        );
        let count_a = sh.buckets().iter().filter(|&&b| b == Some(0)).count();
        assert_eq!((count_a, SH_TAB_SIZE - count_a), (171, 85));
    }

    #[test]
    fn fill_gives_weight_zero_one_bucket_per_cycle() {
        let dests = [dest('A', 0, 0, 0), dest('B', 3, 0, 0)];
        let sh = built(ShOptions::default(), &dests);
        assert_eq!(
            &sh.buckets()[..8],
            &[
                Some(0),
                Some(1),
                Some(1),
                Some(1),
                Some(0),
                Some(1),
                Some(1),
                Some(1)
            ]
        );
    }

    #[test]
    fn fill_ignores_overload_but_skips_unavailable() {
        let mut dests = [dest('A', 1, 0, 0), dest('B', 1, 0, 0), dest('C', 1, 0, 0)];
        dests[0].overloaded = true;
        dests[1].available = false;
        let sh = built(ShOptions::default(), &dests);
        assert_eq!(&sh.buckets()[..4], &[Some(0), Some(2), Some(0), Some(2)]);
    }

    #[test]
    fn a_huge_weight_takes_the_whole_table() {
        let dests = [dest('A', 1000, 0, 0), dest('B', 1, 0, 0)];
        let sh = built(ShOptions::default(), &dests);
        assert!(sh.buckets().iter().all(|&b| b == Some(0)));
    }

    #[test]
    fn the_same_client_always_gets_the_same_server() {
        let dests = [dest('A', 1, 0, 0), dest('B', 1, 0, 0), dest('C', 1, 0, 0)];
        let mut sh = built(ShOptions::default(), &dests);
        // 192.0.2.1 hashes to bucket 50; bucket i holds list[i % 3], and 50 % 3 = 2: C.
        let first = sh.schedule(&dests, &conn(), 0).unwrap();
        assert_eq!(name_at(&dests, first), 'C');
        // Without sh-port the source port does not matter.
        for port in [1, 80, 40000, 65535] {
            let other_port = Connection {
                client_port: port,
                ..conn()
            };
            assert_eq!(sh.schedule(&dests, &other_port, 0), Some(first));
        }
    }

    #[test]
    fn sh_port_hashes_the_source_port_too() {
        let dests = [dest('A', 1, 0, 0), dest('B', 1, 0, 0), dest('C', 1, 0, 0)];
        let mut sh = built(
            ShOptions {
                port: true,
                ..ShOptions::default()
            },
            &dests,
        );
        // Port 40000: bucket 214, 214 % 3 = 1: B. Port 80: bucket 193, 193 % 3 = 1: B.
        // Port 1: bucket of (addr + 1).
        let picked = |sh: &mut SourceHashing, port| {
            let conn = Connection {
                client_port: port,
                ..conn()
            };
            name_at(&dests, sh.schedule(&dests, &conn, 0).unwrap())
        };
        assert_eq!(picked(&mut sh, 40000), 'B');
        let bucket_port_1 = sh_hashkey(HashFlavor::Modern, u32::from(conn().client_addr), 1, 0);
        assert_eq!(picked(&mut sh, 1), ['A', 'B', 'C'][bucket_port_1 % 3]);
    }

    #[test]
    fn weight_zero_or_overloaded_without_fallback_gives_none() {
        let mut dests = [dest('A', 1, 0, 0), dest('B', 1, 0, 0)];
        let mut sh = built(ShOptions::default(), &dests);
        let even = from(client_in_bucket(10)); // bucket 10 belongs to A
        assert_eq!(sh.schedule(&dests, &even, 0), Some(0));
        dests[0].weight = 0;
        // Note: the table is not rebuilt here, as if the weight changed without the hook;
        // either way the lookup rejects A.
        assert_eq!(sh.schedule(&dests, &even, 0), None);
        dests[0].weight = 1;
        dests[0].overloaded = true;
        assert_eq!(sh.schedule(&dests, &even, 0), None);
    }

    #[test]
    fn fallback_probes_from_twice_the_hash() {
        let mut dests = [dest('A', 1, 0, 0), dest('B', 1, 0, 0), dest('C', 1, 0, 0)];
        let options = ShOptions {
            fallback: true,
            ..ShOptions::default()
        };
        let mut sh = built(options, &dests);
        // Bucket 30 holds list[30 % 3] = A. Make A unusable.
        let client = from(client_in_bucket(30));
        assert_eq!(sh.schedule(&dests, &client, 0), Some(0));
        dests[0].overloaded = true;
        // Probe 0 is bucket 2 * 30 = 60, again A (60 % 3 = 0); probe 1 is bucket 61, B.
        assert_eq!(sh.schedule(&dests, &client, 0), Some(1));
        // With B quiesced too, probe 2 (bucket 62) finds C.
        dests[1].weight = 0;
        assert_eq!(sh.schedule(&dests, &client, 0), Some(2));
    }

    #[test]
    fn fallback_probe_start_differs_from_next_bucket() {
        // Bucket 41 holds C (41 % 3 = 2). With C unusable, the kernel's first probe is bucket
        // 2 * 41 = 82, which holds B (82 % 3 = 1); a "next bucket" probe would find A in bucket 42.
        let mut dests = [dest('A', 1, 0, 0), dest('B', 1, 0, 0), dest('C', 1, 0, 0)];
        let mut sh = built(
            ShOptions {
                fallback: true,
                ..ShOptions::default()
            },
            &dests,
        );
        let client = from(client_in_bucket(41));
        dests[2].overloaded = true;
        assert_eq!(
            sh.schedule(&dests, &client, 0).map(|i| name_at(&dests, i)),
            Some('B')
        );
    }

    #[test]
    fn fallback_with_nothing_usable_gives_none() {
        let mut dests = [dest('A', 1, 0, 0), dest('B', 1, 0, 0)];
        let mut sh = built(
            ShOptions {
                fallback: true,
                ..ShOptions::default()
            },
            &dests,
        );
        dests[0].overloaded = true;
        dests[1].weight = 0;
        assert_eq!(sh.schedule(&dests, &conn(), 0), None);
    }

    #[test]
    fn empty_service_gives_none() {
        let mut sh = built(
            ShOptions {
                fallback: true,
                ..ShOptions::default()
            },
            &[],
        );
        assert!(sh.buckets().iter().all(Option::is_none));
        assert_eq!(sh.schedule(&[], &conn(), 0), None);
    }

    #[test]
    fn changes_rebuild_the_table() {
        let mut dests = vec![dest('A', 1, 0, 0)];
        let mut sh = built(ShOptions::default(), &dests);
        assert!(sh.buckets().iter().all(|&b| b == Some(0)));
        crate::ipvs::scheduler::add_destination(&mut dests, dest('B', 1, 0, 0));
        sh.on_dests_changed(&dests);
        // List [B, A]: B takes the even buckets.
        assert_eq!(&sh.buckets()[..2], &[Some(0), Some(1)]);
        dests.clear();
        sh.on_dests_changed(&dests);
        assert!(sh.buckets().iter().all(Option::is_none));
    }

    #[test]
    fn legacy_hash_picks_a_different_bucket() {
        let dests: Vec<Destination> = ['A', 'B', 'C', 'D']
            .iter()
            .map(|&n| dest(n, 1, 0, 0))
            .collect();
        let mut modern = built(ShOptions::default(), &dests);
        let mut legacy = built(
            ShOptions {
                hash: HashFlavor::Legacy,
                ..ShOptions::default()
            },
            &dests,
        );
        // 192.0.2.1: modern bucket 50 (50 % 4 = 2: C), legacy bucket 177 (177 % 4 = 1: B).
        assert_eq!(modern.schedule(&dests, &conn(), 0), Some(2));
        assert_eq!(legacy.schedule(&dests, &conn(), 0), Some(1));
    }
}
