//! `linger run`: one experiment, a readable summary or one JSON object, an optional trace file,
//! and the seed with a one-line replay command.

use std::fs::File;
use std::io::{BufWriter, IsTerminal};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use experiments::catalog;
use experiments::error::{Error, InputError};
use experiments::progress_line::ProgressLine;
use experiments::runner::RunOutcome;
use experiments::spec::{Experiment, Override};
use experiments::summary::{distinct_warnings, human, metrics_table};
use experiments::sweep::{Points, canonical_point, run_seed};
use experiments::world::{outcome_of, run_world, scenario_config, world_config};

use super::{emit, lib_error};

/// Arguments of `linger run`.
#[derive(Debug, Default, clap::Args)]
pub struct RunArgs {
    /// An experiment file, or the name of a shipped experiment (`linger list`); default: the
    /// built-in baseline.
    pub file: Option<PathBuf>,
    /// Run a teaching scenario instead of a file.
    #[arg(long, conflicts_with = "file")]
    pub scenario: Option<String>,
    /// The master seed (overrides `[run] seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Use this run seed directly instead of deriving it from the master seed (the seed a failed
    /// run or a results.csv row reports).
    #[arg(long, conflicts_with_all = ["seed", "all_replicates"])]
    pub run_seed: Option<u64>,
    /// Run every replicate of `[run] replicates`, not just replicate 0.
    #[arg(long)]
    pub all_replicates: bool,
    /// Run point N of the file's sweep (its seeds match that point's rows in results.csv).
    #[arg(long, value_name = "N")]
    pub point: Option<usize>,
    /// Virtual time to send for, in ms (shorthand for --set run.duration_ms=MS).
    #[arg(long, value_name = "MS")]
    pub duration_ms: Option<f64>,
    /// Override a key: --set producer.linger.ms=20 (repeatable).
    #[arg(long = "set", value_name = "SECTION.KEY=VALUE")]
    pub set: Vec<String>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Write the trace of replicate 0 as JSON lines to FILE (its hash is printed too).
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Build and hash every run's trace without writing it, and print the hash: a fingerprint of
    /// every event for determinism checks. Costs time: without it (or --trace) no trace is built.
    #[arg(long)]
    pub trace_hash: bool,
    #[command(flatten)]
    pub bounds: BoundArgs,
}

/// The bounds of a run, shared by `linger run` and `linger sweep`.
#[derive(Debug, Default, clap::Args)]
pub struct BoundArgs {
    /// Stop each run after this much virtual time, in ms, reported as a bound reached (exit 3)
    /// (shorthand for --set run.max_virtual_time_ms=MS).
    #[arg(long, value_name = "MS")]
    pub max_virtual_time: Option<f64>,
    /// Refuse a run estimated to hold more than this many MiB (shorthand for
    /// --set run.max_memory_mb=MB; default 8192).
    #[arg(long, value_name = "MB")]
    pub max_memory_mb: Option<u64>,
}

impl BoundArgs {
    /// The `--set` overrides these flags stand for.
    pub fn overrides(&self) -> Result<Vec<Override>, Error> {
        let mut overrides = Vec::new();
        if let Some(ms) = self.max_virtual_time {
            overrides.push(Override::parse(&format!("run.max_virtual_time_ms={ms:?}"))?);
        }
        if let Some(mb) = self.max_memory_mb {
            overrides.push(Override::parse(&format!("run.max_memory_mb={mb}"))?);
        }
        Ok(overrides)
    }
}

/// A run longer than this in virtual time (every phase to its bound) gets a warning before it
/// starts: it may take long in wall time.
const VIRTUAL_TIME_WARN_NS: u64 = 24 * 3_600 * 1_000_000_000;

/// The overrides given by `--set`, `--seed` and `--duration-ms`, in that order.
pub fn overrides_of(
    set: &[String],
    seed: Option<u64>,
    duration_ms: Option<f64>,
) -> Result<Vec<Override>, Error> {
    let mut overrides = Vec::new();
    for text in set {
        overrides.push(Override::parse(text)?);
    }
    if let Some(seed) = seed {
        overrides.push(Override::parse(&format!("run.seed={seed}"))?);
    }
    if let Some(ms) = duration_ms {
        overrides.push(Override::parse(&format!("run.duration_ms={ms:?}"))?);
    }
    Ok(overrides)
}

/// Runs `linger run`.
pub fn run(args: &RunArgs) -> Result<ExitCode> {
    let (source, shown_as) = match &args.scenario {
        Some(name) => (
            catalog::scenario_source(super::scenario_name(name)).map_err(lib_error)?,
            format!("--scenario {name}"),
        ),
        None => catalog::resolve(args.file.as_deref()).map_err(lib_error)?,
    };
    let mut overrides = overrides_of(&args.set, args.seed, args.duration_ms).map_err(lib_error)?;
    overrides.extend(args.bounds.overrides().map_err(lib_error)?);
    let experiment = Experiment::parse(source, &overrides).map_err(lib_error)?;
    let (sections, canonical) = point_sections(&experiment, args.point).map_err(lib_error)?;
    let config = config_for(args, &experiment, &sections).map_err(lib_error)?;
    warn_if_long(&config);
    let mut trace = open_trace(args.trace.as_ref()).map_err(lib_error)?;
    let replicates = if args.all_replicates {
        experiment.replicates
    } else {
        1
    };
    let mut runs = Vec::new();
    let mut bounds = Vec::new();
    for replicate in 0..replicates {
        let seed = args
            .run_seed
            .unwrap_or_else(|| run_seed(experiment.master_seed, &canonical, replicate));
        let trace_now = trace.take().unwrap_or_else(|| trace_for(args));
        let attempt = catch_unwind(AssertUnwindSafe(|| {
            run_showing_progress(&config, seed, trace_now)
        }));
        let Ok(mut result) = attempt else {
            let replay = replay_line(&shown_as, ReplaySeed::Run(seed), args);
            return Err(lib_error(Error::Run(format!(
                "replicate {replicate} with run seed {seed} stopped; replay: {replay}"
            ))));
        };
        if let (0, Some(path)) = (replicate, &args.trace) {
            result
                .trace
                .finish()
                .map_err(|error| lib_error(Error::io(path, error)))?;
        }
        if let models::world::RunStop::BoundReached(bound) = &result.stop {
            bounds.push(bound.to_string());
        }
        runs.push(RunReport {
            replicate,
            seed,
            examples: example_ids(&result.checker),
            outcome: outcome_of(&result),
            events: result.events,
            virtual_time_ns: result.virtual_time_ns,
            trace_hash: result.trace.is_on().then_some(result.trace_hash),
            transactions: result.transactions.clone(),
        });
    }
    let replay_seed = args
        .run_seed
        .map_or(ReplaySeed::Master(experiment.master_seed), ReplaySeed::Run);
    let replay = replay_line(&shown_as, replay_seed, args);
    if args.json {
        emit(&format!(
            "{}\n",
            json_report(&experiment, args.point, &runs, &replay)
        ));
    } else {
        emit(&text_report(&experiment, args.point, &runs, &replay));
    }
    if bounds.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    for bound in bounds {
        eprintln!("{bound}");
    }
    eprintln!("replay: {replay}");
    Ok(ExitCode::from(super::EXIT_BOUND_REACHED))
}

/// Runs the world; on a terminal, a run that takes more than a second shows a progress line on
/// stderr (virtual time, records, rate), erased when it ends. The line only reads the run's
/// progress, so the result is the same either way.
fn run_showing_progress(
    config: &models::world::WorldConfig,
    seed: u64,
    trace: sim::Trace,
) -> models::world::RunResult {
    let mut line = ProgressLine::new(true);
    if !std::io::stderr().is_terminal() {
        return run_world(config, seed, trace);
    }
    let send_ns = (config.run.duration_ms * 1e6) as u64;
    let result = models::world::run_with_progress(config, seed, trace, &mut |progress| {
        line.show_run(progress, send_ns)
    });
    line.clear();
    result
}

/// Warns on stderr, before the run, when its phases may last more than a virtual day.
fn warn_if_long(config: &models::world::WorldConfig) {
    let Ok(estimate) = models::world::estimate(config) else {
        return;
    };
    let virtual_ns = estimate.virtual_ns_max();
    let bound_ns = config
        .run
        .max_virtual_time_ms
        .map_or(u64::MAX, |ms| (ms * 1e6) as u64);
    if virtual_ns.min(bound_ns) <= VIRTUAL_TIME_WARN_NS {
        return;
    }
    let days = |ns: u64| ns as f64 / 86_400e9;
    eprintln!(
        "warning: this run may last up to {:.1} virtual days (send {:.3} s, drain up to {:.1} days, \
         settle up to {:.3} s) and take long in wall time; bound it with --max-virtual-time MS \
         or [run] max_virtual_time_ms",
        days(virtual_ns),
        estimate.send_ns as f64 / 1e9,
        days(estimate.drain_ns),
        estimate.settle_ns as f64 / 1e9,
    );
}

/// One finished run of `linger run`.
pub struct RunReport {
    replicate: u32,
    seed: u64,
    /// Example record ids per checker class (every class but `delivered_once` that has any).
    examples: Vec<(&'static str, Vec<u64>)>,
    outcome: RunOutcome,
    events: u64,
    virtual_time_ns: u64,
    /// The trace's hash, when the trace was built (`--trace` or `--trace-hash`).
    trace_hash: Option<u64>,
    /// A transactional producer's exactly-once verdict.
    transactions: Option<models::txn_checker::TxnVerdict>,
}

/// The trace of a run without a trace file: hashed only when `--trace-hash` asks for it, since
/// building every event costs most of a run's time (and keeps the application from sending
/// ahead).
fn trace_for(args: &RunArgs) -> sim::Trace {
    if args.trace_hash {
        sim::Trace::hashing()
    } else {
        sim::Trace::off()
    }
}

/// The world to run. A scenario comes from `models::scenarios` unless the command line changes
/// its settings; then its mirror file (equal to it, by test) is used with the changes applied.
fn config_for(
    args: &RunArgs,
    experiment: &Experiment,
    sections: &toml::Table,
) -> Result<models::world::WorldConfig, Error> {
    match &args.scenario {
        Some(name) if args.set.is_empty() && args.duration_ms.is_none() => {
            Ok(scenario_config(super::scenario_name(name))?.0)
        }
        _ => Ok(world_config(&experiment.source, sections)?),
    }
}

fn point_sections(
    experiment: &Experiment,
    point: Option<usize>,
) -> Result<(toml::Table, String), Error> {
    let Some(index) = point else {
        return Ok((experiment.sections.clone(), String::new()));
    };
    let points = Points::new(&experiment.axes, u64::MAX)?;
    if index >= points.count() {
        return Err(InputError::new(format!(
            "--point {index}: the sweep has {} points (0 to {})",
            points.count(),
            points.count().saturating_sub(1)
        ))
        .into());
    }
    let values = points.values(index);
    Ok((
        experiment.sections_at(&values),
        canonical_point(&experiment.axes, &values),
    ))
}

/// Opens the trace file before the run, so an unwritable path fails before any work.
fn open_trace(path: Option<&PathBuf>) -> Result<Option<sim::Trace>, Error> {
    let Some(path) = path else {
        return Ok(None);
    };
    // An unwritable output is an operational failure (exit code 1), as for every command.
    let file = File::create(path).map_err(|error| Error::io(path, error))?;
    let sink = sim::trace::JsonLinesSink::new(BufWriter::new(file));
    Ok(Some(sim::Trace::with_sink(Box::new(sink))))
}

/// Which seed a replay line names.
#[derive(Clone, Copy, Debug)]
enum ReplaySeed {
    /// The master seed: every replicate's seed is derived from it.
    Master(u64),
    /// One run's own seed.
    Run(u64),
}

fn replay_line(shown_as: &str, seed: ReplaySeed, args: &RunArgs) -> String {
    let mut line = match seed {
        ReplaySeed::Run(seed) => format!("linger run {shown_as} --run-seed {seed}"),
        ReplaySeed::Master(seed) => format!("linger run {shown_as} --seed {seed}"),
    };
    if let Some(point) = args.point {
        line.push_str(&format!(" --point {point}"));
    }
    if let Some(ms) = args.duration_ms {
        line.push_str(&format!(" --duration-ms {ms}"));
    }
    for set in &args.set {
        line.push_str(&format!(" --set '{set}'"));
    }
    if args.all_replicates && matches!(seed, ReplaySeed::Master(_)) {
        line.push_str(" --all-replicates");
    }
    line
}

fn text_report(
    experiment: &Experiment,
    point: Option<usize>,
    runs: &[RunReport],
    replay: &str,
) -> String {
    let mut out = format!(
        "experiment  {} ({})\n",
        experiment.name, experiment.source.display_name
    );
    if !experiment.description.is_empty() {
        out.push_str(&format!("            {}\n", experiment.description));
    }
    if !experiment.axes.is_empty() && point.is_none() {
        out.push_str("note        the file has a [sweep]; this ran its base settings (use --point N or `linger sweep`)\n");
    }
    out.push_str(&format!("seed        master {}", experiment.master_seed));
    for run in runs {
        out.push_str(&format!(
            "; replicate {} run seed {}",
            run.replicate, run.seed
        ));
    }
    out.push('\n');
    out.push_str(&format!("replay      {replay}\n"));
    for run in runs {
        let hash = run.trace_hash.map_or_else(
            || "no trace hash (--trace-hash)".to_string(),
            |hash| format!("trace hash {hash:016x}"),
        );
        out.push_str(&format!(
            "run         replicate {}: {} events, {:.3} virtual s, {hash}\n",
            run.replicate,
            run.events,
            run.virtual_time_ns as f64 / 1e9,
        ));
    }
    out.push('\n');
    let outcomes: Vec<RunOutcome> = runs.iter().map(|r| r.outcome.clone()).collect();
    out.push_str(&metrics_table(&outcomes));
    out.push_str(&examples_table(runs));
    out.push_str(&transactions_table(runs));
    let warnings = distinct_warnings(&outcomes);
    out.push_str(&format!("\nwarnings ({})\n", warnings.len()));
    for warning in warnings {
        out.push_str(&format!("  {warning}\n"));
    }
    out
}

/// A transactional producer's verdict per replicate: the read_committed and read_uncommitted
/// views of the final logs against the transactions the application committed.
fn transactions_table(runs: &[RunReport]) -> String {
    let mut out = String::new();
    for run in runs {
        let Some(v) = &run.transactions else {
            continue;
        };
        out.push_str(&format!(
            "transactions (replicate {}: read_committed and read_uncommitted of the final logs)\n",
            run.replicate
        ));
        for (name, value) in transaction_rows(v) {
            out.push_str(&format!("  {name:<30} {}\n", human(value as f64)));
        }
        let verdict = if v.exactly_once() {
            "exactly once"
        } else {
            "NOT exactly once"
        };
        out.push_str(&format!("  {:<30} {verdict}\n", "read_committed"));
    }
    out
}

/// A transactional run's verdict as named counts, for the table and the JSON report.
fn transaction_rows(v: &models::txn_checker::TxnVerdict) -> [(&'static str, u64); 10] {
    [
        ("committed_transactions", v.committed_transactions),
        ("aborted_transactions", v.aborted_transactions),
        ("committed_records", v.committed_records),
        ("read_committed_records", v.read_committed_records),
        ("read_committed_duplicates", v.read_committed_duplicates),
        ("read_committed_lost", v.read_committed_lost),
        ("read_committed_uncommitted", v.read_committed_uncommitted),
        ("read_uncommitted_aborted", v.read_uncommitted_aborted),
        ("beyond_lso", v.beyond_lso),
        ("markers_commit_abort", v.markers.0 + v.markers.1),
    ]
}

/// The checker's example record ids of every class but `delivered_once`, in the report's order.
fn example_ids(report: &models::world::CheckerReport) -> Vec<(&'static str, Vec<u64>)> {
    report
        .examples
        .iter()
        .filter(|(class, _)| **class != "delivered_once")
        .map(|(class, ids)| {
            // The result columns' names for the two classes the checker names otherwise.
            let column = match *class {
                "acked_lost" => "lost_acked",
                "silent_lost" => "silent_absent",
                other => other,
            };
            (column, ids.iter().map(|id| id.0).collect())
        })
        .collect()
}

/// "examples (record ids)" with one line per class and replicate, when any class but
/// `delivered_once` has records; nothing otherwise.
fn examples_table(runs: &[RunReport]) -> String {
    if runs.iter().all(|r| r.examples.is_empty()) {
        return String::new();
    }
    let mut out = String::from("\nexamples (record ids, the first few of each class)\n");
    for run in runs {
        for (class, ids) in &run.examples {
            let ids: Vec<String> = ids.iter().map(u64::to_string).collect();
            let replicate = if runs.len() > 1 {
                format!(" (replicate {})", run.replicate)
            } else {
                String::new()
            };
            out.push_str(&format!("  {:<24}  {}{replicate}\n", class, ids.join(", ")));
        }
    }
    out
}

fn json_number(value: f64) -> serde_json::Value {
    serde_json::Number::from_f64(value).map_or(serde_json::Value::Null, serde_json::Value::Number)
}

fn json_report(
    experiment: &Experiment,
    point: Option<usize>,
    runs: &[RunReport],
    replay: &str,
) -> String {
    let runs: Vec<serde_json::Value> = runs
        .iter()
        .map(|run| {
            let metrics: serde_json::Map<String, serde_json::Value> = run
                .outcome
                .metrics
                .iter()
                .map(|(name, value)| (name.clone(), json_number(*value)))
                .collect();
            let mut value = serde_json::json!({
                "replicate": run.replicate,
                "seed": run.seed,
                "events": run.events,
                "virtual_time_ns": run.virtual_time_ns,
                "trace_hash": run.trace_hash.map(|hash| format!("{hash:016x}")),
                "metrics": metrics,
                "examples": run
                    .examples
                    .iter()
                    .map(|(class, ids)| ((*class).to_string(), serde_json::json!(ids)))
                    .collect::<serde_json::Map<String, serde_json::Value>>(),
                "warnings": run.outcome.warnings,
            });
            // A transactional run also carries the read_committed verdict of its final logs.
            if let (Some(v), Some(object)) = (&run.transactions, value.as_object_mut()) {
                let mut verdict: serde_json::Map<String, serde_json::Value> = transaction_rows(v)
                    .iter()
                    .map(|(name, count)| ((*name).to_string(), serde_json::json!(count)))
                    .collect();
                verdict.insert("exactly_once".into(), serde_json::json!(v.exactly_once()));
                object.insert("transactions".into(), serde_json::Value::Object(verdict));
            }
            value
        })
        .collect();
    serde_json::json!({
        "experiment": experiment.name,
        "source": experiment.source.display_name,
        "master_seed": experiment.master_seed,
        "point": point,
        "replay": replay,
        "runs": runs,
    })
    .to_string()
}
