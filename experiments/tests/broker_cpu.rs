//! Broker CPU as Kafka has it: `num.io.threads` request handler threads behind one request
//! queue of `queued.max.requests`, connections muted while their request is handled, the
//! leader's fetch handling on the handler threads and the follower's appends on its fetcher
//! thread. Each test runs the simulated world and checks what Kafka's threading implies:
//! a muted producer connection cannot use a second thread, several connections can, up to
//! threads / cost, and a follower's appends no longer slow a leader's produce handling.

use std::path::Path;
use std::process::Command;

use experiments::spec::{Experiment, Source};
use experiments::world::{run_world, world_config};
use models::cluster::HandlerStats;
use models::world::RunResult;

/// Runs the experiment `text` (one run, seed 1).
fn run(text: &str) -> RunResult {
    let experiment =
        Experiment::parse(Source::built_in("broker-cpu.toml", text), &[]).expect("parses");
    let config = world_config(&experiment.source, &experiment.sections).expect("valid");
    let result = run_world(&config, 1, sim::Trace::off());
    assert!(
        result.warnings.iter().all(|w| !w.contains("bound")),
        "{:?}",
        result.warnings
    );
    result
}

fn metric(result: &RunResult, name: &str) -> f64 {
    result
        .metric(name)
        .unwrap_or_else(|| panic!("no metric {name}"))
}

/// Produce requests per second the producer had answered, from Kafka's producer metrics.
fn produce_requests_per_s(result: &RunResult) -> f64 {
    metric(result, "throughput_records_per_s") / metric(result, "records-per-request-avg")
}

/// One broker, one partition, acks=1: every produce request carries one batch that costs the
/// broker 1 ms; the producer sends as fast as it can with five requests in flight.
fn single_connection(io_threads: u32) -> String {
    format!(
        r#"
[producer]
acks = "1"
"linger.ms" = 0
"max.in.flight.requests.per.connection" = 5

[workload]
mode = "async"
value_bytes = 100
send_cpu_ms = 0.01
arrivals = {{ kind = "saturate" }}

[cluster]
brokers = 1
partitions = 1
replication_factor = 1
"min.insync.replicas" = 1
append_cost_per_batch_ns = 1000000
append_cost_per_byte_ns = 0
"num.io.threads" = {io_threads}

[network]
latency = {{ dist = "constant", ms = 0.05 }}

[run]
duration_ms = 2000
"#
    )
}

#[test]
fn a_single_producer_connection_gains_nothing_from_more_handler_threads() {
    let one = run(&single_connection(1));
    let eight = run(&single_connection(8));
    // The connection is muted while its request is handled, so the broker handles one request
    // at a time whatever its threads: 1 request per ms of append cost.
    for result in [&one, &eight] {
        let rate = produce_requests_per_s(result);
        assert!(
            (rate - 1000.0).abs() < 1000.0 * 0.03,
            "{rate} produce requests/s, expected 1000 (1 / 1 ms) within 3%"
        );
        assert_eq!(result.checker.reordered, 0);
        assert_eq!(result.checker.acked_lost, 0);
    }
    let (a, b) = (produce_requests_per_s(&one), produce_requests_per_s(&eight));
    assert!(
        (a - b).abs() < a * 0.01,
        "1 thread: {a} requests/s, 8 threads: {b} requests/s"
    );
}

/// Four brokers, each leading one partition that its three followers fetch: every follower
/// fetch costs its leader 1 ms of a handler thread, nothing else costs CPU, and fetches never
/// wait for data (`replica.fetch.wait.max.ms` = 0), so each fetcher asks again at once.
fn fetch_bound(io_threads: u32, queued_max: u32) -> String {
    format!(
        r#"
[producer]
acks = "1"
"linger.ms" = 5

[workload]
mode = "async"
value_bytes = 100
arrivals = {{ kind = "constant", per_sec = 2000 }}

[cluster]
brokers = 4
partitions = 4
replication_factor = 4
"min.insync.replicas" = 1
"replica.fetch.wait.max.ms" = 0
append_cost_per_batch_ns = 0
append_cost_per_byte_ns = 0
fetch_cost_per_request_ns = 1000000
"num.io.threads" = {io_threads}
"queued.max.requests" = {queued_max}

[network]
latency = {{ dist = "constant", ms = 0.01 }}

[run]
duration_ms = 2000
"#
    )
}

/// Follower fetches each broker handled per second of the whole run.
fn fetches_per_s(result: &RunResult, stats: &HandlerStats) -> f64 {
    stats.fetches_handled as f64 / (result.virtual_time_ns as f64 / 1e9)
}

#[test]
fn follower_fetch_handling_saturates_at_threads_over_cost_up_to_one_thread_per_connection() {
    // The analytic bound: min(threads, fetch connections = 3) / 1 ms per broker. With fewer
    // threads than connections a fetch is always waiting, so the threads never idle; with
    // more, each connection's cycle also holds two 10 µs transits (2% of the cost).
    for (threads, bound) in [(1u32, 1000.0), (2, 2000.0), (8, 3000.0)] {
        let result = run(&fetch_bound(threads, 500));
        assert_eq!(result.broker_cpu.len(), 4);
        for (b, stats) in result.broker_cpu.iter().enumerate() {
            let rate = fetches_per_s(&result, stats);
            assert!(
                rate <= bound * 1.001 && rate >= bound * 0.96,
                "broker {b} with {threads} threads: {rate} fetches/s, bound {bound}/s"
            );
            assert_eq!(
                stats.queue_full_count, 0,
                "500 queued requests are never reached"
            );
            if threads < 3 {
                assert!(stats.queue_wait_ns_max > 0, "fetches waited for a thread");
            }
        }
        assert_eq!(result.checker.reordered, 0);
    }
}

#[test]
fn a_full_request_queue_holds_requests_back_without_losing_throughput() {
    // One thread, room for one waiting request: of a leader's three fetch connections (and
    // the producer's) one request runs, one waits, the others find the queue full.
    let result = run(&fetch_bound(1, 1));
    for (b, stats) in result.broker_cpu.iter().enumerate() {
        assert!(stats.queue_full_count > 0, "broker {b}: {stats:?}");
        assert!(stats.queue_full_wait_ns_total > 0, "broker {b}: {stats:?}");
        // The thread still never idles: the bound is still 1 / 1 ms.
        let rate = fetches_per_s(&result, stats);
        assert!(
            (960.0..=1001.0).contains(&rate),
            "broker {b}: {rate} fetches/s"
        );
    }
    assert_eq!(result.checker.acked_lost, 0);
    assert_eq!(result.checker.reordered, 0);
}

/// Three brokers, three partitions (one led by each), acks=1 on a single handler thread: a
/// batch costs 2 ms to append on the leader and again on each follower. One batch per
/// partition every 10 ms (linger), so a leader's produce requests never queue behind each
/// other.
fn follower_appends(replication_factor: u32) -> String {
    format!(
        r#"
[producer]
acks = "1"
"linger.ms" = 10

[workload]
mode = "async"
value_bytes = 100
arrivals = {{ kind = "constant", per_sec = 3000 }}

[cluster]
brokers = 3
partitions = 3
replication_factor = {replication_factor}
"min.insync.replicas" = 1
append_cost_per_batch_ns = 2000000
append_cost_per_byte_ns = 0
"num.io.threads" = 1

[network]
latency = {{ dist = "constant", ms = 0.05 }}

[run]
duration_ms = 3000
"#
    )
}

#[test]
fn produce_latency_does_not_include_the_follower_appends_of_other_partitions() {
    let replicated = run(&follower_appends(3));
    let alone = run(&follower_appends(1));
    // Each broker follows two partitions: its fetcher threads append as many batches as its
    // handler thread does, but on their own time.
    for stats in &replicated.broker_cpu {
        assert!(
            stats.fetcher_busy_ns >= stats.handler_busy_ns,
            "followers appended: {stats:?}"
        );
    }
    assert!(alone.broker_cpu.iter().all(|s| s.fetcher_busy_ns == 0));
    // A produce request's latency is the round trip (0.1 ms) plus its own 2 ms append.
    for result in [&replicated, &alone] {
        let latency = metric(result, "request-latency-avg");
        assert!(
            (2.1..2.2).contains(&latency),
            "request-latency-avg {latency} ms, expected 2.1 ms (0.1 ms round trip + 2 ms)"
        );
        assert_eq!(result.checker.acked_lost, 0);
    }
    let (r, a) = (
        metric(&replicated, "request-latency-avg"),
        metric(&alone, "request-latency-avg"),
    );
    assert!((r - a).abs() < a * 0.02, "RF 3: {r} ms, RF 1: {a} ms");
}

#[test]
fn pipelined_requests_on_many_threads_keep_their_order_per_connection() {
    // Five requests in flight per connection, two threads for a leader's four connections
    // (the producer's and three followers'), costly appends and fetches, no idempotence: only
    // the muted channel keeps a connection's requests in order.
    let text = r#"
[producer]
acks = "all"
"enable.idempotence" = false
"max.in.flight.requests.per.connection" = 5
"linger.ms" = 1

[workload]
mode = "async"
value_bytes = 200
arrivals = { kind = "poisson", per_sec = 20000 }
keys = { kind = "uniform", count = 50 }

[cluster]
brokers = 4
partitions = 8
replication_factor = 4
append_cost_per_batch_ns = 300000
fetch_cost_per_request_ns = 200000
"num.io.threads" = 2

[network]
latency = { dist = "lognormal", median_ms = 0.2, sigma = 0.5 }

[run]
duration_ms = 2000
"#;
    let result = run(text);
    let sent = metric(&result, "records_sent");
    assert!(sent > 30_000.0, "{sent} records sent");
    assert_eq!(metric(&result, "records_acked"), sent);
    assert_eq!(result.checker.reordered, 0);
    assert_eq!(result.checker.key_reordered, 0);
    assert_eq!(result.checker.duplicated, 0);
    assert_eq!(result.checker.acked_lost, 0);
    // Both threads were busy at times: requests queued for a thread.
    assert!(result.broker_cpu.iter().all(|s| s.queue_wait_ns_total > 0));
}

/// Runs `linger run` on a file holding `text`.
fn linger_run(name: &str, text: &str) -> std::process::Output {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("linger-broker-cpu");
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("writes");
    Command::new(env!("CARGO_BIN_EXE_linger"))
        .arg("run")
        .arg(&path)
        .output()
        .expect("the binary runs")
}

fn assert_refused(name: &str, text: &str, (line, key, allowed): (usize, &str, &str)) {
    let output = linger_run(name, text);
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr:\n{err}");
    assert!(err.contains(&format!("{name}:{line}")), "{err}");
    assert!(err.contains(key), "expected {key} in: {err}");
    assert!(err.contains(allowed), "expected `{allowed}` in: {err}");
    for rust_word in ["u32", "u64", "panicked"] {
        assert!(!err.contains(rust_word), "`{rust_word}` in: {err}");
    }
}

#[test]
fn zero_handler_threads_or_a_zero_request_queue_is_refused_naming_the_key() {
    let threads = "[cluster]\nbrokers = 3\n\"num.io.threads\" = 0\n";
    assert_refused(
        "zero-threads.toml",
        threads,
        (
            3,
            "cluster.\"num.io.threads\"",
            "allowed a whole number of threads from 1",
        ),
    );
    let queue = "[cluster]\n\"queued.max.requests\" = 0\n";
    assert_refused(
        "zero-queue.toml",
        queue,
        (2, "cluster.\"queued.max.requests\"", "from 1 to 2147483647"),
    );
    let negative = "[cluster]\n\"num.io.threads\" = -2\n";
    assert_refused(
        "negative-threads.toml",
        negative,
        (
            2,
            "num.io.threads",
            "a whole number of threads from 1 to 10000",
        ),
    );
    let cost = "[cluster]\nfetch_cost_per_request_ns = 1e3\n";
    assert_refused(
        "float-fetch-cost.toml",
        cost,
        (
            2,
            "fetch_cost_per_request_ns",
            "a whole number of ns from 0",
        ),
    );
}
