//! The key table: every producer key linger models, with Kafka's type, validator and the
//! release that introduced it, plus the keys Kafka knows but linger does not model.
//!
//! Types and validators follow the `CONFIG` definition in Kafka's `ProducerConfig.java` (4.x
//! trunk) and `CommonClientConfigs.java`; the compression levels follow `CompressionType` /
//! `GzipCompression`, `Lz4Compression`, `ZstdCompression` (KIP-390). The table order is the
//! order of the effective-config listing.

use super::coerce::{self, Invalid};
use super::producer::{Acks, CompressionType, PartitionerClass, ProducerConfig};
use super::raw::RawValue;

/// The linger-only key that selects the Kafka release; never a Kafka key.
pub const KAFKA_VERSION_KEY: &str = "linger.kafka.version";

/// Parses one raw value into its field of the config.
pub(crate) type Apply = fn(&mut ProducerConfig, &RawValue) -> Result<(), Invalid>;

/// Renders a field's effective value the way it would be written in a properties file.
pub(crate) type Show = fn(&ProducerConfig) -> String;

/// One modelled key.
pub(crate) struct KeyDef {
    /// Kafka's key.
    pub name: &'static str,
    /// The release that introduced the key, if after 3.0.
    pub since: Option<(u8, u8)>,
    /// Parse, validate and store.
    pub apply: Apply,
    /// Render the effective value.
    pub show: Show,
}

/// `acks`: `ValidString.in("all", "-1", "0", "1")` (case-sensitive, after trimming). linger also
/// takes a TOML integer `0`, `1` or `-1`, which Kafka's `Map` constructor would reject as a
/// non-string; the meaning is unambiguous.
fn apply_acks(config: &mut ProducerConfig, value: &RawValue) -> Result<(), Invalid> {
    let text = match value {
        RawValue::Int(number) => number.to_string(),
        other => coerce::string(other)?,
    };
    config.acks = match coerce::one_of(value, &text, &["all", "-1", "0", "1"])? {
        "0" => Acks::Zero,
        "1" => Acks::One,
        _ => Acks::All,
    };
    Ok(())
}

/// `compression.type`: `ValidString.in(none, gzip, snappy, lz4, zstd)`.
fn apply_compression_type(config: &mut ProducerConfig, value: &RawValue) -> Result<(), Invalid> {
    let text = coerce::string(value)?;
    let names = CompressionType::ALL.map(CompressionType::name);
    let name = coerce::one_of(value, &text, &names)?;
    config.compression_type = CompressionType::ALL
        .into_iter()
        .find(|codec| codec.name() == name)
        .expect("the name came from the same list");
    Ok(())
}

/// `partitioner.class`: `CLASS`, default null. linger can only "load" Kafka's own
/// partitioners; the two removed in 4.0 (KAFKA-18262) exist only on a 3.x profile.
fn apply_partitioner_class(config: &mut ProducerConfig, value: &RawValue) -> Result<(), Invalid> {
    let text = coerce::string(value)?;
    let candidates = [
        PartitionerClass::RoundRobin,
        PartitionerClass::Default,
        PartitionerClass::UniformSticky,
    ];
    let found = candidates
        .into_iter()
        .find(|class| class.class_name() == text);
    let removed_in_4 = matches!(
        found,
        Some(PartitionerClass::Default | PartitionerClass::UniformSticky)
    );
    match found {
        Some(class) if !(removed_in_4 && config.kafka_version.at_least(4, 0)) => {
            config.partitioner_class = class;
            Ok(())
        }
        Some(_) => Err(Invalid::new(
            value,
            format!(
                "Class {text} could not be found. It was removed in Kafka 4.0 (KAFKA-18262); \
                 leave partitioner.class unset for the built-in partitioner"
            ),
        )),
        None => Err(Invalid::new(
            value,
            format!(
                "Class {text} could not be found. linger models only {} (or leave \
                 partitioner.class unset for the built-in partitioner)",
                PartitionerClass::RoundRobin.class_name()
            ),
        )),
    }
}

/// `compression.gzip.level`: -1 (Deflater's default) or 1..=9 (`GzipCompression.LevelValidator`).
fn apply_gzip_level(config: &mut ProducerConfig, value: &RawValue) -> Result<(), Invalid> {
    let level = coerce::int(value)?;
    if level != -1 && !(1..=9).contains(&level) {
        return Err(Invalid::new(
            value,
            "Value must be -1 (the default) or between 1 and 9",
        ));
    }
    config.compression_gzip_level = level;
    Ok(())
}

/// `transactional.id`: `STRING` with `NonEmptyString` (after trimming).
fn apply_transactional_id(config: &mut ProducerConfig, value: &RawValue) -> Result<(), Invalid> {
    let text = coerce::string(value)?;
    if text.is_empty() {
        return Err(Invalid::new(value, "String must be non-empty"));
    }
    config.transactional_id = Some(text);
    Ok(())
}

/// Stores a parsed value in its field, or passes the rejection on.
fn set<T>(field: &mut T, parsed: Result<T, Invalid>) -> Result<(), Invalid> {
    *field = parsed?;
    Ok(())
}

fn int_between(value: &RawValue, min: i64, max: i64) -> Result<i32, Invalid> {
    let number = coerce::in_range(value, i64::from(coerce::int(value)?), min, Some(max))?;
    Ok(i32::try_from(number).expect("checked against INT bounds"))
}

fn int_at_least_i32(value: &RawValue, min: i64) -> Result<i32, Invalid> {
    let number = coerce::in_range(value, i64::from(coerce::int(value)?), min, None)?;
    Ok(i32::try_from(number).expect("an INT stays an INT"))
}

/// Every modelled key, in listing order (the order of the facts table, §1.1).
pub(crate) static KEYS: &[KeyDef] = &[
    KeyDef {
        name: "acks",
        since: None,
        apply: apply_acks,
        show: |c| c.acks.to_string(),
    },
    KeyDef {
        name: "enable.idempotence",
        since: None,
        apply: |c, v| set(&mut c.enable_idempotence, coerce::boolean(v)),
        show: |c| c.enable_idempotence.to_string(),
    },
    KeyDef {
        name: "retries",
        since: None,
        apply: |c, v| {
            let retries = int_between(v, 0, i64::from(i32::MAX))?;
            c.retries = u32::try_from(retries).expect("between 0 and MAX_INT");
            Ok(())
        },
        show: |c| c.retries.to_string(),
    },
    KeyDef {
        name: "delivery.timeout.ms",
        since: None,
        apply: |c, v| set(&mut c.delivery_timeout_ms, coerce::int_at_least_u32(v, 0)),
        show: |c| c.delivery_timeout_ms.to_string(),
    },
    KeyDef {
        name: "request.timeout.ms",
        since: None,
        apply: |c, v| set(&mut c.request_timeout_ms, coerce::int_at_least_u32(v, 0)),
        show: |c| c.request_timeout_ms.to_string(),
    },
    KeyDef {
        name: "linger.ms",
        since: None,
        apply: |c, v| set(&mut c.linger_ms, coerce::long_at_least_u64(v, 0)),
        show: |c| c.linger_ms.to_string(),
    },
    KeyDef {
        name: "batch.size",
        since: None,
        apply: |c, v| set(&mut c.batch_size, coerce::int_at_least_u32(v, 0)),
        show: |c| c.batch_size.to_string(),
    },
    KeyDef {
        name: "buffer.memory",
        since: None,
        apply: |c, v| set(&mut c.buffer_memory, coerce::long_at_least_u64(v, 0)),
        show: |c| c.buffer_memory.to_string(),
    },
    KeyDef {
        name: "max.block.ms",
        since: None,
        apply: |c, v| set(&mut c.max_block_ms, coerce::long_at_least_u64(v, 0)),
        show: |c| c.max_block_ms.to_string(),
    },
    KeyDef {
        name: "max.request.size",
        since: None,
        apply: |c, v| set(&mut c.max_request_size, coerce::int_at_least_u32(v, 0)),
        show: |c| c.max_request_size.to_string(),
    },
    KeyDef {
        name: "max.in.flight.requests.per.connection",
        since: None,
        apply: |c, v| {
            set(
                &mut c.max_in_flight_requests_per_connection,
                coerce::int_at_least_u32(v, 1),
            )
        },
        show: |c| c.max_in_flight_requests_per_connection.to_string(),
    },
    KeyDef {
        name: "retry.backoff.ms",
        since: None,
        apply: |c, v| set(&mut c.retry_backoff_ms, coerce::long_at_least_u64(v, 0)),
        show: |c| c.retry_backoff_ms.to_string(),
    },
    KeyDef {
        name: "retry.backoff.max.ms",
        since: Some((3, 7)),
        apply: |c, v| set(&mut c.retry_backoff_max_ms, coerce::long_at_least_u64(v, 0)),
        show: |c| c.retry_backoff_max_ms.to_string(),
    },
    KeyDef {
        name: "reconnect.backoff.ms",
        since: None,
        apply: |c, v| set(&mut c.reconnect_backoff_ms, coerce::long_at_least_u64(v, 0)),
        show: |c| c.reconnect_backoff_ms.to_string(),
    },
    KeyDef {
        name: "reconnect.backoff.max.ms",
        since: None,
        apply: |c, v| {
            set(
                &mut c.reconnect_backoff_max_ms,
                coerce::long_at_least_u64(v, 0),
            )
        },
        show: |c| c.reconnect_backoff_max_ms.to_string(),
    },
    KeyDef {
        name: "socket.connection.setup.timeout.ms",
        since: Some((2, 7)),
        apply: |c, v| {
            set(
                &mut c.socket_connection_setup_timeout_ms,
                coerce::long_at_least_u64(v, 0),
            )
        },
        show: |c| c.socket_connection_setup_timeout_ms.to_string(),
    },
    KeyDef {
        name: "socket.connection.setup.timeout.max.ms",
        since: Some((2, 7)),
        apply: |c, v| {
            set(
                &mut c.socket_connection_setup_timeout_max_ms,
                coerce::long_at_least_u64(v, 0),
            )
        },
        show: |c| c.socket_connection_setup_timeout_max_ms.to_string(),
    },
    KeyDef {
        name: "compression.type",
        since: None,
        apply: apply_compression_type,
        show: |c| c.compression_type.to_string(),
    },
    KeyDef {
        name: "compression.gzip.level",
        since: Some((3, 8)),
        apply: apply_gzip_level,
        show: |c| c.compression_gzip_level.to_string(),
    },
    KeyDef {
        name: "compression.lz4.level",
        since: Some((3, 8)),
        apply: |c, v| set(&mut c.compression_lz4_level, int_between(v, 1, 17)),
        show: |c| c.compression_lz4_level.to_string(),
    },
    KeyDef {
        name: "compression.zstd.level",
        since: Some((3, 8)),
        apply: |c, v| set(&mut c.compression_zstd_level, int_between(v, -131_072, 22)),
        show: |c| c.compression_zstd_level.to_string(),
    },
    KeyDef {
        name: "partitioner.class",
        since: None,
        apply: apply_partitioner_class,
        show: |c| c.partitioner_class.class_name().to_owned(),
    },
    KeyDef {
        name: "partitioner.adaptive.partitioning.enable",
        since: Some((3, 3)),
        apply: |c, v| {
            set(
                &mut c.partitioner_adaptive_partitioning_enable,
                coerce::boolean(v),
            )
        },
        show: |c| c.partitioner_adaptive_partitioning_enable.to_string(),
    },
    KeyDef {
        name: "partitioner.availability.timeout.ms",
        since: Some((3, 3)),
        apply: |c, v| {
            set(
                &mut c.partitioner_availability_timeout_ms,
                coerce::long_at_least_u64(v, 0),
            )
        },
        show: |c| c.partitioner_availability_timeout_ms.to_string(),
    },
    KeyDef {
        name: "partitioner.ignore.keys",
        since: Some((3, 3)),
        apply: |c, v| set(&mut c.partitioner_ignore_keys, coerce::boolean(v)),
        show: |c| c.partitioner_ignore_keys.to_string(),
    },
    KeyDef {
        name: "metadata.max.age.ms",
        since: None,
        apply: |c, v| set(&mut c.metadata_max_age_ms, coerce::long_at_least_u64(v, 0)),
        show: |c| c.metadata_max_age_ms.to_string(),
    },
    KeyDef {
        name: "metadata.max.idle.ms",
        since: None,
        apply: |c, v| {
            set(
                &mut c.metadata_max_idle_ms,
                coerce::long_at_least_u64(v, 5000),
            )
        },
        show: |c| c.metadata_max_idle_ms.to_string(),
    },
    KeyDef {
        name: "transaction.timeout.ms",
        since: None,
        apply: |c, v| set(&mut c.transaction_timeout_ms, coerce::int(v)),
        show: |c| c.transaction_timeout_ms.to_string(),
    },
    KeyDef {
        name: "transactional.id",
        since: None,
        apply: apply_transactional_id,
        show: |c| {
            c.transactional_id
                .clone()
                .unwrap_or_else(|| "null".to_owned())
        },
    },
    KeyDef {
        name: "send.buffer.bytes",
        since: None,
        apply: |c, v| set(&mut c.send_buffer_bytes, int_at_least_i32(v, -1)),
        show: |c| c.send_buffer_bytes.to_string(),
    },
    KeyDef {
        name: "receive.buffer.bytes",
        since: None,
        apply: |c, v| set(&mut c.receive_buffer_bytes, int_at_least_i32(v, -1)),
        show: |c| c.receive_buffer_bytes.to_string(),
    },
    KeyDef {
        name: "connections.max.idle.ms",
        since: None,
        apply: |c, v| set(&mut c.connections_max_idle_ms, coerce::long(v)),
        show: |c| c.connections_max_idle_ms.to_string(),
    },
    KeyDef {
        name: "metrics.sample.window.ms",
        since: None,
        apply: |c, v| {
            set(
                &mut c.metrics_sample_window_ms,
                coerce::long_at_least_u64(v, 0),
            )
        },
        show: |c| c.metrics_sample_window_ms.to_string(),
    },
    KeyDef {
        name: "metrics.num.samples",
        since: None,
        apply: |c, v| set(&mut c.metrics_num_samples, coerce::int_at_least_u32(v, 1)),
        show: |c| c.metrics_num_samples.to_string(),
    },
    KeyDef {
        name: "enable.metrics.push",
        since: Some((3, 7)),
        apply: |c, v| set(&mut c.enable_metrics_push, coerce::boolean(v)),
        show: |c| c.enable_metrics_push.to_string(),
    },
];

/// Looks up a modelled key.
pub(crate) fn find(name: &str) -> Option<&'static KeyDef> {
    KEYS.iter().find(|def| def.name == name)
}

/// Keys Kafka's producer defines but linger does not model: accepted, listed in a warning,
/// otherwise ignored. From `ProducerConfig.java` (4.x trunk `CONFIG`), `CommonClientConfigs.java`,
/// `SslConfigs.addClientSslSupport` and `SaslConfigs.addClientSaslSupport`.
pub(crate) static NOT_MODELLED: &[&str] = &[
    "bootstrap.servers",
    "client.dns.lookup",
    "client.id",
    "key.serializer",
    "value.serializer",
    "interceptor.classes",
    "metric.reporters",
    "metrics.recording.level",
    "security.protocol",
    "security.providers",
    "metadata.recovery.strategy",
    "metadata.recovery.rebootstrap.trigger.ms",
    "config.providers",
    "transaction.two.phase.commit.enable",
    "ssl.protocol",
    "ssl.provider",
    "ssl.cipher.suites",
    "ssl.enabled.protocols",
    "ssl.keystore.type",
    "ssl.keystore.location",
    "ssl.keystore.password",
    "ssl.key.password",
    "ssl.keystore.key",
    "ssl.keystore.certificate.chain",
    "ssl.truststore.certificates",
    "ssl.truststore.type",
    "ssl.truststore.location",
    "ssl.truststore.password",
    "ssl.keymanager.algorithm",
    "ssl.trustmanager.algorithm",
    "ssl.endpoint.identification.algorithm",
    "ssl.secure.random.implementation",
    "ssl.engine.factory.class",
    "sasl.kerberos.service.name",
    "sasl.kerberos.kinit.cmd",
    "sasl.kerberos.ticket.renew.window.factor",
    "sasl.kerberos.ticket.renew.jitter",
    "sasl.kerberos.min.time.before.relogin",
    "sasl.login.refresh.window.factor",
    "sasl.login.refresh.window.jitter",
    "sasl.login.refresh.min.period.seconds",
    "sasl.login.refresh.buffer.seconds",
    "sasl.mechanism",
    "sasl.jaas.config",
    "sasl.client.callback.handler.class",
    "sasl.login.callback.handler.class",
    "sasl.login.class",
    "sasl.login.connect.timeout.ms",
    "sasl.login.read.timeout.ms",
    "sasl.login.retry.backoff.max.ms",
    "sasl.login.retry.backoff.ms",
    "sasl.oauthbearer.access.token.retriever.class",
    "sasl.oauthbearer.access.token.validator.class",
    "sasl.oauthbearer.scope.claim.name",
    "sasl.oauthbearer.sub.claim.name",
    "sasl.oauthbearer.token.endpoint.url",
    "sasl.oauthbearer.jwks.endpoint.url",
    "sasl.oauthbearer.jwks.endpoint.refresh.ms",
    "sasl.oauthbearer.jwks.endpoint.retry.backoff.max.ms",
    "sasl.oauthbearer.jwks.endpoint.retry.backoff.ms",
    "sasl.oauthbearer.clock.skew.seconds",
    "sasl.oauthbearer.expected.audience",
    "sasl.oauthbearer.expected.issuer",
    "sasl.oauthbearer.header.urlencode",
];

/// Keys of the ecosystem around the producer that are no Kafka producer key, but that real
/// producer configurations carry: Confluent's Schema Registry serializers and their settings.
/// Kafka hands them to the serializers and logs the rest as unused; linger accepts them and
/// lists them as not simulated.
pub(crate) static ECOSYSTEM: &[&str] = &[
    "auto.register.schemas",
    "use.latest.version",
    "use.schema.id",
    "latest.compatibility.strict",
    "normalize.schemas",
    "key.subject.name.strategy",
    "value.subject.name.strategy",
    "avro.use.logical.type.converters",
    "avro.remove.java.properties",
    "json.fail.invalid.schema",
    "json.oneof.for.nullables",
    "json.write.dates.iso8601",
    "reference.subject.name.strategy",
    "skip.known.types",
    "max.schemas.per.subject",
    "context.name.strategy",
    "proxy.host",
    "proxy.port",
];

/// Prefixes of ecosystem keys: every key that starts with one is accepted as not simulated.
pub(crate) static ECOSYSTEM_PREFIXES: &[&str] = &[
    "schema.registry.",
    "basic.auth.",
    "bearer.auth.",
    "key.serializer.",
    "value.serializer.",
    "confluent.",
];

/// Why a key linger accepts is not simulated, by the family it belongs to; `None` for a key
/// linger does not know.
pub(crate) fn not_simulated_reason(key: &str) -> Option<&'static str> {
    let known = NOT_MODELLED.contains(&key)
        || ECOSYSTEM.contains(&key)
        || ECOSYSTEM_PREFIXES
            .iter()
            .any(|prefix| key.starts_with(prefix));
    if !known {
        return None;
    }
    Some(match key {
        "bootstrap.servers" | "client.dns.lookup" => {
            "the simulated cluster is [cluster]; the client knows every broker from the start"
        }
        "client.id" | "metric.reporters" | "metrics.recording.level" => {
            "names and metrics reporting change nothing the simulation measures"
        }
        "key.serializer" | "value.serializer" => {
            "serialisation is not simulated: [workload] value_bytes sets the serialised size"
        }
        "interceptor.classes" => "no producer interceptor runs in the simulation",
        "metadata.recovery.strategy" | "metadata.recovery.rebootstrap.trigger.ms" => {
            "rebootstrapping is not simulated"
        }
        "config.providers" => "values are taken as written",
        "transaction.two.phase.commit.enable" => "two-phase commit (KIP-939) is not simulated",
        _ if key.starts_with("ssl.")
            || key.starts_with("sasl.")
            || key.starts_with("security.") =>
        {
            "connections are plaintext and unauthenticated in the simulation: TLS and SASL \
             handshakes and their CPU cost are not simulated"
        }
        _ if key.starts_with("schema.registry.")
            || key.starts_with("basic.auth.")
            || key.starts_with("bearer.auth.") =>
        {
            "Schema Registry is not simulated: the serializers never contact it"
        }
        _ => {
            "a serializer setting: serialisation is not simulated, [workload] value_bytes sets \
             the serialised size"
        }
    })
}

/// Every key linger accepts but does not simulate, with the reason: Kafka's own producer keys
/// linger does not model, then the ecosystem's (a prefix is written `prefix*`).
pub fn not_simulated_keys() -> impl Iterator<Item = (&'static str, &'static str)> {
    let reason = |key: &'static str| {
        let probe = key.trim_end_matches('*');
        let probe = if key.ends_with('*') {
            format!("{probe}x")
        } else {
            probe.to_owned()
        };
        (
            key,
            not_simulated_reason(&probe).expect("every listed key has a reason"),
        )
    };
    const PREFIX_NAMES: [&str; 6] = [
        "schema.registry.*",
        "basic.auth.*",
        "bearer.auth.*",
        "key.serializer.*",
        "value.serializer.*",
        "confluent.*",
    ];
    NOT_MODELLED
        .iter()
        .chain(ECOSYSTEM.iter())
        .chain(PREFIX_NAMES.iter())
        .copied()
        .map(reason)
}

/// Every key linger accepts: the modelled ones, the unmodelled ones and its own.
pub(crate) fn all_known() -> impl Iterator<Item = &'static str> {
    KEYS.iter()
        .map(|def| def.name)
        .chain(NOT_MODELLED.iter().copied())
        .chain(std::iter::once(KAFKA_VERSION_KEY))
}
