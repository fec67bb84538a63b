//! The producer's metrics: Kafka's names (`producer-metrics` group, facts §8) plus send-to-ack
//! latency percentiles and throughput in virtual time.
//!
//! ```text
//!   sender/main thread ──counters──► ProducerMetrics ──rows(elapsed, checker)──► Vec<(name, value)>
//! ```
//!
//! Units: latencies are recorded in ns and reported in ms; rates are per virtual second over the
//! whole run (Kafka uses a 2 × 30 s sampling window; one window over the run is the honest
//! equivalent for a finished simulation); `*-total` are counts (`bufferpool-wait-time-ns-total`
//! is ns, as in Kafka).
//!
//! Empty is not zero: a statistic over no samples (latency percentiles when nothing was
//! acknowledged, an average over no batches or responses, a maximum of nothing) is NaN, written
//! empty in the result files, as Kafka's `Avg` and `Max` stats read NaN with no samples.
//! Counts and rates stay numbers: 0 records per second is a measurement.
//!
//! Send-to-ack latency runs from the `send()` call to the callback. The time the application
//! waited inside `send()` (for metadata or buffer memory) is measured on its own, as the
//! send-call latency (`send_latency_*_ms`, every returned call, most of them 0) and Kafka's
//! `bufferpool-wait-time-ns-total`; and `offered_records_per_s` (the workload's mean arrival
//! rate) beside `send_rate_records_per_s` (the calls actually made) shows a producer that
//! cannot keep up, whose records wait before `send()` is even called.

use hdrhistogram::Histogram;

/// Every metric name, in the fixed order of [`ProducerMetrics::rows`].
pub const METRIC_NAMES: [&str; 53] = [
    "throughput_records_per_s",
    "throughput_bytes_per_s",
    "latency_p50_ms",
    "latency_p90_ms",
    "latency_p99_ms",
    "latency_p999_ms",
    "latency_max_ms",
    "latency_mean_ms",
    "records_sent",
    "records_acked",
    "records_failed",
    "records_unfinished",
    "delivered_once",
    "duplicated",
    "duplicate_copies",
    "lost_acked",
    "failed_absent",
    "silent_absent",
    "failed_present",
    "unfinished_absent",
    "unfinished_present",
    "unsettled",
    "reordered",
    "key_reordered",
    "acked_offset_mismatch",
    "foreign_in_log",
    "record-send-rate",
    "record-send-total",
    "batch-size-avg",
    "batch-size-max",
    "records-per-request-avg",
    "request-latency-avg",
    "request-latency-max",
    "record-queue-time-avg",
    "record-queue-time-max",
    "record-retry-rate",
    "record-retry-total",
    "record-error-rate",
    "record-error-total",
    "bufferpool-wait-ratio",
    "buffer-exhausted-total",
    "batch-split-total",
    "requests-in-flight-max",
    "compression-rate-avg",
    "records_per_batch_avg",
    "batch_bytes_per_s",
    "producer_codec_cpu_ratio",
    "offered_records_per_s",
    "send_rate_records_per_s",
    "send_latency_p50_ms",
    "send_latency_p99_ms",
    "send_latency_max_ms",
    "bufferpool-wait-time-ns-total",
];

/// How the metrics read as groups, for summaries: each title with the number of consecutive
/// names of [`METRIC_NAMES`] it covers, in order.
pub const METRIC_GROUPS: [(&str, usize); 7] = [
    ("throughput", 2),
    ("latency (send to ack, ms)", 6),
    ("records", 4),
    (
        "delivery checker (final logs vs what the application was told)",
        14,
    ),
    ("batching and Kafka producer metrics", 17),
    ("compression and the bytes on the wire", 4),
    ("offered load and time blocked in send()", 6),
];

/// The checker's outcome classes as metric values, in the order of [`METRIC_NAMES`] (from
/// `delivered_once` to `reordered`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CheckerCounts {
    /// Records in the log exactly once.
    pub delivered_once: u64,
    /// Records in the log more than once.
    pub duplicated: u64,
    /// Extra copies beyond the first, summed.
    pub duplicate_copies: u64,
    /// Acknowledged (with an offset) but absent.
    pub lost_acked: u64,
    /// Reported failed and absent.
    pub failed_absent: u64,
    /// Acknowledged with offset -1 (acks=0) and absent.
    pub silent_absent: u64,
    /// Reported failed but present.
    pub failed_present: u64,
    /// Never completed and absent.
    pub unfinished_absent: u64,
    /// Never completed but present.
    pub unfinished_present: u64,
    /// Not committed but above a high watermark on some replica when the run ended unsettled.
    pub unsettled: u64,
    /// Records placed after a record sent later to the same partition.
    pub reordered: u64,
    /// The same count within each key.
    pub key_reordered: u64,
    /// Acknowledged with an offset and present, but not at that offset.
    pub acked_offset_mismatch: u64,
    /// Log records no `send()` produced, or in another partition than sent to.
    pub foreign_in_log: u64,
}

/// Counters the batching core keeps (drain, retry, error, split, buffer pool), copied out at
/// the end of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct CoreCounters {
    pub(crate) records_drained: u64,
    pub(crate) batches_drained: u64,
    pub(crate) batch_bytes_sum: u64,
    pub(crate) batch_bytes_max: u64,
    pub(crate) queue_time_ns_sum: u128,
    pub(crate) queue_time_ns_max: u64,
    pub(crate) records_retried: u64,
    pub(crate) records_errored: u64,
    pub(crate) batch_splits: u64,
    pub(crate) buffer_exhausted: u64,
    pub(crate) buffer_wait_ns: u64,
    pub(crate) compression_ratio_sum: f64,
}

/// The largest latency the histogram tracks exactly (one virtual hour); larger values clamp.
const LATENCY_NS_MAX: u64 = 3_600_000_000_000;

/// The latency histogram's shape: 1 ns to [`LATENCY_NS_MAX`] at 3 significant figures.
fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, LATENCY_NS_MAX, 3)
        .expect("1 ns to 1 hour at 3 significant figures is a valid histogram")
}

/// Send-to-ack latencies as the counts of [`latency_histogram`]'s buckets, recorded with a few
/// inline instructions per record instead of a call into hdrhistogram; [`LatencyCounts::histogram`]
/// turns them into the very histogram that recording each value there would have built.
///
/// The bucket index is hdrhistogram 7's (`index_for`) for its lowest value 1 (unit magnitude 0)
/// and 3 significant figures (2048 sub-buckets, half of them 1024). A test checks the result
/// against recording every value into hdrhistogram directly.
pub(crate) struct LatencyCounts {
    /// Values per bucket; as many buckets as the histogram has.
    counts: Vec<u64>,
    /// The smallest and largest values recorded (after clamping), as the histogram keeps them.
    min: u64,
    max: u64,
}

/// `64 - unit magnitude (0) - log2(sub-bucket count) (11)`.
const LEADING_ZERO_COUNT_BASE: u32 = 53;
/// `sub-bucket count - 1`.
const SUB_BUCKET_MASK: u64 = 2047;
const SUB_BUCKET_HALF_COUNT_MAGNITUDE: u32 = 10;
const SUB_BUCKET_HALF_COUNT: u64 = 1 << SUB_BUCKET_HALF_COUNT_MAGNITUDE;

impl LatencyCounts {
    fn new() -> Self {
        LatencyCounts {
            counts: vec![0; latency_histogram().distinct_values()],
            min: u64::MAX,
            max: 0,
        }
    }

    /// The bucket of `value` (at least 1).
    #[inline]
    fn index_of(value: u64) -> usize {
        let bucket = LEADING_ZERO_COUNT_BASE - (value | SUB_BUCKET_MASK).leading_zeros();
        let sub_bucket = value >> bucket;
        (((u64::from(bucket) + 1) << SUB_BUCKET_HALF_COUNT_MAGNITUDE) + sub_bucket
            - SUB_BUCKET_HALF_COUNT) as usize
    }

    /// The lowest value of bucket `index` (hdrhistogram's `value_for`).
    fn value_of(index: usize) -> u64 {
        let index = index as u64;
        let half = index >> SUB_BUCKET_HALF_COUNT_MAGNITUDE;
        let low_bits = index & (SUB_BUCKET_HALF_COUNT - 1);
        if half == 0 {
            low_bits
        } else {
            (low_bits + SUB_BUCKET_HALF_COUNT) << (half - 1)
        }
    }

    /// Records one latency of `value` ns (at least 1), clamping values past the histogram's
    /// range to [`LATENCY_NS_MAX`] as `saturating_record` does.
    #[inline]
    fn record(&mut self, value: u64) {
        let mut index = Self::index_of(value);
        let mut value = value;
        if index >= self.counts.len() {
            value = LATENCY_NS_MAX;
            index = Self::index_of(value);
        }
        self.counts[index] += 1;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
    }

    /// The histogram that recording every value with `saturating_record` would have built: the
    /// same counts, total, minimum and maximum.
    pub(crate) fn histogram(&self) -> Histogram<u64> {
        let mut h = latency_histogram();
        let (min_index, max_index) = (Self::index_of(self.min), Self::index_of(self.max));
        for (index, &count) in self.counts.iter().enumerate() {
            if count == 0 {
                continue;
            }
            let mut rest = count;
            if index == max_index {
                h.saturating_record(self.max);
                rest -= 1;
            }
            // Every other value counts as its bucket's lowest, except in the lowest bucket,
            // whose lowest value may be below the minimum recorded.
            let value = if index == min_index {
                self.min
            } else {
                Self::value_of(index)
            };
            if rest > 0 {
                h.saturating_record_n(value, rest);
            }
        }
        h
    }
}

/// Raw counters kept by the producer's I/O side during a run.
pub(crate) struct ProducerMetrics {
    /// Send-to-ack latency of acknowledged records, ns.
    pub(crate) ack_latency_ns: LatencyCounts,
    pub(crate) records_sent: u64,
    pub(crate) records_acked: u64,
    pub(crate) records_failed: u64,
    pub(crate) bytes_acked: u64,
    pub(crate) produce_requests: u64,
    pub(crate) produce_request_records: u64,
    pub(crate) responses: u64,
    pub(crate) request_latency_ns_sum: u128,
    pub(crate) request_latency_ns_max: u64,
    /// Sends failed inside `send()` that the core does not count (metadata wait timeout).
    pub(crate) send_errors: u64,
    /// Buffer waits that ran out (also counted by the core's pool; kept for the app's view).
    pub(crate) buffer_exhausted: u64,
    pub(crate) requests_in_flight_max: u64,
    /// When the last callback ran.
    pub(crate) last_completion_ns: u64,
    /// Codec time charged to `send()` on the application thread, ns.
    pub(crate) codec_app_ns: u64,
    /// Codec time spent by the sender (closing batches drained before full, splits), ns.
    pub(crate) codec_sender_ns: u64,
    /// How long each `send()` call that blocked (for metadata or memory) took, ns; calls that
    /// returned at once are counted in `send_calls_returned` only.
    pub(crate) send_blocked_ns: LatencyCounts,
    /// `send()` calls that returned (appended or failed).
    pub(crate) send_calls_returned: u64,
}

/// The time span and offered load the rates and warnings are computed over.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct RunSpan {
    /// The rate denominator: the active part of the run, ns.
    pub(crate) elapsed_ns: u64,
    /// How long the application was sending, ns.
    pub(crate) send_phase_ns: u64,
    /// The workload's mean arrival rate (records per s); `None` for a closed loop.
    pub(crate) offered_per_sec: Option<f64>,
}

impl ProducerMetrics {
    pub(crate) fn new() -> Self {
        ProducerMetrics {
            ack_latency_ns: LatencyCounts::new(),
            records_sent: 0,
            records_acked: 0,
            records_failed: 0,
            bytes_acked: 0,
            produce_requests: 0,
            produce_request_records: 0,
            responses: 0,
            request_latency_ns_sum: 0,
            request_latency_ns_max: 0,
            send_errors: 0,
            buffer_exhausted: 0,
            requests_in_flight_max: 0,
            last_completion_ns: 0,
            codec_app_ns: 0,
            codec_sender_ns: 0,
            send_blocked_ns: LatencyCounts::new(),
            send_calls_returned: 0,
        }
    }

    /// Records one `send()` call that returned after `blocked_ns` inside the call.
    #[inline]
    pub(crate) fn on_send_returned(&mut self, blocked_ns: u64) {
        self.send_calls_returned += 1;
        if blocked_ns > 0 {
            self.send_blocked_ns.record(blocked_ns);
        }
    }

    /// The send-call latency at quantile `q`, in ms, over every returned call (those that did
    /// not block count as 0); NaN when no call returned.
    fn send_latency_ms(&self, blocked: &Histogram<u64>, q: f64) -> f64 {
        let total = self.send_calls_returned;
        if total == 0 {
            return f64::NAN;
        }
        let blocked_count = blocked.len().min(total);
        let immediate = total - blocked_count;
        // The rank of the quantile among all calls, as hdrhistogram counts it (at least 1).
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        if rank <= immediate {
            return 0.0;
        }
        let within = (rank - immediate) as f64 / blocked_count as f64;
        blocked.value_at_quantile(within.min(1.0)) as f64 / 1e6
    }

    /// Records one acknowledged record.
    #[inline]
    pub(crate) fn on_ack(&mut self, latency_ns: u64, bytes: u64) {
        self.records_acked += 1;
        self.bytes_acked += bytes;
        self.record_ack_latency(latency_ns);
    }

    /// Records the send-to-ack latency of one acknowledged record (counted by the caller).
    #[inline]
    pub(crate) fn record_ack_latency(&mut self, latency_ns: u64) {
        self.ack_latency_ns.record(latency_ns.max(1));
    }

    /// Records one response with a body (acks != 0).
    #[inline]
    pub(crate) fn on_response(&mut self, latency_ns: u64) {
        self.responses += 1;
        self.request_latency_ns_sum += u128::from(latency_ns);
        self.request_latency_ns_max = self.request_latency_ns_max.max(latency_ns);
    }

    /// The metric rows in [`METRIC_NAMES`] order over `span`.
    pub(crate) fn rows(
        &self,
        span: RunSpan,
        unfinished: u64,
        checker: &CheckerCounts,
        core: &CoreCounters,
    ) -> Vec<(&'static str, f64)> {
        let elapsed_ns = span.elapsed_ns;
        let secs = (elapsed_ns.max(1)) as f64 / 1e9;
        let ms = |ns: u64| ns as f64 / 1e6;
        // A u128 sum converts to the same f64 as a u64 one wherever a u64 could hold it; an
        // average or maximum over no samples is empty (NaN), not 0.
        let avg = |sum: u128, n: u64| {
            if n == 0 {
                f64::NAN
            } else {
                sum as f64 / n as f64
            }
        };
        let max_of = |max: f64, n: u64| if n == 0 { f64::NAN } else { max };
        let h = &self.ack_latency_ns.histogram();
        let pct = |q: f64| {
            if h.is_empty() {
                f64::NAN
            } else {
                ms(h.value_at_quantile(q))
            }
        };
        let blocked = &self.send_blocked_ns.histogram();
        let send_max = if blocked.is_empty() {
            max_of(0.0, self.send_calls_returned)
        } else {
            ms(blocked.max())
        };
        let errors = core.records_errored + self.send_errors;
        let send_secs = span.send_phase_ns.max(1) as f64 / 1e9;
        let values: [f64; 53] = [
            self.records_acked as f64 / secs,
            self.bytes_acked as f64 / secs,
            pct(0.50),
            pct(0.90),
            pct(0.99),
            pct(0.999),
            if h.is_empty() { f64::NAN } else { ms(h.max()) },
            if h.is_empty() {
                f64::NAN
            } else {
                h.mean() / 1e6
            },
            self.records_sent as f64,
            self.records_acked as f64,
            self.records_failed as f64,
            unfinished as f64,
            checker.delivered_once as f64,
            checker.duplicated as f64,
            checker.duplicate_copies as f64,
            checker.lost_acked as f64,
            checker.failed_absent as f64,
            checker.silent_absent as f64,
            checker.failed_present as f64,
            checker.unfinished_absent as f64,
            checker.unfinished_present as f64,
            checker.unsettled as f64,
            checker.reordered as f64,
            checker.key_reordered as f64,
            checker.acked_offset_mismatch as f64,
            checker.foreign_in_log as f64,
            core.records_drained as f64 / secs,
            core.records_drained as f64,
            avg(u128::from(core.batch_bytes_sum), core.batches_drained),
            max_of(core.batch_bytes_max as f64, core.batches_drained),
            avg(
                u128::from(self.produce_request_records),
                self.produce_requests,
            ),
            avg(self.request_latency_ns_sum, self.responses) / 1e6,
            max_of(ms(self.request_latency_ns_max), self.responses),
            avg(core.queue_time_ns_sum, core.batches_drained) / 1e6,
            max_of(ms(core.queue_time_ns_max), core.batches_drained),
            core.records_retried as f64 / secs,
            core.records_retried as f64,
            errors as f64 / secs,
            errors as f64,
            core.buffer_wait_ns as f64 / elapsed_ns.max(1) as f64,
            core.buffer_exhausted as f64,
            core.batch_splits as f64,
            self.requests_in_flight_max as f64,
            if core.batches_drained == 0 {
                f64::NAN
            } else {
                core.compression_ratio_sum / core.batches_drained as f64
            },
            avg(u128::from(core.records_drained), core.batches_drained),
            core.batch_bytes_sum as f64 / secs,
            (self.codec_app_ns + self.codec_sender_ns) as f64 / elapsed_ns.max(1) as f64,
            span.offered_per_sec.unwrap_or(f64::NAN),
            self.records_sent as f64 / send_secs,
            self.send_latency_ms(blocked, 0.50),
            self.send_latency_ms(blocked, 0.99),
            send_max,
            core.buffer_wait_ns as f64,
        ];
        METRIC_NAMES.iter().copied().zip(values).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_counts_build_the_histogram_recording_each_value_builds() {
        let mut direct = latency_histogram();
        let mut counts = LatencyCounts::new();
        assert_eq!(counts.histogram(), direct, "empty");
        let mut values = vec![1, 2, 1023, 1024, 2047, 2048, 2049, 4095, 4096, 4097];
        values.extend((0..64).flat_map(|k| {
            let p = 1u64 << k;
            [p - 1, p, p + 1, p + p / 3]
        }));
        values.extend([
            LATENCY_NS_MAX - 1,
            LATENCY_NS_MAX,
            LATENCY_NS_MAX + 1,
            u64::MAX,
        ]);
        // A deterministic spread over every magnitude (xorshift).
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push(x >> (x % 64));
        }
        for (i, &value) in values.iter().enumerate() {
            let value = value.max(1);
            direct.saturating_record(value);
            counts.record(value);
            if i % 997 == 0 || i < 300 {
                let built = counts.histogram();
                assert_eq!(built, direct, "after {i} values");
                assert_eq!(built.max(), direct.max());
                assert_eq!(built.min_nz(), direct.min_nz());
                assert_eq!(built.mean().to_bits(), direct.mean().to_bits());
                for q in [0.0, 0.5, 0.9, 0.99, 0.999, 1.0] {
                    assert_eq!(built.value_at_quantile(q), direct.value_at_quantile(q));
                }
            }
        }
        // Narrow ranges, where the minimum and maximum share a bucket.
        for (low, n) in [(5_000_000u64, 3u64), (3, 1), (70_000, 50)] {
            let mut direct = latency_histogram();
            let mut counts = LatencyCounts::new();
            for v in low..low + n {
                direct.saturating_record(v);
                counts.record(v);
            }
            let built = counts.histogram();
            assert_eq!(built, direct);
            assert_eq!(built.mean().to_bits(), direct.mean().to_bits());
        }
    }

    #[test]
    fn rows_follow_the_fixed_name_order_and_compute_rates() {
        let mut m = ProducerMetrics::new();
        m.records_sent = 4;
        for latency_ms in [1, 2, 3, 10] {
            m.on_ack(latency_ms * 1_000_000, 100);
        }
        let core = CoreCounters {
            records_drained: 4,
            batches_drained: 1,
            batch_bytes_sum: 500,
            batch_bytes_max: 500,
            queue_time_ns_sum: 2_000_000,
            ..CoreCounters::default()
        };
        let span = RunSpan {
            elapsed_ns: 2_000_000_000,
            send_phase_ns: 2_000_000_000,
            offered_per_sec: Some(2.0),
        };
        let rows = m.rows(
            span,
            0,
            &CheckerCounts {
                delivered_once: 4,
                ..CheckerCounts::default()
            },
            &core,
        );
        let names: Vec<&str> = rows.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, METRIC_NAMES.to_vec());
        let get = |name: &str| rows.iter().find(|(n, _)| *n == name).expect("present").1;
        assert_eq!(get("throughput_records_per_s"), 2.0);
        assert_eq!(get("throughput_bytes_per_s"), 200.0);
        assert_eq!(get("record-send-total"), 4.0);
        assert_eq!(get("batch-size-avg"), 500.0);
        assert_eq!(get("record-queue-time-avg"), 2.0);
        assert_eq!(get("delivered_once"), 4.0);
        assert!((get("latency_max_ms") - 10.0).abs() < 0.05);
        assert!((get("latency_p50_ms") - 2.0).abs() < 0.01);
    }

    #[test]
    fn metric_groups_cover_every_name_once_in_order() {
        let covered: usize = METRIC_GROUPS.iter().map(|(_, count)| count).sum();
        assert_eq!(covered, METRIC_NAMES.len());
        let starts: Vec<&str> = METRIC_GROUPS
            .iter()
            .scan(0, |start, (_, count)| {
                let first = METRIC_NAMES[*start];
                *start += count;
                Some(first)
            })
            .collect();
        assert_eq!(
            starts,
            [
                "throughput_records_per_s",
                "latency_p50_ms",
                "records_sent",
                "delivered_once",
                "record-send-rate",
                "compression-rate-avg",
                "offered_records_per_s"
            ]
        );
    }

    fn rows_of(m: &ProducerMetrics, core: &CoreCounters) -> Vec<(&'static str, f64)> {
        let span = RunSpan {
            elapsed_ns: 1_000_000_000,
            send_phase_ns: 1_000_000_000,
            offered_per_sec: Some(1000.0),
        };
        m.rows(span, 0, &CheckerCounts::default(), core)
    }

    fn value(rows: &[(&'static str, f64)], name: &str) -> f64 {
        rows.iter().find(|(n, _)| *n == name).expect("present").1
    }

    #[test]
    fn statistics_over_no_samples_are_empty_not_zero() {
        let mut m = ProducerMetrics::new();
        m.records_sent = 3;
        m.records_failed = 3;
        let rows = rows_of(&m, &CoreCounters::default());
        for name in [
            "latency_p50_ms",
            "latency_p99_ms",
            "latency_max_ms",
            "latency_mean_ms",
            "batch-size-avg",
            "batch-size-max",
            "records-per-request-avg",
            "request-latency-avg",
            "request-latency-max",
            "record-queue-time-avg",
            "record-queue-time-max",
            "send_latency_p99_ms",
        ] {
            assert!(value(&rows, name).is_nan(), "{name} must be empty");
        }
        // Counts and rates are measurements: none acknowledged is 0 records per second.
        assert_eq!(value(&rows, "throughput_records_per_s"), 0.0);
        assert_eq!(value(&rows, "records_acked"), 0.0);
        assert_eq!(value(&rows, "records_sent"), 3.0);
    }

    #[test]
    fn send_call_latency_counts_calls_that_did_not_block_as_zero() {
        let mut m = ProducerMetrics::new();
        // 98 calls return at once, 2 block for 5 ms and 40 ms.
        for _ in 0..98 {
            m.on_send_returned(0);
        }
        m.on_send_returned(5_000_000);
        m.on_send_returned(40_000_000);
        m.records_sent = 100;
        let core = CoreCounters {
            buffer_wait_ns: 45_000_000,
            ..CoreCounters::default()
        };
        let rows = rows_of(&m, &core);
        assert_eq!(value(&rows, "send_latency_p50_ms"), 0.0);
        assert!((value(&rows, "send_latency_p99_ms") - 5.0).abs() < 0.01);
        assert!((value(&rows, "send_latency_max_ms") - 40.0).abs() < 0.05);
        assert_eq!(value(&rows, "bufferpool-wait-time-ns-total"), 45_000_000.0);
        assert_eq!(value(&rows, "offered_records_per_s"), 1000.0);
        assert_eq!(value(&rows, "send_rate_records_per_s"), 100.0);
    }
}
