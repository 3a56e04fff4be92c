//! *Seeded randomness*: one seed per run, one independent stream per component.
//!
//! Everything random in a run (packet loss on a link, a client's arrival times, a server's
//! service times, a TCP stack's initial sequence numbers) draws from a [`Stream`].
//! Each stream is a ChaCha8 generator whose key is derived from the run's root seed and the
//! stream's stable *name*, such as `"link:lan/port:2"` or `"client:clients-3"`.
//! Because the name, not the creation order, picks the key, adding a node to a scenario does not
//! change the random numbers any other node sees.
//!
//! The key is derived with FNV-1a and SplitMix64, written out here rather than taken from
//! `std::hash`, whose output may change between Rust releases.
//! The float and exponential draws are written out too, so a dependency update cannot change them.
//!
//! # Simplifications
//! - ChaCha8 is far stronger than a simulator needs; we use it for its stable, documented output.
//!
//! # Further reading
//! - `book/src/engine.md`, "Randomness".

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::SimDuration;

/// The root of all randomness in one run.
#[derive(Clone, Copy, Debug)]
pub struct Streams {
    /// The scenario's `seed`, or the one given with `--seed`.
    root_seed: u64,
}

impl Streams {
    /// The streams of a run with this root seed.
    pub fn new(root_seed: u64) -> Streams {
        Streams { root_seed }
    }

    /// The root seed, as printed in reports.
    pub fn root_seed(&self) -> u64 {
        self.root_seed
    }

    /// The stream named `name`. The same name always gives the same numbers for the same seed.
    ///
    /// # Examples
    /// ```
    /// use netlab::sim::Streams;
    /// let streams = Streams::new(7);
    /// let mut a = streams.stream("client:alice");
    /// let mut b = streams.stream("client:alice");
    /// let mut c = streams.stream("client:bob");
    /// let x = a.next_u64();
    /// assert_eq!(x, b.next_u64());
    /// assert_ne!(x, c.next_u64());
    /// ```
    pub fn stream(&self, name: &str) -> Stream {
        Stream {
            rng: ChaCha8Rng::seed_from_u64(self.derive_seed(name)),
        }
    }

    /// A 64-bit seed for `name`, for generators that are not a [`Stream`] (smoltcp's `random_seed`).
    pub fn derive_seed(&self, name: &str) -> u64 {
        splitmix64(self.root_seed ^ fnv1a(name.as_bytes()))
    }
}

/// One independent sequence of random numbers.
pub struct Stream {
    /// The generator; only this module touches it.
    rng: ChaCha8Rng,
}

impl Stream {
    /// A uniformly random 64-bit number.
    pub fn next_u64(&mut self) -> u64 {
        self.rng.next_u64()
    }

    /// A uniform float in `[0, 1)` with 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// `true` with probability `p` (a loss decision, say). `p <= 0` never draws a number, so a
    /// loss-free link does not consume its stream.
    pub fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.uniform() < p
    }

    /// An exponentially distributed duration with the given mean (Poisson inter-arrival times,
    /// memoryless service times), by inversion: `-mean * ln(1 - U)`.
    pub fn exponential(&mut self, mean: SimDuration) -> SimDuration {
        let u = self.uniform();
        SimDuration::from_secs_f64(-mean.as_secs_f64() * (1.0 - u).ln())
    }

    /// A uniform integer in `0..n` (`n > 0`), without modulo bias worth speaking of for small `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "Stream::below needs a non-empty range");
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }
}

/// FNV-1a, 64-bit: a tiny, fixed string hash.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= b as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// SplitMix64's finaliser: spreads the bits so nearby inputs give unrelated seeds.
fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_stable_across_releases() {
        // Pinned values: if this changes, every snapshot in the project changes with it.
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        let mut s = Streams::new(1).stream("x");
        let first = s.next_u64();
        let mut again = Streams::new(1).stream("x");
        assert_eq!(first, again.next_u64());
    }

    #[test]
    fn different_seeds_give_different_streams() {
        let a = Streams::new(1).stream("link").next_u64();
        let b = Streams::new(2).stream("link").next_u64();
        assert_ne!(a, b);
    }

    #[test]
    fn exponential_has_the_right_mean() {
        let mut s = Streams::new(3).stream("exp");
        let n = 20_000;
        let mean = SimDuration::from_millis(10);
        let total: f64 = (0..n).map(|_| s.exponential(mean).as_secs_f64()).sum();
        let observed = total / n as f64;
        assert!(
            (observed - 0.010).abs() < 0.0005,
            "observed mean {observed}"
        );
    }

    #[test]
    fn zero_loss_draws_nothing() {
        let mut s = Streams::new(4).stream("loss");
        let mut t = Streams::new(4).stream("loss");
        assert!(!s.chance(0.0));
        assert_eq!(s.next_u64(), t.next_u64());
    }

    #[test]
    fn below_stays_in_range() {
        let mut s = Streams::new(5).stream("below");
        assert!((0..1000).all(|_| s.below(7) < 7));
    }
}
