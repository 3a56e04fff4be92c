//! *Hosts*: a plain machine with one interface, and the optional pinger on it.

use std::net::Ipv4Addr;

use super::checker::Checker;
use super::limits;
use crate::scenario::format::HostFile;
use crate::scenario::model::{NodeSpec, PingSpec};

impl Checker<'_> {
    /// A `Host`.
    pub fn host(&mut self, h: &HostFile) -> Option<NodeSpec> {
        let name = h.name.as_str();
        let anchor = Some(name);
        let interface = self.single_interface(&h.interface, name);
        let gateway = self.gateway(h.gateway.as_deref(), interface.as_ref(), name);
        let ping = h.ping.as_ref().map(|p| {
            let target = self.resolve_target(&p.target, name);
            let count = self.count(p.count.unwrap_or(4), "count", anchor, 1, limits::MAX_PINGS);
            PingSpec {
                target: target.unwrap_or(Ipv4Addr::UNSPECIFIED),
                count,
                interval: self.duration(p.interval.as_deref(), "1s", limits::PING_INTERVAL, anchor),
                start: self.start_time(p.start.as_deref(), anchor),
                timeout: self.duration(p.timeout.as_deref(), "1s", limits::TIMEOUT, anchor),
            }
        });
        Some(NodeSpec::Host {
            name: name.to_string(),
            interface: interface?,
            gateway,
            ping,
        })
    }
}
