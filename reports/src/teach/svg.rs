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
const LANE_WIDTH: usize = 120;
const TEXT_WIDTH: usize = 780;
const HEADER_HEIGHT: usize = 56;
const ROW_HEIGHT: usize = 24;
const LINE_HEIGHT: usize = 18;

fn lane_x(lane: usize) -> usize {
    TIME_WIDTH + lane * LANE_WIDTH + LANE_WIDTH / 2
}

fn row_y(index: usize) -> usize {
    HEADER_HEIGHT + index * ROW_HEIGHT + ROW_HEIGHT / 2
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
    let lanes_width = diagram.lanes.len() * LANE_WIDTH;
    let width = TIME_WIDTH + lanes_width + TEXT_WIDTH;
    let rows_bottom = HEADER_HEIGHT + diagram.steps.len() * ROW_HEIGHT;
    let verdict_lines = verdict_text_lines(summary, verdict);
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
    for (i, lane) in diagram.lanes.iter().enumerate() {
        let x = lane_x(i);
        let _ = writeln!(
            s,
            "<text x=\"{x}\" y=\"20\" text-anchor=\"middle\" font-weight=\"bold\">{}</text>",
            escape_html(&lane.name)
        );
        let _ = writeln!(
            s,
            "<text x=\"{x}\" y=\"36\" text-anchor=\"middle\" fill=\"#666\" font-size=\"11\">{}</text>",
            escape_html(&lane.role)
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
        TIME_WIDTH + lanes_width + 8
    );
    for (index, step) in diagram.steps.iter().enumerate() {
        step_svg(&mut s, index, step, width);
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

fn verdict_text_lines(summary: &OutcomeSummary, verdict: &[String]) -> Vec<String> {
    let mut lines = vec![format!("Outcome: {}", super::counts_line(summary))];
    for sentence in verdict {
        lines.extend(
            super::terminal::wrap(sentence, 150)
                .lines()
                .map(str::to_owned),
        );
    }
    lines
}

fn step_svg(s: &mut String, index: usize, step: &Step, width: usize) {
    let y = row_y(index);
    let top = y - ROW_HEIGHT / 2;
    let color = tone_color(step.tone);
    let _ = writeln!(
        s,
        "<g class=\"step\" id=\"step-{index}\" data-step=\"{index}\">"
    );
    let _ = writeln!(
        s,
        "<rect class=\"highlight\" x=\"0\" y=\"{top}\" width=\"{width}\" height=\"{ROW_HEIGHT}\" fill=\"transparent\"/>"
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
    let text_x = TIME_WIDTH + (width - TIME_WIDTH - TEXT_WIDTH) + 8;
    let _ = writeln!(
        s,
        "<text class=\"label\" x=\"{text_x}\" y=\"{}\" fill=\"{color}\"{weight}>{}</text>",
        y + 4,
        escape_html(&step.text)
    );
    s.push_str("</g>\n");
}
