//! *Failure attribution*: which fault, check or state change explains a failed request.
//!
//! The run's event list (`events.csv`) is the failure timeline: faults injected and undone,
//! servers taken out of and put back into a pool by health checks, quorum lost and regained,
//! VRRP masters changing.
//! For a request that failed, the causes are:
//!
//! 1. the faults **in force** while it ran: injected before its end and not undone before its
//!    start (the pairs of inject and undo events are `report::FAULT_EVENTS`);
//! 2. the state changes **during** it (a server taken out, a new VRRP master);
//! 3. for a fault on the very server the director chose, when the health checks noticed it:
//!    the gap between the fault and the `server_down` is the time in which requests still went
//!    to a dead server.
//!
//! The verdict's one sentence comes from the outcome and, for `refused`, from the director's
//! own record: a "no destination" answer says why nothing could be picked.
//!
//! # Simplifications
//! - Causes are matched by time, and by name only for the chosen server; a fault elsewhere in
//!   the network during the request is listed but not proven guilty.
//!
//! # Further reading
//! - `report::failures`, which counts the same timeline per fault; `book/src/asking-why.md`.

use serde::Serialize;

use super::story::{Names, Verdict, seconds};
use crate::report::FAULT_EVENTS;
use crate::trace::decision::{L4Pick, unavailable};
use crate::trace::{EventRecord, Outcome, RequestRecord};

/// One fault or state change that may explain a failure.
#[derive(Clone, Debug, Serialize)]
pub struct Cause {
    /// When, in nanoseconds of virtual time.
    pub time_ns: u64,
    /// What it happened to (a node, a segment, `director/address:port`).
    pub target: String,
    /// The event's word (`crash`, `server_down`...).
    pub event: String,
    /// The event's detail.
    pub detail: String,
    /// One sentence.
    pub text: String,
    /// Whether it is a fault on the server the director chose, or a health check's verdict
    /// on that server.
    pub on_chosen: bool,
}

/// The verdict on `request`, whose scheduling decisions are `picks`, from the failure
/// timeline `events` (the trace's events).
pub fn verdict(
    events: &[EventRecord],
    names: &Names<'_>,
    request: &RequestRecord,
    picks: &[&L4Pick],
) -> Verdict {
    let last_pick = picks.last().copied();
    let mut reason = reason(names, request, last_pick);
    let causes = if request.outcome == Outcome::Ok {
        Vec::new()
    } else {
        causes(events, names, request, last_pick)
    };
    // The likeliest cause: a fault on the very server the director chose.
    if let Some(guilty) = causes
        .iter()
        .find(|c| c.on_chosen && c.event != "server_down")
    {
        reason.push_str(&format!(
            "; {}: {} (fault) at {} s",
            guilty.target,
            guilty.event,
            seconds(crate::sim::SimTime::from_nanos(guilty.time_ns))
        ));
        if let Some(noticed) = causes
            .iter()
            .find(|c| c.on_chosen && c.event == "server_down")
        {
            reason.push_str(&format!(
                ", and the health checks took it out only at {} s",
                seconds(crate::sim::SimTime::from_nanos(noticed.time_ns))
            ));
        }
    }
    Verdict {
        outcome: request.outcome.as_str(),
        reason,
        causes,
    }
}

/// The one sentence for the outcome.
fn reason(names: &Names<'_>, request: &RequestRecord, pick: Option<&L4Pick>) -> String {
    let server = request.server.map(|s| names.servers[s].as_str());
    let status = request.status.unwrap_or(0);
    match request.outcome {
        Outcome::Ok => format!("{} answered {status}", server.unwrap_or("the server")),
        Outcome::HttpError => format!(
            "{} answered with the error status {status}",
            server.unwrap_or("the server")
        ),
        Outcome::Refused => match pick {
            Some(pick) if pick.chosen.is_none() => format!(
                "the director had no server to offer ({}), so it answered ICMP port \
                 unreachable, which the client reports as refused",
                no_destination_why(names, pick)
            ),
            _ => "the SYN was answered with a reset: nothing listened on the port (a stopped \
                  service), or every connection slot of the server was busy"
                .to_string(),
        },
        Outcome::Reset => "the connection was reset or closed after it was established, \
                           before the whole response arrived"
            .to_string(),
        Outcome::Timeout => match pick.and_then(|p| p.chosen.map(|i| &p.candidates[i])) {
            Some(dest) => format!(
                "no complete response came within the client's timeout; the director had sent \
                 the connection to {}",
                names.server_at(dest.addr)
            ),
            None => "no complete response came within the client's timeout".to_string(),
        },
        Outcome::Unreachable => "an ICMP destination-unreachable came back (no route, or no \
                                 ARP answer for the next hop), or the name is in no table"
            .to_string(),
        Outcome::DnsError => {
            "the name could not be resolved (NXDOMAIN, SERVFAIL, or no answer)".to_string()
        }
    }
}

/// Why a scheduling found no destination: every candidate's reason, or an empty service.
pub fn no_destination_why(names: &Names<'_>, pick: &L4Pick) -> String {
    if pick.candidates.is_empty() {
        return "the service has no real servers".to_string();
    }
    let reasons: Vec<String> = pick
        .candidates
        .iter()
        .map(|d| {
            let why = unavailable(d)
                .map_or("eligible, yet not picked by the scheduler's rule", |u| {
                    super::narrate::unavailable_words(u)
                });
            format!("{} {why}", names.server_at(d.addr))
        })
        .collect();
    reasons.join(", ")
}

/// Steps 1–3 of the module doc, earliest first.
fn causes(
    events: &[EventRecord],
    names: &Names<'_>,
    request: &RequestRecord,
    pick: Option<&L4Pick>,
) -> Vec<Cause> {
    let chosen = pick.and_then(|p| p.chosen.map(|i| &p.candidates[i]));
    let chosen_name = chosen.map(|d| names.server_at(d.addr));
    let mut found: Vec<&EventRecord> = Vec::new();
    for (index, event) in events.iter().enumerate() {
        if event.at > request.end {
            break;
        }
        let during = event.at >= request.start;
        // 1. A fault injected before the start counts if it was not undone before the start.
        let in_force = FAULT_EVENTS
            .iter()
            .find(|(inject, _)| *inject == event.event)
            .is_some_and(|(_, undo)| {
                !events[index + 1..].iter().any(|later| {
                    later.target == event.target && later.event == *undo && later.at < request.start
                })
            });
        if during || in_force {
            found.push(event);
        }
    }
    // 3. When the checks noticed a fault on the chosen server (perhaps after the request).
    if let (Some(dest), Some(name)) = (chosen, &chosen_name) {
        let injected = found
            .iter()
            .filter(|e| &e.target == name && FAULT_EVENTS.iter().any(|(i, _)| *i == e.event))
            .map(|e| e.at)
            .min();
        let suffix = format!("/{}:{}", dest.addr, dest.port);
        if let Some(injected) = injected
            && let Some(noticed) = events.iter().find(|e| {
                e.at >= injected && e.event == "server_down" && e.target.ends_with(&suffix)
            })
            && !found.iter().any(|e| std::ptr::eq(*e, noticed))
        {
            found.push(noticed);
        }
    }
    found.sort_by_key(|e| e.at);
    let chosen_key = chosen.map(|d| {
        (
            chosen_name.as_deref().unwrap_or(""),
            format!("/{}:{}", d.addr, d.port),
        )
    });
    found
        .into_iter()
        .map(|event| {
            cause(
                event,
                request,
                chosen_key.as_ref().map(|(n, s)| (*n, s.as_str())),
            )
        })
        .collect()
}

/// One event as a cause, with its sentence; `chosen` is the chosen server's name and its
/// `/address:port` suffix in the health-check events.
fn cause(event: &EventRecord, request: &RequestRecord, chosen: Option<(&str, &str)>) -> Cause {
    let when = if event.at < request.start {
        format!(
            "{:.3} s before the request started",
            (request.start - event.at).as_secs_f64()
        )
    } else if event.at <= request.end {
        "while the request ran".to_string()
    } else {
        format!(
            "{:.3} s after the request ended",
            (event.at - request.end).as_secs_f64()
        )
    };
    let is_fault = FAULT_EVENTS.iter().any(|(i, _)| *i == event.event);
    let hits_chosen = chosen.is_some_and(|(name, _)| event.target == name);
    let checks_chosen = chosen.is_some_and(|(_, suffix)| event.target.ends_with(suffix));
    let mut text = format!(
        "{} {} ({}) at {} s, {when}",
        event.target,
        event.event,
        if is_fault { "fault" } else { "state change" },
        seconds(event.at)
    );
    if !event.detail.is_empty() {
        text.push_str(&format!(": {}", event.detail));
    }
    if hits_chosen && is_fault {
        text.push_str("; this is the server the director chose");
    }
    if event.event == "server_down" && event.at > request.end {
        text.push_str("; until then the director still sent new connections to it");
    }
    Cause {
        time_ns: event.at.as_nanos(),
        target: event.target.clone(),
        event: event.event.clone(),
        detail: event.detail.clone(),
        text,
        on_chosen: (hits_chosen && is_fault) || checks_chosen,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::scheduler::Destination;
    use crate::sim::SimDuration;
    use std::net::Ipv4Addr;

    fn at(secs: u64) -> crate::sim::SimTime {
        crate::sim::SimTime::ZERO + SimDuration::from_secs(secs)
    }

    fn event(secs: u64, target: &str, what: &str) -> EventRecord {
        EventRecord {
            at: at(secs),
            target: target.to_string(),
            event: what.to_string(),
            detail: String::new(),
        }
    }

    #[test]
    fn only_faults_in_force_and_changes_during_the_request_are_causes() {
        let web1 = Ipv4Addr::new(10, 0, 2, 11);
        let servers = ["web1".to_string()];
        let names = Names {
            nodes: &[],
            servers: &servers,
            server_addrs: &[web1],
            segments: &[],
        };
        let events = [
            event(1, "web2", "crash"),
            event(2, "web2", "restore"),
            event(5, "web1", "crash"),
            event(20, "lb/10.0.2.11:80", "server_down"),
            event(30, "web1", "restore"),
        ];
        let request = RequestRecord {
            client_node: 0,
            client_seq: 0,
            start: at(10),
            end: at(12),
            outcome: Outcome::Timeout,
            server: None,
            status: None,
            remote_ip: None,
            reused_connection: false,
        };
        let pick = L4Pick {
            client: (Ipv4Addr::new(192, 0, 2, 1), 40000),
            vip: (Ipv4Addr::new(10, 0, 1, 100), 80),
            scheduler: "rr",
            candidates: vec![Destination::new(web1, 80, 1)],
            state: crate::ipvs::scheduler::SchedulerState::Stateless,
            template: None,
            chosen: Some(0),
            forward: None,
        };
        let found = causes(&events, &names, &request, Some(&pick));
        let words: Vec<(&str, &str)> = found
            .iter()
            .map(|c| (c.target.as_str(), c.event.as_str()))
            .collect();
        // web2's crash was over before the request; web1's was in force, and the check that
        // noticed it came after the request.
        assert_eq!(
            words,
            vec![("web1", "crash"), ("lb/10.0.2.11:80", "server_down")]
        );
        assert!(found.iter().all(|c| c.on_chosen));
    }
}
