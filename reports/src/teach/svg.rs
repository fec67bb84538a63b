//! The diagram as an SVG picture: lanes as vertical lifelines, one row per event with the time
//! on the left, an arrow (or a lost arrow ending in a red cross, or a dot) across the lanes, and
//! the event text on the right. Each row is a `<g class="step">` with `data-step`, so the HTML
//! page can highlight one at a time.

use std::fmt::Write as _;

use super::OutcomeSummary;
use super::diagram::{Diagram, Shape, Step, Tone};
use super::trace::ms_text;
use crate::markup::escape_html;

const TIME_WIDTH: usize = 80;
/// The picture's width when the lanes leave room: readable on a 1024 px screen or page.
pub(crate) const TARGET_WIDTH: usize = 1024;
const LANE_WIDTH_MAX: usize = 110;
const LANE_WIDTH_MIN: usize = 78;
/// The narrowest event column: with more lanes than fit beside it, the picture grows instead.
const TEXT_WIDTH_MIN: usize = 360;
const HEADER_HEIGHT: usize = 56;
const ROW_HEIGHT: usize = 24;
const LINE_HEIGHT: usize = 18;
/// The extra height of each wrapped line of an event's text.
const WRAP_HEIGHT: usize = 15;
/// A generous width of one character of 12 px DejaVu Sans (bold), for wrapping: the real
/// average is about 7 px, so a wrapped line never runs past the picture's edge.
pub(crate) const CHAR_WIDTH: f64 = 7.4;

/// Where everything goes: lane width, the event column and each row's top and height.
struct Layout {
    lane_width: usize,
    width: usize,
    text_x: usize,
    /// The event text of each step, wrapped to the event column.
    lines: Vec<Vec<String>>,
    /// Top of each row, and the bottom of the last.
    tops: Vec<usize>,
}

impl Layout {
    fn of(diagram: &Diagram) -> Layout {
        let lanes = diagram.lanes.len().max(1);
        let room = TARGET_WIDTH - TIME_WIDTH - TEXT_WIDTH_MIN;
        let lane_width = (room / lanes).clamp(LANE_WIDTH_MIN, LANE_WIDTH_MAX);
        let lanes_right = TIME_WIDTH + lanes * lane_width;
        let width = TARGET_WIDTH.max(lanes_right + TEXT_WIDTH_MIN);
        let text_x = lanes_right + 8;
        let chars = chars_in(width - text_x - 8);
        let lines: Vec<Vec<String>> = diagram
            .steps
            .iter()
            .map(|step| wrapped(&step.text, chars))
            .collect();
        let mut tops = Vec::with_capacity(lines.len() + 1);
        let mut top = HEADER_HEIGHT;
        for step_lines in &lines {
            tops.push(top);
            top += ROW_HEIGHT + (step_lines.len().max(1) - 1) * WRAP_HEIGHT;
        }
        tops.push(top);
        Layout {
            lane_width,
            width,
            text_x,
            lines,
            tops,
        }
    }

    fn lane_x(&self, lane: usize) -> usize {
        TIME_WIDTH + lane * self.lane_width + self.lane_width / 2
    }

    /// The y of a row's arrow and first text line.
    fn row_y(&self, index: usize) -> usize {
        self.tops[index] + ROW_HEIGHT / 2
    }

    fn rows_bottom(&self) -> usize {
        self.tops[self.tops.len() - 1]
    }
}

/// How many characters fit in `pixels`.
fn chars_in(pixels: usize) -> usize {
    ((pixels as f64 / CHAR_WIDTH) as usize).max(8)
}

/// `text` in lines of at most `chars` characters, split at spaces (a word longer than a line
/// is cut).
fn wrapped(text: &str, chars: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for line in super::terminal::wrap(text, chars).lines() {
        let mut rest: &str = line;
        while rest.chars().count() > chars {
            let cut = rest
                .char_indices()
                .nth(chars)
                .map_or(rest.len(), |(i, _)| i);
            lines.push(rest[..cut].to_owned());
            rest = &rest[cut..];
        }
        lines.push(rest.to_owned());
    }
    if lines.is_empty() {
        lines.push(String::new());
    }
    lines
}

/// `text` cut to `chars` characters, with an ellipsis when cut.
fn clipped(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        return text.to_owned();
    }
    let kept: String = text.chars().take(chars.saturating_sub(1)).collect();
    format!("{kept}\u{2026}")
}

fn tone_color(tone: Tone) -> &'static str {
    match tone {
        Tone::Normal => "#333333",
        Tone::Fault => "#c0392b",
        Tone::Recovery => "#d35400",
        Tone::Guard => "#1e8449",
    }
}

/// Renders the picture, with the verdict as text below the rows.
pub(crate) fn render(diagram: &Diagram, summary: &OutcomeSummary, verdict: &[String]) -> String {
    let layout = Layout::of(diagram);
    let width = layout.width;
    let rows_bottom = layout.rows_bottom();
    let verdict_lines = verdict_text_lines(summary, verdict, chars_in(width - 20));
    let height = rows_bottom + 20 + verdict_lines.len() * LINE_HEIGHT + 10;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"DejaVu Sans, Verdana, sans-serif\" font-size=\"12\" class=\"sequence-diagram\">"
    );
    s.push_str("<defs><marker id=\"head\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"context-stroke\"/></marker></defs>\n");
    let _ = writeln!(
        s,
        "<rect x=\"0\" y=\"0\" width=\"{width}\" height=\"{height}\" fill=\"white\"/>"
    );
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"20\" text-anchor=\"end\" font-weight=\"bold\">time (ms)</text>",
        TIME_WIDTH - 8
    );
    let lane_chars = chars_in(layout.lane_width - 6);
    for (i, lane) in diagram.lanes.iter().enumerate() {
        let x = layout.lane_x(i);
        let _ = writeln!(
            s,
            "<text x=\"{x}\" y=\"20\" text-anchor=\"middle\" font-weight=\"bold\">{}</text>",
            escape_html(&clipped(&lane.name, lane_chars))
        );
        let _ = writeln!(
            s,
            "<text x=\"{x}\" y=\"36\" text-anchor=\"middle\" fill=\"#666\" font-size=\"11\">{}</text>",
            escape_html(&clipped(&lane.role, lane_chars))
        );
        let _ = writeln!(
            s,
            "<line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{rows_bottom}\" stroke=\"#bbb\" stroke-dasharray=\"4 3\"/>",
            HEADER_HEIGHT - 8
        );
    }
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"20\" font-weight=\"bold\">event</text>",
        layout.text_x
    );
    for (index, step) in diagram.steps.iter().enumerate() {
        step_svg(&mut s, &layout, index, step);
    }
    for (i, line) in verdict_lines.iter().enumerate() {
        let y = rows_bottom + 24 + i * LINE_HEIGHT;
        let weight = if i == 0 { " font-weight=\"bold\"" } else { "" };
        let _ = writeln!(
            s,
            "<text x=\"10\" y=\"{y}\"{weight}>{}</text>",
            escape_html(line)
        );
    }
    s.push_str("</svg>\n");
    s
}

fn verdict_text_lines(summary: &OutcomeSummary, verdict: &[String], chars: usize) -> Vec<String> {
    let mut lines = wrapped(&format!("Outcome: {}", super::counts_line(summary)), chars);
    for sentence in verdict {
        lines.extend(wrapped(sentence, chars));
    }
    lines
}

fn step_svg(s: &mut String, layout: &Layout, index: usize, step: &Step) {
    let y = layout.row_y(index);
    let top = layout.tops[index];
    let (width, row_height) = (layout.width, layout.tops[index + 1] - top);
    let lane_x = |lane| layout.lane_x(lane);
    let color = tone_color(step.tone);
    let _ = writeln!(
        s,
        "<g class=\"step\" id=\"step-{index}\" data-step=\"{index}\">"
    );
    let _ = writeln!(
        s,
        "<rect class=\"highlight\" x=\"0\" y=\"{top}\" width=\"{width}\" height=\"{row_height}\" fill=\"transparent\"/>"
    );
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"#555\">{}</text>",
        TIME_WIDTH - 8,
        y + 4,
        ms_text(step.t_ns)
    );
    match step.shape {
        Shape::Note => {}
        Shape::Mark { lane } => {
            let r = if step.tone == Tone::Normal { 4 } else { 6 };
            let _ = writeln!(
                s,
                "<circle cx=\"{}\" cy=\"{y}\" r=\"{r}\" fill=\"{color}\"/>",
                lane_x(lane)
            );
        }
        Shape::Arrow { from, to } => {
            let (x1, x2) = (lane_x(from), lane_x(to));
            let _ = writeln!(
                s,
                "<circle cx=\"{x1}\" cy=\"{y}\" r=\"3\" fill=\"{color}\"/>"
            );
            let _ = writeln!(
                s,
                "<line x1=\"{x1}\" y1=\"{y}\" x2=\"{x2}\" y2=\"{y}\" stroke=\"{color}\" stroke-width=\"1.5\" marker-end=\"url(#head)\"/>"
            );
        }
        Shape::Lost { from, to } => {
            let (x1, x2) = (lane_x(from), lane_x(to));
            let mid = (x1 + x2) / 2;
            let _ = writeln!(
                s,
                "<line x1=\"{x1}\" y1=\"{y}\" x2=\"{mid}\" y2=\"{y}\" stroke=\"{color}\" stroke-width=\"1.5\" stroke-dasharray=\"5 3\"/>"
            );
            let _ = writeln!(
                s,
                "<path d=\"M{},{} l10,10 m0,-10 l-10,10\" stroke=\"{color}\" stroke-width=\"2.5\"/>",
                mid - 5,
                y - 5
            );
        }
    }
    let weight = if step.tone == Tone::Normal {
        ""
    } else {
        " font-weight=\"bold\""
    };
    let text_x = layout.text_x;
    let _ = write!(
        s,
        "<text class=\"label\" x=\"{text_x}\" y=\"{}\" fill=\"{color}\"{weight}>",
        y + 4
    );
    for (i, line) in layout.lines[index].iter().enumerate() {
        let dy = if i == 0 { 0 } else { WRAP_HEIGHT };
        let _ = write!(
            s,
            "<tspan x=\"{text_x}\" dy=\"{dy}\">{}</tspan>",
            escape_html(line)
        );
    }
    s.push_str("</text>\n");
    s.push_str("</g>\n");
}
