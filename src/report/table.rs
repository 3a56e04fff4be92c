//! *The terminal table* `netlab run` prints.

use std::fmt::Write;

use super::RunReport;
use super::metrics::Metrics;

/// A short, aligned summary of a run: one section after the other, each left out when the
/// run has nothing for it.
pub fn terminal_table(run: &RunReport<'_>) -> String {
    let m = Metrics::of(run);
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = writeln!(
        out,
        "scenario {}  seed {}  virtual time {:.3} s",
        run.scenario,
        run.seed,
        run.end.as_secs_f64()
    );
    if m.issued > 0 {
        requests(&mut out, &m);
        servers(&mut out, &m);
    }
    groups(&mut out, run);
    balancers(&mut out, run);
    failures(&mut out, run);
    pings(&mut out, &m);
    out
}

/// Requests issued, how they ended, and the latency of the successful ones.
fn requests(out: &mut String, m: &Metrics) {
    let _ = writeln!(
        out,
        "requests  issued {}  ok {}  failed {}",
        m.issued,
        m.ok(),
        m.failed()
    );
    let outcomes: Vec<String> = m
        .by_outcome
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(o, n)| format!("{} {n}", o.as_str()))
        .collect();
    let _ = writeln!(out, "outcomes  {}", outcomes.join(", "));
    match m.latency {
        Some(l) => {
            let _ = writeln!(
                out,
                "latency   p50 {:.3} ms  p95 {:.3} ms  p99 {:.3} ms  mean {:.3} ms",
                l.p50, l.p95, l.p99, l.mean
            );
        }
        None => {
            let _ = writeln!(out, "latency   (no successful request)");
        }
    }
}

/// How many requests each server answered, and its share of them.
fn servers(out: &mut String, m: &Metrics) {
    if m.served.is_empty() {
        return;
    }
    let width = m
        .served
        .iter()
        .map(|(n, _)| n.len())
        .max()
        .unwrap_or(6)
        .max(6);
    let _ = writeln!(out, "{:<width$}  {:>8}  {:>6}", "server", "served", "share");
    let total: u64 = m.served.iter().map(|(_, n)| n).sum();
    for (name, served) in &m.served {
        let share = if total == 0 {
            0.0
        } else {
            100.0 * *served as f64 / total as f64
        };
        let _ = writeln!(out, "{name:<width$}  {served:>8}  {share:>5.1}%");
    }
}

/// With several client groups, how each fared (they often differ on purpose).
fn groups(out: &mut String, run: &RunReport<'_>) {
    let groups = super::metrics::groups(run);
    if groups.len() <= 1 {
        return;
    }
    let width = groups
        .iter()
        .map(|(n, _)| n.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let _ = writeln!(
        out,
        "{:<width$}  {:>8}  {:>8}  {:>8}  {:>10}",
        "group", "issued", "ok", "reused", "p50 ms"
    );
    for (name, g) in &groups {
        let p50 = g.p50_ms.map_or("-".to_string(), |p| format!("{p:.3}"));
        let _ = writeln!(
            out,
            "{name:<width$}  {:>8}  {:>8}  {:>8}  {p50:>10}",
            g.issued, g.ok, g.reused_connections
        );
    }
}

/// Each balancer's final state, as `ipvsadm -Ln` prints it, in the order the balancers last
/// took a snapshot.
fn balancers(out: &mut String, run: &RunReport<'_>) {
    let mut seen = Vec::new();
    for snap in run.trace.ipvsadm.iter().rev() {
        if !seen.contains(&snap.node) {
            seen.push(snap.node);
        }
    }
    for node in seen.into_iter().rev() {
        if let Some(last) = run.trace.ipvsadm.iter().rev().find(|s| s.node == node) {
            let _ = writeln!(out, "{} $ ipvsadm -Ln", run.node_names[node]);
            out.push_str(&last.list);
        }
    }
}

/// Each injected failure: when, on what, when it was detected and the requests it failed.
fn failures(out: &mut String, run: &RunReport<'_>) {
    let failures = super::failures(run);
    if failures.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "{:<10} {:<15} {:>9} {:<16} {:>11} {:>8}",
        "fault", "on", "at s", "server", "detected s", "failed"
    );
    for f in &failures {
        let detected = match f.detected {
            Some(at) => format!("{:.3}", at.as_secs_f64()),
            None if f.server.is_some() => "missed".to_string(),
            None => "-".to_string(),
        };
        let _ = writeln!(
            out,
            "{:<10} {:<15} {:>9.3} {:<16} {:>11} {:>8}",
            f.event.replace("service_", "svc_"),
            f.target,
            f.injected.as_secs_f64(),
            f.server.as_deref().unwrap_or("-"),
            detected,
            f.failed_requests
        );
    }
}

/// Each pinger's echoes and round-trip times.
fn pings(out: &mut String, m: &Metrics) {
    for p in &m.pings {
        let rtt = match p.rtt_ms {
            Some((min, mean, max)) => format!("rtt min/mean/max {min:.3}/{mean:.3}/{max:.3} ms"),
            None => "no replies".to_string(),
        };
        let _ = writeln!(
            out,
            "ping {} -> {}  {} sent, {} received  {rtt}",
            p.host, p.target, p.sent, p.received
        );
    }
}
