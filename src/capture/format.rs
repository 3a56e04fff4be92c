//! *File formats*: the bytes of a libpcap file and of a pcapng file, written by hand.
//!
//! A libpcap file (what `tcpdump -w` writes) is a 24-byte header, then for each frame a
//! 16-byte record header (time in seconds and microseconds, stored and original length) and
//! the stored bytes. It has one link type and no names and no comments: one file per wire.
//!
//! A pcapng file is a list of blocks, each `type, total length, body, total length`:
//! a Section Header Block, one Interface Description Block per wire (its `if_name` is the
//! segment's name, so Wireshark's `frame.interface_name == "front"` picks one wire), then one
//! Enhanced Packet Block per frame naming its interface, with an optional `opt_comment`
//! (Wireshark's `frame.comment`). Timestamps are nanoseconds (`if_tsresol` = 9): virtual
//! time has nanoseconds, and they keep frames a few hundred nanoseconds apart in order.
//! Everything is little-endian; every block and option is padded to 4 bytes.
//!
//! Why by hand and not the `pcap-file` crate: its last stable release (2.0.0) writes Enhanced
//! Packet Block timestamps in nanoseconds whatever `if_tsresol` says (fixed only in a 3.0
//! release candidate), and brings a proc-macro crate on `syn` 1 with it; the three blocks
//! netlab writes fit in this file, and tshark reads every capture back in CI
//! (`tests/it/pcap.rs`).
//!
//! # Further reading
//! - libpcap: <https://wiki.wireshark.org/Development/LibpcapFileFormat>
//! - pcapng: <https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html>

use crate::sim::SimTime;

/// Link type 1: Ethernet.
const LINKTYPE_ETHERNET: u16 = 1;

/// The 24-byte header of a libpcap file (microsecond timestamps, Ethernet).
pub fn pcap_header(snaplen: u32) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(24);
    bytes.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes()); // magic: µs timestamps
    bytes.extend_from_slice(&2u16.to_le_bytes()); // version 2.4
    bytes.extend_from_slice(&4u16.to_le_bytes());
    bytes.extend_from_slice(&0i32.to_le_bytes()); // GMT offset
    bytes.extend_from_slice(&0u32.to_le_bytes()); // timestamp accuracy
    bytes.extend_from_slice(&snaplen.to_le_bytes());
    bytes.extend_from_slice(&u32::from(LINKTYPE_ETHERNET).to_le_bytes());
    bytes
}

/// One libpcap record: `stored` is the frame cut to the snap length, `len` its real length.
pub fn pcap_record(out: &mut Vec<u8>, at: SimTime, stored: &[u8], len: usize) {
    let micros = at.as_micros();
    out.extend_from_slice(&((micros / 1_000_000) as u32).to_le_bytes());
    out.extend_from_slice(&((micros % 1_000_000) as u32).to_le_bytes());
    out.extend_from_slice(&(stored.len() as u32).to_le_bytes());
    out.extend_from_slice(&(len as u32).to_le_bytes());
    out.extend_from_slice(stored);
}

/// Block types.
const SECTION_HEADER: u32 = 0x0A0D_0D0A;
const INTERFACE_DESCRIPTION: u32 = 1;
const ENHANCED_PACKET: u32 = 6;
/// Option codes.
const OPT_END: u16 = 0;
const OPT_COMMENT: u16 = 1;
const SHB_USERAPPL: u16 = 4;
const IF_NAME: u16 = 2;
const IF_DESCRIPTION: u16 = 3;
const IF_TSRESOL: u16 = 9;

/// Appends one option, padded to 4 bytes.
fn option(body: &mut Vec<u8>, code: u16, value: &[u8]) {
    body.extend_from_slice(&code.to_le_bytes());
    body.extend_from_slice(&(value.len() as u16).to_le_bytes());
    body.extend_from_slice(value);
    pad(body);
}

/// Pads to a multiple of 4 bytes with zeros.
fn pad(bytes: &mut Vec<u8>) {
    while !bytes.len().is_multiple_of(4) {
        bytes.push(0);
    }
}

/// Wraps `body` into a block of `kind`.
fn block(out: &mut Vec<u8>, kind: u32, body: &[u8]) {
    let total = (12 + body.len()) as u32;
    out.extend_from_slice(&kind.to_le_bytes());
    out.extend_from_slice(&total.to_le_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(&total.to_le_bytes());
}

/// The Section Header Block: byte order, version 1.0, unknown section length, the writer.
pub fn pcapng_section(out: &mut Vec<u8>) {
    let mut body = Vec::with_capacity(40);
    body.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
    body.extend_from_slice(&1u16.to_le_bytes());
    body.extend_from_slice(&0u16.to_le_bytes());
    body.extend_from_slice(&(-1i64).to_le_bytes());
    let app = format!("netlab {}", env!("CARGO_PKG_VERSION"));
    option(&mut body, SHB_USERAPPL, app.as_bytes());
    option(&mut body, OPT_END, &[]);
    block(out, SECTION_HEADER, &body);
}

/// An Interface Description Block: Ethernet, `snaplen`, a name, a description, nanoseconds.
pub fn pcapng_interface(out: &mut Vec<u8>, name: &str, description: &str, snaplen: u32) {
    let mut body = Vec::with_capacity(64);
    body.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
    body.extend_from_slice(&0u16.to_le_bytes());
    body.extend_from_slice(&snaplen.to_le_bytes());
    option(&mut body, IF_NAME, name.as_bytes());
    option(&mut body, IF_DESCRIPTION, description.as_bytes());
    option(&mut body, IF_TSRESOL, &[9]);
    option(&mut body, OPT_END, &[]);
    block(out, INTERFACE_DESCRIPTION, &body);
}

/// An Enhanced Packet Block on interface `iface`, with an optional comment.
pub fn pcapng_packet(
    out: &mut Vec<u8>,
    iface: u32,
    at: SimTime,
    stored: &[u8],
    len: usize,
    comment: Option<&str>,
) {
    let nanos = at.as_nanos();
    let mut body = Vec::with_capacity(20 + stored.len() + 8);
    body.extend_from_slice(&iface.to_le_bytes());
    body.extend_from_slice(&((nanos >> 32) as u32).to_le_bytes());
    body.extend_from_slice(&(nanos as u32).to_le_bytes());
    body.extend_from_slice(&(stored.len() as u32).to_le_bytes());
    body.extend_from_slice(&(len as u32).to_le_bytes());
    body.extend_from_slice(stored);
    pad(&mut body);
    if let Some(text) = comment {
        option(&mut body, OPT_COMMENT, text.as_bytes());
        option(&mut body, OPT_END, &[]);
    }
    block(out, ENHANCED_PACKET, &body);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(bytes: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
    }

    #[test]
    fn a_pcap_record_has_a_header_and_the_frame() {
        let mut bytes = pcap_header(65_535);
        pcap_record(
            &mut bytes,
            SimTime::from_nanos(1_500_000_000),
            &[0xaa; 60],
            60,
        );
        assert_eq!(bytes.len(), 24 + 16 + 60);
        assert_eq!(&bytes[0..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
        assert_eq!(word(&bytes, 24), 1);
        assert_eq!(word(&bytes, 28), 500_000);
        assert_eq!(word(&bytes, 32), 60);
    }

    #[test]
    fn pcapng_blocks_are_padded_and_framed_by_their_length() {
        let mut bytes = Vec::new();
        pcapng_section(&mut bytes);
        pcapng_interface(&mut bytes, "front", "switch", 65_535);
        pcapng_packet(
            &mut bytes,
            0,
            SimTime::from_nanos(5),
            &[1; 61],
            61,
            Some("hi"),
        );
        let mut at = 0;
        let mut kinds = Vec::new();
        while at < bytes.len() {
            let total = word(&bytes, at + 4) as usize;
            assert_eq!(total % 4, 0, "blocks are padded");
            assert_eq!(word(&bytes, at + total - 4) as usize, total);
            kinds.push(word(&bytes, at));
            at += total;
        }
        assert_eq!(at, bytes.len());
        assert_eq!(
            kinds,
            [SECTION_HEADER, INTERFACE_DESCRIPTION, ENHANCED_PACKET]
        );
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("front") && text.contains("hi"));
    }
}
