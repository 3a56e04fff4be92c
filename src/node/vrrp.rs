//! *VRRP*: two machines share a virtual IP address; one holds it, the other waits.
//!
//! The Virtual Router Redundancy Protocol (RFC 3768, version 2, as keepalived uses by default)
//! elects a **master** among routers (or balancers) that share a virtual router ID on a
//! segment. The master owns the virtual IPs (VIPs): it answers ARP for them and takes their
//! traffic. Every `advert_int` it multicasts an *advertisement* (IP protocol 112 to 224.0.0.18,
//! TTL 255) carrying its priority. A **backup** that hears no advertisement for
//!
//! ```text
//! Master_Down_Interval = 3 × advert_int + Skew_Time,   Skew_Time = (256 − priority) / 256 s
//! ```
//!
//! declares the master dead, becomes master, and announces the VIPs with *gratuitous ARP*
//! (an ARP request for its own address) so that neighbours update their ARP caches to its MAC.
//! keepalived sends 5 of them per VIP at once and 5 more after 5 s.
//!
//! The rules that decide who is master (RFC 3768 §6.4, and keepalived's behaviour):
//! - everyone starts as backup (only priority 255, the address owner, starts as master);
//! - a backup hearing priority 0 (a master resigning cleanly) waits only Skew_Time;
//! - a backup ignores adverts from a lower priority when preemption is on (the default): its
//!   timer runs out and it takes over, so preemption takes one Master_Down_Interval;
//!   with `nopreempt` any advert keeps it waiting;
//! - a master hearing a higher priority (or an equal one from a higher address) steps down.
//!
//! An instance also has a **FAULT** state (keepalived's, not the RFC's): keepalived always
//! tracks the interface an instance speaks on, and while that interface is down the instance
//! holds nothing, sends nothing and runs no timer. A master that falls into FAULT resigns
//! with a priority-0 advert (which a dead link cannot carry, so netlab does not send it).
//! When the interface comes back the instance starts again as a backup, its
//! Master_Down_Timer armed, and the election decides.
//!
//! Instances of one node can be tied into a *sync group* (`sync.rs`, keepalived's
//! `vrrp_sync_group`) so that they change state together; a member's own transitions are
//! modelled here, and `sync.rs` brings the other members along.
//!
//! This module holds the message format and one instance's state machine; the router it runs
//! in sends the frames and applies the VIPs.
//!
//! # Simplifications
//! - Version 2 only, no authentication, no virtual MAC (keepalived's default too).
//! - Only the instance's own interface is tracked (no `track_interface`, `track_script`,
//!   `dont_track_primary`), and only a pulled cable (an `InterfaceDown` fault) takes it down;
//!   a `LinkDown` of the whole segment does not, and a cold spare's instances do not start in
//!   FAULT.
//! - A master hearing a lower priority re-advertises and sends one burst of gratuitous ARPs
//!   (keepalived's `vrrp_garp_lower_prio_repeat`, without its delayed second burst).
//!
//! # Further reading
//! - RFC 3768 §5 (format), §6 (state machine); `shared/reference/keepalived-vrrp.md` §1b;
//!   `book/src/labs/redundancy.md`.

use std::net::Ipv4Addr;

use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    EthernetAddress, EthernetFrame, EthernetProtocol, EthernetRepr, IpProtocol, Ipv4Packet,
    Ipv4Repr,
};

use super::frames::{ETHERNET_HEADER_LEN, IPV4_HEADER_LEN};
use crate::sim::{SimDuration, SimTime};

pub mod sync;

pub use sync::SyncGroup;

/// The VRRP multicast group, 224.0.0.18.
pub const VRRP_GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// Its Ethernet multicast address, 01:00:5e:00:00:12.
pub const VRRP_GROUP_MAC: EthernetAddress = EthernetAddress([0x01, 0x00, 0x5e, 0x00, 0x00, 0x12]);
/// IP protocol number of VRRP.
pub const VRRP_PROTOCOL: u8 = 112;

/// What an advertisement says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Advert {
    /// Virtual router ID.
    pub vrid: u8,
    /// Sender's priority (0 = resigning).
    pub priority: u8,
    /// Advertisement interval in seconds.
    pub advert_int: u8,
    /// The virtual addresses.
    pub vips: Vec<Ipv4Addr>,
    /// The sender's primary address (the IP source).
    pub sender: Ipv4Addr,
}

/// Internet checksum (RFC 1071) of `bytes`.
fn checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for chunk in bytes.chunks(2) {
        let word = if chunk.len() == 2 {
            u16::from_be_bytes([chunk[0], chunk[1]])
        } else {
            u16::from_be_bytes([chunk[0], 0])
        };
        sum += word as u32;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

impl Advert {
    /// The whole Ethernet frame of this advertisement, sent from `mac`.
    pub fn frame(&self, mac: EthernetAddress) -> Vec<u8> {
        // RFC 3768 §5.1: version 2 / type 1, VRID, priority, count, auth type 0, interval,
        // checksum, the addresses, and 8 bytes of (unused) authentication data.
        let mut vrrp = vec![
            0x21,
            self.vrid,
            self.priority,
            self.vips.len() as u8,
            0,
            self.advert_int,
            0,
            0,
        ];
        for vip in &self.vips {
            vrrp.extend_from_slice(&vip.octets());
        }
        vrrp.extend_from_slice(&[0; 8]);
        let sum = checksum(&vrrp);
        vrrp[6..8].copy_from_slice(&sum.to_be_bytes());
        let ip = Ipv4Repr {
            src_addr: self.sender,
            dst_addr: VRRP_GROUP,
            next_header: IpProtocol::Unknown(VRRP_PROTOCOL),
            payload_len: vrrp.len(),
            hop_limit: 255, // RFC 3768 §5.2.3: receivers drop adverts with any other TTL.
        };
        let mut frame = vec![0u8; ETHERNET_HEADER_LEN + IPV4_HEADER_LEN + vrrp.len()];
        let mut eth = EthernetFrame::new_unchecked(&mut frame[..]);
        EthernetRepr {
            src_addr: mac,
            dst_addr: VRRP_GROUP_MAC,
            ethertype: EthernetProtocol::Ipv4,
        }
        .emit(&mut eth);
        let mut packet = Ipv4Packet::new_unchecked(eth.payload_mut());
        ip.emit(&mut packet, &ChecksumCapabilities::default());
        packet.payload_mut().copy_from_slice(&vrrp);
        frame
    }

    /// Parses an advertisement from an IPv4 packet; `None` for anything else, a bad checksum,
    /// or a TTL other than 255.
    pub fn parse(packet: &Ipv4Packet<&[u8]>) -> Option<Advert> {
        if packet.next_header() != IpProtocol::Unknown(VRRP_PROTOCOL) || packet.hop_limit() != 255 {
            return None;
        }
        let vrrp = packet.payload();
        if vrrp.len() < 8 || vrrp[0] != 0x21 || checksum(vrrp) != 0 {
            return None;
        }
        let count = vrrp[3] as usize;
        let vips = (0..count)
            .map(|i| {
                let at = 8 + 4 * i;
                let bytes = vrrp.get(at..at + 4)?;
                Some(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Advert {
            vrid: vrrp[1],
            priority: vrrp[2],
            advert_int: vrrp[5],
            vips,
            sender: packet.src_addr(),
        })
    }
}

/// A VRRP instance's configuration (keepalived's `vrrp_instance`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VrrpConfig {
    /// Name, for events (`VI_1`).
    pub name: String,
    /// Interface the instance speaks on.
    pub iface: usize,
    /// Virtual router ID, 1–255.
    pub vrid: u8,
    /// Priority, 1–255.
    pub priority: u8,
    /// Advertisement interval, whole seconds.
    pub advert_int: u8,
    /// Preemption (keepalived's default; `nopreempt` turns it off).
    pub preempt: bool,
    /// The virtual addresses.
    pub vips: Vec<Ipv4Addr>,
    /// Gratuitous ARPs per VIP in each burst (keepalived: 5).
    pub garp_repeat: u32,
    /// Delay of the second burst (keepalived: 5 s; zero for none).
    pub garp_delay: SimDuration,
    /// The node's sync group this instance belongs to (keepalived's `vrrp_sync_group`), if any.
    pub sync_group: Option<String>,
}

/// Where an instance is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VrrpState {
    /// Waiting for the master's adverts.
    Backup,
    /// Holding the VIPs.
    Master,
    /// Its interface is down (or, in a sync group, another member's is): holds nothing, says
    /// nothing, waits for the link.
    Fault,
    /// Stopped (a clean shutdown): says nothing, holds nothing.
    Stopped,
}

impl VrrpState {
    /// The word used in `events.csv`.
    pub fn name(self) -> &'static str {
        match self {
            VrrpState::Backup => "vrrp_backup",
            VrrpState::Master => "vrrp_master",
            VrrpState::Fault => "vrrp_fault",
            VrrpState::Stopped => "vrrp_stopped",
        }
    }
}

/// What the router must do for an instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VrrpAction {
    /// Send this advertisement.
    Advertise(u8),
    /// Send a burst of gratuitous ARPs for every VIP.
    GratuitousArp,
    /// The state changed (to this), for this reason.
    Became(VrrpState, String),
    /// A backup in a sync group wants master (its timer ran out): the router asks the group.
    WantsMaster,
    /// A backup in a sync group wanted master but stays backup until every member wants it
    /// too, for this reason (the `vrrp_sync_wait` event).
    Waits(String),
}

/// One running VRRP instance.
#[derive(Clone, Debug)]
pub struct VrrpInstance {
    /// Configuration.
    pub config: VrrpConfig,
    /// The primary address adverts come from.
    pub own_ip: Ipv4Addr,
    /// Current state.
    pub state: VrrpState,
    /// Backup: when the master is declared dead.
    master_down_at: Option<SimTime>,
    /// Backup: whether that timer was shortened by a resigning master (priority 0).
    resigned: bool,
    /// Backup: the Master_Down_Interval the timer was set with (the priority may change
    /// while it runs).
    armed_interval: SimDuration,
    /// Master: when the next advert goes.
    next_advert_at: Option<SimTime>,
    /// Master: when the second gratuitous ARP burst goes.
    second_garp_at: Option<SimTime>,
    /// Whether the instance's interface is down (a pulled cable): it stays in FAULT until the
    /// cable is back. A crash does not change it.
    link_down: bool,
    /// Whether the instance belongs to a sync group: then its expired Master_Down_Timer only
    /// makes it *want* master, and the group decides (`sync.rs`).
    synced: bool,
    /// Backup in a sync group whose timer ran out: why it wants master (keepalived's
    /// `wantstate` MASTER).
    wish: Option<String>,
}

impl VrrpInstance {
    /// An instance that starts now (keepalived: as backup, unless priority 255).
    pub fn new(config: VrrpConfig, own_ip: Ipv4Addr) -> VrrpInstance {
        let synced = config.sync_group.is_some();
        VrrpInstance {
            config,
            own_ip,
            state: VrrpState::Stopped,
            master_down_at: None,
            resigned: false,
            armed_interval: SimDuration::ZERO,
            next_advert_at: None,
            second_garp_at: None,
            link_down: false,
            synced,
            wish: None,
        }
    }

    /// Skew_Time = (256 − priority) / 256 seconds.
    pub fn skew_time(&self) -> SimDuration {
        SimDuration::from_nanos((256 - self.config.priority as u64) * 1_000_000_000 / 256)
    }

    /// Master_Down_Interval = 3 × advert_int + Skew_Time.
    pub fn master_down_interval(&self) -> SimDuration {
        SimDuration::from_secs(3 * self.config.advert_int as u64) + self.skew_time()
    }

    /// The advertisement interval.
    fn advert_interval(&self) -> SimDuration {
        SimDuration::from_secs(self.config.advert_int as u64)
    }

    /// Starts (or restarts) the instance at `now`: in FAULT if its interface is down.
    pub fn start(&mut self, now: SimTime, actions: &mut Vec<VrrpAction>) {
        if self.link_down {
            self.enter_fault("interface down at start-up", actions);
        } else if self.config.priority == 255 {
            self.become_master(now, "address owner (priority 255)", actions);
        } else {
            self.become_backup(now, "start-up", actions);
        }
    }

    /// A clean shutdown: a master resigns with priority 0.
    pub fn stop(&mut self, actions: &mut Vec<VrrpAction>) {
        if self.state == VrrpState::Master {
            actions.push(VrrpAction::Advertise(0));
        }
        self.state = VrrpState::Stopped;
        self.master_down_at = None;
        self.next_advert_at = None;
        self.second_garp_at = None;
        self.wish = None;
        actions.push(VrrpAction::Became(
            VrrpState::Stopped,
            "shutdown".to_string(),
        ));
    }

    /// A new priority (keepalived reloaded with another `priority`); returns the old one. A
    /// master's next advert carries it; a backup uses it for the next adverts it hears, so a
    /// backup raised above its master stops listening to it (with preemption) and takes over
    /// when Master_Down_Interval runs out, and a master lowered below a backup is taken over
    /// the same way.
    pub fn set_priority(&mut self, priority: u8) -> u8 {
        std::mem::replace(&mut self.config.priority, priority)
    }

    /// Forgets everything (a crash): no advert, no state. The cable stays as it was.
    pub fn crash(&mut self) {
        self.state = VrrpState::Stopped;
        self.master_down_at = None;
        self.next_advert_at = None;
        self.second_garp_at = None;
        self.wish = None;
    }

    /// Whether the instance's own interface is down.
    pub fn link_down(&self) -> bool {
        self.link_down
    }

    /// Whether the instance is a backup that wants master (its timer ran out while its sync
    /// group held it back).
    pub fn wants_master(&self) -> bool {
        self.state == VrrpState::Backup && self.wish.is_some()
    }

    /// The instance's interface went down (keepalived tracks it always): to FAULT.
    pub fn interface_down(&mut self, actions: &mut Vec<VrrpAction>) {
        self.link_down = true;
        if matches!(self.state, VrrpState::Backup | VrrpState::Master) {
            let why = format!("interface {} down", self.config.iface);
            self.enter_fault(&why, actions);
        }
    }

    /// The instance's interface is back. Alone, a FAULT instance goes to BACKUP with its
    /// Master_Down_Timer armed; in a sync group it waits for the group (`SyncGroup::recover`).
    pub fn interface_up(&mut self, now: SimTime, actions: &mut Vec<VrrpAction>) {
        self.link_down = false;
        if self.state == VrrpState::Fault && !self.synced {
            let why = format!("interface {} up", self.config.iface);
            self.become_backup(now, &why, actions);
        }
    }

    /// Enters FAULT (keepalived's `vrrp_state_leave_master` with `wantstate` FAULT): a master
    /// resigns with priority 0, if its link can still carry it, and drops its VIPs; every
    /// timer stops.
    pub fn enter_fault(&mut self, why: &str, actions: &mut Vec<VrrpAction>) {
        if self.state == VrrpState::Master && !self.link_down {
            actions.push(VrrpAction::Advertise(0));
        }
        self.state = VrrpState::Fault;
        self.master_down_at = None;
        self.next_advert_at = None;
        self.second_garp_at = None;
        self.wish = None;
        actions.push(VrrpAction::Became(VrrpState::Fault, why.to_string()));
    }

    /// Leaves FAULT, or a sync group's master, for BACKUP (keepalived's
    /// `vrrp_state_leave_fault`, `vrrp_sync_backup`): the Master_Down_Timer starts.
    pub fn step_down(&mut self, now: SimTime, why: &str, actions: &mut Vec<VrrpAction>) {
        self.become_backup(now, why, actions);
    }

    /// Becomes master because its sync group does (`vrrp_sync_master`), for `why`, or, with
    /// `None`, for the reason its own timer ran out.
    pub fn take_over(&mut self, now: SimTime, why: Option<&str>, actions: &mut Vec<VrrpAction>) {
        let own = self.wish.take().unwrap_or_default();
        self.become_master(now, why.unwrap_or(&own), actions);
    }

    /// Starts the backup's Master_Down_Timer from `now` with today's interval.
    fn arm_master_down(&mut self, now: SimTime) {
        self.armed_interval = self.master_down_interval();
        self.master_down_at = Some(now + self.armed_interval);
    }

    fn become_backup(&mut self, now: SimTime, why: &str, actions: &mut Vec<VrrpAction>) {
        self.state = VrrpState::Backup;
        self.arm_master_down(now);
        self.resigned = false;
        self.wish = None;
        self.next_advert_at = None;
        self.second_garp_at = None;
        actions.push(VrrpAction::Became(VrrpState::Backup, why.to_string()));
    }

    fn become_master(&mut self, now: SimTime, why: &str, actions: &mut Vec<VrrpAction>) {
        self.state = VrrpState::Master;
        self.master_down_at = None;
        self.wish = None;
        actions.push(VrrpAction::Became(VrrpState::Master, why.to_string()));
        actions.push(VrrpAction::Advertise(self.config.priority));
        actions.push(VrrpAction::GratuitousArp);
        self.next_advert_at = Some(now + self.advert_interval());
        self.second_garp_at =
            (self.config.garp_delay > SimDuration::ZERO).then(|| now + self.config.garp_delay);
    }

    /// An advertisement for this virtual router arrived (RFC 3768 §6.4.2 and §6.4.3).
    pub fn on_advert(&mut self, now: SimTime, advert: &Advert, actions: &mut Vec<VrrpAction>) {
        if advert.vrid != self.config.vrid || advert.sender == self.own_ip {
            return;
        }
        // keepalived drops adverts whose interval or address list differ (split brain).
        if advert.advert_int != self.config.advert_int || advert.vips != self.config.vips {
            return;
        }
        match self.state {
            VrrpState::Stopped | VrrpState::Fault => {}
            VrrpState::Backup => {
                if advert.priority == 0 {
                    self.master_down_at = Some(now + self.skew_time());
                    self.resigned = true;
                } else if !self.config.preempt || advert.priority >= self.config.priority {
                    self.arm_master_down(now);
                    self.resigned = false;
                    // keepalived: a backup held back by its sync group no longer wants
                    // master once it hears a master it accepts.
                    self.wish = None;
                }
                // Otherwise (preemption, lower priority): discard; our timer will run out.
            }
            VrrpState::Master => {
                let higher = advert.priority > self.config.priority
                    || (advert.priority == self.config.priority && advert.sender > self.own_ip);
                if advert.priority == 0 {
                    actions.push(VrrpAction::Advertise(self.config.priority));
                    self.next_advert_at = Some(now + self.advert_interval());
                } else if higher {
                    let why = format!(
                        "advert from {} with priority {}",
                        advert.sender, advert.priority
                    );
                    self.become_backup(now, &why, actions);
                } else {
                    // Another master with a lower priority (after a split brain, say):
                    // keepalived re-asserts itself with an advert and a burst of gratuitous
                    // ARPs (`vrrp_garp_lower_prio_repeat`), so neighbours come back to it.
                    actions.push(VrrpAction::Advertise(self.config.priority));
                    actions.push(VrrpAction::GratuitousArp);
                    self.next_advert_at = Some(now + self.advert_interval());
                }
            }
        }
    }

    /// Fires the timers due at `now`.
    pub fn tick(&mut self, now: SimTime, actions: &mut Vec<VrrpAction>) {
        if self.master_down_at.is_some_and(|at| at <= now) {
            let why = if self.resigned {
                format!(
                    "master resigned (priority 0); Skew_Time {}",
                    self.skew_time()
                )
            } else {
                format!("no advert for Master_Down_Interval {}", self.armed_interval)
            };
            self.resigned = false;
            if self.synced {
                // keepalived's `vrrp_sync_can_goto_master`: the group decides; until it says
                // yes the instance stays backup with its timer armed again.
                self.wish = Some(why);
                self.arm_master_down(now);
                actions.push(VrrpAction::WantsMaster);
            } else {
                self.become_master(now, &why, actions);
            }
            return;
        }
        if let Some(at) = self.next_advert_at
            && at <= now
        {
            actions.push(VrrpAction::Advertise(self.config.priority));
            self.next_advert_at = Some(at + self.advert_interval());
        }
        if self.second_garp_at.is_some_and(|at| at <= now) {
            actions.push(VrrpAction::GratuitousArp);
            self.second_garp_at = None;
        }
    }

    /// The next time `tick` has work.
    pub fn next_timer(&self) -> Option<SimTime> {
        [
            self.master_down_at,
            self.next_advert_at,
            self.second_garp_at,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The advert this instance sends with `priority`.
    pub fn advert(&self, priority: u8) -> Advert {
        Advert {
            vrid: self.config.vrid,
            priority,
            advert_int: self.config.advert_int,
            vips: self.config.vips.clone(),
            sender: self.own_ip,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(priority: u8, preempt: bool) -> VrrpInstance {
        VrrpInstance::new(
            VrrpConfig {
                name: "VI_1".into(),
                iface: 0,
                vrid: 51,
                priority,
                advert_int: 1,
                preempt,
                vips: vec![Ipv4Addr::new(10, 0, 1, 100)],
                garp_repeat: 5,
                garp_delay: SimDuration::from_secs(5),
                sync_group: None,
            },
            Ipv4Addr::new(10, 0, 1, 2),
        )
    }

    fn advert(priority: u8, sender: [u8; 4]) -> Advert {
        Advert {
            vrid: 51,
            priority,
            advert_int: 1,
            vips: vec![Ipv4Addr::new(10, 0, 1, 100)],
            sender: Ipv4Addr::from(sender),
        }
    }

    #[test]
    fn master_down_interval_follows_rfc_3768() {
        // advert_int 1 s, priority 100: 3 + 156/256 = 3.609375 s.
        assert_eq!(
            instance(100, true).master_down_interval().as_nanos(),
            3_609_375_000
        );
        assert_eq!(instance(200, true).skew_time().as_nanos(), 218_750_000);
    }

    #[test]
    fn a_backup_takes_over_when_adverts_stop() {
        let mut vi = instance(100, true);
        let mut actions = Vec::new();
        vi.start(SimTime::ZERO, &mut actions);
        assert_eq!(vi.state, VrrpState::Backup);
        vi.on_advert(
            SimTime::from_nanos(1_000_000_000),
            &advert(150, [10, 0, 1, 3]),
            &mut actions,
        );
        vi.tick(SimTime::from_nanos(4_000_000_000), &mut actions);
        assert_eq!(
            vi.state,
            VrrpState::Backup,
            "3.609 s after the last advert is not yet"
        );
        actions.clear();
        vi.tick(SimTime::from_nanos(4_609_375_000), &mut actions);
        assert_eq!(vi.state, VrrpState::Master);
        assert!(actions.contains(&VrrpAction::Advertise(100)));
        assert!(actions.contains(&VrrpAction::GratuitousArp));
    }

    #[test]
    fn priority_zero_means_take_over_after_the_skew_time() {
        let mut vi = instance(100, true);
        let mut actions = Vec::new();
        vi.start(SimTime::ZERO, &mut actions);
        vi.on_advert(SimTime::ZERO, &advert(0, [10, 0, 1, 3]), &mut actions);
        assert_eq!(vi.next_timer(), Some(SimTime::from_nanos(609_375_000)));
    }

    #[test]
    fn preemption_ignores_lower_priorities_and_nopreempt_does_not() {
        let mut eager = instance(200, true);
        let mut patient = instance(200, false);
        let mut actions = Vec::new();
        eager.start(SimTime::ZERO, &mut actions);
        patient.start(SimTime::ZERO, &mut actions);
        let later = SimTime::from_nanos(3_000_000_000);
        eager.on_advert(later, &advert(100, [10, 0, 1, 3]), &mut actions);
        patient.on_advert(later, &advert(100, [10, 0, 1, 3]), &mut actions);
        assert!(eager.next_timer() < patient.next_timer());
    }

    #[test]
    fn a_master_yields_to_a_higher_priority() {
        let mut vi = instance(100, true);
        let mut actions = Vec::new();
        vi.start(SimTime::ZERO, &mut actions);
        vi.tick(SimTime::from_nanos(3_609_375_000), &mut actions);
        assert_eq!(vi.state, VrrpState::Master);
        vi.on_advert(
            SimTime::from_nanos(4_000_000_000),
            &advert(150, [10, 0, 1, 1]),
            &mut actions,
        );
        assert_eq!(vi.state, VrrpState::Backup);
    }

    #[test]
    fn a_master_whose_link_goes_down_goes_to_fault_and_back_to_backup() {
        let mut vi = instance(100, true);
        let mut actions = Vec::new();
        vi.start(SimTime::ZERO, &mut actions);
        vi.tick(SimTime::from_nanos(3_609_375_000), &mut actions);
        assert_eq!(vi.state, VrrpState::Master);
        actions.clear();
        vi.interface_down(&mut actions);
        assert_eq!(vi.state, VrrpState::Fault);
        assert_eq!(
            actions,
            vec![VrrpAction::Became(
                VrrpState::Fault,
                "interface 0 down".into()
            )],
            "no priority-0 advert: the dead link cannot carry it"
        );
        assert_eq!(vi.next_timer(), None, "FAULT runs no timer");
        vi.on_advert(
            SimTime::from_nanos(5_000_000_000),
            &advert(0, [10, 0, 1, 3]),
            &mut actions,
        );
        assert_eq!(vi.next_timer(), None, "FAULT ignores adverts");
        actions.clear();
        vi.interface_up(SimTime::from_nanos(10_000_000_000), &mut actions);
        assert_eq!(vi.state, VrrpState::Backup);
        assert_eq!(
            vi.next_timer(),
            Some(SimTime::from_nanos(13_609_375_000)),
            "back as a backup, Master_Down_Timer armed"
        );
    }

    #[test]
    fn an_instance_that_starts_with_its_link_down_starts_in_fault() {
        let mut vi = instance(255, true);
        let mut actions = Vec::new();
        vi.interface_down(&mut actions);
        assert!(
            actions.is_empty(),
            "not running yet: it only notes the cable"
        );
        vi.start(SimTime::ZERO, &mut actions);
        assert_eq!(vi.state, VrrpState::Fault);
    }

    #[test]
    fn adverts_round_trip_with_a_valid_checksum() {
        let frame = advert(100, [10, 0, 1, 2]).frame(EthernetAddress([2, 0, 0, 0, 1, 0]));
        let eth = EthernetFrame::new_checked(&frame[..]).unwrap();
        assert_eq!(eth.dst_addr(), VRRP_GROUP_MAC);
        let ip = Ipv4Packet::new_checked(eth.payload()).unwrap();
        assert!(ip.verify_checksum());
        assert_eq!(Advert::parse(&ip), Some(advert(100, [10, 0, 1, 2])));
    }
}
