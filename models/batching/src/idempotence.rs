//! Client-side state of the idempotent (non-transactional) producer.
//!
//! Fidelity: the idempotent half of `TransactionManager` and `TxnPartitionEntry` (4.x):
//! producer id and epoch; per partition `nextSequence`, `lastAckedSequence` (-1),
//! `lastAckedOffset` (-1) and the in-flight batches ordered by (producer id, epoch, base
//! sequence); unresolved sequences after an expired retried batch (`markSequenceUnresolved`,
//! `maybeResolveSequences`); the local epoch bump of KIP-360 that re-sequences the in-flight
//! batches of the partitions that asked for it (`bumpIdempotentProducerEpoch`,
//! `startSequencesAtBeginning`); `canRetry` for `UNKNOWN_PRODUCER_ID` and
//! `OUT_OF_ORDER_SEQUENCE_NUMBER`; `handleCompletedBatch` and `handleFailedBatch`.
//! The transactional half of `TransactionManager` is in `transactions`.
//!
//! Batches are referred to by [`BatchId`]; when sequences are rewritten this module returns
//! [`SequenceRewrite`]s, which the accumulator applies to the batches wherever they are.

use std::collections::{BTreeMap, BTreeSet};

use crate::completion::{AdjustSequences, ProduceError};
use crate::ids::{BatchId, PartitionId, ProducerIdAndEpoch, increment_sequence};

/// What the idempotence layer knows about a batch (its `ProducerBatch` fields).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SequencedBatch {
    /// The batch.
    pub batch_id: BatchId,
    /// Its partition.
    pub partition: PartitionId,
    /// Producer id and epoch stamped on it.
    pub producer_id_and_epoch: ProducerIdAndEpoch,
    /// Its base sequence (`None`: never drained).
    pub base_sequence: Option<i32>,
    /// Records in it.
    pub record_count: u32,
    /// Whether an epoch bump rewrote its sequence (`sequenceHasBeenReset`).
    pub sequence_has_been_reset: bool,
}

impl SequencedBatch {
    fn last_sequence(&self) -> Option<i32> {
        let count = i32::try_from(self.record_count).expect("record count fits i32");
        self.base_sequence
            .map(|base| increment_sequence(base, count - 1))
    }
}

/// A sequence rewritten by an epoch bump (`resetProducerState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SequenceRewrite {
    /// The batch to rewrite.
    pub batch_id: BatchId,
    /// Its partition.
    pub partition: PartitionId,
    /// The new producer id and epoch.
    pub producer_id_and_epoch: ProducerIdAndEpoch,
    /// The new base sequence.
    pub base_sequence: i32,
}

/// What the sender must do about the producer id at the start of a loop
/// (`bumpIdempotentEpochAndResetIdIfNeeded`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProducerIdAction {
    /// Nothing: the producer id is valid.
    None,
    /// The epoch was bumped locally to this value (KIP-360).
    EpochBumped(ProducerIdAndEpoch),
    /// There is no producer id (start, or epoch exhausted): send `InitProducerId` and call
    /// `set_producer_id_and_epoch` with the answer. Drain sends nothing meanwhile.
    InitProducerIdNeeded,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct InFlightEntry {
    producer_id_and_epoch: ProducerIdAndEpoch,
    base_sequence: i32,
    record_count: u32,
    batch_id: BatchId,
}

impl InFlightEntry {
    fn order_key(&self) -> (i64, i16, i32) {
        (
            self.producer_id_and_epoch.producer_id,
            self.producer_id_and_epoch.epoch,
            self.base_sequence,
        )
    }
}

/// `TxnPartitionEntry`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionSequenceState {
    producer_id_and_epoch: ProducerIdAndEpoch,
    next_sequence: i32,
    last_acked_sequence: i32,
    last_acked_offset: i64,
    in_flight: Vec<InFlightEntry>,
}

impl PartitionSequenceState {
    fn new() -> Self {
        PartitionSequenceState {
            producer_id_and_epoch: ProducerIdAndEpoch::NONE,
            next_sequence: 0,
            last_acked_sequence: -1,
            last_acked_offset: -1,
            in_flight: Vec::new(),
        }
    }

    /// The base sequence the next new batch gets.
    pub fn next_sequence(&self) -> i32 {
        self.next_sequence
    }
    /// The last record sequence acknowledged, -1 if none.
    pub fn last_acked_sequence(&self) -> i32 {
        self.last_acked_sequence
    }
    /// The last offset acknowledged, -1 if none.
    pub fn last_acked_offset(&self) -> i64 {
        self.last_acked_offset
    }
    /// Base sequences of the in-flight batches, lowest first.
    pub fn in_flight_sequences(&self) -> Vec<i32> {
        self.in_flight.iter().map(|e| e.base_sequence).collect()
    }

    fn insert_in_flight(&mut self, entry: InFlightEntry) {
        let at = self
            .in_flight
            .partition_point(|e| e.order_key() < entry.order_key());
        self.in_flight.insert(at, entry);
    }

    /// `startSequencesAtBeginning`.
    fn start_sequences_at_beginning(
        &mut self,
        partition: PartitionId,
        state: ProducerIdAndEpoch,
        rewrites: &mut Vec<SequenceRewrite>,
    ) {
        let mut sequence = 0;
        for entry in &mut self.in_flight {
            entry.producer_id_and_epoch = state;
            entry.base_sequence = sequence;
            rewrites.push(SequenceRewrite {
                batch_id: entry.batch_id,
                partition,
                producer_id_and_epoch: state,
                base_sequence: sequence,
            });
            let count = i32::try_from(entry.record_count).expect("record count fits i32");
            sequence = increment_sequence(sequence, count);
        }
        self.producer_id_and_epoch = state;
        self.next_sequence = sequence;
        self.last_acked_sequence = -1;
    }
}

/// The idempotent producer's client state.
#[derive(Clone, Debug)]
pub struct IdempotenceState {
    producer_id_and_epoch: ProducerIdAndEpoch,
    init_requested: bool,
    partitions: BTreeMap<PartitionId, PartitionSequenceState>,
    unresolved: BTreeMap<PartitionId, i32>,
    partitions_to_rewrite: BTreeSet<PartitionId>,
    epoch_bump_required: bool,
}

impl Default for IdempotenceState {
    fn default() -> Self {
        Self::new()
    }
}

impl IdempotenceState {
    /// State before `InitProducerId`: no producer id.
    pub fn new() -> Self {
        IdempotenceState {
            producer_id_and_epoch: ProducerIdAndEpoch::NONE,
            init_requested: false,
            partitions: BTreeMap::new(),
            unresolved: BTreeMap::new(),
            partitions_to_rewrite: BTreeSet::new(),
            epoch_bump_required: false,
        }
    }

    /// The current producer id and epoch.
    pub fn producer_id_and_epoch(&self) -> ProducerIdAndEpoch {
        self.producer_id_and_epoch
    }

    /// Installs the answer of `InitProducerId`.
    pub fn set_producer_id_and_epoch(&mut self, state: ProducerIdAndEpoch) {
        self.producer_id_and_epoch = state;
        self.init_requested = false;
    }

    /// `resetSequenceNumbers`: every partition starts again at sequence 0 (a transactional
    /// producer's new epoch, with nothing in flight).
    pub fn reset_sequences(&mut self) {
        self.partitions.clear();
        self.unresolved.clear();
        self.partitions_to_rewrite.clear();
    }

    /// One partition's sequence state, if tracked.
    pub fn partition(&self, partition: PartitionId) -> Option<&PartitionSequenceState> {
        self.partitions.get(&partition)
    }

    /// Whether `partition` has an unresolved sequence.
    pub fn has_unresolved_sequence(&self, partition: PartitionId) -> bool {
        self.unresolved.contains_key(&partition)
    }

    /// Whether an epoch bump has been requested.
    pub fn epoch_bump_required(&self) -> bool {
        self.epoch_bump_required
    }

    fn entry(&mut self, partition: PartitionId) -> &mut PartitionSequenceState {
        self.partitions
            .entry(partition)
            .or_insert_with(PartitionSequenceState::new)
    }

    /// `hasInflightBatches`.
    pub fn has_in_flight_batches(&self, partition: PartitionId) -> bool {
        self.partitions
            .get(&partition)
            .is_some_and(|e| !e.in_flight.is_empty())
    }

    fn has_stale_producer_id_and_epoch(&self, partition: PartitionId) -> bool {
        let current = self
            .partitions
            .get(&partition)
            .map_or(ProducerIdAndEpoch::NONE, |e| e.producer_id_and_epoch);
        current != self.producer_id_and_epoch
    }

    /// `firstInFlightSequence`: the lowest in-flight base sequence.
    pub fn first_in_flight_sequence(&self, partition: PartitionId) -> Option<i32> {
        self.partitions
            .get(&partition)
            .and_then(|e| e.in_flight.first())
            .map(|e| e.base_sequence)
    }

    /// `shouldStopDrainBatchesForPartition` (idempotent part): stop when the producer id is
    /// not valid; for a batch without a sequence, when older-epoch batches are still in flight
    /// or the sequence is unresolved; for a retried batch, unless it is the lowest in flight.
    pub fn should_stop_drain(
        &self,
        partition: PartitionId,
        first_base_sequence: Option<i32>,
    ) -> bool {
        if !self.producer_id_and_epoch.is_valid() {
            return true;
        }
        if first_base_sequence.is_none() {
            if self.has_in_flight_batches(partition)
                && self.has_stale_producer_id_and_epoch(partition)
            {
                return true;
            }
            if self.has_unresolved_sequence(partition) {
                return true;
            }
        }
        match (
            self.first_in_flight_sequence(partition),
            first_base_sequence,
        ) {
            (Some(first_in_flight), Some(base)) => base != first_in_flight,
            _ => false,
        }
    }

    /// At drain of a batch without a sequence: `maybeUpdateProducerIdAndEpoch`, then assign
    /// `nextSequence`, advance it and track the batch in flight. Returns (state, base sequence).
    pub fn assign_sequence(
        &mut self,
        partition: PartitionId,
        batch_id: BatchId,
        record_count: u32,
    ) -> (ProducerIdAndEpoch, i32) {
        let current = self.producer_id_and_epoch;
        if self.has_stale_producer_id_and_epoch(partition) && !self.has_in_flight_batches(partition)
        {
            let mut rewrites = Vec::new();
            self.entry(partition)
                .start_sequences_at_beginning(partition, current, &mut rewrites);
            debug_assert!(rewrites.is_empty(), "no in-flight batches to rewrite");
        }
        let entry = self.entry(partition);
        let base_sequence = entry.next_sequence;
        let count = i32::try_from(record_count).expect("record count fits i32");
        entry.next_sequence = increment_sequence(base_sequence, count);
        entry.insert_in_flight(InFlightEntry {
            producer_id_and_epoch: current,
            base_sequence,
            record_count,
            batch_id,
        });
        (current, base_sequence)
    }

    /// Tracks a batch that already has a sequence (split children: `addInFlightBatch`).
    pub fn add_in_flight_batch(&mut self, batch: &SequencedBatch) {
        let base_sequence = batch
            .base_sequence
            .expect("only batches with a sequence are tracked in flight");
        self.entry(batch.partition).insert_in_flight(InFlightEntry {
            producer_id_and_epoch: batch.producer_id_and_epoch,
            base_sequence,
            record_count: batch.record_count,
            batch_id: batch.batch_id,
        });
    }

    /// `removeInFlightBatch`.
    pub fn remove_in_flight_batch(&mut self, batch: &SequencedBatch) {
        if let Some(entry) = self.partitions.get_mut(&batch.partition) {
            entry.in_flight.retain(|e| e.batch_id != batch.batch_id);
        }
    }

    fn request_epoch_bump_for_partition(&mut self, partition: PartitionId) {
        self.epoch_bump_required = true;
        self.partitions_to_rewrite.insert(partition);
    }

    fn is_next_sequence(&self, partition: PartitionId, sequence: i32) -> bool {
        let last_acked = self
            .partitions
            .get(&partition)
            .map_or(-1, |e| e.last_acked_sequence);
        i64::from(sequence) - i64::from(last_acked) == 1
    }

    /// `TransactionManager.canRetry` for the idempotent producer. May request an epoch bump.
    pub fn can_retry(
        &mut self,
        error: ProduceError,
        batch: &SequencedBatch,
        log_start_offset: i64,
    ) -> bool {
        let partition = batch.partition;
        match error {
            ProduceError::UnknownProducerId => {
                if log_start_offset == -1 || batch.sequence_has_been_reset {
                    return true;
                }
                // Both remaining branches (retention removed our records, or plain state loss)
                // bump the epoch and retry for a non-transactional producer.
                self.request_epoch_bump_for_partition(partition);
                true
            }
            ProduceError::OutOfOrderSequenceNumber => {
                let base = batch.base_sequence.unwrap_or(-1);
                let unresolved = self.has_unresolved_sequence(partition);
                if !unresolved
                    && (batch.sequence_has_been_reset || !self.is_next_sequence(partition, base))
                {
                    return true;
                }
                let next_for_unresolved = self.unresolved.get(&partition) == Some(&base);
                if !unresolved || next_for_unresolved {
                    self.request_epoch_bump_for_partition(partition);
                }
                true
            }
            other => other.is_retriable(),
        }
    }

    /// `handleCompletedBatch`: raise `lastAckedSequence` and `lastAckedOffset`, stop tracking.
    pub fn handle_completed_batch(&mut self, batch: &SequencedBatch, base_offset: i64) {
        if let Some(last_sequence) = batch.last_sequence() {
            let entry = self.entry(batch.partition);
            entry.last_acked_sequence = entry.last_acked_sequence.max(last_sequence);
        }
        if base_offset != -1 {
            let last_offset = base_offset + i64::from(batch.record_count) - 1;
            let entry = self.entry(batch.partition);
            entry.last_acked_offset = entry.last_acked_offset.max(last_offset);
        }
        self.remove_in_flight_batch(batch);
    }

    /// `handleFailedBatch` (idempotent): stop tracking; OUT_OF_ORDER_SEQUENCE_NUMBER,
    /// UNKNOWN_PRODUCER_ID (a subclass of it in Kafka) or an adjustable failure requests an
    /// epoch bump.
    pub fn handle_failed_batch(
        &mut self,
        batch: &SequencedBatch,
        error: ProduceError,
        adjust_sequences: AdjustSequences,
    ) {
        self.remove_in_flight_batch(batch);
        match error {
            // `UnknownProducerIdException` extends `OutOfOrderSequenceException`, so Kafka's
            // first branch (`instanceof OutOfOrderSequenceException && !isTransactional()`)
            // takes both for the idempotent producer: a gap, bump the epoch. Its separate
            // reset of the partition's sequence is reached only by a transactional producer.
            ProduceError::OutOfOrderSequenceNumber | ProduceError::UnknownProducerId => {
                self.request_epoch_bump_for_partition(batch.partition);
            }
            _ if adjust_sequences == AdjustSequences::Yes => {
                self.request_epoch_bump_for_partition(batch.partition)
            }
            _ => {}
        }
    }

    /// `markSequenceUnresolved`: a retried batch expired; its partition waits to resolve.
    pub fn mark_sequence_unresolved(&mut self, batch: &SequencedBatch) {
        let Some(last_sequence) = batch.last_sequence() else {
            return;
        };
        let next = increment_sequence(last_sequence, 1);
        let slot = self.unresolved.entry(batch.partition).or_insert(next);
        *slot = (*slot).max(next);
    }

    /// `maybeResolveSequences`: for unresolved partitions with nothing in flight, resolve if
    /// `lastAcked + 1 == nextSequence`, else request an epoch bump.
    pub fn maybe_resolve_sequences(&mut self) {
        let candidates: Vec<PartitionId> = self
            .unresolved
            .keys()
            .copied()
            .filter(|p| !self.has_in_flight_batches(*p))
            .collect();
        for partition in candidates {
            let next = self
                .partitions
                .get(&partition)
                .map_or(0, |e| e.next_sequence);
            if !self.is_next_sequence(partition, next) {
                self.request_epoch_bump_for_partition(partition);
            }
            self.unresolved.remove(&partition);
        }
    }

    /// `bumpIdempotentEpochAndResetIdIfNeeded`: bump the epoch if requested (re-sequencing
    /// the partitions that asked), and ask for a producer id if there is none.
    pub fn bump_epoch_and_reset_id_if_needed(
        &mut self,
    ) -> (ProducerIdAction, Vec<SequenceRewrite>) {
        let mut rewrites = Vec::new();
        let mut action = ProducerIdAction::None;
        if self.epoch_bump_required {
            if self.producer_id_and_epoch.epoch == i16::MAX {
                self.producer_id_and_epoch = ProducerIdAndEpoch::NONE;
                self.init_requested = false;
            } else {
                self.producer_id_and_epoch.epoch += 1;
                action = ProducerIdAction::EpochBumped(self.producer_id_and_epoch);
            }
            let state = self.producer_id_and_epoch;
            for partition in std::mem::take(&mut self.partitions_to_rewrite) {
                self.entry(partition)
                    .start_sequences_at_beginning(partition, state, &mut rewrites);
                self.unresolved.remove(&partition);
            }
            self.epoch_bump_required = false;
        }
        if !self.producer_id_and_epoch.is_valid() && !self.init_requested {
            self.init_requested = true;
            action = ProducerIdAction::InitProducerIdNeeded;
        }
        (action, rewrites)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P0: PartitionId = PartitionId(0);
    const PID: ProducerIdAndEpoch = ProducerIdAndEpoch {
        producer_id: 7,
        epoch: 0,
    };

    fn ready_state() -> IdempotenceState {
        let mut s = IdempotenceState::new();
        s.set_producer_id_and_epoch(PID);
        s
    }

    fn sequenced(s: &mut IdempotenceState, id: u64, count: u32) -> SequencedBatch {
        let (state, base) = s.assign_sequence(P0, BatchId(id), count);
        SequencedBatch {
            batch_id: BatchId(id),
            partition: P0,
            producer_id_and_epoch: state,
            base_sequence: Some(base),
            record_count: count,
            sequence_has_been_reset: false,
        }
    }

    #[test]
    fn failed_unknown_producer_id_bumps_the_epoch_like_out_of_order_sequence() {
        // Kafka's UnknownProducerIdException is an OutOfOrderSequenceException, so the
        // idempotent producer's handleFailedBatch requests an epoch bump and keeps the
        // partition's sequence state (found by the differential against kafka-clients 4.0.2).
        let mut s = ready_state();
        let a = sequenced(&mut s, 1, 3);
        s.handle_failed_batch(&a, ProduceError::UnknownProducerId, AdjustSequences::No);
        let entry = s.partition(P0).expect("the partition's state is kept");
        assert_eq!(entry.next_sequence(), 3);
        assert!(s.epoch_bump_required());
        let (action, _) = s.bump_epoch_and_reset_id_if_needed();
        assert_eq!(
            action,
            ProducerIdAction::EpochBumped(ProducerIdAndEpoch {
                producer_id: 7,
                epoch: 1
            })
        );
    }

    #[test]
    fn drain_is_blocked_until_init_producer_id() {
        let mut s = IdempotenceState::new();
        assert!(s.should_stop_drain(P0, None));
        let (action, _) = s.bump_epoch_and_reset_id_if_needed();
        assert_eq!(action, ProducerIdAction::InitProducerIdNeeded);
        let (again, _) = s.bump_epoch_and_reset_id_if_needed();
        assert_eq!(
            again,
            ProducerIdAction::None,
            "one InitProducerId at a time"
        );
        s.set_producer_id_and_epoch(PID);
        assert!(!s.should_stop_drain(P0, None));
    }

    #[test]
    fn sequences_are_assigned_at_drain_and_advance_by_record_count() {
        let mut s = ready_state();
        let a = sequenced(&mut s, 1, 3);
        let b = sequenced(&mut s, 2, 2);
        assert_eq!(a.base_sequence, Some(0));
        assert_eq!(b.base_sequence, Some(3));
        assert_eq!(s.partition(P0).map(|e| e.next_sequence()), Some(5));
        assert_eq!(s.first_in_flight_sequence(P0), Some(0));
    }

    #[test]
    fn only_the_lowest_outstanding_sequence_may_be_retried() {
        let mut s = ready_state();
        let _a = sequenced(&mut s, 1, 1);
        let _b = sequenced(&mut s, 2, 1);
        assert!(s.should_stop_drain(P0, Some(1)), "seq 1 waits for seq 0");
        assert!(!s.should_stop_drain(P0, Some(0)));
        assert!(
            !s.should_stop_drain(P0, None),
            "new batches may still drain"
        );
    }

    #[test]
    fn handle_completed_batch_raises_last_acked_sequence_and_offset() {
        let mut s = ready_state();
        let a = sequenced(&mut s, 1, 3);
        s.handle_completed_batch(&a, 100);
        let e = s.partition(P0).expect("tracked");
        assert_eq!(e.last_acked_sequence(), 2);
        assert_eq!(e.last_acked_offset(), 102);
        assert!(!s.has_in_flight_batches(P0));
    }

    #[test]
    fn out_of_order_sequence_for_a_batch_that_is_not_next_retries_without_bump() {
        let mut s = ready_state();
        let _a = sequenced(&mut s, 1, 1);
        let b = sequenced(&mut s, 2, 1);
        assert!(s.can_retry(ProduceError::OutOfOrderSequenceNumber, &b, 0));
        assert!(!s.epoch_bump_required());
    }

    #[test]
    fn out_of_order_sequence_for_the_next_expected_batch_bumps_the_epoch() {
        let mut s = ready_state();
        let a = sequenced(&mut s, 1, 1);
        assert!(s.can_retry(ProduceError::OutOfOrderSequenceNumber, &a, 0));
        assert!(s.epoch_bump_required());
    }

    #[test]
    fn unknown_producer_id_retries_and_bumps_unless_log_start_unknown_or_reset() {
        let mut s = ready_state();
        let a = sequenced(&mut s, 1, 1);
        assert!(s.can_retry(ProduceError::UnknownProducerId, &a, -1));
        assert!(!s.epoch_bump_required());
        assert!(s.can_retry(ProduceError::UnknownProducerId, &a, 5));
        assert!(s.epoch_bump_required());
    }

    #[test]
    fn epoch_bump_resequences_in_flight_batches_from_zero_kip_360() {
        let mut s = ready_state();
        let a = sequenced(&mut s, 1, 2);
        let _b = sequenced(&mut s, 2, 3);
        s.handle_failed_batch(&a, ProduceError::InvalidRecord, AdjustSequences::Yes);
        let (action, rewrites) = s.bump_epoch_and_reset_id_if_needed();
        let bumped = ProducerIdAndEpoch {
            producer_id: 7,
            epoch: 1,
        };
        assert_eq!(action, ProducerIdAction::EpochBumped(bumped));
        assert_eq!(
            rewrites,
            vec![SequenceRewrite {
                batch_id: BatchId(2),
                partition: P0,
                producer_id_and_epoch: bumped,
                base_sequence: 0
            }]
        );
        assert_eq!(s.partition(P0).map(|e| e.next_sequence()), Some(3));
    }

    #[test]
    fn epoch_exhausted_at_short_max_resets_the_producer_id() {
        let mut s = IdempotenceState::new();
        s.set_producer_id_and_epoch(ProducerIdAndEpoch {
            producer_id: 7,
            epoch: i16::MAX,
        });
        let a = sequenced(&mut s, 1, 1);
        s.handle_failed_batch(
            &a,
            ProduceError::OutOfOrderSequenceNumber,
            AdjustSequences::No,
        );
        let (action, _) = s.bump_epoch_and_reset_id_if_needed();
        assert_eq!(action, ProducerIdAction::InitProducerIdNeeded);
    }

    #[test]
    fn expired_retried_batch_leaves_sequence_unresolved_until_resolved_or_bumped() {
        let mut s = ready_state();
        let a = sequenced(&mut s, 1, 1);
        let b = sequenced(&mut s, 2, 1);
        s.mark_sequence_unresolved(&a);
        s.remove_in_flight_batch(&a);
        assert!(
            s.should_stop_drain(P0, None),
            "no new batches while unresolved"
        );
        s.handle_completed_batch(&b, 10);
        s.maybe_resolve_sequences();
        assert!(
            !s.has_unresolved_sequence(P0),
            "lastAcked+1 == next: resolved"
        );
        assert!(!s.epoch_bump_required());

        let c = sequenced(&mut s, 3, 1);
        s.mark_sequence_unresolved(&c);
        s.remove_in_flight_batch(&c);
        s.maybe_resolve_sequences();
        assert!(s.epoch_bump_required(), "gap: bump the epoch");
    }
}
