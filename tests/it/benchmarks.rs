//! The ns-3 comparison (`benches/ns3/`) measures the same workload as the reference benchmark:
//! the C++ program states the scenario's numbers again, and `compare.sh` scales the scenario
//! by rewriting its `requests:`. These tests fail when the scenario changes and the script or
//! the program is not changed with it. (Running ns-3 itself takes minutes and Debian's
//! libns3-dev, so CI does not; `bash benches/ns3/compare.sh` does.)

use netlab::scenario::load_file;
use netlab::scenario::model::{NodeSpec, WorkloadKind};
use netlab::sim::SimDuration;

use super::support::root;

/// The scenario's client groups as (hosts, requests per second, requests, timeout).
fn groups() -> Vec<(u32, f64, u64, SimDuration)> {
    let scenario = load_file(&root().join("benches/reference-by-name.ron")).unwrap();
    scenario
        .nodes
        .iter()
        .filter_map(|node| match node {
            NodeSpec::Clients {
                count,
                workload,
                timeout,
                ..
            } => {
                let WorkloadKind::OpenLoop { rate } = workload.kind else {
                    panic!("the reference clients are an open loop");
                };
                Some((*count, rate, workload.requests.unwrap(), *timeout))
            }
            _ => None,
        })
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
}
