//! The command-line grammar of `linger` (clap) and one module per group of subcommands.

pub mod bench;
pub mod calibrate;
pub mod crosscheck;
pub mod hunt;
pub mod misc;
pub mod pattern;
pub mod perf_test;
pub mod render;
pub mod run;
pub mod sweep;
pub mod tune;

use clap::{Parser, Subcommand};

/// A deterministic simulator of the Apache Kafka producer's delivery semantics.
///
/// With no subcommand, runs the built-in default experiment (`linger run`).
#[derive(Debug, Parser)]
#[command(name = "linger", version, about, long_about = None)]
pub struct Cli {
    /// What to do (default: `run` the built-in baseline experiment).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one experiment (replicate 0, or all) and print a summary.
    Run(run::RunArgs),
    /// Run every point of a sweep in parallel into a results directory (resumable).
    Sweep(sweep::SweepArgs),
    /// Find the best configuration of a file's sweep grid under constraints, with fewer runs
    /// than the grid (successive halving); writes DIR/tune.json.
    Tune(tune::TuneArgs),
    /// Join shard directories into the directory a single sweep would have produced.
    Merge(sweep::MergeArgs),
    /// Validate a producer.properties file and print the effective values.
    CheckConfig(misc::CheckConfigArgs),
    /// List the shipped experiments and teaching scenarios.
    List,
    /// Print the reference of every experiment file key (type, unit, default, allowed, example).
    Keys(misc::KeysArgs),
    /// Time a hot loop: the engine, the accumulator, or the default world.
    Bench(bench::BenchArgs),
    /// Plot a metric against an axis from a sweep's results (SVG and PNG).
    Plot(render::PlotArgs),
    /// Write an HTML and a Markdown report of a sweep's results, with plots.
    Report(render::ReportArgs),
    /// kafka-producer-perf-test's options and output lines against a simulated cluster, with
    /// linger's checker verdict below them (`linger perf-test --help`).
    #[command(disable_help_flag = true)]
    PerfTest(perf_test::PerfTestArgs),
    /// Run a teaching scenario and draw its events as a sequence diagram.
    Teach(render::TeachArgs),
    /// Compare linger's batching core decision by decision with the real Kafka Java client.
    Crosscheck(crosscheck::CrosscheckArgs),
    /// Search the fault schedules that break a delivery property under a file's config, and
    /// shrink the first one found (exit code 1 when one is found, 0 when none is).
    Hunt(hunt::HuntArgs),
    /// Measure this machine's codec speeds and write a file an experiment can name.
    Calibrate(calibrate::CalibrateArgs),
}

/// Teaching aliases, named after the guarantee a scenario shows: (alias, scenario). Accepted by
/// `linger teach` and `linger run --scenario`, and listed by both listings.
pub const TEACHING_ALIASES: &[(&str, &str)] = &[
    ("at-most-once", "acks0-lost"),
    ("at-least-once", "retry-duplicate"),
    ("exactly-once", "idempotent-retry"),
    ("exactly-once-transactions", "transaction-commit"),
];

/// The teaching scenario an alias stands for, or `name` itself.
pub fn scenario_name(name: &str) -> &str {
    TEACHING_ALIASES
        .iter()
        .find(|(alias, _)| *alias == name)
        .map_or(name, |(_, scenario)| scenario)
}

/// The listing of [`TEACHING_ALIASES`], one `alias = scenario` line each, under a heading.
pub fn alias_lines() -> String {
    let mut out = String::from("teaching aliases:\n");
    for (alias, scenario) in TEACHING_ALIASES {
        out.push_str(&format!("  {alias:<28} = {scenario}\n"));
    }
    out
}

/// The exit code of a run (or sweep) that a bound stopped before its phases ended: not a broken
/// invariant (1) and not bad input (2); the message names the key to raise.
pub const EXIT_BOUND_REACHED: u8 = 3;

/// Turns a library error into the binary's error, keeping it for the exit code.
pub fn lib_error(error: experiments::error::Error) -> anyhow::Error {
    anyhow::Error::new(error)
}

/// Prints to stdout; a closed pipe (`linger run | head`) ends the output quietly.
pub fn emit(text: &str) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
}
