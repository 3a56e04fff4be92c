//! *DNS messages* (RFC 1035 §4), the part a round-robin lab needs: A queries and answers.
//!
//! A DNS message is a 12-byte header, then sections of records:
//!
//! ```text
//! 0      2      4        6        8        10       12
//! | id   | flags | qdcount | ancount | nscount | arcount |  question...  answers...
//! ```
//!
//! - `id` pairs an answer with its query; `flags` hold QR (1 = response), the opcode, AA
//!   (authoritative), RD/RA (recursion desired/available) and the RCODE (0 = no error,
//!   3 = NXDOMAIN, the name does not exist).
//! - A question is a name (length-prefixed labels: `3www7example0`), a type (1 = A) and a
//!   class (1 = IN).
//! - An answer record repeats the name (usually as a 2-byte *pointer* `c0 0c` to the name in
//!   the question), then type, class, a 32-bit **TTL** (how many seconds the answer may be
//!   cached) and the data: four bytes of IPv4 address for an A record.
//!
//! A round-robin name simply has several A records; the order of the records in each answer
//! is what spreads clients over servers, and the TTL is what lets caches keep one order.
//!
//! [`Message`] is the parsed form (like smoltcp's `Repr`), with [`Message::parse`] and
//! [`Message::emit`].
//!
//! # Simplifications
//! - One question per message; A records only (other types are answered NXDOMAIN-free but
//!   empty); no EDNS, no truncation, no authority or additional sections.

use std::net::Ipv4Addr;

/// Record type A (an IPv4 address).
pub const TYPE_A: u16 = 1;
/// Class IN (the internet).
const CLASS_IN: u16 = 1;
/// Flag: this is a response.
const FLAG_QR: u16 = 0x8000;
/// Flag: authoritative answer.
const FLAG_AA: u16 = 0x0400;
/// Flag: recursion desired.
const FLAG_RD: u16 = 0x0100;
/// Flag: recursion available.
const FLAG_RA: u16 = 0x0080;
/// The longest message we build or accept over UDP (RFC 1035 §4.2.1).
pub const MAX_UDP_BYTES: usize = 512;

/// Response codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rcode {
    /// No error.
    NoError,
    /// The server failed (SERVFAIL, 2).
    ServFail,
    /// The name does not exist (NXDOMAIN, 3).
    NxDomain,
    /// Any other code.
    Other(u8),
}

impl Rcode {
    fn from_bits(bits: u16) -> Rcode {
        match bits & 0xf {
            0 => Rcode::NoError,
            2 => Rcode::ServFail,
            3 => Rcode::NxDomain,
            n => Rcode::Other(n as u8),
        }
    }

    fn bits(self) -> u16 {
        match self {
            Rcode::NoError => 0,
            Rcode::ServFail => 2,
            Rcode::NxDomain => 3,
            Rcode::Other(n) => n as u16 & 0xf,
        }
    }
}

/// One A record of an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The address.
    pub address: Ipv4Addr,
    /// Seconds it may be cached.
    pub ttl: u32,
}

/// A parsed DNS message with one question.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Transaction id.
    pub id: u16,
    /// Whether this is a response.
    pub response: bool,
    /// Authoritative answer.
    pub authoritative: bool,
    /// Recursion desired (queries) / available (responses).
    pub recursion: bool,
    /// Response code.
    pub rcode: Rcode,
    /// The name asked about, lowercase, without the final dot.
    pub name: String,
    /// The type asked about.
    pub qtype: u16,
    /// A records of the answer section.
    pub answers: Vec<Answer>,
}

impl Message {
    /// A recursive A query for `name`.
    pub fn query(id: u16, name: &str) -> Message {
        Message {
            id,
            response: false,
            authoritative: false,
            recursion: true,
            rcode: Rcode::NoError,
            name: name.to_ascii_lowercase(),
            qtype: TYPE_A,
            answers: Vec::new(),
        }
    }

    /// The response to this query with `answers` (empty with NXDOMAIN).
    pub fn answer(&self, rcode: Rcode, authoritative: bool, answers: Vec<Answer>) -> Message {
        Message {
            id: self.id,
            response: true,
            authoritative,
            recursion: true,
            rcode,
            name: self.name.clone(),
            qtype: self.qtype,
            answers,
        }
    }

    /// Writes the message into `out` (cleared first).
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.clear();
        let mut flags = self.rcode.bits();
        if self.response {
            flags |= FLAG_QR;
            if self.recursion {
                flags |= FLAG_RA | FLAG_RD;
            }
        } else if self.recursion {
            flags |= FLAG_RD;
        }
        if self.authoritative {
            flags |= FLAG_AA;
        }
        for word in [self.id, flags, 1, self.answers.len() as u16, 0, 0] {
            out.extend_from_slice(&word.to_be_bytes());
        }
        for label in self.name.split('.').filter(|l| !l.is_empty()) {
            out.push(label.len().min(63) as u8);
            out.extend_from_slice(&label.as_bytes()[..label.len().min(63)]);
        }
        out.push(0);
        out.extend_from_slice(&self.qtype.to_be_bytes());
        out.extend_from_slice(&CLASS_IN.to_be_bytes());
        for answer in &self.answers {
            // The name as a pointer to the question's name at offset 12.
            out.extend_from_slice(&[0xc0, 0x0c]);
            out.extend_from_slice(&TYPE_A.to_be_bytes());
            out.extend_from_slice(&CLASS_IN.to_be_bytes());
            out.extend_from_slice(&answer.ttl.to_be_bytes());
            out.extend_from_slice(&4u16.to_be_bytes());
            out.extend_from_slice(&answer.address.octets());
        }
    }

    /// Parses a message; `None` if it is malformed or has no question.
    pub fn parse(bytes: &[u8]) -> Option<Message> {
        let word = |at: usize| -> Option<u16> {
            Some(u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]))
        };
        let id = word(0)?;
        let flags = word(2)?;
        let qdcount = word(4)?;
        let ancount = word(6)?;
        if qdcount != 1 {
            return None;
        }
        let (name, mut at) = read_name(bytes, 12)?;
        let qtype = word(at)?;
        at += 4;
        let mut answers = Vec::new();
        for _ in 0..ancount {
            let (_, after_name) = read_name(bytes, at)?;
            at = after_name;
            let rtype = word(at)?;
            let ttl = u32::from_be_bytes(bytes.get(at + 4..at + 8)?.try_into().ok()?);
            let rdlen = word(at + 8)? as usize;
            let rdata = bytes.get(at + 10..at + 10 + rdlen)?;
            if rtype == TYPE_A && rdlen == 4 {
                answers.push(Answer {
                    address: Ipv4Addr::new(rdata[0], rdata[1], rdata[2], rdata[3]),
                    ttl,
                });
            }
            at += 10 + rdlen;
        }
        Some(Message {
            id,
            response: flags & FLAG_QR != 0,
            authoritative: flags & FLAG_AA != 0,
            recursion: flags & (FLAG_RD | FLAG_RA) != 0,
            rcode: Rcode::from_bits(flags),
            name,
            qtype,
            answers,
        })
    }
}

/// Reads a (possibly compressed) name at `at`; returns it and the offset just after it.
fn read_name(bytes: &[u8], mut at: usize) -> Option<(String, usize)> {
    let mut name = String::new();
    let mut end = None;
    // Bounded: a malicious loop of pointers cannot make this spin.
    for _ in 0..128 {
        let len = *bytes.get(at)? as usize;
        if len == 0 {
            return Some((name, end.unwrap_or(at + 1)));
        }
        if len & 0xc0 == 0xc0 {
            let pointer = ((len & 0x3f) << 8) | *bytes.get(at + 1)? as usize;
            end.get_or_insert(at + 2);
            at = pointer;
            continue;
        }
        let label = bytes.get(at + 1..at + 1 + len)?;
        if !name.is_empty() {
            name.push('.');
        }
        name.push_str(&String::from_utf8_lossy(label).to_ascii_lowercase());
        at += 1 + len;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_round_trips() {
        let query = Message::query(0x1234, "www.Example");
        let mut bytes = Vec::new();
        query.emit(&mut bytes);
        assert_eq!(&bytes[12..16], b"\x03www");
        assert_eq!(
            Message::parse(&bytes),
            Some(Message::query(0x1234, "www.example"))
        );
    }

    #[test]
    fn an_answer_with_several_records_round_trips() {
        let query = Message::query(7, "www.example");
        let answers = vec![
            Answer {
                address: Ipv4Addr::new(10, 0, 2, 11),
                ttl: 60,
            },
            Answer {
                address: Ipv4Addr::new(10, 0, 2, 12),
                ttl: 60,
            },
        ];
        let response = query.answer(Rcode::NoError, true, answers.clone());
        let mut bytes = Vec::new();
        response.emit(&mut bytes);
        let parsed = Message::parse(&bytes).unwrap();
        assert!(parsed.response && parsed.authoritative);
        assert_eq!(parsed.answers, answers);
        assert_eq!(parsed.id, 7);
    }

    #[test]
    fn nxdomain_is_kept() {
        let response = Message::query(1, "nope.example").answer(Rcode::NxDomain, true, Vec::new());
        let mut bytes = Vec::new();
        response.emit(&mut bytes);
        assert_eq!(Message::parse(&bytes).unwrap().rcode, Rcode::NxDomain);
    }

    #[test]
    fn garbage_does_not_parse() {
        assert_eq!(Message::parse(&[1, 2, 3]), None);
        // A pointer loop.
        let mut bytes = vec![0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        bytes.extend_from_slice(&[0xc0, 12]);
        assert_eq!(Message::parse(&bytes), None);
    }
}
