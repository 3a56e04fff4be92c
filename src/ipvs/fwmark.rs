//! *Firewall marks*: services matched by a mark instead of an address and port.
//!
//! `ipvsadm -A -f 1 -s dh` creates a virtual service that has no VIP: it takes every packet
//! netfilter has marked `1`. The mark is set by a rule in the `mangle` table before routing,
//! for example
//!
//! ```text
//! iptables -t mangle -A PREROUTING -s 10.0.1.0/24 -p tcp --dport 80 -j MARK --set-mark 1
//! ```
//!
//! ("TCP from the clients' network to port 80 of any address"). This is how a director sits
//! in front of a cluster of *transparent web caches*: the clients' packets are addressed to
//! the origin servers, not to a VIP; the director is only on their path (their gateway), marks
//! them, and schedules each connection to a cache. `dh` then hashes the *origin's* address, so
//! each cache holds its own part of the web.
//!
//! # Simplifications
//! - A rule matches TCP only, on its source network and destination port; packets to the
//!   director's own addresses are never marked (they are not forwarded).
//! - One mark per packet: the first rule that matches sets it (a later `MARK` rule would
//!   overwrite it in netfilter).
//!
//! # Further reading
//! - `ipvsadm(8)` (`-f, --fwmark-service`); `iptables-extensions(8)` (`MARK`); the LVS-HOWTO,
//!   "fwmark" and "Transparent cache cluster"; Linux `ip_vs_core.c` (`ip_vs_in` takes
//!   `skb->mark`), `ip_vs_ctl.c` (`ip_vs_service_find` looks up the mark first).

use std::net::Ipv4Addr;

/// One `iptables -t mangle -A PREROUTING … -j MARK --set-mark N` rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarkRule {
    /// The mark set (`--set-mark`), never 0 (0 means "no mark").
    pub mark: u32,
    /// `-s`: the source network (address and prefix length); `None`: any source.
    pub from: Option<(Ipv4Addr, u8)>,
    /// `--dport`: the destination port; `None`: any port.
    pub port: Option<u16>,
}

impl MarkRule {
    /// Whether the rule matches a TCP packet from `src` to `dst_port`.
    pub fn matches(&self, src: Ipv4Addr, dst_port: u16) -> bool {
        let from_ok = self.from.is_none_or(|(net, len)| {
            let mask = if len == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(len.min(32)))
            };
            u32::from(src) & mask == u32::from(net) & mask
        });
        from_ok && self.port.is_none_or(|p| p == dst_port)
    }

    /// The rule as the `iptables` command that would set it up.
    pub fn iptables(&self) -> String {
        let mut line = String::from("iptables -t mangle -A PREROUTING");
        if let Some((net, len)) = self.from {
            line.push_str(&format!(" -s {net}/{len}"));
        }
        line.push_str(" -p tcp");
        if let Some(port) = self.port {
            line.push_str(&format!(" --dport {port}"));
        }
        line.push_str(&format!(" -j MARK --set-mark {}", self.mark));
        line
    }
}

/// The mark of a TCP packet from `src` to `dst_port`: the first matching rule's, or 0.
pub fn mark_of(rules: &[MarkRule], src: Ipv4Addr, dst_port: u16) -> u32 {
    rules
        .iter()
        .find(|r| r.matches(src, dst_port))
        .map_or(0, |r| r.mark)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> MarkRule {
        MarkRule {
            mark: 1,
            from: Some((Ipv4Addr::new(10, 0, 1, 0), 24)),
            port: Some(80),
        }
    }

    #[test]
    fn a_rule_marks_its_network_and_port_only() {
        let rules = [rule()];
        assert_eq!(mark_of(&rules, Ipv4Addr::new(10, 0, 1, 7), 80), 1);
        assert_eq!(mark_of(&rules, Ipv4Addr::new(10, 0, 2, 7), 80), 0);
        assert_eq!(mark_of(&rules, Ipv4Addr::new(10, 0, 1, 7), 443), 0);
    }

    #[test]
    fn the_first_matching_rule_wins() {
        let any = MarkRule {
            mark: 2,
            from: None,
            port: None,
        };
        assert_eq!(mark_of(&[rule(), any], Ipv4Addr::new(10, 0, 1, 7), 80), 1);
        assert_eq!(mark_of(&[rule(), any], Ipv4Addr::new(1, 2, 3, 4), 22), 2);
    }

    #[test]
    fn the_rule_reads_as_iptables() {
        assert_eq!(
            rule().iptables(),
            "iptables -t mangle -A PREROUTING -s 10.0.1.0/24 -p tcp --dport 80 -j MARK --set-mark 1"
        );
    }
}
