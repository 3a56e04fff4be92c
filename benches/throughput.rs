//! Throughput benchmark: `00-hello-web` scaled up to 100,000 requests.
//!
//! Run with `cargo bench`. Prints simulated requests and frames per wall-clock second.
//! The wall clock is read here, around a run, never inside one.

#![allow(clippy::disallowed_methods)]

use std::path::Path;
use std::time::Instant;

use netlab::run::execute;
use netlab::scenario::load_file;
use netlab::scenario::model::{NodeSpec, WorkloadKind};

fn main() {
    let requests: u64 = std::env::var("NETLAB_BENCH_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/00-hello-web.ron");
    let mut scenario = load_file(&path).expect("00-hello-web loads");
    // Scale the workload: the same topology, many more requests at 1,000 per second.
    for node in &mut scenario.nodes {
        if let NodeSpec::Clients { workload, .. } = node {
            workload.requests = Some(requests);
            workload.kind = WorkloadKind::OpenLoop { rate: 1_000.0 };
        }
    }
    let started = Instant::now();
    let artifacts = execute(&scenario, 1, false).expect("the scaled run finishes");
    let wall = started.elapsed().as_secs_f64();
    let frames = artifacts.trace.net.frames_sent;
    let ok = artifacts
        .trace
        .requests
        .iter()
        .filter(|r| r.outcome == netlab::trace::Outcome::Ok)
        .count();
    println!(
        "hello-web x{requests}: {ok} ok in {:.1} s virtual, {wall:.2} s wall",
        artifacts.end.as_secs_f64()
    );
    println!(
        "  {:.0} requests/s  {:.0} frames/s  {:.0} events/s  ({} frames, {} events)",
        requests as f64 / wall,
        frames as f64 / wall,
        artifacts.events as f64 / wall,
        frames,
        artifacts.events
    );
}
