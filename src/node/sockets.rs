//! *A host's socket table*: smoltcp's `SocketSet`, with idle sockets kept out of the stack's way.
//!
//! smoltcp's `Interface::poll` and `poll_at` walk every socket of the set for every frame, so a
//! web server with 32 listening slots pays for 32 sockets on every segment of every request,
//! although only the lowest one of them can take the next SYN. An application may **park** a
//! socket it knows to be idle: the socket leaves the set (its place becomes an empty entry that
//! smoltcp skips for the price of one comparison), and **unparking** puts it back at the very
//! same place, with the very same handle and the state smoltcp keeps for the place.
//!
//! Places matter: smoltcp gives a SYN to the first listening socket in set order and sends the
//! sockets' segments in set order, so a socket back at another place could change which
//! connection a slot gets, or the order of two frames sent at the same instant. The table keeps
//! every handle's place: `add` puts a new socket where `SocketSet::add` would have put it had
//! nothing been parked (the first place neither in use, parked nor asleep: it fills the empty
//! places below with placeholder sockets for the moment of the call, because `SocketSet::add`
//! always takes the first empty place), and `unpark` returns a socket to its own place
//! (`SocketSet::put_back`, which netlab's copy of smoltcp adds: see
//! `vendor/smoltcp/NETLAB-PATCH.md`).
//!
//! **Reserved places.** A web server of 320 slots rarely has more than a few connections at a
//! time. It *reserves* its places when it starts and creates each socket only when it needs
//! it (`add_reserved`, in order), so the set never holds the sockets that were never used.
//! Reserved places at the end of the set take no room; once something else is added after
//! them they become empty entries, filled in later at their own place, as parked ones are.
//!
//! **Asleep connections** (`asleep`): a busy host's live connections with nothing to do leave
//! the stack's walk as well, each kept aside with its place's state, and come back at their
//! place when a segment, a deadline or an application needs them.
//!
//! Reading through `get` or `get_mut` works whether a socket is asleep or not; `iter` (through
//! `Deref`) sees only the sockets in the set. Everything else (the stack's `poll`) goes to the
//! `SocketSet` itself, through `Deref`.
//!
//! # Further reading
//! - `../shared/reference/smoltcp-0.14.md` §0 (cost per socket), §2.2; smoltcp's
//!   `src/iface/socket_set.rs`, `src/iface/socket_meta.rs`, and `tcp::Socket::poll_at`, which
//!   mirrors the beginning of `dispatch`.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::ops::{Deref, DerefMut};

use smoltcp::iface::{SocketHandle, SocketSet, TakenSocket};
use smoltcp::socket::{AnySocket, Socket, udp};
use smoltcp::time::Instant;

mod asleep;

use asleep::{Alarm, Probe, SLEEP_FROM, Sleeper};

/// A host's sockets: smoltcp's set, and the sockets parked out of it (see the module doc).
#[derive(Debug)]
pub struct HostSockets {
    /// What smoltcp walks.
    set: SocketSet<'static>,
    /// Sockets out of `set`, each owning its place there (an empty entry), and whether it is
    /// a TCP socket (one of those that may fall asleep).
    parked: BTreeMap<SocketHandle, (TakenSocket<'static>, bool)>,
    /// Places reserved and not used yet, per reservation (see the module doc).
    reservations: Vec<Reserved>,
    /// Empty entries of `set` that belong to a reservation.
    vacant: BTreeSet<SocketHandle>,
    /// The TCP sockets in the set (those that may fall asleep), in the order of their places
    /// (see [`asleep::place`]). A dense list rather than a table by place: at 20,000 requests per
    /// second a server's set has about 40 places and one or two such sockets in it after a
    /// service, and `settle` visits them after every service.
    awake: Vec<SocketHandle>,
    /// Per place: the asleep connection there (see the module doc).
    asleep: Vec<Option<Sleeper>>,
    /// Per place: whether `asleep` holds a connection there. Applications ask it for each of
    /// their live connections on every poll, and a byte per place keeps the answer for 64
    /// places in one cache line (an entry of `asleep` takes about one line of its own).
    is_asleep: Vec<bool>,
    /// The asleep connections in no order, scanned for a segment's 4-tuple and for deadlines.
    sleepers: Vec<Alarm>,
    /// The earliest of their deadlines.
    earliest: Option<Instant>,
    /// Asleep sockets an application took with `get_mut` since their deadline was asked.
    touched: Vec<SocketHandle>,
    /// Where an asleep or falling-asleep socket is put alone to ask smoltcp its deadline.
    probe: Probe,
    /// A reused list of handles, for loops that change the tables they read.
    scratch: Vec<SocketHandle>,
    /// A reused list of awake connections and their 4-tuples (`FourTuple::key`).
    connections: Vec<(SocketHandle, u128)>,
    /// Connections fall asleep only on a host holding at least this many (`SLEEP_FROM`).
    sleep_from: usize,
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
            is_asleep: Vec::new(),
            sleepers: Vec::new(),
            earliest: None,
            touched: Vec::new(),
            probe: Probe::new(),
            scratch: Vec::new(),
            connections: Vec::new(),
            sleep_from: SLEEP_FROM,
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
            .chain(self.sleepers.iter().map(|alarm| alarm.handle).filter(below))
            .collect();
        holes.sort();
        holes
    }

    /// Adds a socket at the first place neither in use, parked nor asleep, as `SocketSet::add`
    /// would with nothing parked or asleep.
    pub fn add<T: AnySocket<'static>>(&mut self, socket: T) -> SocketHandle {
        self.materialize_pending();
        if self.parked.is_empty() && self.vacant.is_empty() && self.sleepers.is_empty() {
            return self.place(socket.upcast());
        }
        let holes = self.holes_below(None);
        self.add_above(&holes, socket.upcast())
    }

    /// Takes an idle socket out of the stack's walk; its handle stays reserved.
    pub fn park(&mut self, handle: SocketHandle) {
        self.wake(handle);
        let tcp = self.leave_awake(handle);
        let socket = self.set.take_out(handle);
        self.parked.insert(handle, (socket, tcp));
    }

    /// Whether `handle` is parked.
    pub fn is_parked(&self, handle: SocketHandle) -> bool {
        self.parked.contains_key(&handle)
    }

    /// Puts a parked socket back at its own place. Does nothing if it is not parked.
    pub fn unpark(&mut self, handle: SocketHandle) {
        let Some((socket, tcp)) = self.parked.remove(&handle) else {
            return;
        };
        self.set.put_back(handle, socket);
        if tcp {
            self.join_awake(handle);
        }
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
            self.join_awake(handle);
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

    /// netlab's copy of smoltcp adds `take_out` and `put_back` (`NETLAB-PATCH.md`): with them
    /// the set's walk and `add` must still behave as a plain table of places. A model (one
    /// flag per place) follows a fixed mix of adds, removes, take-outs and put-backs over more
    /// than 128 places.
    #[test]
    fn the_set_follows_every_take_out_and_put_back() {
        let mut set = SocketSet::new(Vec::new());
        let mut model: Vec<bool> = Vec::new();
        let mut taken = Vec::new();
        let mut state: u32 = 7;
        for step in 0..2_000 {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let pick = (state >> 16) as usize;
            let occupied: Vec<usize> = (0..model.len()).filter(|&i| model[i]).collect();
            if step < 150 || pick.is_multiple_of(3) || occupied.is_empty() {
                let expected = model.iter().position(|full| !full).unwrap_or(model.len());
                let handle = set.add(tcp_socket());
                assert_eq!(asleep::place(handle), expected, "add at step {step}");
                // A taken-out socket whose place was filled cannot go back: forget it.
                taken.retain(|(h, _): &(SocketHandle, _)| *h != handle);
                if expected == model.len() {
                    model.push(true);
                } else {
                    model[expected] = true;
                }
            } else if pick % 3 == 1 || taken.is_empty() {
                let index = occupied[pick % occupied.len()];
                let (handle, _) = set
                    .iter()
                    .find(|&(h, _)| asleep::place(h) == index)
                    .expect("the model's socket is in the set");
                if pick.is_multiple_of(2) {
                    set.remove(handle);
                } else {
                    taken.push((handle, set.take_out(handle)));
                }
                model[index] = false;
            } else {
                let (handle, socket) = taken.swap_remove(pick % taken.len());
                set.put_back(handle, socket);
                model[asleep::place(handle)] = true;
            }
            let walked: Vec<usize> = set.iter().map(|(h, _)| asleep::place(h)).collect();
            let expected: Vec<usize> = (0..model.len()).filter(|&i| model[i]).collect();
            assert_eq!(walked, expected, "the walk after step {step}");
        }
        assert!(
            model.len() > 128,
            "the test reached more than 128 places: {}",
            model.len()
        );
    }
}
