//! The determinism promise: same scenario and seed give byte-identical files; another seed
//! changes what is random.

use super::support::run;

#[test]
fn the_same_seed_gives_identical_bytes() {
    let a = run("00-hello-web.ron", Some(7), true);
    let b = run("00-hello-web.ron", Some(7), true);
    assert_eq!(a.summary_json, b.summary_json);
    assert_eq!(a.requests_csv, b.requests_csv);
    assert_eq!(a.captures, b.captures);
    assert_eq!(a.charts, b.charts);
    assert_eq!(a.report_md, b.report_md);
    let names: Vec<&str> = a.captures.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["capture-lan.pcap", "capture-dmz.pcap", "capture.pcapng"]
    );
    assert!(a.captures.iter().all(|(_, bytes)| bytes.len() > 100));
}

#[test]
fn another_seed_changes_the_random_parts() {
    let a = run("00-hello-web.ron", Some(1), false);
    let b = run("00-hello-web.ron", Some(2), false);
    assert_ne!(a.requests_csv, b.requests_csv);
    // The workload itself does not change: still 200 requests, all served.
    assert_eq!(
        a.trace.requests.records().len(),
        b.trace.requests.records().len()
    );
}

#[test]
fn operator_actions_and_alarms_replay_identically() {
    // A monitor's alarm pages an action; the same seed replays both to the nanosecond.
    let a = run("cold-standby-router.ron", None, true);
    let b = run("cold-standby-router.ron", None, true);
    assert_eq!(a.events_csv, b.events_csv);
    assert_eq!(a.requests_csv, b.requests_csv);
    assert_eq!(a.captures, b.captures);
    assert!(a.events_csv.contains(",plug_in,"));
}

/// A writer whose bytes the test can read afterwards.
#[derive(Clone, Default)]
struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Shared {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_streamed_requests_csv_is_the_same_bytes_and_changes_no_other_file() {
    use netlab::capture::CaptureOptions;
    use netlab::report::ChartFormat;
    use netlab::run::{execute_streaming, execute_with_report};
    // Timeouts, failovers and keep-alive: requests that end long after later ones started.
    for name in [
        "00-hello-web.ron",
        "dns-rr-dead-server.ron",
        "hot-standby-web.ron",
        "health-checks.ron",
        "l4-keep-alive.ron",
    ] {
        let path = super::support::root().join("scenarios").join(name);
        let scenario = netlab::scenario::load_file(&path).unwrap();
        let seed = scenario.seed;
        let memory = CaptureOptions::memory(false);
        let kept = execute_with_report(&scenario, seed, ChartFormat::Svg, memory, |_| {}).unwrap();
        let out = Shared::default();
        let memory = CaptureOptions::memory(false);
        let streamed = execute_streaming(
            &scenario,
            seed,
            ChartFormat::Svg,
            memory,
            Box::new(out.clone()),
            |_| {},
        )
        .unwrap();
        assert!(streamed.requests_streamed && streamed.requests_error.is_none());
        let bytes = out.0.lock().unwrap().clone();
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            kept.requests_csv,
            "{name}"
        );
        let others = |a: &netlab::run::Artifacts| -> Vec<(String, Vec<u8>)> {
            a.files()
                .into_iter()
                .filter(|(n, _)| *n != "requests.csv")
                .map(|(n, b)| (n.to_string(), b.to_vec()))
                .collect()
        };
        assert_eq!(others(&streamed), others(&kept), "{name}");
    }
}
