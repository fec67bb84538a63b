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
//!
//! Every run ends: `RunLimits` bound it by virtual time, by an event budget and by the progress
//! guard (events per window of virtual time), and a bound reached is returned as data
//! ([`BoundReached`], naming the bound, the seed, the virtual time and, for the guard, the kind
//! of event that dominated), never as a panic.

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

    /// A short name for the kind of `event` (e.g. `"Cluster::FetchSend"`), used only when the
    /// progress guard stops a run, to name what dominated the storm. The default names nothing.
    fn event_kind(&self, event: &Self::Event) -> String {
        let _ = event;
        String::from("event")
    }
}

/// The kind of an event from its `Debug` text: the variant names down to the first field, as a
/// path (`Cluster(FetchSend { follower: 1, .. })` becomes `Cluster::FetchSend`).
pub fn kind_from_debug(debug: &str) -> String {
    let mut kind = String::new();
    for c in debug.chars() {
        match c {
            '(' => kind.push_str("::"),
            c if c.is_alphanumeric() || c == '_' => kind.push(c),
            _ => break,
        }
    }
    kind.trim_end_matches(':').to_owned()
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
        assert!(
            at >= self.now,
            "scheduled an event at {at}, before now ({})",
            self.now
        );
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
        assert!(
            at >= self.now,
            "armed a timer at {at}, before now ({})",
            self.now
        );
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
    ///
    /// `component` is evaluated by the caller even when tracing is off, so pass a name the
    /// component keeps (`&self.name`) rather than one formatted per call.
    #[inline]
    pub fn trace(
        &mut self,
        component: &str,
        kind: &'static str,
        fill: impl FnOnce(TraceEvent) -> TraceEvent,
    ) {
        if self.trace.is_on() {
            let event = TraceEvent {
                time: self.now,
                component: component.to_owned(),
                kind,
                fields: Vec::new(),
            };
            self.trace.record(fill(event));
        }
    }

    /// Ends the current [`Engine::run`] after this event with [`StopReason::Stopped`]. Pending
    /// events stay queued, so a later run resumes where this one stopped.
    pub fn stop(&mut self) {
        *self.stop = true;
    }
}

/// Bounds on one run. At least one of `until` and `max_events` should be set for open models.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunLimits {
    until: Option<Instant>,
    max_events: Option<u64>,
    guard: Option<ProgressGuard>,
}

/// The progress guard: at most `max_events` events within any window of `window` virtual time
/// (windows start at the first event after the previous one ended). A model that schedules
/// unbounded work at one instant, or at nanosecond steps, trips it instead of hanging.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProgressGuard {
    /// Events allowed in one window.
    pub max_events: u64,
    /// The window's length in virtual time.
    pub window: Duration,
}

impl ProgressGuard {
    /// The default: 50,000 events per virtual millisecond (50 million per virtual second, about
    /// 500 times the default experiment's busiest millisecond, and about a wall-clock minute
    /// of simulation per virtual second).
    pub const DEFAULT: ProgressGuard = ProgressGuard {
        max_events: 50_000,
        window: Duration::from_millis(1),
    };
}

/// A run limit that makes no sense.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LimitsError {
    /// `max_events` was zero.
    ZeroMaxEvents,
    /// The progress guard allows no event at all.
    ZeroGuard,
    /// `until` was zero: the run would end before it starts.
    ZeroUntil,
}

impl fmt::Display for LimitsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitsError::ZeroMaxEvents => {
                write!(f, "max_events must be at least 1 (got 0)")
            }
            LimitsError::ZeroGuard => write!(
                f,
                "the progress guard must allow at least 1 event in a window of at least 1 ns"
            ),
            LimitsError::ZeroUntil => write!(
                f,
                "until must be a virtual time greater than zero (got 0): \
                 the run would end before it starts"
            ),
        }
    }
}

impl std::error::Error for LimitsError {}

impl RunLimits {
    /// No limits: run until no events remain.
    pub const fn unbounded() -> Self {
        RunLimits {
            until: None,
            max_events: None,
            guard: None,
        }
    }
    /// Stop before any event later than `until`.
    pub fn until(self, until: Instant) -> Result<Self, LimitsError> {
        if until == Instant::ZERO {
            return Err(LimitsError::ZeroUntil);
        }
        Ok(RunLimits {
            until: Some(until),
            ..self
        })
    }
    /// Stop with [`BoundReached`] ([`Bound::Progress`]) before more than `guard.max_events`
    /// events are handled within one window of `guard.window`.
    pub fn progress_guard(self, guard: ProgressGuard) -> Result<Self, LimitsError> {
        if guard.max_events == 0 || guard.window == Duration::ZERO {
            return Err(LimitsError::ZeroGuard);
        }
        Ok(RunLimits {
            guard: Some(guard),
            ..self
        })
    }
    /// Stop with [`BoundReached`] ([`Bound::MaxEvents`]) once more than `max_events` events
    /// would be handled.
    pub fn max_events(self, max_events: u64) -> Result<Self, LimitsError> {
        if max_events == 0 {
            return Err(LimitsError::ZeroMaxEvents);
        }
        Ok(RunLimits {
            max_events: Some(max_events),
            ..self
        })
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

/// Which bound stopped a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Bound {
    /// The run's event budget ([`RunLimits::max_events`]).
    MaxEvents {
        /// The budget of this call to [`Engine::run`].
        limit: u64,
    },
    /// The progress guard ([`RunLimits::progress_guard`]): too many events in one window.
    Progress {
        /// The guard that tripped.
        guard: ProgressGuard,
        /// The kind ([`Model::event_kind`]) of most of the last events before it tripped.
        kind: String,
    },
}

/// A run stopped by a bound, not by its model: data for the caller, with the seed and the
/// virtual time that let it be replayed. Pending events stay queued.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BoundReached {
    /// Which bound.
    pub bound: Bound,
    /// Master seed of the run.
    pub seed: u64,
    /// Virtual time at which the bound was reached.
    pub now: Instant,
    /// Events handled.
    pub events: u64,
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bound::MaxEvents { limit } => write!(f, "the event budget of {limit} events"),
            Bound::Progress { guard, kind } => write!(
                f,
                "the progress guard ({} events within {} of virtual time, mostly {kind})",
                guard.max_events, guard.window
            ),
        }
    }
}

impl fmt::Display for BoundReached {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "bound reached: {} at virtual time {} after {} events (run seed {})",
            self.bound, self.now, self.events, self.seed
        )
    }
}

impl std::error::Error for BoundReached {}

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
    window: GuardWindow,
}

/// The progress guard's current window: when it ends, how many events it has seen, and the
/// kinds of its last events (tallied only near the guard's limit, so the hot path stays cheap).
#[derive(Debug, Default)]
struct GuardWindow {
    end: Instant,
    events: u64,
    kinds: Vec<(String, u64)>,
}

/// How many of the last events before the guard trips are tallied by kind.
const GUARD_TALLY_EVENTS: u64 = 4096;

impl GuardWindow {
    /// Counts an event at `time`; true when the guard's tally should see it.
    #[inline]
    fn count(&mut self, time: Instant, guard: &ProgressGuard) -> bool {
        if time >= self.end {
            self.end = time.saturating_add(guard.window);
            self.events = 0;
            self.kinds.clear();
        }
        self.events += 1;
        self.events + GUARD_TALLY_EVENTS > guard.max_events
    }

    fn tally(&mut self, kind: String) {
        match self.kinds.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, n)) => *n += 1,
            None => self.kinds.push((kind, 1)),
        }
    }

    /// The most frequent tallied kind (the first seen among equals).
    fn dominant_kind(&self) -> String {
        let mut best: Option<&(String, u64)> = None;
        for entry in &self.kinds {
            if best.is_none_or(|b| entry.1 > b.1) {
                best = Some(entry);
            }
        }
        best.map_or_else(|| String::from("event"), |(k, _)| k.clone())
    }
}

impl<E> Engine<E> {
    /// An engine at time zero for a run with this master seed.
    pub fn new(seed: u64) -> Self {
        Engine {
            now: Instant::ZERO,
            queue: EventQueue::new(),
            trace: Trace::off(),
            streams: RngStreams::new(seed),
            events: 0,
            stop: false,
            window: GuardWindow::default(),
        }
    }

    /// Same as [`Engine::new`] with room for `capacity` pending events.
    pub fn with_capacity(seed: u64, capacity: usize) -> Self {
        Engine {
            queue: EventQueue::with_capacity(capacity),
            ..Engine::new(seed)
        }
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
        Ctx {
            now: self.now,
            queue: &mut self.queue,
            trace: &mut self.trace,
            stop: &mut self.stop,
        }
    }

    /// Handles the next event, unless it lies after `until`. Returns false when nothing was run.
    ///
    /// Stepping ignores [`Ctx::stop`]; a stop requested during a step ends the next
    /// [`Engine::run`] before it handles any event.
    pub fn step<M: Model<Event = E>>(&mut self, model: &mut M, until: Option<Instant>) -> bool {
        match self.queue.pop_due(until.unwrap_or(Instant::MAX)) {
            Some((time, event)) => {
                self.dispatch(model, time, event);
                true
            }
            None => false,
        }
    }

    #[inline]
    fn dispatch<M: Model<Event = E>>(&mut self, model: &mut M, time: Instant, event: E) {
        debug_assert!(time >= self.now, "the clock went backwards");
        self.now = time;
        self.events += 1;
        let mut ctx = Ctx {
            now: time,
            queue: &mut self.queue,
            trace: &mut self.trace,
            stop: &mut self.stop,
        };
        model.on_event(&mut ctx, event);
    }

    /// Runs until the queue drains, the time limit is reached, or a handler stops the run.
    ///
    /// Events at exactly `until` are handled. At most `max_events` events are handled by this
    /// call, and at most the progress guard's count within one of its windows; if one more
    /// event is due within the time limit, the run stops with [`BoundReached`], which names
    /// the bound, the seed and the virtual time.
    pub fn run<M: Model<Event = E>>(
        &mut self,
        model: &mut M,
        limits: RunLimits,
    ) -> Result<RunStats, BoundReached> {
        let budget_end = limits
            .max_events
            .map_or(u64::MAX, |m| self.events.saturating_add(m));
        let until = limits.until.unwrap_or(Instant::MAX);
        loop {
            if self.stop {
                self.stop = false;
                return Ok(self.stats(StopReason::Stopped));
            }
            if self.events >= budget_end && self.queue.peek_time().is_some_and(|t| t <= until) {
                let limit = limits.max_events.unwrap_or(u64::MAX);
                return Err(self.bound_reached(Bound::MaxEvents { limit }));
            }
            if let Some(guard) = &limits.guard
                && self.window.events >= guard.max_events
                && self
                    .queue
                    .peek_time()
                    .is_some_and(|t| t < self.window.end && t <= until)
            {
                let kind = self.window.dominant_kind();
                return Err(self.bound_reached(Bound::Progress {
                    guard: *guard,
                    kind,
                }));
            }
            let Some((time, event)) = self.queue.pop_due(until) else {
                return Ok(self.stop_without_due_event(limits.until));
            };
            if let Some(guard) = &limits.guard
                && self.window.count(time, guard)
            {
                self.window.tally(model.event_kind(&event));
            }
            self.dispatch(model, time, event);
        }
    }

    fn bound_reached(&self, bound: Bound) -> BoundReached {
        BoundReached {
            bound,
            seed: self.seed(),
            now: self.now,
            events: self.events,
        }
    }

    /// Stats for a run that found no event due: drained, or stopped at the time limit with the
    /// clock moved to the limit.
    fn stop_without_due_event(&mut self, until: Option<Instant>) -> RunStats {
        match (self.queue.peek_time(), until) {
            (Some(_), Some(until)) => {
                self.now = self.now.max(until);
                self.stats(StopReason::ReachedTime)
            }
            _ => self.stats(StopReason::Drained),
        }
    }

    fn stats(&self, reason: StopReason) -> RunStats {
        RunStats {
            reason,
            events: self.events,
            now: self.now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each event `n > 0` schedules event `n - 1` one millisecond later; records what it saw.
    struct Countdown {
        seen: Vec<(u64, u32)>,
        stop_at: Option<u32>,
    }

    impl Model for Countdown {
        type Event = u32;
        fn on_event(&mut self, ctx: &mut Ctx<'_, u32>, event: u32) {
            self.seen.push((ctx.now().as_millis(), event));
            if self.stop_at == Some(event) {
                ctx.stop();
            }
            if event > 0 {
                ctx.schedule_after(Duration::from_millis(1), event - 1);
            }
        }
    }

    fn countdown_from(start: u32) -> (Engine<u32>, Countdown) {
        let mut engine = Engine::new(7);
        engine.ctx().schedule_at(Instant::from_millis(1), start);
        let model = Countdown {
            seen: Vec::new(),
            stop_at: None,
        };
        (engine, model)
    }

    #[test]
    fn zero_limits_are_rejected_with_a_message_naming_the_key() {
        let zero_events = RunLimits::unbounded().max_events(0);
        assert_eq!(zero_events, Err(LimitsError::ZeroMaxEvents));
        let message = LimitsError::ZeroMaxEvents.to_string();
        assert!(message.contains("max_events"), "{message}");
        let zero_time = RunLimits::unbounded().until(Instant::ZERO);
        assert_eq!(zero_time, Err(LimitsError::ZeroUntil));
        assert!(LimitsError::ZeroUntil.to_string().contains("until"));
    }

    #[test]
    fn unbounded_run_drains_the_queue() {
        let (mut engine, mut model) = countdown_from(3);
        let stats = engine
            .run(&mut model, RunLimits::unbounded())
            .expect("no budget");
        assert_eq!(stats.reason, StopReason::Drained);
        assert_eq!(stats.events, 4);
        assert_eq!(stats.now, Instant::from_millis(4));
        assert_eq!(model.seen, vec![(1, 3), (2, 2), (3, 1), (4, 0)]);
    }

    #[test]
    fn time_limit_handles_events_at_the_limit_and_moves_the_clock_to_it() {
        let (mut engine, mut model) = countdown_from(100);
        let limits = RunLimits::unbounded()
            .until(Instant::from_nanos(3_500_000))
            .expect("non-zero");
        let stats = engine.run(&mut model, limits).expect("no budget");
        assert_eq!(stats.reason, StopReason::ReachedTime);
        assert_eq!(stats.events, 3, "events at 1, 2 and 3 ms");
        assert_eq!(engine.now(), Instant::from_nanos(3_500_000));
        let limits = RunLimits::unbounded()
            .until(Instant::from_millis(4))
            .expect("non-zero");
        let stats = engine.run(&mut model, limits).expect("no budget");
        assert_eq!(stats.events, 4, "the event at exactly 4 ms runs");
    }

    #[test]
    fn exceeding_the_event_budget_reports_seed_and_time() {
        let (mut engine, mut model) = countdown_from(100);
        let limits = RunLimits::unbounded().max_events(5).expect("non-zero");
        let error = engine
            .run(&mut model, limits)
            .expect_err("100 events exceed a budget of 5");
        assert_eq!(error.seed, 7);
        assert_eq!(error.events, 5);
        assert_eq!(error.now, Instant::from_millis(5));
        let message = error.to_string();
        assert!(message.contains("seed 7"), "{message}");
        assert!(message.contains("0.005000000s"), "{message}");
    }

    #[test]
    fn a_budget_that_is_exactly_enough_is_not_exceeded() {
        let (mut engine, mut model) = countdown_from(4);
        let limits = RunLimits::unbounded().max_events(5).expect("non-zero");
        let stats = engine.run(&mut model, limits).expect("5 events fit");
        assert_eq!(stats.reason, StopReason::Drained);
    }

    #[test]
    fn an_event_after_the_time_limit_does_not_count_against_the_budget() {
        let (mut engine, mut model) = countdown_from(100);
        let limits = RunLimits::unbounded()
            .until(Instant::from_millis(2))
            .and_then(|l| l.max_events(2))
            .expect("non-zero");
        let stats = engine.run(&mut model, limits).expect("2 events fit");
        assert_eq!(stats.reason, StopReason::ReachedTime);
        assert_eq!(stats.events, 2);
    }

    #[test]
    fn a_handler_can_stop_the_run_and_a_later_run_resumes() {
        let (mut engine, mut model) = countdown_from(5);
        model.stop_at = Some(3);
        let stats = engine
            .run(&mut model, RunLimits::unbounded())
            .expect("no budget");
        assert_eq!(stats.reason, StopReason::Stopped);
        assert_eq!(stats.events, 3);
        let stats = engine
            .run(&mut model, RunLimits::unbounded())
            .expect("no budget");
        assert_eq!(stats.reason, StopReason::Drained);
        assert_eq!(stats.events, 6);
    }

    #[test]
    fn step_respects_its_time_bound() {
        let (mut engine, mut model) = countdown_from(5);
        assert!(!engine.step(&mut model, Some(Instant::from_nanos(999_999))));
        assert!(engine.step(&mut model, Some(Instant::from_millis(1))));
        assert!(engine.step(&mut model, None));
        assert_eq!(model.seen, vec![(1, 5), (2, 4)]);
        assert_eq!(engine.events_handled(), 2);
    }

    /// Schedules itself again at the same instant forever (a livelock), with a second kind of
    /// event every tenth time.
    #[derive(Debug)]
    enum Storm {
        Spin,
        Aside,
    }

    struct Livelock {
        handled: u64,
    }

    impl Model for Livelock {
        type Event = Storm;
        fn on_event(&mut self, ctx: &mut Ctx<'_, Storm>, event: Storm) {
            self.handled += 1;
            if let Storm::Spin = event {
                ctx.schedule_after(Duration::ZERO, Storm::Spin);
                if self.handled.is_multiple_of(10) {
                    ctx.schedule_after(Duration::ZERO, Storm::Aside);
                }
            }
        }
        fn event_kind(&self, event: &Storm) -> String {
            kind_from_debug(&format!("{event:?}"))
        }
    }

    fn guarded(max_events: u64, window: Duration) -> RunLimits {
        RunLimits::unbounded()
            .progress_guard(ProgressGuard { max_events, window })
            .expect("non-zero")
    }

    #[test]
    fn the_progress_guard_stops_a_livelock_at_one_instant_and_names_its_event() {
        let mut engine = Engine::new(9);
        engine
            .ctx()
            .schedule_at(Instant::from_millis(3), Storm::Spin);
        let mut model = Livelock { handled: 0 };
        let reached = engine
            .run(&mut model, guarded(10_000, Duration::from_millis(1)))
            .expect_err("a livelock never ends");
        assert_eq!(reached.events, 10_000, "exactly the guard's count ran");
        assert_eq!(model.handled, 10_000);
        assert_eq!(reached.now, Instant::from_millis(3));
        assert_eq!(reached.seed, 9);
        let Bound::Progress { kind, .. } = &reached.bound else {
            panic!("expected the progress guard, got {:?}", reached.bound);
        };
        assert_eq!(kind, "Spin");
        let message = reached.to_string();
        assert!(
            message.starts_with("bound reached: the progress guard"),
            "{message}"
        );
        assert!(message.contains("mostly Spin"), "{message}");
        assert!(message.contains("run seed 9"), "{message}");
    }

    #[test]
    fn the_progress_guard_stops_a_storm_at_nanosecond_steps() {
        struct Creep;
        impl Model for Creep {
            type Event = ();
            fn on_event(&mut self, ctx: &mut Ctx<'_, ()>, (): ()) {
                ctx.schedule_after(Duration::from_nanos(1), ());
            }
        }
        let mut engine = Engine::new(1);
        engine.ctx().schedule_at(Instant::ZERO, ());
        let reached = engine
            .run(&mut Creep, guarded(500, Duration::from_micros(1)))
            .expect_err("a 1 ns storm never ends");
        assert_eq!(reached.events, 500);
        assert_eq!(reached.now, Instant::from_nanos(499));
        assert!(matches!(reached.bound, Bound::Progress { .. }));
    }

    #[test]
    fn the_progress_guard_lets_a_steady_model_run_forever() {
        // 100 events per window of 1 ms, guard at 100: never trips, whatever the run's length.
        let (mut engine, mut model) = countdown_from(50_000);
        let stats = engine
            .run(&mut model, guarded(1, Duration::from_micros(999)))
            .expect("one event per millisecond fits a guard of one per window");
        assert_eq!(stats.reason, StopReason::Drained);
        assert_eq!(stats.events, 50_001);
    }

    #[test]
    fn a_zero_guard_is_rejected() {
        let zero = RunLimits::unbounded().progress_guard(ProgressGuard {
            max_events: 0,
            window: Duration::from_millis(1),
        });
        assert_eq!(zero, Err(LimitsError::ZeroGuard));
    }

    #[test]
    fn kinds_from_debug_keep_the_variant_path() {
        assert_eq!(
            kind_from_debug("Cluster(FetchSend { follower: 1 })"),
            "Cluster::FetchSend"
        );
        assert_eq!(kind_from_debug("Run(Poll)"), "Run::Poll");
        assert_eq!(kind_from_debug("Spin"), "Spin");
    }

    #[test]
    fn tracing_closure_runs_only_when_the_trace_is_on() {
        struct Tracer;
        impl Model for Tracer {
            type Event = ();
            fn on_event(&mut self, ctx: &mut Ctx<'_, ()>, (): ()) {
                let on = ctx.tracing();
                ctx.trace("tracer", "tick", |e| {
                    assert!(on, "the closure ran with tracing off");
                    e.with("n", 1u64)
                });
            }
        }
        for (trace, expected) in [(Trace::off(), 0), (Trace::keeping(), 1)] {
            let mut engine = Engine::new(1);
            engine.set_trace(trace);
            engine.ctx().schedule_at(Instant::from_nanos(5), ());
            engine
                .run(&mut Tracer, RunLimits::unbounded())
                .expect("no budget");
            assert_eq!(engine.trace().event_count(), expected);
            assert_eq!(engine.trace().events().len(), expected as usize);
        }
    }
}
