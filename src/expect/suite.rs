//! *Test suites*: `netlab test` runs many scenarios and checks each one's expected outcomes.
//!
//! For each scenario file (a folder is searched for `.ron` files):
//! 1. load it (a file that does not load fails, with its diagnostics);
//! 2. run it with its own seed (a run that hits a limit fails);
//! 3. decide each statement of its `expect` list ([`super::evaluate`]);
//! 4. if `<stem>.expected.json` sits beside it, compare the metrics it lists with the run,
//!    each within its tolerance. `--accept` writes or updates that file from the run, as
//!    `cargo insta accept` does for snapshots: a teacher records a run once, and any later
//!    change that moves those numbers fails.
//!
//! The results come back in file order, so the report and the JUnit XML are the same on every
//! machine. The JUnit file follows the common schema (one `testsuite` per scenario file, one
//! `testcase` per statement or stored metric) that GitHub Classroom, GitLab and Jenkins read.
//!
//! netlab writes `<stem>.expected.json` only when asked (`--accept`), only over a file it
//! wrote itself (it carries `"written_by"`), and by a rename, so it is never half-written.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use super::{Verdict, evaluate};
use crate::run::execute;
use crate::scenario::load_file;

/// The `written_by` value of the expected-outcome files netlab writes.
const WRITTEN_BY: &str = "netlab test --accept";

/// The metrics an expected-outcome file holds when `--accept` creates it.
const DEFAULT_METRICS: &[&str] = &[
    "requests.issued",
    "requests.ok",
    "requests.failed",
    "latency_ms.p50",
    "latency_ms.p95",
];

/// What happened to one scenario file.
#[derive(Clone, Debug)]
pub struct FileReport {
    /// The file, as found.
    pub file: PathBuf,
    /// Every check made, in order: statements, then stored metrics.
    pub verdicts: Vec<Verdict>,
    /// Why the file could not be tested at all (it does not load, the run failed), if so.
    pub error: Option<String>,
    /// What `--accept` did, if anything (`wrote x.expected.json`).
    pub accepted: Option<String>,
}

impl FileReport {
    /// Whether every check passed and nothing went wrong.
    pub fn passed(&self) -> bool {
        self.error.is_none() && self.verdicts.iter().all(|v| v.passed)
    }

    /// One line for the terminal, and one more per failed check.
    pub fn lines(&self) -> String {
        let name = self.file.display();
        if let Some(error) = &self.error {
            return format!("FAILED {name}: {error}\n");
        }
        let failed: Vec<&Verdict> = self.verdicts.iter().filter(|v| !v.passed).collect();
        let mut text = if failed.is_empty() {
            let n = self.verdicts.len();
            format!(
                "ok     {name} ({n} check{})\n",
                if n == 1 { "" } else { "s" }
            )
        } else {
            format!(
                "FAILED {name} ({} of {} checks failed)\n",
                failed.len(),
                self.verdicts.len()
            )
        };
        for v in failed {
            text.push_str(&format!("         {}: got {}\n", v.statement, v.actual));
        }
        if let Some(accepted) = &self.accepted {
            text.push_str(&format!("         {accepted}\n"));
        }
        text
    }
}

/// The `.ron` files named by `paths`: files as given, folders searched (sorted, recursive).
pub fn find_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for path in paths {
        let meta =
            std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if meta.is_dir() {
            collect(path, &mut files, 0)?;
        } else {
            files.push(path.clone());
        }
    }
    if files.is_empty() {
        return Err("no .ron scenario files found".to_string());
    }
    Ok(files)
}

/// The `.ron` files under `dir`, sorted, at most 16 folders deep.
fn collect(dir: &Path, files: &mut Vec<PathBuf>, depth: usize) -> Result<(), String> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read folder {}: {e}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        let is_dir = path.symlink_metadata().is_ok_and(|m| m.is_dir());
        if is_dir && depth < 16 {
            collect(&path, files, depth + 1)?;
        } else if path.extension().is_some_and(|e| e == "ron") {
            files.push(path);
        }
    }
    Ok(())
}

/// `<stem>.expected.json` beside `file`.
pub fn expected_path(file: &Path) -> PathBuf {
    let stem = file.file_stem().unwrap_or_default().to_string_lossy();
    file.with_file_name(format!("{stem}.expected.json"))
}

/// Tests one scenario file; with `accept`, writes or updates its expected-outcome file.
pub fn test_file(file: &Path, accept: bool) -> FileReport {
    let mut report = FileReport {
        file: file.to_path_buf(),
        verdicts: Vec::new(),
        error: None,
        accepted: None,
    };
    let scenario = match load_file(file) {
        Ok(s) => s,
        Err(e) => {
            report.error = Some(format!("does not load\n{e}"));
            return report;
        }
    };
    let artifacts = match execute(&scenario, scenario.seed, false) {
        Ok(a) => a,
        Err(e) => {
            report.error = Some(format!("the run failed: {e}"));
            return report;
        }
    };
    let summary: Value =
        serde_json::from_str(&artifacts.summary_json).expect("summary.json is JSON we wrote");
    report.verdicts = evaluate(&scenario.expect, &summary, &artifacts.trace.events);
    let stored = expected_path(file);
    let previous = match read_expected(&stored) {
        Ok(previous) => previous,
        Err(e) => {
            report.error = Some(e);
            return report;
        }
    };
    if accept {
        match write_expected(&stored, previous.as_ref(), &summary, scenario.seed) {
            Ok(text) => report.accepted = Some(text),
            Err(e) => report.error = Some(e),
        }
    } else if let Some(previous) = previous {
        report.verdicts.extend(compare_stored(&previous, &summary));
    }
    report
}

/// The stored expected outcomes at `path`, if the file exists.
fn read_expected(path: &Path) -> Result<Option<Value>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not valid JSON: {e}", path.display()))?;
    if !value.get("metrics").is_some_and(Value::is_object) {
        return Err(format!(
            "{} has no \"metrics\" object; write it with `netlab test --accept`",
            path.display()
        ));
    }
    Ok(Some(value))
}

/// Each stored metric against the run: `|actual - value| <= tolerance`.
fn compare_stored(stored: &Value, summary: &Value) -> Vec<Verdict> {
    let metrics = stored["metrics"].as_object().cloned().unwrap_or_default();
    metrics
        .iter()
        .map(|(name, entry)| {
            let expected = entry.get("value").and_then(Value::as_f64);
            let tolerance = entry
                .get("tolerance")
                .and_then(Value::as_f64)
                .unwrap_or(0.0);
            let actual = super::Metric::parse(name)
                .ok()
                .and_then(|m| m.value(summary));
            let statement = match expected {
                Some(v) => format!("{name} within {v} +- {tolerance} (stored)"),
                None => format!("{name} (stored without a value)"),
            };
            let passed = match (actual, expected) {
                (Some(a), Some(e)) => (a - e).abs() <= tolerance + 1e-9,
                _ => false,
            };
            Verdict {
                statement,
                passed,
                actual: actual.map_or(
                    "no such value in this run".to_string(),
                    super::format_number,
                ),
            }
        })
        .collect()
}

/// Writes `path` from the run: the metrics of `previous` (keeping their tolerances), or the
/// default set plus every server's `served`. Refuses to replace a file netlab did not write.
fn write_expected(
    path: &Path,
    previous: Option<&Value>,
    summary: &Value,
    seed: u64,
) -> Result<String, String> {
    if let Some(previous) = previous
        && previous.get("written_by").and_then(Value::as_str) != Some(WRITTEN_BY)
    {
        return Err(format!(
            "{} was not written by netlab; remove it, or add \"written_by\": \"{WRITTEN_BY}\" to let --accept update it",
            path.display()
        ));
    }
    let names: Vec<String> = match previous.and_then(|p| p["metrics"].as_object()) {
        Some(old) => old.keys().cloned().collect(),
        None => {
            let mut names: Vec<String> = DEFAULT_METRICS.iter().map(|s| s.to_string()).collect();
            if let Some(servers) = summary["servers"].as_object() {
                names.extend(servers.keys().map(|s| format!("servers.{s}.served")));
            }
            names
        }
    };
    let mut metrics = Map::new();
    for name in names {
        let Some(value) = super::Metric::parse(&name)
            .ok()
            .and_then(|m| m.value(summary))
        else {
            continue;
        };
        let tolerance = previous
            .and_then(|p| p["metrics"][&name]["tolerance"].as_f64())
            .unwrap_or(0.0);
        // Counts stay whole numbers in the file.
        let value = if value.fract() == 0.0 && value.abs() < 1e15 {
            json!(value as i64)
        } else {
            json!(value)
        };
        let tolerance = if tolerance.fract() == 0.0 {
            json!(tolerance as i64)
        } else {
            json!(tolerance)
        };
        metrics.insert(name, json!({ "value": value, "tolerance": tolerance }));
    }
    let file = json!({
        "written_by": WRITTEN_BY,
        "scenario": summary["scenario"],
        "seed": seed,
        "metrics": metrics,
    });
    let mut text = serde_json::to_string_pretty(&file).expect("a JSON value always serialises");
    text.push('\n');
    crate::output::write_file_replacing(path, text.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(format!("wrote {}", path.display()))
}

/// The first line of every JUnit file netlab writes, by which it knows its own.
const JUNIT_MARK: &str = "<!-- written by netlab test -->";

/// Whether netlab may write its JUnit XML to `path`: it is new, or a JUnit file netlab wrote.
pub fn junit_writable(path: &Path) -> Result<(), String> {
    match std::fs::read(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        Ok(bytes)
            if bytes
                .windows(JUNIT_MARK.len())
                .any(|w| w == JUNIT_MARK.as_bytes()) =>
        {
            Ok(())
        }
        Ok(_) => Err(format!(
            "{} exists and is not a JUnit file netlab wrote; name a new file",
            path.display()
        )),
    }
}

/// The reports as JUnit XML: one `testsuite` per file, one `testcase` per check.
pub fn junit_xml(reports: &[FileReport]) -> String {
    use quick_xml::Writer;
    use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
    // Writing into memory cannot fail, so the results are ignored with `let _`.
    let _ = writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
    let _ = writer.write_event(Event::Comment(BytesText::from_escaped(
        " written by netlab test ",
    )));
    let cases = |r: &FileReport| r.verdicts.len().max(1);
    let failures = |r: &FileReport| r.verdicts.iter().filter(|v| !v.passed).count();
    let total: usize = reports.iter().map(cases).sum();
    let failed: usize = reports.iter().map(failures).sum();
    let errors = reports.iter().filter(|r| r.error.is_some()).count();
    let mut suites = BytesStart::new("testsuites");
    suites.push_attribute(("name", "netlab test"));
    suites.push_attribute(("tests", total.to_string().as_str()));
    suites.push_attribute(("failures", failed.to_string().as_str()));
    suites.push_attribute(("errors", errors.to_string().as_str()));
    let _ = writer.write_event(Event::Start(suites));
    for report in reports {
        let file = report.file.display().to_string();
        let mut suite = BytesStart::new("testsuite");
        suite.push_attribute(("name", file.as_str()));
        suite.push_attribute(("tests", cases(report).to_string().as_str()));
        suite.push_attribute(("failures", failures(report).to_string().as_str()));
        suite.push_attribute((
            "errors",
            u8::from(report.error.is_some()).to_string().as_str(),
        ));
        let _ = writer.write_event(Event::Start(suite));
        let mut case = |name: &str, problem: Option<(&str, String)>| {
            let mut start = BytesStart::new("testcase");
            start.push_attribute(("classname", file.as_str()));
            start.push_attribute(("name", name));
            match problem {
                None => {
                    let _ = writer.write_event(Event::Empty(start));
                }
                Some((tag, message)) => {
                    let _ = writer.write_event(Event::Start(start));
                    let mut element = BytesStart::new(tag);
                    element.push_attribute(("message", message.as_str()));
                    let _ = writer.write_event(Event::Empty(element));
                    let _ = writer.write_event(Event::End(BytesEnd::new("testcase")));
                }
            }
        };
        match &report.error {
            Some(error) => case("run", Some(("error", error.clone()))),
            None if report.verdicts.is_empty() => case("run", None),
            None => {
                for v in &report.verdicts {
                    let problem = (!v.passed).then(|| ("failure", format!("got {}", v.actual)));
                    case(&v.statement, problem);
                }
            }
        }
        let _ = writer.write_event(Event::End(BytesEnd::new("testsuite")));
    }
    let _ = writer.write_event(Event::End(BytesEnd::new("testsuites")));
    let mut text = String::from_utf8(writer.into_inner()).expect("the writer writes UTF-8");
    text.push('\n');
    text
}
