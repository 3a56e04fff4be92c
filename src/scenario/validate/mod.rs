//! *Checking a scenario*: every semantic mistake, each with a position and a hint.
//!
//! Parsing only proves the file has the right shape. This pass checks that it makes sense as a
//! network: names are valid, unique and refer to things that exist, addresses are ones a
//! machine can have and sit inside their subnets, gateways and next hops are reachable,
//! quantities have valid units and stay within netlab's [`limits`], workloads end. It does not
//! stop at the first problem: a student fixing a file wants the whole list.
//!
//! The checks are grouped by what they check, so the checks of one node kind are in one file:
//!
//! | module | checks |
//! | --- | --- |
//! | `limits` | the largest and smallest value of every count, size and time |
//! | `names` | the characters a name may use |
//! | `checker` | `Checker`: collecting problems; durations, sizes, counts, list lengths |
//! | `addresses` | host addresses, MAC addresses, interfaces, gateways, routes, `hosts` |
//! | `wires` | segments, links and their physics; the capture |
//! | `router`, `vrrp` | routers, cold spares and VRRP instances |
//! | `host` | plain hosts and their pinger |
//! | `web_server` | web servers, ports and URL paths |
//! | `clients` | client groups, URLs and workloads |
//! | `l4_balancer`, `health_check` | IPVS directors, their services and keepalived's checkers |
//! | `l7_balancer` | reverse proxies and their pools |
//! | `dns` | DNS servers and resolvers |
//! | `monitor` | monitoring hosts and their probes |
//! | `faults` | the failure timeline |
//! | `actions` | operator actions, on the timeline and on a monitor's alarm |
//! | `expect` | expected outcomes: statements that parse, metrics the scenario has |
//!
//! Sizes come first: a scenario asking for a billion client hosts is refused before a single
//! name is built for them. On success `validate` returns the typed [`Scenario`] that `build`
//! turns into a world.

mod actions;
mod addresses;
mod checker;
mod clients;
mod dns;
mod expect;
mod faults;
mod health_check;
mod host;
mod l4_balancer;
mod l7_balancer;
pub mod limits;
mod monitor;
mod names;
mod router;
mod vrrp;
mod web_server;
mod wires;

use std::collections::BTreeSet;

use checker::Checker;
pub use clients::parse_url;
use faults::node_name;

use super::diagnostic::{Diagnostic, Locator};
use super::format::{NodeFile, ScenarioFile};
use super::model::{ActionSpec, NodeSpec, Scenario, SegmentSpec};
use super::spans::Step;
use crate::sim::SimTime;

/// Default run limit in virtual time.
const DEFAULT_MAX_SIM_TIME: &str = "1h";
/// Default run limit in events.
const DEFAULT_MAX_EVENTS: u64 = 200_000_000;

/// Checks a parsed file; returns the typed scenario or every problem found.
pub fn validate(file: &ScenarioFile, loc: &Locator<'_>) -> Result<Scenario, Vec<Diagnostic>> {
    match checked(file, loc) {
        (Some(scenario), problems) if problems.is_empty() => Ok(scenario),
        (_, problems) => Err(problems),
    }
}

/// Checks a parsed file and builds the typed scenario even where there are problems (a
/// refused value is replaced by its smallest allowed one); `None` when the scenario is too big
/// to build at all. Tests use it to feed the exports values `validate` refuses.
pub(crate) fn checked(
    file: &ScenarioFile,
    loc: &Locator<'_>,
) -> (Option<Scenario>, Vec<Diagnostic>) {
    let mut c = Checker::new(loc);
    c.name(&file.name, "scenario", None);
    // 1. Sizes, before anything is built for them.
    if !c.sizes(file) {
        return (None, c.problems);
    }
    // 2. When the run ends: nothing may start later.
    let max_sim_time = c.duration(
        file.limits.max_sim_time.as_deref(),
        DEFAULT_MAX_SIM_TIME,
        limits::SIM_TIME,
        None,
    );
    c.end = max_sim_time;
    // 3. and 4. Wires, the name table, node names; nodes, each by its kind.
    let (segments, mut nodes) = c.network(file);
    // 5. Capture, the event limit, the failure timeline.
    let capture_segments = c.capture(&file.capture);
    let (capture_filter, capture_snaplen) = c.capture_filter(&file.capture);
    let max_events = c.count(
        file.limits.max_events.unwrap_or(DEFAULT_MAX_EVENTS),
        "max_events",
        None,
        1,
        limits::MAX_EVENTS,
    );
    let faults = c.faults(&file.faults, &file.nodes);
    // 6. Operator actions, against the checked nodes.
    let actions = c.operator_actions(file, &mut nodes);
    let expect = c.within(&[Step::Field("expect")], |c| c.expect(&file.expect));
    c.needs_nodes(&nodes);
    let mut scenario = Scenario {
        source_file: loc.file().to_string(),
        name: file.name.clone(),
        description: file.description.clone(),
        seed: file.seed.unwrap_or(1),
        max_sim_time: SimTime::ZERO + max_sim_time,
        max_events,
        segments,
        nodes,
        hosts: std::mem::take(&mut c.hosts),
        capture_enabled: file.capture.enabled,
        capture_segments,
        capture_filter,
        capture_snaplen,
        faults,
        actions,
        expect: Vec::new(),
    };
    // Metrics name the scenario's servers, groups and faults: checked against the model.
    scenario.expect = c.within(&[Step::Field("expect")], |c| {
        c.expect_metrics(&file.expect, expect, &scenario)
    });
    (Some(scenario), without_repeats(c.problems))
}

/// How many machines the scenario's `nodes` run: one per node, a client group's `count` hosts
/// for a group.
fn machine_count(nodes: &[NodeFile]) -> u64 {
    nodes
        .iter()
        .map(|n| match n {
            NodeFile::Clients(g) => u64::from(g.count.unwrap_or(1)),
            _ => 1,
        })
        .sum()
}

/// The problems in order, each said once: a `check_timing` inherited by several checkers
/// would otherwise report its one mistake once per checker.
fn without_repeats(problems: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let mut seen = BTreeSet::new();
    problems
        .into_iter()
        .filter(|d| seen.insert((d.line, d.col, d.message.clone())))
        .collect()
}

impl Checker<'_> {
    /// The scenario's size: how many nodes, machines and wires. Returns `false` when it is
    /// too big to check any further.
    fn sizes(&mut self, file: &ScenarioFile) -> bool {
        let nodes_fit = self.list_len(file.nodes.len(), "nodes", None, limits::MAX_NODES);
        let wires_fit = self.wires_fit(file);
        self.description(&file.description);
        let machines = machine_count(&file.nodes);
        let mut fits = nodes_fit && wires_fit;
        if fits && machines > limits::MAX_HOSTS {
            self.too_many_machines(&file.nodes, machines);
            fits = false;
        }
        self.machines = machines;
        fits
    }

    /// Whether the segments and links together stay within [`limits::MAX_WIRES`]; the
    /// message points at the longer of the two lists.
    fn wires_fit(&mut self, file: &ScenarioFile) -> bool {
        let wires = file.segments.len() + file.links.len();
        if wires <= limits::MAX_WIRES {
            return true;
        }
        self.at_field(
            if file.segments.len() >= file.links.len() {
                "segments"
            } else {
                "links"
            },
            None,
            format!(
                "the scenario has {wires} segments and links; netlab takes at most {}",
                limits::MAX_WIRES
            ),
            "use fewer segments: one switch segment can hold any number of interfaces",
        );
        false
    }

    /// The description: one line or two, not empty (`netlab list` prints it).
    fn description(&mut self, description: &str) {
        if description.trim().is_empty() {
            self.at_field(
                "description",
                None,
                "the description is empty".into(),
                "say in one line what the scenario shows: `netlab list` prints it",
            );
        }
        if description.len() > limits::MAX_TEXT_LEN {
            self.at_field(
                "description",
                None,
                format!(
                    "the description has {} characters; netlab takes at most {}",
                    description.len(),
                    limits::MAX_TEXT_LEN
                ),
                "keep it to a line or two; explain more in comments",
            );
        }
    }

    /// More than [`limits::MAX_HOSTS`] `machines`: the message points at the biggest client
    /// group's `count`.
    fn too_many_machines(&mut self, nodes: &[NodeFile], machines: u64) {
        let biggest = nodes
            .iter()
            .filter_map(|n| match n {
                NodeFile::Clients(g) => Some(g),
                _ => None,
            })
            .max_by_key(|g| g.count.unwrap_or(1));
        self.at_field(
            "count",
            biggest.map(|g| g.name.as_str()),
            format!(
                "the scenario has {machines} machines, client hosts included; netlab runs at most {}",
                limits::MAX_HOSTS
            ),
            "use fewer client hosts: a few hosts with a higher rate load a server just as well",
        );
    }

    /// Steps 3 and 4 of [`checked`]: the wires, the `hosts` name table and the node names,
    /// then each node by its kind, then the links' ends (which name nodes).
    fn network(&mut self, file: &ScenarioFile) -> (Vec<SegmentSpec>, Vec<NodeSpec>) {
        let segments = self.wires(file);
        self.within(&[Step::Field("hosts")], |c| c.hosts_table(&file.hosts));
        self.node_names(&file.nodes);
        let nodes = file
            .nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| {
                self.within(&[Step::Field("nodes"), Step::Item(i)], |c| {
                    c.node(n, &file.nodes)
                })
            })
            .collect();
        self.link_ends(&segments);
        (segments, nodes)
    }

    /// The operator's actions, on the timeline and on a monitor's alarm, against the checked
    /// `nodes`; an alarm's reactions are added to its monitor's node.
    fn operator_actions(&mut self, file: &ScenarioFile, nodes: &mut [NodeSpec]) -> Vec<ActionSpec> {
        let added = actions::Added::collect(&file.actions, &file.nodes);
        self.alarm_reactions(&file.nodes, nodes, &added);
        self.actions(&file.actions, nodes, &file.nodes, &added)
    }

    /// A scenario with no nodes at all, said only when nothing else is wrong (refused nodes
    /// are not built, and their own messages say why).
    fn needs_nodes(&mut self, nodes: &[NodeSpec]) {
        if nodes.is_empty() && self.problems.is_empty() {
            self.at_field(
                "nodes",
                None,
                "the scenario has no nodes".into(),
                "add at least a web server and a client group",
            );
        }
    }

    /// Node names: valid, unique, and not the name of a client group's host (`web-1`).
    fn node_names(&mut self, nodes: &[NodeFile]) {
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        for (i, node) in nodes.iter().enumerate() {
            let name = node_name(node);
            let fresh = seen.insert(name);
            self.within(&[Step::Field("nodes"), Step::Item(i)], |c| {
                c.name(name, "node", None);
                if !fresh {
                    c.at_value(
                        name,
                        None,
                        format!("node name \"{name}\" is used twice"),
                        "give every node its own name",
                    );
                }
            });
        }
        // A group "web" of 3 hosts names them web-1, web-2 and web-3.
        for node in nodes {
            let NodeFile::Clients(group) = node else {
                continue;
            };
            let count = group.count.unwrap_or(1);
            for (j, other) in nodes.iter().map(node_name).enumerate() {
                let Some(number) = other
                    .strip_prefix(group.name.as_str())
                    .and_then(|rest| rest.strip_prefix('-'))
                else {
                    continue;
                };
                let is_host = !number.starts_with('0')
                    && number
                        .parse::<u32>()
                        .is_ok_and(|k| (1..=count).contains(&k));
                if is_host {
                    self.within(&[Step::Field("nodes"), Step::Item(j)], |c| {
                        c.at_value(
                            other,
                            None,
                            format!(
                                "node name \"{other}\" is also the name of a host of client group \"{}\"",
                                group.name
                            ),
                            "client groups name their hosts <group>-1, <group>-2, ...: rename the node or the group",
                        )
                    });
                }
            }
        }
    }

    /// One node, checked by its kind's module.
    fn node(&mut self, node: &NodeFile, files: &[NodeFile]) -> Option<NodeSpec> {
        match node {
            NodeFile::Router(r) => Some(self.router(r)),
            NodeFile::Host(h) => self.host(h),
            NodeFile::WebServer(w) => self.web_server(w),
            NodeFile::L4Balancer(b) => Some(self.l4_balancer(b)),
            NodeFile::DnsServer(d) => self.dns_server(d),
            NodeFile::L7Balancer(l) => self.l7_balancer(l),
            NodeFile::DnsResolver(d) => self.dns_resolver(d),
            NodeFile::Clients(group) => self.clients(group),
            NodeFile::Monitor(m) => self.monitor(m, files),
        }
    }
}
