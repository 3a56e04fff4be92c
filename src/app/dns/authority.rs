//! *An authoritative DNS server* for round-robin names.
//!
//! The server owns a zone: for each name, a list of A records and a TTL. Every query gets all
//! the records, in an order that depends on the configured policy:
//! - **cyclic** (like BIND's `rrset-order cyclic`): each answer starts one record later
//!   than the previous one, so successive askers start with different servers;
//! - **fixed**: always the configured order;
//! - **random**: a shuffled order.
//!
//! Clients use the first address, so the order *is* the load-balancing decision. Unknown
//! names get NXDOMAIN. The server knows nothing about the health of the addresses it hands
//! out: that is DNS round robin's blind spot.
//!
//! An operator may edit the zone during a run (`RemoveRecord`, `AddRecord`, `SetTtl` on the
//! timeline): the change is served from the next query on, as after `rndc reload`. Resolvers
//! and clients that cached the old answer keep it until its TTL runs out.
//!
//! # Simplifications
//! - UDP only, one socket, no zone transfers, no SOA/NS records.
//! - A name whose last record was removed is answered with no records (NODATA), not
//!   NXDOMAIN, and with no negative-caching TTL.
//!
//! # Further reading
//! - RFC 1034 §4.3.2; BIND 9 ARM, `rrset-order`; `book/src/labs/dns-round-robin.md`.

use std::net::Ipv4Addr;

use smoltcp::iface::SocketHandle;
use smoltcp::socket::udp;

use super::wire::{Answer, MAX_UDP_BYTES, Message, Rcode};
use crate::node::{App, AppCtx, Command, ZoneEdit};
use crate::sim::{SimTime, Stream};
use crate::trace::decision::RecordOrderKind;
use crate::trace::{DecisionKind, DnsEvent, DnsRecord};

/// The port DNS servers listen on.
pub const DNS_PORT: u16 = 53;

/// How a server orders the records of an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordOrder {
    /// Rotate by one for each answer.
    Cyclic,
    /// Always the configured order.
    Fixed,
    /// Shuffle each time.
    Random,
}

/// One name of the zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneEntry {
    /// The name, lowercase.
    pub name: String,
    /// Its TTL in seconds.
    pub ttl: u32,
    /// Its addresses.
    pub addresses: Vec<Ipv4Addr>,
    /// How answers order them.
    pub order: RecordOrder,
}

/// An authoritative DNS server application.
pub struct DnsAuthority {
    /// The zone.
    zone: Vec<ZoneEntry>,
    /// For each entry, the rotation of the next cyclic answer.
    rotation: Vec<usize>,
    /// Shuffles for `Random`.
    rng: Stream,
    /// The UDP socket, created on the first poll.
    handle: Option<SocketHandle>,
    /// Scratch buffer for answers.
    buffer: Vec<u8>,
}

impl DnsAuthority {
    /// A server for `zone`.
    pub fn new(zone: Vec<ZoneEntry>, rng: Stream) -> DnsAuthority {
        DnsAuthority {
            rotation: vec![0; zone.len()],
            zone,
            rng,
            handle: None,
            buffer: Vec::with_capacity(MAX_UDP_BYTES),
        }
    }

    /// The records for entry `index`, in this answer's order.
    fn ordered(&mut self, index: usize) -> Vec<Answer> {
        let entry = &self.zone[index];
        let mut addresses = entry.addresses.clone();
        match entry.order {
            RecordOrder::Fixed => {}
            RecordOrder::Cyclic => {
                let n = addresses.len().max(1);
                addresses.rotate_left(self.rotation[index] % n);
                self.rotation[index] = (self.rotation[index] + 1) % n;
            }
            RecordOrder::Random => {
                // Fisher–Yates with the server's own stream.
                for i in (1..addresses.len()).rev() {
                    let j = self.rng.below(i as u64 + 1) as usize;
                    addresses.swap(i, j);
                }
            }
        }
        let ttl = entry.ttl;
        addresses
            .into_iter()
            .map(|address| Answer { address, ttl })
            .collect()
    }
}

impl DnsAuthority {
    /// Applies one zone edit; returns what changed, in words, or `None` if the zone has no
    /// such name (or no such record to remove).
    pub fn edit(&mut self, edit: &ZoneEdit) -> Option<String> {
        let name = match edit {
            ZoneEdit::RemoveRecord { name, .. }
            | ZoneEdit::AddRecord { name, .. }
            | ZoneEdit::SetTtl { name, .. } => name,
        };
        let index = self.zone.iter().position(|z| &z.name == name)?;
        let entry = &mut self.zone[index];
        match edit {
            ZoneEdit::RemoveRecord { address, .. } => {
                let at = entry.addresses.iter().position(|a| a == address)?;
                entry.addresses.remove(at);
                // The rotation keeps pointing inside the shorter list.
                self.rotation[index] %= entry.addresses.len().max(1);
                Some(format!("{address} ({} left)", entry.addresses.len()))
            }
            ZoneEdit::AddRecord { address, .. } => {
                entry.addresses.push(*address);
                Some(format!("{address} ({} now)", entry.addresses.len()))
            }
            ZoneEdit::SetTtl { ttl, .. } => {
                let was = std::mem::replace(&mut entry.ttl, *ttl);
                Some(format!("ttl {ttl}s (was {was}s)"))
            }
        }
    }
}

impl App for DnsAuthority {
    fn operate(&mut self, command: &Command) -> Option<String> {
        match command {
            Command::Zone(edit) => self.edit(edit),
            _ => None,
        }
    }

    fn poll(&mut self, cx: &mut AppCtx<'_>) -> bool {
        let handle = *self.handle.get_or_insert_with(|| {
            let mut socket = udp::Socket::new(
                udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 64], vec![0; 16 * 1024]),
                udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 64], vec![0; 16 * 1024]),
            );
            socket
                .bind(DNS_PORT)
                .expect("a fresh UDP socket binds to port 53");
            cx.sockets.add(socket)
        });
        let mut acted = false;
        loop {
            let socket = cx.sockets.get_mut::<udp::Socket>(handle);
            let Ok((bytes, meta)) = socket.recv() else {
                break;
            };
            let Some(query) = Message::parse(bytes).filter(|m| !m.response) else {
                continue;
            };
            let found = self.zone.iter().position(|z| z.name == query.name);
            let response = match found {
                Some(index) => {
                    // The rotation before `ordered` advances it: the record sent first.
                    let first = self.rotation[index];
                    let answers = self.ordered(index);
                    if cx.trace.decisions.is_on() {
                        let smoltcp::wire::IpAddress::Ipv4(client_ip) = meta.endpoint.addr;
                        let order = match self.zone[index].order {
                            RecordOrder::Cyclic => RecordOrderKind::Cyclic { first },
                            RecordOrder::Fixed => RecordOrderKind::Fixed,
                            RecordOrder::Random => RecordOrderKind::Random,
                        };
                        let kind = DecisionKind::AuthorityAnswer {
                            client: (client_ip, meta.endpoint.port),
                            addresses: answers.iter().map(|a| a.address).collect(),
                            order,
                            ttl: self.zone[index].ttl,
                        };
                        cx.trace.decisions.record(cx.now, cx.node_index, kind);
                    }
                    query.answer(Rcode::NoError, true, answers)
                }
                None => query.answer(Rcode::NxDomain, true, Vec::new()),
            };
            cx.trace.dns.push(DnsRecord {
                at: cx.now,
                node: cx.node_index,
                name: query.name.clone(),
                event: DnsEvent::Authoritative,
            });
            response.emit(&mut self.buffer);
            let socket = cx.sockets.get_mut::<udp::Socket>(handle);
            let _ = socket.send_slice(&self.buffer, meta);
            acted = true;
        }
        acted
    }

    fn next_timer(&self) -> Option<SimTime> {
        None
    }

    fn crash(&mut self) {
        self.handle = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(order: RecordOrder) -> DnsAuthority {
        let zone = vec![ZoneEntry {
            name: "www.example".into(),
            ttl: 60,
            addresses: vec![
                Ipv4Addr::new(10, 0, 0, 1),
                Ipv4Addr::new(10, 0, 0, 2),
                Ipv4Addr::new(10, 0, 0, 3),
            ],
            order,
        }];
        DnsAuthority::new(zone, crate::sim::Streams::new(1).stream("dns"))
    }

    fn firsts(server: &mut DnsAuthority) -> Vec<u8> {
        (0..4)
            .map(|_| server.ordered(0)[0].address.octets()[3])
            .collect()
    }

    #[test]
    fn cyclic_order_rotates_the_first_record() {
        assert_eq!(firsts(&mut server(RecordOrder::Cyclic)), vec![1, 2, 3, 1]);
    }

    #[test]
    fn fixed_order_never_changes() {
        assert_eq!(firsts(&mut server(RecordOrder::Fixed)), vec![1, 1, 1, 1]);
    }

    #[test]
    fn zone_edits_change_the_next_answers() {
        let mut s = server(RecordOrder::Fixed);
        let name = "www.example".to_string();
        let removed = s.edit(&ZoneEdit::RemoveRecord {
            name: name.clone(),
            address: Ipv4Addr::new(10, 0, 0, 1),
        });
        assert_eq!(removed.as_deref(), Some("10.0.0.1 (2 left)"));
        assert_eq!(firsts(&mut s), vec![2, 2, 2, 2]);
        let ttl = s.edit(&ZoneEdit::SetTtl {
            name: name.clone(),
            ttl: 5,
        });
        assert_eq!(ttl.as_deref(), Some("ttl 5s (was 60s)"));
        assert_eq!(s.ordered(0)[0].ttl, 5);
        s.edit(&ZoneEdit::AddRecord {
            name,
            address: Ipv4Addr::new(10, 0, 0, 1),
        });
        let order: Vec<u8> = s.ordered(0).iter().map(|a| a.address.octets()[3]).collect();
        assert_eq!(order, vec![2, 3, 1]);
        let unknown = s.edit(&ZoneEdit::SetTtl {
            name: "nope.example".into(),
            ttl: 1,
        });
        assert_eq!(unknown, None);
    }

    #[test]
    fn random_order_keeps_every_record() {
        let mut s = server(RecordOrder::Random);
        let mut answer: Vec<u8> = s.ordered(0).iter().map(|a| a.address.octets()[3]).collect();
        answer.sort();
        assert_eq!(answer, vec![1, 2, 3]);
    }
}
