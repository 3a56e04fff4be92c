//! The IPVS *sync daemon*'s messages: how a master director tells its backups about its
//! connections, so a backup that takes the VIP over can carry them on.
//!
//! Started by `ipvsadm --start-daemon master` (or keepalived's `lvs_sync_daemon`), the kernel
//! multicasts UDP datagrams to 224.0.0.81:8848 with TTL 1. Since Linux 2.6.39 they use the
//! *version 1* format (`net/netfilter/ipvs/ip_vs_sync.c`, `sync_version = 1`), which this
//! module writes and reads byte for byte, so Wireshark's `ipvs` dissector decodes them:
//!
//! ```text
//! message header (8 bytes)            one IPv4 connection (36 bytes each)
//!  0  reserved = 0                     0  type = 0 (IPv4)       1  protocol (6 = TCP)
//!  1  syncid                           2  ver_size: version << 12 | size (36)
//!  2  size of the whole message        4  flags (IP_VS_CONN_F_*: the forwarding method)
//!  4  number of connections            8  state (the TCP state, 1 = ESTABLISHED)
//!  5  version = 1                     10  cport  12 vport  14 dport
//!  6  spare                           16  fwmark 20 timeout in seconds
//!                                     24  caddr  28 vaddr  32 daddr
//! ```
//!
//! # Simplifications
//! - One connection per message, sent when the connection is made; the kernel batches them
//!   (up to the interface MTU) and also sends state changes.
//! - No sequence-number options and no persistence-engine data (netlab's directors do not
//!   rewrite sequence numbers); IPv4 only.
//! - `syncid` is 0, `ipvsadm`'s default (keepalived's `lvs_sync_daemon` uses the VRRP
//!   instance's `virtual_router_id` unless told otherwise).

use std::net::Ipv4Addr;

/// The sync daemon's multicast group (`IP_VS_SYNC_GROUP`).
pub const SYNC_GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 81);
/// The sync daemon's UDP port (`IP_VS_SYNC_PORT`).
pub const SYNC_PORT: u16 = 8848;
/// `SYNC_PROTO_VER`: the message format this module speaks.
const VERSION: u8 = 1;
/// Bytes of the message header (`struct ip_vs_sync_mesg`).
const HEADER_LEN: usize = 8;
/// Bytes of one IPv4 connection (`struct ip_vs_sync_v4`).
const CONN_LEN: usize = 36;
/// `IPPROTO_TCP`.
const TCP: u8 = 6;

/// `IP_VS_CONN_F_MASQ`: NAT.
pub const CONN_F_MASQ: u32 = 0x0000;
/// `IP_VS_CONN_F_TUNNEL`: IP-in-IP tunnelling.
pub const CONN_F_TUNNEL: u32 = 0x0002;
/// `IP_VS_CONN_F_DROUTE`: direct routing.
pub const CONN_F_DROUTE: u32 = 0x0003;
/// `IP_VS_TCP_S_ESTABLISHED`: the state netlab's messages announce.
pub const TCP_S_ESTABLISHED: u16 = 1;

/// One connection as the sync daemon announces it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncConn {
    /// The client's address and port.
    pub client: (Ipv4Addr, u16),
    /// The virtual service's address and port.
    pub virtual_service: (Ipv4Addr, u16),
    /// The real server's address and port.
    pub dest: (Ipv4Addr, u16),
    /// `IP_VS_CONN_F_*` flags: the forwarding method (`CONN_F_MASQ`, ...).
    pub flags: u32,
    /// The TCP state (`IP_VS_TCP_S_*`).
    pub state: u16,
    /// The entry's timeout, in seconds.
    pub timeout_s: u32,
}

/// The UDP payload announcing `conn`: a version 1 message with one connection.
pub fn encode(conn: &SyncConn) -> Vec<u8> {
    let size = (HEADER_LEN + CONN_LEN) as u16;
    let mut m = Vec::with_capacity(usize::from(size));
    m.extend_from_slice(&[0, 0]); // reserved, syncid
    m.extend_from_slice(&size.to_be_bytes());
    m.extend_from_slice(&[1, VERSION, 0, 0]); // one connection, version, spare
    m.extend_from_slice(&[0, TCP]); // type IPv4, protocol
    m.extend_from_slice(&(CONN_LEN as u16).to_be_bytes()); // connection format version 0
    m.extend_from_slice(&conn.flags.to_be_bytes());
    m.extend_from_slice(&conn.state.to_be_bytes());
    for port in [conn.client.1, conn.virtual_service.1, conn.dest.1] {
        m.extend_from_slice(&port.to_be_bytes());
    }
    m.extend_from_slice(&0u32.to_be_bytes()); // fwmark
    m.extend_from_slice(&conn.timeout_s.to_be_bytes());
    for addr in [conn.client.0, conn.virtual_service.0, conn.dest.0] {
        m.extend_from_slice(&addr.octets());
    }
    m
}

/// The TCP connections announced in the UDP payload `m`. Like the kernel, it ignores what it
/// cannot read: another version, a truncated message, an IPv6 or non-TCP entry.
pub fn decode(m: &[u8]) -> Vec<SyncConn> {
    if m.len() < HEADER_LEN || m[0] != 0 || m[5] != VERSION {
        return Vec::new();
    }
    let size = usize::from(u16::from_be_bytes([m[2], m[3]])).min(m.len());
    let mut conns = Vec::new();
    let mut at = HEADER_LEN;
    for _ in 0..m[4] {
        let Some(entry) = m.get(at..at + 4) else {
            break;
        };
        let len = usize::from(u16::from_be_bytes([entry[2], entry[3]]) & 0x0fff);
        if len < 4 || at + len > size {
            break;
        }
        if entry[0] == 0 && entry[1] == TCP && len >= CONN_LEN {
            conns.push(read_conn(&m[at..at + CONN_LEN]));
        }
        // Entries are padded to a multiple of 4 bytes.
        at += len.div_ceil(4) * 4;
    }
    conns
}

/// One `struct ip_vs_sync_v4`, `e` being its 36 bytes.
fn read_conn(e: &[u8]) -> SyncConn {
    let u16_at = |i: usize| u16::from_be_bytes([e[i], e[i + 1]]);
    let u32_at = |i: usize| u32::from_be_bytes([e[i], e[i + 1], e[i + 2], e[i + 3]]);
    let addr_at = |i: usize| Ipv4Addr::new(e[i], e[i + 1], e[i + 2], e[i + 3]);
    SyncConn {
        flags: u32_at(4),
        state: u16_at(8),
        client: (addr_at(24), u16_at(10)),
        virtual_service: (addr_at(28), u16_at(12)),
        dest: (addr_at(32), u16_at(14)),
        timeout_s: u32_at(20),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SyncConn {
        SyncConn {
            client: (Ipv4Addr::new(192, 0, 2, 7), 49152),
            virtual_service: (Ipv4Addr::new(10, 0, 0, 100), 80),
            dest: (Ipv4Addr::new(10, 0, 1, 11), 8080),
            flags: CONN_F_DROUTE,
            state: TCP_S_ESTABLISHED,
            timeout_s: 900,
        }
    }

    #[test]
    fn a_message_has_the_kernels_layout() {
        let m = encode(&sample());
        assert_eq!(m.len(), 44);
        assert_eq!(&m[..8], &[0, 0, 0, 44, 1, 1, 0, 0], "header");
        assert_eq!(&m[8..12], &[0, 6, 0, 36], "IPv4, TCP, 36 bytes");
        assert_eq!(&m[12..16], &[0, 0, 0, 3], "flags: direct routing");
        assert_eq!(&m[16..18], &[0, 1], "ESTABLISHED");
        assert_eq!(&m[18..24], &[0xc0, 0x00, 0, 80, 0x1f, 0x90], "ports");
        assert_eq!(&m[28..32], &[0, 0, 0x03, 0x84], "timeout 900 s");
        assert_eq!(&m[32..36], &[192, 0, 2, 7], "client address");
        assert_eq!(&m[40..44], &[10, 0, 1, 11], "real server address");
    }

    #[test]
    fn what_is_written_reads_back() {
        assert_eq!(decode(&encode(&sample())), vec![sample()]);
    }

    #[test]
    fn other_versions_and_short_messages_are_ignored() {
        let mut old = encode(&sample());
        old[5] = 0;
        assert!(decode(&old).is_empty(), "version 0");
        let m = encode(&sample());
        for len in 0..m.len() {
            assert!(decode(&m[..len]).is_empty(), "truncated to {len}");
        }
        let mut bad = encode(&sample());
        bad[4] = 200; // claims 200 connections: reads the one there is and stops
        assert_eq!(decode(&bad).len(), 1);
    }
}
