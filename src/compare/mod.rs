//! *Comparison runs*: the same scenario with one thing changed, side by side.
//!
//! An experiment changes one thing and keeps everything else equal. `netlab compare` runs a
//! scenario once per *variant*: per IPVS scheduler (replacing the scheduler of every virtual
//! service), and/or per value of fields named with `--vary` (see `scenario::vary`; several
//! `--vary` make a grid), and once per seed when asked for several; then it tabulates how
//! each variant spread the load and what the users saw.
//!
//! The runs are independent, so they go in parallel over the machine's cores (rayon); the
//! results are put back in (scheduler, seed) order, so the thread count never changes a byte
//! of the output.
//!
//! Beyond one machine, the job list is cut into slices (`shard`): each slice runs anywhere
//! and writes a partial result, and `merge` puts the partial results back in job order, so
//! the files (`render`) are the same bytes as one machine's.

pub mod merge;
pub mod render;
pub mod shard;

pub use merge::{MergeError, merge};
pub use render::{Heading, Measured};
pub use shard::{Partial, Shard};

use crate::report::{ChartFormat, Metrics, RunReport};
use crate::run::Artifacts;
#[cfg(feature = "native")]
use crate::run::execute;
use crate::scenario::Scenario;
use crate::scenario::model::NodeSpec;
#[cfg(feature = "native")]
use crate::world::RunError;

/// One run of a comparison.
pub struct Variant {
    /// The scheduler every service used (`-` when the scenario's own were kept).
    pub scheduler: String,
    /// The varied fields and their values in this run.
    pub values: Vec<(String, String)>,
    /// The root seed.
    pub seed: u64,
    /// What the run produced.
    pub artifacts: Artifacts,
}

/// `scenario` with every virtual service's scheduler replaced by `scheduler`.
pub fn with_scheduler(scenario: &Scenario, scheduler: &str) -> Scenario {
    let mut changed = scenario.clone();
    for node in &mut changed.nodes {
        if let NodeSpec::L4Balancer { services, .. } = node {
            for service in services {
                service.scheduler = scheduler.to_string();
            }
        }
    }
    changed
}

#[cfg(feature = "native")] // threads (rayon): not in the browser build
/// Runs `scenario` once per scheduler and seed (`seeds` consecutive seeds from `first_seed`),
/// on `threads` threads (0: one per core).
pub fn run_schedulers(
    scenario: &Scenario,
    schedulers: &[String],
    first_seed: u64,
    seeds: u64,
    threads: usize,
) -> Result<Vec<Variant>, (String, RunError)> {
    let jobs = schedulers
        .iter()
        .flat_map(|name| {
            (first_seed..first_seed + seeds.max(1)).map(move |seed| Job {
                scenario: scenario.clone(),
                scheduler: Some(name.clone()),
                values: Vec::new(),
                seed,
            })
        })
        .collect();
    run_jobs(jobs, threads, &|| {})
}

/// One run to make: a checked scenario, what was changed in it, and the seed.
pub struct Job {
    /// The scenario as changed.
    pub scenario: Scenario,
    /// The scheduler forced on every service, or `None` to keep the scenario's.
    pub scheduler: Option<String>,
    /// The varied fields and their values.
    pub values: Vec<(String, String)>,
    /// The root seed.
    pub seed: u64,
}

#[cfg(feature = "native")] // threads (rayon): not in the browser build
/// Runs every job, on `threads` threads (0: one per core); results come back in job order.
/// `finished` is called once after each run (for a progress bar); it must not affect results.
pub fn run_jobs(
    jobs: Vec<Job>,
    threads: usize,
    finished: &(dyn Fn() + Sync),
) -> Result<Vec<Variant>, (String, RunError)> {
    use rayon::prelude::*;
    let run_all = || {
        jobs.par_iter()
            .map(|job| {
                let scenario = match &job.scheduler {
                    Some(name) => with_scheduler(&job.scenario, name),
                    None => job.scenario.clone(),
                };
                let label = job.scheduler.clone().unwrap_or_else(|| "-".to_string());
                let result = execute(&scenario, job.seed, false);
                finished();
                result
                    .map(|artifacts| Variant {
                        scheduler: label.clone(),
                        values: job.values.clone(),
                        seed: job.seed,
                        artifacts,
                    })
                    .map_err(|e| (variant_label(&label, &job.values), e))
            })
            .collect::<Result<Vec<Variant>, _>>()
    };
    match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
        Ok(pool) => pool.install(run_all),
        Err(_) => run_all(),
    }
}

/// How a variant is named in tables and charts: the scheduler (if varied), then the varied
/// fields by their last path step (`ttl=10s`).
pub fn variant_label(scheduler: &str, values: &[(String, String)]) -> String {
    let mut parts: Vec<String> = Vec::new();
    if scheduler != "-" {
        parts.push(scheduler.to_string());
    }
    for (path, value) in values {
        let field = path.rsplit('.').next().unwrap_or(path);
        parts.push(format!("{field}={value}"));
    }
    if parts.is_empty() {
        "as is".to_string()
    } else {
        parts.join(" ")
    }
}

impl Variant {
    /// What the comparison's files show of this run.
    pub fn measured(&self, scenario: &Scenario) -> Measured {
        let m = Metrics::of(&RunReport {
            scenario: &scenario.name,
            seed: self.seed,
            end: self.artifacts.end,
            trace: &self.artifacts.trace,
            node_names: &self.artifacts.node_names,
            server_names: &self.artifacts.server_names,
            server_addrs: &self.artifacts.server_addrs,
        });
        let latency = m.latency.unwrap_or_default();
        Measured {
            scheduler: self.scheduler.clone(),
            values: self.values.clone(),
            seed: self.seed,
            failed: m.failed(),
            served: m.served,
            latency_ms: [latency.p50, latency.p95, latency.p99],
        }
    }
}

/// What the files show of each run, in order.
fn measured(scenario: &Scenario, variants: &[Variant]) -> Vec<Measured> {
    variants.iter().map(|v| v.measured(scenario)).collect()
}

/// The charts of a comparison (see [`render::charts`]).
pub fn compare_charts(
    scenario: &Scenario,
    variants: &[Variant],
    format: ChartFormat,
) -> Vec<(String, Vec<u8>)> {
    render::charts(&scenario.name, &measured(scenario, variants), format)
}

/// `compare/report.md` (see [`render::report`]).
pub fn compare_report(
    scenario: &Scenario,
    variants: &[Variant],
    charts: &[(String, Vec<u8>)],
) -> String {
    render::report(
        &Heading::of(scenario),
        &measured(scenario, variants),
        charts,
    )
}

/// `compare.csv` (see [`render::csv`]).
pub fn compare_csv(scenario: &Scenario, variants: &[Variant]) -> String {
    render::csv(&measured(scenario, variants))
}

/// The terminal table (see [`render::table`]).
pub fn compare_table(scenario: &Scenario, variants: &[Variant]) -> String {
    render::table(&measured(scenario, variants))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::TimeSeries;
    use crate::sim::{SimDuration, SimTime};
    use crate::trace::{Outcome, RequestRecord, Trace};

    /// A field that would shift the columns of a hand-written CSV file.
    const AWKWARD: &str = "web \"A\", rack 2\nsecond line";

    /// A finished run in which each server answered one request.
    fn artifacts(server_names: &[&str]) -> Artifacts {
        let mut trace = Trace::default();
        for (index, _) in server_names.iter().enumerate() {
            trace.request(RequestRecord {
                client_node: 0,
                client_seq: index as u64,
                start: SimTime::ZERO,
                end: SimTime::ZERO + SimDuration::from_millis(4),
                outcome: Outcome::Ok,
                server: Some(index),
                status: Some(200),
                remote_ip: None,
                reused_connection: false,
            });
        }
        trace.finish_requests();
        Artifacts {
            summary_json: String::new(),
            requests_csv: String::new(),
            requests_streamed: false,
            requests_error: None,
            events_csv: String::new(),
            table: String::new(),
            captures: Vec::new(),
            capture_error: None,
            ipvsadm_txt: None,
            keepalived_confs: Vec::new(),
            load_bars: Vec::new(),
            charts: Vec::new(),
            series: TimeSeries {
                bin: SimDuration::from_secs(1),
                starts_s: Vec::new(),
                ok_per_s: Vec::new(),
                failed_per_s: Vec::new(),
                served_per_s: Vec::new(),
                markers: Vec::new(),
            },
            report_md: String::new(),
            report_html: None,
            trace,
            end: SimTime::ZERO + SimDuration::from_secs(1),
            events: 0,
            node_names: vec!["pc".to_string()],
            server_names: server_names.iter().map(|s| s.to_string()).collect(),
            server_addrs: Vec::new(),
        }
    }

    #[test]
    fn awkward_names_and_values_stay_in_their_columns() {
        let text = r#"Scenario(
            name: "t",
            description: "a router alone",
            segments: [(name: "lan")],
            nodes: [Router(name: "r1", interfaces: [(attach: "lan", ip: "10.0.0.1/24")])],
        )"#;
        let scenario = crate::scenario::load_str("t.ron", text).unwrap();
        let variants = [
            Variant {
                scheduler: "rr".to_string(),
                values: Vec::new(),
                seed: 1,
                artifacts: artifacts(&["web1", "web2"]),
            },
            Variant {
                scheduler: "-".to_string(),
                values: vec![("nodes.web.name".to_string(), AWKWARD.to_string())],
                seed: 2,
                artifacts: artifacts(&["web1", AWKWARD]),
            },
        ];
        let text = compare_csv(&scenario, &variants);
        let rows: Vec<Vec<String>> = csv::Reader::from_reader(text.as_bytes())
            .records()
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect();
        assert_eq!(rows.len(), 4, "{text}");
        assert!(rows.iter().all(|row| row.len() == 10), "{rows:?}");
        assert_eq!(rows[3][2], AWKWARD);
        assert_eq!(rows[3][9], format!("nodes.web.name={AWKWARD}"));
        // Fields that need no quotes are written as before, byte for byte.
        assert!(text.starts_with(
            "scheduler,seed,server,served,share,p50_ms,p95_ms,p99_ms,failed,vary\n\
             rr,1,web1,1,0.5000,4.000,4.000,4.000,0,\n"
        ));
    }
}
