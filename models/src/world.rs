//! The world: the producer, the network, the brokers and the faults in one engine model, and
//! the run that drives them from the first `send()` to the checker's verdict.
//!
//! ```text
//!   run(config, seed, trace)
//!     ├─ send phase:   workload + sender + network + cluster + faults   (run.duration_ms / records)
//!     ├─ drain phase:  no new sends; in-flight work finishes            (bounded by drain_ms)
//!     ├─ settle phase: cluster heals and catches up                     (until settled, bounded by settle_ms)
//!     └─ verdict:      final logs + what the application was told ──► checker ──► RunResult
//! ```
//!
//! Units: the file's `_ms` values are converted to integer ns once; every rate in the metrics
//! is per virtual second, over the active part of the run (until sending stopped or the last
//! callback, whichever is later).
//!
//! Invariants: every record the application sent is acked, failed or unfinished when the run
//! ends (asserted, with the seed); a panic inside the run is re-raised with the virtual time and
//! the seed to replay it. A run always ends: the event budget (derived from every phase unless
//! `[run] max_events` is set), the engine's progress guard and `[run] max_virtual_time_ms` stop
//! it as [`RunStop::BoundReached`], data on the result with the key to raise, never a panic.
//!
//! Fidelity: the end of the send phase is the application calling `flush()` and never sending
//! again, unless the workload's `end` says `close` (then `close()` or `close(Duration)` once the
//! thread's last call returned) or `exit` (`main` returns without either); the drain
//! phase lasts until nothing is queued or in flight, or `delivery.timeout.ms` + 5 s. The
//! settle phase heals links and restarts brokers, and lasts until replication has caught up
//! (every broker up, every partition led with its whole replica set in the ISR, every replica
//! at the leader's log end, the high watermark there too), so the final logs are the committed
//! ones. Its bound (`settle_ms`, 5 virtual minutes by default: a follower may wait out
//! `replica.socket.timeout.ms` on a fetch sent to a broker that crashed, and then rejoin the ISR)
//! only stops a run that cannot settle; such a run says so in a warning, and the checker counts
//! the records whose fate was still open as `unsettled`, never as lost.

use serde::Deserialize;
use sim::{Ctx, Engine, Instant, Model, RunLimits};

use crate::batching::config::ProducerConfig;
pub use crate::checker::CheckerReport;
use crate::checker::{check, check_range_partitions};
use crate::cluster::{Cluster, ClusterConfig, ClusterEvent};
use crate::faults::{FaultEvent, Faults, FaultsConfig};
use crate::network::{NetEvent, Network, NetworkConfig};
use crate::producer::metrics::{CheckerCounts, METRIC_NAMES};
use crate::producer::workload::{WorkloadConfig, WorkloadError, ms_to_ns};
use crate::producer::{Producer, ProducerEvent, RunAhead, WakeSkips};
use crate::protocol::{Message, Node};

/// The `[run]` section: how long the world runs.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunConfig {
    /// Virtual time during which the application sends, in ms.
    pub duration_ms: f64,
    /// After sending stops, how long in-flight work may take to finish, in ms; when absent,
    /// `delivery.timeout.ms` plus 5 s.
    pub drain_ms: Option<f64>,
    /// After draining, the bound on how long the cluster may take to heal and catch up, in ms
    /// (the phase ends as soon as replication has caught up).
    pub settle_ms: f64,
    /// Bound on handled events (0: derived from the workload and the length of every phase).
    pub max_events: u64,
    /// The progress guard: most events within one virtual millisecond (0: the engine's
    /// default, [`sim::ProgressGuard::DEFAULT`]).
    pub max_events_per_virtual_ms: u64,
    /// Bound on the run's virtual time in ms (send + drain + settle); reaching it stops the run
    /// as a bound reached. `None`: the phases' own bounds only.
    pub max_virtual_time_ms: Option<f64>,
    /// Budget for the memory a run is estimated to hold ([`estimate`]), in MiB (0: the default,
    /// [`MAX_MEMORY_MB_DEFAULT`]); the experiments CLI refuses a run estimated above it.
    pub max_memory_mb: u64,
    /// The master seed (read by the experiments runner; [`run`] takes the seed as an argument).
    pub seed: u64,
    /// Replicates per point (read by the experiments runner).
    pub replicates: u32,
}

/// The default bound of the settle phase: 5 virtual minutes.
pub const DEFAULT_SETTLE_MS: f64 = 300_000.0;

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            duration_ms: 10_000.0,
            drain_ms: None,
            settle_ms: DEFAULT_SETTLE_MS,
            max_events: 0,
            max_events_per_virtual_ms: 0,
            max_virtual_time_ms: None,
            max_memory_mb: 0,
            seed: 1,
            replicates: 1,
        }
    }
}

/// Everything one run needs.
#[derive(Clone, Debug)]
pub struct WorldConfig {
    /// The effective producer config (already validated by `batching::config`).
    pub producer: ProducerConfig,
    /// Warnings from resolving the producer config (e.g. idempotence silently disabled); they are
    /// copied into [`RunResult::warnings`].
    pub producer_warnings: Vec<String>,
    /// `[workload]`.
    pub workload: WorkloadConfig,
    /// `[run]`.
    pub run: RunConfig,
    /// `[cluster]`.
    pub cluster: ClusterConfig,
    /// `[network]`.
    pub network: NetworkConfig,
    /// `[faults]`.
    pub faults: FaultsConfig,
}

/// A world config that cannot run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WorldConfigError {
    /// A `[workload]` value is wrong.
    #[error(transparent)]
    Workload(#[from] WorkloadError),
    /// A `[cluster]`, `[network]` or `[faults]` value is wrong.
    #[error("{0}")]
    Cluster(#[from] crate::cluster::ConfigError),
    /// A `[producer]` value Kafka accepts but the simulation cannot make progress with.
    #[error("[producer] {key}: {message}")]
    Producer {
        /// The offending key.
        key: &'static str,
        /// Why, and what is allowed.
        message: String,
    },
    /// A `[run]` value is wrong.
    #[error("[run] {key}: {message}")]
    Run {
        /// The offending key.
        key: &'static str,
        /// What is wrong and what is allowed.
        message: String,
    },
}

impl WorldConfig {
    /// Checks every section; [`run`] calls this and records a failure as a warning-only result.
    pub fn validate(&self) -> Result<(), WorldConfigError> {
        self.workload.plan()?;
        self.cluster.validate(self.producer.kafka_version)?;
        self.network.validate(self.cluster.brokers)?;
        self.faults.validate(&self.cluster)?;
        // Kafka accepts 0 (`atLeast(0)`), but then every request times out the moment it is
        // sent and the client reconnects and resends without end: no answer can ever arrive.
        if self.producer.request_timeout_ms == 0 {
            return Err(WorldConfigError::Producer {
                key: "request.timeout.ms",
                message: "0: every request would time out the instant it is sent, before any \
                          answer could arrive; allowed from 1 ms in a simulation"
                    .into(),
            });
        }
        self.validate_transactions()?;
        if let Some(drain) = self.run.drain_ms {
            ms_to_ns("drain_ms", drain).map_err(run_error)?;
        }
        ms_to_ns("settle_ms", self.run.settle_ms).map_err(run_error)?;
        if let Some(ms) = self.run.max_virtual_time_ms
            && ms_to_ns("max_virtual_time_ms", ms).map_err(run_error)? == 0
        {
            return Err(WorldConfigError::Run {
                key: "max_virtual_time_ms",
                message: "must be > 0 (leave it out for no bound)".into(),
            });
        }
        let duration = ms_to_ns("duration_ms", self.run.duration_ms).map_err(run_error)?;
        if duration == 0 && self.workload.records == 0 {
            return Err(WorldConfigError::Run {
                key: "duration_ms",
                message: "must be > 0 unless [workload] records limits the run".into(),
            });
        }
        Ok(())
    }
}

impl WorldConfig {
    /// The transactional rules across sections: the commit keys need a `transactional.id`,
    /// and `transaction.timeout.ms` may not exceed the brokers' `transaction.max.timeout.ms`
    /// (the coordinator would refuse InitProducerId with INVALID_TRANSACTION_TIMEOUT, a fatal
    /// error, so nothing could be sent).
    fn validate_transactions(&self) -> Result<(), WorldConfigError> {
        let transactional = self.producer.transactional_id.is_some();
        for (key, given) in [
            (
                "commit_every_records",
                self.workload.commit_every_records.is_some(),
            ),
            ("commit_every_ms", self.workload.commit_every_ms.is_some()),
        ] {
            if given && !transactional {
                return Err(WorldConfigError::Workload(WorkloadError {
                    key,
                    message: "a commit interval needs a transactional producer: set \
                              [producer] \"transactional.id\""
                        .into(),
                }));
            }
        }
        let max = self.cluster.transaction_max_timeout_ms;
        if transactional && self.producer.transaction_timeout_ms > max {
            return Err(WorldConfigError::Producer {
                key: "transaction.timeout.ms",
                message: format!(
                    "{} ms is above the brokers' transaction.max.timeout.ms ({max} ms): the \
                     coordinator would refuse InitProducerId with INVALID_TRANSACTION_TIMEOUT; \
                     allowed 1 ..= {max}, or raise [cluster] \"transaction.max.timeout.ms\"",
                    self.producer.transaction_timeout_ms
                ),
            });
        }
        Ok(())
    }
}

fn run_error(e: WorkloadError) -> WorldConfigError {
    WorldConfigError::Run {
        key: e.key,
        message: e.message,
    }
}

/// What one run produced.
pub struct RunResult {
    /// Metrics in the fixed order of [`crate::producer::metrics::METRIC_NAMES`].
    pub metrics: Vec<(&'static str, f64)>,
    /// The checker's verdict over the final broker logs.
    pub checker: CheckerReport,
    /// Config warnings and run warnings (limits hit, records left unfinished, ...).
    pub warnings: Vec<String>,
    /// Hash of the trace (FNV-1a of its JSON lines); equal runs have equal hashes.
    pub trace_hash: u64,
    /// Events handled.
    pub events: u64,
    /// The virtual clock at the end of the run, in ns.
    pub virtual_time_ns: u64,
    /// How the run ended: finished, or stopped by a bound (its metrics then cover the part
    /// that ran).
    pub stop: RunStop,
    /// The trace, handed back (kept events; the caller finishes a sink).
    pub trace: sim::Trace,
    /// What each broker's request handler threads and fetcher threads did, by broker id.
    pub broker_cpu: Vec<crate::cluster::HandlerStats>,
    /// The exactly-once verdict of a transactional producer (read_committed and
    /// read_uncommitted views of the final logs); `None` for other producers.
    pub transactions: Option<crate::txn_checker::TxnVerdict>,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunStop {
    /// Every phase ran to its end (or the run could not start: see the warnings).
    Finished,
    /// A bound stopped the run before its phases ended: not a broken invariant, and the
    /// message names the key to raise.
    BoundReached(BoundStop),
}

/// A run stopped by a bound.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BoundStop {
    /// Which bound, in words (e.g. "the event budget of 2000000 events").
    pub bound: String,
    /// The key that raises it.
    pub key: &'static str,
    /// The virtual time at which it was reached, in ns.
    pub at_ns: u64,
    /// The run's seed.
    pub seed: u64,
}

impl std::fmt::Display for BoundStop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "bound reached: {} at virtual time {} (seed {}); raise {} to go further",
            self.bound,
            Instant::from_nanos(self.at_ns),
            self.seed,
            self.key
        )?;
        if self.bound.contains(APP_SEND_KIND) {
            // A finite burst, not a loop: arrivals that came due while send() was blocked
            // (on the first metadata or on buffer memory) are sent back to back, and with no
            // CPU cost per send they all fall on one instant.
            write!(
                f,
                ", or give send() its CPU cost with [workload] send_cpu_ms (a backlog of sends that came due while send() was blocked runs at one instant when it costs nothing)"
            )?;
        }
        Ok(())
    }
}

impl BoundStop {
    fn of_engine(reached: &sim::BoundReached) -> Self {
        let key = match reached.bound {
            sim::Bound::MaxEvents { .. } => "[run] max_events",
            sim::Bound::Progress { .. } => "[run] max_events_per_virtual_ms",
        };
        BoundStop {
            bound: reached.bound.to_string(),
            key,
            at_ns: reached.now.as_nanos(),
            seed: reached.seed,
        }
    }
}

/// The default memory budget of a run, in MiB ([`RunConfig::max_memory_mb`]).
pub const MAX_MEMORY_MB_DEFAULT: u64 = 8192;

/// What a run is estimated to hold, in bytes, rounded up from measurements of the default
/// experiment (about 120 bytes per batch of about 30 records at the end of a run): each batch
/// in the brokers' logs (shared by the replicas, a pointer on each) and the checker's runs of
/// it (what the application was told, and the final log), ...
const BYTES_PER_BATCH: u64 = 160;
const BYTES_PER_BATCH_REPLICA: u64 = 16;
/// ... a record whose outcome is open, and every record sent after it until it closes ...
const BYTES_PER_OPEN_RECORD: u64 = 48;
/// ... a keyed record (a run of its own in the checker's runs and the logs' batches) ...
const BYTES_PER_KEYED_RECORD: u64 = 80;
/// ... and each replica of each partition (logs, producer state, fetch state).
const BYTES_PER_REPLICA: u64 = 4096;
/// Bytes of a record's size in a batch beyond its value (record header and key, rounded up).
const RECORD_OVERHEAD_BYTES: u64 = 24;

/// What a run is expected to cost, before it starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunEstimate {
    /// The send phase, in ns.
    pub send_ns: u64,
    /// The drain phase's bound, in ns.
    pub drain_ns: u64,
    /// The settle phase's bound, in ns.
    pub settle_ns: u64,
    /// Records the application will send at most.
    pub records: u64,
    /// Bytes the run is estimated to hold at its peak (the end): the batches in the logs and
    /// the checker's runs, the records open at once, the partitions' replicas.
    pub memory_bytes: u64,
}

impl RunEstimate {
    /// The longest the run can last in virtual time (every phase to its bound), in ns.
    pub fn virtual_ns_max(&self) -> u64 {
        self.send_ns
            .saturating_add(self.drain_ns)
            .saturating_add(self.settle_ns)
    }
}

/// Estimates a valid config's virtual length and memory before running it.
pub fn estimate(config: &WorldConfig) -> Result<RunEstimate, WorldConfigError> {
    config.validate()?;
    let plan = config.workload.plan()?;
    let send_ns = send_bound_ns(config)?;
    let drain_ns = drain_bound_ns(config)?;
    let settle_ns = ms_to_ns("settle_ms", config.run.settle_ms).map_err(run_error)?;
    let per_sec = match plan.arrivals {
        crate::producer::workload::ArrivalPlan::Constant { gap_ns }
        | crate::producer::workload::ArrivalPlan::Poisson {
            mean_gap_ns: gap_ns,
        }
        | crate::producer::workload::ArrivalPlan::OnOff { gap_ns, .. } => {
            1_000_000_000 / gap_ns.max(1)
        }
        crate::producer::workload::ArrivalPlan::Saturate => {
            1_000_000_000 / plan.send_cpu_ns.max(1_000)
        }
    };
    let by_rate = u64::try_from(u128::from(per_sec) * u128::from(send_ns) / 1_000_000_000)
        .unwrap_or(u64::MAX);
    let records = match config.workload.records {
        0 => by_rate,
        n => n,
    };
    let replicas = u64::from(config.cluster.replication_factor);
    // Records per batch: a full batch at a high rate, what one linger (at least a millisecond
    // of round trip) gathers at a low one.
    let value_bytes = match plan.values {
        crate::producer::workload::ValuePlan::Constant(v) => u64::from(v),
        crate::producer::workload::ValuePlan::Uniform { min, max } => {
            (u64::from(min) + u64::from(max)) / 2
        }
        crate::producer::workload::ValuePlan::Exponential { mean } => u64::from(mean),
    };
    let full = u64::from(config.producer.batch_size) / (value_bytes + RECORD_OVERHEAD_BYTES);
    let gathered = per_sec.saturating_mul(config.producer.linger_ms.max(1)) / 1_000;
    let per_batch = full.min(gathered).max(1);
    let batches = records.div_ceil(per_batch);
    let keyed = !matches!(plan.keys, crate::producer::workload::KeyPlan::None);
    // A record stays open at most its delivery timeout after `send()` returned (or blocked).
    let open_ns = (u64::from(config.producer.delivery_timeout_ms))
        .saturating_add(config.producer.max_block_ms)
        .saturating_mul(1_000_000)
        .min(send_ns);
    let open = u64::try_from(u128::from(per_sec) * u128::from(open_ns) / 1_000_000_000)
        .unwrap_or(u64::MAX)
        .min(records);
    let memory_bytes = batches
        .saturating_mul(BYTES_PER_BATCH + BYTES_PER_BATCH_REPLICA * replicas)
        .saturating_add(open.saturating_mul(BYTES_PER_OPEN_RECORD))
        .saturating_add(if keyed {
            records.saturating_mul(BYTES_PER_KEYED_RECORD)
        } else {
            0
        })
        .saturating_add(
            u64::from(config.cluster.partitions)
                .saturating_mul(replicas)
                .saturating_mul(BYTES_PER_REPLICA),
        );
    Ok(RunEstimate {
        send_ns,
        drain_ns,
        settle_ns,
        records,
        memory_bytes,
    })
}

/// How long the application may send: `duration_ms`, or an hour when only a record count
/// ends the send phase.
fn send_bound_ns(config: &WorldConfig) -> Result<u64, WorldConfigError> {
    let duration_ns = ms_to_ns("duration_ms", config.run.duration_ms).map_err(run_error)?;
    Ok(if duration_ns > 0 {
        duration_ns
    } else {
        3_600_000_000_000
    })
}

/// The drain phase's bound: `drain_ms`, or `delivery.timeout.ms` plus 5 s.
fn drain_bound_ns(config: &WorldConfig) -> Result<u64, WorldConfigError> {
    Ok(match config.run.drain_ms {
        Some(ms) => ms_to_ns("drain_ms", ms).map_err(run_error)?,
        None => u64::from(config.producer.delivery_timeout_ms) * 1_000_000 + 5_000_000_000,
    })
}

impl RunResult {
    /// The metric called `name`, if it exists.
    pub fn metric(&self, name: &str) -> Option<f64> {
        self.metrics
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    }

    /// The metrics with each value as its bit pattern, so that two runs compare equal when
    /// every value is the same, empty ones (NaN) included.
    pub fn metric_bits(&self) -> Vec<(&'static str, u64)> {
        self.metrics
            .iter()
            .map(|(name, value)| (*name, value.to_bits()))
            .collect()
    }
}

/// The default experiment: 3 brokers, RF 3, 6 partitions, async 100k records/s of 512 B,
/// `linger.ms` 5, no faults, 60 virtual seconds.
pub fn default_config() -> WorldConfig {
    WorldConfig {
        producer: ProducerConfig::default(),
        producer_warnings: Vec::new(),
        workload: WorkloadConfig::default(),
        run: RunConfig {
            duration_ms: 60_000.0,
            ..RunConfig::default()
        },
        cluster: ClusterConfig::default(),
        network: NetworkConfig::default(),
        faults: FaultsConfig::default(),
    }
}

/// What [`drive_default`] did: enough to check the work was real.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DriveStats {
    /// Records the application sent.
    pub records_sent: u64,
    /// Records acknowledged.
    pub records_acked: u64,
    /// Events handled.
    pub events: u64,
}

/// Runs the default experiment for `duration_ms` of virtual time with tracing off: the loop
/// behind `linger bench world` and the `world` criterion bench (no timing inside).
pub fn drive_default(duration_ms: f64, seed: u64) -> DriveStats {
    let mut config = default_config();
    config.run.duration_ms = duration_ms;
    let result = run(&config, seed, sim::Trace::off());
    let get = |name: &str| result.metric(name).unwrap_or(0.0) as u64;
    DriveStats {
        records_sent: get("records_sent"),
        records_acked: get("records_acked"),
        events: result.events,
    }
}

/// Everything that can happen in the world.
#[derive(Clone, Debug)]
pub enum Event {
    /// The producer's own events (application thread, sender).
    Producer(ProducerEvent),
    /// The brokers' and controller's events.
    Cluster(ClusterEvent),
    /// A message arriving (boxed: a message is the largest event, and keeping `Event` small
    /// keeps every event-queue move cheap).
    Net(Box<NetEvent>),
    /// A fault.
    Fault(FaultEvent),
    /// The run's own phases.
    Run(RunEvent),
}

impl From<ClusterEvent> for Event {
    fn from(ev: ClusterEvent) -> Self {
        Event::Cluster(ev)
    }
}
impl From<NetEvent> for Event {
    fn from(ev: NetEvent) -> Self {
        Event::Net(Box::new(ev))
    }
}
impl From<FaultEvent> for Event {
    fn from(ev: FaultEvent) -> Self {
        Event::Fault(ev)
    }
}

/// The run's phases, driven by these events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunEvent {
    /// The send phase is over (duration reached or record limit sent).
    SendingDone,
    /// Check whether the current phase can end.
    Poll,
}

/// Where the run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Sending,
    /// In-flight work finishes until nothing is left or the deadline passes.
    Draining {
        until: Instant,
    },
    /// The cluster heals and catches up until settled or the deadline passes.
    Settling {
        until: Instant,
    },
    /// The verdict can be taken; `settled` tells whether replication had caught up.
    Done {
        settled: bool,
    },
}

/// How often the run checks whether a drain or settle phase is over.
const POLL_INTERVAL: sim::Duration = sim::Duration::from_millis(10);

/// The whole world as one engine model.
pub struct World {
    producer: Producer,
    cluster: Cluster,
    net: Network,
    faults: Faults,
    phase: Phase,
    drain_ns: u64,
    settle_ns: u64,
    /// When the application stopped sending.
    sending_done_ns: u64,
}

impl Model for World {
    type Event = Event;

    fn on_event(&mut self, ctx: &mut Ctx<'_, Event>, event: Event) {
        match event {
            Event::Producer(ev) => self.producer.on_event(ctx, &mut self.net, ev),
            Event::Net(net_event) => match *net_event {
                NetEvent::Deliver {
                    from,
                    to,
                    conn,
                    msg,
                } => match (from, to) {
                    (Node::Broker(broker), Node::Client) => {
                        self.net.on_client_delivery(from, ctx.now());
                        // The client reads only its open connection: a closed socket's data
                        // is gone.
                        if conn == self.net.client_connection(broker) {
                            self.producer.on_message(ctx, &mut self.net, broker, msg)
                        }
                    }
                    (_, Node::Broker(broker)) => {
                        if matches!(msg, crate::protocol::Message::ProduceRequest(_)) {
                            self.net.on_produce_request_delivered();
                        }
                        self.cluster
                            .on_message(ctx, &mut self.net, (from, broker, conn), msg)
                    }
                    (Node::Client, Node::Client) => {}
                },
                NetEvent::Retransmit {
                    slot,
                    conn,
                    dir,
                    seq,
                } => self.net.on_retransmit(ctx, (slot, conn, dir, seq)),
                NetEvent::Syn { broker, conn } => self.net.on_syn(ctx, broker, conn),
                NetEvent::SynAck { broker, conn } => {
                    self.net.on_client_delivery(Node::Broker(broker), ctx.now());
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
                    initiator,
                    acceptor,
                    conn,
                    side,
                } => match (initiator, acceptor, side) {
                    (Node::Client, Node::Broker(b), Node::Client) => {
                        self.producer.on_disconnect(ctx, &mut self.net, b, conn)
                    }
                    (Node::Client, Node::Broker(b), Node::Broker(_)) => {
                        self.cluster.on_client_connection_closed(b, conn)
                    }
                    (Node::Broker(f), Node::Broker(l), Node::Broker(s)) if s == f => self
                        .cluster
                        .on_fetch_connection_closed(ctx, &mut self.net, (f, l), conn),
                    // The leader's end of a fetch connection keeps nothing per connection.
                    _ => {}
                },
            },
            Event::Cluster(ev) => self.cluster.on_event(ctx, &mut self.net, ev),
            Event::Fault(ev) => self.faults.apply(ctx, &mut self.cluster, &mut self.net, ev),
            Event::Run(ev) => self.on_run_event(ctx, ev),
        }
    }

    fn event_kind(&self, event: &Event) -> String {
        event_kind(event).to_owned()
    }
}

/// What the progress guard calls each kind of event, in the words of its message (the most
/// frequent kind of a storm is named to the user).
fn event_kind(event: &Event) -> &'static str {
    match event {
        Event::Net(net_event) => match &**net_event {
            NetEvent::Deliver { msg, .. } => match msg {
                Message::ProduceRequest(_) => "Produce requests arriving",
                Message::ProduceResponse(_) => "Produce responses arriving",
                Message::MetadataRequest { .. } => "Metadata requests arriving",
                Message::MetadataResponse(_) => "Metadata responses arriving",
                Message::InitProducerIdRequest { .. } => "InitProducerId requests arriving",
                Message::InitProducerIdResponse { .. } => "InitProducerId responses arriving",
                Message::ApiVersionsRequest { .. } => "ApiVersions requests arriving",
                Message::ApiVersionsResponse { .. } => "ApiVersions responses arriving",
                Message::TxnRequest { .. } => "transactional requests arriving",
                Message::TxnResponse { .. } => "transactional responses arriving",
            },
            NetEvent::Retransmit { .. } => "TCP retransmissions",
            NetEvent::Syn { .. } => "TCP connects (SYN)",
            NetEvent::SynAck { .. } => "TCP connects (SYN-ACK)",
            NetEvent::SynRetransmit { .. } => "SYN retransmissions",
            NetEvent::Closed { .. } => "connection closes",
        },
        Event::Producer(producer_event) => match producer_event {
            ProducerEvent::AppStep => APP_SEND_KIND,
            ProducerEvent::SenderWake => "sender wake-ups",
            ProducerEvent::BufferWaitExpired { .. } => "buffer waits ending",
            ProducerEvent::MetadataWaitExpired => "metadata waits ending",
            ProducerEvent::FlushTick => "flush() calls",
            ProducerEvent::CloseTimeout => "close() timeouts",
            ProducerEvent::RequestWritten { .. } => "acks=0 requests written",
        },
        Event::Cluster(cluster_event) => match cluster_event {
            ClusterEvent::RequestProcessed { .. } => "broker requests handled",
            ClusterEvent::FetchSend { .. } => "follower fetches sent",
            ClusterEvent::FetchArrive(_) => "follower fetches arriving at the leader",
            ClusterEvent::FetchWaitExpired { .. } => {
                "fetch waits ending (replica.fetch.wait.max.ms)"
            }
            ClusterEvent::FetchResponseArrive(_) => "fetch responses arriving at followers",
            ClusterEvent::FetchTimeout { .. } => "fetch timeouts (replica.socket.timeout.ms)",
            ClusterEvent::PurgatoryTimeout { .. } => "acks=all waits timing out",
            ClusterEvent::IsrCheck { .. } => "ISR lag checks",
            ClusterEvent::SessionExpired { .. } => "broker sessions expiring",
            ClusterEvent::ShutdownHeartbeat { .. } => "controlled-shutdown heartbeats",
            ClusterEvent::TxnTimeoutCheck => "transaction timeout checks",
            ClusterEvent::TxnMarkerRetry => "transaction marker retries",
            ClusterEvent::PublishMetadata(_) => "metadata publications",
            ClusterEvent::HeldResponseDue { .. } => "held responses released",
            ClusterEvent::AlterPartitionArrive(_) => "AlterPartition requests",
            ClusterEvent::AlterPartitionAnswer(_) => "AlterPartition answers",
        },
        Event::Fault(_) => "faults",
        Event::Run(_) => "run phase checks",
    }
}

/// What the progress guard calls the application's `send()` steps.
const APP_SEND_KIND: &str = "application send() calls";

impl World {
    fn on_run_event(&mut self, ctx: &mut Ctx<'_, Event>, ev: RunEvent) {
        let now = ctx.now();
        match (ev, self.phase) {
            (RunEvent::SendingDone, Phase::Sending) => {
                self.sending_done_ns = now.as_nanos();
                self.producer.stop_sending(ctx, &mut self.net);
                self.phase = Phase::Draining {
                    until: now.saturating_add(sim::Duration::from_nanos(self.drain_ns)),
                };
                ctx.schedule_at(now, Event::Run(RunEvent::Poll));
            }
            (RunEvent::Poll, Phase::Draining { until }) => {
                // Quiescent: nothing queued, in flight or blocked, and no acks=0 request still
                // on its way to a broker.
                let quiescent =
                    self.producer.is_quiescent() && self.net.produce_requests_on_wire() == 0;
                if quiescent || now >= until {
                    self.begin_settle(ctx);
                    self.phase = Phase::Settling {
                        until: now.saturating_add(sim::Duration::from_nanos(self.settle_ns)),
                    };
                }
                ctx.schedule_after(POLL_INTERVAL, Event::Run(RunEvent::Poll));
            }
            (RunEvent::Poll, Phase::Settling { until }) => {
                let settled = self.is_settled();
                if settled || now >= until {
                    self.phase = Phase::Done { settled };
                    ctx.stop();
                } else {
                    ctx.schedule_after(POLL_INTERVAL, Event::Run(RunEvent::Poll));
                }
            }
            _ => {}
        }
    }

    /// Ends faults, heals every link, restarts crashed brokers.
    fn begin_settle(&mut self, ctx: &mut Ctx<'_, Event>) {
        self.faults.stop();
        self.cluster.begin_settle(ctx, &mut self.net);
    }

    fn is_settled(&self) -> bool {
        self.cluster.is_settled()
    }
}

/// The sim's trace of one world, the limits and the seed.
struct Prepared {
    world: World,
    limits: RunLimits,
    virtual_time_bound: Option<Instant>,
    duration_ns: u64,
    warnings: Vec<String>,
}

fn prepare(config: &WorldConfig, engine: &mut Engine<Event>) -> Result<Prepared, String> {
    config.validate().map_err(|e| e.to_string())?;
    let mut plan = config.workload.plan().map_err(|e| e.to_string())?;
    let duration_ns = ms_to_ns("duration_ms", config.run.duration_ms).map_err(|e| e.to_string())?;
    plan.duration_ns = (duration_ns > 0).then_some(duration_ns);
    let streams = engine.streams();
    let mut cluster = Cluster::new(&config.cluster, config.producer.kafka_version, &streams)
        .map_err(|e| e.to_string())?;
    let mut net = Network::new(&config.network, config.cluster.brokers, &streams)
        .map_err(|e| e.to_string())?;
    // The producer's application thread may run sends ahead only when it knows the earliest
    // instant a response can reach it, and only without faults (which change links at any time).
    net.track_client_arrivals();
    let faults =
        Faults::new(&config.faults, &config.cluster, &streams).map_err(|e| e.to_string())?;
    let timer = engine.ctx().new_timer();
    let topology = (config.cluster.brokers, config.cluster.partitions);
    let codec = crate::producer::compression::set_up(&config.producer, &config.workload)
        .map_err(|e| e.to_string())?;
    cluster.set_codec_validation_cost(crate::producer::compression::broker_validation_ps_per_byte(
        &config.producer,
        config.cluster.compression_type,
        &config.workload.compression,
    ));
    let (mut producer, mut warnings) =
        Producer::new(&config.producer, plan, topology, &streams, timer);
    if let Some(codec) = codec {
        producer.set_codec(codec);
    }
    if config.faults == FaultsConfig::default() {
        producer.app.set_run_ahead(RunAhead::WhenSafe);
    }
    let drain_ns = drain_bound_ns(config).map_err(|e| e.to_string())?;
    let settle_ns = ms_to_ns("settle_ms", config.run.settle_ms).map_err(|e| e.to_string())?;
    let (limits, virtual_time_bound) =
        run_limits(config, drain_ns, settle_ns).map_err(|e| e.to_string())?;
    warnings.splice(0..0, config.producer_warnings.iter().cloned());
    let world = World {
        producer,
        cluster,
        net,
        faults,
        phase: Phase::Sending,
        drain_ns,
        settle_ns,
        sending_done_ns: 0,
    };
    Ok(Prepared {
        world,
        limits,
        virtual_time_bound,
        duration_ns,
        warnings,
    })
}

/// The engine's limits: the phases' end plus a second, or the user's `max_virtual_time_ms`
/// when earlier (returned too, so reaching it is told apart from the phases' own end); the
/// event budget; the progress guard.
fn run_limits(
    config: &WorldConfig,
    drain_ns: u64,
    settle_ns: u64,
) -> Result<(RunLimits, Option<Instant>), WorldConfigError> {
    let send_ns = send_bound_ns(config)?;
    let phases_end = Instant::from_nanos(
        send_ns
            .saturating_add(drain_ns)
            .saturating_add(settle_ns)
            .saturating_add(1_000_000_000),
    );
    let user_bound = match config.run.max_virtual_time_ms {
        Some(ms) => Some(Instant::from_nanos(
            ms_to_ns("max_virtual_time_ms", ms).map_err(run_error)?,
        ))
        .filter(|bound| *bound < phases_end),
        None => None,
    };
    let max_events = if config.run.max_events > 0 {
        config.run.max_events
    } else {
        default_max_events(
            config,
            send_ns.saturating_add(drain_ns).saturating_add(settle_ns),
        )
    };
    let guard = match config.run.max_events_per_virtual_ms {
        0 => sim::ProgressGuard::DEFAULT,
        n => sim::ProgressGuard {
            max_events: n,
            window: sim::Duration::from_millis(1),
        },
    };
    let limits = RunLimits::unbounded()
        .until(user_bound.unwrap_or(phases_end))
        .and_then(|l| l.max_events(max_events))
        .and_then(|l| l.progress_guard(guard))
        .map_err(|e| WorldConfigError::Run {
            key: "max_events",
            message: e.to_string(),
        })?;
    Ok((limits, user_bound))
}

/// A generous event budget: about 40 events per record plus background traffic over every
/// phase (send, drain and settle: `phases_ns`).
fn default_max_events(config: &WorldConfig, phases_ns: u64) -> u64 {
    let records = match config.workload.records {
        0 => 200_000_000,
        n => n,
    };
    let secs = phases_ns / 1_000_000_000 + 200;
    records
        .saturating_mul(40)
        .saturating_add(secs.saturating_mul(1_000_000))
        .max(1_000_000)
}

/// An empty result for a run that could not start.
fn not_started(message: String, trace: sim::Trace) -> RunResult {
    let checker = check(
        &[],
        &crate::checker::FinalLogs {
            partitions: Vec::new(),
        },
    );
    RunResult {
        metrics: METRIC_NAMES.iter().map(|n| (*n, f64::NAN)).collect(),
        checker,
        warnings: vec![format!("the run did not start: {message}")],
        trace_hash: trace.hash(),
        events: 0,
        virtual_time_ns: 0,
        stop: RunStop::Finished,
        trace,
        broker_cpu: Vec::new(),
        transactions: None,
    }
}

/// What a run has done so far, for a progress display.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunProgress {
    /// Virtual time reached, in ns.
    pub virtual_ns: u64,
    /// Records the application has sent so far.
    pub records_sent: u64,
}

/// Events between two calls of a run's progress observer.
const PROGRESS_EVERY_EVENTS: u32 = 1 << 16;

/// The world as the engine runs it when someone watches: every [`PROGRESS_EVERY_EVENTS`] events
/// the observer gets a copy of the progress. It sees values only, so it cannot change the run.
struct Observed<'a> {
    world: &'a mut World,
    observer: &'a mut dyn FnMut(RunProgress),
    countdown: u32,
}

impl Model for Observed<'_> {
    type Event = Event;

    #[inline]
    fn on_event(&mut self, ctx: &mut Ctx<'_, Event>, event: Event) {
        self.world.on_event(ctx, event);
        self.countdown -= 1;
        if self.countdown == 0 {
            self.countdown = PROGRESS_EVERY_EVENTS;
            (self.observer)(RunProgress {
                virtual_ns: ctx.now().as_nanos(),
                records_sent: self.world.producer.metrics.records_sent,
            });
        }
    }

    fn event_kind(&self, event: &Event) -> String {
        self.world.event_kind(event)
    }
}

/// Runs one world with `seed` and returns its metrics and verdict. A config that cannot run
/// gives an empty result whose first warning says why ("the run did not start: ...").
pub fn run(config: &WorldConfig, seed: u64, trace: sim::Trace) -> RunResult {
    run_inner(
        config,
        (seed, trace),
        None,
        WakeSkips::WhenSettled,
        Judges::Ranges,
    )
    .0
}

/// Which checkers judge a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Judges {
    /// The range checker only (every run).
    Ranges,
    /// The range checker and the per-record checker on a per-record copy.
    AlsoPerRecord,
}

/// Runs one world with `seed` untraced, judged both by the range checker (the result's
/// verdict, as [`run`] gives it) and by the per-record checker on a per-record copy of what the
/// application was told and of the final logs: the second verdict, for tests that compare the
/// two. Costs memory per record; not for long runs.
pub fn run_with_per_record_checker(config: &WorldConfig, seed: u64) -> (RunResult, CheckerReport) {
    let (result, reference) = run_inner(
        config,
        (seed, sim::Trace::off()),
        None,
        WakeSkips::WhenSettled,
        Judges::AlsoPerRecord,
    );
    let reference = reference.unwrap_or_else(|| result.checker.clone());
    (result, reference)
}

/// [`run`], calling `observer` with the run's progress every so many events (for a progress
/// line); the result is the same as without it.
pub fn run_with_progress(
    config: &WorldConfig,
    seed: u64,
    trace: sim::Trace,
    observer: &mut dyn FnMut(RunProgress),
) -> RunResult {
    run_inner(
        config,
        (seed, trace),
        Some(observer),
        WakeSkips::WhenSettled,
        Judges::Ranges,
    )
    .0
}

/// [`run`] with the sender's wake-up policy chosen (tests compare the two) and, with
/// [`Judges::AlsoPerRecord`], the per-record checker's verdict too.
fn run_inner(
    config: &WorldConfig,
    (seed, trace): (u64, sim::Trace),
    observer: Option<&mut dyn FnMut(RunProgress)>,
    wake_skips: WakeSkips,
    judges: Judges,
) -> (RunResult, Option<CheckerReport>) {
    let mut engine: Engine<Event> = Engine::new(seed);
    let mut prepared = match prepare(config, &mut engine) {
        Ok(p) => p,
        Err(message) => return (not_started(message, trace), None),
    };
    if judges == Judges::AlsoPerRecord {
        prepared.world.producer.records.keep_reference();
    }
    prepared.world.producer.wake_skips = wake_skips;
    engine.set_trace(trace);
    {
        let world = &mut prepared.world;
        let mut ctx = engine.ctx();
        world.cluster.start(&mut ctx, &mut world.net);
        world.faults.start(&mut ctx);
        world.producer.start(&mut ctx, &mut world.net);
        if prepared.duration_ns > 0 {
            ctx.schedule_at(
                Instant::from_nanos(prepared.duration_ns),
                Event::Run(RunEvent::SendingDone),
            );
        }
    }
    let limits = prepared.limits;
    let world = &mut prepared.world;
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match observer {
        None => engine.run(world, limits),
        Some(observer) => engine.run(
            &mut Observed {
                world,
                observer,
                countdown: PROGRESS_EVERY_EVENTS,
            },
            limits,
        ),
    }));
    let stop = match outcome {
        Ok(Ok(_)) => match prepared.virtual_time_bound {
            Some(bound)
                if !matches!(prepared.world.phase, Phase::Done { .. }) && engine.now() >= bound =>
            {
                RunStop::BoundReached(BoundStop {
                    bound: format!("the virtual time bound of {bound}"),
                    key: "[run] max_virtual_time_ms (or --max-virtual-time)",
                    at_ns: engine.now().as_nanos(),
                    seed,
                })
            }
            _ => RunStop::Finished,
        },
        // A bound was reached: data for the caller, not a broken invariant.
        Ok(Err(reached)) => RunStop::BoundReached(BoundStop::of_engine(&reached)),
        Err(payload) => {
            let message = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)");
            panic!(
                "{message}\n  at virtual time {} of the run with seed {seed}; replay with `linger run ... --run-seed {seed}`",
                engine.now()
            );
        }
    };
    let mut warnings = prepared.warnings;
    let (result, reference) = finish(engine, prepared.world, (&mut warnings, &stop), seed);
    (result.with_stop(stop).with_warnings(warnings), reference)
}

impl RunResult {
    fn with_warnings(mut self, warnings: Vec<String>) -> Self {
        self.warnings = warnings;
        self
    }

    fn with_stop(mut self, stop: RunStop) -> Self {
        self.stop = stop;
        self
    }
}

fn finish(
    mut engine: Engine<Event>,
    world: World,
    (warnings, stop): (&mut Vec<String>, &RunStop),
    seed: u64,
) -> (RunResult, Option<CheckerReport>) {
    let World {
        producer,
        cluster,
        phase,
        sending_done_ns,
        settle_ns,
        ..
    } = world;
    let unfinished = producer.unfinished();
    if unfinished > 0 {
        warnings.push(format!(
            "{unfinished} records had no outcome when the run ended"
        ));
    }
    // The committed logs as ranges, and the application's records as runs: the verdict costs
    // memory per run, not per record.
    let mut cluster = cluster;
    let per_record_logs = producer
        .records
        .keeps_reference()
        .then(|| cluster.final_logs());
    let broker_cpu = cluster.handler_stats();
    let txn_views = producer.txn.is_some().then(|| cluster.transaction_views());
    let transactions = txn_views.map(|views| {
        let ranges = producer.txn_ranges().unwrap_or_default();
        crate::txn_checker::check_transactions(&ranges, producer.records.len(), &views)
    });
    let mut producer = producer;
    let (sent, per_record_sent) = producer.records.take_sent();
    // One partition's ranges at a time, its replica logs freed as they are read.
    let report = check_range_partitions(&sent, cluster.partition_count() as usize, |p| {
        cluster.take_range_log(p)
    });
    drop(cluster);
    let reference = per_record_sent
        .zip(per_record_logs)
        .map(|(sent, logs)| check(&sent, &logs));
    match (stop, phase) {
        (RunStop::BoundReached(bound), _) => warnings.push(bound.to_string()),
        (_, Phase::Done { settled: true }) => {}
        (_, Phase::Done { settled: false }) => warnings.push(format!(
            "replication had not caught up when the settle phase reached its bound ([run] settle_ms = {} ms) at {}: {} records whose fate was still open are counted as unsettled, not as lost",
            settle_ns / 1_000_000,
            engine.now(),
            report.unsettled
        )),
        (_, _) => warnings.push(format!(
            "the run stopped in phase {phase:?} (time limit) at {}",
            engine.now()
        )),
    }
    drop(sent);
    let m = &producer.metrics;
    assert_eq!(
        m.records_sent,
        m.records_acked + m.records_failed + unfinished,
        "accounting: sent = acked + failed + unfinished (seed {seed})"
    );
    let counts = checker_counts(&report);
    // Rates are over the active part of the run: until sending stopped or the last callback,
    // whichever is later (the settle phase is bookkeeping, not producer time).
    let elapsed_ns = sending_done_ns
        .max(producer.metrics.last_completion_ns)
        .max(1);
    let send_phase_ns = match sending_done_ns {
        0 => elapsed_ns,
        done => done,
    };
    let metrics = producer.metric_rows((elapsed_ns, send_phase_ns), &counts);
    warnings.extend(load_warnings(&metrics, send_phase_ns));
    let trace = std::mem::take(engine.trace_mut());
    let result = RunResult {
        metrics,
        checker: report,
        warnings: Vec::new(),
        trace_hash: trace.hash(),
        events: engine.events_handled(),
        virtual_time_ns: engine.now().as_nanos(),
        stop: RunStop::Finished,
        trace,
        broker_cpu,
        transactions,
    };
    (result, reference)
}

/// The share of the send phase that `send()` may spend waiting for buffer memory before the
/// run says so.
const BLOCKED_SHARE_WARN: f64 = 0.01;

/// Warnings a reader of the metrics needs: nothing acknowledged (the latency figures are empty),
/// an offered load the application could not send, and `send()` blocking for memory.
fn load_warnings(metrics: &[(&'static str, f64)], send_phase_ns: u64) -> Vec<String> {
    let get = |name: &str| {
        metrics
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(f64::NAN, |(_, v)| *v)
    };
    let mut out = Vec::new();
    let (sent, acked) = (get("records_sent"), get("records_acked"));
    if sent > 0.0 && acked == 0.0 {
        out.push(format!(
            "no record was acknowledged ({sent} sent, {} failed, {} without an outcome): the \
             latency percentiles and averages are empty, not 0",
            get("records_failed"),
            get("records_unfinished")
        ));
    }
    let send_secs = send_phase_ns as f64 / 1e9;
    let wait_ns = get("bufferpool-wait-time-ns-total");
    let blocked = format!(
        "send() waited {:.1} ms for buffer memory in all (bufferpool-wait-time-ns-total), its \
         p99 call took {:.3} ms",
        wait_ns / 1e6,
        get("send_latency_p99_ms")
    );
    let offered = get("offered_records_per_s");
    let expected = offered * send_secs;
    // Room for a Poisson process's spread (3 standard deviations) and rounding at the ends.
    let slack = 0.02 * expected + 3.0 * expected.sqrt() + 1.0;
    if offered.is_finite() && send_phase_ns >= 1_000_000 && sent < expected - slack {
        out.push(format!(
            "the offered load was not met: the workload offers {offered:.0} records/s but the \
             application called send() only {:.0} times a second ({sent} of about {expected:.0} \
             records in the {send_secs:.3} s send phase); the records it could not send waited \
             before send(), a delay no latency figure includes; {blocked}",
            sent / send_secs
        ));
    } else if wait_ns > BLOCKED_SHARE_WARN * send_phase_ns as f64 {
        out.push(format!(
            "send() blocked waiting for buffer memory for {:.1}% of the send phase \
             (bufferpool-wait-ratio {:.3}): the producer drains more slowly than the application \
             appends (see buffer.memory, batch.size, linger.ms, \
             max.in.flight.requests.per.connection and the network); {blocked}",
            100.0 * wait_ns / send_phase_ns.max(1) as f64,
            get("bufferpool-wait-ratio")
        ));
    }
    out
}

fn checker_counts(report: &CheckerReport) -> CheckerCounts {
    CheckerCounts {
        delivered_once: report.delivered_once,
        duplicated: report.duplicated,
        duplicate_copies: report.duplicate_copies,
        lost_acked: report.acked_lost,
        failed_absent: report.failed_absent,
        silent_absent: report.silent_lost,
        failed_present: report.failed_present,
        unfinished_absent: report.unfinished_absent,
        unfinished_present: report.unfinished_present,
        unsettled: report.unsettled,
        reordered: report.reordered,
        key_reordered: report.key_reordered,
        acked_offset_mismatch: report.acked_offset_mismatch,
        foreign_in_log: report.foreign_in_log,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::DistConfig;
    use crate::producer::workload::{Arrivals, Keys, ValueBytes, ValueDist};

    /// Runs `config` twice: untraced (the application thread may run sends ahead) and traced
    /// (it never does, since trace events carry each event's time), and checks that both runs
    /// tell the same story. Returns the event counts (untraced, traced).
    fn assert_run_ahead_is_exact(config: &WorldConfig, seed: u64) -> (u64, u64) {
        let fast = run(config, seed, sim::Trace::off());
        let slow = run(config, seed, sim::Trace::hashing());
        assert_eq!(
            fast.metric_bits(),
            slow.metric_bits(),
            "metrics differ (seed {seed})"
        );
        assert_eq!(fast.checker, slow.checker, "checker differs (seed {seed})");
        assert_eq!(fast.warnings, slow.warnings);
        assert_eq!(fast.virtual_time_ns, slow.virtual_time_ns);
        let sent = fast.metric("records_sent").unwrap_or(0.0);
        assert!(sent > 100.0, "the run sent only {sent} records");
        (fast.events, slow.events)
    }

    /// A run watched by a progress observer tells the same story, event for event, and the
    /// observer sees virtual time and records advance.
    #[test]
    fn a_watched_run_gives_the_same_result_and_sees_time_advance() {
        let mut config = default_config();
        // Long enough for a few calls of the observer (one per 65,536 events).
        config.run.duration_ms = 1_000.0;
        let plain = run(&config, 3, sim::Trace::hashing());
        let mut seen: Vec<RunProgress> = Vec::new();
        let watched = run_with_progress(&config, 3, sim::Trace::hashing(), &mut |progress| {
            seen.push(progress)
        });
        assert_eq!(plain.metrics, watched.metrics);
        assert_eq!(plain.checker, watched.checker);
        assert_eq!(plain.events, watched.events);
        assert_eq!(plain.trace_hash, watched.trace_hash);
        assert!(!seen.is_empty(), "{} events, no progress", watched.events);
        assert!(
            seen.windows(2)
                .all(|w| w[0].virtual_ns <= w[1].virtual_ns
                    && w[0].records_sent <= w[1].records_sent)
        );
        assert!(seen.last().is_some_and(|p| p.records_sent > 0));
    }

    /// A sender held back by `max.in.flight.requests.per.connection` (1 M records/s on 60
    /// partitions) skips the wake-ups of appends to a backlog, and every decision stays the
    /// same as when it is woken at each of them: the same trace, event for event in time, with
    /// far fewer events.
    #[test]
    fn skipping_the_sender_wake_ups_of_a_backlog_changes_no_decision() {
        let mut config = default_config();
        config.run.duration_ms = 50.0;
        config.cluster.partitions = 60;
        config.workload.arrivals = Arrivals::Constant {
            per_sec: 1_000_000.0,
        };
        for (seed, in_flight) in [(1, 5), (2, 1)] {
            config.producer.max_in_flight_requests_per_connection = in_flight;
            let every = run_inner(
                &config,
                (seed, sim::Trace::hashing()),
                None,
                WakeSkips::Never,
                Judges::Ranges,
            )
            .0;
            let skipping = run(&config, seed, sim::Trace::hashing());
            assert_eq!(
                every.trace_hash, skipping.trace_hash,
                "in flight {in_flight}"
            );
            assert_eq!(every.metrics, skipping.metrics);
            assert_eq!(every.checker, skipping.checker);
            let sent = skipping.metric("records_sent").unwrap_or(0.0);
            assert!(
                skipping.events < every.events,
                "{sent} records: {} events skipping, {} waking at every append",
                skipping.events,
                every.events
            );
        }
    }

    #[test]
    fn the_memory_estimate_grows_with_batches_and_open_records_not_with_every_record() {
        let mut config = default_config();
        config.run.duration_ms = 3_600_000.0;
        let hour = estimate(&config).expect("the default experiment is valid");
        assert_eq!(hour.records, 360_000_000);
        // About 30 records of 512 B per 16 KiB batch: a few bytes per record, so a virtual hour
        // fits the default budget.
        assert!(hour.memory_bytes < hour.records * 10, "{hour:?}");
        assert!(hour.memory_bytes < MAX_MEMORY_MB_DEFAULT << 20, "{hour:?}");
        // Keyed records are runs of their own: memory per record.
        config.workload.keys = Keys::Uniform { count: 1_000 };
        let keyed = estimate(&config).expect("valid");
        assert!(keyed.memory_bytes > keyed.records * 80, "{keyed:?}");
        // Ten times the partitions and replicas cost more, not less.
        config.workload.keys = Keys::None {};
        config.cluster.partitions = 60;
        assert!(estimate(&config).expect("valid").memory_bytes > hour.memory_bytes);
        // A small batch holds fewer records: more batches for the same records.
        config.cluster.partitions = 6;
        config.producer.batch_size = 1_024;
        assert!(estimate(&config).expect("valid").memory_bytes > hour.memory_bytes);
    }

    #[test]
    fn running_sends_ahead_changes_nothing_but_the_event_count_on_the_default_experiment() {
        let mut config = default_config();
        config.run.duration_ms = 300.0;
        let (fast, slow) = assert_run_ahead_is_exact(&config, 7);
        // The traced run has one event per send (30,000 here); running ahead must fold most of
        // them away (about 3 sends per event at 100k records/s, with a response or a sender
        // wake-up every ~30 µs bounding each run).
        assert!(
            fast * 10 < slow * 6,
            "sends ran ahead: {fast} events untraced vs {slow} traced"
        );
    }

    #[test]
    fn running_sends_ahead_is_exact_with_keys_jittered_latency_and_a_tight_buffer() {
        let mut config = default_config();
        config.run.duration_ms = 200.0;
        config.workload.arrivals = Arrivals::Poisson { per_sec: 150_000.0 };
        config.workload.keys = Keys::Zipf { count: 50, s: 1.1 };
        config.workload.value_bytes = ValueBytes::Dist(ValueDist::Uniform { min: 10, max: 2000 });
        config.network.latency = DistConfig::Uniform {
            lo_ms: 0.2,
            hi_ms: 1.5,
        };
        config.producer.linger_ms = 2;
        config.producer.buffer_memory = 256 * 1024;
        for seed in [1, 2, 3] {
            let (fast, slow) = assert_run_ahead_is_exact(&config, seed);
            assert!(fast < slow, "sends ran ahead: {fast} vs {slow}");
        }
    }

    #[test]
    fn running_sends_ahead_is_exact_when_saturating_a_small_buffer() {
        let mut config = default_config();
        config.run.duration_ms = 100.0;
        config.workload.arrivals = Arrivals::Saturate {};
        config.workload.send_cpu_ms = 0.002;
        config.producer.buffer_memory = 128 * 1024;
        assert_run_ahead_is_exact(&config, 11);
    }
}
