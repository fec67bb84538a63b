//! The event queue: a min-heap totally ordered by `(time, seq)`.
//!
//! `seq` is an insertion counter, so events scheduled for the same instant pop in the order they
//! were scheduled; nothing depends on how the heap breaks ties (two entries never compare equal).
//!
//! Timers are cancelled lazily. Each timer slot has a generation that every `arm` and `disarm`
//! bumps; a heap entry made by `arm` carries the generation it was armed with, and an entry whose
//! generation is no longer the slot's is dropped when it reaches the top instead of being
//! searched for. Re-arming is therefore one push, and cancelling is one store.
//!
//! Stale entries cost memory until their time comes, and a timer re-armed far ahead on every
//! event (a delivery timeout, say) can leave many. The queue counts them, and once they are more
//! than half the heap (and more than 16) it drops them all in one linear pass. That keeps the
//! heap within twice the live entries (plus 16) at a cost of about two entry visits per
//! cancellation, and does not change the pop order, which depends only on the `(time, seq)`
//! keys.
//!
//! The generation is a `u32` that wraps. A stale entry could be mistaken for a live one only if
//! its slot were re-armed exactly 2^32 times while that entry was still pending; runs handle tens
//! of millions of events, far from that.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::time::Instant;

/// Handle to a re-armable timer slot (see [`crate::Ctx::arm`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimerId(u32);

/// The `timer` of an entry made by a plain schedule: always live.
const NO_TIMER: u32 = u32::MAX;

/// One pending event. Kept small: 24 bytes plus the event.
struct Entry<E> {
    /// `(time in ns, seq)` packed as `time << 64 | seq`, so ordering entries is one integer
    /// comparison (the heap compares keys at every level of every push and pop).
    key: u128,
    timer: u32,
    generation: u32,
    event: E,
}

impl<E> Entry<E> {
    #[inline]
    fn time(&self) -> Instant {
        Instant::from_nanos((self.key >> 64) as u64)
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
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap and we want the earliest (time, seq) on top.
        other.key.cmp(&self.key)
    }
}

/// Per-slot state of a timer: the current generation and, when armed, its deadline.
#[derive(Clone, Copy, Debug)]
struct TimerSlot {
    generation: u32,
    deadline: Option<Instant>,
}

/// Stale entries tolerated before a compaction is considered.
const COMPACT_MIN: usize = if cfg!(test) { 4 } else { 16 };

/// Pending events plus the timer slots that guard some of them.
pub(crate) struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
    next_seq: u64,
    timers: Vec<TimerSlot>,
    /// Entries in `heap` whose timer has since been re-armed or disarmed.
    stale_count: usize,
}

impl<E> EventQueue<E> {
    pub(crate) fn new() -> Self {
        EventQueue::with_capacity(0)
    }

    pub(crate) fn with_capacity(capacity: usize) -> Self {
        EventQueue {
            heap: BinaryHeap::with_capacity(capacity),
            next_seq: 0,
            timers: Vec::new(),
            stale_count: 0,
        }
    }

    /// Number of entries in the heap, including stale timer entries not yet discarded.
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    #[inline]
    pub(crate) fn push(&mut self, time: Instant, event: E) {
        self.push_entry(time, NO_TIMER, 0, event);
    }

    #[inline]
    fn push_entry(&mut self, time: Instant, timer: u32, generation: u32, event: E) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Entry {
            key: (u128::from(time.as_nanos()) << 64) | u128::from(seq),
            timer,
            generation,
            event,
        });
    }

    pub(crate) fn new_timer(&mut self) -> TimerId {
        let index = u32::try_from(self.timers.len()).expect("more than 2^32 timer slots");
        assert!(index != NO_TIMER, "timer slots exhausted");
        self.timers.push(TimerSlot {
            generation: 0,
            deadline: None,
        });
        TimerId(index)
    }

    /// Arms `timer` at `time`, replacing any earlier arming of the same slot.
    #[inline]
    pub(crate) fn arm(&mut self, timer: TimerId, time: Instant, event: E) {
        let slot = self.slot_mut(timer);
        let was_armed = slot.deadline.is_some();
        slot.generation = slot.generation.wrapping_add(1);
        slot.deadline = Some(time);
        let generation = slot.generation;
        if was_armed {
            self.note_stale();
        }
        self.push_entry(time, timer.0, generation, event);
    }

    /// Cancels `timer`; its pending entry, if any, becomes stale.
    #[inline]
    pub(crate) fn disarm(&mut self, timer: TimerId) {
        let slot = self.slot_mut(timer);
        let was_armed = slot.deadline.is_some();
        slot.generation = slot.generation.wrapping_add(1);
        slot.deadline = None;
        if was_armed {
            self.note_stale();
        }
    }

    /// Counts one more stale entry, compacting the heap when stale entries dominate it.
    #[inline]
    fn note_stale(&mut self) {
        self.stale_count += 1;
        if self.stale_count > COMPACT_MIN && self.stale_count * 2 > self.heap.len() {
            let timers = &self.timers;
            self.heap.retain(|entry| {
                entry.timer == NO_TIMER
                    || timers[entry.timer as usize].generation == entry.generation
            });
            self.stale_count = 0;
        }
    }

    pub(crate) fn deadline(&self, timer: TimerId) -> Option<Instant> {
        self.timers
            .get(timer.0 as usize)
            .expect("a TimerId from another engine")
            .deadline
    }

    fn slot_mut(&mut self, timer: TimerId) -> &mut TimerSlot {
        self.timers
            .get_mut(timer.0 as usize)
            .expect("a TimerId from another engine")
    }

    /// Time of the earliest live entry, discarding stale timer entries on the way.
    #[inline]
    pub(crate) fn peek_time(&mut self) -> Option<Instant> {
        loop {
            let top = self.heap.peek()?;
            if self.is_live(top.timer, top.generation) {
                return Some(top.time());
            }
            self.heap.pop();
            self.stale_count -= 1;
        }
    }

    /// Removes and returns the earliest live entry if it is due at or before `until`.
    #[inline]
    pub(crate) fn pop_due(&mut self, until: Instant) -> Option<(Instant, E)> {
        if self.peek_time()? > until {
            return None;
        }
        let entry = self.heap.pop().expect("peek_time saw a live entry");
        if entry.timer != NO_TIMER {
            // The timer fires now: it is no longer armed.
            self.timers[entry.timer as usize].deadline = None;
        }
        Some((entry.time(), entry.event))
    }

    /// Removes and returns the earliest live entry.
    #[cfg(test)]
    pub(crate) fn pop(&mut self) -> Option<(Instant, E)> {
        self.pop_due(Instant::MAX)
    }

    #[inline]
    fn is_live(&self, timer: u32, generation: u32) -> bool {
        timer == NO_TIMER || self.timers[timer as usize].generation == generation
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(ns: u64) -> Instant {
        Instant::from_nanos(ns)
    }

    /// The stale entries, counted the slow way.
    fn stale_entries(queue: &EventQueue<u32>) -> usize {
        queue
            .heap
            .iter()
            .filter(|entry| !queue.is_live(entry.timer, entry.generation))
            .count()
    }

    fn drain(queue: &mut EventQueue<u32>) -> Vec<(u64, u32)> {
        std::iter::from_fn(|| queue.pop())
            .map(|(time, event)| (time.as_nanos(), event))
            .collect()
    }

    #[test]
    fn equal_times_pop_in_insertion_order() {
        let mut queue = EventQueue::new();
        for event in 0..100 {
            // Interleave two instants so the heap has to reorder, not just append.
            queue.push(t(if event % 2 == 0 { 20 } else { 10 }), event);
        }
        let popped = drain(&mut queue);
        let odd: Vec<u32> = (0..100).filter(|e| e % 2 == 1).collect();
        let even: Vec<u32> = (0..100).filter(|e| e % 2 == 0).collect();
        let expected: Vec<(u64, u32)> = odd
            .iter()
            .map(|&e| (10, e))
            .chain(even.iter().map(|&e| (20, e)))
            .collect();
        assert_eq!(popped, expected);
    }

    #[test]
    fn timer_and_plain_events_at_one_instant_keep_insertion_order() {
        let mut queue = EventQueue::new();
        let timer = queue.new_timer();
        queue.push(t(5), 1);
        queue.arm(timer, t(5), 2);
        queue.push(t(5), 3);
        assert_eq!(drain(&mut queue), vec![(5, 1), (5, 2), (5, 3)]);
    }

    #[test]
    fn cancelled_timer_never_fires() {
        let mut queue = EventQueue::new();
        let timer = queue.new_timer();
        queue.arm(timer, t(10), 7);
        queue.push(t(20), 8);
        queue.disarm(timer);
        assert_eq!(queue.deadline(timer), None);
        assert_eq!(drain(&mut queue), vec![(20, 8)]);
    }

    #[test]
    fn rearmed_timer_fires_once_at_the_new_time() {
        let mut queue = EventQueue::new();
        let timer = queue.new_timer();
        queue.arm(timer, t(10), 1);
        queue.arm(timer, t(30), 2);
        queue.arm(timer, t(20), 3);
        assert_eq!(queue.deadline(timer), Some(t(20)));
        assert_eq!(drain(&mut queue), vec![(20, 3)]);
        assert_eq!(queue.deadline(timer), None, "a fired timer is disarmed");
    }

    #[test]
    fn disarm_after_firing_does_not_cancel_a_later_arming() {
        let mut queue = EventQueue::new();
        let timer = queue.new_timer();
        queue.arm(timer, t(1), 1);
        assert_eq!(queue.pop(), Some((t(1), 1)));
        queue.disarm(timer);
        queue.arm(timer, t(2), 2);
        assert_eq!(drain(&mut queue), vec![(2, 2)]);
    }

    #[test]
    fn rearming_far_ahead_does_not_let_stale_entries_pile_up() {
        let mut queue = EventQueue::new();
        let timer = queue.new_timer();
        queue.push(t(1), 0);
        for i in 0..1_000 {
            queue.arm(timer, t(1_000_000 + i), 1);
            assert_eq!(queue.stale_count, stale_entries(&queue));
        }
        assert!(
            queue.len() <= 2 * 2 + COMPACT_MIN + 1,
            "{} entries",
            queue.len()
        );
        assert_eq!(drain(&mut queue), vec![(1, 0), (1_000_999, 1)]);
    }

    #[test]
    fn pop_due_leaves_later_events_pending() {
        let mut queue = EventQueue::new();
        queue.push(t(10), 1);
        queue.push(t(11), 2);
        assert_eq!(queue.pop_due(t(10)), Some((t(10), 1)));
        assert_eq!(queue.pop_due(t(10)), None);
        assert_eq!(queue.peek_time(), Some(t(11)));
    }

    #[test]
    fn peek_discards_stale_entries() {
        let mut queue = EventQueue::new();
        let timer = queue.new_timer();
        queue.arm(timer, t(1), 1);
        queue.arm(timer, t(2), 2);
        queue.push(t(3), 3);
        assert_eq!(queue.len(), 3);
        assert_eq!(queue.peek_time(), Some(t(2)));
        assert_eq!(queue.len(), 2, "the stale entry at t=1 is gone");
    }

    /// One step of a random workload against the queue.
    #[derive(Clone, Debug)]
    enum Op {
        Schedule { delay: u64 },
        Arm { timer: usize, delay: u64 },
        Disarm { timer: usize },
        Pop,
    }

    fn op() -> impl Strategy<Value = Op> {
        // Small delays make equal times (ties) common.
        prop_oneof![
            (0..5u64).prop_map(|delay| Op::Schedule { delay }),
            (0..4usize, 0..5u64).prop_map(|(timer, delay)| Op::Arm { timer, delay }),
            (0..4usize).prop_map(|timer| Op::Disarm { timer }),
            Just(Op::Pop),
        ]
    }

    /// A naive reference: every live event in a list, with its (time, seq); timers map to the
    /// event id they would deliver.
    #[derive(Default)]
    struct Reference {
        live: Vec<(u64, u64, u32)>,
        armed: Vec<Option<u32>>,
        next_seq: u64,
    }

    impl Reference {
        fn pop_min(&mut self) -> Option<(u64, u64, u32)> {
            let (index, _) = self
                .live
                .iter()
                .enumerate()
                .min_by_key(|(_, (time, seq, _))| (*time, *seq))?;
            let popped = self.live.remove(index);
            for armed in &mut self.armed {
                if *armed == Some(popped.2) {
                    *armed = None;
                }
            }
            Some(popped)
        }

        fn cancel(&mut self, timer: usize) {
            if let Some(id) = self.armed[timer].take() {
                self.live.retain(|(_, _, e)| *e != id);
            }
        }
    }

    proptest! {
        #[test]
        fn random_workloads_pop_exactly_the_live_events_in_time_seq_order(
            ops in proptest::collection::vec(op(), 0..200)
        ) {
            let mut queue = EventQueue::new();
            let timers: Vec<TimerId> = (0..4).map(|_| queue.new_timer()).collect();
            let mut reference = Reference { armed: vec![None; 4], ..Reference::default() };
            let mut now = 0u64;
            let mut last_key = (0u64, 0u64);
            let mut next_id = 0u32;
            let run_pop = |queue: &mut EventQueue<u32>, reference: &mut Reference,
                           now: &mut u64, last_key: &mut (u64, u64)| {
                let expected = reference.pop_min();
                let got = queue.pop();
                prop_assert_eq!(got.map(|(time, e)| (time.as_nanos(), e)),
                    expected.map(|(time, _, e)| (time, e)));
                if let Some((time, seq, _)) = expected {
                    prop_assert!((time, seq) >= *last_key, "popped out of (time, seq) order");
                    *last_key = (time, seq);
                    *now = time;
                }
                Ok(())
            };
            for op in ops {
                // Compaction bounds the heap right after an entry goes stale.
                let makes_stale = match op {
                    Op::Arm { timer, .. } | Op::Disarm { timer } => {
                        reference.armed[timer].is_some()
                    }
                    Op::Schedule { .. } | Op::Pop => false,
                };
                match op {
                    Op::Schedule { delay } => {
                        queue.push(t(now + delay), next_id);
                        reference.live.push((now + delay, reference.next_seq, next_id));
                        reference.next_seq += 1;
                        next_id += 1;
                    }
                    Op::Arm { timer, delay } => {
                        reference.cancel(timer);
                        queue.arm(timers[timer], t(now + delay), next_id);
                        reference.live.push((now + delay, reference.next_seq, next_id));
                        reference.armed[timer] = Some(next_id);
                        reference.next_seq += 1;
                        next_id += 1;
                    }
                    Op::Disarm { timer } => {
                        reference.cancel(timer);
                        queue.disarm(timers[timer]);
                    }
                    Op::Pop => run_pop(&mut queue, &mut reference, &mut now, &mut last_key)?,
                }
                for (index, timer) in timers.iter().enumerate() {
                    let armed_at = reference.armed[index]
                        .and_then(|id| reference.live.iter().find(|(_, _, e)| *e == id))
                        .map(|(time, _, _)| t(*time));
                    prop_assert_eq!(queue.deadline(*timer), armed_at);
                }
                prop_assert_eq!(queue.stale_count, stale_entries(&queue));
                if makes_stale {
                    prop_assert!(queue.len() <= 2 * reference.live.len() + COMPACT_MIN);
                }
            }
            // Drain: whatever is left must also match the reference exactly.
            while !reference.live.is_empty() {
                run_pop(&mut queue, &mut reference, &mut now, &mut last_key)?;
            }
            prop_assert_eq!(queue.pop(), None);
        }
    }
}
