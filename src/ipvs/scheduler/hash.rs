//! *Multiplicative hashing*: how sh, dh, lblc and lblcr turn an address into a bucket number.
//!
//! All four schedulers hash a 32-bit value (an IPv4 address in host byte order, plus a port for
//! sh) into a table of `2^bits` buckets.
//! Current kernels use `hash_32()` from `include/linux/hash.h`: multiply by the 32-bit golden
//! ratio constant `0x61C88647` (wrapping) and keep the **top** `bits` bits of the product.
//! The top bits mix in every input bit, which the low bits do not.
//! Older kernels (seen in 3.10 and 4.4) multiplied by `2654435761` (`0x9E3779B1`, Knuth's
//! multiplicative constant) and kept the **low** bits, which depend only on the low input bits.
//! The two give different buckets, so a simulation that must match a given kernel has to pick
//! the right [`HashFlavor`].
//!
//! # Simplifications
//!
//! - Only the generic C `hash_32` is modelled; from memory, a few architectures (m68k,
//!   microblaze) override it, and x86 and arm64 do not.
//! - The switch from the legacy to the current hash happened somewhere between Linux 4.4 and
//!   about 5.6; the exact commit is not pinned down (reference section 10, item 2).
//!
//! # Further reading
//!
//! - Linux `include/linux/hash.h` (`hash_32`, `GOLDEN_RATIO_32`).
//! - Knuth, *The Art of Computer Programming*, vol. 3, section 6.4 (multiplicative hashing).
//! - `shared/reference/ipvs-schedulers.md`, sections 2.7 and 2.8.
//!
//! Start reading at [`hash_32`].

/// `GOLDEN_RATIO_32` from `include/linux/hash.h`: about `2^32 / phi`, chosen so that the product's
/// top bits are well mixed.
pub const GOLDEN_RATIO_32: u32 = 0x61C8_8647;

/// The multiplier of the legacy IPVS hashes, `2654435761` (`0x9E3779B1`), also about `2^32 / phi`.
pub const LEGACY_MULTIPLIER: u32 = 2_654_435_761;

/// Which kernel generation's hash to reproduce.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HashFlavor {
    /// `hash_32(value, bits)`: top bits of `value * 0x61C88647`; current kernels.
    #[default]
    Modern,
    /// `(value * 2654435761) & (2^bits - 1)`: low bits; Linux 4.4 and older.
    Legacy,
}

impl HashFlavor {
    /// Hashes `value` into `0..2^bits` the way this kernel generation does.
    pub fn bucket(self, value: u32, bits: u32) -> u32 {
        match self {
            HashFlavor::Modern => hash_32(value, bits),
            HashFlavor::Legacy => legacy_hash(value, bits),
        }
    }
}

/// The kernel's generic `hash_32(val, bits)`: `(val * GOLDEN_RATIO_32) >> (32 - bits)`.
///
/// The multiplication wraps at 32 bits, as C's `u32` arithmetic does.
/// `bits` must be in `1..=32`; IPVS uses 8 (sh, dh) and 10 (lblc, lblcr).
pub fn hash_32(value: u32, bits: u32) -> u32 {
    debug_assert!((1..=32).contains(&bits), "hash_32 needs 1..=32 bits");
    value.wrapping_mul(GOLDEN_RATIO_32) >> (32 - bits)
}

/// The pre-`hash_32` IPVS hash: `(val * 2654435761UL) & MASK`.
///
/// The kernel multiplies in `unsigned long` (64 bits), but only the low `bits` bits survive the
/// mask, and those are the same as in a wrapping 32-bit product.
pub fn legacy_hash(value: u32, bits: u32) -> u32 {
    debug_assert!((1..=32).contains(&bits), "legacy_hash needs 1..=32 bits");
    value.wrapping_mul(LEGACY_MULTIPLIER) & mask(bits)
}

/// `2^bits - 1`, the table-index mask.
pub fn mask(bits: u32) -> u32 {
    u32::MAX >> (32 - bits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    // The expected values below were computed independently, in Python, from the C formulas.

    #[test]
    fn hash_32_of_one_is_the_top_bits_of_the_golden_ratio() {
        // 1 * 0x61C88647 = 0x61C88647; its top 8 bits are 0x61 = 97.
        assert_eq!(hash_32(1, 8), 0x61);
        assert_eq!(hash_32(1, 10), 391);
        assert_eq!(hash_32(0, 8), 0);
        assert_eq!(hash_32(1, 32), GOLDEN_RATIO_32);
    }

    #[test]
    fn hash_32_wraps_like_c_u32() {
        let vip = u32::from(Ipv4Addr::new(10, 0, 0, 100));
        // 0x0A000064 * 0x61C88647 mod 2^32 = 0xF85473BC.
        assert_eq!(hash_32(vip, 32), 0xF854_73BC);
        assert_eq!(hash_32(vip, 8), 248);
        assert_eq!(hash_32(vip, 10), 993);
        let client = u32::from(Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(hash_32(client, 8), 50);
        assert_eq!(hash_32(client, 10), 203);
    }

    #[test]
    fn legacy_hash_keeps_the_low_bits() {
        assert_eq!(legacy_hash(1, 8), 2_654_435_761 & 0xFF);
        assert_eq!(legacy_hash(1, 8), 177);
        let vip = u32::from(Ipv4Addr::new(10, 0, 0, 100));
        assert_eq!(legacy_hash(vip, 8), 36);
        assert_eq!(legacy_hash(vip, 10), 292);
        // The low bits of the product depend only on the low bits of the input: two addresses
        // that differ only in the top octet share a legacy bucket, but not a modern one.
        let other = u32::from(Ipv4Addr::new(11, 0, 0, 100));
        assert_eq!(legacy_hash(vip, 8), legacy_hash(other, 8));
        assert_ne!(hash_32(vip, 8), hash_32(other, 8));
    }

    #[test]
    fn flavors_dispatch_to_their_functions() {
        let value = u32::from(Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(HashFlavor::Modern.bucket(value, 8), hash_32(value, 8));
        assert_eq!(HashFlavor::Legacy.bucket(value, 10), 945);
        assert_eq!(HashFlavor::default(), HashFlavor::Modern);
    }

    #[test]
    fn mask_has_bits_ones() {
        assert_eq!(mask(8), 0xFF);
        assert_eq!(mask(10), 0x3FF);
        assert_eq!(mask(32), u32::MAX);
    }
}
