//! `linger`: run one experiment, sweep many points in parallel, merge shards, check a producer
//! config, list the shipped experiments, time the hot loops, and render results.
//!
//! Exit codes: 0 success, 1 an operational failure (I/O) or a broken invariant, 2 bad input (a
//! file, a key, an argument, a run over its memory budget), 3 a bound reached (the run stopped
//! early; the message names the key to raise), 130 a sweep stopped by Ctrl-C (its finished
//! points are kept).

mod cli;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

fn main() -> ExitCode {
    // A panic is a broken invariant of the simulation: say so once, without a backtrace (the
    // models' messages carry the seed and the virtual time; the caller adds the replay line).
    std::panic::set_hook(Box::new(|info| {
        eprintln!("error: broken invariant: {info}");
    }));
    let cli = Cli::parse();
    let outcome = match cli.command {
        None => cli::run::run(&cli::run::RunArgs::default()),
        Some(Command::Run(args)) => cli::run::run(&args),
        Some(Command::Sweep(args)) => cli::sweep::sweep(&args),
        Some(Command::Merge(args)) => cli::sweep::merge(&args),
        Some(Command::Tune(args)) => cli::tune::tune(&args),
        Some(Command::CheckConfig(args)) => cli::misc::check_config(&args),
        Some(Command::List) => cli::misc::list(),
        Some(Command::Keys(args)) => cli::misc::keys(&args),
        Some(Command::Bench(args)) => cli::bench::bench(&args),
        Some(Command::Plot(args)) => cli::render::plot(&args),
        Some(Command::Report(args)) => cli::render::report(&args),
        Some(Command::PerfTest(args)) => cli::perf_test::perf_test(&args),
        Some(Command::Teach(args)) => cli::render::teach(&args),
        Some(Command::Crosscheck(args)) => cli::crosscheck::crosscheck(&args),
        Some(Command::Hunt(args)) => cli::hunt::hunt(&args),
        Some(Command::Calibrate(args)) => cli::calibrate::calibrate(&args),
    };
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            let code = error
                .downcast_ref::<experiments::error::Error>()
                .map_or(1, experiments::error::Error::exit_code);
            ExitCode::from(u8::try_from(code).unwrap_or(1))
        }
    }
}
