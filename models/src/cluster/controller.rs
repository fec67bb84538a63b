//! The controller: broker heartbeats and sessions, fencing, controlled shutdown, leader
//! elections, broker crash and restart, role changes with truncation, the metadata served to
//! clients, and settling at the end of a run.
//!
//! ```text
//!   every broker heartbeats at origin + k * broker_heartbeat_interval (origin drawn from the
//!   stream cluster/heartbeat/<id> at start; the time it registers after a restart or reconnect)
//!   crash(b) / fence(b) ─► the controller stops hearing b (a crashed broker also drops its
//!      │                   inbox, purgatory and fetches, keeping its log; a fenced one runs on)
//!      └─ at last heartbeat + broker_session_timeout: SessionExpired ─► fence: b out of every
//!                                     ISR (never emptying one), elect where b led
//!   shutdown(b) ─► heartbeat with wantShutDown: CONTROLLED_SHUTDOWN: b out of every ISR, elect
//!      │           where b led (b still runs: NOT_LEADER_OR_FOLLOWER + the new leader)
//!      └─ 50 ms later, then every interval: b leads nothing and every active broker heartbeated
//!         since? ─► SHUTDOWN_NOW: b stops (crash) and is fenced at once
//!   elect(p): first eligible ISR replica in assignment order │ ISR empty (ELR on): first
//!             eligible ELR replica │ else unclean: first eligible replica │ else offline;
//!             epoch += 1 ─► new leader; live followers truncate + refetch
//!             └► PublishMetadata after metadata_propagation_delay
//!   restart(b) / unfence(b) ─► register (fenced first if not yet) ─► follower of each
//!                 partition (truncate to divergence), or elected if the partition was offline
//!   ISR changes: the leader's AlterPartition is answered only while the controller hears it
//!                (see `isr`); a fenced zombie leader keeps its stale ISR view
//! ```
//!
//! Units: virtual time as `Instant`/`Duration` (integer ns).
//!
//! Fidelity (apache/kafka, `metadata/.../controller/` and `core/.../server/`):
//! - Fencing: `BrokerHeartbeatManager.hasValidSession` (a session is valid while
//!   `lastContactNs + sessionTimeoutNs` has not passed), `findOneStaleBroker` and
//!   `QuorumController.rescheduleMaybeFenceStaleBrokers` (the check is scheduled for exactly
//!   that instant), `ReplicationControlManager.maybeFenceOneStaleBroker` and
//!   `handleBrokerFenced`. So a crashed broker is fenced between
//!   `broker_session_timeout_ms - broker_heartbeat_interval_ms` and `broker_session_timeout_ms`
//!   after the crash (7 to 9 s with Kafka's defaults), depending on its heartbeat phase.
//!   The phase is drawn from a seeded stream per broker, not derived from the start time:
//!   every simulated broker starts at time zero, but real brokers start long before the
//!   producer and independently of each other, so their phases are unrelated to the run.
//!   Simplified: heartbeats come exactly every interval (Kafka schedules the next one an
//!   interval after the previous response, so the period also holds a round trip), take no
//!   time to reach the controller (which is not a network node), and a broker the controller
//!   hears again keeps heartbeating from that instant.
//! - Controlled shutdown: `BrokerLifecycleManager.beginControlledShutdown` (the first heartbeat
//!   with wantShutDown at once, the next 50 ms after the first answer, then every interval),
//!   `BrokerHeartbeatManager.calculateNextBrokerState` (CONTROLLED_SHUTDOWN while the broker
//!   leads a partition or `lowestActiveOffset` has not reached its controlled-shutdown offset;
//!   then SHUTDOWN_NOW), `ReplicationControlManager.processBrokerHeartbeat` and
//!   `handleBrokerInControlledShutdown` (out of every ISR, new leaders where it led), and
//!   `generateLeaderAndIsrUpdates` (the broker being removed is never an acceptable leader).
//!   An active broker's metadata offset is taken to have passed the controlled-shutdown record
//!   at its first heartbeat after the shutdown began. A broker the controller does not hear
//!   stops at once (Kafka's broker would wait up to five minutes for an answer).
//! - Elections: KRaft `PartitionChangeBuilder.electAnyLeader` order: ISR, then ELR when the
//!   ISR is empty (KIP-966, see `isr`), then unclean; fencing may empty the ISR only with ELR
//!   on (`generateLeaderAndIsrUpdates`). Roles change on brokers at the moment of the
//!   election; only clients see it late.

use sim::{Ctx, Duration, Instant};

use super::isr::PendingIsr;
use super::{ClusterEvent, LeaderState, Lifecycle, Role, Session, broker_list, trace_broker};
use crate::cluster::Cluster;
use crate::cluster::producer_state::ProducerStates;
use crate::network::{NetEvent, Network};
use crate::protocol::{
    BrokerId, ErrorCode, LeaderEpoch, MetadataResponse, PartitionId, PartitionMetadata,
};

/// How a leader was chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Election {
    /// From the ISR.
    Clean,
    /// From the ELR, the ISR being empty (KIP-966): clean too.
    FromElr,
    /// From any replica: may lose committed records.
    Unclean,
}

/// How soon a broker in controlled shutdown heartbeats again after the controller's first
/// answer (`BrokerLifecycleManager`: 50 ms, "a little bit sooner than we usually would").
const CONTROLLED_SHUTDOWN_FIRST_RETRY: Duration = Duration::from_millis(50);

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
        // Its fetch sessions, and those of its followers, end: nothing of them is idle.
        for leader in 0..self.brokers.len() {
            self.expire_fetch_request(b, BrokerId(leader as u32));
        }
        self.touch_broker_partitions(b);
        let broker = &mut self.brokers[b.0 as usize];
        broker.alive = false;
        broker.incarnation += 1;
        broker.lifecycle = Lifecycle::Running;
        broker.registers_unclean = true;
        broker.handlers.clear(ctx.now());
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
        broker.handlers.clear(ctx.now());
        trace_broker(ctx, b, "restart", |e| e);
        self.register(ctx, net, b);
        self.schedule_isr_check(ctx, b);
    }

    /// The controller stops hearing broker `b`, which keeps running on what it knows (a
    /// leader becomes a zombie once fenced: it still takes acks=1 writes, and its ISR changes
    /// fail). Fenced `broker_session_timeout_ms` after its last heartbeat unless
    /// [`Cluster::unfence`] comes first.
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
                // Its heartbeats get through again from now on.
                broker.heartbeat_origin = ctx.now();
                // It replays the metadata it missed while the controller did not hear it
                // (`BrokerMetadataPublisher` applies the log's partition changes in order): a
                // leader elected elsewhere meanwhile makes it a follower of that leader. Where
                // it still leads, it keeps its leader state and any AlterPartition in flight.
                self.replay_partition_metadata(ctx, net, b, false);
                self.after_reconnect(ctx, net, b);
            }
            Session::Fenced => self.register(ctx, net, b),
        }
    }

    /// The controller stops hearing `b`: its session expires `broker_session_timeout_ms` after
    /// the last heartbeat it sent (`BrokerHeartbeatManager.hasValidSession`: stale once
    /// `lastContactNs + sessionTimeoutNs` has passed; `QuorumController` schedules the check for
    /// exactly then).
    fn lose_session<E: From<ClusterEvent>>(&mut self, ctx: &mut Ctx<'_, E>, b: BrokerId) {
        let expiry = self.session_expiry(b, ctx.now()).max(ctx.now());
        let broker = &mut self.brokers[b.0 as usize];
        if broker.session == Session::Connected {
            broker.session = Session::Lost;
            broker.session_epoch += 1;
            let ev = ClusterEvent::SessionExpired {
                broker: b,
                session_epoch: broker.session_epoch,
            };
            ctx.schedule_at(expiry, E::from(ev));
        }
    }

    /// When broker `b`'s session expires if the controller hears nothing from it after `now`:
    /// its last heartbeat at or before `now` plus the session timeout.
    pub(crate) fn session_expiry(&self, b: BrokerId, now: Instant) -> Instant {
        let session = self.params.broker_session_timeout;
        match self.last_heartbeat(b, now) {
            Some(last) => last + session,
            // The last heartbeat was one interval before the origin, before time zero.
            None => {
                self.brokers[b.0 as usize].heartbeat_origin + session
                    - self.params.broker_heartbeat_interval
            }
        }
    }

    /// The time of broker `b`'s last heartbeat at or before `now` (`None` when it lies before
    /// time zero). Heartbeats come every `broker_heartbeat_interval_ms` from its origin.
    fn last_heartbeat(&self, b: BrokerId, now: Instant) -> Option<Instant> {
        let origin = self.brokers[b.0 as usize].heartbeat_origin;
        let interval = self.params.broker_heartbeat_interval.as_nanos();
        let since = now.as_nanos().checked_sub(origin.as_nanos())?;
        Some(Instant::from_nanos(now.as_nanos() - since % interval))
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
        // A registering broker heartbeats at once, then every interval
        // (`BrokerLifecycleManager`).
        broker.heartbeat_origin = ctx.now();
        broker.lifecycle = Lifecycle::Running;
        let unclean = std::mem::replace(&mut broker.registers_unclean, false);
        ctx.trace("controller", "register", |e| e.with("broker", b.0));
        if unclean && self.params.eligible_leader_replicas {
            self.drop_from_elrs(ctx, b);
        }
        self.replay_partition_metadata(ctx, net, b, true);
    }

    /// Gives broker `b` the role the controller's current record has for it in each partition
    /// it replicates: follower of the current leader, and an election where a partition has no
    /// leader. Where the record names `b` as leader, `reapply_leadership` makes it take up the
    /// leadership afresh (a registration); otherwise its leader state is left as it is.
    fn replay_partition_metadata<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
        b: BrokerId,
        reapply_leadership: bool,
    ) {
        for p in 0..self.partitions.len() {
            let partition = PartitionId(p as u32);
            if !self.partitions[p].replicas.contains(&b) {
                continue;
            }
            match self.partitions[p].leader {
                // At a registration after an unclean stop or a fencing, a partition it is
                // recorded as leading (an election won while it was away) is taken up afresh.
                Some(leader) if leader == b => {
                    if reapply_leadership {
                        self.apply_leadership(ctx, net, partition);
                    }
                }
                Some(leader) => {
                    let epoch = self.partitions[p].leader_epoch;
                    self.become_follower(ctx, net, (b, partition), (leader, epoch));
                }
                None => self.elect(ctx, net, partition),
            }
        }
    }

    /// The controller fences broker `b`: out of every ISR it is in (an ISR is never emptied),
    /// and new leaders for the partitions it led (`ReplicationControlManager.handleBrokerFenced`).
    fn fence_now<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
        b: BrokerId,
    ) {
        self.brokers[b.0 as usize].session = Session::Fenced;
        ctx.trace("controller", "fence", |e| e.with("broker", b.0));
        self.remove_from_isrs_and_leadership(ctx, net, b);
    }

    /// `generateLeaderAndIsrUpdates` with `b` as the broker to remove: `b` leaves every ISR it
    /// is in (never emptying one) and every partition it led gets a new leader (`b` itself is
    /// not electable: fenced or shutting down).
    fn remove_from_isrs_and_leadership<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
        b: BrokerId,
    ) {
        // With ELR off the last ISR member stays; with it on the ISR may empty (KIP-966).
        let may_empty = self.params.eligible_leader_replicas;
        for p in 0..self.partitions.len() {
            let partition = PartitionId(p as u32);
            let state = &self.partitions[p];
            if state.isr.contains(&b) && (state.isr.len() > 1 || may_empty) {
                let isr = state.isr.iter().copied().filter(|&r| r != b).collect();
                self.set_controller_isr(ctx, partition, isr);
                let state = &self.partitions[p];
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

    /// Fault `shutdown`: broker `b` begins a controlled shutdown. Its first heartbeat with
    /// wantShutDown goes out at once, and the controller moves it to CONTROLLED_SHUTDOWN: out of
    /// every ISR, new leaders where it led (`ReplicationControlManager.processBrokerHeartbeat`,
    /// `handleBrokerInControlledShutdown`). The broker keeps running and answering (produce
    /// requests for partitions it no longer leads get NOT_LEADER_OR_FOLLOWER with the new
    /// leader); its next heartbeat follows 50 ms after the controller's first answer, as
    /// `BrokerLifecycleManager` schedules it. A broker the controller does not hear cannot
    /// ask: it stops at once.
    pub fn controlled_shutdown<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
        b: BrokerId,
    ) {
        let Some(broker) = self.brokers.get(b.0 as usize) else {
            return;
        };
        if !broker.alive || broker.lifecycle != Lifecycle::Running {
            return;
        }
        if !self.hears_controller(b) {
            self.crash(ctx, b);
            return;
        }
        let broker = &mut self.brokers[b.0 as usize];
        broker.lifecycle = Lifecycle::PendingControlledShutdown;
        let incarnation = broker.incarnation;
        ctx.trace("controller", "controlled_shutdown", |e| {
            e.with("broker", b.0)
        });
        self.remove_from_isrs_and_leadership(ctx, net, b);
        let began = ctx.now();
        ctx.schedule_after(
            CONTROLLED_SHUTDOWN_FIRST_RETRY,
            E::from(ClusterEvent::ShutdownHeartbeat {
                broker: b,
                incarnation,
                began,
            }),
        );
    }

    /// A heartbeat of broker `b` in controlled shutdown (begun at `began`): the controller
    /// answers SHUTDOWN_NOW once `b` leads nothing and every active broker has heartbeated
    /// since (`BrokerHeartbeatManager.calculateNextBrokerState`: `lowestActiveOffset` must have
    /// passed the controlled-shutdown record's offset); the broker then stops, and the
    /// controller fences it at once. Otherwise the next heartbeat follows an interval later.
    pub(crate) fn on_shutdown_heartbeat<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
        (b, incarnation): (BrokerId, u32),
        began: Instant,
    ) {
        let broker = &self.brokers[b.0 as usize];
        if broker.incarnation != incarnation
            || !broker.alive
            || broker.lifecycle != Lifecycle::PendingControlledShutdown
        {
            return;
        }
        if !self.shutdown_granted(b, began, ctx.now()) {
            ctx.schedule_after(
                self.params.broker_heartbeat_interval,
                E::from(ClusterEvent::ShutdownHeartbeat {
                    broker: b,
                    incarnation,
                    began,
                }),
            );
            return;
        }
        ctx.trace("controller", "shutdown_now", |e| e.with("broker", b.0));
        self.crash(ctx, b);
        // A controlled shutdown is clean: the broker keeps its place in the ELRs.
        self.brokers[b.0 as usize].registers_unclean = false;
        self.fence_now(ctx, net, b);
    }

    /// Whether the controller tells `b` to stop now: it leads nothing, and every other active
    /// broker (unfenced, not shutting down) has sent a heartbeat after `began`, so it has
    /// replayed the leadership changes. A broker whose session is lost but not yet expired
    /// still counts as active, with its old metadata offset, until it is fenced.
    fn shutdown_granted(&self, b: BrokerId, began: Instant, now: Instant) -> bool {
        if self.partitions.iter().any(|p| p.leader == Some(b)) {
            return false;
        }
        (0..self.brokers.len())
            .map(|o| BrokerId(o as u32))
            .filter(|&o| o != b)
            .all(|o| {
                let other = &self.brokers[o.0 as usize];
                match other.session {
                    Session::Fenced => true,
                    Session::Lost => false,
                    Session::Connected => {
                        other.lifecycle != Lifecycle::Running
                            || self.last_heartbeat(o, now).is_some_and(|t| t > began)
                    }
                }
            })
    }

    /// Whether broker `b` may join an ISR as far as its lifecycle goes: not in controlled
    /// shutdown (KIP-841).
    pub(crate) fn is_eligible_follower(&self, b: BrokerId) -> bool {
        self.brokers[b.0 as usize].lifecycle == Lifecycle::Running
    }

    /// Whether broker `b` may be a leader or join an ISR: heard by the controller and not
    /// shutting down (KIP-841: fenced and shutting-down brokers are ineligible).
    pub(crate) fn is_eligible(&self, b: BrokerId) -> bool {
        self.hears_controller(b) && self.brokers[b.0 as usize].lifecycle == Lifecycle::Running
    }

    /// Whether broker `b` follows the controller's metadata (up and its session open).
    pub(crate) fn hears_controller(&self, b: BrokerId) -> bool {
        let broker = &self.brokers[b.0 as usize];
        broker.alive && broker.session == Session::Connected
    }

    /// The leader of `p` replays the controller's record (metadata): its committed ISR and
    /// partition epoch become the controller's, and a pending change is dropped (Kafka's
    /// `makeLeader` sets a `CommittedPartitionState`). Only if the leader hears the controller.
    pub(crate) fn push_isr_to_leader(&mut self, p: PartitionId) {
        let Some(leader) = self.partitions[p.0 as usize].leader else {
            return;
        };
        if !self.hears_controller(leader) {
            return;
        }
        self.touch_partition(p);
        let record = &self.partitions[p.0 as usize];
        let (isr, partition_epoch) = (record.isr.clone(), record.partition_epoch);
        if let Some(Role::Leader(state)) = self.replica_mut(leader, p).map(|r| &mut r.role) {
            state.isr = isr;
            state.partition_epoch = partition_epoch;
            state.pending = PendingIsr::None;
        }
    }

    /// Elects a leader for `p` (`PartitionChangeBuilder.electAnyLeader`): the first eligible
    /// ISR member in assignment order; with the ISR empty (ELR on) the first eligible ELR
    /// member, which becomes the ISR; else (unclean election enabled) the first eligible
    /// replica, which becomes the ISR and clears the ELR; else none (offline).
    fn elect<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
        p: PartitionId,
    ) {
        let state = &self.partitions[p.0 as usize];
        let eligible = |r: &&BrokerId| self.is_eligible(**r);
        let first_in = |set: &[BrokerId]| {
            state
                .replicas
                .iter()
                .filter(eligible)
                .find(|r| set.contains(r))
                .copied()
        };
        let choice = match first_in(&state.isr) {
            Some(leader) => Some((leader, Election::Clean)),
            None if state.isr.is_empty() => first_in(&state.elr).map(|l| (l, Election::FromElr)),
            None => None,
        };
        let choice = choice.or_else(|| {
            self.params
                .unclean_election
                .then(|| state.replicas.iter().find(eligible).copied())
                .flatten()
                .map(|l| (l, Election::Unclean))
        });
        let state = &mut self.partitions[p.0 as usize];
        match choice {
            Some((leader, election)) => {
                state.leader = Some(leader);
                state.leader_epoch = LeaderEpoch(state.leader_epoch.0 + 1);
                state.partition_epoch += 1;
                let elr = match election {
                    Election::Clean => state.elr.clone(),
                    Election::FromElr => {
                        state.isr = vec![leader];
                        state.elr.iter().copied().filter(|&r| r != leader).collect()
                    }
                    Election::Unclean => {
                        state.isr = vec![leader];
                        Vec::new()
                    }
                };
                let epoch = state.leader_epoch.0;
                let was_unclean = election == Election::Unclean;
                ctx.trace("controller", "elect", |e| {
                    e.with("partition", p.0)
                        .with("leader", leader.0)
                        .with("epoch", epoch)
                        .with("unclean", was_unclean)
                });
                self.set_elr(ctx, p, elr);
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
        self.touch_partition(p);
        let followers = self.initial_followers(ctx.now(), b, p);
        let isr = self.partitions[p.0 as usize].isr.clone();
        let partition_epoch = self.partitions[p.0 as usize].partition_epoch;
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
            partition_epoch,
            pending: PendingIsr::None,
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
        self.touch_partition(p);
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
        let fetcher = &mut self.brokers[b.0 as usize].fetchers[leader.0 as usize];
        fetcher.partitions.push(p);
        fetcher.session.join(p);
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
            if fetcher.partitions.contains(&p) {
                fetcher.partitions.retain(|&q| q != p);
                fetcher.session.leave(p);
            }
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

    /// Starts settling: heals every link, restarts every crashed broker, reconnects every
    /// fenced one to the controller and keeps up any broker still in controlled shutdown. The
    /// caller stops the producer and the random faults first, then runs until
    /// [`Cluster::is_settled`].
    pub fn begin_settle<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
    ) {
        self.settling = true;
        net.heal_all();
        for broker in &mut self.brokers {
            broker.injections.clear();
            // A controlled shutdown still under way is abandoned: the broker stays up and,
            // eligible again, rejoins the ISRs.
            broker.lifecycle = Lifecycle::Running;
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
