//! *Health checks*: keepalived's checkers (`PING_CHECK`, `TCP_CHECK`, `HTTP_GET`, `SSL_GET`,
//! `SMTP_CHECK`, `MISC_CHECK`) and their timing, inherited from the real server, then the
//! virtual service, then keepalived 2.2.7's defaults.

use std::net::Ipv4Addr;

use super::checker::Checker;
use super::limits;
use crate::app::{CheckKind, CheckTiming, CheckerConfig};
use crate::scenario::format::{CheckFile, CheckTimingFile};
use crate::sim::{SimDuration, SimTime};

impl Checker<'_> {
    /// One checker of `target`, whose service port is `rs_port`. `timings` are searched in
    /// order for each timing field.
    pub fn checker(
        &mut self,
        check: &CheckFile,
        target: Ipv4Addr,
        rs_port: u16,
        timings: &[&CheckTimingFile],
        anchor: Option<&str>,
    ) -> CheckerConfig {
        let kind = self.check_kind(check, rs_port, anchor);
        // keepalived's per-checker defaults (check_data.c): MISC_CHECK retries 0 times, and
        // HTTP_GET/SSL_GET wait 3 s between retries instead of 1 s.
        let is_http = matches!(kind, CheckKind::Http { .. });
        let first =
            |pick: fn(&CheckTimingFile) -> Option<String>| timings.iter().find_map(|t| pick(t));
        let delay_loop = self.duration(
            first(|t| t.delay_loop.clone()).as_deref(),
            "60s",
            limits::DELAY_LOOP,
            anchor,
        );
        let connect_timeout = self.duration(
            first(|t| t.connect_timeout.clone()).as_deref(),
            "5s",
            limits::TIMEOUT,
            anchor,
        );
        let delay_before_retry = self.duration(
            first(|t| t.delay_before_retry.clone()).as_deref(),
            if is_http { "3s" } else { "1s" },
            limits::WAIT,
            anchor,
        );
        let warmup = match first(|t| t.warmup.clone()) {
            Some(w) => self.duration(Some(&w), "0s", limits::WAIT, anchor),
            None => delay_loop,
        };
        let retry = timings.iter().find_map(|t| t.retry).unwrap_or(
            if matches!(kind, CheckKind::Misc { .. }) {
                0
            } else {
                1
            },
        );
        let retry = self.count(retry, "retry", anchor, 0, limits::MAX_RETRY);
        CheckerConfig {
            kind,
            target,
            timing: CheckTiming {
                delay_loop,
                connect_timeout,
                retry,
                delay_before_retry,
                warmup,
            },
            alpha: timings.iter().find_map(|t| t.alpha).unwrap_or(false),
            rise: 1,
        }
    }

    /// A `check_timing` block on its own, checked even when no checker inherits it.
    pub fn check_timing(&mut self, t: &CheckTimingFile, anchor: Option<&str>) {
        self.opt_duration(t.delay_loop.as_deref(), limits::DELAY_LOOP, anchor);
        self.opt_duration(t.connect_timeout.as_deref(), limits::TIMEOUT, anchor);
        self.opt_duration(t.delay_before_retry.as_deref(), limits::WAIT, anchor);
        self.opt_duration(t.warmup.as_deref(), limits::WAIT, anchor);
        if let Some(retry) = t.retry {
            self.count(retry, "retry", anchor, 0, limits::MAX_RETRY);
        }
    }

    /// What the checker does: its kind, then what that kind needs (a port, a request and the
    /// answers that mean healthy, a HELO name, a scripted timeline).
    pub(super) fn check_kind(
        &mut self,
        check: &CheckFile,
        rs_port: u16,
        anchor: Option<&str>,
    ) -> CheckKind {
        match check {
            CheckFile::PingCheck => CheckKind::Ping,
            CheckFile::TcpCheck { port } => CheckKind::Tcp {
                port: self.port(*port, rs_port, "port", anchor),
            },
            CheckFile::HttpGet { path, status, port } => {
                let request = HttpRequest::new(path, status, *port);
                self.http_check(request, None, rs_port, anchor)
            }
            CheckFile::SslGet {
                path,
                status,
                port,
                handshake,
            } => {
                // The handshake is read first, so its problem is reported before the request's.
                let handshake = self.duration(handshake.as_deref(), "2ms", limits::WAIT, anchor);
                let request = HttpRequest::new(path, status, *port);
                self.http_check(request, Some(handshake), rs_port, anchor)
            }
            CheckFile::SmtpCheck { port, helo_name } => {
                self.smtp_check(*port, helo_name.as_deref(), anchor)
            }
            CheckFile::MiscCheck { results } => self.misc_check(results, anchor),
        }
    }

    /// `HTTP_GET`, or `SSL_GET` when it has a `handshake` time: the path to request (`/` by
    /// default), the status codes that mean healthy, and the port (the real server's,
    /// `rs_port`, by default).
    fn http_check(
        &mut self,
        request: HttpRequest<'_>,
        handshake: Option<SimDuration>,
        rs_port: u16,
        anchor: Option<&str>,
    ) -> CheckKind {
        let path = request.path.unwrap_or("/").to_string();
        self.url_path(&path, anchor);
        let status = self.status_codes(request.status, anchor);
        CheckKind::Http {
            port: self.port(request.port, rs_port, "port", anchor),
            path,
            status,
            handshake,
        }
    }

    /// The status codes that mean healthy, as ranges: each code listed (at least one, each
    /// from 100 to 599), or 200 to 299 by default.
    fn status_codes(&mut self, codes: Option<&[u16]>, anchor: Option<&str>) -> Vec<(u16, u16)> {
        let Some(codes) = codes else {
            return vec![(200, 299)];
        };
        if codes.is_empty() {
            self.at_field(
                "status",
                anchor,
                "an empty `status` list accepts no answer".into(),
                "list the codes that mean healthy, such as [200]",
            );
        }
        for &code in codes {
            if !(100..=599).contains(&code) {
                self.at_field(
                    "status",
                    anchor,
                    format!("{code} is not an HTTP status code"),
                    "HTTP status codes run from 100 to 599, such as 200",
                );
            }
        }
        codes.iter().map(|&code| (code, code)).collect()
    }

    /// `SMTP_CHECK`: the name it sends with HELO (keepalived's own by default), which must be a
    /// DNS name, and the port (25 by default, whatever the real server's).
    fn smtp_check(
        &mut self,
        port: Option<u16>,
        helo_name: Option<&str>,
        anchor: Option<&str>,
    ) -> CheckKind {
        let helo = helo_name
            .unwrap_or("smtpchecker.keepalived.org")
            .to_string();
        self.dns_name(&helo, "HELO", anchor);
        CheckKind::Smtp {
            port: self.port(port, 25, "port", anchor),
            helo,
        }
    }

    /// `MISC_CHECK`: the script's results as a timeline of `(from, succeeds)` pairs, at least
    /// one, in time order. The order is checked only when every time was read.
    fn misc_check(&mut self, results: &[(String, bool)], anchor: Option<&str>) -> CheckKind {
        if results.is_empty() {
            self.at_field(
                "results",
                anchor,
                "a MISC_CHECK needs at least one result on its timeline".into(),
                "write what the script says from when, such as results: [(\"0s\", true), (\"20s\", false)]",
            );
        }
        let before = self.problems.len();
        let timeline = self.misc_timeline(results, anchor);
        let parsed = self.problems.len() == before;
        if parsed && timeline.windows(2).any(|pair| pair[0].0 >= pair[1].0) {
            self.at_field(
                "results",
                anchor,
                "a MISC_CHECK's results must be in time order, each later than the one before"
                    .into(),
                "sort the (time, result) pairs by time",
            );
        }
        CheckKind::Misc { timeline }
    }

    /// The times of a MISC_CHECK's `results`, read as times in the run; none when the list is
    /// too long.
    fn misc_timeline(
        &mut self,
        results: &[(String, bool)],
        anchor: Option<&str>,
    ) -> Vec<(SimTime, bool)> {
        if !self.list_len(results.len(), "results", anchor, limits::MAX_LIST) {
            return Vec::new();
        }
        results
            .iter()
            .map(|(at, ok)| {
                (
                    SimTime::ZERO + self.duration(Some(at), "0s", limits::TIME, anchor),
                    *ok,
                )
            })
            .collect()
    }
}

/// What an `HTTP_GET` or `SSL_GET` asks for, as the file gives it: the fields the two share.
struct HttpRequest<'a> {
    /// The path to request.
    path: Option<&'a str>,
    /// The status codes that mean healthy.
    status: Option<&'a [u16]>,
    /// The port to connect to.
    port: Option<u16>,
}

impl<'a> HttpRequest<'a> {
    /// The request of a check whose fields are `path`, `status` and `port`.
    fn new(path: &'a Option<String>, status: &'a Option<Vec<u16>>, port: Option<u16>) -> Self {
        HttpRequest {
            path: path.as_deref(),
            status: status.as_deref(),
            port,
        }
    }
}
