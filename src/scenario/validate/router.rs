//! *Routers*: interfaces, static routes, VRRP, and cold spares.

use super::checker::Checker;
use super::limits;
use crate::scenario::format::RouterFile;
use crate::scenario::model::{InterfaceSpec, NodeSpec};

impl Checker<'_> {
    /// A `Router`.
    pub fn router(&mut self, r: &RouterFile) -> NodeSpec {
        let name = r.name.as_str();
        let interfaces = self.node_interfaces(&r.interfaces, name, r.cold_spare == Some(true));
        if r.interfaces.is_empty() {
            self.at_field(
                "interfaces",
                Some(name),
                format!("router \"{name}\" has no interfaces"),
                "a router needs an interface on each network it routes between",
            );
        }
        let routes = self.routes(&r.routes, &interfaces, name);
        let arp_timeout = self.duration(
            r.arp_timeout.as_deref(),
            "60s",
            limits::ARP_TIMEOUT,
            Some(name),
        );
        let vrrp = self.vrrp(&r.vrrp, &interfaces, name);
        NodeSpec::Router {
            name: name.to_string(),
            interfaces,
            routes,
            arp_timeout,
            vrrp,
            ignore_garp: r.ignore_garp.unwrap_or(false),
            cold_spare: r.cold_spare == Some(true),
        }
    }

    /// The interface list of a router or balancer: at most [`limits::MAX_INTERFACES`]. A cold
    /// spare repeats the addresses of the router it would replace.
    pub fn node_interfaces(
        &mut self,
        interfaces: &[crate::scenario::format::InterfaceFile],
        name: &str,
        cold_spare: bool,
    ) -> Vec<InterfaceSpec> {
        if !self.list_len(
            interfaces.len(),
            "interfaces",
            Some(name),
            limits::MAX_INTERFACES,
        ) {
            return Vec::new();
        }
        if cold_spare {
            return self.spare_interfaces(interfaces, name);
        }
        self.interface_list(interfaces, name)
    }
}
