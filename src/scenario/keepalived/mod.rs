//! *keepalived.conf*: directors and VRRP routers configured in keepalived's own format,
//! read and written.
//!
//! On a real Linux director, keepalived reads `/etc/keepalived/keepalived.conf` and fills
//! the kernel's IPVS table (`virtual_server`, `real_server`), checks the real servers, and
//! runs VRRP (`vrrp_instance`). A scenario can say the same in RON, or name such a file:
//!
//! ```ron
//! L4Balancer(name: "lb1", interfaces: [...], keepalived: "keepalived/lb1.conf")
//! ```
//!
//! The scenario still gives the topology (interfaces, addresses, routes); the file gives the
//! services and the VRRP instances. Reading it takes four steps, one module each:
//!
//! 1. `source`: the file and its `include`s, read safely (inside the scenario's folder only,
//!    size and depth capped);
//! 2. `lexer`: keepalived's lexical rules, to statements of words with positions;
//! 3. `parser`: statements to a tree of blocks, naming the block a missing `}` left open;
//! 4. the mapping (`keywords`, `services`, `checkers`, `vrrp`): the tree to the scenario's
//!    own file types (`VirtualServiceFile`, `VrrpFile`), exactly what inline `services` and
//!    `vrrp` would give, so `validate` and `build` treat both alike.
//!
//! Every problem is a `Diagnostic` located in the conf file (`report`, `values`). Keywords
//! netlab does not model give a warning each; unknown ones an error.
//!
//! `export` goes the other way: a scenario's directors and routers written as keepalived.conf
//! files, which read back into the same scenario (`tests/it/keepalived.rs` checks both).
//!
//! Problems the scenario's own checks (`validate`) find in what a file gave, such as a VIP on
//! no subnet of the node, are moved into the file by [`relocate`]: onto the address the
//! message quotes.
//!
//! # Simplifications
//! - A problem `validate` finds that quotes no address of the file (a duplicate service, a
//!   quorum above the total weight) stays at the node in the scenario.
//! - See each module's own list.
//!
//! # Further reading
//! - keepalived.conf(5); `shared/reference/keepalived-vrrp.md` §1a; the book's scenario
//!   reference, "keepalived".

mod checkers;
pub mod export;
mod keywords;
mod lexer;
mod parser;
mod report;
mod services;
mod source;
mod values;
mod vrrp;

use std::collections::BTreeSet;
use std::path::Path;

pub use export::keepalived_confs;
use parser::{BraceError, Item};
use report::Report;
use services::Scripts;
pub use source::with_files_in_memory;

use super::diagnostic::{Diagnostic, Locator, Severity};
use super::format::{InterfaceFile, NodeFile, ScenarioFile, VirtualServiceFile, VrrpFile};
use keywords::Context;

/// What one configuration file gives its node.
#[derive(Debug, Default)]
pub struct Imported {
    /// Its virtual servers.
    pub services: Vec<VirtualServiceFile>,
    /// Its VRRP instances.
    pub vrrp: Vec<VrrpFile>,
    /// Whether `global_defs` starts the IPVS sync daemon (`lvs_sync_daemon`).
    pub connection_sync: bool,
    /// Every word of the file that is an IPv4 address (a prefix or port after it allowed),
    /// with a diagnostic placed on it, for [`relocate`].
    pub addresses: Vec<(String, Diagnostic)>,
}

/// What [`import`] found: the diagnostics of the files, and where each node's addresses are
/// written, for [`relocate`].
#[derive(Debug, Default)]
pub struct Import {
    /// Errors and warnings found in the files and in the `keepalived:` fields.
    pub diagnostics: Vec<Diagnostic>,
    /// For each node configured by a file: its name, and the addresses of its file.
    pub addresses: Vec<(String, Vec<(String, Diagnostic)>)>,
}

/// Reads the keepalived.conf of every node that names one, and puts what each gives into
/// the node, in place of inline `services` and `vrrp`. `scenario_file` is the scenario's
/// path (configurations are relative to its folder) and `loc` its locator, for problems with
/// the `keepalived:` field itself.
///
/// Returns the diagnostics, errors and warnings (the scenario is usable only without
/// errors), and where the files write their addresses.
pub fn import(file: &mut ScenarioFile, scenario_file: &str, loc: &Locator<'_>) -> Import {
    let dir = Path::new(scenario_file)
        .parent()
        .unwrap_or(Path::new(""))
        .to_path_buf();
    let mut diagnostics = Vec::new();
    let mut addresses = Vec::new();
    for node in &mut file.nodes {
        match node {
            NodeFile::L4Balancer(b) => {
                let Some(path) = b.keepalived.clone() else {
                    continue;
                };
                if !b.services.is_empty() || !b.vrrp.is_empty() {
                    diagnostics.push(both(loc, &b.name));
                    continue;
                }
                let conf = NodeConf {
                    name: &b.name,
                    interfaces: describe(&b.interfaces),
                    scripts: &b.scripts,
                    director: true,
                };
                let (imported, found) = read_conf(&dir, &path, &conf, loc);
                diagnostics.extend(found);
                addresses.push((b.name.clone(), imported.addresses));
                b.services = imported.services;
                b.vrrp = imported.vrrp;
                if imported.connection_sync {
                    b.connection_sync.get_or_insert(true);
                }
            }
            NodeFile::Router(router) => {
                let Some(path) = router.keepalived.clone() else {
                    continue;
                };
                if !router.vrrp.is_empty() {
                    diagnostics.push(both(loc, &router.name));
                    continue;
                }
                let scripts = Scripts::new();
                let conf = NodeConf {
                    name: &router.name,
                    interfaces: describe(&router.interfaces),
                    scripts: &scripts,
                    director: false,
                };
                let (imported, found) = read_conf(&dir, &path, &conf, loc);
                diagnostics.extend(found);
                addresses.push((router.name.clone(), imported.addresses));
                router.vrrp = imported.vrrp;
            }
            _ => {}
        }
    }
    Import {
        diagnostics,
        addresses,
    }
}

/// Moves the problems `validate` found in what the files gave (a VIP on none of the node's
/// subnets, a real server on no segment) from the scenario, where `validate` can only point
/// at the node, to the address in the file. A problem is moved when its message quotes an
/// address the file of the node it names (or, naming none, of the only node whose file has
/// it) writes; the first place the file writes it is shown.
pub fn relocate(problems: &mut [Diagnostic], addresses: &[(String, Vec<(String, Diagnostic)>)]) {
    for problem in problems.iter_mut() {
        let quoted: Vec<&str> = problem
            .message
            .split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .filter(|w| w.parse::<std::net::Ipv4Addr>().is_ok())
            .collect();
        let named = |node: &str| problem.message.contains(&format!("\"{node}\""));
        let holders: Vec<&(String, Vec<(String, Diagnostic)>)> = addresses
            .iter()
            .filter(|(_, words)| words.iter().any(|(a, _)| quoted.contains(&a.as_str())))
            .collect();
        let holder = holders
            .iter()
            .find(|(node, _)| named(node))
            .or(if holders.len() == 1 {
                holders.first()
            } else {
                None
            });
        let Some((node, words)) = holder else {
            continue;
        };
        let Some((_, at)) = words.iter().find(|(a, _)| quoted.contains(&a.as_str())) else {
            continue;
        };
        *problem = Diagnostic {
            severity: problem.severity,
            message: problem.message.clone(),
            help: problem.help.clone(),
            note: Some(format!(
                "found by checking what this file gives \"{node}\" against the scenario"
            )),
            ..at.clone()
        };
    }
}

/// The IPv4 addresses written in a configuration, each with a diagnostic placed on it.
fn addresses(reading: &source::Reading, locators: &[Locator<'_>]) -> Vec<(String, Diagnostic)> {
    reading
        .statements
        .iter()
        .flatten()
        .filter_map(|word| {
            let address = word.text.split('/').next()?;
            address.parse::<std::net::Ipv4Addr>().ok()?;
            let locator = locators.get(word.file)?;
            let at = locator.at_offset(word.start, word.width, String::new());
            Some((address.to_string(), at))
        })
        .collect()
}

/// A node that gives both inline configuration and a keepalived.conf.
fn both(loc: &Locator<'_>, name: &str) -> Diagnostic {
    Diagnostic {
        help: Some(
            "give either `keepalived:` or inline `services`/`vrrp`, not both: remove one".into(),
        ),
        ..loc.field(
            "keepalived",
            Some(name),
            format!("\"{name}\" has a keepalived.conf and inline services or VRRP instances"),
        )
    }
}

/// What the mapping needs to know of the node a configuration is for.
struct NodeConf<'a> {
    /// Its name.
    name: &'a str,
    /// Its interfaces in order, described as `lan, 10.0.0.2/24`.
    interfaces: Vec<String>,
    /// MISC_CHECK results.
    scripts: &'a Scripts,
    /// Whether it is a director (which may have virtual servers).
    director: bool,
}

/// Interfaces as messages describe them.
fn describe(interfaces: &[InterfaceFile]) -> Vec<String> {
    interfaces
        .iter()
        .map(|i| format!("{}, {}", i.attach, i.ip))
        .collect()
}

/// Reads, parses and maps the configuration at `path` for the node `conf`.
fn read_conf(
    dir: &Path,
    path: &str,
    conf: &NodeConf<'_>,
    loc: &Locator<'_>,
) -> (Imported, Vec<Diagnostic>) {
    // 1. The file and its includes.
    let reading = match source::read(dir, path) {
        Ok(reading) => reading,
        Err(refusal) => {
            let mut found = vec![Diagnostic {
                help: Some(refusal.help),
                ..loc.quoted(path, Some(conf.name), refusal.message)
            }];
            found.extend(refusal.inside.map(|d| *d));
            return (Imported::default(), found);
        }
    };
    let locators = reading.locators();
    let mut r = Report::new(&locators);
    r.diagnostics.extend(reading.diagnostics.iter().cloned());
    for (file, problem) in &reading.problems {
        r.at(
            Severity::Error,
            *file,
            (problem.start, problem.width),
            problem.message.clone(),
            problem.help.clone(),
        );
    }
    // 2-3. Lexed already; the tree of blocks.
    let indent = |w: &lexer::Word| indentation(&reading.files[w.file].text, w.start);
    let (items, brace_errors) = parser::parse(reading.statements.clone(), indent);
    // With braces that do not balance, or words keepalived would read otherwise, the tree is
    // not what was meant: the mapping would only report the consequences, so it is skipped.
    if !brace_errors.is_empty() || !reading.problems.is_empty() {
        for error in brace_errors {
            brace_error(&mut r, error);
        }
        return (Imported::default(), r.diagnostics);
    }
    // 4. The mapping.
    let mut imported = map(&mut r, &items, conf);
    imported.addresses = addresses(&reading, &locators);
    // A virtual server read once per address of its group says each problem once.
    let mut seen = BTreeSet::new();
    let mut diagnostics = r.diagnostics;
    diagnostics.retain(|d| seen.insert((d.file.clone(), d.line, d.col, d.message.clone())));
    (imported, diagnostics)
}

/// The top level of a configuration to what it gives the node.
fn map(r: &mut Report<'_>, items: &[Item], conf: &NodeConf<'_>) -> Imported {
    let globals = globals(r, items);
    let server_groups = server_groups(r, items);
    let mut imported = Imported::default();
    let mut names = BTreeSet::new();
    let mut sync_groups = Vec::new();
    for item in items {
        if !r.known(Context::Top, item) {
            continue;
        }
        match item.keyword().text.as_str() {
            "vrrp_instance" => {
                let v = vrrp_instance(r, item, conf, &globals, &mut names);
                imported.vrrp.extend(v);
            }
            "vrrp_sync_group" => sync_groups.push(item),
            "virtual_server" => {
                let services = virtual_server(r, item, conf, &server_groups);
                imported.services.extend(services);
            }
            _ => {}
        }
    }
    for group in sync_groups {
        vrrp::sync_group(r, group, &mut imported.vrrp);
    }
    // A router has no IPVS connections to synchronise: only a director's sync daemon counts.
    imported.connection_sync = globals.sync_daemon && conf.director;
    nothing_given(r, items, &imported, conf);
    imported
}

/// What `global_defs` says. It applies to every instance, wherever it stands: it is read
/// before the other blocks.
fn globals(r: &mut Report<'_>, items: &[Item]) -> vrrp::Globals {
    let mut globals = vrrp::Globals::default();
    for item in items.iter().filter(|i| i.keyword().text == "global_defs") {
        vrrp::global_defs(r, item, &mut globals);
    }
    globals
}

/// The `virtual_server_group` blocks, which virtual servers name: read before the other
/// blocks too, wherever they stand.
fn server_groups(r: &mut Report<'_>, items: &[Item]) -> services::Groups {
    let mut server_groups = services::Groups::new();
    for item in items
        .iter()
        .filter(|i| i.keyword().text == "virtual_server_group")
    {
        services::virtual_server_group(r, item, &mut server_groups);
    }
    server_groups
}

/// A `vrrp_instance` block, whose name (if it has one) must differ from the instances'
/// before it (`names`, which it joins).
fn vrrp_instance(
    r: &mut Report<'_>,
    item: &Item,
    conf: &NodeConf<'_>,
    globals: &vrrp::Globals,
    names: &mut BTreeSet<String>,
) -> Option<VrrpFile> {
    let v = vrrp::vrrp_instance(r, item, &conf.interfaces, globals)?;
    if let Some(name) = &v.name
        && !names.insert(name.clone())
    {
        r.error(
            &item.args()[0],
            format!("a second vrrp_instance is named `{name}`"),
            "give every instance its own name",
        );
    }
    Some(v)
}

/// A `virtual_server` block: its services (one per address of its group), or none on a
/// router, which has no IPVS.
fn virtual_server(
    r: &mut Report<'_>,
    item: &Item,
    conf: &NodeConf<'_>,
    server_groups: &services::Groups,
) -> Vec<VirtualServiceFile> {
    if !conf.director {
        r.error(
            item.keyword(),
            format!(
                "\"{}\" is a Router: it has no IPVS for a virtual_server",
                conf.name
            ),
            "make the node an L4Balancer to run virtual servers",
        );
        return Vec::new();
    }
    services::virtual_server(r, item, conf.scripts, server_groups)
}

/// A warning when a configuration without errors gives the node nothing: no virtual
/// server and no VRRP instance.
fn nothing_given(r: &mut Report<'_>, items: &[Item], imported: &Imported, conf: &NodeConf<'_>) {
    if imported.services.is_empty()
        && imported.vrrp.is_empty()
        && !r.has_errors()
        && let Some(first) = items.first()
    {
        r.warning(
            first.keyword(),
            format!(
                "this configuration gives \"{}\" no virtual server and no VRRP instance",
                conf.name
            ),
            "add a virtual_server or a vrrp_instance block",
        );
    }
}

/// Reports a brace that does not balance.
fn brace_error(r: &mut Report<'_>, error: BraceError) {
    match error {
        BraceError::ExtraClose(word) => r.error(
            &word,
            "this `}` closes no block".into(),
            "remove it, or look above for a block closed twice",
        ),
        BraceError::OpensNothing(word) => r.error(
            &word,
            "this `{` opens no block".into(),
            "a `{` follows the keyword that opens the block, such as `real_server 10.0.0.1 80 {`",
        ),
        BraceError::TooDeep(word) => r.error(
            &word,
            format!("blocks nest more than {} deep here", parser::MAX_DEPTH),
            "keepalived's blocks nest five deep at most: look for missing `}`",
        ),
        BraceError::Unclosed {
            keyword,
            open,
            misplaced_close,
            outdented,
        } => {
            r.error(
                &open,
                format!("the `{}` block opened here is never closed", keyword.text),
                format!("add `}}` at the end of the `{}` block", keyword.text),
            );
            if let Some(next) = outdented {
                let line = r.line_of(&next);
                r.note(format!(
                    "`{}` on line {line} is indented like `{}`: the missing `}}` probably goes just before it",
                    next.text, keyword.text
                ));
            } else if let Some(close) = misplaced_close {
                let line = r.line_of(&close);
                r.note(format!(
                    "the `}}` on line {line} is indented like an outer block: the `}}` of `{}` is probably missing just before it",
                    keyword.text
                ));
            }
        }
    }
}

/// The indentation (in characters) of the line holding byte `offset` of `text`.
fn indentation(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    text[start..offset]
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .map(|c| if c == '\t' { 8 } else { 1 })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::format::{CheckFile, ForwardFile};

    /// Maps the configuration `text` for a director with two interfaces (eth0 on `front`,
    /// eth1 on `back`), as `read_conf` does after reading.
    fn mapped(text: &str) -> (Imported, Vec<Diagnostic>) {
        let mut scripts = Scripts::new();
        scripts.insert("/bin/check".into(), vec![("0s".into(), true)]);
        let conf = NodeConf {
            name: "lb1",
            interfaces: vec!["front, 10.0.1.2/24".into(), "back, 10.0.2.1/24".into()],
            scripts: &scripts,
            director: true,
        };
        let locators = [Locator::new("lb1.conf", text)];
        let mut r = Report::new(&locators);
        let (statements, problems) = lexer::lex(text, 0);
        assert!(problems.is_empty(), "{problems:?}");
        let (items, errors) = parser::parse(statements, |w| indentation(text, w.start));
        assert!(errors.is_empty(), "{errors:?}");
        let imported = map(&mut r, &items, &conf);
        (imported, r.diagnostics)
    }

    /// The messages of `diagnostics` of `severity`.
    fn messages(diagnostics: &[Diagnostic], severity: Severity) -> Vec<&str> {
        diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .map(|d| d.message.as_str())
            .collect()
    }

    #[test]
    fn a_virtual_server_becomes_a_service_with_its_real_servers() {
        let (imported, found) = mapped(
            "virtual_server 10.0.1.100 80 {\n lvs_sched wrr\n lvs_method DR\n protocol tcp\n \
             persistence_timeout\n quorum 2\n hysteresis 1\n sorry_server 10.0.2.99 8080\n \
             real_server 10.0.2.11 80 {\n  weight 3\n  lvs_method NAT\n }\n \
             real_server 10.0.2.12 {\n  inhibit_on_failure\n }\n}\n",
        );
        assert!(found.is_empty(), "{found:?}");
        let s = &imported.services[0];
        assert_eq!((s.vip.as_str(), s.port), ("10.0.1.100", Some(80)));
        assert_eq!(s.scheduler.as_deref(), Some("wrr"));
        // Without a value, keepalived's default of 360 s.
        assert_eq!(s.persistence_timeout.as_deref(), Some("360s"));
        assert_eq!((s.quorum, s.hysteresis), (Some(2), Some(1)));
        // A DR sorry server keeps the service's port.
        let sorry = s.sorry_server.as_ref().unwrap();
        assert_eq!((sorry.forward, sorry.port), (Some(ForwardFile::Dr), None));
        let [first, second] = s.real_servers.as_slice() else {
            panic!("{:?}", s.real_servers);
        };
        assert_eq!(
            (first.weight, first.forward),
            (Some(3), Some(ForwardFile::Nat))
        );
        // No port: the service's, and the service's method.
        assert_eq!(
            (second.port, second.forward),
            (Some(80), Some(ForwardFile::Dr))
        );
        assert_eq!(second.inhibit_on_failure, Some(true));
    }

    #[test]
    fn check_timing_is_inherited_from_service_to_server_to_checker() {
        let (imported, found) = mapped(
            "virtual_server 10.0.1.100 80 {\n protocol TCP\n delay_loop 6\n retry 2\n \
             real_server 10.0.2.11 80 {\n  connect_timeout 2.5\n  TCP_CHECK {\n   retry 4\n  }\n \
             }\n real_server 10.0.2.12 80 {\n  HTTP_GET {\n   url {\n    path /health\n    \
             status_code 200-202 301\n   }\n  }\n  MISC_CHECK {\n   misc_path /bin/check\n  }\n \
             }\n}\n",
        );
        assert!(found.is_empty(), "{found:?}");
        let rs = &imported.services[0].real_servers;
        let t = &rs[0].check_timing;
        assert_eq!(t.delay_loop.as_deref(), Some("6000000us"));
        assert_eq!(t.connect_timeout.as_deref(), Some("2500000us"));
        assert_eq!(t.retry, Some(4));
        // HTTP_GET and MISC_CHECK share the service's retry 2 and delay_loop; their
        // different defaults for delay_before_retry stay each checker's own.
        let t = &rs[1].check_timing;
        assert_eq!((t.retry, t.delay_before_retry.as_deref()), (Some(2), None));
        let CheckFile::HttpGet { path, status, port } = &rs[1].checks[0] else {
            panic!("{:?}", rs[1].checks);
        };
        assert_eq!(path.as_deref(), Some("/health"));
        assert_eq!(status.as_deref(), Some(&[200, 201, 202, 301][..]));
        assert_eq!(*port, None);
        assert!(matches!(&rs[1].checks[1], CheckFile::MiscCheck { results } if results.len() == 1));
    }

    #[test]
    fn a_vrrp_instance_names_its_interface_by_position() {
        let (imported, found) = mapped(
            "global_defs {\n router_id lb1\n lvs_sync_daemon eth1 VI_1\n vrrp_garp_master_repeat 3\n}\n\
             vrrp_instance VI_1 {\n state MASTER\n interface eth1\n virtual_router_id 51\n \
             advert_int 2\n nopreempt\n virtual_ipaddress {\n  10.0.2.100\n }\n}\n\
             vrrp_instance VI_2 {\n interface eth0\n virtual_router_id 52\n priority 90\n \
             nopreempt\n virtual_ipaddress {\n  10.0.1.100\n }\n}\n",
        );
        let v = &imported.vrrp[0];
        assert_eq!(v.interface, Some(1));
        assert_eq!((v.virtual_router_id, v.advert_int), (51, Some(2)));
        // MASTER without a priority is an address owner: 255, with a warning.
        assert_eq!(v.priority, Some(255));
        assert_eq!(
            messages(&found, Severity::Warning),
            [
                "keepalived ignores `nopreempt` with `state MASTER` or priority 255",
                "keepalived makes an address owner (`state MASTER`, priority 255) master at once; netlab starts it as BACKUP"
            ]
        );
        // As keepalived, nopreempt is cleared for a MASTER, kept for a BACKUP.
        assert_eq!((v.nopreempt, v.garp_master_repeat), (None, Some(3)));
        assert_eq!(imported.vrrp[1].nopreempt, Some(true));
        assert!(imported.connection_sync);
    }

    #[test]
    fn a_sync_group_names_its_members_and_keepalived_s_limits_are_warnings() {
        let instance = |name: &str, iface: u8, vrid: u8, vip: &str| {
            format!(
                "vrrp_instance {name} {{\n interface eth{iface}\n virtual_router_id {vrid}\n \
                 virtual_ipaddress {{\n  {vip}\n }}\n}}\n"
            )
        };
        let text = format!(
            "vrrp_sync_group NAT {{\n group {{\n  VI_1\n  VI_2\n }}\n}}\n\
             vrrp_sync_group AGAIN {{\n group {{\n  VI_2\n  VI_3\n }}\n}}\n{}{}{}",
            instance("VI_1", 0, 51, "10.0.1.100"),
            instance("VI_2", 1, 52, "10.0.2.254"),
            instance("VI_3", 1, 53, "10.0.2.253"),
        );
        let (imported, found) = mapped(&text);
        let groups: Vec<Option<&str>> = imported
            .vrrp
            .iter()
            .map(|v| v.sync_group.as_deref())
            .collect();
        // VI_2 stays in NAT (keepalived: an instance cannot be in two groups), so AGAIN is
        // left with VI_3 alone, which syncs nothing.
        assert_eq!(groups, [Some("NAT"), Some("NAT"), None]);
        assert_eq!(
            messages(&found, Severity::Warning),
            [
                "`VI_2` is already in sync group `NAT`: an instance belongs to one group; keepalived ignores it in `AGAIN`",
                "sync group `AGAIN` has only one instance: it syncs nothing",
            ]
        );
        assert!(messages(&found, Severity::Error).is_empty());
    }

    #[test]
    fn keywords_netlab_does_not_model_warn_and_unknown_ones_fail() {
        let (imported, found) = mapped(
            "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n \
             track_interface {\n  eth1\n }\n priorty 120\n virtual_ipaddress {\n  10.0.1.100\n }\n}\n",
        );
        assert_eq!(imported.vrrp.len(), 1);
        assert_eq!(
            messages(&found, Severity::Warning),
            ["`track_interface` is not modelled by netlab"]
        );
        assert_eq!(
            messages(&found, Severity::Error),
            ["unknown keyword `priorty` in vrrp_instance"]
        );
        assert_eq!(found[1].help.as_deref(), Some("did you mean `priority`?"));
    }

    #[test]
    fn a_virtual_server_group_gives_one_service_per_address() {
        let (imported, found) = mapped(
            "virtual_server_group WEB {\n 10.0.1.100-101 80\n 10.0.1.110 8080\n fwmark 7\n}\n\
             virtual_server group WEB {\n lb_algo rr\n protocol TCP\n \
             real_server 10.0.2.11 80 {\n }\n}\nvirtual_server group WBE {\n}\n",
        );
        let services: Vec<(&str, Option<u16>)> = imported
            .services
            .iter()
            .map(|s| (s.vip.as_str(), s.port))
            .collect();
        assert_eq!(
            services,
            [
                ("10.0.1.100", Some(80)),
                ("10.0.1.101", Some(80)),
                ("10.0.1.110", Some(8080))
            ]
        );
        assert_eq!(
            messages(&found, Severity::Warning),
            ["a firewall-mark entry is not modelled by netlab"]
        );
        assert_eq!(
            messages(&found, Severity::Error),
            ["no virtual_server_group is named `WBE`"]
        );
    }

    #[test]
    fn garbage_never_panics() {
        for text in [
            "virtual_server",
            "virtual_server 1 2 3 {\n real_server\n}",
            "vrrp_instance {\n}\n",
            "vrrp_sync_group G {\n group\n}\n",
            "global_defs\n",
            "virtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 80 {\n HTTP_GET {\n url\n }\n }\n}\n",
        ] {
            let (statements, _) = lexer::lex(text, 0);
            let (items, _) = parser::parse(statements, |w| indentation(text, w.start));
            let locators = [Locator::new("t.conf", text)];
            let mut r = Report::new(&locators);
            let scripts = Scripts::new();
            let conf = NodeConf {
                name: "n",
                interfaces: Vec::new(),
                scripts: &scripts,
                director: true,
            };
            let _ = map(&mut r, &items, &conf);
        }
    }
}
