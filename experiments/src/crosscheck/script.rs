//! The scripts of the accumulator differential: a header with the producer settings and the
//! topic, then operations at virtual times in milliseconds, one JSON object per line.
//!
//! The same text goes to the Java driver and to linger's side ([`super::model`]), so a saved
//! script replays on both. Reading a script back names the line and the field it expected.

use serde::{Deserialize, Serialize};

/// The first line of a script.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptHeader {
    /// The script's number in its run (echoed by the driver).
    pub script: u64,
    /// `batch.size`.
    pub batch_size: u32,
    /// `linger.ms`.
    pub linger_ms: u32,
    /// `buffer.memory`.
    pub buffer_memory: u64,
    /// `max.request.size`: the record size limit and the per-node drain cap.
    pub max_request_size: u32,
    /// `max.block.ms`: always 0 (the differential never blocks; an allocation that cannot be
    /// served at once fails with `BufferExhaustedException`).
    pub max_block_ms: u64,
    /// `delivery.timeout.ms`.
    pub delivery_timeout_ms: u32,
    /// `request.timeout.ms` (carried for completeness; the accumulator does not use it).
    pub request_timeout_ms: u32,
    /// `retry.backoff.ms`.
    pub retry_backoff_ms: u64,
    /// `retry.backoff.max.ms`.
    pub retry_backoff_max_ms: u64,
    /// `retries`.
    pub retries: u32,
    /// `max.in.flight.requests.per.connection` (1 mutes partitions while a batch is in flight).
    pub max_in_flight: u32,
    /// `enable.idempotence`.
    pub idempotence: bool,
    /// `partitioner.adaptive.partitioning.enable`.
    pub adaptive_partitioning: bool,
    /// `partitioner.availability.timeout.ms`.
    pub availability_timeout_ms: u64,
    /// `partitioner.ignore.keys`.
    pub ignore_keys: bool,
    /// The leader node of each partition, -1 for an unknown leader.
    pub leaders: Vec<i64>,
    /// The seed of the sticky partitioner's random draws (SplitMix64 on both sides).
    pub random_seed: u64,
    /// `compression.type`: `none`, or `lz4` on values that do not compress (every block stored
    /// raw, so both sides know each batch's bytes exactly).
    pub compression: String,
}

/// One operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Op {
    /// `send()` of one record: an explicit partition, or a key (hex) or a null key.
    Append {
        /// The time, ms.
        t: u64,
        /// An explicit partition.
        partition: Option<u32>,
        /// The serialized key as hex digits, `None` for a null key.
        key: Option<String>,
        /// The value's length, `None` for a null value.
        value: Option<u32>,
        /// Each header's key length and value length (-1 for a null value).
        headers: Vec<(u32, i32)>,
    },
    /// `ready()`.
    Ready {
        /// The time, ms.
        t: u64,
    },
    /// The sender's node step and `drain()`: `not_ready` nodes had data but could not take a
    /// request; `nodes` could.
    Drain {
        /// The time, ms.
        t: u64,
        /// Nodes that can take a request, drained in this order.
        nodes: Vec<u32>,
        /// Nodes with data that cannot take a request (their latency stats move on).
        not_ready: Vec<u32>,
    },
    /// A produce response (or a client-side error) for one drained batch.
    Complete {
        /// The time, ms.
        t: u64,
        /// The batch, by its number in the script.
        batch: u64,
        /// `NONE` or a Kafka error name.
        error: String,
        /// The base offset on success.
        base_offset: i64,
    },
    /// The sender's expiry step (`delivery.timeout.ms`).
    Expire {
        /// The time, ms.
        t: u64,
    },
    /// The idempotent housekeeping at the start of a sender loop.
    SenderLoop {
        /// The time, ms.
        t: u64,
    },
    /// The answer to `InitProducerId`.
    InitPid {
        /// The time, ms.
        t: u64,
        /// The producer id.
        producer_id: i64,
        /// The epoch.
        epoch: i16,
    },
    /// `flush()` begins.
    FlushBegin {
        /// The time, ms.
        t: u64,
    },
    /// `flush()` has seen its batches complete.
    FlushEnd {
        /// The time, ms.
        t: u64,
    },
    /// `close()`.
    Close {
        /// The time, ms.
        t: u64,
    },
}

impl Op {
    /// The operation's time, ms.
    pub fn time_ms(&self) -> u64 {
        match self {
            Op::Append { t, .. }
            | Op::Ready { t }
            | Op::Drain { t, .. }
            | Op::Complete { t, .. }
            | Op::Expire { t }
            | Op::SenderLoop { t }
            | Op::InitPid { t, .. }
            | Op::FlushBegin { t }
            | Op::FlushEnd { t }
            | Op::Close { t } => *t,
        }
    }
}

/// A whole script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Script {
    /// The settings.
    pub header: ScriptHeader,
    /// The operations, in order.
    pub ops: Vec<Op>,
}

/// The line that ends a script.
pub const END_LINE: &str = "{\"op\":\"end\"}";

/// A script file that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    /// A line is not what was expected there.
    #[error("line {line}: {message}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What was wrong.
        message: String,
    },
    /// The file has no header line.
    #[error("the script is empty: expected a header line with the producer settings")]
    Empty,
}

impl Script {
    /// The script as the lines the driver reads, ending with the end line.
    pub fn to_lines(&self) -> String {
        let mut text = serde_json::to_string(&self.header).expect("a header always serializes");
        text.push('\n');
        for op in &self.ops {
            text.push_str(&serde_json::to_string(op).expect("an operation always serializes"));
            text.push('\n');
        }
        text.push_str(END_LINE);
        text.push('\n');
        text
    }

    /// Reads a script written by [`Script::to_lines`].
    pub fn parse(text: &str) -> Result<Script, ScriptError> {
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty());
        let (_, first) = lines.next().ok_or(ScriptError::Empty)?;
        let header: ScriptHeader =
            serde_json::from_str(first).map_err(|error| ScriptError::Line {
                line: 1,
                message: format!("expected the header with the producer settings: {error}"),
            })?;
        if header.leaders.is_empty() {
            return Err(ScriptError::Line {
                line: 1,
                message: "expected at least one partition in \"leaders\"".to_string(),
            });
        }
        let mut ops = Vec::new();
        for (index, line) in lines {
            if line.trim() == END_LINE {
                break;
            }
            let op: Op = serde_json::from_str(line).map_err(|error| ScriptError::Line {
                line: index + 1,
                message: format!("expected an operation: {error}"),
            })?;
            ops.push(op);
        }
        Ok(Script { header, ops })
    }
}
