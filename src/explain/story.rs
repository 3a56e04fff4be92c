//! *A request's story*: its decisions and frames, gathered from the trace, in time order.
//!
//! A request leaves traces in several places, and each place knows it by another key:
//!
//! 1. the client knows it by its request number (`seq`): its name lookup
//!    (`DecisionKind::Resolved`) and the connection it used (`DecisionKind::Connect`, which
//!    gives the source address and ephemeral port);
//! 2. the DNS resolver and server know only the client's address: their answers to that
//!    address between the request's start and its lookup belong to it;
//! 3. the director and the web server know the connection's source address and port: their
//!    records with that source, between the start and the end, belong to it (NAT and direct
//!    routing both leave the source alone);
//! 4. the wires know the frames: TCP frames of that address and port, ICMP errors quoting
//!    them, and DNS frames of the client while it looked the name up.
//!
//! Ports are reused, but only after a rest (`PortAllocator`), so within one request's time
//! window an address and port name one connection.
//!
//! Through an L7 proxy there are two connections: the proxy's routing record names both the
//! client's and its own towards the server, so the second is followed from the first.
//!
//! # Simplifications
//! - A request the proxy retries on a new server connection (its kept one had closed) shows
//!   the first routing only.
//!
//! # Further reading
//! - `trace::decision`, which says what each record holds.

use std::net::Ipv4Addr;

use serde::Serialize;

use super::blame::{self, Cause};
use super::frames::{self, Decoded, Endpoint};
use super::narrate;
use crate::app::{Algorithm, RuleMatch};
use crate::ipvs::scheduler::SchedulerState;
use crate::node::{Route, ServiceMode};
use crate::sim::{SimDuration, SimTime};
use crate::trace::decision::{
    CacheLookup, ConnectHow, Flow, L4Pick, L7Route, NameSource, RecordOrderKind, unavailable,
};
use crate::trace::{Decision, DecisionKind, EventRecord, FrameRecord, RequestRecord, Trace};

/// The names a story uses instead of indices.
pub struct Names<'a> {
    /// Node names by node index.
    pub nodes: &'a [String],
    /// Web server names by server index.
    pub servers: &'a [String],
    /// Web server addresses by server index.
    pub server_addrs: &'a [Ipv4Addr],
    /// Segment names by segment index.
    pub segments: &'a [String],
}

impl Names<'_> {
    /// The web server at `addr`, or the address itself.
    pub fn server_at(&self, addr: Ipv4Addr) -> String {
        self.server_addrs
            .iter()
            .position(|&a| a == addr)
            .map_or_else(|| addr.to_string(), |i| self.servers[i].clone())
    }
}

/// One request's story: what it was, every step, and why it ended as it did.
#[derive(Clone, Debug, Serialize)]
pub struct Story {
    /// The request, as `requests.csv` shows it.
    pub request: RequestView,
    /// The steps, in time order.
    pub steps: Vec<Step>,
    /// Why it ended as it did.
    pub verdict: Verdict,
    /// For each frame step, in order: the Ethernet source and destination MAC addresses (for
    /// `report.html`'s sequence diagram; not part of the JSON).
    #[serde(skip)]
    pub frame_macs: Vec<([u8; 6], [u8; 6])>,
}

/// The request's line of `requests.csv`, and the keys it was found by.
#[derive(Clone, Debug, Serialize)]
pub struct RequestView {
    /// Its `id` in `requests.csv`.
    pub id: usize,
    /// The client host.
    pub client: String,
    /// The client's own number for it (0 is its first request).
    pub client_seq: u64,
    /// Start, in seconds of virtual time.
    pub start_s: f64,
    /// End, in seconds of virtual time.
    pub end_s: f64,
    /// How it ended.
    pub outcome: &'static str,
    /// The server named in `X-Served-By`, if any.
    pub server: Option<String>,
    /// The HTTP status, if a response came.
    pub status: Option<u16>,
}

/// One step of the story.
#[derive(Clone, Debug, Serialize)]
pub struct Step {
    /// When, in nanoseconds of virtual time.
    pub time_ns: u64,
    /// Where: a node, or a segment for a frame.
    pub place: String,
    /// The sentence a student reads.
    pub text: String,
    /// The same as data.
    #[serde(flatten)]
    pub what: What,
}

/// What happened at one step, with names instead of indices.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum What {
    /// The client decided to send the request.
    Start,
    /// The client found the addresses.
    Resolved {
        /// `static`, `client_cache` or `dns`.
        source: &'static str,
        /// For a cached answer: seconds until it expires (`None`: never).
        expires_in_s: Option<f64>,
        /// The addresses, first tried first.
        addresses: Vec<Ipv4Addr>,
    },
    /// A caching resolver looked the question up.
    ResolverLookup {
        /// Seconds of TTL left on a cached answer; `None`: not cached, asked upstream.
        ttl_left_s: Option<u32>,
        /// The cached answer's addresses.
        addresses: Vec<Ipv4Addr>,
    },
    /// An authoritative server answered.
    AuthorityAnswer {
        /// The records in the order sent.
        addresses: Vec<Ipv4Addr>,
        /// `cyclic`, `fixed` or `random`.
        order: &'static str,
        /// For cyclic order: the zone index of the record sent first.
        rotation: Option<usize>,
        /// The TTL sent, in seconds.
        ttl_s: u32,
    },
    /// The client's own cache had no fresh answer; it asked its DNS server.
    AskDns {
        /// The server asked.
        server: Ipv4Addr,
    },
    /// The client used a connection.
    Connect {
        /// Source address and port.
        local: String,
        /// Destination address and port.
        remote: String,
        /// `new`, `next_address` or `kept`.
        how: &'static str,
    },
    /// An IPVS director scheduled the connection.
    L4Pick(PickView),
    /// An L7 proxy routed the request.
    L7Route(RouteView),
    /// A transparent cache looked the object up in its memory.
    CacheLookup {
        /// `http://origin/path`.
        object: String,
        /// Whether it was in memory.
        hit: bool,
        /// Objects in memory at the lookup.
        stored: u32,
        /// Objects the memory holds at most.
        capacity: u32,
        /// A miss: the cache's own address and port on its connection to the origin
        /// (`None` for a hit, or when none could be opened).
        fetch_from: Option<String>,
    },
    /// A router chose the route for the connection's first packet.
    RouteMatch {
        /// `source:port -> destination:port`.
        packet: String,
        /// The matching route (`prefix via next hop`), or `None`: no route.
        route: Option<String>,
    },
    /// A router must learn the next hop's MAC address: the packet waits.
    ArpWait {
        /// The next hop.
        next_hop: Ipv4Addr,
        /// Whether this packet sent the ARP request (else one was on its way).
        asked: bool,
    },
    /// The web server queued the request for a worker.
    ServerQueued {
        /// Requests ahead of it.
        waiting_ahead: u32,
        /// Workers busy when it arrived.
        busy_workers: u32,
        /// Workers configured.
        workers: u32,
        /// The service mode in force (`normal`, or a fault).
        mode: String,
    },
    /// The web server's accept queue was full: the SYN was dropped unanswered.
    ListenDrop {
        /// Workers busy.
        busy_workers: u32,
        /// Workers configured.
        workers: u32,
        /// Requests read and waiting for a worker.
        waiting: u32,
        /// The accept queue's size.
        backlog: u32,
    },
    /// A worker took the request.
    ServerServe {
        /// Milliseconds it waited for the worker.
        waited_ms: f64,
        /// Milliseconds of service time drawn.
        service_ms: f64,
        /// The service mode in force.
        mode: String,
    },
    /// A frame on a wire.
    Frame {
        /// The tcpdump-like line.
        line: String,
    },
    /// The client knew the outcome.
    End {
        /// The outcome.
        outcome: &'static str,
        /// Milliseconds from start to end.
        latency_ms: f64,
    },
}

/// A scheduling decision, with names.
#[derive(Clone, Debug, Serialize)]
pub struct PickView {
    /// `client:port -> VIP:port`.
    pub connection: String,
    /// The scheduler.
    pub scheduler: &'static str,
    /// The candidates, in kernel order.
    pub candidates: Vec<CandidateView>,
    /// The scheduler's state, in words (`cursor after web1`, `bucket 117 → web2`).
    pub state: Option<String>,
    /// The server a persistence template pinned the client to.
    pub template: Option<String>,
    /// The chosen server, if any.
    pub chosen: Option<String>,
    /// Its forwarding method (`Masq`, `Route`).
    pub forward: Option<&'static str>,
}

/// An L7 proxy's routing decision, with names.
#[derive(Clone, Debug, Serialize)]
pub struct RouteView {
    /// The request's path.
    pub path: String,
    /// The rule that matched (`path /api`, `host shop.example`), or `None` for the default.
    pub rule: Option<String>,
    /// The pool.
    pub pool: String,
    /// The algorithm, as the scenario spells it.
    pub algorithm: &'static str,
    /// The pool's servers.
    pub candidates: Vec<ProxyCandidateView>,
    /// The chosen server, if any (`None`: the proxy answers 503).
    pub chosen: Option<String>,
    /// The proxy's connection to the server (`address:port` on the proxy).
    pub backend: Option<String>,
    /// Whether that connection was a kept one, reused.
    pub reused: bool,
    /// The `X-Forwarded-For` value the proxy adds: the client's address.
    pub forwarded_for: Ipv4Addr,
}

/// One server of an L7 pool.
#[derive(Clone, Debug, Serialize)]
pub struct ProxyCandidateView {
    /// Its name (or address).
    pub name: String,
    /// Its weight.
    pub weight: u32,
    /// Connections the proxy had open to it.
    pub open: u32,
    /// A backup server.
    pub backup: bool,
    /// Whether it could take the request.
    pub eligible: bool,
}

/// One candidate server of a scheduling decision.
#[derive(Clone, Debug, Serialize)]
pub struct CandidateView {
    /// The server's name (or address).
    pub name: String,
    /// `address:port`.
    pub addr: String,
    /// Its weight.
    pub weight: u32,
    /// Established connections.
    pub active: u32,
    /// Other connections (SYN_RECV, TIME_WAIT...).
    pub inactive: u32,
    /// `active * 256 + inactive`.
    pub overhead: u64,
    /// Why it could not be picked: `down`, `weight 0`, `over threshold`.
    pub unavailable: Option<&'static str>,
}

/// Why the request ended as it did.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    /// The outcome.
    pub outcome: &'static str,
    /// One sentence.
    pub reason: String,
    /// The faults and state changes that explain a failure, earliest first.
    pub causes: Vec<Cause>,
}

/// Seconds, as the story prints every time: `12.004210`.
pub fn seconds(at: SimTime) -> String {
    format!("{:.6}", at.as_secs_f64())
}

/// `address:port`.
fn endpoint(endpoint: Endpoint) -> String {
    format!("{}:{}", endpoint.0, endpoint.1)
}

/// Builds the story of `request` (its `id` in `requests.csv`).
pub fn build(trace: &Trace, names: &Names<'_>, request: &RequestRecord, id: usize) -> Story {
    gather(trace, names, request, id).judge(&trace.events, names)
}

/// A story before its verdict: the steps the recording holds about one request.
///
/// The steps come from the decisions and frames recorded while the request ran; the verdict
/// reads the failure timeline, where a health check may notice a fault after the request
/// ended. So `report.html` gathers its stories as soon as the bounded recording is complete,
/// lets the recording go, and judges them when the run is over (`run`).
#[derive(Clone, Debug)]
pub struct Gathered {
    /// The request, as `requests.csv` shows it.
    view: RequestView,
    /// Its record.
    request: RequestRecord,
    /// The steps, in time order.
    steps: Vec<Step>,
    /// The frame steps' MAC addresses (`Story::frame_macs`).
    frame_macs: Vec<([u8; 6], [u8; 6])>,
    /// The director's scheduling decisions about it, in time order.
    picks: Vec<L4Pick>,
}

impl Gathered {
    /// The story, with its verdict from the failure timeline `events`.
    pub fn judge(self, events: &[EventRecord], names: &Names<'_>) -> Story {
        let picks: Vec<&L4Pick> = self.picks.iter().collect();
        Story {
            verdict: blame::verdict(events, names, &self.request, &picks),
            request: self.view,
            steps: self.steps,
            frame_macs: self.frame_macs,
        }
    }
}

/// The steps of `request`'s story (its `id` in `requests.csv`), from the recording in `trace`.
pub fn gather(trace: &Trace, names: &Names<'_>, request: &RequestRecord, id: usize) -> Gathered {
    let mut found = Found::collect(trace, request);
    let mut steps = vec![step(
        request.start,
        &names.nodes[request.client_node],
        What::Start,
    )];
    for decision in &found.decisions {
        let place = &names.nodes[decision.node];
        let mut told = step(decision.at, place, view(decision, names));
        if decision.at < request.start {
            told.text = format!(
                "earlier, when this kept-alive connection was opened: {}",
                told.text
            );
        }
        steps.push(told);
    }
    let frame_macs = found.frames.iter().map(|f| macs(&f.head)).collect();
    for frame in found.frames.drain(..) {
        let place = names
            .segments
            .get(frame.segment)
            .map_or("wire", String::as_str);
        let what = What::Frame {
            line: frames::summary(frame),
        };
        steps.push(step(frame.at, place, what));
    }
    steps.push(step(
        request.end,
        &names.nodes[request.client_node],
        What::End {
            outcome: request.outcome.as_str(),
            latency_ms: (request.end - request.start).as_secs_f64() * 1000.0,
        },
    ));
    // Time order; at the same instant a frame on the wire comes before what a node decided
    // on receiving it (the sort is stable, so decisions keep their recorded order).
    steps.sort_by_key(|s| (s.time_ns, !matches!(s.what, What::Frame { .. })));
    let picks = found
        .decisions
        .iter()
        .filter_map(|d| match &d.kind {
            DecisionKind::L4Pick(pick) => Some((**pick).clone()),
            _ => None,
        })
        .collect();
    Gathered {
        view: RequestView {
            id,
            client: names.nodes[request.client_node].clone(),
            client_seq: request.client_seq,
            start_s: request.start.as_secs_f64(),
            end_s: request.end.as_secs_f64(),
            outcome: request.outcome.as_str(),
            server: request.server.map(|s| names.servers[s].clone()),
            status: request.status,
        },
        request: request.clone(),
        steps,
        frame_macs,
        picks,
    }
}

/// A frame's Ethernet destination and source (zeros where the head is too short), as
/// `(source, destination)`.
fn macs(head: &[u8]) -> ([u8; 6], [u8; 6]) {
    let mut dst = [0; 6];
    let mut src = [0; 6];
    if head.len() >= 12 {
        dst.copy_from_slice(&head[..6]);
        src.copy_from_slice(&head[6..12]);
    }
    (src, dst)
}

/// The part of `items` (in time order by `at`) from `start` to `end`, both included, found
/// by binary search so a story costs the size of its window, not of the whole run.
fn window<T>(items: &[T], at: impl Fn(&T) -> SimTime, start: SimTime, end: SimTime) -> &[T] {
    let lo = items.partition_point(|x| at(x) < start);
    let hi = items.partition_point(|x| at(x) <= end);
    &items[lo..hi.max(lo)]
}

/// A step with its sentence.
fn step(at: SimTime, place: &str, what: What) -> Step {
    Step {
        time_ns: at.as_nanos(),
        place: place.to_string(),
        text: narrate::sentence(&what),
        what,
    }
}

/// The records and frames that belong to one request.
struct Found<'t> {
    /// Its decisions, in time order.
    decisions: Vec<&'t Decision>,
    /// Its frames, in time order.
    frames: Vec<&'t FrameRecord>,
}

impl<'t> Found<'t> {
    /// Steps 1–4 of the module doc: first the keys the request is known by, then everything
    /// recorded under one of them.
    fn collect(trace: &'t Trace, request: &RequestRecord) -> Found<'t> {
        let recorded = Recorded::around(trace, request);
        // 1. The client's own records, and the connections it used.
        let own = recorded.clients_own(request);
        let mut connections = connections_used(&own);
        let client_ip = connections.first().map(|c| c.0);
        // 2. Until the client had its name from DNS, the DNS answers to its address.
        let resolved_at = resolved_by_dns_at(&own);
        // 3. Its connections; through an L7 proxy or a transparent cache, the one onward to
        // the server (or, for a cache's miss, to the origin) too.
        let onward = recorded.onward(&connections);
        connections.extend(onward);
        let keys = Keys {
            own,
            connections,
            client_ip,
            resolved_at,
        };
        // Every record made under one of these keys...
        let mut decisions = keys.records_of(&recorded);
        // ...but of the authority's answers, only the ones this request received.
        keys.keep_answers_received(&mut decisions);
        // 4. The frames; with them the ARP exchanges the request waited for.
        let frames = keys.frames(trace, request, &decisions);
        Found { decisions, frames }
    }
}

/// The decisions recorded around one request's time.
struct Recorded<'t> {
    /// Those from the request's start to its end, found by binary search (`window`).
    window: &'t [Decision],
    /// All those before its start: a kept-alive connection's pick lies there.
    before: &'t [Decision],
    /// The request's start.
    start: SimTime,
    /// The request's end.
    end: SimTime,
}

impl<'t> Recorded<'t> {
    /// The decisions of `trace` around `request`'s time.
    fn around(trace: &'t Trace, request: &RequestRecord) -> Recorded<'t> {
        let all = trace.decisions.records();
        Recorded {
            window: window(all, |d| d.at, request.start, request.end),
            before: &all[..all.partition_point(|d| d.at < request.start)],
            start: request.start,
            end: request.end,
        }
    }

    /// The decisions made from the request's start to its end, both included, in time order.
    fn during(&self) -> impl Iterator<Item = &'t Decision> + '_ {
        self.window
            .iter()
            .filter(|d| d.at >= self.start && d.at <= self.end)
    }

    /// Step 1: the client's own records of `request`, which carry its request number: its
    /// name lookup, its question to its DNS server, and the connection it used.
    fn clients_own(&self, request: &RequestRecord) -> Vec<&'t Decision> {
        self.during()
            .filter(|d| d.node == request.client_node)
            .filter(|d| match &d.kind {
                DecisionKind::Resolved { seq, .. }
                | DecisionKind::AskDns { seq, .. }
                | DecisionKind::Connect { seq, .. } => *seq == request.client_seq,
                _ => false,
            })
            .collect()
    }

    /// Step 3: the connections an L7 proxy or a transparent cache opened onward for a
    /// request that came on one of `connections` (the proxy's to the server, the cache's to
    /// the origin), named by their address and port on the proxy or cache.
    fn onward(&self, connections: &[Endpoint]) -> Vec<Endpoint> {
        self.during()
            .filter_map(|d| match &d.kind {
                DecisionKind::L7Route(route) if connections.contains(&route.client) => {
                    route.backend
                }
                DecisionKind::CacheLookup(lookup) if connections.contains(&lookup.client) => {
                    lookup.fetch
                }
                _ => None,
            })
            .collect()
    }
}

/// The connections the client's `own` records say it used, as its address and port.
fn connections_used(own: &[&Decision]) -> Vec<Endpoint> {
    own.iter()
        .filter_map(|d| match d.kind {
            DecisionKind::Connect {
                local_ip,
                local_port,
                ..
            } => Some((local_ip, local_port)),
            _ => None,
        })
        .collect()
}

/// When the client's `own` records say it had its name from DNS (`None`: it did not ask).
fn resolved_by_dns_at(own: &[&Decision]) -> Option<SimTime> {
    own.iter().find_map(|d| match d.kind {
        DecisionKind::Resolved {
            source: NameSource::Dns,
            ..
        } => Some(d.at),
        _ => None,
    })
}

/// The keys by which the nodes and wires know one request (steps 1–3 of the module doc).
struct Keys<'t> {
    /// The client's own records of it.
    own: Vec<&'t Decision>,
    /// Its connections: the client's, and any a proxy or cache opened onward for it.
    connections: Vec<Endpoint>,
    /// The client's address (`None` if it opened no connection).
    client_ip: Option<Ipv4Addr>,
    /// When the client had its name from DNS (`None`: it did not ask).
    resolved_at: Option<SimTime>,
}

impl<'t> Keys<'t> {
    /// Whether the client was still waiting for its DNS answer `at` this time.
    fn looking_up(&self, at: SimTime) -> bool {
        self.resolved_at.is_some_and(|resolved| at <= resolved)
    }

    /// Whether a DNS question from `client` (address and port) came from the request's
    /// client, known by its address alone.
    fn asked_by_client(&self, client: &Endpoint) -> bool {
        Some(client.0) == self.client_ip
    }

    /// Whether `peer` is one of the request's connections.
    fn of_connection(&self, peer: &Endpoint) -> bool {
        self.connections.contains(peer)
    }

    /// Steps 1–3: the records made under one of the keys, in time order, with a kept-alive
    /// connection's earlier pick first.
    fn records_of(&self, recorded: &Recorded<'t>) -> Vec<&'t Decision> {
        self.earlier_pick(recorded.before)
            .into_iter()
            .chain(recorded.during())
            .filter(|d| self.names_the_request(d))
            .collect()
    }

    /// Whether `decision` is one of the client's own, or was made under one of the keys:
    /// the client's address while it looked its name up (2), or one of its connections (3).
    fn names_the_request(&self, decision: &Decision) -> bool {
        match &decision.kind {
            DecisionKind::Resolved { .. }
            | DecisionKind::AskDns { .. }
            | DecisionKind::Connect { .. } => self.own.contains(&decision),
            DecisionKind::ResolverLookup { client, .. } => {
                self.looking_up(decision.at) && self.asked_by_client(client)
            }
            // The authority answers the resolver (or the client itself).
            DecisionKind::AuthorityAnswer { .. } => self.looking_up(decision.at),
            DecisionKind::L4Pick(pick) => self.of_connection(&pick.client),
            DecisionKind::L7Route(route) => self.of_connection(&route.client),
            DecisionKind::CacheLookup(lookup) => self.of_connection(&lookup.client),
            DecisionKind::RouteMatch { flow, .. }
            | DecisionKind::ArpWait {
                flow: Some(flow), ..
            } => self.of_connection(&flow.0) || self.of_connection(&flow.1),
            DecisionKind::ArpWait { flow: None, .. } => false,
            DecisionKind::ServerQueued { peer, .. }
            | DecisionKind::ListenDrop { peer, .. }
            | DecisionKind::ServerServe { peer, .. } => self.of_connection(peer),
        }
    }

    /// A kept-alive connection was scheduled for an earlier request: its director's pick,
    /// made before this request started, still decides where this one goes. The last pick
    /// of the connection before the start is the one. `before` is every decision before
    /// the start.
    fn earlier_pick(&self, before: &'t [Decision]) -> Option<&'t Decision> {
        let kept = self.own.iter().any(|d| {
            matches!(
                d.kind,
                DecisionKind::Connect {
                    how: ConnectHow::Kept,
                    ..
                }
            )
        });
        if !kept {
            return None;
        }
        before.iter().rfind(
            |d| matches!(&d.kind, DecisionKind::L4Pick(pick) if self.of_connection(&pick.client)),
        )
    }

    /// Drops from `decisions` the authority's answers that were not this request's: an answer
    /// belongs if the client asked it, or if it is the one the resolver passed on after a
    /// miss (`answer_passed_on`). (The authority answers other resolvers and other questions
    /// in the same moments; those are not this request's story.)
    fn keep_answers_received(&self, decisions: &mut Vec<&'t Decision>) {
        let passed_on = self.answer_passed_on(decisions);
        decisions.retain(|d| match &d.kind {
            DecisionKind::AuthorityAnswer { client, .. } => {
                self.asked_by_client(client) || passed_on == Some((d.at, d.node))
            }
            _ => true,
        });
    }

    /// The authority's answer the resolver passed on to the client after it missed, as its
    /// time and node: the first one after the miss with the very records, in the very order,
    /// the client received.
    fn answer_passed_on(&self, decisions: &[&Decision]) -> Option<(SimTime, usize)> {
        let missed_at = decisions
            .iter()
            .filter(|d| matches!(d.kind, DecisionKind::ResolverLookup { ttl_left: None, .. }))
            .map(|d| d.at)
            .min();
        let received = self.own.iter().find_map(|d| match &d.kind {
            DecisionKind::Resolved { addresses, .. } => Some(addresses),
            _ => None,
        });
        decisions
            .iter()
            .filter(|d| missed_at.is_some_and(|at| d.at >= at))
            .find(|d| {
                matches!(&d.kind, DecisionKind::AuthorityAnswer { addresses, .. }
                    if Some(addresses) == received)
            })
            .map(|d| (d.at, d.node))
    }

    /// Step 4: the request's frames in `trace`, in time order: those of its connections and
    /// its name lookup (`frame_belongs`), and the ARP exchanges about the next hops its
    /// `decisions` say a router waited for.
    fn frames(
        &self,
        trace: &'t Trace,
        request: &RequestRecord,
        decisions: &[&Decision],
    ) -> Vec<&'t FrameRecord> {
        let arp_hops = arp_waits(decisions);
        let all_frames = trace.frames.as_deref().unwrap_or(&[]);
        window(all_frames, |f| f.at, request.start, request.end)
            .iter()
            .filter(|f| {
                let decoded = frames::decode(&f.head);
                arp_about(&decoded, &arp_hops)
                    || frame_belongs(
                        &decoded,
                        &self.connections,
                        self.client_ip,
                        self.looking_up(f.at),
                    )
            })
            .collect()
    }
}

/// The next hops whose MAC address a router had to ask for, by `decisions`' ARP waits.
fn arp_waits(decisions: &[&Decision]) -> Vec<Ipv4Addr> {
    decisions
        .iter()
        .filter_map(|d| match d.kind {
            DecisionKind::ArpWait { next_hop, .. } => Some(next_hop),
            _ => None,
        })
        .collect()
}

/// Whether a frame is an ARP request for, or an ARP reply from, one of `hops`.
fn arp_about(decoded: &Decoded, hops: &[Ipv4Addr]) -> bool {
    match *decoded {
        Decoded::Arp {
            request,
            sender,
            target,
            ..
        } => hops.contains(if request { &target } else { &sender }),
        _ => false,
    }
}

/// Whether a frame belongs to a request whose connections are `connections`: a TCP segment of
/// one of them, an ICMP error about one, or (while it waited for DNS) a DNS message of the
/// client's.
fn frame_belongs(
    decoded: &Decoded,
    connections: &[Endpoint],
    client_ip: Option<Ipv4Addr>,
    looking_up: bool,
) -> bool {
    match decoded {
        Decoded::Tcp { src, dst, .. } => connections.contains(src) || connections.contains(dst),
        Decoded::Icmp {
            about: Some((from, _)),
            ..
        } => connections.contains(from),
        Decoded::Udp { src, dst, .. } => {
            looking_up
                && (src.1 == 53 || dst.1 == 53)
                && (Some(src.0) == client_ip || Some(dst.0) == client_ip)
        }
        _ => false,
    }
}

/// The story's view of one decision: the same facts, with names and words instead of indices
/// and enums. The kinds come in the order a request meets them; a kind that needs more than
/// copying has its own helper below.
pub(crate) fn view(decision: &Decision, names: &Names<'_>) -> What {
    match &decision.kind {
        // 1. The name lookup: the client, its resolver, the authority.
        DecisionKind::Resolved {
            source, addresses, ..
        } => resolved_view(*source, addresses, decision.at),
        DecisionKind::AskDns { server, .. } => What::AskDns { server: *server },
        DecisionKind::ResolverLookup {
            ttl_left,
            addresses,
            ..
        } => What::ResolverLookup {
            ttl_left_s: *ttl_left,
            addresses: addresses.clone(),
        },
        DecisionKind::AuthorityAnswer {
            addresses,
            order,
            ttl,
            ..
        } => authority_answer_view(addresses, *order, *ttl),
        // 2. The connection, and the routers on its way.
        DecisionKind::Connect {
            local_ip,
            local_port,
            remote_ip,
            remote_port,
            how,
            ..
        } => connect_view((*local_ip, *local_port), (*remote_ip, *remote_port), *how),
        DecisionKind::RouteMatch { flow, route } => route_match_view(*flow, *route),
        DecisionKind::ArpWait {
            next_hop, asked, ..
        } => What::ArpWait {
            next_hop: *next_hop,
            asked: *asked,
        },
        // 3. The director, the proxy and the cache.
        DecisionKind::L4Pick(pick) => What::L4Pick(pick_view(pick, names)),
        DecisionKind::L7Route(route) => What::L7Route(route_view(route, names)),
        DecisionKind::CacheLookup(lookup) => cache_lookup_view(lookup),
        // 4. The web server.
        DecisionKind::ServerQueued {
            waiting_ahead,
            busy_workers,
            workers,
            mode,
            ..
        } => server_queued_view(*waiting_ahead, *busy_workers, *workers, *mode),
        DecisionKind::ListenDrop {
            busy_workers,
            workers,
            waiting,
            backlog,
            ..
        } => What::ListenDrop {
            busy_workers: *busy_workers,
            workers: *workers,
            waiting: *waiting,
            backlog: *backlog,
        },
        DecisionKind::ServerServe {
            waited,
            service,
            mode,
            ..
        } => server_serve_view(*waited, *service, *mode),
    }
}

/// A name lookup's answer, with its source in words: `static`, `client_cache` (with the
/// seconds until the cached answer expires, counted from `at`) or `dns`.
fn resolved_view(source: NameSource, addresses: &[Ipv4Addr], at: SimTime) -> What {
    let (source, expires_in_s) = match source {
        NameSource::Static => ("static", None),
        NameSource::ClientCache { expires } => (
            "client_cache",
            expires.map(|expires| (expires - at).as_secs_f64()),
        ),
        NameSource::Dns => ("dns", None),
    };
    What::Resolved {
        source,
        expires_in_s,
        addresses: addresses.to_vec(),
    }
}

/// An authority's answer, with its record order in words (`cyclic`, `fixed`, `random`) and,
/// for cyclic order, the zone index of the record sent first.
fn authority_answer_view(addresses: &[Ipv4Addr], order: RecordOrderKind, ttl: u32) -> What {
    let (order, rotation) = match order {
        RecordOrderKind::Cyclic { first } => ("cyclic", Some(first)),
        RecordOrderKind::Fixed => ("fixed", None),
        RecordOrderKind::Random => ("random", None),
    };
    What::AuthorityAnswer {
        addresses: addresses.to_vec(),
        order,
        rotation,
        ttl_s: ttl,
    }
}

/// The connection the client used, as `address:port` at both ends, and why it used it in
/// words: `new`, `next_address` (the one before failed) or `kept` (kept alive).
fn connect_view(local: Endpoint, remote: Endpoint, how: ConnectHow) -> What {
    What::Connect {
        local: endpoint(local),
        remote: endpoint(remote),
        how: match how {
            ConnectHow::New => "new",
            ConnectHow::NextAddress => "next_address",
            ConnectHow::Kept => "kept",
        },
    }
}

/// A router's choice for the connection's first packet, as `source:port -> destination:port`
/// and the route in words (`None`: no route).
fn route_match_view(flow: Flow, route: Option<Route>) -> What {
    What::RouteMatch {
        packet: format!("{} -> {}", endpoint(flow.0), endpoint(flow.1)),
        route: route.map(route_words),
    }
}

/// A router's route as `prefix via next hop`, or `prefix, directly connected`.
fn route_words(route: Route) -> String {
    let prefix = format!("{}/{}", route.network, route.prefix_len);
    match route.via {
        Some(via) => format!("{prefix} via {via}"),
        None => format!("{prefix}, directly connected"),
    }
}

/// A transparent cache's lookup, with the object as a URL.
fn cache_lookup_view(lookup: &CacheLookup) -> What {
    What::CacheLookup {
        object: format!("http://{}{}", lookup.origin, lookup.path),
        hit: lookup.hit,
        stored: lookup.stored,
        capacity: lookup.capacity,
        fetch_from: lookup.fetch.map(endpoint),
    }
}

/// The web server queued the request: the requests ahead of it, its busy workers, and the
/// service mode in force in words.
fn server_queued_view(
    waiting_ahead: u32,
    busy_workers: u32,
    workers: u32,
    mode: ServiceMode,
) -> What {
    What::ServerQueued {
        waiting_ahead,
        busy_workers,
        workers,
        mode: mode_name(mode),
    }
}

/// A worker took the request: how long it waited and the service time drawn, in
/// milliseconds, and the service mode in force.
fn server_serve_view(waited: SimDuration, service: SimDuration, mode: ServiceMode) -> What {
    What::ServerServe {
        waited_ms: waited.as_secs_f64() * 1000.0,
        service_ms: service.as_secs_f64() * 1000.0,
        mode: mode_name(mode),
    }
}

/// A service mode as the scenario's fault list spells it.
pub fn mode_name(mode: ServiceMode) -> String {
    match mode {
        ServiceMode::Normal => "normal".to_string(),
        ServiceMode::Stopped => "stopped".to_string(),
        ServiceMode::Hung => "hung".to_string(),
        ServiceMode::Errors(status) => format!("errors({status})"),
        ServiceMode::Slow(factor) => format!("slow(×{factor})"),
    }
}

/// A routing decision with server names.
fn route_view(route: &L7Route, names: &Names<'_>) -> RouteView {
    RouteView {
        path: route.path.clone(),
        rule: route.rule.as_ref().map(|rule| match rule {
            RuleMatch::PathPrefix(prefix) => format!("path {prefix}"),
            RuleMatch::Host(host) => format!("host {host}"),
        }),
        pool: route.pool.clone(),
        algorithm: match route.algorithm {
            Algorithm::RoundRobin => "RoundRobin",
            Algorithm::WeightedRoundRobin => "WeightedRoundRobin",
            Algorithm::LeastConn => "LeastConn",
            Algorithm::Source => "Source",
            Algorithm::Uri => "Uri",
        },
        candidates: route
            .candidates
            .iter()
            .map(|c| ProxyCandidateView {
                name: names.server_at(c.addr.0),
                weight: c.weight,
                open: c.open,
                backup: c.backup,
                eligible: c.eligible,
            })
            .collect(),
        chosen: route
            .chosen
            .and_then(|i| route.candidates.get(i))
            .map(|c| names.server_at(c.addr.0)),
        backend: route.backend.map(endpoint),
        reused: route.reused,
        forwarded_for: route.client.0,
    }
}

/// A scheduling decision with server names.
fn pick_view(pick: &L4Pick, names: &Names<'_>) -> PickView {
    let name_of = |addr: Ipv4Addr| names.server_at(addr);
    let key_name = |key: crate::ipvs::scheduler::DestKey| name_of(key.addr);
    let state = match pick.state {
        SchedulerState::Stateless => None,
        SchedulerState::RoundRobin { cursor } => Some(match cursor {
            Some(key) => format!("cursor on {}", key_name(key)),
            None => "cursor at the head of the list".to_string(),
        }),
        SchedulerState::WeightedRoundRobin { cursor, cw } => Some(match cursor {
            Some(key) => format!("cw={cw}, cursor on {}", key_name(key)),
            None => format!("cw={cw}, cursor at the head of the list"),
        }),
        SchedulerState::Bucket { bucket, owner } => Some(match owner {
            Some(key) => format!("bucket {bucket} belongs to {}", key_name(key)),
            None => format!("bucket {bucket} is empty"),
        }),
        SchedulerState::Locality { cached, members } => Some(match cached {
            Some(key) if members > 1 => {
                format!(
                    "the cache names {} servers, first {}",
                    members,
                    key_name(key)
                )
            }
            Some(key) => format!("the cache names {}", key_name(key)),
            None => "no cache entry for this destination".to_string(),
        }),
    };
    PickView {
        connection: format!("{} -> {}", endpoint(pick.client), endpoint(pick.vip)),
        scheduler: pick.scheduler,
        candidates: pick
            .candidates
            .iter()
            .map(|d| CandidateView {
                name: name_of(d.addr),
                addr: format!("{}:{}", d.addr, d.port),
                weight: d.weight,
                active: d.active_conns,
                inactive: d.inactive_conns,
                overhead: d.conn_overhead(),
                unavailable: unavailable(d).map(narrate::unavailable_words),
            })
            .collect(),
        state,
        template: pick.template.map(key_name),
        chosen: pick.chosen.map(|i| name_of(pick.candidates[i].addr)),
        forward: pick.forward.map(|f| f.name()),
    }
}
