//! The ns-3 comparison (`benches/ns3/`) measures the same workload as the reference benchmark:
//! the C++ program states the scenario's numbers again, and `compare.sh` scales the scenario
//! by rewriting its `requests:`. These tests fail when the scenario changes and the script or
//! the program is not changed with it. (Running ns-3 itself takes minutes and Debian's
//! libns3-dev, so CI does not; `bash benches/ns3/compare.sh` does.)
//!
//! `benches/reference-links.ron` is the same workload on the ns-3 program's topology (a
//! point-to-point link per machine, where the reference scenarios have two switches); on it
//! netlab's mean latency must be ns-3's.

use netlab::scenario::load_file;
use netlab::scenario::model::{NodeSpec, WorkloadKind};
use netlab::sim::SimDuration;

use super::support::{root, run_path};

/// One `Clients` node of a reference scenario.
struct Group {
    /// Its hosts.
    hosts: u32,
    /// The server it asks, and the path.
    url: (String, String),
    /// Requests per second, for the whole group.
    rate: f64,
    /// Requests in all.
    requests: u64,
    /// Per-request timeout.
    timeout: SimDuration,
}

/// The `Clients` nodes of `benches/FILE`, in file order.
fn groups_of(file: &str) -> Vec<Group> {
    let scenario = load_file(&root().join("benches").join(file)).unwrap();
    scenario
        .nodes
        .iter()
        .filter_map(|node| match node {
            NodeSpec::Clients {
                count,
                url,
                workload,
                timeout,
                ..
            } => {
                let WorkloadKind::OpenLoop { rate } = workload.kind else {
                    panic!("the reference clients are an open loop");
                };
                Some(Group {
                    hosts: *count,
                    url: (url.host.clone(), url.path.clone()),
                    rate,
                    requests: workload.requests.unwrap(),
                    timeout: *timeout,
                })
            }
            _ => None,
        })
        .collect()
}

/// The by-name scenario's client groups as (hosts, requests per second, requests, timeout).
fn groups() -> Vec<(u32, f64, u64, SimDuration)> {
    groups_of("reference-by-name.ron")
        .into_iter()
        .map(|g| (g.hosts, g.rate, g.requests, g.timeout))
        .collect()
}

#[test]
fn the_ns3_program_states_the_reference_scenarios_workload() {
    let program = std::fs::read_to_string(root().join("benches/ns3/reference.cc")).unwrap();
    let groups = groups();
    let sizes: Vec<String> = groups.iter().map(|g| g.0.to_string()).collect();
    assert!(
        program.contains(&format!("sizes[4] = {{{}}}", sizes.join(", "))),
        "reference.cc's group sizes differ from the scenario's {sizes:?}"
    );
    assert!(groups.iter().all(|g| g.1 == 250.0), "rates {groups:?}");
    assert!(program.contains("250.0, requests / 4"));
    assert!(groups.iter().all(|g| g.3 == SimDuration::from_secs(5)));
    assert!(program.contains("kTimeout = Seconds(5)"));
    let scenario = std::fs::read_to_string(root().join("benches/reference-by-name.ron")).unwrap();
    for (needle, in_program) in [
        ("bandwidth: \"1Gbps\", delay: \"1ms\"", "\"1ms\""),
        ("bandwidth: \"1Gbps\", delay: \"100us\"", "\"100us\""),
        ("response_size: \"10KiB\"", "kResponseBytes = 10 * 1024"),
    ] {
        assert!(scenario.contains(needle), "the scenario lost {needle}");
        assert!(
            program.contains(in_program),
            "reference.cc lost {in_program}"
        );
    }
}

#[test]
fn the_comparison_script_can_scale_every_client_group() {
    let script = std::fs::read_to_string(root().join("benches/ns3/compare.sh")).unwrap();
    let scenario = std::fs::read_to_string(root().join("benches/reference-by-name.ron")).unwrap();
    // compare.sh rewrites `requests: 2500)` into a quarter of the size asked for.
    assert!(script.contains("s/requests: 2500)/requests: $((n / 4)))/"));
    let groups = groups();
    assert_eq!(groups.len(), 4);
    assert!(groups.iter().all(|g| g.2 == 2500), "requests {groups:?}");
    assert_eq!(scenario.matches("requests: 2500)").count(), groups.len());
    // It runs the links scenario too, splitting each group's share among its hosts as the file
    // does (the script checks its split gives back the file at 10,000 requests).
    assert!(script.contains("benches/reference-links.ron"));
    assert!(script.contains("assert n != 10000 or scaled == text"));
}

/// Per server asked (in order of first appearance): the hosts asking it, their requests per
/// second and their requests in all, and the path they ask for, from the `Clients` of `file`.
fn load_by_server(file: &str) -> Vec<(String, u32, f64, u64, String)> {
    let mut servers: Vec<(String, u32, f64, u64, String)> = Vec::new();
    for g in groups_of(file) {
        let (host, path) = g.url;
        match servers.iter_mut().find(|s| s.0 == host) {
            Some(s) => {
                assert_eq!(s.4, path, "{file}: two paths for {host}");
                s.1 += g.hosts;
                s.2 += g.rate;
                s.3 += g.requests;
            }
            None => servers.push((host, g.hosts, g.rate, g.requests, path)),
        }
    }
    servers
}

#[test]
fn the_links_scenario_is_the_reference_workload_on_links() {
    let switched = load_by_server("reference-by-name.ron");
    let links = load_by_server("reference-links.ron");
    assert_eq!(links.len(), switched.len());
    for (l, s) in links.iter().zip(&switched) {
        assert_eq!((&l.0, l.1, l.3, &l.4), (&s.0, s.1, s.3, &s.4), "{links:?}");
        assert!(
            (l.2 - s.2).abs() < 1e-9,
            "rates {links:?} against {switched:?}"
        );
    }
    let text = std::fs::read_to_string(root().join("benches/reference-links.ron")).unwrap();
    assert_eq!(
        text.matches("delay: \"1ms\"").count(),
        10,
        "a 1 ms link per client"
    );
    assert_eq!(
        text.matches("delay: \"100us\"").count(),
        4,
        "a 0.1 ms link per server"
    );
    assert_eq!(text.matches("bandwidth: \"1Gbps\"").count(), 14);
    assert_eq!(text.matches("response_size: \"10KiB\"").count(), 4);
    assert!(!text.contains("segments:"), "no switched segment");
}

/// ns-3's mean latency on the reference workload, from `bash benches/ns3/compare.sh`
/// (BENCHMARKS.md, "Against ns-3": 4.506 ms at 10,000 and at 100,000 requests).
const NS3_MEAN_MS: f64 = 4.506;

/// What a run of a reference scenario shows.
struct ReferenceRun {
    /// The mean latency, in milliseconds.
    mean_ms: f64,
    /// Frames sent by the hosts and the router (each frame of a request is sent twice).
    frames_sent: u64,
    /// Events the loop handled.
    events: u64,
}

/// Runs `benches/FILE`, whose 10,000 requests must all succeed.
fn reference_run(file: &str) -> ReferenceRun {
    let run = run_path(&root().join("benches").join(file), None, false);
    let summary: serde_json::Value = serde_json::from_str(&run.summary_json).unwrap();
    assert_eq!(summary["requests"]["ok"], 10_000, "{}", run.table);
    ReferenceRun {
        mean_ms: summary["latency_ms"]["mean"].as_f64().unwrap(),
        frames_sent: summary["network"]["frames_sent"].as_u64().unwrap(),
        events: run.events,
    }
}

/// The figures BENCHMARKS.md (round 15), the README and the book's engine chapter ("Wires",
/// and "What a request costs" in "The event loop") quote.
#[test]
fn on_the_ns3_topology_netlabs_mean_latency_is_ns3s() {
    // The same physics (1 Gbps, 1 ms and 0.1 ms one way, two round trips and the response's
    // serialisation) gives the same latency in two simulators that share no code.
    let links = reference_run("reference-links.ron").mean_ms;
    assert_eq!(links, 4.510);
    assert!(
        (links - NS3_MEAN_MS).abs() <= 0.005,
        "netlab {links} ms, ns-3 {NS3_MEAN_MS} ms"
    );
    // The switches of the reference scenario store and send each frame once more.
    let switched = reference_run("reference-by-name.ron");
    assert_eq!(switched.mean_ms, 4.547);
    // The book's event loop section ("What a request costs"): 18 frames a request, each sent
    // by a host and by the router (and 28 ARP frames), each handled on arrival at a switch,
    // the router, a switch and a host: 72 events, and one or two wake-ups.
    assert_eq!(switched.frames_sent, 18 * 2 * 10_000 + 28);
    assert_eq!(switched.events, 735_254);
    assert_eq!(switched.events / 10_000, 73);
}
