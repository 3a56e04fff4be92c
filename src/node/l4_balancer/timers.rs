//! The director's clock: connection entries and persistence templates expire in the order the
//! kernel's timers would fire, releasing their servers' counters, and due `ipvsadm` snapshots
//! are taken.

use super::super::NodeCtx;
use super::L4Balancer;
use crate::ipvs::conn::{Conn, ConnKey};
use crate::sim::SimTime;

impl L4Balancer {
    /// Removes an entry and releases it from its server's counters.
    pub(super) fn drop_conn(&mut self, key: &ConnKey) {
        if let Some(conn) = self.conns.remove(key) {
            self.release(&conn);
        }
    }

    /// What `ip_vs_conn_expire` does for an entry that is gone: `ip_vs_control_del` (its
    /// template counts one connection fewer) and `ip_vs_unbind_dest`.
    pub(super) fn release(&mut self, conn: &Conn) {
        let svc = &mut self.services[conn.service];
        if let Some(template) = conn.control {
            svc.control_del(template);
        }
        if let Some(dest) = svc.dest_index(conn.dest_ip, conn.dest_port) {
            svc.unbind(dest, conn.is_active());
        }
    }

    /// Fires every connection and template timer due by `now`, earliest first, as the
    /// kernel's timers would have fired: whether a template is kept depends on how many of its
    /// connections are still in the table at the moment its own timer fires. At the same
    /// instant connections go first. Cost: one step per due timer plus one look per service.
    pub(super) fn run_timers(&mut self, now: SimTime) {
        loop {
            let conn_due = self.conns.next_expiry().filter(|&at| at <= now);
            let template_due = self
                .services
                .iter()
                .enumerate()
                .filter_map(|(s, svc)| svc.next_template_timer().map(|at| (at, s)))
                .min()
                .filter(|&(at, _)| at <= now);
            match (conn_due, template_due) {
                (Some(conn_at), Some((template_at, _))) if conn_at <= template_at => {
                    self.expire_one_conn(now);
                }
                (Some(_), None) => self.expire_one_conn(now),
                (_, Some((_, service))) => {
                    self.services[service].fire_template_timer(now);
                }
                (None, None) => return,
            }
        }
    }

    /// Removes the connection entry that expires first and releases it.
    pub(super) fn expire_one_conn(&mut self, now: SimTime) {
        if let Some((_, conn)) = self.conns.expire_next(now) {
            self.release(&conn);
        }
    }

    /// Expires entries, takes due snapshots, and asks to be woken for the next of either.
    pub(super) fn housekeeping(&mut self, ctx: &mut NodeCtx<'_>) {
        self.run_timers(ctx.now);
        while self
            .snapshot_times
            .get(self.snapshots_taken)
            .is_some_and(|&at| at <= ctx.now)
        {
            self.snapshot(ctx);
            self.snapshots_taken += 1;
        }
        if let Some(at) = self.conns.next_expiry() {
            ctx.wake_at(at);
        }
        if let Some(&at) = self.snapshot_times.get(self.snapshots_taken) {
            ctx.wake_at(at);
        }
    }
}
