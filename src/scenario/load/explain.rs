//! *Explaining ron's errors* in the scenario's words.
//!
//! ron's errors speak of Rust: "expected string", "integer is out of bounds", "unexpected
//! variant named `Tun` in enum `ForwardFile`". A student wrote `delay: 10` or `forward: Tun`
//! and needs to hear about durations and forwarding methods. So ron's message is never passed
//! on. [`explain`] looks at three things instead:
//! - *what* ron expected: the `ron::Error` variant, matched on, never its text;
//! - *where* it stopped: the token there, such as `10` or `-3` ([`Spot`]);
//! - *which field* that token is the value of, such as `delay`, found by reading the text up
//!   to that point with the `diagnostic` lexer, keeping track of brackets and `name:`s. A
//!   table says what each field holds ([`Holds`]: a duration, a size, a whole number, a
//!   choice of names...).
//!
//! From those it writes the message and a help line with an example in the file's own
//! syntax, such as `` write `delay: "10ms"` or "10s" ``. The names of Rust types (`SegmentFile`)
//! never reach the student: they are mapped to words ("a segment or link"), and a test feeds
//! hundreds of wrong values to check that none slips through.
//!
//! Start reading at [`explain_at`]: the mistakes looked for first, then one family of ron's
//! errors at a time ([`Here`]'s methods), an arm per kind of mistake.
//!
//! # Simplifications
//! - The lexer follows brackets and field names, not RON's whole grammar. When a mistake
//!   upsets the brackets themselves, the field it names may be the wrong one; the position,
//!   which is ron's, is still right.

use ron::error::SpannedError;
use serde::de::DeserializeOwned;

use super::ron_options;
use crate::scenario::diagnostic::{Diagnostic, Lexer, Locator, Token, TokenKind, nearest};
use crate::scenario::format::{
    ActionEventFile, AlgorithmFile, CheckFile, ClientCacheFile, DistributionFile, FaultEventFile,
    ForwardFile, NodeFile, OrderFile, PopularityFile, ProbeKindFile, RpFilterFile, WorkloadFile,
};

/// Where ron stopped, seen from the scenario: the token there and what it belongs to.
#[derive(Debug, Default)]
struct Spot<'s> {
    /// The token at ron's position (or the first one after it, past spaces and comments);
    /// `None` at the end of the file.
    token: Option<Token>,
    /// The token's text, with its sign if it is a number such as `-3`.
    text: &'s str,
    /// Byte offset of the token, sign included: where the caret goes.
    start: usize,
    /// The field whose value the token is: `delay` in `delay: 10`; for an item of a list or a
    /// value inside a variant's parentheses, the field holding the list or the variant.
    field: Option<&'s str>,
    /// The variant whose parentheses the token is in, if no field is named inside them yet:
    /// `Fixed` in `Fixed(5)`.
    variant: Option<&'s str>,
    /// The name just before the token: `TcpCheck` in `checks: [TcpCheck]`.
    name_before: Option<Token>,
    /// The innermost bracket still open at the token.
    open: Option<Frame<'s>>,
    /// A string just before the token that runs over a line end: most likely a string whose
    /// closing quote is missing, which swallowed text up to the next quote.
    runaway_string: Option<Token>,
    /// A string or block comment the file ends inside.
    unclosed: Option<Token>,
    /// Whether the file has any code at all (not just spaces and comments).
    has_code: bool,
}

/// A bracket that is open at some point of the text.
#[derive(Clone, Copy, Debug)]
struct Frame<'s> {
    /// The bracket: `(`, `[` or `{`.
    open: Token,
    /// The name before a `(`, such as `WebServer` (not `Some`, which changes nothing).
    variant: Option<Token>,
    /// The field holding this bracket's value.
    field: Option<&'s str>,
    /// The field being read inside this bracket, once its `name:` has been seen.
    key: Option<&'s str>,
}

impl<'s> Frame<'s> {
    /// The field whose value is being read inside this bracket.
    fn current_field(&self) -> Option<&'s str> {
        self.key.or(self.field)
    }

    /// The frame an opening bracket `open` starts inside `outer` (the innermost bracket open
    /// before it), `previous` being the token before it: the name of a `(`'s variant.
    fn opened(
        open: Token,
        previous: Option<Token>,
        outer: Option<&Frame<'s>>,
        source: &'s str,
    ) -> Frame<'s> {
        let variant = previous.filter(|p| {
            open.text(source) == "(" && p.kind == TokenKind::Ident && p.text(source) != "Some"
        });
        Frame {
            open,
            variant,
            field: outer.and_then(Frame::current_field),
            key: None,
        }
    }
}

/// Keeps `frames`, the brackets open, up to date after `token` (`previous` being the token
/// before it): a `name:` names the field being read, a `,` ends it, an opening bracket
/// pushes a frame and a closing one pops it.
fn follow_brackets<'s>(
    frames: &mut Vec<Frame<'s>>,
    token: Token,
    previous: Option<Token>,
    source: &'s str,
) {
    match token.kind {
        TokenKind::Punct(':') => {
            let name_before = previous
                .filter(|p| p.kind == TokenKind::Ident)
                .map(|p| p.text(source));
            if let (Some(frame), Some(name)) = (frames.last_mut(), name_before) {
                frame.key = Some(name);
            }
        }
        TokenKind::Punct(',') => {
            if let Some(frame) = frames.last_mut() {
                frame.key = None;
            }
        }
        TokenKind::Punct('(' | '[' | '{') => {
            let frame = Frame::opened(token, previous, frames.last(), source);
            frames.push(frame);
        }
        TokenKind::Punct(')' | ']' | '}') => {
            frames.pop();
        }
        _ => {}
    }
}

/// Whether `token` is a string or a block comment that the file ends inside.
fn is_unclosed(token: &Token) -> bool {
    matches!(
        token.kind,
        TokenKind::Comment { closed: false } | TokenKind::Str { closed: false }
    )
}

/// Where the token starts and ends (`source_len`, the end of the file, when there is no
/// token): a number's sign just before it (`-3`) is part of it.
fn signed_extent(
    token: Option<Token>,
    previous: Option<Token>,
    source_len: usize,
) -> (usize, usize) {
    let Some(t) = token else {
        return (source_len, source_len);
    };
    let signed = t.kind == TokenKind::Number
        && previous
            .is_some_and(|p| matches!(p.kind, TokenKind::Punct('-' | '+')) && p.end == t.start);
    let start = if signed { t.start - 1 } else { t.start };
    (start, t.end)
}

impl<'s> Spot<'s> {
    /// Reads `source` up to byte `pos`, keeping track of brackets and field names.
    fn find(source: &'s str, pos: usize) -> Spot<'s> {
        let mut spot = Spot::default();
        let mut frames: Vec<Frame<'s>> = Vec::new();
        let mut previous: Option<Token> = None;
        let mut lexer = Lexer::new(source);
        for token in lexer.by_ref() {
            if is_unclosed(&token) {
                spot.unclosed = Some(token);
            }
            if token.is_comment() {
                continue;
            }
            spot.has_code = true;
            if token.end > pos {
                spot.token = Some(token);
                break;
            }
            follow_brackets(&mut frames, token, previous, source);
            previous = Some(token);
        }
        // The rest of the file only matters for a string or comment it ends inside.
        if spot.unclosed.is_none() {
            spot.unclosed = lexer.find(is_unclosed);
        }
        spot.place_in(frames.last().copied(), source);
        spot.name_before = previous.filter(|p| p.kind == TokenKind::Ident);
        spot.runaway_string = previous
            .filter(|p| matches!(p.kind, TokenKind::Str { .. }) && p.text(source).contains('\n'));
        let (start, end) = signed_extent(spot.token, previous, source.len());
        spot.start = start;
        spot.text = &source[start..end];
        spot
    }

    /// The innermost bracket `open` at the token, and the field or variant whose value the
    /// token is inside it.
    fn place_in(&mut self, open: Option<Frame<'s>>, source: &'s str) {
        self.open = open;
        if let Some(frame) = &self.open {
            self.field = frame.current_field();
            if frame.key.is_none() {
                self.variant = frame.variant.map(|v| v.text(source));
            }
        }
    }

    /// The field, or the variant, whose value is at the spot: what [`holds`] is asked about.
    fn holder(&self) -> Option<&'s str> {
        self.variant.filter(|v| holds(v).is_some()).or(self.field)
    }

    /// The holder in backquotes, or "this value".
    fn named(&self) -> String {
        self.holder()
            .map_or("this value".to_string(), |f| format!("`{f}`"))
    }

    /// How `value` is written as the holder's value: `` `workers: 4` `` for a field,
    /// `` `Fixed("5ms")` `` for a variant; `field` names a holder when none is known.
    fn written(&self, field: &str, value: &str) -> String {
        match self.holder() {
            Some(v) if self.variant == Some(v) => format!("`{v}({value})`"),
            Some(f) => format!("`{f}: {value}`"),
            None => format!("`{field}: {value}`"),
        }
    }

    /// Whether the token is a number (with or without a sign).
    fn is_number(&self) -> bool {
        self.token.is_some_and(|t| t.kind == TokenKind::Number)
    }

    /// Whether the token is a string literal.
    fn is_string(&self) -> bool {
        self.token
            .is_some_and(|t| matches!(t.kind, TokenKind::Str { .. }))
    }
}

/// What a field holds, as far as ron's errors need to know. The values' own checks (units,
/// ranges, names) are `validate`'s.
#[derive(Clone, Copy, Debug)]
enum Holds {
    /// A time with a unit, in quotes: `"10ms"`.
    Duration,
    /// A size with a unit, in quotes: `"64KiB"`.
    Size,
    /// A bandwidth with a unit, in quotes: `"100Mbps"`.
    Bandwidth,
    /// Text in quotes: a name, an address, a URL.
    Text,
    /// A whole number from 0 to this.
    Whole(u64),
    /// A number, possibly with a fraction.
    Number,
    /// `true` or `false`.
    Bool,
    /// One of the names of an enum.
    Choice(&'static Choice),
}

/// The fields of `format` (and the one-value variants, such as `Fixed("5ms")`) by what they
/// hold. A test checks that every name here is a field or variant of `format`.
const FIELDS: &[(&str, Holds)] = &[
    // Durations.
    ("at", Holds::Duration),
    ("until", Holds::Duration),
    ("max_sim_time", Holds::Duration),
    ("delay", Holds::Duration),
    ("cost_per_request", Holds::Duration),
    ("cost_per_kib", Holds::Duration),
    ("cost_per_packet", Holds::Duration),
    ("keep_alive", Holds::Duration),
    ("ttl", Holds::Duration),
    ("min_ttl", Holds::Duration),
    ("max_ttl", Holds::Duration),
    ("arp_timeout", Holds::Duration),
    ("ipvsadm_at", Holds::Duration),
    ("persistence_timeout", Holds::Duration),
    ("delay_loop", Holds::Duration),
    ("connect_timeout", Holds::Duration),
    ("delay_before_retry", Holds::Duration),
    ("warmup", Holds::Duration),
    ("handshake", Holds::Duration),
    ("garp_master_delay", Holds::Duration),
    ("interval", Holds::Duration),
    ("retry_interval", Holds::Duration),
    ("after", Holds::Duration),
    ("start", Holds::Duration),
    ("timeout", Holds::Duration),
    ("duration", Holds::Duration),
    ("ExtraDelay", Holds::Duration),
    ("Fixed", Holds::Duration),
    ("Exponential", Holds::Duration),
    ("Hold", Holds::Duration),
    // Sizes and bandwidths.
    ("queue", Holds::Size),
    ("response_size", Holds::Size),
    ("bandwidth", Holds::Bandwidth),
    // Text.
    ("name", Holds::Text),
    ("sync_group", Holds::Text),
    ("description", Holds::Text),
    ("target", Holds::Text),
    ("attach", Holds::Text),
    ("ip", Holds::Text),
    ("mac", Holds::Text),
    ("to", Holds::Text),
    ("via", Holds::Text),
    ("gateway", Holds::Text),
    ("vip", Holds::Text),
    ("scheduler", Holds::Text),
    ("default_pool", Holds::Text),
    ("pool", Holds::Text),
    ("path_prefix", Holds::Text),
    ("host", Holds::Text),
    ("path", Holds::Text),
    ("paths", Holds::Text),
    ("helo_name", Holds::Text),
    ("upstream", Holds::Text),
    ("server", Holds::Text),
    ("url", Holds::Text),
    ("first_ip", Holds::Text),
    ("loopback", Holds::Text),
    ("virtual_ipaddress", Holds::Text),
    ("addresses", Holds::Text),
    ("address", Holds::Text),
    ("service", Holds::Text),
    ("instance", Holds::Text),
    ("hosts", Holds::Text),
    ("keepalived", Holds::Text),
    ("cookie", Holds::Text),
    // Whole numbers, by their Rust type's range.
    ("seed", Holds::Whole(u64::MAX)),
    ("max_events", Holds::Whole(u64::MAX)),
    ("requests", Holds::Whole(u64::MAX)),
    ("port", Holds::Whole(u16::MAX as u64)),
    ("smtp_port", Holds::Whole(u16::MAX as u64)),
    ("clamp_mss", Holds::Whole(u16::MAX as u64)),
    ("status", Holds::Whole(u16::MAX as u64)),
    ("ServiceErrors", Holds::Whole(u16::MAX as u64)),
    ("virtual_router_id", Holds::Whole(u8::MAX as u64)),
    ("priority", Holds::Whole(u8::MAX as u64)),
    ("advert_int", Holds::Whole(u8::MAX as u64)),
    ("iface", Holds::Whole(u32::MAX as u64)),
    ("weight", Holds::Whole(u32::MAX as u64)),
    ("max_connections", Holds::Whole(u32::MAX as u64)),
    ("packet_backlog", Holds::Whole(u32::MAX as u64)),
    ("upper_threshold", Holds::Whole(u32::MAX as u64)),
    ("lower_threshold", Holds::Whole(u32::MAX as u64)),
    ("quorum", Holds::Whole(u32::MAX as u64)),
    ("hysteresis", Holds::Whole(u32::MAX as u64)),
    ("retry", Holds::Whole(u32::MAX as u64)),
    ("count", Holds::Whole(u32::MAX as u64)),
    ("workers", Holds::Whole(u32::MAX as u64)),
    ("backlog", Holds::Whole(u32::MAX as u64)),
    ("somaxconn", Holds::Whole(u32::MAX as u64)),
    ("users", Holds::Whole(u32::MAX as u64)),
    ("garp_master_repeat", Holds::Whole(u32::MAX as u64)),
    ("fail_after", Holds::Whole(u32::MAX as u64)),
    ("clear_after", Holds::Whole(u32::MAX as u64)),
    ("fwmark", Holds::Whole(u32::MAX as u64)),
    ("mark", Holds::Whole(u32::MAX as u64)),
    ("capacity", Holds::Whole(u32::MAX as u64)),
    // Numbers with a fraction.
    ("rate", Holds::Number),
    ("loss", Holds::Number),
    ("Loss", Holds::Number),
    ("SlowService", Holds::Number),
    ("Zipf", Holds::Number),
    // Flags. (`keep_alive` is a flag on clients but a duration on servers; ron's error says
    // which was expected, so it is listed once, as a duration.)
    ("enabled", Holds::Bool),
    ("cold_spare", Holds::Bool),
    ("ignore_garp", Holds::Bool),
    ("connection_sync", Holds::Bool),
    ("inhibit_on_failure", Holds::Bool),
    ("alpha", Holds::Bool),
    ("nopreempt", Holds::Bool),
    ("arp_ignore", Holds::Bool),
    ("abort_on_overflow", Holds::Bool),
    ("try_next", Holds::Bool),
    ("backup", Holds::Bool),
    ("reuse_server_connections", Holds::Bool),
    // Choices.
    ("forward", Holds::Choice(&FORWARD)),
    ("rp_filter", Holds::Choice(&RP_FILTER)),
    ("algorithm", Holds::Choice(&ALGORITHM)),
    ("order", Holds::Choice(&ORDER)),
    ("cache", Holds::Choice(&CACHE)),
    ("service_time", Holds::Choice(&DISTRIBUTION)),
    ("think_time", Holds::Choice(&DISTRIBUTION)),
    ("workload", Holds::Choice(&WORKLOAD)),
    ("event", Holds::Choice(&FAULT_EVENT)),
    ("action", Holds::Choice(&ACTION)),
    ("kind", Holds::Choice(&PROBE_KIND)),
    ("popularity", Holds::Choice(&POPULARITY)),
    ("nodes", Holds::Choice(&NODE)),
    ("checks", Holds::Choice(&CHECK)),
];

/// What `name` (a field, or a one-value variant) holds, if the table knows.
fn holds(name: &str) -> Option<Holds> {
    FIELDS.iter().find(|(n, _)| *n == name).map(|&(_, h)| h)
}

/// An enum of `format`, as students know it: "a forwarding method", not `ForwardFile`.
#[derive(Debug)]
struct Choice {
    /// The Rust type's name, as ron's errors give it.
    type_name: &'static str,
    /// What one is called, such as "forwarding method".
    one: &'static str,
    /// What several are called, such as "forwarding methods".
    several: &'static str,
    /// A typical value, as written in a file.
    example: &'static str,
    /// Its variants, asked of serde (so this list never goes out of date).
    variants: fn() -> &'static [&'static str],
}

/// The names of `T`'s variants, as serde lists them: ron is given a name no variant has, and
/// its error lists the real ones.
fn variants<T: DeserializeOwned>() -> &'static [&'static str] {
    match ron_options().from_str::<T>("NoSuchVariant") {
        Err(SpannedError {
            code: ron::Error::NoSuchEnumVariant { expected, .. },
            ..
        }) => expected,
        _ => &[],
    }
}

/// Forwarding methods of a real server.
const FORWARD: Choice = Choice {
    type_name: "ForwardFile",
    one: "forwarding method",
    several: "forwarding methods",
    example: "Nat",
    variants: variants::<ForwardFile>,
};
/// L7 balancing algorithms.
const ALGORITHM: Choice = Choice {
    type_name: "AlgorithmFile",
    one: "balancing algorithm",
    several: "balancing algorithms",
    example: "RoundRobin",
    variants: variants::<AlgorithmFile>,
};
/// DNS record orders.
const ORDER: Choice = Choice {
    type_name: "OrderFile",
    one: "record order",
    several: "record orders",
    example: "Cyclic",
    variants: variants::<OrderFile>,
};
/// Client DNS cache policies.
const CACHE: Choice = Choice {
    type_name: "ClientCacheFile",
    one: "DNS cache policy",
    several: "DNS cache policies",
    example: "Hold(\"60s\")",
    variants: variants::<ClientCacheFile>,
};
/// Time distributions.
const DISTRIBUTION: Choice = Choice {
    type_name: "DistributionFile",
    one: "time distribution",
    several: "time distributions",
    example: "Fixed(\"5ms\")",
    variants: variants::<DistributionFile>,
};
/// Client workloads.
const WORKLOAD: Choice = Choice {
    type_name: "WorkloadFile",
    one: "workload",
    several: "workloads",
    example: "OpenLoop(rate: 10.0, requests: 100)",
    variants: variants::<WorkloadFile>,
};
/// Fault events.
const FAULT_EVENT: Choice = Choice {
    type_name: "FaultEventFile",
    one: "fault event",
    several: "fault events",
    example: "Crash",
    variants: variants::<FaultEventFile>,
};
/// Operator actions.
const ACTION: Choice = Choice {
    type_name: "ActionEventFile",
    one: "operator action",
    several: "operator actions",
    example: "SetWeight(server: \"10.0.1.12\", weight: 0)",
    variants: variants::<ActionEventFile>,
};
/// What a monitor's probe tests.
const PROBE_KIND: Choice = Choice {
    type_name: "ProbeKindFile",
    one: "probe kind",
    several: "probe kinds",
    example: "Ping",
    variants: variants::<ProbeKindFile>,
};
/// Reverse-path filtering modes of a tunnel.
const RP_FILTER: Choice = Choice {
    type_name: "RpFilterFile",
    one: "rp_filter mode",
    several: "rp_filter modes",
    example: "Off",
    variants: variants::<RpFilterFile>,
};

/// How requests spread over origins.
const POPULARITY: Choice = Choice {
    type_name: "PopularityFile",
    one: "popularity",
    several: "popularities",
    example: "Zipf(1.0)",
    variants: variants::<PopularityFile>,
};
/// Node kinds.
const NODE: Choice = Choice {
    type_name: "NodeFile",
    one: "node kind",
    several: "node kinds",
    example: "WebServer(name: \"web\", interface: (attach: \"lan\", ip: \"10.0.0.10/24\"))",
    variants: variants::<NodeFile>,
};
/// keepalived health checks.
const CHECK: Choice = Choice {
    type_name: "CheckFile",
    one: "health check",
    several: "health checks",
    example: "TcpCheck()",
    variants: variants::<CheckFile>,
};

/// Every enum of `format` that a student chooses a variant of.
const CHOICES: &[&Choice] = &[
    &FORWARD,
    &RP_FILTER,
    &ALGORITHM,
    &ORDER,
    &CACHE,
    &DISTRIBUTION,
    &WORKLOAD,
    &FAULT_EVENT,
    &ACTION,
    &PROBE_KIND,
    &POPULARITY,
    &NODE,
    &CHECK,
];

/// The structs of `format` in the scenario's words, for "... has no field `x`".
const STRUCTS: &[(&str, &str)] = &[
    ("Scenario", "the scenario"),
    ("ScenarioFile", "the scenario"),
    ("TunnelFile", "a web server's `tunnel`"),
    ("FaultFile", "a fault"),
    ("ActionFile", "an action"),
    ("ReactionFile", "an `on_alarm` action"),
    ("MonitorFile", "a Monitor"),
    ("ProbeFile", "a probe"),
    ("LimitsFile", "`limits`"),
    ("SegmentFile", "a segment or link"),
    ("L7BalancerFile", "an L7Balancer"),
    ("PoolFile", "a pool"),
    ("BackendFile", "a pool's server"),
    ("RuleFile", "a rule"),
    ("DnsServerFile", "a DnsServer"),
    ("ZoneFile", "a zone entry"),
    ("DnsResolverFile", "a DnsResolver"),
    ("L4BalancerFile", "an L4Balancer"),
    ("VirtualServiceFile", "a virtual service"),
    ("CheckTimingFile", "`check_timing`"),
    ("SorryServerFile", "`sorry_server`"),
    ("RealServerFile", "a real server"),
    ("RouterFile", "a Router"),
    ("VrrpFile", "a VRRP instance"),
    ("InterfaceFile", "an interface"),
    ("RouteFile", "a route"),
    ("HostFile", "a Host"),
    ("PingFile", "`ping`"),
    ("WebServerFile", "a WebServer"),
    ("ClientsFile", "a Clients group"),
    ("OriginsFile", "`origins`"),
    ("MarkRuleFile", "a mark rule"),
    ("TransparentCacheFile", "`transparent_cache`"),
    ("ClientDnsFile", "`dns`"),
    ("CaptureFile", "`capture`"),
];

/// How the values of some fields with fields of their own are written.
const STRUCT_EXAMPLES: &[(&str, &str)] = &[
    ("segments", "(name: \"lan\")"),
    ("links", "(name: \"uplink\")"),
    ("interface", "(attach: \"lan\", ip: \"10.0.0.1/24\")"),
    ("interfaces", "(attach: \"lan\", ip: \"10.0.0.1/24\")"),
    ("routes", "(to: \"default\", via: \"10.0.0.1\")"),
    ("faults", "(at: \"10s\", target: \"web\", event: Crash)"),
    (
        "actions",
        "(at: \"30s\", target: \"lb1\", action: SetWeight(server: \"10.0.1.12\", weight: 0))",
    ),
    (
        "on_alarm",
        "(after: \"30s\", target: \"r1-spare\", action: PlugIn)",
    ),
    ("probes", "(name: \"r1\", target: \"10.0.0.1\", kind: Ping)"),
    ("real_servers", "(ip: \"10.0.2.11\")"),
    ("marks", "(mark: 1, from: \"10.0.1.0/24\", port: 80)"),
    (
        "origins",
        "(first: \"198.51.100.1\", count: 30, popularity: Zipf(1.0))",
    ),
    ("transparent_cache", "(capacity: 40)"),
    ("servers", "(ip: \"10.0.2.11\")"),
    ("ping", "(target: \"10.0.0.1\")"),
    ("pools", "(name: \"web\", servers: [(ip: \"10.0.2.11\")])"),
    ("rules", "(path_prefix: \"/static/\", pool: \"static\")"),
    (
        "zone",
        "(name: \"www.example\", ttl: \"60s\", addresses: [\"10.0.0.10\"])",
    ),
    (
        "services",
        "(vip: \"10.0.1.100\", real_servers: [(ip: \"10.0.2.11\")])",
    ),
    (
        "vrrp",
        "(virtual_router_id: 51, virtual_ipaddress: [\"10.0.0.1\"])",
    ),
    ("sorry_server", "(ip: \"10.0.2.99\")"),
    ("dns", "(server: \"10.0.0.53\")"),
    ("limits", "(max_sim_time: \"10min\")"),
    ("capture", "(enabled: true)"),
    ("check_timing", "(delay_loop: \"5s\")"),
];

/// A Rust type or variant name from one of ron's errors, in the scenario's words.
fn struct_words(name: &str) -> String {
    if let Some((_, words)) = STRUCTS.iter().find(|(n, _)| *n == name) {
        return words.to_string();
    }
    if let Some(choice) = CHOICES.iter().find(|c| c.type_name == name) {
        return format!("a {}", choice.one);
    }
    // A variant such as `WebServer` or `TcpCheck` is a word of the file already.
    format!("`{}`", name.strip_suffix("File").unwrap_or(name))
}

/// Replaces Rust type names in a message from serde or ron with the scenario's words:
/// `CheckFile::TcpCheck` becomes `TcpCheck`, and `SegmentFile` becomes "a segment or link".
fn scrub(message: &str) -> String {
    let mut out = String::new();
    let mut rest = message;
    while let Some(start) = rest.find(|c: char| c.is_ascii_uppercase()) {
        // Only whole words: the capital must not follow a letter.
        let (before, word_on) = rest.split_at(start);
        out.push_str(before);
        let len = word_on
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(word_on.len());
        let word = &word_on[..len];
        let after = &word_on[len..];
        let inside_word = before.ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
        if !inside_word && word.ends_with("File") && word.len() > 4 {
            if let Some(variant) = after.strip_prefix("::") {
                rest = variant;
                continue;
            }
            out.push_str(struct_words(word).trim_matches('`'));
        } else {
            out.push_str(word);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// A list in prose: "a, b and c".
fn prose_list(items: &[&str], and: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} {and} {last}", init.join(", ")),
    }
}

/// "; did you mean `X`?" for a near miss of `found` among `expected`, or nothing.
fn did_you_mean(found: &str, expected: &[&str]) -> String {
    let same_but_case = expected.iter().find(|e| e.eq_ignore_ascii_case(found));
    match same_but_case
        .copied()
        .or_else(|| nearest(found, expected.iter().copied()))
    {
        Some(e) if e.eq_ignore_ascii_case(found) => {
            format!("; did you mean `{e}`? (capitals matter)")
        }
        Some(e) => format!("; did you mean `{e}`?"),
        None => String::new(),
    }
}

/// An error explained: where it goes and what it says.
struct Explained {
    /// Byte offset of the first character to underline.
    at: usize,
    /// Characters to underline.
    width: usize,
    /// What is wrong.
    message: String,
    /// How to fix it.
    help: String,
}

/// Turns one of ron's errors into a diagnostic in the scenario's words (see the module doc).
pub(super) fn explain(locator: &Locator<'_>, error: &SpannedError) -> Diagnostic {
    let source = locator.source();
    let pos = locator.offset_of(error.span.start.line, error.span.start.col);
    let spot = Spot::find(source, pos);
    let e = explain_at(&spot, &error.code, source, pos);
    let mut d = locator.at_offset(e.at, e.width.max(1), lowercase_first(&e.message));
    d.help = Some(e.help);
    d
}

/// The explanation of `code`, found at `spot` (ron's own position is byte `pos`).
///
/// Three mistakes are looked for first, whatever ron says, because they confuse its report:
/// a file that ends too early, brackets that do not pair, a string left open. Then ron's
/// errors are taken a family at a time, each in a method of [`Here`]: a wrong name, a wrong
/// number, wrong brackets, and the rest (characters ron could not read at all).
fn explain_at(spot: &Spot<'_>, code: &ron::Error, source: &str, pos: usize) -> Explained {
    use ron::Error as E;
    if !spot.has_code {
        return end_of_file(spot, source);
    }
    if let Some(explained) = mismatched_bracket(spot, source) {
        return explained;
    }
    if let Some(explained) = runaway_string(spot, code) {
        return explained;
    }
    let here = Here::new(spot, source, pos);
    match code {
        E::Eof | E::ExpectedStringEnd | E::UnclosedBlockComment => end_of_file(spot, source),
        E::NoSuchEnumVariant { .. }
        | E::NoSuchStructField { .. }
        | E::MissingStructField { .. }
        | E::DuplicateStructField { .. } => here.wrong_name(code),
        E::ExpectedString => here.expected_string(),
        E::ExpectedIdentifier | E::SuggestRawIdentifier(_) | E::InvalidIdentifier(_) => {
            here.expected_name()
        }
        E::ExpectedInteger
        | E::InvalidIntegerDigit { .. }
        | E::UnderscoreAtBeginning
        | E::ExpectedFloat
        | E::FloatUnderscore
        | E::ExpectedBoolean
        | E::IntegerOutOfBounds => here.wrong_number(code),
        // `workers: 4.5`: ron reads the whole number 4, then finds `.5` where a comma goes.
        E::ExpectedComma if source[pos..].starts_with('.') && spot.is_number() => here.fraction(),
        E::ExpectedComma => expected_comma(spot, source),
        E::ExpectedArray
        | E::ExpectedArrayEnd
        | E::ExpectedMap
        | E::ExpectedMapColon
        | E::ExpectedMapEnd
        | E::ExpectedStructLike
        | E::ExpectedNamedStructLike(_)
        | E::ExpectedStructLikeEnd
        | E::ExpectedOptionEnd
        | E::ExpectedUnit
        | E::ExpectedDifferentStructName { .. }
        | E::ExpectedDifferentLength { .. } => here.wrong_brackets(code),
        other => here.unreadable(other),
    }
}

/// A string that swallowed a line end, then anything: the missing quote is the news, whatever
/// ron stumbled on after it.
fn runaway_string(spot: &Spot<'_>, code: &ron::Error) -> Option<Explained> {
    use ron::Error as E;
    let string = spot.runaway_string?;
    let after_it = matches!(
        code,
        E::ExpectedComma
            | E::ExpectedStructLikeEnd
            | E::ExpectedArrayEnd
            | E::ExpectedMapEnd
            | E::ExpectedMapColon
            | E::TrailingCharacters
    );
    after_it.then(|| Explained {
        at: string.start,
        width: 1,
        message: "this string runs past the end of its line".into(),
        help: "is its closing `\"` missing? A string ends only at the next `\"`, so the \
               text after it was read as part of the string"
            .into(),
    })
}

/// What [`explain_at`]'s families of errors need to know of the place ron stopped at.
struct Here<'a, 's> {
    /// The token there and what it belongs to.
    spot: &'a Spot<'s>,
    /// The whole scenario file.
    source: &'a str,
    /// ron's own position, a byte offset into `source`.
    pos: usize,
    /// The token's width in characters: what most messages underline.
    width: usize,
    /// The field the value belongs to, in words: "`delay`", or "this value".
    named: String,
    /// That field's (or variant's) name, when there is one.
    holder: Option<&'s str>,
    /// What that field holds, when the table knows it.
    what: Option<Holds>,
}

impl<'a, 's> Here<'a, 's> {
    /// The place of `spot` in `source`, ron's position being byte `pos`.
    fn new(spot: &'a Spot<'s>, source: &'a str, pos: usize) -> Self {
        let holder = spot.holder();
        Here {
            spot,
            source,
            pos,
            width: spot.text.chars().count(),
            named: spot.named(),
            holder,
            what: holder.and_then(holds),
        }
    }

    /// A message underlining the token ron stopped at.
    fn on_token(&self, message: String, help: String) -> Explained {
        Explained {
            at: self.spot.start,
            width: self.width,
            message,
            help,
        }
    }

    /// Whether the innermost open bracket is `open`.
    fn inside(&self, open: &str) -> bool {
        self.spot
            .open
            .is_some_and(|f| f.open.text(self.source) == open)
    }

    /// The example written in `STRUCT_EXAMPLES` for the field here, or `otherwise`.
    fn struct_example(&self, otherwise: &'static str) -> &'static str {
        STRUCT_EXAMPLES
            .iter()
            .find(|(f, _)| Some(*f) == self.holder)
            .map_or(otherwise, |(_, e)| e)
    }

    /// A name that is not one of those allowed here: a variant, a field (unknown, missing or
    /// given twice).
    fn wrong_name(&self, code: &ron::Error) -> Explained {
        use ron::Error as E;
        match code {
            E::NoSuchEnumVariant {
                expected,
                found,
                outer,
            } => {
                let choice = outer
                    .as_deref()
                    .and_then(|o| CHOICES.iter().find(|c| c.type_name == o));
                let (one, several) = choice.map_or(("name", "names here"), |c| (c.one, c.several));
                self.on_token(
                    format!("unknown {one} `{found}`"),
                    format!(
                        "the {several} are {}{}",
                        prose_list(expected, "and"),
                        did_you_mean(found, expected)
                    ),
                )
            }
            E::NoSuchStructField {
                expected,
                found,
                outer,
            } => {
                let owner = outer.as_deref().map_or("this".to_string(), struct_words);
                self.on_token(
                    format!("{owner} has no field `{found}`"),
                    format!(
                        "the fields here are {}{}",
                        prose_list(expected, "and"),
                        did_you_mean(found, expected)
                    ),
                )
            }
            E::MissingStructField { field, outer } => {
                let owner = outer.as_deref().map_or("this".to_string(), struct_words);
                // Point at the start of what lacks the field, not at its closing `)`.
                let (at, width) = match self.spot.open.and_then(|f| f.variant.or(Some(f.open))) {
                    Some(t) => (t.start, t.text(self.source).chars().count()),
                    None => (self.spot.start, self.width),
                };
                Explained {
                    at,
                    width,
                    message: format!("{owner} is missing `{field}`"),
                    help: format!(
                        "add `{field}: {}`; this field has no default",
                        example_of(holds(field))
                    ),
                }
            }
            E::DuplicateStructField { field, .. } => self.on_token(
                format!("`{field}` is given twice"),
                "keep only one of them".into(),
            ),
            other => self.unreadable(other),
        }
    }

    /// ron wanted a name (a variant, a field's name) and found something else, often the
    /// name in quotes.
    fn expected_name(&self) -> Explained {
        let spot = self.spot;
        match self.what {
            Some(Holds::Choice(choice)) => {
                let variants = (choice.variants)();
                let quoted = spot.text.trim_matches('"');
                let in_list = self.inside("[");
                // In a list, an item is written alone; elsewhere, with its field.
                let written = |value: &str| {
                    if in_list {
                        format!("`{value}`")
                    } else {
                        spot.written("", value)
                    }
                };
                let help = if spot.is_string() && variants.contains(&quoted) {
                    format!("write it without quotes: {}", written(quoted))
                } else if spot.is_string() && choice.type_name == DISTRIBUTION.type_name {
                    format!("write it as {}", written(&format!("Fixed({})", spot.text)))
                } else {
                    format!("write it as in {}", written(choice.example))
                };
                let what = if in_list {
                    format!("each item of {}", self.named)
                } else {
                    self.named.clone()
                };
                self.on_token(
                    format!(
                        "{what} is a {}: one of {}",
                        choice.one,
                        prose_list(variants, "or")
                    ),
                    help,
                )
            }
            // Inside a struct's parentheses, the name ron wants is a field's.
            _ if self.inside("(") => {
                let example = self.struct_example("(name: \"lan\")");
                self.on_token(
                    "expected a field name here".into(),
                    format!("write fields as `name: value`, as in `{example}`"),
                )
            }
            _ => self.on_token(
                "expected a name here, such as `Nat` or `WebServer`".into(),
                "names of kinds and variants are written without quotes; the book's \
                 scenario reference lists them"
                    .into(),
            ),
        }
    }

    /// A number or a truth value that is not one, or is out of range.
    fn wrong_number(&self, code: &ron::Error) -> Explained {
        use ron::Error as E;
        let (spot, named) = (self.spot, &self.named);
        match code {
            E::ExpectedInteger | E::InvalidIntegerDigit { .. } | E::UnderscoreAtBeginning => {
                // `workers: "4"` becomes `workers: 4`.
                let example = match (spot.text.trim_matches('"').parse::<u64>(), self.what) {
                    (Ok(n), _) => n,
                    (_, Some(Holds::Whole(max))) => max.min(16),
                    _ => 16,
                };
                self.on_token(
                    format!("{named} is a whole number"),
                    format!(
                        "write digits only, without quotes, as in {}",
                        spot.written("count", &example.to_string())
                    ),
                )
            }
            E::ExpectedFloat | E::FloatUnderscore => self.on_token(
                format!("{named} is a number"),
                format!(
                    "write it without quotes, as in {}",
                    spot.written(
                        "rate",
                        if self.holder == Some("loss") {
                            "0.01"
                        } else {
                            "10.0"
                        }
                    )
                ),
            ),
            E::ExpectedBoolean => self.on_token(
                format!("{named} is true or false"),
                format!(
                    "write {} or {}, without quotes",
                    spot.written("enabled", "true"),
                    spot.written("enabled", "false")
                ),
            ),
            E::IntegerOutOfBounds if spot.text.starts_with('-') => self.on_token(
                format!("{named} cannot be negative"),
                format!(
                    "write a whole number ≥ 0, as in {}",
                    spot.written("count", spot.text.trim_start_matches('-'))
                ),
            ),
            E::IntegerOutOfBounds => self.on_token(
                format!("{} is too large for {named}", spot.text),
                match self.what {
                    Some(Holds::Whole(max)) => format!("{named} goes from 0 to {max}"),
                    _ => "this number is larger than the field can hold".into(),
                },
            ),
            other => self.unreadable(other),
        }
    }

    /// A whole number written with a fraction, such as `workers: 4.5`.
    fn fraction(&self) -> Explained {
        let spot = self.spot;
        self.on_token(
            format!(
                "{} is a whole number: {} has a fraction",
                self.named, spot.text
            ),
            format!(
                "write a whole number, as in {}",
                spot.written("count", spot.text.split('.').next().unwrap_or("1"))
            ),
        )
    }

    /// Brackets that are missing, or of the wrong kind: lists `[...]`, tables `{...}`, a
    /// kind's parentheses `Name(...)`.
    fn wrong_brackets(&self, code: &ron::Error) -> Explained {
        use ron::Error as E;
        match code {
            E::ExpectedArray
            | E::ExpectedArrayEnd
            | E::ExpectedMap
            | E::ExpectedMapColon
            | E::ExpectedMapEnd => self.wrong_list_or_table(code),
            E::ExpectedDifferentLength { expected, found } => self.on_token(
                format!("expected {} but found {found} item(s)", scrub(expected)),
                if self.holder == Some("results") {
                    "each result is a pair of a time and true or false, as in `(\"20s\", false)`"
                        .into()
                } else {
                    "compare with the book's scenario reference".into()
                },
            ),
            other => self.wrong_parentheses(other),
        }
    }

    /// A list `[...]` or a table `{...}` missing, or not closed where ron expected.
    fn wrong_list_or_table(&self, code: &ron::Error) -> Explained {
        use ron::Error as E;
        let named = &self.named;
        match code {
            E::ExpectedArray => self.on_token(
                format!("{named} is a list, in square brackets"),
                format!(
                    "write {}, with the items separated by commas",
                    self.spot.written("nodes", "[ ... ]")
                ),
            ),
            E::ExpectedArrayEnd => self.on_token(
                "expected `,` or `]` in this list".into(),
                "list items are separated by commas, and the list ends with `]`".into(),
            ),
            E::ExpectedMap => self.on_token(
                format!("{named} is a table, in braces"),
                "write it as `{ \"www\": \"10.0.0.10\" }`, each name with its value".into(),
            ),
            E::ExpectedMapColon => self.on_token(
                "expected `:` between a name and its value".into(),
                "write each entry as `\"name\": \"value\"`".into(),
            ),
            E::ExpectedMapEnd => self.on_token(
                "expected `,` or `}` in this table".into(),
                "entries are separated by commas, and the table ends with `}`".into(),
            ),
            other => self.unreadable(other),
        }
    }

    /// A kind's or a value's parentheses `Name(...)`: missing, not closed where ron
    /// expected, given to a name that takes none, or after the wrong name.
    fn wrong_parentheses(&self, code: &ron::Error) -> Explained {
        use ron::Error as E;
        match code {
            E::ExpectedNamedStructLike("Scenario") if self.spot.open.is_none() => self.on_token(
                "a scenario file starts with `Scenario(`".into(),
                "compare with the start of a scenario in scenarios/ (`netlab list` shows them)"
                    .into(),
            ),
            E::ExpectedStructLike | E::ExpectedNamedStructLike(_) => self.expected_parentheses(),
            E::ExpectedStructLikeEnd | E::ExpectedOptionEnd => self.on_token(
                "expected `,` or `)` here".into(),
                "fields are separated by commas, and each `(` needs its `)`".into(),
            ),
            E::ExpectedUnit => {
                let name = self
                    .spot
                    .name_before
                    .map_or("the name", |t| t.text(self.source));
                self.on_token(
                    format!("`{name}` takes nothing in parentheses"),
                    format!("write just `{name}`"),
                )
            }
            E::ExpectedDifferentStructName { expected, found } if *expected == "Scenario" => self
                .on_token(
                    format!("a scenario file starts with `Scenario(`, not `{found}(`"),
                    "check the spelling of `Scenario`".into(),
                ),
            E::ExpectedDifferentStructName { found, .. } => self.on_token(
                format!("`{found}` is not a name used here"),
                "write just the parentheses, `(...)`, without a name before them".into(),
            ),
            other => self.unreadable(other),
        }
    }

    /// ron wanted a string and found something else, often a bare number for a quantity.
    fn expected_string(&self) -> Explained {
        let named = &self.named;
        if self.inside("{") {
            return self.on_token(
                format!("an entry of {named} is a name and an address, both in quotes"),
                "write each entry as `\"www\": \"10.0.0.10\"`".into(),
            );
        }
        let n = if self.spot.is_number() {
            self.spot.text
        } else {
            "10"
        };
        if let Some(quantity) = quantity(self.what, n) {
            return self.without_unit(&quantity);
        }
        match self.what {
            Some(Holds::Text) => self.on_token(
                format!("{named} is text, in double quotes"),
                format!("write it as {}", self.spot.written("field", "\"...\"")),
            ),
            _ => self.on_token(
                "expected a string in double quotes".into(),
                "names and addresses are quoted, and so are quantities with their unit: \
                 durations like \"10ms\", sizes like \"64KiB\", bandwidths like \"100Mbps\""
                    .into(),
            ),
        }
    }

    /// A quantity given as something other than a string: most often a bare number, such as
    /// `delay: 10`, which needs quotes and a unit.
    fn without_unit(&self, quantity: &Quantity) -> Explained {
        let spot = self.spot;
        let (named, kind) = (&self.named, quantity.kind);
        let message = if spot.is_number() {
            format!("{named} is {kind}: {} needs a unit", spot.text)
        } else {
            format!("{named} is {kind}, written in quotes with a unit")
        };
        let [first, second] = &quantity.examples;
        self.on_token(
            message,
            format!(
                "write {} or {second} (units: {})",
                spot.written("field", first),
                quantity.units
            ),
        )
    }

    /// A kind, or a value with fields, written without its parentheses.
    fn expected_parentheses(&self) -> Explained {
        let named = &self.named;
        match self.spot.name_before {
            Some(before) => {
                let name = before.text(self.source);
                Explained {
                    at: before.start,
                    width: name.chars().count(),
                    message: format!("`{name}` needs parentheses"),
                    help: format!(
                        "write `{name}(...)` with its settings inside, or `{name}()` for the \
                     defaults"
                    ),
                }
            }
            None => {
                let example = self.struct_example("(name: value, ...)");
                let (message, help) = if self.inside("[") {
                    (
                        format!("each item of {named} has fields of its own, in parentheses"),
                        format!("write each item as `{example}`"),
                    )
                } else {
                    (
                        format!("{named} has fields of its own, in parentheses"),
                        format!("write it as {}", self.spot.written("interface", example)),
                    )
                };
                self.on_token(message, help)
            }
        }
    }

    /// Text ron could not read as part of a scenario at all, and ron's errors that no family
    /// above takes (rare; ron's own words, with Rust's names scrubbed).
    fn unreadable(&self, code: &ron::Error) -> Explained {
        use ron::Error as E;
        match code {
            E::TrailingCharacters => self.on_token(
                "unexpected text after the end of the scenario".into(),
                "the scenario ends at the `)` that closes `Scenario(`; remove what follows, or \
                 look for an extra `)` before it"
                    .into(),
            ),
            E::InvalidEscape(_) => Explained {
                at: self.pos,
                width: 2,
                message: "unknown escape in a string".into(),
                help: "in a string, write `\\\\` for a backslash and `\\\"` for a quote".into(),
            },
            E::UnexpectedChar(c) => Explained {
                at: self.pos,
                width: 1,
                message: format!("unexpected character {c:?}"),
                help: match c {
                    '\'' => "strings are written in double quotes, as in `\"web\"`".into(),
                    '\0' => "the file holds a NUL byte: is it a text file?".into(),
                    _ => "check the characters here against a scenario in scenarios/".into(),
                },
            },
            E::ExceededRecursionLimit => self.on_token(
                "brackets are nested too deeply".into(),
                "a scenario needs only a few levels of brackets: is a `)` or `]` missing?".into(),
            ),
            E::NoSuchExtension(_) | E::ExpectedAttribute | E::ExpectedAttributeEnd => self
                .on_token(
                    "unknown `#![enable(...)]` line".into(),
                    "scenario files need no `#![enable(...)]`: `Some` may be left out and \
                     variants are unwrapped already; remove the line"
                        .into(),
                ),
            E::InvalidValueForType { expected, found } => self.on_token(
                format!("expected {} but found {}", scrub(expected), scrub(found)),
                "compare with the book's scenario reference".into(),
            ),
            other => self.on_token(
                scrub(&other.to_string()),
                "compare with a scenario in scenarios/ (`netlab list` shows them)".into(),
            ),
        }
    }
}

/// ron wanted a `,` (or the end of the brackets) after a value, and found the token at the
/// spot: a stray character after a value, or a missing comma between two items.
fn expected_comma(spot: &Spot<'_>, source: &str) -> Explained {
    let width = spot.text.chars().count();
    let (message, help) = match (spot.token.map(|t| t.kind), spot.open) {
        (Some(TokenKind::Punct(c)), _) if !"([{".contains(c) => (
            format!("unexpected `{c}` after a value"),
            "a value ends at a `,` or a closing bracket; quantities with a unit go in quotes, \
             as in `\"10ms\"`"
                .to_string(),
        ),
        (_, Some(frame)) if frame.open.text(source) == "[" => (
            "expected `,` between list items".to_string(),
            "put a comma after the item before this one, as in \
             `[(name: \"lan\"), (name: \"dmz\")]`"
                .to_string(),
        ),
        (_, Some(frame)) if frame.open.text(source) == "{" => (
            "expected `,` between entries".to_string(),
            "put a comma after the entry before this one, as in \
             `{ \"www\": \"10.0.0.10\", \"api\": \"10.0.0.11\" }`"
                .to_string(),
        ),
        _ => (
            "expected `,` between fields".to_string(),
            "put a comma after the field before this one; a value with a space or a unit goes \
             in quotes, as in `delay: \"10ms\"`"
                .to_string(),
        ),
    };
    Explained {
        at: spot.start,
        width,
        message,
        help,
    }
}

/// The closing bracket that goes with an opening one.
fn closing(open: &str) -> &'static str {
    match open {
        "[" => "]",
        "{" => "}",
        _ => ")",
    }
}

/// A closing bracket at the spot that does not close the innermost open one, such as the `)`
/// of `Scenario(` after a list whose `]` is missing.
fn mismatched_bracket(spot: &Spot<'_>, source: &str) -> Option<Explained> {
    let token = spot.token?;
    let frame = spot.open?;
    let found = token.text(source);
    let open = frame.open.text(source);
    let want = closing(open);
    if !matches!(found, ")" | "]" | "}") || found == want {
        return None;
    }
    let line = source[..frame.open.start].matches('\n').count() + 1;
    Some(Explained {
        at: token.start,
        width: 1,
        message: format!("expected `{want}` to close the `{open}` of line {line}, found `{found}`"),
        help: format!("add the missing `{want}` before this `{found}`"),
    })
}

/// A typical value of something that holds `what`, as written in a file.
fn example_of(what: Option<Holds>) -> &'static str {
    match what {
        Some(Holds::Duration) => "\"10ms\"",
        Some(Holds::Size) => "\"64KiB\"",
        Some(Holds::Bandwidth) => "\"100Mbps\"",
        Some(Holds::Text) => "\"...\"",
        Some(Holds::Whole(_)) => "1",
        Some(Holds::Number) => "1.0",
        Some(Holds::Bool) => "true",
        Some(Holds::Choice(choice)) => choice.example,
        None => "...",
    }
}

/// A quantity written in quotes with a unit: what it is, its units, and two ways to write
/// a value of it.
struct Quantity {
    /// "a duration", "a size" or "a bandwidth".
    kind: &'static str,
    /// Its units, as a list in words.
    units: &'static str,
    /// Two examples, the first with the number `n` given to [`quantity`].
    examples: [String; 2],
}

/// The quantity that `what` is, with examples using the number `n`; `None` for what is not
/// a quantity.
fn quantity(what: Option<Holds>, n: &str) -> Option<Quantity> {
    let (kind, units, examples) = match what? {
        Holds::Duration => (
            "a duration",
            "ns, us, ms, s, min or h",
            [format!("\"{n}ms\""), format!("\"{n}s\"")],
        ),
        Holds::Size => (
            "a size",
            "B, KB, MB, KiB or MiB",
            [format!("\"{n}B\""), "\"64KiB\"".to_string()],
        ),
        Holds::Bandwidth => (
            "a bandwidth",
            "bps, Kbps, Mbps or Gbps",
            [format!("\"{n}Mbps\""), format!("\"{n}Gbps\"")],
        ),
        _ => return None,
    };
    Some(Quantity {
        kind,
        units,
        examples,
    })
}

/// The file ended too early: say what was left open.
fn end_of_file(spot: &Spot<'_>, source: &str) -> Explained {
    if !spot.has_code {
        return Explained {
            at: 0,
            width: 1,
            message: "the file has no scenario in it".into(),
            help: "a scenario starts with `Scenario(`; copy one from scenarios/ to begin".into(),
        };
    }
    match (spot.unclosed, spot.open) {
        (Some(t), _) if t.is_comment() => Explained {
            at: t.start,
            width: 2,
            message: "this comment is never closed".into(),
            help: "end it with `*/`; comments nest, so each `/*` inside needs its own `*/`".into(),
        },
        (Some(t), _) => Explained {
            at: t.start,
            width: 1,
            message: "this string is never closed".into(),
            help: "add the closing `\"`".into(),
        },
        (None, Some(frame)) => {
            let bracket = frame.open.text(source);
            let closing = closing(bracket);
            Explained {
                at: frame.open.start,
                width: 1,
                message: format!("this `{bracket}` is never closed"),
                help: format!("add the matching `{closing}`; the file ends before it"),
            }
        }
        (None, None) => Explained {
            at: source.len(),
            width: 1,
            message: "the file ends before the scenario is complete".into(),
            help: "compare with a scenario in scenarios/ (`netlab list` shows them)".into(),
        },
    }
}

/// ron's messages start with a capital; ours do not.
fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::scenario::load::{LoadError, load_str, parse};

    /// A small valid scenario that the cases below break one way each.
    const BASE: &str = r#"// A comment first, so that nothing may point here.
Scenario(
    name: "hello",
    description: "one client, one server",
    segments: [(name: "lan", delay: "10us", queue: "64KiB", bandwidth: "1Gbps")],
    nodes: [
        WebServer(name: "web", interface: (attach: "lan", ip: "10.0.0.10/24"), workers: 4,
                  service_time: Fixed("1ms")),
        Clients(name: "pc", count: 1, attach: "lan", first_ip: "10.0.0.100/24",
                url: "http://10.0.0.10/", workload: OpenLoop(rate: 10.0, requests: 5),
                timeout: "5s"),
    ],
    faults: [(at: "1s", target: "web", event: ServiceErrors(503))],
)
"#;

    /// BASE with `old` replaced by `new` (which must be there).
    fn with(old: &str, new: &str) -> String {
        assert!(BASE.contains(old), "{old}");
        BASE.replacen(old, new, 1)
    }

    /// The syntax diagnostic of `source`.
    fn syntax(source: &str) -> Diagnostic {
        match parse("t.ron", source) {
            Err(LoadError::Syntax(d)) => *d,
            other => panic!("expected a syntax error, got {other:?}"),
        }
    }

    /// Checks that `source` fails with a message containing `message`, a help containing
    /// `help`, and a caret under `token`.
    fn check(source: &str, token: &str, message: &str, help: &str) {
        let d = syntax(source);
        let text = d.to_string();
        assert!(d.message.contains(message), "{text}");
        assert!(d.help.as_deref().unwrap_or("").contains(help), "{text}");
        let underlined: String = d
            .source_line
            .chars()
            .skip(d.col - 1 - d.source_start)
            .take(d.width)
            .collect();
        assert_eq!(underlined, token, "{text}");
    }

    #[test]
    fn the_base_scenario_loads() {
        load_str("t.ron", BASE).unwrap();
    }

    #[test]
    fn negative_numbers_are_named_as_such() {
        let source = with("workers: 4", "workers: -3");
        check(&source, "-3", "`workers` cannot be negative", "≥ 0");
        let source = with("count: 1", "count: -1");
        check(&source, "-1", "`count` cannot be negative", "`count: 1`");
        let source = with("ServiceErrors(503)", "ServiceErrors(-1)");
        check(
            &source,
            "-1",
            "`ServiceErrors` cannot be negative",
            "`ServiceErrors(1)`",
        );
    }

    #[test]
    fn numbers_too_large_give_the_range() {
        let source = with("workers: 4", "port: 70000");
        check(&source, "70000", "too large for `port`", "0 to 65535");
    }

    #[test]
    fn bare_numbers_for_quantities_ask_for_a_unit() {
        let source = with("delay: \"10us\"", "delay: 10");
        check(&source, "10", "`delay` is a duration", "`delay: \"10ms\"`");
        let source = with("timeout: \"5s\"", "timeout: 5");
        check(&source, "5", "`timeout` is a duration", "\"5s\"");
        let source = with("queue: \"64KiB\"", "queue: 65536");
        check(&source, "65536", "`queue` is a size", "KiB");
        let source = with("bandwidth: \"1Gbps\"", "bandwidth: 100");
        check(&source, "100", "`bandwidth` is a bandwidth", "\"100Mbps\"");
        let source = with("Fixed(\"1ms\")", "Fixed(1)");
        check(&source, "1", "`Fixed` is a duration", "`Fixed(\"1ms\")`");
        let source = with("faults: [", "hosts: { \"www\": 10 },\n    faults: [");
        check(
            &source,
            "10",
            "an entry of `hosts`",
            "`\"www\": \"10.0.0.10\"`",
        );
        // Where the field is not known, the hint lists all three forms.
        let source = with("ServiceErrors(503)", "Partition(a: [1], b: [])");
        check(
            &source,
            "1",
            "expected a string",
            "\"10ms\", sizes like \"64KiB\", bandwidths",
        );
    }

    #[test]
    fn whole_numbers_are_written_as_such() {
        let source = with("workers: 4", "workers: 4.5");
        check(
            &source,
            "4.5",
            "whole number: 4.5 has a fraction",
            "`workers: 4`",
        );
        let source = with("workers: 4", "workers: \"4\"");
        check(
            &source,
            "\"4\"",
            "`workers` is a whole number",
            "`workers: 4`",
        );
    }

    #[test]
    fn choices_list_their_names_in_the_scenarios_words() {
        let source = with("workload: OpenLoop(", "workload: OpenLop(");
        check(
            &source,
            "OpenLop",
            "unknown workload `OpenLop`",
            "did you mean `OpenLoop`?",
        );
        let source = with("WebServer(", "Switch(");
        check(
            &source,
            "Switch",
            "unknown node kind `Switch`",
            "Router, Host, WebServer",
        );
        let source = with("event: ServiceErrors(503)", "event: Explode");
        check(
            &source,
            "Explode",
            "unknown fault event",
            "Crash, InterfaceDown",
        );
        let source = with("Fixed(\"1ms\")", "fixed(\"1ms\")");
        check(
            &source,
            "fixed",
            "unknown time distribution",
            "(capitals matter)",
        );
        let source = with("Fixed(\"1ms\")", "\"1ms\"");
        check(
            &source,
            "\"1ms\"",
            "time distribution: one of Fixed or Exponential",
            "`service_time: Fixed(\"1ms\")`",
        );
        let source = with(
            "workload: OpenLoop(rate: 10.0, requests: 5)",
            "workload: OpenLoop",
        );
        check(
            &source,
            "OpenLoop",
            "`OpenLoop` needs parentheses",
            "`OpenLoop()`",
        );
    }

    #[test]
    fn fields_are_named_in_the_scenarios_words() {
        let source = with("delay: \"10us\"", "dealy: \"10us\"");
        check(
            &source,
            "dealy",
            "a segment or link has no field `dealy`",
            "did you mean `delay`?",
        );
        let source = with("workers: 4", "workers: 4, workers: 5");
        check(
            &source,
            "workers",
            "`workers` is given twice",
            "keep only one",
        );
        let source = with(", workload: OpenLoop(rate: 10.0, requests: 5)", "");
        check(
            &source,
            "Clients",
            "`Clients` is missing `workload`",
            "add `workload: OpenLoop(",
        );
        let source = with(
            "interface: (attach: \"lan\", ip: \"10.0.0.10/24\")",
            "interface: \"lan\"",
        );
        check(
            &source,
            "\"lan\"",
            "`interface` has fields of its own",
            "(attach: \"lan\"",
        );
        let source = with("workers: 4", "workers: 4, arp_ignore: \"no\"");
        check(
            &source,
            "\"no\"",
            "`arp_ignore` is true or false",
            "`arp_ignore: false`",
        );
    }

    #[test]
    fn brackets_and_strings_left_open_are_found() {
        let source = with("name: \"hello\",", "name: \"hello,");
        check(
            &source,
            "\"",
            "this string runs past the end of its line",
            "closing `\"`",
        );
        let source = BASE.trim_end().trim_end_matches(')');
        check(
            source,
            "(",
            "this `(` is never closed",
            "add the matching `)`",
        );
        let source = format!("{BASE}/* never closed");
        check(&source, "/*", "this comment is never closed", "*/");
        let source = format!("{BASE})");
        check(&source, ")", "unexpected text after the end", "extra `)`");
        check("// only a comment\n", "/", "no scenario in it", "Scenario(");
        check(
            "Senario(name: \"x\")",
            "Senario",
            "starts with `Scenario(`, not `Senario(`",
            "spelling",
        );
    }

    #[test]
    fn a_byte_order_mark_is_skipped_and_columns_still_count_from_1() {
        let source = format!("\u{feff}{BASE}");
        load_str("t.ron", &source).unwrap();
        let d = syntax("\u{feff}Scenario(name: 5)");
        assert_eq!((d.line, d.col), (1, 16), "{d}");
    }

    /// Whether `text` holds a Rust type name of `format`, such as `SegmentFile`.
    fn type_name_in(text: &str) -> Option<&str> {
        text.split(|c: char| !c.is_ascii_alphanumeric()).find(|w| {
            w.len() > 4 && w.ends_with("File") && w.starts_with(|c: char| c.is_ascii_uppercase())
        })
    }

    /// Checks one broken text: no panic, and a syntax error is positioned, has a help line,
    /// and names no Rust type.
    fn check_no_leak(source: &str, what: &str) {
        if let Err(LoadError::Syntax(d)) = load_str("t.ron", source) {
            let text = d.to_string();
            assert_eq!(type_name_in(&text), None, "{what}:\n{text}");
            assert!(!text.contains("r#"), "{what}:\n{text}");
            assert!(
                d.help.as_ref().is_some_and(|h| !h.is_empty()),
                "{what}:\n{text}"
            );
            assert!(text.contains("--> t.ron:"), "{what}:\n{text}");
        }
    }

    #[test]
    fn no_rust_type_name_leaks_from_wrong_values() {
        // Every distinct field of the shipped scenarios gets each of these values in turn.
        let wrong = [
            "-3",
            "10",
            "4.5",
            "70000",
            "\"x\"",
            "Nope",
            "Nope(1)",
            "(nope: 1)",
            "[1]",
            "{ \"a\": 1 }",
            "true",
            "()",
            "'c'",
            "[(1)]",
            "Some(-1)",
        ];
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "ron"))
            .collect();
        files.sort();
        let mut seen = std::collections::BTreeSet::new();
        let mut tried = 0;
        for file in files {
            let source = std::fs::read_to_string(&file).unwrap();
            let tokens: Vec<Token> = Lexer::new(&source).filter(|t| !t.is_comment()).collect();
            for (i, t) in tokens.iter().enumerate() {
                let is_key = t.kind == TokenKind::Ident
                    && tokens
                        .get(i + 1)
                        .is_some_and(|n| n.kind == TokenKind::Punct(':'));
                if !is_key || !seen.insert(t.text(&source).to_string()) {
                    continue;
                }
                let Some((start, end)) = value_extent(&tokens, i + 2, &source) else {
                    continue;
                };
                for value in wrong {
                    let broken = format!("{}{value}{}", &source[..start], &source[end..]);
                    check_no_leak(&broken, &format!("{} = {value}", t.text(&source)));
                    tried += 1;
                }
                // The field misspelt, and the field left out.
                let renamed = format!("{}nope{}", &source[..t.start], &source[t.end..]);
                check_no_leak(&renamed, "renamed");
                let removed = format!("{}{}", &source[..t.start], &source[end..]);
                check_no_leak(&removed, "removed");
            }
        }
        assert!(tried > 500, "only {tried} cases");
    }

    /// Byte range of the value that starts at token `i`: one token, a signed number, or a
    /// name with the brackets after it.
    fn value_extent(tokens: &[Token], i: usize, source: &str) -> Option<(usize, usize)> {
        let first = tokens.get(i)?;
        let mut j = i;
        if matches!(first.kind, TokenKind::Ident | TokenKind::Punct('-'))
            && tokens
                .get(i + 1)
                .is_some_and(|n| matches!(n.kind, TokenKind::Punct('(') | TokenKind::Number))
        {
            j += 1;
        }
        if matches!(tokens[j].kind, TokenKind::Punct('(' | '[' | '{')) {
            let mut depth = 0;
            for (k, t) in tokens.iter().enumerate().skip(j) {
                match t.text(source) {
                    "(" | "[" | "{" => depth += 1,
                    ")" | "]" | "}" => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    return Some((first.start, tokens[k].end));
                }
            }
            return None;
        }
        Some((first.start, tokens[j].end))
    }

    #[test]
    fn hand_picked_mistakes_leak_no_type_names() {
        let cases = [
            // (A student who writes `SegmentFile(` gets that word quoted back, which is fine.)
            with("segments: [(name", "segments: [Segment(name"),
            with("interface: (attach", "interface: Interface(attach"),
            with("Scenario(", "Scenario["),
            with("(at: \"1s\"", "(at: \"1s\", nope: 1"),
            with("requests: 5", "requests: Some(5"),
            with("requests: 5", "requests: None(5)"),
            "#![enable(nope)]\nScenario()".to_string(),
            "Scenario(nodes: [Router(name: \"r\", interfaces: [], routes: [(to: 1)])])".to_string(),
            "Scenario(name: \"x\", description: \"x\", nodes: [], capture: (enabled: 1))"
                .to_string(),
        ];
        for case in &cases {
            check_no_leak(case, case);
        }
    }

    #[test]
    fn the_tables_match_the_file_format() {
        let format = include_str!("../format.rs");
        for (name, _) in FIELDS {
            let as_field = format!("pub {name}:");
            let as_variant = format!("    {name}(");
            let in_variant = format!("        {name}:");
            assert!(
                format.contains(&as_field)
                    || format.contains(&as_variant)
                    || format.contains(&in_variant),
                "{name} is not a field or variant of format.rs"
            );
        }
        for choice in CHOICES {
            assert!(!(choice.variants)().is_empty(), "{}", choice.type_name);
            assert!(format.contains(&format!("pub enum {} {{", choice.type_name)));
        }
        // Every type of format.rs has words, so `struct_words` never falls back to a Rust name.
        for line in format.lines() {
            let name = line
                .strip_prefix("pub struct ")
                .or_else(|| line.strip_prefix("pub enum "))
                .and_then(|rest| rest.split_whitespace().next());
            if let Some(name) = name {
                let known = STRUCTS.iter().any(|(n, _)| *n == name)
                    || CHOICES.iter().any(|c| c.type_name == name)
                    || name == "FaultEventFile";
                assert!(known, "{name} has no words in load.rs");
                assert_eq!(type_name_in(&struct_words(name)), None, "{name}");
            }
        }
    }

    #[test]
    fn scrub_replaces_type_names() {
        assert_eq!(
            scrub("expected struct variant CheckFile::TcpCheck in SegmentFile"),
            "expected struct variant TcpCheck in a segment or link"
        );
        assert_eq!(scrub("MyFileX and File"), "MyFileX and File");
    }
}
