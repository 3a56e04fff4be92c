//! Every scenario in `scenarios/` runs to completion; its summary and table are locked by
//! snapshots, so any change in behaviour shows up in review.

use super::support::run_path;

#[test]
fn every_scenario_runs_and_matches_its_snapshot() {
    insta::glob!("../../scenarios", "*.ron", |path| {
        let artifacts = run_path(path, None, false);
        let summary: serde_json::Value = serde_json::from_str(&artifacts.summary_json).unwrap();
        let issued = summary["requests"]["issued"].as_u64().unwrap();
        let pings = summary["pings"].as_array().unwrap().len();
        assert!(
            issued > 0 || pings > 0,
            "{} produced no traffic",
            path.display()
        );
        // The data behind load.svg (the chart itself is checked for bytes, not pixels).
        let bars: String = artifacts
            .load_bars
            .iter()
            .map(|b| {
                format!(
                    "{} served {} share {:.4} ideal {:.4}\n",
                    b.server, b.served, b.share, b.ideal
                )
            })
            .collect();
        if !artifacts.load_bars.is_empty() {
            assert!(
                artifacts.charts.iter().any(|(name, _)| name == "load.svg"),
                "a scenario with servers draws load.svg"
            );
        }
        // The data behind the over-time charts: the bins in which requests failed.
        let series = &artifacts.series;
        let failing_bins: Vec<String> = series
            .starts_s
            .iter()
            .zip(&series.failed_per_s)
            .filter(|(_, f)| **f > 0.0)
            .map(|(s, f)| format!("{s}:{f:.1}"))
            .collect();
        for (name, svg) in &artifacts.charts {
            let svg = std::str::from_utf8(svg).expect("an SVG chart is text");
            assert!(
                svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
                "{name}"
            );
        }
        // The book's stored charts of this scenario are what it draws today.
        let stem = path.file_stem().unwrap().to_string_lossy();
        for (name, bytes) in &artifacts.charts {
            let stored = super::support::root()
                .join("book/src/charts")
                .join(stem.as_ref())
                .join(name);
            if let Ok(stored_bytes) = std::fs::read(&stored) {
                assert!(
                    &stored_bytes == bytes,
                    "{} is stale: run `cargo run --release --example book-charts`",
                    stored.display()
                );
            }
        }
        let chart_names: Vec<&str> = artifacts.charts.iter().map(|(n, _)| n.as_str()).collect();
        insta::assert_snapshot!(format!(
            "{}\n{}\nload.svg\n{bars}\ncharts {chart_names:?}\nfailed/s by bin start {failing_bins:?}\n",
            artifacts.table, artifacts.summary_json
        ));
    });
}

#[test]
fn hello_web_serves_every_request() {
    let artifacts = super::support::run("00-hello-web.ron", None, false);
    let summary: serde_json::Value = serde_json::from_str(&artifacts.summary_json).unwrap();
    assert_eq!(summary["requests"]["issued"], 200);
    assert_eq!(summary["requests"]["ok"], 200);
    assert_eq!(summary["servers"]["web"]["served"], 200);
    // Latency across a router on 100 Mbps with a 2 ms mean service time is a few ms.
    let p50 = summary["latency_ms"]["p50"].as_f64().unwrap();
    assert!((1.0..20.0).contains(&p50), "p50 {p50} ms");
    // One row per request, plus the header.
    assert_eq!(artifacts.requests_csv.lines().count(), 201);
}

#[test]
fn ping_across_a_router_and_into_nowhere() {
    let artifacts = super::support::run("01-two-subnets-ping.ron", None, false);
    let summary: serde_json::Value = serde_json::from_str(&artifacts.summary_json).unwrap();
    let pings = summary["pings"].as_array().unwrap();
    let alice = pings.iter().find(|p| p["host"] == "alice").unwrap();
    assert_eq!(alice["sent"], 5);
    assert_eq!(alice["received"], 5);
    // The first ping waits for two ARP exchanges, so it is the slowest.
    assert!(alice["rtt_ms"]["max"].as_f64() > alice["rtt_ms"]["min"].as_f64());
    let carol = pings.iter().find(|p| p["host"] == "carol").unwrap();
    assert_eq!(carol["received"], 0);
}
