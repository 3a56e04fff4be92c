//! The binary: exit codes, files written, nothing written on failure.

use std::process::Command;

fn netlab() -> Command {
    Command::new(env!("CARGO_BIN_EXE_netlab"))
}

#[test]
fn run_writes_the_three_files() {
    let out = std::env::temp_dir().join(format!("netlab-cli-run-{}", std::process::id()));
    let status = netlab()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["run", "scenarios/00-hello-web.ron", "--quiet", "--out"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    for file in [
        "summary.json",
        "requests.csv",
        "events.csv",
        "capture-lan.pcap",
        "capture-dmz.pcap",
        "capture.pcapng",
        "load.svg",
        "load-over-time.svg",
        "outcomes-over-time.svg",
        "latency.svg",
        "report.md",
    ] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    std::fs::remove_dir_all(&out).unwrap();
}

/// Whether `bytes` is a PNG file (its signature and a first IHDR chunk).
fn is_png(bytes: &[u8]) -> bool {
    bytes.len() > 33 && bytes[..8] == *b"\x89PNG\r\n\x1a\n" && &bytes[12..16] == b"IHDR"
}

#[test]
fn run_writes_png_charts_when_asked() {
    let out = std::env::temp_dir().join(format!("netlab-cli-png-{}", std::process::id()));
    let run = |out: &std::path::Path| {
        let status = netlab()
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args([
                "run",
                "scenarios/00-hello-web.ron",
                "--quiet",
                "--format",
                "png",
                "--out",
            ])
            .arg(out)
            .status()
            .unwrap();
        assert!(status.success());
    };
    run(&out);
    let charts = ["load", "load-over-time", "outcomes-over-time", "latency"];
    let first: Vec<Vec<u8>> = charts
        .iter()
        .map(|chart| std::fs::read(out.join(format!("{chart}.png"))).unwrap())
        .collect();
    for (chart, bytes) in charts.iter().zip(&first) {
        assert!(is_png(bytes), "{chart}.png is not a PNG file");
        assert!(
            !out.join(format!("{chart}.svg")).exists(),
            "{chart}.svg too"
        );
    }
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("![load.png](load.png)"), "{report}");
    // A second run gives the same pixels, byte for byte.
    run(&out);
    for (chart, bytes) in charts.iter().zip(&first) {
        assert_eq!(
            &std::fs::read(out.join(format!("{chart}.png"))).unwrap(),
            bytes
        );
    }
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn check_reports_bad_files_with_exit_code_2() {
    let output = netlab()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["check", "tests/it/bad/unknown-segment.ron"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("tests/it/bad/unknown-segment.ron:"),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean"), "{stderr}");
}

#[test]
fn a_failed_run_writes_nothing() {
    let out = std::env::temp_dir().join(format!("netlab-cli-fail-{}", std::process::id()));
    let output = netlab()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["run", "tests/it/runaway.ron", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("max_sim_time"));
    assert!(!out.exists(), "no output folder after a failed run");
}

#[test]
fn list_shows_every_scenario() {
    let output = netlab()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("list")
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("00-hello-web.ron"), "{stdout}");
    assert!(stdout.contains("01-two-subnets-ping.ron"), "{stdout}");
}

#[test]
fn usage_errors_exit_with_2() {
    let output = netlab().args(["run"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn compare_writes_a_csv_per_scheduler() {
    let out = std::env::temp_dir().join(format!("netlab-cli-compare-{}", std::process::id()));
    let output = netlab()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "compare",
            "scenarios/l4-schedulers.ron",
            "--schedulers",
            "rr,wrr",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let csv = std::fs::read_to_string(out.join("compare.csv")).unwrap();
    assert!(csv.starts_with("scheduler,seed,server,served,share,"));
    assert_eq!(
        csv.lines().count(),
        1 + 2 * 3,
        "two schedulers, three servers"
    );
    for file in [
        "report.md",
        "load-by-scheduler.svg",
        "latency-by-scheduler.svg",
    ] {
        let text = std::fs::read_to_string(out.join(file)).unwrap();
        assert!(!text.is_empty(), "{file}");
    }
    let svg = std::fs::read_to_string(out.join("load-by-scheduler.svg")).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("\nwrr\n"),
        "the groups are labelled"
    );
    // Not on a terminal, so no progress bar: stderr stays empty.
    assert!(
        output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn compare_draws_png_charts_when_asked() {
    let out = std::env::temp_dir().join(format!("netlab-cli-cmp-png-{}", std::process::id()));
    let status = netlab()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "compare",
            "scenarios/l4-schedulers.ron",
            "--schedulers",
            "rr,lc",
            "--format",
            "png",
            "--out",
        ])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    for chart in ["load-by-scheduler.png", "latency-by-scheduler.png"] {
        assert!(is_png(&std::fs::read(out.join(chart)).unwrap()), "{chart}");
    }
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn compare_rejects_an_unknown_scheduler() {
    let output = netlab()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "compare",
            "scenarios/l4-schedulers.ron",
            "--schedulers",
            "fastest",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn compare_varies_a_field_named_by_its_path() {
    let out = std::env::temp_dir().join(format!("netlab-cli-vary-{}", std::process::id()));
    let output = netlab()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "compare",
            "scenarios/dns-rr-dead-server.ron",
            "--vary",
            "nodes.ns1.zone.0.ttl=1s,60s",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("ttl=1s") && stdout.contains("ttl=60s"),
        "{stdout}"
    );
    let csv = std::fs::read_to_string(out.join("compare.csv")).unwrap();
    assert!(csv.lines().next().unwrap().ends_with(",vary"));
    assert!(csv.contains(",nodes.ns1.zone.0.ttl=1s") && csv.contains(",nodes.ns1.zone.0.ttl=60s"));
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn a_wrong_vary_path_is_a_usage_error() {
    let output = netlab()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "compare",
            "scenarios/l4-schedulers.ron",
            "--vary",
            "nodes.nobody.workers=4",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("nobody"));
}

/// `netlab check` checks the keepalived.conf a scenario names: its warnings on stderr with
/// exit 0, and a broken conf's errors, located in the conf, with exit 2.
#[test]
fn check_reads_the_keepalived_conf_a_scenario_names() {
    let output = netlab()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["check", "scenarios/l4-keepalived.ron"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--> scenarios/keepalived/lb1.conf:8:4"),
        "{stderr}"
    );
    let dir = std::env::temp_dir().join(format!("netlab-cli-kaconf-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("keepalived")).unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::copy(
        root.join("scenarios/l4-keepalived.ron"),
        dir.join("l4-keepalived.ron"),
    )
    .unwrap();
    let conf = std::fs::read_to_string(root.join("scenarios/keepalived/lb1.conf")).unwrap();
    std::fs::write(
        dir.join("keepalived/lb1.conf"),
        conf.replace("lb_kind NAT", "lb_kind DSR"),
    )
    .unwrap();
    let output = netlab()
        .current_dir(&dir)
        .args(["check", "l4-keepalived.ron"])
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--> keepalived/lb1.conf:20:13"), "{stderr}");
    assert!(
        stderr.contains("keepalived calls direct server return `DR`"),
        "{stderr}"
    );
}
