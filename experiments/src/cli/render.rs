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
    /// Output path without extension (default: DIR/plots/<y>-vs-<x>); writes .svg and .png.
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
    /// The teaching scenario or alias; with none, lists them with a one-line description each.
    pub scenario: Option<String>,
    /// The master seed (default: the scenario's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Also write the diagram as an SVG picture.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    /// Also write a self-contained HTML page that steps through the events.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Also write the raw trace as JSON lines.
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

fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Runs `linger plot`.
pub fn plot(args: &PlotArgs) -> Result<ExitCode> {
    let request = PlotRequest {
        x: &args.x,
        y: &args.y,
        series: args.series.as_deref(),
    };
    let stem = args.out.clone().unwrap_or_else(|| {
        args.dir.join(reports::PLOTS_DIR).join(format!(
            "{}-vs-{}",
            file_safe(&args.y),
            file_safe(&args.x)
        ))
    });
    // The reports crate validates the directory, the columns and the chart before it creates
    // the output folder (DIR/plots/ by default), so bad input leaves nothing behind.
    let written = reports::plot(&args.dir, &request, &stem).map_err(report_error)?;
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
        let outputs = [
            ("--svg", &args.svg),
            ("--html", &args.html),
            ("--trace", &args.trace),
        ];
        if let Some((flag, Some(path))) = outputs.iter().find(|(_, path)| path.is_some()) {
            return Err(lib_error(
                InputError::new(format!(
                    "{flag} {} needs a teaching scenario to draw: linger teach NAME {flag} {} \
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
