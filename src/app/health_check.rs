//! *Health checks*: how a balancer learns that a real server is dead, keepalived's way.
//!
//! A balancer that keeps sending clients to a dead server fails their requests. keepalived
//! therefore runs *checkers* against every real server, from the director's own address, with
//! real packets, and takes a server out of the pool when its checks fail:
//!
//! | checker | layer | success means | cannot see |
//! |---|---|---|---|
//! | `PING_CHECK` | 3 | the machine answers ICMP echo | a stopped, hung or failing web process |
//! | `TCP_CHECK` | 4 | something accepts a TCP connection on the port | a hung or failing application |
//! | `HTTP_GET` | 7 | a GET returns an expected status | (it sees them all, at a price) |
//! | `SSL_GET` | 7 | the same over TLS | |
//! | `SMTP_CHECK` | 7 | the mail server greets (220), accepts HELO (250) and QUIT (221) | |
//! | `MISC_CHECK` | any | an external script exits 0 | whatever the script does not test |
//!
//! The timing follows keepalived (`check_tcp.c`, `check_http.c`, `ipwrapper.c`):
//!
//! 1. the first check runs 1 s after start-up plus a random part of `warmup`;
//! 2. while a server is up, a check runs every `delay_loop`;
//! 3. an attempt fails on a refused or reset connection, an ICMP error, a wrong answer, or no
//!    answer within `connect_timeout`;
//! 4. after a failure the checker retries `retry` more times, `delay_before_retry` apart; the
//!    server is declared **down only after `retry + 1` consecutive failures**;
//! 5. once down, it is checked every `delay_loop` (for HTTP_GET and SSL_GET, every
//!    `max(delay_loop, delay_before_retry)`), and **one success brings it back up** (a
//!    monitor's probe, `app::monitor`, may ask for `rise` successes in a row instead).
//!
//! So a server that dies just after a successful check is declared down after about
//! `delay_loop + retry × delay_before_retry` plus the time each attempt takes to fail
//! (`connect_timeout` for a silent server, one round trip for a refusing one).
//!
//! This module only runs the checks and reports each checker's up/down transitions on a
//! shared [`HealthBoard`]; the balancer (`node::l4_balancer`) turns them into pool changes.
//!
//! # Simplifications
//! - `SSL_GET` is `HTTP_GET` plus a fixed handshake delay after the TCP connection, standing in
//!   for the TLS handshake's round trips and crypto (no TLS bytes on the wire).
//! - `MISC_CHECK` runs no program: its result at each check comes from a timeline in the
//!   scenario, standing in for the script's exit code.
//! - `HTTP_GET` checks status codes only (no body digest).
//!
//! # Further reading
//! - keepalived.conf(5); `shared/reference/keepalived-vrrp.md` §1a; `book/src/labs/health-checks.md`.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::rc::Rc;

use smoltcp::iface::SocketHandle;
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::socket::{icmp, tcp};
use smoltcp::wire::{Icmpv4Packet, Icmpv4Repr};

use super::http::{self, ResponseProgress, ResponseReader};
use super::outbound::{OpenError, Outbound};
use crate::node::{App, AppCtx};
use crate::sim::{SimDuration, SimTime, Stream};

/// ICMP identifier of the checkers' echo requests.
const PING_IDENT: u16 = 0x6b61; // "ka"
/// Buffer sizes of a checker's TCP socket.
const BUFFER_BYTES: usize = 8 * 1024;

/// What a checker tests.
#[derive(Clone, Debug, PartialEq)]
pub enum CheckKind {
    /// ICMP echo (`PING_CHECK`).
    Ping,
    /// A TCP connection to `port` (`TCP_CHECK`).
    Tcp {
        /// Port to connect to.
        port: u16,
    },
    /// `GET path` on `port`, expecting one of `status` (`HTTP_GET`); with `handshake`, the
    /// same after a modelled TLS handshake (`SSL_GET`).
    Http {
        /// Port to connect to.
        port: u16,
        /// Path to request.
        path: String,
        /// Accepted status ranges, inclusive.
        status: Vec<(u16, u16)>,
        /// `SSL_GET`: time the TLS handshake costs before the request can go.
        handshake: Option<SimDuration>,
    },
    /// The SMTP dialogue 220 / HELO 250 / QUIT 221 on `port` (`SMTP_CHECK`).
    Smtp {
        /// Port to connect to.
        port: u16,
        /// Name sent with HELO.
        helo: String,
    },
    /// A scripted result (`MISC_CHECK`): from each listed time on, the script "exits" 0
    /// (`true`) or 1 (`false`); before the first entry it succeeds.
    Misc {
        /// `(from, succeeds)`, in time order.
        timeline: Vec<(SimTime, bool)>,
    },
}

impl CheckKind {
    /// keepalived's name for the checker.
    pub fn keyword(&self) -> &'static str {
        match self {
            CheckKind::Ping => "PING_CHECK",
            CheckKind::Tcp { .. } => "TCP_CHECK",
            CheckKind::Http {
                handshake: None, ..
            } => "HTTP_GET",
            CheckKind::Http { .. } => "SSL_GET",
            CheckKind::Smtp { .. } => "SMTP_CHECK",
            CheckKind::Misc { .. } => "MISC_CHECK",
        }
    }
}

/// keepalived's timing knobs for one checker.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CheckTiming {
    /// Time between checks in the steady state.
    pub delay_loop: SimDuration,
    /// How long one attempt may take.
    pub connect_timeout: SimDuration,
    /// Extra attempts before an up server is declared down.
    pub retry: u32,
    /// Time between those attempts.
    pub delay_before_retry: SimDuration,
    /// The first check waits 1 s plus a random part of this.
    pub warmup: SimDuration,
}

/// One checker.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckerConfig {
    /// What it tests.
    pub kind: CheckKind,
    /// The real server's address.
    pub target: Ipv4Addr,
    /// When.
    pub timing: CheckTiming,
    /// `alpha`: start as failed, so the server joins only after a first success.
    pub alpha: bool,
    /// Successes in a row that bring a failed server back up: 1 for keepalived, a monitor's
    /// `clear_after` for a monitor probe.
    pub rise: u32,
}

/// A checker changed its mind about its server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckTransition {
    /// Index of the checker (in the order they were given to [`HealthChecker::new`]).
    pub checker: usize,
    /// Up (`true`) or down.
    pub up: bool,
    /// Why, in words (`"TCP_CHECK: connection refused"`).
    pub cause: String,
}

/// Where checkers post their transitions for the balancer to read.
pub type HealthBoard = Rc<RefCell<Vec<CheckTransition>>>;

/// An attempt in progress.
enum Attempt {
    /// An echo request with this sequence number.
    Ping { seq: u16 },
    /// A TCP-based check on this socket and local port.
    Stream {
        /// The socket.
        handle: SocketHandle,
        /// Its local port.
        port: u16,
        /// Whether the connection was established.
        established: bool,
        /// Protocol progress.
        step: StreamStep,
    },
}

/// How far a TCP-based check got.
enum StreamStep {
    /// TCP_CHECK: success on connect.
    Connect,
    /// HTTP_GET/SSL_GET: the request goes at `send_at` (after the handshake), then the reply.
    Http {
        /// When the request may be sent (connection time + handshake).
        send_at: Option<SimTime>,
        /// Whether it was sent.
        sent: bool,
        /// The response so far.
        reader: ResponseReader,
    },
    /// SMTP: lines received so far, and what was sent.
    Smtp {
        /// Received bytes not yet a whole line.
        line: Vec<u8>,
        /// 0: awaiting 220; 1: HELO sent, awaiting 250; 2: QUIT sent, awaiting 221.
        stage: u8,
    },
}

/// One checker's state.
struct Checker {
    /// Configuration.
    config: CheckerConfig,
    /// Whether the checker considers its server up.
    up: bool,
    /// Consecutive failed attempts.
    failures: u32,
    /// Consecutive successful attempts while the server is considered down.
    successes: u32,
    /// When the next attempt starts (if none is running).
    next_at: SimTime,
    /// The running attempt and its deadline.
    attempt: Option<(Attempt, SimTime)>,
}

/// The health-checking application running on a balancer's own stack.
pub struct HealthChecker {
    /// The checkers.
    checkers: Vec<Checker>,
    /// Where transitions go.
    board: HealthBoard,
    /// Its connections to the real servers: ports, closing and reusable sockets.
    outbound: Outbound,
    /// The ICMP socket, created on first use.
    icmp: Option<SocketHandle>,
    /// Next echo sequence number, and which checker each outstanding one belongs to.
    next_seq: u16,
    /// Outstanding echo requests: sequence number → checker.
    pings: BTreeMap<u16, usize>,
}

impl HealthChecker {
    /// Checkers with their first checks scheduled (1 s + a random part of `warmup`).
    pub fn new(configs: Vec<CheckerConfig>, board: HealthBoard, rng: &mut Stream) -> Self {
        let checkers = configs
            .into_iter()
            .map(|config| {
                let warmup = config.timing.warmup.as_nanos();
                let jitter = if warmup == 0 { 0 } else { rng.below(warmup) };
                Checker {
                    up: !config.alpha,
                    failures: 0,
                    successes: 0,
                    next_at: SimTime::ZERO
                        + SimDuration::from_secs(1)
                        + SimDuration::from_nanos(jitter),
                    attempt: None,
                    config,
                }
            })
            .collect();
        HealthChecker {
            checkers,
            board,
            outbound: Outbound::new(BUFFER_BYTES),
            icmp: None,
            next_seq: 0,
            pings: BTreeMap::new(),
        }
    }

    /// Starts checker `i`'s attempt; returns the result at once when there is nothing to wait
    /// for (MISC_CHECK, or a socket that cannot even be opened).
    fn start(&mut self, cx: &mut AppCtx<'_>, i: usize) -> Option<Result<(), String>> {
        let deadline = cx.now + self.checkers[i].config.timing.connect_timeout;
        let target = self.checkers[i].config.target;
        let (port, step) = match &self.checkers[i].config.kind {
            CheckKind::Misc { timeline } => {
                let ok = timeline
                    .iter()
                    .rev()
                    .find(|(from, _)| *from <= cx.now)
                    .is_none_or(|(_, ok)| *ok);
                return Some(if ok {
                    Ok(())
                } else {
                    Err("script exited 1".to_string())
                });
            }
            CheckKind::Ping => return self.send_ping(cx, i, deadline),
            CheckKind::Tcp { port } => (*port, StreamStep::Connect),
            CheckKind::Http { port, .. } => (
                *port,
                StreamStep::Http {
                    send_at: None,
                    sent: false,
                    reader: ResponseReader::default(),
                },
            ),
            CheckKind::Smtp { port, .. } => (
                *port,
                StreamStep::Smtp {
                    line: Vec::new(),
                    stage: 0,
                },
            ),
        };
        let (handle, local_port) = match self.outbound.open(cx, (target, port), None) {
            Ok(connection) => connection,
            Err(OpenError::NoPort) => return Some(Err("no free local port".to_string())),
            Err(OpenError::Refused) => return Some(Err("cannot connect".to_string())),
        };
        self.checkers[i].attempt = Some((
            Attempt::Stream {
                handle,
                port: local_port,
                established: false,
                step,
            },
            deadline,
        ));
        None
    }

    /// Sends an echo request for checker `i`.
    fn send_ping(
        &mut self,
        cx: &mut AppCtx<'_>,
        i: usize,
        deadline: SimTime,
    ) -> Option<Result<(), String>> {
        let handle = *self
            .icmp
            .get_or_insert_with(|| super::ping::open_socket(cx, PING_IDENT, 16, 4096));
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        let repr = Icmpv4Repr::EchoRequest {
            ident: PING_IDENT,
            seq_no: seq,
            data: b"keepalived",
        };
        let socket = cx.sockets.get_mut::<icmp::Socket>(handle);
        match socket.send(repr.buffer_len(), self.checkers[i].config.target.into()) {
            Ok(buffer) => {
                repr.emit(
                    &mut Icmpv4Packet::new_unchecked(buffer),
                    &ChecksumCapabilities::default(),
                );
                self.pings.insert(seq, i);
                self.checkers[i].attempt = Some((Attempt::Ping { seq }, deadline));
                None
            }
            Err(_) => Some(Err("cannot send echo request".to_string())),
        }
    }

    /// Echo replies that arrived: the checkers that sent them succeed.
    fn collect_pings(&mut self, cx: &mut AppCtx<'_>) -> Vec<usize> {
        let Some(handle) = self.icmp else {
            return Vec::new();
        };
        let caps = ChecksumCapabilities::default();
        let socket = cx.sockets.get_mut::<icmp::Socket>(handle);
        let mut done = Vec::new();
        while let Ok((bytes, _)) = socket.recv() {
            if let Ok(packet) = Icmpv4Packet::new_checked(bytes)
                && let Ok(Icmpv4Repr::EchoReply { ident, seq_no, .. }) =
                    Icmpv4Repr::parse(&packet, &caps)
                && ident == PING_IDENT
                && let Some(i) = self.pings.remove(&seq_no)
            {
                done.push(i);
            }
        }
        done
    }

    /// Advances a TCP-based attempt; `Some` once it has a result.
    fn progress_stream(
        &mut self,
        cx: &mut AppCtx<'_>,
        i: usize,
        icmp_errors: &[crate::node::IcmpError],
    ) -> Option<Result<(), String>> {
        let kind = self.checkers[i].config.kind.clone();
        let target = self.checkers[i].config.target;
        let Some((
            Attempt::Stream {
                handle,
                port,
                established,
                step,
            },
            _,
        )) = &mut self.checkers[i].attempt
        else {
            return None;
        };
        let socket = cx.sockets.get_mut::<tcp::Socket>(*handle);
        if icmp_errors
            .iter()
            .any(|e| e.local_port == *port && e.remote_ip == target)
        {
            return Some(Err("ICMP destination unreachable".to_string()));
        }
        if !*established {
            if socket.state() == tcp::State::Established {
                *established = true;
                if let StreamStep::Http { send_at, .. } = step {
                    let handshake = match &kind {
                        CheckKind::Http { handshake, .. } => handshake.unwrap_or_default(),
                        _ => SimDuration::ZERO,
                    };
                    *send_at = Some(cx.now + handshake);
                }
            } else if !socket.is_open() {
                return Some(Err("connection refused".to_string()));
            } else {
                return None;
            }
        }
        match step {
            StreamStep::Connect => Some(Ok(())),
            StreamStep::Http {
                send_at,
                sent,
                reader,
            } => http_exchange(socket, &kind, target, cx.now, *send_at, sent, reader),
            StreamStep::Smtp { line, stage } => smtp_dialogue(socket, &kind, line, stage),
        }
    }

    /// Ends checker `i`'s attempt with `result` and applies keepalived's rules (steps 4–5).
    fn finish(&mut self, cx: &mut AppCtx<'_>, i: usize, result: Result<(), String>) {
        if let Some((attempt, _)) = self.checkers[i].attempt.take() {
            match attempt {
                Attempt::Ping { seq } => {
                    self.pings.remove(&seq);
                }
                Attempt::Stream { handle, port, .. } => {
                    // keepalived closes a good connection politely, resets a failed one.
                    self.outbound.finish(cx, handle, port, result.is_err());
                }
            }
        }
        let checker = &mut self.checkers[i];
        let timing = checker.config.timing;
        let keyword = checker.config.kind.keyword();
        let down_cadence = match checker.config.kind {
            CheckKind::Http { .. } => timing.delay_loop.max(timing.delay_before_retry),
            _ => timing.delay_loop,
        };
        match result {
            Ok(()) => {
                checker.failures = 0;
                checker.next_at = cx.now + timing.delay_loop;
                if !checker.up {
                    // keepalived needs one success (`rise` 1); a monitor may need more.
                    checker.successes += 1;
                    if checker.successes < checker.config.rise.max(1) {
                        return;
                    }
                    checker.successes = 0;
                    checker.up = true;
                    self.board.borrow_mut().push(CheckTransition {
                        checker: i,
                        up: true,
                        cause: format!("{keyword} succeeded"),
                    });
                }
            }
            Err(reason) => {
                if checker.up {
                    checker.failures += 1;
                    if checker.failures > timing.retry {
                        checker.up = false;
                        checker.failures = 0;
                        checker.next_at = cx.now + down_cadence;
                        self.board.borrow_mut().push(CheckTransition {
                            checker: i,
                            up: false,
                            cause: format!("{keyword}: {reason}"),
                        });
                    } else {
                        checker.next_at = cx.now + timing.delay_before_retry;
                    }
                } else {
                    checker.successes = 0;
                    checker.next_at = cx.now + down_cadence;
                }
            }
        }
    }

    /// Whether checker `i` considers its server up.
    pub fn is_up(&self, i: usize) -> bool {
        self.checkers[i].up
    }
}

/// An HTTP_GET or SSL_GET check once connected: sends `GET path` when `send_at` comes (after
/// the modelled TLS handshake), then reads the response and compares its status with the
/// accepted ranges. `Some` once it has a result.
fn http_exchange(
    socket: &mut tcp::Socket<'_>,
    kind: &CheckKind,
    target: Ipv4Addr,
    now: SimTime,
    send_at: Option<SimTime>,
    sent: &mut bool,
    reader: &mut ResponseReader,
) -> Option<Result<(), String>> {
    let CheckKind::Http { path, status, .. } = kind else {
        unreachable!("an HTTP step belongs to an HTTP checker");
    };
    if !*sent && send_at.is_some_and(|at| at <= now) && socket.can_send() {
        let mut request = Vec::new();
        http::write_request(&mut request, &target.to_string(), path, false);
        let _ = socket.send_slice(&request);
        *sent = true;
    }
    while socket.can_recv() {
        let progress = socket
            .recv(|bytes| (bytes.len(), reader.feed(bytes)))
            .unwrap_or(ResponseProgress::Malformed);
        match progress {
            ResponseProgress::Complete => {
                let code = reader.head().map_or(0, |h| h.status);
                return Some(
                    if status.iter().any(|&(lo, hi)| (lo..=hi).contains(&code)) {
                        Ok(())
                    } else {
                        Err(format!("status {code}"))
                    },
                );
            }
            ResponseProgress::Malformed => {
                return Some(Err("not an HTTP response".to_string()));
            }
            ResponseProgress::Incomplete => {}
        }
    }
    if !socket.may_recv() || !socket.is_open() {
        return Some(Err("connection closed before the response".to_string()));
    }
    None
}

/// An SMTP_CHECK once connected: waits for the `220` greeting, says `HELO`, expects `250`,
/// says `QUIT`, expects `221`. `Some` once it has a result.
fn smtp_dialogue(
    socket: &mut tcp::Socket<'_>,
    kind: &CheckKind,
    line: &mut Vec<u8>,
    stage: &mut u8,
) -> Option<Result<(), String>> {
    let CheckKind::Smtp { helo, .. } = kind else {
        unreachable!("an SMTP step belongs to an SMTP checker");
    };
    while socket.can_recv() {
        let _ = socket.recv(|bytes| {
            line.extend_from_slice(bytes);
            (bytes.len(), ())
        });
    }
    while let Some(end) = line.windows(2).position(|w| w == b"\r\n") {
        let reply: Vec<u8> = line.drain(..end + 2).collect();
        let expected: &[u8] = match stage {
            0 => b"220",
            1 => b"250",
            _ => b"221",
        };
        if !reply.starts_with(expected) {
            let text = String::from_utf8_lossy(&reply[..reply.len() - 2]).into_owned();
            return Some(Err(format!("SMTP replied \"{text}\"")));
        }
        match stage {
            0 => {
                let _ = socket.send_slice(format!("HELO {helo}\r\n").as_bytes());
                *stage = 1;
            }
            1 => {
                let _ = socket.send_slice(b"QUIT\r\n");
                *stage = 2;
            }
            _ => return Some(Ok(())),
        }
    }
    if !socket.may_recv() || !socket.is_open() {
        return Some(Err("connection closed during the SMTP dialogue".to_string()));
    }
    None
}

impl App for HealthChecker {
    fn crash(&mut self) {
        // The sockets are gone, and keepalived starts afresh: servers up unless `alpha`.
        self.outbound.forget_sockets();
        self.icmp = None;
        self.pings.clear();
        for checker in &mut self.checkers {
            checker.attempt = None;
            checker.up = !checker.config.alpha;
            checker.failures = 0;
            checker.successes = 0;
        }
    }

    fn poll(&mut self, cx: &mut AppCtx<'_>) -> bool {
        self.outbound.recycle(cx);
        let icmp_errors = std::mem::take(&mut cx.device.policy.icmp_errors);
        let mut acted = false;
        for i in self.collect_pings(cx) {
            if matches!(self.checkers[i].attempt, Some((Attempt::Ping { .. }, _))) {
                self.finish(cx, i, Ok(()));
                acted = true;
            }
        }
        for i in 0..self.checkers.len() {
            let mut result = None;
            if self.checkers[i].attempt.is_none() && self.checkers[i].next_at <= cx.now {
                result = self.start(cx, i);
                acted = true;
            }
            if result.is_none()
                && matches!(self.checkers[i].attempt, Some((Attempt::Stream { .. }, _)))
            {
                result = self.progress_stream(cx, i, &icmp_errors);
            }
            if result.is_none()
                && let Some((_, deadline)) = &self.checkers[i].attempt
                && *deadline <= cx.now
            {
                result = Some(Err("no answer within connect_timeout".to_string()));
            }
            if let Some(result) = result {
                self.finish(cx, i, result);
                acted = true;
            }
        }
        acted
    }

    fn next_timer(&self) -> Option<SimTime> {
        self.checkers
            .iter()
            .map(|c| match &c.attempt {
                Some((
                    Attempt::Stream {
                        step:
                            StreamStep::Http {
                                send_at: Some(at),
                                sent: false,
                                ..
                            },
                        ..
                    },
                    deadline,
                )) => (*at).min(*deadline),
                Some((_, deadline)) => *deadline,
                None => c.next_at,
            })
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_keepalived_s() {
        assert_eq!(CheckKind::Ping.keyword(), "PING_CHECK");
        let http = CheckKind::Http {
            port: 80,
            path: "/".into(),
            status: vec![(200, 299)],
            handshake: None,
        };
        assert_eq!(http.keyword(), "HTTP_GET");
        let ssl = CheckKind::Http {
            port: 443,
            path: "/".into(),
            status: vec![(200, 299)],
            handshake: Some(SimDuration::from_millis(2)),
        };
        assert_eq!(ssl.keyword(), "SSL_GET");
    }

    #[test]
    fn first_checks_wait_a_second_plus_warmup() {
        let config = CheckerConfig {
            kind: CheckKind::Ping,
            target: Ipv4Addr::new(10, 0, 0, 1),
            timing: CheckTiming {
                delay_loop: SimDuration::from_secs(6),
                connect_timeout: SimDuration::from_secs(5),
                retry: 1,
                delay_before_retry: SimDuration::from_secs(1),
                warmup: SimDuration::from_secs(6),
            },
            alpha: false,
            rise: 1,
        };
        let mut rng = crate::sim::Streams::new(1).stream("check");
        let checker = HealthChecker::new(vec![config], HealthBoard::default(), &mut rng);
        let first = checker.checkers[0].next_at;
        assert!(first >= SimTime::ZERO + SimDuration::from_secs(1));
        assert!(first < SimTime::ZERO + SimDuration::from_secs(7));
        assert!(checker.is_up(0), "without alpha a server starts up");
    }
}
