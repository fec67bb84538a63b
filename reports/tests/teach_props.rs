//! Property tests of the teaching renderers over arbitrary traces: any mix of known and unknown
//! components, kinds and fields renders without error, with one diagram row per event and every
//! row the same width up to its event text.

use proptest::prelude::*;
use reports::OutcomeSummary;

const COMPONENTS: &[&str] = &[
    "app",
    "producer",
    "net",
    "controller",
    "faults",
    "broker/0",
    "broker/1",
    "broker/7",
    "mystery",
];
const KINDS: &[&str] = &[
    "send",
    "ack",
    "fail",
    "batch_new",
    "drain",
    "request",
    "response",
    "retry",
    "expire",
    "epoch_bump",
    "request_timeout",
    "metadata",
    "drop",
    "append",
    "duplicate",
    "out_of_order",
    "respond",
    "not_enough_replicas",
    "crash",
    "restart",
    "truncate",
    "become_leader",
    "become_follower",
    "hw",
    "isr_shrink",
    "isr_expand",
    "elect",
    "offline",
    "cut",
    "heal",
    "drop_responses",
    "frobnicate",
];
const KEYS: &[&str] = &[
    "record",
    "key",
    "partition",
    "batch",
    "node",
    "pid",
    "epoch",
    "seq",
    "records",
    "attempt",
    "corr",
    "leader",
    "from",
    "to",
    "msg",
    "offset",
    "isr",
    "broker",
    "a",
    "b",
    "unclean",
    "odd",
];

fn field_value() -> impl Strategy<Value = String> {
    prop_oneof![
        (-2i64..12).prop_map(|n| n.to_string()),
        prop_oneof![
            Just("broker/1"),
            Just("client"),
            Just("NONE"),
            Just("x\"y<z>")
        ]
        .prop_map(|s| serde_json::to_string(s).expect("string serialises")),
        Just("true".to_owned()),
        Just("[0,1]".to_owned()),
        Just("null".to_owned()),
    ]
}

fn event_line() -> impl Strategy<Value = String> {
    (
        0u64..10_000_000_000,
        prop::sample::select(COMPONENTS),
        prop::sample::select(KINDS),
        prop::collection::vec((prop::sample::select(KEYS), field_value()), 0..6),
    )
        .prop_map(|(t, c, k, fields)| {
            let mut seen = Vec::new();
            let parts: Vec<String> = fields
                .into_iter()
                .filter(|(key, _)| {
                    let fresh = !seen.contains(key);
                    seen.push(*key);
                    fresh
                })
                .map(|(key, value)| format!("\"{key}\":{value}"))
                .collect();
            format!(
                "{{\"t\":{t},\"c\":\"{c}\",\"k\":\"{k}\",\"f\":{{{}}}}}",
                parts.join(",")
            )
        })
}

proptest! {
    #[test]
    fn any_trace_renders_one_row_per_event(lines in prop::collection::vec(event_line(), 0..40)) {
        let trace = lines.join("\n");
        let summary = OutcomeSummary::default();
        let text = reports::render_terminal(&trace, &summary).expect("every line is valid JSON");
        let rows: Vec<&str> = text
            .lines()
            .filter(|l| l.len() > 11 && l.as_bytes()[11] == b'|' && l[..10].trim().contains('.'))
            .collect();
        prop_assert_eq!(rows.len(), lines.len());
        let widths: Vec<usize> = rows.iter().map(|r| r.find(" | ").unwrap_or(0)).collect();
        prop_assert!(widths.iter().all(|w| *w == 10));
        // The header's separator line marks where the lanes end with its second `+`.
        let separator = text.lines().find(|l| l.starts_with("-----")).expect("header separator");
        let lanes_end = separator.rfind('+').expect("two column joints");
        prop_assert!(
            rows.iter().all(|r| r.as_bytes().get(lanes_end) == Some(&b'|')),
            "every row's lanes end at column {}", lanes_end
        );
        let svg = reports::render_svg(&trace, &summary).expect("svg");
        prop_assert_eq!(svg.matches("<g class=\"step\"").count(), lines.len());
        prop_assert!(!svg.contains("x\"y<z>"), "text is escaped in SVG");
    }
}
