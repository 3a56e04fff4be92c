//! *Segments*: a learning Ethernet switch, or a point-to-point link.
//!
//! A **point-to-point link** joins exactly two interfaces: a frame sent at one end arrives at
//! the other after queueing, serialisation and propagation.
//!
//! A **switched segment** is one broadcast domain: every interface has its own cable to a
//! switch. The switch *learns* which port each source MAC address lives behind, forwards a frame
//! for a known MAC out of that one port, and *floods* broadcasts and unknown destinations to
//! every other port (how ARP requests reach everyone). Each port has its own transmit queue in
//! both directions, so a busy server port congests without slowing the others.
//!
//! The segment's `delay` is the one-way delay between two interfaces; on a switch each cable
//! gets half of it.
//!
//! # Simplifications
//! - The switch forwards in zero time, has unlimited MAC table space and never ages entries.
//! - No VLANs, no spanning tree.
//! - A port that is down drops frames in both directions.
//!
//! # Further reading
//! - `book/src/engine.md`, "Frames and wires".

use super::{LinkConfig, TxQueue};
use crate::sim::{LookupMap, SimTime, Stream};

/// Which kind of wire a segment is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SegmentKind {
    /// A learning switch with any number of ports.
    Switch,
    /// A cable between exactly two interfaces.
    PointToPoint,
}

/// A port of a segment: its index in the segment's port list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PortId(pub usize);

/// Where a frame goes next, and when it gets there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hop {
    /// It reaches the switch of this segment through `port` at `at`.
    ToSwitch {
        /// The port it came in on.
        port: PortId,
        /// When its last bit reaches the switch.
        at: SimTime,
    },
    /// It reaches a node's interface at `at`.
    ToNode {
        /// Index of the node in the world.
        node: usize,
        /// Index of the interface on that node.
        iface: usize,
        /// When its last bit arrives.
        at: SimTime,
    },
}

/// What happened to a frame offered to the segment, for the counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fate {
    /// Frames refused by a full transmit queue.
    pub dropped_queue: u32,
    /// Frames lost on the wire (the `loss` probability).
    pub lost: u32,
}

/// One port: the cable between a node's interface and the switch (or the link's far end).
struct Port {
    /// The node and interface plugged in here.
    node: usize,
    /// Interface index on that node.
    iface: usize,
    /// Queue from the node onto the wire.
    from_node: TxQueue,
    /// Queue from the switch towards the node (unused on point-to-point links).
    to_node: TxQueue,
    /// Loss decisions for frames delivered to this port's node.
    loss: Stream,
    /// False while the cable is unplugged (a fault).
    up: bool,
}

/// A switched segment or a point-to-point link.
pub struct Segment {
    /// Name from the scenario.
    pub name: String,
    /// Switch or point-to-point.
    pub kind: SegmentKind,
    /// Physics shared by all ports.
    pub config: LinkConfig,
    /// Whether frames crossing it go into the packet capture.
    pub captured: bool,
    /// The ports, in the order interfaces were attached.
    ports: Vec<Port>,
    /// The switch's learned MAC address table: MAC (as `mac_key`) → port. A hash map for
    /// lookups only (`sim::LookupMap`): the switch looks up two addresses per frame and
    /// never lists the table, so no hash order can reach a result.
    mac_table: LookupMap<u64, PortId>,
}

impl Segment {
    /// A segment with no ports yet.
    pub fn new(name: String, kind: SegmentKind, config: LinkConfig) -> Segment {
        Segment {
            name,
            kind,
            config,
            captured: false,
            ports: Vec::new(),
            mac_table: LookupMap::default(),
        }
    }

    /// Plugs interface `iface` of node `node` in; `loss` is the stream for frames delivered to it.
    pub fn attach(&mut self, node: usize, iface: usize, loss: Stream) -> PortId {
        self.ports.push(Port {
            node,
            iface,
            from_node: TxQueue::new(),
            to_node: TxQueue::new(),
            loss,
            up: true,
        });
        PortId(self.ports.len() - 1)
    }

    /// The node plugged into `port`.
    pub fn port_node(&self, port: PortId) -> usize {
        self.ports[port.0].node
    }

    /// Number of attached interfaces.
    pub fn port_count(&self) -> usize {
        self.ports.len()
    }

    /// Whether a port's cable is in.
    pub fn port_is_up(&self, port: PortId) -> bool {
        self.ports[port.0].up
    }

    /// Plugs a port's cable in or out.
    pub fn set_port_up(&mut self, port: PortId, up: bool) {
        self.ports[port.0].up = up;
    }

    /// A node sends `len` bytes on its port `from` at `now`: where does the frame go next?
    /// Returns `None` when it is dropped or lost (counted in `fate`).
    pub fn transmit(
        &mut self,
        now: SimTime,
        from: PortId,
        len: usize,
        fate: &mut Fate,
    ) -> Option<Hop> {
        let config = self.config;
        if !self.ports[from.0].up {
            fate.lost += 1;
            return None;
        }
        let Some(departure) = self.ports[from.0].from_node.enqueue(now, len, &config) else {
            fate.dropped_queue += 1;
            return None;
        };
        match self.kind {
            SegmentKind::Switch => Some(Hop::ToSwitch {
                port: from,
                at: departure + half(config.delay),
            }),
            SegmentKind::PointToPoint => {
                // Invariant: validation guarantees a link has exactly two ports.
                let far = &mut self.ports[1 - from.0];
                if !far.up || far.loss.chance(config.loss) {
                    fate.lost += 1;
                    return None;
                }
                Some(Hop::ToNode {
                    node: far.node,
                    iface: far.iface,
                    at: departure + config.delay,
                })
            }
        }
    }

    /// The switch receives `frame` on port `in_port` at `now`: it learns the source MAC and
    /// forwards or floods. Each delivery is pushed onto `out`.
    pub fn switch_forward(
        &mut self,
        now: SimTime,
        in_port: PortId,
        frame: &[u8],
        out: &mut Vec<Hop>,
        fate: &mut Fate,
    ) {
        if frame.len() < 14 {
            return;
        }
        let (dst, src) = (mac_key(&frame[0..6]), mac_key(&frame[6..12]));
        // 1. Learn: the sender lives behind the port the frame came in on.
        if frame[6] & 1 == 0 {
            self.mac_table.insert(src, in_port);
        }
        // 2. Forward to the learned port, or flood broadcasts and unknown destinations.
        let is_group = frame[0] & 1 == 1;
        match self.mac_table.get(&dst).copied() {
            Some(port) if !is_group => {
                if port != in_port {
                    self.deliver(now, port, frame.len(), out, fate);
                }
            }
            _ => {
                for index in 0..self.ports.len() {
                    if index != in_port.0 {
                        self.deliver(now, PortId(index), frame.len(), out, fate);
                    }
                }
            }
        }
    }

    /// Sends a frame from the switch out of `port` towards its node.
    fn deliver(
        &mut self,
        now: SimTime,
        port: PortId,
        len: usize,
        out: &mut Vec<Hop>,
        fate: &mut Fate,
    ) {
        let config = self.config;
        let port = &mut self.ports[port.0];
        if !port.up {
            fate.lost += 1;
            return;
        }
        let Some(departure) = port.to_node.enqueue(now, len, &config) else {
            fate.dropped_queue += 1;
            return;
        };
        if port.loss.chance(config.loss) {
            fate.lost += 1;
            return;
        }
        out.push(Hop::ToNode {
            node: port.node,
            iface: port.iface,
            at: departure + half(config.delay),
        });
    }
}

/// Half a duration, for the two cables of a switched path.
fn half(d: crate::sim::SimDuration) -> crate::sim::SimDuration {
    crate::sim::SimDuration::from_nanos(d.as_nanos() / 2)
}

/// A MAC address as one number (its six bytes, big-endian): the switch looks two up for every
/// frame, and one integer compares faster than six bytes.
fn mac_key(mac: &[u8]) -> u64 {
    mac.iter().fold(0, |key, &byte| key << 8 | u64::from(byte))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::Bandwidth;
    use crate::sim::{SimDuration, Streams};

    fn lan() -> Segment {
        let config = LinkConfig {
            bandwidth: Bandwidth::from_bits_per_sec(1_000_000_000),
            delay: SimDuration::from_micros(10),
            queue_limit_bytes: 100_000,
            loss: 0.0,
        };
        let mut seg = Segment::new("lan".into(), SegmentKind::Switch, config);
        let streams = Streams::new(1);
        for node in 0..3 {
            seg.attach(node, 0, streams.stream(&format!("t{node}")));
        }
        seg
    }

    fn frame(dst: [u8; 6], src: [u8; 6]) -> Vec<u8> {
        let mut f = vec![0u8; 60];
        f[0..6].copy_from_slice(&dst);
        f[6..12].copy_from_slice(&src);
        f
    }

    #[test]
    fn unknown_destinations_flood_then_the_switch_learns() {
        let mut seg = lan();
        let mut out = Vec::new();
        let mut fate = Fate::default();
        let a = [2, 0, 0, 0, 0, 1];
        let b = [2, 0, 0, 0, 0, 2];
        // a → b: b is unknown, so ports 1 and 2 both get it.
        seg.switch_forward(SimTime::ZERO, PortId(0), &frame(b, a), &mut out, &mut fate);
        assert_eq!(out.len(), 2);
        out.clear();
        // b answers from port 1: a is known now, so only port 0 gets it.
        seg.switch_forward(SimTime::ZERO, PortId(1), &frame(a, b), &mut out, &mut fate);
        assert_eq!(out.len(), 1);
        assert!(matches!(out[0], Hop::ToNode { node: 0, .. }));
    }

    #[test]
    fn a_host_to_host_trip_takes_the_configured_delay_plus_two_serialisations() {
        let mut seg = lan();
        let mut fate = Fate::default();
        let hop = seg
            .transmit(SimTime::ZERO, PortId(0), 125, &mut fate)
            .unwrap();
        // 125 bytes at 1 Gbps = 1 us, then 5 us of cable.
        assert_eq!(
            hop,
            Hop::ToSwitch {
                port: PortId(0),
                at: SimTime::from_nanos(6_000)
            }
        );
        let mut out = Vec::new();
        let bcast = frame([0xff; 6], [2, 0, 0, 0, 0, 1]);
        seg.switch_forward(
            SimTime::from_nanos(6_000),
            PortId(0),
            &bcast[..],
            &mut out,
            &mut fate,
        );
        // 60-byte frame: 480 ns on the wire, then 5 us.
        assert!(matches!(out[0], Hop::ToNode { at, .. } if at == SimTime::from_nanos(11_480)));
    }

    #[test]
    fn an_unplugged_port_loses_frames() {
        let mut seg = lan();
        let mut fate = Fate::default();
        seg.set_port_up(PortId(0), false);
        assert_eq!(seg.transmit(SimTime::ZERO, PortId(0), 60, &mut fate), None);
        assert_eq!(fate.lost, 1);
    }
}
