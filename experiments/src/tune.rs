//! `linger tune`: the best configuration of a file's `[sweep]` grid under stated constraints,
//! found with successive halving instead of running the whole grid.
//!
//! ```text
//!   grid (the [sweep] axes) ──► round 1: every point, 1 replicate, 1/η² of the send phase
//!        keep the best 1/η ──► round 2: 1 replicate, 1/η of the send phase
//!        keep the best 1/η ──► final: the full send phase, R replicates (the grid's own seeds)
//!                          ──► winner + 95% CI, frontier, or "infeasible" + the binding
//!                              constraint and the closest configurations ──► tune.json
//! ```
//!
//! Why successive halving: a point's cost is its simulated time, so a short run is a cheap,
//! noisy look at it. Most of a linger.ms x batch.size grid is clearly worse than the best at a
//! glance (a throughput capped by the round trip, a p99 far above the bound), and successive
//! halving spends full-length, replicated runs only on the few points still in contention; a
//! model-based search would need a model of a landscape with cliffs (the buffer pool filling, a
//! p99 bound crossed) that a smooth surrogate fits badly, while halving needs only a ranking.
//! The final round runs each survivor with the seeds a full sweep gives that point, so its rows
//! are the grid's rows and the winner can be checked against a sweep.
//!
//! Ranking within a round, on means over the round's replicates: points that meet every
//! constraint, by objective; then the others, by their total violation (each constraint's
//! shortfall relative to its bound); last, points with no objective value (nothing
//! acknowledged). Ties go to the lower point index, so the search is deterministic for a seed.
//!
//! Directories: each screening round is a sweep directory `DIR/screening-K` (the same files as
//! `linger sweep`, holding the points it ran), the final round is `DIR` itself, and
//! `DIR/tune.json` says what was searched, what each round kept, the cost against the grid's,
//! and the answer. Every round resumes from its journal, so a stopped tune continues where it
//! stopped, and changing a constraint reuses every run already made.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rayon::prelude::*;
use serde_json::{Value, json};

use crate::error::{Error, InputError, Result, suggestion_suffix};
use crate::lock::DirLock;
use crate::results::{self, JournalDamage, Overwrite, PointResult};
use crate::runner::{PointRunner, manifest_of, run_point, validate_points};
use crate::spec::Experiment;
use crate::stats::Summary;
use crate::sweep::{Points, Shard, canonical_point};

/// The file `linger tune` writes its answer to, beside the final round's result files.
pub const TUNE_FILE: &str = "tune.json";

/// Whether the objective is to be made large or small.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Goal {
    /// `--maximize COL`.
    Maximize,
    /// `--minimize COL`.
    Minimize,
}

/// The column to optimise.
#[derive(Clone, Debug, PartialEq)]
pub struct Objective {
    /// A result column.
    pub column: String,
    /// Up or down.
    pub goal: Goal,
}

/// A comparison of a constraint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `<=`
    AtMost,
    /// `<`
    Below,
    /// `>=`
    AtLeast,
    /// `>`
    Above,
    /// `==`
    Equal,
}

/// `COL<=X` and its kin: a bound a configuration's mean must meet.
#[derive(Clone, Debug, PartialEq)]
pub struct Constraint {
    /// A result column.
    pub column: String,
    /// The comparison.
    pub op: Op,
    /// The bound.
    pub bound: f64,
    /// The constraint as written.
    pub text: String,
}

const OPS: [(&str, Op); 5] = [
    ("<=", Op::AtMost),
    (">=", Op::AtLeast),
    ("==", Op::Equal),
    ("<", Op::Below),
    (">", Op::Above),
];

impl Constraint {
    /// Parses `COL<=X`, `COL<X`, `COL>=X`, `COL>X` or `COL==X` (spaces allowed).
    pub fn parse(text: &str) -> Result<Constraint, InputError> {
        let malformed = |why: &str| {
            InputError::new(format!(
                "--constraint '{text}': {why}; write COLUMN<=NUMBER (or <, >=, >, ==), such as \
                 'latency_p99_ms<=20' or 'duplicated==0'"
            ))
        };
        let (at, symbol, op) = OPS
            .iter()
            .filter_map(|(symbol, op)| text.find(symbol).map(|at| (at, *symbol, *op)))
            .min_by_key(|(at, symbol, _)| (*at, std::cmp::Reverse(symbol.len())))
            .ok_or_else(|| malformed("no comparison"))?;
        let column = text[..at].trim();
        let bound_text = text[at + symbol.len()..].trim();
        if column.is_empty() {
            return Err(malformed("no column before the comparison"));
        }
        let name_char = |c: char| c.is_ascii_alphanumeric() || "._-".contains(c);
        if let Some(stray) = column.chars().find(|c| !name_char(*c)) {
            return Err(malformed(&format!(
                "`{stray}` cannot stand before the comparison `{symbol}`"
            )));
        }
        if bound_text.starts_with(['<', '>', '=']) {
            return Err(malformed("one comparison only"));
        }
        let bound: f64 = bound_text
            .parse()
            .ok()
            .filter(|b: &f64| b.is_finite())
            .ok_or_else(|| malformed(&format!("`{bound_text}` is not a number")))?;
        Ok(Constraint {
            column: column.to_owned(),
            op,
            bound,
            text: text.trim().to_owned(),
        })
    }

    /// Whether a value meets the constraint (an empty value meets none).
    pub fn holds(&self, value: f64) -> bool {
        if value.is_nan() {
            return false;
        }
        match self.op {
            Op::AtMost => value <= self.bound,
            Op::Below => value < self.bound,
            Op::AtLeast => value >= self.bound,
            Op::Above => value > self.bound,
            Op::Equal => value == self.bound,
        }
    }

    /// How far a value misses the bound, relative to the bound (at least 1 in the divisor);
    /// 0 when it holds, infinite for an empty value.
    pub fn violation(&self, value: f64) -> f64 {
        if value.is_nan() {
            return f64::INFINITY;
        }
        if self.holds(value) {
            return 0.0;
        }
        (value - self.bound).abs().max(f64::MIN_POSITIVE) / self.bound.abs().max(1.0)
    }

    /// Lower is better for this constraint's column, as far as the frontier is concerned.
    fn lower_is_better(&self) -> Option<bool> {
        match self.op {
            Op::AtMost | Op::Below => Some(true),
            Op::AtLeast | Op::Above => Some(false),
            Op::Equal => None,
        }
    }
}

/// What `linger tune` searches for.
#[derive(Clone, Debug)]
pub struct TuneSpec {
    /// The objective.
    pub objective: Objective,
    /// The constraints, all of which must hold.
    pub constraints: Vec<Constraint>,
    /// The halving factor η (keep the best 1/η each round), at least 2.
    pub eta: u32,
    /// Replicates of the final round (at least 2, for a confidence interval).
    pub final_replicates: u32,
}

/// Where and how `linger tune` runs.
#[derive(Debug)]
pub struct TuneOptions {
    /// The final round's directory (screening rounds go below it).
    pub out_dir: PathBuf,
    /// Worker threads; `None`: one per core.
    pub threads: Option<usize>,
    /// Whether a directory of another experiment may be replaced.
    pub overwrite: Overwrite,
}

/// Refuses columns the results do not have, with the nearest, and columns that hold no
/// numbers: every constraint and the objective name a metric, or an axis whose values are
/// numbers.
pub fn check_columns(
    spec: &TuneSpec,
    experiment: &Experiment,
    metric_names: &[&str],
) -> Result<(), InputError> {
    let axes: Vec<String> = experiment.axes.iter().map(|a| a.name()).collect();
    let mut named: Vec<(&str, String)> = vec![("the objective", spec.objective.column.clone())];
    named.extend(
        spec.constraints
            .iter()
            .map(|c| ("a constraint", c.column.clone())),
    );
    for (what, column) in named {
        if let Some(axis) = experiment.axes.iter().find(|a| a.name() == column) {
            if axis.values.iter().all(|v| v.is_integer() || v.is_float()) {
                continue;
            }
            return Err(InputError::new(format!(
                "{what} `{column}` is not numeric: the sweep axis `{column}` holds text or \
                 true/false values; name a numeric result column, such as \
                 throughput_records_per_s or latency_p99_ms"
            )));
        }
        if metric_names.contains(&column.as_str()) {
            continue;
        }
        if column == "warnings" || ["point", "replicate", "seed"].contains(&column.as_str()) {
            return Err(InputError::new(format!(
                "{what} `{column}` is not a numeric result: name a metric, such as \
                 throughput_records_per_s or latency_p99_ms (`linger run` lists them)"
            )));
        }
        let candidates = metric_names
            .iter()
            .copied()
            .chain(axes.iter().map(String::as_str));
        return Err(InputError::new(format!(
            "{what} names the unknown column `{column}`{}; the result columns are the metrics \
             `linger run` prints and the sweep axes ({})",
            suggestion_suffix(&column, candidates),
            if axes.is_empty() {
                "none".to_owned()
            } else {
                axes.join(", ")
            }
        )));
    }
    Ok(())
}

/// One round of the search: its length relative to the file's send phase, its replicates and
/// the points it ran, best first.
#[derive(Clone, Debug, PartialEq)]
pub struct Round {
    /// The round's directory.
    pub dir: PathBuf,
    /// The send phase as a fraction of the file's.
    pub fraction: f64,
    /// Replicates per point.
    pub replicates: u32,
    /// The points run, ranked best first.
    pub ranked: Vec<usize>,
}

/// The estimate of one column at one point: mean and 95% half-width over its replicates.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    /// The mean (NaN when no replicate had a value).
    pub mean: f64,
    /// Half-width of the 95% interval (NaN below two values).
    pub half_width: f64,
    /// Replicates with a value.
    pub count: usize,
}

/// A configuration as the answer names it.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    /// The point's index in the grid.
    pub point: usize,
    /// `section.key=value` pairs, as the sweep's canonical point.
    pub label: String,
    /// The objective.
    pub objective: Estimate,
    /// Each constraint's column, in the order of the constraints.
    pub constrained: Vec<Estimate>,
    /// Each constraint's violation (0: met).
    pub violations: Vec<f64>,
    /// Records acknowledged, mean over replicates (a point with none never wins).
    pub acked: f64,
}

/// The answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// A configuration meets every constraint: the best of them, and the final-round points
    /// whose objective lies within the winner's 95% interval.
    Feasible {
        /// The winner.
        winner: Candidate,
        /// Other feasible configurations not told apart from it.
        ties: Vec<Candidate>,
    },
    /// No configuration met every constraint at full length.
    Infeasible {
        /// The constraint the closest configuration misses most.
        binding: String,
        /// The configurations closest to meeting every constraint, closest first.
        closest: Vec<Candidate>,
    },
}

/// What a tune did and found.
#[derive(Clone, Debug, PartialEq)]
pub struct TuneReport {
    /// Points in the grid.
    pub grid_points: usize,
    /// The rounds, first to final.
    pub rounds: Vec<Round>,
    /// Runs made, over every round.
    pub runs: usize,
    /// Those runs weighted by their length: the cost in runs of the file's full length.
    pub full_run_equivalents: f64,
    /// The runs the grid would take: every point with the final round's replicates.
    pub grid_runs: usize,
    /// The answer.
    pub verdict: Verdict,
    /// The final round's configurations no other beats on the objective and every
    /// constrained column at once.
    pub frontier: Vec<Candidate>,
}

/// The rounds' lengths and replicates for a grid of `points`: screening rounds at 1/η² and
/// 1/η of the send phase with one replicate, while enough points remain to halve, then the
/// full length with the final replicates.
fn round_plan(points: usize, eta: u32, final_replicates: u32) -> Vec<(f64, u32)> {
    let eta = f64::from(eta);
    let screening = if points as f64 >= eta * eta * 2.0 {
        2
    } else if points as f64 >= eta * 2.0 {
        1
    } else {
        0
    };
    let mut plan: Vec<(f64, u32)> = (0..screening)
        .map(|round| (eta.powi(round - screening), 1))
        .collect();
    plan.push((1.0, final_replicates));
    plan
}

/// How many of `count` ranked points the next round keeps.
fn keep_count(count: usize, eta: u32) -> usize {
    count.div_ceil(eta as usize).max(count.min(3))
}

/// The experiment of one round: the send phase (or the record limit of a file without one)
/// scaled by `fraction`, and `replicates` runs per point.
fn round_experiment(
    base: &Experiment,
    (fraction, replicates): (f64, u32),
    base_run: &models::world::WorldConfig,
) -> Experiment {
    let mut experiment = base.clone();
    experiment.replicates = replicates;
    if fraction < 1.0 {
        let (section, key, value) = if base_run.run.duration_ms > 0.0 {
            let ms = (base_run.run.duration_ms * fraction * 1000.0).round() / 1000.0;
            ("run", "duration_ms", toml::Value::Float(ms.max(1.0)))
        } else {
            let records = (base_run.workload.records as f64 * fraction)
                .ceil()
                .max(1.0);
            ("workload", "records", toml::Value::Integer(records as i64))
        };
        crate::spec::set_path(
            &mut experiment.sections,
            &[section.to_owned(), key.to_owned()],
            value,
        );
        experiment.name = format!(
            "{} (tune screening at {fraction:.4} of its length)",
            base.name
        );
    }
    experiment
}

/// Runs the tune: every round, then the answer, written to `DIR/tune.json`.
pub fn tune(experiment: &Experiment, spec: &TuneSpec, options: &TuneOptions) -> Result<TuneReport> {
    if experiment.axes.is_empty() {
        return Err(InputError::new(format!(
            "{}: `linger tune` searches the file's [sweep] axes, and it has none; add one, such as \
             [sweep.producer] \"linger.ms\" = [0, 5, 20, 50]",
            experiment.source.display_name
        ))
        .into());
    }
    let runner = crate::world::WorldRunner;
    check_columns(spec, experiment, &models::producer::metrics::METRIC_NAMES)?;
    let points = Points::new(&experiment.axes, crate::sweep::POINTS_MAX_DEFAULT)?;
    let all: Vec<usize> = (0..points.count()).collect();
    validate_points(experiment, &runner, &points, &all)?;
    let base_config = runner.configure(experiment, &experiment.sections)?;
    let plan = round_plan(points.count(), spec.eta, spec.final_replicates);
    let mut survivors = all;
    let mut rounds = Vec::with_capacity(plan.len());
    let mut final_candidates = Vec::new();
    let (mut runs, mut equivalents) = (0usize, 0.0f64);
    for (index, &step) in plan.iter().enumerate() {
        let last = index + 1 == plan.len();
        let dir = if last {
            options.out_dir.clone()
        } else {
            options.out_dir.join(format!("screening-{}", index + 1))
        };
        let round_exp = round_experiment(experiment, step, &base_config);
        let results = run_subset(&round_exp, &points, &survivors, &dir, options)?;
        runs += survivors.len() * step.1 as usize;
        equivalents += (survivors.len() * step.1 as usize) as f64 * step.0;
        let candidates: Vec<Candidate> = results
            .iter()
            .map(|result| candidate(experiment, &points, result, spec))
            .collect();
        let ranked = rank(&candidates, spec);
        survivors = ranked[..keep_count(ranked.len(), spec.eta)].to_vec();
        survivors.sort_unstable();
        rounds.push(Round {
            dir,
            fraction: step.0,
            replicates: step.1,
            ranked,
        });
        if last {
            final_candidates = candidates;
        }
    }
    let candidates = final_candidates;
    let report = TuneReport {
        grid_points: points.count(),
        runs,
        full_run_equivalents: equivalents,
        grid_runs: points.count() * spec.final_replicates as usize,
        verdict: verdict(&candidates, &rounds, spec),
        frontier: frontier(&candidates, spec),
        rounds,
    };
    let json = serde_json::to_string_pretty(&report_json(&report, spec, experiment))
        .expect("a JSON value always serialises");
    results::write_atomically(&options.out_dir.join(TUNE_FILE), (json + "\n").as_bytes())?;
    Ok(report)
}

/// Runs (or resumes) the points `subset` of `experiment` into the sweep directory `dir`, and
/// returns their results in point order.
fn run_subset(
    experiment: &Experiment,
    points: &Points<'_>,
    subset: &[usize],
    dir: &Path,
    options: &TuneOptions,
) -> Result<Vec<PointResult>> {
    let runner = crate::world::WorldRunner;
    let manifest = manifest_of(experiment, points.count(), Shard::ALL);
    let _lock = DirLock::acquire(dir)?;
    results::check_out_dir(dir, &manifest, options.overwrite)?;
    results::remove_stale_partials(dir)?;
    let copy = results::experiment_copy_text(&manifest, experiment);
    results::init_out_dir(dir, &manifest, &copy)?;
    let (journal, mut finished, _) = results::Journal::open(dir, &manifest, JournalDamage::Refuse)?;
    let done: BTreeSet<usize> = finished.iter().map(|p| p.point).collect();
    let todo: Vec<usize> = subset
        .iter()
        .copied()
        .filter(|p| !done.contains(p))
        .collect();
    let shared = Mutex::new((journal, Vec::new()));
    let pool = thread_pool(options.threads)?;
    let outcome: Result<()> = pool.install(|| {
        todo.par_iter().with_max_len(1).try_for_each(|&index| {
            let result = run_point(experiment, &runner, points, index)?;
            let mut guard = shared
                .lock()
                .expect("the journal lock is never held across a panic");
            guard.0.append(&result)?;
            guard.1.push(result);
            Ok(())
        })
    });
    let (mut journal, new) = shared
        .into_inner()
        .expect("no worker is left holding the lock");
    finished.extend(new);
    journal.sync()?;
    results::write_results(dir, &manifest, &finished)?;
    outcome?;
    let wanted: BTreeSet<usize> = subset.iter().copied().collect();
    finished.retain(|p| wanted.contains(&p.point));
    finished.sort_by_key(|p| p.point);
    Ok(finished)
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

/// The values of `column` over a point's replicates: a metric, or the point's axis value.
fn column_values(result: &PointResult, column: &str, axis_value: Option<f64>) -> Vec<f64> {
    if let Some(value) = axis_value {
        return vec![value; result.rows.len()];
    }
    result
        .rows
        .iter()
        .map(|row| {
            row.metrics
                .iter()
                .find(|(name, _)| name == column)
                .map_or(f64::NAN, |(_, value)| *value)
        })
        .collect()
}

fn estimate_of(values: &[f64]) -> Estimate {
    let summary = Summary::of(values);
    Estimate {
        mean: summary.mean,
        half_width: summary.ci95_half_width,
        count: summary.count,
    }
}

/// The estimates of a point, as the answer names it.
fn candidate(
    experiment: &Experiment,
    points: &Points<'_>,
    result: &PointResult,
    spec: &TuneSpec,
) -> Candidate {
    let values = points.values(result.point);
    let axis_value = |column: &str| {
        experiment
            .axes
            .iter()
            .position(|a| a.name() == column)
            .and_then(|i| {
                values[i]
                    .as_float()
                    .or(values[i].as_integer().map(|v| v as f64))
            })
    };
    let of = |column: &str| estimate_of(&column_values(result, column, axis_value(column)));
    let constrained: Vec<Estimate> = spec.constraints.iter().map(|c| of(&c.column)).collect();
    let violations = spec
        .constraints
        .iter()
        .zip(&constrained)
        .map(|(c, e)| c.violation(e.mean))
        .collect();
    Candidate {
        point: result.point,
        label: canonical_point(&experiment.axes, &values),
        objective: of(&spec.objective.column),
        constrained,
        violations,
        acked: of("records_acked").mean,
    }
}

/// The objective oriented so that lower is better (NaN stays NaN).
fn oriented(spec: &TuneSpec, value: f64) -> f64 {
    match spec.objective.goal {
        Goal::Maximize => -value,
        Goal::Minimize => value,
    }
}

/// The points of a round, best first (see the module doc). Ranking uses means over the
/// round's replicates; a point that acknowledged nothing has no objective and comes last.
fn rank(candidates: &[Candidate], spec: &TuneSpec) -> Vec<usize> {
    let mut keyed: Vec<(u8, f64, usize)> = candidates
        .iter()
        .map(|c| {
            let violation: f64 = c.violations.iter().sum();
            let class = if c.objective.mean.is_nan() || c.acked == 0.0 {
                2
            } else if violation == 0.0 {
                0
            } else {
                1
            };
            let score = if class == 0 {
                oriented(spec, c.objective.mean)
            } else {
                violation
            };
            (class, score, c.point)
        })
        .collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)).then(a.2.cmp(&b.2)));
    keyed.into_iter().map(|(_, _, point)| point).collect()
}

fn feasible(candidate: &Candidate) -> bool {
    candidate.violations.iter().all(|v| *v == 0.0)
        && !candidate.objective.mean.is_nan()
        && candidate.acked > 0.0
}

/// The answer over the final round's candidates.
fn verdict(candidates: &[Candidate], rounds: &[Round], spec: &TuneSpec) -> Verdict {
    let last = rounds.last().map(|r| r.ranked.as_slice()).unwrap_or(&[]);
    let in_order: Vec<&Candidate> = last
        .iter()
        .filter_map(|point| candidates.iter().find(|c| c.point == *point))
        .collect();
    if let Some(winner) = in_order.iter().copied().find(|c| feasible(c)) {
        let (low, high) = interval(winner.objective);
        let ties = in_order
            .iter()
            .copied()
            .filter(|c| c.point != winner.point && feasible(c))
            .filter(|c| (low..=high).contains(&c.objective.mean))
            .cloned()
            .collect();
        return Verdict::Feasible {
            winner: winner.clone(),
            ties,
        };
    }
    let mut closest: Vec<Candidate> = in_order.into_iter().cloned().collect();
    closest.sort_by(|a, b| {
        let total = |c: &Candidate| c.violations.iter().sum::<f64>();
        total(a).total_cmp(&total(b)).then(a.point.cmp(&b.point))
    });
    closest.truncate(3);
    let binding = closest
        .first()
        .and_then(|c| {
            c.violations
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|(i, _)| spec.constraints[i].text.clone())
        })
        .unwrap_or_else(|| spec.objective.column.clone());
    Verdict::Infeasible { binding, closest }
}

/// A mean's 95% interval (the mean itself when there is no interval).
fn interval(estimate: Estimate) -> (f64, f64) {
    let half = if estimate.half_width.is_nan() {
        0.0
    } else {
        estimate.half_width
    };
    (estimate.mean - half, estimate.mean + half)
}

/// The candidates no other beats on the objective and every constrained column at once.
fn frontier(candidates: &[Candidate], spec: &TuneSpec) -> Vec<Candidate> {
    let scores = |c: &Candidate| -> Vec<f64> {
        let mut out = vec![oriented(spec, c.objective.mean)];
        for (constraint, estimate) in spec.constraints.iter().zip(&c.constrained) {
            out.push(match constraint.lower_is_better() {
                Some(true) => estimate.mean,
                Some(false) => -estimate.mean,
                None => (estimate.mean - constraint.bound).abs(),
            });
        }
        out
    };
    let usable: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| !c.objective.mean.is_nan())
        .collect();
    usable
        .iter()
        .filter(|c| {
            let mine = scores(c);
            !usable.iter().any(|other| {
                let theirs = scores(other);
                let no_worse = theirs.iter().zip(&mine).all(|(t, m)| t <= m);
                let better = theirs.iter().zip(&mine).any(|(t, m)| t < m);
                other.point != c.point && no_worse && better
            })
        })
        .map(|c| (*c).clone())
        .collect()
}

fn number(value: f64) -> Value {
    serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number)
}

fn candidate_json(c: &Candidate, spec: &TuneSpec) -> Value {
    let constraints: Vec<Value> = spec
        .constraints
        .iter()
        .zip(&c.constrained)
        .zip(&c.violations)
        .map(|((constraint, estimate), violation)| {
            json!({
                "constraint": constraint.text,
                "mean": number(estimate.mean),
                "ci95_half_width": number(estimate.half_width),
                "met": *violation == 0.0,
                "violation": number(*violation),
            })
        })
        .collect();
    json!({
        "point": c.point,
        "configuration": c.label,
        "objective": {
            "mean": number(c.objective.mean),
            "ci95_half_width": number(c.objective.half_width),
            "ci95_low": number(interval(c.objective).0),
            "ci95_high": number(interval(c.objective).1),
            "replicates": c.objective.count,
        },
        "constraints": constraints,
    })
}

/// `tune.json`: the search, its cost against the grid's, and the answer.
fn report_json(report: &TuneReport, spec: &TuneSpec, experiment: &Experiment) -> Value {
    let rounds: Vec<Value> = report
        .rounds
        .iter()
        .map(|round| {
            json!({
                "directory": round.dir.display().to_string(),
                "length_fraction": number(round.fraction),
                "replicates": round.replicates,
                "points_ranked_best_first": round.ranked,
            })
        })
        .collect();
    let answer = match &report.verdict {
        Verdict::Feasible { winner, ties } => json!({
            "status": "feasible",
            "winner": candidate_json(winner, spec),
            "within_the_winners_ci": ties.iter().map(|c| candidate_json(c, spec)).collect::<Vec<_>>(),
        }),
        Verdict::Infeasible { binding, closest } => json!({
            "status": "infeasible",
            "binding_constraint": binding,
            "closest": closest.iter().map(|c| candidate_json(c, spec)).collect::<Vec<_>>(),
        }),
    };
    json!({
        "experiment": experiment.name,
        "experiment_hash": experiment.hash_hex(),
        "master_seed": experiment.master_seed,
        "objective": {
            "column": spec.objective.column,
            "goal": match spec.objective.goal { Goal::Maximize => "maximize", Goal::Minimize => "minimize" },
        },
        "constraints": spec.constraints.iter().map(|c| c.text.clone()).collect::<Vec<_>>(),
        "search": {
            "method": "successive halving: every point screened at a fraction of the send phase, the best 1/eta kept each round, the last round at full length with replicates and the grid's seeds",
            "eta": spec.eta,
            "rounds": rounds,
        },
        "cost": {
            "runs": report.runs,
            "full_run_equivalents": number(report.full_run_equivalents),
            "grid_points": report.grid_points,
            "grid_runs": report.grid_runs,
            "share_of_grid": number(report.full_run_equivalents / report.grid_runs.max(1) as f64),
        },
        "answer": answer,
        "frontier": report.frontier.iter().map(|c| candidate_json(c, spec)).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constraints_parse_every_comparison_and_refuse_malformed_ones() {
        let c = Constraint::parse("latency_p99_ms <= 20").expect("valid");
        assert_eq!(
            (c.column.as_str(), c.op, c.bound),
            ("latency_p99_ms", Op::AtMost, 20.0)
        );
        assert_eq!(
            Constraint::parse("duplicated==0").expect("valid").op,
            Op::Equal
        );
        assert_eq!(Constraint::parse("x>1.5").expect("valid").op, Op::Above);
        assert_eq!(Constraint::parse("x>=1e3").expect("valid").bound, 1000.0);
        for bad in [
            "latency_p99_ms",
            "<=20",
            "x<=",
            "x<=abc",
            "x<=>3",
            "x<=nan",
            "x=<3",
            "x!=3",
        ] {
            let error = Constraint::parse(bad).expect_err(bad).to_string();
            assert!(error.contains("write COLUMN<=NUMBER"), "{bad}: {error}");
        }
    }

    #[test]
    fn a_constraint_holds_or_says_how_far_it_misses() {
        let c = Constraint::parse("p<=20").expect("valid");
        assert!(c.holds(20.0) && !c.holds(21.0) && !c.holds(f64::NAN));
        assert_eq!(c.violation(10.0), 0.0);
        assert!((c.violation(30.0) - 0.5).abs() < 1e-12);
        assert!(c.violation(f64::NAN).is_infinite());
    }

    #[test]
    fn the_plan_screens_large_grids_twice_and_keeps_a_third() {
        assert_eq!(
            round_plan(49, 3, 3),
            vec![(1.0 / 9.0, 1), (1.0 / 3.0, 1), (1.0, 3)]
        );
        assert_eq!(round_plan(8, 3, 2), vec![(1.0 / 3.0, 1), (1.0, 2)]);
        assert_eq!(round_plan(4, 3, 2), vec![(1.0, 2)]);
        assert_eq!(keep_count(49, 3), 17);
        assert_eq!(keep_count(17, 3), 6);
        assert_eq!(keep_count(2, 3), 2);
    }
}
