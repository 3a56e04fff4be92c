//! *The browser entry point*: scenario text in, the run's files (or its diagnostics) out.
//!
//! The playground runs netlab compiled to WebAssembly (`wasm32-unknown-unknown`, feature
//! `wasm`, without the default `native` feature). A browser has no files, threads or
//! terminal, so this module is the whole interface there, and it adds nothing to a run: it
//! calls the same [`load_with_warnings`](crate::scenario::load::load_with_warnings),
//! [`execute_with_report`](crate::run::execute_with_report) and [`explain`](crate::explain::explain) that
//! `netlab check`, `netlab run` and `netlab explain` call, so a run in the browser gives the
//! same bytes as the same run on the command line (`wasm/check-identical.mjs` proves it).
//!
//! The three calls, as JavaScript sees them through `wasm-bindgen`:
//! - `check(name, text, files)`: a JSON string `{ok, nodes, text, diagnostics}`, where `text` is
//!   what `netlab check` prints and each diagnostic has its 1-based `line` and `col`;
//! - `run(name, text, seed, capture, files)`: a [`Run`], whose `files()` and `file(name)` give the
//!   output files by the names `netlab run` writes (`summary.json`, `requests.csv`,
//!   `events.csv`, `ipvsadm.txt`, `keepalived-<node>.conf`, the SVG charts, `report.md`,
//!   `report.html`, `capture-<segment>.pcap` and `capture.pcapng`), or whose `check()` gives the diagnostics when the text is not valid;
//! - `explain(name, text, seed, request, files)`: the story of request `request` (its `id` in
//!   `requests.csv`), as `netlab explain --request` prints it.
//!
//! `name` is the file name shown in diagnostics. `seed` is optional (`undefined` takes the
//! scenario's own). `files` is optional too: the keepalived.conf files the scenario may name,
//! as a JSON object of paths (relative to the folder `name` is in, as the scenario writes
//! them: `{"keepalived/lb1.conf": "…"}`) to texts. A browser has no files, so the loader
//! reads these instead of the disk (`scenario::keepalived::with_files_in_memory`), by the
//! same rules and with the same diagnostics. These functions are plain Rust too, so the unit
//! tests below call them natively.
//!
//! # Simplifications
//! - A scenario that names a keepalived.conf file not in `files` gets the same positioned
//!   "cannot read" diagnostic as a missing file on disk.
//! - `explain` gives the story's text only; the sequence diagram `report.html` draws for the
//!   stories it holds needs the run's node names, which the story does not keep.

use std::collections::BTreeMap;

use serde_json::json;
use wasm_bindgen::prelude::wasm_bindgen;

use crate::capture::CaptureOptions;
use crate::explain::{Selector, explain as explain_story};
use crate::report::ChartFormat;
use crate::run::{Artifacts, execute_with_report};
use crate::scenario::Scenario;
use crate::scenario::diagnostic::{Diagnostic, Locator, Severity};
use crate::scenario::keepalived::with_files_in_memory;
use crate::scenario::load::{LoadError, load_with_warnings};

/// Checks scenario `text` (named `name` in diagnostics), as `netlab check` does; returns JSON
/// (see the module doc).
#[wasm_bindgen]
pub fn check(name: &str, text: &str, files: Option<String>) -> String {
    checked(name, text, files.as_deref()).1
}

/// The files of `files` (a JSON object of paths to texts; see the module doc), or why not.
fn files_from_json(files: Option<&str>) -> Result<BTreeMap<String, String>, String> {
    match files {
        None => Ok(BTreeMap::new()),
        Some(json) => serde_json::from_str(json).map_err(|e| {
            format!("error: the files given with the scenario are not a JSON object of texts: {e}")
        }),
    }
}

/// Loads `text` (with the keepalived.conf files in `files`) and renders the result of the
/// check: the scenario, if valid, and the JSON.
fn checked(name: &str, text: &str, files: Option<&str>) -> (Option<Scenario>, String) {
    let files = match files_from_json(files) {
        Ok(files) => files,
        Err(message) => {
            let report = json!({"ok": false, "nodes": null, "text": format!("{message}\n"), "diagnostics": []});
            return (None, report.to_string());
        }
    };
    let loaded = with_files_in_memory(files, || load_with_warnings(name, text));
    let (scenario, report) = match loaded {
        Ok((scenario, mut warnings)) => {
            warnings.extend(crate::scenario::lint::lint(
                &scenario,
                &Locator::new(name, text),
            ));
            let report = check_report(name, Some(scenario.nodes.len()), &warnings, None);
            (Some(scenario), report)
        }
        Err(e) => {
            let diagnostics: Vec<Diagnostic> = e.diagnostics().into_iter().cloned().collect();
            (None, check_report(name, None, &diagnostics, Some(&e)))
        }
    };
    (scenario, report.to_string())
}

/// The JSON of a check: `nodes` is the node count of a valid scenario, `error` the load
/// error of an invalid one. `text` repeats what `netlab check` prints, in the same order:
/// each diagnostic followed by a blank line, then `name: ok (…)` for a valid scenario.
fn check_report(
    name: &str,
    nodes: Option<usize>,
    diagnostics: &[Diagnostic],
    error: Option<&LoadError>,
) -> serde_json::Value {
    let mut text = String::new();
    match (nodes, error) {
        (_, Some(e)) => text.push_str(&format!("{e}\n\n")),
        (Some(nodes), None) => {
            for d in diagnostics {
                text.push_str(&format!("{d}\n\n"));
            }
            let warnings = match diagnostics.len() {
                0 => String::new(),
                1 => ", 1 warning".to_string(),
                n => format!(", {n} warnings"),
            };
            text.push_str(&format!("{name}: ok ({nodes} nodes{warnings})\n"));
        }
        (None, None) => {}
    }
    json!({
        "ok": error.is_none(),
        "nodes": nodes,
        "text": text,
        "diagnostics": diagnostics.iter().map(diagnostic_json).collect::<Vec<_>>(),
    })
}

/// One diagnostic, for an editor to mark: 1-based line and column, width in characters.
fn diagnostic_json(d: &Diagnostic) -> serde_json::Value {
    json!({
        "severity": match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        },
        "line": d.line,
        "col": d.col,
        "width": d.width,
        "message": d.message,
        "help": d.help,
        "note": d.note,
        "text": d.to_string(),
    })
}

/// What [`run`] gives back: the output files, or why there are none.
#[wasm_bindgen]
pub struct Run {
    /// The check's JSON (warnings for a valid scenario, errors for an invalid one).
    check: String,
    /// The output files as `netlab run` names them, in its order.
    files: Vec<(String, Vec<u8>)>,
    /// The table `netlab run` prints.
    table: String,
    /// Why a valid scenario's run did not finish, if it did not.
    error: Option<String>,
}

#[wasm_bindgen]
impl Run {
    /// Whether the run finished and [`Run::files`] holds its outputs.
    pub fn ok(&self) -> bool {
        self.error.is_none() && !self.files.is_empty()
    }

    /// The check's JSON, as [`check`] returns it.
    pub fn check(&self) -> String {
        self.check.clone()
    }

    /// Why the run did not finish (`""` if it did or never started).
    pub fn error(&self) -> String {
        self.error.clone().unwrap_or_default()
    }

    /// The table `netlab run` prints.
    pub fn table(&self) -> String {
        self.table.clone()
    }

    /// The output file names, in the order `netlab run` writes them.
    pub fn files(&self) -> Vec<String> {
        self.files.iter().map(|(name, _)| name.clone()).collect()
    }

    /// The bytes of output file `name`, if the run made it.
    pub fn file(&self, name: &str) -> Option<Vec<u8>> {
        self.files
            .iter()
            .find(|(file, _)| file == name)
            .map(|(_, bytes)| bytes.clone())
    }
}

/// Runs scenario `text` with `seed` (the scenario's own if `None`), as `netlab run` does
/// (`capture`: as `--pcap`), with SVG charts.
#[wasm_bindgen]
pub fn run(name: &str, text: &str, seed: Option<u64>, capture: bool, files: Option<String>) -> Run {
    let (scenario, check) = checked(name, text, files.as_deref());
    let mut outcome = Run {
        check,
        files: Vec::new(),
        table: String::new(),
        error: None,
    };
    let Some(scenario) = scenario else {
        return outcome;
    };
    let seed = seed.unwrap_or(scenario.seed);
    let capture = CaptureOptions::memory(capture);
    match execute_with_report(&scenario, seed, ChartFormat::Svg, capture, |_| {}) {
        Ok(artifacts) => {
            outcome.files = owned_files(&artifacts);
            outcome.table = artifacts.table;
        }
        Err(e) => outcome.error = Some(format!("error: {name}: {e}")),
    }
    outcome
}

/// The files of a run, owned, so they outlive the artifacts.
fn owned_files(artifacts: &Artifacts) -> Vec<(String, Vec<u8>)> {
    artifacts
        .files()
        .into_iter()
        .map(|(name, bytes)| (name.to_string(), bytes.to_vec()))
        .collect()
}

/// The story of request `request` (its `id` in `requests.csv`) of scenario `text` run with
/// `seed`, as `netlab explain --request` prints it. Throws (in JavaScript) the message a
/// student would see if the text is invalid, the run fails or there is no such request.
#[wasm_bindgen]
pub fn explain(
    name: &str,
    text: &str,
    seed: Option<u64>,
    request: usize,
    files: Option<String>,
) -> Result<String, String> {
    let (scenario, check) = checked(name, text, files.as_deref());
    let Some(scenario) = scenario else {
        let report: serde_json::Value = serde_json::from_str(&check).unwrap_or_default();
        return Err(report["text"].as_str().unwrap_or_default().to_string());
    };
    let seed = seed.unwrap_or(scenario.seed);
    match explain_story(&scenario, seed, &Selector::Request(request)) {
        Ok(told) => Ok(told.text()),
        Err(crate::explain::ExplainError::Select(e)) => {
            Err(format!("error: {}\n  = help: {}", e.message, e.help))
        }
        Err(crate::explain::ExplainError::Run(e)) => Err(format!("error: {name}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELLO: &str = include_str!("../scenarios/00-hello-web.ron");

    #[test]
    fn a_valid_scenario_checks_ok_with_its_node_count() {
        let report: serde_json::Value =
            serde_json::from_str(&check("hello.ron", HELLO, None)).unwrap();
        assert_eq!(report["ok"], true);
        let nodes = report["nodes"].as_u64().unwrap();
        assert!(nodes > 0);
        assert!(
            report["text"]
                .as_str()
                .unwrap()
                .ends_with(&format!("hello.ron: ok ({nodes} nodes)\n"))
        );
    }

    #[test]
    fn a_syntax_error_comes_back_at_its_line_and_column() {
        // Break line 12 of the scenario: drop its first non-blank character.
        let mut lines: Vec<String> = HELLO.lines().map(str::to_string).collect();
        let line = lines
            .iter()
            .position(|l| l.trim_start().starts_with("name:"))
            .unwrap();
        lines[line] = lines[line].replacen("name:", "name", 1);
        let broken = lines.join("\n");
        let report: serde_json::Value =
            serde_json::from_str(&check("x.ron", &broken, None)).unwrap();
        assert_eq!(report["ok"], false);
        let first = &report["diagnostics"][0];
        assert_eq!(first["severity"], "error");
        assert_eq!(first["line"].as_u64().unwrap() as usize, line + 1);
        assert!(first["col"].as_u64().unwrap() >= 1);
        assert!(
            report["text"]
                .as_str()
                .unwrap()
                .contains(&format!("x.ron:{}:", line + 1))
        );
    }

    #[test]
    fn a_run_gives_the_files_execute_gives() {
        let scenario = crate::scenario::load::load_str("hello.ron", HELLO).unwrap();
        let capture = CaptureOptions::memory(true);
        let native = execute_with_report(&scenario, 7, ChartFormat::Svg, capture, |_| {}).unwrap();
        let run = run("hello.ron", HELLO, Some(7), true, None);
        assert!(run.ok(), "{}", run.error());
        let names: Vec<&str> = native.files().iter().map(|(n, _)| *n).collect();
        assert_eq!(run.files(), names);
        for (name, bytes) in native.files() {
            assert_eq!(run.file(name).as_deref(), Some(bytes), "{name}");
        }
        assert!(run.files().iter().any(|n| n.ends_with(".svg")));
        assert!(run.files().contains(&"report.html".to_string()));
        assert_eq!(run.file("no-such-file"), None);
    }

    #[test]
    fn an_invalid_scenario_runs_nothing_and_says_why() {
        let run = run("x.ron", "(name: ", None, false, None);
        assert!(!run.ok());
        assert!(run.files().is_empty());
        assert!(run.check().contains("\"ok\":false"));
    }

    #[test]
    fn explain_tells_a_request_or_says_there_is_none() {
        let story = explain("hello.ron", HELLO, None, 0, None).unwrap();
        assert!(!story.is_empty());
        let missing = explain("hello.ron", HELLO, None, 1_000_000, None).unwrap_err();
        assert!(missing.starts_with("error: "), "{missing}");
    }

    /// The shipped keepalived.conf files, as the playground hands them over.
    fn shipped_confs() -> String {
        let mut files = BTreeMap::new();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/keepalived");
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy();
            let text = std::fs::read_to_string(&path).unwrap();
            files.insert(format!("keepalived/{name}"), text);
        }
        serde_json::to_string(&files).unwrap()
    }

    #[test]
    fn a_scenario_naming_keepalived_confs_reads_them_from_the_files_given() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let text = std::fs::read_to_string(path.join("vrrp-keepalived.ron")).unwrap();
        let native = crate::scenario::load::load_file(&path.join("vrrp-keepalived.ron")).unwrap();
        let capture = CaptureOptions::memory(false);
        let native =
            execute_with_report(&native, native.seed, ChartFormat::Svg, capture, |_| {}).unwrap();
        let run = run(
            "vrrp-keepalived.ron",
            &text,
            None,
            false,
            Some(shipped_confs()),
        );
        assert!(run.ok(), "{} {}", run.error(), run.check());
        let summary = native
            .files()
            .into_iter()
            .find(|(n, _)| *n == "summary.json");
        assert_eq!(run.file("summary.json").as_deref(), summary.map(|(_, b)| b));
        // Without the files: the diagnostic a missing file gets, at the `keepalived:` field.
        let report: serde_json::Value =
            serde_json::from_str(&check("vrrp-keepalived.ron", &text, None)).unwrap();
        assert_eq!(report["ok"], false);
        assert!(
            report["text"].as_str().unwrap().contains("cannot read"),
            "{report}"
        );
        let bad = check("x.ron", &text, Some("[1]".into()));
        assert!(bad.contains("not a JSON object"), "{bad}");
    }
}
