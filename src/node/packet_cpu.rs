//! *A packet-processing CPU*: the work a forwarding box does per packet, and its queue.
//!
//! A Linux director handles every packet in the kernel (the NIC interrupt, then the network
//! softirq: IPVS lookup, rewrite, routing). That takes a little CPU time per packet, a few
//! microseconds. While the CPU is busy, newly arrived packets wait in a per-CPU backlog queue
//! of at most `netdev_max_backlog` packets (1000 by default); packets that find it full are
//! dropped. Below saturation the wait is tiny; as the packet rate approaches 1 / cost, the
//! queue grows, latency climbs, and then packets are lost.
//!
//! This module is that queue: frames are admitted in arrival order, each costs `cost` of one
//! processor, and a frame leaves when its processing ends.
//!
//! # Simplifications
//! - One processor; no interrupt coalescing, RSS or GRO: every frame costs the same.
//! - Frames are dropped only when the backlog is full (no early drop).

use std::collections::VecDeque;

use crate::sim::{SimDuration, SimTime};

/// A processor that spends `cost` on every frame, with a bounded backlog.
#[derive(Debug)]
pub struct PacketCpu {
    /// CPU time per frame.
    cost: SimDuration,
    /// Frames that may wait at once (Linux `net.core.netdev_max_backlog`).
    backlog: usize,
    /// When the processor finishes its current work.
    busy_until: SimTime,
    /// Frames admitted, with the time their processing ends and their interface.
    queue: VecDeque<(SimTime, usize, Vec<u8>)>,
    /// CPU time spent in all.
    busy_total: SimDuration,
    /// Frames dropped because the backlog was full.
    dropped: u64,
}

impl PacketCpu {
    /// A processor with this cost per frame and backlog.
    pub fn new(cost: SimDuration, backlog: usize) -> PacketCpu {
        PacketCpu {
            cost,
            backlog: backlog.max(1),
            busy_until: SimTime::ZERO,
            queue: VecDeque::new(),
            busy_total: SimDuration::ZERO,
            dropped: 0,
        }
    }

    /// A frame arrives on `iface` at `now`: it queues for the processor, or is dropped if the
    /// backlog is full. Returns whether it was admitted.
    pub fn admit(&mut self, now: SimTime, iface: usize, frame: Vec<u8>) -> bool {
        if self.queue.len() >= self.backlog {
            self.dropped += 1;
            return false;
        }
        self.busy_until = self.busy_until.max(now) + self.cost;
        self.busy_total = self.busy_total + self.cost;
        self.queue.push_back((self.busy_until, iface, frame));
        true
    }

    /// The next frame whose processing has ended by `now`, in arrival order.
    pub fn pop_done(&mut self, now: SimTime) -> Option<(usize, Vec<u8>)> {
        if self.queue.front()?.0 > now {
            return None;
        }
        self.queue
            .pop_front()
            .map(|(_, iface, frame)| (iface, frame))
    }

    /// When the oldest waiting frame is done, if any waits.
    pub fn next_done(&self) -> Option<SimTime> {
        self.queue.front().map(|(at, _, _)| *at)
    }

    /// The machine lost power: waiting frames are gone and the processor is idle.
    pub fn clear(&mut self) {
        self.queue.clear();
        self.busy_until = SimTime::ZERO;
    }

    /// CPU time spent so far.
    pub fn busy(&self) -> SimDuration {
        self.busy_total
    }

    /// Frames dropped because the backlog was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(us: u64) -> SimTime {
        SimTime::ZERO + SimDuration::from_micros(us)
    }

    #[test]
    fn frames_leave_in_order_one_cost_apart() {
        let mut cpu = PacketCpu::new(SimDuration::from_micros(10), 100);
        assert!(cpu.admit(at(0), 0, vec![1]));
        assert!(cpu.admit(at(0), 1, vec![2]));
        assert_eq!(cpu.next_done(), Some(at(10)));
        assert_eq!(cpu.pop_done(at(9)), None);
        assert_eq!(cpu.pop_done(at(10)), Some((0, vec![1])));
        assert_eq!(cpu.next_done(), Some(at(20)));
        assert_eq!(cpu.pop_done(at(25)), Some((1, vec![2])));
        assert_eq!(cpu.busy(), SimDuration::from_micros(20));
    }

    #[test]
    fn an_idle_processor_starts_at_arrival() {
        let mut cpu = PacketCpu::new(SimDuration::from_micros(10), 100);
        cpu.admit(at(0), 0, vec![]);
        cpu.pop_done(at(10));
        cpu.admit(at(50), 0, vec![]);
        assert_eq!(cpu.next_done(), Some(at(60)));
    }

    #[test]
    fn a_full_backlog_drops() {
        let mut cpu = PacketCpu::new(SimDuration::from_micros(10), 2);
        assert!(cpu.admit(at(0), 0, vec![]));
        assert!(cpu.admit(at(0), 0, vec![]));
        assert!(!cpu.admit(at(0), 0, vec![]));
        assert_eq!(cpu.dropped(), 1);
    }
}
