//! Routers and IPVS directors: multi-interface nodes on raw frames.

use std::net::Ipv4Addr;

use super::{Builder, in_subnet, mac_for};
use crate::ipvs::scheduler;
use crate::ipvs::service::VirtualService;
use crate::node::{
    Host, HostConfig, L4Balancer, MemberHealth, Route, Router, RouterInterface, ServiceHealth,
};
use crate::scenario::model::{InterfaceSpec, NodeSpec, RouteSpec, ServiceSpec};
use crate::sim::{SimDuration, SimTime};

impl Builder<'_> {
    /// Adds a `Router` node at `index`; a cold spare stays unplugged until a `PlugIn` action.
    pub(super) fn add_router(&mut self, index: usize, spec: &NodeSpec) {
        let NodeSpec::Router {
            name,
            interfaces,
            routes,
            arp_timeout,
            vrrp,
            ignore_garp,
            cold_spare,
        } = spec
        else {
            unreachable!("add_node sends only routers here");
        };
        let mut router = new_router(index, name, interfaces, routes, *arp_timeout, &[]);
        router.add_vrrp(vrrp.clone());
        router.set_ignore_garp(*ignore_garp);
        self.place(Box::new(router), interfaces, name);
        if *cold_spare {
            // In the cupboard: configured, but no cable in until a `PlugIn` action.
            self.world.unplug(index);
        }
    }

    /// Adds an `L4Balancer` node at `index`: a router half, its virtual services, and
    /// keepalived's checkers when any service has health checks.
    pub(super) fn add_l4_balancer(&mut self, index: usize, spec: &NodeSpec) {
        let NodeSpec::L4Balancer {
            name,
            interfaces,
            routes,
            arp_timeout,
            services,
            ipvsadm_at,
            connection_sync,
            marks,
            vrrp,
            ignore_garp,
            packet_cost,
        } = spec
        else {
            unreachable!("add_node sends only directors here");
        };
        // VIPs that VRRP moves are held only while master; the others always.
        let vips: Vec<Ipv4Addr> = services
            .iter()
            .filter(|s| s.fwmark.is_none())
            .map(|s| s.vip)
            .filter(|vip| !vrrp.iter().any(|v| v.vips.contains(vip)))
            .collect();
        let mut router = new_router(index, name, interfaces, routes, *arp_timeout, &vips);
        router.add_vrrp(vrrp.clone());
        router.set_ignore_garp(*ignore_garp);
        let snapshots = ipvsadm_at.iter().map(|&d| SimTime::ZERO + d).collect();
        let mut balancer = L4Balancer::new(router, index, virtual_services(services), snapshots);
        if *connection_sync {
            balancer.enable_sync();
        }
        balancer.set_marks(marks.clone());
        if let Some((cost, backlog)) = packet_cost {
            balancer.set_packet_cost(*cost, *backlog as usize);
        }
        if services.iter().any(|s| s.has_health_checks()) {
            self.enable_health_checks(&mut balancer, index, name, interfaces, services);
        }
        self.place(Box::new(balancer), interfaces, name);
    }

    /// Gives director `name` keepalived's checkers, each on a stack of its own per interface.
    fn enable_health_checks(
        &self,
        balancer: &mut L4Balancer,
        index: usize,
        name: &str,
        interfaces: &[InterfaceSpec],
        services: &[ServiceSpec],
    ) {
        let health = services
            .iter()
            .map(|s| ServiceHealth {
                quorum: s.quorum,
                hysteresis: s.hysteresis,
                sorry_server: s.sorry_server,
                members: s
                    .real_servers
                    .iter()
                    .zip(&s.checks)
                    .zip(&s.inhibit_on_failure)
                    .map(|((config, checkers), inhibit)| MemberHealth {
                        config: *config,
                        inhibit_on_failure: *inhibit,
                        checkers: checkers.clone(),
                    })
                    .collect(),
            })
            .collect();
        let stack = |iface: usize| {
            let spec = &interfaces[iface];
            let stack_name = format!("{name}/keepalived");
            Host::new(HostConfig {
                name: stack_name.clone(),
                node_index: index,
                mac: mac_for(index, iface, spec),
                ip: spec.ip,
                prefix_len: spec.prefix_len,
                gateway: None,
                stack_seed: self
                    .streams
                    .derive_seed(&format!("stack:{stack_name}:{iface}")),
            })
        };
        let iface_of = |target: Ipv4Addr| {
            interfaces
                .iter()
                .position(|i| in_subnet(target, i.ip, i.prefix_len))
        };
        let mut rng = self.streams.stream(&format!("keepalived:{name}"));
        balancer.enable_health_checks(health, stack, iface_of, &mut rng);
    }
}

/// A director's virtual services, each with its scheduler, in file order.
fn virtual_services(services: &[ServiceSpec]) -> Vec<VirtualService> {
    services
        .iter()
        .map(|s| {
            let service = VirtualService::new(
                s.vip,
                s.port,
                scheduler::by_name(&s.scheduler).expect("validation checked the scheduler name"),
                &s.real_servers,
                s.persistence,
            );
            match s.fwmark {
                Some(mark) => service.with_fwmark(mark),
                None => service,
            }
        })
        .collect()
}

/// A router (or a director's router half); `vips` are answered for on the interface whose
/// subnet holds them.
fn new_router(
    index: usize,
    name: &str,
    interfaces: &[InterfaceSpec],
    routes: &[RouteSpec],
    arp_timeout: SimDuration,
    vips: &[Ipv4Addr],
) -> Router {
    let router_ifaces: Vec<RouterInterface> = interfaces
        .iter()
        .enumerate()
        .map(|(i, s)| RouterInterface {
            mac: mac_for(index, i, s),
            ip: s.ip,
            prefix_len: s.prefix_len,
            extra_ips: vips
                .iter()
                .copied()
                .filter(|&vip| in_subnet(vip, s.ip, s.prefix_len))
                .collect(),
        })
        .collect();
    let static_routes = routes
        .iter()
        .map(|r| Route {
            network: r.network,
            prefix_len: r.prefix_len,
            via: Some(r.via),
            iface: interfaces
                .iter()
                .position(|i| in_subnet(r.via, i.ip, i.prefix_len))
                .expect("validation checked that every next hop is on a connected subnet"),
        })
        .collect();
    Router::new(name.to_string(), router_ifaces, static_routes, arp_timeout)
}
