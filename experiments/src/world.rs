//! The second stage of validation and the shipped runner: turns one point's TOML sections into
//! the models' validated `WorldConfig`, and runs `models::world::run` for sweeps.
//!
//! Each section is deserialised into its model type (those types use `deny_unknown_fields`);
//! serde's messages are rewritten to name the section and key, point at the key's line in the
//! experiment file, and suggest the nearest known key.

use serde::de::DeserializeOwned;

use models::batching::config::KafkaVersion;
use models::scenarios::Scenario;
use models::world::{RunResult, WorldConfig};

use crate::error::{InputError, Location, Result, did_you_mean};
use crate::producer_toml::{TomlOrigin, producer_config_from_toml};
use crate::runner::{PointRunner, RunOutcome};
use crate::spec::{Experiment, Source};

/// Builds the world of one point from its sections.
pub fn world_config(source: &Source, sections: &toml::Table) -> Result<WorldConfig, InputError> {
    let empty = toml::Table::new();
    let producer_table = sections
        .get("producer")
        .and_then(toml::Value::as_table)
        .unwrap_or(&empty);
    let origin = TomlOrigin {
        display_name: &source.display_name,
        base_dir: &source.base_dir,
        text: Some(&source.text),
    };
    let resolved = producer_config_from_toml(producer_table, &origin, KafkaVersion::default())
        .map_err(|error| InputError::new(error.to_string()))?;
    let config = WorldConfig {
        producer: resolved.config,
        producer_warnings: resolved.warnings.iter().map(ToString::to_string).collect(),
        workload: section(source, sections, "workload")?,
        run: section(source, sections, "run")?,
        cluster: section(source, sections, "cluster")?,
        network: section(source, sections, "network")?,
        faults: section(source, sections, "faults")?,
    };
    config.validate().map_err(|error| {
        let message = error.to_string();
        InputError::at(location_of_model_error(source, &message), message)
    })?;
    check_memory(source, &config)?;
    Ok(config)
}

/// Refuses a run estimated to hold more memory than `[run] max_memory_mb` allows.
fn check_memory(source: &Source, config: &WorldConfig) -> Result<(), InputError> {
    let estimate = models::world::estimate(config).map_err(|e| InputError::new(e.to_string()))?;
    let budget_mb = match config.run.max_memory_mb {
        0 => models::world::MAX_MEMORY_MB_DEFAULT,
        mb => mb,
    };
    let estimate_mb = estimate.memory_bytes.div_ceil(1 << 20);
    if estimate_mb <= budget_mb {
        return Ok(());
    }
    Err(InputError::at(
        locate(source, &["run", "max_memory_mb"]),
        format!(
            "[run] max_memory_mb: the run is estimated to hold {estimate_mb} MiB ({} records \
             sent, replication factor {}), over the budget of {budget_mb} MiB; shorten the run \
             or raise [run] max_memory_mb (or --max-memory-mb)",
            estimate.records, config.cluster.replication_factor
        ),
    ))
}

/// Where the key named by a model's validation message is written. The models name keys as
/// `[run] duration_ms: ...`, `cluster."min.insync.replicas": ...` or
/// `faults.schedule[0].broker: ...`.
fn location_of_model_error(source: &Source, message: &str) -> Option<Location> {
    let (section, key) = match message.strip_prefix('[') {
        Some(rest) => {
            let (section, rest) = rest.split_once("] ")?;
            (section, rest.split(':').next()?)
        }
        None => message.split(": ").next()?.split_once('.')?,
    };
    let key = key.split('[').next().unwrap_or(key);
    let key = match key.strip_prefix('"') {
        Some(quoted) => quoted.split('"').next().unwrap_or(quoted),
        None => key.split('.').next().unwrap_or(key),
    };
    locate(source, &[section, key])
}

fn locate(source: &Source, path: &[&str]) -> Option<Location> {
    source
        .location_of_key(path)
        .or_else(|| source.location_of_key(&path[..1]))
}

/// Deserialises one section (an absent section means all defaults).
pub fn section<T: DeserializeOwned>(
    source: &Source,
    sections: &toml::Table,
    name: &str,
) -> Result<T, InputError> {
    let value = sections
        .get(name)
        .cloned()
        .unwrap_or_else(|| toml::Value::Table(toml::Table::new()));
    value
        .try_into::<T>()
        .map_err(|error| serde_error(source, name, error.message()))
}

/// Rewrites a serde message into one that names the section and key, with a suggestion.
fn serde_error(source: &Source, section: &str, message: &str) -> InputError {
    let message = message.trim();
    if let Some(unknown) = backticked_after(message, "unknown field `") {
        let expected: Vec<&str> = message
            .split_once("expected")
            .map(|(_, list)| list.split('`').skip(1).step_by(2).collect())
            .unwrap_or_default();
        let suggestion = did_you_mean(unknown, expected.iter().copied())
            .map(|candidate| format!(" (did you mean `{candidate}`?)"))
            .unwrap_or_default();
        let allowed = if expected.is_empty() {
            String::new()
        } else {
            format!("; allowed keys: {}", expected.join(", "))
        };
        let location = find_key_anywhere(source, section, unknown);
        return InputError::at(
            location,
            format!("unknown key `{unknown}` in [{section}]{suggestion}{allowed}"),
        );
    }
    InputError::at(
        locate(source, &[section]),
        format!("[{section}]: {message}"),
    )
}

fn backticked_after<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    let start = message.find(prefix)? + prefix.len();
    let rest = &message[start..];
    rest.find('`').map(|end| &rest[..end])
}

/// The location of `key` in `[section]` or in one of its sub-tables.
fn find_key_anywhere(source: &Source, section: &str, key: &str) -> Option<Location> {
    if let Some(location) = source.location_of_key(&[section, key]) {
        return Some(location);
    }
    let document: toml::Table = source.text.parse().ok()?;
    let table = document.get(section)?.as_table()?;
    table
        .iter()
        .filter(|(_, value)| {
            value
                .as_table()
                .is_some_and(|inner| inner.contains_key(key))
        })
        .find_map(|(sub, _)| source.location_of_key(&[section, sub, key]))
        .or_else(|| source.location_of_key(&[section]))
}

/// A teaching scenario's world, built by `models::scenarios` (the authority for scenarios; the
/// catalog's mirror files are kept equal to it by a test). A configuration Kafka would refuse
/// (`ConfigException`) is bad input.
pub fn scenario_config(name: &str) -> Result<(WorldConfig, &'static Scenario), InputError> {
    let scenario = models::scenarios::find(name).map_err(|error| {
        let known = models::scenarios::SCENARIOS.iter().map(|s| s.name);
        InputError::new(format!(
            "{error}{}",
            crate::error::suggestion_suffix(name, known)
        ))
    })?;
    let config = scenario
        .build()
        .map_err(|error| InputError::new(error.to_string()))?;
    Ok((config, scenario))
}

/// Runs one world with tracing off and returns the full result.
pub fn run_world(config: &WorldConfig, seed: u64, trace: sim::Trace) -> RunResult {
    models::world::run(config, seed, trace)
}

/// The metrics and warnings of a run, as result rows store them.
pub fn outcome_of(result: &RunResult) -> RunOutcome {
    RunOutcome {
        metrics: result
            .metrics
            .iter()
            .map(|(name, value)| ((*name).to_string(), *value))
            .collect(),
        warnings: result.warnings.clone(),
    }
}

/// The shipped runner: the real simulated world.
pub struct WorldRunner;

impl PointRunner for WorldRunner {
    type Config = WorldConfig;

    fn configure(
        &self,
        experiment: &Experiment,
        sections: &toml::Table,
    ) -> Result<WorldConfig, InputError> {
        world_config(&experiment.source, sections)
    }

    fn run(&self, config: &WorldConfig, seed: u64) -> Result<RunOutcome> {
        Ok(outcome_of(&run_world(config, seed, sim::Trace::off())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn configure(text: &str) -> Result<WorldConfig, InputError> {
        let experiment = Experiment::parse(Source::built_in("w.toml", text), &[]).expect("parses");
        world_config(&experiment.source, &experiment.sections)
    }

    #[test]
    fn an_empty_file_is_the_default_world() {
        let config = configure("").expect("defaults are valid");
        assert_eq!(
            config.producer.linger_ms,
            models::world::default_config().producer.linger_ms
        );
    }

    #[test]
    fn producer_keys_are_read_verbatim() {
        let config = configure("[producer]\n\"linger.ms\" = 17\n").expect("valid");
        assert_eq!(config.producer.linger_ms, 17);
    }

    #[test]
    fn an_unknown_workload_key_names_line_and_suggestion() {
        let error =
            configure("[workload]\nmode = \"async\"\nrecrds = 10\n").expect_err("unknown key");
        let text = error.to_string();
        assert!(
            text.starts_with("<built-in w.toml>:3:1: unknown key `recrds` in [workload]"),
            "{text}"
        );
        assert!(text.contains("did you mean `records`?"), "{text}");
    }

    #[test]
    fn a_wrong_type_names_the_section() {
        let error = configure("[run]\nduration_ms = \"long\"\n").expect_err("wrong type");
        let text = error.to_string();
        assert!(text.contains("[run]"), "{text}");
        assert!(text.contains(":1:"), "{text}");
    }
}
