//! The sweep runner: validates every point, then runs the points of one shard in parallel
//! (rayon, across runs; each run is single-threaded), journals each finished point, and
//! assembles the result files. Resumable, stoppable, and shardable; see `crate::results` for
//! why the output bytes do not depend on threads, order, resumptions or shards.

use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

use crate::error::{Error, InputError, Result};
use crate::lock::DirLock;
use crate::progress_line::ProgressLine;
use crate::results::{
    self, FORMAT_VERSION, Journal, JournalDamage, Manifest, ManifestAxis, Overwrite, PointResult,
    Repair, RunRow,
};
use crate::scheduler::ShardSource;
use crate::spec::{Experiment, OnInvalid};
use crate::sweep::{Points, Shard, canonical_point, run_seed};

/// What one simulation run reports.
#[derive(Clone, Debug, PartialEq)]
pub struct RunOutcome {
    /// Metric name and value, always the same names in the same order.
    pub metrics: Vec<(String, f64)>,
    /// Warnings (for example a setting the producer silently overrides).
    pub warnings: Vec<String>,
}

/// Turns a point's sections into a runnable configuration and runs it with a seed. The shipped
/// implementation is `crate::world::WorldRunner`, which runs the real simulated world.
pub trait PointRunner: Sync {
    /// A validated configuration of one point.
    type Config;

    /// Validates one point's sections (stage two of validation).
    fn configure(
        &self,
        experiment: &Experiment,
        sections: &toml::Table,
    ) -> Result<Self::Config, InputError>;

    /// Runs one simulation.
    fn run(&self, config: &Self::Config, seed: u64) -> Result<RunOutcome>;
}

/// Whether to draw a progress bar on stderr.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// A bar on stderr when it is a terminal (indicatif hides it otherwise).
    Bar,
    /// Nothing.
    Hidden,
}

/// How to run a sweep.
#[derive(Debug)]
pub struct SweepOptions<'a> {
    /// The output directory.
    pub out_dir: PathBuf,
    /// Worker threads; `None` means one per core.
    pub threads: Option<usize>,
    /// Which slice of the points to run.
    pub shard: Shard,
    /// Refuse sweeps with more points than this.
    pub points_max: u64,
    /// Stop after this many points in this invocation (the rest is left for a resume).
    pub max_points_this_run: Option<usize>,
    /// What to do with a directory holding another experiment.
    pub overwrite: Overwrite,
    /// What to do with damaged journal lines.
    pub damage: JournalDamage,
    /// Progress display.
    pub progress: Progress,
    /// Set (by Ctrl-C) to stop starting new points.
    pub stop: &'a AtomicBool,
}

/// What a sweep invocation did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SweepReport {
    /// Points in the whole sweep.
    pub point_count: usize,
    /// Points in this shard.
    pub shard_point_count: usize,
    /// Points found finished in the journal.
    pub already_done: usize,
    /// Points finished by this invocation.
    pub ran_now: usize,
    /// Whether every point of the shard is now finished.
    pub complete: bool,
    /// What `--repair` dropped from the journal, if it dropped anything.
    pub repair: Option<Repair>,
    /// Finished runs (of this and earlier invocations) that a bound stopped: their rows are
    /// recorded, with the bound as a warning, and the sweep exits with code 3.
    pub bound_reached_runs: usize,
}

/// Whether a result row's run was stopped by a bound (its warnings say so first-hand).
pub fn row_reached_a_bound(row: &RunRow) -> bool {
    row.warnings
        .iter()
        .any(|w| w.starts_with(BOUND_REACHED_PREFIX))
}

/// How the warning of a run stopped by a bound begins (`models::world::BoundStop`).
pub const BOUND_REACHED_PREFIX: &str = "bound reached: ";

/// The manifest of an experiment's sweep.
pub fn manifest_of(experiment: &Experiment, point_count: usize, shard: Shard) -> Manifest {
    let axes = experiment
        .axes
        .iter()
        .map(|axis| ManifestAxis {
            name: axis.name(),
            values: axis
                .values
                .iter()
                .map(|v| serde_json::to_value(v).expect("scalar TOML values convert to JSON"))
                .collect(),
        })
        .collect();
    Manifest {
        format_version: FORMAT_VERSION,
        experiment: experiment.name.clone(),
        experiment_hash: experiment.hash_hex(),
        master_seed: experiment.master_seed,
        replicates: experiment.replicates,
        point_count,
        axes,
        shard,
        shard_source: None,
        partial: None,
    }
}

/// Validates the base sections, every axis value on its own (so an error names the axis and
/// its line), and then every point of the slice. With `on_invalid = "record"` only a sweep in
/// which no point at all is valid is refused (the first point's error is shown).
pub fn validate_points<R: PointRunner>(
    experiment: &Experiment,
    runner: &R,
    points: &Points<'_>,
    slice: &[usize],
) -> Result<()> {
    if experiment.on_invalid == OnInvalid::Record {
        let mut first_error = None;
        for &index in slice {
            match runner.configure(experiment, &experiment.sections_at(&points.values(index))) {
                Ok(_) => return Ok(()),
                Err(error) => {
                    first_error.get_or_insert(error);
                }
            }
        }
        return match first_error {
            Some(error) => Err(InputError::at(
                error.location,
                format!(
                    "no point of the sweep is valid; the first: {}",
                    error.message
                ),
            )
            .into()),
            None => Ok(()),
        };
    }
    runner.configure(experiment, &experiment.sections)?;
    for axis in &experiment.axes {
        for value in &axis.values {
            let mut sections = experiment.sections.clone();
            crate::spec::set_path(&mut sections, &axis.path, value.clone());
            runner.configure(experiment, &sections).map_err(|error| {
                let mut nested = vec!["sweep"];
                nested.extend(axis.path.iter().map(String::as_str));
                let location = experiment
                    .source
                    .location_of_key(&nested)
                    .or_else(|| experiment.source.location_of_key(&["sweep", &axis.name()]));
                InputError::at(
                    location,
                    format!("sweep axis `{}` = {value}: {}", axis.name(), error.message),
                )
            })?;
        }
    }
    for &index in slice {
        let values = points.values(index);
        runner
            .configure(experiment, &experiment.sections_at(&values))
            .map_err(|error| {
                let point = canonical_point(&experiment.axes, &values);
                InputError::new(format!("sweep point {index} ({point}): {}", error.message))
            })?;
    }
    Ok(())
}

/// Runs every replicate of one point.
pub fn run_point<R: PointRunner>(
    experiment: &Experiment,
    runner: &R,
    points: &Points<'_>,
    index: usize,
) -> Result<PointResult> {
    let values = points.values(index);
    let canonical = canonical_point(&experiment.axes, &values);
    let config = match runner.configure(experiment, &experiment.sections_at(&values)) {
        Ok(config) => config,
        Err(error) if experiment.on_invalid == OnInvalid::Record => {
            return Ok(invalid_point(experiment, index, &canonical, &error));
        }
        Err(error) => return Err(error.into()),
    };
    let mut rows = Vec::with_capacity(experiment.replicates as usize);
    for replicate in 0..experiment.replicates {
        let seed = run_seed(experiment.master_seed, &canonical, replicate);
        let outcome =
            catch_unwind(AssertUnwindSafe(|| runner.run(&config, seed))).map_err(|panic| {
                let what = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("a panic");
                Error::Run(format!(
                    "point {index} ({canonical}) replicate {replicate} with seed {seed} panicked: \
                 {what}\nreplay: linger run {} --point {index} --run-seed {seed}",
                    experiment.source.command_argument()
                ))
            })??;
        rows.push(RunRow {
            replicate,
            seed,
            metrics: outcome.metrics,
            warnings: outcome.warnings,
        });
    }
    Ok(PointResult { point: index, rows })
}

/// The rows of a point whose configuration is rejected: empty metrics, the reason as warning.
fn invalid_point(
    experiment: &Experiment,
    index: usize,
    canonical: &str,
    error: &InputError,
) -> PointResult {
    let rows = (0..experiment.replicates)
        .map(|replicate| RunRow {
            replicate,
            seed: run_seed(experiment.master_seed, canonical, replicate),
            metrics: Vec::new(),
            warnings: vec![format!("invalid configuration: {}", error.message)],
        })
        .collect();
    PointResult { point: index, rows }
}

/// Runs (or resumes) a sweep into `options.out_dir`.
pub fn run_sweep<R: PointRunner>(
    experiment: &Experiment,
    runner: &R,
    options: &SweepOptions<'_>,
) -> Result<SweepReport> {
    run_sweep_from(experiment, runner, options, None)
}

/// [`run_sweep`] of a shard that `--shard auto` chose, recording where it came from in the
/// manifest.
pub fn run_sweep_from<R: PointRunner>(
    experiment: &Experiment,
    runner: &R,
    options: &SweepOptions<'_>,
    shard_source: Option<&ShardSource>,
) -> Result<SweepReport> {
    // A preparation that takes more than a second says which step it is at (on a terminal).
    let mut preparing = ProgressLine::new(options.progress == Progress::Bar);
    let mut step = |what: &str| preparing.show(|_| format!("preparing the sweep: {what}"));
    step("counting points");
    let points = Points::new(&experiment.axes, options.points_max)?;
    let mut manifest = manifest_of(experiment, points.count(), options.shard);
    manifest.shard_source = shard_source.cloned();
    let slice = manifest.shard_points();
    step("checking the settings of every axis value");
    validate_points(experiment, runner, &points, &slice)?;
    let pool = thread_pool(options.threads)?;
    // Held until this function returns: no other process writes the directory meanwhile.
    let _lock = DirLock::acquire(&options.out_dir)?;
    step("checking the results directory");
    results::check_out_dir(&options.out_dir, &manifest, options.overwrite)?;
    results::remove_stale_partials(&options.out_dir)?;
    let copy = results::experiment_copy_text(&manifest, experiment);
    results::init_out_dir(&options.out_dir, &manifest, &copy)?;
    step("reading the journal of finished points");
    let (journal, mut finished, repair) =
        Journal::open(&options.out_dir, &manifest, options.damage)?;
    drop(preparing);
    let done: BTreeSet<usize> = finished.iter().map(|p| p.point).collect();
    let mut todo: Vec<usize> = slice
        .iter()
        .copied()
        .filter(|p| !done.contains(p))
        .collect();
    if let Some(limit) = options.max_points_this_run {
        todo.truncate(limit);
    }
    let already_done = finished.len();
    let shared = Mutex::new((journal, Vec::new()));
    let bar = progress_bar(options.progress, todo.len());
    let outcome: Result<()> = pool.install(|| {
        todo.par_iter().with_max_len(1).try_for_each(|&index| {
            if options.stop.load(Ordering::SeqCst) {
                return Ok(());
            }
            let result = run_point(experiment, runner, &points, index)?;
            let mut guard = shared
                .lock()
                .expect("the journal lock is never held across a panic");
            guard.0.append(&result)?;
            guard.1.push(result);
            bar.inc(1);
            Ok(())
        })
    });
    bar.finish_and_clear();
    let (mut journal, new) = shared
        .into_inner()
        .expect("no worker is left holding the lock");
    let ran_now = new.len();
    finished.extend(new);
    journal.sync()?;
    results::write_results(&options.out_dir, &manifest, &finished)?;
    outcome?;
    let bound_reached_runs = finished
        .iter()
        .flat_map(|point| &point.rows)
        .filter(|row| row_reached_a_bound(row))
        .count();
    Ok(SweepReport {
        point_count: points.count(),
        shard_point_count: slice.len(),
        already_done,
        ran_now,
        complete: finished.len() == slice.len(),
        repair,
        bound_reached_runs,
    })
}

fn thread_pool(threads: Option<usize>) -> Result<rayon::ThreadPool> {
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(threads) = threads {
        if threads == 0 {
            return Err(InputError::new("--threads must be at least 1").into());
        }
        builder = builder.num_threads(threads);
    }
    builder
        .build()
        .map_err(|error| Error::Run(format!("cannot start worker threads: {error}")))
}

fn progress_bar(progress: Progress, len: usize) -> indicatif::ProgressBar {
    let bar = match progress {
        Progress::Bar => indicatif::ProgressBar::new(len as u64),
        Progress::Hidden => indicatif::ProgressBar::hidden(),
    };
    let style = indicatif::ProgressStyle::with_template(
        "{elapsed_precise} [{bar:30}] {pos}/{len} points  {per_sec}  ETA {eta}",
    )
    .expect("the template is valid")
    .progress_chars("=> ");
    bar.set_style(style);
    bar
}

/// What a merge did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergeReport {
    /// Points in the merged sweep.
    pub point_count: usize,
    /// Points written (all of them unless the merge was partial).
    pub merged_points: usize,
    /// Directories merged.
    pub input_count: usize,
    /// What is missing, when `--partial` merged an incomplete set.
    pub missing: Option<Missing>,
}

/// The points the inputs of a merge lack, grouped by the shard that holds them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Missing {
    /// Points in the sweep.
    pub point_count: usize,
    /// Points the inputs hold.
    pub present: usize,
    /// One group per shard that lacks points, in shard order.
    pub shards: Vec<MissingShard>,
}

/// The missing points of one shard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissingShard {
    /// The shard that holds them.
    pub shard: Shard,
    /// The input directory of that shard, with how many of its points it finished; `None`
    /// when no input is that shard.
    pub input: Option<(PathBuf, usize, usize)>,
    /// The missing points, ascending.
    pub points: Vec<usize>,
}

/// How many point numbers a message lists per shard.
const LISTED_POINTS_MAX: usize = 10;

impl Missing {
    /// The shards as `K/N`, for the manifest.
    pub fn shard_names(&self) -> Vec<String> {
        self.shards
            .iter()
            .map(|group| format!("{}/{}", group.shard.index, group.shard.count))
            .collect()
    }

    /// Several lines for people: per shard, where it is and which points it lacks.
    pub fn describe(&self) -> String {
        let missing = self.point_count - self.present;
        let mut text = format!(
            "the inputs hold {} of {} points; {missing} missing:",
            self.present, self.point_count
        );
        for group in &self.shards {
            let where_ = match &group.input {
                Some((dir, done, of)) => {
                    format!("in {} ({done} of its {of} points finished)", dir.display())
                }
                None => "not among the inputs".to_string(),
            };
            let mut listed: Vec<String> = group
                .points
                .iter()
                .take(LISTED_POINTS_MAX)
                .map(ToString::to_string)
                .collect();
            if group.points.len() > LISTED_POINTS_MAX {
                listed.push(format!(
                    "and {} more",
                    group.points.len() - LISTED_POINTS_MAX
                ));
            }
            text.push_str(&format!(
                "\n  shard {}/{} {where_}: point{} {}",
                group.shard.index,
                group.shard.count,
                if group.points.len() == 1 { "" } else { "s" },
                listed.join(", ")
            ));
        }
        text
    }
}

/// The manifest a single run would have written, and each input's own, after checking that
/// every input is a sweep directory of the same experiment and that `out` is not one of them.
fn merged_manifest(inputs: &[PathBuf], out: &Path) -> Result<(Manifest, Vec<Manifest>)> {
    let mut manifests = Vec::new();
    for dir in inputs {
        if !dir.is_dir() {
            return Err(InputError::new(format!(
                "{}: no such directory; merge takes the shard directories of one sweep",
                dir.display()
            ))
            .into());
        }
        let manifest = results::read_manifest(dir)?.ok_or_else(|| {
            InputError::new(format!(
                "{}: no {} here; is it a sweep directory?",
                dir.display(),
                results::MANIFEST_FILE
            ))
        })?;
        if out
            .canonicalize()
            .ok()
            .is_some_and(|o| dir.canonicalize().ok() == Some(o))
        {
            return Err(
                InputError::new(format!("--out {} is also an input", out.display())).into(),
            );
        }
        if let Some(conflict) = results::copy_conflict(dir, &manifest)? {
            return Err(InputError::new(format!("{}: {conflict}", dir.display())).into());
        }
        manifests.push(manifest);
    }
    let Some(first) = manifests.first() else {
        return Err(InputError::new("merge needs at least one sweep directory").into());
    };
    let mut merged = first.without_notes();
    merged.shard = Shard::ALL;
    for (dir, manifest) in inputs.iter().zip(&manifests) {
        let mut comparable = manifest.without_notes();
        comparable.shard = Shard::ALL;
        if comparable != merged {
            return Err(InputError::new(format!(
                "{}: holds experiment `{}` (hash {}), not `{}` (hash {}) like {}; merge only \
                 the shard directories of one sweep",
                dir.display(),
                manifest.experiment,
                manifest.experiment_hash,
                merged.experiment,
                merged.experiment_hash,
                inputs[0].display()
            ))
            .into());
        }
    }
    Ok((merged, manifests))
}

/// One input directory of a merge: its manifest and the points its journal holds.
struct MergeInput<'a> {
    dir: &'a Path,
    manifest: &'a Manifest,
    finished: Vec<usize>,
}

/// The missing points of a merge, grouped by the shard that holds them: an input directory of
/// that shard if there is one (a partial merge is not one), else the shard of the first sharded
/// input's numbering (or of the shards a partial merge names).
fn missing_points(inputs: &[MergeInput<'_>], point_count: usize) -> Option<Missing> {
    let present: BTreeSet<usize> = inputs
        .iter()
        .flat_map(|i| i.finished.iter().copied())
        .collect();
    if present.len() == point_count {
        return None;
    }
    // A partial merge given as an input numbers its missing points by the shards it names.
    let named_count = inputs
        .iter()
        .filter_map(|i| i.manifest.partial.as_ref())
        .flat_map(|p| &p.missing_shards)
        .find_map(|name| Shard::parse(name).ok())
        .map(|shard| shard.count);
    let count = inputs
        .iter()
        .map(|i| i.manifest.shard.count)
        .find(|&count| count > 1)
        .or(named_count)
        .unwrap_or(1);
    let mut groups: std::collections::BTreeMap<(u32, u32), MissingShard> =
        std::collections::BTreeMap::new();
    for point in (0..point_count).filter(|p| !present.contains(p)) {
        let holder = inputs
            .iter()
            .find(|i| i.manifest.partial.is_none() && i.manifest.shard.contains(point));
        let shard = match holder {
            Some(input) => input.manifest.shard,
            None => Shard {
                index: (point % count as usize) as u32 + 1,
                count,
            },
        };
        let group = groups
            .entry((shard.count, shard.index))
            .or_insert_with(|| MissingShard {
                shard,
                input: holder.map(|input| {
                    let of = input.manifest.shard_points().len();
                    (input.dir.to_path_buf(), input.finished.len(), of)
                }),
                points: Vec::new(),
            });
        group.points.push(point);
    }
    Some(Missing {
        point_count,
        present: present.len(),
        shards: groups.into_values().collect(),
    })
}

/// Whether a merge may lack points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Completeness {
    /// Every point of the sweep, or a refusal naming the missing ones (the default).
    Whole,
    /// What the inputs hold, marked partial in the manifest (`--partial`).
    Partial,
}

/// Joins shard directories into the directory a single unsharded run would have produced.
/// With [`Completeness::Partial`], a set of inputs that lacks points is merged too, and the manifest says what
/// is missing; without it, such a set is refused, naming the missing points and their shards.
pub fn merge(
    inputs: &[PathBuf],
    out: &Path,
    overwrite: Overwrite,
    completeness: Completeness,
) -> Result<MergeReport> {
    let (mut merged, manifests) = merged_manifest(inputs, out)?;
    let mut by_point = std::collections::BTreeMap::new();
    let mut read = Vec::with_capacity(inputs.len());
    for (dir, manifest) in inputs.iter().zip(&manifests) {
        // Each shard's rows are checked against its own manifest (its points, seeds, shard).
        let mut finished = Vec::new();
        for result in results::read_journal(&dir.join(results::JOURNAL_FILE), manifest)? {
            finished.push(result.point);
            by_point.entry(result.point).or_insert(result);
        }
        read.push(MergeInput {
            dir,
            manifest,
            finished,
        });
    }
    let missing = missing_points(&read, merged.point_count);
    if let Some(missing) = &missing {
        if completeness == Completeness::Whole {
            return Err(InputError::new(format!(
                "{}\nfinish an incomplete shard by running its sweep command again (it resumes), \
                 add the directories of the missing shards, or pass --partial to merge what is \
                 complete into a directory marked partial",
                missing.describe()
            ))
            .into());
        }
        merged.partial = Some(results::Partial {
            points_present: missing.present,
            points_missing: missing.point_count - missing.present,
            missing_shards: missing.shard_names(),
        });
    }
    let _lock = DirLock::acquire(out)?;
    results::check_out_dir(out, &merged, overwrite)?;
    results::remove_stale_partials(out)?;
    let copy_path = inputs[0].join(results::EXPERIMENT_COPY_FILE);
    let copy = std::fs::read_to_string(&copy_path).map_err(|error| Error::io(&copy_path, error))?;
    results::init_out_dir(out, &merged, &copy)?;
    let finished: Vec<PointResult> = by_point.into_values().collect();
    results::write_journal(&out.join(results::JOURNAL_FILE), &finished)?;
    results::write_results(out, &merged, &finished)?;
    Ok(MergeReport {
        point_count: merged.point_count,
        merged_points: finished.len(),
        input_count: inputs.len(),
        missing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Source;

    /// A test-only stand-in for the world: metrics are a pure function of the sections and seed.
    struct FakeRunner;

    impl PointRunner for FakeRunner {
        type Config = (i64, i64);

        fn configure(
            &self,
            _: &Experiment,
            sections: &toml::Table,
        ) -> Result<(i64, i64), InputError> {
            let producer = sections.get("producer").and_then(toml::Value::as_table);
            let get = |key: &str| {
                producer
                    .and_then(|p| p.get(key))
                    .and_then(toml::Value::as_integer)
            };
            let linger = get("linger.ms").unwrap_or(5);
            if linger < 0 {
                return Err(InputError::new(format!(
                    "linger.ms must be >= 0, got {linger}"
                )));
            }
            Ok((linger, get("batch.size").unwrap_or(16384)))
        }

        fn run(&self, config: &(i64, i64), seed: u64) -> Result<RunOutcome> {
            let noise = (seed % 1000) as f64 / 1000.0;
            Ok(RunOutcome {
                metrics: vec![
                    (
                        "throughput".into(),
                        config.1 as f64 / (1.0 + config.0 as f64) + noise,
                    ),
                    ("latency_ms".into(), config.0 as f64 * 1.5 + noise),
                ],
                warnings: if config.0 == 0 {
                    vec!["no batching".into()]
                } else {
                    vec![]
                },
            })
        }
    }

    const SWEEP: &str = "[run]\nseed = 3\nreplicates = 2\n[sweep.producer]\n\
        \"linger.ms\" = [0, 1, 5, 10, 20]\n\"batch.size\" = { from = 1024, to = 8192, times = 2 }\n";

    fn experiment() -> Experiment {
        Experiment::parse(Source::built_in("fake.toml", SWEEP), &[]).expect("valid")
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("linger-runner-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn sweep(
        dir: &Path,
        threads: usize,
        shard: Shard,
        max_points_this_run: Option<usize>,
    ) -> SweepReport {
        let stop = AtomicBool::new(false);
        let options = SweepOptions {
            out_dir: dir.to_path_buf(),
            threads: Some(threads),
            shard,
            points_max: 1000,
            max_points_this_run,
            overwrite: Overwrite::Refuse,
            damage: JournalDamage::Refuse,
            progress: Progress::Hidden,
            stop: &stop,
        };
        run_sweep(&experiment(), &FakeRunner, &options).expect("sweep runs")
    }

    /// Options for a whole, single-threaded sweep into `dir` that refuses foreign results.
    fn one_thread_options<'a>(dir: &Path, stop: &'a AtomicBool) -> SweepOptions<'a> {
        SweepOptions {
            out_dir: dir.to_path_buf(),
            threads: Some(1),
            shard: Shard::ALL,
            points_max: 1000,
            max_points_this_run: None,
            overwrite: Overwrite::Refuse,
            damage: JournalDamage::Refuse,
            progress: Progress::Hidden,
            stop,
        }
    }

    fn files(dir: &Path) -> Vec<Vec<u8>> {
        [
            "manifest.json",
            "results.csv",
            "results.jsonl",
            "summary.csv",
        ]
        .iter()
        .map(|name| std::fs::read(dir.join(name)).expect("file exists"))
        .collect()
    }

    #[test]
    fn threads_resumes_and_shards_give_identical_files() {
        let one = temp_dir("one");
        let report = sweep(&one, 1, Shard::ALL, None);
        assert_eq!(
            (report.point_count, report.ran_now, report.complete),
            (20, 20, true)
        );
        let two = temp_dir("two");
        sweep(&two, 2, Shard::ALL, None);
        assert_eq!(files(&one), files(&two));

        let resumed = temp_dir("resumed");
        let first = sweep(&resumed, 2, Shard::ALL, Some(7));
        assert_eq!((first.ran_now, first.complete), (7, false));
        let second = sweep(&resumed, 2, Shard::ALL, None);
        assert_eq!(
            (second.already_done, second.ran_now, second.complete),
            (7, 13, true)
        );
        assert_eq!(files(&one), files(&resumed));

        let shards: Vec<PathBuf> = (1..=3).map(|k| temp_dir(&format!("shard{k}"))).collect();
        for (k, dir) in shards.iter().enumerate() {
            sweep(
                dir,
                1,
                Shard {
                    index: k as u32 + 1,
                    count: 3,
                },
                None,
            );
        }
        let merged = temp_dir("merged");
        merge(&shards, &merged, Overwrite::Refuse, Completeness::Whole).expect("merges");
        assert_eq!(files(&one), files(&merged));
        let error = merge(
            &shards[..2],
            &temp_dir("partial"),
            Overwrite::Refuse,
            Completeness::Whole,
        )
        .expect_err("missing shard");
        assert_eq!(error.exit_code(), 2);
        let message = error.to_string();
        assert!(
            message.contains("shard 3/3 not among the inputs: points 2, 5, 8, 11"),
            "{message}"
        );
        // A partial merge writes what is there and says what is not.
        let partial_dir = temp_dir("partial");
        let report = merge(
            &shards[..2],
            &partial_dir,
            Overwrite::Refuse,
            Completeness::Partial,
        )
        .expect("merges");
        assert_eq!(report.merged_points, 14);
        let manifest = results::read_manifest(&partial_dir)
            .expect("reads")
            .expect("a manifest");
        let marker = manifest.partial.expect("marked partial");
        assert_eq!((marker.points_present, marker.points_missing), (14, 6));
        assert_eq!(marker.missing_shards, ["3/3"]);
        // The partial directory and the missing shard merge into the whole.
        let whole = temp_dir("whole");
        merge(
            &[partial_dir.clone(), shards[2].clone()],
            &whole,
            Overwrite::Refuse,
            Completeness::Whole,
        )
        .expect("merges");
        assert_eq!(files(&one), files(&whole));
        std::fs::remove_dir_all(&partial_dir).expect("cleans up");
        std::fs::remove_dir_all(&whole).expect("cleans up");
        for dir in [one, two, resumed, merged].iter().chain(&shards) {
            std::fs::remove_dir_all(dir).expect("cleans up");
        }
    }

    #[test]
    fn a_bad_axis_value_names_the_axis_and_writes_nothing() {
        let text = "[sweep.producer]\n\"linger.ms\" = [5, -1]\n";
        let experiment =
            Experiment::parse(Source::built_in("bad.toml", text), &[]).expect("parses");
        let dir = temp_dir("bad");
        let stop = AtomicBool::new(false);
        let options = one_thread_options(&dir, &stop);
        let error = run_sweep(&experiment, &FakeRunner, &options).expect_err("bad value");
        let text = error.to_string();
        assert!(
            text.starts_with("<built-in bad.toml>:2:1: sweep axis `producer.linger.ms` = -1"),
            "{text}"
        );
        assert!(!dir.exists());
    }

    #[test]
    fn a_stop_request_keeps_finished_points() {
        let dir = temp_dir("stop");
        let stop = AtomicBool::new(true);
        let options = one_thread_options(&dir, &stop);
        let report = run_sweep(&experiment(), &FakeRunner, &options).expect("stops cleanly");
        assert_eq!((report.ran_now, report.complete), (0, false));
        assert!(dir.join("results.csv").exists());
        std::fs::remove_dir_all(&dir).expect("cleans up");
    }

    #[test]
    fn rejected_points_are_recorded_when_asked() {
        let text = "[sweep]\non_invalid = \"record\"\n[sweep.producer]\n\"linger.ms\" = [5, -1]\n";
        let experiment =
            Experiment::parse(Source::built_in("record.toml", text), &[]).expect("parses");
        let dir = temp_dir("record");
        let stop = AtomicBool::new(false);
        let options = one_thread_options(&dir, &stop);
        let report = run_sweep(&experiment, &FakeRunner, &options).expect("records the bad point");
        assert!(report.complete);
        let csv = std::fs::read_to_string(dir.join("results.csv")).expect("written");
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "point,replicate,seed,producer.linger.ms,throughput,latency_ms,warnings"
        );
        assert!(
            lines[2].starts_with("1,0,")
                && lines[2].contains(",-1,NaN,NaN,\"invalid configuration: linger.ms"),
            "{csv}"
        );
        std::fs::remove_dir_all(&dir).expect("cleans up");
    }
}
