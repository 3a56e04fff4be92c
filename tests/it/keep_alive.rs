//! HTTP keep-alive: fewer handshakes, one round trip less per request, and why an L4
//! balancer spreads kept-alive connections, not requests.

use super::pcap::frames;
use super::support::run;

fn summary(json: &str) -> serde_json::Value {
    serde_json::from_str(json).unwrap()
}

/// SYNs (without ACK) sent from `source`, counted once per capture point.
fn syns_from(pcap: &[u8], source: [u8; 4]) -> usize {
    frames(pcap)
        .iter()
        .filter(|(_, f)| {
            f.len() >= 54
                && f[12..14] == [0x08, 0x00]
                && f[23] == 6
                && f[26..30] == source
                && f[47] & 0x12 == 0x02
        })
        .count()
}

#[test]
fn kept_connections_save_a_handshake_per_request() {
    let a = run("02-keep-alive.ron", None, false);
    let s = summary(&a.summary_json);
    assert_eq!(s["requests"]["failed"], 0);
    let browser = &s["groups"]["browser"];
    let script = &s["groups"]["script"];
    // Nearly every browser request reuses a connection; scripts never do.
    let issued = browser["issued"].as_u64().unwrap();
    let reused = browser["reused_connections"].as_u64().unwrap();
    assert!(reused * 10 > issued * 9, "{reused} of {issued}");
    assert_eq!(script["reused_connections"], 0);
    // The round trip is 40 ms: a reused connection skips the handshake's round trip.
    let p50 = |g: &serde_json::Value| g["latency_ms"]["p50"].as_f64().unwrap();
    assert!(
        p50(browser) > 40.0 && p50(browser) < 50.0,
        "{}",
        p50(browser)
    );
    assert!(p50(script) > 80.0 && p50(script) < 90.0, "{}", p50(script));
    // The capture agrees: a browser host opens a handful of connections, a script host one
    // per request (each SYN is seen on both segments it crosses).
    let pcap = a.capture("capture.pcapng").unwrap();
    let browser_syns = syns_from(pcap, [10, 0, 0, 100]);
    let script_syns = syns_from(pcap, [10, 0, 0, 150]);
    assert!(browser_syns <= 16, "{browser_syns}");
    assert!(script_syns >= 2 * 50, "{script_syns}");
}

#[test]
fn ipvs_balances_kept_connections_not_requests() {
    let a = run("l4-keep-alive.ron", None, false);
    let s = summary(&a.summary_json);
    assert_eq!(s["requests"]["failed"], 0);
    // Scripts (a connection per request) are spread evenly by round robin...
    assert!(s["groups"]["script"]["max_share"].as_f64().unwrap() < 0.55);
    // ...but three kept-alive browsers on two servers put two thirds on one server.
    let browser_share = s["groups"]["browser"]["max_share"].as_f64().unwrap();
    assert!(browser_share > 0.6, "{browser_share}");
    // ipvsadm counts the three kept connections (plus scripts' in flight) as active.
    let table = &a.table;
    assert!(table.contains("Masq    1      1"), "{table}");
    assert!(table.contains("Masq    1      2"), "{table}");
}

#[test]
fn an_l7_proxy_keeps_clients_but_balances_each_request() {
    let a = run("l7-keep-alive.ron", None, false);
    let s = summary(&a.summary_json);
    assert_eq!(s["requests"]["failed"], 0);
    let issued = s["requests"]["issued"].as_u64().unwrap();
    // Three browser connections, one server connection per request.
    let proxy = &s["proxies"]["proxy"];
    assert_eq!(proxy["client_connections"], 3);
    assert_eq!(proxy["server_connections"].as_u64().unwrap(), issued);
    // Routed request by request, the same three browsers spread evenly.
    assert!(s["groups"]["browser"]["max_share"].as_f64().unwrap() < 0.52);
    // Connection is hop-by-hop: keep-alive towards the clients, close towards the servers.
    let pcap = a.capture("capture.pcapng").unwrap();
    let mut to_servers_close = 0;
    let mut to_servers_keep = 0;
    for (_, frame) in frames(pcap) {
        let text = String::from_utf8_lossy(&frame);
        if frame.len() > 54 && frame[30..33] == [10, 0, 2] && text.contains("GET /") {
            if text.contains("Connection: close") {
                to_servers_close += 1;
            }
            if text.contains("keep-alive") {
                to_servers_keep += 1;
            }
        }
    }
    assert!(to_servers_close as u64 >= issued, "{to_servers_close}");
    assert_eq!(to_servers_keep, 0);
}

#[test]
fn a_proxy_can_reuse_its_server_connections() {
    // l7-keep-alive.ron in HAProxy's http-keep-alive mode: server connections are kept too.
    let path = super::support::root().join("scenarios/l7-keep-alive.ron");
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "keep_alive: \"5s\",\n        ),",
        "keep_alive: \"5s\",\n            reuse_server_connections: true,\n        ),",
    );
    assert!(text.contains("reuse_server_connections"));
    let scenario = netlab::scenario::load_str("l7-reuse.ron", &text).unwrap();
    let a = netlab::run::execute(&scenario, 1, false).unwrap();
    let s = summary(&a.summary_json);
    assert_eq!(s["requests"]["failed"], 0);
    let issued = s["requests"]["issued"].as_u64().unwrap();
    let proxy = &s["proxies"]["proxy"];
    // A handful of server connections carry every request, still spread request by request.
    assert!(
        proxy["server_connections"].as_u64().unwrap() <= 6,
        "{proxy}"
    );
    assert!(issued > 250);
    assert!(s["groups"]["browser"]["max_share"].as_f64().unwrap() < 0.52);
    // Keep-alive is asked for on both hops now.
    let mut to_servers_keep = 0;
    for (_, frame) in frames(a.capture("capture.pcapng").unwrap()) {
        let text = String::from_utf8_lossy(&frame);
        if frame.len() > 54 && frame[30..33] == [10, 0, 2] && text.contains("GET /") {
            assert!(!text.contains("Connection: close"), "{text}");
            to_servers_keep += usize::from(text.contains("Connection: keep-alive"));
        }
    }
    assert!(to_servers_keep as u64 >= issued, "{to_servers_keep}");
}
