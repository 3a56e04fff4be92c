//! *summary.json*, *requests.csv* and *events.csv*.

use serde_json::{Map, Value, json};

use super::RunReport;
use super::metrics::Metrics;
use crate::sim::SimTime;
use crate::trace::{DnsEvent, RequestRecord};

/// Rounds to three decimals, so files do not carry float noise.
fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The contents of `summary.json`: keys in a fixed order, numbers rounded, a final newline.
/// Each section is made by a function of its own below, in the order of the file.
pub fn summary_json(run: &RunReport<'_>) -> String {
    let m = Metrics::of(run);
    let mut by_outcome = Map::new();
    for (outcome, n) in &m.by_outcome {
        by_outcome.insert(outcome.as_str().to_string(), json!(n));
    }
    let latency = match m.latency {
        Some(l) => json!({
            "p50": round3(l.p50), "p95": round3(l.p95), "p99": round3(l.p99), "mean": round3(l.mean)
        }),
        None => json!({ "p50": null, "p95": null, "p99": null, "mean": null }),
    };
    let net = run.trace.net;
    let mut summary = json!({
        "scenario": run.scenario,
        "seed": run.seed,
        "sim_time_s": run.end.as_micros() as f64 / 1e6,
        "requests": {
            "issued": m.issued,
            "ok": m.ok(),
            "failed": m.failed(),
            "by_outcome": by_outcome,
        },
        "latency_ms": latency,
        "servers": servers_json(run, &m),
        "network": {
            "frames_sent": net.frames_sent,
            "frames_dropped_queue": net.frames_dropped_queue,
            "frames_lost": net.frames_lost,
        },
        "pings": pings_json(&m),
        "balancers": balancers_json(run),
        "proxies": proxies_json(run),
        "groups": groups_json(run),
        "dns": dns_json(run),
        "events": events_json(run),
        "failures": failures_json(run),
    });
    if !run.trace.caches.is_empty() {
        // The cluster as a whole: what its hit ratio saves the origins.
        let sum = |f: fn(&crate::trace::CacheRecord) -> u64| run.trace.caches.iter().map(f).sum();
        summary["caches"] = cache_json(
            sum(|c| c.hits),
            sum(|c| c.misses),
            sum(|c| c.evictions),
            sum(|c| c.objects),
        );
    }
    let mut text = serde_json::to_string_pretty(&summary).expect("a JSON value always serialises");
    text.push('\n');
    text
}

/// `servers`: what each web server served, and whom it saw as its clients.
fn servers_json(run: &RunReport<'_>, m: &Metrics) -> Map<String, Value> {
    let mut servers = Map::new();
    for (name, served) in &m.served {
        // Which addresses the server saw as its clients: the real clients behind an L4
        // balancer, the proxy behind an L7 one (which names the client in X-Forwarded-For).
        let node = run.node_names.iter().position(|n| n == name);
        let peers = run.trace.peers.iter().find(|p| Some(p.node) == node);
        let mut entry = json!({
            "served": served,
            "distinct_peers": peers.map_or(0, |p| p.peers.len()),
            "peer_sample": peers.and_then(|p| p.peers.first()).map(|ip| ip.to_string()),
            "forwarded_for": peers.map_or(0, |p| p.forwarded_for.len()),
        });
        // Only for a server that dropped SYNs with its accept queue full (Linux
        // `ListenOverflows`); a missing key reads as 0 in expectations.
        if let Some(drops) = run.trace.listen_drops.iter().find(|r| Some(r.node) == node) {
            entry["listen_drops"] = json!(drops.drops);
        }
        if let Some(cache) = run.trace.caches.iter().find(|c| Some(c.node) == node) {
            entry["cache"] = cache_json(cache.hits, cache.misses, cache.evictions, cache.objects);
        }
        servers.insert(name.clone(), entry);
    }
    servers
}

/// `proxies`: each L7 proxy's connections, busy time and where its pools sent requests.
fn proxies_json(run: &RunReport<'_>) -> Map<String, Value> {
    let mut proxies = Map::new();
    for totals in &run.trace.proxy_totals {
        let mut by_pool: std::collections::BTreeMap<
            String,
            std::collections::BTreeMap<String, u64>,
        > = std::collections::BTreeMap::new();
        for record in run.trace.proxy.iter().filter(|r| r.node == totals.node) {
            let target = match (&record.route.server, record.route.status) {
                (_, Some(status)) => format!("answered {status}"),
                (Some(server), None) => server.clone(),
                (None, None) => "none".to_string(),
            };
            *by_pool
                .entry(record.route.pool.clone())
                .or_default()
                .entry(target)
                .or_default() += 1;
        }
        let busy = totals.busy.as_secs_f64();
        let end = run.end.as_secs_f64().max(1e-9);
        proxies.insert(
            run.node_names[totals.node].clone(),
            json!({
                "client_connections": totals.client_connections,
                "server_connections": totals.server_connections,
                "busy_s": round3(busy),
                "cpu_utilisation": round3(busy / end),
                "requests_by_pool": by_pool,
            }),
        );
    }
    proxies
}

/// `pings`: each pinger's echoes and round-trip times.
fn pings_json(m: &Metrics) -> Vec<Value> {
    m.pings
        .iter()
        .map(|p| {
            let rtt = match p.rtt_ms {
                Some((min, mean, max)) => {
                    json!({ "min": round3(min), "mean": round3(mean), "max": round3(max) })
                }
                None => json!({ "min": null, "mean": null, "max": null }),
            };
            json!({
                "host": p.host, "target": p.target, "sent": p.sent, "received": p.received,
                "rtt_ms": rtt
            })
        })
        .collect()
}

/// `balancers`: each IPVS director's services and real servers, and its CPU when modelled.
fn balancers_json(run: &RunReport<'_>) -> Map<String, Value> {
    let mut balancers = Map::new();
    for balancer in &run.trace.balancers {
        let mut services = Map::new();
        for svc in &balancer.services {
            let mut servers = Map::new();
            for rs in &svc.real_servers {
                servers.insert(
                    rs.addr.clone(),
                    json!({ "forward": rs.forward, "weight": rs.weight, "connections": rs.connections }),
                );
            }
            services.insert(
                format!("TCP {}", svc.addr),
                json!({
                    "scheduler": svc.scheduler,
                    "no_destination": svc.no_destination,
                    "real_servers": servers,
                }),
            );
        }
        // Only with a modelled per-packet cost: the kernel's CPU time and backlog drops.
        let mut entry = json!({ "services": services });
        if let Some((busy, dropped)) = balancer.cpu {
            let run_s = run.end.as_secs_f64().max(1e-9);
            entry["cpu_utilisation"] = json!(round3(busy.as_secs_f64() / run_s));
            entry["frames_dropped_backlog"] = json!(dropped);
        }
        balancers.insert(run.node_names[balancer.node].clone(), entry);
    }
    balancers
}

/// `events`: the timeline (faults, actions, what nodes noticed), in time order.
fn events_json(run: &RunReport<'_>) -> Vec<Value> {
    run.trace
        .events
        .iter()
        .map(|e| {
            json!({
                "time_s": e.at.as_micros() as f64 / 1e6,
                "target": e.target,
                "event": e.event,
                "detail": e.detail,
            })
        })
        .collect()
}

/// `failures`: each injected failure, when it was detected and what users saw.
fn failures_json(run: &RunReport<'_>) -> Vec<Value> {
    let secs = |t: SimTime| t.as_micros() as f64 / 1e6;
    super::failures(run)
        .iter()
        .map(|f| {
            json!({
                "target": f.target,
                "event": f.event,
                "injected_s": secs(f.injected),
                "undone_s": f.undone.map(secs),
                "service": f.service,
                "server": f.server,
                "detected_s": f.detected.map(secs),
                "detection_s": f.detected.map(|d| secs(d) - secs(f.injected)).map(|x| (x * 1e6).round() / 1e6),
                "cause": f.cause,
                "readded_s": f.readded.map(secs),
                "first_ok_s": f.first_ok.map(secs),
                "failed_requests": f.failed_requests,
            })
        })
        .collect()
}

/// `dns`: each name server's questions, answers from its zone and its cache.
fn dns_json(run: &RunReport<'_>) -> Map<String, Value> {
    let mut dns = Map::new();
    let mut dns_nodes: Vec<usize> = run.trace.dns.iter().map(|d| d.node).collect();
    dns_nodes.sort_unstable();
    dns_nodes.dedup();
    for node in dns_nodes {
        let records: Vec<_> = run.trace.dns.iter().filter(|d| d.node == node).collect();
        let count = |event: DnsEvent| records.iter().filter(|d| d.event == event).count();
        let mut by_name: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
        for record in &records {
            *by_name.entry(record.name.as_str()).or_default() += 1;
        }
        dns.insert(
            run.node_names[node].clone(),
            json!({
                "questions": records.len(),
                "authoritative": count(DnsEvent::Authoritative),
                "cache_hits": count(DnsEvent::CacheHit),
                "cache_misses": count(DnsEvent::CacheMiss),
                "by_name": by_name,
            }),
        );
    }
    dns
}

/// `groups`: each client group's requests, which servers answered them, and latency.
fn groups_json(run: &RunReport<'_>) -> Map<String, Value> {
    let mut groups = Map::new();
    for (group, stats) in super::metrics::groups(run) {
        let mut served = Map::new();
        for (server, n) in run.server_names.iter().zip(&stats.served) {
            served.insert(server.clone(), json!(n));
        }
        // The busiest server's share of this group's responses (1/n would be perfectly even).
        let total: u64 = stats.served.iter().sum();
        let max_share = if total == 0 {
            0.0
        } else {
            round3(*stats.served.iter().max().unwrap_or(&0) as f64 / total as f64)
        };
        groups.insert(
            group,
            json!({
                "issued": stats.issued,
                "ok": stats.ok,
                "failed": stats.issued - stats.ok,
                "served": served,
                "max_share": max_share,
                "reused_connections": stats.reused_connections,
                "latency_ms": {
                    "p50": stats.p50_ms.map(round3),
                    "mean": stats.mean_ms.map(round3),
                },
            }),
        );
    }
    groups
}

/// A transparent cache's (or the cluster's) counters and hit ratio.
fn cache_json(hits: u64, misses: u64, evictions: u64, objects: u64) -> Value {
    let asked = hits + misses;
    let hit_ratio = if asked == 0 {
        0.0
    } else {
        round3(hits as f64 / asked as f64)
    };
    json!({
        "hits": hits,
        "misses": misses,
        "hit_ratio": hit_ratio,
        "evictions": evictions,
        "objects": objects,
    })
}

/// The contents of `ipvsadm.txt`: every snapshot of every balancer, in time order, or `None`
/// when the scenario has no balancer.
pub fn ipvsadm_txt(run: &RunReport<'_>) -> Option<String> {
    use std::fmt::Write;
    if run.trace.ipvsadm.is_empty() {
        return None;
    }
    let mut out = String::new();
    for snap in &run.trace.ipvsadm {
        // Writing into a String cannot fail.
        let _ = writeln!(
            out,
            "# {} at t={:.6}s\n$ ipvsadm -Ln\n{}\n$ ipvsadm -Ln --stats\n{}",
            run.node_names[snap.node],
            snap.at.as_secs_f64(),
            snap.list,
            snap.stats
        );
    }
    Some(out)
}

/// The contents of `events.csv`: faults and state changes in time order.
pub fn events_csv(run: &RunReport<'_>) -> String {
    let mut csv = csv_writer();
    write_row(&mut csv, ["time_s", "target", "event", "detail"]);
    for e in &run.trace.events {
        write_row(
            &mut csv,
            [
                format!("{:.6}", e.at.as_secs_f64()).as_str(),
                &e.target,
                &e.event,
                &e.detail,
            ],
        );
    }
    csv_text(csv)
}

/// A CSV writer into memory. The `csv` crate quotes a field only when it must (RFC 4180: a
/// comma, a quote or a line break inside), so ordinary fields come out exactly as written.
fn csv_writer() -> csv::Writer<Vec<u8>> {
    csv::Writer::from_writer(Vec::new())
}

/// Appends one row.
fn write_row<'a>(csv: &mut csv::Writer<Vec<u8>>, fields: impl IntoIterator<Item = &'a str>) {
    csv.write_record(fields)
        .expect("writing a CSV row into memory cannot fail");
}

/// The finished file.
fn csv_text(csv: csv::Writer<Vec<u8>>) -> String {
    let bytes = csv
        .into_inner()
        .expect("flushing a CSV writer into memory cannot fail");
    String::from_utf8(bytes).expect("CSV built from UTF-8 strings is UTF-8")
}

/// The requests kept in memory (all of them, unless the run kept only the first few), in
/// report order: by start time, then client, then the client's own order.
pub fn sorted_requests<'a>(run: &RunReport<'a>) -> Vec<&'a RequestRecord> {
    sorted_records(run.trace)
}

/// [`sorted_requests`] of a trace, while its run goes or after.
pub fn sorted_records(trace: &crate::trace::Trace) -> Vec<&RequestRecord> {
    let mut rows: Vec<&RequestRecord> = trace.requests.records().iter().collect();
    // The log releases them in this order already; sorting again costs one pass. The keys
    // are distinct (a client numbers its requests), so an unstable sort, which needs no
    // scratch copy, gives the same order.
    rows.sort_unstable_by_key(|r| (r.start, r.client_node, r.client_seq));
    rows
}

/// The contents of `requests.csv`, from the requests kept in memory. A run writes the file
/// row by row instead (`RequestRows`); this gives the same bytes.
pub fn requests_csv(run: &RunReport<'_>) -> String {
    let mut rows = super::RequestRows::in_memory(run.node_names, run.server_names);
    for (id, r) in sorted_requests(run).into_iter().enumerate() {
        rows.write(id as u64, r);
    }
    match rows.finish() {
        Ok(super::RowsDone::Text(text)) => text,
        _ => unreachable!("rows written into memory come back as text"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SimDuration;
    use crate::trace::{EventRecord, Outcome, Trace};

    /// A field that would shift the columns of a hand-written CSV file.
    const AWKWARD: &str = "web \"A\", rack 2\nsecond line";

    /// Every record of `text`, header first, as `csv::Reader` reads it back.
    fn read_back(text: &str) -> Vec<Vec<String>> {
        csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text.as_bytes())
            .records()
            .map(|record| {
                let record = record.expect("netlab writes well-formed CSV");
                record.iter().map(str::to_string).collect()
            })
            .collect()
    }

    fn report<'a>(
        trace: &'a Trace,
        node_names: &'a [String],
        server_names: &'a [String],
    ) -> RunReport<'a> {
        RunReport {
            scenario: "t",
            seed: 1,
            end: SimTime::ZERO + SimDuration::from_secs(2),
            trace,
            node_names,
            server_names,
            server_addrs: &[],
        }
    }

    #[test]
    fn an_awkward_event_field_stays_in_its_column() {
        let mut trace = Trace::default();
        for (target, detail) in [("lb", "plain"), (AWKWARD, AWKWARD), ("r1", "")] {
            trace.events.push(EventRecord {
                at: SimTime::ZERO + SimDuration::from_secs(1),
                target: target.to_string(),
                event: "crash".to_string(),
                detail: detail.to_string(),
            });
        }
        let text = events_csv(&report(&trace, &[], &[]));
        let rows = read_back(&text);
        assert_eq!(rows.len(), 4, "{text}");
        assert!(rows.iter().all(|row| row.len() == 4), "{rows:?}");
        assert_eq!(rows[2], ["1.000000", AWKWARD, "crash", AWKWARD]);
        // Fields that need no quotes are written as before, byte for byte.
        assert!(text.starts_with("time_s,target,event,detail\n1.000000,lb,crash,plain\n"));
        assert!(text.ends_with("\n1.000000,r1,crash,\n"), "{text}");
    }

    #[test]
    fn an_awkward_server_name_stays_in_its_column() {
        let mut trace = Trace::default();
        for (client_seq, server) in [(0, Some(0)), (1, Some(1)), (2, None)] {
            trace.request(RequestRecord {
                client_node: 0,
                client_seq,
                start: SimTime::ZERO + SimDuration::from_millis(100 * client_seq),
                end: SimTime::ZERO + SimDuration::from_millis(100 * client_seq + 5),
                outcome: if server.is_some() {
                    Outcome::Ok
                } else {
                    Outcome::Timeout
                },
                server,
                status: server.map(|_| 200),
                remote_ip: None,
                reused_connection: false,
            });
        }
        trace.finish_requests();
        let nodes = ["client, 1".to_string()];
        let servers = ["web1".to_string(), AWKWARD.to_string()];
        let text = requests_csv(&report(&trace, &nodes, &servers));
        let rows = read_back(&text);
        assert_eq!(rows.len(), 4, "{text}");
        assert!(rows.iter().all(|row| row.len() == 8), "{rows:?}");
        assert_eq!(rows[2][1], "client, 1");
        assert_eq!(rows[2][6], AWKWARD);
        assert_eq!(rows[3][5..], ["timeout", "", ""]);
    }
}
