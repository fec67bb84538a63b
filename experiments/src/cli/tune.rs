//! `linger tune`: the best configuration of a file's sweep grid under constraints, by
//! successive halving (`experiments::tune`), printed and written to `DIR/tune.json`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use experiments::catalog;
use experiments::error::InputError;
use experiments::results::Overwrite;
use experiments::spec::Experiment;
use experiments::summary::human;
use experiments::tune::{
    Candidate, Constraint, Goal, Objective, TUNE_FILE, TuneOptions, TuneReport, TuneSpec, Verdict,
};

use super::run::overrides_of;
use super::{emit, lib_error};

/// Arguments of `linger tune`.
#[derive(Debug, clap::Args)]
pub struct TuneArgs {
    /// The experiment file (or a shipped experiment's name); its [sweep] axes are the grid.
    pub file: PathBuf,
    /// The results directory: the final round's result files and tune.json; screening rounds
    /// in DIR/screening-K (re-running the same command resumes it).
    #[arg(long)]
    pub out: PathBuf,
    /// The result column to make as large as possible (such as throughput_records_per_s).
    #[arg(long, value_name = "COLUMN", conflicts_with = "minimize")]
    pub maximize: Option<String>,
    /// The result column to make as small as possible (such as latency_p99_ms).
    #[arg(long, value_name = "COLUMN")]
    pub minimize: Option<String>,
    /// A bound every answer must meet, on the mean of a result column: 'latency_p99_ms<=20',
    /// 'duplicated==0' (also <, >=, >); repeatable.
    #[arg(long = "constraint", value_name = "COLUMN<=NUMBER")]
    pub constraints: Vec<String>,
    /// Keep the best 1/ETA of the points each round.
    #[arg(long, default_value_t = 3)]
    pub eta: u32,
    /// Replicates of each configuration in the final round (default: the file's [run]
    /// replicates, at least 3).
    #[arg(long)]
    pub replicates: Option<u32>,
    /// Worker threads (default: one per core); each run is single-threaded.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Replace the results of a different experiment found in --out.
    #[arg(long)]
    pub force: bool,
    /// Override a key of the base settings: --set producer.acks=all (repeatable).
    #[arg(long = "set", value_name = "SECTION.KEY=VALUE")]
    pub set: Vec<String>,
}

fn bad(message: impl Into<String>) -> anyhow::Error {
    lib_error(InputError::new(message).into())
}

/// The objective and constraints of the command line.
fn spec_of(args: &TuneArgs, experiment: &Experiment) -> Result<TuneSpec> {
    let objective = match (&args.maximize, &args.minimize) {
        (Some(column), None) => Objective {
            column: column.clone(),
            goal: Goal::Maximize,
        },
        (None, Some(column)) => Objective {
            column: column.clone(),
            goal: Goal::Minimize,
        },
        _ => {
            return Err(bad(
                "linger tune needs an objective: --maximize COLUMN or --minimize COLUMN, such \
                 as --maximize throughput_records_per_s",
            ));
        }
    };
    let constraints = args
        .constraints
        .iter()
        .map(|text| Constraint::parse(text))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| lib_error(error.into()))?;
    if args.eta < 2 {
        return Err(bad(format!(
            "--eta {}: keep the best 1/ETA each round needs ETA of at least 2",
            args.eta
        )));
    }
    let final_replicates = args.replicates.unwrap_or(experiment.replicates.max(3));
    if !(2..=experiments::spec::REPLICATES_MAX).contains(&final_replicates) {
        return Err(bad(format!(
            "--replicates {final_replicates}: the final round needs 2 to {} replicates for a \
             confidence interval",
            experiments::spec::REPLICATES_MAX
        )));
    }
    Ok(TuneSpec {
        objective,
        constraints,
        eta: args.eta,
        final_replicates,
    })
}

/// Runs `linger tune`.
pub fn tune(args: &TuneArgs) -> Result<ExitCode> {
    let (source, _) = catalog::resolve(Some(&args.file)).map_err(lib_error)?;
    let overrides = overrides_of(&args.set, None, None).map_err(lib_error)?;
    let experiment = Experiment::parse(source, &overrides).map_err(lib_error)?;
    let spec = spec_of(args, &experiment)?;
    let options = TuneOptions {
        out_dir: args.out.clone(),
        threads: args.threads,
        overwrite: if args.force {
            Overwrite::Force
        } else {
            Overwrite::Refuse
        },
    };
    let report = experiments::tune::tune(&experiment, &spec, &options).map_err(lib_error)?;
    emit(&text_report(&experiment, &spec, &report));
    eprintln!("wrote {}", args.out.join(TUNE_FILE).display());
    Ok(ExitCode::SUCCESS)
}

fn estimate_text(estimate: experiments::tune::Estimate) -> String {
    if estimate.half_width.is_nan() {
        format!("{} (n={})", human(estimate.mean), estimate.count)
    } else {
        format!(
            "{} ± {} (95% CI, n={})",
            human(estimate.mean),
            human(estimate.half_width),
            estimate.count
        )
    }
}

fn candidate_lines(c: &Candidate, spec: &TuneSpec, indent: &str) -> String {
    let mut out = format!("point {}: {}\n", c.point, c.label);
    out.push_str(&format!(
        "{indent}{} {}\n",
        spec.objective.column,
        estimate_text(c.objective)
    ));
    for ((constraint, estimate), violation) in spec
        .constraints
        .iter()
        .zip(&c.constrained)
        .zip(&c.violations)
    {
        let state = if *violation == 0.0 { "met" } else { "missed" };
        out.push_str(&format!(
            "{indent}{} {} ({}: {state})\n",
            constraint.column,
            estimate_text(*estimate),
            constraint.text
        ));
    }
    out
}

fn text_report(experiment: &Experiment, spec: &TuneSpec, report: &TuneReport) -> String {
    let goal = match spec.objective.goal {
        Goal::Maximize => "maximize",
        Goal::Minimize => "minimize",
    };
    let subject = if spec.constraints.is_empty() {
        String::new()
    } else {
        let texts: Vec<&str> = spec.constraints.iter().map(|c| c.text.as_str()).collect();
        format!(" subject to {}", texts.join(", "))
    };
    let mut out = format!(
        "tune        {} ({}): {goal} {}{subject}\n",
        experiment.name, experiment.source.display_name, spec.objective.column
    );
    let rounds: Vec<String> = report
        .rounds
        .iter()
        .map(|r| {
            format!(
                "{} points at {:.3} of the send phase x {} replicate{}",
                r.ranked.len(),
                r.fraction,
                r.replicates,
                if r.replicates == 1 { "" } else { "s" }
            )
        })
        .collect();
    out.push_str(&format!(
        "search      successive halving (eta {}): {}\n",
        spec.eta,
        rounds.join(", then ")
    ));
    out.push_str(&format!(
        "cost        {} runs, {:.1} full-length run equivalents; the whole grid: {} runs ({} \
         points x {}), so {:.1}% of it\n",
        report.runs,
        report.full_run_equivalents,
        report.grid_runs,
        report.grid_points,
        spec.final_replicates,
        100.0 * report.full_run_equivalents / report.grid_runs.max(1) as f64
    ));
    let indent = "              ";
    match &report.verdict {
        Verdict::Feasible { winner, ties } => {
            out.push_str("answer      feasible\n");
            out.push_str(&format!(
                "winner      {}",
                candidate_lines(winner, spec, indent)
            ));
            for tie in ties {
                out.push_str(&format!(
                    "within CI   {}",
                    candidate_lines(tie, spec, indent)
                ));
            }
        }
        Verdict::Infeasible { binding, closest } => {
            out.push_str(&format!(
                "answer      infeasible: no configuration meets every constraint at full \
                 length; the binding constraint is {binding}\n"
            ));
            for c in closest {
                out.push_str(&format!("closest     {}", candidate_lines(c, spec, indent)));
            }
        }
    }
    for c in &report.frontier {
        out.push_str(&format!("frontier    {}", candidate_lines(c, spec, indent)));
    }
    out
}
