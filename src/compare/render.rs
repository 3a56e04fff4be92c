//! *A comparison's files*, drawn from what each run measured.
//!
//! `compare.csv`, `report.md`, the terminal table and the two charts depend only on a
//! [`Measured`] per run (in job order) and the scenario's [`Heading`]. An unsharded
//! `netlab compare` and a `netlab merge` of its shards hand these functions the same values,
//! so they write the same bytes.

use std::fmt::Write;

use crate::report::{BarSeries, ChartFormat, grouped_bars_chart};

/// What the report says about the scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heading {
    /// The scenario's name.
    pub name: String,
    /// Its one-line description.
    pub description: String,
    /// The file, as the user named it.
    pub source_file: String,
}

impl Heading {
    /// The heading of `scenario`.
    pub fn of(scenario: &crate::scenario::Scenario) -> Heading {
        Heading {
            name: scenario.name.clone(),
            description: scenario.description.clone(),
            source_file: scenario.source_file.clone(),
        }
    }
}

/// What a comparison keeps of one run: the variant, and the few numbers its files show.
#[derive(Clone, Debug, PartialEq)]
pub struct Measured {
    /// The scheduler every service used (`-` when the scenario's own were kept).
    pub scheduler: String,
    /// The varied fields and their values.
    pub values: Vec<(String, String)>,
    /// The root seed.
    pub seed: u64,
    /// Responses per server, in server order.
    pub served: Vec<(String, u64)>,
    /// Requests that did not end `ok`.
    pub failed: u64,
    /// Latency percentiles of the `ok` requests in ms (p50, p95, p99); zero when none.
    pub latency_ms: [f64; 3],
}

impl Measured {
    /// The label of this run's variant (see [`super::variant_label`]).
    pub fn label(&self) -> String {
        super::variant_label(&self.scheduler, &self.values)
    }

    /// All responses.
    fn total(&self) -> u64 {
        self.served.iter().map(|(_, n)| n).sum()
    }

    /// The share of responses that `served` is, in 0–1 (0 when nothing was served).
    fn share(&self, served: u64) -> f64 {
        match self.total() {
            0 => 0.0,
            total => served as f64 / total as f64,
        }
    }

    /// The same share in percent, computed as `100 × served / total` (not `100 × share`,
    /// which may round differently in the last bit).
    fn percent(&self, served: u64) -> f64 {
        match self.total() {
            0 => 0.0,
            total => 100.0 * served as f64 / total as f64,
        }
    }
}

/// Every file of a comparison, as `(file name, bytes)`: `compare.csv`, `report.md` and the
/// charts.
pub fn files(heading: &Heading, rows: &[Measured], format: ChartFormat) -> Vec<(String, Vec<u8>)> {
    let charts = charts(&heading.name, rows, format);
    let mut files = vec![
        ("compare.csv".to_string(), csv(rows).into_bytes()),
        (
            "report.md".to_string(),
            report(heading, rows, &charts).into_bytes(),
        ),
    ];
    files.extend(charts);
    files
}

/// The charts: `load-by-scheduler` (each server's share per variant, mean with min–max
/// across seeds) and `latency-by-scheduler` (p50 and p95).
pub fn charts(name: &str, rows: &[Measured], format: ChartFormat) -> Vec<(String, Vec<u8>)> {
    let mut labels: Vec<String> = Vec::new();
    for row in rows {
        if !labels.contains(&row.label()) {
            labels.push(row.label());
        }
    }
    let Some(first) = rows.first() else {
        return Vec::new();
    };
    let labelled: Vec<(String, &Measured)> = rows.iter().map(|r| (r.label(), r)).collect();
    // (mean, min, max) of `value` over the seeds of each variant.
    let spread = |value: &dyn Fn(&Measured) -> f64| -> Vec<(f64, f64, f64)> {
        labels
            .iter()
            .map(|label| {
                let values: Vec<f64> = labelled
                    .iter()
                    .filter(|(l, _)| l == label)
                    .map(|(_, r)| value(r))
                    .collect();
                let mean = values.iter().sum::<f64>() / values.len().max(1) as f64;
                let min = values.iter().copied().fold(f64::INFINITY, f64::min);
                let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                (mean, min, max)
            })
            .collect()
    };
    let share_series: Vec<BarSeries> = first
        .served
        .iter()
        .enumerate()
        .map(|(i, (name, _))| {
            let values =
                spread(&|r: &Measured| r.served.get(i).map_or(0.0, |&(_, n)| r.percent(n)));
            (name.clone(), values)
        })
        .collect();
    let latency_series: Vec<BarSeries> = vec![
        ("p50".to_string(), spread(&|r: &Measured| r.latency_ms[0])),
        ("p95".to_string(), spread(&|r: &Measured| r.latency_ms[1])),
    ];
    let mut charts = Vec::new();
    let extension = format.extension();
    if let Ok(bytes) = grouped_bars_chart(
        format,
        &format!("{name}: share of requests per server, by scheduler"),
        "share of requests served (%)",
        &labels,
        &share_series,
    ) {
        charts.push((format!("load-by-scheduler.{extension}"), bytes));
    }
    if let Ok(bytes) = grouped_bars_chart(
        format,
        &format!("{name}: latency by variant"),
        "latency of successful requests (ms)",
        &labels,
        &latency_series,
    ) {
        charts.push((format!("latency-by-scheduler.{extension}"), bytes));
    }
    charts
}

/// `report.md`: the table and the charts, with where they come from.
pub fn report(heading: &Heading, rows: &[Measured], charts: &[(String, Vec<u8>)]) -> String {
    let mut out = format!(
        "# {}: comparison\n\n{}\n\nScenario file `{}`, netlab {}.\n\n```text\n{}```\n\n",
        heading.name,
        heading.description,
        heading.source_file,
        env!("CARGO_PKG_VERSION"),
        table(rows)
    );
    for (name, _) in charts {
        out.push_str(&format!("![{name}]({name})\n\n"));
    }
    out
}

/// `compare.csv`: one row per run and server. The `csv` crate quotes a field only when it
/// must (a comma, a quote or a line break inside, as a `--vary` value may hold).
pub fn csv(rows: &[Measured]) -> String {
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
    for row in rows {
        let [p50, p95, p99] = row.latency_ms;
        let vary = row
            .values
            .iter()
            .map(|(p, v)| format!("{p}={v}"))
            .collect::<Vec<_>>()
            .join(";");
        for (server, served) in &row.served {
            let record = [
                row.scheduler.clone(),
                row.seed.to_string(),
                server.clone(),
                served.to_string(),
                format!("{:.4}", row.share(*served)),
                format!("{p50:.3}"),
                format!("{p95:.3}"),
                format!("{p99:.3}"),
                row.failed.to_string(),
                vary.clone(),
            ];
            csv.write_record(&record)
                .expect("writing a CSV row into memory cannot fail");
        }
    }
    let bytes = csv
        .into_inner()
        .expect("flushing a CSV writer into memory cannot fail");
    String::from_utf8(bytes).expect("CSV built from UTF-8 strings is UTF-8")
}

/// The terminal table: one row per run, each server's share, latency and failures.
pub fn table(rows: &[Measured]) -> String {
    let mut out = String::new();
    let Some(first) = rows.first() else {
        return out;
    };
    // A plain scheduler comparison keeps the column called "scheduler".
    let heading = if rows.iter().all(|r| r.values.is_empty()) {
        "scheduler"
    } else {
        "variant"
    };
    let width = rows
        .iter()
        .map(|r| r.label().len())
        .max()
        .unwrap_or(7)
        .max(10);
    let _ = write!(out, "{:<width$} {:>5}", heading, "seed");
    for (server, _) in &first.served {
        let _ = write!(out, " {server:>7}");
    }
    let _ = writeln!(out, " {:>8} {:>8} {:>7}", "p50 ms", "p95 ms", "failed");
    for row in rows {
        let _ = write!(out, "{:<width$} {:>5}", row.label(), row.seed);
        for (_, served) in &row.served {
            let _ = write!(out, " {:>6.1}%", row.percent(*served));
        }
        let [p50, p95, _] = row.latency_ms;
        let _ = writeln!(out, " {p50:>8.3} {p95:>8.3} {:>7}", row.failed);
    }
    out
}
