//! The exactly-once checker of a transactional producer: a read_committed and a
//! read_uncommitted view of the brokers' final logs, judged against what the application was
//! told about each of its transactions.
//!
//! ```text
//!  per partition, the batches below the final high watermark, in offset order:
//!    transactional data of producer P ─► P's open transaction (its first offset starts it)
//!    COMMIT marker of P ─► P's open batches committed │ ABORT marker ─► aborted
//!    LSO = min(HW, first offset of a transaction still open)
//!  read_committed   = plain batches and committed transactional batches below the LSO
//!  read_uncommitted = every data batch below the HW
//!  verdict: every record of a transaction whose commitTransaction returned is in
//!           read_committed exactly once; no record of another transaction is in it
//! ```
//!
//! Judged from the final logs only: the application's side gives only which records each
//! transaction held and how `commitTransaction`/`abortTransaction` returned.
//!
//! Fidelity: the consumer's read_committed fetch reads up to the last stable offset
//! (`UnifiedLog.lastStableOffset`: the high watermark or the first offset of the earliest
//! ongoing transaction, `ProducerStateManager.firstUnstableOffset`) and drops the batches of
//! aborted transactions using the aborted-transaction list and the ABORT markers
//! (`CompletedFetch`'s `abortedProducerIds` / `isBatchAborted`); control batches are never
//! returned to the application.

use crate::cluster::log::{BatchKind, LogBatch};
use crate::producer::transactions::{TxnOutcome, TxnRange};

/// The exactly-once verdict over a transactional run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TxnVerdict {
    /// Transactions whose `commitTransaction` returned.
    pub committed_transactions: u64,
    /// Transactions aborted by the application, or left by a fenced or failed producer.
    pub aborted_transactions: u64,
    /// Records of committed transactions.
    pub committed_records: u64,
    /// Records read_committed shows (every copy).
    pub read_committed_records: u64,
    /// Extra copies of committed records in read_committed.
    pub read_committed_duplicates: u64,
    /// Records of committed transactions missing from read_committed.
    pub read_committed_lost: u64,
    /// Records of transactions that did not commit for the application but are in
    /// read_committed.
    pub read_committed_uncommitted: u64,
    /// Records read_uncommitted shows that belong to aborted transactions (by the markers).
    pub read_uncommitted_aborted: u64,
    /// Records below the high watermark whose transaction has no marker yet (beyond the LSO).
    pub beyond_lso: u64,
    /// COMMIT and ABORT markers in the final logs.
    pub markers: (u64, u64),
}

impl TxnVerdict {
    /// Exactly once in read_committed: nothing lost, duplicated or visible that did not commit.
    pub fn exactly_once(&self) -> bool {
        self.read_committed_duplicates == 0
            && self.read_committed_lost == 0
            && self.read_committed_uncommitted == 0
    }
}

/// What one partition's final log shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PartitionViews {
    /// Record ids read_committed returns, in offset order.
    pub read_committed: Vec<u64>,
    /// Record ids of aborted transactions that read_uncommitted returns.
    pub aborted: Vec<u64>,
    /// Record ids below the HW whose transaction is still open.
    pub beyond_lso: Vec<u64>,
    /// The last stable offset.
    pub lso: i64,
    /// COMMIT and ABORT markers below the HW.
    pub markers: (u64, u64),
}

/// The views of one partition's log below `hw`.
pub fn partition_views(batches: &[std::rc::Rc<LogBatch>], hw: i64) -> PartitionViews {
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Fate {
        Plain,
        Open,
        Committed,
        Aborted,
    }
    let visible: Vec<&LogBatch> = batches
        .iter()
        .map(AsRef::as_ref)
        .take_while(|b| b.next_offset() <= hw)
        .collect();
    let mut fate = vec![Fate::Plain; visible.len()];
    // Producer id → indexes of its open transaction's batches.
    let mut open: std::collections::BTreeMap<i64, Vec<usize>> = std::collections::BTreeMap::new();
    let mut markers = (0, 0);
    for (i, batch) in visible.iter().enumerate() {
        match batch.kind {
            BatchKind::Plain => {}
            BatchKind::Transactional => {
                fate[i] = Fate::Open;
                open.entry(batch.producer_id.0).or_default().push(i);
            }
            BatchKind::Marker { commit } => {
                if commit {
                    markers.0 += 1;
                } else {
                    markers.1 += 1;
                }
                for j in open.remove(&batch.producer_id.0).unwrap_or_default() {
                    fate[j] = if commit {
                        Fate::Committed
                    } else {
                        Fate::Aborted
                    };
                }
            }
        }
    }
    let lso = open
        .values()
        .filter_map(|v| v.first())
        .map(|&i| visible[i].base_offset)
        .min()
        .unwrap_or(hw)
        .min(hw);
    let mut views = PartitionViews {
        lso,
        markers,
        ..PartitionViews::default()
    };
    for (batch, fate) in visible.iter().zip(fate) {
        let ids = batch.records.ids().map(|r| r.0);
        match fate {
            Fate::Plain | Fate::Committed if batch.next_offset() <= lso => {
                views.read_committed.extend(ids);
            }
            Fate::Aborted => views.aborted.extend(ids),
            Fate::Open => views.beyond_lso.extend(ids),
            Fate::Plain | Fate::Committed => {}
        }
    }
    views
}

/// Judges a run: `ranges` are the application's transactions, `records` how many records it
/// sent, `partitions` each partition's views.
pub fn check_transactions(
    ranges: &[TxnRange],
    records: u64,
    partitions: &[PartitionViews],
) -> TxnVerdict {
    let n = usize::try_from(records).expect("record ids fit in memory");
    // 0: not in a committed transaction; 1: committed.
    let mut committed = vec![false; n];
    let mut verdict = TxnVerdict::default();
    for r in ranges {
        match r.outcome {
            TxnOutcome::Committed => {
                verdict.committed_transactions += 1;
                verdict.committed_records += r.end - r.first;
                for id in r.first..r.end {
                    committed[id as usize] = true;
                }
            }
            TxnOutcome::Aborted => verdict.aborted_transactions += 1,
            TxnOutcome::Open => {}
        }
    }
    let mut seen = vec![0u8; n];
    for views in partitions {
        verdict.markers.0 += views.markers.0;
        verdict.markers.1 += views.markers.1;
        verdict.read_uncommitted_aborted += views.aborted.len() as u64;
        verdict.beyond_lso += views.beyond_lso.len() as u64;
        for &id in &views.read_committed {
            verdict.read_committed_records += 1;
            let Some(slot) = seen.get_mut(id as usize) else {
                continue;
            };
            *slot = slot.saturating_add(1);
        }
    }
    for (id, &copies) in seen.iter().enumerate() {
        if committed[id] {
            match copies {
                0 => verdict.read_committed_lost += 1,
                c => verdict.read_committed_duplicates += u64::from(c - 1),
            }
        } else {
            verdict.read_committed_uncommitted += u64::from(copies);
        }
    }
    verdict
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use super::*;
    use crate::cluster::log::BatchRecords;
    use crate::protocol::{LeaderEpoch, ProducerId, RecordId, WireRecord};

    fn data(base: i64, pid: i64, first: u64, n: u64, kind: BatchKind) -> Rc<LogBatch> {
        let records: Vec<WireRecord> = (first..first + n)
            .map(|i| WireRecord {
                id: RecordId(i),
                size_bytes: 1,
            })
            .collect();
        Rc::new(LogBatch {
            base_offset: base,
            leader_epoch: LeaderEpoch(0),
            producer_id: ProducerId(pid),
            producer_epoch: 0,
            base_sequence: 0,
            last_sequence: n as i32 - 1,
            records: BatchRecords::of(&records),
            size_bytes: 100,
            kind,
        })
    }

    fn marker(base: i64, pid: i64, commit: bool) -> Rc<LogBatch> {
        Rc::new(LogBatch {
            base_offset: base,
            leader_epoch: LeaderEpoch(0),
            producer_id: ProducerId(pid),
            producer_epoch: 1,
            base_sequence: -1,
            last_sequence: -1,
            records: BatchRecords::of(&[]),
            size_bytes: 78,
            kind: BatchKind::Marker { commit },
        })
    }

    const T: BatchKind = BatchKind::Transactional;

    #[test]
    fn read_committed_skips_aborted_data_and_stops_at_the_lso() {
        // pid 1: records 0-1 committed, 2-3 aborted, 4-5 open; a plain batch after the open one.
        let log = vec![
            data(0, 1, 0, 2, T),
            marker(2, 1, true),
            data(3, 1, 2, 2, T),
            marker(5, 1, false),
            data(6, 1, 4, 2, T),
            data(8, 9, 100, 1, BatchKind::Plain),
        ];
        let views = partition_views(&log, 9);
        assert_eq!(views.lso, 6);
        assert_eq!(views.read_committed, vec![0, 1]);
        assert_eq!(views.aborted, vec![2, 3]);
        assert_eq!(views.beyond_lso, vec![4, 5]);
        assert_eq!(views.markers, (1, 1));
        // Below a lower HW the marker is not yet visible: the transaction is open.
        let early = partition_views(&log, 2);
        assert_eq!(early.lso, 0);
        assert!(early.read_committed.is_empty());
        assert_eq!(early.beyond_lso, vec![0, 1]);
    }

    #[test]
    fn the_verdict_counts_losses_duplicates_and_leaks() {
        let ranges = [
            TxnRange {
                first: 0,
                end: 2,
                outcome: TxnOutcome::Committed,
            },
            TxnRange {
                first: 2,
                end: 4,
                outcome: TxnOutcome::Aborted,
            },
        ];
        let exact = PartitionViews {
            read_committed: vec![0, 1],
            aborted: vec![2, 3],
            ..PartitionViews::default()
        };
        let verdict = check_transactions(&ranges, 4, &[exact]);
        assert!(verdict.exactly_once());
        assert_eq!(verdict.read_uncommitted_aborted, 2);
        assert_eq!(verdict.committed_records, 2);
        let broken = PartitionViews {
            read_committed: vec![0, 0, 3],
            ..PartitionViews::default()
        };
        let verdict = check_transactions(&ranges, 4, &[broken]);
        assert_eq!(verdict.read_committed_duplicates, 1);
        assert_eq!(verdict.read_committed_lost, 1);
        assert_eq!(verdict.read_committed_uncommitted, 1);
        assert!(!verdict.exactly_once());
    }
}
