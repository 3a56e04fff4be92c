//! *Ephemeral ports*: the client side's port numbers, handed out so a 4-tuple is never reused
//! while the server may still hold it in TIME-WAIT.
//!
//! Every TCP connection is named by its 4-tuple (client address and port, server address and
//! port). After a connection closes, the side that closed first keeps that 4-tuple reserved in
//! TIME-WAIT; a new SYN reusing it would be dropped. Operating systems therefore cycle through
//! a range of *ephemeral* ports (Linux: 32768–60999; IANA: 49152–65535). We cycle through
//! 49152–65535 and also skip any port released less than [`REUSE_GUARD`] ago.
//!
//! # Simplifications
//! - One range per host, shared by all destinations (Linux keys it by destination too).

use crate::node::TIME_WAIT;
use crate::sim::{SimDuration, SimTime};

/// First ephemeral port (IANA).
pub const FIRST_PORT: u16 = 49152;
/// Number of ephemeral ports.
const PORT_COUNT: usize = 65536 - FIRST_PORT as usize;
/// A released port rests this long: TIME-WAIT plus a second of margin.
pub const REUSE_GUARD: SimDuration = SimDuration::from_nanos(TIME_WAIT.as_nanos() + 1_000_000_000);

/// Hands out ephemeral ports in order, skipping busy and resting ones.
pub struct PortAllocator {
    /// Index (port − FIRST_PORT) to try first.
    cursor: usize,
    /// For each port: `None` while in use, else the time from which it may be used again.
    free_from: Vec<Option<SimTime>>,
}

impl PortAllocator {
    /// All ports free.
    pub fn new() -> PortAllocator {
        PortAllocator {
            cursor: 0,
            free_from: vec![Some(SimTime::ZERO); PORT_COUNT],
        }
    }

    /// The next usable port at `now`, or `None` if all are busy or resting.
    pub fn allocate(&mut self, now: SimTime) -> Option<u16> {
        for step in 0..PORT_COUNT {
            let index = (self.cursor + step) % PORT_COUNT;
            if self.free_from[index].is_some_and(|from| from <= now) {
                self.free_from[index] = None;
                self.cursor = (index + 1) % PORT_COUNT;
                return Some(FIRST_PORT + index as u16);
            }
        }
        None
    }

    /// Gives `port` back at `now`; it rests for [`REUSE_GUARD`].
    pub fn release(&mut self, port: u16, now: SimTime) {
        self.free_from[(port - FIRST_PORT) as usize] = Some(now + REUSE_GUARD);
    }
}

impl Default for PortAllocator {
    fn default() -> Self {
        PortAllocator::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_cycle_in_order() {
        let mut ports = PortAllocator::new();
        assert_eq!(ports.allocate(SimTime::ZERO), Some(49152));
        assert_eq!(ports.allocate(SimTime::ZERO), Some(49153));
    }

    #[test]
    fn a_released_port_rests_before_reuse() {
        let mut ports = PortAllocator::new();
        let first = ports.allocate(SimTime::ZERO).unwrap();
        ports.release(first, SimTime::ZERO);
        // Use up every other port: the rested one is still not offered.
        for _ in 1..PORT_COUNT {
            assert_ne!(ports.allocate(SimTime::ZERO), Some(first));
        }
        assert_eq!(ports.allocate(SimTime::ZERO), None);
        assert_eq!(ports.allocate(SimTime::ZERO + REUSE_GUARD), Some(first));
    }
}
