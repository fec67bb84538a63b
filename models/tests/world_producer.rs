//! The producer's main thread and sender inside the whole world: blocking on buffer memory,
//! metadata waits, sync sends, flush, acks=0, CPU cost per send, request timeouts.

use models::batching::config::Acks;
use models::cluster::config::NodeName;
use models::faults::{FaultAction, FaultsConfig, ScheduledFault};
use models::producer::workload::{Arrivals, Keys, SendMode, ValueBytes};
use models::world::{RunResult, WorldConfig, default_config, run};

fn small(records: u64, per_sec: f64) -> WorldConfig {
    let mut config = default_config();
    config.workload.arrivals = Arrivals::Constant { per_sec };
    config.workload.records = records;
    config.run.duration_ms = 0.0;
    config
}

fn cut_all(at_ms: f64, until_ms: f64) -> FaultsConfig {
    // A schedule must be in time order: every cut first, then every heal.
    let mut schedule = Vec::new();
    for (at_ms, action) in [(at_ms, FaultAction::Cut), (until_ms, FaultAction::Heal)] {
        for b in 0..3 {
            let link = Some([NodeName("client".into()), NodeName(format!("broker{b}"))]);
            schedule.push(ScheduledFault {
                link,
                ..ScheduledFault::new(at_ms, action)
            });
        }
    }
    FaultsConfig {
        schedule,
        ..FaultsConfig::default()
    }
}

fn app_events<'a>(
    r: &'a RunResult,
    kind: &'a str,
) -> impl Iterator<Item = &'a sim::TraceEvent> + 'a {
    r.trace
        .events()
        .iter()
        .filter(move |e| e.component == "app" && e.kind == kind)
}

fn u(e: &sim::TraceEvent, key: &str) -> u64 {
    match e.field(key) {
        Some(sim::Value::U64(v)) => *v,
        other => panic!("{key}: {other:?}"),
    }
}

/// BufferPool: a full buffer blocks send() up to max.block.ms, then BufferExhaustedException
/// fails the send and counts in record-error-total and buffer-exhausted-total.
#[test]
fn a_full_buffer_blocks_send_then_fails_it_with_buffer_exhausted() {
    let mut config = small(3000, 20_000.0);
    config.producer.buffer_memory = 4 * 16_384;
    config.producer.max_block_ms = 50;
    config.producer.request_timeout_ms = 1_000;
    config.producer.delivery_timeout_ms = 5_000;
    config.faults = cut_all(5.0, 4_000.0);
    let r = run(&config, 1, sim::Trace::keeping());
    assert!(
        r.metric("buffer-exhausted-total").expect("metric") >= 1.0,
        "{:?}",
        r.metrics
    );
    assert!(r.metric("bufferpool-wait-ratio").expect("metric") > 0.0);
    let exhausted = app_events(&r, "fail")
        .filter(|e| e.field("error") == Some(&sim::Value::Str("BufferExhaustedException".into())))
        .count();
    assert!(exhausted >= 1);
    assert!(r.metric("record-error-total").expect("metric") >= exhausted as f64);
    assert_eq!(r.checker.acked_lost, 0);
    assert_eq!(r.checker.sent, 3000);
}

/// waitOnMetadata: with every broker unreachable the first send blocks for max.block.ms and
/// fails with TimeoutException.
#[test]
fn a_send_without_metadata_fails_after_max_block_ms() {
    let mut config = small(3, 100.0);
    config.producer.max_block_ms = 100;
    config.producer.request_timeout_ms = 1_000;
    config.faults = cut_all(0.0, 60_000.0);
    let r = run(&config, 1, sim::Trace::keeping());
    let fails: Vec<_> = app_events(&r, "fail").collect();
    assert!(!fails.is_empty());
    assert_eq!(
        fails[0].time,
        sim::Instant::from_millis(100),
        "max.block.ms after the first send()"
    );
    assert_eq!(
        fails[0].field("error"),
        Some(&sim::Value::Str("TimeoutException".into()))
    );
    assert_eq!(r.checker.delivered_once, 0);
}

/// send().get(): every send waits for the previous record's callback.
#[test]
fn sync_sends_wait_for_the_previous_ack() {
    let mut config = small(50, 1.0);
    config.workload.mode = SendMode::Sync;
    let r = run(&config, 3, sim::Trace::keeping());
    assert_eq!(r.checker.delivered_once, 50);
    let acks: Vec<_> = app_events(&r, "ack")
        .map(|e| (u(e, "record"), e.time))
        .collect();
    for e in app_events(&r, "send") {
        let record = u(e, "record");
        if record > 0 {
            let prev_ack = acks
                .iter()
                .find(|(id, _)| *id == record - 1)
                .expect("acked")
                .1;
            assert!(
                e.time >= prev_ack,
                "record {record} sent at {} before the ack of {} at {prev_ack}",
                e.time,
                record - 1
            );
        }
    }
    assert_eq!(r.metric("records-per-request-avg"), Some(1.0));
}

/// flush(): every partition is ready while a flush is in progress, so linger.ms stops mattering.
#[test]
fn periodic_flush_cuts_latency_below_linger() {
    // 10-byte values at 100 records/s fill a 16 KiB batch in about 2 s, so without flush the
    // batches leave at linger.ms = 1 s.
    let mut config = small(500, 100.0);
    config.workload.value_bytes = ValueBytes::Constant(10);
    config.producer.linger_ms = 1_000;
    config.producer.delivery_timeout_ms = 120_000;
    let slow = run(&config, 1, sim::Trace::off());
    config.workload.flush_every_ms = 10.0;
    let flushed = run(&config, 1, sim::Trace::off());
    let p50 = |r: &RunResult| r.metric("latency_p50_ms").expect("metric");
    assert!(p50(&slow) > 100.0, "linger 1 s dominates: {}", p50(&slow));
    assert!(p50(&flushed) < 20.0, "flush every 10 ms: {}", p50(&flushed));
    assert_eq!(flushed.checker.delivered_once, 500);
}

/// acks=0: the request is complete when written; every record gets offset -1; no responses.
#[test]
fn acks0_completes_on_send_with_offset_minus_one() {
    let mut config = small(100, 1000.0);
    config.producer.acks = Acks::Zero;
    config.producer.enable_idempotence = false;
    let r = run(&config, 1, sim::Trace::keeping());
    assert!(app_events(&r, "ack").all(|e| e.field("offset") == Some(&sim::Value::I64(-1))));
    // No response bodies: Kafka's `Avg` stat over no samples reads NaN, and so does linger's.
    let request_latency = r.metric("request-latency-avg").expect("metric");
    assert!(request_latency.is_nan(), "{request_latency}");
    assert_eq!(r.checker.delivered_once, 100);
}

/// The per-send CPU cost bounds a saturating application thread.
#[test]
fn send_cpu_cost_bounds_the_send_rate() {
    let mut config = default_config();
    config.workload.arrivals = Arrivals::Saturate {};
    config.workload.send_cpu_ms = 0.1;
    config.run.duration_ms = 100.0;
    let r = run(&config, 1, sim::Trace::off());
    // The first send() waits about 3 ms for the first metadata (a 0.5 ms link each way: the
    // SYN/SYN-ACK, ApiVersions and Metadata round trips), then the thread sends one record
    // per 0.1 ms of CPU: 1 + 970 sends before 100 ms.
    assert_eq!(r.metric("records_sent"), Some(971.0));
}

/// Keys: records with the same key go to the same partition, in send order.
#[test]
fn keyed_records_keep_their_partition_and_order() {
    let mut config = small(2000, 5000.0);
    config.workload.keys = Keys::Zipf { count: 20, s: 1.0 };
    config.workload.value_bytes = ValueBytes::Constant(64);
    let r = run(&config, 5, sim::Trace::keeping());
    let mut partition_of_key = std::collections::BTreeMap::new();
    for e in app_events(&r, "send") {
        let key = e.field("key").cloned();
        let partition = e.field("partition").cloned();
        assert_eq!(
            partition_of_key
                .entry(format!("{key:?}"))
                .or_insert(partition.clone()),
            &partition
        );
    }
    assert_eq!(r.checker.delivered_once, 2000);
    assert_eq!(r.checker.key_reordered, 0);
}

/// A request timeout closes the connection: every request in flight on it fails together.
#[test]
fn a_request_timeout_fails_every_request_on_the_connection() {
    let mut config = small(200, 10_000.0);
    config.workload.keys = Keys::Uniform { count: 1 };
    config.producer.request_timeout_ms = 500;
    // From 10 ms, when the producer has connected to every leader (a connect cut off earlier
    // would wait for its SYN retransmission instead of timing requests out).
    config.faults = cut_all(10.0, 400.0);
    let r = run(&config, 1, sim::Trace::keeping());
    let timeouts: Vec<_> = r
        .trace
        .events()
        .iter()
        .filter(|e| e.component == "producer" && e.kind == "request_timeout")
        .collect();
    assert!(timeouts.len() >= 2, "{}", timeouts.len());
    let first = timeouts[0].time;
    assert!(
        timeouts.iter().filter(|e| e.time == first).count() >= 2,
        "several requests fail at the same instant"
    );
    assert_eq!(
        r.checker.delivered_once, 200,
        "all retried successfully: {:?}",
        r.checker
    );
}

fn metric(r: &RunResult, name: &str) -> f64 {
    r.metric(name).expect("a metric of the schema")
}

/// Every send fails inside `send()` (RecordTooLargeException): nothing was acknowledged, so
/// the latency figures are empty, never 0, and the run says why.
#[test]
fn a_run_where_nothing_is_acknowledged_has_empty_latencies_and_says_so() {
    let mut config = small(20, 1000.0);
    config.workload.value_bytes = ValueBytes::Constant(2_000_000);
    let r = run(&config, 1, sim::Trace::off());
    assert_eq!(metric(&r, "records_acked"), 0.0);
    assert_eq!(metric(&r, "records_failed"), 20.0);
    for name in [
        "latency_p50_ms",
        "latency_p99_ms",
        "latency_max_ms",
        "latency_mean_ms",
    ] {
        assert!(metric(&r, name).is_nan(), "{name}: {}", metric(&r, name));
    }
    assert!(
        r.warnings
            .iter()
            .any(|w| w.starts_with("no record was acknowledged (20 sent, 20 failed")),
        "{:?}",
        r.warnings
    );
}

/// A producer that cannot keep up: 50,000 records/s of 1 KiB through a 64 KiB buffer over a
/// 30 ms round trip. `send()` blocks on memory, the application sends far fewer records than
/// the workload offers, and the run says both, with the time blocked in `send()` measured.
#[test]
fn a_producer_that_cannot_keep_up_is_told_apart_from_a_healthy_one() {
    let mut config = default_config();
    config.run.duration_ms = 2_000.0;
    config.workload.arrivals = Arrivals::Constant { per_sec: 50_000.0 };
    config.workload.value_bytes = ValueBytes::Constant(1024);
    config.producer.buffer_memory = 64 * 1024;
    config.producer.max_block_ms = 60_000;
    config.network.latency = models::cluster::DistConfig::Constant { ms: 15.0 };
    let r = run(&config, 1, sim::Trace::off());
    let offered = metric(&r, "offered_records_per_s");
    let sent_rate = metric(&r, "send_rate_records_per_s");
    assert_eq!(offered, 50_000.0);
    assert!(
        sent_rate < offered * 0.5,
        "sent {sent_rate}/s of {offered}/s"
    );
    assert!(metric(&r, "bufferpool-wait-time-ns-total") > 1e9 * 0.5);
    assert!(metric(&r, "send_latency_p99_ms") > 1.0);
    assert!(
        r.warnings
            .iter()
            .any(|w| w.starts_with("the offered load was not met")
                && w.contains("bufferpool-wait-time-ns-total")),
        "{:?}",
        r.warnings
    );
    // The same load with room to spare meets the offered rate and warns of nothing.
    config.producer.buffer_memory = 64 * 1024 * 1024;
    config.network.latency = models::cluster::DistConfig::Constant { ms: 1.0 };
    let healthy = run(&config, 1, sim::Trace::off());
    let sent_rate = metric(&healthy, "send_rate_records_per_s");
    assert!((sent_rate - 50_000.0).abs() < 50.0, "{sent_rate}");
    assert_eq!(metric(&healthy, "send_latency_p99_ms"), 0.0);
    assert!(healthy.warnings.is_empty(), "{:?}", healthy.warnings);
}
