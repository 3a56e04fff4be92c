//! *Reading a frame's headers*: one tcpdump-like line per frame of the story.
//!
//! A frame is bytes: an Ethernet header (14 bytes: two MAC addresses and the type), then,
//! for IPv4, a header of 20 bytes or more (addresses at offsets 12 and 16, the protocol at 9),
//! then TCP or UDP (the two ports first) or ICMP (type and code first).
//! This module reads exactly those fields, by offset, from the head of the frame the trace
//! kept ([`FrameRecord`]), so a student can follow the arithmetic with a hex dump beside it.
//! Anything too short or of another kind is [`Decoded::Other`]; no input makes it panic.
//! An IP-in-IP packet (protocol 4, an IPVS director's tunnel) is read through: it decodes as
//! the packet inside, which belongs to the same request, and its line starts with the outer
//! addresses, as tcpdump prints `IP 10.0.1.2 > 10.0.2.11: IP 192.0.2.100.49152 > ...`.
//!
//! # Simplifications
//! - Sequence numbers are not printed: smoltcp picks them at random, and the story is about
//!   which packets went where, not about TCP's byte counting.
//!
//! # Further reading
//! - RFC 791 §3.1 (IPv4 header), RFC 9293 §3.1 (TCP header), RFC 768 (UDP), RFC 792 (ICMP),
//!   RFC 826 (ARP); `man tcpdump`, section "TCP Packets".

use std::net::Ipv4Addr;

use crate::trace::FrameRecord;

/// An address and port.
pub type Endpoint = (Ipv4Addr, u16);

/// What a frame's headers say, as far as the story needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decoded {
    /// A TCP segment.
    Tcp {
        /// Source address and port.
        src: Endpoint,
        /// Destination address and port.
        dst: Endpoint,
        /// The flags byte (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10).
        flags: u8,
        /// Bytes of payload.
        payload_len: usize,
        /// The first line of an HTTP request or response the payload starts with.
        http_line: Option<String>,
    },
    /// A UDP datagram.
    Udp {
        /// Source address and port.
        src: Endpoint,
        /// Destination address and port.
        dst: Endpoint,
        /// Bytes of payload.
        payload_len: usize,
    },
    /// An ICMP message; for an error, the ports of the packet it is about.
    Icmp {
        /// Sender.
        src: Ipv4Addr,
        /// Receiver.
        dst: Ipv4Addr,
        /// ICMP type (0 echo reply, 3 destination unreachable, 8 echo request, 11 time exceeded).
        icmp_type: u8,
        /// ICMP code (for type 3: 1 host unreachable, 3 port unreachable).
        code: u8,
        /// The source and destination of the packet an error quotes.
        about: Option<(Endpoint, Endpoint)>,
    },
    /// An ARP request or reply.
    Arp {
        /// Whether it asks (request) or answers (reply).
        request: bool,
        /// The sender's address.
        sender: Ipv4Addr,
        /// The sender's MAC address (in a reply, the answer).
        sender_mac: [u8; 6],
        /// The address asked about.
        target: Ipv4Addr,
    },
    /// Anything else (VRRP, the sync daemon, a truncated frame).
    Other,
}

/// Ethernet header length.
const ETH: usize = 14;
/// EtherType of IPv4.
const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of ARP.
const ETHERTYPE_ARP: u16 = 0x0806;

/// A big-endian `u16` at `at`, if the bytes are there.
fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]))
}

/// An IPv4 address at `at`, if the bytes are there.
fn ipv4(bytes: &[u8], at: usize) -> Option<Ipv4Addr> {
    let b = bytes.get(at..at + 4)?;
    Some(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
}

/// Reads the headers of a frame's head.
pub fn decode(head: &[u8]) -> Decoded {
    match be16(head, 12) {
        Some(ETHERTYPE_IPV4) => decode_ipv4(head).unwrap_or(Decoded::Other),
        Some(ETHERTYPE_ARP) => decode_arp(head).unwrap_or(Decoded::Other),
        _ => Decoded::Other,
    }
}

/// ARP for IPv4 over Ethernet: operation at 6, sender address at 14, target address at 24.
fn decode_arp(head: &[u8]) -> Option<Decoded> {
    let arp = head.get(ETH..)?;
    let mac = arp.get(8..14)?;
    Some(Decoded::Arp {
        request: be16(arp, 6)? == 1,
        sender_mac: [mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]],
        sender: ipv4(arp, 14)?,
        target: ipv4(arp, 24)?,
    })
}

/// IPv4, then the transport header behind it.
fn decode_ipv4(head: &[u8]) -> Option<Decoded> {
    decode_ip(head.get(ETH..)?, 0)
}

/// An IPv4 packet at the start of `ip`; `depth` counts the tunnels already unwrapped (one
/// at most: nobody tunnels a tunnel here).
fn decode_ip(ip: &[u8], depth: u8) -> Option<Decoded> {
    let header_len = usize::from(ip.first()? & 0x0f) * 4;
    let total_len = usize::from(be16(ip, 2)?);
    let protocol = *ip.get(9)?;
    let (src, dst) = (ipv4(ip, 12)?, ipv4(ip, 16)?);
    let l4 = ip.get(header_len..)?;
    let l4_len = total_len.saturating_sub(header_len);
    match protocol {
        6 => {
            let data_offset = usize::from(l4.get(12)? >> 4) * 4;
            let payload = l4.get(data_offset..).unwrap_or(&[]);
            Some(Decoded::Tcp {
                src: (src, be16(l4, 0)?),
                dst: (dst, be16(l4, 2)?),
                flags: *l4.get(13)?,
                payload_len: l4_len.saturating_sub(data_offset),
                http_line: http_line(payload),
            })
        }
        17 => Some(Decoded::Udp {
            src: (src, be16(l4, 0)?),
            dst: (dst, be16(l4, 2)?),
            payload_len: l4_len.saturating_sub(8),
        }),
        1 => {
            let (icmp_type, code) = (*l4.first()?, *l4.get(1)?);
            // An error quotes the IP header and first 8 bytes of the packet it is about.
            let about = if matches!(icmp_type, 3 | 11) {
                quoted(l4.get(8..)?)
            } else {
                None
            };
            Some(Decoded::Icmp {
                src,
                dst,
                icmp_type,
                code,
                about,
            })
        }
        4 if depth == 0 => decode_ip(l4, 1),
        _ => Some(Decoded::Other),
    }
}

/// The outer addresses of an IP-in-IP frame, if it is one.
fn tunnel_outer(head: &[u8]) -> Option<(Ipv4Addr, Ipv4Addr)> {
    let ip = head.get(ETH..)?;
    if be16(head, 12)? != ETHERTYPE_IPV4 || *ip.get(9)? != 4 {
        return None;
    }
    Some((ipv4(ip, 12)?, ipv4(ip, 16)?))
}

/// The addresses and ports of the packet an ICMP error quotes.
fn quoted(inner: &[u8]) -> Option<(Endpoint, Endpoint)> {
    let header_len = usize::from(inner.first()? & 0x0f) * 4;
    let ports = inner.get(header_len..)?;
    Some((
        (ipv4(inner, 12)?, be16(ports, 0)?),
        (ipv4(inner, 16)?, be16(ports, 2)?),
    ))
}

/// The first line of an HTTP message at the start of `payload`, if it is one.
fn http_line(payload: &[u8]) -> Option<String> {
    let starts = [&b"GET "[..], b"HTTP/1."];
    if !starts.iter().any(|start| payload.starts_with(start)) {
        return None;
    }
    let end = payload
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(payload.len());
    Some(String::from_utf8_lossy(&payload[..end]).into_owned())
}

/// tcpdump's flag letters: S, F, P, R, then `.` for ACK (`[S.]` is a SYN-ACK).
fn flag_letters(flags: u8) -> String {
    let mut letters = String::new();
    for (bit, letter) in [(0x02, 'S'), (0x01, 'F'), (0x08, 'P'), (0x04, 'R')] {
        if flags & bit != 0 {
            letters.push(letter);
        }
    }
    if flags & 0x10 != 0 {
        letters.push('.');
    }
    letters
}

/// One tcpdump-like line for a frame: `10.0.0.5.40000 > 10.0.1.100.80: Flags [S], length 0`.
pub fn summary(frame: &FrameRecord) -> String {
    let line = inner_summary(frame);
    match tunnel_outer(&frame.head) {
        Some((src, dst)) => format!("IP {src} > {dst}: IP {line}"),
        None => line,
    }
}

/// The line of the (innermost) packet of a frame, in tcpdump's words for its protocol.
fn inner_summary(frame: &FrameRecord) -> String {
    match decode(&frame.head) {
        Decoded::Tcp {
            src,
            dst,
            flags,
            payload_len,
            http_line,
        } => tcp_line(src, dst, flags, payload_len, http_line),
        Decoded::Udp {
            src,
            dst,
            payload_len,
        } => udp_line(src, dst, payload_len),
        Decoded::Icmp {
            src,
            dst,
            icmp_type,
            code,
            about,
        } => icmp_line(src, dst, icmp_type, code, about),
        Decoded::Arp {
            request,
            sender,
            sender_mac,
            target,
        } => arp_line(request, sender, sender_mac, target),
        Decoded::Other => format!("(frame of {} bytes)", frame.len),
    }
}

/// Two ends as tcpdump writes them, the port after a dot: `10.0.0.5.40000 > 10.0.1.100.80`.
fn flow(src: Endpoint, dst: Endpoint) -> String {
    format!("{}.{} > {}.{}", src.0, src.1, dst.0, dst.1)
}

/// A TCP segment: its ends, its flags, its payload's length, and the HTTP line it starts
/// with, if any.
fn tcp_line(
    src: Endpoint,
    dst: Endpoint,
    flags: u8,
    payload_len: usize,
    http: Option<String>,
) -> String {
    let mut line = format!(
        "{}: Flags [{}], length {payload_len}",
        flow(src, dst),
        flag_letters(flags)
    );
    if let Some(http) = http {
        line.push_str(&format!(": HTTP: {http}"));
    }
    line
}

/// A UDP datagram: its ends and its payload's length, named DNS when either port is 53.
fn udp_line(src: Endpoint, dst: Endpoint, payload_len: usize) -> String {
    let what = if src.1 == 53 || dst.1 == 53 {
        "DNS"
    } else {
        "UDP"
    };
    format!("{}: {what}, length {payload_len}", flow(src, dst))
}

/// An ICMP message: its ends, what it says, and for an error the packet it is about.
fn icmp_line(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    icmp_type: u8,
    code: u8,
    about: Option<(Endpoint, Endpoint)>,
) -> String {
    let what = icmp_words(icmp_type, code);
    match about {
        Some((from, to)) => format!("{src} > {dst}: ICMP {what} for {}", flow(from, to)),
        None => format!("{src} > {dst}: ICMP {what}"),
    }
}

/// An ICMP type and code in words (RFC 792): `echo request`, `port unreachable`...
fn icmp_words(icmp_type: u8, code: u8) -> String {
    match (icmp_type, code) {
        (0, _) => "echo reply".to_string(),
        (8, _) => "echo request".to_string(),
        (3, 3) => "port unreachable".to_string(),
        (3, 1) => "host unreachable".to_string(),
        (3, 2) => "protocol unreachable".to_string(),
        (3, 4) => "fragmentation needed".to_string(),
        (3, _) => format!("destination unreachable (code {code})"),
        (11, _) => "time exceeded".to_string(),
        _ => format!("type {icmp_type} code {code}"),
    }
}

/// An ARP request (who has `target`?) or reply (`sender` is at its MAC address).
fn arp_line(request: bool, sender: Ipv4Addr, sender_mac: [u8; 6], target: Ipv4Addr) -> String {
    if request {
        return format!("ARP, Request who-has {target} tell {sender}");
    }
    let m = sender_mac;
    format!(
        "ARP, Reply {sender} is-at {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SimTime;

    /// A TCP/IPv4 frame from 10.0.0.5:40000 to 10.0.1.100:80 with `flags` and `payload`.
    fn tcp_frame(flags: u8, payload: &[u8]) -> Vec<u8> {
        let mut frame = vec![0u8; ETH];
        frame[12..14].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        let total = 20 + 20 + payload.len();
        let mut ip = vec![
            0x45, 0, 0, 0, 0, 0, 0, 0, 64, 6, 0, 0, 10, 0, 0, 5, 10, 0, 1, 100,
        ];
        ip[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        frame.extend_from_slice(&ip);
        let mut tcp = vec![0u8; 20];
        tcp[0..2].copy_from_slice(&40000u16.to_be_bytes());
        tcp[2..4].copy_from_slice(&80u16.to_be_bytes());
        tcp[12] = 5 << 4;
        tcp[13] = flags;
        frame.extend_from_slice(&tcp);
        frame.extend_from_slice(payload);
        frame
    }

    fn record(bytes: Vec<u8>) -> FrameRecord {
        FrameRecord {
            at: SimTime::ZERO,
            segment: 0,
            len: bytes.len(),
            head: bytes.into(),
        }
    }

    #[test]
    fn a_syn_reads_like_tcpdump() {
        assert_eq!(
            summary(&record(tcp_frame(0x02, b""))),
            "10.0.0.5.40000 > 10.0.1.100.80: Flags [S], length 0"
        );
    }

    #[test]
    fn a_request_shows_its_http_line() {
        let line = summary(&record(tcp_frame(
            0x18,
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        )));
        assert!(
            line.ends_with("Flags [P.], length 27: HTTP: GET / HTTP/1.1"),
            "{line}"
        );
    }

    #[test]
    fn an_ip_in_ip_frame_reads_as_the_packet_inside_with_the_outer_addresses_first() {
        let inner = tcp_frame(0x02, b"");
        let mut frame = inner[..ETH].to_vec();
        let mut outer = vec![
            0x45, 0, 0, 0, 0, 0, 0, 0, 64, 4, 0, 0, 10, 0, 1, 2, 10, 0, 2, 11,
        ];
        outer[2..4].copy_from_slice(&((inner.len() - ETH + 20) as u16).to_be_bytes());
        frame.extend_from_slice(&outer);
        frame.extend_from_slice(&inner[ETH..]);
        assert_eq!(decode(&frame), decode(&inner));
        assert_eq!(
            summary(&record(frame)),
            "IP 10.0.1.2 > 10.0.2.11: IP 10.0.0.5.40000 > 10.0.1.100.80: Flags [S], length 0"
        );
    }

    #[test]
    fn short_or_strange_frames_are_other() {
        for length in 0..54 {
            let frame = tcp_frame(0x02, b"");
            let cut = &frame[..length.min(frame.len())];
            // Any prefix decodes to something without panicking; the shortest are `Other`.
            let _ = summary(&record(cut.to_vec()));
        }
        assert_eq!(decode(&[0xff; 10]), Decoded::Other);
        assert_eq!(decode(&tcp_frame(0x02, b"")[..30]), Decoded::Other);
    }
}
