//! `compression.type` in the whole world: records per batch with compressible and random
//! values, the producer's codec CPU on the application thread, the bytes on the wire, and
//! the ratio measured once at set-up being the same on every run.

use models::batching::config::CompressionType;
use models::producer::compression::ValueContent;
use models::producer::workload::{Arrivals, ValueBytes};
use models::world::{RunResult, WorldConfig, default_config, run};

fn config(codec: CompressionType, values: ValueContent) -> WorldConfig {
    let mut config = default_config();
    config.producer.compression_type = codec;
    config.producer.linger_ms = 20;
    config.workload.values = values;
    config.workload.value_bytes = ValueBytes::Constant(512);
    config.workload.arrivals = Arrivals::Constant { per_sec: 20_000.0 };
    config.run.duration_ms = 1000.0;
    config
}

fn metric(r: &RunResult, name: &str) -> f64 {
    r.metric(name).unwrap_or_else(|| panic!("metric {name}"))
}

fn json() -> ValueContent {
    ValueContent::Json { fields: 8 }
}

#[test]
fn lz4_and_zstd_batches_hold_more_json_records_and_about_as_many_random_ones() {
    let none_json = run(&config(CompressionType::None, json()), 1, sim::Trace::off());
    let none_random = run(
        &config(CompressionType::None, ValueContent::Random {}),
        1,
        sim::Trace::off(),
    );
    let per_batch_none = metric(&none_json, "records_per_batch_avg");
    assert_eq!(
        per_batch_none,
        metric(&none_random, "records_per_batch_avg")
    );
    for codec in [CompressionType::Lz4, CompressionType::Zstd] {
        let on_json = run(&config(codec, json()), 1, sim::Trace::off());
        let on_random = run(
            &config(codec, ValueContent::Random {}),
            1,
            sim::Trace::off(),
        );
        // JSON compresses: the estimate falls and batches hold more records, and fewer bytes
        // leave the client per record.
        assert!(
            metric(&on_json, "records_per_batch_avg") > 1.5 * per_batch_none,
            "{codec}"
        );
        assert!(metric(&on_json, "compression-rate-avg") < 0.5, "{codec}");
        assert!(
            metric(&on_json, "batch_bytes_per_s") < 0.6 * metric(&none_json, "batch_bytes_per_s"),
            "{codec}"
        );
        // Random bytes do not: the estimate stays at 1.0 (plus Kafka's 5 % margin), so a
        // batch holds about as many records as uncompressed, a little fewer.
        let random = metric(&on_random, "records_per_batch_avg");
        assert!(random <= per_batch_none, "{codec}: {random}");
        assert!(random > 0.9 * per_batch_none, "{codec}: {random}");
        assert!(metric(&on_random, "compression-rate-avg") > 0.97, "{codec}");
        for r in [&on_json, &on_random] {
            assert_eq!(r.checker.delivered_once, r.checker.sent, "{codec}");
            assert!(metric(r, "producer_codec_cpu_ratio") > 0.0, "{codec}");
        }
    }
}

#[test]
fn a_cpu_bound_producer_reaches_a_lower_ceiling_with_gzip_than_with_lz4() {
    let saturated = |codec| {
        let mut c = config(codec, json());
        c.workload.arrivals = Arrivals::Saturate {};
        c.workload.send_cpu_ms = 0.002;
        c.run.duration_ms = 300.0;
        run(&c, 1, sim::Trace::off())
    };
    let gzip = saturated(CompressionType::Gzip);
    let lz4 = saturated(CompressionType::Lz4);
    let none = saturated(CompressionType::None);
    let sent = |r: &RunResult| metric(r, "records_sent");
    assert!(
        sent(&gzip) < 0.5 * sent(&lz4),
        "gzip {} lz4 {}",
        sent(&gzip),
        sent(&lz4)
    );
    assert!(sent(&lz4) < sent(&none));
    // gzip spends most of the application thread's time in the codec.
    assert!(metric(&gzip, "producer_codec_cpu_ratio") > 0.5);
}

#[test]
fn on_a_network_bound_link_compression_raises_records_per_second() {
    let bound = |codec| {
        let mut c = config(codec, json());
        c.workload.arrivals = Arrivals::Constant { per_sec: 40_000.0 };
        // 5 MB/s on every link, 15 MB/s to the three leaders: 40k records/s of 512 B (about
        // 21 MB/s) cannot pass uncompressed; at zstd's ratio on JSON they can.
        c.network.bandwidth_bytes_per_s = 5_000_000;
        c.run.duration_ms = 2000.0;
        run(&c, 1, sim::Trace::off())
    };
    let none = bound(CompressionType::None);
    let zstd = bound(CompressionType::Zstd);
    let acked_per_s = |r: &RunResult| metric(r, "throughput_records_per_s");
    assert!(acked_per_s(&none) < 0.8 * 40_000.0);
    assert!(
        acked_per_s(&zstd) > 0.95 * 40_000.0,
        "zstd {} none {}",
        acked_per_s(&zstd),
        acked_per_s(&none)
    );
}

#[test]
fn the_measured_ratio_and_the_run_are_the_same_on_every_run_and_thread() {
    let c = config(CompressionType::Zstd, json());
    let first = run(&c, 7, sim::Trace::off());
    let c2 = c.clone();
    let second = std::thread::spawn(move || run(&c2, 7, sim::Trace::off()))
        .join()
        .expect("the run finishes");
    assert_eq!(first.metrics, second.metrics);
    assert_eq!(first.trace_hash, second.trace_hash);
}

#[test]
fn the_leader_decompresses_to_validate_and_recompresses_for_a_topic_codec_of_its_own() {
    use models::cluster::config::TopicCompression;
    let busy_ns = |codec, topic| {
        let mut c = config(codec, json());
        c.cluster.compression_type = topic;
        let r = run(&c, 1, sim::Trace::off());
        assert_eq!(r.checker.delivered_once, r.checker.sent);
        r.broker_cpu.iter().map(|s| s.handler_busy_ns).sum::<u64>()
    };
    let plain = busy_ns(CompressionType::None, TopicCompression::Producer);
    let lz4 = busy_ns(CompressionType::Lz4, TopicCompression::Producer);
    let lz4_to_gzip = busy_ns(CompressionType::Lz4, TopicCompression::Gzip);
    let none_to_gzip = busy_ns(CompressionType::None, TopicCompression::Gzip);
    // Every lz4 batch is read back to validate it; a gzip topic also writes it again.
    assert!(
        lz4_to_gzip > lz4,
        "recompression to gzip costs the leader more"
    );
    assert!(
        none_to_gzip > 2 * plain,
        "an uncompressed producer on a gzip topic"
    );
    assert!(lz4_to_gzip > plain);
}
