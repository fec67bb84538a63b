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
//! Simplification: the backoff is the one drawn when the batch was re-enqueued, not a fresh
//! jitter draw on every check (the facts file allows this).

use super::{NodeLatencyStats, RecordAccumulator};
use crate::cluster::ClusterView;
use crate::ids::{NodeId, PartitionId};

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
    queue_sizes: Vec<u32>,
    partition_ids: Vec<PartitionId>,
    /// Index of the last partition kept (`queueSizesIndex`), -1 for none.
    last_index: isize,
}

impl RecordAccumulator {
    /// `ready`: the nodes with sendable data at `now_ns`.
    pub fn ready(&mut self, now_ns: u64, cluster: &ClusterView) -> ReadyCheck {
        let exhausted = self.pool.has_waiters();
        let adaptive = self.config.partitioner.adaptive_partitioning
            && self.created_deque_count >= cluster.partition_count();
        let mut scratch = adaptive.then(|| {
            let mut scratch = std::mem::take(&mut self.ready_scratch);
            scratch.queue_sizes.clear();
            scratch
                .queue_sizes
                .resize(self.created_deque_count as usize, 0);
            scratch.partition_ids.clear();
            scratch
                .partition_ids
                .resize(self.created_deque_count as usize, PartitionId(0));
            scratch.last_index = -1;
            scratch
        });
        let mut check = ReadyCheck::default();
        let mut next_delay_ns = u64::MAX;
        for index in 0..self.partitions.len() {
            if !self.partitions[index].created {
                continue;
            }
            let partition = PartitionId(index as u32);
            let leader = cluster.leader_for(partition);
            if let (Some(_), Some(s)) = (leader, scratch.as_mut()) {
                s.last_index += 1;
                s.partition_ids[s.last_index as usize] = partition;
            }
            let Some(head) = self.head_state(partition, now_ns, cluster) else {
                continue;
            };
            let Some(leader) = leader else {
                check.unknown_leader_partitions.push(partition);
                continue;
            };
            if let Some(s) = scratch.as_mut() {
                s.queue_sizes[s.last_index as usize] = head.deque_len;
                if self.node_unavailable(leader) {
                    s.last_index -= 1;
                }
            }
            let muted = self.partitions[index].muted;
            if check.ready_nodes.contains(&leader) || muted {
                continue;
            }
            match self.batch_ready(&head, exhausted) {
                None => check.ready_nodes.push(leader),
                Some(delay_ns) => next_delay_ns = next_delay_ns.min(delay_ns),
            }
        }
        self.partitioner
            .update_load_stats(scratch.as_ref().map(|s| {
                (
                    s.queue_sizes.as_slice(),
                    s.partition_ids.as_slice(),
                    (s.last_index + 1) as usize,
                )
            }));
        if let Some(scratch) = scratch {
            self.ready_scratch = scratch;
        }
        check.ready_nodes.sort_unstable();
        check.next_check_at_ns = (next_delay_ns != u64::MAX).then(|| now_ns + next_delay_ns);
        check
    }

    /// The ready-relevant state of a partition's first batch, if any.
    fn head_state(
        &mut self,
        partition: PartitionId,
        now_ns: u64,
        cluster: &ClusterView,
    ) -> Option<HeadState> {
        let queues = &mut self.partitions[partition.0 as usize];
        let deque_len = queues.queued.len() as u32;
        let batch = queues.queued.front_mut()?;
        batch.maybe_update_leader_epoch(cluster.leader_epoch_for(partition));
        let backing_off = batch.should_backoff(now_ns);
        Some(HeadState {
            waited_ns: batch.waited_ns(now_ns),
            backing_off,
            retry_backoff_ns: batch.retry_backoff_ns,
            deque_len,
            full: deque_len > 1 || batch.is_full(),
        })
    }

    /// `batchReady`: `None` when sendable now, else the delay until it may be.
    fn batch_ready(&self, head: &HeadState, exhausted: bool) -> Option<u64> {
        let time_to_wait_ns = if head.backing_off {
            head.retry_backoff_ns
        } else {
            self.config.linger_ns
        };
        let expired = head.waited_ns >= time_to_wait_ns;
        let sendable =
            head.full || expired || exhausted || self.closed || self.flushes_in_progress > 0;
        if sendable && !head.backing_off {
            None
        } else {
            Some(time_to_wait_ns.saturating_sub(head.waited_ns))
        }
    }

    fn node_unavailable(&self, leader: NodeId) -> bool {
        let timeout_ns = self.config.partitioner.availability_timeout_ns;
        timeout_ns > 0
            && self
                .node_stats
                .get(&leader)
                .is_some_and(|s| s.ready_at_ns.saturating_sub(s.drain_at_ns) > timeout_ns)
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

/// What `batchReady` needs from a partition's first batch.
struct HeadState {
    waited_ns: u64,
    backing_off: bool,
    retry_backoff_ns: u64,
    deque_len: u32,
    full: bool,
}
