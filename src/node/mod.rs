//! *Nodes*: the machines plugged into the network.
//!
//! Every machine implements [`Node`]: the world hands it the frames that arrive on its
//! interfaces and wakes it at the times it asked for. A node answers through [`NodeCtx`]: it
//! sends frames out of an interface, asks to be woken later, and appends to the trace.
//!
//! There are two families:
//! - [`Host`]: an end system running a real smoltcp TCP/IP stack, with applications on top
//!   (web server, HTTP clients, pinger; later DNS, proxies, health checkers).
//! - [`Router`]: a frame processor that forwards IPv4 between its interfaces. Routers (and,
//!   later, L4 balancers) are not smoltcp hosts: smoltcp never forwards packets.
//!
//! Start with [`Node`], then `host.rs`, then `router.rs`.

mod arp;
pub mod command;
mod device;
mod frames;
mod host;
mod l4_balancer;
mod listen;
pub mod packet_cpu;
mod router;
mod sockets;
pub mod tunnel;
pub mod vrrp;

pub use arp::ArpCache;
pub use command::{Command, ZoneEdit};
pub use device::{
    FourTuple, IcmpError, IngressPolicy, SimDevice, TIME_WAIT, TimeWaitTable, host_card,
    to_duration,
};
pub use host::{App, AppCtx, Host, HostConfig};
pub use l4_balancer::{L4Balancer, MemberHealth, ServiceHealth};
pub use listen::{DroppedSyn, FullQueues};
pub use router::{
    IcmpError as RouterIcmpError, Route, Router, RouterInterface, lookup as route_lookup,
    prefix_mask,
};
pub use sockets::Reservation;

use crate::sim::SimTime;
use crate::trace::Trace;

/// A machine in the simulation.
pub trait Node {
    /// The node's name from the scenario.
    fn name(&self) -> &str;

    /// A frame arrived on interface `iface` at `ctx.now`.
    fn handle_frame(&mut self, ctx: &mut NodeCtx<'_>, iface: usize, frame: Vec<u8>);

    /// A wake-up the node asked for with [`NodeCtx::wake_at`] is due.
    fn handle_wake(&mut self, ctx: &mut NodeCtx<'_>);

    /// Whether the node still has work it must finish before the run may end (a client with
    /// requests left to send or in flight). Infrastructure returns `false`.
    fn has_pending_workload(&self) -> bool {
        false
    }

    /// The run is over: record any final state into `ctx.trace` (frames sent now are dropped).
    fn finish(&mut self, _ctx: &mut NodeCtx<'_>) {}

    /// The machine loses power: everything volatile (connections, caches, queues) is gone.
    /// While it is down the world delivers it nothing and never wakes it.
    fn crash(&mut self) {}

    /// Power comes back: the machine boots with empty tables and caches.
    fn restore(&mut self, _ctx: &mut NodeCtx<'_>) {}

    /// A cable was plugged back into interface `iface` (the undoing of an `InterfaceDown`).
    fn interface_up(&mut self, _ctx: &mut NodeCtx<'_>, _iface: usize) {}

    /// The cable of interface `iface` was pulled (an `InterfaceDown` fault): the node sees
    /// its link go down (keepalived puts the instances on it in FAULT).
    fn interface_down(&mut self, _ctx: &mut NodeCtx<'_>, _iface: usize) {}

    /// Starts (`true`) or cleanly shuts down (`false`, priority 0) the node's VRRP instances;
    /// returns `false` if it runs none.
    fn set_vrrp(&mut self, _ctx: &mut NodeCtx<'_>, _running: bool) -> bool {
        false
    }

    /// Changes how the node's service (its web server) behaves; returns `false` if the node
    /// runs no service.
    fn set_service_mode(&mut self, _mode: ServiceMode) -> bool {
        false
    }

    /// Carries out an operator's command; returns what changed, in words for `events.csv`
    /// (`"weight 0 (was 1)"`), or `None` if the node has nothing the command is about.
    fn operate(&mut self, _ctx: &mut NodeCtx<'_>, _command: &Command) -> Option<String> {
        None
    }
}

/// How a service behaves: the service faults of the failure timeline.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ServiceMode {
    /// Working normally.
    Normal,
    /// The process is gone: nothing listens, so connections are refused (RST), while the host
    /// still answers ping and ARP.
    Stopped,
    /// The process accepts connections and reads requests but never answers.
    Hung,
    /// Every request is answered with this error status (500, 503...).
    Errors(u16),
    /// Every request takes this many times longer.
    Slow(f64),
}

/// What a node may do while it handles an event.
pub struct NodeCtx<'a> {
    /// The current virtual time.
    pub now: SimTime,
    /// The node's index in the world (what decision records name it by).
    pub node: usize,
    /// Frames to send: `(interface index, frame bytes)`.
    outbox: &'a mut Vec<(usize, Vec<u8>)>,
    /// The earliest wake-up asked for during this call.
    wake: Option<SimTime>,
    /// The run's records.
    pub trace: &'a mut Trace,
    /// Alarms raised during this call (a monitor's check index each), for the world to page
    /// the operator with.
    pub alarms: Vec<usize>,
    /// The world's emptied frame buffers, lent for this call. A frame is written by one host
    /// and read by another, so a pool per card fills at the readers and runs dry at the
    /// writers; one pool for all lets steady traffic send without allocating.
    pub spare_frames: Vec<Vec<u8>>,
}

impl<'a> NodeCtx<'a> {
    /// A context for node `node` at `now` that collects frames into `outbox` and records into
    /// `trace`.
    pub fn new(
        now: SimTime,
        node: usize,
        outbox: &'a mut Vec<(usize, Vec<u8>)>,
        trace: &'a mut Trace,
    ) -> Self {
        NodeCtx {
            now,
            node,
            outbox,
            wake: None,
            trace,
            alarms: Vec::new(),
            spare_frames: Vec::new(),
        }
    }

    /// Sends `frame` out of interface `iface`.
    pub fn send(&mut self, iface: usize, frame: Vec<u8>) {
        self.outbox.push((iface, frame));
    }

    /// Asks to be woken at `at` (or now, if `at` is in the past). Several calls keep the earliest.
    pub fn wake_at(&mut self, at: SimTime) {
        let at = at.max(self.now);
        self.wake = Some(self.wake.map_or(at, |w| w.min(at)));
    }

    /// The earliest wake-up asked for.
    pub fn requested_wake(&self) -> Option<SimTime> {
        self.wake
    }
}
