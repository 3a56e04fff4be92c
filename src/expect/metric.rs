//! *Metrics*: the numbers an expectation can speak of, named as paths into `summary.json`.
//!
//! `requests.failed` is `summary["requests"]["failed"]`; `failures.0.detection_s` is the
//! detection time of the first failure; a name holding dots or spaces goes in brackets:
//! `balancers.lb.services[TCP 10.0.1.101:80].no_destination`. One metric is computed rather
//! than read: `servers.<name>.share`, the server's part of all the responses the clients
//! received (`served` over the sum of every server's `served`); and `servers.<name>.listen_drops`
//! reads as 0 for a server whose summary has none (it is written only when SYNs were dropped).
//!
//! `check` knows the shape of `summary.json` for a scenario (its servers, groups and faults)
//! and refuses a path that cannot exist, with the nearest valid one. Paths under `balancers`,
//! `proxies`, `dns` and `pings` depend on what the run records, so they are decided after it.

use std::fmt;

use serde_json::Value;

use crate::scenario::diagnostic::nearest;
use crate::scenario::model::{NodeSpec, Scenario};

/// A path into `summary.json`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metric {
    /// The keys (and list positions) from the top.
    steps: Vec<String>,
}

/// The top-level sections whose insides only the run knows.
const OPEN_SECTIONS: &[&str] = &["balancers", "proxies", "dns", "pings"];

impl Metric {
    /// Parses `a.b[c.d].e`.
    pub fn parse(text: &str) -> Result<Metric, String> {
        let mut steps = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            let step = if let Some(inner) = rest.strip_prefix('[') {
                let end = inner
                    .find(']')
                    .ok_or_else(|| format!("\"{text}\" has a `[` without its `]`"))?;
                let step = &inner[..end];
                rest = &inner[end + 1..];
                step
            } else {
                let end = rest.find(['.', '[']).unwrap_or(rest.len());
                let step = &rest[..end];
                rest = &rest[end..];
                step
            };
            if step.is_empty() {
                return Err(format!("\"{text}\" has an empty part"));
            }
            steps.push(step.to_string());
            rest = rest.strip_prefix('.').unwrap_or(rest);
        }
        if steps.is_empty() {
            return Err("an empty metric".to_string());
        }
        Ok(Metric { steps })
    }

    /// The metric's value in a run's summary, if it is a number there.
    pub fn value(&self, summary: &Value) -> Option<f64> {
        if let [servers, name, share] = self.steps.as_slice()
            && servers == "servers"
            && share == "share"
        {
            let all = summary.get("servers")?.as_object()?;
            let served = |v: &Value| v.get("served").and_then(Value::as_f64);
            let total: f64 = all.values().filter_map(served).sum();
            let mine = served(all.get(name)?)?;
            return Some(if total == 0.0 { 0.0 } else { mine / total });
        }
        // A server writes `listen_drops` only when it dropped SYNs: absent means none.
        if let [servers, name, drops] = self.steps.as_slice()
            && servers == "servers"
            && drops == "listen_drops"
        {
            let server = summary.get("servers")?.get(name)?;
            return Some(
                server
                    .get("listen_drops")
                    .and_then(Value::as_f64)
                    .unwrap_or(0.0),
            );
        }
        let mut at = summary;
        for step in &self.steps {
            at = match at {
                Value::Object(map) => map.get(step)?,
                Value::Array(list) => list.get(step.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        match at {
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            other => other.as_f64(),
        }
    }

    /// Whether `scenario`'s summary can have this metric; if not, why and the nearest one.
    pub fn check(&self, scenario: &Scenario) -> Result<(), (String, String)> {
        if OPEN_SECTIONS.contains(&self.steps[0].as_str()) {
            return Ok(());
        }
        let known = known(scenario);
        let text = self.to_string();
        if known.contains(&text) {
            return Ok(());
        }
        let mut help = match nearest(&text, known.iter().map(String::as_str)) {
            Some(near) => format!("did you mean `{near}`? "),
            None => String::new(),
        };
        help.push_str(
            "a metric is a path into summary.json, such as requests.failed, latency_ms.p95 or servers.<name>.share",
        );
        Err((format!("this scenario has no metric `{text}`"), help))
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.steps.iter().enumerate() {
            if step.contains(['.', ' ', '[', ']']) {
                write!(f, "[{step}]")?;
            } else {
                if i > 0 {
                    f.write_str(".")?;
                }
                f.write_str(step)?;
            }
        }
        Ok(())
    }
}

/// Every metric `scenario`'s summary will have outside the open sections, as text.
pub fn known(scenario: &Scenario) -> Vec<String> {
    let mut names: Vec<String> = ["seed", "sim_time_s", "requests.issued", "requests.ok"]
        .iter()
        .chain(&["requests.failed", "network.frames_sent"])
        .chain(&["network.frames_dropped_queue", "network.frames_lost"])
        .map(|s| s.to_string())
        .collect();
    for outcome in crate::trace::Outcome::ALL {
        names.push(format!("requests.by_outcome.{}", outcome.as_str()));
    }
    for p in ["p50", "p95", "p99", "mean"] {
        names.push(format!("latency_ms.{p}"));
    }
    let servers = scenario.web_server_names();
    for server in &servers {
        for field in [
            "served",
            "share",
            "distinct_peers",
            "forwarded_for",
            "listen_drops",
        ] {
            names.push(format!("servers.{server}.{field}"));
        }
    }
    let cache_fields = ["hits", "misses", "hit_ratio", "evictions", "objects"];
    let mut caches = 0;
    for node in &scenario.nodes {
        if let NodeSpec::WebServer {
            name,
            cache: Some(_),
            ..
        } = node
        {
            caches += 1;
            for field in cache_fields {
                names.push(format!("servers.{name}.cache.{field}"));
            }
        }
    }
    if caches > 0 {
        names.extend(cache_fields.iter().map(|f| format!("caches.{f}")));
    }
    for node in &scenario.nodes {
        if let NodeSpec::Clients { name, .. } = node {
            for field in [
                "issued",
                "ok",
                "failed",
                "max_share",
                "reused_connections",
                "latency_ms.p50",
                "latency_ms.mean",
            ] {
                names.push(format!("groups.{name}.{field}"));
            }
            for server in &servers {
                names.push(format!("groups.{name}.served.{server}"));
            }
        }
    }
    for index in 0..scenario.faults.len() {
        for field in [
            "injected_s",
            "undone_s",
            "detected_s",
            "detection_s",
            "readded_s",
            "first_ok_s",
            "failed_requests",
        ] {
            names.push(format!("failures.{index}.{field}"));
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_read_summary_json() {
        let summary = json!({
            "requests": {"failed": 3},
            "failures": [{"detection_s": 3.02}],
            "balancers": {"lb": {"services": {"TCP 10.0.1.101:80": {"no_destination": 4}}}},
            "servers": {"a": {"served": 1}, "b": {"served": 3}},
        });
        let value = |text: &str| Metric::parse(text).unwrap().value(&summary);
        assert_eq!(value("requests.failed"), Some(3.0));
        assert_eq!(value("failures.0.detection_s"), Some(3.02));
        assert_eq!(
            value("balancers.lb.services[TCP 10.0.1.101:80].no_destination"),
            Some(4.0)
        );
        assert_eq!(value("servers.b.share"), Some(0.75));
        assert_eq!(
            value("servers.a.listen_drops"),
            Some(0.0),
            "absent: none dropped"
        );
        assert_eq!(value("servers.c.listen_drops"), None, "no such server");
        assert_eq!(value("requests.lost"), None);
        assert_eq!(
            Metric::parse("balancers.lb.services[TCP 10.0.1.101:80].no_destination")
                .unwrap()
                .to_string(),
            "balancers.lb.services[TCP 10.0.1.101:80].no_destination"
        );
    }

    #[test]
    fn bad_paths_are_refused() {
        for text in ["", "a..b", "a[b", "a.[]"] {
            assert!(Metric::parse(text).is_err(), "{text:?}");
        }
    }
}
