//! *Diagnostics*: error messages that point at the line a student must fix.
//!
//! A diagnostic names the file, line and column (1-based), shows the offending line with a
//! caret under the offending token, and ends with a hint:
//!
//! ```text
//! error: unknown segment "lnn"
//!   --> scenarios/hello.ron:12:29
//!    |
//! 12 |         interface: (attach: "lnn", ip: "10.0.0.1/24"),
//!    |                             ^^^^^
//!    = help: segments and links are: "lan", "dmz"; did you mean "lan"?
//! ```
//!
//! Syntax and type errors take their position from ron. Semantic errors (an unknown name, a
//! duplicate address) are found after parsing, when ron's positions are gone, so
//! [`Locator`] finds the offending token in the source text again.

use std::fmt;

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Severity {
    /// The scenario cannot be run.
    #[default]
    Error,
    /// The scenario runs, but probably not as meant (see `lint`).
    Warning,
}

/// One problem in a scenario file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// An error or a warning.
    pub severity: Severity,
    /// The file, as the user named it.
    pub file: String,
    /// Line, 1-based.
    pub line: usize,
    /// Column of the first character, 1-based.
    pub col: usize,
    /// Number of characters to underline (at least 1).
    pub width: usize,
    /// The text of that line.
    pub source_line: String,
    /// What is wrong: lowercase, no trailing period.
    pub message: String,
    /// How to fix it, if we can say.
    pub help: Option<String>,
    /// Where to read more, if anywhere.
    pub note: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let number = self.line.to_string();
        let gutter = " ".repeat(number.len());
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        writeln!(f, "{label}: {}", self.message)?;
        writeln!(f, "{gutter}--> {}:{}:{}", self.file, self.line, self.col)?;
        writeln!(f, "{gutter} |")?;
        writeln!(f, "{number} | {}", self.source_line)?;
        let pad: String = self
            .source_line
            .chars()
            .take(self.col.saturating_sub(1))
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        write!(f, "{gutter} | {pad}{}", "^".repeat(self.width.max(1)))?;
        if let Some(help) = &self.help {
            write!(f, "\n{gutter} = help: {help}")?;
        }
        if let Some(note) = &self.note {
            write!(f, "\n{gutter} = note: {note}")?;
        }
        Ok(())
    }
}

/// Finds tokens in a scenario's source text to attach positions to semantic errors.
pub struct Locator<'a> {
    /// The file name, for diagnostics.
    file: &'a str,
    /// The whole source text.
    source: &'a str,
}

impl<'a> Locator<'a> {
    /// A locator over `source`, read from `file`.
    pub fn new(file: &'a str, source: &'a str) -> Locator<'a> {
        Locator { file, source }
    }

    /// The file name given to the locator.
    pub fn file(&self) -> &str {
        self.file
    }

    /// The whole source text.
    pub fn source(&self) -> &str {
        self.source
    }

    /// A diagnostic at byte offset `offset` underlining `width` characters.
    pub fn at_offset(&self, offset: usize, width: usize, message: String) -> Diagnostic {
        let offset = offset.min(self.source.len());
        let before = &self.source[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = self.source[line_start..offset].chars().count() + 1;
        let source_line = self.source[line_start..]
            .lines()
            .next()
            .unwrap_or("")
            .to_string();
        Diagnostic {
            severity: Severity::Error,
            file: self.file.to_string(),
            line,
            col,
            width,
            source_line,
            message,
            help: None,
            note: None,
        }
    }

    /// A diagnostic at 1-based `line` and `col`.
    pub fn at_line_col(
        &self,
        line: usize,
        col: usize,
        width: usize,
        message: String,
    ) -> Diagnostic {
        let source_line = self
            .source
            .lines()
            .nth(line.saturating_sub(1))
            .unwrap_or("");
        Diagnostic {
            severity: Severity::Error,
            file: self.file.to_string(),
            line: line.max(1),
            col: col.max(1),
            width,
            source_line: source_line.to_string(),
            message,
            help: None,
            note: None,
        }
    }

    /// A diagnostic on the quoted string `"value"`, searching after the quoted `anchor`
    /// (usually the name of the node the value belongs to) when one is given. Falls back to
    /// the anchor, then to the start of the file.
    pub fn quoted(&self, value: &str, anchor: Option<&str>, message: String) -> Diagnostic {
        let start = anchor
            .and_then(|a| self.source.find(&format!("\"{a}\"")))
            .unwrap_or(0);
        let needle = format!("\"{value}\"");
        match self.source[start..].find(&needle) {
            Some(i) => self.at_offset(start + i, needle.chars().count(), message),
            None => match self.source.find(&needle) {
                Some(i) => self.at_offset(i, needle.chars().count(), message),
                None => self.at_offset(start, 1, message),
            },
        }
    }

    /// A diagnostic on the field name `field:` after the quoted `anchor`, for problems with a
    /// non-string value (a number, a missing field).
    pub fn field(&self, field: &str, anchor: Option<&str>, message: String) -> Diagnostic {
        let start = anchor
            .and_then(|a| self.source.find(&format!("\"{a}\"")))
            .unwrap_or(0);
        let needle = format!("{field}:");
        match self.source[start..].find(&needle) {
            Some(i) => self.at_offset(start + i, field.chars().count(), message),
            None => self.at_offset(start, 1, message),
        }
    }
}

/// The candidate closest to `word` by edit distance, if it is close enough to be a typo.
pub fn nearest<'c>(word: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|&(d, c)| d <= 2.max(c.len() / 3))
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// Levenshtein distance between two strings, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, &cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_diagnostic_points_at_its_token() {
        let source = "Scenario(\n  name: \"x\",\n  attach: \"lnn\",\n)";
        let locator = Locator::new("x.ron", source);
        let d = locator.quoted("lnn", None, "unknown segment \"lnn\"".into());
        assert_eq!((d.line, d.col, d.width), (3, 11, 5));
        let text = d.to_string();
        assert!(text.contains("--> x.ron:3:11"), "{text}");
        assert!(text.contains("  |           ^^^^^"), "{text}");
    }

    #[test]
    fn typos_find_their_word() {
        assert_eq!(nearest("lnn", ["lan", "dmz"]), Some("lan"));
        assert_eq!(nearest("zzzzzz", ["lan", "dmz"]), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
