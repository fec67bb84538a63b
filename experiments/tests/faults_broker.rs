//! Broker-side faults through the `linger` binary: a broker that answers produce requests with
//! an injected Kafka error (before or after the append), holds responses back, or drops the
//! responses of one API; each asserted as the Java client and a Kafka broker would have it, and
//! every bad entry refused with exit code 2 and the key named.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// One partition led by broker 0 (replica 0 first), 5 requests in flight: about 1,500 records
/// of 100 B over 300 ms, 20 per batch.
const BASE: &str = r#"
[producer]
acks = "all"
"enable.idempotence" = IDEMPOTENCE
"max.in.flight.requests.per.connection" = 5
"linger.ms" = 0
"request.timeout.ms" = 500

[workload]
value_bytes = 100
arrivals = { kind = "constant", per_sec = 5000 }

[cluster]
brokers = 3
partitions = 1
replication_factor = 3

[network]
latency = { dist = "constant", ms = 2 }

[run]
duration_ms = 300

[[faults.schedule]]
at_ms = 100
"#;

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("linger-faults-broker")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn linger_run(name: &str, idempotence: bool, fault: &str) -> Output {
    let text = BASE.replace("IDEMPOTENCE", &idempotence.to_string()) + fault;
    let path = scratch(name).join("experiment.toml");
    std::fs::write(&path, text).expect("writes");
    Command::new(env!("CARGO_BIN_EXE_linger"))
        .arg("run")
        .arg(&path)
        .arg("--json")
        .output()
        .expect("the binary runs")
}

/// The metrics of the first run, after checking the run succeeded.
fn metrics(name: &str, idempotence: bool, fault: &str) -> serde_json::Value {
    let output = linger_run(name, idempotence, fault);
    assert!(
        output.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    report["runs"][0]["metrics"].clone()
}

fn get(m: &serde_json::Value, name: &str) -> f64 {
    m[name]
        .as_f64()
        .unwrap_or_else(|| panic!("no metric {name} in {m}"))
}

const NOT_ENOUGH_REPLICAS_BEFORE: &str = r#"action = "error"
broker = 0
error = "NOT_ENOUGH_REPLICAS"
"#;

const NOT_ENOUGH_REPLICAS_AFTER: &str = r#"action = "error"
broker = 0
error = "NOT_ENOUGH_REPLICAS_AFTER_APPEND"
stage = "after_append"
"#;

/// One request refused before the append while four more are in flight: without idempotence
/// the retried batch lands behind the later ones, and exactly its records are reordered.
#[test]
fn an_error_before_the_append_reorders_exactly_the_retried_batch_without_idempotence() {
    let m = metrics("before-plain", false, NOT_ENOUGH_REPLICAS_BEFORE);
    let retried = get(&m, "record-retry-total");
    assert!(retried > 0.0, "{m}");
    assert_eq!(get(&m, "reordered"), retried, "{m}");
    assert_eq!(get(&m, "duplicate_copies"), 0.0);
    assert_eq!(get(&m, "lost_acked"), 0.0);
    assert_eq!(get(&m, "delivered_once"), get(&m, "records_sent"));
}

/// With idempotence the later batches are refused OUT_OF_ORDER_SEQUENCE_NUMBER until the
/// refused one is written, then retried in sequence order (`TransactionManager.canRetry`,
/// `RecordAccumulator.insertInSequenceOrder`): nothing is reordered.
#[test]
fn an_error_before_the_append_reorders_nothing_with_idempotence() {
    let m = metrics("before-idempotent", true, NOT_ENOUGH_REPLICAS_BEFORE);
    let retried = get(&m, "record-retry-total");
    assert!(
        retried > 20.0,
        "the refused batch and those behind it were retried: {m}"
    );
    assert_eq!(get(&m, "reordered"), 0.0, "{m}");
    assert_eq!(get(&m, "duplicate_copies"), 0.0);
    assert_eq!(get(&m, "delivered_once"), get(&m, "records_sent"));
}

/// Written, then answered with an error: the retry writes the batch again unless the broker
/// recognises its sequence numbers.
#[test]
fn an_error_after_the_append_duplicates_the_retried_batch_unless_idempotent() {
    let plain = metrics("after-plain", false, NOT_ENOUGH_REPLICAS_AFTER);
    let retried = get(&plain, "record-retry-total");
    assert!(retried > 0.0, "{plain}");
    assert_eq!(get(&plain, "duplicated"), retried, "{plain}");
    assert_eq!(
        get(&plain, "reordered"),
        0.0,
        "the first copies are in order"
    );
    let idempotent = metrics("after-idempotent", true, NOT_ENOUGH_REPLICAS_AFTER);
    assert!(get(&idempotent, "record-retry-total") > 0.0);
    assert_eq!(get(&idempotent, "duplicate_copies"), 0.0, "{idempotent}");
    assert_eq!(
        get(&idempotent, "delivered_once"),
        get(&idempotent, "records_sent")
    );
}

/// A response held back past `request.timeout.ms`: the client times the request out and
/// resends what was on the connection; the written batch comes back twice without idempotence.
#[test]
fn a_response_held_past_the_request_timeout_makes_a_duplicate_unless_idempotent() {
    let fault = r#"action = "delay_responses"
broker = 0
n = 1
delay_ms = 1000
"#;
    let plain = metrics("delay-plain", false, fault);
    assert!(
        get(&plain, "latency_max_ms") >= 500.0,
        "waited out the timeout: {plain}"
    );
    assert!(get(&plain, "duplicated") > 0.0, "{plain}");
    let idempotent = metrics("delay-idempotent", true, fault);
    assert_eq!(get(&idempotent, "duplicate_copies"), 0.0, "{idempotent}");
    assert_eq!(get(&idempotent, "reordered"), 0.0);
    // A response held for less than the timeout only costs latency.
    let short = r#"action = "delay_responses"
broker = 0
n = 1
delay_ms = 50
"#;
    let m = metrics("delay-short", false, short);
    assert_eq!(get(&m, "record-retry-total"), 0.0, "{m}");
    assert!(get(&m, "latency_max_ms") >= 50.0, "{m}");
    assert_eq!(get(&m, "delivered_once"), get(&m, "records_sent"));
}

/// `drop_responses` drops produce responses by default; `api = "metadata"` leaves them alone.
#[test]
fn drop_responses_counts_the_api_it_names() {
    let produce = r#"action = "drop_responses"
broker = 0
n = 1
"#;
    let m = metrics("drop-produce", false, produce);
    assert!(
        get(&m, "record-retry-total") > 0.0,
        "a produce response was lost: {m}"
    );
    let metadata = r#"action = "drop_responses"
broker = 0
n = 1
api = "metadata"
"#;
    let m = metrics("drop-metadata", false, metadata);
    assert_eq!(get(&m, "record-retry-total"), 0.0, "{m}");
}

/// Bad entries: exit code 2, the key named, and what is allowed.
#[test]
fn bad_broker_fault_entries_are_refused_naming_the_key() {
    let cases = [
        (
            "action = \"error\"\nbroker = 0\nerror = \"NOT_ENUF_REPLICAS\"\n",
            "faults.schedule[0].error",
            "did you mean \"NOT_ENOUGH_REPLICAS\"",
        ),
        (
            "action = \"error\"\nbroker = 0\n",
            "faults.schedule[0].error",
            "NOT_ENOUGH_REPLICAS",
        ),
        (
            "action = \"error\"\nbroker = 0\nerror = \"NETWORK_EXCEPTION\"\n",
            "faults.schedule[0].error",
            "not a Kafka error a broker sends",
        ),
        (
            "action = \"error\"\nbroker = 0\nerror = \"NOT_ENOUGH_REPLICAS\"\nstage = \"later\"\n",
            "faults.schedule[0].stage",
            "after_append",
        ),
        (
            "action = \"error\"\nbroker = 0\nerror = \"NOT_ENOUGH_REPLICAS\"\npartition = 4\n",
            "faults.schedule[0].partition",
            "allowed 0 ..= 0",
        ),
        (
            "action = \"delay_responses\"\nbroker = 0\nn = 1\n",
            "faults.schedule[0].delay_ms",
            "needs delay_ms",
        ),
        (
            "action = \"delay_responses\"\nbroker = 0\nn = 1\ndelay_ms = 0\n",
            "faults.schedule[0].delay_ms",
            "> 0",
        ),
        (
            "action = \"drop_responses\"\nbroker = 0\nn = 1\napi = \"fetch\"\n",
            "faults.schedule[0].api",
            "\"metadata\"",
        ),
        (
            "action = \"crash\"\nbroker = 0\nn = 3\n",
            "faults.schedule[0].n",
            "action crash does not use n",
        ),
    ];
    for (i, (fault, key, hint)) in cases.into_iter().enumerate() {
        let output = linger_run(&format!("bad-{i}"), false, fault);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{fault}: {stderr}");
        assert!(stderr.contains(key), "{fault}: {stderr}");
        assert!(stderr.contains(hint), "{fault}: {stderr}");
        assert!(output.stdout.is_empty(), "nothing run: {fault}");
    }
}
