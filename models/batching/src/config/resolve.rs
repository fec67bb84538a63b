//! From raw entries to an effective [`ProducerConfig`]: Kafka's parsing, post-processing and
//! `ConfigException` rules, in Kafka's order.
//!
//! 1. Per key (`ConfigDef.parse`): unknown keys, types, ranges. linger reports every bad key at
//!    once, where Kafka stops at the first.
//! 2. `ProducerConfig.postProcessParsedConfig`: reconnect backoff
//!    (`CommonClientConfigs.postProcessReconnectBackoffConfigs`), retry backoff warning
//!    (`warnDisablingExponentialBackoff`), idempotence and `transactional.id`
//!    (`postProcessAndValidateIdempotenceConfigs`, facts §1.2).
//! 3. `KafkaProducer.configureDeliveryTimeout`: `delivery.timeout.ms` against
//!    `linger.ms + request.timeout.ms`.
//!
//! Step 2 and 3 run only when step 1 found no error, as in Kafka, where the constructor has
//! already thrown by then.

use std::collections::BTreeMap;

use super::error::{ConfigError, ConfigErrorKind, ConfigErrors, ConfigWarning, ConfigWarningKind};
use super::keys::{self, KAFKA_VERSION_KEY};
use super::producer::{Acks, KafkaVersion, ProducerConfig};
use super::raw::{ConfigEntry, Location, RawValue};
use super::suggest;

/// A valid configuration with its remarks and the provenance of every value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The effective configuration.
    pub config: ProducerConfig,
    /// What Kafka would have logged at INFO or WARN while building it.
    pub warnings: Vec<ConfigWarning>,
    /// Modelled keys the user set (including `linger.kafka.version`), with their locations.
    pub(crate) user_set: BTreeMap<&'static str, Location>,
    /// Keys whose value post-processing changed, with the reason.
    pub(crate) adjusted: BTreeMap<&'static str, String>,
}

impl Resolved {
    /// Whether the user set `key` (Kafka's `originals().containsKey(key)`).
    pub fn is_user_set(&self, key: &str) -> bool {
        self.user_set.contains_key(key)
    }

    /// Why post-processing changed `key`, if it did.
    pub fn adjustment(&self, key: &str) -> Option<&str> {
        self.adjusted.get(key).map(String::as_str)
    }
}

/// Working state while resolving one configuration.
struct Resolver {
    config: ProducerConfig,
    warnings: Vec<ConfigWarning>,
    errors: Vec<ConfigError>,
    user_set: BTreeMap<&'static str, Location>,
    adjusted: BTreeMap<&'static str, String>,
}

impl ProducerConfig {
    /// Builds the effective config from user entries, with Kafka's rules for `version`.
    ///
    /// `version` is the default profile; an entry `linger.kafka.version = "3.6"` overrides it.
    /// When a key appears more than once the last value wins, as in Java's `Properties`; a
    /// repeat within one file is reported as a warning.
    pub fn from_entries<I, E>(version: KafkaVersion, entries: I) -> Result<Resolved, ConfigErrors>
    where
        I: IntoIterator<Item = E>,
        E: Into<ConfigEntry>,
    {
        let mut warnings = Vec::new();
        let entries = last_value_wins(entries.into_iter().map(Into::into), &mut warnings);
        let mut resolver = Resolver {
            config: ProducerConfig::defaults(version),
            warnings,
            errors: Vec::new(),
            user_set: BTreeMap::new(),
            adjusted: BTreeMap::new(),
        };
        resolver.select_version(&entries);
        if resolver.errors.is_empty() {
            resolver.parse_keys(&entries);
        }
        if resolver.errors.is_empty() {
            resolver.post_process();
        }
        resolver.finish()
    }
}

/// Keeps the last value of each key, in the order of the last occurrences, and warns about a
/// key repeated within one file. A later file overriding an earlier one (TOML over a
/// properties file) is intended and not reported.
fn last_value_wins(
    entries: impl Iterator<Item = ConfigEntry>,
    warnings: &mut Vec<ConfigWarning>,
) -> Vec<ConfigEntry> {
    let mut kept: Vec<ConfigEntry> = Vec::new();
    for entry in entries {
        if let Some(index) = kept.iter().position(|earlier| earlier.key == entry.key) {
            let earlier = kept.remove(index);
            if earlier.location.file == entry.location.file {
                warnings.push(ConfigWarning {
                    key: entry.key.clone(),
                    location: entry.location.clone(),
                    kind: ConfigWarningKind::DuplicateKey {
                        earlier: earlier.location,
                    },
                });
            }
        }
        kept.push(entry);
    }
    kept
}

impl Resolver {
    fn error(&mut self, key: &str, location: Location, kind: ConfigErrorKind) {
        self.errors.push(ConfigError {
            key: key.to_owned(),
            location,
            kind,
        });
    }

    fn warn(&mut self, key: &str, kind: ConfigWarningKind) {
        let location = self.location_of(key);
        self.warnings.push(ConfigWarning {
            key: key.to_owned(),
            location,
            kind,
        });
    }

    fn location_of(&self, key: &str) -> Location {
        self.user_set.get(key).cloned().unwrap_or_default()
    }

    fn adjust(&mut self, key: &'static str, reason: impl Into<String>) {
        self.adjusted.insert(key, reason.into());
    }

    fn finish(self) -> Result<Resolved, ConfigErrors> {
        if self.errors.is_empty() {
            Ok(Resolved {
                config: self.config,
                warnings: self.warnings,
                user_set: self.user_set,
                adjusted: self.adjusted,
            })
        } else {
            Err(ConfigErrors {
                errors: self.errors,
                warnings: self.warnings,
            })
        }
    }

    /// Applies `linger.kafka.version` if present: it decides every default, so it goes first.
    fn select_version(&mut self, entries: &[ConfigEntry]) {
        let Some(entry) = entries.iter().find(|entry| entry.key == KAFKA_VERSION_KEY) else {
            return;
        };
        let parsed = match &entry.value {
            RawValue::Str(text) => KafkaVersion::parse(text),
            _ => None,
        };
        match parsed {
            Some(version) => {
                self.config = ProducerConfig::defaults(version);
                self.user_set
                    .insert(KAFKA_VERSION_KEY, entry.location.clone());
            }
            None => {
                let hint = match entry.value {
                    RawValue::Float(_) | RawValue::Int(_) => " written as a string",
                    _ => "",
                };
                let reason = format!("Must be a Kafka release {}{hint}", KafkaVersion::SUPPORTED);
                let kind = ConfigErrorKind::InvalidValue {
                    value: entry.value.to_string(),
                    reason,
                };
                self.error(KAFKA_VERSION_KEY, entry.location.clone(), kind);
            }
        }
    }

    /// Step 1: every key on its own.
    fn parse_keys(&mut self, entries: &[ConfigEntry]) {
        let mut not_modelled: Vec<(String, Location)> = Vec::new();
        for entry in entries {
            if entry.key == KAFKA_VERSION_KEY {
                continue;
            }
            if let Some(def) = keys::find(&entry.key) {
                self.parse_modelled(def, entry);
            } else if keys::not_simulated_reason(&entry.key).is_some() {
                not_modelled.push((entry.key.clone(), entry.location.clone()));
            } else {
                // A near miss of a known key is a typo that would silently run with the
                // default: an error. Anything else Kafka only logs as unused, and so does linger.
                match suggest::suggest(&entry.key, keys::all_known()) {
                    Some(known) => {
                        let suggestion = Some(known.to_owned());
                        let kind = ConfigErrorKind::UnknownKey { suggestion };
                        self.error(&entry.key, entry.location.clone(), kind);
                    }
                    None => self.warnings.push(ConfigWarning {
                        key: entry.key.clone(),
                        location: entry.location.clone(),
                        kind: ConfigWarningKind::Unused,
                    }),
                }
            }
        }
        if let Some((first_key, first_location)) = not_modelled.first().cloned() {
            self.warnings.push(ConfigWarning {
                key: first_key,
                location: first_location,
                kind: ConfigWarningKind::NotModelled {
                    keys: not_modelled.into_iter().map(|(key, _)| key).collect(),
                },
            });
        }
    }

    fn parse_modelled(&mut self, def: &'static keys::KeyDef, entry: &ConfigEntry) {
        let version = self.config.kafka_version;
        let introduced = def
            .since
            .filter(|&(major, minor)| !version.at_least(major, minor));
        if let Some((major, minor)) = introduced {
            self.warnings.push(ConfigWarning {
                key: entry.key.clone(),
                location: entry.location.clone(),
                kind: ConfigWarningKind::NotInVersion {
                    since: format!("{major}.{minor}"),
                    version: version.to_string(),
                },
            });
            return;
        }
        match (def.apply)(&mut self.config, &entry.value) {
            Ok(()) => {
                self.user_set.insert(def.name, entry.location.clone());
            }
            Err(invalid) => {
                let kind = ConfigErrorKind::InvalidValue {
                    value: invalid.value,
                    reason: invalid.reason,
                };
                self.error(def.name, entry.location.clone(), kind);
            }
        }
    }

    /// Steps 2 and 3, in Kafka's order.
    fn post_process(&mut self) {
        self.post_process_retry_backoff();
        self.post_process_reconnect_backoff();
        self.post_process_connection_setup_timeout();
        self.validate_idempotence();
        if self.errors.is_empty() {
            self.validate_transactional_id();
        }
        if self.errors.is_empty() {
            self.configure_delivery_timeout();
        }
        self.check_batch_fits_buffer_memory();
    }

    /// Kafka takes `batch.size` > `buffer.memory` without complaint, but then no batch buffer
    /// can ever be allocated (`BufferPool.allocate` throws `IllegalArgumentException`): say so.
    fn check_batch_fits_buffer_memory(&mut self) {
        let (batch_size, buffer_memory) = (self.config.batch_size, self.config.buffer_memory);
        if u64::from(batch_size) > buffer_memory {
            let kind = ConfigWarningKind::BatchLargerThanBufferMemory {
                batch_size,
                buffer_memory,
            };
            self.warn("batch.size", kind);
        }
    }

    /// Before 3.7 the retry backoff is flat; from 3.7 a `retry.backoff.ms` above
    /// `retry.backoff.max.ms` gives a flat backoff of the maximum (`ExponentialBackoff` takes
    /// the smaller of the two as its start).
    fn post_process_retry_backoff(&mut self) {
        let config = &mut self.config;
        if !config.kafka_version.has_exponential_retry_backoff() {
            if config.retry_backoff_max_ms != config.retry_backoff_ms {
                config.retry_backoff_max_ms = config.retry_backoff_ms;
                self.adjust(
                    "retry.backoff.max.ms",
                    "flat retry backoff before Kafka 3.7: equal to retry.backoff.ms",
                );
            }
            return;
        }
        let (initial, max) = (config.retry_backoff_ms, config.retry_backoff_max_ms);
        if initial > max {
            config.retry_backoff_ms = max;
            self.adjust(
                "retry.backoff.ms",
                format!("was {initial}, above retry.backoff.max.ms: a static backoff of {max}"),
            );
            let kind = ConfigWarningKind::RetryBackoffFlat {
                retry_backoff_ms: initial,
                retry_backoff_max_ms: max,
            };
            self.warn("retry.backoff.ms", kind);
        }
    }

    /// `CommonClientConfigs.warnDisablingExponentialBackoff`: a setup timeout above its
    /// maximum becomes a static timeout of the maximum (`ExponentialBackoff` takes the smaller).
    fn post_process_connection_setup_timeout(&mut self) {
        let config = &mut self.config;
        let (initial, max) = (
            config.socket_connection_setup_timeout_ms,
            config.socket_connection_setup_timeout_max_ms,
        );
        if initial > max {
            config.socket_connection_setup_timeout_ms = max;
            self.adjust(
                "socket.connection.setup.timeout.ms",
                format!(
                    "was {initial}, above socket.connection.setup.timeout.max.ms: a static timeout of {max}"
                ),
            );
            let kind = ConfigWarningKind::ConnectionSetupTimeoutFlat {
                setup_timeout_ms: initial,
                setup_timeout_max_ms: max,
            };
            self.warn("socket.connection.setup.timeout.ms", kind);
        }
    }

    /// `reconnect.backoff.ms` set without `reconnect.backoff.max.ms` makes the maximum equal
    /// to it (flat reconnect backoff).
    fn post_process_reconnect_backoff(&mut self) {
        if self.user_set.contains_key("reconnect.backoff.ms")
            && !self.user_set.contains_key("reconnect.backoff.max.ms")
        {
            let flat = self.config.reconnect_backoff_ms;
            if self.config.reconnect_backoff_max_ms != flat {
                self.config.reconnect_backoff_max_ms = flat;
                self.adjust(
                    "reconnect.backoff.max.ms",
                    "reconnect.backoff.ms set alone: flat reconnect backoff",
                );
            }
            self.warn(
                "reconnect.backoff.ms",
                ConfigWarningKind::ReconnectBackoffFlat,
            );
        }
    }

    /// Facts §1.2: all checks use the value from before any disabling, so on 4.x `acks=1`
    /// plus `max.in.flight=10` with default idempotence still throws.
    fn validate_idempotence(&mut self) {
        if !self.config.enable_idempotence {
            return;
        }
        let mut explicit = self.user_set.contains_key("enable.idempotence");
        if self
            .config
            .kafka_version
            .idempotence_needs_explicit_setting()
        {
            // KAFKA-13598: `idempotenceEnabled()` ignores the default; a transactional id
            // still turns idempotence on (`maybeOverrideEnableIdempotence`). When it is on,
            // `maybeOverrideAcksAndRetries` and `configureInflightRequests` throw on every
            // conflict, as for an explicit setting on the fixed releases.
            if !explicit && self.config.transactional_id.is_none() {
                self.config.enable_idempotence = false;
                let version = self.config.kafka_version;
                self.adjust(
                    "enable.idempotence",
                    format!(
                        "off: Kafka {version} enables idempotence only when enable.idempotence \
                         is set explicitly (KAFKA-13598, fixed in 3.0.1, 3.1.1 and 3.2.0)"
                    ),
                );
                return;
            }
            explicit = true;
        }
        let mut disable_because: Vec<(&'static str, String)> = Vec::new();
        if self.config.retries == 0 {
            if explicit {
                self.conflict("retries", ConfigErrorKind::IdempotenceNeedsRetries);
            } else {
                disable_because.push(("retries", "retries is set to 0".to_owned()));
            }
        }
        if self.config.acks != Acks::All {
            if explicit {
                self.conflict("acks", ConfigErrorKind::IdempotenceNeedsAcksAll);
            } else {
                let acks = self.config.acks;
                let because = format!("acks is set to {acks}, not set to 'all'");
                disable_because.push(("acks", because));
            }
        }
        let max_in_flight = self.config.max_in_flight_requests_per_connection;
        if max_in_flight > 5 {
            let throws = explicit
                || self
                    .config
                    .kafka_version
                    .in_flight_over_five_always_throws();
            if throws {
                let kind = ConfigErrorKind::IdempotenceNeedsInFlightAtMostFive { max_in_flight };
                self.conflict("max.in.flight.requests.per.connection", kind);
            } else {
                let key = "max.in.flight.requests.per.connection";
                disable_because.push((key, format!("{key} is set to {max_in_flight}, above 5")));
            }
        }
        if self.errors.is_empty() && !disable_because.is_empty() {
            self.disable_idempotence(disable_because);
        }
    }

    fn conflict(&mut self, key: &str, kind: ConfigErrorKind) {
        let location = self.location_of(key);
        self.error(key, location, kind);
    }

    /// Kafka logs one INFO line per conflict and turns idempotence off.
    fn disable_idempotence(&mut self, reasons: Vec<(&'static str, String)>) {
        self.config.enable_idempotence = false;
        let summary: Vec<&str> = reasons
            .iter()
            .map(|(_, because)| because.as_str())
            .collect();
        self.adjust(
            "enable.idempotence",
            format!("disabled: {}", summary.join("; ")),
        );
        for (key, because) in reasons {
            self.warn(key, ConfigWarningKind::IdempotenceDisabled { because });
        }
    }

    fn validate_transactional_id(&mut self) {
        if self.config.transactional_id.is_some() && !self.config.enable_idempotence {
            self.conflict(
                "transactional.id",
                ConfigErrorKind::TransactionalIdNeedsIdempotence,
            );
        }
    }

    /// `KafkaProducer.configureDeliveryTimeout`: linger is clamped to `i32::MAX` and the sum
    /// is capped at `i32::MAX`.
    fn configure_delivery_timeout(&mut self) {
        let linger_ms = u64::from(self.config.linger_ms_effective());
        let sum = linger_ms + u64::from(self.config.request_timeout_ms);
        let minimum_ms = u32::try_from(sum.min(i32::MAX as u64)).expect("capped at MAX_INT");
        let delivery_timeout_ms = self.config.delivery_timeout_ms;
        if delivery_timeout_ms >= minimum_ms {
            return;
        }
        if self.user_set.contains_key("delivery.timeout.ms") {
            let kind = ConfigErrorKind::DeliveryTimeoutTooSmall {
                delivery_timeout_ms,
                minimum_ms,
            };
            self.conflict("delivery.timeout.ms", kind);
        } else {
            self.config.delivery_timeout_ms = minimum_ms;
            self.adjust(
                "delivery.timeout.ms",
                format!("raised from the default {delivery_timeout_ms} to linger.ms + request.timeout.ms"),
            );
            let kind = ConfigWarningKind::DeliveryTimeoutRaised {
                from_ms: delivery_timeout_ms,
                to_ms: minimum_ms,
            };
            self.warn("delivery.timeout.ms", kind);
        }
    }
}
