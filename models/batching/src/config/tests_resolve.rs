//! Tests of `ProducerConfig::from_entries`: Kafka's defaults, coercion, ranges and
//! `ConfigException` rules (facts §1.1, §1.2), and the effective listing.

use super::*;

/// Entries from `key=value` pairs written as properties strings, on lines 1, 2, ...
fn entries(pairs: &[(&str, &str)]) -> Vec<ConfigEntry> {
    pairs
        .iter()
        .zip(1..)
        .map(|((key, value), line)| ConfigEntry {
            key: (*key).to_owned(),
            value: RawValue::Str((*value).to_owned()),
            location: Location::at("p.properties", line),
        })
        .collect()
}

fn resolve(version: KafkaVersion, pairs: &[(&str, &str)]) -> Result<Resolved, ConfigErrors> {
    ProducerConfig::from_entries(version, entries(pairs))
}

fn ok(version: KafkaVersion, pairs: &[(&str, &str)]) -> Resolved {
    resolve(version, pairs).unwrap_or_else(|errors| panic!("expected a valid config: {errors}"))
}

fn errors(version: KafkaVersion, pairs: &[(&str, &str)]) -> Vec<ConfigError> {
    match resolve(version, pairs) {
        Ok(resolved) => panic!("expected errors, got {:?}", resolved.config),
        Err(failure) => failure.errors,
    }
}

fn only_error(version: KafkaVersion, pairs: &[(&str, &str)]) -> ConfigError {
    let mut all = errors(version, pairs);
    assert_eq!(all.len(), 1, "expected exactly one error: {all:?}");
    all.remove(0)
}

fn invalid_reason(version: KafkaVersion, key: &str, value: &str) -> String {
    let error = only_error(version, &[(key, value)]);
    assert_eq!(error.key, key);
    match error.kind {
        ConfigErrorKind::InvalidValue { reason, .. } => reason,
        other => panic!("expected an invalid value, got {other:?}"),
    }
}

const V4: KafkaVersion = KafkaVersion::V4_0;
const V3: KafkaVersion = KafkaVersion::V3_9;
const V36: KafkaVersion = KafkaVersion::V3_6;

// ProducerConfig CONFIG defaults, 4.x (facts §1.1).
#[test]
fn kafka_4_defaults_match_the_facts_table() {
    let resolved = ok(V4, &[]);
    let config = &resolved.config;
    assert_eq!(config.acks, Acks::All);
    assert!(config.enable_idempotence);
    assert_eq!(config.retries, 2_147_483_647);
    assert_eq!(config.delivery_timeout_ms, 120_000);
    assert_eq!(config.request_timeout_ms, 30_000);
    assert_eq!(config.linger_ms, 5);
    assert_eq!(config.batch_size, 16_384);
    assert_eq!(config.buffer_memory, 33_554_432);
    assert_eq!(config.max_block_ms, 60_000);
    assert_eq!(config.max_request_size, 1_048_576);
    assert_eq!(config.max_in_flight_requests_per_connection, 5);
    assert_eq!(
        (config.retry_backoff_ms, config.retry_backoff_max_ms),
        (100, 1000)
    );
    assert_eq!(
        (config.reconnect_backoff_ms, config.reconnect_backoff_max_ms),
        (50, 1000)
    );
    assert_eq!(config.compression_type, CompressionType::None);
    assert_eq!(
        (
            config.compression_gzip_level,
            config.compression_lz4_level,
            config.compression_zstd_level
        ),
        (-1, 9, 3)
    );
    assert_eq!(config.partitioner_class, PartitionerClass::BuiltIn);
    assert!(config.partitioner_adaptive_partitioning_enable);
    assert_eq!(config.partitioner_availability_timeout_ms, 0);
    assert!(!config.partitioner_ignore_keys);
    assert_eq!(
        (config.metadata_max_age_ms, config.metadata_max_idle_ms),
        (300_000, 300_000)
    );
    assert_eq!(config.transaction_timeout_ms, 60_000);
    assert_eq!(config.transactional_id, None);
    assert_eq!(
        (config.send_buffer_bytes, config.receive_buffer_bytes),
        (131_072, 32_768)
    );
    assert_eq!(config.connections_max_idle_ms, 540_000);
    assert_eq!(
        (config.metrics_sample_window_ms, config.metrics_num_samples),
        (30_000, 2)
    );
    assert!(config.enable_metrics_push);
    assert!(resolved.warnings.is_empty(), "{:?}", resolved.warnings);
    assert_eq!(*config, ProducerConfig::default());
}

// KIP-1030: linger.ms is 0 in every 3.x release; KIP-580: flat retry backoff before 3.7.
#[test]
fn kafka_3_defaults_have_linger_zero_and_flat_backoff_before_3_7() {
    let v39 = ok(V3, &[]).config;
    assert_eq!(v39.linger_ms, 0);
    assert_eq!(v39.retry_backoff_max_ms, 1000);
    assert!(v39.enable_metrics_push);
    let v36 = ok(V36, &[]).config;
    assert_eq!(v36.linger_ms, 0);
    assert_eq!(v36.retry_backoff_max_ms, v36.retry_backoff_ms);
    assert!(
        !v36.enable_metrics_push,
        "KIP-714 metrics push arrived in 3.7"
    );
    assert_eq!(v36.kafka_version, V36);
}

// The linger-only key selects the profile; it is not a Kafka key.
#[test]
fn linger_kafka_version_key_selects_the_profile() {
    let resolved = ok(V4, &[("linger.kafka.version", "3.6")]);
    assert_eq!(resolved.config.kafka_version, V36);
    assert_eq!(resolved.config.linger_ms, 0);
    assert!(resolved.is_user_set("linger.kafka.version"));
    let error = only_error(V4, &[("linger.kafka.version", "5.0")]);
    assert_eq!(error.key, "linger.kafka.version");
    assert!(error.to_string().contains("3.0 to 3.9"), "{error}");
    assert_eq!(KafkaVersion::parse("3.6.2"), Some(V36));
    assert_eq!(KafkaVersion::parse("2.8"), None);
    assert_eq!(KafkaVersion::parse("4"), None);
}

// A TOML float like 3.9 is not accepted as a version: 3.10 would read as 3.1.
#[test]
fn kafka_version_as_a_float_is_rejected_with_a_hint() {
    let entry = ConfigEntry {
        key: KAFKA_VERSION_KEY.to_owned(),
        value: RawValue::Float(3.9),
        location: Location::default(),
    };
    let failure = ProducerConfig::from_entries(V4, [entry]).expect_err("a float is not a version");
    assert!(
        failure.to_string().contains("written as a string"),
        "{failure}"
    );
}

// ProducerConfig.postProcessAndValidateIdempotenceConfigs: explicit idempotence + retries=0.
#[test]
fn explicit_idempotence_with_zero_retries_throws() {
    for version in [V4, V3] {
        let error = only_error(version, &[("enable.idempotence", "true"), ("retries", "0")]);
        assert_eq!(error.kind, ConfigErrorKind::IdempotenceNeedsRetries);
        assert_eq!(error.key, "retries");
        assert_eq!(error.location, Location::at("p.properties", 2));
        assert!(
            error
                .to_string()
                .starts_with("p.properties:2: Must set retries to non-zero")
        );
    }
}

// Explicit idempotence requires acks=all ("all" or "-1").
#[test]
fn explicit_idempotence_with_acks_other_than_all_throws() {
    for acks in ["0", "1"] {
        for version in [V4, V3] {
            let error = only_error(version, &[("enable.idempotence", "true"), ("acks", acks)]);
            assert_eq!(error.kind, ConfigErrorKind::IdempotenceNeedsAcksAll);
            assert_eq!(error.key, "acks");
        }
    }
    let accepted = ok(V4, &[("enable.idempotence", "true"), ("acks", "-1")]);
    assert_eq!(accepted.config.acks, Acks::All);
}

// Explicit idempotence with more than 5 in flight throws on every release.
#[test]
fn explicit_idempotence_with_more_than_five_in_flight_throws_on_3x_and_4x() {
    for version in [V4, V3] {
        let pairs = [
            ("enable.idempotence", "true"),
            ("max.in.flight.requests.per.connection", "6"),
        ];
        let error = only_error(version, &pairs);
        assert_eq!(
            error.kind,
            ConfigErrorKind::IdempotenceNeedsInFlightAtMostFive { max_in_flight: 6 }
        );
        assert!(error.to_string().contains("Current value is 6."), "{error}");
    }
}

// KAFKA-17927: on 4.x, default idempotence + in-flight > 5 throws.
#[test]
fn default_idempotence_with_ten_in_flight_throws_on_4x() {
    let error = only_error(V4, &[("max.in.flight.requests.per.connection", "10")]);
    assert_eq!(
        error.kind,
        ConfigErrorKind::IdempotenceNeedsInFlightAtMostFive { max_in_flight: 10 }
    );
}

// Before 4.0, default idempotence + in-flight > 5 silently disables idempotence (a WARN).
#[test]
fn default_idempotence_with_ten_in_flight_is_disabled_on_3x() {
    let resolved = ok(V3, &[("max.in.flight.requests.per.connection", "10")]);
    assert!(!resolved.config.enable_idempotence);
    assert_eq!(resolved.config.max_in_flight_requests_per_connection, 10);
    assert!(resolved.adjustment("enable.idempotence").is_some());
    let warning = &resolved.warnings[0];
    assert_eq!(warning.key, "max.in.flight.requests.per.connection");
    assert!(matches!(
        warning.kind,
        ConfigWarningKind::IdempotenceDisabled { .. }
    ));
}

// Facts §1.2 edge case: all checks see the pre-disable value, so acks=1 + in-flight 10 with
// default idempotence still throws on 4.x; on 3.x both conflicts just disable it.
#[test]
fn acks_one_does_not_rescue_ten_in_flight_on_4x_but_does_on_3x() {
    let pairs = [
        ("acks", "1"),
        ("max.in.flight.requests.per.connection", "10"),
    ];
    let error = only_error(V4, &pairs);
    assert_eq!(error.key, "max.in.flight.requests.per.connection");
    let resolved = ok(V3, &pairs);
    assert!(!resolved.config.enable_idempotence);
    assert_eq!(resolved.warnings.len(), 2, "{:?}", resolved.warnings);
}

// Default idempotence is silently disabled by acks=0, acks=1 or retries=0 (INFO log).
#[test]
fn default_idempotence_is_silently_disabled_by_acks_or_zero_retries() {
    let cases: [(&str, &str); 3] = [("acks", "0"), ("acks", "1"), ("retries", "0")];
    for version in [V4, V3] {
        for (key, value) in cases {
            let resolved = ok(version, &[(key, value)]);
            assert!(
                !resolved.config.enable_idempotence,
                "{key}={value} on {version}"
            );
            assert_eq!(resolved.warnings.len(), 1);
            assert_eq!(resolved.warnings[0].key, key);
            let text = resolved.warnings[0].to_string();
            assert!(
                text.contains("Idempotence will be disabled because"),
                "{text}"
            );
        }
    }
}

// Explicit enable.idempotence=false skips every check.
#[test]
fn explicit_idempotence_false_allows_any_combination() {
    let pairs = [
        ("enable.idempotence", "false"),
        ("acks", "0"),
        ("retries", "0"),
        ("max.in.flight.requests.per.connection", "50"),
    ];
    for version in [V4, V3] {
        let resolved = ok(version, &pairs);
        assert!(!resolved.config.enable_idempotence);
        assert!(resolved.warnings.is_empty(), "{:?}", resolved.warnings);
        assert_eq!(resolved.adjustment("enable.idempotence"), None);
    }
}

// "Cannot set a transactional.id without also enabling idempotence."
#[test]
fn transactional_id_requires_idempotence() {
    let explicit = only_error(
        V4,
        &[("enable.idempotence", "false"), ("transactional.id", "t")],
    );
    assert_eq!(
        explicit.kind,
        ConfigErrorKind::TransactionalIdNeedsIdempotence
    );
    assert_eq!(explicit.location, Location::at("p.properties", 2));
    // Idempotence disabled by default rules (acks=1) also conflicts.
    let silent = only_error(V3, &[("acks", "1"), ("transactional.id", "t")]);
    assert_eq!(
        silent.kind,
        ConfigErrorKind::TransactionalIdNeedsIdempotence
    );
    let accepted = ok(V4, &[("transactional.id", "  orders  ")]);
    assert_eq!(accepted.config.transactional_id.as_deref(), Some("orders"));
}

// ConfigDef.NonEmptyString on transactional.id (after trimming).
#[test]
fn empty_transactional_id_is_rejected() {
    assert_eq!(
        invalid_reason(V4, "transactional.id", "   "),
        "String must be non-empty"
    );
}

// KafkaProducer.configureDeliveryTimeout: explicit delivery.timeout.ms below the sum throws.
#[test]
fn explicit_delivery_timeout_below_linger_plus_request_timeout_throws() {
    let pairs = [
        ("delivery.timeout.ms", "30004"),
        ("linger.ms", "5"),
        ("request.timeout.ms", "30000"),
    ];
    let error = only_error(V4, &pairs);
    assert_eq!(
        error.kind,
        ConfigErrorKind::DeliveryTimeoutTooSmall {
            delivery_timeout_ms: 30_004,
            minimum_ms: 30_005
        }
    );
    assert_eq!(error.location, Location::at("p.properties", 1));
    let equal = ok(V4, &[("delivery.timeout.ms", "30005")]);
    assert_eq!(equal.config.delivery_timeout_ms, 30_005);
}

// configureDeliveryTimeout: the default is raised to the sum, with a WARN.
#[test]
fn default_delivery_timeout_is_raised_to_linger_plus_request_timeout() {
    let resolved = ok(V4, &[("linger.ms", "100000")]);
    assert_eq!(resolved.config.delivery_timeout_ms, 130_000);
    assert!(matches!(
        resolved.warnings[0].kind,
        ConfigWarningKind::DeliveryTimeoutRaised {
            from_ms: 120_000,
            to_ms: 130_000
        }
    ));
    assert!(resolved.adjustment("delivery.timeout.ms").is_some());
}

// configureDeliveryTimeout caps linger.ms + request.timeout.ms at Integer.MAX_VALUE.
#[test]
fn delivery_timeout_sum_is_capped_at_max_int() {
    let resolved = ok(V4, &[("linger.ms", "9223372036854775807")]);
    assert_eq!(resolved.config.delivery_timeout_ms, 2_147_483_647);
    assert_eq!(resolved.config.linger_ms, i64::MAX as u64);
}

// warnDisablingExponentialBackoff: retry.backoff.ms > retry.backoff.max.ms gives a static
// backoff of the maximum.
#[test]
fn retry_backoff_above_max_warns_and_becomes_flat() {
    let resolved = ok(
        V4,
        &[
            ("retry.backoff.ms", "2000"),
            ("retry.backoff.max.ms", "500"),
        ],
    );
    assert_eq!(resolved.config.retry_backoff_ms, 500);
    assert_eq!(resolved.config.retry_backoff_max_ms, 500);
    let warning = &resolved.warnings[0];
    assert_eq!(warning.key, "retry.backoff.ms");
    assert!(
        warning
            .to_string()
            .contains("A static backoff with value '500'"),
        "{warning}"
    );
}

// warnDisablingExponentialBackoff: socket.connection.setup.timeout.ms above its max gives a
// static setup timeout of the maximum; a negative one is refused.
#[test]
fn connection_setup_timeout_above_max_warns_and_becomes_static() {
    let resolved = ok(
        V4,
        &[
            ("socket.connection.setup.timeout.ms", "20000"),
            ("socket.connection.setup.timeout.max.ms", "5000"),
        ],
    );
    assert_eq!(resolved.config.socket_connection_setup_timeout_ms, 5000);
    assert_eq!(resolved.config.socket_connection_setup_timeout_max_ms, 5000);
    let warning = &resolved.warnings[0];
    assert_eq!(warning.key, "socket.connection.setup.timeout.ms");
    assert!(
        warning
            .to_string()
            .contains("A static connection setup timeout with value '5000'"),
        "{warning}"
    );
    let defaults = ok(V3, &[]);
    assert_eq!(defaults.config.socket_connection_setup_timeout_ms, 10_000);
    assert_eq!(
        defaults.config.socket_connection_setup_timeout_max_ms,
        30_000
    );
    assert!(defaults.warnings.is_empty());
}

// Before 3.7 retry.backoff.max.ms does not exist ("supplied but isn't a known config").
#[test]
fn retry_backoff_max_on_3_6_is_ignored_and_backoff_is_flat() {
    let resolved = ok(
        V36,
        &[
            ("retry.backoff.ms", "250"),
            ("retry.backoff.max.ms", "9000"),
        ],
    );
    assert_eq!(resolved.config.retry_backoff_max_ms, 250);
    assert!(matches!(
        resolved.warnings[0].kind,
        ConfigWarningKind::NotInVersion { .. }
    ));
    assert!(!resolved.is_user_set("retry.backoff.max.ms"));
}

// KIP-390 compression levels arrived in 3.8.
#[test]
fn compression_levels_before_3_8_are_ignored_with_a_warning() {
    let resolved = ok(V36, &[("compression.zstd.level", "10")]);
    assert_eq!(resolved.config.compression_zstd_level, 3);
    assert_eq!(resolved.warnings.len(), 1);
}

// postProcessReconnectBackoffConfigs: reconnect.backoff.ms alone disables the exponential
// reconnect backoff.
#[test]
fn reconnect_backoff_set_alone_becomes_flat() {
    let resolved = ok(V4, &[("reconnect.backoff.ms", "200")]);
    assert_eq!(resolved.config.reconnect_backoff_max_ms, 200);
    assert_eq!(
        resolved.warnings[0].kind,
        ConfigWarningKind::ReconnectBackoffFlat
    );
    let both = ok(
        V4,
        &[
            ("reconnect.backoff.ms", "200"),
            ("reconnect.backoff.max.ms", "800"),
        ],
    );
    assert_eq!(both.config.reconnect_backoff_max_ms, 800);
    assert!(both.warnings.is_empty());
}

// acks: ValidString.in("all", "-1", "0", "1"), case-sensitive.
#[test]
fn acks_two_and_upper_case_all_are_rejected() {
    assert_eq!(
        invalid_reason(V4, "acks", "2"),
        "String must be one of: all, -1, 0, 1"
    );
    assert!(resolve(V4, &[("acks", "ALL")]).is_err());
    assert_eq!(ok(V4, &[("acks", " all ")]).config.acks, Acks::All);
}

// Range.atLeast(0) on sizes; Kafka's INT range on INT keys.
#[test]
fn negative_and_oversized_sizes_are_rejected() {
    assert_eq!(
        invalid_reason(V4, "batch.size", "-1"),
        "Value must be at least 0"
    );
    assert_eq!(
        invalid_reason(V4, "buffer.memory", "-1"),
        "Value must be at least 0"
    );
    assert_eq!(
        invalid_reason(V4, "max.request.size", "-5"),
        "Value must be at least 0"
    );
    assert_eq!(
        invalid_reason(V4, "linger.ms", "-1"),
        "Value must be at least 0"
    );
    assert_eq!(
        invalid_reason(V4, "batch.size", "2147483648"),
        "Not a number of type INT"
    );
    assert_eq!(ok(V4, &[("batch.size", "0")]).config.batch_size, 0);
}

// Range checks of ProducerConfig.java for the remaining validated keys.
#[test]
fn out_of_range_values_name_the_bound() {
    let cases = [
        (
            "max.in.flight.requests.per.connection",
            "0",
            "Value must be at least 1",
        ),
        ("retries", "-1", "Value must be at least 0"),
        (
            "metadata.max.idle.ms",
            "4999",
            "Value must be at least 5000",
        ),
        ("metrics.num.samples", "0", "Value must be at least 1"),
        ("send.buffer.bytes", "-2", "Value must be at least -1"),
        (
            "compression.lz4.level",
            "18",
            "Value must be no more than 17",
        ),
        (
            "compression.zstd.level",
            "-131073",
            "Value must be at least -131072",
        ),
        ("request.timeout.ms", "-1", "Value must be at least 0"),
    ];
    for (key, value, reason) in cases {
        assert_eq!(invalid_reason(V4, key, value), reason, "{key}={value}");
    }
    assert!(invalid_reason(V4, "compression.gzip.level", "0").contains("between 1 and 9"));
    assert_eq!(
        ok(V4, &[("send.buffer.bytes", "-1")])
            .config
            .send_buffer_bytes,
        -1
    );
    assert_eq!(
        ok(V4, &[("compression.gzip.level", "9")])
            .config
            .compression_gzip_level,
        9
    );
}

// compression.type: in(none, gzip, snappy, lz4, zstd).
#[test]
fn unknown_compression_type_is_rejected() {
    assert_eq!(
        invalid_reason(V4, "compression.type", "brotli"),
        "String must be one of: none, gzip, snappy, lz4, zstd"
    );
    assert_eq!(
        ok(V4, &[("compression.type", "zstd")])
            .config
            .compression_type,
        CompressionType::Zstd
    );
}

// ConfigDef BOOLEAN: "true"/"false" in any case; anything else is rejected.
#[test]
fn booleans_are_case_insensitive_and_strict() {
    let resolved = ok(
        V4,
        &[
            ("partitioner.ignore.keys", "TRUE"),
            ("enable.metrics.push", "False"),
        ],
    );
    assert!(resolved.config.partitioner_ignore_keys);
    assert!(!resolved.config.enable_metrics_push);
    assert_eq!(
        invalid_reason(V4, "enable.idempotence", "yes"),
        "Expected value to be either true or false"
    );
}

// Wrong value types: a list or a float for a LONG key, a string for a number.
#[test]
fn wrong_value_types_are_rejected_with_the_key_and_location() {
    let list = ConfigEntry {
        key: "linger.ms".to_owned(),
        value: RawValue::List(vec![RawValue::Int(1), RawValue::Int(2)]),
        location: Location::at("x.toml", 3),
    };
    let failure = ProducerConfig::from_entries(V4, [list]).expect_err("a list is not a LONG");
    assert_eq!(
        failure.to_string(),
        "x.toml:3: Invalid value [1, 2] for configuration linger.ms: Expected value to be a \
         64-bit integer (long), but it was a list"
    );
    assert_eq!(
        invalid_reason(V4, "linger.ms", "5ms"),
        "Not a number of type LONG"
    );
    let float = ConfigEntry {
        key: "batch.size".to_owned(),
        value: RawValue::Float(1.5),
        location: Location::default(),
    };
    let failure = ProducerConfig::from_entries(V4, [float]).expect_err("a float is not an INT");
    assert!(
        failure.to_string().ends_with(
            "but it was a float (1.5): write a whole number without a decimal point, such as 1"
        ),
        "{failure}"
    );
}

// linger collects every per-key error, where Kafka stops at the first.
#[test]
fn every_bad_key_is_reported_with_its_line() {
    let all = errors(
        V4,
        &[("linger.ms", "x"), ("acks", "2"), ("batch.size", "-1")],
    );
    let lines: Vec<Option<u32>> = all.iter().map(|error| error.location.line).collect();
    assert_eq!(lines, [Some(1), Some(2), Some(3)]);
}

// partitioner.class: DefaultPartitioner/UniformStickyPartitioner were removed in 4.0.
#[test]
fn removed_partitioners_are_rejected_on_4x_and_accepted_on_3x() {
    let default = "org.apache.kafka.clients.producer.internals.DefaultPartitioner";
    assert!(invalid_reason(V4, "partitioner.class", default).contains("KAFKA-18262"));
    assert_eq!(
        ok(V3, &[("partitioner.class", default)])
            .config
            .partitioner_class,
        PartitionerClass::Default
    );
    let round_robin = "org.apache.kafka.clients.producer.RoundRobinPartitioner";
    assert_eq!(
        ok(V4, &[("partitioner.class", round_robin)])
            .config
            .partitioner_class,
        PartitionerClass::RoundRobin
    );
    assert!(
        invalid_reason(V4, "partitioner.class", "com.example.Mine").contains("could not be found")
    );
}

// Unknown keys fail, with a "did you mean" for `_` typos and misspellings.
#[test]
fn unknown_keys_fail_with_suggestions() {
    let cases = [
        ("linger_ms", Some("linger.ms")),
        ("batch.sise", Some("batch.size")),
        (
            "max_in_flight_requests_per_connection",
            Some("max.in.flight.requests.per.connection"),
        ),
        ("linger.kafka.verison", Some("linger.kafka.version")),
    ];
    for (key, expected) in cases {
        let error = only_error(V4, &[(key, "1")]);
        assert_eq!(
            error.kind,
            ConfigErrorKind::UnknownKey {
                suggestion: expected.map(str::to_owned)
            },
            "{key}"
        );
    }
    let text = only_error(V4, &[("linger_ms", "1")]).to_string();
    assert_eq!(
        text,
        "p.properties:1: Unknown configuration `linger_ms`; did you mean `linger.ms`?"
    );
}

// Keys Kafka knows but linger does not model are accepted and listed once.
#[test]
fn unmodelled_kafka_keys_are_accepted_with_one_warning() {
    let pairs = [
        ("bootstrap.servers", "localhost:9092"),
        ("ssl.truststore.location", "/x"),
        (
            "key.serializer",
            "org.apache.kafka.common.serialization.StringSerializer",
        ),
    ];
    let resolved = ok(V4, &pairs);
    assert_eq!(resolved.warnings.len(), 1);
    let ConfigWarningKind::NotModelled { keys } = &resolved.warnings[0].kind else {
        panic!("expected a not-modelled warning: {:?}", resolved.warnings);
    };
    assert_eq!(keys.len(), 3);
    assert!(
        resolved.warnings[0]
            .to_string()
            .contains("accepted, not simulated")
    );
}

// A Confluent producer file: the Schema Registry, its credentials and the serializers' own
// settings are accepted and listed as not simulated, as Kafka hands them to the serializers.
#[test]
fn ecosystem_keys_of_a_confluent_file_are_accepted_as_not_simulated() {
    let pairs = [
        ("bootstrap.servers", "pkc-1.confluent.cloud:9092"),
        ("security.protocol", "SASL_SSL"),
        ("sasl.mechanism", "PLAIN"),
        (
            "sasl.jaas.config",
            "org.apache.kafka.common.security.plain.PlainLoginModule required;",
        ),
        ("client.id", "orders"),
        ("schema.registry.url", "https://psrc-1.confluent.cloud"),
        ("basic.auth.credentials.source", "USER_INFO"),
        ("basic.auth.user.info", "key:secret"),
        (
            "value.subject.name.strategy",
            "io.confluent.kafka.serializers.subject.TopicNameStrategy",
        ),
        ("auto.register.schemas", "false"),
        (
            "interceptor.classes",
            "io.confluent.monitoring.clients.interceptor.MonitoringProducerInterceptor",
        ),
        (
            "metric.reporters",
            "io.confluent.metrics.reporter.ConfluentMetricsReporter",
        ),
        ("acks", "all"),
    ];
    let resolved = ok(V4, &pairs);
    let ConfigWarningKind::NotModelled { keys } = &resolved.warnings[0].kind else {
        panic!("expected a not-simulated warning: {:?}", resolved.warnings);
    };
    assert_eq!(keys.len(), pairs.len() - 1, "{keys:?}");
    assert!(!keys.iter().any(|key| key == "acks"));
}

// An unknown key close to a known one is a typo that would silently run with the default: an
// error with the suggestion. Any other unknown key Kafka only logs, and linger warns.
#[test]
fn unknown_keys_far_from_every_known_key_are_a_warning_as_kafka_logs_them() {
    let resolved = ok(V4, &[("zookeeper.connect", "localhost:2181")]);
    assert_eq!(resolved.warnings.len(), 1, "{:?}", resolved.warnings);
    assert_eq!(resolved.warnings[0].kind, ConfigWarningKind::Unused);
    let text = resolved.warnings[0].to_string();
    assert!(
        text.contains("'zookeeper.connect' was supplied but isn't a known config"),
        "{text}"
    );
    let error = only_error(V4, &[("linger.mss", "5")]);
    assert_eq!(
        error.kind,
        ConfigErrorKind::UnknownKey {
            suggestion: Some("linger.ms".to_owned())
        }
    );
}

// java.util.Properties: a later duplicate wins; linger warns within one file.
#[test]
fn duplicate_keys_keep_the_last_value_and_warn() {
    let resolved = ok(V4, &[("linger.ms", "1"), ("linger.ms", "7")]);
    assert_eq!(resolved.config.linger_ms, 7);
    assert_eq!(
        resolved.warnings[0].kind,
        ConfigWarningKind::DuplicateKey {
            earlier: Location::at("p.properties", 1)
        }
    );
}

// The listing has every key once, in the table order, with its origin.
#[test]
fn effective_listing_marks_default_user_set_and_adjusted_values() {
    let resolved = ok(V4, &[("acks", "1"), ("batch.size", "1000")]);
    let rows = resolved.effective_listing();
    assert_eq!(rows[0].key, KAFKA_VERSION_KEY);
    assert_eq!(rows.len(), 36);
    let row = |key: &str| rows.iter().find(|row| row.key == key).expect("listed");
    assert_eq!(row("batch.size").origin, Origin::UserSet);
    assert_eq!(row("batch.size").location, Location::at("p.properties", 2));
    assert_eq!(row("linger.ms").origin, Origin::Default);
    assert_eq!(row("linger.ms").value, "5");
    assert!(matches!(
        row("enable.idempotence").origin,
        Origin::Adjusted { .. }
    ));
    assert_eq!(row("enable.idempotence").value, "false");
    let lines = check_config_lines(&Ok(resolved));
    assert!(
        lines
            .iter()
            .any(|line| line.starts_with("batch.size") && line.contains("# set at p.properties:2"))
    );
    assert!(
        lines
            .last()
            .is_some_and(|line| line.starts_with("warning: p.properties:1: Idempotence"))
    );
}

// check-config on a rejected config prints the errors.
#[test]
fn check_config_lines_list_errors_for_a_rejected_config() {
    let result = resolve(V4, &[("linger_ms", "5")]);
    let lines = check_config_lines(&result);
    assert_eq!(lines.len(), 1);
    assert!(lines[0].starts_with("error: p.properties:1: Unknown configuration"));
}

// Before KIP-794 (3.3) the default partitioner.class was DefaultPartitioner, and the
// partitioner.* keys did not exist.
#[test]
fn kafka_3_2_defaults_to_default_partitioner_and_ignores_partitioner_keys() {
    let v32 = KafkaVersion::parse("3.2").expect("supported");
    let resolved = ok(v32, &[("partitioner.ignore.keys", "true")]);
    assert_eq!(resolved.config.partitioner_class, PartitionerClass::Default);
    assert!(!resolved.config.partitioner_ignore_keys);
    assert!(matches!(
        resolved.warnings[0].kind,
        ConfigWarningKind::NotInVersion { .. }
    ));
    assert_eq!(
        ok(V3, &[]).config.partitioner_class,
        PartitionerClass::BuiltIn
    );
}

proptest::proptest! {
    // Bad input is an error, never a panic: any known key with any value, on any profile.
    #[test]
    fn resolving_arbitrary_values_never_panics(
        picks in proptest::collection::vec((0usize..keys::KEYS.len(), ".{0,12}", -3i64..3), 0..8),
        v3 in proptest::bool::ANY,
    ) {
        let version = if v3 { V3 } else { V4 };
        let entries = picks.into_iter().map(|(index, text, number)| ConfigEntry {
            key: keys::KEYS[index].name.to_owned(),
            value: if number == 0 { RawValue::Str(text) } else { RawValue::Int(number * 1_000_000_007) },
            location: Location::default(),
        });
        match ProducerConfig::from_entries(version, entries) {
            Ok(resolved) => proptest::prop_assert_eq!(resolved.effective_listing().len(), 36),
            Err(failure) => proptest::prop_assert!(!failure.errors.is_empty()),
        }
    }
}

// ProducerConfigTest (3.x): in-flight 6 silently disables default idempotence, and then a
// transactional.id conflicts with the disabled idempotence.
#[test]
fn on_3x_six_in_flight_with_transactional_id_fails_on_the_transactional_id() {
    let pairs = [
        ("max.in.flight.requests.per.connection", "6"),
        ("transactional.id", "transactionalId"),
    ];
    let error = only_error(V3, &pairs);
    assert_eq!(error.kind, ConfigErrorKind::TransactionalIdNeedsIdempotence);
    let error = only_error(V4, &pairs);
    assert_eq!(
        error.kind,
        ConfigErrorKind::IdempotenceNeedsInFlightAtMostFive { max_in_flight: 6 }
    );
}

/// Kafka accepts `batch.size` > `buffer.memory` (no validator relates them), but
/// `BufferPool.allocate` then refuses every batch buffer: linger accepts it with a warning.
#[test]
fn batch_size_above_buffer_memory_is_accepted_with_a_warning() {
    let resolved = ok(
        KafkaVersion::V4_0,
        &[("batch.size", "65536"), ("buffer.memory", "32768")],
    );
    let warning = resolved
        .warnings
        .iter()
        .find(|w| w.key == "batch.size")
        .expect("a warning about batch.size");
    assert!(
        matches!(
            warning.kind,
            ConfigWarningKind::BatchLargerThanBufferMemory {
                batch_size: 65536,
                buffer_memory: 32768
            }
        ),
        "{warning:?}"
    );
    assert!(warning.to_string().contains("every send will fail"));
    let fits = ok(KafkaVersion::V4_0, &[("batch.size", "32768")]);
    assert!(fits.warnings.iter().all(|w| w.key != "batch.size"));
}

// Extreme values Kafka accepts: every one resolves, and converts to nanoseconds without
// overflow (KafkaProducer.lingerMs clamp, MODELLED_DURATION_MS_MAX for the LONG durations).
const LONG_MAX: &str = "9223372036854775807";
const INT_MAX: &str = "2147483647";

#[test]
fn linger_ms_long_max_is_clamped_to_integer_max_as_kafka_producer_does() {
    let resolved = ok(V4, &[("linger.ms", LONG_MAX)]);
    let config = &resolved.config;
    // The listing keeps what was written (ProducerConfig.getLong), the accumulator the clamp.
    assert_eq!(config.linger_ms, i64::MAX as u64);
    assert_eq!(config.linger_ms_effective(), i32::MAX as u32);
    assert_eq!(config.linger_ns(), 2_147_483_647 * 1_000_000);
    // configureDeliveryTimeout: linger + request timeout capped at MAX_INT, and raised to it.
    assert_eq!(config.delivery_timeout_ms, i32::MAX as u32);
    assert_eq!(ok(V4, &[("linger.ms", "0")]).config.linger_ns(), 0);
    assert_eq!(
        ok(V4, &[("linger.ms", INT_MAX)]).config.linger_ns(),
        2_147_483_647_000_000
    );
}

#[test]
fn long_duration_keys_at_long_max_clamp_to_the_modelled_maximum() {
    let keys = [
        "max.block.ms",
        "retry.backoff.ms",
        "retry.backoff.max.ms",
        "reconnect.backoff.ms",
        "reconnect.backoff.max.ms",
        "metadata.max.age.ms",
        "partitioner.availability.timeout.ms",
    ];
    let pairs: Vec<(&str, &str)> = keys.iter().map(|key| (*key, LONG_MAX)).collect();
    let config = ok(V4, &pairs).config;
    for ms in [
        config.max_block_ms,
        config.retry_backoff_ms,
        config.retry_backoff_max_ms,
        config.reconnect_backoff_ms,
        config.reconnect_backoff_max_ms,
        config.metadata_max_age_ms,
        config.partitioner_availability_timeout_ms,
    ] {
        assert_eq!(ms, i64::MAX as u64);
        assert_eq!(modelled_ns(ms), MODELLED_DURATION_MS_MAX * 1_000_000);
    }
    // Room for a whole run on top of the longest modelled duration, several times over.
    let room = u64::MAX - modelled_ns(u64::MAX);
    assert!(room / 10 > MODELLED_DURATION_MS_MAX * 1_000_000, "{room}");
    assert_eq!(modelled_ns(0), 0);
    assert_eq!(modelled_ns(1), 1_000_000);
}

#[test]
fn int_keys_at_integer_max_convert_exactly() {
    let config = ok(
        V4,
        &[
            ("delivery.timeout.ms", INT_MAX),
            ("request.timeout.ms", INT_MAX),
            ("retries", INT_MAX),
            ("batch.size", INT_MAX),
            ("buffer.memory", LONG_MAX),
            ("max.request.size", INT_MAX),
        ],
    )
    .config;
    assert_eq!(config.delivery_timeout_ms, i32::MAX as u32);
    assert_eq!(config.request_timeout_ms, i32::MAX as u32);
    // An INT of ms always fits below the modelled maximum, so the conversion is exact.
    assert!(u64::from(config.delivery_timeout_ms) < MODELLED_DURATION_MS_MAX);
    assert_eq!(
        modelled_ns(u64::from(config.request_timeout_ms)),
        2_147_483_647 * 1_000_000
    );
}

// Each profile names the patch release whose defaults it follows; 3.0.0 and 3.1.0 are
// profiles of their own, every other 3.0/3.1 text follows the fixed releases.
#[test]
fn profiles_name_their_patch_release_and_3_0_0_and_3_1_0_are_distinct() {
    let release = |text: &str| KafkaVersion::parse(text).map(KafkaVersion::defaults_release);
    assert_eq!(release("4.0").as_deref(), Some("4.0.0"));
    assert_eq!(release("4.0.3").as_deref(), Some("4.0.0"));
    assert_eq!(release("3.9").as_deref(), Some("3.9.0"));
    assert_eq!(release("3.0.0").as_deref(), Some("3.0.0"));
    assert_eq!(release("3.1.0").as_deref(), Some("3.1.0"));
    for fixed in ["3.0", "3.0.1", "3.0.2"] {
        assert_eq!(
            KafkaVersion::parse(fixed),
            Some(KafkaVersion::V3_0),
            "{fixed}"
        );
    }
    for fixed in ["3.1", "3.1.1", "3.1.2"] {
        assert_eq!(
            KafkaVersion::parse(fixed),
            Some(KafkaVersion::V3_1),
            "{fixed}"
        );
    }
    assert_ne!(KafkaVersion::V3_0_0, KafkaVersion::V3_0);
    assert_ne!(KafkaVersion::V3_1_0, KafkaVersion::V3_1);
    assert_eq!(KafkaVersion::V3_0_0.to_string(), "3.0.0");
    assert_eq!(KafkaVersion::V3_0.to_string(), "3.0");
    assert!(KafkaVersion::V3_0_0.idempotence_needs_explicit_setting());
    assert!(KafkaVersion::V3_1_0.idempotence_needs_explicit_setting());
    for other in [KafkaVersion::V3_0, KafkaVersion::V3_1, V36, V3, V4] {
        assert!(!other.idempotence_needs_explicit_setting(), "{other}");
    }
    // Ordering and the release checks still work on the minor release.
    assert!(KafkaVersion::V3_0_0 < KafkaVersion::V3_0);
    assert!(KafkaVersion::V3_0.at_least(3, 0) && KafkaVersion::V3_0_0.at_least(3, 0));
    assert!(!KafkaVersion::V3_1_0.at_least(3, 2));
    assert_eq!(KafkaVersion::parse("3.0.x"), None);
    assert_eq!(KafkaVersion::parse("3.10"), None);
}

// KAFKA-13598: on 3.0.0 and 3.1.0 the idempotence default did nothing
// (`ProducerConfig.idempotenceEnabled` needs the key in the user's originals).
#[test]
fn on_3_0_0_and_3_1_0_idempotence_is_off_unless_set_explicitly() {
    for version in [KafkaVersion::V3_0_0, KafkaVersion::V3_1_0] {
        let resolved = ok(version, &[]);
        let config = &resolved.config;
        assert!(!config.enable_idempotence, "{version}");
        assert_eq!(
            config.acks,
            Acks::All,
            "{version}: acks=all since 3.0 (KIP-679)"
        );
        assert_eq!(config.retries, i32::MAX as u32);
        assert_eq!(config.max_in_flight_requests_per_connection, 5);
        assert_eq!(config.linger_ms, 0);
        assert_eq!(config.retry_backoff_max_ms, config.retry_backoff_ms);
        let reason = resolved
            .adjustment("enable.idempotence")
            .expect("the listing says why");
        assert!(reason.contains("KAFKA-13598"), "{reason}");
        // Off by default, nothing conflicts: acks=1 or 10 in flight are accepted silently.
        let relaxed = ok(
            version,
            &[
                ("acks", "1"),
                ("max.in.flight.requests.per.connection", "10"),
            ],
        );
        assert!(!relaxed.config.enable_idempotence);
        assert!(relaxed.warnings.is_empty(), "{:?}", relaxed.warnings);
        // Set explicitly, it is on, and conflicts throw as in 3.0.0's
        // `maybeOverrideAcksAndRetries` and `configureInflightRequests`.
        let explicit = ok(version, &[("enable.idempotence", "true")]);
        assert!(explicit.config.enable_idempotence, "{version}");
        assert_eq!(explicit.adjustment("enable.idempotence"), None);
        let error = only_error(
            version,
            &[
                ("enable.idempotence", "true"),
                ("max.in.flight.requests.per.connection", "6"),
            ],
        );
        assert_eq!(error.key, "max.in.flight.requests.per.connection");
        // A transactional id turns it on without the key (`maybeOverrideEnableIdempotence`).
        let transactional = ok(version, &[("transactional.id", "t")]);
        assert!(transactional.config.enable_idempotence);
    }
    // The fixed releases of the same minor versions: on by default.
    for version in [KafkaVersion::V3_0, KafkaVersion::V3_1] {
        assert!(ok(version, &[]).config.enable_idempotence, "{version}");
        let relaxed = ok(version, &[("acks", "1")]);
        assert!(
            !relaxed.config.enable_idempotence,
            "silently disabled by the conflict"
        );
    }
}

// The profile's patch release is shown in the `linger check-config` listing.
#[test]
fn the_listing_names_the_profile_and_its_patch_release() {
    let lines = check_config_lines(&resolve(V4, &[("linger.kafka.version", "3.0.0")]));
    let version = lines
        .iter()
        .find(|l| l.starts_with("linger.kafka.version"))
        .expect("a version row");
    assert!(version.contains("= 3.0.0"), "{version}");
    assert!(
        version.contains("the defaults and rules of Kafka 3.0.0"),
        "{version}"
    );
    let idempotence = lines
        .iter()
        .find(|l| l.starts_with("enable.idempotence"))
        .expect("an idempotence row");
    assert!(idempotence.contains("= false"), "{idempotence}");
    assert!(idempotence.contains("KAFKA-13598"), "{idempotence}");
    let lines = check_config_lines(&resolve(V4, &[]));
    assert!(
        lines[0].contains("the defaults and rules of Kafka 4.0.0"),
        "{}",
        lines[0]
    );
}
