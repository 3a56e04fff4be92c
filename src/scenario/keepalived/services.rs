//! *Virtual servers*: `virtual_server` and `real_server` blocks to the scenario's virtual
//! services, the same `VirtualServiceFile` an inline `services: [...]` gives.
//!
//! ```text
//! virtual_server 10.0.0.100 80 {        VirtualServiceFile { vip, port,
//!     lb_algo wlc                           scheduler: "wlc",
//!     lb_kind NAT                           real_servers: [ RealServerFile { forward: Nat,
//!     real_server 10.0.1.11 80 {                ip, port, weight: 3,
//!         weight 3                              checks: [HttpGet { path: "/health" }],
//!         HTTP_GET { url { path /health } }
//!     }
//! }
//! ```
//!
//! Values keepalived reads but netlab would run differently are refused with the reason, not
//! changed: `protocol UDP` (netlab's services are TCP), a tunnel `type` other than IPIP, the
//! schedulers netlab lacks.
//!
//! # Simplifications
//! - keepalived defaults a service without `protocol` to UDP; netlab runs it as TCP, with a
//!   warning.
//! - `lb_kind DR` or `TUN` with a real server port other than the service's: keepalived
//!   resets the port (with an error); so does netlab, with a warning.
//! - Checker timing is kept per real server: the checkers of one real server must agree on
//!   each value they set (keepalived lets them differ); each checker's own defaults (`retry`
//!   0 for MISC_CHECK, `delay_before_retry` 3 s for HTTP_GET) are kept.
//! - An `HTTP_GET` checks its first `url` only, and `connect_ip` other than the real server's
//!   address is not modelled.
//! - A `virtual_server group NAME` becomes one service per address of the group, each with its
//!   own checkers (keepalived runs one checker per real server for the whole group, so netlab
//!   sends more probes). Firewall-mark entries of a group are not modelled.
//! - `virtual_server fwmark N` is read as a firewall-mark service; the mark itself is set by
//!   the scenario's `marks` (on a real director, by iptables, which keepalived does not
//!   touch either). Its real servers' port defaults to 80.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use super::checkers::{CheckerRead, Timing, checker};
use super::keywords::Context;
use super::lexer::Word;
use super::parser::Item;
use super::report::Report;
use crate::ipvs::scheduler;
use crate::scenario::diagnostic::nearest;
use crate::scenario::format::{
    CheckTimingFile, ForwardFile, RealServerFile, SorryServerFile, VirtualServiceFile,
};
use crate::scenario::validate::limits;

/// The results of MISC_CHECK scripts, by `misc_path`, as the scenario gives them.
pub type Scripts = BTreeMap<String, Vec<(String, bool)>>;

/// The longest `persistence_timeout` keepalived takes, in seconds (31 days).
const MAX_PERSISTENCE_S: u64 = 31 * 86_400;

/// The `virtual_server_group` blocks of a file: each name with its addresses and ports.
pub type Groups = BTreeMap<String, Vec<(Ipv4Addr, u16)>>;

/// The most services one `virtual_server group` may stand for, as many as a list may hold.
const MAX_GROUP_SERVICES: usize = limits::MAX_LIST;

/// A `virtual_server_group NAME { IP PORT | IP-LAST PORT ... }` block: its addresses, with
/// ranges of the last byte (`10.0.1.100-102 80`) written out.
pub fn virtual_server_group(r: &mut Report<'_>, item: &Item, groups: &mut Groups) {
    let Some(name) = r.arg(item, 0, "a name") else {
        return;
    };
    let Some(items) = r.block(item) else {
        return;
    };
    let mut entries = Vec::new();
    for entry in items {
        r.no_block(entry);
        let first = entry.keyword();
        if first.text == "fwmark" {
            r.warning(
                first,
                "a firewall-mark entry is not modelled by netlab".into(),
                "netlab's services are an address and a port: write `IP PORT`",
            );
            continue;
        }
        let (low, last) = match first.text.split_once('-') {
            Some((low, last)) => (low, Some(last)),
            None => (first.text.as_str(), None),
        };
        let low_word = Word {
            text: low.to_string(),
            ..first.clone()
        };
        let Some(start) = r.ipv4(&low_word, "the virtual address") else {
            continue;
        };
        let end = match last {
            Some(last) => match last.parse::<u8>() {
                Ok(last) if last >= start.octets()[3] => last,
                _ => {
                    r.error(
                        first,
                        format!("\"{}\" is not a range of addresses", first.text),
                        "a range gives the last byte of the last address, such as 10.0.1.100-102",
                    );
                    continue;
                }
            },
            None => start.octets()[3],
        };
        let Some(port) = r.arg(entry, 0, "a port").and_then(|w| r.port(w)) else {
            continue;
        };
        for last in start.octets()[3]..=end {
            let [a, b, c, _] = start.octets();
            entries.push((Ipv4Addr::new(a, b, c, last), port));
        }
        if entries.len() > MAX_GROUP_SERVICES {
            r.error(
                first,
                format!("this group stands for more than {MAX_GROUP_SERVICES} services"),
                "use fewer or smaller ranges",
            );
            return;
        }
    }
    groups.insert(name.text.clone(), entries);
}

/// A `virtual_server` block: one service, or one per address of its group. Empty when it
/// cannot be read (errors reported) or is not modelled (a warning). Its first words say which
/// of the three forms it is: `fwmark N`, `group NAME`, or `IP PORT`.
pub fn virtual_server(
    r: &mut Report<'_>,
    item: &Item,
    scripts: &Scripts,
    groups: &Groups,
) -> Vec<VirtualServiceFile> {
    let Some(first) = r.arg(item, 0, "an address and a port") else {
        return Vec::new();
    };
    match first.text.as_str() {
        "fwmark" => fwmark_server(r, item, scripts).into_iter().collect(),
        "group" => group_servers(r, item, scripts, groups),
        _ => address_server(r, item, scripts, first)
            .into_iter()
            .collect(),
    }
}

/// `virtual_server fwmark N`: the packets marked N by the director's mangle rules (the
/// scenario's `marks`; keepalived does not set them either).
fn fwmark_server(r: &mut Report<'_>, item: &Item, scripts: &Scripts) -> Option<VirtualServiceFile> {
    let mark = r
        .arg(item, 1, "a firewall mark")
        .and_then(|w| r.number(w, "fwmark", 1, u64::from(u32::MAX)));
    let any = Some(Ipv4Addr::UNSPECIFIED);
    virtual_server_at(r, item, scripts, any, Some(80), mark.map(|m| m as u32))
}

/// `virtual_server group NAME`: the block read once per address of the named
/// `virtual_server_group`.
fn group_servers(
    r: &mut Report<'_>,
    item: &Item,
    scripts: &Scripts,
    groups: &Groups,
) -> Vec<VirtualServiceFile> {
    let Some(name) = r.arg(item, 1, "a group name") else {
        return Vec::new();
    };
    let Some(entries) = groups.get(&name.text) else {
        let names = groups.keys().map(String::as_str);
        let otherwise = "define it with `virtual_server_group NAME { IP PORT }`";
        r.unknown_name(name, "virtual_server_group", names, otherwise);
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|&(vip, port)| virtual_server_at(r, item, scripts, Some(vip), Some(port), None))
        .collect()
}

/// `virtual_server IP PORT`, whose first word `first` is the address.
fn address_server(
    r: &mut Report<'_>,
    item: &Item,
    scripts: &Scripts,
    first: &Word,
) -> Option<VirtualServiceFile> {
    let vip = r.ipv4(first, "the virtual address");
    let port = match item.args().get(1) {
        Some(word) => r.port(word),
        None => {
            r.error(
                item.keyword(),
                "this virtual server has no port".into(),
                "netlab's services have a port: write `virtual_server IP PORT`",
            );
            None
        }
    };
    virtual_server_at(r, item, scripts, vip, port, None)
}

/// The block of a `virtual_server` read as the service `vip`:`port`, or as the firewall-mark
/// service `fwmark` (`None` where they could not be read, reported already).
///
/// The block is read in one pass, then what needs the whole block is settled: the missing
/// `protocol`, the sorry server's forwarding method, and the real servers, which inherit the
/// service's port, method, weight and check timing wherever in the block those are written.
fn virtual_server_at(
    r: &mut Report<'_>,
    item: &Item,
    scripts: &Scripts,
    vip: Option<Ipv4Addr>,
    port: Option<u16>,
    fwmark: Option<u32>,
) -> Option<VirtualServiceFile> {
    let keyword = item.keyword();
    let items = r.block(item)?;
    let is_fwmark = item.args().first().is_some_and(|w| w.text == "fwmark");
    let mut service = empty_service(is_fwmark, vip, port, fwmark)?;
    let mut block = ServiceBlock::default();
    for item in items {
        service_keyword(r, item, &mut service, &mut block);
    }
    if !block.protocol_seen && !is_fwmark {
        r.warning(
            keyword,
            "this virtual server has no `protocol`: keepalived makes it UDP, netlab runs it as TCP"
                .into(),
            "write `protocol TCP`, as netlab models it",
        );
    }
    sorry_server_forward(&mut service, &block);
    real_servers(r, &mut service, &block, scripts);
    if service.real_servers.is_empty() {
        r.warning(
            keyword,
            "this virtual server has no real servers".into(),
            "keepalived ignores it; netlab keeps the empty service in IPVS",
        );
    }
    Some(service)
}

/// The service the block fills in, with only its address set: `vip`:`port`, or the
/// firewall mark `fwmark` (with `port` its real servers' default port) when the block is
/// `virtual_server fwmark N`. `None` when one of them could not be read.
fn empty_service(
    is_fwmark: bool,
    vip: Option<Ipv4Addr>,
    port: Option<u16>,
    fwmark: Option<u32>,
) -> Option<VirtualServiceFile> {
    if is_fwmark && fwmark.is_none() {
        return None;
    }
    Some(VirtualServiceFile {
        vip: if is_fwmark {
            String::new()
        } else {
            vip?.to_string()
        },
        fwmark,
        port: Some(port?),
        scheduler: None,
        persistence_timeout: None,
        real_servers: Vec::new(),
        check_timing: CheckTimingFile::default(),
        inhibit_on_failure: None,
        quorum: None,
        hysteresis: None,
        sorry_server: None,
    })
}

/// What a `virtual_server` block says beyond the fields of the service itself: what its
/// real servers inherit, and what is only settled once the whole block is read.
#[derive(Default)]
struct ServiceBlock<'i> {
    /// Checker timing at service level (`delay_loop`, `retry`, ...).
    timing: Timing,
    /// `lb_kind` / `lvs_method`, if given.
    method: Option<ForwardFile>,
    /// `sorry_server_lvs_method`, if given.
    sorry_method: Option<ForwardFile>,
    /// `weight` at service level, if given: the real servers' default.
    weight: Option<u32>,
    /// Whether the block has a `protocol` line.
    protocol_seen: bool,
    /// The `real_server` blocks, read once the rest of the block is known.
    real_servers: Vec<&'i Item>,
}

/// One line of a `virtual_server` block, into the service or into `block`. Each group of
/// keywords has its own reader:
/// - scheduling and forwarding: `lb_algo` / `lvs_sched` ([`sched`]), `lb_kind` /
///   `lvs_method` and `sorry_server_lvs_method` ([`forward`]), `protocol`;
/// - persistence: `persistence_timeout`, `persistence_granularity`;
/// - the real servers as a whole: `quorum`, `hysteresis`, `inhibit_on_failure`, `weight`;
/// - the `sorry_server`, the `real_server` blocks, and checker timing (the rest).
fn service_keyword<'i>(
    r: &mut Report<'_>,
    item: &'i Item,
    service: &mut VirtualServiceFile,
    block: &mut ServiceBlock<'i>,
) {
    if !r.known(Context::VirtualServer, item) {
        return;
    }
    let name = item.keyword().text.as_str();
    if name != "real_server" {
        r.no_block(item);
    }
    match name {
        "lb_algo" | "lvs_sched" => service.scheduler = sched(r, item),
        "lb_kind" | "lvs_method" => block.method = forward(r, item),
        "sorry_server_lvs_method" => block.sorry_method = forward(r, item),
        "protocol" => {
            block.protocol_seen = true;
            protocol(r, item);
        }
        "persistence_timeout" => service.persistence_timeout = persistence_timeout(r, item),
        "persistence_granularity" => granularity(r, item),
        "quorum" => service.quorum = live_weight(r, item, 1),
        "hysteresis" => service.hysteresis = live_weight(r, item, 0),
        "inhibit_on_failure" => service.inhibit_on_failure = r.flag(item.args().first()),
        "weight" => block.weight = weight(r, item),
        "sorry_server" => service.sorry_server = sorry_server(r, item),
        "real_server" => block.real_servers.push(item),
        _ => block.timing.read(r, item),
    }
}

/// `persistence_timeout [S]`: a client keeps going to the same real server for `S` seconds
/// (1 s to 31 days), as scenario text. Without a value, keepalived's default of 6 minutes.
fn persistence_timeout(r: &mut Report<'_>, item: &Item) -> Option<String> {
    let seconds = match item.args().first() {
        Some(word) => r.number(word, "persistence_timeout", 1, MAX_PERSISTENCE_S),
        None => Some(360),
    };
    seconds.map(|s| format!("{s}s"))
}

/// `quorum W` (at least `min` = 1) or `hysteresis W` (`min` = 0): weights compared with the
/// sum of the weights of the live real servers. keepalived keeps the service up while that
/// sum is at least the quorum; the hysteresis widens the step, so that the service comes up
/// at quorum + hysteresis and goes down below quorum − hysteresis.
fn live_weight(r: &mut Report<'_>, item: &Item, min: u64) -> Option<u32> {
    let keyword = item.keyword().text.as_str();
    r.arg(item, 0, "a weight")
        .and_then(|w| r.number(w, keyword, min, u64::from(u32::MAX)))
        .map(|n| n as u32)
}

/// The sorry server's forwarding method: `sorry_server_lvs_method`, else the service's
/// `lb_kind`. Direct routing and tunnelling cannot change the port, so its port is dropped
/// with them.
fn sorry_server_forward(service: &mut VirtualServiceFile, block: &ServiceBlock<'_>) {
    if let Some(sorry) = service.sorry_server.as_mut() {
        sorry.forward = block.sorry_method.or(block.method);
        if matches!(sorry.forward, Some(ForwardFile::Dr | ForwardFile::Tun)) {
            sorry.port = None;
        }
    }
}

/// The `real_server` blocks of the service, in order, each with what it inherits from the
/// service (its port, `lb_kind`, `weight` and checker timing). Those that cannot be read are
/// left out (reported already).
fn real_servers(
    r: &mut Report<'_>,
    service: &mut VirtualServiceFile,
    block: &ServiceBlock<'_>,
    scripts: &Scripts,
) {
    let defaults = ServiceDefaults {
        port: service.port.unwrap_or(80),
        method: block.method,
        weight: block.weight,
        timing: &block.timing,
        scripts,
    };
    for item in &block.real_servers {
        if let Some(rs) = real_server(r, item, &defaults) {
            service.real_servers.push(rs);
        }
    }
}

/// What a virtual server passes down to its real servers.
struct ServiceDefaults<'a> {
    /// The service's port.
    port: u16,
    /// `lb_kind`, if given.
    method: Option<ForwardFile>,
    /// `weight` at service level, if given.
    weight: Option<u32>,
    /// Checker timing at service level.
    timing: &'a Timing,
    /// MISC_CHECK results.
    scripts: &'a Scripts,
}

/// The checker blocks a real server may hold (see `checkers`).
const CHECKERS: [&str; 6] = [
    "HTTP_GET",
    "SSL_GET",
    "TCP_CHECK",
    "SMTP_CHECK",
    "MISC_CHECK",
    "PING_CHECK",
];

/// A `real_server IP [PORT] { ... }` block: its address, its own settings and checkers,
/// then the rules that need them all (the port direct routing and tunnelling keep, the
/// port the checkers probe, one timing for all its checkers).
fn real_server(r: &mut Report<'_>, item: &Item, s: &ServiceDefaults<'_>) -> Option<RealServerFile> {
    let keyword = item.keyword();
    let port_word = item.args().get(1);
    let (addr, port) = real_server_address(r, item, s.port)?;
    let mut rs = inherited_server(addr, port, s);
    let (timing, checkers) = real_server_block(r, item, addr, s.scripts, &mut rs);
    keep_service_port(r, &mut rs, port, port_word, s.port);
    if port_word.is_none() {
        warn_probed_ports(r, keyword, &rs.ip, &checkers, s.port);
    }
    rs.check_timing = per_server_timing(r, keyword, &checkers, &timing, s.timing);
    rs.checks = checkers.into_iter().map(|c| c.check).collect();
    Some(rs)
}

/// The `IP [PORT]` after `real_server`: its address, and its port (the service's
/// `service_port` when it gives none, as keepalived). `None` when either cannot be read; both
/// are reported.
fn real_server_address(
    r: &mut Report<'_>,
    item: &Item,
    service_port: u16,
) -> Option<(Ipv4Addr, u16)> {
    let addr = r
        .arg(item, 0, "an address")
        .and_then(|w| r.ipv4(w, "the real server"));
    let port = match item.args().get(1) {
        Some(word) => r.port(word),
        None => Some(service_port),
    };
    Some((addr?, port?))
}

/// Real server `addr`:`port` before its block is read: with the service's `weight` and
/// `lb_kind`, which its own `weight` and `lvs_method` may override.
fn inherited_server(addr: Ipv4Addr, port: u16, s: &ServiceDefaults<'_>) -> RealServerFile {
    RealServerFile {
        ip: addr.to_string(),
        port: Some(port),
        weight: s.weight,
        forward: s.method,
        upper_threshold: None,
        lower_threshold: None,
        checks: Vec::new(),
        check_timing: CheckTimingFile::default(),
        inhibit_on_failure: None,
    }
}

/// The lines of the block of real server `addr` (it may have none), into `rs`: its
/// checkers, as they are read (see `checkers`), and the timing the block sets for all of
/// them; the other lines are its settings.
fn real_server_block(
    r: &mut Report<'_>,
    item: &Item,
    addr: Ipv4Addr,
    scripts: &Scripts,
    rs: &mut RealServerFile,
) -> (Timing, Vec<CheckerRead>) {
    let mut timing = Timing::default();
    let mut checkers: Vec<CheckerRead> = Vec::new();
    let items = match &item.block {
        Some(block) => block.items.as_slice(),
        None => &[],
    };
    for item in items {
        if !r.known(Context::RealServer, item) {
            continue;
        }
        if CHECKERS.contains(&item.keyword().text.as_str()) {
            if let Some(read) = checker(r, item, addr, scripts) {
                checkers.push(read);
            }
            continue;
        }
        r.no_block(item);
        real_server_setting(r, item, rs, &mut timing);
    }
    (timing, checkers)
}

/// One line of a `real_server` block other than a checker, into `rs`: `weight`,
/// `lvs_method` (this server's own forwarding method), `inhibit_on_failure` (a failed
/// server gets weight 0 instead of leaving the IPVS table), `uthreshold` and `lthreshold`;
/// the rest is checker timing, for all its checkers.
fn real_server_setting(
    r: &mut Report<'_>,
    item: &Item,
    rs: &mut RealServerFile,
    timing: &mut Timing,
) {
    match item.keyword().text.as_str() {
        "weight" => rs.weight = weight(r, item),
        "lvs_method" => rs.forward = forward(r, item),
        "inhibit_on_failure" => rs.inhibit_on_failure = r.flag(item.args().first()),
        "uthreshold" => rs.upper_threshold = threshold(r, item),
        "lthreshold" => rs.lower_threshold = threshold(r, item),
        _ => timing.read(r, item),
    }
}

/// `uthreshold N` or `lthreshold N`: the connection thresholds keepalived passes to IPVS.
/// At the upper one the server takes no new connections; below the lower one it takes them
/// again.
fn threshold(r: &mut Report<'_>, item: &Item) -> Option<u32> {
    let keyword = item.keyword().text.as_str();
    r.arg(item, 0, "a number of connections")
        .and_then(|w| r.number(w, keyword, 0, u64::from(limits::MAX_THRESHOLD)))
        .map(|n| n as u32)
}

/// Direct routing and tunnelling cannot change the port: the packet reaches the real
/// server as the client sent it. keepalived resets a different `port` to the service's
/// (with "ports don't match"); so does netlab, with a warning on the port written
/// (`port_word`).
fn keep_service_port(
    r: &mut Report<'_>,
    rs: &mut RealServerFile,
    port: u16,
    port_word: Option<&Word>,
    service_port: u16,
) {
    let keeps_packet = matches!(rs.forward, Some(ForwardFile::Dr | ForwardFile::Tun));
    if !keeps_packet || port == service_port {
        return;
    }
    if let Some(word) = port_word {
        let method = if rs.forward == Some(ForwardFile::Dr) {
            "direct routing"
        } else {
            "tunnelling"
        };
        r.warning(
            word,
            format!("{method} cannot change the port: the service's {service_port} is used"),
            "keepalived resets it too (\"ports don't match\"): write the service's port",
        );
    }
    rs.port = Some(service_port);
}

/// A real server written without a port gets the service's (`service_port`); a checker of
/// it that probes another port (`connect_port`) most likely names the port the server
/// really listens on, so each such checker gets a warning.
fn warn_probed_ports(
    r: &mut Report<'_>,
    keyword: &Word,
    ip: &str,
    checkers: &[CheckerRead],
    service_port: u16,
) {
    for read in checkers {
        if let Some(probed) = read.port.filter(|&p| p != service_port) {
            r.warning(
                keyword,
                format!(
                    "this real server has no port, so it gets the service's {service_port}, but its {} probes port {probed}",
                    read.keyword
                ),
                format!("write the port the server listens on: `real_server {ip} {probed}`"),
            );
        }
    }
}

/// The timing of a real server's checkers as one `check_timing`: each checker's value is its
/// own, else the real server's, else the service's (keepalived's inheritance).
fn per_server_timing(
    r: &mut Report<'_>,
    keyword: &Word,
    checkers: &[CheckerRead],
    server: &Timing,
    service: &Timing,
) -> CheckTimingFile {
    let effective: Vec<Timing> = checkers
        .iter()
        .map(|c| c.timing.or(server).or(service))
        .collect();
    let kinds: Vec<&CheckerRead> = checkers.iter().collect();
    match Timing::common(&effective, &kinds) {
        Ok(timing) => timing.to_file(),
        Err(field) => {
            r.error(
                keyword,
                format!("the checkers of this real server set different values of `{field}`"),
                "netlab gives all checkers of one real server the same timing: set it once, in \
                 the real_server block",
            );
            CheckTimingFile::default()
        }
    }
}

/// `lb_algo` / `lvs_sched`.
fn sched(r: &mut Report<'_>, item: &Item) -> Option<String> {
    let word = r.arg(item, 0, "a scheduler")?;
    let name = word.text.as_str();
    if scheduler::ALL.contains(&name) {
        return Some(name.to_string());
    }
    let (message, mut help) = if ["fo", "ovf", "mh", "twos"].contains(&name) {
        (
            format!("the scheduler `{name}` is not modelled by netlab"),
            format!("netlab's schedulers are: {}", scheduler::ALL.join(" ")),
        )
    } else {
        (
            format!("unknown scheduler `{name}`"),
            format!("the schedulers are: {}", scheduler::ALL.join(" ")),
        )
    };
    if let Some(near) = nearest(&name.to_ascii_lowercase(), scheduler::ALL) {
        help.push_str(&format!("; did you mean `{near}`?"));
    }
    r.error(word, message, help);
    None
}

/// `lb_kind` / `lvs_method` / `sorry_server_lvs_method`: NAT, DR or TUN (with keepalived
/// 2.2's optional `type ipip`; GUE and GRE tunnels are refused).
fn forward(r: &mut Report<'_>, item: &Item) -> Option<ForwardFile> {
    let word = r.arg(item, 0, "a method")?;
    match word.text.as_str() {
        "NAT" => return Some(ForwardFile::Nat),
        "DR" => return Some(ForwardFile::Dr),
        "TUN" => return tunnel_type(r, item).then_some(ForwardFile::Tun),
        _ => {}
    }
    let (message, help) = match word.text.to_ascii_uppercase().as_str() {
        "DSR" | "DIRECT" | "ROUTE" | "GATE" | "GATEWAY" => (
            format!(
                "unknown method `{}`: keepalived calls direct server return `DR`",
                word.text
            ),
            "write `DR` (keepalived would silently fall back to NAT)".to_string(),
        ),
        "MASQ" | "MASQUERADE" => (
            format!(
                "unknown method `{}`: keepalived calls masquerading `NAT`",
                word.text
            ),
            "write `NAT`".to_string(),
        ),
        upper @ ("NAT" | "DR" | "TUN") => (
            format!("`{}` is written in capitals in keepalived", word.text),
            format!("write `{upper}`: keepalived's values are case-sensitive"),
        ),
        _ => (
            format!("unknown method `{}`", word.text),
            "the methods are NAT, DR and TUN".to_string(),
        ),
    };
    r.error(word, message, help);
    None
}

/// The words after `TUN`: none, or `type ipip` (keepalived 2.2's default; lower case, as
/// keepalived compares it); netlab models no other tunnel type. Returns whether they are
/// fine.
fn tunnel_type(r: &mut Report<'_>, item: &Item) -> bool {
    let args = item.args();
    let (message, help, word) = match (args.get(1), args.get(2)) {
        (None, _) => return true,
        (Some(kw), Some(kind)) if kw.text == "type" && kind.text == "ipip" => return true,
        (Some(kw), Some(kind)) if kw.text == "type" && kind.text.eq_ignore_ascii_case("ipip") => (
            format!("`{}` is written in lower case in keepalived", kind.text),
            "write `ipip`: keepalived rejects any other spelling",
            kind,
        ),
        (Some(kw), Some(kind)) if kw.text == "type" => (
            format!("netlab models IP-in-IP tunnels only, not `{}`", kind.text),
            "write `TUN` (or `TUN type ipip`), the kernel's classic LVS-TUN",
            kind,
        ),
        (Some(other), _) => (
            format!("unexpected `{}` after `TUN`", other.text),
            "write `TUN`, or `TUN type ipip`",
            other,
        ),
    };
    r.error(word, message, help);
    false
}

/// `protocol`: TCP, in any case (keepalived compares it without case).
fn protocol(r: &mut Report<'_>, item: &Item) {
    let Some(word) = r.arg(item, 0, "a protocol") else {
        return;
    };
    match word.text.to_ascii_uppercase().as_str() {
        "TCP" => {}
        "UDP" | "SCTP" => r.error(
            word,
            format!("{} services are not modelled by netlab", word.text),
            "netlab's virtual services are TCP: write `protocol TCP`",
        ),
        _ => r.error(
            word,
            format!("unknown protocol `{}`", word.text),
            "keepalived's protocols are TCP, UDP and SCTP; netlab models TCP",
        ),
    }
}

/// `persistence_granularity MASK`: only a whole address (/32) is modelled.
fn granularity(r: &mut Report<'_>, item: &Item) {
    let Some(word) = r.arg(item, 0, "a mask") else {
        return;
    };
    if !matches!(word.text.as_str(), "255.255.255.255" | "32" | "/32") {
        r.warning(
            word,
            format!(
                "persistence_granularity {} is not modelled by netlab",
                word.text
            ),
            "netlab pins each client address on its own (255.255.255.255)",
        );
    }
}

/// `weight N`: 0 to netlab's largest.
fn weight(r: &mut Report<'_>, item: &Item) -> Option<u32> {
    let word = r.arg(item, 0, "a weight")?;
    let weight = r.number(word, "weight", 0, u64::from(limits::MAX_WEIGHT))?;
    Some(weight as u32)
}

/// `sorry_server IP [PORT]`.
fn sorry_server(r: &mut Report<'_>, item: &Item) -> Option<SorryServerFile> {
    let addr: Ipv4Addr = r
        .arg(item, 0, "an address")
        .and_then(|w| r.ipv4(w, "the sorry server"))?;
    let port = match item.args().get(1) {
        Some(word) => Some(r.port(word)?),
        None => None,
    };
    Some(SorryServerFile {
        ip: addr.to_string(),
        port,
        forward: None,
    })
}
