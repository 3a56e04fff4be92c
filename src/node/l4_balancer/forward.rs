//! Forwarding: what IPVS does to one client packet (steps 1–5 of the module doc). Finds or
//! schedules its connection, advances the entry's TCP state, takes one off the TTL and
//! rewrites the packet for NAT, direct routing or tunnelling; rewrites NAT replies back to the
//! VIP; answers ICMP port unreachable, "fragmentation needed", or a reset to stray segments.

use std::net::Ipv4Addr;

use smoltcp::wire::{
    EthernetAddress, EthernetFrame, EthernetProtocol, IpProtocol, Ipv4Packet, TcpControl,
    TcpPacket, TcpSeqNumber,
};

use super::super::NodeCtx;
use super::super::frames::{self, ETHERNET_HEADER_LEN};
use super::super::router::{IcmpError, decrease_ttl};
use super::super::tunnel::{self, EncapsulateError};
use super::L4Balancer;
use super::decision::pick_record;
use crate::ipvs::conn::{Conn, ConnKey, Direction, TcpFlags, TcpState, next_state};
use crate::ipvs::fwmark;
use crate::ipvs::scheduler::Connection;
use crate::ipvs::service::{Forward, Scheduled, find_service};
use crate::sim::SimTime;
use crate::trace::DecisionKind;

/// What the TCP header of a packet tells the director.
pub(super) struct Segment {
    /// Source address.
    pub(super) src: Ipv4Addr,
    /// Destination address.
    pub(super) dst: Ipv4Addr,
    /// Source port.
    pub(super) src_port: u16,
    /// Destination port.
    pub(super) dst_port: u16,
    /// Flags.
    pub(super) flags: TcpFlags,
    /// IP packet length in bytes (for the statistics).
    pub(super) ip_len: u64,
}

/// Reads the addresses, ports and flags of a TCP/IPv4 frame, if it is one.
pub(super) fn parse_tcp(frame: &[u8]) -> Option<Segment> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    if eth.ethertype() != EthernetProtocol::Ipv4 {
        return None;
    }
    let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
    if ip.next_header() != IpProtocol::Tcp || !ip.verify_checksum() {
        return None;
    }
    let tcp = TcpPacket::new_checked(ip.payload()).ok()?;
    Some(Segment {
        src: ip.src_addr(),
        dst: ip.dst_addr(),
        src_port: tcp.src_port(),
        dst_port: tcp.dst_port(),
        flags: TcpFlags {
            syn: tcp.syn(),
            fin: tcp.fin(),
            ack: tcp.ack(),
            rst: tcp.rst(),
        },
        ip_len: ip.total_len() as u64,
    })
}

/// Rewrites the destination (`to_dst`) or source address and port of a TCP/IPv4 frame and
/// updates both checksums for the change (the TCP checksum covers the addresses through the
/// pseudo-header), as IPVS's `tcp_dnat_handler` / `tcp_snat_handler` do with
/// `tcp_fast_csum_update`: the same bytes a full recomputation writes
/// ([`frames::update_checksum`]), without summing the 10 KiB of a full segment again.
pub(super) fn rewrite(frame: &mut [u8], address: Ipv4Addr, port: u16, to_dst: bool) {
    let mut ip = Ipv4Packet::new_unchecked(&mut frame[ETHERNET_HEADER_LEN..]);
    let old_address = if to_dst { ip.dst_addr() } else { ip.src_addr() };
    if to_dst {
        ip.set_dst_addr(address);
    } else {
        ip.set_src_addr(address);
    }
    let (old_words, new_words) = (
        frames::address_words(old_address),
        frames::address_words(address),
    );
    ip.set_checksum(frames::update_checksum(
        ip.checksum(),
        &old_words,
        &new_words,
    ));
    let mut tcp = TcpPacket::new_unchecked(ip.payload_mut());
    let old_port = if to_dst {
        tcp.dst_port()
    } else {
        tcp.src_port()
    };
    if to_dst {
        tcp.set_dst_port(port);
    } else {
        tcp.set_src_port(port);
    }
    let old = [old_words[0], old_words[1], old_port];
    let new = [new_words[0], new_words[1], port];
    tcp.set_checksum(frames::update_checksum(tcp.checksum(), &old, &new));
}

/// Takes one off the TTL and fixes the header checksum; `false` if the packet must die here.
fn decrement_ttl(frame: &mut [u8]) -> bool {
    let header = &mut frame[ETHERNET_HEADER_LEN..];
    if Ipv4Packet::new_unchecked(&*header).hop_limit() <= 1 {
        return false;
    }
    decrease_ttl(header);
    true
}

impl L4Balancer {
    /// The service a client's packet is for: its mark (set by the mangle rules on packets
    /// the director forwards) or its destination, looked up as `ip_vs_service_find` does.
    /// A VIP held by VRRP is served only while this director is its master.
    pub(super) fn service_for(&self, seg: &Segment) -> Option<usize> {
        let mark = if self.router.owns(seg.dst) {
            0
        } else {
            fwmark::mark_of(&self.marks, seg.src, seg.dst_port)
        };
        let service = find_service(&self.services, mark, seg.dst, seg.dst_port)?;
        (self.services[service].fwmark.is_some() || self.router.owns(seg.dst)).then_some(service)
    }

    /// Steps 1–4: a packet from a client to a virtual service.
    pub(super) fn inbound(
        &mut self,
        ctx: &mut NodeCtx<'_>,
        frame: Vec<u8>,
        seg: Segment,
        service: usize,
    ) {
        let key = ConnKey {
            client_ip: seg.src,
            client_port: seg.src_port,
            vip: seg.dst,
            vport: seg.dst_port,
        };
        // 1–2. Find the connection, or schedule a new one.
        let Some(conn) = self.connection_for(ctx, &frame, &seg, key, service) else {
            return;
        };
        let svc = &mut self.services[conn.service];
        let Some(dest) = svc.dest_index(conn.dest_ip, conn.dest_port) else {
            return;
        };
        let forward = svc.configs[dest].forward;
        // 3. The TCP state machine, from the client's side.
        let direction = match forward {
            Forward::Masq => Direction::Input,
            Forward::Route | Forward::Tunnel => Direction::InputOnly,
        };
        self.advance(ctx.now, &key, conn, direction, seg.flags);
        let svc = &mut self.services[conn.service];
        svc.stats.in_pkts += 1;
        svc.stats.in_bytes += seg.ip_len;
        svc.dest_stats[dest].in_pkts += 1;
        svc.dest_stats[dest].in_bytes += seg.ip_len;
        // 4. Forward.
        self.forward_in(ctx, frame, seg.dst, &conn, forward);
    }

    /// Steps 1–2: the connection `key`'s packet belongs to, or a new one if it is a SYN and
    /// the scheduler finds a real server. `None` if the packet was answered here instead: a
    /// reset for a packet of no known connection, or ICMP port unreachable when no real
    /// server is available.
    fn connection_for(
        &mut self,
        ctx: &mut NodeCtx<'_>,
        frame: &[u8],
        seg: &Segment,
        key: ConnKey,
        service: usize,
    ) -> Option<Conn> {
        // A new SYN reusing a finished connection's 4-tuple starts afresh (conn_reuse_mode=1).
        let is_new_syn = seg.flags.syn && !seg.flags.ack;
        if is_new_syn
            && self
                .conns
                .get(&key)
                .is_some_and(|c| matches!(c.state, TcpState::TimeWait | TcpState::Close))
        {
            self.drop_conn(&key);
        }
        if let Some(conn) = self.conns.get(&key).copied() {
            return Some(conn);
        }
        if !is_new_syn {
            // Not part of any connection IPVS knows (a director that took over without
            // connection sync, say): the packet goes to the local TCP stack, which owns the
            // VIP and answers with a reset.
            self.send_reset(ctx, frame);
            return None;
        }
        let Some(scheduled) = self.schedule(ctx, seg, service) else {
            // ip_vs_leave(): no destination available → ICMP port unreachable, from the VIP
            // (the packet's local destination).
            self.router
                .send_icmp_error_from(ctx, seg.dst, frame, IcmpError::PortUnreachable);
            return None;
        };
        let svc = &self.services[service];
        let conn = Conn {
            service,
            dest_ip: svc.dests[scheduled.dest].addr,
            dest_port: svc.dests[scheduled.dest].port,
            state: TcpState::None,
            expires: ctx.now + TcpState::None.timeout(),
            control: scheduled.control,
        };
        self.conns.insert(key, conn);
        if self.sync {
            self.send_sync(ctx, &key, &conn);
        }
        Some(conn)
    }

    /// Step 2: the scheduler picks a real server of `service` for a new connection, and the
    /// pick is recorded with the inputs it saw (copied before it changes them, and only when
    /// decisions are recorded).
    fn schedule(
        &mut self,
        ctx: &mut NodeCtx<'_>,
        seg: &Segment,
        service: usize,
    ) -> Option<Scheduled> {
        let svc = &mut self.services[service];
        let request = Connection::new(seg.src, seg.src_port, seg.dst, seg.dst_port);
        let inputs = ctx
            .trace
            .decisions
            .is_on()
            .then(|| (svc.dests.clone(), svc.scheduler.state(&svc.dests, &request)));
        let scheduled = svc.schedule(&request, ctx.now);
        if let Some((candidates, state)) = inputs {
            let pick = pick_record(svc, &request, candidates, state, scheduled);
            let node = self.node_index;
            ctx.trace
                .decisions
                .record(ctx.now, node, DecisionKind::L4Pick(Box::new(pick)));
        }
        scheduled
    }

    /// Step 4: the packet goes on to `conn`'s real server, rewritten for NAT, as it is for
    /// direct routing, or wrapped in IP-in-IP for tunnelling. Like any forwarded packet it
    /// loses one TTL (Linux IPVS decrements it for NAT, DR and TUN since 4.x); one that would
    /// reach zero is dropped.
    fn forward_in(
        &mut self,
        ctx: &mut NodeCtx<'_>,
        mut frame: Vec<u8>,
        vip: Ipv4Addr,
        conn: &Conn,
        forward: Forward,
    ) {
        if !decrement_ttl(&mut frame) {
            return;
        }
        match forward {
            Forward::Masq => rewrite(&mut frame, conn.dest_ip, conn.dest_port, true),
            Forward::Route => {}
            Forward::Tunnel => match self.encapsulate(&frame, conn.dest_ip) {
                Ok(wrapped) => frame = wrapped,
                Err(EncapsulateError::FragmentationNeeded { mtu }) => {
                    // icmp_send() from the packet's local destination, the VIP; Linux never
                    // rate-limits this one (path MTU discovery depends on it).
                    let error = IcmpError::FragNeeded { mtu };
                    self.router.send_icmp_error_from(ctx, vip, &frame, error);
                    return;
                }
                Err(EncapsulateError::Malformed) => return,
            },
        }
        self.router.send_towards(ctx, conn.dest_ip, frame);
    }

    /// `ip_vs_tunnel_xmit`: the frame wrapped in IP-in-IP from the director's address towards
    /// `server` (path MTU 1500, every netlab link being Ethernet).
    pub(super) fn encapsulate(
        &mut self,
        frame: &[u8],
        server: Ipv4Addr,
    ) -> Result<Vec<u8>, EncapsulateError> {
        let source = self
            .router
            .source_towards(server)
            .ok_or(EncapsulateError::Malformed)?;
        self.ipip_ident = self.ipip_ident.wrapping_add(1);
        tunnel::encapsulate(frame, source, server, self.ipip_ident, tunnel::ETHERNET_MTU)
    }

    /// Step 5: a NAT reply from a real server.
    pub(super) fn outbound(
        &mut self,
        ctx: &mut NodeCtx<'_>,
        iface: usize,
        mut frame: Vec<u8>,
        seg: Segment,
        key: ConnKey,
    ) {
        let Some(conn) = self.conns.get(&key).copied() else {
            return;
        };
        self.advance(ctx.now, &key, conn, Direction::Output, seg.flags);
        let svc = &mut self.services[conn.service];
        if let Some(dest) = svc.dest_index(conn.dest_ip, conn.dest_port) {
            svc.dest_stats[dest].out_pkts += 1;
            svc.dest_stats[dest].out_bytes += seg.ip_len;
        }
        svc.stats.out_pkts += 1;
        svc.stats.out_bytes += seg.ip_len;
        rewrite(&mut frame, key.vip, key.vport, false);
        // Routed like any forwarded packet: TTL decremented, next hop resolved.
        self.router.handle_ipv4(ctx, iface, frame);
    }

    /// Step 3: applies a segment's flags to an entry and keeps the server's counters right.
    pub(super) fn advance(
        &mut self,
        now: SimTime,
        key: &ConnKey,
        conn: Conn,
        direction: Direction,
        flags: TcpFlags,
    ) {
        let new_state = next_state(conn.state, direction, flags).unwrap_or(conn.state);
        self.conns.update(key, new_state, now);
        let was_active = conn.state == TcpState::Established;
        let is_active = new_state == TcpState::Established;
        if was_active != is_active {
            let svc = &mut self.services[conn.service];
            if let Some(dest) = svc.dest_index(conn.dest_ip, conn.dest_port) {
                svc.activity_changed(dest, is_active);
            }
        }
    }

    /// Answers a stray TCP segment with a reset, as the Linux stack does (RFC 9293 §3.10.7.1).
    pub(super) fn send_reset(&mut self, ctx: &mut NodeCtx<'_>, frame: &[u8]) {
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            return;
        };
        let Ok(ip) = Ipv4Packet::new_checked(eth.payload()) else {
            return;
        };
        let Ok(tcp) = TcpPacket::new_checked(ip.payload()) else {
            return;
        };
        if tcp.rst() {
            return; // Never answer a reset with a reset.
        }
        let (seq, ack) = if tcp.ack() {
            (tcp.ack_number(), None)
        } else {
            let len = tcp.payload().len() + usize::from(tcp.syn()) + usize::from(tcp.fin());
            (TcpSeqNumber(0), Some(tcp.seq_number() + len))
        };
        let reset = frames::bare_tcp((tcp.dst_port(), tcp.src_port()), TcpControl::Rst, seq, ack);
        let out = frames::tcp_segment(
            eth.dst_addr(),
            EthernetAddress([0; 6]),
            ip.dst_addr(),
            ip.src_addr(),
            &reset,
        );
        self.router.send_towards(ctx, ip.src_addr(), out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smoltcp::wire::TcpRepr;

    /// A random TCP/IPv4 frame with right checksums, as a host's stack writes one.
    fn random_segment(rng: &mut crate::sim::Stream, payload: &mut Vec<u8>) -> Vec<u8> {
        let mut word = || rng.below(1 << 16) as u16;
        let address = |high: u16, low: u16| {
            let [a, b] = high.to_be_bytes();
            let [c, d] = low.to_be_bytes();
            Ipv4Addr::new(a, b, c, d)
        };
        let (src, dst) = (address(word(), word()), address(word(), word()));
        let ports = (word(), word());
        let seq = TcpSeqNumber(i32::from(word() as i16) << 8);
        payload.clear();
        payload.extend((0..word() % 1500).map(|i| (i as u8).wrapping_mul(31)));
        let segment = TcpRepr {
            payload: &payload[..],
            ..frames::bare_tcp(ports, TcpControl::None, seq, Some(seq + 1))
        };
        let mac = EthernetAddress([2, 0, 0, 0, 0, 1]);
        frames::tcp_segment(mac, mac, src, dst, &segment)
    }

    #[test]
    fn the_nat_rewrite_writes_the_checksums_a_full_sum_writes() {
        let mut rng = crate::sim::Streams::new(5).stream("segments");
        let mut payload = Vec::new();
        for round in 0..20_000 {
            let mut frame = random_segment(&mut rng, &mut payload);
            let [a, b, c, d] = (rng.below(1 << 32) as u32).to_be_bytes();
            let (address, port) = (Ipv4Addr::new(a, b, c, d), rng.below(1 << 16) as u16);
            let to_dst = round % 2 == 0;
            let mut full = frame.clone();
            let mut ip = Ipv4Packet::new_unchecked(&mut full[ETHERNET_HEADER_LEN..]);
            if to_dst {
                ip.set_dst_addr(address);
            } else {
                ip.set_src_addr(address);
            }
            ip.fill_checksum();
            let (src, dst) = (ip.src_addr(), ip.dst_addr());
            let mut tcp = TcpPacket::new_unchecked(ip.payload_mut());
            if to_dst {
                tcp.set_dst_port(port);
            } else {
                tcp.set_src_port(port);
            }
            tcp.fill_checksum(&src.into(), &dst.into());
            rewrite(&mut frame, address, port, to_dst);
            assert_eq!(frame, full, "round {round}");
            assert!(frames::checksums_valid(&frame));
        }
    }

    #[test]
    fn the_ttl_drops_by_one_and_a_packet_at_one_dies() {
        let mut rng = crate::sim::Streams::new(6).stream("segments");
        let mut frame = random_segment(&mut rng, &mut Vec::new());
        let ttl =
            |frame: &[u8]| Ipv4Packet::new_unchecked(&frame[ETHERNET_HEADER_LEN..]).hop_limit();
        let before = ttl(&frame);
        assert!(decrement_ttl(&mut frame));
        assert_eq!(ttl(&frame), before - 1);
        assert!(frames::checksums_valid(&frame));
        Ipv4Packet::new_unchecked(&mut frame[ETHERNET_HEADER_LEN..]).set_hop_limit(1);
        assert!(!decrement_ttl(&mut frame));
    }
}
