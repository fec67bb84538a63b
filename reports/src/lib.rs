//! Plots, HTML and Markdown reports, and teaching sequence diagrams for linger.
//!
//! This crate reads files only: a sweep's results directory (`manifest.json` with
//! `format_version` [`RESULTS_FORMAT_VERSION`], `results.csv`, and any `*.toml` experiment copy)
//! and a run's trace as JSON lines (`{"t":ns,"c":component,"k":kind,"f":{fields}}`). It never runs
//! a simulation and does not depend on `sim` or `models` (ARCHITECTURE.md, "Boundaries").
//!
//! Entry points, one per `linger` subcommand:
//! - [`plot`]: one line plot of a metric against an axis (`linger plot DIR --x --y --series`);
//! - [`standard_plots`]: the plots that fit the axes present (`linger sweep ... --plots`);
//! - [`report`]: a self-contained HTML page and a Markdown twin (`linger report DIR`);
//! - [`render_terminal`], [`render_svg`], [`render_html`]: a teaching sequence diagram of a trace
//!   with the checker's verdict (`linger teach SCENARIO`).
//!
//! Teaching views draw at most the first 2000 events of a trace (a note says how many more
//! there were); the verdict is computed from every event and the checker's counts.
//!
//! Means in plots and tables are over a point's replicates, with Student-t 95% intervals
//! recomputed from `results.csv` (`summary.csv` is not read). Axes not shown in a plot are pooled
//! and the plot says so.
//!
//! Delivery guarantees in the report are a property of each configuration, checked against what
//! its runs observed ([`DeliveryConfig`]): `acks`, `enable.idempotence`, `retries` and
//! `max.in.flight.requests.per.connection` come from the sweep axes, else the experiment copy
//! (`experiment.toml`) in the directory, else Kafka's defaults; where they cannot be known, the
//! report says what was observed and claims no guarantee.
//!
//! Every output file is written under a temporary name in its directory and renamed into place
//! when complete, so a failure leaves no partial file. Errors are [`ReportError`]s that name the
//! file, line or column at fault.
//!
//! A partial merge (`partial` in `manifest.json`, from `linger merge --partial`) is marked in
//! every output: a banner at the top of the report and a note in every plot's title.
//!
//! Column names given to [`plot`] match a results column exactly, by an alias
//! ([`COLUMN_ALIASES`]: `throughput` = `throughput_records_per_s`, `p99` = `latency_p99_ms`, ...),
//! or by a unique suffix at a `.`/`_`/`-` boundary, with `_`, `-` and `.` treated alike
//! (`linger.ms` finds `producer.linger.ms`).

mod error;
mod fonts;
mod guarantee;
mod markup;
mod output;
mod plots;
mod report;
mod stats;
mod sweep;
mod teach;

use std::path::{Path, PathBuf};

pub use error::ReportError;
pub use guarantee::{Acks, DeliveryConfig};
pub use report::{ReportFiles, report};
pub use sweep::{COLUMN_ALIASES, MANIFEST_FILE, RESULTS_FILE, RESULTS_FORMAT_VERSION};
pub use teach::{OutcomeSummary, TEACH_MAX_STEPS, render_html, render_svg, render_terminal};

use plots::{Chart, LineSpec};
use sweep::Sweep;

/// The sub-directory of a results directory that [`standard_plots`] and [`report`] write to.
pub const PLOTS_DIR: &str = "plots";

/// What [`plot`] draws: the mean of `y` against `x`, one line per value of `series`.
#[derive(Clone, Copy, Debug)]
pub struct PlotRequest<'a> {
    /// The x column (usually a sweep axis such as `linger.ms`).
    pub x: &'a str,
    /// The metric column (such as `throughput` or `latency_p99_ms`).
    pub y: &'a str,
    /// The column whose values make separate lines (such as `batch.size`), if any.
    pub series: Option<&'a str>,
}

/// Draws one line plot with 95% interval bars from the results in `dir` and writes
/// `<out_stem>.svg` and `<out_stem>.png` (by default `dir/plots/` with the name
/// [`standard_plots`] gives the same chart: `<metric>_vs_<x>[_by_<series>]`, from the columns
/// the names resolve to); returns the two paths.
pub fn plot(
    dir: &Path,
    request: &PlotRequest<'_>,
    out_stem: Option<&Path>,
) -> Result<Vec<PathBuf>, ReportError> {
    let sweep = Sweep::load(dir)?;
    let spec = LineSpec {
        x: sweep.column(request.x)?,
        y: sweep.column(request.y)?,
        series: request.series.map(|s| sweep.column(s)).transpose()?,
    };
    let out_stem = out_stem.map_or_else(
        || dir.join(PLOTS_DIR).join(plots::line_stem(&sweep, &spec)),
        Path::to_path_buf,
    );
    let mut chart = Chart::Line(plots::line_chart(&sweep, &spec)?);
    if let Some(note) = sweep.partial_note() {
        chart.mark(&format!("partial: {note}"));
    }
    plots::write_charts(&[(chart, out_stem)])
}

/// Draws the plots that suit the axes of the sweep in `dir` and writes them, as SVG and PNG, to
/// `dir/plots/`; returns the paths written.
///
/// Chosen plots: throughput and p99 latency against `linger.ms` (else the first varying axis),
/// one line per `batch.size` (else the next varying axis), and over those two numeric axes heat
/// maps of throughput, p99 and records per batch; the throughput/p99 trade-off with its
/// Pareto front; and heatmaps of duplicates, reordering and acknowledged loss over
/// `max.in.flight.requests.per.connection` x `retries` (else two other axes), one panel per
/// `acks` x `enable.idempotence`.
pub fn standard_plots(dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let sweep = Sweep::load(dir)?;
    let charts = report::standard_charts(&sweep)?;
    let out = dir.join(PLOTS_DIR);
    let jobs: Vec<(Chart, PathBuf)> = charts
        .into_iter()
        .map(|c| (c.chart, out.join(c.stem)))
        .collect();
    plots::write_charts(&jobs)
}
