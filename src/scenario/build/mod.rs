//! *Building a world* from a checked scenario.
//!
//! Each wire becomes a `net::Segment`, each node a `node::Host` or `node::Router`, each client
//! group `count` hosts running an `app::HttpClient`. Interfaces without a MAC in the file get
//! a locally administered one derived from the node's position (`02:00:00:NN:NN:II`), so MACs
//! are stable and readable in captures.
//!
//! Every random stream is named after what it serves (`"segment:lan/to:web:0"`,
//! `"client:pc-3"`), so adding a node leaves the others' random numbers unchanged.
//!
//! Nodes are built in file order (a node's index is its place in the world), one kind per
//! file, as `validate` checks them:
//! - `routers`: a `Router`, and an `L4Balancer` (a router with virtual services, health
//!   checks, connection sync);
//! - `hosts`: the single-interface hosts and their applications (`Host`, `WebServer`,
//!   `DnsServer`, `L7Balancer`, `DnsResolver`, `Monitor`);
//! - `clients`: a `Clients` group, one host per client;
//! - `timeline`: faults, operator actions and the monitors' reactions, with names turned
//!   into node and segment indices.

mod clients;
mod hosts;
mod routers;
mod timeline;

use std::net::Ipv4Addr;
use std::rc::Rc;

use smoltcp::wire::EthernetAddress;

use super::model::{InterfaceSpec, NodeSpec, Scenario};
use crate::capture::{Capture, CaptureOptions, OwnedNames, Plan};
use crate::net::Segment;
use crate::node::{Host, HostConfig, Node, prefix_mask};
use crate::sim::Streams;
use crate::world::{Limits, World};

/// A world ready to run, and the names reports need.
pub struct Built {
    /// The world.
    pub world: World,
    /// Node names by node index (client hosts as `<group>-<n>`).
    pub node_names: Vec<String>,
    /// Web server names, in file order (`RequestRecord::server` indexes this).
    pub server_names: Vec<String>,
    /// Web server addresses, same order.
    pub server_addrs: Vec<Ipv4Addr>,
}

/// Builds the world for `scenario` with root seed `seed`; `capture_all` turns the capture on
/// for every segment (the `--pcap` flag), kept in memory.
pub fn build(scenario: &Scenario, seed: u64, capture_all: bool) -> Built {
    build_capturing(scenario, seed, CaptureOptions::memory(capture_all))
}

/// [`build`], with the capture `capture` asks for (on top of the scenario's own).
pub fn build_capturing(scenario: &Scenario, seed: u64, capture: CaptureOptions) -> Built {
    let mut builder = Builder::new(scenario, seed);
    for spec in &scenario.nodes {
        builder.add_node(spec);
    }
    let Builder {
        mut world,
        node_names,
        server_names,
        ..
    } = builder;
    timeline::add(&mut world, scenario, &node_names);
    let mut built = Built {
        world,
        node_names,
        server_names: server_names.to_vec(),
        server_addrs: scenario.web_server_addrs(),
    };
    if let Some(plan) = Plan::new(scenario, &capture) {
        let names = OwnedNames {
            nodes: built.node_names.clone(),
            servers: built.server_names.clone(),
            server_addrs: built.server_addrs.clone(),
            segments: built.world.segment_names(),
        };
        let recorder = Capture::new(&plan, capture.sink, scenario.segments.len(), names);
        built.world.enable_capture(&plan, recorder);
    }
    built
}

/// The world being built, and what building one node needs from the others.
struct Builder<'a> {
    /// The checked scenario.
    scenario: &'a Scenario,
    /// The run's named random streams.
    streams: Streams,
    /// The world, its wires in place, its nodes added in file order.
    world: World,
    /// Node names by node index, so far.
    node_names: Vec<String>,
    /// Web server names, in file order (clients report which one answered).
    server_names: Rc<Vec<String>>,
}

impl<'a> Builder<'a> {
    /// A world with the scenario's wires and no node yet.
    fn new(scenario: &'a Scenario, seed: u64) -> Builder<'a> {
        let mut world = World::new(Limits {
            max_sim_time: scenario.max_sim_time,
            max_events: scenario.max_events,
        });
        for spec in &scenario.segments {
            world.add_segment(Segment::new(spec.name.clone(), spec.kind, spec.config));
        }
        Builder {
            scenario,
            streams: Streams::new(seed),
            world,
            node_names: Vec::new(),
            server_names: Rc::new(scenario.web_server_names()),
        }
    }

    /// Adds the node (or, for a client group, the nodes) `spec` describes.
    fn add_node(&mut self, spec: &NodeSpec) {
        let index = self.world.next_node_index();
        let host = match spec {
            NodeSpec::Router { .. } => return self.add_router(index, spec),
            NodeSpec::L4Balancer { .. } => return self.add_l4_balancer(index, spec),
            NodeSpec::Clients { .. } => return self.add_clients(spec),
            NodeSpec::Host { .. } => self.plain_host(index, spec),
            NodeSpec::WebServer { .. } => self.web_server(index, spec),
            NodeSpec::DnsServer { .. } => self.dns_server(index, spec),
            NodeSpec::L7Balancer { .. } => self.l7_balancer(index, spec),
            NodeSpec::DnsResolver { .. } => self.dns_resolver(index, spec),
            NodeSpec::Monitor { .. } => self.monitor(index, spec),
        };
        let interface = single_interface(spec).expect("a host kind has one interface");
        self.place(Box::new(host), std::slice::from_ref(interface), spec.name());
    }

    /// Adds `node` to the world with its interfaces plugged in, its addresses told (for
    /// partitions) and its name recorded; returns its index.
    fn place(&mut self, node: Box<dyn Node>, interfaces: &[InterfaceSpec], name: &str) -> usize {
        let index = self.world.add_node(node, interfaces.len());
        self.world
            .set_addresses(index, interfaces.iter().map(|i| i.ip).collect());
        for (i, spec) in interfaces.iter().enumerate() {
            self.attach(index, i, spec, name);
        }
        self.node_names.push(name.to_string());
        index
    }

    /// Plugs interface `iface` of node `node` into its wire, with its own loss stream.
    fn attach(&mut self, node: usize, iface: usize, spec: &InterfaceSpec, node_name: &str) {
        let segment = &self.scenario.segments[spec.segment].name;
        let loss = self
            .streams
            .stream(&format!("segment:{segment}/to:{node_name}:{iface}"));
        self.world.attach(node, iface, spec.segment, loss);
    }

    /// A smoltcp host with its interface configured.
    fn new_host(
        &self,
        name: &str,
        index: usize,
        interface: &InterfaceSpec,
        gateway: Option<Ipv4Addr>,
    ) -> Host {
        Host::new(HostConfig {
            name: name.to_string(),
            node_index: index,
            mac: mac_for(index, 0, interface),
            ip: interface.ip,
            prefix_len: interface.prefix_len,
            gateway,
            stack_seed: self.streams.derive_seed(&format!("stack:{name}")),
        })
    }
}

/// The one interface of a single-interface host kind (`None` for routers, directors and
/// client groups, which add their nodes themselves).
fn single_interface(spec: &NodeSpec) -> Option<&InterfaceSpec> {
    match spec {
        NodeSpec::Host { interface, .. }
        | NodeSpec::WebServer { interface, .. }
        | NodeSpec::DnsServer { interface, .. }
        | NodeSpec::L7Balancer { interface, .. }
        | NodeSpec::Monitor { interface, .. }
        | NodeSpec::DnsResolver { interface, .. } => Some(interface),
        NodeSpec::Router { .. } | NodeSpec::L4Balancer { .. } | NodeSpec::Clients { .. } => None,
    }
}

/// Whether `ip` is in the subnet `net/prefix_len`.
fn in_subnet(ip: Ipv4Addr, net: Ipv4Addr, prefix_len: u8) -> bool {
    let mask = prefix_mask(prefix_len);
    u32::from(ip) & mask == u32::from(net) & mask
}

/// The file's MAC, or `02:00:00:NN:NN:II` from the node index and interface index.
fn mac_for(node: usize, iface: usize, spec: &InterfaceSpec) -> EthernetAddress {
    EthernetAddress(spec.mac.unwrap_or([
        0x02,
        0x00,
        0x00,
        (node >> 8) as u8,
        node as u8,
        iface as u8,
    ]))
}
