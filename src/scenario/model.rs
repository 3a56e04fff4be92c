//! *A checked scenario*: the file's contents as typed, validated values.
//!
//! `validate` produces a [`Scenario`] only when the whole file is correct, so `build` never has
//! to handle a bad address or an unknown name. Addresses are parsed, quantities carry units,
//! and names are replaced by indices.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use crate::app::dns::authority::ZoneEntry;
use crate::app::dns::cache::CacheConfig;
use crate::app::dns::stub::CachePolicy;
use crate::app::{CheckerConfig, Distribution, Probe, ProxyConfig};
use crate::ipvs::service::RealServerConfig;
use crate::net::{LinkConfig, SegmentKind};
use crate::node::vrrp::VrrpConfig;
use crate::node::{Command, ServiceMode};
use crate::sim::{SimDuration, SimTime};

/// A whole checked scenario.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// The file it was read from, as the user named it.
    pub source_file: String,
    /// Short name.
    pub name: String,
    /// One-line description.
    pub description: String,
    /// Root seed (the file's, or 1).
    pub seed: u64,
    /// Virtual time limit.
    pub max_sim_time: SimTime,
    /// Event count limit.
    pub max_events: u64,
    /// Segments and links, segments first, in file order.
    pub segments: Vec<SegmentSpec>,
    /// Nodes in file order.
    pub nodes: Vec<NodeSpec>,
    /// The static name table.
    pub hosts: BTreeMap<String, Ipv4Addr>,
    /// Whether the capture is on in the file.
    pub capture_enabled: bool,
    /// Segments to capture (indices), or `None` for all.
    pub capture_segments: Option<Vec<usize>>,
    /// The capture filter, if any.
    pub capture_filter: Option<crate::capture::Filter>,
    /// The capture's snap length, if set.
    pub capture_snaplen: Option<u32>,
    /// The failure timeline.
    pub faults: Vec<FaultSpec>,
    /// Operator actions on the timeline.
    pub actions: Vec<ActionSpec>,
    /// Expected outcomes (`expect`), checked by `netlab test`.
    pub expect: Vec<crate::expect::Expectation>,
}

/// One checked fault; names are resolved to indices when the world is built.
#[derive(Clone, Debug)]
pub struct FaultSpec {
    /// When it happens.
    pub at: SimDuration,
    /// When it is undone.
    pub until: Option<SimDuration>,
    /// The node, segment, or label it names.
    pub target: String,
    /// What happens.
    pub kind: FaultKind,
}

/// One checked operator action; its node is resolved to an index when the world is built.
#[derive(Clone, Debug)]
pub struct ActionSpec {
    /// When it happens on the timeline, or, for an `on_alarm` action, how long after the
    /// alarm.
    pub at: SimDuration,
    /// The node it is done to.
    pub node: String,
    /// What `events.csv` names as the target (`lb1/10.0.1.12:80`, `dns1/www.example`).
    pub event_target: String,
    /// What is done.
    pub kind: ActionSpecKind,
}

/// What a checked action does.
#[derive(Clone, Debug)]
pub enum ActionSpecKind {
    /// The node's cables go in.
    PlugIn,
    /// A command for the node.
    Command(Command),
}

/// One probe of a monitor, with what its alarm makes the operator do.
#[derive(Clone, Debug)]
pub struct ProbeSpec {
    /// Name and checker.
    pub probe: Probe,
    /// The `on_alarm` actions; their `at` is the reaction delay.
    pub on_alarm: Vec<ActionSpec>,
}

/// What a checked fault does.
#[derive(Clone, Debug)]
pub enum FaultKind {
    /// Power loss of the target node.
    Crash,
    /// Interface `n` of the target node unplugged.
    InterfaceDown(usize),
    /// The target segment fails.
    LinkDown,
    /// The target segment's loss probability.
    Loss(f64),
    /// Extra delay on the target segment.
    ExtraDelay(SimDuration),
    /// Two groups of node names (client groups already expanded to their hosts).
    Partition(Vec<String>, Vec<String>),
    /// A service fault on the target node.
    Service(ServiceMode),
    /// A clean VRRP shutdown on the target node.
    StopVrrp,
}

/// A wire.
#[derive(Clone, Debug)]
pub struct SegmentSpec {
    /// Name.
    pub name: String,
    /// Switch or point-to-point.
    pub kind: SegmentKind,
    /// Physics.
    pub config: LinkConfig,
}

/// An interface.
#[derive(Clone, Copy, Debug)]
pub struct InterfaceSpec {
    /// Index of the segment it plugs into.
    pub segment: usize,
    /// Its address.
    pub ip: Ipv4Addr,
    /// Its prefix length.
    pub prefix_len: u8,
    /// Its MAC address, if the file gave one.
    pub mac: Option<[u8; 6]>,
}

/// A static route.
#[derive(Clone, Copy, Debug)]
pub struct RouteSpec {
    /// Destination network.
    pub network: Ipv4Addr,
    /// Prefix length.
    pub prefix_len: u8,
    /// Next hop (on a connected subnet).
    pub via: Ipv4Addr,
}

/// A pinger.
#[derive(Clone, Copy, Debug)]
pub struct PingSpec {
    /// Address to ping.
    pub target: Ipv4Addr,
    /// Requests.
    pub count: u32,
    /// Gap between requests.
    pub interval: SimDuration,
    /// First request.
    pub start: SimDuration,
    /// Wait for a reply.
    pub timeout: SimDuration,
}

/// A parsed `http://host:port/path`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    /// Name or address.
    pub host: String,
    /// Port (80 when not given).
    pub port: u16,
    /// Path, starting with `/`.
    pub path: String,
}

/// How a client group sends requests.
#[derive(Clone, Debug)]
pub enum WorkloadKind {
    /// Poisson arrivals at `rate` per second for the whole group.
    OpenLoop {
        /// Requests per second.
        rate: f64,
    },
    /// `users` per host, each thinking between requests.
    ClosedLoop {
        /// Users per host.
        users: u32,
        /// Think time.
        think_time: Distribution,
    },
}

/// A client group's workload.
#[derive(Clone, Debug)]
pub struct WorkloadSpec {
    /// Open or closed loop.
    pub kind: WorkloadKind,
    /// Total requests for the group.
    pub requests: Option<u64>,
    /// Stop sending after this long (from `start`).
    pub duration: Option<SimDuration>,
    /// When sending starts.
    pub start: SimDuration,
}

/// A virtual service.
#[derive(Clone, Debug)]
pub struct ServiceSpec {
    /// Virtual IP (0.0.0.0 for a firewall-mark service).
    pub vip: Ipv4Addr,
    /// The firewall mark the service matches instead of `vip:port`.
    pub fwmark: Option<u32>,
    /// Port.
    pub port: u16,
    /// Scheduler name (one of `ipvs::scheduler::ALL`).
    pub scheduler: String,
    /// Persistence timeout.
    pub persistence: Option<SimDuration>,
    /// Real servers in the order they are added.
    pub real_servers: Vec<RealServerConfig>,
    /// For each real server (same order): its keepalived checkers.
    pub checks: Vec<Vec<CheckerConfig>>,
    /// For each real server (same order): `inhibit_on_failure`.
    pub inhibit_on_failure: Vec<bool>,
    /// keepalived quorum.
    pub quorum: u32,
    /// keepalived hysteresis.
    pub hysteresis: u32,
    /// keepalived sorry server.
    pub sorry_server: Option<RealServerConfig>,
}

impl ServiceSpec {
    /// Whether keepalived has anything to do for this service.
    pub fn has_health_checks(&self) -> bool {
        self.checks.iter().any(|c| !c.is_empty()) || self.sorry_server.is_some()
    }
}

/// A client group's DNS settings.
#[derive(Clone, Copy, Debug)]
pub struct ClientDnsSpec {
    /// The DNS server to ask.
    pub server: Ipv4Addr,
    /// Each host's cache policy.
    pub policy: CachePolicy,
    /// Try the next address after a failed connection.
    pub try_next: bool,
}

/// A machine.
#[derive(Clone, Debug)]
pub enum NodeSpec {
    /// A router.
    Router {
        /// Name.
        name: String,
        /// Interfaces.
        interfaces: Vec<InterfaceSpec>,
        /// Static routes.
        routes: Vec<RouteSpec>,
        /// ARP entry lifetime.
        arp_timeout: SimDuration,
        /// VRRP instances.
        vrrp: Vec<VrrpConfig>,
        /// Whether gratuitous ARP is ignored.
        ignore_garp: bool,
        /// A cold spare: unplugged until a `PlugIn` action.
        cold_spare: bool,
    },
    /// A plain host, perhaps pinging.
    Host {
        /// Name.
        name: String,
        /// Interface.
        interface: InterfaceSpec,
        /// Default gateway.
        gateway: Option<Ipv4Addr>,
        /// Pinger, if any.
        ping: Option<PingSpec>,
    },
    /// A web server.
    WebServer {
        /// Name.
        name: String,
        /// Interface.
        interface: InterfaceSpec,
        /// Default gateway.
        gateway: Option<Ipv4Addr>,
        /// TCP port.
        port: u16,
        /// Workers.
        workers: u32,
        /// Backlog: the accept queue, already capped by `somaxconn`.
        backlog: u32,
        /// Whether a full server resets new SYNs instead of dropping them.
        abort_on_overflow: bool,
        /// Service time.
        service_time: Distribution,
        /// Body bytes of a 200 response.
        response_bytes: u64,
        /// Served path prefixes.
        paths: Vec<String>,
        /// Loopback addresses (VIPs for direct routing).
        loopback: Vec<Ipv4Addr>,
        /// Whether ARP requests for the loopback and tunnel addresses go unanswered.
        arp_ignore: bool,
        /// The IP-in-IP tunnel device, for IPVS tunnelling.
        tunnel: Option<crate::node::tunnel::TunnelConfig>,
        /// Port of an SMTP greeter running beside the web server.
        smtp_port: Option<u16>,
        /// Keep-alive idle timeout (`None`: no keep-alive).
        keep_alive: Option<SimDuration>,
        /// A transparent cache: capacity in objects and the origins' port.
        cache: Option<(u32, u16)>,
    },
    /// An IPVS director.
    L4Balancer {
        /// Name.
        name: String,
        /// Interfaces.
        interfaces: Vec<InterfaceSpec>,
        /// Static routes.
        routes: Vec<RouteSpec>,
        /// ARP entry lifetime.
        arp_timeout: SimDuration,
        /// Virtual services.
        services: Vec<ServiceSpec>,
        /// Times of `ipvsadm` snapshots.
        ipvsadm_at: Vec<SimDuration>,
        /// Connection synchronisation.
        connection_sync: bool,
        /// The mangle table's `MARK` rules.
        marks: Vec<crate::ipvs::fwmark::MarkRule>,
        /// VRRP instances.
        vrrp: Vec<VrrpConfig>,
        /// Whether gratuitous ARP is ignored.
        ignore_garp: bool,
        /// CPU time per frame and backlog, when the per-packet cost is modelled.
        packet_cost: Option<(SimDuration, u32)>,
    },
    /// A group of client hosts.
    Clients {
        /// Group name.
        name: String,
        /// Number of hosts.
        count: u32,
        /// Segment index.
        segment: usize,
        /// First host's address.
        first_ip: Ipv4Addr,
        /// Prefix length.
        prefix_len: u8,
        /// Default gateway.
        gateway: Option<Ipv4Addr>,
        /// What to fetch.
        url: Url,
        /// When.
        workload: WorkloadSpec,
        /// Per-request timeout.
        timeout: SimDuration,
        /// Per-address connection timeout.
        connect_timeout: Option<SimDuration>,
        /// DNS settings, if the group resolves with DNS.
        dns: Option<ClientDnsSpec>,
        /// Paths to pick from (empty: the URL's path).
        paths: Vec<String>,
        /// Whether the hosts reuse connections (keep-alive).
        keep_alive: bool,
        /// Bytes of the `Cookie` header each request carries (0: none).
        cookie_bytes: u64,
        /// Origin servers to spread requests over, each with its popularity weight (empty:
        /// the URL's host).
        origins: Vec<(Ipv4Addr, f64)>,
    },
    /// An authoritative DNS server.
    DnsServer {
        /// Name.
        name: String,
        /// Interface.
        interface: InterfaceSpec,
        /// Default gateway.
        gateway: Option<Ipv4Addr>,
        /// Its zone.
        zone: Vec<ZoneEntry>,
    },
    /// An L7 proxy.
    L7Balancer {
        /// Name.
        name: String,
        /// Interface.
        interface: InterfaceSpec,
        /// Default gateway.
        gateway: Option<Ipv4Addr>,
        /// Pools, rules and costs.
        config: ProxyConfig,
        /// Health checks: (pool, server, checker).
        checks: Vec<(usize, usize, CheckerConfig)>,
    },
    /// A caching DNS resolver.
    DnsResolver {
        /// Name.
        name: String,
        /// Interface.
        interface: InterfaceSpec,
        /// Default gateway.
        gateway: Option<Ipv4Addr>,
        /// Upstream and TTL clamps.
        config: CacheConfig,
    },
    /// A monitoring host.
    Monitor {
        /// Name.
        name: String,
        /// Interface.
        interface: InterfaceSpec,
        /// Default gateway.
        gateway: Option<Ipv4Addr>,
        /// Its probes.
        probes: Vec<ProbeSpec>,
    },
}

impl NodeSpec {
    /// The node's (or group's) name.
    pub fn name(&self) -> &str {
        match self {
            NodeSpec::Router { name, .. }
            | NodeSpec::Host { name, .. }
            | NodeSpec::WebServer { name, .. }
            | NodeSpec::Clients { name, .. }
            | NodeSpec::L4Balancer { name, .. }
            | NodeSpec::DnsServer { name, .. }
            | NodeSpec::DnsResolver { name, .. }
            | NodeSpec::Monitor { name, .. }
            | NodeSpec::L7Balancer { name, .. } => name,
        }
    }
}

impl Scenario {
    /// Addresses of the web servers, in file order.
    pub fn web_server_addrs(&self) -> Vec<Ipv4Addr> {
        self.nodes
            .iter()
            .filter_map(|n| match n {
                NodeSpec::WebServer { interface, .. } => Some(interface.ip),
                _ => None,
            })
            .collect()
    }

    /// Names of the web servers, in file order (the order of `summary.json`'s `servers`).
    pub fn web_server_names(&self) -> Vec<String> {
        self.nodes
            .iter()
            .filter(|n| matches!(n, NodeSpec::WebServer { .. }))
            .map(|n| n.name().to_string())
            .collect()
    }
}
