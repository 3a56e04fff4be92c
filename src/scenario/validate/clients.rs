//! *Client groups*: how many hosts, their addresses, the URL they fetch, how they resolve it,
//! and the workload that drives them.

use std::net::Ipv4Addr;

use super::addresses::{not_host_address, not_unicast};
use super::checker::shorten;
use super::checker::{Checker, Role};
use super::limits;
use super::names::{DNS_NAME_RULE, check_dns_name};
use super::web_server::{PATH_HELP, path_problem};
use crate::app::dns::stub::CachePolicy;
use crate::scenario::diagnostic::nearest;
use crate::scenario::format::{
    ClientCacheFile, ClientDnsFile, ClientsFile, DistributionFile, OriginsFile, PopularityFile,
    WorkloadFile,
};
use crate::scenario::model::{
    ClientDnsSpec, InterfaceSpec, NodeSpec, Url, WorkloadKind, WorkloadSpec,
};
use crate::scenario::spans::Step;
use crate::sim::SimDuration;

impl Checker<'_> {
    /// A `Clients` group: how many hosts, where they plug in and which addresses they take,
    /// their gateway, what they fetch and how long they wait for it, how they resolve names,
    /// their workload and origins. Its size was checked against [`limits::MAX_HOSTS`] already.
    pub fn clients(&mut self, group: &ClientsFile) -> Option<NodeSpec> {
        let name = group.name.as_str();
        let anchor = Some(name);
        let count = self.count(
            group.count.unwrap_or(1),
            "count",
            anchor,
            1,
            limits::MAX_HOSTS as u32,
        );
        let segment = self.client_segment(group, anchor);
        let cidr = self.cidr(&group.first_ip, anchor);
        let cidr = cidr.filter(|&(first, prefix_len)| self.client_range(group, first, prefix_len));
        let gateway = self.client_gateway(group, cidr, count);
        let url = self.url(&group.url, group.dns.is_some(), anchor);
        self.url_paths(&group.paths, anchor);
        let (timeout, connect_timeout) = self.client_timeouts(group, anchor);
        let dns = group.dns.as_ref().and_then(|d| self.client_dns(d, anchor));
        let workload = self.workload(&group.workload, count, anchor);
        let origins = group
            .origins
            .as_ref()
            .map(|o| self.origins(o, group, anchor))
            .unwrap_or_default();
        let cookie_bytes = group.cookie.as_deref().map_or(0, |text| {
            self.size(Some(text), "0B", limits::COOKIE_SIZE, anchor)
        });
        // A group without its segment, its addresses or its URL cannot be built (its other
        // fields were checked all the same, so every mistake is reported at once).
        let (segment, (first_ip, prefix_len), url) = (segment?, cidr?, url?);
        self.attach_counts[segment] += count as usize;
        Some(NodeSpec::Clients {
            name: name.to_string(),
            count,
            segment,
            first_ip,
            prefix_len,
            gateway,
            url,
            workload,
            timeout,
            connect_timeout,
            dns,
            paths: group.paths.clone(),
            keep_alive: group.keep_alive.unwrap_or(false),
            cookie_bytes,
            origins,
        })
    }

    /// The segment the group's hosts plug into, by index; `None`, reported, when the scenario
    /// has no segment of that name.
    fn client_segment(&mut self, group: &ClientsFile, anchor: Option<&str>) -> Option<usize> {
        let segment = self.segments.get(&group.attach).copied();
        if segment.is_none() {
            self.unknown_segment(&group.attach, anchor);
        }
        segment
    }

    /// The group's default gateway, when it has one: a router's address on the subnet of the
    /// hosts' addresses (`cidr`, when they were accepted), and none of the `count` hosts'
    /// own addresses.
    fn client_gateway(
        &mut self,
        group: &ClientsFile,
        cidr: Option<(Ipv4Addr, u8)>,
        count: u32,
    ) -> Option<Ipv4Addr> {
        let text = group.gateway.as_deref()?;
        let name = group.name.as_str();
        // The hosts' subnet, seen as the interface the gateway must be on; its segment does
        // not matter to the gateway.
        let iface = cidr.map(|(ip, prefix_len)| InterfaceSpec {
            segment: 0,
            ip,
            prefix_len,
            mac: None,
        });
        let gateway = self.gateway(Some(text), iface.as_ref(), name)?;
        if let Some((first, _)) = cidr
            && (u32::from(first)..u32::from(first) + count).contains(&u32::from(gateway))
        {
            self.at_value(
                text,
                Some(name),
                format!("gateway {gateway} is one of the group's own hosts"),
                "the gateway is the router's address on the clients' subnet",
            );
        }
        Some(gateway)
    }

    /// How long a host waits for a whole request (`timeout`, 5 s by default) and, when given,
    /// for the connection alone (`connect_timeout`), which must be the shorter of the two to
    /// ever fire.
    fn client_timeouts(
        &mut self,
        group: &ClientsFile,
        anchor: Option<&str>,
    ) -> (SimDuration, Option<SimDuration>) {
        let timeout = self.duration(group.timeout.as_deref(), "5s", limits::TIMEOUT, anchor);
        let connect_timeout =
            self.opt_duration(group.connect_timeout.as_deref(), limits::TIMEOUT, anchor);
        if let Some(connect) = connect_timeout
            && connect >= timeout
        {
            self.at_value(
                group.connect_timeout.as_deref().unwrap_or_default(),
                anchor,
                format!("connect_timeout {connect} is not shorter than timeout {timeout}, so it can never fire"),
                "connect_timeout limits the handshake alone: make it shorter than the whole request's timeout",
            );
        }
        (timeout, connect_timeout)
    }

    /// How the group resolves names with DNS: the server it asks, a unicast address, and how
    /// long its hosts keep answers. `None` when the server's address was refused (then the
    /// cache policy is not read).
    fn client_dns(&mut self, d: &ClientDnsFile, anchor: Option<&str>) -> Option<ClientDnsSpec> {
        // The cache policy is checked even when the server's address is refused.
        let server = self.unicast(&d.server, anchor);
        let policy = match &d.cache {
            None | Some(ClientCacheFile::HonorTtl) => CachePolicy::HonorTtl,
            Some(ClientCacheFile::NoCache) => CachePolicy::NoCache,
            Some(ClientCacheFile::Forever) => CachePolicy::Forever,
            Some(ClientCacheFile::Hold(t)) => {
                CachePolicy::Hold(self.duration(Some(t), "0s", limits::TTL, anchor))
            }
        };
        Some(ClientDnsSpec {
            server: server?,
            policy,
            try_next: d.try_next.unwrap_or(false),
        })
    }

    /// A group's `origins`: consecutive unicast addresses, each with its popularity weight.
    fn origins(
        &mut self,
        o: &OriginsFile,
        group: &ClientsFile,
        anchor: Option<&str>,
    ) -> Vec<(Ipv4Addr, f64)> {
        self.within(&[Step::Field("origins")], |c| {
            let count = c.count(o.count, "count", anchor, 1, limits::MAX_ORIGINS);
            let paths = group.paths.len().max(1) as u64;
            if u64::from(count) * paths > u64::from(limits::MAX_ORIGINS) {
                c.at_field(
                    "count",
                    anchor,
                    format!(
                        "{count} origins with {paths} paths each make more than {} objects",
                        limits::MAX_ORIGINS
                    ),
                    "use fewer origins or fewer paths",
                );
                return Vec::new();
            }
            if group.keep_alive == Some(true) {
                c.at_field(
                    "count",
                    anchor,
                    "a group with `origins` does not keep connections open".into(),
                    "each request may go to another origin: remove keep_alive",
                );
            }
            let exponent = match o.popularity {
                None | Some(PopularityFile::Uniform) => 0.0,
                Some(PopularityFile::Zipf(s)) => {
                    if !(0.0..=10.0).contains(&s) {
                        c.at_field(
                            "popularity",
                            anchor,
                            format!("Zipf exponent {s} is outside 0 to 10"),
                            "web popularity follows Zipf(1.0) roughly; 0 is uniform",
                        );
                        return Vec::new();
                    }
                    s
                }
            };
            let Some(first) = c.unicast(&o.first, anchor) else {
                return Vec::new();
            };
            let last = u64::from(u32::from(first)) + u64::from(count) - 1;
            if last > u64::from(u32::MAX) || not_unicast(Ipv4Addr::from(last as u32)).is_some() {
                c.at_value(
                    &o.first,
                    anchor,
                    format!("{count} origins from {first} run past the unicast addresses"),
                    "start lower, such as 198.51.100.1",
                );
                return Vec::new();
            }
            (0..count)
                .map(|k| {
                    let weight = 1.0 / f64::from(k + 1).powf(exponent);
                    (Ipv4Addr::from(u32::from(first) + k), weight)
                })
                .collect()
        })
    }

    /// The group's hosts take `count` consecutive addresses from `first`: all inside the
    /// subnet, all host addresses, none taken. Claims them; returns whether they are fine.
    fn client_range(&mut self, group: &ClientsFile, first: Ipv4Addr, prefix_len: u8) -> bool {
        let name = group.name.as_str();
        let count = group.count.unwrap_or(1).clamp(1, limits::MAX_HOSTS as u32);
        let mask = crate::node::prefix_mask(prefix_len);
        let last = u32::from(first).saturating_add(count - 1);
        if last & mask != u32::from(first) & mask {
            self.at_value(
                &group.first_ip,
                Some(name),
                format!("{count} hosts starting at {first} do not fit in {first}/{prefix_len}"),
                "start lower in the subnet, use a shorter prefix, or fewer hosts",
            );
            return false;
        }
        for k in 0..count {
            let ip = Ipv4Addr::from(u32::from(first) + k);
            let host = format!("{name}-{}", k + 1);
            if let Some(problem) = not_host_address(ip, prefix_len) {
                self.at_value(
                    &group.first_ip,
                    Some(name),
                    format!("address {ip} of client host \"{host}\" {problem}"),
                    "start the group at a host address, and keep its last host below the broadcast address",
                );
                return false;
            }
            self.claim_address(ip, &group.first_ip, &host, Role::ClientHost);
        }
        true
    }

    /// The URL the clients fetch: its host must be an address, a `hosts` name, or resolvable
    /// by the group's DNS server.
    fn url(&mut self, text: &str, has_dns: bool, anchor: Option<&str>) -> Option<Url> {
        let url = match parse_url(text) {
            Ok(url) => url,
            Err(e) => {
                self.at_value(
                    text,
                    anchor,
                    e,
                    "write it like \"http://www/index.html\" or \"http://10.0.1.10:8080/\"",
                );
                return None;
            }
        };
        // Every problem of the URL points at the whole URL, where the student will look.
        let problem = if let Some(problem) = path_problem(&url.path) {
            Some((
                format!("the path of URL \"{}\" {problem}", shorten(text)),
                PATH_HELP.to_string(),
            ))
        } else if let Ok(ip) = url.host.parse::<Ipv4Addr>() {
            not_unicast(ip).map(|problem| {
                (
                    format!("the host of URL \"{}\", {ip}, {problem}", shorten(text)),
                    "use the address of a server or a VIP, or a name from `hosts`".to_string(),
                )
            })
        } else if let Err(problem) = check_dns_name(&url.host) {
            Some((
                format!("the host name of URL \"{}\" {problem}", shorten(text)),
                DNS_NAME_RULE.to_string(),
            ))
        } else if !self.hosts.contains_key(&url.host)
            && !self.broken_hosts.contains(&url.host)
            && !has_dns
        {
            let mut help =
                "use an IPv4 address, or add the name to the scenario's `hosts` table".to_string();
            if let Some(near) = nearest(&url.host, self.hosts.keys().map(String::as_str)) {
                help.push_str(&format!("; did you mean \"{near}\"?"));
            }
            Some((
                format!("cannot resolve host \"{}\" of the URL", url.host),
                help,
            ))
        } else {
            None
        };
        if let Some((message, help)) = problem {
            self.at_value(text, anchor, message, help);
        }
        Some(url)
    }

    /// A workload: what sends the requests (an open loop's rate, or a closed loop's users),
    /// when it stops (it must), and when it starts. `count` is the number of hosts.
    fn workload(&mut self, w: &WorkloadFile, count: u32, anchor: Option<&str>) -> WorkloadSpec {
        let (kind, requests, duration, start) = match w {
            WorkloadFile::OpenLoop {
                rate,
                requests,
                duration,
                start,
            } => (self.open_loop(*rate, anchor), *requests, duration, start),
            WorkloadFile::ClosedLoop {
                users,
                think_time,
                requests,
                duration,
                start,
            } => {
                let kind = self.closed_loop(*users, think_time.as_ref(), count, anchor);
                (kind, *requests, duration, start)
            }
        };
        WorkloadSpec {
            kind,
            requests,
            duration: self.workload_stop(requests, duration.as_deref(), anchor),
            start: self.start_time(start.as_deref(), anchor),
        }
    }

    /// An open loop: requests arrive at `rate` per second for the whole group, a positive
    /// number up to [`limits::MAX_RATE`].
    fn open_loop(&mut self, rate: f64, anchor: Option<&str>) -> WorkloadKind {
        if !(rate.is_finite() && rate > 0.0 && rate <= limits::MAX_RATE) {
            self.at_field(
                "rate",
                anchor,
                format!(
                    "rate {} is not a number of requests per second netlab can run",
                    super::checker::number(rate)
                ),
                format!(
                    "write a positive number up to {}, such as 50.0",
                    limits::MAX_RATE
                ),
            );
        }
        WorkloadKind::OpenLoop { rate }
    }

    /// A closed loop: `users` users on each of the `count` hosts (at least one each, at most
    /// [`limits::MAX_USERS`] in the group), each thinking for `think_time` (0 by default)
    /// between a response and its next request.
    fn closed_loop(
        &mut self,
        users: u32,
        think_time: Option<&DistributionFile>,
        count: u32,
        anchor: Option<&str>,
    ) -> WorkloadKind {
        let total = u64::from(users) * u64::from(count);
        if users == 0 {
            self.at_field(
                "users",
                anchor,
                "`users` is 0: nobody would send a request".into(),
                "give each host at least one user, such as users: 2",
            );
        } else if total > limits::MAX_USERS {
            self.at_field(
                "users",
                anchor,
                format!("{users} users on each of {count} hosts is {total} users in all"),
                format!(
                    "use at least 1 user per host and at most {} in the group",
                    limits::MAX_USERS
                ),
            );
        }
        let think_time = self.distribution(think_time, SimDuration::ZERO, anchor);
        WorkloadKind::ClosedLoop { users, think_time }
    }

    /// When a workload stops: after `requests` requests or after `duration` (at least 1 ms),
    /// whichever comes first; at least one of them must be given. Returns the duration.
    fn workload_stop(
        &mut self,
        requests: Option<u64>,
        duration: Option<&str>,
        anchor: Option<&str>,
    ) -> Option<SimDuration> {
        if let Some(n) = requests {
            self.count(n, "requests", anchor, 1, limits::MAX_REQUESTS);
        }
        if requests.is_none() && duration.is_none() {
            self.at_field(
                "workload",
                anchor,
                "this workload never ends".into(),
                "give `requests: N`, `duration: \"10s\"`, or both",
            );
        }
        duration.map(|d| {
            self.duration(
                Some(d),
                "0s",
                limits::Bounds {
                    min: "1ms",
                    max: limits::TIME.max,
                },
                anchor,
            )
        })
    }
}

/// Parses `http://host[:port][/path]`.
pub fn parse_url(text: &str) -> Result<Url, String> {
    let rest = text
        .strip_prefix("http://")
        .ok_or_else(|| format!("\"{text}\" does not start with http://"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.split_once(':') {
        Some((host, port)) => (
            host,
            port.parse::<u16>()
                .ok()
                .filter(|&p| p != 0)
                .ok_or_else(|| format!("\"{port}\" in \"{text}\" is not a port number"))?,
        ),
        None => (authority, 80),
    };
    // A final dot names the DNS root: "www." and "www" are the same name.
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.is_empty() {
        return Err(format!("\"{text}\" has no host name"));
    }
    Ok(Url {
        host: host.to_string(),
        port,
        path: path.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            parse_url("http://www/index.html").unwrap(),
            Url {
                host: "www".into(),
                port: 80,
                path: "/index.html".into()
            }
        );
        assert_eq!(parse_url("http://10.0.0.1:8080").unwrap().port, 8080);
        assert!(parse_url("ftp://x/").is_err());
        assert!(parse_url("http://x:0/").is_err());
    }
}
