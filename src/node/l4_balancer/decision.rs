//! The record of one scheduling decision (`L4Pick` in `decisions.jsonl`): the candidates and
//! the scheduler's state as they were before the pick, and what it chose.

use crate::ipvs::scheduler::{Connection, Destination, SchedulerState};
use crate::ipvs::service::{Scheduled, VirtualService};
use crate::trace::decision::L4Pick;

/// The decision record of one scheduling: `candidates` and `state` as they were before the
/// pick, `scheduled` its result.
pub(super) fn pick_record(
    svc: &VirtualService,
    request: &Connection,
    candidates: Vec<Destination>,
    state: SchedulerState,
    scheduled: Option<Scheduled>,
) -> L4Pick {
    // The chosen server's key; its index in `candidates` (a re-added server moves to the
    // head of the list, so the index may differ from the one after the pick).
    let chosen_key = scheduled.map(|s| svc.dests[s.dest].key());
    L4Pick {
        client: (request.client_addr, request.client_port),
        vip: (request.vip, request.vport),
        scheduler: svc.scheduler.name(),
        template: scheduled.filter(|s| s.pinned).and(chosen_key),
        chosen: chosen_key.and_then(|key| candidates.iter().position(|d| d.key() == key)),
        forward: scheduled.map(|s| svc.configs[s.dest].forward),
        candidates,
        state,
    }
}
