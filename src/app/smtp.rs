//! *A minimal SMTP greeter*: just enough of a mail server for `SMTP_CHECK` to talk to.
//!
//! SMTP (RFC 5321) is a line-based dialogue. The server speaks first with a greeting
//! (`220 name ESMTP`); the client says `HELO` and gets `250`; `QUIT` gets `221` and the server
//! closes. Anything else gets `502 command not implemented`: no mail is ever accepted.
//!
//! Service faults apply as to the web server: `Stopped` refuses connections, `Hung` accepts but
//! never greets, `Errors(n)` greets with `421` (service not available).
//!
//! # Further reading
//! - RFC 5321 §3.1, §4.2.

use smoltcp::iface::SocketHandle;
use smoltcp::socket::tcp;

use crate::node::{App, AppCtx, ServiceMode};
use crate::sim::SimTime;

/// Connections served at once.
const SLOTS: usize = 4;

/// One connection slot: its socket, whether greeted, and the partial command line.
struct Slot {
    /// The socket.
    handle: SocketHandle,
    /// Whether the greeting went out on this connection.
    greeted: bool,
    /// Received bytes not yet a whole line.
    line: Vec<u8>,
}

/// The greeter application.
pub struct SmtpGreeter {
    /// Name in the greeting.
    name: String,
    /// TCP port (25).
    port: u16,
    /// Connection slots, created on the first poll.
    slots: Vec<Slot>,
    /// Normal, or a service fault.
    mode: ServiceMode,
}

impl SmtpGreeter {
    /// A greeter called `name` on `port`.
    pub fn new(name: String, port: u16) -> SmtpGreeter {
        SmtpGreeter {
            name,
            port,
            slots: Vec::new(),
            mode: ServiceMode::Normal,
        }
    }
}

impl SmtpGreeter {
    /// The slots' sockets, listening, created on the first poll.
    fn open_slots(&mut self, cx: &mut AppCtx<'_>) {
        for _ in 0..SLOTS {
            let handle = cx.sockets.add(tcp::Socket::new(
                tcp::SocketBuffer::new(vec![0; 1024]),
                tcp::SocketBuffer::new(vec![0; 1024]),
            ));
            self.slots.push(Slot {
                handle,
                greeted: false,
                line: Vec::new(),
            });
        }
    }

    /// The reply to one command line: `250` to `HELO`/`EHLO`, `221` to `QUIT` (and the
    /// connection closes), `502` to anything else.
    fn reply(&self, command: &[u8], socket: &mut tcp::Socket<'_>) {
        let verb = command
            .get(..4)
            .map(|v| v.to_ascii_uppercase())
            .unwrap_or_default();
        let reply = match &verb[..] {
            b"HELO" | b"EHLO" => format!("250 {}\r\n", self.name),
            b"QUIT" => format!("221 {} closing\r\n", self.name),
            _ => "502 command not implemented\r\n".to_string(),
        };
        let _ = socket.send_slice(reply.as_bytes());
        if &verb[..] == b"QUIT" {
            socket.close();
        }
    }

    /// One connection's dialogue: the greeting once, then a reply to every whole line
    /// received. True if anything was sent.
    fn converse(&self, slot: &mut Slot, socket: &mut tcp::Socket<'_>) -> bool {
        let mut acted = false;
        if !slot.greeted {
            // The server speaks first: `220`, or `421` while the service fails.
            let greeting = match self.mode {
                ServiceMode::Errors(_) => format!("421 {} Service not available\r\n", self.name),
                _ => format!("220 {} ESMTP netlab\r\n", self.name),
            };
            let _ = socket.send_slice(greeting.as_bytes());
            slot.greeted = true;
            acted = true;
        }
        while socket.can_recv() {
            let _ = socket.recv(|bytes| {
                slot.line.extend_from_slice(bytes);
                (bytes.len(), ())
            });
        }
        while let Some(end) = slot.line.windows(2).position(|w| w == b"\r\n") {
            let command: Vec<u8> = slot.line.drain(..end + 2).collect();
            self.reply(&command, socket);
            acted = true;
        }
        acted
    }
}

impl App for SmtpGreeter {
    fn poll(&mut self, cx: &mut AppCtx<'_>) -> bool {
        if self.slots.is_empty() {
            self.open_slots(cx);
        }
        let mut acted = false;
        // The slots leave the greeter during the loop, so that a slot and the greeter's
        // name and mode can be lent to `converse` together.
        let mut slots = std::mem::take(&mut self.slots);
        for slot in &mut slots {
            let socket = cx.sockets.get_mut::<tcp::Socket>(slot.handle);
            if self.mode == ServiceMode::Stopped {
                // A stopped service resets its connections and listens no more.
                if socket.is_open() {
                    socket.abort();
                    acted = true;
                }
                continue;
            }
            if !socket.is_open() {
                socket
                    .listen(self.port)
                    .expect("a closed socket can always listen on a non-zero port");
                slot.greeted = false;
                slot.line.clear();
                continue;
            }
            // A hung service accepts connections but never speaks.
            if socket.state() != tcp::State::Established || self.mode == ServiceMode::Hung {
                continue;
            }
            acted |= self.converse(slot, socket);
        }
        self.slots = slots;
        acted
    }

    fn next_timer(&self) -> Option<SimTime> {
        None
    }

    fn crash(&mut self) {
        self.slots.clear();
    }

    fn set_service_mode(&mut self, mode: ServiceMode) -> bool {
        self.mode = mode;
        true
    }
}
