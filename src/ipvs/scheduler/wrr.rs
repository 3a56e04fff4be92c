//! *Weighted round robin* (`wrr`): round robin where a server of weight 4 gets four turns for
//! every two of a server of weight 2.
//!
//! The scheduler walks the list in *passes*. Each pass has a current weight threshold `cw`,
//! and during a pass every server whose weight is at least `cw` gets one connection, in list order.
//! After a pass `cw` drops by `di`, the gcd of the weights; below 1 it starts again at the top,
//! `mw`, which is the largest weight (minus `di - 1`, so the passes land on multiples of `di`).
//! With weights 4, 3, 2 the passes are `cw = 4, 3, 2, 1`, giving `A, AB, ABC, ABC`: shares 4:3:2.
//! Between connections the scheduler remembers the cursor (the last pick) and `cw`.
//! Any change to the list resets the cursor to the head but usually keeps `cw`, so the result
//! depends on the order in which servers were added (see the tests).
//!
//! # Simplifications
//!
//! - The cursor is the last pick's [`DestKey`], not a list pointer; see [`rr`](super::rr).
//! - `cw`, `mw` and `di` are `i64`, where the kernel uses `int`; weights above `i32::MAX`
//!   cannot occur in the kernel.
//!
//! # Further reading
//!
//! - Linux `net/netfilter/ipvs/ip_vs_wrr.c` (`ip_vs_wrr_schedule`, `ip_vs_wrr_dest_changed`,
//!   `ip_vs_wrr_gcd_weight`, `ip_vs_wrr_max_weight`).
//! - `shared/reference/ipvs-schedulers.md`, section 2.2.
//!
//! Start reading at [`WeightedRoundRobin::schedule`](Scheduler::schedule), then the hook.

use super::{Connection, DestKey, Destination, Scheduler, SchedulerState, service_list};

/// wrr state: the kernel's `struct ip_vs_wrr_mark`.
#[derive(Clone, Debug)]
pub struct WeightedRoundRobin {
    /// `cl`: the server picked last, or `None` for the list head.
    cursor: Option<DestKey>,
    /// `cw`: the current weight threshold; servers with `weight >= cw` are picked in this pass.
    cw: i64,
    /// `mw`: the largest weight minus `di - 1`; the threshold each new round starts at.
    /// Zero means no server has a positive weight.
    mw: i64,
    /// `di`: the gcd of all positive weights (1 if there are none); the step between passes.
    di: i64,
}

impl WeightedRoundRobin {
    /// The state after `init_service` on an empty service (`ipvsadm -A`): cursor at the head,
    /// `di = 1`, `mw = 0`, `cw = 0`.
    pub fn new() -> Self {
        WeightedRoundRobin {
            cursor: None,
            cw: 0,
            mw: 0,
            di: 1,
        }
    }
}

impl Default for WeightedRoundRobin {
    fn default() -> Self {
        WeightedRoundRobin::new()
    }
}

/// `ip_vs_wrr_gcd_weight()`: the gcd of the positive weights in the service, or 1 if none.
fn gcd_weight(dests: &[Destination]) -> i64 {
    let gcd = service_list(dests)
        .map(|(_, dest)| i64::from(dest.weight))
        .filter(|&weight| weight > 0)
        .fold(0, gcd);
    if gcd > 0 { gcd } else { 1 }
}

/// `ip_vs_wrr_max_weight()`: the largest weight in the service, 0 for an empty one.
fn max_weight(dests: &[Destination]) -> i64 {
    service_list(dests)
        .map(|(_, dest)| i64::from(dest.weight))
        .max()
        .unwrap_or(0)
}

/// Euclid's greatest common divisor; `gcd(0, b) = b`, which lets [`gcd_weight`] start from 0.
fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

impl Scheduler for WeightedRoundRobin {
    fn name(&self) -> &'static str {
        "wrr"
    }

    fn schedule(
        &mut self,
        dests: &[Destination],
        _conn: &Connection,
        _now_ns: u64,
    ) -> Option<usize> {
        let list: Vec<usize> = service_list(dests).map(|(index, _)| index).collect();
        // Positions below are positions in `list`; `None` stands for the list head.
        // Invariant: the hook resets the cursor on every list change, so it is found;
        // if a caller broke that, the head is the safe reading.
        let mut pos = self
            .cursor
            .and_then(|key| list.iter().position(|&index| dests[index].key() == key));

        // 1. No server with a positive weight: nothing to do, the cursor stays.
        if self.mw == 0 {
            return None;
        }
        // 2. Remember where this search started.
        let last = pos;
        let mut stop: Option<usize> = None;
        let mut last_pass = false;
        let mut restarted = false;
        loop {
            // 3.1 Scan from after the current position to the end of the list, without wrapping.
            let from = pos.map_or(0, |p| p + 1);
            for p in from..list.len() {
                let dest = &dests[list[p]];
                if !dest.overloaded && i64::from(dest.weight) >= self.cw {
                    self.cursor = Some(dest.key());
                    return Some(list[p]);
                }
                // We are back where a full final pass began: every server was tried with
                // cw <= di, and all are overloaded.
                if stop == Some(p) {
                    self.cursor = Some(dest.key());
                    return None;
                }
            }
            pos = None;
            // 3.2 End of the list: the next pass uses a lower threshold.
            self.cw -= self.di;
            // 3.3 Below the lowest pass: start a new round at the top.
            if self.cw <= 0 {
                self.cw = self.mw;
                // A pass with cw <= di (which admits every positive weight) already covered the
                // whole list, either because it was flagged as the last pass or because the
                // search started at the head: everything is overloaded.
                if last_pass || last.is_none() {
                    self.cursor = None;
                    return None;
                }
                restarted = true;
            }
            // 3.4 If this is the final pass (it admits every positive weight) and the first such
            //     pass only covered the servers after `last`, stop once we are back at `last`.
            last_pass = self.cw <= self.di;
            if last_pass && restarted && last.is_some() {
                stop = last;
            }
            // 3.5 Loop: continue scanning from the first server.
        }
    }

    fn state(&self, _dests: &[Destination], _conn: &Connection) -> SchedulerState {
        SchedulerState::WeightedRoundRobin {
            cursor: self.cursor,
            cw: self.cw,
        }
    }

    fn on_dests_changed(&mut self, dests: &[Destination]) {
        // ip_vs_wrr_dest_changed(), used for add, edit and delete alike.
        // 1. The cursor goes back to the head.
        self.cursor = None;
        // 2. Recompute the pass step and the top threshold.
        self.di = gcd_weight(dests);
        self.mw = max_weight(dests) - (self.di - 1);
        // 3. Keep the current threshold when it still makes sense, so a change in the middle of
        //    a round does not restart the round. Only a threshold above the new top, or the
        //    initial 0, jumps to the top; with a gcd above 1 the threshold is moved onto the
        //    grid of passes (a multiple of di, plus 1).
        if self.cw > self.mw || self.cw == 0 {
            self.cw = self.mw;
        } else if self.di > 1 {
            self.cw = (self.cw / self.di) * self.di + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::scheduler::add_destination;
    use crate::ipvs::scheduler::testing::{dest, picks};

    /// All servers present when the scheduler is bound (`ipvsadm -E -s wrr`): one init.
    fn fresh(weights: &[(char, u32)]) -> (WeightedRoundRobin, Vec<Destination>) {
        let dests: Vec<Destination> = weights
            .iter()
            .map(|&(name, weight)| dest(name, weight, 0, 0))
            .collect();
        let mut wrr = WeightedRoundRobin::new();
        wrr.on_dests_changed(&dests);
        (wrr, dests)
    }

    /// `ipvsadm -A -s wrr`, then `ipvsadm -a` for each server in turn.
    fn added_one_by_one(weights: &[(char, u32)]) -> (WeightedRoundRobin, Vec<Destination>) {
        let mut wrr = WeightedRoundRobin::new();
        let mut dests = Vec::new();
        for &(name, weight) in weights {
            add_destination(&mut dests, dest(name, weight, 0, 0));
            wrr.on_dests_changed(&dests);
        }
        (wrr, dests)
    }

    #[test]
    fn fresh_4_3_2() {
        let (mut wrr, dests) = fresh(&[('A', 4), ('B', 3), ('C', 2)]);
        assert_eq!(picks(&mut wrr, &dests, 18), "AABABCABCAABABCABC");
    }

    #[test]
    fn fresh_5_1_1() {
        let (mut wrr, dests) = fresh(&[('A', 5), ('B', 1), ('C', 1)]);
        assert_eq!(picks(&mut wrr, &dests, 18), "AAAAABCAAAAABCAAAA");
    }

    #[test]
    fn fresh_4_2_uses_the_gcd() {
        let (mut wrr, dests) = fresh(&[('A', 4), ('B', 2)]);
        // di = 2, mw = 4 - (2 - 1) = 3, passes at cw = 3 and 1.
        assert_eq!((wrr.di, wrr.mw, wrr.cw), (2, 3, 3));
        assert_eq!(picks(&mut wrr, &dests, 6), "AABAAB");
    }

    #[test]
    fn ipvsadm_adds_4_3_2() {
        let (mut wrr, dests) = added_one_by_one(&[('A', 4), ('B', 3), ('C', 2)]);
        // List [C, B, A]; the first add left cw = 1, later adds kept it.
        assert_eq!((wrr.cw, wrr.mw, wrr.di), (1, 4, 1));
        assert_eq!(picks(&mut wrr, &dests, 18), "CBAABACBACBAABACBA");
    }

    #[test]
    fn ipvsadm_adds_5_1_1() {
        let (mut wrr, dests) = added_one_by_one(&[('A', 5), ('B', 1), ('C', 1)]);
        assert_eq!(picks(&mut wrr, &dests, 18), "CBAAAAACBAAAAACBAA");
    }

    #[test]
    fn shares_follow_the_weights_over_a_period() {
        let (mut wrr, dests) = fresh(&[('A', 4), ('B', 3), ('C', 2)]);
        let sequence = picks(&mut wrr, &dests, 90);
        let count = |name| sequence.chars().filter(|&c| c == name).count();
        assert_eq!((count('A'), count('B'), count('C')), (40, 30, 20));
    }

    #[test]
    fn hook_rule_cw_above_mw_or_zero_jumps_to_mw() {
        let mut wrr = WeightedRoundRobin::new();
        wrr.cw = 10;
        wrr.on_dests_changed(&[dest('A', 4, 0, 0)]);
        // di = 4, mw = 4 - 3 = 1; cw 10 > 1.
        assert_eq!((wrr.di, wrr.mw, wrr.cw), (4, 1, 1));
        let mut wrr = WeightedRoundRobin::new();
        wrr.on_dests_changed(&[dest('A', 3, 0, 0), dest('B', 5, 0, 0)]);
        assert_eq!((wrr.di, wrr.mw, wrr.cw), (1, 5, 5));
    }

    #[test]
    fn hook_rule_with_gcd_above_one_snaps_cw_to_the_pass_grid() {
        let mut wrr = WeightedRoundRobin::new();
        wrr.cw = 5;
        wrr.on_dests_changed(&[dest('A', 8, 0, 0), dest('B', 4, 0, 0)]);
        // di = 4, mw = 8 - 3 = 5; cw = (5 / 4) * 4 + 1 = 5.
        assert_eq!((wrr.di, wrr.mw, wrr.cw), (4, 5, 5));
        wrr.cw = 4;
        wrr.on_dests_changed(&[dest('A', 8, 0, 0), dest('B', 4, 0, 0)]);
        // cw = (4 / 4) * 4 + 1 = 5.
        assert_eq!(wrr.cw, 5);
        wrr.cw = 3;
        wrr.on_dests_changed(&[dest('A', 8, 0, 0), dest('B', 4, 0, 0)]);
        // cw = (3 / 4) * 4 + 1 = 1.
        assert_eq!(wrr.cw, 1);
    }

    #[test]
    fn hook_rule_with_gcd_one_keeps_cw_and_resets_the_cursor() {
        let (mut wrr, dests) = fresh(&[('A', 4), ('B', 3), ('C', 2)]);
        assert_eq!(picks(&mut wrr, &dests, 4), "AABA");
        // Now cw = 2 and the cursor is A. An edit (same list) keeps cw and resets the cursor.
        assert_eq!(wrr.cw, 2);
        wrr.on_dests_changed(&dests);
        assert_eq!((wrr.cursor, wrr.cw), (None, 2));
        // Without the reset, the next picks would be B C; from the head they are A B C.
        assert_eq!(picks(&mut wrr, &dests, 3), "ABC");
    }

    #[test]
    fn gcd_ignores_zero_weights_and_max_counts_them() {
        let dests = vec![dest('A', 0, 0, 0), dest('B', 6, 0, 0), dest('C', 9, 0, 0)];
        assert_eq!(gcd_weight(&dests), 3);
        assert_eq!(max_weight(&dests), 9);
        assert_eq!(gcd_weight(&[dest('A', 0, 0, 0)]), 1);
        assert_eq!(max_weight(&[]), 0);
    }

    #[test]
    fn weight_zero_is_never_picked() {
        let (mut wrr, dests) = fresh(&[('A', 0), ('B', 2), ('C', 1)]);
        assert_eq!(picks(&mut wrr, &dests, 6), "BBCBBC");
    }

    #[test]
    fn all_weights_zero_means_no_destination() {
        let (mut wrr, dests) = fresh(&[('A', 0), ('B', 0)]);
        assert_eq!(wrr.mw, 0);
        assert_eq!(picks(&mut wrr, &dests, 2), "--");
        let mut empty = WeightedRoundRobin::new();
        assert_eq!(picks(&mut empty, &[], 1), "-");
    }

    #[test]
    fn overloaded_servers_are_skipped_in_every_pass() {
        let (mut wrr, mut dests) = fresh(&[('A', 4), ('B', 3), ('C', 2)]);
        dests[0].overloaded = true;
        // Passes cw = 4: nobody; 3: B; 2: B C; 1: B C.
        assert_eq!(picks(&mut wrr, &dests, 10), "BBCBCBBCBC");
    }

    #[test]
    fn all_overloaded_from_the_head_returns_none_and_keeps_the_head() {
        let (mut wrr, mut dests) = fresh(&[('A', 4), ('B', 3)]);
        for dest in dests.iter_mut() {
            dest.overloaded = true;
        }
        assert_eq!(picks(&mut wrr, &dests, 1), "-");
        // The search started at the head and went through every pass down to cw = 1.
        assert_eq!(wrr.cursor, None);
        assert_eq!(wrr.cw, wrr.mw);
    }

    #[test]
    fn all_overloaded_mid_list_after_a_full_final_pass_ends_at_the_head() {
        let (mut wrr, mut dests) = fresh(&[('A', 4), ('B', 3), ('C', 2)]);
        assert_eq!(picks(&mut wrr, &dests, 3), "AAB");
        for dest in dests.iter_mut() {
            dest.overloaded = true;
        }
        // From cw = 3 after B: passes 2 and 1 cover the whole list, the pass at cw = 1 is
        // flagged as the last, so the search gives up at the head with cw back at the top.
        assert_eq!(picks(&mut wrr, &dests, 1), "-");
        assert_eq!((wrr.cursor, wrr.cw), (None, 4));
    }

    #[test]
    fn all_overloaded_mid_list_in_the_last_pass_stops_at_the_start_point() {
        let (mut wrr, mut dests) = fresh(&[('A', 4), ('B', 3), ('C', 2)]);
        // Eight picks leave the cursor on B in the cw = 1 pass.
        assert_eq!(picks(&mut wrr, &dests, 8), "AABABCAB");
        assert_eq!(wrr.cw, 1);
        for dest in dests.iter_mut() {
            dest.overloaded = true;
        }
        // The search tries C, restarts at cw = 4 and goes down; in the final pass (cw = 1) it
        // sets `stop` = B, where it started, and gives up there, leaving the cursor on B.
        assert_eq!(picks(&mut wrr, &dests, 1), "-");
        assert_eq!((wrr.cursor, wrr.cw), (Some(dests[1].key()), 1));
        for dest in dests.iter_mut() {
            dest.overloaded = false;
        }
        // So the rotation resumes with C, as if the failed search had not happened.
        assert_eq!(picks(&mut wrr, &dests, 4), "CAAB");
    }

    #[test]
    fn unavailable_entries_are_outside_the_service() {
        let (mut wrr, mut dests) = fresh(&[('A', 4), ('B', 2)]);
        dests.insert(0, dest('Z', 8, 0, 0));
        dests[0].available = false;
        wrr.on_dests_changed(&dests);
        // Z's weight 8 is not counted: still di = 2, mw = 3.
        assert_eq!((wrr.di, wrr.mw), (2, 3));
        assert_eq!(picks(&mut wrr, &dests, 3), "AAB");
    }
}
