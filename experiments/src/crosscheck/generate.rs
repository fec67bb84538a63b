//! Random scripts for the accumulator differential, from a seed.
//!
//! Script `i` of seed `s` draws from the stream `crosscheck/accumulator/i` of
//! `sim::RngStreams::new(s)`, so any one script can be regenerated alone. The generator steps
//! linger's side as it goes, so that each operation fits the state: a response names a batch
//! that was drained and not yet answered, a drain goes mostly to the nodes the last `ready`
//! reported, `init_pid` follows a sender loop that asked for a producer id.
//! It covers keys, null keys and explicit partitions, sticky switching with adaptive
//! partitioning on and off, linger, small and large `batch.size`, oversized records, buffer
//! exhaustion (`max.block.ms` = 0), retries with exponential or flat backoff, delivery
//! timeouts, idempotent sequencing and epoch bumps, splits after `MESSAGE_TOO_LARGE`, flush and
//! close.

use serde_json::Value;

use sim::RngStreams;
use sim::rng::Stream;

use super::model::{ApplyError, LingerSide};
use super::script::{Op, Script, ScriptHeader};

/// Errors a broker (or the client, for a lost connection) answers a produce request with.
const RETRIABLE_ERRORS: &[&str] = &[
    "NOT_LEADER_OR_FOLLOWER",
    "NETWORK_EXCEPTION",
    "REQUEST_TIMED_OUT",
    "NOT_ENOUGH_REPLICAS",
    "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
    "LEADER_NOT_AVAILABLE",
    "UNKNOWN_TOPIC_OR_PARTITION",
    "CORRUPT_MESSAGE",
    "KAFKA_STORAGE_ERROR",
    "FENCED_LEADER_EPOCH",
    "CONCURRENT_TRANSACTIONS",
];
const FATAL_ERRORS: &[&str] = &[
    "RECORD_LIST_TOO_LARGE",
    "INVALID_RECORD",
    "TOPIC_AUTHORIZATION_FAILED",
    "INVALID_REQUIRED_ACKS",
];
const SEQUENCE_ERRORS: &[&str] = &[
    "OUT_OF_ORDER_SEQUENCE_NUMBER",
    "DUPLICATE_SEQUENCE_NUMBER",
    "UNKNOWN_PRODUCER_ID",
    "INVALID_PRODUCER_EPOCH",
];

/// A generated script with linger's decisions for each operation.
pub struct Generated {
    /// The script.
    pub script: Script,
    /// linger's decision for each operation, in order.
    pub decisions: Vec<Value>,
}

fn pick<'a>(stream: &mut Stream, items: &[&'a str]) -> &'a str {
    items[stream.below(items.len() as u64) as usize]
}

fn chance(stream: &mut Stream, percent: u64) -> bool {
    stream.bernoulli(percent, 100)
}

/// The header of script `index`.
pub fn header(stream: &mut Stream, index: u64) -> ScriptHeader {
    let node_count = stream.uniform_inclusive(1, 3);
    let partition_count = stream.uniform_inclusive(1, 6);
    let mut leaders: Vec<i64> = (0..partition_count)
        .map(|_| stream.below(node_count) as i64)
        .collect();
    if partition_count > 1 && chance(stream, 10) {
        let unknown = stream.below(partition_count) as usize;
        leaders[unknown] = -1;
    }
    let batch_size = match stream.below(4) {
        0 => stream.uniform_inclusive(1, 120) as u32,
        1 => stream.uniform_inclusive(100, 600) as u32,
        2 => stream.uniform_inclusive(500, 4000) as u32,
        _ => 16_384,
    };
    let buffer_memory = if chance(stream, 60) {
        u64::from(batch_size) * stream.uniform_inclusive(2, 12) + stream.below(300)
    } else {
        33_554_432
    };
    let max_request_size = if chance(stream, 40) {
        stream.uniform_inclusive(200, 3000) as u32
    } else {
        1_048_576
    };
    let retry_backoff_ms = stream.uniform_inclusive(1, 150);
    let retry_backoff_max_ms = match stream.below(3) {
        0 => retry_backoff_ms,
        1 => stream.uniform_inclusive(1, retry_backoff_ms),
        _ => retry_backoff_ms * stream.uniform_inclusive(2, 20) + stream.below(50),
    };
    let idempotence = chance(stream, 50);
    let retries = match stream.below(4) {
        0 if !idempotence => 0,
        0 | 1 => stream.uniform_inclusive(1, 4) as u32,
        2 => stream.uniform_inclusive(5, 30) as u32,
        _ => i32::MAX as u32,
    };
    let linger_ms = *[0u32, 0, 1, 2, 5, 5, 10, 20, 100]
        .get(stream.below(9) as usize)
        .expect("index below the length");
    let request_timeout_ms = stream.uniform_inclusive(10, 500) as u32;
    let delivery_timeout_ms =
        linger_ms + request_timeout_ms + stream.uniform_inclusive(0, 3000) as u32;
    ScriptHeader {
        script: index,
        batch_size,
        linger_ms,
        buffer_memory,
        max_request_size,
        max_block_ms: 0,
        delivery_timeout_ms,
        request_timeout_ms,
        retry_backoff_ms,
        retry_backoff_max_ms,
        retries,
        max_in_flight: stream.uniform_inclusive(1, 5) as u32,
        idempotence,
        adaptive_partitioning: chance(stream, 60),
        availability_timeout_ms: if chance(stream, 30) {
            stream.uniform_inclusive(1, 60)
        } else {
            0
        },
        ignore_keys: chance(stream, 15),
        leaders,
        // 63 bits: the driver reads integers as a Java long.
        random_seed: stream.next_u64() >> 1,
        compression: if chance(stream, 30) { "lz4" } else { "none" }.to_string(),
    }
}

/// The per-script generator state beside linger's side.
struct State {
    now_ms: u64,
    keys: Vec<String>,
    next_producer_id: i64,
    next_offset: i64,
}

fn advance(stream: &mut Stream, state: &mut State) {
    state.now_ms += match stream.below(10) {
        0..=3 => 0,
        4..=6 => stream.uniform_inclusive(1, 3),
        7 | 8 => stream.uniform_inclusive(1, 40),
        _ => stream.uniform_inclusive(40, 1500),
    };
}

fn append_op(stream: &mut Stream, header: &ScriptHeader, state: &State) -> Op {
    let partition_count = header.leaders.len() as u64;
    let (partition, key) = match stream.below(10) {
        0 => (Some(stream.below(partition_count) as u32), None),
        1..=3 => (
            None,
            Some(state.keys[stream.below(state.keys.len() as u64) as usize].clone()),
        ),
        _ => (None, None),
    };
    let batch_size = u64::from(header.batch_size);
    let value = match stream.below(20) {
        0 => None,
        1 => Some(stream.uniform_inclusive(batch_size, batch_size * 3 + 100) as u32),
        2 => Some(stream.uniform_inclusive(0, u64::from(header.max_request_size) + 200) as u32),
        _ => Some(stream.uniform_inclusive(0, (batch_size / 3).max(1)) as u32),
    };
    let header_count = match stream.below(10) {
        0..=6 => 0,
        7 | 8 => 1,
        _ => 3,
    };
    let headers = (0..header_count)
        .map(|_| {
            (
                stream.below(6) as u32,
                stream.uniform_inclusive(0, 12) as i32 - 1,
            )
        })
        .collect();
    Op::Append {
        t: state.now_ms,
        partition,
        key,
        value,
        headers,
    }
}

fn drain_op(stream: &mut Stream, header: &ScriptHeader, side: &LingerSide, now_ms: u64) -> Op {
    let mut leaders: Vec<u32> = header
        .leaders
        .iter()
        .filter_map(|&l| u32::try_from(l).ok())
        .collect();
    leaders.sort_unstable();
    leaders.dedup();
    let candidates: Vec<u32> = if chance(stream, 80) || side.last_ready_nodes().is_empty() {
        side.last_ready_nodes().to_vec()
    } else {
        leaders
    };
    let mut nodes = Vec::new();
    let mut not_ready = Vec::new();
    for node in candidates {
        if chance(stream, 80) {
            nodes.push(node);
        } else {
            not_ready.push(node);
        }
    }
    if nodes.len() > 1 && chance(stream, 50) {
        nodes.reverse();
    }
    Op::Drain {
        t: now_ms,
        nodes,
        not_ready,
    }
}

fn complete_op(
    stream: &mut Stream,
    header: &ScriptHeader,
    side: &LingerSide,
    state: &mut State,
) -> Option<Op> {
    let waiting = side.awaiting_response();
    if waiting.is_empty() {
        return None;
    }
    // Mostly the oldest request first, as a connection answers in order.
    let index = if chance(stream, 70) {
        0
    } else {
        stream.below(waiting.len() as u64) as usize
    };
    let batch = waiting[index];
    let error = match stream.below(100) {
        0..=54 => "NONE",
        55..=81 => pick(stream, RETRIABLE_ERRORS),
        82..=89 => "MESSAGE_TOO_LARGE",
        90..=94 => pick(stream, FATAL_ERRORS),
        _ if header.idempotence => pick(stream, SEQUENCE_ERRORS),
        _ => pick(stream, RETRIABLE_ERRORS),
    };
    let base_offset = state.next_offset;
    state.next_offset += 100;
    Some(Op::Complete {
        t: state.now_ms,
        batch,
        error: error.to_string(),
        base_offset,
    })
}

fn next_op(
    stream: &mut Stream,
    header: &ScriptHeader,
    side: &LingerSide,
    state: &mut State,
    remaining: usize,
) -> Op {
    let t = state.now_ms;
    if side.producer_id_needed() && header.idempotence && chance(stream, 50) {
        // The sender's loop asks for a producer id, then the answer arrives.
        return Op::SenderLoop { t };
    }
    loop {
        let roll = stream.below(1000);
        let op = match roll {
            0..=459 => Some(append_op(stream, header, state)),
            460..=599 => Some(Op::Ready { t }),
            600..=709 => Some(drain_op(stream, header, side, t)),
            710..=859 => complete_op(stream, header, side, state),
            860..=909 => Some(Op::Expire { t }),
            910..=959 if header.idempotence => Some(Op::SenderLoop { t }),
            960..=979 if side.flushes_in_progress() == 0 => Some(Op::FlushBegin { t }),
            960..=979 => Some(Op::FlushEnd { t }),
            980..=981 if remaining < 60 && !side.is_closed() => Some(Op::Close { t }),
            _ => None,
        };
        if let Some(op) = op {
            return op;
        }
    }
}

/// Generates script `index` of `seed` with `op_count` operations, running linger's side on it.
pub fn generate(seed: u64, index: u64, op_count: usize) -> Result<Generated, ApplyError> {
    let mut stream = RngStreams::new(seed).stream(&format!("crosscheck/accumulator/{index}"));
    let header = header(&mut stream, index);
    let key_count = stream.uniform_inclusive(1, 12);
    let keys = (0..key_count)
        .map(|_| {
            let length = stream.below(9);
            (0..length)
                .map(|_| format!("{:02x}", stream.below(256)))
                .collect::<String>()
        })
        .collect();
    let mut state = State {
        now_ms: stream.below(1000),
        keys,
        next_producer_id: 1000 + (index as i64 % 1000),
        next_offset: 0,
    };
    let mut side = LingerSide::new(&header);
    let mut ops = Vec::with_capacity(op_count);
    let mut decisions = Vec::with_capacity(op_count);
    while ops.len() < op_count {
        advance(&mut stream, &mut state);
        let op = next_op(
            &mut stream,
            &header,
            &side,
            &mut state,
            op_count - ops.len(),
        );
        let asked_for_producer_id = matches!(op, Op::SenderLoop { .. });
        decisions.push(side.apply(&op)?);
        ops.push(op);
        if asked_for_producer_id && side.producer_id_needed() {
            let op = Op::InitPid {
                t: state.now_ms,
                producer_id: state.next_producer_id,
                epoch: 0,
            };
            state.next_producer_id += 1;
            decisions.push(side.apply(&op)?);
            ops.push(op);
        }
    }
    Ok(Generated {
        script: Script { header, ops },
        decisions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crosscheck::run_linger;

    #[test]
    fn the_same_seed_and_number_give_the_same_script_and_another_seed_another() {
        let first = generate(7, 3, 200).expect("linger applies its own script");
        let again = generate(7, 3, 200).expect("linger applies its own script");
        let other = generate(8, 3, 200).expect("linger applies its own script");
        assert_eq!(first.script.to_lines(), again.script.to_lines());
        assert_ne!(first.script.to_lines(), other.script.to_lines());
        assert!(first.script.ops.len() >= 200);
        assert_eq!(first.script.header.max_block_ms, 0);
    }

    #[test]
    fn a_saved_script_replays_to_the_decisions_it_was_generated_with() {
        for index in 0..20 {
            let generated = generate(11, index, 200).expect("linger applies its own script");
            let text = generated.script.to_lines();
            let parsed = Script::parse(&text).expect("a written script reads back");
            assert_eq!(parsed, generated.script);
            let replayed = run_linger(&parsed).expect("linger replays it");
            assert_eq!(replayed, generated.decisions, "script {index}");
        }
    }

    #[test]
    fn a_bad_script_line_is_named_by_its_number() {
        let generated = generate(1, 0, 5).expect("linger applies its own script");
        let mut lines: Vec<String> = generated
            .script
            .to_lines()
            .lines()
            .map(str::to_string)
            .collect();
        lines[2] = r#"{"op":"ready","t":"soon"}"#.to_string();
        let error = Script::parse(&lines.join("\n")).expect_err("a string is not a time");
        assert!(error.to_string().starts_with("line 3:"), "{error}");
    }
}
