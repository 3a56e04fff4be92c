//! Client groups: `count` hosts, each running an `HttpClient` with its share of the workload.

use std::net::Ipv4Addr;
use std::rc::Rc;

use super::Builder;
use crate::app::dns::stub::DnsStub;
use crate::app::{HttpClient, HttpClientConfig, StaticHosts, Workload};
use crate::scenario::model::{ClientDnsSpec, InterfaceSpec, NodeSpec, WorkloadKind, WorkloadSpec};
use crate::sim::{SimDuration, SimTime};

impl Builder<'_> {
    /// Adds the hosts of a `Clients` group, `<group>-1` to `<group>-<count>`, at consecutive
    /// addresses from `first_ip`.
    pub(super) fn add_clients(&mut self, spec: &NodeSpec) {
        let NodeSpec::Clients {
            name,
            count,
            segment,
            first_ip,
            prefix_len,
            gateway,
            ..
        } = spec
        else {
            unreachable!("add_node sends only client groups here");
        };
        for k in 0..*count {
            let host_name = format!("{name}-{}", k + 1);
            let index = self.world.next_node_index();
            let interface = InterfaceSpec {
                segment: *segment,
                ip: Ipv4Addr::from(u32::from(*first_ip) + k),
                prefix_len: *prefix_len,
                mac: None,
            };
            let mut host = self.new_host(&host_name, index, &interface, *gateway);
            let client = self.http_client(spec, &host_name, k);
            // The trace releases no request before this client's first may start.
            let floor = client.floor();
            host.add_app(Box::new(client));
            self.place(Box::new(host), std::slice::from_ref(&interface), &host_name);
            self.world.expect_requests(index, floor);
        }
    }

    /// The `HttpClient` of host `host_name`, the `k`th (from 0) of group `spec`: its share
    /// of the workload, its own random stream, and a DNS stub when the group uses DNS.
    fn http_client(&mut self, spec: &NodeSpec, host_name: &str, k: u32) -> HttpClient {
        let NodeSpec::Clients {
            count,
            url,
            workload,
            timeout,
            connect_timeout,
            dns,
            paths,
            keep_alive,
            cookie_bytes,
            origins,
            ..
        } = spec
        else {
            unreachable!("add_clients passes only client groups");
        };
        let start = SimTime::ZERO + workload.start;
        let config = HttpClientConfig {
            host: url.host.clone(),
            port: url.port,
            path: url.path.clone(),
            timeout: *timeout,
            workload: host_workload(workload, *count),
            max_requests: share(workload, *count, k),
            start,
            stop: workload.duration.map(|d| start + d),
            server_names: Rc::clone(&self.server_names),
            connect_timeout: *connect_timeout,
            paths: paths.clone(),
            try_next: dns.as_ref().is_some_and(|d| d.try_next),
            keep_alive: *keep_alive,
            cookie_bytes: *cookie_bytes as usize,
            origins: origins.clone(),
        };
        let resolver = Box::new(StaticHosts::new(self.scenario.hosts.clone()));
        let rng = self.streams.stream(&format!("client:{host_name}"));
        let client = HttpClient::new(config, resolver, rng);
        match dns {
            Some(dns) => client.with_dns(self.dns_stub(dns, host_name)),
            None => client,
        }
    }

    /// The DNS stub of host `host_name`, asking `dns.server`. DNS transaction ids are
    /// random, from their own stream.
    fn dns_stub(&mut self, dns: &ClientDnsSpec, host_name: &str) -> DnsStub {
        let first_id = self
            .streams
            .stream(&format!("dns-stub:{host_name}"))
            .next_u64() as u16;
        DnsStub::new(dns.server, dns.policy, first_id)
    }
}

/// Client `k`'s share of the group's requests: the totals are split evenly, and the first
/// hosts take the remainder (`None`: no limit).
fn share(workload: &WorkloadSpec, count: u32, k: u32) -> Option<u64> {
    workload
        .requests
        .map(|total| total / count as u64 + u64::from((k as u64) < total % count as u64))
}

/// One client's workload: an open loop's rate is the group's, divided among its hosts.
fn host_workload(workload: &WorkloadSpec, count: u32) -> Workload {
    match &workload.kind {
        WorkloadKind::OpenLoop { rate } => Workload::OpenLoop {
            mean_gap: SimDuration::from_secs_f64(count as f64 / rate),
        },
        WorkloadKind::ClosedLoop { users, think_time } => Workload::ClosedLoop {
            users: *users,
            think_time: *think_time,
        },
    }
}
