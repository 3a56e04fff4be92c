//! *Operator commands*: what a person types into a running machine during an incident.
//!
//! Faults are accidents; commands are decisions. An operator drains a real server with
//! `ipvsadm -e -w 0`, takes it out with `ipvsadm -d` or puts a new one in with `ipvsadm -a`,
//! edits a DNS zone and reloads it, or changes a VRRP instance's priority and reloads
//! keepalived. A [`Command`] is one of those, with its names already turned into indices and
//! addresses; the world hands it to the target node ([`super::Node::operate`]), which
//! answers with the words for `events.csv` (`"weight 0 (was 1)"`), or `None` when it has
//! nothing of the kind.
//!
//! Plugging a cable in is not a command to a machine: the world does it (`world::action`).
//!
//! # Simplifications
//! - Commands take effect at once, as if typed and run in zero time.
//! - keepalived is not told: a later health-check transition applies keepalived's own
//!   configuration again (its weight, its pool), as a real keepalived would on its next
//!   state change.
//!
//! # Further reading
//! - `ipvsadm(8)` (`-e`, `-a`, `-d`); `book/src/labs/l4-balancing.md`, "Lab 8: draining a
//!   server"; `book/src/labs/dns-round-robin.md`, "The operator pulls the record".

use std::net::Ipv4Addr;

use crate::ipvs::service::RealServerConfig;

/// One operator command, addressed to a node.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// `ipvsadm -e -t VIP:port -r addr:port -w weight`: weight 0 drains the server.
    SetWeight {
        /// Index of the virtual service on the director.
        service: usize,
        /// The real server.
        addr: Ipv4Addr,
        /// Its port.
        port: u16,
        /// The new weight.
        weight: u32,
    },
    /// `ipvsadm -a`: a real server joins the service (again).
    AddServer {
        /// Index of the virtual service on the director.
        service: usize,
        /// The server, as `ipvsadm -a` gives it.
        server: RealServerConfig,
    },
    /// `ipvsadm -d`: a real server leaves the service; its connections stay in the table.
    RemoveServer {
        /// Index of the virtual service on the director.
        service: usize,
        /// The real server.
        addr: Ipv4Addr,
        /// Its port.
        port: u16,
    },
    /// A DNS zone edit, then a reload.
    Zone(ZoneEdit),
    /// A new VRRP priority, then `systemctl reload keepalived`.
    SetPriority {
        /// The instance's index on the node.
        instance: usize,
        /// The new priority, 1 to 254.
        priority: u8,
    },
}

/// One change to an authoritative DNS server's zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ZoneEdit {
    /// Delete one A record of `name`.
    RemoveRecord {
        /// The name, lowercase.
        name: String,
        /// The record's address.
        address: Ipv4Addr,
    },
    /// Add an A record to `name` (at the end of its list).
    AddRecord {
        /// The name, lowercase.
        name: String,
        /// The record's address.
        address: Ipv4Addr,
    },
    /// Change the TTL of `name`'s records.
    SetTtl {
        /// The name, lowercase.
        name: String,
        /// The new TTL, in seconds.
        ttl: u32,
    },
}
