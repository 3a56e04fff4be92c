//! *Failures as users saw them*: for each injected fault, when the balancer noticed, and how
//! many requests failed meanwhile.
//!
//! For a fault on a web server, there is one record per virtual service that has the server
//! in its pool (one for both directors of a VRRP pair, which run the same service):
//! - `injected`: when the fault happened (from `events.csv`);
//! - `detected`: when that service's health checks took the server out (`server_down`), or
//!   never: a check that cannot see this kind of failure *misses* it;
//! - `failed_requests`: requests to that service's VIP that started between injection and
//!   detection (or the fault's end, or the run's end, if it was never detected) and failed;
//! - `readded`: when the server came back into the pool (`server_up`) after detection.
//!
//! A fault on a web server behind an L7 proxy (no L4 service) has one record, detected when
//! the proxy's checks take the server out.
//!
//! For other faults (a router crash, a link down) there is one record without a service, and
//! `failed_requests` counts every failed request that started while the fault lasted, or
//! until another node became VRRP master (the VIPs' takeover: `detected`, with the taking
//! instance in `server`).
//!
//! Faults applied at time zero are initial conditions (a cold spare kept unplugged) and get
//! no record.
//!
//! Every record also has `first_ok`: when the first request started after detection (or
//! after the fault) succeeded, i.e. when users had service again.

use std::net::Ipv4Addr;

use super::RunReport;
use crate::sim::SimTime;
use crate::trace::EventRecord;

/// Events that inject a fault, and the event that undoes each.
pub const FAULT_EVENTS: [(&str, &str); 11] = [
    ("vrrp_shutdown", "vrrp_restart"),
    ("crash", "restore"),
    ("interface_down", "interface_up"),
    ("link_down", "link_up"),
    ("loss", "loss_cleared"),
    ("extra_delay", "delay_cleared"),
    ("partition", "partition_healed"),
    ("service_stop", "service_start"),
    ("service_hang", "service_start"),
    ("service_errors", "service_start"),
    ("service_slow", "service_start"),
];

/// One fault as the users and the balancer experienced it.
#[derive(Clone, Debug, PartialEq)]
pub struct FailureRecord {
    /// What the fault hit.
    pub target: String,
    /// What it was (`crash`, `service_stop`...).
    pub event: String,
    /// When it happened.
    pub injected: SimTime,
    /// When it was undone, if it was.
    pub undone: Option<SimTime>,
    /// The virtual service (`VIP:port`) this record is about, for faults on a real server.
    pub service: Option<String>,
    /// The real server (`address:port`).
    pub server: Option<String>,
    /// When the balancer took the server out, if it did.
    pub detected: Option<SimTime>,
    /// Why it did (the checker's words).
    pub cause: Option<String>,
    /// When the server came back into the pool.
    pub readded: Option<SimTime>,
    /// Requests that failed meanwhile (see the module doc).
    pub failed_requests: u64,
    /// When the first request started after detection (or after the fault, if undetected)
    /// completed successfully: service as users see it again.
    pub first_ok: Option<SimTime>,
}

/// The failure records of a run, in the order the faults happened.
pub fn failures(run: &RunReport<'_>) -> Vec<FailureRecord> {
    let events = &run.trace.events;
    let mut records = Vec::new();
    for (index, event) in events.iter().enumerate() {
        let Some(&(_, undo_name)) = FAULT_EVENTS.iter().find(|(name, _)| *name == event.event)
        else {
            continue;
        };
        // A fault in force from the start is an initial condition (a spare still in its
        // cupboard), not a failure.
        if event.at == SimTime::ZERO {
            continue;
        }
        let fault = Fault {
            event,
            undone: events[index + 1..]
                .iter()
                .find(|e| e.target == event.target && e.event == undo_name)
                .map(|e| e.at),
            server_ip: run
                .server_names
                .iter()
                .position(|n| *n == event.target)
                .and_then(|i| run.server_addrs.get(i).copied()),
        };
        let services = fault
            .server_ip
            .map_or(Vec::new(), |ip| services_of(run, ip));
        if services.is_empty() {
            records.push(node_record(run, &fault));
        }
        for (service, server) in services {
            records.push(service_record(run, &fault, service, server));
        }
    }
    records
}

/// One injected fault, as `failures` finds it in the events.
struct Fault<'a> {
    /// The event that injected it.
    event: &'a EventRecord,
    /// When it was undone, if it was.
    undone: Option<SimTime>,
    /// The address of the web server it hit, if it hit one.
    server_ip: Option<Ipv4Addr>,
}

impl Fault<'_> {
    /// A record of this fault, with nothing yet about its detection.
    fn record(&self, failed_requests: u64, first_ok: Option<SimTime>) -> FailureRecord {
        FailureRecord {
            target: self.event.target.clone(),
            event: self.event.event.clone(),
            injected: self.event.at,
            undone: self.undone,
            service: None,
            server: None,
            detected: None,
            cause: None,
            readded: None,
            failed_requests,
            first_ok,
        }
    }
}

/// The virtual services (`VIP:port`) that have the server at `ip` in their pool, each with
/// that real server (`address:port`). Directors that run the same service (a VRRP pair) give
/// it one entry, detected by the first of their checks that takes the server out.
fn services_of(run: &RunReport<'_>, ip: Ipv4Addr) -> Vec<(String, String)> {
    let mut services: Vec<(String, String)> = run
        .trace
        .balancers
        .iter()
        .flat_map(|b| &b.services)
        .flat_map(|svc| {
            svc.real_servers
                .iter()
                .filter(move |rs| rs.addr.starts_with(&format!("{ip}:")))
                .map(move |rs| (svc.addr.clone(), rs.addr.clone()))
        })
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    services.retain(|pair| seen.insert(pair.clone()));
    services
}

/// The record of a fault that no L4 service sees as a server's: a VRRP master that fails is
/// "detected" when another node takes its VIPs over; a web server behind an L7 proxy, when
/// the proxy's checks take it out. Every failed request counts, whatever it asked.
fn node_record(run: &RunReport<'_>, fault: &Fault<'_>) -> FailureRecord {
    let event = fault.event;
    let prefix = format!("{}/", event.target);
    let by_address = fault.server_ip.map(|ip| format!("/{ip}:"));
    let takeover = run.trace.events.iter().find(|e| {
        e.at >= event.at
            && fault.undone.is_none_or(|u| e.at <= u)
            && match &by_address {
                Some(address) => e.event == "server_down" && e.target.contains(address),
                None => e.event == "vrrp_master" && !e.target.starts_with(&prefix),
            }
    });
    let detected = takeover.map(|e| e.at);
    let until = detected.or(fault.undone).unwrap_or(run.end);
    FailureRecord {
        server: takeover.map(|e| e.target.clone()),
        detected,
        cause: takeover.map(|e| e.detail.clone()),
        ..fault.record(
            failed_between(run, None, event.at, until),
            first_ok_after(run, detected.unwrap_or(event.at)),
        )
    }
}

/// The record of a fault on real server `server` of virtual service `service`: detected
/// when that service's checks took the server out while the fault lasted (a later
/// `server_down` belongs to a later fault); the failed requests are those to its VIP.
fn service_record(
    run: &RunReport<'_>,
    fault: &Fault<'_>,
    service: String,
    server: String,
) -> FailureRecord {
    let events = &run.trace.events;
    let at = fault.event.at;
    let down = first_after(events, at, "server_down", &server)
        .filter(|e| fault.undone.is_none_or(|u| e.at <= u));
    let detected = down.map(|e| e.at);
    let readded = detected.and_then(|d| first_after(events, d, "server_up", &server).map(|e| e.at));
    let vip: Option<Ipv4Addr> = service.split(':').next().and_then(|ip| ip.parse().ok());
    let until = detected.or(fault.undone).unwrap_or(run.end);
    FailureRecord {
        service: Some(service),
        server: Some(server),
        detected,
        cause: down.map(|e| e.detail.clone()),
        readded,
        ..fault.record(
            failed_between(run, vip, at, until),
            first_ok_after(run, detected.unwrap_or(at)),
        )
    }
}

/// The end of the first successful request that started at or after `from`.
fn first_ok_after(run: &RunReport<'_>, from: SimTime) -> Option<SimTime> {
    run.trace.requests.first_ok_after(from)
}

/// The first `event` about real server `server` at or after `from`.
fn first_after<'a>(
    events: &'a [EventRecord],
    from: SimTime,
    event: &str,
    server: &str,
) -> Option<&'a EventRecord> {
    events
        .iter()
        .find(|e| e.at >= from && e.event == event && e.target.ends_with(&format!("/{server}")))
}

/// Failed requests (to `vip`, if given) that started in `[from, until)`.
fn failed_between(
    run: &RunReport<'_>,
    vip: Option<Ipv4Addr>,
    from: SimTime,
    until: SimTime,
) -> u64 {
    run.trace
        .requests
        .tally()
        .failed
        .iter()
        .filter(|&&(start, _)| start >= from && start < until)
        .filter(|&&(_, remote_ip)| vip.is_none() || remote_ip == vip)
        .count() as u64
}
