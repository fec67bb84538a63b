//! Completing an in-flight batch from its produce response: success, retry, split or failure.
//!
//! Fidelity: `Sender.completeBatch` / `canRetry` / `reenqueueBatch` / `failBatch` /
//! `completeBatch(batch, response)`, `RecordAccumulator.reenqueue` / `insertInSequenceOrder` /
//! `splitAndReenqueue`, `ProducerBatch.split`, and the `TransactionManager` calls they make.
//! The decision itself is [`crate::completion::decide`]. A response for a batch that already
//! expired (or was aborted) still updates the idempotent bookkeeping on success
//! (`handleCompletedBatch` runs before `complete()` reports the batch done) and unmutes the
//! partition, but changes nothing else.

use super::RecordAccumulator;
use crate::batch::{BufferOrigin, FinalState, PendingRecord, ProducerBatch};
use crate::completion::{
    AdjustSequences, CompletionInput, Decision, DeliveryDeadline, ModeRetryVerdict, ProduceError,
    decide, is_split, retry_gate_open,
};
use crate::entropy::Entropy;
use crate::ids::{BatchId, PartitionId, increment_sequence};

/// One partition's result in a produce response, or the client-side outcome of the request
/// (`NETWORK_EXCEPTION` on disconnect, `REQUEST_TIMED_OUT` on request timeout, success with
/// offset -1 for acks=0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchResponse {
    /// The current time.
    pub now_ns: u64,
    /// The batch's partition.
    pub partition: PartitionId,
    /// The batch.
    pub batch_id: BatchId,
    /// `None` for success.
    pub error: Option<ProduceError>,
    /// The base offset on success, -1 when unknown.
    pub base_offset: i64,
    /// The partition's log start offset from the response, -1 when unknown.
    pub log_start_offset: i64,
}

/// What happened to the batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CompletionOutcome {
    /// The batch is done (`Succeeded` or `Failed`); run its records' callbacks in order.
    Done(ProducerBatch),
    /// Re-enqueued for another attempt after `backoff_ns`.
    Retried {
        /// The batch.
        batch_id: BatchId,
        /// The backoff drawn for this retry.
        backoff_ns: u64,
    },
    /// Split into smaller batches, queued at the front; the parent is returned with
    /// `FinalState::Split`.
    Split(ProducerBatch),
    /// The batch was no longer in flight (expired or aborted before the response): ignored
    /// apart from sequence bookkeeping and unmuting.
    LateResponse,
}

impl RecordAccumulator {
    /// `Sender.completeBatch` for one batch of a produce response. Every drained batch must
    /// get exactly one call: a response, a disconnect or a request timeout. `entropy` draws
    /// the backoff jitter of a retry.
    pub fn complete(
        &mut self,
        response: &BatchResponse,
        entropy: &mut dyn Entropy,
    ) -> CompletionOutcome {
        let partition = response.partition;
        let Some(position) = self
            .partitions
            .get(partition.0 as usize)
            .and_then(|q| q.in_flight.iter().position(|b| b.id == response.batch_id))
        else {
            self.complete_late(response);
            return CompletionOutcome::LateResponse;
        };
        let batch = self.partitions[partition.0 as usize]
            .in_flight
            .remove(position);
        let outcome = self.complete_in_flight(batch, response, entropy);
        if self.guarantees_message_order() {
            self.unmute(partition);
        }
        outcome
    }

    fn complete_in_flight(
        &mut self,
        mut batch: ProducerBatch,
        response: &BatchResponse,
        entropy: &mut dyn Entropy,
    ) -> CompletionOutcome {
        let now_ns = response.now_ns;
        let deadline =
            if batch.has_reached_delivery_timeout(self.config.delivery_timeout_ns, now_ns) {
                DeliveryDeadline::Reached
            } else {
                DeliveryDeadline::Pending
            };
        let input = CompletionInput {
            error: response.error,
            record_count: batch.record_count(),
            attempts: batch.attempts,
            retries: self.config.retries,
            deadline,
            already_done: false,
        };
        if is_split(&input) {
            return CompletionOutcome::Split(self.split_and_reenqueue(batch, now_ns));
        }
        let verdict = match response.error {
            Some(error) if retry_gate_open(&input) => {
                self.mode_retry_verdict(error, &batch, response)
            }
            _ => ModeRetryVerdict::NotRetriable,
        };
        match decide(&input, verdict) {
            Decision::Retry => {
                let backoff_ns = self.backoff.backoff_ns(batch.attempts, entropy);
                self.metrics.record_retry_total += u64::from(batch.record_count());
                let batch_id = batch.id;
                self.reenqueue(batch, now_ns, backoff_ns);
                CompletionOutcome::Retried {
                    batch_id,
                    backoff_ns,
                }
            }
            Decision::Success => self.complete_success(batch, response.base_offset, now_ns),
            Decision::SuccessDuplicateNoOffset => self.complete_success(batch, -1, now_ns),
            Decision::Fail {
                error,
                adjust_sequences,
            } => {
                self.fail_batch(&mut batch, error, adjust_sequences, now_ns);
                CompletionOutcome::Done(batch)
            }
            Decision::Split => unreachable!("splits are handled before the decision"),
        }
    }

    fn mode_retry_verdict(
        &mut self,
        error: ProduceError,
        batch: &ProducerBatch,
        response: &BatchResponse,
    ) -> ModeRetryVerdict {
        let retriable = match &mut self.idempotence {
            None => error.is_retriable(),
            Some(state) => {
                state.can_retry(error, &Self::sequenced(batch), response.log_start_offset)
            }
        };
        if retriable {
            ModeRetryVerdict::Retriable
        } else {
            ModeRetryVerdict::NotRetriable
        }
    }

    fn complete_success(
        &mut self,
        mut batch: ProducerBatch,
        base_offset: i64,
        now_ns: u64,
    ) -> CompletionOutcome {
        if let Some(state) = &mut self.idempotence {
            state.handle_completed_batch(&Self::sequenced(&batch), base_offset);
        }
        batch.final_state = Some(FinalState::Succeeded { base_offset });
        self.deallocate(&batch, now_ns);
        CompletionOutcome::Done(batch)
    }

    /// `failBatch`: count the errors, complete exceptionally, tell the idempotence layer,
    /// free the buffer.
    pub(super) fn fail_batch(
        &mut self,
        batch: &mut ProducerBatch,
        error: ProduceError,
        adjust_sequences: AdjustSequences,
        now_ns: u64,
    ) {
        self.fail_batch_keeping_buffer(batch, error, adjust_sequences);
        self.deallocate(batch, now_ns);
    }

    /// `failBatch` without giving the buffer back: Kafka's expiry of an in-flight batch keeps
    /// its buffer until the request's response (or disconnect) arrives, because the network
    /// client may still be writing it (KAFKA-19012, in 4.0.1 and later).
    pub(super) fn fail_batch_keeping_buffer(
        &mut self,
        batch: &mut ProducerBatch,
        error: ProduceError,
        adjust_sequences: AdjustSequences,
    ) {
        self.metrics.record_error_total += u64::from(batch.record_count());
        batch.final_state = Some(match error {
            ProduceError::DeliveryTimeout => FinalState::Expired,
            other => FinalState::Failed { error: other },
        });
        if let Some(state) = &mut self.idempotence {
            state.handle_failed_batch(&Self::sequenced(batch), error, adjust_sequences);
        }
    }

    /// A response for a batch no longer in flight.
    fn complete_late(&mut self, response: &BatchResponse) {
        // The buffer an expired in-flight batch kept goes back now, whatever the answer.
        if let Some(index) = self
            .held_by_expired
            .iter()
            .position(|&(id, _)| id == response.batch_id)
        {
            let (_, bytes) = self.held_by_expired.remove(index);
            self.pool.deallocate(bytes, response.now_ns);
        }
        let Some(position) = self
            .zombies
            .iter()
            .position(|z| z.batch_id == response.batch_id && z.partition == response.partition)
        else {
            return;
        };
        let zombie = self.zombies.remove(position);
        let success = matches!(
            response.error,
            None | Some(ProduceError::DuplicateSequenceNumber)
        );
        if success && let Some(state) = &mut self.idempotence {
            let offset = if response.error.is_none() {
                response.base_offset
            } else {
                -1
            };
            state.handle_completed_batch(&zombie, offset);
        }
        if self.guarantees_message_order() {
            self.unmute(zombie.partition);
        }
    }

    /// `RecordAccumulator.reenqueue`: attempts+1, to the front of the deque, or in sequence
    /// order when idempotent.
    fn reenqueue(&mut self, mut batch: ProducerBatch, now_ns: u64, backoff_ns: u64) {
        batch.reenqueued(now_ns, backoff_ns);
        self.enqueue_front(batch);
    }

    fn enqueue_front(&mut self, batch: ProducerBatch) {
        let idempotent = self.idempotence.is_some();
        self.enqueued(batch.partition);
        let queues = self.queues_mut(batch.partition);
        if !idempotent {
            queues.queued.push_front(batch);
            return;
        }
        let base = batch
            .base_sequence
            .expect("an idempotent batch is re-enqueued only after drain assigned a sequence");
        // insertInSequenceOrder: skip the leading batches with a lower sequence.
        let at = queues
            .queued
            .iter()
            .take_while(|b| b.base_sequence.is_some_and(|s| s < base))
            .count();
        queues.queued.insert(at, batch);
    }

    /// `splitAndReenqueue`: split by `batch.size`, children keep `createdMs`, get consecutive
    /// sequences from the parent's base, attempts 0, buffers outside the pool.
    fn split_and_reenqueue(&mut self, mut parent: ProducerBatch, now_ns: u64) -> ProducerBatch {
        if let Some(state) = &mut self.idempotence {
            state.remove_in_flight_batch(&Self::sequenced(&parent));
        }
        // `splitAndReenqueue`: the estimate restarts from max(1.0, the big batch's ratio), and
        // the split reads the big batch back through the codec.
        if let crate::compression::Compression::Codec(_) = self.compression {
            self.ratio_estimator
                .reset_for_split(parent.compression_ratio());
            self.codec_work.decompressed_output_bytes += u64::from(
                parent.uncompressed_size_bytes() - crate::sizes::RECORD_BATCH_OVERHEAD_BYTES,
            );
        }
        let mut children = self.split_records(&parent);
        if let Some(mut sequence) = parent.base_sequence {
            for child in &mut children {
                child.set_producer_state(parent.producer_state, sequence);
                let count = i32::try_from(child.record_count()).expect("record count fits i32");
                sequence = increment_sequence(sequence, count);
            }
        }
        let child_ids: Vec<BatchId> = children.iter().map(|c| c.id).collect();
        for child in children.into_iter().rev() {
            if let Some(state) = &mut self.idempotence {
                state.add_in_flight_batch(&Self::sequenced(&child));
            }
            self.enqueue_front(child);
        }
        parent.final_state = Some(FinalState::Split {
            children: child_ids,
        });
        self.deallocate(&parent, now_ns);
        self.metrics.batch_split_total += 1;
        parent
    }

    /// `ProducerBatch.split`: re-append the records with the same room test into batches of
    /// `max(batch.size, record upper bound)`.
    fn split_records(&mut self, parent: &ProducerBatch) -> Vec<ProducerBatch> {
        let mut children: Vec<ProducerBatch> = Vec::new();
        for record in &parent.records {
            let pending = PendingRecord::new(record.id, record.timestamp_ms, record.shape);
            let appended = children
                .last_mut()
                .and_then(|c| c.append_record(&pending, c.last_append_at_ns));
            if let Some(appended) = appended {
                self.add_codec_input(appended.codec_fed_bytes);
                continue;
            }
            if let Some(full) = children.last_mut() {
                let fed = full.close_for_record_appends();
                self.add_codec_input(fed);
            }
            let buffer = self.config.batch_size_bytes.max(pending.upper_bound_bytes);
            let id = self.next_batch_id();
            let mut child = ProducerBatch::with_compression(
                (id, parent.partition),
                parent.created_at_ns,
                (buffer, BufferOrigin::OffPool),
                crate::batch::BatchSizing {
                    first_record_bytes: pending.first_record_bytes(),
                    compression: self.new_batch_compression(),
                },
            );
            let appended = child
                .append_record(&pending, parent.created_at_ns)
                .expect("the first record always fits a new batch");
            self.add_codec_input(appended.codec_fed_bytes);
            children.push(child);
        }
        if let Some(last) = children.last_mut() {
            let fed = last.close_for_record_appends();
            self.add_codec_input(fed);
        }
        children
    }
}
