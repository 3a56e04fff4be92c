//! The operator's `ipvsadm` commands during a run: set a real server's weight (`-e -w`), add
//! one (`-a`), remove one (`-d`). Each answers with a detail for `events.csv`.

use super::super::Command;
use super::L4Balancer;

impl L4Balancer {
    /// Applies an `ipvsadm` command and says what it did, or `None` if it is not one (or
    /// names a service or server this director does not have).
    pub(super) fn ipvsadm_command(&mut self, command: &Command) -> Option<String> {
        let detail = match command {
            Command::SetWeight {
                service,
                addr,
                port,
                weight,
            } => {
                let svc = self.services.get_mut(*service)?;
                let index = svc.dest_index(*addr, *port)?;
                let was = svc.dests[index].weight;
                svc.set_weight(*addr, *port, *weight);
                format!("weight {weight} (was {was})")
            }
            Command::AddServer { service, server } => {
                let svc = self.services.get_mut(*service)?;
                // A server back from the trash takes the weight it is added with.
                svc.add_server(*server);
                svc.set_weight(server.addr, server.port, server.weight);
                format!("weight {}", server.weight)
            }
            Command::RemoveServer {
                service,
                addr,
                port,
            } => {
                let svc = self.services.get_mut(*service)?;
                let index = svc.dest_index(*addr, *port)?;
                let dest = &svc.dests[index];
                let (active, inactive) = (dest.active_conns, dest.inactive_conns);
                svc.set_available(*addr, *port, false);
                format!("left in the table: {active} active, {inactive} inactive")
            }
            _ => return None,
        };
        Some(detail)
    }
}
