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
//!
//! # Simplifications
//! - Events cannot be cancelled. An owner that changes its mind remembers what it expects and
//!   ignores a stale event when it pops (see `node::Wake`).
//!
//! # Further reading
//! - `book/src/engine.md`, "The event loop".

use std::cmp::Ordering;
use std::collections::BinaryHeap;

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
    /// The pending events; `BinaryHeap` is a max-heap, so `Entry` orders in reverse.
    heap: BinaryHeap<Entry<E>>,
    /// The insertion number the next pushed event gets.
    next_seq: u64,
}

struct Entry<E> {
    /// When the event is due (high 64 bits, in nanoseconds), then its insertion number, the
    /// tie-breaker for events due at the same instant (low 64 bits).
    key: u128,
    /// What happens.
    event: E,
}

impl<E> Entry<E> {
    /// When the event is due.
    fn time(&self) -> SimTime {
        SimTime::from_nanos((self.key >> 64) as u64)
    }
}

impl<E> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> EventQueue<E> {
        EventQueue {
            heap: BinaryHeap::new(),
            next_seq: 0,
        }
    }

    /// Schedules `event` at `time`.
    pub fn push(&mut self, time: SimTime, event: E) {
        let key = (u128::from(time.as_nanos()) << 64) | u128::from(self.next_seq);
        self.next_seq += 1;
        self.heap.push(Entry { key, event });
    }

    /// Takes the earliest event (the first scheduled among equals).
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        self.heap.pop().map(|entry| (entry.time(), entry.event))
    }

    /// When the earliest event is due, without taking it.
    pub fn peek_time(&self) -> Option<SimTime> {
        self.heap.peek().map(Entry::time)
    }

    /// How many events are pending.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether no event is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue::new()
    }
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl<E> Eq for Entry<E> {}

impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<E> Ord for Entry<E> {
    /// Reversed, so that the max-heap pops the smallest `(time, seq)` first.
    fn cmp(&self, other: &Self) -> Ordering {
        other.key.cmp(&self.key)
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
                let expected = reference.pop().map(|Reverse((t, _, r))| (t, r));
                assert_eq!(q.peek_time().map(SimTime::as_nanos), expected.map(|e| e.0));
                let got = q.pop().map(|(t, r)| (t.as_nanos(), r));
                assert_eq!(got, expected, "after {round} steps");
                now = got.map_or(now, |(t, _)| t.min(1 << 62));
            }
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
