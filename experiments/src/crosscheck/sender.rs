//! The sender differential: linger's producer client (sender, connections, metadata,
//! idempotent bookkeeping, batching core) against the real Kafka `Sender` with its
//! `RecordAccumulator` and idempotent `TransactionManager` over Kafka's own test client.
//!
//! ```text
//!  seed ─► generate (script i) ─► script lines ──► java: SenderDriver (Sender.runOnce on MockClient,
//!             │ steps linger's side                   a MockTime, the I/O thread's sleeps and wake-ups)
//!             ▼                                                 │
//!   models::producer::scripted ─► decisions ── compare, op by op ◄┘ decisions
//!   (linger's Producer, scripted brokers)          │
//!                          a difference: script, operation, both decisions, the saved script
//! ```
//!
//! A script is a header (the producer settings, the brokers, each partition's leader) and
//! operations at virtual times in ms: `append` (a record of some bytes to a partition),
//! `advance` (time passes), `respond` (the oldest produce request held by a node gets a
//! response: per partition `NONE` with a base offset or an error), `disconnect` (the
//! connection to a node is reset), `leader` (the cluster moves a partition's leadership; the
//! producer learns it from its next metadata response). Each operation's decision lists what
//! the producer did meanwhile: every produce request as it left (node; per batch the partition,
//! producer id, epoch, base sequence and records) and every record's completion (offset or
//! error), each with its time. Events of one decision are compared as a set ordered by time,
//! kind and node or record; batches of one request in partition order (the order of batches
//! within a request depends on hash-map iteration in Kafka and decides nothing).
//!
//! Fidelity of the comparison (what is left out is in ARCHITECTURE.md, "Fidelity: what is
//! simplified"): both sides answer ApiVersions, metadata and InitProducerId at once, connect at
//! once, have no reconnect backoff and no retry-backoff jitter (`retry.backoff.max.ms` equals
//! `retry.backoff.ms`); records have null keys, no headers and explicit partitions; one topic.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::mpsc;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use models::producer::scripted::{
    ScriptedError, ScriptedEvent, ScriptedPartitionResponse, ScriptedSender, ScriptedSettings,
};
use sim::RngStreams;
use sim::rng::Stream;

use super::java::{self, JavaDriver};
use super::script::{END_LINE, ScriptError};
use super::{CrosscheckError, Difference, Options, Report, read_decision, read_header_answer};

/// The driver's main class.
pub const SENDER_DRIVER_CLASS: &str = "org.apache.kafka.clients.producer.internals.SenderDriver";

/// The first line of a sender script.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SenderHeader {
    /// The script's number in its run.
    pub script: u64,
    /// `batch.size`.
    pub batch_size: u32,
    /// `linger.ms`.
    pub linger_ms: u64,
    /// `buffer.memory`.
    pub buffer_memory: u64,
    /// `max.request.size`.
    pub max_request_size: u32,
    /// `delivery.timeout.ms`.
    pub delivery_timeout_ms: u32,
    /// `request.timeout.ms`.
    pub request_timeout_ms: u32,
    /// `retry.backoff.ms` and `retry.backoff.max.ms`.
    pub retry_backoff_ms: u64,
    /// `retries`.
    pub retries: u32,
    /// `max.in.flight.requests.per.connection`.
    pub max_in_flight: u32,
    /// `enable.idempotence`.
    pub idempotence: bool,
    /// `acks=all` (true) or `acks=1`.
    pub acks_all: bool,
    /// Number of brokers.
    pub brokers: u32,
    /// Each partition's leader at the start.
    pub leaders: Vec<u32>,
    /// Kafka's own request-timeout timing in the driver (for the test that pins the
    /// difference): the I/O thread notices a timed-out request only when it next wakes
    /// (`NetworkClient.poll` sleeps at most `request.timeout.ms`), strictly after
    /// `request.timeout.ms` on a millisecond clock. Off (the default), the driver wakes the
    /// thread at each request's deadline, as linger's sender does.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub kafka_request_timeout_wake: bool,
}

impl SenderHeader {
    fn settings(&self) -> ScriptedSettings {
        ScriptedSettings {
            batch_size: self.batch_size,
            linger_ms: self.linger_ms,
            buffer_memory: self.buffer_memory,
            max_request_size: self.max_request_size,
            delivery_timeout_ms: self.delivery_timeout_ms,
            request_timeout_ms: self.request_timeout_ms,
            retry_backoff_ms: self.retry_backoff_ms,
            retries: self.retries,
            max_in_flight: self.max_in_flight,
            idempotence: self.idempotence,
            acks_all: self.acks_all,
            brokers: self.brokers,
            leaders: self.leaders.clone(),
        }
    }
}

/// One partition's answer in a `respond` operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionAnswer {
    /// The partition.
    pub partition: u32,
    /// `NONE` or a Kafka error name.
    pub error: String,
    /// The base offset on success (-1 otherwise).
    pub base_offset: i64,
}

/// One operation of a sender script.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum SenderOp {
    /// `send()` of a record of `value` bytes (null key, no headers) to `partition`.
    Append {
        /// The time, ms.
        t: u64,
        /// The partition.
        partition: u32,
        /// The value's length (at least 8: the Java driver writes the record's number there).
        value: u32,
    },
    /// Time passes.
    Advance {
        /// The time, ms.
        t: u64,
    },
    /// The oldest produce request `node` holds gets its response.
    Respond {
        /// The time, ms.
        t: u64,
        /// The broker.
        node: u32,
        /// Per partition of the request (a partition left out succeeds with offset -1).
        partitions: Vec<PartitionAnswer>,
    },
    /// The connection to `node` is reset.
    Disconnect {
        /// The time, ms.
        t: u64,
        /// The broker.
        node: u32,
    },
    /// The cluster moves `partition`'s leadership to `node` (a new leader epoch).
    Leader {
        /// The time, ms.
        t: u64,
        /// The partition.
        partition: u32,
        /// The new leader.
        node: u32,
    },
}

impl SenderOp {
    /// The operation's name as the decision line gives it.
    fn name(&self) -> &'static str {
        match self {
            SenderOp::Append { .. } => "append",
            SenderOp::Advance { .. } => "advance",
            SenderOp::Respond { .. } => "respond",
            SenderOp::Disconnect { .. } => "disconnect",
            SenderOp::Leader { .. } => "leader",
        }
    }

    /// The operation's time, ms.
    pub fn time_ms(&self) -> u64 {
        match self {
            SenderOp::Append { t, .. }
            | SenderOp::Advance { t }
            | SenderOp::Respond { t, .. }
            | SenderOp::Disconnect { t, .. }
            | SenderOp::Leader { t, .. } => *t,
        }
    }
}

/// A whole sender script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SenderScript {
    /// The settings.
    pub header: SenderHeader,
    /// The operations, in order.
    pub ops: Vec<SenderOp>,
}

impl SenderScript {
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

    /// Reads a script written by [`SenderScript::to_lines`].
    pub fn parse(text: &str) -> Result<SenderScript, ScriptError> {
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty());
        let (_, first) = lines.next().ok_or(ScriptError::Empty)?;
        let header: SenderHeader =
            serde_json::from_str(first).map_err(|error| ScriptError::Line {
                line: 1,
                message: format!("expected the header with the producer settings: {error}"),
            })?;
        let mut ops = Vec::new();
        for (index, line) in lines {
            if line.trim() == END_LINE {
                break;
            }
            let op: SenderOp = serde_json::from_str(line).map_err(|error| ScriptError::Line {
                line: index + 1,
                message: format!(
                    "expected an operation (append, advance, respond, disconnect, leader): {error}"
                ),
            })?;
            ops.push(op);
        }
        Ok(SenderScript { header, ops })
    }
}

/// linger's side of one script.
pub struct SenderSide {
    sender: ScriptedSender,
}

impl SenderSide {
    /// linger's producer with the script's settings, started at time 0.
    pub fn new(header: &SenderHeader) -> Result<SenderSide, ScriptedError> {
        Ok(SenderSide {
            sender: ScriptedSender::new(&header.settings())?,
        })
    }

    /// Applies one operation and returns its decision, in the driver's form.
    pub fn apply(&mut self, op: &SenderOp) -> Result<Value, ScriptedError> {
        let mut decision = serde_json::Map::new();
        decision.insert("op".into(), json!(op.name()));
        match op {
            SenderOp::Append {
                t,
                partition,
                value,
            } => {
                let result = match self.sender.append(*t, *partition, *value)? {
                    Ok(_) => "appended".to_string(),
                    Err(error) => error,
                };
                decision.insert("result".into(), json!(result));
            }
            SenderOp::Advance { t } => self.sender.advance(*t)?,
            SenderOp::Respond {
                t,
                node,
                partitions,
            } => {
                let answers: Vec<ScriptedPartitionResponse> = partitions
                    .iter()
                    .map(|p| ScriptedPartitionResponse {
                        partition: p.partition,
                        error: p.error.clone(),
                        base_offset: p.base_offset,
                    })
                    .collect();
                let answered = self.sender.respond(*t, *node, &answers)?;
                decision.insert("answered".into(), json!(answered));
            }
            SenderOp::Disconnect { t, node } => self.sender.disconnect(*t, *node)?,
            SenderOp::Leader { t, partition, node } => {
                self.sender.set_leader(*t, *partition, *node)?;
            }
        }
        let events: Vec<Value> = self
            .sender
            .take_events()
            .into_iter()
            .map(|event| match event {
                ScriptedEvent::Sent {
                    t_ms,
                    node,
                    batches,
                } => json!({
                    "t": t_ms,
                    "sent": node,
                    "batches": batches.iter().map(|b| json!({
                        "p": b.partition,
                        "pid": b.producer_id,
                        "epoch": b.epoch,
                        "seq": b.base_sequence,
                        "records": b.records,
                    })).collect::<Vec<_>>(),
                }),
                ScriptedEvent::Done {
                    t_ms,
                    record,
                    offset: Some(offset),
                    ..
                } => json!({"t": t_ms, "done": record, "offset": offset}),
                ScriptedEvent::Done {
                    t_ms,
                    record,
                    error,
                    ..
                } => json!({"t": t_ms, "done": record, "error": error.unwrap_or_default()}),
            })
            .collect();
        decision.insert("events".into(), Value::Array(events));
        Ok(canonical(Value::Object(decision)))
    }

    /// The first time from `t_ms` at which an operation cannot race a wake-up inside its
    /// millisecond (see `ScriptedSender::wakes_within_ms`); linger's side has run to it.
    pub fn settled_time(&mut self, mut t_ms: u64) -> Result<u64, ScriptedError> {
        loop {
            self.sender.advance(t_ms)?;
            if !self.sender.wakes_within_ms(t_ms) {
                return Ok(t_ms);
            }
            t_ms += 1;
        }
    }

    /// Records appended and not completed.
    pub fn unfinished(&self) -> u64 {
        self.sender.unfinished()
    }

    /// The produce requests `node` holds, oldest first (partition and record count per batch).
    pub fn held_requests(&self, node: u32) -> Vec<Vec<(u32, usize)>> {
        self.sender.held_requests(node)
    }
}

/// The order of events in a decision: time, then completions before requests, then node or
/// record.
fn event_order(a: &Value, b: &Value) -> Ordering {
    let key = |v: &Value| {
        let kind = u64::from(v.get("done").is_none());
        let id = v
            .get("done")
            .or_else(|| v.get("sent"))
            .and_then(Value::as_u64)
            .unwrap_or(0);
        (v["t"].as_u64().unwrap_or(0), kind, id)
    };
    key(a).cmp(&key(b))
}

/// A decision with its events in [`event_order`] and each request's batches in partition
/// order (stable, so one node's requests keep their order).
pub fn canonical(mut decision: Value) -> Value {
    if let Some(events) = decision.get_mut("events").and_then(Value::as_array_mut) {
        for event in events.iter_mut() {
            if let Some(batches) = event.get_mut("batches").and_then(Value::as_array_mut) {
                batches.sort_by_key(|b| b["p"].as_u64().unwrap_or(0));
            }
        }
        events.sort_by(event_order);
    }
    decision
}

/// A generated script with linger's decisions.
pub struct GeneratedSender {
    /// The script.
    pub script: SenderScript,
    /// linger's decision for each operation.
    pub decisions: Vec<Value>,
    /// Records linger left unfinished at the end.
    pub unfinished: u64,
}

/// Errors a broker answers a produce request with, retriable ones first.
const RETRIABLE: &[&str] = &[
    "NOT_LEADER_OR_FOLLOWER",
    "NOT_ENOUGH_REPLICAS",
    "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
    "REQUEST_TIMED_OUT",
    "LEADER_NOT_AVAILABLE",
    "UNKNOWN_TOPIC_OR_PARTITION",
    "KAFKA_STORAGE_ERROR",
];
const SEQUENCE: &[&str] = &[
    "OUT_OF_ORDER_SEQUENCE_NUMBER",
    "UNKNOWN_PRODUCER_ID",
    "INVALID_PRODUCER_EPOCH",
];
const FATAL: &[&str] = &["INVALID_RECORD", "MESSAGE_TOO_LARGE"];

fn pick<T: Copy>(stream: &mut Stream, items: &[T]) -> T {
    items[stream.below(items.len() as u64) as usize]
}

/// Script `index` of seed `seed` (drawn from the stream `crosscheck/sender/<index>`), with
/// `ops` operations plus a last `advance` past every deadline, and linger's decisions.
/// With `faults` false every response is a success and no connection is reset nor leadership
/// moved (time still runs into request and delivery timeouts).
pub fn generate(
    seed: u64,
    index: u64,
    ops: usize,
    faults: bool,
) -> Result<GeneratedSender, CrosscheckError> {
    let mut stream = RngStreams::new(seed).stream(&format!("crosscheck/sender/{index}"));
    let brokers = 1 + stream.below(3) as u32;
    let partitions = 1 + stream.below(4) as usize;
    let leaders: Vec<u32> = (0..partitions)
        .map(|_| stream.below(u64::from(brokers)) as u32)
        .collect();
    let idempotence = stream.below(2) == 0;
    let linger_ms = pick(&mut stream, &[0, 0, 1, 5, 20]);
    let request_timeout_ms = pick(&mut stream, &[30, 100, 300, 1000]);
    let header = SenderHeader {
        script: index,
        batch_size: pick(&mut stream, &[200, 500, 1000, 16384]),
        linger_ms,
        buffer_memory: 1 << 24,
        max_request_size: 1 << 20,
        delivery_timeout_ms: (linger_ms + u64::from(request_timeout_ms)) as u32
            + pick(&mut stream, &[0, 100, 500, 3000]),
        request_timeout_ms,
        retry_backoff_ms: pick(&mut stream, &[5, 20, 100]),
        retries: if idempotence {
            pick(&mut stream, &[1, 3, i32::MAX as u32])
        } else {
            pick(&mut stream, &[0, 1, 3, i32::MAX as u32])
        },
        max_in_flight: pick(&mut stream, &[1, 2, 5]),
        idempotence,
        acks_all: idempotence || stream.below(2) == 0,
        brokers,
        leaders,
        kafka_request_timeout_wake: false,
    };
    let apply_error = |op_index: usize, error: ScriptedError| CrosscheckError::Apply {
        script: index,
        op_index,
        message: error.to_string(),
    };
    let mut side = SenderSide::new(&header).map_err(|e| apply_error(0, e))?;
    let mut log_end = vec![0i64; partitions];
    let mut script = SenderScript {
        header: header.clone(),
        ops: Vec::with_capacity(ops + 1),
    };
    let mut decisions = Vec::with_capacity(ops + 1);
    let mut t = 0u64;
    for op_index in 0..ops {
        t += pick(&mut stream, &[0, 0, 0, 1, 1, 2, 5, 10, 30]);
        t = side
            .settled_time(t)
            .map_err(|e| apply_error(op_index + 1, e))?;
        let held: Vec<u32> = (0..brokers)
            .filter(|&n| !side.held_requests(n).is_empty())
            .collect();
        let roll = stream.below(100);
        let op = if roll < 40 {
            SenderOp::Append {
                t,
                partition: stream.below(partitions as u64) as u32,
                value: pick(&mut stream, &[8, 20, 100, 300]),
            }
        } else if roll < 80 && !held.is_empty() {
            let node = pick(&mut stream, &held);
            let request = side.held_requests(node).remove(0);
            let answers = request
                .iter()
                .map(|&(partition, records)| {
                    let roll = stream.below(100);
                    let error = if roll < 70 || !faults {
                        "NONE"
                    } else if roll < 88 {
                        pick(&mut stream, RETRIABLE)
                    } else if roll < 95 && idempotence {
                        pick(&mut stream, SEQUENCE)
                    } else {
                        pick(&mut stream, FATAL)
                    };
                    let base_offset = if error == "NONE" {
                        let base = log_end[partition as usize];
                        log_end[partition as usize] += records as i64;
                        base
                    } else {
                        -1
                    };
                    PartitionAnswer {
                        partition,
                        error: error.to_string(),
                        base_offset,
                    }
                })
                .collect();
            SenderOp::Respond {
                t,
                node,
                partitions: answers,
            }
        } else if faults && (80..83).contains(&roll) {
            SenderOp::Disconnect {
                t,
                node: stream.below(u64::from(brokers)) as u32,
            }
        } else if faults && (83..86).contains(&roll) {
            SenderOp::Leader {
                t,
                partition: stream.below(partitions as u64) as u32,
                node: stream.below(u64::from(brokers)) as u32,
            }
        } else {
            t = side
                .settled_time(t + pick(&mut stream, &[1, 10, 50, 200]))
                .map_err(|e| apply_error(op_index + 1, e))?;
            SenderOp::Advance { t }
        };
        let decision = side.apply(&op).map_err(|e| apply_error(op_index + 1, e))?;
        decisions.push(decision);
        script.ops.push(op);
    }
    // Past every deadline: each record's future completes (acknowledged, failed or expired).
    let end = t + u64::from(header.delivery_timeout_ms) + 2 * u64::from(header.request_timeout_ms);
    let last = SenderOp::Advance {
        t: side
            .settled_time(end)
            .map_err(|e| apply_error(ops + 1, e))?,
    };
    decisions.push(side.apply(&last).map_err(|e| apply_error(ops + 1, e))?);
    script.ops.push(last);
    Ok(GeneratedSender {
        script,
        decisions,
        unfinished: side.unfinished(),
    })
}

/// linger's decisions for every operation of `script`, and the records left unfinished.
pub fn run_linger(script: &SenderScript) -> Result<(Vec<Value>, u64), CrosscheckError> {
    let apply_error = |op_index: usize, error: ScriptedError| CrosscheckError::Apply {
        script: script.header.script,
        op_index,
        message: error.to_string(),
    };
    let mut side = SenderSide::new(&script.header).map_err(|e| apply_error(0, e))?;
    let mut decisions = Vec::with_capacity(script.ops.len());
    for (index, op) in script.ops.iter().enumerate() {
        decisions.push(side.apply(op).map_err(|e| apply_error(index + 1, e))?);
    }
    Ok((decisions, side.unfinished()))
}

fn count_coverage(coverage: &mut BTreeMap<String, u64>, op: &SenderOp, decision: &Value) {
    let mut bump = |key: String| *coverage.entry(key).or_insert(0) += 1;
    bump(format!("op {}", op.name()));
    if let SenderOp::Respond { partitions, .. } = op
        && decision["answered"] == Value::Bool(true)
    {
        for p in partitions {
            bump(format!("response {}", p.error));
        }
    }
    for event in decision["events"].as_array().into_iter().flatten() {
        if event.get("sent").is_some() {
            bump("request sent".into());
        } else if let Some(error) = event["error"].as_str() {
            bump(format!("record failed {error}"));
        } else {
            bump("record acked".into());
        }
    }
}

/// Compares one script's decisions with the driver's lines; returns the first difference.
fn compare_script(
    driver: &mut JavaDriver,
    generated: &GeneratedSender,
    report: &mut Report,
) -> Result<Option<Difference>, CrosscheckError> {
    let script = &generated.script;
    read_header_answer(driver, script.header.script, report)?;
    let mut difference = None;
    for (index, (op, linger)) in script.ops.iter().zip(&generated.decisions).enumerate() {
        let line = read_decision(driver)?;
        let kafka: Value = serde_json::from_str(&line).unwrap_or(Value::String(line.clone()));
        if kafka["skipped"] == Value::Bool(true) {
            return Err(CrosscheckError::Driver(
                kafka["error"].as_str().unwrap_or(&line).to_string(),
            ));
        }
        let kafka = canonical(kafka);
        count_coverage(&mut report.coverage, op, linger);
        report.ops += 1;
        if difference.is_none() && &kafka != linger {
            difference = Some(Difference {
                script: script.header.script,
                op_index: index + 1,
                op: serde_json::to_string(op).unwrap_or_default(),
                linger: linger.to_string(),
                kafka: kafka.to_string(),
                saved: None,
            });
        }
    }
    let end = read_decision(driver)?;
    let end_value: Value = serde_json::from_str(&end).unwrap_or(Value::Null);
    if end_value["end"].as_u64() != Some(script.header.script) {
        return Err(CrosscheckError::Driver(format!(
            "expected the end of script {}, got {end}",
            script.header.script
        )));
    }
    let kafka_unfinished = end_value["unfinished"].as_u64().unwrap_or(u64::MAX);
    if difference.is_none() && kafka_unfinished != generated.unfinished {
        difference = Some(Difference {
            script: script.header.script,
            op_index: 0,
            op: "end".into(),
            linger: format!("{} record(s) unfinished", generated.unfinished),
            kafka: format!("{kafka_unfinished} record(s) unfinished"),
            saved: None,
        });
    }
    Ok(difference)
}

fn save_script(dir: &Path, seed: u64, script: &SenderScript) -> Option<std::path::PathBuf> {
    std::fs::create_dir_all(dir).ok()?;
    let path = dir.join(format!(
        "sender-seed{seed}-script{}.jsonl",
        script.header.script
    ));
    std::fs::write(&path, script.to_lines()).ok()?;
    Some(path)
}

/// Runs the sender differential on `options.scripts` generated scripts; `progress` gets the
/// number of scripts compared so far.
pub fn run_sender(
    options: &Options,
    faults: bool,
    progress: &mut dyn FnMut(u64),
) -> Result<Report, CrosscheckError> {
    java::check_tools()?;
    let classpath = java::build(&options.project)?;
    let mut driver = JavaDriver::start_class(&classpath, SENDER_DRIVER_CLASS)?;
    let mut stdin = driver
        .take_stdin()
        .ok_or_else(|| CrosscheckError::Driver("no stdin".into()))?;
    let (sender, receiver) = mpsc::sync_channel::<Result<GeneratedSender, CrosscheckError>>(64);
    let (seed, count, ops) = (options.seed, options.scripts, options.ops);
    let writer = std::thread::spawn(move || {
        for index in 0..count {
            let generated = generate(seed, index, ops, faults);
            let text = generated.as_ref().ok().map(|g| g.script.to_lines());
            if sender.send(generated).is_err() {
                return;
            }
            let Some(text) = text else { return };
            use std::io::Write as _;
            if java::write_all(&mut stdin, &text)
                .and_then(|()| stdin.flush())
                .is_err()
            {
                return;
            }
        }
    });
    let mut report = Report {
        seed: options.seed,
        ..Report::default()
    };
    let outcome = (|| {
        for generated in receiver.iter() {
            let generated = generated?;
            if let Some(mut difference) = compare_script(&mut driver, &generated, &mut report)? {
                difference.saved =
                    save_script(&options.results_dir, options.seed, &generated.script);
                report.differences.push(difference);
            }
            report.scripts += 1;
            progress(report.scripts);
        }
        Ok(())
    })();
    drop(receiver);
    let _ = writer.join();
    outcome?;
    driver.finish()?;
    Ok(report)
}

/// Replays a sender script (saved by a run, or written by hand) through linger and Kafka.
pub fn replay_text(text: &str, project: &Path) -> Result<Report, CrosscheckError> {
    let script = SenderScript::parse(text).map_err(|error| CrosscheckError::BadScript {
        path: "the sender script".into(),
        error,
    })?;
    replay_script(script, project)
}

/// Replays the sender script in the file at `path`.
pub fn replay(path: &Path, project: &Path) -> Result<Report, CrosscheckError> {
    let text = std::fs::read_to_string(path).map_err(|error| CrosscheckError::Io {
        what: format!("read {}", path.display()),
        error,
    })?;
    let script = SenderScript::parse(&text).map_err(|error| CrosscheckError::BadScript {
        path: path.display().to_string(),
        error,
    })?;
    replay_script(script, project)
}

fn replay_script(script: SenderScript, project: &Path) -> Result<Report, CrosscheckError> {
    let (decisions, unfinished) = run_linger(&script)?;
    java::check_tools()?;
    let classpath = java::build(project)?;
    let mut driver = JavaDriver::start_class(&classpath, SENDER_DRIVER_CLASS)?;
    let mut stdin = driver
        .take_stdin()
        .ok_or_else(|| CrosscheckError::Driver("no stdin".into()))?;
    let text = script.to_lines();
    let writer = std::thread::spawn(move || {
        let _ = java::write_all(&mut stdin, &text);
    });
    let generated = GeneratedSender {
        script,
        decisions,
        unfinished,
    };
    let mut report = Report::default();
    if let Some(difference) = compare_script(&mut driver, &generated, &mut report)? {
        report.differences.push(difference);
    }
    report.scripts = 1;
    let _ = writer.join();
    driver.finish()?;
    Ok(report)
}

/// The Markdown page of a sender differential run: versions, figures, what the scripts
/// covered, the differences (each with its script for `--replay`) and what the comparison
/// leaves out.
pub fn validation_doc(report: &Report, faults: bool, linger_commit: &str) -> String {
    use std::fmt::Write as _;
    let mut doc = String::new();
    let flag = if faults { "" } else { " --without-faults" };
    let _ = writeln!(
        doc,
        "# Validation: linger's sender against the Kafka Java client's `Sender`\n"
    );
    let _ = writeln!(
        doc,
        "Generated by `linger crosscheck sender --scripts {} --seed {}{flag} --write-doc docs/validation-sender.md`; do not edit by hand.\n",
        report.scripts, report.seed
    );
    let _ = writeln!(
        doc,
        "The differential runs Kafka's real `Sender` with its `RecordAccumulator`, `BufferPool` and idempotent `TransactionManager` over Kafka's test client `MockClient` (the driver adds the in-flight limit, request timeouts and the I/O thread's sleeps and wake-ups as `NetworkClient` has them), and linger's whole producer client with scripted brokers, on random scripts of appends, time, produce responses (success or an error per partition), connection resets and leader moves. It compares, for every operation, the produce requests sent (node; per batch the partition, producer id, epoch, base sequence and records) and every record's completion (offset or error), with their times.\n"
    );
    let _ = writeln!(doc, "## Versions\n");
    let _ = writeln!(doc, "| What | Version |\n|---|---|");
    let _ = writeln!(
        doc,
        "| Kafka client (`org.apache.kafka:kafka-clients` and its test jar) | {} |",
        report.kafka_clients
    );
    let _ = writeln!(doc, "| JDK | {} |", report.java);
    let _ = writeln!(doc, "| linger commit | {linger_commit} |\n");
    let _ = writeln!(doc, "## Figures\n");
    let _ = writeln!(doc, "| Figure | Value |\n|---|---|");
    let _ = writeln!(doc, "| Scripts | {} |", report.scripts);
    let _ = writeln!(doc, "| Operations compared | {} |", report.ops);
    let _ = writeln!(
        doc,
        "| Scripts with a difference | {} |\n",
        report.differences.len()
    );
    let _ = writeln!(doc, "What the scripts exercised (counts):\n");
    let _ = writeln!(doc, "| Decision | Count |\n|---|---|");
    for (key, count) in &report.coverage {
        let _ = writeln!(doc, "| {key} | {count} |");
    }
    let _ = writeln!(doc, "\n## Differences (the first of each script)\n");
    if report.differences.is_empty() {
        let _ = writeln!(doc, "None: every decision of every script matched.\n");
    }
    for difference in &report.differences {
        let _ = writeln!(
            doc,
            "- script {}, operation {}: `{}` (replay: `linger crosscheck sender --scripts {} --seed {}{flag}` saves it under `crosscheck/results/`)",
            difference.script,
            difference.op_index,
            difference.op,
            difference.script + 1,
            report.seed
        );
    }
    let _ = writeln!(doc, "\n## Known differences, pinned by tests\n");
    let _ = writeln!(
        doc,
        "- A timed-out request: linger notices it at its deadline, Kafka's I/O thread at its next wake-up (up to another `request.timeout.ms` later in an idle producer). The driver hides it unless the script's header sets `kafka_request_timeout_wake`; pinned by `kafka_notices_a_timed_out_request_at_its_next_wake_up_linger_at_the_deadline`."
    );
    let _ = writeln!(
        doc,
        "- Kafka still sends a batch that it expired (delivery timeout) in the pass that drained it; linger does not. Pinned by `kafka_still_sends_a_batch_it_expired_in_the_same_pass_linger_does_not`.\n"
    );
    let _ = writeln!(doc, "## What the comparison leaves out\n");
    let _ = writeln!(
        doc,
        "- Connections are ready at once and ApiVersions, metadata and InitProducerId are answered at once (the network has no latency); no reconnect backoff; the retry backoff has no jitter (`retry.backoff.max.ms` = `retry.backoff.ms`)."
    );
    let _ = writeln!(
        doc,
        "- Records have null keys, no headers and explicit partitions; one topic; no compression; `max.block.ms` is 0 and the buffer never runs out; no KIP-951 leader hints in responses; no transactions."
    );
    let _ = writeln!(
        doc,
        "- linger's clock counts nanoseconds and Kafka's milliseconds: the driver plays linger's request deadline (1 ns after `request.timeout.ms`) as a wake-up after everything else due in that millisecond, and the generator never puts an operation in a millisecond where linger has such a wake-up still to come."
    );
    doc
}
