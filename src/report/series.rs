//! *Time series*: what the over-time charts plot, computed from the trace.
//!
//! Requests are counted in fixed time bins by the time they *started*, so a bin shows what
//! happened to the users who tried at that moment (a failover dip lines up with the fault
//! that caused it). The bin width grows with the run: 1 s up to two minutes, then 2, 5, 10 s...
//! so a chart never has more than about 120 bars.

use super::RunReport;
use crate::sim::{SimDuration, SimTime};

/// Per-bin counts for the over-time charts.
#[derive(Clone, Debug, PartialEq)]
pub struct TimeSeries {
    /// Bin width.
    pub bin: SimDuration,
    /// Start of each bin, in seconds.
    pub starts_s: Vec<f64>,
    /// Requests per second that ended `ok`, per bin.
    pub ok_per_s: Vec<f64>,
    /// Requests per second that failed, per bin.
    pub failed_per_s: Vec<f64>,
    /// For each server (server order), responses per second per bin.
    pub served_per_s: Vec<Vec<f64>>,
    /// Events worth marking: (time in s, label).
    pub markers: Vec<(f64, String)>,
}

/// A bin width that keeps the number of bins near 120 or fewer.
fn bin_width(end: SimTime) -> SimDuration {
    let seconds = end.as_secs_f64();
    for width in [1, 2, 5, 10, 30, 60, 300, 600] {
        if seconds / width as f64 <= 120.0 {
            return SimDuration::from_secs(width);
        }
    }
    SimDuration::from_secs(3600)
}

/// The series of a run.
pub fn time_series(run: &RunReport<'_>) -> TimeSeries {
    let bin = bin_width(run.end);
    let bins = (run.end.as_nanos() / bin.as_nanos()) as usize + 1;
    let per_s = 1.0 / bin.as_secs_f64();
    // Counts per bin from the log's counts per second (every bin width is whole seconds).
    let width = (bin.as_nanos() / 1_000_000_000) as usize;
    let mut ok = vec![0; bins];
    let mut failed = vec![0; bins];
    let mut served = vec![vec![0; bins]; run.server_names.len()];
    for (second, counts) in run.trace.requests.tally().seconds.iter().enumerate() {
        let i = (second / width).min(bins - 1);
        ok[i] += counts.ok;
        failed[i] += counts.failed;
        for (server, n) in counts.served.iter().enumerate() {
            served[server][i] += n;
        }
    }
    // Each request adds `per_s` once, as a sum of that many terms, so the figures are the
    // same to the last bit as when requests were added one by one.
    let rate = |counts: Vec<u64>| -> Vec<f64> {
        counts
            .into_iter()
            .map(|n| (0..n).fold(0.0, |sum, _| sum + per_s))
            .collect()
    };
    let ok = rate(ok);
    let failed = rate(failed);
    let served: Vec<Vec<f64>> = served.into_iter().map(rate).collect();
    let markers = run
        .trace
        .events
        .iter()
        .filter(|e| !e.event.ends_with("_cleared"))
        .map(|e| (e.at.as_secs_f64(), format!("{} {}", e.target, e.event)))
        .collect();
    TimeSeries {
        bin,
        starts_s: (0..bins)
            .map(|i| (i as u64 * bin.as_nanos()) as f64 / 1e9)
            .collect(),
        ok_per_s: ok,
        failed_per_s: failed,
        served_per_s: served,
        markers,
    }
}

/// Latencies of `ok` requests in milliseconds, sorted: the points of the CDF.
pub fn sorted_latencies_ms(run: &RunReport<'_>) -> Vec<f64> {
    run.trace.requests.tally().sorted_latencies_ms()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_stay_few() {
        assert_eq!(
            bin_width(SimTime::ZERO + SimDuration::from_secs(60)),
            SimDuration::from_secs(1)
        );
        assert_eq!(
            bin_width(SimTime::ZERO + SimDuration::from_secs(200)),
            SimDuration::from_secs(2)
        );
        assert_eq!(
            bin_width(SimTime::ZERO + SimDuration::from_secs(3000)),
            SimDuration::from_secs(30)
        );
    }
}
