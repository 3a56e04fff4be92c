//! *Weighted least connection* (`wlc`): the server with the smallest load per unit of weight.
//!
//! wlc is the default scheduler of ipvsadm and keepalived.
//! It minimises `overhead / weight`, with `overhead = active * 256 + inactive`, so a server of
//! weight 3 is expected to carry three times the connections of a server of weight 1.
//! To stay in integers it never divides: server `d` beats the current least `l` when
//! `overhead_l * weight_d > overhead_d * weight_l` (cross-multiplication, valid because weights are positive).
//! The comparison is strict, so ties keep the earlier server in list order.
//! The first eligible server must have weight above zero; later servers are not checked for
//! weight 0, but with weight 0 the left side is 0 and they can never win.
//! When every server is idle all ratios are 0 and wlc picks the **first** server, not the heaviest.
//! lblc and lblcr fall back on exactly this pick ([`weighted_least_connection`]).
//!
//! # Simplifications
//!
//! - Products are `u128`, where the kernel uses `__s64` (and 2.6/3.x kernels a 32-bit product
//!   that could overflow); the results agree wherever the kernel does not overflow.
//!
//! # Further reading
//!
//! - Linux `net/netfilter/ipvs/ip_vs_wlc.c` (`ip_vs_wlc_schedule`).
//! - `shared/reference/ipvs-schedulers.md`, sections 1.3, 1.7 and 2.4.
//!
//! Start reading at [`weighted_least_by`].

use super::{Connection, Destination, Scheduler, service_list};

/// The `wlc` scheduler. It has no state.
#[derive(Clone, Copy, Debug, Default)]
pub struct WeightedLeastConnection;

/// wlc's pick: the least `conn_overhead / weight`, first on ties.
pub fn weighted_least_connection(dests: &[Destination]) -> Option<usize> {
    weighted_least_by(dests, Destination::conn_overhead)
}

/// The two-stage "weighted least" search shared by wlc, sed, lblc and lblcr, with the load
/// measure as a parameter (`conn_overhead` for wlc, `active + 1` for sed).
pub fn weighted_least_by(
    dests: &[Destination],
    overhead: fn(&Destination) -> u64,
) -> Option<usize> {
    let mut list = service_list(dests);
    // 1. The first server that is not overloaded and has a positive weight starts as the least.
    //    Without one there is no destination.
    let (mut least_index, mut least) =
        list.find(|(_, dest)| !dest.overloaded && dest.weight > 0)?;
    let mut least_overhead = overhead(least);
    // 2. Walk the rest of the list (only the servers after the first eligible one).
    for (index, dest) in list {
        if dest.overloaded {
            continue;
        }
        let dest_overhead = overhead(dest);
        // least_overhead / least.weight > dest_overhead / dest.weight, cross-multiplied.
        if is_lighter(dest_overhead, dest.weight, least_overhead, least.weight) {
            least_index = index;
            least = dest;
            least_overhead = dest_overhead;
        }
    }
    Some(least_index)
}

/// True when `overhead / weight` is strictly below `least_overhead / least_weight`, computed as
/// the kernel does: `least_overhead * weight > overhead * least_weight`.
///
/// A candidate with weight 0 is never lighter (its left side is 0).
pub fn is_lighter(overhead: u64, weight: u32, least_overhead: u64, least_weight: u32) -> bool {
    u128::from(least_overhead) * u128::from(weight)
        > u128::from(overhead) * u128::from(least_weight)
}

impl Scheduler for WeightedLeastConnection {
    fn name(&self) -> &'static str {
        "wlc"
    }

    fn schedule(
        &mut self,
        dests: &[Destination],
        _conn: &Connection,
        _now_ns: u64,
    ) -> Option<usize> {
        weighted_least_connection(dests)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::scheduler::testing::{dest, name_at};

    fn pick(dests: &[Destination]) -> Option<char> {
        weighted_least_connection(dests).map(|index| name_at(dests, index))
    }

    #[test]
    fn section_4_weighted_ratios() {
        // A(1,1,0) B(3,2,0) C(2,2,5): 256/1, 512/3 = 170.7, 517/2 = 258.5.
        let dests = [dest('A', 1, 1, 0), dest('B', 3, 2, 0), dest('C', 2, 2, 5)];
        assert_eq!(pick(&dests), Some('B'));
    }

    #[test]
    fn section_4_exact_tie_keeps_the_first() {
        // A(2,1,0) B(4,2,0): 256/2 = 128 = 512/4.
        let dests = [dest('A', 2, 1, 0), dest('B', 4, 2, 0)];
        assert_eq!(pick(&dests), Some('A'));
    }

    #[test]
    fn section_4_all_idle_picks_the_first_not_the_heaviest() {
        let dests = [dest('A', 1, 0, 0), dest('B', 5, 0, 0), dest('C', 3, 0, 0)];
        assert_eq!(pick(&dests), Some('A'));
    }

    #[test]
    fn section_4_weight_zero_first_is_passed_over() {
        // A(0) cannot start; B(2,3,0) = 768/2 = 384 vs C(1,1,0) = 256.
        let dests = [dest('A', 0, 0, 0), dest('B', 2, 3, 0), dest('C', 1, 1, 0)];
        assert_eq!(pick(&dests), Some('C'));
    }

    #[test]
    fn weight_zero_later_cannot_win_even_when_idle() {
        let dests = [dest('A', 1, 9, 0), dest('B', 0, 0, 0)];
        assert_eq!(pick(&dests), Some('A'));
    }

    #[test]
    fn cross_multiplication_is_exact_at_the_boundary() {
        // A: 256/3 = 85.33. B with 85 inactive: 256 * 1 > 85 * 3 = 255, so B wins.
        let dests = [dest('A', 3, 1, 0), dest('B', 1, 0, 85)];
        assert_eq!(pick(&dests), Some('B'));
        // B with 86 inactive: 256 > 258 is false, so A stays.
        let dests = [dest('A', 3, 1, 0), dest('B', 1, 0, 86)];
        assert_eq!(pick(&dests), Some('A'));
        assert!(is_lighter(85, 1, 256, 3));
        assert!(!is_lighter(86, 1, 256, 3));
        assert!(!is_lighter(0, 0, 1, 1));
    }

    #[test]
    fn large_weights_do_not_overflow() {
        // 2.6-era kernels multiplied in 32 bits; here (and in __s64 kernels) this is exact.
        let dests = [dest('A', 65535, 40000, 0), dest('B', 65535, 39999, 0)];
        assert_eq!(pick(&dests), Some('B'));
        let dests = [
            dest('A', u32::MAX, u32::MAX, u32::MAX),
            dest('B', u32::MAX, u32::MAX, u32::MAX - 1),
        ];
        assert_eq!(pick(&dests), Some('B'));
    }

    #[test]
    fn overloaded_servers_are_skipped_everywhere() {
        let mut dests = [dest('A', 1, 0, 0), dest('B', 1, 5, 0), dest('C', 1, 9, 0)];
        dests[0].overloaded = true;
        assert_eq!(pick(&dests), Some('B'));
        dests[1].overloaded = true;
        assert_eq!(pick(&dests), Some('C'));
        dests[2].overloaded = true;
        assert_eq!(pick(&dests), None);
    }

    #[test]
    fn no_positive_weight_means_none() {
        assert_eq!(pick(&[dest('A', 0, 0, 0), dest('B', 0, 0, 0)]), None);
        assert_eq!(pick(&[]), None);
    }

    #[test]
    fn the_trait_names_it_wlc() {
        let dests = [dest('A', 1, 2, 0), dest('B', 2, 2, 0)];
        let mut wlc = WeightedLeastConnection;
        assert_eq!(wlc.name(), "wlc");
        assert_eq!(
            wlc.schedule(&dests, &crate::ipvs::scheduler::testing::conn(), 0),
            Some(1)
        );
    }
}
