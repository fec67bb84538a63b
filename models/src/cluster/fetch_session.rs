//! The bookkeeping that lets a fetch touch only the partitions where something happens.
//!
//! A follower's fetch session with a leader covers every partition it follows there, and each
//! fetch names them all with their fetch offsets; the leader updates each follower's state, the
//! ISR and the high watermark per partition, and answers with each partition's data and high
//! watermark. For a partition that is fully caught up, nothing of that changes anything but
//! two timestamps of the leader's follower state: the follower's LEO equals the leader's LEO,
//! which equals both high watermarks, the follower is in the leader's ISR, and the answer
//! carries no data and the high watermark the follower already has. Such a partition is
//! *idle* in the session. An idle partition is still counted in every request and response
//! (its 16 bytes on the wire), but no fetch visits it; its two timestamps (`lastCaughtUpTime`
//! and the last fetch time) are kept once for the session (`last_handled`, the time of the
//! last fetch the leader handled) and written back into the leader's follower state when the
//! partition stops being idle.
//!
//! A partition stops being idle ("touched") before anything that could change one of those
//! conditions: a leader append, a high-watermark move, an ISR change, a role change, a
//! truncation, a crash. Touching is always safe: a touched partition is visited like any
//! other until a fetch finds it idle again. A partition touched while the session's latest
//! request is out was named by that request implicitly; it is kept in `touched` with the
//! offset and epoch the request carried, so the leader handles and answers it as if the
//! request had named it, in the session's partition order.
//!
//! Fidelity: this changes what the simulator computes, not what the brokers decide: the
//! decisions are those of the full walk, which is what Kafka's leader does (with KIP-227
//! incremental fetch sessions, `IncrementalFetchContext.foreachPartition` in `FetchSession.scala`
//! still hands every cached partition of the session to `ReplicaManager.readFromLog`, and
//! `Partition.updateFollowerFetchState` runs for each; the sessions shrink what is sent, not
//! what is visited). The wire sizes stay those of full requests and responses, as before.
//! The cluster config's `full_fetch_requests` turns the shortcut off, and
//! `experiments/tests/fetch_sessions.rs` compares both on the catalog, the scenarios and
//! fuzzed experiments.

use sim::Instant;

use super::replica::{FetchPartition, FetchRequest};
use super::{Cluster, Role};
use crate::protocol::{BrokerId, LeaderEpoch, PartitionId};

/// A partition that no fetch needs to visit, with what the requests say about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Idle {
    /// The follower's LEO, which is also the leader's LEO and both high watermarks.
    pub(crate) fetch_offset: i64,
    /// The leader epoch followed.
    pub(crate) epoch: LeaderEpoch,
    /// The request whose handling found it idle: later requests name it implicitly.
    since_seq: u64,
}

#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    /// In the session's partition list.
    member: bool,
    /// Position in that list: partitions join in increasing keys and leave without reordering.
    key: u64,
    idle: Option<Idle>,
}

/// One fetch session's idle partitions (see the module doc).
#[derive(Clone, Debug, Default)]
pub(crate) struct FetchSession {
    /// Indexed by partition id.
    slots: Vec<Slot>,
    next_key: u64,
    /// Members that are not idle, in no particular order.
    active: Vec<PartitionId>,
    idle_count: usize,
    /// Idle partitions the latest request names implicitly and that are still idle.
    implicit_count: usize,
    /// Partitions the latest request named implicitly, touched since it was sent.
    touched: Vec<FetchPartition>,
    /// When the leader last handled a fetch of this session (the idle partitions' last fetch).
    pub(crate) last_handled: Instant,
}

impl FetchSession {
    /// `p` joins the session (the end of its partition list).
    pub(crate) fn join(&mut self, p: PartitionId) {
        let i = p.0 as usize;
        if self.slots.len() <= i {
            self.slots.resize(i + 1, Slot::default());
        }
        let slot = &mut self.slots[i];
        debug_assert!(!slot.member, "a partition joins a session once");
        *slot = Slot {
            member: true,
            key: self.next_key,
            idle: None,
        };
        self.next_key += 1;
        self.active.push(p);
    }

    /// `p` leaves the session (the caller touched it first).
    pub(crate) fn leave(&mut self, p: PartitionId) {
        let Some(slot) = self.slots.get_mut(p.0 as usize) else {
            return;
        };
        if !slot.member {
            return;
        }
        slot.member = false;
        if slot.idle.take().is_some() {
            self.idle_count -= 1;
        } else {
            self.active.retain(|&q| q != p);
        }
    }

    /// `p` may change: it stops being idle. Returns what it was idle at, for the caller to
    /// write the session's timestamps back into the leader's follower state. `latest_seq` is
    /// the sequence number of the session's latest request.
    pub(crate) fn touch(&mut self, p: PartitionId, latest_seq: u64) -> Option<Idle> {
        let slot = self.slots.get_mut(p.0 as usize)?;
        let idle = slot.idle.take()?;
        self.idle_count -= 1;
        self.active.push(p);
        if idle.since_seq < latest_seq {
            self.implicit_count -= 1;
            self.touched.push(FetchPartition {
                partition: p,
                fetch_offset: idle.fetch_offset,
                epoch: idle.epoch,
            });
        }
        Some(idle)
    }

    /// The idle partitions, for a caller that touches them all.
    pub(crate) fn idle_partitions(&self) -> impl Iterator<Item = PartitionId> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.idle.is_some())
            .map(|(p, _)| PartitionId(p as u32))
    }

    /// Whether no partition is idle (the full walk).
    pub(crate) fn has_idle(&self) -> bool {
        self.idle_count > 0
    }

    /// A request is about to be sent: every idle partition is named implicitly, and the
    /// members to name explicitly are returned in the session's partition order.
    pub(crate) fn begin_request(&mut self) -> &[PartitionId] {
        self.touched.clear();
        self.implicit_count = self.idle_count;
        let slots = &self.slots;
        self.active.sort_by_key(|p| slots[p.0 as usize].key);
        &self.active
    }

    /// How many partitions the latest request names implicitly (still idle).
    pub(crate) fn implicit_count(&self) -> usize {
        self.implicit_count
    }

    /// Moves the partitions the latest request named implicitly and that were touched since
    /// into `partitions` (the request's explicit list, in session order), keeping the order.
    pub(crate) fn merge_touched(&mut self, partitions: &mut Vec<FetchPartition>) {
        if self.touched.is_empty() {
            return;
        }
        partitions.append(&mut self.touched);
        let slots = &self.slots;
        partitions.sort_by_key(|fp| slots.get(fp.partition.0 as usize).map_or(0, |s| s.key));
    }

    /// The leader handled the latest request (seq `seq`) and found `fp` idle.
    pub(crate) fn mark_idle(&mut self, fp: &FetchPartition, seq: u64) {
        let Some(slot) = self.slots.get_mut(fp.partition.0 as usize) else {
            return;
        };
        if !slot.member || slot.idle.is_some() {
            return;
        }
        slot.idle = Some(Idle {
            fetch_offset: fp.fetch_offset,
            epoch: fp.epoch,
            since_seq: seq,
        });
        self.idle_count += 1;
    }

    /// Drops the partitions marked idle from the active list (after a handled request).
    pub(crate) fn settle_active(&mut self) {
        let slots = &self.slots;
        self.active
            .retain(|p| slots.get(p.0 as usize).is_some_and(|s| s.idle.is_none()));
    }
}

impl Cluster {
    /// `follower`'s fetch session with `leader`.
    pub(crate) fn session_mut(
        &mut self,
        follower: BrokerId,
        leader: BrokerId,
    ) -> &mut FetchSession {
        &mut self.brokers[follower.0 as usize].fetchers[leader.0 as usize].session
    }

    /// Whether `req` is its session's latest request, still waiting for its answer.
    pub(crate) fn is_current_fetch(&self, req: &FetchRequest) -> bool {
        let broker = &self.brokers[req.follower.0 as usize];
        broker.alive
            && broker.incarnation == req.incarnation
            && broker.fetchers[req.leader.0 as usize].in_flight == Some(req.fetch_seq)
    }

    /// Partition `p` may change on one of its replicas: it stops being idle in every fetch
    /// session between them, and the leader's follower state gets its timestamps back.
    pub(crate) fn touch_partition(&mut self, p: PartitionId) {
        let Some(state) = self.partitions.get(p.0 as usize) else {
            return;
        };
        let n = state.replicas.len();
        for i in 0..n {
            for j in 0..n {
                if i != j {
                    let replicas = &self.partitions[p.0 as usize].replicas;
                    self.touch_in_session(p, (replicas[i], replicas[j]));
                }
            }
        }
    }

    /// Touches `p` in the session of `follower` with `leader` only.
    fn touch_in_session(&mut self, p: PartitionId, (follower, leader): (BrokerId, BrokerId)) {
        let fetcher = &mut self.brokers[follower.0 as usize].fetchers[leader.0 as usize];
        if !fetcher.session.has_idle() {
            return;
        }
        let seq = fetcher.fetch_seq;
        if fetcher.session.touch(p, seq).is_none() {
            return;
        }
        let at = fetcher.session.last_handled;
        // While idle, every fetch the leader handled refreshed both timestamps to its time.
        if let Some(Role::Leader(state)) = self.replica_mut(leader, p).map(|r| &mut r.role)
            && let Some(progress) = state.followers.iter_mut().find(|f| f.broker == follower)
        {
            progress.last_caught_up = at;
            progress.last_fetch_time = at;
        }
    }

    /// Touches every partition broker `b` replicates (it crashes).
    pub(crate) fn touch_broker_partitions(&mut self, b: BrokerId) {
        for p in 0..self.partitions.len() {
            if self.brokers[b.0 as usize].replicas[p].is_some() {
                self.touch_partition(PartitionId(p as u32));
            }
        }
    }

    /// The latest request of `follower`'s session with `leader` is about to be given up (its
    /// connection closed, or the follower crashed): every idle partition is touched, and if
    /// the request is parked at the leader it names them all explicitly from now on, so that
    /// whatever still answers it covers what it covered.
    pub(crate) fn expire_fetch_request(&mut self, follower: BrokerId, leader: BrokerId) {
        let fetcher = &self.brokers[follower.0 as usize].fetchers[leader.0 as usize];
        if !fetcher.session.has_idle() {
            return;
        }
        let idle: Vec<PartitionId> = fetcher.session.idle_partitions().collect();
        for p in idle {
            self.touch_in_session(p, (follower, leader));
        }
        self.merge_touched_into_parked(leader, follower);
    }

    /// Names the touched partitions explicitly in `follower`'s fetch parked at `leader`, if it
    /// is its session's latest request.
    pub(crate) fn merge_touched_into_parked(&mut self, leader: BrokerId, follower: BrokerId) {
        let Some(req) = self.brokers[leader.0 as usize].parked_fetches[follower.0 as usize].take()
        else {
            return;
        };
        let mut req = req;
        if self.is_current_fetch(&req) {
            self.session_mut(follower, leader)
                .merge_touched(&mut req.partitions);
        }
        self.brokers[leader.0 as usize].parked_fetches[follower.0 as usize] = Some(req);
    }

    /// Whether `fp`, just handled by `leader` for `follower` at `now`, is idle: both logs end
    /// at its fetch offset, both high watermarks are there too, the follower is in the
    /// leader's ISR and its state was refreshed by this fetch.
    pub(crate) fn idle_after_fetch(
        &self,
        now: Instant,
        (follower, leader): (BrokerId, BrokerId),
        fp: &FetchPartition,
    ) -> bool {
        let offset = fp.fetch_offset;
        let Some(mine) = self.replica(follower, fp.partition) else {
            return false;
        };
        if !matches!(mine.role, Role::Follower { leader: l, epoch } if l == leader && epoch == fp.epoch)
            || mine.log.leo() != offset
            || mine.hw != offset
        {
            return false;
        }
        let Some(theirs) = self.replica(leader, fp.partition) else {
            return false;
        };
        let Role::Leader(state) = &theirs.role else {
            return false;
        };
        state.epoch == fp.epoch
            && theirs.log.leo() == offset
            && theirs.hw == offset
            && state.isr.contains(&follower)
            && state.followers.iter().any(|f| {
                f.broker == follower
                    && f.leo == offset
                    && f.last_fetch_leader_leo == offset
                    && f.last_caught_up == now
                    && f.last_fetch_time == now
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(p: u32, offset: i64) -> FetchPartition {
        FetchPartition {
            partition: PartitionId(p),
            fetch_offset: offset,
            epoch: LeaderEpoch(1),
        }
    }

    #[test]
    fn touched_partitions_return_in_session_order_with_the_offsets_the_request_carried() {
        let mut s = FetchSession::default();
        for p in [3, 1, 2, 0] {
            s.join(PartitionId(p));
        }
        assert_eq!(
            s.begin_request(),
            &[
                PartitionId(3),
                PartitionId(1),
                PartitionId(2),
                PartitionId(0)
            ]
        );
        for p in [3, 1, 2] {
            s.mark_idle(&fp(p, 10), 1);
        }
        s.settle_active();
        assert_eq!(s.begin_request(), &[PartitionId(0)], "request 2");
        assert_eq!(s.implicit_count(), 3);
        assert!(s.touch(PartitionId(2), 2).is_some());
        assert!(s.touch(PartitionId(3), 2).is_some());
        assert!(s.touch(PartitionId(3), 2).is_none(), "touched once");
        assert_eq!(s.implicit_count(), 1);
        let mut explicit = vec![fp(0, 7)];
        s.merge_touched(&mut explicit);
        let order: Vec<u32> = explicit.iter().map(|f| f.partition.0).collect();
        assert_eq!(order, [3, 2, 0], "the session's order, not the touch order");
        assert_eq!(explicit[0].fetch_offset, 10);
    }

    #[test]
    fn a_partition_found_idle_by_the_latest_request_is_named_by_it_explicitly() {
        let mut s = FetchSession::default();
        s.join(PartitionId(0));
        s.begin_request();
        s.mark_idle(&fp(0, 5), 1);
        s.settle_active();
        assert!(s.touch(PartitionId(0), 1).is_some());
        let mut explicit = vec![fp(0, 5)];
        s.merge_touched(&mut explicit);
        assert_eq!(explicit.len(), 1, "not named twice");
        s.leave(PartitionId(0));
        assert!(s.begin_request().is_empty());
        assert!(!s.has_idle());
    }
}
