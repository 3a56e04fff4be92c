//! DNS round robin (issue 4): real DNS messages, caches that skew the spread, TTLs that help
//! and cost, and a dead server DNS cannot see.

use super::pcap::frames;
use super::support::run;

fn summary(json: &str) -> serde_json::Value {
    serde_json::from_str(json).unwrap()
}

fn served(s: &serde_json::Value, group: &str) -> Vec<u64> {
    let served = &s["groups"][group]["served"];
    ["web1", "web2", "web3"]
        .iter()
        .map(|w| served[w].as_u64().unwrap())
        .collect()
}

#[test]
fn shared_caches_skew_the_spread() {
    let a = run("dns-rr.ron", None, false);
    let s = summary(&a.summary_json);
    assert_eq!(s["requests"]["failed"], 0);
    // Each PC caches its own answer: all three servers get a fair part of their requests.
    let pcs = served(&s, "pc");
    assert!(
        pcs.iter().all(|&n| n * 4 > pcs.iter().sum::<u64>()),
        "{pcs:?}"
    );
    // Everyone behind a carrier cache gets the same first address: one server takes it all.
    for group in ["phone-a", "phone-b"] {
        assert_eq!(s["groups"][group]["max_share"], 1.0, "{group}");
    }
    // The carriers asked the authoritative server almost never; their phones asked them often.
    assert!(s["dns"]["carrier-a-dns"]["cache_hits"].as_u64().unwrap() >= 10);
    assert!(s["dns"]["carrier-a-dns"]["cache_misses"].as_u64().unwrap() <= 3);
}

#[test]
fn a_shorter_ttl_spreads_better_but_costs_queries_and_can_be_defeated() {
    let a = run("dns-rr-ttl.ron", None, false);
    let s = summary(&a.summary_json);
    let max_share = |g: &str| s["groups"][g]["max_share"].as_f64().unwrap();
    assert_eq!(max_share("phones-ttl3600"), 1.0);
    assert!(
        max_share("phones-ttl1") < 0.4,
        "TTL 1 s spreads nearly evenly"
    );
    assert!(max_share("phones-ttl10") < max_share("phones-ttl3600"));
    let questions = |name: &str| s["dns"]["ns1"]["by_name"][name].as_u64().unwrap();
    assert!(questions("ttl1.example") > 20 * questions("ttl3600.example"));
    // Clamping caches and clients that never re-resolve defeat the short TTL.
    assert_eq!(max_share("phones-ttl1-clamped"), 1.0);
    assert!(max_share("apps-ttl1-forever") > 0.5);
}

#[test]
fn dns_cannot_see_a_dead_server_but_retrying_the_next_address_helps() {
    let a = run("dns-rr-dead-server.ron", None, false);
    let s = summary(&a.summary_json);
    let failed = |g: &str| s["groups"][g]["failed"].as_u64().unwrap();
    assert!(
        failed("plain") > 100,
        "plain clients lose the dead server's share"
    );
    assert_eq!(failed("retrying"), 0);
    // The authoritative server kept answering with web3's address after the crash.
    let rows: Vec<&str> = a.requests_csv.lines().skip(1).collect();
    let late_failures = rows
        .iter()
        .filter(|r| r.contains(",plain-") && r.contains(",timeout,"))
        .filter(|r| r.split(',').nth(2).unwrap().parse::<f64>().unwrap() > 40.0)
        .count();
    assert!(
        late_failures > 30,
        "still failing long after the crash: {late_failures}"
    );
    // Retrying costs a connection timeout: the slow tail is about one second.
    let slow_retries = rows
        .iter()
        .filter(|r| r.contains(",retrying-") && r.contains(",ok,"))
        .filter(|r| r.split(',').nth(4).unwrap().parse::<f64>().unwrap() > 1000.0)
        .count();
    assert!(slow_retries > 30, "{slow_retries}");
}

#[test]
fn dns_messages_are_real_udp_on_port_53() {
    let a = run("dns-rr-dead-server.ron", None, true);
    let mut queries = 0;
    let mut answers_with_three_records = 0;
    for (_, frame) in frames(a.capture("capture.pcapng").unwrap()) {
        if frame.len() < 42 || frame[12..14] != [0x08, 0x00] || frame[23] != 17 {
            continue;
        }
        let ihl = ((frame[14] & 0x0f) as usize) * 4;
        let udp = &frame[14 + ihl..];
        let (src_port, dst_port) = (
            u16::from_be_bytes([udp[0], udp[1]]),
            u16::from_be_bytes([udp[2], udp[3]]),
        );
        let dns = &udp[8..];
        if dst_port == 53 {
            queries += 1;
        }
        if src_port == 53 && u16::from_be_bytes([dns[6], dns[7]]) == 3 {
            answers_with_three_records += 1;
        }
    }
    assert!(queries > 50, "{queries}");
    assert!(
        answers_with_three_records > 50,
        "{answers_with_three_records}"
    );
}
