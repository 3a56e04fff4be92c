//! *Names*: what a node, segment, pool or VRRP instance may be called.
//!
//! A name ends up in many places: a column of `requests.csv`, a file name
//! (`keepalived-<node>.conf`), a line of `keepalived.conf`, a chart label, a `--vary` path.
//! A comma would shift a CSV column, a `/` would point into another folder, a `#` starts a
//! comment in keepalived's syntax, and a space splits a keepalived word in two. So names use
//! a small, documented set of characters that is safe in all of those places:
//!
//! - letters, digits, `-`, `_` and `.`;
//! - starting with a letter or a digit (not `-`, which reads as a command-line flag, nor `.`,
//!   which hides a file);
//! - at most 63 characters (a DNS label's limit; client hosts add `-1`, `-2`, ...).
//!
//! DNS names (`hosts` keys, zone entries, URL hosts) follow the same rule for each dot-separated
//! label, as RFC 1123 does for host names, and may be up to 253 characters long.

use super::limits::{MAX_DNS_NAME_LEN, MAX_NAME_LEN};

/// The rule, as the `= help:` line says it.
pub(super) const NAME_RULE: &str = "a name uses letters, digits, `-`, `_` and `.`, starts with a letter or a digit, and has at most 63 characters";

/// The rule for DNS names.
pub(super) const DNS_NAME_RULE: &str = "a DNS name is labels of letters, digits, `-` and `_`, separated by dots, each starting with a letter, a digit or `_`; at most 253 characters";

/// Why `name` is not a valid name, if it is not.
pub(super) fn check_name(name: &str) -> Result<(), String> {
    let Some(first) = name.chars().next() else {
        return Err("is empty".into());
    };
    if name.chars().count() > MAX_NAME_LEN {
        return Err(format!("is longer than {MAX_NAME_LEN} characters"));
    }
    if !first.is_ascii_alphanumeric() {
        return Err(format!("starts with `{first}`"));
    }
    if let Some(bad) = name
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(format!("contains {}", describe(bad)));
    }
    Ok(())
}

/// Why `name` is not a valid DNS name, if it is not. One trailing dot (the root) is allowed.
pub(super) fn check_dns_name(name: &str) -> Result<(), String> {
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    if trimmed.is_empty() {
        return Err("is empty".into());
    }
    if trimmed.len() > MAX_DNS_NAME_LEN {
        return Err(format!("is longer than {MAX_DNS_NAME_LEN} characters"));
    }
    for label in trimmed.split('.') {
        let Some(first) = label.chars().next() else {
            return Err("has an empty label (two dots in a row)".into());
        };
        if label.len() > MAX_NAME_LEN {
            return Err(format!("has a label longer than {MAX_NAME_LEN} characters"));
        }
        if !(first.is_ascii_alphanumeric() || first == '_') {
            return Err(format!("has a label starting with `{first}`"));
        }
        if let Some(bad) = label
            .chars()
            .find(|&c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_')))
        {
            return Err(format!("contains {}", describe(bad)));
        }
    }
    Ok(())
}

/// A character as a message names it: spaces and control characters are invisible when quoted.
fn describe(c: char) -> String {
    match c {
        ' ' => "a space".into(),
        '\t' => "a tab".into(),
        c if c.is_control() => format!("the control character U+{:04X}", c as u32),
        c => format!("`{c}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_pass() {
        for name in ["web1", "lb-a", "pool_static", "v1.2", "0day"] {
            assert_eq!(check_name(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn names_that_break_files_are_refused() {
        let cases = [
            ("", "is empty"),
            ("web,1", "contains `,`"),
            ("a\"b", "contains `\"`"),
            ("a/b", "contains `/`"),
            ("lb#1", "contains `#`"),
            ("web 1", "contains a space"),
            ("-web", "starts with `-`"),
            ("..", "starts with `.`"),
        ];
        for (name, why) in cases {
            assert_eq!(check_name(name), Err(why.to_string()), "{name}");
        }
        assert!(check_name(&"a".repeat(64)).is_err());
    }

    #[test]
    fn dns_names_are_checked_label_by_label() {
        for name in ["www", "www.example.com", "www.example.com.", "_sip.x"] {
            assert_eq!(check_dns_name(name), Ok(()), "{name}");
        }
        for name in ["", ".", "a..b", "-a.b", "a b", "a/b"] {
            assert!(check_dns_name(name).is_err(), "{name}");
        }
    }
}
