//! The typed producer configuration: one field per Kafka producer key linger models, with the
//! defaults of the selected Kafka version.
//!
//! Field names mirror Kafka's keys (`linger.ms` -> `linger_ms`). Each field keeps the unit and
//! range of Kafka's Java type (`ProducerConfig.java`, `CommonClientConfigs.java`): durations are
//! milliseconds, sizes are bytes. A field is unsigned when Kafka's validator forbids negative
//! values, and it never holds a value outside the range of Kafka's `INT` or `LONG` type; the
//! caller converts milliseconds to simulated nanoseconds.

use std::fmt;

/// `acks`: how many replicas must have a record before the leader answers the produce request.
///
/// Kafka stores `all` as `-1` (`ProducerConfig.parseAcks`); linger keeps the three legal
/// values as variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Acks {
    /// `acks=0`: the producer does not wait for any answer.
    Zero,
    /// `acks=1`: the leader answers once it has appended the batch to its own log.
    One,
    /// `acks=all` (or `-1`): the leader answers once every in-sync replica has the batch.
    All,
}

impl Acks {
    /// The value Kafka puts on the wire and in its parsed config (`all` is `-1`).
    pub fn as_i16(self) -> i16 {
        match self {
            Acks::Zero => 0,
            Acks::One => 1,
            Acks::All => -1,
        }
    }
}

impl fmt::Display for Acks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Acks::Zero => f.write_str("0"),
            Acks::One => f.write_str("1"),
            Acks::All => f.write_str("all"),
        }
    }
}

/// `compression.type`: the codec applied to whole batches (`CompressionType.java`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CompressionType {
    /// `none`: batches are sent uncompressed.
    None,
    /// `gzip`.
    Gzip,
    /// `snappy`.
    Snappy,
    /// `lz4`.
    Lz4,
    /// `zstd`.
    Zstd,
}

impl CompressionType {
    /// Kafka's name for the codec, as written in a config file.
    pub fn name(self) -> &'static str {
        match self {
            CompressionType::None => "none",
            CompressionType::Gzip => "gzip",
            CompressionType::Snappy => "snappy",
            CompressionType::Lz4 => "lz4",
            CompressionType::Zstd => "zstd",
        }
    }

    /// Every codec, in Kafka's enum order.
    pub const ALL: [CompressionType; 5] = [
        CompressionType::None,
        CompressionType::Gzip,
        CompressionType::Snappy,
        CompressionType::Lz4,
        CompressionType::Zstd,
    ];
}

impl fmt::Display for CompressionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `partitioner.class`: which partitioner chooses a partition for records without one.
///
/// linger cannot load Java classes, so only Kafka's own partitioners are accepted, by their
/// fully qualified class names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PartitionerClass {
    /// Not set (Kafka's `null` default): keyed records hash with murmur2, unkeyed records go
    /// through the built-in sticky partitioner (`BuiltInPartitioner.java`, KIP-794).
    BuiltIn,
    /// `org.apache.kafka.clients.producer.RoundRobinPartitioner`.
    RoundRobin,
    /// `org.apache.kafka.clients.producer.internals.DefaultPartitioner`: deprecated in 3.3,
    /// removed in 4.0 (KAFKA-18262), so only a 3.x profile accepts it.
    Default,
    /// `org.apache.kafka.clients.producer.UniformStickyPartitioner`: deprecated in 3.3,
    /// removed in 4.0 (KAFKA-18262), so only a 3.x profile accepts it.
    UniformSticky,
}

impl PartitionerClass {
    /// The fully qualified Java class name, or `null` for the built-in partitioner.
    pub fn class_name(self) -> &'static str {
        match self {
            PartitionerClass::BuiltIn => "null",
            PartitionerClass::RoundRobin => {
                "org.apache.kafka.clients.producer.RoundRobinPartitioner"
            }
            PartitionerClass::Default => {
                "org.apache.kafka.clients.producer.internals.DefaultPartitioner"
            }
            PartitionerClass::UniformSticky => {
                "org.apache.kafka.clients.producer.UniformStickyPartitioner"
            }
        }
    }
}

/// The Kafka client release whose defaults and validation rules linger follows: a profile.
///
/// Supported: 3.0 to 3.9 and 4.0 to 4.2, plus the two releases 3.0.0 and 3.1.0, whose
/// idempotence default did not take effect (KAFKA-13598). The default is 4.0. Select it with
/// the API argument of `ProducerConfig::from_entries` or with the linger-only key
/// `linger.kafka.version` (e.g. `"3.6"`), which is never passed on as a Kafka key.
///
/// Each profile follows the defaults of one patch release ([`KafkaVersion::defaults_release`]):
/// `"M.m"` is `M.m.0`, except `"3.0"` and `"3.1"`, which are 3.0.1 and 3.1.1 (the fixed
/// releases; later 3.0 and 3.1 patches changed no producer default or rule linger models).
/// A patch number in the text selects the same profile as its minor release, except `"3.0.0"`
/// and `"3.1.0"`, which select those releases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct KafkaVersion {
    /// The major release number (3 or 4).
    pub major: u8,
    /// The minor release number.
    pub minor: u8,
    /// The patch release whose defaults and rules the profile follows.
    pub patch: u8,
}

impl KafkaVersion {
    /// Kafka 4.0 (4.0.0 defaults): `linger.ms` defaults to 5 (KIP-1030); more than 5 in-flight
    /// requests with idempotence is always an error (KAFKA-17927).
    pub const V4_0: KafkaVersion = KafkaVersion::release(4, 0, 0);
    /// Kafka 3.9 (3.9.0 defaults), the last 3.x release: `linger.ms` defaults to 0.
    pub const V3_9: KafkaVersion = KafkaVersion::release(3, 9, 0);
    /// Kafka 3.7 (3.7.0 defaults): the first release with `retry.backoff.max.ms` (KIP-580).
    pub const V3_7: KafkaVersion = KafkaVersion::release(3, 7, 0);
    /// Kafka 3.6 (3.6.0 defaults): the retry backoff is still flat.
    pub const V3_6: KafkaVersion = KafkaVersion::release(3, 6, 0);
    /// Kafka 3.1 (3.1.1 defaults): idempotence on by default, as fixed by KAFKA-13598.
    pub const V3_1: KafkaVersion = KafkaVersion::release(3, 1, 1);
    /// Kafka 3.1.0: `enable.idempotence` defaults to true, but the producer enables idempotence
    /// only when the key is set explicitly (or `transactional.id` is set): KAFKA-13598.
    pub const V3_1_0: KafkaVersion = KafkaVersion::release(3, 1, 0);
    /// Kafka 3.0 (3.0.1 defaults): idempotence on by default, as fixed by KAFKA-13598.
    pub const V3_0: KafkaVersion = KafkaVersion::release(3, 0, 1);
    /// Kafka 3.0.0: as 3.1.0, idempotence only when `enable.idempotence` is set (KAFKA-13598).
    pub const V3_0_0: KafkaVersion = KafkaVersion::release(3, 0, 0);

    const fn release(major: u8, minor: u8, patch: u8) -> KafkaVersion {
        KafkaVersion {
            major,
            minor,
            patch,
        }
    }

    /// The highest minor release linger knows for each supported major release.
    const fn max_minor(major: u8) -> Option<u8> {
        match major {
            3 => Some(9),
            4 => Some(2),
            _ => None,
        }
    }

    /// Parses `"4.0"`, `"3.9"`, `"3.6.2"` (a patch number selects its minor release's
    /// profile), and `"3.0.0"`, `"3.1.0"` (those releases).
    /// Returns `None` for malformed or unsupported versions.
    pub fn parse(text: &str) -> Option<KafkaVersion> {
        let mut parts = text.trim().split('.');
        let major: u8 = parts.next()?.parse().ok()?;
        let minor: u8 = parts.next()?.parse().ok()?;
        let patch = match parts.next() {
            Some(patch) => Some(patch.parse::<u8>().ok()?),
            None => None,
        };
        if parts.next().is_some() || minor > Self::max_minor(major)? {
            return None;
        }
        Some(match (major, minor, patch) {
            (3, 0 | 1, Some(0)) => KafkaVersion::release(major, minor, 0),
            // The fixed 3.0 and 3.1 releases.
            (3, 0 | 1, _) => KafkaVersion::release(major, minor, 1),
            _ => KafkaVersion::release(major, minor, 0),
        })
    }

    /// A description of the versions [`KafkaVersion::parse`] accepts, for error messages.
    pub const SUPPORTED: &'static str = "3.0 to 3.9 or 4.0 to 4.2 (e.g. \"4.0\", \"3.9\", \"3.6\"), \
                                          or \"3.0.0\" or \"3.1.0\" for those releases";

    /// The patch release whose defaults the profile follows, e.g. `"4.0.0"`, `"3.0.1"`.
    pub fn defaults_release(self) -> String {
        format!("{}.{}.{}", self.major, self.minor, self.patch)
    }

    /// Whether this release is at least `major.minor`.
    pub fn at_least(self, major: u8, minor: u8) -> bool {
        self >= KafkaVersion::release(major, minor, 0)
    }

    /// 4.0+: more than 5 in-flight requests with idempotence enabled (even by default)
    /// throws; before 4.0 a default idempotence is silently disabled instead.
    pub fn in_flight_over_five_always_throws(self) -> bool {
        self.at_least(4, 0)
    }

    /// 3.7+ (KIP-580): the retry backoff grows exponentially up to `retry.backoff.max.ms`.
    pub fn has_exponential_retry_backoff(self) -> bool {
        self.at_least(3, 7)
    }

    /// KAFKA-13598, in 3.0.0 and 3.1.0: `ProducerConfig.idempotenceEnabled` is true only when
    /// the user set `enable.idempotence` to true, or set `transactional.id`; the default `true`
    /// does nothing. Fixed in 3.0.1, 3.1.1 and 3.2.0.
    pub fn idempotence_needs_explicit_setting(self) -> bool {
        self == KafkaVersion::V3_0_0 || self == KafkaVersion::V3_1_0
    }
}

impl Default for KafkaVersion {
    fn default() -> Self {
        KafkaVersion::V4_0
    }
}

impl fmt::Display for KafkaVersion {
    /// The text that selects this profile: `"4.0"`, or `"3.0.0"` for the KAFKA-13598 releases.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.idempotence_needs_explicit_setting() {
            write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
        } else {
            write!(f, "{}.{}", self.major, self.minor)
        }
    }
}

/// The producer configuration linger models, after Kafka's parsing, defaults and
/// post-processing (`ProducerConfig.postProcessParsedConfig`, `KafkaProducer.configureDeliveryTimeout`).
///
/// Values are effective: `enable_idempotence` is already `false` when Kafka would have
/// disabled it, `delivery_timeout_ms` is already raised when Kafka would have raised it,
/// `retry_backoff_max_ms` equals `retry_backoff_ms` on releases with a flat backoff. Use
/// `ProducerConfig::from_entries` to build one from user input; [`ProducerConfig::defaults`]
/// gives the defaults of a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerConfig {
    /// The Kafka release whose rules produced this config.
    pub kafka_version: KafkaVersion,
    /// `acks`. Default `all`.
    pub acks: Acks,
    /// `enable.idempotence`, effective (after silent disabling). Default `true` (in effect
    /// `false` on 3.0.0 and 3.1.0 unless set explicitly, KAFKA-13598).
    pub enable_idempotence: bool,
    /// `retries`: 0..=2147483647. Default 2147483647; `delivery.timeout.ms` is what really
    /// bounds retrying.
    pub retries: u32,
    /// `delivery.timeout.ms`: upper bound from batch creation to the final outcome of a send.
    /// Default 120000, raised to `linger.ms + request.timeout.ms` when that is larger and the
    /// user did not set it.
    pub delivery_timeout_ms: u32,
    /// `request.timeout.ms`: how long the client waits for a produce response; also sent to
    /// the broker as the request's timeout. Default 30000.
    pub request_timeout_ms: u32,
    /// `linger.ms`: how long a non-full batch waits for more records. Default 5 on 4.x, 0 on 3.x.
    pub linger_ms: u64,
    /// `batch.size`: the target batch size in bytes. Default 16384; 0 behaves like 1 (one
    /// record per batch).
    pub batch_size: u32,
    /// `buffer.memory`: total bytes the accumulator may hold. Default 33554432.
    pub buffer_memory: u64,
    /// `max.block.ms`: how long `send()` may block on metadata plus buffer space. Default 60000.
    pub max_block_ms: u64,
    /// `max.request.size`: largest record (upper-bound estimate) and per-node drain cap in
    /// bytes. Default 1048576.
    pub max_request_size: u32,
    /// `max.in.flight.requests.per.connection`: at least 1; 1 switches on partition muting.
    /// Default 5.
    pub max_in_flight_requests_per_connection: u32,
    /// `retry.backoff.ms`: the first retry backoff. Default 100.
    pub retry_backoff_ms: u64,
    /// `retry.backoff.max.ms`: the cap of the exponential retry backoff. Default 1000. Equal to
    /// `retry_backoff_ms` before 3.7 (flat backoff). When `retry_backoff_ms` is larger, Kafka
    /// applies a flat backoff of this value.
    pub retry_backoff_max_ms: u64,
    /// `reconnect.backoff.ms`: the first reconnect backoff. Default 50.
    pub reconnect_backoff_ms: u64,
    /// `reconnect.backoff.max.ms`: the cap of the reconnect backoff. Default 1000; when only
    /// `reconnect.backoff.ms` is set, it takes that value (flat backoff, as Kafka does).
    pub reconnect_backoff_max_ms: u64,
    /// `socket.connection.setup.timeout.ms` (2.7+): how long a TCP connect may take before
    /// the client closes it. Default 10000.
    pub socket_connection_setup_timeout_ms: u64,
    /// `socket.connection.setup.timeout.max.ms` (2.7+): the cap the setup timeout grows to
    /// over consecutive failed connects. Default 30000 (127000 in 2.7 only).
    pub socket_connection_setup_timeout_max_ms: u64,
    /// `compression.type`. Default `none`.
    pub compression_type: CompressionType,
    /// `compression.gzip.level` (3.8+): -1 (the Deflater default) or 1..=9. Default -1.
    pub compression_gzip_level: i32,
    /// `compression.lz4.level` (3.8+): 1..=17. Default 9.
    pub compression_lz4_level: i32,
    /// `compression.zstd.level` (3.8+): -131072..=22. Default 3.
    pub compression_zstd_level: i32,
    /// `partitioner.class`. Default: not set (the built-in partitioner) from 3.3;
    /// `DefaultPartitioner` before 3.3.
    pub partitioner_class: PartitionerClass,
    /// `partitioner.adaptive.partitioning.enable` (3.3+). Default `true`.
    pub partitioner_adaptive_partitioning_enable: bool,
    /// `partitioner.availability.timeout.ms` (3.3+): 0 turns the check off. Default 0.
    pub partitioner_availability_timeout_ms: u64,
    /// `partitioner.ignore.keys` (3.3+). Default `false`.
    pub partitioner_ignore_keys: bool,
    /// `metadata.max.age.ms`: forced metadata refresh period. Default 300000.
    pub metadata_max_age_ms: u64,
    /// `metadata.max.idle.ms`: at least 5000. Default 300000.
    pub metadata_max_idle_ms: u64,
    /// `transaction.timeout.ms`. Default 60000. Kafka has no validator here (the broker
    /// checks it), so negative values pass.
    pub transaction_timeout_ms: i32,
    /// `transactional.id`: non-empty when set. Default not set. Requires idempotence.
    pub transactional_id: Option<String>,
    /// `send.buffer.bytes`: at least -1 (-1 means the OS default). Default 131072.
    pub send_buffer_bytes: i32,
    /// `receive.buffer.bytes`: at least -1 (-1 means the OS default). Default 32768.
    pub receive_buffer_bytes: i32,
    /// `connections.max.idle.ms`. Default 540000. No validator in Kafka.
    pub connections_max_idle_ms: i64,
    /// `metrics.sample.window.ms`: the window of every rate metric. Default 30000.
    pub metrics_sample_window_ms: u64,
    /// `metrics.num.samples`: at least 1. Default 2.
    pub metrics_num_samples: u32,
    /// `enable.metrics.push` (3.7+, KIP-714). Default `true`; `false` before 3.7.
    pub enable_metrics_push: bool,
}

/// The longest duration, in ms, that a Kafka `LONG` millisecond key carries into a simulation:
/// 10^12 ms (about 31.7 years), or 10^18 ns.
///
/// Kafka accepts any `LONG` >= 0 for `max.block.ms`, `retry.backoff.ms`,
/// `retry.backoff.max.ms`, `reconnect.backoff.ms`, `reconnect.backoff.max.ms`,
/// `metadata.max.age.ms` and `partitioner.availability.timeout.ms` (`ConfigDef.Range.atLeast(0)`
/// in `ProducerConfig.CONFIG` / `CommonClientConfigs`), up to `Long.MAX_VALUE` ms, which is far
/// beyond `u64` nanoseconds. No simulated run lasts this long (the models refuse run phases
/// above 10^7 s each), so a duration clamped here still ends after the run does: the clamp
/// never changes a result, and `now + duration` cannot overflow (10^18 ns plus a run of at
/// most about 3 * 10^16 ns stays well under `u64::MAX`, about 1.8 * 10^19). The effective
/// listing shows the value as written, as Kafka's `ProducerConfig` does.
pub const MODELLED_DURATION_MS_MAX: u64 = 1_000_000_000_000;

/// Converts a Kafka millisecond value to simulated nanoseconds, clamped to
/// [`MODELLED_DURATION_MS_MAX`] first. `INT` keys (`delivery.timeout.ms`, `request.timeout.ms`)
/// and the clamped `linger.ms` are below the cap and convert exactly.
pub fn modelled_ns(ms: u64) -> u64 {
    ms.min(MODELLED_DURATION_MS_MAX) * 1_000_000
}

impl ProducerConfig {
    /// The `linger.ms` the accumulator uses: Kafka's `ConfigDef` takes a `LONG`, but
    /// `KafkaProducer.lingerMs` (called from the `KafkaProducer` constructor for the
    /// `RecordAccumulator` and from `configureDeliveryTimeout`) clamps it with
    /// `(int) Math.min(config.getLong(LINGER_MS_CONFIG), Integer.MAX_VALUE)`.
    pub fn linger_ms_effective(&self) -> u32 {
        u32::try_from(self.linger_ms.min(i32::MAX as u64)).expect("clamped to Integer.MAX_VALUE")
    }

    /// `linger.ms` as the accumulator uses it, in nanoseconds ([`Self::linger_ms_effective`]).
    pub fn linger_ns(&self) -> u64 {
        u64::from(self.linger_ms_effective()) * 1_000_000
    }
}

impl ProducerConfig {
    /// The defaults of `version`, before any user input (`ProducerConfig.java` `CONFIG`).
    ///
    /// 4.x: `linger.ms` 5. 3.x: `linger.ms` 0; before 3.7 the retry backoff is flat, so
    /// `retry_backoff_max_ms` equals `retry_backoff_ms`, and there is no metrics push.
    pub fn defaults(version: KafkaVersion) -> ProducerConfig {
        let retry_backoff_ms = 100;
        ProducerConfig {
            kafka_version: version,
            acks: Acks::All,
            enable_idempotence: true,
            retries: i32::MAX as u32,
            delivery_timeout_ms: 120_000,
            request_timeout_ms: 30_000,
            linger_ms: if version.at_least(4, 0) { 5 } else { 0 },
            batch_size: 16_384,
            buffer_memory: 32 * 1024 * 1024,
            max_block_ms: 60_000,
            max_request_size: 1024 * 1024,
            max_in_flight_requests_per_connection: 5,
            retry_backoff_ms,
            retry_backoff_max_ms: if version.has_exponential_retry_backoff() {
                1000
            } else {
                retry_backoff_ms
            },
            reconnect_backoff_ms: 50,
            reconnect_backoff_max_ms: 1000,
            socket_connection_setup_timeout_ms: 10_000,
            socket_connection_setup_timeout_max_ms: 30_000,
            compression_type: CompressionType::None,
            compression_gzip_level: -1,
            compression_lz4_level: 9,
            compression_zstd_level: 3,
            // Before 3.3 (KIP-794) the default was the DefaultPartitioner class itself.
            partitioner_class: if version.at_least(3, 3) {
                PartitionerClass::BuiltIn
            } else {
                PartitionerClass::Default
            },
            partitioner_adaptive_partitioning_enable: true,
            partitioner_availability_timeout_ms: 0,
            partitioner_ignore_keys: false,
            metadata_max_age_ms: 300_000,
            metadata_max_idle_ms: 300_000,
            transaction_timeout_ms: 60_000,
            transactional_id: None,
            send_buffer_bytes: 128 * 1024,
            receive_buffer_bytes: 32 * 1024,
            connections_max_idle_ms: 540_000,
            metrics_sample_window_ms: 30_000,
            metrics_num_samples: 2,
            enable_metrics_push: version.at_least(3, 7),
        }
    }
}

impl Default for ProducerConfig {
    /// The Kafka 4.0 defaults.
    fn default() -> Self {
        ProducerConfig::defaults(KafkaVersion::default())
    }
}
