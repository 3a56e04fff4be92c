//! *L4 balancers*: an IPVS director's virtual services and real servers, keepalived's
//! quorum and sorry server, the per-packet CPU cost, and the director's own addresses.

use std::net::Ipv4Addr;

use super::addresses::{not_host_address, same_subnet};
use super::checker::{Checker, Role};
use super::limits;
use crate::app::CheckerConfig;
use crate::ipvs::fwmark::MarkRule;
use crate::ipvs::scheduler;
use crate::ipvs::service::{Forward, RealServerConfig};
use crate::scenario::diagnostic::nearest;
use crate::scenario::format::{ForwardFile, L4BalancerFile, RealServerFile, VirtualServiceFile};
use crate::scenario::model::{InterfaceSpec, NodeSpec, ServiceSpec};
use crate::scenario::spans::Step;

impl Checker<'_> {
    /// An `L4Balancer`: its interfaces and routes, its virtual services (each on its own
    /// address and port, or firewall mark), its VRRP instances, the VIPs it claims, when it
    /// prints `ipvsadm -Ln`, and its CPU per packet.
    pub fn l4_balancer(&mut self, b: &L4BalancerFile) -> NodeSpec {
        let name = b.name.as_str();
        let anchor = Some(name);
        let interfaces = self.node_interfaces(&b.interfaces, name, false);
        if b.interfaces.is_empty() {
            self.at_field(
                "interfaces",
                anchor,
                format!("balancer \"{name}\" has no interfaces"),
                "a director needs an interface towards the clients and one towards the servers (or one for both)",
            );
        }
        let routes = self.routes(&b.routes, &interfaces, name);
        let arp_timeout =
            self.duration(b.arp_timeout.as_deref(), "60s", limits::ARP_TIMEOUT, anchor);
        let services = self.virtual_services(b, &interfaces);
        let marks = self.mark_rules(b, anchor);
        self.services_apart(b, &services, &marks);
        let vrrp = self.vrrp(&b.vrrp, &interfaces, name);
        self.claim_vips(b, &services);
        let ipvsadm_at =
            if self.list_len(b.ipvsadm_at.len(), "ipvsadm_at", anchor, limits::MAX_LIST) {
                b.ipvsadm_at
                    .iter()
                    .map(|t| self.start_time(Some(t), anchor))
                    .collect()
            } else {
                Vec::new()
            };
        let packet_cost = self.packet_cost(b);
        NodeSpec::L4Balancer {
            name: name.to_string(),
            interfaces,
            routes,
            arp_timeout,
            services,
            ipvsadm_at,
            connection_sync: b.connection_sync.unwrap_or(false),
            marks,
            vrrp,
            ignore_garp: b.ignore_garp.unwrap_or(false),
            packet_cost,
        }
    }

    /// The director's virtual services, each checked on its own (`virtual_service`).
    fn virtual_services(
        &mut self,
        b: &L4BalancerFile,
        interfaces: &[InterfaceSpec],
    ) -> Vec<ServiceSpec> {
        let name = b.name.as_str();
        if !self.list_len(b.services.len(), "services", Some(name), limits::MAX_LIST) {
            return Vec::new();
        }
        b.services
            .iter()
            .enumerate()
            .map(|(j, s)| {
                self.within(&[Step::Field("services"), Step::Item(j)], |c| {
                    c.virtual_service(s, interfaces, name)
                })
            })
            .collect()
    }

    /// No two services on one address and port, as ipvsadm refuses; services on a firewall
    /// mark are checked against the `marks` rules instead (`fwmark_service`).
    fn services_apart(&mut self, b: &L4BalancerFile, services: &[ServiceSpec], marks: &[MarkRule]) {
        let name = b.name.as_str();
        let anchor = Some(name);
        for (k, (file, spec)) in b.services.iter().zip(services).enumerate() {
            if let Some(mark) = spec.fwmark {
                self.fwmark_service(k, mark, &services[..k], marks, anchor);
                continue;
            }
            if services[..k].iter().any(|other| {
                other.fwmark.is_none() && other.vip == spec.vip && other.port == spec.port
            }) {
                let depth = self.depth();
                self.enter_at(depth, &[Step::Field("services"), Step::Item(k)]);
                self.at_value(
                    &file.vip,
                    anchor,
                    format!("\"{name}\" has two virtual services on {}:{}", spec.vip, spec.port),
                    "ipvsadm refuses a second service on the same address and port: merge their real servers",
                );
                self.leave(depth);
            }
        }
    }

    /// A VIP is an address of the director: nobody else may use it (VIPs that VRRP moves
    /// between directors are shared on purpose). The file's VRRP addresses count even where
    /// their instance was refused, so one mistake is reported once.
    fn claim_vips(&mut self, b: &L4BalancerFile, services: &[ServiceSpec]) {
        let mut vips: Vec<Ipv4Addr> = b
            .vrrp
            .iter()
            .flat_map(|v| v.virtual_ipaddress.iter().filter_map(|t| t.parse().ok()))
            .collect();
        for (file, spec) in b.services.iter().zip(services) {
            if !vips.contains(&spec.vip) && spec.vip != Ipv4Addr::UNSPECIFIED {
                vips.push(spec.vip);
                self.claim_address(spec.vip, &file.vip, &b.name, Role::Vip);
            }
        }
    }

    /// The director's CPU per packet and the backlog of packets waiting for it, when
    /// `cost_per_packet` is given (`None`: the director costs nothing).
    fn packet_cost(&mut self, b: &L4BalancerFile) -> Option<(crate::sim::SimDuration, u32)> {
        let anchor = Some(b.name.as_str());
        b.cost_per_packet.as_deref().map(|t| {
            let cost = self.duration(Some(t), "0s", limits::WAIT, anchor);
            let backlog = self.count(
                b.packet_backlog.unwrap_or(1000),
                "packet_backlog",
                anchor,
                1,
                limits::MAX_PACKET_BACKLOG,
            );
            (cost, backlog)
        })
    }

    /// A virtual service: address, scheduler, real servers, quorum, sorry server.
    fn virtual_service(
        &mut self,
        s: &VirtualServiceFile,
        interfaces: &[InterfaceSpec],
        name: &str,
    ) -> ServiceSpec {
        let anchor = Some(name);
        let vip = self.service_address(s, anchor);
        let port = self.port(s.port, 80, "port", anchor);
        let scheduler = self.service_scheduler(s, anchor);
        let persistence = self.opt_duration(
            s.persistence_timeout.as_deref(),
            limits::PERSISTENCE,
            anchor,
        );
        if !self.list_len(
            s.real_servers.len(),
            "real_servers",
            anchor,
            limits::MAX_LIST,
        ) {
            return self.empty_service(vip, port, scheduler);
        }
        self.check_timing(&s.check_timing, anchor);
        let service = Service {
            file: s,
            director: name,
            interfaces,
            vip,
            port,
        };
        let RealServers {
            real_servers,
            checks,
            inhibit_on_failure,
        } = self.real_servers(&service);
        let sorry_server = self.sorry_server(s, port, anchor);
        let (quorum, hysteresis) = self.quorum(s, &real_servers, anchor);
        ServiceSpec {
            vip,
            fwmark: s.fwmark,
            port,
            scheduler,
            persistence,
            real_servers,
            checks,
            inhibit_on_failure,
            quorum,
            hysteresis,
            sorry_server,
        }
    }

    /// The service's real servers, each checked on its own (`real_server`); a server whose
    /// address is refused is left out of all three lists.
    fn real_servers(&mut self, service: &Service<'_>) -> RealServers {
        let mut list = RealServers::default();
        let depth = self.depth();
        for (k, rs) in service.file.real_servers.iter().enumerate() {
            self.enter_at(depth, &[Step::Field("real_servers"), Step::Item(k)]);
            if let Some((server, its_checks, inhibit)) =
                self.real_server(rs, service, &list.real_servers)
            {
                list.checks.push(its_checks);
                list.inhibit_on_failure.push(inhibit);
                list.real_servers.push(server);
            }
        }
        self.leave(depth);
        list
    }

    /// The service's sorry server, which takes the clients when the quorum is lost (on the
    /// service's `port` unless it names its own); `None` when absent or its address is refused.
    fn sorry_server(
        &mut self,
        s: &VirtualServiceFile,
        port: u16,
        anchor: Option<&str>,
    ) -> Option<RealServerConfig> {
        let sorry = s.sorry_server.as_ref()?;
        self.within(&[Step::Field("sorry_server")], |c| {
            let addr = c.unicast(&sorry.ip, anchor)?;
            Some(RealServerConfig {
                addr,
                port: c.port(sorry.port, port, "port", anchor),
                weight: 1,
                forward: forward(sorry.forward),
                upper_threshold: 0,
                lower_threshold: 0,
            })
        })
    }

    /// The service's scheduler (`wlc` when none is given), one of IPVS's.
    fn service_scheduler(&mut self, s: &VirtualServiceFile, anchor: Option<&str>) -> String {
        let scheduler = s.scheduler.clone().unwrap_or_else(|| "wlc".to_string());
        if !scheduler::ALL.contains(&scheduler.as_str()) {
            let mut help = format!("the schedulers are: {}", scheduler::ALL.join(" "));
            if let Some(near) = nearest(&scheduler, scheduler::ALL) {
                help.push_str(&format!("; did you mean \"{near}\"?"));
            }
            self.at_value(
                &scheduler,
                anchor,
                format!("unknown scheduler \"{scheduler}\""),
                help,
            );
        }
        scheduler
    }

    /// One real server of `service`, after the `earlier` ones: its address and where it
    /// sits, its health checks, how it is forwarded to, and its weight and thresholds. It
    /// returns the server, its checkers and whether a failed check sets its weight to 0
    /// (`inhibit_on_failure`) instead of removing it; `None` when its address is refused.
    fn real_server(
        &mut self,
        rs: &RealServerFile,
        service: &Service<'_>,
        earlier: &[RealServerConfig],
    ) -> Option<(RealServerConfig, Vec<CheckerConfig>, bool)> {
        let s = service.file;
        let anchor = Some(service.director);
        let addr = self.unicast(&rs.ip, anchor)?;
        self.check_timing(&rs.check_timing, anchor);
        self.fwmark_forwards_by_nat(s, rs, anchor);
        let on_a_segment = self.real_server_place(rs, addr, service);
        let rs_port = self.port(rs.port, service.port, "port", anchor);
        let checks = self.real_server_checks(rs, s, addr, rs_port, anchor);
        let inhibit = rs
            .inhibit_on_failure
            .or(s.inhibit_on_failure)
            .unwrap_or(false);
        let forward = forward(rs.forward);
        self.forwarding(rs, addr, rs_port, forward, service, on_a_segment);
        self.listed_once(rs, addr, rs_port, earlier, anchor);
        let server = self.weight_and_thresholds(rs, addr, rs_port, forward, anchor);
        Some((server, checks, inhibit))
    }

    /// A firewall-mark service forwards by NAT: its packets are addressed to machines that
    /// netlab's servers do not take for their own, so direct routing and tunnelling fail.
    fn fwmark_forwards_by_nat(
        &mut self,
        s: &VirtualServiceFile,
        rs: &RealServerFile,
        anchor: Option<&str>,
    ) {
        if s.fwmark.is_some() && matches!(rs.forward, Some(ForwardFile::Dr | ForwardFile::Tun)) {
            self.at_field(
                "forward",
                anchor,
                "a firewall-mark service forwards by NAT in netlab".into(),
                "its packets are addressed to other machines (origin servers), which netlab's servers do not accept as their own: use forward: Nat",
            );
        }
    }

    /// Where real server `rs` at `addr` sits: not on the director itself nor on the VIP, a
    /// host address of its segment, and on a segment of the director if it has health
    /// checks. It returns whether the server is on one of the director's segments.
    fn real_server_place(
        &mut self,
        rs: &RealServerFile,
        addr: Ipv4Addr,
        service: &Service<'_>,
    ) -> bool {
        let (anchor, name) = (Some(service.director), service.director);
        let segment = service
            .interfaces
            .iter()
            .find(|i| same_subnet(i.ip, addr, i.prefix_len));
        if let Some(problem) = address_problem(addr, service, segment) {
            self.at_value(
                &rs.ip,
                anchor,
                format!("real server {addr} {problem}"),
                "a real server is a machine behind the director, such as a web server's address",
            );
        }
        if !rs.checks.is_empty() && segment.is_none() {
            self.at_value(
                &rs.ip,
                anchor,
                format!("real server {addr} has health checks but is not on a segment of \"{name}\""),
                "netlab's checkers speak from the director's own interface: put the server on one of its subnets",
            );
        }
        segment.is_some()
    }

    /// A real server at `addr:rs_port` appears once in its service (after the `earlier` ones).
    fn listed_once(
        &mut self,
        rs: &RealServerFile,
        addr: Ipv4Addr,
        rs_port: u16,
        earlier: &[RealServerConfig],
        anchor: Option<&str>,
    ) {
        if earlier.iter().any(|r| r.addr == addr && r.port == rs_port) {
            self.at_value(
                &rs.ip,
                anchor,
                format!("real server {addr}:{rs_port} is listed twice"),
                "each real server appears once per service",
            );
        }
    }

    /// The health checkers of real server `rs` at `addr:rs_port` (none when its list is
    /// refused as too long).
    fn real_server_checks(
        &mut self,
        rs: &RealServerFile,
        s: &VirtualServiceFile,
        addr: Ipv4Addr,
        rs_port: u16,
        anchor: Option<&str>,
    ) -> Vec<CheckerConfig> {
        if !self.list_len(rs.checks.len(), "checks", anchor, limits::MAX_LIST) {
            return Vec::new();
        }
        rs.checks
            .iter()
            .enumerate()
            .map(|(m, check)| {
                let at = self.depth();
                self.enter_at(at, &[Step::Field("checks"), Step::Item(m)]);
                let checker = self.checker(
                    check,
                    addr,
                    rs_port,
                    &[&rs.check_timing, &s.check_timing],
                    anchor,
                );
                self.leave(at);
                checker
            })
            .collect()
    }

    /// What direct routing and tunnelling cannot do: change the port, or (direct routing)
    /// reach a server off the director's subnets.
    fn forwarding(
        &mut self,
        rs: &RealServerFile,
        addr: Ipv4Addr,
        rs_port: u16,
        forward: Forward,
        service: &Service<'_>,
        on_a_segment: bool,
    ) {
        let (anchor, port) = (Some(service.director), service.port);
        if forward != Forward::Masq && rs_port != port {
            let method = if forward == Forward::Route {
                "direct routing"
            } else {
                "tunnelling"
            };
            self.at_field(
                "port",
                anchor,
                format!("real server {addr} uses {method} on port {rs_port}, but the service listens on {port}"),
                format!("{method} never rewrites the port (the client's packet arrives as it was sent): leave the real server's port out, or use forward: Nat"),
            );
        }
        if forward == Forward::Route && !on_a_segment {
            self.at_value(
                &rs.ip,
                anchor,
                format!("real server {addr} is not on a segment of \"{}\"; direct routing only rewrites the MAC address", service.director),
                "put the real server on one of the director's subnets, or use forward: Nat",
            );
        }
    }

    /// Real server `rs`'s weight and connection thresholds (a lower threshold above the
    /// upper one is refused, as keepalived does).
    fn weight_and_thresholds(
        &mut self,
        rs: &RealServerFile,
        addr: Ipv4Addr,
        rs_port: u16,
        forward: Forward,
        anchor: Option<&str>,
    ) -> RealServerConfig {
        let upper = rs.upper_threshold.unwrap_or(0);
        let lower = rs.lower_threshold.unwrap_or(0);
        if upper > 0 && lower > upper {
            self.at_field(
                "lower_threshold",
                anchor,
                format!("lower_threshold {lower} is above upper_threshold {upper}"),
                "IPVS stops sending at the upper threshold and starts again below the lower one: make lower < upper",
            );
        }
        RealServerConfig {
            addr,
            port: rs_port,
            weight: self.count(
                rs.weight.unwrap_or(1),
                "weight",
                anchor,
                0,
                limits::MAX_WEIGHT,
            ),
            forward,
            upper_threshold: self.count(
                rs.upper_threshold.unwrap_or(0),
                "upper_threshold",
                anchor,
                0,
                limits::MAX_THRESHOLD,
            ),
            lower_threshold: self.count(
                rs.lower_threshold.unwrap_or(0),
                "lower_threshold",
                anchor,
                0,
                limits::MAX_THRESHOLD,
            ),
        }
    }

    /// The service's quorum (the total weight of live servers it needs to stay up) and
    /// hysteresis, as keepalived reads them: a quorum above the total weight is lowered to
    /// that total.
    fn quorum(
        &mut self,
        s: &VirtualServiceFile,
        real_servers: &[RealServerConfig],
        anchor: Option<&str>,
    ) -> (u32, u32) {
        let total_weight: u64 = real_servers.iter().map(|r| u64::from(r.weight)).sum();
        if s.quorum == Some(0) {
            self.at_field(
                "quorum",
                anchor,
                "quorum 0 would keep the service up with no server alive".into(),
                "keepalived's quorum is at least 1 (the default)",
            );
        }
        let quorum = u64::from(s.quorum.unwrap_or(1)).min(total_weight.max(1)) as u32;
        let hysteresis = s.hysteresis.unwrap_or(0);
        if hysteresis >= quorum && hysteresis > 0 {
            self.at_field(
                "hysteresis",
                anchor,
                format!("hysteresis {hysteresis} is not below the quorum of {quorum}"),
                "keepalived refuses it too: the quorum would be lost at a negative weight; use a smaller hysteresis",
            );
        }
        (quorum, hysteresis)
    }

    /// A service left empty because its real-server list was refused.
    fn empty_service(&self, vip: Ipv4Addr, port: u16, scheduler: String) -> ServiceSpec {
        ServiceSpec {
            vip,
            fwmark: None,
            port,
            scheduler,
            persistence: None,
            real_servers: Vec::new(),
            checks: Vec::new(),
            inhibit_on_failure: Vec::new(),
            quorum: 1,
            hysteresis: 0,
            sorry_server: None,
        }
    }
}

impl Checker<'_> {
    /// A service's VIP, or 0.0.0.0 for a firewall-mark service; exactly one must be given.
    fn service_address(&mut self, s: &VirtualServiceFile, anchor: Option<&str>) -> Ipv4Addr {
        match (s.vip.is_empty(), s.fwmark) {
            (true, None) => {
                self.at_field(
                    "real_servers",
                    anchor,
                    "this virtual service has no `vip`".into(),
                    "give the address clients connect to, such as vip: \"10.0.1.100\" (or a fwmark: 1 with a rule in the director's marks)",
                );
                Ipv4Addr::UNSPECIFIED
            }
            (false, Some(_)) => {
                self.at_field(
                    "fwmark",
                    anchor,
                    "a virtual service has either a `vip` or a `fwmark`, not both".into(),
                    "ipvsadm -A takes -t VIP:port or -f MARK: remove one of them",
                );
                Ipv4Addr::UNSPECIFIED
            }
            (true, Some(0)) => {
                self.at_field(
                    "fwmark",
                    anchor,
                    "fwmark 0 is no mark".into(),
                    "netfilter's mark 0 means \"not marked\": use 1 or more",
                );
                Ipv4Addr::UNSPECIFIED
            }
            (true, Some(_)) => Ipv4Addr::UNSPECIFIED,
            (false, None) => self
                .unicast(&s.vip, anchor)
                .unwrap_or(Ipv4Addr::UNSPECIFIED),
        }
    }

    /// The director's `marks`.
    fn mark_rules(&mut self, b: &L4BalancerFile, anchor: Option<&str>) -> Vec<MarkRule> {
        if !self.list_len(b.marks.len(), "marks", anchor, limits::MAX_LIST) {
            return Vec::new();
        }
        let depth = self.depth();
        let mut rules = Vec::new();
        for (k, rule) in b.marks.iter().enumerate() {
            self.enter_at(depth, &[Step::Field("marks"), Step::Item(k)]);
            if rule.mark == 0 {
                self.at_field(
                    "mark",
                    anchor,
                    "mark 0 is no mark".into(),
                    "netfilter's mark 0 means \"not marked\": use 1 or more",
                );
            }
            let from = rule.from.as_deref().and_then(|t| self.cidr(t, anchor));
            if rule.port == Some(0) {
                self.at_field(
                    "port",
                    anchor,
                    "port 0 is no port".into(),
                    "give the destination port, such as 80",
                );
            }
            rules.push(MarkRule {
                mark: rule.mark,
                from,
                port: rule.port,
            });
        }
        self.leave(depth);
        rules
    }

    /// The `k`th service has firewall mark `mark`: no other service may have it, and a rule
    /// must set it.
    fn fwmark_service(
        &mut self,
        k: usize,
        mark: u32,
        earlier: &[ServiceSpec],
        rules: &[MarkRule],
        anchor: Option<&str>,
    ) {
        if mark == 0 {
            return;
        }
        let depth = self.depth();
        self.enter_at(depth, &[Step::Field("services"), Step::Item(k)]);
        if earlier.iter().any(|other| other.fwmark == Some(mark)) {
            self.at_field(
                "fwmark",
                anchor,
                format!("two virtual services have fwmark {mark}"),
                "ipvsadm refuses a second service on the same mark: merge their real servers",
            );
        } else if !rules.iter().any(|r| r.mark == mark) {
            self.at_field(
                "fwmark",
                anchor,
                format!("no rule in the director's `marks` sets mark {mark}"),
                format!("without one no packet carries the mark: add marks: [(mark: {mark}, from: \"10.0.1.0/24\", port: 80)]"),
            );
        }
        self.leave(depth);
    }
}

/// The forwarding method, as IPVS names it.
pub(super) fn forward(file: Option<ForwardFile>) -> Forward {
    match file.unwrap_or(ForwardFile::Nat) {
        ForwardFile::Nat => Forward::Masq,
        ForwardFile::Dr => Forward::Route,
        ForwardFile::Tun => Forward::Tunnel,
    }
}

/// What is wrong with real server address `addr` of `service`, if anything: the director's
/// own address, the VIP, or (on the director's `segment`) not a host address.
fn address_problem(
    addr: Ipv4Addr,
    service: &Service<'_>,
    segment: Option<&InterfaceSpec>,
) -> Option<String> {
    if service.interfaces.iter().any(|i| i.ip == addr) {
        Some(format!("is \"{}\"'s own address", service.director))
    } else if addr == service.vip {
        Some("is the service's VIP".to_string())
    } else {
        segment.and_then(|i| not_host_address(addr, i.prefix_len))
    }
}

/// A service's real servers and, in step with them, each one's checkers and whether a
/// failed check sets its weight to 0 (`inhibit_on_failure`) instead of removing it.
#[derive(Default)]
struct RealServers {
    /// The real servers whose address was accepted.
    real_servers: Vec<RealServerConfig>,
    /// Each real server's health checkers.
    checks: Vec<Vec<CheckerConfig>>,
    /// Each real server's `inhibit_on_failure`.
    inhibit_on_failure: Vec<bool>,
}

/// What a real server of a virtual service is checked against.
#[derive(Clone, Copy)]
struct Service<'a> {
    /// The service as written.
    file: &'a VirtualServiceFile,
    /// The director's name, which problems are anchored to.
    director: &'a str,
    /// The director's interfaces.
    interfaces: &'a [InterfaceSpec],
    /// The service's address.
    vip: Ipv4Addr,
    /// The service's port.
    port: u16,
}
