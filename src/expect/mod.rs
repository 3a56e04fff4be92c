//! *Expected outcomes*: assertions a scenario makes about its own results, which
//! `netlab test` checks after the run.
//!
//! A lab states what a student should see: "no request fails", "web1 serves a third of the
//! requests, give or take 3 points", "the backup director takes over before 14 s". A scenario
//! writes those statements in its `expect` list, one string each, in the words of its own
//! output files:
//!
//! ```text
//! expect: [
//!     "requests.failed <= 5",
//!     "servers.web1.share within 0.33 +- 0.03",
//!     "latency_ms.p95 < 50",
//!     "failures.0.detection_s < 4",
//!     "events contains vrrp_master(lb2/VI_51) before 14s",
//! ]
//! ```
//!
//! A *metric* is a path into `summary.json` (see `metric`), plus `servers.<name>.share`, the
//! server's part of all the responses. `events contains EVENT(TARGET)` looks for a line of
//! `events.csv`, optionally `before` or `after` a time. `check` refuses a statement it cannot
//! parse or a metric the scenario cannot have, with the nearest valid name; the run then
//! decides each one ([`evaluate`]), and a failed one names the metric, what was expected and
//! what the run gave.
//!
//! `suite` runs many scenarios this way, compares chosen metrics with a stored
//! `<stem>.expected.json`, and writes JUnit XML for autograders.

pub mod metric;
pub mod suite;

use std::fmt;

use serde_json::Value;

use crate::scenario::units::parse_duration;
use crate::sim::SimDuration;
use crate::trace::EventRecord;
pub use metric::Metric;

/// The event names a run writes to `events.csv`, for `events contains ...`.
pub const EVENTS: &[&str] = &[
    "crash",
    "restore",
    "interface_down",
    "interface_up",
    "link_down",
    "link_up",
    "loss",
    "loss_cleared",
    "extra_delay",
    "delay_cleared",
    "partition",
    "partition_healed",
    "service_stop",
    "service_hang",
    "service_errors",
    "service_slow",
    "service_normal",
    "service_start",
    "vrrp_shutdown",
    "vrrp_restart",
    "vrrp_master",
    "vrrp_backup",
    "vrrp_stopped",
    "vrrp_fault",
    "vrrp_sync_wait",
    "garp",
    "arp_update",
    "server_down",
    "server_up",
    "quorum_lost",
    "quorum_regained",
    "set_weight",
    "add_server",
    "remove_server",
    "remove_record",
    "add_record",
    "set_ttl",
    "plug_in",
    "set_priority",
    "alarm",
    "alarm_cleared",
];

/// How a metric is compared.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Comparison {
    /// `<`
    Less,
    /// `<=`
    AtMost,
    /// `>`
    Greater,
    /// `>=`
    AtLeast,
    /// `==`
    Equal,
    /// `!=`
    NotEqual,
    /// `within VALUE +- TOLERANCE`: the value lies in `[VALUE - TOLERANCE, VALUE + TOLERANCE]`.
    Within(f64),
}

impl Comparison {
    /// Whether `actual` compares so with `expected`.
    fn holds(self, actual: f64, expected: f64) -> bool {
        match self {
            Comparison::Less => actual < expected,
            Comparison::AtMost => actual <= expected,
            Comparison::Greater => actual > expected,
            Comparison::AtLeast => actual >= expected,
            Comparison::Equal => actual == expected,
            Comparison::NotEqual => actual != expected,
            // A hair of slack, so that 0.3 is within 0.33 +- 0.03 despite binary fractions.
            Comparison::Within(tolerance) => (actual - expected).abs() <= tolerance + 1e-9,
        }
    }
}

/// The comparison operators as statements write them.
const OPERATORS: [(&str, Comparison); 6] = [
    ("<", Comparison::Less),
    ("<=", Comparison::AtMost),
    (">", Comparison::Greater),
    (">=", Comparison::AtLeast),
    ("==", Comparison::Equal),
    ("!=", Comparison::NotEqual),
];

/// When, relative to a time, an event must have happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    /// Any time in the run.
    Any,
    /// Strictly before this time.
    Before(SimDuration),
    /// At or after this time.
    After(SimDuration),
}

/// One parsed statement of an `expect` list.
#[derive(Clone, Debug, PartialEq)]
pub enum Expectation {
    /// `METRIC OP NUMBER`, or `METRIC within NUMBER +- NUMBER`.
    Compare {
        /// What is measured.
        metric: Metric,
        /// How.
        comparison: Comparison,
        /// Against what.
        value: f64,
    },
    /// `events contains EVENT[(TARGET)] [before|after TIME]`, or `events lacks ...`.
    Event {
        /// Whether the event must be there (`contains`) or must not (`lacks`).
        present: bool,
        /// The event's name, as in `events.csv`.
        event: String,
        /// Its target, if given (`lb2/VI_51`, `web1`).
        target: Option<String>,
        /// When.
        when: When,
    },
}

/// Why a statement could not be parsed: a message and a hint, both in the scenario's words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// What is wrong.
    pub message: String,
    /// How to write it.
    pub help: String,
}

/// The hint for a statement that does not parse.
const FORMS: &str = "write METRIC OP NUMBER (OP is <, <=, >, >=, == or !=), METRIC within NUMBER +- NUMBER, or events contains EVENT(TARGET) before TIME";

/// The words of a statement: split at spaces, except inside `[...]`, so that a metric such as
/// `balancers.lb.services[TCP 10.0.1.100:80].no_destination` stays one word.
fn words(text: &str) -> Vec<&str> {
    let mut words = Vec::new();
    let mut start = None;
    let mut depth = 0usize;
    for (i, ch) in text.char_indices() {
        match ch {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if ch.is_whitespace() && depth == 0 {
            if let Some(s) = start.take() {
                words.push(&text[s..i]);
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        words.push(&text[s..]);
    }
    words
}

/// Parses one statement of an `expect` list.
pub fn parse(text: &str) -> Result<Expectation, ParseError> {
    let words = words(text);
    match words.as_slice() {
        ["events", verb @ ("contains" | "lacks"), event, rest @ ..] => {
            event_expectation(*verb == "contains", event, rest)
        }
        [metric, "within", value, "+-" | "±", tolerance] => Ok(Expectation::Compare {
            metric: Metric::parse(metric).map_err(forms_error)?,
            comparison: Comparison::Within(number(tolerance).map_err(forms_error)?),
            value: number(value).map_err(forms_error)?,
        }),
        [metric, op, value] => {
            let Some(&(_, comparison)) = OPERATORS.iter().find(|(word, _)| word == op) else {
                return Err(forms_error(format!("\"{op}\" is not a comparison")));
            };
            Ok(Expectation::Compare {
                metric: Metric::parse(metric).map_err(forms_error)?,
                comparison,
                value: number(value).map_err(forms_error)?,
            })
        }
        _ => Err(forms_error(format!(
            "cannot read \"{text}\" as an expectation"
        ))),
    }
}

/// An error whose help lists the forms a statement can take.
fn forms_error(message: String) -> ParseError {
    ParseError {
        message,
        help: FORMS.to_string(),
    }
}

/// `events contains|lacks EVENT[(TARGET)] [before|after TIME]`, after its first two words:
/// whether the event must be `present`, the event as written, and the words after it.
fn event_expectation(
    present: bool,
    written: &str,
    rest: &[&str],
) -> Result<Expectation, ParseError> {
    let (event, target) = match written.split_once('(') {
        Some((name, target)) => {
            let target = target
                .strip_suffix(')')
                .ok_or_else(|| forms_error(format!("\"{written}\" has no closing parenthesis")))?;
            (name, Some(target.to_string()))
        }
        None => (written, None),
    };
    known_event(event)?;
    Ok(Expectation::Event {
        present,
        event: event.to_string(),
        target,
        when: when_clause(rest)?,
    })
}

/// `event` if it is one of the timeline's events, else an error naming the nearest one.
fn known_event(event: &str) -> Result<(), ParseError> {
    if EVENTS.contains(&event) {
        return Ok(());
    }
    let mut help = format!("the events are: {}", EVENTS.join(", "));
    if let Some(near) = crate::scenario::diagnostic::nearest(event, EVENTS.iter().copied()) {
        help = format!("did you mean \"{near}\"? {help}");
    }
    Err(ParseError {
        message: format!("unknown event \"{event}\""),
        help,
    })
}

/// The words after an event: nothing (any time), `before TIME` or `after TIME`.
fn when_clause(rest: &[&str]) -> Result<When, ParseError> {
    match rest {
        [] => Ok(When::Any),
        [word @ ("before" | "after"), time] => {
            let at =
                parse_duration(time).map_err(|e| forms_error(format!("{e} (after `{word}`)")))?;
            Ok(if *word == "before" {
                When::Before(at)
            } else {
                When::After(at)
            })
        }
        _ => Err(forms_error(format!(
            "\"{}\" after the event: expected `before TIME` or `after TIME`",
            rest.join(" ")
        ))),
    }
}

/// A finite number, as written in a statement.
fn number(text: &str) -> Result<f64, String> {
    text.parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .ok_or_else(|| format!("\"{text}\" is not a number"))
}

impl fmt::Display for Expectation {
    /// The statement in its canonical spelling.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expectation::Compare {
                metric,
                comparison,
                value,
            } => {
                if let Comparison::Within(t) = comparison {
                    return write!(f, "{metric} within {value} +- {t}");
                }
                let op = OPERATORS
                    .iter()
                    .find(|(_, c)| c == comparison)
                    .map_or("?", |(word, _)| *word);
                write!(f, "{metric} {op} {value}")
            }
            Expectation::Event {
                present,
                event,
                target,
                when,
            } => {
                let verb = if *present { "contains" } else { "lacks" };
                write!(f, "events {verb} {event}")?;
                if let Some(target) = target {
                    write!(f, "({target})")?;
                }
                match when {
                    When::Any => Ok(()),
                    When::Before(at) => write!(f, " before {at}"),
                    When::After(at) => write!(f, " after {at}"),
                }
            }
        }
    }
}

/// What a run says about one statement.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// The statement, in its canonical spelling.
    pub statement: String,
    /// Whether it held.
    pub passed: bool,
    /// What the run gave: the metric's value, or the matching events.
    pub actual: String,
}

/// Decides each statement against a run's `summary.json` (parsed) and events.
pub fn evaluate(
    expectations: &[Expectation],
    summary: &Value,
    events: &[EventRecord],
) -> Vec<Verdict> {
    expectations
        .iter()
        .map(|e| {
            let (passed, actual) = match e {
                Expectation::Compare {
                    metric,
                    comparison,
                    value,
                } => match metric.value(summary) {
                    Some(actual) => (comparison.holds(actual, *value), format_number(actual)),
                    None => (false, "no such value in this run".to_string()),
                },
                Expectation::Event {
                    present,
                    event,
                    target,
                    when,
                } => {
                    let matching: Vec<&EventRecord> = events
                        .iter()
                        .filter(|r| r.event == *event)
                        .filter(|r| target.as_ref().is_none_or(|t| r.target == *t))
                        .filter(|r| {
                            let at = r.at.saturating_since(crate::sim::SimTime::ZERO);
                            match when {
                                When::Any => true,
                                When::Before(t) => at < *t,
                                When::After(t) => at >= *t,
                            }
                        })
                        .collect();
                    let actual = match matching.first() {
                        Some(first) => format!("{} at {}", first.event, first.at),
                        None => "no such event".to_string(),
                    };
                    (matching.is_empty() != *present, actual)
                }
            };
            Verdict {
                statement: e.to_string(),
                passed,
                actual,
            }
        })
        .collect()
}

/// A number as a verdict shows it: whole numbers without a fraction, others to 6 places.
pub(crate) fn format_number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        let text = format!("{value:.6}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SimTime;
    use serde_json::json;

    #[test]
    fn statements_parse_and_print_canonically() {
        for text in [
            "requests.failed <= 5",
            "servers.web1.share within 0.33 +- 0.03",
            "latency_ms.p95 < 50",
            "events contains vrrp_master(lb2/VI_51) before 14s",
            "events lacks quorum_lost",
            "balancers.lb.services[TCP 10.0.1.100:80].no_destination == 900",
        ] {
            assert_eq!(parse(text).unwrap().to_string(), text);
        }
        assert_eq!(
            parse("servers.web1.share within 0.33 ± 0.03")
                .unwrap()
                .to_string(),
            "servers.web1.share within 0.33 +- 0.03"
        );
    }

    #[test]
    fn mistakes_say_how_to_write_it() {
        for (text, says) in [
            ("requests.failed =< 5", "\"=<\" is not a comparison"),
            ("requests.failed <= five", "\"five\" is not a number"),
            ("requests.failed", "cannot read"),
            ("events contains vrrp_mastr", "did you mean \"vrrp_master\""),
            ("events contains crash(web", "no closing parenthesis"),
            ("events contains crash soon", "expected `before TIME`"),
        ] {
            let e = parse(text).unwrap_err();
            assert!(
                e.message.contains(says) || e.help.contains(says),
                "{text}: {e:?}"
            );
        }
    }

    #[test]
    fn verdicts_name_what_the_run_gave() {
        let summary = json!({
            "requests": {"failed": 7},
            "servers": {"web1": {"served": 30}, "web2": {"served": 70}},
        });
        let events = vec![EventRecord {
            at: SimTime::from_nanos(13_000_000_000),
            target: "lb2/VI_51".into(),
            event: "vrrp_master".into(),
            detail: String::new(),
        }];
        let statements: Vec<Expectation> = [
            "requests.failed <= 5",
            "servers.web1.share within 0.33 +- 0.03",
            "events contains vrrp_master(lb2/VI_51) before 14s",
            "events contains vrrp_master(lb2/VI_51) before 12s",
        ]
        .iter()
        .map(|t| parse(t).unwrap())
        .collect();
        let verdicts = evaluate(&statements, &summary, &events);
        let outcome: Vec<(bool, &str)> = verdicts
            .iter()
            .map(|v| (v.passed, v.actual.as_str()))
            .collect();
        assert_eq!(
            outcome,
            [
                (false, "7"),
                (true, "0.3"),
                (true, "vrrp_master at 13.000000000s"),
                (false, "no such event"),
            ]
        );
    }
}
