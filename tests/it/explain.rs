//! `netlab explain`: the stories of chosen requests (snapshotted), the selectors' errors, and
//! the promise that recording decisions changes nothing a run writes.

use std::process::Command;

use netlab::explain::{Explained, Selector, explain};
use netlab::report::ChartFormat;
use netlab::run::{Recording, execute, execute_recording};
use netlab::scenario::load_file;

use super::support::root;

/// Tells the story `selector` names in `scenarios/<name>` with the file's own seed.
fn story(name: &str, selector: Selector) -> Explained {
    let scenario = load_file(&root().join("scenarios").join(name)).expect("the scenario loads");
    explain(&scenario, scenario.seed, &selector).expect("the request exists")
}

/// The `netlab` binary.
fn netlab() -> Command {
    Command::new(env!("CARGO_BIN_EXE_netlab"))
}

#[test]
fn an_l4_nat_request_is_told_hop_by_hop() {
    let told = story("l4-nat.ron", Selector::Request(5));
    let text = told.text();
    // The director's decision sits between the SYN on the front wire and the rewritten SYN on
    // the back wire.
    let front_syn = text.find("front     192.0.2.103.49152 > 10.0.1.100.80: Flags [S]");
    let pick = text.find("lb        scheduler wrr");
    let back_syn = text.find("back      192.0.2.103.49152 > 10.0.2.11.80: Flags [S]");
    assert!(
        front_syn < pick && pick < back_syn && front_syn.is_some(),
        "{text}"
    );
    insta::assert_snapshot!("explain_l4_nat_request_5", text);
}

#[test]
fn a_router_shows_its_route_and_its_arp_wait() {
    let text = story("00-hello-web.ron", Selector::Request(0)).text();
    let lines = [
        "r1    routes the SYN 10.0.0.102:49152 -> 10.0.1.10:80: longest prefix match 10.0.1.0/24, directly connected",
        "r1    does not know 10.0.1.10's MAC address: the packet waits while it asks (ARP)",
        "dmz   ARP, Request who-has 10.0.1.10 tell 10.0.1.1",
    ];
    let mut from = 0;
    for line in lines {
        let at = text[from..]
            .find(line)
            .unwrap_or_else(|| panic!("{line}\n{text}"));
        from += at;
    }
    assert!(text.contains("dmz   ARP, Reply 10.0.1.10 is-at "), "{text}");
}

#[test]
fn a_request_on_a_kept_connection_shows_the_pick_that_opened_it() {
    let text = story("l4-keep-alive.ron", Selector::Request(20)).text();
    let pick =
        text.find("lb         earlier, when this kept-alive connection was opened: scheduler rr");
    let start = text.find("browser-2  decides to send a request");
    assert!(pick.is_some() && pick < start, "{text}");
    assert!(
        text.contains("sends it on its kept-alive connection"),
        "{text}"
    );
}

#[test]
fn a_wlc_pick_shows_each_servers_load_per_weight() {
    let told = story(
        "l4-schedulers.ron",
        Selector::Client {
            name: "pc".to_string(),
            nth: 40,
        },
    );
    let text = told.text();
    // web2 carries 10 inactive connections on weight 2: 5 per unit, the lightest.
    assert!(
        text.contains("web2 0×256+10=10 /w2 = 5.00")
            && text.contains("web2 is lightest per unit of weight"),
        "{text}"
    );
    assert_eq!(told.story.request.server.as_deref(), Some("web2"));
    insta::assert_snapshot!("explain_l4_schedulers_wlc", text);
}

#[test]
fn a_dns_round_robin_request_shows_the_rotated_answer() {
    let told = story("dns-rr.ron", Selector::Request(3));
    let text = told.text();
    assert!(
        text.contains("cyclic order rotated to record 1 of the zone: 10.0.2.12, 10.0.2.13"),
        "{text}"
    );
    assert!(text.contains("tries 10.0.2.12 first"), "{text}");
    assert_eq!(told.story.request.server.as_deref(), Some("web2"));
    insta::assert_snapshot!("explain_dns_rr_request_3", text);
}

#[test]
fn the_first_failed_request_is_blamed_on_the_crash() {
    let told = story("health-checks.ron", Selector::FirstFailed);
    let verdict = &told.story.verdict;
    assert_eq!(verdict.outcome, "timeout");
    assert!(
        verdict
            .reason
            .contains("http1: crash (fault) at 10.000000 s")
            && verdict
                .reason
                .contains("the health checks took it out only at 14.407547 s"),
        "{}",
        verdict.reason
    );
    insta::assert_snapshot!("explain_health_checks_first_failed", told.text());
}

#[test]
fn an_l7_request_is_followed_through_the_proxy_to_the_server() {
    let told = story("l7-routing.ron", Selector::Request(7));
    let text = told.text();
    assert!(
        text.contains("rule path /static/ matches → pool static"),
        "{text}"
    );
    // The server's records are found through the proxy's own connection.
    assert!(text.contains("static1     request read"), "{text}");
    insta::assert_snapshot!("explain_l7_routing_request_7", text);
}

#[test]
fn a_cache_miss_is_followed_to_the_origin_and_a_hit_stops_at_the_cache() {
    let miss = story("cache-cluster.ron", Selector::Request(3)).text();
    assert!(
        miss.contains(
            "cache4    looks http://198.51.100.1/1 up in its memory (0 of 40 objects): a miss; \
             fetches it from the origin over its own connection from 10.0.2.14:49154"
        ),
        "{miss}"
    );
    // The origin's records are found through the cache's own connection.
    assert!(
        miss.contains("origin-a  request read; 1 of 64 workers busy"),
        "{miss}"
    );
    let hit = story("cache-cluster.ron", Selector::Request(900)).text();
    assert!(
        hit.contains(
            "cache2    looks http://198.51.100.2/8 up in its memory (40 of 40 objects): a hit, \
             answered from memory after one service time"
        ),
        "{hit}"
    );
    assert!(
        !hit.contains("origin-"),
        "a hit never reaches an origin: {hit}"
    );
}

#[test]
fn the_json_form_holds_the_same_story_as_data() {
    let told = story("l4-nat.ron", Selector::Request(5));
    let json: serde_json::Value = serde_json::from_str(&told.json()).expect("valid JSON");
    let steps = json["steps"].as_array().expect("a list of steps");
    assert_eq!(steps.len(), told.story.steps.len());
    let pick = steps
        .iter()
        .find(|s| s["kind"] == "l4_pick")
        .expect("the director's pick");
    assert_eq!(pick["scheduler"], "wrr");
    assert_eq!(pick["chosen"], "web1");
    assert_eq!(pick["candidates"].as_array().map(Vec::len), Some(3));
    assert_eq!(json["verdict"]["outcome"], "ok");
    insta::assert_snapshot!("explain_l4_nat_request_5_json", told.json());
}

#[test]
fn recording_decisions_changes_no_output_file() {
    for name in [
        "l4-nat.ron",
        "dns-rr.ron",
        "health-checks.ron",
        "l7-routing.ron",
    ] {
        let scenario = load_file(&root().join("scenarios").join(name)).expect("loads");
        let plain = execute(&scenario, scenario.seed, false).expect("runs");
        let recorded = execute_recording(
            &scenario,
            scenario.seed,
            false,
            ChartFormat::Svg,
            Recording {
                decisions: true,
                frames: true,
            },
        )
        .expect("runs");
        assert!(!recorded.trace.decisions.records().is_empty(), "{name}");
        assert!(plain.trace.decisions.records().is_empty(), "{name}");
        assert_eq!(plain.summary_json, recorded.summary_json, "{name}");
        assert_eq!(plain.requests_csv, recorded.requests_csv, "{name}");
        assert_eq!(plain.events_csv, recorded.events_csv, "{name}");
    }
}

/// Runs `netlab explain` with `args`; returns the exit code and standard error.
fn explain_cli(args: &[&str]) -> (i32, String) {
    let output = netlab()
        .arg("explain")
        .args(args)
        .current_dir(root())
        .output()
        .expect("netlab runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn bad_selectors_exit_2_with_a_hint() {
    let cases: [(&[&str], &str); 6] = [
        (
            &["scenarios/l4-nat.ron", "--client", "bob", "--nth", "1"],
            "the clients are: pc (hosts pc-1 to pc-",
        ),
        (
            &[
                "scenarios/l4-nat.ron",
                "--client",
                "pc-1",
                "--nth",
                "100000",
            ],
            "use --nth 1 to --nth",
        ),
        (
            &["scenarios/l4-nat.ron", "--server", "web9", "--nth", "1"],
            "the servers are: web1, web2, web3",
        ),
        (
            &["scenarios/l4-nat.ron", "--request", "999999"],
            "request ids go from 0 to",
        ),
        (
            &["scenarios/l4-nat.ron", "--first-failed"],
            "try a scenario with faults",
        ),
        (&["scenarios/l4-nat.ron"], "--request"),
    ];
    for (args, hint) in cases {
        let (code, stderr) = explain_cli(args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(hint), "{args:?}: {stderr}");
    }
}

#[test]
fn explain_prints_a_story_on_stdout() {
    let output = netlab()
        .args([
            "explain",
            "scenarios/l4-nat.ron",
            "--request",
            "5",
            "--format",
            "json",
        ])
        .current_dir(root())
        .output()
        .expect("netlab runs");
    assert_eq!(output.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(json["request"]["id"], 5);
}

/// Every `.md` page under `dir`.
fn pages(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("the book's folder") {
        let path = entry.expect("a folder entry").path();
        if path.is_dir() {
            found.extend(pages(&path));
        } else if path.extension().is_some_and(|e| e == "md") {
            found.push(path);
        }
    }
    found
}

/// A page that shows `$ netlab explain ...` in a text block quotes real lines of its output:
/// every line of the block but `...` must appear in what the command prints now.
#[test]
fn the_book_quotes_real_stories() {
    let mut checked = 0;
    for page in pages(&root().join("book/src")) {
        let text = std::fs::read_to_string(&page).expect("readable page");
        for block in text.split("```text\n$ netlab explain ").skip(1) {
            let (args, rest) = block.split_once('\n').expect("a command line");
            if args.ends_with("--help") {
                continue;
            }
            let quoted = &rest[..rest.find("```").expect("a closed block")];
            let output = netlab()
                .arg("explain")
                .args(args.split_whitespace())
                .current_dir(root())
                .output()
                .expect("netlab runs");
            let printed = String::from_utf8_lossy(&output.stdout);
            for line in quoted.lines().filter(|l| *l != "...") {
                assert!(
                    printed.lines().any(|p| p == line),
                    "{} quotes a line `netlab explain {args}` no longer prints:\n{line}",
                    page.display()
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 5, "the book quotes stories: {checked}");
}

#[test]
fn a_resolver_miss_shows_only_the_answer_it_passed_on() {
    // ns1 answers three carriers' resolvers in the same tenth of a second; the story of one
    // phone's request keeps the answer its resolver passed on, the one with the phone's order.
    let text = story(
        "dns-rr.ron",
        Selector::Client {
            name: "phone-a".to_string(),
            nth: 3,
        },
    )
    .text();
    assert!(text.contains("resolver cache miss"), "{text}");
    let answers: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("authoritative answer"))
        .collect();
    assert_eq!(answers.len(), 1, "{text}");
    assert!(
        answers[0].contains("10.0.2.12, 10.0.2.13, 10.0.2.11"),
        "{text}"
    );
    assert!(
        text.contains("the DNS answer arrives: 10.0.2.12, 10.0.2.13, 10.0.2.11"),
        "{text}"
    );
}

/// A copy of `scenarios/00-hello-web.ron` in a fresh folder, and the folder `netlab run` wrote
/// from it; the folder is removed at the end of the test.
struct FinishedRun {
    dir: std::path::PathBuf,
}

impl FinishedRun {
    fn new(name: &str) -> FinishedRun {
        let dir =
            std::env::temp_dir().join(format!("netlab-explain-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a scratch folder");
        std::fs::copy(
            root().join("scenarios/00-hello-web.ron"),
            dir.join("lab.ron"),
        )
        .expect("the scenario copies");
        let status = netlab()
            .args(["run", "lab.ron", "--out", "out", "--quiet", "--seed", "7"])
            .current_dir(&dir)
            .status()
            .expect("netlab runs");
        assert!(status.success());
        FinishedRun { dir }
    }

    /// `netlab explain ARGS` in the scratch folder: exit code, stdout, stderr.
    fn explain(&self, args: &[&str]) -> (i32, String, String) {
        let output = netlab()
            .arg("explain")
            .args(args)
            .current_dir(&self.dir)
            .output()
            .expect("netlab runs");
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }
}

impl Drop for FinishedRun {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn a_run_folder_is_explained_as_its_scenario_and_seed() {
    let run = FinishedRun::new("folder");
    for format in ["text", "json"] {
        let from_folder = run.explain(&["out", "--request", "2", "--format", format]);
        let from_file = run.explain(&[
            "lab.ron",
            "--seed",
            "7",
            "--request",
            "2",
            "--format",
            format,
        ]);
        assert_eq!(from_folder.0, 0, "{}", from_folder.2);
        assert_eq!(from_folder, from_file);
    }
    let (_, text, _) = run.explain(&["out", "--request", "2"]);
    assert!(
        text.starts_with("request 2 of hello-web (seed 7):"),
        "{text}"
    );
    // A renamed folder still names its scenario (by its absolute path).
    std::fs::rename(run.dir.join("out"), run.dir.join("kept")).unwrap();
    let kept = run.dir.join("kept");
    let (code, again, stderr) = run.explain(&[kept.to_str().unwrap(), "--request", "2"]);
    assert_eq!((code, again), (0, text), "{stderr}");
}

#[test]
fn a_folder_that_cannot_be_explained_is_refused_with_exit_2() {
    let run = FinishedRun::new("refusals");
    std::fs::create_dir(run.dir.join("mine")).unwrap();
    let cases: [(&[&str], &str, &str); 3] = [
        (
            &["out", "--seed", "3", "--request", "0"],
            "--seed 3: out is a run's output folder, and its run fixes the seed",
            "drop --seed",
        ),
        (
            &["mine", "--request", "0"],
            "mine: not a netlab output folder",
            "name a folder `netlab run` wrote",
        ),
        (
            &[".", "--request", "0"],
            "not a netlab output folder",
            "or a scenario file",
        ),
    ];
    for (args, message, help) in cases {
        let (code, stdout, stderr) = run.explain(args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(stderr.contains(help), "{args:?}: {stderr}");
    }
    // A comment changes no run; a changed network does.
    let file = run.dir.join("lab.ron");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, format!("{text}\n// my notes\n")).unwrap();
    assert_eq!(run.explain(&["out", "--request", "0"]).0, 0);
    std::fs::write(&file, text.replacen("count: 4,", "count: 3,", 1)).unwrap();
    let (code, _, stderr) = run.explain(&["out", "--request", "0"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("out: the scenario changed since this run"),
        "{stderr}"
    );
    assert!(stderr.contains("= help: rerun netlab run"), "{stderr}");
    std::fs::remove_file(&file).unwrap();
    let (code, _, stderr) = run.explain(&["out", "--request", "0"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("lab.ron, no longer exists"), "{stderr}");
    assert!(stderr.contains("--seed 7"), "{stderr}");
}
