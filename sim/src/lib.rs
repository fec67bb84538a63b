//! A deterministic virtual-time discrete-event engine.
//!
//! It knows nothing of Kafka. It offers virtual time ([`Instant`], [`Duration`] in integer
//! nanoseconds), an event queue totally ordered by `(time, insertion sequence)`, cheap
//! re-armable timers, seeded random streams derived by component name, a trace that can be
//! hashed or written as JSON lines, and run limits. The same model, input and seed give the
//! same sequence of events, byte for byte, on every machine.

#![deny(missing_docs)]

mod engine;
mod queue;
pub mod rng;
mod time;
pub mod trace;

pub use engine::{Ctx, Engine, LimitExceeded, LimitsError, Model, RunLimits, RunStats, StopReason};
pub use queue::TimerId;
pub use rng::{Dist, RngStreams, Stream};
pub use time::{Duration, Instant};
pub use trace::{Trace, TraceEvent, Value};
