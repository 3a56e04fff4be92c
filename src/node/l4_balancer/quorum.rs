//! keepalived's pool: a server whose checkers are not all up leaves its service (or gets
//! weight 0 with `inhibit_on_failure`); quorum is the live weight, and while it is lost the
//! sorry server stands in. Every change is an event with its cause and an `ipvsadm` snapshot.

use super::super::{Node, NodeCtx};
use super::L4Balancer;

impl L4Balancer {
    /// keepalived starts: every server up unless one of its checkers has `alpha`, and quorum
    /// decided from there.
    pub(super) fn start_keepalived(&mut self) {
        for s in 0..self.health.len() {
            self.health[s].quorum_up = true;
            if let Some(sorry) = self.health[s].sorry_server {
                self.services[s].set_available(sorry.addr, sorry.port, false);
            }
            for m in 0..self.health[s].members.len() {
                let member = &mut self.health[s].members[m];
                member.failing = member.health.checkers.iter().filter(|c| c.alpha).count();
                let alive = member.failing == 0;
                self.apply_member(s, m, alive);
            }
            if self.live_weight(s) == 0 || self.live_weight(s) < self.health[s].quorum {
                self.health[s].quorum_up = false;
                self.enter_sorry(s);
            }
        }
    }

    /// A real server went down or came back: update the pool, the quorum, the records.
    pub(super) fn member_changed(
        &mut self,
        ctx: &mut NodeCtx<'_>,
        s: usize,
        m: usize,
        alive: bool,
        cause: &str,
    ) {
        let config = self.health[s].members[m].health.config;
        let target = format!("{}/{}:{}", self.router.name(), config.addr, config.port);
        let event = if alive { "server_up" } else { "server_down" };
        ctx.trace.event(ctx.now, &target, event, cause.to_string());
        // While the sorry server stands in, recovered servers wait for quorum (keepalived);
        // without one, the pool follows the checks as usual.
        if self.health[s].quorum_up || self.health[s].sorry_server.is_none() {
            self.apply_member(s, m, alive);
        }
        let live = self.live_weight(s);
        let state = &self.health[s];
        let lose_at = state.quorum.saturating_sub(state.hysteresis);
        let gain_at = state.quorum + state.hysteresis;
        let service_name = format!("{}/{}", self.router.name(), self.services[s].label());
        if state.quorum_up && (live == 0 || live < lose_at) {
            self.health[s].quorum_up = false;
            ctx.trace.event(
                ctx.now,
                &service_name,
                "quorum_lost",
                format!("live weight {live}"),
            );
            self.enter_sorry(s);
        } else if !state.quorum_up && live > 0 && live >= gain_at {
            self.health[s].quorum_up = true;
            ctx.trace.event(
                ctx.now,
                &service_name,
                "quorum_regained",
                format!("live weight {live}"),
            );
            self.leave_sorry(s);
        }
        self.snapshot(ctx);
    }

    /// Puts a member in or out of the IPVS service (or inhibits it to weight 0).
    pub(super) fn apply_member(&mut self, s: usize, m: usize, alive: bool) {
        let member = &self.health[s].members[m].health;
        let (addr, port, weight) = (member.config.addr, member.config.port, member.config.weight);
        let svc = &mut self.services[s];
        if member.inhibit_on_failure {
            svc.set_weight(addr, port, if alive { weight } else { 0 });
        } else {
            svc.set_available(addr, port, alive);
        }
    }

    /// Sum of the weights of the live members of service `s`.
    pub(super) fn live_weight(&self, s: usize) -> u32 {
        self.health[s]
            .members
            .iter()
            .filter(|m| m.failing == 0)
            .map(|m| m.health.config.weight)
            .sum()
    }

    /// Quorum lost: with a sorry server, the live members leave and the sorry server serves.
    pub(super) fn enter_sorry(&mut self, s: usize) {
        let Some(sorry) = self.health[s].sorry_server else {
            return;
        };
        for m in 0..self.health[s].members.len() {
            if self.health[s].members[m].failing == 0 {
                self.apply_member(s, m, false);
            }
        }
        self.services[s].add_server(sorry);
    }

    /// Quorum regained: the sorry server leaves and the live members come back.
    pub(super) fn leave_sorry(&mut self, s: usize) {
        let Some(sorry) = self.health[s].sorry_server else {
            return;
        };
        self.services[s].set_available(sorry.addr, sorry.port, false);
        for m in 0..self.health[s].members.len() {
            if self.health[s].members[m].failing == 0 {
                self.apply_member(s, m, true);
            }
        }
    }
}
