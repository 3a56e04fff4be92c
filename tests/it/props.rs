//! Property tests: netlab holds its promises for inputs nobody wrote by hand.
//!
//! Two families, each with a bounded number of cases so CI stays fast (the fuzzer in `fuzz/`
//! is the long-running version of the first; see `fuzz/README.md`):
//! - **Mutated scenarios never crash `check`.** A shipped scenario is cut, spliced, has a
//!   token swapped or a number replaced by an extreme one; whatever comes out, loading,
//!   checking and linting it returns a value (a checked scenario or a positioned diagnostic)
//!   and never panics. A few mutants also go through the real `netlab check` binary, which must
//!   exit 0, 1 or 2 and nothing else. The same goes for keepalived.conf files: the shipped
//!   one and those of `tests/it/bad-keepalived/`, mutated, read as a director's conf.
//! - **Random valid scenarios keep the books.** A director with 1–4 real servers, any of the
//!   ten schedulers, NAT or DR, random weights, loads and a crash: every run must satisfy
//!   `issued = ok + failed = Σ by_outcome = rows of requests.csv`, and a second run with the
//!   same seed must give byte-identical files.

use std::process::Command;

use netlab::run::execute;
use netlab::scenario::{self, diagnostic::Locator};
use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::Value;

use crate::support::root;

/// The shipped scenarios' texts, the seeds of the mutations.
fn shipped() -> Vec<(String, String)> {
    let mut files: Vec<_> = std::fs::read_dir(root().join("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ron"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

/// Tokens a typo or a hostile edit might put anywhere.
const TOKENS: &[&str] = &[
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ":",
    "\"",
    "//",
    "/*",
    "-",
    "0",
    "-1",
    "4294967295",
    "18446744073709551615",
    "1e309",
    "NaN",
    "\"0s\"",
    "\"1ns\"",
    "\"5000000000h\"",
    "\"224.0.0.18\"",
    "\"10.0.0.255/24\"",
    "\"127.0.0.1/8\"",
    "\"a,b\"",
    "\u{feff}",
    "\u{0}",
    "é",
    "Crash",
    "Some(",
    "None",
    "workers",
    "count",
    "users",
    "weight",
    "until",
    "at",
];

/// One edit of a scenario's text. Positions are fractions of the length, so a strategy does
/// not need to know the text it edits.
#[derive(Clone, Debug)]
enum Edit {
    /// Remove the bytes between two points.
    Cut(f64, f64),
    /// Insert one of `TOKENS`.
    Insert(f64, usize),
    /// Copy a stretch of the text to another place.
    Splice(f64, f64, f64),
    /// Replace the n-th number in the text with another one.
    Number(usize, i128),
    /// Replace the n-th number with a decimal `whole.fraction` (six digits of fraction): the
    /// seconds of a keepalived timer, such as `advert_int 18446744073709.551115`, whose
    /// microseconds sit near `u64::MAX`.
    Decimal(usize, u64, u32),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (0.0..1.0, 0.0..1.0).prop_map(|(a, b)| Edit::Cut(a, b)),
        (0.0..1.0, 0..TOKENS.len()).prop_map(|(a, t)| Edit::Insert(a, t)),
        (0.0..1.0, 0.0..1.0, 0.0..1.0).prop_map(|(a, b, c)| Edit::Splice(a, b, c)),
        (0usize..200, any::<i128>()).prop_map(|(n, v)| Edit::Number(n, v)),
        (0usize..200, -3i128..70000).prop_map(|(n, v)| Edit::Number(n, v)),
        (0usize..200, seconds_near_the_top(), 0u32..1_000_000)
            .prop_map(|(n, w, f)| Edit::Decimal(n, w, f)),
    ]
}

/// Whole seconds for `Edit::Decimal`: small, any, or those whose microseconds come within a
/// second of `u64::MAX` (where rounding or adding to them overflows).
fn seconds_near_the_top() -> impl Strategy<Value = u64> {
    const TOP: u64 = u64::MAX / 1_000_000;
    prop_oneof![0u64..300, any::<u64>(), TOP - 2..=TOP + 2]
}

/// The byte index at fraction `f` of `text`, moved back to a character boundary.
fn at(text: &str, f: f64) -> usize {
    let mut i = ((text.len() as f64) * f) as usize;
    i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn apply(text: &str, edit: &Edit) -> String {
    match *edit {
        Edit::Cut(a, b) => {
            let (a, b) = (at(text, a.min(b)), at(text, a.max(b)));
            format!("{}{}", &text[..a], &text[b..])
        }
        Edit::Insert(a, t) => {
            let a = at(text, a);
            format!("{}{}{}", &text[..a], TOKENS[t], &text[a..])
        }
        Edit::Splice(a, b, c) => {
            let (a, b) = (at(text, a.min(b)), at(text, a.max(b)));
            let c = at(text, c);
            format!("{}{}{}", &text[..c], &text[a..b], &text[c..])
        }
        Edit::Number(n, v) => replace_number(text, n, &v.to_string()),
        Edit::Decimal(n, whole, fraction) => {
            replace_number(text, n, &format!("{whole}.{fraction:06}"))
        }
    }
}

/// `text` with its n-th number (counted round) replaced by `by`.
fn replace_number(text: &str, n: usize, by: &str) -> String {
    let starts: Vec<usize> = text
        .char_indices()
        .filter(|&(i, ch)| {
            ch.is_ascii_digit() && (i == 0 || !text.as_bytes()[i - 1].is_ascii_digit())
        })
        .map(|(i, _)| i)
        .collect();
    let Some(&start) = starts.get(n % starts.len().max(1)) else {
        return text.to_string();
    };
    let end = text[start..]
        .find(|ch: char| !ch.is_ascii_digit())
        .map_or(text.len(), |e| start + e);
    format!("{}{by}{}", &text[..start], &text[end..])
}

/// What `netlab check` does with a text, minus the printing: decode, load, lint, and render
/// every diagnostic. Returns whether the text was accepted.
fn check_text(text: &str) -> bool {
    let file = "mutant.ron";
    let source = match scenario::load::decode(file, text.as_bytes().to_vec()) {
        Ok(s) => s,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return false;
        }
    };
    match scenario::load_str(file, &source) {
        Ok(checked) => {
            for w in scenario::lint::lint(&checked, &Locator::new(file, &source)) {
                assert!(w.to_string().contains("warning"), "{w}");
            }
            true
        }
        Err(e) => {
            let message = e.to_string();
            assert!(
                message.contains("mutant.ron:"),
                "no position in:\n{message}"
            );
            false
        }
    }
}

proptest! {
    #![proptest_config(Config { cases: 400, failure_persistence: None, ..Config::default() })]

    /// Any mutation of any shipped scenario is either accepted or refused with a positioned
    /// message; nothing panics.
    #[test]
    fn mutated_scenarios_never_crash_check(
        which in 0usize..64,
        edits in prop::collection::vec(edit(), 1..4),
    ) {
        let files = shipped();
        let (_, text) = &files[which % files.len()];
        let mutant = edits.iter().fold(text.clone(), |t, e| apply(&t, e));
        check_text(&mutant);
    }
}

/// A handful of mutants through the real binary: `check` exits 0, 1 or 2, never by a signal
/// or another code. (Few cases: each one starts a process.)
#[test]
fn the_binary_exits_0_1_or_2_on_mutants() {
    let dir = tempfile_dir("props-binary");
    let files = shipped();
    let mut runner = proptest::test_runner::TestRunner::new(Config {
        cases: 24,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&(0usize..64, edit()), |(which, e)| {
            let (name, text) = &files[which % files.len()];
            let path = dir.join(name);
            std::fs::write(&path, apply(text, &e)).unwrap();
            let out = Command::new(env!("CARGO_BIN_EXE_netlab"))
                .arg("check")
                .arg(&path)
                .output()
                .unwrap();
            let code = out.status.code();
            prop_assert!(
                matches!(code, Some(0..=2)),
                "exit {code:?} for {e:?} on {name}"
            );
            Ok(())
        })
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

fn tempfile_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("netlab-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The ten IPVS schedulers.
const SCHEDULERS: &[&str] = &[
    "rr", "wrr", "lc", "wlc", "sed", "nq", "sh", "dh", "lblc", "lblcr",
];

/// A random small director scenario.
#[derive(Clone, Debug)]
struct Director {
    scheduler: usize,
    dr: bool,
    weights: Vec<u32>,
    clients: u32,
    requests: u32,
    rate: u32,
    /// A real server that crashes a third of the way into the arrivals, and whether it comes
    /// back (at 2 or 3 times that instant).
    crash: Option<(usize, Option<u32>)>,
    checks: bool,
    seed: u64,
}

fn director() -> impl Strategy<Value = Director> {
    (
        0..SCHEDULERS.len(),
        any::<bool>(),
        prop::collection::vec(0u32..5, 1..5),
        1u32..5,
        1u32..60,
        5u32..200,
        prop::option::of((0usize..4, prop::option::of(2u32..4))),
        any::<bool>(),
        any::<u64>(),
    )
        .prop_map(
            |(scheduler, dr, weights, clients, requests, rate, crash, checks, seed)| Director {
                scheduler,
                dr,
                weights,
                clients,
                requests,
                rate,
                crash,
                checks,
                seed,
            },
        )
}

impl Director {
    fn to_ron(&self) -> String {
        let forward = if self.dr { "Dr" } else { "Nat" };
        let checks = if self.checks {
            ", checks: [TcpCheck()]"
        } else {
            ""
        };
        let real: String = (0..self.weights.len())
            .map(|i| {
                format!(
                    "(ip: \"10.0.1.{}\", weight: {}, forward: {forward}{checks}),",
                    11 + i,
                    self.weights[i]
                )
            })
            .collect();
        let loopback = if self.dr {
            ", loopback: [\"10.0.1.100\"]"
        } else {
            ""
        };
        let gateway = if self.dr { "10.0.1.1" } else { "10.0.1.2" };
        let servers: String = (0..self.weights.len())
            .map(|i| {
                format!(
                    "WebServer(name: \"web{i}\", interface: (attach: \"back\", ip: \"10.0.1.{}/24\"){loopback}, \
                     gateway: \"{gateway}\", workers: 4, service_time: Exponential(\"3ms\"), response_size: \"2KiB\"),\n",
                    11 + i
                )
            })
            .collect();
        let faults = match self.crash {
            Some((i, until)) => {
                // A third of the way into the arrivals, so the crash hits requests.
                let at_ms = 1 + self.requests * 1000 / self.rate / 3;
                let until =
                    until.map_or(String::new(), |u| format!(", until: \"{}ms\"", at_ms * u));
                format!(
                    "faults: [(at: \"{at_ms}ms\", target: \"web{}\", event: Crash{until})],",
                    i % self.weights.len()
                )
            }
            None => String::new(),
        };
        format!(
            r#"Scenario(
    name: "prop",
    description: "a random director",
    seed: {seed},
    segments: [
        (name: "lan", bandwidth: "100Mbps", delay: "100us"),
        (name: "back", bandwidth: "1Gbps", delay: "20us"),
    ],
    nodes: [
        Router(name: "r1", interfaces: [(attach: "lan", ip: "10.0.0.1/24"), (attach: "back", ip: "10.0.1.1/24")]),
        L4Balancer(
            name: "lb",
            interfaces: [(attach: "back", ip: "10.0.1.2/24")],
            routes: [(to: "default", via: "10.0.1.1")],
            services: [(vip: "10.0.1.100", port: 80, scheduler: "{sched}", real_servers: [{real}])],
        ),
        {servers}
        Clients(name: "pc", count: {clients}, attach: "lan", first_ip: "10.0.0.100/24", gateway: "10.0.0.1",
                url: "http://www/", workload: OpenLoop(rate: {rate}.0, requests: {requests}), timeout: "2s"),
    ],
    hosts: {{ "www": "10.0.1.100" }},
    {faults}
    capture: (enabled: true),
)"#,
            seed = self.seed,
            sched = SCHEDULERS[self.scheduler],
            clients = self.clients,
            rate = self.rate,
            requests = self.requests,
        )
    }
}

/// `issued = ok + failed = Σ by_outcome = rows of requests.csv`.
fn assert_books_balance(summary: &str, requests_csv: &str) {
    let v: Value = serde_json::from_str(summary).unwrap();
    let r = &v["requests"];
    let issued = r["issued"].as_u64().unwrap();
    let ok = r["ok"].as_u64().unwrap();
    let failed = r["failed"].as_u64().unwrap();
    let by_outcome: u64 = r["by_outcome"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    let rows = csv::Reader::from_reader(requests_csv.as_bytes())
        .records()
        .inspect(|r| assert!(r.is_ok(), "requests.csv does not parse: {r:?}"))
        .count() as u64;
    assert_eq!(issued, ok + failed, "issued vs ok + failed");
    assert_eq!(issued, by_outcome, "issued vs by_outcome");
    assert_eq!(issued, rows, "issued vs rows of requests.csv");
}

proptest! {
    #![proptest_config(Config { cases: 64, failure_persistence: None, ..Config::default() })]

    /// Random valid director scenarios: they check, they run, the books balance, and a rerun
    /// gives the same bytes.
    #[test]
    fn random_directors_balance_their_books_and_repeat(d in director()) {
        let text = d.to_ron();
        let checked = scenario::load_str("prop.ron", &text)
            .unwrap_or_else(|e| panic!("generated scenario refused:\n{e}\n{text}"));
        let first = execute(&checked, d.seed, false).unwrap();
        assert_books_balance(&first.summary_json, &first.requests_csv);
        let issued: u64 = (d.requests).into();
        prop_assert!(first.summary_json.contains(&format!("\"issued\": {issued}")),
            "every planned request is issued");
        let second = execute(&checked, d.seed, false).unwrap();
        prop_assert_eq!(&first.summary_json, &second.summary_json);
        prop_assert_eq!(&first.requests_csv, &second.requests_csv);
        prop_assert_eq!(&first.events_csv, &second.events_csv);
        prop_assert!(first.captures == second.captures, "captures differ");
    }
}

#[test]
fn edits_stay_on_character_boundaries() {
    let text = "é(a: 12, b: \"ü\")";
    for f in [0.0, 0.05, 0.1, 0.5, 0.99, 1.0] {
        let i = at(text, f);
        assert!(text.is_char_boundary(i));
    }
    assert_eq!(apply("a: 12, b: 3", &Edit::Number(1, -7)), "a: 12, b: -7");
    assert_eq!(
        apply("a: 12, b: 3", &Edit::Decimal(0, 7, 5)),
        "a: 7.000005, b: 3"
    );
    assert_eq!(apply("(x)", &Edit::Cut(0.0, 0.34)), "x)");
}

/// The keepalived.conf files netlab ships or tests, the seeds of the conf mutations.
fn shipped_confs() -> Vec<String> {
    let mut paths = vec![root().join("scenarios/keepalived/lb1.conf")];
    let mut bad: Vec<_> = std::fs::read_dir(root().join("tests/it/bad-keepalived"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    bad.sort();
    paths.extend(bad);
    paths
        .into_iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}

proptest! {
    #![proptest_config(Config { cases: 300, failure_persistence: None, ..Config::default() })]

    /// Any mutation of a keepalived.conf is accepted or refused with a message located in a
    /// file; nothing panics.
    #[test]
    fn mutated_keepalived_confs_never_crash_check(
        which in 0usize..64,
        edits in prop::collection::vec(edit(), 1..4),
    ) {
        let confs = shipped_confs();
        let mutant = edits.iter().fold(confs[which % confs.len()].clone(), |t, e| apply(&t, e));
        let dir = tempfile_dir("props-kaconf");
        std::fs::write(dir.join("lb1.conf"), &mutant).unwrap();
        let scenario = std::fs::read_to_string(root().join("scenarios/l4-keepalived.ron"))
            .unwrap()
            .replace("keepalived/lb1.conf", "lb1.conf");
        let name = dir.join("s.ron").display().to_string();
        if let Err(e) = scenario::load::load_with_warnings(&name, &scenario) {
            let text = e.to_string();
            prop_assert!(text.contains("-->") && text.contains("= help:"), "{}", text);
        }
    }
}
