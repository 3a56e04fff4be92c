//! *Lints*: classic misconfigurations that are valid scenarios, but almost surely mistakes.
//!
//! `validate` refuses what cannot run. Some scenarios run fine and still cannot work: a
//! direct-routing real server without the VIP on its loopback drops every request while every
//! health check passes, and nothing in the output says why. Those are the mistakes students
//! make in real labs too, so netlab warns about them before the run, and each warning names
//! the lab page that explains it. A warning never stops `check` or `run` (exit code 0):
//! a scenario may show a pitfall on purpose.
//!
//! The lints:
//! - a direct-routing real server without the VIP on its loopback;
//! - a tunnelling real server without a tunnel holding the VIP, or whose `rp_filter` is
//!   strict;
//! - a NAT real server whose replies do not go back through the director;
//! - a health check that can never pass (a port nobody listens on, a path the server does
//!   not serve, an address no machine has);
//! - a fault that changes nothing, because its target is already crashed or down;
//! - a cold spare that nothing ever plugs in;
//! - a VRRP sync group with a single instance (it syncs nothing);
//! - an L7 pool with no servers (every request routed there gets 503);
//! - a run so large it will take long (the estimate counts requests, not seconds).

use std::net::Ipv4Addr;

use super::diagnostic::{Diagnostic, Locator};
use super::model::{
    ActionSpecKind, FaultKind, FaultSpec, InterfaceSpec, NodeSpec, Scenario, ServiceSpec,
    WorkloadKind,
};
use crate::app::{CheckKind, CheckerConfig};
use crate::ipvs::service::Forward;
use crate::node::tunnel::{RpFilter, TunnelConfig};
use crate::node::vrrp::SyncGroup;

/// Requests above which a run is worth a warning: in a debug build, about a minute.
const MANY_REQUESTS: f64 = 1_000_000.0;

/// One warning, before it is given a position.
struct Lint {
    /// The quoted text to point at.
    value: String,
    /// The quoted name the value follows (usually its node).
    anchor: Option<String>,
    /// For a fault: the value is the `nth` quoted `value` after the `faults` field.
    nth_fault: Option<usize>,
    /// What looks wrong.
    message: String,
    /// How to fix it.
    help: String,
    /// The book page (and section) that explains it, from `book/src/`.
    page: &'static str,
}

/// The warnings for a checked scenario, each positioned in `source` through `loc`.
pub fn lint(scenario: &Scenario, loc: &Locator<'_>) -> Vec<Diagnostic> {
    let mut lints = Vec::new();
    for node in &scenario.nodes {
        if let NodeSpec::L4Balancer {
            name,
            interfaces,
            services,
            vrrp,
            ..
        } = node
        {
            let mut director: Vec<Ipv4Addr> = interfaces.iter().map(|i| i.ip).collect();
            director.extend(vrrp.iter().flat_map(|v| v.vips.iter().copied()));
            for service in services {
                real_servers(scenario, name, service, &director, &mut lints);
                for (rs, checks) in service.real_servers.iter().zip(&service.checks) {
                    for check in checks {
                        health_check(scenario, name, rs.addr, check, &mut lints);
                    }
                }
            }
        }
        if let NodeSpec::L7Balancer {
            name,
            config,
            checks,
            ..
        } = node
        {
            for (pool, server, check) in checks {
                let addr = config.pools[*pool].servers[*server].addr;
                health_check(scenario, name, addr, check, &mut lints);
            }
            for pool in config.pools.iter().filter(|p| p.servers.is_empty()) {
                lints.push(Lint {
                    value: pool.name.clone(),
                    anchor: Some(name.clone()),
                    nth_fault: None,
                    message: format!(
                        "pool \"{}\" has no servers: the proxy answers every request it routes there with 503",
                        pool.name
                    ),
                    help: "list a server, such as servers: [(ip: \"10.0.2.11\")], or remove the pool and its rules".to_string(),
                    page: "labs/l7-balancing.md#5-a-pool-with-no-servers",
                });
            }
        }
    }
    faults(&scenario.faults, &mut lints);
    idle_spares(scenario, &mut lints);
    lonely_sync_groups(scenario, &mut lints);
    run_size(scenario, &mut lints);
    lints
        .into_iter()
        .map(|lint| {
            let mut d = match lint.nth_fault {
                Some(nth) => in_faults(loc, &lint.value, nth, lint.message),
                None => loc.quoted(&lint.value, lint.anchor.as_deref(), lint.message),
            };
            d.help = Some(lint.help);
            d.note = Some(format!("the book explains it: book/src/{}", lint.page));
            d.severity = super::diagnostic::Severity::Warning;
            d
        })
        .collect()
}

/// A diagnostic on the `nth` (from 0) quoted `value` after the scenario's `faults:` field.
fn in_faults(loc: &Locator<'_>, value: &str, nth: usize, message: String) -> Diagnostic {
    let source = loc.source();
    let needle = format!("\"{value}\"");
    let start = source.find("faults:").unwrap_or(0);
    let found = source[start..]
        .match_indices(&needle)
        .nth(nth)
        .map(|(i, _)| start + i);
    match found {
        Some(offset) => loc.at_offset(offset, needle.chars().count(), message),
        None => loc.quoted(value, None, message),
    }
}

/// The web server with address `addr`, if there is one.
fn web_server(scenario: &Scenario, addr: Ipv4Addr) -> Option<&NodeSpec> {
    scenario
        .nodes
        .iter()
        .find(|n| matches!(n, NodeSpec::WebServer { interface, .. } if interface.ip == addr))
}

/// Whether any machine of the scenario has `addr` on an interface.
fn someone_has(scenario: &Scenario, addr: Ipv4Addr) -> bool {
    scenario.nodes.iter().any(|n| match n {
        NodeSpec::Router { interfaces, .. } | NodeSpec::L4Balancer { interfaces, .. } => {
            interfaces.iter().any(|i| i.ip == addr)
        }
        NodeSpec::Host { interface, .. }
        | NodeSpec::WebServer { interface, .. }
        | NodeSpec::DnsServer { interface, .. }
        | NodeSpec::L7Balancer { interface, .. }
        | NodeSpec::Monitor { interface, .. }
        | NodeSpec::DnsResolver { interface, .. } => interface.ip == addr,
        NodeSpec::Clients {
            first_ip, count, ..
        } => (u32::from(*first_ip)..u32::from(*first_ip) + count).contains(&u32::from(addr)),
    })
}

/// Whether a URL's host may lead to `vip`: an address is compared, a name in the `hosts` table
/// is looked up, and a name left to DNS may lead anywhere.
fn may_reach(scenario: &Scenario, host: &str, vip: Ipv4Addr) -> bool {
    match host.parse::<Ipv4Addr>() {
        Ok(addr) => addr == vip,
        Err(_) => scenario.hosts.get(host).is_none_or(|&addr| addr == vip),
    }
}

/// The forwarding method's demands on each real server (the same-subnet pitfall, the VIP on
/// the loopback).
fn real_servers(
    scenario: &Scenario,
    director: &str,
    service: &ServiceSpec,
    director_addrs: &[Ipv4Addr],
    lints: &mut Vec<Lint>,
) {
    for rs in &service.real_servers {
        let Some(NodeSpec::WebServer {
            name,
            interface,
            gateway,
            loopback,
            tunnel,
            ..
        }) = web_server(scenario, rs.addr)
        else {
            continue;
        };
        let served = Served {
            director,
            name,
            addr: rs.addr,
            vip: service.vip,
        };
        let lint = match rs.forward {
            Forward::Route => vip_not_on_loopback(&served, loopback),
            Forward::Tunnel => tunnel_lint(director, name, rs.addr, service.vip, tunnel),
            Forward::Masq => nat_lint(scenario, &served, director_addrs, interface, *gateway),
        };
        lints.extend(lint);
    }
}

/// A real server of a director's virtual service, as the forwarding lints name it.
struct Served<'a> {
    /// The director.
    director: &'a str,
    /// The real server's node name.
    name: &'a str,
    /// Its address.
    addr: Ipv4Addr,
    /// The service's VIP.
    vip: Ipv4Addr,
}

/// Direct routing: the real server must hold the VIP on its loopback, or it drops every
/// request while its health checks (to its own address) pass.
fn vip_not_on_loopback(s: &Served<'_>, loopback: &[Ipv4Addr]) -> Option<Lint> {
    if loopback.contains(&s.vip) {
        return None;
    }
    let (name, addr, vip) = (s.name, s.addr, s.vip);
    Some(Lint {
        value: addr.to_string(),
        anchor: Some(s.director.to_string()),
        nth_fault: None,
        message: format!(
            "real server \"{name}\" ({addr}) gets requests for {vip} by direct routing, but does not have that VIP on its loopback: it will drop every one, while its health checks pass"
        ),
        help: format!("add `loopback: [\"{vip}\"]` to \"{name}\""),
        page: "labs/l4-balancing.md#the-real-servers-hold-the-vip-quietly",
    })
}

/// NAT: the replies must come back through the director. They do not when clients that ask
/// the VIP sit on the real server's own subnet (it answers them directly), or when its
/// gateway is not the director.
fn nat_lint(
    scenario: &Scenario,
    s: &Served<'_>,
    director_addrs: &[Ipv4Addr],
    interface: &InterfaceSpec,
    gateway: Option<Ipv4Addr>,
) -> Option<Lint> {
    let (director, name, addr) = (s.director, s.name, s.addr);
    if let Some(group) = client_next_door(scenario, interface, s.vip) {
        return Some(Lint {
            value: addr.to_string(),
            anchor: Some(director.to_string()),
            nth_fault: None,
            message: format!(
                "real server \"{name}\" ({addr}) is behind NAT on the same subnet as client group \"{group}\": it answers those clients directly, from an address they never asked"
            ),
            help: "put the clients on another subnet, or use forward: Dr".into(),
            page: "labs/l4-balancing.md#why-nat-fails-here",
        });
    }
    if gateway.is_some_and(|g| returns_through(scenario, g, director_addrs)) {
        return None;
    }
    Some(Lint {
        value: addr.to_string(),
        anchor: Some(director.to_string()),
        nth_fault: None,
        message: format!(
            "real server \"{name}\" ({addr}) is behind NAT, but its gateway is not the director \"{director}\": its replies will not be rewritten on the way back"
        ),
        help: format!("make \"{name}\"'s gateway an address of \"{director}\", or use forward: Dr"),
        page: "labs/l4-balancing.md#why-nat-fails-here",
    })
}

/// The first client group on the subnet of `interface` whose URL may lead to `vip`.
fn client_next_door<'a>(
    scenario: &'a Scenario,
    interface: &InterfaceSpec,
    vip: Ipv4Addr,
) -> Option<&'a String> {
    let mask = crate::node::prefix_mask(interface.prefix_len);
    scenario.nodes.iter().find_map(|n| match n {
        NodeSpec::Clients {
            name,
            first_ip,
            url,
            ..
        } if u32::from(*first_ip) & mask == u32::from(interface.ip) & mask
            && may_reach(scenario, &url.host, vip) =>
        {
            Some(name)
        }
        _ => None,
    })
}

/// Whether a real server's gateway `gateway` brings its replies back to the director: it is
/// one of the director's addresses (or VIPs), or a router whose default route goes to one.
fn returns_through(scenario: &Scenario, gateway: Ipv4Addr, director_addrs: &[Ipv4Addr]) -> bool {
    director_addrs.contains(&gateway)
        || scenario.nodes.iter().any(|n| match n {
            NodeSpec::Router {
                interfaces, routes, ..
            } => {
                interfaces.iter().any(|i| i.ip == gateway)
                    && routes
                        .iter()
                        .any(|r| r.prefix_len == 0 && director_addrs.contains(&r.via))
            }
            _ => false,
        })
}

/// What a tunnelling real server lacks: a tunnel holding the VIP (without one, IP-in-IP gets
/// ICMP protocol unreachable; without the VIP, the unwrapped packet is not for the host), or
/// an `rp_filter` that lets the unwrapped packets in.
fn tunnel_lint(
    director: &str,
    name: &str,
    addr: Ipv4Addr,
    vip: Ipv4Addr,
    tunnel: &Option<TunnelConfig>,
) -> Option<Lint> {
    let (message, help) = match tunnel {
        None => (
            format!(
                "real server \"{name}\" ({addr}) gets requests for {vip} by IP-in-IP tunnelling, but has no tunnel: it answers every one with ICMP protocol unreachable, while its health checks pass"
            ),
            format!("add `tunnel: (addresses: [\"{vip}\"], rp_filter: Off)` to \"{name}\""),
        ),
        Some(t) if !t.addresses.contains(&vip) => (
            format!(
                "real server \"{name}\" ({addr}) gets requests for {vip} by IP-in-IP tunnelling, but its tunnel does not hold that VIP: it drops every one"
            ),
            format!("add \"{vip}\" to the `addresses` of \"{name}\"'s tunnel"),
        ),
        Some(t) if t.rp_filter == RpFilter::Strict => (
            format!(
                "real server \"{name}\" ({addr}) filters its tunnel with strict rp_filter: the route back to a client leaves by eth0, not tunl0, so it silently drops every request"
            ),
            "set `rp_filter: Off` (sysctl net.ipv4.conf.all.rp_filter=0 and net.ipv4.conf.tunl0.rp_filter=0)".to_string(),
        ),
        Some(_) => return None,
    };
    Some(Lint {
        value: addr.to_string(),
        anchor: Some(director.to_string()),
        nth_fault: None,
        message,
        help,
        page: "labs/l4-balancing.md#nat-dr-and-tun",
    })
}

/// A checker that can never succeed against the server at `addr`.
fn health_check(
    scenario: &Scenario,
    balancer: &str,
    addr: Ipv4Addr,
    check: &CheckerConfig,
    lints: &mut Vec<Lint>,
) {
    let Some((problem, help)) = never_passes(scenario, addr, &check.kind) else {
        return;
    };
    lints.push(Lint {
        value: addr.to_string(),
        anchor: Some(balancer.to_string()),
        nth_fault: None,
        message: format!(
            "{} of {addr} can never pass: {problem}",
            check.kind.keyword()
        ),
        help,
        page: "labs/health-checks.md#three-layers-three-kinds-of-failure",
    })
}

/// Why a checker of `kind` can never pass against `addr`, and how to fix it: no machine has
/// the address, or the web server there does not answer it (`web_server_refuses`). A
/// scripted check (`MISC_CHECK`) decides for itself, and other nodes are not judged.
fn never_passes(scenario: &Scenario, addr: Ipv4Addr, kind: &CheckKind) -> Option<(String, String)> {
    if matches!(kind, CheckKind::Misc { .. }) {
        return None;
    }
    if !someone_has(scenario, addr) {
        return Some((
            "no machine in the scenario has that address".into(),
            "check the real server's address".into(),
        ));
    }
    web_server_refuses(web_server(scenario, addr)?, kind)
}

/// What web server `server` answers that a checker of `kind` cannot accept: a port it does
/// not listen on, a path it answers with a status outside the check's, or an SMTP check on
/// a port without its greeter.
fn web_server_refuses(server: &NodeSpec, kind: &CheckKind) -> Option<(String, String)> {
    let NodeSpec::WebServer {
        name,
        port,
        paths,
        smtp_port,
        ..
    } = server
    else {
        return None;
    };
    match kind {
        CheckKind::Tcp { port: p } | CheckKind::Http { port: p, .. }
            if p != port && Some(*p) != *smtp_port =>
        {
            Some((
                format!("\"{name}\" listens on port {port}, not {p}"),
                format!("check port {port}, or leave the check's port out"),
            ))
        }
        CheckKind::Http { path, status, .. } => status_refused(name, paths, path, status),
        CheckKind::Smtp { port: p, .. } if Some(*p) != *smtp_port => Some((
            format!("\"{name}\" has no SMTP greeter on port {p}"),
            format!("give \"{name}\" `smtp_port: {p}`, or check another port"),
        )),
        _ => None,
    }
}

/// An HTTP check of `path` on web server `name`, which serves `paths` (200) and nothing else
/// (404): refused when the check's `status` ranges do not hold that code.
fn status_refused(
    name: &str,
    paths: &[String],
    path: &str,
    status: &[(u16, u16)],
) -> Option<(String, String)> {
    let code = if paths.iter().any(|prefix| path.starts_with(prefix.as_str())) {
        200
    } else {
        404
    };
    if status
        .iter()
        .any(|&(low, high)| (low..=high).contains(&code))
    {
        return None;
    }
    Some((
        format!("\"{name}\" answers {path} with {code}, which the check does not accept"),
        format!("check a path \"{name}\" serves ({})", paths.join(", ")),
    ))
}

/// Cold spares that no `PlugIn` action (on the timeline or after an alarm) connects, and no
/// `InterfaceDown` fault's end plugs back in: they stay in their cupboard all run.
fn idle_spares(scenario: &Scenario, lints: &mut Vec<Lint>) {
    let alarm_actions = scenario.nodes.iter().flat_map(|n| match n {
        NodeSpec::Monitor { probes, .. } => probes.iter().flat_map(|p| &p.on_alarm).collect(),
        _ => Vec::new(),
    });
    let plugged: Vec<&str> = scenario
        .actions
        .iter()
        .chain(alarm_actions)
        .filter(|a| matches!(a.kind, ActionSpecKind::PlugIn))
        .map(|a| a.node.as_str())
        .chain(
            scenario
                .faults
                .iter()
                .filter(|f| matches!(f.kind, FaultKind::InterfaceDown(_)) && f.until.is_some())
                .map(|f| f.target.as_str()),
        )
        .collect();
    for node in &scenario.nodes {
        if let NodeSpec::Router {
            name,
            cold_spare: true,
            ..
        } = node
            && !plugged.contains(&name.as_str())
        {
            lints.push(Lint {
                value: name.clone(),
                anchor: None,
                nth_fault: None,
                message: format!(
                    "cold spare \"{name}\" is never plugged in: it stays unplugged all run"
                ),
                help: format!(
                    "add an action `(at: \"60s\", target: \"{name}\", action: PlugIn)`, or a monitor's `on_alarm` that plugs it in"
                ),
                page: "labs/redundancy.md#lab-1-a-spare-in-the-cupboard",
            });
        }
    }
}

/// Sync groups with one member: keepalived warns "Sync group NAT has only 1 virtual
/// router(s) - this probably isn't what you want"; usually the other member is misspelt or
/// on another node.
fn lonely_sync_groups(scenario: &Scenario, lints: &mut Vec<Lint>) {
    for node in &scenario.nodes {
        let (NodeSpec::Router { name, vrrp, .. } | NodeSpec::L4Balancer { name, vrrp, .. }) = node
        else {
            continue;
        };
        let groups = SyncGroup::from_configs(vrrp);
        for group in groups.iter().filter(|g| g.members.len() == 1) {
            lints.push(Lint {
                value: group.name.clone(),
                anchor: Some(name.clone()),
                nth_fault: None,
                message: format!(
                    "sync group \"{}\" of \"{name}\" has only one VRRP instance: it syncs nothing",
                    group.name
                ),
                help: format!(
                    "give the instances that must change state together (the outside and the inside VIP of a NAT director) the same `sync_group: \"{}\"` on this node",
                    group.name
                ),
                page: "labs/redundancy.md#lab-9-a-nat-pair-and-its-sync-group",
            });
        }
    }
}

/// Faults that change nothing: the target is crashed (or the same fault holds) already.
fn faults(faults: &[FaultSpec], lints: &mut Vec<Lint>) {
    let covers = |f: &FaultSpec, at| f.at <= at && f.until.is_none_or(|u| at < u);
    for (i, fault) in faults.iter().enumerate() {
        let earlier = faults[..i].iter().chain(&faults[i + 1..]);
        for other in earlier {
            if other.target != fault.target || !covers(other, fault.at) || other.at == fault.at {
                continue;
            }
            let same = std::mem::discriminant(&other.kind) == std::mem::discriminant(&fault.kind);
            let crashed = matches!(other.kind, FaultKind::Crash)
                && matches!(fault.kind, FaultKind::Service(_) | FaultKind::StopVrrp);
            if same || crashed {
                let nth = faults[..i]
                    .iter()
                    .filter(|f| f.target == fault.target)
                    .count();
                lints.push(Lint {
                    value: fault.target.clone(),
                    anchor: None,
                    nth_fault: Some(nth),
                    message: format!(
                        "this fault on \"{}\" at {} changes nothing: an earlier one, from {}, still holds",
                        fault.target, fault.at, other.at
                    ),
                    help: "end the earlier fault first with `until`, or remove this one".into(),
                    page: "labs/health-checks.md#breaking-things-on-purpose",
                });
                break;
            }
        }
    }
}

/// A rough count of the requests a run will make, and a warning when it is large.
fn run_size(scenario: &Scenario, lints: &mut Vec<Lint>) {
    for node in &scenario.nodes {
        let NodeSpec::Clients {
            name,
            count,
            workload,
            ..
        } = node
        else {
            continue;
        };
        let seconds = workload
            .duration
            .map(|d| d.as_secs_f64())
            .unwrap_or_else(|| scenario.max_sim_time.as_secs_f64());
        // A closed-loop user waits for each answer (say 1 ms on a LAN) and thinks.
        let by_time = match &workload.kind {
            WorkloadKind::OpenLoop { rate } => rate * seconds,
            WorkloadKind::ClosedLoop { users, think_time } => {
                let cycle = 0.001 + think_time.mean().as_secs_f64();
                f64::from(*users) * f64::from(*count) * seconds / cycle
            }
        };
        let requests = workload
            .requests
            .map_or(by_time, |n| (n as f64).min(by_time));
        if requests > MANY_REQUESTS {
            lints.push(Lint {
                value: name.clone(),
                anchor: None,
                nth_fault: None,
                message: format!(
                    "client group \"{name}\" may make about {} requests: the run will take minutes",
                    requests.round() as u64
                ),
                help: "for a first look, give the workload a smaller `requests` or `duration`; build with --release for big runs".into(),
                page: "reference/scenario.md#size-limits",
            });
        }
    }
}
