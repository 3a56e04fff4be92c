//! Headless chromium for the browser tests (`report_browser`, `playground`): find it, open a
//! page and read back its DOM after the scripts ran, with no console error allowed.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The chromium binary, or `None` (after saying why) when it is not installed here; under
/// `CI=true` a missing chromium fails the test (`.ci/run` installs it).
pub fn chromium() -> Option<PathBuf> {
    let found = ["chromium", "/usr/bin/chromium", "chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|binary| {
            Command::new(binary)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        });
    if found.is_none() {
        if std::env::var("CI").is_ok_and(|ci| ci == "true") {
            panic!("chromium is missing: CI must run the browser tests (.ci/run installs it)");
        }
        eprintln!("skipped: install Debian package chromium (apt-get install chromium)");
    }
    found
}

/// The DOM of the page at `url` after its scripts ran for up to `budget_ms` of virtual time,
/// with a throwaway profile in `profile`. Panics if the page logged anything to the console.
pub fn dump_dom(browser: &Path, url: &str, profile: &Path, budget_ms: u32) -> String {
    let output = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
        ])
        .arg(format!("--virtual-time-budget={budget_ms}"))
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(url)
        .output()
        .expect("chromium runs");
    assert!(output.status.success(), "chromium failed: {output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Chromium logs page errors as `CONSOLE(...)` lines.
    let console: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught"))
        .collect();
    assert!(console.is_empty(), "the page logged: {console:#?}");
    String::from_utf8(output.stdout).expect("the DOM is UTF-8")
}

/// The text of the element that starts with `start` (up to its closing `</tag>`), with the
/// entities `--dump-dom` writes decoded.
pub fn element_text(dom: &str, start: &str, tag: &str) -> Option<String> {
    let at = dom.find(start)?;
    let open_end = at + dom[at..].find('>')? + 1;
    let close = open_end + dom[open_end..].find(&format!("</{tag}>"))?;
    Some(
        dom[open_end..close]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&nbsp;", "\u{a0}")
            .replace("&quot;", "\"")
            .replace("&amp;", "&"),
    )
}
