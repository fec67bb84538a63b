//! Which delivery guarantee a producer configuration promises, and how to say in plain words
//! whether a run kept it.
//!
//! A delivery guarantee is a property of the configuration, checked against what a run
//! observed; a run that happened to lose nothing does not turn `acks=0` into at-least-once.
//! The promises follow the Java client (`ProducerConfig.postProcessAndValidateIdempotenceConfigs`,
//! `Sender`, `RecordAccumulator`):
//!
//! | configuration                                   | promise                                    |
//! |-------------------------------------------------|--------------------------------------------|
//! | `acks=0`                                        | at most once: nothing is confirmed         |
//! | idempotence off, `retries=0`                    | at most once per send: no resend           |
//! | idempotence off, `retries>0`                    | at least once: a retry may duplicate       |
//! | idempotence on (implies `acks=all`)             | exactly once, in order, per partition      |
//! | any key unknown                                 | none claimed; only what was observed       |
//!
//! `acks=1` keeps its promise only while the partition leader survives: a failover can lose
//! records the leader acknowledged alone.

use std::collections::BTreeMap;
use std::fmt;

use crate::sweep::{Point, Sweep, short_name};

/// `acks`, as far as the delivery promise is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Acks {
    /// `acks=0`: no answer is awaited, so nothing is confirmed.
    Zero,
    /// `acks=1`: the leader alone has the record when it answers.
    One,
    /// `acks=all` (or `-1`): every in-sync replica has it.
    All,
}

impl Acks {
    /// Parses a value as written in a results cell or an experiment file.
    pub(crate) fn parse(text: &str) -> Option<Acks> {
        match text.trim().trim_matches('"').to_ascii_lowercase().as_str() {
            "0" => Some(Acks::Zero),
            "1" => Some(Acks::One),
            "all" | "-1" => Some(Acks::All),
            _ => None,
        }
    }
}

impl fmt::Display for Acks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Acks::Zero => "0",
            Acks::One => "1",
            Acks::All => "all",
        })
    }
}

/// The producer settings that decide the delivery promise; `None` means not known.
///
/// `enable_idempotence` is the effective value (after Kafka silently disables a default
/// idempotence for `acks` other than `all`, `retries=0` or, before 4.0, more than five
/// in-flight requests).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeliveryConfig {
    /// `acks`.
    pub acks: Option<Acks>,
    /// Effective `enable.idempotence`.
    pub enable_idempotence: Option<bool>,
    /// `retries`.
    pub retries: Option<u64>,
    /// `max.in.flight.requests.per.connection`.
    pub max_in_flight: Option<u64>,
}

/// What a configuration promises (see the module table).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Promise {
    /// `acks=0`.
    Unconfirmed,
    /// Idempotence off, `retries=0`.
    NoResend,
    /// Idempotence off, `retries>0`.
    AtLeastOnce,
    /// Idempotence on with `acks=all`.
    ExactlyOnceInOrder,
    /// A deciding key is unknown.
    Unknown,
}

impl DeliveryConfig {
    /// The promise of this configuration.
    pub(crate) fn promise(&self) -> Promise {
        match (self.acks, self.enable_idempotence, self.retries) {
            (Some(Acks::Zero), _, _) => Promise::Unconfirmed,
            (Some(Acks::All), Some(true), _) => Promise::ExactlyOnceInOrder,
            (Some(_), Some(false), Some(0)) => Promise::NoResend,
            (Some(_), Some(false), Some(_)) => Promise::AtLeastOnce,
            _ => Promise::Unknown,
        }
    }

    /// Whether retries may reorder records: idempotence off, retries on, and more than one
    /// request in flight (or an unknown in-flight limit).
    pub(crate) fn may_reorder(&self) -> bool {
        self.enable_idempotence == Some(false)
            && self.retries != Some(0)
            && self.max_in_flight.is_none_or(|n| n > 1)
    }
}

/// The effective idempotence from the values in force: an explicit value wins; the default
/// (`true` since Kafka 3.0) is switched off by `acks` other than `all`, `retries=0` or more
/// than five in-flight requests. `None` when a deciding value is unknown.
pub(crate) fn effective_idempotence(
    explicit: Option<bool>,
    acks: Option<Acks>,
    retries: Option<u64>,
    max_in_flight: Option<u64>,
) -> Option<bool> {
    if explicit.is_some() {
        return explicit;
    }
    if acks.is_some_and(|a| a != Acks::All) || retries == Some(0) || max_in_flight > Some(5) {
        return Some(false);
    }
    match (acks, retries, max_in_flight) {
        (Some(_), Some(_), Some(_)) => Some(true),
        _ => None,
    }
}

/// Parses a boolean as written in a results cell or an experiment file.
pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().trim_matches('"').to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// Parses a non-negative integer as written in a results cell or an experiment file.
pub(crate) fn parse_count(text: &str) -> Option<u64> {
    text.trim().trim_matches('"').parse().ok()
}

/// The `[producer]` values of the experiment copy in a results directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ExperimentProducer {
    /// No experiment copy, or one that does not parse: only the axes are known.
    Unknown,
    /// The `[producer]` table as text values. Without a `properties` file every key not set is
    /// at Kafka's default; with one, a key not set here is unknown.
    Known {
        /// Key (`acks`, `enable.idempotence`, ...) to value as written.
        values: BTreeMap<String, String>,
        /// Whether a `properties` file may set further keys.
        properties_file: bool,
    },
}

impl ExperimentProducer {
    /// Reads `[producer]` from the directory's `experiment.toml`, else its only `*.toml` file.
    pub(crate) fn from_files(files: &[(String, String)]) -> ExperimentProducer {
        let copy = files
            .iter()
            .find(|(name, _)| name == "experiment.toml")
            .or(match files {
                [only] => Some(only),
                _ => None,
            });
        let Some((_, text)) = copy else {
            return ExperimentProducer::Unknown;
        };
        let Ok(table) = text.parse::<toml::Table>() else {
            return ExperimentProducer::Unknown;
        };
        let mut values = BTreeMap::new();
        if let Some(producer) = table.get("producer").and_then(toml::Value::as_table) {
            for (key, value) in producer {
                let text = match value {
                    toml::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                values.insert(key.clone(), text);
            }
        }
        let properties_file = values.contains_key("properties");
        ExperimentProducer::Known {
            values,
            properties_file,
        }
    }
}

/// Where the value of one producer key comes from.
enum Setting {
    /// Set to this text (an axis value or the experiment copy).
    Value(String),
    /// Not set anywhere, so Kafka's default applies.
    Default,
    /// Cannot be known from the files.
    Unknown,
}

fn setting(sweep: &Sweep, point: &Point, producer: &ExperimentProducer, key: &str) -> Setting {
    let axis = sweep
        .axes
        .iter()
        .position(|&column| short_name(&sweep.columns[column]) == key);
    if let Some(value) = axis.and_then(|a| point.axis_values.get(a)) {
        return Setting::Value(value.clone());
    }
    match producer {
        ExperimentProducer::Unknown => Setting::Unknown,
        ExperimentProducer::Known {
            values,
            properties_file,
        } => match values.get(key) {
            Some(value) => Setting::Value(value.clone()),
            None if *properties_file => Setting::Unknown,
            None => Setting::Default,
        },
    }
}

/// The delivery settings of `point`: its axis values, else the experiment copy, else Kafka's
/// defaults when the copy is complete. A run warning that idempotence was disabled is final.
pub(crate) fn point_config(
    sweep: &Sweep,
    point: &Point,
    producer: &ExperimentProducer,
    warnings: &[String],
) -> DeliveryConfig {
    let value = |key: &str, default: Option<&str>| match setting(sweep, point, producer, key) {
        Setting::Value(v) => Known::Value(v),
        Setting::Default => default.map_or(Known::Default, |d| Known::Value(d.to_owned())),
        Setting::Unknown => Known::Unknown,
    };
    // Kafka's defaults: acks=all, retries=Integer.MAX_VALUE, five requests in flight.
    let acks = value("acks", Some("all")).map(|v| Acks::parse(&v));
    let retries = value("retries", Some("2147483647")).map(|v| parse_count(&v));
    let max_in_flight =
        value("max.in.flight.requests.per.connection", Some("5")).map(|v| parse_count(&v));
    let disabled_by_warning = warnings
        .iter()
        .any(|w| w.contains("Idempotence will be disabled"));
    let enable_idempotence = if disabled_by_warning {
        Some(false)
    } else {
        match value("enable.idempotence", None) {
            Known::Value(v) => parse_bool(&v),
            Known::Default => effective_idempotence(None, acks, retries, max_in_flight),
            // An explicit `true` with a conflict is refused, so a run that sent records had
            // idempotence off whenever the conflicts switch off the default.
            Known::Unknown => {
                effective_idempotence(None, acks, retries, max_in_flight).filter(|on| !on)
            }
        }
    };
    DeliveryConfig {
        acks,
        enable_idempotence,
        retries,
        max_in_flight,
    }
}

/// A setting's text after defaults: set, left at a default with no text, or unknown.
enum Known {
    Value(String),
    Default,
    Unknown,
}

impl Known {
    /// Parses a set value; `None` for a default without text or an unknown value.
    fn map<T>(self, parse: impl Fn(String) -> Option<T>) -> Option<T> {
        match self {
            Known::Value(v) => parse(v),
            Known::Default | Known::Unknown => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(acks: Acks, idempotence: bool, retries: u64) -> DeliveryConfig {
        DeliveryConfig {
            acks: Some(acks),
            enable_idempotence: Some(idempotence),
            retries: Some(retries),
            max_in_flight: Some(5),
        }
    }

    #[test]
    fn acks0_never_promises_at_least_once() {
        assert_eq!(config(Acks::Zero, false, 5).promise(), Promise::Unconfirmed);
        // Even a config that says idempotence on cannot promise more with acks=0.
        assert_eq!(config(Acks::Zero, true, 5).promise(), Promise::Unconfirmed);
    }

    #[test]
    fn promise_follows_idempotence_and_retries() {
        assert_eq!(
            config(Acks::All, true, 5).promise(),
            Promise::ExactlyOnceInOrder
        );
        assert_eq!(config(Acks::All, false, 5).promise(), Promise::AtLeastOnce);
        assert_eq!(config(Acks::One, false, 0).promise(), Promise::NoResend);
        let unknown = DeliveryConfig {
            acks: Some(Acks::All),
            ..DeliveryConfig::default()
        };
        assert_eq!(unknown.promise(), Promise::Unknown);
    }

    #[test]
    fn default_idempotence_is_disabled_by_conflicts_and_unknown_when_unsure() {
        let all = Some(Acks::All);
        assert_eq!(
            effective_idempotence(None, all, Some(9), Some(5)),
            Some(true)
        );
        assert_eq!(
            effective_idempotence(None, Some(Acks::One), None, None),
            Some(false)
        );
        assert_eq!(effective_idempotence(None, all, Some(0), None), Some(false));
        assert_eq!(effective_idempotence(None, all, None, Some(5)), None);
        assert_eq!(
            effective_idempotence(Some(false), all, Some(1), Some(1)),
            Some(false)
        );
    }

    #[test]
    fn values_parse_as_written_in_cells_and_files() {
        assert_eq!(Acks::parse("\"all\""), Some(Acks::All));
        assert_eq!(Acks::parse("-1"), Some(Acks::All));
        assert_eq!(Acks::parse("2"), None);
        assert_eq!(parse_bool("TRUE"), Some(true));
        assert_eq!(parse_count("2147483647"), Some(2_147_483_647));
        assert_eq!(parse_count("-1"), None);
    }
}
