//! *VRRP and globals*: `global_defs`, `vrrp_instance` and `vrrp_sync_group` blocks to the
//! scenario's VRRP instances, the same `VrrpFile` an inline `vrrp: [...]` gives.
//!
//! Interfaces are named as the export names them: `eth0` is the node's first interface in
//! the scenario, `eth1` the second, and so on.
//!
//! keepalived 2.2.7's defaults apply: `priority` 100, or 255 with `state MASTER`;
//! `advert_int` 1 s; preemption on; five gratuitous ARPs at once and five more 5 s later
//! (`vrrp_garp_master_repeat`, `vrrp_garp_master_delay` in `global_defs` change them for
//! every instance, `garp_master_repeat`, `garp_master_delay` for one).
//!
//! # Simplifications
//! - Every instance starts as BACKUP and the election decides, as keepalived does for all
//!   but an address owner (`state MASTER` with `priority 255`, which keepalived makes master
//!   at once: a warning says so).
//! - `vrrp_sync_group NAME { group { VI_1 VI_2 } }` sets `sync_group: "NAME"` on its
//!   members. As keepalived: a member already in another group stays there (a warning), and
//!   a group of one instance is warned about (and, since it syncs nothing, left out). Its
//!   `track_script`, `notify` scripts and `global_tracking` are not modelled.
//! - A virtual address's prefix and options (`dev`, `label`, ...) are not modelled: netlab
//!   adds the address alone.
//! - `advert_int` with decimals is rounded to whole seconds, as keepalived does for VRRPv2.
//!
//! As keepalived, `nopreempt` is cleared (with a warning) for an instance with `state MASTER`
//! or priority 255.

use super::keywords::Context;
use super::lexer::Word;
use super::parser::Item;
use super::report::Report;
use super::values::scenario_text;
use crate::scenario::format::VrrpFile;
use crate::scenario::validate::limits;

/// What `global_defs` says.
#[derive(Debug, Default)]
pub struct Globals {
    /// `lvs_sync_daemon`: the director synchronises its connections.
    pub sync_daemon: bool,
    /// `vrrp_garp_master_repeat`.
    pub garp_repeat: Option<u32>,
    /// `vrrp_garp_master_delay`, as scenario text.
    pub garp_delay: Option<String>,
}

/// A `global_defs` block.
pub fn global_defs(r: &mut Report<'_>, item: &Item, globals: &mut Globals) {
    let Some(items) = r.block(item) else {
        return;
    };
    for item in items {
        if !r.known(Context::GlobalDefs, item) {
            continue;
        }
        r.no_block(item);
        match item.keyword().text.as_str() {
            // The node's name is the scenario's; router_id only names it in keepalived's logs.
            "router_id" => {
                r.arg(item, 0, "a name");
            }
            "lvs_sync_daemon" => {
                if r.arg(item, 0, "an interface").is_some() {
                    globals.sync_daemon = true;
                }
            }
            "vrrp_garp_master_repeat" => globals.garp_repeat = garp_repeat(r, item),
            _ => globals.garp_delay = garp_delay(r, item),
        }
    }
}

/// A `vrrp_instance NAME { ... }` block, on a node whose interfaces are described (in
/// order) by `interfaces`.
///
/// The block is read in one pass; then come the checks that need the whole block: the
/// keywords every instance needs, and keepalived's rules for `state MASTER`. `None` when
/// the instance cannot be used (reported already).
pub fn vrrp_instance(
    r: &mut Report<'_>,
    item: &Item,
    interfaces: &[String],
    globals: &Globals,
) -> Option<VrrpFile> {
    let keyword = item.keyword();
    let name = r.arg(item, 0, "a name")?;
    let items = r.block(item)?;
    let mut vrrp = VrrpFile {
        name: Some(name.text.clone()),
        interface: None,
        virtual_router_id: 0,
        priority: None,
        advert_int: None,
        nopreempt: None,
        virtual_ipaddress: Vec::new(),
        garp_master_repeat: globals.garp_repeat,
        garp_master_delay: globals.garp_delay.clone(),
        sync_group: None,
    };
    let mut block = InstanceBlock::default();
    for item in items {
        instance_keyword(r, item, interfaces, &mut vrrp, &mut block);
    }
    vrrp.virtual_router_id = required_keywords(r, keyword, name, &vrrp, &block)?;
    clear_nopreempt(r, &mut vrrp, &block);
    master_state(r, &mut vrrp, &block);
    Some(vrrp)
}

/// What a `vrrp_instance` block says beyond the fields of the `VrrpFile`, for the checks
/// that need the whole block.
#[derive(Default)]
struct InstanceBlock<'i> {
    /// `virtual_router_id`, if given and valid.
    vrid: Option<u8>,
    /// The `state` keyword, when it says MASTER.
    master: Option<&'i Word>,
    /// Whether the block has an `interface` line (valid or not).
    interface_seen: bool,
    /// The `nopreempt` keyword, if given.
    nopreempt: Option<&'i Word>,
}

/// One line of a `vrrp_instance` block, into `vrrp` or into `block`:
/// - the election: `state`, `priority`, `nopreempt` and `preempt` (the last one written
///   wins);
/// - where the router is: `interface`, `virtual_router_id`;
/// - what the master holds: `virtual_ipaddress`;
/// - timers: `advert_int`, `garp_master_repeat` and `garp_master_delay` (the rest).
fn instance_keyword<'i>(
    r: &mut Report<'_>,
    item: &'i Item,
    interfaces: &[String],
    vrrp: &mut VrrpFile,
    block: &mut InstanceBlock<'i>,
) {
    if !r.known(Context::VrrpInstance, item) {
        return;
    }
    let keyword = item.keyword().text.as_str();
    if keyword != "virtual_ipaddress" {
        r.no_block(item);
    }
    match keyword {
        "state" => block.master = state(r, item).then_some(item.keyword()),
        "interface" => {
            block.interface_seen = true;
            vrrp.interface = interface(r, item, interfaces);
        }
        "virtual_router_id" => block.vrid = one_to_255(r, item),
        "priority" => vrrp.priority = one_to_255(r, item),
        "advert_int" => vrrp.advert_int = advert_int(r, item),
        "nopreempt" => {
            vrrp.nopreempt = Some(true);
            block.nopreempt = Some(item.keyword());
        }
        "preempt" => vrrp.nopreempt = Some(false),
        "virtual_ipaddress" => vrrp.virtual_ipaddress = addresses(r, item),
        "garp_master_repeat" => vrrp.garp_master_repeat = garp_repeat(r, item),
        _ => vrrp.garp_master_delay = garp_delay(r, item),
    }
}

/// `virtual_router_id N` or `priority N`: 1 to 255. The VRID names the virtual router on
/// its segment (the same on every router of the group); priority 255 is kept for the
/// router that owns the addresses, and 0 for a master that resigns.
fn one_to_255(r: &mut Report<'_>, item: &Item) -> Option<u8> {
    let keyword = item.keyword().text.as_str();
    r.arg(item, 0, "a number")
        .and_then(|w| r.number(w, keyword, 1, 255))
        .map(|n| n as u8)
}

/// The keywords every instance needs, each missing one an error on the `vrrp_instance`
/// `keyword` of instance `name`: `interface`, `virtual_router_id` and `virtual_ipaddress`.
/// Returns the virtual router ID; without one, `None` (the instance is left out, and its
/// addresses are not checked).
fn required_keywords(
    r: &mut Report<'_>,
    keyword: &Word,
    name: &Word,
    vrrp: &VrrpFile,
    block: &InstanceBlock<'_>,
) -> Option<u8> {
    if !block.interface_seen {
        r.error(
            keyword,
            format!("vrrp_instance {} has no `interface`", name.text),
            "add `interface eth0` (eth0 is the node's first interface in the scenario)",
        );
    }
    let Some(vrid) = block.vrid else {
        r.error(
            keyword,
            format!("vrrp_instance {} has no `virtual_router_id`", name.text),
            "add `virtual_router_id N` (1 to 255), the same on every router of the group",
        );
        return None;
    };
    if vrrp.virtual_ipaddress.is_empty() {
        r.error(
            keyword,
            format!("vrrp_instance {} has no virtual addresses", name.text),
            "add `virtual_ipaddress { 10.0.0.100 }`: the addresses the master holds",
        );
    }
    Some(vrid)
}

/// keepalived clears `nopreempt` for an instance that wants to be master or owns the
/// addresses ("nopreempt will not work with initial state MASTER - clearing"): with
/// `state MASTER`, or priority 255 (given, or the default of `state MASTER`). So does
/// netlab, with a warning on the `nopreempt`.
fn clear_nopreempt(r: &mut Report<'_>, vrrp: &mut VrrpFile, block: &InstanceBlock<'_>) {
    let master = block.master.is_some();
    let priority = vrrp.priority.unwrap_or(if master { 255 } else { 100 });
    if vrrp.nopreempt == Some(true) && (master || priority == 255) {
        if let Some(word) = block.nopreempt {
            r.warning(
                word,
                "keepalived ignores `nopreempt` with `state MASTER` or priority 255".into(),
                "netlab does the same: this instance preempts; write `state BACKUP` to use nopreempt",
            );
        }
        vrrp.nopreempt = None;
    }
}

/// `state MASTER` is only a wish: every instance starts as BACKUP and the election decides,
/// except an address owner (priority 255), which keepalived makes master at once. An
/// instance with `state MASTER` and no `priority` gets 255, as in keepalived; netlab starts
/// an address owner as BACKUP too, with a warning on the `state`.
fn master_state(r: &mut Report<'_>, vrrp: &mut VrrpFile, block: &InstanceBlock<'_>) {
    let Some(state) = block.master else {
        return;
    };
    let priority = *vrrp.priority.get_or_insert(255);
    if priority == 255 {
        r.warning(
            state,
            "keepalived makes an address owner (`state MASTER`, priority 255) master at once; netlab starts it as BACKUP".into(),
            "it wins the first election anyway, after one Master_Down_Interval",
        );
    }
}

/// `state MASTER|BACKUP`: whether it says MASTER.
fn state(r: &mut Report<'_>, item: &Item) -> bool {
    let Some(word) = r.arg(item, 0, "MASTER or BACKUP") else {
        return false;
    };
    match word.text.as_str() {
        "MASTER" => true,
        "BACKUP" => false,
        other => {
            let help =
                if other.eq_ignore_ascii_case("master") || other.eq_ignore_ascii_case("backup") {
                    format!(
                        "write `{}`: keepalived's values are case-sensitive",
                        other.to_ascii_uppercase()
                    )
                } else {
                    "the states are MASTER and BACKUP".to_string()
                };
            r.error(word, format!("unknown state `{other}`"), help);
            false
        }
    }
}

/// `interface ethN`: the node's N-th interface.
fn interface(r: &mut Report<'_>, item: &Item, interfaces: &[String]) -> Option<u32> {
    let word = r.arg(item, 0, "an interface")?;
    let index = word
        .text
        .strip_prefix("eth")
        .filter(|n| {
            !n.is_empty()
                && n.bytes().all(|b| b.is_ascii_digit())
                && (n.len() == 1 || !n.starts_with('0'))
        })
        .and_then(|n| n.parse::<usize>().ok());
    let listing: Vec<String> = interfaces
        .iter()
        .enumerate()
        .map(|(i, d)| format!("eth{i} ({d})"))
        .collect();
    match index {
        Some(i) if i < interfaces.len() => Some(i as u32),
        _ => {
            r.error(
                word,
                format!("`{}` is not an interface of this node", word.text),
                format!(
                    "netlab names a node's interfaces eth0, eth1, ... in scenario order: {}",
                    listing.join(", ")
                ),
            );
            None
        }
    }
}

/// `advert_int T`: whole seconds, 1 to 255 (decimals rounded, as keepalived does for v2).
fn advert_int(r: &mut Report<'_>, item: &Item) -> Option<u8> {
    let word = r.arg(item, 0, "a time in seconds")?;
    let micros = super::values::seconds_to_micros(&word.text);
    // Rounded to the nearest second without `m + 500_000`, which overflows near u64::MAX.
    let seconds = micros.map(|m| m / 1_000_000 + u64::from(m % 1_000_000 >= 500_000));
    match seconds {
        Some(s @ 1..=255) => {
            if micros != Some(s * 1_000_000) {
                r.warning(
                    word,
                    format!("advert_int {} is rounded to {s} s", word.text),
                    "VRRP version 2 advertises whole seconds; keepalived rounds it too",
                );
            }
            Some(s as u8)
        }
        _ => {
            r.error(
                word,
                format!(
                    "advert_int {} is outside the range 1 to 255 seconds",
                    word.text
                ),
                "VRRP version 2 advertises every 1 to 255 whole seconds",
            );
            None
        }
    }
}

/// `virtual_ipaddress { ... }`: one address per line.
fn addresses(r: &mut Report<'_>, item: &Item) -> Vec<String> {
    let Some(items) = r.block(item) else {
        return Vec::new();
    };
    let mut vips = Vec::new();
    for line in items.iter().take(limits::MAX_VIPS + 1) {
        r.no_block(line);
        let word = line.keyword();
        let (addr, prefix) = word.text.split_once('/').unwrap_or((&word.text, "32"));
        let shown = Word {
            text: addr.to_string(),
            ..word.clone()
        };
        let Some(ip) = r.ipv4(&shown, "a virtual address") else {
            continue;
        };
        if prefix != "32" || !line.args().is_empty() {
            r.warning(
                word,
                format!("only the address {ip} of this line is modelled by netlab"),
                "netlab adds the address alone (as /32), without options such as dev or label",
            );
        }
        vips.push(ip.to_string());
    }
    if items.len() > limits::MAX_VIPS {
        r.error(
            item.keyword(),
            format!("more than {} virtual addresses", limits::MAX_VIPS),
            "an advert holds at most 255 addresses",
        );
    }
    vips
}

/// `garp_master_repeat N` or `vrrp_garp_master_repeat N`.
fn garp_repeat(r: &mut Report<'_>, item: &Item) -> Option<u32> {
    let word = r.arg(item, 0, "a number")?;
    let keyword = item.keyword().text.as_str();
    r.number(word, keyword, 1, u64::from(limits::MAX_GARP_REPEAT))
        .map(|n| n as u32)
}

/// `garp_master_delay S` or `vrrp_garp_master_delay S`: whole seconds.
fn garp_delay(r: &mut Report<'_>, item: &Item) -> Option<String> {
    let word = r.arg(item, 0, "a number of seconds")?;
    let keyword = item.keyword().text.as_str();
    let seconds = r.number(word, keyword, 0, 1_000)?;
    Some(scenario_text(crate::sim::SimDuration::from_secs(seconds)))
}

/// A `vrrp_sync_group NAME { group { VI_1 VI_2 } }`: its instances must exist; each gets
/// `sync_group: "NAME"` unless it is in a group already (keepalived: "cannot exist in more
/// than one sync group"). A group left with one member is warned about and dropped.
pub fn sync_group(r: &mut Report<'_>, item: &Item, instances: &mut [VrrpFile]) {
    let keyword = item.keyword();
    let Some(name) = r.arg(item, 0, "a name").cloned() else {
        return;
    };
    let Some(items) = r.block(item) else {
        return;
    };
    let mut members: Vec<usize> = Vec::new();
    for inner in items {
        if !r.known(Context::SyncGroup, inner) {
            continue;
        }
        let Some(group) = r.block(inner) else {
            continue;
        };
        for member in group {
            r.no_block(member);
            for word in &member.words {
                match instances
                    .iter()
                    .position(|v| v.name.as_deref() == Some(word.text.as_str()))
                {
                    Some(index) => member_of(r, word, &name, index, instances, &mut members),
                    None => unknown_member(r, word, instances),
                }
            }
        }
    }
    if members.len() == 1 {
        r.warning(
            keyword,
            format!(
                "sync group `{}` has only one instance: it syncs nothing",
                name.text
            ),
            "keepalived warns too (\"this probably isn't what you want\"): list every instance that must change state with it",
        );
        instances[members[0]].sync_group = None;
    }
}

/// Instance `index`, named by `word`, joins group `name` unless it is in one already.
fn member_of(
    r: &mut Report<'_>,
    word: &Word,
    name: &Word,
    index: usize,
    instances: &mut [VrrpFile],
    members: &mut Vec<usize>,
) {
    match &instances[index].sync_group {
        Some(other) => r.warning(
            word,
            format!(
                "`{}` is already in sync group `{other}`: an instance belongs to one group; keepalived ignores it in `{}`",
                word.text, name.text
            ),
            "list the instance in one vrrp_sync_group only",
        ),
        None => {
            instances[index].sync_group = Some(name.text.clone());
            members.push(index);
        }
    }
}

/// A group member that names no instance of the file.
fn unknown_member(r: &mut Report<'_>, word: &Word, instances: &[VrrpFile]) {
    let names = instances.iter().filter_map(|v| v.name.as_deref());
    let otherwise = "name the vrrp_instance blocks of this file";
    r.unknown_name(word, "vrrp_instance", names, otherwise);
}
