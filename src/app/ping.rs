//! *Ping*: ICMP echo requests and replies, the simplest "is it alive?" test.
//!
//! `ping` sends an ICMP echo request (type 8) carrying an identifier and a sequence number;
//! the target's IP stack answers with an echo reply (type 0) carrying the same two numbers.
//! The time between the two is the round-trip time (RTT). No reply within the timeout means
//! the target, or the path to it, is down, or that something on the way said so with an ICMP
//! error.
//!
//! The first ping to a new neighbour is slower: the sender (and each router on the way) must
//! first learn the next hop's MAC address with ARP.
//!
//! # Simplifications
//! - ICMP errors (unreachable, time exceeded) are not reported separately: the echo simply
//!   gets no reply. They are in the capture.
//!
//! # Further reading
//! - RFC 792 (ICMP), echo and echo reply; `book/src/labs/two-subnets-ping.md`.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use smoltcp::iface::SocketHandle;
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::socket::icmp;
use smoltcp::wire::{Icmpv4Packet, Icmpv4Repr};

use crate::node::{App, AppCtx};
use crate::sim::{SimDuration, SimTime};
use crate::trace::PingRecord;

/// Payload of each echo request, in bytes (Linux ping's default is 56).
const PAYLOAD_BYTES: usize = 56;

/// What to ping and how often.
#[derive(Clone, Debug)]
pub struct PingConfig {
    /// The address to ping.
    pub target: Ipv4Addr,
    /// Echo requests to send.
    pub count: u32,
    /// Time between requests.
    pub interval: SimDuration,
    /// When the first request goes.
    pub start: SimTime,
    /// How long to wait for each reply.
    pub timeout: SimDuration,
    /// The ICMP identifier (distinguishes this pinger's replies).
    pub ident: u16,
}

/// A pinger application.
pub struct Pinger {
    /// Configuration.
    config: PingConfig,
    /// Its ICMP socket, created on the first poll.
    handle: Option<SocketHandle>,
    /// Requests sent so far.
    sent: u32,
    /// Requests awaiting a reply: sequence number → when it was sent.
    outstanding: BTreeMap<u16, SimTime>,
}

impl Pinger {
    /// A pinger that starts at `config.start`.
    pub fn new(config: PingConfig) -> Pinger {
        Pinger {
            config,
            handle: None,
            sent: 0,
            outstanding: BTreeMap::new(),
        }
    }

    /// When the next request is due, if any is left.
    fn next_send(&self) -> Option<SimTime> {
        (self.sent < self.config.count)
            .then(|| self.config.start + self.config.interval.times(self.sent as u64))
    }

    /// Records the fate of one request.
    fn record(&mut self, cx: &mut AppCtx<'_>, seq: u16, sent: SimTime, replied: Option<SimTime>) {
        cx.trace.pings.push(PingRecord {
            host_node: cx.node_index,
            target: self.config.target.to_string(),
            seq,
            sent,
            replied,
        });
    }
}

/// An ICMP socket bound to the echo identifier `ident`, in the host's set, each way holding
/// up to `packets` packets in `bytes` bytes. The pinger and the `ICMP_CHECK` health checker
/// (`health_check`) both ping through one.
pub(super) fn open_socket(
    cx: &mut AppCtx<'_>,
    ident: u16,
    packets: usize,
    bytes: usize,
) -> SocketHandle {
    let buffer =
        || icmp::PacketBuffer::new(vec![icmp::PacketMetadata::EMPTY; packets], vec![0; bytes]);
    let mut socket = icmp::Socket::new(buffer(), buffer());
    socket
        .bind(icmp::Endpoint::Ident(ident))
        .expect("a fresh ICMP socket binds to any identifier");
    cx.sockets.add(socket)
}

impl Pinger {
    /// Records the echo replies that arrived for requests still outstanding.
    fn take_replies(&mut self, cx: &mut AppCtx<'_>, handle: SocketHandle) {
        let caps = ChecksumCapabilities::default();
        let mut replies = Vec::new();
        let socket = cx.sockets.get_mut::<icmp::Socket>(handle);
        while let Ok((bytes, _from)) = socket.recv() {
            let Ok(packet) = Icmpv4Packet::new_checked(bytes) else {
                continue;
            };
            if let Ok(Icmpv4Repr::EchoReply { ident, seq_no, .. }) =
                Icmpv4Repr::parse(&packet, &caps)
                && ident == self.config.ident
            {
                replies.push(seq_no);
            }
        }
        for seq in replies {
            if let Some(sent) = self.outstanding.remove(&seq) {
                self.record(cx, seq, sent, Some(cx.now));
            }
        }
    }

    /// Records as lost the requests whose time ran out.
    fn expire(&mut self, cx: &mut AppCtx<'_>) {
        let timeout = self.config.timeout;
        let expired: Vec<(u16, SimTime)> = self
            .outstanding
            .iter()
            .filter(|&(_, &sent)| sent + timeout <= cx.now)
            .map(|(&seq, &sent)| (seq, sent))
            .collect();
        for (seq, sent) in expired {
            self.outstanding.remove(&seq);
            self.record(cx, seq, sent, None);
        }
    }

    /// Sends the next echo request if one is due and the socket has room. True if it went.
    fn send_due(&mut self, cx: &mut AppCtx<'_>, handle: SocketHandle) -> bool {
        let Some(due) = self.next_send() else {
            return false;
        };
        let socket = cx.sockets.get_mut::<icmp::Socket>(handle);
        if due > cx.now || !socket.can_send() {
            return false;
        }
        let seq = self.sent as u16;
        let payload = [0x61u8; PAYLOAD_BYTES];
        let repr = Icmpv4Repr::EchoRequest {
            ident: self.config.ident,
            seq_no: seq,
            data: &payload,
        };
        let Ok(buffer) = socket.send(repr.buffer_len(), self.config.target.into()) else {
            return false;
        };
        let caps = ChecksumCapabilities::default();
        repr.emit(&mut Icmpv4Packet::new_unchecked(buffer), &caps);
        self.outstanding.insert(seq, cx.now);
        self.sent += 1;
        true
    }
}

impl App for Pinger {
    fn crash(&mut self) {
        // The socket went with the host's socket set; a new one is made after the reboot.
        // Requests still outstanding will never be answered.
        self.handle = None;
    }

    fn poll(&mut self, cx: &mut AppCtx<'_>) -> bool {
        let handle = *self
            .handle
            .get_or_insert_with(|| open_socket(cx, self.config.ident, 8, 2048));
        self.take_replies(cx, handle);
        self.expire(cx);
        self.send_due(cx, handle)
    }

    fn next_timer(&self) -> Option<SimTime> {
        let timeouts = self
            .outstanding
            .values()
            .map(|&sent| sent + self.config.timeout)
            .min();
        [self.next_send(), timeouts].into_iter().flatten().min()
    }

    fn has_pending_workload(&self) -> bool {
        self.sent < self.config.count || !self.outstanding.is_empty()
    }
}
