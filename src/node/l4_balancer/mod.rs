//! *An L4 load balancer* (a "director"), modelled on Linux IPVS.
//!
//! Clients connect to a *virtual IP* (VIP) and port. The director owns the VIP: it answers ARP
//! for it, so the router sends it every packet for the VIP. For each packet to a virtual
//! service it:
//!
//! 1. looks the connection up in its table (client address and port, VIP and port);
//! 2. for a SYN with no entry, asks the service's scheduler for a real server (a persistent
//!    service first asks its templates, see `ipvs::persistence`) and creates an entry; if no
//!    server is available it answers ICMP port unreachable, as IPVS does;
//! 3. advances the entry's TCP state from the packet's flags (see `ipvs::conn`), which moves
//!    the server's connection between the active and inactive counters;
//! 4. forwards the packet to the entry's real server:
//!    - **NAT** (`Masq`): rewrites the destination address and port to the real server's and
//!      fixes the IPv4 and TCP checksums. The real server answers the client's address, so its
//!      reply must come back through the director (it is the server's gateway), which rewrites
//!      the source back to the VIP (step 5).
//!    - **Direct routing** (`Route`): rewrites only the destination MAC address. The packet
//!      still says "to VIP"; the real server holds the VIP on its loopback (without answering
//!      ARP for it) and answers the client directly, from the VIP, bypassing the director.
//!    - **Tunnelling** (`Tunnel`): wraps the packet in IP-in-IP to the real server (see
//!      `node::tunnel`), which may be on another network; like DR, the packet inside still
//!      says "to VIP" and the server answers directly. A packet that no longer fits the path
//!      MTU once wrapped gets ICMP "fragmentation needed" (1480) from the VIP instead.
//! 5. NAT replies: a packet from a real server that matches an entry gets its source rewritten
//!    to the VIP and port, and is routed to the client like any forwarded packet.
//!
//! A *firewall-mark* service (`ipvsadm -A -f 1`) has no VIP: the director marks the packets
//! it forwards by its mangle rules (`ipvs::fwmark`) and schedules the marked ones, whatever
//! their destination (a cluster of transparent caches in front of many origin servers).
//!
//! Everything else (ARP, pings, packets for other destinations) is handled by the embedded
//! [`Router`]: a director is a router with IPVS inside.
//!
//! **Health checks** (keepalived's half of a director) run on a small smoltcp stack per
//! interface that shares the interface's MAC and address, so checks leave from the director's
//! own address with real packets. Replies to them (TCP to the director's address, ICMP echo
//! replies and errors, ARP replies) are handed to that stack. The checkers' verdicts come back
//! on a [`HealthBoard`]; the director then:
//! - removes a server whose checkers are not all up from the service (or, with
//!   `inhibit_on_failure`, sets its weight to 0), and adds it back when they all pass;
//! - tracks *quorum*: the sum of the weights of the live servers. When it falls below
//!   `quorum - hysteresis` (or to 0), the service switches to the `sorry_server`, if one is
//!   configured; when it reaches `quorum + hysteresis` again, the real servers come back.
//!
//! Every change goes into `events.csv` with its cause, and an `ipvsadm` snapshot is taken.
//!
//! **Connection synchronisation** (optional, like `ipvsadm --start-daemon`): the director
//! multicasts each new connection to 224.0.0.81:8848; the others learn it, so after a VRRP
//! failover the new master carries on the old master's connections instead of resetting them.
//!
//! # Simplifications
//! - TCP only. No full-NAT; tunnelling only over IP-in-IP (no GUE or GRE).
//! - Sync messages use the kernel's version 1 format (`ipvs::sync`), one connection each;
//!   only new connections are announced (the kernel also sends state changes), and they are
//!   learned as established.
//! - Connections of firewall-mark services are not synchronised to the other directors.
//! - The director rewrites packets in zero time.
//! - Packets to the VIP that are not for a service port are dropped.
//! - A real server an operator removes (`ipvsadm -d`, [`Command::RemoveServer`]) goes on
//!   serving the connections already bound to it until they end. Linux's default
//!   (`expire_nodest_conn = 0`) keeps their entries but silently drops their packets, so that
//!   a server added back resumes them; operators drain with weight 0 first for that reason.
//!
//! # Further reading
//! - Linux `net/netfilter/ipvs/ip_vs_core.c` (`ip_vs_in`, `ip_vs_out`), `ip_vs_xmit.c`
//!   (`ip_vs_nat_xmit`, `ip_vs_dr_xmit`, `ip_vs_tunnel_xmit`); the LVS-HOWTO;
//!   `book/src/labs/l4-balancing.md`.

use std::net::Ipv4Addr;

use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol,
    Icmpv4Message, Icmpv4Packet, IpProtocol, Ipv4Packet, TcpControl, TcpPacket, TcpRepr,
    TcpSeqNumber, UdpPacket,
};

use super::Host;
use super::frames::{self, ETHERNET_HEADER_LEN};
use super::packet_cpu::PacketCpu;
use super::router::{IcmpError, Router};
use super::tunnel::{self, EncapsulateError};
use super::{Command, Node, NodeCtx};
use crate::app::{CheckerConfig, HealthBoard, HealthChecker};
use crate::ipvs::conn::{Conn, ConnKey, ConnTable, Direction, TcpFlags, TcpState, next_state};
use crate::ipvs::fwmark::{self, MarkRule};
use crate::ipvs::scheduler::{Connection, Destination, SchedulerState};
use crate::ipvs::service::{Forward, RealServerConfig, Scheduled, VirtualService, find_service};
use crate::ipvs::{ipvsadm, sync};
use crate::sim::{SimDuration, SimTime};
use crate::trace::decision::L4Pick;
use crate::trace::{BalancerRecord, DecisionKind, IpvsSnapshot, RealServerRecord, ServiceRecord};

/// keepalived's view of one real server.
#[derive(Clone, Debug)]
pub struct MemberHealth {
    /// The server as configured.
    pub config: RealServerConfig,
    /// `inhibit_on_failure`: set weight 0 instead of removing it.
    pub inhibit_on_failure: bool,
    /// Its checkers.
    pub checkers: Vec<CheckerConfig>,
}

/// keepalived's settings for one virtual service.
#[derive(Clone, Debug)]
pub struct ServiceHealth {
    /// Quorum: live weight needed to keep the real servers in service.
    pub quorum: u32,
    /// Hysteresis around the quorum.
    pub hysteresis: u32,
    /// Where new connections go while quorum is lost.
    pub sorry_server: Option<RealServerConfig>,
    /// The real servers, in configured order.
    pub members: Vec<MemberHealth>,
}

/// Runtime state of one member.
struct MemberState {
    /// Configuration.
    health: MemberHealth,
    /// Checkers currently failing.
    failing: usize,
}

/// Runtime state of one service's health.
struct ServiceState {
    /// Configuration.
    quorum: u32,
    /// Hysteresis.
    hysteresis: u32,
    /// Sorry server.
    sorry_server: Option<RealServerConfig>,
    /// Members.
    members: Vec<MemberState>,
    /// Whether quorum holds.
    quorum_up: bool,
}

/// The checkers that speak from one interface, and the (service, member) each belongs to.
type ChecksOnInterface = (Vec<CheckerConfig>, Vec<(usize, usize)>);

/// A checker stack on one interface.
struct CheckerStack {
    /// The interface it speaks on.
    iface: usize,
    /// The stack and its `HealthChecker` app.
    host: Host,
    /// Where its verdicts arrive.
    board: HealthBoard,
    /// For each of its checkers: (service, member).
    owners: Vec<(usize, usize)>,
}

/// An IPVS director.
pub struct L4Balancer {
    /// The routing half: interfaces (with the VIPs as extra addresses), routes, ARP.
    router: Router,
    /// Node index in the world (for the trace).
    node_index: usize,
    /// The virtual services.
    services: Vec<VirtualService>,
    /// The connection table.
    conns: ConnTable,
    /// Times at which to record an `ipvsadm` snapshot, in order.
    snapshot_times: Vec<SimTime>,
    /// How many of `snapshot_times` have been taken.
    snapshots_taken: usize,
    /// keepalived's state per service (empty without health checks).
    health: Vec<ServiceState>,
    /// Checker stacks, at most one per interface.
    checker_stacks: Vec<CheckerStack>,
    /// Connection synchronisation with the other directors (IPVS's sync daemon).
    sync: bool,
    /// The kernel's per-packet work, when modelled: every frame waits for it.
    cpu: Option<PacketCpu>,
    /// Identification of the next outer header this director writes when tunnelling.
    ipip_ident: u16,
    /// The mangle table's `MARK` rules, for firewall-mark services (`ipvs::fwmark`).
    marks: Vec<MarkRule>,
}

/// The Ethernet address of the IPVS sync daemon's group 224.0.0.81 (`ipvs::sync`):
/// 01:00:5e:00:00:51.
const SYNC_GROUP_MAC: EthernetAddress = EthernetAddress([0x01, 0x00, 0x5e, 0x00, 0x00, 0x51]);

/// What the TCP header of a packet tells the director.
struct Segment {
    /// Source address.
    src: Ipv4Addr,
    /// Destination address.
    dst: Ipv4Addr,
    /// Source port.
    src_port: u16,
    /// Destination port.
    dst_port: u16,
    /// Flags.
    flags: TcpFlags,
    /// IP packet length in bytes (for the statistics).
    ip_len: u64,
}

/// Reads the addresses, ports and flags of a TCP/IPv4 frame, if it is one.
fn parse_tcp(frame: &[u8]) -> Option<Segment> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    if eth.ethertype() != EthernetProtocol::Ipv4 {
        return None;
    }
    let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
    if ip.next_header() != IpProtocol::Tcp || !ip.verify_checksum() {
        return None;
    }
    let tcp = TcpPacket::new_checked(ip.payload()).ok()?;
    Some(Segment {
        src: ip.src_addr(),
        dst: ip.dst_addr(),
        src_port: tcp.src_port(),
        dst_port: tcp.dst_port(),
        flags: TcpFlags {
            syn: tcp.syn(),
            fin: tcp.fin(),
            ack: tcp.ack(),
            rst: tcp.rst(),
        },
        ip_len: ip.total_len() as u64,
    })
}

/// Rewrites the destination (`to_dst`) or source address and port of a TCP/IPv4 frame and
/// recomputes both checksums (the TCP checksum covers the addresses through the pseudo-header).
fn rewrite(frame: &mut [u8], address: Ipv4Addr, port: u16, to_dst: bool) {
    let mut ip = Ipv4Packet::new_unchecked(&mut frame[ETHERNET_HEADER_LEN..]);
    if to_dst {
        ip.set_dst_addr(address);
    } else {
        ip.set_src_addr(address);
    }
    ip.fill_checksum();
    let (src, dst) = (ip.src_addr(), ip.dst_addr());
    let mut tcp = TcpPacket::new_unchecked(ip.payload_mut());
    if to_dst {
        tcp.set_dst_port(port);
    } else {
        tcp.set_src_port(port);
    }
    tcp.fill_checksum(&src.into(), &dst.into());
}

/// The decision record of one scheduling: `candidates` and `state` as they were before the
/// pick, `scheduled` its result.
fn pick_record(
    svc: &VirtualService,
    request: &Connection,
    candidates: Vec<Destination>,
    state: SchedulerState,
    scheduled: Option<Scheduled>,
) -> L4Pick {
    // The chosen server's key; its index in `candidates` (a re-added server moves to the
    // head of the list, so the index may differ from the one after the pick).
    let chosen_key = scheduled.map(|s| svc.dests[s.dest].key());
    L4Pick {
        client: (request.client_addr, request.client_port),
        vip: (request.vip, request.vport),
        scheduler: svc.scheduler.name(),
        template: scheduled.filter(|s| s.pinned).and(chosen_key),
        chosen: chosen_key.and_then(|key| candidates.iter().position(|d| d.key() == key)),
        forward: scheduled.map(|s| svc.configs[s.dest].forward),
        candidates,
        state,
    }
}

/// Takes one off the TTL and fixes the header checksum; `false` if the packet must die here.
fn decrement_ttl(frame: &mut [u8]) -> bool {
    let mut ip = Ipv4Packet::new_unchecked(&mut frame[ETHERNET_HEADER_LEN..]);
    let ttl = ip.hop_limit();
    if ttl <= 1 {
        return false;
    }
    ip.set_hop_limit(ttl - 1);
    ip.fill_checksum();
    true
}

impl L4Balancer {
    /// A director with its router half, services, and snapshot times.
    pub fn new(
        router: Router,
        node_index: usize,
        services: Vec<VirtualService>,
        mut snapshot_times: Vec<SimTime>,
    ) -> L4Balancer {
        snapshot_times.sort();
        L4Balancer {
            router,
            node_index,
            services,
            conns: ConnTable::default(),
            snapshot_times,
            snapshots_taken: 0,
            health: Vec::new(),
            checker_stacks: Vec::new(),
            sync: false,
            cpu: None,
            ipip_ident: 0,
            marks: Vec::new(),
        }
    }

    /// Installs the mangle table's `MARK` rules (firewall-mark services match their marks).
    pub fn set_marks(&mut self, marks: Vec<MarkRule>) {
        self.marks = marks;
    }

    /// Makes every frame cost `cost` of one CPU, waiting in a backlog of at most `backlog`
    /// frames (see `packet_cpu`). Without it, the director's work takes no time.
    pub fn set_packet_cost(&mut self, cost: SimDuration, backlog: usize) {
        self.cpu = Some(PacketCpu::new(cost, backlog));
    }

    /// Turns connection synchronisation on: new connections are announced to, and learned
    /// from, the other directors on the segment.
    pub fn enable_sync(&mut self) {
        self.sync = true;
    }

    /// Adds keepalived: health settings per service (same order as the services) and the
    /// director's checker stacks, one per interface that has checked servers. `stack` builds
    /// a smoltcp host on an interface; `rng` draws the checkers' warm-up delays.
    pub fn enable_health_checks(
        &mut self,
        health: Vec<ServiceHealth>,
        mut stack: impl FnMut(usize) -> Host,
        iface_of: impl Fn(std::net::Ipv4Addr) -> Option<usize>,
        rng: &mut crate::sim::Stream,
    ) {
        let mut per_iface: std::collections::BTreeMap<usize, ChecksOnInterface> =
            std::collections::BTreeMap::new();
        for (s, svc) in health.iter().enumerate() {
            for (m, member) in svc.members.iter().enumerate() {
                for checker in &member.checkers {
                    if let Some(iface) = iface_of(checker.target) {
                        let entry = per_iface.entry(iface).or_default();
                        entry.0.push(checker.clone());
                        entry.1.push((s, m));
                    }
                }
            }
        }
        for (iface, (configs, owners)) in per_iface {
            let board = HealthBoard::default();
            let mut host = stack(iface);
            host.add_app(Box::new(HealthChecker::new(configs, board.clone(), rng)));
            self.checker_stacks.push(CheckerStack {
                iface,
                host,
                board,
                owners,
            });
        }
        // With `alpha`, a checker starts failed: its server starts out of the pool.
        self.health = health
            .into_iter()
            .map(|svc| ServiceState {
                quorum: svc.quorum,
                hysteresis: svc.hysteresis,
                sorry_server: svc.sorry_server,
                quorum_up: true,
                members: svc
                    .members
                    .into_iter()
                    .map(|health| MemberState {
                        failing: health.checkers.iter().filter(|c| c.alpha).count(),
                        health,
                    })
                    .collect(),
            })
            .collect();
        self.start_keepalived();
    }

    /// keepalived starts: every server up unless one of its checkers has `alpha`, and quorum
    /// decided from there.
    fn start_keepalived(&mut self) {
        for s in 0..self.health.len() {
            self.health[s].quorum_up = true;
            if let Some(sorry) = self.health[s].sorry_server {
                self.services[s].set_available(sorry.addr, sorry.port, false);
            }
            for m in 0..self.health[s].members.len() {
                let member = &mut self.health[s].members[m];
                member.failing = member.health.checkers.iter().filter(|c| c.alpha).count();
                let alive = member.failing == 0;
                self.apply_member(s, m, alive);
            }
            if self.live_weight(s) == 0 || self.live_weight(s) < self.health[s].quorum {
                self.health[s].quorum_up = false;
                self.enter_sorry(s);
            }
        }
    }

    /// The service for `vip:port`.
    fn service_index(&self, vip: Ipv4Addr, port: u16) -> Option<usize> {
        self.services
            .iter()
            .position(|s| s.vip == vip && s.port == port)
    }

    /// The service a client's packet is for: its mark (set by the mangle rules on packets
    /// the director forwards) or its destination, looked up as `ip_vs_service_find` does.
    /// A VIP held by VRRP is served only while this director is its master.
    fn service_for(&self, seg: &Segment) -> Option<usize> {
        let mark = if self.router.owns(seg.dst) {
            0
        } else {
            fwmark::mark_of(&self.marks, seg.src, seg.dst_port)
        };
        let service = find_service(&self.services, mark, seg.dst, seg.dst_port)?;
        (self.services[service].fwmark.is_some() || self.router.owns(seg.dst)).then_some(service)
    }

    /// Steps 1–4: a packet from a client to a virtual service.
    fn inbound(&mut self, ctx: &mut NodeCtx<'_>, mut frame: Vec<u8>, seg: Segment, service: usize) {
        let key = ConnKey {
            client_ip: seg.src,
            client_port: seg.src_port,
            vip: seg.dst,
            vport: seg.dst_port,
        };
        // A new SYN reusing a finished connection's 4-tuple starts afresh (conn_reuse_mode=1).
        let is_new_syn = seg.flags.syn && !seg.flags.ack;
        if is_new_syn
            && self
                .conns
                .get(&key)
                .is_some_and(|c| matches!(c.state, TcpState::TimeWait | TcpState::Close))
        {
            self.drop_conn(&key);
        }
        // 1–2. Find the connection, or schedule a new one.
        let conn = match self.conns.get(&key).copied() {
            Some(conn) => conn,
            None => {
                if !is_new_syn {
                    // Not part of any connection IPVS knows (a director that took over without
                    // connection sync, say): the packet goes to the local TCP stack, which owns
                    // the VIP and answers with a reset.
                    self.send_reset(ctx, &frame);
                    return;
                }
                let svc = &mut self.services[service];
                let request = Connection::new(seg.src, seg.src_port, seg.dst, seg.dst_port);
                // The inputs of the pick, copied before it changes them (only when recording).
                let inputs = ctx
                    .trace
                    .decisions
                    .is_on()
                    .then(|| (svc.dests.clone(), svc.scheduler.state(&svc.dests, &request)));
                let scheduled = svc.schedule(&request, ctx.now);
                if let Some((candidates, state)) = inputs {
                    let pick = pick_record(svc, &request, candidates, state, scheduled);
                    let node = self.node_index;
                    ctx.trace
                        .decisions
                        .record(ctx.now, node, DecisionKind::L4Pick(Box::new(pick)));
                }
                let svc = &mut self.services[service];
                let Some(scheduled) = scheduled else {
                    // ip_vs_leave(): no destination available → ICMP port unreachable, from
                    // the VIP (the packet's local destination).
                    self.router.send_icmp_error_from(
                        ctx,
                        seg.dst,
                        &frame,
                        IcmpError::PortUnreachable,
                    );
                    return;
                };
                let conn = Conn {
                    service,
                    dest_ip: svc.dests[scheduled.dest].addr,
                    dest_port: svc.dests[scheduled.dest].port,
                    state: TcpState::None,
                    expires: ctx.now + TcpState::None.timeout(),
                    control: scheduled.control,
                };
                self.conns.insert(key, conn);
                if self.sync {
                    self.send_sync(ctx, &key, &conn);
                }
                conn
            }
        };
        let svc = &mut self.services[conn.service];
        let Some(dest) = svc.dest_index(conn.dest_ip, conn.dest_port) else {
            return;
        };
        let forward = svc.configs[dest].forward;
        // 3. The TCP state machine, from the client's side.
        let direction = match forward {
            Forward::Masq => Direction::Input,
            Forward::Route | Forward::Tunnel => Direction::InputOnly,
        };
        self.advance(ctx.now, &key, conn, direction, seg.flags);
        let svc = &mut self.services[conn.service];
        svc.stats.in_pkts += 1;
        svc.stats.in_bytes += seg.ip_len;
        svc.dest_stats[dest].in_pkts += 1;
        svc.dest_stats[dest].in_bytes += seg.ip_len;
        // 4. Forward. Like any forwarded packet it loses one TTL (Linux IPVS decrements it
        // for NAT, DR and TUN since 4.x); one that would reach zero is dropped.
        if !decrement_ttl(&mut frame) {
            return;
        }
        match forward {
            Forward::Masq => rewrite(&mut frame, conn.dest_ip, conn.dest_port, true),
            Forward::Route => {}
            Forward::Tunnel => match self.encapsulate(&frame, conn.dest_ip) {
                Ok(wrapped) => frame = wrapped,
                Err(EncapsulateError::FragmentationNeeded { mtu }) => {
                    // icmp_send() from the packet's local destination, the VIP; Linux never
                    // rate-limits this one (path MTU discovery depends on it).
                    let error = IcmpError::FragNeeded { mtu };
                    self.router
                        .send_icmp_error_from(ctx, seg.dst, &frame, error);
                    return;
                }
                Err(EncapsulateError::Malformed) => return,
            },
        }
        self.router.send_towards(ctx, conn.dest_ip, frame);
    }

    /// `ip_vs_tunnel_xmit`: the frame wrapped in IP-in-IP from the director's address towards
    /// `server` (path MTU 1500, every netlab link being Ethernet).
    fn encapsulate(&mut self, frame: &[u8], server: Ipv4Addr) -> Result<Vec<u8>, EncapsulateError> {
        let source = self
            .router
            .source_towards(server)
            .ok_or(EncapsulateError::Malformed)?;
        self.ipip_ident = self.ipip_ident.wrapping_add(1);
        tunnel::encapsulate(frame, source, server, self.ipip_ident, tunnel::ETHERNET_MTU)
    }

    /// Step 5: a NAT reply from a real server.
    fn outbound(
        &mut self,
        ctx: &mut NodeCtx<'_>,
        iface: usize,
        mut frame: Vec<u8>,
        seg: Segment,
        key: ConnKey,
    ) {
        let Some(conn) = self.conns.get(&key).copied() else {
            return;
        };
        self.advance(ctx.now, &key, conn, Direction::Output, seg.flags);
        let svc = &mut self.services[conn.service];
        if let Some(dest) = svc.dest_index(conn.dest_ip, conn.dest_port) {
            svc.dest_stats[dest].out_pkts += 1;
            svc.dest_stats[dest].out_bytes += seg.ip_len;
        }
        svc.stats.out_pkts += 1;
        svc.stats.out_bytes += seg.ip_len;
        rewrite(&mut frame, key.vip, key.vport, false);
        // Routed like any forwarded packet: TTL decremented, next hop resolved.
        self.router.handle_ipv4(ctx, iface, frame);
    }

    /// Step 3: applies a segment's flags to an entry and keeps the server's counters right.
    fn advance(
        &mut self,
        now: SimTime,
        key: &ConnKey,
        conn: Conn,
        direction: Direction,
        flags: TcpFlags,
    ) {
        let new_state = next_state(conn.state, direction, flags).unwrap_or(conn.state);
        self.conns.update(key, new_state, now);
        let was_active = conn.state == TcpState::Established;
        let is_active = new_state == TcpState::Established;
        if was_active != is_active {
            let svc = &mut self.services[conn.service];
            if let Some(dest) = svc.dest_index(conn.dest_ip, conn.dest_port) {
                svc.activity_changed(dest, is_active);
            }
        }
    }

    /// Answers a stray TCP segment with a reset, as the Linux stack does (RFC 9293 §3.10.7.1).
    fn send_reset(&mut self, ctx: &mut NodeCtx<'_>, frame: &[u8]) {
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            return;
        };
        let Ok(ip) = Ipv4Packet::new_checked(eth.payload()) else {
            return;
        };
        let Ok(tcp) = TcpPacket::new_checked(ip.payload()) else {
            return;
        };
        if tcp.rst() {
            return; // Never answer a reset with a reset.
        }
        let (seq, ack) = if tcp.ack() {
            (tcp.ack_number(), None)
        } else {
            let len = tcp.payload().len() + usize::from(tcp.syn()) + usize::from(tcp.fin());
            (TcpSeqNumber(0), Some(tcp.seq_number() + len))
        };
        let reset = TcpRepr {
            src_port: tcp.dst_port(),
            dst_port: tcp.src_port(),
            control: TcpControl::Rst,
            seq_number: seq,
            ack_number: ack,
            window_len: 0,
            window_scale: None,
            max_seg_size: None,
            sack_permitted: false,
            sack_ranges: [None; 3],
            timestamp: None,
            payload: &[],
        };
        let out = frames::tcp_segment(
            eth.dst_addr(),
            EthernetAddress([0; 6]),
            ip.dst_addr(),
            ip.src_addr(),
            &reset,
        );
        self.router.send_towards(ctx, ip.src_addr(), out);
    }

    /// The sync daemon (`ipvsadm --start-daemon master`): tells the backup directors about a
    /// new connection with a UDP multicast to 224.0.0.81:8848, so they can carry it on after
    /// a failover.
    fn send_sync(&mut self, ctx: &mut NodeCtx<'_>, key: &ConnKey, conn: &Conn) {
        let service = &self.services[conn.service];
        let forward = service
            .dest_index(conn.dest_ip, conn.dest_port)
            .map(|d| service.configs[d].forward);
        let message = sync::encode(&sync::SyncConn {
            client: (key.client_ip, key.client_port),
            virtual_service: (key.vip, key.vport),
            dest: (conn.dest_ip, conn.dest_port),
            flags: match forward {
                Some(Forward::Route) => sync::CONN_F_DROUTE,
                Some(Forward::Tunnel) => sync::CONN_F_TUNNEL,
                Some(Forward::Masq) | None => sync::CONN_F_MASQ,
            },
            state: sync::TCP_S_ESTABLISHED,
            timeout_s: (TcpState::Established.timeout().as_nanos() / 1_000_000_000) as u32,
        });
        let iface = self.router.iface_for_vip(key.vip).unwrap_or(0);
        let me = self.router.interface(iface);
        let frame = frames::udp(
            me.mac,
            SYNC_GROUP_MAC,
            (me.ip, sync::SYNC_PORT),
            (sync::SYNC_GROUP, sync::SYNC_PORT),
            1,
            &message,
        );
        ctx.send(iface, frame);
    }

    /// A sync message from the master: learn its connections (backup side of the daemon).
    fn receive_sync(&mut self, now: SimTime, frame: &[u8]) {
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            return;
        };
        let Ok(ip) = Ipv4Packet::new_checked(eth.payload()) else {
            return;
        };
        let Ok(udp) = UdpPacket::new_checked(ip.payload()) else {
            return;
        };
        if udp.dst_port() != sync::SYNC_PORT {
            return;
        }
        for announced in sync::decode(udp.payload()) {
            self.learn_synced(now, &announced);
        }
    }

    /// One connection a sync message announced.
    fn learn_synced(&mut self, now: SimTime, announced: &sync::SyncConn) {
        let key = ConnKey {
            client_ip: announced.client.0,
            client_port: announced.client.1,
            vip: announced.virtual_service.0,
            vport: announced.virtual_service.1,
        };
        let (dest_ip, dest_port) = announced.dest;
        let Some(service) = self.service_index(key.vip, key.vport) else {
            return;
        };
        if self.conns.get(&key).is_some() {
            return;
        }
        let Some(dest) = self.services[service].dest_index(dest_ip, dest_port) else {
            return;
        };
        self.services[service].bind(dest);
        // The backup does not see the handshake; the entry starts as the kernel's synced
        // entries do, established, with its timeout. Templates are not synchronised, so no
        // template controls it.
        self.conns.insert(
            key,
            Conn {
                service,
                dest_ip,
                dest_port,
                state: TcpState::None,
                expires: now + TcpState::Established.timeout(),
                control: None,
            },
        );
        self.conns.update(&key, TcpState::Established, now);
        self.services[service].activity_changed(dest, true);
    }

    /// Removes an entry and releases it from its server's counters.
    fn drop_conn(&mut self, key: &ConnKey) {
        if let Some(conn) = self.conns.remove(key) {
            self.release(&conn);
        }
    }

    /// What `ip_vs_conn_expire` does for an entry that is gone: `ip_vs_control_del` (its
    /// template counts one connection fewer) and `ip_vs_unbind_dest`.
    fn release(&mut self, conn: &Conn) {
        let svc = &mut self.services[conn.service];
        if let Some(template) = conn.control {
            svc.control_del(template);
        }
        if let Some(dest) = svc.dest_index(conn.dest_ip, conn.dest_port) {
            svc.unbind(dest, conn.is_active());
        }
    }

    /// Fires every connection and template timer due by `now`, earliest first, as the
    /// kernel's timers would have fired: whether a template is kept depends on how many of its
    /// connections are still in the table at the moment its own timer fires. At the same
    /// instant connections go first. Cost: one step per due timer plus one look per service.
    fn run_timers(&mut self, now: SimTime) {
        loop {
            let conn_due = self.conns.next_expiry().filter(|&at| at <= now);
            let template_due = self
                .services
                .iter()
                .enumerate()
                .filter_map(|(s, svc)| svc.next_template_timer().map(|at| (at, s)))
                .min()
                .filter(|&(at, _)| at <= now);
            match (conn_due, template_due) {
                (Some(conn_at), Some((template_at, _))) if conn_at <= template_at => {
                    self.expire_one_conn(now);
                }
                (Some(_), None) => self.expire_one_conn(now),
                (_, Some((_, service))) => {
                    self.services[service].fire_template_timer(now);
                }
                (None, None) => return,
            }
        }
    }

    /// Removes the connection entry that expires first and releases it.
    fn expire_one_conn(&mut self, now: SimTime) {
        if let Some((_, conn)) = self.conns.expire_next(now) {
            self.release(&conn);
        }
    }

    /// Expires entries, takes due snapshots, and asks to be woken for the next of either.
    fn housekeeping(&mut self, ctx: &mut NodeCtx<'_>) {
        self.run_timers(ctx.now);
        while self
            .snapshot_times
            .get(self.snapshots_taken)
            .is_some_and(|&at| at <= ctx.now)
        {
            self.snapshot(ctx);
            self.snapshots_taken += 1;
        }
        if let Some(at) = self.conns.next_expiry() {
            ctx.wake_at(at);
        }
        if let Some(&at) = self.snapshot_times.get(self.snapshots_taken) {
            ctx.wake_at(at);
        }
    }

    /// Records `ipvsadm -Ln` and `--stats` now.
    fn snapshot(&self, ctx: &mut NodeCtx<'_>) {
        ctx.trace.ipvsadm.push(IpvsSnapshot {
            at: ctx.now,
            node: self.node_index,
            list: ipvsadm::list(&self.services),
            stats: ipvsadm::stats(&self.services),
        });
    }
}

impl Node for L4Balancer {
    fn name(&self) -> &str {
        self.router_name()
    }

    fn handle_frame(&mut self, ctx: &mut NodeCtx<'_>, iface: usize, frame: Vec<u8>) {
        // With a modelled CPU the frame first waits its turn; `handle_wake` processes it.
        if let Some(cpu) = &mut self.cpu {
            cpu.admit(ctx.now, iface, frame);
            if let Some(at) = cpu.next_done() {
                ctx.wake_at(at);
            }
            self.housekeeping(ctx);
            return;
        }
        self.process_frame(ctx, iface, frame);
    }

    fn handle_wake(&mut self, ctx: &mut NodeCtx<'_>) {
        while let Some((iface, frame)) = self.cpu.as_mut().and_then(|cpu| cpu.pop_done(ctx.now)) {
            self.process_frame(ctx, iface, frame);
        }
        if let Some(at) = self.cpu.as_ref().and_then(PacketCpu::next_done) {
            ctx.wake_at(at);
        }
        self.router.retry_arp(ctx);
        self.router.vrrp_tick(ctx);
        self.housekeeping(ctx);
        for stack in 0..self.checker_stacks.len() {
            self.run_checker(ctx, stack, None);
        }
    }

    fn crash(&mut self) {
        // The kernel's tables are gone with the power: ARP, connections, counters, queues.
        if let Some(cpu) = &mut self.cpu {
            cpu.clear();
        }
        for stack in &mut self.checker_stacks {
            stack.host.crash();
        }
        self.router.forget_state();
        self.conns = ConnTable::default();
        for svc in &mut self.services {
            svc.forget_templates();
            for dest in &mut svc.dests {
                dest.active_conns = 0;
                dest.inactive_conns = 0;
                dest.overloaded = false;
            }
        }
        // keepalived starts again from its configuration when the machine boots.
        self.start_keepalived();
    }

    fn set_vrrp(&mut self, ctx: &mut NodeCtx<'_>, running: bool) -> bool {
        self.router.set_vrrp(ctx, running)
    }

    fn operate(&mut self, ctx: &mut NodeCtx<'_>, command: &Command) -> Option<String> {
        let detail = match command {
            Command::SetPriority { instance, priority } => {
                return self.router.set_priority(*instance, *priority);
            }
            Command::Zone(_) => return None,
            Command::SetWeight {
                service,
                addr,
                port,
                weight,
            } => {
                let svc = self.services.get_mut(*service)?;
                let index = svc.dest_index(*addr, *port)?;
                let was = svc.dests[index].weight;
                svc.set_weight(*addr, *port, *weight);
                format!("weight {weight} (was {was})")
            }
            Command::AddServer { service, server } => {
                let svc = self.services.get_mut(*service)?;
                // A server back from the trash takes the weight it is added with.
                svc.add_server(*server);
                svc.set_weight(server.addr, server.port, server.weight);
                format!("weight {}", server.weight)
            }
            Command::RemoveServer {
                service,
                addr,
                port,
            } => {
                let svc = self.services.get_mut(*service)?;
                let index = svc.dest_index(*addr, *port)?;
                let dest = &svc.dests[index];
                let (active, inactive) = (dest.active_conns, dest.inactive_conns);
                svc.set_available(*addr, *port, false);
                format!("left in the table: {active} active, {inactive} inactive")
            }
        };
        // `ipvsadm -Ln` after every change, as for keepalived's.
        self.snapshot(ctx);
        Some(detail)
    }

    fn restore(&mut self, ctx: &mut NodeCtx<'_>) {
        self.router.vrrp_tick(ctx);
        for stack in &mut self.checker_stacks {
            let mut ignored = Vec::new();
            let mut inner = NodeCtx::new(ctx.now, ctx.node, &mut ignored, &mut *ctx.trace);
            stack.host.restore(&mut inner);
        }
        ctx.wake_at(ctx.now);
    }

    fn finish(&mut self, ctx: &mut NodeCtx<'_>) {
        self.snapshot(ctx);
        let services = self
            .services
            .iter()
            .map(|svc| {
                let mut order: Vec<usize> = (0..svc.dests.len()).collect();
                order.sort_by_key(|&i| (svc.dests[i].addr, svc.dests[i].port));
                ServiceRecord {
                    addr: svc.label(),
                    scheduler: svc.scheduler.name().to_string(),
                    real_servers: order
                        .into_iter()
                        .map(|i| RealServerRecord {
                            addr: format!("{}:{}", svc.dests[i].addr, svc.dests[i].port),
                            forward: svc.configs[i].forward.name().to_string(),
                            weight: svc.dests[i].weight,
                            connections: svc.dest_stats[i].conns,
                        })
                        .collect(),
                    no_destination: svc.no_destination,
                }
            })
            .collect();
        ctx.trace.balancers.push(BalancerRecord {
            node: self.node_index,
            services,
            cpu: self.cpu.as_ref().map(|cpu| (cpu.busy(), cpu.dropped())),
        });
    }
}

impl L4Balancer {
    /// What the kernel does with one frame: sync messages, checker traffic, IPVS in and out,
    /// and plain routing for everything else.
    fn process_frame(&mut self, ctx: &mut NodeCtx<'_>, iface: usize, frame: Vec<u8>) {
        self.housekeeping(ctx);
        if frame.len() >= 6 && frame[..6] == SYNC_GROUP_MAC.0 {
            if self.sync {
                self.receive_sync(ctx.now, &frame);
            }
            return;
        }
        if let Some(stack) = self.checker_stacks.iter().position(|s| s.iface == iface)
            && let Some(copy_for_router) = self.for_checker(stack, &frame)
        {
            if copy_for_router {
                self.router.handle(ctx, iface, frame.clone());
            }
            self.run_checker(ctx, stack, Some(frame));
            return;
        }
        if let Some(seg) = parse_tcp(&frame) {
            if let Some(service) = self.service_for(&seg) {
                self.inbound(ctx, frame, seg, service);
                return;
            }
            if let Some(key) = self
                .conns
                .find_reply(seg.src, seg.src_port, seg.dst, seg.dst_port)
            {
                self.outbound(ctx, iface, frame, seg, key);
                return;
            }
        }
        self.router.handle(ctx, iface, frame);
    }

    /// The node's name (the router half's).
    fn router_name(&self) -> &str {
        self.router.name()
    }

    /// Whether a frame on a checker stack's interface belongs to that stack: `Some(true)` for
    /// an ARP reply to the director (the router learns from it too), `Some(false)` for TCP or
    /// ICMP replies to the director's own address, `None` for everything else.
    fn for_checker(&self, stack: usize, frame: &[u8]) -> Option<bool> {
        let eth = EthernetFrame::new_checked(frame).ok()?;
        let own_ip = self.router.interface(self.checker_stacks[stack].iface).ip;
        match eth.ethertype() {
            EthernetProtocol::Arp => {
                let packet = ArpPacket::new_checked(eth.payload()).ok()?;
                let ArpRepr::EthernetIpv4 {
                    operation: ArpOperation::Reply,
                    target_protocol_addr,
                    ..
                } = ArpRepr::parse(&packet).ok()?
                else {
                    return None;
                };
                (target_protocol_addr == own_ip).then_some(true)
            }
            EthernetProtocol::Ipv4 => {
                let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
                if ip.dst_addr() != own_ip {
                    return None;
                }
                match ip.next_header() {
                    IpProtocol::Tcp => Some(false),
                    IpProtocol::Icmp => {
                        let icmp = Icmpv4Packet::new_checked(ip.payload()).ok()?;
                        // Echo requests to the director are the router's to answer.
                        (icmp.msg_type() != Icmpv4Message::EchoRequest).then_some(false)
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// Services checker stack `index` (with a frame, or for its timers), sends what it wrote
    /// out of its interface, and applies its verdicts.
    fn run_checker(&mut self, ctx: &mut NodeCtx<'_>, index: usize, frame: Option<Vec<u8>>) {
        let iface = self.checker_stacks[index].iface;
        let mut outbox = Vec::new();
        let wake = {
            let mut inner = NodeCtx::new(ctx.now, ctx.node, &mut outbox, &mut *ctx.trace);
            let host = &mut self.checker_stacks[index].host;
            match frame {
                Some(frame) => host.handle_frame(&mut inner, 0, frame),
                None => host.handle_wake(&mut inner),
            }
            inner.requested_wake()
        };
        for (_, frame) in outbox {
            ctx.send(iface, frame);
        }
        if let Some(at) = wake {
            ctx.wake_at(at);
        }
        let verdicts: Vec<_> = self.checker_stacks[index]
            .board
            .borrow_mut()
            .drain(..)
            .collect();
        for verdict in verdicts {
            let (s, m) = self.checker_stacks[index].owners[verdict.checker];
            let member = &mut self.health[s].members[m];
            let was_alive = member.failing == 0;
            if verdict.up {
                member.failing = member.failing.saturating_sub(1);
            } else {
                member.failing += 1;
            }
            let alive = member.failing == 0;
            if alive != was_alive {
                self.member_changed(ctx, s, m, alive, &verdict.cause);
            }
        }
    }

    /// A real server went down or came back: update the pool, the quorum, the records.
    fn member_changed(
        &mut self,
        ctx: &mut NodeCtx<'_>,
        s: usize,
        m: usize,
        alive: bool,
        cause: &str,
    ) {
        let config = self.health[s].members[m].health.config;
        let target = format!("{}/{}:{}", self.router.name(), config.addr, config.port);
        let event = if alive { "server_up" } else { "server_down" };
        ctx.trace.event(ctx.now, &target, event, cause.to_string());
        // While the sorry server stands in, recovered servers wait for quorum (keepalived);
        // without one, the pool follows the checks as usual.
        if self.health[s].quorum_up || self.health[s].sorry_server.is_none() {
            self.apply_member(s, m, alive);
        }
        let live = self.live_weight(s);
        let state = &self.health[s];
        let lose_at = state.quorum.saturating_sub(state.hysteresis);
        let gain_at = state.quorum + state.hysteresis;
        let service_name = format!("{}/{}", self.router.name(), self.services[s].label());
        if state.quorum_up && (live == 0 || live < lose_at) {
            self.health[s].quorum_up = false;
            ctx.trace.event(
                ctx.now,
                &service_name,
                "quorum_lost",
                format!("live weight {live}"),
            );
            self.enter_sorry(s);
        } else if !state.quorum_up && live > 0 && live >= gain_at {
            self.health[s].quorum_up = true;
            ctx.trace.event(
                ctx.now,
                &service_name,
                "quorum_regained",
                format!("live weight {live}"),
            );
            self.leave_sorry(s);
        }
        self.snapshot(ctx);
    }

    /// Puts a member in or out of the IPVS service (or inhibits it to weight 0).
    fn apply_member(&mut self, s: usize, m: usize, alive: bool) {
        let member = &self.health[s].members[m].health;
        let (addr, port, weight) = (member.config.addr, member.config.port, member.config.weight);
        let svc = &mut self.services[s];
        if member.inhibit_on_failure {
            svc.set_weight(addr, port, if alive { weight } else { 0 });
        } else {
            svc.set_available(addr, port, alive);
        }
    }

    /// Sum of the weights of the live members of service `s`.
    fn live_weight(&self, s: usize) -> u32 {
        self.health[s]
            .members
            .iter()
            .filter(|m| m.failing == 0)
            .map(|m| m.health.config.weight)
            .sum()
    }

    /// Quorum lost: with a sorry server, the live members leave and the sorry server serves.
    fn enter_sorry(&mut self, s: usize) {
        let Some(sorry) = self.health[s].sorry_server else {
            return;
        };
        for m in 0..self.health[s].members.len() {
            if self.health[s].members[m].failing == 0 {
                self.apply_member(s, m, false);
            }
        }
        self.services[s].add_server(sorry);
    }

    /// Quorum regained: the sorry server leaves and the live members come back.
    fn leave_sorry(&mut self, s: usize) {
        let Some(sorry) = self.health[s].sorry_server else {
            return;
        };
        self.services[s].set_available(sorry.addr, sorry.port, false);
        for m in 0..self.health[s].members.len() {
            if self.health[s].members[m].failing == 0 {
                self.apply_member(s, m, true);
            }
        }
    }
}
