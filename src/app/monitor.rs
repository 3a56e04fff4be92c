//! *Monitoring*: a Nagios- or Zabbix-like host that probes addresses and raises alarms.
//!
//! A balancer's health checks act on their own; a monitor only tells a person. Each probe
//! checks one address every `interval`, with an ICMP echo (is the machine there?), a TCP
//! connection (does something listen?) or an HTTP GET (does the service answer well?):
//!
//! 1. a failed check is retried every `retry_interval`; after `fail_after` failures in a row
//!    the probe raises an **alarm** (Nagios: the service enters a HARD problem state);
//! 2. while the alarm stands, checks go on every `interval`; after `clear_after` successes in
//!    a row the alarm is **cleared**.
//!
//! Both are events (`alarm`, `alarm_cleared`, target `monitor/probe`). An alarm also pages
//! the operator: the world carries out the probe's `on_alarm` actions, each after its
//! reaction delay. So the outage of a cold standby is *detection* (about `interval` plus
//! `(fail_after − 1) × retry_interval`) plus *reaction* plus the spare's own start-up.
//!
//! The probes are keepalived's checkers ([`HealthChecker`]), run with the monitor's timing.
//!
//! # Simplifications
//! - The first check runs 1 s after start-up, for every probe.
//! - No notification channel, escalation or acknowledgement: an alarm pages at once.
//!
//! # Further reading
//! - Nagios Core documentation, "Service and host check scheduling" and "State types";
//!   `book/src/labs/redundancy.md`, "Lab 1".

use super::health_check::{CheckerConfig, HealthBoard, HealthChecker};
use crate::node::{App, AppCtx};
use crate::sim::{SimTime, Stream};

/// One probe: its name for events and its checker's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Probe {
    /// Name in events (`monitor/name`).
    pub name: String,
    /// What to check and when; `timing.retry` is `fail_after − 1`, `rise` is `clear_after`.
    pub checker: CheckerConfig,
}

/// The monitoring application.
pub struct Monitor {
    /// The monitor node's name, the first half of every event target.
    node_name: String,
    /// The probes' names, in order.
    probe_names: Vec<String>,
    /// The probes' `fail_after`, for the events' words.
    fail_after: Vec<u32>,
    /// The checks themselves.
    checker: HealthChecker,
    /// Where the checks post their verdicts.
    board: HealthBoard,
}

impl Monitor {
    /// A monitor named `node_name` running `probes`. `rng` is the checker's warm-up stream;
    /// a probe's warm-up is zero, so nothing is drawn from it.
    pub fn new(node_name: &str, probes: Vec<Probe>, rng: &mut Stream) -> Monitor {
        let board = HealthBoard::default();
        let probe_names = probes.iter().map(|p| p.name.clone()).collect();
        let fail_after = probes.iter().map(|p| p.checker.timing.retry + 1).collect();
        let configs = probes.into_iter().map(|p| p.checker).collect();
        Monitor {
            node_name: node_name.to_string(),
            probe_names,
            fail_after,
            checker: HealthChecker::new(configs, board.clone(), rng),
            board,
        }
    }

    /// Turns the checker's verdicts into alarms: an event each, and a page for a raised one.
    fn report(&mut self, cx: &mut AppCtx<'_>) {
        let verdicts: Vec<_> = self.board.borrow_mut().drain(..).collect();
        for verdict in verdicts {
            let probe = verdict.checker;
            let target = format!("{}/{}", self.node_name, self.probe_names[probe]);
            // The checker says why in keepalived's words ("PING_CHECK: ..."); keep the why.
            let why = verdict
                .cause
                .split_once(": ")
                .map_or(verdict.cause.as_str(), |(_, why)| why);
            if verdict.up {
                cx.trace.event(
                    cx.now,
                    &target,
                    "alarm_cleared",
                    "check passes again".into(),
                );
            } else {
                // keepalived's field is `connect_timeout`; a probe's is `timeout`.
                let why = why.replace("connect_timeout", "timeout");
                let n = self.fail_after[probe];
                let checks = if n == 1 { "check" } else { "checks" };
                let detail = format!("{n} failed {checks} in a row; last: {why}");
                cx.trace.event(cx.now, &target, "alarm", detail);
                cx.alarms.push(probe);
            }
        }
    }
}

impl App for Monitor {
    fn poll(&mut self, cx: &mut AppCtx<'_>) -> bool {
        let acted = self.checker.poll(cx);
        self.report(cx);
        acted
    }

    fn next_timer(&self) -> Option<SimTime> {
        self.checker.next_timer()
    }

    fn crash(&mut self) {
        // A rebooted monitor forgets its alarms and starts counting again.
        self.checker.crash();
        self.board.borrow_mut().clear();
    }
}
