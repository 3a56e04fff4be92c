//! *Monitors*: a monitoring host, its probes, their timing and their `on_alarm` actions.
//!
//! A probe is checked with the node; its `on_alarm` actions name other nodes, so they are
//! checked afterwards, like the `actions` list ([`Checker::alarm_reactions`]).

use std::net::Ipv4Addr;

use super::actions::Added;
use super::checker::Checker;
use super::faults::node_name;
use super::limits;
use crate::app::{CheckTiming, CheckerConfig, Probe};
use crate::scenario::diagnostic::nearest;
use crate::scenario::format::{CheckFile, MonitorFile, NodeFile, ProbeFile, ProbeKindFile};
use crate::scenario::model::{NodeSpec, ProbeSpec};
use crate::scenario::spans::Step;
use crate::sim::SimDuration;

impl Checker<'_> {
    /// A `Monitor`, its `on_alarm` lists left for [`Checker::alarm_reactions`].
    pub fn monitor(&mut self, m: &MonitorFile, files: &[NodeFile]) -> Option<NodeSpec> {
        let name = m.name.as_str();
        let interface = self.single_interface(&m.interface, name);
        let gateway = self.gateway(m.gateway.as_deref(), interface.as_ref(), name);
        let probes = self.probes(m, files);
        Some(NodeSpec::Monitor {
            name: name.to_string(),
            interface: interface?,
            gateway,
            probes,
        })
    }

    /// The monitor's probes, each checked on its own (`probe`); none when the list is
    /// refused as too long.
    fn probes(&mut self, m: &MonitorFile, files: &[NodeFile]) -> Vec<ProbeSpec> {
        let name = m.name.as_str();
        if !self.list_len(m.probes.len(), "probes", Some(name), limits::MAX_LIST) {
            return Vec::new();
        }
        let depth = self.depth();
        let mut probes = Vec::new();
        for (k, p) in m.probes.iter().enumerate() {
            self.enter_at(depth, &[Step::Field("probes"), Step::Item(k)]);
            probes.push(self.probe(p, &m.probes[..k], files));
        }
        self.leave(depth);
        probes
    }

    /// One probe, after the `earlier` ones: its name (its own), its target, what it checks
    /// and when. Its `on_alarm` list is left empty for [`Checker::alarm_reactions`].
    fn probe(&mut self, p: &ProbeFile, earlier: &[ProbeFile], files: &[NodeFile]) -> ProbeSpec {
        self.name(&p.name, "probe", None);
        if earlier.iter().any(|other| other.name == p.name) {
            self.at_value(
                &p.name,
                None,
                format!("probe name \"{}\" is used twice", p.name),
                "give every probe of a monitor its own name: events are named after it",
            );
        }
        let target = self.probe_target(&p.target, files);
        let kind = self.check_kind(&probe_check(&p.kind), 80, None);
        let (timing, rise) = self.probe_timing(p);
        ProbeSpec {
            probe: Probe {
                name: p.name.clone(),
                checker: CheckerConfig {
                    kind,
                    target: target.unwrap_or(Ipv4Addr::UNSPECIFIED),
                    timing,
                    alpha: false,
                    rise,
                },
            },
            on_alarm: Vec::new(),
        }
    }

    /// When a probe runs, as a checker's timing: every `interval` (60 s), again after
    /// `retry_interval` (the interval) while it fails, each try given `timeout` (10 s); the
    /// alarm is raised after `fail_after` failures (3) and cleared after `clear_after`
    /// successes (1), which it returns beside the timing.
    fn probe_timing(&mut self, p: &ProbeFile) -> (CheckTiming, u32) {
        let interval = self.duration(p.interval.as_deref(), "60s", limits::DELAY_LOOP, None);
        let retry_interval = match &p.retry_interval {
            Some(text) => self.duration(Some(text), "0s", limits::DELAY_LOOP, None),
            None => interval,
        };
        let timeout = self.duration(p.timeout.as_deref(), "10s", limits::TIMEOUT, None);
        let max = limits::MAX_PROBE_COUNT;
        let fail_after = self.count(p.fail_after.unwrap_or(3), "fail_after", None, 1, max);
        let clear_after = self.count(p.clear_after.unwrap_or(1), "clear_after", None, 1, max);
        let timing = CheckTiming {
            delay_loop: interval,
            connect_timeout: timeout,
            retry: fail_after.saturating_sub(1),
            delay_before_retry: retry_interval,
            warmup: SimDuration::ZERO,
        };
        (timing, clear_after)
    }

    /// What a probe checks: an address, a `hosts` name, or a node (its first address).
    fn probe_target(&mut self, text: &str, files: &[NodeFile]) -> Option<Ipv4Addr> {
        if let Some(node) = files.iter().find(|n| node_name(n) == text) {
            let address = first_address(node);
            if address.is_none() {
                self.at_value(
                    text,
                    None,
                    format!("\"{text}\" has no address of its own to probe"),
                    "probe one of its hosts' addresses, or another node",
                );
            }
            return address;
        }
        if text.parse::<Ipv4Addr>().is_ok() || self.hosts.contains_key(text) {
            return self.resolve_target(text, "probes");
        }
        let mut help =
            "a probe checks an IPv4 address, a node (its first address) or a `hosts` name"
                .to_string();
        let names = files
            .iter()
            .map(node_name)
            .chain(self.hosts.keys().map(String::as_str));
        if let Some(near) = nearest(text, names) {
            help.push_str(&format!("; did you mean \"{near}\"?"));
        }
        self.at_value(text, None, format!("cannot resolve \"{text}\""), help);
        None
    }

    /// Every monitor's `on_alarm` lists, checked once all nodes are, and attached to their
    /// probes in `nodes`.
    pub fn alarm_reactions(&mut self, files: &[NodeFile], nodes: &mut [NodeSpec], added: &Added) {
        for (i, file) in files.iter().enumerate() {
            let NodeFile::Monitor(m) = file else {
                continue;
            };
            let mut lists = Vec::new();
            for (k, p) in m.probes.iter().enumerate().take(limits::MAX_LIST) {
                let path = [
                    Step::Field("nodes"),
                    Step::Item(i),
                    Step::Field("probes"),
                    Step::Item(k),
                ];
                let list = self.within(&path, |c| {
                    if !c.list_len(p.on_alarm.len(), "on_alarm", None, limits::MAX_LIST) {
                        return Vec::new();
                    }
                    p.on_alarm
                        .iter()
                        .enumerate()
                        .filter_map(|(r, reaction)| {
                            c.within(&[Step::Field("on_alarm"), Step::Item(r)], |c| {
                                let delay =
                                    c.duration(Some(&reaction.after), "0s", limits::WAIT, None);
                                c.action(
                                    &reaction.target,
                                    &reaction.action,
                                    delay,
                                    nodes,
                                    files,
                                    added,
                                )
                            })
                        })
                        .collect()
                });
                lists.push(list);
            }
            let Some(NodeSpec::Monitor { probes, .. }) =
                nodes.iter_mut().find(|n| n.name() == m.name.as_str())
            else {
                continue;
            };
            for (probe, list) in probes.iter_mut().zip(lists) {
                probe.on_alarm = list;
            }
        }
    }
}

/// What a probe of `kind` checks, written as a real server's health check.
fn probe_check(kind: &ProbeKindFile) -> CheckFile {
    match kind {
        ProbeKindFile::Ping => CheckFile::PingCheck,
        ProbeKindFile::Tcp { port } => CheckFile::TcpCheck { port: Some(*port) },
        ProbeKindFile::Http { port, path, status } => CheckFile::HttpGet {
            path: path.clone(),
            status: status.clone(),
            port: *port,
        },
    }
}

/// The address of a node's first interface, as written (`"10.0.0.1/24"`); `None` for a
/// client group, whose hosts each have their own.
fn first_address(node: &NodeFile) -> Option<Ipv4Addr> {
    let text = match node {
        NodeFile::Router(r) => &r.interfaces.first()?.ip,
        NodeFile::L4Balancer(b) => &b.interfaces.first()?.ip,
        NodeFile::Host(h) => &h.interface.ip,
        NodeFile::WebServer(w) => &w.interface.ip,
        NodeFile::DnsServer(d) => &d.interface.ip,
        NodeFile::DnsResolver(d) => &d.interface.ip,
        NodeFile::L7Balancer(l) => &l.interface.ip,
        NodeFile::Monitor(m) => &m.interface.ip,
        NodeFile::Clients(_) => return None,
    };
    text.split('/').next()?.parse().ok()
}
