//! The application's main thread: what it sends, when, and how it waits.
//!
//! ```text
//!   arrivals ("workload/arrivals") ──► send() ──► accumulator.append ──► wake sender
//!   keys ("workload/keys"), value sizes ("workload/values")        │
//!   sync mode: the next send waits for this record's ack/failure ◄─┘
//! ```
//!
//! Units: rates in records per virtual second, sizes in bytes, times in ms in the file and
//! integer ns inside.
//!
//! Fidelity: follows the seed document's `SimpleProducerSync` / async-with-callback examples and
//! `KafkaProducer.send()` (facts §2.1): one application thread, a per-send CPU cost during which
//! the thread is busy, blocking in `send()` for buffer memory up to `max.block.ms`, and
//! `flush()` waiting for every record sent before the call. Simplified: the thread does nothing
//! else (no think time between sync sends beyond the CPU cost).

use serde::Deserialize;
use sim::{Duration, Stream};

/// How the application calls `send()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SendMode {
    /// `send(record, callback)`: fire and continue (open loop at the arrival rate).
    #[default]
    Async,
    /// `send(record).get()`: the next send waits for this record's ack or failure (closed loop).
    Sync,
}

/// When records arrive at the application thread (open loop).
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Arrivals {
    /// Evenly spaced at `per_sec` records per second.
    Constant {
        /// Records per virtual second.
        per_sec: f64,
    },
    /// A Poisson process with mean `per_sec` records per second.
    Poisson {
        /// Mean records per virtual second.
        per_sec: f64,
    },
    /// Alternating bursts: `per_sec` (constant spacing) for `on_ms`, then silence for `off_ms`.
    OnOff {
        /// Records per virtual second while on.
        per_sec: f64,
        /// Length of an on period in ms.
        on_ms: f64,
        /// Length of an off period in ms.
        off_ms: f64,
    },
    /// As fast as the thread can go: the next send starts when the previous `send()` returns.
    /// (A struct variant with no fields, so that `deny_unknown_fields` refuses a stray key
    /// beside `kind`, which serde ignores for a unit variant of an internally tagged enum.)
    Saturate {},
}

impl Default for Arrivals {
    fn default() -> Self {
        Arrivals::Constant { per_sec: 100_000.0 }
    }
}

/// Which keys the records carry.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Keys {
    /// No key: the built-in sticky partitioner chooses (no fields, refusing stray keys as
    /// [`Arrivals::Saturate`] does).
    None {},
    /// Key `key-<k>` with `k` uniform over `0..count`.
    Uniform {
        /// Number of distinct keys.
        count: u64,
    },
    /// Key `key-<k>` with `k` Zipf-distributed (exponent `s`) over `0..count`.
    Zipf {
        /// Number of distinct keys.
        count: u64,
        /// The Zipf exponent (`s > 0`).
        s: f64,
    },
}

/// The size of each record's value.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum ValueBytes {
    /// Always this many bytes.
    Constant(u32),
    /// A distribution.
    Dist(ValueDist),
}

impl Default for Keys {
    fn default() -> Self {
        Keys::None {}
    }
}

impl Default for ValueBytes {
    fn default() -> Self {
        ValueBytes::Constant(512)
    }
}

/// A distribution of value sizes.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
pub enum ValueDist {
    /// Uniform over `min..=max` bytes.
    Uniform {
        /// Smallest value size.
        min: u32,
        /// Largest value size.
        max: u32,
    },
    /// Exponential with this mean, at least 1 byte.
    Exponential {
        /// Mean value size.
        mean: u32,
    },
}

/// The shortest `flush_every_ms` (0 turns periodic flushes off).
pub const FLUSH_EVERY_MS_MIN: f64 = 0.1;

/// How the application's main thread ends after its last `send()`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SendingEnd {
    /// `flush()`, and the producer stays open (the default: every record gets its callback).
    #[default]
    Flush,
    /// `close()`, or `close(Duration)` with `close_timeout_ms`: new sends are refused, every
    /// queued batch is sent at once, and the producer waits for their answers (at most the
    /// timeout, then it closes forcefully and fails what is left).
    Close,
    /// `main` returns without `flush()` or `close()`: the JVM exits, and the producer's I/O
    /// thread (a daemon thread) dies with it; what is still queued is never sent and no callback runs.
    Exit,
}

/// [`SendingEnd`] with its timeout, validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EndPlan {
    Flush,
    Close { timeout_ns: Option<u64> },
    Exit,
}

/// The `[workload]` section: the application's main thread.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkloadConfig {
    /// `async` (callback) or `sync` (`send().get()`).
    pub mode: SendMode,
    /// The arrival process (async mode; sync mode sends back to back).
    pub arrivals: Arrivals,
    /// Keys.
    pub keys: Keys,
    /// Value sizes in bytes.
    pub value_bytes: ValueBytes,
    /// CPU time of one `send()` call on the application thread, in ms.
    pub send_cpu_ms: f64,
    /// Call `flush()` every this many ms (0: never).
    pub flush_every_ms: f64,
    /// Stop after this many records (0: no limit; the run's duration still applies).
    pub records: u64,
    /// How the main thread ends after its last send.
    pub end: SendingEnd,
    /// `close(Duration)`'s timeout in ms (only with `end = "close"`; absent: `close()`, which
    /// waits as long as it takes).
    pub close_timeout_ms: Option<f64>,
    /// What the values look like (`[workload.values]`): what a codec measures its ratio on.
    pub values: super::compression::ValueContent,
    /// Where the codec's ratio and speeds come from (`[workload.compression]`).
    pub compression: super::compression::CompressionCosts,
    /// A transactional producer commits after this many records in its transaction.
    pub commit_every_records: Option<u64>,
    /// A transactional producer commits when its transaction has been open this many ms
    /// (with neither key, every 100 ms).
    pub commit_every_ms: Option<f64>,
}

/// A transactional producer's commit interval when the workload names none.
pub const COMMIT_EVERY_MS_DEFAULT: f64 = 100.0;

/// When a transactional producer's application commits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CommitPlan {
    /// After this many records in the transaction.
    pub(crate) records: Option<u64>,
    /// After the transaction has been open this long.
    pub(crate) interval_ns: Option<u64>,
}

impl Default for WorkloadConfig {
    fn default() -> Self {
        WorkloadConfig {
            mode: SendMode::Async,
            arrivals: Arrivals::default(),
            keys: Keys::None {},
            value_bytes: ValueBytes::default(),
            send_cpu_ms: 0.0,
            flush_every_ms: 0.0,
            records: 0,
            end: SendingEnd::Flush,
            close_timeout_ms: None,
            values: super::compression::ValueContent::default(),
            compression: super::compression::CompressionCosts::default(),
            commit_every_records: None,
            commit_every_ms: None,
        }
    }
}

/// A `[workload]` value that makes no sense.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("[workload] {key}: {message}")]
pub struct WorkloadError {
    /// The offending key.
    pub key: &'static str,
    /// What is wrong and what is allowed.
    pub message: String,
}

fn bad(key: &'static str, message: impl Into<String>) -> WorkloadError {
    WorkloadError {
        key,
        message: message.into(),
    }
}

/// Converts a non-negative, finite number of ms, at most
/// [`DURATION_MS_MAX`](crate::cluster::config::DURATION_MS_MAX), to integer ns.
pub(crate) fn ms_to_ns(key: &'static str, ms: f64) -> Result<u64, WorkloadError> {
    use crate::cluster::config::{DURATION_ALLOWED, DURATION_MS_MAX, show_number};
    if !ms.is_finite() || !(0.0..=DURATION_MS_MAX).contains(&ms) {
        return Err(bad(
            key,
            format!("{} is not a duration: {DURATION_ALLOWED}", show_number(ms)),
        ));
    }
    Ok((ms * 1e6).round() as u64)
}

/// The highest arrival rate: one record per virtual nanosecond.
pub const RATE_PER_SEC_MAX: f64 = 1e9;

/// The lowest arrival rate: one record per 10^7 s (the longest run).
pub const RATE_PER_SEC_MIN: f64 = 1e-7;

/// The largest value size: Java's largest `byte[]` (`Integer.MAX_VALUE`); Kafka refuses any
/// record above `max.request.size`, itself an `INT`.
pub const VALUE_BYTES_MAX: u32 = i32::MAX as u32;

/// The most records a run may be limited to.
pub const RECORDS_MAX: u64 = 10_000_000_000;

fn rate_to_gap_ns(key: &'static str, per_sec: f64) -> Result<u64, WorkloadError> {
    if !per_sec.is_finite() || !(RATE_PER_SEC_MIN..=RATE_PER_SEC_MAX).contains(&per_sec) {
        return Err(bad(
            key,
            format!(
                "{} records per second: allowed 1e-7 ..= 1e9 (at most one record per \
                 virtual nanosecond, at least one per 10^7 s)",
                crate::cluster::config::show_number(per_sec)
            ),
        ));
    }
    let exact = 1e9 / per_sec;
    let gap = exact.round();
    // Gaps are whole nanoseconds: a rate whose gap rounds by more than 1% would silently run
    // at another rate, so it is refused (every rate up to 5e7 per second is within 1%).
    if (gap - exact).abs() > exact * 0.01 {
        return Err(bad(
            key,
            format!(
                "{per_sec} records per second would run at {} (arrivals are whole nanoseconds \
                 apart): use a rate whose gap 1e9 / per_sec is within 1% of a whole number of \
                 ns, such as 1e9, 5e8, 2.5e8 or anything up to 5e7",
                1e9 / gap
            ),
        ));
    }
    Ok(gap as u64)
}

/// The arrival process with its parameters converted to integer ns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ArrivalPlan {
    Constant {
        gap_ns: u64,
    },
    Poisson {
        mean_gap_ns: u64,
    },
    OnOff {
        gap_ns: u64,
        on_ns: u64,
        off_ns: u64,
    },
    Saturate,
}

/// Key choice with Zipf weights pre-converted to an integer cumulative table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum KeyPlan {
    None,
    Uniform { count: u64 },
    Zipf { cumulative: Vec<u64> },
}

/// Value sizes, validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ValuePlan {
    Constant(u32),
    Uniform { min: u32, max: u32 },
    Exponential { mean: u32 },
}

/// A validated workload, ready to generate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct WorkloadPlan {
    pub(crate) mode: SendMode,
    pub(crate) arrivals: ArrivalPlan,
    pub(crate) keys: KeyPlan,
    pub(crate) values: ValuePlan,
    pub(crate) send_cpu_ns: u64,
    pub(crate) flush_every_ns: u64,
    pub(crate) record_limit: Option<u64>,
    pub(crate) end: EndPlan,
    /// The send phase's length, when known (set by the world from `[run]`).
    pub(crate) duration_ns: Option<u64>,
    /// When a transactional producer commits.
    pub(crate) commit: CommitPlan,
}

/// Largest key count we build a Zipf table for (the table holds one u64 per key).
const ZIPF_KEYS_MAX: u64 = 10_000_000;

impl WorkloadConfig {
    /// Checks every value and converts to integer units.
    pub(crate) fn plan(&self) -> Result<WorkloadPlan, WorkloadError> {
        let arrivals = match self.arrivals {
            Arrivals::Constant { per_sec } => ArrivalPlan::Constant {
                gap_ns: rate_to_gap_ns("arrivals.per_sec", per_sec)?,
            },
            Arrivals::Poisson { per_sec } => ArrivalPlan::Poisson {
                mean_gap_ns: rate_to_gap_ns("arrivals.per_sec", per_sec)?,
            },
            Arrivals::OnOff {
                per_sec,
                on_ms,
                off_ms,
            } => {
                let on_ns = ms_to_ns("arrivals.on_ms", on_ms)?;
                if on_ns == 0 {
                    return Err(bad("arrivals.on_ms", "must be > 0"));
                }
                ArrivalPlan::OnOff {
                    gap_ns: rate_to_gap_ns("arrivals.per_sec", per_sec)?,
                    on_ns,
                    off_ns: ms_to_ns("arrivals.off_ms", off_ms)?,
                }
            }
            Arrivals::Saturate {} => ArrivalPlan::Saturate,
        };
        let send_cpu_ns = ms_to_ns("send_cpu_ms", self.send_cpu_ms)?;
        if arrivals == ArrivalPlan::Saturate && self.mode == SendMode::Async && send_cpu_ns == 0 {
            return Err(bad(
                "arrivals",
                "kind = \"saturate\" with mode = \"async\" needs send_cpu_ms > 0 (else infinitely many sends at one instant)",
            ));
        }
        if self.records > RECORDS_MAX {
            return Err(bad(
                "records",
                format!("{}: allowed 0 (no limit) ..= {RECORDS_MAX}", self.records),
            ));
        }
        // A flush() more often than every 0.1 ms is no application's loop, only an event storm.
        if self.flush_every_ms != 0.0 && self.flush_every_ms < FLUSH_EVERY_MS_MIN {
            return Err(bad(
                "flush_every_ms",
                format!(
                    "{}: allowed 0 (no periodic flush) or from {FLUSH_EVERY_MS_MIN} ms",
                    self.flush_every_ms
                ),
            ));
        }
        let end = match (self.end, self.close_timeout_ms) {
            (SendingEnd::Flush, None) => EndPlan::Flush,
            (SendingEnd::Exit, None) => EndPlan::Exit,
            (SendingEnd::Close, timeout) => EndPlan::Close {
                timeout_ns: timeout
                    .map(|ms| ms_to_ns("close_timeout_ms", ms))
                    .transpose()?,
            },
            (end, Some(_)) => {
                return Err(bad(
                    "close_timeout_ms",
                    format!(
                        "only with end = \"close\" (it is `close(Duration)`'s timeout); end is \"{}\"",
                        match end {
                            SendingEnd::Flush => "flush",
                            SendingEnd::Close => "close",
                            SendingEnd::Exit => "exit",
                        }
                    ),
                ));
            }
        };
        super::compression::validate(&self.values, &self.compression)?;
        let commit = self.commit_plan()?;
        Ok(WorkloadPlan {
            mode: self.mode,
            arrivals,
            keys: self.key_plan()?,
            values: self.value_plan()?,
            send_cpu_ns,
            flush_every_ns: ms_to_ns("flush_every_ms", self.flush_every_ms)?,
            record_limit: (self.records > 0).then_some(self.records),
            end,
            duration_ns: None,
            commit,
        })
    }

    /// The commit interval: records and/or ms, each at least 1 (a commit interval of 0 would
    /// commit before any record).
    fn commit_plan(&self) -> Result<CommitPlan, WorkloadError> {
        if self.commit_every_records == Some(0) {
            return Err(bad(
                "commit_every_records",
                "0: a transaction commits after at least 1 record; allowed 1 ..= 10000000000",
            ));
        }
        if let Some(n) = self.commit_every_records
            && n > RECORDS_MAX
        {
            return Err(bad(
                "commit_every_records",
                format!("{n}: allowed 1 ..= {RECORDS_MAX}"),
            ));
        }
        let interval_ns = match self.commit_every_ms {
            Some(ms) => {
                let ns = ms_to_ns("commit_every_ms", ms)?;
                if ns < 100_000 {
                    return Err(bad(
                        "commit_every_ms",
                        format!(
                            "{}: a commit interval must be at least 0.1 ms",
                            crate::cluster::config::show_number(ms)
                        ),
                    ));
                }
                Some(ns)
            }
            None if self.commit_every_records.is_none() => {
                Some(ms_to_ns("commit_every_ms", COMMIT_EVERY_MS_DEFAULT)?)
            }
            None => None,
        };
        Ok(CommitPlan {
            records: self.commit_every_records,
            interval_ns,
        })
    }

    fn key_plan(&self) -> Result<KeyPlan, WorkloadError> {
        Ok(match self.keys {
            Keys::None {} => KeyPlan::None,
            Keys::Uniform { count } => {
                if count == 0 || count > u64::from(u32::MAX) + 1 {
                    return Err(bad(
                        "keys.count",
                        format!("must be in 1..=4294967296 for uniform, got {count}"),
                    ));
                }
                KeyPlan::Uniform { count }
            }
            Keys::Zipf { count, s } => {
                if count == 0 || count > ZIPF_KEYS_MAX {
                    return Err(bad(
                        "keys.count",
                        format!("must be in 1..={ZIPF_KEYS_MAX} for zipf, got {count}"),
                    ));
                }
                if !s.is_finite() || s <= 0.0 || s > 100.0 {
                    return Err(bad(
                        "keys.s",
                        format!("{s}: the zipf exponent must be > 0 and at most 100"),
                    ));
                }
                KeyPlan::Zipf {
                    cumulative: zipf_table(count, s),
                }
            }
        })
    }

    fn value_plan(&self) -> Result<ValuePlan, WorkloadError> {
        Ok(match self.value_bytes {
            ValueBytes::Constant(n) => ValuePlan::Constant(value_bytes_in_range("value_bytes", n)?),
            ValueBytes::Dist(ValueDist::Uniform { min, max }) => {
                value_bytes_in_range("value_bytes.max", max)?;
                if min > max {
                    return Err(bad(
                        "value_bytes",
                        format!("min ({min}) is above max ({max})"),
                    ));
                }
                ValuePlan::Uniform { min, max }
            }
            ValueBytes::Dist(ValueDist::Exponential { mean }) => {
                if mean == 0 {
                    return Err(bad("value_bytes.mean", "must be at least 1"));
                }
                value_bytes_in_range("value_bytes.mean", mean)?;
                ValuePlan::Exponential { mean }
            }
        })
    }
}

fn value_bytes_in_range(key: &'static str, bytes: u32) -> Result<u32, WorkloadError> {
    if bytes > VALUE_BYTES_MAX {
        return Err(bad(
            key,
            format!("{bytes} bytes: allowed 0 ..= {VALUE_BYTES_MAX} (Integer.MAX_VALUE)"),
        ));
    }
    Ok(bytes)
}

impl WorkloadPlan {
    /// The load the application offers, in records per virtual second: the arrival process's
    /// mean rate (an on/off process averages over its periods). `None` for a closed loop (sync
    /// sends, or saturating arrivals), whose rate is whatever the producer allows.
    pub(crate) fn offered_per_sec(&self) -> Option<f64> {
        if self.mode == SendMode::Sync {
            return None;
        }
        match self.arrivals {
            ArrivalPlan::Constant { gap_ns }
            | ArrivalPlan::Poisson {
                mean_gap_ns: gap_ns,
            } => Some(1e9 / gap_ns as f64),
            ArrivalPlan::OnOff {
                gap_ns,
                on_ns,
                off_ns,
            } => Some(1e9 / gap_ns as f64 * on_ns as f64 / (on_ns + off_ns) as f64),
            ArrivalPlan::Saturate => None,
        }
    }
}

/// Integer cumulative weights of Zipf(s) over `count` keys, scaled so the total is about 2^62.
/// Floats are used once here; every draw afterwards is an integer comparison.
fn zipf_table(count: u64, s: f64) -> Vec<u64> {
    let weights: Vec<f64> = (1..=count).map(|k| (k as f64).powf(-s)).collect();
    let total: f64 = weights.iter().sum();
    let scale = (1u64 << 62) as f64 / total;
    let mut running = 0u64;
    weights
        .iter()
        .map(|w| {
            running += ((w * scale) as u64).max(1);
            running
        })
        .collect()
}

/// One record as the application hands it to `send()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NewRecord {
    /// Key index (`key-<k>`), if keyed.
    pub(crate) key: Option<u64>,
    /// Value size in bytes.
    pub(crate) value_bytes: u32,
}

/// The workload's random streams and arrival clock.
pub(crate) struct Workload {
    pub(crate) plan: WorkloadPlan,
    arrivals_rng: Stream,
    keys_rng: Stream,
    values_rng: Stream,
    /// Start of the current on period (on/off arrivals).
    on_started_ns: u64,
}

impl Workload {
    pub(crate) fn new(plan: WorkloadPlan, streams: &sim::RngStreams) -> Self {
        Workload {
            plan,
            arrivals_rng: streams.stream("workload/arrivals"),
            keys_rng: streams.stream("workload/keys"),
            values_rng: streams.stream("workload/values"),
            on_started_ns: 0,
        }
    }

    /// The arrival time of the record after one that arrived at `prev_ns`.
    #[inline(always)]
    pub(crate) fn next_arrival_ns(&mut self, prev_ns: u64) -> u64 {
        match self.plan.arrivals {
            ArrivalPlan::Constant { gap_ns } => prev_ns + gap_ns,
            ArrivalPlan::Poisson { mean_gap_ns } => {
                prev_ns
                    + self
                        .arrivals_rng
                        .exponential(Duration::from_nanos(mean_gap_ns))
                        .as_nanos()
                        .max(1)
            }
            ArrivalPlan::OnOff {
                gap_ns,
                on_ns,
                off_ns,
            } => {
                let next = prev_ns + gap_ns;
                if next < self.on_started_ns + on_ns {
                    next
                } else {
                    self.on_started_ns += on_ns + off_ns;
                    self.on_started_ns.max(next)
                }
            }
            ArrivalPlan::Saturate => prev_ns,
        }
    }

    /// Draws the next record's key and value size.
    pub(crate) fn next_record(&mut self) -> NewRecord {
        let key = match &self.plan.keys {
            KeyPlan::None => None,
            KeyPlan::Uniform { count } => Some(self.keys_rng.below(*count)),
            KeyPlan::Zipf { cumulative } => {
                let total = *cumulative
                    .last()
                    .expect("zipf tables have at least one key");
                let x = self.keys_rng.below(total);
                Some(cumulative.partition_point(|&c| c <= x) as u64)
            }
        };
        let value_bytes = match self.plan.values {
            ValuePlan::Constant(n) => n,
            ValuePlan::Uniform { min, max } => {
                self.values_rng
                    .uniform_inclusive(u64::from(min), u64::from(max)) as u32
            }
            ValuePlan::Exponential { mean } => {
                let ns = self
                    .values_rng
                    .exponential(Duration::from_nanos(u64::from(mean)))
                    .as_nanos();
                u32::try_from(ns.clamp(1, u64::from(VALUE_BYTES_MAX)))
                    .expect("clamped to VALUE_BYTES_MAX")
            }
        };
        NewRecord { key, value_bytes }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(toml_like: WorkloadConfig) -> WorkloadPlan {
        toml_like.plan().expect("valid workload")
    }

    #[test]
    fn constant_arrivals_are_evenly_spaced() {
        let p = plan(WorkloadConfig {
            arrivals: Arrivals::Constant { per_sec: 1000.0 },
            ..WorkloadConfig::default()
        });
        let mut w = Workload::new(p, &sim::RngStreams::new(1));
        assert_eq!(w.next_arrival_ns(0), 1_000_000);
        assert_eq!(w.next_arrival_ns(1_000_000), 2_000_000);
    }

    #[test]
    fn on_off_arrivals_skip_the_off_period() {
        let p = plan(WorkloadConfig {
            arrivals: Arrivals::OnOff {
                per_sec: 1000.0,
                on_ms: 2.5,
                off_ms: 10.0,
            },
            ..WorkloadConfig::default()
        });
        let mut w = Workload::new(p, &sim::RngStreams::new(1));
        let mut t = 0;
        let mut times = Vec::new();
        for _ in 0..4 {
            t = w.next_arrival_ns(t);
            times.push(t);
        }
        assert_eq!(times, vec![1_000_000, 2_000_000, 12_500_000, 13_500_000]);
    }

    #[test]
    fn zipf_prefers_low_keys_and_stays_in_range() {
        let p = plan(WorkloadConfig {
            keys: Keys::Zipf { count: 100, s: 1.2 },
            ..WorkloadConfig::default()
        });
        let mut w = Workload::new(p, &sim::RngStreams::new(7));
        let mut counts = [0u32; 100];
        for _ in 0..20_000 {
            let k = w.next_record().key.expect("keyed");
            counts[k as usize] += 1;
        }
        assert!(
            counts[0] > counts[1] && counts[1] > counts[10],
            "{:?}",
            &counts[..12]
        );
        assert!(
            counts[0] > 3000,
            "key 0 should take a large share: {}",
            counts[0]
        );
    }

    #[test]
    fn bad_values_name_their_key() {
        let err = WorkloadConfig {
            arrivals: Arrivals::Constant { per_sec: 0.0 },
            ..WorkloadConfig::default()
        }
        .plan()
        .expect_err("zero rate");
        assert_eq!(err.key, "arrivals.per_sec");
        let err = WorkloadConfig {
            keys: Keys::Uniform { count: 0 },
            ..WorkloadConfig::default()
        }
        .plan()
        .expect_err("zero keys");
        assert_eq!(err.key, "keys.count");
        let err = WorkloadConfig {
            arrivals: Arrivals::Saturate {},
            ..WorkloadConfig::default()
        }
        .plan()
        .expect_err("saturate without cpu cost");
        assert_eq!(err.key, "arrivals");
    }

    #[test]
    fn a_uniform_key_count_beyond_u32_keys_is_refused() {
        let config = WorkloadConfig {
            keys: Keys::Uniform {
                count: u64::from(u32::MAX) + 2,
            },
            ..WorkloadConfig::default()
        };
        let err = config
            .plan()
            .expect_err("keys are u32 in the record bookkeeping");
        assert_eq!(err.key, "keys.count");
        assert!(err.to_string().contains("4294967296"), "{err}");
    }

    #[test]
    fn uniform_value_sizes_stay_in_bounds() {
        let p = plan(WorkloadConfig {
            value_bytes: ValueBytes::Dist(ValueDist::Uniform { min: 10, max: 20 }),
            ..WorkloadConfig::default()
        });
        let mut w = Workload::new(p, &sim::RngStreams::new(3));
        for _ in 0..1000 {
            let v = w.next_record().value_bytes;
            assert!((10..=20).contains(&v));
        }
    }

    #[test]
    fn rates_durations_and_sizes_are_range_checked() {
        let with_arrivals = |arrivals| WorkloadConfig {
            arrivals,
            ..WorkloadConfig::default()
        };
        for per_sec in [2e9, 7e8, 1e-8, f64::INFINITY] {
            let err = with_arrivals(Arrivals::Constant { per_sec })
                .plan()
                .expect_err("out of range or not representable");
            assert_eq!(err.key, "arrivals.per_sec", "{per_sec}");
        }
        for per_sec in [1e9, 5e8, 5e7, 1e-7] {
            with_arrivals(Arrivals::Poisson { per_sec })
                .plan()
                .unwrap_or_else(|err| panic!("{per_sec}: {err}"));
        }
        let err = with_arrivals(Arrivals::OnOff {
            per_sec: 1000.0,
            on_ms: 1.0,
            off_ms: 1e300,
        })
        .plan()
        .expect_err("off period beyond 10^7 s");
        assert_eq!(err.key, "arrivals.off_ms");
        assert!(err.to_string().contains("1e300"), "{err}");
        assert!(ms_to_ns("x", 1e10).is_ok());
        assert!(ms_to_ns("x", 1.000_001e10).is_err());
        let err = WorkloadConfig {
            value_bytes: ValueBytes::Constant(VALUE_BYTES_MAX + 1),
            ..WorkloadConfig::default()
        }
        .plan()
        .expect_err("above Integer.MAX_VALUE");
        assert_eq!(err.key, "value_bytes");
        let err = WorkloadConfig {
            records: RECORDS_MAX + 1,
            ..WorkloadConfig::default()
        }
        .plan()
        .expect_err("too many records");
        assert_eq!(err.key, "records");
    }
}
