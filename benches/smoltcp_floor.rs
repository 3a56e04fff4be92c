//! smoltcp alone: the reference's exchange with nothing around it (`floor/mod.rs` says what
//! it runs and why), the floor under netlab's cost per request. BENCHMARKS.md, round 16.
//!
//! ```text
//! cargo bench --bench smoltcp_floor                       # 100,000 requests, best of 5
//! NETLAB_BENCH_REQUESTS=10000 cargo bench --bench smoltcp_floor
//! ```

#![allow(clippy::disallowed_methods)]

mod floor;
mod measure;

use measure::{env_u64, machine, user_seconds};

fn main() {
    let requests = env_u64("NETLAB_BENCH_REQUESTS", 100_000);
    let runs = env_u64("NETLAB_BENCH_RUNS", 5).max(1);
    println!("smoltcp alone, one request at a time, {requests} requests, best of {runs}");
    println!("machine: {}", machine());
    let mut best = f64::INFINITY;
    for _ in 0..runs {
        let before = user_seconds();
        let outcome = floor::run(requests);
        let seconds = user_seconds() - before;
        best = best.min(seconds);
        floor::check(&outcome, requests);
        println!(
            "  {:.3} s user, {:.1} frames a request, {:.3} ms a request in virtual time",
            seconds,
            outcome.frames as f64 / requests as f64,
            outcome.virtual_end.total_micros() as f64 / 1000.0 / requests as f64,
        );
    }
    println!(
        "floor: {:.0} requests per CPU-second ({:.2} µs a request)",
        requests as f64 / best,
        best * 1e6 / requests as f64,
    );
}
