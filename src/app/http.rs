//! *HTTP/1.1 messages*, the few parts the lab needs.
//!
//! A client opens a TCP connection and sends a request: a request line (`GET /path HTTP/1.1`),
//! header lines (`Host: www`), and an empty line. The server answers with a status line
//! (`HTTP/1.1 200 OK`), headers, an empty line and a body whose length `Content-Length` gives.
//! With `Connection: close` the server closes the connection after the response; with
//! `Connection: keep-alive` (when both sides want it) the connection stays open for the next
//! request, which then needs no new handshake.
//!
//! Our servers add `X-Served-By: <node name>` to every response, as many real balancer setups
//! do, so the client (and a student reading the capture) can tell which server answered.
//!
//! The parsers here are incremental: bytes arrive in TCP segments of any size, and the parser
//! is fed each piece as it comes. Each piece is searched once: a reader remembers how far it
//! looked for the empty line that ends the head, and where it found it. Lines are found by
//! looking for their `\n` byte (a one-byte search, with the `memchr` crate, several bytes a
//! step), then checking the `\r` before it.
//!
//! # Simplifications
//! - No chunked encoding, no pipelining, no request bodies.
//! - Header names are matched case-insensitively; values are not unfolded.
//!
//! # Further reading
//! - RFC 9112 (HTTP/1.1 message syntax) §2–§6.

/// The longest header block either side accepts, in bytes.
pub const MAX_HEADER_BYTES: usize = 4096;

/// Writes a GET request for `path` on `host` into `out`, asking to keep the connection open
/// afterwards (`keep_alive`) or to close it.
pub fn write_request(out: &mut Vec<u8>, host: &str, path: &str, keep_alive: bool) {
    out.clear();
    out.extend_from_slice(b"GET ");
    out.extend_from_slice(path.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    out.extend_from_slice(host.as_bytes());
    out.extend_from_slice(b"\r\nUser-Agent: netlab\r\nConnection: ");
    out.extend_from_slice(if keep_alive { b"keep-alive" } else { b"close" });
    out.extend_from_slice(b"\r\n\r\n");
}

/// Adds a `Cookie` header of `bytes` bytes in all (name, value and line end) to a request
/// head written by [`write_request`]; nothing for 0. Big cookies are what makes an ordinary
/// GET longer than one TCP segment.
pub fn add_cookie(out: &mut Vec<u8>, bytes: usize) {
    const PREFIX: &[u8] = b"Cookie: session=";
    let overhead = PREFIX.len() + 2;
    if bytes == 0 || !out.ends_with(b"\r\n\r\n") {
        return;
    }
    out.truncate(out.len() - 2);
    out.extend_from_slice(PREFIX);
    // The value is a run of letters, as an encoded session token would look.
    let value_len = bytes.saturating_sub(overhead);
    out.extend((0..value_len).map(|i| b'a' + (i % 26) as u8));
    out.extend_from_slice(b"\r\n\r\n");
}

/// Writes a response head (status line and headers) for a body of `body_len` bytes; the
/// connection stays open afterwards if `keep_alive`.
pub fn write_response_head(
    out: &mut Vec<u8>,
    status: u16,
    served_by: &str,
    body_len: u64,
    keep_alive: bool,
) {
    use std::io::Write;
    out.clear();
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Unknown",
    };
    let connection = if keep_alive { "keep-alive" } else { "close" };
    // Writing into a Vec cannot fail.
    let _ = write!(
        out,
        "HTTP/1.1 {status} {reason}\r\nServer: netlab\r\nX-Served-By: {served_by}\r\n\
         Content-Type: text/plain\r\nContent-Length: {body_len}\r\nConnection: {connection}\r\n\r\n"
    );
}

/// Rewrites a whole head (request or response, ending in the empty line) so that it has
/// exactly one `Connection` header, saying `keep-alive` or `close`, and appends `extra`
/// header lines (each ending in `\r\n`) before the empty line. A proxy does this on both
/// sides: `Connection` is a *hop-by-hop* header, about one connection, not the other.
pub fn rewrite_head(head: &[u8], keep_alive: bool, extra: &str, out: &mut Vec<u8>) {
    out.clear();
    let body = head.strip_suffix(b"\r\n\r\n").unwrap_or(head);
    for (i, line) in body.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let is_connection = line
            .iter()
            .position(|&b| b == b':')
            .is_some_and(|colon| line[..colon].eq_ignore_ascii_case(b"connection"));
        if i > 0 && is_connection {
            continue;
        }
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"Connection: ");
    out.extend_from_slice(if keep_alive { b"keep-alive" } else { b"close" });
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(extra.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Finds the end of a header block (`\r\n\r\n`); returns the index just past it.
pub fn header_end(bytes: &[u8]) -> Option<usize> {
    header_end_from(bytes, 0)
}

/// [`header_end`] for bytes whose first `searched` were searched already (without finding
/// it): only the new bytes, and the three before them, are looked at.
fn header_end_from(bytes: &[u8], searched: usize) -> Option<usize> {
    let mut from = searched.saturating_sub(3);
    while let Some(i) = memchr::memchr(b'\n', &bytes[from..]) {
        let newline = from + i;
        if newline >= 3 && &bytes[newline - 3..newline] == b"\r\n\r" {
            return Some(newline + 1);
        }
        from = newline + 1;
    }
    None
}

/// Where a head ends in `bytes`, which follow the head bytes `before` (searched already
/// without finding its end): the number of `bytes` up to and including the empty line's `\n`.
/// The same end [`header_end_from`] finds in `before` and `bytes` joined, without joining them.
fn head_end_after(before: &[u8], bytes: &[u8]) -> Option<usize> {
    // The byte `back` places before `bytes[newline]`, looking into `before` if need be.
    let byte_before = |newline: usize, back: usize| match newline.checked_sub(back) {
        Some(i) => Some(bytes[i]),
        None => before.len().checked_sub(back - newline).map(|i| before[i]),
    };
    let mut from = 0;
    while let Some(i) = memchr::memchr(b'\n', &bytes[from..]) {
        let newline = from + i;
        if byte_before(newline, 3) == Some(b'\r')
            && byte_before(newline, 2) == Some(b'\n')
            && byte_before(newline, 1) == Some(b'\r')
        {
            return Some(newline + 1);
        }
        from = newline + 1;
    }
    None
}

/// A header line cut at its first `:` into name and value (both untrimmed): what
/// `line.split_once(':')` gives, found with a one-byte search rather than a character search.
fn split_header(line: &str) -> Option<(&str, &str)> {
    let colon = memchr::memchr(b':', line.as_bytes())?;
    // `:` is one byte in UTF-8, so both cuts are at character boundaries.
    Some((&line[..colon], &line[colon + 1..]))
}

/// The lines of `text` split at each `\r\n`: the same pieces as `text.split("\r\n")`, found
/// with a one-byte search for `\n` rather than a two-byte pattern search.
fn crlf_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        let bytes = current.as_bytes();
        let mut from = 0;
        while let Some(i) = memchr::memchr(b'\n', &bytes[from..]) {
            let newline = from + i;
            if newline > 0 && bytes[newline - 1] == b'\r' {
                // Both bytes are ASCII, so both cuts are at character boundaries.
                rest = Some(&current[newline + 1..]);
                return Some(&current[..newline - 1]);
            }
            from = newline + 1;
        }
        rest = None;
        Some(current)
    })
}

/// Reads a request head as it arrives.
#[derive(Default)]
pub struct RequestReader {
    /// Bytes received so far.
    buffer: Vec<u8>,
    /// Where the head ends in `buffer`, once found.
    end: Option<usize>,
}

/// What a [`RequestReader`] has seen so far.
#[derive(Debug, PartialEq, Eq)]
pub enum RequestProgress {
    /// More bytes are needed.
    Incomplete,
    /// A whole GET request for this path.
    Get(String),
    /// Not a request we understand (answered 400 by a real server; we close).
    Malformed,
}

impl RequestReader {
    /// The request head received so far (whole once `feed` returned `Get`).
    pub fn head(&self) -> &[u8] {
        match self.end {
            Some(end) => &self.buffer[..end],
            None => &self.buffer,
        }
    }

    /// The value of header `name` (case-insensitive) in the head, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        let head = std::str::from_utf8(self.head()).ok()?;
        crlf_lines(head).skip(1).find_map(|line| {
            let (key, value) = split_header(line)?;
            key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }

    /// Whether the request asks to keep its connection open for the next one: a
    /// `Connection: keep-alive` header, in any case (RFC 9112, section 9.3).
    pub fn asks_keep_alive(&self) -> bool {
        self.header("connection")
            .is_some_and(|value| value.eq_ignore_ascii_case("keep-alive"))
    }

    /// Forgets everything, keeping the buffer's memory.
    pub fn reset(&mut self) {
        self.buffer.clear();
        self.end = None;
    }

    /// Feeds received bytes.
    pub fn feed(&mut self, bytes: &[u8]) -> RequestProgress {
        let searched = self.buffer.len();
        self.buffer.extend_from_slice(bytes);
        if self.end.is_none() {
            self.end = header_end_from(&self.buffer, searched);
        }
        let Some(end) = self.end else {
            if self.buffer.len() > MAX_HEADER_BYTES {
                return RequestProgress::Malformed;
            }
            return RequestProgress::Incomplete;
        };
        let head = &self.buffer[..end];
        let line_end = memchr::memchr(b'\r', head).unwrap_or(head.len());
        let line = std::str::from_utf8(&head[..line_end]).unwrap_or("");
        let mut parts = line.split(' ');
        match (parts.next(), parts.next(), parts.next()) {
            (Some("GET"), Some(path), Some(version)) if version.starts_with("HTTP/1.") => {
                RequestProgress::Get(path.to_string())
            }
            _ => RequestProgress::Malformed,
        }
    }
}

/// Reads a response as it arrives: the head, then `Content-Length` bytes of body.
#[derive(Default)]
pub struct ResponseReader {
    /// Head bytes received so far (the body is counted, not kept).
    head: Vec<u8>,
    /// The parsed head, once complete.
    parsed: Option<ResponseHead>,
    /// Body bytes received.
    body_received: u64,
}

/// The parts of a response head the client records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseHead {
    /// The status code.
    pub status: u16,
    /// `Content-Length`, if given.
    pub content_length: Option<u64>,
    /// The value of `X-Served-By`, if given.
    pub served_by: Option<String>,
    /// Whether the server will keep the connection open (`Connection: keep-alive`).
    pub keep_alive: bool,
}

/// What a [`ResponseReader`] has seen so far.
#[derive(Debug, PartialEq, Eq)]
pub enum ResponseProgress {
    /// More bytes are needed.
    Incomplete,
    /// The whole response has arrived.
    Complete,
    /// The bytes are not an HTTP response.
    Malformed,
}

impl ResponseReader {
    /// Forgets everything, keeping the buffer's memory.
    pub fn reset(&mut self) {
        self.head.clear();
        self.parsed = None;
        self.body_received = 0;
    }

    /// The parsed head, once it has arrived.
    pub fn head(&self) -> Option<&ResponseHead> {
        self.parsed.as_ref()
    }

    /// Feeds received bytes.
    pub fn feed(&mut self, bytes: &[u8]) -> ResponseProgress {
        if self.parsed.is_none() {
            // Only the head is kept: the body that came with its end is counted, not copied.
            let Some(end) = head_end_after(&self.head, bytes) else {
                self.head.extend_from_slice(bytes);
                if self.head.len() > MAX_HEADER_BYTES {
                    return ResponseProgress::Malformed;
                }
                return ResponseProgress::Incomplete;
            };
            self.head.extend_from_slice(&bytes[..end]);
            let Some(head) = parse_response_head(&self.head) else {
                return ResponseProgress::Malformed;
            };
            self.body_received = (bytes.len() - end) as u64;
            self.parsed = Some(head);
        } else {
            self.body_received += bytes.len() as u64;
        }
        match self.parsed.as_ref().and_then(|h| h.content_length) {
            Some(length) if self.body_received >= length => ResponseProgress::Complete,
            _ => ResponseProgress::Incomplete,
        }
    }

    /// The peer closed the connection: without `Content-Length`, that ends the body.
    pub fn finish_at_close(&self) -> ResponseProgress {
        match &self.parsed {
            Some(head) if head.content_length.is_none() => ResponseProgress::Complete,
            _ => ResponseProgress::Incomplete,
        }
    }
}

/// Parses a status line and the headers we care about.
/// Parses a whole response head (status line and headers, ending in the empty line).
pub fn parse_response_head(head: &[u8]) -> Option<ResponseHead> {
    let text = std::str::from_utf8(head).ok()?;
    let mut lines = crlf_lines(text);
    let status_line = lines.next()?;
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next()?;
    if !version.starts_with("HTTP/1.") {
        return None;
    }
    let status: u16 = parts.next()?.parse().ok()?;
    let mut content_length = None;
    let mut served_by = None;
    let mut keep_alive = false;
    for line in lines {
        let Some((name, value)) = split_header(line) else {
            continue;
        };
        if name.eq_ignore_ascii_case("content-length") {
            content_length = value.trim().parse().ok();
        } else if name.eq_ignore_ascii_case("x-served-by") {
            served_by = Some(value.trim().to_string());
        } else if name.eq_ignore_ascii_case("connection") {
            keep_alive = value.trim().eq_ignore_ascii_case("keep-alive");
        }
    }
    Some(ResponseHead {
        status,
        content_length,
        served_by,
        keep_alive,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_header_of_the_asked_size_goes_before_the_empty_line() {
        let mut plain = Vec::new();
        write_request(&mut plain, "www", "/", false);
        let mut request = plain.clone();
        add_cookie(&mut request, 2048);
        assert_eq!(request.len(), plain.len() + 2048);
        assert!(request.ends_with(b"\r\n\r\n"));
        let text = String::from_utf8(request).unwrap();
        assert!(text.contains("\r\nCookie: session=abc"), "{text}");
        let mut unchanged = plain.clone();
        add_cookie(&mut unchanged, 0);
        assert_eq!(unchanged, plain);
    }

    #[test]
    fn a_request_split_across_segments_is_read_whole() {
        let mut request = Vec::new();
        write_request(&mut request, "www", "/index.html", false);
        let mut reader = RequestReader::default();
        let (a, b) = request.split_at(10);
        assert_eq!(reader.feed(a), RequestProgress::Incomplete);
        assert_eq!(reader.feed(b), RequestProgress::Get("/index.html".into()));
    }

    #[test]
    fn headers_can_be_read_back() {
        let mut request = Vec::new();
        write_request(&mut request, "www.example", "/api/x", false);
        let mut reader = RequestReader::default();
        reader.feed(&request);
        assert_eq!(reader.header("host"), Some("www.example"));
        assert_eq!(reader.header("X-Missing"), None);
        assert!(reader.head().ends_with(b"\r\n\r\n"));
    }

    #[test]
    fn lines_split_as_str_split_does() {
        for text in [
            "",
            "a",
            "\r\n",
            "a\r\nb\r\n\r\n",
            "lone\nnewline\r\nand\rreturn\r\r\n\n\r\n",
            "\n\r\n\r",
        ] {
            let ours: Vec<&str> = crlf_lines(text).collect();
            let std: Vec<&str> = text.split("\r\n").collect();
            assert_eq!(ours, std, "{text:?}");
        }
    }

    #[test]
    fn the_end_of_a_head_is_found_in_any_cut() {
        let head = b"GET / HTTP/1.1\r\nHost: www\r\n\r\nbody";
        let end = Some(head.len() - 4);
        assert_eq!(header_end(head), end);
        assert_eq!(header_end(b"\r\n\n\r\n"), None);
        for cut in 0..head.len() {
            // The first `cut` bytes were searched already when the rest arrives.
            let found = header_end_from(&head[..cut], 0);
            let expected = if cut >= head.len() - 4 { end } else { None };
            assert_eq!(found, expected, "first {cut} bytes");
            if found.is_none() {
                assert_eq!(header_end_from(head, cut), end, "after {cut} bytes");
            }
        }
        let mut reader = RequestReader::default();
        for byte in head.chunks(1) {
            reader.feed(byte);
        }
        assert_eq!(reader.head(), &head[..head.len() - 4]);
    }

    #[test]
    fn garbage_is_not_a_request() {
        let mut reader = RequestReader::default();
        assert_eq!(reader.feed(b"HELLO\r\n\r\n"), RequestProgress::Malformed);
    }

    #[test]
    fn a_head_ends_where_header_end_finds_it_whatever_the_cut() {
        let stream = b"HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody\r\n\r\n";
        let end = header_end_from(stream, 0).expect("the stream holds a head");
        // Every cut before the end (as `feed` calls it: the end not yet in `before`).
        for cut in 0..end {
            let (before, bytes) = stream.split_at(cut);
            assert_eq!(
                head_end_after(before, bytes),
                Some(end - cut),
                "cut at {cut}"
            );
        }
        assert_eq!(head_end_after(b"", b"HTTP/1.1 200 OK\r\n\r"), None);
    }

    #[test]
    fn a_response_read_in_pieces_keeps_its_head_and_counts_its_body() {
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\nX-Served-By: web2\r\n\r\n";
        let whole = [&head[..], b"abcdef"].concat();
        for cut in 1..whole.len() {
            let mut reader = ResponseReader::default();
            let first = reader.feed(&whole[..cut]);
            let second = reader.feed(&whole[cut..]);
            assert_eq!(
                (first, second),
                (ResponseProgress::Incomplete, ResponseProgress::Complete)
            );
            assert_eq!(reader.head, head, "cut at {cut}");
            assert_eq!(reader.body_received, 6);
            assert_eq!(
                reader.head().and_then(|h| h.served_by.as_deref()),
                Some("web2")
            );
        }
    }

    #[test]
    fn a_response_is_complete_when_the_body_has_arrived() {
        let mut head = Vec::new();
        write_response_head(&mut head, 200, "web1", 10, false);
        let mut reader = ResponseReader::default();
        head.extend_from_slice(b"01234");
        assert_eq!(reader.feed(&head), ResponseProgress::Incomplete);
        assert_eq!(reader.head().unwrap().status, 200);
        assert_eq!(reader.head().unwrap().served_by.as_deref(), Some("web1"));
        assert_eq!(reader.feed(b"56789"), ResponseProgress::Complete);
    }

    #[test]
    fn keep_alive_is_asked_for_and_granted_in_the_connection_header() {
        let mut request = Vec::new();
        write_request(&mut request, "www", "/", true);
        let mut reader = RequestReader::default();
        reader.feed(&request);
        assert_eq!(reader.header("connection"), Some("keep-alive"));
        assert!(reader.asks_keep_alive());
        let mut closing = Vec::new();
        write_request(&mut closing, "www", "/", false);
        let mut reader = RequestReader::default();
        reader.feed(&closing);
        assert!(!reader.asks_keep_alive());
        let mut head = Vec::new();
        write_response_head(&mut head, 200, "web1", 0, true);
        let mut response = ResponseReader::default();
        assert_eq!(response.feed(&head), ResponseProgress::Complete);
        assert!(response.head().unwrap().keep_alive);
        write_response_head(&mut head, 200, "web1", 0, false);
        response.reset();
        response.feed(&head);
        assert!(!response.head().unwrap().keep_alive);
    }

    #[test]
    fn a_proxy_rewrites_the_hop_by_hop_connection_header() {
        let mut request = Vec::new();
        write_request(&mut request, "www", "/a", true);
        let mut rewritten = Vec::new();
        rewrite_head(
            &request,
            false,
            "X-Forwarded-For: 10.0.0.7\r\n",
            &mut rewritten,
        );
        let mut reader = RequestReader::default();
        assert_eq!(reader.feed(&rewritten), RequestProgress::Get("/a".into()));
        assert_eq!(reader.header("connection"), Some("close"));
        assert_eq!(reader.header("x-forwarded-for"), Some("10.0.0.7"));
        assert_eq!(reader.header("host"), Some("www"));
        let text = String::from_utf8(rewritten).unwrap();
        assert_eq!(text.matches("Connection").count(), 1, "{text}");
    }

    #[test]
    fn error_statuses_are_parsed() {
        let mut head = Vec::new();
        write_response_head(&mut head, 404, "web2", 0, false);
        let mut reader = ResponseReader::default();
        assert_eq!(reader.feed(&head), ResponseProgress::Complete);
        assert_eq!(reader.head().unwrap().status, 404);
    }

    #[test]
    fn a_header_line_is_cut_where_split_once_cuts_it() {
        for line in [
            "Host: www",
            "X-Served-By:web1",
            "no colon",
            ":",
            "Café: ünïcode: yes",
            "",
        ] {
            assert_eq!(split_header(line), line.split_once(':'), "{line:?}");
        }
    }
}
