//! *The network*: wires and switches (the capture is `capture`).
//!
//! A frame leaving a node's interface enters the segment or link it is plugged into.
//! There it waits in a drop-tail transmit queue, is serialised at the port's bandwidth,
//! propagates, and arrives: at the other end of a point-to-point link, or at a learning switch
//! that forwards it to one port (or floods it to all).
//! The network moves bytes only; it never looks above the Ethernet header.
//!
//! Start with [`TxQueue`] (one direction of one cable), then [`Segment`].

mod link;
mod segment;

pub use link::{Bandwidth, LinkConfig, TxQueue};
pub use segment::{Fate, Hop, PortId, Segment, SegmentKind};
