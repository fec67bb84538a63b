//! Teaching diagrams of the fixture traces: golden terminal snapshots (update with
//! `INSTA_UPDATE=always` or `cargo insta review`), SVG and HTML structure, and bad input.

use std::path::Path;

use reports::{Acks, DeliveryConfig, OutcomeSummary};

fn delivery(acks: Acks, enable_idempotence: bool) -> DeliveryConfig {
    DeliveryConfig {
        acks: Some(acks),
        enable_idempotence: Some(enable_idempotence),
        retries: Some(2_147_483_647),
        max_in_flight: Some(5),
    }
}

fn trace(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/traces")
        .join(format!("{name}.jsonl"));
    std::fs::read_to_string(&path).expect("fixture trace exists")
}

fn idempotent_summary() -> OutcomeSummary {
    OutcomeSummary {
        scenario: "idempotent-retry-after-lost-response".into(),
        description: "acks=all, enable.idempotence=true: the leader writes a batch, its response is lost, the producer retries.".into(),
        records_sent: 3,
        records_acked: 3,
        delivered_once: 3,
        delivery: delivery(Acks::All, true),
        ..OutcomeSummary::default()
    }
}

fn duplicate_summary() -> OutcomeSummary {
    OutcomeSummary {
        scenario: "retry-without-idempotence".into(),
        description: "acks=all, enable.idempotence=false: the same lost response, but the broker cannot recognise the retry.".into(),
        records_sent: 3,
        records_acked: 3,
        duplicated: 3,
        ..OutcomeSummary::default()
    }
}

fn loss_summary() -> OutcomeSummary {
    OutcomeSummary {
        scenario: "acks1-leader-crash".into(),
        description:
            "acks=1: the leader acknowledges a record before followers copy it, then crashes."
                .into(),
        records_sent: 2,
        records_acked: 2,
        delivered_once: 1,
        lost_acked: 1,
        ..OutcomeSummary::default()
    }
}

#[test]
fn terminal_idempotent_lost_response() {
    let text = reports::render_terminal(&trace("idempotent_lost_response"), &idempotent_summary())
        .expect("renders");
    assert!(
        text.contains("PID 1000 epoch 0 SEQ 0..2"),
        "PID/epoch/SEQ on the produce request"
    );
    assert!(text.contains("x") && text.contains("LOST on the network"));
    assert!(text.contains("DUPLICATE PID 1000 epoch 0 SEQ 0"));
    assert!(text.contains("Exactly-once held"));
    insta::assert_snapshot!("terminal_idempotent_lost_response", text);
}

#[test]
fn terminal_non_idempotent_duplicate() {
    let text = reports::render_terminal(&trace("non_idempotent_duplicate"), &duplicate_summary())
        .expect("renders");
    let prose = text.replace('\n', " ");
    assert!(prose.contains("At-least-once held but exactly-once did not"));
    assert!(prose.contains("without idempotence the broker had no PID and SEQ"));
    assert!(text.contains("Produce #2 [b0 no PID/SEQ (not idempotent)]"));
    insta::assert_snapshot!("terminal_non_idempotent_duplicate", text);
}

#[test]
fn terminal_acks1_leader_crash() {
    let text =
        reports::render_terminal(&trace("acks1_leader_crash"), &loss_summary()).expect("renders");
    assert!(text.contains("TRUNCATE p0 to offset 0: 1 record removed"));
    assert!(text.contains("ELECT: p0 leader broker/1"));
    assert!(text.contains("At-least-once broke"));
    assert!(
        text.contains("producer wakeup reason=poll"),
        "unknown kinds are shown generically"
    );
    insta::assert_snapshot!("terminal_acks1_leader_crash", text);
}

#[test]
fn rendering_is_deterministic() {
    let t = trace("acks1_leader_crash");
    let a = reports::render_terminal(&t, &loss_summary()).expect("renders");
    let b = reports::render_terminal(&t, &loss_summary()).expect("renders");
    assert_eq!(a, b);
    assert_eq!(
        reports::render_svg(&t, &loss_summary()).expect("svg"),
        reports::render_svg(&t, &loss_summary()).expect("svg")
    );
}

#[test]
fn svg_has_one_group_per_event_and_lanes() {
    let t = trace("idempotent_lost_response");
    let svg = reports::render_svg(&t, &idempotent_summary()).expect("renders");
    assert!(svg.starts_with("<svg"));
    assert!(svg.trim_end().ends_with("</svg>"));
    let events = t.lines().filter(|l| !l.trim().is_empty()).count();
    assert_eq!(svg.matches("<g class=\"step\"").count(), events);
    for lane in ["application", "producer", "broker/0"] {
        assert!(svg.contains(&format!(">{lane}</text>")), "lane {lane}");
    }
    assert!(svg.contains("leads p0"));
}

#[test]
fn svg_acks1_leader_crash_golden() {
    let svg = reports::render_svg(&trace("acks1_leader_crash"), &loss_summary()).expect("renders");
    insta::assert_snapshot!("svg_acks1_leader_crash", svg);
}

#[test]
fn html_page_is_self_contained_with_step_control() {
    let html =
        reports::render_html(&trace("acks1_leader_crash"), &loss_summary()).expect("renders");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_eq!(html.matches("<svg").count(), 1);
    for needle in [
        "id=\"prev\"",
        "id=\"next\"",
        "ArrowRight",
        "ArrowLeft",
        "classList.add('current')",
    ] {
        assert!(html.contains(needle), "missing {needle}");
    }
    for banned in ["src=", "href=", "https://", "@import"] {
        assert!(
            !html.contains(banned),
            "page must not fetch anything: found {banned}"
        );
    }
}

#[test]
fn missing_fields_show_a_question_mark() {
    let text = reports::render_terminal(
        "{\"t\":1000000,\"c\":\"producer\",\"k\":\"drain\",\"f\":{\"batch\":4}}\n",
        &OutcomeSummary::default(),
    )
    .expect("renders");
    assert!(
        text.contains("drain b4 p? for broker/?: PID ? epoch ? SEQ ? (? records, attempt ?)"),
        "{text}"
    );
}

#[test]
fn verdict_mentions_failed_but_present_and_unfinished_records() {
    let summary = OutcomeSummary {
        records_sent: 5,
        records_acked: 2,
        records_failed: 2,
        failed_present: 1,
        unfinished: 1,
        delivered_once: 3,
        delivery: delivery(Acks::All, true),
        ..OutcomeSummary::default()
    };
    let text = reports::render_terminal("", &summary)
        .expect("renders")
        .replace('\n', " ");
    assert!(text.contains("Exactly-once held"), "{text}");
    assert!(text.contains("1 of them are in the log anyway"), "{text}");
    assert!(text.contains("1 record(s) had no answer"), "{text}");
    let empty = reports::render_terminal("", &OutcomeSummary::default()).expect("renders");
    assert!(empty.contains("no delivery guarantee is judged"), "{empty}");
}

#[test]
fn long_traces_are_cut_with_a_note() {
    let line = "{\"t\":1000,\"c\":\"app\",\"k\":\"send\",\"f\":{\"record\":1}}\n";
    let trace = line.repeat(2_005);
    let text = reports::render_terminal(&trace, &OutcomeSummary::default()).expect("renders");
    assert_eq!(text.matches("send record 1").count(), 2_000);
    assert!(
        text.contains("... 5 more events not drawn"),
        "{}",
        &text[text.len() - 600..]
    );
}

#[test]
fn malformed_trace_line_is_a_clear_error() {
    let err = reports::render_html(
        "{\"t\":0,\"c\":\"app\",\"k\":\"send\",\"f\":{}}\n{oops\n",
        &OutcomeSummary::default(),
    )
    .expect_err("line 2 is not JSON");
    assert!(
        matches!(err, reports::ReportError::Json { line: Some(2), .. }),
        "{err:?}"
    );
}

#[test]
fn headline_follows_the_configuration_not_only_the_counts() {
    // The acks0-lost outcome: every record "acknowledged" (offset -1), one missing silently.
    let acks0 = OutcomeSummary {
        records_sent: 3,
        records_acked: 3,
        delivered_once: 2,
        silent_absent: 1,
        delivery: delivery(Acks::Zero, false),
        ..OutcomeSummary::default()
    };
    let text = reports::render_terminal("", &acks0)
        .expect("renders")
        .replace('\n', " ");
    assert!(text.contains("At most once (acks=0)"), "{text}");
    assert!(
        text.contains("1 record(s) are missing from the log"),
        "{text}"
    );
    assert!(!text.contains("Exactly-once held"), "{text}");
    let clean_counts = OutcomeSummary {
        records_sent: 3,
        records_acked: 3,
        delivered_once: 3,
        ..OutcomeSummary::default()
    };
    for (config, needle) in [
        (DeliveryConfig::default(), "No anomaly observed"),
        (
            delivery(Acks::All, false),
            "At-least-once held: every acknowledged",
        ),
        (delivery(Acks::All, true), "Exactly-once held"),
    ] {
        let summary = OutcomeSummary {
            delivery: config,
            ..clean_counts.clone()
        };
        let text = reports::render_terminal("", &summary)
            .expect("renders")
            .replace('\n', " ");
        assert!(text.contains(needle), "{needle}: {text}");
    }
}
