//! The transactional half of the producer's `TransactionManager`: the client's transaction
//! state machine, the partitions of the current transaction, the queue of transactional
//! requests (FindCoordinator, InitProducerId, AddPartitionsToTxn, EndTxn) and how each response
//! and each failed batch moves the state, with the error the application is given.
//!
//! ```text
//!  UNINITIALIZED ─initTransactions─► INITIALIZING ─InitProducerId ok─► READY
//!  READY ─beginTransaction─► IN_TRANSACTION ─commitTransaction─► COMMITTING_TRANSACTION
//!                                  │        ─abortTransaction──► ABORTING_TRANSACTION
//!                                  └─ abortable error ─► ABORTABLE_ERROR ─abort─► ABORTING_TRANSACTION
//!  COMMITTING / ABORTING ─EndTxn ok─► READY (or INITIALIZING when an epoch bump is owed)
//!  anything ─fatal error (fenced, invalid state)─► FATAL_ERROR (only close() is left)
//! ```
//!
//! Sans-IO like the rest of the core: the caller sends what [`TransactionManager::next_request`]
//! returns to the node it names, gives back each response, and reports every batch that failed.
//! `EndTxn` is held back while batches are incomplete, so a commit flushes and waits.
//!
//! Fidelity: `TransactionManager` of the Java client as of the KIP-890 work that became 4.0:
//! `State.isTransitionValid` (the transition table, verbatim in meaning), `initializeTransactions`,
//! `beginTransaction`, `beginCommit`/`beginAbort`/`beginCompletingTransaction` (an EndTxn, or an
//! InitProducerId epoch bump after one when `epochBumpRequired`), `maybeAddPartition`,
//! `isSendToPartitionAllowed`, `nextRequest` (new partitions become one AddPartitionsToTxn, EndTxn
//! waits for `hasIncompleteBatches`, an EndTxn for a transaction that added nothing completes
//! without a request), `completeTransaction`, `maybeTransitionToErrorState`/`handleFailedBatch`
//! (`ProducerFencedException` fatal, anything else abortable with an epoch bump owed when the
//! coordinator can bump), and the `handleResponse` decision trees of `InitProducerIdHandler`,
//! `AddPartitionsToTxnHandler` and `EndTxnHandler` (`NOT_COORDINATOR`/`COORDINATOR_NOT_AVAILABLE`:
//! find the coordinator and retry; retriable: retry; `INVALID_PRODUCER_EPOCH` or
//! `PRODUCER_FENCED`: fatal as fenced; `INVALID_TXN_STATE`: fatal; `UNKNOWN_PRODUCER_ID` or
//! `INVALID_PRODUCER_ID_MAPPING`: abortable if the epoch can be bumped, else fatal;
//! `TRANSACTION_ABORTABLE`: abortable). `Sender.maybeSendAndPollTransactionalRequest`: while
//! aborting or in an abortable error the undrained batches are failed
//! (`RecordAccumulator.abortUndrainedBatches`), which the caller does when
//! [`TransactionManager::should_abort_undrained`] says so.
//!
//! Transaction version 2 (KIP-890 part 2, `transaction.version` >= 2 in the cluster's finalized
//! features): the coordinator bumps the epoch at every EndTxn and returns it, and the client
//! takes it from the response ([`TransactionManager::on_end_txn`]). Kafka 4.0 clients on such a
//! cluster also add partitions implicitly, through the produce request; this core sends the
//! explicit AddPartitionsToTxn of transaction version 1 and older in both cases (the snapshot of
//! `TransactionManager` it follows reads the feature but still adds partitions explicitly), so a
//! partition's first batch waits one coordinator round trip on the client rather than on the
//! partition leader.
//!
//! Not modelled: `sendOffsetsToTransaction` (AddOffsetsToTxn, TxnOffsetCommit), authorization
//! errors, `transaction.two.phase.commit.enable`.

use std::collections::{BTreeSet, VecDeque};

use crate::completion::ProduceError;
use crate::ids::{PartitionId, ProducerIdAndEpoch};

/// The client's transaction state (`TransactionManager.State`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TxnState {
    /// Before `initTransactions`, or after an abortable error reset the producer id.
    Uninitialized,
    /// An InitProducerId is under way.
    Initializing,
    /// A producer id and epoch are known; no transaction is open.
    Ready,
    /// `beginTransaction` was called.
    InTransaction,
    /// `commitTransaction` was called: flushing, then EndTxn(commit).
    CommittingTransaction,
    /// `abortTransaction` was called: unsent batches fail, then EndTxn(abort).
    AbortingTransaction,
    /// The transaction can only be aborted.
    AbortableError,
    /// Only `close()` is left.
    FatalError,
}

impl TxnState {
    /// Kafka's name for the state, e.g. `IN_TRANSACTION`.
    pub fn name(self) -> &'static str {
        match self {
            TxnState::Uninitialized => "UNINITIALIZED",
            TxnState::Initializing => "INITIALIZING",
            TxnState::Ready => "READY",
            TxnState::InTransaction => "IN_TRANSACTION",
            TxnState::CommittingTransaction => "COMMITTING_TRANSACTION",
            TxnState::AbortingTransaction => "ABORTING_TRANSACTION",
            TxnState::AbortableError => "ABORTABLE_ERROR",
            TxnState::FatalError => "FATAL_ERROR",
        }
    }

    /// Whether `self → target` is allowed (`State.isTransitionValid`).
    pub fn can_transition_to(self, target: TxnState) -> bool {
        use TxnState::*;
        match target {
            Uninitialized => matches!(self, Ready | AbortableError),
            Initializing => matches!(self, Uninitialized | AbortingTransaction),
            Ready => matches!(
                self,
                Initializing | CommittingTransaction | AbortingTransaction
            ),
            InTransaction => self == Ready,
            CommittingTransaction => self == InTransaction,
            AbortingTransaction => matches!(self, InTransaction | AbortableError),
            AbortableError => matches!(
                self,
                InTransaction | CommittingTransaction | AbortableError | Initializing
            ),
            // FATAL_ERROR can be entered from anywhere.
            FatalError => true,
        }
    }

    /// Every state, in Kafka's declaration order.
    pub const ALL: [TxnState; 8] = [
        TxnState::Uninitialized,
        TxnState::Initializing,
        TxnState::Ready,
        TxnState::InTransaction,
        TxnState::CommittingTransaction,
        TxnState::AbortingTransaction,
        TxnState::AbortableError,
        TxnState::FatalError,
    ];
}

/// The error codes a transaction coordinator answers with (names as in Kafka's `Errors`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TxnError {
    /// `NONE`.
    None,
    /// `NOT_COORDINATOR`: this broker does not own the transactional id's partition.
    NotCoordinator,
    /// `COORDINATOR_NOT_AVAILABLE`.
    CoordinatorNotAvailable,
    /// `COORDINATOR_LOAD_IN_PROGRESS` (retriable).
    CoordinatorLoadInProgress,
    /// `CONCURRENT_TRANSACTIONS`: the previous transaction is still completing (retriable).
    ConcurrentTransactions,
    /// `REQUEST_TIMED_OUT` or a lost connection (retriable).
    RequestTimedOut,
    /// `PRODUCER_FENCED`: a newer instance holds the transactional id.
    ProducerFenced,
    /// `INVALID_PRODUCER_EPOCH` (older coordinators; treated as fenced).
    InvalidProducerEpoch,
    /// `INVALID_TXN_STATE`.
    InvalidTxnState,
    /// `UNKNOWN_PRODUCER_ID`.
    UnknownProducerId,
    /// `INVALID_PRODUCER_ID_MAPPING`.
    InvalidProducerIdMapping,
    /// `TRANSACTION_ABORTABLE`.
    TransactionAbortable,
    /// `INVALID_TRANSACTION_TIMEOUT`: above the broker's `transaction.max.timeout.ms`.
    InvalidTransactionTimeout,
}

impl TxnError {
    /// Kafka's constant name.
    pub fn name(self) -> &'static str {
        match self {
            TxnError::None => "NONE",
            TxnError::NotCoordinator => "NOT_COORDINATOR",
            TxnError::CoordinatorNotAvailable => "COORDINATOR_NOT_AVAILABLE",
            TxnError::CoordinatorLoadInProgress => "COORDINATOR_LOAD_IN_PROGRESS",
            TxnError::ConcurrentTransactions => "CONCURRENT_TRANSACTIONS",
            TxnError::RequestTimedOut => "REQUEST_TIMED_OUT",
            TxnError::ProducerFenced => "PRODUCER_FENCED",
            TxnError::InvalidProducerEpoch => "INVALID_PRODUCER_EPOCH",
            TxnError::InvalidTxnState => "INVALID_TXN_STATE",
            TxnError::UnknownProducerId => "UNKNOWN_PRODUCER_ID",
            TxnError::InvalidProducerIdMapping => "INVALID_PRODUCER_ID_MAPPING",
            TxnError::TransactionAbortable => "TRANSACTION_ABORTABLE",
            TxnError::InvalidTransactionTimeout => "INVALID_TRANSACTION_TIMEOUT",
        }
    }

    fn is_retriable(self) -> bool {
        matches!(
            self,
            TxnError::CoordinatorLoadInProgress
                | TxnError::ConcurrentTransactions
                | TxnError::RequestTimedOut
        )
    }
}

/// The exception the application gets from a transactional call once the producer is in an
/// error state, or from a failed commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TxnFailure {
    /// `ProducerFencedException` (fatal).
    ProducerFenced,
    /// `InvalidProducerEpochException` from a produce response (abortable).
    InvalidProducerEpoch,
    /// `InvalidTxnStateException` (fatal).
    InvalidTxnState,
    /// `InvalidTxnTimeoutException` (fatal, from InitProducerId).
    InvalidTxnTimeout,
    /// `UnknownProducerIdException` / `InvalidPidMappingException` (abortable when the epoch can
    /// be bumped).
    UnknownProducerId,
    /// `TransactionAbortableException`.
    TransactionAbortable,
    /// `TransactionAbortedException`: the batch was not sent because the transaction aborted.
    TransactionAborted,
    /// A batch of the transaction failed with this produce error (abortable).
    Batch(ProduceError),
}

impl TxnFailure {
    /// The Java exception's simple name.
    pub fn exception_name(self) -> &'static str {
        match self {
            TxnFailure::ProducerFenced => "ProducerFencedException",
            TxnFailure::InvalidProducerEpoch => "InvalidProducerEpochException",
            TxnFailure::InvalidTxnState => "InvalidTxnStateException",
            TxnFailure::InvalidTxnTimeout => "InvalidTxnTimeoutException",
            TxnFailure::UnknownProducerId => "UnknownProducerIdException",
            TxnFailure::TransactionAbortable => "TransactionAbortableException",
            TxnFailure::TransactionAborted => "TransactionAbortedException",
            TxnFailure::Batch(_) => "KafkaException",
        }
    }
}

/// A request the transaction manager wants sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxnRequest {
    /// FindCoordinator(TRANSACTION, transactional id), to any node.
    FindCoordinator,
    /// InitProducerId to the coordinator; with the current id and epoch when bumping.
    InitProducerId {
        /// The producer id and epoch to bump, or `None` for the first one.
        bump_from: Option<ProducerIdAndEpoch>,
    },
    /// AddPartitionsToTxn to the coordinator.
    AddPartitions {
        /// The partitions, in order.
        partitions: Vec<PartitionId>,
    },
    /// EndTxn to the coordinator.
    EndTxn {
        /// Commit (true) or abort.
        commit: bool,
    },
}

impl TxnRequest {
    /// The request's API name.
    pub fn api_name(&self) -> &'static str {
        match self {
            TxnRequest::FindCoordinator => "FindCoordinator",
            TxnRequest::InitProducerId { .. } => "InitProducerId",
            TxnRequest::AddPartitions { .. } => "AddPartitionsToTxn",
            TxnRequest::EndTxn { .. } => "EndTxn",
        }
    }

    fn needs_coordinator(&self) -> bool {
        !matches!(self, TxnRequest::FindCoordinator)
    }
}

/// What the caller does after handing a response to the manager.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseAction {
    /// The request is done.
    Done,
    /// The request is queued again; send it after `retry.backoff.ms`.
    Retry,
    /// The coordinator is unknown again: a FindCoordinator goes first, then the request.
    FindCoordinatorThenRetry,
    /// The request failed; the manager is now in this state (ABORTABLE_ERROR or FATAL_ERROR).
    Failed(TxnState),
}

/// An application call made in a state that does not allow it (`IllegalStateException`, or the
/// last error rethrown by `maybeFailWithError`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxnUsageError {
    /// The call is not allowed from this state.
    InvalidTransition {
        /// Where the manager was.
        from: TxnState,
        /// Where the call would have taken it.
        to: TxnState,
    },
    /// The producer is in an error state; this is the error the call rethrows.
    InErrorState(TxnFailure),
}

/// The transactional producer's state (`TransactionManager` with a `transactional.id`).
#[derive(Clone, Debug)]
pub struct TransactionManager {
    transactional_id: String,
    transaction_timeout_ms: i32,
    state: TxnState,
    last_error: Option<TxnFailure>,
    producer_id_and_epoch: ProducerIdAndEpoch,
    /// The coordinator's broker, once found.
    coordinator: Option<u32>,
    /// KIP-890 part 2: the coordinator bumps the epoch at each EndTxn.
    transaction_v2: bool,
    epoch_bump_required: bool,
    transaction_started: bool,
    new_partitions: BTreeSet<PartitionId>,
    pending_partitions: BTreeSet<PartitionId>,
    partitions_in_transaction: BTreeSet<PartitionId>,
    pending_requests: VecDeque<TxnRequest>,
    in_flight: Option<TxnRequest>,
}

impl TransactionManager {
    /// A manager for `transactional_id` with `transaction.timeout.ms`; `transaction_v2` when the
    /// cluster's `transaction.version` is 2 or more.
    pub fn new(transactional_id: &str, transaction_timeout_ms: i32, transaction_v2: bool) -> Self {
        TransactionManager {
            transactional_id: transactional_id.to_owned(),
            transaction_timeout_ms,
            state: TxnState::Uninitialized,
            last_error: None,
            producer_id_and_epoch: ProducerIdAndEpoch::NONE,
            coordinator: None,
            transaction_v2,
            epoch_bump_required: false,
            transaction_started: false,
            new_partitions: BTreeSet::new(),
            pending_partitions: BTreeSet::new(),
            partitions_in_transaction: BTreeSet::new(),
            pending_requests: VecDeque::new(),
            in_flight: None,
        }
    }

    /// The transactional id.
    pub fn transactional_id(&self) -> &str {
        &self.transactional_id
    }

    /// `transaction.timeout.ms`, sent with InitProducerId.
    pub fn transaction_timeout_ms(&self) -> i32 {
        self.transaction_timeout_ms
    }

    /// The current state.
    pub fn state(&self) -> TxnState {
        self.state
    }

    /// The error that put the manager in ABORTABLE_ERROR or FATAL_ERROR.
    pub fn last_error(&self) -> Option<TxnFailure> {
        self.last_error
    }

    /// The producer id and epoch the batches are stamped with.
    pub fn producer_id_and_epoch(&self) -> ProducerIdAndEpoch {
        self.producer_id_and_epoch
    }

    /// The coordinator's broker, if known.
    pub fn coordinator(&self) -> Option<u32> {
        self.coordinator
    }

    /// The partitions AddPartitionsToTxn has confirmed for the current transaction.
    pub fn partitions_in_transaction(&self) -> &BTreeSet<PartitionId> {
        &self.partitions_in_transaction
    }

    /// Whether a transactional request is in flight.
    pub fn has_in_flight_request(&self) -> bool {
        self.in_flight.is_some()
    }

    /// Whether the state is COMMITTING_TRANSACTION or ABORTING_TRANSACTION.
    pub fn is_completing(&self) -> bool {
        matches!(
            self.state,
            TxnState::CommittingTransaction | TxnState::AbortingTransaction
        )
    }

    fn can_bump_epoch(&self) -> bool {
        // Every coordinator linger models supports InitProducerId v3+ (KIP-360).
        true
    }

    fn transition_to(&mut self, target: TxnState, error: Option<TxnFailure>) {
        assert!(
            self.state.can_transition_to(target),
            "transactional id {}: invalid transition from {} to {}",
            self.transactional_id,
            self.state.name(),
            target.name()
        );
        self.state = target;
        if matches!(target, TxnState::FatalError | TxnState::AbortableError) {
            self.last_error = Some(error.expect("an error state needs its error"));
        } else {
            self.last_error = None;
        }
    }

    fn try_transition(&mut self, target: TxnState) -> Result<(), TxnUsageError> {
        if self.state.can_transition_to(target) {
            self.transition_to(target, None);
            Ok(())
        } else {
            Err(TxnUsageError::InvalidTransition {
                from: self.state,
                to: target,
            })
        }
    }

    /// `maybeFailWithError`: an error state makes every call rethrow its error.
    fn fail_if_in_error(&self) -> Result<(), TxnUsageError> {
        match (self.state, self.last_error) {
            (TxnState::AbortableError | TxnState::FatalError, Some(error)) => {
                Err(TxnUsageError::InErrorState(error))
            }
            _ => Ok(()),
        }
    }

    fn fatal(&mut self, error: TxnFailure) -> ResponseAction {
        self.transition_to(TxnState::FatalError, Some(error));
        ResponseAction::Failed(TxnState::FatalError)
    }

    fn abortable(&mut self, error: TxnFailure) -> ResponseAction {
        self.transition_to(TxnState::AbortableError, Some(error));
        ResponseAction::Failed(TxnState::AbortableError)
    }

    fn abortable_if_possible(&mut self, error: TxnFailure) -> ResponseAction {
        if self.can_bump_epoch() {
            self.epoch_bump_required = true;
            self.abortable(error)
        } else {
            self.fatal(error)
        }
    }

    /// `initTransactions()`: queues an InitProducerId (after a FindCoordinator when the
    /// coordinator is unknown).
    pub fn initialize_transactions(&mut self) -> Result<(), TxnUsageError> {
        self.try_transition(TxnState::Initializing)?;
        self.producer_id_and_epoch = ProducerIdAndEpoch::NONE;
        self.pending_requests
            .push_back(TxnRequest::InitProducerId { bump_from: None });
        Ok(())
    }

    /// `beginTransaction()`.
    pub fn begin_transaction(&mut self) -> Result<(), TxnUsageError> {
        self.fail_if_in_error()?;
        self.try_transition(TxnState::InTransaction)
    }

    /// `maybeAddPartition`, called by `send()` for the record's partition: a partition new to
    /// the transaction waits for AddPartitionsToTxn before its batches may be drained.
    pub fn maybe_add_partition(&mut self, partition: PartitionId) -> Result<(), TxnUsageError> {
        self.fail_if_in_error()?;
        if self.state != TxnState::InTransaction {
            return Err(TxnUsageError::InvalidTransition {
                from: self.state,
                to: TxnState::InTransaction,
            });
        }
        if !self.partitions_in_transaction.contains(&partition)
            && !self.pending_partitions.contains(&partition)
        {
            self.new_partitions.insert(partition);
        }
        Ok(())
    }

    /// `isSendToPartitionAllowed`: the drain skips a partition not yet in the transaction.
    pub fn is_send_to_partition_allowed(&self, partition: PartitionId) -> bool {
        self.state != TxnState::FatalError && self.partitions_in_transaction.contains(&partition)
    }

    /// `beginCommit()` (`commitTransaction`): EndTxn(commit) is queued; it leaves once every
    /// batch is complete.
    pub fn begin_commit(&mut self) -> Result<(), TxnUsageError> {
        self.fail_if_in_error()?;
        self.try_transition(TxnState::CommittingTransaction)?;
        self.begin_completing(true);
        Ok(())
    }

    /// `beginAbort()` (`abortTransaction`), allowed from ABORTABLE_ERROR.
    pub fn begin_abort(&mut self) -> Result<(), TxnUsageError> {
        if self.state != TxnState::AbortableError {
            self.fail_if_in_error()?;
        }
        self.try_transition(TxnState::AbortingTransaction)?;
        self.new_partitions.clear();
        self.begin_completing(false);
        Ok(())
    }

    fn begin_completing(&mut self, commit: bool) {
        if !self.new_partitions.is_empty() {
            self.queue_add_partitions();
        }
        self.pending_requests
            .push_back(TxnRequest::EndTxn { commit });
        if self.epoch_bump_required && !self.transaction_v2 {
            self.pending_requests.push_back(TxnRequest::InitProducerId {
                bump_from: Some(self.producer_id_and_epoch),
            });
        }
    }

    fn queue_add_partitions(&mut self) {
        let partitions: Vec<PartitionId> = std::mem::take(&mut self.new_partitions)
            .into_iter()
            .collect();
        self.pending_partitions.extend(partitions.iter().copied());
        self.pending_requests
            .push_back(TxnRequest::AddPartitions { partitions });
    }

    /// `Sender.maybeSendAndPollTransactionalRequest`: while aborting or in an abortable error,
    /// batches not yet drained fail (`abortUndrainedBatches`) with this error.
    pub fn should_abort_undrained(&self) -> Option<TxnFailure> {
        match self.state {
            TxnState::AbortableError => self.last_error,
            TxnState::AbortingTransaction => {
                Some(self.last_error.unwrap_or(TxnFailure::TransactionAborted))
            }
            _ => None,
        }
    }

    /// `nextRequest`: the next transactional request to send, if any. `has_incomplete_batches`
    /// holds back EndTxn until the flush is done. The request is in flight until its response
    /// is given back (or [`TransactionManager::on_request_lost`]).
    pub fn next_request(&mut self, has_incomplete_batches: bool) -> Option<TxnRequest> {
        if self.in_flight.is_some() {
            return None;
        }
        if !self.new_partitions.is_empty() && self.state == TxnState::InTransaction {
            self.queue_add_partitions();
        }
        if self.coordinator.is_none()
            && self
                .pending_requests
                .front()
                .is_some_and(TxnRequest::needs_coordinator)
        {
            self.pending_requests
                .push_front(TxnRequest::FindCoordinator);
        }
        loop {
            let next = self.pending_requests.front()?;
            if matches!(next, TxnRequest::EndTxn { .. }) && has_incomplete_batches {
                return None;
            }
            let next = self.pending_requests.pop_front()?;
            if self.state == TxnState::FatalError {
                // maybeTerminateRequestWithError: nothing more is sent.
                self.pending_requests.clear();
                return None;
            }
            if matches!(next, TxnRequest::EndTxn { .. }) && !self.transaction_started {
                // Nothing was added: the transaction completes without a request.
                self.complete_transaction();
                continue;
            }
            self.in_flight = Some(next.clone());
            return Some(next);
        }
    }

    /// The request [`TransactionManager::next_request`] returned could not be sent (no
    /// connection to its node is ready): it goes back to the front of the queue.
    pub fn requeue_unsent(&mut self) {
        if let Some(request) = self.in_flight.take() {
            self.pending_requests.push_front(request);
        }
    }

    /// The in-flight request was lost (disconnect, request timeout): it is queued again and
    /// the coordinator looked up again.
    pub fn on_request_lost(&mut self) {
        if let Some(request) = self.in_flight.take() {
            if request.needs_coordinator() {
                self.coordinator = None;
            }
            self.pending_requests.push_front(request);
        }
    }

    fn retry_in_flight(&mut self, find_coordinator: bool) -> ResponseAction {
        let request = self.in_flight.take().expect("a response has its request");
        self.pending_requests.push_front(request);
        if find_coordinator {
            self.coordinator = None;
            ResponseAction::FindCoordinatorThenRetry
        } else {
            ResponseAction::Retry
        }
    }

    /// The FindCoordinator response: the coordinator of the transactional id (`None`: not
    /// available, retry).
    pub fn on_find_coordinator(&mut self, coordinator: Option<u32>) -> ResponseAction {
        match coordinator {
            Some(node) => {
                self.in_flight = None;
                self.coordinator = Some(node);
                ResponseAction::Done
            }
            None => self.retry_in_flight(false),
        }
    }

    /// The InitProducerId response (`InitProducerIdHandler.handleResponse`).
    pub fn on_init_producer_id(
        &mut self,
        error: TxnError,
        assigned: ProducerIdAndEpoch,
    ) -> ResponseAction {
        match error {
            TxnError::None => {
                self.in_flight = None;
                self.producer_id_and_epoch = assigned;
                self.epoch_bump_required = false;
                self.transition_to(TxnState::Ready, None);
                ResponseAction::Done
            }
            TxnError::NotCoordinator | TxnError::CoordinatorNotAvailable => {
                self.retry_in_flight(true)
            }
            e if e.is_retriable() => self.retry_in_flight(false),
            TxnError::InvalidProducerEpoch | TxnError::ProducerFenced => {
                self.in_flight = None;
                self.fatal(TxnFailure::ProducerFenced)
            }
            TxnError::TransactionAbortable => {
                self.in_flight = None;
                self.abortable(TxnFailure::TransactionAbortable)
            }
            TxnError::InvalidTransactionTimeout => {
                self.in_flight = None;
                self.fatal(TxnFailure::InvalidTxnTimeout)
            }
            _ => {
                self.in_flight = None;
                self.fatal(TxnFailure::InvalidTxnState)
            }
        }
    }

    /// The AddPartitionsToTxn response, one error for the whole request
    /// (`AddPartitionsToTxnHandler.handleResponse`).
    pub fn on_add_partitions(&mut self, error: TxnError) -> ResponseAction {
        let partitions = match &self.in_flight {
            Some(TxnRequest::AddPartitions { partitions }) => partitions.clone(),
            other => panic!("an AddPartitionsToTxn response without its request: {other:?}"),
        };
        match error {
            TxnError::None => {
                self.in_flight = None;
                for p in &partitions {
                    self.pending_partitions.remove(p);
                }
                self.partitions_in_transaction.extend(partitions);
                self.transaction_started = true;
                ResponseAction::Done
            }
            TxnError::NotCoordinator | TxnError::CoordinatorNotAvailable => {
                self.retry_in_flight(true)
            }
            e if e.is_retriable() => self.retry_in_flight(false),
            _ => {
                self.in_flight = None;
                for p in &partitions {
                    self.pending_partitions.remove(p);
                }
                match error {
                    TxnError::InvalidProducerEpoch | TxnError::ProducerFenced => {
                        self.fatal(TxnFailure::ProducerFenced)
                    }
                    TxnError::InvalidTxnState => self.fatal(TxnFailure::InvalidTxnState),
                    TxnError::UnknownProducerId | TxnError::InvalidProducerIdMapping => {
                        self.abortable_if_possible(TxnFailure::UnknownProducerId)
                    }
                    _ => self.abortable(TxnFailure::TransactionAbortable),
                }
            }
        }
    }

    /// The EndTxn response (`EndTxnHandler.handleResponse`); with transaction version 2 the
    /// response carries the bumped producer id and epoch.
    pub fn on_end_txn(
        &mut self,
        error: TxnError,
        bumped: Option<ProducerIdAndEpoch>,
    ) -> ResponseAction {
        match error {
            TxnError::None => {
                self.in_flight = None;
                if self.transaction_v2
                    && let Some(next) = bumped
                {
                    self.producer_id_and_epoch = next;
                }
                self.complete_transaction();
                ResponseAction::Done
            }
            TxnError::NotCoordinator | TxnError::CoordinatorNotAvailable => {
                self.retry_in_flight(true)
            }
            e if e.is_retriable() => self.retry_in_flight(false),
            TxnError::InvalidProducerEpoch | TxnError::ProducerFenced => {
                self.in_flight = None;
                self.fatal(TxnFailure::ProducerFenced)
            }
            TxnError::InvalidTxnState => {
                self.in_flight = None;
                self.fatal(TxnFailure::InvalidTxnState)
            }
            TxnError::UnknownProducerId | TxnError::InvalidProducerIdMapping => {
                self.in_flight = None;
                self.abortable_if_possible(TxnFailure::UnknownProducerId)
            }
            _ => {
                self.in_flight = None;
                self.abortable(TxnFailure::TransactionAbortable)
            }
        }
    }

    /// `completeTransaction`: back to READY, or to INITIALIZING when an epoch bump is owed
    /// (its InitProducerId is already queued behind the EndTxn).
    fn complete_transaction(&mut self) {
        let target = if self.epoch_bump_required && !self.transaction_v2 {
            TxnState::Initializing
        } else {
            TxnState::Ready
        };
        self.transition_to(target, None);
        if self.transaction_v2 {
            self.epoch_bump_required = false;
        }
        self.transaction_started = false;
        self.new_partitions.clear();
        self.pending_partitions.clear();
        self.partitions_in_transaction.clear();
    }

    /// `handleFailedBatch` / `maybeTransitionToErrorState`: a batch of the transaction failed.
    /// The error makes the transaction abortable, with an epoch bump owed unless it is already
    /// completing (`INVALID_PRODUCER_EPOCH` from a produce response is abortable since KIP-588;
    /// a fenced producer learns it from the coordinator, which is fatal).
    pub fn on_batch_failed(&mut self, error: ProduceError) {
        if self.state == TxnState::FatalError {
            return;
        }
        if self.can_bump_epoch() && !self.is_completing() {
            self.epoch_bump_required = true;
        }
        let failure = match error {
            ProduceError::InvalidProducerEpoch => TxnFailure::InvalidProducerEpoch,
            other => TxnFailure::Batch(other),
        };
        if self.state.can_transition_to(TxnState::AbortableError) {
            self.transition_to(TxnState::AbortableError, Some(failure));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pid(epoch: i16) -> ProducerIdAndEpoch {
        ProducerIdAndEpoch {
            producer_id: 7,
            epoch,
        }
    }

    /// A manager that found its coordinator and holds producer id 7, epoch 0.
    fn ready(v2: bool) -> TransactionManager {
        let mut tm = TransactionManager::new("orders", 60_000, v2);
        tm.initialize_transactions().unwrap();
        assert_eq!(tm.next_request(false), Some(TxnRequest::FindCoordinator));
        assert_eq!(tm.on_find_coordinator(Some(2)), ResponseAction::Done);
        assert_eq!(
            tm.next_request(false),
            Some(TxnRequest::InitProducerId { bump_from: None })
        );
        assert_eq!(
            tm.on_init_producer_id(TxnError::None, pid(0)),
            ResponseAction::Done
        );
        assert_eq!(tm.state(), TxnState::Ready);
        tm
    }

    #[test]
    fn the_transition_table_is_kafkas() {
        use TxnState::*;
        let allowed: &[(TxnState, &[TxnState])] = &[
            (Uninitialized, &[Ready, AbortableError]),
            (Initializing, &[Uninitialized, AbortingTransaction]),
            (
                Ready,
                &[Initializing, CommittingTransaction, AbortingTransaction],
            ),
            (InTransaction, &[Ready]),
            (CommittingTransaction, &[InTransaction]),
            (AbortingTransaction, &[InTransaction, AbortableError]),
            (
                AbortableError,
                &[
                    InTransaction,
                    CommittingTransaction,
                    AbortableError,
                    Initializing,
                ],
            ),
            (FatalError, &TxnState::ALL),
        ];
        for &(target, sources) in allowed {
            for source in TxnState::ALL {
                assert_eq!(
                    source.can_transition_to(target),
                    sources.contains(&source),
                    "{} -> {}",
                    source.name(),
                    target.name()
                );
            }
        }
    }

    #[test]
    fn a_commit_adds_partitions_first_and_waits_for_the_flush() {
        let mut tm = ready(true);
        tm.begin_transaction().unwrap();
        tm.maybe_add_partition(PartitionId(1)).unwrap();
        tm.maybe_add_partition(PartitionId(0)).unwrap();
        tm.maybe_add_partition(PartitionId(1)).unwrap();
        assert!(!tm.is_send_to_partition_allowed(PartitionId(0)));
        let add = tm.next_request(true);
        assert_eq!(
            add,
            Some(TxnRequest::AddPartitions {
                partitions: vec![PartitionId(0), PartitionId(1)]
            })
        );
        // One transactional request at a time.
        assert_eq!(tm.next_request(true), None);
        assert_eq!(tm.on_add_partitions(TxnError::None), ResponseAction::Done);
        assert!(tm.is_send_to_partition_allowed(PartitionId(0)));
        assert!(!tm.is_send_to_partition_allowed(PartitionId(2)));
        tm.begin_commit().unwrap();
        assert_eq!(tm.state(), TxnState::CommittingTransaction);
        // EndTxn waits while batches are incomplete.
        assert_eq!(tm.next_request(true), None);
        assert_eq!(
            tm.next_request(false),
            Some(TxnRequest::EndTxn { commit: true })
        );
        // Transaction version 2: the coordinator bumped the epoch.
        assert_eq!(
            tm.on_end_txn(TxnError::None, Some(pid(1))),
            ResponseAction::Done
        );
        assert_eq!(tm.state(), TxnState::Ready);
        assert_eq!(tm.producer_id_and_epoch(), pid(1));
        assert!(tm.partitions_in_transaction().is_empty());
    }

    #[test]
    fn transaction_version_1_keeps_the_epoch_across_transactions() {
        let mut tm = ready(false);
        tm.begin_transaction().unwrap();
        tm.maybe_add_partition(PartitionId(0)).unwrap();
        tm.next_request(false).unwrap();
        tm.on_add_partitions(TxnError::None);
        tm.begin_commit().unwrap();
        tm.next_request(false).unwrap();
        tm.on_end_txn(TxnError::None, Some(pid(5)));
        assert_eq!(tm.producer_id_and_epoch(), pid(0));
    }

    #[test]
    fn a_transaction_that_added_nothing_ends_without_a_request() {
        let mut tm = ready(true);
        tm.begin_transaction().unwrap();
        tm.begin_commit().unwrap();
        assert_eq!(tm.next_request(false), None);
        assert_eq!(tm.state(), TxnState::Ready);
    }

    #[test]
    fn a_fenced_producer_is_fatal_and_refuses_everything_after() {
        let mut tm = ready(true);
        tm.begin_transaction().unwrap();
        tm.maybe_add_partition(PartitionId(0)).unwrap();
        tm.next_request(false).unwrap();
        assert_eq!(
            tm.on_add_partitions(TxnError::ProducerFenced),
            ResponseAction::Failed(TxnState::FatalError)
        );
        assert_eq!(tm.last_error(), Some(TxnFailure::ProducerFenced));
        assert_eq!(
            tm.begin_commit(),
            Err(TxnUsageError::InErrorState(TxnFailure::ProducerFenced))
        );
        assert_eq!(
            tm.begin_abort(),
            Err(TxnUsageError::InErrorState(TxnFailure::ProducerFenced))
        );
        assert!(!tm.is_send_to_partition_allowed(PartitionId(0)));
        assert_eq!(tm.next_request(false), None);
    }

    #[test]
    fn old_coordinators_invalid_producer_epoch_counts_as_fenced() {
        let mut tm = ready(false);
        tm.begin_transaction().unwrap();
        tm.maybe_add_partition(PartitionId(0)).unwrap();
        tm.next_request(false).unwrap();
        tm.on_add_partitions(TxnError::None);
        tm.begin_commit().unwrap();
        tm.next_request(false).unwrap();
        assert_eq!(
            tm.on_end_txn(TxnError::InvalidProducerEpoch, None),
            ResponseAction::Failed(TxnState::FatalError)
        );
        assert_eq!(tm.last_error(), Some(TxnFailure::ProducerFenced));
    }

    #[test]
    fn a_failed_batch_makes_the_transaction_abortable_and_abort_fails_the_rest() {
        let mut tm = ready(false);
        tm.begin_transaction().unwrap();
        tm.maybe_add_partition(PartitionId(0)).unwrap();
        tm.next_request(false).unwrap();
        tm.on_add_partitions(TxnError::None);
        tm.on_batch_failed(ProduceError::InvalidProducerEpoch);
        assert_eq!(tm.state(), TxnState::AbortableError);
        assert_eq!(
            tm.should_abort_undrained(),
            Some(TxnFailure::InvalidProducerEpoch)
        );
        // commitTransaction rethrows; abortTransaction is allowed.
        assert_eq!(
            tm.begin_commit(),
            Err(TxnUsageError::InErrorState(
                TxnFailure::InvalidProducerEpoch
            ))
        );
        tm.begin_abort().unwrap();
        assert_eq!(
            tm.should_abort_undrained(),
            Some(TxnFailure::TransactionAborted)
        );
        assert_eq!(
            tm.next_request(false),
            Some(TxnRequest::EndTxn { commit: false })
        );
        tm.on_end_txn(TxnError::None, None);
        // An epoch bump is owed (transaction version 1): InitProducerId with the old epoch.
        assert_eq!(tm.state(), TxnState::Initializing);
        assert_eq!(
            tm.next_request(false),
            Some(TxnRequest::InitProducerId {
                bump_from: Some(pid(0))
            })
        );
        tm.on_init_producer_id(TxnError::None, pid(1));
        assert_eq!(tm.state(), TxnState::Ready);
        tm.begin_transaction().unwrap();
    }

    #[test]
    fn coordinator_moves_are_followed_and_busy_coordinators_retried() {
        let mut tm = ready(true);
        tm.begin_transaction().unwrap();
        tm.maybe_add_partition(PartitionId(3)).unwrap();
        tm.next_request(false).unwrap();
        assert_eq!(
            tm.on_add_partitions(TxnError::NotCoordinator),
            ResponseAction::FindCoordinatorThenRetry
        );
        assert_eq!(tm.coordinator(), None);
        assert_eq!(tm.next_request(false), Some(TxnRequest::FindCoordinator));
        tm.on_find_coordinator(Some(0));
        let again = tm.next_request(false);
        assert_eq!(
            again,
            Some(TxnRequest::AddPartitions {
                partitions: vec![PartitionId(3)]
            })
        );
        assert_eq!(
            tm.on_add_partitions(TxnError::ConcurrentTransactions),
            ResponseAction::Retry
        );
        assert!(tm.next_request(false).is_some());
        tm.on_request_lost();
        assert_eq!(tm.next_request(false), Some(TxnRequest::FindCoordinator));
    }

    #[test]
    fn calls_out_of_order_are_refused_as_kafka_refuses_them() {
        let mut tm = TransactionManager::new("t", 60_000, true);
        assert_eq!(
            tm.begin_transaction(),
            Err(TxnUsageError::InvalidTransition {
                from: TxnState::Uninitialized,
                to: TxnState::InTransaction
            })
        );
        let mut tm = ready(true);
        assert!(tm.maybe_add_partition(PartitionId(0)).is_err());
        assert!(tm.begin_commit().is_err());
        tm.begin_transaction().unwrap();
        assert!(tm.begin_transaction().is_err());
    }

    #[test]
    fn an_invalid_timeout_is_fatal_at_init() {
        let mut tm = TransactionManager::new("t", 1_000_000, true);
        tm.initialize_transactions().unwrap();
        tm.next_request(false);
        tm.on_find_coordinator(Some(0));
        tm.next_request(false);
        assert_eq!(
            tm.on_init_producer_id(
                TxnError::InvalidTransactionTimeout,
                ProducerIdAndEpoch::NONE
            ),
            ResponseAction::Failed(TxnState::FatalError)
        );
        assert_eq!(tm.last_error(), Some(TxnFailure::InvalidTxnTimeout));
    }
}
