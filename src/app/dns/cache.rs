//! *A caching resolver*: the ISP's or carrier's DNS server that many clients share.
//!
//! Clients send their questions to the resolver. It answers from its cache while an answer is
//! fresh, counting the TTL down; otherwise it asks the authoritative server, caches the answer
//! for its TTL, and passes it on. Two consequences matter for round robin:
//!
//! 1. Everyone behind one resolver gets **the same answer, in the same order**, until it
//!    expires: a carrier with a million phones sends them all to the first address.
//! 2. Some resolvers and carrier gateways **clamp** the TTL: they keep answers at least
//!    `min_ttl` (so a short TTL does not help) or at most `max_ttl`.
//!
//! # Simplifications
//! - One upstream server; a question is asked again after 1 s, three times, then the waiting
//!   clients get SERVFAIL.
//! - Cached answers are passed on in the order they arrived (no local rotation).
//!
//! # Further reading
//! - RFC 1034 §5.3.3, RFC 2308 (negative caching, not modelled); `book/src/labs/dns-round-robin.md`.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use smoltcp::iface::SocketHandle;
use smoltcp::socket::udp;
use smoltcp::wire::IpEndpoint;

use super::authority::DNS_PORT;
use super::wire::{Answer, MAX_UDP_BYTES, Message, Rcode};
use crate::node::{App, AppCtx};
use crate::sim::{SimDuration, SimTime};
use crate::trace::{DecisionKind, DnsEvent, DnsRecord};

/// Local port of the resolver's own upstream queries.
const UPSTREAM_PORT: u16 = 40053;
/// Time before asking upstream again.
const RETRY: SimDuration = SimDuration::from_secs(1);
/// Upstream attempts before giving up.
const ATTEMPTS: u32 = 3;

/// What a caching resolver is configured with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheConfig {
    /// The authoritative server to ask.
    pub upstream: Ipv4Addr,
    /// Keep answers at least this long, whatever their TTL.
    pub min_ttl: Option<SimDuration>,
    /// Keep answers at most this long.
    pub max_ttl: Option<SimDuration>,
}

/// Who asked: the query's id, the client's address and port, and the address it asked.
type Asker = (u16, IpEndpoint, Option<smoltcp::wire::IpAddress>);

/// A question asked upstream and the clients waiting for it.
struct Pending {
    /// Transaction id of the upstream query.
    id: u16,
    /// Clients waiting: their query id and where to answer.
    waiting: Vec<Asker>,
    /// When the last attempt went out.
    sent_at: SimTime,
    /// Attempts so far.
    attempts: u32,
}

/// The caching resolver application.
pub struct DnsCache {
    /// Configuration.
    config: CacheConfig,
    /// Socket for clients (port 53).
    server: Option<SocketHandle>,
    /// Socket for upstream queries.
    client: Option<SocketHandle>,
    /// Fresh answers: name → (records, expiry).
    cache: BTreeMap<String, (Vec<Answer>, SimTime)>,
    /// Questions in progress upstream, by name.
    pending: BTreeMap<String, Pending>,
    /// Next upstream transaction id.
    next_id: u16,
    /// Scratch buffer.
    buffer: Vec<u8>,
}

impl DnsCache {
    /// A resolver with an empty cache.
    pub fn new(config: CacheConfig) -> DnsCache {
        DnsCache {
            config,
            server: None,
            client: None,
            cache: BTreeMap::new(),
            pending: BTreeMap::new(),
            next_id: 1,
            buffer: Vec::with_capacity(MAX_UDP_BYTES),
        }
    }

    /// How long to keep an answer whose TTL is `ttl` seconds.
    fn hold_for(&self, ttl: u32) -> SimDuration {
        let mut hold = SimDuration::from_secs(ttl as u64);
        if let Some(min) = self.config.min_ttl {
            hold = hold.max(min);
        }
        if let Some(max) = self.config.max_ttl {
            hold = hold.min(max);
        }
        hold
    }

    /// Sends the upstream query for `name`.
    fn ask_upstream(&mut self, cx: &mut AppCtx<'_>, name: &str, id: u16) {
        Message::query(id, name).emit(&mut self.buffer);
        let handle = self.client.expect("the upstream socket exists once polled");
        let socket = cx.sockets.get_mut::<udp::Socket>(handle);
        let _ = socket.send_slice(
            &self.buffer,
            IpEndpoint::new(self.config.upstream.into(), DNS_PORT),
        );
    }

    /// Answers a waiting client.
    fn reply(
        &mut self,
        cx: &mut AppCtx<'_>,
        to: Asker,
        name: &str,
        rcode: Rcode,
        answers: Vec<Answer>,
    ) {
        let (id, endpoint, local) = to;
        Message::query(id, name)
            .answer(rcode, false, answers)
            .emit(&mut self.buffer);
        let handle = self.server.expect("the server socket exists once polled");
        let socket = cx.sockets.get_mut::<udp::Socket>(handle);
        let mut meta = udp::UdpMetadata::from(endpoint);
        meta.local_address = local;
        let _ = socket.send_slice(&self.buffer, meta);
    }
}

/// The address and port of an IPv4 endpoint (the only kind netlab's stacks have).
fn endpoint_v4(endpoint: IpEndpoint) -> (Ipv4Addr, u16) {
    let smoltcp::wire::IpAddress::Ipv4(ip) = endpoint.addr;
    (ip, endpoint.port)
}

/// A UDP socket with room for a burst of messages, bound to `port`.
fn udp_socket(cx: &mut AppCtx<'_>, port: u16) -> SocketHandle {
    let mut socket = udp::Socket::new(
        udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 64], vec![0; 16 * 1024]),
        udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 64], vec![0; 16 * 1024]),
    );
    socket
        .bind(port)
        .expect("a fresh UDP socket binds to a free port");
    cx.sockets.add(socket)
}

impl DnsCache {
    /// Step 1: questions from clients, answered from the cache or asked upstream.
    fn take_questions(&mut self, cx: &mut AppCtx<'_>, server: SocketHandle) -> bool {
        let mut acted = false;
        loop {
            let socket = cx.sockets.get_mut::<udp::Socket>(server);
            let Ok((bytes, meta)) = socket.recv() else {
                break;
            };
            let Some(query) = Message::parse(bytes).filter(|m| !m.response) else {
                continue;
            };
            let who = (query.id, meta.endpoint, meta.local_address);
            if self.answer_from_cache(cx, &query.name, who) {
                acted = true;
                continue;
            }
            acted |= self.ask_for(cx, &query.name, who);
        }
        acted
    }

    /// Answers `who` from the cache if it holds `name` and its answer has not expired; the
    /// TTL given is what is left of it. Whether it did.
    fn answer_from_cache(&mut self, cx: &mut AppCtx<'_>, name: &str, who: Asker) -> bool {
        let now = cx.now;
        let Some((records, expires)) = self.cache.get(name).cloned() else {
            return false;
        };
        if expires <= now {
            return false;
        }
        // The TTL counts down while the answer sits in the cache.
        let left = (expires - now).as_nanos().div_ceil(1_000_000_000) as u32;
        let answers = records
            .iter()
            .map(|a| Answer {
                address: a.address,
                ttl: left,
            })
            .collect();
        cx.trace.dns.push(DnsRecord {
            at: now,
            node: cx.node_index,
            name: name.to_string(),
            event: DnsEvent::CacheHit,
        });
        if cx.trace.decisions.is_on() {
            let kind = DecisionKind::ResolverLookup {
                client: endpoint_v4(who.1),
                ttl_left: Some(left),
                addresses: records.iter().map(|a| a.address).collect(),
            };
            cx.trace.decisions.record(now, cx.node_index, kind);
        }
        self.reply(cx, who, name, Rcode::NoError, answers);
        true
    }

    /// A cache miss: `who` waits for the answer to `name`, which is asked upstream unless
    /// it already is. Whether a question went upstream.
    fn ask_for(&mut self, cx: &mut AppCtx<'_>, name: &str, who: Asker) -> bool {
        let now = cx.now;
        cx.trace.dns.push(DnsRecord {
            at: now,
            node: cx.node_index,
            name: name.to_string(),
            event: DnsEvent::CacheMiss,
        });
        let kind = DecisionKind::ResolverLookup {
            client: endpoint_v4(who.1),
            ttl_left: None,
            addresses: Vec::new(),
        };
        cx.trace.decisions.record(now, cx.node_index, kind);
        if let Some(pending) = self.pending.get_mut(name) {
            pending.waiting.push(who);
            return false;
        }
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        self.pending.insert(
            name.to_string(),
            Pending {
                id,
                waiting: vec![who],
                sent_at: now,
                attempts: 1,
            },
        );
        self.ask_upstream(cx, name, id);
        true
    }

    /// Step 2: answers from upstream, cached and passed to everyone waiting for them.
    fn take_answers(&mut self, cx: &mut AppCtx<'_>, client: SocketHandle) -> bool {
        let mut acted = false;
        loop {
            let socket = cx.sockets.get_mut::<udp::Socket>(client);
            let Ok((bytes, _)) = socket.recv() else {
                break;
            };
            let Some(answer) = Message::parse(bytes).filter(|m| m.response) else {
                continue;
            };
            let Some(pending) = self
                .pending
                .remove(&answer.name)
                .filter(|p| p.id == answer.id)
            else {
                continue;
            };
            if answer.rcode == Rcode::NoError && !answer.answers.is_empty() {
                let ttl = answer.answers.iter().map(|a| a.ttl).min().unwrap_or(0);
                let expires = cx.now + self.hold_for(ttl);
                self.cache
                    .insert(answer.name.clone(), (answer.answers.clone(), expires));
            }
            for who in pending.waiting {
                self.reply(cx, who, &answer.name, answer.rcode, answer.answers.clone());
            }
            acted = true;
        }
        acted
    }

    /// Step 3: questions that upstream did not answer in time are asked again, or, after
    /// the last attempt, answered SERVFAIL.
    fn retry_overdue(&mut self, cx: &mut AppCtx<'_>) -> bool {
        let now = cx.now;
        let overdue: Vec<String> = self
            .pending
            .iter()
            .filter(|(_, p)| p.sent_at + RETRY <= now)
            .map(|(name, _)| name.clone())
            .collect();
        let acted = !overdue.is_empty();
        for name in overdue {
            let pending = self.pending.get_mut(&name).expect("listed just above");
            if pending.attempts >= ATTEMPTS {
                let pending = self.pending.remove(&name).expect("listed just above");
                for who in pending.waiting {
                    self.reply(cx, who, &name, Rcode::ServFail, Vec::new());
                }
            } else {
                pending.attempts += 1;
                pending.sent_at = now;
                let id = pending.id;
                self.ask_upstream(cx, &name, id);
            }
        }
        acted
    }
}

impl App for DnsCache {
    fn poll(&mut self, cx: &mut AppCtx<'_>) -> bool {
        let server = *self.server.get_or_insert_with(|| udp_socket(cx, DNS_PORT));
        let client = *self
            .client
            .get_or_insert_with(|| udp_socket(cx, UPSTREAM_PORT));
        // 1. Questions from clients: from the cache, or asked upstream.
        let mut acted = self.take_questions(cx, server);
        // 2. Answers from upstream: cache them and answer everyone waiting.
        acted |= self.take_answers(cx, client);
        // 3. Questions that upstream did not answer: ask again, or give up.
        acted |= self.retry_overdue(cx);
        acted
    }

    fn next_timer(&self) -> Option<SimTime> {
        self.pending.values().map(|p| p.sent_at + RETRY).min()
    }

    fn crash(&mut self) {
        self.server = None;
        self.client = None;
        self.cache.clear();
        self.pending.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_are_clamped() {
        let cache = DnsCache::new(CacheConfig {
            upstream: Ipv4Addr::new(10, 0, 0, 53),
            min_ttl: Some(SimDuration::from_secs(300)),
            max_ttl: Some(SimDuration::from_secs(3600)),
        });
        assert_eq!(cache.hold_for(1), SimDuration::from_secs(300));
        assert_eq!(cache.hold_for(600), SimDuration::from_secs(600));
        assert_eq!(cache.hold_for(86400), SimDuration::from_secs(3600));
    }
}
