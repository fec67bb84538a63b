//! The sender differential against the real Kafka `Sender` (over Kafka's test client), in
//! `cargo test`: hand-written scripts of the sender's main paths give the same decisions on
//! both sides, the differences that remain are pinned by scripts where they show, and a small
//! generated sample runs end to end. Needs `java` and `mvn` (Maven resolves kafka-clients and
//! its test jar from Maven Central on the first run); without them each test prints
//! "skipped: ..." and returns.

use std::path::PathBuf;

use experiments::crosscheck::sender::{self, SenderScript};
use experiments::crosscheck::{self, Options};

fn project() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("crosscheck")
}

fn skip_reason() -> Option<String> {
    match crosscheck::java::check_tools() {
        Ok(()) => None,
        Err(error) => Some(error.to_string()),
    }
}

const HEADER: &str = r#""batch_size":1000,"linger_ms":5,"buffer_memory":1048576,"max_request_size":1048576,"delivery_timeout_ms":1000,"request_timeout_ms":300,"retry_backoff_ms":20"#;

fn script(number: u64, settings: &str, ops: &[&str]) -> String {
    let mut text = format!("{{\"script\":{number},{HEADER},{settings}}}\n");
    for op in ops {
        text.push_str(op);
        text.push('\n');
    }
    text.push_str("{\"op\":\"end\"}\n");
    text
}

/// Scripts of the sender's main paths, each agreeing with Kafka decision by decision.
fn agreeing_scripts() -> Vec<(&'static str, String)> {
    let plain = r#""retries":5,"max_in_flight":5,"idempotence":false,"acks_all":true,"brokers":2,"leaders":[0,1,0]"#;
    let idempotent = r#""retries":5,"max_in_flight":5,"idempotence":true,"acks_all":true,"brokers":2,"leaders":[0,1,0]"#;
    let one_in_flight = r#""retries":0,"max_in_flight":1,"idempotence":false,"acks_all":false,"brokers":1,"leaders":[0]"#;
    vec![
        (
            "a batch leaves after linger.ms and its records ack at the offsets given",
            script(
                0,
                idempotent,
                &[
                    r#"{"op":"append","t":1,"partition":0,"value":100}"#,
                    r#"{"op":"append","t":2,"partition":0,"value":100}"#,
                    r#"{"op":"append","t":2,"partition":2,"value":100}"#,
                    r#"{"op":"advance","t":10}"#,
                    r#"{"op":"respond","t":12,"node":0,"partitions":[{"partition":0,"error":"NONE","base_offset":40},{"partition":2,"error":"NONE","base_offset":7}]}"#,
                    r#"{"op":"append","t":13,"partition":0,"value":100}"#,
                    r#"{"op":"advance","t":30}"#,
                    r#"{"op":"respond","t":31,"node":0,"partitions":[{"partition":0,"error":"NONE","base_offset":42}]}"#,
                ],
            ),
        ),
        (
            "a reset connection fails its request and the batch goes again after retry.backoff.ms",
            script(
                1,
                plain,
                &[
                    r#"{"op":"append","t":0,"partition":1,"value":100}"#,
                    r#"{"op":"advance","t":6}"#,
                    r#"{"op":"disconnect","t":7,"node":1}"#,
                    r#"{"op":"advance","t":50}"#,
                    r#"{"op":"respond","t":51,"node":1,"partitions":[{"partition":1,"error":"NONE","base_offset":0}]}"#,
                ],
            ),
        ),
        (
            "a retriable error is retried after the backoff; with no retries left the record fails",
            script(
                2,
                one_in_flight,
                &[
                    r#"{"op":"append","t":0,"partition":0,"value":100}"#,
                    r#"{"op":"append","t":1,"partition":0,"value":100}"#,
                    r#"{"op":"advance","t":6}"#,
                    r#"{"op":"respond","t":8,"node":0,"partitions":[{"partition":0,"error":"NOT_ENOUGH_REPLICAS","base_offset":-1}]}"#,
                    r#"{"op":"advance","t":20}"#,
                    r#"{"op":"respond","t":21,"node":0,"partitions":[{"partition":0,"error":"NONE","base_offset":0}]}"#,
                ],
            ),
        ),
        (
            "sequences run on per partition; an out-of-order sequence bumps the epoch",
            script(
                3,
                idempotent,
                &[
                    r#"{"op":"append","t":0,"partition":0,"value":100}"#,
                    r#"{"op":"advance","t":5}"#,
                    r#"{"op":"append","t":6,"partition":0,"value":100}"#,
                    r#"{"op":"advance","t":11}"#,
                    r#"{"op":"respond","t":12,"node":0,"partitions":[{"partition":0,"error":"NONE","base_offset":0}]}"#,
                    r#"{"op":"respond","t":13,"node":0,"partitions":[{"partition":0,"error":"OUT_OF_ORDER_SEQUENCE_NUMBER","base_offset":-1}]}"#,
                    r#"{"op":"append","t":14,"partition":0,"value":100}"#,
                    r#"{"op":"advance","t":40}"#,
                    r#"{"op":"respond","t":41,"node":0,"partitions":[{"partition":0,"error":"NONE","base_offset":1}]}"#,
                ],
            ),
        ),
        (
            "a batch nobody answers expires at delivery.timeout.ms",
            script(
                4,
                plain,
                &[
                    r#"{"op":"append","t":0,"partition":2,"value":100}"#,
                    r#"{"op":"advance","t":2000}"#,
                ],
            ),
        ),
    ]
}

#[test]
fn the_sender_s_main_paths_match_the_kafka_sender_decision_by_decision() {
    if let Some(reason) = skip_reason() {
        println!("skipped: {reason}");
        return;
    }
    for (what, text) in agreeing_scripts() {
        let report = sender::replay_text(&text, &project()).expect("the differential runs");
        assert!(
            report.kafka_clients.starts_with("4.0."),
            "{}",
            report.kafka_clients
        );
        assert!(
            report.differences.is_empty(),
            "{what}: linger and Kafka differ: {:#?}",
            report.differences
        );
        assert!(
            report.coverage.get("request sent").copied().unwrap_or(0) > 0,
            "{what}: no request was sent: {:?}",
            report.coverage
        );
    }
}

/// The difference the driver hides by default, with Kafka's own timing: linger's sender wakes
/// at a request's deadline, so the timed-out request's batch goes again one backoff after it;
/// Kafka's I/O thread notices the timeout only when it next wakes, which for an idle producer
/// is after up to another `request.timeout.ms` (`NetworkClient.poll` sleeps at most that long,
/// and the test is strictly after the timeout on a millisecond clock).
#[test]
fn kafka_notices_a_timed_out_request_at_its_next_wake_up_linger_at_the_deadline() {
    if let Some(reason) = skip_reason() {
        println!("skipped: {reason}");
        return;
    }
    let settings = r#""retries":5,"max_in_flight":5,"idempotence":false,"acks_all":true,"brokers":1,"leaders":[0],"kafka_request_timeout_wake":true"#;
    let text = script(
        0,
        settings,
        &[
            r#"{"op":"append","t":0,"partition":0,"value":100}"#,
            r#"{"op":"advance","t":900}"#,
        ],
    );
    let report = sender::replay_text(&text, &project()).expect("the differential runs");
    let [difference] = report.differences.as_slice() else {
        panic!("expected one difference, got {:#?}", report.differences);
    };
    assert_eq!(difference.op_index, 2, "{difference:#?}");
    // Sent at 5 (linger.ms); request.timeout.ms 300; retry.backoff.ms 20: linger times the
    // request out at 305 and 625 and sends the batch again 20 ms later each time.
    let sends = |decision: &str| -> Vec<u64> {
        let value: serde_json::Value = serde_json::from_str(decision).expect("a JSON decision");
        value["events"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e.get("sent").is_some())
            .filter_map(|e| e["t"].as_u64())
            .collect()
    };
    assert_eq!(sends(&difference.linger), vec![5, 325, 645]);
    // Kafka's thread sleeps 300 ms after each send: at 305 the request is exactly 300 ms old
    // (not yet timed out), at 605 it is; the batch goes again at 625.
    assert_eq!(sends(&difference.kafka), vec![5, 625]);
    // Without Kafka's timing (the default) the same script agrees.
    let hidden = text.replace(r#","kafka_request_timeout_wake":true"#, "");
    let report = sender::replay_text(&hidden, &project()).expect("the differential runs");
    assert!(report.differences.is_empty(), "{:#?}", report.differences);
}

/// A difference that stays: Kafka's `sendProducerData` drains first and expires in-flight
/// batches after, then sends what it drained, so a batch that reaches `delivery.timeout.ms` in
/// the pass that drains it fails with a `TimeoutException` and still goes to the broker (which
/// may write it). linger expires it without sending it. A generated script where it shows.
#[test]
fn kafka_still_sends_a_batch_it_expired_in_the_same_pass_linger_does_not() {
    if let Some(reason) = skip_reason() {
        println!("skipped: {reason}");
        return;
    }
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("sender_scripts")
        .join("expired-batch-still-sent.jsonl");
    let text = std::fs::read_to_string(&path).expect("the script is checked in");
    let script = SenderScript::parse(&text).expect("a sender script");
    let report = sender::replay_text(&text, &project()).expect("the differential runs");
    let [difference] = report.differences.as_slice() else {
        panic!("expected one difference, got {:#?}", report.differences);
    };
    assert_eq!(difference.op_index, script.ops.len(), "{difference:#?}");
    let sent_after_failing = |decision: &str| -> Vec<u64> {
        let value: serde_json::Value = serde_json::from_str(decision).expect("a JSON decision");
        let events = value["events"].as_array().cloned().unwrap_or_default();
        let failed: Vec<(u64, u64)> = events
            .iter()
            .filter(|e| e.get("error").is_some())
            .filter_map(|e| Some((e["done"].as_u64()?, e["t"].as_u64()?)))
            .collect();
        events
            .iter()
            .filter(|e| e.get("sent").is_some())
            .flat_map(|e| {
                let t = e["t"].as_u64().unwrap_or(0);
                e["batches"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .flat_map(|b| b["records"].as_array().cloned().unwrap_or_default())
                    .filter_map(|r| r.as_u64())
                    .map(move |r| (r, t))
                    .collect::<Vec<_>>()
            })
            .filter(|&(r, t)| failed.contains(&(r, t)))
            .map(|(r, _)| r)
            .collect()
    };
    assert!(sent_after_failing(&difference.linger).is_empty());
    assert_eq!(sent_after_failing(&difference.kafka), vec![42, 43]);
}

/// A small generated sample runs end to end and reaches the paths the scripts aim at; the
/// differences it finds are printed (the full run's figures are in docs/validation.md).
#[test]
fn a_generated_sample_runs_through_both_senders() {
    if let Some(reason) = skip_reason() {
        println!("skipped: {reason}");
        return;
    }
    let results =
        std::env::temp_dir().join(format!("linger-crosscheck-sender-{}", std::process::id()));
    let options = Options {
        scripts: 20,
        seed: 20_261_204,
        ops: 60,
        project: project(),
        results_dir: results.clone(),
    };
    let report = sender::run_sender(&options, true, &mut |_| {}).expect("the differential runs");
    let _ = std::fs::remove_dir_all(&results);
    assert_eq!(report.scripts, 20);
    assert_eq!(report.ops, 20 * 61);
    for key in ["request sent", "record acked", "op disconnect", "op leader"] {
        assert!(
            report.coverage.get(key).copied().unwrap_or(0) > 0,
            "no {key} in 20 scripts: {:?}",
            report.coverage
        );
    }
    assert!(
        report
            .coverage
            .keys()
            .any(|k| k.starts_with("record failed")),
        "no record failed in 20 scripts: {:?}",
        report.coverage
    );
    println!(
        "{} of {} generated scripts differ",
        report.differences.len(),
        report.scripts
    );
    for difference in &report.differences {
        println!(
            "script {} operation {}: {}\n  linger: {}\n  Kafka:  {}",
            difference.script,
            difference.op_index,
            difference.op,
            difference.linger,
            difference.kafka
        );
    }
}
