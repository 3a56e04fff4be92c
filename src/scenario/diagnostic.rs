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
//! [`Locator`] finds the offending token in the source text again. It does so with a small
//! [`Lexer`] that knows just enough RON to skip strings and comments: a name mentioned in a
//! comment is never taken for the name in the code.
//!
//! A diagnostic never overwhelms, whatever the file holds:
//! - a line longer than [`SHOWN_CHARS`] is cut around the caret, with `…` where text is left
//!   out, and the caret still lines up (tabs are copied into the caret line for that);
//! - control characters are shown as visible symbols (`␛`), so a file cannot send escape
//!   sequences to the terminal;
//! - messages, which quote the student's tokens, are cut at [`MESSAGE_CHARS`];
//! - the [`Locator`] indexes the file once, so a file with thousands of mistakes is reported
//!   in time proportional to its size, not its size times its mistakes.
//!
//! # Simplifications
//! - A column counts characters (Unicode scalar values), and the caret line assumes each
//!   takes one cell on the screen. A wide character (CJK, emoji) or a combining accent before
//!   the caret shifts it; editors and rustc make the same choice for columns.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

/// Longest part of a source line a diagnostic shows, in characters. Wider than most
/// terminals' 80 columns, so that ordinary scenario lines (the shipped ones stay under 120)
/// are shown whole.
pub const SHOWN_CHARS: usize = 120;

/// Characters shown before the caret when a long line is cut.
const CONTEXT_BEFORE: usize = 40;

/// Characters a [`Locator`] keeps on each side of the caret when it copies a very long line
/// into a diagnostic: enough for any window [`SHOWN_CHARS`] wide, and small enough that
/// thousands of diagnostics on one huge line do not copy it thousands of times.
const KEPT_CHARS: usize = 2 * SHOWN_CHARS;

/// Longest message or help shown, in characters. Messages quote the student's tokens, and a
/// token can be as long as the file.
pub const MESSAGE_CHARS: usize = 400;

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
    /// The text of that line; for a very long line, only the part around the caret (see
    /// `source_start`).
    pub source_line: String,
    /// How many characters of the line come before `source_line`: 0 unless a long line was
    /// cut when it was copied.
    pub source_start: usize,
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
        let caret = self.col.saturating_sub(1).saturating_sub(self.source_start);
        let excerpt = Excerpt::new(&self.source_line, caret, self.width, self.source_start > 0);
        writeln!(f, "{label}: {}", printable(&self.message, MESSAGE_CHARS))?;
        writeln!(
            f,
            "{gutter}--> {}:{}:{}",
            printable(&self.file, MESSAGE_CHARS),
            self.line,
            self.col
        )?;
        writeln!(f, "{gutter} |")?;
        writeln!(f, "{number} | {}", excerpt.text)?;
        write!(f, "{gutter} | {}{}", excerpt.pad, "^".repeat(excerpt.width))?;
        if let Some(help) = &self.help {
            write!(f, "\n{gutter} = help: {}", printable(help, MESSAGE_CHARS))?;
        }
        if let Some(note) = &self.note {
            write!(f, "\n{gutter} = note: {}", printable(note, MESSAGE_CHARS))?;
        }
        Ok(())
    }
}

/// The part of a source line a diagnostic shows, and the caret line under it.
#[derive(Debug, PartialEq, Eq)]
struct Excerpt {
    /// The text shown, with `…` where the line was cut.
    text: String,
    /// What goes before the carets: a space for each character shown before the caret, or a
    /// tab where the line has one, so that the caret lines up however wide the terminal draws
    /// tabs.
    pad: String,
    /// Number of carets: at least 1, and never past the end of the text shown.
    width: usize,
}

impl Excerpt {
    /// The window of `line` around the character at 0-based `caret`, underlining `width`
    /// characters. `cut_before` says the line was already cut at its start.
    fn new(line: &str, caret: usize, width: usize, cut_before: bool) -> Excerpt {
        let chars: Vec<char> = line.chars().collect();
        let len = chars.len();
        // A caret may sit just after the last character (a missing `)` at the end of a line).
        let caret = caret.min(len);
        // 1. Choose the window [from, to): the whole line if it fits, else SHOWN_CHARS
        //    characters that start a little before the caret.
        let (from, to) = if len <= SHOWN_CHARS {
            (0, len)
        } else {
            let from = caret.saturating_sub(CONTEXT_BEFORE).min(len - SHOWN_CHARS);
            (from, from + SHOWN_CHARS)
        };
        let cut_left = from > 0 || cut_before;
        let cut_right = to < len;
        // 2. The text, with `…` on the cut sides.
        let mut text = String::new();
        let mut pad = String::new();
        if cut_left {
            text.push('…');
            pad.push(' ');
        }
        text.extend(chars[from..to].iter().map(|&c| visible(c)));
        if cut_right {
            text.push('…');
        }
        // 3. The caret line copies tabs so that it lines up under the text.
        pad.extend(
            chars[from..caret]
                .iter()
                .map(|&c| if c == '\t' { '\t' } else { ' ' }),
        );
        // 4. Underline at least one character, and nothing past the shown text.
        let width = width.min(to.saturating_sub(caret)).max(1);
        Excerpt { text, pad, width }
    }
}

/// How a character of the source is shown: control characters become the visible symbols of
/// Unicode's "Control Pictures" block (`␛` for escape), and characters that reorder text
/// (bidirectional overrides) become `�`, so a file can neither drive the terminal nor make
/// the shown line differ from what the parser read. Each stays one character, so the caret
/// still lines up.
fn visible(c: char) -> char {
    match c {
        '\t' => '\t',
        '\u{0}'..='\u{1f}' => char::from_u32(0x2400 + c as u32).unwrap_or('\u{fffd}'),
        '\u{7f}' => '\u{2421}',
        '\u{80}'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => '\u{fffd}',
        _ => c,
    }
}

/// `text` with control characters made visible (line breaks kept), cut to `max` characters.
fn printable(text: &str, max: usize) -> String {
    let mut shown: String = text
        .chars()
        .take(max)
        .map(|c| if c == '\n' { c } else { visible(c) })
        .collect();
    if text.chars().nth(max).is_some() {
        shown.push('…');
    }
    shown
}

/// Finds tokens in a scenario's source text to attach positions to semantic errors.
///
/// The first lookup indexes the file (where lines start, where each string and each field
/// name is); later lookups are binary searches in that index.
pub struct Locator<'a> {
    /// The file name, for diagnostics.
    file: &'a str,
    /// The whole source text, without a leading byte-order mark.
    source: &'a str,
    /// Built on first use.
    index: OnceLock<Index>,
}

/// Where things are in a source text. It owns its keys (rather than borrowing them from the
/// text) so that a `Locator<'a>` stays an ordinary borrow of the text.
struct Index {
    /// Byte offset at which each line starts; the first is 0.
    line_starts: Vec<usize>,
    /// Byte offset and number of characters before it, every [`CHECKPOINT_BYTES`] or so: a
    /// column is then counted from the nearest checkpoint, not from the start of a line that
    /// may be the whole file.
    checkpoints: Vec<(usize, usize)>,
    /// The text inside each string literal → byte offsets of its opening quote, in order.
    strings: BTreeMap<String, Vec<usize>>,
    /// Each identifier followed by `:` or `(` (a field name, a node kind, a variant such as
    /// `SlowService(`) → byte offsets, in order.
    keys: BTreeMap<String, Vec<usize>>,
    /// The first token that is not a comment: where a diagnostic goes when nothing better is
    /// found, rather than on a comment line at the top of the file.
    first_token: usize,
}

/// Adds `offset` to the offsets of `text` (allocating the key only the first time).
fn record(map: &mut BTreeMap<String, Vec<usize>>, text: &str, offset: usize) {
    match map.get_mut(text) {
        Some(offsets) => offsets.push(offset),
        None => {
            map.insert(text.to_string(), vec![offset]);
        }
    }
}

/// Distance between two column checkpoints, in bytes.
const CHECKPOINT_BYTES: usize = 1024;

impl Index {
    /// Indexes `source` in one pass.
    fn new(source: &str) -> Index {
        let mut line_starts = vec![0];
        line_starts.extend(source.match_indices('\n').map(|(i, _)| i + 1));
        let mut checkpoints = vec![(0, 0)];
        for (chars, (byte, _)) in source.char_indices().enumerate() {
            if byte >= checkpoints[checkpoints.len() - 1].0 + CHECKPOINT_BYTES {
                checkpoints.push((byte, chars));
            }
        }
        let mut strings = BTreeMap::new();
        let mut keys = BTreeMap::new();
        let mut first_token = None;
        // An identifier is a key if the next token is `:` or `(`, so it waits here for one.
        let mut waiting: Option<Token> = None;
        for token in Lexer::new(source).filter(|t| !t.is_comment()) {
            first_token.get_or_insert(token.start);
            if let Some(ident) = waiting.take()
                && matches!(token.kind, TokenKind::Punct(':' | '('))
            {
                record(&mut keys, ident.text(source), ident.start);
            }
            match token.kind {
                TokenKind::Ident => waiting = Some(token),
                TokenKind::Str { .. } => {
                    record(&mut strings, token.string_text(source), token.start)
                }
                _ => {}
            }
        }
        Index {
            line_starts,
            checkpoints,
            strings,
            keys,
            first_token: first_token.unwrap_or(0),
        }
    }

    /// The first offset in `offsets` at or after `from`.
    fn first_from(offsets: Option<&Vec<usize>>, from: usize) -> Option<usize> {
        let offsets = offsets?;
        offsets.get(offsets.partition_point(|&o| o < from)).copied()
    }

    /// The width in characters of the string literal that starts at `offset`, quotes and
    /// escapes included.
    fn string_width(&self, source: &str, offset: usize) -> usize {
        Lexer::new(&source[offset..])
            .next()
            .map_or(1, |token| token.text(&source[offset..]).chars().count())
    }

    /// Number of characters in `source` before byte `offset` (a char boundary).
    fn chars_before(&self, source: &str, offset: usize) -> usize {
        let i = self
            .checkpoints
            .partition_point(|&(byte, _)| byte <= offset)
            - 1;
        let (byte, chars) = self.checkpoints[i];
        chars + source[byte..offset].chars().count()
    }

    /// 0-based line of byte `offset`.
    fn line_of(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&start| start <= offset) - 1
    }

    /// Byte range of 0-based `line`, without its line break (`\n` or `\r\n`).
    fn line_range(&self, source: &str, line: usize) -> (usize, usize) {
        let start = self.line_starts[line];
        let end = self
            .line_starts
            .get(line + 1)
            .map_or(source.len(), |&next| next - 1);
        let end = if source[start..end].ends_with('\r') {
            end - 1
        } else {
            end
        };
        (start, end)
    }
}

impl<'a> Locator<'a> {
    /// A locator over `source`, read from `file`. A leading byte-order mark is not part of the
    /// text: positions count from the character after it, as ron's do.
    pub fn new(file: &'a str, source: &'a str) -> Locator<'a> {
        Locator {
            file,
            source: source.strip_prefix('\u{feff}').unwrap_or(source),
            index: OnceLock::new(),
        }
    }

    /// The file name given to the locator.
    pub fn file(&self) -> &str {
        self.file
    }

    /// The source text, without a leading byte-order mark.
    pub fn source(&self) -> &'a str {
        self.source
    }

    /// The index, built on first use.
    fn index(&self) -> &Index {
        self.index.get_or_init(|| Index::new(self.source))
    }

    /// A diagnostic at byte offset `offset` underlining `width` characters. An offset past the
    /// end means the end; one inside a character means that character.
    pub fn at_offset(&self, offset: usize, width: usize, message: String) -> Diagnostic {
        let mut offset = offset.min(self.source.len());
        while !self.source.is_char_boundary(offset) {
            offset -= 1;
        }
        let index = self.index();
        let line = index.line_of(offset);
        let (line_start, line_end) = index.line_range(self.source, line);
        // A caret on the line break itself goes just after the line's last character.
        let offset = offset.min(line_end);
        let col =
            index.chars_before(self.source, offset) - index.chars_before(self.source, line_start);
        // Copy at most KEPT_CHARS on each side of the caret.
        let before = &self.source[line_start..offset];
        let kept_from = before
            .char_indices()
            .rev()
            .take(KEPT_CHARS)
            .last()
            .map_or(offset, |(i, _)| line_start + i);
        let after = &self.source[offset..line_end];
        let kept_to = after
            .char_indices()
            .nth(KEPT_CHARS)
            .map_or(line_end, |(i, _)| offset + i);
        let source_start = col - self.source[kept_from..offset].chars().count();
        Diagnostic {
            severity: Severity::Error,
            file: self.file.to_string(),
            line: line + 1,
            col: col + 1,
            width,
            source_line: self.source[kept_from..kept_to].to_string(),
            source_start,
            message,
            help: None,
            note: None,
        }
    }

    /// Byte offset of 1-based `line` and `col` (in characters), as ron reports positions.
    /// Positions past the end of a line or of the file are clamped to it.
    pub fn offset_of(&self, line: usize, col: usize) -> usize {
        let index = self.index();
        let line = line.max(1) - 1;
        if line >= index.line_starts.len() {
            return self.source.len();
        }
        let (start, end) = index.line_range(self.source, line);
        self.source[start..end]
            .char_indices()
            .nth(col.max(1) - 1)
            .map_or(end, |(i, _)| start + i)
    }

    /// A diagnostic at 1-based `line` and `col`.
    pub fn at_line_col(
        &self,
        line: usize,
        col: usize,
        width: usize,
        message: String,
    ) -> Diagnostic {
        self.at_offset(self.offset_of(line, col), width, message)
    }

    /// Where the string `"anchor"` first appears, if it does.
    fn anchor(&self, anchor: Option<&str>) -> Option<usize> {
        let index = self.index();
        Index::first_from(index.strings.get(anchor?), 0)
    }

    /// The offsets of the string literal holding `value`: as written, or with its quotes and
    /// backslashes escaped (`"web\"1"` holds `web"1`).
    fn string_offsets(&self, value: &str) -> Option<&Vec<usize>> {
        let index = self.index();
        index.strings.get(value).or_else(|| {
            let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
            index.strings.get(&escaped)
        })
    }

    /// A diagnostic on the first string literal holding `value` inside the byte range
    /// `within`, if there is one there.
    pub fn quoted_in(
        &self,
        value: &str,
        within: (usize, usize),
        message: &str,
    ) -> Option<Diagnostic> {
        let at =
            Index::first_from(self.string_offsets(value), within.0).filter(|&at| at < within.1)?;
        let width = self.index().string_width(self.source, at);
        Some(self.at_offset(at, width, message.to_string()))
    }

    /// A diagnostic on the first `field:` or `field(` inside the byte range `within`, if
    /// there is one there.
    pub fn field_in(
        &self,
        field: &str,
        within: (usize, usize),
        message: &str,
    ) -> Option<Diagnostic> {
        let at = Index::first_from(self.index().keys.get(field), within.0)
            .filter(|&at| at < within.1)?;
        Some(self.at_offset(at, field.chars().count(), message.to_string()))
    }

    /// A diagnostic on the quoted string `"value"`, searching after the quoted `anchor`
    /// (usually the name of the node the value belongs to) when one is given. Falls back to
    /// the first `"value"` anywhere, then to the anchor, then to the first line of code.
    /// Strings inside comments are never found.
    pub fn quoted(&self, value: &str, anchor: Option<&str>, message: String) -> Diagnostic {
        let index = self.index();
        let anchor_at = self.anchor(anchor);
        let offsets = self.string_offsets(value);
        let found = Index::first_from(offsets, anchor_at.unwrap_or(0))
            .or_else(|| Index::first_from(offsets, 0));
        match (found, anchor_at) {
            (Some(at), _) => self.at_offset(at, index.string_width(self.source, at), message),
            (None, Some(at)) => self.at_anchor(at, anchor, message),
            (None, None) => self.at_offset(index.first_token, 1, message),
        }
    }

    /// A diagnostic on the field name `field` after the quoted `anchor`, for problems with a
    /// non-string value (a number, a missing field). The field is found written as `field:`
    /// or `field(` (so a fault such as `SlowService(-3.0)` is found too), with or without
    /// spaces before the `:` or `(`. Falls back to the anchor, or with no anchor to the first
    /// line of code; never to a comment.
    pub fn field(&self, field: &str, anchor: Option<&str>, message: String) -> Diagnostic {
        let index = self.index();
        let anchor_at = self.anchor(anchor);
        let found = Index::first_from(index.keys.get(field), anchor_at.unwrap_or(0));
        match (found, anchor_at) {
            (Some(at), _) => self.at_offset(at, field.chars().count(), message),
            (None, Some(at)) => self.at_anchor(at, anchor, message),
            (None, None) => self.at_offset(index.first_token, 1, message),
        }
    }

    /// A diagnostic on the `n`-th (0-based) `field:` or `field(` of the file, for things that
    /// have no name to anchor on, such as the third of several `SlowService(...)` faults. Falls
    /// back to the first one, then to the first line of code.
    pub fn field_nth(&self, field: &str, n: usize, message: String) -> Diagnostic {
        let index = self.index();
        let offsets = index.keys.get(field);
        let found = offsets.and_then(|o| o.get(n).or_else(|| o.first()));
        match found {
            Some(&at) => self.at_offset(at, field.chars().count(), message),
            None => self.at_offset(index.first_token, 1, message),
        }
    }

    /// A diagnostic underlining the anchor `"name"` found at `at`.
    fn at_anchor(&self, at: usize, anchor: Option<&str>, message: String) -> Diagnostic {
        let width = anchor.map_or(1, |a| a.chars().count() + 2);
        self.at_offset(at, width, message)
    }
}

/// What a [`Token`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// A name: `name`, `WebServer`, `true`, `r#type`.
    Ident,
    /// A string literal, quotes included (`"lan"`, `r#"a "b""#`); `closed` is false when the
    /// file ends inside it.
    Str {
        /// Whether the closing quote was found.
        closed: bool,
    },
    /// A character literal such as `'a'`.
    Char,
    /// A number such as `10`, `1.5` or `0x1F`, without its sign.
    Number,
    /// Any other single character: `( ) [ ] { } , : -` and stray ones.
    Punct(char),
    /// A comment, `// ...` or `/* ... */` (block comments nest); `closed` is false when the
    /// file ends inside a block comment.
    Comment {
        /// Whether the comment was closed.
        closed: bool,
    },
}

/// One token: its kind and its byte range in the source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    /// What it is.
    pub kind: TokenKind,
    /// Byte offset of its first character.
    pub start: usize,
    /// Byte offset just after its last character.
    pub end: usize,
}

impl Token {
    /// Its text in `source`.
    pub fn text<'s>(&self, source: &'s str) -> &'s str {
        &source[self.start..self.end]
    }

    /// For a string literal, the text between its quotes (escapes left as written).
    pub fn string_text<'s>(&self, source: &'s str) -> &'s str {
        let text = self.text(source);
        let hashes = text.trim_start_matches('r').len();
        let inner = text.trim_start_matches('r').trim_start_matches('#');
        let hashes = hashes - inner.len();
        let inner = inner.strip_prefix('"').unwrap_or(inner);
        match self.kind {
            TokenKind::Str { closed: true } => &inner[..inner.len() - 1 - hashes],
            _ => inner,
        }
    }

    /// Whether it is a comment.
    pub fn is_comment(&self) -> bool {
        matches!(self.kind, TokenKind::Comment { .. })
    }
}

/// Splits RON text into [`Token`]s, skipping whitespace.
///
/// Not a full RON lexer: it knows strings, raw strings, characters and nested comments, so
/// that what is inside them is never taken for code, and treats everything else as names,
/// numbers and single characters. It accepts any text and never fails; every token is at
/// least one character long, so it always ends.
pub struct Lexer<'a> {
    /// The text.
    source: &'a str,
    /// Byte offset of the next character to read.
    pos: usize,
}

impl<'a> Lexer<'a> {
    /// A lexer at the start of `source`.
    pub fn new(source: &'a str) -> Lexer<'a> {
        Lexer { source, pos: 0 }
    }

    /// The rest of the text.
    fn rest(&self) -> &'a str {
        &self.source[self.pos..]
    }

    /// Byte offset just after a string whose body starts at `from` and ends with `closing`;
    /// `\` escapes the next character unless the string is raw.
    fn string_end(&self, from: usize, closing: &str, raw: bool) -> (usize, bool) {
        let body = &self.source[from..];
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            if c == '\\' && !raw {
                chars.next();
            } else if body[i..].starts_with(closing) {
                return (from + i + closing.len(), true);
            }
        }
        (self.source.len(), false)
    }

    /// Byte offset just after a block comment whose body starts at `from`.
    fn block_comment_end(&self, from: usize) -> (usize, bool) {
        let mut depth = 1;
        let mut i = from;
        while i < self.source.len() {
            let rest = &self.source[i..];
            if rest.starts_with("*/") {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return (i, true);
                }
            } else if rest.starts_with("/*") {
                depth += 1;
                i += 2;
            } else {
                i += rest.chars().next().map_or(1, char::len_utf8);
            }
        }
        (self.source.len(), false)
    }
}

impl Iterator for Lexer<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        let skipped = self.rest().len() - self.rest().trim_start().len();
        self.pos += skipped;
        let start = self.pos;
        let rest = self.rest();
        let first = rest.chars().next()?;
        let is_name = |c: char| c.is_alphanumeric() || c == '_';
        let (end, kind) = if rest.starts_with("//") {
            let end = rest.find('\n').map_or(self.source.len(), |i| start + i);
            (end, TokenKind::Comment { closed: true })
        } else if rest.starts_with("/*") {
            let (end, closed) = self.block_comment_end(start + 2);
            (end, TokenKind::Comment { closed })
        } else if first == '"' {
            let (end, closed) = self.string_end(start + 1, "\"", false);
            (end, TokenKind::Str { closed })
        } else if first == 'r' && rest[1..].trim_start_matches('#').starts_with('"') {
            // A raw string: r"...", r#"..."#, closed by a quote and as many `#`.
            let hashes = rest[1..].len() - rest[1..].trim_start_matches('#').len();
            let closing = format!("\"{}", "#".repeat(hashes));
            let (end, closed) = self.string_end(start + 2 + hashes, &closing, true);
            (end, TokenKind::Str { closed })
        } else if first == '\'' {
            // A character literal: 'a', '\n', '\u{e9}', or a stray quote.
            let body = &rest[1..];
            let close = if body.starts_with('\\') {
                body.char_indices()
                    .skip(2)
                    .take(10)
                    .find(|&(_, c)| c == '\'')
                    .map(|(i, _)| i)
            } else {
                body.chars()
                    .next()
                    .filter(|_| body.chars().nth(1) == Some('\''))
                    .map(char::len_utf8)
            };
            match close {
                Some(i) => (start + 1 + i + 1, TokenKind::Char),
                None => (start + 1, TokenKind::Punct('\'')),
            }
        } else if first.is_ascii_digit() {
            let len = rest
                .find(|c: char| !(is_name(c) || c == '.'))
                .unwrap_or(rest.len());
            (start + len, TokenKind::Number)
        } else if is_name(first) || (rest.starts_with("r#") && rest[2..].starts_with(is_name)) {
            let name_start = if first == 'r' && rest.starts_with("r#") {
                2
            } else {
                0
            };
            let len = rest[name_start..]
                .find(|c: char| !is_name(c))
                .map_or(rest.len(), |i| name_start + i);
            (start + len, TokenKind::Ident)
        } else {
            (start + first.len_utf8(), TokenKind::Punct(first))
        };
        self.pos = end;
        Some(Token { kind, start, end })
    }
}

/// The candidate closest to `word` by edit distance, if it is close enough to be a typo.
pub fn nearest<'c>(word: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    let length = word.chars().count();
    candidates
        .into_iter()
        .map(|c| (c, 2.max(c.len() / 3)))
        // Lengths that differ by more than the allowed distance cannot be close: skipping them
        // keeps a huge `word` from costing a huge table.
        .filter(|&(c, allowed)| length.abs_diff(c.chars().count()) <= allowed)
        .map(|(c, allowed)| (edit_distance(word, c), c, allowed))
        .filter(|&(d, _, allowed)| d <= allowed)
        .min_by_key(|&(d, _, _)| d)
        .map(|(_, c, _)| c)
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

    /// The rendered excerpt line and caret line of a diagnostic.
    fn shown_lines(d: &Diagnostic) -> (String, String) {
        let text = d.to_string();
        let lines: Vec<&str> = text.lines().collect();
        let gutter = d.line.to_string().len();
        // Line 3 is `N | text`, line 4 is `  | ^^^`; both start after `gutter + 3` characters.
        let skip = |l: &str| l.chars().skip(gutter + 3).collect::<String>();
        (skip(lines[3]), skip(lines[4]))
    }

    /// Where the carets start in the caret line, in characters, and how many there are.
    fn carets(caret_line: &str) -> (usize, usize) {
        let start = caret_line.chars().take_while(|&c| c != '^').count();
        let count = caret_line.chars().filter(|&c| c == '^').count();
        (start, count)
    }

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
    fn a_200_kb_line_is_cut_around_the_caret() {
        let line = format!("{}\"bad\"{}", "x".repeat(100_000), "y".repeat(100_000));
        let source = format!("Scenario(\n{line}\n)");
        let d = Locator::new("x.ron", &source).quoted("bad", None, "bad".into());
        assert_eq!((d.line, d.col, d.width), (2, 100_001, 5));
        // The diagnostic keeps only a part of the line, and says where it starts.
        assert!(d.source_line.chars().count() <= 2 * KEPT_CHARS);
        let (shown, caret_line) = shown_lines(&d);
        assert!(shown.starts_with('…') && shown.ends_with('…'), "{shown}");
        assert_eq!(shown.chars().count(), SHOWN_CHARS + 2);
        let (start, count) = carets(&caret_line);
        let token: String = shown.chars().skip(start).take(count).collect();
        assert_eq!(token, "\"bad\"");
        // A diagnostic made by hand with the whole line is cut the same way.
        let by_hand = Diagnostic {
            source_line: line.clone(),
            source_start: 0,
            ..d.clone()
        };
        assert_eq!(shown_lines(&by_hand), (shown, caret_line));
    }

    #[test]
    fn a_caret_near_either_end_of_a_long_line_cuts_one_side() {
        let line = format!("\"bad\"{}", "y".repeat(1000));
        let d = Locator::new("x.ron", &line).quoted("bad", None, "bad".into());
        let (shown, caret_line) = shown_lines(&d);
        assert!(
            shown.starts_with("\"bad\"") && shown.ends_with('…'),
            "{shown}"
        );
        assert_eq!(carets(&caret_line), (0, 5));
        let line = format!("{}\"bad\"", "y".repeat(1000));
        let d = Locator::new("x.ron", &line).quoted("bad", None, "bad".into());
        let (shown, caret_line) = shown_lines(&d);
        assert!(
            shown.starts_with('…') && shown.ends_with("\"bad\""),
            "{shown}"
        );
        assert_eq!(carets(&caret_line), (SHOWN_CHARS + 1 - 5, 5));
    }

    #[test]
    fn tabs_keep_the_caret_in_line() {
        let source = "Scenario(\n\t\tname: \"x\",\n)";
        let d = Locator::new("x.ron", source).quoted("x", None, "x".into());
        let (_, caret_line) = shown_lines(&d);
        assert_eq!(caret_line, "\t\t      ^^^");
    }

    #[test]
    fn carets_never_run_past_the_shown_text() {
        let source = "Scenario(name: \"x\")";
        let d = Locator::new("x.ron", source).at_offset(15, 10_000, "x".into());
        let (shown, caret_line) = shown_lines(&d);
        let (start, count) = carets(&caret_line);
        assert_eq!(start + count, shown.chars().count());
        // A caret past the end of the line sits just after it.
        let d = Locator::new("x.ron", source).at_line_col(1, 500, 3, "x".into());
        let (shown, caret_line) = shown_lines(&d);
        assert_eq!(carets(&caret_line), (shown.chars().count(), 1));
    }

    #[test]
    fn control_characters_are_shown_not_sent() {
        let source = "Scenario(name: \"\u{1b}[31mred\")";
        let d = Locator::new("x.ron", source).quoted("\u{1b}[31mred", None, "x \u{1b}".into());
        let text = d.to_string();
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(text.contains("\"␛[31mred\""), "{text}");
        assert!(text.contains("error: x ␛"), "{text}");
    }

    #[test]
    fn huge_messages_are_cut() {
        let d = Locator::new("x.ron", "x").at_offset(0, 1, "m".repeat(100_000));
        let text = d.to_string();
        assert!(text.lines().next().unwrap().chars().count() < MESSAGE_CHARS + 10);
    }

    #[test]
    fn fields_are_found_as_name_colon_or_name_paren() {
        let source = "// SlowService: in a comment\nScenario(\n  faults: [(event: SlowService (-3.0))],\n  count : 5,\n)";
        let loc = Locator::new("x.ron", source);
        let d = loc.field("SlowService", None, "x".into());
        assert_eq!((d.line, d.col, d.width), (3, 20, 11));
        let d = loc.field("count", None, "x".into());
        assert_eq!((d.line, d.col, d.width), (4, 3, 5));
    }

    #[test]
    fn a_field_is_not_found_inside_a_longer_name() {
        let source = "(garp_master_delay: \"1s\", delay: \"2s\")";
        let d = Locator::new("x.ron", source).field("delay", None, "x".into());
        assert_eq!(d.col, 27);
    }

    #[test]
    fn a_missing_field_falls_back_to_its_anchor_then_to_code() {
        let source = "// A comment first.\n// \"web\" and workers: here too.\nScenario(\n  nodes: [WebServer(name: \"web\")],\n)";
        let loc = Locator::new("x.ron", source);
        let d = loc.field("workers", Some("web"), "x".into());
        assert_eq!((d.line, d.col, d.width), (4, 27, 5));
        let d = loc.field("workers", None, "x".into());
        assert_eq!((d.line, d.col), (3, 1));
        let d = loc.quoted("nowhere", None, "x".into());
        assert_eq!((d.line, d.col), (3, 1));
    }

    #[test]
    fn quoted_values_in_comments_are_skipped() {
        let source = "// attach: \"lan\" is the default\nScenario(attach: \"lan\")";
        let d = Locator::new("x.ron", source).quoted("lan", None, "x".into());
        assert_eq!((d.line, d.col), (2, 18));
    }

    #[test]
    fn field_nth_finds_the_nth_occurrence() {
        let source = "[\n SlowService(1.0),\n SlowService(-3.0),\n]";
        let loc = Locator::new("x.ron", source);
        assert_eq!(loc.field_nth("SlowService", 1, "x".into()).line, 3);
        assert_eq!(loc.field_nth("SlowService", 9, "x".into()).line, 2);
    }

    #[test]
    fn a_byte_order_mark_is_not_a_column() {
        let d = Locator::new("x.ron", "\u{feff}(name: \"x\")").quoted("x", None, "x".into());
        assert_eq!((d.line, d.col), (1, 8));
    }

    #[test]
    fn offsets_inside_a_character_do_not_panic() {
        let source = "(name: \"é\")\r\n(x)";
        let loc = Locator::new("x.ron", source);
        for offset in 0..source.len() + 3 {
            let d = loc.at_offset(offset, 1, "x".into());
            assert!(d.line <= 2 && !d.source_line.contains('\r'), "{d:?}");
        }
        assert_eq!(loc.at_line_col(9, 9, 1, "x".into()).line, 2);
    }

    #[test]
    fn many_diagnostics_on_one_huge_line_stay_small() {
        // 1 MiB on one line, and a diagnostic on every 8th string of it.
        let source = "(name: \"a\"),".repeat(80_000);
        let loc = Locator::new("x.ron", &source);
        let total: usize = (0..10_000)
            .map(|i| loc.at_offset(i * 96 + 7, 3, "x".into()).source_line.len())
            .sum();
        assert!(total <= 10_000 * 2 * KEPT_CHARS, "{total}");
        assert_eq!(
            loc.at_offset(79_999 * 12 + 7, 3, "x".into()).col,
            79_999 * 12 + 8
        );
    }

    #[test]
    fn the_lexer_skips_strings_and_comments() {
        let source = r##"a: "x\"y", /* b /* nested */ c */ r#"raw "q""# '"' 1.5 // end"##;
        let kinds: Vec<TokenKind> = Lexer::new(source).map(|t| t.kind).collect();
        use TokenKind::*;
        assert_eq!(
            kinds,
            [
                Ident,
                Punct(':'),
                Str { closed: true },
                Punct(','),
                Comment { closed: true },
                Str { closed: true },
                Char,
                Number,
                Comment { closed: true },
            ]
        );
        let strings: Vec<&str> = Lexer::new(source)
            .filter(|t| matches!(t.kind, Str { .. }))
            .map(|t| t.string_text(source))
            .collect();
        assert_eq!(strings, ["x\\\"y", "raw \"q\""]);
    }

    #[test]
    fn the_lexer_takes_any_text() {
        let inputs = [
            "", "\"", "\"abc", "r#\"abc", "r#", "/*", "/* /* */", "'", "'\\", "'é", "é'", "\\",
            "r#\"\"#", "\u{0}", "1e", "-", "b\"x\"", "'\\u{e9", "\"\\",
        ];
        for input in inputs {
            let tokens: Vec<Token> = Lexer::new(input).collect();
            let mut at = 0;
            for t in &tokens {
                assert!(
                    t.start >= at && t.end > t.start && t.end <= input.len(),
                    "{input:?}"
                );
                let _ = t.string_text(input);
                at = t.end;
            }
        }
    }

    #[test]
    fn typos_find_their_word() {
        assert_eq!(nearest("lnn", ["lan", "dmz"]), Some("lan"));
        assert_eq!(nearest("zzzzzz", ["lan", "dmz"]), None);
        assert_eq!(nearest(&"x".repeat(100_000), ["lan"]), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
