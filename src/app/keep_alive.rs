//! *Keep-alive*: holding a TCP connection open between two HTTP requests.
//!
//! With `Connection: keep-alive` a connection outlives its response, and the next request
//! skips the handshake. Three programs here keep connections: the web server and the L7 proxy
//! (waiting for a client's next request) and the HTTP client and the proxy again (holding an
//! idle connection to reuse). They share two small rules:
//!
//! - an idle connection can carry another request only while it is open both ways and nothing
//!   unexpected is waiting in it: if the peer has closed (its FIN arrived) it is finished;
//! - a connection waiting for the next request is silent on purpose, so smoltcp's own
//!   inactivity timeout must be longer than the application's idle timeout, or smoltcp would
//!   abort it first.

use smoltcp::socket::tcp;

use crate::node::to_duration;
use crate::sim::SimDuration;

/// How much longer than the application's idle timeout smoltcp waits before it aborts.
const ABORT_MARGIN: SimDuration = SimDuration::from_secs(30);

/// Whether an idle connection can carry another request: established, the peer has not
/// closed it, and no bytes are waiting that no request asked for.
pub fn is_reusable(socket: &tcp::Socket<'_>) -> bool {
    socket.state() == tcp::State::Established && socket.may_recv() && !socket.can_recv()
}

/// Prepares `socket` to wait up to `idle` for the next request: the application closes it
/// after `idle`; smoltcp must not abort it before.
pub fn wait_for_next_request(socket: &mut tcp::Socket<'_>, idle: SimDuration) {
    socket.set_timeout(Some(to_duration(idle + ABORT_MARGIN)));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn socket() -> tcp::Socket<'static> {
        tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0; 64]),
            tcp::SocketBuffer::new(vec![0; 64]),
        )
    }

    #[test]
    fn a_connection_that_is_not_established_is_not_reusable() {
        let mut s = socket();
        assert!(!is_reusable(&s));
        s.listen(80).unwrap();
        assert!(!is_reusable(&s));
    }

    #[test]
    fn smoltcp_waits_longer_than_the_idle_timeout() {
        let mut s = socket();
        wait_for_next_request(&mut s, SimDuration::from_secs(5));
        assert_eq!(s.timeout(), Some(smoltcp::time::Duration::from_secs(35)));
    }
}
