//! The book: every image a page shows exists, and every chart stored for the book is one a
//! page shows (the scenario snapshot test checks that each is up to date).

use std::path::{Path, PathBuf};

use super::support::root;

/// Every `.md` file under `dir`.
fn pages(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(pages(&path));
        } else if path.extension().is_some_and(|e| e == "md") {
            found.push(path);
        }
    }
    found
}

/// Every stored chart under `dir`.
fn charts(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(charts(&path));
        } else {
            found.push(path);
        }
    }
    found
}

#[test]
fn every_image_in_the_book_exists_and_every_stored_chart_is_shown() {
    let src = root().join("book/src");
    let mut shown = Vec::new();
    for page in pages(&src) {
        let text = std::fs::read_to_string(&page).unwrap();
        for image in text.split("![").skip(1) {
            let Some(start) = image.find("](") else {
                continue;
            };
            let target = &image[start + 2..];
            let target = &target[..target.find(')').unwrap()];
            let file = page.parent().unwrap().join(target);
            assert!(
                file.is_file(),
                "{} shows {target}, which does not exist: run `cargo run --release --example book-charts`",
                page.display()
            );
            shown.push(file.canonicalize().unwrap());
        }
    }
    assert!(shown.len() >= 20, "the labs show their charts");
    for chart in charts(&src.join("charts")) {
        assert!(
            shown.contains(&chart.canonicalize().unwrap()),
            "{} is stored but no page shows it; delete it",
            chart.display()
        );
    }
}

/// The `--help` texts the CLI reference quotes are the binary's own, word for word.
#[test]
fn the_cli_reference_quotes_the_real_help() {
    let page = root().join("book/src/reference/cli.md");
    let text = std::fs::read_to_string(&page).unwrap();
    let mut checked = 0;
    for block in text.split("```text\n$ netlab ").skip(1) {
        let (command, rest) = block.split_once('\n').unwrap();
        if !command.ends_with("--help") {
            continue;
        }
        let quoted = &rest[..rest.find("```").unwrap()];
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_netlab"))
            .args(command.split_whitespace())
            .output()
            .unwrap();
        assert_eq!(
            quoted,
            String::from_utf8_lossy(&output.stdout),
            "book/src/reference/cli.md quotes an old `netlab {command}`: paste the new one"
        );
        checked += 1;
    }
    assert_eq!(
        checked, 8,
        "netlab, run, check, compare, merge, test, explain and list"
    );
}

/// The scenario reference's table of limits quotes the limits `netlab check` enforces.
#[test]
fn the_scenario_reference_lists_the_real_limits() {
    use netlab::scenario::validate::limits::*;
    let page = std::fs::read_to_string(root().join("book/src/reference/scenario.md")).unwrap();
    let bounds = |b: Bounds| format!("`\"{}\"` | `\"{}\"` |", b.min, b.max);
    let rows = [
        format!("| entries in `nodes` | 1 | {MAX_NODES} |"),
        format!("| segments and links together | 0 | {MAX_WIRES} |"),
        format!("| machines, each client host counted | 1 | {MAX_HOSTS} |"),
        format!("(routes, real servers, pools, zone entries, faults, paths...) | 0 | {MAX_LIST} |"),
        format!("| interfaces of a router or balancer | 1 | {MAX_INTERFACES} |"),
        format!("| virtual addresses of a VRRP instance | 1 | {MAX_VIPS} |"),
        format!("| name length | 1 | {MAX_NAME_LEN} |"),
        format!("| DNS name length | 1 | {MAX_DNS_NAME_LEN} |"),
        format!("| 0 | {MAX_TEXT_LEN} characters |"),
        format!("| web server `workers` | 1 | {MAX_WORKERS} |"),
        format!("addresses) | 0 | {MAX_LOOPBACK} |"),
        format!("| transparent cache `capacity` (objects) | 1 | {MAX_CACHE_OBJECTS} |"),
        format!("| client group `origins` (`count` × paths) | 1 | {MAX_ORIGINS} |"),
        format!("| web server `backlog` | 0 | {MAX_BACKLOG} |"),
        format!("| L7 `max_connections` | 1 | {MAX_PROXY_CONNECTIONS} |"),
        format!("| client group `requests` | 1 | {MAX_REQUESTS} |"),
        format!("| more than 0 | {MAX_RATE} |"),
        format!("(`count` × `users`) | 1 | {MAX_USERS} |"),
        format!("| ping `count` | 1 | {MAX_PINGS} |"),
        format!("| IPVS and L7 `weight` | 0 | {MAX_WEIGHT} |"),
        format!("| `upper_threshold`, `lower_threshold` | 0 | {MAX_THRESHOLD} |"),
        format!("| `packet_backlog` | 1 | {MAX_PACKET_BACKLOG} |"),
        format!("| check `retry` | 0 | {MAX_RETRY} |"),
        format!("| probe `fail_after`, `clear_after` | 1 | {MAX_PROBE_COUNT} |"),
        format!("| `garp_master_repeat` | 1 | {MAX_GARP_REPEAT} |"),
        format!("| `max_events` | 1 | {MAX_EVENTS} |"),
        format!("| `SlowService` factor | more than 0 | {MAX_SLOW_FACTOR} |"),
        format!("MISC_CHECK times, an action's `at`) | {}", bounds(TIME)),
        format!("| `max_sim_time` | {}", bounds(SIM_TIME)),
        format!(
            "`handshake`, an `on_alarm` action's `after`) | {}",
            bounds(WAIT)
        ),
        format!("ping and probe `timeout`) | {}", bounds(TIMEOUT)),
        format!("| wire `delay`, `ExtraDelay` | {}", bounds(WIRE_DELAY)),
        format!(
            "| check `delay_loop`, probe `interval` and `retry_interval` | {}",
            bounds(DELAY_LOOP)
        ),
        format!("| ping `interval` | {}", bounds(PING_INTERVAL)),
        format!("| `arp_timeout` | {}", bounds(ARP_TIMEOUT)),
        format!("| `persistence_timeout` | {}", bounds(PERSISTENCE)),
        format!("a client's `Hold`, `SetTtl` | {}", bounds(TTL)),
        format!("| `response_size` | {}", bounds(RESPONSE_SIZE)),
        format!("| client `cookie` | {}", bounds(COOKIE_SIZE)),
        format!("| wire `queue` | {}", bounds(QUEUE)),
        format!("| wire `bandwidth` | {}", bounds(BANDWIDTH)),
    ];
    for row in rows {
        assert!(
            page.contains(&row),
            "book/src/reference/scenario.md, \"Size limits\", should have: {row}"
        );
    }
}

#[test]
fn every_lab_opens_its_scenarios_in_the_playground() {
    let src = root().join("book/src");
    const LINK: &str = "](../playground/index.html#scenario=";
    for page in pages(&src.join("labs")) {
        let text = std::fs::read_to_string(&page).unwrap();
        let links: Vec<&str> = text
            .split(LINK)
            .skip(1)
            .map(|rest| &rest[..rest.find(')').unwrap()])
            .collect();
        assert!(
            !links.is_empty(),
            "{} has no \"Open in the playground\" link",
            page.display()
        );
        for name in links {
            assert!(
                root().join("scenarios").join(name).is_file(),
                "{} opens {name} in the playground, which is not in scenarios/",
                page.display()
            );
        }
    }
}
