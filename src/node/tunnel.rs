//! *IP-in-IP tunnelling* (RFC 2003), the way IPVS's `-i` forwarding method uses it.
//!
//! The director does not rewrite the client's packet: it puts a second IPv4 header in front of
//! it, addressed from the director to the real server, with protocol number 4 ("IP in IP").
//! Routers on the way see only that outer header, so the real server may sit on any network
//! the director can route to. The real server's kernel sees protocol 4 addressed to itself,
//! hands the packet to its `ipip` module (the `tunl0` device), strips the outer header and
//! receives the inner packet as if it had arrived on `tunl0`: still "client → VIP". It owns the
//! VIP (on `tunl0`), so its TCP stack answers, from the VIP, straight to the client.
//!
//! This module holds both ends:
//! - [`encapsulate`]: the director's half of Linux `ip_vs_tunnel_xmit`, including the MTU
//!   check of `__ip_vs_get_out_rt`/`ensure_mtu_is_adequate`: the outer header makes the packet
//!   20 bytes longer, so a packet that filled the path MTU no longer fits. If it has the
//!   Don't Fragment bit (every TCP segment of a stack doing path MTU discovery has), the
//!   director drops it and answers ICMP "fragmentation needed" (type 3 code 4) carrying the
//!   MTU that would fit (RFC 1191): 1500 − 20 = 1480.
//! - [`TunnelEndpoint`]: the real server's `tunl0`, with the settings a student must make on a
//!   real server (`ip addr add VIP/32 dev tunl0`, `rp_filter`, `arp_ignore`), and the MSS
//!   clamping that cures the MTU problem ([`clamp_mss`]).
//!
//! Why `rp_filter` matters: the decapsulated packet arrived on `tunl0`, but the route back to
//! the client leaves by `eth0`. Strict reverse-path filtering (RFC 3704, Linux
//! `rp_filter=1`, the default of several distributions) drops every such packet, silently.
//!
//! # Simplifications
//! - Every link has Ethernet's 1500-byte MTU (netlab has no other), so the path MTU from the
//!   director to any real server is 1500 and the tunnel's is 1480.
//! - Without DF, Linux would fragment the outer packet; netlab's stacks always set DF
//!   (smoltcp, like Linux with path MTU discovery on), so this does not arise and is not
//!   modelled: such a packet is sent unfragmented.
//! - The outer header's identification comes from one counter per director (Linux hashes
//!   per destination); its TOS and TTL are copied from the inner packet, as Linux does.
//! - `rp_filter` looks only at the host's one interface and default route, which is all a
//!   netlab host has.
//!
//! # Further reading
//! - RFC 2003 (IP encapsulation within IP) §3; RFC 1191 (path MTU discovery) §4;
//!   RFC 3704 §2.2 (strict and loose reverse-path forwarding).
//! - Linux `net/netfilter/ipvs/ip_vs_xmit.c` (`ip_vs_tunnel_xmit`,
//!   `ip_vs_prepare_tunneled_skb`, `ensure_mtu_is_adequate`), `net/ipv4/ipip.c`; the LVS-HOWTO
//!   ("LVS-Tun"); `book/src/labs/l4-balancing.md`, "NAT, DR and TUN".

use std::net::Ipv4Addr;

use smoltcp::wire::{EthernetFrame, EthernetProtocol, IpProtocol, Ipv4Packet, TcpPacket};

use super::frames::ETHERNET_HEADER_LEN;

/// The protocol number of IP in IP (RFC 2003 §3).
pub const IPPROTO_IPIP: u8 = 4;
/// Bytes the outer header adds (an IPv4 header without options).
pub const OUTER_HEADER_LEN: usize = 20;
/// Ethernet's MTU: the largest IPv4 packet a netlab link carries.
pub const ETHERNET_MTU: usize = 1500;
/// The smallest MTU IPv4 allows (RFC 791); Linux refuses tunnels below it.
const MIN_MTU: usize = 68;

/// The MTU inside a tunnel whose packets travel a path of `path_mtu` bytes.
pub fn tunnel_mtu(path_mtu: usize) -> usize {
    path_mtu - OUTER_HEADER_LEN
}

/// Why the director could not wrap a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncapsulateError {
    /// The packet plus the outer header exceeds the path MTU and has DF set: answer ICMP
    /// "fragmentation needed" with this next-hop MTU.
    FragmentationNeeded {
        /// The largest packet that fits in the tunnel.
        mtu: u16,
    },
    /// Not an IPv4 packet in an Ethernet frame, or the tunnel MTU is below 68.
    Malformed,
}

/// Wraps the IPv4 packet of `frame` in an outer header from `outer_src` to `outer_dst`
/// (`ip_vs_tunnel_xmit`): protocol 4, TOS, TTL and DF copied from the inner packet, the given
/// identification, a valid header checksum. The new frame's MAC addresses are the old ones
/// (the sender sets them for the next hop).
pub fn encapsulate(
    frame: &[u8],
    outer_src: Ipv4Addr,
    outer_dst: Ipv4Addr,
    ident: u16,
    path_mtu: usize,
) -> Result<Vec<u8>, EncapsulateError> {
    let inner = frame
        .get(ETHERNET_HEADER_LEN..)
        .and_then(|bytes| Ipv4Packet::new_checked(bytes).ok())
        .ok_or(EncapsulateError::Malformed)?;
    let inner_len = usize::from(inner.total_len());
    let mtu = tunnel_mtu(path_mtu);
    if mtu < MIN_MTU {
        return Err(EncapsulateError::Malformed);
    }
    // ensure_mtu_is_adequate(): DF set and too long for the tunnel → "fragmentation needed".
    if inner.dont_frag() && inner_len > mtu {
        return Err(EncapsulateError::FragmentationNeeded {
            mtu: u16::try_from(mtu).unwrap_or(u16::MAX),
        });
    }
    let mut out = Vec::with_capacity(ETHERNET_HEADER_LEN + OUTER_HEADER_LEN + inner_len);
    out.extend_from_slice(&frame[..ETHERNET_HEADER_LEN]);
    out.resize(ETHERNET_HEADER_LEN + OUTER_HEADER_LEN, 0);
    out.extend_from_slice(&frame[ETHERNET_HEADER_LEN..ETHERNET_HEADER_LEN + inner_len]);
    let (dscp, ecn, ttl, df) = (
        inner.dscp(),
        inner.ecn(),
        inner.hop_limit(),
        inner.dont_frag(),
    );
    let mut outer = Ipv4Packet::new_unchecked(&mut out[ETHERNET_HEADER_LEN..]);
    outer.set_version(4);
    outer.set_header_len(OUTER_HEADER_LEN as u8);
    outer.set_dscp(dscp);
    outer.set_ecn(ecn);
    outer.set_total_len((OUTER_HEADER_LEN + inner_len) as u16);
    outer.set_ident(ident);
    outer.clear_flags();
    outer.set_dont_frag(df);
    outer.set_frag_offset(0);
    outer.set_hop_limit(ttl);
    outer.set_next_header(IpProtocol::Unknown(IPPROTO_IPIP));
    outer.set_src_addr(outer_src);
    outer.set_dst_addr(outer_dst);
    outer.fill_checksum();
    Ok(out)
}

/// Reverse-path filtering (`net.ipv4.conf.{all,tunl0}.rp_filter`; Linux applies the higher
/// of the two values).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RpFilter {
    /// 0: no check. What LVS-Tun real servers need.
    Off,
    /// 2: accept if the source is reachable by any interface (RFC 3704 loose mode).
    Loose,
    /// 1: accept only if the route back to the source leaves by the interface the packet
    /// came in on (RFC 3704 strict mode). Drops everything decapsulated from `tunl0`.
    Strict,
}

/// A real server's tunnel, as a student configures it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TunnelConfig {
    /// Addresses on `tunl0` (the VIPs): `ip addr add VIP/32 dev tunl0`.
    pub addresses: Vec<Ipv4Addr>,
    /// Reverse-path filtering for packets that come out of the tunnel.
    pub rp_filter: RpFilter,
    /// MSS clamping on the SYNs and SYN-ACKs the server sends, if configured (`iptables -t
    /// mangle -A OUTPUT -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss N`).
    pub clamp_mss: Option<u16>,
}

/// What happened to a frame at the tunnel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decapsulated {
    /// Not IP in IP for this host: untouched.
    NotTunnelled,
    /// The outer header is gone; the frame now holds the inner packet.
    Inner,
    /// Dropped: the inner packet is not for one of the tunnel's addresses (Linux would try to
    /// forward it, and a real server does not forward), or is malformed.
    NotForUs,
    /// Dropped by reverse-path filtering.
    RpFilter,
}

/// The `tunl0` device of a host with one interface.
#[derive(Clone, Debug)]
pub struct TunnelEndpoint {
    /// The configuration.
    pub config: TunnelConfig,
    /// The host's interface address (the outer destination).
    host_ip: Ipv4Addr,
    /// Its prefix length, for "is the source on-link" (loose mode without a gateway).
    prefix_len: u8,
    /// Whether the host has a default route.
    has_gateway: bool,
    /// Packets dropped by `rp_filter` (Linux's `IPReversePathFilter` counter).
    pub rp_filter_drops: u64,
}

impl TunnelEndpoint {
    /// The tunnel of a host at `host_ip/prefix_len`, with or without a default route.
    pub fn new(
        config: TunnelConfig,
        host_ip: Ipv4Addr,
        prefix_len: u8,
        has_gateway: bool,
    ) -> TunnelEndpoint {
        TunnelEndpoint {
            config,
            host_ip,
            prefix_len,
            has_gateway,
            rp_filter_drops: 0,
        }
    }

    /// `ipip_rcv`: unwraps an IP-in-IP packet addressed to this host, then applies the checks
    /// Linux applies to a packet received on `tunl0`.
    pub fn receive(&mut self, frame: &mut Vec<u8>) -> Decapsulated {
        let Ok(eth) = EthernetFrame::new_checked(&frame[..]) else {
            return Decapsulated::NotTunnelled;
        };
        if eth.ethertype() != EthernetProtocol::Ipv4 {
            return Decapsulated::NotTunnelled;
        }
        let Ok(outer) = Ipv4Packet::new_checked(eth.payload()) else {
            return Decapsulated::NotTunnelled;
        };
        if outer.next_header() != IpProtocol::Unknown(IPPROTO_IPIP)
            || outer.dst_addr() != self.host_ip
        {
            return Decapsulated::NotTunnelled;
        }
        let outer_len = usize::from(outer.header_len());
        let Ok(inner) = Ipv4Packet::new_checked(outer.payload()) else {
            return Decapsulated::NotForUs;
        };
        if !inner.verify_checksum() || !self.config.addresses.contains(&inner.dst_addr()) {
            return Decapsulated::NotForUs;
        }
        if !self.reverse_path_ok(inner.src_addr()) {
            self.rp_filter_drops += 1;
            return Decapsulated::RpFilter;
        }
        let inner_end = ETHERNET_HEADER_LEN + outer_len + usize::from(inner.total_len());
        frame.truncate(inner_end);
        frame.drain(ETHERNET_HEADER_LEN..ETHERNET_HEADER_LEN + outer_len);
        Decapsulated::Inner
    }

    /// `fib_validate_source`: would the reply to `src` leave by `tunl0`? Never: `tunl0` has no
    /// routes, so strict mode always fails; loose mode needs any route at all.
    fn reverse_path_ok(&self, src: Ipv4Addr) -> bool {
        match self.config.rp_filter {
            RpFilter::Off => true,
            RpFilter::Strict => false,
            RpFilter::Loose => self.has_gateway || self.on_link(src),
        }
    }

    /// Whether `addr` is on the host's subnet.
    fn on_link(&self, addr: Ipv4Addr) -> bool {
        let mask = u32::MAX
            .checked_shl(32 - u32::from(self.prefix_len))
            .unwrap_or(0);
        u32::from(addr) & mask == u32::from(self.host_ip) & mask
    }
}

/// `TCPMSS --set-mss`: lowers the MSS option of an outgoing SYN (or SYN-ACK) to at most `mss`
/// and fixes the TCP checksum. Other frames are left alone.
pub fn clamp_mss(frame: &mut [u8], mss: u16) {
    let Some(bytes) = frame.get_mut(ETHERNET_HEADER_LEN..) else {
        return;
    };
    let Ok(mut ip) = Ipv4Packet::new_checked(bytes) else {
        return;
    };
    if ip.next_header() != IpProtocol::Tcp {
        return;
    }
    let (src, dst) = (ip.src_addr(), ip.dst_addr());
    let Ok(mut tcp) = TcpPacket::new_checked(ip.payload_mut()) else {
        return;
    };
    if !tcp.syn() || tcp.rst() {
        return;
    }
    let changed = {
        let options = tcp.options_mut();
        lower_mss_option(options, mss)
    };
    if changed {
        tcp.fill_checksum(&src.into(), &dst.into());
    }
}

/// Walks TCP options (RFC 9293 §3.1) to the MSS option (kind 2, length 4) and lowers it;
/// returns whether it changed.
fn lower_mss_option(options: &mut [u8], mss: u16) -> bool {
    let mut at = 0;
    while at < options.len() {
        match options[at] {
            0 => return false,
            1 => at += 1,
            kind => {
                let Some(&len) = options.get(at + 1) else {
                    return false;
                };
                let len = usize::from(len);
                if len < 2 || at + len > options.len() {
                    return false;
                }
                if kind == 2 && len == 4 {
                    let current = u16::from_be_bytes([options[at + 2], options[at + 3]]);
                    if current <= mss {
                        return false;
                    }
                    options[at + 2..at + 4].copy_from_slice(&mss.to_be_bytes());
                    return true;
                }
                at += len;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use smoltcp::wire::{EthernetAddress, TcpControl, TcpRepr, TcpSeqNumber};

    use crate::node::frames;

    const CLIENT: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);
    const VIP: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 100);
    const DIRECTOR: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 2);
    const SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 11);

    /// A client → VIP segment with `payload_len` bytes of data and, on a SYN, an MSS option.
    fn segment(payload_len: usize, syn: bool) -> Vec<u8> {
        let payload = vec![b'x'; payload_len];
        let repr = TcpRepr {
            src_port: 40000,
            dst_port: 80,
            control: if syn {
                TcpControl::Syn
            } else {
                TcpControl::None
            },
            seq_number: TcpSeqNumber(1),
            ack_number: None,
            window_len: 1000,
            window_scale: None,
            max_seg_size: syn.then_some(1460),
            sack_permitted: false,
            sack_ranges: [None; 3],
            timestamp: None,
            payload: &payload,
        };
        frames::tcp_segment(
            EthernetAddress([2, 0, 0, 0, 0, 1]),
            EthernetAddress([2, 0, 0, 0, 0, 2]),
            CLIENT,
            VIP,
            &repr,
        )
    }

    fn endpoint(rp_filter: RpFilter) -> TunnelEndpoint {
        let config = TunnelConfig {
            addresses: vec![VIP],
            rp_filter,
            clamp_mss: None,
        };
        TunnelEndpoint::new(config, SERVER, 24, true)
    }

    #[test]
    fn the_outer_header_is_protocol_4_with_a_valid_checksum_and_the_inner_packet_intact() {
        let inner = segment(100, false);
        let outer = encapsulate(&inner, DIRECTOR, SERVER, 7, ETHERNET_MTU).unwrap();
        assert_eq!(outer.len(), inner.len() + OUTER_HEADER_LEN);
        let ip = Ipv4Packet::new_checked(&outer[ETHERNET_HEADER_LEN..]).unwrap();
        assert_eq!(ip.next_header(), IpProtocol::Unknown(4));
        assert!(ip.verify_checksum());
        assert_eq!((ip.src_addr(), ip.dst_addr()), (DIRECTOR, SERVER));
        assert_eq!(usize::from(ip.total_len()), inner.len() - 14 + 20);
        assert_eq!(ip.ident(), 7);
        let old = Ipv4Packet::new_checked(&inner[ETHERNET_HEADER_LEN..]).unwrap();
        assert_eq!(ip.hop_limit(), old.hop_limit());
        assert_eq!(ip.dont_frag(), old.dont_frag());
        assert_eq!(ip.payload(), &inner[ETHERNET_HEADER_LEN..]);
    }

    #[test]
    fn a_full_size_segment_with_df_gets_fragmentation_needed_with_1480() {
        // 1460 bytes of data + 20 TCP + 20 IP = 1500: fits Ethernet, not the tunnel.
        let full = segment(1460, false);
        assert_eq!(
            encapsulate(&full, DIRECTOR, SERVER, 1, ETHERNET_MTU),
            Err(EncapsulateError::FragmentationNeeded { mtu: 1480 })
        );
        // 1440 bytes of data: 1480 + 20 = 1500, the largest that passes.
        assert!(encapsulate(&segment(1440, false), DIRECTOR, SERVER, 1, ETHERNET_MTU).is_ok());
        assert!(encapsulate(&segment(1441, false), DIRECTOR, SERVER, 1, ETHERNET_MTU).is_err());
    }

    #[test]
    fn the_real_server_unwraps_to_the_original_frame() {
        let inner = segment(100, false);
        let mut frame = encapsulate(&inner, DIRECTOR, SERVER, 7, ETHERNET_MTU).unwrap();
        assert_eq!(
            endpoint(RpFilter::Off).receive(&mut frame),
            Decapsulated::Inner
        );
        assert_eq!(frame, inner);
        let mut frame = encapsulate(&inner, DIRECTOR, SERVER, 7, ETHERNET_MTU).unwrap();
        assert_eq!(
            endpoint(RpFilter::Loose).receive(&mut frame),
            Decapsulated::Inner
        );
    }

    #[test]
    fn strict_rp_filter_drops_and_counts_what_comes_out_of_the_tunnel() {
        let mut tunnel = endpoint(RpFilter::Strict);
        let mut frame =
            encapsulate(&segment(10, false), DIRECTOR, SERVER, 7, ETHERNET_MTU).unwrap();
        assert_eq!(tunnel.receive(&mut frame), Decapsulated::RpFilter);
        assert_eq!(tunnel.rp_filter_drops, 1);
    }

    #[test]
    fn loose_rp_filter_without_a_route_back_drops_too() {
        let config = TunnelConfig {
            addresses: vec![VIP],
            rp_filter: RpFilter::Loose,
            clamp_mss: None,
        };
        let mut tunnel = TunnelEndpoint::new(config, SERVER, 24, false);
        let mut frame =
            encapsulate(&segment(10, false), DIRECTOR, SERVER, 7, ETHERNET_MTU).unwrap();
        assert_eq!(tunnel.receive(&mut frame), Decapsulated::RpFilter);
    }

    #[test]
    fn an_inner_packet_for_an_address_not_on_tunl0_is_dropped() {
        let config = TunnelConfig {
            addresses: vec![Ipv4Addr::new(10, 0, 1, 200)],
            rp_filter: RpFilter::Off,
            clamp_mss: None,
        };
        let mut tunnel = TunnelEndpoint::new(config, SERVER, 24, true);
        let mut frame =
            encapsulate(&segment(10, false), DIRECTOR, SERVER, 7, ETHERNET_MTU).unwrap();
        assert_eq!(tunnel.receive(&mut frame), Decapsulated::NotForUs);
    }

    #[test]
    fn plain_packets_pass_the_tunnel_untouched() {
        let mut frame = segment(10, false);
        let before = frame.clone();
        assert_eq!(
            endpoint(RpFilter::Strict).receive(&mut frame),
            Decapsulated::NotTunnelled
        );
        assert_eq!(frame, before);
    }

    #[test]
    fn mss_clamping_lowers_the_option_of_a_syn_and_keeps_the_checksum_valid() {
        let mut frame = segment(0, true);
        clamp_mss(&mut frame, 1440);
        let ip = Ipv4Packet::new_checked(&frame[ETHERNET_HEADER_LEN..]).unwrap();
        let tcp = TcpPacket::new_checked(ip.payload()).unwrap();
        assert!(tcp.verify_checksum(&CLIENT.into(), &VIP.into()));
        let repr = TcpRepr::parse(
            &tcp,
            &CLIENT.into(),
            &VIP.into(),
            &smoltcp::phy::ChecksumCapabilities::default(),
        )
        .unwrap();
        assert_eq!(repr.max_seg_size, Some(1440));
        // A clamp above the current value, or a segment without SYN, changes nothing.
        let mut syn = segment(0, true);
        let before = syn.clone();
        clamp_mss(&mut syn, 1460);
        assert_eq!(syn, before);
        let mut data = segment(10, false);
        let before = data.clone();
        clamp_mss(&mut data, 536);
        assert_eq!(data, before);
    }
}
