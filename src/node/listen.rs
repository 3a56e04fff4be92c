//! *A full accept queue*: what Linux does with a SYN its listening socket has no room for.
//!
//! A Linux listening socket keeps the connections whose handshake is complete in its *accept
//! queue* until the application calls `accept()`; the queue holds `min(backlog passed to
//! listen(), net.core.somaxconn)` connections. When it is full, a new SYN is **dropped**: no
//! SYN-ACK, no RST (`tcp_conn_request`, counted as `ListenOverflows` and `ListenDrops` in
//! `netstat -s`). The client hears nothing and sends its SYN again when its retransmission
//! timer expires (RFC 6298 §2.1: 1 s, then doubling), so overload shows up as *delay*, not as
//! errors. With `net.ipv4.tcp_abort_on_overflow = 1` the server answers RST instead.
//!
//! smoltcp has no accept queue: a SYN that finds no listening socket is answered RST. An
//! application that wants Linux's default marks its port *full* here while it has no free
//! listening socket; the host's ingress policy (`device::IngressPolicy`) then swallows new
//! SYNs for that port before smoltcp sees them, and notes each one for the application to
//! count and explain.
//!
//! # Simplifications
//! - Only a segment with SYN and without ACK is dropped. A repeated SYN of a connection that
//!   is already half-open on this port is dropped too while the queue is full (Linux matches
//!   it to its request socket and answers again); the server's own SYN-ACK retransmission
//!   completes that handshake anyway.
//!
//! # Further reading
//! - `../shared/reference/linux-listen-backlog.md`; `man 7 tcp` (`tcp_abort_on_overflow`);
//!   RFC 6298 §2.1, §5.5; `book/src/labs/l4-balancing.md` ("A full accept queue", exercise 15).

use std::net::Ipv4Addr;

/// A SYN dropped because its port's accept queue was full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DroppedSyn {
    /// The listening port it was for.
    pub local_port: u16,
    /// Who sent it: address and port.
    pub peer: (Ipv4Addr, u16),
}

/// The host's listening ports whose accept queue is full, and the SYNs dropped for them.
#[derive(Debug, Default)]
pub struct FullQueues {
    /// Ports whose accept queue is full (at most a few: one per listening application).
    full: Vec<u16>,
    /// SYNs dropped since the applications last collected them, in arrival order.
    dropped: Vec<DroppedSyn>,
}

impl FullQueues {
    /// Marks `port`'s accept queue full (new SYNs are dropped) or not (smoltcp decides).
    pub fn set_full(&mut self, port: u16, full: bool) {
        let at = self.full.iter().position(|&p| p == port);
        match (full, at) {
            (true, None) => self.full.push(port),
            (false, Some(index)) => {
                self.full.swap_remove(index);
            }
            _ => {}
        }
    }

    /// Whether some port is full: only then must TCP segments be looked at.
    pub fn any(&self) -> bool {
        !self.full.is_empty()
    }

    /// Whether a segment to `local_port` from `peer` with these flags is a new SYN for a full
    /// port; if so it is noted as dropped, and the caller must drop it.
    pub fn drops(&mut self, local_port: u16, peer: (Ipv4Addr, u16), syn: bool, ack: bool) -> bool {
        if !syn || ack || !self.full.contains(&local_port) {
            return false;
        }
        self.dropped.push(DroppedSyn { local_port, peer });
        true
    }

    /// The SYNs dropped for `port` since the last call, oldest first.
    pub fn take_dropped(&mut self, port: u16) -> Vec<DroppedSyn> {
        if self.dropped.is_empty() {
            return Vec::new();
        }
        let (mine, others) = std::mem::take(&mut self.dropped)
            .into_iter()
            .partition(|syn| syn.local_port == port);
        self.dropped = others;
        mine
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEER: (Ipv4Addr, u16) = (Ipv4Addr::new(10, 0, 0, 100), 49152);

    #[test]
    fn only_new_syns_for_a_full_port_are_dropped() {
        let mut queues = FullQueues::default();
        assert!(!queues.any());
        assert!(!queues.drops(80, PEER, true, false), "nothing is full yet");
        queues.set_full(80, true);
        queues.set_full(80, true);
        assert!(queues.any());
        assert!(queues.drops(80, PEER, true, false));
        assert!(
            !queues.drops(80, PEER, true, true),
            "a SYN-ACK is not a new connection"
        );
        assert!(
            !queues.drops(80, PEER, false, true),
            "segments of connections pass"
        );
        assert!(
            !queues.drops(25, PEER, true, false),
            "another port has room"
        );
        queues.set_full(80, false);
        assert!(!queues.any());
        assert!(!queues.drops(80, PEER, true, false));
    }

    #[test]
    fn each_port_collects_its_own_drops() {
        let mut queues = FullQueues::default();
        queues.set_full(80, true);
        queues.set_full(25, true);
        assert!(queues.drops(80, PEER, true, false));
        assert!(queues.drops(25, PEER, true, false));
        assert!(queues.drops(80, (PEER.0, 49153), true, false));
        let web = queues.take_dropped(80);
        assert_eq!(web.len(), 2);
        assert_eq!(web[1].peer.1, 49153);
        assert!(queues.take_dropped(80).is_empty());
        assert_eq!(queues.take_dropped(25).len(), 1);
    }
}
