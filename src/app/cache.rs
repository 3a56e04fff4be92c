//! *A transparent web cache*: a web server that answers for every origin.
//!
//! A transparent (intercepting) cache, like Squid with `http_port 80 intercept`, sits where a
//! director sends it the clients' connections to *any* web server on the Internet (the
//! *origins*). The client believes it talks to the origin; the cache answers instead:
//!
//! 1. it accepts the connection and reads the request; the origin is the request's `Host`
//!    header (the director rewrote the destination address, so the header is what is left of
//!    it; Squid reads it the same way);
//! 2. a **hit** (the object `origin + path` is in its memory) is answered from memory after
//!    the server's service time;
//! 3. a **miss** opens a connection of its own, from its own address, to the origin's port 80,
//!    fetches the object, stores it, and answers the client with it;
//! 4. the memory holds `capacity` objects; storing one more evicts the *least recently used*.
//!
//! Every answer says `X-Served-By: <cache>` and `X-Cache: HIT` or `MISS`. The cache counts its
//! hits, misses and evictions; the report puts them under the cache in `summary.json`.
//!
//! A cluster of caches is worth as much as its hit ratio: if every cache sees every origin,
//! each holds the same popular objects and the cluster's memory is no bigger than one cache's.
//! Sending each origin to one cache (IPVS `dh`, `lblc`, `lblcr` on a firewall-mark service)
//! splits the web between them; the lab `book/src/labs/cache-cluster.md` measures it.
//!
//! # Simplifications
//! - Store and forward: a miss is answered once the whole object has arrived (Squid relays it
//!   as it arrives). Objects never expire and are never revalidated.
//! - Only `200` answers are stored; an origin's error is passed on, not stored. An origin that
//!   cannot be reached within 3 s is answered `504`, a `Host` that is not an IPv4 address
//!   `502` (the cache has no resolver).
//! - No workers: up to `workers + backlog` connections are served at once, each hit after one
//!   service time; `Connection: close` always (no keep-alive on either side).
//! - A crash empties the memory (it is memory).
//!
//! # Further reading
//! - Squid, `http_port … intercept`, `cache_mem`, `cache_replacement_policy lru`; the
//!   LVS-HOWTO, "Transparent cache cluster"; RFC 9111 (HTTP caching).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use smoltcp::iface::SocketHandle;
use smoltcp::socket::tcp;
use smoltcp::time::Duration;

use super::http::{self, RequestProgress, RequestReader, ResponseProgress, ResponseReader};
use super::outbound::Outbound;
use crate::node::{App, AppCtx, FourTuple};
use crate::sim::{SimDuration, SimTime, Stream};
use crate::trace::decision::{CacheLookup, DecisionKind};
use crate::trace::{CacheRecord, Trace};

use super::web_server::{Distribution, read_request, send_response};

/// Buffer size of each socket.
const BUFFER_BYTES: usize = 16 * 1024;
/// A connection that makes no progress for this long is aborted.
const IDLE_ABORT: Duration = Duration::from_secs(30);
/// Give up on an origin that does not answer within this long (answer 504).
const FETCH_TIMEOUT: SimDuration = SimDuration::from_secs(3);

/// What a cache is configured with.
#[derive(Clone, Debug)]
pub struct CacheConfig {
    /// Name sent in `X-Served-By`.
    pub name: String,
    /// Port it listens on.
    pub port: u16,
    /// Connections served at once.
    pub slots: u32,
    /// Time to answer a hit from memory.
    pub service_time: Distribution,
    /// Objects the memory holds.
    pub capacity: u32,
    /// The origins' port.
    pub origin_port: u16,
}

/// An object: the origin's address and the path.
type Key = (Ipv4Addr, String);

/// The memory: objects and their sizes, the least recently used evicted first.
#[derive(Debug, Default)]
pub struct Lru {
    /// Objects: size in bytes and the time of last use (a counter).
    objects: BTreeMap<Key, (u64, u64)>,
    /// The same objects by time of last use.
    by_use: BTreeMap<u64, Key>,
    /// The use counter.
    clock: u64,
    /// Objects it holds at most.
    capacity: usize,
}

impl Lru {
    /// An empty memory for `capacity` objects.
    pub fn new(capacity: usize) -> Lru {
        Lru {
            capacity,
            ..Lru::default()
        }
    }

    /// The size of `key`'s object if held, which becomes the most recently used.
    pub fn get(&mut self, key: &Key) -> Option<u64> {
        let (size, used) = self.objects.get_mut(key)?;
        self.by_use.remove(used);
        self.clock += 1;
        *used = self.clock;
        self.by_use.insert(self.clock, key.clone());
        Some(*size)
    }

    /// Stores an object; returns how many were evicted to make room.
    pub fn insert(&mut self, key: Key, size: u64) -> u64 {
        if self.capacity == 0 || self.get(&key).is_some() {
            return 0;
        }
        let mut evicted = 0;
        while self.objects.len() >= self.capacity {
            let Some((_, oldest)) = self.by_use.pop_first() else {
                break;
            };
            self.objects.remove(&oldest);
            evicted += 1;
        }
        self.clock += 1;
        self.by_use.insert(self.clock, key.clone());
        self.objects.insert(key, (size, self.clock));
        evicted
    }

    /// Objects held.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.objects.clear();
        self.by_use.clear();
    }
}

/// Where a slot is (steps of the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Listening,
    Reading,
    /// A hit, answered at `until`.
    Hit {
        until: SimTime,
    },
    /// A miss, waiting for the origin.
    Fetching,
    Sending,
    Closing,
}

/// What a lookup found: a hit, or a miss and the cache's own end of its connection to the
/// origin (`None`: none could be opened).
enum Lookup {
    Hit,
    Miss(Option<(Ipv4Addr, u16)>),
}

/// The connection to an origin for a miss.
struct Fetch {
    /// Its socket.
    handle: SocketHandle,
    /// Its ephemeral port.
    port: u16,
    /// The request to send once connected (empty once sent).
    request: Vec<u8>,
    /// The response so far.
    response: ResponseReader,
    /// Give up at this time.
    deadline: SimTime,
}

/// One client connection.
struct Slot {
    handle: SocketHandle,
    phase: Phase,
    request: RequestReader,
    /// The object asked for.
    key: Option<Key>,
    /// A miss's fetch.
    fetch: Option<Fetch>,
    /// The response head, then bytes of it sent.
    head: Vec<u8>,
    head_sent: usize,
    /// Body bytes still to send.
    body_left: u64,
}

/// The cache application.
pub struct TransparentCache {
    config: CacheConfig,
    slots: Vec<Slot>,
    memory: Lru,
    rng: Stream,
    /// Its own connections to the origins.
    outbound: Outbound,
    hits: u64,
    misses: u64,
    evictions: u64,
}

impl TransparentCache {
    /// An empty cache.
    pub fn new(config: CacheConfig, rng: Stream) -> TransparentCache {
        TransparentCache {
            memory: Lru::new(config.capacity as usize),
            config,
            slots: Vec::new(),
            rng,
            outbound: Outbound::new(BUFFER_BYTES),
            hits: 0,
            misses: 0,
            evictions: 0,
        }
    }

    fn open_slots(&mut self, cx: &mut AppCtx<'_>) {
        for _ in 0..self.config.slots.max(1) {
            let handle = cx.sockets.add(new_socket());
            let socket = cx.sockets.get_mut::<tcp::Socket>(handle);
            // A fresh socket always listens.
            let _ = socket.listen(self.config.port);
            socket.set_timeout(Some(IDLE_ABORT));
            socket.set_nagle_enabled(false);
            self.slots.push(Slot {
                handle,
                phase: Phase::Listening,
                request: RequestReader::default(),
                key: None,
                fetch: None,
                head: Vec::new(),
                head_sent: 0,
                body_left: 0,
            });
        }
    }

    /// Steps 2–3 for a request just read: a hit waits one service time, a miss starts a
    /// fetch, a request without an origin address is answered 502.
    fn start(&mut self, cx: &mut AppCtx<'_>, index: usize, path: String) {
        let host = self.slots[index].request.header("host").map(str::to_string);
        let origin = host
            .as_deref()
            .and_then(|h| h.split(':').next())
            .and_then(|h| h.parse::<Ipv4Addr>().ok());
        let Some(origin) = origin else {
            self.answer(index, 502, 0, "MISS");
            return;
        };
        let key = (origin, path);
        let stored = self.memory.len();
        if self.memory.get(&key).is_some() {
            self.hits += 1;
            self.record_lookup(cx, index, &key, stored, Lookup::Hit);
            let until = cx.now + self.config.service_time.sample(&mut self.rng);
            self.slots[index].key = Some(key);
            self.slots[index].phase = Phase::Hit { until };
            return;
        }
        self.misses += 1;
        let fetch = self.connect(cx, &key);
        let fetched_from = fetch.as_ref().map(|f| (cx.ip, f.port));
        self.record_lookup(cx, index, &key, stored, Lookup::Miss(fetched_from));
        match fetch {
            Some(fetch) => {
                let slot = &mut self.slots[index];
                slot.fetch = Some(fetch);
                slot.key = Some(key);
                slot.phase = Phase::Fetching;
            }
            None => self.answer(index, 502, 0, "MISS"),
        }
    }

    /// Records the lookup for `netlab explain`, when decisions are recorded.
    fn record_lookup(
        &self,
        cx: &mut AppCtx<'_>,
        index: usize,
        key: &Key,
        stored: usize,
        lookup: Lookup,
    ) {
        if !cx.trace.decisions.is_on() {
            return;
        }
        let socket = cx.sockets.get::<tcp::Socket>(self.slots[index].handle);
        let Some(endpoint) = socket.remote_endpoint() else {
            return;
        };
        let smoltcp::wire::IpAddress::Ipv4(ip) = endpoint.addr;
        let (hit, fetch) = match lookup {
            Lookup::Hit => (true, None),
            Lookup::Miss(fetch) => (false, fetch),
        };
        let lookup = CacheLookup {
            client: (ip, endpoint.port),
            origin: key.0,
            path: key.1.clone(),
            hit,
            stored: stored as u32,
            capacity: self.config.capacity,
            fetch,
        };
        let kind = DecisionKind::CacheLookup(Box::new(lookup));
        cx.trace.decisions.record(cx.now, cx.node_index, kind);
    }

    /// Step 3: a connection to the origin.
    fn connect(&mut self, cx: &mut AppCtx<'_>, key: &Key) -> Option<Fetch> {
        let origin = (key.0, self.config.origin_port);
        let (handle, port) = self.outbound.open(cx, origin, Some(IDLE_ABORT)).ok()?;
        let mut request = Vec::new();
        http::write_request(&mut request, &key.0.to_string(), &key.1, false);
        Some(Fetch {
            handle,
            port,
            request,
            response: ResponseReader::default(),
            deadline: cx.now + FETCH_TIMEOUT,
        })
    }

    /// Step 3, continued: sends the request, reads the answer; when it is complete (or the
    /// fetch failed) the client's answer is prepared. Returns whether it acted.
    fn progress_fetch(&mut self, cx: &mut AppCtx<'_>, index: usize) -> bool {
        let Some(fetch) = self.slots[index].fetch.as_mut() else {
            return false;
        };
        let socket = cx.sockets.get_mut::<tcp::Socket>(fetch.handle);
        let mut acted = false;
        if !fetch.request.is_empty() && socket.may_send() {
            let sent = socket.send_slice(&fetch.request).unwrap_or(0);
            fetch.request.drain(..sent);
            acted = sent > 0;
        }
        let mut progress = ResponseProgress::Incomplete;
        while socket.can_recv() && progress == ResponseProgress::Incomplete {
            let reader = &mut fetch.response;
            progress = socket
                .recv(|bytes| (bytes.len(), reader.feed(bytes)))
                .unwrap_or(ResponseProgress::Malformed);
            acted = true;
        }
        let ended = !socket.is_active() || cx.now >= fetch.deadline;
        let outcome = match progress {
            ResponseProgress::Complete => fetch
                .response
                .head()
                .map(|h| (h.status, h.content_length.unwrap_or(0))),
            ResponseProgress::Malformed => Some((502, 0)),
            ResponseProgress::Incomplete if ended => {
                Some((if cx.now >= fetch.deadline { 504 } else { 502 }, 0))
            }
            ResponseProgress::Incomplete => None,
        };
        let Some((status, size)) = outcome else {
            return acted;
        };
        let fetch = self.slots[index].fetch.take().expect("checked above");
        self.outbound
            .finish(cx, fetch.handle, fetch.port, status != 200);
        if status == 200
            && let Some(key) = self.slots[index].key.clone()
        {
            self.evictions += self.memory.insert(key, size);
        }
        let body = if status == 200 { size } else { 0 };
        self.answer(index, status, body, "MISS");
        true
    }

    /// Prepares the client's answer.
    fn answer(&mut self, index: usize, status: u16, body: u64, cache: &str) {
        let slot = &mut self.slots[index];
        let mut head = Vec::new();
        http::write_response_head(&mut head, status, &self.config.name, body, false);
        http::rewrite_head(
            &head,
            false,
            &format!("X-Cache: {cache}\r\n"),
            &mut slot.head,
        );
        slot.head_sent = 0;
        slot.body_left = body;
        slot.phase = Phase::Sending;
    }

    /// One slot's steps; returns whether it acted.
    fn poll_slot(&mut self, cx: &mut AppCtx<'_>, index: usize) -> bool {
        let now = cx.now;
        let mut acted = false;
        let handle = self.slots[index].handle;
        if let Some(path) = self.read_request(cx, index, &mut acted) {
            self.start(cx, index, path);
            acted = true;
        }
        if let Phase::Hit { until } = self.slots[index].phase
            && now >= until
        {
            let size = self.slots[index]
                .key
                .clone()
                .and_then(|k| self.memory.get(&k))
                .unwrap_or(0);
            self.answer(index, 200, size, "HIT");
        }
        if self.slots[index].phase == Phase::Fetching {
            acted |= self.progress_fetch(cx, index);
        }
        let socket = cx.sockets.get_mut::<tcp::Socket>(handle);
        let slot = &mut self.slots[index];
        if slot.phase == Phase::Sending {
            acted |= send(socket, slot);
        }
        if (slot.phase != Phase::Listening && !socket.is_open()) || slot.phase == Phase::Closing {
            acted |= self.reuse_slot(cx, index);
        }
        acted
    }

    /// Steps 1–2: accepts and reads; returns the path of a request read whole.
    fn read_request(
        &mut self,
        cx: &mut AppCtx<'_>,
        index: usize,
        acted: &mut bool,
    ) -> Option<String> {
        let slot = &mut self.slots[index];
        let socket = cx.sockets.get_mut::<tcp::Socket>(slot.handle);
        if slot.phase == Phase::Listening && socket.state() == tcp::State::Established {
            slot.phase = Phase::Reading;
            slot.request.reset();
        }
        if slot.phase != Phase::Reading {
            return None;
        }
        match read_request(socket, &mut slot.request) {
            RequestProgress::Get(path) => return Some(path),
            RequestProgress::Malformed => socket.abort(),
            RequestProgress::Incomplete if !socket.may_recv() => socket.abort(),
            RequestProgress::Incomplete => return None,
        }
        *acted = true;
        None
    }

    /// Step 6: a finished connection's slot listens again (recording TIME-WAIT).
    fn reuse_slot(&mut self, cx: &mut AppCtx<'_>, index: usize) -> bool {
        let handle = self.slots[index].handle;
        let socket = cx.sockets.get_mut::<tcp::Socket>(handle);
        match socket.state() {
            tcp::State::TimeWait => {
                if let Some(tuple) = FourTuple::of(socket) {
                    cx.device.policy.time_wait.insert(cx.now, tuple);
                }
            }
            tcp::State::Closed => {}
            _ => return false,
        }
        // Not open any more, so it can always listen (our table keeps the TIME-WAIT).
        let _ = socket.listen(self.config.port);
        socket.set_timeout(Some(IDLE_ABORT));
        socket.set_nagle_enabled(false);
        if let Some(fetch) = self.slots[index].fetch.take() {
            // The client went away during the fetch.
            self.outbound.finish(cx, fetch.handle, fetch.port, true);
        }
        let slot = &mut self.slots[index];
        slot.phase = Phase::Listening;
        slot.key = None;
        true
    }
}

/// A fresh socket.
fn new_socket() -> tcp::Socket<'static> {
    tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0; BUFFER_BYTES]),
        tcp::SocketBuffer::new(vec![0; BUFFER_BYTES]),
    )
}

/// Step 5: writes as much of the answer as the socket takes, then closes.
fn send(socket: &mut tcp::Socket<'static>, slot: &mut Slot) -> bool {
    let mut acted = send_response(socket, &slot.head, &mut slot.head_sent, &mut slot.body_left);
    if slot.head_sent == slot.head.len() && slot.body_left == 0 {
        socket.close();
        slot.phase = Phase::Closing;
        acted = true;
    }
    acted
}

impl App for TransparentCache {
    fn poll(&mut self, cx: &mut AppCtx<'_>) -> bool {
        if self.slots.is_empty() {
            self.open_slots(cx);
        }
        self.outbound.recycle(cx);
        let mut acted = false;
        for index in 0..self.slots.len() {
            acted |= self.poll_slot(cx, index);
        }
        acted
    }

    fn next_timer(&self) -> Option<SimTime> {
        self.slots
            .iter()
            .filter_map(|s| match s.phase {
                Phase::Hit { until } => Some(until),
                Phase::Fetching => s.fetch.as_ref().map(|f| f.deadline),
                _ => None,
            })
            .min()
    }

    fn crash(&mut self) {
        self.slots.clear();
        self.outbound.reset();
        self.memory.clear();
    }

    fn report(&self, trace: &mut Trace, node: usize) {
        trace.caches.push(CacheRecord {
            node,
            hits: self.hits,
            misses: self.misses,
            evictions: self.evictions,
            objects: self.memory.len() as u64,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> Key {
        (Ipv4Addr::new(198, 51, 100, n), "/".to_string())
    }

    #[test]
    fn the_least_recently_used_object_is_evicted() {
        let mut lru = Lru::new(2);
        assert_eq!(lru.insert(key(1), 10), 0);
        assert_eq!(lru.insert(key(2), 20), 0);
        assert_eq!(lru.get(&key(1)), Some(10)); // 2 is now the oldest
        assert_eq!(lru.insert(key(3), 30), 1);
        assert_eq!(lru.get(&key(2)), None);
        assert_eq!(lru.get(&key(1)), Some(10));
        assert_eq!(lru.get(&key(3)), Some(30));
        assert_eq!(lru.len(), 2);
    }

    #[test]
    fn storing_an_object_again_evicts_nothing() {
        let mut lru = Lru::new(1);
        lru.insert(key(1), 10);
        assert_eq!(lru.insert(key(1), 10), 0);
        assert_eq!(lru.len(), 1);
    }
}
