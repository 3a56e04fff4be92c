//! *The ARP cache* of a router: which MAC address answers for which IPv4 neighbour.
//!
//! Before a router can send a packet to a next hop on an Ethernet segment it needs the next
//! hop's MAC address. It asks with a broadcast ARP request ("who has 10.0.1.10? tell
//! 10.0.1.1") and remembers the answer for a while. Entries expire so that a neighbour that
//! changed its card (or a VIP that moved to another machine) is asked about again.
//!
//! Learning follows Linux with `arp_accept=0`:
//! - an ARP packet whose *target* is one of our addresses creates or refreshes an entry for its
//!   sender;
//! - any other ARP packet (a gratuitous ARP, say) only *updates* an entry that already exists.
//!
//! # Simplifications
//! - No NUD state machine (REACHABLE/STALE/DELAY/PROBE): an entry is valid until it expires.
//!
//! # Further reading
//! - RFC 826; Linux `Documentation/networking/ip-sysctl.rst` (`arp_accept`).

use std::net::Ipv4Addr;

use smoltcp::wire::EthernetAddress;

use crate::sim::{LookupMap, SimDuration, SimTime};

/// One learned neighbour.
#[derive(Clone, Copy, Debug)]
struct Entry {
    /// Its MAC address.
    mac: EthernetAddress,
    /// When the entry stops being trusted.
    expires: SimTime,
}

/// Neighbours learned per interface.
pub struct ArpCache {
    /// `(interface, neighbour address)` → entry: a hash map for lookups only
    /// (`sim::LookupMap`), asked for every packet a router forwards and never listed.
    entries: LookupMap<(usize, Ipv4Addr), Entry>,
    /// How long an entry stays valid after it was learned or confirmed.
    lifetime: SimDuration,
}

impl ArpCache {
    /// An empty cache whose entries live for `lifetime`.
    pub fn new(lifetime: SimDuration) -> ArpCache {
        ArpCache {
            entries: LookupMap::default(),
            lifetime,
        }
    }

    /// The MAC address of `ip` on `iface`, if known and not expired at `now`.
    pub fn lookup(&self, now: SimTime, iface: usize, ip: Ipv4Addr) -> Option<EthernetAddress> {
        self.entries
            .get(&(iface, ip))
            .filter(|entry| entry.expires > now)
            .map(|entry| entry.mac)
    }

    /// Learns from an ARP packet from `ip`/`mac` on `iface`. `aimed_at_us` is whether the
    /// packet's target address is ours: only then may a new entry be created. Returns the MAC
    /// the entry had before, when an existing entry changed its MAC (a VIP moved).
    pub fn learn(
        &mut self,
        now: SimTime,
        iface: usize,
        ip: Ipv4Addr,
        mac: EthernetAddress,
        aimed_at_us: bool,
    ) -> Option<EthernetAddress> {
        let expires = now + self.lifetime;
        match self.entries.get_mut(&(iface, ip)) {
            Some(entry) => {
                let old = entry.mac;
                *entry = Entry { mac, expires };
                (old != mac).then_some(old)
            }
            None if aimed_at_us => {
                self.entries.insert((iface, ip), Entry { mac, expires });
                None
            }
            None => None,
        }
    }

    /// Forgets everything (a reboot).
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 5);
    const MAC1: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 1]);
    const MAC2: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 2]);

    #[test]
    fn entries_expire() {
        let mut cache = ArpCache::new(SimDuration::from_secs(60));
        cache.learn(SimTime::ZERO, 0, A, MAC1, true);
        assert_eq!(cache.lookup(SimTime::from_nanos(1), 0, A), Some(MAC1));
        assert_eq!(
            cache.lookup(SimTime::ZERO + SimDuration::from_secs(60), 0, A),
            None
        );
        assert_eq!(
            cache.lookup(SimTime::from_nanos(1), 1, A),
            None,
            "per interface"
        );
    }

    #[test]
    fn gratuitous_arp_updates_but_does_not_create() {
        let mut cache = ArpCache::new(SimDuration::from_secs(60));
        cache.learn(SimTime::ZERO, 0, A, MAC1, false);
        assert_eq!(cache.lookup(SimTime::ZERO, 0, A), None);
        cache.learn(SimTime::ZERO, 0, A, MAC1, true);
        cache.learn(SimTime::ZERO, 0, A, MAC2, false);
        assert_eq!(cache.lookup(SimTime::ZERO, 0, A), Some(MAC2));
    }
}
