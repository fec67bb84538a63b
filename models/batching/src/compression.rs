//! Compression in the batch fill: the ratio estimate a batch is sized with, the size it
//! really has once closed, and which thread feeds the codec.
//!
//! The core compresses nothing. Its caller measures a codec on the workload's values and hands
//! in a [`CompressedSize`]: a deterministic function from a batch's uncompressed record bytes
//! to the bytes the codec writes for them. The core makes the decisions Kafka makes with the
//! numbers it has while a batch is open, which are not the compressed bytes:
//!
//! - `MemoryRecordsBuilder.estimatedBytesWritten` is, for a compressed batch,
//!   `61 + (int) (uncompressedRecordsSizeInBytes * estimatedCompressionRatio * 1.05f)`: the
//!   builder never looks at the bytes the compressing stream has flushed so far. `hasRoomFor`
//!   and `isFull` compare that estimate with the write limit, so a batch holds about
//!   `batch.size / (ratio * 1.05)` bytes of records.
//! - The ratio is read once, when the batch is created (`ProducerBatch` constructor,
//!   `CompressionRatioEstimator.estimation(topic, codec)`), and starts at 1.0
//!   (`CompressionType.rate`).
//! - `ProducerBatch.close()` (at every drain, resends included) updates the estimate with the
//!   batch's real ratio, `(bytes written - 61) / uncompressed record bytes`
//!   (`MemoryRecordsBuilder.close`, `writeDefaultBatchHeader`): a worse ratio raises the
//!   estimate at once by at least 0.05, a better one lowers it by at most 0.005 per batch
//!   (`CompressionRatioEstimator.updateEstimation`).
//! - `RecordAccumulator.splitAndReenqueue` resets the estimate to `max(1.0, big batch's ratio)`
//!   before the split (`setEstimation`).
//!
//! All float arithmetic is `f32` in Java's order of operations, so the estimate and every room
//! test come out bit for bit as Kafka's for the same observed sizes.
//!
//! Which thread compresses: records are written into the codec's output stream by
//! `MemoryRecordsBuilder.appendWithOffset` inside `RecordAccumulator.append`, on the thread
//! that called `send()`. The streams buffer their input (`GzipCompression.wrapForOutput` and
//! `ZstdCompression.wrapForOutput`: a 16 KiB `BufferedOutputStream`; `SnappyOutputStream`: 32
//! KiB blocks; `Lz4BlockOutputStream`: 64 KiB blocks), so the codec runs each time a buffer
//! fills, on that thread, and once more for what is left when the stream is closed
//! (`closeForRecordAppends`): by the `send()` whose record did not fit (`tryAppend`), or by the
//! sender when it drains a batch that was not full (`drainBatchesForOneNode` calls `close()`),
//! or by the sender when it splits a batch (`ProducerBatch.split`). [`CodecWork`] counts the
//! uncompressed bytes each call fed to the codec so the caller can charge the right thread.

use std::fmt::Debug;
use std::sync::Arc;

use crate::config::CompressionType;
use crate::sizes::RECORD_BATCH_OVERHEAD_BYTES;

/// `MemoryRecordsBuilder.COMPRESSION_RATE_ESTIMATION_FACTOR`.
pub const COMPRESSION_RATE_ESTIMATION_FACTOR: f32 = 1.05;
/// `CompressionRatioEstimator.COMPRESSION_RATIO_IMPROVING_STEP`.
pub const COMPRESSION_RATIO_IMPROVING_STEP: f32 = 0.005;
/// `CompressionRatioEstimator.COMPRESSION_RATIO_DETERIORATE_STEP`.
pub const COMPRESSION_RATIO_DETERIORATE_STEP: f32 = 0.05;

/// The bytes a codec writes for a batch's records: the caller's measured codec.
pub trait CompressedSize: Debug + Send + Sync {
    /// Bytes the compressing stream writes (frame headers included) for `uncompressed_bytes`
    /// of encoded records, `record_count` of them. Must be deterministic.
    fn compressed_bytes(&self, uncompressed_bytes: u32, record_count: u32) -> u32;
}

/// How the producer compresses batches.
#[derive(Clone, Debug)]
pub enum Compression {
    /// `compression.type=none`.
    None,
    /// A codec, with its measured sizes.
    Codec(CodecModel),
}

/// A codec as the core needs it.
#[derive(Clone, Debug)]
pub struct CodecModel {
    /// The codec (never `None`).
    pub codec: CompressionType,
    /// The measured sizes.
    pub size: Arc<dyn CompressedSize>,
}

impl CodecModel {
    /// Bytes the codec's output stream buffers before it compresses them (see the module doc).
    pub fn stream_buffer_bytes(&self) -> u32 {
        stream_buffer_bytes(self.codec)
    }
}

/// Bytes a codec's output stream in the Java client buffers before the codec runs.
pub fn stream_buffer_bytes(codec: CompressionType) -> u32 {
    match codec {
        CompressionType::None => u32::MAX,
        CompressionType::Gzip | CompressionType::Zstd => 16 * 1024,
        CompressionType::Snappy => 32 * 1024,
        CompressionType::Lz4 => 64 * 1024,
    }
}

/// `CompressionRatioEstimator` for the one topic and codec of the producer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RatioEstimator {
    estimate: f32,
}

impl Default for RatioEstimator {
    fn default() -> Self {
        // `CompressionType.rate`: 1.0 for every codec.
        RatioEstimator { estimate: 1.0 }
    }
}

impl RatioEstimator {
    /// The current estimate (`estimation`).
    pub fn estimate(&self) -> f32 {
        self.estimate
    }

    /// `updateEstimation(topic, codec, observedRatio)`.
    pub fn update(&mut self, observed: f32) -> f32 {
        let current = self.estimate;
        if observed > current {
            self.estimate = (current + COMPRESSION_RATIO_DETERIORATE_STEP).max(observed);
        } else if observed < current {
            self.estimate = (current - COMPRESSION_RATIO_IMPROVING_STEP).max(observed);
        }
        self.estimate
    }

    /// `setEstimation(topic, codec, max(1.0, ratio))`, as `splitAndReenqueue` does.
    pub fn reset_for_split(&mut self, big_batch_ratio: f32) {
        self.estimate = big_batch_ratio.max(1.0);
    }
}

/// `estimatedBytesWritten` of a compressed builder: `61 + (int) (u * ratio * 1.05f)`, with
/// Java's `f32` operations and its saturating float-to-int cast.
#[inline]
pub fn estimated_bytes_written(uncompressed_record_bytes: u32, ratio: f32) -> u32 {
    let records =
        (uncompressed_record_bytes as f32 * ratio * COMPRESSION_RATE_ESTIMATION_FACTOR) as i32;
    RECORD_BATCH_OVERHEAD_BYTES.saturating_add(records.max(0) as u32)
}

/// `actualCompressionRatio` after `close()`: `(float) writtenCompressed / uncompressedBytes`.
pub fn actual_ratio(compressed_bytes: u32, uncompressed_record_bytes: u32) -> f32 {
    compressed_bytes as f32 / uncompressed_record_bytes as f32
}

/// Uncompressed bytes fed to the codec, by the thread that fed them, since the caller last
/// took them ([`crate::RecordAccumulator::take_codec_work`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CodecWork {
    /// Bytes compressed.
    pub compressed_input_bytes: u64,
    /// Bytes decompressed (a split reads its big batch back).
    pub decompressed_output_bytes: u64,
}

impl CodecWork {
    /// Whether nothing was fed to a codec.
    pub fn is_empty(&self) -> bool {
        self.compressed_input_bytes == 0 && self.decompressed_output_bytes == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_starts_at_one_rises_fast_and_falls_slowly_like_compression_ratio_estimator() {
        let mut est = RatioEstimator::default();
        assert_eq!(est.estimate(), 1.0);
        assert_eq!(est.update(0.3), 1.0 - 0.005);
        assert_eq!(est.update(0.3), 1.0 - 0.005 - 0.005);
        // Worse than expected: at least +0.05, or straight to the observed ratio.
        let before = est.estimate();
        assert_eq!(est.update(before + 0.01), before + 0.05);
        assert_eq!(est.update(2.0), 2.0);
        // Never below what was observed.
        let mut est = RatioEstimator { estimate: 0.302 };
        assert_eq!(est.update(0.3), 0.3);
        est.reset_for_split(0.4);
        assert_eq!(est.estimate(), 1.0);
        est.reset_for_split(1.3);
        assert_eq!(est.estimate(), 1.3);
    }

    #[test]
    fn estimated_bytes_written_truncates_like_the_java_int_cast() {
        // 1000 * 0.5 * 1.05 = 525.
        assert_eq!(estimated_bytes_written(1000, 0.5), 61 + 525);
        assert_eq!(estimated_bytes_written(0, 0.5), 61);
        // 999 * 0.3 * 1.05 = 314.685 -> 314.
        assert_eq!(estimated_bytes_written(999, 0.3), 61 + 314);
        // Ratio 1.0 still adds the 5 % margin: a compressed batch of incompressible records
        // holds fewer of them than an uncompressed one.
        assert_eq!(estimated_bytes_written(16_000, 1.0), 61 + 16_800);
    }
}
