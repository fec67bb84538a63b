//! `linger sweep` and `linger merge`: the parallel, resumable, shardable sweep runner.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Result;

use experiments::catalog;
use experiments::error::InputError;
use experiments::results::{JournalDamage, Overwrite, Repair};
use experiments::runner::{self, Completeness, Progress, SweepOptions};
use experiments::scheduler;
use experiments::spec::Experiment;
use experiments::sweep::{POINTS_MAX_DEFAULT, Shard};
use experiments::world::WorldRunner;

use super::lib_error;
use super::pattern;
use super::run::overrides_of;

/// Arguments of `linger sweep`.
#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    /// The experiment file (or a shipped experiment's name).
    pub file: PathBuf,
    /// The results directory (created; re-running the same command resumes it).
    #[arg(long)]
    pub out: PathBuf,
    /// Worker threads (default: one per core); each run is single-threaded.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Run only shard K of N (a deterministic 1/N of the points); join with `linger merge`.
    /// `auto` reads K and N from a Slurm job array, a Kubernetes Indexed Job or GNU parallel.
    #[arg(long, value_name = "K/N|auto", value_parser = ShardArg::parse)]
    pub shard: Option<ShardArg>,
    /// With --shard auto: how many shards there are (else LINGER_SHARD_COUNT, else Slurm's
    /// SLURM_ARRAY_TASK_COUNT); Kubernetes and GNU parallel do not tell.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub shard_count: Option<u32>,
    /// Refuse sweeps with more points than this.
    #[arg(long, default_value_t = POINTS_MAX_DEFAULT)]
    pub max_points: u64,
    /// Stop after this many points in this invocation; re-run to continue.
    #[arg(long, value_name = "K")]
    pub max_points_this_run: Option<usize>,
    /// Replace the results of a different experiment found in --out.
    #[arg(long)]
    pub force: bool,
    /// Drop damaged journal lines (keeping every intact point), then run their points again.
    #[arg(long, conflicts_with = "force")]
    pub repair: bool,
    /// Override a key of the base settings: --set producer.acks=all (repeatable).
    #[arg(long = "set", value_name = "SECTION.KEY=VALUE")]
    pub set: Vec<String>,
    /// When the sweep is complete, draw the standard plots into DIR/plots/.
    #[arg(long)]
    pub plots: bool,
    #[command(flatten)]
    pub bounds: super::run::BoundArgs,
}

/// `--shard`: a fixed `K/N`, or `auto` (from the scheduler's environment).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShardArg {
    /// `--shard K/N`.
    Fixed(Shard),
    /// `--shard auto`.
    Auto,
}

impl ShardArg {
    fn parse(text: &str) -> Result<ShardArg, String> {
        if text.trim() == "auto" {
            return Ok(ShardArg::Auto);
        }
        Shard::parse(text)
            .map(ShardArg::Fixed)
            .map_err(|error| format!("{error}, or `auto`"))
    }
}

/// Arguments of `linger merge`.
#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// The shard directories; a quoted pattern such as 'results/shard-*' is expanded too.
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Merge what is complete even when points are missing; the directory is marked partial.
    #[arg(long)]
    pub partial: bool,
    /// Where to write the merged results.
    #[arg(long)]
    pub out: PathBuf,
    /// Replace the results of a different experiment found in --out.
    #[arg(long)]
    pub force: bool,
}

static STOP: AtomicBool = AtomicBool::new(false);

fn install_ctrl_c() {
    // A second Ctrl-C exits at once; the journal then holds every point finished so far.
    let handler = || {
        if STOP.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("\nstopping: finishing the points already running (Ctrl-C again to quit now)");
    };
    if let Err(error) = ctrlc::set_handler(handler) {
        eprintln!("warning: cannot catch Ctrl-C ({error}); a Ctrl-C ends the sweep at once");
    }
}

fn overwrite_of(force: bool) -> Overwrite {
    if force {
        Overwrite::Force
    } else {
        Overwrite::Refuse
    }
}

/// Runs `linger sweep`.
pub fn sweep(args: &SweepArgs) -> Result<ExitCode> {
    let (source, _) = catalog::resolve(Some(&args.file)).map_err(lib_error)?;
    let mut overrides = overrides_of(&args.set, None, None).map_err(lib_error)?;
    overrides.extend(args.bounds.overrides().map_err(lib_error)?);
    let experiment = Experiment::parse(source, &overrides).map_err(lib_error)?;
    let auto = match args.shard {
        Some(ShardArg::Auto) => {
            let env = |name: &str| std::env::var(name).ok();
            let chosen = scheduler::auto_shard(&env, args.shard_count)
                .map_err(|error| lib_error(error.into()))?;
            eprintln!("{}", chosen.describe());
            Some(chosen)
        }
        _ if args.shard_count.is_some() => {
            return Err(lib_error(
                InputError::new(
                    "--shard-count goes with --shard auto; with --shard K/N the count is N",
                )
                .into(),
            ));
        }
        _ => None,
    };
    let shard = match (args.shard, &auto) {
        (_, Some(chosen)) => chosen.shard,
        (Some(ShardArg::Fixed(shard)), None) => shard,
        _ => Shard::ALL,
    };
    install_ctrl_c();
    let options = SweepOptions {
        out_dir: args.out.clone(),
        threads: args.threads,
        shard,
        points_max: args.max_points,
        max_points_this_run: args.max_points_this_run,
        overwrite: overwrite_of(args.force),
        damage: if args.repair {
            JournalDamage::Repair
        } else {
            JournalDamage::Refuse
        },
        progress: Progress::Bar,
        stop: &STOP,
    };
    let source = auto.as_ref().map(|chosen| &chosen.source);
    let report =
        runner::run_sweep_from(&experiment, &WorldRunner, &options, source).map_err(lib_error)?;
    if let Some(repair) = &report.repair {
        eprintln!("{}", repair_note(&args.out, repair));
    }
    let finished = report.already_done + report.ran_now;
    eprintln!(
        "sweep `{}`: {} points x {} replicates{}; {} finished now, {} before; results in {}",
        experiment.name,
        report.point_count,
        experiment.replicates,
        shard_note(options.shard, report.shard_point_count),
        report.ran_now,
        report.already_done,
        args.out.join("results.csv").display()
    );
    if report.bound_reached_runs > 0 {
        eprintln!(
            "bound reached: {} runs were stopped by a bound before their phases ended; their rows \
             are recorded with the bound (and the key to raise) as a warning",
            report.bound_reached_runs
        );
    }
    let success = if report.bound_reached_runs > 0 {
        ExitCode::from(super::EXIT_BOUND_REACHED)
    } else {
        ExitCode::SUCCESS
    };
    if report.complete {
        if args.plots {
            super::render::standard_plots(&args.out)?;
        }
        return Ok(success);
    }
    eprintln!(
        "incomplete: {finished} of {} points finished; run the same command again to resume",
        report.shard_point_count
    );
    if STOP.load(Ordering::SeqCst) {
        return Ok(ExitCode::from(130));
    }
    Ok(success)
}

/// What `--repair` did, in one line: the lines dropped and the points that ran again.
fn repair_note(out: &std::path::Path, repair: &Repair) -> String {
    let list = |items: &[usize]| {
        items
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let lines = &repair.dropped_lines;
    let plural = if lines.len() == 1 { "" } else { "s" };
    let unknown = match repair.unknown_point_count {
        0 => String::new(),
        1 => " (and the point of 1 line too damaged to tell)".to_string(),
        n => format!(" (and the points of {n} lines too damaged to tell)"),
    };
    let rerun = if repair.rerun_points.is_empty() && unknown.is_empty() {
        "no finished point was lost".to_string()
    } else if repair.rerun_points.is_empty() {
        format!("the points they held are run again{unknown}")
    } else {
        let points = list(&repair.rerun_points);
        format!("the points they held are run again: {points}{unknown}")
    };
    format!(
        "repaired {}: dropped {} damaged line{plural} (line{plural} {}); {rerun}",
        out.join("journal.jsonl").display(),
        lines.len(),
        list(lines)
    )
}

fn shard_note(shard: Shard, shard_points: usize) -> String {
    if shard == Shard::ALL {
        String::new()
    } else {
        format!(
            " (shard {}/{}: {shard_points} points)",
            shard.index, shard.count
        )
    }
}

/// Runs `linger merge`.
pub fn merge(args: &MergeArgs) -> Result<ExitCode> {
    let dirs = expand_patterns(&args.dirs).map_err(|error| lib_error(error.into()))?;
    let completeness = if args.partial {
        Completeness::Partial
    } else {
        Completeness::Whole
    };
    let report = runner::merge(&dirs, &args.out, overwrite_of(args.force), completeness)
        .map_err(lib_error)?;
    if let Some(missing) = &report.missing {
        eprintln!("{}", missing.describe());
        eprintln!(
            "partial: merged {} directories: {} of {} points; results in {} (marked partial in \
             its manifest.json and in every report)",
            report.input_count,
            report.merged_points,
            report.point_count,
            args.out.join("results.csv").display()
        );
    } else {
        eprintln!(
            "merged {} directories: {} points; results in {}",
            report.input_count,
            report.point_count,
            args.out.join("results.csv").display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The directories named on the command line, with any argument that is not an existing path
/// and holds `*`, `?` or `[` expanded as a pattern (for a quoted pattern the shell left alone);
/// a pattern that matches nothing is refused. Matches are in name order.
fn expand_patterns(args: &[PathBuf]) -> Result<Vec<PathBuf>, InputError> {
    let mut dirs = Vec::new();
    for arg in args {
        let text = arg.to_string_lossy();
        if arg.exists() || !text.contains(['*', '?', '[']) {
            dirs.push(arg.clone());
            continue;
        }
        let matches = pattern::expand(arg);
        if matches.is_empty() {
            return Err(InputError::new(format!(
                "`{text}` matches no directory; give the shard directories or a pattern such \
                 as 'results/shard-*'"
            )));
        }
        dirs.extend(matches);
    }
    Ok(dirs)
}
