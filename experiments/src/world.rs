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
use crate::spec::{Experiment, PathPart, Source};

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
    world_config_with_producer(source, sections, resolved)
}

/// Builds the world of one point from its sections, with a producer configuration resolved by
/// the caller (the sections' `[producer]` table is not read).
pub fn world_config_with_producer(
    source: &Source,
    sections: &toml::Table,
    resolved: models::batching::config::Resolved,
) -> Result<WorldConfig, InputError> {
    let mut workload: models::producer::workload::WorkloadConfig =
        section(source, sections, "workload")?;
    resolve_sample_paths(&mut workload, &source.base_dir);
    let config = WorldConfig {
        producer: resolved.config,
        producer_warnings: resolved.warnings.iter().map(ToString::to_string).collect(),
        workload,
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

/// The sample-value file and the calibration file are named relative to the experiment file.
fn resolve_sample_paths(
    workload: &mut models::producer::workload::WorkloadConfig,
    base_dir: &std::path::Path,
) {
    use models::producer::compression::ValueContent;
    let resolve = |path: &mut String| {
        let joined = base_dir.join(&*path);
        *path = joined.to_string_lossy().into_owned();
    };
    if let ValueContent::File { path } = &mut workload.values {
        resolve(path);
    }
    if let Some(path) = &mut workload.compression.calibration {
        resolve(path);
    }
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
        source
            .location_of_key(&["run", "max_memory_mb"])
            .or_else(|| source.location_of_key(&["run"])),
        format!(
            "[run] max_memory_mb: the run is estimated to hold {estimate_mb} MiB ({} records \
             sent, {} partitions, replication factor {}), over the budget of {budget_mb} MiB; \
             shorten the run or raise [run] max_memory_mb (or --max-memory-mb)",
            estimate.records, config.cluster.partitions, config.cluster.replication_factor
        ),
    ))
}

/// Where the key named by a model's validation message is written. The models name keys as
/// `[run] duration_ms: ...`, `cluster."min.insync.replicas": ...` or
/// `faults.schedule[0].broker: ...`; the deepest part of that path written in the file is the
/// location (the key itself, or the table or array entry that holds it).
fn location_of_model_error(source: &Source, message: &str) -> Option<Location> {
    let mut path = match message.strip_prefix('[') {
        Some(rest) => {
            let (section, rest) = rest.split_once("] ")?;
            let mut path = vec![PathPart::Key(section.to_string())];
            path.extend(PathPart::parse(rest.split(": ").next()?));
            path
        }
        None => PathPart::parse(message.split(": ").next()?),
    };
    path.truncate(8);
    source.location_of_path(&path)
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
    let mut effective = toml::Table::new();
    effective.insert(name.to_string(), value.clone());
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = key_path(error.path());
        serde_error(source, &effective, &path, error.inner().message())
    })
}

/// What replaces a key that older experiment files used, for a clearer message than "unknown
/// key".
fn removed_key(section: &str, key: &str) -> Option<&'static str> {
    match (section, key) {
        ("cluster", "controller_election_delay_ms") => Some(
            "the controller now fences a broker as KRaft does, broker_session_timeout_ms \
             (default 9000) after the last heartbeat it heard from it, and brokers heartbeat \
             every broker_heartbeat_interval_ms (default 2000), so a crashed leader is replaced \
             7 to 9 s after the crash; set those keys in [cluster] instead",
        ),
        _ => None,
    }
}

/// The key path serde was reading when it failed, as table keys and array indices.
fn key_path(path: &serde_path_to_error::Path) -> Vec<PathPart> {
    path.iter()
        .filter_map(|segment| match segment {
            serde_path_to_error::Segment::Map { key } => Some(PathPart::Key(key.clone())),
            serde_path_to_error::Segment::Seq { index } => Some(PathPart::Index(*index)),
            _ => None,
        })
        .collect()
}

/// Rewrites a serde message into one that names the key (`cluster.brokers`), points at its
/// line, and says what is allowed in the user's terms, never in Rust's.
/// `effective` holds the one section as it was deserialised (with `--set` and axis values), so
/// a message quotes the value that was rejected, not the one written in the file.
fn serde_error(
    source: &Source,
    effective: &toml::Table,
    path: &[PathPart],
    message: &str,
) -> InputError {
    let message = message.trim();
    let section = effective.keys().next().map_or("", String::as_str);
    let mut full = vec![PathPart::Key(section.to_string())];
    full.extend(path.iter().cloned());
    if let Some(unknown) = backticked_after(message, "unknown field `") {
        let expected: Vec<&str> = message
            .split_once("expected")
            .map(|(_, list)| list.split('`').skip(1).step_by(2).collect())
            .unwrap_or_default();
        if let Some(replacement) = removed_key(section, unknown) {
            let location = find_key_anywhere(source, section, unknown)
                .or_else(|| mention_of(source, &[PathPart::Key(unknown.to_string())]));
            return InputError::at(
                location,
                format!("{section}.{unknown} was removed: {replacement}"),
            );
        }
        let suggestion = did_you_mean(unknown, expected.iter().copied())
            .map(|candidate| format!(" (did you mean `{candidate}`?)"))
            .unwrap_or_default();
        let allowed = if message.contains("there are no fields") {
            "; this kind takes no key besides the one that names it".to_owned()
        } else if expected.is_empty() {
            String::new()
        } else {
            format!("; allowed keys: {}", expected.join(", "))
        };
        // The path may end at the unknown key itself: the table is its parent.
        if full.last() == Some(&PathPart::Key(unknown.to_string())) && full.len() > 1 {
            full.pop();
        }
        let path = &full[1..];
        let mut at_key = full.clone();
        at_key.push(PathPart::Key(unknown.to_string()));
        let location = source
            .location_of_path(&at_key)
            .filter(|location| Some(location) != source.location_of_path(&full).as_ref())
            .or_else(|| find_key_anywhere(source, section, unknown))
            .or_else(|| mention_of(source, &at_key));
        let table = if path.is_empty() {
            format!("[{section}]")
        } else {
            PathPart::display(&full)
        };
        return InputError::at(
            location,
            format!("unknown key `{unknown}` in {table}{suggestion}{allowed}"),
        );
    }
    if let Some(inner) = key_inside_tagged_table(effective, &full, message) {
        full.push(PathPart::Key(inner));
    }
    let path = &full[1..];
    let key = PathPart::display(&full);
    let location = source
        .location_of_path(&full)
        .or_else(|| mention_of(source, &full));
    let text = match crate::allowed::allowed(section, path) {
        Some(allowed) => {
            let found = if message.starts_with("missing field") {
                format!("{message}; ")
            } else if let Some(variant) = backticked_after(message, "unknown variant `") {
                format!("found \"{variant}\"; ")
            } else if let Some(value) = value_at(effective, &full) {
                format!("found {value}; ")
            } else {
                crate::allowed::found_in(message)
                    .map(|found| format!("found {found}; "))
                    .unwrap_or_default()
            };
            format!("{key}: {found}allowed: {allowed}")
        }
        None if message.contains("untagged enum") || message.contains("tagged enum") => {
            format!("{key}: this value does not have an allowed shape")
        }
        None => format!("{key}: {}", crate::allowed::in_user_terms(message)),
    };
    InputError::at(location, text)
}

/// Where the file mentions a key it does not write in its section: a value that came from a
/// sweep axis (`"workload.arrivals.per_sec" = [...]` or `[sweep.workload.arrivals]`) is
/// pointed at the axis, the longest prefix of the key path first, then the section's header.
fn mention_of(source: &Source, path: &[PathPart]) -> Option<Location> {
    let keys: Vec<&str> = path
        .iter()
        .map_while(|part| match part {
            PathPart::Key(key) => Some(key.as_str()),
            PathPart::Index(_) => None,
        })
        .collect();
    for len in (1..=keys.len()).rev() {
        let dotted = keys[..len].join(".");
        let candidates = [
            format!("\"{dotted}"),
            format!("[sweep.{dotted}]"),
            format!("[{dotted}]"),
        ];
        for candidate in candidates {
            if let Some(offset) = source.text.find(&candidate) {
                return Some(source.location_of_offset(offset));
            }
        }
    }
    None
}

/// A tagged table (`arrivals = { kind = "poisson", per_sec = true }`) is read as a whole, so
/// serde's path stops at it; the key inside is the one whose value serde describes, when
/// exactly one value of the table matches the description.
fn key_inside_tagged_table(
    document: &toml::Table,
    path: &[PathPart],
    message: &str,
) -> Option<String> {
    let found = crate::allowed::found_in(message)?;
    let written = found
        .split_once(' ')
        .map_or(found.as_str(), |(_, value)| value);
    let mut value = document.get(match path.first()? {
        PathPart::Key(key) => key.as_str(),
        PathPart::Index(_) => return None,
    })?;
    for part in &path[1..] {
        value = match part {
            PathPart::Key(key) => value.as_table()?.get(key)?,
            PathPart::Index(index) => value.as_array()?.get(*index)?,
        };
    }
    let mut matching = value
        .as_table()?
        .iter()
        .filter(|(_, inner)| inner.to_string() == written);
    let (key, _) = matching.next()?;
    matching.next().is_none().then(|| key.clone())
}

/// The value at `path` in `document`, as TOML, when it is a plain value.
fn value_at(document: &toml::Table, path: &[PathPart]) -> Option<String> {
    let (first, rest) = path.split_first()?;
    let PathPart::Key(first) = first else {
        return None;
    };
    let mut value = document.get(first)?;
    for part in rest {
        value = match part {
            PathPart::Key(key) => value.as_table()?.get(key)?,
            PathPart::Index(index) => value.as_array()?.get(*index)?,
        };
    }
    match value {
        toml::Value::Table(_) | toml::Value::Array(_) => None,
        plain => Some(plain.to_string()),
    }
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
    fn a_wrong_type_names_the_key_its_line_and_what_is_allowed() {
        let error = configure("[run]\nduration_ms = \"long\"\n").expect_err("wrong type");
        let text = error.to_string();
        assert!(
            text.starts_with("<built-in w.toml>:2:1: run.duration_ms: found \"long\"; allowed: a number of milliseconds"),
            "{text}"
        );
        assert!(!text.contains("f64"), "{text}");
    }

    #[test]
    fn a_type_error_quotes_the_overriding_value_not_the_written_one() {
        let overrides = [crate::spec::Override::parse("cluster.brokers=-1").expect("valid")];
        let source = Source::built_in("w.toml", "[cluster]\nbrokers = 3\n");
        let experiment = Experiment::parse(source, &overrides).expect("parses");
        let error = world_config(&experiment.source, &experiment.sections)
            .expect_err("negative brokers")
            .to_string();
        assert!(
            error.contains("cluster.brokers: found -1; allowed"),
            "{error}"
        );
    }

    #[test]
    fn type_errors_in_sub_tables_and_arrays_name_the_whole_key_path() {
        let text = "[cluster]\nbrokers = 3\n[[faults.schedule]]\nat_ms = 1\naction = \"crash\"\nbroker = -2\n";
        let error = configure(text).expect_err("negative broker").to_string();
        assert!(
            error.starts_with("<built-in w.toml>:6:1: faults.schedule[0].broker: found -2; allowed: a broker index"),
            "{error}"
        );
        let text = "[workload]\narrivals = { kind = \"poisson\", per_sec = true }\n";
        let error = configure(text).expect_err("a boolean rate").to_string();
        assert!(
            error.contains("workload.arrivals.per_sec: found true; allowed: a rate"),
            "{error}"
        );
        assert!(!error.contains("enum"), "{error}");
        let text = "[network]\n\n[[network.links]]\nlink = [\"client\", \"broker0\"]\nlatency = { dist = \"lognormal\", median_ms = 1, sigma = 6 }\n";
        let error = configure(text).expect_err("sigma above 5").to_string();
        assert!(
            error.starts_with(
                "<built-in w.toml>:5:48: network.links[0].latency.sigma: 6: allowed 0 ..= 5"
            ),
            "{error}"
        );
    }
}
