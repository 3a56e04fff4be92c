//! *Building a world* from a checked scenario.
//!
//! Each wire becomes a `net::Segment`, each node a `node::Host` or `node::Router`, each client
//! group `count` hosts running an `app::HttpClient`. Interfaces without a MAC in the file get
//! a locally administered one derived from the node's position (`02:00:00:NN:NN:II`), so MACs
//! are stable and readable in captures.
//!
//! Every random stream is named after what it serves (`"segment:lan/to:web:0"`,
//! `"client:pc-3"`), so adding a node leaves the others' random numbers unchanged.

use std::rc::Rc;

use smoltcp::wire::EthernetAddress;

use std::net::Ipv4Addr;

use super::model::{
    ActionSpec, ActionSpecKind, FaultKind, FaultSpec, InterfaceSpec, NodeSpec, RouteSpec, Scenario,
    WorkloadKind,
};
use crate::app::dns::authority::DnsAuthority;
use crate::app::dns::cache::DnsCache;
use crate::app::dns::stub::DnsStub;
use crate::app::{CacheConfig, HealthBoard, HealthChecker, L7Proxy, Monitor, TransparentCache};
use crate::app::{
    HttpClient, HttpClientConfig, PingConfig, Pinger, SmtpGreeter, StaticHosts, WebServer,
    WebServerConfig, Workload,
};
use crate::capture::{Capture, CaptureOptions, OwnedNames, Plan};
use crate::ipvs::scheduler;
use crate::ipvs::service::VirtualService;
use crate::net::Segment;
use crate::node::{
    Host, HostConfig, L4Balancer, MemberHealth, Route, Router, RouterInterface, ServiceHealth,
    prefix_mask,
};
use crate::sim::{SimDuration, SimTime, Streams};
use crate::world::{Action, ActionKind, Fault, FaultAction, Limits, Reaction, World};

/// A world ready to run, and the names reports need.
pub struct Built {
    /// The world.
    pub world: World,
    /// Node names by node index (client hosts as `<group>-<n>`).
    pub node_names: Vec<String>,
    /// Web server names, in file order (`RequestRecord::server` indexes this).
    pub server_names: Vec<String>,
    /// Web server addresses, same order.
    pub server_addrs: Vec<Ipv4Addr>,
}

/// Builds the world for `scenario` with root seed `seed`; `capture_all` turns the capture on
/// for every segment (the `--pcap` flag), kept in memory.
pub fn build(scenario: &Scenario, seed: u64, capture_all: bool) -> Built {
    build_capturing(scenario, seed, CaptureOptions::memory(capture_all))
}

/// [`build`], with the capture `capture` asks for (on top of the scenario's own).
pub fn build_capturing(scenario: &Scenario, seed: u64, capture: CaptureOptions) -> Built {
    let streams = Streams::new(seed);
    let mut world = World::new(Limits {
        max_sim_time: scenario.max_sim_time,
        max_events: scenario.max_events,
    });
    for spec in &scenario.segments {
        world.add_segment(Segment::new(spec.name.clone(), spec.kind, spec.config));
    }
    let server_names = Rc::new(scenario.web_server_names());
    let mut node_names = Vec::new();
    // Plugs a node's interface in, with its own loss stream.
    let attach =
        |world: &mut World, node: usize, iface: usize, spec: &InterfaceSpec, node_name: &str| {
            let segment = &scenario.segments[spec.segment].name;
            let loss = streams.stream(&format!("segment:{segment}/to:{node_name}:{iface}"));
            world.attach(node, iface, spec.segment, loss);
        };

    for spec in &scenario.nodes {
        // Single-interface hosts come out of the match to be placed the same way below.
        let placed: Option<(Host, &InterfaceSpec, &String)> = match spec {
            NodeSpec::Router {
                name,
                interfaces,
                routes,
                arp_timeout,
                vrrp,
                ignore_garp,
                cold_spare,
            } => {
                let index = world.next_node_index();
                let mut router = new_router(index, name, interfaces, routes, *arp_timeout, &[]);
                router.add_vrrp(vrrp.clone());
                router.set_ignore_garp(*ignore_garp);
                world.add_node(Box::new(router), interfaces.len());
                for (i, s) in interfaces.iter().enumerate() {
                    attach(&mut world, index, i, s, name);
                }
                if *cold_spare {
                    // In the cupboard: configured, but no cable in until a `PlugIn` action.
                    world.unplug(index);
                }
                node_names.push(name.clone());
                None
            }
            NodeSpec::L4Balancer {
                name,
                interfaces,
                routes,
                arp_timeout,
                services,
                ipvsadm_at,
                connection_sync,
                marks,
                vrrp,
                ignore_garp,
                packet_cost,
            } => {
                let index = world.next_node_index();
                // VIPs that VRRP moves are held only while master; the others always.
                let vips: Vec<Ipv4Addr> = services
                    .iter()
                    .filter(|s| s.fwmark.is_none())
                    .map(|s| s.vip)
                    .filter(|vip| !vrrp.iter().any(|v| v.vips.contains(vip)))
                    .collect();
                let mut router = new_router(index, name, interfaces, routes, *arp_timeout, &vips);
                router.add_vrrp(vrrp.clone());
                router.set_ignore_garp(*ignore_garp);
                let service_specs = services;
                let services_built = service_specs
                    .iter()
                    .map(|s| {
                        let service = VirtualService::new(
                            s.vip,
                            s.port,
                            scheduler::by_name(&s.scheduler)
                                .expect("validation checked the scheduler name"),
                            &s.real_servers,
                            s.persistence,
                        );
                        match s.fwmark {
                            Some(mark) => service.with_fwmark(mark),
                            None => service,
                        }
                    })
                    .collect();
                let snapshots = ipvsadm_at.iter().map(|&d| SimTime::ZERO + d).collect();
                let mut balancer = L4Balancer::new(router, index, services_built, snapshots);
                if *connection_sync {
                    balancer.enable_sync();
                }
                balancer.set_marks(marks.clone());
                if let Some((cost, backlog)) = packet_cost {
                    balancer.set_packet_cost(*cost, *backlog as usize);
                }
                if service_specs.iter().any(|s| s.has_health_checks()) {
                    let health = service_specs
                        .iter()
                        .map(|s| ServiceHealth {
                            quorum: s.quorum,
                            hysteresis: s.hysteresis,
                            sorry_server: s.sorry_server,
                            members: s
                                .real_servers
                                .iter()
                                .zip(&s.checks)
                                .zip(&s.inhibit_on_failure)
                                .map(|((config, checkers), inhibit)| MemberHealth {
                                    config: *config,
                                    inhibit_on_failure: *inhibit,
                                    checkers: checkers.clone(),
                                })
                                .collect(),
                        })
                        .collect();
                    let stack = |iface: usize| {
                        let spec = &interfaces[iface];
                        let stack_name = format!("{name}/keepalived");
                        Host::new(HostConfig {
                            name: stack_name.clone(),
                            node_index: index,
                            mac: mac_for(index, iface, spec),
                            ip: spec.ip,
                            prefix_len: spec.prefix_len,
                            gateway: None,
                            stack_seed: streams.derive_seed(&format!("stack:{stack_name}:{iface}")),
                        })
                    };
                    let iface_of = |target: Ipv4Addr| {
                        interfaces
                            .iter()
                            .position(|i| in_subnet(target, i.ip, i.prefix_len))
                    };
                    let mut rng = streams.stream(&format!("keepalived:{name}"));
                    balancer.enable_health_checks(health, stack, iface_of, &mut rng);
                }
                world.add_node(Box::new(balancer), interfaces.len());
                for (i, s) in interfaces.iter().enumerate() {
                    attach(&mut world, index, i, s, name);
                }
                node_names.push(name.clone());
                None
            }
            NodeSpec::Host {
                name,
                interface,
                gateway,
                ping,
            } => {
                let index = world.next_node_index();
                let mut host = new_host(&streams, name, index, interface, *gateway);
                if let Some(p) = ping {
                    host.add_app(Box::new(Pinger::new(PingConfig {
                        target: p.target,
                        count: p.count,
                        interval: p.interval,
                        start: SimTime::ZERO + p.start,
                        timeout: p.timeout,
                        ident: 0x4e00 | (index as u16 & 0xff),
                    })));
                }
                Some((host, interface, name))
            }
            NodeSpec::WebServer {
                name,
                interface,
                gateway,
                port,
                workers,
                backlog,
                abort_on_overflow,
                service_time,
                response_bytes,
                paths,
                loopback,
                arp_ignore,
                tunnel,
                smtp_port,
                keep_alive,
                cache,
            } => {
                let index = world.next_node_index();
                let mut host = new_host(&streams, name, index, interface, *gateway);
                for &ip in loopback {
                    host.add_loopback_address(ip, *arp_ignore);
                }
                if let Some(tunnel) = tunnel {
                    host.add_tunnel(tunnel.clone(), *arp_ignore);
                }
                if let Some((capacity, origin_port)) = cache {
                    host.add_app(Box::new(TransparentCache::new(
                        CacheConfig {
                            name: name.clone(),
                            port: *port,
                            slots: workers + backlog,
                            service_time: *service_time,
                            capacity: *capacity,
                            origin_port: *origin_port,
                        },
                        streams.stream(&format!("web:{name}")),
                    )));
                } else {
                    host.add_app(Box::new(WebServer::new(
                        WebServerConfig {
                            name: name.clone(),
                            port: *port,
                            workers: *workers,
                            backlog: *backlog,
                            abort_on_overflow: *abort_on_overflow,
                            service_time: *service_time,
                            response_bytes: *response_bytes,
                            paths: paths.clone(),
                            keep_alive: *keep_alive,
                        },
                        streams.stream(&format!("web:{name}")),
                    )));
                }
                if let Some(port) = smtp_port {
                    host.add_app(Box::new(SmtpGreeter::new(name.clone(), *port)));
                }
                Some((host, interface, name))
            }
            NodeSpec::DnsServer {
                name,
                interface,
                gateway,
                zone,
            } => {
                let index = world.next_node_index();
                let mut host = new_host(&streams, name, index, interface, *gateway);
                host.add_app(Box::new(DnsAuthority::new(
                    zone.clone(),
                    streams.stream(&format!("dns:{name}")),
                )));
                Some((host, interface, name))
            }
            NodeSpec::L7Balancer {
                name,
                interface,
                gateway,
                config,
                checks,
            } => {
                let index = world.next_node_index();
                let mut host = new_host(&streams, name, index, interface, *gateway);
                let mut proxy = L7Proxy::new(config.clone(), index, name.clone());
                if checks.is_empty() {
                    host.add_app(Box::new(proxy));
                } else {
                    // The proxy reads the verdicts of checkers running on its own stack.
                    let board = HealthBoard::default();
                    let owners = checks.iter().map(|(p, s, _)| (*p, *s)).collect();
                    let alpha: Vec<bool> = checks.iter().map(|(_, _, c)| c.alpha).collect();
                    proxy = proxy.with_health(board.clone(), owners, &alpha);
                    let configs = checks.iter().map(|(_, _, c)| c.clone()).collect();
                    let mut rng = streams.stream(&format!("checks:{name}"));
                    host.add_app(Box::new(proxy));
                    host.add_app(Box::new(HealthChecker::new(configs, board, &mut rng)));
                }
                Some((host, interface, name))
            }
            NodeSpec::DnsResolver {
                name,
                interface,
                gateway,
                config,
            } => {
                let index = world.next_node_index();
                let mut host = new_host(&streams, name, index, interface, *gateway);
                host.add_app(Box::new(DnsCache::new(config.clone())));
                Some((host, interface, name))
            }
            NodeSpec::Monitor {
                name,
                interface,
                gateway,
                probes,
            } => {
                let index = world.next_node_index();
                let mut host = new_host(&streams, name, index, interface, *gateway);
                let probes = probes.iter().map(|p| p.probe.clone()).collect();
                let mut rng = streams.stream(&format!("monitor:{name}"));
                host.add_app(Box::new(Monitor::new(name, probes, &mut rng)));
                Some((host, interface, name))
            }
            NodeSpec::Clients {
                name,
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
                paths,
                keep_alive,
                cookie_bytes,
                origins,
            } => {
                let start = SimTime::ZERO + workload.start;
                let stop = workload.duration.map(|d| start + d);
                for k in 0..*count {
                    let host_name = format!("{name}-{}", k + 1);
                    let index = world.next_node_index();
                    let interface = InterfaceSpec {
                        segment: *segment,
                        ip: Ipv4Addr::from(u32::from(*first_ip) + k),
                        prefix_len: *prefix_len,
                        mac: None,
                    };
                    let mut host = new_host(&streams, &host_name, index, &interface, *gateway);
                    // The group's totals are split evenly; the first hosts take the remainder.
                    let max_requests = workload.requests.map(|total| {
                        total / *count as u64 + u64::from((k as u64) < total % *count as u64)
                    });
                    let host_workload = match &workload.kind {
                        WorkloadKind::OpenLoop { rate } => Workload::OpenLoop {
                            mean_gap: SimDuration::from_secs_f64(*count as f64 / rate),
                        },
                        WorkloadKind::ClosedLoop { users, think_time } => Workload::ClosedLoop {
                            users: *users,
                            think_time: *think_time,
                        },
                    };
                    let config = HttpClientConfig {
                        host: url.host.clone(),
                        port: url.port,
                        path: url.path.clone(),
                        timeout: *timeout,
                        workload: host_workload,
                        max_requests,
                        start,
                        stop,
                        server_names: Rc::clone(&server_names),
                        connect_timeout: *connect_timeout,
                        paths: paths.clone(),
                        try_next: dns.as_ref().is_some_and(|d| d.try_next),
                        keep_alive: *keep_alive,
                        cookie_bytes: *cookie_bytes as usize,
                        origins: origins.clone(),
                    };
                    let resolver = Box::new(StaticHosts::new(scenario.hosts.clone()));
                    let rng = streams.stream(&format!("client:{host_name}"));
                    let mut client = HttpClient::new(config, resolver, rng);
                    if let Some(dns) = dns {
                        // DNS transaction ids are random, from their own stream.
                        let first_id =
                            streams.stream(&format!("dns-stub:{host_name}")).next_u64() as u16;
                        client = client.with_dns(DnsStub::new(dns.server, dns.policy, first_id));
                    }
                    // The trace releases no request before this client's first may start.
                    let floor = client.floor();
                    host.add_app(Box::new(client));
                    let node = world.add_node(Box::new(host), 1);
                    world.expect_requests(node, floor);
                    attach(&mut world, index, 0, &interface, &host_name);
                    node_names.push(host_name);
                }
                None
            }
        };
        if let Some((host, interface, name)) = placed {
            let index = world.next_node_index();
            world.add_node(Box::new(host), 1);
            attach(&mut world, index, 0, interface, name);
            node_names.push(name.clone());
        }
    }

    // Each node's addresses, in node order (for partitions).
    let mut index = 0;
    for spec in &scenario.nodes {
        match spec {
            NodeSpec::Router { interfaces, .. } | NodeSpec::L4Balancer { interfaces, .. } => {
                world.set_addresses(index, interfaces.iter().map(|i| i.ip).collect());
                index += 1;
            }
            NodeSpec::Host { interface, .. }
            | NodeSpec::WebServer { interface, .. }
            | NodeSpec::DnsServer { interface, .. }
            | NodeSpec::L7Balancer { interface, .. }
            | NodeSpec::Monitor { interface, .. }
            | NodeSpec::DnsResolver { interface, .. } => {
                world.set_addresses(index, vec![interface.ip]);
                index += 1;
            }
            NodeSpec::Clients {
                count, first_ip, ..
            } => {
                for k in 0..*count {
                    world.set_addresses(index, vec![Ipv4Addr::from(u32::from(*first_ip) + k)]);
                    index += 1;
                }
            }
        }
    }
    for fault in &scenario.faults {
        world.add_fault(resolve_fault(scenario, fault, &node_names));
    }
    for action in &scenario.actions {
        let at = SimTime::ZERO + action.at;
        world.add_action(resolve_action(action, Some(at), &node_names));
    }
    add_reactions(&mut world, scenario, &node_names);

    let mut built = Built {
        world,
        node_names,
        server_names: server_names.to_vec(),
        server_addrs: scenario.web_server_addrs(),
    };
    if let Some(plan) = Plan::new(scenario, &capture) {
        let names = OwnedNames {
            nodes: built.node_names.clone(),
            servers: built.server_names.clone(),
            server_addrs: built.server_addrs.clone(),
            segments: built.world.segment_names(),
        };
        let recorder = Capture::new(&plan, capture.sink, scenario.segments.len(), names);
        built.world.enable_capture(&plan, recorder);
    }
    built
}

/// A checked fault with its names turned into node and segment indices.
fn resolve_fault(scenario: &Scenario, fault: &FaultSpec, node_names: &[String]) -> Fault {
    let node_index = |name: &str| {
        node_names
            .iter()
            .position(|n| n == name)
            .expect("validation checked that fault targets name nodes")
    };
    let segment_index = || {
        scenario
            .segments
            .iter()
            .position(|s| s.name == fault.target)
            .expect("validation checked that fault targets name segments")
    };
    let action = match &fault.kind {
        FaultKind::Crash => FaultAction::Crash {
            node: node_index(&fault.target),
        },
        FaultKind::InterfaceDown(iface) => FaultAction::InterfaceDown {
            node: node_index(&fault.target),
            iface: *iface,
        },
        FaultKind::LinkDown => FaultAction::LinkDown {
            segment: segment_index(),
        },
        FaultKind::Loss(rate) => FaultAction::Loss {
            segment: segment_index(),
            rate: *rate,
        },
        FaultKind::ExtraDelay(extra) => FaultAction::ExtraDelay {
            segment: segment_index(),
            extra: *extra,
        },
        FaultKind::Partition(a, b) => FaultAction::Partition {
            a: a.iter().map(|n| node_index(n)).collect(),
            b: b.iter().map(|n| node_index(n)).collect(),
        },
        FaultKind::StopVrrp => FaultAction::StopVrrp {
            node: node_index(&fault.target),
        },
        FaultKind::Service(mode) => FaultAction::Service {
            node: node_index(&fault.target),
            mode: *mode,
        },
    };
    Fault {
        at: SimTime::ZERO + fault.at,
        until: fault.until.map(|u| SimTime::ZERO + u),
        target: fault.target.clone(),
        action,
    }
}

/// A checked action with its node turned into an index; `at` puts it on the timeline.
fn resolve_action(action: &ActionSpec, at: Option<SimTime>, node_names: &[String]) -> Action {
    let node = node_names
        .iter()
        .position(|n| *n == action.node)
        .expect("validation checked that actions name nodes");
    Action {
        at,
        target: action.event_target.clone(),
        kind: match &action.kind {
            ActionSpecKind::PlugIn => ActionKind::PlugIn { node },
            ActionSpecKind::Command(command) => ActionKind::Command {
                node,
                command: command.clone(),
            },
        },
    }
}

/// Every monitor's `on_alarm` actions, waiting in the world for their probe's alarm.
fn add_reactions(world: &mut World, scenario: &Scenario, node_names: &[String]) {
    for spec in &scenario.nodes {
        let NodeSpec::Monitor { name, probes, .. } = spec else {
            continue;
        };
        let monitor = node_names
            .iter()
            .position(|n| n == name)
            .expect("every monitor was built");
        for (check, probe) in probes.iter().enumerate() {
            for reaction in &probe.on_alarm {
                let action = world.add_action(resolve_action(reaction, None, node_names));
                world.add_reaction(Reaction {
                    monitor,
                    check,
                    delay: reaction.at,
                    action,
                });
            }
        }
    }
}

/// A router (or a director's router half); `vips` are answered for on the interface whose
/// subnet holds them.
fn new_router(
    index: usize,
    name: &str,
    interfaces: &[InterfaceSpec],
    routes: &[RouteSpec],
    arp_timeout: SimDuration,
    vips: &[Ipv4Addr],
) -> Router {
    let router_ifaces: Vec<RouterInterface> = interfaces
        .iter()
        .enumerate()
        .map(|(i, s)| RouterInterface {
            mac: mac_for(index, i, s),
            ip: s.ip,
            prefix_len: s.prefix_len,
            extra_ips: vips
                .iter()
                .copied()
                .filter(|&vip| in_subnet(vip, s.ip, s.prefix_len))
                .collect(),
        })
        .collect();
    let static_routes = routes
        .iter()
        .map(|r| Route {
            network: r.network,
            prefix_len: r.prefix_len,
            via: Some(r.via),
            iface: interfaces
                .iter()
                .position(|i| in_subnet(r.via, i.ip, i.prefix_len))
                .expect("validation checked that every next hop is on a connected subnet"),
        })
        .collect();
    Router::new(name.to_string(), router_ifaces, static_routes, arp_timeout)
}

/// Whether `ip` is in the subnet `net/prefix_len`.
fn in_subnet(ip: Ipv4Addr, net: Ipv4Addr, prefix_len: u8) -> bool {
    let mask = prefix_mask(prefix_len);
    u32::from(ip) & mask == u32::from(net) & mask
}

/// A smoltcp host with its interface configured.
fn new_host(
    streams: &Streams,
    name: &str,
    index: usize,
    interface: &InterfaceSpec,
    gateway: Option<Ipv4Addr>,
) -> Host {
    Host::new(HostConfig {
        name: name.to_string(),
        node_index: index,
        mac: mac_for(index, 0, interface),
        ip: interface.ip,
        prefix_len: interface.prefix_len,
        gateway,
        stack_seed: streams.derive_seed(&format!("stack:{name}")),
    })
}

/// The file's MAC, or `02:00:00:NN:NN:II` from the node index and interface index.
fn mac_for(node: usize, iface: usize, spec: &InterfaceSpec) -> EthernetAddress {
    EthernetAddress(spec.mac.unwrap_or([
        0x02,
        0x00,
        0x00,
        (node >> 8) as u8,
        node as u8,
        iface as u8,
    ]))
}
