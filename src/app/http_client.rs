//! *HTTP clients*: the users whose experience every experiment measures.
//!
//! A client host sends GET requests to one URL. Each request:
//!
//! 1. resolves the URL's host name (see `resolver.rs`);
//! 2. takes an ephemeral port and opens a TCP connection (SYN, SYN-ACK, ACK);
//! 3. sends the request and reads the response until `Content-Length` bytes of body arrived;
//! 4. closes its side and records exactly one outcome (see `trace::Outcome`).
//!
//! When requests start is the *workload*:
//! - **open loop**: requests arrive as a Poisson process (exponential gaps), whether or not
//!   earlier ones finished, like independent visitors on the internet;
//! - **closed loop**: each of `users` users sends a request, waits for its outcome, thinks, and
//!   sends the next, like people clicking through a site. A slow server slows them down.
//!
//! **Keep-alive.** By default every request has its own connection (`Connection: close`).
//! A client with `keep_alive` asks the server to keep the connection open; if the server
//! agrees, the finished connection goes into an idle pool, and the next request takes it from
//! there instead of resolving the name and shaking hands again: one round trip saved. Like a
//! browser, the pool is per site, not per address, so a client sticks to the server it is
//! connected to, whatever DNS or a balancer would choose for a new connection. If the server
//! closed the idle connection just as the request went out (a real race), the request is
//! retried on a new connection, as browsers do for GET.
//!
//! # Simplifications
//! - No pipelining, no limit on idle connections, no client-side idle timeout (the server's
//!   timeout, always the shorter in practice, closes them).
//! - The timeout covers the whole request, from the decision to send it to the last byte.
//!
//! # Further reading
//! - `book/src/reference/output.md` (outcomes); `book/src/labs/hello-web.md`.

use std::net::Ipv4Addr;
use std::rc::Rc;

use smoltcp::iface::SocketHandle;
use smoltcp::socket::tcp;
use smoltcp::time::Duration;

use super::dns::stub::{DnsStub, Lookup};
use super::http::{self, ResponseProgress, ResponseReader};
use super::keep_alive;
use super::ports::PortAllocator;
use super::resolver::Resolver;
use super::web_server::Distribution;
use crate::node::{App, AppCtx, FourTuple, IcmpError};
use crate::sim::{SimDuration, SimTime, Stream};
use crate::trace::decision::{ConnectHow, NameSource};
use crate::trace::{DecisionKind, Outcome, RequestRecord};

/// Receive buffer of a client socket, in bytes.
const RX_BUFFER_BYTES: usize = 32 * 1024;
/// Transmit buffer of a client socket, in bytes (requests are small; a request with a big
/// cookie gets a buffer that holds it whole).
const TX_BUFFER_BYTES: usize = 1024;
/// A closing connection that makes no progress for this long is aborted.
const CLOSE_ABORT: Duration = Duration::from_secs(10);

/// When a client host sends requests.
#[derive(Clone, Debug)]
pub enum Workload {
    /// Poisson arrivals with this mean gap between requests on this host.
    OpenLoop {
        /// Mean time between two requests of this host.
        mean_gap: SimDuration,
    },
    /// `users` users, each waiting for its request and then thinking.
    ClosedLoop {
        /// Users on this host.
        users: u32,
        /// Pause between an outcome and the user's next request.
        think_time: Distribution,
    },
}

/// What one client host does.
#[derive(Clone, Debug)]
pub struct HttpClientConfig {
    /// Host part of the URL: a name or an address.
    pub host: String,
    /// TCP port of the URL.
    pub port: u16,
    /// Path of the URL.
    pub path: String,
    /// Give up on a request after this long.
    pub timeout: SimDuration,
    /// When requests start.
    pub workload: Workload,
    /// Requests this host sends at most.
    pub max_requests: Option<u64>,
    /// The first request may start at this time.
    pub start: SimTime,
    /// No request starts at or after this time.
    pub stop: Option<SimTime>,
    /// Names of all web servers, to turn `X-Served-By` into an index.
    pub server_names: Rc<Vec<String>>,
    /// Paths to pick from at random for each request (empty: `path`).
    pub paths: Vec<String>,
    /// Give up on one address after this long without a connection (for `try_next`).
    pub connect_timeout: Option<SimDuration>,
    /// When a connection fails, try the answer's next address.
    pub try_next: bool,
    /// Ask for `Connection: keep-alive` and reuse idle connections.
    pub keep_alive: bool,
    /// Bytes of the `Cookie` header sent with every request (0: none).
    pub cookie_bytes: usize,
    /// Origin servers and their popularity weights: each request picks one by weight and
    /// goes to its address, `Host:` that address (empty: `host`).
    pub origins: Vec<(Ipv4Addr, f64)>,
}

/// A request in progress.
struct InFlight {
    /// This host's running number for it.
    seq: u64,
    /// Its socket.
    handle: SocketHandle,
    /// Its ephemeral port.
    local_port: u16,
    /// The server's address.
    remote_ip: Ipv4Addr,
    /// When it started.
    start: SimTime,
    /// When it times out.
    deadline: SimTime,
    /// Whether the handshake completed.
    established: bool,
    /// Bytes of the request written into the socket so far (a request longer than the
    /// socket's free buffer space goes in several writes).
    request_written: usize,
    /// The response so far.
    response: ResponseReader,
    /// Which closed-loop user sent it (`None` in open loop).
    user: Option<usize>,
    /// Give up on this address if not connected by then (then try the next one, if any).
    connect_deadline: Option<SimTime>,
    /// The answer's other addresses, tried in order when a connection fails (`try_next`).
    alternates: Vec<Ipv4Addr>,
    /// Which of the request variants (paths) it sends.
    variant: usize,
    /// Whether it runs on a kept-alive connection of an earlier request.
    reused: bool,
}

impl InFlight {
    /// When the client must look at it again whatever happens: its connect deadline or its
    /// deadline, the earlier.
    fn timer(&self) -> SimTime {
        self.connect_deadline
            .unwrap_or(self.deadline)
            .min(self.deadline)
    }

    /// What the poll's loop reads to skip this request (see [`FlightKey`]).
    fn key(&self) -> FlightKey {
        FlightKey {
            handle: self.handle,
            timer: self.timer(),
            reused: self.established && self.request_written == 0,
        }
    }

    /// Step 3: sends the request once connected, then reads what has arrived. Returns the
    /// outcome once the response is complete or unreadable; sets `acted` if it wrote to the
    /// socket.
    fn exchange(
        &mut self,
        socket: &mut tcp::Socket<'static>,
        bytes: &[u8],
        acted: &mut bool,
    ) -> Option<Outcome> {
        if socket.state() == tcp::State::Established || socket.may_send() {
            self.established = true;
        }
        if self.established && self.request_written < bytes.len() && socket.can_send() {
            let rest = &bytes[self.request_written..];
            self.request_written += socket.send_slice(rest).unwrap_or(0);
            *acted = true;
        }
        while socket.can_recv() {
            let reader = &mut self.response;
            let progress = socket
                .recv(|bytes| (bytes.len(), reader.feed(bytes)))
                .unwrap_or(ResponseProgress::Malformed);
            match progress {
                ResponseProgress::Complete => return Some(outcome_of(&self.response)),
                ResponseProgress::Malformed => return Some(Outcome::Reset),
                ResponseProgress::Incomplete => {}
            }
        }
        None
    }

    /// How the request failed, if it did: its connection ended before the response did, an
    /// ICMP error came about it, or it ran out of time (the connection is then reset).
    fn failure(
        &self,
        socket: &mut tcp::Socket<'static>,
        icmp_errors: &[IcmpError],
        now: SimTime,
    ) -> Option<Outcome> {
        if !socket.is_open() {
            return Some(if self.established {
                Outcome::Reset
            } else {
                Outcome::Refused
            });
        }
        if self.established && !socket.may_recv() {
            return Some(match self.response.finish_at_close() {
                ResponseProgress::Complete => outcome_of(&self.response),
                _ => Outcome::Reset,
            });
        }
        // An ICMP error about this flow: port unreachable is "connection refused" (what an
        // IPVS director with no available server sends), the others "unreachable".
        let error = icmp_errors
            .iter()
            .find(|e| e.local_port == self.local_port && e.remote_ip == self.remote_ip);
        let outcome = if let Some(error) = error {
            if error.port_unreachable {
                Outcome::Refused
            } else {
                Outcome::Unreachable
            }
        } else if (!self.established && self.connect_deadline.is_some_and(|at| now >= at))
            || now >= self.deadline
        {
            Outcome::Timeout
        } else {
            return None;
        };
        socket.abort();
        Some(outcome)
    }
}

/// What the poll's loop needs to skip a request in flight, kept beside the requests (in the
/// same order) so that skipping one reads a few bytes, not the whole request: at a high
/// request rate a client has many requests in flight, most of them asleep, and reading each
/// on every poll missed the processor's first-level cache once per request.
#[derive(Clone, Copy, Debug, PartialEq)]
struct FlightKey {
    /// Its socket.
    handle: SocketHandle,
    /// `InFlight::timer`: from then on it must be looked at.
    timer: SimTime,
    /// A kept connection just given a new request, not yet written.
    reused: bool,
}

/// The earliest of a set of times that changes, kept as times come and go, so that asking
/// it after every poll needs no walk. Adding a time is one comparison; removing the earliest
/// forgets it, and the next question walks the set once (removing a later one changes
/// nothing). The set itself stays with its owner, who says what was added and removed.
#[derive(Debug, Default)]
struct Earliest {
    /// The earliest time (`None` inside: the set is empty), or `None`: forgotten.
    known: std::cell::Cell<Option<Option<SimTime>>>,
}

impl Earliest {
    /// `at` joins the set.
    fn add(&mut self, at: SimTime) {
        if let Some(known) = self.known.get() {
            self.known.set(Some(earliest(known, Some(at))));
        }
    }

    /// `at` leaves the set.
    fn remove(&mut self, at: SimTime) {
        if self.known.get() == Some(Some(at)) {
            self.known.set(None);
        }
    }

    /// The earliest time of the set, which `walk` gives when it was forgotten.
    fn get(&self, walk: impl FnOnce() -> Option<SimTime>) -> Option<SimTime> {
        let known = self.known.get().unwrap_or_else(walk);
        self.known.set(Some(known));
        known
    }
}

/// An open connection waiting for the next request (keep-alive).
#[derive(Clone, Copy, Debug)]
struct KeptConnection {
    /// Its socket.
    handle: SocketHandle,
    /// Its ephemeral port.
    local_port: u16,
    /// The server's address.
    remote_ip: Ipv4Addr,
}

/// A request waiting for its name to resolve.
#[derive(Clone, Copy, Debug)]
struct WaitingName {
    /// The client's running number for it.
    seq: u64,
    /// When it started.
    start: SimTime,
    /// Which closed-loop user sent it.
    user: Option<usize>,
    /// When it times out.
    deadline: SimTime,
    /// Which of the request variants (paths) it sends.
    variant: usize,
    /// Whether it waited for a DNS answer (rather than finding the name in a cache).
    asked_dns: bool,
}

/// An HTTP client application.
pub struct HttpClient {
    /// Configuration.
    config: HttpClientConfig,
    /// Name resolution.
    resolver: Box<dyn Resolver>,
    /// Ephemeral ports.
    ports: PortAllocator,
    /// Arrival gaps and think times.
    rng: Stream,
    /// The request bytes, the same for every request.
    request_bytes: Vec<Vec<u8>>,
    /// Transmit buffer of each new socket: [`TX_BUFFER_BYTES`], or the longest request.
    tx_buffer_bytes: usize,
    /// Requests in progress.
    in_flight: Vec<InFlight>,
    /// `InFlight::key` of each request in progress, at the same index.
    flight_keys: Vec<FlightKey>,
    /// The earliest start of the requests in progress or waiting for a name (for `floor`).
    oldest_start: Earliest,
    /// The earliest of their timers and deadlines (for `next_timer`).
    first_timer: Earliest,
    /// Sockets closing after their request ended: `(socket, port)`.
    closing: Vec<(SocketHandle, u16)>,
    /// How many of `closing`, from the first, the last `recycle_closed` found still open (the
    /// others were added after it).
    closing_seen: usize,
    /// Closed sockets ready for reuse.
    idle_sockets: Vec<SocketHandle>,
    /// Open loop: when the next request arrives.
    next_arrival: Option<SimTime>,
    /// Closed loop: for each user, when its next request starts (`None` while one is in flight).
    users_ready_at: Vec<Option<SimTime>>,
    /// Requests started so far.
    issued: u64,
    /// DNS, when the host name is not in the static table.
    dns: Option<DnsStub>,
    /// Requests waiting for a DNS answer.
    waiting_dns: Vec<WaitingName>,
    /// Idle keep-alive connections, the most recently used last.
    kept: Vec<KeptConnection>,
    /// The origins' cumulative popularity (empty without origins).
    origin_cdf: Vec<f64>,
}

impl HttpClient {
    /// A client that starts working at `config.start`.
    pub fn new(config: HttpClientConfig, resolver: Box<dyn Resolver>, rng: Stream) -> HttpClient {
        // One request per path; usually just the URL's.
        let paths: Vec<&str> = if config.paths.is_empty() {
            vec![config.path.as_str()]
        } else {
            config.paths.iter().map(String::as_str).collect()
        };
        // With origins, one variant per origin and path (origin-major).
        let hosts: Vec<String> = if config.origins.is_empty() {
            vec![config.host.clone()]
        } else {
            config
                .origins
                .iter()
                .map(|(ip, _)| ip.to_string())
                .collect()
        };
        let request_bytes = hosts
            .iter()
            .flat_map(|host| paths.iter().map(move |path| (host, path)))
            .map(|(host, path)| {
                let mut bytes = Vec::new();
                http::write_request(&mut bytes, host, path, config.keep_alive);
                http::add_cookie(&mut bytes, config.cookie_bytes);
                bytes
            })
            .collect::<Vec<Vec<u8>>>();
        let tx_buffer_bytes = request_bytes
            .iter()
            .map(Vec::len)
            .fold(TX_BUFFER_BYTES, usize::max);
        let total: f64 = config.origins.iter().map(|(_, w)| w).sum();
        let mut running = 0.0;
        let origin_cdf = config
            .origins
            .iter()
            .map(|(_, w)| {
                running += w / total;
                running
            })
            .collect();
        let mut client = HttpClient {
            tx_buffer_bytes,
            origin_cdf,
            resolver,
            ports: PortAllocator::new(),
            rng,
            request_bytes,
            in_flight: Vec::new(),
            flight_keys: Vec::new(),
            oldest_start: Earliest::default(),
            first_timer: Earliest::default(),
            closing: Vec::new(),
            closing_seen: 0,
            idle_sockets: Vec::new(),
            next_arrival: None,
            users_ready_at: Vec::new(),
            issued: 0,
            dns: None,
            waiting_dns: Vec::new(),
            kept: Vec::new(),
            config,
        };
        match client.config.workload.clone() {
            Workload::OpenLoop { mean_gap } => {
                client.next_arrival = Some(client.config.start + client.rng.exponential(mean_gap));
            }
            Workload::ClosedLoop { users, .. } => {
                client.users_ready_at = vec![Some(client.config.start); users as usize];
            }
        }
        client
    }

    /// Resolves names with DNS through `stub` when the static table does not know them.
    pub fn with_dns(mut self, stub: DnsStub) -> HttpClient {
        self.dns = Some(stub);
        self
    }

    /// Whether a request may still start at `at`.
    fn may_start(&self, at: SimTime) -> bool {
        self.config.max_requests.is_none_or(|max| self.issued < max)
            && self.config.stop.is_none_or(|stop| at < stop)
    }

    /// When the next open-loop arrival and the first ready closed-loop user may start a
    /// request (each `None` when there is none, or it would start after the workload's end).
    fn next_starts(&self) -> (Option<SimTime>, Option<SimTime>) {
        let arrival = self.next_arrival.filter(|&at| self.may_start(at));
        let users = self
            .users_ready_at
            .iter()
            .flatten()
            .copied()
            .filter(|&at| self.may_start(at))
            .min();
        (arrival, users)
    }

    /// The earliest start any request of this host may still have: the oldest one in progress
    /// or waiting for a name, else the next arrival (`None`: no more requests). Arrivals come
    /// in time order, and a closed-loop user starts again no earlier than now, so no later
    /// request starts before it (see `trace::requests`).
    pub fn floor(&self) -> Option<SimTime> {
        let (arrival, users) = self.next_starts();
        let oldest = self.oldest_start.get(|| {
            let in_flight = self.in_flight.iter().map(|r| r.start).min();
            let waiting = self.waiting_dns.iter().map(|w| w.start).min();
            earliest(in_flight, waiting)
        });
        earliest(earliest(arrival, users), oldest)
    }

    /// A request goes in flight.
    fn push_in_flight(&mut self, request: InFlight) {
        self.oldest_start.add(request.start);
        self.first_timer.add(request.timer());
        self.flight_keys.push(request.key());
        self.in_flight.push(request);
    }

    /// A request waits for its name.
    fn push_waiting(&mut self, waiting: WaitingName) {
        self.oldest_start.add(waiting.start);
        self.first_timer.add(waiting.deadline);
        self.waiting_dns.push(waiting);
    }

    /// A request in flight or waiting for its name with this start and timer leaves its list.
    fn forget(&mut self, start: SimTime, timer: SimTime) {
        self.oldest_start.remove(start);
        self.first_timer.remove(timer);
    }

    /// Starts the requests that are due (steps 1–2).
    fn start_due_requests(&mut self, cx: &mut AppCtx<'_>) -> bool {
        let mut acted = false;
        while let Some(at) = self.next_arrival {
            if at > cx.now {
                break;
            }
            if !self.may_start(at) {
                self.next_arrival = None;
                break;
            }
            acted |= self.start_request(cx, at, None);
            let Workload::OpenLoop { mean_gap } = self.config.workload else {
                unreachable!("only open loop has arrivals");
            };
            self.next_arrival = Some(at + self.rng.exponential(mean_gap));
        }
        for user in 0..self.users_ready_at.len() {
            let Some(at) = self.users_ready_at[user] else {
                continue;
            };
            if at > cx.now {
                continue;
            }
            if !self.may_start(at) {
                continue;
            }
            self.users_ready_at[user] = None;
            acted |= self.start_request(cx, at, Some(user));
        }
        acted
    }

    /// Step 1 for one request that arrived at `at`: find the server's addresses.
    fn start_request(&mut self, cx: &mut AppCtx<'_>, at: SimTime, user: Option<usize>) -> bool {
        let seq = self.issued;
        self.issued += 1;
        let variant = if self.origin_cdf.is_empty() {
            match self.request_bytes.len() {
                1 => 0,
                n => self.rng.below(n as u64) as usize,
            }
        } else {
            self.pick_origin_variant()
        };
        let waiting = WaitingName {
            seq,
            start: at,
            user,
            deadline: at + self.config.timeout,
            variant,
            asked_dns: false,
        };
        self.resolve_and_connect(cx, waiting)
    }

    /// A request to the origins: an origin by popularity, then one of its paths.
    fn pick_origin_variant(&mut self) -> usize {
        let u = self.rng.uniform();
        let origin = self
            .origin_cdf
            .iter()
            .position(|&c| u < c)
            .unwrap_or(self.origin_cdf.len() - 1);
        let per_origin = self.request_bytes.len() / self.origin_cdf.len();
        let path = match per_origin {
            1 => 0,
            n => self.rng.below(n as u64) as usize,
        };
        origin * per_origin + path
    }

    /// Looks the host up (the static table first, then DNS) and connects, or parks the request
    /// until the DNS answer comes, or records its failure. Returns whether a socket was opened.
    fn resolve_and_connect(&mut self, cx: &mut AppCtx<'_>, waiting: WaitingName) -> bool {
        if self.reuse_kept(cx, &waiting) {
            return true;
        }
        if !self.config.origins.is_empty() {
            // The origin is an address: nothing to resolve.
            let per_origin = self.request_bytes.len() / self.config.origins.len();
            let ip = self.config.origins[waiting.variant / per_origin].0;
            return self.connect(cx, &waiting, vec![ip]);
        }
        if let Some(ip) = self.resolver.resolve(&self.config.host) {
            self.record_resolved(cx, &waiting, NameSource::Static, &[ip]);
            return self.connect(cx, &waiting, vec![ip]);
        }
        let Some(dns) = &mut self.dns else {
            self.record(
                cx,
                waiting.seq,
                waiting.start,
                Outcome::Unreachable,
                None,
                waiting.user,
            );
            return false;
        };
        match dns.lookup(cx, &self.config.host) {
            Lookup::Ready(addresses) => {
                let source = if waiting.asked_dns {
                    NameSource::Dns
                } else {
                    NameSource::ClientCache {
                        expires: dns.cached_until(&self.config.host).flatten(),
                    }
                };
                self.record_resolved(cx, &waiting, source, &addresses);
                self.connect(cx, &waiting, addresses)
            }
            Lookup::Pending => {
                if !waiting.asked_dns {
                    let kind = DecisionKind::AskDns {
                        seq: waiting.seq,
                        server: dns.server(),
                    };
                    cx.trace.decisions.record(cx.now, cx.node_index, kind);
                }
                self.push_waiting(WaitingName {
                    asked_dns: true,
                    ..waiting
                });
                false
            }
            Lookup::Failed => {
                self.record(
                    cx,
                    waiting.seq,
                    waiting.start,
                    Outcome::DnsError,
                    None,
                    waiting.user,
                );
                false
            }
        }
    }

    /// Step 2: takes an ephemeral port and opens a connection to the first of `addresses`;
    /// the others are kept for `try_next`.
    fn connect(
        &mut self,
        cx: &mut AppCtx<'_>,
        waiting: &WaitingName,
        mut addresses: Vec<Ipv4Addr>,
    ) -> bool {
        let remote_ip = addresses.remove(0);
        let alternates = if self.config.try_next {
            addresses
        } else {
            Vec::new()
        };
        let Some((handle, local_port)) = self.open_socket(cx, remote_ip) else {
            // Every ephemeral port is busy or resting, or the stack refused: the OS would
            // fail connect() at once.
            self.record(
                cx,
                waiting.seq,
                waiting.start,
                Outcome::Unreachable,
                None,
                waiting.user,
            );
            return false;
        };
        self.record_connect(cx, waiting.seq, local_port, remote_ip, ConnectHow::New);
        self.push_in_flight(InFlight {
            seq: waiting.seq,
            handle,
            local_port,
            remote_ip,
            start: waiting.start,
            deadline: waiting.deadline,
            connect_deadline: self.config.connect_timeout.map(|t| cx.now + t),
            alternates,
            variant: waiting.variant,
            established: false,
            request_written: 0,
            response: ResponseReader::default(),
            user: waiting.user,
            reused: false,
        });
        true
    }

    /// Keep-alive: sends the request on an idle kept connection, if one is still open.
    fn reuse_kept(&mut self, cx: &mut AppCtx<'_>, waiting: &WaitingName) -> bool {
        while let Some(kept) = self.kept.pop() {
            let socket = cx.sockets.get_mut::<tcp::Socket>(kept.handle);
            if !keep_alive::is_reusable(socket) {
                // The server closed it while it was idle.
                self.retire(cx, kept.handle, kept.local_port);
                continue;
            }
            self.record_connect(
                cx,
                waiting.seq,
                kept.local_port,
                kept.remote_ip,
                ConnectHow::Kept,
            );
            self.push_in_flight(InFlight {
                seq: waiting.seq,
                handle: kept.handle,
                local_port: kept.local_port,
                remote_ip: kept.remote_ip,
                start: waiting.start,
                deadline: waiting.deadline,
                connect_deadline: None,
                alternates: Vec::new(),
                variant: waiting.variant,
                established: true,
                request_written: 0,
                response: ResponseReader::default(),
                user: waiting.user,
                reused: true,
            });
            return true;
        }
        false
    }

    /// Records where the addresses for a request came from (when recording decisions).
    fn record_resolved(
        &self,
        cx: &mut AppCtx<'_>,
        waiting: &WaitingName,
        source: NameSource,
        addresses: &[Ipv4Addr],
    ) {
        if cx.trace.decisions.is_on() {
            let kind = DecisionKind::Resolved {
                seq: waiting.seq,
                source,
                addresses: addresses.to_vec(),
            };
            cx.trace.decisions.record(cx.now, cx.node_index, kind);
        }
    }

    /// Records which connection a request goes on (when recording decisions).
    fn record_connect(
        &self,
        cx: &mut AppCtx<'_>,
        seq: u64,
        local_port: u16,
        remote_ip: Ipv4Addr,
        how: ConnectHow,
    ) {
        let kind = DecisionKind::Connect {
            seq,
            local_ip: cx.ip,
            local_port,
            remote_ip,
            remote_port: self.config.port,
            how,
        };
        cx.trace.decisions.record(cx.now, cx.node_index, kind);
    }

    /// Closes our side of a connection we are done with; it is recycled once fully closed.
    fn retire(&mut self, cx: &mut AppCtx<'_>, handle: SocketHandle, local_port: u16) {
        let socket = cx.sockets.get_mut::<tcp::Socket>(handle);
        socket.close();
        socket.set_timeout(Some(CLOSE_ABORT));
        self.closing.push((handle, local_port));
    }

    /// A socket connecting to `remote_ip` from a fresh ephemeral port.
    fn open_socket(
        &mut self,
        cx: &mut AppCtx<'_>,
        remote_ip: Ipv4Addr,
    ) -> Option<(SocketHandle, u16)> {
        let local_port = self.ports.allocate(cx.now)?;
        let handle = match self.idle_sockets.pop() {
            Some(handle) => {
                cx.sockets.unpark(handle);
                handle
            }
            None => cx.sockets.add(tcp::Socket::new(
                tcp::SocketBuffer::new(vec![0; RX_BUFFER_BYTES]),
                tcp::SocketBuffer::new(vec![0; self.tx_buffer_bytes]),
            )),
        };
        let socket = cx.sockets.get_mut::<tcp::Socket>(handle);
        socket.set_timeout(None);
        if socket
            .connect(
                cx.iface.context(),
                (remote_ip, self.config.port),
                local_port,
            )
            .is_err()
        {
            self.idle_sockets.push(handle);
            self.ports.release(local_port, cx.now);
            return None;
        }
        Some((handle, local_port))
    }

    /// Requests waiting for DNS: connect those whose answer came, fail the others' when due.
    fn resume_waiting(&mut self, cx: &mut AppCtx<'_>) -> bool {
        let mut acted = false;
        if let Some(dns) = &mut self.dns {
            acted |= dns.poll(cx);
        }
        if self.waiting_dns.is_empty() {
            return acted;
        }
        for waiting in std::mem::take(&mut self.waiting_dns) {
            self.forget(waiting.start, waiting.deadline);
            if cx.now >= waiting.deadline {
                self.record(
                    cx,
                    waiting.seq,
                    waiting.start,
                    Outcome::Timeout,
                    None,
                    waiting.user,
                );
                continue;
            }
            acted |= self.resolve_and_connect(cx, waiting);
        }
        acted
    }

    /// Steps 3–4 for every request in flight.
    fn progress_requests(&mut self, cx: &mut AppCtx<'_>) -> bool {
        let mut acted = false;
        let icmp_errors = std::mem::take(&mut cx.device.policy.icmp_errors);
        let mut index = 0;
        while index < self.in_flight.len() {
            // An asleep connection is as this loop last left it (`node::sockets`), unless it
            // is a kept one just given a new request: only an ICMP error or a deadline may
            // end it.
            let key = self.flight_keys[index];
            debug_assert_eq!(key, self.in_flight[index].key(), "request {index}'s key");
            let timed = cx.now >= key.timer;
            if !key.reused && !timed && icmp_errors.is_empty() && cx.sockets.is_asleep(key.handle) {
                index += 1;
                continue;
            }
            let request = &mut self.in_flight[index];
            let socket = cx.sockets.get_mut::<tcp::Socket>(request.handle);
            let bytes = &self.request_bytes[request.variant];
            let mut ended = request.exchange(socket, bytes, &mut acted);
            if ended.is_none() {
                ended = request.failure(socket, &icmp_errors, cx.now);
            }
            let Some(outcome) = ended else {
                self.flight_keys[index] = self.in_flight[index].key();
                index += 1;
                continue;
            };
            acted = true;
            if self.try_next_address(index, outcome, cx) {
                index += 1;
                continue;
            }
            // The last request takes this one's place: the loop looks at `index` again.
            self.end_request(index, outcome, cx);
        }
        acted
    }

    /// A connection that failed before it was established: with `try_next`, the next address
    /// of the answer gets its chance, if the request's time allows. True if the request now
    /// waits on a connection to that address.
    fn try_next_address(&mut self, index: usize, outcome: Outcome, cx: &mut AppCtx<'_>) -> bool {
        let request = &mut self.in_flight[index];
        if request.established
            || request.alternates.is_empty()
            || cx.now >= request.deadline
            || !matches!(
                outcome,
                Outcome::Refused | Outcome::Unreachable | Outcome::Timeout
            )
        {
            return false;
        }
        cx.sockets.get_mut::<tcp::Socket>(request.handle).abort();
        let next = request.alternates.remove(0);
        let Some((handle, port)) = self.open_socket(cx, next) else {
            return false;
        };
        let seq = self.in_flight[index].seq;
        self.record_connect(cx, seq, port, next, ConnectHow::NextAddress);
        let request = &mut self.in_flight[index];
        self.closing.push((request.handle, request.local_port));
        request.handle = handle;
        request.local_port = port;
        request.remote_ip = next;
        let before = request.timer();
        request.connect_deadline = self.config.connect_timeout.map(|t| cx.now + t);
        let after = request.timer();
        self.first_timer.remove(before);
        self.first_timer.add(after);
        self.flight_keys[index] = request.key();
        true
    }

    /// Step 4: request `index` ended with `outcome`, and leaves the flight (the last request
    /// takes its place). One that lost the keep-alive race goes again on a new connection;
    /// any other keeps its connection for the next request or closes it, and is recorded.
    fn end_request(&mut self, index: usize, outcome: Outcome, cx: &mut AppCtx<'_>) {
        self.flight_keys.swap_remove(index);
        let request = self.in_flight.swap_remove(index);
        self.forget(request.start, request.timer());
        // Keep-alive race: the server closed the idle connection before our request reached
        // it. Nothing was answered, so the request goes again on a new connection.
        if request.reused
            && outcome == Outcome::Reset
            && request.response.head().is_none()
            && cx.now < request.deadline
        {
            self.retire(cx, request.handle, request.local_port);
            let waiting = WaitingName {
                seq: request.seq,
                start: request.start,
                user: request.user,
                deadline: request.deadline,
                variant: request.variant,
                asked_dns: false,
            };
            self.resolve_and_connect(cx, waiting);
            return;
        }
        // Keep the connection for the next request if both sides agreed, or close our side
        // (a no-op if already closed); then record.
        let socket = cx.sockets.get_mut::<tcp::Socket>(request.handle);
        let keep = self.config.keep_alive
            && request.response.head().is_some_and(|head| head.keep_alive)
            && keep_alive::is_reusable(socket);
        if keep {
            self.kept.push(KeptConnection {
                handle: request.handle,
                local_port: request.local_port,
                remote_ip: request.remote_ip,
            });
        } else {
            self.retire(cx, request.handle, request.local_port);
        }
        self.record_ended(cx, &request, outcome);
    }

    /// Records the outcome of a request that ended now, and frees its user (closed loop).
    fn record_ended(&mut self, cx: &mut AppCtx<'_>, request: &InFlight, outcome: Outcome) {
        let head = request.response.head();
        let server = head
            .and_then(|head| head.served_by.as_deref())
            .and_then(|name| self.config.server_names.iter().position(|s| s == name));
        cx.trace.request(RequestRecord {
            client_node: cx.node_index,
            client_seq: request.seq,
            start: request.start,
            end: cx.now,
            outcome,
            server,
            status: head.map(|head| head.status),
            remote_ip: Some(request.remote_ip),
            reused_connection: request.reused,
        });
        self.user_done(cx.now, request.user);
    }

    /// Returns closed sockets and their ports for reuse.
    fn recycle_closed(&mut self, cx: &mut AppCtx<'_>) {
        // Idle kept connections the server has closed are closed on our side too.
        let mut index = 0;
        while index < self.kept.len() {
            let kept = self.kept[index];
            if keep_alive::is_reusable(cx.sockets.get::<tcp::Socket>(kept.handle)) {
                index += 1;
            } else {
                self.kept.remove(index);
                self.retire(cx, kept.handle, kept.local_port);
            }
        }
        // A socket found open last time and asleep since is as it was then (`node::sockets`):
        // only the others are looked at, and the list changes only when one has closed.
        let mut index = 0;
        while index < self.closing.len() {
            let (handle, port) = self.closing[index];
            let asleep_since = index < self.closing_seen && cx.sockets.is_asleep(handle);
            if asleep_since || cx.sockets.get::<tcp::Socket>(handle).is_open() {
                index += 1;
                continue;
            }
            self.closing.remove(index);
            if index < self.closing_seen {
                self.closing_seen -= 1;
            }
            self.idle_sockets.push(handle);
            self.ports.release(port, cx.now);
            // A closed socket with no peer left (no RST or TIME-WAIT still to come) has
            // nothing to do until it is reused: out of the stack's walk meanwhile.
            let socket = cx.sockets.get::<tcp::Socket>(handle);
            if socket.state() == tcp::State::Closed && FourTuple::of(socket).is_none() {
                cx.sockets.park(handle);
            }
        }
        self.closing_seen = self.closing.len();
    }

    /// Records a request that ended before it had a socket.
    fn record(
        &mut self,
        cx: &mut AppCtx<'_>,
        seq: u64,
        start: SimTime,
        outcome: Outcome,
        status: Option<u16>,
        user: Option<usize>,
    ) {
        cx.trace.request(RequestRecord {
            client_node: cx.node_index,
            client_seq: seq,
            start,
            end: cx.now,
            outcome,
            server: None,
            status,
            remote_ip: None,
            reused_connection: false,
        });
        self.user_done(cx.now, user);
    }

    /// A closed-loop user's request ended: it thinks, then goes again.
    fn user_done(&mut self, now: SimTime, user: Option<usize>) {
        if let (Some(user), Workload::ClosedLoop { think_time, .. }) = (user, &self.config.workload)
        {
            let think = think_time.sample(&mut self.rng);
            self.users_ready_at[user] = Some(now + think);
        }
    }
}

/// The earlier of two times, either of which may be missing (`None` only if both are).
/// `floor` and `next_timer` run after every poll: two comparisons here cost less than
/// iterating over an array of options.
fn earliest(a: Option<SimTime>, b: Option<SimTime>) -> Option<SimTime> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// `ok` or `http_error` by status.
fn outcome_of(response: &ResponseReader) -> Outcome {
    match response.head() {
        Some(head) if head.status < 400 => Outcome::Ok,
        Some(_) => Outcome::HttpError,
        None => Outcome::Reset,
    }
}

impl App for HttpClient {
    fn poll(&mut self, cx: &mut AppCtx<'_>) -> bool {
        self.recycle_closed(cx);
        let resumed = self.resume_waiting(cx);
        let started = self.start_due_requests(cx) || resumed;
        let progressed = self.progress_requests(cx);
        // Lets the trace release the finished requests no request of ours can now precede.
        cx.trace.request_floor(cx.node_index, self.floor(), cx.now);
        started || progressed
    }

    fn next_timer(&self) -> Option<SimTime> {
        let (arrival, users) = self.next_starts();
        let deadlines = self.first_timer.get(|| {
            self.in_flight
                .iter()
                .map(InFlight::timer)
                .chain(self.waiting_dns.iter().map(|w| w.deadline))
                .min()
        });
        let dns = self.dns.as_ref().and_then(|d| d.next_timer());
        earliest(earliest(arrival, users), earliest(deadlines, dns))
    }

    fn has_pending_workload(&self) -> bool {
        !self.in_flight.is_empty() || !self.waiting_dns.is_empty() || self.next_timer().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_earliest_of_two_times_ignores_a_missing_one() {
        let (one, two) = (SimTime::ZERO, SimTime::ZERO + SimDuration::from_millis(2));
        assert_eq!(earliest(Some(two), Some(one)), Some(one));
        assert_eq!(earliest(None, Some(two)), Some(two));
        assert_eq!(earliest(Some(one), None), Some(one));
        assert_eq!(earliest(None, None), None);
    }

    #[test]
    fn the_earliest_time_is_kept_and_walked_for_only_when_it_left() {
        let at = |ms| SimTime::ZERO + SimDuration::from_millis(ms);
        let mut times = vec![at(5), at(3)];
        let mut kept = Earliest::default();
        let walk = |times: &Vec<SimTime>| times.iter().copied().min();
        assert_eq!(kept.get(|| walk(&times)), Some(at(3)));
        times.push(at(1));
        kept.add(at(1));
        times.retain(|&t| t != at(5));
        kept.remove(at(5));
        assert_eq!(kept.get(|| unreachable!("still known")), Some(at(1)));
        times.retain(|&t| t != at(1));
        kept.remove(at(1));
        assert_eq!(kept.get(|| walk(&times)), Some(at(3)));
    }
}
