//! Sweeps beyond one machine and long runs: `netlab compare --shard I/N` and `netlab merge`
//! give the unsharded files byte for byte, refuse slices that do not belong together, and
//! the thread count changes nothing; `netlab run` draws no progress bar off a terminal and
//! leaves nothing behind when Ctrl-C stops it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// The `netlab` binary, run in `dir`.
fn netlab(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_netlab"));
    command.current_dir(dir);
    command.env_remove("RAYON_NUM_THREADS");
    command
}

/// Runs `netlab args...` in `dir`.
fn run(dir: &Path, args: &[&str]) -> Output {
    netlab(dir).args(args).output().unwrap()
}

/// A fresh, empty folder for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("netlab-sweeps-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A small director scenario (the Lab's three unequal servers) with `requests` requests.
fn scenario(requests: u64, rate: f64) -> String {
    let lab = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/l4-schedulers.ron"),
    )
    .unwrap();
    lab.replace(
        "workload: OpenLoop(rate: 300.0, requests: 1500)",
        &format!("workload: OpenLoop(rate: {rate:.1}, requests: {requests})"),
    )
}

/// Every file in `dir` (not in nested folders), by name.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect()
}

/// The flags of the test sweep: three schedulers, two seeds, a varied field (12 runs).
const SWEEP: [&str; 8] = [
    "--schedulers",
    "rr,wlc,sh",
    "--seeds",
    "2",
    "--vary",
    "nodes.web3.workers=2,4",
    "--format",
    "svg",
];

/// `netlab compare sweep.ron SWEEP extra...`, which must succeed.
fn compare(dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["compare", "sweep.ron"];
    args.extend(SWEEP);
    args.extend(extra);
    let output = run(dir, &args);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[test]
fn two_or_three_shards_merge_into_the_files_of_one_run() {
    let dir = scratch("merge");
    std::fs::write(dir.join("sweep.ron"), scenario(40, 400.0)).unwrap();
    compare(&dir, &["--out", "full"]);
    let full = files(&dir.join("full"));
    assert!(full.contains_key("compare.csv") && full.contains_key("latency-by-scheduler.svg"));
    assert_eq!(
        full["compare.csv"].iter().filter(|&&b| b == b'\n').count(),
        1 + 12 * 3
    );

    // Two shards in their default folders, merged (named in any order) into the default one.
    for shard in ["1/2", "2/2"] {
        let output = compare(&dir, &["--shard", shard]);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            stdout.contains(&format!("shard {shard}: 6 of 12 runs")),
            "{stdout}"
        );
    }
    let shards = dir.join("output/sweep");
    assert_eq!(
        files(&shards.join("compare-shard-1-of-2"))
            .keys()
            .collect::<Vec<_>>(),
        [".netlab-output", "shard.json"]
    );
    let output = run(
        &dir,
        &[
            "merge",
            "output/sweep/compare-shard-2-of-2",
            "output/sweep/compare-shard-1-of-2",
        ],
    );
    assert!(output.status.success(), "{output:?}");
    assert_eq!(files(&shards.join("compare")), full, "2 shards");

    // Three shards, each on one thread, with folders of their own.
    for i in 1..=3 {
        let (shard, out) = (format!("{i}/3"), format!("three-{i}"));
        compare(&dir, &["--shard", &shard, "--out", &out, "--threads", "1"]);
    }
    let output = run(
        &dir,
        &["merge", "three-1", "three-2", "three-3", "--out", "merged"],
    );
    assert!(output.status.success(), "{output:?}");
    assert_eq!(files(&dir.join("merged")), full, "3 shards");
    // The merged table is the unsharded one; only the folder named after it differs.
    let unsharded = compare(&dir, &["--out", "merged"]);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&unsharded.stdout)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn merges_of_slices_that_do_not_belong_together_are_refused() {
    let dir = scratch("refused");
    std::fs::write(dir.join("sweep.ron"), scenario(10, 400.0)).unwrap();
    std::fs::write(dir.join("other.ron"), scenario(12, 400.0)).unwrap();
    for (shard, out) in [("1/2", "a1"), ("2/2", "a2")] {
        compare(&dir, &["--shard", shard, "--out", out]);
    }
    // The same flags on another scenario file.
    let mut args = vec!["compare", "other.ron"];
    args.extend(SWEEP);
    args.extend(["--shard", "2/2", "--out", "b2"]);
    assert!(run(&dir, &args).status.success());
    // Another seed count: another job list.
    let mut args = vec!["compare", "sweep.ron", "--seeds", "3", "--shard", "2/2"];
    args.extend(["--out", "c2", "--schedulers", "rr,wlc,sh"]);
    assert!(run(&dir, &args).status.success());
    std::fs::create_dir(dir.join("empty")).unwrap();

    let refused = |dirs: &[&str], expected: &[&str]| {
        let mut args = vec!["merge"];
        args.extend(dirs);
        args.extend(["--out", "merged"]);
        let output = run(&dir, &args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{dirs:?}: {stderr}");
        for words in expected {
            assert!(stderr.contains(words), "{dirs:?}: {stderr}");
        }
        assert!(!dir.join("merged").exists(), "{dirs:?} wrote something");
    };
    refused(
        &["a1"],
        &[
            "error: 1 of 2 shards missing: 2",
            "`netlab compare sweep.ron --schedulers rr,wlc,sh --vary nodes.web3.workers=2,4 \
             --seeds 2 --shard 2/2`",
        ],
    );
    refused(
        &["a1", "a2", "a1"],
        &["shard 1/2 is given twice: a1 and a1"],
    );
    refused(&["a1", "b2"], &["b2 is a shard of another sweep than a1"]);
    refused(&["a1", "c2"], &["c2 is a shard of another sweep than a1"]);
    refused(&["a1", "empty"], &["empty: no shard.json"]);
    std::fs::write(dir.join("a2/shard.json"), "{\"netlab_shard\": 1}").unwrap();
    refused(
        &["a1", "a2"],
        &["a2: shard.json is damaged: \"shard\" is missing"],
    );
    // Not a slice at all: clap refuses it before anything runs.
    let output = run(&dir, &["compare", "sweep.ron", "--shard", "3/2"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("expected I/N"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_thread_count_never_changes_a_comparison() {
    let dir = scratch("threads");
    std::fs::write(dir.join("sweep.ron"), scenario(20, 400.0)).unwrap();
    compare(&dir, &["--threads", "1", "--out", "one"]);
    compare(&dir, &["--threads", "3", "--out", "three"]);
    let mut args = vec!["compare", "sweep.ron"];
    args.extend(SWEEP);
    args.extend(["--out", "env"]);
    let output = netlab(&dir)
        .env("RAYON_NUM_THREADS", "2")
        .args(&args)
        .output()
        .unwrap();
    assert!(output.status.success());
    let one = files(&dir.join("one"));
    assert_eq!(files(&dir.join("three")), one);
    assert_eq!(files(&dir.join("env")), one);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Sends SIGINT to `pid` with the system's `kill`.
fn interrupt(pid: u32) {
    let status = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn ctrl_c_stops_a_run_and_leaves_the_old_results_alone() {
    let dir = scratch("interrupt");
    std::fs::write(dir.join("small.ron"), scenario(20, 400.0)).unwrap();
    // A million requests: minutes of work, stopped after a second or two.
    std::fs::write(dir.join("big.ron"), scenario(1_000_000, 2000.0)).unwrap();
    let output = run(&dir, &["run", "small.ron", "--out", "results", "--quiet"]);
    assert!(output.status.success());
    let before = files(&dir.join("results"));

    let mut child = netlab(&dir)
        .args(["run", "big.ron", "--out", "results"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The staging folder appears once the Ctrl-C handler is in place, before the run.
    let staging = dir.join(".results.netlab-new");
    let mut waited = Duration::ZERO;
    while !staging.exists() {
        assert!(waited < Duration::from_secs(60), "the run never started");
        std::thread::sleep(Duration::from_millis(20));
        waited += Duration::from_millis(20);
    }
    // Past the second after which a terminal would show the bar.
    std::thread::sleep(Duration::from_millis(1500));
    interrupt(child.id());
    let mut waited = Duration::ZERO;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if waited > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("the run did not stop on Ctrl-C");
        }
        std::thread::sleep(Duration::from_millis(20));
        waited += Duration::from_millis(20);
    };
    let output = child.wait_with_output().unwrap();
    assert_eq!(status.code(), Some(130));
    // Nothing on stdout, no progress bar on stderr (not a terminal): only the one line.
    assert_eq!(String::from_utf8_lossy(&output.stdout), "");
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "interrupted: nothing written\n"
    );
    assert_eq!(files(&dir.join("results")), before, "old results untouched");
    let mut left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        ["big.ron", "results", "small.ron"],
        "no staging folder"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
