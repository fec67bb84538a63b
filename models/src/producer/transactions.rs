//! The transactional producer's I/O around the core's `TransactionManager`: the application's
//! `initTransactions` / `beginTransaction` / `commitTransaction` / `abortTransaction` calls at
//! the workload's commit interval, the sender's transactional requests to the coordinator, and
//! what the application knows of each transaction for the checker.
//!
//! ```text
//!  app start ─► initTransactions (blocks) ─► READY ─► beginTransaction ─► sends
//!  send(): after the append, maybeAddPartition(partition)
//!  commit due (records or ms) ─► commitTransaction: flush, EndTxn (blocks) ─► READY ─► begin …
//!  an abortable error ─► abortTransaction: unsent batches fail, EndTxn(abort) ─► READY ─► begin …
//!  a fatal error (fenced) ─► the application closes the producer: nothing more is sent
//!  sender pass: abort undrained batches if aborting │ next transactional request, one at a time,
//!               to the coordinator (FindCoordinator to the least-loaded node), after
//!               retry.backoff.ms when the last one is to be retried
//! ```
//!
//! Fidelity: `KafkaProducer.initTransactions`/`beginTransaction`/`commitTransaction`/
//! `abortTransaction` (each blocks the calling thread until its result, `commitTransaction`
//! flushes first) and `doSend` (`maybeAddPartition` after the append);
//! `Sender.maybeSendAndPollTransactionalRequest` (abort undrained batches while aborting,
//! one transactional request in flight, the coordinator as target, a request whose node is
//! not ready is retried; `retry.backoff.ms` before a retried request). The application's
//! reaction to errors is the one Kafka's documentation gives for the transactional loop:
//! `abortTransaction` on a `KafkaException`, `close` on `ProducerFencedException` and the other
//! fatal errors. Simplified: the application's `commitTransaction` does not time out
//! (`max.block.ms`).

use std::collections::BTreeSet;

use sim::Ctx;

use super::Producer;
use super::app::AppState;
use super::client::{InFlightRequest, RequestKind};
use super::workload::CommitPlan;
use crate::batching::transactions::{
    ResponseAction, TransactionManager, TxnError, TxnRequest, TxnState,
};
use crate::batching::{PartitionId, ProduceError, ProducerIdAndEpoch};
use crate::network::Network;
use crate::protocol::{
    BrokerId, Message, Node, PartitionId as WirePartition, ProducerId, TxnWireRequest,
    TxnWireResponse,
};
use crate::world::Event;

/// How a transaction of the application ended, as the application was told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxnOutcome {
    /// `commitTransaction` returned.
    Committed,
    /// `abortTransaction` returned, or the producer was fenced or failed fatally in it.
    Aborted,
    /// Still open when the run ended.
    Open,
}

/// One transaction of the application: the records sent in it, by id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxnRange {
    /// The first record's id.
    pub first: u64,
    /// One past the last record's id.
    pub end: u64,
    /// How it ended.
    pub outcome: TxnOutcome,
}

/// The application call the main thread is blocked in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Call {
    None,
    Init,
    Commit,
    Abort,
}

/// The transactional producer's state beside the core's `TransactionManager`.
pub(crate) struct TxnProducer {
    pub(crate) tm: TransactionManager,
    commit: CommitPlan,
    /// The application's transactions, in order; the last one may be open.
    pub(crate) ranges: Vec<TxnRange>,
    call: Call,
    /// `commitTransaction` began a flush that its end must end.
    flushing: bool,
    /// A retried request waits until then.
    next_try_ns: u64,
    retry_backoff_ns: u64,
    /// The producer id and epoch the accumulator stamps batches with.
    installed: ProducerIdAndEpoch,
    /// The partitions the accumulator may drain.
    allowed: BTreeSet<PartitionId>,
    /// When the current transaction began (ns).
    began_ns: u64,
    pub(crate) commits: u64,
    pub(crate) aborts: u64,
    pub(crate) fenced: bool,
}

impl TxnProducer {
    pub(crate) fn new(
        (transactional_id, timeout_ms): (&str, i32),
        commit: CommitPlan,
        retry_backoff_ns: u64,
    ) -> Self {
        TxnProducer {
            tm: TransactionManager::new(transactional_id, timeout_ms, true),
            commit,
            ranges: Vec::new(),
            call: Call::None,
            flushing: false,
            next_try_ns: 0,
            retry_backoff_ns,
            installed: ProducerIdAndEpoch::NONE,
            allowed: BTreeSet::new(),
            began_ns: 0,
            commits: 0,
            aborts: 0,
            fenced: false,
        }
    }

    fn open_range(&mut self) -> Option<&mut TxnRange> {
        self.ranges
            .last_mut()
            .filter(|r| r.outcome == TxnOutcome::Open)
    }
}

fn wire_pid(p: ProducerIdAndEpoch) -> (ProducerId, i16) {
    (ProducerId(p.producer_id), p.epoch)
}

impl Producer {
    /// `initTransactions()` at the start of `main`: the thread blocks until READY.
    pub(super) fn txn_app_start(&mut self, ctx: &mut Ctx<'_, Event>) -> bool {
        let Some(txn) = &mut self.txn else {
            return false;
        };
        txn.tm
            .initialize_transactions()
            .expect("a new transaction manager can initialise");
        txn.call = Call::Init;
        self.app.state = AppState::InTxnCall;
        ctx.trace("app", "init_transactions", |e| e);
        true
    }

    /// Before a `send()`: commits when the interval is reached, aborts after an abortable
    /// error, stops after a fatal one. True when the thread now blocks (or stopped).
    /// `now` is the send's instant: when the application thread runs ahead of the event's
    /// time, a commit or abort due at a later send waits for its own `AppStep` at that instant.
    pub(super) fn txn_before_send(
        &mut self,
        ctx: &mut Ctx<'_, Event>,
        net: &mut Network,
        now: u64,
    ) -> bool {
        let running_ahead = now > ctx.now().as_nanos();
        let Some(txn) = &mut self.txn else {
            return false;
        };
        if running_ahead
            && matches!(
                txn.tm.state(),
                TxnState::AbortableError | TxnState::FatalError
            )
        {
            self.app_resume(ctx, now);
            return true;
        }
        match txn.tm.state() {
            TxnState::AbortableError => {
                self.txn_begin_abort(ctx, net);
                return true;
            }
            TxnState::FatalError => {
                self.txn_fatal(ctx);
                return true;
            }
            _ => {}
        }
        let in_txn = txn.open_range().map_or(0, |r| self.records.len() - r.first);
        let by_records = txn.commit.records.is_some_and(|n| in_txn >= n);
        let by_time = txn
            .commit
            .interval_ns
            .is_some_and(|ns| now.saturating_sub(txn.began_ns) >= ns && in_txn > 0);
        if (by_records || by_time) && running_ahead {
            self.app_resume(ctx, now);
            return true;
        }
        if by_records || by_time {
            self.txn_begin_commit(ctx, net);
            return true;
        }
        false
    }

    /// `commitTransaction()`: every partition becomes sendable (the flush), EndTxn follows
    /// once every batch is complete; the thread blocks.
    fn txn_begin_commit(&mut self, ctx: &mut Ctx<'_, Event>, net: &mut Network) {
        let txn = self.txn.as_mut().expect("transactional");
        match txn.tm.begin_commit() {
            Ok(()) => {
                txn.call = Call::Commit;
                if !txn.flushing {
                    txn.flushing = true;
                    let _ = self.acc.begin_flush();
                }
                self.app.state = AppState::InTxnCall;
                ctx.trace("app", "commit_transaction", |e| e);
                self.run_once(ctx, net);
            }
            Err(_) => self.txn_begin_abort(ctx, net),
        }
    }

    /// `abortTransaction()`, after the application caught a `KafkaException`.
    fn txn_begin_abort(&mut self, ctx: &mut Ctx<'_, Event>, net: &mut Network) {
        let txn = self.txn.as_mut().expect("transactional");
        match txn.tm.begin_abort() {
            Ok(()) => {
                txn.call = Call::Abort;
                self.app.state = AppState::InTxnCall;
                let error = txn.tm.last_error().map_or("none", |e| e.exception_name());
                ctx.trace("app", "abort_transaction", |e| e.with("after", error));
                self.run_once(ctx, net);
            }
            Err(_) => self.txn_fatal(ctx),
        }
    }

    /// A fatal error (fenced): the application closes the producer at once; whatever is
    /// left fails, and the open transaction stays open for the coordinator to abort.
    fn txn_fatal(&mut self, ctx: &mut Ctx<'_, Event>) {
        let txn = self.txn.as_mut().expect("transactional");
        if let Some(range) = txn.open_range() {
            range.end = self.records.len();
            range.outcome = TxnOutcome::Aborted;
        }
        txn.fenced =
            txn.tm.last_error() == Some(crate::batching::transactions::TxnFailure::ProducerFenced);
        let error = txn.tm.last_error().map_or("none", |e| e.exception_name());
        ctx.trace("app", "close_after_fatal", |e| e.with("error", error));
        txn.call = Call::None;
        self.app.state = AppState::Stopped;
        let now = ctx.now().as_nanos();
        for batch in self.acc.abort_incomplete_batches(now) {
            self.finish_batch(ctx, &batch);
        }
        self.app.gone = true;
    }

    /// After a successful append: `maybeAddPartition`.
    pub(super) fn txn_on_appended(
        &mut self,
        ctx: &mut Ctx<'_, Event>,
        partition: PartitionId,
        now: u64,
    ) {
        let Some(txn) = &mut self.txn else {
            return;
        };
        if txn.tm.maybe_add_partition(partition).is_ok() && !txn.allowed.contains(&partition) {
            self.wake_sender_at(ctx, now);
        }
    }

    /// The application stops sending: an open transaction is committed.
    pub(super) fn txn_on_stop(&mut self, ctx: &mut Ctx<'_, Event>, net: &mut Network) {
        let Some(txn) = &mut self.txn else {
            return;
        };
        if txn.call == Call::None
            && matches!(self.app.state, AppState::Stopped | AppState::Scheduled)
        {
            match txn.tm.state() {
                TxnState::InTransaction => self.txn_begin_commit(ctx, net),
                TxnState::AbortableError => self.txn_begin_abort(ctx, net),
                _ => {}
            }
        }
    }

    /// The sender's transactional step (`maybeSendAndPollTransactionalRequest`).
    pub(super) fn txn_sender_step(
        &mut self,
        ctx: &mut Ctx<'_, Event>,
        net: &mut Network,
        now: u64,
    ) {
        let Some(txn) = &mut self.txn else {
            return;
        };
        if txn.tm.has_in_flight_request() {
            return;
        }
        if txn.tm.should_abort_undrained().is_some() && self.acc.has_incomplete() {
            for batch in self
                .acc
                .abort_undrained_batches(now, ProduceError::TransactionAborted)
            {
                self.finish_batch(ctx, &batch);
            }
        }
        let Some(txn) = &mut self.txn else {
            return;
        };
        if now < txn.next_try_ns {
            return;
        }
        let has_incomplete = self.acc.has_incomplete();
        let Some(request) = txn.tm.next_request(has_incomplete) else {
            self.txn_sync(ctx, net);
            return;
        };
        let txn = self.txn.as_mut().expect("transactional");
        let target = match request {
            TxnRequest::FindCoordinator => self.conns.least_loaded(now),
            _ => txn.tm.coordinator(),
        };
        let Some(node) = target else {
            txn.tm.requeue_unsent();
            return;
        };
        if !self.node_ready_for_txn(ctx, net, node, now) {
            self.txn
                .as_mut()
                .expect("transactional")
                .tm
                .requeue_unsent();
            return;
        }
        let txn = self.txn.as_mut().expect("transactional");
        let transactional_id = txn.tm.transactional_id().to_owned();
        let producer = wire_pid(txn.tm.producer_id_and_epoch());
        let wire = match &request {
            TxnRequest::FindCoordinator => TxnWireRequest::FindCoordinator { transactional_id },
            TxnRequest::InitProducerId { bump_from } => TxnWireRequest::InitProducerId {
                transactional_id,
                timeout_ms: txn.tm.transaction_timeout_ms(),
                bump_from: bump_from.map(wire_pid),
            },
            TxnRequest::AddPartitions { partitions } => TxnWireRequest::AddPartitions {
                transactional_id,
                producer,
                partitions: partitions.iter().map(|p| WirePartition(p.0)).collect(),
            },
            TxnRequest::EndTxn { commit } => TxnWireRequest::EndTxn {
                transactional_id,
                producer,
                commit: *commit,
            },
        };
        self.next_correlation_id += 1;
        let correlation_id = self.next_correlation_id;
        ctx.trace("producer", "txn_request", |e| {
            e.with("corr", correlation_id)
                .with("node", node)
                .with("api", request.api_name())
        });
        net.send(
            ctx,
            Node::Client,
            Node::Broker(BrokerId(node)),
            Message::TxnRequest {
                correlation_id,
                request: wire,
            },
        );
        self.conns.push(
            node,
            InFlightRequest {
                correlation_id,
                sent_at_ns: now,
                kind: RequestKind::Transactional,
            },
        );
        self.txn_sync(ctx, net);
    }

    /// A transactional response.
    pub(super) fn on_txn_response(
        &mut self,
        ctx: &mut Ctx<'_, Event>,
        net: &mut Network,
        (from, correlation_id): (BrokerId, u64),
        response: TxnWireResponse,
    ) {
        if self.conns.take(from.0, correlation_id).is_none() {
            return;
        }
        let Some(txn) = &mut self.txn else {
            return;
        };
        let (action, error) = match response {
            TxnWireResponse::FindCoordinator { coordinator } => (
                txn.tm.on_find_coordinator(coordinator.map(|b| b.0)),
                TxnError::None,
            ),
            TxnWireResponse::InitProducerId { error, producer } => (
                txn.tm.on_init_producer_id(
                    error,
                    ProducerIdAndEpoch {
                        producer_id: producer.0.0,
                        epoch: producer.1,
                    },
                ),
                error,
            ),
            TxnWireResponse::AddPartitions { error } => (txn.tm.on_add_partitions(error), error),
            TxnWireResponse::EndTxn { error, producer } => (
                txn.tm.on_end_txn(
                    error,
                    (error == TxnError::None).then_some(ProducerIdAndEpoch {
                        producer_id: producer.0.0,
                        epoch: producer.1,
                    }),
                ),
                error,
            ),
        };
        ctx.trace("producer", "txn_response", |e| {
            e.with("corr", correlation_id)
                .with("error", error.name())
                .with("state", txn.tm.state().name())
        });
        if matches!(
            action,
            ResponseAction::Retry | ResponseAction::FindCoordinatorThenRetry
        ) {
            txn.next_try_ns = ctx.now().as_nanos() + txn.retry_backoff_ns;
        }
        self.txn_sync(ctx, net);
    }

    /// A transactional request was lost with its connection.
    pub(super) fn on_txn_request_lost(&mut self) {
        if let Some(txn) = &mut self.txn {
            txn.tm.on_request_lost();
        }
    }

    /// When the sender should look again for a retried transactional request.
    pub(super) fn txn_next_try_ns(&self) -> Option<u64> {
        self.txn
            .as_ref()
            .filter(|t| !t.tm.has_in_flight_request())
            .map(|t| t.next_try_ns)
    }

    /// Applies what the manager decided to the accumulator and to the blocked application.
    fn txn_sync(&mut self, ctx: &mut Ctx<'_, Event>, net: &mut Network) {
        let now = ctx.now().as_nanos();
        let Some(txn) = &mut self.txn else {
            return;
        };
        let pid = txn.tm.producer_id_and_epoch();
        if pid != txn.installed {
            txn.installed = pid;
            self.acc.set_transactional_producer(pid);
        }
        if *txn.tm.partitions_in_transaction() != txn.allowed {
            txn.allowed = txn.tm.partitions_in_transaction().clone();
            self.acc.set_transaction_partitions(txn.allowed.clone());
            self.sender_settled = false;
        }
        let txn = self.txn.as_mut().expect("transactional");
        match (txn.call, txn.tm.state()) {
            (Call::Init | Call::Commit | Call::Abort, TxnState::Ready) => {
                let call = txn.call;
                txn.call = Call::None;
                if call != Call::Init {
                    self.txn_end_flush();
                    let txn = self.txn.as_mut().expect("transactional");
                    let outcome = if call == Call::Commit {
                        txn.commits += 1;
                        TxnOutcome::Committed
                    } else {
                        txn.aborts += 1;
                        TxnOutcome::Aborted
                    };
                    if let Some(range) = txn.open_range() {
                        range.end = self.records.len();
                        range.outcome = outcome;
                    }
                    let name = if call == Call::Commit {
                        "committed"
                    } else {
                        "aborted"
                    };
                    ctx.trace("app", "transaction_done", |e| e.with("outcome", name));
                }
                self.txn_begin(ctx, now);
            }
            (Call::Commit, TxnState::AbortableError) => {
                // commitTransaction threw: the application aborts.
                txn.call = Call::None;
                self.txn_end_flush();
                self.txn_begin_abort(ctx, net);
            }
            (Call::Init | Call::Commit | Call::Abort, TxnState::FatalError) => {
                self.txn_end_flush();
                self.txn_fatal(ctx);
            }
            _ => {}
        }
    }

    fn txn_end_flush(&mut self) {
        let txn = self.txn.as_mut().expect("transactional");
        if txn.flushing {
            txn.flushing = false;
            self.acc.end_flush();
        }
    }

    /// `beginTransaction()` and back to sending (or the end of `main` after the last commit).
    fn txn_begin(&mut self, ctx: &mut Ctx<'_, Event>, now: u64) {
        let stopping = self.app_is_stopping();
        let txn = self.txn.as_mut().expect("transactional");
        if stopping {
            self.app.state = AppState::Stopped;
            self.app_main_done(ctx);
            return;
        }
        txn.tm
            .begin_transaction()
            .expect("READY allows beginTransaction");
        txn.began_ns = now;
        txn.ranges.push(TxnRange {
            first: self.records.len(),
            end: self.records.len(),
            outcome: TxnOutcome::Open,
        });
        self.app_resume(ctx, now);
    }

    /// The application's transactions as the run ends (an open one is closed at the last
    /// record sent).
    pub(crate) fn txn_ranges(&self) -> Option<Vec<TxnRange>> {
        let txn = self.txn.as_ref()?;
        let mut ranges = txn.ranges.clone();
        if let Some(last) = ranges.last_mut()
            && last.outcome == TxnOutcome::Open
        {
            last.end = self.records.len();
        }
        ranges.retain(|r| r.end > r.first);
        Some(ranges)
    }

    fn node_ready_for_txn(
        &mut self,
        ctx: &mut Ctx<'_, Event>,
        net: &mut Network,
        node: u32,
        now: u64,
    ) -> bool {
        self.node_ready(ctx, net, node, now)
    }
}
