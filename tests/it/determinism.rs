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
    assert_eq!(a.trace.requests.len(), b.trace.requests.len());
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
