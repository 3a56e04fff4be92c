//! *Destination hashing* (`dh`): the packet's destination address decides the server.
//!
//! dh is meant for caches and firewalls behind a firewall-mark service, where one service
//! catches traffic to many destination addresses: hashing the destination address sends all
//! traffic for one origin site to the same cache server, so each cache holds a distinct part of the web.
//! The table has 256 buckets; bucket `i` gets the `i mod n`-th server of the list, one bucket
//! per server per cycle, **ignoring weights**.
//! A connection hashes its destination address (`daddr`, not the VIP port or the client) to a
//! bucket; if that server is unavailable, has weight 0 or is overloaded, dh returns nothing:
//! there is no fallback.
//! For an ordinary `VIP:port` service every packet has the same destination (the VIP), so all
//! connections go to one server.
//!
//! # Simplifications
//!
//! - The kernel has no `upd_dest` hook for dh; [`Scheduler::on_dests_changed`] also rebuilds on
//!   edits, which yields the same table because the fill ignores weights.
//! - The table has the default 256 buckets (`IP_VS_DH_TAB_BITS = 8`).
//!
//! # Further reading
//!
//! - Linux `net/netfilter/ipvs/ip_vs_dh.c` (`ip_vs_dh_hashkey`, `ip_vs_dh_reassign`, `ip_vs_dh_schedule`).
//! - `shared/reference/ipvs-schedulers.md`, section 2.8.
//!
//! Start reading at [`DestinationHashing::rebuild`], then [`dh_hashkey`].

use super::hash::HashFlavor;
use super::{Connection, Destination, Scheduler, SchedulerState, service_list};

/// `IP_VS_DH_TAB_BITS`: the table has `2^8 = 256` buckets.
pub const DH_TAB_BITS: u32 = 8;

/// `IP_VS_DH_TAB_SIZE`: the number of buckets.
pub const DH_TAB_SIZE: usize = 1 << DH_TAB_BITS;

/// dh's options: only which kernel generation's hash to reproduce (dh has no service flags).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DhOptions {
    /// The kernel generation's hash; see [`HashFlavor`].
    pub hash: HashFlavor,
}

/// dh state: the kernel's `struct ip_vs_dh_state`.
#[derive(Clone, Debug)]
pub struct DestinationHashing {
    /// The options this scheduler was created with.
    options: DhOptions,
    /// `buckets[i]` is the index into `dests` of the server owning bucket `i`, as of the last
    /// rebuild; `None` when the service was empty.
    /// Invariant: rebuilt by every [`Scheduler::on_dests_changed`], so the indices match the list.
    buckets: Vec<Option<usize>>,
}

impl DestinationHashing {
    /// A scheduler over an empty service: every bucket empty.
    pub fn new(options: DhOptions) -> Self {
        DestinationHashing {
            options,
            buckets: vec![None; DH_TAB_SIZE],
        }
    }

    /// `ip_vs_dh_reassign()`: bucket `i` gets the `(i mod n)`-th server; weights play no part.
    pub fn rebuild(&mut self, dests: &[Destination]) {
        let list: Vec<usize> = service_list(dests).map(|(index, _)| index).collect();
        for (bucket_index, bucket) in self.buckets.iter_mut().enumerate() {
            // An empty service leaves every bucket empty.
            *bucket = if list.is_empty() {
                None
            } else {
                Some(list[bucket_index % list.len()])
            };
        }
    }

    /// The bucket table, for inspection: the index into `dests` owning each bucket.
    pub fn buckets(&self) -> &[Option<usize>] {
        &self.buckets
    }
}

/// `ip_vs_dh_hashkey()`: `hash_32(daddr, 8)`, the address in host byte order.
pub fn dh_hashkey(flavor: HashFlavor, daddr: u32) -> usize {
    flavor.bucket(daddr, DH_TAB_BITS) as usize
}

impl Scheduler for DestinationHashing {
    fn name(&self) -> &'static str {
        "dh"
    }

    fn schedule(
        &mut self,
        dests: &[Destination],
        conn: &Connection,
        _now_ns: u64,
    ) -> Option<usize> {
        // 1. Hash the packet's destination address to a bucket.
        let bucket = dh_hashkey(self.options.hash, u32::from(conn.daddr));
        // 2. The bucket's server, if the service is not empty. Invariant: the hook keeps indices
        //    in range; `get` turns a broken invariant into "no server" rather than a panic.
        let index = self.buckets[bucket]?;
        let dest = dests.get(index)?;
        // 3. Use it only if it is available, has a positive weight and is not overloaded.
        //    There is no second choice.
        if !dest.available || dest.weight == 0 || dest.overloaded {
            return None;
        }
        Some(index)
    }

    fn state(&self, dests: &[Destination], conn: &Connection) -> SchedulerState {
        let bucket = dh_hashkey(self.options.hash, u32::from(conn.daddr));
        SchedulerState::Bucket {
            bucket,
            owner: self.buckets[bucket].and_then(|index| dests.get(index).map(Destination::key)),
        }
    }

    fn on_dests_changed(&mut self, dests: &[Destination]) {
        self.rebuild(dests);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::scheduler::hash::hash_32;
    use crate::ipvs::scheduler::testing::{conn, dest, name_at};
    use std::net::Ipv4Addr;

    fn built(dests: &[Destination]) -> DestinationHashing {
        let mut dh = DestinationHashing::new(DhOptions::default());
        dh.on_dests_changed(dests);
        dh
    }

    fn to(daddr: Ipv4Addr) -> Connection {
        Connection { daddr, ..conn() }
    }

    #[test]
    fn hashkey_is_hash_32_of_the_address() {
        let vip = Ipv4Addr::new(10, 0, 0, 100);
        // Computed independently in Python: 0x0A000064 * 0x61C88647 = 0x...F85473BC, top byte 248.
        assert_eq!(dh_hashkey(HashFlavor::Modern, u32::from(vip)), 248);
        assert_eq!(dh_hashkey(HashFlavor::Modern, 1), hash_32(1, 8) as usize);
        assert_eq!(dh_hashkey(HashFlavor::Legacy, u32::from(vip)), 36);
    }

    #[test]
    fn fill_is_round_robin_and_ignores_weights() {
        let dests = [dest('A', 5, 0, 0), dest('B', 1, 0, 0), dest('C', 0, 0, 0)];
        let dh = built(&dests);
        assert_eq!(
            &dh.buckets()[..6],
            &[Some(0), Some(1), Some(2), Some(0), Some(1), Some(2)]
        );
        assert_eq!(dh.buckets()[255], Some(0)); // 255 % 3 = 0
    }

    #[test]
    fn the_vip_decides_not_the_client() {
        let dests = [dest('A', 1, 0, 0), dest('B', 1, 0, 0), dest('C', 1, 0, 0)];
        let mut dh = built(&dests);
        // daddr 10.0.0.100 hashes to bucket 248; 248 % 3 = 2: C, for every client.
        for client in [Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(198, 51, 100, 9)] {
            let from_client = Connection {
                client_addr: client,
                ..conn()
            };
            assert_eq!(
                dh.schedule(&dests, &from_client, 0)
                    .map(|i| name_at(&dests, i)),
                Some('C')
            );
        }
        // A different destination address (fwmark service) may go elsewhere: 10.0.0.101.
        let other = Ipv4Addr::new(10, 0, 0, 101);
        let expected = dh_hashkey(HashFlavor::Modern, u32::from(other)) % 3;
        assert_eq!(dh.schedule(&dests, &to(other), 0), Some(expected));
    }

    #[test]
    fn unusable_server_gives_none_without_fallback() {
        let mut dests = [dest('A', 1, 0, 0), dest('B', 1, 0, 0), dest('C', 1, 0, 0)];
        let mut dh = built(&dests);
        assert_eq!(dh.schedule(&dests, &conn(), 0), Some(2));
        dests[2].weight = 0;
        assert_eq!(dh.schedule(&dests, &conn(), 0), None);
        dests[2].weight = 1;
        dests[2].overloaded = true;
        assert_eq!(dh.schedule(&dests, &conn(), 0), None);
        dests[2].overloaded = false;
        // Marked unavailable without a rebuild (the kernel rebuilds on delete, so its check
        // only matters in a race; the table here still points at C).
        dests[2].available = false;
        assert_eq!(dh.schedule(&dests, &conn(), 0), None);
    }

    #[test]
    fn delete_rebuilds_and_remaps() {
        let mut dests = vec![dest('A', 1, 0, 0), dest('B', 1, 0, 0), dest('C', 1, 0, 0)];
        let mut dh = built(&dests);
        dests.remove(2);
        dh.on_dests_changed(&dests);
        // Bucket 248 now holds list[248 % 2] = A.
        assert_eq!(dh.schedule(&dests, &conn(), 0), Some(0));
    }

    #[test]
    fn empty_service_gives_none() {
        let mut dh = built(&[]);
        assert_eq!(dh.schedule(&[], &conn(), 0), None);
    }

    #[test]
    fn legacy_hash_changes_the_bucket() {
        let dests: Vec<Destination> = ['A', 'B', 'C', 'D', 'E']
            .iter()
            .map(|&n| dest(n, 1, 0, 0))
            .collect();
        let mut dh = DestinationHashing::new(DhOptions {
            hash: HashFlavor::Legacy,
        });
        dh.on_dests_changed(&dests);
        // Legacy bucket 36, 36 % 5 = 1: B; the modern bucket 248 % 5 = 3 would be D.
        assert_eq!(dh.schedule(&dests, &conn(), 0), Some(1));
        assert_eq!(built(&dests).schedule(&dests, &conn(), 0), Some(3));
    }
}
