//! smoltcp alone: the reference's exchange with nothing around it (`floor/mod.rs` says what
//! it runs and why), the floor under netlab's cost per request. BENCHMARKS.md, round 16.
//!
//! ```text
//! cargo bench --bench smoltcp_floor                       # 100,000 requests, best of 5
//! NETLAB_BENCH_REQUESTS=10000 cargo bench --bench smoltcp_floor
//! ```

#![allow(clippy::disallowed_methods)]

mod floor;

fn main() {
    let requests: u64 = std::env::var("NETLAB_BENCH_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let runs: usize = std::env::var("NETLAB_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    println!("smoltcp alone, one request at a time, {requests} requests, best of {runs}");
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

/// This process's user time so far, in seconds (`getrusage`).
fn user_seconds() -> f64 {
    // SAFETY: getrusage only writes into the struct we hand it; a zeroed `rusage` is valid.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    usage.ru_utime.tv_sec as f64 + usage.ru_utime.tv_usec as f64 / 1e6
}
