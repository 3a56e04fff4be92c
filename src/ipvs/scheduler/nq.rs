//! *Never queue* (`nq`): an idle server takes the connection at once; otherwise as sed.
//!
//! nq walks the list once. The first eligible server with no active connections is returned
//! immediately, whatever its weight: a new connection should never wait behind others while
//! some server has nothing to do. Inactive connections do not count, so a server with only
//! TIME_WAIT entries is idle.
//! If every eligible server is busy, the walk has meanwhile kept sed's minimum of
//! `(active + 1) / weight`, strict compare, earliest on ties.
//! Servers with weight 0 or the `overloaded` flag are skipped. nq keeps no state between calls.
//!
//! # Simplifications
//!
//! - Products are `u128`, where current kernels use `__s64`.
//!
//! # Further reading
//!
//! - Linux `net/netfilter/ipvs/ip_vs_nq.c` (`ip_vs_nq_dest_overhead`, `ip_vs_nq_schedule`).
//! - `shared/reference/ipvs-schedulers.md`, section 2.6.
//!
//! Start reading at [`never_queue`].

use super::sed::sed_overhead;
use super::wlc::is_lighter;
use super::{Connection, Destination, Scheduler, service_list};

/// The `nq` scheduler. It has no state.
#[derive(Clone, Copy, Debug, Default)]
pub struct NeverQueue;

/// `ip_vs_nq_schedule()`: the first idle eligible server, else the least `(active + 1) / weight`.
pub fn never_queue(dests: &[Destination]) -> Option<usize> {
    // `least` is (index, overhead, weight) of the best busy server so far.
    let mut least: Option<(usize, u64, u32)> = None;
    for (index, dest) in service_list(dests) {
        // 1. Skip servers over their threshold and quiesced ones.
        if dest.overloaded || dest.weight == 0 {
            continue;
        }
        // 2. An idle server wins outright; nobody has to queue.
        if dest.active_conns == 0 {
            return Some(index);
        }
        // 3. Otherwise keep sed's minimum. Unlike wlc and sed, there is no separate first
        //    stage: the first eligible server simply starts the minimum.
        let overhead = sed_overhead(dest);
        if least.is_none_or(|(_, least_overhead, least_weight)| {
            is_lighter(overhead, dest.weight, least_overhead, least_weight)
        }) {
            least = Some((index, overhead, dest.weight));
        }
    }
    least.map(|(index, _, _)| index)
}

impl Scheduler for NeverQueue {
    fn name(&self) -> &'static str {
        "nq"
    }

    fn schedule(
        &mut self,
        dests: &[Destination],
        _conn: &Connection,
        _now_ns: u64,
    ) -> Option<usize> {
        never_queue(dests)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::scheduler::testing::{dest, name_at};

    fn pick(dests: &[Destination]) -> Option<char> {
        never_queue(dests).map(|index| name_at(dests, index))
    }

    #[test]
    fn section_4_first_idle_wins_whatever_the_weight() {
        // A(5,3,0) B(1,0,50) C(10,0,0): B is the first with active = 0.
        let dests = [dest('A', 5, 3, 0), dest('B', 1, 0, 50), dest('C', 10, 0, 0)];
        assert_eq!(pick(&dests), Some('B'));
    }

    #[test]
    fn section_4_all_busy_falls_back_to_sed() {
        // A(5,3,0) B(1,1,0) C(10,9,0): 4/5 = 0.8, 2/1 = 2, 10/10 = 1.0.
        let dests = [dest('A', 5, 3, 0), dest('B', 1, 1, 0), dest('C', 10, 9, 0)];
        assert_eq!(pick(&dests), Some('A'));
    }

    #[test]
    fn busy_tie_keeps_the_earliest() {
        // A: 2/2 = 1, B: 3/3 = 1.
        let dests = [dest('A', 2, 1, 0), dest('B', 3, 2, 0)];
        assert_eq!(pick(&dests), Some('A'));
    }

    #[test]
    fn idle_but_quiesced_or_overloaded_is_skipped() {
        let mut dests = [dest('A', 0, 0, 0), dest('B', 1, 0, 0), dest('C', 1, 0, 0)];
        dests[1].overloaded = true;
        assert_eq!(pick(&dests), Some('C'));
        dests[2].overloaded = true;
        assert_eq!(pick(&dests), None);
    }

    #[test]
    fn a_later_idle_server_beats_an_earlier_busy_one() {
        let dests = [dest('A', 100, 1, 0), dest('B', 1, 0, 0)];
        assert_eq!(pick(&dests), Some('B'));
    }

    #[test]
    fn empty_gives_none() {
        assert_eq!(pick(&[]), None);
    }

    #[test]
    fn the_trait_names_it_nq() {
        let dests = [dest('A', 1, 1, 0), dest('B', 1, 0, 0)];
        let mut nq = NeverQueue;
        assert_eq!(nq.name(), "nq");
        assert_eq!(
            nq.schedule(&dests, &crate::ipvs::scheduler::testing::conn(), 0),
            Some(1)
        );
    }
}
