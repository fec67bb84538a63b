//! The brokers' side of transactions: which broker coordinates a transactional id, the
//! handlers of FindCoordinator, InitProducerId, AddPartitionsToTxn and EndTxn (decisions in
//! `txn_coordinator`), the transaction markers written into the partition leaders' logs, and the
//! periodic abort of transactions past `transaction.timeout.ms`.
//!
//! ```text
//!  TxnRequest ─► not the coordinator of the id → NOT_COORDINATOR
//!             ─► TxnCoordinator decision ─► TxnResponse (EndTxn answered once PrepareX is decided)
//!                                        └► MarkerJob ─► a COMMIT/ABORT control batch at each
//!                                           partition's leader (a partition without a leader is
//!                                           retried every 100 ms) ─► CompleteCommit/CompleteAbort
//!  TxnTimeoutCheck every transaction.abort.timed.out.transaction.cleanup.interval.ms (10 s)
//! ```
//!
//! Fidelity: the coordinator of a transactional id is the leader of its `__transaction_state`
//! partition (`TransactionStateManager.partitionFor`, 50 partitions); `KafkaApis.handleFindCoordinatorRequest`,
//! `handleInitProducerIdRequest`, `handleAddPartitionsToTxnRequest`, `handleEndTxnRequest`;
//! `TransactionMarkerChannelManager` sends WriteTxnMarkers to each partition's leader and
//! completes the transaction when every marker is written; a marker updates the partition's
//! producer state with its epoch (`ProducerAppendInfo.appendEndTxnMarker`), which is what fences
//! a zombie's later batches with INVALID_PRODUCER_EPOCH; `TransactionCoordinator.startup`
//! schedules `abortTimedOutTransactions` every 10 s by default.
//!
//! Simplified: `__transaction_state` is not a partition of its own. Its replicas are those Kafka's
//! round-robin assignment gives its partition (with the topic's replication factor), and the
//! coordinator is the first of them that is alive and not fenced; the transaction log is taken
//! as fully replicated (acks=all, as Kafka writes it), so a coordinator crash moves the state
//! to the next replica intact and at once, without Kafka's load of the log by the new leader.
//! WriteTxnMarkers take no network time: a marker is appended to the leader's log when the
//! coordinator decides, and the transaction completes once every marker is in a leader's log
//! (Kafka waits for the markers' acks=all). Effect: a commit becomes visible to read_committed
//! one coordinator-to-leader round trip and one replication round early; the checker judges
//! from the final logs, so the outcome classes are not affected.

use std::rc::Rc;

use sim::{Ctx, Duration};

use super::log::{BatchKind, BatchRecords, LogBatch};
use super::txn_coordinator::{
    InitOutcome, MarkerJob, TRANSACTION_STATE_PARTITIONS, TxnCoordinator, partition_for,
};
use super::{Cluster, ClusterEvent, Role, assign_replicas, trace_broker};
use crate::batching::transactions::TxnError;
use crate::network::{NetEvent, Network};
use crate::protocol::{
    BrokerId, Message, Node, PartitionId, ProducerId, TxnWireRequest, TxnWireResponse,
};

/// `transaction.abort.timed.out.transaction.cleanup.interval.ms` (default 10 s).
const TIMEOUT_CHECK_INTERVAL: Duration = Duration::from_millis(10_000);

/// How long a marker waits before it is retried on a partition without a leader.
const MARKER_RETRY: Duration = Duration::from_millis(100);

/// Size of a control batch (record batch header plus one control record).
const MARKER_BYTES: u32 = 78;

/// The brokers' transaction state.
#[derive(Clone, Debug, Default)]
pub(crate) struct TxnBrokers {
    /// The coordinator's decisions and every transactional id's metadata.
    pub(crate) coordinator: TxnCoordinator,
    /// Marker jobs with partitions still to write, oldest first.
    pending_markers: Vec<MarkerJob>,
    /// Whether the timeout check is scheduled.
    timeout_check_armed: bool,
    /// Whether a marker retry is scheduled.
    marker_retry_armed: bool,
    /// Markers written, for the run's metrics (commit, abort).
    pub(crate) markers_written: (u64, u64),
}

impl TxnBrokers {
    /// Brokers that refuse timeouts above `max_timeout_ms`.
    pub(crate) fn new(max_timeout_ms: i32) -> Self {
        TxnBrokers {
            coordinator: TxnCoordinator::new(max_timeout_ms, true),
            ..TxnBrokers::default()
        }
    }
}

impl Cluster {
    /// Each partition's read_committed and read_uncommitted views of its final log (the
    /// replica the checker reads, below its high watermark).
    pub fn transaction_views(&self) -> Vec<crate::txn_checker::PartitionViews> {
        (0..self.params.partition_count)
            .map(|p| {
                self.final_source(PartitionId(p))
                    .map(|(replica, hw)| {
                        crate::txn_checker::partition_views(replica.log.entries(), hw)
                    })
                    .unwrap_or_default()
            })
            .collect()
    }

    /// The coordinator of `transactional_id`: the first live, unfenced replica of its
    /// `__transaction_state` partition.
    pub fn txn_coordinator_for(&self, transactional_id: &str) -> Option<BrokerId> {
        let p = partition_for(transactional_id, TRANSACTION_STATE_PARTITIONS);
        let replicas = assign_replicas(
            self.params.broker_count,
            p + 1,
            self.params.replication_factor,
        )
        .swap_remove(p as usize);
        replicas
            .into_iter()
            .find(|&b| self.is_alive(b) && !self.is_fenced(b))
    }

    /// Handles a transactional request on broker `b` and answers it.
    pub(crate) fn handle_txn_request<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
        (b, from, connection): (BrokerId, Node, u32),
        (correlation_id, request): (u64, TxnWireRequest),
    ) {
        let now_ms = i64::try_from(ctx.now().as_nanos() / 1_000_000).unwrap_or(i64::MAX);
        let id = match &request {
            TxnWireRequest::FindCoordinator { transactional_id }
            | TxnWireRequest::InitProducerId {
                transactional_id, ..
            }
            | TxnWireRequest::AddPartitions {
                transactional_id, ..
            }
            | TxnWireRequest::EndTxn {
                transactional_id, ..
            } => transactional_id.clone(),
        };
        let is_coordinator = self.txn_coordinator_for(&id) == Some(b);
        let mut markers = None;
        let response = match request {
            TxnWireRequest::FindCoordinator { .. } => TxnWireResponse::FindCoordinator {
                coordinator: self.txn_coordinator_for(&id),
            },
            TxnWireRequest::InitProducerId { .. }
            | TxnWireRequest::AddPartitions { .. }
            | TxnWireRequest::EndTxn { .. }
                if !is_coordinator =>
            {
                not_coordinator(&request)
            }
            TxnWireRequest::InitProducerId {
                timeout_ms,
                bump_from,
                ..
            } => {
                let next_id = &mut self.next_producer_id;
                let outcome = self.txn.coordinator.init_producer_id(
                    &id,
                    timeout_ms,
                    bump_from.map(|(p, e)| (p.0, e)),
                    || {
                        let pid = *next_id;
                        *next_id += 1;
                        pid
                    },
                );
                match outcome {
                    InitOutcome::Assigned {
                        producer_id,
                        producer_epoch,
                    } => TxnWireResponse::InitProducerId {
                        error: TxnError::None,
                        producer: (ProducerId(producer_id), producer_epoch),
                    },
                    InitOutcome::Error(error) => TxnWireResponse::InitProducerId {
                        error,
                        producer: (ProducerId::NONE, -1),
                    },
                    InitOutcome::FencedOngoing(job) => {
                        trace_broker(ctx, b, "txn_fence", |e| {
                            e.with("txn_id", job.transactional_id.as_str())
                                .with("pid", job.producer_id)
                                .with("epoch", i64::from(job.producer_epoch))
                        });
                        markers = Some(job);
                        TxnWireResponse::InitProducerId {
                            error: TxnError::ConcurrentTransactions,
                            producer: (ProducerId::NONE, -1),
                        }
                    }
                }
            }
            TxnWireRequest::AddPartitions {
                producer,
                partitions,
                ..
            } => {
                let parts: Vec<u32> = partitions.iter().map(|p| p.0).collect();
                let error = self.txn.coordinator.add_partitions(
                    &id,
                    (producer.0.0, producer.1),
                    &parts,
                    now_ms,
                );
                if error == TxnError::None {
                    self.arm_txn_timeout_check(ctx);
                }
                TxnWireResponse::AddPartitions { error }
            }
            TxnWireRequest::EndTxn {
                producer, commit, ..
            } => match self
                .txn
                .coordinator
                .end_txn(&id, (producer.0.0, producer.1), commit)
            {
                Ok(((pid, epoch), job)) => {
                    markers = job;
                    TxnWireResponse::EndTxn {
                        error: TxnError::None,
                        producer: (ProducerId(pid), epoch),
                    }
                }
                Err(error) => TxnWireResponse::EndTxn {
                    error,
                    producer: (ProducerId::NONE, -1),
                },
            },
        };
        trace_broker(ctx, b, "txn_request", |e| {
            e.with("corr", correlation_id)
                .with("error", txn_error_of(&response).name())
        });
        net.send_on(
            ctx,
            Node::Broker(b),
            from,
            connection,
            Message::TxnResponse {
                correlation_id,
                response,
            },
        );
        self.unmute_client(ctx, net, (b, from, connection));
        if let Some(job) = markers {
            self.start_markers(ctx, net, job);
        }
    }

    fn arm_txn_timeout_check<E: From<ClusterEvent>>(&mut self, ctx: &mut Ctx<'_, E>) {
        if !self.txn.timeout_check_armed {
            self.txn.timeout_check_armed = true;
            ctx.schedule_after(
                TIMEOUT_CHECK_INTERVAL,
                E::from(ClusterEvent::TxnTimeoutCheck),
            );
        }
    }

    /// `abortTimedOutTransactions`: every transaction open past its timeout is fenced and
    /// aborted; the check repeats while a transaction is open.
    pub(crate) fn on_txn_timeout_check<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
    ) {
        self.txn.timeout_check_armed = false;
        let now_ms = i64::try_from(ctx.now().as_nanos() / 1_000_000).unwrap_or(i64::MAX);
        let jobs = self.txn.coordinator.abort_timed_out(now_ms);
        for job in jobs {
            if let Some(b) = self.txn_coordinator_for(&job.transactional_id) {
                trace_broker(ctx, b, "txn_timeout", |e| {
                    e.with("txn_id", job.transactional_id.as_str())
                        .with("pid", job.producer_id)
                        .with("epoch", i64::from(job.producer_epoch))
                });
            }
            self.start_markers(ctx, net, job);
        }
        if self.txn.coordinator.next_timeout_ms().is_some() {
            self.arm_txn_timeout_check(ctx);
        }
    }

    fn start_markers<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
        job: MarkerJob,
    ) {
        self.txn.pending_markers.push(job);
        self.write_pending_markers(ctx, net);
    }

    /// Writes every pending marker whose partition has a live leader; completes the jobs that
    /// have none left; retries the rest later.
    pub(crate) fn write_pending_markers<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
    ) {
        self.txn.marker_retry_armed = false;
        let mut jobs = std::mem::take(&mut self.txn.pending_markers);
        for job in &mut jobs {
            let mut left = Vec::new();
            for &p in &job.partitions {
                if !self.append_marker(ctx, net, job, PartitionId(p)) {
                    left.push(p);
                }
            }
            job.partitions = left;
            if job.partitions.is_empty() {
                self.txn.coordinator.markers_written(&job.transactional_id);
                if let Some(b) = self.txn_coordinator_for(&job.transactional_id) {
                    trace_broker(ctx, b, "txn_complete", |e| {
                        e.with("txn_id", job.transactional_id.as_str())
                            .with("commit", job.commit)
                    });
                }
            }
        }
        jobs.retain(|j| !j.partitions.is_empty());
        self.txn.pending_markers = jobs;
        if !self.txn.pending_markers.is_empty() && !self.txn.marker_retry_armed {
            self.txn.marker_retry_armed = true;
            ctx.schedule_after(MARKER_RETRY, E::from(ClusterEvent::TxnMarkerRetry));
        }
    }

    /// Appends the job's marker to `p`'s leader; false when `p` has no live leader now.
    fn append_marker<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
        job: &MarkerJob,
        p: PartitionId,
    ) -> bool {
        let Some(leader) = self.partitions.get(p.0 as usize).and_then(|s| s.leader) else {
            return false;
        };
        if !self.is_alive(leader) {
            return false;
        }
        let Some(replica) = self.replica_mut(leader, p) else {
            return false;
        };
        let Role::Leader(state) = &replica.role else {
            return false;
        };
        let entry = Rc::new(LogBatch {
            base_offset: replica.log.leo(),
            leader_epoch: state.epoch,
            producer_id: ProducerId(job.producer_id),
            producer_epoch: job.producer_epoch,
            base_sequence: -1,
            last_sequence: -1,
            records: BatchRecords::of(&[]),
            size_bytes: MARKER_BYTES,
            kind: BatchKind::Marker { commit: job.commit },
        });
        replica.producers.record(&entry);
        replica.log.append(Rc::clone(&entry));
        if job.commit {
            self.txn.markers_written.0 += 1;
        } else {
            self.txn.markers_written.1 += 1;
        }
        trace_broker(ctx, leader, "txn_marker", |e| {
            e.with("partition", p.0)
                .with("offset", entry.base_offset)
                .with("pid", job.producer_id)
                .with("epoch", i64::from(job.producer_epoch))
                .with("commit", job.commit)
        });
        self.maybe_advance_hw(ctx, net, leader, p);
        self.wake_parked_fetches(ctx, net, leader, p);
        true
    }
}

fn not_coordinator(request: &TxnWireRequest) -> TxnWireResponse {
    let error = TxnError::NotCoordinator;
    let producer = (ProducerId::NONE, -1);
    match request {
        TxnWireRequest::InitProducerId { .. } => {
            TxnWireResponse::InitProducerId { error, producer }
        }
        TxnWireRequest::AddPartitions { .. } => TxnWireResponse::AddPartitions { error },
        TxnWireRequest::EndTxn { .. } | TxnWireRequest::FindCoordinator { .. } => {
            TxnWireResponse::EndTxn { error, producer }
        }
    }
}

fn txn_error_of(response: &TxnWireResponse) -> TxnError {
    match response {
        TxnWireResponse::FindCoordinator { coordinator } => {
            if coordinator.is_some() {
                TxnError::None
            } else {
                TxnError::CoordinatorNotAvailable
            }
        }
        TxnWireResponse::InitProducerId { error, .. }
        | TxnWireResponse::AddPartitions { error }
        | TxnWireResponse::EndTxn { error, .. } => *error,
    }
}
