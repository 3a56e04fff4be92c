//! A hash map that cannot be walked: fast lookups without a door for hash order.
//!
//! netlab forbids `HashMap` (clippy.toml) because walking one visits its entries in an order
//! that depends on the hash, and an order that reaches a result breaks determinism. But a
//! per-packet lookup (the IPVS connection table: two or three per packet) is where a B-tree's
//! pointer chasing costs most, and a lookup never shows an order.
//!
//! [`LookupMap`] keeps both: it wraps a `HashMap` with a fixed seed (`foldhash`'s
//! `FixedState`, the same on every machine and run) and offers only what cannot reveal order:
//! `get`, `get_mut`, `insert`, `remove`, `len`. There is no `iter`, `keys` or `drain`. Code that
//! needs an order keeps a B-tree beside it (the connection table's expiry index does).

// The one place the ban is lifted; the wrapper is what makes it safe.
#[allow(clippy::disallowed_types)]
type Inner<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;

/// A map for lookups only (module docs): no way to walk it, so no hash order can leak.
pub struct LookupMap<K, V> {
    inner: Inner<K, V>,
}

impl<K, V> Default for LookupMap<K, V> {
    fn default() -> Self {
        LookupMap {
            inner: Inner::default(),
        }
    }
}

impl<K: std::hash::Hash + Eq, V> LookupMap<K, V> {
    /// The value under `key`, if any.
    pub fn get(&self, key: &K) -> Option<&V> {
        self.inner.get(key)
    }

    /// The value under `key`, to change in place.
    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.inner.get_mut(key)
    }

    /// Files `value` under `key`; returns the value it replaced.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        self.inner.insert(key, value)
    }

    /// Takes the value under `key` out.
    pub fn remove(&mut self, key: &K) -> Option<V> {
        self.inner.remove(key)
    }

    /// Forgets every entry.
    pub fn clear(&mut self) {
        self.inner.clear();
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lookup_map_files_replaces_and_takes_out() {
        let mut map = LookupMap::default();
        assert!(map.is_empty());
        assert_eq!(map.insert((1u32, 80u16), "a"), None);
        assert_eq!(map.insert((2, 80), "b"), None);
        assert_eq!(map.insert((1, 80), "c"), Some("a"));
        assert_eq!(map.len(), 2);
        if let Some(value) = map.get_mut(&(2, 80)) {
            *value = "d";
        }
        assert_eq!(map.get(&(2, 80)), Some(&"d"));
        assert_eq!(map.remove(&(1, 80)), Some("c"));
        assert_eq!(map.get(&(1, 80)), None);
        assert_eq!(map.len(), 1);
        map.clear();
        assert!(map.is_empty());
        assert_eq!(map.get(&(2, 80)), None);
    }
}
