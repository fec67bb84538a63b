//! The built-in sticky partitioner for records without a key (KIP-794, `BuiltInPartitioner`).
//!
//! Fidelity: one sticky partition per topic with a produced-bytes counter; switch after
//! `producedBytes >= batch.size` when switching is enabled (the partition's last batch is full
//! or its deque is empty) or `>= 2 * batch.size` always; the next partition is uniform over
//! partitions with a known leader (all partitions when none has one), or, with adaptive
//! partitioning and usable load stats, weighted by `max + 1 - queueSize` through a cumulative
//! frequency table. The random draw is `toPositive(nextInt())` from the caller's [`Entropy`].
//! Load stats are rebuilt by `ready()` (see the accumulator). When every partition has a deque
//! and no node can be unavailable, `ready()` passes only the non-empty queues (the rest are 0)
//! and the table is kept in that sparse form: the weighted draw walks the non-empty queues and
//! finds the same partition the full table's binary search finds, at a cost that follows the
//! partitions with data rather than the topic's size.

use crate::cluster::ClusterView;
use crate::entropy::Entropy;
use crate::ids::PartitionId;

/// The partitioner settings (`partitioner.*` configs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartitionerConfig {
    /// `partitioner.adaptive.partitioning.enable` (default true).
    pub adaptive_partitioning: bool,
    /// `partitioner.availability.timeout.ms` in ns (default 0 = off).
    pub availability_timeout_ns: u64,
    /// `partitioner.ignore.keys` (default false): route keyed records through the sticky
    /// partitioner too.
    pub ignore_keys: bool,
}

impl Default for PartitionerConfig {
    fn default() -> Self {
        PartitionerConfig {
            adaptive_partitioning: true,
            availability_timeout_ns: 0,
            ignore_keys: false,
        }
    }
}

/// Whether a sticky partition switch is allowed after this append (`enableSwitch`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SwitchPolicy {
    /// The partition's last batch is full (or there is none): switch at `batch.size`.
    Enabled,
    /// The last batch still has room: switch only at `2 * batch.size`.
    Held,
}

/// The cumulative frequency table; its buffers are reused across `ready` passes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct LoadStats {
    in_use: bool,
    /// Which form the table is in.
    form: TableForm,
    /// Dense form: the running sum of `max + 1 - queueSize` per included partition.
    cumulative_frequency: Vec<u32>,
    /// Sparse form: the non-empty queues as (position among the included partitions, size),
    /// by position; every other included partition's queue is empty.
    non_empty: Vec<(u32, u32)>,
    /// Sparse form: `max + 1`, and the table's total (its last cumulative frequency).
    weight_max: u64,
    total: u64,
    /// The included partitions, by position.
    partition_ids: Vec<PartitionId>,
}

/// The form of the load stats table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum TableForm {
    /// One cumulative frequency per included partition.
    #[default]
    Dense,
    /// The non-empty queues only.
    Sparse,
}

/// The sticky partition state of the topic.
#[derive(Clone, Debug)]
pub(crate) struct BuiltInPartitioner {
    sticky_batch_size: u32,
    current: Option<(PartitionId, u32)>,
    load_stats: LoadStats,
}

impl BuiltInPartitioner {
    pub(crate) fn new(sticky_batch_size: u32) -> Self {
        assert!(sticky_batch_size >= 1, "stickyBatchSize must be >= 1");
        BuiltInPartitioner {
            sticky_batch_size,
            current: None,
            load_stats: LoadStats::default(),
        }
    }

    /// `peekCurrentPartitionInfo`: the current sticky partition, choosing one if none yet.
    #[inline]
    pub(crate) fn current_partition(
        &mut self,
        cluster: &ClusterView,
        entropy: &mut dyn Entropy,
    ) -> PartitionId {
        if let Some((partition, _)) = self.current {
            return partition;
        }
        let partition = self.next_partition(cluster, entropy);
        self.current = Some((partition, 0));
        partition
    }

    /// `nextPartition`.
    // Once per batch, not per record: kept out of the inlined per-append callers.
    #[inline(never)]
    fn next_partition(&self, cluster: &ClusterView, entropy: &mut dyn Entropy) -> PartitionId {
        let random = entropy.next_u32() & 0x7fff_ffff;
        let stats = &self.load_stats;
        if stats.in_use {
            let index = match stats.form {
                TableForm::Dense => {
                    let total = *stats
                        .cumulative_frequency
                        .last()
                        .expect("load stats have at least one partition");
                    let weighted = random % total;
                    stats
                        .cumulative_frequency
                        .partition_point(|&bound| bound <= weighted)
                }
                TableForm::Sparse => stats.sparse_index(u64::from(random) % stats.total),
            };
            return stats.partition_ids[index];
        }
        let available = cluster.available_partitions();
        if available.is_empty() {
            PartitionId(random % cluster.partition_count())
        } else {
            available[(random as usize) % available.len()]
        }
    }

    /// Whether the produced bytes reached `batch.size`, so that `update_partition_info` with
    /// `SwitchPolicy::Enabled` would switch even with no bytes added (a switch held back while
    /// the partition's last batch had room).
    #[inline]
    pub(crate) fn switch_held_back(&self) -> bool {
        self.current
            .is_some_and(|(_, produced)| produced >= self.sticky_batch_size)
    }

    /// `updatePartitionInfo`: count the appended bytes and maybe switch partition. Returns
    /// whether it switched (a new sticky choice, possibly the same partition again).
    #[inline]
    pub(crate) fn update_partition_info(
        &mut self,
        appended_bytes: u32,
        policy: SwitchPolicy,
        cluster: &ClusterView,
        entropy: &mut dyn Entropy,
    ) -> bool {
        let Some((partition, produced)) = self.current else {
            return false;
        };
        let produced = produced.saturating_add(appended_bytes);
        self.current = Some((partition, produced));
        let enough = produced >= self.sticky_batch_size && policy == SwitchPolicy::Enabled;
        if enough || produced >= self.sticky_batch_size.saturating_mul(2) {
            let next = self.next_partition(cluster, entropy);
            self.current = Some((next, 0));
            return true;
        }
        false
    }

    /// `updatePartitionLoadStats`: `queue_sizes[..length]` are the queue sizes of
    /// `partition_ids[..length]`; `queue_sizes.len()` is the number of partitions considered.
    /// `None` means adaptive partitioning is not in use this round.
    pub(crate) fn update_load_stats(&mut self, stats: Option<(&[u32], &[PartitionId], usize)>) {
        self.load_stats.in_use = false;
        let Some((queue_sizes, partition_ids, length)) = stats else {
            return;
        };
        if length < 1 || queue_sizes.len() < 2 {
            return;
        }
        let mut max_plus_one = queue_sizes[0];
        let mut all_equal = true;
        for &size in &queue_sizes[1..length] {
            all_equal &= size == max_plus_one;
            max_plus_one = max_plus_one.max(size);
        }
        max_plus_one += 1;
        if all_equal && length == queue_sizes.len() {
            return;
        }
        let table = &mut self.load_stats;
        table.cumulative_frequency.clear();
        let mut running = 0;
        for &size in &queue_sizes[..length] {
            running += max_plus_one - size;
            table.cumulative_frequency.push(running);
        }
        table.partition_ids.clear();
        table
            .partition_ids
            .extend_from_slice(&partition_ids[..length]);
        table.form = TableForm::Dense;
        table.in_use = true;
    }

    /// `updatePartitionLoadStats` for the common case, in sparse form: the included partitions
    /// are `partition_ids` (those with a known leader), `considered` partitions were looked at,
    /// and `non_empty` lists (position in `partition_ids`, queue size) for the non-empty queues
    /// by position; every other queue is empty. Decides exactly as
    /// [`BuiltInPartitioner::update_load_stats`] does with the same queue sizes written out.
    pub(crate) fn update_load_stats_sparse(
        &mut self,
        partition_ids: &[PartitionId],
        considered: usize,
        non_empty: &[(u32, u32)],
    ) {
        self.load_stats.in_use = false;
        let length = partition_ids.len();
        if length < 1 || considered < 2 {
            return;
        }
        let max = non_empty.iter().map(|&(_, size)| size).max().unwrap_or(0);
        let all_equal = non_empty.is_empty()
            || (non_empty.len() == length && non_empty.iter().all(|&(_, size)| size == max));
        if all_equal && length == considered {
            return;
        }
        let table = &mut self.load_stats;
        table.weight_max = u64::from(max) + 1;
        let queued: u64 = non_empty.iter().map(|&(_, size)| u64::from(size)).sum();
        table.total = length as u64 * table.weight_max - queued;
        table.non_empty.clear();
        table.non_empty.extend_from_slice(non_empty);
        // The included partitions change only with the metadata: copy them only then.
        if table.partition_ids.as_slice() != partition_ids {
            table.partition_ids.clear();
            table.partition_ids.extend_from_slice(partition_ids);
        }
        table.form = TableForm::Sparse;
        table.in_use = true;
    }

    #[cfg(test)]
    pub(crate) fn load_stats_range_end(&self) -> Option<u32> {
        let stats = &self.load_stats;
        if !stats.in_use {
            return None;
        }
        match stats.form {
            TableForm::Dense => stats.cumulative_frequency.last().copied(),
            TableForm::Sparse => u32::try_from(stats.total).ok(),
        }
    }
}

impl LoadStats {
    /// The position the dense table's `partition_point(|bound| bound <= weighted)` finds: the
    /// first position whose cumulative frequency exceeds `weighted`. Position `p`'s cumulative
    /// frequency is `(p + 1) * weight_max - (sizes up to p)`; between non-empty queues it grows
    /// by `weight_max` per position, so the first position past `weighted` in such a run is
    /// `(weighted + sizes before it) / weight_max`.
    fn sparse_index(&self, weighted: u64) -> usize {
        let mut sizes_before = 0u64;
        for &(position, size) in &self.non_empty {
            let candidate = (weighted + sizes_before) / self.weight_max;
            if candidate < u64::from(position) {
                return candidate as usize;
            }
            sizes_before += u64::from(size);
            let bound = (u64::from(position) + 1) * self.weight_max - sizes_before;
            if bound > weighted {
                return position as usize;
            }
        }
        ((weighted + sizes_before) / self.weight_max) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::Scripted;
    use crate::ids::NodeId;

    fn cluster3() -> ClusterView {
        ClusterView::with_leaders(&[Some(NodeId(0)), Some(NodeId(1)), Some(NodeId(2))])
    }

    #[test]
    fn sticky_partition_is_uniform_over_available_partitions() {
        let cluster = ClusterView::with_leaders(&[Some(NodeId(0)), None, Some(NodeId(2))]);
        let mut p = BuiltInPartitioner::new(100);
        let mut entropy = Scripted::new(vec![1]);
        // available = [0, 2]; 1 % 2 = 1 -> partition 2.
        assert_eq!(p.current_partition(&cluster, &mut entropy), PartitionId(2));
    }

    #[test]
    fn sticky_partition_falls_back_to_all_partitions_when_none_is_available() {
        let cluster = ClusterView::new(3);
        let mut p = BuiltInPartitioner::new(100);
        let mut entropy = Scripted::new(vec![0x8000_0005]);
        // toPositive masks the sign bit: 5 % 3 = 2.
        assert_eq!(p.current_partition(&cluster, &mut entropy), PartitionId(2));
    }

    #[test]
    fn sticky_switch_waits_for_batch_size_and_enabled_switch_or_twice_batch_size() {
        let cluster = cluster3();
        let mut p = BuiltInPartitioner::new(100);
        let mut entropy = Scripted::new(vec![0, 1, 2]);
        assert_eq!(p.current_partition(&cluster, &mut entropy), PartitionId(0));
        p.update_partition_info(150, SwitchPolicy::Held, &cluster, &mut entropy);
        assert_eq!(p.current_partition(&cluster, &mut entropy), PartitionId(0));
        p.update_partition_info(0, SwitchPolicy::Enabled, &cluster, &mut entropy);
        assert_eq!(p.current_partition(&cluster, &mut entropy), PartitionId(1));
        p.update_partition_info(199, SwitchPolicy::Held, &cluster, &mut entropy);
        assert_eq!(p.current_partition(&cluster, &mut entropy), PartitionId(1));
        p.update_partition_info(1, SwitchPolicy::Held, &cluster, &mut entropy);
        assert_eq!(p.current_partition(&cluster, &mut entropy), PartitionId(2));
    }

    #[test]
    fn adaptive_load_stats_weight_shorter_queues_with_max_plus_one_minus_size() {
        let cluster = cluster3();
        let mut p = BuiltInPartitioner::new(100);
        let ids = [PartitionId(0), PartitionId(1), PartitionId(2)];
        // Kafka's example: queue sizes 0 3 1 -> weights 4 1 3 -> CFT 4 5 8.
        p.update_load_stats(Some((&[0, 3, 1], &ids, 3)));
        assert_eq!(p.load_stats_range_end(), Some(8));
        let picks: Vec<PartitionId> = (0..8)
            .map(|draw| p.next_partition(&cluster, &mut Scripted::new(vec![draw])))
            .collect();
        let expected = [0, 0, 0, 0, 1, 2, 2, 2].map(PartitionId);
        assert_eq!(picks, expected);
    }

    #[test]
    fn adaptive_load_stats_unused_when_all_queues_equal_or_fewer_than_two_partitions() {
        let mut p = BuiltInPartitioner::new(100);
        let ids = [PartitionId(0), PartitionId(1)];
        p.update_load_stats(Some((&[2, 2], &ids, 2)));
        assert_eq!(p.load_stats_range_end(), None);
        p.update_load_stats(Some((&[2, 2], &ids, 1)));
        assert_eq!(
            p.load_stats_range_end(),
            Some(1),
            "an exclusion keeps stats on"
        );
        p.update_load_stats(Some((&[2], &ids[..1], 1)));
        assert_eq!(p.load_stats_range_end(), None);
    }

    /// The sparse table picks the same partition as the dense one for every draw, over queue
    /// sizes with empty runs at the start, between and at the end, single partitions and
    /// tables that are not used (all queues equal).
    #[test]
    fn sparse_load_stats_pick_what_the_dense_table_picks() {
        let cluster = ClusterView::with_leaders(&[Some(NodeId(0)); 9]);
        let cases: [&[u32]; 8] = [
            &[0, 3, 1],
            &[0, 0, 0, 5, 0, 0, 2, 0, 0],
            &[4, 0, 0, 0, 0, 0, 0, 0, 1],
            &[2, 2, 2],
            &[0, 0],
            &[7],
            &[1, 2, 3, 4, 5, 6, 7, 8, 9],
            &[0, 1, 0, 1, 0, 1, 0, 1, 0],
        ];
        for sizes in cases {
            let ids: Vec<PartitionId> = (0..sizes.len() as u32).map(PartitionId).collect();
            let non_empty: Vec<(u32, u32)> = sizes
                .iter()
                .enumerate()
                .filter(|&(_, &size)| size > 0)
                .map(|(position, &size)| (position as u32, size))
                .collect();
            for considered in [sizes.len(), sizes.len() + 1] {
                let mut queue_sizes = sizes.to_vec();
                queue_sizes.resize(considered, 0);
                let mut dense = BuiltInPartitioner::new(100);
                dense.update_load_stats(Some((&queue_sizes, &ids, sizes.len())));
                let mut sparse = BuiltInPartitioner::new(100);
                sparse.update_load_stats_sparse(&ids, considered, &non_empty);
                assert_eq!(
                    dense.load_stats_range_end(),
                    sparse.load_stats_range_end(),
                    "{sizes:?} of {considered}"
                );
                let end = dense.load_stats_range_end().unwrap_or(sizes.len() as u32);
                for draw in 0..end * 2 + 3 {
                    let mut one = Scripted::new(vec![draw]);
                    let mut two = Scripted::new(vec![draw]);
                    assert_eq!(
                        dense.next_partition(&cluster, &mut one),
                        sparse.next_partition(&cluster, &mut two),
                        "{sizes:?} of {considered}, draw {draw}"
                    );
                }
            }
        }
    }
}
