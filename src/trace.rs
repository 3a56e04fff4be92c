//! *The trace*: what happened in a run, as plain records.
//!
//! Nodes append records while the simulation runs: one [`RequestRecord`] per HTTP request a
//! client finished, one [`PingRecord`] per echo request, and counters of frames.
//! Finished requests go through [`RequestLog`], which puts them back in start order while the
//! run goes and counts them (module [`requests`]), so a long run keeps little per request.
//! After the run, `report` turns the trace into `summary.json`, `requests.csv` and the terminal
//! table. Nothing in the trace points back into the simulation, so reports can be computed
//! from it alone.
//!
//! When asked, the trace also keeps the *decisions* nodes made about requests, with their
//! inputs (module [`decision`]), and a short copy of every frame on a wire ([`FrameRecord`]),
//! for `netlab explain`. Both are off in an ordinary run and change none of its files.
//!
//! # Further reading
//! - `book/src/reference/output.md`.

pub mod decision;
pub mod requests;

pub use decision::{Decision, DecisionKind, Decisions};
pub use requests::{ClientTally, RequestLog, SecondTally, Tally};

use crate::sim::SimTime;

/// How a request ended. Every request ends in exactly one outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    /// A complete response with status below 400.
    Ok,
    /// A complete response with status 400 or above.
    HttpError,
    /// The SYN was answered with a RST: nothing listening, or no free connection slot.
    Refused,
    /// The connection was reset or closed after it was established, before the whole response.
    Reset,
    /// The request's timeout passed first.
    Timeout,
    /// An ICMP destination-unreachable came back, or the name is in no table.
    Unreachable,
    /// DNS could not resolve the name (NXDOMAIN, SERVFAIL, or no answer after retries).
    DnsError,
}

impl Outcome {
    /// Every outcome, in report order.
    pub const ALL: [Outcome; 7] = [
        Outcome::Ok,
        Outcome::HttpError,
        Outcome::Refused,
        Outcome::Reset,
        Outcome::Timeout,
        Outcome::Unreachable,
        Outcome::DnsError,
    ];

    /// The name used in `summary.json` and `requests.csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::HttpError => "http_error",
            Outcome::Refused => "refused",
            Outcome::Reset => "reset",
            Outcome::Timeout => "timeout",
            Outcome::Unreachable => "unreachable",
            Outcome::DnsError => "dns_error",
        }
    }
}

/// One finished HTTP request, as its client saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestRecord {
    /// Index of the client host in the world's node list.
    pub client_node: usize,
    /// The client's own running number for this request (ties in `start` sort by it).
    pub client_seq: u64,
    /// When the client decided to send the request.
    pub start: SimTime,
    /// When the outcome was known.
    pub end: SimTime,
    /// How it ended.
    pub outcome: Outcome,
    /// Index into the world's web-server list of the server named in `X-Served-By`, if any.
    pub server: Option<usize>,
    /// The HTTP status code, when a status line arrived.
    pub status: Option<u16>,
    /// The address the client connected to (a VIP, say), once the name was resolved.
    pub remote_ip: Option<std::net::Ipv4Addr>,
    /// Whether it went over a kept-alive connection of an earlier request (no handshake).
    pub reused_connection: bool,
}

/// One ICMP echo request and its reply, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PingRecord {
    /// Index of the pinging host in the world's node list.
    pub host_node: usize,
    /// The address pinged, as text.
    pub target: String,
    /// Echo sequence number.
    pub seq: u16,
    /// When the request was sent.
    pub sent: SimTime,
    /// When the reply arrived, if it did before the timeout.
    pub replied: Option<SimTime>,
}

/// What a DNS server did with one question.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum DnsEvent {
    /// An authoritative server answered it.
    Authoritative,
    /// A caching resolver answered it from its cache.
    CacheHit,
    /// A caching resolver had to ask upstream (or join a question already asked).
    CacheMiss,
}

/// One question handled by a DNS server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsRecord {
    /// When.
    pub at: SimTime,
    /// Which server (node index).
    pub node: usize,
    /// The name asked about.
    pub name: String,
    /// What the server did.
    pub event: DnsEvent,
}

/// Where an L7 proxy sent one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyRoute {
    /// The pool chosen.
    pub pool: String,
    /// The backend (`address:port`), if one was chosen.
    pub server: Option<String>,
    /// A status the proxy answered itself (503, 502, 504), if it did.
    pub status: Option<u16>,
}

/// One routing decision of an L7 proxy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyRecord {
    /// The proxy (node index).
    pub node: usize,
    /// When.
    pub at: SimTime,
    /// What it decided.
    pub route: ProxyRoute,
}

/// An L7 proxy's totals at the end of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyTotals {
    /// The proxy (node index).
    pub node: usize,
    /// Connections accepted from clients.
    pub client_connections: u64,
    /// Connections opened to backends.
    pub server_connections: u64,
    /// CPU time used.
    pub busy: crate::sim::SimDuration,
}

/// Which addresses a web server saw its requests come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerRecord {
    /// The server (node index).
    pub node: usize,
    /// Distinct TCP peer addresses.
    pub peers: Vec<std::net::Ipv4Addr>,
    /// Distinct `X-Forwarded-For` values.
    pub forwarded_for: Vec<String>,
}

/// A web server's SYNs dropped by its full accept queue (Linux `ListenOverflows`), written
/// only for a server that dropped some.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListenDropRecord {
    /// The server (node index).
    pub node: usize,
    /// SYNs dropped.
    pub drops: u64,
}

/// A transparent cache's totals (`app::TransparentCache`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheRecord {
    /// The cache (node index).
    pub node: usize,
    /// Requests answered from memory.
    pub hits: u64,
    /// Requests fetched from their origin.
    pub misses: u64,
    /// Objects evicted to make room.
    pub evictions: u64,
    /// Objects held at the end.
    pub objects: u64,
}

/// Frame counters for the whole network.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetCounters {
    /// Frames nodes put onto segments and links.
    pub frames_sent: u64,
    /// Frames refused by a full drop-tail queue.
    pub frames_dropped_queue: u64,
    /// Frames lost on the wire or at a port that was down.
    pub frames_lost: u64,
}

/// The state of an L4 balancer at one moment, as `ipvsadm` would print it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpvsSnapshot {
    /// When it was taken.
    pub at: SimTime,
    /// Index of the balancer in the world's node list.
    pub node: usize,
    /// `ipvsadm -Ln`.
    pub list: String,
    /// `ipvsadm -Ln --stats`.
    pub stats: String,
}

/// One real server of a virtual service at the end of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RealServerRecord {
    /// `address:port`.
    pub addr: String,
    /// Forwarding method as ipvsadm names it (`Masq`, `Route`).
    pub forward: String,
    /// Weight at the end of the run.
    pub weight: u32,
    /// Connections scheduled to it over the whole run.
    pub connections: u64,
}

/// One virtual service at the end of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceRecord {
    /// `VIP:port`.
    pub addr: String,
    /// Scheduler name.
    pub scheduler: String,
    /// Real servers, in ipvsadm's order.
    pub real_servers: Vec<RealServerRecord>,
    /// New connections refused because no real server was available.
    pub no_destination: u64,
}

/// One L4 balancer at the end of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BalancerRecord {
    /// Index of the balancer in the world's node list.
    pub node: usize,
    /// Its virtual services, in ipvsadm's order.
    pub services: Vec<ServiceRecord>,
    /// With a modelled per-packet cost: CPU time used, and frames dropped by a full backlog.
    pub cpu: Option<(crate::sim::SimDuration, u64)>,
}

/// Something that happened to the system (not to a request): a fault applied or undone, a
/// real server going down or up, quorum lost or regained. One line of `events.csv`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRecord {
    /// When.
    pub at: SimTime,
    /// What it happened to: a node, segment, or `node/service`.
    pub target: String,
    /// What happened, as a short word (`crash`, `restore`, `server_down`...).
    pub event: String,
    /// Why, or more detail (the checker that failed, the fault's parameters).
    pub detail: String,
}

/// Everything recorded during one run.
#[derive(Debug, Default)]
pub struct Trace {
    /// Finished requests, released in start order through a reorder window (module
    /// [`requests`]).
    pub requests: RequestLog,
    /// Echo requests, in the order they were resolved.
    pub pings: Vec<PingRecord>,
    /// Frame counters.
    pub net: NetCounters,
    /// `ipvsadm` snapshots, in time order (each balancer's last one is taken at the end).
    pub ipvsadm: Vec<IpvsSnapshot>,
    /// Balancers' final state.
    pub balancers: Vec<BalancerRecord>,
    /// Faults and state changes, in time order.
    pub events: Vec<EventRecord>,
    /// Questions handled by DNS servers.
    pub dns: Vec<DnsRecord>,
    /// L7 proxies' routing decisions.
    pub proxy: Vec<ProxyRecord>,
    /// L7 proxies' totals.
    pub proxy_totals: Vec<ProxyTotals>,
    /// Web servers' peer addresses.
    pub peers: Vec<PeerRecord>,
    /// Transparent caches' totals.
    pub caches: Vec<CacheRecord>,
    /// Web servers' SYNs dropped by a full accept queue.
    pub listen_drops: Vec<ListenDropRecord>,
    /// Decisions with their inputs (empty unless switched on).
    pub decisions: Decisions,
    /// The head of every frame seen on a wire, if switched on.
    pub frames: Option<Vec<FrameRecord>>,
    /// The most frame heads `frames` keeps (0 means no limit), and when it became full.
    pub frame_limit: (usize, Option<SimTime>),
    /// Who reads the bounded recording as soon as it is complete, if anyone
    /// ([`Trace::read_recording_early`]).
    pub early_reader: Option<EarlyReader>,
}

/// Reads the bounded recording of a trace (`report.html`'s stories are gathered from it).
pub type RecordingReader = Box<dyn FnOnce(&Trace) + Send>;

/// A [`RecordingReader`] waiting for the bounded recording to be complete.
pub struct EarlyReader {
    /// The reader.
    read: RecordingReader,
    /// Whether the decisions must go on being recorded when the recording goes (a capture
    /// reads them for its packet comments while the run goes, and then forgets them).
    keep_decisions: bool,
}

impl std::fmt::Debug for EarlyReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EarlyReader")
            .field("keep_decisions", &self.keep_decisions)
            .finish_non_exhaustive()
    }
}

/// The start of one frame as a tap on a wire saw it: enough bytes for the Ethernet, IPv4 and
/// TCP or UDP headers (and a DNS question), to print a tcpdump-like line later.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameRecord {
    /// When the tap saw it.
    pub at: SimTime,
    /// The segment (index in the world's segment list).
    pub segment: usize,
    /// The frame's length on the wire, in bytes.
    pub len: usize,
    /// Its first [`FrameRecord::HEAD_BYTES`] bytes (fewer for a shorter frame).
    pub head: Box<[u8]>,
}

impl FrameRecord {
    /// How many bytes of each frame are kept: Ethernet (14) + IPv4 (20, or up to 60 with
    /// options) + TCP (20 to 60) leaves room for a short DNS question.
    pub const HEAD_BYTES: usize = 128;
}

impl Trace {
    /// A finished request (it waits in the log's reorder window until it can be released).
    pub fn request(&mut self, record: RequestRecord) {
        self.requests.push(record);
    }

    /// Client `node` will start no request before `floor` (`None`: no more requests);
    /// releases the finished requests that no other can now precede.
    pub fn request_floor(&mut self, node: usize, floor: Option<SimTime>, now: SimTime) {
        self.requests.set_floor(node, floor, now, &self.events);
        if self.early_reader.is_some() {
            self.read_recording_if_complete(now);
        }
    }

    /// The run is over: releases every request still held, in order.
    pub fn finish_requests(&mut self) {
        self.requests.finish(&self.events);
    }

    /// When the bounded recording stopped: the first time the decisions or the frame heads
    /// reached their limit (`None` while both are still recording, or were never bounded).
    /// Nothing from then on is complete in the recording.
    pub fn recording_stopped(&self) -> Option<SimTime> {
        [self.decisions.full_at(), self.frame_limit.1]
            .into_iter()
            .flatten()
            .min()
    }

    /// Hands the bounded recording to `read` as soon as it is complete: it stopped, and every
    /// request that started before it stopped is released (`RequestLog::released_before`), so
    /// nothing the recording could tell about is still to come. Then the recording goes (and
    /// stops): a long run does not hold it to the end. With `keep_decisions` the decisions go
    /// on being recorded up to their limit, for a capture's packet comments, and the capture
    /// forgets them once read (`Decisions::release`). A reader still waiting
    /// when the run ends is called by [`Trace::read_recording_now`].
    pub fn read_recording_early(&mut self, read: RecordingReader, keep_decisions: bool) {
        self.early_reader = Some(EarlyReader {
            read,
            keep_decisions,
        });
    }

    /// Calls the reader [`Trace::read_recording_early`] left waiting, if any, with the
    /// recording as it is (at the end of the run); the recording stays.
    pub fn read_recording_now(&mut self) {
        if let Some(reader) = self.early_reader.take() {
            (reader.read)(self);
        }
    }

    /// Step 2 of [`Trace::read_recording_early`], after requests were released at `now`.
    fn read_recording_if_complete(&mut self, now: SimTime) {
        let Some(stopped) = self.recording_stopped() else {
            return;
        };
        if self.requests.released_before(now) < stopped {
            return;
        }
        if let Some(reader) = self.early_reader.take() {
            (reader.read)(self);
            self.frames = None;
            if reader.keep_decisions {
                self.decisions.release();
            } else {
                self.decisions = Decisions::default();
            }
        }
    }

    /// Lets the decisions and frame heads recorded so far go (once `report.html`'s
    /// explanations are told), to give their memory back.
    pub fn forget_recording(&mut self) {
        self.decisions = Decisions::default();
        self.frames = None;
    }

    /// Appends an event record.
    pub fn event(&mut self, at: SimTime, target: &str, event: &str, detail: String) {
        self.events.push(EventRecord {
            at,
            target: target.to_string(),
            event: event.to_string(),
            detail,
        });
    }
}
