//! *Least connection* (`lc`): send the new connection to the server with the smallest load.
//!
//! Load is the connection overhead, `active * 256 + inactive` ([`Destination::conn_overhead`]).
//! The scheduler walks the whole list once and keeps the server with the smallest overhead;
//! a later server replaces it only when strictly smaller, so ties go to the first in list order.
//! Servers with weight 0 or the `overloaded` flag are skipped; apart from that the weight is ignored,
//! so a server of weight 9 and one of weight 1 with equal load are treated alike (wlc fixes that).
//! lc keeps no state between calls.
//!
//! # Simplifications
//!
//! - Overheads are `u64`, where the kernel uses `unsigned int`; see the [module docs](super).
//!
//! # Further reading
//!
//! - Linux `net/netfilter/ipvs/ip_vs_lc.c` (`ip_vs_lc_schedule`). Its comment says
//!   `(activeconns<<5) + inactconns`; that comment is stale, the code uses `<< 8`.
//! - `shared/reference/ipvs-schedulers.md`, section 2.3.
//!
//! Start reading at [`least_connection`].

use super::{Connection, Destination, Scheduler, service_list};

/// The `lc` scheduler. It has no state.
#[derive(Clone, Copy, Debug, Default)]
pub struct LeastConnection;

/// `ip_vs_lc_schedule()`: the index of the eligible server with the least overhead, first on ties.
pub fn least_connection(dests: &[Destination]) -> Option<usize> {
    // `least` is (index, overhead) of the best server so far.
    let mut least: Option<(usize, u64)> = None;
    for (index, dest) in service_list(dests) {
        // 1. Skip servers over their connection threshold, and quiesced ones.
        if dest.overloaded || dest.weight == 0 {
            continue;
        }
        // 2. The first eligible server, or a strictly smaller overhead, becomes the least.
        //    Strict `<` is what makes the earliest server win a tie.
        let overhead = dest.conn_overhead();
        if least.is_none_or(|(_, least_overhead)| overhead < least_overhead) {
            least = Some((index, overhead));
        }
    }
    least.map(|(index, _)| index)
}

impl Scheduler for LeastConnection {
    fn name(&self) -> &'static str {
        "lc"
    }

    fn schedule(
        &mut self,
        dests: &[Destination],
        _conn: &Connection,
        _now_ns: u64,
    ) -> Option<usize> {
        least_connection(dests)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::scheduler::testing::{dest, name_at};

    fn pick(dests: &[Destination]) -> Option<char> {
        least_connection(dests).map(|index| name_at(dests, index))
    }

    #[test]
    fn section_4_one_active_loses_to_ten_inactive() {
        // A(1,1,0) B(1,0,10) C(1,0,300): overheads 256, 10, 300.
        let dests = [
            dest('A', 1, 1, 0),
            dest('B', 1, 0, 10),
            dest('C', 1, 0, 300),
        ];
        assert_eq!(pick(&dests), Some('B'));
    }

    #[test]
    fn section_4_tie_goes_to_the_first_whatever_the_weight() {
        let dests = [dest('A', 1, 0, 0), dest('B', 9, 0, 0)];
        assert_eq!(pick(&dests), Some('A'));
    }

    #[test]
    fn section_4_255_inactive_beat_one_active() {
        let dests = [dest('A', 1, 0, 255), dest('B', 1, 1, 0)];
        assert_eq!(pick(&dests), Some('A'));
        // And 256 inactive tie with one active, so the first still wins.
        let dests = [dest('A', 1, 1, 0), dest('B', 1, 0, 256)];
        assert_eq!(pick(&dests), Some('A'));
        let dests = [dest('A', 1, 0, 256), dest('B', 1, 1, 0)];
        assert_eq!(pick(&dests), Some('A'));
    }

    #[test]
    fn weight_zero_and_overloaded_are_skipped() {
        let mut dests = [dest('A', 0, 0, 0), dest('B', 1, 0, 0), dest('C', 1, 5, 0)];
        assert_eq!(pick(&dests), Some('B'));
        dests[1].overloaded = true;
        assert_eq!(pick(&dests), Some('C'));
        dests[2].weight = 0;
        assert_eq!(pick(&dests), None);
    }

    #[test]
    fn unavailable_and_empty_give_none() {
        let mut dests = [dest('A', 1, 0, 0)];
        dests[0].available = false;
        assert_eq!(pick(&dests), None);
        assert_eq!(pick(&[]), None);
    }

    #[test]
    fn the_trait_names_it_lc() {
        let dests = [dest('A', 1, 2, 0), dest('B', 1, 1, 0)];
        let mut lc = LeastConnection;
        lc.on_dests_changed(&dests);
        assert_eq!(lc.name(), "lc");
        assert_eq!(
            lc.schedule(&dests, &crate::ipvs::scheduler::testing::conn(), 0),
            Some(1)
        );
    }
}
