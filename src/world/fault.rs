//! *Failure injection*: the faults of a scenario's timeline.
//!
//! A fault happens at a virtual time and may be undone later (`until`). Each kind names what a
//! real operator or a real accident does:
//!
//! | fault | what it models | undo |
//! |---|---|---|
//! | `Crash` | power loss: the node answers nothing and forgets its state | reboot with empty tables |
//! | `InterfaceDown` | a cable pulled from one interface | plugged back |
//! | `LinkDown` | a whole segment or link fails | repaired |
//! | `Loss` | a noisy link drops a share of frames | the old loss rate |
//! | `ExtraDelay` | a congested or rerouted path | the old delay |
//! | `Partition` | two groups of nodes cannot reach each other | healed |
//! | `Service` | the web process stops, hangs, returns errors, or slows down | back to normal |
//! | `StopVrrp` | keepalived stopped cleanly: a priority-0 advert, the VIPs released | restarted |
//!
//! The world applies them (`World::apply_fault`); every application is recorded in the trace
//! and so in `events.csv`.
//!
//! # Simplifications
//! - A partition drops frames between the two groups on every segment, whatever the topology.

use crate::node::ServiceMode;
use crate::sim::{SimDuration, SimTime};

/// What a fault does, with its targets resolved to indices.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultAction {
    /// A node loses power.
    Crash {
        /// The node.
        node: usize,
    },
    /// One interface of a node is unplugged.
    InterfaceDown {
        /// The node.
        node: usize,
        /// Its interface.
        iface: usize,
    },
    /// Every port of a segment or link goes down.
    LinkDown {
        /// The segment.
        segment: usize,
    },
    /// A segment's loss probability changes.
    Loss {
        /// The segment.
        segment: usize,
        /// The new loss probability.
        rate: f64,
    },
    /// A segment's one-way delay grows.
    ExtraDelay {
        /// The segment.
        segment: usize,
        /// How much longer.
        extra: SimDuration,
    },
    /// Frames between the two groups are dropped.
    Partition {
        /// One side (node indices).
        a: Vec<usize>,
        /// The other side.
        b: Vec<usize>,
    },
    /// A node's VRRP instances shut down cleanly (priority 0); undone, they start again.
    StopVrrp {
        /// The node.
        node: usize,
    },
    /// A node's service changes behaviour.
    Service {
        /// The node.
        node: usize,
        /// How it behaves until the fault is undone.
        mode: ServiceMode,
    },
}

/// One fault of the timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    /// When it happens.
    pub at: SimTime,
    /// When it is undone, if ever.
    pub until: Option<SimTime>,
    /// The scenario's name for the target (node or segment), for `events.csv`.
    pub target: String,
    /// What happens.
    pub action: FaultAction,
}

impl Fault {
    /// The event names written to `events.csv` when the fault is applied and when it is undone.
    pub fn event_names(&self) -> (&'static str, &'static str) {
        match &self.action {
            FaultAction::Crash { .. } => ("crash", "restore"),
            FaultAction::InterfaceDown { .. } => ("interface_down", "interface_up"),
            FaultAction::LinkDown { .. } => ("link_down", "link_up"),
            FaultAction::Loss { .. } => ("loss", "loss_cleared"),
            FaultAction::ExtraDelay { .. } => ("extra_delay", "delay_cleared"),
            FaultAction::Partition { .. } => ("partition", "partition_healed"),
            FaultAction::StopVrrp { .. } => ("vrrp_shutdown", "vrrp_restart"),
            FaultAction::Service { mode, .. } => (
                match mode {
                    ServiceMode::Normal => "service_normal",
                    ServiceMode::Stopped => "service_stop",
                    ServiceMode::Hung => "service_hang",
                    ServiceMode::Errors(_) => "service_errors",
                    ServiceMode::Slow(_) => "service_slow",
                },
                "service_start",
            ),
        }
    }

    /// Parameters worth writing next to the event name.
    pub fn detail(&self) -> String {
        match &self.action {
            FaultAction::InterfaceDown { iface, .. } => format!("interface {iface}"),
            FaultAction::Loss { rate, .. } => format!("loss {rate}"),
            FaultAction::ExtraDelay { extra, .. } => format!("+{extra}"),
            FaultAction::Partition { a, b } => format!("{} node(s) | {} node(s)", a.len(), b.len()),
            FaultAction::Service {
                mode: ServiceMode::Errors(status),
                ..
            } => {
                format!("status {status}")
            }
            FaultAction::Service {
                mode: ServiceMode::Slow(factor),
                ..
            } => {
                format!("x{factor}")
            }
            _ => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_name_their_events() {
        let fault = Fault {
            at: SimTime::ZERO,
            until: None,
            target: "web1".into(),
            action: FaultAction::Service {
                node: 3,
                mode: ServiceMode::Errors(503),
            },
        };
        assert_eq!(fault.event_names(), ("service_errors", "service_start"));
        assert_eq!(fault.detail(), "status 503");
    }
}
