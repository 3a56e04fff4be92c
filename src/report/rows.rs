//! *requests.csv, row by row*: the file written while the run goes.
//!
//! The trace's request log (`trace::requests`) releases finished requests in the file's
//! order, and hands each one to [`RequestRows::write`] as it goes. In `netlab run` the rows
//! go straight into the file in the output's staging folder, so the file's text is never
//! held in memory; elsewhere (tests, `compare`, the browser) they go into memory and
//! [`RequestRows::finish`] gives the text back. Both write the same bytes.

use std::io::{self, Write};

use super::metrics::latency_ms;
use crate::trace::RequestRecord;

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
    /// The CSV writer (it quotes a field only when it must, RFC 4180).
    csv: csv::Writer<Target>,
    /// Node names by node index.
    node_names: Vec<String>,
    /// Web server names by server index.
    server_names: Vec<String>,
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

    /// Rows written to `out` as they come (buffered by the CSV writer).
    pub fn streaming(
        out: Box<dyn Write + Send>,
        node_names: &[String],
        server_names: &[String],
    ) -> RequestRows {
        RequestRows::new(Target::Stream(out), node_names, server_names)
    }

    /// Starts the file with its header.
    fn new(target: Target, node_names: &[String], server_names: &[String]) -> RequestRows {
        let mut rows = RequestRows {
            csv: csv::Writer::from_writer(target),
            node_names: node_names.to_vec(),
            server_names: server_names.to_vec(),
            error: None,
        };
        rows.put([
            "id",
            "client",
            "start_s",
            "end_s",
            "latency_ms",
            "outcome",
            "server",
            "status",
        ]);
        rows
    }

    /// Writes request `id` (its position in the file, from 0).
    pub fn write(&mut self, id: u64, r: &RequestRecord) {
        if self.error.is_some() {
            return;
        }
        let server = r.server.map_or("", |s| self.server_names[s].as_str());
        let status = r.status.map(|s| s.to_string()).unwrap_or_default();
        let written = self.csv.write_record([
            id.to_string().as_str(),
            &self.node_names[r.client_node],
            &format!("{:.6}", r.start.as_secs_f64()),
            &format!("{:.6}", r.end.as_secs_f64()),
            &format!("{:.3}", latency_ms(r)),
            r.outcome.as_str(),
            server,
            &status,
        ]);
        if let Err(e) = written {
            self.error = Some(io::Error::other(e));
        }
    }

    /// Writes one record, keeping the first error.
    fn put<'a>(&mut self, fields: impl IntoIterator<Item = &'a str>) {
        if let Err(e) = self.csv.write_record(fields) {
            self.error = Some(io::Error::other(e));
        }
    }

    /// Flushes the rows: the text when they were kept in memory, or the first write error.
    pub fn finish(mut self) -> io::Result<RowsDone> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        match self.csv.into_inner().map_err(|e| e.into_error())? {
            Target::Memory(bytes) => Ok(RowsDone::Text(
                String::from_utf8(bytes).expect("CSV built from UTF-8 strings is UTF-8"),
            )),
            Target::Stream(mut out) => {
                out.flush()?;
                Ok(RowsDone::Streamed)
            }
        }
    }
}
