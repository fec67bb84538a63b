//! Configuration errors (Kafka's `ConfigException`) and warnings (what Kafka logs at INFO or
//! WARN while it adjusts a config).
//!
//! Messages follow Kafka's wording: `Invalid value V for configuration K: reason` for a bad
//! value (`ConfigException(name, value, message)`), and the sentences of
//! `ProducerConfig.postProcessAndValidateIdempotenceConfigs` and
//! `KafkaProducer.configureDeliveryTimeout` for conflicts. Every message is prefixed with
//! `file:line:` when the location is known.

use std::fmt;

use super::raw::Location;

/// Why a configuration was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigErrorKind {
    /// A value of the wrong type or out of range (`ConfigDef` parsing and validators).
    InvalidValue {
        /// The value as the user wrote it.
        value: String,
        /// What is allowed, in Kafka's words (e.g. `Value must be at least 0`).
        reason: String,
    },
    /// A key neither Kafka's producer nor linger knows.
    UnknownKey {
        /// The closest known key, if one is close enough to be a likely typo.
        suggestion: Option<String>,
    },
    /// `enable.idempotence=true` set explicitly with `retries=0`.
    IdempotenceNeedsRetries,
    /// `enable.idempotence=true` set explicitly with `acks` other than `all`.
    IdempotenceNeedsAcksAll,
    /// Idempotence on (explicitly, or by default on 4.x) with more than 5 in-flight requests.
    IdempotenceNeedsInFlightAtMostFive {
        /// The configured `max.in.flight.requests.per.connection`.
        max_in_flight: u32,
    },
    /// `transactional.id` set while idempotence is off.
    TransactionalIdNeedsIdempotence,
    /// `delivery.timeout.ms` set explicitly below `linger.ms + request.timeout.ms`.
    DeliveryTimeoutTooSmall {
        /// The configured `delivery.timeout.ms`.
        delivery_timeout_ms: u32,
        /// `linger.ms + request.timeout.ms`, capped at `i32::MAX` as Kafka does.
        minimum_ms: u32,
    },
}

/// One rejected key, with its location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The key the error is about (for conflicts: the key the user has to change).
    pub key: String,
    /// Where that key was set (unknown for a default value).
    pub location: Location,
    /// What is wrong.
    pub kind: ConfigErrorKind,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.location.is_unknown() {
            write!(f, "{}: ", self.location)?;
        }
        let key = &self.key;
        match &self.kind {
            ConfigErrorKind::InvalidValue { value, reason } => {
                write!(f, "Invalid value {value} for configuration {key}: {reason}")
            }
            ConfigErrorKind::UnknownKey { suggestion } => {
                write!(f, "Unknown configuration `{key}`")?;
                match suggestion {
                    Some(known) => write!(f, "; did you mean `{known}`?"),
                    None => f.write_str(
                        "; it is not a Kafka producer config (linger's own keys start with `linger.`)",
                    ),
                }
            }
            ConfigErrorKind::IdempotenceNeedsRetries => f.write_str(
                "Must set retries to non-zero when using the idempotent producer \
                 (enable.idempotence=true was set explicitly).",
            ),
            ConfigErrorKind::IdempotenceNeedsAcksAll => f.write_str(
                "Must set acks to all in order to use the idempotent producer. Otherwise we \
                 cannot guarantee idempotence (enable.idempotence=true was set explicitly).",
            ),
            ConfigErrorKind::IdempotenceNeedsInFlightAtMostFive { max_in_flight } => write!(
                f,
                "To use the idempotent producer, max.in.flight.requests.per.connection must be \
                 set to at most 5. Current value is {max_in_flight}. (Set enable.idempotence=false \
                 to allow more.)"
            ),
            ConfigErrorKind::TransactionalIdNeedsIdempotence => {
                f.write_str("Cannot set a transactional.id without also enabling idempotence.")
            }
            ConfigErrorKind::DeliveryTimeoutTooSmall {
                delivery_timeout_ms,
                minimum_ms,
            } => write!(
                f,
                "delivery.timeout.ms should be equal to or larger than linger.ms + \
                 request.timeout.ms: {delivery_timeout_ms} < {minimum_ms}"
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Every error found in one configuration, plus the warnings gathered before failing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors {
    /// The errors, in input order (per-key errors first, then conflicts).
    pub errors: Vec<ConfigError>,
    /// Warnings gathered up to the failure.
    pub warnings: Vec<ConfigWarning>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.errors.iter().enumerate() {
            if index > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Why a configuration was accepted with a remark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigWarningKind {
    /// Idempotence was on by default and a conflicting key switched it off (Kafka logs INFO;
    /// on 3.x also WARN for more than 5 in-flight requests).
    IdempotenceDisabled {
        /// The conflicting value, e.g. `acks=1`.
        because: String,
    },
    /// `delivery.timeout.ms` was left at its default and raised to `linger.ms +
    /// request.timeout.ms`.
    DeliveryTimeoutRaised {
        /// The default that was too small.
        from_ms: u32,
        /// The new value.
        to_ms: u32,
    },
    /// `retry.backoff.ms` > `retry.backoff.max.ms`: a flat backoff of the maximum applies.
    RetryBackoffFlat {
        /// The configured `retry.backoff.ms`.
        retry_backoff_ms: u64,
        /// The configured `retry.backoff.max.ms`, now used as a flat backoff.
        retry_backoff_max_ms: u64,
    },
    /// `socket.connection.setup.timeout.ms` above `socket.connection.setup.timeout.max.ms`:
    /// the maximum is used as a static setup timeout.
    ConnectionSetupTimeoutFlat {
        /// The configured `socket.connection.setup.timeout.ms`.
        setup_timeout_ms: u64,
        /// The configured `socket.connection.setup.timeout.max.ms`, now a static timeout.
        setup_timeout_max_ms: u64,
    },
    /// `reconnect.backoff.ms` set without `reconnect.backoff.max.ms`: exponential reconnect
    /// backoff is disabled.
    ReconnectBackoffFlat,
    /// A key that is neither Kafka's nor close to one: Kafka logs it as unused
    /// (`AbstractConfig.logUnused`) and runs without it, and so does linger.
    Unused,
    /// Keys Kafka's producer knows but linger does not model, and keys of the ecosystem around
    /// it (Schema Registry serializers, TLS, SASL); they are accepted and not simulated.
    NotModelled {
        /// The keys, in input order.
        keys: Vec<String>,
    },
    /// A key Kafka added after the selected release; that release would ignore it
    /// ("supplied but isn't a known config"), and so does linger.
    NotInVersion {
        /// The release that introduced the key.
        since: String,
        /// The selected release.
        version: String,
    },
    /// `batch.size` is larger than `buffer.memory`: Kafka accepts the configuration, but every
    /// new batch asks `BufferPool.allocate` for more than the pool holds, which throws
    /// `IllegalArgumentException` from `send()`; linger fails each such send.
    BatchLargerThanBufferMemory {
        /// The configured `batch.size`.
        batch_size: u32,
        /// The configured `buffer.memory`.
        buffer_memory: u64,
    },
    /// The same key appeared twice in one file; the later value wins, as in Java's
    /// `Properties.load`.
    DuplicateKey {
        /// Where the earlier, overridden value was.
        earlier: Location,
    },
}

/// One remark about an accepted configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    /// The key the warning is about.
    pub key: String,
    /// Where that key was set (unknown for a default value).
    pub location: Location,
    /// What happened.
    pub kind: ConfigWarningKind,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.location.is_unknown() {
            write!(f, "{}: ", self.location)?;
        }
        let key = &self.key;
        match &self.kind {
            ConfigWarningKind::IdempotenceDisabled { because } => {
                write!(f, "Idempotence will be disabled because {because}.")
            }
            ConfigWarningKind::DeliveryTimeoutRaised { from_ms, to_ms } => write!(
                f,
                "delivery.timeout.ms should be equal to or larger than linger.ms + \
                 request.timeout.ms. Setting it to {to_ms} (the default {from_ms} is too small)."
            ),
            ConfigWarningKind::RetryBackoffFlat {
                retry_backoff_ms,
                retry_backoff_max_ms,
            } => write!(
                f,
                "Configuration 'retry.backoff.ms' with value '{retry_backoff_ms}' is greater than \
                 configuration 'retry.backoff.max.ms' with value '{retry_backoff_max_ms}'. A static \
                 backoff with value '{retry_backoff_max_ms}' will be applied."
            ),
            ConfigWarningKind::ConnectionSetupTimeoutFlat {
                setup_timeout_ms,
                setup_timeout_max_ms,
            } => write!(
                f,
                "Configuration 'socket.connection.setup.timeout.ms' with value '{setup_timeout_ms}' \
                 is greater than configuration 'socket.connection.setup.timeout.max.ms' with value \
                 '{setup_timeout_max_ms}'. A static connection setup timeout with value \
                 '{setup_timeout_max_ms}' will be applied."
            ),
            ConfigWarningKind::ReconnectBackoffFlat => f.write_str(
                "Disabling exponential reconnect backoff because reconnect.backoff.ms is set, but \
                 reconnect.backoff.max.ms is not.",
            ),
            ConfigWarningKind::NotModelled { keys } => write!(
                f,
                "accepted, not simulated (linger runs without them): {}",
                keys.join(", ")
            ),
            ConfigWarningKind::Unused => write!(
                f,
                "The configuration '{key}' was supplied but isn't a known config; ignored, as \
                 Kafka only logs it (`These configurations ... were supplied but are not used \
                 yet`)"
            ),
            ConfigWarningKind::NotInVersion { since, version } => write!(
                f,
                "The configuration '{key}' was supplied but isn't a known config in Kafka \
                 {version} (added in {since}); ignored."
            ),
            ConfigWarningKind::BatchLargerThanBufferMemory {
                batch_size,
                buffer_memory,
            } => write!(
                f,
                "batch.size {batch_size} is larger than buffer.memory {buffer_memory}: every \
                 send will fail (BufferPool.allocate refuses more than the pool holds)."
            ),
            ConfigWarningKind::DuplicateKey { earlier } => write!(
                f,
                "`{key}` is set more than once; this value overrides the one at {earlier}."
            ),
        }
    }
}
