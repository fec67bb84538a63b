//! The producer's metrics: Kafka's names (`producer-metrics` group, facts §8) plus send-to-ack
//! latency percentiles and throughput in virtual time.
//!
//! ```text
//!   sender/main thread ──counters──► ProducerMetrics ──rows(elapsed, checker)──► Vec<(name, value)>
//! ```
//!
//! Units: latencies are recorded in ns and reported in ms; rates are per virtual second over the
//! whole run (Kafka uses a 2 × 30 s sampling window; one window over the run is the honest
//! equivalent for a finished simulation); `*-total` are counts.

use hdrhistogram::Histogram;

/// Every metric name, in the fixed order of [`ProducerMetrics::rows`].
pub const METRIC_NAMES: [&str; 39] = [
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
    "reordered",
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
    /// Records placed after a record sent later to the same partition.
    pub reordered: u64,
}

/// Counters the batching core keeps (drain, retry, error, split, buffer pool), copied out at
/// the end of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CoreCounters {
    pub(crate) records_drained: u64,
    pub(crate) batches_drained: u64,
    pub(crate) batch_bytes_sum: u64,
    pub(crate) batch_bytes_max: u64,
    pub(crate) queue_time_ns_sum: u64,
    pub(crate) queue_time_ns_max: u64,
    pub(crate) records_retried: u64,
    pub(crate) records_errored: u64,
    pub(crate) batch_splits: u64,
    pub(crate) buffer_exhausted: u64,
    pub(crate) buffer_wait_ns: u64,
}

/// The largest latency the histogram tracks exactly (one virtual hour); larger values clamp.
const LATENCY_NS_MAX: u64 = 3_600_000_000_000;

/// Raw counters kept by the producer's I/O side during a run.
pub(crate) struct ProducerMetrics {
    /// Send-to-ack latency of acknowledged records, ns.
    pub(crate) ack_latency_ns: Histogram<u64>,
    pub(crate) records_sent: u64,
    pub(crate) records_acked: u64,
    pub(crate) records_failed: u64,
    pub(crate) bytes_acked: u64,
    pub(crate) produce_requests: u64,
    pub(crate) produce_request_records: u64,
    pub(crate) responses: u64,
    pub(crate) request_latency_ns_sum: u64,
    pub(crate) request_latency_ns_max: u64,
    /// Sends failed inside `send()` that the core does not count (metadata wait timeout).
    pub(crate) send_errors: u64,
    /// Buffer waits that ran out (also counted by the core's pool; kept for the app's view).
    pub(crate) buffer_exhausted: u64,
    pub(crate) requests_in_flight_max: u64,
    /// When the last callback ran.
    pub(crate) last_completion_ns: u64,
}

impl ProducerMetrics {
    pub(crate) fn new() -> Self {
        ProducerMetrics {
            ack_latency_ns: Histogram::new_with_bounds(1, LATENCY_NS_MAX, 3)
                .expect("1 ns to 1 hour at 3 significant figures is a valid histogram"),
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
        }
    }

    /// Records one acknowledged record.
    #[inline]
    pub(crate) fn on_ack(&mut self, latency_ns: u64, bytes: u64) {
        self.records_acked += 1;
        self.bytes_acked += bytes;
        // The histogram auto-resizes; saturating_record clamps rather than fails.
        self.ack_latency_ns.saturating_record(latency_ns.max(1));
    }

    /// Records one response with a body (acks != 0).
    #[inline]
    pub(crate) fn on_response(&mut self, latency_ns: u64) {
        self.responses += 1;
        self.request_latency_ns_sum += latency_ns;
        self.request_latency_ns_max = self.request_latency_ns_max.max(latency_ns);
    }

    /// The metric rows in [`METRIC_NAMES`] order; `elapsed_ns` is the rate denominator.
    pub(crate) fn rows(
        &self,
        elapsed_ns: u64,
        unfinished: u64,
        checker: &CheckerCounts,
        core: &CoreCounters,
    ) -> Vec<(&'static str, f64)> {
        let secs = (elapsed_ns.max(1)) as f64 / 1e9;
        let ms = |ns: u64| ns as f64 / 1e6;
        let avg = |sum: u64, n: u64| if n == 0 { 0.0 } else { sum as f64 / n as f64 };
        let h = &self.ack_latency_ns;
        let pct = |q: f64| {
            if h.is_empty() {
                0.0
            } else {
                ms(h.value_at_quantile(q))
            }
        };
        let errors = core.records_errored + self.send_errors;
        let values: [f64; 39] = [
            self.records_acked as f64 / secs,
            self.bytes_acked as f64 / secs,
            pct(0.50),
            pct(0.90),
            pct(0.99),
            pct(0.999),
            if h.is_empty() { 0.0 } else { ms(h.max()) },
            if h.is_empty() { 0.0 } else { h.mean() / 1e6 },
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
            checker.reordered as f64,
            core.records_drained as f64 / secs,
            core.records_drained as f64,
            avg(core.batch_bytes_sum, core.batches_drained),
            core.batch_bytes_max as f64,
            avg(self.produce_request_records, self.produce_requests),
            avg(self.request_latency_ns_sum, self.responses) / 1e6,
            ms(self.request_latency_ns_max),
            avg(core.queue_time_ns_sum, core.batches_drained) / 1e6,
            ms(core.queue_time_ns_max),
            core.records_retried as f64 / secs,
            core.records_retried as f64,
            errors as f64 / secs,
            errors as f64,
            core.buffer_wait_ns as f64 / elapsed_ns.max(1) as f64,
            core.buffer_exhausted as f64,
            core.batch_splits as f64,
            self.requests_in_flight_max as f64,
        ];
        METRIC_NAMES.iter().copied().zip(values).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let rows = m.rows(
            2_000_000_000,
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
}
