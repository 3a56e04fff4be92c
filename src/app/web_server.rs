//! *A web server*: HTTP/1.1 over TCP with a fixed number of workers, like Apache's prefork.
//!
//! The server owns `workers + backlog` connection slots, each a smoltcp TCP socket.
//! Every free slot listens on the port, so up to that many connections can be open at once.
//! A connection's life:
//!
//! 1. **Listening**: the slot waits for a SYN; smoltcp completes the handshake by itself.
//! 2. **Reading**: the connection is established; the request is read until its empty line.
//! 3. **Queued**: the request waits for a free worker (this is the *backlog*).
//! 4. **Serving**: a worker is busy with it for the service time (fixed or exponential).
//! 5. **Sending**: the response is written as fast as the socket's buffer drains; the worker
//!    is free once the last byte is handed to TCP.
//! 6. **Closing**: the server closes first (`Connection: close`), so it is the side that ends
//!    in TIME-WAIT. The 4-tuple goes into the host's TIME-WAIT table and the socket listens
//!    again at once.
//!
//! **Keep-alive.** When the server is configured with a keep-alive timeout and the request
//! said `Connection: keep-alive`, step 6 is skipped: the response says `keep-alive` and the
//! slot goes back to step 2 to wait for the next request on the same connection, without a
//! new handshake. If none comes within the timeout (Apache's `KeepAliveTimeout`, 5 s by
//! default) the server closes the connection; if the client closes first, the client is the
//! side in TIME-WAIT. An idle kept connection holds its slot (an Apache prefork worker holds
//! its *process*), which is why busy sites keep the timeout short.
//!
//! **The accept queue.** The `backlog` slots beyond the workers are Linux's accept queue
//! (`min(backlog, somaxconn)`, see `node::listen`). When every slot is taken nothing listens,
//! and a new SYN is **dropped** as Linux drops it: no SYN-ACK, no RST. The server counts it
//! (`listen_drops`, Linux's `ListenOverflows`) and the client sends its SYN again after its
//! retransmission timeout, 1 s, then 2 s, 4 s… later, so an overloaded server shows up as
//! latency steps near +1 s and +3 s, not as errors. With `abort_on_overflow` (Linux
//! `net.ipv4.tcp_abort_on_overflow = 1`) smoltcp answers RST instead and the client sees
//! `refused`.
//!
//! **The client's retransmissions.** smoltcp 0.14's TCP socket retransmits a SYN as Linux
//! does: its first retransmission timeout is 1 s (`RTTE_INITIAL_RTO`, RFC 6298 §2.1, Linux
//! `TCP_TIMEOUT_INIT`) and doubles after each expiry (RFC 6298 §5.5), so the SYNs leave at
//! 0, 1, 3, 7, 15, 31 s… Two differences: smoltcp caps the timeout at 60 s (Linux at 120 s,
//! `TCP_RTO_MAX`), which only matters after 63 s, and it has no `tcp_syn_retries` (Linux gives
//! up after 6 retransmissions, about 127 s): a netlab client gives up at its own `timeout`.
//!
//! **The accept pool.** smoltcp gives a SYN to the first listening socket of the host's set, so
//! of all the free slots only that first one matters; the others would only make smoltcp walk
//! more sockets for every frame. They are *parked* out of the set (`node::sockets`) and the
//! pool brings back the next one the moment the listening one takes a SYN, at the same place in
//! the set. Which slot gets which connection, and every frame, are as if all free slots
//! listened; the cost per request no longer grows with `workers + backlog`. The server's own
//! loops visit only the slots in the set. A slot's socket is created only when the pool first
//! needs it, at the place reserved for it when the server started, so slots never used cost
//! nothing at all.
//!
//! Service faults change the behaviour: `Stopped` resets every connection and stops listening;
//! `Hung` keeps accepting and reading but no worker ever serves; `Errors(status)` answers every
//! request with that status; `Slow(factor)` multiplies the service time.
//!
//! # Simplifications
//! - A half-open connection (SYN-RECEIVED) already holds its slot, so the handshake's last
//!   ACK always finds room. Linux counts only established connections against the accept
//!   queue and checks again on that ACK: with the queue full it drops the ACK and retransmits
//!   its SYN-ACK (or resets, with `tcp_abort_on_overflow`). Linux also admits one connection
//!   more than the backlog (`sk_acceptq_is_full` tests `>`); netlab admits exactly `backlog`.
//! - A connection holds its slot from the SYN until its socket reaches TIME-WAIT, the request
//!   is read before a worker takes it, and idle kept-alive connections hold slots too: the
//!   accept queue and the workers are one pool of `workers + backlog` connections.
//! - Keep-alive has no per-connection request limit (Apache's `MaxKeepAliveRequests`) and no
//!   pipelining: the next request is read only after the response went out.
//! - Workers cost time, not CPU: many busy workers do not slow each other down.
//!
//! # Further reading
//! - Apache `MaxRequestWorkers`, `ListenBacklog`; `book/src/labs/hello-web.md`.
//! - The accept queue: `../shared/reference/linux-listen-backlog.md`, `man 7 tcp`
//!   (`tcp_abort_on_overflow`), RFC 6298 §2.1 and §5.5; `book/src/labs/l4-balancing.md`
//!   ("A full accept queue").

use smoltcp::iface::SocketHandle;
use smoltcp::socket::tcp;
use smoltcp::time::Duration;

use super::http::{self, RequestProgress, RequestReader};
use super::keep_alive;
use crate::node::{App, AppCtx, FourTuple, Reservation, ServiceMode};
use crate::sim::{SimDuration, SimTime, Stream};
use crate::trace::DecisionKind;

/// Receive buffer of a server socket, in bytes (requests are small).
const RX_BUFFER_BYTES: usize = 4096;
/// Transmit buffer of a server socket, in bytes.
const TX_BUFFER_BYTES: usize = 16 * 1024;
/// A connection that makes no progress for this long is aborted, so dead clients cannot hold
/// slots for ever.
const IDLE_ABORT: Duration = Duration::from_secs(30);
/// Bytes of the body that are not the real content of any file: a repeating pattern.
const FILLER: &[u8; 64] = b"netlab netlab netlab netlab netlab netlab netlab netlab netlab\r\n";
/// The filler repeated over a whole transmit buffer (built at compile time), so that filling
/// the buffer is one copy: a 10 KiB body is one `memcpy`, not 160 small ones.
const _: () = assert!(
    TX_BUFFER_BYTES.is_multiple_of(FILLER.len()),
    "a block holds whole patterns"
);
static FILLER_BLOCK: [u8; TX_BUFFER_BYTES] = {
    let mut block = [0; TX_BUFFER_BYTES];
    let mut i = 0;
    while i < TX_BUFFER_BYTES {
        block[i] = FILLER[i % FILLER.len()];
        i += 1;
    }
    block
};

/// Feeds `reader` what `socket` has received until the request is complete, malformed, or
/// the bytes run out. The web server, the transparent cache (`cache`) and the L7 proxy
/// (`l7_proxy`) all read this way.
pub(super) fn read_request(
    socket: &mut tcp::Socket<'_>,
    reader: &mut RequestReader,
) -> RequestProgress {
    let mut progress = RequestProgress::Incomplete;
    while socket.can_recv() && progress == RequestProgress::Incomplete {
        progress = socket
            .recv(|bytes| (bytes.len(), reader.feed(bytes)))
            .unwrap_or(RequestProgress::Malformed);
    }
    progress
}

/// Writes as much of a response as `socket` takes: the rest of its `head` (from `head_sent`),
/// then `body_left` bytes of filler. True if anything was written. The web server and the
/// transparent cache (`cache`) both answer this way.
pub(super) fn send_response(
    socket: &mut tcp::Socket<'_>,
    head: &[u8],
    head_sent: &mut usize,
    body_left: &mut u64,
) -> bool {
    let mut acted = false;
    if *head_sent < head.len() && socket.can_send() {
        let sent = socket.send_slice(&head[*head_sent..]).unwrap_or(0);
        *head_sent += sent;
        acted |= sent > 0;
    }
    while *head_sent == head.len() && *body_left > 0 && socket.can_send() {
        let left = *body_left;
        let sent = socket
            .send(|buffer| {
                let n = buffer.len().min(left as usize);
                // The pattern restarts with every send. A block is a whole number of
                // patterns, so a buffer larger than one block goes on with the pattern.
                for chunk in buffer[..n].chunks_mut(FILLER_BLOCK.len()) {
                    chunk.copy_from_slice(&FILLER_BLOCK[..chunk.len()]);
                }
                (n, n)
            })
            .unwrap_or(0);
        if sent == 0 {
            break;
        }
        *body_left -= sent as u64;
        acted = true;
    }
    acted
}

/// A duration that is either always the same or exponentially distributed.
#[derive(Clone, Copy, Debug)]
pub enum Distribution {
    /// Always this long.
    Fixed(SimDuration),
    /// Exponential with this mean.
    Exponential(SimDuration),
}

impl Distribution {
    /// The mean duration.
    pub fn mean(&self) -> SimDuration {
        match *self {
            Distribution::Fixed(d) | Distribution::Exponential(d) => d,
        }
    }

    /// Draws one duration.
    pub fn sample(&self, rng: &mut Stream) -> SimDuration {
        match *self {
            Distribution::Fixed(d) => d,
            Distribution::Exponential(mean) => rng.exponential(mean),
        }
    }
}

/// What a web server is configured with.
#[derive(Clone, Debug)]
pub struct WebServerConfig {
    /// Name sent in `X-Served-By`.
    pub name: String,
    /// TCP port.
    pub port: u16,
    /// Requests served at once.
    pub workers: u32,
    /// Connections that may wait for a worker: the accept queue, `min(backlog, somaxconn)`.
    pub backlog: u32,
    /// With every slot taken, answer a new SYN with RST (Linux `tcp_abort_on_overflow = 1`)
    /// instead of dropping it.
    pub abort_on_overflow: bool,
    /// Time a worker spends on one request.
    pub service_time: Distribution,
    /// Body size of a 200 response, in bytes.
    pub response_bytes: u64,
    /// Path prefixes answered with 200.
    pub paths: Vec<String>,
    /// Keep connections open between requests for up to this long (`None`: close after each).
    pub keep_alive: Option<SimDuration>,
}

/// Where a slot is in a connection's life (steps of the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Listening,
    Reading,
    Queued,
    Serving { until: SimTime },
    Sending,
    Closing,
}

/// One connection slot.
struct Slot {
    /// Its socket.
    handle: SocketHandle,
    /// Where it is.
    phase: Phase,
    /// The request read so far.
    request: RequestReader,
    /// Status decided when the request was read.
    status: u16,
    /// The response head, written when serving ends.
    head: Vec<u8>,
    /// Bytes of `head` already sent.
    head_sent: usize,
    /// Body bytes still to send.
    body_left: u64,
    /// Whether this response keeps the connection open (both sides asked for it).
    keep_alive: bool,
    /// A kept-alive connection waiting for its next request is closed at this time.
    idle_until: Option<SimTime>,
    /// The TCP peer of the request being handled and when it joined the queue (kept only
    /// when decisions are recorded, to tell the wait for a worker).
    queued: Option<((std::net::Ipv4Addr, u16), SimTime)>,
    /// Its socket may be parked when free: it is new, or its last connection ended in
    /// TIME-WAIT (so smoltcp keeps no per-socket state about it).
    clean: bool,
}

/// What the poll's loop needs to skip a slot: its socket, and whether the slot waits for a
/// time (`Slot::is_timed`). Kept beside the slots: at a high request rate a server has many
/// live slots, most of them asleep, and reading each whole slot on every poll to skip it
/// missed the processor's first-level cache once per slot.
#[derive(Clone, Copy)]
struct SlotKey {
    /// The slot's socket (`Slot::handle`).
    handle: SocketHandle,
    /// `Slot::is_timed`, as the slot was last left.
    timed: bool,
}

impl Slot {
    /// Whether the slot waits for a time, so that the poll must visit it even when its
    /// connection is asleep: the end of its service, or the end of a keep-alive wait.
    fn is_timed(&self) -> bool {
        matches!(self.phase, Phase::Serving { .. }) || self.idle_until.is_some()
    }

    /// Step 1, a listening slot's accept(): true once its socket holds an established
    /// connection, which the slot then reads. A handshake that began marks the slot as no
    /// longer clean (smoltcp may note things about the connection from then on).
    fn accept(&mut self, socket: &tcp::Socket<'static>) -> bool {
        if socket.state() != tcp::State::Listen {
            self.clean = false;
        }
        if socket.state() != tcp::State::Established {
            return false;
        }
        self.phase = Phase::Reading;
        self.request.reset();
        self.idle_until = None;
        true
    }

    /// Step 2, while the request is incomplete: a kept connection ends normally when the client
    /// closed it or left it idle for the whole keep-alive timeout; a client that gives up
    /// before finishing its first request is reset. True if the socket was closed or reset.
    fn unfinished_request(&mut self, socket: &mut tcp::Socket<'static>, now: SimTime) -> bool {
        let kept = self.idle_until.is_some();
        if kept && (!socket.may_recv() || self.idle_until.is_some_and(|t| now >= t)) {
            socket.close();
            self.phase = Phase::Closing;
            self.idle_until = None;
            true
        } else if !socket.may_recv() {
            socket.abort();
            true
        } else {
            false
        }
    }
}

/// The response heads a server sends. They differ only by status, body length and
/// `Connection`, so each is written once and copied for every later response.
#[derive(Default)]
struct ResponseHeads {
    /// `(status, body length, keep-alive)` and the head's bytes.
    written: Vec<((u16, u64, bool), Vec<u8>)>,
}

impl ResponseHeads {
    /// The head for a response of server `served_by`, written the first time it is asked.
    fn get(&mut self, served_by: &str, status: u16, body_len: u64, keep_alive: bool) -> &[u8] {
        let key = (status, body_len, keep_alive);
        let at = match self.written.iter().position(|(k, _)| *k == key) {
            Some(at) => at,
            None => {
                let mut head = Vec::new();
                http::write_response_head(&mut head, status, served_by, body_len, keep_alive);
                self.written.push((key, head));
                self.written.len() - 1
            }
        };
        &self.written[at].1
    }
}

/// A web server application.
pub struct WebServer {
    /// Configuration.
    config: WebServerConfig,
    /// Connection slots, created on the first poll.
    slots: Vec<Slot>,
    /// Per slot, what the poll's loop reads to skip it (`SlotKey`), apart from the slots so
    /// that skipping one touches a few bytes, not the whole slot.
    keys: Vec<SlotKey>,
    /// Indices of the slots whose sockets are in the stack's walk, in slot order: the only
    /// ones that can have news.
    live: Vec<usize>,
    /// Free slots whose sockets are parked, by socket handle (see [`WebServer::balance_pool`]).
    parked: std::collections::BTreeSet<(SocketHandle, usize)>,
    /// The free slots in the stack's walk, in slot order, as the last poll's loop left them:
    /// the accept pool needs only these, not every live slot.
    free: Vec<usize>,
    /// The earliest time a slot waits for (end of a service, end of a keep-alive wait), as
    /// the last poll left them: `next_timer` without a walk over the live slots.
    timer: Option<SimTime>,
    /// Slots waiting for a worker, oldest first.
    queue: std::collections::VecDeque<usize>,
    /// Workers busy now.
    busy_workers: u32,
    /// Service-time draws.
    rng: Stream,
    /// Requests answered (any status).
    pub requests_handled: u64,
    /// Normal, or one of the service faults.
    mode: ServiceMode,
    /// Where the slots not created yet will go in the host's socket set.
    reservation: Option<Reservation>,
    /// Slots not created yet: they count as listening, after every created slot.
    uncreated: usize,
    /// Closed sockets of a stopped process, kept for its restart.
    idle_sockets: Vec<SocketHandle>,
    /// Distinct TCP peer addresses of requests.
    peers: std::collections::BTreeSet<std::net::Ipv4Addr>,
    /// Distinct `X-Forwarded-For` values.
    forwarded_for: std::collections::BTreeSet<String>,
    /// Whether the host's ingress policy drops new SYNs for our port (every slot taken).
    queue_full: bool,
    /// SYNs dropped because every slot was taken (Linux `ListenOverflows`).
    listen_drops: u64,
    /// The response heads written so far.
    heads: ResponseHeads,
}

impl WebServer {
    /// A server with the given configuration and random stream.
    pub fn new(config: WebServerConfig, rng: Stream) -> WebServer {
        WebServer {
            config,
            slots: Vec::new(),
            keys: Vec::new(),
            live: Vec::new(),
            parked: std::collections::BTreeSet::new(),
            free: Vec::new(),
            timer: None,
            queue: std::collections::VecDeque::new(),
            busy_workers: 0,
            rng,
            requests_handled: 0,
            mode: ServiceMode::Normal,
            reservation: None,
            uncreated: 0,
            idle_sockets: Vec::new(),
            peers: std::collections::BTreeSet::new(),
            forwarded_for: std::collections::BTreeSet::new(),
            queue_full: false,
            listen_drops: 0,
            heads: ResponseHeads::default(),
        }
    }

    /// Tells the host's ingress policy whether new SYNs for our port must be dropped: only
    /// when nothing listens and the server does not abort on overflow.
    fn set_queue_full(&mut self, cx: &mut AppCtx<'_>, full: bool) {
        let full = full && !self.config.abort_on_overflow;
        if full != self.queue_full {
            cx.device
                .policy
                .full_queues
                .set_full(self.config.port, full);
            self.queue_full = full;
        }
    }

    /// Counts the SYNs the ingress policy dropped for our port since the last poll, and
    /// records why each was dropped when decisions are kept.
    fn collect_listen_drops(&mut self, cx: &mut AppCtx<'_>) {
        if !self.queue_full {
            return;
        }
        let dropped = cx.device.policy.full_queues.take_dropped(self.config.port);
        self.listen_drops += dropped.len() as u64;
        if !cx.trace.decisions.is_on() {
            return;
        }
        for syn in dropped {
            let kind = DecisionKind::ListenDrop {
                peer: syn.peer,
                busy_workers: self.busy_workers,
                workers: self.config.workers,
                waiting: self.queue.len() as u32,
                backlog: self.config.backlog,
            };
            cx.trace.decisions.record(cx.now, cx.node_index, kind);
        }
    }

    /// The process stops: every connection is reset and nothing listens any more, so new
    /// connections are refused while the host itself still answers ping and ARP.
    fn stop(&mut self, cx: &mut AppCtx<'_>) -> bool {
        if self.slots.is_empty() {
            return false;
        }
        // Every slot gets its socket, as if all had been created at the start.
        while self.uncreated > 0 {
            self.create_listening_slot(cx);
        }
        self.reservation = None;
        for (handle, _) in std::mem::take(&mut self.parked) {
            cx.sockets.unpark(handle);
        }
        self.live.clear();
        self.keys.clear();
        for slot in self.slots.drain(..) {
            cx.sockets.get_mut::<tcp::Socket>(slot.handle).abort();
            self.idle_sockets.push(slot.handle);
        }
        self.queue.clear();
        self.busy_workers = 0;
        true
    }

    /// The accept pool: of the free (listening) slots, only the one smoltcp would give the
    /// next SYN to (the first in the host's socket set) must be in the stack's walk; the other
    /// free slots that are clean are parked. One is enough: a host takes in one frame per
    /// service, so at most one SYN arrives before this runs again. Returns whether a slot
    /// listens (`false`: every slot is taken, the accept queue is full). It looks only at the
    /// free slots the poll's loop listed, so its cost does not grow with the live connections.
    fn balance_pool(&mut self, cx: &mut AppCtx<'_>) -> bool {
        // The poll's loop listed the free slots in the walk (a slot it skipped is asleep, so
        // it has a peer: not free).
        let slots = &self.slots;
        let first_live = self
            .free
            .iter()
            .copied()
            .min_by_key(|&index| slots[index].handle);
        let first = match (self.parked.first().copied(), first_live) {
            (Some((handle, index)), live)
                if live.is_none_or(|first| handle < self.slots[first].handle) =>
            {
                self.parked.remove(&(handle, index));
                cx.sockets.unpark(handle);
                let at = self.live.binary_search(&index).unwrap_err();
                self.live.insert(at, index);
                index
            }
            (_, Some(index)) => index,
            (_, None) if self.uncreated > 0 => self.create_listening_slot(cx),
            (_, None) => return false,
        };
        for &index in &self.free {
            let slot = &self.slots[index];
            if index != first && slot.clean {
                cx.sockets.park(slot.handle);
                self.parked.insert((slot.handle, index));
                let at = self
                    .live
                    .binary_search(&index)
                    .expect("a free slot in the walk is live");
                self.live.remove(at);
            }
        }
        true
    }

    /// Creates the listening sockets.
    fn open_slots(&mut self, cx: &mut AppCtx<'_>) {
        let count = (self.config.workers + self.config.backlog).max(1) as usize;
        if self.idle_sockets.is_empty() {
            // A fresh start: the slots' places are reserved, and each socket is created when
            // the pool first needs it (see *The accept pool*).
            self.reservation = Some(cx.sockets.reserve(count));
            self.uncreated = count;
            self.create_slot(cx);
            return;
        }
        // A restart reuses the sockets of the stopped process.
        for _ in 0..count {
            let handle = self.idle_sockets.pop().unwrap_or_else(|| {
                cx.sockets.add(tcp::Socket::new(
                    tcp::SocketBuffer::new(vec![0; RX_BUFFER_BYTES]),
                    tcp::SocketBuffer::new(vec![0; TX_BUFFER_BYTES]),
                ))
            });
            self.push_slot(handle, false);
        }
    }

    /// Creates the socket of the next reserved slot, not yet listening (phase `Closing`).
    fn create_slot(&mut self, cx: &mut AppCtx<'_>) -> usize {
        let reservation = self
            .reservation
            .as_ref()
            .expect("slots are created only from a reservation");
        let handle = cx.sockets.add_reserved(
            reservation,
            tcp::Socket::new(
                tcp::SocketBuffer::new(vec![0; RX_BUFFER_BYTES]),
                tcp::SocketBuffer::new(vec![0; TX_BUFFER_BYTES]),
            ),
        );
        self.uncreated -= 1;
        self.push_slot(handle, true)
    }

    /// A new slot for `handle`, in the stack's walk, to be re-armed.
    fn push_slot(&mut self, handle: SocketHandle, clean: bool) -> usize {
        self.slots.push(Slot {
            handle,
            phase: Phase::Closing, // re-armed by the next poll or by the pool
            request: RequestReader::default(),
            status: 0,
            head: Vec::with_capacity(256),
            head_sent: 0,
            body_left: 0,
            keep_alive: false,
            idle_until: None,
            queued: None,
            clean,
        });
        self.keys.push(SlotKey {
            handle,
            timed: false,
        });
        let index = self.slots.len() - 1;
        self.live.push(index);
        index
    }

    /// Creates and re-arms the next reserved slot, listening in the stack's walk.
    fn create_listening_slot(&mut self, cx: &mut AppCtx<'_>) -> usize {
        let index = self.create_slot(cx);
        let slot = &mut self.slots[index];
        rearm(cx.sockets.get_mut(slot.handle), slot, self.config.port);
        index
    }
}

/// One connection's steps (1, 2, 4, 5 and 6 of the module doc), taken by the poll for each
/// live slot, and step 3's workers. Each step returns whether it gave the stack something to
/// send (it wrote to, closed or reset the socket), so the host polls the stack again.
impl WebServer {
    /// Takes live slot `index`, whose socket is `handle`, as far as it can go now, then notes
    /// what the pool, `next_timer` and the next poll need to know of it.
    fn visit(
        &mut self,
        index: usize,
        slot: &mut Slot,
        handle: SocketHandle,
        cx: &mut AppCtx<'_>,
    ) -> bool {
        let now = cx.now;
        let socket = cx.sockets.get_mut::<tcp::Socket>(handle);
        if slot.phase == Phase::Listening && !slot.accept(socket) {
            if socket.state() == tcp::State::Listen {
                self.free.push(index);
            }
            return false;
        }
        let mut acted = false;
        if slot.phase == Phase::Reading {
            acted |= self.read(index, slot, socket, cx.node_index, now, cx.trace);
        }
        if let Phase::Serving { until } = slot.phase
            && now >= until
        {
            self.end_service(slot);
        }
        if slot.phase == Phase::Sending {
            acted |= self.send(slot, socket, now);
        }
        if slot.phase == Phase::Closing || (slot.phase != Phase::Listening && !socket.is_open()) {
            acted |= self.reuse(index, slot, socket, now, cx.device);
        }
        // What the pool, `next_timer` and the next poll's loop need to know of this slot.
        self.keys[index].timed = slot.is_timed();
        match slot.phase {
            Phase::Listening if socket.state() == tcp::State::Listen => self.free.push(index),
            Phase::Serving { until } => self.timer = earliest(self.timer, Some(until)),
            Phase::Reading => self.timer = earliest(self.timer, slot.idle_until),
            _ => {}
        }
        acted
    }

    /// Step 2: reads the request; a complete one joins the queue for a worker (step 3).
    fn read(
        &mut self,
        index: usize,
        slot: &mut Slot,
        socket: &mut tcp::Socket<'static>,
        node_index: usize,
        now: SimTime,
        trace: &mut crate::trace::Trace,
    ) -> bool {
        match read_request(socket, &mut slot.request) {
            RequestProgress::Incomplete => slot.unfinished_request(socket, now),
            RequestProgress::Get(path) => {
                self.enqueue(slot, &path, socket, node_index, now, trace);
                self.queue.push_back(index);
                false
            }
            RequestProgress::Malformed => {
                socket.abort();
                true
            }
        }
    }

    /// A complete request: notes who sent it, and decides its status and whether the
    /// connection stays open after it. The caller queues it for a worker.
    fn enqueue(
        &mut self,
        slot: &mut Slot,
        path: &str,
        socket: &tcp::Socket<'static>,
        node_index: usize,
        now: SimTime,
        trace: &mut crate::trace::Trace,
    ) {
        // Who is the client? The TCP peer, and what a proxy says it forwarded.
        if let Some(endpoint) = socket.remote_endpoint() {
            let smoltcp::wire::IpAddress::Ipv4(ip) = endpoint.addr;
            self.peers.insert(ip);
            if trace.decisions.is_on() {
                let peer = (ip, endpoint.port);
                slot.queued = Some((peer, now));
                let kind = DecisionKind::ServerQueued {
                    peer,
                    waiting_ahead: self.queue.len() as u32,
                    busy_workers: self.busy_workers,
                    workers: self.config.workers,
                    mode: self.mode,
                };
                trace.decisions.record(now, node_index, kind);
            }
        }
        if let Some(xff) = slot.request.header("x-forwarded-for") {
            self.forwarded_for.insert(xff.to_string());
        }
        slot.status = status_for(&self.config.paths, path);
        slot.keep_alive = self.config.keep_alive.is_some() && slot.request.asks_keep_alive();
        slot.idle_until = None;
        slot.phase = Phase::Queued;
    }

    /// Steps 3 → 4: free workers take queued requests, oldest first (a hung process never does).
    /// True if one was served in no time: it is sent in the next round of this same service.
    fn start_workers(&mut self, cx: &mut AppCtx<'_>) -> bool {
        let now = cx.now;
        let mut acted = false;
        while self.busy_workers < self.config.workers && self.mode != ServiceMode::Hung {
            let Some(index) = self.queue.pop_front() else {
                break;
            };
            let mut service = self.config.service_time.sample(&mut self.rng);
            if let ServiceMode::Slow(factor) = self.mode {
                service = SimDuration::from_secs_f64(service.as_secs_f64() * factor);
            }
            self.slots[index].phase = Phase::Serving {
                until: now + service,
            };
            self.keys[index].timed = true;
            self.timer = earliest(self.timer, Some(now + service));
            if let Some((peer, queued_at)) = self.slots[index].queued.take() {
                let kind = DecisionKind::ServerServe {
                    peer,
                    waited: now - queued_at,
                    service,
                    mode: self.mode,
                };
                cx.trace.decisions.record(now, cx.node_index, kind);
            }
            self.busy_workers += 1;
            if service == SimDuration::ZERO {
                acted = true;
            }
        }
        acted
    }

    /// Step 4 ends: the worker is done, and the response's head is written (with the error
    /// status of a failing application, if it is one).
    fn end_service(&mut self, slot: &mut Slot) {
        if let ServiceMode::Errors(status) = self.mode {
            slot.status = status;
        }
        let body_len = if slot.status == 200 {
            self.config.response_bytes
        } else {
            0
        };
        let head = self
            .heads
            .get(&self.config.name, slot.status, body_len, slot.keep_alive);
        slot.head.clear();
        slot.head.extend_from_slice(head);
        slot.head_sent = 0;
        slot.body_left = body_len;
        slot.phase = Phase::Sending;
    }

    /// Step 5: sends as much of the response as the socket takes. Once all of it is handed to
    /// TCP the worker is free, and the connection waits for its next request (keep-alive) or
    /// closes.
    fn send(&mut self, slot: &mut Slot, socket: &mut tcp::Socket<'static>, now: SimTime) -> bool {
        let mut acted = send_response(socket, &slot.head, &mut slot.head_sent, &mut slot.body_left);
        if slot.head_sent == slot.head.len() && slot.body_left == 0 {
            match (slot.keep_alive, self.config.keep_alive) {
                (true, Some(timeout)) => {
                    // Keep-alive: wait on this connection for the next request.
                    slot.request.reset();
                    slot.idle_until = Some(now + timeout);
                    slot.phase = Phase::Reading;
                    keep_alive::wait_for_next_request(socket, timeout);
                }
                _ => {
                    socket.close();
                    slot.phase = Phase::Closing;
                }
            }
            self.busy_workers -= 1;
            self.requests_handled += 1;
            acted = true;
        } else if !socket.is_active() {
            // The client went away mid-response.
            slot.phase = Phase::Closing;
            self.busy_workers -= 1;
        }
        acted
    }

    /// Step 6: once the connection is over, the slot listens again: a 4-tuple left in TIME-WAIT
    /// goes into the card's table, and a connection reset while it waited gives back its
    /// worker or its place in the queue.
    fn reuse(
        &mut self,
        index: usize,
        slot: &mut Slot,
        socket: &mut tcp::Socket<'static>,
        now: SimTime,
        device: &mut crate::node::SimDevice,
    ) -> bool {
        match socket.state() {
            tcp::State::TimeWait => {
                if let Some(tuple) = FourTuple::of(socket) {
                    device.policy.time_wait.insert(now, tuple);
                }
                rearm(socket, slot, self.config.port);
                slot.clean = true;
                true
            }
            tcp::State::Closed => {
                match slot.phase {
                    Phase::Serving { .. } => self.busy_workers -= 1,
                    Phase::Queued => self.queue.retain(|&queued| queued != index),
                    _ => {}
                }
                rearm(socket, slot, self.config.port);
                true
            }
            _ => false,
        }
    }
}

impl App for WebServer {
    fn poll(&mut self, cx: &mut AppCtx<'_>) -> bool {
        // SYNs dropped while every slot was taken: counted before anything changes.
        self.collect_listen_drops(cx);
        self.timer = None;
        self.free.clear();
        if self.mode == ServiceMode::Stopped {
            // A stopped process has no listening socket at all: the kernel resets.
            self.set_queue_full(cx, false);
            return self.stop(cx);
        }
        if self.slots.is_empty() {
            self.open_slots(cx);
        }
        let mut acted = false;
        // The slots leave the server during the loop, so that one slot and the server's other
        // fields can be lent to a step together.
        let mut slots = std::mem::take(&mut self.slots);
        // Parked slots are listening out of the stack's walk: nothing can have happened to them.
        for live_index in 0..self.live.len() {
            let index = self.live[live_index];
            // An asleep connection is as this loop last left it (`node::sockets`): only a
            // phase waiting for a time may have something to do.
            let SlotKey { handle, timed } = self.keys[index];
            debug_assert_eq!(timed, slots[index].is_timed(), "slot {index}'s key");
            if !timed && cx.sockets.is_asleep(handle) {
                continue;
            }
            acted |= self.visit(index, &mut slots[index], handle, cx);
        }
        self.slots = slots;
        acted |= self.start_workers(cx);
        let listening = self.balance_pool(cx);
        self.set_queue_full(cx, !listening);
        acted
    }

    fn crash(&mut self) {
        // The sockets went with the host's socket set.
        self.slots.clear();
        self.keys.clear();
        self.live.clear();
        self.parked.clear();
        self.reservation = None;
        self.uncreated = 0;
        self.idle_sockets.clear();
        self.queue.clear();
        self.busy_workers = 0;
        self.free.clear();
        self.timer = None;
        // The card is replaced at boot: its policy drops nothing for us any more.
        self.queue_full = false;
    }

    fn set_service_mode(&mut self, mode: ServiceMode) -> bool {
        self.mode = mode;
        true
    }

    fn report(&self, trace: &mut crate::trace::Trace, node: usize) {
        trace.peers.push(crate::trace::PeerRecord {
            node,
            peers: self.peers.iter().copied().collect(),
            forwarded_for: self.forwarded_for.iter().cloned().collect(),
        });
        if self.listen_drops > 0 {
            trace.listen_drops.push(crate::trace::ListenDropRecord {
                node,
                drops: self.listen_drops,
            });
        }
    }

    fn next_timer(&self) -> Option<SimTime> {
        // Slots the poll's loop skipped wait for no time (it visits every one that does).
        self.timer
    }
}

/// The earlier of two times, either of which may be missing.
fn earliest(a: Option<SimTime>, b: Option<SimTime>) -> Option<SimTime> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// Puts a slot's socket back into LISTEN (discarding smoltcp's own TIME-WAIT: our table keeps it).
fn rearm(socket: &mut tcp::Socket<'static>, slot: &mut Slot, port: u16) {
    socket
        .listen(port)
        .expect("a closed socket can always listen on a non-zero port");
    socket.set_timeout(Some(IDLE_ABORT));
    // TCP_NODELAY, as Apache and nginx set it: without it, Nagle's algorithm holds the short
    // last segment of a response until the client has acknowledged the earlier ones, one round
    // trip lost on every kept-alive response.
    socket.set_nagle_enabled(false);
    slot.phase = Phase::Listening;
    slot.idle_until = None;
}

/// 200 for a path under one of the served prefixes, 404 otherwise.
fn status_for(paths: &[String], path: &str) -> u16 {
    if paths.iter().any(|prefix| path.starts_with(prefix.as_str())) {
        200
    } else {
        404
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_paths_are_not_found() {
        let paths = vec!["/static/".to_string(), "/index.html".to_string()];
        assert_eq!(status_for(&paths, "/static/logo.png"), 200);
        assert_eq!(status_for(&paths, "/index.html"), 200);
        assert_eq!(status_for(&paths, "/admin"), 404);
    }

    /// One client sends 6 requests about 10 ms apart to a server with 1 worker and a backlog
    /// of 1, busy 300 ms per request: from the third SYN on, every slot is taken.
    fn overloaded(abort_on_overflow: bool) -> crate::run::Artifacts {
        let source = format!(
            r#"Scenario(
    name: "overload",
    description: "a full accept queue",
    seed: 1,
    segments: [(name: "lan", bandwidth: "100Mbps", delay: "50us")],
    nodes: [
        WebServer(
            name: "web",
            interface: (attach: "lan", ip: "10.0.0.10/24"),
            workers: 1,
            backlog: 1,
            service_time: Fixed("300ms"),
            abort_on_overflow: {abort_on_overflow},
        ),
        Clients(
            name: "pc",
            count: 1,
            attach: "lan",
            first_ip: "10.0.0.100/24",
            url: "http://10.0.0.10/",
            workload: OpenLoop(rate: 100.0, requests: 6),
            timeout: "10s",
        ),
    ],
)"#
        );
        let scenario =
            crate::scenario::load_str("overload.ron", &source).expect("a valid scenario");
        crate::run::execute(&scenario, 1, false).expect("the run finishes")
    }

    /// Seconds from each request's start to its end, in request order.
    fn latencies(run: &crate::run::Artifacts) -> Vec<f64> {
        let mut requests: Vec<_> = run.trace.requests.records().iter().collect();
        requests.sort_by_key(|r| r.client_seq);
        requests
            .iter()
            .map(|r| (r.end - r.start).as_secs_f64())
            .collect()
    }

    #[test]
    fn a_full_accept_queue_drops_syns_and_clients_retry_after_their_rto() {
        let run = overloaded(false);
        assert!(
            run.trace
                .requests
                .records()
                .iter()
                .all(|r| r.outcome == crate::trace::Outcome::Ok),
            "nothing is refused: {:?}",
            run.trace.requests.records()
        );
        let latencies = latencies(&run);
        // Two requests find a slot; the other four wait for their SYN's retransmission at
        // +1 s, and two of those for the next one at +3 s.
        let after_one_rto = latencies
            .iter()
            .filter(|&&l| (1.0..3.0).contains(&l))
            .count();
        let after_two_rtos = latencies.iter().filter(|&&l| l >= 3.0).count();
        assert_eq!(latencies.len(), 6);
        assert_eq!((after_one_rto, after_two_rtos), (2, 2), "{latencies:?}");
        let drops = run
            .trace
            .listen_drops
            .first()
            .expect("the server dropped SYNs");
        assert_eq!(drops.drops, 6, "4 first SYNs, then 2 retransmissions");
        assert!(run.summary_json.contains("\"listen_drops\": 6"));
    }

    #[test]
    fn abort_on_overflow_resets_as_before() {
        let run = overloaded(true);
        let refused = run
            .trace
            .requests
            .records()
            .iter()
            .filter(|r| r.outcome == crate::trace::Outcome::Refused)
            .count();
        assert_eq!(refused, 4);
        assert!(run.trace.listen_drops.is_empty());
        assert!(!run.summary_json.contains("listen_drops"));
    }

    #[test]
    fn a_head_is_written_once_and_copied_after() {
        let mut heads = ResponseHeads::default();
        let mut expected = Vec::new();
        for (status, len, keep) in [(200, 10, false), (404, 0, true), (200, 10, false)] {
            http::write_response_head(&mut expected, status, "web1", len, keep);
            assert_eq!(heads.get("web1", status, len, keep), &expected[..]);
        }
        assert_eq!(heads.written.len(), 2);
    }

    #[test]
    fn fixed_service_times_do_not_draw() {
        let mut rng = crate::sim::Streams::new(1).stream("s");
        let d = SimDuration::from_millis(5);
        assert_eq!(Distribution::Fixed(d).sample(&mut rng), d);
    }
}
