//! Producer configuration with Kafka's key names, defaults and validation.
//!
//! [`ProducerConfig`] is the typed, effective configuration the accumulator and the sender read.
//! The rest of this module turns user input (raw key/value entries with source locations, for
//! example from a Java properties file) into one, with Kafka's type coercion, range checks and
//! `ConfigException` rules, and lists the effective values for `linger check-config`.
//!
//! ```text
//!  properties bytes --parse_properties--> ConfigEntry { key, RawValue, Location } --+
//!  TOML [producer] (experiments::producer_toml) ------------------------------------+
//!                                                                                   v
//!   ProducerConfig::from_entries(KafkaVersion, entries)
//!     1. per key: known? type (ConfigDef.parseType), range (ConfigDef.Range / ValidString)
//!     2. post-process: backoffs, idempotence, transactional.id (ProducerConfig.java)
//!     3. delivery.timeout.ms vs linger.ms + request.timeout.ms (KafkaProducer.java)
//!                                                                                   v
//!   Ok(Resolved { config, warnings })  |  Err(ConfigErrors { errors, warnings })
//!                                                                                   v
//!   Resolved::effective_listing() / check_config_lines(&result)  (for `linger check-config`)
//! ```
//!
//! Units: durations in milliseconds and sizes in bytes, as Kafka's keys have them; the
//! caller converts to simulated nanoseconds.
//!
//! Ranges: every value `ConfigDef` accepts is accepted, and can be converted to nanoseconds
//! without overflow. `INT` durations (`delivery.timeout.ms`, `request.timeout.ms`) fit as they
//! are. `linger.ms` is a `LONG` in `ProducerConfig.CONFIG`, but the `KafkaProducer`
//! constructor hands the accumulator `KafkaProducer.lingerMs`, which is
//! `(int) Math.min(config.getLong(LINGER_MS_CONFIG), Integer.MAX_VALUE)`
//! ([`ProducerConfig::linger_ms_effective`]; `configureDeliveryTimeout` uses the same clamp).
//! The other `LONG` durations (`max.block.ms`, `retry.backoff.ms`, `retry.backoff.max.ms`,
//! `reconnect.backoff.ms`, `reconnect.backoff.max.ms`, `metadata.max.age.ms`,
//! `partitioner.availability.timeout.ms`) go into the client's deadline and
//! `ExponentialBackoff` arithmetic; [`modelled_ns`] caps them at [`MODELLED_DURATION_MS_MAX`]
//! (10^12 ms), beyond the end of any simulated run, so `Long.MAX_VALUE` means "never" there
//! too. The listing shows the values as written, as Kafka's `ProducerConfig` would.
//!
//! Fidelity: follows `ProducerConfig.java` (the `CONFIG` definition and
//! `postProcessAndValidateIdempotenceConfigs`), `CommonClientConfigs.java` (backoff
//! post-processing) and `KafkaProducer.configureDeliveryTimeout`, for Kafka 3.0 to 4.2
//! ([`KafkaVersion`]). Simplified: Kafka throws at the first bad key, linger reports them all;
//! keys Kafka knows but linger does not model, and the keys of the ecosystem around the
//! producer (Schema Registry serializers, TLS, SASL), are accepted without type checks and listed
//! as not simulated; an unknown key close to a known one is an error with the suggestion (Kafka
//! only logs it, `AbstractConfig.logUnused`, and the run would silently use the default, so a
//! typo would silently change an experiment), and any other unknown key is a warning, as Kafka
//! logs it.
//!
//! ```
//! use batching::config::{KafkaVersion, ProducerConfig, parse_properties};
//!
//! let text = b"acks=1\nlinger.ms=20\n";
//! let entries = parse_properties(text, Some("producer.properties"))?;
//! let resolved = ProducerConfig::from_entries(KafkaVersion::V4_0, entries)?;
//! assert_eq!(resolved.config.linger_ms, 20);
//! // acks=1 silently disables the default idempotence (an INFO log in Kafka, a warning here).
//! assert!(!resolved.config.enable_idempotence);
//! assert_eq!(resolved.warnings.len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod coerce;
mod error;
mod keys;
mod listing;
mod producer;
mod properties;
mod raw;
mod resolve;
mod suggest;

pub use error::{ConfigError, ConfigErrorKind, ConfigErrors, ConfigWarning, ConfigWarningKind};
pub use keys::{KAFKA_VERSION_KEY, not_simulated_keys};
pub use listing::{EffectiveEntry, Origin, check_config_lines};
pub use producer::{
    Acks, CompressionType, KafkaVersion, MODELLED_DURATION_MS_MAX, PartitionerClass,
    ProducerConfig, modelled_ns,
};
pub use properties::{PropertiesError, PropertiesErrorKind, parse_properties};
pub use raw::{ConfigEntry, Location, RawValue};
pub use resolve::Resolved;

#[cfg(test)]
mod tests_properties;
#[cfg(test)]
mod tests_resolve;
