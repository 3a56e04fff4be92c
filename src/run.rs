//! *One run, end to end*: a checked scenario in, the output files' contents out.
//!
//! `netlab run`, the tests and the benchmark all go through [`execute`] or its variants, so
//! they see exactly the same bytes. Nothing here touches the file system: `requests.csv` is
//! either made in memory or, with [`execute_streaming`], written row by row into a writer the
//! caller opened (the trace's request log releases the rows in order while the run goes; see
//! `trace::requests`).

use crate::capture::{CaptureOptions, CaptureOutput};
use crate::report::{
    ChartFormat, LatencyCdf, LoadBar, RequestRows, RowsDone, RunReport, TimeSeries, events_csv,
    ipvsadm_txt, latency_chart, load_bars, load_chart, load_over_time_chart,
    outcomes_over_time_chart, sorted_latencies_ms, summary_json, terminal_table, time_series,
};
use crate::scenario::keepalived::keepalived_confs;
use crate::scenario::{Scenario, build_capturing};
use crate::sim::SimTime;
use crate::trace::Trace;
use crate::world::{RunError, World};

mod stories;

use stories::{Gathering, StoryNames};

/// Everything a finished run produced.
pub struct Artifacts {
    /// `summary.json`.
    pub summary_json: String,
    /// `requests.csv`; empty when it was streamed to a writer ([`execute_streaming`]).
    pub requests_csv: String,
    /// Whether `requests.csv` was streamed to a writer (and so is not in `files`).
    pub requests_streamed: bool,
    /// A streamed `requests.csv` that could not be written completely.
    pub requests_error: Option<std::io::Error>,
    /// `events.csv`.
    pub events_csv: String,
    /// The table `netlab run` prints.
    pub table: String,
    /// The capture files kept in memory, as `(name, bytes)`: `capture-<segment>.pcap` per
    /// wire, then `capture.pcapng` (empty when capture was off or streamed to disk).
    pub captures: Vec<(String, Vec<u8>)>,
    /// A capture streamed to disk that could not be written completely.
    pub capture_error: Option<std::io::Error>,
    /// `ipvsadm.txt`, if the scenario has an L4 balancer.
    pub ipvsadm_txt: Option<String>,
    /// `keepalived-<node>.conf` for each director and VRRP router: the scenario in
    /// keepalived's syntax.
    pub keepalived_confs: Vec<(String, String)>,
    /// The data behind `load.svg`.
    pub load_bars: Vec<LoadBar>,
    /// The charts as `(file name, bytes)`: `load`, `outcomes-over-time`, `load-over-time` and
    /// `latency`, each `.svg` or `.png`, those the run has data for.
    pub charts: Vec<(String, Vec<u8>)>,
    /// The data behind the over-time charts.
    pub series: TimeSeries,
    /// `report.md`: the table and the charts, ready for coursework.
    pub report_md: String,
    /// `report.html`, when asked for ([`execute_with_report`]).
    pub report_html: Option<String>,
    /// The raw trace, for tests and tools that want more than the files.
    pub trace: Trace,
    /// Virtual time at the end of the run.
    pub end: SimTime,
    /// Events processed.
    pub events: u64,
    /// Node names by node index.
    pub node_names: Vec<String>,
    /// Web server names by server index.
    pub server_names: Vec<String>,
    /// Web server addresses by server index.
    pub server_addrs: Vec<std::net::Ipv4Addr>,
}

impl Artifacts {
    /// The output files as `(file name, bytes)`, in a fixed order.
    pub fn files(&self) -> Vec<(&str, &[u8])> {
        let mut files = vec![("summary.json", self.summary_json.as_bytes())];
        if !self.requests_streamed {
            files.push(("requests.csv", self.requests_csv.as_bytes()));
        }
        files.push(("events.csv", self.events_csv.as_bytes()));
        if let Some(text) = &self.ipvsadm_txt {
            files.push(("ipvsadm.txt", text.as_bytes()));
        }
        for (name, text) in &self.keepalived_confs {
            files.push((name.as_str(), text.as_bytes()));
        }
        for (name, bytes) in &self.charts {
            files.push((name.as_str(), bytes.as_slice()));
        }
        files.push(("report.md", self.report_md.as_bytes()));
        if let Some(page) = &self.report_html {
            files.push(("report.html", page.as_bytes()));
        }
        for (name, bytes) in &self.captures {
            files.push((name.as_str(), bytes.as_slice()));
        }
        files
    }
}

/// Builds and runs `scenario` with root seed `seed`; `capture_all` captures every segment.
/// Charts are SVG.
pub fn execute(scenario: &Scenario, seed: u64, capture_all: bool) -> Result<Artifacts, RunError> {
    execute_as(scenario, seed, capture_all, ChartFormat::Svg)
}

/// What a run keeps beyond its files, for `netlab explain`. Neither changes the files.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Recording {
    /// Keep the decisions nodes make, with their inputs (`trace::decision`).
    pub decisions: bool,
    /// Keep the head of every frame on every wire (`trace::FrameRecord`).
    pub frames: bool,
}

impl Recording {
    /// Applies these settings to a world before it runs.
    pub fn apply(self, world: &mut crate::world::World) {
        if self.decisions {
            world.record_decisions();
        }
        if self.frames {
            world.record_frames();
        }
    }
}

/// [`execute`], with charts in `format`.
pub fn execute_as(
    scenario: &Scenario,
    seed: u64,
    capture_all: bool,
    format: ChartFormat,
) -> Result<Artifacts, RunError> {
    execute_recording(scenario, seed, capture_all, format, Recording::default())
}

impl Artifacts {
    /// The in-memory capture file `name` (`capture.pcapng`, `capture-<segment>.pcap`).
    pub fn capture(&self, name: &str) -> Option<&[u8]> {
        self.captures
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, bytes)| bytes.as_slice())
    }
}

/// [`execute_as`], keeping what `recording` asks for in `Artifacts::trace`.
pub fn execute_recording(
    scenario: &Scenario,
    seed: u64,
    capture_all: bool,
    format: ChartFormat,
    recording: Recording,
) -> Result<Artifacts, RunError> {
    let capture = CaptureOptions::memory(capture_all);
    execute_with(scenario, seed, format, capture, |world| {
        recording.apply(world)
    })
}

/// Builds the world with the capture `capture` asks for (filters, files on disk), lets `setup`
/// switch on what it wants (recording for `explain`, a progress watcher: see
/// `world::Watcher`), runs it and renders the files. `setup` never changes the files.
pub fn execute_with(
    scenario: &Scenario,
    seed: u64,
    format: ChartFormat,
    capture: CaptureOptions,
    setup: impl FnOnce(&mut World),
) -> Result<Artifacts, RunError> {
    let built = build_set_up(scenario, seed, capture, None, setup);
    finish(scenario, seed, format, built, None)
}

/// What `netlab run` does: [`execute_with`], also making `report.html`. Decisions and frames
/// are recorded for its explanations, at most `report::html::RECORD_LIMIT` of each.
pub fn execute_with_report(
    scenario: &Scenario,
    seed: u64,
    format: ChartFormat,
    capture: CaptureOptions,
    setup: impl FnOnce(&mut World),
) -> Result<Artifacts, RunError> {
    let limit = crate::report::html::RECORD_LIMIT;
    report_run(scenario, seed, (format, capture, limit), None, setup)
}

/// [`execute_with_report`], writing `requests.csv` into `requests_csv` row by row while the
/// run goes instead of into memory, and keeping in memory only the records `report.html`
/// shows (`report::html::MAX_ROWS`), and letting the bounded recording go as soon as the
/// page's stories are gathered from it, in the middle of the run (module `stories`): what
/// `netlab run` does, so a long run's memory does not grow with its requests. The other files are the same bytes; `Artifacts::requests_csv` is empty,
/// `requests_error` tells whether every row was written, and `Artifacts::trace` keeps neither
/// the recording nor more than those first records.
pub fn execute_streaming(
    scenario: &Scenario,
    seed: u64,
    format: ChartFormat,
    capture: CaptureOptions,
    requests_csv: Box<dyn std::io::Write + Send>,
    setup: impl FnOnce(&mut World),
) -> Result<Artifacts, RunError> {
    let limit = crate::report::html::RECORD_LIMIT;
    report_run(
        scenario,
        seed,
        (format, capture, limit),
        Some(requests_csv),
        setup,
    )
}

/// The run of [`execute_with_report`] and [`execute_streaming`], recording at most `limit`
/// decisions and frame heads for the page's stories.
fn report_run(
    scenario: &Scenario,
    seed: u64,
    (format, capture, limit): (ChartFormat, CaptureOptions, usize),
    requests_csv: Option<Box<dyn std::io::Write + Send>>,
    setup: impl FnOnce(&mut World),
) -> Result<Artifacts, RunError> {
    let streaming = requests_csv.is_some();
    let mut built = build_set_up(scenario, seed, capture, requests_csv, |world| {
        world.record_bounded(limit);
        setup(world);
    });
    let stories = Gathering::default();
    if streaming {
        stories.early(&mut built);
    }
    finish(scenario, seed, format, built, Some(stories))
}

/// Builds the world with `capture`, hands `requests.csv`'s writer to it (into memory when
/// `requests_csv` is `None`), and lets `setup` switch on what it asks for.
fn build_set_up(
    scenario: &Scenario,
    seed: u64,
    capture: CaptureOptions,
    requests_csv: Option<Box<dyn std::io::Write + Send>>,
    setup: impl FnOnce(&mut World),
) -> crate::scenario::build::Built {
    let mut built = build_capturing(scenario, seed, capture);
    let (nodes, servers) = (&built.node_names, &built.server_names);
    match requests_csv {
        Some(out) => built.world.write_requests(
            RequestRows::streaming(out, nodes, servers),
            Some(crate::report::html::MAX_ROWS),
        ),
        None => built
            .world
            .write_requests(RequestRows::in_memory(nodes, servers), None),
    }
    setup(&mut built.world);
    built
}

/// Runs a built world and renders its files; `stories` adds `report.html`, with the stories
/// gathered there.
fn finish(
    scenario: &Scenario,
    seed: u64,
    format: ChartFormat,
    built: crate::scenario::build::Built,
    stories: Option<Gathering>,
) -> Result<Artifacts, RunError> {
    let story_names = stories.is_some().then(|| StoryNames::of(&built));
    let mut output = built.world.run()?;
    let names: Names = (built.node_names, built.server_names, built.server_addrs);
    let (requests_csv, requests_streamed, requests_error) =
        finish_rows(output.trace.requests.take_rows());
    // report.html's explanations come from the bounded recording, gathered from it in the
    // middle of a run that streamed requests.csv (`netlab run`), else now. Such a run then
    // lets what is left of the recording go before the other files are made; the files are
    // the same either way.
    let told = stories.zip(story_names).map(|(stories, story_names)| {
        stories.tell(&mut output.trace, &story_names, &scenario.name, seed)
    });
    if requests_streamed {
        output.trace.forget_recording();
    }
    let report = run_report(scenario, seed, (&output.trace, output.end), &names);
    let load_bars = load_bars(&report);
    let series = time_series(&report);
    let charts = draw_charts(scenario, format, &report, (&load_bars, &series));
    let table = terminal_table(&report);
    let capture = output.capture.unwrap_or(CaptureOutput {
        files: Vec::new(),
        frames: 0,
        error: None,
    });
    let chart_names: Vec<&str> = charts.iter().map(|(name, _)| name.as_str()).collect();
    let report_md = report_markdown(scenario, seed, &table, &chart_names);
    let report_html = told.map(|told| report_page(scenario, &report, &table, told));
    Ok(Artifacts {
        summary_json: summary_json(&report),
        requests_csv,
        requests_streamed,
        requests_error,
        events_csv: events_csv(&report),
        table,
        charts,
        series,
        report_md,
        report_html,
        ipvsadm_txt: ipvsadm_txt(&report),
        keepalived_confs: keepalived_confs(scenario),
        load_bars,
        captures: capture.files,
        capture_error: capture.error,
        end: output.end,
        events: output.events,
        trace: output.trace,
        node_names: names.0,
        server_names: names.1,
        server_addrs: names.2,
    })
}

/// `requests.csv` once the run is over: its text when it was made in memory, or nothing
/// when it was streamed into its file; whether it was streamed; the error that stopped the
/// stream, if one did.
fn finish_rows(rows: Option<RequestRows>) -> (String, bool, Option<std::io::Error>) {
    match rows.map(RequestRows::finish) {
        Some(Ok(RowsDone::Text(text))) => (text, false, None),
        Some(Ok(RowsDone::Streamed)) => (String::new(), true, None),
        Some(Err(e)) => (String::new(), true, Some(e)),
        None => (String::new(), false, None),
    }
}

/// The run's charts, each a file name and its bytes: the load per server, and, when there
/// were requests, their outcomes and the servers' load over time and the latency.
fn draw_charts(
    scenario: &Scenario,
    format: ChartFormat,
    report: &RunReport<'_>,
    (load_bars, series): (&[LoadBar], &TimeSeries),
) -> Vec<(String, Vec<u8>)> {
    // A chart that cannot be drawn is not worth failing the run for: it is left out, and its
    // data is in summary.json either way.
    let mut charts = Vec::new();
    let mut add = |name: &str, chart: Result<Vec<u8>, String>| {
        if let Ok(bytes) = chart {
            charts.push((format!("{name}.{}", format.extension()), bytes));
        }
    };
    if !load_bars.is_empty() {
        let title = format!("{}: requests served per server", scenario.name);
        add("load", load_chart(format, &title, load_bars));
    }
    if report.trace.requests.is_empty() {
        return charts;
    }
    let title = format!("{}: requests per second by outcome", scenario.name);
    add(
        "outcomes-over-time",
        outcomes_over_time_chart(format, &title, series),
    );
    if !report.server_names.is_empty() {
        let title = format!("{}: responses per second per server", scenario.name);
        add(
            "load-over-time",
            load_over_time_chart(format, &title, series, report.server_names),
        );
    }
    let latencies = sorted_latencies_ms(report);
    if !latencies.is_empty() {
        let title = format!("{}: latency", scenario.name);
        let cdf = LatencyCdf::of(&latencies);
        drop(latencies);
        add("latency", latency_chart(format, &title, &cdf));
    }
    charts
}

/// What the reports read of a finished run.
fn run_report<'a>(
    scenario: &'a Scenario,
    seed: u64,
    (trace, end): (&'a crate::trace::Trace, SimTime),
    names: &'a Names,
) -> RunReport<'a> {
    RunReport {
        scenario: &scenario.name,
        seed,
        end,
        trace,
        node_names: &names.0,
        server_names: &names.1,
        server_addrs: &names.2,
    }
}

/// Node names, web server names and web server addresses, as `Built` gives them.
type Names = (Vec<String>, Vec<String>, Vec<std::net::Ipv4Addr>);

/// `report.html`: the run's data, with the explanations `told` (module `stories`).
fn report_page(
    scenario: &Scenario,
    report: &RunReport<'_>,
    table: &str,
    (stories, covered): (Vec<crate::report::html::Narrated>, usize),
) -> String {
    use crate::report::html;
    let extras = html::ReportExtras {
        description: &scenario.description,
        source_file: &scenario.source_file,
        table,
        stories: &stories,
        covered,
    };
    html::report_html(&scenario.name, &html::report_data(report, &extras))
}

/// `report.md`: what a student pastes into coursework: where the numbers come from, the
/// summary table, and the charts.
fn report_markdown(scenario: &Scenario, seed: u64, table: &str, charts: &[&str]) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = writeln!(out, "# {}\n", scenario.name);
    let _ = writeln!(out, "{}\n", scenario.description);
    let _ = writeln!(
        out,
        "Scenario file `{}`, seed {seed}, netlab {}.\n",
        scenario.source_file,
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(out, "```text\n{}```\n", table);
    for chart in charts {
        let _ = writeln!(out, "![{chart}]({chart})\n");
    }
    out
}
