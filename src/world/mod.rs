//! *The world*: every node, every wire, and the one loop that moves time forward.
//!
//! [`World::run`] repeats one step until the workload is done:
//!
//! 1. take the earliest [`Event`] from the queue and set the clock to its time;
//! 2. hand it to its target: a frame to a node's interface, a frame to a switch, or a wake-up
//!    to a node;
//! 3. a node answers with frames to send and, perhaps, a time to be woken again; each frame is
//!    offered to the segment its interface is plugged into, which says when and where it
//!    arrives (a new event), or that it was dropped.
//!
//! The run ends when every node with a workload (clients, pingers) says it is finished, plus
//! a short [`DRAIN`] so that the last connections close. It
//! stops with a [`RunError`] if virtual time passes `max_sim_time` or the number of events
//! passes `max_events` first, so a scenario that never finishes cannot hang a student's
//! machine.
//!
//! # Invariant
//! - Nothing here reads the wall clock or iterates a hash map: the same world, built from the
//!   same scenario and seed, produces the same trace and capture, byte for byte.
//!
//! # Further reading
//! - `book/src/engine.md`, "The event loop".

mod action;
mod fault;

pub use action::{Action, ActionKind, Reaction};
pub use fault::{Fault, FaultAction};

use thiserror::Error;

use crate::capture::{Capture, CaptureOutput};
use crate::net::{Fate, Hop, PortId, Segment, SegmentKind};
use crate::node::{Node, NodeCtx, ServiceMode};
use crate::sim::{EventQueue, SimDuration, SimTime, Stream};
use crate::trace::Trace;

/// After the workload is done, events keep running this long so that connections finish
/// closing (in the capture too); nothing after it is simulated.
pub const DRAIN: SimDuration = SimDuration::from_secs(1);

/// Something that will happen at a given virtual time. This closed list is every kind of
/// happening in a run.
pub enum Event {
    /// A frame's last bit reaches interface `iface` of `node`, over segment `via`.
    Deliver {
        /// The receiving node.
        node: usize,
        /// Its interface.
        iface: usize,
        /// The segment or link the frame crossed.
        via: usize,
        /// The frame.
        frame: Vec<u8>,
    },
    /// A frame reaches the switch of `segment` through `port`.
    AtSwitch {
        /// The switched segment.
        segment: usize,
        /// The port it came in on.
        port: PortId,
        /// The frame.
        frame: Vec<u8>,
    },
    /// A node asked to be woken now.
    Wake {
        /// The node.
        node: usize,
    },
    /// A fault of the timeline is applied (or undone).
    Fault {
        /// Index into the world's faults.
        index: usize,
        /// Whether this undoes it.
        undo: bool,
    },
    /// An operator action is carried out.
    Action {
        /// Index into the world's actions.
        index: usize,
    },
}

/// Which way a frame goes through an interface, for its lane in the queue.
#[derive(Clone, Copy)]
enum Direction {
    /// Sent by the interface.
    Out = 0,
    /// Received by it.
    In = 1,
}

/// Limits that stop a runaway run.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Virtual time at which the run gives up.
    pub max_sim_time: SimTime,
    /// Number of events after which the run gives up.
    pub max_events: u64,
}

/// Why a run stopped before its workload was done.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum RunError {
    /// Virtual time passed the scenario's `max_sim_time`.
    #[error(
        "the run reached max_sim_time ({limit}) with {busy} node(s) still busy; \
         raise limits.max_sim_time or shorten the workload"
    )]
    MaxSimTime {
        /// The limit.
        limit: SimTime,
        /// Nodes whose workload was not finished.
        busy: usize,
    },
    /// The number of events passed the scenario's `max_events`.
    #[error(
        "the run processed max_events ({limit}) events by virtual time {at} with {busy} \
         node(s) still busy; raise limits.max_events or shorten the workload"
    )]
    MaxEvents {
        /// The limit.
        limit: u64,
        /// Virtual time when it was reached.
        at: SimTime,
        /// Nodes whose workload was not finished.
        busy: usize,
    },
    /// The watcher stopped the run (the user pressed Ctrl-C).
    #[error("interrupted at virtual time {at}")]
    Interrupted {
        /// Virtual time when it stopped.
        at: SimTime,
    },
}

/// How far a run has come, as a [`Watcher`] sees it.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// Virtual time reached.
    pub now: SimTime,
    /// Events processed.
    pub events: u64,
    /// Requests finished.
    pub requests: usize,
}

/// Called every [`WATCH_EVERY`] events (a progress bar, Ctrl-C); `false` stops the run with
/// [`RunError::Interrupted`]. It sees the run and cannot change it.
pub type Watcher = Box<dyn FnMut(&Progress) -> bool>;

/// How often the watcher is called: rarely enough to cost nothing measurable.
pub const WATCH_EVERY: u64 = 4096;

/// What a finished run leaves behind.
pub struct RunOutput {
    /// Everything recorded.
    pub trace: Trace,
    /// Virtual time when the last workload finished (the drain period is not counted).
    pub end: SimTime,
    /// Events processed.
    pub events: u64,
    /// The capture files (in memory) or their write error, if capture was on.
    pub capture: Option<CaptureOutput>,
}

/// All simulated state.
pub struct World {
    /// The current virtual time.
    now: SimTime,
    /// Everything scheduled.
    queue: EventQueue<Event>,
    /// The machines, indexed by node number.
    nodes: Vec<Box<dyn Node>>,
    /// For each node and interface: the segment and port it is plugged into.
    attachments: Vec<Vec<Option<(usize, PortId)>>>,
    /// The wires.
    segments: Vec<Segment>,
    /// For each node, the earliest wake-up already in the queue (later ones are stale).
    pending_wake: Vec<Option<SimTime>>,
    /// For each node, the number of its first interface among all nodes' interfaces: the
    /// frames an interface sends and those it receives each wait in a lane of the queue
    /// (`lane`).
    first_iface: Vec<usize>,
    /// For each node, whether its workload is not finished yet (a flag per node: the loop
    /// asks after every node's turn).
    busy: Vec<bool>,
    /// How many nodes are busy.
    busy_count: usize,
    /// The capture, if on.
    capture: Option<Capture>,
    /// Everything recorded so far.
    trace: Trace,
    /// Safety limits.
    limits: Limits,
    /// Events processed so far.
    events_processed: u64,
    /// Scratch space for a node's outgoing frames, reused for every event.
    outbox: Vec<(usize, Vec<u8>)>,
    /// Emptied frame buffers, lent to each node it runs (`NodeCtx::spare_frames`).
    spare_frames: Vec<Vec<u8>>,
    /// Scratch space for a switch's deliveries, reused for every event.
    hops: Vec<Hop>,
    /// Nodes that are crashed now.
    down: Vec<bool>,
    /// The failure timeline.
    faults: Vec<Fault>,
    /// For each fault, what it replaced (a loss rate), to restore on undo.
    replaced_loss: Vec<Option<f64>>,
    /// Partitions in force: (fault index, side a, side b).
    partitions: Vec<(usize, Vec<usize>, Vec<usize>)>,
    /// Each node's IPv4 addresses.
    node_ips: Vec<Vec<std::net::Ipv4Addr>>,
    /// Operator actions: on the timeline, or waiting for an alarm.
    actions: Vec<Action>,
    /// What each monitor alarm makes the operator do.
    reactions: Vec<Reaction>,
    /// Called every [`WATCH_EVERY`] events, if set.
    watcher: Option<Watcher>,
}

impl World {
    /// An empty world.
    pub fn new(limits: Limits) -> World {
        World {
            now: SimTime::ZERO,
            queue: EventQueue::new(),
            nodes: Vec::new(),
            attachments: Vec::new(),
            segments: Vec::new(),
            pending_wake: Vec::new(),
            first_iface: Vec::new(),
            busy: Vec::new(),
            busy_count: 0,
            capture: None,
            trace: Trace::default(),
            limits,
            events_processed: 0,
            outbox: Vec::new(),
            spare_frames: Vec::new(),
            hops: Vec::new(),
            down: Vec::new(),
            faults: Vec::new(),
            replaced_loss: Vec::new(),
            partitions: Vec::new(),
            node_ips: Vec::new(),
            actions: Vec::new(),
            reactions: Vec::new(),
            watcher: None,
        }
    }

    /// Calls `watcher` every [`WATCH_EVERY`] events while the world runs.
    pub fn watch(&mut self, watcher: Watcher) {
        self.watcher = Some(watcher);
    }

    /// Adds an operator action and returns its index; one with a time goes on the timeline.
    pub fn add_action(&mut self, action: Action) -> usize {
        let index = self.actions.len();
        if let Some(at) = action.at {
            self.queue.push(at, Event::Action { index });
        }
        self.actions.push(action);
        index
    }

    /// Makes an alarm of a monitor's check page the operator (see [`Reaction`]).
    pub fn add_reaction(&mut self, reaction: Reaction) {
        self.reactions.push(reaction);
    }

    /// Unplugs every interface of `node` (a cold spare in its cupboard at the start).
    pub fn unplug(&mut self, node: usize) {
        for &(segment, port) in self.attachments[node].iter().flatten() {
            self.segments[segment].set_port_up(port, false);
        }
    }

    /// Adds a fault to the timeline.
    pub fn add_fault(&mut self, fault: Fault) {
        let index = self.faults.len();
        self.queue
            .push(fault.at, Event::Fault { index, undo: false });
        if let Some(until) = fault.until {
            self.queue.push(until, Event::Fault { index, undo: true });
        }
        self.faults.push(fault);
        self.replaced_loss.push(None);
    }

    /// Adds a wire and returns its index.
    pub fn add_segment(&mut self, segment: Segment) -> usize {
        self.segments.push(segment);
        self.segments.len() - 1
    }

    /// The index the next added node will get.
    pub fn next_node_index(&self) -> usize {
        self.nodes.len()
    }

    /// Client host `node` will start no request before `floor` (`None`: none): the trace's
    /// request log waits for it before it releases later requests (`trace::requests`).
    pub fn expect_requests(&mut self, node: usize, floor: Option<SimTime>) {
        self.trace.request_floor(node, floor, SimTime::ZERO);
    }

    /// Hands `requests.csv`'s writer to the trace, which writes each request as it is
    /// released; `keep` limits the records kept in memory (`None`: all).
    pub fn write_requests(&mut self, rows: crate::report::RequestRows, keep: Option<usize>) {
        self.trace.requests.write_rows(rows);
        if let Some(limit) = keep {
            self.trace.requests.keep_first(limit);
        }
    }

    /// Adds a node with `iface_count` interfaces; it is woken at time zero.
    pub fn add_node(&mut self, node: Box<dyn Node>, iface_count: usize) -> usize {
        let index = self.nodes.len();
        self.nodes.push(node);
        // Its interfaces are numbered after every interface of the nodes before it.
        let first = match (self.first_iface.last(), self.attachments.last()) {
            (Some(&before), Some(its)) => before + its.len(),
            _ => 0,
        };
        self.first_iface.push(first);
        self.attachments.push(vec![None; iface_count]);
        self.pending_wake.push(None);
        self.down.push(false);
        self.node_ips.push(Vec::new());
        self.schedule_wake(index, SimTime::ZERO);
        index
    }

    /// Plugs interface `iface` of `node` into `segment`; `loss` decides losses towards it.
    pub fn attach(&mut self, node: usize, iface: usize, segment: usize, loss: Stream) {
        let port = self.segments[segment].attach(node, iface, loss);
        self.attachments[node][iface] = Some((segment, port));
    }

    /// Turns the packet capture on, for the segments in `plan`; decisions are recorded too,
    /// for the capture's packet comments.
    pub fn enable_capture(&mut self, plan: &crate::capture::Plan, mut capture: Capture) {
        for &index in &plan.segments {
            self.segments[index].captured = true;
        }
        if self.trace.decisions.is_on() {
            capture.keep_decisions();
        } else {
            self.trace.decisions = crate::trace::Decisions::on();
        }
        self.capture = Some(capture);
    }

    /// Records the decisions nodes make about requests, with their inputs (see
    /// `trace::decision`). Off by default; it changes nothing a run writes.
    pub fn record_decisions(&mut self) {
        self.trace.decisions = crate::trace::Decisions::on();
        if let Some(capture) = &mut self.capture {
            capture.keep_decisions();
        }
    }

    /// Keeps the head of every frame on every wire in the trace (see `trace::FrameRecord`),
    /// whatever the capture settings.
    pub fn record_frames(&mut self) {
        self.trace.frames = Some(Vec::new());
    }

    /// [`World::record_frames`] and [`World::record_decisions`], each keeping at most `limit`
    /// records (for `report.html`, whose memory must stay bounded on long runs).
    pub fn record_bounded(&mut self, limit: usize) {
        self.trace.decisions = crate::trace::Decisions::up_to(limit);
        if let Some(capture) = &mut self.capture {
            capture.keep_decisions();
        }
        self.trace.frames = Some(Vec::new());
        self.trace.frame_limit = (limit, None);
    }

    /// Hands the bounded recording to `read` as soon as it is complete, then lets it go
    /// (`Trace::read_recording_early`); the decisions stay if the capture reads them.
    pub fn read_recording_early(&mut self, read: crate::trace::RecordingReader) {
        let capture_reads = self.capture.is_some();
        self.trace.read_recording_early(read, capture_reads);
    }

    /// The segments' names, by segment index.
    pub fn segment_names(&self) -> Vec<String> {
        self.segments.iter().map(|s| s.name.clone()).collect()
    }

    /// Runs until every workload is finished, or a limit is hit.
    pub fn run(mut self) -> Result<RunOutput, RunError> {
        // Nodes with a workload must finish; the others only serve them.
        self.busy = self
            .nodes
            .iter()
            .map(|n| n.has_pending_workload())
            .collect();
        self.busy_count = self.busy.iter().filter(|&&busy| busy).count();
        let mut finished_at: Option<SimTime> = None;
        while let Some((time, event)) = self.queue.pop() {
            // Once the workload is done, let the last packets (FINs, final ACKs) land, then stop.
            if finished_at.is_none() && self.busy_count == 0 {
                finished_at = Some(self.now);
            }
            if finished_at.is_some_and(|done| time > done + DRAIN) {
                break;
            }
            if time > self.limits.max_sim_time {
                return Err(RunError::MaxSimTime {
                    limit: self.limits.max_sim_time,
                    busy: self.busy_count,
                });
            }
            if self.events_processed >= self.limits.max_events {
                return Err(RunError::MaxEvents {
                    limit: self.limits.max_events,
                    at: self.now,
                    busy: self.busy_count,
                });
            }
            if self.events_processed.is_multiple_of(WATCH_EVERY)
                && let Some(watcher) = &mut self.watcher
                && !watcher(&Progress {
                    now: self.now,
                    events: self.events_processed,
                    requests: self.trace.requests.finished() as usize,
                })
            {
                return Err(RunError::Interrupted { at: self.now });
            }
            self.now = time;
            self.events_processed += 1;
            self.handle(event);
        }
        let end = finished_at.unwrap_or(self.now);
        let mut ignored = Vec::new();
        for (index, node) in self.nodes.iter_mut().enumerate() {
            let mut ctx = NodeCtx::new(end, index, &mut ignored, &mut self.trace);
            node.finish(&mut ctx);
        }
        self.trace.finish_requests();
        Ok(RunOutput {
            trace: self.trace,
            end,
            events: self.events_processed,
            capture: self.capture.map(Capture::finish),
        })
    }

    /// Step 2 of the loop: gives one event to its target.
    fn handle(&mut self, event: Event) {
        match event {
            Event::Deliver {
                node,
                iface,
                via,
                frame,
            } => {
                let point_to_point = self.segments[via].kind == SegmentKind::PointToPoint;
                if point_to_point {
                    self.log_frame(via, &frame);
                }
                if self.down[node] {
                    return; // A machine without power hears nothing.
                }
                if point_to_point
                    && self.segments[via].captured
                    && let Some(capture) = &mut self.capture
                {
                    capture.record(via, self.now, &frame, &mut self.trace.decisions);
                }
                self.with_node(node, |node, ctx| node.handle_frame(ctx, iface, frame));
            }
            Event::AtSwitch {
                segment,
                port,
                frame,
            } => self.switch(segment, port, frame),
            Event::Fault { index, undo } => self.apply_fault(index, undo),
            Event::Action { index } => self.apply_action(index),
            Event::Wake { node } => {
                // A wake-up that is not the one the node is waiting for is stale.
                if self.pending_wake[node] != Some(self.now) || self.down[node] {
                    return;
                }
                self.pending_wake[node] = None;
                self.with_node(node, |node, ctx| node.handle_wake(ctx));
            }
        }
    }

    /// Runs `action` on node `index`, then sends its frames and schedules its wake-up (step 3).
    fn with_node(&mut self, index: usize, action: impl FnOnce(&mut dyn Node, &mut NodeCtx<'_>)) {
        let mut outbox = std::mem::take(&mut self.outbox);
        let (wake, alarms) = {
            let mut ctx = NodeCtx::new(self.now, index, &mut outbox, &mut self.trace);
            ctx.spare_frames = std::mem::take(&mut self.spare_frames);
            action(self.nodes[index].as_mut(), &mut ctx);
            self.spare_frames = std::mem::take(&mut ctx.spare_frames);
            (ctx.requested_wake(), std::mem::take(&mut ctx.alarms))
        };
        if let Some(at) = wake {
            self.schedule_wake(index, at);
        }
        for check in alarms {
            self.page(index, check);
        }
        for (iface, frame) in outbox.drain(..) {
            self.transmit(index, iface, frame);
        }
        self.outbox = outbox;
        if self.busy.get(index) == Some(&true) && !self.nodes[index].has_pending_workload() {
            self.busy[index] = false;
            self.busy_count -= 1;
        }
    }

    /// Queues a wake-up unless an earlier one is already queued.
    fn schedule_wake(&mut self, node: usize, at: SimTime) {
        if self.pending_wake[node].is_none_or(|queued| at < queued) {
            self.pending_wake[node] = Some(at);
            self.queue.push(at, Event::Wake { node });
        }
    }

    /// A node puts a frame on the wire of interface `iface`.
    fn transmit(&mut self, node: usize, iface: usize, frame: Vec<u8>) {
        let Some((segment, port)) = self.attachments[node].get(iface).copied().flatten() else {
            // An unplugged interface: the frame goes nowhere.
            self.trace.net.frames_lost += 1;
            return;
        };
        self.trace.net.frames_sent += 1;
        let mut fate = Fate::default();
        let hop = self.segments[segment].transmit(self.now, port, frame.len(), &mut fate);
        self.count(fate);
        match hop {
            Some(Hop::ToSwitch { port, at }) => {
                self.queue.push_in_lane(
                    self.lane(node, iface, Direction::Out),
                    at,
                    Event::AtSwitch {
                        segment,
                        port,
                        frame,
                    },
                );
            }
            Some(Hop::ToNode {
                node: to,
                iface,
                at,
            }) => {
                if self.separated(node, to, &frame) {
                    self.trace.net.frames_lost += 1;
                    return;
                }
                self.queue.push_in_lane(
                    self.lane(to, iface, Direction::In),
                    at,
                    Event::Deliver {
                        node: to,
                        iface,
                        via: segment,
                        frame,
                    },
                );
            }
            None => {}
        }
    }

    /// The queue's lane for the frames interface `iface` of `node` sends (`Out`: on their way
    /// to a switch) or receives (`In`). Frames of one lane usually arrive in the order they
    /// were sent, which is what lanes are for (see `sim::queue`).
    fn lane(&self, node: usize, iface: usize, direction: Direction) -> usize {
        2 * (self.first_iface[node] + iface) + direction as usize
    }

    /// Keeps the head of `frame`, seen on `segment` now, if frames are being recorded.
    fn log_frame(&mut self, segment: usize, frame: &[u8]) {
        if let Some(frames) = &mut self.trace.frames {
            let (limit, full_at) = &mut self.trace.frame_limit;
            if *limit > 0 && frames.len() >= *limit {
                full_at.get_or_insert(self.now);
                return;
            }
            let kept = frame.len().min(crate::trace::FrameRecord::HEAD_BYTES);
            frames.push(crate::trace::FrameRecord {
                at: self.now,
                segment,
                len: frame.len(),
                head: frame[..kept].into(),
            });
        }
    }

    /// A frame reaches a switch: capture it, then forward or flood it.
    fn switch(&mut self, segment: usize, port: PortId, frame: Vec<u8>) {
        self.log_frame(segment, &frame);
        if self.segments[segment].captured
            && let Some(capture) = &mut self.capture
        {
            capture.record(segment, self.now, &frame, &mut self.trace.decisions);
        }
        let mut hops = std::mem::take(&mut self.hops);
        let mut fate = Fate::default();
        self.segments[segment].switch_forward(self.now, port, &frame, &mut hops, &mut fate);
        self.count(fate);
        // Only a partition (a fault) keeps a switch from delivering; most runs have none.
        if !self.partitions.is_empty() {
            let sender = self.segments[segment].port_node(port);
            let before = hops.len();
            hops.retain(|hop| match *hop {
                Hop::ToNode { node, .. } => !self.separated(sender, node, &frame),
                Hop::ToSwitch { .. } => true,
            });
            self.trace.net.frames_lost += (before - hops.len()) as u64;
        }
        // The last delivery takes the frame itself; earlier ones (a flood) get copies.
        let n_hops = hops.len();
        let mut frame = Some(frame);
        for (i, hop) in hops.drain(..).enumerate() {
            let Hop::ToNode { node, iface, at } = hop else {
                unreachable!("a switch delivers only to nodes");
            };
            let copy = if i + 1 == n_hops {
                frame
                    .take()
                    .expect("the frame is taken only by the last delivery")
            } else {
                frame.as_ref().expect("the frame is still here").clone()
            };
            self.queue.push_in_lane(
                self.lane(node, iface, Direction::In),
                at,
                Event::Deliver {
                    node,
                    iface,
                    via: segment,
                    frame: copy,
                },
            );
        }
        self.hops = hops;
    }

    /// Whether a partition in force keeps `frame` from going from node `a` to node `b`: the
    /// two nodes are on opposite sides, or the IPv4 packet inside is from an address of one
    /// side to an address of the other (so routers in between cannot carry it across).
    fn separated(&self, a: usize, b: usize, frame: &[u8]) -> bool {
        if self.partitions.is_empty() {
            return false;
        }
        let ips = (frame.len() >= 34 && frame[12..14] == [0x08, 0x00]).then(|| {
            let src = std::net::Ipv4Addr::new(frame[26], frame[27], frame[28], frame[29]);
            let dst = std::net::Ipv4Addr::new(frame[30], frame[31], frame[32], frame[33]);
            (src, dst)
        });
        let opposite = |x: &[usize], y: &[usize]| x.contains(&a) && y.contains(&b);
        self.partitions.iter().any(|(_, left, right)| {
            if opposite(left, right) || opposite(right, left) {
                return true;
            }
            let Some((src, dst)) = ips else {
                return false;
            };
            let holds = |side: &[usize], ip: std::net::Ipv4Addr| {
                side.iter().any(|&n| self.node_ips[n].contains(&ip))
            };
            (holds(left, src) && holds(right, dst)) || (holds(right, src) && holds(left, dst))
        })
    }

    /// Records the IPv4 addresses of `node` (for partitions).
    pub fn set_addresses(&mut self, node: usize, addresses: Vec<std::net::Ipv4Addr>) {
        self.node_ips[node] = addresses;
    }

    /// Applies (or undoes) fault `index` now, and records it. Node faults (crash, interface,
    /// VRRP, service) and wire faults (link, loss, delay, partition) each have their own
    /// method below.
    fn apply_fault(&mut self, index: usize, undo: bool) {
        let fault = self.faults[index].clone();
        self.record_fault(&fault, undo);
        match fault.action {
            FaultAction::Crash { node } if undo => self.restore_node(node),
            FaultAction::Crash { node } => self.crash_node(node),
            FaultAction::InterfaceDown { node, iface } => self.set_interface_up(node, iface, undo),
            FaultAction::LinkDown { segment } => self.set_link_up(segment, undo),
            FaultAction::Loss { segment, rate } => self.set_loss(index, segment, rate, undo),
            FaultAction::ExtraDelay { segment, extra } => self.add_delay(segment, extra, undo),
            FaultAction::Partition { a, b } => self.set_partition(index, a, b, undo),
            FaultAction::StopVrrp { node } => self.set_vrrp_running(node, undo),
            FaultAction::Service { node, mode } => {
                self.set_service_mode(node, if undo { ServiceMode::Normal } else { mode });
            }
        }
    }

    /// Writes fault `fault` to the trace: its event name, and its detail when it is applied.
    fn record_fault(&mut self, fault: &Fault, undo: bool) {
        let (applied, undone) = fault.event_names();
        let (name, detail) = if undo {
            (undone, String::new())
        } else {
            (applied, fault.detail())
        };
        self.trace.event(self.now, &fault.target, name, detail);
    }

    /// A crash: `node` loses power, its pending wake-up and its state (see `Node::crash`).
    fn crash_node(&mut self, node: usize) {
        self.down[node] = true;
        self.pending_wake[node] = None;
        self.nodes[node].crash();
    }

    /// The end of a crash: `node` boots again (see `Node::restore`) and is woken at once.
    fn restore_node(&mut self, node: usize) {
        self.down[node] = false;
        self.with_node(node, |n, ctx| n.restore(ctx));
        self.schedule_wake(node, self.now);
    }

    /// Takes interface `iface` of `node` down or back `up`: its port on the wire, and what the
    /// node knows of it (a node without power notices nothing).
    fn set_interface_up(&mut self, node: usize, iface: usize, up: bool) {
        if let Some((segment, port)) = self.attachments[node].get(iface).copied().flatten() {
            self.segments[segment].set_port_up(port, up);
        }
        if !self.down[node] {
            if up {
                self.with_node(node, |n, ctx| n.interface_up(ctx, iface));
            } else {
                self.with_node(node, |n, ctx| n.interface_down(ctx, iface));
            }
        }
    }

    /// Stops or restarts the VRRP instances of `node` (a node without power runs none).
    fn set_vrrp_running(&mut self, node: usize, running: bool) {
        if !self.down[node] {
            self.with_node(node, |n, ctx| {
                n.set_vrrp(ctx, running);
            });
        }
    }

    /// Puts the service (web server) of `node` in `mode`; a node whose mode changed is woken
    /// at once to act on it (unless it has no power).
    fn set_service_mode(&mut self, node: usize, mode: ServiceMode) {
        if self.nodes[node].set_service_mode(mode) && !self.down[node] {
            self.schedule_wake(node, self.now);
        }
    }

    /// Takes every port of `segment` down or back `up`: the wire is cut, or mended. Unlike
    /// [`World::set_interface_up`], no node is told.
    fn set_link_up(&mut self, segment: usize, up: bool) {
        for port in 0..self.segments[segment].port_count() {
            self.segments[segment].set_port_up(PortId(port), up);
        }
    }

    /// Sets the loss rate of `segment` to `rate`, keeping the rate it replaces for fault
    /// `index`'s undo, which puts it back.
    fn set_loss(&mut self, index: usize, segment: usize, rate: f64, undo: bool) {
        let config = &mut self.segments[segment].config;
        if undo {
            config.loss = self.replaced_loss[index].take().unwrap_or(0.0);
        } else {
            self.replaced_loss[index] = Some(config.loss);
            config.loss = rate;
        }
    }

    /// Adds `extra` to the delay of `segment`, or takes it off again (never below zero).
    fn add_delay(&mut self, segment: usize, extra: SimDuration, undo: bool) {
        let config = &mut self.segments[segment].config;
        config.delay = if undo {
            SimDuration::from_nanos(config.delay.as_nanos().saturating_sub(extra.as_nanos()))
        } else {
            config.delay + extra
        };
    }

    /// Separates nodes `a` from nodes `b` (see [`World::separated`]), or heals fault
    /// `index`'s partition.
    fn set_partition(&mut self, index: usize, a: Vec<usize>, b: Vec<usize>, undo: bool) {
        if undo {
            self.partitions.retain(|(i, _, _)| *i != index);
        } else {
            self.partitions.push((index, a, b));
        }
    }

    /// Check `check` of monitor `monitor` raised its alarm: queue every action it triggers,
    /// each after its reaction delay, in the order the scenario lists them.
    fn page(&mut self, monitor: usize, check: usize) {
        let due: Vec<(SimDuration, usize)> = self
            .reactions
            .iter()
            .filter(|r| r.monitor == monitor && r.check == check)
            .map(|r| (r.delay, r.action))
            .collect();
        for (delay, index) in due {
            self.queue.push(self.now + delay, Event::Action { index });
        }
    }

    /// Carries out action `index` now, and records it.
    fn apply_action(&mut self, index: usize) {
        let action = self.actions[index].clone();
        let name = action.event_name();
        if self.down[action.node()] {
            // Nobody can type into a machine without power.
            self.trace
                .event(self.now, &action.target, name, "node is down".into());
            return;
        }
        match &action.kind {
            ActionKind::PlugIn { node } => {
                let plugged = self.plug_in(*node);
                let detail = if plugged.is_empty() {
                    "already plugged in".to_string()
                } else {
                    let list: Vec<String> = plugged.iter().map(usize::to_string).collect();
                    format!("interface(s) {}", list.join(", "))
                };
                self.trace.event(self.now, &action.target, name, detail);
                // The node notices its links come up after the cables are in.
                for iface in plugged {
                    self.with_node(*node, |n, ctx| n.interface_up(ctx, iface));
                }
            }
            ActionKind::Command { node, command } => {
                let mut detail = None;
                self.with_node(*node, |n, ctx| detail = n.operate(ctx, command));
                // Validation made sure every command names something its node has.
                let detail = detail.unwrap_or_else(|| "nothing to change".to_string());
                self.trace.event(self.now, &action.target, name, detail);
            }
        }
    }

    /// Plugs every unplugged interface of `node` in; returns their indices.
    fn plug_in(&mut self, node: usize) -> Vec<usize> {
        let mut plugged = Vec::new();
        for (iface, attachment) in self.attachments[node].iter().enumerate() {
            let Some((segment, port)) = *attachment else {
                continue;
            };
            if !self.segments[segment].port_is_up(port) {
                self.segments[segment].set_port_up(port, true);
                plugged.push(iface);
            }
        }
        plugged
    }

    /// Adds a segment's drop and loss counts to the trace.
    fn count(&mut self, fate: Fate) {
        self.trace.net.frames_dropped_queue += fate.dropped_queue as u64;
        self.trace.net.frames_lost += fate.lost as u64;
    }
}
