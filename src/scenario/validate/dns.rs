//! *DNS*: an authoritative server's zone, and a caching resolver's clamps.

use std::net::Ipv4Addr;

use super::checker::Checker;
use super::limits;
use crate::app::dns::authority::{RecordOrder, ZoneEntry};
use crate::app::dns::cache::CacheConfig;
use crate::scenario::format::{DnsResolverFile, DnsServerFile, OrderFile};
use crate::scenario::model::NodeSpec;
use crate::scenario::spans::Step;

/// The most A records in one answer. A DNS message over UDP carries at most 512 bytes
/// (RFC 1035, section 4.2.1), and netlab does not truncate: a 12-byte header, a question of
/// up to 255 + 4 bytes, and 16 bytes per answer leave room for 15 answers.
const MAX_RECORDS: usize = 15;

impl Checker<'_> {
    /// A `DnsServer`.
    pub fn dns_server(&mut self, d: &DnsServerFile) -> Option<NodeSpec> {
        let name = d.name.as_str();
        let anchor = Some(name);
        let interface = self.single_interface(&d.interface, name);
        let gateway = self.gateway(d.gateway.as_deref(), interface.as_ref(), name);
        let mut zone = Vec::new();
        if self.list_len(d.zone.len(), "zone", anchor, limits::MAX_LIST) {
            let mut seen = std::collections::BTreeSet::new();
            let depth = self.depth();
            for (k, z) in d.zone.iter().enumerate() {
                self.enter_at(depth, &[Step::Field("zone"), Step::Item(k)]);
                self.dns_name(&z.name, "zone entry", anchor);
                if !seen.insert(z.name.trim_end_matches('.').to_ascii_lowercase()) {
                    self.at_value(
                        &z.name,
                        anchor,
                        format!(
                            "zone entry \"{}\" is listed twice (names are not case-sensitive)",
                            z.name
                        ),
                        "put all its addresses in one entry",
                    );
                }
                let ttl = self.duration(Some(&z.ttl), "0s", limits::TTL, anchor);
                let addresses =
                    if self.list_len(z.addresses.len(), "addresses", anchor, MAX_RECORDS) {
                        z.addresses
                            .iter()
                            .filter_map(|a| self.unicast(a, anchor))
                            .collect()
                    } else {
                        Vec::new()
                    };
                self.leave(depth);
                zone.push(ZoneEntry {
                    name: z.name.trim_end_matches('.').to_ascii_lowercase(),
                    ttl: (ttl.as_nanos() / 1_000_000_000) as u32,
                    addresses,
                    order: match z.order.unwrap_or(OrderFile::Cyclic) {
                        OrderFile::Cyclic => RecordOrder::Cyclic,
                        OrderFile::Fixed => RecordOrder::Fixed,
                        OrderFile::Random => RecordOrder::Random,
                    },
                });
            }
        }
        Some(NodeSpec::DnsServer {
            name: name.to_string(),
            interface: interface?,
            gateway,
            zone,
        })
    }

    /// A `DnsResolver`.
    pub fn dns_resolver(&mut self, d: &DnsResolverFile) -> Option<NodeSpec> {
        let name = d.name.as_str();
        let anchor = Some(name);
        let interface = self.single_interface(&d.interface, name);
        let gateway = self.gateway(d.gateway.as_deref(), interface.as_ref(), name);
        let upstream = self
            .unicast(&d.upstream, anchor)
            .unwrap_or(Ipv4Addr::UNSPECIFIED);
        if interface.as_ref().is_some_and(|i| i.ip == upstream) {
            self.at_value(
                &d.upstream,
                anchor,
                format!("resolver \"{name}\" would ask itself: {upstream} is its own address"),
                "the upstream is the authoritative DNS server's address",
            );
        }
        let min_ttl = self.opt_duration(d.min_ttl.as_deref(), limits::TTL, anchor);
        let max_ttl = self.opt_duration(d.max_ttl.as_deref(), limits::TTL, anchor);
        if let (Some(min), Some(max)) = (min_ttl, max_ttl)
            && min > max
        {
            self.at_field(
                "min_ttl",
                anchor,
                format!("min_ttl {min} is above max_ttl {max}"),
                "the resolver keeps a record at least min_ttl and at most max_ttl",
            );
        }
        Some(NodeSpec::DnsResolver {
            name: name.to_string(),
            interface: interface?,
            gateway,
            config: CacheConfig {
                upstream,
                min_ttl,
                max_ttl,
            },
        })
    }
}
