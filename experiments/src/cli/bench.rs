//! `linger bench`: times the hot loops the other crates expose as plain functions, with the wall
//! clock (allowed here, in the experiments binary only, and never fed into a run).

use std::process::ExitCode;

use anyhow::Result;

/// Which loop to time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// The engine's event queue under the hold model (events/s), against a bare BinaryHeap.
    Engine,
    /// The batching core's accumulator append/drain loop (records/s).
    Accumulator,
    /// The default world, end to end (records/s and events/s).
    World,
}

/// Arguments of `linger bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// What to time.
    #[arg(value_enum)]
    pub target: Target,
    /// Repetitions; the best is reported.
    #[arg(long, default_value_t = 3)]
    pub repeat: u32,
    /// Virtual ms of the world run (world only).
    #[arg(long, default_value_t = 10_000.0)]
    pub duration_ms: f64,
}

/// Wall-clock seconds taken by `work`, and its result.
#[allow(clippy::disallowed_methods, clippy::disallowed_types)] // benchmarks measure wall time
fn timed<T>(work: impl FnOnce() -> T) -> (f64, T) {
    let start = std::time::Instant::now();
    let value = work();
    (start.elapsed().as_secs_f64(), value)
}

fn best_of<T>(repeat: u32, mut work: impl FnMut() -> T) -> (f64, T) {
    let mut best = timed(&mut work);
    for _ in 1..repeat.max(1) {
        let next = timed(&mut work);
        if next.0 < best.0 {
            best = next;
        }
    }
    best
}

/// Runs `linger bench`.
pub fn bench(args: &BenchArgs) -> Result<ExitCode> {
    match args.target {
        Target::Engine => bench_engine(args.repeat),
        Target::Accumulator => bench_accumulator(args.repeat),
        Target::World => bench_world(args),
    }
    Ok(ExitCode::SUCCESS)
}

fn bench_engine(repeat: u32) {
    const EVENTS: u64 = 2_000_000;
    println!("hold model, {EVENTS} events, best of {repeat}");
    for pending in [100usize, 10_000, 1_000_000] {
        let (engine_s, engine_sum) =
            best_of(repeat, || sim::hold::run_engine_hold(pending, EVENTS, 1));
        let (heap_s, heap_sum) = best_of(repeat, || sim::hold::run_heap_hold(pending, EVENTS, 1));
        assert_eq!(
            engine_sum, heap_sum,
            "the engine and the bare heap must pop the same events"
        );
        println!(
            "  pending {pending:>9}: engine {:>6.2} M events/s   bare BinaryHeap {:>6.2} M events/s",
            EVENTS as f64 / engine_s / 1e6,
            EVENTS as f64 / heap_s / 1e6
        );
    }
}

fn bench_accumulator(repeat: u32) {
    const RECORDS: u64 = 2_000_000;
    let (seconds, checksum) = best_of(repeat, || batching::bench_support::drive(RECORDS));
    println!(
        "accumulator append/ready/drain/complete, {RECORDS} records of 1 KiB, best of {repeat}: \
         {:.3} s, {:.2} M records/s (checksum {checksum:x})",
        seconds,
        RECORDS as f64 / seconds / 1e6
    );
}

fn bench_world(args: &BenchArgs) {
    let mut config = models::world::default_config();
    config.run.duration_ms = args.duration_ms;
    let (seconds, result) = best_of(args.repeat, || {
        models::world::run(&config, 1, sim::Trace::off())
    });
    let records = result.metric("records_sent").unwrap_or(0.0);
    println!(
        "default world, {} virtual ms, best of {}: {:.3} s wall, {} events ({:.2} M events/s), \
         {records} records sent ({:.0} records/s)",
        args.duration_ms,
        args.repeat,
        seconds,
        result.events,
        result.events as f64 / seconds / 1e6,
        records / seconds
    );
}
