//! *Faults*: the failure timeline. Each fault names something that exists and can suffer it,
//! happens inside the run, and is undone (if at all) after it happens.

use super::checker::Checker;
use super::limits;
use crate::node::ServiceMode;
use crate::scenario::diagnostic::nearest;
use crate::scenario::format::{FaultEventFile, FaultFile, NodeFile};
use crate::scenario::model::{FaultKind, FaultSpec};
use crate::scenario::spans::Step;
use crate::sim::SimDuration;

impl Checker<'_> {
    /// The `faults` list.
    pub fn faults(&mut self, faults: &[FaultFile], nodes: &[NodeFile]) -> Vec<FaultSpec> {
        if !self.list_len(faults.len(), "faults", None, limits::MAX_LIST) {
            return Vec::new();
        }
        faults
            .iter()
            .enumerate()
            .filter_map(|(i, f)| {
                self.within(&[Step::Field("faults"), Step::Item(i)], |c| {
                    c.fault(f, nodes)
                })
            })
            .collect()
    }

    /// One fault: its times, its target's kind, its parameters.
    fn fault(&mut self, f: &FaultFile, nodes: &[NodeFile]) -> Option<FaultSpec> {
        let at = self.start_time(Some(&f.at), None);
        if f.iface.is_some() && !matches!(f.event, FaultEventFile::InterfaceDown) {
            self.at_field(
                "iface",
                None,
                "`iface` means something only to InterfaceDown".into(),
                "remove `iface`, or make the event InterfaceDown",
            );
        }
        let until = f
            .until
            .as_deref()
            .map(|u| self.duration(Some(u), "0s", limits::TIME, None));
        if let Some(u) = until
            && u <= at
        {
            self.at_value(
                f.until.as_deref().unwrap_or_default(),
                None,
                format!("fault on \"{}\" is undone before it happens", f.target),
                "`until` must be later than `at`",
            );
        }
        let kind = match &f.event {
            FaultEventFile::Crash => self.crash(f, nodes)?,
            FaultEventFile::InterfaceDown => self.interface_down(f, nodes)?,
            FaultEventFile::LinkDown | FaultEventFile::Loss(_) | FaultEventFile::ExtraDelay(_) => {
                self.wire_fault(f, nodes)?
            }
            FaultEventFile::Partition { a, b } => self.partition(f, a, b, nodes)?,
            FaultEventFile::StopVrrp => self.stop_vrrp(f, nodes)?,
            FaultEventFile::StopService => self.service_fault(f, nodes, ServiceMode::Stopped)?,
            FaultEventFile::HangService => self.service_fault(f, nodes, ServiceMode::Hung)?,
            FaultEventFile::ServiceErrors(status) => {
                let mode = self.error_status(*status);
                self.service_fault(f, nodes, mode)?
            }
            FaultEventFile::SlowService(factor) => {
                let mode = self.slow_down(*factor);
                self.service_fault(f, nodes, mode)?
            }
        };
        Some(FaultSpec {
            at,
            until,
            target: f.target.clone(),
            kind,
        })
    }

    /// Reports that `f` names no node; `what` says what the fault needs.
    fn unknown_node(&mut self, f: &FaultFile, nodes: &[NodeFile], what: &str) {
        let mut help = format!("{what} names a node");
        if let Some(near) = nearest(&f.target, nodes.iter().map(node_name)) {
            help.push_str(&format!("; did you mean \"{near}\"?"));
        }
        self.at_value(
            &f.target,
            None,
            format!("unknown node \"{}\"", f.target),
            help,
        );
    }

    /// `Crash`: any node but a client group.
    fn crash(&mut self, f: &FaultFile, nodes: &[NodeFile]) -> Option<FaultKind> {
        match find(nodes, &f.target) {
            None => {
                self.unknown_node(f, nodes, "a crash");
                None
            }
            Some(NodeFile::Clients(_)) => {
                self.at_value(
                    &f.target,
                    None,
                    format!(
                        "\"{}\" is a client group; only servers and network nodes can crash",
                        f.target
                    ),
                    "crash a web server, router or balancer",
                );
                None
            }
            Some(_) => Some(FaultKind::Crash),
        }
    }

    /// `InterfaceDown`: an interface the node has.
    fn interface_down(&mut self, f: &FaultFile, nodes: &[NodeFile]) -> Option<FaultKind> {
        let Some(node) = find(nodes, &f.target) else {
            self.unknown_node(f, nodes, "an interface fault");
            return None;
        };
        let count = match node {
            NodeFile::Router(r) => r.interfaces.len(),
            NodeFile::L4Balancer(b) => b.interfaces.len(),
            NodeFile::Clients(_) => {
                self.at_value(
                    &f.target,
                    None,
                    format!("\"{}\" is a client group; its hosts' interfaces cannot be taken down one by one", f.target),
                    "take down the segment the group is attached to (LinkDown), or a router's interface",
                );
                return None;
            }
            _ => 1,
        };
        let iface = f.iface.unwrap_or(0) as usize;
        if iface >= count {
            self.at_field(
                "iface",
                Some(&f.target),
                format!(
                    "\"{}\" has {count} interface(s); there is no interface {iface}",
                    f.target
                ),
                "interfaces are numbered from 0 in the order the node lists them",
            );
        }
        Some(FaultKind::InterfaceDown(iface))
    }

    /// `LinkDown`, `Loss` and `ExtraDelay`: a segment or link.
    fn wire_fault(&mut self, f: &FaultFile, nodes: &[NodeFile]) -> Option<FaultKind> {
        if !self.segments.contains_key(&f.target) {
            if find(nodes, &f.target).is_some() {
                self.at_value(
                    &f.target,
                    None,
                    format!(
                        "\"{}\" is a node; LinkDown, Loss and ExtraDelay target a segment or link",
                        f.target
                    ),
                    "name the segment or link, or use Crash or InterfaceDown on the node",
                );
            } else {
                self.unknown_segment(&f.target, None);
            }
            return None;
        }
        Some(match &f.event {
            FaultEventFile::Loss(rate) => {
                if !(0.0..=1.0).contains(rate) {
                    self.at_field(
                        "Loss",
                        None,
                        format!("loss {rate} is not a probability"),
                        "write a number between 0 and 1",
                    );
                }
                FaultKind::Loss(*rate)
            }
            FaultEventFile::ExtraDelay(d) => {
                let before = self.problems.len();
                let delay = self.duration(Some(d), "0s", limits::WIRE_DELAY, None);
                if delay == SimDuration::ZERO && self.problems.len() == before {
                    self.at_value(
                        d,
                        None,
                        "ExtraDelay(\"0s\") adds no delay".into(),
                        "give the extra one-way delay, such as ExtraDelay(\"200ms\")",
                    );
                }
                FaultKind::ExtraDelay(delay)
            }
            _ => FaultKind::LinkDown,
        })
    }

    /// `Partition`: two sides, neither empty, no node on both.
    fn partition(
        &mut self,
        f: &FaultFile,
        a: &[String],
        b: &[String],
        nodes: &[NodeFile],
    ) -> Option<FaultKind> {
        if a.is_empty() || b.is_empty() {
            self.at_value(
                &f.target,
                None,
                "a partition needs a node on each side".into(),
                "list the nodes cut off from each other, such as Partition(a: [\"lb1\"], b: [\"lb2\"])",
            );
            return None;
        }
        if let Some(both) = a.iter().find(|n| b.contains(n)) {
            self.at_value(
                both,
                None,
                format!("\"{both}\" is on both sides of the partition"),
                "a node can be on one side only",
            );
            return None;
        }
        Some(FaultKind::Partition(
            self.partition_side(a, nodes),
            self.partition_side(b, nodes),
        ))
    }

    /// One side of a `Partition`: node names, client groups expanded to their hosts.
    fn partition_side(&mut self, names: &[String], nodes: &[NodeFile]) -> Vec<String> {
        let mut out = Vec::new();
        if !self.list_len(names.len(), "Partition", None, limits::MAX_NODES) {
            return out;
        }
        for name in names {
            match find(nodes, name) {
                Some(NodeFile::Clients(g)) => {
                    let count = g.count.unwrap_or(1).min(limits::MAX_HOSTS as u32);
                    out.extend((1..=count).map(|i| format!("{}-{i}", g.name)));
                }
                Some(_) => out.push(name.clone()),
                None => {
                    let mut help = "a partition lists node names".to_string();
                    if let Some(near) = nearest(name, nodes.iter().map(node_name)) {
                        help.push_str(&format!("; did you mean \"{near}\"?"));
                    }
                    self.at_value(name, None, format!("unknown node \"{name}\""), help);
                }
            }
        }
        out
    }

    /// `StopVrrp`: a node that runs VRRP.
    fn stop_vrrp(&mut self, f: &FaultFile, nodes: &[NodeFile]) -> Option<FaultKind> {
        match find(nodes, &f.target) {
            Some(NodeFile::Router(r)) if !r.vrrp.is_empty() => Some(FaultKind::StopVrrp),
            Some(NodeFile::L4Balancer(b)) if !b.vrrp.is_empty() => Some(FaultKind::StopVrrp),
            None => {
                self.unknown_node(f, nodes, "a VRRP shutdown");
                None
            }
            Some(_) => {
                self.at_value(
                    &f.target,
                    None,
                    format!("\"{}\" runs no VRRP instance", f.target),
                    "StopVrrp applies to routers and balancers with a `vrrp` list",
                );
                None
            }
        }
    }

    /// A service fault (`mode`): its target must be a web server.
    fn service_fault(
        &mut self,
        f: &FaultFile,
        nodes: &[NodeFile],
        mode: ServiceMode,
    ) -> Option<FaultKind> {
        match find(nodes, &f.target) {
            Some(NodeFile::WebServer(_)) => Some(FaultKind::Service(mode)),
            None => {
                self.unknown_node(f, nodes, "a service fault");
                None
            }
            Some(_) => {
                self.at_value(
                    &f.target,
                    None,
                    format!("\"{}\" runs no web service", f.target),
                    "service faults apply to WebServer nodes",
                );
                None
            }
        }
    }

    /// `ServiceErrors(status)`: an HTTP error status (0 or 200 would count as success).
    fn error_status(&mut self, status: u16) -> ServiceMode {
        if !(400..=599).contains(&status) {
            self.at_field(
                "ServiceErrors",
                None,
                format!("{status} is not an HTTP error status"),
                "a failing server answers 400 to 599, such as ServiceErrors(503)",
            );
        }
        ServiceMode::Errors(status)
    }

    /// `SlowService(factor)`: how many times slower, positive and bounded.
    fn slow_down(&mut self, factor: f64) -> ServiceMode {
        if !(factor.is_finite() && factor > 0.0 && factor <= limits::MAX_SLOW_FACTOR) {
            self.at_field(
                "SlowService",
                None,
                format!(
                    "slow-down factor {factor} must be positive and at most {}",
                    limits::MAX_SLOW_FACTOR
                ),
                "write how many times slower the service gets, such as SlowService(5.0)",
            );
        }
        ServiceMode::Slow(factor)
    }
}

/// The node named `name`.
fn find<'n>(nodes: &'n [NodeFile], name: &str) -> Option<&'n NodeFile> {
    nodes.iter().find(|n| node_name(n) == name)
}

/// The name of any node kind.
pub(super) fn node_name(node: &NodeFile) -> &str {
    match node {
        NodeFile::Router(r) => &r.name,
        NodeFile::Host(h) => &h.name,
        NodeFile::WebServer(w) => &w.name,
        NodeFile::Clients(g) => &g.name,
        NodeFile::L4Balancer(b) => &b.name,
        NodeFile::DnsServer(d) => &d.name,
        NodeFile::DnsResolver(d) => &d.name,
        NodeFile::L7Balancer(l) => &l.name,
        NodeFile::Monitor(m) => &m.name,
    }
}
