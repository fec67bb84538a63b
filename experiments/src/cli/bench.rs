//! `linger bench`: times the hot loops the other crates expose as plain functions, with the wall
//! clock (allowed here, in the experiments binary only, and never fed into a run).

use std::process::ExitCode;

use std::sync::atomic::AtomicBool;

use anyhow::Result;

use experiments::catalog::{self, EntryKind};
use experiments::error::{Error, InputError};
use experiments::results::{JournalDamage, Overwrite};
use experiments::runner::{self, Progress, SweepOptions};
use experiments::spec::{Experiment, Source};
use experiments::sweep::Shard;
use experiments::world::WorldRunner;

use super::lib_error;

/// Which loop to time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// The engine's event queue under the hold model (events/s), against a bare BinaryHeap.
    Engine,
    /// The batching core's accumulator append/drain loop (records/s).
    Accumulator,
    /// The default world, end to end (records/s and events/s).
    World,
    /// The sweep benchmark: a sweep of `--points` points (1000 by default), each 10
    /// virtual seconds at 50k records/s with no faults, on the normal parallel runner.
    Sweep,
    /// How the default world's cost per record scales: wall time per record at 6, 60, 600
    /// and 3,000 partitions (2 virtual s each), then at 6 partitions over 1, 4 and 16 virtual
    /// s, each with the peak resident memory of its run.
    Scale,
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
    /// Virtual ms of the world run, or of each sweep point (world and sweep).
    #[arg(long, default_value_t = 10_000.0)]
    pub duration_ms: f64,
    /// Points of the sweep benchmark (sweep only; run once, `--repeat` is ignored).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub points: u32,
    /// Worker threads of the sweep benchmark (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
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
        Target::Sweep => bench_sweep(args)?,
        Target::Scale => bench_scale(args.repeat),
    }
    Ok(ExitCode::SUCCESS)
}

fn bench_engine(repeat: u32) {
    const EVENTS: u64 = 2_000_000;
    println!(
        "hold model: N pending events, each pop schedules one at now + exponential delay; \
         {EVENTS} timed events after the N initial ones are built, best of {repeat}"
    );
    for pending in [100usize, 10_000, 1_000_000] {
        // Build outside the timer, warm up with one round of N pops, then time the steady state.
        let warm_up = pending as u64;
        let (engine_s, engine_sum) = best_of_steady(
            repeat,
            || sim::hold::EngineHold::new(pending, 1),
            |hold| hold.advance(warm_up),
            |hold| hold.advance(EVENTS),
        );
        let (heap_s, heap_sum) = best_of_steady(
            repeat,
            || sim::hold::HeapHold::new(pending, 1),
            |hold| hold.advance(warm_up),
            |hold| hold.advance(EVENTS),
        );
        assert_eq!(
            engine_sum, heap_sum,
            "the engine and the bare heap must pop the same events"
        );
        let engine_rate = EVENTS as f64 / engine_s;
        let heap_rate = EVENTS as f64 / heap_s;
        println!(
            "  N = {pending:>9}: engine {:>6.2} M events/s   bare BinaryHeap {:>6.2} M events/s   \
             ratio {:.2} (goal >= 0.50)",
            engine_rate / 1e6,
            heap_rate / 1e6,
            engine_rate / heap_rate
        );
    }
}

/// Best wall time of `measure` over `repeat` fresh states made by `build` and warmed by `warm`;
/// building and warming are not timed.
fn best_of_steady<S, T>(
    repeat: u32,
    build: impl Fn() -> S,
    warm: impl Fn(&mut S) -> T,
    measure: impl Fn(&mut S) -> T,
) -> (f64, T) {
    let mut best: Option<(f64, T)> = None;
    for _ in 0..repeat.max(1) {
        let mut state = build();
        warm(&mut state);
        let next = timed(|| measure(&mut state));
        if best.as_ref().is_none_or(|b| next.0 < b.0) {
            best = Some(next);
        }
    }
    best.expect("repeat is at least one")
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

/// Partition counts of the scale benchmark, at [`SCALE_PARTITIONS_MS`] virtual ms each.
const SCALE_PARTITIONS: [u32; 4] = [6, 60, 600, 3_000];
const SCALE_PARTITIONS_MS: f64 = 2_000.0;
/// Virtual durations of the scale benchmark, at 6 partitions.
const SCALE_DURATIONS_MS: [f64; 3] = [1_000.0, 4_000.0, 16_000.0];

/// One case of the scale benchmark: the default world with `partitions` for `duration_ms`.
#[derive(Clone)]
struct ScaleCase {
    nanos_per_record: f64,
    records_per_sec: f64,
    events_per_record: f64,
    /// The process's peak RSS during the case, and how far above the RSS before it.
    peak_rss_bytes: Option<(u64, u64)>,
}

fn scale_case(repeat: u32, partitions: u32, duration_ms: f64) -> ScaleCase {
    let mut config = models::world::default_config();
    config.cluster.partitions = partitions;
    config.run.duration_ms = duration_ms;
    reset_peak_rss();
    let before = status_kib("VmRSS:");
    let (seconds, result) = best_of(repeat, || models::world::run(&config, 1, sim::Trace::off()));
    let records = result.metric("records_sent").unwrap_or(0.0).max(1.0);
    ScaleCase {
        nanos_per_record: seconds * 1e9 / records,
        records_per_sec: records / seconds,
        events_per_record: result.events as f64 / records,
        peak_rss_bytes: status_kib("VmHWM:")
            .zip(before)
            .map(|(peak, before)| (peak * 1024, peak.saturating_sub(before) * 1024)),
    }
}

fn scale_line(label: &str, case: &ScaleCase, base: &ScaleCase) -> String {
    let mib = |bytes: u64| bytes as f64 / 1_048_576.0;
    let rss = case.peak_rss_bytes.map_or_else(
        || "n/a".to_string(),
        |(peak, growth)| format!("{:.1} MiB (+{:.1} MiB)", mib(peak), mib(growth)),
    );
    format!(
        "  {label:<22} {:>8.1} ns/record ({:>5.2}x)  {:>6.2} M records/s  {:>5.2} events/record  \
         peak RSS {rss}",
        case.nanos_per_record,
        case.nanos_per_record / base.nanos_per_record,
        case.records_per_sec / 1e6,
        case.events_per_record,
    )
}

/// `linger bench scale`: cost per record against partitions and against duration, so that a
/// cost growing with the topic's size or the run's length shows at once.
fn bench_scale(repeat: u32) {
    println!(
        "default world (100k records/s, 3 brokers, no faults, no trace), wall time per record, \
         best of {repeat}; peak RSS per case (the process's high-water mark, reset before each \
         case where Linux allows it) and in brackets its growth over the RSS before the case"
    );
    println!("against partitions, {SCALE_PARTITIONS_MS} virtual ms each:");
    let mut first: Option<ScaleCase> = None;
    for partitions in SCALE_PARTITIONS {
        let case = scale_case(repeat, partitions, SCALE_PARTITIONS_MS);
        let base = first.get_or_insert(case.clone());
        println!(
            "{}",
            scale_line(&format!("{partitions} partitions"), &case, base)
        );
    }
    println!("against duration, 6 partitions:");
    let mut first: Option<ScaleCase> = None;
    for duration_ms in SCALE_DURATIONS_MS {
        let case = scale_case(repeat, 6, duration_ms);
        let base = first.get_or_insert(case.clone());
        println!(
            "{}",
            scale_line(&format!("{duration_ms} virtual ms"), &case, base)
        );
    }
}

/// A `KEY: N kB` line of `/proc/self/status` (`VmRSS:` now, `VmHWM:` the peak), in KiB, where
/// the system has that file.
fn status_kib(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resets the peak RSS to the current RSS (`/proc/self/clear_refs`, value 5), so that each
/// case reports its own peak; where that is not allowed the peak is the process's so far.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The sweep benchmark's experiment: the baseline at 50k records/s, one replicate per point,
/// and an axis of `points` distinct master-seed values (so every point is a different run).
fn perf_sweep_text(points: u32, duration_ms: f64) -> Result<String, Error> {
    let baseline = catalog::find(catalog::DEFAULT_EXPERIMENT, EntryKind::Experiment)
        .expect("the default experiment is shipped");
    let rate = "arrivals = { kind = \"constant\", per_sec = 100000 }";
    let duration = "duration_ms = 10000";
    for needle in [rate, duration] {
        if !baseline.text.contains(needle) {
            return Err(Error::Run(format!(
                "the baseline no longer has `{needle}`; update the sweep benchmark"
            )));
        }
    }
    if points == 0 {
        return Err(InputError::new("--points must be at least 1").into());
    }
    let text = baseline
        .text
        .replace(rate, "arrivals = { kind = \"constant\", per_sec = 50000 }")
        .replace(duration, &format!("duration_ms = {duration_ms:?}"))
        .replace("name = \"baseline\"", "name = \"perf-sweep\"");
    Ok(format!(
        "{text}\n[sweep.run]\nseed = {{ from = 1, to = {points}, step = 1 }}\n"
    ))
}

/// A fresh scratch results directory for the sweep benchmark.
fn bench_out_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("linger-bench-sweep-{}", std::process::id()))
}

/// Runs the benchmark sweep on the normal runner into a temporary directory and prints points,
/// wall seconds, points/s, records/s and the thread count.
fn bench_sweep(args: &BenchArgs) -> Result<()> {
    let text = perf_sweep_text(args.points, args.duration_ms).map_err(lib_error)?;
    let experiment =
        Experiment::parse(Source::built_in("perf-sweep", &text), &[]).map_err(lib_error)?;
    let out_dir = bench_out_dir();
    let stop = AtomicBool::new(false);
    let options = SweepOptions {
        out_dir: out_dir.clone(),
        threads: args.threads,
        shard: Shard::ALL,
        points_max: u64::from(args.points),
        max_points_this_run: None,
        overwrite: Overwrite::Force,
        damage: JournalDamage::Refuse,
        progress: Progress::Bar,
        stop: &stop,
    };
    let threads = args.threads.unwrap_or_else(rayon::current_num_threads);
    let (seconds, report) = timed(|| runner::run_sweep(&experiment, &WorldRunner, &options));
    let records = report
        .map_err(lib_error)
        .and_then(|_| records_sent(&out_dir));
    let _ = std::fs::remove_dir_all(&out_dir);
    let records = records?;
    let points = f64::from(args.points);
    println!(
        "sweep of {} points x {} virtual ms at 50000 records/s, no faults, {threads} threads: \
         {seconds:.1} s wall, {:.2} points/s, {records} records sent ({:.0} records/s)",
        args.points,
        args.duration_ms,
        points / seconds,
        records / seconds
    );
    Ok(())
}

/// The sum of `records_sent` over the rows of `DIR/results.csv`.
fn records_sent(dir: &std::path::Path) -> Result<f64> {
    let path = dir.join("results.csv");
    let mut reader = csv::Reader::from_path(&path)
        .map_err(|e| lib_error(Error::Run(format!("{}: {e}", path.display()))))?;
    let headers = reader
        .headers()
        .map_err(|e| lib_error(Error::Run(format!("{}: {e}", path.display()))))?
        .clone();
    let column = headers
        .iter()
        .position(|h| h == "records_sent")
        .ok_or_else(|| lib_error(Error::Run(format!("{}: no records_sent", path.display()))))?;
    let mut total = 0.0;
    for row in reader.records() {
        let row = row.map_err(|e| lib_error(Error::Run(format!("{}: {e}", path.display()))))?;
        total += row
            .get(column)
            .and_then(|cell| cell.parse::<f64>().ok())
            .unwrap_or(0.0);
    }
    Ok(total)
}
