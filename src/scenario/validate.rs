//! *Checking a scenario*: every semantic mistake, each with a position and a hint.
//!
//! Parsing only proves the file has the right shape. This pass checks that it makes sense as a
//! network: names are unique and refer to things that exist, addresses parse and sit inside
//! their subnets, gateways and next hops are reachable, quantities have valid units, workloads
//! end. It does not stop at the first problem: a student fixing a file wants the whole list.
//!
//! On success it returns the typed [`Scenario`] that `build` turns into a world.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use super::diagnostic::{Diagnostic, Locator, nearest};
use super::format::{
    AlgorithmFile, CheckFile, CheckTimingFile, ClientCacheFile, ClientsFile, DistributionFile,
    FaultEventFile, FaultFile, ForwardFile, InterfaceFile, L7BalancerFile, NodeFile, OrderFile,
    RouteFile, ScenarioFile, SegmentFile, VirtualServiceFile, VrrpFile, WorkloadFile,
};
use super::model::{
    ClientDnsSpec, FaultKind, FaultSpec, InterfaceSpec, NodeSpec, PingSpec, RouteSpec, Scenario,
    SegmentSpec, ServiceSpec, Url, WorkloadKind, WorkloadSpec,
};
use super::units::{parse_bandwidth, parse_duration, parse_size};
use crate::app::dns::authority::{RecordOrder, ZoneEntry};
use crate::app::dns::cache::CacheConfig;
use crate::app::dns::stub::CachePolicy;
use crate::app::{Algorithm, Backend, Pool, ProxyConfig, RuleMatch};
use crate::app::{CheckKind, CheckTiming, CheckerConfig, Distribution};
use crate::ipvs::scheduler;
use crate::ipvs::service::{Forward, RealServerConfig};
use crate::net::{LinkConfig, SegmentKind};
use crate::node::ServiceMode;
use crate::node::vrrp::VrrpConfig;
use crate::sim::{SimDuration, SimTime};

/// Default segment speed.
const DEFAULT_BANDWIDTH: &str = "1Gbps";
/// Default one-way delay.
const DEFAULT_DELAY: &str = "10us";
/// Default drop-tail limit.
const DEFAULT_QUEUE: &str = "256KiB";
/// Default run limit in virtual time.
const DEFAULT_MAX_SIM_TIME: &str = "1h";
/// Default run limit in events.
const DEFAULT_MAX_EVENTS: u64 = 200_000_000;

/// Collects diagnostics while checking.
struct Checker<'a> {
    /// Finds tokens for positions.
    loc: &'a Locator<'a>,
    /// Problems found so far.
    problems: Vec<Diagnostic>,
}

impl Checker<'_> {
    /// Reports a problem with the quoted `value`, found after `anchor`.
    fn at_value(
        &mut self,
        value: &str,
        anchor: Option<&str>,
        message: String,
        help: Option<String>,
    ) {
        let mut d = self.loc.quoted(value, anchor, message);
        d.help = help;
        self.problems.push(d);
    }

    /// Reports a problem with a field whose value is not a string.
    fn at_field(
        &mut self,
        field: &str,
        anchor: Option<&str>,
        message: String,
        help: Option<String>,
    ) {
        let mut d = self.loc.field(field, anchor, message);
        d.help = help;
        self.problems.push(d);
    }

    /// Parses a duration, or reports it.
    fn duration(&mut self, text: Option<&str>, default: &str, anchor: Option<&str>) -> SimDuration {
        let text = text.unwrap_or(default);
        parse_duration(text).unwrap_or_else(|e| {
            self.at_value(
                text,
                anchor,
                e,
                Some("write a number and a unit, such as \"10ms\"".into()),
            );
            SimDuration::ZERO
        })
    }

    /// Parses an `a.b.c.d/len` address, or reports it.
    fn cidr(&mut self, text: &str, anchor: Option<&str>) -> Option<(Ipv4Addr, u8)> {
        let parsed = text.split_once('/').and_then(|(ip, len)| {
            let ip: Ipv4Addr = ip.parse().ok()?;
            let len: u8 = len.parse().ok().filter(|&l| l <= 32)?;
            Some((ip, len))
        });
        if parsed.is_none() {
            self.at_value(
                text,
                anchor,
                format!("\"{text}\" is not an IPv4 address with a prefix length"),
                Some("write it like \"10.0.0.1/24\"".into()),
            );
        }
        parsed
    }

    /// Parses a plain address, or reports it.
    fn ip(&mut self, text: &str, anchor: Option<&str>) -> Option<Ipv4Addr> {
        let parsed = text.parse().ok();
        if parsed.is_none() {
            self.at_value(
                text,
                anchor,
                format!("\"{text}\" is not an IPv4 address"),
                Some("write it like \"10.0.0.1\" (no prefix length here)".into()),
            );
        }
        parsed
    }

    /// Parses a time distribution, or reports it.
    fn distribution(
        &mut self,
        d: Option<&DistributionFile>,
        default: SimDuration,
        anchor: Option<&str>,
    ) -> Distribution {
        match d {
            None => Distribution::Fixed(default),
            Some(DistributionFile::Fixed(t)) => {
                Distribution::Fixed(self.duration(Some(t), "0s", anchor))
            }
            Some(DistributionFile::Exponential(t)) => {
                Distribution::Exponential(self.duration(Some(t), "0s", anchor))
            }
        }
    }
}

/// Checks a parsed file; returns the typed scenario or every problem found.
pub fn validate(file: &ScenarioFile, loc: &Locator<'_>) -> Result<Scenario, Vec<Diagnostic>> {
    let mut c = Checker {
        loc,
        problems: Vec::new(),
    };

    // 1. Segments and links: unique names, valid physics.
    let mut segments = Vec::new();
    let mut segment_index: BTreeMap<String, usize> = BTreeMap::new();
    let all_wires = file
        .segments
        .iter()
        .map(|s| (s, SegmentKind::Switch))
        .chain(file.links.iter().map(|s| (s, SegmentKind::PointToPoint)));
    for (wire, kind) in all_wires {
        if segment_index.contains_key(&wire.name) {
            c.at_value(
                &wire.name,
                None,
                format!("segment or link name \"{}\" is used twice", wire.name),
                Some("give every segment and link its own name".into()),
            );
            continue;
        }
        segment_index.insert(wire.name.clone(), segments.len());
        segments.push(SegmentSpec {
            name: wire.name.clone(),
            kind,
            config: check_physics(&mut c, wire),
        });
    }

    // 2. Nodes: unique names, valid interfaces, addresses, routes, apps.
    let mut node_names: BTreeSet<String> = BTreeSet::new();
    let mut addresses: BTreeMap<Ipv4Addr, String> = BTreeMap::new();
    let mut attach_counts = vec![0usize; segments.len()];
    let mut nodes = Vec::new();
    let hosts = check_hosts(&mut c, file);
    for node in &file.nodes {
        let name = node_name(node);
        let mut names_here = vec![name.to_string()];
        if let NodeFile::Clients(group) = node {
            names_here = (1..=group.count.unwrap_or(1))
                .map(|i| format!("{}-{i}", group.name))
                .collect();
            names_here.push(group.name.clone());
        }
        for n in &names_here {
            if !node_names.insert(n.clone()) {
                c.at_value(
                    name,
                    None,
                    format!("node name \"{n}\" is used twice"),
                    Some("give every node its own name (client groups also take <name>-1, <name>-2, ...)".into()),
                );
            }
        }
        // A cold spare repeats the addresses of the router it would replace.
        let cold_spare = matches!(node, NodeFile::Router(r) if r.cold_spare == Some(true));
        let mut spare_addresses = BTreeMap::new();
        let mut iface = |c: &mut Checker<'_>, i: &InterfaceFile| -> Option<InterfaceSpec> {
            let claimed = if cold_spare {
                &mut spare_addresses
            } else {
                &mut addresses
            };
            check_interface(c, i, name, &segment_index, &mut attach_counts, claimed)
        };
        let spec = match node {
            NodeFile::Router(r) => {
                let interfaces: Vec<InterfaceSpec> = r
                    .interfaces
                    .iter()
                    .filter_map(|i| iface(&mut c, i))
                    .collect();
                if r.interfaces.is_empty() {
                    c.at_field(
                        "interfaces",
                        Some(name),
                        format!("router \"{name}\" has no interfaces"),
                        Some("a router needs at least two interfaces to route between".into()),
                    );
                }
                let routes = check_routes(&mut c, &r.routes, &interfaces, name);
                let arp_timeout = c.duration(r.arp_timeout.as_deref(), "60s", Some(name));
                let vrrp = check_vrrp(&mut c, &r.vrrp, &interfaces, name);
                NodeSpec::Router {
                    name: name.to_string(),
                    interfaces,
                    routes,
                    arp_timeout,
                    vrrp,
                    ignore_garp: r.ignore_garp.unwrap_or(false),
                }
            }
            NodeFile::Host(h) => {
                let interface = iface(&mut c, &h.interface);
                let gateway = check_gateway(&mut c, h.gateway.as_deref(), interface, name);
                let ping = h.ping.as_ref().map(|p| {
                    let target = resolve_target(&mut c, &p.target, &hosts, name);
                    let count = p.count.unwrap_or(4);
                    if count == 0 {
                        c.at_field(
                            "count",
                            Some(name),
                            "a pinger must send at least one request".into(),
                            None,
                        );
                    }
                    PingSpec {
                        target: target.unwrap_or(Ipv4Addr::UNSPECIFIED),
                        count,
                        interval: c.duration(p.interval.as_deref(), "1s", Some(name)),
                        start: c.duration(p.start.as_deref(), "0s", Some(name)),
                        timeout: c.duration(p.timeout.as_deref(), "1s", Some(name)),
                    }
                });
                match interface {
                    Some(interface) => NodeSpec::Host {
                        name: name.to_string(),
                        interface,
                        gateway,
                        ping,
                    },
                    None => continue,
                }
            }
            NodeFile::WebServer(w) => {
                let interface = iface(&mut c, &w.interface);
                let gateway = check_gateway(&mut c, w.gateway.as_deref(), interface, name);
                let workers = w.workers.unwrap_or(16);
                if workers == 0 {
                    c.at_field(
                        "workers",
                        Some(name),
                        "a web server needs at least one worker".into(),
                        None,
                    );
                }
                let response_text = w.response_size.as_deref().unwrap_or("4KiB");
                let response_bytes = parse_size(response_text).unwrap_or_else(|e| {
                    c.at_value(
                        response_text,
                        Some(name),
                        e,
                        Some("write it like \"8KiB\"".into()),
                    );
                    0
                });
                let paths = w.paths.clone().unwrap_or_else(|| vec!["/".to_string()]);
                for p in &paths {
                    if !p.starts_with('/') {
                        c.at_value(
                            p,
                            Some(name),
                            format!("path prefix \"{p}\" does not start with /"),
                            Some("write paths like \"/static/\"".into()),
                        );
                    }
                }
                let loopback = w
                    .loopback
                    .iter()
                    .filter_map(|ip| c.ip(ip, Some(name)))
                    .collect();
                let service_time = c.distribution(
                    w.service_time.as_ref(),
                    SimDuration::from_millis(1),
                    Some(name),
                );
                let keep_alive = w
                    .keep_alive
                    .as_deref()
                    .map(|t| c.duration(Some(t), "5s", Some(name)));
                match interface {
                    Some(interface) => NodeSpec::WebServer {
                        name: name.to_string(),
                        interface,
                        gateway,
                        port: w.port.unwrap_or(80),
                        workers,
                        backlog: w.backlog.unwrap_or(16),
                        service_time,
                        response_bytes,
                        paths,
                        loopback,
                        arp_ignore: w.arp_ignore.unwrap_or(true),
                        smtp_port: w.smtp_port,
                        keep_alive,
                    },
                    None => continue,
                }
            }
            NodeFile::L4Balancer(b) => {
                let interfaces: Vec<InterfaceSpec> = b
                    .interfaces
                    .iter()
                    .filter_map(|i| iface(&mut c, i))
                    .collect();
                let routes = check_routes(&mut c, &b.routes, &interfaces, name);
                let arp_timeout = c.duration(b.arp_timeout.as_deref(), "60s", Some(name));
                let services: Vec<ServiceSpec> = b
                    .services
                    .iter()
                    .map(|s| check_service(&mut c, s, &interfaces, name))
                    .collect();
                let vrrp = check_vrrp(&mut c, &b.vrrp, &interfaces, name);
                // A VIP is an address of the director: nobody else may use it (VIPs that VRRP
                // moves between directors are shared on purpose).
                let mut vips: Vec<Ipv4Addr> = vrrp.iter().flat_map(|v| v.vips.clone()).collect();
                for (file, spec) in b.services.iter().zip(&services) {
                    if !vips.contains(&spec.vip) && spec.vip != Ipv4Addr::UNSPECIFIED {
                        vips.push(spec.vip);
                        claim_address(&mut c, spec.vip, &file.vip, name, &mut addresses);
                    }
                }
                let ipvsadm_at = b
                    .ipvsadm_at
                    .iter()
                    .map(|t| c.duration(Some(t), "0s", Some(name)))
                    .collect();
                NodeSpec::L4Balancer {
                    name: name.to_string(),
                    interfaces,
                    routes,
                    arp_timeout,
                    services,
                    ipvsadm_at,
                    connection_sync: b.connection_sync.unwrap_or(false),
                    vrrp,
                    ignore_garp: b.ignore_garp.unwrap_or(false),
                    packet_cost: b.cost_per_packet.as_deref().map(|t| {
                        (
                            c.duration(Some(t), "0s", Some(name)),
                            b.packet_backlog.unwrap_or(1000),
                        )
                    }),
                }
            }
            NodeFile::DnsServer(d) => {
                let interface = iface(&mut c, &d.interface);
                let gateway = check_gateway(&mut c, d.gateway.as_deref(), interface, name);
                let zone = d
                    .zone
                    .iter()
                    .map(|z| {
                        let ttl = c.duration(Some(&z.ttl), "0s", Some(name));
                        ZoneEntry {
                            name: z.name.trim_end_matches('.').to_ascii_lowercase(),
                            ttl: (ttl.as_nanos() / 1_000_000_000) as u32,
                            addresses: z
                                .addresses
                                .iter()
                                .filter_map(|a| c.ip(a, Some(name)))
                                .collect(),
                            order: match z.order.unwrap_or(OrderFile::Cyclic) {
                                OrderFile::Cyclic => RecordOrder::Cyclic,
                                OrderFile::Fixed => RecordOrder::Fixed,
                                OrderFile::Random => RecordOrder::Random,
                            },
                        }
                    })
                    .collect();
                match interface {
                    Some(interface) => NodeSpec::DnsServer {
                        name: name.to_string(),
                        interface,
                        gateway,
                        zone,
                    },
                    None => continue,
                }
            }
            NodeFile::L7Balancer(l) => {
                let interface = iface(&mut c, &l.interface);
                let gateway = check_gateway(&mut c, l.gateway.as_deref(), interface, name);
                let config = check_proxy(&mut c, l);
                // Every pool's checks, against each of its servers.
                let mut checks = Vec::new();
                for (p, (file, pool)) in l.pools.iter().zip(&config.pools).enumerate() {
                    for (s, server) in pool.servers.iter().enumerate() {
                        for check in &file.checks {
                            let checker = check_checker(
                                &mut c,
                                check,
                                server.addr,
                                server.port,
                                &[&file.check_timing],
                                Some(name),
                            );
                            checks.push((p, s, checker));
                        }
                    }
                }
                match interface {
                    Some(interface) => NodeSpec::L7Balancer {
                        name: name.to_string(),
                        interface,
                        gateway,
                        config,
                        checks,
                    },
                    None => continue,
                }
            }
            NodeFile::DnsResolver(d) => {
                let interface = iface(&mut c, &d.interface);
                let gateway = check_gateway(&mut c, d.gateway.as_deref(), interface, name);
                let upstream = c
                    .ip(&d.upstream, Some(name))
                    .unwrap_or(Ipv4Addr::UNSPECIFIED);
                let min_ttl = d
                    .min_ttl
                    .as_deref()
                    .map(|t| c.duration(Some(t), "0s", Some(name)));
                let max_ttl = d
                    .max_ttl
                    .as_deref()
                    .map(|t| c.duration(Some(t), "0s", Some(name)));
                match interface {
                    Some(interface) => NodeSpec::DnsResolver {
                        name: name.to_string(),
                        interface,
                        gateway,
                        config: CacheConfig {
                            upstream,
                            min_ttl,
                            max_ttl,
                        },
                    },
                    None => continue,
                }
            }
            NodeFile::Clients(group) => match check_clients(
                &mut c,
                group,
                &segment_index,
                &mut attach_counts,
                &mut addresses,
                &hosts,
            ) {
                Some(spec) => spec,
                None => continue,
            },
        };
        nodes.push(spec);
    }

    // 3. Links join exactly two interfaces.
    for (index, spec) in segments.iter().enumerate() {
        if spec.kind == SegmentKind::PointToPoint && attach_counts[index] != 2 {
            c.at_value(
                &spec.name,
                None,
                format!(
                    "link \"{}\" has {} interface(s) attached; a point-to-point link needs exactly 2",
                    spec.name, attach_counts[index]
                ),
                Some("use a segment for more than two interfaces".into()),
            );
        }
    }

    // 4. Capture, limits, workloads present.
    let capture_segments = file.capture.segments.as_ref().map(|names| {
        names
            .iter()
            .filter_map(|n| {
                let found = segment_index.get(n).copied();
                if found.is_none() {
                    unknown_segment(&mut c, n, None, &segment_index);
                }
                found
            })
            .collect()
    });
    let faults = file
        .faults
        .iter()
        .filter_map(|f| check_fault(&mut c, f, &file.nodes, &segment_index))
        .collect();
    let max_sim_time = SimTime::ZERO
        + c.duration(
            file.limits.max_sim_time.as_deref(),
            DEFAULT_MAX_SIM_TIME,
            None,
        );
    if nodes.is_empty() && c.problems.is_empty() {
        c.at_field(
            "nodes",
            None,
            "the scenario has no nodes".into(),
            Some("add at least a web server and a client group".into()),
        );
    }

    if !c.problems.is_empty() {
        return Err(c.problems);
    }
    Ok(Scenario {
        source_file: loc.file().to_string(),
        name: file.name.clone(),
        description: file.description.clone(),
        seed: file.seed.unwrap_or(1),
        max_sim_time,
        max_events: file.limits.max_events.unwrap_or(DEFAULT_MAX_EVENTS),
        segments,
        nodes,
        hosts,
        capture_enabled: file.capture.enabled,
        capture_segments,
        faults,
    })
}

/// The name of any node kind.
fn node_name(node: &NodeFile) -> &str {
    match node {
        NodeFile::Router(r) => &r.name,
        NodeFile::Host(h) => &h.name,
        NodeFile::WebServer(w) => &w.name,
        NodeFile::Clients(g) => &g.name,
        NodeFile::L4Balancer(b) => &b.name,
        NodeFile::DnsServer(d) => &d.name,
        NodeFile::DnsResolver(d) => &d.name,
        NodeFile::L7Balancer(l) => &l.name,
    }
}

/// An L7 proxy: pools, rules naming pools, costs.
fn check_proxy(c: &mut Checker<'_>, l: &L7BalancerFile) -> ProxyConfig {
    let anchor = Some(l.name.as_str());
    let pools: Vec<Pool> = l
        .pools
        .iter()
        .map(|p| Pool {
            name: p.name.clone(),
            servers: p
                .servers
                .iter()
                .filter_map(|s| {
                    Some(Backend {
                        addr: c.ip(&s.ip, anchor)?,
                        port: s.port.unwrap_or(80),
                        weight: s.weight.unwrap_or(1),
                        backup: s.backup.unwrap_or(false),
                    })
                })
                .collect(),
            algorithm: match p.algorithm.unwrap_or(AlgorithmFile::RoundRobin) {
                AlgorithmFile::RoundRobin => Algorithm::RoundRobin,
                AlgorithmFile::WeightedRoundRobin => Algorithm::WeightedRoundRobin,
                AlgorithmFile::LeastConn => Algorithm::LeastConn,
                AlgorithmFile::Source => Algorithm::Source,
                AlgorithmFile::Uri => Algorithm::Uri,
            },
        })
        .collect();
    let names: Vec<&str> = pools.iter().map(|p| p.name.as_str()).collect();
    let pool_index = |c: &mut Checker<'_>, name: &str| -> usize {
        names.iter().position(|n| *n == name).unwrap_or_else(|| {
            let mut help = format!("the pools are: {}", names.join(", "));
            if let Some(near) = nearest(name, names.iter().copied()) {
                help.push_str(&format!("; did you mean \"{near}\"?"));
            }
            c.at_value(name, anchor, format!("unknown pool \"{name}\""), Some(help));
            0
        })
    };
    let rules = l
        .rules
        .iter()
        .filter_map(|r| {
            let pool = pool_index(c, &r.pool);
            match (&r.path_prefix, &r.host) {
                (Some(prefix), None) => Some((RuleMatch::PathPrefix(prefix.clone()), pool)),
                (None, Some(host)) => Some((RuleMatch::Host(host.clone()), pool)),
                _ => {
                    c.at_value(
                        &r.pool,
                        anchor,
                        "a rule needs exactly one of `path_prefix` and `host`".into(),
                        None,
                    );
                    None
                }
            }
        })
        .collect();
    let default_pool = pool_index(c, &l.default_pool);
    ProxyConfig {
        port: l.port.unwrap_or(80),
        pools,
        rules,
        default_pool,
        max_connections: l.max_connections.unwrap_or(256),
        cost_per_request: c.duration(l.cost_per_request.as_deref(), "100us", anchor),
        cost_per_kib: c.duration(l.cost_per_kib.as_deref(), "5us", anchor),
        keep_alive: l
            .keep_alive
            .as_deref()
            .map(|t| c.duration(Some(t), "5s", anchor)),
        reuse_server_connections: l.reuse_server_connections.unwrap_or(false),
    }
}

/// VRRP instances: IDs and priorities in range, VIPs on the instance's interface.
fn check_vrrp(
    c: &mut Checker<'_>,
    instances: &[VrrpFile],
    interfaces: &[InterfaceSpec],
    name: &str,
) -> Vec<VrrpConfig> {
    let anchor = Some(name);
    let mut configs = Vec::new();
    for v in instances {
        let iface = v.interface.unwrap_or(0) as usize;
        let Some(spec) = interfaces.get(iface) else {
            c.at_field(
                "interface",
                anchor,
                format!("\"{name}\" has no interface {iface}"),
                Some("interfaces are numbered from 0 in the order the node lists them".into()),
            );
            continue;
        };
        if v.virtual_router_id == 0 {
            c.at_field(
                "virtual_router_id",
                anchor,
                "virtual_router_id must be 1 to 255".into(),
                None,
            );
        }
        let priority = v.priority.unwrap_or(100);
        if priority == 0 {
            c.at_field(
                "priority",
                anchor,
                "priority 0 is reserved for a master that resigns".into(),
                Some("use 1 to 255".into()),
            );
        }
        let advert_int = v.advert_int.unwrap_or(1);
        if advert_int == 0 {
            c.at_field(
                "advert_int",
                anchor,
                "advert_int must be at least 1 second in VRRP version 2".into(),
                None,
            );
        }
        let vips: Vec<Ipv4Addr> = v
            .virtual_ipaddress
            .iter()
            .filter_map(|t| c.ip(t, anchor))
            .collect();
        for (text, vip) in v.virtual_ipaddress.iter().zip(&vips) {
            if !same_subnet(spec.ip, *vip, spec.prefix_len) {
                c.at_value(
                    text,
                    anchor,
                    format!("VIP {vip} is not on the subnet of interface {iface}"),
                    Some("gratuitous ARP only reaches the instance's own segment".into()),
                );
            }
        }
        configs.push(VrrpConfig {
            name: v
                .name
                .clone()
                .unwrap_or_else(|| format!("VI_{}", v.virtual_router_id)),
            iface,
            vrid: v.virtual_router_id,
            priority,
            advert_int,
            preempt: !v.nopreempt.unwrap_or(false),
            vips,
            garp_repeat: v.garp_master_repeat.unwrap_or(5),
            garp_delay: c.duration(v.garp_master_delay.as_deref(), "5s", anchor),
        });
    }
    configs
}

/// Static routes: each destination parses and each next hop is on a connected subnet.
fn check_routes(
    c: &mut Checker<'_>,
    routes: &[RouteFile],
    interfaces: &[InterfaceSpec],
    name: &str,
) -> Vec<RouteSpec> {
    let mut checked = Vec::new();
    for route in routes {
        let target = if route.to == "default" {
            Some((Ipv4Addr::UNSPECIFIED, 0))
        } else {
            c.cidr(&route.to, Some(name))
        };
        let via = c.ip(&route.via, Some(name));
        if let (Some((network, prefix_len)), Some(via)) = (target, via) {
            if !interfaces
                .iter()
                .any(|i| same_subnet(i.ip, via, i.prefix_len))
            {
                c.at_value(
                    &route.via,
                    Some(name),
                    format!("next hop {via} is not on any subnet of \"{name}\""),
                    Some("a next hop must be reachable directly: put it in one of the node's interface subnets".into()),
                );
            }
            checked.push(RouteSpec {
                network,
                prefix_len,
                via,
            });
        }
    }
    checked
}

/// A virtual service: address, scheduler, real servers.
fn check_service(
    c: &mut Checker<'_>,
    s: &VirtualServiceFile,
    interfaces: &[InterfaceSpec],
    name: &str,
) -> ServiceSpec {
    let anchor = Some(name);
    let vip = c.ip(&s.vip, anchor).unwrap_or(Ipv4Addr::UNSPECIFIED);
    let port = s.port.unwrap_or(80);
    let scheduler = s.scheduler.clone().unwrap_or_else(|| "wlc".to_string());
    if !scheduler::ALL.contains(&scheduler.as_str()) {
        let mut help = format!("the schedulers are: {}", scheduler::ALL.join(" "));
        if let Some(near) = nearest(&scheduler, scheduler::ALL) {
            help.push_str(&format!("; did you mean \"{near}\"?"));
        }
        c.at_value(
            &scheduler,
            anchor,
            format!("unknown scheduler \"{scheduler}\""),
            Some(help),
        );
    }
    let persistence = s
        .persistence_timeout
        .as_deref()
        .map(|t| c.duration(Some(t), "0s", anchor));
    let mut real_servers: Vec<RealServerConfig> = Vec::new();
    let mut checks = Vec::new();
    let mut inhibit_on_failure = Vec::new();
    for rs in &s.real_servers {
        let Some(addr) = c.ip(&rs.ip, anchor) else {
            continue;
        };
        if !rs.checks.is_empty()
            && !interfaces
                .iter()
                .any(|i| same_subnet(i.ip, addr, i.prefix_len))
        {
            c.at_value(
                &rs.ip,
                anchor,
                format!("real server {addr} has health checks but is not on a segment of \"{name}\""),
                Some("netlab's checkers speak from the director's own interface: put the server on one of its subnets".into()),
            );
        }
        checks.push(
            rs.checks
                .iter()
                .map(|check| {
                    check_checker(
                        c,
                        check,
                        addr,
                        rs.port.unwrap_or(port),
                        &[&rs.check_timing, &s.check_timing],
                        anchor,
                    )
                })
                .collect(),
        );
        inhibit_on_failure.push(
            rs.inhibit_on_failure
                .or(s.inhibit_on_failure)
                .unwrap_or(false),
        );
        let forward = match rs.forward.unwrap_or(ForwardFile::Nat) {
            ForwardFile::Nat => Forward::Masq,
            ForwardFile::Dr => Forward::Route,
        };
        if forward == Forward::Route
            && !interfaces
                .iter()
                .any(|i| same_subnet(i.ip, addr, i.prefix_len))
        {
            c.at_value(
                &rs.ip,
                anchor,
                format!("real server {addr} is not on a segment of \"{name}\"; direct routing only rewrites the MAC address"),
                Some("put the real server on one of the director's subnets, or use forward: Nat".into()),
            );
        }
        let rs_port = rs.port.unwrap_or(port);
        if real_servers
            .iter()
            .any(|r| r.addr == addr && r.port == rs_port)
        {
            c.at_value(
                &rs.ip,
                anchor,
                format!("real server {addr}:{rs_port} is listed twice"),
                Some("each real server appears once per service".into()),
            );
        }
        let weight = rs.weight.unwrap_or(1);
        if weight > 65535 {
            c.at_field(
                "weight",
                anchor,
                format!("weight {weight} is above ipvsadm's maximum"),
                Some("use 0 to 65535".into()),
            );
        }
        real_servers.push(RealServerConfig {
            addr,
            port: rs_port,
            weight,
            forward,
            upper_threshold: rs.upper_threshold.unwrap_or(0),
            lower_threshold: rs.lower_threshold.unwrap_or(0),
        });
    }
    let sorry_server = s.sorry_server.as_ref().and_then(|sorry| {
        let addr = c.ip(&sorry.ip, anchor)?;
        Some(RealServerConfig {
            addr,
            port: sorry.port.unwrap_or(port),
            weight: 1,
            forward: match sorry.forward.unwrap_or(ForwardFile::Nat) {
                ForwardFile::Nat => Forward::Masq,
                ForwardFile::Dr => Forward::Route,
            },
            upper_threshold: 0,
            lower_threshold: 0,
        })
    });
    // keepalived lowers a quorum above the total weight to that total.
    let total_weight: u32 = real_servers.iter().map(|r| r.weight).sum();
    let quorum = s.quorum.unwrap_or(1).min(total_weight.max(1));
    ServiceSpec {
        vip,
        port,
        scheduler,
        persistence,
        real_servers,
        checks,
        inhibit_on_failure,
        quorum,
        hysteresis: s.hysteresis.unwrap_or(0),
        sorry_server,
    }
}

/// One checker, with its timing inherited from the real server, then the service, then
/// keepalived's defaults.
fn check_checker(
    c: &mut Checker<'_>,
    check: &CheckFile,
    target: Ipv4Addr,
    rs_port: u16,
    timings: &[&CheckTimingFile],
    anchor: Option<&str>,
) -> CheckerConfig {
    let kind = match check {
        CheckFile::PingCheck => CheckKind::Ping,
        CheckFile::TcpCheck { port } => CheckKind::Tcp {
            port: port.unwrap_or(rs_port),
        },
        CheckFile::HttpGet { path, status, port }
        | CheckFile::SslGet {
            path, status, port, ..
        } => {
            let handshake = match check {
                CheckFile::SslGet { handshake, .. } => {
                    Some(c.duration(handshake.as_deref(), "2ms", anchor))
                }
                _ => None,
            };
            CheckKind::Http {
                port: port.unwrap_or(rs_port),
                path: path.clone().unwrap_or_else(|| "/".to_string()),
                status: match status {
                    Some(codes) => codes.iter().map(|&code| (code, code)).collect(),
                    None => vec![(200, 299)],
                },
                handshake,
            }
        }
        CheckFile::SmtpCheck { port, helo_name } => CheckKind::Smtp {
            port: port.unwrap_or(25),
            helo: helo_name
                .clone()
                .unwrap_or_else(|| "smtpchecker.keepalived.org".to_string()),
        },
        CheckFile::MiscCheck { results } => CheckKind::Misc {
            timeline: results
                .iter()
                .map(|(at, ok)| (SimTime::ZERO + c.duration(Some(at), "0s", anchor), *ok))
                .collect(),
        },
    };
    // keepalived's per-checker defaults (check_data.c): MISC_CHECK retries 0 times, and
    // HTTP_GET/SSL_GET wait 3 s between retries instead of 1 s.
    let is_http = matches!(kind, CheckKind::Http { .. });
    let first = |pick: fn(&CheckTimingFile) -> Option<String>| timings.iter().find_map(|t| pick(t));
    let delay_loop = c.duration(first(|t| t.delay_loop.clone()).as_deref(), "60s", anchor);
    let connect_timeout = c.duration(
        first(|t| t.connect_timeout.clone()).as_deref(),
        "5s",
        anchor,
    );
    let delay_before_retry = c.duration(
        first(|t| t.delay_before_retry.clone()).as_deref(),
        if is_http { "3s" } else { "1s" },
        anchor,
    );
    let warmup = match first(|t| t.warmup.clone()) {
        Some(w) => c.duration(Some(&w), "0s", anchor),
        None => delay_loop,
    };
    if delay_loop == SimDuration::ZERO {
        c.at_field(
            "delay_loop",
            anchor,
            "delay_loop must be greater than zero".into(),
            None,
        );
    }
    let retry =
        timings
            .iter()
            .find_map(|t| t.retry)
            .unwrap_or(if matches!(kind, CheckKind::Misc { .. }) {
                0
            } else {
                1
            });
    CheckerConfig {
        kind,
        target,
        timing: CheckTiming {
            delay_loop,
            connect_timeout,
            retry,
            delay_before_retry,
            warmup,
        },
        alpha: timings.iter().find_map(|t| t.alpha).unwrap_or(false),
    }
}

/// Bandwidth, delay, queue and loss of one wire.
fn check_physics(c: &mut Checker<'_>, wire: &SegmentFile) -> LinkConfig {
    let anchor = Some(wire.name.as_str());
    let bandwidth_text = wire.bandwidth.as_deref().unwrap_or(DEFAULT_BANDWIDTH);
    let bandwidth = parse_bandwidth(bandwidth_text).unwrap_or_else(|e| {
        c.at_value(
            bandwidth_text,
            anchor,
            e,
            Some("write it like \"100Mbps\"".into()),
        );
        crate::net::Bandwidth::from_bits_per_sec(1)
    });
    let delay = c.duration(wire.delay.as_deref(), DEFAULT_DELAY, anchor);
    let queue_text = wire.queue.as_deref().unwrap_or(DEFAULT_QUEUE);
    let queue_limit_bytes = parse_size(queue_text).unwrap_or_else(|e| {
        c.at_value(
            queue_text,
            anchor,
            e,
            Some("write it like \"64KiB\"".into()),
        );
        0
    });
    if queue_limit_bytes < 1514 && c.problems.iter().all(|d| !d.message.contains(queue_text)) {
        c.at_value(
            queue_text,
            anchor,
            format!("queue \"{queue_text}\" cannot hold even one full-size frame (1514 bytes)"),
            Some(
                "use at least \"2KiB\"; switch ports typically have tens to hundreds of KiB".into(),
            ),
        );
    }
    let loss = wire.loss.unwrap_or(0.0);
    if !(0.0..=1.0).contains(&loss) {
        c.at_field(
            "loss",
            anchor,
            format!("loss {loss} is not a probability"),
            Some("write a number between 0 (no loss) and 1 (everything lost), such as 0.01".into()),
        );
    }
    LinkConfig {
        bandwidth,
        delay,
        queue_limit_bytes,
        loss,
    }
}

/// The `hosts` table.
fn check_hosts(c: &mut Checker<'_>, file: &ScenarioFile) -> BTreeMap<String, Ipv4Addr> {
    let mut hosts = BTreeMap::new();
    for (name, ip) in &file.hosts {
        if let Some(ip) = c.ip(ip, None) {
            hosts.insert(name.clone(), ip);
        }
    }
    hosts
}

/// Reports an unknown segment name with the nearest known one.
fn unknown_segment(
    c: &mut Checker<'_>,
    name: &str,
    anchor: Option<&str>,
    known: &BTreeMap<String, usize>,
) {
    let list: Vec<String> = known.keys().map(|k| format!("\"{k}\"")).collect();
    let mut help = if list.is_empty() {
        "the scenario defines no segments or links yet".to_string()
    } else {
        format!("segments and links are: {}", list.join(", "))
    };
    if let Some(near) = nearest(name, known.keys().map(String::as_str)) {
        help.push_str(&format!("; did you mean \"{near}\"?"));
    }
    c.at_value(
        name,
        anchor,
        format!("unknown segment or link \"{name}\""),
        Some(help),
    );
}

/// One interface: its segment exists, its address parses and is unique.
fn check_interface(
    c: &mut Checker<'_>,
    i: &InterfaceFile,
    node: &str,
    segments: &BTreeMap<String, usize>,
    attach_counts: &mut [usize],
    addresses: &mut BTreeMap<Ipv4Addr, String>,
) -> Option<InterfaceSpec> {
    let segment = segments.get(&i.attach).copied();
    if segment.is_none() {
        unknown_segment(c, &i.attach, Some(node), segments);
    }
    let cidr = c.cidr(&i.ip, Some(node));
    if let Some((ip, _)) = cidr {
        claim_address(c, ip, &i.ip, node, addresses);
    }
    let mac = i.mac.as_deref().and_then(|text| {
        let mac = parse_mac(text);
        if mac.is_none() {
            c.at_value(
                text,
                Some(node),
                format!("\"{text}\" is not a MAC address"),
                Some("write six hex bytes like \"02:00:00:00:00:01\"".into()),
            );
        }
        mac
    });
    let (segment, (ip, prefix_len)) = (segment?, cidr?);
    attach_counts[segment] += 1;
    Some(InterfaceSpec {
        segment,
        ip,
        prefix_len,
        mac,
    })
}

/// Records that `node` uses `ip`, reporting a duplicate.
fn claim_address(
    c: &mut Checker<'_>,
    ip: Ipv4Addr,
    text: &str,
    node: &str,
    addresses: &mut BTreeMap<Ipv4Addr, String>,
) {
    if let Some(owner) = addresses.get(&ip) {
        c.at_value(
            text,
            Some(node),
            format!("address {ip} of \"{node}\" is already used by \"{owner}\""),
            Some("every interface needs its own address".into()),
        );
    } else {
        addresses.insert(ip, node.to_string());
    }
}

/// A gateway must parse and be on the interface's subnet.
fn check_gateway(
    c: &mut Checker<'_>,
    text: Option<&str>,
    interface: Option<InterfaceSpec>,
    node: &str,
) -> Option<Ipv4Addr> {
    let text = text?;
    let gateway = c.ip(text, Some(node))?;
    if let Some(i) = interface
        && !same_subnet(i.ip, gateway, i.prefix_len)
    {
        c.at_value(
            text,
            Some(node),
            format!("gateway {gateway} is not on {}/{} of \"{node}\"", i.ip, i.prefix_len),
            Some("a gateway must be reachable without a router: use an address in the interface's subnet".into()),
        );
    }
    Some(gateway)
}

/// A target given as an address or a `hosts` name.
fn resolve_target(
    c: &mut Checker<'_>,
    text: &str,
    hosts: &BTreeMap<String, Ipv4Addr>,
    node: &str,
) -> Option<Ipv4Addr> {
    if let Ok(ip) = text.parse() {
        return Some(ip);
    }
    if let Some(&ip) = hosts.get(text) {
        return Some(ip);
    }
    let mut help =
        "use an IPv4 address, or add the name to the scenario's `hosts` table".to_string();
    if let Some(near) = nearest(text, hosts.keys().map(String::as_str)) {
        help.push_str(&format!("; did you mean \"{near}\"?"));
    }
    c.at_value(
        text,
        Some(node),
        format!("cannot resolve \"{text}\""),
        Some(help),
    );
    None
}

/// One fault: its times, its target's kind, its parameters.
fn check_fault(
    c: &mut Checker<'_>,
    f: &FaultFile,
    nodes: &[NodeFile],
    segments: &BTreeMap<String, usize>,
) -> Option<FaultSpec> {
    let at = c.duration(Some(&f.at), "0s", None);
    let until = f.until.as_deref().map(|u| c.duration(Some(u), "0s", None));
    if let Some(u) = until
        && u <= at
    {
        c.at_value(
            f.until.as_deref().unwrap_or_default(),
            None,
            format!("fault on \"{}\" is undone before it happens", f.target),
            Some("`until` must be later than `at`".into()),
        );
    }
    let node = nodes.iter().find(|n| node_name(n) == f.target);
    let node_names: Vec<&str> = nodes.iter().map(node_name).collect();
    let unknown_node = |c: &mut Checker<'_>, what: &str| {
        let mut help = format!("{what} names a node");
        if let Some(near) = nearest(&f.target, node_names.iter().copied()) {
            help.push_str(&format!("; did you mean \"{near}\"?"));
        }
        c.at_value(
            &f.target,
            None,
            format!("unknown node \"{}\"", f.target),
            Some(help),
        );
    };
    let kind = match &f.event {
        FaultEventFile::Crash => match node {
            None => {
                unknown_node(c, "a crash");
                return None;
            }
            Some(NodeFile::Clients(_)) => {
                c.at_value(
                    &f.target,
                    None,
                    format!(
                        "\"{}\" is a client group; only servers and network nodes can crash",
                        f.target
                    ),
                    Some("crash a web server, router or balancer".into()),
                );
                return None;
            }
            Some(_) => FaultKind::Crash,
        },
        FaultEventFile::InterfaceDown => {
            let Some(node) = node else {
                unknown_node(c, "an interface fault");
                return None;
            };
            let count = match node {
                NodeFile::Router(r) => r.interfaces.len(),
                NodeFile::L4Balancer(b) => b.interfaces.len(),
                _ => 1,
            };
            let iface = f.iface.unwrap_or(0) as usize;
            if iface >= count {
                c.at_field(
                    "iface",
                    Some(&f.target),
                    format!(
                        "\"{}\" has {count} interface(s); there is no interface {iface}",
                        f.target
                    ),
                    Some("interfaces are numbered from 0 in the order the node lists them".into()),
                );
            }
            FaultKind::InterfaceDown(iface)
        }
        FaultEventFile::LinkDown | FaultEventFile::Loss(_) | FaultEventFile::ExtraDelay(_) => {
            if !segments.contains_key(&f.target) {
                unknown_segment(c, &f.target, None, segments);
                return None;
            }
            match &f.event {
                FaultEventFile::LinkDown => FaultKind::LinkDown,
                FaultEventFile::Loss(rate) => {
                    if !(0.0..=1.0).contains(rate) {
                        c.at_field(
                            "Loss",
                            None,
                            format!("loss {rate} is not a probability"),
                            Some("write a number between 0 and 1".into()),
                        );
                    }
                    FaultKind::Loss(*rate)
                }
                FaultEventFile::ExtraDelay(d) => {
                    FaultKind::ExtraDelay(c.duration(Some(d), "0s", None))
                }
                _ => unreachable!("matched above"),
            }
        }
        FaultEventFile::Partition { a, b } => {
            let expand = |c: &mut Checker<'_>, names: &[String]| -> Vec<String> {
                let mut out = Vec::new();
                for name in names {
                    match nodes.iter().find(|n| node_name(n) == name) {
                        Some(NodeFile::Clients(g)) => {
                            out.extend(
                                (1..=g.count.unwrap_or(1)).map(|i| format!("{}-{i}", g.name)),
                            );
                        }
                        Some(_) => out.push(name.clone()),
                        None => {
                            let mut help = "a partition lists node names".to_string();
                            if let Some(near) = nearest(name, node_names.iter().copied()) {
                                help.push_str(&format!("; did you mean \"{near}\"?"));
                            }
                            c.at_value(name, None, format!("unknown node \"{name}\""), Some(help));
                        }
                    }
                }
                out
            };
            let (a, b) = (expand(c, a), expand(c, b));
            FaultKind::Partition(a, b)
        }
        FaultEventFile::StopVrrp => {
            match node {
                Some(NodeFile::Router(r)) if !r.vrrp.is_empty() => {}
                Some(NodeFile::L4Balancer(b)) if !b.vrrp.is_empty() => {}
                None => {
                    unknown_node(c, "a VRRP shutdown");
                    return None;
                }
                Some(_) => {
                    c.at_value(
                        &f.target,
                        None,
                        format!("\"{}\" runs no VRRP instance", f.target),
                        Some("StopVrrp applies to routers and balancers with a `vrrp` list".into()),
                    );
                    return None;
                }
            }
            FaultKind::StopVrrp
        }
        FaultEventFile::StopService
        | FaultEventFile::HangService
        | FaultEventFile::ServiceErrors(_)
        | FaultEventFile::SlowService(_) => {
            match node {
                Some(NodeFile::WebServer(_)) => {}
                None => {
                    unknown_node(c, "a service fault");
                    return None;
                }
                Some(_) => {
                    c.at_value(
                        &f.target,
                        None,
                        format!("\"{}\" runs no web service", f.target),
                        Some("service faults apply to WebServer nodes".into()),
                    );
                    return None;
                }
            }
            FaultKind::Service(match &f.event {
                FaultEventFile::StopService => ServiceMode::Stopped,
                FaultEventFile::HangService => ServiceMode::Hung,
                FaultEventFile::ServiceErrors(status) => ServiceMode::Errors(*status),
                FaultEventFile::SlowService(factor) => {
                    if !(factor.is_finite() && *factor > 0.0) {
                        c.at_field(
                            "SlowService",
                            None,
                            format!("slow-down factor {factor} must be positive"),
                            None,
                        );
                    }
                    ServiceMode::Slow(*factor)
                }
                _ => unreachable!("matched above"),
            })
        }
    };
    Some(FaultSpec {
        at,
        until,
        target: f.target.clone(),
        kind,
    })
}

/// Parses `http://host[:port][/path]`.
pub fn parse_url(text: &str) -> Result<Url, String> {
    let rest = text
        .strip_prefix("http://")
        .ok_or_else(|| format!("\"{text}\" does not start with http://"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.split_once(':') {
        Some((host, port)) => (
            host,
            port.parse::<u16>()
                .ok()
                .filter(|&p| p != 0)
                .ok_or_else(|| format!("\"{port}\" in \"{text}\" is not a port number"))?,
        ),
        None => (authority, 80),
    };
    if host.is_empty() {
        return Err(format!("\"{text}\" has no host name"));
    }
    Ok(Url {
        host: host.to_string(),
        port,
        path: path.to_string(),
    })
}

/// A client group: count, addresses, URL, workload.
fn check_clients(
    c: &mut Checker<'_>,
    group: &ClientsFile,
    segments: &BTreeMap<String, usize>,
    attach_counts: &mut [usize],
    addresses: &mut BTreeMap<Ipv4Addr, String>,
    hosts: &BTreeMap<String, Ipv4Addr>,
) -> Option<NodeSpec> {
    let name = group.name.as_str();
    let anchor = Some(name);
    let count = group.count.unwrap_or(1);
    if count == 0 {
        c.at_field(
            "count",
            anchor,
            "a client group needs at least one host".into(),
            None,
        );
    }
    let segment = segments.get(&group.attach).copied();
    if segment.is_none() {
        unknown_segment(c, &group.attach, anchor, segments);
    }
    let cidr = c.cidr(&group.first_ip, anchor);
    if let Some((first, prefix_len)) = cidr {
        let mask = crate::node::prefix_mask(prefix_len);
        let last = u32::from(first).saturating_add(count.saturating_sub(1));
        if last & mask != u32::from(first) & mask || (last | mask) == u32::MAX {
            c.at_value(
                &group.first_ip,
                anchor,
                format!("{count} hosts starting at {first} do not fit in {first}/{prefix_len}"),
                Some("start lower in the subnet, use a shorter prefix, or fewer hosts".into()),
            );
        }
        for k in 0..count {
            let ip = Ipv4Addr::from(u32::from(first).wrapping_add(k));
            claim_address(
                c,
                ip,
                &group.first_ip,
                &format!("{name}-{}", k + 1),
                addresses,
            );
        }
    }
    let gateway = group.gateway.as_deref().and_then(|g| {
        let iface = cidr.map(|(ip, prefix_len)| InterfaceSpec {
            segment: 0,
            ip,
            prefix_len,
            mac: None,
        });
        check_gateway(c, Some(g), iface, name)
    });
    let url = match parse_url(&group.url) {
        Ok(url) => {
            if url.host.parse::<Ipv4Addr>().is_err()
                && !hosts.contains_key(&url.host)
                && group.dns.is_none()
            {
                let mut help =
                    "use an IPv4 address, or add the name to the scenario's `hosts` table"
                        .to_string();
                if let Some(near) = nearest(&url.host, hosts.keys().map(String::as_str)) {
                    help.push_str(&format!("; did you mean \"{near}\"?"));
                }
                c.at_value(
                    &group.url,
                    anchor,
                    format!("cannot resolve host \"{}\" of the URL", url.host),
                    Some(help),
                );
            }
            Some(url)
        }
        Err(e) => {
            c.at_value(
                &group.url,
                anchor,
                e,
                Some(
                    "write it like \"http://www/index.html\" or \"http://10.0.1.10:8080/\"".into(),
                ),
            );
            None
        }
    };
    let timeout = c.duration(group.timeout.as_deref(), "5s", anchor);
    let connect_timeout = group
        .connect_timeout
        .as_deref()
        .map(|t| c.duration(Some(t), "0s", anchor));
    let dns = group.dns.as_ref().and_then(|d| {
        let server = c.ip(&d.server, anchor)?;
        let policy = match &d.cache {
            None | Some(ClientCacheFile::HonorTtl) => CachePolicy::HonorTtl,
            Some(ClientCacheFile::NoCache) => CachePolicy::NoCache,
            Some(ClientCacheFile::Forever) => CachePolicy::Forever,
            Some(ClientCacheFile::Hold(t)) => CachePolicy::Hold(c.duration(Some(t), "0s", anchor)),
        };
        Some(ClientDnsSpec {
            server,
            policy,
            try_next: d.try_next.unwrap_or(false),
        })
    });
    let workload = check_workload(c, &group.workload, count, anchor);
    let (segment, (first_ip, prefix_len), url) = (segment?, cidr?, url?);
    attach_counts[segment] += count as usize;
    Some(NodeSpec::Clients {
        name: name.to_string(),
        count,
        segment,
        first_ip,
        prefix_len,
        gateway,
        url,
        workload,
        timeout,
        connect_timeout,
        dns,
        paths: group.paths.clone(),
        keep_alive: group.keep_alive.unwrap_or(false),
    })
}

/// A workload must have a positive rate or user count, and must end.
fn check_workload(
    c: &mut Checker<'_>,
    w: &WorkloadFile,
    _count: u32,
    anchor: Option<&str>,
) -> WorkloadSpec {
    let (kind, requests, duration, start) = match w {
        WorkloadFile::OpenLoop {
            rate,
            requests,
            duration,
            start,
        } => {
            if !(rate.is_finite() && *rate > 0.0) {
                c.at_field(
                    "rate",
                    anchor,
                    format!("rate {rate} must be a positive number of requests per second"),
                    None,
                );
            }
            (
                WorkloadKind::OpenLoop { rate: *rate },
                *requests,
                duration,
                start,
            )
        }
        WorkloadFile::ClosedLoop {
            users,
            think_time,
            requests,
            duration,
            start,
        } => {
            if *users == 0 {
                c.at_field(
                    "users",
                    anchor,
                    "a closed-loop workload needs at least one user".into(),
                    None,
                );
            }
            let think_time = c.distribution(think_time.as_ref(), SimDuration::ZERO, anchor);
            (
                WorkloadKind::ClosedLoop {
                    users: *users,
                    think_time,
                },
                *requests,
                duration,
                start,
            )
        }
    };
    if requests.is_none() && duration.is_none() {
        c.at_field(
            "workload",
            anchor,
            "this workload never ends".into(),
            Some("give `requests: N`, `duration: \"10s\"`, or both".into()),
        );
    }
    WorkloadSpec {
        kind,
        requests,
        duration: duration
            .as_deref()
            .map(|d| c.duration(Some(d), "0s", anchor)),
        start: c.duration(start.as_deref(), "0s", anchor),
    }
}

/// Whether two addresses share a subnet of the given prefix length.
fn same_subnet(a: Ipv4Addr, b: Ipv4Addr, prefix_len: u8) -> bool {
    let mask = crate::node::prefix_mask(prefix_len);
    u32::from(a) & mask == u32::from(b) & mask
}

/// Parses `02:00:00:00:00:01`.
fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = text.split(':');
    for byte in &mut mac {
        *byte = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            parse_url("http://www/index.html").unwrap(),
            Url {
                host: "www".into(),
                port: 80,
                path: "/index.html".into()
            }
        );
        assert_eq!(parse_url("http://10.0.0.1:8080").unwrap().port, 8080);
        assert!(parse_url("ftp://x/").is_err());
        assert!(parse_url("http://x:0/").is_err());
    }

    #[test]
    fn macs() {
        assert_eq!(parse_mac("02:00:00:00:00:0a"), Some([2, 0, 0, 0, 0, 10]));
        assert_eq!(parse_mac("02:00"), None);
        assert_eq!(parse_mac("02:00:00:00:00:00:01"), None);
    }

    #[test]
    fn subnets() {
        assert!(same_subnet(
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::new(10, 0, 0, 200),
            24
        ));
        assert!(!same_subnet(
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::new(10, 0, 1, 1),
            24
        ));
    }
}
