//! The sender driven from a script: linger's producer client (sender, connections, metadata,
//! idempotent bookkeeping, the batching core) with scripted brokers instead of the cluster, for
//! the sender differential against Kafka's own `Sender` (`linger crosscheck sender`).
//!
//! ```text
//!  append(t, partition, bytes) ──► RecordAccumulator (the send path of `send()`)
//!  advance(t) ─► engine events ─► Producer (SenderWake, connects, disconnects)
//!                                   │ ProduceRequest                 ▲ respond(node, errors)
//!                                   ▼                                │ disconnect(node)
//!                      scripted brokers: held per node in send order ┘
//!  ApiVersions / Metadata / InitProducerId requests are answered at once by the brokers.
//!  Decisions: every produce request as it leaves (node, batches, producer id, epoch,
//!  sequences, record ids) and every record's completion (offset or error).
//! ```
//!
//! The producer is the same code the catalog's runs use; only its surroundings differ: the
//! network has no latency and no bandwidth limit (a request reaches its broker the instant it
//! is sent), the reconnect backoff is zero, and the application thread never runs (records
//! enter the accumulator from the script). Nothing here is used by a catalog run.
//!
//! Fidelity: the scripted side of Kafka's `SenderTest` / `MockClient`: a connection is ready
//! as soon as it is wanted, metadata and InitProducerId are answered at once, a produce request
//! waits for the script's response or disconnect.

use std::collections::VecDeque;

use sim::{Ctx, Engine, Instant, Model, Trace};

use super::Producer;
use super::records::AppRecord;
use crate::batching::config::{Acks as ConfigAcks, KafkaVersion, ProducerConfig};
use crate::batching::{AbortOnNewBatch, AppendOutcome, AppendRequest, RecordMeta};
use crate::network::{NetEvent, Network, NetworkConfig};
use crate::protocol::{
    BrokerId, ErrorCode, LeaderEpoch, Message, MetadataResponse, Node, PartitionId,
    PartitionMetadata, ProduceResponse, ProducerId, WireBatch,
};
use crate::world::{Event, RunEvent};

const MS: u64 = 1_000_000;

/// The first producer id the scripted brokers hand out; each InitProducerId gets the next.
pub const FIRST_PRODUCER_ID: i64 = 1000;

/// The producer settings of a script (ms as Kafka's keys have them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptedSettings {
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
    /// `retry.backoff.ms` (also `retry.backoff.max.ms`: the backoff has no jitter then).
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
    /// The leader of each partition at the start.
    pub leaders: Vec<u32>,
}

/// One batch of a produce request as it left the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentBatch {
    /// The partition.
    pub partition: u32,
    /// The producer id (-1 when not idempotent).
    pub producer_id: i64,
    /// The producer epoch (-1 when not idempotent).
    pub epoch: i16,
    /// The base sequence (-1 when not idempotent).
    pub base_sequence: i32,
    /// The records, by their number in the script (append order from 0).
    pub records: Vec<u64>,
}

/// A decision of the producer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScriptedEvent {
    /// A produce request left for `node`.
    Sent {
        /// When, ms.
        t_ms: u64,
        /// The broker.
        node: u32,
        /// Its batches, in request order.
        batches: Vec<SentBatch>,
    },
    /// A record's future completed.
    Done {
        /// When, ms.
        t_ms: u64,
        /// The record's number in the script.
        record: u64,
        /// Its offset when acknowledged.
        offset: Option<i64>,
        /// Kafka's name of its error when it failed.
        error: Option<String>,
    },
}

/// The answer of one partition in a scripted produce response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptedPartitionResponse {
    /// The partition.
    pub partition: u32,
    /// `NONE` or a Kafka error name.
    pub error: String,
    /// The base offset on success.
    pub base_offset: i64,
}

/// What the script asked that the producer's state cannot do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScriptedError {
    /// The settings are not a valid producer configuration.
    #[error("the producer settings are invalid: {0}")]
    Settings(String),
    /// An error name that is not a produce error linger knows.
    #[error("unknown error name {0:?}; allowed: NONE or one of {1}")]
    UnknownError(String, String),
    /// A partition outside the topic or a node outside the cluster.
    #[error("{0}")]
    OutOfRange(String),
    /// Time went backwards.
    #[error("operation at {0} ms is before the current time {1} ms")]
    TimeBackwards(u64, u64),
}

/// A request held by a scripted broker.
#[derive(Clone, Debug)]
struct Held {
    conn: u32,
    correlation_id: u64,
    /// (partition, batch tag, record count) in request order.
    batches: Vec<(u32, u64, usize)>,
}

/// The producer with its scripted surroundings, as an engine model.
struct Harness {
    producer: Producer,
    net: Network,
    leaders: Vec<u32>,
    leader_epochs: Vec<u32>,
    held: Vec<VecDeque<Held>>,
    next_producer_id: i64,
    events: Vec<ScriptedEvent>,
}

impl Model for Harness {
    type Event = Event;

    fn on_event(&mut self, ctx: &mut Ctx<'_, Event>, event: Event) {
        match event {
            Event::Producer(ev) => self.producer.on_event(ctx, &mut self.net, ev),
            Event::Net(net_event) => match *net_event {
                NetEvent::Deliver {
                    to: Node::Broker(broker),
                    conn,
                    msg,
                    ..
                } => {
                    if conn == self.net.client_connection(broker) {
                        self.on_broker_message(ctx, broker, conn, msg);
                    }
                }
                NetEvent::Deliver { .. } => {}
                NetEvent::Retransmit {
                    slot,
                    conn,
                    dir,
                    seq,
                } => self.net.on_retransmit(ctx, (slot, conn, dir, seq)),
                NetEvent::Syn { broker, conn } => self.net.on_syn(ctx, broker, conn),
                NetEvent::SynAck { broker, conn } => {
                    if self.net.on_syn_ack(broker, conn) {
                        self.producer
                            .on_connection_established(ctx, &mut self.net, broker, conn);
                    }
                }
                NetEvent::SynRetransmit {
                    broker,
                    conn,
                    attempt,
                } => self.net.on_syn_retransmit(ctx, (broker, conn, attempt)),
                NetEvent::Closed {
                    initiator: Node::Client,
                    acceptor: Node::Broker(broker),
                    conn,
                    side: Node::Client,
                } => self
                    .producer
                    .on_disconnect(ctx, &mut self.net, broker, conn),
                NetEvent::Closed { .. } => {}
            },
            // The clock's marks and anything of the cluster's: nothing to do.
            Event::Cluster(_) | Event::Fault(_) | Event::Run(_) => {}
        }
    }
}

impl Harness {
    fn on_broker_message(
        &mut self,
        ctx: &mut Ctx<'_, Event>,
        broker: BrokerId,
        conn: u32,
        msg: Message,
    ) {
        let answer = match msg {
            Message::ApiVersionsRequest { correlation_id } => {
                Message::ApiVersionsResponse { correlation_id }
            }
            Message::MetadataRequest { .. } => Message::MetadataResponse(MetadataResponse {
                partitions: self
                    .leaders
                    .iter()
                    .zip(&self.leader_epochs)
                    .enumerate()
                    .map(|(p, (&leader, &epoch))| PartitionMetadata {
                        partition: PartitionId(p as u32),
                        leader: Some(BrokerId(leader)),
                        leader_epoch: LeaderEpoch(epoch),
                    })
                    .collect(),
            }),
            Message::InitProducerIdRequest { correlation_id } => {
                let producer_id = self.next_producer_id;
                self.next_producer_id += 1;
                Message::InitProducerIdResponse {
                    correlation_id,
                    producer_id: ProducerId(producer_id),
                    epoch: 0,
                }
            }
            Message::ProduceRequest(request) => {
                let t_ms = ctx.now().as_nanos() / MS;
                self.events.push(ScriptedEvent::Sent {
                    t_ms,
                    node: broker.0,
                    batches: request.batches.iter().map(sent_batch).collect(),
                });
                self.held[broker.0 as usize].push_back(Held {
                    conn,
                    correlation_id: request.correlation_id,
                    batches: request
                        .batches
                        .iter()
                        .map(|b| (b.partition.0, b.batch_tag, b.records.len()))
                        .collect(),
                });
                return;
            }
            _ => return,
        };
        self.producer.on_message(ctx, &mut self.net, broker, answer);
    }
}

fn sent_batch(batch: &WireBatch) -> SentBatch {
    SentBatch {
        partition: batch.partition.0,
        producer_id: batch.producer_id.0,
        epoch: batch.producer_epoch,
        base_sequence: batch.base_sequence,
        records: batch.records.iter().map(|r| r.id.0).collect(),
    }
}

/// Kafka's name of a produce error code.
fn error_code(name: &str) -> Result<ErrorCode, ScriptedError> {
    let found = ErrorCode::ALL
        .into_iter()
        .find(|code| super::sender::produce_error(*code).map_or("NONE", |e| e.name()) == name);
    found.ok_or_else(|| {
        let allowed: Vec<&str> = ErrorCode::ALL
            .into_iter()
            .map(|c| super::sender::produce_error(c).map_or("NONE", |e| e.name()))
            .collect();
        ScriptedError::UnknownError(name.to_string(), allowed.join(", "))
    })
}

/// linger's producer client run from a script.
pub struct ScriptedSender {
    engine: Engine<Event>,
    harness: Harness,
    next_record: u64,
}

impl ScriptedSender {
    /// A producer with `settings`, started at time 0: by the end of time 0 it knows the
    /// topic's leaders and, when idempotent, has its producer id.
    pub fn new(settings: &ScriptedSettings) -> Result<ScriptedSender, ScriptedError> {
        let partitions = settings.leaders.len() as u32;
        if partitions == 0 {
            return Err(ScriptedError::OutOfRange(
                "expected at least one partition".into(),
            ));
        }
        if let Some(&bad) = settings.leaders.iter().find(|&&l| l >= settings.brokers) {
            return Err(ScriptedError::OutOfRange(format!(
                "leader {bad} is not one of the {} brokers",
                settings.brokers
            )));
        }
        let mut config = ProducerConfig::defaults(KafkaVersion::V4_0);
        config.batch_size = settings.batch_size;
        config.linger_ms = settings.linger_ms;
        config.buffer_memory = settings.buffer_memory;
        config.max_request_size = settings.max_request_size;
        config.delivery_timeout_ms = settings.delivery_timeout_ms;
        config.request_timeout_ms = settings.request_timeout_ms;
        config.retry_backoff_ms = settings.retry_backoff_ms;
        config.retry_backoff_max_ms = settings.retry_backoff_ms;
        config.retries = settings.retries;
        config.max_in_flight_requests_per_connection = settings.max_in_flight;
        config.enable_idempotence = settings.idempotence;
        config.acks = if settings.acks_all {
            ConfigAcks::All
        } else {
            ConfigAcks::One
        };
        config.reconnect_backoff_ms = 0;
        config.reconnect_backoff_max_ms = 0;
        config.max_block_ms = 0;
        config.metadata_max_age_ms = 3_600_000;
        config.metadata_max_idle_ms = 3_600_000;
        let network = NetworkConfig {
            latency: crate::cluster::config::DistConfig::constant_ms(0.0),
            bandwidth_bytes_per_s: 0,
            ..NetworkConfig::default()
        };
        let mut engine = Engine::new(0);
        engine.set_trace(Trace::keeping());
        let streams = engine.streams();
        let net = Network::new(&network, settings.brokers, &streams)
            .map_err(|e| ScriptedError::Settings(e.to_string()))?;
        let plan = crate::world::default_config()
            .workload
            .plan()
            .map_err(|e| ScriptedError::Settings(e.to_string()))?;
        let timer = engine.ctx().new_timer();
        let (producer, _warnings) = Producer::new(
            &config,
            plan,
            (settings.brokers, partitions),
            &streams,
            timer,
        );
        let mut harness = Harness {
            producer,
            net,
            leaders: settings.leaders.clone(),
            leader_epochs: vec![0; settings.leaders.len()],
            held: vec![VecDeque::new(); settings.brokers as usize],
            next_producer_id: FIRST_PRODUCER_ID,
            events: Vec::new(),
        };
        {
            let mut ctx = engine.ctx();
            harness.producer.metadata.request_update_for_new_topic();
            harness.producer.run_once(&mut ctx, &mut harness.net);
        }
        let mut sender = ScriptedSender {
            engine,
            harness,
            next_record: 0,
        };
        sender.advance(0)?;
        Ok(sender)
    }

    /// Runs everything due up to `t_ms` (inclusive); the clock then reads `t_ms`.
    pub fn advance(&mut self, t_ms: u64) -> Result<(), ScriptedError> {
        let now_ms = self.engine.now().as_nanos() / MS;
        let until = Instant::from_nanos(t_ms * MS);
        if until < self.engine.now() {
            return Err(ScriptedError::TimeBackwards(t_ms, now_ms));
        }
        // A mark at `t_ms` moves the clock there even when nothing else is due.
        self.engine
            .ctx()
            .schedule_at(until, Event::Run(RunEvent::Poll));
        while self.engine.step(&mut self.harness, Some(until)) {}
        Ok(())
    }

    /// `send()` of a record of `value_bytes` (null key, no headers) to `partition` at `t_ms`;
    /// returns the record's number, or the error `send()` failed with.
    pub fn append(
        &mut self,
        t_ms: u64,
        partition: u32,
        value_bytes: u32,
    ) -> Result<Result<u64, String>, ScriptedError> {
        if partition as usize >= self.harness.leaders.len() {
            return Err(ScriptedError::OutOfRange(format!(
                "partition {partition} is not one of the topic's {}",
                self.harness.leaders.len()
            )));
        }
        self.advance(t_ms)?;
        let number = self.next_record;
        self.next_record += 1;
        let now = t_ms * MS;
        let harness = &mut self.harness;
        let producer = &mut harness.producer;
        let id = producer.records.push(AppRecord {
            sent_at_ns: now,
            key: None,
            partition,
            bytes: value_bytes,
        });
        debug_assert_eq!(id.0, number);
        let request = AppendRequest {
            now_ns: now,
            record: RecordMeta {
                id: crate::batching::RecordId(id.0),
                key: None,
                value_bytes: Some(value_bytes),
                header_count: 0,
                headers_bytes: 0,
                timestamp_ms: None,
            },
            partition: Some(crate::batching::PartitionId(partition)),
            max_block_ns: 0,
            abort_on_new_batch: AbortOnNewBatch::No,
        };
        let outcome = producer.acc.append(
            &request,
            &producer.metadata.view,
            &mut producer.partitioner_entropy,
        );
        let result = match outcome {
            AppendOutcome::Appended {
                new_batch,
                batch_is_full,
                ..
            } => {
                if new_batch || batch_is_full {
                    let mut ctx = self.engine.ctx();
                    producer.wake_sender_at(&mut ctx, now);
                }
                Ok(number)
            }
            AppendOutcome::MustWait { .. } => Err("BufferExhaustedException".to_string()),
            AppendOutcome::RecordTooLarge { .. } => Err("RecordTooLargeException".to_string()),
            other => Err(format!("{other:?}")),
        };
        self.advance(t_ms)?;
        Ok(result)
    }

    /// The oldest produce request held by `node` gets `partitions` as its response at `t_ms`;
    /// returns whether the broker held one.
    pub fn respond(
        &mut self,
        t_ms: u64,
        node: u32,
        partitions: &[ScriptedPartitionResponse],
    ) -> Result<bool, ScriptedError> {
        self.check_node(node)?;
        let mut codes = Vec::with_capacity(partitions.len());
        for p in partitions {
            codes.push((p.partition, error_code(&p.error)?, p.base_offset));
        }
        self.advance(t_ms)?;
        let Some(held) = self.pop_held(node) else {
            return Ok(false);
        };
        let response = ProduceResponse {
            correlation_id: held.correlation_id,
            partitions: held
                .batches
                .iter()
                .map(|&(partition, tag, _)| {
                    let (error, base_offset) = codes
                        .iter()
                        .find(|c| c.0 == partition)
                        .map_or((ErrorCode::None, -1), |c| (c.1, c.2));
                    crate::protocol::PartitionResponse {
                        partition: PartitionId(partition),
                        error,
                        base_offset: if error == ErrorCode::None {
                            base_offset
                        } else {
                            -1
                        },
                        log_start_offset: -1,
                        current_leader: None,
                        batch_tag: tag,
                    }
                })
                .collect(),
        };
        {
            let mut ctx = self.engine.ctx();
            let harness = &mut self.harness;
            harness.producer.on_message(
                &mut ctx,
                &mut harness.net,
                BrokerId(node),
                Message::ProduceResponse(response),
            );
        }
        self.advance(t_ms)?;
        Ok(true)
    }

    /// The connection to `node` is reset at `t_ms` (both ends see it close).
    pub fn disconnect(&mut self, t_ms: u64, node: u32) -> Result<(), ScriptedError> {
        self.check_node(node)?;
        self.advance(t_ms)?;
        {
            let mut ctx = self.engine.ctx();
            self.harness
                .net
                .reset(&mut ctx, Node::Client, Node::Broker(BrokerId(node)));
        }
        self.harness.held[node as usize].clear();
        self.advance(t_ms)
    }

    /// The cluster moves `partition`'s leadership to `node` at `t_ms` (a new leader epoch); the
    /// producer learns it from its next metadata response.
    pub fn set_leader(
        &mut self,
        t_ms: u64,
        partition: u32,
        node: u32,
    ) -> Result<(), ScriptedError> {
        self.check_node(node)?;
        let p = partition as usize;
        if p >= self.harness.leaders.len() {
            return Err(ScriptedError::OutOfRange(format!(
                "partition {partition} is not one of the topic's {}",
                self.harness.leaders.len()
            )));
        }
        self.advance(t_ms)?;
        self.harness.leaders[p] = node;
        self.harness.leader_epochs[p] += 1;
        Ok(())
    }

    /// The decisions since the last call, in the order they were made.
    pub fn take_events(&mut self) -> Vec<ScriptedEvent> {
        for event in self.engine.trace_mut().take_events() {
            if event.component != "app" || !matches!(event.kind, "ack" | "fail") {
                continue;
            }
            let t_ms = event.time.as_nanos() / MS;
            let record = match event.field("record") {
                Some(sim::Value::U64(r)) => *r,
                Some(sim::Value::I64(r)) => *r as u64,
                _ => continue,
            };
            let (offset, error) = match (event.field("offset"), event.field("error")) {
                (Some(sim::Value::I64(o)), _) => (Some(*o), None),
                (Some(sim::Value::U64(o)), _) => (Some(*o as i64), None),
                (_, Some(sim::Value::Str(e))) => (None, Some(e.to_string())),
                _ => (None, None),
            };
            self.harness.events.push(ScriptedEvent::Done {
                t_ms,
                record,
                offset,
                error,
            });
        }
        std::mem::take(&mut self.harness.events)
    }

    /// The produce requests `node` holds, oldest first: each batch's partition and record
    /// count (for a script generator choosing responses).
    pub fn held_requests(&self, node: u32) -> Vec<Vec<(u32, usize)>> {
        let Some(held) = self.harness.held.get(node as usize) else {
            return Vec::new();
        };
        let conn = self.harness.net.client_connection(BrokerId(node));
        held.iter()
            .filter(|h| h.conn == conn)
            .map(|h| h.batches.iter().map(|&(p, _, n)| (p, n)).collect())
            .collect()
    }

    /// Whether the sender's next wake-up falls inside the millisecond `t_ms` but after its
    /// start: a request deadline (1 ns after `request.timeout.ms`) or what follows from one (a
    /// retry backoff counted from it). An operation at `t_ms` comes before it here, and a
    /// millisecond clock cannot tell the two apart.
    pub fn wakes_within_ms(&mut self, t_ms: u64) -> bool {
        let deadline = self
            .engine
            .ctx()
            .deadline(self.harness.producer.sender_timer);
        deadline.is_some_and(|at| {
            let ns = at.as_nanos();
            ns > t_ms * MS && ns < (t_ms + 1) * MS
        })
    }

    /// Records appended and not completed yet.
    pub fn unfinished(&self) -> u64 {
        self.harness.producer.unfinished()
    }

    /// The current time, ms.
    pub fn now_ms(&self) -> u64 {
        self.engine.now().as_nanos() / MS
    }

    fn pop_held(&mut self, node: u32) -> Option<Held> {
        let conn = self.harness.net.client_connection(BrokerId(node));
        let held = &mut self.harness.held[node as usize];
        while let Some(h) = held.pop_front() {
            if h.conn == conn {
                return Some(h);
            }
        }
        None
    }

    fn check_node(&self, node: u32) -> Result<(), ScriptedError> {
        if node as usize >= self.harness.held.len() {
            return Err(ScriptedError::OutOfRange(format!(
                "node {node} is not one of the {} brokers",
                self.harness.held.len()
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(idempotence: bool) -> ScriptedSettings {
        ScriptedSettings {
            batch_size: 1000,
            linger_ms: 5,
            buffer_memory: 1 << 20,
            max_request_size: 1 << 20,
            delivery_timeout_ms: 1000,
            request_timeout_ms: 300,
            retry_backoff_ms: 20,
            retries: 5,
            max_in_flight: 5,
            idempotence,
            acks_all: true,
            brokers: 2,
            leaders: vec![0, 1, 0],
        }
    }

    #[test]
    fn a_lingering_batch_leaves_after_linger_ms_and_its_records_ack_at_the_offsets_given() {
        let mut sender = ScriptedSender::new(&settings(true)).expect("valid settings");
        assert_eq!(sender.append(1, 0, 100).expect("in range"), Ok(0));
        assert_eq!(sender.append(2, 0, 100).expect("in range"), Ok(1));
        assert!(sender.take_events().is_empty());
        sender.advance(10).expect("forward");
        let events = sender.take_events();
        assert_eq!(
            events,
            vec![ScriptedEvent::Sent {
                t_ms: 6,
                node: 0,
                batches: vec![SentBatch {
                    partition: 0,
                    producer_id: FIRST_PRODUCER_ID,
                    epoch: 0,
                    base_sequence: 0,
                    records: vec![0, 1],
                }],
            }]
        );
        assert_eq!(sender.held_requests(0), vec![vec![(0, 2)]]);
        let ok = ScriptedPartitionResponse {
            partition: 0,
            error: "NONE".into(),
            base_offset: 40,
        };
        assert!(sender.respond(12, 0, &[ok]).expect("known error"));
        let done: Vec<_> = sender
            .take_events()
            .into_iter()
            .map(|e| match e {
                ScriptedEvent::Done { record, offset, .. } => (record, offset),
                other => panic!("expected completions, got {other:?}"),
            })
            .collect();
        assert_eq!(done, vec![(0, Some(40)), (1, Some(41))]);
        assert_eq!(sender.unfinished(), 0);
    }

    #[test]
    fn a_reset_connection_fails_its_request_and_the_batch_is_sent_again_after_the_backoff() {
        let mut sender = ScriptedSender::new(&settings(false)).expect("valid settings");
        sender
            .append(0, 1, 100)
            .expect("in range")
            .expect("appended");
        sender.advance(5).expect("forward");
        assert_eq!(sender.take_events().len(), 1);
        sender.disconnect(7, 1).expect("a node");
        sender.advance(100).expect("forward");
        let sent: Vec<u64> = sender
            .take_events()
            .into_iter()
            .filter_map(|e| match e {
                ScriptedEvent::Sent { t_ms, .. } => Some(t_ms),
                ScriptedEvent::Done { .. } => None,
            })
            .collect();
        assert_eq!(sent, vec![27]);
    }
}
