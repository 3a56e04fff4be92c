//! *Choosing the request*: from what a student types to one line of `requests.csv`.
//!
//! A student names a request in one of four ways: its `id` in `requests.csv`; the K-th
//! request of a client (a host such as `users-3`, or a whole group such as `users`); the K-th
//! request a server answered; or simply the first request that failed.
//! "K-th" counts from 1 in start order, as `requests.csv` lists them.
//! A name or number that fits nothing is an error whose help lists what would fit.

use super::story::Names;
use crate::scenario::Scenario;
use crate::scenario::model::NodeSpec;
use crate::trace::{Outcome, RequestRecord};

/// Which request to explain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selector {
    /// The request with this `id` in `requests.csv`.
    Request(usize),
    /// The `nth` request (from 1) of a client host or client group.
    Client {
        /// A host (`users-3`) or group (`users`) name.
        name: String,
        /// Which of its requests, from 1.
        nth: usize,
    },
    /// The `nth` request (from 1) answered by a web server.
    Server {
        /// The server's name.
        name: String,
        /// Which of its requests, from 1.
        nth: usize,
    },
    /// The first request (in start order) that did not end `ok`.
    FirstFailed,
}

/// A selector that names no request, with a hint naming valid choices.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SelectError {
    /// What is wrong.
    pub message: String,
    /// What would work.
    pub help: String,
}

/// The scenario's client group names and their host counts.
pub fn client_groups(scenario: &Scenario) -> Vec<(String, u32)> {
    scenario
        .nodes
        .iter()
        .filter_map(|node| match node {
            NodeSpec::Clients { name, count, .. } => Some((name.clone(), *count)),
            _ => None,
        })
        .collect()
}

/// The position in `requests` (sorted as `requests.csv`) of the request `selector` names.
pub fn select(
    requests: &[&RequestRecord],
    names: &Names<'_>,
    groups: &[(String, u32)],
    selector: &Selector,
) -> Result<usize, SelectError> {
    if requests.is_empty() {
        return Err(SelectError {
            message: "this run has no HTTP requests to explain".to_string(),
            help: "explain works on scenarios with HTTP clients; try scenarios/l4-nat.ron"
                .to_string(),
        });
    }
    match selector {
        Selector::Request(id) if *id < requests.len() => Ok(*id),
        Selector::Request(id) => Err(SelectError {
            message: format!("there is no request {id}: this run has {}", requests.len()),
            help: format!("request ids go from 0 to {}", requests.len() - 1),
        }),
        Selector::FirstFailed => requests
            .iter()
            .position(|r| r.outcome != Outcome::Ok)
            .ok_or_else(|| SelectError {
                message: format!("no request failed: all {} ended ok", requests.len()),
                help: "pick one with --request ID or --client NAME --nth K, or try a scenario \
                       with faults, such as scenarios/health-checks.ron"
                    .to_string(),
            }),
        Selector::Client { name, nth } => {
            let host_of = |r: &&RequestRecord| names.nodes[r.client_node].as_str();
            let is_group = groups.iter().any(|(group, _)| group == name);
            let is_host = requests.iter().any(|r| host_of(r) == name);
            if !is_group && !is_host {
                return Err(unknown("client", name, &client_choices(groups)));
            }
            let matches = |r: &&RequestRecord| {
                let host = host_of(r);
                host == name
                    || (is_group
                        && host
                            .strip_prefix(name.as_str())
                            .and_then(|rest| rest.strip_prefix('-'))
                            .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit())))
            };
            nth_of(requests, matches, name, *nth)
        }
        Selector::Server { name, nth } => {
            let Some(server) = names.servers.iter().position(|s| s == name) else {
                return Err(unknown("server", name, &names.servers.join(", ")));
            };
            nth_of(requests, |r| r.server == Some(server), name, *nth)
        }
    }
}

/// The position of the `nth` request (from 1) that `matches`.
fn nth_of(
    requests: &[&RequestRecord],
    matches: impl Fn(&&RequestRecord) -> bool,
    name: &str,
    nth: usize,
) -> Result<usize, SelectError> {
    let positions: Vec<usize> = requests
        .iter()
        .enumerate()
        .filter(|(_, r)| matches(r))
        .map(|(i, _)| i)
        .collect();
    if nth == 0 {
        return Err(SelectError {
            message: "--nth counts from 1".to_string(),
            help: "use --nth 1 for the first request".to_string(),
        });
    }
    positions.get(nth - 1).copied().ok_or_else(|| SelectError {
        message: format!(
            "{name} has {} request(s) in this run, so there is no request number {nth}",
            positions.len()
        ),
        help: if positions.is_empty() {
            "pick another client or server".to_string()
        } else {
            format!("use --nth 1 to --nth {}", positions.len())
        },
    })
}

/// An unknown client or server name, with the valid ones.
fn unknown(kind: &str, name: &str, choices: &str) -> SelectError {
    SelectError {
        message: format!("no {kind} is called \"{name}\""),
        help: if choices.is_empty() {
            format!("this scenario has no {kind}s")
        } else {
            format!("the {kind}s are: {choices}")
        },
    }
}

/// The client groups, each with its first host's name.
fn client_choices(groups: &[(String, u32)]) -> String {
    groups
        .iter()
        .map(|(group, count)| {
            if *count > 1 {
                format!("{group} (hosts {group}-1 to {group}-{count})")
            } else {
                format!("{group} (host {group}-1)")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SimTime;

    fn request(client_node: usize, outcome: Outcome, server: Option<usize>) -> RequestRecord {
        RequestRecord {
            client_node,
            client_seq: 0,
            start: SimTime::ZERO,
            end: SimTime::ZERO,
            outcome,
            server,
            status: None,
            remote_ip: None,
            reused_connection: false,
        }
    }

    /// Picks from: pc-1 ok (web1), pc-2 timeout, pc-1 ok (web2), phone-1 ok (web1).
    fn choose(selector: Selector) -> Result<usize, SelectError> {
        let nodes = ["pc-1", "pc-2", "phone-1"].map(String::from);
        let servers = ["web1", "web2"].map(String::from);
        let records = [
            request(0, Outcome::Ok, Some(0)),
            request(1, Outcome::Timeout, None),
            request(0, Outcome::Ok, Some(1)),
            request(2, Outcome::Ok, Some(0)),
        ];
        let requests: Vec<&RequestRecord> = records.iter().collect();
        let names = Names {
            nodes: &nodes,
            servers: &servers,
            server_addrs: &[],
            segments: &[],
        };
        let groups = [("pc".to_string(), 2), ("phone".to_string(), 1)];
        select(&requests, &names, &groups, &selector)
    }

    #[test]
    fn a_group_counts_the_requests_of_all_its_hosts() {
        let nth = |name: &str, nth| {
            choose(Selector::Client {
                name: name.to_string(),
                nth,
            })
        };
        assert_eq!(nth("pc", 2), Ok(1));
        assert_eq!(nth("pc-1", 2), Ok(2));
        assert_eq!(nth("phone", 1), Ok(3));
        let beyond = nth("pc", 4).unwrap_err();
        assert_eq!(beyond.help, "use --nth 1 to --nth 3");
        let unknown = nth("tablet", 1).unwrap_err();
        assert!(
            unknown
                .help
                .contains("pc (hosts pc-1 to pc-2), phone (host phone-1)")
        );
        assert_eq!(nth("pc", 0).unwrap_err().message, "--nth counts from 1");
    }

    #[test]
    fn servers_ids_and_the_first_failure() {
        let server = |name: &str, nth| {
            choose(Selector::Server {
                name: name.to_string(),
                nth,
            })
        };
        assert_eq!(server("web1", 2), Ok(3));
        assert!(server("web9", 1).unwrap_err().help.contains("web1, web2"));
        assert_eq!(choose(Selector::FirstFailed), Ok(1));
        assert_eq!(choose(Selector::Request(3)), Ok(3));
        assert_eq!(
            choose(Selector::Request(4)).unwrap_err().help,
            "request ids go from 0 to 3"
        );
    }
}
