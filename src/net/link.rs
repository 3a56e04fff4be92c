//! *A cable and its transmit queue*: bandwidth, propagation delay, drop-tail queueing and loss.
//!
//! A frame of `n` bytes takes `8n / bandwidth` seconds to put on the wire (serialisation delay),
//! then `delay` seconds to reach the far end (propagation delay).
//! While the wire is busy, later frames wait in a first-in first-out queue.
//! The queue holds at most `queue_limit_bytes`; a frame that does not fit is dropped
//! (*drop-tail*, what most switch ports and NIC rings do).
//!
//! The queue is computed, not simulated frame by frame: it remembers when the wire becomes free
//! and which queued frames leave when, so one enqueue costs O(1) amortised and no event.
//!
//! # Simplifications
//! - No preamble, inter-frame gap or minimum frame padding; a frame costs exactly its bytes.
//! - Loss is independent per frame (no bursts).
//!
//! # Further reading
//! - `book/src/engine.md`, "Frames and wires".

use std::collections::VecDeque;

use crate::sim::{SimDuration, SimTime};

/// Bit-nanoseconds in a byte: a byte at 1 bit per second takes this many nanoseconds.
const BIT_NANOS_PER_BYTE: u64 = 8 * 1_000_000_000;

/// A link speed in bits per second.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Bandwidth {
    /// Bits per second; never zero.
    bits_per_sec: u64,
    /// Nanoseconds per byte when that is a whole number (1 Gbps: 8; 100 Mbps: 80), else 0.
    /// Every frame is offered once per cable it crosses, and a multiplication costs a few
    /// cycles where a 64-bit division costs tens.
    ns_per_byte: u64,
}

impl Bandwidth {
    /// A bandwidth of `bits_per_sec` bits per second (must not be zero).
    pub const fn from_bits_per_sec(bits_per_sec: u64) -> Bandwidth {
        let ns_per_byte = if bits_per_sec > 0 && BIT_NANOS_PER_BYTE.is_multiple_of(bits_per_sec) {
            BIT_NANOS_PER_BYTE / bits_per_sec
        } else {
            0
        };
        Bandwidth {
            bits_per_sec,
            ns_per_byte,
        }
    }

    /// Bits per second.
    pub const fn bits_per_sec(self) -> u64 {
        self.bits_per_sec
    }

    /// How long `bytes` bytes take to put on the wire, rounded up to the nanosecond.
    ///
    /// # Examples
    /// ```
    /// use netlab::net::Bandwidth;
    /// let fast_ethernet = Bandwidth::from_bits_per_sec(100_000_000);
    /// assert_eq!(fast_ethernet.serialisation_delay(1500).as_nanos(), 120_000);
    /// ```
    pub fn serialisation_delay(self, bytes: usize) -> SimDuration {
        // Every frame is offered once per cable it crosses, so this is on the hot path. A
        // speed that divides 8 × 10^9 (1 Gbps, 100 Mbps, 10 Mbps, 2 Gbps...) takes a whole
        // number of nanoseconds per byte: one multiplication. Otherwise, for any frame up to
        // 2.3 GB, 8n × 10^9 fits in a u64 and one machine division does; a u128 division is
        // a call into the compiler's runtime library.
        if self.ns_per_byte != 0
            && let Some(ns) = (bytes as u64).checked_mul(self.ns_per_byte)
        {
            return SimDuration::from_nanos(ns);
        }
        let ns = match (bytes as u64).checked_mul(BIT_NANOS_PER_BYTE) {
            Some(bit_nanos) => bit_nanos.div_ceil(self.bits_per_sec),
            None => {
                let bit_nanos = bytes as u128 * 8 * 1_000_000_000;
                bit_nanos.div_ceil(self.bits_per_sec as u128) as u64
            }
        };
        SimDuration::from_nanos(ns)
    }
}

/// Shows the speed only, as it always has: a scenario's fingerprint (`explain::folder`) is
/// its `Debug` text, and `ns_per_byte` follows from the speed.
impl std::fmt::Debug for Bandwidth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bandwidth")
            .field("bits_per_sec", &self.bits_per_sec)
            .finish()
    }
}

/// The physics shared by every port of a segment or link.
#[derive(Clone, Copy, Debug)]
pub struct LinkConfig {
    /// Speed of each direction of each cable.
    pub bandwidth: Bandwidth,
    /// One-way propagation delay between two attached interfaces.
    pub delay: SimDuration,
    /// Drop-tail limit of each transmit queue, in bytes.
    pub queue_limit_bytes: u64,
    /// Probability that a frame is lost on delivery, in `[0, 1]`.
    pub loss: f64,
}

/// One direction of one cable: a FIFO transmit queue in front of a wire.
#[derive(Debug)]
pub struct TxQueue {
    /// When the wire finishes sending everything already accepted.
    busy_until: SimTime,
    /// Departure time (last bit on the wire) and size of each accepted frame not yet gone.
    in_queue: VecDeque<(SimTime, u32)>,
    /// Sum of the sizes in `in_queue`, in bytes.
    queued_bytes: u64,
}

impl TxQueue {
    /// An empty, idle queue.
    pub fn new() -> TxQueue {
        TxQueue {
            busy_until: SimTime::ZERO,
            in_queue: VecDeque::new(),
            queued_bytes: 0,
        }
    }

    /// Offers a frame of `len` bytes at `now`. Returns when its last bit has been sent, or
    /// `None` when the queue is full and the frame is dropped.
    pub fn enqueue(&mut self, now: SimTime, len: usize, config: &LinkConfig) -> Option<SimTime> {
        // 1. Forget frames that have left the wire by now: all of them if the wire is idle
        //    (the most common case: each of them left no later than the last one).
        if self.busy_until <= now {
            self.in_queue.clear();
            self.queued_bytes = 0;
        }
        while let Some(&(departure, bytes)) = self.in_queue.front() {
            if departure > now {
                break;
            }
            self.queued_bytes -= bytes as u64;
            self.in_queue.pop_front();
        }
        // 2. Drop-tail: refuse the frame if it does not fit.
        if self.queued_bytes + len as u64 > config.queue_limit_bytes {
            return None;
        }
        // 3. It starts when the wire is free, and takes its serialisation delay.
        let start = self.busy_until.max(now);
        let departure = start + config.bandwidth.serialisation_delay(len);
        self.busy_until = departure;
        self.in_queue.push_back((departure, len as u32));
        self.queued_bytes += len as u64;
        Some(departure)
    }

    /// Bytes waiting or being sent at the last enqueue.
    pub fn queued_bytes(&self) -> u64 {
        self.queued_bytes
    }
}

impl Default for TxQueue {
    fn default() -> Self {
        TxQueue::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(limit: u64) -> LinkConfig {
        LinkConfig {
            bandwidth: Bandwidth::from_bits_per_sec(8_000_000), // one byte per microsecond
            delay: SimDuration::from_micros(10),
            queue_limit_bytes: limit,
            loss: 0.0,
        }
    }

    #[test]
    fn a_bandwidth_shows_its_speed_only() {
        let bandwidth = Bandwidth::from_bits_per_sec(1_000_000_000);
        assert_eq!(
            format!("{bandwidth:?}"),
            "Bandwidth { bits_per_sec: 1000000000 }"
        );
    }

    #[test]
    fn the_product_and_the_narrow_and_wide_divisions_agree() {
        let wide =
            |bytes: usize, bps: u64| (bytes as u128 * 8_000_000_000).div_ceil(bps as u128) as u64;
        for bps in [
            1,
            3,
            56_000,
            100_000_000,
            1_000_000_000,
            7_777_777_777,
            8_000_000_000,
            10_000_000_000,
            u64::MAX,
        ] {
            let bandwidth = Bandwidth::from_bits_per_sec(bps);
            for bytes in [
                0,
                1,
                60,
                1514,
                65_535,
                2_305_843_009,
                2_305_843_010,
                1 << 40,
            ] {
                let expected = wide(bytes, bps);
                let got = bandwidth.serialisation_delay(bytes).as_nanos();
                assert_eq!(got, expected, "{bytes} bytes at {bps} b/s");
            }
        }
    }

    #[test]
    fn back_to_back_frames_queue_behind_each_other() {
        let cfg = config(10_000);
        let mut q = TxQueue::new();
        let t0 = SimTime::ZERO;
        assert_eq!(q.enqueue(t0, 100, &cfg), Some(SimTime::from_nanos(100_000)));
        assert_eq!(q.enqueue(t0, 100, &cfg), Some(SimTime::from_nanos(200_000)));
        // After the wire went idle, a frame starts at once.
        let later = SimTime::from_nanos(1_000_000);
        assert_eq!(
            q.enqueue(later, 50, &cfg),
            Some(SimTime::from_nanos(1_050_000))
        );
    }

    #[test]
    fn a_full_queue_drops_the_tail() {
        let cfg = config(250);
        let mut q = TxQueue::new();
        assert!(q.enqueue(SimTime::ZERO, 100, &cfg).is_some());
        assert!(q.enqueue(SimTime::ZERO, 100, &cfg).is_some());
        assert_eq!(q.enqueue(SimTime::ZERO, 100, &cfg), None);
        assert_eq!(q.queued_bytes(), 200);
        // Once the first frame has left, there is room again.
        assert!(q.enqueue(SimTime::from_nanos(100_000), 100, &cfg).is_some());
    }
}
