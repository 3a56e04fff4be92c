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

use std::fmt::Write;

use crate::report::{BarSeries, ChartFormat, Metrics, RunReport, grouped_bars_chart};
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

/// The label of a variant.
fn label_of(v: &Variant) -> String {
    variant_label(&v.scheduler, &v.values)
}

/// The metrics of one variant.
fn metrics(scenario: &Scenario, variant: &Variant) -> Metrics {
    Metrics::of(&RunReport {
        scenario: &scenario.name,
        seed: variant.seed,
        end: variant.artifacts.end,
        trace: &variant.artifacts.trace,
        node_names: &variant.artifacts.node_names,
        server_names: &variant.artifacts.server_names,
        server_addrs: &variant.artifacts.server_addrs,
    })
}

/// The charts of a comparison: `load-by-scheduler.svg` (each server's share per scheduler,
/// mean with min–max across seeds) and `latency-by-scheduler.svg` (p50 and p95).
pub fn compare_charts(
    scenario: &Scenario,
    variants: &[Variant],
    format: ChartFormat,
) -> Vec<(String, Vec<u8>)> {
    let mut schedulers: Vec<String> = Vec::new();
    for v in variants {
        if !schedulers.contains(&label_of(v)) {
            schedulers.push(label_of(v));
        }
    }
    let Some(first) = variants.first() else {
        return Vec::new();
    };
    let servers = first.artifacts.server_names.clone();
    let metrics: Vec<(String, Metrics)> = variants
        .iter()
        .map(|v| (label_of(v), metrics(scenario, v)))
        .collect();
    // (mean, min, max) of `value` over the seeds of each scheduler.
    let spread = |value: &dyn Fn(&Metrics) -> f64| -> Vec<(f64, f64, f64)> {
        schedulers
            .iter()
            .map(|s| {
                let values: Vec<f64> = metrics
                    .iter()
                    .filter(|(n, _)| n == s)
                    .map(|(_, m)| value(m))
                    .collect();
                let mean = values.iter().sum::<f64>() / values.len().max(1) as f64;
                let min = values.iter().copied().fold(f64::INFINITY, f64::min);
                let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                (mean, min, max)
            })
            .collect()
    };
    let share_series: Vec<BarSeries> = servers
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let values = spread(&|m: &Metrics| {
                let total: u64 = m.served.iter().map(|(_, n)| n).sum();
                if total == 0 {
                    0.0
                } else {
                    100.0 * m.served[i].1 as f64 / total as f64
                }
            });
            (name.clone(), values)
        })
        .collect();
    let latency_series: Vec<BarSeries> = vec![
        (
            "p50".to_string(),
            spread(&|m: &Metrics| m.latency.map_or(0.0, |l| l.p50)),
        ),
        (
            "p95".to_string(),
            spread(&|m: &Metrics| m.latency.map_or(0.0, |l| l.p95)),
        ),
    ];
    let mut charts = Vec::new();
    let extension = format.extension();
    if let Ok(bytes) = grouped_bars_chart(
        format,
        &format!(
            "{}: share of requests per server, by scheduler",
            scenario.name
        ),
        "share of requests served (%)",
        &schedulers,
        &share_series,
    ) {
        charts.push((format!("load-by-scheduler.{extension}"), bytes));
    }
    if let Ok(bytes) = grouped_bars_chart(
        format,
        &format!("{}: latency by variant", scenario.name),
        "latency of successful requests (ms)",
        &schedulers,
        &latency_series,
    ) {
        charts.push((format!("latency-by-scheduler.{extension}"), bytes));
    }
    charts
}

/// `compare/report.md`: the table and the charts, with where they come from.
pub fn compare_report(
    scenario: &Scenario,
    variants: &[Variant],
    charts: &[(String, Vec<u8>)],
) -> String {
    let mut out = format!(
        "# {}: comparison\n\n{}\n\nScenario file `{}`, netlab {}.\n\n```text\n{}```\n\n",
        scenario.name,
        scenario.description,
        scenario.source_file,
        env!("CARGO_PKG_VERSION"),
        compare_table(scenario, variants)
    );
    for (name, _) in charts {
        out.push_str(&format!("![{name}]({name})\n\n"));
    }
    out
}

/// `compare.csv`: one row per variant and server. The `csv` crate quotes a field only when
/// it must (a comma, a quote or a line break inside, as a `--vary` value may hold).
pub fn compare_csv(scenario: &Scenario, variants: &[Variant]) -> String {
    let mut csv = csv::Writer::from_writer(Vec::new());
    let header = [
        "scheduler",
        "seed",
        "server",
        "served",
        "share",
        "p50_ms",
        "p95_ms",
        "p99_ms",
        "failed",
        "vary",
    ];
    csv.write_record(header)
        .expect("writing a CSV row into memory cannot fail");
    for variant in variants {
        let m = metrics(scenario, variant);
        let total: u64 = m.served.iter().map(|(_, n)| n).sum();
        let latency = m.latency.unwrap_or_default();
        let vary = variant
            .values
            .iter()
            .map(|(p, v)| format!("{p}={v}"))
            .collect::<Vec<_>>()
            .join(";");
        for (server, served) in &m.served {
            let share = if total == 0 {
                0.0
            } else {
                *served as f64 / total as f64
            };
            let row = [
                variant.scheduler.clone(),
                variant.seed.to_string(),
                server.clone(),
                served.to_string(),
                format!("{share:.4}"),
                format!("{:.3}", latency.p50),
                format!("{:.3}", latency.p95),
                format!("{:.3}", latency.p99),
                m.failed().to_string(),
                vary.clone(),
            ];
            csv.write_record(&row)
                .expect("writing a CSV row into memory cannot fail");
        }
    }
    let bytes = csv
        .into_inner()
        .expect("flushing a CSV writer into memory cannot fail");
    String::from_utf8(bytes).expect("CSV built from UTF-8 strings is UTF-8")
}

/// The terminal table: one row per variant, each server's share, latency and failures.
pub fn compare_table(scenario: &Scenario, variants: &[Variant]) -> String {
    let mut out = String::new();
    let Some(first) = variants.first() else {
        return out;
    };
    let servers: Vec<String> = first.artifacts.server_names.clone();
    // A plain scheduler comparison keeps the column called "scheduler".
    let heading = if variants.iter().all(|v| v.values.is_empty()) {
        "scheduler"
    } else {
        "variant"
    };
    let width = variants
        .iter()
        .map(|v| label_of(v).len())
        .max()
        .unwrap_or(7)
        .max(10);
    let _ = write!(out, "{:<width$} {:>5}", heading, "seed");
    for server in &servers {
        let _ = write!(out, " {server:>7}");
    }
    let _ = writeln!(out, " {:>8} {:>8} {:>7}", "p50 ms", "p95 ms", "failed");
    for variant in variants {
        let m = metrics(scenario, variant);
        let total: u64 = m.served.iter().map(|(_, n)| n).sum();
        let _ = write!(out, "{:<width$} {:>5}", label_of(variant), variant.seed);
        for (_, served) in &m.served {
            let share = if total == 0 {
                0.0
            } else {
                100.0 * *served as f64 / total as f64
            };
            let _ = write!(out, " {share:>6.1}%");
        }
        let latency = m.latency.unwrap_or_default();
        let _ = writeln!(
            out,
            " {:>8.3} {:>8.3} {:>7}",
            latency.p50,
            latency.p95,
            m.failed()
        );
    }
    out
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
            trace.requests.push(RequestRecord {
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
        Artifacts {
            summary_json: String::new(),
            requests_csv: String::new(),
            events_csv: String::new(),
            table: String::new(),
            capture: None,
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
