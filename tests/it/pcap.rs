//! The capture holds real packets: parse it back with smoltcp and look for the TCP handshake,
//! the HTTP request, ARP and ICMP.

use smoltcp::wire::{
    ArpPacket, EthernetFrame, EthernetProtocol, Icmpv4Message, Icmpv4Packet, IpProtocol,
    Ipv4Packet, TcpPacket,
};

use super::support::run;

/// The frames of a classic pcap file, with their timestamps in microseconds.
pub fn frames(pcap: &[u8]) -> Vec<(u64, Vec<u8>)> {
    assert_eq!(&pcap[0..4], &0xa1b2_c3d4u32.to_le_bytes(), "pcap magic");
    assert_eq!(
        u32::from_le_bytes(pcap[20..24].try_into().unwrap()),
        1,
        "Ethernet link type"
    );
    let mut out = Vec::new();
    let mut at = 24;
    while at < pcap.len() {
        let word = |i: usize| u32::from_le_bytes(pcap[at + i..at + i + 4].try_into().unwrap());
        let micros = word(0) as u64 * 1_000_000 + word(4) as u64;
        let len = word(8) as usize;
        out.push((micros, pcap[at + 16..at + 16 + len].to_vec()));
        at += 16 + len;
    }
    out
}

#[test]
fn the_capture_shows_a_handshake_and_a_get() {
    let artifacts = run("00-hello-web.ron", None, false);
    let frames = frames(artifacts.capture.as_deref().expect("hello-web captures"));
    let (mut syn, mut syn_ack, mut get, mut fin) = (0, 0, 0, 0);
    let mut previous = 0;
    for (micros, frame) in &frames {
        assert!(*micros >= previous, "timestamps go forward");
        previous = *micros;
        let eth = EthernetFrame::new_checked(&frame[..]).unwrap();
        if eth.ethertype() != EthernetProtocol::Ipv4 {
            continue;
        }
        let ip = Ipv4Packet::new_checked(eth.payload()).unwrap();
        assert!(ip.verify_checksum(), "every IPv4 header checksum is right");
        if ip.next_header() != IpProtocol::Tcp {
            continue;
        }
        let tcp = TcpPacket::new_checked(ip.payload()).unwrap();
        assert!(tcp.verify_checksum(&ip.src_addr().into(), &ip.dst_addr().into()));
        syn += usize::from(tcp.syn() && !tcp.ack());
        syn_ack += usize::from(tcp.syn() && tcp.ack());
        fin += usize::from(tcp.fin());
        get += usize::from(tcp.payload().starts_with(b"GET /index.html HTTP/1.1\r\n"));
    }
    // Each request crosses two captured segments, so each packet appears twice.
    assert!(
        syn >= 400 && syn_ack >= 400 && get >= 400,
        "syn {syn} syn-ack {syn_ack} get {get}"
    );
    assert_eq!(fin, 800, "both sides close, seen on both segments");
}

#[test]
fn the_ping_capture_shows_arp_and_icmp_errors() {
    let artifacts = run("01-two-subnets-ping.ron", None, false);
    let frames = frames(artifacts.capture.as_deref().expect("the ping lab captures"));
    let mut arp = 0;
    let mut net_unreachable = 0;
    let mut ttls = std::collections::BTreeSet::new();
    for (_, frame) in &frames {
        let eth = EthernetFrame::new_checked(&frame[..]).unwrap();
        match eth.ethertype() {
            EthernetProtocol::Arp => {
                ArpPacket::new_checked(eth.payload()).unwrap();
                arp += 1;
            }
            EthernetProtocol::Ipv4 => {
                let ip = Ipv4Packet::new_checked(eth.payload()).unwrap();
                let icmp = Icmpv4Packet::new_checked(ip.payload()).unwrap();
                if icmp.msg_type() == Icmpv4Message::EchoRequest {
                    ttls.insert(ip.hop_limit());
                }
                if icmp.msg_type() == Icmpv4Message::DstUnreachable && icmp.msg_code() == 0 {
                    net_unreachable += 1;
                }
            }
            _ => {}
        }
    }
    assert!(arp >= 4, "ARP on both subnets: {arp}");
    assert_eq!(
        net_unreachable, 2,
        "one ICMP net-unreachable per ping to 192.168.9.9"
    );
    // The router decrements the TTL: 64 on the left, 63 on the right.
    assert!(ttls.contains(&64) && ttls.contains(&63), "{ttls:?}");
}
