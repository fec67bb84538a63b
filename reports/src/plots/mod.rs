//! Plots of a sweep's results: line plots with 95% intervals, the throughput/latency trade-off
//! with its Pareto front, and heatmaps of anomaly rates; each written as SVG and PNG.
//!
//! Building a chart (this file) is separate from drawing it (`draw.rs`), so the report can embed
//! the very SVG that the files hold.

mod draw;

use std::path::{Path, PathBuf};

use plotters::prelude::{BitMapBackend, IntoDrawingArea, SVGBackend};

use crate::error::ReportError;
use crate::output::{self, Staged};
use crate::stats;
use crate::sweep::{Point, Sweep, short_name};

/// Pixel size of line and scatter plots.
const PLOT_SIZE: (u32, u32) = (960, 600);
/// Pixel width of one heatmap panel, and the height of a heatmap figure.
const PANEL_SIZE: (u32, u32) = (420, 460);

/// How the x axis is laid out.
#[derive(Clone, Debug)]
pub(crate) enum XScale {
    /// Values are numbers, placed proportionally.
    Numeric,
    /// Values are names (or numbers spaced evenly), placed at 0, 1, 2, ...
    Categories(Vec<String>),
}

/// How a numeric axis's values are best spread: proportionally, on a log2 scale (each value
/// a constant multiple of the one before, such as a doubling `batch.size`), or evenly as
/// ordered levels (values over a wide range with a 0, such as `linger.ms` 0, 1, 5 ... 100,
/// where a linear axis would crowd the small ones).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Spread {
    Linear,
    Log2,
    Even,
}

/// The [`Spread`] of sorted numeric levels.
pub(crate) fn spread_of(levels: &[f64]) -> Spread {
    if levels.len() < 3 {
        return Spread::Linear;
    }
    let positive = levels.iter().all(|v| *v > 0.0);
    if positive {
        let ratios: Vec<f64> = levels.windows(2).map(|w| w[1] / w[0]).collect();
        let first = ratios[0];
        if first >= 1.5 && ratios.iter().all(|r| (r / first - 1.0).abs() < 0.01) {
            return Spread::Log2;
        }
    }
    let smallest = levels
        .iter()
        .copied()
        .filter(|v| *v > 0.0)
        .fold(f64::MAX, f64::min);
    let largest = levels.iter().copied().fold(f64::MIN, f64::max);
    if smallest < f64::MAX && largest / smallest >= 20.0 {
        return Spread::Even;
    }
    Spread::Linear
}

/// A tick label for a numeric level: sizes in bytes of a power of two as KiB or MiB.
pub(crate) fn level_label(column: &str, level: &str) -> String {
    let bytes = short_name(column).ends_with(".size")
        || short_name(column).ends_with(".bytes")
        || short_name(column).ends_with(".memory");
    match level.trim().parse::<u64>() {
        Ok(v) if bytes && v >= 1024 && v % 1024 == 0 => {
            if v >= 1 << 20 && v % (1 << 20) == 0 {
                format!("{} MiB", v >> 20)
            } else {
                format!("{} KiB", v >> 10)
            }
        }
        _ => level.to_owned(),
    }
}

/// One mean with its interval on a line.
#[derive(Clone, Debug)]
pub(crate) struct LinePoint {
    pub x: f64,
    pub mean: f64,
    pub half_width: f64,
}

/// One line of a line chart.
#[derive(Clone, Debug)]
pub(crate) struct LineSeries {
    pub name: String,
    pub points: Vec<LinePoint>,
    /// The series lies far above the others (a configuration that cannot carry the load, whose
    /// latency is in seconds where the rest are in milliseconds): drawn as marks at the top
    /// edge with its values, so that it does not flatten the others.
    pub off_scale: bool,
}

/// A line chart with interval bars.
#[derive(Clone, Debug)]
pub(crate) struct LineChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x_scale: XScale,
    pub series: Vec<LineSeries>,
    /// A footnote, such as the axes that were pooled.
    pub note: Option<String>,
}

impl LineChart {
    fn all_points(&self) -> impl Iterator<Item = &LinePoint> {
        self.series.iter().flat_map(|s| s.points.iter())
    }
    pub(crate) fn x_min(&self) -> f64 {
        self.all_points().map(|p| p.x).fold(f64::MAX, f64::min)
    }
    pub(crate) fn x_max(&self) -> f64 {
        self.all_points().map(|p| p.x).fold(f64::MIN, f64::max)
    }
    /// The y range of the series drawn to scale (all of them when every one is off scale).
    pub(crate) fn y_extent(&self) -> (f64, f64) {
        let scaled: Vec<&LinePoint> = if self.series.iter().all(|s| s.off_scale) {
            self.all_points().collect()
        } else {
            self.series
                .iter()
                .filter(|s| !s.off_scale)
                .flat_map(|s| s.points.iter())
                .collect()
        };
        let lo = scaled
            .iter()
            .map(|p| p.mean - p.half_width)
            .fold(f64::MAX, f64::min);
        let hi = scaled
            .iter()
            .map(|p| p.mean + p.half_width)
            .fold(f64::MIN, f64::max);
        (lo, hi)
    }
}

/// One configuration on the trade-off scatter.
#[derive(Clone, Debug)]
pub(crate) struct TradeOffPoint {
    pub latency_ms: f64,
    pub throughput: f64,
    pub pareto: bool,
    pub label: String,
}

/// The throughput-versus-latency scatter.
#[derive(Clone, Debug)]
pub(crate) struct TradeOff {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub points: Vec<TradeOffPoint>,
}

/// One facet of a heatmap: `cells[row][col]`, `None` where no configuration ran.
#[derive(Clone, Debug)]
pub(crate) struct HeatmapPanel {
    pub title: String,
    pub cells: Vec<Vec<Option<f64>>>,
}

/// Anomaly-rate heatmaps over two axes, one panel per facet.
#[derive(Clone, Debug)]
pub(crate) struct Heatmap {
    pub title: String,
    pub caption: String,
    pub row_axis: String,
    pub col_axis: String,
    pub row_labels: Vec<String>,
    pub col_labels: Vec<String>,
    pub panels: Vec<HeatmapPanel>,
    pub max_value: f64,
    /// What the cells hold, which decides their colours and text.
    pub kind: HeatKind,
}

/// What a heatmap's cells hold.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum HeatKind {
    /// A fraction of records sent with an anomaly: green for none, white to dark red.
    Anomaly,
    /// The mean of a metric: light to dark blue from `min` to the maximum, on a log scale when
    /// `log` (values over more than a factor of 20, such as a p99 in ms and in seconds).
    Metric { min: f64, log: bool },
}

/// Any chart this crate draws.
#[derive(Clone, Debug)]
pub(crate) enum Chart {
    Line(LineChart),
    TradeOff(TradeOff),
    Heatmap(Heatmap),
}

impl Chart {
    fn size(&self) -> (u32, u32) {
        match self {
            Chart::Heatmap(h) => {
                // At least 760 px so the title and caption fit above and below one panel.
                let width = (PANEL_SIZE.0 * h.panels.len().max(1) as u32).max(760);
                (width, PANEL_SIZE.1)
            }
            _ => PLOT_SIZE,
        }
    }

    /// Appends `[note]` to the chart's title (a partial merge's note).
    pub(crate) fn mark(&mut self, note: &str) {
        let title = match self {
            Chart::Line(c) => &mut c.title,
            Chart::TradeOff(c) => &mut c.title,
            Chart::Heatmap(c) => &mut c.title,
        };
        title.push_str(&format!(" [{note}]"));
    }

    fn title(&self) -> &str {
        match self {
            Chart::Line(c) => &c.title,
            Chart::TradeOff(c) => &c.title,
            Chart::Heatmap(c) => &c.title,
        }
    }

    fn draw_on<DB: plotters::prelude::DrawingBackend>(
        &self,
        root: &plotters::prelude::DrawingArea<DB, plotters::coord::Shift>,
    ) -> Result<(), String> {
        match self {
            Chart::Line(c) => draw::draw_line_chart(root, c),
            Chart::TradeOff(c) => draw::draw_trade_off(root, c),
            Chart::Heatmap(c) => draw::draw_heatmap(root, c),
        }
    }

    /// The chart as an SVG document.
    pub(crate) fn to_svg(&self) -> Result<String, ReportError> {
        crate::fonts::register();
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, self.size()).into_drawing_area();
            self.draw_on(&root).map_err(|message| ReportError::Plot {
                what: self.title().to_owned(),
                message,
            })?;
        }
        Ok(svg)
    }

    /// Stages `<stem>.svg` and `<stem>.png` under temporary names.
    pub(crate) fn stage(&self, stem: &Path) -> Result<Vec<Staged>, ReportError> {
        let svg = self.to_svg()?;
        let svg_file = output::stage_bytes(&with_extension(stem, "svg"), svg.as_bytes())?;
        let png_target = with_extension(stem, "png");
        let png_temp = output::temp_path(&png_target);
        let drawn = {
            let root = BitMapBackend::new(&png_temp, self.size()).into_drawing_area();
            self.draw_on(&root)
        };
        if let Err(message) = drawn {
            let _ = std::fs::remove_file(&png_temp);
            output::discard(vec![svg_file]);
            return Err(ReportError::Plot {
                what: self.title().to_owned(),
                message,
            });
        }
        Ok(vec![
            svg_file,
            Staged {
                temp: png_temp,
                target: png_target,
            },
        ])
    }
}

fn with_extension(stem: &Path, ext: &str) -> PathBuf {
    let mut name = stem
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".");
    name.push(ext);
    stem.with_file_name(name)
}

/// Writes every chart as `<dir>/<stem>.svg` and `.png`, all or nothing.
pub(crate) fn write_charts(charts: &[(Chart, PathBuf)]) -> Result<Vec<PathBuf>, ReportError> {
    let mut staged = Vec::new();
    let mut created = Vec::new();
    for (chart, stem) in charts {
        let outcome = output::create_parent(stem).and_then(|dir| {
            created.extend(dir);
            chart.stage(stem)
        });
        match outcome {
            Ok(files) => staged.extend(files),
            Err(e) => {
                output::discard(staged);
                output::remove_created_dirs(&created);
                return Err(e);
            }
        }
    }
    output::commit_all(staged).inspect_err(|_| output::remove_created_dirs(&created))
}

/// The file name part of a column in plot file names: the short metric names of the standard
/// plots (`throughput`, `latency_p99`, `records_per_batch`), else the column's short name with
/// every character other than a letter or digit written `_` (`linger.ms` -> `linger_ms`).
pub(crate) fn file_part(column: &str) -> String {
    const SHORT: &[(&str, &str)] = &[
        ("throughput_records_per_s", "throughput"),
        ("throughput_bytes_per_s", "throughput_bytes"),
        ("latency_p50_ms", "latency_p50"),
        ("latency_p90_ms", "latency_p90"),
        ("latency_p99_ms", "latency_p99"),
        ("latency_p999_ms", "latency_p999"),
        ("latency_max_ms", "latency_max"),
        ("latency_mean_ms", "latency_mean"),
        ("records_per_batch_avg", "records_per_batch"),
    ];
    if let Some((_, short)) = SHORT.iter().find(|(c, _)| *c == column) {
        return (*short).to_owned();
    }
    short_name(column)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// The one naming scheme of plot files, for `sweep --plots`, `plot` and `report` alike:
/// `<metric>_vs_<x>` with `_by_<series>` when lines are split by a column.
pub(crate) fn line_stem(sweep: &Sweep, spec: &LineSpec) -> String {
    let mut stem = format!(
        "{}_vs_{}",
        file_part(&sweep.columns[spec.y]),
        file_part(&sweep.columns[spec.x])
    );
    if let Some(series) = spec.series {
        stem.push_str(&format!("_by_{}", file_part(&sweep.columns[series])));
    }
    stem
}

/// The file name of a heatmap of `column`: `heatmap_<metric>`.
pub(crate) fn heatmap_stem(column: &str) -> String {
    format!("heatmap_{}", file_part(column))
}

/// A label with units for a column, for axis titles.
pub(crate) fn column_label(column: &str) -> String {
    const KNOWN: &[(&str, &str)] = &[
        ("throughput_records_per_s", "throughput (records/s)"),
        ("throughput_bytes_per_s", "throughput (bytes/s)"),
        ("latency_p50_ms", "p50 send-to-ack latency (ms)"),
        ("latency_p90_ms", "p90 send-to-ack latency (ms)"),
        ("latency_p99_ms", "p99 send-to-ack latency (ms)"),
        ("latency_p999_ms", "p99.9 send-to-ack latency (ms)"),
        ("latency_max_ms", "max send-to-ack latency (ms)"),
        ("latency_mean_ms", "mean send-to-ack latency (ms)"),
    ];
    if let Some((_, label)) = KNOWN.iter().find(|(c, _)| *c == column) {
        return (*label).to_owned();
    }
    let name = short_name(column);
    let unit = if name.ends_with(".ms") || name.ends_with("_ms") || name.ends_with("-ms") {
        " (ms)"
    } else if name.ends_with(".size") || name.ends_with(".bytes") || name.ends_with(".memory") {
        " (bytes)"
    } else if name.ends_with("-rate") || name.ends_with("_per_s") {
        " (per s)"
    } else if name.starts_with("max.in.flight") {
        " (requests)"
    } else {
        ""
    };
    format!("{name}{unit}")
}

/// The distinct values of axis `axis` over the points, numerically sorted when all are numbers.
pub(crate) fn axis_levels(sweep: &Sweep, axis: usize) -> Vec<String> {
    let mut levels: Vec<String> = Vec::new();
    for point in &sweep.points {
        let v = &point.axis_values[axis];
        if !levels.contains(v) {
            levels.push(v.clone());
        }
    }
    let numbers: Option<Vec<f64>> = levels
        .iter()
        .map(|v| v.trim().parse::<f64>().ok())
        .collect();
    if let Some(numbers) = numbers {
        let mut pairs: Vec<(f64, String)> = numbers.into_iter().zip(levels).collect();
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        return pairs.into_iter().map(|(_, v)| v).collect();
    }
    levels
}

/// Axes, other than `used`, that take more than one value.
fn pooled_axes(sweep: &Sweep, used: &[usize]) -> Vec<String> {
    (0..sweep.axes.len())
        .filter(|a| !used.contains(a) && axis_levels(sweep, *a).len() > 1)
        .map(|a| short_name(&sweep.columns[sweep.axes[a]]).to_owned())
        .collect()
}

/// What a line chart shows: columns by index into `sweep.columns`.
pub(crate) struct LineSpec {
    pub x: usize,
    pub y: usize,
    pub series: Option<usize>,
}

/// Builds a line chart of the mean of `y` against `x`, one line per value of `series`. Replicates
/// and any other axes are pooled into one mean per (series, x).
pub(crate) fn line_chart(sweep: &Sweep, spec: &LineSpec) -> Result<LineChart, ReportError> {
    sweep.check_numeric(spec.y)?;
    let x_axis = sweep.axis_index(spec.x);
    let series_axis = spec.series.and_then(|s| sweep.axis_index(s));
    let x_levels = match x_axis {
        Some(a) => axis_levels(sweep, a),
        None => column_levels(sweep, spec.x),
    };
    let mut x_numeric: Option<Vec<f64>> = x_levels.iter().map(|v| v.trim().parse().ok()).collect();
    let spread = x_numeric.as_deref().map_or(Spread::Linear, spread_of);
    if spread != Spread::Linear {
        // Log2 and even spreads place the levels at 0, 1, 2, ...: for a constant ratio that is
        // a log scale exactly.
        x_numeric = None;
    }
    let series_levels = match spec.series {
        Some(s) => match series_axis {
            Some(a) => axis_levels(sweep, a),
            None => column_levels(sweep, s),
        },
        None => vec![String::new()],
    };
    let mut series = Vec::new();
    for level in &series_levels {
        let mut points = Vec::new();
        for (i, x) in x_levels.iter().enumerate() {
            let values = pooled_values(sweep, spec, level, x)?;
            if let Some(e) = stats::estimate(&values) {
                let pos = x_numeric.as_ref().map_or(i as f64, |n| n[i]);
                points.push(LinePoint {
                    x: pos,
                    mean: e.mean,
                    half_width: e.half_width,
                });
            }
        }
        let name = match spec.series {
            Some(s) => format!(
                "{}={}",
                short_name(&sweep.columns[s]),
                level_label(&sweep.columns[s], level)
            ),
            None => column_label(&sweep.columns[spec.y]),
        };
        if !points.is_empty() {
            series.push(LineSeries {
                name,
                points,
                off_scale: false,
            });
        }
    }
    mark_off_scale(&mut series);
    let used: Vec<usize> = [x_axis, series_axis].into_iter().flatten().collect();
    let pooled = pooled_axes(sweep, &used);
    let note = Some(if pooled.is_empty() {
        "Dots are means over replicates; bars are 95% confidence intervals (Student's t)."
            .to_owned()
    } else {
        format!(
            "Means over replicates and over {} (pooled); bars: 95% CI.",
            pooled.join(", ")
        )
    });
    let y_label = column_label(&sweep.columns[spec.y]);
    let x_label = match spread {
        Spread::Linear => column_label(&sweep.columns[spec.x]),
        Spread::Log2 => format!("{}, log2 scale", column_label(&sweep.columns[spec.x])),
        Spread::Even => format!(
            "{}, values evenly spaced",
            column_label(&sweep.columns[spec.x])
        ),
    };
    Ok(LineChart {
        title: format!(
            "{} vs {}",
            capitalise(&y_label),
            short_name(&sweep.columns[spec.x])
        ),
        x_label,
        y_label,
        x_scale: if x_numeric.is_some() {
            XScale::Numeric
        } else {
            XScale::Categories(
                x_levels
                    .iter()
                    .map(|l| level_label(&sweep.columns[spec.x], l))
                    .collect(),
            )
        },
        series,
        note,
    })
}

/// How far above the others a series must lie to be drawn off scale: its lowest mean above
/// this many times the highest mean of the series drawn to scale.
const OFF_SCALE_FACTOR: f64 = 5.0;

/// Marks the series that lie far above the rest (see [`LineSeries::off_scale`]): the largest
/// group of highest series whose lowest mean exceeds [`OFF_SCALE_FACTOR`] times the highest
/// mean of every other series. At least one series stays to scale.
fn mark_off_scale(series: &mut [LineSeries]) {
    let low = |s: &LineSeries| s.points.iter().map(|p| p.mean).fold(f64::MAX, f64::min);
    let high = |s: &LineSeries| s.points.iter().map(|p| p.mean).fold(f64::MIN, f64::max);
    let mut order: Vec<usize> = (0..series.len()).collect();
    order.sort_by(|&a, &b| low(&series[b]).total_cmp(&low(&series[a])));
    let mut cut = 0;
    for k in 1..order.len() {
        let top_low = order[..k]
            .iter()
            .map(|&i| low(&series[i]))
            .fold(f64::MAX, f64::min);
        let rest_high = order[k..]
            .iter()
            .map(|&i| high(&series[i]))
            .fold(f64::MIN, f64::max);
        if rest_high > 0.0 && top_low > OFF_SCALE_FACTOR * rest_high {
            cut = k;
        }
    }
    for &index in &order[..cut] {
        series[index].off_scale = true;
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The distinct cell values of a non-axis column, in first-seen order.
fn column_levels(sweep: &Sweep, column: usize) -> Vec<String> {
    let mut levels: Vec<String> = Vec::new();
    for row in &sweep.rows {
        let v = row.cells.get(column).cloned().unwrap_or_default();
        if !levels.contains(&v) {
            levels.push(v);
        }
    }
    levels
}

/// The `y` values of every row whose `x` is `x` and whose series column is `level`.
fn pooled_values(
    sweep: &Sweep,
    spec: &LineSpec,
    level: &str,
    x: &str,
) -> Result<Vec<f64>, ReportError> {
    let mut values = Vec::new();
    for (index, row) in sweep.rows.iter().enumerate() {
        let cell = |c: usize| row.cells.get(c).map_or("", String::as_str);
        let in_series = spec.series.is_none_or(|s| cell(s) == level);
        if in_series
            && cell(spec.x) == x
            && let Some(v) = sweep.number(index, spec.y)?
        {
            values.push(v);
        }
    }
    Ok(values)
}

/// The trade-off scatter of mean p99 latency against mean throughput, one dot per point.
pub(crate) fn trade_off(sweep: &Sweep) -> Result<Option<TradeOff>, ReportError> {
    let (Some(thr), Some(lat)) = (
        sweep.find_column("throughput_records_per_s"),
        sweep.find_column("latency_p99_ms"),
    ) else {
        return Ok(None);
    };
    let mut xy = Vec::new();
    let mut labels = Vec::new();
    for point in &sweep.points {
        let t = stats::estimate(&sweep.values(point, thr)?);
        let l = stats::estimate(&sweep.values(point, lat)?);
        if let (Some(t), Some(l)) = (t, l) {
            xy.push((l.mean, t.mean));
            labels.push(sweep.point_label(point));
        }
    }
    if xy.len() < 2 {
        return Ok(None);
    }
    let front = stats::pareto_front(&xy);
    let points = xy
        .iter()
        .zip(labels)
        .enumerate()
        .map(|(i, (&(l, t), label))| TradeOffPoint {
            latency_ms: l,
            throughput: t,
            pareto: front.contains(&i),
            label,
        })
        .collect();
    Ok(Some(TradeOff {
        title: "Throughput vs p99 latency (mean per configuration)".to_owned(),
        x_label: column_label("latency_p99_ms"),
        y_label: column_label("throughput_records_per_s"),
        points,
    }))
}

/// An anomaly measured as a fraction of records sent.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Anomaly {
    pub column: &'static str,
    pub title: &'static str,
}

/// The anomalies drawn as heatmaps.
pub(crate) const ANOMALIES: [Anomaly; 3] = [
    Anomaly {
        column: "duplicated",
        title: "Duplicated records",
    },
    Anomaly {
        column: "reordered",
        title: "Reordered records",
    },
    Anomaly {
        column: "lost_acked",
        title: "Acknowledged records lost",
    },
];

/// Which axes a heatmap uses: rows, columns, and the facet axes (one panel per combination).
pub(crate) struct HeatmapAxes {
    pub row: Option<usize>,
    pub col: usize,
    pub facets: Vec<usize>,
}

/// Picks heatmap axes: facets are acks and idempotence; rows and columns prefer
/// max.in.flight and retries, else any other varying axes.
pub(crate) fn heatmap_axes(sweep: &Sweep) -> Option<HeatmapAxes> {
    let varying: Vec<usize> = (0..sweep.axes.len())
        .filter(|&a| axis_levels(sweep, a).len() > 1)
        .collect();
    let named = |suffix: &str| {
        varying.iter().copied().find(|&a| {
            crate::sweep::resolve_column(
                std::slice::from_ref(&sweep.columns[sweep.axes[a]]),
                suffix,
            )
            .is_ok()
        })
    };
    let mut facets: Vec<usize> = [named("acks"), named("enable.idempotence")]
        .into_iter()
        .flatten()
        .collect();
    let mut grid: Vec<usize> = [
        named("max.in.flight.requests.per.connection"),
        named("retries"),
    ]
    .into_iter()
    .flatten()
    .collect();
    for &a in &varying {
        if grid.len() < 2 && !grid.contains(&a) && !facets.contains(&a) {
            grid.push(a);
        }
    }
    // With only acks/idempotence swept, they become the grid instead of panels.
    while grid.len() < 2 && !facets.is_empty() {
        grid.insert(0, facets.remove(facets.len() - 1));
    }
    // Anomaly maps only make sense when a delivery-semantics knob is swept.
    let semantic = [
        "acks",
        "enable.idempotence",
        "max.in.flight.requests.per.connection",
        "retries",
    ];
    if !semantic.iter().any(|name| named(name).is_some()) {
        return None;
    }
    match grid.as_slice() {
        [] => None,
        [col] => Some(HeatmapAxes {
            row: None,
            col: *col,
            facets,
        }),
        [row, col, ..] => Some(HeatmapAxes {
            row: Some(*row),
            col: *col,
            facets,
        }),
    }
}

/// A heatmap of `anomaly` (summed over replicates and divided by records sent).
pub(crate) fn heatmap(
    sweep: &Sweep,
    axes: &HeatmapAxes,
    anomaly: Anomaly,
) -> Result<Option<Heatmap>, ReportError> {
    let (Some(metric), Some(sent)) = (
        sweep.find_column(anomaly.column),
        sweep.find_column("records_sent"),
    ) else {
        return Ok(None);
    };
    let row_labels = axes
        .row
        .map_or_else(|| vec!["all runs".to_owned()], |r| axis_levels(sweep, r));
    let col_labels = axis_levels(sweep, axes.col);
    let mut panels = Vec::new();
    let mut max_value: f64 = 0.0;
    for facet in facet_combinations(sweep, &axes.facets) {
        let mut cells = vec![vec![None; col_labels.len()]; row_labels.len()];
        for (r, row_level) in row_labels.iter().enumerate() {
            for (c, col_level) in col_labels.iter().enumerate() {
                let chosen: Vec<&Point> = sweep
                    .points
                    .iter()
                    .filter(|p| p.axis_values[axes.col] == *col_level)
                    .filter(|p| axes.row.is_none_or(|a| p.axis_values[a] == *row_level))
                    .filter(|p| facet.iter().all(|(a, v)| p.axis_values[*a] == *v))
                    .collect();
                cells[r][c] = anomaly_rate(sweep, &chosen, metric, sent)?;
                max_value = max_value.max(cells[r][c].unwrap_or(0.0));
            }
        }
        let title = facet
            .iter()
            .map(|(a, v)| format!("{}={v}", short_name(&sweep.columns[sweep.axes[*a]])))
            .collect::<Vec<_>>()
            .join(", ");
        // A panel of configurations that never ran (Kafka rejects acks=0 with explicit
        // idempotence, say) says nothing; leave it out.
        if cells.iter().flatten().all(Option::is_none) {
            continue;
        }
        // With no facet axes there is one panel, and the figure's title names it.
        panels.push(HeatmapPanel { title, cells });
    }
    let pooled = pooled_axes(
        sweep,
        &[axes.row, Some(axes.col)]
            .into_iter()
            .flatten()
            .chain(axes.facets.iter().copied())
            .collect::<Vec<_>>(),
    );
    let mut caption = format!(
        "Cell = {} / records_sent over all replicates; green = none, white to dark red = more \
         (darkest = {}).",
        anomaly.column,
        draw::percent(max_value)
    );
    if !pooled.is_empty() {
        caption.push_str(&format!(" Pooled over {}.", pooled.join(", ")));
    }
    if panels.is_empty() {
        return Ok(None);
    }
    Ok(Some(Heatmap {
        title: format!("{} (fraction of records sent)", anomaly.title),
        caption,
        row_axis: axes
            .row
            .map_or_else(String::new, |r| column_label(&sweep.columns[sweep.axes[r]])),
        col_axis: column_label(&sweep.columns[sweep.axes[axes.col]]),
        row_labels,
        col_labels,
        panels,
        max_value,
        kind: HeatKind::Anomaly,
    }))
}

/// The metrics drawn as heatmaps over a two-axis grid: (column, title).
pub(crate) const GRID_METRICS: [(&str, &str); 3] = [
    ("throughput_records_per_s", "Throughput (records/s)"),
    ("latency_p99_ms", "p99 send-to-ack latency (ms)"),
    ("records_per_batch_avg", "Records per batch"),
];

/// A heatmap of the mean of `column` over a grid of two axes (`row` by `col`, as indices into
/// `sweep.axes`), one cell per pair of levels, pooled over replicates and any other axis.
pub(crate) fn metric_heatmap(
    sweep: &Sweep,
    (row, col): (usize, usize),
    (column, title): (&str, &str),
) -> Result<Option<Heatmap>, ReportError> {
    let Some(metric) = sweep.find_column(column) else {
        return Ok(None);
    };
    let rows = axis_levels(sweep, row);
    let cols = axis_levels(sweep, col);
    let mut cells = vec![vec![None; cols.len()]; rows.len()];
    let (mut min, mut max) = (f64::MAX, f64::MIN);
    for (r, row_level) in rows.iter().enumerate() {
        for (c, col_level) in cols.iter().enumerate() {
            let mut values = Vec::new();
            for point in sweep
                .points
                .iter()
                .filter(|p| p.axis_values[row] == *row_level && p.axis_values[col] == *col_level)
            {
                values.extend(sweep.values(point, metric)?);
            }
            if let Some(e) = stats::estimate(&values) {
                cells[r][c] = Some(e.mean);
                min = min.min(e.mean);
                max = max.max(e.mean);
            }
        }
    }
    if max < min {
        return Ok(None);
    }
    let log = min > 0.0 && max / min > 20.0;
    // A linear colour scale starts at 0 for a metric that cannot be negative, so that cells
    // 47k and 49.5k look alike, as they are, instead of white and dark.
    let floor = if !log && min >= 0.0 { 0.0 } else { min };
    let pooled = pooled_axes(sweep, &[row, col]);
    let mut caption = format!(
        "Cell = mean of {column} over replicates; lighter = lower, darker = higher{}.",
        if log {
            " (colour on a log scale)"
        } else if floor == 0.0 {
            " (colour from 0 to the largest)"
        } else {
            ""
        }
    );
    if !pooled.is_empty() {
        caption.push_str(&format!(" Pooled over {}.", pooled.join(", ")));
    }
    let row_column = &sweep.columns[sweep.axes[row]];
    let col_column = &sweep.columns[sweep.axes[col]];
    Ok(Some(Heatmap {
        title: format!("{title}, mean per configuration"),
        caption,
        row_axis: column_label(row_column),
        col_axis: column_label(col_column),
        row_labels: rows.iter().map(|l| level_label(row_column, l)).collect(),
        col_labels: cols.iter().map(|l| level_label(col_column, l)).collect(),
        panels: vec![HeatmapPanel {
            title: String::new(),
            cells,
        }],
        max_value: max,
        kind: HeatKind::Metric { min: floor, log },
    }))
}

/// Every combination of the facet axes' values (axis index, value).
fn facet_combinations(sweep: &Sweep, facets: &[usize]) -> Vec<Vec<(usize, String)>> {
    let mut combos: Vec<Vec<(usize, String)>> = vec![Vec::new()];
    for &axis in facets {
        let levels = axis_levels(sweep, axis);
        combos = combos
            .into_iter()
            .flat_map(|c| {
                levels.iter().map(move |l| {
                    let mut next = c.clone();
                    next.push((axis, l.clone()));
                    next
                })
            })
            .collect();
    }
    // Skip combinations no configuration ran (such as acks=1 with idempotence, which Kafka
    // rejects).
    combos.retain(|combo| {
        sweep
            .points
            .iter()
            .any(|p| combo.iter().all(|(a, v)| p.axis_values[*a] == *v))
    });
    combos
}

fn anomaly_rate(
    sweep: &Sweep,
    points: &[&Point],
    metric: usize,
    sent: usize,
) -> Result<Option<f64>, ReportError> {
    let (mut count, mut total) = (0.0, 0.0);
    for point in points {
        count += sweep.values(point, metric)?.iter().sum::<f64>();
        total += sweep.values(point, sent)?.iter().sum::<f64>();
    }
    Ok(if total > 0.0 {
        Some(count / total)
    } else {
        None
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubling_values_get_a_log2_axis_and_wide_ones_with_a_zero_even_spacing() {
        assert_eq!(spread_of(&[4096.0, 8192.0, 16384.0, 32768.0]), Spread::Log2);
        assert_eq!(spread_of(&[1.0, 10.0, 100.0]), Spread::Log2);
        assert_eq!(
            spread_of(&[0.0, 1.0, 5.0, 10.0, 20.0, 50.0, 100.0]),
            Spread::Even
        );
        assert_eq!(spread_of(&[1.0, 2.0, 3.0, 4.0]), Spread::Linear);
        assert_eq!(spread_of(&[0.0, 5.0]), Spread::Linear);
    }

    #[test]
    fn byte_sizes_read_as_kib_and_mib() {
        assert_eq!(level_label("producer.batch.size", "16384"), "16 KiB");
        assert_eq!(level_label("producer.buffer.memory", "33554432"), "32 MiB");
        assert_eq!(level_label("producer.batch.size", "1000"), "1000");
        assert_eq!(level_label("producer.linger.ms", "1024"), "1024");
    }

    fn series(name: &str, means: &[f64]) -> LineSeries {
        LineSeries {
            name: name.to_owned(),
            points: means
                .iter()
                .enumerate()
                .map(|(i, &mean)| LinePoint {
                    x: i as f64,
                    mean,
                    half_width: 0.0,
                })
                .collect(),
            off_scale: false,
        }
    }

    #[test]
    fn series_far_above_the_rest_go_off_scale_and_the_rest_keep_theirs() {
        let mut lines = vec![
            series("4k", &[1544.0, 1586.0]),
            series("8k", &[586.0, 605.0]),
            series("16k", &[6.3, 4.0]),
            series("256k", &[6.3, 32.5]),
        ];
        mark_off_scale(&mut lines);
        let off: Vec<bool> = lines.iter().map(|s| s.off_scale).collect();
        assert_eq!(off, vec![true, true, false, false]);
        let chart = LineChart {
            title: String::new(),
            x_label: String::new(),
            y_label: String::new(),
            x_scale: XScale::Numeric,
            series: lines,
            note: None,
        };
        assert_eq!(chart.y_extent(), (4.0, 32.5));
        // Series within a factor of five of each other all stay to scale.
        let mut close = vec![series("a", &[10.0, 20.0]), series("b", &[30.0, 90.0])];
        mark_off_scale(&mut close);
        assert!(close.iter().all(|s| !s.off_scale));
    }
}
