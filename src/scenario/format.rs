//! *The scenario file format*: the serde types a RON scenario file deserialises into.
//!
//! These types mirror the text a student writes, field for field, and nothing else: addresses
//! and quantities stay strings here (`"10.0.0.1/24"`, `"1ms"`) so that `validate` can report a
//! bad one with its position and a hint. `build` turns checked file types into the simulation's
//! own types; nothing outside `scenario` sees these.
//!
//! Every struct rejects unknown fields, so a typo such as `bandwith:` is an error, not a silent
//! default. Optional fields say their default in their doc comment; the book's scenario
//! reference (`book/src/reference/scenario.md`) is written from these comments.
//!
//! A minimal file:
//! ```ron
//! Scenario(
//!     name: "hello",
//!     description: "one client, one server",
//!     segments: [(name: "lan")],
//!     nodes: [
//!         WebServer(name: "web", interface: (attach: "lan", ip: "10.0.0.10/24")),
//!         Clients(name: "pc", count: 1, attach: "lan", first_ip: "10.0.0.100/24",
//!                 url: "http://10.0.0.10/", workload: OpenLoop(rate: 10.0, requests: Some(5))),
//!     ],
//! )
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A whole scenario file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename = "Scenario")]
pub struct ScenarioFile {
    /// Short name, shown in reports. Output goes to `output/<file stem>/`, not to this name.
    pub name: String,
    /// One line saying what the scenario shows (`netlab list` prints it).
    pub description: String,
    /// Root seed of all randomness. Default 1; `--seed` overrides it.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Safety limits of the run.
    #[serde(default)]
    pub limits: LimitsFile,
    /// Switched Ethernet segments (broadcast domains). Default none.
    #[serde(default)]
    pub segments: Vec<SegmentFile>,
    /// Point-to-point links between exactly two interfaces. Default none.
    #[serde(default)]
    pub links: Vec<SegmentFile>,
    /// The machines: routers, web servers, clients.
    pub nodes: Vec<NodeFile>,
    /// Static name table, like `/etc/hosts`: name → IPv4 address. Default empty.
    #[serde(default)]
    pub hosts: BTreeMap<String, String>,
    /// Packet capture. Default off (`--pcap` turns it on for every segment).
    #[serde(default)]
    pub capture: CaptureFile,
    /// The failure timeline. Default none.
    #[serde(default)]
    pub faults: Vec<FaultFile>,
    /// What an operator does, and when: drain a server, edit a zone, plug a spare in.
    /// Default none.
    #[serde(default)]
    pub actions: Vec<ActionFile>,
    /// Expected outcomes, checked by `netlab test`: `"requests.failed <= 5"`. Default none.
    #[serde(default)]
    pub expect: Vec<String>,
}

/// One fault: at `at`, `event` happens to `target`; at `until` (if given) it is undone.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FaultFile {
    /// When, such as `"10s"`.
    pub at: String,
    /// A node name, or a segment/link name for `LinkDown`, `Loss` and `ExtraDelay`, or a
    /// label of your choice for `Partition`.
    pub target: String,
    /// What happens.
    pub event: FaultEventFile,
    /// When it is undone (restore, interface up, service start...). Default: never.
    #[serde(default)]
    pub until: Option<String>,
    /// Which interface of the node, for `InterfaceDown`. Default 0 (the first).
    #[serde(default)]
    pub iface: Option<u32>,
}

/// One operator action: at `at`, the operator does `action` to `target`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ActionFile {
    /// When, such as `"30s"`.
    pub at: String,
    /// The node it is done to: a director, a DNS server, a router.
    pub target: String,
    /// What is done.
    pub action: ActionEventFile,
}

/// What an operator does.
#[derive(Debug, Clone, Deserialize, Serialize)]
// A misspelt field inside a variant (`SetWeight(sever: ...)`) is an error, not ignored.
#[serde(deny_unknown_fields)]
pub enum ActionEventFile {
    /// `ipvsadm -e -w WEIGHT`: a real server's new weight; 0 drains it (no new connections,
    /// the current ones finish).
    SetWeight {
        /// The real server's address, such as `"10.0.1.12"` (or `"10.0.1.12:8080"`).
        server: String,
        /// The new weight, 0 to 65535.
        weight: u32,
        /// The virtual service, such as `"10.0.1.100:80"`. Default: the director's only one.
        #[serde(default)]
        service: Option<String>,
    },
    /// `ipvsadm -a`: a real server joins the service (a new one, or one removed before).
    AddServer {
        /// Its address, such as `"10.0.1.13"` (or `"10.0.1.13:8080"`).
        server: String,
        /// Its weight. Default 1.
        #[serde(default)]
        weight: Option<u32>,
        /// `Nat`, `Dr` or `Tun`. Default `Nat`.
        #[serde(default)]
        forward: Option<ForwardFile>,
        /// The virtual service. Default: the director's only one.
        #[serde(default)]
        service: Option<String>,
    },
    /// `ipvsadm -d`: a real server leaves the service; connections it has stay in the table.
    RemoveServer {
        /// Its address, such as `"10.0.1.12"`.
        server: String,
        /// The virtual service. Default: the director's only one.
        #[serde(default)]
        service: Option<String>,
    },
    /// Deletes one A record from a DNS server's zone.
    RemoveRecord {
        /// The name, such as `"www.example"`.
        name: String,
        /// The record's address.
        address: String,
    },
    /// Adds an A record to a name of a DNS server's zone.
    AddRecord {
        /// The name, such as `"www.example"`.
        name: String,
        /// The new record's address.
        address: String,
    },
    /// Changes the TTL of a name of a DNS server's zone.
    SetTtl {
        /// The name, such as `"www.example"`.
        name: String,
        /// The new TTL, such as `"5s"`.
        ttl: String,
    },
    /// The node's cables go in: every unplugged interface of a cold spare (or of a node taken
    /// down with `InterfaceDown`) comes up.
    PlugIn,
    /// A VRRP instance's new priority (keepalived reloaded), 1 to 254.
    SetPriority {
        /// The new priority.
        priority: u8,
        /// The instance's name, such as `"VI_51"`. Default: the node's only instance.
        #[serde(default)]
        instance: Option<String>,
    },
}

/// The kinds of fault.
#[derive(Debug, Clone, Deserialize, Serialize)]
// A misspelt field inside a variant (`TcpCheck(prt: 80)`) is an error, not ignored.
#[serde(deny_unknown_fields)]
pub enum FaultEventFile {
    /// The node loses power; `until` reboots it with empty tables.
    Crash,
    /// One interface of the node is unplugged (see `iface`).
    InterfaceDown,
    /// The whole segment or link fails.
    LinkDown,
    /// The segment's loss probability becomes this, such as `Loss(0.2)`.
    Loss(f64),
    /// The segment's one-way delay grows by this, such as `ExtraDelay("50ms")`.
    ExtraDelay(String),
    /// Frames between the two groups of nodes are dropped.
    Partition {
        /// One group (node or client-group names).
        a: Vec<String>,
        /// The other group.
        b: Vec<String>,
    },
    /// keepalived's VRRP stops cleanly on the node (a priority-0 advert hands the VIPs over
    /// at once); `until` starts it again.
    StopVrrp,
    /// The web process stops: connections are refused, the host still answers ping.
    StopService,
    /// The web process accepts connections but never answers.
    HangService,
    /// The web process answers every request with this status, such as `ServiceErrors(503)`.
    ServiceErrors(u16),
    /// The web process takes this many times longer, such as `SlowService(5.0)`.
    SlowService(f64),
}

/// Limits that stop a run that would otherwise go on for ever.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsFile {
    /// Virtual time after which the run stops with an error. Default `"1h"`.
    #[serde(default)]
    pub max_sim_time: Option<String>,
    /// Number of events after which the run stops with an error. Default 200,000,000.
    #[serde(default)]
    pub max_events: Option<u64>,
}

/// A switched segment or a point-to-point link: both are wires with the same physics.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentFile {
    /// Name that interfaces use in `attach`.
    pub name: String,
    /// Speed of every port. Default `"1Gbps"`.
    #[serde(default)]
    pub bandwidth: Option<String>,
    /// One-way propagation delay between any two attached interfaces. Default `"10us"`.
    #[serde(default)]
    pub delay: Option<String>,
    /// Drop-tail limit of each transmit queue, in bytes. Default `"256KiB"`.
    #[serde(default)]
    pub queue: Option<String>,
    /// Probability in `[0, 1]` that a frame is lost on delivery. Default 0.
    #[serde(default)]
    pub loss: Option<f64>,
}

/// One machine (or, for `Clients`, a group of identical machines).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub enum NodeFile {
    /// Forwards IPv4 between its interfaces by static routes.
    Router(RouterFile),
    /// A plain host: a TCP/IP stack that answers ARP and ping, and may run a pinger.
    Host(HostFile),
    /// An HTTP/1.1 server.
    WebServer(WebServerFile),
    /// A group of client hosts that send HTTP requests.
    Clients(ClientsFile),
    /// An L4 load balancer (a Linux IPVS director): a router with virtual services.
    L4Balancer(L4BalancerFile),
    /// An authoritative DNS server.
    DnsServer(DnsServerFile),
    /// A caching DNS resolver (an ISP's or a carrier's).
    DnsResolver(DnsResolverFile),
    /// An L7 load balancer: a reverse proxy that routes by URL or host.
    L7Balancer(L7BalancerFile),
    /// A monitoring host (like Nagios or Zabbix): probes addresses and raises alarms.
    Monitor(MonitorFile),
}

/// A monitoring host. Each probe checks an address every `interval`; after `fail_after`
/// failures in a row it raises an alarm, after `clear_after` successes in a row it clears it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorFile {
    /// Node name.
    pub name: String,
    /// Its one interface.
    pub interface: InterfaceFile,
    /// Default gateway. Default none (on-link destinations only).
    #[serde(default)]
    pub gateway: Option<String>,
    /// What it checks.
    pub probes: Vec<ProbeFile>,
}

/// One probe of a monitor.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeFile {
    /// Name in events (`monitor/name`).
    pub name: String,
    /// An address, or the name of a node (its first interface's address).
    pub target: String,
    /// `Ping`, `Tcp(port: 22)` or `Http()`.
    pub kind: ProbeKindFile,
    /// Time between checks. Default `"60s"`.
    #[serde(default)]
    pub interval: Option<String>,
    /// Time between checks while failures are being counted (Nagios's `retry_interval`).
    /// Default: `interval`.
    #[serde(default)]
    pub retry_interval: Option<String>,
    /// How long one check may take. Default `"10s"`.
    #[serde(default)]
    pub timeout: Option<String>,
    /// Failed checks in a row that raise the alarm. Default 3.
    #[serde(default)]
    pub fail_after: Option<u32>,
    /// Successful checks in a row that clear it. Default 1.
    #[serde(default)]
    pub clear_after: Option<u32>,
    /// What the operator does when the alarm is raised, each after a reaction delay.
    /// Default nothing.
    #[serde(default)]
    pub on_alarm: Vec<ReactionFile>,
}

/// What a monitor's probe tests.
#[derive(Debug, Clone, Deserialize, Serialize)]
// A misspelt field inside a variant (`Tcp(prt: 22)`) is an error, not ignored.
#[serde(deny_unknown_fields)]
pub enum ProbeKindFile {
    /// An ICMP echo request must be answered.
    Ping,
    /// A TCP connection must be accepted.
    Tcp {
        /// The port.
        port: u16,
    },
    /// A GET must be answered with an expected status.
    Http {
        /// The port. Default 80.
        #[serde(default)]
        port: Option<u16>,
        /// The path. Default `"/"`.
        #[serde(default)]
        path: Option<String>,
        /// Accepted status codes. Default 200 to 299.
        #[serde(default)]
        status: Option<Vec<u16>>,
    },
}

/// An action an alarm triggers: `after` the alarm, the operator does `action` to `target`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReactionFile {
    /// The operator's reaction time, such as `"30s"`.
    pub after: String,
    /// The node it is done to.
    pub target: String,
    /// What is done.
    pub action: ActionEventFile,
}

/// An L7 load balancer (a reverse proxy such as HAProxy). Its address is the one clients use.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct L7BalancerFile {
    /// Node name.
    pub name: String,
    /// Its one interface; clients connect to this address.
    pub interface: InterfaceFile,
    /// Default gateway. Default none.
    #[serde(default)]
    pub gateway: Option<String>,
    /// Port it listens on. Default 80.
    #[serde(default)]
    pub port: Option<u16>,
    /// The backend pools.
    pub pools: Vec<PoolFile>,
    /// Routing rules, first match wins. Default none (everything to `default_pool`).
    #[serde(default)]
    pub rules: Vec<RuleFile>,
    /// The pool for requests no rule matches.
    pub default_pool: String,
    /// Client connections served at once. Default 256.
    #[serde(default)]
    pub max_connections: Option<u32>,
    /// CPU time to parse and route one request. Default `"100us"`.
    #[serde(default)]
    pub cost_per_request: Option<String>,
    /// CPU time to relay one KiB of response. Default `"5us"`.
    #[serde(default)]
    pub cost_per_kib: Option<String>,
    /// Keep client connections open between requests of clients that ask for it, closing one
    /// after this long without a request (HAProxy's `timeout http-keep-alive`). Server
    /// connections are one per request unless `reuse_server_connections`. Default none: close
    /// after each response.
    #[serde(default)]
    pub keep_alive: Option<String>,
    /// Keep server connections open and reuse them for later requests to the same server
    /// (HAProxy's `http-keep-alive` mode). Default false: a new server connection per request.
    #[serde(default)]
    pub reuse_server_connections: Option<bool>,
}

/// A pool of backend servers.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PoolFile {
    /// Its name, used by rules.
    pub name: String,
    /// Its servers.
    pub servers: Vec<BackendFile>,
    /// How a server is chosen. Default `RoundRobin`.
    #[serde(default)]
    pub algorithm: Option<AlgorithmFile>,
    /// Health checks run against every server of the pool (keepalived's checkers). Default
    /// none: every server is always considered up.
    #[serde(default)]
    pub checks: Vec<CheckFile>,
    /// Timing of those checks.
    #[serde(default)]
    pub check_timing: CheckTimingFile,
}

/// One backend server.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BackendFile {
    /// Its address.
    pub ip: String,
    /// Its port. Default 80.
    #[serde(default)]
    pub port: Option<u16>,
    /// Its weight, for `WeightedRoundRobin`. Default 1.
    #[serde(default)]
    pub weight: Option<u32>,
    /// A backup (HAProxy's `backup`): used only when no other server of the pool is up.
    /// Default false.
    #[serde(default)]
    pub backup: Option<bool>,
}

/// HAProxy's balancing algorithms.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
pub enum AlgorithmFile {
    /// `roundrobin`: in turn.
    RoundRobin,
    /// `static-rr`: in turn, in proportion to the weights.
    WeightedRoundRobin,
    /// `leastconn`: the fewest open connections.
    LeastConn,
    /// `source`: hash of the client's address.
    Source,
    /// `uri`: hash of the path.
    Uri,
}

/// A routing rule: give `path_prefix` or `host` (not both), and the pool.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    /// Matches paths starting with this, such as `"/static/"`.
    #[serde(default)]
    pub path_prefix: Option<String>,
    /// Matches this `Host` header, such as `"api.example"`.
    #[serde(default)]
    pub host: Option<String>,
    /// The pool to use.
    pub pool: String,
}

/// An authoritative DNS server.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DnsServerFile {
    /// Node name.
    pub name: String,
    /// Its one interface.
    pub interface: InterfaceFile,
    /// Default gateway. Default none.
    #[serde(default)]
    pub gateway: Option<String>,
    /// The names it answers for.
    pub zone: Vec<ZoneFile>,
}

/// One name of a zone with its A records.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneFile {
    /// The name, such as `"www.example"`.
    pub name: String,
    /// How long answers may be cached, such as `"60s"` (whole seconds on the wire).
    pub ttl: String,
    /// Its addresses.
    pub addresses: Vec<String>,
    /// `Cyclic` (rotate each answer, like BIND's `rrset-order cyclic`), `Fixed` or `Random`. Default `Cyclic`.
    #[serde(default)]
    pub order: Option<OrderFile>,
}

/// Record order in answers.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
pub enum OrderFile {
    /// Rotate by one for each answer.
    Cyclic,
    /// Always the listed order.
    Fixed,
    /// Shuffled each time.
    Random,
}

/// A caching DNS resolver.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DnsResolverFile {
    /// Node name.
    pub name: String,
    /// Its one interface.
    pub interface: InterfaceFile,
    /// Default gateway. Default none.
    #[serde(default)]
    pub gateway: Option<String>,
    /// The authoritative server it asks.
    pub upstream: String,
    /// Keep answers at least this long, whatever their TTL (some carriers do). Default none.
    #[serde(default)]
    pub min_ttl: Option<String>,
    /// Keep answers at most this long. Default none.
    #[serde(default)]
    pub max_ttl: Option<String>,
}

/// An IPVS director. Its VIPs are answered for (ARP, ping) on the interface whose subnet
/// holds them.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct L4BalancerFile {
    /// Node name.
    pub name: String,
    /// Its interfaces; each gives a connected route.
    pub interfaces: Vec<InterfaceFile>,
    /// Static routes. Default none.
    #[serde(default)]
    pub routes: Vec<RouteFile>,
    /// How long an ARP cache entry stays valid. Default `"60s"`.
    #[serde(default)]
    pub arp_timeout: Option<String>,
    /// VRRP instances (keepalived's `vrrp_instance`). Default none.
    #[serde(default)]
    pub vrrp: Vec<VrrpFile>,
    /// Ignore gratuitous ARP: keep old ARP entries until they expire. Default false (Linux
    /// updates an existing entry from a gratuitous ARP).
    #[serde(default)]
    pub ignore_garp: Option<bool>,
    /// CPU time the director's kernel spends on each frame, such as `"5us"`. Default none: the director's
    /// work takes no time.
    #[serde(default)]
    pub cost_per_packet: Option<String>,
    /// Frames that may wait for the CPU (Linux `netdev_max_backlog`). Default 1000.
    #[serde(default)]
    pub packet_backlog: Option<u32>,
    /// The virtual services (`ipvsadm -A`). Default none; required unless `keepalived`
    /// gives them.
    #[serde(default)]
    pub services: Vec<VirtualServiceFile>,
    /// A keepalived.conf that configures this director instead of `services` and `vrrp`,
    /// such as `"keepalived/lb1.conf"`: a path relative to the scenario file, inside its
    /// folder. Its `interface eth0`, `eth1`, ... are this node's interfaces in order.
    /// Default none.
    #[serde(default)]
    pub keepalived: Option<String>,
    /// The results of the conf's MISC_CHECK scripts, by `misc_path`, such as
    /// `{"/etc/keepalived/check.sh": [("0s", true), ("20s", false)]}`: netlab runs no
    /// scripts. Default none.
    #[serde(default)]
    pub scripts: BTreeMap<String, Vec<(String, bool)>>,
    /// Times at which to record `ipvsadm -Ln` into `ipvsadm.txt`, such as `["5s"]`. The state
    /// at the end of the run is always recorded. Default none.
    #[serde(default)]
    pub ipvsadm_at: Vec<String>,
    /// Connection synchronisation with the other directors (IPVS's sync daemon), so that a
    /// backup taking over keeps the master's connections. Default false.
    #[serde(default)]
    pub connection_sync: Option<bool>,
    /// The mangle table's `MARK` rules, for services with a `fwmark`, such as
    /// `[(mark: 1, from: "10.0.1.0/24", port: 80)]`. Default none.
    #[serde(default)]
    pub marks: Vec<MarkRuleFile>,
}

/// `iptables -t mangle -A PREROUTING [-s FROM] -p tcp [--dport PORT] -j MARK --set-mark MARK`:
/// marks the TCP packets the director forwards (not those to its own addresses).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MarkRuleFile {
    /// The mark, 1 or more.
    pub mark: u32,
    /// Only packets from this network, such as `"10.0.1.0/24"`. Default any source.
    #[serde(default)]
    pub from: Option<String>,
    /// Only packets to this destination port. Default any port.
    #[serde(default)]
    pub port: Option<u16>,
}

/// A virtual service: `ipvsadm -A -t VIP:port -s SCHEDULER [-p TIMEOUT]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VirtualServiceFile {
    /// The virtual IP address, such as `"10.0.1.100"`. Required unless `fwmark` is given.
    #[serde(default)]
    pub vip: String,
    /// A firewall-mark service (`ipvsadm -A -f MARK`): it takes the packets a rule of the
    /// director's `marks` marks with this number, whatever their destination, instead of
    /// those to `vip`. `port` is then the real servers' default port. Default none.
    #[serde(default)]
    pub fwmark: Option<u32>,
    /// TCP port. Default 80.
    #[serde(default)]
    pub port: Option<u16>,
    /// One of `rr wrr lc wlc sed nq sh dh lblc lblcr`. Default `"wlc"` (as ipvsadm and
    /// keepalived).
    #[serde(default)]
    pub scheduler: Option<String>,
    /// Persistence (`-p`): a client returns to the same real server for at least this long,
    /// and longer while its connections are still in the director's table, such as `"300s"`.
    /// Default off.
    #[serde(default)]
    pub persistence_timeout: Option<String>,
    /// The real servers (`ipvsadm -a`), added in this order: the last one is first in the
    /// kernel's list.
    pub real_servers: Vec<RealServerFile>,
    /// keepalived's check timing for every checker of this service (a real server may
    /// override it).
    #[serde(default)]
    pub check_timing: CheckTimingFile,
    /// keepalived `inhibit_on_failure`: a failed server gets weight 0 instead of being
    /// removed. Default false.
    #[serde(default)]
    pub inhibit_on_failure: Option<bool>,
    /// keepalived `quorum`: live weight needed to keep the real servers in service. Default 1.
    #[serde(default)]
    pub quorum: Option<u32>,
    /// keepalived `hysteresis` around the quorum. Default 0.
    #[serde(default)]
    pub hysteresis: Option<u32>,
    /// keepalived `sorry_server`: where new connections go while quorum is lost. Default none.
    #[serde(default)]
    pub sorry_server: Option<SorryServerFile>,
}

/// keepalived's timing knobs. Every field is optional; unset ones are inherited (checker ←
/// real server ← virtual service ← keepalived's default).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CheckTimingFile {
    /// Time between checks. keepalived's default `"60s"`.
    #[serde(default)]
    pub delay_loop: Option<String>,
    /// Time an attempt may take. Default `"5s"`.
    #[serde(default)]
    pub connect_timeout: Option<String>,
    /// Extra attempts before a server is declared down. Default 1 (0 for `MiscCheck`).
    #[serde(default)]
    pub retry: Option<u32>,
    /// Time between those attempts. Default `"1s"` (`"3s"` for `HttpGet` and `SslGet`).
    #[serde(default)]
    pub delay_before_retry: Option<String>,
    /// The first check waits 1 s plus a random part of this. Default: `delay_loop`.
    #[serde(default)]
    pub warmup: Option<String>,
    /// Start with the checker failed, so the server joins only after passing. Default false.
    #[serde(default)]
    pub alpha: Option<bool>,
}

/// A sorry server: `sorry_server IP PORT`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SorryServerFile {
    /// Its address.
    pub ip: String,
    /// Its port. Default: the service's port.
    #[serde(default)]
    pub port: Option<u16>,
    /// `Nat` or `Dr`. Default `Nat`.
    #[serde(default)]
    pub forward: Option<ForwardFile>,
}

/// A keepalived checker on a real server.
#[derive(Debug, Clone, Deserialize, Serialize)]
// A misspelt field inside a variant (`TcpCheck(prt: 80)`) is an error, not ignored.
#[serde(deny_unknown_fields)]
pub enum CheckFile {
    /// `PING_CHECK`: ICMP echo (layer 3).
    PingCheck,
    /// `TCP_CHECK`: a TCP connection, then close (layer 4).
    TcpCheck {
        /// Port to connect to. Default: the real server's port.
        #[serde(default)]
        port: Option<u16>,
    },
    /// `HTTP_GET`: a GET whose status must be expected (layer 7).
    HttpGet {
        /// Path to request. Default `"/"`.
        #[serde(default)]
        path: Option<String>,
        /// Accepted status codes. Default 200 to 299.
        #[serde(default)]
        status: Option<Vec<u16>>,
        /// Port. Default: the real server's port.
        #[serde(default)]
        port: Option<u16>,
    },
    /// `SSL_GET`: as `HttpGet` after a modelled TLS handshake (no TLS bytes on the wire).
    SslGet {
        /// Path to request. Default `"/"`.
        #[serde(default)]
        path: Option<String>,
        /// Accepted status codes. Default 200 to 299.
        #[serde(default)]
        status: Option<Vec<u16>>,
        /// Port. Default: the real server's port.
        #[serde(default)]
        port: Option<u16>,
        /// Time the handshake costs. Default `"2ms"`.
        #[serde(default)]
        handshake: Option<String>,
    },
    /// `SMTP_CHECK`: 220, HELO → 250, QUIT → 221.
    SmtpCheck {
        /// Port. Default 25.
        #[serde(default)]
        port: Option<u16>,
        /// Name sent with HELO. Default `"smtpchecker.keepalived.org"`.
        #[serde(default)]
        helo_name: Option<String>,
    },
    /// `MISC_CHECK`: a script's result, scripted here as `(from, succeeds)` pairs such as
    /// `[("0s", true), ("20s", false)]`.
    MiscCheck {
        /// The script's result from each time on.
        results: Vec<(String, bool)>,
    },
}

/// A real server: `ipvsadm -a -t VIP:port -r IP:port -m|-g -w WEIGHT [-x U] [-y L]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RealServerFile {
    /// Its address.
    pub ip: String,
    /// Its port. Default: the service's port.
    #[serde(default)]
    pub port: Option<u16>,
    /// Weight, 0 (no new connections) to 65535. Default 1.
    #[serde(default)]
    pub weight: Option<u32>,
    /// `Nat` (masquerading), `Dr` (direct routing) or `Tun` (IP-in-IP tunnelling). Default
    /// `Nat` (keepalived's default).
    #[serde(default)]
    pub forward: Option<ForwardFile>,
    /// Upper connection threshold (`-x`): no new connections at this many. Default 0 (none).
    #[serde(default)]
    pub upper_threshold: Option<u32>,
    /// Lower connection threshold (`-y`): accept again below this many. Default 0 (75% of
    /// the upper one).
    #[serde(default)]
    pub lower_threshold: Option<u32>,
    /// keepalived checkers. With none, the server is always considered up.
    #[serde(default)]
    pub checks: Vec<CheckFile>,
    /// Timing overrides for this server's checkers.
    #[serde(default)]
    pub check_timing: CheckTimingFile,
    /// Override the service's `inhibit_on_failure`.
    #[serde(default)]
    pub inhibit_on_failure: Option<bool>,
}

/// How the director reaches a real server.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
pub enum ForwardFile {
    /// Masquerading: rewrite the destination; replies must come back through the director.
    Nat,
    /// Direct routing: rewrite the destination MAC; replies go straight to the client.
    Dr,
    /// IP-in-IP tunnelling (`ipvsadm -i`, keepalived `lb_kind TUN`): wrap the packet in a
    /// new IPv4 header to the real server, which may be on another network; it needs a
    /// `tunnel` holding the VIP, and replies go straight to the client.
    Tun,
}

/// A router.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RouterFile {
    /// Node name.
    pub name: String,
    /// A cold spare: configured like the router it would replace (same addresses, and the
    /// same MACs if given), but unplugged from the start until an operator connects it with
    /// a `PlugIn` action. Its addresses may repeat another node's. Default false.
    #[serde(default)]
    pub cold_spare: Option<bool>,
    /// Its interfaces; each gives a connected route.
    pub interfaces: Vec<InterfaceFile>,
    /// Static routes, tried longest prefix first. Default none (connected routes only).
    #[serde(default)]
    pub routes: Vec<RouteFile>,
    /// How long an ARP cache entry stays valid. Default `"60s"`.
    #[serde(default)]
    pub arp_timeout: Option<String>,
    /// VRRP instances (keepalived's `vrrp_instance`). Default none.
    #[serde(default)]
    pub vrrp: Vec<VrrpFile>,
    /// Ignore gratuitous ARP: keep old ARP entries until they expire. Default false (Linux
    /// updates an existing entry from a gratuitous ARP).
    #[serde(default)]
    pub ignore_garp: Option<bool>,
    /// A keepalived.conf whose `vrrp_instance` blocks replace `vrrp`, such as
    /// `"keepalived/r1.conf"` (relative to the scenario file, inside its folder). Default none.
    #[serde(default)]
    pub keepalived: Option<String>,
}

/// A VRRP instance (keepalived's `vrrp_instance`), version 2.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VrrpFile {
    /// Name in events. Default `"VI_<virtual_router_id>"`.
    #[serde(default)]
    pub name: Option<String>,
    /// Index of the node's interface the instance speaks on. Default 0.
    #[serde(default)]
    pub interface: Option<u32>,
    /// Virtual router ID, 1 to 255; the same on every member.
    pub virtual_router_id: u8,
    /// Priority, 1 to 255 (255: the address owner). Default 100.
    #[serde(default)]
    pub priority: Option<u8>,
    /// Advertisement interval in whole seconds. Default 1.
    #[serde(default)]
    pub advert_int: Option<u8>,
    /// Never take over from a live master. Default false (preempt).
    #[serde(default)]
    pub nopreempt: Option<bool>,
    /// The virtual addresses.
    pub virtual_ipaddress: Vec<String>,
    /// Gratuitous ARPs per VIP on becoming master. Default 5.
    #[serde(default)]
    pub garp_master_repeat: Option<u32>,
    /// Delay of the second burst of gratuitous ARPs. Default `"5s"` (`"0s"`: none).
    #[serde(default)]
    pub garp_master_delay: Option<String>,
    /// The sync group (keepalived's `vrrp_sync_group`) this instance belongs to, such as
    /// `"NAT"`: the node's instances with the same group change state together. A group
    /// ties the instances of one node. Default none.
    #[serde(default)]
    pub sync_group: Option<String>,
}

/// A network interface: where it plugs in and its address.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InterfaceFile {
    /// The segment or link it is plugged into.
    pub attach: String,
    /// Address and prefix length, such as `"10.0.0.1/24"`.
    pub ip: String,
    /// MAC address such as `"02:00:00:00:01:01"`. Default: derived from the node's position.
    #[serde(default)]
    pub mac: Option<String>,
}

/// A static route.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RouteFile {
    /// Destination prefix such as `"10.0.2.0/24"`, or `"default"` for `0.0.0.0/0`.
    pub to: String,
    /// Next-hop address; it must be on one of the router's connected subnets.
    pub via: String,
}

/// A plain host.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HostFile {
    /// Node name.
    pub name: String,
    /// Its one interface.
    pub interface: InterfaceFile,
    /// Default gateway. Default none (on-link destinations only).
    #[serde(default)]
    pub gateway: Option<String>,
    /// Send ICMP echo requests. Default none.
    #[serde(default)]
    pub ping: Option<PingFile>,
}

/// A pinger: ICMP echo requests at a fixed interval, like `ping -c COUNT -i INTERVAL TARGET`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PingFile {
    /// Address or `hosts` name to ping.
    pub target: String,
    /// Number of echo requests. Default 4.
    #[serde(default)]
    pub count: Option<u32>,
    /// Time between requests. Default `"1s"`.
    #[serde(default)]
    pub interval: Option<String>,
    /// When the first request is sent. Default `"0s"`.
    #[serde(default)]
    pub start: Option<String>,
    /// How long to wait for each reply. Default `"1s"`.
    #[serde(default)]
    pub timeout: Option<String>,
}

/// An HTTP/1.1 web server.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WebServerFile {
    /// Node name; it is also the value of the `X-Served-By` header in its responses.
    pub name: String,
    /// Its one interface.
    pub interface: InterfaceFile,
    /// Default gateway. Default none.
    #[serde(default)]
    pub gateway: Option<String>,
    /// TCP port. Default 80.
    #[serde(default)]
    pub port: Option<u16>,
    /// Requests served at once (Apache's MaxRequestWorkers). Default 16.
    #[serde(default)]
    pub workers: Option<u32>,
    /// Connections accepted beyond the busy workers, waiting for one: the accept queue
    /// (Apache's `ListenBacklog`, capped by `somaxconn`). Default 16.
    #[serde(default)]
    pub backlog: Option<u32>,
    /// Linux `net.core.somaxconn`: the cap on any listen backlog. Default 4096 (Linux 5.4 and
    /// later; 128 before).
    #[serde(default)]
    pub somaxconn: Option<u32>,
    /// Linux `net.ipv4.tcp_abort_on_overflow`: with every slot taken, answer a new SYN with
    /// RST (the client sees `refused`) instead of dropping it (the client sends it again after
    /// 1 s, 3 s, ...). Default false, as in Linux.
    #[serde(default)]
    pub abort_on_overflow: Option<bool>,
    /// Time a worker spends on one request. Default `Fixed("1ms")`.
    #[serde(default)]
    pub service_time: Option<DistributionFile>,
    /// Body size of a 200 response. Default `"4KiB"`.
    #[serde(default)]
    pub response_size: Option<String>,
    /// Path prefixes answered with 200; others get 404. Default `["/"]` (everything).
    #[serde(default)]
    pub paths: Option<Vec<String>>,
    /// Addresses on the loopback interface, such as a VIP for direct routing. Default none.
    #[serde(default)]
    pub loopback: Vec<String>,
    /// Linux `arp_ignore=1`: do not answer ARP for the loopback and tunnel addresses. Default
    /// true. Set it to false to see what happens when a real server answers ARP for the VIP.
    #[serde(default)]
    pub arp_ignore: Option<bool>,
    /// An IP-in-IP tunnel device (`tunl0`) holding the VIP, which a real server behind an IPVS
    /// director in tunnelling mode (`forward: Tun`) needs. Default none: IP-in-IP packets
    /// are answered with ICMP protocol unreachable, as by Linux without the `ipip` module.
    #[serde(default)]
    pub tunnel: Option<TunnelFile>,
    /// Also run a minimal SMTP greeter on this port (for `SmtpCheck`). Default none.
    #[serde(default)]
    pub smtp_port: Option<u16>,
    /// Keep connections open between requests of clients that ask for it, closing one after
    /// this long without a request (Apache's `KeepAliveTimeout`, such as `"5s"`). Default none:
    /// every connection is closed after its response.
    #[serde(default)]
    pub keep_alive: Option<String>,
    /// Run as a transparent web cache instead (`app::TransparentCache`): answer requests for
    /// any origin (the `Host` header) from memory, fetching misses from the origin, such as
    /// `(capacity: 100)`. `workers + backlog` connections are served at once and
    /// `service_time` is the time to answer a hit; `paths`, `response_size` and
    /// `keep_alive` are not used. Default none: an ordinary web server.
    #[serde(default)]
    pub transparent_cache: Option<TransparentCacheFile>,
}

/// A transparent cache's memory.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TransparentCacheFile {
    /// Objects it holds (the least recently used is evicted to store one more).
    pub capacity: u32,
    /// The origins' port. Default 80.
    #[serde(default)]
    pub origin_port: Option<u16>,
}

/// A real server's `tunl0`: what `modprobe ipip; ip addr add VIP/32 dev tunl0; ip link set
/// tunl0 up; sysctl net.ipv4.conf.tunl0.rp_filter=...` configures.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TunnelFile {
    /// Addresses on `tunl0`: the VIPs the server answers for, such as `["10.0.1.100"]`.
    pub addresses: Vec<String>,
    /// Reverse-path filtering of what comes out of the tunnel: `Off` (0), `Loose` (2) or
    /// `Strict` (1), the higher of `net.ipv4.conf.all.rp_filter` and
    /// `net.ipv4.conf.tunl0.rp_filter`. Required: distributions differ (RHEL sets 1, Debian's
    /// systemd 2), and `Strict` silently drops every request.
    pub rp_filter: RpFilterFile,
    /// Lower the MSS option of the SYN-ACKs the server sends to this value (`iptables -t
    /// mangle -A OUTPUT -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1440`), so that
    /// clients send segments that still fit the path once the director wraps them. Default
    /// none (smoltcp advertises 1460).
    #[serde(default)]
    pub clamp_mss: Option<u16>,
}

/// Linux's `rp_filter` values.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
pub enum RpFilterFile {
    /// 0: no source validation.
    Off,
    /// 2: the source must be reachable by some interface (RFC 3704 loose mode).
    Loose,
    /// 1: the route back to the source must leave by the interface the packet came in on
    /// (RFC 3704 strict mode).
    Strict,
}

/// A time that is either always the same or random.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub enum DistributionFile {
    /// Always this long, such as `Fixed("5ms")`.
    Fixed(String),
    /// Exponentially distributed with this mean, such as `Exponential("5ms")`.
    Exponential(String),
}

/// A group of `count` identical client hosts with consecutive addresses.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClientsFile {
    /// Group name; the hosts are called `<name>-1`, `<name>-2`, ...
    pub name: String,
    /// Number of client hosts. Default 1.
    #[serde(default)]
    pub count: Option<u32>,
    /// Segment the hosts plug into.
    pub attach: String,
    /// Address of the first host, with prefix; the others follow it (`.100`, `.101`, ...).
    pub first_ip: String,
    /// Default gateway. Default none.
    #[serde(default)]
    pub gateway: Option<String>,
    /// What to fetch, such as `"http://www/index.html"` or `"http://10.0.1.10:8080/"`.
    pub url: String,
    /// When requests are sent.
    pub workload: WorkloadFile,
    /// Give up on a request after this long (outcome `timeout`). Default `"5s"`.
    #[serde(default)]
    pub timeout: Option<String>,
    /// Give up on one address after this long without a connection (then, with DNS
    /// `try_next`, try the next address). Default: only `timeout` applies.
    #[serde(default)]
    pub connect_timeout: Option<String>,
    /// Resolve the URL's host with DNS (when the `hosts` table does not know it). Default off.
    #[serde(default)]
    pub dns: Option<ClientDnsFile>,
    /// Paths to request instead of the URL's; each request picks one at random. Default none.
    #[serde(default)]
    pub paths: Vec<String>,
    /// Ask for `Connection: keep-alive` and send later requests on the same connection when the
    /// server agrees, as browsers do. Default false: one connection per request.
    #[serde(default)]
    pub keep_alive: Option<bool>,
    /// Send a `Cookie` header of about this size with every request, such as `"3KiB"` (big
    /// cookies make big requests: a request over 1460 bytes fills a whole TCP segment).
    /// Default none.
    #[serde(default)]
    pub cookie: Option<String>,
    /// Spread requests over many origin servers instead of the URL's host, such as
    /// `(first: "198.51.100.1", count: 40, popularity: Zipf(1.0))`: each request goes to one
    /// of `count` consecutive addresses (with `Host:` that address), the URL giving only the
    /// port and path. Default none.
    #[serde(default)]
    pub origins: Option<OriginsFile>,
}

/// Many origin servers a client group fetches from (the web, seen from a campus).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OriginsFile {
    /// The first origin's address; the others follow it.
    pub first: String,
    /// How many origins.
    pub count: u32,
    /// How often each is asked for. Default `Uniform`.
    #[serde(default)]
    pub popularity: Option<PopularityFile>,
}

/// How requests spread over the origins.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
pub enum PopularityFile {
    /// Every origin equally often.
    Uniform,
    /// Zipf's law with this exponent, such as `Zipf(1.0)`: the k-th origin is asked for in
    /// proportion to 1/k^s (web popularity follows it with s near 1).
    Zipf(f64),
}

/// How a client group resolves names.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClientDnsFile {
    /// Address of the DNS server to ask (a resolver, or an authoritative server).
    pub server: String,
    /// How long each host keeps an answer. Default `HonorTtl`.
    #[serde(default)]
    pub cache: Option<ClientCacheFile>,
    /// When a connection fails, try the answer's next address. Default false.
    #[serde(default)]
    pub try_next: Option<bool>,
}

/// A client's DNS cache policy.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub enum ClientCacheFile {
    /// Ask for every request.
    NoCache,
    /// Keep answers for their TTL.
    HonorTtl,
    /// Keep answers this long whatever the TTL, such as `Hold("60s")` (a browser).
    Hold(String),
    /// Resolve once and keep the answer for ever.
    Forever,
}

/// How a client group sends requests. A group stops after `requests` or `duration`, whichever
/// comes first; at least one of them must be given.
#[derive(Debug, Clone, Deserialize, Serialize)]
// A misspelt field inside a variant (`TcpCheck(prt: 80)`) is an error, not ignored.
#[serde(deny_unknown_fields)]
pub enum WorkloadFile {
    /// Open loop: requests arrive as a Poisson process at `rate` per second for the whole group,
    /// whether or not earlier ones have finished (like independent visitors).
    OpenLoop {
        /// Requests per second, for the whole group.
        rate: f64,
        /// Total requests for the group. Default: no limit.
        #[serde(default)]
        requests: Option<u64>,
        /// Stop sending after this long. Default: no limit.
        #[serde(default)]
        duration: Option<String>,
        /// When the first request may be sent. Default `"0s"`.
        #[serde(default)]
        start: Option<String>,
    },
    /// Closed loop: each host has `users` users; each sends a request, waits for it to finish,
    /// thinks, and sends the next (like people clicking through a site).
    ClosedLoop {
        /// Users on each host of the group.
        users: u32,
        /// Pause between a response and the next request. Default `Fixed("0s")`.
        #[serde(default)]
        think_time: Option<DistributionFile>,
        /// Total requests for the group. Default: no limit.
        #[serde(default)]
        requests: Option<u64>,
        /// Stop sending after this long. Default: no limit.
        #[serde(default)]
        duration: Option<String>,
        /// When the first requests are sent. Default `"0s"`.
        #[serde(default)]
        start: Option<String>,
    },
}

/// Which wires to capture into `capture-<segment>.pcap` and `capture.pcapng`, and which frames.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CaptureFile {
    /// Write the capture files. Default false.
    #[serde(default)]
    pub enabled: bool,
    /// Segment and link names to capture. Default: all of them.
    #[serde(default)]
    pub segments: Option<Vec<String>>,
    /// A capture filter in tcpdump's syntax (a subset: `capture::filter`), such as
    /// `"tcp port 80"`. Default: every frame.
    #[serde(default)]
    pub filter: Option<String>,
    /// Bytes kept of each frame. Default 262144 (whole frames).
    #[serde(default)]
    pub snaplen: Option<u32>,
}
