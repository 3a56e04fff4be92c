//! Redundancy (issue 6): VRRP failover timing, clean shutdown, split brain, gratuitous ARP,
//! connection sync, and cold versus hot standby.

use super::support::run;

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

#[test]
fn the_backup_takes_over_within_the_vrrp_master_down_interval() {
    let a = run("vrrp-failover.ron", None, false);
    let s = summary(&a.summary_json);
    let failure = &s["failures"][0];
    assert_eq!(failure["target"], "lb1");
    let detection = failure["detection_s"].as_f64().unwrap();
    // RFC 3768: Master_Down_Interval = 3 x advert_int + (256 - priority)/256 = 3.609 s for
    // priority 100, counted from the last advert heard, which left less than 1 s before the
    // crash.
    let master_down = 3.0 + (256.0 - 100.0) / 256.0;
    assert!(
        detection > master_down - 1.0 && detection <= master_down + 1e-3,
        "took over {detection} s after the crash"
    );
    assert_eq!(failure["server"], "lb2/VI_51");
    // The router followed the gratuitous ARP.
    let takeover = when(&a.events_csv, "lb2", "vrrp_master").unwrap();
    let arp = when(&a.events_csv, "r1", "arp_update").unwrap();
    assert!(arp >= takeover && arp < takeover + 0.01);
    // lb1 comes back at 25 s and preempts after its own Master_Down_Interval (priority 150).
    let back = a
        .events_csv
        .lines()
        .filter(|l| l.contains(",lb1/VI_51,vrrp_master,"))
        .nth(1)
        .map(|l| l.split(',').next().unwrap().parse::<f64>().unwrap())
        .unwrap();
    let preempt_after = 3.0 + (256.0 - 150.0) / 256.0;
    assert!(
        (back - (25.0 + preempt_after)).abs() < 1e-3,
        "preempted at {back}"
    );
    // Requests failed only while nobody held the VIP.
    assert!(failure["failed_requests"].as_u64().unwrap() > 0);
    assert!(failure["first_ok_s"].as_f64().unwrap() < 13.2);
}

#[test]
fn a_clean_shutdown_hands_over_in_the_skew_time() {
    let a = run("vrrp-clean-shutdown.ron", None, false);
    let stop = when(&a.events_csv, "lb1/VI_51", "vrrp_stopped").unwrap();
    let takeover = when(&a.events_csv, "lb2/VI_51", "vrrp_master").unwrap();
    let skew = (256.0 - 100.0) / 256.0;
    assert!(
        (takeover - stop - skew).abs() < 1e-3,
        "{stop} -> {takeover}"
    );
    assert_eq!(summary(&a.summary_json)["requests"]["failed"], 0);
}

#[test]
fn a_partition_makes_two_masters_until_it_heals() {
    let a = run("vrrp-split-brain.ron", None, false);
    let masters: Vec<&str> = a
        .events_csv
        .lines()
        .filter(|l| l.contains(",vrrp_master,"))
        .collect();
    assert!(
        masters.iter().any(|l| l.contains("lb1/")) && masters.iter().any(|l| l.contains("lb2/"))
    );
    // After healing, the lower priority steps down.
    let healed = when(&a.events_csv, "vrrp-link", "partition_healed").unwrap();
    let down = a
        .events_csv
        .lines()
        .filter(|l| l.contains(",lb2/VI_51,vrrp_backup,") && !l.contains("start-up"))
        .map(|l| l.split(',').next().unwrap().parse::<f64>().unwrap())
        .next()
        .unwrap();
    assert!(down > healed && down < healed + 1.1);
}

#[test]
fn neighbours_that_ignore_gratuitous_arp_wait_for_their_cache_to_expire() {
    let good = summary(&run("vrrp-failover.ron", None, false).summary_json);
    let bad = summary(&run("vrrp-garp-ignored.ron", None, false).summary_json);
    let failed = |s: &serde_json::Value| s["requests"]["failed"].as_u64().unwrap();
    assert!(
        failed(&bad) > 3 * failed(&good),
        "{} vs {}",
        failed(&bad),
        failed(&good)
    );
}

#[test]
fn connection_sync_keeps_open_downloads_alive_through_a_failover() {
    let without = summary(&run("vrrp-no-sync.ron", None, false).summary_json);
    let with = summary(&run("vrrp-sync.ron", None, false).summary_json);
    let resets = |s: &serde_json::Value| s["requests"]["by_outcome"]["reset"].as_u64().unwrap();
    assert!(
        resets(&without) >= 10,
        "without sync, open downloads are reset"
    );
    assert_eq!(resets(&with), 0);
    assert!(with["requests"]["failed"].as_u64() < without["requests"]["failed"].as_u64());
}

#[test]
fn cold_standby_costs_detection_plus_reaction_hot_standby_only_its_share() {
    let cold = run("cold-standby-router.ron", None, false);
    let hot = run("hot-standby-web.ron", None, false);
    let cold_s = summary(&cold.summary_json);
    let hot_s = summary(&hot.summary_json);
    let failed = |s: &serde_json::Value| s["requests"]["failed"].as_u64().unwrap();
    // Cold: everything fails from the crash (10 s) until the spare is plugged in, 30 s after
    // the monitor's alarm (at 34 s): 54 s of outage.
    let rate = 10.0;
    assert!(
        failed(&cold_s) as f64 > 0.8 * 54.0 * rate,
        "{}",
        failed(&cold_s)
    );
    let crash = &cold_s["failures"][0];
    assert_eq!(crash["target"], "r1");
    assert!(crash["first_ok_s"].as_f64().unwrap() > 64.0);
    // Hot: only web1's share until the HTTP check removes it.
    assert!(failed(&hot_s) < 40, "{}", failed(&hot_s));
    assert!(failed(&cold_s) > 10 * failed(&hot_s));
}

/// The text of the first fenced block of `page` that follows `marker`.
fn block_after<'a>(page: &'a str, marker: &str) -> &'a str {
    let from = page.find(marker).expect("the marker is in the page") + marker.len();
    let start = page[from..]
        .find("```text\n")
        .expect("a text block follows")
        + from
        + 8;
    let end = page[start..].find("```").expect("the block is closed") + start;
    &page[start..end]
}

/// Lab 9 of the redundancy lab: a NAT pair whose master loses its outside cable. With the
/// sync group both VIPs move together and the run fails like a crash; without it the
/// inside VIP stays behind and requests fail until the cable is back. The page's quoted
/// `events.csv` lines and `vrrp_sync_group` block are the run's own.
#[test]
fn a_sync_group_moves_both_vips_of_a_nat_pair() {
    let with = run("vrrp-sync-group.ron", None, false);
    let without = run("vrrp-no-sync-group.ron", None, false);
    let (w, wo) = (summary(&with.summary_json), summary(&without.summary_json));
    assert_eq!(w["requests"]["failed"], 85);
    assert_eq!(wo["requests"]["failed"], 743);
    assert_eq!(wo["requests"]["issued"], 1394);
    // After the cable is back, the servers' slots are still held by the connections whose
    // replies died at lb1: their full accept queues drop SYNs, and those requests succeed
    // after the client's SYN retransmission, one second later.
    let drops: u64 = ["web1", "web2", "web3"]
        .iter()
        .map(|web| wo["servers"][web]["listen_drops"].as_u64().unwrap())
        .sum();
    assert_eq!(drops, 818);
    let retried: Vec<f64> = without
        .requests_csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|cols| cols[5] == "ok" && cols[4].parse::<f64>().unwrap() > 1000.0)
        .map(|cols| cols[2].parse().unwrap())
        .collect();
    assert_eq!(retried.len(), 49);
    let first = retried.iter().copied().fold(f64::MAX, f64::min);
    let last = retried.iter().copied().fold(f64::MIN, f64::max);
    assert_eq!(
        (format!("{first:.1}"), format!("{last:.1}")),
        ("28.6".into(), "30.3".into())
    );
    // Both VIPs arrive on lb2 in the same instant with the group; never without it.
    let takeover = |a: &str, vi| when(a, &format!("lb2/{vi}"), "vrrp_master");
    assert_eq!(takeover(&with.events_csv, "VI_1"), Some(13.023458));
    assert_eq!(takeover(&with.events_csv, "VI_2"), Some(13.023458));
    assert_eq!(takeover(&without.events_csv, "VI_2"), None);
    let page = std::fs::read_to_string(super::support::root().join("book/src/labs/redundancy.md"))
        .unwrap();
    let lab = &page[page.find("### Lab 9").unwrap()..];
    let events = block_after(lab, "run scenarios/vrrp-sync-group.ron\n```");
    assert!(events.lines().count() > 10);
    for line in events.lines() {
        assert!(
            with.events_csv.lines().any(|l| l == line),
            "the book quotes a line the run does not have: {line}"
        );
    }
    let group = &lab[lab.find("vrrp_sync_group NAT {").unwrap()..];
    let group = &group[..group.find("```").unwrap()];
    let (_, conf) = with
        .keepalived_confs
        .iter()
        .find(|(name, _)| name == "keepalived-lb1.conf")
        .unwrap();
    assert!(conf.contains(group), "{conf}");
}
