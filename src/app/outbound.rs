//! *Outgoing connections of a server-side program*: a proxy to its servers, a cache to the
//! origins, keepalived's checkers to the real servers.
//!
//! Such a program opens many short connections of its own. Each needs an ephemeral port
//! ([`PortAllocator`]) and a smoltcp socket. A socket cannot be taken out of the host's set
//! while the connection is closing (its FIN handshake still runs), so a connection the
//! program is done with waits in a *closing* list; once its socket has fully closed, the
//! socket goes to an *idle* list for the next connection (no new buffers allocated) and its
//! port goes back to the allocator, which rests it through TIME-WAIT before reuse.
//!
//! The three programs share this bookkeeping; what they do *on* the connection is theirs.

use std::net::Ipv4Addr;

use smoltcp::iface::SocketHandle;
use smoltcp::socket::tcp;
use smoltcp::time::Duration;

use super::ports::PortAllocator;
use crate::node::AppCtx;

/// Why a connection could not be opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenError {
    /// Every ephemeral port is in use or resting.
    NoPort,
    /// smoltcp refused the connect (an address it cannot use).
    Refused,
}

/// Ports and sockets for a program's own connections.
pub struct Outbound {
    ports: PortAllocator,
    /// Connections the program is done with, still closing: (socket, port).
    closing: Vec<(SocketHandle, u16)>,
    /// Closed sockets, ready for the next connection.
    idle: Vec<SocketHandle>,
    /// Receive and send buffer size of each new socket.
    buffer_bytes: usize,
}

impl Outbound {
    /// No connection yet; sockets get `buffer_bytes` each way.
    pub fn new(buffer_bytes: usize) -> Outbound {
        Outbound {
            ports: PortAllocator::new(),
            closing: Vec::new(),
            idle: Vec::new(),
            buffer_bytes,
        }
    }

    /// Opens a connection to `remote` with smoltcp's inactivity `timeout`: an idle socket
    /// if there is one, else a new one. Returns the socket and the local port.
    pub fn open(
        &mut self,
        cx: &mut AppCtx<'_>,
        remote: (Ipv4Addr, u16),
        timeout: Option<Duration>,
    ) -> Result<(SocketHandle, u16), OpenError> {
        let port = self.ports.allocate(cx.now).ok_or(OpenError::NoPort)?;
        let bytes = self.buffer_bytes;
        let handle = self.idle.pop().unwrap_or_else(|| {
            cx.sockets.add(tcp::Socket::new(
                tcp::SocketBuffer::new(vec![0; bytes]),
                tcp::SocketBuffer::new(vec![0; bytes]),
            ))
        });
        let socket = cx.sockets.get_mut::<tcp::Socket>(handle);
        socket.set_timeout(timeout);
        if socket.connect(cx.iface.context(), remote, port).is_err() {
            self.idle.push(handle);
            self.ports.release(port, cx.now);
            return Err(OpenError::Refused);
        }
        Ok((handle, port))
    }

    /// The program is done with this connection: closes it politely (FIN) or, with `abort`,
    /// with a reset; the socket is reused once it has closed.
    pub fn finish(&mut self, cx: &mut AppCtx<'_>, handle: SocketHandle, port: u16, abort: bool) {
        let socket = cx.sockets.get_mut::<tcp::Socket>(handle);
        if abort {
            socket.abort();
        } else {
            socket.close();
        }
        self.done(handle, port);
    }

    /// The program is done with this connection and has closed or aborted it itself.
    pub fn done(&mut self, handle: SocketHandle, port: u16) {
        self.closing.push((handle, port));
    }

    /// Sockets that have finished closing become idle, their ports rest.
    pub fn recycle(&mut self, cx: &mut AppCtx<'_>) {
        let now = cx.now;
        let (idle, ports) = (&mut self.idle, &mut self.ports);
        self.closing.retain(|&(handle, port)| {
            if cx.sockets.get_mut::<tcp::Socket>(handle).is_open() {
                return true;
            }
            idle.push(handle);
            ports.release(port, now);
            false
        });
    }

    /// The host lost its sockets (a crash): forgets them. Ports keep resting: the peers may
    /// still hold their 4-tuples in TIME-WAIT.
    pub fn forget_sockets(&mut self) {
        self.closing.clear();
        self.idle.clear();
    }

    /// Forgets the sockets and the ports' rests: the program starts from the first port.
    pub fn reset(&mut self) {
        self.forget_sockets();
        self.ports = PortAllocator::new();
    }
}
