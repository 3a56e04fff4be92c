//! *L7 balancers*: a reverse proxy's pools, the rules that choose a pool, its costs, and the
//! health checks of every pool's servers.

use super::checker::Checker;
use super::limits;
use crate::app::{Algorithm, Backend, Pool, ProxyConfig, RuleMatch};
use crate::scenario::diagnostic::nearest;
use crate::scenario::format::{AlgorithmFile, L7BalancerFile, PoolFile, RuleFile};
use crate::scenario::model::NodeSpec;
use crate::scenario::spans::Step;

impl Checker<'_> {
    /// An `L7Balancer`.
    pub fn l7_balancer(&mut self, l: &L7BalancerFile) -> Option<NodeSpec> {
        let name = l.name.as_str();
        let interface = self.single_interface(&l.interface, name);
        let gateway = self.gateway(l.gateway.as_deref(), interface.as_ref(), name);
        let config = self.proxy(l);
        // Every pool's checks, against each of its servers.
        let mut checks = Vec::new();
        for (p, (file, pool)) in l.pools.iter().zip(&config.pools).enumerate() {
            self.check_timing(&file.check_timing, Some(name));
            if !self.list_len(file.checks.len(), "checks", Some(name), limits::MAX_LIST) {
                continue;
            }
            for (s, server) in pool.servers.iter().enumerate() {
                for check in &file.checks {
                    let checker = self.checker(
                        check,
                        server.addr,
                        server.port,
                        &[&file.check_timing],
                        Some(name),
                    );
                    checks.push((p, s, checker));
                }
            }
        }
        Some(NodeSpec::L7Balancer {
            name: name.to_string(),
            interface: interface?,
            gateway,
            config,
            checks,
        })
    }

    /// The proxy itself: pools, rules naming pools, limits and costs.
    fn proxy(&mut self, l: &L7BalancerFile) -> ProxyConfig {
        let anchor = Some(l.name.as_str());
        let pools: Vec<Pool> = if self.list_len(l.pools.len(), "pools", anchor, limits::MAX_LIST) {
            l.pools
                .iter()
                .enumerate()
                .map(|(k, p)| {
                    self.within(&[Step::Field("pools"), Step::Item(k)], |c| {
                        c.pool(p, anchor)
                    })
                })
                .collect()
        } else {
            Vec::new()
        };
        let names: Vec<String> = pools.iter().map(|p| p.name.clone()).collect();
        for (k, pool) in pools.iter().enumerate() {
            if names[..k].contains(&pool.name) {
                self.at_value(
                    &pool.name,
                    anchor,
                    format!("pool name \"{}\" is used twice", pool.name),
                    "give every pool its own name: rules name the pool they send to",
                );
            }
        }
        let rules = if self.list_len(l.rules.len(), "rules", anchor, limits::MAX_LIST) {
            l.rules
                .iter()
                .enumerate()
                .filter_map(|(k, r)| {
                    let depth = self.depth();
                    self.enter_at(depth, &[Step::Field("rules"), Step::Item(k)]);
                    let rule = self.rule(l, r, &names, anchor);
                    self.leave(depth);
                    rule
                })
                .collect()
        } else {
            Vec::new()
        };
        let default_pool = self.pool_index(&names, &l.default_pool, anchor);
        ProxyConfig {
            port: self.port(l.port, 80, "port", anchor),
            pools,
            rules,
            default_pool,
            max_connections: self.count(
                l.max_connections.unwrap_or(256),
                "max_connections",
                anchor,
                1,
                limits::MAX_PROXY_CONNECTIONS,
            ),
            cost_per_request: self.duration(
                l.cost_per_request.as_deref(),
                "100us",
                limits::WAIT,
                anchor,
            ),
            cost_per_kib: self.duration(l.cost_per_kib.as_deref(), "5us", limits::WAIT, anchor),
            keep_alive: self.opt_duration(l.keep_alive.as_deref(), limits::TIMEOUT, anchor),
            reuse_server_connections: l.reuse_server_connections.unwrap_or(false),
        }
    }

    /// One rule: exactly one of a path prefix and a Host, naming a pool that exists.
    fn rule(
        &mut self,
        l: &L7BalancerFile,
        r: &RuleFile,
        names: &[String],
        anchor: Option<&str>,
    ) -> Option<(RuleMatch, usize)> {
        let pool = self.pool_index(names, &r.pool, anchor);
        let rule = match (&r.path_prefix, &r.host) {
            (Some(prefix), None) => {
                self.url_path(prefix, anchor);
                RuleMatch::PathPrefix(prefix.clone())
            }
            (None, Some(host)) => {
                self.dns_name(host, "Host", anchor);
                RuleMatch::Host(host.clone())
            }
            _ => {
                self.at_value(
                    &r.pool,
                    anchor,
                    "a rule needs exactly one of `path_prefix` and `host`".into(),
                    "write (path_prefix: \"/static/\", pool: \"...\") or (host: \"img\", pool: \"...\")",
                );
                return None;
            }
        };
        self.shadowed_rule(&l.rules, r, anchor);
        Some((rule, pool))
    }

    /// Reports rule `r` if an earlier rule matches everything it matches: rules are tried in
    /// order, and the first that matches wins.
    fn shadowed_rule(&mut self, rules: &[RuleFile], r: &RuleFile, anchor: Option<&str>) {
        let earlier = rules.iter().take_while(|other| !std::ptr::eq(*other, r));
        let shadow = earlier.into_iter().find(|e| {
            match (&e.path_prefix, &r.path_prefix, &e.host, &r.host) {
                (Some(before), Some(now), None, None) => now.starts_with(before.as_str()),
                (None, None, Some(before), Some(now)) => before.eq_ignore_ascii_case(now),
                _ => false,
            }
        });
        if let Some(shadow) = shadow {
            let text = r
                .path_prefix
                .as_deref()
                .or(r.host.as_deref())
                .unwrap_or_default();
            self.at_value(
                text,
                anchor,
                format!("this rule can never match: an earlier rule for pool \"{}\" takes all its requests", shadow.pool),
                "rules are tried in order: put the more specific rule first",
            );
        }
    }

    /// One pool: a valid name, its servers and algorithm.
    fn pool(&mut self, p: &PoolFile, anchor: Option<&str>) -> Pool {
        // A pool may be empty: as in HAProxy, the proxy then answers its requests with 503
        // itself (a lint says so, since it is more often a slip than a lesson).
        self.name(&p.name, "pool", anchor);
        let servers = if self.list_len(p.servers.len(), "servers", anchor, limits::MAX_LIST) {
            let depth = self.depth();
            let servers = p
                .servers
                .iter()
                .enumerate()
                .filter_map(|(k, s)| {
                    self.enter_at(depth, &[Step::Field("servers"), Step::Item(k)]);
                    Some(Backend {
                        addr: self.unicast(&s.ip, anchor)?,
                        port: self.port(s.port, 80, "port", anchor),
                        weight: self.count(
                            s.weight.unwrap_or(1),
                            "weight",
                            anchor,
                            0,
                            limits::MAX_WEIGHT,
                        ),
                        backup: s.backup.unwrap_or(false),
                    })
                })
                .collect();
            self.leave(depth);
            servers
        } else {
            Vec::new()
        };
        Pool {
            name: p.name.clone(),
            servers,
            algorithm: match p.algorithm.unwrap_or(AlgorithmFile::RoundRobin) {
                AlgorithmFile::RoundRobin => Algorithm::RoundRobin,
                AlgorithmFile::WeightedRoundRobin => Algorithm::WeightedRoundRobin,
                AlgorithmFile::LeastConn => Algorithm::LeastConn,
                AlgorithmFile::Source => Algorithm::Source,
                AlgorithmFile::Uri => Algorithm::Uri,
            },
        }
    }

    /// The index of pool `name`, or a report with the nearest name.
    fn pool_index(&mut self, names: &[String], name: &str, anchor: Option<&str>) -> usize {
        names.iter().position(|n| n == name).unwrap_or_else(|| {
            let mut help = format!("the pools are: {}", names.join(", "));
            if let Some(near) = nearest(name, names.iter().map(String::as_str)) {
                help.push_str(&format!("; did you mean \"{near}\"?"));
            }
            self.at_value(name, anchor, format!("unknown pool \"{name}\""), help);
            0
        })
    }
}
