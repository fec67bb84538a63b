//! The teaching scenarios, judged by the checker from the final broker logs.
//!
//! Each test builds a scenario from `models::scenarios`, runs it, and asserts what the checker
//! found (what the application was told against what the brokers finally hold), plus the trace
//! events that carry the mechanism (a lost request, a broker duplicate answer with the original
//! offset, an OUT_OF_ORDER reply, a truncation). The scenarios are teaching-sized, so the tests
//! also pin their size: a diagram of a few dozen rows.

use models::scenarios::{ScenarioError, build, key_placement, retries_world};
use models::world::{RunResult, WorldConfig, run};
use sim::{TraceEvent, Value};

/// The most trace events a teaching scenario may emit (one diagram row each; every connection
/// the producer opens adds a connect row and a ready row).
const TEACHING_EVENTS_MAX: usize = 90;

fn config_of(name: &str) -> WorldConfig {
    build(name).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn run_config(name: &str, config: &WorldConfig, seed: u64) -> RunResult {
    let result = run(config, seed, sim::Trace::keeping());
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

/// Runs a scenario as `linger teach` would, and checks it is teaching-sized.
fn run_scenario(name: &str, seed: u64) -> RunResult {
    let result = run_config(name, &config_of(name), seed);
    let events = result.trace.events().len();
    assert!(
        (10..=TEACHING_EVENTS_MAX).contains(&events),
        "{name} seed {seed}: {events} trace events, a teaching diagram wants a few dozen"
    );
    result
}

fn events_of<'a>(
    result: &'a RunResult,
    component: &'a str,
    kind: &'a str,
) -> impl Iterator<Item = &'a TraceEvent> + 'a {
    result
        .trace
        .events()
        .iter()
        .filter(move |e| e.component == component && e.kind == kind)
}

fn count_trace(result: &RunResult, component: &str, kind: &str) -> usize {
    events_of(result, component, kind).count()
}

fn int(event: &TraceEvent, key: &str) -> Option<i64> {
    match event.field(key)? {
        Value::U64(v) => i64::try_from(*v).ok(),
        Value::I64(v) => Some(*v),
        _ => None,
    }
}

fn text(event: &TraceEvent, key: &str) -> Option<String> {
    match event.field(key)? {
        Value::Str(s) => Some(s.clone()),
        _ => None,
    }
}

/// The offset the application was told for `record` (`None` if it was not acknowledged).
fn ack_offset(result: &RunResult, record: i64) -> Option<i64> {
    events_of(result, "app", "ack")
        .find(|e| int(e, "record") == Some(record))
        .and_then(|e| int(e, "offset"))
}

fn app_failures_with(result: &RunResult, error: &str) -> usize {
    events_of(result, "app", "fail")
        .filter(|e| text(e, "error").as_deref() == Some(error))
        .count()
}

fn leader_component(name: &str) -> String {
    format!("broker/{}", key_placement(&config_of(name).cluster).leader)
}

/// Scenario 1: acks=0 and a lost request: an absent record the application believes sent.
#[test]
fn acks0_lost_request_loses_records_silently() {
    for seed in 1..=3 {
        let r = run_scenario("acks0-lost", seed);
        let c = &r.checker;
        assert_eq!(
            r.metric("records_acked"),
            Some(3.0),
            "every send was 'acked'"
        );
        for record in 0..3 {
            assert_eq!(
                ack_offset(&r, record),
                Some(-1),
                "acks=0 acks carry offset -1"
            );
        }
        assert_eq!(c.silent_lost, 2, "seed {seed}: {c:?}");
        assert_eq!(c.delivered_once, 1, "seed {seed}: {c:?}");
        assert_eq!(
            c.acked_lost, 0,
            "offset -1 acks are 'silent', not acked-with-offset"
        );
        let lost_requests = events_of(&r, "net", "drop")
            .filter(|e| text(e, "msg").as_deref() == Some("produce_request"))
            .count();
        assert_eq!(
            lost_requests, 2,
            "the second and third records' requests vanish in the blackhole"
        );
        assert!(
            r.warnings.iter().any(|w| w.contains("dempotence")),
            "idempotence silently disabled: {:?}",
            r.warnings
        );
    }
}

/// Scenario 2, teaching size: five sync sends take five requests, five async sends one.
#[test]
fn sync_sends_take_one_request_per_record_and_async_sends_share_one() {
    let sync = run_scenario("sync-vs-async", 1);
    let async_ = run_scenario("async-batching", 1);
    for r in [&sync, &async_] {
        assert_eq!(r.checker.delivered_once, 5, "{:?}", r.checker);
    }
    assert_eq!(count_trace(&sync, "producer", "request"), 5);
    assert_eq!(count_trace(&async_, "producer", "request"), 1);
}

/// Scenario 2, scaled up to 2000 records (the teaching trace would be thousands of rows):
/// sync sends are about 800 times slower than async batching.
#[test]
fn sync_sends_are_hundreds_of_times_slower_than_async_batching() {
    let scaled = |name: &str| {
        let mut config = config_of(name);
        config.workload.records = 2000;
        let result = run(&config, 1, sim::Trace::off());
        assert_eq!(
            result.checker.delivered_once, 2000,
            "{name}: {:?}",
            result.checker
        );
        result
    };
    let sync = scaled("sync-vs-async");
    let async_ = scaled("async-batching");
    let sync_tput = sync.metric("throughput_records_per_s").expect("metric");
    let async_tput = async_.metric("throughput_records_per_s").expect("metric");
    // Sync: each record waits linger.ms (5 ms) alone, then a round trip of about 1 ms:
    // 6 ms per record, about 167 records/s.
    assert!(
        (150.0..200.0).contains(&sync_tput),
        "sync throughput {sync_tput}"
    );
    // Async: 5 us of send() CPU per record and shared requests: about 130,000 records/s,
    // so sync is about 800 times slower (asserted: over 500 times).
    assert!(
        async_tput > 500.0 * sync_tput,
        "async {async_tput} vs sync {sync_tput}: only {:.0}x",
        async_tput / sync_tput
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
        assert_eq!(c.sent, 4);
        assert_eq!(c.acked_lost, 2, "seed {seed}: records 1 and 2: {c:?}");
        assert_eq!(c.delivered_once, 2, "seed {seed}: {c:?}");
        assert_eq!(count_trace(&r, "controller", "elect"), 1, "one election");
        let truncated: Vec<i64> =
            events_of(&r, &leader_component("acks1-failover-loss"), "truncate")
                .filter_map(|e| int(e, "removed"))
                .collect();
        assert_eq!(
            truncated,
            [2],
            "the old leader truncates the two records only it had"
        );
        assert_eq!(
            ack_offset(&r, 1),
            ack_offset(&r, 3),
            "the new leader hands out the offset already acknowledged for record 1"
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
        assert_eq!(c.delivered_once, 4, "seed {seed}: every record once: {c:?}");
        assert_eq!(c.reordered, 0, "seed {seed}: {c:?}");
        assert!(
            r.metric("record-retry-total").expect("metric") >= 2.0,
            "the writes after the cut were retried"
        );
        assert_eq!(count_trace(&r, "controller", "elect"), 1, "one election");
    }
}

/// Scenario 4b: only the leader in sync: NOT_ENOUGH_REPLICAS before append, nothing written.
#[test]
fn acks_all_with_a_shrunk_isr_fails_sends_with_not_enough_replicas() {
    let r = run_scenario("acks-all-isr-shrunk", 1);
    let c = &r.checker;
    let leader = leader_component("acks-all-isr-shrunk");
    assert_eq!(app_failures_with(&r, "NOT_ENOUGH_REPLICAS"), 3, "{c:?}");
    assert_eq!(count_trace(&r, &leader, "not_enough_replicas"), 3);
    assert_eq!(
        count_trace(&r, &leader, "append"),
        0,
        "rejected before append"
    );
    assert_eq!(
        c.failed_absent, 3,
        "NOT_ENOUGH_REPLICAS writes nothing: {c:?}"
    );
    assert_eq!(c.acked_lost, 0, "{c:?}");
}

/// Scenario 5: idempotence off, retries on, a lost response: a duplicate in the log.
#[test]
fn a_lost_response_without_idempotence_duplicates_the_batch() {
    for seed in 1..=3 {
        let r = run_scenario("retry-duplicate", seed);
        let c = &r.checker;
        assert_eq!(c.duplicated, 1, "seed {seed}: {c:?}");
        assert_eq!(c.duplicate_copies, 1, "seed {seed}: {c:?}");
        assert_eq!(c.delivered_once, 2, "seed {seed}: {c:?}");
        assert_eq!(c.acked_lost, 0);
        assert!(
            count_trace(&r, "producer", "request_timeout") >= 2,
            "the lost response and the request lost with its connection"
        );
        assert_eq!(
            count_trace(&r, &leader_component("retry-duplicate"), "append"),
            4,
            "three records and one duplicate"
        );
    }
}

/// Scenario 6: the same with idempotence on: no duplicate, the retry gets the original offset.
#[test]
fn a_lost_response_with_idempotence_is_deduplicated_with_the_original_offset() {
    for seed in 1..=3 {
        let r = run_scenario("idempotent-retry", seed);
        let c = &r.checker;
        assert_eq!(c.duplicated, 0, "seed {seed}: {c:?}");
        assert_eq!(c.delivered_once, 3, "seed {seed}: {c:?}");
        assert_eq!(
            c.acked_offset_mismatch, 0,
            "the app saw the log's offsets: {c:?}"
        );
        let leader = leader_component("idempotent-retry");
        let duplicates: Vec<&TraceEvent> = events_of(&r, &leader, "duplicate").collect();
        assert_eq!(
            duplicates.len(),
            1,
            "the broker answered from its dedup window"
        );
        let original = events_of(&r, &leader, "append")
            .find(|e| int(e, "seq") == int(duplicates[0], "seq"))
            .expect("the retried SEQ was appended once");
        let original_offset = int(original, "base_offset");
        assert_eq!(int(duplicates[0], "offset"), original_offset);
        assert_eq!(
            ack_offset(&r, 1),
            original_offset,
            "the app got the original offset"
        );
        assert_eq!(original_offset, Some(1));
    }
}

/// The batches the producer retried after `error`, in retry order.
fn retried_batches(r: &RunResult, error: &str) -> Vec<u64> {
    events_of(r, "producer", "retry")
        .filter(|e| text(e, "error").as_deref() == Some(error))
        .map(|e| match e.field("batch") {
            Some(Value::U64(b)) => *b,
            other => panic!("retry without a batch id: {other:?}"),
        })
        .collect()
}

/// Scenario 7: idempotence off, max.in.flight=5: a lost request takes its connection and the
/// next request with it; both batches are retried, the later one first.
#[test]
fn without_idempotence_a_retried_batch_lands_after_a_later_one() {
    for seed in 1..=3 {
        let r = run_scenario("reorder-inflight", seed);
        assert_eq!(
            retried_batches(&r, "REQUEST_TIMED_OUT"),
            vec![1, 2],
            "both in-flight batches fail when the connection times out (seed {seed})"
        );
        let c = &r.checker;
        assert_eq!(c.reordered, 1, "seed {seed}: {c:?}");
        assert_eq!(c.delivered_once, 3, "seed {seed}: {c:?}");
        assert_eq!(c.acked_lost, 0);
        assert!(
            ack_offset(&r, 1) > ack_offset(&r, 2),
            "record 1 lands after record 2"
        );
    }
}

/// Scenario 8: the same loss with idempotence on: the retried batches go back in sequence order.
#[test]
fn with_idempotence_retries_keep_the_order() {
    for seed in 1..=3 {
        let r = run_scenario("idempotent-order", seed);
        let c = &r.checker;
        assert_eq!(c.reordered, 0, "seed {seed}: {c:?}");
        assert_eq!(c.duplicated, 0, "seed {seed}: {c:?}");
        assert_eq!(c.delivered_once, 3, "seed {seed}: {c:?}");
        assert_eq!(
            retried_batches(&r, "REQUEST_TIMED_OUT"),
            vec![1, 2],
            "both in-flight batches fail when the connection times out (seed {seed})"
        );
        let leader = leader_component("idempotent-order");
        assert_eq!(
            count_trace(&r, &leader, "out_of_order"),
            0,
            "the broker never sees a sequence gap: the batches are resent in order"
        );
        assert_eq!(ack_offset(&r, 1), Some(1));
        assert_eq!(ack_offset(&r, 2), Some(2));
    }
}

/// Scenario 9: delivery.timeout.ms expires while the broker is unreachable, then silent.
#[test]
fn delivery_timeout_fails_records_and_some_were_written_anyway() {
    let r = run_scenario("delivery-timeout", 1);
    let c = &r.checker;
    assert_eq!(r.metric("records_failed"), Some(4.0), "{c:?}");
    assert_eq!(app_failures_with(&r, "TimeoutException"), 4);
    assert_eq!(
        c.failed_absent, 2,
        "the cut kept the first batch out: {c:?}"
    );
    assert_eq!(
        c.failed_present, 2,
        "the broker wrote the second batch before it expired: {c:?}"
    );
    assert_eq!(c.acked_lost, 0);
    assert_eq!(count_trace(&r, "producer", "expire"), 2);
}

/// The seed's B0/B1 story without idempotence: B0 is refused, B1 is written, B0's retry lands
/// after it.
#[test]
fn with_two_in_flight_a_refused_batch_lands_after_the_next_one() {
    for seed in 1..=3 {
        let r = run_scenario("inflight2-reorder", seed);
        assert_eq!(
            retried_batches(&r, "NOT_ENOUGH_REPLICAS"),
            vec![1],
            "only B0 is refused (seed {seed})"
        );
        let c = &r.checker;
        assert_eq!(c.reordered, 1, "seed {seed}: {c:?}");
        assert_eq!(c.delivered_once, 3, "seed {seed}: {c:?}");
        assert_eq!(c.duplicated, 0, "seed {seed}: {c:?}");
        assert_eq!(ack_offset(&r, 0), Some(0));
        assert_eq!(ack_offset(&r, 2), Some(1), "B1 is written first");
        assert_eq!(ack_offset(&r, 1), Some(2), "B0's retry lands after it");
    }
}

/// The same refusal with idempotence on: the broker answers B1 OUT_OF_ORDER_SEQUENCE_NUMBER,
/// the client retries it behind B0 without an epoch bump, and the order holds.
#[test]
fn with_idempotence_the_broker_refuses_the_sequence_gap_and_the_order_holds() {
    for seed in 1..=3 {
        let r = run_scenario("idempotent-out-of-order", seed);
        let c = &r.checker;
        assert_eq!(c.reordered, 0, "seed {seed}: {c:?}");
        assert_eq!(c.duplicated, 0, "seed {seed}: {c:?}");
        assert_eq!(c.delivered_once, 3, "seed {seed}: {c:?}");
        let leader = leader_component("idempotent-out-of-order");
        let gaps: Vec<_> = events_of(&r, &leader, "out_of_order")
            .map(|e| (int(e, "seq"), int(e, "expected")))
            .collect();
        assert_eq!(
            gaps,
            vec![(Some(2), Some(1))],
            "B1 (SEQ 2) arrives while the broker expects SEQ 1 (seed {seed})"
        );
        assert_eq!(retried_batches(&r, "NOT_ENOUGH_REPLICAS"), vec![1]);
        assert_eq!(retried_batches(&r, "OUT_OF_ORDER_SEQUENCE_NUMBER"), vec![2]);
        assert!(
            events_of(&r, "producer", "drain").all(|e| int(e, "epoch") == Some(0)),
            "no epoch bump: B1 was not the next sequence, so the gap is B0's (seed {seed})"
        );
        for record in 0..3 {
            assert_eq!(ack_offset(&r, record), Some(record), "seed {seed}");
        }
    }
}

fn fail_times_ms(r: &RunResult) -> Vec<f64> {
    events_of(r, "app", "fail")
        .map(|e| e.time.as_nanos() as f64 / 1e6)
        .collect()
}

/// The seed's retry numbers: with delivery.timeout.ms 45 s the delivery timeout ends the
/// retries after four of the ten; with the default 120 s the ten retries run out first.
#[test]
fn retries_end_at_whichever_limit_comes_first() {
    let r = run_scenario("retries-vs-delivery-timeout", 1);
    let c = &r.checker;
    assert_eq!(app_failures_with(&r, "TimeoutException"), 3, "{c:?}");
    assert_eq!(count_trace(&r, "producer", "expire"), 1);
    assert_eq!(
        retried_batches(&r, "REQUEST_TIMED_OUT"),
        vec![0; 4],
        "four retries fit in 45 s of 10 s request timeouts"
    );
    assert_eq!(c.failed_present, 3, "the first attempt was written: {c:?}");
    assert_eq!(
        c.duplicated, 0,
        "the broker answered each retry as a duplicate"
    );
    for t in fail_times_ms(&r) {
        assert!((45_000.0..45_010.0).contains(&t), "expired at {t} ms");
    }

    // The default delivery.timeout.ms outlives ten request timeouts plus their backoffs.
    let config = retries_world("retries-vs-delivery-timeout", "120000").expect("valid");
    let r = run_config("retries with the default delivery.timeout.ms", &config, 1);
    assert_eq!(
        retried_batches(&r, "REQUEST_TIMED_OUT"),
        vec![0; 10],
        "all ten retries are used"
    );
    assert_eq!(count_trace(&r, "producer", "expire"), 0);
    assert_eq!(app_failures_with(&r, "REQUEST_TIMED_OUT"), 3);
    assert_eq!(r.checker.failed_present, 3);
    for t in fail_times_ms(&r) {
        // Eleven attempts of 10 s each, the backoffs (30 ms doubling to 1 s, with jitter) and
        // the reconnects between them.
        assert!((110_000.0..120_000.0).contains(&t), "failed at {t} ms");
    }
}

/// A full buffer.memory: send() blocks for max.block.ms, then the record fails with
/// BufferExhaustedException; nothing of it reaches a broker.
#[test]
fn a_full_buffer_blocks_send_for_max_block_ms_then_fails_the_record() {
    let r = run_scenario("max-block-buffer-full", 1);
    let c = &r.checker;
    assert_eq!(
        app_failures_with(&r, "BufferExhaustedException"),
        2,
        "{c:?}"
    );
    assert_eq!(c.failed_absent, 2, "{c:?}");
    assert_eq!(c.delivered_once, 3, "{c:?}");
    assert_eq!(r.metric("buffer-exhausted-total"), Some(2.0));
    let fails = fail_times_ms(&r);
    assert_eq!(fails.len(), 2);
    // The third record's send() begins at 20 ms and gives up 200 ms later; the fourth, sent
    // only when the application got its thread back, 200 ms after that.
    assert!((fails[0] - 220.0).abs() < 1.0, "{fails:?}");
    assert!((fails[1] - 420.0).abs() < 1.0, "{fails:?}");
    assert!(
        r.metric("bufferpool-wait-ratio").is_some_and(|v| v > 0.0),
        "the application waited on the pool"
    );
}

/// main returns without flush() or close(): the record still in the accumulator is never
/// sent and never answered.
#[test]
fn exiting_without_flush_leaves_the_last_record_unsent_and_unanswered() {
    let r = run_scenario("exit-without-flush", 1);
    let c = &r.checker;
    assert_eq!(c.delivered_once, 2, "{c:?}");
    assert_eq!(c.unfinished_absent, 1, "the last record never left: {c:?}");
    assert_eq!(r.metric("records_unfinished"), Some(1.0));
    assert_eq!(
        r.metric("records_failed"),
        Some(0.0),
        "no callback reports it"
    );
    assert_eq!(ack_offset(&r, 2), None);
    assert_eq!(count_trace(&r, "app", "exit"), 1);
    let drained: Vec<_> = events_of(&r, "producer", "drain")
        .filter_map(|e| int(e, "batch"))
        .collect();
    assert_eq!(drained, vec![0, 1], "the third batch is never drained");

    // The same run ending with flush() (the default) sends it.
    let mut config = config_of("exit-without-flush");
    config.workload.end = models::producer::workload::SendingEnd::Flush;
    let r = run_config("exit-without-flush with flush()", &config, 1);
    assert_eq!(r.checker.delivered_once, 3);
    assert_eq!(r.checker.unfinished_absent, 0);
}

/// close(Duration) runs out with requests on their way: the forced close fails them, and the
/// broker writes them anyway.
#[test]
fn a_forced_close_fails_records_the_broker_then_writes() {
    let r = run_scenario("close-timeout", 1);
    let c = &r.checker;
    assert_eq!(
        app_failures_with(&r, "KafkaException(closed forcefully)"),
        3,
        "{c:?}"
    );
    assert_eq!(c.failed_present, 3, "{c:?}");
    assert_eq!(count_trace(&r, "app", "force_close"), 1);
    for t in events_of(&r, "app", "fail").map(|e| e.time.as_nanos()) {
        assert_eq!(t, 70_000_000, "the timeout runs from the close() at 20 ms");
    }

    // With close() and no timeout the producer waits for the answers: all acknowledged.
    let mut config = config_of("close-timeout");
    config.workload.close_timeout_ms = None;
    let r = run_config("close-timeout with close()", &config, 1);
    assert_eq!(r.checker.delivered_once, 3);
    assert_eq!(r.metric("records_acked"), Some(3.0));
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
