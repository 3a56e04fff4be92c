//! Operator actions and the monitor node (issue 13, §2 and §3): draining a server, zone edits,
//! a VRRP priority change, plugging a cold spare in after a monitor's alarm.

use netlab::run::{Artifacts, execute};
use netlab::scenario::load::load_str;

use super::support::{root, run};

fn summary(json: &str) -> serde_json::Value {
    serde_json::from_str(json).unwrap()
}

/// Time of the first `event` line whose target starts with `target` in events.csv.
fn when(events: &str, target: &str, event: &str) -> Option<f64> {
    events.lines().skip(1).find_map(|l| {
        let cols: Vec<&str> = l.splitn(4, ',').collect();
        (cols[1].starts_with(target) && cols[2] == event).then(|| cols[0].parse().unwrap())
    })
}

/// Runs scenario `name` of `scenarios/` with `old` replaced by `new` in its text.
fn run_changed(name: &str, old: &str, new: &str) -> Artifacts {
    let text = std::fs::read_to_string(root().join("scenarios").join(name)).unwrap();
    assert!(text.contains(old), "{name} has no {old:?}");
    let scenario = load_str(name, &text.replacen(old, new, 1))
        .unwrap_or_else(|e| panic!("the changed {name} does not load:\n{e}"));
    execute(&scenario, scenario.seed, false).unwrap()
}

/// `(start_s, server)` of every request in requests.csv.
fn starts_and_servers(requests_csv: &str) -> Vec<(f64, String)> {
    let header: Vec<&str> = requests_csv.lines().next().unwrap().split(',').collect();
    let start = header.iter().position(|h| *h == "start_s").unwrap();
    let server = header.iter().position(|h| *h == "server").unwrap();
    requests_csv
        .lines()
        .skip(1)
        .map(|l| {
            let cols: Vec<&str> = l.split(',').collect();
            (cols[start].parse().unwrap(), cols[server].to_string())
        })
        .collect()
}

#[test]
fn a_drained_server_gets_no_new_connection_and_nobody_fails() {
    let a = run("drain-weight.ron", None, false);
    let s = summary(&a.summary_json);
    assert_eq!(s["requests"]["failed"], 0);
    // Weight 0 at 10 s: no request that started after it (plus one round trip of slack for
    // a SYN already on its way) reached web3, until web3 was added back at 30 s.
    let starts = starts_and_servers(&a.requests_csv);
    let to_web3 = |from: f64, to: f64| {
        starts
            .iter()
            .filter(|(at, server)| *at >= from && *at < to && server == "web3")
            .count()
    };
    assert!(to_web3(0.0, 10.0) > 100);
    assert_eq!(to_web3(10.01, 30.0), 0);
    assert!(to_web3(30.01, 40.0) > 50);
    // web4 served nothing before it was added at 25 s.
    assert!(
        starts
            .iter()
            .all(|(at, server)| server != "web4" || *at >= 25.0)
    );
    // Every action is an event, with what it changed.
    let events = &a.events_csv;
    assert!(events.contains("10.000000,lb/10.0.2.13:80,set_weight,weight 0 (was 1)"));
    assert!(
        events.contains("20.000000,lb/10.0.2.13:80,remove_server,\"left in the table: 0 active,")
    );
    assert!(events.contains("25.000000,lb/10.0.2.14:80,add_server,weight 2"));
    // The snapshot at 15 s shows web3 drained: weight 0, no active connection.
    let ipvsadm = a.ipvsadm_txt.unwrap();
    assert!(ipvsadm.contains("-> 10.0.2.13:80                 Masq    0      0"));
}

#[test]
fn an_alarm_pages_the_operator_who_plugs_the_spare_in_after_the_reaction_time() {
    let a = run("cold-standby-router.ron", None, false);
    let events = &a.events_csv;
    // The probe pings every 20 s from 1 s (1, 21, ...); the router dies at 10 s. The check at
    // 21 s fails after its 1 s timeout, then two retries 5 s apart: the third failure, and the
    // alarm, at 34 s.
    let alarm = when(events, "noc/gateway", "alarm").unwrap();
    assert!((alarm - 34.0).abs() < 0.01, "alarm at {alarm}");
    // The operator reacts 30 s later.
    let plugged = when(events, "r1-spare", "plug_in").unwrap();
    assert!(
        (plugged - (alarm + 30.0)).abs() < 1e-6,
        "plugged in at {plugged}"
    );
    assert!(events.contains("r1-spare,plug_in,\"interface(s) 0, 1\""));
    // The spare answers the next check: the alarm clears.
    let cleared = when(events, "noc/gateway", "alarm_cleared").unwrap();
    assert!(cleared > plugged && cleared < plugged + 20.0);
    // Users had no service from the crash until the spare was in.
    let s = summary(&a.summary_json);
    let first_ok = s["failures"][0]["first_ok_s"].as_f64().unwrap();
    assert!(first_ok > plugged && first_ok < plugged + 0.5, "{first_ok}");
}

#[test]
fn a_slower_reaction_or_a_rarer_check_lengthens_the_outage() {
    let failed = |old: &str, new: &str| {
        let a = run_changed("cold-standby-router.ron", old, new);
        summary(&a.summary_json)["requests"]["failed"]
            .as_u64()
            .unwrap()
    };
    // The redundancy lab's table (Lab 1) quotes these numbers.
    let reaction = |after: &str| failed("after: \"30s\"", &format!("after: \"{after}\""));
    let interval = |every: &str| failed("interval: \"20s\"", &format!("interval: \"{every}\""));
    let (quick, usual, slow) = (reaction("10s"), reaction("30s"), reaction("60s"));
    assert_eq!((quick, usual, slow), (331, 518, 809));
    // 10 requests per second: each second of reaction costs about 10 requests.
    assert!(slow - usual > 280 && slow - usual < 310);
    assert_eq!((interval("10s"), interval("60s")), (422, 908));
}

#[test]
fn raising_a_backup_s_priority_hands_the_vip_over() {
    let a = run_changed(
        "vrrp-failover.ron",
        "faults: [(at: \"10s\", until: \"25s\", target: \"lb1\", event: Crash)],",
        "actions: [(at: \"10s\", target: \"lb2\", action: SetPriority(priority: 200))],",
    );
    let events = &a.events_csv;
    assert!(events.contains("10.000000,lb2/VI_51,set_priority,priority 200 (was 100)"));
    // lb2 now ignores lb1's lower adverts (preemption) and takes over when its
    // Master_Down_Interval (3.609 s for the priority it had when it last reset it) runs out.
    let takeover = events
        .lines()
        .filter(|l| l.contains(",lb2/VI_51,vrrp_master,"))
        .map(|l| l.split(',').next().unwrap().parse::<f64>().unwrap())
        .next()
        .unwrap();
    let master_down = 3.0 + (256.0 - 100.0) / 256.0;
    assert!(
        takeover > 10.0 + master_down - 1.0 && takeover <= 10.0 + master_down + 1e-3,
        "took over at {takeover}"
    );
    // lb1 hears priority 200 and steps down at once.
    let lb1_backup = events
        .lines()
        .filter(|l| l.contains(",lb1/VI_51,vrrp_backup,"))
        .map(|l| l.split(',').next().unwrap().parse::<f64>().unwrap())
        .find(|&t| t > 10.0)
        .unwrap();
    assert!(lb1_backup >= takeover && lb1_backup < takeover + 0.01);
}

#[test]
fn removing_a_dead_server_s_record_ends_the_failures_one_ttl_later() {
    let a = run_changed(
        "dns-rr-dead-server.ron",
        "faults: [(at: \"20s\", target: \"web3\", event: Crash)],",
        "faults: [(at: \"20s\", target: \"web3\", event: Crash)],
    actions: [(at: \"25s\", target: \"ns1\", action: RemoveRecord(name: \"www.example\", address: \"10.0.2.13\")),
              (at: \"26s\", target: \"ns1\", action: SetTtl(name: \"www.example\", ttl: \"5s\"))],",
    );
    assert!(
        a.events_csv
            .contains("25.000000,ns1/www.example,remove_record,10.0.2.13 (2 left)")
    );
    assert!(
        a.events_csv
            .contains("26.000000,ns1/www.example,set_ttl,ttl 5s (was 10s)")
    );
    let header: Vec<&str> = a.requests_csv.lines().next().unwrap().split(',').collect();
    let start = header.iter().position(|h| *h == "start_s").unwrap();
    let outcome = header.iter().position(|h| *h == "outcome").unwrap();
    let failed_starts: Vec<f64> = a
        .requests_csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|c| c[outcome] != "ok")
        .map(|c| c[start].parse().unwrap())
        .collect();
    assert!(failed_starts.iter().any(|&t| t > 20.0 && t < 25.0));
    // Answers cached before the edit live at most one TTL (10 s) more.
    assert!(
        failed_starts.iter().all(|&t| t < 35.0),
        "{:?}",
        failed_starts.iter().rev().take(3).collect::<Vec<_>>()
    );
}

/// A web server, one client, and a monitor with an HTTP probe; the service stops from 10 s
/// to 30 s.
const HTTP_PROBE: &str = r#"Scenario(
    name: "http-probe",
    description: "A monitor's HTTP probe raises and clears an alarm",
    segments: [(name: "lan")],
    nodes: [
        WebServer(name: "web", interface: (attach: "lan", ip: "10.0.0.10/24")),
        Clients(name: "pc", attach: "lan", first_ip: "10.0.0.100/24", url: "http://10.0.0.10/",
                workload: OpenLoop(rate: 1.0, duration: "45s")),
        Monitor(name: "noc", interface: (attach: "lan", ip: "10.0.0.50/24"), probes: [
            (name: "web-http", target: "web", kind: Http(), interval: "2s", timeout: "1s",
             fail_after: 2, clear_after: 3),
            (name: "web-ping", target: "10.0.0.10", kind: Ping, interval: "2s", timeout: "1s"),
            (name: "web-tcp", target: "web", kind: Tcp(port: 80), interval: "2s", timeout: "1s",
             fail_after: 1),
        ]),
    ],
    faults: [(at: "10s", until: "30s", target: "web", event: StopService)],
)"#;

#[test]
fn an_http_probe_alarms_after_n_failures_and_clears_after_m_successes() {
    let scenario = load_str("http-probe.ron", HTTP_PROBE).unwrap();
    let a = execute(&scenario, 1, false).unwrap();
    let events = &a.events_csv;
    // Checks at 1, 3, 5...: the one at 11 s is refused, the retry at 13 s too: alarm at 13 s.
    let alarm = when(events, "noc/web-http", "alarm").unwrap();
    assert!((12.9..13.1).contains(&alarm), "alarm at {alarm}");
    assert!(events.contains("2 failed checks in a row; last:"));
    // Back at 30 s: the checks at 31, 33 and 35 s pass, the third clears the alarm.
    let cleared = when(events, "noc/web-http", "alarm_cleared").unwrap();
    assert!((34.9..35.1).contains(&cleared), "cleared at {cleared}");
    // The machine still answered ping all along: the ping probe never alarmed.
    assert_eq!(when(events, "noc/web-ping", "alarm"), None);
    // The TCP probe alarms on its first refused connection, at 11 s, and clears on the first
    // success after the restart, at 31 s.
    let tcp_alarm = when(events, "noc/web-tcp", "alarm").unwrap();
    assert!(
        (10.9..11.1).contains(&tcp_alarm),
        "TCP alarm at {tcp_alarm}"
    );
    assert!(events.contains("noc/web-tcp,alarm,1 failed check in a row; last: connection refused"));
    let tcp_cleared = when(events, "noc/web-tcp", "alarm_cleared").unwrap();
    assert!(
        (30.9..31.1).contains(&tcp_cleared),
        "TCP cleared at {tcp_cleared}"
    );
}

#[test]
fn an_action_on_a_crashed_node_changes_nothing_and_says_so() {
    let a = run_changed(
        "drain-weight.ron",
        "    actions: [",
        "    faults: [(at: \"5s\", until: \"15s\", target: \"lb\", event: Crash)],
    actions: [",
    );
    assert!(
        a.events_csv
            .contains("10.000000,lb/10.0.2.13:80,set_weight,node is down")
    );
    // The drain never happened: web3 is still weighted 1 when the director comes back.
    let starts = starts_and_servers(&a.requests_csv);
    assert!(
        starts
            .iter()
            .any(|(at, server)| *at > 15.5 && *at < 20.0 && server == "web3")
    );
}
