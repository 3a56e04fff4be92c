//! Reading keepalived.conf files: each broken configuration in `tests/it/bad-keepalived/`
//! gets a positioned diagnostic (snapshotted), each sample in `tests/it/good-keepalived/`
//! reads with warnings only, and the shipped conf runs as the lab says.
//!
//! Each file is given to the same small director (`lb1`: eth0 on `front`, 10.0.1.2/24; eth1
//! on `back`, 10.0.2.1/24) by a scenario written next to it.

use netlab::scenario::load::{LoadError, load_with_warnings};

/// The scenario every bad conf is read with; `CONF` is replaced by the file's name.
const DIRECTOR: &str = r#"Scenario(
    name: "bad-keepalived",
    description: "a director configured by a broken keepalived.conf",
    segments: [(name: "front"), (name: "back")],
    nodes: [
        L4Balancer(
            name: "lb1",
            interfaces: [
                (attach: "front", ip: "10.0.1.2/24"),
                (attach: "back", ip: "10.0.2.1/24"),
            ],
            keepalived: "CONF",
        ),
        WebServer(name: "web1", interface: (attach: "back", ip: "10.0.2.11/24"), gateway: "10.0.2.1"),
        WebServer(name: "web2", interface: (attach: "back", ip: "10.0.2.12/24"), gateway: "10.0.2.1"),
    ],
)"#;

/// What `netlab check` prints for the conf at `tests/it/bad-keepalived/<name>`: its errors,
/// or its warnings.
fn check(name: &str) -> (bool, String) {
    let scenario = DIRECTOR.replace("CONF", name);
    match load_with_warnings("tests/it/bad-keepalived/director.ron", &scenario) {
        Err(error) => (true, error.to_string()),
        Ok((_, warnings)) => (
            false,
            warnings
                .iter()
                .map(|w| w.to_string())
                .collect::<Vec<_>>()
                .join("\n\n"),
        ),
    }
}

#[test]
fn broken_confs_get_positioned_messages() {
    let mut count = 0;
    insta::glob!("bad-keepalived", "*.conf", |path| {
        count += 1;
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let (_, text) = check(&name);
        assert!(
            text.contains(&format!("--> tests/it/bad-keepalived/{name}:")),
            "no position in the conf:\n{text}"
        );
        assert!(text.contains("= help:"), "no hint in:\n{text}");
        insta::assert_snapshot!(text);
    });
    assert!(count >= 30, "only {count} broken confs");
}

#[test]
fn the_issue_s_five_mistakes_say_what_keepalived_does_not() {
    let says = |name: &str, error: bool, words: &[&str]| {
        let (is_error, text) = check(name);
        assert_eq!(is_error, error, "{name}:\n{text}");
        for w in words {
            assert!(text.contains(w), "{name} does not say {w:?}:\n{text}");
        }
    };
    says(
        "unbalanced-real-server.conf",
        true,
        &[
            "the `real_server` block opened here is never closed",
            ":5:30",
        ],
    );
    says(
        "lb-kind-dsr.conf",
        true,
        &["keepalived calls direct server return `DR`"],
    );
    says(
        "negative-weight.conf",
        true,
        &["weight -2 is negative", "from 0 to 65535"],
    );
    says(
        "http-get-without-url.conf",
        true,
        &["has no `url` block", "crashes"],
    );
    says(
        "real-server-without-port.conf",
        false,
        &["probes port 8080", "real_server 10.0.2.11 8080"],
    );
}

#[test]
fn refused_files_are_never_shown() {
    // `include /etc/passwd` and `include ../../../Cargo.toml` are reported on the include
    // line; not a line of the refused file appears.
    for name in ["include-absolute-path.conf", "include-parent-folder.conf"] {
        let (error, text) = check(name);
        assert!(error, "{text}");
        assert!(!text.contains("root:"), "{text}");
        assert!(!text.contains("[package]"), "{text}");
        assert!(text.contains("scenario's folder"), "{text}");
    }
    let (_, text) = check("include-loop.conf");
    assert!(text.contains("include loop"), "{text}");
}

#[test]
fn a_conf_outside_the_scenario_folder_is_refused() {
    for path in ["/etc/passwd", "../../Cargo.toml", "missing.conf"] {
        let scenario = DIRECTOR.replace("CONF", path);
        let error =
            load_with_warnings("tests/it/bad-keepalived/director.ron", &scenario).expect_err(path);
        let LoadError::Invalid(diagnostics) = &error else {
            panic!("{error}");
        };
        // Located on the scenario's `keepalived:` line.
        assert_eq!(diagnostics[0].file, "tests/it/bad-keepalived/director.ron");
        assert_eq!(diagnostics[0].line, 12, "{error}");
    }
}

/// The book's Lab 7 quotes a run of `l4-keepalived.ron` and `netlab check` on a broken copy
/// of its conf: the numbers and the message must be the run's.
#[test]
fn the_lab_quotes_the_run() {
    let book =
        std::fs::read_to_string(super::support::root().join("book/src/labs/l4-balancing.md"))
            .unwrap();
    let run = super::support::run("l4-keepalived.ron", None, false);
    let summary: serde_json::Value = serde_json::from_str(&run.summary_json).unwrap();
    let requests = &summary["requests"];
    let served = |name: &str| summary["servers"][name]["served"].as_u64().unwrap();
    let event_time = |kind: &str| {
        let line = run
            .events_csv
            .lines()
            .find(|l| l.contains(&format!(",{kind},")))
            .unwrap_or_else(|| panic!("no {kind} in events.csv"));
        let seconds: f64 = line.split(',').next().unwrap().parse().unwrap();
        format!("{seconds:.3} s")
    };
    let quoted = [
        format!(
            "| requests | {} issued, {} ok, {} refused |",
            requests["issued"], requests["ok"], requests["by_outcome"]["refused"]
        ),
        format!(
            "| served | `web1` {}, `web2` {}, `web3` {} |",
            served("web1"),
            served("web2"),
            served("web3")
        ),
        format!(
            "| `server_down` for `10.0.2.12:80` | {} |",
            event_time("server_down")
        ),
        format!("| `server_up` | {} |", event_time("server_up")),
    ];
    for line in quoted {
        assert!(book.contains(&line), "the book does not say:\n{line}");
    }
    // The four e-mail settings are the warnings.
    let path = super::support::root().join("scenarios/l4-keepalived.ron");
    let source = std::fs::read_to_string(&path).unwrap();
    let (_, warnings) = load_with_warnings(&path.display().to_string(), &source).unwrap();
    assert_eq!(warnings.len(), 4, "{warnings:#?}");
    // The broken copy: the first real_server's `}` removed.
    let dir = std::env::temp_dir().join(format!("netlab-lab7-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("keepalived")).unwrap();
    let conf =
        std::fs::read_to_string(super::support::root().join("scenarios/keepalived/lb1.conf"))
            .unwrap();
    let mut lines: Vec<&str> = conf.lines().collect();
    let first = lines
        .iter()
        .position(|l| l.starts_with("    real_server"))
        .unwrap();
    let close = first + lines[first..].iter().position(|l| *l == "    }").unwrap();
    lines.remove(close);
    std::fs::write(dir.join("keepalived/lb1.conf"), lines.join("\n")).unwrap();
    let scenario_path = dir.join("l4-keepalived.ron");
    let error = load_with_warnings(&scenario_path.display().to_string(), &source).unwrap_err();
    let shown = error.to_string().replace(
        &dir.join("keepalived").display().to_string(),
        "scenarios/keepalived",
    );
    let _ = std::fs::remove_dir_all(&dir);
    let message = shown.trim_end_matches("1 error found").trim_end();
    assert!(book.contains(message), "the book does not show:\n{message}");
}

/// The director every conf of `tests/it/good-keepalived/` is read with: eth0 outside
/// (192.168.200.0/24), eth1 inside (192.168.201.0/24).
const GOOD_DIRECTOR: &str = r#"Scenario(
    name: "good-keepalived",
    description: "a director configured by a keepalived.conf in the manner of keepalived's samples",
    segments: [(name: "outside"), (name: "inside")],
    nodes: [
        L4Balancer(
            name: "director",
            interfaces: [
                (attach: "outside", ip: "192.168.200.2/24"),
                (attach: "inside", ip: "192.168.201.1/24"),
            ],
            keepalived: "CONF",
            scripts: {"/usr/local/bin/check.sh 192.168.201.13": [("0s", true), ("30s", false)]},
        ),
    ],
)"#;

/// Configurations that use only what netlab models read without an error; their warnings
/// (keywords not modelled) are snapshotted.
#[test]
fn sample_confs_read_with_warnings_only() {
    let mut count = 0;
    insta::glob!("good-keepalived", "*.conf", |path| {
        count += 1;
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let scenario = GOOD_DIRECTOR.replace("CONF", &name);
        let (checked, warnings) =
            load_with_warnings("tests/it/good-keepalived/director.ron", &scenario)
                .unwrap_or_else(|e| panic!("{name}:\n{e}"));
        let netlab::scenario::model::NodeSpec::L4Balancer { services, vrrp, .. } =
            &checked.nodes[0]
        else {
            panic!("not a director");
        };
        let text: Vec<String> = warnings.iter().map(|w| w.to_string()).collect();
        insta::assert_snapshot!(format!(
            "{} services, {} VRRP instances\n\n{}",
            services.len(),
            vrrp.len(),
            text.join("\n\n")
        ));
    });
    assert!(count >= 4);
}

/// The keepalived hands-on lab (`book/src/labs/keepalived-hands-on.md`) quotes its confs,
/// `events.csv`, `ipvsadm.txt` and the failures table: each quoted block must be what the
/// files say and what the run of `keepalived-hands-on.ron` prints. (Its numbers are checked
/// by the scenario's `expect` list.)
#[test]
fn the_hands_on_lab_quotes_the_run() {
    let root = super::support::root();
    let page = std::fs::read_to_string(root.join("book/src/labs/keepalived-hands-on.md")).unwrap();
    let run = super::support::run("keepalived-hands-on.ron", None, false);
    let ipvsadm = run.ipvsadm_txt.as_deref().unwrap();
    let confs: String = ["hands-on-lb1.conf", "hands-on-web.conf"]
        .iter()
        .map(|name| std::fs::read_to_string(root.join("scenarios/keepalived").join(name)).unwrap())
        .collect();
    let path = root.join("scenarios/keepalived-hands-on.ron");
    let source = std::fs::read_to_string(&path).unwrap();
    let (_, warnings) = load_with_warnings(&path.display().to_string(), &source).unwrap();
    assert!(warnings.is_empty(), "{warnings:#?}");
    let mut checked = 0;
    for block in page.split("```text\n").skip(1) {
        let block = &block[..block.find("```").unwrap()];
        let first = block.lines().next().unwrap_or_default();
        if first.starts_with("# lb") {
            assert!(
                ipvsadm.contains(block),
                "ipvsadm.txt does not hold:\n{block}"
            );
        } else if first.starts_with("global_defs") || first.starts_with("virtual_server") {
            let quoted = block.split("    ...\n").next().unwrap();
            assert!(confs.contains(quoted), "the confs do not hold:\n{quoted}");
        } else if first.starts_with("fault ") {
            for line in block.lines() {
                assert!(run.table.contains(line), "the table does not hold:\n{line}");
            }
        } else if first.starts_with("time_s,") || first.starts_with(|c: char| c.is_ascii_digit()) {
            for line in block.lines() {
                assert!(
                    run.events_csv.contains(line),
                    "events.csv does not hold:\n{line}"
                );
            }
        } else {
            continue;
        }
        checked += 1;
    }
    assert_eq!(checked, 8, "the lab quotes 8 blocks of files and output");
}
