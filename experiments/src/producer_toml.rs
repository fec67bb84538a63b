//! Reads a `[producer]` TOML table into the batching core's producer config.
//!
//! The table holds Kafka producer keys verbatim, quoted because they contain dots:
//! `"linger.ms" = 5`, `acks = "all"`, `"enable.idempotence" = true`. Unquoted dotted keys
//! (`linger.ms = 5`, which TOML reads as a nested table) are flattened back to `linger.ms`.
//! `properties = "path/to/file.properties"` loads a Java properties file first (relative to
//! the TOML file's directory); keys in the TOML table override it. `"linger.kafka.version" =
//! "3.9"` selects the Kafka release whose defaults and rules apply.
//!
//! This module only converts values and locations; every Kafka rule lives in
//! `batching::config`, so TOML and properties input are checked the same way.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use batching::config::{
    ConfigEntry, ConfigErrors, KafkaVersion, Location, ProducerConfig, PropertiesError, RawValue,
    Resolved, parse_properties,
};

/// The key of the `[producer]` table that names a properties file.
pub const PROPERTIES_KEY: &str = "properties";

/// Where a `[producer]` table came from.
#[derive(Clone, Copy, Debug)]
pub struct TomlOrigin<'a> {
    /// The file name used in messages, as the user gave it.
    pub display_name: &'a str,
    /// The directory a relative `properties` path is resolved against.
    pub base_dir: &'a Path,
    /// The file's text, used to give every key a line number; `None` when unknown.
    pub text: Option<&'a str>,
}

/// Why a `[producer]` table could not be turned into a config.
#[derive(Debug, thiserror::Error)]
pub enum ProducerTomlError {
    /// The TOML text itself does not parse.
    #[error("{file}: {message}")]
    Toml {
        /// The file.
        file: String,
        /// The TOML parser's message.
        message: String,
    },
    /// `[producer]` exists but is not a table.
    #[error("{location}: `producer` must be a table, e.g. [producer]")]
    NotATable {
        /// Where `producer` was set.
        location: Location,
    },
    /// `properties` is not a string.
    #[error("{location}: `properties` must be a path string, not a TOML {found}")]
    PropertiesNotAPath {
        /// Where `properties` was set.
        location: Location,
        /// The TOML type found.
        found: &'static str,
    },
    /// The properties file named by `properties` cannot be read.
    #[error("{location}: cannot read the properties file {path}: {source}")]
    PropertiesUnreadable {
        /// Where `properties` was set.
        location: Location,
        /// The path, resolved against the TOML file's directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The properties file is malformed.
    #[error(transparent)]
    Properties(#[from] PropertiesError),
    /// A TOML value with no config meaning (a datetime, or a table inside an array).
    #[error("{location}: `{key}`: a TOML {found} is not a producer config value")]
    UnsupportedValue {
        /// Where the key was set.
        location: Location,
        /// The key.
        key: String,
        /// The TOML type found.
        found: &'static str,
    },
    /// Kafka's rules reject the configuration (with the warnings gathered so far).
    #[error("{0}")]
    Config(ConfigErrors),
}

/// Parses a whole TOML document and resolves its `[producer]` table (defaults if absent).
pub fn producer_config_from_toml_str(
    text: &str,
    toml_path: &Path,
    profile: KafkaVersion,
) -> Result<Resolved, ProducerTomlError> {
    let display_name = toml_path.display().to_string();
    let document: toml::Table =
        text.parse()
            .map_err(|error: toml::de::Error| ProducerTomlError::Toml {
                file: display_name.clone(),
                message: crate::spec::toml_message(&error.to_string()),
            })?;
    let origin = TomlOrigin {
        display_name: &display_name,
        base_dir: toml_path.parent().unwrap_or(Path::new("")),
        text: Some(text),
    };
    match document.get("producer") {
        None => producer_config_from_toml(&toml::Table::new(), &origin, profile),
        Some(toml::Value::Table(table)) => producer_config_from_toml(table, &origin, profile),
        Some(_) => Err(ProducerTomlError::NotATable {
            location: location_in(&origin, &key_lines(&origin), &["producer".to_owned()]),
        }),
    }
}

/// Resolves a `[producer]` table: loads `properties` if set, then applies the TOML keys over
/// it, then runs Kafka's parsing and validation for `profile` (or `linger.kafka.version`).
pub fn producer_config_from_toml(
    table: &toml::Table,
    origin: &TomlOrigin<'_>,
    profile: KafkaVersion,
) -> Result<Resolved, ProducerTomlError> {
    let entries = producer_entries_from_toml(table, origin)?;
    ProducerConfig::from_entries(profile, entries).map_err(ProducerTomlError::Config)
}

/// The entries of a `[producer]` table in the order they apply (the `properties` file first,
/// then the TOML keys in file order, then keys with no line), each with its location: for a
/// caller that adds entries of its own after them (`linger perf-test`'s `--producer-props`).
pub fn producer_entries_from_toml(
    table: &toml::Table,
    origin: &TomlOrigin<'_>,
) -> Result<Vec<ConfigEntry>, ProducerTomlError> {
    let lines = key_lines(origin);
    let mut entries = Vec::new();
    if let Some(value) = table.get(PROPERTIES_KEY) {
        entries.extend(load_properties(value, origin, &lines)?);
    }
    let mut flat = Vec::new();
    flatten(table, &mut Vec::new(), &mut flat);
    let mut toml_entries = Vec::new();
    for (path, value) in flat {
        if path.len() == 1 && path[0] == PROPERTIES_KEY {
            continue;
        }
        let location = location_in(origin, &lines, &producer_path(&path));
        let key = path.join(".");
        let value = raw_value(value).map_err(|found| ProducerTomlError::UnsupportedValue {
            location: location.clone(),
            key: key.clone(),
            found,
        })?;
        toml_entries.push(ConfigEntry {
            key,
            value,
            location,
        });
    }
    // In file order; keys with no line (set by a sweep or `--set`) last, so they override.
    toml_entries.sort_by_key(|entry| entry.location.line.unwrap_or(u32::MAX));
    entries.extend(toml_entries);
    Ok(entries)
}

/// Reads the properties file named by `value`, relative to the TOML file's directory.
fn load_properties(
    value: &toml::Value,
    origin: &TomlOrigin<'_>,
    lines: &BTreeMap<Vec<String>, u32>,
) -> Result<Vec<ConfigEntry>, ProducerTomlError> {
    let location = location_in(origin, lines, &producer_path(&[PROPERTIES_KEY.to_owned()]));
    let toml::Value::String(relative) = value else {
        return Err(ProducerTomlError::PropertiesNotAPath {
            location,
            found: value.type_str(),
        });
    };
    let path = origin.base_dir.join(relative);
    let bytes = std::fs::read(&path).map_err(|source| ProducerTomlError::PropertiesUnreadable {
        location,
        path: path.clone(),
        source,
    })?;
    Ok(parse_properties(&bytes, Some(&path.display().to_string()))?)
}

/// Flattens nested tables into dotted key paths: `linger.ms = 5` becomes `["linger", "ms"]`.
fn flatten<'a>(
    table: &'a toml::Table,
    prefix: &mut Vec<String>,
    out: &mut Vec<(Vec<String>, &'a toml::Value)>,
) {
    for (key, value) in table {
        prefix.push(key.clone());
        match value {
            toml::Value::Table(inner) => flatten(inner, prefix, out),
            other => out.push((prefix.clone(), other)),
        }
        prefix.pop();
    }
}

/// Converts a TOML value; returns the TOML type name when it has no config meaning.
fn raw_value(value: &toml::Value) -> Result<RawValue, &'static str> {
    Ok(match value {
        toml::Value::String(text) => RawValue::Str(text.clone()),
        toml::Value::Integer(number) => RawValue::Int(*number),
        toml::Value::Float(number) => RawValue::Float(*number),
        toml::Value::Boolean(flag) => RawValue::Bool(*flag),
        toml::Value::Array(items) => {
            RawValue::List(items.iter().map(raw_value).collect::<Result<_, _>>()?)
        }
        toml::Value::Datetime(_) => return Err("datetime"),
        toml::Value::Table(_) => return Err("table"),
    })
}

/// The 1-based line of every key path under `[producer]`, from the source text (empty when
/// the text is unknown or does not parse).
fn key_lines(origin: &TomlOrigin<'_>) -> BTreeMap<Vec<String>, u32> {
    let mut lines = BTreeMap::new();
    let Some(text) = origin.text else {
        return lines;
    };
    let Ok(document) = toml::de::DeTable::parse(text) else {
        return lines;
    };
    let line_of = |offset: usize| {
        let before = &text[..offset.min(text.len())];
        u32::try_from(before.matches('\n').count() + 1).unwrap_or(u32::MAX)
    };
    let mut stack = vec![(Vec::new(), document.get_ref())];
    while let Some((prefix, table)) = stack.pop() {
        for (key, value) in table.iter() {
            let mut path: Vec<String> = prefix.clone();
            path.push(key.get_ref().to_string());
            lines.insert(path.clone(), line_of(key.span().start));
            if let Some(inner) = value.get_ref().as_table() {
                stack.push((path, inner));
            }
        }
    }
    lines
}

/// The location of a key path (from the document root), with its line when known.
fn location_in(
    origin: &TomlOrigin<'_>,
    lines: &BTreeMap<Vec<String>, u32>,
    path: &[String],
) -> Location {
    Location {
        file: Some(origin.display_name.to_owned()),
        line: lines.get(path).copied(),
    }
}

/// The path of a key inside `[producer]`, from the document root.
fn producer_path(path: &[String]) -> Vec<String> {
    std::iter::once("producer".to_owned())
        .chain(path.iter().cloned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use batching::config::{Acks, ConfigErrorKind, Origin};

    fn from_str(text: &str) -> Result<Resolved, ProducerTomlError> {
        producer_config_from_toml_str(text, Path::new("exp/run.toml"), KafkaVersion::V4_0)
    }

    /// A fresh directory for one test's files, removed when the test ends (pass or fail).
    struct ScratchDir(PathBuf);

    impl ScratchDir {
        fn join(&self, name: &str) -> PathBuf {
            self.0.join(name)
        }
    }

    impl Drop for ScratchDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn scratch_dir(name: &str) -> ScratchDir {
        let dir = std::env::temp_dir().join(format!(
            "linger-producer-toml-{}-{name}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("the temp dir is writable");
        ScratchDir(dir)
    }

    // Quoted Kafka keys with TOML integers, strings and booleans, each with its line.
    #[test]
    fn quoted_keys_with_typed_values_resolve_with_lines() {
        let text = "[experiment]\nname = \"x\"\n\n[producer]\n\"linger.ms\" = 20\nacks = \"all\"\n\"enable.idempotence\" = true\n";
        let resolved = from_str(text).expect("valid producer table");
        assert_eq!(resolved.config.linger_ms, 20);
        assert_eq!(resolved.config.acks, Acks::All);
        assert!(resolved.is_user_set("enable.idempotence"));
        let rows = resolved.effective_listing();
        let linger = rows
            .iter()
            .find(|row| row.key == "linger.ms")
            .expect("listed");
        assert_eq!(linger.origin, Origin::UserSet);
        assert_eq!(linger.location, Location::at("exp/run.toml", 5));
    }

    // TOML reads unquoted `linger.ms = 5` as a nested table; it is flattened back.
    #[test]
    fn unquoted_dotted_keys_are_flattened() {
        let text = "[producer]\nlinger.ms = 7\nretry.backoff.max.ms = 2000\nacks = 1\n";
        let resolved = from_str(text).expect("valid producer table");
        assert_eq!(resolved.config.linger_ms, 7);
        assert_eq!(resolved.config.retry_backoff_max_ms, 2000);
        assert_eq!(resolved.config.acks, Acks::One);
    }

    // No [producer] table means the profile's defaults.
    #[test]
    fn missing_producer_table_gives_defaults() {
        let resolved = from_str("[run]\nseed = 1\n").expect("defaults");
        assert_eq!(resolved.config.linger_ms, 5);
    }

    // `producer` must be a table.
    #[test]
    fn producer_that_is_not_a_table_is_rejected() {
        let error = from_str("producer = 5\n").expect_err("not a table");
        assert_eq!(
            error.to_string(),
            "exp/run.toml:1: `producer` must be a table, e.g. [producer]"
        );
    }

    // The profile key works from TOML too.
    #[test]
    fn kafka_version_key_selects_3x_defaults() {
        let resolved = from_str("[producer]\n\"linger.kafka.version\" = \"3.9\"\n").expect("valid");
        assert_eq!(resolved.config.linger_ms, 0);
    }

    // A wrong TOML type gets Kafka's message with the key's line.
    #[test]
    fn array_for_linger_ms_is_a_clear_error() {
        let error = from_str("[producer]\n\n\"linger.ms\" = [1, 2]\n").expect_err("array");
        let ProducerTomlError::Config(failure) = &error else {
            panic!("expected a config error, got {error}");
        };
        assert_eq!(failure.errors[0].location, Location::at("exp/run.toml", 3));
        assert!(
            error.to_string().contains("for configuration linger.ms"),
            "{error}"
        );
    }

    // A TOML datetime has no config meaning.
    #[test]
    fn datetime_value_is_rejected() {
        let error = from_str("[producer]\n\"linger.ms\" = 1979-05-27\n").expect_err("datetime");
        assert!(matches!(
            error,
            ProducerTomlError::UnsupportedValue {
                found: "datetime",
                ..
            }
        ));
    }

    // Unknown keys carry the TOML line and the suggestion.
    #[test]
    fn unknown_toml_key_is_suggested() {
        let error = from_str("[producer]\nlinger_ms = 5\n").expect_err("typo");
        let ProducerTomlError::Config(failure) = &error else {
            panic!("expected a config error, got {error}");
        };
        assert_eq!(
            failure.errors[0].kind,
            ConfigErrorKind::UnknownKey {
                suggestion: Some("linger.ms".to_owned())
            }
        );
        assert_eq!(
            error.to_string(),
            "exp/run.toml:2: Unknown configuration `linger_ms`; did you mean `linger.ms`?"
        );
    }

    // `properties` loads a file relative to the TOML file; TOML keys override it.
    #[test]
    fn properties_file_is_loaded_relative_to_the_toml_and_overridden() {
        let dir = scratch_dir("override");
        std::fs::write(
            dir.join("base.properties"),
            "linger.ms=50\nbatch.size=1000\n",
        )
        .expect("writable");
        let toml_path = dir.join("exp.toml");
        let text = "[producer]\nproperties = \"base.properties\"\n\"linger.ms\" = 10\n";
        let resolved =
            producer_config_from_toml_str(text, &toml_path, KafkaVersion::V4_0).expect("valid");
        assert_eq!(resolved.config.linger_ms, 10);
        assert_eq!(resolved.config.batch_size, 1000);
        let rows = resolved.effective_listing();
        let batch = rows
            .iter()
            .find(|row| row.key == "batch.size")
            .expect("listed");
        assert_eq!(batch.location.line, Some(2));
        assert!(
            batch
                .location
                .file
                .as_deref()
                .is_some_and(|f| f.ends_with("base.properties"))
        );
        assert!(
            resolved.warnings.is_empty(),
            "an intended override is not a duplicate"
        );
    }

    // A missing properties file is an error naming the path.
    #[test]
    fn missing_properties_file_names_the_path() {
        let error =
            from_str("[producer]\nproperties = \"nope.properties\"\n").expect_err("missing");
        let text = error.to_string();
        assert!(text.contains("exp/nope.properties"), "{text}");
        assert!(text.starts_with("exp/run.toml:2:"), "{text}");
    }

    // A key added after parsing (a sweep point or `--set`) overrides the file's nested key.
    #[test]
    fn keys_without_a_line_override_keys_from_the_file() {
        let text = "[producer]\nlinger.ms = 7\n";
        let mut table: toml::Table = text.parse().expect("valid TOML");
        let producer = table
            .get_mut("producer")
            .and_then(toml::Value::as_table_mut)
            .expect("table");
        producer.insert("linger.ms".to_owned(), toml::Value::Integer(40));
        let origin = TomlOrigin {
            display_name: "e.toml",
            base_dir: Path::new("."),
            text: Some(text),
        };
        let resolved =
            producer_config_from_toml(producer, &origin, KafkaVersion::V4_0).expect("valid");
        assert_eq!(resolved.config.linger_ms, 40);
    }

    // `properties` must be a string.
    #[test]
    fn non_string_properties_path_is_rejected() {
        let error = from_str("[producer]\nproperties = 3\n").expect_err("not a path");
        assert!(matches!(
            error,
            ProducerTomlError::PropertiesNotAPath {
                found: "integer",
                ..
            }
        ));
    }

    // A non-UTF-8 properties file fails with its own file and line.
    #[test]
    fn non_utf8_properties_file_names_its_line() {
        let dir = scratch_dir("latin1");
        std::fs::write(dir.join("bad.properties"), b"a=1\nclient.id=caf\xe9\n").expect("writable");
        let text = "[producer]\nproperties = \"bad.properties\"\n";
        let error = producer_config_from_toml_str(text, &dir.join("exp.toml"), KafkaVersion::V4_0)
            .expect_err("not UTF-8");
        assert!(matches!(error, ProducerTomlError::Properties(_)));
        assert!(error.to_string().contains("bad.properties:2:"), "{error}");
    }

    // The table entry point works without source text (no lines, file only).
    #[test]
    fn table_without_text_resolves_with_file_only_locations() {
        let table: toml::Table = "\"batch.size\" = -1".parse().expect("valid TOML");
        let origin = TomlOrigin {
            display_name: "x.toml",
            base_dir: Path::new("."),
            text: None,
        };
        let error = producer_config_from_toml(&table, &origin, KafkaVersion::V4_0)
            .expect_err("negative size");
        assert_eq!(
            error.to_string(),
            "x.toml: Invalid value -1 for configuration batch.size: Value must be at least 0"
        );
    }
}
