//! The effective-config listing behind `linger check-config`: every key, in a fixed order,
//! with its effective value and where that value came from.
//!
//! This is a pure function of a resolution result; the command line only prints the lines.

use super::error::ConfigErrors;
use super::keys::{KAFKA_VERSION_KEY, KEYS};
use super::raw::Location;
use super::resolve::Resolved;

/// Where an effective value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The default of the selected Kafka release.
    Default,
    /// Set by the user, unchanged.
    UserSet,
    /// Changed by Kafka's post-processing (e.g. `delivery.timeout.ms` raised, idempotence
    /// disabled), whether or not the user set it.
    Adjusted {
        /// What changed and why.
        reason: String,
    },
}

/// One row of the listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectiveEntry {
    /// The key.
    pub key: &'static str,
    /// The effective value, written as it would be in a properties file.
    pub value: String,
    /// Where the value came from.
    pub origin: Origin,
    /// Where the user set the key (unknown when they did not).
    pub location: Location,
    /// A remark shown after the origin (the version row names the patch release whose
    /// defaults the profile follows).
    pub note: Option<String>,
}

impl Resolved {
    /// Every key, `linger.kafka.version` first and then Kafka's keys in the facts-table order.
    pub fn effective_listing(&self) -> Vec<EffectiveEntry> {
        let version_row = EffectiveEntry {
            key: KAFKA_VERSION_KEY,
            value: self.config.kafka_version.to_string(),
            origin: self.origin_of(KAFKA_VERSION_KEY),
            location: self
                .user_set
                .get(KAFKA_VERSION_KEY)
                .cloned()
                .unwrap_or_default(),
            note: Some(format!(
                "the defaults and rules of Kafka {}",
                self.config.kafka_version.defaults_release()
            )),
        };
        let key_rows = KEYS.iter().map(|def| EffectiveEntry {
            key: def.name,
            value: (def.show)(&self.config),
            origin: self.origin_of(def.name),
            location: self.user_set.get(def.name).cloned().unwrap_or_default(),
            note: None,
        });
        std::iter::once(version_row).chain(key_rows).collect()
    }

    fn origin_of(&self, key: &str) -> Origin {
        match (self.adjusted.get(key), self.user_set.contains_key(key)) {
            (Some(reason), _) => Origin::Adjusted {
                reason: reason.clone(),
            },
            (None, true) => Origin::UserSet,
            (None, false) => Origin::Default,
        }
    }
}

/// Renders one row: `key = value  # origin`.
fn row_line(row: &EffectiveEntry) -> String {
    let origin = match (&row.origin, row.location.is_unknown()) {
        (Origin::Default, _) => "default".to_owned(),
        (Origin::UserSet, true) => "set".to_owned(),
        (Origin::UserSet, false) => format!("set at {}", row.location),
        (Origin::Adjusted { reason }, true) => format!("adjusted: {reason}"),
        (Origin::Adjusted { reason }, false) => {
            format!("adjusted: {reason} (set at {})", row.location)
        }
    };
    match &row.note {
        Some(note) => format!("{:<42} = {:<24} # {origin}; {note}", row.key, row.value),
        None => format!("{:<42} = {:<24} # {origin}", row.key, row.value),
    }
}

/// The lines `linger check-config` prints: the listing, then `warning:` lines; or, for a
/// rejected configuration, `warning:` lines then `error:` lines.
pub fn check_config_lines(result: &Result<Resolved, ConfigErrors>) -> Vec<String> {
    match result {
        Ok(resolved) => {
            let rows = resolved.effective_listing();
            let listing = rows.iter().map(row_line);
            let warnings = resolved.warnings.iter().map(|w| format!("warning: {w}"));
            listing.chain(warnings).collect()
        }
        Err(failure) => {
            let warnings = failure.warnings.iter().map(|w| format!("warning: {w}"));
            let errors = failure.errors.iter().map(|e| format!("error: {e}"));
            warnings.chain(errors).collect()
        }
    }
}
