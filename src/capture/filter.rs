//! *Capture filters*: which frames a capture keeps, in a small subset of tcpdump's language.
//!
//! A capture of a busy run is large, and a student usually looks for one protocol. tcpdump
//! and Wireshark's capture field take a BPF expression such as `tcp port 80`; netlab reads the
//! subset below, with tcpdump's meaning, and rejects anything else with the column where it
//! went wrong (a filter that silently means something else would mislead more than an error).
//!
//! ```text
//! expr      := term { ("or" | "||") term }
//! term      := factor { ("and" | "&&") factor }
//! factor    := ("not" | "!") factor | "(" expr ")" | primitive
//! primitive := "arp" | "ip" | "icmp" | "tcp" | "udp" | "vrrp"
//!            | ["tcp" | "udp"] ["src" | "dst"] "port" NUMBER
//!            | ["src" | "dst"] "host" IPV4
//!            | ["src" | "dst"] "net" IPV4 "/" LENGTH
//! ```
//!
//! As in tcpdump, `port` alone means TCP or UDP, either direction; `host` matches an IPv4
//! packet's source or destination and an ARP packet's sender or target address; `and` binds
//! tighter than `or`.
//!
//! # Simplifications
//! - No other primitives (`ether`, `vlan`, `portrange`, `less`, byte offsets `tcp[13]`), no
//!   juxtaposition without `and`, no compilation to BPF: the expression is evaluated on each
//!   frame's headers, which for these primitives gives the same answer.
//! - IPv4 fragments other than the first have no ports; netlab sends none.
//!
//! # Further reading
//! - pcap-filter(7): <https://www.tcpdump.org/manpages/pcap-filter.7.html>

use std::fmt;
use std::net::Ipv4Addr;

/// A checked capture filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    /// The text as written.
    text: String,
    /// The parsed expression.
    expr: Expr,
}

/// A filter that does not parse: where and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterError {
    /// Column of the offending word, counted in characters from 1.
    pub column: usize,
    /// What is wrong.
    pub message: String,
    /// What the subset offers there.
    pub help: String,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: {}", self.column, self.message)
    }
}

/// What the subset offers, for the `help:` line of every error.
pub const FILTER_HELP: &str = "netlab reads tcpdump's arp, ip, icmp, tcp, udp, vrrp, \
[tcp|udp] [src|dst] port N, [src|dst] host A.B.C.D, [src|dst] net A.B.C.D/N, joined with \
and/&&, or/||, not/! and parentheses";

/// The expression tree.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Expr {
    Proto(Proto),
    Port(Option<Proto>, Dir, u16),
    Host(Dir, Ipv4Addr),
    Net(Dir, Ipv4Addr, u8),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

/// A protocol word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Proto {
    Arp,
    Ip,
    Icmp,
    Tcp,
    Udp,
    Vrrp,
}

/// Which address or port a primitive looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dir {
    Either,
    Src,
    Dst,
}

impl Filter {
    /// Parses `text`.
    pub fn parse(text: &str) -> Result<Filter, FilterError> {
        let tokens = tokenize(text)?;
        let mut parser = Parser {
            tokens: &tokens,
            at: 0,
            end: text.chars().count() + 1,
        };
        let expr = parser.expr()?;
        if let Some(token) = parser.peek() {
            let message = if KNOWN.contains(&token.text.as_str()) {
                format!(
                    "unexpected `{}`: join primitives with `and` or `or`",
                    token.text
                )
            } else {
                unknown_word(&token.text)
            };
            return Err(parser.error_at(token.column, message));
        }
        Ok(Filter {
            text: text.to_string(),
            expr,
        })
    }

    /// The filter as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether the Ethernet frame `frame` passes.
    pub fn matches(&self, frame: &[u8]) -> bool {
        eval(&self.expr, &Headers::read(frame))
    }
}

/// One word or symbol, with its column.
#[derive(Clone, Debug)]
struct Token {
    text: String,
    column: usize,
}

/// Splits into words (letters, digits, `.`, `/`, `:`) and the symbols `( ) ! && ||`.
fn tokenize(text: &str) -> Result<Vec<Token>, FilterError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let column = i + 1;
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' || c == ')' || c == '!' {
            tokens.push(Token {
                text: c.to_string(),
                column,
            });
            i += 1;
        } else if (c == '&' || c == '|') && chars.get(i + 1) == Some(&c) {
            tokens.push(Token {
                text: format!("{c}{c}"),
                column,
            });
            i += 2;
        } else if c.is_ascii_alphanumeric() || matches!(c, '.' | '/' | '_' | '-') {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || matches!(chars[i], '.' | '/' | '_' | '-'))
            {
                i += 1;
            }
            tokens.push(Token {
                text: chars[start..i].iter().collect(),
                column,
            });
        } else {
            return Err(FilterError {
                column,
                message: format!("unexpected character `{c}`"),
                help: FILTER_HELP.to_string(),
            });
        }
    }
    Ok(tokens)
}

/// A recursive-descent parser over the tokens.
struct Parser<'a> {
    tokens: &'a [Token],
    at: usize,
    /// The column just past the text, for "expected more" errors.
    end: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next_is(&self, words: &[&str]) -> bool {
        self.peek()
            .is_some_and(|t| words.contains(&t.text.as_str()))
    }

    fn error_at(&self, column: usize, message: String) -> FilterError {
        FilterError {
            column,
            message,
            help: FILTER_HELP.to_string(),
        }
    }

    /// The next token, or an error saying what was expected.
    fn take(&mut self, expected: &str) -> Result<Token, FilterError> {
        match self.tokens.get(self.at) {
            Some(token) => {
                self.at += 1;
                Ok(token.clone())
            }
            None => Err(self.error_at(self.end, format!("expected {expected} here"))),
        }
    }

    fn expr(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.term()?;
        while self.next_is(&["or", "||"]) {
            self.at += 1;
            left = Expr::Or(Box::new(left), Box::new(self.term()?));
        }
        Ok(left)
    }

    fn term(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.factor()?;
        while self.next_is(&["and", "&&"]) {
            self.at += 1;
            left = Expr::And(Box::new(left), Box::new(self.factor()?));
        }
        Ok(left)
    }

    fn factor(&mut self) -> Result<Expr, FilterError> {
        if self.next_is(&["not", "!"]) {
            self.at += 1;
            return Ok(Expr::Not(Box::new(self.factor()?)));
        }
        if self.next_is(&["("]) {
            self.at += 1;
            let inner = self.expr()?;
            let close = self.take("`)`")?;
            if close.text != ")" {
                return Err(self.error_at(
                    close.column,
                    format!("expected `)`, found `{}`", close.text),
                ));
            }
            return Ok(inner);
        }
        self.primitive()
    }

    fn primitive(&mut self) -> Result<Expr, FilterError> {
        let first = self.take("a primitive such as `tcp` or `port 80`")?;
        let proto = match first.text.as_str() {
            "arp" => Some(Proto::Arp),
            "ip" => Some(Proto::Ip),
            "icmp" => Some(Proto::Icmp),
            "tcp" => Some(Proto::Tcp),
            "udp" => Some(Proto::Udp),
            "vrrp" => Some(Proto::Vrrp),
            _ => None,
        };
        if let Some(proto) = proto {
            // `tcp port 80`, `udp src port 53`: a protocol qualifying a port.
            if matches!(proto, Proto::Tcp | Proto::Udp) && self.next_is(&["src", "dst", "port"]) {
                let dir = self.direction();
                return self.port(Some(proto), dir);
            }
            return Ok(Expr::Proto(proto));
        }
        self.at -= 1;
        let dir = self.direction();
        let word = self.take("`port`, `host` or `net`")?;
        match word.text.as_str() {
            "port" => {
                self.at -= 1;
                self.port(None, dir)
            }
            "host" => {
                let value = self.take("an IPv4 address")?;
                Ok(Expr::Host(dir, self.address(&value, &value.text)?))
            }
            "net" => {
                let value = self.take("an address and prefix length, such as 10.0.1.0/24")?;
                let (addr, len) = value.text.split_once('/').ok_or_else(|| {
                    self.error_at(
                        value.column,
                        format!("`{}` needs a prefix length, such as /24", value.text),
                    )
                })?;
                let addr = self.address(&value, addr)?;
                let len = len.parse::<u8>().ok().filter(|&l| l <= 32).ok_or_else(|| {
                    self.error_at(
                        value.column,
                        format!("`{len}` is not a prefix length from 0 to 32"),
                    )
                })?;
                Ok(Expr::Net(dir, addr, len))
            }
            other => Err(self.error_at(word.column, unknown_word(other))),
        }
    }

    /// An optional `src` or `dst`.
    fn direction(&mut self) -> Dir {
        let dir = match self.peek().map(|t| t.text.as_str()) {
            Some("src") => Dir::Src,
            Some("dst") => Dir::Dst,
            _ => return Dir::Either,
        };
        self.at += 1;
        dir
    }

    /// `port N`.
    fn port(&mut self, proto: Option<Proto>, dir: Dir) -> Result<Expr, FilterError> {
        let word = self.take("`port`")?;
        if word.text != "port" {
            return Err(self.error_at(
                word.column,
                format!("expected `port`, found `{}`", word.text),
            ));
        }
        let value = self.take("a port number")?;
        let port = value.text.parse::<u16>().map_err(|_| {
            self.error_at(
                value.column,
                format!("`{}` is not a port number from 0 to 65535", value.text),
            )
        })?;
        Ok(Expr::Port(proto, dir, port))
    }

    fn address(&self, token: &Token, text: &str) -> Result<Ipv4Addr, FilterError> {
        text.parse().map_err(|_| {
            self.error_at(
                token.column,
                format!("`{text}` is not an IPv4 address (host names are not looked up)"),
            )
        })
    }
}

/// The words of the subset.
const KNOWN: [&str; 14] = [
    "arp", "ip", "icmp", "tcp", "udp", "vrrp", "port", "host", "net", "src", "dst", "and", "or",
    "not",
];

/// The message for a word the subset does not have.
fn unknown_word(word: &str) -> String {
    match crate::scenario::diagnostic::nearest(word, KNOWN.iter().copied()) {
        Some(near) => format!("unknown word `{word}`; did you mean `{near}`?"),
        None => format!("unknown word `{word}`"),
    }
}

/// The header fields primitives look at, read once per frame.
#[derive(Default)]
struct Headers {
    arp: bool,
    ipv4: bool,
    protocol: u8,
    src: Option<Ipv4Addr>,
    dst: Option<Ipv4Addr>,
    ports: Option<(u16, u16)>,
}

impl Headers {
    fn read(frame: &[u8]) -> Headers {
        let mut h = Headers::default();
        let addr = |at: usize| -> Option<Ipv4Addr> {
            let b: [u8; 4] = frame.get(at..at + 4)?.try_into().ok()?;
            Some(Ipv4Addr::from(b))
        };
        match frame.get(12..14) {
            Some([0x08, 0x06]) => {
                h.arp = true;
                h.src = addr(14 + 14);
                h.dst = addr(14 + 24);
            }
            Some([0x08, 0x00]) if frame.len() >= 34 => {
                h.ipv4 = true;
                h.protocol = frame[23];
                h.src = addr(26);
                h.dst = addr(30);
                let ihl = usize::from(frame[14] & 0x0f) * 4;
                let first_fragment = u16::from_be_bytes([frame[20], frame[21]]) & 0x1fff == 0;
                if matches!(h.protocol, 6 | 17)
                    && first_fragment
                    && let Some(p) = frame.get(14 + ihl..14 + ihl + 4)
                {
                    h.ports = Some((
                        u16::from_be_bytes([p[0], p[1]]),
                        u16::from_be_bytes([p[2], p[3]]),
                    ));
                }
            }
            _ => {}
        }
        h
    }
}

fn eval(expr: &Expr, h: &Headers) -> bool {
    let pick = |dir: Dir, src: bool, dst: bool| match dir {
        Dir::Either => src || dst,
        Dir::Src => src,
        Dir::Dst => dst,
    };
    match expr {
        Expr::Proto(Proto::Arp) => h.arp,
        Expr::Proto(Proto::Ip) => h.ipv4,
        Expr::Proto(Proto::Icmp) => h.ipv4 && h.protocol == 1,
        Expr::Proto(Proto::Tcp) => h.ipv4 && h.protocol == 6,
        Expr::Proto(Proto::Udp) => h.ipv4 && h.protocol == 17,
        Expr::Proto(Proto::Vrrp) => h.ipv4 && h.protocol == 112,
        Expr::Port(proto, dir, port) => {
            let proto_ok = match proto {
                Some(Proto::Tcp) => h.protocol == 6,
                Some(Proto::Udp) => h.protocol == 17,
                _ => true,
            };
            proto_ok
                && h.ports
                    .is_some_and(|(s, d)| pick(*dir, s == *port, d == *port))
        }
        Expr::Host(dir, addr) => pick(*dir, h.src == Some(*addr), h.dst == Some(*addr)),
        Expr::Net(dir, net, len) => {
            let mask = if *len == 0 { 0 } else { u32::MAX << (32 - len) };
            let inside = |a: Option<Ipv4Addr>| {
                a.is_some_and(|a| u32::from(a) & mask == u32::from(*net) & mask)
            };
            pick(*dir, inside(h.src), inside(h.dst))
        }
        Expr::Not(inner) => !eval(inner, h),
        Expr::And(a, b) => eval(a, h) && eval(b, h),
        Expr::Or(a, b) => eval(a, h) || eval(b, h),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An Ethernet + IPv4 + TCP/UDP header with the given protocol, addresses and ports.
    fn ipv4(protocol: u8, src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
        let mut f = vec![0u8; 14 + 20 + 8];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        f[14] = 0x45;
        f[23] = protocol;
        f[26..30].copy_from_slice(&src);
        f[30..34].copy_from_slice(&dst);
        f[34..36].copy_from_slice(&sport.to_be_bytes());
        f[36..38].copy_from_slice(&dport.to_be_bytes());
        f
    }

    fn arp(sender: [u8; 4], target: [u8; 4]) -> Vec<u8> {
        let mut f = vec![0u8; 14 + 28];
        f[12..14].copy_from_slice(&[0x08, 0x06]);
        f[28..32].copy_from_slice(&sender);
        f[38..42].copy_from_slice(&target);
        f
    }

    fn passes(filter: &str, frame: &[u8]) -> bool {
        Filter::parse(filter).unwrap().matches(frame)
    }

    #[test]
    fn tcpdump_meanings() {
        let web = ipv4(6, [10, 0, 0, 1], [10, 0, 1, 2], 40000, 80);
        let dns = ipv4(17, [10, 0, 0, 1], [10, 0, 2, 53], 40001, 53);
        let who_has = arp([10, 0, 0, 1], [10, 0, 0, 254]);
        assert!(passes("tcp port 80", &web));
        assert!(!passes("udp port 80", &web));
        assert!(passes("port 53", &dns));
        assert!(passes("dst port 80 and src host 10.0.0.1", &web));
        assert!(!passes("src port 80", &web));
        assert!(passes("net 10.0.1.0/24", &web));
        assert!(!passes("dst net 10.0.2.0/24", &web));
        assert!(passes("host 10.0.0.254", &who_has));
        assert!(passes("arp or tcp", &who_has) && passes("arp || tcp", &web));
        assert!(passes("not arp", &web) && !passes("!arp", &who_has));
        assert!(passes("udp and (port 53 or port 5353)", &dns));
        // `and` binds tighter than `or`.
        assert!(passes("arp or tcp and port 1", &who_has));
        assert!(!passes("(arp or tcp) and port 1", &who_has));
    }

    #[test]
    fn errors_name_the_column() {
        let e = Filter::parse("tcp prot 80").unwrap_err();
        assert_eq!(e.column, 5);
        assert!(e.message.contains("did you mean `port`"), "{e}");
        let e = Filter::parse("port 99999").unwrap_err();
        assert_eq!(e.column, 6);
        let e = Filter::parse("host").unwrap_err();
        assert_eq!(e.column, 5, "{e}");
        let e = Filter::parse("(tcp").unwrap_err();
        assert!(e.message.contains("`)`"));
        let e = Filter::parse("tcp $").unwrap_err();
        assert_eq!(e.column, 5);
        let e = Filter::parse("tcp udp").unwrap_err();
        assert_eq!(e.column, 5);
        assert!(e.message.starts_with("unexpected `udp`"), "{e}");
        let e = Filter::parse("tcp port 80 prot").unwrap_err();
        assert_eq!(e.column, 13);
        let e = Filter::parse("net 10.0.0.0").unwrap_err();
        assert!(e.message.contains("prefix length"));
    }
}
