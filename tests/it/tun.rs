//! IPVS tunnelling (`scenarios/l4-tun.ron`): the director wraps each client packet in a valid
//! IP-in-IP packet to a real server on another network; the server answers from the VIP; a
//! full-size segment gets ICMP "fragmentation needed" with MTU 1480, and MSS clamping on the
//! real servers (L4 exercise 12) cures it.
//!
//! The capture is parsed with smoltcp; where `tshark` is installed it decodes one wrapped
//! frame too (with `CI=true` a missing tshark fails, as `.ci/run` installs it).

use std::net::Ipv4Addr;
use std::process::Command;

use smoltcp::wire::{
    EthernetFrame, EthernetProtocol, Icmpv4Message, Icmpv4Packet, IpProtocol, Ipv4Packet, TcpPacket,
};

use super::pcap::frames;

const VIP: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 100);
const DIRECTOR: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 2);

/// The IPv4 packet of an Ethernet frame, if it carries one.
fn ipv4(frame: &[u8]) -> Option<Ipv4Packet<&[u8]>> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    if eth.ethertype() != EthernetProtocol::Ipv4 {
        return None;
    }
    Ipv4Packet::new_checked(&frame[14..]).ok()
}

#[test]
fn the_director_wraps_requests_in_valid_ip_in_ip_and_servers_answer_from_the_vip() {
    let run = super::support::run("l4-tun.ron", None, false);
    let capture = frames(run.capture("capture.pcapng").expect("l4-tun captures"));
    let mut wrapped = 0;
    let mut answers = 0;
    for (_, frame) in &capture {
        let Some(ip) = ipv4(frame) else { continue };
        assert!(ip.verify_checksum(), "bad IPv4 checksum");
        if ip.next_header() == IpProtocol::Unknown(4) {
            wrapped += 1;
            // Outer: director → a real server of site2. Inner: the client's packet to the VIP,
            // intact, with its own valid checksums.
            assert_eq!(ip.src_addr(), DIRECTOR);
            assert!(ip.dst_addr().octets()[..3] == [10, 0, 2]);
            assert_eq!(usize::from(ip.total_len()), frame.len() - 14);
            let inner = Ipv4Packet::new_checked(ip.payload()).unwrap();
            assert!(inner.verify_checksum());
            assert_eq!(inner.dst_addr(), VIP);
            assert_eq!(inner.next_header(), IpProtocol::Tcp);
            let tcp = TcpPacket::new_checked(inner.payload()).unwrap();
            assert!(tcp.verify_checksum(&inner.src_addr().into(), &inner.dst_addr().into()));
            assert!(
                ip.hop_limit() <= inner.hop_limit(),
                "outer TTL above the inner"
            );
            assert!(frame.len() <= 1514, "a wrapped frame over Ethernet's size");
        } else if ip.src_addr() == VIP && ip.next_header() == IpProtocol::Tcp {
            answers += 1;
        }
    }
    assert!(wrapped > 1000, "only {wrapped} wrapped frames");
    assert!(answers > 1000, "only {answers} answers from the VIP");
    let ipvsadm = run.ipvsadm_txt.as_deref().unwrap();
    assert!(
        ipvsadm.contains("  -> 10.0.2.11:80                 Tunnel  1"),
        "{ipvsadm}"
    );
    // The replies bypass the director: it never counts a packet out.
    assert!(
        ipvsadm.contains("TCP  10.0.1.100:80                     410"),
        "{ipvsadm}"
    );
}

/// The `big` clients' first segment is 1500 bytes: the director answers "fragmentation
/// needed", next-hop MTU 1480, from the VIP, and the request never arrives (smoltcp has no
/// path MTU discovery); the small requests all succeed.
#[test]
fn a_full_size_segment_gets_fragmentation_needed_with_mtu_1480() {
    let run = super::support::run("l4-tun.ron", None, false);
    let capture = frames(run.capture("capture.pcapng").expect("l4-tun captures"));
    let mut frag_needed = 0;
    for (_, frame) in &capture {
        let Some(ip) = ipv4(frame) else { continue };
        if ip.next_header() != IpProtocol::Icmp {
            continue;
        }
        let icmp = Icmpv4Packet::new_checked(ip.payload()).unwrap();
        assert!(icmp.verify_checksum(), "bad ICMP checksum");
        if icmp.msg_type() == Icmpv4Message::DstUnreachable && icmp.msg_code() == 4 {
            frag_needed += 1;
            assert_eq!(ip.src_addr(), VIP);
            let mtu = u16::from_be_bytes([ip.payload()[6], ip.payload()[7]]);
            assert_eq!(mtu, 1480);
            assert!(
                ip.dst_addr().octets()[3] >= 200,
                "sent to a big-cookie client"
            );
        }
    }
    assert!(frag_needed >= 10, "only {frag_needed} fragmentation needed");
    let summary: serde_json::Value = serde_json::from_str(&run.summary_json).unwrap();
    assert_eq!(summary["groups"]["big"]["ok"], 0);
    assert_eq!(summary["groups"]["pc"]["ok"], 400);
}

/// Exercise 12: with the real servers' SYN-ACKs clamped to MSS 1440, the clients' segments
/// are 1480-byte packets, 1500 once wrapped, and every request succeeds.
#[test]
fn mss_clamping_makes_the_wrapped_segments_fit() {
    let path = super::support::root().join("book/exercises/l4-balancing-12.ron");
    let run = super::support::run_path(&path, None, false);
    let capture = frames(run.capture("capture.pcapng").expect("exercise 12 captures"));
    let largest_wrapped = capture
        .iter()
        .filter_map(|(_, frame)| ipv4(frame))
        .filter(|ip| ip.next_header() == IpProtocol::Unknown(4))
        .map(|ip| ip.total_len())
        .max();
    assert_eq!(largest_wrapped, Some(1500));
    let summary: serde_json::Value = serde_json::from_str(&run.summary_json).unwrap();
    assert_eq!(summary["groups"]["big"]["ok"], 10);
}

/// tshark, where installed, decodes a wrapped frame as IPv4 in IPv4 with the client's TCP
/// segment inside.
#[test]
fn tshark_decodes_ip_in_ip() {
    if Command::new("tshark").arg("-v").output().is_err() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "tshark is missing; .ci/run installs Debian's `tshark` package"
        );
        eprintln!("skipped: install Debian's `tshark` package to decode the capture");
        return;
    }
    let run = super::support::run("l4-tun.ron", None, false);
    let dir = std::env::temp_dir().join(format!("netlab-tun-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pcap = dir.join("capture.pcap");
    std::fs::write(&pcap, run.capture("capture.pcapng").unwrap()).unwrap();
    let output = Command::new("tshark")
        .args([
            "-r",
            pcap.to_str().unwrap(),
            "-Y",
            "ip.proto == 4",
            "-T",
            "fields",
        ])
        .args([
            "-e",
            "ip.src",
            "-e",
            "ip.dst",
            "-e",
            "ip.proto",
            "-e",
            "tcp.dstport",
        ])
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let text = String::from_utf8_lossy(&output.stdout);
    let first = text.lines().next().expect("tshark found no IP-in-IP frame");
    let fields: Vec<&str> = first.split('\t').collect();
    assert_eq!(fields[2], "4,6", "outer IPIP, inner TCP: {first}");
    assert!(fields[0].starts_with("10.0.1.2,192.0.2."), "{first}");
    assert!(fields[1].starts_with("10.0.2.1") && fields[1].ends_with(",10.0.1.100"));
    assert_eq!(fields[3], "80");
}

/// The ICMP errors of a run's capture: (source, destination, type, code).
fn icmp_errors(run: &netlab::run::Artifacts) -> Vec<(Ipv4Addr, Ipv4Addr, u8, u8)> {
    frames(run.capture("capture.pcapng").expect("captures"))
        .iter()
        .filter_map(|(_, frame)| {
            let ip = ipv4(frame)?;
            let icmp = Icmpv4Packet::new_checked(ip.payload()).ok()?;
            (ip.next_header() == IpProtocol::Icmp && icmp.msg_type() != Icmpv4Message::EchoReply)
                .then(|| {
                    let kind = u8::from(icmp.msg_type());
                    (ip.src_addr(), ip.dst_addr(), kind, icmp.msg_code())
                })
        })
        .collect()
}

/// Exercises 13 and 14: a server without a tunnel answers "protocol unreachable" to the
/// director; a strict `rp_filter` drops without a word (only "fragmentation needed" remains).
#[test]
fn a_missing_tunnel_answers_protocol_unreachable_and_strict_rp_filter_stays_silent() {
    let root = super::support::root();
    let missing = super::support::run_path(
        &root.join("book/exercises/l4-balancing-13.ron"),
        None,
        false,
    );
    let errors = icmp_errors(&missing);
    let protocol_unreachable = errors.iter().filter(|e| e.2 == 3 && e.3 == 2).count();
    assert!(protocol_unreachable > 100, "{protocol_unreachable}");
    assert!(
        errors
            .iter()
            .filter(|e| e.3 == 2)
            .all(|e| e.0 == Ipv4Addr::new(10, 0, 2, 12) && e.1 == DIRECTOR)
    );
    let strict = super::support::run_path(
        &root.join("book/exercises/l4-balancing-14.ron"),
        None,
        false,
    );
    let errors = icmp_errors(&strict);
    assert!(!errors.is_empty());
    assert!(errors.iter().all(|e| (e.2, e.3) == (3, 4)), "{errors:?}");
}
