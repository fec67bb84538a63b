//! `linger plot`, `linger report` and `linger teach`: hand result files and traces to the
//! `reports` crate, which only reads files and never runs a simulation.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;

use experiments::error::{Error, InputError};
use experiments::results::write_atomically;
use experiments::sweep::run_seed;
use experiments::world::{run_world, scenario_config};
use models::batching::config::{Acks as KafkaAcks, ProducerConfig};
use reports::{Acks, DeliveryConfig, OutcomeSummary, PlotRequest, ReportError};

use super::{emit, lib_error};

/// Arguments of `linger plot`.
#[derive(Debug, clap::Args)]
pub struct PlotArgs {
    /// A sweep's results directory.
    pub dir: PathBuf,
    /// The x column, usually an axis (`linger.ms` finds `producer.linger.ms`).
    #[arg(long)]
    pub x: String,
    /// The metric (`throughput`, `p99`, or any results.csv column).
    #[arg(long)]
    pub y: String,
    /// A column whose values make separate lines.
    #[arg(long)]
    pub series: Option<String>,
    /// Output path without extension (default: DIR/plots/<metric>_vs_<x>[_by_<series>], the
    /// name `sweep --plots` and `report` give the same chart); writes .svg and .png.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Arguments of `linger report`.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// A sweep's results directory; writes DIR/report.html, DIR/report.md and DIR/plots/.
    pub dir: PathBuf,
}

/// Arguments of `linger teach`.
#[derive(Debug, clap::Args)]
pub struct TeachArgs {
    /// The teaching scenario or alias, or an experiment file (or shipped experiment) to run and
    /// draw; with none, lists the scenarios with a one-line description each.
    pub scenario: Option<String>,
    /// With an experiment file: draw the events from this virtual ms on.
    #[arg(long, value_name = "MS")]
    pub from_ms: Option<f64>,
    /// With an experiment file: draw the events up to this virtual ms.
    #[arg(long, value_name = "MS")]
    pub to_ms: Option<f64>,
    /// With an experiment file: draw from the first send of record FIRST to the answer of
    /// record LAST (ids as in the trace, from 0), e.g. `--records 100..120`.
    #[arg(long, value_name = "FIRST..LAST", conflicts_with_all = ["from_ms", "to_ms"])]
    pub records: Option<String>,
    /// The master seed (default: the scenario's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Also write the diagram as an SVG picture.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    /// Also write a self-contained HTML page that steps through the events.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// With a scenario or an experiment file: also write the run's trace as JSON lines. Alone:
    /// draw the saved trace FILE (as `linger run --trace` or `teach --trace` wrote it).
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
}

/// A reports error as the binary's error: a missing file or unknown column is bad input.
fn report_error(error: ReportError) -> anyhow::Error {
    let message = error.to_string();
    match error {
        ReportError::Io { .. } | ReportError::Plot { .. } => lib_error(Error::Output(message)),
        _ => lib_error(InputError::new(message).into()),
    }
}

/// Runs `linger plot`.
pub fn plot(args: &PlotArgs) -> Result<ExitCode> {
    let request = PlotRequest {
        x: &args.x,
        y: &args.y,
        series: args.series.as_deref(),
    };
    // The reports crate validates the directory, the columns and the chart before it creates
    // the output folder (DIR/plots/ by default), so bad input leaves nothing behind.
    let written = reports::plot(&args.dir, &request, args.out.as_deref()).map_err(report_error)?;
    for path in written {
        eprintln!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `linger report`.
pub fn report(args: &ReportArgs) -> Result<ExitCode> {
    let files = reports::report(&args.dir).map_err(report_error)?;
    eprintln!(
        "wrote {} and {} ({} plots)",
        files.html.display(),
        files.markdown.display(),
        files.plots.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// Draws the standard plots of a finished sweep (`linger sweep --plots`).
pub fn standard_plots(dir: &Path) -> Result<()> {
    let written = reports::standard_plots(dir).map_err(report_error)?;
    eprintln!(
        "wrote {} plots under {}",
        written.len(),
        dir.join(reports::PLOTS_DIR).display()
    );
    Ok(())
}

/// Runs `linger teach`: the scenario with a kept trace, rendered as a sequence diagram.
pub fn teach(args: &TeachArgs) -> Result<ExitCode> {
    let Some(name) = args.scenario.as_deref() else {
        if let Some(path) = &args.trace {
            return teach_trace_file(args, path);
        }
        let outputs = [("--svg", &args.svg), ("--html", &args.html)];
        if let Some((flag, Some(path))) = outputs.iter().find(|(_, path)| path.is_some()) {
            return Err(lib_error(
                InputError::new(format!(
                    "{flag} {} needs something to draw: linger teach NAME|FILE.toml {flag} {}, or --trace FILE \
                     (`linger teach` with no arguments lists them)",
                    path.display(),
                    path.display()
                ))
                .into(),
            ));
        }
        emit(&teaching_listing());
        return Ok(ExitCode::SUCCESS);
    };
    let is_scenario = models::scenarios::find(super::scenario_name(name)).is_ok();
    if !is_scenario
        && (name.ends_with(".toml") || experiments::catalog::resolve(Some(Path::new(name))).is_ok())
    {
        return teach_file(args, Path::new(name));
    }
    if args.from_ms.is_some() || args.to_ms.is_some() || args.records.is_some() {
        return Err(lib_error(
            InputError::new(format!(
                "--from-ms, --to-ms and --records choose a window of an experiment file's run; \
                 `{name}` is a teaching scenario, drawn whole"
            ))
            .into(),
        ));
    }
    let (config, scenario) =
        scenario_config(super::scenario_name(name)).map_err(|e| lib_error(e.into()))?;
    let master_seed = args.seed.unwrap_or(config.run.seed);
    let seed = run_seed(master_seed, "", 0);
    let result = run_world(&config, seed, sim::Trace::keeping());
    let mut lines = String::new();
    for event in result.trace.events() {
        lines.push_str(&event.to_json_line());
        lines.push('\n');
    }
    let metric = |name: &str| result.metric(name).unwrap_or(0.0).max(0.0) as u64;
    let summary = OutcomeSummary {
        scenario: scenario.name.to_string(),
        description: scenario.description.to_string(),
        records_sent: metric("records_sent"),
        records_acked: metric("records_acked"),
        records_failed: metric("records_failed"),
        delivered_once: metric("delivered_once"),
        duplicated: metric("duplicated"),
        lost_acked: metric("lost_acked"),
        reordered: metric("reordered"),
        failed_present: metric("failed_present"),
        unfinished: metric("records_unfinished"),
        silent_absent: metric("silent_absent"),
        delivery: delivery_config(&config.producer),
        explanation: None,
        from_trace_only: false,
        duplicated_records: checked_examples(&result.checker, "duplicated"),
        lost_records: checked_examples(&result.checker, "acked_lost"),
    };
    emit(&reports::render_terminal(&lines, &summary).map_err(report_error)?);
    if let Some(path) = &args.svg {
        let svg = reports::render_svg(&lines, &summary).map_err(report_error)?;
        write_atomically(path, svg.as_bytes()).map_err(lib_error)?;
    }
    if let Some(path) = &args.html {
        let html = reports::render_html(&lines, &summary).map_err(report_error)?;
        write_atomically(path, html.as_bytes()).map_err(lib_error)?;
    }
    if let Some(path) = &args.trace {
        write_atomically(path, lines.as_bytes()).map_err(lib_error)?;
    }
    eprintln!("replay: linger teach {name} --seed {master_seed}");
    Ok(ExitCode::SUCCESS)
}

/// `linger teach --trace FILE.jsonl` with no scenario or file: draws a saved trace (a window of
/// it with `--from-ms`/`--to-ms`); the verdict says the final logs are not in a trace.
fn teach_trace_file(args: &TeachArgs, path: &Path) -> Result<ExitCode> {
    if args.records.is_some()
        || args.svg.as_deref() == Some(path)
        || args.html.as_deref() == Some(path)
    {
        return Err(lib_error(
            InputError::new(
                "--trace FILE alone draws a saved trace: use --from-ms/--to-ms for a window \
                 (--records needs the run), and write --svg/--html to other files",
            )
            .into(),
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|error| {
        lib_error(
            InputError::new(format!(
                "--trace {}: cannot read the trace: {error} (with a scenario or an experiment \
                 file, --trace writes the run's trace instead)",
                path.display()
            ))
            .into(),
        )
    })?;
    let from_ns = args.from_ms.map_or(0.0, |ms| ms * 1e6);
    let to_ns = args.to_ms.map_or(f64::INFINITY, |ms| ms * 1e6);
    if from_ns > to_ns || from_ns < 0.0 {
        return Err(lib_error(
            InputError::new("--from-ms/--to-ms: allowed 0 <= from <= to").into(),
        ));
    }
    let mut lines = String::new();
    let (mut sent, mut acked, mut failed) = (0u64, 0u64, 0u64);
    for (number, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let event: serde_json::Value = serde_json::from_str(line).map_err(|error| {
            lib_error(
                InputError::new(format!(
                    "{}:{}: not a trace line (JSON with \"t\", \"c\", \"k\", \"f\"): {error}",
                    path.display(),
                    number + 1
                ))
                .into(),
            )
        })?;
        let Some(t) = event.get("t").and_then(serde_json::Value::as_f64) else {
            return Err(lib_error(
                InputError::new(format!(
                    "{}:{}: a trace line needs its time \"t\" in ns",
                    path.display(),
                    number + 1
                ))
                .into(),
            ));
        };
        if event.get("c").and_then(serde_json::Value::as_str) == Some("app") {
            match event.get("k").and_then(serde_json::Value::as_str) {
                Some("send") => sent += 1,
                Some("ack") => acked += 1,
                Some("fail") => failed += 1,
                _ => {}
            }
        }
        if t >= from_ns && t <= to_ns {
            lines.push_str(line);
            lines.push('\n');
        }
    }
    let summary = OutcomeSummary {
        scenario: path.display().to_string(),
        description: String::new(),
        records_sent: sent,
        records_acked: acked,
        records_failed: failed,
        from_trace_only: true,
        ..OutcomeSummary::default()
    };
    emit(&reports::render_terminal(&lines, &summary).map_err(report_error)?);
    if let Some(out) = &args.svg {
        let svg = reports::render_svg(&lines, &summary).map_err(report_error)?;
        write_atomically(out, svg.as_bytes()).map_err(lib_error)?;
    }
    if let Some(out) = &args.html {
        let html = reports::render_html(&lines, &summary).map_err(report_error)?;
        write_atomically(out, html.as_bytes()).map_err(lib_error)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Keeps the JSON lines of the events inside a window of virtual time, at most `cap` of them,
/// and counts every event inside it (a run too big to draw is refused with that count).
struct WindowSink {
    from_ns: u64,
    to_ns: u64,
    cap: usize,
    lines: std::sync::Arc<std::sync::Mutex<WindowLines>>,
}

#[derive(Default)]
struct WindowLines {
    text: String,
    kept: usize,
    inside: u64,
    /// The time of the last event kept.
    last_kept_ns: u64,
    /// For `--records`: when record FIRST was sent and when record LAST was answered.
    first_send_ns: Option<u64>,
    last_answer_ns: Option<u64>,
}

impl sim::trace::TraceSink for WindowSink {
    fn record(&mut self, event: &sim::TraceEvent, line: &str) {
        let t = event.time.as_nanos();
        if t < self.from_ns || t > self.to_ns {
            return;
        }
        let Ok(mut lines) = self.lines.lock() else {
            return;
        };
        lines.inside += 1;
        if lines.kept < self.cap {
            lines.text.push_str(line);
            lines.text.push('\n');
            lines.kept += 1;
            lines.last_kept_ns = t;
        }
    }
}

/// Notes when record `first` was sent and record `last` answered, for `--records`.
struct RecordSpan {
    first: u64,
    last: u64,
    lines: std::sync::Arc<std::sync::Mutex<WindowLines>>,
}

impl sim::trace::TraceSink for RecordSpan {
    fn record(&mut self, event: &sim::TraceEvent, _line: &str) {
        if event.component != "app" {
            return;
        }
        let Some(sim::Value::U64(record)) = event.field("record") else {
            return;
        };
        let Ok(mut lines) = self.lines.lock() else {
            return;
        };
        let t = event.time.as_nanos();
        if *record == self.first && event.kind == "send" && lines.first_send_ns.is_none() {
            lines.first_send_ns = Some(t);
        }
        if *record == self.last && matches!(event.kind, "ack" | "fail") {
            lines.last_answer_ns = Some(t);
        }
    }
}

/// `FIRST..LAST` of `--records`.
fn record_range(text: &str) -> Result<(u64, u64), InputError> {
    let bad = || {
        InputError::new(format!(
            "--records `{text}`: expected FIRST..LAST, two record ids from 0 with FIRST <= LAST, \
             e.g. --records 100..120"
        ))
    };
    let (a, b) = text.split_once("..").ok_or_else(bad)?;
    let first: u64 = a.trim().parse().map_err(|_| bad())?;
    let last: u64 = b.trim().parse().map_err(|_| bad())?;
    if first > last {
        return Err(bad());
    }
    Ok((first, last))
}

/// `linger teach FILE.toml`: runs the experiment's first replicate and draws a window of it.
fn teach_file(args: &TeachArgs, path: &Path) -> Result<ExitCode> {
    use experiments::spec::{Experiment, Override};
    let (source, shown) = experiments::catalog::resolve(Some(path)).map_err(lib_error)?;
    let mut overrides = Vec::new();
    if let Some(seed) = args.seed {
        overrides
            .push(Override::parse(&format!("run.seed={seed}")).map_err(|e| lib_error(e.into()))?);
    }
    let experiment = Experiment::parse(source, &overrides).map_err(lib_error)?;
    if !experiment.axes.is_empty() {
        return Err(lib_error(
            InputError::new(format!(
                "{shown}: the file has [sweep] axes; teach draws one run: remove the [sweep] \
                 table or copy one point's values into the sections"
            ))
            .into(),
        ));
    }
    let config = experiments::world::world_config(&experiment.source, &experiment.sections)
        .map_err(|e| lib_error(e.into()))?;
    let seed = run_seed(experiment.master_seed, "", 0);
    let ms_to_ns = |flag: &str, ms: f64| -> Result<u64, InputError> {
        if ms.is_finite() && ms >= 0.0 {
            Ok((ms * 1e6).round() as u64)
        } else {
            Err(InputError::new(format!(
                "{flag} {ms}: allowed a virtual time in ms from 0"
            )))
        }
    };
    let (from_ns, to_ns) = match &args.records {
        Some(text) => {
            let (first, last) = record_range(text).map_err(|e| lib_error(e.into()))?;
            let span = std::sync::Arc::new(std::sync::Mutex::new(WindowLines::default()));
            let sink = RecordSpan {
                first,
                last,
                lines: span.clone(),
            };
            let _ = run_world(&config, seed, sim::Trace::with_sink(Box::new(sink)));
            let span = span
                .lock()
                .map_err(|_| lib_error(Error::Run("poisoned".into())))?;
            match (span.first_send_ns, span.last_answer_ns) {
                (Some(a), Some(b)) => (a, b),
                (None, _) => {
                    return Err(lib_error(
                        InputError::new(format!(
                            "--records {text}: record {first} was never sent in this run"
                        ))
                        .into(),
                    ));
                }
                (Some(a), None) => (a, u64::MAX),
            }
        }
        None => (
            args.from_ms
                .map(|ms| ms_to_ns("--from-ms", ms))
                .transpose()
                .map_err(|e| lib_error(e.into()))?
                .unwrap_or(0),
            args.to_ms
                .map(|ms| ms_to_ns("--to-ms", ms))
                .transpose()
                .map_err(|e| lib_error(e.into()))?
                .unwrap_or(u64::MAX),
        ),
    };
    if from_ns > to_ns {
        return Err(lib_error(
            InputError::new("--from-ms is after --to-ms: the window is empty").into(),
        ));
    }
    let window = std::sync::Arc::new(std::sync::Mutex::new(WindowLines::default()));
    let sink = WindowSink {
        from_ns,
        to_ns,
        cap: reports::TEACH_MAX_STEPS,
        lines: window.clone(),
    };
    let result = run_world(&config, seed, sim::Trace::with_sink(Box::new(sink)));
    let window = window
        .lock()
        .map_err(|_| lib_error(Error::Run("poisoned".into())))?;
    if window.inside as usize > reports::TEACH_MAX_STEPS {
        return Err(lib_error(
            InputError::new(format!(
                "{shown}: the window holds {} events and a diagram draws at most {}; the first {} \
                 end at {:.3} ms: draw them with --to-ms {:.3} (from --from-ms {:.3}), or a few \
                 records with --records FIRST..LAST",
                window.inside,
                reports::TEACH_MAX_STEPS,
                reports::TEACH_MAX_STEPS,
                window.last_kept_ns as f64 / 1e6,
                window.last_kept_ns as f64 / 1e6,
                from_ns as f64 / 1e6
            ))
            .into(),
        ));
    }
    let metric = |name: &str| result.metric(name).unwrap_or(0.0).max(0.0) as u64;
    let whole = from_ns == 0 && to_ns == u64::MAX;
    let description = if whole {
        experiment.description.clone()
    } else {
        format!(
            "{}{}The events from {:.3} ms to {}; the verdict below is the whole run's.",
            experiment.description,
            match experiment.description.chars().last() {
                None => "",
                Some('.' | '!' | '?') => " ",
                Some(_) => ". ",
            },
            from_ns as f64 / 1e6,
            if to_ns == u64::MAX {
                "the end".to_owned()
            } else {
                format!("{:.3} ms", to_ns as f64 / 1e6)
            }
        )
    };
    let summary = OutcomeSummary {
        scenario: experiment.name.clone(),
        description,
        records_sent: metric("records_sent"),
        records_acked: metric("records_acked"),
        records_failed: metric("records_failed"),
        delivered_once: metric("delivered_once"),
        duplicated: metric("duplicated"),
        lost_acked: metric("lost_acked"),
        reordered: metric("reordered"),
        failed_present: metric("failed_present"),
        unfinished: metric("records_unfinished"),
        silent_absent: metric("silent_absent"),
        delivery: delivery_config(&config.producer),
        explanation: None,
        from_trace_only: false,
        duplicated_records: checked_examples(&result.checker, "duplicated"),
        lost_records: checked_examples(&result.checker, "acked_lost"),
    };
    let lines = &window.text;
    emit(&reports::render_terminal(lines, &summary).map_err(report_error)?);
    if let Some(path) = &args.svg {
        let svg = reports::render_svg(lines, &summary).map_err(report_error)?;
        write_atomically(path, svg.as_bytes()).map_err(lib_error)?;
    }
    if let Some(path) = &args.html {
        let html = reports::render_html(lines, &summary).map_err(report_error)?;
        write_atomically(path, html.as_bytes()).map_err(lib_error)?;
    }
    if let Some(path) = &args.trace {
        write_atomically(path, lines.as_bytes()).map_err(lib_error)?;
    }
    eprintln!(
        "replay: linger teach {} --seed {}",
        path.display(),
        experiment.master_seed
    );
    Ok(ExitCode::SUCCESS)
}

/// The settings that decide the delivery promise, from the effective producer config.
fn delivery_config(producer: &ProducerConfig) -> DeliveryConfig {
    DeliveryConfig {
        acks: Some(match producer.acks {
            KafkaAcks::Zero => Acks::Zero,
            KafkaAcks::One => Acks::One,
            KafkaAcks::All => Acks::All,
        }),
        enable_idempotence: Some(producer.enable_idempotence),
        retries: Some(u64::from(producer.retries)),
        max_in_flight: Some(u64::from(producer.max_in_flight_requests_per_connection)),
    }
}

/// `linger teach` with no name: every teaching scenario with its one-line title, then the
/// aliases.
fn teaching_listing() -> String {
    let mut out = String::from("teaching scenarios:\n");
    for scenario in models::scenarios::SCENARIOS {
        out.push_str(&format!("  {:<28} {}\n", scenario.name, scenario.title));
    }
    out.push_str(&super::alias_lines());
    out.push_str("\ndraw one: linger teach NAME [--svg FILE] [--html FILE] [--trace FILE]\n");
    out
}

/// The checker's example record ids of one class (from the final logs), for the diagram.
pub(crate) fn checked_examples(report: &models::checker::CheckerReport, class: &str) -> Vec<u64> {
    report
        .examples
        .get(class)
        .map(|ids| ids.iter().map(|id| id.0).collect())
        .unwrap_or_default()
}
