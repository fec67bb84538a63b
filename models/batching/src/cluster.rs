//! The caller's metadata view: which node leads each partition of the topic, at which epoch.
//!
//! Fidelity: stands in for `MetadataSnapshot`/`Cluster`: `leaderFor`, `leaderEpochFor`,
//! `partitionsForNode` (in metadata order, which here is partition order),
//! `availablePartitionsForTopic` (partitions with a known leader) and `partitionsForTopic`.

use crate::ids::{NodeId, PartitionId};

/// One partition's metadata.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartitionMetadata {
    /// The leader, or `None` when the leader is unknown.
    pub leader: Option<NodeId>,
    /// The leader epoch, if known.
    pub leader_epoch: Option<u32>,
}

/// The metadata of the one modelled topic, as the producer currently believes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterView {
    partitions: Vec<PartitionMetadata>,
    /// For each node (by id), the partitions it leads in partition order.
    partitions_by_node: Vec<Vec<PartitionId>>,
    available: Vec<PartitionId>,
}

impl ClusterView {
    /// A topic of `partition_count` partitions whose leaders are all unknown.
    pub fn new(partition_count: u32) -> Self {
        assert!(partition_count > 0, "a topic has at least one partition");
        let unknown = PartitionMetadata {
            leader: None,
            leader_epoch: None,
        };
        ClusterView {
            partitions: vec![unknown; partition_count as usize],
            partitions_by_node: Vec::new(),
            available: Vec::new(),
        }
    }

    /// A topic whose partition `p` is led by `leaders[p]` at epoch 0.
    pub fn with_leaders(leaders: &[Option<NodeId>]) -> Self {
        let count = u32::try_from(leaders.len()).expect("partition count fits u32");
        let mut view = ClusterView::new(count);
        for (index, leader) in leaders.iter().enumerate() {
            view.partitions[index] = PartitionMetadata {
                leader: *leader,
                leader_epoch: leader.map(|_| 0),
            };
        }
        view.reindex();
        view
    }

    /// Sets one partition's leader and epoch (a metadata update). A partition beyond the
    /// current count adds partitions (the ones in between with unknown leaders).
    pub fn set_leader(&mut self, partition: PartitionId, metadata: PartitionMetadata) {
        let index = partition.0 as usize;
        if self.partitions.len() <= index {
            let unknown = PartitionMetadata {
                leader: None,
                leader_epoch: None,
            };
            self.partitions.resize(index + 1, unknown);
        }
        let old = std::mem::replace(&mut self.partitions[index], metadata).leader;
        // Only this partition's entries move, so a metadata response costs the partitions it
        // changes, not the topic's size for each of them.
        if old == metadata.leader {
            return;
        }
        if let Some(node) = old {
            let list = &mut self.partitions_by_node[node.0 as usize];
            if let Ok(at) = list.binary_search(&partition) {
                list.remove(at);
            }
        }
        match metadata.leader {
            Some(node) => {
                let slot = node.0 as usize;
                if self.partitions_by_node.len() <= slot {
                    self.partitions_by_node.resize(slot + 1, Vec::new());
                }
                let list = &mut self.partitions_by_node[slot];
                if let Err(at) = list.binary_search(&partition) {
                    list.insert(at, partition);
                }
                if let Err(at) = self.available.binary_search(&partition) {
                    self.available.insert(at, partition);
                }
            }
            None => {
                if let Ok(at) = self.available.binary_search(&partition) {
                    self.available.remove(at);
                }
            }
        }
    }

    fn reindex(&mut self) {
        self.partitions_by_node.clear();
        self.available.clear();
        for (index, metadata) in self.partitions.iter().enumerate() {
            let partition = PartitionId(index as u32);
            if let Some(node) = metadata.leader {
                let slot = node.0 as usize;
                if self.partitions_by_node.len() <= slot {
                    self.partitions_by_node.resize(slot + 1, Vec::new());
                }
                self.partitions_by_node[slot].push(partition);
                self.available.push(partition);
            }
        }
    }

    /// Number of partitions of the topic.
    pub fn partition_count(&self) -> u32 {
        self.partitions.len() as u32
    }

    /// The leader of `partition`, if known.
    pub fn leader_for(&self, partition: PartitionId) -> Option<NodeId> {
        self.partitions
            .get(partition.0 as usize)
            .and_then(|m| m.leader)
    }

    /// The leader epoch of `partition`, if known.
    pub fn leader_epoch_for(&self, partition: PartitionId) -> Option<u32> {
        self.partitions
            .get(partition.0 as usize)
            .and_then(|m| m.leader_epoch)
    }

    /// The partitions `node` leads, in metadata order.
    pub fn partitions_for_node(&self, node: NodeId) -> &[PartitionId] {
        self.partitions_by_node
            .get(node.0 as usize)
            .map_or(&[], Vec::as_slice)
    }

    /// The partitions with a known leader, in partition order.
    pub fn available_partitions(&self) -> &[PartitionId] {
        &self.available
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_for_node_are_in_metadata_order_and_skip_unknown_leaders() {
        let view =
            ClusterView::with_leaders(&[Some(NodeId(1)), Some(NodeId(2)), None, Some(NodeId(1))]);
        assert_eq!(
            view.partitions_for_node(NodeId(1)),
            &[PartitionId(0), PartitionId(3)]
        );
        assert_eq!(view.partitions_for_node(NodeId(7)), &[] as &[PartitionId]);
        assert_eq!(view.available_partitions().len(), 3);
        assert_eq!(view.leader_for(PartitionId(2)), None);
    }
}
