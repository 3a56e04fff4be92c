//! *keepalived.conf*: a scenario's directors and VRRP routers as keepalived would be told.
//!
//! On a real Linux director, IPVS is the kernel's forwarding table and keepalived is the
//! daemon that fills it (`virtual_server`, `real_server`), checks the real servers and runs
//! VRRP (`vrrp_instance`). A scenario says the same things in RON. This module writes them
//! back in keepalived's own syntax, one file per machine, so a student can set the lab
//! beside a real configuration, or start a real lab from it.
//!
//! Every file is meant to pass `keepalived -t`, keepalived's own check of a configuration
//! (`tests/it/keepalived.rs` runs keepalived 2.2.7 on each scenario's files). Two things
//! matter for that:
//! - **Strings are quoted where keepalived's reader would cut them.** It reads one statement
//!   per line and splits it into words at blanks; `#` and `!` start a comment anywhere, and a
//!   `{` or `}` ends the statement. Inside `"..."` all of these are kept. A name or a path
//!   with any character beyond letters, digits and `._-/:@%+=` is therefore written in
//!   double quotes. A few characters cannot be written even there: a `"` (there is no
//!   escape), a line break, a `\` (it would swallow the closing quote), and a `$` that starts
//!   one of keepalived's built-in words (`$_HASH` turns into `#`, even in quotes). They are
//!   replaced, by `_` in a name and by `%XX` in a URL path (which means the same to a web
//!   server), and a `#` comment above the line gives netlab's original.
//! - **Values keepalived cannot take are clamped or left out**, each with a `#` comment in the
//!   file saying what netlab ran instead (see the list below).
//!
//! # Simplifications
//! - Interfaces are named `eth0`, `eth1`, ... in the order the scenario lists them.
//! - `MISC_CHECK` gets a placeholder `misc_path`: netlab scripts the results instead. Its
//!   scripted results take no time, so no `misc_timeout` is written (and MISC_CHECK has no
//!   `connect_timeout`).
//! - `SSL_GET` in netlab is an `HTTP_GET` after a fixed handshake delay; here it is SSL_GET.
//! - Timing is written per checker (keepalived 2.x accepts `delay_loop`, `retry` and the
//!   others inside a checker), since netlab's checkers each have their own. keepalived's
//!   timers count microseconds: a finer value is rounded up, and a `connect_timeout` of 0
//!   becomes 1 microsecond, the least keepalived takes.
//! - The gratuitous ARP settings of a node's first VRRP instance go into `global_defs`;
//!   another instance with different ones gets its own `garp_master_repeat` and
//!   `garp_master_delay`. A repeat of 0 (netlab: no gratuitous ARP at all) is written as 1,
//!   keepalived's minimum, and a delay is rounded up to whole seconds.
//! - A sync group becomes a `vrrp_sync_group` block after the instances; a group of one
//!   instance only a comment (keepalived would warn that it syncs nothing).
//! - `nopreempt` is left out at priority 255: keepalived ignores it for an address owner.
//! - The real servers of one service may mix NAT and DR. The first one's method is the
//!   service's `lb_kind`; any other carries its own `lvs_method` (keepalived's per-server
//!   keyword: `lb_kind` is accepted only at service level). A DR server's port is written as
//!   the service's, since direct routing cannot change the port (keepalived would reset it,
//!   with an error); the same goes for a DR sorry server.
//! - `persistence_timeout` is rounded up to whole seconds; 0 (no persistence) is left out.
//! - A `hysteresis` not below `quorum` becomes `quorum - 1`, as keepalived would correct it.
//!   netlab lost quorum only at 0 and regained it at `quorum + hysteresis`; keepalived
//!   regains it at `2 × quorum - 1`.
//! - HTTP status codes outside 100-599 are left out: keepalived refuses them.
//! - A service without real servers is only a comment: keepalived ignores such a
//!   `virtual_server`, while netlab keeps the empty service in IPVS.
//! - Not handled: a service whose real servers all weigh 0 (keepalived's quorum, at least 1,
//!   then exceeds their total weight and `keepalived -t` says so; the file notes it), two
//!   VRRP instances of one node with the same name or the same VRID on one interface, an
//!   instance without VIPs, and a line longer than keepalived's 1024-byte buffer.
//!
//! # Further reading
//! - keepalived.conf(5); keepalived's `lib/parser.c` (the reader), `check/check_parser.c`
//!   and `vrrp/vrrp_parser.c` (the keywords); `shared/reference/keepalived-vrrp.md` §1a.

use std::fmt::Write;

use crate::app::{CheckKind, CheckerConfig};
use crate::ipvs::service::{Forward, RealServerConfig};
use crate::node::vrrp::{SyncGroup, VrrpConfig};
use crate::scenario::model::{NodeSpec, Scenario, ServiceSpec};
use crate::sim::SimDuration;

/// One `(file name, contents)` per node that runs keepalived (virtual services or VRRP), in
/// node order: `keepalived-<node>.conf`.
pub fn keepalived_confs(scenario: &Scenario) -> Vec<(String, String)> {
    let mut files = Vec::new();
    for node in &scenario.nodes {
        let (name, services, vrrp, sync, marks): (&str, &[ServiceSpec], &[VrrpConfig], bool, &[_]) =
            match node {
                NodeSpec::L4Balancer {
                    name,
                    services,
                    vrrp,
                    connection_sync,
                    marks,
                    ..
                } => (name, services, vrrp, *connection_sync, marks),
                NodeSpec::Router { name, vrrp, .. } if !vrrp.is_empty() => {
                    (name, &[], vrrp, false, &[])
                }
                _ => continue,
            };
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = writeln!(
            out,
            "# keepalived.conf for {}, written by netlab from {}\n",
            name.escape_debug(),
            scenario.source_file.escape_debug()
        );
        if !marks.is_empty() {
            // keepalived does not mark packets: the firewall does, before it runs.
            note(
                &mut out,
                "",
                "the firewall marks of the fwmark services, set outside keepalived:",
            );
            for rule in marks {
                note(&mut out, "", &crate::ipvs::fwmark::MarkRule::iptables(rule));
            }
            out.push('\n');
        }
        write_global(&mut out, name, vrrp, sync);
        let garp = vrrp
            .first()
            .map(|first| (first.garp_repeat, first.garp_delay));
        for instance in vrrp {
            write_vrrp(&mut out, instance, garp);
        }
        write_sync_groups(&mut out, vrrp);
        for service in services {
            write_service(&mut out, service);
        }
        files.push((format!("keepalived-{name}.conf"), out));
    }
    files
}

/// `global_defs`: the machine's name, the gratuitous ARP settings VRRP uses, and the IPVS
/// connection sync daemon (which keepalived starts with the VRRP instance it follows).
fn write_global(out: &mut String, name: &str, vrrp: &[VrrpConfig], sync: bool) {
    let _ = writeln!(out, "global_defs {{");
    let router_id = label(name);
    if router_id.changed {
        note(out, "    ", &format!("netlab's node name: {name:?}"));
    }
    let _ = writeln!(out, "    router_id {}", router_id.text);
    if let Some(first) = vrrp.first() {
        if sync {
            // The short form `lvs_sync_daemon IF INSTANCE`, unless the instance's name is
            // one of the options keepalived looks for first (`global_parser.c`).
            let instance = label(&first.name);
            let inst = match first.name.as_str() {
                "inst" | "id" | "maxlen" | "port" | "ttl" | "group" => "inst ",
                _ => "",
            };
            let _ = writeln!(
                out,
                "    lvs_sync_daemon eth{} {inst}{}",
                first.iface, instance.text
            );
        }
        write_garp(
            out,
            "vrrp_garp_master_",
            first.garp_repeat,
            first.garp_delay,
        );
    }
    let _ = writeln!(out, "}}\n");
}

/// A `vrrp_instance` block. `global_garp` is what `global_defs` already says about
/// gratuitous ARP; an instance that differs says its own.
fn write_vrrp(out: &mut String, v: &VrrpConfig, global_garp: Option<(u32, SimDuration)>) {
    let name = label(&v.name);
    if name.changed {
        note(out, "", &format!("netlab's instance name: {:?}", v.name));
    }
    let _ = writeln!(out, "vrrp_instance {} {{", name.text);
    // Every instance starts as BACKUP; the election by priority decides who is master.
    let _ = writeln!(out, "    state BACKUP");
    let _ = writeln!(out, "    interface eth{}", v.iface);
    let _ = writeln!(out, "    virtual_router_id {}", v.vrid);
    let _ = writeln!(out, "    priority {}", v.priority);
    let _ = writeln!(out, "    advert_int {}", v.advert_int);
    if !v.preempt {
        if v.priority == 255 {
            note(
                out,
                "    ",
                "netlab's nopreempt is left out: keepalived ignores it at priority 255",
            );
        } else {
            let _ = writeln!(out, "    nopreempt");
        }
    }
    if global_garp != Some((v.garp_repeat, v.garp_delay)) {
        write_garp(out, "garp_master_", v.garp_repeat, v.garp_delay);
    }
    let _ = writeln!(out, "    virtual_ipaddress {{");
    for vip in &v.vips {
        let _ = writeln!(out, "        {vip}");
    }
    let _ = writeln!(out, "    }}\n}}\n");
}

/// A `vrrp_sync_group` block for each sync group of the node's instances. A group of one
/// instance is only a comment: keepalived warns about it, and it syncs nothing.
fn write_sync_groups(out: &mut String, vrrp: &[VrrpConfig]) {
    for group in SyncGroup::from_configs(vrrp) {
        let name = label(&group.name);
        if group.members.len() < 2 {
            note(
                out,
                "",
                &format!(
                    "netlab's sync group {:?} has one instance and syncs nothing: left out",
                    group.name
                ),
            );
            out.push('\n');
            continue;
        }
        if name.changed {
            note(
                out,
                "",
                &format!("netlab's sync group name: {:?}", group.name),
            );
        }
        let _ = writeln!(out, "vrrp_sync_group {} {{\n    group {{", name.text);
        for member in group.members {
            let _ = writeln!(out, "        {}", label(&vrrp[member].name).text);
        }
        let _ = writeln!(out, "    }}\n}}\n");
    }
}

/// `<prefix>repeat` and `<prefix>delay`, in `global_defs` (`vrrp_garp_master_`) or in an
/// instance (`garp_master_`), within keepalived's ranges.
fn write_garp(out: &mut String, prefix: &str, repeat: u32, delay: SimDuration) {
    if repeat == 0 {
        note(
            out,
            "    ",
            &format!(
                "netlab sends no gratuitous ARP ({prefix}repeat 0); keepalived sends 1 at least"
            ),
        );
    }
    let _ = writeln!(out, "    {prefix}repeat {}", repeat.max(1));
    let (delay_s, rounded) = whole_seconds(delay);
    if rounded {
        note(
            out,
            "    ",
            &format!(
                "netlab's {prefix}delay is {}; keepalived counts whole seconds",
                exact(delay)
            ),
        );
    }
    let _ = writeln!(out, "    {prefix}delay {delay_s}");
}

/// keepalived's name for a forwarding method.
fn method(forward: Forward) -> &'static str {
    match forward {
        Forward::Masq => "NAT",
        Forward::Route => "DR",
        Forward::Tunnel => "TUN",
    }
}

/// The longest `persistence_timeout` keepalived takes, in seconds (31 days, `LVS_MAX_TIMEOUT`).
const MAX_PERSISTENCE_S: u64 = 31 * 86_400;

/// A `virtual_server` block with its real servers and their checkers.
///
/// The block's lines come in keepalived's usual order: the header (address, scheduler,
/// forwarding, protocol), the service-wide settings (persistence, alpha, quorum), the sorry
/// server, then one `real_server` block per real server.
fn write_service(out: &mut String, s: &ServiceSpec) {
    let Some(first) = s.real_servers.first() else {
        note_no_real_servers(out, s);
        return;
    };
    // lb_kind belongs to the virtual server; a real server may override it with lvs_method.
    let service_kind = first.forward;
    write_service_header(out, s, service_kind);
    if let Some(timeout) = s.persistence {
        write_persistence(out, timeout);
    }
    write_alpha(out, s);
    write_quorum(out, s);
    if let Some(sorry) = &s.sorry_server {
        write_sorry_server(out, sorry, s.port, service_kind);
    }
    for index in 0..s.real_servers.len() {
        write_real_server(out, s, index, service_kind);
    }
    let _ = writeln!(out, "}}\n");
}

/// A service without real servers: only a comment, since keepalived ignores a
/// `virtual_server` that has none (netlab keeps the empty service in IPVS).
fn note_no_real_servers(out: &mut String, s: &ServiceSpec) {
    note(
        out,
        "",
        &format!(
            "netlab's virtual service {}:{} has no real servers: keepalived would ignore its \
             virtual_server (\"has no real servers\"), so it is not written",
            s.vip, s.port
        ),
    );
    out.push('\n');
}

/// The opening of a `virtual_server` block: what it matches (`VIP PORT`, or `fwmark N`),
/// its scheduler (`lb_algo`), its forwarding method (`lb_kind`, from the first real
/// server) and, for an address and port, its protocol.
fn write_service_header(out: &mut String, s: &ServiceSpec, service_kind: Forward) {
    match s.fwmark {
        Some(mark) => {
            let _ = writeln!(out, "virtual_server fwmark {mark} {{");
        }
        None => {
            let _ = writeln!(out, "virtual_server {} {} {{", s.vip, s.port);
        }
    }
    let _ = writeln!(out, "    lb_algo {}", s.scheduler);
    let _ = writeln!(out, "    lb_kind {}", method(service_kind));
    if s.fwmark.is_none() {
        // A firewall mark covers every protocol; keepalived warns about one given.
        let _ = writeln!(out, "    protocol TCP");
    }
}

/// `alpha` at service level, when every checker of the service starts its real server as
/// failed (keepalived's `alpha`: down until the first check succeeds). A service without
/// checkers gets none.
fn write_alpha(out: &mut String, s: &ServiceSpec) {
    let checkers: Vec<&CheckerConfig> = s.checks.iter().flatten().collect();
    if !checkers.is_empty() && checkers.iter().all(|c| c.alpha) {
        let _ = writeln!(out, "    alpha");
    }
}

/// `quorum` and `hysteresis`: the total weight of live real servers the service needs to
/// be up, and the margin before it counts as up again. Written only when netlab's differ
/// from keepalived's defaults (quorum 1, hysteresis 0); a hysteresis not below the quorum
/// becomes `quorum - 1`, as keepalived would correct it. A service whose real servers all
/// weigh 0 is noted: keepalived's quorum (1 at least) would exceed their total weight.
fn write_quorum(out: &mut String, s: &ServiceSpec) {
    if s.real_servers.iter().all(|rs| rs.weight == 0) {
        note(
            out,
            "    ",
            "every real server weighs 0: keepalived -t reports that its quorum (1 at least) \
             exceeds their total weight",
        );
    }
    if s.quorum > 1 || s.hysteresis > 0 {
        let quorum = s.quorum.max(1);
        let hysteresis = if s.hysteresis >= quorum {
            note(
                out,
                "    ",
                &format!(
                    "netlab's hysteresis is {}; keepalived takes less than the quorum",
                    s.hysteresis
                ),
            );
            quorum - 1
        } else {
            s.hysteresis
        };
        let _ = writeln!(out, "    quorum {quorum}\n    hysteresis {hysteresis}");
    }
}

/// `sorry_server`: where the service sends its clients while no real server is up. Its
/// port follows the same rule as a real server's (see [`port_for`]), and a forwarding
/// method other than the service's is given as `sorry_server_lvs_method`.
fn write_sorry_server(
    out: &mut String,
    sorry: &RealServerConfig,
    service_port: u16,
    service_kind: Forward,
) {
    let port = port_for(out, sorry.forward, sorry.port, service_port);
    let _ = writeln!(out, "    sorry_server {} {port}", sorry.addr);
    if sorry.forward != service_kind {
        let _ = writeln!(out, "    sorry_server_lvs_method {}", method(sorry.forward));
    }
}

/// The `real_server` block of the service's real server number `index`: its address and
/// port, its weight, its own forwarding method when it differs from the service's
/// (`lvs_method`), its connection thresholds (`uthreshold`, `lthreshold`; a 0, no limit or
/// the kernel's default rule, is left out),
/// `inhibit_on_failure` (a failed server stays in IPVS at weight 0 instead of being
/// removed), and its checkers.
fn write_real_server(out: &mut String, s: &ServiceSpec, index: usize, service_kind: Forward) {
    let rs = &s.real_servers[index];
    out.push('\n');
    let port = port_for(out, rs.forward, rs.port, s.port);
    let _ = writeln!(out, "    real_server {} {port} {{", rs.addr);
    let _ = writeln!(out, "        weight {}", rs.weight);
    if rs.forward != service_kind {
        let _ = writeln!(out, "        lvs_method {}", method(rs.forward));
    }
    if rs.upper_threshold > 0 {
        let _ = writeln!(out, "        uthreshold {}", rs.upper_threshold);
    }
    if rs.lower_threshold > 0 {
        let _ = writeln!(out, "        lthreshold {}", rs.lower_threshold);
    }
    if s.inhibit_on_failure.get(index).copied().unwrap_or(false) {
        let _ = writeln!(out, "        inhibit_on_failure");
    }
    for checker in s.checks.get(index).into_iter().flatten() {
        write_checker(out, checker);
    }
    let _ = writeln!(out, "    }}");
}

/// `persistence_timeout`: whole seconds from 1 to 31 days in keepalived.
fn write_persistence(out: &mut String, timeout: SimDuration) {
    let (timeout_s, rounded) = whole_seconds(timeout);
    if timeout_s == 0 {
        note(
            out,
            "    ",
            "netlab's persistence_timeout is 0, which pins no client: left out",
        );
        return;
    }
    if rounded || timeout_s > MAX_PERSISTENCE_S {
        note(
            out,
            "    ",
            &format!(
                "netlab's persistence_timeout is {}; keepalived takes whole seconds up to 31 days",
                exact(timeout)
            ),
        );
    }
    let _ = writeln!(
        out,
        "    persistence_timeout {}",
        timeout_s.min(MAX_PERSISTENCE_S)
    );
}

/// The port to write for a real or sorry server: a DR or TUN server keeps the service's port
/// (neither method rewrites the packet), so a different one is noted and replaced.
fn port_for(out: &mut String, forward: Forward, port: u16, service_port: u16) -> u16 {
    if forward != Forward::Masq && port != service_port {
        note(
            out,
            "    ",
            &format!(
                "netlab's port {port}: {} keeps the service's port {service_port}",
                method(forward)
            ),
        );
        service_port
    } else {
        port
    }
}

/// The lowest and highest HTTP status codes keepalived's `status_code` takes.
const STATUS_CODES: (u16, u16) = (100, 599);

/// A checker block inside a `real_server`: what its kind needs (port, URL, HELO name,
/// script), then its timing.
fn write_checker(out: &mut String, c: &CheckerConfig) {
    let _ = writeln!(out, "        {} {{", c.kind.keyword());
    match &c.kind {
        CheckKind::Ping => {}
        CheckKind::Tcp { port } => {
            let _ = writeln!(out, "            connect_port {port}");
        }
        CheckKind::Http {
            port, path, status, ..
        } => {
            write_url(out, path, status);
            let _ = writeln!(out, "            connect_port {port}");
        }
        CheckKind::Smtp { port, helo } => write_smtp(out, *port, helo),
        CheckKind::Misc { .. } => {
            let _ = writeln!(
                out,
                "            misc_path \"/etc/keepalived/check.sh\"  # netlab scripts the results"
            );
        }
    }
    write_checker_timing(out, c);
    let _ = writeln!(out, "        }}");
}

/// The `url { ... }` block of an HTTP_GET or SSL_GET: the path to request (see
/// [`url_path`] for the characters replaced) and the status codes that count as success.
fn write_url(out: &mut String, path: &str, status: &[(u16, u16)]) {
    let _ = writeln!(out, "            url {{");
    let url = url_path(path);
    if url.changed {
        note(out, "                ", &format!("netlab's path: {path:?}"));
    }
    let _ = writeln!(out, "                path {}", url.text);
    write_status_codes(out, status);
    let _ = writeln!(out, "            }}");
}

/// One `status_code` line per range netlab accepts, cut to the 100-599 keepalived takes;
/// a range wholly outside is left out, and every cut is noted. Without any line
/// keepalived expects 200-299, which is noted when it is because none was in range.
fn write_status_codes(out: &mut String, status: &[(u16, u16)]) {
    let (lowest, highest) = STATUS_CODES;
    if !status.is_empty()
        && status
            .iter()
            .all(|&(low, high)| low > highest || high < lowest)
    {
        note(
            out,
            "                ",
            "none of netlab's status codes is in 100-599: keepalived will expect 200-299",
        );
    }
    for &(low, high) in status {
        let (low_kept, high_kept) = (low.max(lowest), high.min(highest));
        if (low_kept, high_kept) != (low, high) {
            let codes = if low == high {
                low.to_string()
            } else {
                format!("{low}-{high}")
            };
            note(
                out,
                "                ",
                &format!("netlab also accepts {codes}; keepalived takes 100-599 only"),
            );
        }
        if low_kept > high_kept {
            continue;
        } else if low_kept == high_kept {
            let _ = writeln!(out, "                status_code {low_kept}");
        } else {
            let _ = writeln!(out, "                status_code {low_kept}-{high_kept}");
        }
    }
}

/// An SMTP_CHECK's port and the name it sends with HELO (see [`label`] for the
/// characters replaced).
fn write_smtp(out: &mut String, port: u16, helo: &str) {
    let _ = writeln!(out, "            connect_port {port}");
    let helo_name = label(helo);
    if helo_name.changed {
        note(
            out,
            "            ",
            &format!("netlab's HELO name: {helo:?}"),
        );
    }
    let _ = writeln!(out, "            helo_name {}", helo_name.text);
}

/// A checker's timing, which keepalived 2.x takes inside the checker: how often it checks
/// (`delay_loop`), how long a connection may take (`connect_timeout`, 1 microsecond at
/// least; MISC_CHECK has none), how often a failed check is retried before the server is
/// marked down (`retry`) and the wait before each retry (`delay_before_retry`), and the
/// longest random wait before the first check (`warmup`).
fn write_checker_timing(out: &mut String, c: &CheckerConfig) {
    let t = &c.timing;
    write_timer(out, "delay_loop", t.delay_loop);
    // MISC_CHECK has no connect_timeout (its script's limit would be misc_timeout).
    if !matches!(c.kind, CheckKind::Misc { .. }) {
        if t.connect_timeout == SimDuration::ZERO {
            note(
                out,
                "            ",
                "netlab's connect_timeout is 0; keepalived takes 1 microsecond at least",
            );
        }
        write_timer(
            out,
            "connect_timeout",
            t.connect_timeout.max(SimDuration::from_micros(1)),
        );
    }
    let _ = writeln!(out, "            retry {}", t.retry);
    write_timer(out, "delay_before_retry", t.delay_before_retry);
    write_timer(out, "warmup", t.warmup);
}

/// One timer line of a checker, rounded up to keepalived's microseconds.
fn write_timer(out: &mut String, keyword: &str, d: SimDuration) {
    let (text, rounded) = timer(d);
    if rounded {
        note(
            out,
            "            ",
            &format!(
                "netlab's {keyword} is {}; keepalived counts microseconds",
                exact(d)
            ),
        );
    }
    let _ = writeln!(out, "            {keyword} {text}");
}

/// A duration in seconds to the nanosecond, without trailing zeros (`2.0000005s`), for the
/// notes that say what a rounding changed: `SimDuration`'s own display keeps three decimals,
/// which can hide the very digits that were rounded (it shows 2.0000005 s as `2s`).
fn exact(d: SimDuration) -> String {
    let ns = d.as_nanos();
    let (whole, fraction) = (ns / 1_000_000_000, ns % 1_000_000_000);
    if fraction == 0 {
        return format!("{whole}s");
    }
    let digits = format!("{fraction:09}");
    format!("{whole}.{}s", digits.trim_end_matches('0'))
}

/// A duration as keepalived's timers read it (`read_timer`): seconds with at most six
/// decimals, rounded up to the microsecond; and whether it had to be rounded.
fn timer(d: SimDuration) -> (String, bool) {
    let ns = d.as_nanos();
    let micros = ns.div_ceil(1_000);
    let (whole, fraction) = (micros / 1_000_000, micros % 1_000_000);
    let text = if fraction == 0 {
        whole.to_string()
    } else {
        let digits = format!("{fraction:06}");
        format!("{whole}.{}", digits.trim_end_matches('0'))
    };
    (text, micros * 1_000 != ns)
}

/// A duration in the whole seconds some keywords take (`garp_master_delay`,
/// `persistence_timeout`), rounded up; and whether it had to be rounded.
fn whole_seconds(d: SimDuration) -> (u64, bool) {
    let ns = d.as_nanos();
    (
        ns.div_ceil(1_000_000_000),
        !ns.is_multiple_of(1_000_000_000),
    )
}

/// A string as it goes into the file.
struct Word {
    /// One word for keepalived's reader: bare, or in double quotes.
    text: String,
    /// Whether characters keepalived cannot read back were replaced.
    changed: bool,
}

/// A name (node, VRRP instance, HELO name), with `_` for the characters keepalived cannot
/// hold.
fn label(text: &str) -> Word {
    word(text, |_| "_".to_string())
}

/// A URL path, with `%XX` for the characters keepalived cannot hold (the same path to a web
/// server).
fn url_path(text: &str) -> Word {
    word(text, |c| {
        let mut utf8 = [0; 4];
        c.encode_utf8(&mut utf8)
            .bytes()
            .map(|byte| format!("%{byte:02X}"))
            .collect()
    })
}

/// `text` as one word of keepalived's configuration (`lib/parser.c`): bare when it holds only
/// characters keepalived reads as part of a word, else in double quotes, with `replacement`
/// for the characters that not even quotes keep.
fn word(text: &str, replacement: fn(char) -> String) -> Word {
    let plain = |c: char| c.is_ascii_alphanumeric() || "._-/:@%+=".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        return Word {
            text: text.to_string(),
            changed: false,
        };
    }
    let mut quoted = String::from("\"");
    let mut changed = false;
    for (index, c) in text.char_indices() {
        let unquotable =
            c == '"' || c == '\\' || c.is_control() || (c == '$' && expands_at(text, index));
        if unquotable {
            quoted.push_str(&replacement(c));
            changed = true;
        } else {
            quoted.push(c);
        }
    }
    quoted.push('"');
    Word {
        text: quoted,
        changed,
    }
}

/// keepalived's built-in definitions, which `$NAME` or `${NAME}` expands anywhere on a line,
/// even in quotes (`set_std_definitions` in `lib/parser.c`).
const BUILT_IN_DEFINITIONS: [&str; 5] = ["_PWD", "_INSTANCE", "_RANDOM", "_HASH", "_BANG"];

/// Whether the `$` at byte `index` of `text` starts a built-in definition.
fn expands_at(text: &str, index: usize) -> bool {
    let rest = &text[index + 1..];
    let rest = rest.strip_prefix('{').unwrap_or(rest);
    BUILT_IN_DEFINITIONS
        .iter()
        .any(|definition| rest.starts_with(definition))
}

/// A `# ` comment line. Any text from the scenario in it must be escaped (`{:?}`), so that it
/// can neither break the line nor end it with a `\`, which would join the next line to the
/// comment.
fn note(out: &mut String, indent: &str, text: &str) {
    let _ = writeln!(out, "{indent}# {text}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_are_written_in_seconds_to_the_microsecond() {
        assert_eq!(timer(SimDuration::from_secs(6)), ("6".to_string(), false));
        assert_eq!(
            timer(SimDuration::from_millis(1500)),
            ("1.5".to_string(), false)
        );
        assert_eq!(
            timer(SimDuration::from_micros(1)),
            ("0.000001".to_string(), false)
        );
        // keepalived reads at most six decimals: a finer value is rounded up, and says so.
        assert_eq!(
            timer(SimDuration::from_nanos(1_500)),
            ("0.000002".to_string(), true)
        );
        assert_eq!(whole_seconds(SimDuration::from_millis(1500)), (2, true));
        assert_eq!(whole_seconds(SimDuration::from_secs(5)), (5, false));
        assert_eq!(whole_seconds(SimDuration::ZERO), (0, false));
    }

    #[test]
    fn the_rounding_notes_show_every_digit_that_was_rounded() {
        assert_eq!(exact(SimDuration::from_nanos(2_000_000_500)), "2.0000005s");
        assert_eq!(exact(SimDuration::from_millis(1500)), "1.5s");
        assert_eq!(exact(SimDuration::from_millis(500)), "0.5s");
        assert_eq!(exact(SimDuration::from_secs(360)), "360s");
        assert_eq!(exact(SimDuration::ZERO), "0s");
        let mut out = String::new();
        write_timer(
            &mut out,
            "delay_loop",
            SimDuration::from_nanos(2_000_000_500),
        );
        assert!(
            out.contains("netlab's delay_loop is 2.0000005s; keepalived counts microseconds"),
            "{out}"
        );
        assert!(out.contains("delay_loop 2.000001\n"), "{out}");
    }

    #[test]
    fn plain_words_stay_bare_and_others_are_quoted() {
        for plain in [
            "VI_51",
            "lb-1",
            "/health",
            "smtpchecker.keepalived.org",
            "a=b:c@d%e+f",
        ] {
            let w = label(plain);
            assert_eq!((w.text.as_str(), w.changed), (plain, false));
        }
        // Comment starts, braces and blanks are kept inside quotes.
        for (text, written) in [
            ("lb # 1", "\"lb # 1\""),
            ("/st!at", "\"/st!at\""),
            ("VI {1}", "\"VI {1}\""),
            ("", "\"\""),
            ("$x and ${y}", "\"$x and ${y}\""),
        ] {
            let w = label(text);
            assert_eq!((w.text.as_str(), w.changed), (written, false), "{text:?}");
        }
    }

    #[test]
    fn characters_quotes_cannot_hold_are_replaced() {
        for (text, written) in [
            ("VI \"1\"", "\"VI _1_\""),
            ("two\nlines", "\"two_lines\""),
            ("a\\", "\"a_\""),
            // `$_HASH` would become `#` and `${_BANG}` `!`; `$x` is no built-in word.
            ("$_HASH ${_BANG} $x", "\"__HASH _{_BANG} $x\""),
        ] {
            let w = label(text);
            assert_eq!((w.text.as_str(), w.changed), (written, true), "{text:?}");
        }
        // A URL path keeps its meaning: the replacements are percent-encoded.
        let w = url_path("/a\"b$_PWD\\");
        assert_eq!(w.text, "\"/a%22b%24_PWD%5C\"");
        assert!(w.changed);
    }

    /// Loads a scenario with one director `lb` on `lan` (10.0.0.2/24) and `dmz`
    /// (10.0.1.2/24), the given VRRP instances and services, and returns its file.
    fn director(vrrp: &str, services: &str) -> String {
        director_with(vrrp, services, |_| {})
    }

    /// [`director`], with the checked scenario changed by `change` before it is written.
    fn director_with(vrrp: &str, services: &str, change: impl FnOnce(&mut Scenario)) -> String {
        let text = format!(
            r#"Scenario(
                name: "t",
                description: "one director",
                segments: [(name: "lan"), (name: "dmz")],
                nodes: [
                    L4Balancer(
                        name: "lb",
                        interfaces: [
                            (attach: "lan", ip: "10.0.0.2/24"),
                            (attach: "dmz", ip: "10.0.1.2/24"),
                        ],
                        connection_sync: true,
                        vrrp: [{vrrp}],
                        services: [{services}],
                    ),
                ],
            )"#
        );
        // Unchecked: these tests feed the export values `netlab check` refuses.
        let file = crate::scenario::load::parse("t.ron", &text).unwrap();
        let locator = crate::scenario::diagnostic::Locator::new("t.ron", &text);
        let mut scenario = crate::scenario::validate::checked(&file, &locator)
            .0
            .unwrap();
        change(&mut scenario);
        let mut files = keepalived_confs(&scenario);
        assert_eq!(files.len(), 1);
        files.remove(0).1
    }

    /// Whether `conf` has `line` exactly.
    fn has(conf: &str, line: &str) -> bool {
        conf.lines().any(|l| l == line)
    }

    #[test]
    fn a_director_becomes_a_virtual_server_block() {
        let conf = director(
            "",
            r#"(vip: "10.0.0.100", scheduler: "wlc",
                real_servers: [(ip: "10.0.0.11", weight: 3, forward: Dr)])"#,
        );
        assert!(conf.contains("virtual_server 10.0.0.100 80 {"), "{conf}");
        assert!(conf.contains("    lb_algo wlc\n    lb_kind DR\n"), "{conf}");
        assert!(conf.contains("    real_server 10.0.0.11 80 {\n        weight 3\n"));
        assert_eq!(conf.matches('{').count(), conf.matches('}').count());
    }

    #[test]
    fn odd_instance_names_are_quoted_everywhere_they_appear() {
        let conf = director(
            r#"(name: "VI 1 {#!} \"x\"", interface: 1, virtual_router_id: 7,
                virtual_ipaddress: ["10.0.1.100"])"#,
            "",
        );
        assert!(
            has(&conf, "# netlab's instance name: \"VI 1 {#!} \\\"x\\\"\""),
            "{conf}"
        );
        assert!(has(&conf, "vrrp_instance \"VI 1 {#!} _x_\" {"), "{conf}");
        assert!(
            has(&conf, "    lvs_sync_daemon eth1 \"VI 1 {#!} _x_\""),
            "{conf}"
        );
    }

    #[test]
    fn an_instance_named_like_a_sync_daemon_option_is_named_with_inst() {
        let conf = director(
            r#"(name: "port", virtual_router_id: 7, virtual_ipaddress: ["10.0.0.100"])"#,
            "",
        );
        assert!(has(&conf, "    lvs_sync_daemon eth0 inst port"), "{conf}");
        let conf = director(
            r#"(virtual_router_id: 7, virtual_ipaddress: ["10.0.0.100"])"#,
            "",
        );
        assert!(has(&conf, "    lvs_sync_daemon eth0 VI_7"), "{conf}");
    }

    #[test]
    fn a_sync_group_becomes_a_vrrp_sync_group_block() {
        let conf = director(
            r#"(name: "VI_1", interface: 1, virtual_router_id: 51, virtual_ipaddress: ["10.0.1.100"], sync_group: "NAT"),
               (name: "VI 2", interface: 1, virtual_router_id: 52, virtual_ipaddress: ["10.0.1.101"], sync_group: "NAT"),
               (name: "VI_3", interface: 1, virtual_router_id: 53, virtual_ipaddress: ["10.0.1.102"], sync_group: "ALONE")"#,
            "",
        );
        assert!(
            conf.contains(
                "vrrp_sync_group NAT {\n    group {\n        VI_1\n        \"VI 2\"\n    }\n}\n"
            ),
            "{conf}"
        );
        assert!(!has(&conf, "vrrp_sync_group ALONE {"), "{conf}");
        assert!(
            has(
                &conf,
                "# netlab's sync group \"ALONE\" has one instance and syncs nothing: left out"
            ),
            "{conf}"
        );
    }

    #[test]
    fn gratuitous_arp_values_keepalived_cannot_take_are_clamped_with_a_comment() {
        let conf = director(
            r#"(virtual_router_id: 7, virtual_ipaddress: ["10.0.0.100"],
                garp_master_repeat: 0, garp_master_delay: "1500ms"),
               (virtual_router_id: 8, virtual_ipaddress: ["10.0.0.101"], priority: 255,
                nopreempt: true)"#,
            "",
        );
        assert!(
            conf.contains(
                "    # netlab sends no gratuitous ARP (vrrp_garp_master_repeat 0); keepalived sends 1 at least\n    vrrp_garp_master_repeat 1\n"
            ),
            "{conf}"
        );
        assert!(conf.contains(
            "    # netlab's vrrp_garp_master_delay is 1.5s; keepalived counts whole seconds\n    vrrp_garp_master_delay 2\n"
        ));
        // The second instance keeps keepalived's defaults, unlike global_defs: it says so.
        assert!(
            conf.contains("    garp_master_repeat 5\n    garp_master_delay 5\n"),
            "{conf}"
        );
        assert!(!has(&conf, "    nopreempt"), "{conf}");
        assert!(has(
            &conf,
            "    # netlab's nopreempt is left out: keepalived ignores it at priority 255"
        ));
    }

    #[test]
    fn service_values_keepalived_cannot_take_are_clamped_with_a_comment() {
        // `netlab check` refuses a connect_timeout of 0; the export must still cope.
        let zero_timeouts = |scenario: &mut Scenario| {
            for node in &mut scenario.nodes {
                if let NodeSpec::L4Balancer { services, .. } = node {
                    for check in services
                        .iter_mut()
                        .flat_map(|s| s.checks.iter_mut().flatten())
                    {
                        check.timing.connect_timeout = SimDuration::ZERO;
                    }
                }
            }
        };
        let conf = director_with(
            "",
            r#"(vip: "10.0.0.100", scheduler: "wrr", persistence_timeout: "0s",
                quorum: 2, hysteresis: 5,
                sorry_server: (ip: "10.0.1.99", port: 8080, forward: Dr),
                real_servers: [
                    (ip: "10.0.1.11", weight: 2, checks: [
                        HttpGet(path: "/st#at us", status: [200, 700]),
                        MiscCheck(results: []),
                    ], check_timing: (connect_timeout: "0s")),
                    (ip: "10.0.1.12", port: 8080, forward: Dr),
                ]),
               (vip: "10.0.0.101", persistence_timeout: "2500ms", real_servers: [])"#,
            zero_timeouts,
        );
        // No persistence_timeout 0; hysteresis below the quorum.
        assert!(!conf.contains("persistence_timeout 0"), "{conf}");
        assert!(conf.contains("    quorum 2\n    hysteresis 1\n"), "{conf}");
        // NAT and DR mixed: the first server's method for the service, lvs_method for the
        // other, whose port is the service's.
        assert!(has(&conf, "    lb_kind NAT"), "{conf}");
        assert!(
            conf.contains(
                "    real_server 10.0.1.12 80 {\n        weight 1\n        lvs_method DR\n"
            )
        );
        assert!(has(&conf, "    sorry_server 10.0.1.99 80"));
        assert!(has(&conf, "    sorry_server_lvs_method DR"));
        assert!(
            !conf.contains("lb_kind DR"),
            "lb_kind is a service keyword only"
        );
        // The path is quoted; the status code keepalived refuses is left out.
        assert!(has(&conf, "                path \"/st#at us\""), "{conf}");
        assert!(has(&conf, "                status_code 200"));
        assert!(!conf.contains("status_code 700"));
        // connect_timeout 0 becomes keepalived's least; MISC_CHECK has none at all.
        assert!(has(&conf, "            connect_timeout 0.000001"), "{conf}");
        let misc = &conf[conf.find("MISC_CHECK").unwrap()..];
        let misc = &misc[..misc.find("        }").unwrap()];
        assert!(!misc.contains("connect_timeout"), "{misc}");
        // The empty service is a comment only.
        assert!(!conf.contains("virtual_server 10.0.0.101"), "{conf}");
        assert!(conf.contains("# netlab's virtual service 10.0.0.101:80 has no real servers"));
    }

    #[test]
    fn scenario_text_in_comments_cannot_join_the_next_line() {
        let mut out = String::new();
        note(&mut out, "", &format!("netlab's path: {:?}", "/a\\\nb\\"));
        assert_eq!(out, "# netlab's path: \"/a\\\\\\nb\\\\\"\n");
        assert!(!out.trim_end_matches('\n').ends_with('\\'));
    }
}
