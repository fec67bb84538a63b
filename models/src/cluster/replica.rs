//! Replication: follower fetch sessions, the leader's view of its followers, ISR shrink and
//! expand, and the high watermark.
//!
//! ```text
//!   follower                                  leader
//!   FetchSend ── fetch connection f→l ──► FetchArrive: update follower LEO / lastCaughtUpTime,
//!                                              expand ISR, advance HW (completes purgatory)
//!                                              data beyond fetch offset? respond now
//!                                              : park until an append or fetch.wait.max
//!   FetchResponseArrive ◄── same connection ── respond: batches by Rc (≤ 1 MiB per partition), HW
//!   append (on the fetcher thread), HW = min(leader HW, LEO); next FetchSend after the append
//!   cost; the leader handles each fetch on a handler thread (`fetch_cost_per_request_ns`)
//! ```
//!
//! Fidelity (`Partition.scala`, `Replica.scala`): `lastCaughtUpTime` follows
//! `Replica.updateFetchStateOrThrow`; caught up = `LEO == leader LEO` or
//! `now − lastCaughtUpTime ≤ replica.lag.time.max.ms`; shrink runs every lag/2; expand needs
//! `LEO ≥ HW` and `LEO ≥` the leader epoch's start offset; both go to the controller as
//! AlterPartition proposals, one in flight per partition (see `isr`); the HW is the minimum LEO
//! over the maximal ISR (`maybeIncrementLeaderHW`: the committed ISR plus a replica whose
//! expand is in flight) and does not move while the committed ISR is below min ISR (3.7+,
//! switchable). Not modelled: `maybeIncrementLeaderHW` also waits for a caught-up follower
//! outside the ISR (`shouldWaitForReplicaToJoinIsr`); here only ISR members hold the HW back. Fetch requests and responses
//! travel on the follower's fetch connection to its leader (see `network`): a cut or a loss
//! delays them by TCP's retransmissions; a fetch on a connection that cannot deliver is
//! noticed after `replica.socket.timeout.ms` (the connection is then abandoned), and one whose
//! connection closes under it (reset, refused by a crashed leader, given up) fails at once; in
//! both cases the next fetch goes out on a new connection after `replica.fetch.backoff.ms`
//! (`AbstractFetcherThread.processFetchRequest` → `handlePartitionsWithErrors` →
//! `delayPartitions`; `BrokerBlockingSender.sendRequest` closes its connection on any error).
//!
//! A fetch visits only the partitions of its session that are not idle (see `fetch_session`):
//! the others are counted in the request's and the response's size, and their follower state
//! is refreshed lazily, so the decisions are those of a walk over every partition.

use std::rc::Rc;

use sim::{Ctx, Duration, Instant};

use super::handlers::Work;
use super::isr::{IsrProposal, PendingIsr};
use super::log::LogBatch;
use super::{Broker, ClusterEvent, FollowerProgress, Role, trace_broker};
use crate::cluster::Cluster;
use crate::network::{NetEvent, Network};
use crate::protocol::{BrokerId, LeaderEpoch, Node, PartitionId};

/// Most bytes a fetch response carries per partition (`replica.fetch.max.bytes`).
const FETCH_MAX_BYTES_PER_PARTITION: u64 = 1_048_576;

/// One partition in a fetch request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FetchPartition {
    /// Which partition.
    pub partition: PartitionId,
    /// The follower's LEO.
    pub fetch_offset: i64,
    /// The leader epoch the follower follows.
    pub epoch: LeaderEpoch,
}

/// A follower's fetch request to a leader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchRequest {
    /// The follower.
    pub follower: BrokerId,
    /// The leader.
    pub leader: BrokerId,
    /// The follower's incarnation.
    pub incarnation: u32,
    /// The fetch's sequence number in its session.
    pub fetch_seq: u64,
    /// The fetch connection it travels on (set by the network).
    pub conn: u32,
    /// Partitions and offsets.
    pub partitions: Vec<FetchPartition>,
}

/// Data for one partition in a fetch response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchedPartition {
    /// Which partition.
    pub partition: PartitionId,
    /// The leader's epoch (the follower ignores data from another epoch).
    pub epoch: LeaderEpoch,
    /// The offset this data starts at (the request's fetch offset).
    pub fetch_offset: i64,
    /// The leader's high watermark.
    pub hw: i64,
    /// Batches from `fetch_offset`, shared with the leader's log.
    pub batches: Vec<Rc<LogBatch>>,
}

/// A leader's fetch response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchResponse {
    /// The follower.
    pub follower: BrokerId,
    /// The leader.
    pub leader: BrokerId,
    /// The follower's incarnation (from the request).
    pub incarnation: u32,
    /// The fetch's sequence number.
    pub fetch_seq: u64,
    /// The fetch connection of the request, which the response goes back on.
    pub conn: u32,
    /// Partitions this broker still leads at the requested epoch.
    pub partitions: Vec<FetchedPartition>,
}

/// Spare fetch requests, responses and batch lists, refilled instead of allocated: every
/// follower fetch would otherwise allocate a boxed request with its partition list, a boxed
/// response with its partition list and one batch list per partition, and free them all on
/// arrival. Only the capacity is reused; a recycled item is emptied first (so the log batches
/// it referenced are released as before), and the pool holds at most as many items as were
/// ever in flight at once.
#[derive(Clone, Debug, Default)]
#[allow(
    clippy::vec_box,
    reason = "the boxes themselves are what is reused: events carry requests and responses boxed"
)]
pub(crate) struct FetchPool {
    requests: Vec<Box<FetchRequest>>,
    responses: Vec<Box<FetchResponse>>,
    batch_lists: Vec<Vec<Rc<LogBatch>>>,
}

impl FetchPool {
    /// An empty request (fields to be overwritten, partitions empty).
    fn request(&mut self) -> Box<FetchRequest> {
        self.requests.pop().unwrap_or_else(|| {
            Box::new(FetchRequest {
                follower: BrokerId(0),
                leader: BrokerId(0),
                incarnation: 0,
                fetch_seq: 0,
                conn: 0,
                partitions: Vec::new(),
            })
        })
    }

    pub(crate) fn recycle_request(&mut self, mut req: Box<FetchRequest>) {
        req.partitions.clear();
        self.requests.push(req);
    }

    /// An empty response (fields to be overwritten, partitions empty).
    fn response(&mut self) -> Box<FetchResponse> {
        self.responses.pop().unwrap_or_else(|| {
            Box::new(FetchResponse {
                follower: BrokerId(0),
                leader: BrokerId(0),
                incarnation: 0,
                fetch_seq: 0,
                conn: 0,
                partitions: Vec::new(),
            })
        })
    }

    fn recycle_response(&mut self, mut resp: Box<FetchResponse>) {
        for fp in resp.partitions.drain(..) {
            self.recycle_batches(fp.batches);
        }
        self.responses.push(resp);
    }

    /// An empty batch list.
    fn batches(&mut self) -> Vec<Rc<LogBatch>> {
        self.batch_lists.pop().unwrap_or_default()
    }

    fn recycle_batches(&mut self, mut batches: Vec<Rc<LogBatch>>) {
        batches.clear();
        if batches.capacity() > 0 {
            self.batch_lists.push(batches);
        }
    }
}

impl Cluster {
    /// Starts a fetch from `follower` to `leader` now, unless one is in flight or scheduled.
    pub(crate) fn kick_fetcher<E: From<ClusterEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        follower: BrokerId,
        leader: BrokerId,
    ) {
        let broker = &mut self.brokers[follower.0 as usize];
        let fetcher = &mut broker.fetchers[leader.0 as usize];
        if !broker.alive
            || fetcher.scheduled
            || fetcher.in_flight.is_some()
            || fetcher.partitions.is_empty()
        {
            return;
        }
        fetcher.scheduled = true;
        ctx.schedule_at(
            ctx.now(),
            E::from(ClusterEvent::FetchSend {
                follower,
                leader,
                incarnation: broker.incarnation,
            }),
        );
    }

    pub(crate) fn on_fetch_send<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
        (follower, leader): (BrokerId, BrokerId),
        incarnation: u32,
    ) {
        let socket_timeout = self.params.replica_socket_timeout;
        let broker = &mut self.brokers[follower.0 as usize];
        if !broker.alive || broker.incarnation != incarnation {
            return;
        }
        let fetcher = &mut broker.fetchers[leader.0 as usize];
        fetcher.scheduled = false;
        if fetcher.in_flight.is_some() || fetcher.partitions.is_empty() {
            return;
        }
        let mut req = self.fetch_pool.request();
        let implicit = broker.fetch_partitions(leader, &mut req.partitions);
        let fetcher = &mut broker.fetchers[leader.0 as usize];
        let now = ctx.now();
        let bytes = 64 + 16 * (req.partitions.len() + implicit) as u64;
        fetcher.fetch_seq += 1;
        let fetch_seq = fetcher.fetch_seq;
        fetcher.in_flight = Some(fetch_seq);
        fetcher.sent_at = now;
        if !fetcher.watchdog_armed {
            fetcher.watchdog_armed = true;
            let ev = ClusterEvent::FetchTimeout {
                follower,
                leader,
                incarnation,
                fetch_seq,
            };
            ctx.schedule_at(now + socket_timeout, E::from(ev));
        }
        req.follower = follower;
        req.leader = leader;
        req.incarnation = incarnation;
        req.fetch_seq = fetch_seq;
        // A cut link or a lost segment delays the request (TCP retransmits it); a broken or
        // blackholed connection loses it, which the watchdog above or the connection's closing
        // notices.
        if let Err(req) = net.send_fetch_request(ctx, bytes, req) {
            self.fetch_pool.recycle_request(req);
        }
    }

    /// The follower's watchdog: at most one pending per fetcher, re-armed for the fetch in flight.
    pub(crate) fn on_fetch_timeout<E: From<ClusterEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
        (follower, leader): (BrokerId, BrokerId),
        incarnation: u32,
    ) {
        let socket_timeout = self.params.replica_socket_timeout;
        let broker = &mut self.brokers[follower.0 as usize];
        if !broker.alive || broker.incarnation != incarnation {
            return;
        }
        let fetcher = &mut broker.fetchers[leader.0 as usize];
        fetcher.watchdog_armed = false;
        let Some(fetch_seq) = fetcher.in_flight else {
            return;
        };
        let now = ctx.now();
        let deadline = fetcher.sent_at + socket_timeout;
        if now < deadline {
            fetcher.watchdog_armed = true;
            ctx.schedule_at(
                deadline,
                E::from(ClusterEvent::FetchTimeout {
                    follower,
                    leader,
                    incarnation,
                    fetch_seq,
                }),
            );
            return;
        }
        // replica.socket.timeout.ms passed: the fetcher abandons the connection.
        net.close_fetch_connection(follower, leader);
        self.retry_fetch_after_backoff(ctx, (follower, leader));
    }

    /// `follower`'s fetch connection `conn` to `leader` closed under it (reset, refused, given
    /// up): the fetch in flight fails, and the next one goes out on a new connection after
    /// `replica.fetch.backoff.ms` (`AbstractFetcherThread` delays the partitions).
    pub fn on_fetch_connection_closed<E: From<ClusterEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
        (follower, leader): (BrokerId, BrokerId),
        conn: u32,
    ) {
        if net.fetch_connection(follower, leader) != conn {
            return;
        }
        net.close_fetch_connection(follower, leader);
        if !self.brokers[follower.0 as usize].alive {
            return;
        }
        trace_broker(ctx, follower, "fetch_disconnected", |e| {
            e.with("leader", leader.0)
        });
        self.retry_fetch_after_backoff(ctx, (follower, leader));
    }

    /// The fetch in flight from `follower` to `leader` failed: the next one is sent after
    /// `replica.fetch.backoff.ms`.
    fn retry_fetch_after_backoff<E: From<ClusterEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        (follower, leader): (BrokerId, BrokerId),
    ) {
        let backoff = self.params.replica_fetch_backoff;
        self.expire_fetch_request(follower, leader);
        let broker = &mut self.brokers[follower.0 as usize];
        let incarnation = broker.incarnation;
        let fetcher = &mut broker.fetchers[leader.0 as usize];
        if fetcher.in_flight.take().is_none() || fetcher.scheduled {
            return;
        }
        fetcher.scheduled = true;
        ctx.schedule_at(
            ctx.now() + backoff,
            E::from(ClusterEvent::FetchSend {
                follower,
                leader,
                incarnation,
            }),
        );
    }

    pub(crate) fn on_fetch_arrive<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
        req: Box<FetchRequest>,
    ) {
        let leader = req.leader;
        if !self.brokers[leader.0 as usize].alive {
            if net.refuses_connections(leader) {
                // The process is gone, its host answers the connect with a reset.
                net.refuse(ctx, Node::Broker(req.follower), leader, req.conn);
            }
            self.fetch_pool.recycle_request(req);
            return;
        }
        if req.conn != net.fetch_connection(req.follower, leader) {
            // The follower has closed that connection since.
            self.fetch_pool.recycle_request(req);
            return;
        }
        // The fetch is handled on a handler thread (see `handlers`); a free fetch on an idle
        // pool is handled at once, without an event.
        let cost = self.params.fetch_cost_per_request;
        let broker = &mut self.brokers[leader.0 as usize];
        let now = ctx.now();
        if cost == Duration::ZERO && broker.handlers.idle_at(now) {
            broker.handlers.note_fetch_handled_at_once();
            self.handle_fetch(ctx, net, req);
            return;
        }
        let admitted = broker.handlers.admit(now, cost, Work::Fetch(req));
        ctx.schedule_at(
            admitted.done,
            E::from(ClusterEvent::RequestProcessed {
                broker: leader,
                thread: admitted.thread,
                incarnation: broker.incarnation,
            }),
        );
    }

    /// A handler thread of the leader handles a follower's fetch: follower state, ISR and HW,
    /// then an answer now or a long poll.
    pub(crate) fn handle_fetch<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
        req: Box<FetchRequest>,
    ) {
        let leader = req.leader;
        if req.conn != net.fetch_connection(req.follower, leader) {
            // The follower closed that connection while the fetch waited for a thread.
            self.fetch_pool.recycle_request(req);
            return;
        }
        let mut req = req;
        let current = self.is_current_fetch(&req);
        if current {
            let session = self.session_mut(req.follower, leader);
            session.merge_touched(&mut req.partitions);
            // The idle partitions, named implicitly, are handled now (see `fetch_session`).
            session.last_handled = ctx.now();
        }
        let mut has_data = false;
        for fp in &req.partitions {
            // A partition this broker does not lead at that epoch gets no data; roles change on
            // every live replica at once, so the follower is about to be told its new leader.
            let Some(leo) = self.leader_leo_at_epoch(leader, fp.partition, fp.epoch) else {
                continue;
            };
            if fp.fetch_offset > leo {
                continue;
            }
            self.update_follower_state(
                ctx,
                net,
                (leader, fp.partition),
                (req.follower, fp.fetch_offset),
            );
            has_data |= leo > fp.fetch_offset;
        }
        if current && !self.params.full_fetch_requests {
            let now = ctx.now();
            let follower = req.follower;
            for fp in &req.partitions {
                if self.idle_after_fetch(now, (follower, leader), fp) {
                    self.session_mut(follower, leader)
                        .mark_idle(fp, req.fetch_seq);
                }
            }
            self.session_mut(follower, leader).settle_active();
        }
        let wait = self.params.replica_fetch_wait_max;
        if has_data || wait == Duration::ZERO {
            self.respond_fetch(ctx, net, req);
            return;
        }
        let broker = &mut self.brokers[leader.0 as usize];
        let (follower, fetch_seq, incarnation) = (req.follower, req.fetch_seq, broker.incarnation);
        broker.parked_fetches[follower.0 as usize] = Some(req);
        let timer =
            *broker.parked_fetch_timers[follower.0 as usize].get_or_insert_with(|| ctx.new_timer());
        let ev = ClusterEvent::FetchWaitExpired {
            leader,
            follower,
            incarnation,
            fetch_seq,
        };
        ctx.arm(timer, ctx.now() + wait, E::from(ev));
    }

    fn leader_leo_at_epoch(
        &self,
        leader: BrokerId,
        p: PartitionId,
        epoch: LeaderEpoch,
    ) -> Option<i64> {
        let replica = self.brokers[leader.0 as usize]
            .replicas
            .get(p.0 as usize)?
            .as_ref()?;
        match &replica.role {
            Role::Leader(state) if state.epoch == epoch => Some(replica.log.leo()),
            _ => None,
        }
    }

    pub(crate) fn on_fetch_wait_expired<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
        (leader, follower): (BrokerId, BrokerId),
        (incarnation, fetch_seq): (u32, u64),
    ) {
        let broker = &mut self.brokers[leader.0 as usize];
        if !broker.alive || broker.incarnation != incarnation {
            return;
        }
        let slot = &mut broker.parked_fetches[follower.0 as usize];
        if slot.as_ref().is_some_and(|r| r.fetch_seq == fetch_seq) {
            let req = slot.take().expect("checked just above");
            self.respond_fetch(ctx, net, req);
        }
    }

    /// Answers every fetch parked on `leader` that covers `p` (new data arrived).
    pub(crate) fn wake_parked_fetches<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
        leader: BrokerId,
        p: PartitionId,
    ) {
        for i in 0..self.partitions[p.0 as usize].replicas.len() {
            let follower = self.partitions[p.0 as usize].replicas[i];
            self.merge_touched_into_parked(leader, follower);
            let slot = &mut self.brokers[leader.0 as usize].parked_fetches[follower.0 as usize];
            if slot
                .as_ref()
                .is_some_and(|r| r.partitions.iter().any(|fp| fp.partition == p))
            {
                let req = slot.take().expect("checked just above");
                if let Some(timer) =
                    self.brokers[leader.0 as usize].parked_fetch_timers[follower.0 as usize]
                {
                    ctx.disarm(timer);
                }
                self.respond_fetch(ctx, net, req);
            }
        }
    }

    fn respond_fetch<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
        mut req: Box<FetchRequest>,
    ) {
        let (follower, leader) = (req.follower, req.leader);
        // The idle partitions the request names implicitly are answered with no data and the
        // high watermark the follower has: 16 bytes each, and nothing to do on arrival.
        let mut implicit = 0;
        if self.is_current_fetch(&req) {
            let session = self.session_mut(follower, leader);
            session.merge_touched(&mut req.partitions);
            implicit = session.implicit_count() as u64;
        }
        let mut resp = self.fetch_pool.response();
        resp.follower = follower;
        resp.leader = leader;
        resp.incarnation = req.incarnation;
        resp.fetch_seq = req.fetch_seq;
        resp.conn = req.conn;
        let mut bytes = 64 + 16 * implicit;
        for fp in &req.partitions {
            let Some(replica) =
                self.brokers[leader.0 as usize].replicas[fp.partition.0 as usize].as_ref()
            else {
                continue;
            };
            let Role::Leader(state) = &replica.role else {
                continue;
            };
            if state.epoch != fp.epoch || fp.fetch_offset > replica.log.leo() {
                continue;
            }
            let mut taken = 0u64;
            let mut batches = Vec::new();
            for b in &replica.log.entries()[replica.log.index_from(fp.fetch_offset)..] {
                if taken != 0 && taken + u64::from(b.size_bytes) > FETCH_MAX_BYTES_PER_PARTITION {
                    break;
                }
                taken += u64::from(b.size_bytes);
                if batches.capacity() == 0 {
                    // Only a partition with data takes a list (an empty one allocates nothing).
                    batches = self.fetch_pool.batches();
                }
                batches.push(Rc::clone(b));
            }
            bytes += 16 + taken;
            resp.partitions.push(FetchedPartition {
                partition: fp.partition,
                epoch: fp.epoch,
                fetch_offset: fp.fetch_offset,
                hw: replica.hw,
                batches,
            });
        }
        self.fetch_pool.recycle_request(req);
        if let Err(resp) = net.send_fetch_response(ctx, bytes, resp) {
            self.fetch_pool.recycle_response(resp);
        }
    }

    pub(crate) fn on_fetch_response<E: From<ClusterEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        mut resp: Box<FetchResponse>,
    ) {
        let (batch_cost, kib_cost) = (
            self.params.append_cost_per_batch.as_nanos(),
            self.params.append_cost_per_kib_ns,
        );
        let broker = &mut self.brokers[resp.follower.0 as usize];
        let fetcher = &mut broker.fetchers[resp.leader.0 as usize];
        if !broker.alive
            || broker.incarnation != resp.incarnation
            || fetcher.in_flight != Some(resp.fetch_seq)
        {
            self.fetch_pool.recycle_response(resp);
            return;
        }
        fetcher.in_flight = None;
        let mut cost = 0u64;
        for mut fp in resp.partitions.drain(..) {
            let following = broker.replicas[fp.partition.0 as usize]
                .as_mut()
                .filter(|r| matches!(r.role, Role::Follower { leader, epoch } if leader == resp.leader && epoch == fp.epoch))
                .filter(|r| r.log.leo() == fp.fetch_offset);
            if let Some(replica) = following {
                for batch in fp.batches.drain(..) {
                    cost += batch_cost + u64::from(batch.size_bytes) * kib_cost / 1024;
                    replica.producers.record(&batch);
                    replica.log.append(batch);
                }
                replica.hw = replica.hw.max(fp.hw.min(replica.log.leo()));
            }
            self.fetch_pool.recycle_batches(fp.batches);
        }
        // The appends ran on this session's fetcher thread, idle while its fetch was out: the
        // next fetch leaves once they are done; the handler threads are not involved.
        broker.handlers.stats.fetcher_busy_ns += cost;
        let next_fetch_at = ctx.now() + Duration::from_nanos(cost);
        let fetcher = &mut broker.fetchers[resp.leader.0 as usize];
        if !fetcher.scheduled && !fetcher.partitions.is_empty() {
            fetcher.scheduled = true;
            let ev = ClusterEvent::FetchSend {
                follower: resp.follower,
                leader: resp.leader,
                incarnation: broker.incarnation,
            };
            ctx.schedule_at(next_fetch_at, E::from(ev));
        }
        self.fetch_pool.recycle_response(resp);
    }

    /// Kafka's `updateFollowerFetchState`: LEO, `lastCaughtUpTime`, then ISR expand and HW.
    fn update_follower_state<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
        (leader, p): (BrokerId, PartitionId),
        (follower, fetch_offset): (BrokerId, i64),
    ) {
        let now = ctx.now();
        let replica = self
            .replica_mut(leader, p)
            .expect("the caller checked leadership");
        let leo = replica.log.leo();
        let hw = replica.hw;
        let Role::Leader(state) = &mut replica.role else {
            return;
        };
        let epoch_start = state.epoch_start_offset;
        let Some(progress) = state.followers.iter_mut().find(|f| f.broker == follower) else {
            return;
        };
        if fetch_offset >= leo {
            progress.last_caught_up = progress.last_caught_up.max(now);
        } else if fetch_offset >= progress.last_fetch_leader_leo {
            progress.last_caught_up = progress.last_caught_up.max(progress.last_fetch_time);
        }
        progress.last_fetch_leader_leo = leo;
        progress.last_fetch_time = now;
        progress.leo = fetch_offset;
        // Expand (Partition.maybeExpandIsr): nothing in flight, caught up to the HW and the
        // epoch start, and eligible (not fenced, not shutting down); through AlterPartition.
        let may_join = !state.isr.contains(&follower) && state.pending == PendingIsr::None;
        if may_join
            && fetch_offset >= hw
            && fetch_offset >= epoch_start
            && !self.is_fenced(follower)
            && self.is_eligible_follower(follower)
        {
            self.propose_isr(ctx, (leader, p), IsrProposal::Expand(follower));
        }
        self.maybe_advance_hw(ctx, net, leader, p);
    }

    /// Recomputes the leader's HW (min LEO over the maximal ISR: the committed ISR plus a
    /// replica whose expand is in flight; frozen while the committed ISR is under min ISR) and
    /// completes the purgatory watchers it passes.
    pub(crate) fn maybe_advance_hw<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
        leader: BrokerId,
        p: PartitionId,
    ) {
        let frozen = self.params.hw_frozen_under_min_isr;
        let min_isr = self.params.effective_min_isr as usize;
        let Some(replica) = self.brokers[leader.0 as usize].replicas[p.0 as usize].as_mut() else {
            return;
        };
        let Role::Leader(state) = &mut replica.role else {
            return;
        };
        if frozen && state.isr.len() < min_isr {
            return;
        }
        let mut new_hw = replica.log.leo();
        let joining = state.pending.joining();
        for f in state
            .followers
            .iter()
            .filter(|f| state.isr.contains(&f.broker) || joining == Some(f.broker))
        {
            new_hw = new_hw.min(f.leo);
        }
        if new_hw <= replica.hw {
            return;
        }
        replica.hw = new_hw;
        self.touch_partition(p);
        let Some(replica) = self.brokers[leader.0 as usize].replicas[p.0 as usize].as_mut() else {
            return;
        };
        let Role::Leader(state) = &mut replica.role else {
            return;
        };
        // Taken, not borrowed: resolving needs `self` (a nested use just allocates anew).
        let mut passed = std::mem::take(&mut self.produce_scratch.passed);
        while state
            .watchers
            .front()
            .is_some_and(|w| w.required_offset <= new_hw)
        {
            passed.push(state.watchers.pop_front().expect("checked non-empty"));
        }
        trace_broker(ctx, leader, "hw", |e| {
            e.with("partition", p.0).with("hw", new_hw)
        });
        if !passed.is_empty() {
            let verdict = self.hw_passed_verdict(leader, p);
            for &w in &passed {
                self.resolve_delayed(ctx, net, leader, (w, verdict));
            }
            passed.clear();
        }
        self.produce_scratch.passed = passed;
    }

    /// The periodic shrink (`Partition.maybeShrinkIsr`): where nothing is in flight, propose
    /// to drop the ISR members that are not caught up. The HW moves when the answer comes.
    pub(crate) fn on_isr_check<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        b: BrokerId,
        incarnation: u32,
    ) {
        let broker = &self.brokers[b.0 as usize];
        if !broker.alive || broker.incarnation != incarnation {
            return;
        }
        for p in 0..self.partitions.len() {
            let partition = PartitionId(p as u32);
            let lagging = self.lagging_isr_members(ctx.now(), b, partition);
            if !lagging.is_empty() {
                self.propose_isr(ctx, (b, partition), IsrProposal::Shrink(lagging));
            }
        }
        self.schedule_isr_check(ctx, b);
    }

    fn lagging_isr_members(&self, now: Instant, b: BrokerId, p: PartitionId) -> Vec<BrokerId> {
        let lag = self.params.replica_lag_time_max;
        let Some(replica) = self.brokers[b.0 as usize].replicas[p.0 as usize].as_ref() else {
            return Vec::new();
        };
        let Role::Leader(state) = &replica.role else {
            return Vec::new();
        };
        if state.pending != PendingIsr::None {
            return Vec::new();
        }
        let leo = replica.log.leo();
        state
            .followers
            .iter()
            .filter(|f| {
                state.isr.contains(&f.broker)
                    && f.leo != leo
                    && now.saturating_since(f.last_caught_up) > lag
            })
            .map(|f| f.broker)
            .collect()
    }

    pub(crate) fn schedule_isr_check<E: From<ClusterEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        b: BrokerId,
    ) {
        let period = Duration::from_nanos((self.params.replica_lag_time_max.as_nanos() / 2).max(1));
        let incarnation = self.brokers[b.0 as usize].incarnation;
        ctx.schedule_after(
            period,
            E::from(ClusterEvent::IsrCheck {
                broker: b,
                incarnation,
            }),
        );
    }

    /// How many replicas the maximal ISR of leader `b` of `p` holds (0 if it does not lead `p`).
    pub(crate) fn leader_maximal_isr_len(&self, b: BrokerId, p: PartitionId) -> usize {
        match self.replica(b, p).map(|r| &r.role) {
            Some(Role::Leader(state)) => {
                state.isr.len() + usize::from(state.pending.joining().is_some())
            }
            _ => 0,
        }
    }

    /// The committed ISR as leader `b` of `p` sees it, if it leads `p`.
    pub(crate) fn leader_isr(&self, b: BrokerId, p: PartitionId) -> Option<&[BrokerId]> {
        match &self.replica(b, p)?.role {
            Role::Leader(state) => Some(&state.isr),
            _ => None,
        }
    }

    /// Fresh follower progress for a new leader: ISR members count as caught up now.
    pub(crate) fn initial_followers(
        &self,
        now: Instant,
        leader: BrokerId,
        p: PartitionId,
    ) -> Vec<FollowerProgress> {
        let state = &self.partitions[p.0 as usize];
        state
            .replicas
            .iter()
            .filter(|&&r| r != leader)
            .map(|&r| FollowerProgress {
                broker: r,
                leo: -1,
                last_caught_up: if state.isr.contains(&r) {
                    now
                } else {
                    Instant::ZERO
                },
                last_fetch_time: Instant::ZERO,
                last_fetch_leader_leo: -1,
            })
            .collect()
    }
}

impl Broker {
    /// Fills `out` with the partitions this broker fetches from `leader` that are not idle,
    /// each at its LEO and followed epoch, in the session's order; returns how many idle
    /// partitions the request names implicitly.
    fn fetch_partitions(&mut self, leader: BrokerId, out: &mut Vec<FetchPartition>) -> usize {
        let Broker {
            fetchers, replicas, ..
        } = self;
        let session = &mut fetchers[leader.0 as usize].session;
        let explicit = session.begin_request();
        out.extend(explicit.iter().filter_map(|&p| {
            let replica = replicas[p.0 as usize].as_ref()?;
            match replica.role {
                Role::Follower { leader: l, epoch } if l == leader => Some(FetchPartition {
                    partition: p,
                    fetch_offset: replica.log.leo(),
                    epoch,
                }),
                _ => None,
            }
        }));
        session.implicit_count()
    }
}
