//! *`report.html`*: the whole run in one page a student opens offline.
//!
//! The page is one self-contained file: a small hand-written viewer (`assets/report/viewer.js`
//! and `viewer.css`, embedded with `include_str!`, no framework, nothing fetched) and one JSON
//! data object (module `data`) it renders from. The viewer's entry point is
//! `NetlabReport.render(data, rootElement)`, so any page that can produce the same data object
//! (the browser playground, from WebAssembly) can show the same report.
//!
//! What the page shows: the summary table, the timeline (outcomes over time, fault windows
//! shaded, state changes numbered; zoomable), the load per server (small multiples when there
//! are many), a request table (sorted, filtered, paged so 100,000 rows stay usable; a longer
//! run lists its first [`MAX_ROWS`] and says so), each
//! request's explanation and sequence diagram, the ipvsadm snapshots, the DNS servers' cache
//! activity and the events.
//!
//! Explanations are the text `netlab explain` prints. Narrating every request of a long run
//! would make the page huge, so a bounded set is narrated ([`narrated_ids`]): every failed
//! request (up to [`MAX_FAILED`]), the first [`FIRST`] and [`SAMPLE`] spread over the run, all
//! among the requests the bounded recording covers ([`RECORD_LIMIT`]). For any other request
//! the page shows the `netlab explain` command that tells its story.
//!
//! # Simplifications
//! - The sequence diagram names a frame's ends by their MAC addresses: netlab's own
//!   (`02:00:00:NN:NN:II`) name the node, a VRRP virtual MAC names the VRID's master, any other
//!   is shown as the address.
//!
//! # Further reading
//! - `book/src/report.md`.

mod data;

pub use data::{Columns, Narrated, ReportData, ReportExtras, report_data, shown_requests};

/// The most decisions and frame heads a run that writes `report.html` records (each): about
/// 30 MB at most, the first few thousand requests of any run.
pub const RECORD_LIMIT: usize = 150_000;
/// The most requests the page lists (the first ones of `requests.csv`): about 4 MB of data.
/// A run that keeps its records only for the page keeps this many (`run::execute_streaming`).
pub const MAX_ROWS: usize = 100_000;
/// Failed requests narrated at most.
pub const MAX_FAILED: usize = 200;
/// The first requests narrated.
pub const FIRST: usize = 50;
/// Requests narrated, spread evenly over the covered ones.
pub const SAMPLE: usize = 50;

/// The viewer's script.
const VIEWER_JS: &str = include_str!("../../../assets/report/viewer.js");
/// The viewer's style sheet.
const VIEWER_CSS: &str = include_str!("../../../assets/report/viewer.css");

/// The viewer's script, for a page that brings its own data (the browser playground).
pub fn viewer_js() -> &'static str {
    VIEWER_JS
}

/// The viewer's style sheet.
pub fn viewer_css() -> &'static str {
    VIEWER_CSS
}

/// Which requests (ids of `requests.csv`, ascending) get a narrated explanation: every failed
/// one up to [`MAX_FAILED`], the first [`FIRST`], and [`SAMPLE`] evenly spaced, among the
/// `covered` first ones (those that ended before the bounded recording stopped).
pub fn narrated_ids(failed: &[bool], covered: usize) -> Vec<usize> {
    let covered = covered.min(failed.len());
    let mut ids: Vec<usize> = (0..covered)
        .filter(|&i| failed[i])
        .take(MAX_FAILED)
        .collect();
    ids.extend(0..covered.min(FIRST));
    if covered > 0 {
        ids.extend((0..SAMPLE).map(|k| k * covered / SAMPLE));
    }
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// The page: the viewer, and `data` (the JSON object of [`report_data`]) embedded so that no
/// `</script>` inside a name can end the script early.
pub fn report_html(title: &str, data: &impl serde::Serialize) -> String {
    let mut page: Vec<u8> = Vec::with_capacity(VIEWER_JS.len() + VIEWER_CSS.len() + 1024);
    page.extend_from_slice(
        b"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
    );
    page.extend_from_slice(
        b"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
    );
    page.extend_from_slice(
        b"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:\">\n",
    );
    page.extend_from_slice(b"<title>");
    page.extend_from_slice(escape_html(title).as_bytes());
    page.extend_from_slice(" · netlab report</title>\n<style>\n".as_bytes());
    page.extend_from_slice(VIEWER_CSS.as_bytes());
    page.extend_from_slice(b"</style>\n</head>\n<body>\n<div id=\"netlab-report\"></div>\n");
    page.extend_from_slice(b"<pre id=\"netlab-errors\" hidden></pre>\n");
    page.extend_from_slice(b"<script type=\"application/json\" id=\"netlab-data\">");
    // Straight into the page: a long run's data is megabytes, not worth two more copies.
    serde_json::to_writer(ScriptSafe(&mut page), data)
        .expect("report data holds only plain values");
    page.extend_from_slice(b"</script>\n<script>\n");
    page.extend_from_slice(VIEWER_JS.as_bytes());
    page.extend_from_slice(
        b"\nNetlabReport.start(\"netlab-data\", \"netlab-report\", \"netlab-errors\");\n\
         </script>\n</body>\n</html>\n",
    );
    // JSON, the viewer and the title are text, and `ScriptSafe` only swaps ASCII.
    String::from_utf8(page).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Writes JSON with every `<` as `\u003c`: in JSON `<` appears only inside strings, where the
/// escape means the same, and so no `</script>` can appear.
struct ScriptSafe<'a>(&'a mut Vec<u8>);

impl std::io::Write for ScriptSafe<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut parts = buf.split(|&b| b == b'<');
        if let Some(first) = parts.next() {
            self.0.extend_from_slice(first);
        }
        for part in parts {
            self.0.extend_from_slice(b"\\u003c");
            self.0.extend_from_slice(part);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Text made safe to put between HTML tags.
fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrated_ids_are_bounded_and_include_failures() {
        let mut failed = vec![false; 100_000];
        for i in (0..100_000).step_by(7) {
            failed[i] = true;
        }
        let ids = narrated_ids(&failed, 5_000);
        assert!(ids.len() <= MAX_FAILED + FIRST + SAMPLE);
        assert!(ids.iter().all(|&i| i < 5_000));
        assert!(ids.iter().filter(|&&i| failed[i]).count() >= MAX_FAILED);
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert!(ids.contains(&49) && ids.contains(&4_900));
    }

    #[test]
    fn small_runs_narrate_failures_and_the_first() {
        let failed = [false, true, false, false, true];
        assert_eq!(narrated_ids(&failed, 5), vec![0, 1, 2, 3, 4]);
        assert_eq!(narrated_ids(&failed, 0), Vec::<usize>::new());
    }

    #[test]
    fn the_page_is_self_contained_and_script_safe() {
        let data = serde_json::json!({ "scenario": "</script><b>x</b>" });
        let page = report_html("a <b>", &data);
        assert_eq!(page.matches("</script>").count(), 2);
        assert!(page.contains("\\u003c/script>\\u003cb>"));
        assert!(page.contains("<title>a &lt;b&gt; · netlab report</title>"));
        // Nothing is fetched: no linked file, no script or image source, no import.
        for fetching in ["<link", " src=", "@import", "url(http", "fetch("] {
            assert!(!page.contains(fetching), "{fetching}");
        }
    }
}
