//! *The client's resolver*: how a PC, phone or browser turns a name into addresses.
//!
//! A host asks its configured DNS server (a caching resolver, usually) and keeps the answer in
//! its own cache, according to a policy that differs between operating systems, browsers and
//! runtimes:
//! - `NoCache`: ask every time;
//! - `HonorTtl`: keep the answer for its TTL (what the protocol intends);
//! - `Hold(d)`: keep it for a fixed time whatever the TTL (browsers have held answers for
//!   60 s or more);
//! - `Forever`: resolve once and never again (some long-running programs, such as a JVM with
//!   the default security manager settings of old, did this).
//!
//! A question is sent again after 1 s, three times; then the name fails (`dns_error`).
//!
//! # Further reading
//! - `book/src/labs/dns-round-robin.md`.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use smoltcp::iface::SocketHandle;
use smoltcp::socket::udp;
use smoltcp::wire::IpEndpoint;

use super::authority::DNS_PORT;
use super::wire::{MAX_UDP_BYTES, Message, Rcode};
use crate::node::AppCtx;
use crate::sim::{SimDuration, SimTime};

/// Local port of the stub's queries.
const STUB_PORT: u16 = 30053;
/// Time before asking again.
const RETRY: SimDuration = SimDuration::from_secs(1);
/// Attempts before the name fails.
const ATTEMPTS: u32 = 3;

/// How long a client keeps an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CachePolicy {
    /// Never: ask for every request.
    NoCache,
    /// For the answer's TTL.
    HonorTtl,
    /// For this long, whatever the TTL.
    Hold(SimDuration),
    /// Until the end of the run.
    Forever,
}

/// The result of a lookup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// The addresses, in the answer's order.
    Ready(Vec<Ipv4Addr>),
    /// A question is on its way; ask again after the next poll.
    Pending,
    /// The name cannot be resolved.
    Failed,
}

/// A question in flight.
struct Asking {
    /// Its transaction id.
    id: u16,
    /// When it was last sent.
    sent_at: SimTime,
    /// Attempts so far.
    attempts: u32,
}

/// A host's stub resolver with its cache.
pub struct DnsStub {
    /// The DNS server to ask.
    server: Ipv4Addr,
    /// The cache policy.
    policy: CachePolicy,
    /// The UDP socket, created on first use.
    handle: Option<SocketHandle>,
    /// Cached answers: name → (addresses, expiry or `None` for forever).
    cache: BTreeMap<String, (Vec<Ipv4Addr>, Option<SimTime>)>,
    /// Questions in flight, by name.
    asking: BTreeMap<String, Asking>,
    /// Names that failed since the last poll (the client turns them into `dns_error`).
    failed: Vec<String>,
    /// Next transaction id.
    next_id: u16,
    /// Scratch buffer.
    buffer: Vec<u8>,
    /// Questions sent, for the summary.
    pub queries_sent: u64,
}

impl DnsStub {
    /// A stub asking `server`, caching by `policy`.
    pub fn new(server: Ipv4Addr, policy: CachePolicy, first_id: u16) -> DnsStub {
        DnsStub {
            server,
            policy,
            handle: None,
            cache: BTreeMap::new(),
            asking: BTreeMap::new(),
            failed: Vec::new(),
            next_id: first_id.max(1),
            buffer: Vec::with_capacity(MAX_UDP_BYTES),
            queries_sent: 0,
        }
    }

    /// The DNS server this stub asks.
    pub fn server(&self) -> Ipv4Addr {
        self.server
    }

    /// When the cached answer for `name` expires: `None` if it is not cached,
    /// `Some(None)` if it is kept for ever.
    pub fn cached_until(&self, name: &str) -> Option<Option<SimTime>> {
        self.cache.get(name).map(|(_, expiry)| *expiry)
    }

    /// Looks `name` up: from the cache, or by sending (or waiting for) a question.
    pub fn lookup(&mut self, cx: &mut AppCtx<'_>, name: &str) -> Lookup {
        if let Some((addresses, expiry)) = self.cache.get(name) {
            if expiry.is_none_or(|at| at > cx.now) {
                return Lookup::Ready(addresses.clone());
            }
            self.cache.remove(name);
        }
        if let Some(position) = self.failed.iter().position(|n| n == name) {
            self.failed.remove(position);
            return Lookup::Failed;
        }
        if !self.asking.contains_key(name) {
            let id = self.next_id;
            self.next_id = self.next_id.wrapping_add(1).max(1);
            self.asking.insert(
                name.to_string(),
                Asking {
                    id,
                    sent_at: cx.now,
                    attempts: 1,
                },
            );
            self.send(cx, name, id);
        }
        Lookup::Pending
    }

    /// Sends a question.
    fn send(&mut self, cx: &mut AppCtx<'_>, name: &str, id: u16) {
        let handle = *self.handle.get_or_insert_with(|| {
            let mut socket = udp::Socket::new(
                udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 8], vec![0; 4096]),
                udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 8], vec![0; 4096]),
            );
            socket
                .bind(STUB_PORT)
                .expect("a fresh UDP socket binds to a free port");
            cx.sockets.add(socket)
        });
        Message::query(id, name).emit(&mut self.buffer);
        let socket = cx.sockets.get_mut::<udp::Socket>(handle);
        let _ = socket.send_slice(&self.buffer, IpEndpoint::new(self.server.into(), DNS_PORT));
        self.queries_sent += 1;
    }

    /// Takes in answers and retries; returns whether anything changed (answers or failures
    /// that waiting requests should look at).
    pub fn poll(&mut self, cx: &mut AppCtx<'_>) -> bool {
        let Some(handle) = self.handle else {
            return false;
        };
        let mut changed = false;
        loop {
            let socket = cx.sockets.get_mut::<udp::Socket>(handle);
            let Ok((bytes, _)) = socket.recv() else {
                break;
            };
            let Some(answer) = Message::parse(bytes).filter(|m| m.response) else {
                continue;
            };
            let matches = self
                .asking
                .get(&answer.name)
                .is_some_and(|a| a.id == answer.id);
            if !matches {
                continue;
            }
            self.asking.remove(&answer.name);
            changed = true;
            if answer.rcode != Rcode::NoError || answer.answers.is_empty() {
                self.failed.push(answer.name);
                continue;
            }
            let ttl = answer.answers.iter().map(|a| a.ttl).min().unwrap_or(0);
            let expiry = match self.policy {
                CachePolicy::NoCache => Some(cx.now + SimDuration::from_nanos(1)),
                CachePolicy::HonorTtl => Some(cx.now + SimDuration::from_secs(ttl as u64)),
                CachePolicy::Hold(d) => Some(cx.now + d),
                CachePolicy::Forever => None,
            };
            let addresses = answer.answers.iter().map(|a| a.address).collect();
            self.cache.insert(answer.name, (addresses, expiry));
        }
        let overdue: Vec<String> = self
            .asking
            .iter()
            .filter(|(_, a)| a.sent_at + RETRY <= cx.now)
            .map(|(n, _)| n.clone())
            .collect();
        for name in overdue {
            let asking = self.asking.get_mut(&name).expect("listed just above");
            if asking.attempts >= ATTEMPTS {
                self.asking.remove(&name);
                self.failed.push(name);
            } else {
                asking.attempts += 1;
                asking.sent_at = cx.now;
                let id = asking.id;
                self.send(cx, &name, id);
            }
            changed = true;
        }
        changed
    }

    /// When a question must be sent again.
    pub fn next_timer(&self) -> Option<SimTime> {
        self.asking.values().map(|a| a.sent_at + RETRY).min()
    }
}
