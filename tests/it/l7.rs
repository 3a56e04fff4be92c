//! The L7 balancer (issue 8): routing by URL over two TCP connections, who sees which
//! address, and the price of terminating connections compared with L4.

use super::pcap::frames;
use super::support::run;

fn summary(json: &str) -> serde_json::Value {
    serde_json::from_str(json).unwrap()
}

#[test]
fn the_proxy_routes_by_path_over_its_own_connections() {
    let a = run("l7-routing.ron", None, false);
    let s = summary(&a.summary_json);
    assert_eq!(s["requests"]["ok"], 600);
    let pools = &s["proxies"]["proxy"]["requests_by_pool"];
    // Each rule's pool got requests, and each pool used both of its servers.
    for (pool, servers) in [
        ("static", ["10.0.2.11:80", "10.0.2.12:80"]),
        ("api", ["10.0.2.21:80", "10.0.2.22:80"]),
        ("web", ["10.0.2.31:80", "10.0.2.32:80"]),
    ] {
        for server in servers {
            assert!(
                pools[pool][server].as_u64().unwrap() > 50,
                "{pool} {server}"
            );
        }
    }
    // Servers see the proxy as their client, and the real clients in X-Forwarded-For.
    for server in ["static1", "api1", "web2"] {
        assert_eq!(s["servers"][server]["peer_sample"], "10.0.1.100");
        assert_eq!(s["servers"][server]["distinct_peers"], 1);
        assert_eq!(s["servers"][server]["forwarded_for"], 10);
    }
    // Two handshakes per request: clients to the proxy, the proxy to a server.
    let mut syn_from_clients = 0;
    let mut syn_from_proxy = 0;
    for (_, frame) in frames(a.capture("capture.pcapng").unwrap()) {
        if frame.len() < 54 || frame[12..14] != [0x08, 0x00] || frame[23] != 6 {
            continue;
        }
        let flags = frame[47];
        if flags & 0x12 != 0x02 {
            continue; // SYN without ACK only
        }
        match frame[26..30] {
            [192, 0, 2, _] if frame[30..34] == [10, 0, 1, 100] => syn_from_clients += 1,
            [10, 0, 1, 100] => syn_from_proxy += 1,
            _ => {}
        }
    }
    // Each SYN is captured on every segment it crosses, and some are retransmitted, so count
    // at least one per request on each side.
    assert!(
        syn_from_clients >= 600 && syn_from_proxy >= 600,
        "{syn_from_clients} {syn_from_proxy}"
    );
}

#[test]
fn l7_costs_latency_and_hides_the_client_address() {
    let a = run("l4-vs-l7.ron", None, false);
    let s = summary(&a.summary_json);
    assert_eq!(s["requests"]["failed"], 0);
    assert!(
        s["proxies"]["l7-proxy"]["cpu_utilisation"]
            .as_f64()
            .unwrap()
            > 0.7
    );
    // L4 servers see the 20 real clients; L7 servers see the proxy, and the clients in XFF.
    assert_eq!(s["servers"]["dr1"]["distinct_peers"], 20);
    assert_eq!(s["servers"]["nat1"]["distinct_peers"], 20);
    assert_eq!(s["servers"]["l7a"]["distinct_peers"], 1);
    assert_eq!(s["servers"]["l7a"]["forwarded_for"], 20);
    // The proxy's queue shows in latency: its median is well above the directors'.
    let median = |group: &str| {
        let mut latencies: Vec<f64> = a
            .requests_csv
            .lines()
            .skip(1)
            .filter(|r| r.contains(&format!(",{group}-")))
            .map(|r| r.split(',').nth(4).unwrap().parse().unwrap())
            .collect();
        latencies.sort_by(f64::total_cmp);
        latencies[latencies.len() / 2]
    };
    assert!(
        median("via-l7") > median("via-l4-dr") + 3.0,
        "{} vs {}",
        median("via-l7"),
        median("via-l4-dr")
    );
    assert!(median("via-l7") > median("via-l4-nat") + 3.0);
}

#[test]
fn the_proxy_checks_its_pool_and_falls_back_to_the_backup() {
    let a = run("l7-backup.ron", None, false);
    let s = summary(&a.summary_json);
    let time_of = |target: &str, event: &str| -> f64 {
        a.events_csv
            .lines()
            .find(|l| l.contains(target) && l.contains(&format!(",{event},")))
            .map(|l| l.split(',').next().unwrap().parse().unwrap())
            .unwrap_or_else(|| panic!("no {event} for {target}"))
    };
    // The stopped web process is caught by the HTTP check within a few seconds.
    let down1 = time_of("proxy/web/10.0.1.11:80", "server_down");
    assert!(down1 > 10.0 && down1 < 14.0, "{down1}");
    assert!(a.events_csv.contains("HTTP_GET: connection refused"));
    // The backup served only while no regular server was up: between web2's removal and
    // web1's return.
    let down2 = time_of("proxy/web/10.0.1.12:80", "server_down");
    let up1 = time_of("proxy/web/10.0.1.11:80", "server_up");
    for row in a
        .requests_csv
        .lines()
        .skip(1)
        .filter(|r| r.contains(",backup,"))
    {
        let start: f64 = row.split(',').nth(2).unwrap().parse().unwrap();
        assert!(start >= down2 - 0.01 && start <= up1 + 0.01, "{row}");
    }
    assert!(s["servers"]["backup"]["served"].as_u64().unwrap() > 100);
    // The failures table credits the proxy's checks with the detection.
    let failures = s["failures"].as_array().unwrap();
    assert_eq!(failures[0]["server"], "proxy/web/10.0.1.11:80");
}

#[test]
fn a_crashed_proxy_boots_and_serves_again() {
    let text = r#"Scenario(
        name: "l7-crash",
        description: "the proxy loses power for two seconds",
        segments: [(name: "internet", delay: "2ms"), (name: "dmz")],
        nodes: [
            Router(name: "r1", interfaces: [(attach: "internet", ip: "192.0.2.1/24"),
                                            (attach: "dmz", ip: "10.0.1.1/24")]),
            L7Balancer(name: "proxy", interface: (attach: "dmz", ip: "10.0.1.100/24"),
                       gateway: "10.0.1.1", default_pool: "web",
                       pools: [(name: "web", servers: [(ip: "10.0.1.11"), (ip: "10.0.1.12")])],
                       keep_alive: "5s", reuse_server_connections: true),
            WebServer(name: "web1", interface: (attach: "dmz", ip: "10.0.1.11/24"),
                      gateway: "10.0.1.1", keep_alive: "2s"),
            WebServer(name: "web2", interface: (attach: "dmz", ip: "10.0.1.12/24"),
                      gateway: "10.0.1.1", keep_alive: "2s"),
            Clients(name: "b", count: 3, attach: "internet", first_ip: "192.0.2.100/24",
                    gateway: "192.0.2.1", url: "http://www/", keep_alive: true,
                    workload: ClosedLoop(users: 2, think_time: Exponential("1s"), duration: "20s")),
        ],
        hosts: {"www": "10.0.1.100"},
        faults: [(at: "8s", until: "10s", target: "proxy", event: Crash)],
    )"#;
    let scenario = netlab::scenario::load_str("l7-crash.ron", text).unwrap();
    let a = netlab::run::execute(&scenario, 1, false).unwrap();
    // Requests after the reboot succeed again (the proxy's state was rebuilt, not reused).
    let late_ok = a
        .trace
        .requests
        .records()
        .iter()
        .filter(|r| r.start.as_secs_f64() > 12.0 && r.outcome == netlab::trace::Outcome::Ok)
        .count();
    let late = a
        .trace
        .requests
        .records()
        .iter()
        .filter(|r| r.start.as_secs_f64() > 12.0)
        .count();
    assert!(late > 20 && late_ok == late, "{late_ok} of {late}");
}
