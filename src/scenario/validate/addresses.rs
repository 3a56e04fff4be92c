//! *Addresses*: interfaces, their IPv4 and MAC addresses, gateways and routes.
//!
//! A host's address must be one a host can really have: a *unicast* address that is not the
//! network's own address (all host bits 0) nor its broadcast address (all host bits 1),
//! not in 127.0.0.0/8 (loopback, which never leaves a machine), not multicast (224.0.0.0/4)
//! and not reserved (240.0.0.0/4). RFC 1122, section 3.2.1.3, lists these; RFC 3021 lets a
//! /31 link use both of its addresses. smoltcp refuses anything else with a panic, so the
//! check must come first.
//!
//! Every address and every MAC address given in the file belongs to one node (a cold spare
//! repeats the router it replaces, on purpose). MAC addresses of the form `02:00:00:..`
//! are netlab's own, handed out to interfaces that do not name one.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use super::checker::{Checker, Claims, Role};
use crate::scenario::format::{InterfaceFile, RouteFile};
use crate::scenario::model::{InterfaceSpec, RouteSpec};
use crate::scenario::spans::Step;

/// What is wrong with `ip` as the address of a machine, if anything.
pub(super) fn not_unicast(ip: Ipv4Addr) -> Option<&'static str> {
    if ip.is_unspecified() {
        Some("is the unspecified address")
    } else if ip.is_broadcast() {
        Some("is the broadcast address")
    } else if ip.is_loopback() {
        Some("is a loopback address (127.0.0.0/8 never leaves a machine)")
    } else if ip.is_multicast() {
        Some("is a multicast address (224.0.0.0/4)")
    } else if ip.octets()[0] >= 240 {
        Some("is in the reserved range 240.0.0.0/4")
    } else if ip.octets()[0] == 0 {
        Some("is in 0.0.0.0/8, which means \"this network\"")
    } else {
        None
    }
}

/// What is wrong with `ip` as a host address on a subnet of `prefix_len` bits, if anything.
pub(super) fn not_host_address(ip: Ipv4Addr, prefix_len: u8) -> Option<String> {
    if let Some(problem) = not_unicast(ip) {
        return Some(problem.to_string());
    }
    // RFC 3021: a /31 has no network or broadcast address; a /32 is one address.
    if prefix_len <= 30 {
        let mask = crate::node::prefix_mask(prefix_len);
        let host_bits = u32::from(ip) & !mask;
        if host_bits == 0 {
            return Some(format!(
                "is the network address of its /{prefix_len} subnet"
            ));
        }
        if host_bits == !mask {
            return Some(format!(
                "is the broadcast address of its /{prefix_len} subnet"
            ));
        }
    }
    None
}

/// Whether two addresses share a subnet of the given prefix length.
pub(super) fn same_subnet(a: Ipv4Addr, b: Ipv4Addr, prefix_len: u8) -> bool {
    let mask = crate::node::prefix_mask(prefix_len);
    u32::from(a) & mask == u32::from(b) & mask
}

/// Parses `02:00:00:00:00:01`.
pub(super) fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = text.split(':');
    for byte in &mut mac {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 2 || !part.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        *byte = u8::from_str_radix(part, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

/// The help line for a bad host address.
const HOST_ADDRESS_HELP: &str =
    "give the machine a unicast address inside its subnet, such as 10.0.0.10/24";

impl Checker<'_> {
    /// Parses an `a.b.c.d/len` address, or reports it.
    pub fn cidr(&mut self, text: &str, anchor: Option<&str>) -> Option<(Ipv4Addr, u8)> {
        let parsed = text.split_once('/').and_then(|(ip, len)| {
            let ip: Ipv4Addr = ip.parse().ok()?;
            let len: u8 = len.parse().ok().filter(|&l| l <= 32)?;
            Some((ip, len))
        });
        if parsed.is_none() {
            self.at_value(
                text,
                anchor,
                format!("\"{text}\" is not an IPv4 address with a prefix length"),
                "write it like \"10.0.0.1/24\"",
            );
        }
        parsed
    }

    /// Parses a plain address, or reports it.
    pub fn ip(&mut self, text: &str, anchor: Option<&str>) -> Option<Ipv4Addr> {
        let parsed = text.parse().ok();
        if parsed.is_none() {
            self.at_value(
                text,
                anchor,
                format!("\"{text}\" is not an IPv4 address"),
                "write it like \"10.0.0.1\" (no prefix length here)",
            );
        }
        parsed
    }

    /// Parses the address of a machine (a server, a VIP, a DNS record), or reports it.
    pub fn unicast(&mut self, text: &str, anchor: Option<&str>) -> Option<Ipv4Addr> {
        let ip = self.ip(text, anchor)?;
        if let Some(problem) = not_unicast(ip) {
            self.at_value(
                text,
                anchor,
                format!("{ip} {problem}; a machine cannot have it"),
                "use a unicast address, such as 10.0.0.10",
            );
            return None;
        }
        Some(ip)
    }

    /// One interface: its segment exists, its address is a host address, unique, and so is
    /// its MAC address.
    pub fn interface(&mut self, i: &InterfaceFile, node: &str) -> Option<InterfaceSpec> {
        let segment = self.segments.get(&i.attach).copied();
        if segment.is_none() {
            self.unknown_segment(&i.attach, Some(node));
        }
        let cidr = self.cidr(&i.ip, Some(node));
        let cidr = cidr.filter(|&(ip, prefix_len)| self.host_address(ip, prefix_len, &i.ip, node));
        if let Some((ip, _)) = cidr {
            self.claim_address(ip, &i.ip, node, Role::Interface);
        }
        let mac = i.mac.as_deref().and_then(|text| self.mac(text, node));
        let (segment, (ip, prefix_len)) = (segment?, cidr?);
        self.attach_counts[segment] += 1;
        Some(InterfaceSpec {
            segment,
            ip,
            prefix_len,
            mac,
        })
    }

    /// The one `interface` of a host, web server, proxy or DNS machine.
    pub fn single_interface(&mut self, i: &InterfaceFile, node: &str) -> Option<InterfaceSpec> {
        self.within(&[Step::Field("interface")], |c| c.interface(i, node))
    }

    /// The `interfaces` list of a router or balancer, each checked in its own entry.
    pub fn interface_list(
        &mut self,
        interfaces: &[InterfaceFile],
        node: &str,
    ) -> Vec<InterfaceSpec> {
        interfaces
            .iter()
            .enumerate()
            .filter_map(|(k, i)| {
                self.within(&[Step::Field("interfaces"), Step::Item(k)], |c| {
                    c.interface(i, node)
                })
            })
            .collect()
    }

    /// Reports `ip` (written `text`) unless it can be a host's address on a `/prefix_len`.
    pub fn host_address(&mut self, ip: Ipv4Addr, prefix_len: u8, text: &str, node: &str) -> bool {
        if prefix_len == 0 {
            self.at_value(
                text,
                Some(node),
                format!("address {ip}/0 of \"{node}\" puts the whole Internet on one link"),
                "give the subnet's real prefix length, such as /24",
            );
            return false;
        }
        match not_host_address(ip, prefix_len) {
            Some(problem) => {
                self.at_value(
                    text,
                    Some(node),
                    format!("address {ip} of \"{node}\" {problem}"),
                    HOST_ADDRESS_HELP,
                );
                false
            }
            None => true,
        }
    }

    /// A MAC address given in the file: six hex bytes, unicast, not netlab's, not taken.
    fn mac(&mut self, text: &str, node: &str) -> Option<[u8; 6]> {
        let Some(mac) = parse_mac(text) else {
            self.at_value(
                text,
                Some(node),
                format!("\"{text}\" is not a MAC address"),
                "write six hex bytes like \"02:aa:00:00:00:01\"",
            );
            return None;
        };
        let problem = if mac[0] & 1 == 1 {
            Some("is a multicast MAC address (the lowest bit of its first byte is 1)")
        } else if mac == [0; 6] {
            Some("is all zeros")
        } else if mac[..3] == [0x02, 0, 0] {
            Some("is in 02:00:00:xx:xx:xx, which netlab gives to interfaces without a `mac`")
        } else {
            None
        };
        if let Some(problem) = problem {
            self.at_value(
                text,
                Some(node),
                format!("MAC address {text} {problem}"),
                "use a locally administered unicast address such as \"02:aa:00:00:00:01\"",
            );
            return None;
        }
        if let Some(owner) = self.claims.macs.get(&mac) {
            self.at_value(
                text,
                Some(node),
                format!("MAC address {text} of \"{node}\" is already used by \"{owner}\""),
                "every interface needs its own MAC address (only a cold spare repeats the router it replaces)",
            );
            return None;
        }
        self.claims.macs.insert(mac, node.to_string());
        Some(mac)
    }

    /// Checks `interfaces` of a cold spare, which repeats the addresses of the router it
    /// replaces: its claims are its own, not the scenario's.
    pub fn spare_interfaces(
        &mut self,
        interfaces: &[InterfaceFile],
        node: &str,
    ) -> Vec<InterfaceSpec> {
        let mut own = Claims::default();
        std::mem::swap(&mut self.claims, &mut own);
        let checked = self.interface_list(interfaces, node);
        std::mem::swap(&mut self.claims, &mut own);
        checked
    }

    /// Records that `node` uses `ip` (written `text`) as `role`, reporting a clash. VRRP
    /// virtual addresses are shared by the members of their group on purpose.
    pub fn claim_address(&mut self, ip: Ipv4Addr, text: &str, node: &str, role: Role) {
        match self.claims.addresses.get(&ip) {
            None => {
                self.claims.addresses.insert(ip, (node.to_string(), role));
            }
            Some((_, Role::VrrpVip)) if role == Role::VrrpVip => {}
            Some((owner, owner_role)) => {
                let (owner, owner_role) = (owner.clone(), *owner_role);
                let help = match (role, owner_role) {
                    (Role::Vip | Role::VrrpVip, _) | (_, Role::Vip | Role::VrrpVip) => {
                        "a VIP belongs to its director (or VRRP group) alone: give the machine or the service another address"
                    }
                    (Role::ClientHost, _) => {
                        "the client group's range covers that address: start the group elsewhere, or make it smaller"
                    }
                    _ => "every interface needs its own address",
                };
                self.at_value(
                    text,
                    Some(node),
                    format!(
                        "{ip} is {} of \"{node}\", and already {} of \"{owner}\"",
                        role.words(),
                        owner_role.words()
                    ),
                    help,
                );
            }
        }
    }

    /// A gateway must be a unicast address on the interface's subnet.
    pub fn gateway(
        &mut self,
        text: Option<&str>,
        interface: Option<&InterfaceSpec>,
        node: &str,
    ) -> Option<Ipv4Addr> {
        let text = text?;
        let gateway = self.unicast(text, Some(node))?;
        if let Some(i) = interface {
            if let Some(problem) = not_host_address(gateway, i.prefix_len)
                && same_subnet(i.ip, gateway, i.prefix_len)
            {
                self.at_value(
                    text,
                    Some(node),
                    format!("gateway {gateway} {problem}"),
                    "the gateway is the router's own address on this subnet, such as 10.0.0.1",
                );
            } else if !same_subnet(i.ip, gateway, i.prefix_len) {
                self.at_value(
                    text,
                    Some(node),
                    format!("gateway {gateway} is not on {}/{} of \"{node}\"", i.ip, i.prefix_len),
                    "a gateway must be reachable without a router: use an address in the interface's subnet",
                );
            } else if gateway == i.ip {
                self.at_value(
                    text,
                    Some(node),
                    format!("gateway {gateway} is \"{node}\"'s own address"),
                    "the gateway is the router's address on this subnet",
                );
            }
        }
        Some(gateway)
    }

    /// Static routes: each destination parses and each next hop is on a connected subnet.
    pub fn routes(
        &mut self,
        routes: &[RouteFile],
        interfaces: &[InterfaceSpec],
        name: &str,
    ) -> Vec<RouteSpec> {
        if !self.list_len(routes.len(), "routes", Some(name), super::limits::MAX_LIST) {
            return Vec::new();
        }
        let mut checked = Vec::new();
        for (k, route) in routes.iter().enumerate() {
            if let Some(spec) = self.within(&[Step::Field("routes"), Step::Item(k)], |c| {
                c.route(route, interfaces, name)
            }) {
                checked.push(spec);
            }
        }
        checked
    }

    /// One static route.
    fn route(
        &mut self,
        route: &RouteFile,
        interfaces: &[InterfaceSpec],
        name: &str,
    ) -> Option<RouteSpec> {
        let target = if route.to == "default" {
            Some((Ipv4Addr::UNSPECIFIED, 0))
        } else {
            self.cidr(&route.to, Some(name))
                .filter(|&(network, len)| self.route_destination(network, len, &route.to, name))
        };
        let via = self.unicast(&route.via, Some(name));
        let ((network, prefix_len), via) = (target?, via?);
        let on_link = interfaces
            .iter()
            .find(|i| same_subnet(i.ip, via, i.prefix_len));
        let problem = match on_link {
            Some(_) if interfaces.iter().any(|i| i.ip == via) => Some((
                format!("is \"{name}\"'s own address"),
                "a next hop is the address of another router on one of this node's subnets",
            )),
            Some(i) => not_host_address(via, i.prefix_len).map(|p| {
                (
                    p,
                    "a next hop is the address of another router on one of this node's subnets",
                )
            }),
            None => Some((
                format!("is not on any subnet of \"{name}\""),
                "a next hop must be reachable directly: put it in one of the node's interface subnets",
            )),
        };
        if let Some((problem, help)) = problem {
            self.at_value(
                &route.via,
                Some(name),
                format!("next hop {via} {problem}"),
                help,
            );
        }
        Some(RouteSpec {
            network,
            prefix_len,
            via,
        })
    }

    /// A route's destination must be a network: no host bits set, and not multicast.
    fn route_destination(
        &mut self,
        network: Ipv4Addr,
        prefix_len: u8,
        text: &str,
        node: &str,
    ) -> bool {
        let mask = crate::node::prefix_mask(prefix_len);
        let problem = if u32::from(network) & !mask != 0 {
            let base = Ipv4Addr::from(u32::from(network) & mask);
            Some((
                format!("route destination {text} has host bits set"),
                format!("write the network itself, \"{base}/{prefix_len}\""),
            ))
        } else if network.is_multicast() || network.octets()[0] >= 240 {
            Some((
                format!("route destination {text} is not a unicast network"),
                "netlab routes unicast traffic only".to_string(),
            ))
        } else {
            None
        };
        match problem {
            Some((message, help)) => {
                self.at_value(text, Some(node), message, help);
                false
            }
            None => true,
        }
    }

    /// A target given as an address or a `hosts` name.
    pub fn resolve_target(&mut self, text: &str, node: &str) -> Option<Ipv4Addr> {
        if text.parse::<Ipv4Addr>().is_ok() {
            return self.unicast(text, Some(node));
        }
        if let Some(&ip) = self.hosts.get(text) {
            return Some(ip);
        }
        let mut help =
            "use an IPv4 address, or add the name to the scenario's `hosts` table".to_string();
        if let Some(near) =
            crate::scenario::diagnostic::nearest(text, self.hosts.keys().map(String::as_str))
        {
            help.push_str(&format!("; did you mean \"{near}\"?"));
        }
        self.at_value(text, Some(node), format!("cannot resolve \"{text}\""), help);
        None
    }

    /// The `hosts` table: valid DNS names, machine addresses.
    pub fn hosts_table(&mut self, table: &BTreeMap<String, String>) {
        if !self.list_len(table.len(), "hosts", None, super::limits::MAX_LIST) {
            return;
        }
        let mut seen = std::collections::BTreeSet::new();
        for (name, ip) in table {
            let before = self.problems.len();
            self.dns_name(name, "host", None);
            if name.parse::<Ipv4Addr>().is_ok() {
                self.at_value(
                    name,
                    None,
                    format!("host name \"{name}\" is an address, so no lookup will ever use it"),
                    "a `hosts` entry maps a name, such as \"www\", to an address",
                );
            }
            if !seen.insert(name.trim_end_matches('.').to_ascii_lowercase()) {
                self.at_value(
                    name,
                    None,
                    format!("host name \"{name}\" is listed twice (names are not case-sensitive)"),
                    "keep one entry per name",
                );
            }
            match self.unicast(ip, None) {
                Some(ip) if self.problems.len() == before => {
                    self.hosts.insert(name.clone(), ip);
                }
                _ => {
                    self.broken_hosts.insert(name.clone());
                }
            }
        }
    }

    /// Reports `name` unless it is a valid DNS name.
    pub fn dns_name(&mut self, name: &str, what: &str, anchor: Option<&str>) {
        if let Err(problem) = super::names::check_dns_name(name) {
            self.at_value(
                name,
                anchor,
                format!(
                    "{what} name \"{}\" {problem}",
                    super::checker::shorten(name)
                ),
                super::names::DNS_NAME_RULE,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs() {
        assert_eq!(parse_mac("02:00:00:00:00:0a"), Some([2, 0, 0, 0, 0, 10]));
        assert_eq!(parse_mac("02:00"), None);
        assert_eq!(parse_mac("02:00:00:00:00:00:01"), None);
        assert_eq!(parse_mac("02:00:00:00:00:+1"), None);
    }

    #[test]
    fn subnets() {
        assert!(same_subnet(
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::new(10, 0, 0, 200),
            24
        ));
        assert!(!same_subnet(
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::new(10, 0, 1, 1),
            24
        ));
    }

    #[test]
    fn only_real_host_addresses_pass() {
        let host = |a, b, c, d, len| not_host_address(Ipv4Addr::new(a, b, c, d), len);
        assert_eq!(host(10, 0, 0, 1, 24), None);
        assert_eq!(host(10, 0, 0, 0, 31), None, "RFC 3021");
        assert_eq!(host(10, 0, 0, 7, 32), None);
        for (ip, len) in [
            ([10, 0, 0, 0], 24),
            ([10, 0, 0, 255], 24),
            ([224, 0, 0, 18], 24),
            ([127, 0, 0, 1], 8),
            ([255, 255, 255, 255], 32),
            ([0, 0, 0, 0], 0),
            ([240, 0, 0, 1], 8),
        ] {
            assert!(
                host(ip[0], ip[1], ip[2], ip[3], len).is_some(),
                "{ip:?}/{len}"
            );
        }
    }
}
