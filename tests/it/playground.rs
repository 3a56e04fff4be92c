//! The browser playground (`wasm/playground/`) in headless Chromium, served over HTTP and
//! opened from disk.
//!
//! Served (a tiny static server on 127.0.0.1, std only): it opens the playground at
//! `00-hello-web.ron`, runs it (in the page's Web Worker) and checks that the summary table the
//! report viewer draws is the table of the native run, that every output file is offered, and
//! that the page logged no error; then it opens a scenario with a syntax error and checks the
//! diagnostic is listed at its line.
//!
//! From disk (`file://`, where a browser fetches nothing and starts no worker by URL): it runs
//! `vrrp-keepalived.ron`, whose directors are configured by keepalived.conf files with
//! includes, checks the summary against the native run, and asks "why" about a request whose
//! story `report.html` does not hold: the page's answer must be the native `netlab explain`.
//!
//! The playground must be built first (`wasm/playground/build.sh`, which `wasm/ci.sh` runs
//! before this test): without it the test skips with a note, unless `NETLAB_PLAYGROUND=required`
//! (set by `wasm/ci.sh`). Without chromium it skips too, except under `CI=true`.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use netlab::capture::CaptureOptions;
use netlab::explain::{Selector, explain};
use netlab::report::ChartFormat;
use netlab::run::execute_with_report;
use netlab::scenario::load_file;

use crate::browser::{chromium, dump_dom, element_text};
use crate::support::root;

const HELLO: &str = "00-hello-web.ron";

/// The playground folder, or `None` (after saying why) when its `pkg/` is not built.
fn playground() -> Option<PathBuf> {
    let dir = root().join("wasm/playground");
    let missing: Vec<&str> = ["engine.js", "scenarios.js", "viewer.js", "viewer.css"]
        .into_iter()
        .filter(|f| !dir.join("pkg").join(f).is_file())
        .collect();
    if missing.is_empty() {
        return Some(dir);
    }
    let why =
        format!("wasm/playground/pkg/ lacks {missing:?}: build it with wasm/playground/build.sh");
    if std::env::var("NETLAB_PLAYGROUND").is_ok_and(|v| v == "required") {
        panic!("{why}");
    }
    eprintln!("skipped: {why}");
    None
}

/// Serves `dir` on 127.0.0.1 (a thread per connection, for the test's lifetime), plus
/// `/broken.ron` (`broken`) and `/hold` (answered after 20 ms: see `playground.js`), to any
/// origin (a page opened from disk holds with it too). Returns the base address.
fn serve(dir: PathBuf, broken: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (dir, broken) = (dir.clone(), broken.clone());
            std::thread::spawn(move || answer(stream, &dir, &broken));
        }
    });
    base
}

/// Answers one GET request.
fn answer(mut stream: TcpStream, dir: &Path, broken: &str) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    // The headers, up to the blank line.
    let mut header = String::new();
    while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
        header.clear();
    }
    let target = line.split_whitespace().nth(1).unwrap_or("/");
    let path = target.split('?').next().unwrap_or("/");
    let (status, kind, body) = match path {
        "/hold" => {
            std::thread::sleep(Duration::from_millis(20));
            ("200 OK", "text/plain", b"held".to_vec())
        }
        "/broken.ron" => ("200 OK", "text/plain", broken.as_bytes().to_vec()),
        _ if path.contains("..") => ("404 Not Found", "text/plain", Vec::new()),
        _ => match std::fs::read(dir.join(path.trim_start_matches('/'))) {
            Ok(bytes) => ("200 OK", content_type(path), bytes),
            Err(_) => ("404 Not Found", "text/plain", Vec::new()),
        },
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nAccess-Control-Allow-Origin: *\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&body);
}

/// The MIME type a browser needs (module scripts and `instantiateStreaming` check it).
fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("wasm") => "application/wasm",
        _ => "application/octet-stream",
    }
}

/// `00-hello-web.ron` with line `line` (0-based) broken: its `name:` loses the colon.
fn broken_hello(text: &str) -> (String, usize) {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let line = lines
        .iter()
        .position(|l| l.trim_start().starts_with("name:"))
        .expect("a name: line");
    lines[line] = lines[line].replacen("name:", "name", 1);
    (lines.join("\n"), line)
}

/// The page `dom` finished its run without errors, and shows the native run's summary table.
fn assert_ran_like_native(dom: &str, native_table: &str) {
    let errors = element_text(dom, "<pre id=\"errors\"", "pre").expect("error box");
    assert_eq!(errors, "", "the playground reported errors");
    assert!(
        dom.contains("data-done=\"true\""),
        "the run did not finish: {}",
        element_text(dom, "<span id=\"status\"", "span").unwrap_or_default()
    );
    let table = element_text(dom, "<pre class=\"summary\"", "pre").expect("a summary table");
    assert_eq!(
        table, native_table,
        "the browser's summary is the native one"
    );
}

#[test]
fn playground_runs_hello_web_like_native_and_places_a_syntax_error() {
    let Some(dir) = playground() else { return };
    let Some(browser) = chromium() else { return };
    let path = root().join("scenarios").join(HELLO);
    let text = std::fs::read_to_string(&path).expect("reads");
    let (broken, broken_line) = broken_hello(&text);
    let base = serve(dir, broken);
    let profile = std::env::temp_dir().join(format!("netlab-playground-{}", std::process::id()));

    let scenario = load_file(&path).expect("loads");
    let native = execute_with_report(
        &scenario,
        scenario.seed,
        ChartFormat::Svg,
        CaptureOptions::memory(true),
        |_| {},
    )
    .expect("runs");

    let dom = dump_dom(
        &browser,
        &format!("{base}/index.html?scenario={HELLO}&run&hold=/hold"),
        &profile,
        5000,
    );
    assert_ran_like_native(&dom, &native.table);
    for (name, _) in native.files() {
        assert!(
            dom.contains(&format!("download=\"{name}\"")),
            "no download of {name}"
        );
    }

    // `hold` here too: the engine compiles in real time, and without a pending fetch a loaded
    // machine let virtual time run out before the page listed its diagnostics (wasm/ci.sh).
    let dom = dump_dom(
        &browser,
        &format!("{base}/index.html?src=/broken.ron&hold=/hold"),
        &profile,
        5000,
    );
    let _ = std::fs::remove_dir_all(&profile);
    let diagnostic = format!("<li class=\"error\" data-line=\"{}\"", broken_line + 1);
    assert!(
        dom.contains(&diagnostic),
        "no error listed at line {}: {}",
        broken_line + 1,
        element_text(&dom, "<ul id=\"diagnostics\"", "ul").unwrap_or_default()
    );
    assert!(
        element_text(&dom, "<p id=\"check-summary\"", "p").is_some_and(|s| s.contains("not valid")),
        "the check does not say the text is invalid"
    );
}

/// The id of the first request whose story the native `report.html` does not hold.
fn untold_request(report_html: &[u8]) -> usize {
    let page = std::str::from_utf8(report_html).expect("UTF-8");
    let start = page.find("id=\"netlab-data\">").expect("the data") + "id=\"netlab-data\">".len();
    let end = start + page[start..].find("</script>").expect("its end");
    let data: serde_json::Value = serde_json::from_str(&page[start..end]).expect("JSON");
    let stories = data["stories"].as_object().expect("stories");
    (0..)
        .find(|id: &usize| !stories.contains_key(&id.to_string()))
        .unwrap()
}

#[test]
fn playground_opened_from_disk_runs_keepalived_confs_and_tells_why() {
    const SCENARIO: &str = "vrrp-keepalived.ron";
    let Some(dir) = playground() else { return };
    let Some(browser) = chromium() else { return };
    let hold = serve(dir.clone(), String::new());
    let profile =
        std::env::temp_dir().join(format!("netlab-playground-disk-{}", std::process::id()));

    let scenario = load_file(&root().join("scenarios").join(SCENARIO)).expect("loads");
    let native = execute_with_report(
        &scenario,
        scenario.seed,
        ChartFormat::Svg,
        CaptureOptions::memory(false),
        |_| {},
    )
    .expect("runs");
    let (_, report) = native
        .files()
        .into_iter()
        .find(|(n, _)| *n == "report.html")
        .expect("report.html");
    let why = untold_request(report);
    let story = explain(&scenario, scenario.seed, &Selector::Request(why)).expect("explains");

    let page = dir.join("index.html").canonicalize().expect("index.html");
    let url = format!(
        "file://{}#scenario={SCENARIO}&pcap=0&run&why={why}&hold={hold}/hold",
        page.display()
    );
    let dom = dump_dom(&browser, &url, &profile, 5000);
    let _ = std::fs::remove_dir_all(&profile);
    assert_ran_like_native(&dom, &native.table);
    let told = element_text(
        &dom,
        &format!("<pre id=\"explanation\" data-request=\"{why}\""),
        "pre",
    );
    assert_eq!(
        told.as_deref(),
        Some(story.text().as_str()),
        "the page's story of request {why} is not `netlab explain`'s: {}",
        element_text(&dom, "<div id=\"request-detail\"", "div").unwrap_or_default()
    );
}
