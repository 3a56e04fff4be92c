//! *Packet capture*: every frame seen on the captured segments, in a file Wireshark opens.
//!
//! The capture is taken where a network tap would sit: at the switch for a switched segment
//! (every frame that reaches it), and at the receiving end for a point-to-point link.
//! Timestamps are virtual time, so the capture of a run is itself deterministic.
//! The file is the classic libpcap format: a 24-byte global header, then a 16-byte record header
//! and the frame bytes for each frame (Ethernet link type, microsecond timestamps).
//!
//! Frames are appended to an in-memory buffer in event order, which is time order, and the
//! buffer is written to disk once, after the run succeeded.
//!
//! # Simplifications
//! - One file for all captured segments: a frame routed across two segments appears twice, once
//!   per segment (as with `tcpdump -i any`), with the MAC addresses and TTL of each hop.
//!
//! # Further reading
//! - The libpcap file format: <https://wiki.wireshark.org/Development/LibpcapFileFormat>

use crate::sim::SimTime;

/// A capture being recorded.
pub struct Capture {
    /// The pcap file's bytes so far.
    bytes: Vec<u8>,
    /// Frames recorded.
    frame_count: u64,
}

/// The largest frame recorded whole; longer ones are truncated (none are, with a 1514-byte MTU).
const SNAPLEN: u32 = 65_535;
/// Link type 1: Ethernet.
const LINKTYPE_ETHERNET: u32 = 1;

impl Capture {
    /// An empty capture with its global header written.
    pub fn new() -> Capture {
        let mut bytes = Vec::with_capacity(1 << 16);
        bytes.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes()); // magic: µs timestamps
        bytes.extend_from_slice(&2u16.to_le_bytes()); // version 2.4
        bytes.extend_from_slice(&4u16.to_le_bytes());
        bytes.extend_from_slice(&0i32.to_le_bytes()); // GMT offset
        bytes.extend_from_slice(&0u32.to_le_bytes()); // timestamp accuracy
        bytes.extend_from_slice(&SNAPLEN.to_le_bytes());
        bytes.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
        Capture {
            bytes,
            frame_count: 0,
        }
    }

    /// Records `frame` as seen at `at`. Calls must come in time order.
    pub fn record(&mut self, at: SimTime, frame: &[u8]) {
        let micros = at.as_micros();
        let stored = frame.len().min(SNAPLEN as usize);
        self.bytes
            .extend_from_slice(&((micros / 1_000_000) as u32).to_le_bytes());
        self.bytes
            .extend_from_slice(&((micros % 1_000_000) as u32).to_le_bytes());
        self.bytes.extend_from_slice(&(stored as u32).to_le_bytes());
        self.bytes
            .extend_from_slice(&(frame.len() as u32).to_le_bytes());
        self.bytes.extend_from_slice(&frame[..stored]);
        self.frame_count += 1;
    }

    /// Number of frames recorded.
    pub fn frame_count(&self) -> u64 {
        self.frame_count
    }

    /// The pcap file's bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

impl Default for Capture {
    fn default() -> Self {
        Capture::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_have_a_header_and_the_frame() {
        let mut cap = Capture::new();
        cap.record(SimTime::from_nanos(1_500_000_000), &[0xaa; 60]);
        assert_eq!(cap.frame_count(), 1);
        let bytes = cap.into_bytes();
        assert_eq!(bytes.len(), 24 + 16 + 60);
        assert_eq!(&bytes[0..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
        assert_eq!(u32::from_le_bytes(bytes[24..28].try_into().unwrap()), 1);
        assert_eq!(
            u32::from_le_bytes(bytes[28..32].try_into().unwrap()),
            500_000
        );
        assert_eq!(u32::from_le_bytes(bytes[32..36].try_into().unwrap()), 60);
    }
}
