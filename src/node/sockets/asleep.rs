//! *Asleep connections*: a host's live connections with nothing to do, out of smoltcp's walk.
//!
//! A busy host holds many live connections, and most of them wait for the peer at any moment:
//! nothing to send, no timer due. smoltcp still looks at each of them for every frame (which
//! socket takes the segment, which has something to send, when is the next timer), so at 20
//! times the request rate each frame costs several times as much. After each service the host
//! puts such connections **asleep** (`settle`): the connection's socket is taken out of its
//! place, together with the little state smoltcp keeps for the place (whether it waits for a
//! neighbour's ARP reply, and until when), and kept aside (a `TakenSocket`, one pointer); its
//! place stays an empty entry of the set, which smoltcp's walks step over for the price of one
//! comparison. An asleep connection wakes up, back at its place with that state, when
//! - a segment arrives for its 4-tuple (`before_poll`, from the frames waiting in the card):
//!   before the stack sees the segment;
//! - its own next deadline comes (smoltcp's `poll_at`, asked of a one-socket set, the *probe*,
//!   that holds it alone for the question: retransmission, delayed ACK, timeout, TIME-WAIT's
//!   end, the end of a neighbour's silence); the host is woken at the earliest of the set's
//!   deadline and the asleep ones' (`next_alarm`), as smoltcp would have woken it;
//! - an application changed it so that it has something to send (`get_mut` hands out the
//!   socket where it waits and `before_poll` asks its deadline again);
//! - an ARP packet arrives: it may fill smoltcp's neighbour cache (and push another neighbour
//!   out of it), which changes what a place waiting for a neighbour may do, so every asleep
//!   connection comes back for that poll, as it would be in the walk.
//!
//! A connection falls asleep only when smoltcp, asked for that socket alone with its place's
//! state, says it has nothing to do before a time still to come. Until then smoltcp's
//! `dispatch` would return without a change and its `accepts` would refuse every segment of
//! another 4-tuple, so taking it out of the walk changes nothing: the same frames leave in the
//! same order (every other socket keeps its place), the same socket takes each segment, the
//! host wakes at the same times. A host with few connections does not ask them at all
//! (`SLEEP_FROM`).
//!
//! smoltcp's `SocketSet` can only add a socket at its first empty place and forgets a removed
//! socket's place state, so netlab's copy of smoltcp adds two methods, `take_out` and
//! `put_back` (`vendor/smoltcp/NETLAB-PATCH.md`).
//!
//! # Further reading
//! - `super` (the socket table and its places); `../shared/reference/smoltcp-0.14.md` §2.2;
//!   smoltcp's `src/iface/socket_meta.rs` and `tcp::Socket::poll_at`.

use smoltcp::iface::{Interface, SocketHandle, SocketSet, TakenSocket};
use smoltcp::socket::{AnySocket, tcp, udp};
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetFrame, EthernetProtocol, IpProtocol, Ipv4Packet};

use super::HostSockets;
use crate::node::device::FourTuple;
use crate::node::tunnel::IPPROTO_IPIP;

/// Connections fall asleep only on a host holding at least this many: putting one to sleep
/// and waking it costs about what smoltcp spends on a few idle sockets in its walks, so on a
/// host with one or two connections it would not pay. Below it their deadlines are not asked.
pub(super) const SLEEP_FROM: usize = 4;

/// An asleep connection's socket.
#[derive(Debug)]
pub(super) struct Sleeper {
    /// The socket, with its place's state.
    socket: TakenSocket<'static>,
    /// Its entry in `HostSockets::sleepers`.
    entry: usize,
    /// Whether it is in `touched`.
    touched: bool,
}

/// What wakes an asleep connection: a segment for its 4-tuple, or its deadline.
#[derive(Clone, Copy, Debug)]
pub(super) struct Alarm {
    /// The connection.
    pub(super) handle: SocketHandle,
    /// Its 4-tuple, as `FourTuple::key`.
    tuple: u128,
    /// Its own next deadline (`None`: only a segment can give it work).
    at: Option<Instant>,
}

/// The number of `handle`'s place in the set. smoltcp keeps it private, but a handle hashes
/// as its number (`#[derive(Hash)]` on `SocketHandle(usize)` writes the one `usize`), so the
/// tables of asleep connections are plain vectors indexed by place instead of maps searched
/// on every access (`handles_number_their_places` checks it).
pub(super) fn place(handle: SocketHandle) -> usize {
    use std::hash::{Hash, Hasher};
    /// A hasher that keeps the last `usize` written.
    struct Number(usize);
    impl Hasher for Number {
        fn finish(&self) -> u64 {
            self.0 as u64
        }
        fn write(&mut self, _bytes: &[u8]) {}
        fn write_usize(&mut self, n: usize) {
            self.0 = n;
        }
    }
    let mut number = Number(0);
    handle.hash(&mut number);
    number.0
}

/// `table[index]`, growing the table with `None` as needed.
pub(super) fn entry<T>(table: &mut Vec<Option<T>>, index: usize) -> &mut Option<T> {
    if table.len() <= index {
        table.resize_with(index + 1, || None);
    }
    &mut table[index]
}

/// Sets `flags[index]`, growing the table with `false` as needed.
fn set_flag(flags: &mut Vec<bool>, index: usize, value: bool) {
    if flags.len() <= index {
        flags.resize(index + 1, false);
    }
    flags[index] = value;
}

/// A set of one place, empty between questions, where smoltcp is asked for one socket's own
/// deadline: smoltcp answers `poll_at` only for a whole set.
#[derive(Debug)]
pub(super) struct Probe {
    /// The set.
    set: SocketSet<'static>,
    /// Its one place.
    handle: SocketHandle,
}

impl Probe {
    /// A probe with its place empty.
    pub(super) fn new() -> Probe {
        let mut set = SocketSet::new(Vec::with_capacity(1));
        let handle = set.add(udp::Socket::new(
            udp::PacketBuffer::new(Vec::new(), Vec::new()),
            udp::PacketBuffer::new(Vec::new(), Vec::new()),
        ));
        set.remove(handle);
        Probe { set, handle }
    }

    /// When smoltcp must next poll `socket`, were it alone (`None`: only when a segment
    /// arrives): its own `tcp::Socket::poll_at`, or the end of its place's silence while it
    /// waits for a neighbour smoltcp does not know. The socket comes back as it went in.
    fn deadline(
        &mut self,
        iface: &mut Interface,
        now: Instant,
        socket: TakenSocket<'static>,
    ) -> (Option<Instant>, TakenSocket<'static>) {
        self.set.put_back(self.handle, socket);
        let at = iface.poll_at(now, &self.set);
        (at, self.set.take_out(self.handle))
    }
}

/// Whether a socket whose own deadline is `deadline` has nothing to do at `now`.
fn idle(deadline: Option<Instant>, now: Instant) -> bool {
    deadline.is_none_or(|at| at > now)
}

/// Which asleep connections a received frame may concern.
#[derive(Debug, PartialEq, Eq)]
enum Arrival {
    /// None: it is not a TCP segment or an ARP packet (UDP, ICMP...).
    Nothing,
    /// The one with this 4-tuple (`FourTuple::key`, as the receiving host sees it).
    Segment(u128),
    /// Any: an ARP packet (see the module doc), or a TCP segment or tunnelled packet the host
    /// does not read here (a fragment).
    Any,
}

/// What `frame` concerns, read as smoltcp will read it (after `tunl0` unwraps IP in IP).
fn arrival(frame: &[u8]) -> Arrival {
    match EthernetFrame::new_checked(frame) {
        Ok(eth) if eth.ethertype() == EthernetProtocol::Ipv4 => ip_arrival(eth.payload(), true),
        Ok(eth) if eth.ethertype() == EthernetProtocol::Arp => Arrival::Any,
        _ => Arrival::Nothing,
    }
}
/// What an IPv4 packet concerns; `outer` allows one level of IP in IP.
fn ip_arrival(packet: &[u8], outer: bool) -> Arrival {
    let Ok(ip) = Ipv4Packet::new_checked(packet) else {
        return Arrival::Any;
    };
    match ip.next_header() {
        IpProtocol::Udp | IpProtocol::Icmp => Arrival::Nothing,
        IpProtocol::Tcp if !ip.more_frags() && ip.frag_offset() == 0 && ip.payload().len() >= 4 => {
            let ports = ip.payload();
            let tuple = FourTuple {
                local_ip: ip.dst_addr(),
                local_port: u16::from_be_bytes([ports[2], ports[3]]),
                remote_ip: ip.src_addr(),
                remote_port: u16::from_be_bytes([ports[0], ports[1]]),
            };
            Arrival::Segment(tuple.key())
        }
        IpProtocol::Unknown(IPPROTO_IPIP) if outer => ip_arrival(ip.payload(), false),
        _ => Arrival::Any,
    }
}

/// Asleep connections (see the module doc).
impl HostSockets {
    /// The socket `handle`, asleep or not.
    ///
    /// # Panics
    /// As `SocketSet::get`: if `handle` is not in use or the socket is of another type.
    pub fn get<T: AnySocket<'static>>(&self, handle: SocketHandle) -> &T {
        if !self.is_asleep(handle) {
            return self.set.get(handle);
        }
        match self.asleep.get(place(handle)) {
            Some(Some(sleeper)) => sleeper.socket.get(),
            _ => self.set.get(handle),
        }
    }

    /// The socket `handle`, to change it. An asleep one stays aside; the host asks its
    /// deadline again before the stack's next poll (`before_poll`), and wakes it if it has
    /// something to do.
    ///
    /// # Panics
    /// As `SocketSet::get_mut`.
    pub fn get_mut<T: AnySocket<'static>>(&mut self, handle: SocketHandle) -> &mut T {
        if !self.is_asleep(handle) {
            return self.set.get_mut(handle);
        }
        match self.asleep.get_mut(place(handle)) {
            Some(Some(sleeper)) => {
                if !sleeper.touched {
                    sleeper.touched = true;
                    self.touched.push(handle);
                }
                sleeper.socket.get_mut()
            }
            _ => self.set.get_mut(handle),
        }
    }

    /// Whether `handle` is an asleep connection: nothing happened to it since the host last
    /// serviced it (no segment, no timer, no application's `get_mut`).
    pub fn is_asleep(&self, handle: SocketHandle) -> bool {
        self.is_asleep
            .get(place(handle))
            .is_some_and(|&asleep| asleep)
    }

    /// The earliest deadline of the asleep connections.
    pub fn next_alarm(&self) -> Option<Instant> {
        self.earliest
    }

    /// Before the stack polls at `now` with `rx` waiting: wakes the connections the poll may
    /// concern (a segment's 4-tuple, a deadline come, an application's change, an ARP packet).
    pub fn before_poll<'a>(
        &mut self,
        iface: &mut Interface,
        now: Instant,
        rx: impl IntoIterator<Item = &'a Vec<u8>>,
    ) {
        if self.sleepers.is_empty() {
            return;
        }
        self.recheck_touched(iface, now);
        if self.earliest.is_some_and(|at| at <= now) {
            self.wake_where(|alarm| alarm.at.is_some_and(|at| at <= now));
        }
        for frame in rx {
            match arrival(frame) {
                Arrival::Nothing => {}
                Arrival::Segment(tuple) => self.wake_where(|alarm| alarm.tuple == tuple),
                Arrival::Any => self.wake_where(|_| true),
            }
        }
    }

    /// After a service at `now`: puts to sleep the awake connections that have nothing to do
    /// before a time still to come.
    pub fn settle(&mut self, iface: &mut Interface, now: Instant) {
        self.recheck_touched(iface, now);
        let mut connections = std::mem::take(&mut self.connections);
        connections.clear();
        // Sockets with no peer (listening, closed) never sleep: a listener takes SYNs of any
        // 4-tuple, and a closed socket has nothing to do until an application uses it.
        connections.extend(self.awake.iter().filter_map(|&handle| {
            FourTuple::of(self.set.get::<tcp::Socket>(handle)).map(|tuple| (handle, tuple.key()))
        }));
        if connections.len() + self.sleepers.len() >= self.sleep_from {
            for &(handle, tuple) in &connections {
                self.try_sleep(iface, now, handle, tuple);
            }
        }
        self.connections = connections;
    }

    /// Takes the awake connection `handle` out of the set, and leaves it out asleep if it has
    /// nothing to do at `now`.
    fn try_sleep(
        &mut self,
        iface: &mut Interface,
        now: Instant,
        handle: SocketHandle,
        tuple: u128,
    ) {
        let (at, socket) = self.probe.deadline(iface, now, self.set.take_out(handle));
        if !idle(at, now) {
            // Something to do right after the stack's polls: an application changed it
            // without asking for a poll, or smoltcp holds its sending back for a neighbour.
            self.set.put_back(handle, socket);
            return;
        }
        self.leave_awake(handle);
        self.sleepers.push(Alarm { handle, tuple, at });
        self.earliest = [self.earliest, at].into_iter().flatten().min();
        set_flag(&mut self.is_asleep, place(handle), true);
        *entry(&mut self.asleep, place(handle)) = Some(Sleeper {
            socket,
            entry: self.sleepers.len() - 1,
            touched: false,
        });
    }

    /// Asks the deadline of every asleep socket an application took with `get_mut`, and wakes
    /// those that now have something to do (or another 4-tuple).
    fn recheck_touched(&mut self, iface: &mut Interface, now: Instant) {
        if self.touched.is_empty() {
            return;
        }
        let mut touched = std::mem::take(&mut self.touched);
        for &handle in &touched {
            let Some(Some(mut sleeper)) = self.asleep.get_mut(place(handle)).map(Option::take)
            else {
                continue;
            };
            sleeper.touched = false;
            let (at, socket) = self.probe.deadline(iface, now, sleeper.socket);
            sleeper.socket = socket;
            let tuple = FourTuple::of(sleeper.socket.get::<tcp::Socket>()).map(|t| t.key());
            let entry = sleeper.entry;
            self.asleep[place(handle)] = Some(sleeper);
            let alarm = &mut self.sleepers[entry];
            if !idle(at, now) || tuple != Some(alarm.tuple) {
                self.wake(handle);
            } else if at != alarm.at {
                alarm.at = at;
                self.earliest = self.sleepers.iter().filter_map(|a| a.at).min();
            }
        }
        touched.clear();
        self.touched = touched;
    }

    /// Wakes every asleep connection whose alarm passes `wanted`.
    fn wake_where(&mut self, wanted: impl Fn(&Alarm) -> bool) {
        let mut found = std::mem::take(&mut self.scratch);
        found.clear();
        found.extend(
            self.sleepers
                .iter()
                .filter(|alarm| wanted(alarm))
                .map(|alarm| alarm.handle),
        );
        for &handle in &found {
            self.wake(handle);
        }
        self.scratch = found;
    }

    /// Puts the asleep connection `handle` back at its place. Does nothing if it is awake.
    pub(super) fn wake(&mut self, handle: SocketHandle) {
        let Some(slot) = self.asleep.get_mut(place(handle)) else {
            return;
        };
        let Some(sleeper) = slot.take() else {
            return;
        };
        set_flag(&mut self.is_asleep, place(handle), false);
        self.set.put_back(handle, sleeper.socket);
        let alarm = self.sleepers.swap_remove(sleeper.entry);
        if let Some(moved) = self.sleepers.get(sleeper.entry)
            && let Some(Some(other)) = self.asleep.get_mut(place(moved.handle))
        {
            other.entry = sleeper.entry;
        }
        if alarm.at.is_some() && alarm.at == self.earliest {
            self.earliest = self.sleepers.iter().filter_map(|a| a.at).min();
        }
        self.join_awake(handle);
    }

    /// Adds the TCP socket `handle`, just put in the set, to the awake ones, at its place's
    /// rank.
    pub(super) fn join_awake(&mut self, handle: SocketHandle) {
        if let Err(rank) = self
            .awake
            .binary_search_by_key(&place(handle), |&h| place(h))
        {
            self.awake.insert(rank, handle);
        }
    }

    /// Takes `handle` off the awake TCP sockets; whether it was one.
    pub(super) fn leave_awake(&mut self, handle: SocketHandle) -> bool {
        match self
            .awake
            .binary_search_by_key(&place(handle), |&h| place(h))
        {
            Ok(rank) => {
                self.awake.remove(rank);
                true
            }
            Err(_) => false,
        }
    }
}

/// Asleep connections against a stack that walks every socket: the same frames, the same
/// deadlines.
#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use smoltcp::iface::Config;
    use smoltcp::socket::udp;
    use smoltcp::wire::{
        ArpOperation, EthernetAddress, HardwareAddress, IpCidr, TcpControl, TcpPacket, TcpRepr,
        TcpSeqNumber,
    };

    use super::*;
    use crate::node::device::SimDevice;
    use crate::node::frames;

    const HOST_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 10]);
    const PEER_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 100]);
    const HOST: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 10);
    const PEER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 100);

    /// A host's stack with three sockets listening on port 80; `sleeps` says whether
    /// connections fall asleep.
    struct Stack {
        iface: Interface,
        device: SimDevice,
        sockets: HostSockets,
        handles: Vec<SocketHandle>,
        sleeps: bool,
    }

    impl Stack {
        fn new(sleeps: bool) -> Stack {
            let mut device = SimDevice::new(HOST_MAC);
            let config = Config::new(HardwareAddress::Ethernet(HOST_MAC));
            let mut iface = Interface::new(config, &mut device, Instant::ZERO);
            iface.update_ip_addrs(|addrs| {
                addrs.push(IpCidr::new(HOST.into(), 24)).unwrap();
            });
            let mut sockets = HostSockets::new();
            sockets.sleep_from = 1; // even one connection falls asleep
            let handles = (0..3)
                .map(|_| {
                    let mut socket = tcp::Socket::new(
                        tcp::SocketBuffer::new(vec![0; 1024]),
                        tcp::SocketBuffer::new(vec![0; 1024]),
                    );
                    socket.listen(80).unwrap();
                    sockets.add(socket)
                })
                .collect();
            Stack {
                iface,
                device,
                sockets,
                handles,
                sleeps,
            }
        }

        /// Services the host at `now` with `frame` arriving: what it sends, and when it wants
        /// to be woken.
        fn step(&mut self, now: Instant, frame: Vec<u8>) -> (Vec<Vec<u8>>, Option<Instant>) {
            if !frame.is_empty() {
                self.device.rx.push_back(frame);
            }
            if self.sleeps {
                self.sockets
                    .before_poll(&mut self.iface, now, &self.device.rx);
            }
            self.iface.poll(now, &mut self.device, &mut self.sockets);
            if self.sleeps {
                self.sockets.settle(&mut self.iface, now);
            }
            let stack = self.iface.poll_at(now, &self.sockets);
            let due = [stack, self.sockets.next_alarm()]
                .into_iter()
                .flatten()
                .min();
            (std::mem::take(&mut self.device.tx), due)
        }
    }

    impl Stack {
        /// The peer's ARP request at 0 ms, then a handshake from its port 50000 (SYN at 1 ms,
        /// the last ACK at 2 ms): the first listening socket holds an established connection.
        fn establish(&mut self) {
            let at = |ms: i64| Instant::from_millis(ms);
            self.step(at(0), peer_arp());
            let (sent, _) = self.step(at(1), segment(50000, TcpControl::Syn, 1000, None));
            let ack = segment(50000, TcpControl::None, 1001, Some(syn_ack_seq(&sent) + 1));
            self.step(at(2), ack);
        }
    }

    /// The peer's ARP request for the host's address.
    fn peer_arp() -> Vec<u8> {
        frames::arp(ArpOperation::Request, PEER_MAC, PEER, HOST_MAC, HOST)
    }

    /// A segment from the peer's `port` to the host's port 80.
    fn segment(port: u16, control: TcpControl, seq: u32, ack: Option<TcpSeqNumber>) -> Vec<u8> {
        let repr = TcpRepr {
            window_len: 1024,
            ..frames::bare_tcp((port, 80), control, TcpSeqNumber(seq as i32), ack)
        };
        frames::tcp_segment(PEER_MAC, HOST_MAC, PEER, HOST, &repr)
    }

    /// The sequence number of the host's SYN-ACK among `sent`.
    fn syn_ack_seq(sent: &[Vec<u8>]) -> TcpSeqNumber {
        let frame = sent.last().expect("the host answered");
        let eth = EthernetFrame::new_checked(&frame[..]).unwrap();
        let ip = Ipv4Packet::new_checked(eth.payload()).unwrap();
        TcpPacket::new_checked(ip.payload()).unwrap().seq_number()
    }

    #[test]
    fn handles_number_their_places() {
        let mut set = SocketSet::new(Vec::new());
        for expected in 0..5 {
            let handle = set.add(udp::Socket::new(
                udp::PacketBuffer::new(Vec::new(), Vec::new()),
                udp::PacketBuffer::new(Vec::new(), Vec::new()),
            ));
            assert_eq!(place(handle), expected);
            assert_eq!(handle.to_string(), format!("#{expected}"));
        }
    }

    #[test]
    fn asleep_connections_change_nothing_the_stack_does() {
        let mut walked = Stack::new(false);
        let mut asleep = Stack::new(true);
        let at = |ms: i64| Instant::from_millis(ms);
        let arp = frames::arp(ArpOperation::Request, PEER_MAC, PEER, HOST_MAC, HOST);
        let mut script = vec![(at(0), arp)];
        script.push((at(1), segment(50000, TcpControl::Syn, 1000, None)));
        script.push((at(2), segment(50001, TcpControl::Syn, 2000, None)));
        for (now, frame) in script {
            let expected = walked.step(now, frame.clone());
            assert_eq!(asleep.step(now, frame), expected, "at {now}");
        }
        let (first, second) = (asleep.handles[0], asleep.handles[1]);
        assert!(asleep.sockets.is_asleep(first) && asleep.sockets.is_asleep(second));
        // Each SYN went to the first listener in the set's order, as with no one asleep.
        let state =
            |stack: &Stack, i: usize| stack.sockets.get::<tcp::Socket>(stack.handles[i]).state();
        assert_eq!(state(&asleep, 1), tcp::State::SynReceived);
        assert_eq!(state(&asleep, 2), tcp::State::Listen);
        let syn = segment(50002, TcpControl::Syn, 3000, None);
        let (sent, _) = walked.step(at(3), syn.clone());
        assert_eq!(asleep.step(at(3), syn).0, sent);
        // The handshake's last ACK wakes its connection, at its place.
        let ack = segment(50002, TcpControl::None, 3001, Some(syn_ack_seq(&sent) + 1));
        let mut expected = walked.step(at(4), ack.clone());
        assert_eq!(asleep.step(at(4), ack), expected);
        assert_eq!(state(&asleep, 2), tcp::State::Established);
        // Nothing more arrives: the host is woken for the SYN-ACKs' retransmissions, and sends
        // the same ones at the same times.
        for _ in 0..4 {
            let due = expected.1.expect("a retransmission is due");
            expected = walked.step(due, Vec::new());
            assert_eq!(asleep.step(due, Vec::new()), expected, "at {due}");
            assert!(!expected.0.is_empty());
        }
        // The asleep ones left empty entries: smoltcp walks only the others, in their order.
        let walked: Vec<SocketHandle> = asleep.sockets.iter().map(|(h, _)| h).collect();
        let awake: Vec<SocketHandle> = (asleep.handles.iter().copied())
            .filter(|&h| !asleep.sockets.is_asleep(h))
            .collect();
        assert_eq!(walked, awake, "every socket keeps its place");
        assert!(walked.len() < asleep.handles.len(), "some are asleep");
    }

    #[test]
    fn a_connection_waiting_for_a_neighbour_sleeps_as_the_stack_would_wait() {
        let mut walked = Stack::new(false);
        let mut asleep = Stack::new(true);
        let at = |ms: i64| Instant::from_millis(ms);
        // One connection established, so that the other may sleep beside it.
        walked.establish();
        asleep.establish();
        // A connection to a host on the link whose address nobody has told: its SYN waits for
        // the ARP reply, and smoltcp keeps its place silent for a second between requests.
        let stranger = Ipv4Addr::new(10, 0, 0, 200);
        for stack in [&mut walked, &mut asleep] {
            let mut socket = tcp::Socket::new(
                tcp::SocketBuffer::new(vec![0; 1024]),
                tcp::SocketBuffer::new(vec![0; 1024]),
            );
            socket
                .connect(stack.iface.context(), (stranger, 80), 40000)
                .unwrap();
            stack.sockets.add(socket);
        }
        let mut expected = walked.step(at(3), Vec::new());
        assert_eq!(asleep.step(at(3), Vec::new()), expected);
        assert!(asleep.sockets.is_asleep(asleep.handles[0]));
        let mut requests = usize::from(!expected.0.is_empty());
        for _ in 0..4 {
            let due = expected.1.expect("the stack must ask again");
            expected = walked.step(due, Vec::new());
            assert_eq!(asleep.step(due, Vec::new()), expected, "at {due}");
            requests += expected.0.len();
        }
        assert!(requests >= 3, "an ARP request every second: {requests}");
    }

    #[test]
    fn a_socket_added_or_parked_beside_asleep_ones_keeps_every_place() {
        let mut asleep = Stack::new(true);
        asleep.establish();
        let [first, second, third] = [0, 1, 2].map(|i| asleep.handles[i]);
        assert!(asleep.sockets.is_asleep(first));
        // The asleep connection's place is an empty entry: a new socket must not take it, as
        // it would not in a set where the connection stayed.
        let bare = || {
            tcp::Socket::new(
                tcp::SocketBuffer::new(Vec::new()),
                tcp::SocketBuffer::new(Vec::new()),
            )
        };
        let mut plain = SocketSet::new(Vec::new());
        let expected: Vec<SocketHandle> = (0..4).map(|_| plain.add(bare())).collect();
        asleep.sockets.park(second);
        let added = asleep.sockets.add(bare());
        assert_eq!(added, expected[3]);
        asleep.sockets.unpark(second);
        asleep.sockets.wake(first);
        let order: Vec<SocketHandle> = asleep.sockets.iter().map(|(h, _)| h).collect();
        assert_eq!(order, vec![first, second, third, added]);
        assert_eq!(
            asleep.sockets.get::<tcp::Socket>(first).state(),
            tcp::State::Established
        );
    }

    #[test]
    fn an_arp_packet_wakes_every_asleep_connection() {
        let mut asleep = Stack::new(true);
        asleep.establish();
        let first = asleep.handles[0];
        assert!(asleep.sockets.is_asleep(first));
        // The neighbour cache may change with it, and with it what a place waiting for a
        // neighbour may do: the connection is in the walk for that poll.
        asleep.device.rx.push_back(peer_arp());
        asleep.sockets.before_poll(
            &mut asleep.iface,
            Instant::from_millis(3),
            &asleep.device.rx,
        );
        assert!(!asleep.sockets.is_asleep(first));
    }

    #[test]
    fn an_application_write_wakes_an_asleep_connection() {
        let mut walked = Stack::new(false);
        let mut asleep = Stack::new(true);
        let at = |ms: i64| Instant::from_millis(ms);
        let arp = frames::arp(ArpOperation::Request, PEER_MAC, PEER, HOST_MAC, HOST);
        walked.step(at(0), arp.clone());
        asleep.step(at(0), arp);
        let (sent, _) = walked.step(at(1), segment(50000, TcpControl::Syn, 1000, None));
        asleep.step(at(1), segment(50000, TcpControl::Syn, 1000, None));
        let ack = segment(50000, TcpControl::None, 1001, Some(syn_ack_seq(&sent) + 1));
        assert_eq!(walked.step(at(2), ack.clone()), asleep.step(at(2), ack));
        let handle = asleep.handles[0];
        assert!(asleep.sockets.is_asleep(handle));
        for stack in [&mut walked, &mut asleep] {
            let socket = stack.sockets.get_mut::<tcp::Socket>(handle);
            socket.send_slice(b"hello").unwrap();
        }
        assert!(
            asleep.sockets.is_asleep(handle),
            "still asleep, aside, until the next poll"
        );
        let expected = walked.step(at(3), Vec::new());
        assert_eq!(asleep.step(at(3), Vec::new()), expected);
        assert_eq!(expected.0.len(), 1, "the data left");
    }
}
