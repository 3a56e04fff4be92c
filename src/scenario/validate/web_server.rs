//! *Web servers*: workers, backlog and its `somaxconn` cap, service time, response size, paths, the loopback
//! addresses direct routing needs, the tunnel IPVS tunnelling needs, keep-alive.

use std::net::Ipv4Addr;

use super::checker::Checker;
use super::limits;
use crate::node::tunnel::{RpFilter, TunnelConfig};
use crate::scenario::format::{RpFilterFile, TunnelFile, WebServerFile};
use crate::scenario::model::NodeSpec;
use crate::scenario::spans::Step;
use crate::sim::SimDuration;

impl Checker<'_> {
    /// A `WebServer`.
    pub fn web_server(&mut self, w: &WebServerFile) -> Option<NodeSpec> {
        let name = w.name.as_str();
        let anchor = Some(name);
        let interface = self.single_interface(&w.interface, name);
        let gateway = self.gateway(w.gateway.as_deref(), interface.as_ref(), name);
        let port = self.port(w.port, 80, "port", anchor);
        let workers = self.count(
            w.workers.unwrap_or(16),
            "workers",
            anchor,
            1,
            limits::MAX_WORKERS,
        );
        let backlog = self.count(
            w.backlog.unwrap_or(16),
            "backlog",
            anchor,
            0,
            limits::MAX_BACKLOG,
        );
        let somaxconn = self.count(
            w.somaxconn.unwrap_or(limits::DEFAULT_SOMAXCONN),
            "somaxconn",
            anchor,
            0,
            limits::MAX_SOMAXCONN,
        );
        // Linux: the accept queue holds min(listen backlog, somaxconn).
        let backlog = backlog.min(somaxconn);
        let response_bytes = self.size(
            w.response_size.as_deref(),
            "4KiB",
            limits::RESPONSE_SIZE,
            anchor,
        );
        let paths = w.paths.clone().unwrap_or_else(|| vec!["/".to_string()]);
        if paths.is_empty() {
            self.at_field(
                "paths",
                anchor,
                format!("web server \"{name}\" serves no path: every request would get 404"),
                "leave `paths` out to serve everything, or list prefixes such as [\"/\"]",
            );
        }
        if self.list_len(paths.len(), "paths", anchor, limits::MAX_LIST) {
            for p in &paths {
                self.url_path(p, anchor);
            }
        }
        let loopback: Vec<Ipv4Addr> =
            if self.list_len(w.loopback.len(), "loopback", anchor, limits::MAX_LOOPBACK) {
                w.loopback
                    .iter()
                    .filter_map(|ip| self.unicast(ip, anchor))
                    .collect()
            } else {
                Vec::new()
            };
        let tunnel = w.tunnel.as_ref().map(|t| self.tunnel(t, anchor));
        let extra = w.loopback.len() + w.tunnel.as_ref().map_or(0, |t| t.addresses.len());
        if w.loopback.len() <= limits::MAX_LOOPBACK && extra > limits::MAX_LOOPBACK {
            self.at_field(
                "tunnel",
                anchor,
                format!(
                    "{extra} loopback and tunnel addresses together; a host holds at most {} besides its own",
                    limits::MAX_LOOPBACK
                ),
                "smoltcp's interface holds 8 addresses: keep the VIPs this server needs, on lo or tunl0",
            );
        }
        let service_time =
            self.distribution(w.service_time.as_ref(), SimDuration::from_millis(1), anchor);
        let keep_alive = self.opt_duration(w.keep_alive.as_deref(), limits::TIMEOUT, anchor);
        let smtp_port = w
            .smtp_port
            .map(|p| self.port(Some(p), 25, "smtp_port", anchor));
        let cache = w.transparent_cache.as_ref().map(|c| {
            let capacity = self.count(c.capacity, "capacity", anchor, 1, limits::MAX_CACHE_OBJECTS);
            (
                capacity,
                self.port(c.origin_port, 80, "origin_port", anchor),
            )
        });
        if cache.is_some() && w.abort_on_overflow.is_some() {
            self.at_field(
                "abort_on_overflow",
                anchor,
                format!("cache \"{name}\" does not model the accept queue"),
                "netlab's transparent cache always resets a SYN when its slots are full: remove abort_on_overflow",
            );
        }
        if cache.is_some() && keep_alive.is_some() {
            self.at_field(
                "keep_alive",
                anchor,
                format!("cache \"{name}\" does not keep connections open"),
                "netlab's transparent cache closes every connection: remove keep_alive",
            );
        }
        Some(NodeSpec::WebServer {
            name: name.to_string(),
            interface: interface?,
            gateway,
            port,
            workers,
            backlog,
            abort_on_overflow: w.abort_on_overflow.unwrap_or(false),
            service_time,
            response_bytes,
            paths,
            loopback,
            arp_ignore: w.arp_ignore.unwrap_or(true),
            tunnel,
            smtp_port,
            keep_alive,
            cache,
        })
    }

    /// A real server's `tunl0`: its addresses, `rp_filter`, and an MSS clamp that leaves room
    /// for the outer header (at most 1460, at least IPv4's minimum of 536).
    fn tunnel(&mut self, t: &TunnelFile, anchor: Option<&str>) -> TunnelConfig {
        self.within(&[Step::Field("tunnel")], |c| {
            let addresses =
                if c.list_len(t.addresses.len(), "addresses", anchor, limits::MAX_VIPS) {
                    t.addresses
                        .iter()
                        .filter_map(|ip| c.unicast(ip, anchor))
                        .collect()
                } else {
                    Vec::new()
                };
            if t.addresses.is_empty() {
                c.at_field(
                    "addresses",
                    anchor,
                    "the tunnel holds no address: unwrapped packets for the VIP would find no taker"
                        .to_string(),
                    "list the VIP the director tunnels to this server, such as addresses: [\"10.0.1.100\"]",
                );
            }
            let clamp_mss = t
                .clamp_mss
                .map(|mss| c.count(mss, "clamp_mss", anchor, 536, 1460));
            TunnelConfig {
                addresses,
                rp_filter: match t.rp_filter {
                    RpFilterFile::Off => RpFilter::Off,
                    RpFilterFile::Loose => RpFilter::Loose,
                    RpFilterFile::Strict => RpFilter::Strict,
                },
                clamp_mss,
            }
        })
    }

    /// A TCP port: 1 to 65535 (port 0 means "any" to a socket, and nobody can connect to it).
    pub fn port(
        &mut self,
        port: Option<u16>,
        default: u16,
        field: &str,
        anchor: Option<&str>,
    ) -> u16 {
        let port = port.unwrap_or(default);
        if port == 0 {
            self.at_field(
                field,
                anchor,
                format!("`{field}` is 0, which no client can connect to"),
                format!("use a port from 1 to 65535, such as {default}"),
            );
            return default;
        }
        port
    }

    /// A URL path or path prefix: starts with `/`, printable ASCII without spaces or `#`.
    pub fn url_path(&mut self, path: &str, anchor: Option<&str>) {
        if let Some(problem) = path_problem(path) {
            self.at_value(
                path,
                anchor,
                format!("path \"{}\" {problem}", super::checker::shorten(path)),
                PATH_HELP,
            );
        }
    }
}

/// How to write a path, as the help line says it.
pub(super) const PATH_HELP: &str = "write paths like \"/static/\": printable ASCII, no spaces";

/// What is wrong with a URL path, if anything.
pub(super) fn path_problem(path: &str) -> Option<String> {
    if !path.starts_with('/') {
        Some("does not start with /".to_string())
    } else if path.len() > limits::MAX_TEXT_LEN {
        Some(format!(
            "is longer than {} characters",
            limits::MAX_TEXT_LEN
        ))
    } else {
        path.chars()
            .find(|c| !c.is_ascii_graphic() || *c == '#')
            .map(|bad| match bad {
                ' ' => "contains a space (write it as %20)".to_string(),
                '#' => "contains `#`, which starts a fragment a browser never sends".to_string(),
                c => format!("contains the character U+{:04X}", c as u32),
            })
    }
}
