//! *The connection table*: IPVS's memory of which real server each connection went to.
//!
//! IPVS schedules only the first packet of a connection (a TCP SYN). It writes the choice into
//! a connection entry keyed by the client's address and port and the virtual service's address
//! and port; every later packet of that connection finds the entry and follows it.
//!
//! Each entry also tracks a TCP state, driven only by the flags of the packets the director
//! sees (it does not run TCP itself). Each state has a timeout; an entry that sees no packet
//! for its state's timeout expires. Those timeouts are long (15 minutes when established,
//! 2 minutes in TIME_WAIT), which is why `ipvsadm -Ln` shows many *inactive* connections
//! on a busy director.
//!
//! A connection counts as **active** on its real server while its state is ESTABLISHED and as
//! **inactive** in every other state; `lc`, `wlc`, `sed` and `nq` read those counters.
//!
//! A connection made through a persistence template records it (`control`); the template
//! counts the connection until its entry leaves this table (module `ipvs::persistence`).
//!
//! In NAT mode the director sees both directions (the `INPUT` and `OUTPUT` tables below). In
//! direct-routing mode replies bypass it, so it sees only the client's packets and uses the
//! `INPUT_ONLY` table: a FIN from the client takes the entry to FIN_WAIT, for instance.
//!
//! **Lazy expiry.** Every packet restarts its entry's timer, and a busy director holds
//! hundreds of thousands of entries: moving each entry in the expiry index on every packet
//! would cost two searches of a large tree per packet. So the index may hold an entry at an
//! *earlier* time than its real expiry (never a later one): a timer that only moved later is
//! left where it is, and when it reaches the front of the index it is put back at its real
//! time. A timer that moves earlier (ESTABLISHED's 15 minutes becoming FIN_WAIT's 2) is moved
//! at once. Entries still leave in the order of their real expiry, ties by key, as before.
//!
//! **Hash maps, never walked.** The director looks an entry up two or three times per packet
//! (its key, or the reply's key first). Those lookups go to [`LookupMap`]s, hash maps with a
//! fixed seed that offer no way to walk them, so their order cannot reach a result; what must
//! be ordered (the expiry index) is a B-tree.
//!
//! # Simplifications
//! - TCP only; no `sloppy_tcp`, no secure_tcp (`tcp_states_dos`).
//! - A SYN for an entry in TIME_WAIT or CLOSE makes a new connection at once (the kernel's
//!   default `conn_reuse_mode=1`).
//!
//! # Further reading
//! - Linux `net/netfilter/ipvs/ip_vs_proto_tcp.c`: `tcp_timeouts`, `tcp_states`,
//!   `set_tcp_state`.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use super::persistence::TemplateId;
use crate::sim::{LookupMap, SimDuration, SimTime};

/// IPVS's TCP connection states (`IP_VS_TCP_S_*`), in the kernel's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum TcpState {
    /// No packet seen yet.
    None,
    /// The handshake completed.
    Established,
    /// The server sent a SYN (seen only in the output direction).
    SynSent,
    /// The client's SYN was seen.
    SynRecv,
    /// A FIN was seen.
    FinWait,
    /// Both FINs were seen.
    TimeWait,
    /// Reset or closed.
    Close,
    /// The client closed first and the server has not.
    CloseWait,
    /// The last ACK is awaited.
    LastAck,
    /// Listening (unused by a director).
    Listen,
    /// A SYN-ACK was seen.
    SynAck,
}

use TcpState::{
    Close as CL, CloseWait as CW, Established as ES, FinWait as FW, LastAck as LA, Listen as LI,
    None as NO, SynAck as SA, SynRecv as SR, SynSent as SS, TimeWait as TW,
};

impl TcpState {
    /// The name `ipvsadm -Lnc` prints.
    pub fn name(self) -> &'static str {
        match self {
            NO => "NONE",
            ES => "ESTABLISHED",
            SS => "SYN_SENT",
            SR => "SYN_RECV",
            FW => "FIN_WAIT",
            TW => "TIME_WAIT",
            CL => "CLOSE",
            CW => "CLOSE_WAIT",
            LA => "LAST_ACK",
            LI => "LISTEN",
            SA => "SYNACK",
        }
    }

    /// The kernel's default timeout for this state (`tcp_timeouts`).
    pub fn timeout(self) -> SimDuration {
        match self {
            NO => SimDuration::from_secs(2),
            ES => SimDuration::from_secs(15 * 60),
            SS => SimDuration::from_secs(2 * 60),
            SR => SimDuration::from_secs(60),
            FW => SimDuration::from_secs(2 * 60),
            TW => SimDuration::from_secs(2 * 60),
            CL => SimDuration::from_secs(10),
            CW => SimDuration::from_secs(60),
            LA => SimDuration::from_secs(30),
            LI => SimDuration::from_secs(2 * 60),
            SA => SimDuration::from_secs(2 * 60),
        }
    }

    /// Index of the state in the transition tables.
    fn index(self) -> usize {
        self as usize
    }
}

/// Which packets of a connection the director sees, and which table drives its state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Client to server, when replies also pass the director (NAT).
    Input,
    /// Server to client (NAT replies).
    Output,
    /// Client to server, when replies bypass the director (direct routing).
    InputOnly,
}

/// The flags of a TCP segment that drive the state machine.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpFlags {
    /// SYN.
    pub syn: bool,
    /// FIN.
    pub fin: bool,
    /// ACK.
    pub ack: bool,
    /// RST.
    pub rst: bool,
}

/// The kernel's `tcp_states` table: `[direction][event][old state] → new state`, where the
/// event is RST, else SYN, else FIN, else ACK (`tcp_state_idx`).
const TRANSITIONS: [[[TcpState; 11]; 4]; 3] = [
    // INPUT
    [
        /* syn */ [SR, ES, ES, SR, SR, SR, SR, SR, SR, SR, SR],
        /* fin */ [CL, CW, SS, TW, TW, TW, CL, CW, LA, LI, TW],
        /* ack */ [ES, ES, SS, ES, FW, TW, CL, CW, CL, LI, ES],
        /* rst */ [CL, CL, CL, SR, CL, CL, CL, CL, LA, LI, SR],
    ],
    // OUTPUT
    [
        /* syn */ [SS, ES, SS, SR, SS, SS, SS, SS, SS, LI, SR],
        /* fin */ [TW, FW, SS, TW, FW, TW, CL, TW, LA, LI, TW],
        /* ack */ [ES, ES, SS, ES, FW, TW, CL, CW, LA, ES, ES],
        /* rst */ [CL, CL, SS, CL, CL, TW, CL, CL, CL, CL, CL],
    ],
    // INPUT_ONLY
    [
        /* syn */ [SR, ES, ES, SR, SR, SR, SR, SR, SR, SR, SR],
        /* fin */ [CL, FW, SS, TW, FW, TW, CL, CW, LA, LI, TW],
        /* ack */ [ES, ES, SS, ES, FW, TW, CL, CW, CL, LI, ES],
        /* rst */ [CL, CL, CL, SR, CL, CL, CL, CL, LA, LI, CL],
    ],
];

/// The state after a segment with `flags` travelling in `direction`; `None` for a segment
/// with none of the four flags (the state does not change).
pub fn next_state(state: TcpState, direction: Direction, flags: TcpFlags) -> Option<TcpState> {
    let event = if flags.rst {
        3
    } else if flags.syn {
        0
    } else if flags.fin {
        1
    } else if flags.ack {
        2
    } else {
        return None;
    };
    let table = match direction {
        Direction::Input => 0,
        Direction::Output => 1,
        Direction::InputOnly => 2,
    };
    Some(TRANSITIONS[table][event][state.index()])
}

/// What names a connection: the client's side and the virtual service's side.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, PartialOrd, Ord)]
pub struct ConnKey {
    /// Client address.
    pub client_ip: Ipv4Addr,
    /// Client port.
    pub client_port: u16,
    /// Virtual address.
    pub vip: Ipv4Addr,
    /// Virtual port.
    pub vport: u16,
}

/// One connection entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conn {
    /// Index of the virtual service.
    pub service: usize,
    /// The real server's address.
    pub dest_ip: Ipv4Addr,
    /// The real server's port.
    pub dest_port: u16,
    /// TCP state as the director sees it.
    pub state: TcpState,
    /// When the entry expires unless another packet comes.
    pub expires: SimTime,
    /// The persistence template this connection was made through (`cp->control`), which
    /// counts it until the entry leaves the table (see `ipvs::persistence`).
    pub control: Option<TemplateId>,
}

impl Conn {
    /// Whether the connection counts as active (ESTABLISHED) on its server.
    pub fn is_active(&self) -> bool {
        self.state == TcpState::Established
    }
}

/// All connection entries, with an expiry index.
#[derive(Default)]
pub struct ConnTable {
    /// Entries by client-side key (never walked: module docs).
    entries: LookupMap<ConnKey, Entry>,
    /// The reverse index for NAT replies: (real server, client) → key (never walked).
    by_reply: LookupMap<(Ipv4Addr, u16, Ipv4Addr, u16), ConnKey>,
    /// Entries by the time they are filed under (at or before their expiry; module docs).
    expiry: BTreeSet<(SimTime, ConnKey)>,
    /// The front of `expiry` once it is found to be a real expiry, so that asking again (the
    /// director asks twice per packet) costs no search at all. While `Some`, it *is* the
    /// front and a real expiry: whatever could change either clears it (`file` for a timer
    /// filed before it, `forget_checked` for its own entry changing or leaving).
    front_checked: Option<(SimTime, ConnKey)>,
}

/// A connection and where the expiry index files it.
#[derive(Clone, Copy, Debug)]
struct Entry {
    /// The connection.
    conn: Conn,
    /// Its time in `ConnTable::expiry`, never after `conn.expires`.
    filed: SimTime,
}

impl ConnTable {
    /// The entry for `key`, if any.
    pub fn get(&self, key: &ConnKey) -> Option<&Conn> {
        self.entries.get(key).map(|entry| &entry.conn)
    }

    /// The key of the connection a reply from `dest_ip:dest_port` to `client_ip:client_port`
    /// belongs to.
    pub fn find_reply(
        &self,
        dest_ip: Ipv4Addr,
        dest_port: u16,
        client_ip: Ipv4Addr,
        client_port: u16,
    ) -> Option<ConnKey> {
        self.by_reply
            .get(&(dest_ip, dest_port, client_ip, client_port))
            .copied()
    }

    /// Adds an entry (in state NONE until its first packet moves it).
    pub fn insert(&mut self, key: ConnKey, conn: Conn) {
        self.forget_checked(&key);
        self.by_reply.insert(
            (conn.dest_ip, conn.dest_port, key.client_ip, key.client_port),
            key,
        );
        self.file(conn.expires, key);
        if let Some(old) = self.entries.insert(
            key,
            Entry {
                conn,
                filed: conn.expires,
            },
        ) && old.filed != conn.expires
        {
            self.expiry.remove(&(old.filed, key));
        }
    }

    /// Removes an entry and returns it.
    pub fn remove(&mut self, key: &ConnKey) -> Option<Conn> {
        let Entry { conn, filed } = self.entries.remove(key)?;
        self.forget_checked(key);
        self.expiry.remove(&(filed, *key));
        self.by_reply
            .remove(&(conn.dest_ip, conn.dest_port, key.client_ip, key.client_port));
        Some(conn)
    }

    /// Moves an entry to `state` at `now` and restarts its timer; returns the old state.
    /// A timer that moves later stays filed where it is (lazy expiry, module docs).
    pub fn update(&mut self, key: &ConnKey, state: TcpState, now: SimTime) -> Option<TcpState> {
        self.forget_checked(key);
        let entry = self.entries.get_mut(key)?;
        let old = entry.conn.state;
        entry.conn.state = state;
        entry.conn.expires = now + state.timeout();
        if entry.conn.expires < entry.filed {
            self.expiry.remove(&(entry.filed, *key));
            entry.filed = entry.conn.expires;
            let filed = entry.filed;
            self.file(filed, *key);
        }
        Some(old)
    }

    /// Refiles the timers at the front of the index that moved later, until the front one is
    /// an entry's real expiry (or the index is empty).
    fn refile_front(&mut self) {
        if self.front_checked.is_some() {
            // Still the front, and still a real expiry (`front_checked`'s invariant).
            debug_assert_eq!(self.expiry.first().copied(), self.front_checked);
            return;
        }
        while let Some(&(at, key)) = self.expiry.first() {
            match self.entries.get_mut(&key) {
                Some(entry) if entry.conn.expires == at => {
                    self.front_checked = Some((at, key));
                    return;
                }
                Some(entry) => {
                    self.expiry.pop_first();
                    entry.filed = entry.conn.expires;
                    self.expiry.insert((entry.filed, key));
                }
                // A timer without its entry cannot happen (`remove` takes both); drop it.
                None => {
                    self.expiry.pop_first();
                }
            }
        }
    }

    /// Files `key`'s timer at `at` in the expiry index. One filed before the checked front
    /// becomes the new front, not yet checked.
    fn file(&mut self, at: SimTime, key: ConnKey) {
        if self.front_checked.is_some_and(|front| (at, key) < front) {
            self.front_checked = None;
        }
        self.expiry.insert((at, key));
    }

    /// Forgets that `key`'s timer was checked: it is about to change.
    fn forget_checked(&mut self, key: &ConnKey) {
        if self
            .front_checked
            .is_some_and(|(_, checked)| checked == *key)
        {
            self.front_checked = None;
        }
    }

    /// Removes and returns every entry that has expired by `now`.
    pub fn expire(&mut self, now: SimTime) -> Vec<(ConnKey, Conn)> {
        std::iter::from_fn(|| self.expire_next(now)).collect()
    }

    /// Removes and returns the entry that expires first, if it has expired by `now`. The
    /// director uses it to run connection and template timers in time order.
    pub fn expire_next(&mut self, now: SimTime) -> Option<(ConnKey, Conn)> {
        self.refile_front();
        let (at, key) = self.front_checked?;
        if at > now {
            return None;
        }
        self.remove(&key).map(|conn| (key, conn))
    }

    /// When the next entry expires.
    pub fn next_expiry(&mut self) -> Option<SimTime> {
        self.refile_front();
        self.front_checked.map(|(at, _)| at)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SYN: TcpFlags = TcpFlags {
        syn: true,
        fin: false,
        ack: false,
        rst: false,
    };
    const ACK: TcpFlags = TcpFlags {
        syn: false,
        fin: false,
        ack: true,
        rst: false,
    };
    const SYN_ACK: TcpFlags = TcpFlags {
        syn: true,
        fin: false,
        ack: true,
        rst: false,
    };
    const FIN_ACK: TcpFlags = TcpFlags {
        syn: false,
        fin: true,
        ack: true,
        rst: false,
    };
    const RST: TcpFlags = TcpFlags {
        syn: false,
        fin: false,
        ack: false,
        rst: true,
    };

    /// Client 10.0.0.1 from `port` to the VIP 10.0.1.100:80.
    fn key(port: u16) -> ConnKey {
        ConnKey {
            client_ip: Ipv4Addr::new(10, 0, 0, 1),
            client_port: port,
            vip: Ipv4Addr::new(10, 0, 1, 100),
            vport: 80,
        }
    }

    /// A new connection to real server 10.0.2.11:80 that expires at `at` nanoseconds.
    fn conn(at: u64) -> Conn {
        Conn {
            service: 0,
            dest_ip: Ipv4Addr::new(10, 0, 2, 11),
            dest_port: 80,
            state: TcpState::None,
            expires: SimTime::from_nanos(at),
            control: None,
        }
    }

    /// Replays a list of (direction, flags) from NONE.
    fn walk(steps: &[(Direction, TcpFlags)]) -> Vec<TcpState> {
        let mut state = TcpState::None;
        steps
            .iter()
            .map(|&(d, f)| {
                state = next_state(state, d, f).unwrap();
                state
            })
            .collect()
    }

    #[test]
    fn a_nat_connection_that_the_server_closes() {
        use Direction::{Input, Output};
        let states = walk(&[
            (Input, SYN),
            (Output, SYN_ACK),
            (Input, ACK),
            (Output, FIN_ACK),
            (Input, FIN_ACK),
            (Output, ACK),
        ]);
        assert_eq!(states, vec![SR, SR, ES, FW, TW, TW]);
    }

    #[test]
    fn a_direct_routing_connection_seen_from_the_client_side_only() {
        use Direction::InputOnly;
        let states = walk(&[
            (InputOnly, SYN),
            (InputOnly, ACK),
            (InputOnly, FIN_ACK),
            (InputOnly, ACK),
        ]);
        assert_eq!(states, vec![SR, ES, FW, FW]);
    }

    #[test]
    fn a_reset_closes() {
        let states = walk(&[(Direction::Input, SYN), (Direction::Output, RST)]);
        assert_eq!(states, vec![SR, CL]);
        assert_eq!(CL.timeout(), SimDuration::from_secs(10));
    }

    #[test]
    fn entries_expire_in_order() {
        let mut table = ConnTable::default();
        table.insert(key(1), conn(30));
        table.insert(key(2), conn(10));
        assert_eq!(table.next_expiry(), Some(SimTime::from_nanos(10)));
        assert_eq!(
            table.find_reply(
                Ipv4Addr::new(10, 0, 2, 11),
                80,
                Ipv4Addr::new(10, 0, 0, 1),
                1
            ),
            Some(key(1))
        );
        let gone = table.expire(SimTime::from_nanos(20));
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].0, key(2));
        table.update(&key(1), TcpState::Established, SimTime::from_nanos(20));
        assert_eq!(table.get(&key(1)).unwrap().state, ES);
        assert!(table.expire(SimTime::from_nanos(1000)).is_empty());
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn timers_that_move_later_or_earlier_still_expire_in_order() {
        let mut table = ConnTable::default();
        let secs = |s: u64| SimTime::ZERO + SimDuration::from_secs(s);
        table.insert(key(1), conn(10));
        table.insert(key(2), conn(20));
        table.insert(key(3), conn(30));
        // Later: key 1 is now filed too early and must be refiled, not expired.
        table.update(&key(1), TcpState::Established, SimTime::from_nanos(5));
        assert_eq!(table.next_expiry(), Some(SimTime::from_nanos(20)));
        // The front, once checked, moves later: asking again must see it.
        table.update(&key(2), TcpState::None, SimTime::from_nanos(6));
        assert_eq!(table.next_expiry(), Some(SimTime::from_nanos(30)));
        // Earlier: key 1 moves from 15 minutes to CLOSE's 10 seconds.
        table.update(&key(1), TcpState::Close, SimTime::from_nanos(5));
        // Key 3 moves later to the same instant as key 1: ties go by key.
        table.update(&key(3), TcpState::Close, SimTime::from_nanos(5));
        let gone: Vec<u16> = table
            .expire(secs(20))
            .iter()
            .map(|(k, _)| k.client_port)
            .collect();
        assert_eq!(gone, [2, 1, 3], "2 s, then 10 s twice, ties by key");
        assert!(table.is_empty());
        assert_eq!(table.next_expiry(), None);
    }

    /// One step of the property test below.
    #[derive(Clone, Debug)]
    enum Op {
        Insert(u16, u64),
        Update(u16, usize, u64),
        Remove(u16),
        Expire(u64),
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        prop_oneof![
            (0u16..8, 0u64..200).prop_map(|(k, at)| Op::Insert(k, at)),
            (0u16..8, 0usize..STATES.len(), 0u64..200)
                .prop_map(|(k, s, now)| Op::Update(k, s, now)),
            (0u16..8).prop_map(Op::Remove),
            (0u64..400).prop_map(Op::Expire),
        ]
    }

    const STATES: [TcpState; 5] = [
        TcpState::None,
        TcpState::Established,
        TcpState::FinWait,
        TcpState::TimeWait,
        TcpState::Close,
    ];

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config {
            cases: 300, failure_persistence: None, ..Default::default()
        })]

        /// Lazy filing and the remembered front never change what leaves the table or when:
        /// against a plain map of real expiries, the same entries leave, in the same order
        /// (time, then key), and the next expiry is always the earliest real one.
        #[test]
        fn the_table_expires_as_a_plain_map_of_expiries_would(
            ops in proptest::collection::vec(op(), 1..60),
        ) {
            let secs = |s: u64| SimTime::ZERO + SimDuration::from_secs(s);
            let mut table = ConnTable::default();
            let mut model = std::collections::BTreeMap::<u16, SimTime>::new();
            for op in ops {
                match op {
                    Op::Insert(k, at) => {
                        table.insert(key(k), conn(secs(at).as_nanos()));
                        model.insert(k, secs(at));
                    }
                    Op::Update(k, s, now) => {
                        let old = table.update(&key(k), STATES[s], secs(now));
                        proptest::prop_assert_eq!(old.is_some(), model.contains_key(&k));
                        if let Some(at) = model.get_mut(&k) {
                            *at = secs(now) + STATES[s].timeout();
                        }
                    }
                    Op::Remove(k) => {
                        proptest::prop_assert_eq!(table.remove(&key(k)).is_some(), model.remove(&k).is_some());
                    }
                    Op::Expire(now) => {
                        let gone: Vec<u16> =
                            table.expire(secs(now)).iter().map(|(k, _)| k.client_port).collect();
                        let mut due: Vec<(SimTime, u16)> =
                            model.iter().filter(|&(_, &at)| at <= secs(now)).map(|(&k, &at)| (at, k)).collect();
                        due.sort();
                        for (_, k) in &due {
                            model.remove(k);
                        }
                        proptest::prop_assert_eq!(gone, due.iter().map(|&(_, k)| k).collect::<Vec<_>>());
                    }
                }
                let next = model.iter().map(|(&k, &at)| (at, k)).min().map(|(at, _)| at);
                proptest::prop_assert_eq!(table.next_expiry(), next);
                proptest::prop_assert_eq!(table.len(), model.len());
            }
        }
    }
}
