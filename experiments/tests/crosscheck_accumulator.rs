//! The accumulator differential against the real Kafka Java client, in `cargo test`: about 50
//! generated scripts must give the same decisions on both sides, and the one deliberate
//! simplification the driver hides (partition order) is pinned by a script where it shows.
//! Needs `java` and `mvn` (Maven resolves kafka-clients from Maven Central on the first run);
//! without them each test prints "skipped: ..." and returns.

use std::path::PathBuf;

use experiments::crosscheck::{self, CrosscheckError, Options, model::LingerSide, script::Script};

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

#[test]
fn fifty_generated_scripts_match_the_kafka_client_decision_by_decision() {
    if let Some(reason) = skip_reason() {
        println!("skipped: {reason}");
        return;
    }
    let results =
        std::env::temp_dir().join(format!("linger-crosscheck-test-{}", std::process::id()));
    let options = Options {
        scripts: 50,
        seed: 20_261_202,
        ops: 200,
        project: project(),
        results_dir: results.clone(),
    };
    let report = crosscheck::run_accumulator(&options, &mut |_| {}).expect("the differential runs");
    let _ = std::fs::remove_dir_all(&results);
    assert_eq!(report.scripts, 50);
    assert_eq!(report.ops, 50 * 200);
    assert!(
        report.kafka_clients.starts_with("4.0."),
        "{}",
        report.kafka_clients
    );
    assert!(
        report.differences.is_empty(),
        "linger and Kafka differ: {:#?}",
        report.differences
    );
    // The scripts reach the interesting paths, not only appends.
    for key in [
        "complete retried",
        "complete split",
        "append buffer_exhausted",
        "expired batches",
    ] {
        assert!(
            report.coverage.get(key).copied().unwrap_or(0) > 0,
            "no {key} in 50 scripts: {:?}",
            report.coverage
        );
    }
}

/// Five partitions on one node; p4's deque is created before p1's. p1 is sendable (two
/// batches), p4 lingers. Kafka's ready() visits its hash map of deques ({4, 1} in a table of
/// four buckets: 4 first), so p4 reports its linger delay before p1 makes the node ready;
/// linger visits partitions in order, finds the node ready at p1 and skips p4.
const PARTITION_ORDER_SCRIPT: &str = r#"{"script":0,"batch_size":100,"linger_ms":10,"buffer_memory":100000,"max_request_size":100000,"max_block_ms":0,"delivery_timeout_ms":5000,"request_timeout_ms":100,"retry_backoff_ms":10,"retry_backoff_max_ms":10,"retries":3,"max_in_flight":5,"idempotence":false,"adaptive_partitioning":false,"availability_timeout_ms":0,"ignore_keys":false,"leaders":[0,0,0,0,0],"random_seed":1,"compression":"none"PARTITION_ORDER}
{"op":"append","t":0,"partition":4,"key":null,"value":10,"headers":[]}
{"op":"append","t":0,"partition":1,"key":null,"value":80,"headers":[]}
{"op":"append","t":0,"partition":1,"key":null,"value":80,"headers":[]}
{"op":"ready","t":1}
{"op":"end"}
"#;

#[test]
fn kafka_visits_partitions_in_hash_map_order_linger_in_partition_order() {
    if let Some(reason) = skip_reason() {
        println!("skipped: {reason}");
        return;
    }
    let sorted = PARTITION_ORDER_SCRIPT.replace("PARTITION_ORDER", "");
    let script = Script::parse(&sorted).expect("the script parses");
    let mut side = LingerSide::new(&script.header);
    let linger: Vec<_> = script
        .ops
        .iter()
        .map(|op| side.apply(op).expect("linger applies the script"))
        .collect();
    let ready = &linger[3];
    assert_eq!(ready["ready_nodes"], serde_json::json!([0]));
    assert!(ready["next_check_delay_ms"].is_null(), "{ready}");

    let java = crosscheck::java_decisions(&project(), &sorted).expect("the driver runs");
    assert_eq!(
        &java[4], ready,
        "partition order on both sides: the same decision"
    );

    let kafka_order =
        PARTITION_ORDER_SCRIPT.replace("PARTITION_ORDER", r#","partition_order":"kafka""#);
    let java = crosscheck::java_decisions(&project(), &kafka_order).expect("the driver runs");
    assert_eq!(java[4]["ready_nodes"], serde_json::json!([0]));
    assert_eq!(
        java[4]["next_check_delay_ms"],
        serde_json::json!(9),
        "Kafka's own map order reports p4's remaining linger: {}",
        java[4]
    );
}

#[test]
fn a_script_line_the_driver_cannot_read_is_named_with_its_line_number() {
    if let Some(reason) = skip_reason() {
        println!("skipped: {reason}");
        return;
    }
    let text = PARTITION_ORDER_SCRIPT
        .replace("PARTITION_ORDER", "")
        .replace(r#"{"op":"ready","t":1}"#, r#"{"op":"ready","t":"soon"}"#);
    let java = crosscheck::java_decisions(&project(), &text).expect("the driver runs");
    let error = java[4]["error"].as_str().expect("an error line");
    assert!(error.starts_with("line 5:"), "{error}");
    assert!(error.contains("\"t\""), "{error}");
}

#[test]
fn a_missing_java_or_maven_is_reported_as_not_available() {
    let error = CrosscheckError::ToolsMissing("java".into());
    assert!(error.is_not_available());
    assert!(error.to_string().contains("openjdk-17-jdk-headless"));
}
