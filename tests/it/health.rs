//! Failure injection and keepalived-style health checks (issue 5): which checker sees which
//! failure, keepalived's detection-time rule, the sorry server, and every kind of fault.

use netlab::run::execute;
use netlab::scenario::load_str;

use super::support::run;

fn summary(json: &str) -> serde_json::Value {
    serde_json::from_str(json).unwrap()
}

/// The failure record for a fault on `target`.
fn failure<'a>(s: &'a serde_json::Value, target: &str) -> &'a serde_json::Value {
    s["failures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["target"] == target)
        .unwrap_or_else(|| panic!("no failure record for {target}"))
}

#[test]
fn only_the_http_check_catches_all_three_failures() {
    let a = run("health-checks.ron", None, false);
    let s = summary(&a.summary_json);
    let detected = |target: &str| !failure(&s, target)["detected_s"].is_null();
    // A crash is seen by every checker.
    assert!(detected("ping1") && detected("tcp1") && detected("http1"));
    // A stopped web process still answers ping: only TCP and HTTP see it.
    assert!(!detected("ping2") && detected("tcp2") && detected("http2"));
    // An application answering 500 still accepts connections: only HTTP sees it.
    assert!(!detected("ping3") && !detected("tcp3") && detected("http3"));
    assert_eq!(failure(&s, "http3")["cause"], "HTTP_GET: status 500");
    assert_eq!(
        failure(&s, "tcp2")["cause"],
        "TCP_CHECK: connection refused"
    );
    // Missed failures cost users far more than detected ones.
    let failed = |target: &str| failure(&s, target)["failed_requests"].as_u64().unwrap();
    assert!(
        failed("ping3") > 3 * failed("http3"),
        "{} vs {}",
        failed("ping3"),
        failed("http3")
    );
    // Recovered servers rejoin the pool.
    assert!(!failure(&s, "http1")["readded_s"].is_null());
    let events = &a.events_csv;
    assert!(events.contains(",http2,service_stop,"), "{events}");
    assert!(
        events.contains(",lb/10.0.2.33:80,server_down,HTTP_GET: status 500"),
        "{events}"
    );
}

#[test]
fn detection_time_follows_keepalived_s_rule() {
    let a = run("health-timing.ron", None, false);
    let s = summary(&a.summary_json);
    // (target, delay_loop, connect_timeout, retry, delay_before_retry) as in the scenario.
    let cases = [
        ("a1", 1.0, 1.0, 0.0, 0.0),
        ("b1", 2.0, 1.0, 1.0, 1.0),
        ("c1", 5.0, 1.0, 2.0, 1.0),
        ("d1", 2.0, 2.0, 3.0, 2.0),
    ];
    for (target, delay_loop, connect_timeout, retry, delay_before_retry) in cases {
        let detection = failure(&s, target)["detection_s"].as_f64().unwrap();
        // retry + 1 attempts, each failing after connect_timeout, with retry gaps between them,
        // after waiting up to one delay_loop for the next scheduled check.
        let least = (retry + 1.0) * connect_timeout + retry * delay_before_retry;
        let most = least + delay_loop;
        assert!(
            (least..=most + 0.01).contains(&detection),
            "{target}: detected after {detection} s, expected {least}..{most} s"
        );
    }
    // The scripted MISC_CHECK fails from 20 s to 30 s: its server leaves and returns.
    assert!(
        a.events_csv
            .contains("lb/10.0.2.51:80,server_down,MISC_CHECK: script exited 1")
    );
    assert!(
        a.events_csv
            .contains("lb/10.0.2.51:80,server_up,MISC_CHECK succeeded")
    );
    // SSL_GET and SMTP_CHECK pass throughout on a healthy server that greets SMTP.
    assert!(!a.events_csv.contains("SSL_GET:") && !a.events_csv.contains("SMTP_CHECK:"));
}

#[test]
fn the_sorry_server_serves_while_quorum_is_lost() {
    let a = run("sorry-server.ron", None, false);
    let s = summary(&a.summary_json);
    assert!(s["servers"]["sorry"]["served"].as_u64().unwrap() > 100);
    let quorum_lost = a
        .events_csv
        .lines()
        .find(|l| l.contains("quorum_lost"))
        .unwrap();
    let regained = a
        .events_csv
        .lines()
        .find(|l| l.contains("quorum_regained"))
        .unwrap();
    let time = |line: &str| line.split(',').next().unwrap().parse::<f64>().unwrap();
    let (lost_at, back_at) = (time(quorum_lost), time(regained));
    assert!(lost_at > 10.0 && back_at > 25.0);
    // The sorry server answered only while quorum was lost.
    for row in a
        .requests_csv
        .lines()
        .skip(1)
        .filter(|r| r.contains(",sorry,"))
    {
        let start: f64 = row.split(',').nth(2).unwrap().parse().unwrap();
        assert!(start >= lost_at - 0.01 && start <= back_at + 0.01, "{row}");
    }
    let ipvsadm = a.ipvsadm_txt.as_deref().unwrap();
    assert!(
        ipvsadm.contains("  -> 10.0.2.99:80 "),
        "the sorry server appears in a snapshot"
    );
}

const EVERY_FAULT: &str = r#"
Scenario(
    name: "every-fault",
    description: "one fault of each kind",
    segments: [(name: "lan"), (name: "far")],
    links: [(name: "wire")],
    nodes: [
        Router(name: "r1", interfaces: [(attach: "lan", ip: "10.0.0.1/24"), (attach: "far", ip: "10.0.1.1/24"),
                                        (attach: "wire", ip: "10.0.9.1/30")]),
        Router(name: "r2", interfaces: [(attach: "wire", ip: "10.0.9.2/30")]),
        WebServer(name: "web", interface: (attach: "far", ip: "10.0.1.10/24"), gateway: "10.0.1.1"),
        Clients(name: "pc", count: 2, attach: "lan", first_ip: "10.0.0.100/24", gateway: "10.0.0.1",
                url: "http://10.0.1.10/", timeout: "1s", workload: OpenLoop(rate: 20.0, duration: "30s")),
    ],
    faults: [
        (at: "2s", until: "4s", target: "web", event: Crash),
        (at: "5s", until: "6s", target: "r1", event: InterfaceDown, iface: 1),
        (at: "7s", until: "8s", target: "far", event: LinkDown),
        (at: "9s", until: "10s", target: "far", event: Loss(0.5)),
        (at: "11s", until: "12s", target: "far", event: ExtraDelay("300ms")),
        (at: "13s", until: "14s", target: "cut", event: Partition(a: ["pc"], b: ["web"])),
        (at: "15s", until: "16s", target: "web", event: StopService),
        (at: "17s", until: "20s", target: "web", event: HangService),
        (at: "21s", until: "22s", target: "web", event: ServiceErrors(503)),
        (at: "23s", until: "24s", target: "web", event: SlowService(2000.0)),
        (at: "25s", until: "26s", target: "wire", event: LinkDown),
    ],
)
"#;

#[test]
fn every_kind_of_fault_is_applied_undone_and_recorded() {
    let scenario = load_str("every-fault.ron", EVERY_FAULT).unwrap();
    let a = execute(&scenario, 1, false).unwrap();
    for pair in [
        ("crash", "restore"),
        ("interface_down", "interface_up"),
        ("link_down", "link_up"),
        ("loss", "loss_cleared"),
        ("extra_delay", "delay_cleared"),
        ("partition", "partition_healed"),
        ("service_stop", "service_start"),
        ("service_hang", "service_start"),
        ("service_errors", "service_start"),
        ("service_slow", "service_start"),
    ] {
        assert!(
            a.events_csv.contains(&format!(",{},", pair.0)),
            "{}",
            pair.0
        );
        assert!(
            a.events_csv.contains(&format!(",{},", pair.1)),
            "{}",
            pair.1
        );
    }
    // Each fault hurt the users while it lasted, in its own way.
    let outcome_in = |from: f64, to: f64, outcome: &str| {
        a.requests_csv.lines().skip(1).any(|r| {
            let cols: Vec<&str> = r.split(',').collect();
            let start: f64 = cols[2].parse().unwrap();
            start >= from && start < to && cols[5] == outcome
        })
    };
    assert!(outcome_in(2.0, 4.0, "timeout"), "crash");
    assert!(outcome_in(7.0, 8.0, "timeout"), "link down");
    assert!(outcome_in(13.0, 14.0, "timeout"), "partition");
    assert!(outcome_in(15.0, 16.0, "refused"), "stopped service");
    assert!(outcome_in(17.0, 19.0, "timeout"), "hung service");
    assert!(outcome_in(21.0, 22.0, "http_error"), "503");
    assert!(outcome_in(23.0, 24.0, "timeout"), "slow service");
    // And after all of them the service works again.
    assert!(outcome_in(27.0, 30.0, "ok"));
    assert!(!outcome_in(27.0, 30.0, "timeout"));
}

#[test]
fn a_crashed_client_group_is_rejected() {
    let bad = EVERY_FAULT.replace(
        r#"target: "web", event: Crash"#,
        r#"target: "pc", event: Crash"#,
    );
    let error = load_str("bad.ron", &bad).unwrap_err().to_string();
    assert!(error.contains("is a client group"), "{error}");
}

#[test]
fn without_a_sorry_server_a_recovered_server_still_rejoins() {
    // Regression (found while writing the book): with no sorry server, regaining quorum must
    // still put recovered servers back into the pool.
    let path = super::support::root().join("scenarios/sorry-server.ron");
    let text = std::fs::read_to_string(path).unwrap();
    let without: String = text
        .lines()
        .filter(|l| !l.contains("sorry_server:"))
        .collect::<Vec<_>>()
        .join("\n");
    let scenario = load_str("no-sorry.ron", &without).unwrap();
    let a = execute(&scenario, 1, false).unwrap();
    let late: Vec<&str> = a
        .requests_csv
        .lines()
        .skip(1)
        .filter(|r| r.split(',').nth(2).unwrap().parse::<f64>().unwrap() > 27.0)
        .collect();
    assert!(!late.is_empty());
    assert!(
        late.iter().all(|r| r.contains(",ok,web1,")),
        "{:?}",
        &late[..3]
    );
}

#[test]
fn the_directors_configuration_is_written_as_keepalived_conf() {
    let a = run("sorry-server.ron", None, false);
    let (name, conf) = &a.keepalived_confs[0];
    assert_eq!(name, "keepalived-lb.conf");
    for line in [
        "virtual_server 10.0.1.100 80 {",
        "    lb_algo wlc",
        "    lb_kind NAT",
        "    sorry_server 10.0.2.99 80",
        "    real_server 10.0.2.11 80 {",
        "        HTTP_GET {",
        "                status_code 200-299",
        "            delay_loop 2",
    ] {
        assert!(conf.lines().any(|l| l == line), "{line:?} missing:\n{conf}");
    }
    assert_eq!(conf.matches('{').count(), conf.matches('}').count());
    // VRRP pairs get one file per director, each with its instance.
    let pair = run("vrrp-sync.ron", None, false);
    let names: Vec<&str> = pair
        .keepalived_confs
        .iter()
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(names, ["keepalived-lb1.conf", "keepalived-lb2.conf"]);
    assert!(
        pair.keepalived_confs[1]
            .1
            .contains("    lvs_sync_daemon eth0 VI_51\n")
    );
    assert!(pair.keepalived_confs[1].1.contains("vrrp_instance VI_51 {"));
}

#[test]
fn a_pinging_host_survives_its_own_crash() {
    let path = super::support::root().join("scenarios/01-two-subnets-ping.ron");
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "    capture: (enabled: true),",
        "    capture: (enabled: true),\n    faults: [(at: \"1500ms\", until: \"2500ms\", target: \"alice\", event: Crash)],",
    );
    assert!(text.contains("faults"));
    let scenario = load_str("ping-crash.ron", &text).unwrap();
    let a = execute(&scenario, 1, false).unwrap();
    // alice's pinger gets a fresh socket after the reboot and is answered again.
    let alice = a.node_names.iter().position(|n| n == "alice").unwrap();
    let late_replies = a
        .trace
        .pings
        .iter()
        .filter(|p| p.host_node == alice && p.sent.as_secs_f64() > 2.5 && p.replied.is_some())
        .count();
    assert!(late_replies >= 1, "{:?}", a.trace.pings);
}
