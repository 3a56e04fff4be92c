//! Warnings for valid scenarios that probably do not do what was meant: each names its lab
//! page, points at the token, and never stops the run.

use netlab::scenario::diagnostic::{Locator, Severity};
use netlab::scenario::lint::lint;
use netlab::scenario::load_str;

use super::support::root;

/// The warnings of `scenarios/<name>` after replacing `from` with `to` in its text.
fn warnings_of(name: &str, edits: &[(&str, &str)]) -> Vec<String> {
    let mut text = std::fs::read_to_string(root().join("scenarios").join(name)).unwrap();
    for (from, to) in edits {
        assert!(text.contains(from), "{name} has no {from}");
        text = text.replacen(from, to, 1);
    }
    // Named by its path, so that a keepalived.conf it names is found beside it.
    let path = root().join("scenarios").join(name).display().to_string();
    let scenario = load_str(&path, &text).unwrap_or_else(|e| panic!("{e}"));
    lint(&scenario, &Locator::new(name, &text))
        .into_iter()
        .map(|d| {
            assert_eq!(d.severity, Severity::Warning);
            d.to_string()
        })
        .collect()
}

#[test]
fn the_shipped_scenarios_warn_only_where_they_show_a_pitfall() {
    let mut names: Vec<String> = std::fs::read_dir(root().join("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".ron"))
        .collect();
    names.sort();
    for name in names {
        let warnings = warnings_of(&name, &[]);
        if name == "l4-nat-same-subnet.ron" {
            // The lab about the same-subnet pitfall: both NAT real servers are flagged.
            assert_eq!(warnings.len(), 2, "{warnings:#?}");
            assert!(warnings[0].contains("same subnet as client group"));
            assert!(warnings[0].contains("labs/l4-balancing.md#why-nat-fails-here"));
        } else {
            assert!(warnings.is_empty(), "{name}: {warnings:#?}");
        }
    }
}

#[test]
fn a_direct_routing_server_without_the_vip_is_flagged() {
    let warnings = warnings_of(
        "l4-dsr.ron",
        &[(
            "loopback: [\"10.0.1.100\"], workers: 16, service_time: Exponential(\"2ms\")",
            "workers: 16, service_time: Exponential(\"2ms\")",
        )],
    );
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    let text = &warnings[0];
    assert!(text.starts_with("warning: real server \"web1\""), "{text}");
    assert!(
        text.contains("(ip: \"10.0.1.11\""),
        "points at the real server: {text}"
    );
    assert!(
        text.contains("= help: add `loopback: [\"10.0.1.100\"]`"),
        "{text}"
    );
    assert!(
        text.contains("the-real-servers-hold-the-vip-quietly"),
        "{text}"
    );
}

#[test]
fn a_nat_server_whose_gateway_is_not_the_director_is_flagged() {
    let warnings = warnings_of(
        "health-checks.ron",
        &[(
            "WebServer(name: \"ping1\", interface: (attach: \"back\", ip: \"10.0.2.11/24\"), gateway: \"10.0.2.1\")",
            "WebServer(name: \"ping1\", interface: (attach: \"back\", ip: \"10.0.2.11/24\"), gateway: \"10.0.2.99\")",
        )],
    );
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(warnings[0].contains("its gateway is not the director \"lb\""));
}

#[test]
fn checks_that_can_never_pass_are_flagged() {
    let warnings = warnings_of(
        "health-checks.ron",
        &[
            (
                "(ip: \"10.0.2.21\", checks: [TcpCheck()])",
                "(ip: \"10.0.2.21\", checks: [TcpCheck(port: 8080)])",
            ),
            (
                "(ip: \"10.0.2.31\", checks: [HttpGet(path: \"/\")])",
                "(ip: \"10.0.2.31\", checks: [HttpGet(path: \"/\", status: [204])])",
            ),
            (
                "(ip: \"10.0.2.12\", checks: [PingCheck])",
                "(ip: \"10.0.2.99\", checks: [PingCheck])",
            ),
        ],
    );
    assert_eq!(warnings.len(), 3, "{warnings:#?}");
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("\"tcp1\" listens on port 80, not 8080"))
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("answers / with 200, which the check does not accept"))
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("no machine in the scenario has that address"))
    );
}

#[test]
fn a_fault_on_a_crashed_node_is_flagged() {
    let warnings = warnings_of(
        "health-checks.ron",
        &[(
            "faults: [",
            "faults: [(at: \"1s\", until: \"5s\", target: \"http1\", event: Crash), (at: \"2s\", until: \"3s\", target: \"http1\", event: StopService),",
        )],
    );
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(warnings[0].contains("changes nothing: an earlier one, from 1s, still holds"));
    assert!(
        warnings[0].contains("--> health-checks.ron:88:"),
        "points at the second fault, not the node: {}",
        warnings[0]
    );
}

#[test]
fn a_run_of_millions_of_requests_is_announced() {
    let warnings = warnings_of(
        "00-hello-web.ron",
        &[(
            "OpenLoop(rate: 20.0, requests: 200)",
            "OpenLoop(rate: 5000.0, duration: \"20min\")",
        )],
    );
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(
        warnings[0].contains("may make about 6000000 requests"),
        "{}",
        warnings[0]
    );
}

#[test]
fn check_prints_warnings_and_still_succeeds() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_netlab"))
        .current_dir(root())
        .args(["check", "scenarios/l4-nat-same-subnet.ron"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("ok (5 nodes, 2 warnings)"), "{stdout}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--> scenarios/l4-nat-same-subnet.ron:19:"),
        "{stderr}"
    );
}

#[test]
fn a_cold_spare_that_nothing_plugs_in_is_flagged() {
    let warnings = warnings_of(
        "cold-standby-router.ron",
        &[(
            "on_alarm: [(after: \"30s\", target: \"r1-spare\", action: PlugIn)],",
            "",
        )],
    );
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    let text = &warnings[0];
    assert!(
        text.starts_with("warning: cold spare \"r1-spare\" is never plugged in"),
        "{text}"
    );
    assert!(text.contains("name: \"r1-spare\""), "{text}");
    assert!(text.contains("labs/redundancy.md#lab-1-a-spare-in-the-cupboard"));
}

#[test]
fn an_empty_pool_is_flagged_and_answers_503() {
    let edit = (
        "(name: \"api\", servers: [(ip: \"10.0.2.21\"), (ip: \"10.0.2.22\")], algorithm: LeastConn)",
        "(name: \"api\", servers: [], algorithm: LeastConn)",
    );
    let warnings = warnings_of("l7-routing.ron", &[edit]);
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    let text = &warnings[0];
    assert!(text.contains("pool \"api\" has no servers"), "{text}");
    assert!(
        text.contains("(name: \"api\""),
        "points at the pool: {text}"
    );
    assert!(text.contains("a-pool-with-no-servers"), "{text}");
    // It runs: the proxy answers the pool's requests itself.
    let source = std::fs::read_to_string(root().join("scenarios/l7-routing.ron"))
        .unwrap()
        .replacen(edit.0, edit.1, 1);
    let scenario = load_str("l7-routing.ron", &source).unwrap();
    let run = netlab::run::execute(&scenario, 1, false).unwrap();
    assert!(
        run.summary_json.contains("\"answered 503\": 174"),
        "{}",
        run.summary_json
    );
}

#[test]
fn the_same_subnet_warning_names_only_clients_of_the_nat_service() {
    // Move the NAT clients away: the DR clients still share the servers' subnet, but they ask
    // the DR VIP, so nothing is wrong.
    let warnings = warnings_of(
        "l4-nat-same-subnet.ron",
        &[
            (
                "segments: [(name: \"lan\", bandwidth: \"1Gbps\", delay: \"20us\")],",
                "segments: [(name: \"lan\", bandwidth: \"1Gbps\", delay: \"20us\"), (name: \"office\")],",
            ),
            (
                "interfaces: [(attach: \"lan\", ip: \"10.0.0.2/24\")],",
                "interfaces: [(attach: \"lan\", ip: \"10.0.0.2/24\"), (attach: \"office\", ip: \"10.0.5.1/24\")],",
            ),
            (
                "Clients(name: \"via-nat\", attach: \"lan\", first_ip: \"10.0.0.50/24\",",
                "Clients(name: \"via-nat\", attach: \"office\", first_ip: \"10.0.5.50/24\", gateway: \"10.0.5.1\",",
            ),
        ],
    );
    assert!(warnings.is_empty(), "{warnings:#?}");
}

#[test]
fn a_tunnelling_server_without_its_tunnel_or_with_strict_rp_filter_is_flagged() {
    let web2_tunnel = "tunnel: (addresses: [\"10.0.1.100\"], rp_filter: Off),\n                  workers: 16, service_time: Exponential(\"2ms\"), response_size: \"8KiB\"),\n        Clients";
    let web2_plain = "workers: 16, service_time: Exponential(\"2ms\"), response_size: \"8KiB\"),\n        Clients";
    let warnings = warnings_of("l4-tun.ron", &[(web2_tunnel, web2_plain)]);
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(warnings[0].contains("\"web2\" (10.0.2.12) gets requests for 10.0.1.100 by IP-in-IP tunnelling, but has no tunnel"));
    assert!(
        warnings[0].contains("(ip: \"10.0.2.12\", forward: Tun)"),
        "{}",
        warnings[0]
    );
    assert!(warnings[0].contains("labs/l4-balancing.md#nat-dr-and-tun"));

    let warnings = warnings_of("l4-tun.ron", &[("rp_filter: Off", "rp_filter: Strict")]);
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(warnings[0].contains("\"web1\" (10.0.2.11) filters its tunnel with strict rp_filter"));

    let warnings = warnings_of(
        "l4-tun.ron",
        &[("[\"10.0.1.100\"], rp_filter", "[\"10.0.1.200\"], rp_filter")],
    );
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(warnings[0].contains("its tunnel does not hold that VIP"));
}

#[test]
fn a_sync_group_of_one_instance_is_flagged_where_it_is_named() {
    // lb2's VI_2 loses its group: lb2's "NAT" is left with VI_1 alone.
    let warnings = warnings_of(
        "vrrp-sync-group.ron",
        &[(
            "virtual_ipaddress: [\"10.0.1.1\"], sync_group: \"NAT\"),\n            ],\n            services: [(vip: \"10.0.0.100\", scheduler: \"rr\", real_servers: [\n                (ip: \"10.0.2.11\", forward: Nat), (ip: \"10.0.2.12\", forward: Nat), (ip: \"10.0.2.13\", forward: Nat),\n            ])],\n        ),\n        // The servers'",
            "virtual_ipaddress: [\"10.0.1.1\"]),\n            ],\n            services: [(vip: \"10.0.0.100\", scheduler: \"rr\", real_servers: [\n                (ip: \"10.0.2.11\", forward: Nat), (ip: \"10.0.2.12\", forward: Nat), (ip: \"10.0.2.13\", forward: Nat),\n            ])],\n        ),\n        // The servers'",
        )],
    );
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    let text = &warnings[0];
    assert!(
        text.starts_with("warning: sync group \"NAT\" of \"lb2\" has only one VRRP instance"),
        "{text}"
    );
    // The caret is on lb2's own group name, line 45 of the scenario.
    assert!(text.contains("vrrp-sync-group.ron:45:"), "{text}");
    assert!(text.contains("labs/redundancy.md#lab-9-a-nat-pair-and-its-sync-group"));
}
