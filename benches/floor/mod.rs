//! The floor under netlab's cost per request: smoltcp's TCP with nothing around it.
//!
//! Issue 15 asks for 80,000 requests per CPU-second on the reference workload by name
//! (`reference.rs`). Every one of those requests goes through smoltcp twice (the client's
//! stack and the server's), and smoltcp is a fixed choice. This module runs the same exchange
//! in smoltcp alone, so that what netlab adds (events in exact order, switches, a router, the
//! applications, the request log) can be read as the difference:
//!
//! - one client interface and one server interface on a single wire, frames handed from one
//!   to the other in memory (1 Gbps, 1.1 ms one way: the reference's 1 ms + 0.1 ms), from a
//!   pool of buffers as netlab's frames are, zero-filled as smoltcp needs;
//! - one request at a time, each a fresh connection: a 200-byte request, the reference's
//!   response (its head and a 10 KiB body, from a prebuilt buffer), the server closing first
//!   and its socket listening again at once (netlab keeps TIME-WAIT outside smoltcp too);
//! - the same socket buffers and options as netlab's web server and client, and the same
//!   checksum offload;
//! - no event queue (the next instant is the earliest of the two wires and the two stacks'
//!   `poll_at`), no log, no report. The client reads by discarding, not by copying.
//!
//! So it is a floor, not a model: anything that simulates the reference workload with
//! smoltcp stacks costs about this much per request at the least (this loop is a few lines,
//! and its caches stay warm). BENCHMARKS.md (round 16) compares it with netlab's figure.
//!
//! `cargo bench --bench smoltcp_floor` measures it alone; `cargo bench --bench reference`
//! measures it beside netlab and prints how many times the floor netlab costs.

use std::cell::RefCell;
use std::collections::VecDeque;

use smoltcp::iface::{Config, Interface, PollResult, SocketHandle, SocketSet};
use smoltcp::phy::{self, Device, DeviceCapabilities};
use smoltcp::socket::tcp;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr, Ipv4Address};

/// The request's bytes, as the reference workload's clients send.
const REQUEST_BYTES: usize = 200;
/// The response's head: as long as the one netlab's web server `web1` writes for the reference.
const HEAD_BYTES: usize = 122;
/// The response body.
const BODY_BYTES: usize = 10 * 1024;
/// One way across the wire: the client side's 1 ms and the server side's 0.1 ms.
const ONE_WAY: Duration = Duration::from_micros(1_100);
/// 1 Gbps: 8 ns a byte.
const NANOS_PER_BYTE: u64 = 8;
/// The server's address (the client is 10.0.0.1, on the same /24).
const SERVER_IP: Ipv4Address = Ipv4Address::new(10, 0, 0, 2);

/// What one run did.
pub struct Outcome {
    /// Requests completed.
    pub requests: u64,
    /// Frames handed from one interface to the other.
    pub frames: u64,
    /// The virtual time the last request ended.
    pub virtual_end: Instant,
}

/// Runs `requests` requests one after the other and returns what happened.
pub fn run(requests: u64) -> Outcome {
    let pool = RefCell::new(Vec::new());
    let mut client = Stack::new(1, &pool);
    let mut server = Stack::new(2, &pool);
    let listener = server.sockets.add(server_socket());
    let connection = client.sockets.add(client_socket());
    let response = response_bytes();

    let mut now = Instant::ZERO;
    let mut done = 0;
    let mut frames = 0;
    let mut phase = ClientPhase::Idle;
    let mut answered = false;
    while done < requests {
        // Everything due at `now`, until neither stack nor application has more to do.
        let mut rounds = 0;
        loop {
            rounds += 1;
            assert!(rounds < 1_000, "no progress at {now}");
            let mut busy = client.poll(now) | server.poll(now);
            frames += client.port.hand_over(&mut server.port);
            frames += server.port.hand_over(&mut client.port);
            busy |= server_app(&mut server.sockets, listener, &response, &mut answered);
            if done < requests && client_app(&mut client, connection, done, &mut phase) {
                busy = true;
                if phase == ClientPhase::Done {
                    done += 1;
                    phase = ClientPhase::Idle;
                }
            }
            let due = client.port.due(now) || server.port.due(now);
            if !busy && !due {
                break;
            }
        }
        let next = [
            client.port.next_arrival(),
            server.port.next_arrival(),
            client.iface.poll_at(now, &client.sockets),
            server.iface.poll_at(now, &server.sockets),
        ]
        .into_iter()
        .flatten()
        .min();
        match next {
            Some(next) if next > now => now = next,
            Some(_) => {}
            None if done < requests => panic!("nothing left to do at {now}"),
            None => {}
        }
    }
    Outcome {
        requests: done,
        frames,
        virtual_end: now,
    }
}

/// Checks that `outcome` is the reference's exchange: every request completed, 18 frames a
/// connection (handshake, request, 8 response segments, the client's acknowledgements, both
/// closes) with the two ARP frames of the first request, and at least two round trips a
/// request (the handshake, then the request and its response).
pub fn check(outcome: &Outcome, requests: u64) {
    assert_eq!(outcome.requests, requests, "every request completes");
    assert_eq!(outcome.frames, 18 * requests + 2, "the reference's frames");
    let two_round_trips = ONE_WAY.total_micros() * 4;
    assert!(
        outcome.virtual_end.total_micros() >= two_round_trips as i64 * requests as i64,
        "a request takes two round trips at least"
    );
}

/// Where the client's one request is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ClientPhase {
    Idle,
    Connecting,
    Reading(usize),
    Closing,
    Done,
}

/// The client: connect, send the request, read (and drop) the response, close after the
/// server's FIN; `Done` once the socket is closed. Returns whether it did anything.
fn client_app(
    stack: &mut Stack,
    handle: SocketHandle,
    index: u64,
    phase: &mut ClientPhase,
) -> bool {
    let socket = stack.sockets.get_mut::<tcp::Socket>(handle);
    match *phase {
        ClientPhase::Idle => {
            let port = 49_152 + (index % 16_000) as u16;
            socket
                .connect(stack.iface.context(), (SERVER_IP, 80), port)
                .expect("the client socket is closed between requests");
            socket.set_timeout(None);
            *phase = ClientPhase::Connecting;
            true
        }
        ClientPhase::Connecting if socket.may_send() => {
            let request = [b'x'; REQUEST_BYTES];
            assert_eq!(socket.send_slice(&request), Ok(REQUEST_BYTES));
            *phase = ClientPhase::Reading(0);
            true
        }
        ClientPhase::Reading(read) if socket.can_recv() => {
            let got = socket
                .recv(|data| (data.len(), data.len()))
                .expect("a readable socket");
            *phase = ClientPhase::Reading(read + got);
            true
        }
        ClientPhase::Reading(read) if !socket.may_recv() => {
            assert_eq!(read, HEAD_BYTES + BODY_BYTES, "the whole response");
            socket.set_timeout(Some(Duration::from_secs(10))); // netlab's `CLOSE_ABORT`
            socket.close();
            *phase = ClientPhase::Closing;
            true
        }
        ClientPhase::Closing if socket.state() == tcp::State::Closed => {
            *phase = ClientPhase::Done;
            true
        }
        _ => false,
    }
}

/// The server: once the request is in, write the response and close; once the connection
/// is in TIME-WAIT (or closed), listen again. Returns whether it did anything.
fn server_app(
    sockets: &mut SocketSet<'static>,
    handle: SocketHandle,
    response: &[u8],
    answered: &mut bool,
) -> bool {
    let socket = sockets.get_mut::<tcp::Socket>(handle);
    if !*answered && socket.recv_queue() >= REQUEST_BYTES {
        socket
            .recv(|data| (data.len(), ()))
            .expect("a readable socket");
        assert_eq!(socket.send_slice(response), Ok(response.len()));
        socket.close();
        *answered = true;
        return true;
    }
    if *answered && matches!(socket.state(), tcp::State::TimeWait | tcp::State::Closed) {
        rearm(socket);
        *answered = false;
        return true;
    }
    false
}

/// One host: its interface, its sockets and its port on the wire.
struct Stack<'p> {
    iface: Interface,
    sockets: SocketSet<'static>,
    port: Port<'p>,
}

impl<'p> Stack<'p> {
    /// The host `10.0.0.<host>` with MAC `02:00:00:00:00:<host>`.
    fn new(host: u8, pool: &'p RefCell<Vec<Vec<u8>>>) -> Self {
        let mut port = Port::new(pool);
        let mac = EthernetAddress([0x02, 0, 0, 0, 0, host]);
        let mut config = Config::new(HardwareAddress::Ethernet(mac));
        config.random_seed = u64::from(host);
        let mut iface = Interface::new(config, &mut port, Instant::ZERO);
        iface.update_ip_addrs(|addrs| {
            addrs
                .push(IpCidr::new(IpAddress::v4(10, 0, 0, host), 24))
                .expect("room for one address");
        });
        Stack {
            iface,
            sockets: SocketSet::new(Vec::new()),
            port,
        }
    }

    /// One pass of smoltcp at `now`; whether a socket's state changed.
    fn poll(&mut self, now: Instant) -> bool {
        self.port.now = now;
        self.iface.poll(now, &mut self.port, &mut self.sockets) == PollResult::SocketStateChanged
    }
}

/// The server's socket, with netlab's web server's buffers and options.
fn server_socket() -> tcp::Socket<'static> {
    let mut socket = tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0; 4096]),
        tcp::SocketBuffer::new(vec![0; 16 * 1024]),
    );
    rearm(&mut socket);
    socket
}

/// Listens again, as netlab's web server does when a connection is over.
fn rearm(socket: &mut tcp::Socket<'static>) {
    socket.listen(80).expect("a closed socket can listen");
    socket.set_timeout(Some(Duration::from_secs(30))); // netlab's `IDLE_ABORT`
    socket.set_nagle_enabled(false);
}

/// The client's socket, with netlab's HTTP client's buffers.
fn client_socket() -> tcp::Socket<'static> {
    tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0; 32 * 1024]),
        tcp::SocketBuffer::new(vec![0; 1024]),
    )
}

/// The response: a head of [`HEAD_BYTES`] and a body of [`BODY_BYTES`].
fn response_bytes() -> Vec<u8> {
    let mut response = vec![b'h'; HEAD_BYTES];
    response.extend((0..BODY_BYTES).map(|i| b'a' + (i % 26) as u8));
    response
}

/// A host's end of the wire: frames arriving (with the instant each arrives), frames sent
/// in the current pass, and the buffers shared by both ends.
struct Port<'p> {
    now: Instant,
    inbox: VecDeque<(Instant, Vec<u8>)>,
    outbox: Vec<Vec<u8>>,
    /// When the wire out of this port is free again (serialisation at 1 Gbps).
    free_at: Instant,
    pool: &'p RefCell<Vec<Vec<u8>>>,
}

impl<'p> Port<'p> {
    fn new(pool: &'p RefCell<Vec<Vec<u8>>>) -> Self {
        Port {
            now: Instant::ZERO,
            inbox: VecDeque::new(),
            outbox: Vec::new(),
            free_at: Instant::ZERO,
            pool,
        }
    }

    /// Moves the frames sent in this pass onto the wire towards `peer`; how many.
    fn hand_over(&mut self, peer: &mut Port<'p>) -> u64 {
        let sent = self.outbox.len() as u64;
        for frame in self.outbox.drain(..) {
            let start = self.free_at.max(self.now);
            let serialise = nanos(frame.len() as u64 * NANOS_PER_BYTE);
            self.free_at = start + serialise;
            peer.inbox.push_back((self.free_at + ONE_WAY, frame));
        }
        sent
    }

    /// Whether a frame has arrived by `now`.
    fn due(&self, now: Instant) -> bool {
        self.inbox.front().is_some_and(|(at, _)| *at <= now)
    }

    /// When the next frame arrives.
    fn next_arrival(&self) -> Option<Instant> {
        self.inbox.front().map(|(at, _)| *at)
    }
}

/// smoltcp's `Duration` counts microseconds; the wire's times are rounded up to one.
fn nanos(n: u64) -> Duration {
    Duration::from_micros(n.div_ceil(1000))
}

impl<'p> Device for Port<'p> {
    type RxToken<'a>
        = Rx<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = Tx<'a>
    where
        Self: 'a;

    fn receive(&mut self, now: Instant) -> Option<(Rx<'_>, Tx<'_>)> {
        if !self.due(now) {
            return None;
        }
        let (_, frame) = self.inbox.pop_front()?;
        Some((
            Rx {
                frame,
                pool: self.pool,
            },
            Tx {
                outbox: &mut self.outbox,
                pool: self.pool,
            },
        ))
    }

    fn transmit(&mut self, _now: Instant) -> Option<Tx<'_>> {
        Some(Tx {
            outbox: &mut self.outbox,
            pool: self.pool,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        // netlab's own card: Ethernet, 1514-byte frames, receive checksum offload.
        netlab::node::host_card()
    }
}

/// A received frame; its buffer goes back to the pool once smoltcp has read it.
struct Rx<'a> {
    frame: Vec<u8>,
    pool: &'a RefCell<Vec<Vec<u8>>>,
}

impl phy::RxToken for Rx<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        let result = f(&self.frame);
        self.pool.borrow_mut().push(self.frame);
        result
    }
}

/// A frame to send, written into a pooled buffer.
struct Tx<'a> {
    outbox: &'a mut Vec<Vec<u8>>,
    pool: &'a RefCell<Vec<Vec<u8>>>,
}

impl phy::TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut frame = self.pool.borrow_mut().pop().unwrap_or_default();
        frame.clear();
        frame.resize(len, 0);
        let result = f(&mut frame);
        self.outbox.push(frame);
        result
    }
}
