//! *VRRP instances* (RFC 3768, keepalived's `vrrp_instance`): IDs and priorities in range,
//! virtual addresses on the instance's own subnet, sync group names. A sync group is named
//! on each member instance, so its members are on one node by construction, and an instance
//! is in one group at most; a group of one instance is only a warning (`lint.rs`), as in
//! keepalived.

use std::net::Ipv4Addr;

use super::addresses::{not_host_address, same_subnet};
use super::checker::{Checker, Role};
use super::limits;
use crate::node::vrrp::VrrpConfig;
use crate::scenario::format::VrrpFile;
use crate::scenario::model::InterfaceSpec;
use crate::scenario::spans::Step;
use crate::sim::SimDuration;

impl Checker<'_> {
    /// The `vrrp` list of a router or balancer.
    pub fn vrrp(
        &mut self,
        instances: &[VrrpFile],
        interfaces: &[InterfaceSpec],
        name: &str,
    ) -> Vec<VrrpConfig> {
        let anchor = Some(name);
        if !self.list_len(instances.len(), "vrrp", anchor, limits::MAX_LIST) {
            return Vec::new();
        }
        let mut configs = Vec::new();
        let depth = self.depth();
        for (k, v) in instances.iter().enumerate() {
            self.enter_at(depth, &[Step::Field("vrrp"), Step::Item(k)]);
            if let Some(config) = self.vrrp_config(v, interfaces, name, &configs) {
                configs.push(config);
            }
        }
        self.leave(depth);
        configs
    }

    /// One VRRP instance `v` of node `name`, after the `earlier` ones: its names, its
    /// interface, its virtual router ID, its priority and advertisement interval, its
    /// virtual addresses and its gratuitous ARPs. `None` when its interface does not exist.
    fn vrrp_config(
        &mut self,
        v: &VrrpFile,
        interfaces: &[InterfaceSpec],
        name: &str,
        earlier: &[VrrpConfig],
    ) -> Option<VrrpConfig> {
        let anchor = Some(name);
        self.instance_names(v, anchor);
        let (iface, spec) = self.vrrp_interface(v, interfaces, name)?;
        self.virtual_router_id(v, iface, name, earlier);
        let priority = self.vrrp_priority(v, anchor);
        let advert_int = self.advert_int(v, anchor);
        let vips = self.virtual_addresses(v, spec, iface, name);
        let (garp_repeat, garp_delay) = self.gratuitous_arp(v, anchor);
        Some(VrrpConfig {
            name: v
                .name
                .clone()
                .unwrap_or_else(|| format!("VI_{}", v.virtual_router_id)),
            iface,
            vrid: v.virtual_router_id,
            priority,
            advert_int,
            preempt: !v.nopreempt.unwrap_or(false),
            vips,
            garp_repeat,
            garp_delay,
            sync_group: v.sync_group.clone(),
        })
    }

    /// The instance's own name and its sync group's, when given, are valid names.
    fn instance_names(&mut self, v: &VrrpFile, anchor: Option<&str>) {
        if let Some(instance) = &v.name {
            self.name(instance, "VRRP instance", anchor);
        }
        if let Some(group) = &v.sync_group {
            self.name(group, "sync group", anchor);
        }
    }

    /// The interface the instance runs on (0 by default): its index and itself, or `None`
    /// when node `name` has no such interface.
    fn vrrp_interface<'i>(
        &mut self,
        v: &VrrpFile,
        interfaces: &'i [InterfaceSpec],
        name: &str,
    ) -> Option<(usize, &'i InterfaceSpec)> {
        let iface = v.interface.unwrap_or(0) as usize;
        let Some(spec) = interfaces.get(iface) else {
            self.at_field(
                "interface",
                Some(name),
                format!("\"{name}\" has no interface {iface}"),
                "interfaces are numbered from 0 in the order the node lists them",
            );
            return None;
        };
        Some((iface, spec))
    }

    /// The virtual router ID (VRID): 1 to 255, and not one an `earlier` instance of node
    /// `name` already uses on interface `iface`.
    fn virtual_router_id(
        &mut self,
        v: &VrrpFile,
        iface: usize,
        name: &str,
        earlier: &[VrrpConfig],
    ) {
        let anchor = Some(name);
        if earlier
            .iter()
            .any(|c| c.vrid == v.virtual_router_id && c.iface == iface)
        {
            self.at_field(
                "virtual_router_id",
                anchor,
                format!(
                    "\"{name}\" has two VRRP instances with virtual_router_id {} on interface {iface}",
                    v.virtual_router_id
                ),
                "RFC 3768: a VRID names one virtual router on a segment; give each instance its own",
            );
        }
        if v.virtual_router_id == 0 {
            self.at_field(
                "virtual_router_id",
                anchor,
                "virtual_router_id must be 1 to 255".into(),
                "RFC 3768, section 5.3.3: VRID 0 is not valid",
            );
        }
    }

    /// The priority (100 by default): 0 is refused, as the value a resigning master sends.
    fn vrrp_priority(&mut self, v: &VrrpFile, anchor: Option<&str>) -> u8 {
        let priority = v.priority.unwrap_or(100);
        if priority == 0 {
            self.at_field(
                "priority",
                anchor,
                "priority 0 is reserved for a master that resigns".into(),
                "use 1 to 255",
            );
        }
        priority
    }

    /// The advertisement interval in seconds (1 by default): VRRP version 2 counts it in
    /// whole seconds, so 0 is refused.
    fn advert_int(&mut self, v: &VrrpFile, anchor: Option<&str>) -> u8 {
        let advert_int = v.advert_int.unwrap_or(1);
        if advert_int == 0 {
            self.at_field(
                "advert_int",
                anchor,
                "advert_int must be at least 1 second in VRRP version 2".into(),
                "use 1 to 255 seconds",
            );
        }
        advert_int
    }

    /// The virtual addresses (VIPs) the master takes over: at least one, each a free host
    /// address of interface `iface`'s subnet (`spec`), claimed for node `name`. It returns
    /// those that are unicast addresses (none when the list is too long).
    fn virtual_addresses(
        &mut self,
        v: &VrrpFile,
        spec: &InterfaceSpec,
        iface: usize,
        name: &str,
    ) -> Vec<Ipv4Addr> {
        let anchor = Some(name);
        if v.virtual_ipaddress.is_empty() {
            self.at_field(
                "virtual_ipaddress",
                anchor,
                "a VRRP instance needs at least one virtual address".into(),
                "list the address the master takes over, such as [\"10.0.0.1\"]",
            );
        }
        // Each address that reads as one, beside its own text: a diagnostic about a VIP
        // points at that VIP's entry, even when an entry before it did not read.
        let parsed: Vec<(&String, Ipv4Addr)> = if self.list_len(
            v.virtual_ipaddress.len(),
            "virtual_ipaddress",
            anchor,
            limits::MAX_VIPS,
        ) {
            v.virtual_ipaddress
                .iter()
                .filter_map(|t| self.unicast(t, anchor).map(|vip| (t, vip)))
                .collect()
        } else {
            Vec::new()
        };
        for &(text, vip) in &parsed {
            if let Some(problem) = not_host_address(vip, spec.prefix_len) {
                self.at_value(
                    text,
                    anchor,
                    format!("VIP {vip} {problem}"),
                    "a VIP is an address hosts connect to: pick a free host address of the subnet",
                );
            }
            self.claim_address(vip, text, name, Role::VrrpVip);
            if !same_subnet(spec.ip, vip, spec.prefix_len) {
                self.at_value(
                    text,
                    anchor,
                    format!("VIP {vip} is not on the subnet of interface {iface}"),
                    "gratuitous ARP only reaches the instance's own segment",
                );
            }
        }
        parsed.into_iter().map(|(_, vip)| vip).collect()
    }

    /// The gratuitous ARPs a new master sends: how many per VIP in each burst (5 by
    /// default, at least 1), and the delay of the second burst (5 s by default; 0 for none).
    fn gratuitous_arp(&mut self, v: &VrrpFile, anchor: Option<&str>) -> (u32, SimDuration) {
        let garp_repeat = self.count(
            v.garp_master_repeat.unwrap_or(5),
            "garp_master_repeat",
            anchor,
            1,
            limits::MAX_GARP_REPEAT,
        );
        let garp_delay = self.duration(v.garp_master_delay.as_deref(), "5s", limits::WAIT, anchor);
        (garp_repeat, garp_delay)
    }
}
