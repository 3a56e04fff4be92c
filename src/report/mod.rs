//! *Reports*: the files and the table made from a run's trace.
//!
//! - `summary.json`: the headline numbers, keys in a fixed order;
//! - `requests.csv`: one row per request, in order of start time;
//! - the terminal table printed by `netlab run`.
//!
//! Reports read only the [`Trace`](crate::trace::Trace) and the names of nodes and servers;
//! they never look into the simulation. Numbers are rounded to fixed precision so that
//! snapshots and byte-for-byte comparisons are stable.
//!
//! # Further reading
//! - `book/src/reference/output.md`.

mod metrics;
mod summary;
mod table;

pub use metrics::{LatencyStats, Metrics, PingStats, percentile};
pub use summary::{ipvsadm_txt, requests_csv, summary_json};
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
}
