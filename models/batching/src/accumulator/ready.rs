//! `ready`: which nodes have sendable data, and when to look again.
//!
//! Fidelity: `RecordAccumulator.ready` / `partitionReady` / `batchReady` / `shouldBackoff`
//! (4.x). Only the first batch of each non-empty deque is examined:
//!
//! ```text
//! waited     = now - lastAttempt            (creation for a fresh batch)
//! backingOff = attempts > 0 ∧ waited < backoff ∧ ¬leaderChangedDuringThisRetry
//! full       = deque.len > 1 ∨ batch.isFull
//! leader unknown                     → report the partition, skip
//! leader already ready ∨ muted       → skip
//! timeToWait = backingOff ? backoff : linger
//! sendable   = full ∨ waited ≥ timeToWait ∨ exhausted ∨ closed ∨ flushing
//! sendable ∧ ¬backingOff             → leader ready
//! otherwise                          → next check ≤ timeToWait - waited
//! ```
//!
//! The same pass rebuilds the adaptive partitioner's load stats (queue sizes of partitions
//! with a known leader, minus those whose node has been unable to take data for longer than
//! `partitioner.availability.timeout.ms`), once a deque exists for every partition.
//! The pass visits only the partitions that hold batches (the accumulator's `active` set, in
//! partition order, the order the full walk uses), so its cost follows the partitions with
//! data; an empty partition adds only a zero queue size, which the partitioner's sparse table
//! leaves implicit. Only with `partitioner.availability.timeout.ms` set does it walk every
//! deque, since a node's availability can then leave partitions out of the table.
//! Simplification: the backoff is the one drawn when the batch was re-enqueued, not a fresh
//! jitter draw on every check (the facts file allows this).

use std::collections::BTreeMap;

use super::{NodeLatencyStats, RecordAccumulator};
use crate::batch::ProducerBatch;
use crate::cluster::ClusterView;
use crate::ids::{NodeId, PartitionId};
use crate::partitioner::PartitionerConfig;

/// The result of `ready`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadyCheck {
    /// Leaders with at least one sendable partition, by node id.
    pub ready_nodes: Vec<NodeId>,
    /// When something not yet sendable may become sendable (`now + nextReadyCheckDelay`);
    /// `None` when nothing is waiting on time.
    pub next_check_at_ns: Option<u64>,
    /// Partitions with queued data but no known leader (request a metadata update).
    pub unknown_leader_partitions: Vec<PartitionId>,
}

/// Whether a ready node could take a send this round (`updateNodeLatencyStats`' `canDrain`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeReadiness {
    /// The connection can take a request: drain time and ready time advance.
    CanDrain,
    /// Not ready (connecting, in-flight limit): only the ready time advances.
    CannotDrain,
}

/// Adaptive-partitioning scratch built during a ready pass (buffers reused across passes).
#[derive(Clone, Debug, Default)]
pub(super) struct LoadStatsScratch {
    /// The non-empty queues as (position among partitions with a leader, size), for the
    /// sparse table.
    non_empty: Vec<(u32, u32)>,
    queue_sizes: Vec<u32>,
    partition_ids: Vec<PartitionId>,
    /// Index of the last partition kept (`queueSizesIndex`), -1 for none.
    last_index: isize,
}

impl RecordAccumulator {
    /// `ready`: the nodes with sendable data at `now_ns`.
    pub fn ready(&mut self, now_ns: u64, cluster: &ClusterView) -> ReadyCheck {
        let adaptive = self.config.partitioner.adaptive_partitioning
            && self.created_deque_count >= cluster.partition_count();
        // The common case looks only at partitions with batches. The full walk is needed only
        // when the load stats must leave out partitions of an unavailable node (or when some
        // deque beyond the topic's partitions was created).
        let full_walk = adaptive
            && (self.config.partitioner.availability_timeout_ns > 0
                || self.created_deque_count as usize != self.partitions.len()
                || self.partitions.len() != cluster.partition_count() as usize);
        let mut check = if full_walk {
            self.ready_walking_every_partition(now_ns, cluster)
        } else {
            self.ready_walking_active_partitions(now_ns, cluster, adaptive)
        };
        check.ready_nodes.sort_unstable();
        check
    }

    /// What one partition's head batch contributes to `check` (`partitionReady`), where the
    /// partition's leader is known.
    #[allow(
        clippy::too_many_arguments,
        reason = "one partition's state and the pass's running result"
    )]
    fn partition_ready(
        head: &HeadState,
        leader: NodeId,
        muted: bool,
        (linger_ns, sendable_anyway): (u64, bool),
        check: &mut ReadyCheck,
        next_delay_ns: &mut u64,
    ) {
        if check.ready_nodes.contains(&leader) || muted {
            return;
        }
        match head.batch_ready(linger_ns, sendable_anyway) {
            None => check.ready_nodes.push(leader),
            Some(delay_ns) => *next_delay_ns = (*next_delay_ns).min(delay_ns),
        }
    }

    /// `ready` over the partitions in `active` only, in partition order, dropping those that
    /// no longer hold a batch. Exact: a partition without queued batches adds nothing but a
    /// zero to the load stats, which the sparse table leaves implicit.
    fn ready_walking_active_partitions(
        &mut self,
        now_ns: u64,
        cluster: &ClusterView,
        adaptive: bool,
    ) -> ReadyCheck {
        // exhausted ∨ closed ∨ flushing: the same for every partition of this pass.
        let sendable_anyway =
            self.pool.has_waiters() || self.closed || self.flushes_in_progress > 0;
        let rule = (self.config.linger_ns, sendable_anyway);
        let available = cluster.available_partitions();
        let mut check = ReadyCheck::default();
        let mut next_delay_ns = u64::MAX;
        let non_empty = &mut self.ready_scratch.non_empty;
        non_empty.clear();
        let partitions = &mut self.partitions;
        self.active.retain(|&index| {
            let queues = &mut partitions[index as usize];
            let deque_len = queues.queued.len() as u32;
            let Some(head) = queues.queued.front_mut() else {
                return !queues.in_flight.is_empty();
            };
            let partition = PartitionId(index);
            let head = HeadState::of(head, deque_len, partition, now_ns, cluster);
            let Some(leader) = cluster.leader_for(partition) else {
                check.unknown_leader_partitions.push(partition);
                return true;
            };
            if adaptive {
                let position = available
                    .binary_search(&partition)
                    .expect("a partition with a known leader is available");
                non_empty.push((position as u32, deque_len));
            }
            Self::partition_ready(
                &head,
                leader,
                queues.muted,
                rule,
                &mut check,
                &mut next_delay_ns,
            );
            true
        });
        if adaptive {
            let considered = self.created_deque_count as usize;
            let non_empty = &self.ready_scratch.non_empty;
            self.partitioner
                .update_load_stats_sparse(available, considered, non_empty);
        } else {
            self.partitioner.update_load_stats(None);
        }
        check.next_check_at_ns = (next_delay_ns != u64::MAX).then(|| now_ns + next_delay_ns);
        check
    }

    /// `ready` over every created deque, with the load stats written out in full.
    fn ready_walking_every_partition(&mut self, now_ns: u64, cluster: &ClusterView) -> ReadyCheck {
        let sendable_anyway =
            self.pool.has_waiters() || self.closed || self.flushes_in_progress > 0;
        let rule = (self.config.linger_ns, sendable_anyway);
        // The scratch is reset in place (the same zeroing as fresh buffers, without moving
        // them out and back); split borrows let the loop below use it beside `partitions`.
        let scratch = &mut self.ready_scratch;
        let length = self.created_deque_count as usize;
        scratch.queue_sizes.clear();
        scratch.queue_sizes.resize(length, 0);
        scratch.partition_ids.clear();
        scratch.partition_ids.resize(length, PartitionId(0));
        scratch.last_index = -1;
        let mut check = ReadyCheck::default();
        let mut next_delay_ns = u64::MAX;
        for (index, queues) in self.partitions.iter_mut().enumerate() {
            if !queues.created {
                continue;
            }
            let partition = PartitionId(index as u32);
            let leader = cluster.leader_for(partition);
            if leader.is_some() {
                scratch.last_index += 1;
                scratch.partition_ids[scratch.last_index as usize] = partition;
            }
            let deque_len = queues.queued.len() as u32;
            let Some(head) = queues.queued.front_mut() else {
                continue;
            };
            let head = HeadState::of(head, deque_len, partition, now_ns, cluster);
            let Some(leader) = leader else {
                check.unknown_leader_partitions.push(partition);
                continue;
            };
            scratch.queue_sizes[scratch.last_index as usize] = head.deque_len;
            if node_unavailable(&self.config.partitioner, &self.node_stats, leader) {
                scratch.last_index -= 1;
            }
            Self::partition_ready(
                &head,
                leader,
                queues.muted,
                rule,
                &mut check,
                &mut next_delay_ns,
            );
        }
        let scratch = &self.ready_scratch;
        self.partitioner.update_load_stats(Some((
            scratch.queue_sizes.as_slice(),
            scratch.partition_ids.as_slice(),
            (scratch.last_index + 1) as usize,
        )));
        check.next_check_at_ns = (next_delay_ns != u64::MAX).then(|| now_ns + next_delay_ns);
        check
    }

    /// `updateNodeLatencyStats`: the sender reports each ready node and whether it could
    /// take a send; feeds `partitioner.availability.timeout.ms`. A no-op when that is 0.
    pub fn update_node_latency_stats(
        &mut self,
        node: NodeId,
        now_ns: u64,
        readiness: NodeReadiness,
    ) {
        if self.config.partitioner.availability_timeout_ns == 0 {
            return;
        }
        let stats = self.node_stats.entry(node).or_insert(NodeLatencyStats {
            ready_at_ns: now_ns,
            drain_at_ns: now_ns,
        });
        if readiness == NodeReadiness::CanDrain {
            stats.drain_at_ns = now_ns;
        }
        stats.ready_at_ns = now_ns;
    }
}

/// Whether `leader` has been unable to take data for longer than
/// `partitioner.availability.timeout.ms` (never when that is 0).
fn node_unavailable(
    partitioner: &PartitionerConfig,
    node_stats: &BTreeMap<NodeId, NodeLatencyStats>,
    leader: NodeId,
) -> bool {
    let timeout_ns = partitioner.availability_timeout_ns;
    timeout_ns > 0
        && node_stats
            .get(&leader)
            .is_some_and(|s| s.ready_at_ns.saturating_sub(s.drain_at_ns) > timeout_ns)
}

/// What `batchReady` needs from a partition's first batch.
struct HeadState {
    waited_ns: u64,
    backing_off: bool,
    retry_backoff_ns: u64,
    deque_len: u32,
    full: bool,
}

impl HeadState {
    /// The ready-relevant state of a partition's first batch `head` in a deque of
    /// `deque_len` batches; records the leader epoch first (`maybeUpdateLeaderEpoch`).
    fn of(
        head: &mut ProducerBatch,
        deque_len: u32,
        partition: PartitionId,
        now_ns: u64,
        cluster: &ClusterView,
    ) -> Self {
        head.maybe_update_leader_epoch(cluster.leader_epoch_for(partition));
        HeadState {
            waited_ns: head.waited_ns(now_ns),
            backing_off: head.should_backoff(now_ns),
            retry_backoff_ns: head.retry_backoff_ns,
            deque_len,
            full: deque_len > 1 || head.is_full(),
        }
    }

    /// `batchReady`: `None` when sendable now, else the delay until it may be.
    /// `sendable_anyway` is `exhausted ∨ closed ∨ flushing`.
    fn batch_ready(&self, linger_ns: u64, sendable_anyway: bool) -> Option<u64> {
        let time_to_wait_ns = if self.backing_off {
            self.retry_backoff_ns
        } else {
            linger_ns
        };
        let expired = self.waited_ns >= time_to_wait_ns;
        let sendable = self.full || expired || sendable_anyway;
        if sendable && !self.backing_off {
            None
        } else {
            Some(time_to_wait_ns.saturating_sub(self.waited_ns))
        }
    }
}
