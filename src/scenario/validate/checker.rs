//! *The checker*: collects every problem with its position, and reads the values every node
//! kind shares (durations, sizes, counts, lists, names) against their [`limits`].
//!
//! Each node kind's module adds what it needs; this one only knows how to report.
//!
//! [`limits`]: super::limits

use std::collections::BTreeMap;
use std::fmt::Display;
use std::net::Ipv4Addr;

use super::limits::{self, Bounds};
use crate::app::Distribution;
use crate::net::Bandwidth;
use crate::scenario::diagnostic::{Diagnostic, Locator};
use crate::scenario::format::DistributionFile;
use crate::scenario::spans::{NodeId, Spans, Step};
use crate::scenario::units::{parse_bandwidth, parse_duration, parse_size};
use crate::sim::SimDuration;

/// What an address is to the node that claims it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Role {
    /// The address of one of its interfaces.
    Interface,
    /// A client host's address.
    ClientHost,
    /// A virtual service's address on a director.
    Vip,
    /// A virtual address VRRP moves between the members of a group.
    VrrpVip,
}

impl Role {
    /// How a message names it.
    pub fn words(self) -> &'static str {
        match self {
            Role::Interface => "an interface address",
            Role::ClientHost => "a client host's address",
            Role::Vip => "a virtual service's VIP",
            Role::VrrpVip => "a VRRP virtual address",
        }
    }
}

/// The addresses nodes have claimed so far, to find duplicates.
#[derive(Default)]
pub(super) struct Claims {
    /// IPv4 addresses, with the node that owns each and what the address is to it.
    pub addresses: BTreeMap<Ipv4Addr, (String, Role)>,
    /// MAC addresses given in the file, with the node that owns each.
    pub macs: BTreeMap<[u8; 6], String>,
}

/// How to read one kind of quantity, and how messages compare it.
struct Quantity<T> {
    /// The parser from `units`.
    parse: fn(&str) -> Result<T, String>,
    /// An example value for the help line.
    example: &'static str,
    /// The words for "below the minimum" and "above the maximum".
    words: (&'static str, &'static str),
}

/// Collects diagnostics while checking, and remembers what the scenario has claimed so far
/// (names, addresses, MAC addresses) to find duplicates.
pub(super) struct Checker<'a> {
    /// Finds tokens for positions.
    loc: &'a Locator<'a>,
    /// Problems found so far.
    pub problems: Vec<Diagnostic>,
    /// Segment and link names, with their index.
    pub segments: BTreeMap<String, usize>,
    /// How many interfaces each segment has attached, by index.
    pub attach_counts: Vec<usize>,
    /// Every address and MAC address in use, with the node that owns it.
    pub claims: Claims,
    /// The `hosts` table.
    pub hosts: BTreeMap<String, Ipv4Addr>,
    /// Machines counted so far, each client host on its own.
    pub machines: u64,
    /// When the run ends (`limits.max_sim_time`): nothing may start later.
    pub end: SimDuration,
    /// Names in `hosts` whose entry was refused: no second error for them.
    pub broken_hosts: std::collections::BTreeSet<String>,
    /// Where each entry of the file is.
    spans: Spans,
    /// The entries being checked, innermost last: problems are searched for there first.
    scopes: Vec<NodeId>,
}

impl<'a> Checker<'a> {
    /// A checker with nothing claimed yet.
    pub fn new(loc: &'a Locator<'a>) -> Checker<'a> {
        Checker {
            loc,
            problems: Vec::new(),
            segments: BTreeMap::new(),
            attach_counts: Vec::new(),
            claims: Claims::default(),
            hosts: BTreeMap::new(),
            machines: 0,
            end: SimDuration::MAX,
            broken_hosts: std::collections::BTreeSet::new(),
            spans: Spans::new(loc.source()),
            scopes: Vec::new(),
        }
    }

    /// Runs `check` with the entry at `path` (from the current one) as the place where its
    /// problems are searched for first: `nodes[3]`, then `services[0]`, `real_servers[2]`.
    pub fn within<T>(&mut self, path: &[Step<'_>], check: impl FnOnce(&mut Self) -> T) -> T {
        let base = self.scopes.last().copied().unwrap_or(self.spans.root());
        self.scopes.push(self.spans.descend(base, path));
        let result = check(self);
        self.scopes.pop();
        result
    }

    /// How many entries deep the checker is; [`Checker::enter_at`] and [`Checker::leave`]
    /// take it, for loops whose body may `continue`.
    pub fn depth(&self) -> usize {
        self.scopes.len()
    }

    /// Leaves every entry entered since `depth`, then enters the one at `path` from there.
    pub fn enter_at(&mut self, depth: usize, path: &[Step<'_>]) {
        self.scopes.truncate(depth);
        let base = self.scopes.last().copied().unwrap_or(self.spans.root());
        self.scopes.push(self.spans.descend(base, path));
    }

    /// Leaves every entry entered since `depth`.
    pub fn leave(&mut self, depth: usize) {
        self.scopes.truncate(depth);
    }

    /// The first diagnostic `find` gives in the current entry or, failing that, in the entries
    /// around it, innermost first.
    fn in_scope(&self, find: impl Fn((usize, usize)) -> Option<Diagnostic>) -> Option<Diagnostic> {
        self.scopes
            .iter()
            .rev()
            .find_map(|&node| find(self.spans.range(node)))
    }

    /// Reports a problem with the quoted `value`, found after the quoted `anchor`.
    pub fn at_value(
        &mut self,
        value: &str,
        anchor: Option<&str>,
        message: String,
        help: impl Into<String>,
    ) {
        let mut d = self
            .in_scope(|range| self.loc.quoted_in(value, range, &message))
            .unwrap_or_else(|| self.loc.quoted(value, anchor, message));
        d.help = Some(help.into());
        self.problems.push(d);
    }

    /// Reports a problem with a field whose value is not a string (a number, a list).
    pub fn at_field(
        &mut self,
        field: &str,
        anchor: Option<&str>,
        message: String,
        help: impl Into<String>,
    ) {
        let mut d = self
            .in_scope(|range| self.loc.field_in(field, range, &message))
            .unwrap_or_else(|| self.loc.field(field, anchor, message));
        d.help = Some(help.into());
        self.problems.push(d);
    }

    /// Parses a duration within `bounds`, or reports it (and returns the minimum).
    pub fn duration(
        &mut self,
        text: Option<&str>,
        default: &str,
        bounds: Bounds,
        anchor: Option<&str>,
    ) -> SimDuration {
        let quantity = Quantity {
            parse: parse_duration,
            example: "10ms",
            words: ("shorter", "longer"),
        };
        self.bounded(text.unwrap_or(default), bounds, &quantity, anchor)
    }

    /// [`Checker::duration`] for an optional field without a default; `None` when it is
    /// missing or refused, so later comparisons do not pile up on a refused value.
    pub fn opt_duration(
        &mut self,
        text: Option<&str>,
        bounds: Bounds,
        anchor: Option<&str>,
    ) -> Option<SimDuration> {
        let text = text?;
        let before = self.problems.len();
        let value = self.duration(Some(text), text, bounds, anchor);
        (self.problems.len() == before).then_some(value)
    }

    /// A time in the run (`start`, `at`) given as `text`: within [`limits::TIME`], and before
    /// the run ends.
    pub fn start_time(&mut self, text: Option<&str>, anchor: Option<&str>) -> SimDuration {
        let at = self.duration(text, "0s", limits::TIME, anchor);
        if let Some(text) = text
            && at >= self.end
        {
            self.at_value(
                text,
                anchor,
                format!("\"{text}\" is not before the run ends ({})", self.end),
                "move it earlier, or raise `max_sim_time` in `limits`",
            );
        }
        at
    }

    /// Parses a size in bytes within `bounds`, or reports it (and returns the minimum).
    pub fn size(
        &mut self,
        text: Option<&str>,
        default: &str,
        bounds: Bounds,
        anchor: Option<&str>,
    ) -> u64 {
        let quantity = Quantity {
            parse: parse_size,
            example: "64KiB",
            words: ("smaller", "larger"),
        };
        self.bounded(text.unwrap_or(default), bounds, &quantity, anchor)
    }

    /// Parses a bandwidth within `bounds`, or reports it (and returns the minimum).
    pub fn bandwidth(
        &mut self,
        text: Option<&str>,
        default: &str,
        bounds: Bounds,
        anchor: Option<&str>,
    ) -> Bandwidth {
        let quantity = Quantity {
            parse: parse_bandwidth,
            example: "100Mbps",
            words: ("slower", "faster"),
        };
        self.bounded(text.unwrap_or(default), bounds, &quantity, anchor)
    }

    /// Parses `text` as a `quantity` within `bounds`, or reports it (and returns the minimum).
    fn bounded<T: PartialOrd + Copy>(
        &mut self,
        text: &str,
        bounds: Bounds,
        quantity: &Quantity<T>,
        anchor: Option<&str>,
    ) -> T {
        let min = (quantity.parse)(bounds.min).expect("limits parse");
        let max = (quantity.parse)(bounds.max).expect("limits parse");
        let range = format!("netlab takes \"{}\" to \"{}\" here", bounds.min, bounds.max);
        let (problem, help) = match (quantity.parse)(text) {
            Ok(value) if value >= min && value <= max => return value,
            Ok(value) if value < min => (
                format!(
                    "\"{text}\" is {} than the \"{}\" netlab allows here",
                    quantity.words.0, bounds.min
                ),
                range,
            ),
            Ok(_) => (
                format!(
                    "\"{text}\" is {} than the \"{}\" netlab allows here",
                    quantity.words.1, bounds.max
                ),
                range,
            ),
            Err(e) => (
                e,
                format!(
                    "write a number and a unit, such as \"{}\" ({range})",
                    quantity.example
                ),
            ),
        };
        self.at_value(text, anchor, problem, help);
        min
    }

    /// Reports `value` of `field` unless it lies in `min..=max`; returns it either way.
    pub fn count<T: PartialOrd + Display + Copy>(
        &mut self,
        value: T,
        field: &str,
        anchor: Option<&str>,
        min: T,
        max: T,
    ) -> T {
        if value < min || value > max {
            let message = if value < min {
                format!("`{field}` is {value}, below the minimum of {min}")
            } else {
                format!("`{field}` is {value}, above netlab's maximum of {max}")
            };
            self.at_field(
                field,
                anchor,
                message,
                format!("use {min} to {max}; the book's scenario reference lists every limit"),
            );
        }
        value
    }

    /// Reports a list `field` longer than `max`; returns whether it is within the limit.
    pub fn list_len(&mut self, len: usize, field: &str, anchor: Option<&str>, max: usize) -> bool {
        if len > max {
            self.at_field(
                field,
                anchor,
                format!("`{field}` has {len} entries; netlab takes at most {max}"),
                "split the scenario, or use fewer entries; the book's scenario reference lists every limit",
            );
            return false;
        }
        true
    }

    /// Parses a time distribution, or reports it.
    pub fn distribution(
        &mut self,
        d: Option<&DistributionFile>,
        default: SimDuration,
        anchor: Option<&str>,
    ) -> Distribution {
        match d {
            None => Distribution::Fixed(default),
            Some(DistributionFile::Fixed(t)) => {
                Distribution::Fixed(self.duration(Some(t), "0s", limits::WAIT, anchor))
            }
            Some(DistributionFile::Exponential(t)) => {
                Distribution::Exponential(self.duration(Some(t), "0s", limits::WAIT, anchor))
            }
        }
    }

    /// Reports `name` unless it is a valid name of a `what` (see [`super::names`]).
    pub fn name(&mut self, name: &str, what: &str, anchor: Option<&str>) {
        if let Err(problem) = super::names::check_name(name) {
            self.at_value(
                name,
                anchor,
                format!("{what} name \"{}\" {problem}", shorten(name)),
                super::names::NAME_RULE,
            );
        }
    }
}

/// At most 40 characters of `text`, for messages that quote what the user wrote.
pub(super) fn shorten(text: &str) -> String {
    if text.chars().count() <= 40 {
        text.to_string()
    } else {
        let head: String = text.chars().take(37).collect();
        format!("{head}...")
    }
}

/// A number as a message shows it: `1e300`, not three hundred digits.
pub(super) fn number(value: f64) -> String {
    if value.is_finite() && value != 0.0 && !(1e-3..1e9).contains(&value.abs()) {
        format!("{value:e}")
    } else {
        format!("{value}")
    }
}
