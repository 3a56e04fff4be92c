//! *An L7 balancer*: a reverse proxy that ends the client's TCP connection and opens its own.
//!
//! An L4 director forwards packets: the client's TCP peer is the real server. A layer-7 proxy
//! (HAProxy, nginx) is itself the client's peer. For each connection it:
//!
//! 1. completes the TCP handshake with the client and reads the whole HTTP request;
//! 2. chooses a backend *pool* by its rules, first match wins: a path prefix (`/static/`) or
//!    a `Host` header; otherwise the default pool;
//! 3. chooses a server in the pool with the pool's algorithm (HAProxy's names): `roundrobin`,
//!    `static-rr` (weighted), `leastconn`, `source` (hash of the client address) or `uri`
//!    (hash of the path), among the servers its health checks consider up (the keepalived
//!    checkers of `health_check`, run from the proxy's own stack); `backup` servers serve only
//!    when no other server is up; a pool with no server up answers `503`;
//! 4. opens a second TCP connection, from its own address, to that server, and sends the
//!    request with `X-Forwarded-For: <client address>` added, since the server now sees the
//!    proxy as its client;
//! 5. relays the response back and closes both connections (`Connection: close`), or
//!    keeps the client's for its next request (see below).
//!
//! `Connection` is a *hop-by-hop* header: it speaks for one connection only, so the proxy
//! rewrites it on both sides. Towards the servers it says `close` (HAProxy's
//! `option http-server-close`): one server connection per request; or, with
//! `reuse_server_connections` (HAProxy's `http-keep-alive`), `keep-alive`: a finished server
//! connection waits in an idle pool per server, the end of each response found by its
//! `Content-Length`, and the next request routed to that server reuses it. Towards the clients, with
//! `keep_alive` configured (HAProxy's `timeout http-keep-alive`) and a client that asks for
//! it, the response says `keep-alive` and step 5 leaves the client connection open for the
//! next request, closing it after that long without one. Each request on it is routed anew,
//! so one client connection can reach several servers, which an L4 director cannot do.
//!
//! The proxy has a CPU: parsing and routing a request costs `cost_per_request`, and relaying
//! costs `cost_per_kib` per KiB. Work queues on one processor (`busy_until`), so under heavy
//! load requests wait: the proxy saturates long before an L4 director would.
//!
//! # Simplifications
//! - One processor, costs charged when the work is admitted (relayed bytes delay later
//!   requests, not the bytes themselves).
//! - Idle server connections are kept until the server closes them (no `pool-purge-delay`);
//!   a server that crashes leaves its idle connections looking open until they time out.
//! - Health checks use keepalived's checkers and timing (HAProxy's `inter`, `rise` and `fall`
//!   differ: a server comes back after one good check here).
//!
//! # Further reading
//! - HAProxy configuration manual, `balance`, `use_backend`, `option forwardfor`;
//!   `book/src/labs/l7-balancing.md`.

use std::net::Ipv4Addr;

use smoltcp::iface::SocketHandle;
use smoltcp::socket::tcp;
use smoltcp::time::Duration;
use smoltcp::wire::IpAddress;

use super::health_check::HealthBoard;
use super::http::{self, RequestProgress, RequestReader};
use super::keep_alive;
use super::outbound::Outbound;
use crate::node::{App, AppCtx};
use crate::sim::{SimDuration, SimTime};
use crate::trace::decision::{L7Route, ProxyCandidate};
use crate::trace::{DecisionKind, ProxyRecord, ProxyRoute};

/// Buffer size of each proxy socket.
const BUFFER_BYTES: usize = 16 * 1024;
/// A connection that makes no progress for this long is aborted.
const IDLE_ABORT: Duration = Duration::from_secs(30);
/// Give up on a backend that does not accept within this long (answer 504).
const CONNECT_TIMEOUT: SimDuration = SimDuration::from_secs(3);

/// How a pool chooses its server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// In turn.
    RoundRobin,
    /// In turn, in proportion to the weights (smooth weighted round robin).
    WeightedRoundRobin,
    /// The server with the fewest open connections from the proxy (first wins ties).
    LeastConn,
    /// Hash of the client address: a client always lands on the same server.
    Source,
    /// Hash of the path: a URL always lands on the same server (cache friendly).
    Uri,
}

/// One backend server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backend {
    /// Its address.
    pub addr: Ipv4Addr,
    /// Its port.
    pub port: u16,
    /// Its weight (for `WeightedRoundRobin`).
    pub weight: u32,
    /// A backup server (HAProxy's `backup`): used only when no other server is up.
    pub backup: bool,
}

/// A pool of backends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pool {
    /// Its name.
    pub name: String,
    /// Its servers.
    pub servers: Vec<Backend>,
    /// How it chooses.
    pub algorithm: Algorithm,
}

/// What a rule matches on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuleMatch {
    /// The path starts with this.
    PathPrefix(String),
    /// The `Host` header equals this (case-insensitive).
    Host(String),
}

/// The proxy's configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct ProxyConfig {
    /// Port it listens on.
    pub port: u16,
    /// The pools.
    pub pools: Vec<Pool>,
    /// Rules in order: (what to match, pool index).
    pub rules: Vec<(RuleMatch, usize)>,
    /// The pool for requests no rule matches.
    pub default_pool: usize,
    /// Connections from clients served at once.
    pub max_connections: u32,
    /// CPU time to parse and route one request.
    pub cost_per_request: SimDuration,
    /// CPU time to relay one KiB.
    pub cost_per_kib: SimDuration,
    /// Keep client connections open between requests for up to this long (`None`: close).
    pub keep_alive: Option<SimDuration>,
    /// Keep server connections open and reuse them for later requests to the same server
    /// (HAProxy's `http-keep-alive` mode with `http-reuse`), instead of one per request.
    pub reuse_server_connections: bool,
}

/// Where a client connection is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Listening or reading the request.
    Reading,
    /// Request read; waiting for the proxy's CPU until `at`.
    Routing { at: SimTime },
    /// Connected (or connecting) to a backend; relaying its response.
    Relaying,
    /// Writing a locally generated response (503/504), then closing.
    Answering,
    /// Closing.
    Closing,
}

/// One client connection and its backend connection.
struct Session {
    /// Socket towards the client.
    client: SocketHandle,
    /// Where it is.
    phase: Phase,
    /// The request.
    request: RequestReader,
    /// The client's address.
    client_ip: Option<Ipv4Addr>,
    /// The client's port (for the decision records).
    client_port: u16,
    /// Socket towards the backend, and its local port.
    backend: Option<(SocketHandle, u16)>,
    /// Pool and server index chosen.
    route: Option<(usize, usize)>,
    /// Bytes received from the backend, not yet written to the client.
    pending: Vec<u8>,
    /// Whether the backend connection was established.
    established: bool,
    /// Give up on the backend at this time if not connected.
    connect_deadline: SimTime,
    /// Bytes relayed to the client.
    relayed: u64,
    /// Whether the client connection stays open after this response (keep-alive).
    keep_client: bool,
    /// Whether the response head has been seen (and, when keeping, rewritten).
    head_done: bool,
    /// A kept client connection waiting for its next request is closed at this time.
    idle_until: Option<SimTime>,
    /// Bytes of this response received from the server so far.
    backend_bytes: u64,
    /// The response's length in bytes (head and body), once its head has arrived.
    response_len: Option<u64>,
    /// Whether the server agreed to keep its connection open after this response.
    server_keeps: bool,
    /// Whether the server connection was reused from an earlier request.
    reused_backend: bool,
    /// Whether this request is being routed again after its reused connection failed.
    retrying: bool,
}

impl Session {
    /// Back to step 1: wait for a request, on a new connection (`idle_until` is `None`) or on
    /// a kept one that is closed if no request comes by `idle_until`.
    fn await_request(&mut self, idle_until: Option<SimTime>) {
        self.phase = Phase::Reading;
        self.request.reset();
        self.route = None;
        self.relayed = 0;
        self.keep_client = false;
        self.head_done = false;
        self.idle_until = idle_until;
    }
}

/// The L7 proxy application.
pub struct L7Proxy {
    /// Configuration.
    config: ProxyConfig,
    /// Client sessions, one per listening slot.
    sessions: Vec<Session>,
    /// Its own connections to the servers: ports, closing and reusable sockets.
    outbound: Outbound,
    /// Open server connections waiting for a request, per pool and server: (socket, port).
    idle_backends: Vec<Vec<Vec<(SocketHandle, u16)>>>,
    /// When the proxy's CPU is free.
    busy_until: SimTime,
    /// Total CPU time used.
    busy_total: SimDuration,
    /// Round-robin cursors and smooth-wrr current weights, per pool.
    cursors: Vec<usize>,
    /// Smooth weighted round robin state, per pool and server.
    current_weights: Vec<Vec<i64>>,
    /// Open backend connections per pool and server (for `LeastConn`).
    open: Vec<Vec<u32>>,
    /// Index of the host in the world, for the trace.
    node: usize,
    /// The proxy's name, for events.
    name: String,
    /// Client connections accepted.
    client_connections: u64,
    /// Backend connections opened.
    server_connections: u64,
    /// Failing health checkers per pool and server (0 = up).
    failing: Vec<Vec<usize>>,
    /// Health verdicts, and the (pool, server) of each checker.
    health: Option<(HealthBoard, Vec<(usize, usize)>)>,
}

impl L7Proxy {
    /// A proxy with its pools.
    pub fn new(config: ProxyConfig, node: usize, name: String) -> L7Proxy {
        let cursors = vec![0; config.pools.len()];
        let current_weights = config
            .pools
            .iter()
            .map(|p| vec![0; p.servers.len()])
            .collect();
        let open = config
            .pools
            .iter()
            .map(|p| vec![0; p.servers.len()])
            .collect();
        let failing = config
            .pools
            .iter()
            .map(|p| vec![0; p.servers.len()])
            .collect();
        let idle_backends = config
            .pools
            .iter()
            .map(|p| vec![Vec::new(); p.servers.len()])
            .collect();
        L7Proxy {
            config,
            sessions: Vec::new(),
            outbound: Outbound::new(BUFFER_BYTES),
            idle_backends,
            busy_until: SimTime::ZERO,
            busy_total: SimDuration::ZERO,
            cursors,
            current_weights,
            open,
            node,
            name,
            client_connections: 0,
            server_connections: 0,
            failing,
            health: None,
        }
    }

    /// Takes health verdicts from `board`; `owners` gives each checker's (pool, server), and
    /// `alpha` the checkers that start failed.
    pub fn with_health(
        mut self,
        board: HealthBoard,
        owners: Vec<(usize, usize)>,
        alpha: &[bool],
    ) -> Self {
        for (&(pool, server), &starts_failed) in owners.iter().zip(alpha) {
            if starts_failed {
                self.failing[pool][server] += 1;
            }
        }
        self.health = Some((board, owners));
        self
    }

    /// Applies the checkers' verdicts, recording servers going down and up.
    fn read_health(&mut self, cx: &mut AppCtx<'_>) {
        let Some((board, owners)) = &self.health else {
            return;
        };
        let verdicts: Vec<_> = board.borrow_mut().drain(..).collect();
        for verdict in verdicts {
            let (pool, server) = owners[verdict.checker];
            let was_up = self.failing[pool][server] == 0;
            if verdict.up {
                self.failing[pool][server] = self.failing[pool][server].saturating_sub(1);
            } else {
                self.failing[pool][server] += 1;
            }
            let up = self.failing[pool][server] == 0;
            if up != was_up {
                let b = &self.config.pools[pool].servers[server];
                cx.trace.event(
                    cx.now,
                    &format!(
                        "{}/{}/{}:{}",
                        self.name, self.config.pools[pool].name, b.addr, b.port
                    ),
                    if up { "server_up" } else { "server_down" },
                    verdict.cause,
                );
            }
        }
    }

    /// The servers of `pool` that may take a request: those up, or, if none is, the backups
    /// that are up.
    fn eligible(&self, pool: usize) -> Vec<usize> {
        let servers = &self.config.pools[pool].servers;
        let up = |i: &usize| self.failing[pool][*i] == 0;
        let primaries: Vec<usize> = (0..servers.len())
            .filter(|i| !servers[*i].backup)
            .filter(up)
            .collect();
        if !primaries.is_empty() {
            return primaries;
        }
        (0..servers.len())
            .filter(|i| servers[*i].backup)
            .filter(up)
            .collect()
    }

    /// Step 2: the pool for a request, and the index of the rule that chose it (`None`: no
    /// rule matched, the default pool).
    fn pool_for(&self, path: &str, host: Option<&str>) -> (usize, Option<usize>) {
        self.config
            .rules
            .iter()
            .position(|(rule, _)| match rule {
                RuleMatch::PathPrefix(prefix) => path.starts_with(prefix.as_str()),
                RuleMatch::Host(name) => host
                    .is_some_and(|h| h.split(':').next().unwrap_or(h).eq_ignore_ascii_case(name)),
            })
            .map_or((self.config.default_pool, None), |rule| {
                (self.config.rules[rule].1, Some(rule))
            })
    }

    /// Step 3: the server in `pool` for this request, among the eligible ones.
    fn pick(&mut self, pool: usize, client: Ipv4Addr, path: &str) -> Option<usize> {
        let eligible = self.eligible(pool);
        if eligible.is_empty() {
            return None;
        }
        let servers = &self.config.pools[pool].servers;
        let n = servers.len();
        Some(match self.config.pools[pool].algorithm {
            Algorithm::RoundRobin => {
                // The next eligible server after the cursor.
                let start = self.cursors[pool];
                let pick = (0..n)
                    .map(|k| (start + k) % n)
                    .find(|i| eligible.contains(i))
                    .expect("eligible is not empty");
                self.cursors[pool] = (pick + 1) % n;
                pick
            }
            Algorithm::WeightedRoundRobin => {
                // Smooth weighted round robin (nginx's): every eligible server gains its
                // weight, the largest goes, and pays the total back.
                let weights = &mut self.current_weights[pool];
                let total: i64 = eligible.iter().map(|&i| servers[i].weight as i64).sum();
                for &i in &eligible {
                    weights[i] += servers[i].weight as i64;
                }
                let best = eligible.iter().copied().fold(eligible[0], |b, i| {
                    if weights[i] > weights[b] { i } else { b }
                });
                weights[best] -= total;
                best
            }
            Algorithm::LeastConn => {
                // HAProxy goes round robin among the servers with the fewest connections.
                let open = &self.open[pool];
                let start = self.cursors[pool];
                let order: Vec<usize> = (0..n)
                    .map(|k| (start + k) % n)
                    .filter(|i| eligible.contains(i))
                    .collect();
                let pick = order
                    .iter()
                    .copied()
                    .fold(order[0], |b, i| if open[i] < open[b] { i } else { b });
                self.cursors[pool] = (pick + 1) % n;
                pick
            }
            Algorithm::Source => eligible[(fnv(&client.octets()) % eligible.len() as u64) as usize],
            Algorithm::Uri => eligible[(fnv(path.as_bytes()) % eligible.len() as u64) as usize],
        })
    }

    /// Every server of `pool` with what the algorithms read: address, port, weight, open
    /// connections, and whether it may take the request now.
    fn candidates(&self, pool: usize) -> Vec<ProxyCandidate> {
        let eligible = self.eligible(pool);
        self.config.pools[pool]
            .servers
            .iter()
            .enumerate()
            .map(|(i, server)| ProxyCandidate {
                addr: (server.addr, server.port),
                weight: server.weight,
                open: self.open[pool][i],
                backup: server.backup,
                eligible: eligible.contains(&i),
            })
            .collect()
    }

    /// The decision record of routing session `index` (`chosen` is filled in by the caller).
    fn route_record(
        &self,
        index: usize,
        path: &str,
        rule: Option<usize>,
        pool: usize,
        candidates: Vec<ProxyCandidate>,
        backend: Option<((Ipv4Addr, u16), bool)>,
    ) -> L7Route {
        let session = &self.sessions[index];
        L7Route {
            client: (
                session.client_ip.unwrap_or(Ipv4Addr::UNSPECIFIED),
                session.client_port,
            ),
            path: path.to_string(),
            rule: rule.map(|r| self.config.rules[r].0.clone()),
            pool: self.config.pools[pool].name.clone(),
            algorithm: self.config.pools[pool].algorithm,
            candidates,
            chosen: None,
            backend: backend.map(|(local, _)| local),
            reused: backend.is_some_and(|(_, reused)| reused),
        }
    }

    /// Charges CPU time; returns when the work is done.
    fn charge(&mut self, now: SimTime, cost: SimDuration) -> SimTime {
        let start = self.busy_until.max(now);
        self.busy_until = start + cost;
        self.busy_total = self.busy_total + cost;
        self.busy_until
    }

    /// Opens the listening slots.
    fn open_slots(&mut self, cx: &mut AppCtx<'_>) {
        for _ in 0..self.config.max_connections.max(1) {
            let client = cx.sockets.add(tcp::Socket::new(
                tcp::SocketBuffer::new(vec![0; BUFFER_BYTES]),
                tcp::SocketBuffer::new(vec![0; BUFFER_BYTES]),
            ));
            self.sessions.push(Session {
                client,
                phase: Phase::Closing,
                request: RequestReader::default(),
                client_ip: None,
                client_port: 0,
                backend: None,
                route: None,
                pending: Vec::new(),
                established: false,
                connect_deadline: SimTime::ZERO,
                relayed: 0,
                keep_client: false,
                head_done: false,
                idle_until: None,
                backend_bytes: 0,
                response_len: None,
                server_keeps: false,
                reused_backend: false,
                retrying: false,
            });
        }
    }

    /// Releases a session's backend connection.
    fn drop_backend(&mut self, index: usize, cx: &mut AppCtx<'_>, abort: bool) {
        if let Some((handle, port)) = self.sessions[index].backend.take() {
            self.outbound.finish(cx, handle, port, abort);
            if let Some((pool, server)) = self.sessions[index].route {
                self.open[pool][server] = self.open[pool][server].saturating_sub(1);
            }
        }
    }

    /// Puts a session's server connection, its response complete, into the idle pool of its
    /// server for a later request.
    fn park_backend(&mut self, index: usize) {
        let session = &mut self.sessions[index];
        if let (Some(connection), Some((pool, server))) = (session.backend.take(), session.route) {
            self.idle_backends[pool][server].push(connection);
            self.open[pool][server] = self.open[pool][server].saturating_sub(1);
        }
    }

    /// Steps 3–4: picks a server and connects to it, or answers 503.
    fn route(&mut self, index: usize, cx: &mut AppCtx<'_>) {
        let (path, host) = self.request_target(index);
        let (pool, rule) = self.pool_for(&path, host.as_deref());
        let client_ip = self.sessions[index]
            .client_ip
            .unwrap_or(Ipv4Addr::UNSPECIFIED);
        // The inputs of the pick, before it moves a cursor (only when recording).
        let eligible = cx.trace.decisions.is_on().then(|| self.candidates(pool));
        let Some(server) = self.pick(pool, client_ip, &path) else {
            if let Some(candidates) = eligible {
                let route = self.route_record(index, &path, rule, pool, candidates, None);
                record_route(cx, route);
            }
            self.answer(index, cx, 503, pool, None);
            return;
        };
        let Some((connection, reused)) = self.connect_backend(pool, server, cx) else {
            self.answer(index, cx, 503, pool, None);
            return;
        };
        if let Some(candidates) = eligible {
            let backend_conn = Some(((cx.ip, connection.1), reused));
            let route = self.route_record(index, &path, rule, pool, candidates, backend_conn);
            let route = L7Route {
                chosen: Some(server),
                ..route
            };
            record_route(cx, route);
        }
        self.start_relay(index, (pool, server), connection, reused, cx);
    }

    /// What the rules match a request on: the path of its request line (`/` if it has
    /// none) and its `Host` header.
    fn request_target(&self, index: usize) -> (String, Option<String>) {
        let request = &self.sessions[index].request;
        let path = match request.head().split(|&b| b == b' ').nth(1) {
            Some(p) => String::from_utf8_lossy(p).into_owned(),
            None => "/".to_string(),
        };
        (path, request.header("host").map(str::to_string))
    }

    /// A connection to `server` of `pool`: an idle one left by an earlier request (`true`),
    /// or a new one. `None` if no new one can be opened.
    fn connect_backend(
        &mut self,
        pool: usize,
        server: usize,
        cx: &mut AppCtx<'_>,
    ) -> Option<((SocketHandle, u16), bool)> {
        if let Some(connection) = self.take_idle_backend(pool, server, cx) {
            return Some((connection, true));
        }
        let backend = &self.config.pools[pool].servers[server];
        let remote = (backend.addr, backend.port);
        let connection = self.outbound.open(cx, remote, Some(IDLE_ABORT)).ok()?;
        self.server_connections += 1;
        Some((connection, false))
    }

    /// Step 4 begins: session `index` relays through `connection` to `server` of `pool`, and
    /// the route is recorded (once: a retried request was counted when it was first routed).
    fn start_relay(
        &mut self,
        index: usize,
        (pool, server): (usize, usize),
        connection: (SocketHandle, u16),
        reused: bool,
        cx: &mut AppCtx<'_>,
    ) {
        self.open[pool][server] += 1;
        let session = &mut self.sessions[index];
        session.backend = Some(connection);
        session.route = Some((pool, server));
        // A reused connection is already established: the request goes at the next poll.
        session.established = false;
        session.reused_backend = reused;
        session.backend_bytes = 0;
        session.response_len = None;
        session.server_keeps = false;
        session.connect_deadline = cx.now + CONNECT_TIMEOUT;
        session.phase = Phase::Relaying;
        if std::mem::take(&mut session.retrying) {
            return;
        }
        let backend = &self.config.pools[pool].servers[server];
        cx.trace.proxy.push(ProxyRecord {
            node: self.node,
            at: cx.now,
            route: ProxyRoute {
                pool: self.config.pools[pool].name.clone(),
                server: Some(format!("{}:{}", backend.addr, backend.port)),
                status: None,
            },
        });
    }

    /// An open connection to `server` of `pool` left by an earlier request, if reuse is on
    /// and one is still usable; connections the server has closed meanwhile are closed too.
    fn take_idle_backend(
        &mut self,
        pool: usize,
        server: usize,
        cx: &mut AppCtx<'_>,
    ) -> Option<(SocketHandle, u16)> {
        while let Some((handle, port)) = self.idle_backends[pool][server].pop() {
            let socket = cx.sockets.get_mut::<tcp::Socket>(handle);
            if keep_alive::is_reusable(socket) {
                return Some((handle, port));
            }
            socket.close();
            self.outbound.done(handle, port);
        }
        None
    }

    /// Answers the client locally with `status` (no server available, or a backend failure).
    fn answer(
        &mut self,
        index: usize,
        cx: &mut AppCtx<'_>,
        status: u16,
        pool: usize,
        server: Option<String>,
    ) {
        let mut head = Vec::new();
        http::write_response_head(&mut head, status, "proxy", 0, false);
        let session = &mut self.sessions[index];
        session.pending = head;
        session.phase = Phase::Answering;
        cx.trace.proxy.push(ProxyRecord {
            node: self.node,
            at: cx.now,
            route: ProxyRoute {
                pool: self.config.pools[pool].name.clone(),
                server,
                status: Some(status),
            },
        });
    }
}

/// FNV-1a, for the `source` and `uri` hashes.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

impl App for L7Proxy {
    fn poll(&mut self, cx: &mut AppCtx<'_>) -> bool {
        if self.sessions.is_empty() {
            self.open_slots(cx);
        }
        self.read_health(cx);
        let now = cx.now;
        let mut acted = false;
        // Backend sockets that finished closing can serve again.
        self.outbound.recycle(cx);
        for index in 0..self.sessions.len() {
            let client = self.sessions[index].client;
            if !cx.sockets.get_mut::<tcp::Socket>(client).is_open() {
                if self.sessions[index].backend.is_some() {
                    // The client went away: drop the backend side too.
                    self.drop_backend(index, cx, true);
                    acted = true;
                } else {
                    self.rearm(index, cx);
                }
                continue;
            }
            match self.sessions[index].phase {
                Phase::Reading => acted |= self.read_request(index, cx),
                Phase::Routing { at } if at <= now => {
                    self.route(index, cx);
                    acted = true;
                }
                Phase::Routing { .. } => {}
                Phase::Relaying => acted |= self.relay(index, cx),
                Phase::Answering => acted |= self.send_answer(index, cx),
                Phase::Closing => {}
            }
        }
        acted
    }

    fn crash(&mut self) {
        // The sockets went with the host's socket set; the proxy starts afresh on boot.
        self.sessions.clear();
        self.outbound.reset();
        for servers in &mut self.idle_backends {
            for idle in servers {
                idle.clear();
            }
        }
        for counts in &mut self.open {
            counts.fill(0);
        }
        self.busy_until = SimTime::ZERO;
    }

    fn report(&self, trace: &mut crate::trace::Trace, node: usize) {
        trace.proxy_totals.push(crate::trace::ProxyTotals {
            node,
            client_connections: self.client_connections,
            server_connections: self.server_connections,
            busy: self.busy_total,
        });
    }

    fn next_timer(&self) -> Option<SimTime> {
        self.sessions
            .iter()
            .filter_map(|s| match s.phase {
                Phase::Routing { at } => Some(at),
                Phase::Reading => s.idle_until,
                Phase::Relaying if !s.established => Some(s.connect_deadline),
                _ => None,
            })
            .min()
    }
}

/// How the wait for the server's handshake stands (step 4).
enum Connecting {
    /// Connected just now: the request went out.
    Sent,
    /// The server refused, or did not answer in time: the client got a 502 or a 504.
    Failed,
    /// Still waiting for the handshake.
    Waiting,
}

/// What one pass of relaying did (step 5).
enum Relayed {
    /// Response bytes handed to the client (perhaps none).
    Moved(u64),
    /// The server closed a reused connection before answering: the request is to be routed
    /// again.
    Retry,
}

impl L7Proxy {
    /// A finished slot listens again for its next client.
    fn rearm(&mut self, index: usize, cx: &mut AppCtx<'_>) {
        let socket = cx
            .sockets
            .get_mut::<tcp::Socket>(self.sessions[index].client);
        socket
            .listen(self.config.port)
            .expect("a closed socket can always listen");
        socket.set_timeout(Some(IDLE_ABORT));
        // TCP_NODELAY towards clients, as nginx sets it on kept connections: Nagle would
        // hold each response's short last segment for a round trip, since the connection
        // does not close after it.
        socket.set_nagle_enabled(false);
        let session = &mut self.sessions[index];
        session.await_request(None);
        session.client_ip = None;
        session.pending.clear();
    }

    /// Step 1: reads the client's request; once it is whole, it waits for the proxy's CPU
    /// before steps 2–3 route it (`Phase::Routing`). A kept connection ends here when the
    /// client closes it or stays idle too long. Whether it did something.
    fn read_request(&mut self, index: usize, cx: &mut AppCtx<'_>) -> bool {
        let now = cx.now;
        let socket = cx
            .sockets
            .get_mut::<tcp::Socket>(self.sessions[index].client);
        let session = &mut self.sessions[index];
        if let Some(until) = session.idle_until
            && !socket.can_recv()
            && (!socket.may_recv() || now >= until)
        {
            socket.close();
            session.idle_until = None;
            session.phase = Phase::Closing;
            return true;
        }
        if socket.state() != tcp::State::Established {
            return false;
        }
        if session.client_ip.is_none() {
            self.client_connections += 1;
            session.client_ip = socket.remote_endpoint().map(|e| match e.addr {
                IpAddress::Ipv4(ip) => ip,
            });
            session.client_port = socket.remote_endpoint().map_or(0, |e| e.port);
        }
        match super::web_server::read_request(socket, &mut session.request) {
            RequestProgress::Get(_) => {
                session.keep_client =
                    self.config.keep_alive.is_some() && session.request.asks_keep_alive();
                session.idle_until = None;
                // 1 → 2: the request waits for the proxy's CPU.
                let at = self.charge(now, self.config.cost_per_request);
                self.sessions[index].phase = Phase::Routing { at };
                false
            }
            RequestProgress::Malformed => {
                socket.abort();
                true
            }
            RequestProgress::Incomplete => false,
        }
    }

    /// The proxy's own answer (an error status) goes to the client, then the connection
    /// closes. Whether it did something.
    fn send_answer(&mut self, index: usize, cx: &mut AppCtx<'_>) -> bool {
        let socket = cx
            .sockets
            .get_mut::<tcp::Socket>(self.sessions[index].client);
        let session = &mut self.sessions[index];
        let mut acted = false;
        if socket.can_send() && !session.pending.is_empty() {
            let sent = socket.send_slice(&session.pending).unwrap_or(0);
            session.pending.drain(..sent);
            acted = true;
        }
        if session.pending.is_empty() {
            socket.close();
            session.phase = Phase::Closing;
            acted = true;
        }
        acted
    }

    /// Steps 4–5 for one session: send the request once connected, relay the response.
    fn relay(&mut self, index: usize, cx: &mut AppCtx<'_>) -> bool {
        let Some((backend, _)) = self.sessions[index].backend else {
            return false;
        };
        let mut acted = false;
        if !self.sessions[index].established {
            match self.await_backend(index, backend, cx) {
                Connecting::Sent => acted = true,
                Connecting::Failed => return true,
                Connecting::Waiting => return false,
            }
        }
        match self.move_response(index, backend, cx) {
            Relayed::Retry => return true,
            Relayed::Moved(0) => {}
            Relayed::Moved(moved) => {
                // Relaying costs CPU: later requests wait for it.
                let cost =
                    SimDuration::from_nanos(self.config.cost_per_kib.as_nanos() * moved / 1024);
                self.charge(cx.now, cost);
                acted = true;
            }
        }
        acted |= self.end_response(index, backend, cx);
        acted
    }

    /// Step 4: once the server's connection is up, sends it the request; answers the client
    /// with an error if it is refused (502) or takes too long (504).
    fn await_backend(
        &mut self,
        index: usize,
        backend: SocketHandle,
        cx: &mut AppCtx<'_>,
    ) -> Connecting {
        let socket = cx.sockets.get_mut::<tcp::Socket>(backend);
        let session = &mut self.sessions[index];
        if socket.state() == tcp::State::Established {
            session.established = true;
            // The request as received, with X-Forwarded-For naming the real client, and
            // this server connection's own `Connection` header, whatever the client asked.
            let client_ip = session.client_ip.unwrap_or(Ipv4Addr::UNSPECIFIED);
            let mut request = Vec::with_capacity(session.request.head().len() + 64);
            http::rewrite_head(
                session.request.head(),
                self.config.reuse_server_connections,
                &format!("X-Forwarded-For: {client_ip}\r\n"),
                &mut request,
            );
            let _ = socket.send_slice(&request);
            Connecting::Sent
        } else if !socket.is_open() || cx.now >= session.connect_deadline {
            let status = if socket.is_open() { 504 } else { 502 };
            let (pool, server) = session.route.expect("a relaying session has a route");
            let name = {
                let b = &self.config.pools[pool].servers[server];
                format!("{}:{}", b.addr, b.port)
            };
            self.drop_backend(index, cx, true);
            self.answer(index, cx, status, pool, Some(name));
            Connecting::Failed
        } else {
            Connecting::Waiting
        }
    }

    /// Step 5: response bytes from the server go to the client as fast as it takes them,
    /// the head rewritten on the way (its `Connection` header is the client hop's own).
    fn move_response(
        &mut self,
        index: usize,
        backend: SocketHandle,
        cx: &mut AppCtx<'_>,
    ) -> Relayed {
        let client = self.sessions[index].client;
        let mut moved = 0u64;
        loop {
            let socket = cx.sockets.get_mut::<tcp::Socket>(backend);
            let session = &mut self.sessions[index];
            if session.pending.len() < BUFFER_BYTES && socket.can_recv() {
                let _ = socket.recv(|bytes| {
                    session.pending.extend_from_slice(bytes);
                    session.backend_bytes += bytes.len() as u64;
                    (bytes.len(), ())
                });
            }
            let backend_done = !socket.may_recv();
            let session = &mut self.sessions[index];
            if !session.head_done {
                if let Some(end) = http::header_end(&session.pending) {
                    self.pass_head(index, end);
                } else if backend_done && session.reused_backend && session.backend_bytes == 0 {
                    // The server closed the reused connection just as the request went out:
                    // nothing was answered, so route the request again on a new connection.
                    self.drop_backend(index, cx, false);
                    self.sessions[index].phase = Phase::Routing { at: cx.now };
                    self.sessions[index].retrying = true;
                    return Relayed::Retry;
                } else if backend_done {
                    // No whole head will come: pass on what there is, and close after it.
                    session.keep_client = false;
                    session.head_done = true;
                } else {
                    break;
                }
            }
            let session = &mut self.sessions[index];
            let client_socket = cx.sockets.get_mut::<tcp::Socket>(client);
            if session.pending.is_empty() || !client_socket.can_send() {
                break;
            }
            let sent = client_socket.send_slice(&session.pending).unwrap_or(0);
            if sent == 0 {
                break;
            }
            session.pending.drain(..sent);
            session.relayed += sent as u64;
            moved += sent as u64;
        }
        Relayed::Moved(moved)
    }

    /// The response's head is whole (its first `end` bytes waiting): notes where the
    /// response ends and whether the server keeps its connection, and gives the client's
    /// hop its own `Connection` header: keep-alive if kept, and close (not the server's
    /// keep-alive) otherwise.
    fn pass_head(&mut self, index: usize, end: usize) {
        let reuse_server_connections = self.config.reuse_server_connections;
        let session = &mut self.sessions[index];
        if let Some(head) = http::parse_response_head(&session.pending[..end]) {
            session.response_len = head.content_length.map(|n| end as u64 + n);
            session.server_keeps = head.keep_alive;
        }
        if session.keep_client || reuse_server_connections {
            let mut head = Vec::with_capacity(end + 16);
            let keep = session.keep_client;
            http::rewrite_head(&session.pending[..end], keep, "", &mut head);
            session.pending.splice(..end, head);
        }
        session.head_done = true;
    }

    /// The response is complete (all its bytes, or the server closed) and everything went to
    /// the client: keeps the server connection for reuse or closes it, and keeps the client
    /// connection for its next request or closes it. Whether it did.
    fn end_response(&mut self, index: usize, backend: SocketHandle, cx: &mut AppCtx<'_>) -> bool {
        let client = self.sessions[index].client;
        let backend_socket = cx.sockets.get_mut::<tcp::Socket>(backend);
        let backend_done = !backend_socket.may_recv();
        let reusable = keep_alive::is_reusable(backend_socket);
        let session = &self.sessions[index];
        let complete = backend_done
            || session
                .response_len
                .is_some_and(|len| session.backend_bytes >= len);
        if !complete || !session.pending.is_empty() {
            return false;
        }
        if self.config.reuse_server_connections && session.server_keeps && reusable {
            self.park_backend(index);
        } else {
            self.drop_backend(index, cx, false);
        }
        let session = &mut self.sessions[index];
        match (session.keep_client, self.config.keep_alive) {
            (true, Some(timeout)) => {
                session.await_request(Some(cx.now + timeout));
                keep_alive::wait_for_next_request(
                    cx.sockets.get_mut::<tcp::Socket>(client),
                    timeout,
                );
            }
            _ => {
                cx.sockets.get_mut::<tcp::Socket>(client).close();
                session.phase = Phase::Closing;
            }
        }
        true
    }
}

/// Records the proxy's route decision for one request (`explain` tells it).
fn record_route(cx: &mut AppCtx<'_>, route: L7Route) {
    cx.trace.decisions.record(
        cx.now,
        cx.node_index,
        DecisionKind::L7Route(Box::new(route)),
    );
}
