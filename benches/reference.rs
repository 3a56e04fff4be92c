//! The reference workload of issue 15: requests per CPU-second of user time, and peak memory.
//!
//! Two scenarios sit beside this file: `reference-by-name.ron` (ten clients, a router, four
//! web servers, each client group asking one server by name) and `reference-ipvs.ron` (the
//! same through an IPVS director, NAT, `rr`). Both offer 1,000 requests per second in all, a
//! fresh TCP connection per request, a 200-byte request and a 10 KiB response. A third,
//! `reference-links.ron`, is the by-name workload on the ns-3 program's point-to-point links
//! instead of switches; it is not measured here (BENCHMARKS.md, round 15).
//!
//! Every measured run happens in a child process (this same program, started again with
//! `NETLAB_BENCH_CHILD` set), so that its peak memory is its own and its user time is read by
//! the operating system (`getrusage`) rather than by a wall clock that other builds on a
//! shared machine would inflate. The figure kept is the best of the runs: the one least
//! disturbed. The first lines say which processor ran them: figures from two machines do
//! not compare (BENCHMARKS.md, round 12). The last line is the same requests in smoltcp
//! alone (`floor/mod.rs`), measured the same way, and netlab's cost as a multiple of it
//! (BENCHMARKS.md, round 16).
//!
//! ```text
//! cargo bench --bench reference                       # 100,000 requests, best of 5
//! NETLAB_BENCH_REQUESTS=10000 NETLAB_BENCH_RUNS=1 cargo bench --bench reference
//! NETLAB_BENCH_SCALING=1 cargo bench --bench reference  # also the cost-per-request checks
//! ```
//!
//! `NETLAB_BENCH_SCALING=1` adds the checks that cost per request does not depend on load:
//! 20,000 requests per second offered (the wires widened to 10 Gbps so the network is not the
//! bottleneck) against 1,000; ten times the server slots; 1,000,000 requests against
//! 100,000 (or ten times `NETLAB_BENCH_REQUESTS`). Each prints its ratio; they are long, so
//! they are opt-in. A check's runs alternate with runs of the base (base, check, base,
//! check...) and the ratio is of the best of each: a busy spell on a shared machine that
//! lasts longer than a few runs then slows both sides, where measuring all the base's runs
//! and then all the check's let it fall on one side only (a ratio of ×1.59 in one call and
//! ×1.42 in the next, BENCHMARKS.md round 11).

#![allow(clippy::disallowed_methods)]

use std::path::Path;
use std::process::Command;

use netlab::capture::CaptureOptions;
use netlab::net::Bandwidth;
use netlab::report::ChartFormat;
use netlab::run::execute_streaming;
use netlab::scenario::load_file;
use netlab::scenario::model::{NodeSpec, Scenario, WorkloadKind};
use netlab::trace::Outcome;

mod floor;
mod measure;

use measure::{env_u64, machine, rusage, user_seconds};

/// The two variants: a label and the scenario file in `benches/`.
const VARIANTS: [(&str, &str); 2] = [
    ("by name", "reference-by-name.ron"),
    ("ipvs nat rr", "reference-ipvs.ron"),
];

/// The child that runs the reference's exchange in smoltcp alone (`floor/mod.rs`) instead of
/// a scenario: the floor under netlab's cost, measured the same way, so that netlab's cost
/// can be said as a multiple of it (BENCHMARKS.md, round 16).
const FLOOR: &str = "floor";

/// How one run is changed from the file: the knobs of the scaling checks.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Knobs {
    /// Requests in all.
    requests: u64,
    /// Offered requests per second in all (the file's 1,000 scaled).
    rate: f64,
    /// Server slots (workers and backlog) multiplied by this.
    slots: u32,
}

/// What one child run reports.
#[derive(Clone, Copy, Debug)]
struct Measure {
    /// User CPU seconds of the whole child (load, build, run, render).
    user_s: f64,
    /// Peak resident set size, in MiB.
    peak_mib: f64,
    /// Requests that ended `ok`.
    ok: u64,
}

impl Measure {
    /// Requests per CPU-second of user time.
    fn rate(&self, knobs: Knobs) -> f64 {
        knobs.requests as f64 / self.user_s
    }

    /// Microseconds of user time per request.
    fn cost_us(&self, knobs: Knobs) -> f64 {
        self.user_s * 1e6 / knobs.requests as f64
    }
}

fn main() {
    if let Ok(spec) = std::env::var("NETLAB_BENCH_CHILD") {
        child(&spec);
        return;
    }
    let requests = env_u64("NETLAB_BENCH_REQUESTS", 100_000);
    let runs = env_u64("NETLAB_BENCH_RUNS", 5).max(1);
    let base = Knobs {
        requests,
        rate: 1_000.0,
        slots: 1,
    };
    println!("reference workload: {requests} requests, best of {runs} (user CPU time)");
    // Figures from two machines cannot be compared, and a machine kind can change under the
    // same name (BENCHMARKS.md, round 12): say which processor these come from.
    println!("machine: {}", machine());
    let mut costs = Vec::new();
    for (label, file) in VARIANTS {
        let m = best(file, base, runs);
        println!(
            "  {label:<12} {:>8.0} req/CPU-s  {:>6.2} us/req  peak {:>6.1} MiB  ({} ok)",
            m.rate(base),
            m.cost_us(base),
            m.peak_mib,
            m.ok
        );
        costs.push((label, m.cost_us(base)));
    }
    // What the same requests cost in smoltcp alone, and netlab as a multiple of it: a ratio
    // whose two sides ran on the same machine in the same call.
    let floor = best(FLOOR, base, runs);
    let multiples: Vec<String> = costs
        .iter()
        .map(|(label, cost)| format!("{label} x{:.2}", cost / floor.cost_us(base)))
        .collect();
    println!(
        "  {:<12} {:>8.0} req/CPU-s  {:>6.2} us/req  (netlab: {})",
        "smoltcp alone",
        floor.rate(base),
        floor.cost_us(base),
        multiples.join(", ")
    );
    if std::env::var("NETLAB_BENCH_SCALING").is_ok() {
        scaling(base, runs);
    }
}

/// The cost-per-request checks: each changed run against the base run, per variant.
fn scaling(base: Knobs, runs: u64) {
    let checks = [
        (
            "20,000 req/s offered",
            Knobs {
                rate: 20_000.0,
                ..base
            },
        ),
        ("10x server slots", Knobs { slots: 10, ..base }),
        (
            "10x requests",
            Knobs {
                requests: base.requests * 10,
                ..base
            },
        ),
    ];
    println!(
        "cost per request against {} requests at 1,000 req/s:",
        base.requests
    );
    for (label, file) in VARIANTS {
        for (what, knobs) in checks {
            let (reference, m) = best_alternating(file, base, knobs, runs);
            println!(
                "  {label:<12} {what:<22} x{:.2}  ({:.2} vs {:.2} us/req, peak {:.1} MiB, {} of {} ok)",
                m.cost_us(knobs) / reference.cost_us(base),
                m.cost_us(knobs),
                reference.cost_us(base),
                m.peak_mib,
                m.ok,
                knobs.requests
            );
        }
    }
}

/// The best (least user time) of `runs` child runs.
fn best(file: &str, knobs: Knobs, runs: u64) -> Measure {
    (0..runs)
        .map(|_| spawn(file, knobs))
        .min_by(|a, b| a.user_s.total_cmp(&b.user_s))
        .expect("at least one run")
}

/// The best of `runs` child runs of `a` and of `b`, the runs alternating (a, b, a, b...).
fn best_alternating(file: &str, a: Knobs, b: Knobs, runs: u64) -> (Measure, Measure) {
    let pairs: Vec<(Measure, Measure)> = (0..runs)
        .map(|_| (spawn(file, a), spawn(file, b)))
        .collect();
    let least = |side: fn(&(Measure, Measure)) -> &Measure| {
        pairs
            .iter()
            .map(side)
            .min_by(|x, y| x.user_s.total_cmp(&y.user_s))
            .copied()
            .expect("at least one run")
    };
    (least(|pair| &pair.0), least(|pair| &pair.1))
}

/// Runs this program again as a child measuring one run, and reads its one line of figures.
fn spawn(file: &str, knobs: Knobs) -> Measure {
    let exe = std::env::current_exe().expect("the bench knows its own path");
    let spec = format!("{file}:{}:{}:{}", knobs.requests, knobs.rate, knobs.slots);
    let out = Command::new(exe)
        .env("NETLAB_BENCH_CHILD", spec)
        .output()
        .expect("the child starts");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fields: Vec<f64> = text
        .split_whitespace()
        .map(|f| f.parse().expect("a number"))
        .collect();
    Measure {
        user_s: fields[0],
        peak_mib: fields[1],
        ok: fields[2] as u64,
    }
}

/// In the child: one run, then `user_seconds peak_mib ok` on stdout.
fn child(spec: &str) {
    let parts: Vec<&str> = spec.split(':').collect();
    if parts[0] == FLOOR {
        let requests = parts[1].parse().expect("requests");
        let outcome = floor::run(requests);
        floor::check(&outcome, requests);
        return print_usage(outcome.requests);
    }
    let knobs = Knobs {
        requests: parts[1].parse().expect("requests"),
        rate: parts[2].parse().expect("rate"),
        slots: parts[3].parse().expect("slots"),
    };
    let scenario = scenario(parts[0], knobs);
    // What `netlab run` does, with `requests.csv` streamed into nothing instead of a file.
    let artifacts = execute_streaming(
        &scenario,
        scenario.seed,
        ChartFormat::Svg,
        CaptureOptions::memory(false),
        Box::new(std::io::sink()),
        |_| {},
    )
    .expect("the run finishes");
    print_usage(artifacts.trace.requests.tally().count(Outcome::Ok));
}

/// The child's one line of figures: its user time, its peak memory and the requests `ok`.
fn print_usage(ok: u64) {
    println!(
        "{} {} {ok}",
        user_seconds(),
        // Linux reports ru_maxrss in KiB.
        rusage().ru_maxrss as f64 / 1024.0
    );
}

/// The scenario `file` of `benches/`, changed by `knobs`.
fn scenario(file: &str, knobs: Knobs) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("benches")
        .join(file);
    let mut scenario = load_file(&path).expect("the reference scenario loads");
    let file_rate: f64 = scenario
        .nodes
        .iter()
        .filter_map(|n| match n {
            NodeSpec::Clients { workload, .. } => match workload.kind {
                WorkloadKind::OpenLoop { rate } => Some(rate),
                WorkloadKind::ClosedLoop { .. } => None,
            },
            _ => None,
        })
        .sum();
    let speed_up = knobs.rate / file_rate;
    for node in &mut scenario.nodes {
        match node {
            NodeSpec::Clients { workload, .. } => {
                if let WorkloadKind::OpenLoop { rate } = &mut workload.kind {
                    workload.requests = Some((knobs.requests as f64 * *rate / file_rate) as u64);
                    *rate *= speed_up;
                }
                workload.duration = None;
            }
            NodeSpec::WebServer {
                workers, backlog, ..
            } => {
                *workers *= knobs.slots;
                *backlog *= knobs.slots;
            }
            _ => {}
        }
    }
    if knobs.rate > 1_000.0 {
        // Widen the wires so that the network is not the bottleneck: at 20,000 requests per
        // second the 10 KiB responses alone are 1.6 Gbps, more than the router's (or the
        // director's) one 1 Gbps port on the server side can carry.
        for segment in &mut scenario.segments {
            segment.config.bandwidth = Bandwidth::from_bits_per_sec(10_000_000_000);
        }
    }
    scenario
}
