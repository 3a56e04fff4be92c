//! What the director writes into the trace: `ipvsadm -Ln` and `--stats` snapshots, and its
//! summary at the end of the run (services, real servers, connections, CPU).

use super::super::NodeCtx;
use super::L4Balancer;
use crate::ipvs::ipvsadm;
use crate::trace::{BalancerRecord, IpvsSnapshot, RealServerRecord, ServiceRecord};

impl L4Balancer {
    /// Records `ipvsadm -Ln` and `--stats` now.
    pub(super) fn snapshot(&self, ctx: &mut NodeCtx<'_>) {
        ctx.trace.ipvsadm.push(IpvsSnapshot {
            at: ctx.now,
            node: self.node_index,
            list: ipvsadm::list(&self.services),
            stats: ipvsadm::stats(&self.services),
        });
    }

    /// The director's record for the end of the run: each service's real servers in address
    /// order with their connections, and the CPU's busy time and drops when modelled.
    pub(super) fn balancer_record(&self) -> BalancerRecord {
        let services = self
            .services
            .iter()
            .map(|svc| {
                let mut order: Vec<usize> = (0..svc.dests.len()).collect();
                order.sort_by_key(|&i| (svc.dests[i].addr, svc.dests[i].port));
                ServiceRecord {
                    addr: svc.label(),
                    scheduler: svc.scheduler.name().to_string(),
                    real_servers: order
                        .into_iter()
                        .map(|i| RealServerRecord {
                            addr: format!("{}:{}", svc.dests[i].addr, svc.dests[i].port),
                            forward: svc.configs[i].forward.name().to_string(),
                            weight: svc.dests[i].weight,
                            connections: svc.dest_stats[i].conns,
                        })
                        .collect(),
                    no_destination: svc.no_destination,
                }
            })
            .collect();
        BalancerRecord {
            node: self.node_index,
            services,
            cpu: self.cpu.as_ref().map(|cpu| (cpu.busy(), cpu.dropped())),
        }
    }
}
