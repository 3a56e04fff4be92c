//! *An end host*: a real smoltcp TCP/IP stack with applications on top.
//!
//! A host has one Ethernet interface, a smoltcp `Interface` (ARP, IPv4, ICMP, TCP, UDP), a set
//! of sockets, and one or more [`App`]s (web server, HTTP client, pinger...).
//! Whenever something happens (a frame arrives, a timer is due) the host is *serviced*:
//!
//! 1. the stack is polled at the current virtual time: it takes in every waiting frame and
//!    sends whatever its sockets have to send;
//! 2. every application looks at its sockets and acts (accepts, reads, writes, closes);
//! 3. if an application acted, the stack is polled again so that its data leaves now;
//! 4. the frames the stack wrote are handed to the world, the connections with nothing to do
//!    fall asleep out of the stack's walk (`node::sockets`: before each poll the ones it may
//!    concern wake up), and the host asks to be woken at the earliest of the stack's own
//!    deadline (`poll_at`: retransmission, delayed ACK..., the asleep connections' included)
//!    and its applications' timers.
//!
//! A host that has nothing to do is never polled, which keeps large scenarios cheap.
//!
//! A real server may hold extra addresses: a VIP on its loopback (direct routing) or on an
//! IP-in-IP tunnel device (IPVS tunnelling, `node::tunnel`); the tunnel's MSS clamp rewrites
//! the SYN-ACKs in step 4, as an `iptables` TCPMSS rule would on the way out.
//!
//! # Simplifications
//! - One interface per host.
//! - Applications run in zero time unless they model a delay themselves (a web server's
//!   service time).
//!
//! # Further reading
//! - `../shared/reference/smoltcp-0.14.md` §1.2–1.3; `book/src/engine.md`.

use std::net::Ipv4Addr;

use smoltcp::iface::{Config, Interface};
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpCidr};

use super::device::{SimDevice, to_instant};
use super::sockets::HostSockets;
use super::tunnel::{TunnelConfig, TunnelEndpoint, clamp_mss};
use super::{Command, Node, NodeCtx, ServiceMode};
use crate::sim::SimTime;
use crate::trace::Trace;

/// How many poll/application rounds one service may take before it stops. Each round must be
/// caused by an application acting; far fewer are ever needed.
const MAX_ROUNDS_PER_SERVICE: usize = 64;

/// What a host is built from.
#[derive(Clone, Debug)]
pub struct HostConfig {
    /// Node name.
    pub name: String,
    /// Index of this node in the world (recorded in the trace).
    pub node_index: usize,
    /// The interface's MAC address.
    pub mac: EthernetAddress,
    /// Address and prefix length.
    pub ip: Ipv4Addr,
    /// Prefix length of `ip`'s subnet.
    pub prefix_len: u8,
    /// Default gateway, if any.
    pub gateway: Option<Ipv4Addr>,
    /// Seed of the stack's own random numbers (TCP initial sequence numbers).
    pub stack_seed: u64,
}

/// What an application may touch while it runs.
pub struct AppCtx<'a> {
    /// The current virtual time.
    pub now: SimTime,
    /// Index of the host in the world.
    pub node_index: usize,
    /// The host's address.
    pub ip: Ipv4Addr,
    /// The stack, for `connect` (`iface.context()`).
    pub iface: &'a mut Interface,
    /// The host's sockets.
    pub sockets: &'a mut HostSockets,
    /// The network card, for its ingress policy (TIME-WAIT table, ICMP errors).
    pub device: &'a mut SimDevice,
    /// The run's records.
    pub trace: &'a mut Trace,
    /// Alarms raised now (a monitor's check index each): the world pages the operator.
    pub alarms: &'a mut Vec<usize>,
}

/// A program running on a host.
pub trait App {
    /// Looks at the sockets and acts. Returns `true` if it did anything the stack must send
    /// (opened, wrote to or closed a socket), so the host polls the stack again.
    fn poll(&mut self, cx: &mut AppCtx<'_>) -> bool;

    /// The next time the application must run even if no frame arrives.
    fn next_timer(&self) -> Option<SimTime>;

    /// Whether the application still has work the run must wait for.
    fn has_pending_workload(&self) -> bool {
        false
    }

    /// The host crashed: its sockets are gone; forget everything tied to them.
    fn crash(&mut self) {}

    /// The run is over: record totals into the trace.
    fn report(&self, _trace: &mut Trace, _node: usize) {}

    /// Changes how the application serves; returns `false` if it is not a service.
    fn set_service_mode(&mut self, _mode: ServiceMode) -> bool {
        false
    }

    /// Carries out an operator's command (a zone edit for a DNS server); returns what
    /// changed, in words, or `None` if the command is not for this application.
    fn operate(&mut self, _command: &Command) -> Option<String> {
        None
    }
}

/// An end host.
pub struct Host {
    /// How it was built, to build it again after a crash.
    config: HostConfig,
    /// Loopback addresses and whether ARP for them is ignored.
    loopback: Vec<(Ipv4Addr, bool)>,
    /// The IP-in-IP tunnel (`tunl0`) and whether ARP for its addresses is ignored.
    tunnel: Option<(TunnelConfig, bool)>,
    /// Node name.
    name: String,
    /// Index of this node in the world.
    node_index: usize,
    /// The host's address.
    ip: Ipv4Addr,
    /// The smoltcp interface.
    iface: Interface,
    /// The network card under it.
    device: SimDevice,
    /// All sockets of all applications.
    sockets: HostSockets,
    /// The applications, run in this order.
    apps: Vec<Box<dyn App>>,
}

impl Host {
    /// A host with a configured interface and no applications.
    pub fn new(config: HostConfig) -> Host {
        let mut device = SimDevice::new(config.mac);
        let iface = new_interface(&config, &mut device, SimTime::ZERO);
        Host {
            name: config.name.clone(),
            node_index: config.node_index,
            ip: config.ip,
            config,
            loopback: Vec::new(),
            tunnel: None,
            iface,
            device,
            sockets: HostSockets::new(),
            apps: Vec::new(),
        }
    }

    /// Starts an application on this host.
    pub fn add_app(&mut self, app: Box<dyn App>) {
        self.apps.push(app);
    }

    /// Adds `ip` on a loopback interface, as a direct-routing real server holds a VIP
    /// (`ip addr add VIP/32 dev lo`). With `arp_ignore` (Linux `arp_ignore=1`), the host does
    /// not answer ARP requests for it; Linux `arp_announce=2` comes for free, because smoltcp
    /// picks the source of its own ARP requests from the subnet of the address it asks for.
    pub fn add_loopback_address(&mut self, ip: Ipv4Addr, arp_ignore: bool) {
        self.loopback.push((ip, arp_ignore));
        add_loopback(&mut self.iface, &mut self.device, ip, arp_ignore);
    }

    /// Adds an IP-in-IP tunnel device, as an IPVS tunnelling real server has (`modprobe ipip;
    /// ip addr add VIP/32 dev tunl0; ip link set tunl0 up`): its addresses become the host's
    /// (ARP for them ignored with `arp_ignore`, as for the loopback), and IP-in-IP packets to
    /// the host are unwrapped before the stack sees them (see `tunnel`).
    pub fn add_tunnel(&mut self, config: TunnelConfig, arp_ignore: bool) {
        self.tunnel = Some((config, arp_ignore));
        self.install_tunnel();
    }

    /// Puts the configured tunnel on the current interface and card (again after a reboot).
    fn install_tunnel(&mut self) {
        let Some((config, arp_ignore)) = &self.tunnel else {
            return;
        };
        for &ip in &config.addresses {
            add_loopback(&mut self.iface, &mut self.device, ip, *arp_ignore);
        }
        self.device.policy.tunnel = Some(TunnelEndpoint::new(
            config.clone(),
            self.config.ip,
            self.config.prefix_len,
            self.config.gateway.is_some(),
        ));
    }

    /// The card's ingress policy, to configure `arp_ignore` and the like.
    pub fn device_mut(&mut self) -> &mut SimDevice {
        &mut self.device
    }

    /// Runs the stack and the applications at `ctx.now` (steps 1–4 of the module doc).
    fn service(&mut self, ctx: &mut NodeCtx<'_>) {
        let now = ctx.now;
        let instant = to_instant(now);
        self.device.set_now(now);
        // The card sends from, and reads back into, the world's pool of spare buffers.
        self.device.swap_spare(&mut ctx.spare_frames);
        for _ in 0..MAX_ROUNDS_PER_SERVICE {
            // 1. The stack takes in frames and sends what its sockets have queued; first the
            //    asleep connections this may concern come back into its walk.
            self.sockets
                .before_poll(&mut self.iface, instant, &self.device.rx);
            self.iface
                .poll(instant, &mut self.device, &mut self.sockets);
            // 2. The applications act on their sockets.
            let mut acted = false;
            let mut cx = AppCtx {
                now,
                node_index: self.node_index,
                ip: self.ip,
                iface: &mut self.iface,
                sockets: &mut self.sockets,
                device: &mut self.device,
                trace: ctx.trace,
                alarms: &mut ctx.alarms,
            };
            for app in &mut self.apps {
                acted |= app.poll(&mut cx);
            }
            // 3. Poll again only if an application gave the stack something to do.
            if !acted {
                break;
            }
        }
        self.device.swap_spare(&mut ctx.spare_frames);
        // 4. Hand the frames to the wire and ask to be woken when next needed.
        let clamp = self.tunnel.as_ref().and_then(|(t, _)| t.clamp_mss);
        for mut frame in self.device.tx.drain(..) {
            if let Some(mss) = clamp {
                clamp_mss(&mut frame, mss);
            }
            ctx.send(0, frame);
        }
        // The connections with nothing to do leave the stack's walk until they have.
        self.sockets.settle(&mut self.iface, instant);
        let stack = self.iface.poll_at(instant, &self.sockets);
        let due = match (stack, self.sockets.next_alarm()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Some(at) = due {
            // smoltcp counts in microseconds and reports "due now" as a time at or before now.
            // Everything due now was just done, so a deadline that is not in the future means
            // "as soon as possible": the next microsecond. Waking again in the same instant
            // could never make progress.
            let due_micros = (at.total_micros().max(0) as u64).max(now.as_micros() + 1);
            ctx.wake_at(SimTime::from_nanos(due_micros * 1_000));
        }
        for app in &self.apps {
            if let Some(at) = app.next_timer() {
                ctx.wake_at(at);
            }
        }
    }
}

/// A smoltcp interface with the host's address and default route, booted at `now`.
fn new_interface(config: &HostConfig, device: &mut SimDevice, now: SimTime) -> Interface {
    let mut iface_config = Config::new(HardwareAddress::Ethernet(config.mac));
    iface_config.random_seed = config.stack_seed;
    let mut iface = Interface::new(iface_config, device, to_instant(now));
    iface.update_ip_addrs(|addrs| {
        addrs
            .push(IpCidr::new(config.ip.into(), config.prefix_len))
            .expect("a fresh interface has room for its first address");
    });
    if let Some(gateway) = config.gateway {
        iface
            .routes_mut()
            .add_default_ipv4_route(gateway)
            .expect("a fresh interface has room for a default route");
    }
    iface
}

/// Puts `ip` on the loopback: a /32 on the interface, and `arp_ignore` in the card's policy.
fn add_loopback(iface: &mut Interface, device: &mut SimDevice, ip: Ipv4Addr, arp_ignore: bool) {
    iface.update_ip_addrs(|addrs| {
        addrs
            .push(IpCidr::new(ip.into(), 32))
            .expect("SMOLTCP_IFACE_MAX_ADDR_COUNT leaves room for loopback addresses");
    });
    if arp_ignore {
        device.policy.arp_ignore.push(ip);
    }
}

impl Node for Host {
    fn name(&self) -> &str {
        &self.name
    }

    fn handle_frame(&mut self, ctx: &mut NodeCtx<'_>, _iface: usize, frame: Vec<u8>) {
        self.device.rx.push_back(frame);
        self.service(ctx);
    }

    fn handle_wake(&mut self, ctx: &mut NodeCtx<'_>) {
        self.service(ctx);
    }

    fn has_pending_workload(&self) -> bool {
        self.apps.iter().any(|app| app.has_pending_workload())
    }

    fn finish(&mut self, ctx: &mut NodeCtx<'_>) {
        for app in &self.apps {
            app.report(ctx.trace, self.node_index);
        }
    }

    fn crash(&mut self) {
        // Power is gone: every socket, queued frame and cache entry with it.
        self.sockets = HostSockets::new();
        for app in &mut self.apps {
            app.crash();
        }
    }

    fn restore(&mut self, ctx: &mut NodeCtx<'_>) {
        // Boot: a fresh card and stack (empty ARP cache), the same addresses.
        self.device = SimDevice::new(self.config.mac);
        self.iface = new_interface(&self.config, &mut self.device, ctx.now);
        for &(ip, arp_ignore) in &self.loopback {
            add_loopback(&mut self.iface, &mut self.device, ip, arp_ignore);
        }
        self.install_tunnel();
        self.sockets = HostSockets::new();
        ctx.wake_at(ctx.now);
    }

    fn set_service_mode(&mut self, mode: ServiceMode) -> bool {
        let mut any = false;
        for app in &mut self.apps {
            any |= app.set_service_mode(mode);
        }
        any
    }

    fn operate(&mut self, _ctx: &mut NodeCtx<'_>, command: &Command) -> Option<String> {
        self.apps.iter_mut().find_map(|app| app.operate(command))
    }
}
