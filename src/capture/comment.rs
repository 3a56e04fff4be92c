//! *Packet comments*: the decision behind a frame, written beside it in `capture.pcapng`.
//!
//! When a director schedules a connection, the SYN it forwards to the chosen server is the
//! frame a student clicks on in Wireshark. So that SYN carries, as a pcapng packet comment
//! (`frame.comment`), the sentence `netlab explain` would say about the decision: the
//! scheduler, every candidate's figures, and the pick. An L7 proxy's SYN to a server carries
//! the rule, pool and algorithm that chose it; a transparent cache's SYN to an origin, the
//! miss that made it fetch.
//!
//! Decisions are recorded (`trace::decision`) before the node sends the frame they are about,
//! so the capture reads the decisions recorded since the last frame, turns the ones it
//! comments on into sentences waiting for their frame, and gives each to the first SYN (no
//! ACK) whose source address and port match: the client's for a director (its SYN keeps the
//! client as source, in NAT and direct routing alike), the proxy's or cache's own for them.
//! A sentence whose frame is never captured (another wire, filtered out) is dropped after
//! [`WAIT`], so memory stays flat on a long run.

use std::collections::VecDeque;
use std::net::Ipv4Addr;

use crate::explain::{Names, decision_sentence};
use crate::sim::{SimDuration, SimTime};
use crate::trace::{DecisionKind, Decisions};

/// How long a sentence waits for its frame.
const WAIT: SimDuration = SimDuration::from_secs(2);

/// Names owned, to lend to `explain`'s [`Names`].
pub struct OwnedNames {
    /// Node names by node index.
    pub nodes: Vec<String>,
    /// Web server names by server index.
    pub servers: Vec<String>,
    /// Web server addresses by server index.
    pub server_addrs: Vec<Ipv4Addr>,
    /// Segment names by segment index.
    pub segments: Vec<String>,
}

/// Turns decisions into comments and hands them to their frames.
pub struct Narrator {
    names: OwnedNames,
    /// Sentences waiting for a SYN from `(address, port)`, oldest first.
    waiting: VecDeque<(SimTime, (Ipv4Addr, u16), String)>,
    /// Records already read from `Decisions`.
    seen: usize,
    /// Whether someone else (`explain`, `report.html`) keeps the records; if not (or no
    /// longer: `Decisions::release`), they are dropped once read.
    keep: bool,
}

impl Narrator {
    /// A narrator using `names`; `keep` says whether the decision records must be kept.
    pub fn new(names: OwnedNames, keep: bool) -> Narrator {
        Narrator {
            names,
            waiting: VecDeque::new(),
            seen: 0,
            keep,
        }
    }

    /// From now on, the decision records are kept for `explain`.
    pub fn keep_records(&mut self) {
        self.keep = true;
        self.seen = 0;
    }

    /// Reads the decisions recorded since the last call.
    pub fn absorb(&mut self, decisions: &mut Decisions) {
        let records = decisions.records();
        if records.len() <= self.seen {
            return;
        }
        let names = Names {
            nodes: &self.names.nodes,
            servers: &self.names.servers,
            server_addrs: &self.names.server_addrs,
            segments: &self.names.segments,
        };
        for decision in &records[self.seen..] {
            let key = match &decision.kind {
                DecisionKind::L4Pick(pick) => pick.client,
                DecisionKind::L7Route(route) if !route.reused => match route.backend {
                    Some(backend) => backend,
                    None => continue,
                },
                DecisionKind::CacheLookup(lookup) => match lookup.fetch {
                    Some(fetch) => fetch,
                    None => continue,
                },
                _ => continue,
            };
            let node = names.nodes.get(decision.node).map_or("?", String::as_str);
            let text = format!("{node}: {}", decision_sentence(decision, &names));
            self.waiting.push_back((decision.at, key, text));
        }
        if self.keep && !decisions.released() {
            self.seen = records.len();
        } else {
            decisions.clear();
            self.seen = 0;
        }
    }

    /// The comment for `frame` seen at `at`, if it is the SYN a waiting sentence is about.
    pub fn comment_for(&mut self, at: SimTime, frame: &[u8]) -> Option<String> {
        while self
            .waiting
            .front()
            .is_some_and(|(made, _, _)| *made + WAIT < at)
        {
            self.waiting.pop_front();
        }
        let source = syn_source(frame)?;
        let index = self.waiting.iter().position(|(_, key, _)| *key == source)?;
        self.waiting.remove(index).map(|(_, _, text)| text)
    }
}

/// The source address and port of a TCP SYN without ACK in an Ethernet frame.
fn syn_source(frame: &[u8]) -> Option<(Ipv4Addr, u16)> {
    if frame.get(12..14)? != [0x08, 0x00] || *frame.get(23)? != 6 {
        return None;
    }
    let ihl = usize::from(frame[14] & 0x0f) * 4;
    let tcp = frame.get(14 + ihl..14 + ihl + 14)?;
    let flags = tcp[13];
    if flags & 0x12 != 0x02 {
        return None;
    }
    let src: [u8; 4] = frame.get(26..30)?.try_into().ok()?;
    Some((Ipv4Addr::from(src), u16::from_be_bytes([tcp[0], tcp[1]])))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn syn(src: [u8; 4], port: u16, flags: u8) -> Vec<u8> {
        let mut f = vec![0u8; 14 + 20 + 20];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        f[14] = 0x45;
        f[23] = 6;
        f[26..30].copy_from_slice(&src);
        f[34..36].copy_from_slice(&port.to_be_bytes());
        f[47] = flags;
        f
    }

    #[test]
    fn only_a_syn_without_ack_has_a_source_to_match() {
        assert_eq!(
            syn_source(&syn([10, 0, 0, 1], 4000, 0x02)),
            Some((Ipv4Addr::new(10, 0, 0, 1), 4000))
        );
        assert_eq!(syn_source(&syn([10, 0, 0, 1], 4000, 0x12)), None);
        assert_eq!(syn_source(&syn([10, 0, 0, 1], 4000, 0x10)), None);
        assert_eq!(syn_source(&[0; 20]), None);
    }

    #[test]
    fn a_sentence_goes_to_its_syn_once_and_expires() {
        let names = OwnedNames {
            nodes: vec![],
            servers: vec![],
            server_addrs: vec![],
            segments: vec![],
        };
        let mut narrator = Narrator::new(names, false);
        let key = (Ipv4Addr::new(10, 0, 0, 1), 4000);
        narrator
            .waiting
            .push_back((SimTime::ZERO, key, "lb: picked web1".into()));
        narrator
            .waiting
            .push_back((SimTime::ZERO, (key.0, 4001), "late".into()));
        let frame = syn([10, 0, 0, 1], 4000, 0x02);
        let at = SimTime::from_nanos(1_000);
        assert_eq!(
            narrator.comment_for(at, &frame).as_deref(),
            Some("lb: picked web1")
        );
        assert_eq!(narrator.comment_for(at, &frame), None, "given once");
        let later = SimTime::ZERO + WAIT + SimDuration::from_secs(1);
        assert_eq!(narrator.comment_for(later, &frame), None);
        assert!(narrator.waiting.is_empty(), "expired sentences are dropped");
    }
}
