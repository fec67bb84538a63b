//! The event queue: a min-heap totally ordered by `(time, seq)`.
//!
//! `seq` is an insertion counter, so events scheduled for the same instant pop in the order they
//! were scheduled; nothing depends on how the heap breaks ties. Timers are cancelled lazily: an
//! entry carries the generation of its timer slot, and an entry whose generation is stale is
//! dropped when it reaches the top instead of being searched for.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::time::Instant;

/// Handle to a re-armable timer slot (see [`crate::Ctx::arm`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimerId(u32);

const NO_TIMER: u32 = u32::MAX;

struct Entry<E> {
    time: Instant,
    seq: u64,
    timer: u32,
    generation: u32,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.time == other.time && self.seq == other.seq
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap and we want the earliest (time, seq) on top.
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

/// Per-slot state of a timer: the current generation and, when armed, its deadline.
#[derive(Clone, Copy, Debug)]
struct TimerSlot {
    generation: u32,
    deadline: Option<Instant>,
}

/// Pending events plus the timer slots that guard some of them.
pub(crate) struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
    next_seq: u64,
    timers: Vec<TimerSlot>,
}

impl<E> EventQueue<E> {
    pub(crate) fn new() -> Self {
        EventQueue { heap: BinaryHeap::new(), next_seq: 0, timers: Vec::new() }
    }

    pub(crate) fn with_capacity(capacity: usize) -> Self {
        EventQueue { heap: BinaryHeap::with_capacity(capacity), next_seq: 0, timers: Vec::new() }
    }

    /// Number of entries in the heap, including stale timer entries not yet discarded.
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    pub(crate) fn push(&mut self, time: Instant, event: E) {
        self.push_entry(time, NO_TIMER, 0, event);
    }

    fn push_entry(&mut self, time: Instant, timer: u32, generation: u32, event: E) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Entry { time, seq, timer, generation, event });
    }

    pub(crate) fn new_timer(&mut self) -> TimerId {
        let index = u32::try_from(self.timers.len()).expect("more than 2^32 timer slots");
        assert!(index != NO_TIMER, "timer slots exhausted");
        self.timers.push(TimerSlot { generation: 0, deadline: None });
        TimerId(index)
    }

    /// Arms `timer` at `time`, replacing any earlier arming of the same slot.
    pub(crate) fn arm(&mut self, timer: TimerId, time: Instant, event: E) {
        let slot = &mut self.timers[timer.0 as usize];
        slot.generation = slot.generation.wrapping_add(1);
        slot.deadline = Some(time);
        let generation = slot.generation;
        self.push_entry(time, timer.0, generation, event);
    }

    pub(crate) fn disarm(&mut self, timer: TimerId) {
        let slot = &mut self.timers[timer.0 as usize];
        slot.generation = slot.generation.wrapping_add(1);
        slot.deadline = None;
    }

    pub(crate) fn deadline(&self, timer: TimerId) -> Option<Instant> {
        self.timers[timer.0 as usize].deadline
    }

    /// Time of the earliest live entry, discarding stale timer entries on the way.
    pub(crate) fn peek_time(&mut self) -> Option<Instant> {
        loop {
            let top = self.heap.peek()?;
            if self.is_live(top.timer, top.generation) {
                return Some(top.time);
            }
            self.heap.pop();
        }
    }

    /// Removes and returns the earliest live entry.
    pub(crate) fn pop(&mut self) -> Option<(Instant, E)> {
        loop {
            let entry = self.heap.pop()?;
            if entry.timer == NO_TIMER {
                return Some((entry.time, entry.event));
            }
            if self.is_live(entry.timer, entry.generation) {
                self.timers[entry.timer as usize].deadline = None;
                return Some((entry.time, entry.event));
            }
        }
    }

    fn is_live(&self, timer: u32, generation: u32) -> bool {
        timer == NO_TIMER || self.timers[timer as usize].generation == generation
    }
}
