//! Every `keepalived-<node>.conf` netlab writes passes the real parser, `keepalived -t`.
//!
//! `keepalived -t -f FILE` (Debian's `keepalived` package, 2.2.7) reads the file as the daemon
//! would, reports every problem on stderr and exits 0 only when there is none; it needs no
//! root and starts nothing. One catch: it also checks that each `interface ethN` exists on
//! the machine, and a missing one fails the test like a real mistake would (exit 5). So each
//! file is checked in a network namespace of its own (`unshare --map-root-user --net`, no
//! root needed where user namespaces are allowed) holding `eth0`, `eth1`, ... as bridges,
//! the interfaces the director would have. Where namespaces are refused, the file is checked
//! on the host instead, and only keepalived's two "interface does not exist" messages are
//! forgiven.
//!
//! Without keepalived installed the tests skip with a note, except in CI (`CI=true`), where
//! `.ci/run` installs it and a missing keepalived is a failure.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use netlab::scenario::keepalived::keepalived_confs;
use netlab::scenario::{Scenario, load_file, load_str};

#[test]
fn every_scenarios_keepalived_conf_passes_keepalived_t() {
    let Some(checker) = Checker::find("scenarios") else {
        return;
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(super::support::root().join("scenarios"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "ron"))
        .collect();
    paths.sort();
    let mut checked = 0;
    let mut failures = Vec::new();
    for path in &paths {
        let scenario =
            load_file(path).unwrap_or_else(|e| panic!("{} does not load:\n{e}", path.display()));
        let stem = path.file_stem().unwrap().to_string_lossy();
        for (name, text) in keepalived_confs(&scenario) {
            checked += 1;
            if let Err(report) = checker.check(&format!("{stem}-{name}"), &text) {
                failures.push(format!("{} → {name}: {report}", path.display()));
            }
        }
    }
    // The directors and VRRP routers of scenarios/ give a couple of dozen files.
    assert!(
        checked >= 20,
        "only {checked} keepalived.conf files were written"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    checker.clean_up();
}

#[test]
fn odd_names_paths_and_values_pass_keepalived_t() {
    let Some(checker) = Checker::find("odd") else {
        return;
    };
    let scenario = odd_scenario();
    let files = keepalived_confs(&scenario);
    assert_eq!(files.len(), 3, "two directors and a VRRP router");
    for (name, text) in &files {
        if let Err(report) = checker.check(name, text) {
            panic!("{name}: {report}");
        }
    }
    checker.clean_up();
}

/// The keepalived.conf files shipped beside the scenarios are real keepalived
/// configurations: `keepalived -t` accepts them as netlab reads them.
#[test]
fn shipped_confs_pass_keepalived_t() {
    let Some(checker) = Checker::find("shipped") else {
        return;
    };
    check_folder(&checker, "scenarios/keepalived");
    check_folder(&checker, "book/exercises/keepalived");
    checker.clean_up();
}

/// Every `.conf` in `folder` (from the repository root) passes `keepalived -t`. Files that
/// include others go last, so that what they include is in place.
fn check_folder(checker: &Checker, folder: &str) {
    let dir = super::support::root().join(folder);
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "conf"))
        .collect();
    names.sort_by_key(|path| {
        let text = std::fs::read_to_string(path).unwrap();
        (text.contains("\ninclude "), path.clone())
    });
    assert!(!names.is_empty(), "no conf in {folder}");
    for path in names {
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if let Err(report) = checker.check(&name, &text) {
            panic!("{name}: {report}");
        }
    }
}

/// The sample configurations of `tests/it/good-keepalived/` are valid for keepalived too.
#[test]
fn sample_confs_pass_keepalived_t() {
    let Some(checker) = Checker::find("samples") else {
        return;
    };
    check_folder(&checker, "tests/it/good-keepalived");
    checker.clean_up();
}

/// A director and a router that keepalived's lexer would misread if written naively: `#`
/// and `!` start comments, braces split lines, a `$_HASH` expands, spaces split words; and
/// values keepalived cannot take (a repeat of 0, a fractional delay, hysteresis ≥ quorum,
/// persistence of 0, status codes outside 100-599, NAT and DR servers in one service).
///
/// `netlab check` refuses most of these in a scenario file now (the name rule, the limits),
/// so the odd values are put into the checked scenario afterwards: the export must stay
/// parseable whatever reaches it.
fn odd_scenario() -> Scenario {
    use netlab::app::CheckKind;
    use netlab::scenario::model::NodeSpec;
    use netlab::sim::SimDuration;
    let mut scenario = load_str("odd.ron", ODD_SCENARIO)
        .unwrap_or_else(|e| panic!("the odd scenario does not load:\n{e}"));
    for node in &mut scenario.nodes {
        match node {
            NodeSpec::L4Balancer {
                name,
                vrrp,
                services,
                ..
            } if name == "lb" => {
                vrrp[0].name = "VI 1 {#!} $_HASH \"x\"".into();
                vrrp[0].garp_repeat = 0;
                vrrp[1].garp_delay = SimDuration::ZERO;
                let service = &mut services[0];
                service.persistence = Some(SimDuration::ZERO);
                service.hysteresis = 5;
                service.real_servers[1].port = 8080;
                for check in &mut service.checks[0] {
                    match &mut check.kind {
                        CheckKind::Http { path, status, .. } => {
                            *path = "/st#at!us {x} $_PWD \"q\" ".into();
                            status.push((700, 700));
                        }
                        CheckKind::Smtp { helo, .. } => *helo = "mx # one".into(),
                        CheckKind::Misc { timeline } => timeline.clear(),
                        _ => {}
                    }
                    check.timing.connect_timeout = SimDuration::ZERO;
                    check.timing.delay_loop = SimDuration::from_micros(1500);
                }
                services[1].real_servers.clear();
                services[1].checks.clear();
                services[1].inhibit_on_failure.clear();
            }
            NodeSpec::Router { vrrp, .. } => vrrp[0].name = String::new(),
            _ => {}
        }
    }
    scenario
}

/// The odd scenario as a file `netlab check` accepts; `odd_scenario` makes it odder.
const ODD_SCENARIO: &str = r#"Scenario(
    name: "odd",
    description: "values keepalived's parser finds hard",
    segments: [(name: "lan"), (name: "dmz")],
    nodes: [
        L4Balancer(
            name: "lb",
            interfaces: [
                (attach: "lan", ip: "10.0.0.2/24"),
                (attach: "dmz", ip: "10.0.1.2/24"),
            ],
            vrrp: [
                (
                    name: "VI_1",
                    interface: 1,
                    virtual_router_id: 7,
                    priority: 255,
                    nopreempt: true,
                    virtual_ipaddress: ["10.0.1.100"],
                    garp_master_repeat: 1,
                    garp_master_delay: "1500ms",
                ),
                (
                    name: "port",
                    virtual_router_id: 8,
                    virtual_ipaddress: ["10.0.0.100"],
                    garp_master_repeat: 3,
                    garp_master_delay: "1s",
                ),
            ],
            connection_sync: true,
            services: [
                (
                    vip: "10.0.0.100",
                    scheduler: "wrr",
                    persistence_timeout: "1s",
                    quorum: 2,
                    hysteresis: 1,
                    sorry_server: (ip: "10.0.1.99", port: 8080, forward: Dr),
                    real_servers: [
                        (
                            ip: "10.0.1.11",
                            weight: 2,
                            checks: [
                                HttpGet(path: "/status", status: [200, 599]),
                                SmtpCheck(helo_name: "mx.one"),
                                MiscCheck(results: [("0s", true)]),
                            ],
                            check_timing: (connect_timeout: "1ms", delay_loop: "100ms"),
                        ),
                        (ip: "10.0.1.12", forward: Dr),
                    ],
                ),
                (vip: "10.0.0.101", persistence_timeout: "2500ms", real_servers: [(ip: "10.0.1.13")]),
            ],
        ),
        // The sync daemon's instance is named like one of its options.
        L4Balancer(
            name: "lb2",
            interfaces: [(attach: "lan", ip: "10.0.0.3/24")],
            vrrp: [(name: "port", virtual_router_id: 10, virtual_ipaddress: ["10.0.0.102"])],
            connection_sync: true,
            services: [(vip: "10.0.0.102", real_servers: [(ip: "10.0.1.21")])],
        ),
        Router(
            name: "r1",
            interfaces: [
                (attach: "lan", ip: "10.0.0.1/24"),
                (attach: "dmz", ip: "10.0.1.1/24"),
            ],
            vrrp: [(name: "r1-vi", interface: 1, virtual_router_id: 9, virtual_ipaddress: ["10.0.1.101"])],
        ),
    ],
)"#;

/// Runs `keepalived -t` on configuration text.
struct Checker {
    /// The keepalived binary (Debian puts it in /usr/sbin, outside a user's PATH).
    keepalived: PathBuf,
    /// Whether each file can get a network namespace with its own interfaces.
    namespaces: bool,
    /// Where the files are written.
    dir: PathBuf,
}

impl Checker {
    /// The checker for the test `tag`, or `None` (after saying why) when keepalived is not
    /// installed here.
    fn find(tag: &str) -> Option<Checker> {
        let candidates = ["keepalived", "/usr/sbin/keepalived", "/sbin/keepalived"];
        let Some(keepalived) = candidates
            .iter()
            .map(PathBuf::from)
            .find(|binary| run(Command::new(binary).arg("--version")).is_some())
        else {
            if std::env::var("CI").is_ok_and(|ci| ci == "true") {
                panic!(
                    "keepalived is missing: CI must check the exported keepalived.conf files \
                     (.ci/run installs Debian's keepalived package)"
                );
            }
            eprintln!("skipped: install Debian's keepalived package (apt-get install keepalived)");
            return None;
        };
        let namespaces = run(Command::new("unshare").args([
            "--map-root-user",
            "--net",
            "ip",
            "link",
            "add",
            "eth0",
            "type",
            "bridge",
        ]))
        .is_some_and(|output| output.status.success());
        if !namespaces {
            eprintln!(
                "note: no network namespace here (unshare --map-root-user --net); \
                 keepalived -t runs on the host and missing interfaces are forgiven"
            );
        }
        let dir =
            std::env::temp_dir().join(format!("netlab-keepalived-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Some(Checker {
            keepalived,
            namespaces,
            dir,
        })
    }

    /// Writes `text` as `name` and runs `keepalived -t` on it: `Err` with keepalived's exit
    /// code, its stderr and the file when it finds a problem.
    fn check(&self, name: &str, text: &str) -> Result<(), String> {
        let file = self.dir.join(name.replace('/', "_"));
        std::fs::write(&file, text).unwrap();
        let output = if self.namespaces {
            self.in_namespace(&file, text)
        } else {
            run(Command::new(&self.keepalived)
                .arg("-t")
                .arg("-f")
                .arg(&file))
        }
        .unwrap_or_else(|| panic!("{} could not be started", self.keepalived.display()));
        let stderr = String::from_utf8_lossy(&output.stderr);
        let problems: Vec<&str> = stderr
            .lines()
            .filter(|line| !line.trim().is_empty())
            .filter(|line| self.namespaces || !is_missing_interface(line))
            .collect();
        let passed = if self.namespaces {
            output.status.success() && problems.is_empty()
        } else {
            problems.is_empty()
        };
        if passed {
            Ok(())
        } else {
            Err(format!(
                "keepalived -t exited with {:?}:\n{stderr}\n--- {}\n{text}",
                output.status.code(),
                file.display()
            ))
        }
    }

    /// Removes the files once they all passed (a failure leaves them for a look).
    fn clean_up(&self) {
        std::fs::remove_dir_all(&self.dir).unwrap();
    }

    /// `keepalived -t` in a new network namespace with `eth0` up to the highest `ethN` the
    /// file names.
    fn in_namespace(&self, file: &Path, text: &str) -> Option<Output> {
        let highest = text
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter_map(|word| word.strip_prefix("eth")?.parse::<u32>().ok())
            .max()
            .unwrap_or(0);
        let script = format!(
            "for i in $(seq 0 {highest}); do ip link add eth$i type bridge || exit 97; done; \
             exec \"$0\" -t -f \"$1\""
        );
        run(Command::new("unshare")
            .args(["--map-root-user", "--net", "sh", "-c", &script])
            .arg(&self.keepalived)
            .arg(file))
    }
}

/// keepalived's complaints about an interface the host lacks (`vrrp_parser.c`,
/// `vrrp_daemon.c`), forgiven when the file cannot get interfaces of its own.
fn is_missing_interface(line: &str) -> bool {
    (line.contains("WARNING - interface eth") && line.ends_with("doesn't exist"))
        || line == "Non-existent interface specified in configuration"
}

/// Runs a command to completion; `None` if it cannot be started.
fn run(command: &mut Command) -> Option<Output> {
    command.output().ok()
}

/// The round trip: every shipped scenario with a director or a VRRP router, its exported
/// keepalived.conf files read back in place of its inline `services` and `vrrp`, runs to a
/// byte-identical `summary.json`.
///
/// The one thing a conf cannot carry is a MISC_CHECK's scripted results (the export writes
/// a placeholder `misc_path`): the scenario gives them in `scripts`, under that path.
#[test]
fn exported_confs_read_back_into_the_same_run() {
    let dir = std::env::temp_dir().join(format!("netlab-round-trip-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut tried = 0;
    let mut failures = Vec::new();
    for path in scenario_paths() {
        let Some(imported) = with_confs(&path, &dir) else {
            continue;
        };
        tried += 1;
        let original = super::support::run_path(&path, None, false);
        let scenario = load_file(&imported)
            .unwrap_or_else(|e| panic!("{} does not read back:\n{e}", path.display()));
        let again = netlab::run::execute(&scenario, scenario.seed, false).unwrap();
        if original.summary_json != again.summary_json {
            failures.push(path.display().to_string());
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        tried >= 15,
        "only {tried} scenarios have a director or VRRP"
    );
    assert!(failures.is_empty(), "different summaries: {failures:?}");
}

/// The shipped scenarios, in name order.
fn scenario_paths() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(super::support::root().join("scenarios"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "ron"))
        .collect();
    paths.sort();
    paths
}

/// Writes into `dir` the scenario at `path` with each director and VRRP router configured by
/// its exported keepalived.conf instead; returns the new scenario's path, or `None` when the
/// scenario has no director or VRRP router.
fn with_confs(path: &Path, dir: &Path) -> Option<PathBuf> {
    use netlab::scenario::format::{CheckFile, NodeFile};
    let scenario = load_file(path).unwrap();
    let confs = keepalived_confs(&scenario);
    if confs.is_empty() {
        return None;
    }
    let source = std::fs::read_to_string(path).unwrap();
    let mut file = netlab::scenario::load::parse("t.ron", &source).unwrap();
    let stem = path.file_stem().unwrap().to_string_lossy().to_string();
    for node in &mut file.nodes {
        let name = match node {
            NodeFile::L4Balancer(b) => b.name.clone(),
            NodeFile::Router(r) => r.name.clone(),
            _ => continue,
        };
        let Some((conf_name, text)) = confs
            .iter()
            .find(|(n, _)| *n == format!("keepalived-{name}.conf"))
        else {
            continue;
        };
        let conf_path = format!("{stem}-{conf_name}");
        std::fs::write(dir.join(&conf_path), text).unwrap();
        match node {
            NodeFile::L4Balancer(b) => {
                for check in b
                    .services
                    .iter()
                    .flat_map(|s| &s.real_servers)
                    .flat_map(|rs| &rs.checks)
                {
                    if let CheckFile::MiscCheck { results } = check {
                        b.scripts
                            .insert("/etc/keepalived/check.sh".into(), results.clone());
                    }
                }
                // With VRRP the conf starts the sync daemon itself (`lvs_sync_daemon`).
                if !b.vrrp.is_empty() {
                    b.connection_sync = None;
                }
                b.services.clear();
                b.vrrp.clear();
                b.keepalived = Some(conf_path);
            }
            NodeFile::Router(r) => {
                r.vrrp.clear();
                r.keepalived = Some(conf_path);
            }
            _ => {}
        }
    }
    let options = ron::Options::default().with_default_extension(
        ron::extensions::Extensions::IMPLICIT_SOME
            | ron::extensions::Extensions::UNWRAP_VARIANT_NEWTYPES,
    );
    let text = options
        .to_string_pretty(&file, ron::ser::PrettyConfig::default())
        .unwrap();
    let out = dir.join(format!("{stem}.ron"));
    std::fs::write(&out, text).unwrap();
    Some(out)
}
