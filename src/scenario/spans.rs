//! *Spans*: where each part of a scenario file is, so that a problem found after parsing
//! points at the right one of several look-alike values.
//!
//! ron gives positions for its own errors only: the file types it fills carry none. A
//! semantic error, found later by `validate`, has to find its token again. Searching for the
//! text alone goes wrong as soon as the text repeats: `port: 0` of the third real server must
//! not be reported at the service's `port: 80`, nor `"20s"` of a fault at an `ipvsadm_at` of
//! `"20s"`. So this module reads the file once more, with the `diagnostic::Lexer`, into a tree
//! of spans: the whole `Scenario(...)`, each of its fields, each entry of each list, and so
//! on down. `validate` then searches inside the span of the entry it is checking: a path such
//! as `nodes[3].services[0].real_servers[2]`.
//!
//! The file has already been parsed by ron when this runs, so it is well formed; still,
//! nothing here can fail or panic on any text: an odd shape only makes a span larger.

use super::diagnostic::{Lexer, Token, TokenKind};

/// How deep the tree goes; ron refuses deeper files anyway.
const MAX_DEPTH: usize = 128;

/// One step of a path into the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step<'s> {
    /// A field of a group: `nodes`, `services`, `port`.
    Field(&'s str),
    /// An entry of a list, from 0.
    Item(usize),
}

/// One value of the file, with the values inside it.
#[derive(Debug, Default)]
struct Node {
    /// Byte offset of its first token.
    start: usize,
    /// Byte offset after its last token.
    end: usize,
    /// Its fields, in file order (`(name: "x", port: 80)`, or a map's keys).
    fields: Vec<(String, usize)>,
    /// Its unnamed entries, in order (a list's items, `Some(x)`'s `x`).
    items: Vec<usize>,
}

/// The tree of a file's values, as indices into one arena.
#[derive(Debug)]
pub struct Spans {
    /// All nodes; the root (the whole scenario) is at 0.
    nodes: Vec<Node>,
}

/// A value in the tree, as [`Spans::child`] returns it.
pub type NodeId = usize;

impl Spans {
    /// The tree of `source`.
    pub fn new(source: &str) -> Spans {
        let tokens: Vec<Token> = Lexer::new(source).filter(|t| !t.is_comment()).collect();
        let mut spans = Spans {
            nodes: vec![Node::default()],
        };
        let mut reader = Reader {
            source,
            tokens: &tokens,
            at: 0,
        };
        reader.value(&mut spans, 0, 0);
        spans
    }

    /// The root: the whole scenario.
    pub fn root(&self) -> NodeId {
        0
    }

    /// The byte range of `node`.
    pub fn range(&self, node: NodeId) -> (usize, usize) {
        let n = &self.nodes[node];
        (n.start, n.end)
    }

    /// The value one `step` inside `node`, if the file has it. A value wrapped in a
    /// one-entry group (`Some(x)`, a node kind's parentheses) is looked through.
    pub fn child(&self, node: NodeId, step: Step<'_>) -> Option<NodeId> {
        let n = &self.nodes[node];
        let found = match step {
            Step::Field(name) => n
                .fields
                .iter()
                .find(|(field, _)| field == name)
                .map(|&(_, id)| id),
            Step::Item(index) => n.items.get(index).copied(),
        };
        found.or_else(|| match (n.fields.is_empty(), n.items.as_slice()) {
            (true, [only]) => self.child(*only, step),
            _ => None,
        })
    }

    /// The value at `path` from `node`, as deep as the file goes.
    pub fn descend(&self, node: NodeId, path: &[Step<'_>]) -> NodeId {
        path.iter()
            .try_fold(node, |at, &step| self.child(at, step))
            .unwrap_or(node)
    }
}

/// Reads values from the token list into the arena.
struct Reader<'t> {
    /// The text, for names.
    source: &'t str,
    /// The tokens, comments left out.
    tokens: &'t [Token],
    /// The next token.
    at: usize,
}

impl Reader<'_> {
    /// The kind of the token `ahead` places on, if there is one.
    fn peek(&self, ahead: usize) -> Option<TokenKind> {
        self.tokens.get(self.at + ahead).map(|t| t.kind)
    }

    /// Reads one value into `spans.nodes[id]`: an atom (`80`, `"lan"`, `-3`, `Nat`), a
    /// group (`( ... )`, `[ ... ]`, `{ ... }`), or a name followed by a group
    /// (`WebServer( ... )`, `Some(5)`).
    fn value(&mut self, spans: &mut Spans, id: NodeId, depth: usize) {
        let Some(&first) = self.tokens.get(self.at) else {
            return;
        };
        spans.nodes[id].start = first.start;
        spans.nodes[id].end = first.end;
        self.at += 1;
        match first.kind {
            TokenKind::Punct(open @ ('(' | '[' | '{')) => {
                self.at -= 1;
                self.group(spans, id, open, depth);
            }
            // A sign belongs to the number after it.
            TokenKind::Punct('-' | '+') => {
                if let Some(number) = self.tokens.get(self.at) {
                    spans.nodes[id].end = number.end;
                    self.at += 1;
                }
            }
            // A name may come before a group: `WebServer( ... )`, `Some(5)`.
            TokenKind::Ident => {
                if let Some(TokenKind::Punct(open @ ('(' | '[' | '{'))) = self.peek(0) {
                    self.group(spans, id, open, depth);
                }
            }
            _ => {}
        }
    }

    /// Reads a group opened by `open` (the current token) into `id`, up to its closing token.
    fn group(&mut self, spans: &mut Spans, id: NodeId, open: char, depth: usize) {
        let close = match open {
            '(' => ')',
            '[' => ']',
            _ => '}',
        };
        self.at += 1;
        while let Some(kind) = self.peek(0) {
            match kind {
                TokenKind::Punct(c) if c == close => {
                    spans.nodes[id].end = self.tokens[self.at].end;
                    self.at += 1;
                    return;
                }
                TokenKind::Punct(',') => self.at += 1,
                TokenKind::Punct(')' | ']' | '}') => return,
                _ if depth >= MAX_DEPTH => self.at += 1,
                _ => self.entry(spans, id, depth),
            }
        }
        if let Some(last) = self.tokens.last() {
            spans.nodes[id].end = last.end;
        }
    }

    /// Reads one entry of a group: `name: value`, `"key": value`, or a plain value.
    fn entry(&mut self, spans: &mut Spans, id: NodeId, depth: usize) {
        let key = self.tokens[self.at];
        let named = matches!(key.kind, TokenKind::Ident | TokenKind::Str { .. })
            && self.peek(1) == Some(TokenKind::Punct(':'));
        let child = spans.nodes.len();
        spans.nodes.push(Node::default());
        if named {
            let name = match key.kind {
                TokenKind::Str { .. } => key.string_text(self.source),
                _ => key.text(self.source),
            };
            spans.nodes[id].fields.push((name.to_string(), child));
            self.at += 2;
        } else {
            spans.nodes[id].items.push(child);
        }
        let before = self.at;
        self.value(spans, child, depth + 1);
        if self.at == before {
            // Nothing could be read here: skip a token, so reading always moves on.
            self.at += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"Scenario(
    name: "x", // a comment with "port": 9
    nodes: [
        WebServer(name: "web", port: 8080),
        L4Balancer(
            name: "lb",
            services: [(vip: "10.0.0.100", port: 80, real_servers: [
                (ip: "10.0.0.11"), (ip: "10.0.0.12", port: 0),
            ])],
        ),
        Host(name: "h", ping: Some((target: "10.0.0.1", count: -3))),
    ],
    hosts: { "www": "10.0.0.100" },
)"#;

    fn text(spans: &Spans, node: NodeId) -> &'static str {
        let (start, end) = spans.range(node);
        &FILE[start..end]
    }

    #[test]
    fn paths_find_the_entry_they_name() {
        let spans = Spans::new(FILE);
        let rs = spans.descend(
            spans.root(),
            &[
                Step::Field("nodes"),
                Step::Item(1),
                Step::Field("services"),
                Step::Item(0),
                Step::Field("real_servers"),
                Step::Item(1),
            ],
        );
        assert_eq!(text(&spans, rs), r#"(ip: "10.0.0.12", port: 0)"#);
        let port = spans.child(rs, Step::Field("port")).unwrap();
        assert_eq!(text(&spans, port), "0");
    }

    #[test]
    fn wrappers_and_signs_and_maps_are_looked_through() {
        let spans = Spans::new(FILE);
        let host = spans.descend(spans.root(), &[Step::Field("nodes"), Step::Item(2)]);
        let count = spans.descend(host, &[Step::Field("ping"), Step::Field("count")]);
        assert_eq!(text(&spans, count), "-3");
        let www = spans.descend(spans.root(), &[Step::Field("hosts"), Step::Field("www")]);
        assert_eq!(text(&spans, www), "\"10.0.0.100\"");
    }

    #[test]
    fn a_missing_path_stops_where_the_file_does() {
        let spans = Spans::new(FILE);
        let web = spans.descend(spans.root(), &[Step::Field("nodes"), Step::Item(0)]);
        assert_eq!(spans.descend(web, &[Step::Field("workers")]), web);
        assert_eq!(spans.child(web, Step::Item(7)), None);
    }

    #[test]
    fn any_text_gives_a_tree_without_panicking() {
        for text in [
            "",
            "(",
            ")",
            "[[[",
            "a: b: c",
            "-",
            "Some(",
            "{\"k\": }",
            "(((((((",
        ] {
            let spans = Spans::new(text);
            let _ = spans.descend(spans.root(), &[Step::Field("nodes"), Step::Item(3)]);
        }
        let deep = "[".repeat(10_000);
        let spans = Spans::new(&deep);
        assert!(spans.nodes.len() <= MAX_DEPTH + 2);
    }
}
