//! The sweep report: one self-contained HTML page (inline SVG plots and CSS, no scripts or
//! network fetches) and a Markdown twin that links the PNG plots, with the experiment's
//! configuration, the best configurations under stated constraints, and which delivery
//! guarantee each configuration kept or broke.

use std::path::{Path, PathBuf};

use crate::error::ReportError;
use crate::guarantee::{self, Acks, DeliveryConfig, ExperimentProducer, Promise};
use crate::markup::{escape_html, html_row, md_row};
use crate::output;
use crate::plots::{self, Chart, LineSpec};
use crate::stats::{self, Estimate};
use crate::sweep::{Point, Sweep};

/// The files [`report`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportFiles {
    /// `DIR/report.html`: self-contained, plots inline.
    pub html: PathBuf,
    /// `DIR/report.md`: links the PNG plots under `DIR/plots/`.
    pub markdown: PathBuf,
    /// The SVG and PNG plots under `DIR/plots/`.
    pub plots: Vec<PathBuf>,
}

/// A chart with its file stem and caption.
pub(crate) struct NamedChart {
    pub stem: String,
    pub caption: String,
    pub chart: Chart,
}

/// Writes `report.html`, `report.md` and the standard plots for the results in `dir`.
pub fn report(dir: &Path) -> Result<ReportFiles, ReportError> {
    let sweep = Sweep::load(dir)?;
    let charts = standard_charts(&sweep)?;
    let summaries = summarise(&sweep)?;
    let mut svgs = Vec::with_capacity(charts.len());
    for named in &charts {
        svgs.push(named.chart.to_svg()?);
    }
    let html = render_html(&sweep, &charts, &svgs, &summaries);
    let markdown = render_markdown(&sweep, &charts, &summaries);
    let plot_dir = dir.join(crate::PLOTS_DIR);
    let jobs: Vec<(Chart, PathBuf)> = charts
        .into_iter()
        .map(|c| (c.chart, plot_dir.join(c.stem)))
        .collect();
    let plots = plots::write_charts(&jobs)?;
    let html_file = output::stage_bytes(&dir.join("report.html"), html.as_bytes())?;
    // A failure to stage the second file must not leave the first one's temporary behind.
    let markdown_file = match output::stage_bytes(&dir.join("report.md"), markdown.as_bytes()) {
        Ok(file) => file,
        Err(error) => {
            output::discard(vec![html_file]);
            return Err(error);
        }
    };
    let written = output::commit_all(vec![html_file, markdown_file])?;
    Ok(ReportFiles {
        html: written[0].clone(),
        markdown: written[1].clone(),
        plots,
    })
}

/// The charts that fit the sweep's axes (see `standard_plots` in lib.rs).
pub(crate) fn standard_charts(sweep: &Sweep) -> Result<Vec<NamedChart>, ReportError> {
    let mut charts = Vec::new();
    let varying: Vec<usize> = (0..sweep.axes.len())
        .filter(|&a| plots::axis_levels(sweep, a).len() > 1)
        .collect();
    let pick = |name: &str| {
        sweep
            .find_column(name)
            .filter(|c| varying.iter().any(|&a| sweep.axes[a] == *c))
    };
    let x = pick("linger.ms").or_else(|| varying.first().map(|&a| sweep.axes[a]));
    if let Some(x) = x {
        let series = pick("batch.size")
            .filter(|s| *s != x)
            .or_else(|| varying.iter().map(|&a| sweep.axes[a]).find(|&c| c != x));
        for metric in ["throughput_records_per_s", "latency_p99_ms"] {
            let Some(y) = sweep.find_column(metric) else {
                continue;
            };
            let spec = LineSpec { x, y, series };
            let chart = plots::line_chart(sweep, &spec)?;
            let caption = format!("{} (mean and 95% CI per configuration).", chart.title);
            charts.push(NamedChart {
                stem: plots::line_stem(sweep, &spec),
                caption,
                chart: Chart::Line(chart),
            });
        }
        // Two numeric axes: heat maps of the grid, one cell per configuration.
        let axis_of = |column: usize| sweep.axes.iter().position(|&c| c == column);
        if let (Some(col), Some(row)) = (axis_of(x), series.and_then(axis_of)) {
            let numeric = |axis: usize| {
                plots::axis_levels(sweep, axis)
                    .iter()
                    .all(|v| v.trim().parse::<f64>().is_ok())
            };
            if numeric(col) && numeric(row) {
                for (metric, title) in plots::GRID_METRICS {
                    if let Some(map) = plots::metric_heatmap(sweep, (row, col), (metric, title))? {
                        let caption = format!("{}. {}", map.title, map.caption);
                        charts.push(NamedChart {
                            stem: plots::heatmap_stem(metric),
                            caption,
                            chart: Chart::Heatmap(map),
                        });
                    }
                }
            }
        }
    }
    // A compression.type axis: one line per codec, for what compression changes.
    if let (Some(x), Some(codec)) = (x, pick("compression.type")) {
        let x = if x == codec {
            varying
                .iter()
                .map(|&a| sweep.axes[a])
                .find(|&c| c != codec)
                .unwrap_or(x)
        } else {
            x
        };
        for metric in [
            "records_per_batch_avg",
            "batch_bytes_per_s",
            "throughput_records_per_s",
            "latency_p99_ms",
            "producer_codec_cpu_ratio",
        ] {
            let Some(y) = sweep.find_column(metric) else {
                continue;
            };
            if x == codec {
                break;
            }
            let spec = LineSpec {
                x,
                y,
                series: Some(codec),
            };
            let chart = plots::line_chart(sweep, &spec)?;
            let caption = format!("{} by compression.type (mean and 95% CI).", chart.title);
            charts.push(NamedChart {
                stem: plots::line_stem(sweep, &spec),
                caption,
                chart: Chart::Line(chart),
            });
        }
    }
    if let Some(trade) = plots::trade_off(sweep)? {
        let caption = "Each dot is one configuration; red dots are Pareto-optimal: no other \
                       configuration has both lower p99 latency and higher throughput."
            .to_owned();
        charts.push(NamedChart {
            stem: "tradeoff_throughput_p99".to_owned(),
            caption,
            chart: Chart::TradeOff(trade),
        });
    }
    if let Some(axes) = plots::heatmap_axes(sweep) {
        for anomaly in plots::ANOMALIES {
            if let Some(map) = plots::heatmap(sweep, &axes, anomaly)? {
                let caption = format!("{}. {}", map.title, map.caption);
                charts.push(NamedChart {
                    stem: plots::heatmap_stem(anomaly.column),
                    caption,
                    chart: Chart::Heatmap(map),
                });
            }
        }
    }
    if let Some(note) = sweep.partial_note() {
        for named in &mut charts {
            named.chart.mark(&format!("partial: {note}"));
        }
    }
    Ok(charts)
}

/// What the report says about one configuration point.
pub(crate) struct PointSummary {
    pub label: String,
    pub replicates: usize,
    pub throughput: Option<Estimate>,
    pub p99: Option<Estimate>,
    /// The delivery settings of the point, as far as the files tell.
    pub config: DeliveryConfig,
    /// Sums over replicates; `None` when no replicate has a value (or the column is absent).
    pub sent: Option<f64>,
    /// Records acknowledged, summed over replicates.
    pub acked: Option<f64>,
    /// The workload's offered rate and the rate of `send()` calls made (records/s).
    pub offered: Option<Estimate>,
    pub send_rate: Option<Estimate>,
    /// The p99 of the `send()` call's own latency (time blocked in `send()`), ms.
    pub send_p99: Option<Estimate>,
    pub lost_acked: Option<f64>,
    pub duplicated: Option<f64>,
    pub reordered: Option<f64>,
    pub failed: Option<f64>,
    /// Records the application was told nothing about (no error) that are missing.
    pub silent_absent: Option<f64>,
    /// Records whose fate was still open when a run ended before replication caught up.
    pub unsettled: Option<f64>,
    /// Distinct run warnings (the `warnings` column), such as silently disabled idempotence.
    pub warnings: Vec<String>,
}

/// A count that is zero when absent, for decisions.
fn n(count: Option<f64>) -> f64 {
    count.unwrap_or(0.0)
}

impl PointSummary {
    /// Whether any record was sent (a configuration Kafka rejects has empty metrics).
    fn ran(&self) -> bool {
        n(self.sent) > 0.0
    }
    /// Whether any record was acknowledged. A configuration in which every send failed has
    /// no latency and keeps no promise, so it never wins a ranking. Results written before the
    /// `records_acked` column existed count by their throughput.
    fn acknowledged(&self) -> bool {
        match self.acked {
            Some(acked) => acked > 0.0,
            None => self.throughput.is_some_and(|t| t.mean > 0.0),
        }
    }
    /// Whether it ran and something was acknowledged: the configurations a ranking may pick.
    fn rankable(&self) -> bool {
        self.ran() && self.acknowledged()
    }
    /// No anomaly of any kind was observed.
    fn clean(&self) -> bool {
        n(self.lost_acked) == 0.0
            && n(self.duplicated) == 0.0
            && n(self.reordered) == 0.0
            && n(self.silent_absent) == 0.0
    }
    /// At-least-once was promised (writes are confirmed and a failed send is retried, or
    /// idempotence is on) and held.
    fn at_least_once_held(&self) -> bool {
        self.rankable()
            && n(self.unsettled) == 0.0
            && matches!(
                self.config.promise(),
                Promise::AtLeastOnce | Promise::ExactlyOnceInOrder
            )
            && n(self.lost_acked) == 0.0
    }
    /// Exactly once, in order, per partition was promised (idempotence on, acks=all) and held.
    fn exactly_once_held(&self) -> bool {
        self.rankable()
            && n(self.unsettled) == 0.0
            && self.config.promise() == Promise::ExactlyOnceInOrder
            && self.clean()
    }
}

fn summarise(sweep: &Sweep) -> Result<Vec<PointSummary>, ReportError> {
    let column_sum = |point: &Point, name: &str| -> Result<Option<f64>, ReportError> {
        let Some(c) = sweep.find_column(name) else {
            return Ok(None);
        };
        let values = sweep.values(point, c)?;
        // `+ 0.0` turns the -0.0 an empty f64 sum starts from into 0.
        Ok((!values.is_empty()).then(|| values.iter().sum::<f64>() + 0.0))
    };
    let column_estimate = |point: &Point, name: &str| -> Result<Option<Estimate>, ReportError> {
        match sweep.find_column(name) {
            Some(c) => Ok(stats::estimate(&sweep.values(point, c)?)),
            None => Ok(None),
        }
    };
    let producer = ExperimentProducer::from_files(&sweep.experiment_files);
    let mut out = Vec::with_capacity(sweep.points.len());
    for point in &sweep.points {
        let warnings = point_warnings(sweep, point);
        out.push(PointSummary {
            label: sweep.point_label(point),
            replicates: point.rows.len(),
            throughput: column_estimate(point, "throughput_records_per_s")?,
            p99: column_estimate(point, "latency_p99_ms")?,
            config: guarantee::point_config(sweep, point, &producer, &warnings),
            sent: column_sum(point, "records_sent")?,
            acked: column_sum(point, "records_acked")?,
            offered: column_estimate(point, "offered_records_per_s")?,
            send_rate: column_estimate(point, "send_rate_records_per_s")?,
            send_p99: column_estimate(point, "send_latency_p99_ms")?,
            lost_acked: column_sum(point, "lost_acked")?,
            duplicated: column_sum(point, "duplicated")?,
            reordered: column_sum(point, "reordered")?,
            failed: column_sum(point, "records_failed")?,
            silent_absent: column_sum(point, "silent_absent")?,
            unsettled: column_sum(point, "unsettled")?,
            warnings,
        });
    }
    Ok(out)
}

/// The distinct non-empty warnings of a point's runs (`; `-separated in each cell).
fn point_warnings(sweep: &Sweep, point: &Point) -> Vec<String> {
    let Some(column) = sweep.find_column("warnings") else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    for &row in &point.rows {
        let cell = sweep.rows[row].cells.get(column).map_or("", String::as_str);
        for warning in cell.split("; ").map(str::trim).filter(|w| !w.is_empty()) {
            if !out.iter().any(|w| w == warning) {
                out.push(warning.to_owned());
            }
        }
    }
    out
}

/// "its run", "both runs" or "all N runs".
fn runs_phrase(replicates: usize) -> String {
    match replicates {
        1 => "its run".to_owned(),
        2 => "both runs".to_owned(),
        n => format!("all {n} runs"),
    }
}

/// What was observed, as a list of anomalies, or "no anomaly".
fn observed(p: &PointSummary) -> String {
    let mut parts = Vec::new();
    for (count, what) in [
        (p.lost_acked, "acknowledged records lost"),
        (
            p.silent_absent,
            "unacknowledged records missing without an error",
        ),
        (p.duplicated, "records written more than once"),
        (p.reordered, "records out of send order within a partition"),
    ] {
        if n(count) > 0.0 {
            parts.push(format!("{} {what}", n(count)));
        }
    }
    if parts.is_empty() {
        format!("no anomaly in {}", runs_phrase(p.replicates))
    } else {
        parts.join(", ")
    }
}

/// A plain-language verdict: the guarantee the configuration promises, checked against what its
/// runs observed. Nothing is claimed for a configuration the files do not fully describe.
pub(crate) fn verdict(p: &PointSummary) -> String {
    if !p.ran() {
        return "n/a: no records were sent (see the run warnings; Kafka may reject this \
                configuration)."
            .to_owned();
    }
    if !p.acknowledged() {
        return format!(
            "n/a: no record was acknowledged ({} sent, {} failed), so there is no latency and \
             no guarantee to judge (see the run warnings for the error).",
            n(p.sent),
            n(p.failed)
        );
    }
    let mut text = match p.config.promise() {
        Promise::Unconfirmed => unconfirmed_verdict(p),
        _ if n(p.lost_acked) > 0.0 => format!(
            "Broke at-least-once: {} acknowledged records are missing from the final logs (the \
             producer was told they were written).",
            n(p.lost_acked)
        ),
        _ if n(p.unsettled) > 0.0 => format!(
            "Not established: {} records were neither committed nor gone when a run reached its \
             settle bound (replication had not caught up; raise [run] settle_ms); observed {}.",
            n(p.unsettled),
            observed(p)
        ),
        Promise::ExactlyOnceInOrder if p.clean() => format!(
            "Exactly once, in order, per partition (idempotence on, acks=all): no loss, \
             duplicate or reordering in {}.",
            runs_phrase(p.replicates)
        ),
        Promise::ExactlyOnceInOrder => format!(
            "Broke exactly-once despite idempotence on and acks=all: observed {}.",
            observed(p)
        ),
        Promise::AtLeastOnce => at_least_once_verdict(p),
        Promise::NoResend => format!(
            "At most once per send (idempotence off, retries=0): every acknowledged record was \
             kept, and a failed send is not retried; observed {}.",
            observed(p)
        ),
        Promise::Unknown => format!(
            "No guarantee claimed (acks, enable.idempotence or retries is not known from the \
             results directory); observed: {}.",
            observed(p)
        ),
    };
    if p.config.acks == Some(Acks::One) && n(p.lost_acked) == 0.0 {
        text.push_str(
            " With acks=1 only the leader has a record when it is acknowledged, so a leader \
             failover can lose it.",
        );
    }
    if n(p.failed) > 0.0 {
        text.push_str(&format!(
            " {} sends were reported failed to the application (not a broken guarantee).",
            n(p.failed)
        ));
    }
    text
}

fn unconfirmed_verdict(p: &PointSummary) -> String {
    let missing = match p.silent_absent {
        Some(count) if count > 0.0 => format!(
            "{count} records the application was given no error for are missing from the logs"
        ),
        Some(_) => format!("none went missing in {}", runs_phrase(p.replicates)),
        None => "the results do not count unconfirmed missing records".to_owned(),
    };
    format!(
        "At most once (acks=0): the producer waits for no answer, so nothing is confirmed and \
         at-least-once is never promised; {missing}."
    )
}

fn at_least_once_verdict(p: &PointSummary) -> String {
    let mut text = String::from(
        "At least once (idempotence off, retries > 0): every acknowledged record was kept, but a \
         retry can write a record twice",
    );
    match n(p.duplicated) {
        0.0 => text.push_str(&format!(" (no duplicate in {})", runs_phrase(p.replicates))),
        d => text.push_str(&format!(": {d} records were written more than once")),
    }
    if n(p.reordered) > 0.0 {
        text.push_str(&format!(
            "; {} records landed out of send order within a partition",
            n(p.reordered)
        ));
    } else if p.config.may_reorder() {
        text.push_str("; with more than one request in flight a retry can also reorder records");
    }
    text.push('.');
    text
}

/// A stated constraint for the best-configuration table.
struct Constraint {
    text: String,
    admits: Box<dyn Fn(&PointSummary) -> bool>,
    goal: Goal,
}

#[derive(Clone, Copy)]
enum Goal {
    MaxThroughput,
    MinP99,
}

fn constraints(summaries: &[PointSummary]) -> Vec<Constraint> {
    let mut p99s: Vec<f64> = summaries
        .iter()
        .filter_map(|s| s.p99.map(|e| e.mean))
        .collect();
    p99s.sort_by(f64::total_cmp);
    let median = p99s.get(p99s.len() / 2).copied().unwrap_or(0.0);
    let at_least_once = "at-least-once kept (acks=1 or all with retries > 0, or idempotence \
                         on; no acknowledged record lost)";
    let exactly_once = "exactly once, in order (idempotence on, acks=all, and no loss, \
                        duplicate or reordering observed)";
    vec![
        Constraint {
            text: "highest throughput, no constraint".to_owned(),
            admits: Box::new(PointSummary::rankable),
            goal: Goal::MaxThroughput,
        },
        Constraint {
            text: format!("highest throughput with {at_least_once}"),
            admits: Box::new(PointSummary::at_least_once_held),
            goal: Goal::MaxThroughput,
        },
        Constraint {
            text: format!(
                "highest throughput with mean p99 <= {median:.3} ms (the median over configurations) and {at_least_once}"
            ),
            admits: Box::new(move |s| {
                s.at_least_once_held() && s.p99.is_some_and(|e| e.mean <= median)
            }),
            goal: Goal::MaxThroughput,
        },
        Constraint {
            text: format!("highest throughput with {exactly_once}"),
            admits: Box::new(PointSummary::exactly_once_held),
            goal: Goal::MaxThroughput,
        },
        Constraint {
            text: format!("highest throughput with {exactly_once} and no failed sends"),
            admits: Box::new(|s| s.exactly_once_held() && n(s.failed) == 0.0),
            goal: Goal::MaxThroughput,
        },
        Constraint {
            text: format!("lowest p99 latency with {at_least_once}"),
            admits: Box::new(PointSummary::at_least_once_held),
            goal: Goal::MinP99,
        },
    ]
}

fn best<'a>(summaries: &'a [PointSummary], c: &Constraint) -> Option<&'a PointSummary> {
    let candidates = summaries.iter().filter(|s| (c.admits)(s));
    match c.goal {
        // Ties (a sweep at a fixed offered load often has many) go to the lower p99, then
        // to the higher throughput; `min_by` keeps the first of equal configurations.
        Goal::MaxThroughput => candidates
            .filter(|s| s.throughput.is_some())
            .min_by(|a, b| {
                mean(b.throughput)
                    .total_cmp(&mean(a.throughput))
                    .then(mean_or_max(a.p99).total_cmp(&mean_or_max(b.p99)))
            }),
        Goal::MinP99 => candidates.filter(|s| s.p99.is_some()).min_by(|a, b| {
            mean(a.p99)
                .total_cmp(&mean(b.p99))
                .then(mean(b.throughput).total_cmp(&mean(a.throughput)))
        }),
    }
}

fn mean(e: Option<Estimate>) -> f64 {
    e.map_or(f64::NAN, |e| e.mean)
}

fn mean_or_max(e: Option<Estimate>) -> f64 {
    e.map_or(f64::MAX, |e| e.mean)
}

fn show(e: Option<Estimate>, decimals: usize) -> String {
    match e {
        Some(e) if e.count > 1 => {
            format!("{:.*} ± {:.*}", decimals, e.mean, decimals, e.half_width)
        }
        Some(e) => format!("{:.*}", decimals, e.mean),
        None => "n/a".to_owned(),
    }
}

/// Rows of the best-configuration table: constraint, config, throughput, p99, verdict.
fn best_rows(summaries: &[PointSummary]) -> Vec<Vec<String>> {
    constraints(summaries)
        .iter()
        .map(|c| match best(summaries, c) {
            Some(s) => vec![
                c.text.clone(),
                s.label.clone(),
                show(s.throughput, 0),
                show(s.p99, 3),
                load_cell(s),
                show(s.send_p99, 3),
                verdict(s),
            ],
            None => vec![
                c.text.clone(),
                "no configuration meets this".to_owned(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ],
        })
        .collect()
}

/// Where the verdicts take the producer settings from, and the limit of that.
const SOURCES_NOTE: &str = "Guarantees are judged from each configuration's acks, \
    enable.idempotence, retries and max.in.flight.requests.per.connection: the sweep axes, else \
    the experiment copy in this directory (experiment.toml, which holds the sections as swept, \
    command-line --set overrides included), else Kafka's defaults; where a value cannot be \
    known, only what the runs observed is reported.";

const BEST_HEADER: [&str; 7] = [
    "constraint",
    "configuration",
    "throughput (records/s)",
    "p99 latency (ms)",
    "offered / sent (records/s)",
    "p99 send() call (ms)",
    "guarantees",
];

/// The offered rate against the rate of `send()` calls made, marked when the offered load was
/// not met (the application fell behind: its records waited before `send()`, a delay no
/// latency column includes).
fn load_cell(s: &PointSummary) -> String {
    let (Some(offered), Some(sent)) = (s.offered, s.send_rate) else {
        return match s.send_rate {
            Some(sent) => format!("closed loop / {:.0}", sent.mean),
            None => "n/a".to_owned(),
        };
    };
    let mark = if sent.mean < 0.95 * offered.mean {
        " (offered load not met)"
    } else {
        ""
    };
    format!("{:.0} / {:.0}{mark}", offered.mean, sent.mean)
}
const GUARANTEE_HEADER: [&str; 9] = [
    "configuration",
    "records sent",
    "acked but lost",
    "missing, no error",
    "duplicated",
    "reordered",
    "failed",
    "verdict",
    "run warnings",
];

/// A summed count for a table cell; "n/a" when no replicate had a value.
fn count(value: Option<f64>) -> String {
    value.map_or_else(|| "n/a".to_owned(), |v| format!("{v}"))
}

fn guarantee_rows(summaries: &[PointSummary]) -> Vec<Vec<String>> {
    summaries
        .iter()
        .map(|s| {
            vec![
                s.label.clone(),
                count(s.sent),
                count(s.lost_acked),
                count(s.silent_absent),
                count(s.duplicated),
                count(s.reordered),
                count(s.failed),
                verdict(s),
                s.warnings.join("; "),
            ]
        })
        .collect()
}

/// Two or three sentences over the whole sweep, one class of configuration each.
fn overview(summaries: &[PointSummary]) -> String {
    let ran: Vec<&PointSummary> = summaries.iter().filter(|s| s.rankable()).collect();
    let count = |f: &dyn Fn(&PointSummary) -> bool| ran.iter().filter(|s| f(s)).count();
    let exactly = count(&PointSummary::exactly_once_held);
    let at_least =
        count(&|s| s.at_least_once_held() && s.config.promise() != Promise::ExactlyOnceInOrder);
    let broke = count(&|s| n(s.lost_acked) > 0.0);
    let acks0 = count(&|s| s.config.promise() == Promise::Unconfirmed);
    let acks0_missing =
        count(&|s| s.config.promise() == Promise::Unconfirmed && n(s.silent_absent) > 0.0);
    let no_resend = count(&|s| s.config.promise() == Promise::NoResend && n(s.lost_acked) == 0.0);
    let unknown = count(&|s| s.config.promise() == Promise::Unknown && n(s.lost_acked) == 0.0);
    let mut text = format!(
        "Of {} configurations that ran and had records acknowledged, {exactly} kept exactly once, in order (idempotence on, \
         acks=all); {at_least} kept at-least-once (idempotence off, retries > 0, no \
         acknowledged record lost; duplicates and reordering are counted per configuration \
         below); {broke} lost acknowledged records (at-least-once broken).",
        ran.len()
    );
    if no_resend > 0 {
        text.push_str(&format!(
            " {no_resend} had retries=0 without idempotence: at most once per send, with every \
             acknowledged record kept."
        ));
    }
    if acks0 > 0 {
        text.push_str(&format!(
            " {acks0} used acks=0, which promises at most once: nothing is confirmed \
             ({acks0_missing} of them lost records without an error)."
        ));
    }
    if unknown > 0 {
        text.push_str(&format!(
            " For {unknown} the results do not tell acks, enable.idempotence and retries, so \
             only what was observed is reported."
        ));
    }
    match summaries.len() - ran.len() {
        0 => {}
        skipped => text.push_str(&format!(
            " {skipped} more configurations sent no records or had none acknowledged, and are \
             neither judged nor ranked."
        )),
    }
    text
}

fn labelled_headers(headers: &[&str]) -> Vec<String> {
    headers.iter().map(|h| (*h).to_owned()).collect()
}

fn config_text(sweep: &Sweep) -> Vec<(String, String)> {
    let mut out = vec![(
        crate::MANIFEST_FILE.to_owned(),
        serde_json::to_string_pretty(&sweep.manifest)
            .unwrap_or_else(|_| sweep.manifest.to_string()),
    )];
    out.extend(sweep.experiment_files.iter().cloned());
    out
}

const STYLE: &str = "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}\
table{border-collapse:collapse;margin:1em 0;font-size:14px}td,th{border:1px solid #bbb;padding:4px 8px;vertical-align:top}\
th{background:#eee}pre{background:#f6f6f6;padding:1em;overflow:auto;font-size:13px}\
figure{margin:1.5em 0}figure svg{max-width:100%;height:auto}figcaption{color:#555;font-size:14px}";

fn render_html(
    sweep: &Sweep,
    charts: &[NamedChart],
    svgs: &[String],
    summaries: &[PointSummary],
) -> String {
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str(&format!(
        "<title>linger report: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape_html(&title(sweep))
    ));
    h.push_str(&format!(
        "<h1>linger sweep report: {}</h1>\n",
        escape_html(&title(sweep))
    ));
    if let Some(partial) = sweep.completeness() {
        h.push_str(&format!(
            "<p><strong>{}</strong></p>\n",
            escape_html(&capitalised(&partial))
        ));
    }
    h.push_str(&format!("<p>{}</p>\n", escape_html(&overview(summaries))));
    h.push_str(&format!(
        "<h2>{}</h2>\n<table>\n",
        escape_html(&best_heading(sweep))
    ));
    h.push_str(&html_row(&labelled_headers(&BEST_HEADER), "th"));
    for row in best_rows(summaries) {
        h.push_str(&html_row(&row, "td"));
    }
    h.push_str("</table>\n<p>Throughput and latency are means over replicates with 95% confidence intervals; loss, duplicate and reordering counts are summed over replicates.</p>\n<h2>Plots</h2>\n");
    for (named, svg) in charts.iter().zip(svgs) {
        h.push_str(&format!(
            "<figure id=\"{}\">\n{svg}\n<figcaption>{}</figcaption>\n</figure>\n",
            escape_html(&named.stem),
            escape_html(&named.caption)
        ));
    }
    h.push_str("<h2>Delivery guarantees per configuration</h2>\n<table>\n");
    h.push_str(&html_row(&labelled_headers(&GUARANTEE_HEADER), "th"));
    for row in guarantee_rows(summaries) {
        h.push_str(&html_row(&row, "td"));
    }
    h.push_str(&format!("</table>\n<p>{}</p>\n", escape_html(SOURCES_NOTE)));
    h.push_str("<h2>Experiment configuration</h2>\n");
    for (name, text) in config_text(sweep) {
        h.push_str(&format!(
            "<h3>{}</h3>\n<pre>{}</pre>\n",
            escape_html(&name),
            escape_html(&text)
        ));
    }
    h.push_str("</body>\n</html>\n");
    h
}

fn render_markdown(sweep: &Sweep, charts: &[NamedChart], summaries: &[PointSummary]) -> String {
    let mut m = format!("# linger sweep report: {}\n\n", title(sweep));
    if let Some(partial) = sweep.completeness() {
        m.push_str(&format!("**{}**\n\n", capitalised(&partial)));
    }
    m.push_str(&format!("{}\n\n", overview(summaries)));
    m.push_str(&format!("## {}\n\n", best_heading(sweep)));
    m.push_str(&md_table(&BEST_HEADER, &best_rows(summaries)));
    m.push_str("\nThroughput and latency are means over replicates with 95% confidence intervals.\n\n## Plots\n\n");
    for named in charts {
        m.push_str(&format!(
            "![{}]({}/{}.png)\n\n{}\n\n",
            named.stem,
            crate::PLOTS_DIR,
            named.stem,
            named.caption
        ));
    }
    m.push_str("## Delivery guarantees per configuration\n\n");
    m.push_str(&md_table(&GUARANTEE_HEADER, &guarantee_rows(summaries)));
    m.push_str(&format!(
        "\n{SOURCES_NOTE}\n\n## Experiment configuration\n"
    ));
    for (name, text) in config_text(sweep) {
        let fence = if name.ends_with(".json") {
            "json"
        } else {
            "toml"
        };
        m.push_str(&format!(
            "\n### {name}\n\n```{fence}\n{}\n```\n",
            text.trim_end()
        ));
    }
    m
}

/// The ranking's heading, naming a partial directory.
fn best_heading(sweep: &Sweep) -> String {
    match sweep.completeness() {
        Some(_) => format!(
            "Best configurations under stated constraints (partial: over {} of {} points)",
            sweep.points.len(),
            sweep
                .manifest
                .get("point_count")
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0)
        ),
        None => "Best configurations under stated constraints".to_owned(),
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

fn md_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = md_row(&labelled_headers(header));
    out.push_str(&format!("|{}\n", "---|".repeat(header.len())));
    for row in rows {
        out.push_str(&md_row(row));
    }
    out
}

fn title(sweep: &Sweep) -> String {
    ["name", "experiment", "title"]
        .iter()
        .find_map(|k| sweep.manifest.get(*k).and_then(serde_json::Value::as_str))
        .map(str::to_owned)
        .unwrap_or_else(|| {
            sweep
                .dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(config: DeliveryConfig, throughput: f64) -> PointSummary {
        let estimate = |mean| {
            Some(Estimate {
                mean,
                half_width: 0.0,
                count: 1,
            })
        };
        PointSummary {
            label: format!("t={throughput}"),
            replicates: 2,
            throughput: estimate(throughput),
            p99: estimate(10.0),
            config,
            sent: Some(100.0),
            acked: Some(100.0),
            offered: estimate(1000.0),
            send_rate: estimate(1000.0),
            send_p99: estimate(0.0),
            lost_acked: Some(0.0),
            duplicated: Some(0.0),
            reordered: Some(0.0),
            failed: Some(0.0),
            silent_absent: Some(0.0),
            unsettled: Some(0.0),
            warnings: Vec::new(),
        }
    }

    fn config(acks: Acks, idempotence: bool) -> DeliveryConfig {
        DeliveryConfig {
            acks: Some(acks),
            enable_idempotence: Some(idempotence),
            retries: Some(2_147_483_647),
            max_in_flight: Some(5),
        }
    }

    #[test]
    fn acks0_is_at_most_once_even_when_nothing_was_lost() {
        let mut s = summary(config(Acks::Zero, false), 1.0);
        let text = verdict(&s);
        assert!(text.starts_with("At most once (acks=0)"), "{text}");
        assert!(!text.contains("at-least-once held"), "{text}");
        assert!(text.contains("none went missing"), "{text}");
        s.silent_absent = Some(3.0);
        assert!(verdict(&s).contains("3 records the application was given no error for"));
        assert!(!s.at_least_once_held() && !s.exactly_once_held());
    }

    #[test]
    fn idempotence_off_with_retries_is_at_least_once_at_best() {
        let s = summary(config(Acks::All, false), 1.0);
        let text = verdict(&s);
        assert!(text.starts_with("At least once (idempotence off"), "{text}");
        assert!(text.contains("can also reorder"), "{text}");
        assert!(s.at_least_once_held() && !s.exactly_once_held());
        let no_retries = summary(
            DeliveryConfig {
                retries: Some(0),
                ..config(Acks::All, false)
            },
            1.0,
        );
        assert!(verdict(&no_retries).starts_with("At most once per send"));
        assert!(
            !no_retries.at_least_once_held(),
            "retries=0 is at most once"
        );
        let s = summary(config(Acks::All, true), 1.0);
        assert!(verdict(&s).starts_with("Exactly once, in order, per partition"));
        assert!(s.exactly_once_held());
    }

    #[test]
    fn an_unsettled_point_establishes_no_guarantee() {
        let mut s = summary(config(Acks::All, true), 1.0);
        s.unsettled = Some(4.0);
        let text = verdict(&s);
        assert!(text.starts_with("Not established: 4 records"), "{text}");
        assert!(text.contains("settle_ms"), "{text}");
        assert!(!s.exactly_once_held() && !s.at_least_once_held());
        s.lost_acked = Some(1.0);
        assert!(
            verdict(&s).starts_with("Broke at-least-once"),
            "a loss is a loss"
        );
    }

    #[test]
    fn unknown_configuration_claims_no_guarantee() {
        let s = summary(DeliveryConfig::default(), 1.0);
        let text = verdict(&s);
        assert!(text.starts_with("No guarantee claimed"), "{text}");
        assert!(text.contains("observed: no anomaly in both runs"), "{text}");
    }

    #[test]
    fn rows_without_records_print_n_a_not_minus_zero() {
        let mut s = summary(config(Acks::All, true), 1.0);
        s.sent = None;
        s.lost_acked = None;
        let rows = guarantee_rows(&[s]);
        assert_eq!(rows[0][1], "n/a");
        assert_eq!(rows[0][2], "n/a");
        assert!(rows[0][7].starts_with("n/a:"), "{}", rows[0][7]);
        assert!(!rows[0].iter().any(|cell| cell == "-0"));
    }

    #[test]
    fn best_configurations_meet_their_constraint() {
        // acks=0 is the fastest, as in the audit; only "no constraint" may pick it.
        let summaries = vec![
            summary(config(Acks::Zero, false), 300.0),
            summary(config(Acks::One, false), 200.0),
            summary(config(Acks::All, true), 100.0),
        ];
        let rows = best_rows(&summaries);
        assert_eq!(rows[0][1], "t=300");
        assert_eq!(rows[1][1], "t=200", "at-least-once needs acks=1 or all");
        assert_eq!(
            rows[3][1], "t=100",
            "exactly once, in order needs idempotence"
        );
        assert_eq!(rows[4][1], "t=100");
        for row in &rows[1..] {
            assert_ne!(row[1], "t=300", "{row:?}");
        }
    }

    #[test]
    fn a_configuration_where_every_send_failed_never_wins_a_ranking() {
        // The fastest-looking point acknowledged nothing (every send was RecordTooLarge): it
        // has no p99 and claims no guarantee, so no constraint picks it.
        let mut failed = summary(config(Acks::All, true), 0.0);
        failed.label = "value_bytes=2000000".to_owned();
        failed.acked = Some(0.0);
        failed.failed = Some(100.0);
        failed.p99 = None;
        let ok = summary(config(Acks::All, true), 50.0);
        let rows = best_rows(&[failed, ok]);
        for row in &rows {
            assert_ne!(row[1], "value_bytes=2000000", "{row:?}");
        }
        let mut failed = summary(config(Acks::All, true), 0.0);
        failed.acked = Some(0.0);
        assert!(verdict(&failed).starts_with("n/a: no record was acknowledged"));
        assert!(!failed.exactly_once_held());
        let rows = best_rows(&[failed]);
        assert!(
            rows.iter()
                .all(|row| row[1] == "no configuration meets this")
        );
    }
}
