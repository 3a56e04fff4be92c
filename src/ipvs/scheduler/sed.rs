//! *Shortest expected delay* (`sed`): the server where a new connection is expected to finish soonest.
//!
//! If every connection on a server gets an equal share of its capacity (its weight), a new
//! connection on server `d` shares it with `active + 1` connections, so its expected delay is
//! proportional to `(active + 1) / weight`. sed picks the server that minimises this.
//! Unlike wlc it ignores inactive connections altogether and adds 1 for the newcomer, which
//! makes a difference when servers are idle: wlc sees `0 / w` everywhere and takes the first
//! server, sed sees `1 / w` and takes the **heaviest** (the first of the heaviest).
//! The search is wlc's ([`weighted_least_by`]): the first eligible server needs a positive
//! weight, overloaded servers are skipped, and a strict cross-multiplied compare keeps the
//! earliest on ties. sed keeps no state between calls.
//!
//! # Simplifications
//!
//! - Products are `u128`, where current kernels use `__s64` (2.6-era kernels multiplied in
//!   32 bits and could overflow).
//!
//! # Further reading
//!
//! - Linux `net/netfilter/ipvs/ip_vs_sed.c` (`ip_vs_sed_dest_overhead`, `ip_vs_sed_schedule`).
//! - `shared/reference/ipvs-schedulers.md`, section 2.5.
//! - Wensong Zhang's LVS scheduling notes, which introduced sed and nq.
//!
//! Start reading at [`sed_overhead`].

use super::wlc::weighted_least_by;
use super::{Connection, Destination, Scheduler};

/// The `sed` scheduler. It has no state.
#[derive(Clone, Copy, Debug, Default)]
pub struct ShortestExpectedDelay;

/// `ip_vs_sed_dest_overhead()`: `activeconns + 1`; inactive connections do not count.
pub fn sed_overhead(dest: &Destination) -> u64 {
    u64::from(dest.active_conns) + 1
}

/// sed's pick: the least `(active + 1) / weight`, first on ties.
pub fn shortest_expected_delay(dests: &[Destination]) -> Option<usize> {
    weighted_least_by(dests, sed_overhead)
}

impl Scheduler for ShortestExpectedDelay {
    fn name(&self) -> &'static str {
        "sed"
    }

    fn schedule(
        &mut self,
        dests: &[Destination],
        _conn: &Connection,
        _now_ns: u64,
    ) -> Option<usize> {
        shortest_expected_delay(dests)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::scheduler::testing::{dest, name_at};

    fn pick(dests: &[Destination]) -> Option<char> {
        shortest_expected_delay(dests).map(|index| name_at(dests, index))
    }

    #[test]
    fn section_4_expected_delays() {
        // A(1,0,0) B(3,1,0) C(2,0,0): 1/1, 2/3 = 0.667, 1/2 = 0.5.
        let dests = [dest('A', 1, 0, 0), dest('B', 3, 1, 0), dest('C', 2, 0, 0)];
        assert_eq!(pick(&dests), Some('C'));
    }

    #[test]
    fn section_4_all_idle_picks_the_heaviest() {
        let dests = [dest('A', 1, 0, 0), dest('B', 5, 0, 0), dest('C', 3, 0, 0)];
        assert_eq!(pick(&dests), Some('B'));
        // Among equally heavy idle servers the first wins.
        let dests = [dest('A', 1, 0, 0), dest('B', 5, 0, 0), dest('C', 5, 0, 0)];
        assert_eq!(pick(&dests), Some('B'));
    }

    #[test]
    fn section_4_inactive_connections_are_ignored() {
        let dests = [dest('A', 1, 1, 0), dest('B', 1, 1, 900)];
        assert_eq!(pick(&dests), Some('A'));
        let dests = [dest('A', 1, 1, 900), dest('B', 1, 1, 0)];
        assert_eq!(pick(&dests), Some('A'));
    }

    #[test]
    fn overhead_is_active_plus_one() {
        assert_eq!(sed_overhead(&dest('A', 1, 0, 77)), 1);
        assert_eq!(sed_overhead(&dest('A', 1, 4, 0)), 5);
        assert_eq!(sed_overhead(&dest('A', 1, u32::MAX, 0)), 1 << 32);
    }

    #[test]
    fn cross_multiplication_boundary() {
        // A: (2+1)/3 = 1. B: (1+1)/2 = 1, a tie: A stays (3 * 2 > 2 * 3 is false).
        let dests = [dest('A', 3, 2, 0), dest('B', 2, 1, 0)];
        assert_eq!(pick(&dests), Some('A'));
        // B with weight 3: 2/3 < 1, B wins.
        let dests = [dest('A', 3, 2, 0), dest('B', 3, 1, 0)];
        assert_eq!(pick(&dests), Some('B'));
    }

    #[test]
    fn weight_zero_and_overloaded() {
        // A weight 0 cannot start the search; B overloaded is skipped.
        let mut dests = [dest('A', 0, 0, 0), dest('B', 9, 0, 0), dest('C', 1, 3, 0)];
        dests[1].overloaded = true;
        assert_eq!(pick(&dests), Some('C'));
        // A later weight-0 server never wins: 4 * 0 > 1 * 1 is false.
        let dests = [dest('A', 1, 3, 0), dest('B', 0, 0, 0)];
        assert_eq!(pick(&dests), Some('A'));
        assert_eq!(pick(&[dest('A', 0, 0, 0)]), None);
    }

    #[test]
    fn the_trait_names_it_sed() {
        let dests = [dest('A', 1, 0, 0), dest('B', 2, 0, 0)];
        let mut sed = ShortestExpectedDelay;
        assert_eq!(sed.name(), "sed");
        assert_eq!(
            sed.schedule(&dests, &crate::ipvs::scheduler::testing::conn(), 0),
            Some(1)
        );
    }
}
