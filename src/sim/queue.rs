//! *The event queue*: what happens next, and in which order.
//!
//! A discrete-event simulator does not tick. It keeps every future happening (a frame arriving,
//! a timer firing) in one priority queue and jumps straight to the earliest.
//! Two events due at the same instant are taken in the order they were scheduled: each entry
//! carries an insertion number `seq`, and the queue is ordered by `(time, seq)`.
//! That total order is what makes a run repeatable: no tie is ever broken by chance.
//!
//! The heap compares `(time, seq)` as one number, `time` in the high 64 bits of a `u128` and
//! `seq` in the low ones: the same order, and one comparison instead of two. A pop compares
//! entries about twice per level of the heap, and the world pops once per frame per cable.
//! The heap holds only keys and places (24 bytes an entry); the events wait apart in a slab.
//! At a high request rate many more events are pending, and a heap of whole events (80
//! bytes each) no longer fits the processor's first-level cache.
//!
//! **Lanes.** Most events are frames on their way, and the frames crossing one cable in one
//! direction arrive in the order they left: each is due no earlier than the one before. Such
//! events can wait in a *lane*, a first-in first-out line (`push_in_lane`), and only the
//! earliest of each lane sits in the heap. The heap then holds about one entry per busy cable
//! instead of one per frame in flight (at 20,000 requests per second, a few dozen instead of
//! 400), so it stays in the processor's cache. A lane is only a hint: an event due before the
//! last one waiting in its lane goes into the heap as any other. The order of the pops is
//! exactly that of one heap of every event (`lanes_pop_in_the_same_order_as_one_heap`).
//!
//! # Simplifications
//! - Events cannot be cancelled. An owner that changes its mind remembers what it expects and
//!   ignores a stale event when it pops (see `node::Wake`).
//!
//! # Further reading
//! - `book/src/engine.md`, "The event loop".

use std::cmp::Ordering;
use std::collections::binary_heap::PeekMut;
use std::collections::{BinaryHeap, VecDeque};

use super::SimTime;

/// A queue of events of type `E`, popped in `(time, insertion order)`.
///
/// # Examples
/// ```
/// use netlab::sim::{EventQueue, SimTime};
/// let mut q = EventQueue::new();
/// q.push(SimTime::from_nanos(20), "late");
/// q.push(SimTime::from_nanos(10), "first");
/// q.push(SimTime::from_nanos(10), "second");
/// assert_eq!(q.pop(), Some((SimTime::from_nanos(10), "first")));
/// assert_eq!(q.pop(), Some((SimTime::from_nanos(10), "second")));
/// assert_eq!(q.pop(), Some((SimTime::from_nanos(20), "late")));
/// ```
pub struct EventQueue<E> {
    /// The pending events' keys; `BinaryHeap` is a max-heap, so `Entry` orders in reverse.
    heap: BinaryHeap<Entry>,
    /// The pending events, at the places their entries name.
    slab: Vec<Option<E>>,
    /// Places of `slab` free for the next events.
    free: Vec<u32>,
    /// The insertion number the next pushed event gets.
    next_seq: u64,
    /// Events waiting in lanes, each lane in `(time, seq)` order; the first of each non-empty
    /// lane has an entry in the heap (its place is `LANE | lane`).
    lanes: Vec<VecDeque<Waiting<E>>>,
}

/// An event waiting in a lane, with its key.
struct Waiting<E> {
    /// When it is due, in nanoseconds.
    time: u64,
    /// Its insertion number.
    seq: u64,
    /// The event.
    event: E,
}

/// The bit of `Entry::place` that says the entry stands for the first event of a lane.
const LANE: u32 = 1 << 31;

/// A pending event's key, `(time, insertion number)`, and its place in the slab.
struct Entry {
    /// When the event is due, in nanoseconds.
    time: u64,
    /// Its insertion number: the tie-breaker for events due at the same instant.
    seq: u64,
    /// Where the event waits in `EventQueue::slab`.
    place: u32,
}

impl Entry {
    /// `(time, seq)` as one number, time in the high half: one comparison orders two entries.
    fn key(&self) -> u128 {
        (u128::from(self.time) << 64) | u128::from(self.seq)
    }
}

impl<E> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> EventQueue<E> {
        EventQueue {
            heap: BinaryHeap::new(),
            slab: Vec::new(),
            free: Vec::new(),
            next_seq: 0,
            lanes: Vec::new(),
        }
    }

    /// Schedules `event` at `time`.
    pub fn push(&mut self, time: SimTime, event: E) {
        let place = match self.free.pop() {
            Some(place) => {
                self.slab[place as usize] = Some(event);
                place
            }
            None => {
                self.slab.push(Some(event));
                u32::try_from(self.slab.len() - 1)
                    .ok()
                    .filter(|&place| place < LANE)
                    .expect("fewer than 2^31 pending events")
            }
        };
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Entry {
            time: time.as_nanos(),
            seq,
            place,
        });
    }

    /// Schedules `event` at `time` in lane `lane` (any number: a cable's direction, say).
    /// Popped in the same order as with [`EventQueue::push`]; it is only faster when each
    /// event of a lane is due no earlier than the one pushed before it.
    pub fn push_in_lane(&mut self, lane: usize, time: SimTime, event: E) {
        let time = time.as_nanos();
        let lane_number = match u32::try_from(lane) {
            Ok(number) if number < LANE => number,
            _ => return self.push(SimTime::from_nanos(time), event),
        };
        if self.lanes.len() <= lane {
            self.lanes.resize_with(lane + 1, VecDeque::new);
        }
        let line = &mut self.lanes[lane];
        match line.back() {
            // Due before the last one waiting: out of the lane's order, so into the heap.
            Some(last) if time < last.time => self.push(SimTime::from_nanos(time), event),
            _ => {
                let seq = self.next_seq;
                self.next_seq += 1;
                if line.is_empty() {
                    self.heap.push(Entry {
                        time,
                        seq,
                        place: LANE | lane_number,
                    });
                }
                line.push_back(Waiting { time, seq, event });
            }
        }
    }

    /// Takes the earliest event (the first scheduled among equals).
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        let mut top = self.heap.peek_mut()?;
        if top.place & LANE != 0 {
            let line = &mut self.lanes[(top.place & !LANE) as usize];
            let first = line.pop_front()?;
            match line.front() {
                // The lane's next event takes its entry: one sift down instead of a pop and
                // a push.
                Some(next) => {
                    top.time = next.time;
                    top.seq = next.seq;
                }
                None => {
                    PeekMut::pop(top);
                }
            }
            return Some((SimTime::from_nanos(first.time), first.event));
        }
        let entry = PeekMut::pop(top);
        let event = self.slab[entry.place as usize].take()?;
        self.free.push(entry.place);
        Some((SimTime::from_nanos(entry.time), event))
    }

    /// When the earliest event is due, without taking it.
    pub fn peek_time(&self) -> Option<SimTime> {
        self.heap
            .peek()
            .map(|entry| SimTime::from_nanos(entry.time))
    }

    /// How many events are pending.
    pub fn len(&self) -> usize {
        let heads = self.lanes.iter().filter(|line| !line.is_empty()).count();
        self.heap.len() - heads + self.lanes.iter().map(VecDeque::len).sum::<usize>()
    }

    /// Whether no event is pending (every lane's first event has an entry in the heap).
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue::new()
    }
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    /// Reversed, so that the max-heap pops the smallest `(time, seq)` first.
    fn cmp(&self, other: &Self) -> Ordering {
        other.key().cmp(&self.key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_at_the_same_instant_keep_insertion_order() {
        let mut q = EventQueue::new();
        for i in 0..100 {
            q.push(SimTime::from_nanos(5), i);
        }
        let popped: Vec<i32> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(popped, (0..100).collect::<Vec<_>>());
    }

    /// A heap of `(time, seq, event)`, the order the queue must pop in.
    type Reference = BinaryHeap<std::cmp::Reverse<(u64, u64, u64)>>;

    /// Pops `q` and `reference` (after `round` steps) and checks they agree, the time of the
    /// next event too; returns the popped time.
    fn pop_both(q: &mut EventQueue<u64>, reference: &mut Reference, round: u64) -> Option<u64> {
        let expected = reference.pop().map(|std::cmp::Reverse((t, _, r))| (t, r));
        assert_eq!(q.peek_time().map(SimTime::as_nanos), expected.map(|e| e.0));
        let got = q.pop().map(|(t, r)| (t.as_nanos(), r));
        assert_eq!(got, expected, "after {round} steps");
        got.map(|(t, _)| t)
    }

    /// The packed key orders as `(time, seq)` does: on random pushes (at the clock, near it,
    /// far ahead) and pops, the queue pops what a binary heap of `(time, seq)` tuples pops.
    #[test]
    fn pops_in_the_same_order_as_a_heap_of_time_seq_pairs() {
        use std::cmp::Reverse;
        let mut rng = crate::sim::Streams::new(7).stream("queue");
        let mut q = EventQueue::new();
        let mut reference = BinaryHeap::new();
        let (mut now, mut seq) = (0u64, 0u64);
        for round in 0..100_000u64 {
            if rng.chance(0.55) {
                let time = now
                    + match rng.below(10) {
                        0 => 0,
                        1 => rng.below(1 << 62),
                        _ => rng.below(2_000_000),
                    };
                q.push(SimTime::from_nanos(time), round);
                reference.push(Reverse((time, seq, round)));
                seq += 1;
            } else {
                now = pop_both(&mut q, &mut reference, round).map_or(now, |t| t.min(1 << 62));
            }
        }
    }

    /// Lanes change nothing in the order: events pushed in lanes (mostly each due after the
    /// lane's last, sometimes before it, as a delay change would make them) and in the heap,
    /// with pops in between, come out as one heap of `(time, seq)` gives them.
    #[test]
    fn lanes_pop_in_the_same_order_as_one_heap() {
        use std::cmp::Reverse;
        let mut rng = crate::sim::Streams::new(11).stream("lanes");
        let mut q = EventQueue::new();
        let mut reference = BinaryHeap::new();
        let mut last_in_lane = [0u64; 6];
        let (mut now, mut seq) = (0u64, 0u64);
        for round in 0..100_000u64 {
            if rng.chance(0.55) {
                let lane = rng.below(7) as usize;
                let time = match lane {
                    // Lane 6 stands for events outside any lane.
                    6 => now + rng.below(3_000_000),
                    _ if rng.chance(0.05) => now + rng.below(1_000), // out of the lane's order
                    _ => last_in_lane[lane].max(now) + rng.below(3) * 1_000,
                };
                if lane == 6 {
                    q.push(SimTime::from_nanos(time), round);
                } else {
                    last_in_lane[lane] = last_in_lane[lane].max(time);
                    q.push_in_lane(lane, SimTime::from_nanos(time), round);
                }
                reference.push(Reverse((time, seq, round)));
                seq += 1;
            } else {
                now = pop_both(&mut q, &mut reference, round).unwrap_or(now);
            }
            assert_eq!(q.len(), reference.len());
        }
    }

    #[test]
    fn earlier_events_come_first_whatever_the_push_order() {
        let mut q = EventQueue::new();
        q.push(SimTime::from_nanos(30), 'c');
        q.push(SimTime::from_nanos(10), 'a');
        q.push(SimTime::from_nanos(20), 'b');
        assert_eq!(q.peek_time(), Some(SimTime::from_nanos(10)));
        assert_eq!(q.len(), 3);
        let order: String = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, "abc");
        assert!(q.is_empty());
    }
}
