//! A deterministic virtual-time discrete-event engine.
//!
//! It knows nothing of Kafka. It offers virtual time ([`Instant`], [`Duration`] in integer
//! nanoseconds), an event queue totally ordered by `(time, insertion sequence)`, cheap
//! re-armable timers, seeded random streams derived by component name, a trace that can be
//! hashed or written as JSON lines, and run limits. The same model, input and seed give the
//! same sequence of events, byte for byte, on every machine.
//!
//! ```text
//!   seed ──► RngStreams ──stream("net/link/0->2")──► Stream (ChaCha8, one per component)
//!
//!   Engine::run ──pop earliest (time, seq)──► Model::on_event(ctx, event)
//!        ▲                                          │ ctx.schedule_at / arm / disarm
//!        └─────────────── EventQueue ◄──────────────┘ ctx.trace ──► Trace (hash, sink)
//! ```
//!
//! A run is one [`Engine`] and one [`Model`] value that owns every component of the simulated
//! world. The engine pops the earliest pending event, sets the clock to its time and hands it
//! to the model with a [`Ctx`]; the handler schedules further events, arms or disarms timers
//! and records trace events. Components never hold references to each other: they talk only by
//! scheduling events. [`RunLimits`] bound a run by virtual time, by event count and by a progress guard (events
//! per window of virtual time); a run stopped by a bound returns [`BoundReached`] as data.
//!
//! ```
//! use sim::{Ctx, Duration, Engine, Instant, Model, RunLimits, StopReason, Trace};
//!
//! /// Ticks every 10 ms.
//! struct Ticker {
//!     tick_count: u64,
//! }
//!
//! impl Model for Ticker {
//!     type Event = ();
//!     fn on_event(&mut self, ctx: &mut Ctx<'_, ()>, (): ()) {
//!         self.tick_count += 1;
//!         let n = self.tick_count;
//!         ctx.trace("ticker", "tick", |e| e.with("n", n));
//!         ctx.schedule_after(Duration::from_millis(10), ());
//!     }
//! }
//!
//! let mut engine = Engine::new(42);
//! engine.set_trace(Trace::hashing());
//! engine.ctx().schedule_at(Instant::ZERO, ());
//! let limits = RunLimits::unbounded().until(Instant::from_millis(100))?;
//! let stats = engine.run(&mut Ticker { tick_count: 0 }, limits)?;
//! assert_eq!(stats.reason, StopReason::ReachedTime);
//! assert_eq!(stats.events, 11, "ticks at 0, 10, ..., 100 ms");
//! assert_eq!(engine.trace().event_count(), 11);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Determinism
//!
//! - Time is `u64` nanoseconds; nothing reads the wall clock, sleeps or spawns threads.
//! - The queue orders by `(time, seq)`, where `seq` counts insertions, so events at the same
//!   instant run in the order they were scheduled, whatever the heap does with ties.
//! - Timers are generation-checked slots: a disarmed or re-armed timer's old entry is skipped,
//!   so it can never fire, and `arm` costs one push.
//! - Every component draws from its own ChaCha8 stream, keyed by the master seed and the
//!   component's name through hashes written in [`rng`]; adding a component or a draw in one
//!   component leaves every other component's draws unchanged. All samplers live in [`rng`],
//!   so upgrading `rand` cannot change a result.
//! - Ordering decisions use integers only (`bernoulli` takes an integer ratio); float samples
//!   are rounded to whole nanoseconds at once. Float samplers go through the platform's libm,
//!   so golden values are pinned to the CI platform.
//! - The [`Trace`] hashes every event's canonical JSON line with FNV-1a: two runs agree if and
//!   only if (up to hash collisions) their hashes agree. The tests check this twice in one
//!   process and across two processes.
//!
//! # Fidelity
//!
//! The engine models no Kafka behaviour itself. It supplies what the producer's own loop needs.
//! Kafka's sender thread (`Sender.sendProducerData` in
//! `clients/.../producer/internals/Sender.java`) blocks in `client.poll(timeout)`, with the
//! timeout the minimum of the next ready check (linger or retry backoff), the connection backoff
//! of nodes not ready, and the next batch expiry; or until a network response arrives. That is
//! next-event simulation with re-armable deadlines, so the engine jumps from deadline to
//! deadline rather than ticking. Nothing here simulates contention for CPU or memory: handlers
//! take zero virtual time unless a model schedules a delay.
//!
//! # Performance
//!
//! An entry is 24 bytes plus the event; a plain schedule is one heap push, and a pop checks
//! the timer generation only for timer entries. Stale timer entries are dropped in bulk once
//! they outnumber live ones, so a timer re-armed on every event cannot swell the heap.
//! [`hold`] holds the classic hold-model workload used by the criterion benchmark
//! (`cargo bench -p sim`) and by `linger bench engine` to compare the engine with a bare
//! `BinaryHeap`.

#![deny(missing_docs)]

mod engine;
pub mod hold;
mod queue;
pub mod rng;
mod time;
pub mod trace;

pub use engine::{
    Bound, BoundReached, Ctx, Engine, LimitsError, Model, ProgressGuard, RunLimits, RunStats,
    StopReason, kind_from_debug,
};
pub use queue::TimerId;
pub use rng::{Dist, DistError, RngStreams, Stream, Zipf};
pub use time::{Duration, Instant};
pub use trace::{Trace, TraceEvent, Value};
