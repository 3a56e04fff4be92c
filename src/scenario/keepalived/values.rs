//! *Values*: numbers, timers, addresses and ports as keepalived reads them, each checked
//! against netlab's limits and reported on its own word.
//!
//! keepalived reads numbers with `strtoul` (`read_unsigned` in `lib/parser.c`): a `-` is a
//! "negative number", anything after the digits an "invalid number". Timers (`read_timer`)
//! are seconds with up to six decimals, kept in microseconds. netlab reads the same text the
//! same way, then checks the value against the limits scenarios have (`validate::limits`),
//! so a conf cannot ask for more than a scenario can.

use std::net::Ipv4Addr;

use super::lexer::Word;
use super::report::Report;
use crate::scenario::units::parse_duration;
use crate::scenario::validate::limits::Bounds;
use crate::sim::SimDuration;

impl Report<'_> {
    /// A whole number from `min` to `max`, for `keyword` (which names it in messages).
    pub fn number(&mut self, word: &Word, keyword: &str, min: u64, max: u64) -> Option<u64> {
        let text = word.text.trim_start();
        let range = format!("{keyword} is a whole number from {min} to {max}");
        if text.starts_with('-') {
            self.error(word, format!("{keyword} {} is negative", word.text), range);
            return None;
        }
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            self.error(
                word,
                format!("{keyword} \"{}\" is not a whole number", word.text),
                range,
            );
            return None;
        }
        match text.parse::<u64>() {
            Ok(n) if (min..=max).contains(&n) => Some(n),
            _ => {
                self.error(
                    word,
                    format!(
                        "{keyword} {} is outside the range {min} to {max}",
                        word.text
                    ),
                    range,
                );
                None
            }
        }
    }

    /// A timer: seconds with up to six decimals (`1`, `1.5`, `0.000001`), within `bounds`.
    pub fn timer(&mut self, word: &Word, keyword: &str, bounds: Bounds) -> Option<SimDuration> {
        let help = format!(
            "{keyword} is in seconds, with up to six decimals, from {} to {} in netlab",
            bounds.min, bounds.max
        );
        let Some(micros) = seconds_to_micros(&word.text) else {
            self.error(
                word,
                format!("{keyword} \"{}\" is not a time in seconds", word.text),
                help,
            );
            return None;
        };
        // Six decimals of seconds fit a u64 of microseconds that may not fit one of
        // nanoseconds (past 584 years): such a time is out of any range.
        let value = micros.checked_mul(1_000).map(SimDuration::from_nanos);
        let min = parse_duration(bounds.min).unwrap_or(SimDuration::ZERO);
        let max = parse_duration(bounds.max).unwrap_or(SimDuration::ZERO);
        let Some(value) = value.filter(|v| (min..=max).contains(v)) else {
            self.error(
                word,
                format!("{keyword} {} s is outside netlab's range", word.text),
                help,
            );
            return None;
        };
        Some(value)
    }

    /// An IPv4 address, written without a prefix.
    pub fn ipv4(&mut self, word: &Word, what: &str) -> Option<Ipv4Addr> {
        match word.text.parse::<Ipv4Addr>() {
            Ok(addr) => Some(addr),
            Err(_) => {
                let help = if word.text.contains(':') {
                    "netlab models IPv4 only".to_string()
                } else {
                    format!("write {what} as four numbers, such as 10.0.0.100")
                };
                self.error(
                    word,
                    format!("\"{}\" is not an IPv4 address", word.text),
                    help,
                );
                None
            }
        }
    }

    /// A TCP port, 1 to 65535.
    pub fn port(&mut self, word: &Word) -> Option<u16> {
        self.number(word, "a port", 1, 65_535).map(|p| p as u16)
    }

    /// keepalived's optional boolean after a flag keyword (`inhibit_on_failure [BOOL]`):
    /// true without a word, else `true|on|yes` or `false|off|no`.
    pub fn flag(&mut self, word: Option<&Word>) -> Option<bool> {
        let Some(word) = word else {
            return Some(true);
        };
        match word.text.to_ascii_lowercase().as_str() {
            "true" | "on" | "yes" => Some(true),
            "false" | "off" | "no" => Some(false),
            _ => {
                self.error(
                    word,
                    format!("\"{}\" is not true or false", word.text),
                    "write the keyword alone, or follow it with true or false",
                );
                None
            }
        }
    }
}

/// A timer's text in microseconds, as keepalived's `read_timer` takes it: digits, then
/// optionally `.` and up to six more. `None` for anything else.
pub fn seconds_to_micros(text: &str) -> Option<u64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) || fraction.len() > 6 {
        return None;
    }
    if text.ends_with('.') {
        return None;
    }
    let seconds: u64 = whole.parse().ok()?;
    let fraction_micros: u64 = format!("{fraction:0<6}").parse().ok()?;
    seconds.checked_mul(1_000_000)?.checked_add(fraction_micros)
}

/// A duration as scenario text, exact to the microsecond: `"1500000us"`.
pub fn scenario_text(d: SimDuration) -> String {
    format!("{}us", d.as_nanos() / 1_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_read_like_keepalived() {
        assert_eq!(seconds_to_micros("6"), Some(6_000_000));
        assert_eq!(seconds_to_micros("1.5"), Some(1_500_000));
        assert_eq!(seconds_to_micros("0.000001"), Some(1));
        for bad in [
            "",
            "-1",
            "1.",
            ".5",
            "1.0000001",
            "1e3",
            "1s",
            "99999999999999999999",
        ] {
            assert_eq!(seconds_to_micros(bad), None, "{bad}");
        }
        assert_eq!(scenario_text(SimDuration::from_millis(1500)), "1500000us");
    }
}
