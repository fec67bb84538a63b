//! `drain`: take at most one batch per partition for each ready node, up to
//! `max.request.size`, and move the batches in flight.
//!
//! Fidelity: `RecordAccumulator.drain` / `drainBatchesForOneNode` /
//! `shouldStopDrainBatchesForPartition` (4.x), plus the sender's bookkeeping right after the
//! drain (`Sender.addToInflightBatches`, muting when `max.in.flight == 1`, the batch metrics).
//!
//! ```text
//! parts = partitions led by the node, metadata order; start = drainIndex[node] % |parts|
//! do: tp = parts[i]; drainIndex[node] = i; i = (i+1) % |parts|
//!     muted / empty / first batch backing off        → next partition
//!     size + first.size > max.request.size ∧ taken   → stop this node
//!     idempotent ∧ shouldStopDrain(first)            → stop this node
//!     take it; assign (pid, epoch, nextSeq) if it has no sequence yet; close; drained = now
//! while i ≠ start
//! ```
//! The stored index is the last partition examined, so a node that stopped on a partition
//! starts there next time. The loop visits only the node's partitions with queued batches, in
//! the same rotation order; an empty partition would be skipped and only move the stored index,
//! which is set to where the full rotation leaves it.

use super::RecordAccumulator;
use crate::cluster::ClusterView;
use crate::ids::{BatchId, NodeId, PartitionId, ProducerIdAndEpoch};

/// A batch just drained: what the sender needs to build the produce request. The records are
/// available through `RecordAccumulator::in_flight_batch`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DrainedBatch {
    /// The batch.
    pub batch_id: BatchId,
    /// Its partition.
    pub partition: PartitionId,
    /// Producer id and epoch (NONE when not idempotent).
    pub producer_id_and_epoch: ProducerIdAndEpoch,
    /// Base sequence, when idempotent.
    pub base_sequence: Option<i32>,
    /// Records in the batch.
    pub record_count: u32,
    /// The batch's bytes on the wire.
    pub size_bytes: u32,
    /// Retries so far (0 on the first send).
    pub attempts: u32,
}

/// The batches drained for one node: one produce request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeBatches {
    /// The destination.
    pub node: NodeId,
    /// Its batches, at most one per partition.
    pub batches: Vec<DrainedBatch>,
}

/// How much one node's drain has taken so far.
#[derive(Clone, Copy, Debug)]
struct Progress {
    size_bytes: u64,
    taken_count: u32,
}

/// What the drain loop does with one partition.
enum Step {
    Skip,
    StopNode,
    Take,
}

impl RecordAccumulator {
    /// `drain` for the given ready nodes (those the network could take a request for).
    /// Nodes that yield no batch are left out.
    pub fn drain(
        &mut self,
        now_ns: u64,
        cluster: &ClusterView,
        nodes: &[NodeId],
    ) -> Vec<NodeBatches> {
        let mut requests = Vec::with_capacity(nodes.len());
        for &node in nodes {
            let batches = self.drain_node(now_ns, cluster, node);
            if !batches.is_empty() {
                requests.push(NodeBatches { node, batches });
            }
        }
        requests
    }

    /// `drainBatchesForOneNode`. Only the node's partitions with queued batches are visited,
    /// in the rotation's order; the empty ones the full rotation would pass over change
    /// nothing but the stored index, which is set as the full rotation leaves it.
    fn drain_node(
        &mut self,
        now_ns: u64,
        cluster: &ClusterView,
        node: NodeId,
    ) -> Vec<DrainedBatch> {
        let parts = cluster.partitions_for_node(node);
        let mut out = Vec::new();
        if parts.is_empty() {
            return out;
        }
        let slot = node.0 as usize;
        if self.drain_index.len() <= slot {
            self.drain_index.resize(slot + 1, 0);
        }
        let start = self.drain_index[slot] % parts.len();
        // The positions in `parts` of the node's partitions with queued batches, ascending
        // (`active` and `parts` are both in partition order).
        let mut positions = std::mem::take(&mut self.drain_scratch);
        positions.clear();
        positions.extend(
            self.active
                .iter()
                .filter(|&&index| {
                    !self.partitions[index as usize].queued.is_empty()
                        && cluster.leader_for(PartitionId(index)) == Some(node)
                })
                .map(|&index| {
                    parts
                        .binary_search(&PartitionId(index))
                        .expect("a partition led by the node is in its list")
                }),
        );
        let split = positions.partition_point(|&position| position < start);
        // Where the full rotation leaves the index when no partition stops it: the last one
        // examined, just before `start`.
        self.drain_index[slot] = (start + parts.len() - 1) % parts.len();
        let mut progress = Progress {
            size_bytes: 0,
            taken_count: 0,
        };
        for &position in positions[split..].iter().chain(&positions[..split]) {
            let partition = parts[position];
            match self.drain_step(now_ns, cluster, partition, progress) {
                Step::Skip => {}
                Step::StopNode => {
                    self.drain_index[slot] = position;
                    break;
                }
                Step::Take => {
                    let drained = self.take_first(now_ns, partition);
                    progress.size_bytes += u64::from(drained.size_bytes);
                    progress.taken_count += 1;
                    out.push(drained);
                }
            }
        }
        self.drain_scratch = positions;
        out
    }

    fn drain_step(
        &mut self,
        now_ns: u64,
        cluster: &ClusterView,
        partition: PartitionId,
        progress: Progress,
    ) -> Step {
        let Some(queues) = self.partitions.get_mut(partition.0 as usize) else {
            return Step::Skip;
        };
        if queues.muted {
            return Step::Skip;
        }
        let Some(first) = queues.queued.front_mut() else {
            return Step::Skip;
        };
        first.maybe_update_leader_epoch(cluster.leader_epoch_for(partition));
        if first.should_backoff(now_ns) {
            return Step::Skip;
        }
        let max_bytes = u64::from(self.config.max_request_size_bytes);
        if progress.size_bytes + u64::from(first.size_bytes()) > max_bytes
            && progress.taken_count > 0
        {
            return Step::StopNode;
        }
        let first_sequence = first.base_sequence;
        // `shouldStopDrainBatchesForPartition`: a partition not yet added to the transaction
        // stops this node's drain.
        if let Some(allowed) = &self.txn_partitions
            && !allowed.contains(&partition)
        {
            return Step::StopNode;
        }
        if let Some(state) = &self.idempotence
            && state.should_stop_drain(partition, first_sequence)
        {
            return Step::StopNode;
        }
        Step::Take
    }

    /// Polls the partition's first batch, stamps it and moves it in flight.
    fn take_first(&mut self, now_ns: u64, partition: PartitionId) -> DrainedBatch {
        let index = partition.0 as usize;
        let mut batch = self.partitions[index]
            .queued
            .pop_front()
            .expect("drain_step saw a first batch");
        if let Some(state) = &mut self.idempotence
            && batch.base_sequence.is_none()
        {
            let (producer, base) = state.assign_sequence(partition, batch.id, batch.record_count());
            batch.set_producer_state(producer, base);
        }
        let codec = match &self.compression {
            crate::compression::Compression::None => None,
            crate::compression::Compression::Codec(codec) => Some(codec),
        };
        let (ratio, fed) = batch.close(codec);
        if let Some(ratio) = ratio {
            self.ratio_estimator.update(ratio);
        }
        self.add_codec_input(fed);
        batch.drained(now_ns);
        self.metrics.compression_ratio_sum += f64::from(batch.compression_ratio());
        self.metrics.record_drain(
            batch.size_bytes(),
            batch.record_count(),
            now_ns.saturating_sub(batch.created_at_ns),
        );
        self.metrics.record_size_bytes_max = self
            .metrics
            .record_size_bytes_max
            .max(u64::from(batch.max_record_upper_bound_bytes));
        let drained = DrainedBatch {
            batch_id: batch.id,
            partition,
            producer_id_and_epoch: batch.producer_state,
            base_sequence: batch.base_sequence,
            record_count: batch.record_count(),
            size_bytes: batch.size_bytes(),
            attempts: batch.attempts,
        };
        let guarantee_order = self.guarantees_message_order();
        let queues = &mut self.partitions[index];
        queues.in_flight.push(batch);
        if guarantee_order {
            queues.muted = true;
        }
        drained
    }
}
