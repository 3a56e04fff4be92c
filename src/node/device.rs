//! *The network card of a smoltcp host*, and what the kernel does before the stack sees a frame.
//!
//! smoltcp talks to hardware through `phy::Device`: it asks for received frames and for buffers
//! to transmit into. [`SimDevice`] implements that over two queues the simulator fills and
//! drains: frames that arrived on the wire wait in `rx` until the host is polled, and frames
//! the stack wrote wait in `tx` until the world puts them on the segment.
//!
//! Before smoltcp sees a frame, the [`IngressPolicy`] may act on it. This is where the
//! behaviour that Linux has and smoltcp lacks is modelled, each piece named after the Linux
//! feature it stands in for:
//! - **TIME-WAIT** ([`TimeWaitTable`]): a server that closes first keeps the connection's
//!   4-tuple reserved for a while, swallowing stray segments and re-acknowledging a repeated
//!   FIN. smoltcp would keep a whole socket for it; we keep a small table entry and reuse the
//!   socket at once, so the host's socket set stays small at any request rate.
//! - **ICMP errors to sockets**: Linux reports an ICMP destination-unreachable about a TCP flow
//!   to its socket (`EHOSTUNREACH`); smoltcp ignores it. The policy notes such errors in
//!   `icmp_errors` for the applications to read.
//! - **A full accept queue** ([`FullQueues`], see `listen`): a SYN for a listening port whose
//!   accept queue is full is dropped unanswered, where smoltcp would answer RST.
//! - **`arp_ignore`** (for direct-routing real servers, later): ARP requests for the listed
//!   addresses are dropped unanswered.
//! - **`tunl0`** (for IPVS tunnelling real servers): IP-in-IP packets to the host are unwrapped
//!   and filtered by `rp_filter` (see `tunnel`) before the stack sees the inner packet; a host
//!   without a tunnel leaves them to smoltcp, which answers "protocol unreachable" as Linux
//!   without the `ipip` module does. "Fragmentation needed" is not an error for a socket
//!   (Linux uses it for path MTU discovery), so it is not noted in `icmp_errors`.
//! - **Receive checksum offload** ([`receive_offload`]): the stack computes every checksum
//!   it sends and checks none it receives, as with most Linux cards. Debug builds check
//!   every received frame instead, so a test fails if netlab ever wrote a wrong checksum.
//!
//! # Simplifications
//! - The TIME-WAIT table drops a new SYN for a reserved 4-tuple (smoltcp's own behaviour);
//!   Linux may accept it when the new sequence number is higher. Clients never reuse a port that
//!   soon (see `app::PortAllocator`), so this does not arise in the shipped scenarios.
//!
//! # Further reading
//! - `../shared/reference/smoltcp-0.14.md` §1.1, §2.1, §2.5, §3.2.

use std::collections::VecDeque;
use std::net::Ipv4Addr;

use smoltcp::phy::{self, Checksum, ChecksumCapabilities, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol,
    Icmpv4Message, Icmpv4Packet, IpProtocol, Ipv4Packet, TcpControl, TcpPacket,
};

use super::frames;
use super::listen::FullQueues;
use super::tunnel::{Decapsulated, TunnelEndpoint};
use crate::sim::{LookupMap, SimDuration, SimTime};

/// How long a 4-tuple stays reserved after an active close (smoltcp's fixed `CLOSE_DELAY`;
/// Linux uses 60 s).
pub const TIME_WAIT: SimDuration = SimDuration::from_secs(10);

/// Ethernet MTU including the 14-byte header, as smoltcp counts it.
const MTU_WITH_HEADER: usize = 1514;

/// A connection's endpoints as seen from this host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct FourTuple {
    /// Our address.
    pub local_ip: Ipv4Addr,
    /// Our port.
    pub local_port: u16,
    /// The peer's address.
    pub remote_ip: Ipv4Addr,
    /// The peer's port.
    pub remote_port: u16,
}

impl FourTuple {
    /// The endpoints of a smoltcp TCP socket, as this host sees them (`None` while it has no
    /// peer).
    pub fn of(socket: &smoltcp::socket::tcp::Socket<'_>) -> Option<FourTuple> {
        let (local, remote) = (socket.local_endpoint()?, socket.remote_endpoint()?);
        let smoltcp::wire::IpAddress::Ipv4(local_ip) = local.addr;
        let smoltcp::wire::IpAddress::Ipv4(remote_ip) = remote.addr;
        Some(FourTuple {
            local_ip,
            local_port: local.port,
            remote_ip,
            remote_port: remote.port,
        })
    }

    /// The tuple as one number, its fields in declaration order (so numbers sort as tuples
    /// do): a busy server looks one up for every segment it receives, and comparing one
    /// integer is cheaper than comparing four fields.
    pub(crate) fn key(&self) -> u128 {
        (u128::from(u32::from(self.local_ip)) << 64)
            | (u128::from(self.local_port) << 48)
            | (u128::from(u32::from(self.remote_ip)) << 16)
            | u128::from(self.remote_port)
    }
}

/// Connections in TIME-WAIT, kept outside smoltcp so their sockets can be reused at once.
#[derive(Default)]
pub struct TimeWaitTable {
    /// Reserved 4-tuples (as `FourTuple::key`) and when each reservation ends: a hash map
    /// for lookups only (`sim::LookupMap`), asked once per received segment and never listed.
    entries: LookupMap<u128, SimTime>,
    /// The same reservations in the order they end, to expire them cheaply.
    expiry_order: VecDeque<(SimTime, u128)>,
}

impl TimeWaitTable {
    /// Reserves `tuple` from `now` for [`TIME_WAIT`].
    pub fn insert(&mut self, now: SimTime, tuple: FourTuple) {
        let until = now + TIME_WAIT;
        self.entries.insert(tuple.key(), until);
        self.expiry_order.push_back((until, tuple.key()));
    }

    /// Whether `tuple` is reserved at `now`; forgets reservations that have ended.
    pub fn contains(&mut self, now: SimTime, tuple: &FourTuple) -> bool {
        while let Some(&(until, old)) = self.expiry_order.front() {
            if until > now {
                break;
            }
            self.expiry_order.pop_front();
            if self.entries.get(&old) == Some(&until) {
                self.entries.remove(&old);
            }
        }
        self.entries.get(&tuple.key()).is_some()
    }

    /// Number of reservations held (some may have ended but not yet been forgotten).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no reservation is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// An ICMP destination-unreachable that named one of our TCP flows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IcmpError {
    /// Our port in the flow the error is about.
    pub local_port: u16,
    /// The destination we were trying to reach.
    pub remote_ip: Ipv4Addr,
    /// Code 3, port unreachable: Linux reports it to a connecting socket as
    /// `ECONNREFUSED`; the other codes as `EHOSTUNREACH`/`ENETUNREACH`.
    pub port_unreachable: bool,
}

/// What the host does with a frame before smoltcp sees it.
pub struct IngressPolicy {
    /// Our MAC address, for frames the policy answers itself.
    pub mac: EthernetAddress,
    /// Addresses whose ARP requests go unanswered (Linux `arp_ignore`).
    pub arp_ignore: Vec<Ipv4Addr>,
    /// Connections in TIME-WAIT.
    pub time_wait: TimeWaitTable,
    /// ICMP errors about our TCP flows, for the applications to collect.
    pub icmp_errors: Vec<IcmpError>,
    /// The IP-in-IP tunnel device, on an IPVS tunnelling real server.
    pub tunnel: Option<TunnelEndpoint>,
    /// Listening ports whose accept queue is full, and the SYNs dropped for them.
    pub full_queues: FullQueues,
}

/// What to do with a received frame.
enum Verdict {
    /// Hand it to smoltcp.
    Pass,
    /// Swallow it (perhaps after answering it).
    Drop,
}

impl IngressPolicy {
    /// A policy that passes everything.
    pub fn new(mac: EthernetAddress) -> IngressPolicy {
        IngressPolicy {
            mac,
            arp_ignore: Vec::new(),
            time_wait: TimeWaitTable::default(),
            icmp_errors: Vec::new(),
            tunnel: None,
            full_queues: FullQueues::default(),
        }
    }

    /// The tunnel's part: `false` if the frame must be dropped (it may unwrap the frame).
    fn decapsulate(&mut self, frame: &mut Vec<u8>) -> bool {
        match &mut self.tunnel {
            Some(tunnel) => matches!(
                tunnel.receive(frame),
                Decapsulated::Inner | Decapsulated::NotTunnelled
            ),
            None => true,
        }
    }

    /// Inspects one received frame at `now`; may push an answer onto `tx`.
    fn inspect(&mut self, now: SimTime, frame: &[u8], tx: &mut Vec<Vec<u8>>) -> Verdict {
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            return Verdict::Drop;
        };
        match eth.ethertype() {
            EthernetProtocol::Arp if !self.arp_ignore.is_empty() => self.inspect_arp(eth.payload()),
            EthernetProtocol::Ipv4 => {
                let Ok(ip) = Ipv4Packet::new_checked(eth.payload()) else {
                    return Verdict::Drop;
                };
                match ip.next_header() {
                    IpProtocol::Tcp if !self.time_wait.is_empty() || self.full_queues.any() => {
                        self.inspect_tcp(now, eth.src_addr(), &ip, tx)
                    }
                    IpProtocol::Icmp => {
                        self.note_icmp_error(&ip);
                        Verdict::Pass
                    }
                    _ => Verdict::Pass,
                }
            }
            _ => Verdict::Pass,
        }
    }

    /// `arp_ignore`: drop requests asking for an address we hold but must not announce.
    fn inspect_arp(&self, payload: &[u8]) -> Verdict {
        let Ok(packet) = ArpPacket::new_checked(payload) else {
            return Verdict::Drop;
        };
        match ArpRepr::parse(&packet) {
            Ok(ArpRepr::EthernetIpv4 {
                operation: ArpOperation::Request,
                target_protocol_addr,
                ..
            }) if self.arp_ignore.contains(&target_protocol_addr) => Verdict::Drop,
            _ => Verdict::Pass,
        }
    }

    /// TIME-WAIT: swallow segments of a reserved connection; re-acknowledge a repeated FIN.
    /// Then a full accept queue: swallow new SYNs for its port.
    fn inspect_tcp(
        &mut self,
        now: SimTime,
        peer_mac: EthernetAddress,
        ip: &Ipv4Packet<&[u8]>,
        tx: &mut Vec<Vec<u8>>,
    ) -> Verdict {
        let Ok(tcp) = TcpPacket::new_checked(ip.payload()) else {
            return Verdict::Drop;
        };
        let tuple = FourTuple {
            local_ip: ip.dst_addr(),
            local_port: tcp.dst_port(),
            remote_ip: ip.src_addr(),
            remote_port: tcp.src_port(),
        };
        if self.time_wait.is_empty() || !self.time_wait.contains(now, &tuple) {
            // Linux `tcp_conn_request`: no room in the accept queue, the SYN is dropped.
            let peer = (tuple.remote_ip, tuple.remote_port);
            if self.full_queues.any()
                && self
                    .full_queues
                    .drops(tuple.local_port, peer, tcp.syn(), tcp.ack())
            {
                return Verdict::Drop;
            }
            return Verdict::Pass;
        }
        if tcp.fin() && !tcp.rst() {
            // RFC 9293 §3.10.7.4: in TIME-WAIT, a retransmitted FIN is acknowledged again.
            let ack = frames::bare_tcp(
                (tuple.local_port, tuple.remote_port),
                TcpControl::None,
                tcp.ack_number(),
                Some(tcp.seq_number() + tcp.payload().len() + 1),
            );
            tx.push(frames::tcp_segment(
                self.mac,
                peer_mac,
                tuple.local_ip,
                tuple.remote_ip,
                &ack,
            ));
        }
        Verdict::Drop
    }

    /// Notes a destination-unreachable about one of our TCP flows.
    fn note_icmp_error(&mut self, ip: &Ipv4Packet<&[u8]>) {
        let Ok(icmp) = Icmpv4Packet::new_checked(ip.payload()) else {
            return;
        };
        // Code 4, fragmentation needed, feeds path MTU discovery, not the socket.
        if icmp.msg_type() != Icmpv4Message::DstUnreachable || icmp.msg_code() == 4 {
            return;
        }
        // The message quotes the offending packet: its IPv4 header, then 8 bytes of TCP header.
        let Ok(quoted) = Ipv4Packet::new_checked(icmp.data()) else {
            return;
        };
        let ports = quoted.payload();
        if quoted.next_header() != IpProtocol::Tcp || ports.len() < 4 {
            return;
        }
        self.icmp_errors.push(IcmpError {
            local_port: u16::from_be_bytes([ports[0], ports[1]]),
            remote_ip: quoted.dst_addr(),
            port_unreachable: icmp.msg_code() == 3,
        });
    }
}

/// A host's network card as smoltcp sees it.
pub struct SimDevice {
    /// Frames that arrived and wait for the next poll.
    pub rx: VecDeque<Vec<u8>>,
    /// Frames the stack wrote, waiting to be put on the wire.
    pub tx: Vec<Vec<u8>>,
    /// Emptied frame buffers kept for reuse, so steady traffic allocates nothing.
    spare: Vec<Vec<u8>>,
    /// Buffers smoltcp has finished reading, back in `spare` at the next `receive` or
    /// `transmit` (while a receive token holds this, its transmit token holds `spare`).
    read: Vec<Vec<u8>>,
    /// The current virtual time, set before each poll.
    now: SimTime,
    /// What happens to frames before smoltcp sees them.
    pub policy: IngressPolicy,
}

impl SimDevice {
    /// An idle card with the given MAC address.
    pub fn new(mac: EthernetAddress) -> SimDevice {
        SimDevice {
            rx: VecDeque::new(),
            tx: Vec::new(),
            spare: Vec::new(),
            read: Vec::new(),
            now: SimTime::ZERO,
            policy: IngressPolicy::new(mac),
        }
    }

    /// Sets the time the ingress policy sees (the poll's time).
    pub fn set_now(&mut self, now: SimTime) {
        self.now = now;
    }

    /// Trades spare pools with `pool`: a host takes the world's pool for a service and gives it
    /// back after (`NodeCtx::spare_frames`).
    pub fn swap_spare(&mut self, pool: &mut Vec<Vec<u8>>) {
        std::mem::swap(&mut self.spare, pool);
    }

    /// Returns a frame buffer to the spare pool.
    pub fn recycle(&mut self, frame: Vec<u8>) {
        keep_spare(&mut self.spare, frame);
    }

    /// Moves the buffers smoltcp has read since the last call into the spare pool.
    fn reclaim(&mut self) {
        for frame in self.read.drain(..) {
            keep_spare(&mut self.spare, frame);
        }
    }
}

/// Frame buffers a spare pool keeps for reuse at most (the world's pool, which the hosts share,
/// see `NodeCtx::spare_frames`): enough for the frames a busy run has in flight, few enough
/// that an idle one holds little (each buffer holds a full frame, [`MTU_WITH_HEADER`]: about
/// 380 KiB in all).
const MAX_SPARE: usize = 256;

/// Empties `frame` and keeps it in `pool`, unless the pool is full.
fn keep_spare(pool: &mut Vec<Vec<u8>>, mut frame: Vec<u8>) {
    if pool.len() < MAX_SPARE {
        frame.clear();
        pool.push(frame);
    }
}

/// A buffer for a frame of `len` bytes, zero-filled: a spare one if there is one, else a new
/// one with room for the largest frame, so that it never grows when it is reused.
fn frame_buffer(pool: &mut Vec<Vec<u8>>, len: usize) -> Vec<u8> {
    let mut buffer = pool
        .pop()
        .unwrap_or_else(|| Vec::with_capacity(MTU_WITH_HEADER.max(len)));
    buffer.clear();
    buffer.resize(len, 0);
    buffer
}

/// Converts virtual time to smoltcp's microsecond `Instant`: the only such conversion.
pub fn to_instant(t: SimTime) -> Instant {
    Instant::from_micros(t.as_micros() as i64)
}

/// Converts a virtual duration to smoltcp's microsecond `Duration`, rounding down.
pub fn to_duration(d: SimDuration) -> smoltcp::time::Duration {
    smoltcp::time::Duration::from_micros(d.as_nanos() / 1_000)
}

/// A received frame handed to smoltcp.
pub struct RxToken<'a> {
    /// The frame bytes.
    frame: Vec<u8>,
    /// Where the buffer goes once smoltcp has read it (on its way back to the spare pool).
    read: &'a mut Vec<Vec<u8>>,
}

/// A transmit buffer handed to smoltcp. It takes a buffer from the spare pool only when
/// smoltcp writes a frame: smoltcp asks for one with every received frame, and most received
/// frames (an ACK, a segment of data) get no immediate answer.
pub struct TxToken<'a> {
    /// Where the written frame goes.
    tx: &'a mut Vec<Vec<u8>>,
    /// Reusable buffers.
    spare: &'a mut Vec<Vec<u8>>,
}

impl phy::RxToken for RxToken<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        let result = f(&self.frame);
        self.read.push(self.frame);
        result
    }
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut buffer = frame_buffer(self.spare, len);
        let result = f(&mut buffer);
        self.tx.push(buffer);
        result
    }
}

impl phy::Device for SimDevice {
    type RxToken<'a>
        = RxToken<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = TxToken<'a>
    where
        Self: 'a;

    fn receive(&mut self, _timestamp: Instant) -> Option<(RxToken<'_>, TxToken<'_>)> {
        self.reclaim();
        loop {
            let mut frame = self.rx.pop_front()?;
            if !self.policy.decapsulate(&mut frame) {
                self.recycle(frame);
                continue;
            }
            match self.policy.inspect(self.now, &frame, &mut self.tx) {
                Verdict::Pass => {
                    debug_assert!(
                        frames::checksums_valid(&frame),
                        "a frame with a wrong checksum reached a host's stack: {frame:02x?}"
                    );
                    // The two tokens borrow different fields: the receive token `read`, the
                    // transmit token `tx` and `spare`.
                    return Some((
                        RxToken {
                            frame,
                            read: &mut self.read,
                        },
                        TxToken {
                            tx: &mut self.tx,
                            spare: &mut self.spare,
                        },
                    ));
                }
                Verdict::Drop => self.recycle(frame),
            }
        }
    }

    fn transmit(&mut self, _timestamp: Instant) -> Option<TxToken<'_>> {
        // Always room: queues and bandwidth are modelled on the wire, not in the card.
        self.reclaim();
        Some(TxToken {
            tx: &mut self.tx,
            spare: &mut self.spare,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        host_card()
    }
}

/// What a host's network card tells smoltcp: Ethernet, frames of up to [`MTU_WITH_HEADER`]
/// bytes, and [`receive_offload`]. Public so that a bench running smoltcp without netlab
/// (`benches/floor/`) gives its stacks the very same card.
pub fn host_card() -> DeviceCapabilities {
    let mut caps = DeviceCapabilities::default();
    caps.medium = Medium::Ethernet;
    caps.max_transmission_unit = MTU_WITH_HEADER;
    caps.checksum = receive_offload();
    caps
}

/// *Receive checksum offload*, as most Linux network cards do it (the driver marks a checked
/// packet `CHECKSUM_UNNECESSARY` and the kernel does not sum it again): smoltcp computes every
/// checksum it sends, and checks none it receives.
///
/// The card itself need not check either. Every frame on a netlab wire carries valid
/// checksums: smoltcp writes them, and routers, balancers and tunnels update them as they
/// rewrite (tested beside each). Nothing on a wire corrupts a frame: loss drops it whole.
/// So a check could only catch a bug in netlab itself, and debug builds, which every test
/// runs, make that check on every frame handed to the stack (`frames::checksums_valid`).
/// Release builds skip it: summing each segment's payload again cost about 5% of a run.
fn receive_offload() -> ChecksumCapabilities {
    let mut caps = ChecksumCapabilities::default();
    caps.ipv4 = Checksum::Tx;
    caps.tcp = Checksum::Tx;
    caps.udp = Checksum::Tx;
    caps.icmpv4 = Checksum::Tx;
    caps
}

#[cfg(test)]
mod tests {
    use super::*;
    use smoltcp::wire::TcpRepr;

    fn tuple(port: u16) -> FourTuple {
        FourTuple {
            local_ip: Ipv4Addr::new(10, 0, 0, 10),
            local_port: 80,
            remote_ip: Ipv4Addr::new(10, 0, 0, 100),
            remote_port: port,
        }
    }

    #[test]
    fn four_tuple_keys_sort_as_the_tuples_do() {
        let a = tuple(50000);
        let mut others = vec![a, tuple(50001), tuple(1)];
        others.push(FourTuple {
            local_port: 81,
            ..a
        });
        others.push(FourTuple {
            remote_ip: Ipv4Addr::new(10, 0, 0, 1),
            ..a
        });
        others.push(FourTuple {
            local_ip: Ipv4Addr::new(255, 0, 0, 0),
            ..a
        });
        for x in &others {
            for y in &others {
                assert_eq!(x.key().cmp(&y.key()), x.cmp(y), "{x:?} against {y:?}");
            }
        }
    }

    #[test]
    fn time_wait_reservations_expire() {
        let mut table = TimeWaitTable::default();
        table.insert(SimTime::ZERO, tuple(50000));
        assert!(table.contains(SimTime::from_nanos(1), &tuple(50000)));
        assert!(!table.contains(SimTime::from_nanos(1), &tuple(50001)));
        let after = SimTime::ZERO + TIME_WAIT;
        assert!(!table.contains(after, &tuple(50000)));
        assert!(table.is_empty());
    }

    #[test]
    fn a_transmit_token_left_unused_takes_no_buffer_from_the_pool() {
        use smoltcp::phy::{Device, RxToken as _, TxToken as _};
        let mac = EthernetAddress([2, 0, 0, 0, 0, 10]);
        let mut card = SimDevice::new(mac);
        card.recycle(Vec::with_capacity(MTU_WITH_HEADER));
        card.rx.push_back(frames::arp(
            ArpOperation::Request,
            EthernetAddress([2, 0, 0, 0, 0, 100]),
            Ipv4Addr::new(10, 0, 0, 100),
            EthernetAddress([0; 6]),
            Ipv4Addr::new(10, 0, 0, 10),
        ));
        // The stack reads the frame and answers nothing: its transmit token goes unused.
        let (rx, _unused) = card.receive(Instant::ZERO).expect("a frame is waiting");
        rx.consume(|frame| assert_eq!(frame.len(), 42));
        // Both buffers are back for the next frame the stack writes, the read one last.
        let tx = card
            .transmit(Instant::ZERO)
            .expect("a card always has room");
        tx.consume(60, |buffer| assert!(buffer.iter().all(|&byte| byte == 0)));
        assert_eq!(card.spare.len(), 1);
        assert_eq!(card.tx.len(), 1);
        assert!(card.tx[0].capacity() >= 60);
    }

    /// One host writes a frame from the shared pool, another reads it and its buffer goes back
    /// to that pool: the next frame is sent without a new allocation.
    #[test]
    fn a_frame_read_by_one_card_returns_its_buffer_to_the_pool_the_other_sends_from() {
        use smoltcp::phy::{Device, RxToken as _, TxToken as _};
        let mut pool = vec![Vec::with_capacity(MTU_WITH_HEADER)];
        let buffer_address = pool[0].as_ptr();
        let mut writer = SimDevice::new(EthernetAddress([2, 0, 0, 0, 0, 1]));
        let mut reader = SimDevice::new(EthernetAddress([2, 0, 0, 0, 0, 2]));
        writer.swap_spare(&mut pool);
        let tx = writer
            .transmit(Instant::ZERO)
            .expect("a card always has room");
        tx.consume(60, |buffer| buffer[0] = 0xff);
        writer.swap_spare(&mut pool);
        assert!(pool.is_empty(), "the buffer left with the frame");
        reader
            .rx
            .push_back(writer.tx.pop().expect("the frame was written"));
        reader.swap_spare(&mut pool);
        let (rx, _unused) = reader.receive(Instant::ZERO).expect("a frame is waiting");
        rx.consume(|frame| assert_eq!(frame[0], 0xff));
        // The read buffer is back in the pool at the card's next call.
        assert!(reader.transmit(Instant::ZERO).is_some());
        reader.swap_spare(&mut pool);
        assert_eq!(pool.len(), 1);
        assert_eq!(pool[0].as_ptr(), buffer_address, "the same buffer");
        assert!(writer.spare.is_empty() && reader.spare.is_empty());
    }

    #[test]
    fn a_repeated_fin_in_time_wait_is_acknowledged_again() {
        let mac = EthernetAddress([2, 0, 0, 0, 0, 10]);
        let peer = EthernetAddress([2, 0, 0, 0, 0, 100]);
        let mut policy = IngressPolicy::new(mac);
        policy.time_wait.insert(SimTime::ZERO, tuple(50000));
        // A peer's FIN, repeated: a bare segment with a window, as a live peer sends it.
        let fin = TcpRepr {
            window_len: 1024,
            ..frames::bare_tcp(
                (50000, 80),
                TcpControl::Fin,
                smoltcp::wire::TcpSeqNumber(1000),
                Some(smoltcp::wire::TcpSeqNumber(5000)),
            )
        };
        let frame = frames::tcp_segment(
            peer,
            mac,
            Ipv4Addr::new(10, 0, 0, 100),
            Ipv4Addr::new(10, 0, 0, 10),
            &fin,
        );
        let mut tx = Vec::new();
        assert!(matches!(
            policy.inspect(SimTime::from_nanos(5), &frame, &mut tx),
            Verdict::Drop
        ));
        assert_eq!(tx.len(), 1);
        let eth = EthernetFrame::new_checked(&tx[0][..]).unwrap();
        let ip = Ipv4Packet::new_checked(eth.payload()).unwrap();
        let ack = TcpPacket::new_checked(ip.payload()).unwrap();
        assert!(ack.verify_checksum(&ip.src_addr().into(), &ip.dst_addr().into()));
        assert_eq!(ack.seq_number(), smoltcp::wire::TcpSeqNumber(5000));
        assert_eq!(ack.ack_number(), smoltcp::wire::TcpSeqNumber(1001));
    }
}
