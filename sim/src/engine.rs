//! The run loop: a clock, the event queue, the trace, and the limits of one run.
//!
//! ```text
//!   Engine::run ──pop (time, seq)──► Model::on_event(ctx, event)
//!        ▲                                   │ ctx.schedule_at / arm / disarm / trace
//!        └──────────── EventQueue ◄──────────┘
//! ```
//!
//! A model is one value that owns every component of the world and dispatches on its event
//! type; components talk only by scheduling events for each other.

use std::fmt;

use crate::queue::{EventQueue, TimerId};
use crate::rng::RngStreams;
use crate::time::{Duration, Instant};
use crate::trace::{Trace, TraceEvent};

/// A simulated world driven by the engine.
pub trait Model {
    /// Everything that can happen in this world.
    type Event;
    /// Handles one event at `ctx.now()`.
    fn on_event(&mut self, ctx: &mut Ctx<'_, Self::Event>, event: Self::Event);
}

/// What a handler may do: read the clock, schedule, arm timers, trace.
pub struct Ctx<'a, E> {
    now: Instant,
    queue: &'a mut EventQueue<E>,
    trace: &'a mut Trace,
    stop: &'a mut bool,
}

impl<E> Ctx<'_, E> {
    /// The current virtual time.
    #[inline]
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Schedules `event` at `at`, which must not be in the past.
    #[inline]
    pub fn schedule_at(&mut self, at: Instant, event: E) {
        assert!(at >= self.now, "scheduled an event at {at}, before now ({})", self.now);
        self.queue.push(at, event);
    }

    /// Schedules `event` after `delay`.
    #[inline]
    pub fn schedule_after(&mut self, delay: Duration, event: E) {
        self.queue.push(self.now + delay, event);
    }

    /// Makes a new timer slot, initially disarmed.
    pub fn new_timer(&mut self) -> TimerId {
        self.queue.new_timer()
    }

    /// Arms `timer` to deliver `event` at `at`; an earlier arming of the same timer is cancelled.
    #[inline]
    pub fn arm(&mut self, timer: TimerId, at: Instant, event: E) {
        assert!(at >= self.now, "armed a timer at {at}, before now ({})", self.now);
        self.queue.arm(timer, at, event);
    }

    /// Cancels `timer` if it is armed; its event will never be delivered.
    #[inline]
    pub fn disarm(&mut self, timer: TimerId) {
        self.queue.disarm(timer);
    }

    /// When `timer` will fire, if it is armed.
    #[inline]
    pub fn deadline(&self, timer: TimerId) -> Option<Instant> {
        self.queue.deadline(timer)
    }

    /// Whether the trace is building events; use to skip work that only feeds the trace.
    #[inline]
    pub fn tracing(&self) -> bool {
        self.trace.is_on()
    }

    /// Records a trace event built by `fill`, which runs only when tracing is on.
    #[inline]
    pub fn trace(&mut self, component: &str, kind: &'static str, fill: impl FnOnce(TraceEvent) -> TraceEvent) {
        if self.trace.is_on() {
            let event = TraceEvent { time: self.now, component: component.to_owned(), kind, fields: Vec::new() };
            self.trace.record(fill(event));
        }
    }

    /// Ends the run after this event, as if the queue were empty.
    pub fn stop(&mut self) {
        *self.stop = true;
    }
}

/// Bounds on one run. At least one of `until` and `max_events` should be set for open models.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunLimits {
    until: Option<Instant>,
    max_events: Option<u64>,
}

/// A run limit that makes no sense.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LimitsError {
    /// `max_events` was zero.
    ZeroMaxEvents,
    /// `until` was zero: the run would end before it starts.
    ZeroUntil,
}

impl fmt::Display for LimitsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitsError::ZeroMaxEvents => write!(f, "max_events must be at least 1"),
            LimitsError::ZeroUntil => write!(f, "the run's virtual duration must be greater than zero"),
        }
    }
}

impl std::error::Error for LimitsError {}

impl RunLimits {
    /// No limits: run until no events remain.
    pub const fn unbounded() -> Self {
        RunLimits { until: None, max_events: None }
    }
    /// Stop before any event later than `until`.
    pub fn until(self, until: Instant) -> Result<Self, LimitsError> {
        if until == Instant::ZERO {
            return Err(LimitsError::ZeroUntil);
        }
        Ok(RunLimits { until: Some(until), ..self })
    }
    /// Fail with [`LimitExceeded`] once more than `max_events` events have been handled.
    pub fn max_events(self, max_events: u64) -> Result<Self, LimitsError> {
        if max_events == 0 {
            return Err(LimitsError::ZeroMaxEvents);
        }
        Ok(RunLimits { max_events: Some(max_events), ..self })
    }
    /// The time limit, if any.
    pub fn until_time(&self) -> Option<Instant> {
        self.until
    }
}

/// Why a run stopped normally.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// The queue is empty.
    Drained,
    /// The next event lies after the time limit; the clock stands at the limit.
    ReachedTime,
    /// A handler called [`Ctx::stop`].
    Stopped,
}

/// A run exceeded its event budget: the seed and virtual time let it be replayed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitExceeded {
    /// Master seed of the run.
    pub seed: u64,
    /// Virtual time at which the budget ran out.
    pub now: Instant,
    /// Events handled.
    pub events: u64,
}

impl fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "run exceeded its limit of {} events at virtual time {} (seed {}); replay with --seed {}",
            self.events, self.now, self.seed, self.seed
        )
    }
}

impl std::error::Error for LimitExceeded {}

/// Counters of a finished run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunStats {
    /// Why the run stopped.
    pub reason: StopReason,
    /// Events handled (stale timer entries are not counted).
    pub events: u64,
    /// The clock when the run stopped.
    pub now: Instant,
}

/// The engine of one run.
pub struct Engine<E> {
    now: Instant,
    queue: EventQueue<E>,
    trace: Trace,
    streams: RngStreams,
    events: u64,
    stop: bool,
}

impl<E> Engine<E> {
    /// An engine at time zero for a run with this master seed.
    pub fn new(seed: u64) -> Self {
        Engine { now: Instant::ZERO, queue: EventQueue::new(), trace: Trace::off(), streams: RngStreams::new(seed), events: 0, stop: false }
    }

    /// Same as [`Engine::new`] with room for `capacity` pending events.
    pub fn with_capacity(seed: u64, capacity: usize) -> Self {
        Engine { queue: EventQueue::with_capacity(capacity), ..Engine::new(seed) }
    }

    /// Replaces the trace (off by default).
    pub fn set_trace(&mut self, trace: Trace) {
        self.trace = trace;
    }

    /// The trace.
    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    /// The trace, mutably (to take kept events or finish the sink).
    pub fn trace_mut(&mut self) -> &mut Trace {
        &mut self.trace
    }

    /// The master seed.
    pub fn seed(&self) -> u64 {
        self.streams.master_seed()
    }

    /// The stream factory for this run's components.
    pub fn streams(&self) -> RngStreams {
        self.streams
    }

    /// The current virtual time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Events handled so far.
    pub fn events_handled(&self) -> u64 {
        self.events
    }

    /// Pending entries (including cancelled timer entries not yet discarded).
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// A handler context at the current time, for scheduling the first events.
    pub fn ctx(&mut self) -> Ctx<'_, E> {
        Ctx { now: self.now, queue: &mut self.queue, trace: &mut self.trace, stop: &mut self.stop }
    }

    /// Handles the next event, unless it lies after `until`. Returns false when nothing was run.
    pub fn step<M: Model<Event = E>>(&mut self, model: &mut M, until: Option<Instant>) -> bool {
        let Some(next) = self.queue.peek_time() else { return false };
        if until.is_some_and(|u| next > u) {
            return false;
        }
        let (time, event) = self.queue.pop().expect("peeked an entry that is no longer there");
        debug_assert!(time >= self.now, "the clock went backwards");
        self.now = time;
        self.events += 1;
        let mut ctx = Ctx { now: time, queue: &mut self.queue, trace: &mut self.trace, stop: &mut self.stop };
        model.on_event(&mut ctx, event);
        true
    }

    /// Runs until the queue drains, the time limit is reached, or a handler stops the run.
    pub fn run<M: Model<Event = E>>(&mut self, model: &mut M, limits: RunLimits) -> Result<RunStats, LimitExceeded> {
        let budget_end = limits.max_events.map(|m| self.events.saturating_add(m));
        loop {
            if self.stop {
                self.stop = false;
                return Ok(self.stats(StopReason::Stopped));
            }
            if budget_end.is_some_and(|end| self.events >= end) && self.queue.peek_time().is_some() {
                return Err(LimitExceeded { seed: self.seed(), now: self.now, events: self.events });
            }
            if !self.step(model, limits.until) {
                return Ok(match (self.queue.peek_time(), limits.until) {
                    (Some(_), Some(until)) => {
                        self.now = self.now.max(until);
                        self.stats(StopReason::ReachedTime)
                    }
                    _ => self.stats(StopReason::Drained),
                });
            }
        }
    }

    fn stats(&self, reason: StopReason) -> RunStats {
        RunStats { reason, events: self.events, now: self.now }
    }
}
