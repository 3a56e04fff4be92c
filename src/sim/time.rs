//! *Virtual time*: the only clock a simulation may read.
//!
//! A run never looks at the wall clock.
//! Time is an integer count of nanoseconds since the start of the run, so two runs of the same
//! scenario see exactly the same instants, and adding two durations never rounds.
//! [`SimTime`] is a point on that axis and [`SimDuration`] the distance between two points.
//! smoltcp counts in microseconds; the conversion lives in `node::host` and rounds down.
//!
//! # Simplifications
//! - One global clock: every node's clock is perfect and in step (no drift, no NTP).
//!
//! # Further reading
//! - `book/src/engine.md`, "Virtual time".

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// A point in virtual time, in nanoseconds since the run started.
///
/// # Examples
/// ```
/// use netlab::sim::{SimDuration, SimTime};
/// let t = SimTime::ZERO + SimDuration::from_millis(3);
/// assert_eq!(t.as_nanos(), 3_000_000);
/// assert_eq!(t.to_string(), "0.003000000s");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(u64);

/// A length of virtual time, in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimDuration(u64);

impl SimTime {
    /// The instant a run starts.
    pub const ZERO: SimTime = SimTime(0);
    /// Later than any instant a run can reach.
    pub const NEVER: SimTime = SimTime(u64::MAX);

    /// The instant `ns` nanoseconds after the start.
    pub const fn from_nanos(ns: u64) -> SimTime {
        SimTime(ns)
    }

    /// Nanoseconds since the start.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Microseconds since the start, rounded down (smoltcp's resolution).
    pub const fn as_micros(self) -> u64 {
        self.0 / 1_000
    }

    /// Seconds since the start, as a float for reports only (never for simulation decisions).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// The time from `earlier` to `self`, or zero if `earlier` is later.
    pub fn saturating_since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
}

impl SimDuration {
    /// No time at all.
    pub const ZERO: SimDuration = SimDuration(0);
    /// The longest duration there is.
    pub const MAX: SimDuration = SimDuration(u64::MAX);

    /// A duration of `ns` nanoseconds.
    pub const fn from_nanos(ns: u64) -> SimDuration {
        SimDuration(ns)
    }

    /// A duration of `us` microseconds.
    pub const fn from_micros(us: u64) -> SimDuration {
        SimDuration(us * 1_000)
    }

    /// A duration of `ms` milliseconds.
    pub const fn from_millis(ms: u64) -> SimDuration {
        SimDuration(ms * 1_000_000)
    }

    /// A duration of `s` seconds.
    pub const fn from_secs(s: u64) -> SimDuration {
        SimDuration(s * 1_000_000_000)
    }

    /// A duration from float seconds, rounded to the nearest nanosecond (negative becomes zero).
    pub fn from_secs_f64(s: f64) -> SimDuration {
        SimDuration((s * 1e9).round().max(0.0) as u64)
    }

    /// Length in nanoseconds.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Length in seconds, as a float for reports and arithmetic on rates.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// Length in milliseconds, as a float for reports.
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }

    /// This duration multiplied by a whole number.
    pub const fn times(self, n: u64) -> SimDuration {
        SimDuration(self.0.saturating_mul(n))
    }
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    fn add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }
}

impl AddAssign<SimDuration> for SimTime {
    fn add_assign(&mut self, d: SimDuration) {
        self.0 = self.0.saturating_add(d.0);
    }
}

impl Add for SimDuration {
    type Output = SimDuration;
    fn add(self, d: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(d.0))
    }
}

impl Sub for SimTime {
    type Output = SimDuration;
    /// The duration between two instants; saturates at zero rather than going negative.
    fn sub(self, earlier: SimTime) -> SimDuration {
        self.saturating_since(earlier)
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:09}s",
            self.0 / 1_000_000_000,
            self.0 % 1_000_000_000
        )
    }
}

impl fmt::Display for SimDuration {
    /// Prints with the largest unit that keeps the number readable: `1.5ms`, `2s`, `250ns`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.0;
        if ns >= 1_000_000_000 {
            write!(f, "{}s", trim(ns as f64 / 1e9))
        } else if ns >= 1_000_000 {
            write!(f, "{}ms", trim(ns as f64 / 1e6))
        } else if ns >= 1_000 {
            write!(f, "{}us", trim(ns as f64 / 1e3))
        } else {
            write!(f, "{ns}ns")
        }
    }
}

/// Formats a float with up to three decimals and no trailing zeros.
fn trim(x: f64) -> String {
    let s = format!("{x:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adding_durations_is_exact() {
        let t = SimTime::ZERO + SimDuration::from_micros(1) + SimDuration::from_nanos(1);
        assert_eq!(t.as_nanos(), 1_001);
        assert_eq!(t.as_micros(), 1);
    }

    #[test]
    fn subtraction_saturates() {
        let a = SimTime::from_nanos(5);
        let b = SimTime::from_nanos(9);
        assert_eq!(b - a, SimDuration::from_nanos(4));
        assert_eq!(a - b, SimDuration::ZERO);
    }

    #[test]
    fn durations_print_in_a_readable_unit() {
        assert_eq!(SimDuration::from_millis(1500).to_string(), "1.5s");
        assert_eq!(SimDuration::from_micros(50).to_string(), "50us");
        assert_eq!(SimDuration::from_nanos(7).to_string(), "7ns");
        assert_eq!(
            SimTime::from_nanos(1_000_000_001).to_string(),
            "1.000000001s"
        );
    }
}
