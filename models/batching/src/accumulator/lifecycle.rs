//! Expiry, flush, close, forced abort and the idempotent housekeeping at the start of a sender
//! loop.
//!
//! Fidelity: `Sender.sendProducerData`'s expiry step (`getExpiredInflightBatches`,
//! `RecordAccumulator.expiredBatches`, `failBatch(TimeoutException, adjust=false)`,
//! `markSequenceUnresolved` for batches in retry), `nextExpiryTimeMs`,
//! `beginFlush/awaitFlushCompletion`, `close`, `abortIncompleteBatches`, and
//! `Sender.runOnce`'s `maybeResolveSequences` + `bumpIdempotentEpochAndResetIdIfNeeded`.

use super::RecordAccumulator;
use crate::batch::{FinalState, ProducerBatch};
use crate::buffer_pool::WaitTicket;
use crate::completion::{AdjustSequences, ProduceError};
use crate::idempotence::ProducerIdAction;
use crate::ids::{BatchId, PartitionId, ProducerIdAndEpoch};
use std::collections::BTreeSet;

impl RecordAccumulator {
    /// Expires batches whose `delivery.timeout.ms` has passed since creation: each partition's
    /// deque from the head, then each partition's in-flight list from the head, stopping at the
    /// first batch that has not expired. Returns them with `FinalState::Expired`. A queued
    /// batch's memory is freed at once; an in-flight batch keeps its buffer until its late
    /// response arrives (`complete` returns `LateResponse` and frees it), as Kafka does since
    /// 4.0.1 (KAFKA-19012: the network client may still be writing the buffer).
    pub fn expire(&mut self, now_ns: u64) -> Vec<ProducerBatch> {
        let timeout_ns = self.config.delivery_timeout_ns;
        let mut expired = Vec::new();
        for &index in &self.active {
            let queues = &mut self.partitions[index as usize];
            while queues
                .queued
                .front()
                .is_some_and(|b| b.has_reached_delivery_timeout(timeout_ns, now_ns))
            {
                let mut batch = queues.queued.pop_front().expect("front checked above");
                // `abortRecordAppends`: the stream is dropped, its bytes are never sent.
                let _ = batch.close_for_record_appends();
                expired.push(batch);
            }
        }
        let queued_count = expired.len();
        for &index in &self.active {
            let queues = &mut self.partitions[index as usize];
            while queues
                .in_flight
                .first()
                .is_some_and(|b| b.has_reached_delivery_timeout(timeout_ns, now_ns))
            {
                expired.push(queues.in_flight.remove(0));
            }
        }
        for (index, batch) in expired.iter_mut().enumerate() {
            if index >= queued_count {
                // In flight: the request may still be on the wire. Kafka (4.0.1 and later)
                // keeps the buffer until the response or the disconnect.
                self.zombies.push(Self::sequenced(batch));
                self.fail_batch_keeping_buffer(
                    batch,
                    ProduceError::DeliveryTimeout,
                    AdjustSequences::No,
                );
                if batch.buffer_origin == crate::batch::BufferOrigin::Pool {
                    self.held_by_expired
                        .push((batch.id, u64::from(batch.buffer_bytes)));
                }
            } else {
                self.fail_batch(
                    batch,
                    ProduceError::DeliveryTimeout,
                    AdjustSequences::No,
                    now_ns,
                );
            }
            if batch.in_retry
                && let Some(state) = &mut self.idempotence
            {
                state.mark_sequence_unresolved(&Self::sequenced(batch));
            }
        }
        self.metrics.batches_expired_total += expired.len() as u64;
        expired
    }

    /// The earliest time a queued or in-flight batch at the head of its list expires
    /// (`nextBatchExpiryTimeMs` after an expiry scan); `None` when there is none.
    pub fn next_expiry_at_ns(&self) -> Option<u64> {
        // Heads only, as documented above. The earliest creation gives the earliest expiry
        // (saturating_add is monotonic), so the timeout is added once.
        let mut earliest_created_ns: Option<u64> = None;
        for queues in self.active_queues() {
            let heads = [queues.queued.front(), queues.in_flight.first()];
            for batch in heads.into_iter().flatten() {
                let created_ns = batch.created_at_ns;
                earliest_created_ns =
                    Some(earliest_created_ns.map_or(created_ns, |e| e.min(created_ns)));
            }
        }
        earliest_created_ns
            .map(|created_ns| created_ns.saturating_add(self.config.delivery_timeout_ns))
    }

    /// `beginFlush`: every partition counts as ready until `end_flush`. Returns the batches
    /// incomplete now; the flush is over when all of them are done (a split parent counts as
    /// done when it splits, as Kafka's `ProduceRequestResult` completes then).
    pub fn begin_flush(&mut self) -> Vec<BatchId> {
        self.flushes_in_progress += 1;
        self.incomplete_batch_ids()
    }

    /// The end of `awaitFlushCompletion`: one flush fewer in progress.
    pub fn end_flush(&mut self) {
        assert!(
            self.flushes_in_progress > 0,
            "end_flush without begin_flush"
        );
        self.flushes_in_progress -= 1;
    }

    /// Whether a flush is in progress.
    pub fn flush_in_progress(&self) -> bool {
        self.flushes_in_progress > 0
    }

    /// `close`: every batch becomes sendable, new appends fail with `Closed`, blocked appends
    /// are woken to fail. Returns the tickets of all appends not yet resumed: each now resumes
    /// as `Closed` (the ones still waiting are also reported by `take_woken_waiters`).
    pub fn close(&mut self) -> Vec<WaitTicket> {
        self.closed = true;
        self.pool.close();
        self.pending_appends.keys().copied().collect()
    }

    /// Whether `close` was called.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// `abortIncompleteBatches` (forced close): every queued and in-flight batch fails with
    /// `FinalState::Aborted`, its memory freed. Returned partition by partition, in-flight
    /// batches first.
    pub fn abort_incomplete_batches(&mut self, now_ns: u64) -> Vec<ProducerBatch> {
        let mut aborted = Vec::new();
        for queues in &mut self.partitions {
            aborted.append(&mut queues.in_flight);
            aborted.extend(queues.queued.drain(..));
        }
        for batch in &mut aborted {
            let _ = batch.close_for_record_appends();
            batch.final_state = Some(FinalState::Aborted);
            self.metrics.record_error_total += u64::from(batch.record_count());
            self.deallocate(batch, now_ns);
        }
        aborted
    }

    /// A transactional producer's gate: only `allowed` partitions may be drained
    /// (`TransactionManager.isSendToPartitionAllowed`).
    pub fn set_transaction_partitions(&mut self, allowed: BTreeSet<PartitionId>) {
        self.txn_partitions = Some(allowed);
    }

    /// A transactional producer's new producer id and epoch (InitProducerId, or the epoch
    /// bump EndTxn returns under transaction version 2); every sequence starts again at 0.
    pub fn set_transactional_producer(&mut self, producer_id_and_epoch: ProducerIdAndEpoch) {
        if let Some(state) = &mut self.idempotence {
            state.set_producer_id_and_epoch(producer_id_and_epoch);
            state.reset_sequences();
        }
    }

    /// `abortUndrainedBatches` for a transactional producer: every queued batch that was never
    /// drained (it has no sequence) fails with `error`, its memory freed. Returned in partition
    /// order.
    pub fn abort_undrained_batches(
        &mut self,
        now_ns: u64,
        error: ProduceError,
    ) -> Vec<ProducerBatch> {
        let mut aborted = Vec::new();
        for queues in &mut self.partitions {
            let (undrained, kept): (Vec<_>, Vec<_>) = queues
                .queued
                .drain(..)
                .partition(|b| b.base_sequence.is_none());
            queues.queued.extend(kept);
            aborted.extend(undrained);
        }
        for batch in &mut aborted {
            let _ = batch.close_for_record_appends();
            batch.final_state = Some(FinalState::Failed { error });
            self.metrics.record_error_total += u64::from(batch.record_count());
            self.deallocate(batch, now_ns);
        }
        aborted
    }

    /// Installs the producer id and epoch from `InitProducerId` (idempotent producers only;
    /// ignored otherwise).
    pub fn set_producer_id_and_epoch(&mut self, producer_id_and_epoch: ProducerIdAndEpoch) {
        if let Some(state) = &mut self.idempotence {
            state.set_producer_id_and_epoch(producer_id_and_epoch);
        }
    }

    /// Idempotent housekeeping at the start of each sender loop (`maybeResolveSequences`,
    /// then `bumpIdempotentEpochAndResetIdIfNeeded`): resolves sequences, bumps the epoch
    /// locally when requested (rewriting the sequences of queued and in-flight batches of the
    /// partitions that asked), and says whether an `InitProducerId` is needed.
    pub fn on_sender_loop_start(&mut self) -> ProducerIdAction {
        let Some(state) = &mut self.idempotence else {
            return ProducerIdAction::None;
        };
        state.maybe_resolve_sequences();
        let (action, rewrites) = state.bump_epoch_and_reset_id_if_needed();
        for rewrite in rewrites {
            let Some(queues) = self.partitions.get_mut(rewrite.partition.0 as usize) else {
                continue;
            };
            let batch = queues
                .in_flight
                .iter_mut()
                .chain(queues.queued.iter_mut())
                .find(|b| b.id == rewrite.batch_id);
            if let Some(batch) = batch {
                batch.reset_producer_state(rewrite.producer_id_and_epoch, rewrite.base_sequence);
            }
            if let Some(zombie) = self
                .zombies
                .iter_mut()
                .find(|z| z.batch_id == rewrite.batch_id)
            {
                zombie.producer_id_and_epoch = rewrite.producer_id_and_epoch;
                zombie.base_sequence = Some(rewrite.base_sequence);
                zombie.sequence_has_been_reset = true;
            }
        }
        action
    }
}
