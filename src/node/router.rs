//! *A router*: forwards IPv4 packets between subnets by a table of static routes.
//!
//! For each frame addressed to one of its interfaces the router:
//!
//! 1. answers ARP requests for its own addresses (and learns the asker, see `arp.rs`);
//! 2. checks the IPv4 header checksum and drops damaged packets;
//! 3. answers pings to its own addresses;
//! 4. drops a packet whose TTL would reach zero and tells the sender with ICMP time exceeded
//!    (this is what `traceroute` relies on);
//! 5. looks the destination up in its routing table: the matching route with the *longest
//!    prefix* wins; with no match it answers ICMP destination unreachable (network);
//! 6. decrements the TTL, recomputes the header checksum, and sends the packet out of the
//!    route's interface to the next hop, asking for the next hop's MAC with ARP first if it
//!    does not know it (packets wait meanwhile; after three unanswered requests they are
//!    dropped and their senders get ICMP destination unreachable (host)).
//!
//! # Simplifications
//! - Static routes only; no routing protocol.
//! - ICMP errors are not rate-limited, and are sent from the address of the interface the
//!   offending packet came in on.
//! - TCP or UDP to the router's own addresses is dropped silently.
//!
//! # Further reading
//! - RFC 1812 (requirements for IPv4 routers) §5.2.4.3 and §5.3.1; `book/src/labs/two-subnets-ping.md`.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol,
    Icmpv4DstUnreachable, Icmpv4Message, Icmpv4Packet, Icmpv4Repr, Icmpv4TimeExceeded, IpProtocol,
    Ipv4Packet,
};

use super::arp::ArpCache;
use super::frames::{self, ETHERNET_HEADER_LEN};
use super::vrrp::{
    Advert, SyncGroup, VRRP_GROUP_MAC, VrrpAction, VrrpConfig, VrrpInstance, VrrpState,
};
use super::{Command, Node, NodeCtx};
use crate::sim::{SimDuration, SimTime};
use crate::trace::DecisionKind;
use crate::trace::decision::Flow;

/// Time between ARP requests for a neighbour that does not answer (Linux `retrans_time_ms`).
const ARP_RETRY: SimDuration = SimDuration::from_secs(1);
/// ARP requests sent before giving up on a neighbour (Linux `mcast_solicit`).
const ARP_ATTEMPTS: u32 = 3;
/// Packets held per unresolved neighbour (the rest are dropped).
const MAX_WAITING_PACKETS: usize = 64;

/// One interface of a router.
#[derive(Clone, Debug)]
pub struct RouterInterface {
    /// Its MAC address.
    pub mac: EthernetAddress,
    /// Its address.
    pub ip: Ipv4Addr,
    /// Prefix length of its subnet.
    pub prefix_len: u8,
    /// Further addresses it answers ARP and ping for (a balancer's virtual IPs).
    pub extra_ips: Vec<Ipv4Addr>,
}

impl RouterInterface {
    /// Whether `ip` is one of this interface's addresses.
    pub fn has_ip(&self, ip: Ipv4Addr) -> bool {
        self.ip == ip || self.extra_ips.contains(&ip)
    }
}

/// One entry of the routing table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    /// Network address of the destination prefix.
    pub network: Ipv4Addr,
    /// Prefix length (0 for the default route).
    pub prefix_len: u8,
    /// Next hop, or `None` for a directly connected subnet.
    pub via: Option<Ipv4Addr>,
    /// Interface to send out of.
    pub iface: usize,
}

impl Route {
    /// Whether `dst` falls inside this route's prefix.
    pub fn matches(&self, dst: Ipv4Addr) -> bool {
        let mask = prefix_mask(self.prefix_len);
        u32::from(dst) & mask == u32::from(self.network) & mask
    }
}

/// The netmask of a prefix length: 24 → 255.255.255.0.
pub fn prefix_mask(prefix_len: u8) -> u32 {
    if prefix_len == 0 {
        0
    } else {
        u32::MAX << (32 - prefix_len.min(32))
    }
}

/// Longest-prefix match: the most specific route containing `dst`; the first listed wins a tie.
pub fn lookup(routes: &[Route], dst: Ipv4Addr) -> Option<&Route> {
    routes
        .iter()
        .filter(|route| route.matches(dst))
        .fold(None, |best: Option<&Route>, route| match best {
            Some(b) if b.prefix_len >= route.prefix_len => Some(b),
            _ => Some(route),
        })
}

/// Packets waiting for a neighbour's MAC address.
struct Waiting {
    /// The frames, ready but for their destination MAC.
    frames: Vec<Vec<u8>>,
    /// ARP requests sent so far.
    attempts: u32,
    /// When to ask again (or give up).
    next_try: SimTime,
}

/// A router.
pub struct Router {
    /// Node name.
    name: String,
    /// Its interfaces, by index.
    interfaces: Vec<RouterInterface>,
    /// Connected routes first, then the scenario's static routes.
    routes: Vec<Route>,
    /// VRRP instances.
    vrrp: Vec<VrrpInstance>,
    /// Sync groups of those instances (keepalived's `vrrp_sync_group`).
    sync_groups: Vec<SyncGroup>,
    /// Whether the VRRP instances have been started (at the first wake).
    vrrp_started: bool,
    /// Whether VRRP was stopped on purpose (a clean shutdown), so it must not restart alone.
    vrrp_halted: bool,
    /// Ignore gratuitous ARP (Linux `arp_accept=0` still updates existing entries; this models
    /// neighbours that do not, and must wait for their entries to expire).
    ignore_garp: bool,
    /// Learned neighbours.
    arp: ArpCache,
    /// Packets waiting for ARP, per `(interface, next hop)`.
    waiting: BTreeMap<(usize, Ipv4Addr), Waiting>,
}

impl Router {
    /// A router with the given interfaces and static routes. A connected route is added for
    /// each interface's subnet.
    pub fn new(
        name: String,
        interfaces: Vec<RouterInterface>,
        static_routes: Vec<Route>,
        arp_lifetime: SimDuration,
    ) -> Router {
        let mut routes: Vec<Route> = interfaces
            .iter()
            .enumerate()
            .map(|(iface, config)| Route {
                network: Ipv4Addr::from(u32::from(config.ip) & prefix_mask(config.prefix_len)),
                prefix_len: config.prefix_len,
                via: None,
                iface,
            })
            .collect();
        routes.extend(static_routes);
        Router {
            name,
            interfaces,
            routes,
            vrrp: Vec::new(),
            sync_groups: Vec::new(),
            vrrp_started: false,
            vrrp_halted: false,
            ignore_garp: false,
            arp: ArpCache::new(arp_lifetime),
            waiting: BTreeMap::new(),
        }
    }

    /// Forgets everything learned (a reboot): the ARP cache, packets waiting for it, VRRP.
    pub fn forget_state(&mut self) {
        self.arp.clear();
        self.waiting.clear();
        for instance in &mut self.vrrp {
            instance.crash();
        }
        self.vrrp_started = false;
    }

    /// Adds VRRP instances (they start at the router's first wake-up).
    pub fn add_vrrp(&mut self, configs: Vec<VrrpConfig>) {
        for config in configs {
            let own_ip = self.interfaces[config.iface].ip;
            self.vrrp.push(VrrpInstance::new(config, own_ip));
        }
        self.sync_groups = SyncGroup::from_configs(self.vrrp.iter().map(|vi| &vi.config));
    }

    /// Makes neighbours' gratuitous ARPs count for nothing.
    pub fn set_ignore_garp(&mut self, ignore: bool) {
        self.ignore_garp = ignore;
    }

    /// Whether interface `iface` answers for `ip`: its own addresses, and the VIPs of the VRRP
    /// instances it is master of.
    pub fn answers_for(&self, iface: usize, ip: Ipv4Addr) -> bool {
        self.interfaces[iface].has_ip(ip)
            || self.vrrp.iter().any(|v| {
                v.config.iface == iface
                    && v.state == VrrpState::Master
                    && v.config.vips.contains(&ip)
            })
    }

    /// The interface of the VRRP instance that holds `vip`, if any.
    pub fn iface_for_vip(&self, vip: Ipv4Addr) -> Option<usize> {
        self.vrrp
            .iter()
            .find(|v| v.config.vips.contains(&vip))
            .map(|v| v.config.iface)
    }

    /// Starts (`true`) or cleanly stops (`false`) every VRRP instance.
    pub fn run_vrrp(&mut self, ctx: &mut NodeCtx<'_>, running: bool) {
        for index in 0..self.vrrp.len() {
            let mut actions = Vec::new();
            if running {
                self.vrrp[index].start(ctx.now, &mut actions);
            } else {
                self.vrrp[index].stop(&mut actions);
            }
            self.apply_vrrp(ctx, index, actions);
        }
        if running {
            for group in 0..self.sync_groups.len() {
                let followers = self.sync_groups[group].settle(&mut self.vrrp);
                self.apply_followers(ctx, followers);
            }
        }
        self.vrrp_started = running;
        self.vrrp_halted = !running;
        self.vrrp_timers(ctx);
    }

    /// Does what instance `index` asked for.
    fn apply_vrrp(&mut self, ctx: &mut NodeCtx<'_>, index: usize, actions: Vec<VrrpAction>) {
        let instance = &self.vrrp[index];
        let iface = instance.config.iface;
        let mac = self.interfaces[iface].mac;
        let target = format!("{}/{}", self.name, instance.config.name);
        for action in actions {
            match action {
                VrrpAction::Advertise(priority) => {
                    ctx.send(iface, self.vrrp[index].advert(priority).frame(mac));
                }
                VrrpAction::GratuitousArp => {
                    let instance = &self.vrrp[index];
                    for &vip in &instance.config.vips {
                        for _ in 0..instance.config.garp_repeat {
                            ctx.send(
                                iface,
                                frames::arp(
                                    ArpOperation::Request,
                                    mac,
                                    vip,
                                    EthernetAddress([0; 6]),
                                    vip,
                                ),
                            );
                        }
                    }
                    ctx.trace.event(
                        ctx.now,
                        &target,
                        "garp",
                        format!("{} per VIP", instance.config.garp_repeat),
                    );
                }
                VrrpAction::Became(state, why) => {
                    ctx.trace.event(ctx.now, &target, state.name(), why);
                }
                VrrpAction::Waits(why) => {
                    ctx.trace.event(ctx.now, &target, "vrrp_sync_wait", why);
                }
                VrrpAction::WantsMaster => {}
            }
        }
    }

    /// Runs `step` on instance `index`, does what it asked, then brings the other members of
    /// its sync group along (keepalived's `VRRP_TSM_HANDLE`).
    fn step_vrrp(
        &mut self,
        ctx: &mut NodeCtx<'_>,
        index: usize,
        step: impl FnOnce(&mut VrrpInstance, &mut Vec<VrrpAction>),
    ) {
        let prev = self.vrrp[index].state;
        let mut actions = Vec::new();
        step(&mut self.vrrp[index], &mut actions);
        let wished = actions.contains(&VrrpAction::WantsMaster);
        self.apply_vrrp(ctx, index, actions);
        if let Some(group) = self.group_of(index) {
            let followers =
                self.sync_groups[group].follow(&mut self.vrrp, index, prev, wished, ctx.now);
            self.apply_followers(ctx, followers);
        }
    }

    /// Does what the members of a sync group were made to do.
    fn apply_followers(&mut self, ctx: &mut NodeCtx<'_>, followers: Vec<(usize, Vec<VrrpAction>)>) {
        for (member, actions) in followers {
            self.apply_vrrp(ctx, member, actions);
        }
    }

    /// The sync group instance `index` belongs to, if any.
    fn group_of(&self, index: usize) -> Option<usize> {
        self.sync_groups
            .iter()
            .position(|g| g.members.contains(&index))
    }

    /// Interface `iface` went down (`false`) or came back (`true`): its instances go to FAULT,
    /// or leave it (alone, or with their sync group once every member's interface is up).
    fn vrrp_link(&mut self, ctx: &mut NodeCtx<'_>, iface: usize, up: bool) {
        for index in 0..self.vrrp.len() {
            if self.vrrp[index].config.iface != iface {
                continue;
            }
            let now = ctx.now;
            self.step_vrrp(ctx, index, |vi, actions| {
                if up {
                    vi.interface_up(now, actions);
                } else {
                    vi.interface_down(actions);
                }
            });
            if let (true, Some(group)) = (up, self.group_of(index)) {
                let followers = self.sync_groups[group].recover(&mut self.vrrp, now);
                self.apply_followers(ctx, followers);
            }
        }
        self.vrrp_timers(ctx);
    }

    /// Fires VRRP timers that are due, and asks to be woken for the next one.
    fn vrrp_timers(&mut self, ctx: &mut NodeCtx<'_>) {
        for index in 0..self.vrrp.len() {
            let now = ctx.now;
            self.step_vrrp(ctx, index, |vi, actions| vi.tick(now, actions));
        }
        for instance in &self.vrrp {
            if let Some(at) = instance.next_timer() {
                ctx.wake_at(at);
            }
        }
    }

    /// A VRRP advertisement arrived on `iface`.
    fn handle_vrrp(&mut self, ctx: &mut NodeCtx<'_>, iface: usize, frame: &[u8]) {
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            return;
        };
        let Ok(packet) = Ipv4Packet::new_checked(eth.payload()) else {
            return;
        };
        let Some(advert) = Advert::parse(&packet) else {
            return;
        };
        for index in 0..self.vrrp.len() {
            if self.vrrp[index].config.iface != iface {
                continue;
            }
            let now = ctx.now;
            self.step_vrrp(ctx, index, |vi, actions| {
                vi.on_advert(now, &advert, actions)
            });
        }
    }

    /// Interface `index`.
    pub fn interface(&self, index: usize) -> &RouterInterface {
        &self.interfaces[index]
    }

    /// Whether `ip` is one of the router's own addresses (VRRP VIPs only while master).
    pub fn owns(&self, ip: Ipv4Addr) -> bool {
        (0..self.interfaces.len()).any(|i| self.answers_for(i, ip))
    }

    /// Step 1: ARP.
    fn handle_arp(&mut self, ctx: &mut NodeCtx<'_>, iface: usize, payload: &[u8]) {
        let Ok(packet) = ArpPacket::new_checked(payload) else {
            return;
        };
        let Ok(ArpRepr::EthernetIpv4 {
            operation,
            source_hardware_addr,
            source_protocol_addr,
            target_protocol_addr,
            ..
        }) = ArpRepr::parse(&packet)
        else {
            return;
        };
        let me_mac = self.interfaces[iface].mac;
        let aimed_at_us = self.answers_for(iface, target_protocol_addr);
        // A gratuitous ARP announces the sender's own address (sender = target).
        let gratuitous = source_protocol_addr == target_protocol_addr;
        if !(gratuitous && self.ignore_garp) {
            let moved = self.arp.learn(
                ctx.now,
                iface,
                source_protocol_addr,
                source_hardware_addr,
                aimed_at_us,
            );
            if let Some(old) = moved {
                ctx.trace.event(
                    ctx.now,
                    &self.name,
                    "arp_update",
                    format!("{source_protocol_addr}: {old} -> {source_hardware_addr}"),
                );
            }
        }
        if aimed_at_us && operation == ArpOperation::Request {
            ctx.send(
                iface,
                frames::arp(
                    ArpOperation::Reply,
                    me_mac,
                    target_protocol_addr,
                    source_hardware_addr,
                    source_protocol_addr,
                ),
            );
        }
        // Packets that waited for this neighbour can go now.
        if let Some(waiting) = self.waiting.remove(&(iface, source_protocol_addr)) {
            for mut frame in waiting.frames {
                set_macs(&mut frame, me_mac, source_hardware_addr);
                ctx.send(iface, frame);
            }
        }
    }

    /// Steps 2–6: an IPv4 packet arrived on `iface` (a frame addressed to us).
    pub fn handle_ipv4(&mut self, ctx: &mut NodeCtx<'_>, iface: usize, mut frame: Vec<u8>) {
        let (dst, ttl, is_error_message) = {
            let Ok(packet) = Ipv4Packet::new_checked(&frame[ETHERNET_HEADER_LEN..]) else {
                return;
            };
            // 2. A damaged header is dropped without a word (RFC 1812 §5.2.2).
            if !packet.verify_checksum() {
                return;
            }
            let dst = packet.dst_addr();
            // 3. Packets for the router itself: answer pings, ignore the rest.
            if self.owns(dst) {
                self.answer_ping(ctx, &packet);
                return;
            }
            if dst.is_broadcast() || dst.is_multicast() {
                return;
            }
            (dst, packet.hop_limit(), is_icmp_error(&packet))
        };
        // 4. The TTL would reach zero here: drop it and tell the sender.
        if ttl <= 1 {
            if !is_error_message {
                self.send_icmp_error(ctx, iface, &frame, IcmpError::TtlExceeded);
            }
            return;
        }
        // 5. Longest-prefix match.
        let route = lookup(&self.routes, dst).copied();
        if ctx.trace.decisions.is_on()
            && may_open_connection(&frame)
            && let Some((flow, true)) = tcp_flow(&frame)
        {
            let kind = DecisionKind::RouteMatch { flow, route };
            ctx.trace.decisions.record(ctx.now, ctx.node, kind);
        }
        let Some(route) = route else {
            if !is_error_message {
                self.send_icmp_error(ctx, iface, &frame, IcmpError::NetUnreachable);
            }
            return;
        };
        // 6. One hop less to live; the header checksum covers the TTL, so update it.
        decrease_ttl(&mut frame[ETHERNET_HEADER_LEN..]);
        self.send_to_next_hop(ctx, route.iface, route.via.unwrap_or(dst), frame);
    }

    /// Step 3: an echo request to one of our addresses gets an echo reply.
    fn answer_ping(&mut self, ctx: &mut NodeCtx<'_>, packet: &Ipv4Packet<&[u8]>) {
        if packet.next_header() != IpProtocol::Icmp {
            return;
        }
        let caps = ChecksumCapabilities::default();
        let Ok(icmp) = Icmpv4Packet::new_checked(packet.payload()) else {
            return;
        };
        let Ok(Icmpv4Repr::EchoRequest {
            ident,
            seq_no,
            data,
        }) = Icmpv4Repr::parse(&icmp, &caps)
        else {
            return;
        };
        let reply = Icmpv4Repr::EchoReply {
            ident,
            seq_no,
            data,
        };
        self.originate(ctx, packet.dst_addr(), packet.src_addr(), &reply, None);
    }

    /// Sends an ICMP error about `offending` (a whole frame) back to its sender, from the
    /// address of the interface it came in on.
    pub fn send_icmp_error(
        &mut self,
        ctx: &mut NodeCtx<'_>,
        in_iface: usize,
        offending: &[u8],
        error: IcmpError,
    ) {
        let src = self.interfaces[in_iface].ip;
        self.send_icmp_error_from(ctx, src, offending, error);
    }

    /// Sends an ICMP error about `offending` back to its sender, from address `src`.
    pub fn send_icmp_error_from(
        &mut self,
        ctx: &mut NodeCtx<'_>,
        src: Ipv4Addr,
        offending: &[u8],
        error: IcmpError,
    ) {
        let packet = Ipv4Packet::new_unchecked(&offending[ETHERNET_HEADER_LEN..]);
        let (header, quoted_len) = frames::quoted(&packet);
        let data = &packet.payload()[..quoted_len];
        let message = match error {
            IcmpError::TtlExceeded => Icmpv4Repr::TimeExceeded {
                reason: Icmpv4TimeExceeded::TtlExpired,
                header,
                data,
            },
            IcmpError::NetUnreachable => Icmpv4Repr::DstUnreachable {
                reason: Icmpv4DstUnreachable::NetUnreachable,
                header,
                data,
            },
            IcmpError::HostUnreachable => Icmpv4Repr::DstUnreachable {
                reason: Icmpv4DstUnreachable::HostUnreachable,
                header,
                data,
            },
            IcmpError::PortUnreachable => Icmpv4Repr::DstUnreachable {
                reason: Icmpv4DstUnreachable::PortUnreachable,
                header,
                data,
            },
            IcmpError::FragNeeded { .. } => Icmpv4Repr::DstUnreachable {
                reason: Icmpv4DstUnreachable::FragRequired,
                header,
                data,
            },
        };
        let mtu = match error {
            IcmpError::FragNeeded { mtu } => Some(mtu),
            _ => None,
        };
        self.originate(ctx, src, packet.src_addr(), &message, mtu);
    }

    /// The address this node sends from towards `target`: that of the interface its route
    /// leaves by (Linux's source address selection for a connected interface).
    pub fn source_towards(&self, target: Ipv4Addr) -> Option<Ipv4Addr> {
        lookup(&self.routes, target).map(|route| self.interfaces[route.iface].ip)
    }

    /// Sends an ICMP message from the router itself, routed like any other packet; `mtu` is
    /// the next-hop MTU of a "fragmentation needed" (which smoltcp's `Icmpv4Repr` lacks).
    fn originate(
        &mut self,
        ctx: &mut NodeCtx<'_>,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        message: &Icmpv4Repr<'_>,
        mtu: Option<u16>,
    ) {
        let Some(route) = lookup(&self.routes, dst).copied() else {
            return;
        };
        let mac = self.interfaces[route.iface].mac;
        let mut frame = frames::icmp(mac, EthernetAddress([0; 6]), src, dst, message);
        if let Some(mtu) = mtu {
            frames::set_next_hop_mtu(&mut frame, mtu);
        }
        self.send_to_next_hop(ctx, route.iface, route.via.unwrap_or(dst), frame);
    }

    /// Sends a frame towards `target` as routed from this node, without touching the packet:
    /// looks `target` up, then hands the frame to the next hop. Returns `false` with no route.
    pub fn send_towards(
        &mut self,
        ctx: &mut NodeCtx<'_>,
        target: Ipv4Addr,
        frame: Vec<u8>,
    ) -> bool {
        let Some(route) = lookup(&self.routes, target).copied() else {
            return false;
        };
        self.send_to_next_hop(ctx, route.iface, route.via.unwrap_or(target), frame);
        true
    }

    /// Sends a frame (IPv4 inside) to `next_hop` on `iface`, resolving its MAC first.
    fn send_to_next_hop(
        &mut self,
        ctx: &mut NodeCtx<'_>,
        iface: usize,
        next_hop: Ipv4Addr,
        mut frame: Vec<u8>,
    ) {
        let me = &self.interfaces[iface];
        let me_mac = me.mac;
        if let Some(mac) = self.arp.lookup(ctx.now, iface, next_hop) {
            set_macs(&mut frame, me_mac, mac);
            ctx.send(iface, frame);
            return;
        }
        let request = arp_request(me, next_hop);
        // Unknown neighbour: hold the packet and ask (once; retries run from `handle_wake`).
        let now = ctx.now;
        let waiting = self
            .waiting
            .entry((iface, next_hop))
            .or_insert_with(|| Waiting {
                frames: Vec::new(),
                attempts: 0,
                next_try: now,
            });
        if waiting.frames.len() < MAX_WAITING_PACKETS {
            waiting.frames.push(frame);
        }
        let asked = waiting.attempts == 0;
        if asked {
            waiting.attempts = 1;
            waiting.next_try = now + ARP_RETRY;
            ctx.send(iface, request);
        }
        ctx.wake_at(waiting.next_try);
        if ctx.trace.decisions.is_on() {
            let flow = waiting
                .frames
                .last()
                .and_then(|f| tcp_flow(f))
                .map(|(f, _)| f);
            let kind = DecisionKind::ArpWait {
                flow,
                next_hop,
                asked,
            };
            ctx.trace.decisions.record(now, ctx.node, kind);
        }
    }
}

/// The ICMP errors a router originates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IcmpError {
    /// Type 11 code 0.
    TtlExceeded,
    /// Type 3 code 0: no route.
    NetUnreachable,
    /// Type 3 code 1: the next hop did not answer ARP.
    HostUnreachable,
    /// Type 3 code 3: nothing serves that port (what IPVS sends when no server is available).
    PortUnreachable,
    /// Type 3 code 4: fragmentation needed and DF set, with the next-hop MTU (RFC 1191 §4),
    /// what an IPVS director sends when a packet no longer fits once tunnelled.
    FragNeeded {
        /// The largest packet the next hop takes.
        mtu: u16,
    },
}

/// The addresses and ports of a TCP segment, and whether it opens a connection (SYN without
/// ACK); `None` for anything else. Read only when decisions are recorded.
fn tcp_flow(frame: &[u8]) -> Option<(Flow, bool)> {
    let ip = Ipv4Packet::new_checked(frame.get(ETHERNET_HEADER_LEN..)?).ok()?;
    if ip.next_header() != IpProtocol::Tcp {
        return None;
    }
    let tcp = smoltcp::wire::TcpPacket::new_checked(ip.payload()).ok()?;
    let flow = (
        (ip.src_addr(), tcp.src_port()),
        (ip.dst_addr(), tcp.dst_port()),
    );
    Some((flow, tcp.syn() && !tcp.ack()))
}

/// A quick look at the raw bytes before [`tcp_flow`] parses the frame: `false` unless it may
/// be a TCP SYN without ACK (IPv4 protocol 6; in the TCP flags byte, SYN set and ACK clear).
/// Recording decisions is on for every `report.html`, and a router sees every segment of
/// every connection, but only the first one of each is recorded.
fn may_open_connection(frame: &[u8]) -> bool {
    const IP_PROTOCOL: usize = ETHERNET_HEADER_LEN + 9;
    const TCP_FLAGS: usize = 13;
    const SYN: u8 = 0x02;
    const ACK: u8 = 0x10;
    let Some(&version_ihl) = frame.get(ETHERNET_HEADER_LEN) else {
        return false;
    };
    let header_len = usize::from(version_ihl & 0x0f) * 4;
    let flags = frame.get(ETHERNET_HEADER_LEN + header_len + TCP_FLAGS);
    frame.get(IP_PROTOCOL) == Some(&6) && flags.is_some_and(|f| f & SYN != 0 && f & ACK == 0)
}

/// An ARP request from `me` for `target`.
fn arp_request(me: &RouterInterface, target: Ipv4Addr) -> Vec<u8> {
    frames::arp(
        ArpOperation::Request,
        me.mac,
        me.ip,
        EthernetAddress([0; 6]),
        target,
    )
}

/// Takes one from the TTL of an IPv4 header whose checksum is right and whose TTL is above
/// one, and updates the checksum for the change instead of summing the header again
/// (RFC 1624, as Linux's `ip_decrease_ttl` in `include/net/ip.h` does).
///
/// The TTL is the high byte of the header's fifth 16-bit word, so that word, and the one's
/// complement sum of the header with it, drop by 0x0100; the checksum, the sum's complement,
/// rises by 0x0100, a carry out of 16 bits being added back in. The result is the one a full
/// recomputation gives, bit for bit: both are congruent modulo 0xffff and neither is ever
/// 0xffff (the header is never all zeros, so its sum is never zero).
pub(super) fn decrease_ttl(header: &mut [u8]) {
    const TTL: usize = 8;
    const CHECKSUM: std::ops::Range<usize> = 10..12;
    header[TTL] -= 1;
    let old = u32::from(u16::from_be_bytes([
        header[CHECKSUM.start],
        header[CHECKSUM.start + 1],
    ]));
    let raised = old + 0x0100;
    let folded = (raised + u32::from(raised >= 0xffff)) as u16;
    header[CHECKSUM].copy_from_slice(&folded.to_be_bytes());
}

/// Writes the Ethernet source and destination of a frame.
fn set_macs(frame: &mut [u8], src: EthernetAddress, dst: EthernetAddress) {
    let mut eth = EthernetFrame::new_unchecked(frame);
    eth.set_src_addr(src);
    eth.set_dst_addr(dst);
}

/// Whether a packet is itself an ICMP error (RFC 1122 §3.2.2: never answer one with another).
fn is_icmp_error(packet: &Ipv4Packet<&[u8]>) -> bool {
    if packet.next_header() != IpProtocol::Icmp {
        return false;
    }
    match Icmpv4Packet::new_checked(packet.payload()) {
        Ok(icmp) => !matches!(
            icmp.msg_type(),
            Icmpv4Message::EchoRequest | Icmpv4Message::EchoReply
        ),
        Err(_) => true,
    }
}

impl Node for Router {
    fn name(&self) -> &str {
        &self.name
    }

    fn handle_frame(&mut self, ctx: &mut NodeCtx<'_>, iface: usize, frame: Vec<u8>) {
        self.handle(ctx, iface, frame);
    }

    fn handle_wake(&mut self, ctx: &mut NodeCtx<'_>) {
        self.retry_arp(ctx);
        self.vrrp_tick(ctx);
    }

    fn crash(&mut self) {
        self.forget_state();
    }

    fn restore(&mut self, ctx: &mut NodeCtx<'_>) {
        self.vrrp_tick(ctx);
    }

    fn interface_up(&mut self, ctx: &mut NodeCtx<'_>, iface: usize) {
        // Linux with `arp_notify=1` announces itself when a link comes up: switches learn the
        // port, and neighbours update their ARP entries.
        let me = &self.interfaces[iface];
        ctx.send(
            iface,
            frames::arp(
                ArpOperation::Request,
                me.mac,
                me.ip,
                EthernetAddress([0; 6]),
                me.ip,
            ),
        );
        ctx.trace
            .event(ctx.now, &self.name, "garp", format!("{} on link up", me.ip));
        self.vrrp_link(ctx, iface, true);
    }

    fn interface_down(&mut self, ctx: &mut NodeCtx<'_>, iface: usize) {
        self.vrrp_link(ctx, iface, false);
    }

    fn set_vrrp(&mut self, ctx: &mut NodeCtx<'_>, running: bool) -> bool {
        if self.vrrp.is_empty() {
            return false;
        }
        self.run_vrrp(ctx, running);
        true
    }

    fn operate(&mut self, _ctx: &mut NodeCtx<'_>, command: &Command) -> Option<String> {
        match command {
            Command::SetPriority { instance, priority } => self.set_priority(*instance, *priority),
            _ => None,
        }
    }
}

impl Router {
    /// Gives VRRP instance `instance` a new priority (see `VrrpInstance::set_priority`);
    /// returns what changed, in words, or `None` if there is no such instance.
    pub fn set_priority(&mut self, instance: usize, priority: u8) -> Option<String> {
        let was = self.vrrp.get_mut(instance)?.set_priority(priority);
        Some(format!("priority {priority} (was {was})"))
    }

    /// Everything a router does with a frame (the `Node` entry point, also used by nodes that
    /// embed a router, such as the L4 balancer).
    pub fn handle(&mut self, ctx: &mut NodeCtx<'_>, iface: usize, frame: Vec<u8>) {
        let Ok(eth) = EthernetFrame::new_checked(&frame[..]) else {
            return;
        };
        let dst = eth.dst_addr();
        if dst == VRRP_GROUP_MAC {
            if !self.vrrp.is_empty() {
                self.handle_vrrp(ctx, iface, &frame);
                self.vrrp_timers(ctx);
            }
            return;
        }
        if dst != self.interfaces[iface].mac && !dst.is_broadcast() {
            return;
        }
        match eth.ethertype() {
            EthernetProtocol::Arp => {
                let payload = eth.payload().to_vec();
                self.handle_arp(ctx, iface, &payload);
            }
            EthernetProtocol::Ipv4 => self.handle_ipv4(ctx, iface, frame),
            _ => {}
        }
    }

    /// Starts VRRP at the first wake-up, then fires its timers.
    pub fn vrrp_tick(&mut self, ctx: &mut NodeCtx<'_>) {
        if self.vrrp.is_empty() || self.vrrp_halted {
            return;
        }
        if !self.vrrp_started {
            self.run_vrrp(ctx, true);
        } else {
            self.vrrp_timers(ctx);
        }
    }

    /// Asks again for neighbours that have not answered; gives up after `ARP_ATTEMPTS`.
    pub fn retry_arp(&mut self, ctx: &mut NodeCtx<'_>) {
        let now = ctx.now;
        let due: Vec<(usize, Ipv4Addr)> = self
            .waiting
            .iter()
            .filter(|(_, w)| w.next_try <= now)
            .map(|(key, _)| *key)
            .collect();
        for (iface, next_hop) in due {
            let waiting = self
                .waiting
                .get_mut(&(iface, next_hop))
                .expect("a due entry was just listed");
            if waiting.attempts >= ARP_ATTEMPTS {
                let given_up = self
                    .waiting
                    .remove(&(iface, next_hop))
                    .expect("a due entry was just listed");
                for frame in given_up.frames {
                    self.send_icmp_error(ctx, iface, &frame, IcmpError::HostUnreachable);
                }
            } else {
                waiting.attempts += 1;
                waiting.next_try = now + ARP_RETRY;
                ctx.send(iface, arp_request(&self.interfaces[iface], next_hop));
            }
        }
        if let Some(next) = self.waiting.values().map(|w| w.next_try).min() {
            ctx.wake_at(next);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(net: [u8; 4], len: u8, iface: usize) -> Route {
        Route {
            network: Ipv4Addr::from(net),
            prefix_len: len,
            via: None,
            iface,
        }
    }

    #[test]
    fn the_longest_prefix_wins() {
        let routes = [
            route([0, 0, 0, 0], 0, 0),
            route([10, 0, 0, 0], 8, 1),
            route([10, 0, 1, 0], 24, 2),
        ];
        let pick = |ip: [u8; 4]| lookup(&routes, Ipv4Addr::from(ip)).map(|r| r.iface);
        assert_eq!(pick([10, 0, 1, 7]), Some(2));
        assert_eq!(pick([10, 9, 9, 9]), Some(1));
        assert_eq!(pick([192, 168, 0, 1]), Some(0));
    }

    #[test]
    fn no_route_means_no_match() {
        let routes = [route([10, 0, 0, 0], 24, 0)];
        assert!(lookup(&routes, Ipv4Addr::new(10, 0, 1, 1)).is_none());
    }

    #[test]
    fn the_quick_look_passes_every_opening_syn_and_little_else() {
        use smoltcp::wire::{TcpControl, TcpSeqNumber};
        let mac = EthernetAddress([2, 0, 0, 0, 0, 1]);
        let (a, b) = (Ipv4Addr::new(10, 0, 0, 100), Ipv4Addr::new(10, 0, 1, 11));
        let segment = |control, ack: Option<TcpSeqNumber>| {
            let repr = frames::bare_tcp((50000, 80), control, TcpSeqNumber(7), ack);
            frames::tcp_segment(mac, mac, a, b, &repr)
        };
        let syn = segment(TcpControl::Syn, None);
        let syn_ack = segment(TcpControl::Syn, Some(TcpSeqNumber(1)));
        let ack = segment(TcpControl::None, Some(TcpSeqNumber(1)));
        assert!(may_open_connection(&syn));
        assert_eq!(tcp_flow(&syn).map(|(_, opens)| opens), Some(true));
        for other in [&syn_ack, &ack, &syn[..20], &[][..]] {
            assert!(!may_open_connection(other));
            assert_ne!(tcp_flow(other).map(|(_, opens)| opens), Some(true));
        }
    }

    #[test]
    fn the_ttl_update_gives_the_checksum_a_full_sum_gives() {
        let mut rng = crate::sim::Streams::new(3).stream("headers");
        for round in 0..100_000 {
            let mut header = [0u8; 20];
            header.fill_with(|| rng.below(256) as u8);
            header[0] = 0x45;
            header[8] = 2 + rng.below(254) as u8;
            if round % 4 == 0 {
                // Make the header's sum 0xffff, so that its checksum is zero, which a sender
                // may also write as 0xffff, its other one's complement form.
                header[10..14].fill(0);
                let sum = header.chunks(2).fold(0u32, |sum, word| {
                    let sum = sum + u32::from(u16::from_be_bytes([word[0], word[1]]));
                    (sum & 0xffff) + (sum >> 16)
                });
                header[12..14].copy_from_slice(&(!(sum as u16)).to_be_bytes());
            }
            let mut packet = Ipv4Packet::new_unchecked(&mut header[..]);
            packet.fill_checksum();
            if round % 8 == 0 {
                assert_eq!(packet.checksum(), 0);
                packet.set_checksum(0xffff);
            }
            assert!(packet.verify_checksum());
            let mut full = header;
            let mut expected = Ipv4Packet::new_unchecked(&mut full[..]);
            expected.set_hop_limit(header[8] - 1);
            expected.fill_checksum();
            decrease_ttl(&mut header);
            assert_eq!(header, full, "round {round}");
        }
    }

    #[test]
    fn masks() {
        assert_eq!(prefix_mask(24), 0xffff_ff00);
        assert_eq!(prefix_mask(0), 0);
        assert_eq!(prefix_mask(32), u32::MAX);
    }
}
