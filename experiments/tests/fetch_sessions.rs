//! Follower fetches that visit only the partitions with something to do decide exactly as
//! fetches that visit every partition of their session: same trace (every event, hashed),
//! same metrics, same checker verdict, same event count, on every shipped experiment and
//! scenario (a few points of each sweep) and on fuzzed experiments with faults.

use std::path::PathBuf;

use experiments::catalog::CATALOG;
use experiments::fuzz::experiment_file;
use experiments::spec::{Experiment, Source};
use experiments::sweep::{Points, canonical_point, run_seed};
use experiments::world::{run_world, world_config};
use models::world::{RunResult, WorldConfig};

/// Virtual time each run sends for at most (debug builds run the whole catalog).
const DURATION_MS_MAX: i64 = 1_500;
/// Bounds for fuzzed files, whose settings can keep a run busy for a long time.
const FUZZ_VIRTUAL_MS: f64 = 20_000.0;
const FUZZ_MAX_EVENTS: u64 = 150_000;

/// The worlds of `text`: its points 0, middle and last (or the file itself), each with its
/// seed, sending for at most [`DURATION_MS_MAX`].
fn worlds(name: &str, text: &str) -> Vec<(String, WorldConfig, u64)> {
    let source = Source {
        display_name: name.to_owned(),
        text: text.to_owned(),
        base_dir: PathBuf::from("."),
    };
    let Ok(experiment) = Experiment::parse(source, &[]) else {
        return Vec::new();
    };
    let mut picks = vec![(experiment.sections.clone(), String::new())];
    if !experiment.axes.is_empty() {
        let Ok(points) = Points::new(&experiment.axes, u64::MAX) else {
            return Vec::new();
        };
        let count = points.count();
        let mut indices = vec![0, count / 2, count.saturating_sub(1)];
        indices.dedup();
        picks = indices
            .into_iter()
            .map(|i| {
                let values = points.values(i);
                (
                    experiment.sections_at(&values),
                    canonical_point(&experiment.axes, &values),
                )
            })
            .collect();
    }
    picks
        .into_iter()
        .filter_map(|(mut sections, canonical)| {
            if let Some(run) = sections.get_mut("run").and_then(|r| r.as_table_mut()) {
                let shorter = run
                    .get("duration_ms")
                    .and_then(|d| d.as_integer().or_else(|| d.as_float().map(|f| f as i64)))
                    .is_none_or(|d| d > DURATION_MS_MAX);
                if shorter {
                    run.insert("duration_ms".into(), toml::Value::Integer(DURATION_MS_MAX));
                }
            }
            let config = world_config(&experiment.source, &sections).ok()?;
            let seed = run_seed(experiment.master_seed, &canonical, 0);
            Some((format!("{name} {canonical}"), config, seed))
        })
        .collect()
}

fn run(config: &WorldConfig, seed: u64, full: bool) -> RunResult {
    let mut config = config.clone();
    config.cluster.full_fetch_requests = full;
    run_world(&config, seed, sim::Trace::hashing())
}

fn assert_same(label: &str, config: &WorldConfig, seed: u64) {
    let walked = run(config, seed, true);
    let idle = run(config, seed, false);
    assert_eq!(walked.trace_hash, idle.trace_hash, "{label}: trace");
    assert_eq!(walked.events, idle.events, "{label}: events");
    assert_eq!(walked.virtual_time_ns, idle.virtual_time_ns, "{label}");
    assert_eq!(walked.checker, idle.checker, "{label}: checker");
    assert_eq!(walked.warnings, idle.warnings, "{label}: warnings");
    assert_eq!(walked.stop, idle.stop, "{label}: stop");
    let bits = |r: &RunResult| -> Vec<(&str, u64)> {
        r.metrics.iter().map(|&(n, v)| (n, v.to_bits())).collect()
    };
    assert_eq!(bits(&walked), bits(&idle), "{label}: metrics");
}

#[test]
fn the_catalog_and_the_scenarios_decide_the_same_with_idle_partitions_skipped() {
    let mut ran = 0;
    for entry in CATALOG {
        for (label, config, seed) in worlds(entry.name, entry.text) {
            assert_same(&label, &config, seed);
            ran += 1;
        }
    }
    assert!(ran >= CATALOG.len(), "only {ran} worlds ran");
}

#[test]
fn many_partitions_with_crashes_and_cuts_decide_the_same_with_idle_partitions_skipped() {
    let text = experiments::catalog::find("baseline", experiments::catalog::EntryKind::Experiment)
        .expect("the baseline ships")
        .text
        .replace("partitions = 6\n", "partitions = 60\n");
    let crash_restart = "[[faults.schedule]]\nat_ms = 300\naction = \"crash\"\nbroker = 1\n\n\
         [[faults.schedule]]\nat_ms = 700\naction = \"restart\"\nbroker = 1\n";
    let cases = [
        ("", crash_restart),
        (
            "",
            "[[faults.schedule]]\nat_ms = 200\naction = \"cut\"\nlink = [\"broker0\", \"broker2\"]\n",
        ),
        (
            "",
            "[[faults.schedule]]\nat_ms = 250\naction = \"crash\"\nbroker = 0\n",
        ),
        (
            "",
            "[[faults.schedule]]\nat_ms = 250\naction = \"shutdown\"\nbroker = 2\n",
        ),
        // Fetches wait for a handler thread, so partitions change between arrival and handling.
        ("fetch_cost_per_request_ns = 300000\n", crash_restart),
        // No long poll: every fetch is answered at once.
        ("\"replica.fetch.wait.max.ms\" = 0\n", crash_restart),
        (
            "\"unclean.leader.election.enable\" = true\n",
            "[[faults.schedule]]\nat_ms = 200\naction = \"power_off\"\nbroker = 0\n\n\
             [[faults.schedule]]\nat_ms = 210\naction = \"crash\"\nbroker = 1\n\n\
             [[faults.schedule]]\nat_ms = 600\naction = \"restart\"\nbroker = 0\n\n\
             [[faults.schedule]]\nat_ms = 900\naction = \"restart\"\nbroker = 1\n",
        ),
    ];
    for (cluster, faults) in cases {
        let text = text.replace(
            "replication_factor = 3\n",
            &format!("replication_factor = 3\n{cluster}"),
        );
        let file = format!("{text}\n{faults}");
        let worlds = worlds("baseline-60", &file);
        assert_eq!(worlds.len(), 1, "{file}");
        for (label, config, seed) in worlds {
            assert!(!config.faults.schedule.is_empty());
            assert_same(&format!("{label} {faults}"), &config, seed);
        }
    }
}

#[test]
fn fuzzed_experiments_decide_the_same_with_idle_partitions_skipped() {
    let mut ran = 0;
    for seed in 0..60u64 {
        let generated = experiment_file(seed);
        for (label, mut config, run_seed) in worlds(&format!("fuzz-{seed}"), &generated.text) {
            if config
                .run
                .max_virtual_time_ms
                .is_none_or(|ms| ms > FUZZ_VIRTUAL_MS)
            {
                config.run.max_virtual_time_ms = Some(FUZZ_VIRTUAL_MS);
            }
            if config.run.max_events == 0 || config.run.max_events > FUZZ_MAX_EVENTS {
                config.run.max_events = FUZZ_MAX_EVENTS;
            }
            if config.validate().is_err() {
                continue;
            }
            assert_same(&label, &config, run_seed);
            ran += 1;
        }
    }
    assert!(ran >= 20, "only {ran} fuzzed worlds ran");
}
