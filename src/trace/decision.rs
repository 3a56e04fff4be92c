//! *Decisions*: what a node chose for a request, written down with what it chose from.
//!
//! A run's files say *what* happened (request 812 went to web3 and took 14 ms).
//! A decision record says *why*: when the director scheduled the connection, which servers it
//! could pick from, with their weights and connection counts, and which one won.
//! `netlab explain` (module `explain`) later strings the decisions of one request together
//! into a story.
//!
//! Each record is plain data: addresses, counters, times and small enums.
//! Nothing is formatted into text while the simulation runs; the narration is written
//! afterwards, only for the request a student asks about.
//! Recording is off unless switched on ([`Decisions::on`]), and a node checks
//! [`Decisions::is_on`] before it gathers anything, so a run that does not record pays one
//! branch per decision.
//!
//! How records are found again: every record names its node and time, and carries the keys
//! the next hop can see.
//! A client's records carry its request number (`seq`, as in `RequestRecord::client_seq`)
//! and the ephemeral port it used; the director's and the server's carry the client's
//! address and port as they saw them.
//!
//! # Simplifications
//! - Only the decisions `explain` narrates are recorded: the L4 scheduler, the client's name
//!   lookup and connections, DNS answers, and the web server's queue and service time.
//!
//! # Further reading
//! - `book/src/asking-why.md`; `book/src/reference/output.md`.

use std::net::Ipv4Addr;

use crate::app::{Algorithm, RuleMatch};
use crate::ipvs::scheduler::{DestKey, Destination, SchedulerState};
use crate::ipvs::service::Forward;
use crate::node::{Route, ServiceMode};
use crate::sim::{SimDuration, SimTime};

/// A packet's source and destination, each an address and a port.
pub type Flow = ((Ipv4Addr, u16), (Ipv4Addr, u16));

/// The decision records of a run, and whether to keep them.
#[derive(Clone, Debug, Default)]
pub struct Decisions {
    /// Whether nodes record their decisions (off by default).
    on: bool,
    /// The records, in the order they were made (which is time order).
    records: Vec<Decision>,
    /// The most records kept; recording stops when it is reached.
    limit: usize,
    /// When recording stopped because `limit` was reached.
    full_at: Option<SimTime>,
    /// Records made and then forgotten by [`Decisions::clear`]; they count toward `limit`.
    forgotten: usize,
    /// Whether only a capture still reads the records ([`Decisions::release`]).
    released: bool,
}

impl Decisions {
    /// A recorder that keeps every decision.
    pub fn on() -> Decisions {
        Decisions::up_to(usize::MAX)
    }

    /// A recorder that keeps the first `limit` decisions, then stops (see [`Decisions::full_at`]).
    pub fn up_to(limit: usize) -> Decisions {
        Decisions {
            on: true,
            limit,
            ..Decisions::default()
        }
    }

    /// When recording stopped because the limit was reached: records from then on are missing.
    pub fn full_at(&self) -> Option<SimTime> {
        self.full_at
    }

    /// Whether decisions are recorded. Nodes test it before gathering a record's inputs.
    pub fn is_on(&self) -> bool {
        self.on
    }

    /// Records that `node` decided `kind` at `at` (nothing happens when recording is off).
    pub fn record(&mut self, at: SimTime, node: usize, kind: DecisionKind) {
        if self.on {
            if self.records.len() + self.forgotten < self.limit {
                self.records.push(Decision { at, node, kind });
            } else {
                self.on = false;
                self.full_at = Some(at);
            }
        }
    }

    /// Every record, in time order.
    pub fn records(&self) -> &[Decision] {
        &self.records
    }

    /// Forgets the records kept so far (a capture that has read them, when nothing else
    /// needs them); recording stays on, and they still count toward the limit.
    pub fn clear(&mut self) {
        self.forgotten += self.records.len();
        if self.records.capacity() > Self::SMALL {
            self.records = Vec::new(); // What was kept before a release, given back.
        } else {
            self.records.clear();
        }
    }

    /// Nobody keeps the records any more but a capture, which reads them for its packet
    /// comments (`report.html`'s stories were gathered from them): from now on it forgets
    /// them once read ([`Decisions::released`]). Recording goes on, and stops at the same
    /// record as if they had been kept.
    pub fn release(&mut self) {
        self.released = true;
    }

    /// Whether [`Decisions::release`] was called.
    pub fn released(&self) -> bool {
        self.released
    }

    /// Room for the few records made between two frames, kept when cleared.
    const SMALL: usize = 64;
}

/// One decision: who, when, what.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    /// When it was made.
    pub at: SimTime,
    /// The node that made it (index in the world's node list).
    pub node: usize,
    /// What was decided, with its inputs.
    pub kind: DecisionKind,
}

/// The kinds of decision, one variant per question a student may ask.
#[derive(Clone, Debug, PartialEq)]
pub enum DecisionKind {
    /// A client found the address to connect to.
    Resolved {
        /// The client's request number.
        seq: u64,
        /// Where the answer came from.
        source: NameSource,
        /// The addresses, in the answer's order (the first is tried first).
        addresses: Vec<Ipv4Addr>,
    },
    /// A client's own cache had no fresh answer: it asks its DNS server.
    AskDns {
        /// The client's request number.
        seq: u64,
        /// The DNS server asked.
        server: Ipv4Addr,
    },
    /// A client opened a connection for a request, or sent it on a kept one.
    Connect {
        /// The client's request number.
        seq: u64,
        /// The client's own address (the connection's source address).
        local_ip: Ipv4Addr,
        /// The ephemeral port (the connection's source port).
        local_port: u16,
        /// The address connected to.
        remote_ip: Ipv4Addr,
        /// The port connected to.
        remote_port: u16,
        /// Why this connection: a new one, the next address after a failure, a kept one.
        how: ConnectHow,
    },
    /// An IPVS director chose a real server for a new connection.
    L4Pick(Box<L4Pick>),
    /// An L7 proxy routed a request.
    L7Route(Box<L7Route>),
    /// A router looked up the route for the first packet of a connection (a SYN).
    RouteMatch {
        /// The packet's source and destination address and port.
        flow: Flow,
        /// The route that matched (`None`: no route, the packet is dropped with ICMP).
        route: Option<Route>,
    },
    /// A router must learn the next hop's MAC address first: the packet waits for ARP.
    ArpWait {
        /// The packet's source and destination address and port, if TCP or UDP.
        flow: Option<Flow>,
        /// The next hop asked about.
        next_hop: Ipv4Addr,
        /// Whether this packet sent the request (`false`: one is already on its way).
        asked: bool,
    },
    /// A caching resolver answered a question from its cache, or had to ask upstream.
    ResolverLookup {
        /// Who asked (address and port).
        client: (Ipv4Addr, u16),
        /// Seconds of TTL left on a cached answer (`None`: not in the cache, asked upstream).
        ttl_left: Option<u32>,
        /// The addresses of a cached answer, in the order passed on.
        addresses: Vec<Ipv4Addr>,
    },
    /// An authoritative server answered a question.
    AuthorityAnswer {
        /// Who asked (address and port).
        client: (Ipv4Addr, u16),
        /// The records in the order sent, after any rotation.
        addresses: Vec<Ipv4Addr>,
        /// How the zone orders its records.
        order: RecordOrderKind,
        /// The TTL sent, in seconds.
        ttl: u32,
    },
    /// A transparent cache looked a request's object up in its memory (`app::cache`).
    CacheLookup(Box<CacheLookup>),
    /// A web server read a request and put it in the queue for a worker.
    ServerQueued {
        /// The TCP peer: the client, or the proxy that forwarded the request.
        peer: (Ipv4Addr, u16),
        /// Requests already waiting for a worker.
        waiting_ahead: u32,
        /// Workers busy, and how many there are.
        busy_workers: u32,
        /// Workers configured.
        workers: u32,
        /// The service mode in force (a fault, or normal).
        mode: ServiceMode,
    },
    /// A web server's accept queue was full (every connection slot taken): a new SYN was
    /// dropped unanswered, and the client will send it again after its retransmission timeout.
    ListenDrop {
        /// Who sent the SYN: the client, or the proxy connecting for it.
        peer: (Ipv4Addr, u16),
        /// Workers busy.
        busy_workers: u32,
        /// Workers configured.
        workers: u32,
        /// Requests read and waiting for a worker.
        waiting: u32,
        /// The accept queue's size (`min(backlog, somaxconn)`).
        backlog: u32,
    },
    /// A worker took the request: how long it waited, and the service time drawn.
    ServerServe {
        /// The TCP peer.
        peer: (Ipv4Addr, u16),
        /// Time spent waiting for a worker.
        waited: SimDuration,
        /// The service time drawn (after a `Slow` fault's factor).
        service: SimDuration,
        /// The service mode in force.
        mode: ServiceMode,
    },
}

/// A transparent cache's lookup: the object, what the memory held, and for a miss the
/// cache's own connection to the origin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheLookup {
    /// The client's address and port (the TCP peer of the cache).
    pub client: (Ipv4Addr, u16),
    /// The origin: the address in the request's `Host` header.
    pub origin: Ipv4Addr,
    /// The path asked for.
    pub path: String,
    /// Whether the object was in memory.
    pub hit: bool,
    /// Objects in memory at the lookup, and how many it holds at most.
    pub stored: u32,
    /// The memory's capacity in objects.
    pub capacity: u32,
    /// A miss: the cache's own address and port on its connection to the origin (`None`
    /// for a hit, or when no connection could be opened: the client gets `502`).
    pub fetch: Option<(Ipv4Addr, u16)>,
}

/// Where a client's name lookup was answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameSource {
    /// The host's static table (`/etc/hosts`), or the URL held an address.
    Static,
    /// The client's own DNS cache (browser or stub), with its expiry (`None`: kept for ever).
    ClientCache {
        /// When the cached answer expires.
        expires: Option<SimTime>,
    },
    /// A DNS answer that arrived for this request's question.
    Dns,
}

/// How a client came to use a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectHow {
    /// A new connection to the first address of the answer.
    New,
    /// A new connection to the next address, after the previous one failed (`try_next`).
    NextAddress,
    /// An idle kept-alive connection of an earlier request: no handshake.
    Kept,
}

/// How an authoritative zone orders its records (the scenario's `order`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordOrderKind {
    /// Each answer rotates the list by one (BIND's `cyclic`); `first` is the index, in the
    /// zone's order, of the record sent first.
    Cyclic {
        /// Index of the first record sent.
        first: usize,
    },
    /// Always the zone's order.
    Fixed,
    /// Shuffled for each answer.
    Random,
}

/// Everything an IPVS director looked at to schedule one connection, and what it chose.
#[derive(Clone, Debug, PartialEq)]
pub struct L4Pick {
    /// The client's address and port.
    pub client: (Ipv4Addr, u16),
    /// The virtual service's address and port.
    pub vip: (Ipv4Addr, u16),
    /// The scheduler's `ipvsadm -s` name.
    pub scheduler: &'static str,
    /// The destinations as the scheduler saw them, in kernel order, before this connection was
    /// counted.
    pub candidates: Vec<Destination>,
    /// The scheduler's own state before the pick, where it decides the outcome.
    pub state: SchedulerState,
    /// A persistence template that pinned the client, if one did (the scheduler was not asked).
    pub template: Option<DestKey>,
    /// Index into `candidates` of the chosen server; `None` is "no destination available".
    pub chosen: Option<usize>,
    /// The chosen server's forwarding method.
    pub forward: Option<Forward>,
}

/// Everything an L7 proxy looked at to route one request, and what it chose.
#[derive(Clone, Debug, PartialEq)]
pub struct L7Route {
    /// The client's address and port (the proxy's client connection).
    pub client: (Ipv4Addr, u16),
    /// The request's path.
    pub path: String,
    /// The rule that matched (`None`: none did, the default pool).
    pub rule: Option<RuleMatch>,
    /// The pool's name.
    pub pool: String,
    /// The pool's algorithm.
    pub algorithm: Algorithm,
    /// The pool's servers, in configured order, as the algorithm saw them.
    pub candidates: Vec<ProxyCandidate>,
    /// Index into `candidates` of the chosen server; `None`: none was up, the proxy answers 503.
    pub chosen: Option<usize>,
    /// The proxy's own address and port on its connection to the server.
    pub backend: Option<(Ipv4Addr, u16)>,
    /// Whether that connection was an idle kept one, reused.
    pub reused: bool,
}

/// One server of an L7 pool as the algorithm saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProxyCandidate {
    /// Address and port.
    pub addr: (Ipv4Addr, u16),
    /// Weight.
    pub weight: u32,
    /// Connections the proxy has open to it.
    pub open: u32,
    /// A backup server.
    pub backup: bool,
    /// Whether it may take this request (up, and a primary unless no primary is up).
    pub eligible: bool,
}

/// Why a destination could not be picked, in the order the kernel's tests meet them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unavailable {
    /// Removed from the service (a failed health check, `ipvsadm -d`).
    Down,
    /// Weight 0: quiesced, or inhibited by a failed check.
    WeightZero,
    /// Over its connection threshold (`ipvsadm -x`).
    OverThreshold,
}

/// Why `dest` could not be picked by a fresh scheduling decision, or `None` if it could.
pub fn unavailable(dest: &Destination) -> Option<Unavailable> {
    if !dest.available {
        Some(Unavailable::Down)
    } else if dest.weight == 0 {
        Some(Unavailable::WeightZero)
    } else if dest.overloaded {
        Some(Unavailable::OverThreshold)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_kept_while_recording_is_off() {
        let mut off = Decisions::default();
        off.record(
            SimTime::ZERO,
            0,
            DecisionKind::ServerServe {
                peer: (Ipv4Addr::LOCALHOST, 1),
                waited: SimDuration::ZERO,
                service: SimDuration::ZERO,
                mode: ServiceMode::Normal,
            },
        );
        assert!(!off.is_on());
        assert!(off.records().is_empty());
        let mut on = Decisions::on();
        on.record(
            SimTime::ZERO,
            3,
            DecisionKind::ServerServe {
                peer: (Ipv4Addr::LOCALHOST, 1),
                waited: SimDuration::ZERO,
                service: SimDuration::ZERO,
                mode: ServiceMode::Normal,
            },
        );
        assert_eq!(on.records().len(), 1);
        assert_eq!(on.records()[0].node, 3);
    }

    #[test]
    fn forgotten_records_count_toward_the_limit() {
        let ask = || DecisionKind::AskDns {
            seq: 0,
            server: Ipv4Addr::LOCALHOST,
        };
        let mut bounded = Decisions::up_to(3);
        bounded.record(SimTime::ZERO, 0, ask());
        bounded.release();
        assert!(bounded.released());
        bounded.clear();
        bounded.record(SimTime::ZERO, 0, ask());
        bounded.record(SimTime::ZERO, 0, ask());
        let at = SimTime::ZERO + SimDuration::from_secs(1);
        bounded.record(at, 0, ask());
        // The fourth stops recording, as it would have with the first one kept.
        assert_eq!(bounded.records().len(), 2);
        assert_eq!(bounded.full_at(), Some(at));
        assert!(!bounded.is_on());
    }

    #[test]
    fn a_destination_is_unavailable_for_the_first_reason_the_kernel_meets() {
        let mut dest = Destination::new(Ipv4Addr::new(10, 0, 0, 1), 80, 0);
        dest.overloaded = true;
        assert_eq!(unavailable(&dest), Some(Unavailable::WeightZero));
        dest.available = false;
        assert_eq!(unavailable(&dest), Some(Unavailable::Down));
        let fine = Destination::new(Ipv4Addr::new(10, 0, 0, 2), 80, 1);
        assert_eq!(unavailable(&fine), None);
    }
}
