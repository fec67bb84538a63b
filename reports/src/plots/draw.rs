//! Drawing the chart descriptions of `plots` with plotters, on any backend (SVG or bitmap).
//!
//! The same function draws the SVG embedded in reports and the PNG written next to it, so the two
//! always agree.

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::{Heatmap, LineChart, TradeOff, XScale};

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

/// Draws a line chart: one line per series, a dot at each mean and a 95% interval bar.
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
    let mut ctx = ChartBuilder::on(&area)
        .caption(&chart.title, (FONT, 22))
        .margin(15)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(fail)?;
    draw_line_mesh(&mut ctx, chart)?;
    for (index, series) in chart.series.iter().enumerate() {
        let color = PALETTE[index % PALETTE.len()];
        let line: Vec<(f64, f64)> = series.points.iter().map(|p| (p.x, p.mean)).collect();
        ctx.draw_series(LineSeries::new(line.clone(), color.stroke_width(2)))
            .map_err(fail)?
            .label(series.name.as_str())
            .legend(move |(x, y)| {
                EmptyElement::at((x, y))
                    + PathElement::new(vec![(0, 0), (20, 0)], color.stroke_width(2))
                    + Circle::new((10, 0), 4, color.filled())
            });
        ctx.draw_series(line.iter().map(|&p| Circle::new(p, 4, color.filled())))
            .map_err(fail)?;
        draw_error_bars(&mut ctx, &series.points, color)?;
    }
    ctx.configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(120, 120, 120))
        .label_font((FONT, 14))
        .draw()
        .map_err(fail)?;
    root.present().map_err(fail)
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

/// Draws the throughput-versus-p99 scatter with the Pareto-optimal configurations marked,
/// joined and labelled.
pub(crate) fn draw_trade_off<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &TradeOff,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(fail)?;
    let lat = chart.points.iter().map(|p| p.latency_ms);
    let thr = chart.points.iter().map(|p| p.throughput);
    let (x0, x1) = padded(
        lat.clone().fold(f64::MAX, f64::min),
        lat.fold(f64::MIN, f64::max),
    );
    let (y0, y1) = padded(
        thr.clone().fold(f64::MAX, f64::min),
        thr.fold(f64::MIN, f64::max),
    );
    let mut ctx = ChartBuilder::on(root)
        .caption(&chart.title, (FONT, 22))
        .margin(15)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(x0.max(0.0)..x1, y0.max(0.0)..y1)
        .map_err(fail)?;
    let labels = |v: &f64| compact(*v);
    ctx.configure_mesh()
        .x_desc(chart.x_label.as_str())
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
        .map_err(fail)?
        .label("dominated configuration")
        .legend(move |(x, y)| Circle::new((x + 10, y), 4, grey.filled()));
    let mut front: Vec<&super::TradeOffPoint> = chart.points.iter().filter(|p| p.pareto).collect();
    front.sort_by(|a, b| a.latency_ms.total_cmp(&b.latency_ms));
    let front_xy: Vec<(f64, f64)> = front.iter().map(|p| (p.latency_ms, p.throughput)).collect();
    ctx.draw_series(LineSeries::new(front_xy.clone(), red.stroke_width(1)))
        .map_err(fail)?;
    ctx.draw_series(front_xy.iter().map(|&p| Circle::new(p, 6, red.filled())))
        .map_err(fail)?
        .label("Pareto-optimal (no config is both faster and higher-throughput)")
        .legend(move |(x, y)| Circle::new((x + 10, y), 6, red.filled()));
    draw_front_labels(&mut ctx, &front, (x0.max(0.0), x1), red)?;
    ctx.configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(120, 120, 120))
        .label_font((FONT, 14))
        .draw()
        .map_err(fail)?;
    root.present().map_err(fail)
}

/// Labels the Pareto-optimal points: alternating above and below so neighbours do not collide,
/// and to the left of points near the right edge so labels stay inside the plot.
fn draw_front_labels<DB: DrawingBackend>(
    ctx: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    front: &[&super::TradeOffPoint],
    (x0, x1): (f64, f64),
    color: RGBColor,
) -> Result<(), String> {
    use plotters::style::text_anchor::{HPos, Pos, VPos};
    ctx.draw_series(front.iter().enumerate().map(|(i, p)| {
        let near_right = p.latency_ms > x0 + (x1 - x0) * 0.65;
        let (dx, h) = if near_right {
            (-10, HPos::Right)
        } else {
            (10, HPos::Left)
        };
        let (dy, v) = if i % 2 == 0 {
            (-8, VPos::Bottom)
        } else {
            (8, VPos::Top)
        };
        let style = (FONT, 12).into_font().color(&color).pos(Pos::new(h, v));
        EmptyElement::at((p.latency_ms, p.throughput)) + Text::new(p.label.clone(), (dx, dy), style)
    }))
    .map_err(fail)?;
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
            area.draw(&Rectangle::new(
                cell,
                heat_color(*value, map.max_value).filled(),
            ))
            .map_err(fail)?;
            area.draw(&Rectangle::new(cell, WHITE.stroke_width(1)))
                .map_err(fail)?;
            let dark = value.is_some_and(|x| map.max_value > 0.0 && x / map.max_value > 0.55);
            let color = if dark { WHITE } else { BLACK };
            let text = value.map_or_else(|| "n/a".to_owned(), percent);
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
