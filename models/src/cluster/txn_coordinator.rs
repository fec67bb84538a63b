//! The transaction coordinator's decisions: which `__transaction_state` partition owns a
//! transactional id, the transaction log's states, and how InitProducerId, AddPartitionsToTxn,
//! EndTxn, the markers' completion and `transaction.timeout.ms` expiry move them.
//!
//! ```text
//!  InitProducerId: Empty/Complete* ─► Empty, epoch + 1      Ongoing ─► PrepareEpochFence ─► PrepareAbort
//!                                                            (answer CONCURRENT_TRANSACTIONS; the old
//!                                                             epoch is fenced, its transaction aborted)
//!  AddPartitionsToTxn: Empty/Complete*/Ongoing ─► Ongoing (start time set when it opens)
//!  EndTxn(commit|abort): Ongoing ─► PrepareCommit|PrepareAbort ─markers written─► CompleteCommit|CompleteAbort
//!  expiry: Ongoing past its start + transaction.timeout.ms ─► epoch fenced ─► PrepareAbort
//! ```
//!
//! Sans-IO: the caller owns time (ms of its clock), producer id allocation, the transaction
//! log's replication and the WriteTxnMarkers requests; a transition that needs markers returns
//! a [`MarkerJob`] naming every partition of the transaction.
//!
//! Fidelity: `TransactionStateManager.partitionFor` (`Utils.abs(transactionalId.hashCode) %
//! transaction.state.log.num.partitions`, Java's `String.hashCode` over UTF-16 units), the
//! states and `validPreviousStates` of `TransactionMetadata.scala`, and from
//! `TransactionCoordinator.scala`: `handleInitProducerId` with `prepareInitProducerIdTransit`
//! (`INVALID_TRANSACTION_TIMEOUT` above `transaction.max.timeout.ms`, `CONCURRENT_TRANSACTIONS`
//! while a transaction is preparing, a new epoch from Empty or Complete*, an ongoing
//! transaction fenced with `prepareFenceProducerEpoch` and aborted), `prepareIncrementProducerEpoch`
//! (a retry with the last epoch gets the current one back, any other stale epoch
//! `PRODUCER_FENCED`), `handleAddPartitionsToTransaction` (`INVALID_PRODUCER_ID_MAPPING`,
//! `PRODUCER_FENCED` on an epoch mismatch, `CONCURRENT_TRANSACTIONS` while a transition or a
//! Prepare* state is pending), `endTransaction` (transaction version 2 bumps the epoch in
//! `prepareAbortOrCommit` and accepts a retry of the same EndTxn by the last epoch; version 1
//! demands the current epoch; an EndTxn that repeats a completed one answers NONE; a commit
//! after an abort is `INVALID_TXN_STATE`), `prepareComplete`, `timedOutTransactions` and
//! `abortTimedOutTransactions`.
//!
//! Simplified: a transition is applied at once, where Kafka first appends it to the
//! transaction log (acks=all on `__transaction_state`) and answers CONCURRENT_TRANSACTIONS
//! while the append is pending; producer id rotation on epoch exhaustion and transactional id
//! expiration are not modelled.

use std::collections::{BTreeMap, BTreeSet};

use crate::batching::transactions::TxnError;

/// `transaction.state.log.num.partitions`' default.
pub const TRANSACTION_STATE_PARTITIONS: u32 = 50;

/// `transaction.max.timeout.ms`' default (15 minutes).
pub const TRANSACTION_MAX_TIMEOUT_MS: i32 = 900_000;

/// Java's `String.hashCode`: `s[0]·31^(n−1) + … + s[n−1]` over UTF-16 code units, wrapping.
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

/// The `__transaction_state` partition that owns `transactional_id`; its leader is the
/// coordinator (`TransactionStateManager.partitionFor`).
pub fn partition_for(transactional_id: &str, partitions: u32) -> u32 {
    let hash = java_string_hash(transactional_id);
    // Utils.abs maps Integer.MIN_VALUE to 0.
    let abs = if hash == i32::MIN { 0 } else { hash.abs() };
    abs as u32 % partitions
}

/// A transaction's state in the transaction log (`TransactionState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CoordinatorState {
    /// No transaction open.
    Empty,
    /// Partitions were added; the transaction is open.
    Ongoing,
    /// EndTxn(commit) accepted; markers being written.
    PrepareCommit,
    /// EndTxn(abort), a fence or a timeout; markers being written.
    PrepareAbort,
    /// Every commit marker written.
    CompleteCommit,
    /// Every abort marker written.
    CompleteAbort,
    /// The transactional id expired (not reached in linger).
    Dead,
    /// A newer instance fenced the ongoing transaction's epoch.
    PrepareEpochFence,
}

impl CoordinatorState {
    /// Kafka's name, e.g. `PrepareCommit`.
    pub fn name(self) -> &'static str {
        match self {
            CoordinatorState::Empty => "Empty",
            CoordinatorState::Ongoing => "Ongoing",
            CoordinatorState::PrepareCommit => "PrepareCommit",
            CoordinatorState::PrepareAbort => "PrepareAbort",
            CoordinatorState::CompleteCommit => "CompleteCommit",
            CoordinatorState::CompleteAbort => "CompleteAbort",
            CoordinatorState::Dead => "Dead",
            CoordinatorState::PrepareEpochFence => "PrepareEpochFence",
        }
    }

    /// The states this one may follow (`validPreviousStates`).
    pub fn valid_previous_states(self) -> &'static [CoordinatorState] {
        use CoordinatorState::*;
        match self {
            Empty => &[Empty, CompleteCommit, CompleteAbort],
            Ongoing => &[Ongoing, Empty, CompleteCommit, CompleteAbort],
            PrepareCommit => &[Ongoing],
            PrepareAbort => &[Ongoing, PrepareEpochFence],
            CompleteCommit => &[PrepareCommit],
            CompleteAbort => &[PrepareAbort],
            Dead => &[Empty, CompleteAbort, CompleteCommit],
            PrepareEpochFence => &[Ongoing],
        }
    }
}

/// Markers to write to every partition of a transaction (WriteTxnMarkers), then
/// [`TxnCoordinator::markers_written`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarkerJob {
    /// The transactional id.
    pub transactional_id: String,
    /// The producer id the markers carry.
    pub producer_id: i64,
    /// The epoch the markers carry (the bumped one under transaction version 2 or a fence).
    pub producer_epoch: i16,
    /// Commit (true) or abort markers.
    pub commit: bool,
    /// The partitions of the transaction, in order.
    pub partitions: Vec<u32>,
}

/// One transactional id's entry in the coordinator (`TransactionMetadata`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxnMetadata {
    /// The producer id.
    pub producer_id: i64,
    /// The current epoch (`-1` before the first InitProducerId).
    pub producer_epoch: i16,
    /// The epoch before the last bump (`-1` after a fence).
    pub last_producer_epoch: i16,
    /// `transaction.timeout.ms` as the producer sent it.
    pub timeout_ms: i32,
    /// The state.
    pub state: CoordinatorState,
    /// The partitions of the open transaction.
    pub partitions: BTreeSet<u32>,
    /// When the open transaction added its first partition (ms), or -1.
    pub start_ms: i64,
}

/// What InitProducerId got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InitOutcome {
    /// The producer id and epoch to answer with.
    Assigned {
        /// The producer id.
        producer_id: i64,
        /// The new epoch.
        producer_epoch: i16,
    },
    /// An error to answer with.
    Error(TxnError),
    /// The ongoing transaction of an older instance is fenced and aborted: write these markers
    /// and answer CONCURRENT_TRANSACTIONS (the new instance retries).
    FencedOngoing(MarkerJob),
}

/// The coordinator of every transactional id whose `__transaction_state` partition this broker
/// leads (one instance per coordinator broker; the caller moves entries on failover).
#[derive(Clone, Debug, Default)]
pub struct TxnCoordinator {
    /// Transactional id → its metadata.
    pub txns: BTreeMap<String, TxnMetadata>,
    /// `transaction.max.timeout.ms`.
    pub max_timeout_ms: i32,
    /// The cluster's `transaction.version` is 2 or more (KIP-890 part 2).
    pub transaction_v2: bool,
}

impl TxnCoordinator {
    /// An empty coordinator.
    pub fn new(max_timeout_ms: i32, transaction_v2: bool) -> Self {
        TxnCoordinator {
            txns: BTreeMap::new(),
            max_timeout_ms,
            transaction_v2,
        }
    }

    /// `handleInitProducerId` for a transactional id; `expected` is the producer's current id
    /// and epoch when it bumps its own epoch; `new_producer_id` allocates a producer id.
    pub fn init_producer_id(
        &mut self,
        transactional_id: &str,
        timeout_ms: i32,
        expected: Option<(i64, i16)>,
        new_producer_id: impl FnOnce() -> i64,
    ) -> InitOutcome {
        if transactional_id.is_empty() {
            return InitOutcome::Error(TxnError::InvalidTxnState);
        }
        if timeout_ms <= 0 || timeout_ms > self.max_timeout_ms {
            return InitOutcome::Error(TxnError::InvalidTransactionTimeout);
        }
        let txn = self
            .txns
            .entry(transactional_id.to_owned())
            .or_insert_with(|| TxnMetadata {
                producer_id: new_producer_id(),
                producer_epoch: -1,
                last_producer_epoch: -1,
                timeout_ms,
                state: CoordinatorState::Empty,
                partitions: BTreeSet::new(),
                start_ms: -1,
            });
        if let Some((pid, _)) = expected
            && txn.producer_epoch != -1
            && pid != txn.producer_id
        {
            return InitOutcome::Error(TxnError::ProducerFenced);
        }
        match txn.state {
            CoordinatorState::PrepareCommit | CoordinatorState::PrepareAbort => {
                InitOutcome::Error(TxnError::ConcurrentTransactions)
            }
            CoordinatorState::Empty
            | CoordinatorState::CompleteCommit
            | CoordinatorState::CompleteAbort => {
                // prepareIncrementProducerEpoch.
                let bumped = txn.producer_epoch.saturating_add(1).max(0);
                let (epoch, last) = match expected {
                    None => (bumped, -1),
                    Some((_, e)) if txn.producer_epoch == -1 || e == txn.producer_epoch => {
                        (bumped, txn.producer_epoch)
                    }
                    Some((_, e)) if e == txn.last_producer_epoch => {
                        (txn.producer_epoch, txn.last_producer_epoch)
                    }
                    Some(_) => return InitOutcome::Error(TxnError::ProducerFenced),
                };
                txn.producer_epoch = epoch;
                txn.last_producer_epoch = last;
                txn.timeout_ms = timeout_ms;
                txn.state = CoordinatorState::Empty;
                txn.partitions.clear();
                txn.start_ms = -1;
                InitOutcome::Assigned {
                    producer_id: txn.producer_id,
                    producer_epoch: epoch,
                }
            }
            CoordinatorState::Ongoing => {
                let job = fence_and_abort(transactional_id, txn);
                InitOutcome::FencedOngoing(job)
            }
            CoordinatorState::Dead | CoordinatorState::PrepareEpochFence => {
                panic!(
                    "transactional id {transactional_id} found in state {}",
                    txn.state.name()
                )
            }
        }
    }

    /// `handleAddPartitionsToTransaction` at `now_ms`.
    pub fn add_partitions(
        &mut self,
        transactional_id: &str,
        (producer_id, producer_epoch): (i64, i16),
        partitions: &[u32],
        now_ms: i64,
    ) -> TxnError {
        let Some(txn) = self.txns.get_mut(transactional_id) else {
            return TxnError::InvalidProducerIdMapping;
        };
        if txn.producer_id != producer_id {
            return TxnError::InvalidProducerIdMapping;
        }
        if txn.producer_epoch != producer_epoch {
            return TxnError::ProducerFenced;
        }
        match txn.state {
            CoordinatorState::PrepareCommit | CoordinatorState::PrepareAbort => {
                TxnError::ConcurrentTransactions
            }
            CoordinatorState::Empty
            | CoordinatorState::CompleteCommit
            | CoordinatorState::CompleteAbort
            | CoordinatorState::Ongoing => {
                if txn.state != CoordinatorState::Ongoing {
                    txn.start_ms = now_ms;
                }
                txn.state = CoordinatorState::Ongoing;
                txn.partitions.extend(partitions.iter().copied());
                TxnError::None
            }
            CoordinatorState::Dead | CoordinatorState::PrepareEpochFence => {
                TxnError::ConcurrentTransactions
            }
        }
    }

    /// `handleEndTransaction` from the client. On success the answer is NONE with the epoch the
    /// producer continues with (bumped under transaction version 2), and the markers to write
    /// (none when the EndTxn repeats a completed one).
    pub fn end_txn(
        &mut self,
        transactional_id: &str,
        (producer_id, producer_epoch): (i64, i16),
        commit: bool,
    ) -> Result<((i64, i16), Option<MarkerJob>), TxnError> {
        let v2 = self.transaction_v2;
        let Some(txn) = self.txns.get_mut(transactional_id) else {
            return Err(TxnError::InvalidProducerIdMapping);
        };
        if txn.producer_id != producer_id {
            return Err(TxnError::InvalidProducerIdMapping);
        }
        use CoordinatorState::*;
        let retry_of_bumped = v2 && producer_epoch == txn.last_producer_epoch;
        let valid_epoch = if v2 {
            match txn.state {
                Ongoing | Empty | Dead | PrepareEpochFence => producer_epoch == txn.producer_epoch,
                PrepareCommit | PrepareAbort | CompleteCommit | CompleteAbort => retry_of_bumped,
            }
        } else {
            producer_epoch == txn.producer_epoch
        };
        if !valid_epoch {
            return Err(TxnError::ProducerFenced);
        }
        match (txn.state, commit) {
            (Ongoing, _) => {
                if v2 {
                    txn.last_producer_epoch = txn.producer_epoch;
                    txn.producer_epoch = txn.producer_epoch.saturating_add(1);
                }
                txn.state = if commit { PrepareCommit } else { PrepareAbort };
                let job = MarkerJob {
                    transactional_id: transactional_id.to_owned(),
                    producer_id: txn.producer_id,
                    producer_epoch: txn.producer_epoch,
                    commit,
                    partitions: txn.partitions.iter().copied().collect(),
                };
                Ok(((txn.producer_id, txn.producer_epoch), Some(job)))
            }
            (CompleteCommit, true) | (CompleteAbort, false) => {
                Ok(((txn.producer_id, txn.producer_epoch), None))
            }
            (PrepareCommit, true) | (PrepareAbort, false) => Err(TxnError::ConcurrentTransactions),
            (Dead | PrepareEpochFence, _) => {
                panic!(
                    "transactional id {transactional_id} found in state {}",
                    txn.state.name()
                )
            }
            _ => Err(TxnError::InvalidTxnState),
        }
    }

    /// Every marker of `transactional_id`'s preparing transaction is written
    /// (`prepareComplete`): PrepareCommit → CompleteCommit, PrepareAbort → CompleteAbort.
    pub fn markers_written(&mut self, transactional_id: &str) {
        let Some(txn) = self.txns.get_mut(transactional_id) else {
            return;
        };
        txn.state = match txn.state {
            CoordinatorState::PrepareCommit => CoordinatorState::CompleteCommit,
            CoordinatorState::PrepareAbort => CoordinatorState::CompleteAbort,
            _ => return,
        };
        txn.partitions.clear();
        txn.start_ms = -1;
    }

    /// `timedOutTransactions` + `abortTimedOutTransactions` at `now_ms`: every ongoing
    /// transaction open longer than its timeout gets its epoch fenced and is aborted; the
    /// markers to write, in transactional id order.
    pub fn abort_timed_out(&mut self, now_ms: i64) -> Vec<MarkerJob> {
        let mut jobs = Vec::new();
        for (id, txn) in &mut self.txns {
            if txn.state == CoordinatorState::Ongoing
                && txn.start_ms + i64::from(txn.timeout_ms) < now_ms
            {
                jobs.push(fence_and_abort(id, txn));
            }
        }
        jobs
    }

    /// The earliest instant (ms) at which an ongoing transaction times out, if any.
    pub fn next_timeout_ms(&self) -> Option<i64> {
        self.txns
            .values()
            .filter(|t| t.state == CoordinatorState::Ongoing)
            .map(|t| t.start_ms + i64::from(t.timeout_ms) + 1)
            .min()
    }
}

/// `prepareFenceProducerEpoch` then the abort in `endTransaction`: the epoch goes up by one
/// (fencing the old instance) and the transaction moves to PrepareAbort.
fn fence_and_abort(transactional_id: &str, txn: &mut TxnMetadata) -> MarkerJob {
    txn.producer_epoch = txn.producer_epoch.saturating_add(1);
    txn.last_producer_epoch = -1;
    txn.state = CoordinatorState::PrepareAbort;
    MarkerJob {
        transactional_id: transactional_id.to_owned(),
        producer_id: txn.producer_id,
        producer_epoch: txn.producer_epoch,
        commit: false,
        partitions: txn.partitions.iter().copied().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coordinator(v2: bool) -> TxnCoordinator {
        TxnCoordinator::new(TRANSACTION_MAX_TIMEOUT_MS, v2)
    }

    fn assigned(outcome: InitOutcome) -> (i64, i16) {
        match outcome {
            InitOutcome::Assigned {
                producer_id,
                producer_epoch,
            } => (producer_id, producer_epoch),
            other => panic!("expected an assignment, got {other:?}"),
        }
    }

    #[test]
    fn the_partition_follows_javas_string_hash_code() {
        // Values of "".hashCode(), "a".hashCode(), "orders".hashCode() in Java.
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("a"), 97);
        assert_eq!(java_string_hash("orders"), -1_008_770_331);
        assert_eq!(partition_for("orders", 50), 1_008_770_331 % 50);
        // Wrapping: a long id overflows i32 as Java does, and stays in range.
        let long = "transactional-producer-with-a-long-name";
        assert!(partition_for(long, 50) < 50);
        // "polygenelubricants".hashCode() is Integer.MIN_VALUE: Utils.abs makes it 0.
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
        assert_eq!(partition_for("polygenelubricants", 50), 0);
    }

    #[test]
    fn the_previous_states_are_kafkas() {
        use CoordinatorState::*;
        assert_eq!(PrepareCommit.valid_previous_states(), &[Ongoing]);
        assert_eq!(
            PrepareAbort.valid_previous_states(),
            &[Ongoing, PrepareEpochFence]
        );
        assert_eq!(CompleteAbort.valid_previous_states(), &[PrepareAbort]);
    }

    #[test]
    fn a_committed_transaction_bumps_the_epoch_under_transaction_version_2() {
        let mut c = coordinator(true);
        let (pid, epoch) = assigned(c.init_producer_id("t", 60_000, None, || 1000));
        assert_eq!((pid, epoch), (1000, 0));
        assert_eq!(
            c.add_partitions("t", (pid, epoch), &[2, 0], 10),
            TxnError::None
        );
        assert_eq!(c.txns["t"].state, CoordinatorState::Ongoing);
        let (next, job) = c.end_txn("t", (pid, epoch), true).unwrap();
        assert_eq!(next, (1000, 1));
        let job = job.unwrap();
        assert_eq!(job.partitions, vec![0, 2]);
        assert!(job.commit);
        assert_eq!(job.producer_epoch, 1);
        // The next transaction waits until the markers are written.
        assert_eq!(
            c.add_partitions("t", next, &[1], 20),
            TxnError::ConcurrentTransactions
        );
        // A retry of the same EndTxn by the old epoch is answered, not fenced.
        assert_eq!(
            c.end_txn("t", (pid, epoch), true),
            Err(TxnError::ConcurrentTransactions)
        );
        c.markers_written("t");
        assert_eq!(c.txns["t"].state, CoordinatorState::CompleteCommit);
        assert_eq!(c.end_txn("t", (pid, epoch), true), Ok(((1000, 1), None)));
        assert_eq!(c.add_partitions("t", next, &[1], 30), TxnError::None);
        assert_eq!(c.txns["t"].start_ms, 30);
    }

    #[test]
    fn transaction_version_1_keeps_the_epoch_and_refuses_an_abort_after_a_commit() {
        let mut c = coordinator(false);
        let id = assigned(c.init_producer_id("t", 60_000, None, || 5));
        c.add_partitions("t", id, &[0], 0);
        let (next, _) = c.end_txn("t", id, true).unwrap();
        assert_eq!(next, id);
        c.markers_written("t");
        assert_eq!(c.end_txn("t", id, false), Err(TxnError::InvalidTxnState));
    }

    #[test]
    fn a_new_instance_fences_the_old_one_and_aborts_its_transaction() {
        let mut c = coordinator(true);
        let old = assigned(c.init_producer_id("t", 60_000, None, || 9));
        c.add_partitions("t", old, &[0, 1], 0);
        // The new instance's InitProducerId: the ongoing transaction is fenced and aborted.
        let job = match c.init_producer_id("t", 60_000, None, || unreachable!()) {
            InitOutcome::FencedOngoing(job) => job,
            other => panic!("{other:?}"),
        };
        assert!(!job.commit);
        assert_eq!(job.partitions, vec![0, 1]);
        assert_eq!(job.producer_epoch, 1);
        // While the abort markers are written the new instance is told to retry.
        assert_eq!(
            c.init_producer_id("t", 60_000, None, || unreachable!()),
            InitOutcome::Error(TxnError::ConcurrentTransactions)
        );
        // The old instance is fenced from now on.
        assert_eq!(
            c.add_partitions("t", old, &[2], 5),
            TxnError::ProducerFenced
        );
        assert_eq!(c.end_txn("t", old, true), Err(TxnError::ProducerFenced));
        c.markers_written("t");
        let new = assigned(c.init_producer_id("t", 60_000, None, || unreachable!()));
        assert_eq!(new, (9, 2));
        assert_eq!(c.end_txn("t", old, true), Err(TxnError::ProducerFenced));
    }

    #[test]
    fn a_hung_transaction_is_aborted_after_its_timeout() {
        let mut c = coordinator(true);
        let id = assigned(c.init_producer_id("t", 1_000, None, || 3));
        c.add_partitions("t", id, &[4], 100);
        assert_eq!(c.next_timeout_ms(), Some(1_101));
        assert!(c.abort_timed_out(1_100).is_empty());
        let jobs = c.abort_timed_out(1_101);
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].partitions, vec![4]);
        assert!(!jobs[0].commit);
        assert_eq!(c.txns["t"].state, CoordinatorState::PrepareAbort);
        assert_eq!(c.next_timeout_ms(), None);
        // The producer that hung is fenced when it comes back.
        assert_eq!(c.end_txn("t", id, true), Err(TxnError::ProducerFenced));
    }

    #[test]
    fn a_timeout_above_the_broker_maximum_is_refused() {
        let mut c = coordinator(true);
        assert_eq!(
            c.init_producer_id("t", TRANSACTION_MAX_TIMEOUT_MS + 1, None, || 1),
            InitOutcome::Error(TxnError::InvalidTransactionTimeout)
        );
        assert!(c.txns.is_empty());
    }

    #[test]
    fn an_epoch_bump_retry_with_the_last_epoch_gets_the_current_one() {
        let mut c = coordinator(false);
        let first = assigned(c.init_producer_id("t", 60_000, None, || 4));
        let bumped = assigned(c.init_producer_id("t", 60_000, Some(first), || 0));
        assert_eq!(bumped, (4, 1));
        // The response was lost; the producer asks again with the epoch it had.
        let again = assigned(c.init_producer_id("t", 60_000, Some(first), || 0));
        assert_eq!(again, bumped);
        assert_eq!(
            c.init_producer_id("t", 60_000, Some((4, 7)), || 0),
            InitOutcome::Error(TxnError::ProducerFenced)
        );
    }
}
