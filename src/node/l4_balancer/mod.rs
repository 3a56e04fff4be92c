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
//! on a [`HealthBoard`](crate::app::HealthBoard); the director then:
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
//!
//! # Files
//! - `forward`: steps 1–5, one client packet or NAT reply through IPVS.
//! - `decision`: the `L4Pick` record of one scheduling decision.
//! - `timers`: connection and template expiry, due `ipvsadm` snapshots.
//! - `sync`: the sync daemon's sending and receiving halves.
//! - `checkers`: keepalived's checker stacks and their verdicts.
//! - `quorum`: keepalived's pool, quorum and sorry server.
//! - `operator`: the operator's `ipvsadm` commands.
//! - `records`: what the director writes into the trace (`ipvsadm` snapshots, its summary).

mod checkers;
mod decision;
mod forward;
mod operator;
mod quorum;
mod records;
mod sync;
mod timers;

use std::net::Ipv4Addr;

use super::packet_cpu::PacketCpu;
use super::router::Router;
use super::{Command, Node, NodeCtx};
use crate::ipvs::conn::ConnTable;
use crate::ipvs::fwmark::MarkRule;
use crate::ipvs::service::VirtualService;
use crate::sim::{SimDuration, SimTime};
use checkers::{CheckerStack, ServiceState};
pub use checkers::{MemberHealth, ServiceHealth};
use forward::parse_tcp;
use sync::SYNC_GROUP_MAC;

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

    /// The service for `vip:port`.
    fn service_index(&self, vip: Ipv4Addr, port: u16) -> Option<usize> {
        self.services
            .iter()
            .position(|s| s.vip == vip && s.port == port)
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

    fn interface_up(&mut self, ctx: &mut NodeCtx<'_>, iface: usize) {
        // The director's kernel is a router's: it announces the link, and keepalived's
        // instances on it leave FAULT.
        self.router.interface_up(ctx, iface);
    }

    fn interface_down(&mut self, ctx: &mut NodeCtx<'_>, iface: usize) {
        self.router.interface_down(ctx, iface);
    }

    fn operate(&mut self, ctx: &mut NodeCtx<'_>, command: &Command) -> Option<String> {
        match command {
            Command::SetPriority { instance, priority } => {
                self.router.set_priority(*instance, *priority)
            }
            Command::Zone(_) => None,
            _ => {
                let detail = self.ipvsadm_command(command)?;
                // `ipvsadm -Ln` after every change, as for keepalived's.
                self.snapshot(ctx);
                Some(detail)
            }
        }
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
        let record = self.balancer_record();
        ctx.trace.balancers.push(record);
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
}
