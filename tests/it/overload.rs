//! A full web server (issue 15, "Linux's listen backlog"): with every connection slot taken,
//! a new SYN is dropped as Linux drops it, and the client's TCP sends it again after 1 s and
//! then 2 s more, so overload shows as latency steps and not as `refused`; with
//! `abort_on_overflow: true` the server resets it and the client sees `refused` at once.

use std::collections::BTreeMap;

use smoltcp::wire::{EthernetFrame, EthernetProtocol, IpProtocol, Ipv4Packet, TcpPacket};

use super::pcap::frames;
use super::support::{root, run_path};

/// Ten requests, about 20 ms apart, to a server with 1 worker and a backlog of 2, busy 300 ms
/// per request: from the fourth SYN on, every slot is taken.
fn overloaded(abort_on_overflow: bool) -> netlab::run::Artifacts {
    let source = format!(
        r#"Scenario(
    name: "overload",
    description: "a full accept queue",
    segments: [(name: "lan", bandwidth: "100Mbps", delay: "50us")],
    nodes: [
        WebServer(
            name: "web",
            interface: (attach: "lan", ip: "10.0.0.10/24"),
            workers: 1,
            backlog: 2,
            service_time: Fixed("300ms"),
            abort_on_overflow: {abort_on_overflow},
        ),
        Clients(
            name: "pc",
            count: 2,
            attach: "lan",
            first_ip: "10.0.0.100/24",
            url: "http://10.0.0.10/",
            workload: OpenLoop(rate: 50.0, requests: 10),
            timeout: "10s",
        ),
    ],
    capture: (enabled: true),
)"#
    );
    let scenario = netlab::scenario::load_str("overload.ron", &source).expect("valid");
    netlab::run::execute(&scenario, 1, false).expect("the run finishes")
}

/// The times (µs) of each client SYN (no ACK) in the capture, by client address and port.
fn syns(run: &netlab::run::Artifacts) -> BTreeMap<(std::net::Ipv4Addr, u16), Vec<u64>> {
    let capture = run.capture("capture.pcapng").expect("captured");
    let mut by_port: BTreeMap<_, Vec<u64>> = BTreeMap::new();
    for (micros, frame) in frames(capture) {
        let eth = EthernetFrame::new_checked(&frame[..]).unwrap();
        if eth.ethertype() != EthernetProtocol::Ipv4 {
            continue;
        }
        let ip = Ipv4Packet::new_checked(eth.payload()).unwrap();
        if ip.next_header() != IpProtocol::Tcp {
            continue;
        }
        let tcp = TcpPacket::new_checked(ip.payload()).unwrap();
        if tcp.syn() && !tcp.ack() {
            by_port
                .entry((ip.src_addr(), tcp.src_port()))
                .or_default()
                .push(micros);
        }
    }
    by_port
}

fn summary(run: &netlab::run::Artifacts) -> serde_json::Value {
    serde_json::from_str(&run.summary_json).unwrap()
}

#[test]
fn a_full_server_drops_syns_and_clients_retransmit_them_after_1_s_then_2_s() {
    let run = overloaded(false);
    let s = summary(&run);
    assert_eq!(s["requests"]["ok"], 10, "{}", run.summary_json);
    assert_eq!(s["requests"]["by_outcome"]["refused"], 0);
    // The gaps between a connection's SYNs: RFC 6298's 1 s, then doubled.
    let mut gaps: Vec<Vec<u64>> = syns(&run)
        .values()
        .map(|times| times.windows(2).map(|w| w[1] - w[0]).collect())
        .collect();
    gaps.retain(|g| !g.is_empty());
    assert!(!gaps.is_empty(), "some SYNs were sent again");
    // Within a microsecond: smoltcp's clock counts microseconds, the capture nanoseconds.
    let about = |gap: u64, micros: u64| gap.abs_diff(micros) <= 1;
    for gap in &gaps {
        assert!(about(gap[0], 1_000_000), "first after 1 s: {gaps:?}");
        if let Some(&second) = gap.get(1) {
            assert!(about(second, 2_000_000), "then after 2 s more: {gaps:?}");
        }
    }
    assert!(
        gaps.iter().any(|g| g.len() >= 2),
        "some SYN went three times"
    );
    let drops: usize = gaps.iter().map(Vec::len).sum();
    assert_eq!(s["servers"]["web"]["listen_drops"], drops as u64);
    // The latency steps: requests that got in at once, after 1 s, and after 3 s.
    let latencies: Vec<f64> = run
        .requests_csv
        .lines()
        .skip(1)
        .map(|row| row.split(',').nth(4).unwrap().parse().unwrap())
        .collect();
    let step = |from: f64, to: f64| latencies.iter().filter(|&&l| l >= from && l < to).count();
    assert!(step(0.0, 1000.0) >= 3, "{latencies:?}");
    assert!(step(1000.0, 3000.0) >= 1, "{latencies:?}");
    assert!(step(3000.0, 10_000.0) >= 1, "{latencies:?}");
}

#[test]
fn abort_on_overflow_resets_and_the_client_sees_refused() {
    let run = overloaded(true);
    let s = summary(&run);
    let refused = s["requests"]["by_outcome"]["refused"].as_u64().unwrap();
    assert!(refused >= 1, "{}", run.summary_json);
    assert_eq!(s["requests"]["ok"].as_u64().unwrap() + refused, 10);
    assert!(s["servers"]["web"].get("listen_drops").is_none());
    // No SYN is ever sent twice: the reset answers it at once.
    assert!(syns(&run).values().all(|times| times.len() == 1));
}

/// The L4 lab's "A full accept queue" (exercise 15): `web3` alone under dh. The latency bins
/// the page quotes, and its sum: every dropped try of every request is one `listen_drops`.
#[test]
fn the_l4_labs_overloaded_server_has_one_and_three_second_steps() {
    let run = run_path(
        &root().join("book/exercises/l4-balancing-15a.ron"),
        None,
        false,
    );
    let (mut under_1s, mut to_3s, mut beyond, mut timeouts) = (0, 0, 0, 0);
    for row in run.requests_csv.lines().skip(1) {
        let fields: Vec<&str> = row.split(',').collect();
        let latency_ms: f64 = fields[4].parse().unwrap();
        match fields[5] {
            "ok" if latency_ms < 1000.0 => under_1s += 1,
            "ok" if latency_ms < 3000.0 => to_3s += 1,
            "ok" => beyond += 1,
            "timeout" => timeouts += 1,
            other => panic!("no {other} with Linux's default"),
        }
    }
    assert_eq!((under_1s, to_3s, beyond, timeouts), (388, 217, 290, 605));
    let s = summary(&run);
    assert_eq!(
        s["servers"]["web3"]["listen_drops"],
        217 + 290 * 2 + 605 * 3
    );
}
