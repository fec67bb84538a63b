//! The sweep report: one self-contained HTML page (inline SVG plots and CSS, no scripts or
//! network fetches) and a Markdown twin that links the PNG plots, with the experiment's
//! configuration, the best configurations under stated constraints, and which delivery
//! guarantee each configuration kept or broke.

use std::path::{Path, PathBuf};

use crate::error::ReportError;
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
    let staged = vec![
        output::stage_bytes(&dir.join("report.html"), html.as_bytes())?,
        output::stage_bytes(&dir.join("report.md"), markdown.as_bytes())?,
    ];
    let written = output::commit_all(staged)?;
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
        for (metric, stem) in [
            ("throughput_records_per_s", "throughput"),
            ("latency_p99_ms", "latency_p99"),
        ] {
            let Some(y) = sweep.find_column(metric) else {
                continue;
            };
            let chart = plots::line_chart(sweep, &LineSpec { x, y, series })?;
            let caption = format!("{} (mean and 95% CI per configuration).", chart.title);
            charts.push(NamedChart {
                stem: format!("{stem}_vs_{}", file_part(&sweep.columns[x])),
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
                    stem: anomaly.stem.to_owned(),
                    caption,
                    chart: Chart::Heatmap(map),
                });
            }
        }
    }
    Ok(charts)
}

fn file_part(column: &str) -> String {
    crate::sweep::short_name(column)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// What the report says about one configuration point.
pub(crate) struct PointSummary {
    pub label: String,
    pub replicates: usize,
    pub throughput: Option<Estimate>,
    pub p99: Option<Estimate>,
    pub sent: f64,
    pub lost_acked: f64,
    pub duplicated: f64,
    pub reordered: f64,
    pub failed: f64,
    /// Distinct run warnings (the `warnings` column), such as silently disabled idempotence.
    pub warnings: Vec<String>,
}

impl PointSummary {
    /// Whether any record was sent (a configuration Kafka rejects has empty metrics).
    fn ran(&self) -> bool {
        self.sent > 0.0
    }
    fn keeps_acked(&self) -> bool {
        self.ran() && self.lost_acked == 0.0
    }
    fn exactly_once_in_order(&self) -> bool {
        self.keeps_acked() && self.duplicated == 0.0 && self.reordered == 0.0
    }
}

fn summarise(sweep: &Sweep) -> Result<Vec<PointSummary>, ReportError> {
    let column_sum = |point: &Point, name: &str| -> Result<f64, ReportError> {
        match sweep.find_column(name) {
            Some(c) => Ok(sweep.values(point, c)?.iter().sum()),
            None => Ok(0.0),
        }
    };
    let column_estimate = |point: &Point, name: &str| -> Result<Option<Estimate>, ReportError> {
        match sweep.find_column(name) {
            Some(c) => Ok(stats::estimate(&sweep.values(point, c)?)),
            None => Ok(None),
        }
    };
    let mut out = Vec::with_capacity(sweep.points.len());
    for point in &sweep.points {
        out.push(PointSummary {
            label: sweep.point_label(point),
            replicates: point.rows.len(),
            throughput: column_estimate(point, "throughput_records_per_s")?,
            p99: column_estimate(point, "latency_p99_ms")?,
            sent: column_sum(point, "records_sent")?,
            lost_acked: column_sum(point, "lost_acked")?,
            duplicated: column_sum(point, "duplicated")?,
            reordered: column_sum(point, "reordered")?,
            failed: column_sum(point, "records_failed")?,
            warnings: point_warnings(sweep, point),
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

/// A plain-language verdict on which guarantee a configuration kept.
pub(crate) fn verdict(p: &PointSummary) -> String {
    let runs = if p.replicates == 1 {
        "its run".to_owned()
    } else if p.replicates == 2 {
        "both runs".to_owned()
    } else {
        format!("all {} runs", p.replicates)
    };
    if !p.ran() {
        return "Not judged: no records were sent (see the run warnings; Kafka may reject this \
                configuration)."
            .to_owned();
    }
    if p.lost_acked > 0.0 {
        return format!(
            "Broke at-least-once: {} acknowledged records are missing from the final logs (the \
             producer was told they were written).",
            p.lost_acked
        );
    }
    let mut text = String::from("Kept every acknowledged record (at-least-once held)");
    if p.duplicated > 0.0 {
        text.push_str(&format!(
            ", but {} records were written more than once, so not exactly-once",
            p.duplicated
        ));
    } else {
        text.push_str(&format!(" with no duplicates in {runs}"));
    }
    if p.reordered > 0.0 {
        text.push_str(&format!(
            "; {} records landed out of send order within a partition",
            p.reordered
        ));
    }
    text.push('.');
    if p.failed > 0.0 {
        text.push_str(&format!(
            " {} sends were reported failed to the application (not a broken guarantee).",
            p.failed
        ));
    }
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
    vec![
        Constraint {
            text: "highest throughput, no constraint".to_owned(),
            admits: Box::new(|_| true),
            goal: Goal::MaxThroughput,
        },
        Constraint {
            text: "highest throughput with zero acknowledged loss".to_owned(),
            admits: Box::new(PointSummary::keeps_acked),
            goal: Goal::MaxThroughput,
        },
        Constraint {
            text: format!(
                "highest throughput with mean p99 <= {median:.3} ms (the median over configurations) and zero acknowledged loss"
            ),
            admits: Box::new(move |s| s.keeps_acked() && s.p99.is_some_and(|e| e.mean <= median)),
            goal: Goal::MaxThroughput,
        },
        Constraint {
            text: "highest throughput with no loss, no duplicates and no reordering".to_owned(),
            admits: Box::new(PointSummary::exactly_once_in_order),
            goal: Goal::MaxThroughput,
        },
        Constraint {
            text: "highest throughput with every record written exactly once, in order, and no \
                   failed sends"
                .to_owned(),
            admits: Box::new(|s| s.exactly_once_in_order() && s.failed == 0.0),
            goal: Goal::MaxThroughput,
        },
        Constraint {
            text: "lowest p99 latency with zero acknowledged loss".to_owned(),
            admits: Box::new(PointSummary::keeps_acked),
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
                verdict(s),
            ],
            None => vec![
                c.text.clone(),
                "no configuration meets this".to_owned(),
                String::new(),
                String::new(),
                String::new(),
            ],
        })
        .collect()
}

const BEST_HEADER: [&str; 5] = [
    "constraint",
    "configuration",
    "throughput (records/s)",
    "p99 latency (ms)",
    "guarantees",
];
const GUARANTEE_HEADER: [&str; 8] = [
    "configuration",
    "records sent",
    "acked but lost",
    "duplicated",
    "reordered",
    "failed",
    "verdict",
    "run warnings",
];

fn guarantee_rows(summaries: &[PointSummary]) -> Vec<Vec<String>> {
    summaries
        .iter()
        .map(|s| {
            vec![
                s.label.clone(),
                format!("{}", s.sent),
                format!("{}", s.lost_acked),
                format!("{}", s.duplicated),
                format!("{}", s.reordered),
                format!("{}", s.failed),
                verdict(s),
                s.warnings.join("; "),
            ]
        })
        .collect()
}

/// Two or three sentences over the whole sweep.
fn overview(summaries: &[PointSummary]) -> String {
    let total = summaries.iter().filter(|s| s.ran()).count();
    let not_run = summaries.len() - total;
    let lost = summaries
        .iter()
        .filter(|s| s.ran() && !s.keeps_acked())
        .count();
    let dup = summaries
        .iter()
        .filter(|s| s.keeps_acked() && s.duplicated > 0.0)
        .count();
    let clean = summaries
        .iter()
        .filter(|s| s.exactly_once_in_order())
        .count();
    let reordered = summaries.iter().filter(|s| s.reordered > 0.0).count();
    let skipped = match not_run {
        0 => String::new(),
        n => format!(" {n} more configurations sent no records and are not judged."),
    };
    format!(
        "Of {total} configurations that ran, {clean} delivered every record exactly once and in order in all \
         replicates. {lost} lost records the producer had acknowledged (at-least-once broken) and \
         {dup} more kept every acknowledged record but wrote duplicates (at-least-once, not \
         exactly-once). {reordered} showed reordering within a partition.{skipped}"
    )
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
    h.push_str(&format!("<p>{}</p>\n", escape_html(&overview(summaries))));
    h.push_str("<h2>Best configurations under stated constraints</h2>\n<table>\n");
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
    h.push_str("</table>\n<h2>Experiment configuration</h2>\n");
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
    let mut m = format!(
        "# linger sweep report: {}\n\n{}\n\n",
        title(sweep),
        overview(summaries)
    );
    m.push_str("## Best configurations under stated constraints\n\n");
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
    m.push_str("\n## Experiment configuration\n");
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
