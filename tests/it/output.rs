//! The output-folder rules, as a student meets them: nothing of theirs is ever deleted.
//! Each test works in its own temporary folder, with the `netlab` binary run from inside it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A fresh folder holding a copy of `00-hello-web.ron` (as `scenario_name`) and a
/// student's `thesis.txt`; removed at the end of the test.
struct Desk {
    dir: PathBuf,
}

impl Desk {
    fn new(test: &str, scenario_name: &str) -> Desk {
        let dir = std::env::temp_dir().join(format!("netlab-desk-{test}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let scenario = super::support::root().join("scenarios/00-hello-web.ron");
        fs::copy(scenario, dir.join(scenario_name)).unwrap();
        fs::write(dir.join("thesis.txt"), "years of work").unwrap();
        Desk { dir }
    }

    /// Runs `netlab ARGS` inside the desk folder.
    fn netlab(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_netlab"))
            .current_dir(&self.dir)
            .args(args)
            .output()
            .unwrap()
    }

    /// The names in `sub` (relative to the desk), sorted.
    fn names(&self, sub: &str) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.dir.join(sub))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn thesis_is_intact(&self) {
        assert_eq!(
            fs::read_to_string(self.dir.join("thesis.txt")).unwrap(),
            "years of work"
        );
    }
}

impl Drop for Desk {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn out_dot_is_refused_and_nothing_is_touched() {
    let desk = Desk::new("dot", "hello.ron");
    for out in [".", "..", "/", "./"] {
        let output = desk.netlab(&["run", "hello.ron", "--quiet", "--out", out]);
        assert_eq!(
            output.status.code(),
            Some(2),
            "--out {out}: {}",
            stderr(&output)
        );
        assert!(stderr(&output).contains("refusing"), "{}", stderr(&output));
        assert!(stderr(&output).contains("= help:"), "{}", stderr(&output));
    }
    assert_eq!(desk.names("."), ["hello.ron", "thesis.txt"]);
    desk.thesis_is_intact();
}

#[test]
fn a_scenario_named_dot_dot_dot_ron_writes_to_a_safe_default() {
    // Its stem is "..": before, the default output/.. was the current folder, wiped whole.
    let desk = Desk::new("dots", "...ron");
    fs::create_dir(desk.dir.join(".git")).unwrap();
    let output = desk.netlab(&["run", "...ron", "--quiet"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(desk.names("."), ["...ron", ".git", "output", "thesis.txt"]);
    assert!(desk.dir.join("output/scenario/summary.json").is_file());
    desk.thesis_is_intact();
}

#[test]
fn a_folder_of_the_students_is_never_replaced() {
    let desk = Desk::new("mydocs", "hello.ron");
    fs::create_dir(desk.dir.join("mydocs")).unwrap();
    fs::write(desk.dir.join("mydocs/notes.txt"), "mine").unwrap();
    let output = desk.netlab(&["run", "hello.ron", "--quiet", "--out", "mydocs"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("\"notes.txt\""),
        "{}",
        stderr(&output)
    );
    assert_eq!(desk.names("mydocs"), ["notes.txt"]);
    assert_eq!(
        desk.names("."),
        ["hello.ron", "mydocs", "thesis.txt"],
        "no staging left"
    );
}

#[test]
fn the_scenario_folder_and_the_scenario_file_are_refused() {
    let desk = Desk::new("own", "hello.ron");
    fs::create_dir(desk.dir.join("labs")).unwrap();
    fs::copy(desk.dir.join("hello.ron"), desk.dir.join("labs/lab.ron")).unwrap();
    for (file, out) in [("labs/lab.ron", "labs"), ("hello.ron", "hello.ron")] {
        let output = desk.netlab(&["run", file, "--quiet", "--out", out]);
        assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    }
    assert_eq!(desk.names("labs"), ["lab.ron"]);
}

#[test]
fn a_rerun_replaces_netlab_results_and_keeps_the_comparison_inside() {
    let desk = Desk::new("rerun", "hello.ron");
    let run = |args: &[&str]| {
        let output = desk.netlab(args);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
    };
    run(&["compare", "hello.ron", "--vary", "nodes.web.workers=1,2"]);
    run(&["run", "hello.ron", "--quiet"]);
    run(&["run", "hello.ron", "--quiet", "--seed", "2"]);
    let summary = fs::read_to_string(desk.dir.join("output/hello/summary.json")).unwrap();
    assert!(summary.contains("\"seed\": 2"), "{summary}");
    assert!(desk.dir.join("output/hello/compare/compare.csv").is_file());
    let leftovers: Vec<String> = desk
        .names("output")
        .into_iter()
        .filter(|n| n.ends_with(".netlab-new") || n.ends_with(".netlab-old"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // A student's file put into the results is protected from then on.
    fs::write(desk.dir.join("output/hello/mine.txt"), "mine").unwrap();
    let output = desk.netlab(&["run", "hello.ron", "--quiet"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(desk.dir.join("output/hello/mine.txt").is_file());
}

#[test]
fn a_write_failure_exits_3_and_leaves_nothing_behind() {
    let desk = Desk::new("io", "hello.ron");
    // Nobody, not even root, may make folders in /proc.
    let target = Path::new("/proc/netlab-cannot-write-here/run");
    let output = desk.netlab(&[
        "run",
        "hello.ron",
        "--quiet",
        "--out",
        target.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("cannot write results"),
        "{}",
        stderr(&output)
    );
    assert_eq!(desk.names("."), ["hello.ron", "thesis.txt"]);
}

#[test]
fn compare_refuses_seeds_that_would_wrap_and_empty_sweeps() {
    let desk = Desk::new("seeds", "hello.ron");
    let cases: [&[&str]; 3] = [
        &["--seed", "18446744073709551614", "--seeds", "3"],
        &["--seeds", "0"],
        &["--threads", "100000"],
    ];
    for args in cases {
        let mut line = vec!["compare", "hello.ron", "--vary", "nodes.web.workers=1"];
        line.extend_from_slice(args);
        let output = desk.netlab(&line);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    assert_eq!(desk.names("."), ["hello.ron", "thesis.txt"]);
}
