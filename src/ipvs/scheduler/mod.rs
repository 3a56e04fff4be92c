//! *Schedulers*: the rule that picks a real server for each new connection.
//!
//! When the first packet of a new connection reaches a virtual service (a TCP SYN, or any UDP
//! packet without a connection entry), IPVS asks the service's scheduler for one destination.
//! The answer is written into the connection entry, and every later packet of that connection
//! goes to the same server without asking again.
//! So a scheduler decides *where connections go*, never where individual packets go.
//! If the scheduler returns nothing, the kernel logs "no destination available" and, in the
//! ordinary case, answers the client with ICMP port-unreachable (even for TCP) and drops the packet.
//!
//! This module holds the ten classic Linux schedulers, one file each, all behind the
//! [`Scheduler`] trait.
//! Each one is *pure*: it reads a slice of [`Destination`]s, one [`Connection`] and the
//! simulated time, updates only its own state, and returns an index into the slice.
//! Changing the counters (`active_conns`, `inactive_conns`) and the `overloaded` flag is the
//! caller's job, exactly as in the kernel, where the connection code and not the scheduler
//! maintains them.
//!
//! # The destination list and its order
//!
//! The kernel keeps a service's real servers in a linked list, and `ipvsadm -a` inserts the new
//! server at the **head** of that list (`list_add_rcu`).
//! So after adding A, then B, then C, the kernel walks them as **C, B, A**.
//! Editing a server (`ipvsadm -e`) does not move it; deleting and re-adding one puts it at the head again.
//! `ipvsadm -Ln` hides this because it sorts by address; `ipvsadm -Ln --nosort` and
//! `/proc/net/ip_vs` show the real order.
//!
//! **Invariant:** the `dests` slice passed to every method is in kernel list order: index 0 is
//! the newest-added server.
//! Use [`add_destination`] to add a server so the order stays right.
//! Order matters: every "first wins the tie" rule below means first in this order, and rr and
//! wrr walk the list in this order.
//!
//! An entry with `available == false` models a server that was deleted but is still referenced
//! (the kernel's "dest trash").
//! Such entries are not part of the kernel's list, so every scheduler skips them when it walks
//! the list; only lblc and lblcr, whose caches may still point at them, read their fields.
//! A caller that simply removes deleted servers from the slice is also correct.
//!
//! # Hooks: keeping scheduler state in step with the list
//!
//! Some schedulers keep state derived from the list (a cursor, or a hash table).
//! The kernel calls their `add_dest`, `upd_dest` and `del_dest` hooks after each change; here all
//! three are [`Scheduler::on_dests_changed`], which the caller must call **once after every
//! add, edit or delete** (and once after creating the scheduler over an existing list, which is
//! the kernel's `init_service`).
//! Counter changes and `overloaded` flips are not list changes and need no call.
//!
//! | sched | what the hook does |
//! |---|---|
//! | rr | on delete, moves the cursor back to the deleted server's predecessor |
//! | wrr | resets the cursor to the head and recomputes `cw`, `mw`, `di` |
//! | sh | rebuilds the 256-bucket table from the weights |
//! | dh | rebuilds the 256-bucket table (weights ignored) |
//! | lc, wlc, sed, nq, lblc, lblcr | nothing |
//!
//! # Load: the connection overhead
//!
//! lc, wlc, lblc and lblcr measure load with [`Destination::conn_overhead`]:
//! `active * 256 + inactive`, so one established connection weighs as much as 256 idle ones
//! (TIME_WAIT and friends).
//! sed and nq use `active + 1` instead and ignore inactive connections altogether.
//! Weighted comparisons never divide: "`a/wa` is less than `b/wb`" is computed as
//! `a * wb < b * wa`, which is exact in integers.
//!
//! # Eligibility and ties at a glance
//!
//! `overloaded` is the connection-threshold flag set by `ipvsadm -x/-y` (`IP_VS_DEST_F_OVERLOAD`).
//!
//! | sched | skips `overloaded` | weight 0 | winner / tie-break |
//! |---|---|---|---|
//! | rr | yes | skipped | next after the cursor, circular |
//! | wrr | yes | never picked (`w >= cw >= 1`) | cursor plus descending `cw` passes |
//! | lc | yes | skipped | least `active*256+inactive`; first wins ties |
//! | wlc | yes | cannot win | least `(active*256+inactive)/w`; first wins ties |
//! | sed | yes | cannot win | least `(active+1)/w`; first wins ties |
//! | nq | yes | skipped | first with `active == 0`, else as sed |
//! | sh | yes (at lookup) | unusable at lookup, still owns 1 bucket per cycle | bucket by source hash; optional fallback |
//! | dh | yes | unusable | bucket by destination-address hash; no fallback |
//! | lblc | fresh pick yes, **cached pick no** | cached pick needs `w > 0` | cache, else wlc |
//! | lblcr | set minimum yes, set maximum no | set minimum needs `w > 0` | least of the cached set, else wlc and add |
//!
//! # Simplifications
//!
//! - IPv4 only, so the kernel's IPv6 address folding (`w0^w1^w2^w3`) is not needed.
//! - The kernel's scheduler flags are constructor options ([`sh::ShOptions`]); `by_name` gives the defaults.
//! - Counters and overheads are computed in 64 bits (products in 128 bits), where the kernel uses
//!   `int` and `__s64`; the kernel's results differ only after wrap-around, at over 8 million
//!   active connections on one server.
//! - The schedulers beyond the ten (mh, fo, ovf, twos) are not modelled.
//!
//! # Further reading
//!
//! - Linux `net/netfilter/ipvs/ip_vs_<name>.c`, one file per scheduler, and
//!   `include/net/ip_vs.h` (`ip_vs_dest_conn_overhead`).
//! - `shared/reference/ipvs-schedulers.md`, sections 1 to 4.
//! - `man ipvsadm`, section "SCHEDULING ALGORITHMS".
//!
//! # How to read the schedulers
//!
//! Read [`rr`] first: it shows the cursor and the list order.
//! Then [`wrr`], the hardest of the stateful ones.
//! [`lc`], [`wlc`], [`sed`] and [`nq`] are short, stateless variations on "least loaded".
//! [`sh`] and [`dh`] share the kernel hash in [`hash`].
//! [`lblc`] and [`lblcr`] put a cache ([`locality`]) in front of wlc.
//! Each file's comments number the steps the way the kernel function runs them.
//!
//! # Examples
//!
//! ```
//! use netlab::ipvs::scheduler::{Connection, Destination, add_destination, by_name};
//! use std::net::Ipv4Addr;
//!
//! let mut dests = Vec::new();
//! let mut rr = by_name("rr").expect("rr is one of the ten");
//! // `ipvsadm -a` three times: each add goes to the head, then the hook runs.
//! for host in [11, 12, 13] {
//!     add_destination(&mut dests, Destination::new(Ipv4Addr::new(10, 0, 0, host), 80, 1));
//!     rr.on_dests_changed(&dests);
//! }
//! let conn = Connection::new(Ipv4Addr::new(192, 0, 2, 7), 40000, Ipv4Addr::new(10, 0, 0, 100), 80);
//! let first = rr.schedule(&dests, &conn, 0).expect("all three servers are eligible");
//! // The newest server (10.0.0.13) is at index 0 and is picked first.
//! assert_eq!(dests[first].addr, Ipv4Addr::new(10, 0, 0, 13));
//! ```

use std::net::Ipv4Addr;

pub mod dh;
pub mod hash;
pub mod lblc;
pub mod lblcr;
pub mod lc;
pub mod locality;
pub mod nq;
pub mod rr;
pub mod sed;
pub mod sh;
pub mod wlc;
pub mod wrr;

/// One real server as a scheduler sees it.
///
/// These are the fields of the kernel's `struct ip_vs_dest` that the ten schedulers read.
/// The balancer owns the real counters and hands the scheduler a fresh view for every call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Destination {
    /// The real server's address; together with `port` it identifies the server
    /// (the kernel refuses to add the same address and port twice to one service).
    pub addr: Ipv4Addr,
    /// The real server's port.
    pub port: u16,
    /// Relative capacity, `ipvsadm -w` (0..=65535, default 1).
    /// Weight 0 means *quiesced*: existing connections stay, but no new ones are scheduled.
    pub weight: u32,
    /// Connections not in the INACTIVE state (kernel `activeconns`); for TCP, only ESTABLISHED.
    pub active_conns: u32,
    /// INACTIVE connections (kernel `inactconns`): every other TCP state (SYN_RECV, FIN_WAIT,
    /// TIME_WAIT, ...) and all UDP entries. A new connection starts here.
    pub inactive_conns: u32,
    /// The connection-threshold flag `IP_VS_DEST_F_OVERLOAD`, set by the balancer when
    /// `active + inactive` reaches the upper threshold (`ipvsadm -x`) and cleared below the lower one (`-y`).
    /// This is not lblc's own notion of overload (see [`locality::is_overloaded`]).
    pub overloaded: bool,
    /// `IP_VS_DEST_F_AVAILABLE`: true while the server belongs to the service.
    /// False models a deleted server that a cache still refers to (see the module docs).
    pub available: bool,
}

impl Destination {
    /// A fresh, available server with no connections, as `ipvsadm -a -r addr:port -w weight` creates it.
    pub fn new(addr: Ipv4Addr, port: u16, weight: u32) -> Self {
        Destination {
            addr,
            port,
            weight,
            active_conns: 0,
            inactive_conns: 0,
            overloaded: false,
            available: true,
        }
    }

    /// The identity of this server within its service.
    pub fn key(&self) -> DestKey {
        DestKey {
            addr: self.addr,
            port: self.port,
        }
    }

    /// The kernel's `ip_vs_dest_conn_overhead()`: `(activeconns << 8) + inactconns`.
    ///
    /// One active connection costs as much as 256 inactive ones, because an inactive
    /// connection (mostly TIME_WAIT) uses memory but no server CPU.
    /// The comment in `ip_vs_lc.c` still says `<< 5`; that comment is stale, the code uses `<< 8`.
    pub fn conn_overhead(&self) -> u64 {
        (u64::from(self.active_conns) << 8) + u64::from(self.inactive_conns)
    }
}

/// Identifies a real server within a service: its address and port.
///
/// Schedulers that remember a server across calls (the rr/wrr cursor, the lblc/lblcr caches)
/// store this key and look it up again in the current slice, because indices shift whenever a
/// server is added at the head.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct DestKey {
    /// The real server's address.
    pub addr: Ipv4Addr,
    /// The real server's port.
    pub port: u16,
}

/// What a scheduler may look at for one new connection: the first packet's addresses and ports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Connection {
    /// The packet's source address (kernel `iph->saddr`); sh hashes on it.
    pub client_addr: Ipv4Addr,
    /// The packet's source port; sh hashes on it only with the sh-port option.
    pub client_port: u16,
    /// The virtual service's address.
    pub vip: Ipv4Addr,
    /// The virtual service's port.
    pub vport: u16,
    /// The packet's destination address (kernel `iph->daddr`); dh, lblc and lblcr hash on it.
    /// For an ordinary `VIP:port` service it equals `vip`, so every connection shares one key;
    /// it differs for firewall-mark or transparent-cache services that match many addresses.
    pub daddr: Ipv4Addr,
}

impl Connection {
    /// A connection to an ordinary `VIP:port` service, so `daddr` is the VIP.
    pub fn new(client_addr: Ipv4Addr, client_port: u16, vip: Ipv4Addr, vport: u16) -> Self {
        Connection {
            client_addr,
            client_port,
            vip,
            vport,
            daddr: vip,
        }
    }
}

/// A connection scheduler: the kernel's `struct ip_vs_scheduler`.
pub trait Scheduler: std::fmt::Debug {
    /// The name `ipvsadm -s` takes and prints ("rr", "wrr", ...).
    fn name(&self) -> &'static str;

    /// The kernel's `->schedule()`: picks the server for one new connection.
    ///
    /// `dests` must be in kernel list order, newest-added first (see the module docs).
    /// Returns an index into `dests`, or `None` for "no destination available".
    /// `now_ns` is the simulated time in nanoseconds; only lblc and lblcr read it.
    fn schedule(&mut self, dests: &[Destination], conn: &Connection, now_ns: u64) -> Option<usize>;

    /// The kernel's `add_dest`/`upd_dest`/`del_dest` hooks, and `init_service` on first use.
    ///
    /// Call it once after every single add, edit or delete, with the list as it is afterwards.
    /// Stateless schedulers (lc, wlc, sed, nq) read the list afresh on every pick and keep the
    /// default, which does nothing.
    fn on_dests_changed(&mut self, _dests: &[Destination]) {}

    /// The state that will decide the pick for `conn`, read before [`Scheduler::schedule`]
    /// runs, so `netlab explain` can show it. It changes nothing.
    /// Stateless schedulers keep the default.
    fn state(&self, _dests: &[Destination], _conn: &Connection) -> SchedulerState {
        SchedulerState::Stateless
    }
}

/// A scheduler's state that decides a pick, for the schedulers that have one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchedulerState {
    /// lc, wlc, sed, nq: no state; the counters decide.
    Stateless,
    /// rr: the server picked last (`None`: the list head).
    RoundRobin {
        /// The cursor.
        cursor: Option<DestKey>,
    },
    /// wrr: the cursor and the current weight threshold `cw`.
    WeightedRoundRobin {
        /// The cursor.
        cursor: Option<DestKey>,
        /// Servers with `weight >= cw` are picked in this pass.
        cw: i64,
    },
    /// sh, dh: the hash bucket of the connection and the server that owns it.
    Bucket {
        /// The bucket (0..=255).
        bucket: usize,
        /// The server owning it, if any.
        owner: Option<DestKey>,
    },
    /// lblc, lblcr: the cache entry for the destination address, if any (lblcr: the first
    /// member of the set, and the set's size).
    Locality {
        /// The cached server.
        cached: Option<DestKey>,
        /// Members of the cached set (1 for lblc).
        members: usize,
    },
}

/// The ten schedulers this module implements, by `ipvsadm -s` name, roughly in reading order.
pub const ALL: [&str; 10] = [
    "rr", "wrr", "lc", "wlc", "sed", "nq", "sh", "dh", "lblc", "lblcr",
];

/// Creates a scheduler by its `ipvsadm -s` name, with default options and an empty list
/// (the state right after `ipvsadm -A`).
///
/// Returns `None` for a name that is not one of [`ALL`].
/// lblc and lblcr start their expiry timer at time 0; use their constructors for another start time.
pub fn by_name(name: &str) -> Option<Box<dyn Scheduler>> {
    let scheduler: Box<dyn Scheduler> = match name {
        "rr" => Box::new(rr::RoundRobin::new()),
        "wrr" => Box::new(wrr::WeightedRoundRobin::new()),
        "lc" => Box::new(lc::LeastConnection),
        "wlc" => Box::new(wlc::WeightedLeastConnection),
        "sed" => Box::new(sed::ShortestExpectedDelay),
        "nq" => Box::new(nq::NeverQueue),
        "sh" => Box::new(sh::SourceHashing::new(sh::ShOptions::default())),
        "dh" => Box::new(dh::DestinationHashing::new(dh::DhOptions::default())),
        "lblc" => Box::new(lblc::Lblc::new(lblc::LblcOptions::default())),
        "lblcr" => Box::new(lblcr::Lblcr::new(lblcr::LblcrOptions::default())),
        _ => return None,
    };
    Some(scheduler)
}

/// Adds a real server the way `ipvsadm -a` does: at the **head** of the list.
///
/// Call [`Scheduler::on_dests_changed`] afterwards.
pub fn add_destination(dests: &mut Vec<Destination>, dest: Destination) {
    // The kernel's __ip_vs_update_dest() calls list_add_rcu(), which inserts after the list
    // head, so the newest server is walked first.
    dests.insert(0, dest);
}

/// The kernel's `svc->destinations` list: the available entries of `dests`, in order, with
/// their index in the slice.
pub(crate) fn service_list(dests: &[Destination]) -> impl Iterator<Item = (usize, &Destination)> {
    dests.iter().enumerate().filter(|(_, dest)| dest.available)
}

/// Test fixtures shared by the scheduler tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::{Connection, Destination};
    use std::net::Ipv4Addr;

    /// The server named by one capital letter: A is 10.0.0.1, B is 10.0.0.2, and so on, port 80.
    pub fn addr_of(name: char) -> Ipv4Addr {
        Ipv4Addr::new(10, 0, 0, name as u8 - b'A' + 1)
    }

    /// Server `name` with the given weight and counters.
    pub fn dest(name: char, weight: u32, active: u32, inactive: u32) -> Destination {
        let mut dest = Destination::new(addr_of(name), 80, weight);
        dest.active_conns = active;
        dest.inactive_conns = inactive;
        dest
    }

    /// The letter naming the server at `index`, for readable assertions.
    pub fn name_at(dests: &[Destination], index: usize) -> char {
        (b'A' + dests[index].addr.octets()[3] - 1) as char
    }

    /// A connection from 192.0.2.1:40000 to the VIP 10.0.0.100:80.
    pub fn conn() -> Connection {
        Connection::new(
            Ipv4Addr::new(192, 0, 2, 1),
            40000,
            Ipv4Addr::new(10, 0, 0, 100),
            80,
        )
    }

    /// Runs `picks` schedules and returns the picked server letters ('-' for none).
    pub fn picks(
        scheduler: &mut dyn super::Scheduler,
        dests: &[Destination],
        picks: usize,
    ) -> String {
        (0..picks)
            .map(|_| match scheduler.schedule(dests, &conn(), 0) {
                Some(index) => name_at(dests, index),
                None => '-',
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{addr_of, conn, dest, picks};
    use super::*;

    #[test]
    fn by_name_knows_all_ten_and_their_names() {
        for name in ALL {
            let scheduler = by_name(name).expect("every name in ALL is known");
            assert_eq!(scheduler.name(), name);
        }
    }

    #[test]
    fn by_name_rejects_unknown_and_beyond_the_ten() {
        for name in ["", "RR", "mh", "fo", "ovf", "twos", "wlc "] {
            assert!(by_name(name).is_none(), "{name:?} must be rejected");
        }
    }

    #[test]
    fn add_destination_puts_the_newest_first() {
        let mut dests = Vec::new();
        for name in ['A', 'B', 'C'] {
            add_destination(&mut dests, dest(name, 1, 0, 0));
        }
        let order: Vec<Ipv4Addr> = dests.iter().map(|d| d.addr).collect();
        assert_eq!(order, vec![addr_of('C'), addr_of('B'), addr_of('A')]);
    }

    #[test]
    fn list_order_decides_rr_and_ties() {
        // The same three servers, added A, B, C with ipvsadm -a, give the kernel list C, B, A.
        let mut dests = Vec::new();
        for name in ['A', 'B', 'C'] {
            add_destination(&mut dests, dest(name, 1, 0, 0));
        }
        let mut rr = by_name("rr").unwrap();
        rr.on_dests_changed(&dests);
        assert_eq!(picks(rr.as_mut(), &dests, 7), "CBACBAC");
        // With equal load, lc, wlc and sed pick the first in list order, which is C.
        for name in ["lc", "wlc", "sed", "nq"] {
            let mut scheduler = by_name(name).unwrap();
            assert_eq!(picks(scheduler.as_mut(), &dests, 1), "C", "{name}");
        }
    }

    #[test]
    fn conn_overhead_is_active_times_256_plus_inactive() {
        assert_eq!(dest('A', 1, 1, 0).conn_overhead(), 256);
        assert_eq!(dest('A', 1, 0, 255).conn_overhead(), 255);
        assert_eq!(dest('A', 1, 3, 7).conn_overhead(), 3 * 256 + 7);
        // No wrap-around even at the counters' maximum.
        assert_eq!(
            dest('A', 1, u32::MAX, u32::MAX).conn_overhead(),
            (u64::from(u32::MAX) << 8) + u64::from(u32::MAX)
        );
    }

    #[test]
    fn unavailable_entries_are_not_in_the_service_list() {
        let mut gone = dest('B', 1, 0, 0);
        gone.available = false;
        let dests = vec![dest('A', 1, 0, 0), gone, dest('C', 1, 0, 0)];
        let indices: Vec<usize> = service_list(&dests).map(|(index, _)| index).collect();
        assert_eq!(indices, vec![0, 2]);
    }

    #[test]
    fn connection_new_uses_the_vip_as_daddr() {
        let conn = testing::conn();
        assert_eq!(conn.daddr, conn.vip);
    }

    #[test]
    fn state_shows_what_will_decide_the_next_pick() {
        let dests = vec![dest('C', 1, 0, 0), dest('B', 1, 0, 0), dest('A', 1, 0, 0)];
        // rr: the cursor moves onto each pick.
        let mut rr = by_name("rr").unwrap();
        rr.on_dests_changed(&dests);
        assert_eq!(
            rr.state(&dests, &conn()),
            SchedulerState::RoundRobin { cursor: None }
        );
        let first = rr.schedule(&dests, &conn(), 0).unwrap();
        assert_eq!(
            rr.state(&dests, &conn()),
            SchedulerState::RoundRobin {
                cursor: Some(dests[first].key())
            }
        );
        // sh: the bucket's owner is the server the pick returns (all servers usable).
        let mut sh = by_name("sh").unwrap();
        sh.on_dests_changed(&dests);
        let SchedulerState::Bucket { owner, .. } = sh.state(&dests, &conn()) else {
            panic!("sh shows a bucket");
        };
        let picked = sh.schedule(&dests, &conn(), 0).unwrap();
        assert_eq!(owner, Some(dests[picked].key()));
        // wlc has no state.
        let wlc = by_name("wlc").unwrap();
        assert_eq!(wlc.state(&dests, &conn()), SchedulerState::Stateless);
    }
}
