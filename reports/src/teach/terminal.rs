//! The diagram as monospace text for a terminal, in the spirit of the seed document's
//! `PID:0, SEQ:1 ---> ... <--x---` pictures: ASCII only, so it is byte-stable for golden
//! snapshots and renders the same in every terminal.

use super::OutcomeSummary;
use super::diagram::{Diagram, Shape, Tone};
use super::trace::ms_text;

/// Characters per lane.
const LANE_WIDTH: usize = 12;
/// Width of the time column.
const TIME_WIDTH: usize = 10;

fn centre(lane: usize) -> usize {
    lane * LANE_WIDTH + LANE_WIDTH / 2
}

/// Renders the whole diagram with its header, legend and verdict.
pub(crate) fn render(diagram: &Diagram, summary: &OutcomeSummary, verdict: &[String]) -> String {
    let width = diagram.lanes.len() * LANE_WIDTH;
    let mut out = String::new();
    if !summary.scenario.is_empty() {
        out.push_str(&format!("Scenario: {}\n", summary.scenario));
    }
    if !summary.description.is_empty() {
        out.push_str(&format!("{}\n", summary.description));
    }
    out.push('\n');
    let names: Vec<String> = diagram.lanes.iter().map(|l| l.name.clone()).collect();
    let roles: Vec<String> = diagram.lanes.iter().map(|l| short_role(&l.role)).collect();
    out.push_str(&format!(
        "{:>w$} | {} | event\n",
        "time (ms)",
        centred_labels(&names, width),
        w = TIME_WIDTH
    ));
    out.push_str(&format!(
        "{:>w$} | {} |\n",
        "",
        centred_labels(&roles, width),
        w = TIME_WIDTH
    ));
    out.push_str(&format!(
        "{}-+-{}-+-{}\n",
        "-".repeat(TIME_WIDTH),
        "-".repeat(width),
        "-".repeat(40)
    ));
    for step in &diagram.steps {
        let lanes = lane_row(diagram.lanes.len(), step.shape, step.tone);
        let line = format!(
            "{:>w$} | {} | {}",
            ms_text(step.t_ns),
            lanes,
            step.text,
            w = TIME_WIDTH
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push_str("\nLegend: o---> message, o---x message lost on the network, o event on that lane, * notable event\n");
    out.push_str(
        "(fault, retry, timeout, duplicate answer, truncation, election). Times are virtual ms.\n",
    );
    if diagram
        .steps
        .iter()
        .any(|s| s.text.contains("; stored SEQ "))
    {
        out.push_str("\"stored SEQ 0@0 1..2@1\": the batches the leader remembers for that producer id after the\n");
        out.push_str("append (sequences @ base offset; Kafka keeps the last five), which is how it recognises a retry.\n");
    }
    out.push('\n');
    out.push_str(&format!("Outcome: {}\n", super::counts_line(summary)));
    for sentence in verdict {
        out.push_str(&wrap(sentence, 100));
    }
    out
}

/// A role that fits a lane: `leads p0,p3,p6` becomes `leads 3 p.` when too long.
fn short_role(role: &str) -> String {
    if role.len() < LANE_WIDTH {
        return role.to_owned();
    }
    match role.strip_prefix("leads ") {
        Some(list) => format!("leads {} p.", list.split(',').count()),
        None => role.chars().take(LANE_WIDTH - 1).collect(),
    }
}

/// Lane labels centred on their lifelines, truncated to fit.
fn centred_labels(labels: &[String], width: usize) -> String {
    let mut row = vec![' '; width];
    for (lane, label) in labels.iter().enumerate() {
        let text: Vec<char> = label.chars().take(LANE_WIDTH - 1).collect();
        let start = centre(lane).saturating_sub(text.len() / 2);
        for (i, ch) in text.into_iter().enumerate() {
            if let Some(cell) = row.get_mut(start + i) {
                *cell = ch;
            }
        }
    }
    row.into_iter().collect()
}

/// The lifelines of one row with the step's mark or arrow drawn over them.
fn lane_row(lane_count: usize, shape: Shape, tone: Tone) -> String {
    let mut row = vec![' '; lane_count * LANE_WIDTH];
    for lane in 0..lane_count {
        row[centre(lane)] = '|';
    }
    let dot = if tone == Tone::Normal { 'o' } else { '*' };
    match shape {
        Shape::Note => {}
        Shape::Mark { lane } => row[centre(lane)] = dot,
        Shape::Arrow { from, to } => draw_arrow(&mut row, from, to, dot, None),
        Shape::Lost { from, to } => {
            let (a, b) = (centre(from), centre(to));
            let mid = if a < b {
                a + (b - a) / 2
            } else {
                b + (a - b) / 2
            };
            draw_arrow(&mut row, from, to, dot, Some(mid));
        }
    }
    row.into_iter().collect()
}

/// Draws `o----->` (or `<-----o`) between two lanes; with `lost_at`, the line stops there in an `x`.
fn draw_arrow(row: &mut [char], from: usize, to: usize, dot: char, lost_at: Option<usize>) {
    let (a, b) = (centre(from), centre(to));
    row[a] = dot;
    if a == b {
        return;
    }
    let cells: Vec<usize> = if a < b {
        (a + 1..b).collect()
    } else {
        (b + 1..a).rev().collect()
    };
    for &i in &cells {
        row[i] = '-';
        if Some(i) == lost_at {
            row[i] = 'x';
            // Past the loss point only the lifelines remain.
            let rest: Vec<usize> = cells
                .iter()
                .copied()
                .skip_while(|&c| c != i)
                .skip(1)
                .collect();
            for c in rest {
                row[c] = if (c % LANE_WIDTH) == LANE_WIDTH / 2 {
                    '|'
                } else {
                    ' '
                };
            }
            return;
        }
    }
    if let Some(&head) = cells.last() {
        row[head] = if a < b { '>' } else { '<' };
    }
}

/// Wraps a sentence at word boundaries, each line ending in a newline.
pub(crate) fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrows_point_the_right_way_and_lost_ones_stop_at_x() {
        let pad = " ".repeat(6);
        let right = lane_row(3, Shape::Arrow { from: 0, to: 2 }, Tone::Normal);
        assert_eq!(right.trim_end(), format!("{pad}o{}>|", "-".repeat(22)));
        let left = lane_row(3, Shape::Arrow { from: 2, to: 0 }, Tone::Normal);
        assert_eq!(left.trim_end(), format!("{pad}|<{}o", "-".repeat(22)));
        // Lost half way (at the middle lane's lifeline): the far half shows only lifelines.
        let lost = lane_row(3, Shape::Lost { from: 2, to: 0 }, Tone::Fault);
        assert_eq!(
            lost.trim_end(),
            format!("{pad}|{}x{}*", " ".repeat(11), "-".repeat(11))
        );
    }

    #[test]
    fn long_roles_are_shortened_to_fit_a_lane() {
        assert_eq!(short_role("leads p0,p3"), "leads p0,p3");
        assert_eq!(short_role("leads p0,p3,p6"), "leads 3 p.");
        assert_eq!(short_role("accumulator+sender"), "accumulator");
    }

    #[test]
    fn wrap_breaks_at_words() {
        assert_eq!(wrap("aaa bbb ccc", 7), "aaa bbb\nccc\n");
    }
}
