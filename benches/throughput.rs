//! Throughput benchmarks: scenarios scaled up to 100,000 requests.
//!
//! Run with `cargo bench`. For each scenario, prints simulated requests and frames per
//! wall-clock second. The wall clock is read here, around a run, never inside one.
//!
//! - `00-hello-web`: clients, a router and one web server (host stacks and routing);
//! - `l4-nat`: the same load through an IPVS director in NAT mode (rewrites, connection table);
//! - `02-keep-alive`'s servers with every client keeping connections (fewer, longer
//!   connections; the client's idle pool).
//!
//! `NETLAB_BENCH_RECORD=decisions` records every node's decisions as `netlab explain` does
//! (`trace::decision`), and `=all` also keeps the head of every frame: compare with an
//! unset variable to see what recording costs.

#![allow(clippy::disallowed_methods)]

use std::path::Path;
use std::time::Instant;

use netlab::report::ChartFormat;
use netlab::run::{Recording, execute_recording};
use netlab::scenario::load_file;
use netlab::scenario::model::{NodeSpec, WorkloadKind};

fn main() {
    let requests: u64 = std::env::var("NETLAB_BENCH_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    bench("hello-web", "00-hello-web.ron", requests, false);
    bench("l4-nat", "l4-nat.ron", requests, false);
    bench("hello-web keep-alive", "00-hello-web.ron", requests, true);
}

/// Runs `file` with its client groups sending `requests` in all at 1,000 per second (with
/// keep-alive on every client and server if `keep_alive`), and prints the speed.
fn bench(label: &str, file: &str, requests: u64, keep_alive: bool) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(file);
    let mut scenario = load_file(&path).expect("the scenario loads");
    // Scale the workload: the same topology, many more requests at 1,000 per second.
    let groups = scenario
        .nodes
        .iter()
        .filter(|n| matches!(n, NodeSpec::Clients { .. }))
        .count() as u64;
    for node in &mut scenario.nodes {
        match node {
            NodeSpec::Clients {
                workload,
                keep_alive: client_keep_alive,
                ..
            } => {
                workload.requests = Some(requests / groups);
                workload.duration = None;
                workload.kind = WorkloadKind::OpenLoop {
                    rate: 1_000.0 / groups as f64,
                };
                *client_keep_alive |= keep_alive;
            }
            NodeSpec::WebServer {
                keep_alive: server_keep_alive,
                ..
            } if keep_alive => {
                *server_keep_alive = Some(netlab::sim::SimDuration::from_secs(5));
            }
            _ => {}
        }
    }
    let recording = match std::env::var("NETLAB_BENCH_RECORD").as_deref() {
        Ok("decisions") => Recording {
            decisions: true,
            frames: false,
        },
        Ok("all") => Recording {
            decisions: true,
            frames: true,
        },
        _ => Recording::default(),
    };
    let started = Instant::now();
    let artifacts = execute_recording(&scenario, 1, false, ChartFormat::Svg, recording)
        .expect("the scaled run finishes");
    let wall = started.elapsed().as_secs_f64();
    let frames = artifacts.trace.net.frames_sent;
    let ok = artifacts
        .trace
        .requests
        .records()
        .iter()
        .filter(|r| r.outcome == netlab::trace::Outcome::Ok)
        .count();
    println!(
        "{label} x{requests}: {ok} ok in {:.1} s virtual, {wall:.2} s wall, {} decisions recorded",
        artifacts.end.as_secs_f64(),
        artifacts.trace.decisions.records().len()
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
