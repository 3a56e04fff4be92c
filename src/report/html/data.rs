//! *The report's data*: one JSON object, everything the viewer shows.
//!
//! Requests are stored by column (`start_us`, `latency_us`, `client`, `server`, `outcome`,
//! `status`), times as integer microseconds and names as indices into `clients`, `servers`
//! and `outcomes`, so a 100,000-request run stays a few megabytes. Row `i` is request `i` of
//! `requests.csv`. A run of more than [`MAX_ROWS`] requests shows its first [`MAX_ROWS`] and
//! says how many it had in `requests_total` (absent otherwise), so the page does not grow
//! with the run. Explanations are in `stories`, keyed by request id.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value, json};

use super::super::{FAULT_EVENTS, RunReport, sorted_records};
use super::MAX_ROWS;
use crate::sim::SimTime;
use crate::trace::{DnsEvent, Outcome};

/// One request's explanation, as the viewer shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Narrated {
    /// Its id in `requests.csv`.
    pub id: usize,
    /// The text `netlab explain --request ID` prints.
    pub text: String,
    /// The sequence diagram's lanes (node names, in order of first appearance).
    pub lanes: Vec<String>,
    /// One entry per step line of `text`, in order: `(from lane, to lane)`; equal for a
    /// decision (a mark on its node's lane), different for a frame (an arrow).
    pub arrows: Vec<(usize, usize)>,
}

/// What the report shows beyond the trace.
pub struct ReportExtras<'a> {
    /// The scenario's description.
    pub description: &'a str,
    /// The scenario file, as given.
    pub source_file: &'a str,
    /// The terminal table `netlab run` prints.
    pub table: &'a str,
    /// The narrated requests.
    pub stories: &'a [Narrated],
    /// How many requests (from the first) the recording covered.
    pub covered: usize,
}

/// Microseconds since the start.
fn us(at: SimTime) -> u64 {
    at.as_nanos() / 1_000
}

/// The data object of `report.html`.
pub fn report_data(run: &RunReport<'_>, extras: &ReportExtras<'_>) -> ReportData {
    let requests = shown_requests(run.trace);
    let mut clients: Vec<usize> = requests.iter().map(|r| r.client_node).collect();
    clients.sort_unstable();
    clients.dedup();
    let client_index = |node: usize| clients.binary_search(&node).unwrap_or(0);
    let outcome_index = |o: Outcome| Outcome::ALL.iter().position(|&x| x == o).unwrap_or(0);
    let column = |f: &dyn Fn(&crate::trace::RequestRecord) -> i64| -> Vec<i64> {
        requests.iter().map(|r| f(r)).collect()
    };
    let columns = Columns {
        start_us: column(&|r| us(r.start) as i64),
        latency_us: column(&|r| us(r.end) as i64 - us(r.start) as i64),
        client: column(&|r| client_index(r.client_node) as i64),
        server: column(&|r| r.server.map_or(-1, |s| s as i64)),
        outcome: column(&|r| outcome_index(r.outcome) as i64),
        status: column(&|r| r.status.map_or(0, i64::from)),
    };
    let mut stories = Map::new();
    for story in extras.stories {
        stories.insert(
            story.id.to_string(),
            json!({
                "text": story.text,
                "lanes": story.lanes,
                "arrows": story.arrows.iter().map(|&(a, b)| json!([a, b])).collect::<Vec<_>>(),
            }),
        );
    }
    let mut data = json!({
        "format": 1,
        "scenario": run.scenario,
        "description": extras.description,
        "source_file": extras.source_file,
        "seed": run.seed,
        "version": env!("CARGO_PKG_VERSION"),
        "end_us": us(run.end),
        "table": extras.table,
        "outcomes": Outcome::ALL.iter().map(|o| o.as_str()).collect::<Vec<_>>(),
        "clients": clients.iter().map(|&n| run.node_names[n].as_str()).collect::<Vec<_>>(),
        "servers": run.server_names,
        // Its place in the object; `ReportData` writes the columns there.
        "requests": null,
        "events": run.trace.events.iter().map(|e| json!([us(e.at), e.target, e.event, e.detail])).collect::<Vec<_>>(),
        "faults": fault_windows(run),
        "ipvsadm": run.trace.ipvsadm.iter().map(|s| json!([us(s.at), run.node_names[s.node], s.list, s.stats])).collect::<Vec<_>>(),
        "dns": dns_activity(run),
        "stories": stories,
        "covered": extras.covered,
        "explain": format!("netlab explain {} --seed {} --request", shell_word(extras.source_file), run.seed),
    });
    let issued = run.trace.requests.tally().issued;
    if issued > requests.len() as u64 {
        // Only a run longer than `MAX_ROWS` has it, so shorter runs' pages are unchanged.
        data["requests_total"] = json!(issued);
    }
    let Value::Object(fields) = data else {
        unreachable!("json! of an object literal is an object")
    };
    ReportData {
        fields,
        requests: columns,
    }
}

/// The data object of `report.html`: its fields, with the request columns kept as plain
/// integers and written at the place of `requests` (a `serde_json::Value` per number would
/// take four times the memory).
#[derive(Clone, Debug, PartialEq)]
pub struct ReportData {
    /// Every field but the columns, in the object's order (`requests` is a placeholder).
    pub fields: Map<String, Value>,
    /// The requests by column.
    pub requests: Columns,
}

/// The requests the page lists, one array per column; row `i` is request `i`.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Columns {
    /// Start, in µs.
    pub start_us: Vec<i64>,
    /// End minus start, in µs.
    pub latency_us: Vec<i64>,
    /// Index into `clients`.
    pub client: Vec<i64>,
    /// Index into `servers`, or -1.
    pub server: Vec<i64>,
    /// Index into `outcomes`.
    pub outcome: Vec<i64>,
    /// HTTP status, or 0.
    pub status: Vec<i64>,
}

impl Serialize for ReportData {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.fields.len()))?;
        for (key, value) in &self.fields {
            if key == "requests" {
                map.serialize_entry(key, &self.requests)?;
            } else {
                map.serialize_entry(key, value)?;
            }
        }
        map.end()
    }
}

/// The requests the page lists: the first [`MAX_ROWS`] of `requests.csv`, so the page stays
/// a few megabytes however long the run (the viewer says how many it shows of how many).
pub fn shown_requests(trace: &crate::trace::Trace) -> Vec<&crate::trace::RequestRecord> {
    let mut requests = sorted_records(trace);
    requests.truncate(MAX_ROWS);
    requests
}

/// Each injected fault with when it was undone (null: never): `[start, end, target, event]`.
fn fault_windows(run: &RunReport<'_>) -> Vec<Value> {
    let events = &run.trace.events;
    events
        .iter()
        .enumerate()
        .filter_map(|(i, e)| {
            let undo = FAULT_EVENTS.iter().find(|(start, _)| *start == e.event)?.1;
            let end = events[i + 1..]
                .iter()
                .find(|u| u.target == e.target && u.event == undo)
                .map(|u| us(u.at));
            Some(json!([us(e.at), end, e.target, e.event]))
        })
        .collect()
}

/// Per DNS server and name: answers given as authority, cache hits, cache misses, and when
/// the misses (the cache's refills) happened, the first 200.
fn dns_activity(run: &RunReport<'_>) -> Vec<Value> {
    let mut keys: Vec<(usize, &str)> = run
        .trace
        .dns
        .iter()
        .map(|d| (d.node, d.name.as_str()))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys.iter()
        .map(|&(node, name)| {
            let of = || {
                run.trace
                    .dns
                    .iter()
                    .filter(move |d| d.node == node && d.name == name)
            };
            let count = |event: DnsEvent| of().filter(|d| d.event == event).count();
            let misses: Vec<u64> = of()
                .filter(|d| d.event == DnsEvent::CacheMiss)
                .take(200)
                .map(|d| us(d.at))
                .collect();
            json!([
                run.node_names[node],
                name,
                count(DnsEvent::Authoritative),
                count(DnsEvent::CacheHit),
                count(DnsEvent::CacheMiss),
                misses
            ])
        })
        .collect()
}

/// A file name as one shell word: quoted when it holds anything but plain characters.
fn shell_word(text: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./+:=@".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_run_shows_its_first_rows_and_says_how_many_it_had() {
        use crate::sim::SimDuration;
        use crate::trace::{RequestLog, RequestRecord, Trace};
        let records = (0..MAX_ROWS as u64 + 3).map(|seq| RequestRecord {
            client_node: 0,
            client_seq: seq,
            start: SimTime::ZERO + SimDuration::from_micros(seq),
            end: SimTime::ZERO + SimDuration::from_micros(seq + 500),
            outcome: Outcome::Ok,
            server: Some(0),
            status: Some(200),
            remote_ip: None,
            reused_connection: false,
        });
        let trace = Trace {
            requests: RequestLog::from_records(records),
            ..Trace::default()
        };
        let names = ["pc".to_string()];
        let run = RunReport {
            scenario: "long",
            seed: 1,
            end: SimTime::ZERO + SimDuration::from_secs(1),
            trace: &trace,
            node_names: &names,
            server_names: &["web".to_string()],
            server_addrs: &[],
        };
        let extras = ReportExtras {
            description: "",
            source_file: "long.ron",
            table: "",
            stories: &[],
            covered: 0,
        };
        let data = report_data(&run, &extras);
        assert_eq!(data.requests.start_us.len(), MAX_ROWS);
        assert_eq!(data.fields["requests_total"], json!(MAX_ROWS + 3));
        let text = serde_json::to_string(&data).unwrap();
        assert!(
            text.contains(",\"requests\":{\"start_us\":[0,1,2,"),
            "{}",
            &text[..300]
        );
    }

    #[test]
    fn odd_file_names_are_quoted_for_the_shell() {
        assert_eq!(shell_word("scenarios/l4-nat.ron"), "scenarios/l4-nat.ron");
        assert_eq!(shell_word("my lab's.ron"), "'my lab'\\''s.ron'");
    }
}
