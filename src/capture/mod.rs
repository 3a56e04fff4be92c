//! *Packet capture*: what a tap on each wire would see, in files Wireshark opens cleanly.
//!
//! The capture is taken where a network tap would sit: at the switch for a switched segment
//! (every frame that reaches it, once), and at the receiving end for a point-to-point link.
//! A run writes, for the captured wires:
//!
//! - `capture-<segment>.pcap`: one libpcap file per wire, what `tcpdump -i` on that wire
//!   would write. A frame a router forwards appears once in each wire's file, with that hop's
//!   MAC addresses and TTL, so Wireshark's TCP analysis of one file sees each segment once.
//! - `capture.pcapng`: every captured frame of every wire in time order, each on an interface
//!   named after its wire (`frame.interface_name == "front"`), the SYN a balancer scheduled
//!   with the decision as a packet comment (`frame.comment`; see [`comment`]).
//!
//! Timestamps are virtual time, so the capture of a run is deterministic, byte for byte.
//! Frames go to a [`Sink`] as they are seen: into memory (tests, library users), or straight
//! into files that `netlab run` opened in its output staging folder, so a long run's memory
//! does not grow with its capture. A [`Filter`] and a snap length choose and cut the frames.
//!
//! # Simplifications
//! - A frame is captured when it reaches the switch, before the switch's own queues: a frame
//!   dropped by a full output queue is in the capture (as a mirror port on the ingress port
//!   would show it).
//! - One filter and snap length for all captured wires.

pub mod comment;
pub mod filter;
pub mod format;

use std::io::{self, BufWriter, Write};

pub use comment::{Narrator, OwnedNames};
pub use filter::{FILTER_HELP, Filter, FilterError};

use crate::scenario::Scenario;
use crate::sim::SimTime;
use crate::trace::Decisions;

/// The snap length when none is given: whole frames (as tcpdump's default).
pub const DEFAULT_SNAPLEN: u32 = 262_144;
/// The smallest snap length: an Ethernet and IPv4 header.
pub const MIN_SNAPLEN: u32 = 34;
/// The most wires one run captures into files of their own (each is an open file).
pub const MAX_CAPTURED_WIRES: usize = 200;

/// Where captured frames go.
pub enum Sink {
    /// Kept in memory and returned with the run ([`CaptureOutput::files`]).
    Memory,
    /// Written as the run goes, into these files, by name (as [`Plan::file_names`] lists them).
    Files(Vec<(String, Box<dyn Write + Send>)>),
}

/// What the command line asks of the capture, on top of the scenario's `capture`.
pub struct CaptureOptions {
    /// `--pcap`: every wire, whatever the scenario says.
    pub all: bool,
    /// `--pcap-filter`, in place of the scenario's filter.
    pub filter: Option<Filter>,
    /// `--snaplen`, in place of the scenario's.
    pub snaplen: Option<u32>,
    /// Where the files go.
    pub sink: Sink,
}

impl CaptureOptions {
    /// In memory; `all` as `--pcap`.
    pub fn memory(all: bool) -> CaptureOptions {
        CaptureOptions {
            all,
            filter: None,
            snaplen: None,
            sink: Sink::Memory,
        }
    }

    /// Whether the command line turns the capture on by itself (a filter or snap length
    /// alone asks for a capture).
    fn asks(&self) -> bool {
        self.all || self.filter.is_some() || self.snaplen.is_some()
    }
}

/// Which wires are captured, how, and into which files.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Captured segment indices, in the order segments and links are defined.
    pub segments: Vec<usize>,
    /// Their names, same order.
    pub names: Vec<String>,
    /// The filter, if any.
    pub filter: Option<Filter>,
    /// The snap length.
    pub snaplen: u32,
}

impl Plan {
    /// What `scenario` and `options` ask for, or `None` when the capture is off.
    pub fn new(scenario: &Scenario, options: &CaptureOptions) -> Option<Plan> {
        if !(scenario.capture_enabled || options.asks()) {
            return None;
        }
        let mut segments: Vec<usize> = match (&scenario.capture_segments, options.all) {
            (Some(list), false) => list.clone(),
            _ => (0..scenario.segments.len()).collect(),
        };
        segments.sort_unstable();
        segments.dedup();
        Some(Plan {
            names: segments
                .iter()
                .map(|&i| scenario.segments[i].name.clone())
                .collect(),
            segments,
            filter: options
                .filter
                .clone()
                .or_else(|| scenario.capture_filter.clone()),
            snaplen: options
                .snaplen
                .or(scenario.capture_snaplen)
                .unwrap_or(DEFAULT_SNAPLEN),
        })
    }

    /// The files the capture writes: one per wire, then the merged `capture.pcapng`.
    pub fn file_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .names
            .iter()
            .map(|name| format!("capture-{name}.pcap"))
            .collect();
        names.push(MERGED.to_string());
        names
    }
}

/// The merged file's name.
pub const MERGED: &str = "capture.pcapng";

/// One output file, in memory or streaming to disk.
enum Out {
    Memory(String, Vec<u8>),
    File(String, BufWriter<Box<dyn Write + Send>>),
}

impl Out {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Out::Memory(_, buffer) => {
                buffer.extend_from_slice(bytes);
                Ok(())
            }
            Out::File(_, file) => file.write_all(bytes),
        }
    }
}

/// A capture being recorded.
pub struct Capture {
    /// By segment index: the wire's file and its pcapng interface number, if captured.
    wires: Vec<Option<(Out, u32)>>,
    /// `capture.pcapng`.
    merged: Out,
    filter: Option<Filter>,
    snaplen: usize,
    narrator: Narrator,
    /// Frames recorded.
    frames: u64,
    /// The first write error; nothing more is written after it.
    error: Option<io::Error>,
    /// Scratch space for one record.
    scratch: Vec<u8>,
}

/// What a finished capture leaves.
pub struct CaptureOutput {
    /// With [`Sink::Memory`], the files as `(name, bytes)`, in [`Plan::file_names`] order.
    pub files: Vec<(String, Vec<u8>)>,
    /// Frames recorded (on all wires).
    pub frames: u64,
    /// A write error, if one happened (the files are then incomplete).
    pub error: Option<io::Error>,
}

impl Capture {
    /// Starts the capture `plan` describes into `sink`, with the headers written.
    /// `segment_count` is the number of segments of the world. Decision records read for
    /// comments are dropped unless [`Capture::keep_decisions`] is called.
    pub fn new(plan: &Plan, sink: Sink, segment_count: usize, names: OwnedNames) -> Capture {
        let file_names = plan.file_names();
        let mut outs: Vec<Out> = match sink {
            Sink::Memory => file_names
                .into_iter()
                .map(|name| Out::Memory(name, Vec::with_capacity(1 << 12)))
                .collect(),
            Sink::Files(files) => files
                .into_iter()
                .map(|(name, file)| Out::File(name, BufWriter::with_capacity(1 << 16, file)))
                .collect(),
        };
        let merged = outs.pop().unwrap_or(Out::Memory(MERGED.into(), Vec::new()));
        let mut capture = Capture {
            wires: (0..segment_count).map(|_| None).collect(),
            merged,
            filter: plan.filter.clone(),
            snaplen: plan.snaplen as usize,
            narrator: Narrator::new(names, false),
            frames: 0,
            error: None,
            scratch: Vec::with_capacity(2048),
        };
        let mut header = Vec::new();
        format::pcapng_section(&mut header);
        for (iface, ((&segment, name), out)) in
            plan.segments.iter().zip(&plan.names).zip(outs).enumerate()
        {
            let description = format!("netlab wire {name}");
            format::pcapng_interface(&mut header, name, &description, plan.snaplen);
            capture.wires[segment] = Some((out, iface as u32));
        }
        let pcap_header = format::pcap_header(plan.snaplen);
        let mut result = capture.merged.write(&header);
        for (out, _) in capture.wires.iter_mut().flatten() {
            result = result.and_then(|()| out.write(&pcap_header));
        }
        capture.error = result.err();
        capture
    }

    /// From now on the decision records are kept (`netlab explain` asked for them).
    pub fn keep_decisions(&mut self) {
        self.narrator.keep_records();
    }

    /// Records `frame` as seen on `segment` at `at`. Calls must come in time order.
    /// `decisions` are read for packet comments (and dropped if nothing else keeps them).
    pub fn record(&mut self, segment: usize, at: SimTime, frame: &[u8], decisions: &mut Decisions) {
        self.narrator.absorb(decisions);
        if self.error.is_some() {
            return;
        }
        let Some(Some((out, iface))) = self.wires.get_mut(segment) else {
            return;
        };
        if self.filter.as_ref().is_some_and(|f| !f.matches(frame)) {
            return;
        }
        let comment = self.narrator.comment_for(at, frame);
        let stored = &frame[..frame.len().min(self.snaplen)];
        self.scratch.clear();
        format::pcap_record(&mut self.scratch, at, stored, frame.len());
        let mut result = out.write(&self.scratch);
        self.scratch.clear();
        format::pcapng_packet(
            &mut self.scratch,
            *iface,
            at,
            stored,
            frame.len(),
            comment.as_deref(),
        );
        result = result.and_then(|()| self.merged.write(&self.scratch));
        self.error = result.err();
        self.frames += 1;
    }

    /// Number of frames recorded.
    pub fn frame_count(&self) -> u64 {
        self.frames
    }

    /// Flushes the files; returns the in-memory ones.
    pub fn finish(self) -> CaptureOutput {
        let mut files = Vec::new();
        let mut error = self.error;
        let outs = self
            .wires
            .into_iter()
            .flatten()
            .map(|(out, iface)| (iface, out));
        let mut outs: Vec<(u32, Out)> = outs.collect();
        outs.sort_by_key(|(iface, _)| *iface);
        outs.push((u32::MAX, self.merged));
        for (_, out) in outs {
            match out {
                Out::Memory(name, bytes) => files.push((name, bytes)),
                Out::File(name, mut file) => {
                    if let Err(e) = file.flush()
                        && error.is_none()
                    {
                        error = Some(io::Error::new(e.kind(), format!("{name}: {e}")));
                    }
                }
            }
        }
        CaptureOutput {
            files,
            frames: self.frames,
            error,
        }
    }
}
