//! The timeline: faults, operator actions and the monitors' reactions, their names turned
//! into node and segment indices.

use crate::scenario::model::{
    ActionSpec, ActionSpecKind, FaultKind, FaultSpec, NodeSpec, Scenario,
};
use crate::sim::SimTime;
use crate::world::{Action, ActionKind, Fault, FaultAction, Reaction, World};

/// Puts the scenario's faults, actions and reactions into `world`, whose nodes are named by
/// `node_names` (node index order).
pub(super) fn add(world: &mut World, scenario: &Scenario, node_names: &[String]) {
    for fault in &scenario.faults {
        world.add_fault(resolve_fault(scenario, fault, node_names));
    }
    for action in &scenario.actions {
        let at = SimTime::ZERO + action.at;
        world.add_action(resolve_action(action, Some(at), node_names));
    }
    add_reactions(world, scenario, node_names);
}

/// A checked fault with its names turned into node and segment indices.
fn resolve_fault(scenario: &Scenario, fault: &FaultSpec, node_names: &[String]) -> Fault {
    let node_index = |name: &str| {
        node_names
            .iter()
            .position(|n| n == name)
            .expect("validation checked that fault targets name nodes")
    };
    let segment_index = || {
        scenario
            .segments
            .iter()
            .position(|s| s.name == fault.target)
            .expect("validation checked that fault targets name segments")
    };
    let action = match &fault.kind {
        FaultKind::Crash => FaultAction::Crash {
            node: node_index(&fault.target),
        },
        FaultKind::InterfaceDown(iface) => FaultAction::InterfaceDown {
            node: node_index(&fault.target),
            iface: *iface,
        },
        FaultKind::LinkDown => FaultAction::LinkDown {
            segment: segment_index(),
        },
        FaultKind::Loss(rate) => FaultAction::Loss {
            segment: segment_index(),
            rate: *rate,
        },
        FaultKind::ExtraDelay(extra) => FaultAction::ExtraDelay {
            segment: segment_index(),
            extra: *extra,
        },
        FaultKind::Partition(a, b) => FaultAction::Partition {
            a: a.iter().map(|n| node_index(n)).collect(),
            b: b.iter().map(|n| node_index(n)).collect(),
        },
        FaultKind::StopVrrp => FaultAction::StopVrrp {
            node: node_index(&fault.target),
        },
        FaultKind::Service(mode) => FaultAction::Service {
            node: node_index(&fault.target),
            mode: *mode,
        },
    };
    Fault {
        at: SimTime::ZERO + fault.at,
        until: fault.until.map(|u| SimTime::ZERO + u),
        target: fault.target.clone(),
        action,
    }
}

/// A checked action with its node turned into an index; `at` puts it on the timeline.
fn resolve_action(action: &ActionSpec, at: Option<SimTime>, node_names: &[String]) -> Action {
    let node = node_names
        .iter()
        .position(|n| *n == action.node)
        .expect("validation checked that actions name nodes");
    Action {
        at,
        target: action.event_target.clone(),
        kind: match &action.kind {
            ActionSpecKind::PlugIn => ActionKind::PlugIn { node },
            ActionSpecKind::Command(command) => ActionKind::Command {
                node,
                command: command.clone(),
            },
        },
    }
}

/// Every monitor's `on_alarm` actions, waiting in the world for their probe's alarm.
fn add_reactions(world: &mut World, scenario: &Scenario, node_names: &[String]) {
    for spec in &scenario.nodes {
        let NodeSpec::Monitor { name, probes, .. } = spec else {
            continue;
        };
        let monitor = node_names
            .iter()
            .position(|n| n == name)
            .expect("every monitor was built");
        for (check, probe) in probes.iter().enumerate() {
            for reaction in &probe.on_alarm {
                let action = world.add_action(resolve_action(reaction, None, node_names));
                world.add_reaction(Reaction {
                    monitor,
                    check,
                    delay: reaction.at,
                    action,
                });
            }
        }
    }
}
