//! *Virtual services*: a VIP and port, its real servers, and their counters.
//!
//! `ipvsadm -A -t VIP:port -s wrr` creates a virtual service with a scheduler;
//! `ipvsadm -a -t VIP:port -r RS:port -m -w 3` adds a real server with a forwarding method
//! (`-m` masquerading/NAT, `-g` gatewaying/direct routing, `-i` ipip/tunnelling) and a weight.
//! This module keeps what the kernel keeps per service: the destinations in kernel list order
//! (newest first), each destination's active and inactive connection counters and its
//! threshold flag, persistence templates, and the statistics `ipvsadm -Ln --stats` prints.
//!
//! A persistent service consults its templates (module [`super::persistence`]) before its
//! scheduler, as `ip_vs_sched_persist` does.
//!
//! # Simplifications
//! - Persistence is simplified as [`super::persistence`] describes (client address only, no
//!   netmask, no persistence engines).
//! - Rates (`--rate`) are not estimated.
//!
//! # Further reading
//! - `ipvsadm(8)`; Linux `ip_vs_ctl.c` (`__ip_vs_update_dest`), `ip_vs_conn.c`
//!   (`ip_vs_bind_dest`, `ip_vs_unbind_dest`), `ip_vs_core.c` (`ip_vs_sched_persist`);
//!   `shared/reference/ipvs-schedulers.md` §1.6.

use std::net::Ipv4Addr;

use super::persistence::{Fired, TemplateId, Templates};
use super::scheduler::{Connection, Destination, Scheduler, add_destination};
use crate::sim::{SimDuration, SimTime};

/// How packets reach a real server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Forward {
    /// NAT (`-m`, "Masq"): the director rewrites the destination address on the way in and the
    /// source address on the way out; replies must pass the director.
    Masq,
    /// Direct routing (`-g`, "Route"): the director rewrites only the destination MAC; the
    /// real server owns the VIP and answers the client directly.
    Route,
    /// IP-in-IP tunnelling (`-i`, "Tunnel"): the director wraps the client's packet in a new
    /// IPv4 header addressed to the real server, which may be on another network; the real
    /// server unwraps it, owns the VIP (on `tunl0`) and answers the client directly.
    Tunnel,
}

impl Forward {
    /// The name `ipvsadm -Ln` prints in the Forward column.
    pub fn name(self) -> &'static str {
        match self {
            Forward::Masq => "Masq",
            Forward::Route => "Route",
            Forward::Tunnel => "Tunnel",
        }
    }
}

/// Packet and byte counters (`ipvsadm -Ln --stats`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Connections scheduled.
    pub conns: u64,
    /// Packets from clients.
    pub in_pkts: u64,
    /// Packets to clients (only when replies pass the director).
    pub out_pkts: u64,
    /// Bytes from clients (IP packet length).
    pub in_bytes: u64,
    /// Bytes to clients.
    pub out_bytes: u64,
}

/// What `ipvsadm -a` sets besides address, port and weight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RealServerConfig {
    /// Address of the real server.
    pub addr: Ipv4Addr,
    /// Port of the real server.
    pub port: u16,
    /// Weight (0 = quiesced).
    pub weight: u32,
    /// Forwarding method.
    pub forward: Forward,
    /// `-x`: set the overload flag at this many connections (0 = no limit).
    pub upper_threshold: u32,
    /// `-y`: clear it below this many (0 = the kernel's default rule).
    pub lower_threshold: u32,
}

/// One virtual service.
pub struct VirtualService {
    /// Virtual address (0.0.0.0 for a firewall-mark service).
    pub vip: Ipv4Addr,
    /// Virtual port (0 for a firewall-mark service).
    pub port: u16,
    /// `ipvsadm -A -f MARK`: the service takes packets with this mark instead of `vip:port`.
    pub fwmark: Option<u32>,
    /// The scheduler.
    pub scheduler: Box<dyn Scheduler>,
    /// Destinations as the scheduler sees them, kernel order (newest first).
    pub dests: Vec<Destination>,
    /// For each destination, same order: its configuration.
    pub configs: Vec<RealServerConfig>,
    /// For each destination, same order: its statistics.
    pub dest_stats: Vec<Stats>,
    /// Service statistics.
    pub stats: Stats,
    /// New connections refused because no destination was available.
    pub no_destination: u64,
    /// `persistence_timeout`, if the service is persistent.
    pub persistence: Option<SimDuration>,
    /// Persistence templates.
    templates: Templates,
}

/// Where a new connection goes, and which template (if any) controls it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scheduled {
    /// Index of the destination in [`VirtualService::dests`].
    pub dest: usize,
    /// The persistence template the connection was made through (the kernel's
    /// `cp->control`); it must be released with [`VirtualService::control_del`] when the
    /// connection leaves the table.
    pub control: Option<TemplateId>,
    /// Whether a persistence template chose the server (the scheduler was not asked).
    pub pinned: bool,
}

impl VirtualService {
    /// `ipvsadm -A`, then one `ipvsadm -a` per real server in the given order (so the last one
    /// given is first in kernel order).
    pub fn new(
        vip: Ipv4Addr,
        port: u16,
        scheduler: Box<dyn Scheduler>,
        real_servers: &[RealServerConfig],
        persistence: Option<SimDuration>,
    ) -> VirtualService {
        let mut service = VirtualService {
            vip,
            port,
            fwmark: None,
            scheduler,
            dests: Vec::new(),
            configs: Vec::new(),
            dest_stats: Vec::new(),
            stats: Stats::default(),
            no_destination: 0,
            persistence,
            templates: Templates::default(),
        };
        service.scheduler.on_dests_changed(&service.dests);
        for config in real_servers {
            add_destination(
                &mut service.dests,
                Destination::new(config.addr, config.port, config.weight),
            );
            service.configs.insert(0, *config);
            service.dest_stats.insert(0, Stats::default());
            service.scheduler.on_dests_changed(&service.dests);
        }
        service
    }

    /// `ipvsadm -A -f MARK` instead of `-t VIP:port`: the service matches packets marked
    /// `mark` (see [`super::fwmark`]).
    pub fn with_fwmark(mut self, mark: u32) -> VirtualService {
        self.fwmark = Some(mark);
        self.vip = Ipv4Addr::UNSPECIFIED;
        self.port = 0;
        self
    }

    /// The service as events and outputs name it: `VIP:port`, or `fwmark N`.
    pub fn label(&self) -> String {
        match self.fwmark {
            Some(mark) => format!("fwmark {mark}"),
            None => format!("{}:{}", self.vip, self.port),
        }
    }

    /// The index of the destination `addr:port`.
    pub fn dest_index(&self, addr: Ipv4Addr, port: u16) -> Option<usize> {
        self.dests
            .iter()
            .position(|d| d.addr == addr && d.port == port)
    }

    /// Picks a destination for a new connection and binds the connection to it. Returns the
    /// destination and the controlling template, or `None` if no destination is available
    /// (the caller answers as IPVS does).
    ///
    /// Without persistence this is the scheduler's choice. With persistence it follows
    /// `ip_vs_sched_persist`: a template found for the client whose server is still in the
    /// service (`ip_vs_check_template`) decides, and the scheduler is not asked; a template
    /// whose server is gone is invalidated. Otherwise the scheduler picks and a new template
    /// is written. Either way the connection is added to the template's count and the
    /// template's timer restarts.
    pub fn schedule(&mut self, conn: &Connection, now: SimTime) -> Option<Scheduled> {
        let Some(timeout) = self.persistence else {
            let Some(dest) = self.scheduler.schedule(&self.dests, conn, now.as_nanos()) else {
                self.no_destination += 1;
                return None;
            };
            self.bind(dest);
            return Some(Scheduled {
                dest,
                control: None,
                pinned: false,
            });
        };
        let mut pinned = None;
        if let Some((id, template)) = self.templates.find(conn.client_addr) {
            // A quiesced, weight-0 server still gets its persistent clients, as in the kernel
            // (expire_quiescent_template is off by default); a removed one does not.
            match self
                .dest_index(template.dest_addr, template.dest_port)
                .filter(|&index| self.dests[index].available)
            {
                Some(index) => pinned = Some((index, id)),
                None => self.templates.invalidate(id),
            }
        }
        let was_pinned = pinned.is_some();
        let (dest, id) = match pinned {
            Some(found) => found,
            None => {
                let Some(dest) = self.scheduler.schedule(&self.dests, conn, now.as_nanos()) else {
                    self.no_destination += 1;
                    return None;
                };
                let (addr, port) = (self.dests[dest].addr, self.dests[dest].port);
                let id = self
                    .templates
                    .create(conn.client_addr, addr, port, timeout, now);
                (dest, id)
            }
        };
        self.templates.control_add(id, now);
        self.bind(dest);
        Some(Scheduled {
            dest,
            control: Some(id),
            pinned: was_pinned,
        })
    }

    /// A connection made through template `id` left the table (`ip_vs_control_del`, called
    /// from `ip_vs_conn_expire`).
    pub fn control_del(&mut self, id: TemplateId) {
        self.templates.control_del(id);
    }

    /// When this service's next template timer fires.
    pub fn next_template_timer(&self) -> Option<SimTime> {
        self.templates.next_timer()
    }

    /// Fires the earliest template timer if it is due by `now` (see
    /// [`super::persistence::Templates::fire_next`]).
    pub fn fire_template_timer(&mut self, now: SimTime) -> Option<Fired> {
        self.templates.fire_next(now)
    }

    /// The templates, for reading.
    pub fn templates(&self) -> &Templates {
        &self.templates
    }

    /// Forgets every template (the director crashed).
    pub fn forget_templates(&mut self) {
        self.templates.clear();
    }

    /// `ip_vs_bind_dest`: a new connection starts inactive; the threshold may trip. Also
    /// used for connections learned from the sync daemon.
    pub fn bind(&mut self, index: usize) {
        let config = self.configs[index];
        let dest = &mut self.dests[index];
        dest.inactive_conns += 1;
        let total = dest.active_conns + dest.inactive_conns;
        if config.upper_threshold != 0 && total >= config.upper_threshold {
            dest.overloaded = true;
        }
        self.dest_stats[index].conns += 1;
        self.stats.conns += 1;
    }

    /// `ipvsadm -d` (`available == false`) or `ipvsadm -a` again (`true`). A deleted server is
    /// kept in the list, unavailable, like the kernel's "dest trash", so connections already
    /// bound to it carry on; re-adding it puts it at the head of the list again.
    pub fn set_available(&mut self, addr: Ipv4Addr, port: u16, available: bool) {
        let Some(index) = self.dest_index(addr, port) else {
            return;
        };
        if self.dests[index].available == available {
            return;
        }
        if available {
            let mut dest = self.dests.remove(index);
            dest.available = true;
            self.dests.insert(0, dest);
            let config = self.configs.remove(index);
            self.configs.insert(0, config);
            let stats = self.dest_stats.remove(index);
            self.dest_stats.insert(0, stats);
        } else {
            self.dests[index].available = false;
        }
        self.scheduler.on_dests_changed(&self.dests);
    }

    /// `ipvsadm -e -w weight`: changes a server's weight in place.
    pub fn set_weight(&mut self, addr: Ipv4Addr, port: u16, weight: u32) {
        if let Some(index) = self.dest_index(addr, port)
            && self.dests[index].weight != weight
        {
            self.dests[index].weight = weight;
            self.scheduler.on_dests_changed(&self.dests);
        }
    }

    /// `ipvsadm -a` for a server not configured before (a sorry server), or re-adds it.
    pub fn add_server(&mut self, config: RealServerConfig) {
        if self.dest_index(config.addr, config.port).is_some() {
            self.set_available(config.addr, config.port, true);
            return;
        }
        add_destination(
            &mut self.dests,
            Destination::new(config.addr, config.port, config.weight),
        );
        self.configs.insert(0, config);
        self.dest_stats.insert(0, Stats::default());
        self.scheduler.on_dests_changed(&self.dests);
    }

    /// `ip_vs_unbind_dest`: a connection entry went away; the threshold flag may clear.
    pub fn unbind(&mut self, index: usize, was_active: bool) {
        let config = self.configs[index];
        let dest = &mut self.dests[index];
        if was_active {
            dest.active_conns = dest.active_conns.saturating_sub(1);
        } else {
            dest.inactive_conns = dest.inactive_conns.saturating_sub(1);
        }
        let total = dest.active_conns + dest.inactive_conns;
        let clear = if config.lower_threshold != 0 {
            total < config.lower_threshold
        } else if config.upper_threshold != 0 {
            total * 4 < config.upper_threshold * 3
        } else {
            true
        };
        if clear {
            dest.overloaded = false;
        }
    }

    /// `set_tcp_state`: a connection moved between active (ESTABLISHED) and inactive.
    pub fn activity_changed(&mut self, index: usize, now_active: bool) {
        let dest = &mut self.dests[index];
        if now_active {
            dest.inactive_conns = dest.inactive_conns.saturating_sub(1);
            dest.active_conns += 1;
        } else {
            dest.active_conns = dest.active_conns.saturating_sub(1);
            dest.inactive_conns += 1;
        }
    }
}

/// The service a packet to `dst:port` carrying `mark` (0: none) belongs to, as
/// `ip_vs_service_find` looks it up: the firewall-mark services first, then the services on
/// an address and port.
pub fn find_service(
    services: &[VirtualService],
    mark: u32,
    dst: Ipv4Addr,
    port: u16,
) -> Option<usize> {
    if mark != 0
        && let Some(index) = services.iter().position(|s| s.fwmark == Some(mark))
    {
        return Some(index);
    }
    services
        .iter()
        .position(|s| s.fwmark.is_none() && s.vip == dst && s.port == port)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::scheduler::by_name;

    fn rs(last: u8, weight: u32, upper: u32) -> RealServerConfig {
        RealServerConfig {
            addr: Ipv4Addr::new(10, 0, 2, last),
            port: 80,
            weight,
            forward: Forward::Masq,
            upper_threshold: upper,
            lower_threshold: 0,
        }
    }

    fn client(port: u16) -> Connection {
        Connection::new(
            Ipv4Addr::new(10, 0, 0, 1),
            port,
            Ipv4Addr::new(10, 0, 1, 100),
            80,
        )
    }

    #[test]
    fn a_marked_packet_finds_the_fwmark_service_before_an_address() {
        let vip = Ipv4Addr::new(10, 0, 1, 100);
        let services = [
            VirtualService::new(vip, 80, by_name("rr").unwrap(), &[rs(11, 1, 0)], None),
            VirtualService::new(vip, 80, by_name("dh").unwrap(), &[rs(12, 1, 0)], None)
                .with_fwmark(1),
        ];
        assert_eq!(find_service(&services, 1, vip, 80), Some(1));
        assert_eq!(find_service(&services, 0, vip, 80), Some(0));
        assert_eq!(
            find_service(&services, 2, Ipv4Addr::new(1, 2, 3, 4), 80),
            None
        );
        assert_eq!(services[1].label(), "fwmark 1");
    }

    #[test]
    fn servers_are_kept_newest_first() {
        let svc = VirtualService::new(
            Ipv4Addr::new(10, 0, 1, 100),
            80,
            by_name("rr").unwrap(),
            &[rs(11, 1, 0), rs(12, 1, 0), rs(13, 1, 0)],
            None,
        );
        let order: Vec<u8> = svc.dests.iter().map(|d| d.addr.octets()[3]).collect();
        assert_eq!(order, vec![13, 12, 11]);
    }

    #[test]
    fn a_new_connection_starts_inactive_and_becomes_active() {
        let mut svc = VirtualService::new(
            Ipv4Addr::new(10, 0, 1, 100),
            80,
            by_name("wlc").unwrap(),
            &[rs(11, 1, 0)],
            None,
        );
        let index = svc.schedule(&client(1), SimTime::ZERO).unwrap().dest;
        assert_eq!(
            (
                svc.dests[index].active_conns,
                svc.dests[index].inactive_conns
            ),
            (0, 1)
        );
        svc.activity_changed(index, true);
        assert_eq!(
            (
                svc.dests[index].active_conns,
                svc.dests[index].inactive_conns
            ),
            (1, 0)
        );
        svc.unbind(index, true);
        assert_eq!(svc.dests[index].active_conns, 0);
        assert_eq!(svc.stats.conns, 1);
    }

    #[test]
    fn the_upper_threshold_stops_new_connections() {
        let mut svc = VirtualService::new(
            Ipv4Addr::new(10, 0, 1, 100),
            80,
            by_name("rr").unwrap(),
            &[rs(11, 1, 2)],
            None,
        );
        assert!(svc.schedule(&client(1), SimTime::ZERO).is_some());
        assert!(svc.schedule(&client(2), SimTime::ZERO).is_some());
        assert!(svc.dests[0].overloaded);
        assert!(svc.schedule(&client(3), SimTime::ZERO).is_none());
        assert_eq!(svc.no_destination, 1);
        // With no lower threshold the flag clears below 75% of the upper one: 1 * 4 < 2 * 3.
        svc.unbind(0, false);
        assert!(!svc.dests[0].overloaded);
        assert!(svc.schedule(&client(3), SimTime::ZERO).is_some());
    }

    #[test]
    fn persistence_does_not_pin_to_a_removed_server() {
        let mut svc = VirtualService::new(
            Ipv4Addr::new(10, 0, 1, 100),
            80,
            by_name("rr").unwrap(),
            &[rs(11, 1, 0), rs(12, 1, 0)],
            Some(SimDuration::from_secs(300)),
        );
        let first = svc.schedule(&client(1), SimTime::ZERO).unwrap().dest;
        let (addr, port) = (svc.dests[first].addr, svc.dests[first].port);
        svc.set_available(addr, port, false);
        let again = svc
            .schedule(&client(2), SimTime::from_nanos(5))
            .unwrap()
            .dest;
        assert_ne!((svc.dests[again].addr, svc.dests[again].port), (addr, port));
    }

    #[test]
    fn persistence_pins_a_client_to_its_server() {
        let mut svc = VirtualService::new(
            Ipv4Addr::new(10, 0, 1, 100),
            80,
            by_name("rr").unwrap(),
            &[rs(11, 1, 0), rs(12, 1, 0)],
            Some(SimDuration::from_secs(300)),
        );
        let first = svc.schedule(&client(1), SimTime::ZERO).unwrap().dest;
        let second = svc
            .schedule(&client(2), SimTime::from_nanos(5))
            .unwrap()
            .dest;
        assert_eq!(first, second, "same client, same server");
        let other = Connection::new(
            Ipv4Addr::new(10, 0, 0, 2),
            1,
            Ipv4Addr::new(10, 0, 1, 100),
            80,
        );
        assert_ne!(
            svc.schedule(&other, SimTime::from_nanos(6)).unwrap().dest,
            first
        );
    }

    #[test]
    fn a_template_outlives_its_timeout_while_its_connection_is_in_the_table() {
        let secs = |s: u64| SimTime::ZERO + SimDuration::from_secs(s);
        let mut svc = VirtualService::new(
            Ipv4Addr::new(10, 0, 1, 100),
            80,
            by_name("rr").unwrap(),
            &[rs(11, 1, 0), rs(12, 1, 0), rs(13, 1, 0)],
            Some(SimDuration::from_secs(1)),
        );
        let first = svc.schedule(&client(1), secs(0)).unwrap();
        let template = first
            .control
            .expect("a persistent service controls its connections");
        // The template's 1 s timer fires while the connection is still in the table.
        assert!(matches!(
            svc.fire_template_timer(secs(1)),
            Some(Fired::Rearmed(id, _)) if id == template
        ));
        // Three seconds later the client is still pinned, by the same template.
        let second = svc.schedule(&client(2), secs(3)).unwrap();
        assert_eq!((second.dest, second.control), (first.dest, Some(template)));
        assert_eq!(svc.templates().get(template).unwrap().n_control, 2);
        // Once both connections have left the table the next timer removes the template,
        // and the scheduler (rr) picks again: the next server in its turn.
        svc.control_del(template);
        svc.control_del(template);
        assert!(matches!(
            svc.fire_template_timer(secs(63)),
            Some(Fired::Expired(id)) if id == template
        ));
        let third = svc.schedule(&client(3), secs(64)).unwrap();
        assert_ne!(third.control, Some(template));
        assert_ne!(third.dest, first.dest);
    }

    #[test]
    fn without_persistence_no_template_controls_a_connection() {
        let mut svc = VirtualService::new(
            Ipv4Addr::new(10, 0, 1, 100),
            80,
            by_name("rr").unwrap(),
            &[rs(11, 1, 0)],
            None,
        );
        assert_eq!(
            svc.schedule(&client(1), SimTime::ZERO).unwrap().control,
            None
        );
        assert!(svc.templates().is_empty());
        assert_eq!(svc.next_template_timer(), None);
    }
}
