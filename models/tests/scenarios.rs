//! The teaching scenarios of issue 4, judged by the checker from the final broker logs.
//!
//! Each test builds a scenario from `models::scenarios`, runs it, and asserts what the checker
//! found (what the application was told against what the brokers finally hold), plus a trace
//! event where the mechanism itself is the point (a broker duplicate, an OUT_OF_ORDER reply).

use models::scenarios::{ScenarioError, build};
use models::world::{RunResult, run};

fn run_scenario(name: &str, seed: u64) -> RunResult {
    let config = build(name).unwrap_or_else(|e| panic!("{name}: {e}"));
    let result = run(&config, seed, sim::Trace::keeping());
    assert!(
        !result
            .warnings
            .iter()
            .any(|w| w.starts_with("the run did not start") || w.contains("stopped in phase")),
        "{name} seed {seed}: {:?}",
        result.warnings
    );
    result
}

fn count_trace(result: &RunResult, component: &str, kind: &str) -> usize {
    result
        .trace
        .events()
        .iter()
        .filter(|e| e.component == component && e.kind == kind)
        .count()
}

fn app_failures_with(result: &RunResult, error: &str) -> usize {
    result
        .trace
        .events()
        .iter()
        .filter(|e| e.component == "app" && e.kind == "fail")
        .filter(|e| e.field("error") == Some(&sim::Value::Str(error.to_owned())))
        .count()
}

/// Scenario 1: acks=0 and a lost request: absent records the application believes sent.
#[test]
fn acks0_lost_request_loses_records_silently() {
    for seed in 1..=3 {
        let r = run_scenario("acks0-lost", seed);
        let c = &r.checker;
        assert_eq!(
            r.metric("records_acked"),
            Some(20.0),
            "every send was 'acked' with offset -1"
        );
        assert!(c.silent_lost >= 1, "seed {seed}: {c:?}");
        assert_eq!(c.silent_lost + c.delivered_once, 20, "seed {seed}: {c:?}");
        assert_eq!(
            c.acked_lost, 0,
            "offset -1 acks are 'silent', not acknowledged-with-offset"
        );
        assert!(
            r.warnings.iter().any(|w| w.contains("dempotence")),
            "idempotence silently disabled: {:?}",
            r.warnings
        );
    }
}

/// Scenario 2: sync vs async with batching over the same 2000 records.
#[test]
fn sync_sends_are_over_a_hundred_times_slower_than_async_batching() {
    let sync = run_scenario("sync-vs-async", 1);
    let async_ = run_scenario("async-batching", 1);
    for r in [&sync, &async_] {
        assert_eq!(r.checker.delivered_once, 2000, "{:?}", r.checker);
    }
    let sync_tput = sync.metric("throughput_records_per_s").expect("metric");
    let async_tput = async_.metric("throughput_records_per_s").expect("metric");
    // Sync: one record per linger (5 ms) + round trip, so a few hundred records/s at most.
    assert!(sync_tput < 300.0, "sync throughput {sync_tput}");
    assert!(
        async_tput > 100.0 * sync_tput,
        "async {async_tput} vs sync {sync_tput}"
    );
    assert!(sync.metric("records-per-request-avg").expect("metric") < 1.5);
    assert!(async_.metric("records-per-request-avg").expect("metric") > 10.0);
}

/// Scenario 3: acks=1, the leader acknowledges and crashes before the followers fetch.
#[test]
fn acks1_leader_crash_before_fetch_loses_acknowledged_records() {
    for seed in 1..=3 {
        let r = run_scenario("acks1-failover-loss", seed);
        let c = &r.checker;
        assert!(c.acked_lost >= 1, "seed {seed}: {c:?}");
        assert_eq!(c.sent, 60);
        assert!(
            count_trace(&r, "controller", "elect") >= 1,
            "a new leader was elected"
        );
    }
}

/// Scenario 4: the same crash with acks=all and min.insync.replicas=2: nothing acknowledged lost.
#[test]
fn acks_all_min_isr_two_keeps_every_acknowledged_record() {
    for seed in 1..=3 {
        let r = run_scenario("acks-all-min-isr", seed);
        let c = &r.checker;
        assert_eq!(c.acked_lost, 0, "seed {seed}: {c:?}");
        assert_eq!(
            c.delivered_once, 60,
            "seed {seed}: every record ends in the log once: {c:?}"
        );
        assert!(
            r.metric("record-retry-total").expect("metric") >= 1.0,
            "the writes after the cut were retried"
        );
    }
}

/// Scenario 4b: only the leader in sync: NOT_ENOUGH_REPLICAS before append, nothing written.
#[test]
fn acks_all_with_a_shrunk_isr_fails_sends_with_not_enough_replicas() {
    let r = run_scenario("acks-all-isr-shrunk", 1);
    let c = &r.checker;
    let not_enough = app_failures_with(&r, "NOT_ENOUGH_REPLICAS");
    assert!(not_enough >= 1, "{c:?} warnings {:?}", r.warnings);
    assert!(
        count_trace(
            &r,
            &format!(
                "broker/{}",
                models::scenarios::key_placement(
                    &build("acks-all-isr-shrunk").expect("builds").cluster
                )
                .leader
            ),
            "not_enough_replicas"
        ) >= 1
    );
    assert_eq!(c.acked_lost, 0, "{c:?}");
    assert!(
        c.failed_absent >= not_enough as u64,
        "NOT_ENOUGH_REPLICAS writes nothing: {c:?}"
    );
}

/// Scenario 5: idempotence off, retries on, a lost response: a duplicate in the log.
#[test]
fn a_lost_response_without_idempotence_duplicates_the_batch() {
    for seed in 1..=3 {
        let r = run_scenario("retry-duplicate", seed);
        let c = &r.checker;
        assert!(
            c.duplicated >= 1 && c.duplicate_copies >= 1,
            "seed {seed}: {c:?}"
        );
        assert_eq!(c.acked_lost, 0);
        assert!(count_trace(&r, "producer", "request_timeout") >= 1);
    }
}

/// Scenario 6: the same with idempotence on: no duplicate, the retry gets the original offset.
#[test]
fn a_lost_response_with_idempotence_is_deduplicated_with_the_original_offset() {
    for seed in 1..=3 {
        let r = run_scenario("idempotent-retry", seed);
        let c = &r.checker;
        assert_eq!(c.duplicated, 0, "seed {seed}: {c:?}");
        assert_eq!(c.delivered_once, 5, "seed {seed}: {c:?}");
        assert_eq!(
            c.acked_offset_mismatch, 0,
            "the app saw the original offsets: {c:?}"
        );
        let leader =
            models::scenarios::key_placement(&build("idempotent-retry").expect("builds").cluster)
                .leader;
        assert!(
            count_trace(&r, &format!("broker/{leader}"), "duplicate") >= 1,
            "the broker answered from its dedup window"
        );
    }
}

/// Scenario 7: idempotence off, max.in.flight=5, the first batch fails and a later one succeeds.
#[test]
fn without_idempotence_a_retried_batch_lands_after_a_later_one() {
    for seed in 1..=3 {
        let r = run_scenario("reorder-inflight", seed);
        let c = &r.checker;
        assert!(c.reordered >= 1, "seed {seed}: {c:?}");
        assert_eq!(c.acked_lost, 0);
    }
}

/// Scenario 8: the same with idempotence on: OUT_OF_ORDER_SEQUENCE_NUMBER keeps the order.
#[test]
fn with_idempotence_out_of_order_sequence_keeps_the_order() {
    for seed in 1..=3 {
        let r = run_scenario("idempotent-order", seed);
        let c = &r.checker;
        assert_eq!(c.reordered, 0, "seed {seed}: {c:?}");
        assert_eq!(c.duplicated, 0, "seed {seed}: {c:?}");
        assert_eq!(c.delivered_once, 5, "seed {seed}: {c:?}");
        let leader =
            models::scenarios::key_placement(&build("idempotent-order").expect("builds").cluster)
                .leader;
        assert!(
            count_trace(&r, &format!("broker/{leader}"), "out_of_order") >= 1,
            "the broker rejected the gap"
        );
    }
}

/// Scenario 9: delivery.timeout.ms expires while the leader is unreachable.
#[test]
fn delivery_timeout_fails_records_and_some_were_written_anyway() {
    let r = run_scenario("delivery-timeout", 1);
    let c = &r.checker;
    assert_eq!(r.metric("records_failed"), Some(20.0), "{c:?}");
    assert_eq!(app_failures_with(&r, "TimeoutException"), 20);
    assert!(c.failed_absent >= 1, "the cut kept some records out: {c:?}");
    assert!(
        c.failed_present >= 1,
        "the leader wrote some before they expired: {c:?}"
    );
    assert_eq!(c.acked_lost, 0);
    assert!(count_trace(&r, "producer", "expire") >= 1);
}

/// Scenario 10: enable.idempotence=true with acks=0 is a ConfigException: no run.
#[test]
fn explicit_idempotence_with_acks0_does_not_start() {
    match build("idempotence-acks0-conflict") {
        Err(ScenarioError::Config { message, .. }) => {
            assert!(
                message.contains("acks"),
                "names the conflicting key: {message}"
            );
        }
        other => panic!(
            "expected a config error, got {:?}",
            other.map(|_| "a config")
        ),
    }
}
