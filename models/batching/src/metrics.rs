//! Raw counters behind the producer metrics the sender reports.
//!
//! Kafka records these as sensors with rates over sample windows (`SenderMetricsRegistry`,
//! §8 of the facts file). The core keeps only totals, sums and maxima; the world turns them
//! into rates and averages over its own windows.

/// Totals kept by the accumulator. Per-drain values count every drain, resends included, as
/// `Sender.updateProduceRequestMetrics` does.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct AccumulatorMetrics {
    /// `compression-rate-avg` numerator: each drained batch's `compressionRatio()` (1.0
    /// uncompressed), summed as `f64`.
    pub compression_ratio_sum: f64,
    /// Records accepted by `append`.
    pub records_appended_total: u64,
    /// Batches created by `append` (split children are counted in `batch_split_total`).
    pub batches_created_total: u64,
    /// Batches drained (`batch-size` sensor sample count).
    pub batches_drained_total: u64,
    /// `batch-size-avg` numerator: bytes of drained batches.
    pub batch_size_bytes_sum: u64,
    /// `batch-size-max`.
    pub batch_size_bytes_max: u64,
    /// `record-send-total`: records in drained batches.
    pub records_drained_total: u64,
    /// `record-queue-time-avg` numerator: `drained - created` per drained batch, ns. A `u128`:
    /// one batch retried for virtual days sums more than `u64` nanoseconds.
    pub record_queue_time_ns_sum: u128,
    /// `record-queue-time-max`, ns.
    pub record_queue_time_ns_max: u64,
    /// `record-size-max`: the largest upper-bound record estimate of any drained batch.
    pub record_size_bytes_max: u64,
    /// `record-retry-total`: records re-enqueued after a retriable error.
    pub record_retry_total: u64,
    /// `record-error-total`: records failed (including expiry and abort), plus one per
    /// `append` that failed (record too large, buffer exhausted).
    pub record_error_total: u64,
    /// `batch-split-total`.
    pub batch_split_total: u64,
    /// Batches expired by `delivery.timeout.ms` (queued or in flight).
    pub batches_expired_total: u64,
}

impl AccumulatorMetrics {
    pub(crate) fn record_drain(&mut self, size_bytes: u32, record_count: u32, queue_time_ns: u64) {
        // Sums saturate (or are u128) rather than overflow on any accepted input.
        self.batches_drained_total = self.batches_drained_total.saturating_add(1);
        self.batch_size_bytes_sum = self
            .batch_size_bytes_sum
            .saturating_add(u64::from(size_bytes));
        self.batch_size_bytes_max = self.batch_size_bytes_max.max(u64::from(size_bytes));
        self.records_drained_total = self
            .records_drained_total
            .saturating_add(u64::from(record_count));
        self.record_queue_time_ns_sum += u128::from(queue_time_ns);
        self.record_queue_time_ns_max = self.record_queue_time_ns_max.max(queue_time_ns);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_time_sums_hold_more_than_u64_nanoseconds() {
        let mut m = AccumulatorMetrics::default();
        for _ in 0..4 {
            m.record_drain(100, 1, u64::MAX / 2);
        }
        assert_eq!(m.record_queue_time_ns_sum, u128::from(u64::MAX / 2) * 4);
        assert_eq!(m.record_queue_time_ns_max, u64::MAX / 2);
        m.batch_size_bytes_sum = u64::MAX;
        m.record_drain(100, 1, 0);
        assert_eq!(m.batch_size_bytes_sum, u64::MAX, "saturates");
    }
}
