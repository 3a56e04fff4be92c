//! *Checkers*: `HTTP_GET`, `SSL_GET`, `TCP_CHECK`, `SMTP_CHECK`, `MISC_CHECK` and
//! `PING_CHECK` blocks to the scenario's checks, and keepalived's timing inheritance.
//!
//! keepalived lets `delay_loop`, `connect_timeout`, `retry`, `delay_before_retry`, `warmup`
//! and `alpha` be set on the virtual server, on the real server, or on the checker; the
//! nearest wins (checker, then real server, then virtual server), and keepalived 2.2.7's
//! defaults fill the rest: `delay_loop` 60 s, `connect_timeout` 5 s, `retry` 1 (0 for
//! MISC_CHECK), `delay_before_retry` 1 s (3 s for HTTP_GET and SSL_GET), `warmup` equal to
//! `delay_loop`, `alpha` off. [`Timing`] holds what one level says.
//!
//! # Simplifications
//! - `MISC_CHECK` runs no script: its results come from the scenario's `scripts` timeline,
//!   found by the checker's `misc_path`. `misc_timeout` is not modelled (the scripted
//!   results take no time).
//! - `SSL_GET`'s handshake takes netlab's default time (2 ms); no certificate is checked.

use std::net::Ipv4Addr;

use super::keywords::Context;
use super::lexer::Word;
use super::parser::Item;
use super::report::Report;
use super::services::Scripts;
use super::values::scenario_text;
use crate::scenario::format::{CheckFile, CheckTimingFile};
use crate::scenario::validate::limits;
use crate::sim::SimDuration;

/// What one level (virtual server, real server, checker) says about check timing; `None`
/// where it says nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timing {
    /// `delay_loop`.
    pub delay_loop: Option<SimDuration>,
    /// `connect_timeout`.
    pub connect_timeout: Option<SimDuration>,
    /// `retry` (or the old `nb_get_retry`).
    pub retry: Option<u32>,
    /// `delay_before_retry`.
    pub delay_before_retry: Option<SimDuration>,
    /// `warmup`.
    pub warmup: Option<SimDuration>,
    /// `alpha`.
    pub alpha: Option<bool>,
}

impl Timing {
    /// Reads a timing keyword (`delay_loop 6`, `retry 3`, `alpha`...).
    pub fn read(&mut self, r: &mut Report<'_>, item: &Item) {
        let keyword = item.keyword().text.as_str();
        if keyword == "alpha" {
            self.alpha = r.flag(item.args().first());
            return;
        }
        let Some(word) = r.arg(item, 0, "a value") else {
            return;
        };
        match keyword {
            "delay_loop" => self.delay_loop = r.timer(word, keyword, limits::DELAY_LOOP),
            "connect_timeout" => {
                self.connect_timeout = r.timer(word, keyword, limits::TIMEOUT);
            }
            "delay_before_retry" => {
                self.delay_before_retry = r.timer(word, keyword, limits::WAIT);
            }
            "warmup" => self.warmup = r.timer(word, keyword, limits::WAIT),
            "retry" | "nb_get_retry" => {
                self.retry = r
                    .number(word, keyword, 0, u64::from(limits::MAX_RETRY))
                    .map(|n| n as u32);
            }
            _ => {}
        }
    }

    /// This level's values, with `outer`'s where this one says nothing.
    pub fn or(&self, outer: &Timing) -> Timing {
        Timing {
            delay_loop: self.delay_loop.or(outer.delay_loop),
            connect_timeout: self.connect_timeout.or(outer.connect_timeout),
            retry: self.retry.or(outer.retry),
            delay_before_retry: self.delay_before_retry.or(outer.delay_before_retry),
            warmup: self.warmup.or(outer.warmup),
            alpha: self.alpha.or(outer.alpha),
        }
    }

    /// One timing for several checkers whose effective timings are `each`: a field is kept
    /// when they agree, or left to each checker's default when each has its default. The
    /// name of the first field on which they disagree otherwise.
    pub fn common(each: &[Timing], checkers: &[&CheckerRead]) -> Result<Timing, &'static str> {
        let defaults: Vec<Timing> = checkers
            .iter()
            .zip(each)
            .map(|(c, effective)| c.defaults(effective))
            .collect();
        Ok(Timing {
            delay_loop: agree(each, &defaults, |t| t.delay_loop, "delay_loop")?,
            connect_timeout: agree(each, &defaults, |t| t.connect_timeout, "connect_timeout")?,
            retry: agree(each, &defaults, |t| t.retry, "retry")?,
            delay_before_retry: agree(
                each,
                &defaults,
                |t| t.delay_before_retry,
                "delay_before_retry",
            )?,
            warmup: agree(each, &defaults, |t| t.warmup, "warmup")?,
            alpha: agree(each, &defaults, |t| t.alpha, "alpha")?,
        })
    }

    /// As the scenario's `check_timing`.
    pub fn to_file(self) -> CheckTimingFile {
        CheckTimingFile {
            delay_loop: self.delay_loop.map(scenario_text),
            connect_timeout: self.connect_timeout.map(scenario_text),
            retry: self.retry,
            delay_before_retry: self.delay_before_retry.map(scenario_text),
            warmup: self.warmup.map(scenario_text),
            alpha: self.alpha,
        }
    }
}

/// One field for all checkers (see [`Timing::common`]).
fn agree<T: PartialEq + Copy>(
    each: &[Timing],
    defaults: &[Timing],
    field: impl Fn(&Timing) -> Option<T>,
    name: &'static str,
) -> Result<Option<T>, &'static str> {
    if each.iter().all(|t| field(t).is_none()) {
        return Ok(None);
    }
    // A checker to which the field does not apply (MISC_CHECK's connect_timeout) has no
    // value and no default: it agrees with anything.
    let resolved: Vec<Option<T>> = each
        .iter()
        .zip(defaults)
        .map(|(t, d)| field(d).and(field(t).or(field(d))))
        .collect();
    let mut cared = resolved.iter().flatten();
    let first = cared.next().copied();
    if cared.all(|v| Some(*v) == first) {
        return Ok(first);
    }
    if resolved.iter().zip(defaults).all(|(r, d)| *r == field(d)) {
        return Ok(None);
    }
    Err(name)
}

/// A checker read from its block.
#[derive(Debug)]
pub struct CheckerRead {
    /// Its keyword, such as `HTTP_GET`.
    pub keyword: String,
    /// The scenario's check.
    pub check: CheckFile,
    /// The port it probes, if it says one (`connect_port`).
    pub port: Option<u16>,
    /// Its own timing.
    pub timing: Timing,
}

impl CheckerRead {
    /// keepalived 2.2.7's defaults for this checker, given its effective timing (for
    /// `warmup`, which defaults to the checker's `delay_loop`).
    fn defaults(&self, effective: &Timing) -> Timing {
        let delay_loop = SimDuration::from_secs(60);
        let is_misc = matches!(self.check, CheckFile::MiscCheck { .. });
        let (retry, delay_before_retry) = match self.check {
            CheckFile::MiscCheck { .. } => (0, 1),
            CheckFile::HttpGet { .. } | CheckFile::SslGet { .. } => (1, 3),
            _ => (1, 1),
        };
        Timing {
            delay_loop: Some(delay_loop),
            // MISC_CHECK has no connect_timeout (its script's limit is misc_timeout).
            connect_timeout: (!is_misc).then(|| SimDuration::from_secs(5)),
            retry: Some(retry),
            delay_before_retry: Some(SimDuration::from_secs(delay_before_retry)),
            warmup: Some(effective.delay_loop.unwrap_or(delay_loop)),
            alpha: Some(false),
        }
    }
}

/// A checker block of a real server at `addr`.
///
/// The block is read in one pass; then the checker's kind decides which of what was read
/// makes the scenario's check. `None` when the check cannot be made (reported already).
pub fn checker(
    r: &mut Report<'_>,
    item: &Item,
    addr: Ipv4Addr,
    scripts: &Scripts,
) -> Option<CheckerRead> {
    let keyword = item.keyword();
    let items = r.block(item)?;
    let mut block = CheckerBlock::default();
    for item in items {
        checker_keyword(r, keyword, item, addr, &mut block);
    }
    let (port, timing) = (block.port, block.timing);
    let check = check_file(r, keyword, block, scripts)?;
    Some(CheckerRead {
        keyword: keyword.text.clone(),
        check,
        port,
        timing,
    })
}

/// A `url` block as read: its path and its accepted status codes, each if given.
type Url = (Option<String>, Option<Vec<u16>>);

/// What a checker block says, gathered for the check its kind makes of it.
#[derive(Default)]
struct CheckerBlock<'i> {
    /// The checker's own timing (`delay_loop`, `retry`, ...).
    timing: Timing,
    /// `connect_port`, if given and valid.
    port: Option<u16>,
    /// The first `url` block (HTTP_GET and SSL_GET).
    url: Option<Url>,
    /// `helo_name` (SMTP_CHECK).
    helo_name: Option<String>,
    /// `misc_path`, the script whose results the scenario gives (MISC_CHECK).
    misc_path: Option<&'i Word>,
}

/// One line of the block of a checker of kind `kind` (`HTTP_GET`...), into `block`:
/// - where to probe: `connect_port`, `connect_ip` (only the real server's own address is
///   modelled);
/// - what to ask: `url` (HTTP_GET, SSL_GET), `helo_name` (SMTP_CHECK), `misc_path` and
///   `misc_timeout` (MISC_CHECK);
/// - timing: `nb_get_retry` (keepalived 1.x's `retry`, with a warning) and the rest.
///
/// A keyword another kind of checker takes is an error ([`applies`]).
fn checker_keyword<'i>(
    r: &mut Report<'_>,
    kind: &Word,
    item: &'i Item,
    addr: Ipv4Addr,
    block: &mut CheckerBlock<'i>,
) {
    if !r.known(Context::Checker, item) || !applies(r, kind, item) {
        return;
    }
    let name = item.keyword().text.as_str();
    if name != "url" {
        r.no_block(item);
    }
    match name {
        "connect_port" => block.port = r.arg(item, 0, "a port").and_then(|w| r.port(w)),
        "connect_ip" => connect_ip(r, item, addr),
        "url" => first_url(r, item, &mut block.url),
        "helo_name" => block.helo_name = r.arg(item, 0, "a name").map(|w| w.text.clone()),
        "misc_path" => block.misc_path = r.arg(item, 0, "a script"),
        "misc_timeout" => r.warning(
            item.keyword(),
            "`misc_timeout` is not modelled by netlab".into(),
            "netlab's scripted MISC_CHECK results take no time",
        ),
        "nb_get_retry" => {
            r.warning(
                item.keyword(),
                "`nb_get_retry` is keepalived 1.x's name for `retry`".into(),
                "write `retry`: keepalived 2.2.7 reports nb_get_retry as deprecated",
            );
            block.timing.read(r, item);
        }
        _ => block.timing.read(r, item),
    }
}

/// A `url` block: read (and checked) in any case, but only the checker's first is kept in
/// `url`; netlab warns about the others, which keepalived would also request.
fn first_url(r: &mut Report<'_>, item: &Item, url: &mut Option<Url>) {
    let read = read_url(r, item);
    if url.is_some() {
        r.warning(
            item.keyword(),
            "netlab checks the first url of a checker only".into(),
            "this url is not checked: give it a checker of its own",
        );
    } else {
        *url = Some(read);
    }
}

/// The scenario's check for a checker of kind `keyword`, from what its block says: the
/// port for every kind but PING_CHECK and MISC_CHECK, the url for HTTP_GET and SSL_GET,
/// the HELO name for SMTP_CHECK, the scripted results for MISC_CHECK.
fn check_file(
    r: &mut Report<'_>,
    keyword: &Word,
    block: CheckerBlock<'_>,
    scripts: &Scripts,
) -> Option<CheckFile> {
    let CheckerBlock {
        port,
        url,
        helo_name,
        misc_path,
        ..
    } = block;
    let check = match keyword.text.as_str() {
        "HTTP_GET" | "SSL_GET" => http_check(r, keyword, url, port)?,
        "TCP_CHECK" => CheckFile::TcpCheck { port },
        "SMTP_CHECK" => CheckFile::SmtpCheck { port, helo_name },
        "PING_CHECK" => CheckFile::PingCheck,
        _ => CheckFile::MiscCheck {
            results: misc_results(r, keyword, misc_path, scripts)?,
        },
    };
    Some(check)
}

/// An HTTP_GET or SSL_GET (as `keyword` says) of its `url` on `port`. A checker without
/// a `url` block is an error: keepalived 2.2.7 crashes on one.
fn http_check(
    r: &mut Report<'_>,
    keyword: &Word,
    url: Option<Url>,
    port: Option<u16>,
) -> Option<CheckFile> {
    let Some((path, status)) = url else {
        r.error(
            keyword,
            format!("this {} has no `url` block", keyword.text),
            "add `url { path / }` (keepalived 2.2.7 crashes on a checker without one)",
        );
        return None;
    };
    if keyword.text == "HTTP_GET" {
        Some(CheckFile::HttpGet { path, status, port })
    } else {
        Some(CheckFile::SslGet {
            path,
            status,
            port,
            handshake: None,
        })
    }
}

/// Whether a checker keyword applies to this kind of checker; an error if not.
fn applies(r: &mut Report<'_>, checker: &Word, item: &Item) -> bool {
    let kind = checker.text.as_str();
    let keyword = item.keyword();
    let allowed = match keyword.text.as_str() {
        "url" | "nb_get_retry" => matches!(kind, "HTTP_GET" | "SSL_GET"),
        "helo_name" => kind == "SMTP_CHECK",
        "misc_path" | "misc_timeout" => kind == "MISC_CHECK",
        "connect_ip" | "connect_port" | "connect_timeout" => kind != "MISC_CHECK",
        _ => true,
    };
    if !allowed {
        r.error(
            keyword,
            format!("`{}` does not belong in {kind}", keyword.text),
            "see keepalived.conf(5) for each checker's keywords",
        );
    }
    allowed
}

/// `connect_ip`: only the real server's own address is modelled.
fn connect_ip(r: &mut Report<'_>, item: &Item, addr: Ipv4Addr) {
    let Some(word) = r.arg(item, 0, "an address") else {
        return;
    };
    if let Some(ip) = r.ipv4(word, "the address to check")
        && ip != addr
    {
        r.warning(
            word,
            format!("`connect_ip {ip}` is not modelled by netlab"),
            format!("netlab checks the real server's own address, {addr}"),
        );
    }
}

/// A `url { path P; status_code C... }` block: the path and the accepted codes.
fn read_url(r: &mut Report<'_>, item: &Item) -> Url {
    let Some(items) = r.block(item) else {
        return (None, None);
    };
    let mut path = None;
    let mut status: Option<Vec<u16>> = None;
    for inner in items {
        if !r.known(Context::Url, inner) {
            continue;
        }
        r.no_block(inner);
        match inner.keyword().text.as_str() {
            "path" => path = r.arg(inner, 0, "a path").map(|w| w.text.clone()),
            _ => {
                if inner.args().is_empty() {
                    r.arg(inner, 0, "a status code");
                }
                for word in inner.args() {
                    if let Some(codes) = status_codes(r, word) {
                        status.get_or_insert_with(Vec::new).extend(codes);
                    }
                }
            }
        }
    }
    if path.is_none() {
        r.error(
            item.keyword(),
            "this url has no `path`".into(),
            "add `path /` inside the url block (keepalived ignores a url without one)",
        );
    }
    (path, status)
}

/// A `status_code` word: `200` or a range `200-299`, within 100-599.
fn status_codes(r: &mut Report<'_>, word: &Word) -> Option<Vec<u16>> {
    let (low, high) = word
        .text
        .split_once('-')
        .unwrap_or((&word.text, &word.text));
    let code = |text: &str| text.parse::<u16>().ok().filter(|c| (100..=599).contains(c));
    match (code(low), code(high)) {
        (Some(low), Some(high)) if low <= high => Some((low..=high).collect()),
        _ => {
            r.error(
                word,
                format!("\"{}\" is not an HTTP status code or range", word.text),
                "status codes run from 100 to 599: write 200, or a range such as 200-299",
            );
            None
        }
    }
}

/// A MISC_CHECK's scripted results, found by its `misc_path`.
fn misc_results(
    r: &mut Report<'_>,
    keyword: &Word,
    path: Option<&Word>,
    scripts: &Scripts,
) -> Option<Vec<(String, bool)>> {
    let Some(path) = path else {
        r.error(
            keyword,
            "this MISC_CHECK has no `misc_path`".into(),
            "add `misc_path \"/etc/keepalived/check.sh\"`, and its results to the scenario's `scripts`",
        );
        return None;
    };
    match scripts.get(&path.text) {
        Some(results) => Some(results.clone()),
        None => {
            r.error(
                path,
                format!("netlab runs no scripts, and the scenario gives no results for \"{}\"", path.text),
                format!(
                    "add to the node: scripts: {{\"{}\": [(\"0s\", true)]}}, the script's result from each time on",
                    path.text.escape_debug()
                ),
            );
            None
        }
    }
}
