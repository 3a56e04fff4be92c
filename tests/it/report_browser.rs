//! `report.html` in a real browser: Debian's `chromium`, headless.
//!
//! For three shipped scenarios the report is written as `netlab run` writes it and opened at
//! `#request=ID` (a failed request when there is one: its explanation is in the page). The
//! page's own error box (which catches `console.error` and uncaught errors) must stay empty,
//! the table must count the rows of `requests.csv`, the explanation must be the text of
//! `netlab explain --request ID`, and the page must have its parts (a broken page fails).
//!
//! Without chromium the tests skip with a note, except in CI (`CI=true`), where `.ci/run`
//! installs it and a missing chromium is a failure.

use netlab::explain::{Selector, explain};
use netlab::report::ChartFormat;
use netlab::run::execute_with_report;
use netlab::scenario::load_file;

use crate::browser::{chromium, dump_dom, element_text};
use crate::support::root;

/// An attribute's value on the element that starts with `start`.
fn attribute(dom: &str, start: &str, name: &str) -> Option<String> {
    let at = dom.find(start)?;
    let tag = &dom[at..at + dom[at..].find('>')?];
    let from = tag.find(&format!("{name}=\""))? + name.len() + 2;
    Some(tag[from..from + tag[from..].find('"')?].to_string())
}

/// Writes `scenarios/<name>`'s report as `netlab run` does, opens it in chromium at a
/// request, and checks the page.
fn check_report(name: &str) {
    let Some(browser) = chromium() else { return };
    let path = root().join("scenarios").join(name);
    let scenario = load_file(&path).expect("loads");
    let run = execute_with_report(
        &scenario,
        scenario.seed,
        ChartFormat::Svg,
        netlab::capture::CaptureOptions::memory(false),
        |_| {},
    )
    .expect("runs");
    let page = run
        .report_html
        .as_deref()
        .expect("netlab run writes report.html");
    let rows = run.requests_csv.lines().count() - 1;
    // A failed request if there is one (every failed one is narrated), else the first.
    let id = run
        .requests_csv
        .lines()
        .skip(1)
        .position(|line| line.split(',').nth(5) != Some("ok"))
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "netlab-report-browser-{}-{}",
        std::process::id(),
        name.trim_end_matches(".ron")
    ));
    std::fs::create_dir_all(&dir).expect("temp folder");
    let file = dir.join("report.html");
    std::fs::write(&file, page).expect("write report.html");
    let url = format!("file://{}#request={id}", file.display());
    let dom = dump_dom(
        &browser,
        &url,
        &file.with_file_name("chromium-profile"),
        3000,
    );
    let _ = std::fs::remove_dir_all(&dir);

    let errors = element_text(&dom, "<pre id=\"netlab-errors\"", "pre").expect("error box");
    assert_eq!(errors, "", "{name}: the page reported errors");
    assert!(
        attribute(&dom, "<html", "data-rendered-ms").is_some(),
        "{name}: the viewer did not finish"
    );
    // The table counts every request, and shows its first page.
    let count = |attr| attribute(&dom, "<p id=\"request-count\"", attr);
    assert_eq!(
        count("data-rows"),
        Some(rows.to_string()),
        "{name}: table rows"
    );
    assert_eq!(
        count("data-total"),
        Some(rows.to_string()),
        "{name}: requests"
    );
    let shown = dom.matches("<tr data-id=").count();
    assert_eq!(shown, rows.min(50), "{name}: one page of rows");
    // The page's parts.
    for part in [
        "summary", "timeline", "load", "requests", "request", "events",
    ] {
        assert!(
            dom.contains(&format!("<section id=\"{part}\"")),
            "{name}: no {part} section"
        );
    }
    assert!(
        dom.contains("<svg class=\"chart\""),
        "{name}: no timeline chart"
    );
    assert!(dom.matches("class=\"bar\"").count() > 10, "{name}: no bars");
    assert_eq!(
        dom.matches("<svg class=\"facet\"").count(),
        run.server_names.len(),
        "{name}: one load panel per server"
    );
    // The explanation is what `netlab explain --request ID` prints.
    let told = explain(&scenario, scenario.seed, &Selector::Request(id)).expect("explains");
    let shown = element_text(&dom, "<pre id=\"explanation\"", "pre")
        .unwrap_or_else(|| panic!("{name}: request {id} shows no explanation"));
    assert_eq!(shown, told.text(), "{name}: request {id}'s explanation");
    assert!(
        dom.contains("<svg class=\"sequence\""),
        "{name}: no sequence diagram"
    );
}

#[test]
fn hello_web_report_opens_in_chromium() {
    check_report("00-hello-web.ron");
}

#[test]
fn failover_report_opens_in_chromium() {
    check_report("vrrp-failover.ron");
}

#[test]
fn sorry_server_report_opens_in_chromium() {
    check_report("sorry-server.ron");
}
