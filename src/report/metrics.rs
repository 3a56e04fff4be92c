//! *Metrics*: counts, shares and latency percentiles computed from the trace.
//!
//! Latency is measured for requests whose outcome is `ok`, from the moment the client decided
//! to send to the moment the last byte of the response arrived. Percentiles use the
//! *nearest-rank* method: p95 is the smallest latency that at least 95% of requests did not
//! exceed.

use super::RunReport;
use crate::trace::{Outcome, RequestRecord};

/// Latency summary in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LatencyStats {
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Arithmetic mean.
    pub mean: f64,
}

/// One pinging host's results.
#[derive(Clone, Debug, PartialEq)]
pub struct PingStats {
    /// Host name.
    pub host: String,
    /// Address pinged.
    pub target: String,
    /// Echo requests sent.
    pub sent: u64,
    /// Replies received.
    pub received: u64,
    /// Round-trip times in ms: (min, mean, max), if any reply came.
    pub rtt_ms: Option<(f64, f64, f64)>,
}

/// The numbers every report shows.
#[derive(Clone, Debug, PartialEq)]
pub struct Metrics {
    /// Requests started.
    pub issued: u64,
    /// Requests per outcome, in `Outcome::ALL` order.
    pub by_outcome: Vec<(Outcome, u64)>,
    /// Latency of `ok` requests, if there were any.
    pub latency: Option<LatencyStats>,
    /// Responses received per server, in server order.
    pub served: Vec<(String, u64)>,
    /// Ping results per pinging host, in node order.
    pub pings: Vec<PingStats>,
}

impl Metrics {
    /// Computes the metrics of a run.
    pub fn of(run: &RunReport<'_>) -> Metrics {
        let tally = run.trace.requests.tally();
        let by_outcome = Outcome::ALL.iter().map(|&o| (o, tally.count(o))).collect();
        let latencies_ms = tally.sorted_latencies_ms();
        let latency = (!latencies_ms.is_empty()).then(|| LatencyStats {
            p50: percentile(&latencies_ms, 50.0),
            p95: percentile(&latencies_ms, 95.0),
            p99: percentile(&latencies_ms, 99.0),
            mean: latencies_ms.iter().sum::<f64>() / latencies_ms.len() as f64,
        });
        let served = run
            .server_names
            .iter()
            .enumerate()
            .map(|(index, name)| (name.clone(), tally.served.get(index).copied().unwrap_or(0)))
            .collect();
        Metrics {
            issued: tally.issued,
            by_outcome,
            latency,
            served,
            pings: ping_stats(run),
        }
    }

    /// Requests that ended `ok`.
    pub fn ok(&self) -> u64 {
        self.count(Outcome::Ok)
    }

    /// Requests that did not end `ok`.
    pub fn failed(&self) -> u64 {
        self.issued - self.ok()
    }

    /// Requests with outcome `outcome`.
    pub fn count(&self, outcome: Outcome) -> u64 {
        self.by_outcome
            .iter()
            .find(|(o, _)| *o == outcome)
            .map_or(0, |&(_, n)| n)
    }
}

/// One client group's requests.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GroupStats {
    /// Requests started.
    pub issued: u64,
    /// Requests that ended `ok`.
    pub ok: u64,
    /// Responses received per server, in server order.
    pub served: Vec<u64>,
    /// Requests sent on a kept-alive connection (no new handshake).
    pub reused_connections: u64,
    /// Median latency of the `ok` requests, in milliseconds.
    pub p50_ms: Option<f64>,
    /// Mean latency of the `ok` requests, in milliseconds.
    pub mean_ms: Option<f64>,
}

/// The client group a client host belongs to: its name without the `-<n>` suffix.
pub fn group_of(host: &str) -> &str {
    match host.rsplit_once('-') {
        Some((group, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => group,
        _ => host,
    }
}

/// Requests per client group, in name order.
pub fn groups(run: &RunReport<'_>) -> Vec<(String, GroupStats)> {
    let mut groups: std::collections::BTreeMap<String, (GroupStats, Vec<f64>)> =
        std::collections::BTreeMap::new();
    for (&node, client) in &run.trace.requests.tally().clients {
        let group = group_of(&run.node_names[node]).to_string();
        let (stats, latencies) = groups.entry(group).or_insert_with(|| {
            let stats = GroupStats {
                served: vec![0; run.server_names.len()],
                ..GroupStats::default()
            };
            (stats, Vec::new())
        });
        stats.issued += client.issued;
        stats.ok += client.ok;
        latencies.extend(client.latencies.iter().map(|d| d.as_millis_f64()));
        for (server, n) in client.served.iter().enumerate() {
            stats.served[server] += n;
        }
        stats.reused_connections += client.reused;
    }
    groups
        .into_iter()
        .map(|(name, (mut stats, mut latencies))| {
            // No scratch copy, the same order (see `Tally::sorted_latencies_ms`).
            latencies.sort_unstable_by(f64::total_cmp);
            if !latencies.is_empty() {
                stats.p50_ms = Some(percentile(&latencies, 50.0));
                stats.mean_ms = Some(latencies.iter().sum::<f64>() / latencies.len() as f64);
            }
            (name, stats)
        })
        .collect()
}

/// A request's latency in milliseconds.
pub fn latency_ms(r: &RequestRecord) -> f64 {
    (r.end - r.start).as_millis_f64()
}

/// Nearest-rank percentile of sorted values (`p` in 0–100). Empty input gives 0.
///
/// # Examples
/// ```
/// use netlab::report::percentile;
/// let sorted = [1.0, 2.0, 3.0, 4.0];
/// assert_eq!(percentile(&sorted, 50.0), 2.0);
/// assert_eq!(percentile(&sorted, 99.0), 4.0);
/// ```
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Ping results grouped by host, in node order.
fn ping_stats(run: &RunReport<'_>) -> Vec<PingStats> {
    let mut hosts: Vec<usize> = run.trace.pings.iter().map(|p| p.host_node).collect();
    hosts.sort_unstable();
    hosts.dedup();
    hosts
        .into_iter()
        .map(|host| {
            let pings: Vec<_> = run
                .trace
                .pings
                .iter()
                .filter(|p| p.host_node == host)
                .collect();
            let rtts: Vec<f64> = pings
                .iter()
                .filter_map(|p| p.replied.map(|at| (at - p.sent).as_millis_f64()))
                .collect();
            let rtt_ms = (!rtts.is_empty()).then(|| {
                let min = rtts.iter().copied().fold(f64::INFINITY, f64::min);
                let max = rtts.iter().copied().fold(0.0, f64::max);
                (min, rtts.iter().sum::<f64>() / rtts.len() as f64, max)
            });
            PingStats {
                host: run.node_names[host].clone(),
                target: pings[0].target.clone(),
                sent: pings.len() as u64,
                received: rtts.len() as u64,
                rtt_ms,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_hosts_belong_to_their_group() {
        assert_eq!(group_of("pc-12"), "pc");
        assert_eq!(group_of("users-a-3"), "users-a");
        assert_eq!(group_of("alice"), "alice");
        assert_eq!(group_of("web-x"), "web-x");
    }

    #[test]
    fn nearest_rank_percentiles() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 50.0), 50.0);
        assert_eq!(percentile(&values, 95.0), 95.0);
        assert_eq!(percentile(&values, 99.0), 99.0);
        assert_eq!(percentile(&[7.0], 99.0), 7.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }
}
