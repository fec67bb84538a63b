//! `ProducerBatch`: one batch of records for one partition, and its lifecycle.
//!
//! Fidelity: `ProducerBatch.java` with the `MemoryRecordsBuilder` room logic for magic-v2
//! batches (`hasRoomFor`, `isFull`, `estimatedBytesWritten`: `61 + records` uncompressed,
//! `61 + records * estimated ratio * 1.05` compressed, see [`crate::compression`]), the size
//! after `close()` (the codec's real output), the retry
//! bookkeeping (`reenqueued`, `attempts`, `lastAttemptMs`), the KIP-951 leader-epoch tracking
//! (`maybeUpdateLeaderEpoch`, `hasLeaderChangedForTheOngoingRetry`), the producer state set at
//! drain time (`setProducerState`, `resetProducerState`) and the final state of `done()`.
//!
//! Lifecycle (states of one batch; times are caller nanoseconds):
//!
//! ```text
//!   append ──► Queued(open) ──next record does not fit / drained──► Queued(closed)
//!                 │                                                   │ drain
//!                 │ expire                                            ▼
//!                 ├──────────────────────────► Expired ◄── expire ── InFlight ──response──┐
//!                 │ abort (force close)                                │                  │
//!                 └──────────────────────────► Aborted ◄── abort ──────┘                  │
//!   InFlight ─ retriable error ─► Queued (front, attempts+1, backoff) ◄────────────────────┤
//!   InFlight ─ MESSAGE_TOO_LARGE, >1 record ─► Split (children queued, attempts 0) ◄──────┤
//!   InFlight ─ success ─► Succeeded{base_offset};  non-retriable ─► Failed{error} ◄───────┘
//! ```

use crate::completion::ProduceError;
use crate::compression::{CodecModel, actual_ratio, estimated_bytes_written};
use crate::ids::{BatchId, PartitionId, ProducerIdAndEpoch, RecordId, increment_sequence};
use crate::sizes::{
    RECORD_BATCH_OVERHEAD_BYTES, RecordShape, payload_size, record_size_from_payload,
    upper_bound_from_payload,
};

/// A record as stored in a batch: the application's id plus what its size depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchRecord {
    /// The application's record id.
    pub id: RecordId,
    /// The record's CreateTime timestamp in milliseconds.
    pub timestamp_ms: i64,
    /// Key, value and header sizes.
    pub shape: RecordShape,
    /// The record's exact encoded size inside this batch.
    pub size_bytes: u32,
}

/// How a batch ended (`ProducerBatch.FinalState`, extended with the reason).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FinalState {
    /// Acknowledged; record `i` has offset `base_offset + i` (`-1` when unknown: acks=0 or a
    /// legacy `DUPLICATE_SEQUENCE_NUMBER`).
    Succeeded {
        /// Offset of the first record, or -1.
        base_offset: i64,
    },
    /// Failed with a non-retriable (or no longer retriable) error.
    Failed {
        /// The error the records' callbacks see.
        error: ProduceError,
    },
    /// Expired after `delivery.timeout.ms` from creation (`TimeoutException`), queued or in
    /// flight.
    Expired,
    /// Aborted by a forced close (`KafkaException("Producer is closed forcefully.")`).
    Aborted,
    /// Split after `MESSAGE_TOO_LARGE`; the records now live in `children`.
    Split {
        /// The batches that took over the records, in record order.
        children: Vec<BatchId>,
    },
}

/// Where a batch's buffer came from, and so where it goes back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BufferOrigin {
    /// Allocated from the buffer pool: deallocated into it when the batch completes.
    Pool,
    /// A split batch's buffer, allocated outside the pool (`isSplitBatch`).
    OffPool,
}

/// Whether more records may be appended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Appends {
    Open,
    Closed,
}

/// One producer batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProducerBatch {
    pub(crate) id: BatchId,
    pub(crate) partition: PartitionId,
    pub(crate) created_at_ns: u64,
    pub(crate) last_attempt_at_ns: u64,
    pub(crate) last_append_at_ns: u64,
    pub(crate) drained_at_ns: Option<u64>,
    pub(crate) drain_count: u32,
    pub(crate) attempts: u32,
    pub(crate) in_retry: bool,
    pub(crate) retry_backoff_ns: u64,
    pub(crate) records: Vec<BatchRecord>,
    pub(crate) first_timestamp_ms: Option<i64>,
    /// `61 + Σ record sizes` (`uncompressedBytesWritten`, and `estimatedBytesWritten` when
    /// uncompressed), kept up to date so that the room and fullness checks of every append
    /// read it instead of adding the header each time.
    pub(crate) uncompressed_bytes: u32,
    /// `estimatedBytesWritten`, kept up to date by every append: `uncompressed_bytes` when
    /// uncompressed, the ratio estimate's figure when compressed.
    pub(crate) estimated_bytes: u32,
    /// Whether the records go through a codec, with the ratio estimate read at creation.
    pub(crate) compression: BatchCompression,
    /// Uncompressed record bytes already handed to the codec (the stream's buffer flushed).
    pub(crate) codec_fed_bytes: u32,
    /// The size once closed (`builtRecords.sizeInBytes()`): header plus the codec's output.
    pub(crate) built_bytes: Option<u32>,
    /// `actualCompressionRatio` after the last close, as `f32` bits (1.0 before).
    pub(crate) actual_ratio_bits: u32,
    pub(crate) write_limit_bytes: u32,
    pub(crate) buffer_bytes: u32,
    pub(crate) buffer_origin: BufferOrigin,
    pub(crate) appends: Appends,
    pub(crate) max_record_upper_bound_bytes: u32,
    pub(crate) producer_state: ProducerIdAndEpoch,
    pub(crate) base_sequence: Option<i32>,
    pub(crate) sequence_has_been_reset: bool,
    pub(crate) current_leader_epoch: Option<u32>,
    pub(crate) attempts_when_leader_last_changed: u32,
    pub(crate) final_state: Option<FinalState>,
}

impl ProducerBatch {
    /// An empty uncompressed batch; `first_record_bytes` (the exact size of the record about
    /// to open it) only sizes the record list.
    #[cfg(test)]
    pub(crate) fn new(
        id: BatchId,
        partition: PartitionId,
        now_ns: u64,
        buffer: (u32, BufferOrigin),
        first_record_bytes: u32,
    ) -> Self {
        Self::with_compression(
            (id, partition),
            now_ns,
            buffer,
            BatchSizing {
                first_record_bytes,
                compression: BatchCompression::None,
            },
        )
    }

    /// [`Self::new`] for a batch whose records go through a codec (or not).
    pub(crate) fn with_compression(
        (id, partition): (BatchId, PartitionId),
        now_ns: u64,
        buffer: (u32, BufferOrigin),
        sizing: BatchSizing,
    ) -> Self {
        let BatchSizing {
            first_record_bytes,
            compression,
        } = sizing;
        ProducerBatch {
            id,
            partition,
            created_at_ns: now_ns,
            last_attempt_at_ns: now_ns,
            last_append_at_ns: now_ns,
            drained_at_ns: None,
            drain_count: 0,
            attempts: 0,
            in_retry: false,
            retry_backoff_ns: 0,
            records: Vec::with_capacity(expected_record_count(buffer.0, first_record_bytes)),
            first_timestamp_ms: None,
            uncompressed_bytes: RECORD_BATCH_OVERHEAD_BYTES,
            estimated_bytes: RECORD_BATCH_OVERHEAD_BYTES,
            compression,
            codec_fed_bytes: 0,
            built_bytes: None,
            actual_ratio_bits: 1.0f32.to_bits(),
            write_limit_bytes: buffer.0,
            buffer_bytes: buffer.0,
            buffer_origin: buffer.1,
            appends: Appends::Open,
            max_record_upper_bound_bytes: 0,
            producer_state: ProducerIdAndEpoch::NONE,
            base_sequence: None,
            sequence_has_been_reset: false,
            current_leader_epoch: None,
            attempts_when_leader_last_changed: 0,
            final_state: None,
        }
    }

    /// The batch's id.
    pub fn id(&self) -> BatchId {
        self.id
    }
    /// The partition the batch is for.
    pub fn partition(&self) -> PartitionId {
        self.partition
    }
    /// When the first record was appended (`createdMs`); linger and delivery timeout count
    /// from here.
    pub fn created_at_ns(&self) -> u64 {
        self.created_at_ns
    }
    /// The latest drain time (`drainedMs`), if drained at least once.
    pub fn drained_at_ns(&self) -> Option<u64> {
        self.drained_at_ns
    }
    /// How many times the batch was drained (sent), including retries.
    pub fn drain_count(&self) -> u32 {
        self.drain_count
    }
    /// Retries so far (`attempts`): raised on each re-enqueue, 0 for split children.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
    /// The backoff drawn for the current retry (0 before any retry).
    pub fn retry_backoff_ns(&self) -> u64 {
        self.retry_backoff_ns
    }
    /// The records, in offset order.
    pub fn records(&self) -> &[BatchRecord] {
        &self.records
    }
    /// Number of records.
    pub fn record_count(&self) -> u32 {
        self.records.len() as u32
    }
    /// `estimatedSizeInBytes`: the size once closed (what goes on the wire), else the
    /// estimate (`61 + Σ record sizes` uncompressed; see [`crate::compression`]).
    pub fn size_bytes(&self) -> u32 {
        self.built_bytes.unwrap_or(self.estimated_bytes)
    }
    /// `uncompressedBytesWritten`: `61 + Σ record sizes`, before any codec.
    pub fn uncompressed_size_bytes(&self) -> u32 {
        self.uncompressed_bytes
    }
    /// `compressionRatio()`: compressed record bytes over uncompressed ones after the last
    /// close (1.0 uncompressed, and before the first close).
    pub fn compression_ratio(&self) -> f32 {
        f32::from_bits(self.actual_ratio_bits)
    }
    /// The ratio estimate the batch was sized with (`None` when uncompressed).
    pub fn estimated_compression_ratio(&self) -> Option<f32> {
        match self.compression {
            BatchCompression::None => None,
            BatchCompression::Codec { ratio_bits, .. } => Some(f32::from_bits(ratio_bits)),
        }
    }

    /// `MemoryRecordsBuilder.estimatedBytesWritten`.
    #[inline(always)]
    fn estimated_bytes_written(&self) -> u32 {
        match self.compression {
            BatchCompression::None => self.uncompressed_bytes,
            BatchCompression::Codec { ratio_bits, .. } => estimated_bytes_written(
                self.uncompressed_bytes - RECORD_BATCH_OVERHEAD_BYTES,
                f32::from_bits(ratio_bits),
            ),
        }
    }
    /// Bytes of buffer memory the batch holds until it completes (`initialCapacity`).
    pub fn buffer_bytes(&self) -> u32 {
        self.buffer_bytes
    }
    /// Where the buffer came from.
    pub fn buffer_origin(&self) -> BufferOrigin {
        self.buffer_origin
    }
    /// The largest upper-bound record estimate in the batch (for `record-size-max`).
    pub fn max_record_upper_bound_bytes(&self) -> u32 {
        self.max_record_upper_bound_bytes
    }
    /// Producer id and epoch stamped at drain (NONE when not idempotent or not yet drained).
    pub fn producer_id_and_epoch(&self) -> ProducerIdAndEpoch {
        self.producer_state
    }
    /// Base sequence, assigned at first drain when idempotent.
    pub fn base_sequence(&self) -> Option<i32> {
        self.base_sequence
    }
    /// Sequence of the last record (`lastSequence`), wrapping like Kafka.
    pub fn last_sequence(&self) -> Option<i32> {
        let count = i32::try_from(self.records.len()).expect("record count fits i32");
        self.base_sequence
            .map(|base| increment_sequence(base, count - 1))
    }
    /// Whether the sequence was rewritten by an epoch bump (`sequenceHasBeenReset`).
    pub fn sequence_has_been_reset(&self) -> bool {
        self.sequence_has_been_reset
    }
    /// Whether the batch was re-enqueued at least once (`inRetry`).
    pub fn in_retry(&self) -> bool {
        self.in_retry
    }
    /// How the batch ended, once it has.
    pub fn final_state(&self) -> Option<&FinalState> {
        self.final_state.as_ref()
    }
    /// Whether the batch is complete (`isDone`).
    pub fn is_done(&self) -> bool {
        self.final_state.is_some()
    }

    /// `MemoryRecordsBuilder.isFull`: closed for appends, or at least one record and no room
    /// left under the write limit.
    #[inline]
    pub fn is_full(&self) -> bool {
        self.appends == Appends::Closed
            || (!self.records.is_empty() && self.write_limit_bytes <= self.estimated_bytes)
    }

    /// The exact size `record` would take as the next record of this batch.
    #[inline(always)]
    fn next_record_size(&self, record: &PendingRecord) -> u32 {
        let offset_delta = i32::try_from(self.records.len()).expect("record count fits i32");
        let timestamp_delta = self
            .first_timestamp_ms
            .map_or(0, |first| record.timestamp_ms - first);
        record_size_from_payload(offset_delta, timestamp_delta, record.payload_bytes)
    }

    /// `MemoryRecordsBuilder.hasRoomFor`: never when full or closed; always for the first
    /// record; otherwise `writeLimit >= estimatedBytesWritten + exactRecordSize`. Returns the
    /// record's exact size when it has room, so an append computes that size only once.
    #[inline(always)]
    fn room_for(&self, record: &PendingRecord) -> Option<u32> {
        if self.is_full() {
            return None;
        }
        let size_bytes = self.next_record_size(record);
        let fits =
            self.records.is_empty() || self.write_limit_bytes >= self.estimated_bytes + size_bytes;
        fits.then_some(size_bytes)
    }

    /// `ProducerBatch.tryAppend`: appends if there is room and returns the growth of the
    /// estimated size (`appendedBytes`), or `None` when the record does not fit.
    ///
    /// The growth is `estimatedSizeInBytes` after minus before, as the sticky partitioner sees
    /// it: the 61-byte header counts from the first record on, so a new batch's first append
    /// reports header + record.
    #[cfg(test)]
    pub(crate) fn try_append(&mut self, record: &PendingRecord, now_ns: u64) -> Option<u32> {
        self.append_record(record, now_ns)
            .map(|appended| appended.appended_bytes)
    }

    /// [`Self::try_append`], also telling whether the batch is full afterwards (`isFull`), so
    /// the accumulator need not test it again.
    // The per-record step of every append: always inlined into it.
    #[inline(always)]
    pub(crate) fn append_record(
        &mut self,
        record: &PendingRecord,
        now_ns: u64,
    ) -> Option<Appended> {
        let size_bytes = self.room_for(record)?;
        let was_empty = self.records.is_empty();
        if self.first_timestamp_ms.is_none() {
            self.first_timestamp_ms = Some(record.timestamp_ms);
        }
        self.records.push(BatchRecord {
            id: record.id,
            timestamp_ms: record.timestamp_ms,
            shape: record.shape,
            size_bytes,
        });
        self.max_record_upper_bound_bytes = self
            .max_record_upper_bound_bytes
            .max(record.upper_bound_bytes);
        self.last_append_at_ns = now_ns;
        if let BatchCompression::Codec { .. } = self.compression {
            return Some(self.append_compressed(size_bytes, was_empty));
        }
        self.uncompressed_bytes += size_bytes;
        self.estimated_bytes = self.uncompressed_bytes;
        let appended_bytes = if was_empty {
            RECORD_BATCH_OVERHEAD_BYTES + size_bytes
        } else {
            size_bytes
        };
        // `is_full` after an append: the batch was open (it had room) and is not empty.
        Some(Appended {
            appended_bytes,
            full: self.write_limit_bytes <= self.uncompressed_bytes,
            codec_fed_bytes: 0,
        })
    }

    /// The compressed half of [`Self::append_record`]: the estimate's growth, and the
    /// stream buffers that filled and went through the codec.
    #[inline(never)]
    fn append_compressed(&mut self, size_bytes: u32, was_empty: bool) -> Appended {
        let before = if was_empty { 0 } else { self.estimated_bytes };
        self.uncompressed_bytes += size_bytes;
        let after = self.estimated_bytes_written();
        self.estimated_bytes = after;
        let BatchCompression::Codec { buffer_bytes, .. } = self.compression else {
            unreachable!("called for compressed batches only")
        };
        let records = self.uncompressed_bytes - RECORD_BATCH_OVERHEAD_BYTES;
        let flushed = records / buffer_bytes * buffer_bytes;
        let fed = flushed - self.codec_fed_bytes.min(flushed);
        self.codec_fed_bytes = self.codec_fed_bytes.max(flushed);
        Appended {
            appended_bytes: after - before,
            full: self.write_limit_bytes <= after,
            codec_fed_bytes: fed,
        }
    }

    /// `closeForRecordAppends`: no more records; the codec's stream is closed, which
    /// compresses what its buffer still held. Returns those bytes (0 when uncompressed or
    /// already closed).
    pub(crate) fn close_for_record_appends(&mut self) -> u32 {
        self.appends = Appends::Closed;
        match self.compression {
            BatchCompression::None => 0,
            BatchCompression::Codec { .. } => {
                let records = self.uncompressed_bytes - RECORD_BATCH_OVERHEAD_BYTES;
                let fed = records - self.codec_fed_bytes;
                self.codec_fed_bytes = records;
                fed
            }
        }
    }

    /// `ProducerBatch.close()` (at drain): the batch's real size and ratio. Returns the ratio
    /// for `CompressionRatioEstimator.updateEstimation` when compressed, and the bytes the
    /// closing fed to the codec.
    pub(crate) fn close(&mut self, codec: Option<&CodecModel>) -> (Option<f32>, u32) {
        let fed = self.close_for_record_appends();
        let records = self.uncompressed_bytes - RECORD_BATCH_OVERHEAD_BYTES;
        let Some(codec) = codec.filter(|_| self.compression != BatchCompression::None) else {
            self.built_bytes = Some(self.uncompressed_bytes);
            return (None, fed);
        };
        let compressed = self
            .built_bytes
            .map(|built| built - RECORD_BATCH_OVERHEAD_BYTES)
            .unwrap_or_else(|| codec.size.compressed_bytes(records, self.record_count()));
        self.built_bytes = Some(RECORD_BATCH_OVERHEAD_BYTES.saturating_add(compressed));
        let ratio = actual_ratio(compressed, records);
        self.actual_ratio_bits = ratio.to_bits();
        (Some(ratio), fed)
    }

    /// `waitedTimeMs`: time since the last attempt (creation for a fresh batch), never negative.
    pub(crate) fn waited_ns(&self, now_ns: u64) -> u64 {
        now_ns.saturating_sub(self.last_attempt_at_ns)
    }

    /// `maybeUpdateLeaderEpoch` (KIP-951): remember the attempt count when the leader epoch
    /// rose, so a retry to a new leader skips its backoff.
    pub(crate) fn maybe_update_leader_epoch(&mut self, latest: Option<u32>) {
        if let Some(latest) = latest
            && self
                .current_leader_epoch
                .is_none_or(|current| current < latest)
        {
            self.attempts_when_leader_last_changed = self.attempts;
            self.current_leader_epoch = Some(latest);
        }
    }

    /// `hasLeaderChangedForTheOngoingRetry`.
    pub(crate) fn has_leader_changed_for_the_ongoing_retry(&self) -> bool {
        self.attempts >= 1 && self.attempts == self.attempts_when_leader_last_changed
    }

    /// `RecordAccumulator.shouldBackoff`: a retried batch waits out its backoff unless the
    /// leader changed during this retry.
    pub(crate) fn should_backoff(&self, now_ns: u64) -> bool {
        let should_wait_more = self.attempts > 0 && self.waited_ns(now_ns) < self.retry_backoff_ns;
        !self.has_leader_changed_for_the_ongoing_retry() && should_wait_more
    }

    /// `ProducerBatch.reenqueued`: attempts+1, the retry clock restarts now.
    pub(crate) fn reenqueued(&mut self, now_ns: u64, backoff_ns: u64) {
        self.in_retry = true;
        self.attempts += 1;
        self.last_attempt_at_ns = self.last_append_at_ns.max(now_ns);
        self.last_append_at_ns = self.last_append_at_ns.max(now_ns);
        self.retry_backoff_ns = backoff_ns;
    }

    /// `ProducerBatch.drained`: remembers the latest drain time.
    pub(crate) fn drained(&mut self, now_ns: u64) {
        self.drained_at_ns = Some(self.drained_at_ns.map_or(now_ns, |d| d.max(now_ns)));
        self.drain_count += 1;
        // `ProducerBatch.close()` at drain clears `reopened`: the reset mark covers only the
        // attempt that was in flight or queued when the epoch bump rewrote the sequence.
        self.sequence_has_been_reset = false;
    }

    /// `setProducerState` at first drain.
    pub(crate) fn set_producer_state(&mut self, state: ProducerIdAndEpoch, base_sequence: i32) {
        self.producer_state = state;
        self.base_sequence = Some(base_sequence);
    }

    /// `resetProducerState` after an epoch bump: new state and sequence, marked as reset.
    pub(crate) fn reset_producer_state(&mut self, state: ProducerIdAndEpoch, base_sequence: i32) {
        self.sequence_has_been_reset = true;
        self.set_producer_state(state, base_sequence);
    }

    /// `hasReachedDeliveryTimeout`: `delivery.timeout <= now - createdMs`.
    pub(crate) fn has_reached_delivery_timeout(
        &self,
        delivery_timeout_ns: u64,
        now_ns: u64,
    ) -> bool {
        delivery_timeout_ns <= now_ns.saturating_sub(self.created_at_ns)
    }
}

/// What a successful [`ProducerBatch::append_record`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Appended {
    /// The growth of the estimated size (see [`ProducerBatch::try_append`]).
    pub(crate) appended_bytes: u32,
    /// `is_full()` after the append.
    pub(crate) full: bool,
    /// Uncompressed bytes the append pushed through the codec (a stream buffer filled).
    pub(crate) codec_fed_bytes: u32,
}

/// What sizes a new batch: the first record's exact size (for the record list) and the codec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BatchSizing {
    pub(crate) first_record_bytes: u32,
    pub(crate) compression: BatchCompression,
}

/// Whether a batch's records go through a codec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BatchCompression {
    /// `compression.type=none`.
    None,
    /// Compressed: the ratio estimate read when the batch was created (`f32` bits) and the
    /// codec stream's buffer size.
    Codec { ratio_bits: u32, buffer_bytes: u32 },
}

/// A guess at how many records a buffer will hold, to size the record list once: as many
/// records as big as the first (later ones of the same shape are no smaller) as fit after the
/// batch header, at least one and at most 64 up front (the list grows beyond that if needed).
fn expected_record_count(buffer_bytes: u32, first_record_bytes: u32) -> usize {
    let room = buffer_bytes.saturating_sub(RECORD_BATCH_OVERHEAD_BYTES);
    (room / first_record_bytes.max(1)).clamp(1, 64) as usize
}

/// A record on its way into a batch: what `append` and `split` need, with the sizes that do
/// not depend on the batch computed once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PendingRecord {
    pub(crate) id: RecordId,
    pub(crate) timestamp_ms: i64,
    pub(crate) shape: RecordShape,
    /// `sizes::payload_size(shape)`: key, value and header bytes.
    pub(crate) payload_bytes: u32,
    /// `sizes::estimate_size_upper_bound(shape)`.
    pub(crate) upper_bound_bytes: u32,
}

impl PendingRecord {
    #[inline(always)]
    pub(crate) fn new(id: RecordId, timestamp_ms: i64, shape: RecordShape) -> Self {
        let payload_bytes = payload_size(shape);
        PendingRecord {
            id,
            timestamp_ms,
            shape,
            payload_bytes,
            upper_bound_bytes: upper_bound_from_payload(payload_bytes),
        }
    }

    /// The record's exact size as the first record of a batch.
    pub(crate) fn first_record_bytes(&self) -> u32 {
        record_size_from_payload(0, 0, self.payload_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sizes::{estimate_size_upper_bound, record_size_in_bytes};

    fn shape() -> RecordShape {
        RecordShape {
            key_bytes: Some(10),
            value_bytes: Some(100),
            header_count: 0,
            headers_bytes: 0,
        }
    }

    fn record(id: u64) -> PendingRecord {
        PendingRecord::new(RecordId(id), 0, shape())
    }

    fn batch(now_ns: u64, buffer_bytes: u32) -> ProducerBatch {
        let first = record(0).first_record_bytes();
        ProducerBatch::new(
            BatchId(0),
            PartitionId(0),
            now_ns,
            (buffer_bytes, BufferOrigin::Pool),
            first,
        )
    }

    #[test]
    fn pending_record_sizes_match_the_public_size_functions() {
        let pending = record(0);
        assert_eq!(
            pending.upper_bound_bytes,
            estimate_size_upper_bound(shape())
        );
        assert_eq!(
            pending.first_record_bytes(),
            record_size_in_bytes(0, 0, shape())
        );
    }

    #[test]
    fn record_list_is_sized_for_records_like_the_first() {
        // (16384 - 61) / 119 = 137 records, capped at 64; (1000 - 61) / 119 = 7.
        assert_eq!(batch(0, 16384).records.capacity(), 64);
        assert_eq!(batch(0, 1000).records.capacity(), 7);
        assert_eq!(batch(0, 100).records.capacity(), 1);
    }

    #[test]
    fn has_room_for_fits_136_records_of_key10_value100_in_16384_like_memory_records_builder() {
        let mut batch = batch(0, 16384);
        let mut appended = 0;
        while batch.try_append(&record(appended), 0).is_some() {
            appended += 1;
        }
        assert_eq!(appended, 136);
        assert_eq!(batch.size_bytes(), 16317);
        // The failed 137th leaves the batch not yet "full" by the isFull rule alone...
        assert!(!batch.is_full());
        // ...until tryAppend's caller closes it for appends.
        batch.close_for_record_appends();
        assert!(batch.is_full());
    }

    #[test]
    fn append_record_reports_is_full_after_each_append() {
        for buffer_bytes in [100, 1000, 16384] {
            let mut batch = batch(0, buffer_bytes);
            let mut id = 0;
            while let Some(appended) = batch.append_record(&record(id), 0) {
                assert_eq!(
                    appended.full,
                    batch.is_full(),
                    "record {id} of {buffer_bytes}"
                );
                id += 1;
            }
        }
    }

    #[test]
    fn first_record_always_fits_even_when_larger_than_the_buffer() {
        let mut batch = batch(0, 100);
        assert_eq!(batch.try_append(&record(0), 0), Some(61 + 119));
        assert!(
            batch.is_full(),
            "writeLimit <= estimatedBytesWritten makes it full"
        );
        assert_eq!(batch.try_append(&record(1), 0), None);
    }

    #[test]
    fn a_sequence_reset_mark_lasts_until_the_next_drain_like_reopened() {
        // Kafka's resetProducerState sets `reopened` and close() at drain clears it, so a
        // rewritten batch that is sent again answers an OUT_OF_ORDER_SEQUENCE_NUMBER as a fresh
        // gap (found by the differential against kafka-clients 4.0.2).
        let mut batch = batch(10, 16384);
        batch.drained(20);
        let state = ProducerIdAndEpoch {
            producer_id: 7,
            epoch: 1,
        };
        batch.reset_producer_state(state, 0);
        assert!(batch.sequence_has_been_reset());
        batch.drained(30);
        assert!(!batch.sequence_has_been_reset());
        assert_eq!(batch.base_sequence(), Some(0));
    }

    #[test]
    fn reenqueued_counts_attempts_and_restarts_the_retry_clock() {
        let mut batch = batch(10, 16384);
        batch.try_append(&record(0), 12);
        batch.reenqueued(50, 7);
        assert_eq!(batch.attempts(), 1);
        assert!(batch.in_retry());
        assert!(batch.should_backoff(56));
        assert!(!batch.should_backoff(57));
        assert_eq!(batch.waited_ns(60), 10);
    }

    #[test]
    fn leader_epoch_change_during_retry_skips_backoff_kip_951() {
        let mut batch = batch(0, 16384);
        batch.try_append(&record(0), 0);
        batch.maybe_update_leader_epoch(Some(1));
        batch.reenqueued(0, 100);
        assert!(batch.should_backoff(10));
        batch.maybe_update_leader_epoch(Some(1));
        assert!(batch.should_backoff(10), "same epoch: keep backing off");
        batch.maybe_update_leader_epoch(Some(2));
        assert!(
            !batch.should_backoff(10),
            "new leader epoch during this retry"
        );
    }
}
