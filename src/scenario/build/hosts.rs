//! The single-interface hosts: a smoltcp stack each, and the applications their kind runs.

use super::Builder;
use crate::app::dns::authority::DnsAuthority;
use crate::app::dns::cache::DnsCache;
use crate::app::{
    CacheConfig, HealthBoard, HealthChecker, L7Proxy, Monitor, PingConfig, Pinger, SmtpGreeter,
    TransparentCache, WebServer, WebServerConfig,
};
use crate::node::Host;
use crate::scenario::model::NodeSpec;
use crate::sim::SimTime;

impl Builder<'_> {
    /// A `Host`: a stack, and a pinger if the file asks for one.
    pub(super) fn plain_host(&self, index: usize, spec: &NodeSpec) -> Host {
        let NodeSpec::Host {
            name,
            interface,
            gateway,
            ping,
        } = spec
        else {
            unreachable!("add_node sends only hosts here");
        };
        let mut host = self.new_host(name, index, interface, *gateway);
        if let Some(p) = ping {
            host.add_app(Box::new(Pinger::new(PingConfig {
                target: p.target,
                count: p.count,
                interval: p.interval,
                start: SimTime::ZERO + p.start,
                timeout: p.timeout,
                ident: 0x4e00 | (index as u16 & 0xff),
            })));
        }
        host
    }

    /// A `WebServer`: its loopback addresses and tunnel (direct routing, tunnelling), the web
    /// server or a transparent cache, and an SMTP greeter if it has an SMTP port.
    pub(super) fn web_server(&self, index: usize, spec: &NodeSpec) -> Host {
        let NodeSpec::WebServer {
            name,
            interface,
            gateway,
            port,
            workers,
            backlog,
            abort_on_overflow,
            service_time,
            response_bytes,
            paths,
            loopback,
            arp_ignore,
            tunnel,
            smtp_port,
            keep_alive,
            cache,
        } = spec
        else {
            unreachable!("add_node sends only web servers here");
        };
        let mut host = self.new_host(name, index, interface, *gateway);
        for &ip in loopback {
            host.add_loopback_address(ip, *arp_ignore);
        }
        if let Some(tunnel) = tunnel {
            host.add_tunnel(tunnel.clone(), *arp_ignore);
        }
        let rng = self.streams.stream(&format!("web:{name}"));
        if let Some((capacity, origin_port)) = cache {
            let config = CacheConfig {
                name: name.clone(),
                port: *port,
                slots: workers + backlog,
                service_time: *service_time,
                capacity: *capacity,
                origin_port: *origin_port,
            };
            host.add_app(Box::new(TransparentCache::new(config, rng)));
        } else {
            let config = WebServerConfig {
                name: name.clone(),
                port: *port,
                workers: *workers,
                backlog: *backlog,
                abort_on_overflow: *abort_on_overflow,
                service_time: *service_time,
                response_bytes: *response_bytes,
                paths: paths.clone(),
                keep_alive: *keep_alive,
            };
            host.add_app(Box::new(WebServer::new(config, rng)));
        }
        if let Some(port) = smtp_port {
            host.add_app(Box::new(SmtpGreeter::new(name.clone(), *port)));
        }
        host
    }

    /// A `DnsServer`: an authority for its zone.
    pub(super) fn dns_server(&self, index: usize, spec: &NodeSpec) -> Host {
        let NodeSpec::DnsServer {
            name,
            interface,
            gateway,
            zone,
        } = spec
        else {
            unreachable!("add_node sends only DNS servers here");
        };
        let mut host = self.new_host(name, index, interface, *gateway);
        let rng = self.streams.stream(&format!("dns:{name}"));
        host.add_app(Box::new(DnsAuthority::new(zone.clone(), rng)));
        host
    }

    /// An `L7Balancer`: the proxy, and the checkers whose verdicts it reads, if any.
    pub(super) fn l7_balancer(&self, index: usize, spec: &NodeSpec) -> Host {
        let NodeSpec::L7Balancer {
            name,
            interface,
            gateway,
            config,
            checks,
        } = spec
        else {
            unreachable!("add_node sends only L7 balancers here");
        };
        let mut host = self.new_host(name, index, interface, *gateway);
        let mut proxy = L7Proxy::new(config.clone(), index, name.clone());
        if checks.is_empty() {
            host.add_app(Box::new(proxy));
        } else {
            // The proxy reads the verdicts of checkers running on its own stack.
            let board = HealthBoard::default();
            let owners = checks.iter().map(|(p, s, _)| (*p, *s)).collect();
            let alpha: Vec<bool> = checks.iter().map(|(_, _, c)| c.alpha).collect();
            proxy = proxy.with_health(board.clone(), owners, &alpha);
            let configs = checks.iter().map(|(_, _, c)| c.clone()).collect();
            let mut rng = self.streams.stream(&format!("checks:{name}"));
            host.add_app(Box::new(proxy));
            host.add_app(Box::new(HealthChecker::new(configs, board, &mut rng)));
        }
        host
    }

    /// A `DnsResolver`: a shared caching resolver.
    pub(super) fn dns_resolver(&self, index: usize, spec: &NodeSpec) -> Host {
        let NodeSpec::DnsResolver {
            name,
            interface,
            gateway,
            config,
        } = spec
        else {
            unreachable!("add_node sends only DNS resolvers here");
        };
        let mut host = self.new_host(name, index, interface, *gateway);
        host.add_app(Box::new(DnsCache::new(config.clone())));
        host
    }

    /// A `Monitor`: its probes (their `on_alarm` reactions are added with the timeline).
    pub(super) fn monitor(&self, index: usize, spec: &NodeSpec) -> Host {
        let NodeSpec::Monitor {
            name,
            interface,
            gateway,
            probes,
        } = spec
        else {
            unreachable!("add_node sends only monitors here");
        };
        let mut host = self.new_host(name, index, interface, *gateway);
        let probes = probes.iter().map(|p| p.probe.clone()).collect();
        let mut rng = self.streams.stream(&format!("monitor:{name}"));
        host.add_app(Box::new(Monitor::new(name, probes, &mut rng)));
        host
    }
}
