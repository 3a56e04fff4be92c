//! *Operator actions*: what a person does to the system during a run.
//!
//! The timeline holds faults (accidents, see `fault.rs`) and actions (decisions). An action
//! happens at a virtual time, or a reaction delay after a monitor's alarm, and is not undone:
//! undoing it is another action.
//!
//! | action | what it models | how the world applies it |
//! |---|---|---|
//! | `PlugIn` | the spare's cables go in (cold standby) | every port of the node goes up, and the node hears "link up" |
//! | `Command` | `ipvsadm -e/-a/-d`, a zone edit, a VRRP priority | handed to the node (`Node::operate`) |
//!
//! Every action is recorded in the trace, so in `events.csv`, under its own name
//! (`set_weight`, `plug_in`...).
//!
//! # Simplifications
//! - An action on a crashed node does nothing but is still recorded, with the detail
//!   "node is down" (even a `PlugIn`: the cables of a machine without power stay out).
//!
//! # Further reading
//! - `book/src/reference/scenario.md`, "Actions"; `book/src/labs/redundancy.md`, "Lab 1".

use crate::node::{Command, ZoneEdit};
use crate::sim::{SimDuration, SimTime};

/// What an action does, with its target resolved to an index.
#[derive(Clone, Debug, PartialEq)]
pub enum ActionKind {
    /// Plug every interface of `node` in.
    PlugIn {
        /// The node.
        node: usize,
    },
    /// Hand `command` to `node`.
    Command {
        /// The node.
        node: usize,
        /// What to do there.
        command: Command,
    },
}

/// One operator action.
#[derive(Clone, Debug, PartialEq)]
pub struct Action {
    /// When it happens, if it is on the timeline (`None`: only when an alarm pages for it).
    pub at: Option<SimTime>,
    /// What `events.csv` names as its target (`r1-spare`, `lb1/10.0.1.12:80`, `dns1/www.example`).
    pub target: String,
    /// What happens.
    pub kind: ActionKind,
}

impl Action {
    /// The event name written to `events.csv`: the action's name in the scenario file, in
    /// snake case.
    pub fn event_name(&self) -> &'static str {
        match &self.kind {
            ActionKind::PlugIn { .. } => "plug_in",
            ActionKind::Command { command, .. } => match command {
                Command::SetWeight { .. } => "set_weight",
                Command::AddServer { .. } => "add_server",
                Command::RemoveServer { .. } => "remove_server",
                Command::Zone(ZoneEdit::RemoveRecord { .. }) => "remove_record",
                Command::Zone(ZoneEdit::AddRecord { .. }) => "add_record",
                Command::Zone(ZoneEdit::SetTtl { .. }) => "set_ttl",
                Command::SetPriority { .. } => "set_priority",
            },
        }
    }

    /// The node the action is done to.
    pub fn node(&self) -> usize {
        match self.kind {
            ActionKind::PlugIn { node } | ActionKind::Command { node, .. } => node,
        }
    }
}

/// A monitor's alarm pages the operator, who does `action` `delay` later.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reaction {
    /// The monitor node.
    pub monitor: usize,
    /// Its check whose alarm triggers the reaction.
    pub check: usize,
    /// The operator's reaction time.
    pub delay: SimDuration,
    /// Index of the action in the world's list.
    pub action: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_are_named_as_in_the_file() {
        let action = Action {
            at: None,
            target: "lb1/10.0.1.12:80".into(),
            kind: ActionKind::Command {
                node: 1,
                command: Command::SetWeight {
                    service: 0,
                    addr: std::net::Ipv4Addr::new(10, 0, 1, 12),
                    port: 80,
                    weight: 0,
                },
            },
        };
        assert_eq!(action.event_name(), "set_weight");
        assert_eq!(action.node(), 1);
    }
}
