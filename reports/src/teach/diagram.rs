//! The sequence diagram as data: lanes (application, producer, each broker, the controller) and
//! one step per trace event, either an arrow between lanes, a lost arrow, or a mark on one lane.
//! The terminal, SVG and HTML views all draw this same structure.
//!
//! | trace event                                   | drawn as                          |
//! |-----------------------------------------------|-----------------------------------|
//! | app send                                      | application -> producer           |
//! | app ack / fail                                | producer -> application           |
//! | producer request                              | producer -> broker (PID/epoch/SEQ of the drained batches) |
//! | broker respond                                | broker -> producer                |
//! | net drop                                      | from -> to, lost half way (x)     |
//! | controller elect                              | controller -> new leader          |
//! | anything else                                 | a mark on its component's lane    |
//!
//! A leader's append and duplicate answer carry the producer state it keeps for that producer
//! id afterwards (`stored SEQ 0@0 1@1`: the last five batches' sequences and base offsets, as
//! `ProducerStateEntry`). The checker's findings from the final logs mark two rows: the append
//! that wrote a record a second time (`DUPLICATE WRITE`) and the acknowledgement of a record
//! the final logs do not hold (`LOST`); a diagram drawn from a saved trace alone has neither.

use std::collections::{BTreeMap, BTreeSet};

use super::trace::TraceLine;

/// How important a step is, for emphasis in every view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tone {
    /// Ordinary progress.
    Normal,
    /// A fault or a lost guarantee: loss, crash, truncation, failure.
    Fault,
    /// A recovery action: retry, timeout, epoch bump, election.
    Recovery,
    /// A protection that worked: a duplicate recognised.
    Guard,
}

/// What a step draws across the lanes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// A mark on one lane.
    Mark { lane: usize },
    /// A message from one lane to another.
    Arrow { from: usize, to: usize },
    /// A message lost on the way.
    Lost { from: usize, to: usize },
    /// An event of a component with no lane: text only.
    Note,
}

/// One row of the diagram.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Step {
    pub t_ns: u64,
    pub shape: Shape,
    pub tone: Tone,
    pub text: String,
}

/// A column of the diagram.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Lane {
    /// The component name, such as `broker/1`.
    pub name: String,
    /// Its role at the start, such as `leader p0` (may be empty).
    pub role: String,
}

/// The whole diagram.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Diagram {
    pub lanes: Vec<Lane>,
    pub steps: Vec<Step>,
}

const APP: usize = 0;
const PRODUCER: usize = 1;

/// Records the checker found duplicated or lost in the final logs, so that the write that made
/// a duplicate and the acknowledgement of a lost record stand out.
#[derive(Clone, Debug, Default)]
pub(crate) struct Findings {
    pub duplicated: BTreeSet<u64>,
    pub lost: BTreeSet<u64>,
    /// Where each duplicated record was first written: (partition, record) -> offset.
    written: BTreeMap<(String, u64), i64>,
}

impl Findings {
    pub(crate) fn new(duplicated: &[u64], lost: &[u64]) -> Findings {
        Findings {
            duplicated: duplicated.iter().copied().collect(),
            lost: lost.iter().copied().collect(),
            written: BTreeMap::new(),
        }
    }

    /// The records of an append (its `record_ids` runs) written before at an offset, as
    /// `(record, first offset)`; remembers the first writes of duplicated records.
    fn rewritten(&mut self, e: &TraceLine) -> Vec<(u64, i64)> {
        let partition = e.text("partition");
        let Some(base) = e.int("base_offset") else {
            return Vec::new();
        };
        let mut again = Vec::new();
        let mut offset = base;
        for run in e.text("record_ids").split(',') {
            let (first, last) = match run.split_once("..") {
                Some((a, b)) => (a.parse::<u64>(), b.parse::<u64>()),
                None => (run.parse::<u64>(), run.parse::<u64>()),
            };
            let (Ok(first), Ok(last)) = (first, last) else {
                return again;
            };
            for record in first..=last {
                if self.duplicated.contains(&record) {
                    match self.written.get(&(partition.clone(), record)) {
                        Some(&at) => again.push((record, at)),
                        None => {
                            self.written.insert((partition.clone(), record), offset);
                        }
                    }
                }
                offset += 1;
            }
        }
        again
    }
}

/// Builds the diagram of `events`, with the checker's `findings` marked.
pub(crate) fn build(events: &[TraceLine], findings: &Findings) -> Diagram {
    let mut findings = findings.clone();
    let brokers = broker_ids(events);
    let has_controller = events.iter().any(|e| e.component == "controller");
    let mut lanes = vec![
        Lane {
            name: "application".to_owned(),
            role: "send()".to_owned(),
        },
        Lane {
            name: "producer".to_owned(),
            role: "accumulator+sender".to_owned(),
        },
    ];
    for id in &brokers {
        lanes.push(Lane {
            name: format!("broker/{id}"),
            role: initial_role(events, *id),
        });
    }
    if has_controller {
        lanes.push(Lane {
            name: "controller".to_owned(),
            role: String::new(),
        });
    }
    let lookup = LaneLookup {
        brokers,
        controller: has_controller.then_some(lanes.len() - 1),
    };
    let mut producer = ProducerState::default();
    let mut steps: Vec<Step> = events
        .iter()
        .take(MAX_STEPS)
        .map(|e| step_of(e, &lookup, &mut producer, &mut findings))
        .collect();
    if let Some(first_hidden) = events.get(MAX_STEPS) {
        steps.push(Step {
            t_ns: first_hidden.t_ns,
            shape: Shape::Note,
            tone: Tone::Normal,
            text: format!(
                "... {} more events not drawn: teaching diagrams show the first {MAX_STEPS}",
                events.len() - MAX_STEPS
            ),
        });
    }
    Diagram { lanes, steps }
}

/// At most this many events are drawn; teaching scenarios are short, and a long trace would
/// give an unreadable (and huge) picture. The verdict still reads every event.
pub(crate) const MAX_STEPS: usize = 2000;

/// What the producer has done so far, for labels that depend on history.
#[derive(Default)]
struct ProducerState {
    /// Drained batches not yet sent: (node, `b3 PID 7 epoch 0 SEQ 4..6`).
    pending: Vec<(String, String)>,
    /// Batches drained at least once, so a second drain is marked as a retry.
    drained: BTreeSet<String>,
}

struct LaneLookup {
    brokers: Vec<i64>,
    controller: Option<usize>,
}

impl LaneLookup {
    fn broker(&self, id: i64) -> Option<usize> {
        self.brokers.iter().position(|&b| b == id).map(|i| i + 2)
    }

    /// The lane of a component or node name: `app`, `producer`/`client`, `broker/N`, `N`.
    fn named(&self, name: &str) -> Option<usize> {
        match name {
            "app" | "application" => Some(APP),
            "producer" | "client" | "sender" => Some(PRODUCER),
            "controller" => self.controller,
            other => {
                let id = other
                    .strip_prefix("broker/")
                    .or_else(|| other.strip_prefix("broker"))
                    .unwrap_or(other);
                id.trim().parse().ok().and_then(|id| self.broker(id))
            }
        }
    }

    fn node_field(&self, event: &TraceLine, key: &str) -> Option<usize> {
        match event.int(key) {
            Some(id) => self.broker(id),
            None => self.named(&event.text(key)),
        }
    }
}

/// Broker ids named anywhere in the trace, ascending.
fn broker_ids(events: &[TraceLine]) -> Vec<i64> {
    let mut ids: Vec<i64> = Vec::new();
    let mut add = |id: Option<i64>| {
        if let Some(id) = id
            && !ids.contains(&id)
        {
            ids.push(id);
        }
    };
    for e in events {
        add(e
            .component
            .strip_prefix("broker/")
            .and_then(|s| s.parse().ok()));
        if e.component == "faults" {
            add(e.int("broker"));
        }
        match (e.component.as_str(), e.kind.as_str()) {
            ("producer", "request" | "response" | "request_timeout") => add(e.int("node")),
            ("producer", "metadata") | ("controller", "elect") => add(e.int("leader")),
            ("net", "drop") => {
                for key in ["from", "to"] {
                    add(e
                        .fields
                        .get(key)
                        .and_then(|v| v.as_str())
                        .and_then(|s| s.strip_prefix("broker/")?.parse().ok()));
                }
            }
            _ => {}
        }
    }
    ids.sort_unstable();
    ids
}

/// `leader p0,p1` for a broker that leads partitions first, else `follower`.
fn initial_role(events: &[TraceLine], broker: i64) -> String {
    let mut partitions: Vec<String> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for e in events {
        let leader = match (e.component.as_str(), e.kind.as_str()) {
            ("producer", "metadata") | ("controller", "elect") => e.int("leader"),
            (c, "become_leader") => c.strip_prefix("broker/").and_then(|s| s.parse().ok()),
            _ => continue,
        };
        let partition = e.text("partition");
        if seen.contains(&partition) {
            continue;
        }
        seen.push(partition.clone());
        if leader == Some(broker) {
            partitions.push(format!("p{partition}"));
        }
    }
    if partitions.is_empty() {
        "follower".to_owned()
    } else {
        format!("leads {}", partitions.join(","))
    }
}

/// The SEQ range of a batch: `SEQ 4` for one record, `SEQ 4..6` for three.
fn seq_range(event: &TraceLine) -> String {
    match (event.int("seq"), event.int("records")) {
        (Some(seq), Some(n)) if n > 1 && seq >= 0 => format!("SEQ {seq}..{}", seq + n - 1),
        _ => format!("SEQ {}", event.text("seq")),
    }
}

/// `PID 7 epoch 0 SEQ 4..6`, or `no PID/SEQ (not idempotent)` for producer id -1.
fn identity(event: &TraceLine) -> String {
    if event.int("pid") == Some(-1) {
        return "no PID/SEQ (not idempotent)".to_owned();
    }
    format!(
        "PID {} epoch {} {}",
        event.text("pid"),
        event.text("epoch"),
        seq_range(event)
    )
}

/// `1 record`, `3 records`, `? records`.
fn records(event: &TraceLine) -> String {
    records_named(event, "records")
}

fn records_named(event: &TraceLine, key: &str) -> String {
    match event.int(key) {
        Some(1) => "1 record".to_owned(),
        _ => format!("{} records", event.text(key)),
    }
}

fn step_of(
    event: &TraceLine,
    lanes: &LaneLookup,
    producer: &mut ProducerState,
    findings: &mut Findings,
) -> Step {
    let (shape, tone, mut text) = match event.component.as_str() {
        "app" => app_step(event),
        "producer" => producer_step(event, lanes, producer),
        "net" => net_step(event, lanes),
        "controller" => controller_step(event, lanes),
        "faults" => fault_step(event, lanes),
        c if c.starts_with("broker/") => broker_step(event, lanes),
        _ => (None, Tone::Normal, generic_text(event)),
    };
    let mut tone = tone;
    if event.component.starts_with("broker/") && event.kind == "append" {
        for (record, at) in findings.rewritten(event) {
            tone = Tone::Fault;
            text.push_str(&format!(
                " -- DUPLICATE WRITE: record {record} is already at offset {at}"
            ));
        }
    }
    if event.component == "app"
        && event.kind == "ack"
        && event
            .int("record")
            .is_some_and(|r| r >= 0 && findings.lost.contains(&(r as u64)))
    {
        tone = Tone::Fault;
        text.push_str(" -- LOST: acknowledged, but not in the final log");
    }
    let fallback = lanes
        .named(&event.component)
        .map_or(Shape::Note, |lane| Shape::Mark { lane });
    Step {
        t_ns: event.t_ns,
        shape: shape.unwrap_or(fallback),
        tone,
        text,
    }
}

type Parts = (Option<Shape>, Tone, String);

fn generic_text(event: &TraceLine) -> String {
    let fields: Vec<String> = event
        .fields
        .keys()
        .map(|k| format!("{k}={}", event.text(k)))
        .collect();
    format!("{} {} {}", event.component, event.kind, fields.join(" "))
        .trim_end()
        .to_owned()
}

fn app_step(e: &TraceLine) -> Parts {
    let to_app = Some(Shape::Arrow {
        from: PRODUCER,
        to: APP,
    });
    match e.kind.as_str() {
        "send" => {
            let key = match e.int("key") {
                Some(-1) => "no key".to_owned(),
                _ => format!("key {}", e.text("key")),
            };
            let partition = match e.int("partition") {
                Some(-1) => "fails before it is appended".to_owned(),
                _ => format!("to p{}", e.text("partition")),
            };
            let shape = Some(Shape::Arrow {
                from: APP,
                to: PRODUCER,
            });
            (
                shape,
                Tone::Normal,
                format!("send record {} ({key}) {partition}", e.text("record")),
            )
        }
        "close" => (
            None,
            Tone::Normal,
            match e.int("timeout_ms") {
                Some(-1) => "close(): no more sends; every queued batch leaves now".to_owned(),
                _ => format!(
                    "close(Duration.ofMillis({})): no more sends; every queued batch leaves now",
                    e.text("timeout_ms")
                ),
            },
        ),
        "force_close" => (
            None,
            Tone::Fault,
            "close timeout: the producer closes forcefully and fails what is still queued or in flight"
                .to_owned(),
        ),
        "exit" => (
            None,
            Tone::Fault,
            "main returns without flush() or close(): the JVM exits, and the I/O thread with it"
                .to_owned(),
        ),
        "init_transactions" => (
            None,
            Tone::Normal,
            "initTransactions(): the producer id and epoch come from the transaction coordinator"
                .to_owned(),
        ),
        "commit_transaction" => (
            None,
            Tone::Normal,
            "commitTransaction(): flush every batch, then EndTxn(COMMIT) to the coordinator"
                .to_owned(),
        ),
        "abort_transaction" => (
            None,
            Tone::Recovery,
            format!(
                "abortTransaction() after {}: unsent batches fail, EndTxn(ABORT)",
                e.text("after")
            ),
        ),
        "close_after_fatal" => (
            None,
            Tone::Fault,
            format!("fatal {}: the application closes the producer", e.text("error")),
        ),
        "transaction_done" => (
            to_app,
            if e.text("outcome") == "committed" {
                Tone::Normal
            } else {
                Tone::Recovery
            },
            format!("the transaction is {}", e.text("outcome")),
        ),
        "send_blocked" => (
            Some(Shape::Arrow {
                from: APP,
                to: PRODUCER,
            }),
            Tone::Fault,
            format!(
                "send record {} ({}) BLOCKS: buffer.memory is full, waits up to {} ms (max.block.ms)",
                e.text("record"),
                match e.int("key") {
                    Some(-1) => "no key".to_owned(),
                    _ => format!("key {}", e.text("key")),
                },
                e.text("max_block_ms")
            ),
        ),
        "ack" => (
            to_app,
            Tone::Normal,
            format!(
                "ack record {}: offset {}",
                e.text("record"),
                e.text("offset")
            ),
        ),
        "fail" => (
            to_app,
            Tone::Fault,
            format!("FAILED record {}: {}", e.text("record"), e.text("error")),
        ),
        _ => (None, Tone::Normal, generic_text(e)),
    }
}

fn producer_step(e: &TraceLine, lanes: &LaneLookup, state: &mut ProducerState) -> Parts {
    match e.kind.as_str() {
        "txn_request" => (
            lanes
                .node_field(e, "node")
                .map(|to| Shape::Arrow { from: PRODUCER, to }),
            Tone::Normal,
            format!(
                "{} #{} to the transaction coordinator",
                e.text("api"),
                e.text("corr")
            ),
        ),
        "txn_response" => (
            None,
            if e.text("error") == "NONE" {
                Tone::Normal
            } else {
                Tone::Fault
            },
            format!(
                "answer to #{}: {}; transaction state {}",
                e.text("corr"),
                e.text("error"),
                e.text("state")
            ),
        ),
        "drain" => {
            let again = !state.drained.insert(e.text("batch"));
            state.pending.push((
                e.text("node"),
                format!("b{} {}", e.text("batch"), identity(e)),
            ));
            let text = format!(
                "drain b{} p{} for broker/{}: {} ({}, attempt {})",
                e.text("batch"),
                e.text("partition"),
                e.text("node"),
                identity(e),
                records(e),
                e.text("attempt")
            );
            let tone = if again { Tone::Recovery } else { Tone::Normal };
            (None, tone, text)
        }
        "request" => request_step(e, lanes, &mut state.pending),
        _ => {
            let (tone, text) = producer_mark(e);
            (None, tone, text)
        }
    }
}

/// A produce request, labelled with the PID/epoch/SEQ of the batches drained for its node.
fn request_step(e: &TraceLine, lanes: &LaneLookup, pending: &mut Vec<(String, String)>) -> Parts {
    let node = e.text("node");
    let (mine, rest): (Vec<_>, Vec<_>) = pending.drain(..).partition(|(n, _)| *n == node);
    *pending = rest;
    let batches: Vec<String> = mine.into_iter().map(|(_, h)| h).collect();
    let detail = if batches.is_empty() {
        format!("{} batches", e.text("batches"))
    } else {
        batches.join("; ")
    };
    let shape = lanes
        .node_field(e, "node")
        .map(|to| Shape::Arrow { from: PRODUCER, to });
    (
        shape,
        Tone::Normal,
        format!("Produce #{} [{detail}]", e.text("corr")),
    )
}

/// Producer events drawn as a mark on the producer's lane.
fn producer_mark(e: &TraceLine) -> (Tone, String) {
    let p = e.text("partition");
    let (batch, corr, node) = (e.text("batch"), e.text("corr"), e.text("node"));
    match e.kind.as_str() {
        "batch_new" => (
            Tone::Normal,
            format!("accumulator: new batch b{batch} for p{p}"),
        ),
        "response" => (
            Tone::Normal,
            format!("response #{corr} from broker/{node} received"),
        ),
        "retry" => (
            Tone::Recovery,
            format!(
                "RETRY b{batch} p{p} after {} (backoff {} ms)",
                e.text("error"),
                e.text("backoff_ms")
            ),
        ),
        "expire" => (
            Tone::Fault,
            format!("EXPIRED b{batch} p{p}: delivery.timeout.ms passed"),
        ),
        "epoch_bump" => (
            Tone::Recovery,
            format!(
                "EPOCH BUMP: PID {} now epoch {}",
                e.text("pid"),
                e.text("epoch")
            ),
        ),
        "request_timeout" => (
            Tone::Recovery,
            format!("TIMEOUT: no response to #{corr} from broker/{node} within request.timeout.ms"),
        ),
        "init_producer_id" => (
            Tone::Normal,
            format!(
                "InitProducerId: PID {} epoch {}",
                e.text("pid"),
                e.text("epoch")
            ),
        ),
        "metadata" => (
            Tone::Normal,
            format!(
                "metadata: p{p} leader broker/{} (leader epoch {})",
                e.text("leader"),
                e.text("epoch")
            ),
        ),
        _ => (Tone::Normal, generic_text(e)),
    }
}

fn net_step(e: &TraceLine, lanes: &LaneLookup) -> Parts {
    if e.kind != "drop" {
        return (None, Tone::Normal, generic_text(e));
    }
    let from = lanes.named(&e.text("from"));
    let to = lanes.named(&e.text("to"));
    let shape = match (from, to) {
        (Some(from), Some(to)) => Some(Shape::Lost { from, to }),
        _ => Some(Shape::Note),
    };
    let msg = e.text("msg").replace('_', " ");
    (
        shape,
        Tone::Fault,
        format!(
            "LOST on the network: {msg} #{} ({} -> {})",
            e.text("corr"),
            e.text("from"),
            e.text("to")
        ),
    )
}

fn controller_step(e: &TraceLine, lanes: &LaneLookup) -> Parts {
    match e.kind.as_str() {
        "elect" => {}
        "isr_shrink" => {
            let text = format!(
                "ISR shrink p{}: {}",
                e.text("partition"),
                list_text(e, "isr")
            );
            return (None, Tone::Fault, text);
        }
        "offline" => {
            let text = format!("OFFLINE p{}: no eligible leader", e.text("partition"));
            return (None, Tone::Fault, text);
        }
        _ => return (None, Tone::Normal, generic_text(e)),
    }
    let unclean = if e.fields.get("unclean").and_then(serde_json::Value::as_bool) == Some(true) {
        " UNCLEAN"
    } else {
        ""
    };
    let shape = match (lanes.controller, lanes.node_field(e, "leader")) {
        (Some(from), Some(to)) => Some(Shape::Arrow { from, to }),
        _ => None,
    };
    let text = format!(
        "ELECT{unclean}: p{} leader broker/{} (leader epoch {})",
        e.text("partition"),
        e.text("leader"),
        e.text("epoch")
    );
    (shape, Tone::Recovery, text)
}

/// Injected faults: drawn on the broker they hit, or across the link they cut.
fn fault_step(e: &TraceLine, lanes: &LaneLookup) -> Parts {
    let broker = e.int("broker").and_then(|b| lanes.broker(b));
    let on_broker = broker.map(|lane| Shape::Mark { lane });
    let b = e.text("broker");
    let (a, z) = (e.text("a"), e.text("b"));
    match e.kind.as_str() {
        "crash" => (on_broker, Tone::Fault, format!("FAULT: crash broker/{b}")),
        "restart" => (
            on_broker,
            Tone::Recovery,
            format!("FAULT: restart broker/{b}"),
        ),
        "drop_responses" => (
            on_broker,
            Tone::Fault,
            format!(
                "FAULT: drop the next {} response(s) of broker/{b}",
                e.text("n")
            ),
        ),
        "cut" => {
            let shape = match (lanes.named(&a), lanes.named(&z)) {
                (Some(from), Some(to)) => Some(Shape::Lost { from, to }),
                _ => None,
            };
            (shape, Tone::Fault, format!("FAULT: link cut {a} <-> {z}"))
        }
        "heal" => {
            let shape = lanes.named(&a).map(|lane| Shape::Mark { lane });
            (
                shape,
                Tone::Recovery,
                format!("FAULT: link healed {a} <-> {z}"),
            )
        }
        _ => (None, Tone::Fault, generic_text(e)),
    }
}

/// A list field as `[1,2]`, whether the trace wrote it as an array or as `1,2`.
fn list_text(e: &TraceLine, key: &str) -> String {
    let text = e.text(key);
    if text.starts_with('[') || text == "?" {
        text
    } else {
        format!("[{text}]")
    }
}

fn broker_step(e: &TraceLine, lanes: &LaneLookup) -> Parts {
    let p = e.text("partition");
    let (tone, text) = match e.kind.as_str() {
        "append" | "duplicate" | "out_of_order" => broker_log_mark(e),
        "respond" => {
            let shape = Some(Shape::Arrow {
                from: lanes.named(&e.component).unwrap_or(PRODUCER),
                to: PRODUCER,
            });
            let text = format!(
                "response #{} p{p}: {} offset {}",
                e.text("corr"),
                e.text("error"),
                e.text("offset")
            );
            let tone = match e.text("error").as_str() {
                "NONE" | "?" => Tone::Normal,
                _ => Tone::Fault,
            };
            return (shape, tone, text);
        }
        "not_enough_replicas" => (
            Tone::Fault,
            format!("NOT_ENOUGH_REPLICAS p{p}: ISR {}", list_text(e, "isr")),
        ),
        "crash" => (Tone::Fault, "CRASH".to_owned()),
        "restart" => (Tone::Recovery, "restart".to_owned()),
        "truncate" => (
            Tone::Fault,
            format!(
                "TRUNCATE p{p} to offset {}: {} removed",
                e.text("to_offset"),
                records_named(e, "removed")
            ),
        ),
        "txn_request" => {
            let shape = Some(Shape::Arrow {
                from: lanes.named(&e.component).unwrap_or(PRODUCER),
                to: PRODUCER,
            });
            let tone = if e.text("error") == "NONE" {
                Tone::Normal
            } else {
                Tone::Fault
            };
            let text = format!(
                "coordinator answers #{}: {}",
                e.text("corr"),
                e.text("error")
            );
            return (shape, tone, text);
        }
        "txn_marker" => (
            Tone::Guard,
            format!(
                "{} marker in p{p} at offset {} (PID {} epoch {}): the transaction's records there are {}",
                if e.text("commit") == "true" {
                    "COMMIT"
                } else {
                    "ABORT"
                },
                e.text("offset"),
                e.text("pid"),
                e.text("epoch"),
                if e.text("commit") == "true" {
                    "visible to read_committed"
                } else {
                    "skipped by read_committed"
                }
            ),
        ),
        "txn_complete" => (
            Tone::Normal,
            format!(
                "coordinator: transaction {} {} (markers written)",
                e.text("txn_id"),
                if e.text("commit") == "true" {
                    "CompleteCommit"
                } else {
                    "CompleteAbort"
                }
            ),
        ),
        "txn_timeout" => (
            Tone::Fault,
            format!(
                "coordinator: transaction {} open past transaction.timeout.ms: aborted, epoch bumped",
                e.text("txn_id")
            ),
        ),
        "txn_fence" => (
            Tone::Fault,
            format!(
                "coordinator: PID {} epoch {} of {} fenced",
                e.text("pid"),
                e.text("epoch"),
                e.text("txn_id")
            ),
        ),
        "become_leader" => (
            // The first leadership (epoch 0) is the cluster starting, not a recovery.
            if e.int("epoch").is_some_and(|epoch| epoch > 0) {
                Tone::Recovery
            } else {
                Tone::Normal
            },
            format!("now leader of p{p} (leader epoch {})", e.text("epoch")),
        ),
        "become_follower" => (
            Tone::Normal,
            format!("now follower of p{p} (leader broker/{})", e.text("leader")),
        ),
        "hw" => (
            Tone::Normal,
            format!("high watermark p{p} = {}", e.text("hw")),
        ),
        "isr_shrink" => (
            Tone::Fault,
            format!("ISR shrink p{p}: {}", list_text(e, "isr")),
        ),
        "isr_expand" => (
            Tone::Recovery,
            format!("ISR expand p{p}: {}", list_text(e, "isr")),
        ),
        _ => (Tone::Normal, generic_text(e)),
    };
    (None, tone, text)
}

/// The partition's remembered batches of the producer after this event, as Kafka's
/// `ProducerStateEntry` keeps them (the last five): `; stored SEQ 0@0 1..2@1`, each batch's
/// sequences and base offset. Empty for a producer without an id, or a trace without the field.
fn stored_state(e: &TraceLine) -> String {
    let stored = e.text("stored");
    if e.int("pid") == Some(-1) || stored.is_empty() || stored == "?" {
        return String::new();
    }
    let batches: Vec<String> = stored
        .split(',')
        .map(|b| match b.split_once('@') {
            Some((seqs, offset)) => match seqs.split_once('-') {
                Some((first, last)) if first == last => format!("{first}@{offset}"),
                Some((first, last)) => format!("{first}..{last}@{offset}"),
                None => b.to_owned(),
            },
            None => b.to_owned(),
        })
        .collect();
    format!("; stored SEQ {}", batches.join(" "))
}

/// What the leader's log did with a produced batch: appended it, recognised it as a duplicate,
/// or refused it for a sequence gap.
fn broker_log_mark(e: &TraceLine) -> (Tone, String) {
    let p = e.text("partition");
    match e.kind.as_str() {
        "append" => {
            let last = match (e.int("base_offset"), e.int("records")) {
                (Some(b), Some(n)) if n > 1 => format!("..{}", b + n - 1),
                _ => String::new(),
            };
            let text = format!(
                "append p{p} at offset {}{last}: {}{}",
                e.text("base_offset"),
                identity(e),
                stored_state(e)
            );
            (Tone::Normal, text)
        }
        "duplicate" => (
            Tone::Guard,
            format!(
                "DUPLICATE PID {} epoch {} SEQ {}: already at offset {}, not written again{}",
                e.text("pid"),
                e.text("epoch"),
                e.text("seq"),
                e.text("offset"),
                stored_state(e)
            ),
        ),
        _ => (
            Tone::Guard,
            format!(
                "OUT_OF_ORDER_SEQUENCE p{p}: PID {} got SEQ {}, expected {}",
                e.text("pid"),
                e.text("seq"),
                e.text("expected")
            ),
        ),
    }
}
