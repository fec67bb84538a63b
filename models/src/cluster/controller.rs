//! The controller: leader elections, broker crash and restart, role changes with truncation,
//! the metadata served to clients, and settling at the end of a run.
//!
//! ```text
//!   crash(b) / fence(b) ─► the controller stops hearing b (a crashed broker also drops its
//!      │                   inbox, purgatory and fetches, keeping its log; a fenced one runs on)
//!      └─ after controller_election_delay: SessionExpired ─► fence: b out of every ISR (never
//!                                                           emptying one), elect where b led
//!   elect(p): first live ISR replica in assignment order │ else unclean: first live replica
//!             │ else offline; epoch += 1 ─► new leader; live followers truncate + refetch
//!             └► PublishMetadata after metadata_propagation_delay
//!   restart(b) / unfence(b) ─► register (fenced first if not yet) ─► follower of each
//!                 partition (truncate to divergence), or elected if the partition was offline
//!   ISR changes: the leader's AlterPartition succeeds only while the controller hears it;
//!                a fenced zombie leader keeps its stale ISR view
//! ```
//!
//! Fidelity: KRaft `PartitionChangeBuilder` election order; ELR (KIP-966) is not modelled. Roles
//! change on brokers at the moment of the election; only clients see it late.

use sim::Ctx;

use super::{ClusterEvent, LeaderState, Role, Session, broker_list, trace_broker};
use crate::cluster::Cluster;
use crate::cluster::producer_state::ProducerStates;
use crate::network::{NetEvent, Network};
use crate::protocol::{
    BrokerId, ErrorCode, LeaderEpoch, MetadataResponse, PartitionId, PartitionMetadata,
};

impl Cluster {
    /// Crashes broker `b`: it stops answering and forgets everything but its logs; the
    /// controller fences it when its session expires.
    pub fn crash<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        b: BrokerId,
    ) {
        let Some(broker) = self.brokers.get_mut(b.0 as usize) else {
            return;
        };
        if !broker.alive {
            return;
        }
        broker.alive = false;
        broker.incarnation += 1;
        broker.inbox.clear();
        let connection = broker.client_channel.connection;
        broker.client_channel.reset(connection);
        broker.purgatory.clear();
        broker.purgatory_deadlines.clear();
        if let Some(timer) = broker.purgatory_timer {
            ctx.disarm(timer);
        }
        // A held response dies with the process; injected errors wait for the next requests.
        broker.held_responses.clear();
        broker.parked_fetches.iter_mut().for_each(|f| *f = None);
        for timer in broker.parked_fetch_timers.iter().flatten() {
            ctx.disarm(*timer);
        }
        broker
            .fetchers
            .iter_mut()
            .for_each(|f| *f = Default::default());
        for replica in broker.replicas.iter_mut().flatten() {
            replica.role = Role::Offline;
        }
        trace_broker(ctx, b, "crash", |e| e);
        self.lose_session(ctx, b);
    }

    /// Restarts broker `b`: it registers with the controller and rejoins as a follower
    /// (truncating where its log diverges from the leader's), or is elected where a partition it
    /// replicates is offline.
    pub fn restart<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
        b: BrokerId,
    ) {
        let Some(broker) = self.brokers.get_mut(b.0 as usize) else {
            return;
        };
        if broker.alive {
            return;
        }
        broker.alive = true;
        broker.incarnation += 1;
        broker.busy_until = ctx.now();
        trace_broker(ctx, b, "restart", |e| e);
        self.register(ctx, net, b);
        self.schedule_isr_check(ctx, b);
    }

    /// The controller stops hearing broker `b`, which keeps running on what it knows (a
    /// leader becomes a zombie once fenced: it still takes acks=1 writes, and its ISR changes
    /// fail). Fenced after `controller_election_delay_ms` unless [`Cluster::unfence`] comes first.
    pub fn fence<E: From<ClusterEvent>>(&mut self, ctx: &mut Ctx<'_, E>, b: BrokerId) {
        if self
            .brokers
            .get(b.0 as usize)
            .is_some_and(|br| br.alive && br.session == Session::Connected)
        {
            ctx.trace("controller", "session_lost", |e| e.with("broker", b.0));
            self.lose_session(ctx, b);
        }
    }

    /// The controller hears broker `b` again: a session not yet expired simply continues; a
    /// fenced broker registers and learns the current leaders (a zombie leader steps down and
    /// truncates).
    pub fn unfence<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
        b: BrokerId,
    ) {
        let Some(broker) = self.brokers.get_mut(b.0 as usize) else {
            return;
        };
        if !broker.alive {
            return;
        }
        match broker.session {
            Session::Connected => {}
            Session::Lost => {
                broker.session = Session::Connected;
                broker.session_epoch += 1;
            }
            Session::Fenced => self.register(ctx, net, b),
        }
    }

    fn lose_session<E: From<ClusterEvent>>(&mut self, ctx: &mut Ctx<'_, E>, b: BrokerId) {
        let delay = self.params.controller_election_delay;
        let broker = &mut self.brokers[b.0 as usize];
        if broker.session == Session::Connected {
            broker.session = Session::Lost;
            broker.session_epoch += 1;
            let ev = ClusterEvent::SessionExpired {
                broker: b,
                session_epoch: broker.session_epoch,
            };
            ctx.schedule_after(delay, E::from(ev));
        }
    }

    pub(crate) fn on_session_expired<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
        b: BrokerId,
        session_epoch: u32,
    ) {
        let broker = &self.brokers[b.0 as usize];
        if broker.session == Session::Lost && broker.session_epoch == session_epoch {
            self.fence_now(ctx, net, b);
        }
    }

    /// A (re)started or reconnected broker registers: fenced first if its old session is still
    /// open, then told its role in every partition it replicates.
    fn register<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
        b: BrokerId,
    ) {
        if self.brokers[b.0 as usize].session == Session::Lost {
            self.fence_now(ctx, net, b);
        }
        let broker = &mut self.brokers[b.0 as usize];
        broker.session = Session::Connected;
        broker.session_epoch += 1;
        ctx.trace("controller", "register", |e| e.with("broker", b.0));
        for p in 0..self.partitions.len() {
            let partition = PartitionId(p as u32);
            if !self.partitions[p].replicas.contains(&b) {
                continue;
            }
            match self.partitions[p].leader {
                // Fencing re-elects every partition the broker led, so this is only a safety net.
                Some(leader) if leader == b => self.apply_leadership(ctx, net, partition),
                Some(leader) => {
                    let epoch = self.partitions[p].leader_epoch;
                    self.become_follower(ctx, net, (b, partition), (leader, epoch));
                }
                None => self.elect(ctx, net, partition),
            }
        }
    }

    /// The controller fences broker `b`: out of every ISR it is in (an ISR is never emptied),
    /// and new leaders for the partitions it led.
    fn fence_now<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
        b: BrokerId,
    ) {
        self.brokers[b.0 as usize].session = Session::Fenced;
        ctx.trace("controller", "fence", |e| e.with("broker", b.0));
        for p in 0..self.partitions.len() {
            let partition = PartitionId(p as u32);
            let state = &mut self.partitions[p];
            if state.isr.len() > 1 && state.isr.contains(&b) {
                state.isr.retain(|&r| r != b);
                let list = broker_list(&state.isr);
                let fill = |e: sim::TraceEvent| e.with("partition", partition.0).with("isr", list);
                // Traced on the leader, whose ISR it is; on the controller when there is none.
                match state.leader.filter(|&l| l != b) {
                    Some(leader) => {
                        trace_broker(ctx, leader, "isr_shrink", fill);
                        self.push_isr_to_leader(partition);
                        self.maybe_advance_hw(ctx, net, leader, partition);
                    }
                    None => ctx.trace("controller", "isr_shrink", fill),
                }
            }
            if self.partitions[p].leader == Some(b) {
                self.elect(ctx, net, partition);
            }
        }
    }

    /// Whether broker `b` follows the controller's metadata (up and its session open).
    pub(crate) fn hears_controller(&self, b: BrokerId) -> bool {
        let broker = &self.brokers[b.0 as usize];
        broker.alive && broker.session == Session::Connected
    }

    /// Copies the controller's ISR of `p` to its leader, if the leader hears the controller.
    pub(crate) fn push_isr_to_leader(&mut self, p: PartitionId) {
        let Some(leader) = self.partitions[p.0 as usize].leader else {
            return;
        };
        if !self.hears_controller(leader) {
            return;
        }
        let isr = self.partitions[p.0 as usize].isr.clone();
        if let Some(Role::Leader(state)) = self.replica_mut(leader, p).map(|r| &mut r.role) {
            state.isr = isr;
        }
    }

    /// AlterPartition: the leader of `p` asks the controller for a new ISR. It fails when the
    /// controller does not hear the leader or the leader was replaced; on success both views
    /// change.
    pub(crate) fn alter_isr(
        &mut self,
        leader: BrokerId,
        p: PartitionId,
        isr: Vec<BrokerId>,
    ) -> bool {
        if !self.hears_controller(leader) || self.partitions[p.0 as usize].leader != Some(leader) {
            return false;
        }
        self.partitions[p.0 as usize].isr = isr;
        self.push_isr_to_leader(p);
        true
    }

    /// Elects a leader for `p`: the first live ISR member in assignment order, else (unclean
    /// election enabled) the first live replica, else none (offline).
    fn elect<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
        p: PartitionId,
    ) {
        let state = &self.partitions[p.0 as usize];
        let alive = |r: &&BrokerId| self.hears_controller(**r);
        let clean = state
            .replicas
            .iter()
            .filter(alive)
            .find(|r| state.isr.contains(r))
            .copied();
        let unclean = if clean.is_none() && self.params.unclean_election {
            state.replicas.iter().find(alive).copied()
        } else {
            None
        };
        let state = &mut self.partitions[p.0 as usize];
        match clean.or(unclean) {
            Some(leader) => {
                state.leader = Some(leader);
                state.leader_epoch = LeaderEpoch(state.leader_epoch.0 + 1);
                if unclean.is_some() {
                    state.isr = vec![leader];
                }
                let epoch = state.leader_epoch.0;
                let was_unclean = unclean.is_some();
                ctx.trace("controller", "elect", |e| {
                    e.with("partition", p.0)
                        .with("leader", leader.0)
                        .with("epoch", epoch)
                        .with("unclean", was_unclean)
                });
                self.apply_leadership(ctx, net, p);
            }
            None => {
                state.leader = None;
                ctx.trace("controller", "offline", |e| e.with("partition", p.0));
            }
        }
        self.publish_metadata(ctx);
    }

    /// Tells every live replica of `p` its role under the controller's current record.
    pub(crate) fn apply_leadership<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
        p: PartitionId,
    ) {
        let state = self.partitions[p.0 as usize].clone();
        let Some(leader) = state.leader else { return };
        if self.hears_controller(leader) {
            self.become_leader(ctx, net, (leader, p), state.leader_epoch);
        }
        for &r in state.replicas.iter().filter(|&&r| r != leader) {
            if self.hears_controller(r) {
                self.become_follower(ctx, net, (r, p), (leader, state.leader_epoch));
            }
        }
    }

    fn become_leader<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
        (b, p): (BrokerId, PartitionId),
        epoch: LeaderEpoch,
    ) {
        let followers = self.initial_followers(ctx.now(), b, p);
        let isr = self.partitions[p.0 as usize].isr.clone();
        self.detach_from_fetchers(b, p);
        let replica = self.replica_mut(b, p).expect("a leader is a replica");
        if matches!(&replica.role, Role::Leader(s) if s.epoch == epoch) {
            return;
        }
        let epoch_start_offset = replica.log.leo();
        replica.role = Role::Leader(LeaderState {
            epoch,
            epoch_start_offset,
            followers,
            watchers: Default::default(),
            isr,
        });
        trace_broker(ctx, b, "become_leader", |e| {
            e.with("partition", p.0).with("epoch", epoch.0)
        });
        self.maybe_advance_hw(ctx, net, b, p);
    }

    fn become_follower<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
        (b, p): (BrokerId, PartitionId),
        (leader, epoch): (BrokerId, LeaderEpoch),
    ) {
        let replica = self.replica_mut(b, p).expect("a follower is a replica");
        if matches!(replica.role, Role::Follower { leader: l, epoch: e } if l == leader && e == epoch)
        {
            return;
        }
        if let Role::Leader(state) = std::mem::replace(&mut replica.role, Role::Offline) {
            for w in state.watchers {
                self.resolve_delayed(ctx, net, b, (w, ErrorCode::NotLeaderOrFollower));
            }
        }
        self.truncate_to_leader(ctx, b, p, leader);
        let replica = self.replica_mut(b, p).expect("a follower is a replica");
        replica.role = Role::Follower { leader, epoch };
        trace_broker(ctx, b, "become_follower", |e| {
            e.with("partition", p.0).with("leader", leader.0)
        });
        self.detach_from_fetchers(b, p);
        self.brokers[b.0 as usize].fetchers[leader.0 as usize]
            .partitions
            .push(p);
        self.kick_fetcher(ctx, b, leader);
    }

    /// Truncates `b`'s replica of `p` to where it diverges from `leader`'s log.
    fn truncate_to_leader<E>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        b: BrokerId,
        p: PartitionId,
        leader: BrokerId,
    ) {
        let (Some(mine), Some(theirs)) = (self.log(b, p), self.log(leader, p)) else {
            return;
        };
        let to_offset = mine.divergence_offset(theirs);
        let replica = self.replica_mut(b, p).expect("checked above");
        if to_offset < replica.log.leo() {
            let removed = replica.log.truncate_to(to_offset);
            replica.producers = ProducerStates::rebuild(&replica.log);
            trace_broker(ctx, b, "truncate", |e| {
                e.with("partition", p.0)
                    .with("to_offset", to_offset)
                    .with("removed", removed)
            });
        }
        replica.hw = replica.hw.min(replica.log.leo());
    }

    fn detach_from_fetchers(&mut self, b: BrokerId, p: PartitionId) {
        for fetcher in &mut self.brokers[b.0 as usize].fetchers {
            fetcher.partitions.retain(|&q| q != p);
        }
    }

    /// The metadata clients would see if it were published now.
    pub(crate) fn metadata_snapshot(&self) -> MetadataResponse {
        MetadataResponse {
            partitions: self
                .partitions
                .iter()
                .enumerate()
                .map(|(p, s)| PartitionMetadata {
                    partition: PartitionId(p as u32),
                    leader: s.leader,
                    leader_epoch: s.leader_epoch,
                })
                .collect(),
        }
    }

    fn publish_metadata<E: From<ClusterEvent>>(&mut self, ctx: &mut Ctx<'_, E>) {
        let snapshot = Box::new(self.metadata_snapshot());
        ctx.schedule_after(
            self.params.metadata_propagation_delay,
            E::from(ClusterEvent::PublishMetadata(snapshot)),
        );
    }

    /// Starts settling: heals every link, restarts every crashed broker and reconnects every
    /// fenced one to the controller. The caller stops the producer and the random faults
    /// first, then runs until [`Cluster::is_settled`].
    pub fn begin_settle<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
    ) {
        self.settling = true;
        net.heal_all();
        for broker in &mut self.brokers {
            broker.injections.clear();
        }
        for b in 0..self.brokers.len() {
            let b = BrokerId(b as u32);
            if self.is_alive(b) {
                self.unfence(ctx, net, b);
            } else {
                self.restart(ctx, net, b);
            }
        }
    }

    /// Whether replication has caught up: every broker up, every partition led with its full
    /// replica set in the ISR, every replica at the leader's LEO, and the HW at the LEO.
    pub fn is_settled(&self) -> bool {
        self.brokers.iter().all(|b| b.alive)
            && (0..self.partitions.len()).all(|p| {
                let partition = PartitionId(p as u32);
                let state = &self.partitions[p];
                let Some(leader) = state.leader else {
                    return false;
                };
                let leo = self.log_end_offset(leader, partition);
                state.isr.len() == state.replicas.len()
                    && self.high_watermark_on(leader, partition) == leo
                    && state
                        .replicas
                        .iter()
                        .all(|&r| self.log_end_offset(r, partition) == leo)
            })
    }
}
