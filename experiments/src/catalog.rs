//! The experiment files shipped inside the binary (`experiments/catalog/`), so `linger run` with
//! no file, and `linger run NAME` / `linger sweep NAME`, work on a fresh machine.
//!
//! A name given where a file is expected is looked up here only when no such file exists.
//!
//! The teaching scenarios themselves are defined in `models::scenarios` (the authority for
//! `linger run --scenario` and `linger teach`); the files under `catalog/scenarios/` mirror them
//! as experiment files, so a scenario can be edited, overridden with `--set` or swept, and a
//! test keeps each mirror equal to its model.

use std::path::Path;

use crate::error::{InputError, Result, suggestion_suffix};
use crate::spec::Source;

/// What a catalog entry is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// An experiment (single point or sweep).
    Experiment,
    /// A teaching scenario (also runnable with `linger run --scenario NAME`).
    Scenario,
}

/// One shipped file.
#[derive(Clone, Copy, Debug)]
pub struct Entry {
    /// The name (the file stem).
    pub name: &'static str,
    /// Experiment or teaching scenario.
    pub kind: EntryKind,
    /// The path inside the repository.
    pub path: &'static str,
    /// The TOML text.
    pub text: &'static str,
}

macro_rules! entry {
    ($kind:ident, $name:literal, $file:literal) => {
        Entry {
            name: $name,
            kind: EntryKind::$kind,
            path: concat!("experiments/catalog/", $file),
            text: include_str!(concat!("../catalog/", $file)),
        }
    };
}

/// The name of the default experiment.
pub const DEFAULT_EXPERIMENT: &str = "baseline";

/// Every shipped file.
pub const CATALOG: &[Entry] = &[
    entry!(Experiment, "baseline", "baseline.toml"),
    entry!(Experiment, "linger-batch-sweep", "linger-batch-sweep.toml"),
    entry!(Experiment, "anomalies-sweep", "anomalies-sweep.toml"),
    entry!(Experiment, "durability-sweep", "durability-sweep.toml"),
    entry!(Experiment, "sync-vs-async", "sync-vs-async.toml"),
    entry!(Experiment, "compression-sweep", "compression-sweep.toml"),
    entry!(Experiment, "tuning-rtt30", "tuning-rtt30.toml"),
    entry!(Scenario, "acks0-lost", "scenarios/acks0-lost.toml"),
    entry!(Scenario, "sync-vs-async", "scenarios/sync-vs-async.toml"),
    entry!(Scenario, "async-batching", "scenarios/async-batching.toml"),
    entry!(
        Scenario,
        "acks1-failover-loss",
        "scenarios/acks1-failover-loss.toml"
    ),
    entry!(
        Scenario,
        "acks-all-min-isr",
        "scenarios/acks-all-min-isr.toml"
    ),
    entry!(
        Scenario,
        "acks-all-isr-shrunk",
        "scenarios/acks-all-isr-shrunk.toml"
    ),
    entry!(
        Scenario,
        "retry-duplicate",
        "scenarios/retry-duplicate.toml"
    ),
    entry!(
        Scenario,
        "idempotent-retry",
        "scenarios/idempotent-retry.toml"
    ),
    entry!(
        Scenario,
        "reorder-inflight",
        "scenarios/reorder-inflight.toml"
    ),
    entry!(
        Scenario,
        "idempotent-order",
        "scenarios/idempotent-order.toml"
    ),
    entry!(
        Scenario,
        "delivery-timeout",
        "scenarios/delivery-timeout.toml"
    ),
    entry!(
        Scenario,
        "inflight2-reorder",
        "scenarios/inflight2-reorder.toml"
    ),
    entry!(
        Scenario,
        "idempotent-out-of-order",
        "scenarios/idempotent-out-of-order.toml"
    ),
    entry!(
        Scenario,
        "retries-vs-delivery-timeout",
        "scenarios/retries-vs-delivery-timeout.toml"
    ),
    entry!(
        Scenario,
        "max-block-buffer-full",
        "scenarios/max-block-buffer-full.toml"
    ),
    entry!(
        Scenario,
        "exit-without-flush",
        "scenarios/exit-without-flush.toml"
    ),
    entry!(Scenario, "close-timeout", "scenarios/close-timeout.toml"),
    entry!(
        Scenario,
        "transaction-commit",
        "scenarios/transaction-commit.toml"
    ),
    entry!(
        Scenario,
        "idempotence-acks0-conflict",
        "scenarios/idempotence-acks0-conflict.toml"
    ),
];

/// The catalog entry called `name` of `kind`.
pub fn find(name: &str, kind: EntryKind) -> Option<&'static Entry> {
    CATALOG
        .iter()
        .find(|entry| entry.name == name && entry.kind == kind)
}

/// The experiment to load for a command-line argument: an existing file, else a catalog
/// experiment of that name, else the default when none is given.
pub fn resolve(argument: Option<&Path>) -> Result<(Source, String)> {
    let Some(path) = argument else {
        let entry =
            find(DEFAULT_EXPERIMENT, EntryKind::Experiment).expect("the default is shipped");
        return Ok((
            Source::built_in(entry.name, entry.text),
            entry.name.to_string(),
        ));
    };
    if path.exists() {
        return Ok((Source::from_file(path)?, path.display().to_string()));
    }
    let name = path.to_string_lossy();
    if let Some(entry) = find(&name, EntryKind::Experiment) {
        return Ok((
            Source::built_in(entry.name, entry.text),
            entry.name.to_string(),
        ));
    }
    if find(&name, EntryKind::Scenario).is_some() {
        return Err(InputError::new(format!(
            "{name} is a teaching scenario, not an experiment file: run it with \
             `linger run --scenario {name}`, or draw it with `linger teach {name}`"
        ))
        .into());
    }
    let names = CATALOG
        .iter()
        .filter(|e| e.kind == EntryKind::Experiment)
        .map(|e| e.name);
    Err(InputError::new(format!(
        "{name}: no such file, and no shipped experiment of that name{}; `linger list` shows them",
        suggestion_suffix(&name, names)
    ))
    .into())
}

/// The source of a teaching scenario's catalog file.
pub fn scenario_source(name: &str) -> Result<Source> {
    match find(name, EntryKind::Scenario) {
        Some(entry) => Ok(Source::built_in(entry.name, entry.text)),
        None => {
            let names = CATALOG
                .iter()
                .filter(|e| e.kind == EntryKind::Scenario)
                .map(|e| e.name);
            let all: Vec<&str> = CATALOG
                .iter()
                .filter(|e| e.kind == EntryKind::Scenario)
                .map(|e| e.name)
                .collect();
            Err(InputError::new(format!(
                "unknown scenario `{name}`{}; scenarios: {}",
                suggestion_suffix(name, names),
                all.join(", ")
            ))
            .into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Experiment;

    #[test]
    fn every_shipped_file_parses_and_configures() {
        for entry in CATALOG {
            let experiment = Experiment::parse(Source::built_in(entry.name, entry.text), &[])
                .unwrap_or_else(|error| panic!("{}: {error}", entry.path));
            let base = crate::world::world_config(&experiment.source, &experiment.sections);
            if entry.name != "idempotence-acks0-conflict" {
                base.unwrap_or_else(|error| panic!("{}: {error}", entry.path));
            }
        }
    }

    /// The world config without the producer warnings, whose text names where a key was set.
    fn comparable(config: &models::world::WorldConfig) -> String {
        let mut config = config.clone();
        let warning_count = config.producer_warnings.len();
        config.producer_warnings.clear();
        format!("{config:?} warnings={warning_count}")
    }

    #[test]
    fn scenario_files_mirror_models_scenarios() {
        let mirrored: Vec<&str> = CATALOG
            .iter()
            .filter(|e| e.kind == EntryKind::Scenario)
            .map(|e| e.name)
            .collect();
        let modelled: Vec<&str> = models::scenarios::SCENARIOS
            .iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(
            mirrored, modelled,
            "one mirror per scenario, in the same order"
        );
        for scenario in models::scenarios::SCENARIOS {
            let source = scenario_source(scenario.name).expect("mirrored");
            let experiment = Experiment::parse(source, &[]).expect("parses");
            let file = crate::world::world_config(&experiment.source, &experiment.sections);
            match (scenario.build(), file) {
                (Ok(model), Ok(file)) => {
                    assert_eq!(comparable(&model), comparable(&file), "{}", scenario.name);
                }
                (Err(_), Err(error)) => assert!(error.to_string().contains("acks"), "{error}"),
                (model, file) => panic!(
                    "{}: {:?} vs {:?}",
                    scenario.name,
                    model.is_ok(),
                    file.is_ok()
                ),
            }
        }
    }

    #[test]
    fn names_resolve_and_typos_are_suggested() {
        let (source, _) = resolve(None).expect("default");
        assert!(source.text.contains("baseline"));
        let error = resolve(Some(Path::new("baselin"))).expect_err("typo");
        assert!(
            error.to_string().contains("did you mean `baseline`?"),
            "{error}"
        );
        assert_eq!(error.exit_code(), 2);
    }
}
