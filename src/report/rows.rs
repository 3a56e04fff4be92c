//! *requests.csv, row by row*: the file written while the run goes.
//!
//! The trace's request log (`trace::requests`) releases finished requests in the file's
//! order, and hands each one to [`RequestRows::write`] as it goes. In `netlab run` the rows
//! go straight into the file in the output's staging folder, so the file's text is never
//! held in memory; elsewhere (tests, `compare`, the browser) they go into memory and
//! [`RequestRows::finish`] gives the text back. Both write the same bytes.
//!
//! **A row without `format!`.** A run writes one row per request, so the row is built by
//! hand into one reused buffer:
//! - the names (client, server) are quoted by the `csv` crate's rules (RFC 4180: only when
//!   they hold a comma, a quote or a line break) once, when the writer is made, not per row;
//! - the numbers are written by `itoa`, without `format!`. The times are whole nanoseconds, and the file
//!   shows whole microseconds (`start_s` with 6 decimals, `latency_ms` with 3), so a time is
//!   rounded to the microsecond in integers. That is what `format!("{:.6}", secs_f64)` prints,
//!   except when the nanoseconds end in exactly 500 (a tie, which the float's binary error
//!   decides either way): those few go through `format!` as before (see [`push_micros`]).

use std::io::{self, Write};

use super::metrics::latency_ms;
use crate::trace::RequestRecord;

/// The first line of the file.
const HEADER: &[u8] = b"id,client,start_s,end_s,latency_ms,outcome,server,status\n";

/// Where the rows go.
enum Target {
    /// Into memory, for [`RequestRows::finish`] to give back.
    Memory(Vec<u8>),
    /// Into a file (or any writer) as they come.
    Stream(Box<dyn Write + Send>),
}

impl Write for Target {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        match self {
            Target::Memory(v) => v.write(bytes),
            Target::Stream(w) => w.write(bytes),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Target::Memory(_) => Ok(()),
            Target::Stream(w) => w.flush(),
        }
    }
}

/// The writer of `requests.csv`: the header, then one row per request handed over.
pub struct RequestRows {
    /// Where the text goes, through a buffer.
    out: io::BufWriter<Target>,
    /// Node names by node index, each as a CSV field (quoted if it must be).
    node_fields: Vec<Vec<u8>>,
    /// Web server names by server index, each as a CSV field.
    server_fields: Vec<Vec<u8>>,
    /// The row being built (its memory is kept from row to row).
    line: Vec<u8>,
    /// The first write error; nothing more is written after it.
    error: Option<io::Error>,
}

impl std::fmt::Debug for RequestRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestRows")
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

/// What [`RequestRows::finish`] gives back.
pub enum RowsDone {
    /// The whole file, written into memory.
    Text(String),
    /// The rows went to their writer, completely.
    Streamed,
}

impl RequestRows {
    /// Rows kept in memory.
    pub fn in_memory(node_names: &[String], server_names: &[String]) -> RequestRows {
        RequestRows::new(Target::Memory(Vec::new()), node_names, server_names)
    }

    /// Rows written to `out` as they come (through an 8 KiB buffer).
    pub fn streaming(
        out: Box<dyn Write + Send>,
        node_names: &[String],
        server_names: &[String],
    ) -> RequestRows {
        RequestRows::new(Target::Stream(out), node_names, server_names)
    }

    /// Starts the file with its header.
    fn new(target: Target, node_names: &[String], server_names: &[String]) -> RequestRows {
        let fields = |names: &[String]| names.iter().map(|n| csv_field(n)).collect();
        let mut rows = RequestRows {
            out: io::BufWriter::new(target),
            node_fields: fields(node_names),
            server_fields: fields(server_names),
            line: Vec::with_capacity(128),
            error: None,
        };
        rows.put(HEADER);
        rows
    }

    /// Writes request `id` (its position in the file, from 0).
    pub fn write(&mut self, id: u64, r: &RequestRecord) {
        if self.error.is_some() {
            return;
        }
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        push_uint(&mut line, id, 1);
        line.push(b',');
        line.extend_from_slice(&self.node_fields[r.client_node]);
        line.push(b',');
        push_micros(&mut line, r.start.as_nanos(), 6, r.start.as_secs_f64());
        line.push(b',');
        push_micros(&mut line, r.end.as_nanos(), 6, r.end.as_secs_f64());
        line.push(b',');
        push_micros(&mut line, (r.end - r.start).as_nanos(), 3, latency_ms(r));
        line.push(b',');
        line.extend_from_slice(r.outcome.as_str().as_bytes());
        line.push(b',');
        if let Some(server) = r.server {
            line.extend_from_slice(&self.server_fields[server]);
        }
        line.push(b',');
        if let Some(status) = r.status {
            push_uint(&mut line, status.into(), 1);
        }
        line.push(b'\n');
        self.put(&line);
        self.line = line;
    }

    /// Writes bytes, keeping the first error.
    fn put(&mut self, bytes: &[u8]) {
        if let Err(e) = self.out.write_all(bytes) {
            self.error = Some(e);
        }
    }

    /// Flushes the rows: the text when they were kept in memory, or the first write error.
    pub fn finish(mut self) -> io::Result<RowsDone> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        match self.out.into_inner().map_err(|e| e.into_error())? {
            Target::Memory(bytes) => Ok(RowsDone::Text(
                String::from_utf8(bytes).expect("rows built from UTF-8 strings are UTF-8"),
            )),
            Target::Stream(mut out) => {
                out.flush()?;
                Ok(RowsDone::Streamed)
            }
        }
    }
}

/// `text` as one CSV field, quoted (with its quotes doubled) only when it must be, by the
/// `csv` crate's own rules.
fn csv_field(text: &str) -> Vec<u8> {
    if text.is_empty() {
        // Alone in a record it would be `""`; among others it is nothing.
        return Vec::new();
    }
    // A record of this one field, without its line end (the closing quote, if any, is
    // written with the record's end).
    let mut writer = csv::Writer::from_writer(Vec::new());
    // Writing into memory cannot fail.
    let _ = writer.write_record([text]);
    let mut field = writer.into_inner().unwrap_or_default();
    field.pop();
    field
}

/// Appends `value` in decimal, with leading zeros up to `width` digits. The digits come from
/// `itoa`, the integer formatter `serde_json` uses.
fn push_uint(out: &mut Vec<u8>, value: u64, width: usize) {
    let mut buffer = itoa::Buffer::new();
    let digits = buffer.format(value).as_bytes();
    out.resize(out.len() + width.saturating_sub(digits.len()), b'0');
    out.extend_from_slice(digits);
}

/// Appends a time of `nanos` nanoseconds in seconds (`decimals` 6) or milliseconds
/// (`decimals` 3), rounded to the microsecond: the bytes `format!("{:.*}", decimals, float)`
/// gives, where `float` is the same time as the report computes it (`nanos as f64 / 1e9`, or
/// `/ 1e6`).
///
/// Why the integers agree with the float: the division is rounded correctly, so `float` is
/// within 2⁻⁵³ of the exact value (relatively), less than one nanosecond below 2⁵³ ns (104
/// days); a nanosecond count that does not end in exactly 500 is at least a nanosecond from
/// the rounding boundary, so both round the same way. A tie, or a longer time, is printed by
/// `format!` from `float`.
fn push_micros(out: &mut Vec<u8>, nanos: u64, decimals: u32, float: f64) {
    const EXACT_BELOW: u64 = 1 << 53;
    if nanos % 1000 == 500 || nanos >= EXACT_BELOW {
        // Writing into memory cannot fail.
        let _ = write!(out, "{:.*}", decimals as usize, float);
        return;
    }
    let micros = nanos / 1000 + u64::from(nanos % 1000 > 500);
    let scale = 10u64.pow(decimals);
    push_uint(out, micros / scale, 1);
    out.push(b'.');
    push_uint(out, micros % scale, decimals as usize);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the file showed before rows were built by hand.
    fn formatted(nanos: u64, decimals: u32) -> String {
        let float = if decimals == 6 {
            nanos as f64 / 1e9
        } else {
            nanos as f64 / 1e6
        };
        format!("{:.*}", decimals as usize, float)
    }

    fn pushed(nanos: u64, decimals: u32) -> String {
        let float = if decimals == 6 {
            nanos as f64 / 1e9
        } else {
            nanos as f64 / 1e6
        };
        let mut out = Vec::new();
        push_micros(&mut out, nanos, decimals, float);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn times_are_written_as_format_writes_them() {
        let mut edges = vec![0, 1, 499, 500, 501, 999, 1_000, 999_999_499, 999_999_501];
        edges.extend([1 << 52, (1 << 53) - 1, 1 << 53, u64::MAX]);
        // A fixed pseudo-random walk over many magnitudes (no clock, no seed file).
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            edges.push(x >> (x % 40));
        }
        for nanos in edges {
            for decimals in [3, 6] {
                assert_eq!(
                    pushed(nanos, decimals),
                    formatted(nanos, decimals),
                    "{nanos} ns, {decimals} decimals"
                );
            }
        }
    }

    #[test]
    fn whole_numbers_are_padded_only_when_asked() {
        let mut out = Vec::new();
        push_uint(&mut out, 0, 1);
        out.push(b' ');
        push_uint(&mut out, 42, 6);
        out.push(b' ');
        push_uint(&mut out, u64::MAX, 1);
        assert_eq!(out, b"0 000042 18446744073709551615");
    }

    #[test]
    fn names_are_quoted_only_when_they_must_be() {
        assert_eq!(csv_field("web1"), b"web1");
        assert_eq!(csv_field("web \"A\", rack 2"), b"\"web \"\"A\"\", rack 2\"");
        assert_eq!(csv_field("two\nlines"), b"\"two\nlines\"");
        assert_eq!(csv_field(""), b"");
    }
}
