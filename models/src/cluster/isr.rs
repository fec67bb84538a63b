//! ISR changes through the controller (AlterPartition) and Eligible Leader Replicas (KIP-966).
//!
//! ```text
//!   leader: shrink check / follower caught up ─► nothing in flight? ─► PendingShrink | PendingExpand
//!      │      (maximal ISR: committed ISR, plus the joining replica for an expand)
//!      └─ AlterPartition ── round trip / 2 ──► controller: heard? no ─► lost (resent on reconnect)
//!                                                  │ yes: leader epoch, leader, partition epoch,
//!                                                  │      eligible new members? else an error
//!                                                  ▼ apply: ISR, partition epoch + 1, ELR
//!   leader ◄── round trip / 2 ── answer: committed ISR (or the error) ─► HW, purgatory
//!   controller ISR change (AlterPartition, fence, shutdown): ISR < min ISR and ELR on ─►
//!      ELR = (ELR ∪ old ISR) − new ISR; ISR ≥ min ISR ─► ELR = ∅
//! ```
//!
//! Units: virtual time (integer ns); `alter_partition_round_trip_ms` in the config.
//!
//! State per partition on its leader (`Partition.scala` `PartitionState`):
//!
//! | state                 | maximal ISR (HW, acks=all)   | ISR checks            | leaves on             |
//! |-----------------------|------------------------------|-----------------------|-----------------------|
//! | committed (`None`)    | committed ISR                | may propose           | a proposal            |
//! | `Shrink`              | committed ISR (old members)  | none (one in flight)  | answer, metadata      |
//! | `Expand { replica }`  | committed ISR + `replica`    | none (one in flight)  | answer, metadata      |
//!
//! Fidelity (apache/kafka): the leader follows `Partition.maybeShrinkIsr` and `maybeExpandIsr`
//! (nothing is proposed while `isInflight`), `prepareIsrShrink` / `prepareIsrExpand` (the
//! maximal ISR of a pending shrink is the old ISR, of a pending expand the ISR plus the new
//! member), `submitAlterPartition` and `handleAlterPartitionUpdate` (the answer's ISR and
//! partition epoch become committed; a stale answer is ignored), and `handleAlterPartitionError`
//! (INELIGIBLE_REPLICA and OPERATION_NOT_ATTEMPTED reset to the committed state; FENCED_LEADER_EPOCH,
//! INVALID_UPDATE_VERSION and INVALID_REQUEST leave the change pending until new metadata).
//! `AlterPartitionManager` never times a request out and retries it until the controller
//! answers, so a leader the controller does not hear (fenced, isolated) keeps its change
//! pending: it cannot shrink, its high watermark waits on the old ISR and its acks=all requests
//! time out. The request is resent when the controller hears the broker again (instead of being
//! retried on a backoff). The controller follows `ReplicationControlManager.alterPartition` /
//! `validateAlterPartitionData` (FENCED_LEADER_EPOCH for an older leader epoch, INVALID_REQUEST
//! from a broker that is not the leader, INVALID_UPDATE_VERSION for an older partition epoch,
//! INELIGIBLE_REPLICA for a fenced or shutting-down new member) and bumps the partition epoch
//! on every change. ELR follows `PartitionChangeBuilder.maybePopulateTargetElr` (below min ISR
//! the ELR becomes the old ISR and ELR minus the new ISR; at or above min ISR it is cleared),
//! `electAnyLeader` / `isValidNewLeader` (ISR first, then ELR when the ISR is empty, then
//! unclean) and `maybeUpdateRecordElr` (an unclean election clears it);
//! `ReplicationControlManager.handleBrokerUncleanShutdown` drops a broker that crashed from
//! every ELR when it registers again. With ELR on the ISR may become empty when its last member
//! is fenced. Simplified: the round trip is one fixed duration (the controller is not a network
//! node), and the last-known-leader election of KIP-966's balanced recovery is not modelled
//! (`useLastKnownLeaderInBalancedRecovery` is off in the controller).

use sim::Ctx;

use super::{ClusterEvent, Role, broker_list, trace_broker};
use crate::cluster::Cluster;
use crate::network::{NetEvent, Network};
use crate::protocol::{BrokerId, LeaderEpoch, PartitionId};

/// The ISR change a leader has in flight (Kafka's `PendingShrinkIsr` / `PendingExpandIsr`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PendingIsr {
    /// Nothing in flight (`CommittedPartitionState`).
    None,
    /// Proposal `id` removes members; the maximal ISR is still the committed one.
    Shrink {
        /// The proposal's id.
        id: u64,
        /// The proposed ISR.
        proposed: Vec<BrokerId>,
        /// Whether the request reached the controller (else it is resent on reconnect).
        delivered: bool,
    },
    /// Proposal `id` adds `replica`, which the maximal ISR already counts.
    Expand {
        /// The proposal's id.
        id: u64,
        /// The joining replica.
        replica: BrokerId,
        /// The proposed ISR.
        proposed: Vec<BrokerId>,
        /// Whether the request reached the controller (else it is resent on reconnect).
        delivered: bool,
    },
}

impl PendingIsr {
    fn id(&self) -> Option<u64> {
        match self {
            PendingIsr::None => None,
            PendingIsr::Shrink { id, .. } | PendingIsr::Expand { id, .. } => Some(*id),
        }
    }

    /// The replica a pending expand adds to the maximal ISR.
    pub(crate) fn joining(&self) -> Option<BrokerId> {
        match self {
            PendingIsr::Expand { replica, .. } => Some(*replica),
            _ => None,
        }
    }

    fn mark_delivered(&mut self, value: bool) {
        if let PendingIsr::Shrink { delivered, .. } | PendingIsr::Expand { delivered, .. } = self {
            *delivered = value;
        }
    }
}

/// What the leader proposes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum IsrProposal {
    /// Drop these members (out of sync).
    Shrink(Vec<BrokerId>),
    /// Add this caught-up follower.
    Expand(BrokerId),
}

/// An AlterPartition request on its way to the controller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlterPartition {
    /// The proposing leader.
    pub leader: BrokerId,
    /// Its incarnation (a crash loses the request).
    pub incarnation: u32,
    /// The partition.
    pub partition: PartitionId,
    /// The leader epoch the leader leads at.
    pub leader_epoch: LeaderEpoch,
    /// The partition epoch of the leader's committed view.
    pub partition_epoch: u32,
    /// The proposed ISR.
    pub isr: Vec<BrokerId>,
    /// The proposal's id.
    pub id: u64,
}

/// Why the controller refused an AlterPartition (Kafka's error names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlterPartitionError {
    /// The leader epoch is older than the controller's.
    FencedLeaderEpoch,
    /// The partition epoch is older than the controller's.
    InvalidUpdateVersion,
    /// The sender is not the partition's leader.
    InvalidRequest,
    /// A new member is fenced or shutting down.
    IneligibleReplica,
}

impl AlterPartitionError {
    /// Kafka's name of the error.
    pub fn name(self) -> &'static str {
        match self {
            AlterPartitionError::FencedLeaderEpoch => "FENCED_LEADER_EPOCH",
            AlterPartitionError::InvalidUpdateVersion => "INVALID_UPDATE_VERSION",
            AlterPartitionError::InvalidRequest => "INVALID_REQUEST",
            AlterPartitionError::IneligibleReplica => "INELIGIBLE_REPLICA",
        }
    }
}

/// The controller's answer to an AlterPartition, on its way back to the leader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlterPartitionAnswer {
    /// The request answered.
    pub request: AlterPartition,
    /// The committed ISR and partition epoch, or the error.
    pub result: Result<(Vec<BrokerId>, u32), AlterPartitionError>,
}

impl Cluster {
    /// Leader `leader` of `p` proposes an ISR change, unless one is already in flight; the
    /// request reaches the controller half a round trip later.
    pub(crate) fn propose_isr<E: From<ClusterEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        (leader, p): (BrokerId, PartitionId),
        proposal: IsrProposal,
    ) {
        let id = self.next_alter_partition_id;
        let assignment = &self.partitions[p.0 as usize].replicas;
        let Some(Role::Leader(state)) = self.brokers[leader.0 as usize].replicas[p.0 as usize]
            .as_mut()
            .map(|r| &mut r.role)
        else {
            return;
        };
        if state.pending != PendingIsr::None {
            return;
        }
        self.next_alter_partition_id += 1;
        let proposed: Vec<BrokerId> = match &proposal {
            IsrProposal::Shrink(removed) => state
                .isr
                .iter()
                .copied()
                .filter(|r| !removed.contains(r))
                .collect(),
            IsrProposal::Expand(joining) => assignment
                .iter()
                .copied()
                .filter(|r| r == joining || state.isr.contains(r))
                .collect(),
        };
        state.pending = match proposal {
            IsrProposal::Shrink(_) => PendingIsr::Shrink {
                id,
                proposed,
                delivered: true,
            },
            IsrProposal::Expand(replica) => PendingIsr::Expand {
                id,
                replica,
                proposed,
                delivered: true,
            },
        };
        self.send_alter_partition(ctx, (leader, p));
    }

    /// Sends the pending change of `leader`'s partition `p` to the controller.
    fn send_alter_partition<E: From<ClusterEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        (leader, p): (BrokerId, PartitionId),
    ) {
        let half = self.params.alter_partition_round_trip.as_nanos() / 2;
        let broker = &self.brokers[leader.0 as usize];
        let incarnation = broker.incarnation;
        let Some(Role::Leader(state)) = broker.replicas[p.0 as usize].as_ref().map(|r| &r.role)
        else {
            return;
        };
        let (PendingIsr::Shrink { id, proposed, .. } | PendingIsr::Expand { id, proposed, .. }) =
            &state.pending
        else {
            return;
        };
        let request = AlterPartition {
            leader,
            incarnation,
            partition: p,
            leader_epoch: state.epoch,
            partition_epoch: state.partition_epoch,
            isr: proposed.clone(),
            id: *id,
        };
        ctx.schedule_after(
            sim::Duration::from_nanos(half),
            E::from(ClusterEvent::AlterPartitionArrive(Box::new(request))),
        );
    }

    /// The controller receives an AlterPartition: from a broker it does not hear the request
    /// is lost; otherwise it validates and applies it and answers half a round trip later.
    pub(crate) fn on_alter_partition_arrive<E: From<ClusterEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        request: Box<AlterPartition>,
    ) {
        let (leader, p) = (request.leader, request.partition);
        let broker = &mut self.brokers[leader.0 as usize];
        if !broker.alive || broker.incarnation != request.incarnation {
            return;
        }
        if !self.hears_controller(leader) {
            if let Some(state) = self.leader_state_mut(leader, p)
                && state.pending.id() == Some(request.id)
            {
                state.pending.mark_delivered(false);
            }
            trace_broker(ctx, leader, "alter_partition_unanswered", |e| {
                e.with("partition", p.0)
            });
            return;
        }
        let result = match self.validate_alter_partition(&request) {
            Err(error) => {
                ctx.trace("controller", "alter_partition_rejected", |e| {
                    e.with("broker", leader.0)
                        .with("partition", p.0)
                        .with("error", error.name())
                });
                Err(error)
            }
            Ok(()) => {
                self.set_controller_isr(ctx, p, request.isr.clone());
                let state = &self.partitions[p.0 as usize];
                Ok((state.isr.clone(), state.partition_epoch))
            }
        };
        let rest = self.params.alter_partition_round_trip.as_nanos()
            - self.params.alter_partition_round_trip.as_nanos() / 2;
        let answer = AlterPartitionAnswer {
            request: *request,
            result,
        };
        ctx.schedule_after(
            sim::Duration::from_nanos(rest),
            E::from(ClusterEvent::AlterPartitionAnswer(Box::new(answer))),
        );
    }

    /// `ReplicationControlManager.validateAlterPartitionData`, in Kafka's order.
    fn validate_alter_partition(
        &self,
        request: &AlterPartition,
    ) -> Result<(), AlterPartitionError> {
        let state = &self.partitions[request.partition.0 as usize];
        if request.leader_epoch < state.leader_epoch {
            return Err(AlterPartitionError::FencedLeaderEpoch);
        }
        if state.leader != Some(request.leader) {
            return Err(AlterPartitionError::InvalidRequest);
        }
        if request.partition_epoch < state.partition_epoch {
            return Err(AlterPartitionError::InvalidUpdateVersion);
        }
        // `ineligibleReplicasForIsr`: fenced or in controlled shutdown (a broker whose session
        // is lost but not yet expired is still unfenced).
        if request
            .isr
            .iter()
            .any(|&r| r != request.leader && (self.is_fenced(r) || !self.is_eligible_follower(r)))
        {
            return Err(AlterPartitionError::IneligibleReplica);
        }
        Ok(())
    }

    /// The answer reaches the leader: a committed ISR replaces its view (then the HW may move);
    /// an error resets or keeps the pending change, as `handleAlterPartitionError` does.
    pub(crate) fn on_alter_partition_answer<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
        answer: AlterPartitionAnswer,
    ) {
        let (leader, p) = (answer.request.leader, answer.request.partition);
        let broker = &self.brokers[leader.0 as usize];
        if !broker.alive || broker.incarnation != answer.request.incarnation {
            return;
        }
        let heard = self.hears_controller(leader);
        let Some(state) = self.leader_state_mut(leader, p) else {
            return;
        };
        if state.epoch != answer.request.leader_epoch
            || state.pending.id() != Some(answer.request.id)
        {
            return;
        }
        if !heard {
            // The controller lost the broker since; its retry goes out on reconnect.
            state.pending.mark_delivered(false);
            return;
        }
        match answer.result {
            Ok((isr, partition_epoch)) if partition_epoch >= state.partition_epoch => {
                self.touch_partition(p);
                let state = self.leader_state_mut(leader, p).expect("looked up above");
                let kind = if isr.len() < state.isr.len() {
                    "isr_shrink"
                } else {
                    "isr_expand"
                };
                state.isr = isr;
                state.partition_epoch = partition_epoch;
                state.pending = PendingIsr::None;
                let list = broker_list(&state.isr);
                trace_broker(ctx, leader, kind, |e| {
                    e.with("partition", p.0).with("isr", list)
                });
                self.maybe_advance_hw(ctx, net, leader, p);
            }
            // A stale answer: the leader already has newer metadata.
            Ok(_) => {}
            // INELIGIBLE_REPLICA: the change was not applied, back to the committed state;
            // the other errors wait for new metadata.
            Err(AlterPartitionError::IneligibleReplica) => state.pending = PendingIsr::None,
            Err(_) => {}
        }
    }

    /// The controller hears broker `b` again after a short loss: what it leads catches up
    /// with the metadata (a changed record replaces a pending change), and a pending change
    /// that never reached the controller is sent again (`AlterPartitionManager` retries).
    pub(crate) fn after_reconnect<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
        b: BrokerId,
    ) {
        for p in 0..self.partitions.len() {
            let partition = PartitionId(p as u32);
            let record_epoch = self.partitions[p].partition_epoch;
            let Some(state) = self.leader_state_mut(b, partition) else {
                continue;
            };
            if state.partition_epoch != record_epoch {
                self.push_isr_to_leader(partition);
                self.maybe_advance_hw(ctx, net, b, partition);
                continue;
            }
            if matches!(
                state.pending,
                PendingIsr::Shrink {
                    delivered: false,
                    ..
                } | PendingIsr::Expand {
                    delivered: false,
                    ..
                }
            ) {
                state.pending.mark_delivered(true);
                self.send_alter_partition(ctx, (b, partition));
            }
        }
    }

    /// The controller changes the ISR of `p` (AlterPartition, fencing, shutdown): the
    /// partition epoch moves on, and with ELR on the ELR follows
    /// (`PartitionChangeBuilder.maybePopulateTargetElr`).
    pub(crate) fn set_controller_isr<E>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        p: PartitionId,
        isr: Vec<BrokerId>,
    ) {
        let min_isr = self.params.effective_min_isr as usize;
        let elr_on = self.params.eligible_leader_replicas;
        let state = &mut self.partitions[p.0 as usize];
        let old = std::mem::replace(&mut state.isr, isr);
        state.partition_epoch += 1;
        if !elr_on {
            return;
        }
        let elr: Vec<BrokerId> = if state.isr.len() >= min_isr {
            Vec::new()
        } else {
            state
                .replicas
                .iter()
                .copied()
                .filter(|r| (state.elr.contains(r) || old.contains(r)) && !state.isr.contains(r))
                .collect()
        };
        self.set_elr(ctx, p, elr);
    }

    /// Replaces the ELR of `p`, tracing a change.
    pub(crate) fn set_elr<E>(&mut self, ctx: &mut Ctx<'_, E>, p: PartitionId, elr: Vec<BrokerId>) {
        let state = &mut self.partitions[p.0 as usize];
        if state.elr == elr {
            return;
        }
        state.elr = elr;
        let list = broker_list(&state.elr);
        ctx.trace("controller", "elr", |e| {
            e.with("partition", p.0).with("elr", list)
        });
    }

    /// `handleBrokerUncleanShutdown`: broker `b`, registering after a crash, may have lost
    /// what it had not flushed, so it leaves every ELR.
    pub(crate) fn drop_from_elrs<E>(&mut self, ctx: &mut Ctx<'_, E>, b: BrokerId) {
        for p in 0..self.partitions.len() {
            if self.partitions[p].elr.contains(&b) {
                let elr = self.partitions[p]
                    .elr
                    .iter()
                    .copied()
                    .filter(|&r| r != b)
                    .collect();
                self.partitions[p].partition_epoch += 1;
                self.set_elr(ctx, PartitionId(p as u32), elr);
            }
        }
    }

    fn leader_state_mut(&mut self, b: BrokerId, p: PartitionId) -> Option<&mut super::LeaderState> {
        match &mut self.replica_mut(b, p)?.role {
            Role::Leader(state) => Some(state),
            _ => None,
        }
    }
}
