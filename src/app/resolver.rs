//! *Name resolution*: turning `www` into an address before connecting.
//!
//! Clients ask a [`Resolver`]. The foundation ships a static table, like `/etc/hosts`; a real
//! DNS resolver with caches plugs in behind the same trait.
//!
//! # Simplifications
//! - The static table answers instantly and never fails for a listed name.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// Something that maps names to addresses.
pub trait Resolver {
    /// The address for `name`, or `None` if it cannot be resolved.
    fn resolve(&mut self, name: &str) -> Option<Ipv4Addr>;
}

/// A fixed name table. Address literals resolve to themselves.
#[derive(Clone, Debug, Default)]
pub struct StaticHosts {
    /// Name → address.
    table: BTreeMap<String, Ipv4Addr>,
}

impl StaticHosts {
    /// A table with these entries.
    pub fn new(table: BTreeMap<String, Ipv4Addr>) -> StaticHosts {
        StaticHosts { table }
    }
}

impl Resolver for StaticHosts {
    fn resolve(&mut self, name: &str) -> Option<Ipv4Addr> {
        name.parse().ok().or_else(|| self.table.get(name).copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_literals() {
        let mut hosts = StaticHosts::new(BTreeMap::from([(
            "www".to_string(),
            Ipv4Addr::new(10, 0, 1, 10),
        )]));
        assert_eq!(hosts.resolve("www"), Some(Ipv4Addr::new(10, 0, 1, 10)));
        assert_eq!(hosts.resolve("10.9.9.9"), Some(Ipv4Addr::new(10, 9, 9, 9)));
        assert_eq!(hosts.resolve("nowhere"), None);
    }
}
