//! *Round robin* (`rr`): hand new connections to the servers in turn.
//!
//! The scheduler keeps a cursor: the server it picked last, or the list head before the first pick.
//! Each pick walks the list from the server after the cursor, wraps around to the first server,
//! and stops at the cursor itself; the first eligible server wins and becomes the new cursor.
//! A server is eligible when its weight is above zero and it is not `overloaded`; how large the
//! weight is does not matter (that is wrr's job).
//! Because the kernel adds servers at the head of the list, servers added A, B, C are picked
//! C, B, A, C, B, A, ...; and a server added later is reached only after the next wrap.
//!
//! # Simplifications
//!
//! - The kernel's cursor is a pointer to a list node; here it is the server's [`DestKey`],
//!   looked up again at every pick, because slice indices shift on every add.
//! - The kernel's delete hook sees exactly one deleted server. [`Scheduler::on_dests_changed`]
//!   infers it by comparing with the previous list, which is exact when the caller reports
//!   each change separately, as the trait asks.
//!
//! # Further reading
//!
//! - Linux `net/netfilter/ipvs/ip_vs_rr.c` (`ip_vs_rr_schedule`, `ip_vs_rr_del_dest`).
//! - `shared/reference/ipvs-schedulers.md`, section 2.1.
//!
//! Start reading at [`RoundRobin::schedule`](Scheduler::schedule).

use super::{Connection, DestKey, Destination, Scheduler, SchedulerState, service_list};

/// Round-robin state: the kernel's `svc->sched_data` cursor.
#[derive(Clone, Debug, Default)]
pub struct RoundRobin {
    /// The server picked last, or `None` for the list head (no pick yet, or the cursor was moved
    /// back past the first server by a delete).
    cursor: Option<DestKey>,
    /// The service list as of the last hook call, in kernel order; the delete hook needs it to
    /// find the deleted server's predecessor.
    last_list: Vec<DestKey>,
}

impl RoundRobin {
    /// The state after `init_service` on an empty service: the cursor at the list head.
    pub fn new() -> Self {
        RoundRobin::default()
    }
}

/// rr's eligibility test: not over its connection threshold, and weight above zero.
fn eligible(dest: &Destination) -> bool {
    !dest.overloaded && dest.weight > 0
}

impl Scheduler for RoundRobin {
    fn name(&self) -> &'static str {
        "rr"
    }

    fn schedule(
        &mut self,
        dests: &[Destination],
        _conn: &Connection,
        _now_ns: u64,
    ) -> Option<usize> {
        let list: Vec<usize> = service_list(dests).map(|(index, _)| index).collect();
        // 1. Find where the cursor is in the list.
        //    Invariant: the hooks keep the cursor on a listed server; if a caller broke that,
        //    starting from the head is the safe choice.
        let cursor_pos = self
            .cursor
            .and_then(|key| list.iter().position(|&index| dests[index].key() == key));
        // 2. Build the scan order. From the head: the whole list once. From a server: the
        //    servers after it, then wrap to the first one, ending with the cursor server itself,
        //    so with a single eligible server it is picked again and again.
        let scan_order = match cursor_pos {
            None => list.clone(),
            Some(pos) => list[pos + 1..]
                .iter()
                .chain(&list[..=pos])
                .copied()
                .collect(),
        };
        // 3. The first eligible server wins and becomes the cursor.
        //    If none is eligible the cursor stays where it was.
        let chosen = scan_order
            .into_iter()
            .find(|&index| eligible(&dests[index]))?;
        self.cursor = Some(dests[chosen].key());
        Some(chosen)
    }

    fn state(&self, _dests: &[Destination], _conn: &Connection) -> SchedulerState {
        SchedulerState::RoundRobin {
            cursor: self.cursor,
        }
    }

    fn on_dests_changed(&mut self, dests: &[Destination]) {
        let new_list: Vec<DestKey> = service_list(dests).map(|(_, dest)| dest.key()).collect();
        // ip_vs_rr_del_dest(): if the deleted server is the cursor, move the cursor to its
        // predecessor (p->next->prev), or to the head if it was first. The next pick then
        // continues with the deleted server's successor, so no server is skipped.
        // Adds and edits leave the cursor alone: an added server sits at the head and is
        // reached after the next wrap.
        if let Some(cursor) = self.cursor
            && !new_list.contains(&cursor)
        {
            let old_pos = self.last_list.iter().position(|&key| key == cursor);
            self.cursor = old_pos.and_then(|pos| {
                self.last_list[..pos]
                    .iter()
                    .rev()
                    .find(|key| new_list.contains(key))
                    .copied()
            });
        }
        self.last_list = new_list;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::scheduler::add_destination;
    use crate::ipvs::scheduler::testing::{dest, picks};

    /// Adds the servers one by one with `ipvsadm -a`, running the hook after each add.
    fn added(rr: &mut RoundRobin, servers: &[Destination]) -> Vec<Destination> {
        let mut dests = Vec::new();
        for server in servers {
            add_destination(&mut dests, server.clone());
            rr.on_dests_changed(&dests);
        }
        dests
    }

    #[test]
    fn ipvsadm_adds_a_b_c_are_picked_c_b_a() {
        // Section 4: `ipvsadm -a A,B,C` gives list C,B,A and picks C B A C B A C.
        let mut rr = RoundRobin::new();
        let dests = added(
            &mut rr,
            &[dest('A', 1, 0, 0), dest('B', 1, 0, 0), dest('C', 1, 0, 0)],
        );
        assert_eq!(picks(&mut rr, &dests, 7), "CBACBAC");
    }

    #[test]
    fn kernel_list_a_b_c_is_picked_in_order() {
        // Section 4: kernel list A,B,C gives A B C A B C.
        let mut rr = RoundRobin::new();
        let dests = vec![dest('A', 1, 0, 0), dest('B', 1, 0, 0), dest('C', 1, 0, 0)];
        rr.on_dests_changed(&dests);
        assert_eq!(picks(&mut rr, &dests, 6), "ABCABC");
    }

    #[test]
    fn weight_size_is_ignored() {
        let mut rr = RoundRobin::new();
        let dests = vec![dest('A', 100, 0, 0), dest('B', 1, 0, 0)];
        assert_eq!(picks(&mut rr, &dests, 4), "ABAB");
    }

    #[test]
    fn weight_zero_and_overloaded_are_skipped() {
        let mut rr = RoundRobin::new();
        let mut dests = vec![
            dest('A', 1, 0, 0),
            dest('B', 0, 0, 0),
            dest('C', 1, 0, 0),
            dest('D', 1, 0, 0),
        ];
        dests[3].overloaded = true;
        assert_eq!(picks(&mut rr, &dests, 4), "ACAC");
    }

    #[test]
    fn unavailable_entries_are_skipped() {
        let mut rr = RoundRobin::new();
        let mut dests = vec![dest('A', 1, 0, 0), dest('B', 1, 0, 0), dest('C', 1, 0, 0)];
        dests[1].available = false;
        assert_eq!(picks(&mut rr, &dests, 4), "ACAC");
    }

    #[test]
    fn a_single_eligible_server_is_picked_again_after_wrapping() {
        let mut rr = RoundRobin::new();
        let mut dests = vec![dest('A', 1, 0, 0), dest('B', 1, 0, 0)];
        assert_eq!(picks(&mut rr, &dests, 1), "A");
        dests[1].overloaded = true;
        // The scan after A finds only the overloaded B, wraps, and ends at A itself.
        assert_eq!(picks(&mut rr, &dests, 2), "AA");
    }

    #[test]
    fn none_eligible_returns_none_and_keeps_the_cursor() {
        let mut rr = RoundRobin::new();
        let mut dests = vec![dest('A', 1, 0, 0), dest('B', 1, 0, 0), dest('C', 1, 0, 0)];
        assert_eq!(picks(&mut rr, &dests, 1), "A");
        for dest in dests.iter_mut() {
            dest.overloaded = true;
        }
        assert_eq!(picks(&mut rr, &dests, 2), "--");
        assert_eq!(rr.cursor, Some(dests[0].key()));
        for dest in dests.iter_mut() {
            dest.overloaded = false;
        }
        // The cursor is still A, so the rotation continues with B.
        assert_eq!(picks(&mut rr, &dests, 3), "BCA");
    }

    #[test]
    fn empty_service_returns_none() {
        let mut rr = RoundRobin::new();
        assert_eq!(picks(&mut rr, &[], 1), "-");
    }

    #[test]
    fn deleting_the_cursor_continues_with_its_successor() {
        let mut rr = RoundRobin::new();
        let mut dests = vec![dest('A', 1, 0, 0), dest('B', 1, 0, 0), dest('C', 1, 0, 0)];
        rr.on_dests_changed(&dests);
        assert_eq!(picks(&mut rr, &dests, 2), "AB");
        // Delete B, the cursor: it moves back to A, so C is next, not A.
        dests.remove(1);
        rr.on_dests_changed(&dests);
        assert_eq!(rr.cursor, Some(dests[0].key()));
        assert_eq!(picks(&mut rr, &dests, 3), "CAC");
    }

    #[test]
    fn deleting_the_first_server_as_cursor_moves_the_cursor_to_the_head() {
        let mut rr = RoundRobin::new();
        let mut dests = vec![dest('A', 1, 0, 0), dest('B', 1, 0, 0), dest('C', 1, 0, 0)];
        rr.on_dests_changed(&dests);
        assert_eq!(picks(&mut rr, &dests, 1), "A");
        dests.remove(0);
        rr.on_dests_changed(&dests);
        assert_eq!(rr.cursor, None);
        assert_eq!(picks(&mut rr, &dests, 3), "BCB");
    }

    #[test]
    fn deleting_another_server_keeps_the_cursor() {
        let mut rr = RoundRobin::new();
        let mut dests = vec![dest('A', 1, 0, 0), dest('B', 1, 0, 0), dest('C', 1, 0, 0)];
        rr.on_dests_changed(&dests);
        assert_eq!(picks(&mut rr, &dests, 1), "A");
        dests.remove(1);
        rr.on_dests_changed(&dests);
        assert_eq!(picks(&mut rr, &dests, 3), "CAC");
    }

    #[test]
    fn deleting_the_cursor_after_an_add_moves_to_the_new_head_server() {
        // List [C, B, A] with cursor C; add D (list [D, C, B, A]); delete C.
        // The kernel's predecessor of C is now D, so the next pick is B.
        let mut rr = RoundRobin::new();
        let mut dests = added(
            &mut rr,
            &[dest('A', 1, 0, 0), dest('B', 1, 0, 0), dest('C', 1, 0, 0)],
        );
        assert_eq!(picks(&mut rr, &dests, 1), "C");
        add_destination(&mut dests, dest('D', 1, 0, 0));
        rr.on_dests_changed(&dests);
        dests.retain(|d| d.addr != crate::ipvs::scheduler::testing::addr_of('C'));
        rr.on_dests_changed(&dests);
        assert_eq!(picks(&mut rr, &dests, 4), "BADB");
    }

    #[test]
    fn an_added_server_is_reached_only_after_the_wrap() {
        let mut rr = RoundRobin::new();
        let mut dests = added(&mut rr, &[dest('A', 1, 0, 0), dest('B', 1, 0, 0)]);
        // List [B, A]: pick B, the cursor is B.
        assert_eq!(picks(&mut rr, &dests, 1), "B");
        // Add C at the head: list [C, B, A]. The scan after B reaches A first, then wraps to C.
        add_destination(&mut dests, dest('C', 1, 0, 0));
        rr.on_dests_changed(&dests);
        assert_eq!(picks(&mut rr, &dests, 4), "ACBA");
    }
}
