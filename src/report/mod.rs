//! *Reports*: the files and the table made from a run's trace.
//!
//! - `summary.json`: the headline numbers, keys in a fixed order;
//! - `requests.csv`: one row per request, in order of start time, written while the run goes
//!   (module `rows`);
//! - the terminal table printed by `netlab run`.
//!
//! Reports read only the [`Trace`](crate::trace::Trace) and the names of nodes and servers;
//! about requests, they read the counts the trace's request log kept (`trace::Tally`) and the
//! records it kept, not one record per request of a long run;
//! they never look into the simulation. Numbers are rounded to fixed precision so that
//! snapshots and byte-for-byte comparisons are stable.
//!
//! # Further reading
//! - `book/src/reference/output.md`.

mod chart;
mod failures;
pub mod html;
mod metrics;
mod rows;
mod series;
mod summary;
mod table;

pub use chart::{
    BarSeries, ChartFormat, LATENCY_POINTS, LatencyCdf, LoadBar, PALETTE, grouped_bars_chart,
    latency_chart, load_chart, load_over_time_chart, outcomes_over_time_chart,
};
pub use failures::{FAULT_EVENTS, FailureRecord, failures};
pub use rows::{RequestRows, RowsDone};
pub use series::{TimeSeries, sorted_latencies_ms, time_series};

pub use metrics::{LatencyStats, Metrics, PingStats, percentile};
pub use summary::{
    events_csv, ipvsadm_txt, requests_csv, sorted_records, sorted_requests, summary_json,
};
pub use table::terminal_table;

use crate::sim::SimTime;
use crate::trace::Trace;

/// Everything a report needs about one finished run.
pub struct RunReport<'a> {
    /// The scenario's `name`.
    pub scenario: &'a str,
    /// The root seed used.
    pub seed: u64,
    /// Virtual time when the run ended.
    pub end: SimTime,
    /// What happened.
    pub trace: &'a Trace,
    /// Node names by node index.
    pub node_names: &'a [String],
    /// Web server names by server index.
    pub server_names: &'a [String],
    /// Web server addresses by server index.
    pub server_addrs: &'a [std::net::Ipv4Addr],
}

/// The bars of `load.svg`: each server's served count and share, and its ideal share: its
/// weight over the sum of weights when balancers list it, an equal share otherwise.
pub fn load_bars(run: &RunReport<'_>) -> Vec<LoadBar> {
    let m = Metrics::of(run);
    let total: u64 = m.served.iter().map(|(_, n)| n).sum();
    let weight_of = |index: usize| -> Option<u32> {
        let prefix = format!("{}:", run.server_addrs.get(index)?);
        let weights: Vec<u32> = run
            .trace
            .balancers
            .iter()
            .flat_map(|b| &b.services)
            .flat_map(|s| &s.real_servers)
            .filter(|rs| rs.addr.starts_with(&prefix))
            .map(|rs| rs.weight)
            .collect();
        (!weights.is_empty()).then(|| weights.iter().sum())
    };
    let weights: Vec<Option<u32>> = (0..m.served.len()).map(weight_of).collect();
    let balanced = weights.iter().any(Option::is_some);
    let weight_sum: u32 = weights.iter().flatten().sum();
    m.served
        .iter()
        .enumerate()
        .map(|(i, (server, served))| LoadBar {
            server: server.clone(),
            served: *served,
            share: if total == 0 {
                0.0
            } else {
                *served as f64 / total as f64
            },
            ideal: match (balanced, weights[i]) {
                (true, Some(w)) if weight_sum > 0 => w as f64 / weight_sum as f64,
                (true, _) => 0.0,
                (false, _) => 1.0 / m.served.len() as f64,
            },
        })
        .collect()
}
