//! `netlab test`: expected outcomes written in a scenario, and stored beside it, checked after
//! a run; a line per scenario, a summary line, JUnit XML, and the book's exercises.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::support::root;

/// A fresh folder for one test, removed at the end.
struct Folder(PathBuf);

impl Folder {
    fn new(test: &str) -> Folder {
        let dir = std::env::temp_dir().join(format!("netlab-expect-{test}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Folder(dir)
    }

    /// Writes `00-hello-web.ron` with `expect` added, as `name`.
    fn scenario(&self, name: &str, expect: &[&str]) -> PathBuf {
        let text = fs::read_to_string(root().join("scenarios/00-hello-web.ron")).unwrap();
        let end = text.rfind(')').unwrap();
        let statements: Vec<String> = expect
            .iter()
            .map(|s| format!("        \"{s}\",\n"))
            .collect();
        let text = format!(
            "{}    expect: [\n{}    ],\n)\n",
            &text[..end],
            statements.concat()
        );
        let path = self.0.join(name);
        fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn netlab(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_netlab"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn passing_and_failing_expectations_are_reported_with_the_actual_value() {
    let folder = Folder::new("verdicts");
    folder.scenario(
        "good.ron",
        &[
            "requests.issued == 200",
            "requests.failed <= 5",
            "servers.web.share within 1 +- 0.001",
            "latency_ms.p95 < 500",
        ],
    );
    folder.scenario(
        "bad.ron",
        &["requests.ok < 10", "events contains crash(web)"],
    );
    let output = netlab(&folder.0, &["test", ".", "--junit", "results.xml"]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let text = stdout(&output);
    assert!(text.contains("ok     ./good.ron (4 checks)"), "{text}");
    assert!(
        text.contains("FAILED ./bad.ron (2 of 2 checks failed)"),
        "{text}"
    );
    assert!(text.contains("requests.ok < 10: got 200"), "{text}");
    assert!(
        text.contains("events contains crash(web): got no such event"),
        "{text}"
    );
    assert!(text.ends_with("1 passed, 1 failed\n"), "{text}");
    let xml = fs::read_to_string(folder.0.join("results.xml")).unwrap();
    assert!(
        xml.contains("<testsuites name=\"netlab test\" tests=\"6\" failures=\"2\" errors=\"0\">"),
        "{xml}"
    );
    assert!(
        xml.contains("<testcase classname=\"./good.ron\" name=\"requests.failed &lt;= 5\"/>"),
        "{xml}"
    );
    assert!(xml.contains("<failure message=\"got 200\"/>"), "{xml}");
    // The JUnit file is well-formed XML: every element closes.
    let mut reader = quick_xml::Reader::from_str(&xml);
    let mut depth = 0i32;
    loop {
        match reader.read_event().unwrap() {
            quick_xml::events::Event::Start(_) => depth += 1,
            quick_xml::events::Event::End(_) => depth -= 1,
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(depth, 0);
}

#[test]
fn accept_stores_the_run_and_a_later_change_fails() {
    let folder = Folder::new("accept");
    let scenario = folder.scenario("lab.ron", &[]);
    let output = netlab(&folder.0, &["test", "lab.ron", "--accept"]);
    assert!(output.status.success(), "{}", stdout(&output));
    let stored = fs::read_to_string(folder.0.join("lab.expected.json")).unwrap();
    assert!(
        stored.contains("\"written_by\": \"netlab test --accept\""),
        "{stored}"
    );
    assert!(
        stored.contains("\"requests.ok\": {\n      \"value\": 200,"),
        "{stored}"
    );
    let output = netlab(&folder.0, &["test", "lab.ron"]);
    assert!(
        stdout(&output).contains("ok     lab.ron (6 checks)"),
        "{}",
        stdout(&output)
    );
    // Halve the request count: the stored numbers no longer hold.
    let text = fs::read_to_string(&scenario)
        .unwrap()
        .replace("requests: 200", "requests: 100");
    fs::write(&scenario, text).unwrap();
    let output = netlab(&folder.0, &["test", "lab.ron"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout(&output).contains("requests.ok within 200 +- 0 (stored): got 100"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn files_netlab_did_not_write_are_never_replaced() {
    let folder = Folder::new("foreign");
    folder.scenario("lab.ron", &[]);
    fs::write(folder.0.join("lab.expected.json"), "{\"metrics\": {}}").unwrap();
    fs::write(folder.0.join("notes.xml"), "my notes").unwrap();
    let output = netlab(&folder.0, &["test", "lab.ron", "--accept"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout(&output).contains("was not written by netlab"),
        "{}",
        stdout(&output)
    );
    let output = netlab(&folder.0, &["test", "lab.ron", "--junit", "notes.xml"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        fs::read_to_string(folder.0.join("notes.xml")).unwrap(),
        "my notes"
    );
    assert_eq!(
        fs::read_to_string(folder.0.join("lab.expected.json")).unwrap(),
        "{\"metrics\": {}}"
    );
}

#[test]
fn check_refuses_a_metric_the_scenario_cannot_have() {
    let folder = Folder::new("check");
    folder.scenario("lab.ron", &["servers.wbe.served > 0"]);
    let output = netlab(&folder.0, &["check", "lab.ron"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("this scenario has no metric `servers.wbe.served`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("did you mean `servers.web.served`?"),
        "{stderr}"
    );
}

#[test]
fn the_shipped_scenarios_and_the_books_exercises_pass() {
    let output = netlab(&root(), &["test", "scenarios", "book/exercises"]);
    let text = stdout(&output);
    assert!(output.status.success(), "{text}");
    assert!(text.contains(" passed, 0 failed"), "{text}");
}
