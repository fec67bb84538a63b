//! Configuration shared by the cluster, the network and the faults: the TOML vocabulary
//! (`ClusterConfig`, `DistConfig`, node and link names), the `ConfigError` every `validate` returns,
//! and the one-time conversion of `_ms` floats into integer nanoseconds.
//!
//! ```text
//!   [cluster]                      keys as in Kafka's broker/topic configs
//!   brokers = 3                    replication_factor = 3      partitions = 6
//!   "min.insync.replicas" = 2      "unclean.leader.election.enable" = false
//!   "replica.lag.time.max.ms" = 30000                          "replica.fetch.wait.max.ms" = 500
//!   "eligible.leader.replicas.version" = 1   (KIP-966; default by profile: 1 from 4.1, else 0)
//!   alter_partition_round_trip_ms = 2        (leader -> controller -> leader, per AlterPartition)
//!   latency = { dist = "lognormal", median_ms = 0.5, sigma = 0.3 }   (in [network])
//! ```
//!
//! Durations are written in milliseconds (floats allowed) and converted to integer nanoseconds
//! once, here; nothing downstream sees a float time.
//!
//! Ranges: every duration is at most [`DURATION_MS_MAX`] (10^7 s), counts and costs have the
//! maxima below ([`BROKERS_MAX`], [`PARTITIONS_MAX`], [`REPLICAS_MAX`],
//! [`APPEND_COST_PER_BATCH_NS_MAX`], [`APPEND_COST_PER_BYTE_NS_MAX`], [`IO_THREADS_MAX`]; the
//! fetch cost shares the per-batch maximum) and a lognormal's sigma is
//! at most [`LOGNORMAL_SIGMA_MAX`], so no accepted value overflows `u64` nanoseconds, alone or
//! added to the clock; samples of every distribution are clamped to `sim::rng::SAMPLE_NS_MAX`.

use serde::Deserialize;
use sim::{Dist, Duration};

use crate::batching::config::{CompressionType, KafkaVersion};
use crate::protocol::{BrokerId, Node};

/// The most brokers a cluster may have (the network keeps one link per ordered node pair).
pub const BROKERS_MAX: u32 = 100;

/// The most partitions of the topic.
pub const PARTITIONS_MAX: u32 = 100_000;

/// The most replicas (partitions x replication factor) a cluster may hold.
pub const REPLICAS_MAX: u64 = 1_000_000;

/// The highest broker CPU cost per appended batch, ns (1000 s). With at most
/// [`PARTITIONS_MAX`] batches per request the per-batch part stays below 10^17 ns.
pub const APPEND_COST_PER_BATCH_NS_MAX: u64 = 1_000_000_000_000;

/// The most request handler threads per broker (`num.io.threads`): each is a slot in the
/// broker's pool, and no broker runs more threads than this usefully.
pub const IO_THREADS_MAX: u32 = 10_000;

/// The highest broker CPU cost per appended byte, ns (1 ms). Kept per KiB as an integer
/// (at most about 1.03 * 10^9), times at most 2^31 bytes of a request, it stays below
/// 2.3 * 10^18 ns.
pub const APPEND_COST_PER_BYTE_NS_MAX: f64 = 1e6;

/// The largest lognormal `sigma`: e^(5 * 6) is a factor of 10^13 at six standard deviations,
/// already more spread than any latency or fault duration needs.
pub const LOGNORMAL_SIGMA_MAX: f64 = 5.0;

/// A configuration value that makes no sense, naming the key and what is allowed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// One key has a bad value.
    #[error("{key}: {problem}")]
    Invalid {
        /// The key, as written in the experiment file (e.g. `cluster."min.insync.replicas"`).
        key: String,
        /// What is wrong and what is allowed.
        problem: String,
    },
}

impl ConfigError {
    /// A bad value for `key`.
    pub fn invalid(key: impl Into<String>, problem: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key: key.into(),
            problem: problem.into(),
        }
    }
}

/// The longest duration any simulator key may give, in ms: 10^10 ms = 10^7 s (about 116
/// days). Every `_ms` key of `[workload]`, `[cluster]`, `[network]`, `[faults]` and `[run]` is
/// checked against it when the file is read, so a run's phases together (at most three of
/// these plus a second) stay below 3.1 * 10^16 ns, and any deadline `now + duration`, even
/// with Kafka's longest modelled duration (10^18 ns) or a clamped sample (10^17 ns) on top,
/// stays far below `u64::MAX` (about 1.8 * 10^19 ns).
pub const DURATION_MS_MAX: f64 = 1e10;

/// A number as a message shows it: plain when short, in exponent form when very large or very
/// small (`1e300`, not three hundred digits).
pub fn show_number(x: f64) -> String {
    if x != 0.0 && x.is_finite() && (x.abs() >= 1e16 || x.abs() < 1e-4) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

/// The allowed range of a duration key, for messages.
pub const DURATION_ALLOWED: &str = "allowed 0 ..= 10000000000 ms (10^7 s, about 116 days)";

/// Converts a duration in milliseconds (a float from a file) to integer nanoseconds, once.
pub fn ms_to_duration(key: &str, ms: f64) -> Result<Duration, ConfigError> {
    if !ms.is_finite() || !(0.0..=DURATION_MS_MAX).contains(&ms) {
        return Err(ConfigError::invalid(
            key,
            format!("{} is not a duration: {DURATION_ALLOWED}", show_number(ms)),
        ));
    }
    Ok(Duration::from_nanos((ms * 1e6).round() as u64))
}

/// Checks that `p` is a probability.
pub fn check_probability(key: &str, p: f64) -> Result<(), ConfigError> {
    if p.is_finite() && (0.0..=1.0).contains(&p) {
        Ok(())
    } else {
        Err(ConfigError::invalid(
            key,
            format!("{p} is not a probability: allowed 0.0 ..= 1.0"),
        ))
    }
}

/// The denominator of integer probabilities: parts per billion.
pub const RATIO_DENOMINATOR: u64 = 1_000_000_000;

/// A probability as parts per billion, converted once (call [`check_probability`] first).
pub fn probability_to_ppb(p: f64) -> u64 {
    ((p.clamp(0.0, 1.0)) * RATIO_DENOMINATOR as f64).round() as u64
}

/// A distribution of durations as written in a file, e.g.
/// `{ dist = "lognormal", median_ms = 0.5, sigma = 0.3 }` or `{ dist = "constant", ms = 0.5 }`.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(tag = "dist", rename_all = "lowercase", deny_unknown_fields)]
pub enum DistConfig {
    /// Always `ms`.
    Constant {
        /// The value, ms.
        ms: f64,
    },
    /// Uniform over `[lo_ms, hi_ms]`.
    Uniform {
        /// Smallest value, ms.
        lo_ms: f64,
        /// Largest value, ms.
        hi_ms: f64,
    },
    /// Normal, truncated at zero.
    Normal {
        /// Mean, ms.
        mean_ms: f64,
        /// Standard deviation, ms.
        std_dev_ms: f64,
    },
    /// Log-normal with this median and shape `sigma` (of `ln` of the value).
    Lognormal {
        /// Median, ms.
        median_ms: f64,
        /// Standard deviation of the underlying normal.
        sigma: f64,
    },
    /// Exponential with this mean.
    Exponential {
        /// Mean, ms.
        mean_ms: f64,
    },
}

impl DistConfig {
    /// A constant distribution of `ms` milliseconds.
    pub const fn constant_ms(ms: f64) -> Self {
        DistConfig::Constant { ms }
    }

    /// Validates and converts to the engine's integer-nanosecond distribution.
    pub fn to_dist(&self, key: &str) -> Result<Dist, ConfigError> {
        match *self {
            DistConfig::Constant { ms } => {
                Ok(Dist::Constant(ms_to_duration(&format!("{key}.ms"), ms)?))
            }
            DistConfig::Uniform { lo_ms, hi_ms } => {
                let lo = ms_to_duration(&format!("{key}.lo_ms"), lo_ms)?;
                let hi = ms_to_duration(&format!("{key}.hi_ms"), hi_ms)?;
                if lo > hi {
                    return Err(ConfigError::invalid(
                        key,
                        format!("lo_ms {lo_ms} is above hi_ms {hi_ms}"),
                    ));
                }
                Ok(Dist::Uniform { lo, hi })
            }
            DistConfig::Normal {
                mean_ms,
                std_dev_ms,
            } => Ok(Dist::Normal {
                mean: ms_to_duration(&format!("{key}.mean_ms"), mean_ms)?,
                std_dev: ms_to_duration(&format!("{key}.std_dev_ms"), std_dev_ms)?,
            }),
            DistConfig::Lognormal { median_ms, sigma } => {
                let median = ms_to_duration(&format!("{key}.median_ms"), median_ms)?;
                if median == Duration::ZERO {
                    return Err(ConfigError::invalid(
                        format!("{key}.median_ms"),
                        "must be > 0 for a lognormal",
                    ));
                }
                if !sigma.is_finite() || !(0.0..=LOGNORMAL_SIGMA_MAX).contains(&sigma) {
                    return Err(ConfigError::invalid(
                        format!("{key}.sigma"),
                        format!(
                            "{}: allowed 0 ..= {LOGNORMAL_SIGMA_MAX}",
                            show_number(sigma)
                        ),
                    ));
                }
                Ok(Dist::LogNormal {
                    mu: (median.as_nanos() as f64).ln(),
                    sigma,
                })
            }
            DistConfig::Exponential { mean_ms } => Ok(Dist::Exponential {
                mean: ms_to_duration(&format!("{key}.mean_ms"), mean_ms)?,
            }),
        }
    }
}

/// A node named in a file: `"client"` or `"broker<N>"` (also `"b<N>"`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct NodeName(pub String);

impl NodeName {
    /// Resolves the name against a cluster of `broker_count` brokers.
    pub fn resolve(&self, key: &str, broker_count: u32) -> Result<Node, ConfigError> {
        let name = self.0.trim();
        if name == "client" {
            return Ok(Node::Client);
        }
        let digits = name
            .strip_prefix("broker")
            .or_else(|| name.strip_prefix('b'))
            .map(|d| d.trim_start_matches(['-', ' ', '/']));
        let index = digits.and_then(|d| d.parse::<u32>().ok()).ok_or_else(|| {
            ConfigError::invalid(
                key,
                format!(
                    "unknown node {:?}: allowed \"client\" or \"broker<N>\" (e.g. \"broker0\")",
                    self.0
                ),
            )
        })?;
        if index >= broker_count {
            return Err(ConfigError::invalid(
                key,
                format!(
                    "broker {index} does not exist: the cluster has brokers 0..{}",
                    broker_count.saturating_sub(1)
                ),
            ));
        }
        Ok(Node::Broker(BrokerId(index)))
    }
}

/// A link between two nodes, both directions: `["client", "broker1"]`.
pub type LinkName = [NodeName; 2];

/// Resolves a link name to its two distinct nodes.
pub fn resolve_link(
    key: &str,
    link: &LinkName,
    broker_count: u32,
) -> Result<(Node, Node), ConfigError> {
    let a = link[0].resolve(key, broker_count)?;
    let b = link[1].resolve(key, broker_count)?;
    if a == b {
        return Err(ConfigError::invalid(
            key,
            format!(
                "a link joins two different nodes, not {:?} to itself",
                link[0].0
            ),
        ));
    }
    Ok((a, b))
}

fn default_brokers() -> u32 {
    3
}
fn default_partitions() -> u32 {
    6
}
fn default_replication_factor() -> u32 {
    3
}
fn default_min_isr() -> u32 {
    2
}
fn default_lag_ms() -> f64 {
    30_000.0
}
fn default_fetch_wait_ms() -> f64 {
    500.0
}
fn default_fetch_backoff_ms() -> f64 {
    1_000.0
}
fn default_socket_timeout_ms() -> f64 {
    30_000.0
}
fn default_append_batch_ns() -> u64 {
    5_000
}
fn default_append_byte_ns() -> f64 {
    0.5
}
fn default_io_threads() -> u32 {
    8
}
fn default_queued_max_requests() -> u32 {
    500
}
fn default_session_timeout_ms() -> f64 {
    9_000.0
}
fn default_heartbeat_interval_ms() -> f64 {
    2_000.0
}
fn default_metadata_delay_ms() -> f64 {
    50.0
}
/// A topic's `compression.type` (`BrokerCompressionType`: Kafka's topic-level names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TopicCompression {
    /// Keep the producer's codec (the default).
    #[default]
    Producer,
    /// Store uncompressed.
    Uncompressed,
    /// gzip.
    Gzip,
    /// snappy.
    Snappy,
    /// lz4.
    Lz4,
    /// zstd.
    Zstd,
}

impl TopicCompression {
    /// The codec batches are stored with, given the producer's.
    pub fn target(self, producer: CompressionType) -> CompressionType {
        match self {
            TopicCompression::Producer => producer,
            TopicCompression::Uncompressed => CompressionType::None,
            TopicCompression::Gzip => CompressionType::Gzip,
            TopicCompression::Snappy => CompressionType::Snappy,
            TopicCompression::Lz4 => CompressionType::Lz4,
            TopicCompression::Zstd => CompressionType::Zstd,
        }
    }
}

fn default_transaction_max_timeout_ms() -> i32 {
    super::txn_coordinator::TRANSACTION_MAX_TIMEOUT_MS
}

fn default_max_message_bytes() -> u32 {
    1_048_588
}
fn default_true() -> bool {
    true
}

/// The cluster: brokers, the topic's partitions and replication, broker timings.
///
/// Kafka keys keep their dotted names (quoted in TOML); simulator-only keys use snake_case.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// Number of brokers.
    #[serde(default = "default_brokers")]
    pub brokers: u32,
    /// Partitions of the one topic.
    #[serde(default = "default_partitions")]
    pub partitions: u32,
    /// Replicas per partition.
    #[serde(default = "default_replication_factor")]
    pub replication_factor: u32,
    /// `min.insync.replicas` (Kafka default 1; the simulator's default cluster uses 2).
    #[serde(rename = "min.insync.replicas", default = "default_min_isr")]
    pub min_insync_replicas: u32,
    /// `unclean.leader.election.enable` (default false).
    #[serde(rename = "unclean.leader.election.enable", default)]
    pub unclean_leader_election_enable: bool,
    /// `replica.lag.time.max.ms` (default 30000).
    #[serde(rename = "replica.lag.time.max.ms", default = "default_lag_ms")]
    pub replica_lag_time_max_ms: f64,
    /// `replica.fetch.wait.max.ms` (default 500): how long a leader parks an empty follower fetch.
    #[serde(
        rename = "replica.fetch.wait.max.ms",
        default = "default_fetch_wait_ms"
    )]
    pub replica_fetch_wait_max_ms: f64,
    /// `replica.fetch.backoff.ms` (default 1000): a follower's pause after a failed fetch.
    #[serde(
        rename = "replica.fetch.backoff.ms",
        default = "default_fetch_backoff_ms"
    )]
    pub replica_fetch_backoff_ms: f64,
    /// `replica.socket.timeout.ms` (default 30000): a follower gives up on a fetch after this.
    #[serde(
        rename = "replica.socket.timeout.ms",
        default = "default_socket_timeout_ms"
    )]
    pub replica_socket_timeout_ms: f64,
    /// `max.message.bytes` (default 1048588): larger batches get MESSAGE_TOO_LARGE.
    #[serde(rename = "max.message.bytes", default = "default_max_message_bytes")]
    pub max_message_bytes: u32,
    /// `transaction.max.timeout.ms` (default 900000): the longest `transaction.timeout.ms` a
    /// producer may ask for (InitProducerId answers INVALID_TRANSACTION_TIMEOUT above it).
    #[serde(
        rename = "transaction.max.timeout.ms",
        default = "default_transaction_max_timeout_ms"
    )]
    pub transaction_max_timeout_ms: i32,
    /// The topic's `compression.type` (default `producer`): a codec other than the
    /// producer's makes the leader recompress every batch (`LogValidator`).
    #[serde(rename = "compression.type", default)]
    pub compression_type: TopicCompression,
    /// Broker CPU per appended batch, ns.
    #[serde(default = "default_append_batch_ns")]
    pub append_cost_per_batch_ns: u64,
    /// Broker CPU per appended byte, ns (fractions allowed).
    #[serde(default = "default_append_byte_ns")]
    pub append_cost_per_byte_ns: f64,
    /// `num.io.threads` (default 8, `ServerConfigs.NUM_IO_THREADS_DEFAULT`): request handler
    /// threads per broker, sharing one request queue.
    #[serde(rename = "num.io.threads", default = "default_io_threads")]
    pub num_io_threads: u32,
    /// `queued.max.requests` (default 500, `SocketServerConfigs.QUEUED_MAX_REQUESTS_DEFAULT`):
    /// requests the queue holds before the network threads stop reading.
    #[serde(
        rename = "queued.max.requests",
        default = "default_queued_max_requests"
    )]
    pub queued_max_requests: u32,
    /// Handler thread time the leader spends on one follower fetch request, ns (default 0:
    /// fetch handling takes no CPU, only the appends do).
    #[serde(default)]
    pub fetch_cost_per_request_ns: u64,
    /// KRaft's `broker.session.timeout.ms` (default 9000): the controller fences a broker
    /// whose last heartbeat is this old, and elects new leaders where it led.
    #[serde(default = "default_session_timeout_ms")]
    pub broker_session_timeout_ms: f64,
    /// KRaft's `broker.heartbeat.interval.ms` (default 2000): how often a broker heartbeats
    /// to the controller; above 0 and below `broker_session_timeout_ms`.
    #[serde(default = "default_heartbeat_interval_ms")]
    pub broker_heartbeat_interval_ms: f64,
    /// How long a leadership change takes to reach the metadata that brokers serve to clients.
    #[serde(default = "default_metadata_delay_ms")]
    pub metadata_propagation_delay_ms: f64,
    /// Kafka 3.7+: the high watermark does not advance while |ISR| < min ISR. `false` gives the
    /// older behaviour, where acks=all can end in NOT_ENOUGH_REPLICAS_AFTER_APPEND.
    #[serde(default = "default_true")]
    pub hw_frozen_under_min_isr: bool,
    /// The KRaft feature `eligible.leader.replicas.version` (KIP-966): 1 keeps Eligible Leader
    /// Replicas, 0 does not. `None` takes the profile's default: 1 from Kafka 4.1 (new clusters
    /// bootstrap with it), 0 on 4.0; a 3.x profile cannot have it.
    #[serde(rename = "eligible.leader.replicas.version", default)]
    pub eligible_leader_replicas_version: Option<u8>,
    /// How long an AlterPartition takes from the leader to the controller and back: one
    /// broker-controller network round trip plus the controller's commit of the change to the
    /// metadata log. The controller applies the change halfway.
    #[serde(default = "default_alter_partition_round_trip_ms")]
    pub alter_partition_round_trip_ms: f64,
    /// Not a key: makes every follower fetch visit all its partitions, as a reference for the
    /// tests that check that visiting only the partitions with something to do decides the same.
    #[serde(skip)]
    #[doc(hidden)]
    pub full_fetch_requests: bool,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            brokers: default_brokers(),
            partitions: default_partitions(),
            replication_factor: default_replication_factor(),
            min_insync_replicas: default_min_isr(),
            unclean_leader_election_enable: false,
            replica_lag_time_max_ms: default_lag_ms(),
            replica_fetch_wait_max_ms: default_fetch_wait_ms(),
            replica_fetch_backoff_ms: default_fetch_backoff_ms(),
            replica_socket_timeout_ms: default_socket_timeout_ms(),
            max_message_bytes: default_max_message_bytes(),
            transaction_max_timeout_ms: default_transaction_max_timeout_ms(),
            compression_type: TopicCompression::Producer,
            append_cost_per_batch_ns: default_append_batch_ns(),
            append_cost_per_byte_ns: default_append_byte_ns(),
            num_io_threads: default_io_threads(),
            queued_max_requests: default_queued_max_requests(),
            fetch_cost_per_request_ns: 0,
            broker_session_timeout_ms: default_session_timeout_ms(),
            broker_heartbeat_interval_ms: default_heartbeat_interval_ms(),
            metadata_propagation_delay_ms: default_metadata_delay_ms(),
            hw_frozen_under_min_isr: true,
            eligible_leader_replicas_version: None,
            alter_partition_round_trip_ms: default_alter_partition_round_trip_ms(),
            full_fetch_requests: false,
        }
    }
}

/// The default AlterPartition round trip, ms: a broker-controller round trip in one data
/// centre (well under a millisecond) plus the controller quorum's commit of the record (a
/// write replicated to a majority of controllers, about a millisecond).
fn default_alter_partition_round_trip_ms() -> f64 {
    2.0
}

/// The longest AlterPartition round trip, ms: the broker's `controller.socket.timeout.ms`
/// default (30 s), after which Kafka would have timed the request out and retried it.
pub const ALTER_PARTITION_ROUND_TRIP_MS_MAX: f64 = 30_000.0;

/// [`ClusterConfig`] checked and converted to integer nanoseconds.
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterParams {
    /// Number of brokers.
    pub broker_count: u32,
    /// Number of partitions.
    pub partition_count: u32,
    /// Replicas per partition.
    pub replication_factor: u32,
    /// `min(min.insync.replicas, replication factor)`.
    pub effective_min_isr: u32,
    /// Unclean election allowed.
    pub unclean_election: bool,
    /// `replica.lag.time.max.ms`.
    pub replica_lag_time_max: Duration,
    /// `replica.fetch.wait.max.ms`.
    pub replica_fetch_wait_max: Duration,
    /// `replica.fetch.backoff.ms`.
    pub replica_fetch_backoff: Duration,
    /// `replica.socket.timeout.ms`.
    pub replica_socket_timeout: Duration,
    /// `max.message.bytes`.
    pub max_message_bytes: u32,
    /// `transaction.max.timeout.ms`.
    pub transaction_max_timeout_ms: i32,
    /// The leader's codec work per uncompressed byte of a produced batch, picoseconds
    /// (`LogValidator`: decompression to validate, recompression when the topic's codec is not
    /// the producer's); 0 when neither compresses. Set by the world from the codecs' speeds.
    pub codec_validation_ps_per_byte: u64,
    /// Every follower fetch visits all its partitions (see `ClusterConfig::full_fetch_requests`).
    pub full_fetch_requests: bool,
    /// Append cost per batch.
    pub append_cost_per_batch: Duration,
    /// Append cost per 1024 bytes, ns (kept as per-KiB to stay integer).
    pub append_cost_per_kib_ns: u64,
    /// `num.io.threads` (≥ 1).
    pub num_io_threads: u32,
    /// `queued.max.requests` (≥ 1).
    pub queued_max_requests: u32,
    /// Leader handler time per follower fetch request.
    pub fetch_cost_per_request: Duration,
    /// `broker.session.timeout.ms`.
    pub broker_session_timeout: Duration,
    /// `broker.heartbeat.interval.ms` (> 0, below the session timeout).
    pub broker_heartbeat_interval: Duration,
    /// Metadata propagation delay.
    pub metadata_propagation_delay: Duration,
    /// HW frozen under min ISR (3.7+).
    pub hw_frozen_under_min_isr: bool,
    /// Eligible Leader Replicas kept and used in elections (KIP-966).
    pub eligible_leader_replicas: bool,
    /// AlterPartition round trip (the controller applies the change at half of it).
    pub alter_partition_round_trip: Duration,
}

impl ClusterConfig {
    /// Checks every key for the version profile `profile`; the error names the first bad one.
    pub fn validate(&self, profile: KafkaVersion) -> Result<(), ConfigError> {
        self.params(profile).map(|_| ())
    }

    /// Validates and converts to [`ClusterParams`], with the broker defaults of `profile`.
    pub fn params(&self, profile: KafkaVersion) -> Result<ClusterParams, ConfigError> {
        self.check_counts()?;
        let lag = ms_to_duration(
            "cluster.\"replica.lag.time.max.ms\"",
            self.replica_lag_time_max_ms,
        )?;
        if lag < Duration::from_millis(1) {
            return Err(ConfigError::invalid(
                "cluster.\"replica.lag.time.max.ms\"",
                "must be at least 1 ms",
            ));
        }
        let byte_cost = self.append_cost_per_byte_ns;
        if !byte_cost.is_finite() || !(0.0..=APPEND_COST_PER_BYTE_NS_MAX).contains(&byte_cost) {
            return Err(ConfigError::invalid(
                "cluster.append_cost_per_byte_ns",
                format!(
                    "{}: allowed 0 ..= 1000000 ns (1 ms per byte)",
                    show_number(byte_cost)
                ),
            ));
        }
        let socket_timeout = ms_to_duration(
            "cluster.\"replica.socket.timeout.ms\"",
            self.replica_socket_timeout_ms,
        )?;
        if socket_timeout == Duration::ZERO {
            return Err(ConfigError::invalid(
                "cluster.\"replica.socket.timeout.ms\"",
                "must be > 0",
            ));
        }
        let (session_timeout, heartbeat_interval) = self.heartbeat_timings()?;
        let eligible_leader_replicas = self.eligible_leader_replicas(profile)?;
        let alter_partition_round_trip = self.alter_partition_round_trip()?;
        Ok(ClusterParams {
            broker_count: self.brokers,
            partition_count: self.partitions,
            replication_factor: self.replication_factor,
            effective_min_isr: self.min_insync_replicas.min(self.replication_factor),
            unclean_election: self.unclean_leader_election_enable,
            replica_lag_time_max: lag,
            replica_fetch_wait_max: ms_to_duration(
                "cluster.\"replica.fetch.wait.max.ms\"",
                self.replica_fetch_wait_max_ms,
            )?,
            replica_fetch_backoff: ms_to_duration(
                "cluster.\"replica.fetch.backoff.ms\"",
                self.replica_fetch_backoff_ms,
            )?,
            replica_socket_timeout: socket_timeout,
            max_message_bytes: self.max_message_bytes,
            transaction_max_timeout_ms: self.transaction_max_timeout_ms,
            codec_validation_ps_per_byte: 0,
            full_fetch_requests: self.full_fetch_requests,
            append_cost_per_batch: Duration::from_nanos(self.append_cost_per_batch_ns),
            append_cost_per_kib_ns: (byte_cost * 1024.0).round() as u64,
            num_io_threads: self.num_io_threads,
            queued_max_requests: self.queued_max_requests,
            fetch_cost_per_request: Duration::from_nanos(self.fetch_cost_per_request_ns),
            broker_session_timeout: session_timeout,
            broker_heartbeat_interval: heartbeat_interval,
            metadata_propagation_delay: ms_to_duration(
                "cluster.metadata_propagation_delay_ms",
                self.metadata_propagation_delay_ms,
            )?,
            hw_frozen_under_min_isr: self.hw_frozen_under_min_isr,
            eligible_leader_replicas,
            alter_partition_round_trip,
        })
    }

    /// Whether Eligible Leader Replicas are on: the key if set, else the profile's default.
    /// `EligibleLeaderReplicasVersion.ELRV_1` needs metadata version 4.0-IV1, so no 3.x
    /// release has it; it bootstraps new clusters from metadata version 4.1-IV0, so a 4.1 (or
    /// later) cluster has it unless turned off and a 4.0 cluster only when turned on (Kafka's
    /// operations docs, "Eligible Leader Replicas": not enabled by default for 4.0, enabled by
    /// default on new clusters from 4.1). It relies on the high watermark staying put under min
    /// ISR (every 4.x broker does so: `Partition.maybeIncrementLeaderHW` checks `isUnderMinIsr`).
    fn eligible_leader_replicas(&self, profile: KafkaVersion) -> Result<bool, ConfigError> {
        let key = "cluster.\"eligible.leader.replicas.version\"";
        let on = match self.eligible_leader_replicas_version {
            None => profile.at_least(4, 1),
            Some(0) => false,
            Some(1) => true,
            Some(other) => {
                return Err(ConfigError::invalid(
                    key,
                    format!("{other}: allowed 0 (off) or 1 (on, Kafka 4.0 and later)"),
                ));
            }
        };
        if on && !profile.at_least(4, 0) {
            return Err(ConfigError::invalid(
                key,
                format!(
                    "1: Kafka {profile} has no Eligible Leader Replicas (the feature needs 4.0 \
                     or later; the profile is producer.\"linger.kafka.version\"): allowed 0 \
                     for this profile"
                ),
            ));
        }
        if on && !self.hw_frozen_under_min_isr {
            return Err(ConfigError::invalid(
                "cluster.hw_frozen_under_min_isr",
                "false: Eligible Leader Replicas are safe only while the high watermark stays \
                 put under min.insync.replicas, as every Kafka 4.x broker does; allowed true, \
                 or set cluster.\"eligible.leader.replicas.version\" = 0",
            ));
        }
        Ok(on)
    }

    /// The AlterPartition round trip, 0 ..= 30 s.
    fn alter_partition_round_trip(&self) -> Result<Duration, ConfigError> {
        let key = "cluster.alter_partition_round_trip_ms";
        let ms = self.alter_partition_round_trip_ms;
        if !ms.is_finite() || !(0.0..=ALTER_PARTITION_ROUND_TRIP_MS_MAX).contains(&ms) {
            return Err(ConfigError::invalid(
                key,
                format!(
                    "{}: allowed 0 ..= 30000 ms (Kafka's controller.socket.timeout.ms; a slower \
                     answer would be a timeout and a retry)",
                    show_number(ms)
                ),
            ));
        }
        ms_to_duration(key, ms)
    }

    /// The broker session timeout and heartbeat interval: the interval above 0 and below the
    /// timeout (as KRaft needs: a broker heartbeating less often than its session lasts would
    /// be fenced between two heartbeats).
    fn heartbeat_timings(&self) -> Result<(Duration, Duration), ConfigError> {
        let session_key = "cluster.broker_session_timeout_ms";
        let interval_key = "cluster.broker_heartbeat_interval_ms";
        let session = ms_to_duration(session_key, self.broker_session_timeout_ms)?;
        let interval = ms_to_duration(interval_key, self.broker_heartbeat_interval_ms)?;
        if session == Duration::ZERO {
            return Err(ConfigError::invalid(
                session_key,
                format!(
                    "{}: allowed above 0 and above broker_heartbeat_interval_ms, up to 10000000000 ms",
                    show_number(self.broker_session_timeout_ms)
                ),
            ));
        }
        if interval == Duration::ZERO || interval >= session {
            return Err(ConfigError::invalid(
                interval_key,
                format!(
                    "{}: allowed above 0 and below broker_session_timeout_ms ({})",
                    show_number(self.broker_heartbeat_interval_ms),
                    show_number(self.broker_session_timeout_ms)
                ),
            ));
        }
        Ok((session, interval))
    }

    fn check_counts(&self) -> Result<(), ConfigError> {
        if self.brokers == 0 || self.brokers > BROKERS_MAX {
            return Err(ConfigError::invalid(
                "cluster.brokers",
                format!(
                    "{}: allowed a whole number from 1 to {BROKERS_MAX}",
                    self.brokers
                ),
            ));
        }
        if self.partitions == 0 || self.partitions > PARTITIONS_MAX {
            return Err(ConfigError::invalid(
                "cluster.partitions",
                format!(
                    "{}: allowed a whole number from 1 to {PARTITIONS_MAX}",
                    self.partitions
                ),
            ));
        }
        if self.replication_factor == 0 || self.replication_factor > self.brokers {
            return Err(ConfigError::invalid(
                "cluster.replication_factor",
                format!(
                    "{}: allowed 1 ..= brokers ({})",
                    self.replication_factor, self.brokers
                ),
            ));
        }
        if self.min_insync_replicas == 0 || self.min_insync_replicas > self.replication_factor {
            return Err(ConfigError::invalid(
                "cluster.\"min.insync.replicas\"",
                format!(
                    "{}: allowed 1 ..= replication_factor ({})",
                    self.min_insync_replicas, self.replication_factor
                ),
            ));
        }
        let replicas = u64::from(self.partitions) * u64::from(self.replication_factor);
        if replicas > REPLICAS_MAX {
            return Err(ConfigError::invalid(
                "cluster.partitions",
                format!(
                    "{} partitions x replication_factor {} = {replicas} replicas: allowed at \
                     most {REPLICAS_MAX} in one cluster",
                    self.partitions, self.replication_factor
                ),
            ));
        }
        if self.max_message_bytes == 0 || self.max_message_bytes > i32::MAX as u32 {
            return Err(ConfigError::invalid(
                "cluster.\"max.message.bytes\"",
                format!(
                    "{}: allowed 1 ..= 2147483647 (an INT, as in Kafka)",
                    self.max_message_bytes
                ),
            ));
        }
        if self.transaction_max_timeout_ms < 1 {
            return Err(ConfigError::invalid(
                "cluster.\"transaction.max.timeout.ms\"",
                format!(
                    "{}: allowed 1 ..= 2147483647 (an INT, at least 1, as in Kafka)",
                    self.transaction_max_timeout_ms
                ),
            ));
        }
        if self.append_cost_per_batch_ns > APPEND_COST_PER_BATCH_NS_MAX {
            return Err(ConfigError::invalid(
                "cluster.append_cost_per_batch_ns",
                format!(
                    "{}: allowed 0 ..= {APPEND_COST_PER_BATCH_NS_MAX} ns (1000 s per batch)",
                    self.append_cost_per_batch_ns
                ),
            ));
        }
        self.check_handlers()
    }

    /// The handler pool's keys: at least one thread and room for one queued request, as
    /// Kafka's `atLeast(1)` has it, and a fetch cost in the same range as the append cost.
    fn check_handlers(&self) -> Result<(), ConfigError> {
        if self.num_io_threads == 0 || self.num_io_threads > IO_THREADS_MAX {
            return Err(ConfigError::invalid(
                "cluster.\"num.io.threads\"",
                format!(
                    "{}: allowed a whole number of threads from 1 to {IO_THREADS_MAX} (Kafka: at \
                     least 1, default 8)",
                    self.num_io_threads
                ),
            ));
        }
        if self.queued_max_requests == 0 || self.queued_max_requests > i32::MAX as u32 {
            return Err(ConfigError::invalid(
                "cluster.\"queued.max.requests\"",
                format!(
                    "{}: allowed a whole number of requests from 1 to 2147483647 (Kafka: at \
                     least 1, default 500)",
                    self.queued_max_requests
                ),
            ));
        }
        if self.fetch_cost_per_request_ns > APPEND_COST_PER_BATCH_NS_MAX {
            return Err(ConfigError::invalid(
                "cluster.fetch_cost_per_request_ns",
                format!(
                    "{}: allowed 0 ..= {APPEND_COST_PER_BATCH_NS_MAX} ns (1000 s per fetch)",
                    self.fetch_cost_per_request_ns
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(config: &ClusterConfig) -> String {
        config
            .validate(KafkaVersion::default())
            .expect_err("out of range")
            .to_string()
    }

    #[test]
    fn counts_costs_and_distributions_are_range_checked() {
        let base = ClusterConfig::default();
        let text = problem(&ClusterConfig {
            brokers: BROKERS_MAX + 1,
            ..base.clone()
        });
        assert!(text.starts_with("cluster.brokers: 101: allowed a whole number from 1 to 100"));
        let text = problem(&ClusterConfig {
            brokers: 20,
            partitions: 100_000,
            replication_factor: 20,
            ..base.clone()
        });
        assert!(text.starts_with("cluster.partitions:"), "{text}");
        let text = problem(&ClusterConfig {
            append_cost_per_byte_ns: 1e17,
            ..base.clone()
        });
        assert!(text.contains("1e17: allowed 0 ..= 1000000 ns"), "{text}");
        let text = problem(&ClusterConfig {
            append_cost_per_batch_ns: APPEND_COST_PER_BATCH_NS_MAX + 1,
            ..base.clone()
        });
        assert!(
            text.starts_with("cluster.append_cost_per_batch_ns"),
            "{text}"
        );
        let text = problem(&ClusterConfig {
            max_message_bytes: u32::MAX,
            ..base
        });
        assert!(text.contains("2147483647"), "{text}");
        let wide = DistConfig::Lognormal {
            median_ms: 100.0,
            sigma: 10.0,
        };
        let text = wide
            .to_dist("faults.random.link_flap_duration")
            .expect_err("sigma")
            .to_string();
        assert_eq!(
            text,
            "faults.random.link_flap_duration.sigma: 10: allowed 0 ..= 5"
        );
        let long = DistConfig::Exponential { mean_ms: 1e13 };
        assert!(long.to_dist("network.latency").is_err());
        assert!(
            DistConfig::Exponential { mean_ms: 1e10 }
                .to_dist("x")
                .is_ok()
        );
        assert_eq!(show_number(1e300), "1e300");
        assert_eq!(show_number(0.5), "0.5");
    }

    #[test]
    fn eligible_leader_replicas_default_by_profile_and_the_key_overrides_within_4x() {
        let base = ClusterConfig::default();
        let on = |config: &ClusterConfig, text: &str| {
            let profile = KafkaVersion::parse(text).expect("a profile");
            config.params(profile).map(|p| p.eligible_leader_replicas)
        };
        assert_eq!(on(&base, "4.0"), Ok(false));
        assert_eq!(on(&base, "4.1"), Ok(true));
        assert_eq!(on(&base, "4.2"), Ok(true));
        assert_eq!(on(&base, "3.9"), Ok(false));
        let set = |version| ClusterConfig {
            eligible_leader_replicas_version: Some(version),
            ..base.clone()
        };
        assert_eq!(on(&set(1), "4.0"), Ok(true));
        assert_eq!(on(&set(0), "4.1"), Ok(false));
        assert_eq!(on(&set(0), "3.0"), Ok(false));
        let text = on(&set(1), "3.9")
            .expect_err("no ELR before 4.0")
            .to_string();
        assert!(
            text.starts_with(
                "cluster.\"eligible.leader.replicas.version\": 1: Kafka 3.9 has no Eligible"
            ),
            "{text}"
        );
        let text = on(&set(2), "4.1").expect_err("0 or 1").to_string();
        assert!(text.contains("2: allowed 0 (off) or 1"), "{text}");
        let thawed = ClusterConfig {
            hw_frozen_under_min_isr: false,
            ..base.clone()
        };
        assert_eq!(on(&thawed, "4.0"), Ok(false));
        let text = on(&thawed, "4.1")
            .expect_err("ELR needs the frozen HW")
            .to_string();
        assert!(
            text.starts_with("cluster.hw_frozen_under_min_isr: false"),
            "{text}"
        );
    }

    #[test]
    fn alter_partition_round_trip_is_zero_to_thirty_seconds() {
        let base = ClusterConfig::default();
        let params = base.params(KafkaVersion::default()).expect("valid");
        assert_eq!(params.alter_partition_round_trip, Duration::from_millis(2));
        for ms in [-1.0, 30_000.5, f64::NAN, f64::INFINITY] {
            let text = problem(&ClusterConfig {
                alter_partition_round_trip_ms: ms,
                ..base.clone()
            });
            assert!(
                text.starts_with("cluster.alter_partition_round_trip_ms: ")
                    && text.contains("allowed 0 ..= 30000 ms"),
                "{text}"
            );
        }
        let zero = ClusterConfig {
            alter_partition_round_trip_ms: 0.0,
            ..base
        };
        assert!(zero.validate(KafkaVersion::default()).is_ok());
    }

    #[test]
    fn the_handler_pool_needs_a_thread_and_room_for_a_request() {
        let base = ClusterConfig::default();
        let params = base
            .params(KafkaVersion::default())
            .expect("defaults are valid");
        assert_eq!(
            (params.num_io_threads, params.queued_max_requests),
            (8, 500)
        );
        assert_eq!(params.fetch_cost_per_request, Duration::ZERO);
        let text = problem(&ClusterConfig {
            num_io_threads: 0,
            ..base.clone()
        });
        assert!(
            text.starts_with("cluster.\"num.io.threads\": 0: allowed"),
            "{text}"
        );
        let text = problem(&ClusterConfig {
            queued_max_requests: 0,
            ..base.clone()
        });
        assert!(
            text.starts_with("cluster.\"queued.max.requests\": 0: allowed"),
            "{text}"
        );
        let text = problem(&ClusterConfig {
            fetch_cost_per_request_ns: APPEND_COST_PER_BATCH_NS_MAX + 1,
            ..base
        });
        assert!(
            text.starts_with("cluster.fetch_cost_per_request_ns"),
            "{text}"
        );
    }

    #[test]
    fn heartbeat_interval_is_above_zero_and_below_the_session_timeout() {
        let base = ClusterConfig::default();
        let params = base
            .params(KafkaVersion::default())
            .expect("defaults are valid");
        assert_eq!(params.broker_session_timeout, Duration::from_millis(9_000));
        assert_eq!(
            params.broker_heartbeat_interval,
            Duration::from_millis(2_000)
        );
        for interval in [0.0, 9_000.0, 12_000.0] {
            let text = problem(&ClusterConfig {
                broker_heartbeat_interval_ms: interval,
                ..base.clone()
            });
            assert!(
                text.starts_with(&format!(
                    "cluster.broker_heartbeat_interval_ms: {interval}: allowed above 0 and \
                     below broker_session_timeout_ms (9000)"
                )),
                "{text}"
            );
        }
        let text = problem(&ClusterConfig {
            broker_session_timeout_ms: 0.0,
            ..base.clone()
        });
        assert!(
            text.starts_with("cluster.broker_session_timeout_ms: 0: allowed above 0"),
            "{text}"
        );
        let text = problem(&ClusterConfig {
            broker_session_timeout_ms: -1.0,
            ..base.clone()
        });
        assert!(
            text.starts_with("cluster.broker_session_timeout_ms: -1 is not a duration"),
            "{text}"
        );
        let fast = ClusterConfig {
            broker_session_timeout_ms: 1.0,
            broker_heartbeat_interval_ms: 0.2,
            ..base
        };
        assert!(
            fast.validate(KafkaVersion::default()).is_ok(),
            "sub-millisecond heartbeats are allowed"
        );
    }
}
