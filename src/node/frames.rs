//! *Building frames by hand*: the few packets that nodes other than smoltcp hosts must write.
//!
//! Routers answer ARP, return ICMP errors and echo replies; a host's device answers segments
//! for connections in TIME-WAIT. Each builder here writes a complete Ethernet frame with smoltcp's
//! `wire` types (`Repr::emit`), so every checksum is right and Wireshark decodes it.
//!
//! # Further reading
//! - RFC 826 (ARP), RFC 792 (ICMP), RFC 9293 §3.1 (TCP header).

use std::net::Ipv4Addr;

use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol,
    EthernetRepr, Icmpv4Packet, Icmpv4Repr, IpProtocol, Ipv4Packet, Ipv4Repr, TcpControl,
    TcpPacket, TcpRepr, TcpSeqNumber, UdpPacket, UdpRepr,
};

/// Length of an Ethernet II header.
pub const ETHERNET_HEADER_LEN: usize = 14;
/// Length of an IPv4 header without options.
pub const IPV4_HEADER_LEN: usize = 20;
/// The TTL routers give the ICMP messages they originate (Linux's default).
pub const DEFAULT_TTL: u8 = 64;

/// An ARP request or reply in an Ethernet frame.
pub fn arp(
    operation: ArpOperation,
    source_mac: EthernetAddress,
    source_ip: Ipv4Addr,
    target_mac: EthernetAddress,
    target_ip: Ipv4Addr,
) -> Vec<u8> {
    let repr = ArpRepr::EthernetIpv4 {
        operation,
        source_hardware_addr: source_mac,
        source_protocol_addr: source_ip,
        target_hardware_addr: target_mac,
        target_protocol_addr: target_ip,
    };
    // Requests are broadcast; replies go straight back to the asker.
    let dst = match operation {
        ArpOperation::Request => EthernetAddress::BROADCAST,
        _ => target_mac,
    };
    let mut frame = vec![0u8; ETHERNET_HEADER_LEN + repr.buffer_len()];
    let mut eth = EthernetFrame::new_unchecked(&mut frame[..]);
    EthernetRepr {
        src_addr: source_mac,
        dst_addr: dst,
        ethertype: EthernetProtocol::Arp,
    }
    .emit(&mut eth);
    repr.emit(&mut ArpPacket::new_unchecked(eth.payload_mut()));
    frame
}

/// An IPv4 packet carrying an ICMP message, in an Ethernet frame whose MACs are filled in later
/// (zero) when the sender does not yet know the next hop.
pub fn icmp(
    src_mac: EthernetAddress,
    dst_mac: EthernetAddress,
    src_ip: Ipv4Addr,
    dst_ip: Ipv4Addr,
    message: &Icmpv4Repr<'_>,
) -> Vec<u8> {
    let (macs, ips) = ((src_mac, dst_mac), (src_ip, dst_ip));
    ipv4_frame(
        macs,
        ips,
        IpProtocol::Icmp,
        message.buffer_len(),
        |payload, caps| {
            message.emit(&mut Icmpv4Packet::new_unchecked(payload), caps);
        },
    )
}

/// An Ethernet frame (`macs`: source, destination) holding an IPv4 packet (`ips`: source,
/// destination) with `payload_len` bytes of `protocol`, written by `emit_payload` into the
/// packet's payload; the checksums are computed (the capture shows them).
fn ipv4_frame(
    macs: (EthernetAddress, EthernetAddress),
    ips: (Ipv4Addr, Ipv4Addr),
    protocol: IpProtocol,
    payload_len: usize,
    emit_payload: impl FnOnce(&mut [u8], &ChecksumCapabilities),
) -> Vec<u8> {
    let ip = Ipv4Repr {
        src_addr: ips.0,
        dst_addr: ips.1,
        next_header: protocol,
        payload_len,
        hop_limit: DEFAULT_TTL,
    };
    let mut frame = vec![0u8; ETHERNET_HEADER_LEN + IPV4_HEADER_LEN + payload_len];
    let mut eth = EthernetFrame::new_unchecked(&mut frame[..]);
    EthernetRepr {
        src_addr: macs.0,
        dst_addr: macs.1,
        ethertype: EthernetProtocol::Ipv4,
    }
    .emit(&mut eth);
    let caps = ChecksumCapabilities::default();
    let mut packet = Ipv4Packet::new_unchecked(eth.payload_mut());
    ip.emit(&mut packet, &caps);
    emit_payload(packet.payload_mut(), &caps);
    frame
}

/// Writes the next-hop MTU into an ICMP "fragmentation needed" message (RFC 1191 §4: the low
/// 16 bits of the word smoltcp leaves unused) and fixes the ICMP checksum.
pub fn set_next_hop_mtu(frame: &mut [u8], mtu: u16) {
    let mut ip = Ipv4Packet::new_unchecked(&mut frame[ETHERNET_HEADER_LEN..]);
    let icmp = ip.payload_mut();
    icmp[6..8].copy_from_slice(&mtu.to_be_bytes());
    let mut packet = Icmpv4Packet::new_unchecked(icmp);
    packet.fill_checksum();
}

/// The part of an offending packet an ICMP error quotes: its IPv4 header (as a `Repr`) and the
/// first eight bytes of its payload (RFC 792), enough to name the flow.
pub fn quoted(packet: &Ipv4Packet<&[u8]>) -> (Ipv4Repr, usize) {
    let payload = packet.payload();
    let quoted_len = payload.len().min(8);
    let header = Ipv4Repr {
        src_addr: packet.src_addr(),
        dst_addr: packet.dst_addr(),
        next_header: packet.next_header(),
        payload_len: quoted_len,
        hop_limit: packet.hop_limit(),
    };
    (header, quoted_len)
}

/// A TCP header with no options and no payload, and a zero window: what a stack sends when it
/// answers for a connection it no longer (or never) had, a reset or a TIME-WAIT's ACK.
pub fn bare_tcp(
    ports: (u16, u16),
    control: TcpControl,
    seq_number: TcpSeqNumber,
    ack_number: Option<TcpSeqNumber>,
) -> TcpRepr<'static> {
    TcpRepr {
        src_port: ports.0,
        dst_port: ports.1,
        control,
        seq_number,
        ack_number,
        window_len: 0,
        window_scale: None,
        max_seg_size: None,
        sack_permitted: false,
        sack_ranges: [None; 3],
        timestamp: None,
        payload: &[],
    }
}

/// A bare TCP segment (no payload) in an Ethernet frame: used to re-acknowledge a peer's FIN
/// from a connection in TIME-WAIT, and for a director's reset.
pub fn tcp_segment(
    src_mac: EthernetAddress,
    dst_mac: EthernetAddress,
    src_ip: Ipv4Addr,
    dst_ip: Ipv4Addr,
    segment: &TcpRepr<'_>,
) -> Vec<u8> {
    let (macs, ips) = ((src_mac, dst_mac), (src_ip, dst_ip));
    ipv4_frame(
        macs,
        ips,
        IpProtocol::Tcp,
        segment.buffer_len(),
        |payload, caps| {
            let mut packet = TcpPacket::new_unchecked(payload);
            segment.emit(&mut packet, &src_ip.into(), &dst_ip.into(), caps);
        },
    )
}

/// A UDP datagram in an Ethernet frame.
pub fn udp(
    src_mac: EthernetAddress,
    dst_mac: EthernetAddress,
    src: (Ipv4Addr, u16),
    dst: (Ipv4Addr, u16),
    ttl: u8,
    payload: &[u8],
) -> Vec<u8> {
    let udp = UdpRepr {
        src_port: src.1,
        dst_port: dst.1,
    };
    let ip = Ipv4Repr {
        src_addr: src.0,
        dst_addr: dst.0,
        next_header: IpProtocol::Udp,
        payload_len: udp.header_len() + payload.len(),
        hop_limit: ttl,
    };
    let mut frame =
        vec![0u8; ETHERNET_HEADER_LEN + IPV4_HEADER_LEN + udp.header_len() + payload.len()];
    let mut eth = EthernetFrame::new_unchecked(&mut frame[..]);
    EthernetRepr {
        src_addr: src_mac,
        dst_addr: dst_mac,
        ethertype: EthernetProtocol::Ipv4,
    }
    .emit(&mut eth);
    let caps = ChecksumCapabilities::default();
    let mut packet = Ipv4Packet::new_unchecked(eth.payload_mut());
    ip.emit(&mut packet, &caps);
    udp.emit(
        &mut UdpPacket::new_unchecked(packet.payload_mut()),
        &src.0.into(),
        &dst.0.into(),
        payload.len(),
        |buf| buf.copy_from_slice(payload),
        &caps,
    );
    frame
}

/// The checksum of a header after some of its 16-bit words changed from `old` to `new`,
/// updated for the change instead of summed again (RFC 1624 eqn. 3, `HC' = ~(~HC + ~m + m')`;
/// Linux's `inet_proto_csum_replace4`, which IPVS's `tcp_fast_csum_update` uses for NAT).
///
/// When `checksum` is right and is not 0xffff (smoltcp never writes that form of zero), the
/// result is the one a full recomputation gives, bit for bit: both sums are congruent modulo
/// 0xffff, and neither is ever zero (the update starts from `!checksum`, which is not zero, and
/// an end-around-carry sum of something non-zero never folds to zero; the full sum covers a
/// header that is never all zeros). A wrong checksum stays wrong, as it does in Linux.
pub fn update_checksum(checksum: u16, old: &[u16], new: &[u16]) -> u16 {
    let mut sum = u32::from(!checksum);
    for (&old, &new) in old.iter().zip(new) {
        sum += u32::from(!old) + u32::from(new);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An IPv4 address as the two 16-bit words a checksum adds.
pub fn address_words(address: Ipv4Addr) -> [u16; 2] {
    let [a, b, c, d] = address.octets();
    [u16::from_be_bytes([a, b]), u16::from_be_bytes([c, d])]
}

/// Whether every checksum in `frame` is right: the IPv4 header's, and the TCP, UDP or ICMP
/// one it carries (a fragment's only the header's, its payload is summed whole). A frame
/// that is not a well-formed IPv4 packet has nothing to check here; the stack drops it.
///
/// Hosts do not check received checksums (`device::receive_offload`); debug builds ask this
/// of every frame a host's stack is handed, so a test fails if netlab ever wrote a bad one.
pub fn checksums_valid(frame: &[u8]) -> bool {
    let Ok(eth) = EthernetFrame::new_checked(frame) else {
        return true;
    };
    if eth.ethertype() != EthernetProtocol::Ipv4 {
        return true;
    }
    let Ok(ip) = Ipv4Packet::new_checked(eth.payload()) else {
        return true;
    };
    if !ip.verify_checksum() {
        return false;
    }
    if ip.more_frags() || ip.frag_offset() != 0 {
        return true;
    }
    let (src, dst) = (ip.src_addr().into(), ip.dst_addr().into());
    match ip.next_header() {
        IpProtocol::Tcp => TcpPacket::new_checked(ip.payload())
            .ok()
            .is_none_or(|tcp| tcp.verify_checksum(&src, &dst)),
        IpProtocol::Udp => UdpPacket::new_checked(ip.payload())
            .ok()
            .is_none_or(|udp| udp.verify_checksum(&src, &dst)),
        IpProtocol::Icmp => Icmpv4Packet::new_checked(ip.payload())
            .ok()
            .is_none_or(|icmp| icmp.verify_checksum()),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_arp_request_round_trips() {
        let mac = EthernetAddress([2, 0, 0, 0, 0, 1]);
        let frame = arp(
            ArpOperation::Request,
            mac,
            Ipv4Addr::new(10, 0, 0, 1),
            EthernetAddress([0; 6]),
            Ipv4Addr::new(10, 0, 0, 2),
        );
        let eth = EthernetFrame::new_checked(&frame[..]).unwrap();
        assert_eq!(eth.dst_addr(), EthernetAddress::BROADCAST);
        let repr = ArpRepr::parse(&ArpPacket::new_checked(eth.payload()).unwrap()).unwrap();
        let ArpRepr::EthernetIpv4 {
            target_protocol_addr,
            ..
        } = repr
        else {
            panic!("expected an Ethernet/IPv4 ARP packet");
        };
        assert_eq!(target_protocol_addr, Ipv4Addr::new(10, 0, 0, 2));
    }

    #[test]
    fn an_icmp_echo_reply_has_valid_checksums() {
        let data = [1u8, 2, 3, 4];
        let frame = icmp(
            EthernetAddress([2, 0, 0, 0, 0, 1]),
            EthernetAddress([2, 0, 0, 0, 0, 2]),
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::new(10, 0, 0, 2),
            &Icmpv4Repr::EchoReply {
                ident: 7,
                seq_no: 1,
                data: &data,
            },
        );
        let eth = EthernetFrame::new_checked(&frame[..]).unwrap();
        let ip = Ipv4Packet::new_checked(eth.payload()).unwrap();
        assert!(ip.verify_checksum());
        let icmp = Icmpv4Packet::new_checked(ip.payload()).unwrap();
        assert!(icmp.verify_checksum());
        assert_eq!(icmp.echo_seq_no(), 1);
    }

    #[test]
    fn a_flipped_bit_anywhere_a_checksum_covers_is_caught() {
        let (a, b) = (
            EthernetAddress([2, 0, 0, 0, 0, 1]),
            EthernetAddress([2, 0, 0, 0, 0, 2]),
        );
        let (ip_a, ip_b) = (Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2));
        let syn = bare_tcp((40000, 80), TcpControl::Syn, TcpSeqNumber(1), None);
        let segment = tcp_segment(a, b, ip_a, ip_b, &syn);
        let datagram = udp(a, b, (ip_a, 5000), (ip_b, 53), 64, b"question");
        let ping = icmp(
            a,
            b,
            ip_a,
            ip_b,
            &Icmpv4Repr::EchoRequest {
                ident: 1,
                seq_no: 1,
                data: b"abcd",
            },
        );
        let request = arp(
            ArpOperation::Request,
            a,
            ip_a,
            EthernetAddress([0; 6]),
            ip_b,
        );
        for frame in [&segment, &datagram, &ping, &request] {
            assert!(checksums_valid(frame));
        }
        // The TTL (IPv4 header), a TCP port, the UDP payload, the ICMP data.
        for (frame, at) in [(&segment, 22), (&segment, 34), (&datagram, 45), (&ping, 43)] {
            let mut bad = frame.clone();
            bad[at] ^= 1;
            assert!(!checksums_valid(&bad), "byte {at} of {frame:02x?}");
        }
    }
}
