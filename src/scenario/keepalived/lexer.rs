//! *The lexer*: keepalived.conf text to statements of words, by keepalived's own rules.
//!
//! keepalived reads its configuration a line at a time (`read_line` and `alloc_strvec` in
//! `lib/parser.c`), and so does this lexer:
//!
//! 1. **One statement per line.** A line break ends a statement; `;` is an ordinary
//!    character (`lvs_sched rr ; protocol UDP` is `lvs_sched` with three arguments).
//!    A line ending in `\` is joined to the next one.
//! 2. **Braces split a line.** `{` and `}` outside quotes are statements of their own, and
//!    the text before and after each is a statement too: `url { path / }` is three
//!    statements, `url`, `{`, `path /` and `}`.
//! 3. **Comments.** `#` and `!` outside quotes start a comment that runs to the end of the
//!    line; `\#` and `\!` are the characters themselves.
//! 4. **Quotes.** `"..."` is one word, blanks, braces and comment characters included; there
//!    is no escape inside. A single quote is an ordinary character (keepalived 2.2.7 reads
//!    `lvs_sched 'rr'` as the scheduler `'rr'`, and refuses it).
//!
//! Every word keeps its byte offset and width in its file, so that a diagnostic can point at
//! it. The lexer never fails: what keepalived would misread becomes a [`Problem`] beside the
//! statements.
//!
//! # Simplifications
//! - keepalived's parameters (`$NAME=value`, `$NAME`), conditional lines (`@id ...`) and
//!   generators (`~SEQ`) are refused with an error: netlab does not expand them, and
//!   ignoring them would change the configuration's meaning.
//! - A line longer than keepalived's 1024-byte buffer is refused: keepalived would cut it
//!   into two statements without a word.

/// The longest line keepalived reads whole (`MAXBUF` in `lib/parser.h`), in bytes.
pub const MAX_LINE_BYTES: usize = 1024;

/// One word of a statement, as written in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word {
    /// The word's text: without its quotes, with `\#` and `\!` unescaped.
    pub text: String,
    /// Which file it is in (an index into the `Sources` of the configuration).
    pub file: usize,
    /// Byte offset of its first character (its opening quote, if quoted) in that file.
    pub start: usize,
    /// Width in characters as written, quotes included: what a caret underlines.
    pub width: usize,
    /// Whether it was written in double quotes (a quoted `"{"` is no brace).
    pub quoted: bool,
}

impl Word {
    /// Whether this word is the brace `brace` (not a quoted one).
    pub fn is_brace(&self, brace: &str) -> bool {
        !self.quoted && self.text == brace
    }
}

/// What the lexer saw that keepalived would read differently from what was meant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Byte offset in the file.
    pub start: usize,
    /// Characters to underline.
    pub width: usize,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: String,
}

/// The statements of `text` (file number `file`), each a non-empty list of words, and the
/// problems found on the way.
pub fn lex(text: &str, file: usize) -> (Vec<Vec<Word>>, Vec<Problem>) {
    let mut lexer = Lexer {
        text,
        file,
        statements: Vec::new(),
        problems: Vec::new(),
        current: Vec::new(),
    };
    for line in logical_lines(text, &mut lexer.problems) {
        lexer.line(&line);
        lexer.end_statement();
    }
    (lexer.statements, lexer.problems)
}

/// A line of the file, as `(byte offset, char)` pairs.
type Line = Vec<(usize, char)>;

/// Splits `text` into lines, dropping the `\r` of CRLF line ends.
fn logical_lines(text: &str, problems: &mut Vec<Problem>) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut line_start = 0;
    for physical in text.split_inclusive('\n') {
        let content = physical.trim_end_matches('\n').trim_end_matches('\r');
        if content.len() > MAX_LINE_BYTES {
            problems.push(Problem {
                start: line_start,
                width: 1,
                message: format!(
                    "this line has {} bytes; keepalived reads at most {MAX_LINE_BYTES}",
                    content.len()
                ),
                help: "keepalived would cut the line in two: split it into shorter statements"
                    .into(),
            });
        }
        let trimmed = content.trim_end();
        if trimmed.ends_with('\\') && !trimmed.contains(['#', '!']) {
            problems.push(Problem {
                start: line_start + trimmed.len() - 1,
                width: 1,
                message: "keepalived does not join a line ending in `\\` to the next one".into(),
                help: "write the whole statement on one line".into(),
            });
        }
        lines.push(
            content
                .char_indices()
                .map(|(i, c)| (line_start + i, c))
                .collect(),
        );
        line_start += physical.len();
    }
    lines
}

/// The lexer's state while it walks one file.
struct Lexer<'a> {
    /// The file's text.
    text: &'a str,
    /// Its number.
    file: usize,
    /// Statements so far.
    statements: Vec<Vec<Word>>,
    /// Problems so far.
    problems: Vec<Problem>,
    /// Words of the statement being read.
    current: Vec<Word>,
}

impl Lexer<'_> {
    /// Reads one logical line into statements.
    fn line(&mut self, line: &Line) {
        let mut i = 0;
        while i < line.len() {
            let (at, c) = line[i];
            if is_blank(c) {
                i += 1;
            } else if c == '#' || c == '!' {
                // 3. A comment runs to the end of the line.
                return;
            } else if c == '{' || c == '}' {
                // 2. A brace ends the statement before it and is a statement of its own.
                self.end_statement();
                self.current.push(self.word(c.to_string(), at, 1, false));
                self.end_statement();
                i += 1;
            } else if c == '"' {
                i = self.quoted(line, i);
            } else {
                i = self.bare(line, i);
            }
        }
    }

    /// 4. A quoted word starting at `line[i]`; returns the index after it.
    fn quoted(&mut self, line: &Line, i: usize) -> usize {
        let (at, _) = line[i];
        let close = line[i + 1..].iter().position(|&(_, c)| c == '"');
        let Some(close) = close else {
            self.problems.push(Problem {
                start: at,
                width: line.len() - i,
                message: "this quote is never closed".into(),
                help: "end the string with `\"` on the same line (keepalived has no multi-line strings)"
                    .into(),
            });
            let text: String = line[i + 1..].iter().map(|&(_, c)| c).collect();
            let width = line.len() - i;
            self.current.push(self.word(text, at, width, true));
            return line.len();
        };
        let end = i + 1 + close;
        let text: String = line[i + 1..end].iter().map(|&(_, c)| c).collect();
        self.check_expansion(&text, at);
        self.current.push(self.word(text, at, end - i + 1, true));
        end + 1
    }

    /// A bare word starting at `line[i]`; returns the index after it.
    fn bare(&mut self, line: &Line, i: usize) -> usize {
        let (at, first) = line[i];
        if self.current.is_empty() && (first == '@' || first == '~') {
            let what = if first == '@' {
                "conditional lines (`@id`)"
            } else {
                "generators (`~SEQ`, `~LST`)"
            };
            self.problems.push(Problem {
                start: at,
                width: 1,
                message: format!("netlab does not read keepalived's {what}"),
                help: "write the statements out for this machine".into(),
            });
        }
        let mut text = String::new();
        let mut j = i;
        while j < line.len() {
            let c = line[j].1;
            let next = line.get(j + 1).map(|&(_, c)| c);
            if is_blank(c) || c == '{' || c == '}' || c == '#' || c == '!' {
                break;
            }
            // keepalived's `${NAME}` is one word, braces included.
            if c == '$' && next == Some('{') {
                while j < line.len() {
                    text.push(line[j].1);
                    j += 1;
                    if text.ends_with('}') {
                        break;
                    }
                }
                continue;
            }
            // 3. `\#` and `\!` are the characters themselves, not comments.
            if c == '\\' && matches!(next, Some('#') | Some('!')) {
                text.extend(next);
                j += 2;
                continue;
            }
            text.push(c);
            j += 1;
        }
        self.check_expansion(&text, at);
        let width = j - i;
        self.current.push(self.word(text, at, width, false));
        j
    }

    /// keepalived expands `$NAME` and `${NAME}` anywhere, even in quotes: netlab does not.
    fn check_expansion(&mut self, text: &str, at: usize) {
        let expands = text.char_indices().any(|(k, c)| {
            c == '$'
                && text[k + 1..]
                    .chars()
                    .next()
                    .is_some_and(|n| n == '{' || n == '_' || n.is_ascii_alphabetic())
        });
        if expands {
            self.problems.push(Problem {
                start: at,
                width: text.chars().count().max(1),
                message: "netlab does not expand keepalived's parameters (`$NAME`)".into(),
                help: "write the value itself instead of the parameter".into(),
            });
        }
    }

    /// A word of this file.
    fn word(&self, text: String, start: usize, width: usize, quoted: bool) -> Word {
        debug_assert!(self.text.is_char_boundary(start));
        Word {
            text,
            file: self.file,
            start,
            width,
            quoted,
        }
    }

    /// Ends the current statement, if it has words.
    fn end_statement(&mut self) {
        if !self.current.is_empty() {
            self.statements.push(std::mem::take(&mut self.current));
        }
    }
}

/// keepalived's blanks (`WHITE_SPACE_STR`: space, tab, form feed, vertical tab, CR, LF).
fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\x0c' | '\x0b' | '\r' | '\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The statements of `text` as lists of word texts.
    fn words(text: &str) -> Vec<Vec<String>> {
        let (statements, problems) = lex(text, 0);
        assert!(problems.is_empty(), "{problems:?}");
        statements
            .into_iter()
            .map(|s| s.into_iter().map(|w| w.text).collect())
            .collect()
    }

    #[test]
    fn braces_split_a_line_into_statements() {
        assert_eq!(
            words("url { path /x }\nreal_server 10.0.0.1 80 {   weight 3"),
            [
                vec!["url"],
                vec!["{"],
                vec!["path", "/x"],
                vec!["}"],
                vec!["real_server", "10.0.0.1", "80"],
                vec!["{"],
                vec!["weight", "3"],
            ]
        );
    }

    #[test]
    fn comments_start_anywhere_outside_quotes() {
        assert_eq!(
            words("weight 3 # three\nweight 7 ! seven\n# whole line\n  ! another"),
            [vec!["weight", "3"], vec!["weight", "7"]]
        );
        assert_eq!(
            words("path \"/a # b { } ! c\""),
            [vec!["path", "/a # b { } ! c"]]
        );
        assert_eq!(words(r"path /a\#b\!c"), [vec!["path", "/a#b!c"]]);
    }

    #[test]
    fn a_semicolon_does_not_end_a_statement() {
        assert_eq!(
            words("lvs_sched rr ; protocol UDP"),
            [vec!["lvs_sched", "rr", ";", "protocol", "UDP"]]
        );
    }

    #[test]
    fn single_quotes_are_ordinary_characters() {
        assert_eq!(words("lvs_sched 'rr'"), [vec!["lvs_sched", "'rr'"]]);
    }

    #[test]
    fn a_trailing_backslash_is_refused() {
        let (statements, problems) = lex("weight \\\n  3\n", 0);
        assert_eq!(statements.len(), 2);
        assert_eq!(problems[0].start, 7);
    }

    #[test]
    fn words_keep_their_positions() {
        let (statements, _) = lex("a\r\n  \"b c\" d", 3);
        let w = &statements[1];
        assert_eq!((w[0].start, w[0].width, w[0].quoted), (5, 5, true));
        assert_eq!((w[1].start, w[1].width, w[1].file), (11, 1, 3));
    }

    #[test]
    fn what_keepalived_would_misread_is_a_problem() {
        for text in [
            "path \"/x",
            "$VIP=10.0.0.1",
            "virtual_ipaddress ${VIP}",
            "@lb1 priority 150",
            "~SEQ(i,1,3) real_server 10.0.0.$i",
            &"x".repeat(1025),
        ] {
            let (_, problems) = lex(text, 0);
            assert!(!problems.is_empty(), "{text:?}");
        }
    }

    #[test]
    fn any_text_lexes_without_panicking() {
        for text in ["", "\"", "\\", "{{}}\"", "é\"é", "\\\n\\", "a\\#", "\u{0}!"] {
            let _ = lex(text, 0);
        }
    }
}
