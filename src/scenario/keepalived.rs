//! *keepalived.conf*: a scenario's directors and VRRP routers as keepalived would be told.
//!
//! On a real Linux director, IPVS is the kernel's forwarding table and keepalived is the
//! daemon that fills it (`virtual_server`, `real_server`), checks the real servers and runs
//! VRRP (`vrrp_instance`). A scenario says the same things in RON. This module writes them
//! back in keepalived's own syntax, one file per machine, so a student can set the lab
//! beside a real configuration, or start a real lab from it.
//!
//! # Simplifications
//! - Interfaces are named `eth0`, `eth1`, ... in the order the scenario lists them.
//! - `MISC_CHECK` gets a placeholder `misc_path`: netlab scripts the results instead.
//! - `SSL_GET` in netlab is an `HTTP_GET` after a fixed handshake delay; here it is SSL_GET.
//! - Timing is written per checker (keepalived 2.x accepts `delay_loop`, `retry` and the
//!   others inside a checker), since netlab's checkers each have their own.

use std::fmt::Write;

use super::model::{NodeSpec, Scenario, ServiceSpec};
use crate::app::{CheckKind, CheckerConfig};
use crate::ipvs::service::Forward;
use crate::node::vrrp::VrrpConfig;
use crate::sim::SimDuration;

/// One `(file name, contents)` per node that runs keepalived (virtual services or VRRP), in
/// node order: `keepalived-<node>.conf`.
pub fn keepalived_confs(scenario: &Scenario) -> Vec<(String, String)> {
    let mut files = Vec::new();
    for node in &scenario.nodes {
        let (name, services, vrrp, sync): (&str, &[ServiceSpec], &[VrrpConfig], bool) = match node {
            NodeSpec::L4Balancer {
                name,
                services,
                vrrp,
                connection_sync,
                ..
            } => (name, services, vrrp, *connection_sync),
            NodeSpec::Router { name, vrrp, .. } if !vrrp.is_empty() => (name, &[], vrrp, false),
            _ => continue,
        };
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = writeln!(
            out,
            "# keepalived.conf for {name}, written by netlab from {}\n",
            scenario.source_file
        );
        write_global(&mut out, name, vrrp, sync);
        for instance in vrrp {
            write_vrrp(&mut out, instance);
        }
        for service in services {
            write_service(&mut out, service);
        }
        files.push((format!("keepalived-{name}.conf"), out));
    }
    files
}

/// `global_defs`: the machine's name, the gratuitous ARP settings VRRP uses, and the IPVS
/// connection sync daemon (which keepalived starts with the VRRP instance it follows).
fn write_global(out: &mut String, name: &str, vrrp: &[VrrpConfig], sync: bool) {
    let _ = writeln!(out, "global_defs {{\n    router_id {name}");
    if let Some(first) = vrrp.first() {
        if sync {
            let _ = writeln!(out, "    lvs_sync_daemon eth{} {}", first.iface, first.name);
        }
        let _ = writeln!(
            out,
            "    vrrp_garp_master_repeat {}\n    vrrp_garp_master_delay {}",
            first.garp_repeat,
            seconds(first.garp_delay)
        );
    }
    let _ = writeln!(out, "}}\n");
}

/// A `vrrp_instance` block.
fn write_vrrp(out: &mut String, v: &VrrpConfig) {
    let _ = writeln!(out, "vrrp_instance {} {{", v.name);
    // Every instance starts as BACKUP; the election by priority decides who is master.
    let _ = writeln!(out, "    state BACKUP");
    let _ = writeln!(out, "    interface eth{}", v.iface);
    let _ = writeln!(out, "    virtual_router_id {}", v.vrid);
    let _ = writeln!(out, "    priority {}", v.priority);
    let _ = writeln!(out, "    advert_int {}", v.advert_int);
    if !v.preempt {
        let _ = writeln!(out, "    nopreempt");
    }
    let _ = writeln!(out, "    virtual_ipaddress {{");
    for vip in &v.vips {
        let _ = writeln!(out, "        {vip}");
    }
    let _ = writeln!(out, "    }}\n}}\n");
}

/// A `virtual_server` block with its real servers and their checkers.
fn write_service(out: &mut String, s: &ServiceSpec) {
    let _ = writeln!(out, "virtual_server {} {} {{", s.vip, s.port);
    let _ = writeln!(out, "    lb_algo {}", s.scheduler);
    // lb_kind belongs to the virtual server; a real server may override it (keepalived 2.x).
    let kind = |f: Forward| match f {
        Forward::Masq => "NAT",
        Forward::Route => "DR",
    };
    let service_kind = s.real_servers.first().map_or(Forward::Masq, |r| r.forward);
    let _ = writeln!(out, "    lb_kind {}", kind(service_kind));
    let _ = writeln!(out, "    protocol TCP");
    if let Some(timeout) = s.persistence {
        let _ = writeln!(out, "    persistence_timeout {}", seconds(timeout));
    }
    let checkers: Vec<&CheckerConfig> = s.checks.iter().flatten().collect();
    if !checkers.is_empty() && checkers.iter().all(|c| c.alpha) {
        let _ = writeln!(out, "    alpha");
    }
    if s.quorum > 1 || s.hysteresis > 0 {
        let _ = writeln!(
            out,
            "    quorum {}\n    hysteresis {}",
            s.quorum.max(1),
            s.hysteresis
        );
    }
    if let Some(sorry) = &s.sorry_server {
        let _ = writeln!(out, "    sorry_server {} {}", sorry.addr, sorry.port);
    }
    for (index, rs) in s.real_servers.iter().enumerate() {
        let _ = writeln!(out, "\n    real_server {} {} {{", rs.addr, rs.port);
        let _ = writeln!(out, "        weight {}", rs.weight);
        if rs.forward != service_kind {
            let _ = writeln!(out, "        lb_kind {}", kind(rs.forward));
        }
        if rs.upper_threshold > 0 {
            let _ = writeln!(out, "        uthreshold {}", rs.upper_threshold);
        }
        if rs.lower_threshold > 0 {
            let _ = writeln!(out, "        lthreshold {}", rs.lower_threshold);
        }
        if s.inhibit_on_failure.get(index).copied().unwrap_or(false) {
            let _ = writeln!(out, "        inhibit_on_failure");
        }
        for checker in s.checks.get(index).into_iter().flatten() {
            write_checker(out, checker);
        }
        let _ = writeln!(out, "    }}");
    }
    let _ = writeln!(out, "}}\n");
}

/// A checker block inside a `real_server`.
fn write_checker(out: &mut String, c: &CheckerConfig) {
    let _ = writeln!(out, "        {} {{", c.kind.keyword());
    match &c.kind {
        CheckKind::Ping => {}
        CheckKind::Tcp { port } => {
            let _ = writeln!(out, "            connect_port {port}");
        }
        CheckKind::Http {
            port, path, status, ..
        } => {
            let _ = writeln!(out, "            url {{\n                path {path}");
            for &(low, high) in status {
                if low == high {
                    let _ = writeln!(out, "                status_code {low}");
                } else {
                    let _ = writeln!(out, "                status_code {low}-{high}");
                }
            }
            let _ = writeln!(out, "            }}\n            connect_port {port}");
        }
        CheckKind::Smtp { port, helo } => {
            let _ = writeln!(
                out,
                "            connect_port {port}\n            helo_name {helo}"
            );
        }
        CheckKind::Misc { .. } => {
            let _ = writeln!(
                out,
                "            misc_path \"/etc/keepalived/check.sh\"  # netlab scripts the results"
            );
        }
    }
    let t = &c.timing;
    let _ = writeln!(
        out,
        "            delay_loop {}\n            connect_timeout {}\n            retry {}\n            delay_before_retry {}\n            warmup {}",
        seconds(t.delay_loop),
        seconds(t.connect_timeout),
        t.retry,
        seconds(t.delay_before_retry),
        seconds(t.warmup)
    );
    let _ = writeln!(out, "        }}");
}

/// A duration in keepalived's units: whole seconds where exact, else decimal seconds.
fn seconds(d: SimDuration) -> String {
    let ns = d.as_nanos();
    if ns.is_multiple_of(1_000_000_000) {
        (ns / 1_000_000_000).to_string()
    } else {
        format!("{}", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_written_in_seconds() {
        assert_eq!(seconds(SimDuration::from_secs(6)), "6");
        assert_eq!(seconds(SimDuration::from_millis(1500)), "1.5");
    }

    #[test]
    fn a_director_becomes_a_virtual_server_block() {
        let text = r#"Scenario(
            name: "t",
            description: "one director",
            segments: [(name: "lan")],
            nodes: [
                L4Balancer(
                    name: "lb",
                    interfaces: [(attach: "lan", ip: "10.0.0.2/24")],
                    services: [(
                        vip: "10.0.0.100",
                        scheduler: "wlc",
                        real_servers: [(ip: "10.0.0.11", weight: 3, forward: Dr)],
                    )],
                ),
            ],
        )"#;
        let scenario = crate::scenario::load_str("t.ron", text).unwrap();
        let files = keepalived_confs(&scenario);
        assert_eq!(files.len(), 1);
        let (name, conf) = &files[0];
        assert_eq!(name, "keepalived-lb.conf");
        assert!(conf.contains("virtual_server 10.0.0.100 80 {"), "{conf}");
        assert!(conf.contains("    lb_algo wlc\n    lb_kind DR\n"), "{conf}");
        assert!(conf.contains("    real_server 10.0.0.11 80 {\n        weight 3\n"));
        assert_eq!(conf.matches('{').count(), conf.matches('}').count());
    }
}
