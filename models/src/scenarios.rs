//! The teaching scenarios as named world configs, for `linger teach NAME` and
//! `linger run --scenario NAME`.
//!
//! ```text
//!   SCENARIOS[i] ─ name, title, what to look for ─► build() ─► WorldConfig ─► world::run
//!                                                     └─► Err(Config) for a config Kafka rejects
//! ```
//!
//! Every scenario is teaching-sized: three to five records (the first about 1 ms in, after the
//! first metadata), a topic with one partition `p0`, and faults timed to hit exactly the request
//! or response that tells the story, so `linger teach` draws a few dozen rows. Lessons between
//! the producer and the leader run on one broker; lessons about replication run on three
//! brokers with replicas `[L, F1, F2]` of `p0` in assignment order (`L` = broker 0 leads at the
//! start). Times are virtual ms from the start of the run. The outcome is judged by the checker
//! from the final broker logs (see `models/tests/scenarios.rs`); the diagrams are pinned by
//! golden snapshots (`experiments/tests/teach_golden.rs`).
//!
//! The first rows of every diagram are the cluster starting (one leadership row per broker at
//! 0 ms) and the producer's first metadata; a scenario cannot avoid them. The last batch of a
//! scenario is drained at once rather than after linger.ms, because the application calls
//! `flush()` after its last send (the end of the send phase, see `world`).
//!
//! Fidelity: the faults are deliberately surgical (a blackholed connection, one dropped
//! response) so each scenario shows one mechanism of the Java producer; they are not a
//! realistic failure model. A plain cut would not lose a request (TCP retransmits across it),
//! so a story that needs a lost request or response uses the fault that loses it (`blackhole`,
//! `drop_responses`, `power_off`) and its description names it.

use crate::batching::config::{KafkaVersion, ProducerConfig, RawValue};
use crate::batching::murmur2::partition_for_key;
use crate::cluster::ClusterConfig;
use crate::cluster::assign_replicas;
use crate::cluster::config::NodeName;
use crate::faults::{FaultAction, FaultsConfig, ScheduledFault};
use crate::producer::workload::{Arrivals, Keys, SendMode, SendingEnd, ValueBytes, WorkloadConfig};
use crate::world::{RunConfig, WorldConfig, default_config};

/// A teaching scenario.
#[derive(Clone, Copy, Debug)]
pub struct Scenario {
    /// Its name on the command line, e.g. `acks0-lost`.
    pub name: &'static str,
    /// One line: what it shows.
    pub title: &'static str,
    /// A few sentences: the setup, the fault, and what the checker reports.
    pub description: &'static str,
    build: fn() -> Result<WorldConfig, ScenarioError>,
}

impl Scenario {
    /// Builds the scenario's world config, or the configuration error Kafka would raise.
    pub fn build(&self) -> Result<WorldConfig, ScenarioError> {
        (self.build)()
    }
}

/// A scenario that cannot be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScenarioError {
    /// No scenario has this name.
    #[error("unknown scenario `{name}`; known scenarios: {known}")]
    Unknown {
        /// The name asked for.
        name: String,
        /// Every known name, comma-separated.
        known: String,
    },
    /// The producer config is rejected, as `new KafkaProducer(props)` would throw
    /// `ConfigException`; the run does not start.
    #[error(
        "scenario `{scenario}`: the producer config is invalid (Kafka throws ConfigException): {message}"
    )]
    Config {
        /// The scenario.
        scenario: &'static str,
        /// The config error(s), as Kafka phrases them.
        message: String,
    },
}

/// Every scenario, in the issue's order.
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "acks0-lost",
        title: "acks=0: a lost request loses records and nobody is told",
        description: "acks=0 (idempotence is switched off silently), one broker. Three records, one every 10 ms, each in its own request. \
At 12 ms, just before the second record's request leaves, the client's connection to the broker is blackholed (fault `blackhole`: a middlebox lost the connection's state, \
so everything on it vanishes silently; TCP would retransmit across a mere cut). acks=0 waits for no answer, so the producer never notices and never reconnects: \
the third record's request is lost on the same connection. \
The application was told every record succeeded with offset -1; the checker finds two records absent (silent_absent).",
        build: acks0_lost,
    },
    Scenario {
        name: "sync-vs-async",
        title: "send().get() per record: one record per round trip plus linger.ms",
        description: "Five records of 512 B sent synchronously to one broker: each send waits for its ack, so every record waits linger.ms=5 alone \
and travels in its own request. Compare with `async-batching`, the same five records sent asynchronously in one request. \
Scaled to 2000 records, sync manages about 167 records/s (6 ms per record) and async about 130,000: sync is about 800 times slower (models/tests/scenarios.rs).",
        build: sync_send,
    },
    Scenario {
        name: "async-batching",
        title: "the same five records sent asynchronously: one batch, one request",
        description: "The async half of `sync-vs-async`: the application calls send() as fast as its CPU allows (5 us per call); \
the five records share one batch and one produce request (sent at once by the application's final flush() rather than after linger.ms), \
so throughput is limited by the client CPU, not by round trips.",
        build: async_send,
    },
    Scenario {
        name: "acks1-failover-loss",
        title: "acks=1: the leader acknowledges, crashes before the followers fetch, and the records are gone",
        description: "acks=1, one partition on three brokers. Four records, one every 10 ms; the first is replicated. At 12 ms the links leader<->followers are cut, \
so the followers stop fetching; the leader still acknowledges the second and third records (offsets 1 and 2). At 28 ms the leader crashes; \
the fourth record waits while every connect to the dead leader is refused (a reset one round trip later), until the metadata names the follower \
the controller elected (still in the ISR) when the leader's session expired, 400 to 500 ms after its last heartbeat, \
which gives it offset 1 again. When the old leader rejoins it truncates the two records only it had: the checker reports acknowledged records lost (lost_acked).",
        build: acks1_failover_loss,
    },
    Scenario {
        name: "acks-all-min-isr",
        title: "acks=all, RF 3, min.insync.replicas=2: the same crash loses nothing acknowledged",
        description: "The records and faults of `acks1-failover-loss` with acks=all and min.insync.replicas=2. The leader cannot advance its high watermark \
while the followers cannot fetch, so it acknowledges nothing written after the cut; those requests fail with the crash's reset (NETWORK_EXCEPTION) and are retried \
to the new leader, in order, with the fourth. The checker reports no acknowledged record lost.",
        build: acks_all_min_isr,
    },
    Scenario {
        name: "acks-all-isr-shrunk",
        title: "acks=all with only the leader in sync: NOT_ENOUGH_REPLICAS",
        description: "acks=all, min.insync.replicas=2, retries=0, idempotence off, one partition on three brokers. Both followers crash at 0 ms \
and the controller fences them within 1 ms (their sessions expire), so the ISR is just the leader before the first record is sent. The leader rejects each produce request \
with NOT_ENOUGH_REPLICAS before appending: the three sends fail and their records are absent (failed_absent).",
        build: acks_all_isr_shrunk,
    },
    Scenario {
        name: "retry-duplicate",
        title: "idempotence off, retries on, a lost response: a duplicate in the log",
        description: "enable.idempotence=false, acks=all, one broker. Three records, one every 10 ms. The response to the second record's request is dropped \
and its connection blackholes from there (fault `drop_responses`: TCP alone never loses one message and delivers the next), so the third record's request is lost too. \
Both requests time out after request.timeout.ms=1000, the client reconnects and sends both batches again; the broker appends the second record a second time (duplicated).",
        build: retry_duplicate,
    },
    Scenario {
        name: "idempotent-retry",
        title: "the same lost response with idempotence on: no duplicate, the original offset",
        description: "`retry-duplicate` with enable.idempotence=true. The retried batch carries the same producer id, epoch and sequence; \
the broker finds it among the last five batches of that producer and answers with the original offset without appending (trace: broker duplicate); \
the third record's batch follows in sequence order. The checker reports no duplicate, and the offsets the application saw match the log.",
        build: idempotent_retry,
    },
    Scenario {
        name: "reorder-inflight",
        title: "idempotence off, max.in.flight=5: two batches fail together and are retried in reverse order",
        description: "enable.idempotence=false, max.in.flight.requests.per.connection=5, one broker. Three records, one every 10 ms, each in its own batch. \
At 12 ms the client's connection to the broker is blackholed (fault `blackhole`; a plain cut would only delay the requests, as TCP retransmits): \
the second batch's request vanishes, and so does the third (sent at 20 ms on the same connection). \
At the request timeout the client closes the connection and both batches fail with REQUEST_TIMED_OUT; each is put back at the head of the \
partition's queue (RecordAccumulator.reenqueue adds first), the third ahead of the second. The third is sent and written first: \
the checker reports a reordered record.",
        build: reorder_inflight,
    },
    Scenario {
        name: "idempotent-order",
        title: "the same loss with idempotence on: retries go back in sequence order",
        description: "`reorder-inflight` with enable.idempotence=true. The same blackhole loses the second and third batches' requests, \
and at the request timeout both batches fail. An idempotent producer puts a retried batch back in sequence order \
(RecordAccumulator.insertInSequenceOrder), so the second batch is sent first and the third follows once the second is acknowledged. \
The checker reports no reordering and no duplicate.",
        build: idempotent_order,
    },
    Scenario {
        name: "delivery-timeout",
        title: "delivery.timeout.ms expires while the broker is unreachable or silent",
        description: "delivery.timeout.ms=1500, request.timeout.ms=1000, one broker. Two records, sent as soon as the first metadata arrives (3 ms), in one batch; the broker's host is powered off from 5 ms to 1600 ms (fault `power_off`: nothing answers, not even a reset). The request is retransmitted into silence and times out, the reconnect's SYN goes unanswered as well, and the batch expires with TimeoutException: the records are absent (failed_absent). After the restart the next SYN retransmission connects, and the producer bumps its epoch. Two more at 2200 ms while every response of the broker is dropped (from 2195 ms): the broker writes them, but the answer is lost and its connection blackholes (fault `drop_responses`), the new connection's ApiVersions response is lost too, and they expire: the checker reports them 'reported failed but present' (failed_present).",
        build: delivery_timeout,
    },
    Scenario {
        name: "inflight2-reorder",
        title: "idempotence off, max.in.flight=2: B0 is refused, B1 is written, and B0's retry lands after it",
        description: "The seed's B0/B1 story. enable.idempotence=false, max.in.flight.requests.per.connection=2, linger.ms=0, acks=all, one partition on three brokers. \
Three records arrive while the producer waits for its first metadata; once it arrives (3 ms) the first record (A) and the second (B0) leave at once, each in its own request, \
and the third (B1) waits for a free slot. The leader refuses B0 with NOT_ENOUGH_REPLICAS (fault `error`, before the append: nothing written). \
B1 leaves when A's answer frees a slot and is written; B0 is retried after retry.backoff.ms and lands after it: the checker reports the order broken (reordered).",
        build: inflight2_reorder,
    },
    Scenario {
        name: "idempotent-out-of-order",
        title: "the same refusal with idempotence on: the broker answers B1 OUT_OF_ORDER_SEQUENCE_NUMBER, and the order holds",
        description: "`inflight2-reorder` with enable.idempotence=true. B0 (sequence 1) is refused and nothing is written, so when B1 (sequence 2) arrives \
the broker expects sequence 1 and answers OUT_OF_ORDER_SEQUENCE_NUMBER (ProducerAppendInfo.checkSequence). B1 is not the next sequence after the last acknowledged one, \
so the client retries it without an epoch bump (TransactionManager.canRetry) and puts it back behind B0 (RecordAccumulator.insertInSequenceOrder): B0 is written, then B1. \
The checker reports no reordering and no duplicate.",
        build: idempotent_out_of_order,
    },
    Scenario {
        name: "retries-vs-delivery-timeout",
        title: "retries=10, retry.backoff.ms=30, request.timeout.ms=10000: whichever limit comes first ends the retries",
        description: "The seed's numbers: retries=10, retry.backoff.ms=30, request.timeout.ms=10000, and delivery.timeout.ms=45000, one broker. Three records share one batch. \
Every produce response is lost (fault `drop_responses`: the broker writes the batch once and answers each retry as a duplicate, but no answer arrives), \
so each attempt waits out request.timeout.ms, the connection is closed, and after the backoff (in 4.x exponential from 30 ms up to retry.backoff.max.ms, with jitter) a new one carries the retry. \
After five attempts, 45 s after the batch was created, delivery.timeout.ms ends it while the fifth is in flight: TimeoutException, although only 4 of the 10 retries were used. \
With the default delivery.timeout.ms (120000) the ten retries run out first, at about 116 s, and the records fail with the last attempt's error. \
Either way the records are in the log: the checker reports them failed but present.",
        build: retries_vs_delivery_timeout,
    },
    Scenario {
        name: "max-block-buffer-full",
        title: "buffer.memory is full: send() blocks for max.block.ms, then the record fails",
        description: "buffer.memory=2048, batch.size=1024, max.block.ms=200, one broker that holds its first two produce answers back for 600 ms (fault `delay_responses`). \
Records of 400 B every 10 ms: each batch takes 1024 B of the pool from its creation until its answer. The first two records fill the pool, \
so the third send() blocks in the buffer pool and fails after 200 ms with BufferExhaustedException (a TimeoutException: the callback gets it, send() does not throw), \
and so does the fourth, which the blocked application could only send then. The fifth blocks until the first answer frees memory and is sent: \
the checker reports two records failed and absent, three delivered.",
        build: max_block_buffer_full,
    },
    Scenario {
        name: "exit-without-flush",
        title: "main returns without flush() or close(): the record still in the accumulator is lost, and nobody is told",
        description: "The seed's first program calls flush() and close() after its sends; this one does not. One broker, linger.ms=5 (the 4.x default), \
three records 10 ms apart. The first two leave after linger.ms and are acknowledged. The third is appended at 20 ms, and main returns at once: \
the JVM exits, and the producer's I/O thread, a daemon thread, dies with it before linger.ms has passed. The batch is never sent and its callback never runs: \
the checker reports it unfinished and absent. With flush() or close() before the return (every other scenario ends with a flush()), it would have been sent.",
        build: exit_without_flush,
    },
    Scenario {
        name: "close-timeout",
        title: "close(50 ms) with answers outstanding: the forced close fails records the broker then writes",
        description: "One broker behind a slow link: from 5 ms every message between the client and the broker takes 100 ms more (fault `latency_spike`). \
Three records 10 ms apart. After the last send main calls close(Duration.ofMillis(50)) at 20 ms: the accumulator closes, the last batch is sent at once, and the producer waits. \
At 70 ms the timeout is up: the forced close fails every batch still in flight with KafkaException (\"Producer is closed forcefully.\"). \
But the requests were already on their way, and a closed connection still delivers what was sent before it closed: the broker writes all three. \
The checker reports three records failed but present: an application that resends failures after a forced close writes duplicates.",
        build: close_timeout,
    },
    Scenario {
        name: "transaction-commit",
        title: "a transaction: the coordinator gives the producer id, the partition joins the transaction, a COMMIT marker makes the records visible",
        description: "transactional.id=orders, acks=all, one broker, which also leads the transaction coordinator's partition of __transaction_state. \
initTransactions() finds the coordinator and gets producer id 0, epoch 0 from it (InitProducerId). Three records 10 ms apart form one transaction: \
before the partition's first batch leaves, the producer adds p0 to the transaction (AddPartitionsToTxn). commitTransaction() flushes the last batch, \
then sends EndTxn(COMMIT): the coordinator writes a COMMIT marker into p0 at offset 3, with the epoch raised to 1 (transaction version 2 ends every \
transaction with an epoch bump), and only from then on does a read_committed consumer see the three records. The checker reads the final log: the \
three records once, the marker being no record.",
        build: transaction_commit,
    },
    Scenario {
        name: "idempotence-acks0-conflict",
        title: "enable.idempotence=true with acks=0: the producer does not start",
        description: "Setting enable.idempotence=true explicitly together with acks=0 makes `new KafkaProducer(props)` throw ConfigException \
(acks must be all for the idempotent producer). linger refuses to start the run with the same meaning.",
        build: idempotence_acks0_conflict,
    },
];

/// The scenario called `name`.
pub fn find(name: &str) -> Result<&'static Scenario, ScenarioError> {
    SCENARIOS
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(|| ScenarioError::Unknown {
            name: name.to_owned(),
            known: SCENARIOS
                .iter()
                .map(|s| s.name)
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// Builds the scenario called `name`.
pub fn build(name: &str) -> Result<WorldConfig, ScenarioError> {
    find(name)?.build()
}

/// The one key every scenario sends, and where its partition lives in a cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyPlacement {
    /// The partition of `key-0`.
    pub partition: u32,
    /// Its first leader.
    pub leader: u32,
    /// Its other replicas, in assignment order.
    pub followers: Vec<u32>,
}

/// Where `key-0` goes in `cluster` (murmur2 of the key bytes, round-robin assignment).
pub fn key_placement(cluster: &ClusterConfig) -> KeyPlacement {
    let partition = partition_for_key(b"key-0", cluster.partitions).0;
    let replicas = assign_replicas(
        cluster.brokers,
        cluster.partitions,
        cluster.replication_factor,
    );
    let list = &replicas[partition as usize];
    KeyPlacement {
        partition,
        leader: list[0].0,
        followers: list[1..].iter().map(|b| b.0).collect(),
    }
}

/// Resolves producer keys as a user's properties would be, with Kafka 4.0 rules.
fn producer(
    scenario: &'static str,
    entries: &[(&str, &str)],
) -> Result<(ProducerConfig, Vec<String>), ScenarioError> {
    let entries = entries.iter().map(|(k, v)| {
        (
            (*k).to_owned(),
            RawValue::Str((*v).to_owned()),
            crate::batching::config::Location::default(),
        )
    });
    match ProducerConfig::from_entries(KafkaVersion::V4_0, entries) {
        Ok(resolved) => Ok((
            resolved.config,
            resolved.warnings.iter().map(ToString::to_string).collect(),
        )),
        Err(errors) => Err(ScenarioError::Config {
            scenario,
            message: errors.to_string(),
        }),
    }
}

/// The cluster under a scenario. Both shapes hold one topic with one partition, `p0`, so
/// the diagram starts with one leadership row per broker and one metadata row, and nothing else
/// competes with the story.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// One broker, replication factor 1: the lesson is between the producer and the leader.
    OneBroker,
    /// Three brokers, replication factor 3, min.insync.replicas 2: the lesson needs followers.
    ThreeReplicas,
}

impl Shape {
    fn cluster(self) -> ClusterConfig {
        let (brokers, min_insync_replicas) = match self {
            Shape::OneBroker => (1, 1),
            Shape::ThreeReplicas => (3, 2),
        };
        ClusterConfig {
            brokers,
            partitions: 1,
            replication_factor: brokers,
            min_insync_replicas,
            // A fast controller for teaching: a crashed leader is fenced 400 to 500 ms after
            // the crash, depending on where its heartbeats fall.
            broker_session_timeout_ms: 500.0,
            broker_heartbeat_interval_ms: 100.0,
            ..ClusterConfig::default()
        }
    }
}

/// A small world: three records of 100 B with key `key-0`, one every 10 ms (the first waits
/// for the first metadata, about 3 ms: the TCP connect, the ApiVersions exchange and the
/// metadata round trip), so each is drained alone after linger.ms (5 ms) and a
/// fault between 12 and 18 ms hits only the second one's request or response.
fn small_world(
    scenario: &'static str,
    shape: Shape,
    entries: &[(&str, &str)],
) -> Result<WorldConfig, ScenarioError> {
    let (producer, producer_warnings) = producer(scenario, entries)?;
    Ok(WorldConfig {
        producer,
        producer_warnings,
        workload: WorkloadConfig {
            mode: SendMode::Async,
            arrivals: Arrivals::Constant { per_sec: 100.0 },
            keys: Keys::Uniform { count: 1 },
            value_bytes: ValueBytes::Constant(100),
            records: 3,
            ..WorkloadConfig::default()
        },
        run: RunConfig {
            duration_ms: 0.0,
            settle_ms: 10_000.0,
            ..RunConfig::default()
        },
        cluster: shape.cluster(),
        ..default_config()
    })
}

fn link(a: &str, b: u32) -> Option<[NodeName; 2]> {
    Some([NodeName(a.to_owned()), NodeName(format!("broker{b}"))])
}

fn broker_link(a: u32, b: u32) -> Option<[NodeName; 2]> {
    Some([
        NodeName(format!("broker{a}")),
        NodeName(format!("broker{b}")),
    ])
}

fn fault(at_ms: f64, action: FaultAction) -> ScheduledFault {
    ScheduledFault::new(at_ms, action)
}

fn faults(schedule: Vec<ScheduledFault>) -> FaultsConfig {
    FaultsConfig {
        schedule,
        ..FaultsConfig::default()
    }
}

/// Blackholes the client's connection to the leader of `key-0` at `at_ms`: from then on it
/// silently loses everything, until the client abandons it (a new connection works).
fn blackhole_client_leader(config: &WorldConfig, at_ms: f64) -> Vec<ScheduledFault> {
    let leader = key_placement(&config.cluster).leader;
    vec![ScheduledFault {
        link: link("client", leader),
        ..fault(at_ms, FaultAction::Blackhole)
    }]
}

fn acks0_lost() -> Result<WorldConfig, ScenarioError> {
    let entries = [("acks", "0")];
    let mut config = small_world("acks0-lost", Shape::OneBroker, &entries)?;
    config.faults = faults(blackhole_client_leader(&config, 12.0));
    Ok(config)
}

/// The records of `sync-vs-async` and `async-batching`; the throughput test scales them up.
const SYNC_ASYNC_RECORDS: u64 = 5;

fn sync_async_world(scenario: &'static str, mode: SendMode) -> Result<WorldConfig, ScenarioError> {
    let mut config = small_world(scenario, Shape::OneBroker, &[])?;
    config.workload = WorkloadConfig {
        mode,
        arrivals: Arrivals::Saturate {},
        keys: Keys::None {},
        value_bytes: ValueBytes::Constant(512),
        send_cpu_ms: 0.005,
        records: SYNC_ASYNC_RECORDS,
        ..WorkloadConfig::default()
    };
    Ok(config)
}

fn sync_send() -> Result<WorldConfig, ScenarioError> {
    sync_async_world("sync-vs-async", SendMode::Sync)
}

fn async_send() -> Result<WorldConfig, ScenarioError> {
    sync_async_world("async-batching", SendMode::Async)
}

/// Cut the leader of `key-0` off its followers at 12 ms (after the first record is
/// replicated), crash it at 28 ms (after the third is acknowledged or appended, before the
/// fourth is sent).
fn leader_isolated_then_crashed(config: &WorldConfig) -> Vec<ScheduledFault> {
    let placement = key_placement(&config.cluster);
    let mut schedule: Vec<ScheduledFault> = placement
        .followers
        .iter()
        .map(|&f| ScheduledFault {
            link: broker_link(placement.leader, f),
            ..fault(12.0, FaultAction::Cut)
        })
        .collect();
    schedule.push(ScheduledFault {
        broker: Some(placement.leader),
        ..fault(28.0, FaultAction::Crash)
    });
    schedule
}

fn failover_world(scenario: &'static str, acks: &str) -> Result<WorldConfig, ScenarioError> {
    let entries = [
        ("acks", acks),
        ("request.timeout.ms", "1000"),
        ("delivery.timeout.ms", "30000"),
    ];
    let mut config = small_world(scenario, Shape::ThreeReplicas, &entries)?;
    // A fourth record, sent at 30 ms, meets the dead leader.
    config.workload.records = 4;
    config.faults = faults(leader_isolated_then_crashed(&config));
    Ok(config)
}

fn acks1_failover_loss() -> Result<WorldConfig, ScenarioError> {
    failover_world("acks1-failover-loss", "1")
}

fn acks_all_min_isr() -> Result<WorldConfig, ScenarioError> {
    failover_world("acks-all-min-isr", "all")
}

fn acks_all_isr_shrunk() -> Result<WorldConfig, ScenarioError> {
    let entries = [
        ("acks", "all"),
        ("enable.idempotence", "false"),
        ("retries", "0"),
        ("request.timeout.ms", "1000"),
    ];
    let scenario = "acks-all-isr-shrunk";
    let mut config = small_world(scenario, Shape::ThreeReplicas, &entries)?;
    // The controller fences the crashed followers before the first record is drained.
    config.cluster.broker_session_timeout_ms = 1.0;
    config.cluster.broker_heartbeat_interval_ms = 0.25;
    let placement = key_placement(&config.cluster);
    config.faults = faults(
        placement
            .followers
            .iter()
            .map(|&f| ScheduledFault {
                broker: Some(f),
                ..fault(0.0, FaultAction::Crash)
            })
            .collect(),
    );
    Ok(config)
}

fn lost_response_world(
    scenario: &'static str,
    idempotence: &str,
) -> Result<WorldConfig, ScenarioError> {
    let entries = [
        ("acks", "all"),
        ("enable.idempotence", idempotence),
        ("request.timeout.ms", "1000"),
    ];
    let mut config = small_world(scenario, Shape::OneBroker, &entries)?;
    let leader = key_placement(&config.cluster).leader;
    // The first response leaves the broker at about 7 ms; the second record is drained at
    // 15 ms, so the fault armed in between drops exactly the second response.
    config.faults = faults(vec![ScheduledFault {
        broker: Some(leader),
        n: Some(1),
        ..fault(12.0, FaultAction::DropResponses)
    }]);
    Ok(config)
}

fn retry_duplicate() -> Result<WorldConfig, ScenarioError> {
    lost_response_world("retry-duplicate", "false")
}

fn idempotent_retry() -> Result<WorldConfig, ScenarioError> {
    lost_response_world("idempotent-retry", "true")
}

fn lost_request_world(
    scenario: &'static str,
    idempotence: &str,
) -> Result<WorldConfig, ScenarioError> {
    let entries = [
        ("acks", "all"),
        ("enable.idempotence", idempotence),
        ("max.in.flight.requests.per.connection", "5"),
        ("request.timeout.ms", "1000"),
    ];
    let mut config = small_world(scenario, Shape::OneBroker, &entries)?;
    config.faults = faults(blackhole_client_leader(&config, 12.0));
    Ok(config)
}

fn reorder_inflight() -> Result<WorldConfig, ScenarioError> {
    lost_request_world("reorder-inflight", "false")
}

fn idempotent_order() -> Result<WorldConfig, ScenarioError> {
    lost_request_world("idempotent-order", "true")
}

fn delivery_timeout() -> Result<WorldConfig, ScenarioError> {
    let entries = [
        ("delivery.timeout.ms", "1500"),
        ("request.timeout.ms", "1000"),
    ];
    let mut config = small_world("delivery-timeout", Shape::OneBroker, &entries)?;
    // Two records 1 ms apart share a batch; the next two come 2.2 s later.
    config.workload.records = 4;
    config.workload.arrivals = Arrivals::OnOff {
        per_sec: 1000.0,
        on_ms: 2.0,
        off_ms: 2198.0,
    };
    let leader = key_placement(&config.cluster).leader;
    // The broker's host is off from 5 ms (after the client connected and learnt the
    // metadata) to 1600 ms: nothing answers, not even a reset.
    let mut schedule = vec![
        ScheduledFault {
            broker: Some(leader),
            ..fault(5.0, FaultAction::PowerOff)
        },
        ScheduledFault {
            broker: Some(leader),
            ..fault(1600.0, FaultAction::Restart)
        },
    ];
    schedule.push(ScheduledFault {
        broker: Some(leader),
        n: Some(1_000_000),
        // Every answer from the broker is lost, metadata included: it is unreachable.
        api: Some("any".to_string()),
        ..fault(2195.0, FaultAction::DropResponses)
    });
    config.faults = faults(schedule);
    Ok(config)
}

/// The seed's B0/B1 shape: linger.ms 0 and two requests in flight, so the first record (A)
/// and the second (B0) leave together as soon as the first metadata arrives (3 ms) and the
/// third (B1) waits for a slot. With acks=all on three replicas the leader answers A only when a
/// follower has fetched it (about 1.5 ms later), and B0, behind A on the same muted channel, is
/// read only then: the fault armed at 4.5 ms refuses exactly B0.
fn inflight2_world(
    scenario: &'static str,
    idempotence: &str,
) -> Result<WorldConfig, ScenarioError> {
    let entries = [
        ("acks", "all"),
        ("enable.idempotence", idempotence),
        ("max.in.flight.requests.per.connection", "2"),
        ("linger.ms", "0"),
        ("request.timeout.ms", "1000"),
    ];
    let mut config = small_world(scenario, Shape::ThreeReplicas, &entries)?;
    config.workload.arrivals = Arrivals::Constant { per_sec: 1000.0 };
    let leader = key_placement(&config.cluster).leader;
    config.faults = faults(vec![ScheduledFault {
        broker: Some(leader),
        n: Some(1),
        error: Some("NOT_ENOUGH_REPLICAS".to_owned()),
        ..fault(4.5, FaultAction::Error)
    }]);
    Ok(config)
}

fn inflight2_reorder() -> Result<WorldConfig, ScenarioError> {
    inflight2_world("inflight2-reorder", "false")
}

fn idempotent_out_of_order() -> Result<WorldConfig, ScenarioError> {
    inflight2_world("idempotent-out-of-order", "true")
}

/// The `delivery.timeout.ms` of `retries-vs-delivery-timeout`: shorter than ten request
/// timeouts, so the delivery timeout comes first.
pub const RETRIES_SCENARIO_DELIVERY_TIMEOUT_MS: &str = "45000";

/// The seed's retry numbers against a broker whose answers never arrive; `delivery_timeout_ms`
/// decides which limit ends the retries.
pub fn retries_world(
    scenario: &'static str,
    delivery_timeout_ms: &str,
) -> Result<WorldConfig, ScenarioError> {
    let entries = [
        ("retries", "10"),
        ("retry.backoff.ms", "30"),
        ("request.timeout.ms", "10000"),
        ("delivery.timeout.ms", delivery_timeout_ms),
    ];
    let mut config = small_world(scenario, Shape::OneBroker, &entries)?;
    // Three records 1 ms apart, before the first metadata: one batch.
    config.workload.arrivals = Arrivals::Constant { per_sec: 1000.0 };
    let leader = key_placement(&config.cluster).leader;
    config.faults = faults(vec![ScheduledFault {
        broker: Some(leader),
        n: Some(1_000),
        ..fault(0.0, FaultAction::DropResponses)
    }]);
    Ok(config)
}

fn retries_vs_delivery_timeout() -> Result<WorldConfig, ScenarioError> {
    retries_world(
        "retries-vs-delivery-timeout",
        RETRIES_SCENARIO_DELIVERY_TIMEOUT_MS,
    )
}

fn max_block_buffer_full() -> Result<WorldConfig, ScenarioError> {
    let entries = [
        ("acks", "all"),
        ("buffer.memory", "2048"),
        ("batch.size", "1024"),
        ("max.block.ms", "200"),
    ];
    let mut config = small_world("max-block-buffer-full", Shape::OneBroker, &entries)?;
    config.workload.records = 5;
    config.workload.value_bytes = ValueBytes::Constant(400);
    let leader = key_placement(&config.cluster).leader;
    config.faults = faults(vec![ScheduledFault {
        broker: Some(leader),
        n: Some(2),
        delay_ms: Some(600.0),
        ..fault(0.0, FaultAction::DelayResponses)
    }]);
    Ok(config)
}

fn exit_without_flush() -> Result<WorldConfig, ScenarioError> {
    let mut config = small_world("exit-without-flush", Shape::OneBroker, &[("acks", "all")])?;
    config.workload.end = SendingEnd::Exit;
    Ok(config)
}

fn close_timeout() -> Result<WorldConfig, ScenarioError> {
    let mut config = small_world("close-timeout", Shape::OneBroker, &[("acks", "all")])?;
    config.workload.end = SendingEnd::Close;
    config.workload.close_timeout_ms = Some(50.0);
    let leader = key_placement(&config.cluster).leader;
    // From 5 ms (the metadata is known) the client's link to the leader is slow: every message
    // on it takes 100 ms more, so the three requests are still on their way at the forced close.
    config.faults = faults(vec![ScheduledFault {
        link: link("client", leader),
        extra_ms: Some(100.0),
        until_ms: Some(1_000.0),
        ..fault(5.0, FaultAction::LatencySpike)
    }]);
    Ok(config)
}

fn transaction_commit() -> Result<WorldConfig, ScenarioError> {
    let mut config = small_world(
        "transaction-commit",
        Shape::OneBroker,
        &[("transactional.id", "orders"), ("acks", "all")],
    )?;
    config.workload.commit_every_records = Some(3);
    Ok(config)
}

fn idempotence_acks0_conflict() -> Result<WorldConfig, ScenarioError> {
    small_world(
        "idempotence-acks0-conflict",
        Shape::OneBroker,
        &[("enable.idempotence", "true"), ("acks", "0")],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scenario_name_is_unique_and_found() {
        for s in SCENARIOS {
            assert_eq!(find(s.name).expect("listed").name, s.name);
        }
        let mut names: Vec<_> = SCENARIOS.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), SCENARIOS.len());
    }

    #[test]
    fn an_unknown_name_lists_the_known_ones() {
        let err = build("acks-zero").expect_err("unknown");
        assert!(err.to_string().contains("acks0-lost"), "{err}");
    }

    #[test]
    fn every_scenario_is_teaching_sized_on_partition_zero_led_by_broker_zero() {
        for s in SCENARIOS {
            let Ok(config) = s.build() else { continue };
            assert_eq!(config.cluster.partitions, 1, "{}", s.name);
            let placement = key_placement(&config.cluster);
            assert_eq!(
                (placement.partition, placement.leader),
                (0, 0),
                "{}",
                s.name
            );
            assert_eq!(
                placement.followers.len() + 1,
                config.cluster.brokers as usize,
                "{}: every broker holds p0",
                s.name
            );
            assert!(
                (3..=5).contains(&config.workload.records),
                "{}: {} records",
                s.name,
                config.workload.records
            );
        }
    }

    #[test]
    fn every_buildable_scenario_validates() {
        for s in SCENARIOS {
            match s.build() {
                Ok(config) => config
                    .validate()
                    .unwrap_or_else(|e| panic!("{}: {e}", s.name)),
                Err(e) => assert_eq!(s.name, "idempotence-acks0-conflict", "{e}"),
            }
        }
    }
}
