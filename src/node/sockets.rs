//! *A host's socket table*: smoltcp's `SocketSet`, with idle sockets kept out of the stack's way.
//!
//! smoltcp's `Interface::poll` and `poll_at` walk every socket of the set for every frame, so a
//! web server with 32 listening slots pays for 32 sockets on every segment of every request,
//! although only the lowest one of them can take the next SYN. An application may **park** a
//! socket it knows to be idle: the socket leaves the set (its place becomes an empty entry that
//! smoltcp skips for the price of one comparison), and **unparking** puts it back at the very
//! same place, with the very same handle.
//!
//! Places matter: smoltcp gives a SYN to the first listening socket in set order and sends the
//! sockets' segments in set order, so a socket back at another place could change which
//! connection a slot gets, or the order of two frames sent at the same instant. The table keeps
//! every handle's place: `add` puts a new socket where `SocketSet::add` would have put it had
//! nothing been parked (the first place neither in use nor parked), and `unpark` returns a
//! socket to its own place. Both fill the parked places below the wanted one with empty
//! placeholder sockets for the moment of the call, because `SocketSet::add` always takes the
//! first empty place.
//!
//! **Reserved places.** A web server of 320 slots rarely has more than a few connections at a
//! time. It *reserves* its places when it starts and creates each socket only when it needs
//! it (`add_reserved`, in order), so the set never holds the sockets that were never used.
//! Reserved places at the end of the set take no room; once something else is added after
//! them they become empty entries, filled in later at their own place, as parked ones are.
//!
//! **Asleep connections.** A busy host holds many live connections, and most of them wait for
//! the peer at any moment: nothing to send, no timer due. smoltcp still looks at each of them
//! for every frame (which socket takes the segment, which has something to send, when is the
//! next timer), so at 20 times the request rate each frame costs several times as much. After
//! each service the host puts such connections **asleep** (`settle`): the connection's socket
//! moves into a one-socket *cell* and an empty, closed TCP socket takes its place in the set.
//! smoltcp steps over that placeholder for the price of a few comparisons: it has no peer, so
//! it takes no segment and has nothing to send. An asleep connection wakes up, back at its
//! place, when
//! - a segment arrives for its 4-tuple (`before_poll`, from the frames waiting in the card):
//!   before the stack sees the segment;
//! - its own next deadline comes (smoltcp's `poll_at` for the socket alone, asked in its cell:
//!   retransmission, delayed ACK, timeout, TIME-WAIT's end); the host is woken at the earliest
//!   of the set's deadline and the asleep ones' (`next_alarm`), as smoltcp would have woken it;
//! - an application changed it so that it has something to send (`get_mut` hands out the
//!   socket in its cell and `before_poll` asks its deadline again).
//!
//! A connection falls asleep only when smoltcp, asked for that socket alone, says it has
//! nothing to do before a time still to come. Until then smoltcp's `dispatch` would return
//! without a change and its `accepts` would refuse every segment of another 4-tuple, so taking
//! it out of the walk changes nothing: the same frames leave in the same order (every other
//! socket keeps its place), the same socket takes each segment, the host wakes at the same
//! times. smoltcp's state of the *place* (whether its socket waits for a neighbour's ARP
//! reply, and until when) stays with the placeholder and follows the same course. That state
//! could move a sleeping socket's deadline (smoltcp then reports the end of its one-second
//! silence instead), so a socket that might be under it is **held awake** for that second
//! (`HELD_AWAKE`): one found with something still to do after the host's polls (its sending
//! was held back, the only way a place gets the state). A host with few connections does not
//! ask them at all (`SLEEP_FROM`), unless sending may have been held back: within
//! `NEIGHBOUR_DOUBT` of its last ARP request, or always when it has no gateway on its subnet
//! (smoltcp then finds no route to some peers).
//!
//! Reading through `get` or `get_mut` works whether a socket is asleep or not; `iter` (through
//! `Deref`) sees the placeholders. Everything else (the stack's `poll`) goes to the `SocketSet`
//! itself, through `Deref`.
//!
//! # Simplifications
//! - smoltcp keeps a little state per place (whether the socket waits for a neighbour's ARP
//!   reply); a socket unparked starts with none. Applications park only sockets whose last
//!   connection ended cleanly, for which that state is already the default. (Asleep sockets
//!   keep it, see above.)
//!
//! # Further reading
//! - `../shared/reference/smoltcp-0.14.md` §0 (cost per socket), §2.2; smoltcp's
//!   `src/iface/socket_set.rs`, `src/iface/socket_meta.rs`, and `tcp::Socket::poll_at`, which
//!   mirrors the beginning of `dispatch`.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::ops::{Deref, DerefMut};

use smoltcp::iface::{Interface, SocketHandle, SocketSet};
use smoltcp::socket::{AnySocket, Socket, tcp, udp};
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{EthernetFrame, EthernetProtocol, IpProtocol, Ipv4Packet};

use super::device::FourTuple;
use super::tunnel::IPPROTO_IPIP;

/// How long a socket whose sending smoltcp held back stays awake: smoltcp's
/// `Meta::DISCOVERY_SILENT_TIME`, the time a place waits before asking again for a neighbour
/// it could not reach (`src/iface/socket_meta.rs`).
const HELD_AWAKE: Duration = Duration::from_millis(1_000);

/// Connections fall asleep only on a host holding at least this many: putting one to sleep
/// and waking it costs about what smoltcp spends on a few idle sockets in its walks, so on a
/// host with one or two connections it would not pay. Below it their deadlines are not asked,
/// unless the host must be careful (`settle`).
const SLEEP_FROM: usize = 4;

/// How long after the host's last ARP request smoltcp may hold back a socket's sending: it
/// sends an ARP request when a lookup misses and then refuses lookups of missing neighbours
/// for `NeighborCache::SILENT_TIME` (1 s), and a socket refused waits `HELD_AWAKE` more.
pub const NEIGHBOUR_DOUBT: Duration = Duration::from_millis(2_000);

/// A host's sockets: smoltcp's set, and the sockets parked out of it (see the module doc).
#[derive(Debug)]
pub struct HostSockets {
    /// What smoltcp walks.
    set: SocketSet<'static>,
    /// Sockets out of `set`, each owning its place there (an empty entry).
    parked: BTreeMap<SocketHandle, Socket<'static>>,
    /// Places reserved and not used yet, per reservation (see the module doc).
    reservations: Vec<Reserved>,
    /// Empty entries of `set` that belong to a reservation.
    vacant: BTreeSet<SocketHandle>,
    /// Per place of the set (see [`place`]): its TCP socket if it is awake, one of those
    /// that may fall asleep.
    awake: Vec<Option<SocketHandle>>,
    /// Per place: the asleep connection there (see the module doc).
    asleep: Vec<Option<Sleeper>>,
    /// The asleep connections in no order, scanned for a segment's 4-tuple and for deadlines.
    sleepers: Vec<Alarm>,
    /// The earliest of their deadlines.
    earliest: Option<Instant>,
    /// Asleep sockets an application took with `get_mut` since their deadline was asked.
    touched: Vec<SocketHandle>,
    /// Per place: until when its socket is kept awake (smoltcp may hold back its sending).
    held: Vec<Option<Instant>>,
    /// Cells not in use, each holding a placeholder.
    spare_cells: Vec<Cell>,
    /// A reused list of handles, for loops that change the tables they read.
    scratch: Vec<SocketHandle>,
    /// A reused list of awake connections and their 4-tuples (`FourTuple::key`).
    connections: Vec<(SocketHandle, u128)>,
}

/// An asleep connection's socket.
#[derive(Debug)]
struct Sleeper {
    /// Where the socket waits.
    cell: Cell,
    /// Its entry in `HostSockets::sleepers`.
    entry: usize,
    /// Whether it is in `touched`.
    touched: bool,
}

/// What wakes an asleep connection: a segment for its 4-tuple, or its deadline.
#[derive(Clone, Copy, Debug)]
struct Alarm {
    /// The connection.
    handle: SocketHandle,
    /// Its 4-tuple, as `FourTuple::key`.
    tuple: u128,
    /// Its own next deadline (`None`: only a segment can give it work).
    at: Option<Instant>,
}

/// The number of `handle`'s place in the set. smoltcp keeps it private, but a handle hashes
/// as its number (`#[derive(Hash)]` on `SocketHandle(usize)` writes the one `usize`), so the
/// tables of asleep connections are plain vectors indexed by place instead of maps searched
/// on every access (`handles_number_their_places` checks it).
fn place(handle: SocketHandle) -> usize {
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
fn entry<T>(table: &mut Vec<Option<T>>, index: usize) -> &mut Option<T> {
    if table.len() <= index {
        table.resize_with(index + 1, || None);
    }
    &mut table[index]
}

/// A set of one TCP socket: where an asleep socket waits, and where smoltcp is asked for that
/// socket's own deadline. Free, it holds a placeholder: a closed socket with no buffers.
#[derive(Debug)]
struct Cell {
    /// The set.
    set: SocketSet<'static>,
    /// Its one socket.
    handle: SocketHandle,
}

impl Cell {
    /// A cell holding a placeholder.
    fn new() -> Cell {
        let mut set = SocketSet::new(Vec::with_capacity(1));
        let placeholder = tcp::Socket::new(
            tcp::SocketBuffer::new(Vec::new()),
            tcp::SocketBuffer::new(Vec::new()),
        );
        let handle = set.add(placeholder);
        Cell { set, handle }
    }

    /// The socket in the cell.
    fn socket(&mut self) -> &mut tcp::Socket<'static> {
        self.set.get_mut(self.handle)
    }

    /// When smoltcp must next poll the socket in the cell, were it alone (`None`: only when a
    /// segment arrives). A socket that waits for no neighbour (the cell's place never sent
    /// anything) gets its own `tcp::Socket::poll_at`.
    fn deadline(&self, iface: &mut Interface, now: Instant) -> Option<Instant> {
        iface.poll_at(now, &self.set)
    }
}

/// Whether a socket whose own deadline is `deadline` has nothing to do at `now`.
fn idle(deadline: Option<Instant>, now: Instant) -> bool {
    deadline.is_none_or(|at| at > now)
}

/// Which asleep connections a received frame may concern.
#[derive(Debug, PartialEq, Eq)]
enum Arrival {
    /// None: it is not a TCP segment (ARP, UDP, ICMP...).
    Nothing,
    /// The one with this 4-tuple (`FourTuple::key`, as the receiving host sees it).
    Segment(u128),
    /// Any: a TCP segment or tunnelled packet the host does not read here (a fragment).
    Any,
}

/// What `frame` concerns, read as smoltcp will read it (after `tunl0` unwraps IP in IP).
fn arrival(frame: &[u8]) -> Arrival {
    match EthernetFrame::new_checked(frame) {
        Ok(eth) if eth.ethertype() == EthernetProtocol::Ipv4 => ip_arrival(eth.payload(), true),
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

/// The places of one reservation not used yet, in order.
#[derive(Debug, Default)]
struct Reserved {
    /// Empty entries of the set, lowest first.
    vacant: VecDeque<SocketHandle>,
    /// Places after the set's last entry (only the last reservation has any).
    pending: usize,
}

/// A block of places in a host's socket set, for sockets created later in order.
#[derive(Debug)]
pub struct Reservation(usize);

impl Default for HostSockets {
    fn default() -> Self {
        HostSockets::new()
    }
}

impl HostSockets {
    /// An empty table.
    pub fn new() -> HostSockets {
        HostSockets {
            set: SocketSet::new(Vec::new()),
            parked: BTreeMap::new(),
            reservations: Vec::new(),
            vacant: BTreeSet::new(),
            awake: Vec::new(),
            asleep: Vec::new(),
            sleepers: Vec::new(),
            earliest: None,
            touched: Vec::new(),
            held: Vec::new(),
            spare_cells: Vec::new(),
            scratch: Vec::new(),
            connections: Vec::new(),
        }
    }

    /// Reserves `count` places after every place in use, parked or reserved.
    pub fn reserve(&mut self, count: usize) -> Reservation {
        self.materialize_pending();
        self.reservations.push(Reserved {
            vacant: VecDeque::new(),
            pending: count,
        });
        Reservation(self.reservations.len() - 1)
    }

    /// Adds a socket at the next unused place of `reservation`.
    ///
    /// # Panics
    /// If every place of the reservation is used: a bug of the caller.
    pub fn add_reserved<T: AnySocket<'static>>(
        &mut self,
        reservation: &Reservation,
        socket: T,
    ) -> SocketHandle {
        let reserved = &mut self.reservations[reservation.0];
        if let Some(place) = reserved.vacant.pop_front() {
            self.vacant.remove(&place);
            let below = self.holes_below(Some(place));
            let placed = self.add_above(&below, socket.upcast());
            debug_assert_eq!(placed, place, "a reserved socket lands on its place");
            return placed;
        }
        assert!(reserved.pending > 0, "a reservation used beyond its size");
        reserved.pending -= 1;
        let holes = self.holes_below(None);
        self.add_above(&holes, socket.upcast())
    }

    /// Turns the reserved places after the set's end into empty entries, so that something
    /// added now goes after them.
    fn materialize_pending(&mut self) {
        let Some(last) = self.reservations.last_mut() else {
            return;
        };
        if last.pending == 0 {
            return;
        }
        let pending = std::mem::take(&mut last.pending);
        let holes = self.holes_below(None);
        let fillers: Vec<SocketHandle> = holes.iter().map(|_| self.add_filler()).collect();
        let places: Vec<SocketHandle> = (0..pending).map(|_| self.add_filler()).collect();
        for handle in fillers.into_iter().chain(places.iter().copied()) {
            self.set.remove(handle);
        }
        self.vacant.extend(places.iter().copied());
        if let Some(last) = self.reservations.last_mut() {
            last.vacant.extend(places);
        }
    }

    /// The empty entries of the set below `limit` (all of them with `None`), lowest first.
    fn holes_below(&self, limit: Option<SocketHandle>) -> Vec<SocketHandle> {
        let below = |handle: &SocketHandle| limit.is_none_or(|limit| *handle < limit);
        let mut holes: Vec<SocketHandle> = self
            .parked
            .keys()
            .copied()
            .filter(below)
            .chain(self.vacant.iter().copied().filter(below))
            .collect();
        holes.sort();
        holes
    }

    /// Adds a socket at the first place neither in use nor parked, as `SocketSet::add` would
    /// with nothing parked.
    pub fn add<T: AnySocket<'static>>(&mut self, socket: T) -> SocketHandle {
        self.materialize_pending();
        if self.parked.is_empty() && self.vacant.is_empty() {
            return self.place(socket.upcast());
        }
        let holes = self.holes_below(None);
        self.add_above(&holes, socket.upcast())
    }

    /// Takes an idle socket out of the stack's walk; its handle stays reserved.
    pub fn park(&mut self, handle: SocketHandle) {
        self.wake(handle);
        *entry(&mut self.awake, place(handle)) = None;
        let socket = self.set.remove(handle);
        self.parked.insert(handle, socket);
    }

    /// Whether `handle` is parked.
    pub fn is_parked(&self, handle: SocketHandle) -> bool {
        self.parked.contains_key(&handle)
    }

    /// Puts a parked socket back at its own place. Does nothing if it is not parked.
    pub fn unpark(&mut self, handle: SocketHandle) {
        let Some(socket) = self.parked.remove(&handle) else {
            return;
        };
        let below = self.holes_below(Some(handle));
        let placed = self.add_above(&below, socket);
        debug_assert_eq!(
            placed, handle,
            "an unparked socket returns to its own place"
        );
    }

    /// Adds `socket` to the set after filling the empty places `holes` with placeholders, so
    /// that it lands on the first empty place after them; the placeholders go again.
    fn add_above(&mut self, holes: &[SocketHandle], socket: Socket<'static>) -> SocketHandle {
        let fillers: Vec<SocketHandle> = holes.iter().map(|_| self.add_filler()).collect();
        debug_assert_eq!(fillers, holes, "only parked and reserved places are empty");
        let handle = self.place(socket);
        for filler in fillers {
            self.set.remove(filler);
        }
        handle
    }

    /// Adds `socket` at the first empty place, awake.
    fn place(&mut self, socket: Socket<'static>) -> SocketHandle {
        let tcp = matches!(socket, Socket::Tcp(_));
        let handle = self.set.add(socket);
        if tcp {
            *entry(&mut self.awake, place(handle)) = Some(handle);
        }
        handle
    }

    /// An empty placeholder socket added at the first empty place.
    fn add_filler(&mut self) -> SocketHandle {
        self.set.add(udp::Socket::new(
            udp::PacketBuffer::new(Vec::new(), Vec::new()),
            udp::PacketBuffer::new(Vec::new(), Vec::new()),
        ))
    }
}

/// Asleep connections (see the module doc).
impl HostSockets {
    /// The socket `handle`, asleep or not.
    ///
    /// # Panics
    /// As `SocketSet::get`: if `handle` is not in use or the socket is of another type.
    pub fn get<T: AnySocket<'static>>(&self, handle: SocketHandle) -> &T {
        match self.asleep.get(place(handle)) {
            Some(Some(sleeper)) => sleeper.cell.set.get(sleeper.cell.handle),
            _ => self.set.get(handle),
        }
    }

    /// The socket `handle`, to change it. An asleep one stays in its cell; the host asks its
    /// deadline again before the stack's next poll (`before_poll`), and wakes it if it has
    /// something to do.
    ///
    /// # Panics
    /// As `SocketSet::get_mut`.
    pub fn get_mut<T: AnySocket<'static>>(&mut self, handle: SocketHandle) -> &mut T {
        match self.asleep.get_mut(place(handle)) {
            Some(Some(sleeper)) => {
                if !sleeper.touched {
                    sleeper.touched = true;
                    self.touched.push(handle);
                }
                sleeper.cell.set.get_mut(sleeper.cell.handle)
            }
            _ => self.set.get_mut(handle),
        }
    }

    /// Whether `handle` is an asleep connection: nothing happened to it since the host last
    /// serviced it (no segment, no timer, no application's `get_mut`).
    pub fn is_asleep(&self, handle: SocketHandle) -> bool {
        matches!(self.asleep.get(place(handle)), Some(Some(_)))
    }

    /// The earliest deadline of the asleep connections.
    pub fn next_alarm(&self) -> Option<Instant> {
        self.earliest
    }

    /// Before the stack polls at `now` with `rx` waiting: wakes the connections the poll may
    /// concern (a segment's 4-tuple, a deadline come, an application's change).
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
    /// before a time still to come. `careful`: smoltcp may have held back some sending for a
    /// missing neighbour or route (see `NEIGHBOUR_DOUBT`); every connection is then asked, so
    /// that those it held back are held awake.
    pub fn settle(&mut self, iface: &mut Interface, now: Instant, careful: bool) {
        self.recheck_touched(iface, now);
        let mut connections = std::mem::take(&mut self.connections);
        connections.clear();
        // Sockets with no peer (listening, closed) never sleep: a listener takes SYNs of any
        // 4-tuple, and a closed socket costs smoltcp no more than a placeholder.
        connections.extend(self.awake.iter().flatten().filter_map(|&handle| {
            FourTuple::of(self.set.get::<tcp::Socket>(handle)).map(|tuple| (handle, tuple.key()))
        }));
        if careful || connections.len() + self.sleepers.len() >= SLEEP_FROM {
            for &(handle, tuple) in &connections {
                self.try_sleep(iface, now, handle, tuple);
            }
        }
        self.connections = connections;
    }

    /// Moves the awake connection `handle` into a cell, and leaves it there asleep if it has
    /// nothing to do at `now` and is not held awake.
    fn try_sleep(
        &mut self,
        iface: &mut Interface,
        now: Instant,
        handle: SocketHandle,
        tuple: u128,
    ) {
        let mut cell = self.spare_cells.pop().unwrap_or_else(Cell::new);
        std::mem::swap(self.set.get_mut::<tcp::Socket>(handle), cell.socket());
        let at = cell.deadline(iface, now);
        let held = entry(&mut self.held, place(handle));
        if !idle(at, now) {
            // Something to do right after the stack's polls: smoltcp held back its sending
            // (a neighbour not reached yet: the place then waits `HELD_AWAKE` before trying
            // again), or an application changed it without asking for a poll.
            *held = Some(now + HELD_AWAKE);
        } else if held.is_some_and(|until| now >= until) {
            *held = None;
        }
        if held.is_some() {
            std::mem::swap(self.set.get_mut::<tcp::Socket>(handle), cell.socket());
            self.spare_cells.push(cell);
            return;
        }
        self.awake[place(handle)] = None;
        self.sleepers.push(Alarm { handle, tuple, at });
        self.earliest = [self.earliest, at].into_iter().flatten().min();
        *entry(&mut self.asleep, place(handle)) = Some(Sleeper {
            cell,
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
            let Some(Some(sleeper)) = self.asleep.get_mut(place(handle)) else {
                continue;
            };
            sleeper.touched = false;
            let at = sleeper.cell.deadline(iface, now);
            let tuple = FourTuple::of(sleeper.cell.socket()).map(|t| t.key());
            let alarm = &mut self.sleepers[sleeper.entry];
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
    fn wake(&mut self, handle: SocketHandle) {
        let Some(slot) = self.asleep.get_mut(place(handle)) else {
            return;
        };
        let Some(mut sleeper) = slot.take() else {
            return;
        };
        std::mem::swap(
            self.set.get_mut::<tcp::Socket>(handle),
            sleeper.cell.socket(),
        );
        let alarm = self.sleepers.swap_remove(sleeper.entry);
        if let Some(moved) = self.sleepers.get(sleeper.entry)
            && let Some(Some(other)) = self.asleep.get_mut(place(moved.handle))
        {
            other.entry = sleeper.entry;
        }
        if alarm.at.is_some() && alarm.at == self.earliest {
            self.earliest = self.sleepers.iter().filter_map(|a| a.at).min();
        }
        self.spare_cells.push(sleeper.cell);
        *entry(&mut self.awake, place(handle)) = Some(handle);
    }
}

impl Deref for HostSockets {
    type Target = SocketSet<'static>;

    fn deref(&self) -> &SocketSet<'static> {
        &self.set
    }
}

impl DerefMut for HostSockets {
    fn deref_mut(&mut self) -> &mut SocketSet<'static> {
        &mut self.set
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smoltcp::socket::tcp;

    fn tcp_socket() -> tcp::Socket<'static> {
        tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0; 64]),
            tcp::SocketBuffer::new(vec![0; 64]),
        )
    }

    #[test]
    fn unparked_sockets_return_to_their_place() {
        let mut sockets = HostSockets::new();
        let handles: Vec<SocketHandle> = (0..4).map(|_| sockets.add(tcp_socket())).collect();
        sockets.park(handles[1]);
        sockets.park(handles[2]);
        assert!(sockets.is_parked(handles[2]));
        assert_eq!(sockets.iter().count(), 2);
        // The higher one first: the lower parked place must not take it.
        sockets.unpark(handles[2]);
        assert!(!sockets.is_parked(handles[2]));
        assert_eq!(sockets.iter().nth(1).map(|(h, _)| h), Some(handles[2]));
        sockets.unpark(handles[1]);
        let order: Vec<SocketHandle> = sockets.iter().map(|(h, _)| h).collect();
        assert_eq!(order, handles);
    }

    #[test]
    fn new_sockets_skip_parked_places() {
        let mut plain = SocketSet::new(Vec::new());
        let mut sockets = HostSockets::new();
        let first = sockets.add(tcp_socket());
        plain.add(tcp_socket());
        sockets.add(tcp_socket());
        plain.add(tcp_socket());
        sockets.park(first);
        // Where a set that never parked anything puts the third socket.
        let expected = plain.add(tcp_socket());
        assert_eq!(sockets.add(tcp_socket()), expected);
        sockets.unpark(first);
        assert_eq!(sockets.iter().count(), 3);
    }

    #[test]
    fn reserved_places_keep_their_order() {
        // Without reservations: a server's four sockets, then a client's, then a second
        // server's two.
        let mut plain = SocketSet::new(Vec::new());
        let expected: Vec<SocketHandle> = (0..7).map(|_| plain.add(tcp_socket())).collect();
        let mut sockets = HostSockets::new();
        let web = sockets.reserve(4);
        assert_eq!(sockets.add_reserved(&web, tcp_socket()), expected[0]);
        assert_eq!(
            sockets.add(tcp_socket()),
            expected[4],
            "after the reserved places"
        );
        let other = sockets.reserve(2);
        assert_eq!(sockets.add_reserved(&other, tcp_socket()), expected[5]);
        assert_eq!(sockets.add_reserved(&web, tcp_socket()), expected[1]);
        sockets.park(expected[1]);
        assert_eq!(sockets.add_reserved(&web, tcp_socket()), expected[2]);
        assert_eq!(sockets.add_reserved(&other, tcp_socket()), expected[6]);
        sockets.unpark(expected[1]);
        assert_eq!(sockets.add_reserved(&web, tcp_socket()), expected[3]);
        let order: Vec<SocketHandle> = sockets.iter().map(|(h, _)| h).collect();
        assert_eq!(order, expected);
    }
}

/// Asleep connections against a stack that walks every socket: the same frames, the same
/// deadlines.
#[cfg(test)]
mod asleep_tests {
    use std::net::Ipv4Addr;

    use smoltcp::iface::Config;
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
                self.sockets.settle(&mut self.iface, now, true);
            }
            let stack = self.iface.poll_at(now, &self.sockets);
            let due = [stack, self.sockets.next_alarm()]
                .into_iter()
                .flatten()
                .min();
            (std::mem::take(&mut self.device.tx), due)
        }
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
        let order: Vec<SocketHandle> = asleep.sockets.iter().map(|(h, _)| h).collect();
        assert_eq!(order, asleep.handles, "every socket keeps its place");
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
            "still in its cell until the next poll"
        );
        let expected = walked.step(at(3), Vec::new());
        assert_eq!(asleep.step(at(3), Vec::new()), expected);
        assert_eq!(expected.0.len(), 1, "the data left");
    }
}
