//! The hold model, the classic workload for measuring an event queue.
//!
//! `pending` events wait in the queue; handling one schedules one more at `now + delay`, with the
//! delay drawn from an exponential distribution, so the queue stays at `pending` entries forever.
//! [`EngineHold`] runs it on the [`Engine`] (through a [`Model`], with a trace call that is off,
//! as real models have); [`HeapHold`] runs the same work on a bare `BinaryHeap` keyed by
//! `(time, seq)`, as the physical limit to compare against.
//!
//! Nothing here reads a clock: the caller times [`EngineHold::advance`] or the `run_*` functions
//! (the criterion benchmark in `sim/benches/engine.rs` and `linger bench engine` do). Both
//! workloads draw the same delays from the same stream and pop the same `(time, seq)` sequence,
//! so they return the same checksum; a test holds them to it.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::engine::{Ctx, Engine, Model, RunLimits};
use crate::rng::{RngStreams, Stream};
use crate::time::{Duration, Instant};

/// Mean delay between an event and the one it schedules.
pub const HOLD_MEAN_DELAY: Duration = Duration::from_millis(1);

/// Name of the stream the delays are drawn from.
const HOLD_STREAM: &str = "bench/hold";

/// Folds one handled event's time into an order-sensitive checksum.
#[inline]
fn fold_checksum(checksum: u64, time: Instant) -> u64 {
    checksum.rotate_left(5) ^ time.as_nanos()
}

/// The model behind [`EngineHold`]: every event schedules its successor.
struct HoldModel {
    delays: Stream,
    checksum: u64,
}

impl Model for HoldModel {
    type Event = u64;

    #[inline]
    fn on_event(&mut self, ctx: &mut Ctx<'_, u64>, event: u64) {
        self.checksum = fold_checksum(self.checksum, ctx.now());
        ctx.trace("bench/hold", "hold", |e| e.with("id", event));
        let delay = self.delays.exponential(HOLD_MEAN_DELAY);
        ctx.schedule_after(delay, event);
    }
}

/// The hold model on the engine, ready to be advanced.
pub struct EngineHold {
    engine: Engine<u64>,
    model: HoldModel,
}

impl EngineHold {
    /// An engine with `pending` events scheduled at exponential delays from time zero.
    pub fn new(pending: usize, seed: u64) -> Self {
        let mut delays = RngStreams::new(seed).stream(HOLD_STREAM);
        let mut engine = Engine::with_capacity(seed, pending);
        let mut ctx = engine.ctx();
        for id in 0..pending as u64 {
            ctx.schedule_after(delays.exponential(HOLD_MEAN_DELAY), id);
        }
        let model = HoldModel {
            delays,
            checksum: 0,
        };
        EngineHold { engine, model }
    }

    /// Handles `events` more events (fewer only if `pending` was zero) and returns the checksum
    /// of every event handled so far.
    pub fn advance(&mut self, events: u64) -> u64 {
        if events == 0 {
            return self.model.checksum;
        }
        let limits = RunLimits::unbounded()
            .max_events(events)
            .expect("events is non-zero");
        // The hold model never drains, so the run ends by exceeding its budget: that is the
        // expected outcome here, not a failure.
        let _ = self.engine.run(&mut self.model, limits);
        self.model.checksum
    }

    /// Events handled so far.
    pub fn events_handled(&self) -> u64 {
        self.engine.events_handled()
    }
}

/// The hold model on a bare `BinaryHeap` of `(time, seq, id)`: the same work without timers,
/// model dispatch or tracing.
pub struct HeapHold {
    heap: BinaryHeap<Reverse<(u64, u64, u64)>>,
    next_seq: u64,
    delays: Stream,
    checksum: u64,
    events: u64,
}

impl HeapHold {
    /// A heap with `pending` events at exponential delays from time zero.
    pub fn new(pending: usize, seed: u64) -> Self {
        let mut delays = RngStreams::new(seed).stream(HOLD_STREAM);
        let mut heap = BinaryHeap::with_capacity(pending);
        for id in 0..pending as u64 {
            heap.push(Reverse((
                delays.exponential(HOLD_MEAN_DELAY).as_nanos(),
                id,
                id,
            )));
        }
        HeapHold {
            heap,
            next_seq: pending as u64,
            delays,
            checksum: 0,
            events: 0,
        }
    }

    /// Handles `events` more events and returns the checksum of every event handled so far.
    pub fn advance(&mut self, events: u64) -> u64 {
        for _ in 0..events {
            let Some(Reverse((time, _, id))) = self.heap.pop() else {
                break;
            };
            self.checksum = fold_checksum(self.checksum, Instant::from_nanos(time));
            let delay = self.delays.exponential(HOLD_MEAN_DELAY).as_nanos();
            let at = time.checked_add(delay).expect("virtual time overflowed");
            self.heap.push(Reverse((at, self.next_seq, id)));
            self.next_seq += 1;
            self.events += 1;
        }
        self.checksum
    }

    /// Events handled so far.
    pub fn events_handled(&self) -> u64 {
        self.events
    }
}

/// Builds the hold model with `pending` events on the engine, handles `events` events, and
/// returns the checksum. Time it from the outside.
pub fn run_engine_hold(pending: usize, events: u64, seed: u64) -> u64 {
    EngineHold::new(pending, seed).advance(events)
}

/// The same workload as [`run_engine_hold`] on a bare `BinaryHeap`; returns the same checksum.
pub fn run_heap_hold(pending: usize, events: u64, seed: u64) -> u64 {
    HeapHold::new(pending, seed).advance(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_and_bare_heap_handle_the_same_events() {
        for pending in [1, 7, 1000] {
            let engine = run_engine_hold(pending, 5_000, 42);
            let heap = run_heap_hold(pending, 5_000, 42);
            assert_eq!(engine, heap, "pending = {pending}");
        }
    }

    #[test]
    fn advancing_in_steps_equals_advancing_at_once() {
        let mut stepped = EngineHold::new(50, 9);
        for _ in 0..10 {
            stepped.advance(100);
        }
        assert_eq!(stepped.events_handled(), 1_000);
        assert_eq!(stepped.advance(0), run_engine_hold(50, 1_000, 9));
    }

    #[test]
    fn the_seed_changes_the_checksum() {
        assert_ne!(
            run_engine_hold(100, 1_000, 1),
            run_engine_hold(100, 1_000, 2)
        );
    }

    #[test]
    fn an_empty_hold_handles_nothing() {
        let mut hold = EngineHold::new(0, 1);
        assert_eq!(hold.advance(10), 0);
        assert_eq!(hold.events_handled(), 0);
        let mut heap = HeapHold::new(0, 1);
        assert_eq!(heap.advance(10), 0);
        assert_eq!(heap.events_handled(), 0);
    }
}
