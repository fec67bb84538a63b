//! A replica's log: record batches with offsets and leader epochs, shared between replicas.
//!
//! ```text
//!   entries: [Rc<LogBatch> base 0 | base 40 | base 95 | ...]   leo = next offset to write
//! ```
//!
//! A follower copies the leader's batches by reference (`Rc`), so replication never clones a
//! record vector; the batch's offsets are fixed at the leader's append and are the same on
//! every replica. Truncation cuts at a batch boundary.
//!
//! A batch keeps its records' ids as runs of consecutive ids ([`BatchRecords`]), not one entry
//! per record: with the sticky partitioner a batch's records are usually one run, so a log costs
//! memory per batch. Nothing on the broker side reads a record's own size (the batch's size is
//! what fetches and limits use).

use std::rc::Rc;

use crate::checker::IdRange;
use crate::protocol::{LeaderEpoch, ProducerId, RecordId, WireRecord};

/// The ids of a batch's records in order, as runs of consecutive ids (16 bytes when they are
/// one run, the usual case).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchRecords {
    runs: Runs,
}

/// One run inline, or several on the heap.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Runs {
    One { first: RecordId, len: u32 },
    Many(Box<ManyRuns>),
}

/// Several runs, with their total.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ManyRuns {
    len: u32,
    runs: Box<[IdRange]>,
}

impl BatchRecords {
    /// The ids of `records`, in order.
    pub fn of(records: &[WireRecord]) -> Self {
        let len = u32::try_from(records.len()).expect("a batch holds fewer than 2^32 records");
        let one_run = records.windows(2).all(|w| w[1].id.0 == w[0].id.0 + 1);
        let runs = match records.first() {
            Some(first) if one_run => Runs::One {
                first: first.id,
                len,
            },
            None => Runs::One {
                first: RecordId(0),
                len: 0,
            },
            Some(_) => {
                let mut runs: Vec<IdRange> = Vec::new();
                for r in records {
                    match runs.last_mut() {
                        Some(last) if last.first.0 + u64::from(last.len) == r.id.0 => {
                            last.len += 1;
                        }
                        _ => runs.push(IdRange {
                            first: r.id,
                            len: 1,
                        }),
                    }
                }
                Runs::Many(Box::new(ManyRuns {
                    len,
                    runs: runs.into_boxed_slice(),
                }))
            }
        };
        BatchRecords { runs }
    }

    /// How many records.
    pub fn len(&self) -> usize {
        match &self.runs {
            Runs::One { len, .. } => *len as usize,
            Runs::Many(many) => many.len as usize,
        }
    }

    /// Whether the batch holds no record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first record's id.
    pub fn first(&self) -> Option<RecordId> {
        match &self.runs {
            Runs::One { len: 0, .. } => None,
            Runs::One { first, .. } => Some(*first),
            Runs::Many(many) => many.runs.first().map(|r| r.first),
        }
    }

    /// The runs of ids, in record order.
    pub fn runs(&self) -> impl Iterator<Item = IdRange> + '_ {
        let (one, many) = match &self.runs {
            Runs::One { len: 0, .. } => (None, &[][..]),
            Runs::One { first, len } => (
                Some(IdRange {
                    first: *first,
                    len: *len,
                }),
                &[][..],
            ),
            Runs::Many(many) => (None, &many.runs[..]),
        };
        one.into_iter().chain(many.iter().copied())
    }

    /// The runs of the records from position `skip` to `end` (exclusive), in record order,
    /// each with the position of its first record.
    pub fn runs_between(
        &self,
        skip: usize,
        end: usize,
    ) -> impl Iterator<Item = (usize, IdRange)> + '_ {
        let mut at = 0usize;
        self.runs().filter_map(move |r| {
            let (start, stop) = (at, at + r.len as usize);
            at = stop;
            let (from, to) = (start.max(skip), stop.min(end));
            (from < to).then(|| {
                (
                    from,
                    IdRange {
                        first: RecordId(r.first.0 + (from - start) as u64),
                        len: (to - from) as u32,
                    },
                )
            })
        })
    }

    /// The ids as runs, for the trace: `4`, `4..6` (inclusive), comma-separated.
    pub fn describe(&self) -> String {
        let runs: Vec<String> = self
            .runs()
            .map(|r| match r.len {
                1 => r.first.0.to_string(),
                len => format!("{}..{}", r.first.0, r.first.0 + u64::from(len) - 1),
            })
            .collect();
        runs.join(",")
    }

    /// Every id, in record order.
    pub fn ids(&self) -> impl Iterator<Item = RecordId> + '_ {
        self.runs()
            .flat_map(|r| (r.first.0..r.first.0 + u64::from(r.len)).map(RecordId))
    }
}

/// One batch in a log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogBatch {
    /// Offset of the first record.
    pub base_offset: i64,
    /// The leader epoch under which the leader appended it.
    pub leader_epoch: LeaderEpoch,
    /// Producer id, or [`ProducerId::NONE`].
    pub producer_id: ProducerId,
    /// Producer epoch.
    pub producer_epoch: i16,
    /// First sequence (−1 when not idempotent).
    pub base_sequence: i32,
    /// Last sequence (−1 when not idempotent).
    pub last_sequence: i32,
    /// The records' ids.
    pub records: BatchRecords,
    /// Batch size in bytes.
    pub size_bytes: u32,
    /// Plain data, transactional data, or a transaction marker (a control batch).
    pub kind: BatchKind,
}

/// What a batch holds, as the record batch's attributes say (transactional bit, control bit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchKind {
    /// Records outside any transaction.
    Plain,
    /// Records written inside a transaction.
    Transactional,
    /// A control batch: the COMMIT or ABORT marker of the producer's transaction. It holds no
    /// application record and takes one offset, as Kafka's end-transaction marker does.
    Marker {
        /// COMMIT (true) or ABORT.
        commit: bool,
    },
}

impl LogBatch {
    /// The offset after this batch's last record (a marker takes one offset).
    pub fn next_offset(&self) -> i64 {
        let marker = i64::from(matches!(self.kind, BatchKind::Marker { .. }));
        self.base_offset + self.records.len() as i64 + marker
    }
}

/// The batches of one replica of one partition.
#[derive(Clone, Debug, Default)]
pub struct PartitionLog {
    entries: Vec<Rc<LogBatch>>,
    leo: i64,
}

impl PartitionLog {
    /// The log end offset: the offset the next record will get.
    pub fn leo(&self) -> i64 {
        self.leo
    }

    /// Every batch, in offset order.
    pub fn entries(&self) -> &[Rc<LogBatch>] {
        &self.entries
    }

    /// Appends a batch whose base offset is the current log end offset.
    pub fn append(&mut self, batch: Rc<LogBatch>) {
        assert_eq!(
            batch.base_offset, self.leo,
            "a batch must start at the log end offset"
        );
        self.leo = batch.next_offset();
        self.entries.push(batch);
    }

    /// Index of the first batch at or after `offset`.
    pub fn index_from(&self, offset: i64) -> usize {
        // Followers fetch near the log end: look at the last few batches before searching the
        // whole log (each probe dereferences a batch, so a full binary search misses the cache).
        const TAIL_PROBES: usize = 8;
        let len = self.entries.len();
        let tail_start = len.saturating_sub(TAIL_PROBES);
        if tail_start == 0 || self.entries[tail_start - 1].next_offset() <= offset {
            return tail_start
                + self.entries[tail_start..].partition_point(|e| e.next_offset() <= offset);
        }
        self.entries[..tail_start].partition_point(|e| e.next_offset() <= offset)
    }

    /// The leader epoch of the last batch, if any.
    pub fn last_epoch(&self) -> Option<LeaderEpoch> {
        self.entries.last().map(|e| e.leader_epoch)
    }

    /// Removes every batch at or after `offset` (which must be a batch boundary or the end);
    /// returns the number of records removed.
    pub fn truncate_to(&mut self, offset: i64) -> u64 {
        let keep = self.index_from(offset);
        let removed: u64 = self.entries[keep..]
            .iter()
            .map(|e| e.records.len() as u64)
            .sum();
        self.entries.truncate(keep);
        self.leo = self.entries.last().map_or(0, |e| e.next_offset());
        removed
    }

    /// The end of the longest common prefix with `leader`'s log: batches are the same when they
    /// have the same base offset, leader epoch and length (one leader per epoch writes each
    /// offset once). This is the point Kafka's leader-epoch divergence protocol truncates to.
    pub fn divergence_offset(&self, leader: &PartitionLog) -> i64 {
        let same = self
            .entries
            .iter()
            .zip(&leader.entries)
            .take_while(|(a, b)| {
                Rc::ptr_eq(a, b)
                    || (a.base_offset == b.base_offset
                        && a.leader_epoch == b.leader_epoch
                        && a.records.len() == b.records.len())
            })
            .count();
        if same == 0 {
            0
        } else {
            self.entries[same - 1].next_offset()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(base: i64, epoch: u32, n: u64) -> Rc<LogBatch> {
        Rc::new(LogBatch {
            base_offset: base,
            leader_epoch: LeaderEpoch(epoch),
            producer_id: ProducerId::NONE,
            producer_epoch: -1,
            base_sequence: -1,
            last_sequence: -1,
            kind: BatchKind::Plain,
            records: BatchRecords::of(
                &(0..n)
                    .map(|i| WireRecord {
                        id: RecordId(base as u64 + i),
                        size_bytes: 10,
                    })
                    .collect::<Vec<_>>(),
            ),
            size_bytes: 100,
        })
    }

    #[test]
    fn index_from_agrees_with_a_linear_scan_near_the_end_and_far_from_it() {
        let mut log = PartitionLog::default();
        for n in [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3] {
            log.append(batch(log.leo(), 0, n));
        }
        for offset in -1..=log.leo() + 1 {
            let expected = log
                .entries()
                .iter()
                .position(|e| e.next_offset() > offset)
                .unwrap_or(log.entries().len());
            assert_eq!(log.index_from(offset), expected, "offset {offset}");
        }
    }

    #[test]
    fn batch_records_keep_every_id_in_order_as_runs() {
        let wire = |ids: &[u64]| -> Vec<WireRecord> {
            ids.iter()
                .map(|&id| WireRecord {
                    id: RecordId(id),
                    size_bytes: 1,
                })
                .collect()
        };
        for ids in [&[][..], &[4], &[4, 5, 6], &[4, 5, 9, 10, 2, 3, 3]] {
            let records = BatchRecords::of(&wire(ids));
            assert_eq!(records.len(), ids.len());
            assert_eq!(records.first().map(|r| r.0), ids.first().copied());
            let back: Vec<u64> = records.ids().map(|r| r.0).collect();
            assert_eq!(back, ids);
            for skip in 0..=ids.len() {
                for end in skip..=ids.len() {
                    let mut between = Vec::new();
                    for (at, r) in records.runs_between(skip, end) {
                        assert_eq!(at, skip + between.len());
                        between
                            .extend((r.first.0..r.first.0 + u64::from(r.len)).collect::<Vec<_>>());
                    }
                    assert_eq!(between, &ids[skip..end]);
                }
            }
        }
        assert!(matches!(
            BatchRecords::of(&wire(&[4, 5, 6])).runs,
            Runs::One { len: 3, .. }
        ));
        assert_eq!(std::mem::size_of::<BatchRecords>(), 16);
    }

    #[test]
    fn truncate_and_divergence_follow_batch_boundaries() {
        let mut leader = PartitionLog::default();
        let mut follower = PartitionLog::default();
        let shared = batch(0, 0, 3);
        leader.append(shared.clone());
        follower.append(shared);
        follower.append(batch(3, 0, 2));
        leader.append(batch(3, 1, 4));
        assert_eq!(follower.divergence_offset(&leader), 3);
        assert_eq!(follower.truncate_to(3), 2);
        assert_eq!(follower.leo(), 3);
        assert_eq!(leader.index_from(3), 1);
        assert_eq!(leader.index_from(7), 2);
    }
}
