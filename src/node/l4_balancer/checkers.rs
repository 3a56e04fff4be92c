//! keepalived's checkers: one smoltcp stack per interface that has checked servers, sharing
//! the interface's MAC and address; which frames are theirs; and the verdicts they post on
//! their `HealthBoard`, handed to `quorum` as server changes.

use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetFrame, EthernetProtocol, Icmpv4Message, Icmpv4Packet,
    IpProtocol, Ipv4Packet,
};

use super::super::{Host, Node, NodeCtx};
use super::L4Balancer;
use crate::app::{CheckerConfig, HealthBoard, HealthChecker};
use crate::ipvs::service::RealServerConfig;

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
pub(super) struct MemberState {
    /// Configuration.
    pub(super) health: MemberHealth,
    /// Checkers currently failing.
    pub(super) failing: usize,
}

/// Runtime state of one service's health.
pub(super) struct ServiceState {
    /// Configuration.
    pub(super) quorum: u32,
    /// Hysteresis.
    pub(super) hysteresis: u32,
    /// Sorry server.
    pub(super) sorry_server: Option<RealServerConfig>,
    /// Members.
    pub(super) members: Vec<MemberState>,
    /// Whether quorum holds.
    pub(super) quorum_up: bool,
}

/// The checkers that speak from one interface, and the (service, member) each belongs to.
type ChecksOnInterface = (Vec<CheckerConfig>, Vec<(usize, usize)>);

/// A checker stack on one interface.
pub(super) struct CheckerStack {
    /// The interface it speaks on.
    pub(super) iface: usize,
    /// The stack and its `HealthChecker` app.
    pub(super) host: Host,
    /// Where its verdicts arrive.
    pub(super) board: HealthBoard,
    /// For each of its checkers: (service, member).
    pub(super) owners: Vec<(usize, usize)>,
}

impl L4Balancer {
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

    /// Whether a frame on a checker stack's interface belongs to that stack: `Some(true)` for
    /// an ARP reply to the director (the router learns from it too), `Some(false)` for TCP or
    /// ICMP replies to the director's own address, `None` for everything else.
    pub(super) fn for_checker(&self, stack: usize, frame: &[u8]) -> Option<bool> {
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
    pub(super) fn run_checker(
        &mut self,
        ctx: &mut NodeCtx<'_>,
        index: usize,
        frame: Option<Vec<u8>>,
    ) {
        let iface = self.checker_stacks[index].iface;
        let mut outbox = Vec::new();
        let wake = {
            let mut inner = NodeCtx::new(ctx.now, ctx.node, &mut outbox, &mut *ctx.trace);
            // The checkers' stack sends from the world's spare frame buffers too.
            inner.spare_frames = std::mem::take(&mut ctx.spare_frames);
            let host = &mut self.checker_stacks[index].host;
            match frame {
                Some(frame) => host.handle_frame(&mut inner, 0, frame),
                None => host.handle_wake(&mut inner),
            }
            ctx.spare_frames = std::mem::take(&mut inner.spare_frames);
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
}
