//! *Web servers*: workers, backlog and its `somaxconn` cap, service time, response size, paths, the loopback
//! addresses direct routing needs, the tunnel IPVS tunnelling needs, keep-alive, and the
//! transparent cache a web server can run as.

use std::net::Ipv4Addr;

use super::checker::Checker;
use super::limits;
use crate::node::tunnel::{RpFilter, TunnelConfig};
use crate::scenario::format::{RpFilterFile, TunnelFile, WebServerFile};
use crate::scenario::model::NodeSpec;
use crate::scenario::spans::Step;
use crate::sim::SimDuration;

impl Checker<'_> {
    /// A `WebServer`: where it sits (interface, gateway, port), how many requests it takes at
    /// once, what it answers (response size, paths, service time), the VIPs it holds for a
    /// director in front of it, and its extras (keep-alive, an SMTP greeter, a cache).
    pub fn web_server(&mut self, w: &WebServerFile) -> Option<NodeSpec> {
        let name = w.name.as_str();
        let anchor = Some(name);
        let interface = self.single_interface(&w.interface, name);
        let gateway = self.gateway(w.gateway.as_deref(), interface.as_ref(), name);
        let port = self.port(w.port, 80, "port", anchor);
        let (workers, backlog) = self.workers_and_backlog(w, anchor);
        let response_bytes = self.size(
            w.response_size.as_deref(),
            "4KiB",
            limits::RESPONSE_SIZE,
            anchor,
        );
        let paths = self.served_paths(w, anchor);
        let (loopback, tunnel) = self.vip_addresses(w, anchor);
        let service_time =
            self.distribution(w.service_time.as_ref(), SimDuration::from_millis(1), anchor);
        let keep_alive = self.opt_duration(w.keep_alive.as_deref(), limits::TIMEOUT, anchor);
        let smtp_port = w
            .smtp_port
            .map(|p| self.port(Some(p), 25, "smtp_port", anchor));
        let cache = self.transparent_cache(w, keep_alive, anchor);
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

    /// How many connections the server holds at once: `workers` serving requests (16 by
    /// default), and an accept queue of `backlog` more waiting for one (16 by default), which
    /// Linux caps at `somaxconn`. Returns the workers and the backlog once capped.
    fn workers_and_backlog(&mut self, w: &WebServerFile, anchor: Option<&str>) -> (u32, u32) {
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
        (workers, backlog.min(somaxconn))
    }

    /// The path prefixes the server answers with 200 (all of them, `["/"]`, by default): at
    /// least one, or every request gets 404, and each a well-formed path.
    fn served_paths(&mut self, w: &WebServerFile, anchor: Option<&str>) -> Vec<String> {
        let name = w.name.as_str();
        let paths = w.paths.clone().unwrap_or_else(|| vec!["/".to_string()]);
        if paths.is_empty() {
            self.at_field(
                "paths",
                anchor,
                format!("web server \"{name}\" serves no path: every request would get 404"),
                "leave `paths` out to serve everything, or list prefixes such as [\"/\"]",
            );
        }
        self.url_paths(&paths, anchor);
        paths
    }

    /// The VIPs a real server holds besides its own address, for the director in front of it:
    /// on `lo` for direct routing, on `tunl0` for tunnelling, and no more of both together
    /// than one interface holds. Returns the loopback addresses that are unicast addresses
    /// (none when the list is too long) and the tunnel.
    fn vip_addresses(
        &mut self,
        w: &WebServerFile,
        anchor: Option<&str>,
    ) -> (Vec<Ipv4Addr>, Option<TunnelConfig>) {
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
        self.address_room(w, anchor);
        (loopback, tunnel)
    }

    /// The loopback and tunnel addresses together fit beside the server's own address in
    /// smoltcp's interface. A `loopback` list too long on its own was reported already.
    fn address_room(&mut self, w: &WebServerFile, anchor: Option<&str>) {
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
    }

    /// A transparent cache's memory (`capacity`, in objects) and its origins' port (80 by
    /// default), when the server runs as one. The server's `keep_alive`, already read, and
    /// `abort_on_overflow` are refused beside it: see [`Checker::not_for_a_cache`].
    fn transparent_cache(
        &mut self,
        w: &WebServerFile,
        keep_alive: Option<SimDuration>,
        anchor: Option<&str>,
    ) -> Option<(u32, u16)> {
        let c = w.transparent_cache.as_ref()?;
        let capacity = self.count(c.capacity, "capacity", anchor, 1, limits::MAX_CACHE_OBJECTS);
        let origin_port = self.port(c.origin_port, 80, "origin_port", anchor);
        self.not_for_a_cache(w, keep_alive, anchor);
        Some((capacity, origin_port))
    }

    /// What a web server has and netlab's transparent cache does not: an accept queue that
    /// can reset a SYN when full (`abort_on_overflow`), and connections kept open
    /// (`keep_alive`, when it was read without a problem).
    fn not_for_a_cache(
        &mut self,
        w: &WebServerFile,
        keep_alive: Option<SimDuration>,
        anchor: Option<&str>,
    ) {
        let name = w.name.as_str();
        if w.abort_on_overflow.is_some() {
            self.at_field(
                "abort_on_overflow",
                anchor,
                format!("cache \"{name}\" does not model the accept queue"),
                "netlab's transparent cache always resets a SYN when its slots are full: remove abort_on_overflow",
            );
        }
        if keep_alive.is_some() {
            self.at_field(
                "keep_alive",
                anchor,
                format!("cache \"{name}\" does not keep connections open"),
                "netlab's transparent cache closes every connection: remove keep_alive",
            );
        }
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

    /// A list of URL paths (`paths`): at most [`limits::MAX_LIST`] of them, each checked by
    /// [`Checker::url_path`] when the list is not too long.
    pub fn url_paths(&mut self, paths: &[String], anchor: Option<&str>) {
        if self.list_len(paths.len(), "paths", anchor, limits::MAX_LIST) {
            for path in paths {
                self.url_path(path, anchor);
            }
        }
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
