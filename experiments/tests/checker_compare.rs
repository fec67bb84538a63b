//! The range checker (the one every run is judged by) against the per-record checker on the
//! same runs: every catalog experiment (every sweep point, shortened), every teaching scenario,
//! fault-heavy guarantee-campaign cases of both flavours and random fuzz experiments. The
//! verdicts must be identical, class by class, with the same examples.

use std::path::PathBuf;

use experiments::catalog::{CATALOG, EntryKind};
use experiments::guarantee::{Flavour, case_file};
use experiments::spec::{Experiment, Source};
use experiments::sweep::{Points, canonical_point, run_seed};
use experiments::world::{scenario_config, world_config};
use models::world::{WorldConfig, run_with_per_record_checker};

/// Runs `config` and asserts both checkers agree; returns the records sent.
fn agree(config: &WorldConfig, seed: u64, what: &str) -> u64 {
    let (result, per_record) = run_with_per_record_checker(config, seed);
    assert_eq!(result.checker, per_record, "{what} (seed {seed})");
    result.checker.sent
}

fn parse(name: &str, text: &str) -> Option<Experiment> {
    let source = Source {
        display_name: name.to_owned(),
        text: text.to_owned(),
        base_dir: PathBuf::from("."),
    };
    Experiment::parse(source, &[]).ok()
}

/// Every point of `experiment` (replicate 0), its sending cut to `duration_ms`.
fn every_point(experiment: &Experiment, duration_ms: f64, what: &str) -> u64 {
    let points = Points::new(&experiment.axes, u64::MAX).expect("the sweep's points");
    let mut sent = 0;
    for index in 0..points.count().max(1) {
        let (sections, canonical) = if experiment.axes.is_empty() {
            (experiment.sections.clone(), String::new())
        } else {
            let values = points.values(index);
            (
                experiment.sections_at(&values),
                canonical_point(&experiment.axes, &values),
            )
        };
        let Ok(mut config) = world_config(&experiment.source, &sections) else {
            continue;
        };
        config.run.duration_ms = config.run.duration_ms.min(duration_ms);
        config.run.max_virtual_time_ms = Some(600_000.0);
        let seed = run_seed(experiment.master_seed, &canonical, 0);
        sent += agree(&config, seed, &format!("{what} point {index}"));
    }
    sent
}

#[test]
fn both_checkers_agree_on_every_catalog_experiment_and_scenario() {
    let mut sent = 0;
    for entry in CATALOG {
        let experiment = parse(entry.name, entry.text).expect("a shipped file parses");
        sent += every_point(&experiment, 300.0, entry.name);
        // A scenario whose config Kafka refuses has nothing to run.
        if entry.kind == EntryKind::Scenario
            && let Ok((config, _)) = scenario_config(entry.name)
        {
            sent += agree(&config, config.run.seed, entry.name);
        }
    }
    assert!(sent > 100_000, "the catalog sent only {sent} records");
}

#[test]
fn both_checkers_agree_on_fault_heavy_guarantee_cases() {
    guarantee_cases(1..41);
}

/// The slow suite: `cargo test --release -p experiments --test checker_compare -- --ignored`.
#[test]
#[ignore]
fn both_checkers_agree_on_a_thousand_guarantee_cases_per_flavour() {
    guarantee_cases(1..1001);
}

fn guarantee_cases(seeds: std::ops::Range<u64>) {
    let mut broken = 0;
    for seed in seeds {
        for flavour in [Flavour::Idempotent, Flavour::AcksAll] {
            let name = format!("{}-{seed}", flavour.name());
            let experiment = parse(&name, &case_file(seed, flavour)).expect("a case parses");
            let mut config =
                world_config(&experiment.source, &experiment.sections).expect("a case is valid");
            config.run.max_virtual_time_ms = Some(600_000.0);
            config.run.max_events_per_virtual_ms = 5_000_000;
            let run_seed = run_seed(experiment.master_seed, "", 0);
            let (result, per_record) = run_with_per_record_checker(&config, run_seed);
            assert_eq!(result.checker, per_record, "{name}");
            let c = &result.checker;
            broken += u64::from(c.failed_absent + c.failed_present + c.unsettled + c.reordered > 0);
        }
    }
    // The faults must have made the checkers work: failures, reordering or open fates.
    assert!(
        broken > 5,
        "only {broken} cases had anything but clean deliveries"
    );
}

#[test]
fn both_checkers_agree_on_random_experiments() {
    let mut judged = 0;
    for seed in 1..=120 {
        let generated = experiments::fuzz::generate::experiment_file(seed);
        let Some(experiment) = parse("fuzz.toml", &generated.text) else {
            continue;
        };
        let Ok(mut config) = world_config(&experiment.source, &experiment.sections) else {
            continue;
        };
        config.run.duration_ms = config.run.duration_ms.min(2_000.0);
        config.run.max_virtual_time_ms = Some(60_000.0);
        config.run.max_events = 300_000;
        let seed = run_seed(experiment.master_seed, "", 0);
        let attempt = std::panic::catch_unwind(|| run_with_per_record_checker(&config, seed));
        if let Ok((result, per_record)) = attempt {
            assert_eq!(result.checker, per_record, "fuzz case {seed}");
            judged += 1;
        }
    }
    assert!(judged >= 40, "only {judged} random experiments ran");
}
