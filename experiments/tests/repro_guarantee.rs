//! Regression tests for the guarantee cases a random fault campaign flagged on configurations
//! Kafka calls safe (idempotence, acks=all, min.insync.replicas=2, replication factor 3, no
//! unclean election). Each case is one experiment file in `tests/repro/guarantee/`, run through
//! the `linger` binary; each test states what real Kafka does and where that is decided.

use std::path::Path;
use std::process::Command;

/// Runs `linger run FILE --json` with extra arguments and returns the first run's JSON object.
fn run(file: &str, extra: &[&str]) -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/repro/guarantee")
        .join(file);
    let output = Command::new(env!("CARGO_BIN_EXE_linger"))
        .arg("run")
        .arg(&path)
        .arg("--json")
        .args(extra)
        .output()
        .expect("the binary runs");
    assert!(
        output.status.success(),
        "linger run {file} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("linger run --json prints one JSON object");
    report["runs"][0].clone()
}

fn metric(run: &serde_json::Value, name: &str) -> f64 {
    run["metrics"][name]
        .as_f64()
        .unwrap_or_else(|| panic!("metric {name} is missing from {run}"))
}

fn warnings(run: &serde_json::Value) -> Vec<String> {
    run["warnings"]
        .as_array()
        .expect("warnings is a list")
        .iter()
        .map(|w| w.as_str().expect("a warning is text").to_string())
        .collect()
}

/// The classes the checker puts every record in add up to the records sent.
fn assert_accounted(run: &serde_json::Value) {
    let classes = [
        "delivered_once",
        "duplicated",
        "lost_acked",
        "silent_absent",
        "failed_absent",
        "failed_present",
        "unfinished_absent",
        "unfinished_present",
        "unsettled",
    ];
    let total: f64 = classes.iter().map(|c| metric(run, c)).sum();
    assert_eq!(total, metric(run, "records_sent"), "classes add up: {run}");
}

/// The settle phase used to end after a fixed 10 s, before the new leader of partition 4 could
/// advance its high watermark (its follower was still waiting out `replica.socket.timeout.ms`
/// on a fetch sent to a broker that had crashed); the checker then read the log below a stale
/// high watermark and reported an acknowledged record as lost. The settle phase now lasts until
/// replication has caught up.
#[test]
fn the_settle_phase_waits_for_replication_so_nothing_acknowledged_is_called_lost() {
    let run = run("settle-timeout-false-loss.toml", &[]);
    assert_accounted(&run);
    assert_eq!(metric(&run, "lost_acked"), 0.0);
    assert_eq!(metric(&run, "unsettled"), 0.0, "the run settled");
    assert!(
        metric(&run, "delivered_once") > 2800.0,
        "most records were delivered: {run}"
    );
    assert!(warnings(&run).is_empty(), "{:?}", warnings(&run));
}

/// With the old 10 s bound the run cannot settle: the records above the high watermark are
/// reported as unsettled, with a warning naming the key to raise, never as lost.
#[test]
fn a_run_that_ends_unsettled_says_so_and_counts_open_records_as_unsettled() {
    let run = run(
        "settle-timeout-false-loss.toml",
        &["--set", "run.settle_ms=10000"],
    );
    assert_accounted(&run);
    assert_eq!(metric(&run, "lost_acked"), 0.0);
    assert!(metric(&run, "unsettled") > 0.0, "{run}");
    let warnings = warnings(&run);
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("settle_ms") && w.contains("unsettled")),
        "a warning names the bound and the class: {warnings:?}"
    );
}

/// `delivery.timeout.ms = linger.ms + request.timeout.ms` puts a batch's delivery deadline on
/// the instant its request would time out. Java expires the batch first: `ProducerBatch.
/// hasReachedDeliveryTimeout` fires once the timeout is reached, `InFlightRequests.
/// hasExpiredRequest` only once `request.timeout.ms` is exceeded. The expired batch fails without
/// adjusting sequences (`Sender.sendProducerData` → `failBatch(..., false)`), and the late
/// request timeout finds it done (`Sender.failBatch` acts only when `completeExceptionally`
/// succeeds). Handling the request timeout first bumped the epoch and wrote batches twice.
#[test]
fn a_delivery_expiry_on_the_request_timeout_instant_comes_first_and_writes_nothing_twice() {
    let run = run("idempotent-dup-delivery-timeout-tie.toml", &[]);
    assert_accounted(&run);
    assert_eq!(metric(&run, "duplicate_copies"), 0.0, "{run}");
    assert_eq!(metric(&run, "lost_acked"), 0.0);
    assert_eq!(metric(&run, "reordered"), 0.0);
    assert!(metric(&run, "records-per-request-avg") > 0.0);
}

/// Real Kafka behaviour, kept (campaign seed 7919, idempotent flavour). Broker 0, leader of
/// partition 0, is powered off; the controller elects broker 1 when broker 0 registers again.
/// Broker 1 has no state for the producer on partition 0, so it accepts the fourth batch
/// (sequence 3) first (`ProducerAppendInfo.checkSequence`, the KAFKA-15591 rule below) and,
/// through an injected NOT_ENOUGH_REPLICAS_AFTER_APPEND, answers an error for a batch it wrote.
/// The first batch then gets OUT_OF_ORDER_SEQUENCE_NUMBER, and being the next expected sequence
/// makes the client bump its epoch (`TransactionManager.canRetry`,
/// `bumpIdempotentProducerEpoch`), which gives the written but unacknowledged fourth batch a
/// new epoch and sequence: it is written a second time, 591 records. The hazard of an epoch bump
/// rewriting the sequences of written but unacknowledged batches is KAFKA-14034 (the fix
/// proposed in apache/kafka pull request 13796 was not merged).
#[test]
fn an_epoch_bump_after_a_leader_change_rewrites_written_batches_as_in_kafka_14034() {
    let run = run("idempotent-rewrite-after-epoch-bump.toml", &[]);
    assert_accounted(&run);
    let duplicated = metric(&run, "duplicated");
    assert!(duplicated > 0.0, "{run}");
    // The second copies sit at offsets the application was not told: the proof that they are
    // the re-sequenced rewrites, not a broker appending one request twice.
    assert_eq!(metric(&run, "acked_offset_mismatch"), duplicated);
    assert_eq!(metric(&run, "lost_acked"), 0.0);
}

/// Real Kafka behaviour, kept (campaign seed 18601, idempotent flavour; broker 1 becomes leader
/// of partition 1 after crashes and flaps and first hears the producer at sequence 124): a new leader with no state for the producer accepts a batch with
/// any first sequence (`ProducerAppendInfo.checkSequence`: "accept writes with any sequence
/// number" when the broker has no producer epoch), so a later batch lands first; the earlier
/// batches are then out of order, and after their delivery timeouts and an epoch bump they are
/// appended behind it. This is KAFKA-15591 (also reported as KAFKA-14312 and KAFKA-19880);
/// apache/kafka pull request 23234 (merged in August 2026) makes a broker refuse a first
/// sequence other than 0 on an empty partition. linger's brokers follow the earlier rule, which
/// the released 4.x brokers it models have.
#[test]
fn a_leader_without_producer_state_accepts_a_later_sequence_first_as_in_kafka_15591() {
    let run = run("idempotent-reorder-no-producer-state.toml", &[]);
    assert_accounted(&run);
    assert!(metric(&run, "reordered") > 0.0, "{run}");
    assert_eq!(metric(&run, "duplicate_copies"), 0.0);
    assert_eq!(metric(&run, "lost_acked"), 0.0);
}
