//! The readable summary `linger run` prints: metrics grouped as throughput, latency, batching,
//! the checker's outcome classes and Kafka's producer metrics, then warnings.

use models::producer::metrics::{METRIC_GROUPS, METRIC_NAMES};

use crate::runner::RunOutcome;
use crate::stats::Summary;

/// The display groups: [`METRIC_GROUPS`] over [`METRIC_NAMES`]; the last group also takes any
/// name the schema does not list.
fn groups() -> Vec<(&'static str, &'static [&'static str])> {
    let mut start = 0;
    METRIC_GROUPS
        .iter()
        .map(|&(title, count)| {
            let members = &METRIC_NAMES[start..start + count];
            start += count;
            (title, members)
        })
        .collect()
}

/// Formats a metric value for people: integers plainly, others with a few decimals, and an
/// empty value (NaN: nothing to measure, such as a latency when nothing was acknowledged) as
/// "n/a", never as 0.
pub fn human(value: f64) -> String {
    if value.is_nan() {
        return "n/a".to_string();
    }
    if !value.is_finite() {
        return "-".to_string();
    }
    if value.fract() == 0.0 && value.abs() < 1e15 {
        return group_thousands(&format!("{value:.0}"));
    }
    let decimals = if value.abs() >= 1000.0 {
        1
    } else if value.abs() >= 1.0 {
        3
    } else {
        4
    };
    let text = format!("{value:.decimals$}");
    match text.split_once('.') {
        Some((whole, fraction)) => format!("{}.{fraction}", group_thousands(whole)),
        None => text,
    }
}

fn group_thousands(digits: &str) -> String {
    let (sign, digits) = digits
        .strip_prefix('-')
        .map_or(("", digits), |rest| ("-", rest));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}")
}

/// The metric table of one or more replicates: the value of one run, or mean ± 95% CI.
pub fn metrics_table(outcomes: &[RunOutcome]) -> String {
    let Some(first) = outcomes.first() else {
        return String::new();
    };
    let names: Vec<&str> = first
        .metrics
        .iter()
        .map(|(name, _)| name.as_str())
        .collect();
    let width = names.iter().map(|n| n.len()).max().unwrap_or(0);
    let mut out = String::new();
    let groups = groups();
    for (index, (title, members)) in groups.iter().enumerate() {
        let last = index == groups.len() - 1;
        let in_group =
            |name: &str| members.contains(&name) || (last && !METRIC_NAMES.contains(&name));
        let rows: Vec<usize> = (0..names.len()).filter(|&i| in_group(names[i])).collect();
        if rows.is_empty() {
            continue;
        }
        out.push_str(&format!("{title}\n"));
        for i in rows {
            let values: Vec<f64> = outcomes
                .iter()
                .filter_map(|o| o.metrics.get(i).map(|m| m.1))
                .collect();
            out.push_str(&format!("  {:<width$}  {}\n", names[i], cell(&values)));
        }
    }
    out
}

fn cell(values: &[f64]) -> String {
    if values.len() == 1 {
        return human(values[0]);
    }
    let summary = Summary::of(values);
    if summary.count == 0 {
        return format!("n/a (no replicate had a value, n={})", values.len());
    }
    format!(
        "{} ± {} (95% CI, n={})",
        human(summary.mean),
        human(summary.ci95_half_width),
        summary.count
    )
}

/// The warnings of every replicate, each once, in first-seen order.
pub fn distinct_warnings(outcomes: &[RunOutcome]) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for warning in outcomes.iter().flat_map(|o| &o.warnings) {
        if !seen.contains(warning) {
            seen.push(warning.clone());
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_numbers() {
        assert_eq!(human(1234567.0), "1,234,567");
        assert_eq!(human(-1234.5), "-1,234.5");
        assert_eq!(human(2.5), "2.500");
        assert_eq!(human(0.01234), "0.0123");
        assert_eq!(human(f64::NAN), "n/a");
    }

    #[test]
    fn table_groups_metrics_and_summarises_replicates() {
        let outcome = |x: f64| RunOutcome {
            metrics: vec![
                ("throughput_records_per_s".into(), x),
                ("lost_acked".into(), 0.0),
                ("batch-size-avg".into(), 100.0),
            ],
            warnings: vec!["w".into()],
        };
        let one = metrics_table(&[outcome(10.0)]);
        assert!(
            one.starts_with("throughput\n  throughput_records_per_s  10\n"),
            "{one}"
        );
        assert!(one.contains("delivery checker"), "{one}");
        assert!(
            one.contains("batching and Kafka producer metrics\n  batch-size-avg"),
            "{one}"
        );
        let two = metrics_table(&[outcome(10.0), outcome(20.0)]);
        assert!(two.contains("15 ± "), "{two}");
        assert_eq!(distinct_warnings(&[outcome(1.0), outcome(2.0)]), ["w"]);
    }
}
