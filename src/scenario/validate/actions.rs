//! *Operator actions*: each names a node that exists, of the kind the action is for, and
//! something that node has (a virtual service and its real server, a zone name and its
//! record, a VRRP instance).
//!
//! Actions are checked after every node, against the checked nodes: a service's real
//! servers, a zone's names and a router's VRRP instances are known by then. A node that was
//! itself refused is not reported again here.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use super::checker::Checker;
use super::faults::node_name;
use super::limits;
use crate::ipvs::service::RealServerConfig;
use crate::node::vrrp::VrrpConfig;
use crate::node::{Command, ZoneEdit};
use crate::scenario::diagnostic::nearest;
use crate::scenario::format::{ActionEventFile, ActionFile, ForwardFile, NodeFile};
use crate::scenario::model::{ActionSpec, ActionSpecKind, NodeSpec, ServiceSpec};
use crate::scenario::spans::Step;
use crate::sim::SimDuration;

/// What `AddServer` and `AddRecord` actions anywhere in the file add, so that a later
/// `SetWeight`, `RemoveServer` or `RemoveRecord` may name it.
#[derive(Default)]
pub struct Added {
    /// (director, real server address).
    servers: BTreeSet<(String, Ipv4Addr)>,
    /// (DNS server, lowercase name, address).
    records: BTreeSet<(String, String, Ipv4Addr)>,
}

impl Added {
    /// Everything the file's `actions` and `on_alarm` lists add.
    pub fn collect(actions: &[ActionFile], files: &[NodeFile]) -> Added {
        let mut added = Added::default();
        let reactions = files.iter().flat_map(|n| match n {
            NodeFile::Monitor(m) => m
                .probes
                .iter()
                .flat_map(|p| p.on_alarm.iter().map(|r| (&r.target, &r.action)))
                .collect(),
            _ => Vec::new(),
        });
        let all = actions
            .iter()
            .map(|a| (&a.target, &a.action))
            .chain(reactions);
        for (target, action) in all {
            match action {
                ActionEventFile::AddServer { server, .. } => {
                    if let Ok(addr) = split_port(server).0.parse() {
                        added.servers.insert((target.clone(), addr));
                    }
                }
                ActionEventFile::AddRecord { name, address } => {
                    if let Ok(addr) = address.parse() {
                        added
                            .records
                            .insert((target.clone(), zone_name(name), addr));
                    }
                }
                _ => {}
            }
        }
        added
    }
}

impl Checker<'_> {
    /// The `actions` list, against the checked `nodes` (`files` tell a refused node from an
    /// unknown one).
    pub fn actions(
        &mut self,
        actions: &[ActionFile],
        nodes: &[NodeSpec],
        files: &[NodeFile],
        added: &Added,
    ) -> Vec<ActionSpec> {
        if !self.list_len(actions.len(), "actions", None, limits::MAX_LIST) {
            return Vec::new();
        }
        actions
            .iter()
            .enumerate()
            .filter_map(|(i, a)| {
                self.within(&[Step::Field("actions"), Step::Item(i)], |c| {
                    let at = c.start_time(Some(&a.at), None);
                    c.action(&a.target, &a.action, at, nodes, files, added)
                })
            })
            .collect()
    }

    /// One action on `target`, at `at` (or `at` after an alarm): find the node it names,
    /// then check what the action asks of that node. Each kind of action has its own helper
    /// below, grouped by the node kind it is for: any machine (`PlugIn`), a director's
    /// virtual services (ipvsadm), a DNS server's zone, a VRRP instance.
    pub fn action(
        &mut self,
        target: &str,
        action: &ActionEventFile,
        at: SimDuration,
        nodes: &[NodeSpec],
        files: &[NodeFile],
        added: &Added,
    ) -> Option<ActionSpec> {
        let node = self.action_node(target, nodes, files)?;
        let (event_target, kind) = match action {
            ActionEventFile::PlugIn => self.plug_in(node)?,
            ActionEventFile::SetWeight {
                server,
                weight,
                service,
            } => self.set_weight(node, server, *weight, service, added)?,
            ActionEventFile::RemoveServer { server, service } => {
                self.remove_server(node, server, service, added)?
            }
            ActionEventFile::AddServer {
                server,
                weight,
                forward,
                service,
            } => self.add_server(node, server, *weight, *forward, service)?,
            ActionEventFile::RemoveRecord { name, address } => {
                self.remove_record(node, name, address, added)?
            }
            ActionEventFile::AddRecord { name, address } => self.add_record(node, name, address)?,
            ActionEventFile::SetTtl { name, ttl } => self.set_ttl(node, name, ttl)?,
            ActionEventFile::SetPriority { priority, instance } => {
                self.set_priority(node, *priority, instance.as_deref())?
            }
        };
        Some(ActionSpec {
            at,
            node: node.name().to_string(),
            event_target,
            kind,
        })
    }

    /// The checked node an action names. A node that is unknown is reported here; one that
    /// was itself refused was reported with its own checks, so it is skipped in silence.
    fn action_node<'n>(
        &mut self,
        target: &str,
        nodes: &'n [NodeSpec],
        files: &[NodeFile],
    ) -> Option<&'n NodeSpec> {
        if let Some(node) = nodes.iter().find(|n| n.name() == target) {
            return Some(node);
        }
        if !files.iter().any(|f| node_name(f) == target) {
            let mut help = "an action names the node it is done to".to_string();
            if let Some(near) = nearest(target, files.iter().map(node_name)) {
                help.push_str(&format!("; did you mean \"{near}\"?"));
            }
            self.at_value(target, None, format!("unknown node \"{target}\""), help);
        }
        None
    }

    /// `PlugIn`: any machine but a client group.
    fn plug_in(&mut self, node: &NodeSpec) -> Option<(String, ActionSpecKind)> {
        if let NodeSpec::Clients { name, .. } = node {
            self.at_value(
                name,
                None,
                format!("\"{name}\" is a client group; its hosts cannot be plugged in one by one"),
                "plug in a router, a server or a balancer",
            );
            return None;
        }
        Some((node.name().to_string(), ActionSpecKind::PlugIn))
    }

    /// `SetWeight` (`ipvsadm -e -w`): a new weight for a real server the service has, or
    /// that an `AddServer` action adds.
    fn set_weight(
        &mut self,
        node: &NodeSpec,
        server: &str,
        weight: u32,
        service: &Option<String>,
        added: &Added,
    ) -> Option<(String, ActionSpecKind)> {
        let (service_index, svc) = self.director_service(node, service, "SetWeight")?;
        let (addr, port) = self.known_server(node, svc, server, added)?;
        let weight = self.count(weight, "weight", None, 0, limits::MAX_WEIGHT);
        let command = Command::SetWeight {
            service: service_index,
            addr,
            port,
            weight,
        };
        Some((
            server_target(node, addr, port),
            ActionSpecKind::Command(command),
        ))
    }

    /// `RemoveServer` (`ipvsadm -d`): a real server the service has, or that an
    /// `AddServer` action adds.
    fn remove_server(
        &mut self,
        node: &NodeSpec,
        server: &str,
        service: &Option<String>,
        added: &Added,
    ) -> Option<(String, ActionSpecKind)> {
        let (service_index, svc) = self.director_service(node, service, "RemoveServer")?;
        let (addr, port) = self.known_server(node, svc, server, added)?;
        let command = Command::RemoveServer {
            service: service_index,
            addr,
            port,
        };
        Some((
            server_target(node, addr, port),
            ActionSpecKind::Command(command),
        ))
    }

    /// `AddServer` (`ipvsadm -a`): a new real server, with its weight (1 by default) and
    /// how it is forwarded to. It has no thresholds.
    fn add_server(
        &mut self,
        node: &NodeSpec,
        server: &str,
        weight: Option<u32>,
        forward: Option<ForwardFile>,
        service: &Option<String>,
    ) -> Option<(String, ActionSpecKind)> {
        let (service_index, svc) = self.director_service(node, service, "AddServer")?;
        let (addr, port) = self.server_address(server, svc.port)?;
        let weight = self.count(weight.unwrap_or(1), "weight", None, 0, limits::MAX_WEIGHT);
        let config = RealServerConfig {
            addr,
            port,
            weight,
            forward: super::l4_balancer::forward(forward),
            upper_threshold: 0,
            lower_threshold: 0,
        };
        let command = Command::AddServer {
            service: service_index,
            server: config,
        };
        Some((
            server_target(node, addr, port),
            ActionSpecKind::Command(command),
        ))
    }

    /// The virtual service an `ipvsadm` action is about: `service` names it, or the director
    /// has only one. Returns its index and itself.
    fn director_service<'n>(
        &mut self,
        node: &'n NodeSpec,
        service: &Option<String>,
        action: &str,
    ) -> Option<(usize, &'n ServiceSpec)> {
        let (name, services) = self.director(node, action)?;
        match service {
            Some(text) => self.named_service(name, services, text),
            None => self.only_service(name, services, action),
        }
    }

    /// The director an `ipvsadm` action is done to, and its virtual services: `node` must
    /// be an `L4Balancer`.
    fn director<'n>(
        &mut self,
        node: &'n NodeSpec,
        action: &str,
    ) -> Option<(&'n str, &'n [ServiceSpec])> {
        if let NodeSpec::L4Balancer { name, services, .. } = node {
            return Some((name, services));
        }
        self.at_value(
            node.name(),
            None,
            format!(
                "\"{}\" is not an L4Balancer; {action} is an ipvsadm command",
                node.name()
            ),
            "name the director (the L4Balancer) that runs the virtual service",
        );
        None
    }

    /// The director's one virtual service, for an action without `service:` (refused when
    /// the director has several, or none).
    fn only_service<'n>(
        &mut self,
        name: &str,
        services: &'n [ServiceSpec],
        action: &str,
    ) -> Option<(usize, &'n ServiceSpec)> {
        if let [only] = services {
            return Some((0, only));
        }
        self.at_value(
            name,
            None,
            format!(
                "director \"{name}\" has {} virtual services; {action} must say which",
                services.len()
            ),
            format!("add `service:` with one of {}", listed(services)),
        );
        None
    }

    /// The virtual service that `text` names, `"VIP"` or `"VIP:port"`; the port may be left
    /// out only when one service is on the VIP.
    fn named_service<'n>(
        &mut self,
        name: &str,
        services: &'n [ServiceSpec],
        text: &str,
    ) -> Option<(usize, &'n ServiceSpec)> {
        let (vip_text, port_text) = split_port(text);
        let vip: Option<Ipv4Addr> = vip_text.parse().ok();
        let port: Option<u16> = port_text.and_then(|p| p.parse().ok());
        let matching: Vec<usize> = (0..services.len())
            .filter(|&i| Some(services[i].vip) == vip && port.is_none_or(|p| p == services[i].port))
            .collect();
        match matching[..] {
            [index] if port_text.is_none() || port.is_some() => Some((index, &services[index])),
            [_, _, ..] => {
                self.at_value(
                    text,
                    None,
                    format!("director \"{name}\" has several services on {vip_text}"),
                    format!("add the port: one of {}", listed(services)),
                );
                None
            }
            _ => {
                self.at_value(
                    text,
                    None,
                    format!("director \"{name}\" has no virtual service \"{text}\""),
                    format!("its services are {}", listed(services)),
                );
                None
            }
        }
    }

    /// `"10.0.1.12"` or `"10.0.1.12:8080"`: the address and port (the service's by default).
    fn server_address(&mut self, text: &str, service_port: u16) -> Option<(Ipv4Addr, u16)> {
        let (addr_text, port_text) = split_port(text);
        let Ok(addr) = addr_text.parse::<Ipv4Addr>() else {
            self.at_value(
                text,
                None,
                format!("\"{text}\" is not a real server's address"),
                "write the server's IPv4 address, such as \"10.0.1.12\", or address and port, such as \"10.0.1.12:8080\"",
            );
            return None;
        };
        let port = match port_text {
            None => service_port,
            Some(p) => match p.parse::<u16>() {
                Ok(port) if port > 0 => port,
                _ => {
                    self.at_value(
                        text,
                        None,
                        format!("\"{p}\" is not a port"),
                        "use a port from 1 to 65535, or leave it out to mean the service's port",
                    );
                    return None;
                }
            },
        };
        Some((addr, port))
    }

    /// A real server of `svc` (configured, or added by an `AddServer` action).
    fn known_server(
        &mut self,
        node: &NodeSpec,
        svc: &ServiceSpec,
        text: &str,
        added: &Added,
    ) -> Option<(Ipv4Addr, u16)> {
        let (addr, port) = self.server_address(text, svc.port)?;
        let configured = svc
            .real_servers
            .iter()
            .any(|r| r.addr == addr && r.port == port);
        if configured || added.servers.contains(&(node.name().to_string(), addr)) {
            return Some((addr, port));
        }
        let servers: Vec<String> = svc
            .real_servers
            .iter()
            .map(|r| format!("{}:{}", r.addr, r.port))
            .collect();
        self.at_value(
            text,
            None,
            format!(
                "{addr}:{port} is not a real server of {}:{}",
                svc.vip, svc.port
            ),
            format!(
                "its real servers are {}; add a new one first with AddServer",
                if servers.is_empty() {
                    "none".to_string()
                } else {
                    servers.join(", ")
                }
            ),
        );
        None
    }

    /// `RemoveRecord`: an address the zone name has, or that an `AddRecord` action adds.
    fn remove_record(
        &mut self,
        node: &NodeSpec,
        name: &str,
        address: &str,
        added: &Added,
    ) -> Option<(String, ActionSpecKind)> {
        let zone_name = self.zone_entry(node, name, "RemoveRecord")?;
        let address = self.known_record(node, &zone_name, address, added)?;
        Some(zone_command(
            node,
            &zone_name,
            ZoneEdit::RemoveRecord {
                name: zone_name.clone(),
                address,
            },
        ))
    }

    /// `AddRecord`: a new address for a name the zone has.
    fn add_record(
        &mut self,
        node: &NodeSpec,
        name: &str,
        address: &str,
    ) -> Option<(String, ActionSpecKind)> {
        let zone_name = self.zone_entry(node, name, "AddRecord")?;
        let address = self.unicast(address, None)?;
        Some(zone_command(
            node,
            &zone_name,
            ZoneEdit::AddRecord {
                name: zone_name.clone(),
                address,
            },
        ))
    }

    /// `SetTtl`: a new time to live, in whole seconds, for a name the zone has.
    fn set_ttl(
        &mut self,
        node: &NodeSpec,
        name: &str,
        ttl: &str,
    ) -> Option<(String, ActionSpecKind)> {
        let zone_name = self.zone_entry(node, name, "SetTtl")?;
        let ttl = self.duration(Some(ttl), "0s", limits::TTL, None);
        Some(zone_command(
            node,
            &zone_name,
            ZoneEdit::SetTtl {
                name: zone_name.clone(),
                ttl: (ttl.as_nanos() / 1_000_000_000) as u32,
            },
        ))
    }

    /// A name of a DNS server's zone, lowercase.
    fn zone_entry(&mut self, node: &NodeSpec, name: &str, action: &str) -> Option<String> {
        let NodeSpec::DnsServer { zone, .. } = node else {
            self.at_value(
                node.name(),
                None,
                format!(
                    "\"{}\" is not a DnsServer; {action} edits a zone",
                    node.name()
                ),
                "name the authoritative DnsServer whose zone holds the name",
            );
            return None;
        };
        let wanted = zone_name(name);
        if zone.iter().any(|z| z.name == wanted) {
            return Some(wanted);
        }
        let mut help = format!("\"{}\" serves ", node.name());
        let names: Vec<&str> = zone.iter().map(|z| z.name.as_str()).collect();
        help.push_str(&names.join(", "));
        if let Some(near) = nearest(&wanted, names.iter().copied()) {
            help.push_str(&format!("; did you mean \"{near}\"?"));
        }
        self.at_value(
            name,
            None,
            format!("the zone of \"{}\" has no name \"{name}\"", node.name()),
            help,
        );
        None
    }

    /// A record of zone name `zone_name` (configured, or added by an `AddRecord` action):
    /// the address `text` names.
    fn known_record(
        &mut self,
        node: &NodeSpec,
        zone_name: &str,
        text: &str,
        added: &Added,
    ) -> Option<Ipv4Addr> {
        let address = self.unicast(text, None)?;
        let known = zone_has(node, zone_name, address)
            || added
                .records
                .contains(&(node.name().to_string(), zone_name.to_string(), address));
        if known {
            return Some(address);
        }
        self.at_value(
            text,
            None,
            format!("\"{zone_name}\" has no record {address}"),
            format!(
                "its records are {}; remove one of them, or add this one first with AddRecord",
                zone_addresses(node, zone_name)
            ),
        );
        None
    }

    /// `SetPriority`: a new priority for a VRRP instance, one an operator may set.
    fn set_priority(
        &mut self,
        node: &NodeSpec,
        priority: u8,
        instance: Option<&str>,
    ) -> Option<(String, ActionSpecKind)> {
        let (index, instance_name) = self.vrrp_instance(node, instance)?;
        if !(1..=254).contains(&priority) {
            self.at_field(
                "priority",
                None,
                format!("priority {priority} cannot be set by an operator"),
                "use 1 to 254: 0 means \"resigning\" and 255 \"address owner\" in VRRP",
            );
        }
        let command = Command::SetPriority {
            instance: index,
            priority,
        };
        Some((
            format!("{}/{instance_name}", node.name()),
            ActionSpecKind::Command(command),
        ))
    }

    /// The VRRP instance of a router or director: `instance` names it, or there is only one.
    /// Returns its index and name.
    fn vrrp_instance(
        &mut self,
        node: &NodeSpec,
        instance: Option<&str>,
    ) -> Option<(usize, String)> {
        let vrrp: &[VrrpConfig] = match node {
            NodeSpec::Router { vrrp, .. } | NodeSpec::L4Balancer { vrrp, .. } => vrrp,
            _ => &[],
        };
        if vrrp.is_empty() {
            self.at_value(
                node.name(),
                None,
                format!("\"{}\" runs no VRRP instance", node.name()),
                "SetPriority applies to routers and balancers with a `vrrp` list",
            );
            return None;
        }
        let names: Vec<&str> = vrrp.iter().map(|v| v.name.as_str()).collect();
        let Some(wanted) = instance else {
            if vrrp.len() == 1 {
                return Some((0, vrrp[0].name.clone()));
            }
            self.at_value(
                node.name(),
                None,
                format!(
                    "\"{}\" runs {} VRRP instances; SetPriority must say which",
                    node.name(),
                    vrrp.len()
                ),
                format!("add `instance:` with one of {}", names.join(", ")),
            );
            return None;
        };
        if let Some(index) = names.iter().position(|n| *n == wanted) {
            return Some((index, wanted.to_string()));
        }
        let mut help = format!("its instances are {}", names.join(", "));
        if let Some(near) = nearest(wanted, names.iter().copied()) {
            help.push_str(&format!("; did you mean \"{near}\"?"));
        }
        self.at_value(
            wanted,
            None,
            format!("\"{}\" has no VRRP instance \"{wanted}\"", node.name()),
            help,
        );
        None
    }
}

/// `"a:b"` as `("a", Some("b"))`, `"a"` as `("a", None)`.
fn split_port(text: &str) -> (&str, Option<&str>) {
    match text.split_once(':') {
        Some((addr, port)) => (addr, Some(port)),
        None => (text, None),
    }
}

/// A zone name as the zone stores it: lowercase, without the final dot.
fn zone_name(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// The event target of a real server: `director/addr:port`, as keepalived's events name it.
fn server_target(node: &NodeSpec, addr: Ipv4Addr, port: u16) -> String {
    format!("{}/{addr}:{port}", node.name())
}

/// A director's virtual services as an action names them: `"VIP:port", …`.
fn listed(services: &[ServiceSpec]) -> String {
    services
        .iter()
        .map(|s| format!("\"{}:{}\"", s.vip, s.port))
        .collect::<Vec<_>>()
        .join(", ")
}

/// An edit of zone name `zone_name`, with its event target: `dns-server/name`.
fn zone_command(node: &NodeSpec, zone_name: &str, edit: ZoneEdit) -> (String, ActionSpecKind) {
    (
        format!("{}/{zone_name}", node.name()),
        ActionSpecKind::Command(Command::Zone(edit)),
    )
}

/// Whether zone name `name` of DNS server `node` has a record `address`.
fn zone_has(node: &NodeSpec, name: &str, address: Ipv4Addr) -> bool {
    match node {
        NodeSpec::DnsServer { zone, .. } => zone
            .iter()
            .any(|z| z.name == name && z.addresses.contains(&address)),
        _ => false,
    }
}

/// The records of zone name `name`, in words.
fn zone_addresses(node: &NodeSpec, name: &str) -> String {
    let NodeSpec::DnsServer { zone, .. } = node else {
        return "none".into();
    };
    let addresses: Vec<String> = zone
        .iter()
        .filter(|z| z.name == name)
        .flat_map(|z| z.addresses.iter().map(Ipv4Addr::to_string))
        .collect();
    if addresses.is_empty() {
        "none".into()
    } else {
        addresses.join(", ")
    }
}
