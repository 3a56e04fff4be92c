//! *The request log*: finished requests put back in start order while the run goes, so that
//! nothing about them has to be kept until the end.
//!
//! `requests.csv` lists requests by start time (then client, then the client's own number),
//! but clients finish them in another order: a request that waits 5 s for its timeout ends
//! after thousands that started later. Keeping every record until the run ends and sorting
//! them then costs memory in proportion to the run (with the file's text, about 130 MB for a
//! million requests).
//!
//! Instead the log keeps a *reorder window*. A finished record waits in the window, sorted
//! by its key, only until no request that could come before it is still to finish. Then it
//! is *released*, once and in order: counted into the [`Tally`] the reports read, written as
//! a row of `requests.csv` when a [`RequestRows`] writer was handed over (straight to the
//! file in `netlab run`), and kept in memory as a [`RequestRecord`] if asked (all of them
//! by default, for tests and `netlab explain`; the first few for `report.html`).
//!
//! Which requests could still come before? Every client host tells the log, after each of
//! its polls, its *floor*: the earliest start any of its requests may still have (the
//! oldest request it has in progress or waiting for a name, else its next arrival). A record
//! is released when its start is before every client's floor, and before the current time
//! (so every event up to its start is already in the trace). So the window holds only the
//! records that finished while an older request was still in progress: about the longest
//! request times the request rate, a few thousand records, however long the run.
//!
//! # What still grows with the run
//! - one latency per successful request (8 bytes), so percentiles stay exact;
//! - the start and address of each failed request (16 bytes), for the failure report;
//! - counts per second of virtual time (outcomes, servers), for the over-time charts.
//!
//! # Simplifications
//! - A crashed client host is not polled, so its floor stays where it was and the window
//!   grows until it comes back (or the run ends, when everything left is released).

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use super::{EventRecord, Outcome, RequestRecord};
use crate::report::RequestRows;
use crate::sim::{SimDuration, SimTime};

/// The order of `requests.csv`: start, client node, the client's own running number.
type Key = (SimTime, usize, u64);

/// A record's place in `requests.csv`.
fn key(r: &RequestRecord) -> Key {
    (r.start, r.client_node, r.client_seq)
}

/// Finished requests, the reorder window that releases them in start order, and what was
/// counted from the released ones.
#[derive(Debug, Default)]
pub struct RequestLog {
    /// Finished records not released yet, by key.
    held: BTreeMap<Key, RequestRecord>,
    /// Each client node's floor (`None`: it starts no more requests), by node index.
    floors: Vec<Option<SimTime>>,
    /// The same floors, sorted, to find the lowest quickly.
    lowest: BTreeSet<(SimTime, usize)>,
    /// The lowest floor (the first of `lowest`), kept as it changes.
    lowest_floor: Option<SimTime>,
    /// The start of the first record held (the first key of `held`), kept as it changes.
    first_held: Option<SimTime>,
    /// Records pushed so far (released or held).
    finished: u64,
    /// What the reports need, counted from the released records.
    tally: Tally,
    /// The first released records, or all of them (see `keep`).
    kept: Vec<RequestRecord>,
    /// How many released records `kept` holds at most (`None`: all).
    keep: Option<usize>,
    /// The writer of `requests.csv`, if one was handed over.
    rows: Option<RequestRows>,
    /// The earliest successful end after each event, for the failure report.
    first_ok: FirstOk,
}

impl RequestLog {
    /// A log that keeps every record; `push` records, then [`RequestLog::finish`] releases
    /// them all (for tests and tools that make records by hand).
    pub fn from_records(records: impl IntoIterator<Item = RequestRecord>) -> RequestLog {
        let mut log = RequestLog::default();
        for record in records {
            log.push(record);
        }
        log.finish(&[]);
        log
    }

    /// Writes each released record as a row of `requests.csv` through `rows`.
    pub fn write_rows(&mut self, rows: RequestRows) {
        self.rows = Some(rows);
    }

    /// Keeps only the first `limit` released records in memory (the others are counted and
    /// written, then dropped).
    pub fn keep_first(&mut self, limit: usize) {
        self.keep = Some(limit);
    }

    /// The writer handed over with [`RequestLog::write_rows`], for the caller to finish.
    pub fn take_rows(&mut self) -> Option<RequestRows> {
        self.rows.take()
    }

    /// A finished request. It waits in the window until it can be released.
    pub fn push(&mut self, record: RequestRecord) {
        self.finished += 1;
        self.first_held = Some(
            self.first_held
                .map_or(record.start, |s| s.min(record.start)),
        );
        self.held.insert(key(&record), record);
    }

    /// Client `node` will start no request before `floor` (`None`: none at all); releases what
    /// can be released at `now`. `events` are the trace's events so far.
    ///
    /// Every client calls this after each of its polls, most often with the floor it gave
    /// last time and nothing to release: the lowest floor and the first record held are kept
    /// up to date as they change, so that such a call only compares two times.
    pub fn set_floor(
        &mut self,
        node: usize,
        floor: Option<SimTime>,
        now: SimTime,
        events: &[EventRecord],
    ) {
        if self.floors.len() <= node {
            self.floors.resize(node + 1, None);
        }
        if self.floors[node] != floor {
            self.move_floor(node, floor);
        }
        let bound = self.released_before(now);
        if self.first_held.is_none_or(|start| start >= bound) {
            return;
        }
        while let Some(entry) = self.held.first_entry() {
            if entry.key().0 >= bound {
                break;
            }
            let record = entry.remove();
            self.release(record, events);
        }
        self.first_held = self.held.first_key_value().map(|(key, _)| key.0);
    }

    /// Client `node`'s floor becomes `floor`.
    fn move_floor(&mut self, node: usize, floor: Option<SimTime>) {
        if let Some(old) = self.floors[node] {
            self.lowest.remove(&(old, node));
        }
        if let Some(new) = floor {
            self.lowest.insert((new, node));
        }
        self.floors[node] = floor;
        self.lowest_floor = self.lowest.first().map(|&(lowest, _)| lowest);
    }

    /// After [`RequestLog::set_floor`] at `now`: every request that started before this time
    /// is released (none is held, and no client can still finish one).
    pub fn released_before(&self, now: SimTime) -> SimTime {
        self.lowest_floor.map_or(now, |lowest| lowest.min(now))
    }

    /// The run is over: releases every record still held, in order. `events` are all the
    /// trace's events.
    pub fn finish(&mut self, events: &[EventRecord]) {
        while let Some((_, record)) = self.held.pop_first() {
            self.release(record, events);
        }
        self.first_held = None;
        self.floors.clear();
        self.lowest.clear();
        self.lowest_floor = None;
    }

    /// Counts, writes and perhaps keeps one record: the next row of `requests.csv`.
    fn release(&mut self, record: RequestRecord, events: &[EventRecord]) {
        let id = self.tally.issued;
        self.tally.add(&record);
        self.first_ok.add(&record, events);
        if let Some(rows) = &mut self.rows {
            rows.write(id, &record);
        }
        if self.keep.is_none_or(|limit| self.kept.len() < limit) {
            self.kept.push(record);
        }
    }

    /// Records pushed so far, released or not (the progress bar's count).
    pub fn finished(&self) -> u64 {
        self.finished
    }

    /// The released records kept in memory, in `requests.csv` order (all of them unless
    /// [`RequestLog::keep_first`] limited them).
    pub fn records(&self) -> &[RequestRecord] {
        &self.kept
    }

    /// What was counted from every released record.
    pub fn tally(&self) -> &Tally {
        &self.tally
    }

    /// Whether no request was released.
    pub fn is_empty(&self) -> bool {
        self.tally.issued == 0
    }

    /// The end of the first successful request that started at or after `from`, the time of
    /// one of the trace's events (`None` for any other time).
    pub fn first_ok_after(&self, from: SimTime) -> Option<SimTime> {
        self.first_ok.best.get(&from).copied().flatten()
    }
}

/// What the reports need from the requests, counted as they are released.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tally {
    /// Requests released (rows of `requests.csv`).
    pub issued: u64,
    /// Requests per outcome, indexed like `Outcome::ALL`.
    pub by_outcome: [u64; Outcome::ALL.len()],
    /// Responses per server index.
    pub served: Vec<u64>,
    /// Per client node.
    pub clients: BTreeMap<usize, ClientTally>,
    /// Per second of start time (second `i` is `[i s, i+1 s)`).
    pub seconds: Vec<SecondTally>,
    /// Each failed request's start and the address it asked, in start order.
    pub failed: Vec<(SimTime, Option<Ipv4Addr>)>,
}

/// One client host's requests.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClientTally {
    /// Requests released.
    pub issued: u64,
    /// Requests that ended `ok`.
    pub ok: u64,
    /// Responses per server index.
    pub served: Vec<u64>,
    /// Requests sent on a kept-alive connection.
    pub reused: u64,
    /// The latency of each `ok` request, in start order.
    pub latencies: Vec<SimDuration>,
}

/// The requests that started in one second.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SecondTally {
    /// Ended `ok`.
    pub ok: u64,
    /// Did not.
    pub failed: u64,
    /// Responses per server index.
    pub served: Vec<u64>,
}

/// Adds one to `counts[index]`, growing it as needed.
fn bump(counts: &mut Vec<u64>, index: usize) {
    if counts.len() <= index {
        counts.resize(index + 1, 0);
    }
    counts[index] += 1;
}

impl Tally {
    /// Counts one released record.
    fn add(&mut self, r: &RequestRecord) {
        let ok = r.outcome == Outcome::Ok;
        self.issued += 1;
        self.by_outcome[r.outcome as usize] += 1;
        let client = self.clients.entry(r.client_node).or_default();
        client.issued += 1;
        client.reused += u64::from(r.reused_connection);
        if ok {
            client.ok += 1;
            client.latencies.push(r.end - r.start);
        } else {
            self.failed.push((r.start, r.remote_ip));
        }
        let second = (r.start.as_nanos() / 1_000_000_000) as usize;
        if self.seconds.len() <= second {
            self.seconds.resize(second + 1, SecondTally::default());
        }
        let bin = &mut self.seconds[second];
        if ok {
            bin.ok += 1;
        } else {
            bin.failed += 1;
        }
        if let Some(server) = r.server {
            bump(&mut self.served, server);
            bump(&mut client.served, server);
            bump(&mut bin.served, server);
        }
    }

    /// Requests with outcome `outcome`.
    pub fn count(&self, outcome: Outcome) -> u64 {
        self.by_outcome[outcome as usize]
    }

    /// Every `ok` request's latency in milliseconds, sorted.
    pub fn sorted_latencies_ms(&self) -> Vec<f64> {
        let mut all: Vec<f64> = self
            .clients
            .values()
            .flat_map(|c| c.latencies.iter().map(|d| d.as_millis_f64()))
            .collect();
        // Unstable, so without a scratch copy (8 MB at a million requests), and the same
        // order: numbers equal under `total_cmp` have the same bits.
        all.sort_unstable_by(f64::total_cmp);
        all
    }
}

/// For each distinct event time, the earliest end of a successful request that started at or
/// after it. Records arrive in start order, so an answer no later than the current start is
/// final and stops being updated; only the answers still open are touched per record.
#[derive(Clone, Debug, Default)]
struct FirstOk {
    /// Events of the trace taken in so far (they are in time order).
    seen: usize,
    /// The answer per event time.
    best: BTreeMap<SimTime, Option<SimTime>>,
    /// Event times whose answer may still change.
    open: Vec<SimTime>,
}

impl FirstOk {
    /// Takes in the events up to `r`'s start, then `r` if it succeeded.
    fn add(&mut self, r: &RequestRecord, events: &[EventRecord]) {
        while let Some(event) = events.get(self.seen).filter(|e| e.at <= r.start) {
            if self.best.insert(event.at, None).is_none() {
                self.open.push(event.at);
            }
            self.seen += 1;
        }
        if r.outcome != Outcome::Ok {
            return;
        }
        for at in &self.open {
            if let Some(best) = self.best.get_mut(at) {
                *best = Some(best.map_or(r.end, |end| end.min(r.end)));
            }
        }
        // Later records start (and so end) no earlier than this one starts.
        let best = &self.best;
        self.open.retain(|at| {
            best.get(at)
                .copied()
                .flatten()
                .is_none_or(|end| end > r.start)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(
        start_ms: u64,
        end_ms: u64,
        node: usize,
        seq: u64,
        outcome: Outcome,
    ) -> RequestRecord {
        RequestRecord {
            client_node: node,
            client_seq: seq,
            start: SimTime::ZERO + SimDuration::from_millis(start_ms),
            end: SimTime::ZERO + SimDuration::from_millis(end_ms),
            outcome,
            server: None,
            status: None,
            remote_ip: None,
            reused_connection: false,
        }
    }

    fn at(ms: u64) -> SimTime {
        SimTime::ZERO + SimDuration::from_millis(ms)
    }

    #[test]
    fn records_are_released_in_start_order_once_no_earlier_one_can_come() {
        let mut log = RequestLog::default();
        log.set_floor(1, Some(at(0)), at(0), &[]);
        log.set_floor(2, Some(at(0)), at(0), &[]);
        // Client 1's slow request started at 10 ms; client 2's started at 20 ms and ends first.
        log.push(record(20, 30, 2, 0, Outcome::Ok));
        log.set_floor(2, Some(at(50)), at(30), &[]);
        assert!(
            log.records().is_empty(),
            "client 1 may still finish an older one"
        );
        log.push(record(10, 5_010, 1, 0, Outcome::Timeout));
        log.set_floor(1, Some(at(60)), at(5_010), &[]);
        let starts: Vec<SimTime> = log.records().iter().map(|r| r.start).collect();
        assert_eq!(starts, [at(10), at(20)]);
        assert_eq!(log.tally().issued, 2);
    }

    #[test]
    fn nothing_is_released_at_or_after_the_current_time() {
        let mut log = RequestLog::default();
        log.set_floor(1, Some(at(0)), at(0), &[]);
        log.push(record(5, 5, 1, 0, Outcome::Unreachable));
        log.set_floor(1, Some(at(9)), at(5), &[]);
        assert!(
            log.records().is_empty(),
            "another start at 5 ms may still come"
        );
        log.finish(&[]);
        assert_eq!(log.records().len(), 1);
    }

    #[test]
    fn the_window_stays_small_when_every_request_is_quick() {
        let mut log = RequestLog::default();
        log.keep_first(3);
        log.set_floor(1, Some(at(0)), at(0), &[]);
        for seq in 0..10_000 {
            log.push(record(seq, seq + 2, 1, seq, Outcome::Ok));
            log.set_floor(1, Some(at(seq + 1)), at(seq + 2), &[]);
            assert!(log.held.len() <= 2);
        }
        log.finish(&[]);
        assert_eq!(log.records().len(), 3);
        assert_eq!(log.tally().issued, 10_000);
    }

    #[test]
    fn the_kept_lowest_floor_and_first_record_follow_every_change() {
        let mut log = RequestLog::default();
        // A fixed pseudo-random walk of three clients (no clock, no seed file).
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let mut floors = [0u64; 3];
        for (seq, now) in (0..3_000).zip(1..) {
            let node = next(3) as usize;
            if next(2) == 0 {
                let start = floors[node] + next(5);
                log.push(record(start, now, node, seq, Outcome::Ok));
            }
            floors[node] += next(3);
            let floor = (next(50) > 0).then_some(at(floors[node]));
            if floor.is_none() {
                // It promises no request at all: one that comes anyway starts after the run.
                floors[node] = 10_000_000;
            }
            log.set_floor(node, floor, at(now), &[]);
            assert_eq!(log.lowest_floor, log.lowest.first().map(|&(f, _)| f));
            assert_eq!(log.first_held, log.held.keys().next().map(|k| k.0));
            let bound = log.lowest_floor.map_or(at(now), |f| f.min(at(now)));
            assert!(log.first_held.is_none_or(|start| start >= bound));
        }
        log.finish(&[]);
        let keys: Vec<Key> = log.records().iter().map(key).collect();
        assert!(keys.is_sorted(), "released in the file's order");
    }

    #[test]
    fn the_first_success_after_an_event_is_found() {
        let events = [EventRecord {
            at: at(100),
            target: "web1".into(),
            event: "crash".into(),
            detail: String::new(),
        }];
        let log = {
            let mut log = RequestLog::default();
            for (start, end, outcome) in [
                (90, 400, Outcome::Ok),
                (100, 300, Outcome::Refused),
                (150, 380, Outcome::Ok),
                (200, 250, Outcome::Ok),
                (300, 320, Outcome::Ok),
            ] {
                log.push(record(start, end, 1, start, outcome));
            }
            log.finish(&events);
            log
        };
        assert_eq!(log.first_ok_after(at(100)), Some(at(250)));
        assert_eq!(log.first_ok_after(at(101)), None);
    }
}
