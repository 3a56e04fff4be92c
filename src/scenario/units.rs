//! *Quantities with units*, as students write them in scenario files.
//!
//! A scenario never holds a bare number for a time, a rate or a size: `"1ms"`, `"100Mbps"` and
//! `"64KiB"` say what they mean. This module turns those strings into the simulator's typed
//! values and explains, in its error messages, which units it accepts.
//!
//! - Durations: `ns`, `us` (or `µs`), `ms`, `s`, `min`, `h`; decimals allowed (`"1.5ms"`).
//! - Bandwidths: `bps`, `Kbps`, `Mbps`, `Gbps` (powers of 1000, as link speeds are quoted).
//! - Sizes: `B`, `KB`, `MB` (powers of 1000) and `KiB`, `MiB` (powers of 1024).
//!
//! # Further reading
//! - `book/src/reference/scenario.md`, "Units".

use crate::net::Bandwidth;
use crate::sim::SimDuration;

/// Parses a duration such as `"250us"` or `"1.5s"`.
///
/// # Examples
/// ```
/// use netlab::scenario::units::parse_duration;
/// assert_eq!(parse_duration("1.5ms").unwrap().as_nanos(), 1_500_000);
/// assert!(parse_duration("5 parsecs").is_err());
/// ```
pub fn parse_duration(text: &str) -> Result<SimDuration, String> {
    let (number, unit) = split_number(text, "a duration such as \"10ms\"")?;
    let ns_per_unit = match unit {
        "ns" => 1.0,
        "us" | "µs" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        "min" => 60e9,
        "h" => 3600e9,
        _ => {
            return Err(format!(
                "unknown time unit `{unit}` in \"{text}\" (use ns, us, ms, s, min or h)"
            ));
        }
    };
    let ns = (number * ns_per_unit).round();
    // 2^64 ns is 584 years; anything longer cannot be a time in a run.
    if ns >= u64::MAX as f64 {
        return Err(format!("\"{text}\" is too long to be a time in a run"));
    }
    Ok(SimDuration::from_nanos(ns as u64))
}

/// Parses a bandwidth such as `"100Mbps"`. Zero is rejected: a link must move bits.
pub fn parse_bandwidth(text: &str) -> Result<Bandwidth, String> {
    let (number, unit) = split_number(text, "a bandwidth such as \"100Mbps\"")?;
    let bps_per_unit = match unit {
        "bps" => 1.0,
        "Kbps" | "kbps" => 1e3,
        "Mbps" => 1e6,
        "Gbps" => 1e9,
        _ => {
            return Err(format!(
                "unknown bandwidth unit `{unit}` in \"{text}\" (use bps, Kbps, Mbps or Gbps)"
            ));
        }
    };
    let bits_per_sec = (number * bps_per_unit).round();
    if bits_per_sec >= u64::MAX as f64 {
        return Err(format!("bandwidth \"{text}\" is too large"));
    }
    let bits_per_sec = bits_per_sec as u64;
    if bits_per_sec == 0 {
        return Err(format!(
            "bandwidth \"{text}\" is zero: no frame could ever leave"
        ));
    }
    Ok(Bandwidth::from_bits_per_sec(bits_per_sec))
}

/// Parses a size in bytes such as `"64KiB"` or `"1500B"`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let (number, unit) = split_number(text, "a size such as \"64KiB\"")?;
    let bytes_per_unit = match unit {
        "B" => 1.0,
        "KB" | "kB" => 1e3,
        "MB" => 1e6,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        _ => {
            return Err(format!(
                "unknown size unit `{unit}` in \"{text}\" (use B, KB, MB, KiB or MiB)"
            ));
        }
    };
    let bytes = (number * bytes_per_unit).round();
    if bytes >= u64::MAX as f64 {
        return Err(format!("size \"{text}\" is too large"));
    }
    Ok(bytes as u64)
}

/// Splits `"1.5ms"` into `(1.5, "ms")`, rejecting negative or missing numbers and missing units.
fn split_number<'a>(text: &'a str, example: &str) -> Result<(f64, &'a str), String> {
    let trimmed = text.trim();
    let unit_start = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (digits, unit) = trimmed.split_at(unit_start);
    if trimmed.starts_with('-') {
        return Err(format!("\"{text}\" is negative; expected {example}"));
    }
    if digits.is_empty() {
        return Err(format!(
            "\"{text}\" does not start with a number; expected {example}"
        ));
    }
    if unit.is_empty() {
        return Err(format!("\"{text}\" has no unit; expected {example}"));
    }
    let number: f64 = digits
        .parse()
        .map_err(|_| format!("\"{digits}\" in \"{text}\" is not a number; expected {example}"))?;
    Ok((number, unit.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_every_unit() {
        let cases = [
            ("7ns", 7),
            ("50us", 50_000),
            ("1ms", 1_000_000),
            ("1.5s", 1_500_000_000),
            ("2min", 120_000_000_000),
        ];
        for (text, ns) in cases {
            assert_eq!(parse_duration(text).unwrap().as_nanos(), ns, "{text}");
        }
    }

    #[test]
    fn bandwidths_use_powers_of_ten() {
        assert_eq!(
            parse_bandwidth("100Mbps").unwrap().bits_per_sec(),
            100_000_000
        );
        assert_eq!(
            parse_bandwidth("1Gbps").unwrap().bits_per_sec(),
            1_000_000_000
        );
        assert!(parse_bandwidth("0Mbps").unwrap_err().contains("zero"));
    }

    #[test]
    fn sizes_know_binary_and_decimal_prefixes() {
        assert_eq!(parse_size("64KiB").unwrap(), 65_536);
        assert_eq!(parse_size("1KB").unwrap(), 1_000);
        assert_eq!(parse_size("1500B").unwrap(), 1_500);
    }

    #[test]
    fn errors_say_what_was_expected() {
        assert!(parse_duration("10").unwrap_err().contains("no unit"));
        assert!(
            parse_duration("ms")
                .unwrap_err()
                .contains("does not start with a number")
        );
        assert!(parse_duration("-1s").unwrap_err().contains("is negative"));
        assert!(
            parse_duration("5000000000h")
                .unwrap_err()
                .contains("too long")
        );
        assert!(
            parse_size("99999999999999999999MiB")
                .unwrap_err()
                .contains("too large")
        );
        assert!(
            parse_size("3 bananas")
                .unwrap_err()
                .contains("unknown size unit")
        );
    }
}
