//! Drawing the chart descriptions of `plots` with plotters, on any backend (SVG or bitmap).
//!
//! The same function draws the SVG embedded in reports and the PNG written next to it, so the two
//! always agree.

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::{HeatKind, Heatmap, LineChart, TradeOff, XScale};

/// Okabe-Ito colours: distinguishable with the common forms of colour blindness.
const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(230, 159, 0),
    RGBColor(0, 0, 0),
    RGBColor(240, 228, 66),
];

const FONT: &str = "sans-serif";

fn fail<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// A compact number for tick labels: 1200 -> 1.2k, 3500000 -> 3.5M.
pub(crate) fn compact(v: f64) -> String {
    let a = v.abs();
    let (scaled, unit) = if a >= 1e9 {
        (v / 1e9, "G")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e4 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let text = if scaled.fract().abs() < 1e-9 || scaled.abs() >= 100.0 {
        format!("{scaled:.0}")
    } else if scaled.abs() >= 1.0 {
        format!("{scaled:.1}")
    } else {
        format!("{scaled:.3}")
    };
    format!("{text}{unit}")
}

fn padded(lo: f64, hi: f64) -> (f64, f64) {
    if (hi - lo).abs() < 1e-12 {
        let pad = if lo.abs() > 0.0 { lo.abs() * 0.1 } else { 1.0 };
        (lo - pad, hi + pad)
    } else {
        let pad = (hi - lo) * 0.08;
        (lo - pad, hi + pad)
    }
}

/// Width of the legend strip right of a line chart, in pixels: the legend never covers data.
const LEGEND_WIDTH: u32 = 230;

/// Draws a line chart: one line per series, a dot at each mean and a 95% interval bar; series
/// far above the rest (`off_scale`) as triangles along the top edge, their values in the
/// legend; the legend in a strip to the right of the plot.
pub(crate) fn draw_line_chart<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &LineChart,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(fail)?;
    let (x0, x1) = padded(chart.x_min(), chart.x_max());
    let (y_lo, y_hi) = chart.y_extent();
    let (y0, y1) = padded(y_lo.min(0.0), y_hi);
    // Metrics here are never negative: keep the axis at zero rather than padding below it.
    let y0 = if y_lo >= 0.0 { 0.0 } else { y0 };
    let area = match &chart.note {
        Some(note) => {
            let (top, rest) = root.split_vertically(root.dim_in_pixel().1 - 24);
            rest.draw_text(
                note,
                &(FONT, 13).into_font().color(&RGBColor(90, 90, 90)),
                (12, 4),
            )
            .map_err(fail)?;
            top
        }
        None => root.clone(),
    };
    let (plot_area, legend_area) = area.split_horizontally(area.dim_in_pixel().0 - LEGEND_WIDTH);
    let mut ctx = ChartBuilder::on(&plot_area)
        .caption(&chart.title, (FONT, 22))
        .margin(15)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(fail)?;
    draw_line_mesh(&mut ctx, chart)?;
    let mut off_rank = 0;
    for (index, series) in chart.series.iter().enumerate() {
        let color = PALETTE[index % PALETTE.len()];
        if series.off_scale {
            // Each off-scale series on its own row below the top edge.
            let top_edge = y1 - (y1 - y0) * (0.025 + 0.035 * f64::from(off_rank));
            off_rank += 1;
            let marks: Vec<(f64, f64)> = series.points.iter().map(|p| (p.x, top_edge)).collect();
            ctx.draw_series(LineSeries::new(marks.clone(), color.stroke_width(1)))
                .map_err(fail)?;
            ctx.draw_series(
                marks
                    .iter()
                    .map(|&p| TriangleMarker::new(p, 6, color.filled())),
            )
            .map_err(fail)?;
            continue;
        }
        let line: Vec<(f64, f64)> = series.points.iter().map(|p| (p.x, p.mean)).collect();
        ctx.draw_series(LineSeries::new(line.clone(), color.stroke_width(2)))
            .map_err(fail)?;
        ctx.draw_series(line.iter().map(|&p| Circle::new(p, 4, color.filled())))
            .map_err(fail)?;
        draw_error_bars(&mut ctx, &series.points, color)?;
    }
    draw_line_legend(&legend_area, chart)?;
    root.present().map_err(fail)
}

/// The most characters of a legend line at its font in [`LEGEND_WIDTH`].
const LEGEND_CHARS: usize = 26;

/// `name` in lines of at most `width` characters, broken at a space or after a `.` or `=`
/// where one is in the line's second half (`max.in.flight.requests.` / `per.connection=5`,
/// `p99 send-to-ack latency` / `(ms)`), else at the width.
fn wrap_name(name: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut rest: Vec<char> = name.chars().collect();
    while rest.len() > width {
        let cut = rest[..width]
            .iter()
            .rposition(|c| *c == '.' || *c == '=' || *c == ' ')
            .filter(|&i| i >= width / 2)
            .map_or(width, |i| i + 1);
        lines.push(rest[..cut].iter().collect::<String>().trim_end().to_owned());
        rest = rest[cut..].to_vec();
    }
    lines.push(rest.iter().collect());
    lines
}

/// The legend strip: one entry per series, an off-scale one with the range of its means.
fn draw_line_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &LineChart,
) -> Result<(), String> {
    let text = (FONT, 14).into_font().color(&BLACK);
    let grey = (FONT, 12).into_font().color(&RGBColor(90, 90, 90));
    let mut y = 60;
    for (index, series) in chart.series.iter().enumerate() {
        let color = PALETTE[index % PALETTE.len()];
        if series.off_scale {
            area.draw(&TriangleMarker::new((14, y), 6, color.filled()))
                .map_err(fail)?;
        } else {
            area.draw(&PathElement::new(
                vec![(4, y), (24, y)],
                color.stroke_width(2),
            ))
            .map_err(fail)?;
            area.draw(&Circle::new((14, y), 4, color.filled()))
                .map_err(fail)?;
        }
        for line in wrap_name(&series.name, LEGEND_CHARS) {
            area.draw_text(&line, &text, (32, y - 8)).map_err(fail)?;
            y += 18;
        }
        y += 2;
        if series.off_scale {
            let lo = series
                .points
                .iter()
                .map(|p| p.mean)
                .fold(f64::MAX, f64::min);
            let hi = series
                .points
                .iter()
                .map(|p| p.mean)
                .fold(f64::MIN, f64::max);
            let range = if (hi - lo).abs() < 1e-9 {
                compact(lo)
            } else {
                format!("{} to {}", compact(lo), compact(hi))
            };
            area.draw_text(
                &format!("off scale, at the top: {range}"),
                &grey,
                (32, y - 8),
            )
            .map_err(fail)?;
            y += 18;
        }
    }
    Ok(())
}

/// Axes, tick labels (category names on a categorical x axis) and the light grid.
fn draw_line_mesh<DB: DrawingBackend>(
    ctx: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    chart: &LineChart,
) -> Result<(), String> {
    let x_labels = |v: &f64| match &chart.x_scale {
        XScale::Numeric => compact(*v),
        XScale::Categories(names) => {
            let i = v.round();
            if (v - i).abs() < 1e-6 && i >= 0.0 {
                names.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        }
    };
    let y_labels = |v: &f64| compact(*v);
    let mut mesh = ctx.configure_mesh();
    mesh.x_desc(chart.x_label.as_str())
        .y_desc(chart.y_label.as_str())
        .axis_desc_style((FONT, 16))
        .label_style((FONT, 13))
        .x_label_formatter(&x_labels)
        .y_label_formatter(&y_labels)
        .light_line_style(RGBColor(235, 235, 235));
    if let XScale::Categories(names) = &chart.x_scale {
        mesh.x_labels(names.len() * 4 + 1);
    }
    mesh.draw().map_err(fail)?;
    Ok(())
}

/// Draws 95% interval bars (a vertical line with caps) around each mean.
fn draw_error_bars<DB: DrawingBackend>(
    ctx: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    points: &[super::LinePoint],
    color: RGBColor,
) -> Result<(), String> {
    let bars: Vec<(f64, f64, f64)> = points
        .iter()
        .filter(|p| p.half_width > 0.0)
        .map(|p| (p.x, p.mean - p.half_width, p.mean + p.half_width))
        .collect();
    let style = color.stroke_width(1);
    ctx.draw_series(
        bars.iter()
            .map(|&(x, lo, hi)| PathElement::new(vec![(x, lo), (x, hi)], style)),
    )
    .map_err(fail)?;
    for end in [1, 2] {
        ctx.draw_series(bars.iter().map(|&(x, lo, hi)| {
            let y = if end == 1 { lo } else { hi };
            EmptyElement::at((x, y)) + PathElement::new(vec![(-5, 0), (5, 0)], style)
        }))
        .map_err(fail)?;
    }
    Ok(())
}

/// Width of the table of Pareto-optimal configurations right of the trade-off scatter.
const FRONT_TABLE_WIDTH: u32 = 300;

/// Draws the throughput-versus-p99 scatter with the Pareto-optimal configurations marked,
/// joined and numbered; the numbers are explained in a table to the right (labels in the plot
/// would overprint where configurations lie close together). The latency axis is logarithmic
/// when the latencies span more than a factor of 20.
pub(crate) fn draw_trade_off<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &TradeOff,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(fail)?;
    let lat = chart.points.iter().map(|p| p.latency_ms);
    let thr = chart.points.iter().map(|p| p.throughput);
    let (lat_lo, lat_hi) = (
        lat.clone().fold(f64::MAX, f64::min),
        lat.fold(f64::MIN, f64::max),
    );
    let (y0, y1) = padded(
        thr.clone().fold(f64::MAX, f64::min),
        thr.fold(f64::MIN, f64::max),
    );
    let (plot_area, table_area) =
        root.split_horizontally(root.dim_in_pixel().0 - FRONT_TABLE_WIDTH);
    let log = lat_lo > 0.0 && lat_hi / lat_lo > 20.0;
    let x_label = if log {
        format!("{}, log scale", chart.x_label)
    } else {
        chart.x_label.clone()
    };
    let mut builder = ChartBuilder::on(&plot_area);
    builder
        .caption(&chart.title, (FONT, 22))
        .margin(15)
        .x_label_area_size(50)
        .y_label_area_size(80);
    if log {
        let ctx = builder
            .build_cartesian_2d((lat_lo / 1.3..lat_hi * 1.3).log_scale(), y0.max(0.0)..y1)
            .map_err(fail)?;
        draw_trade_off_points(ctx, chart, &x_label)?;
    } else {
        let (x0, x1) = padded(lat_lo, lat_hi);
        let ctx = builder
            .build_cartesian_2d(x0.max(0.0)..x1, y0.max(0.0)..y1)
            .map_err(fail)?;
        draw_trade_off_points(ctx, chart, &x_label)?;
    }
    draw_front_table(&table_area, chart)?;
    root.present().map_err(fail)
}

/// The Pareto-optimal points in order of latency.
fn front_of(chart: &TradeOff) -> Vec<&super::TradeOffPoint> {
    let mut front: Vec<&super::TradeOffPoint> = chart.points.iter().filter(|p| p.pareto).collect();
    front.sort_by(|a, b| a.latency_ms.total_cmp(&b.latency_ms));
    front
}

/// The mesh, the dominated points in grey, the front in red with its numbers.
fn draw_trade_off_points<DB, X>(
    mut ctx: ChartContext<'_, DB, Cartesian2d<X, RangedCoordf64>>,
    chart: &TradeOff,
    x_label: &str,
) -> Result<(), String>
where
    DB: DrawingBackend,
    X: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
{
    use plotters::style::text_anchor::{HPos, Pos, VPos};
    let labels = |v: &f64| compact(*v);
    ctx.configure_mesh()
        .x_desc(x_label)
        .y_desc(chart.y_label.as_str())
        .axis_desc_style((FONT, 16))
        .label_style((FONT, 13))
        .x_label_formatter(&labels)
        .y_label_formatter(&labels)
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(fail)?;
    let grey = RGBColor(150, 150, 150);
    let red = RGBColor(200, 30, 30);
    let dominated: Vec<(f64, f64)> = chart
        .points
        .iter()
        .filter(|p| !p.pareto)
        .map(|p| (p.latency_ms, p.throughput))
        .collect();
    ctx.draw_series(dominated.iter().map(|&p| Circle::new(p, 4, grey.filled())))
        .map_err(fail)?;
    let front = front_of(chart);
    let front_xy: Vec<(f64, f64)> = front.iter().map(|p| (p.latency_ms, p.throughput)).collect();
    ctx.draw_series(LineSeries::new(front_xy.clone(), red.stroke_width(1)))
        .map_err(fail)?;
    ctx.draw_series(front_xy.iter().map(|&p| Circle::new(p, 6, red.filled())))
        .map_err(fail)?;
    ctx.draw_series(front_xy.iter().enumerate().map(|(i, &p)| {
        // Alternately above and below, so neighbours' numbers do not collide.
        let (dy, v) = if i % 2 == 0 {
            (-9, VPos::Bottom)
        } else {
            (9, VPos::Top)
        };
        let style = (FONT, 13)
            .into_font()
            .color(&red)
            .pos(Pos::new(HPos::Center, v));
        EmptyElement::at(p) + Text::new(format!("{}", i + 1), (0, dy), style)
    }))
    .map_err(fail)?;
    Ok(())
}

/// The most Pareto-optimal configurations the table lists.
const FRONT_TABLE_ROWS: usize = 12;

/// The legend and the table of the numbered Pareto-optimal configurations.
fn draw_front_table<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &TradeOff,
) -> Result<(), String> {
    let grey = RGBColor(150, 150, 150);
    let red = RGBColor(200, 30, 30);
    let text = (FONT, 13).into_font().color(&BLACK);
    let small = (FONT, 12).into_font().color(&RGBColor(90, 90, 90));
    area.draw(&Circle::new((14, 56), 4, grey.filled()))
        .map_err(fail)?;
    area.draw_text("dominated configuration", &text, (28, 48))
        .map_err(fail)?;
    area.draw(&Circle::new((14, 78), 6, red.filled()))
        .map_err(fail)?;
    area.draw_text("Pareto-optimal: no other configuration", &text, (28, 70))
        .map_err(fail)?;
    area.draw_text("has both lower p99 and higher throughput", &text, (28, 86))
        .map_err(fail)?;
    let front = front_of(chart);
    let mut y = 116;
    for (i, p) in front.iter().take(FRONT_TABLE_ROWS).enumerate() {
        area.draw_text(
            &format!(
                "{}. p99 {} ms, {} records/s",
                i + 1,
                compact(p.latency_ms),
                compact(p.throughput)
            ),
            &(FONT, 13).into_font().color(&red),
            (8, y),
        )
        .map_err(fail)?;
        area.draw_text(&p.label, &small, (24, y + 16))
            .map_err(fail)?;
        y += 36;
    }
    if front.len() > FRONT_TABLE_ROWS {
        area.draw_text(
            &format!(
                "... and {} more (report.html lists them)",
                front.len() - FRONT_TABLE_ROWS
            ),
            &small,
            (8, y),
        )
        .map_err(fail)?;
    }
    Ok(())
}

/// Cell colour: pale green for exactly zero, white to dark red as the value rises to `max`.
fn heat_color(value: Option<f64>, max: f64) -> RGBColor {
    match value {
        None => RGBColor(255, 255, 255),
        Some(v) if v <= 0.0 => RGBColor(226, 242, 226),
        Some(v) => {
            let k = if max > 0.0 {
                (v / max).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let fade = |full: f64| (255.0 - (255.0 - full) * (0.15 + 0.85 * k)).round() as u8;
            RGBColor(fade(165.0), fade(15.0), fade(21.0))
        }
    }
}

/// Where `v` lies between `min` and `max`, from 0 to 1, on a log scale when `log`.
fn metric_position(v: f64, min: f64, max: f64, log: bool) -> f64 {
    let k = if log && v > 0.0 && min > 0.0 {
        (v / min).ln() / (max / min).ln()
    } else if max > min {
        (v - min) / (max - min)
    } else {
        0.5
    };
    k.clamp(0.0, 1.0)
}

/// A metric cell's colour: light to dark blue as `k` goes from 0 to 1; white for no value.
fn metric_color(k: Option<f64>) -> RGBColor {
    let Some(k) = k else {
        return RGBColor(255, 255, 255);
    };
    let mix = |light: f64, dark: f64| (light + (dark - light) * k).round() as u8;
    RGBColor(mix(239.0, 8.0), mix(243.0, 48.0), mix(255.0, 107.0))
}

/// Text for a fraction as a percentage.
pub(crate) fn percent(v: f64) -> String {
    if v <= 0.0 {
        "0".to_owned()
    } else if v >= 0.1 {
        format!("{:.0}%", v * 100.0)
    } else if v >= 0.001 {
        format!("{:.1}%", v * 100.0)
    } else {
        format!("{:.3}%", v * 100.0)
    }
}

/// Draws one heatmap panel per facet, side by side, with a shared colour scale.
pub(crate) fn draw_heatmap<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    map: &Heatmap,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(fail)?;
    let titled = root.titled(&map.title, (FONT, 22)).map_err(fail)?;
    let (body, foot) = titled.split_vertically(titled.dim_in_pixel().1 - 26);
    foot.draw_text(
        &map.caption,
        &(FONT, 13).into_font().color(&RGBColor(90, 90, 90)),
        (12, 4),
    )
    .map_err(fail)?;
    let panels = body.split_evenly((1, map.panels.len().max(1)));
    for (panel, area) in map.panels.iter().zip(panels.iter()) {
        draw_heatmap_panel(area, map, panel)?;
    }
    root.present().map_err(fail)
}

/// Pixel margins of a heatmap panel: left (row labels), right, top (panel title), bottom.
const PANEL_MARGINS: (i32, i32, i32, i32) = (100, 16, 36, 64);

/// One heatmap panel, drawn in pixels: a grid of cells with the value printed in each, row
/// labels on the left and column labels below. (Drawn by hand rather than with a plotters
/// chart, whose segmented axes cannot show a single category.)
fn draw_heatmap_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    map: &Heatmap,
    panel: &super::HeatmapPanel,
) -> Result<(), String> {
    use plotters::style::text_anchor::{HPos, Pos, VPos};
    let (w, h) = area.dim_in_pixel();
    let (left, right, top, bottom) = PANEL_MARGINS;
    let cols = map.col_labels.len().max(1) as i32;
    let rows = map.row_labels.len().max(1) as i32;
    let cell_w = ((w as i32 - left - right) / cols).max(1);
    let cell_h = ((h as i32 - top - bottom) / rows).max(1);
    let centred = |size: u32, v: VPos| {
        (FONT, size)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Center, v))
    };
    let grid_w = cell_w * cols;
    area.draw(&Text::new(
        panel.title.clone(),
        (left + grid_w / 2, 8),
        centred(16, VPos::Top),
    ))
    .map_err(fail)?;
    for (r, row) in panel.cells.iter().enumerate() {
        // Row 0 at the bottom, as on a chart's y axis.
        let y0 = top + (rows - 1 - r as i32) * cell_h;
        for (c, value) in row.iter().enumerate() {
            let x0 = left + c as i32 * cell_w;
            let cell = [(x0, y0), (x0 + cell_w, y0 + cell_h)];
            let (fill, dark) = match map.kind {
                HeatKind::Anomaly => (
                    heat_color(*value, map.max_value),
                    value.is_some_and(|x| map.max_value > 0.0 && x / map.max_value > 0.55),
                ),
                HeatKind::Metric { min, log } => {
                    let k = value.map(|v| metric_position(v, min, map.max_value, log));
                    (metric_color(k), k.is_some_and(|k| k > 0.55))
                }
            };
            area.draw(&Rectangle::new(cell, fill.filled()))
                .map_err(fail)?;
            area.draw(&Rectangle::new(cell, WHITE.stroke_width(1)))
                .map_err(fail)?;
            let color = if dark { WHITE } else { BLACK };
            let text = match map.kind {
                HeatKind::Anomaly => value.map_or_else(|| "n/a".to_owned(), percent),
                HeatKind::Metric { .. } => value.map_or_else(|| "n/a".to_owned(), compact),
            };
            let style = centred(13, VPos::Center).color(&color);
            area.draw(&Text::new(text, (x0 + cell_w / 2, y0 + cell_h / 2), style))
                .map_err(fail)?;
        }
    }
    draw_heatmap_labels(area, map, (cell_w, cell_h))
}

/// Row labels left of the grid, column labels below it, and both axis names.
fn draw_heatmap_labels<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    map: &Heatmap,
    (cell_w, cell_h): (i32, i32),
) -> Result<(), String> {
    use plotters::style::text_anchor::{HPos, Pos, VPos};
    let (left, _, top, _) = PANEL_MARGINS;
    let rows = map.row_labels.len().max(1) as i32;
    let grid_bottom = top + rows * cell_h;
    let grid_w = cell_w * map.col_labels.len().max(1) as i32;
    for (r, label) in map.row_labels.iter().enumerate() {
        let y = top + (rows - 1 - r as i32) * cell_h + cell_h / 2;
        let style = (FONT, 12)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Right, VPos::Center));
        area.draw(&Text::new(label.clone(), (left - 8, y), style))
            .map_err(fail)?;
    }
    for (c, label) in map.col_labels.iter().enumerate() {
        let x = left + c as i32 * cell_w + cell_w / 2;
        let style = (FONT, 12)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Center, VPos::Top));
        area.draw(&Text::new(label.clone(), (x, grid_bottom + 6), style))
            .map_err(fail)?;
    }
    let axis_style = (FONT, 14)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, VPos::Top));
    area.draw(&Text::new(
        map.col_axis.clone(),
        (left + grid_w / 2, grid_bottom + 28),
        axis_style,
    ))
    .map_err(fail)?;
    if !map.row_axis.is_empty() {
        let style = (FONT, 13)
            .into_font()
            .transform(FontTransform::Rotate270)
            .color(&BLACK)
            .pos(Pos::new(HPos::Center, VPos::Top));
        area.draw(&Text::new(
            map.row_axis.clone(),
            (4, top + rows * cell_h / 2),
            style,
        ))
        .map_err(fail)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_legend_names_wrap_after_a_dot() {
        assert_eq!(
            wrap_name("max.in.flight.requests.per.connection=5", 26),
            vec!["max.in.flight.requests.", "per.connection=5"]
        );
        assert_eq!(
            wrap_name("batch.size=16 KiB", 26),
            vec!["batch.size=16 KiB"]
        );
        assert_eq!(
            wrap_name("p99 send-to-ack latency (ms)", 26),
            vec!["p99 send-to-ack latency", "(ms)"]
        );
    }
}
