//! The range checker gives exactly the per-record checker's verdict: on hand-built logs with
//! every class, and on random records and logs built from runs of consecutive ids (so ranges are
//! long), with duplicates, reordering, keys, records in the wrong partition, foreign ids,
//! pending records and logs out of offset order.

use models::checker::{
    AppOutcome, FinalLogs, FinalPartitionLog, LoggedRecord, SentRecord, SentRuns, check,
    check_range_partitions, check_ranges,
};
use models::protocol::{PartitionId, RecordId};
use proptest::prelude::*;

fn both(sent: &[SentRecord], logs: &FinalLogs) {
    let expected = check(sent, logs);
    let runs = SentRuns::of_records(sent);
    let ranges = logs.to_ranges();
    let got = check_ranges(&runs, &ranges);
    assert_eq!(got, expected);
    // Logs of partitions 0, 1, ... once each can also be read one partition at a time.
    let one_each = ranges
        .partitions
        .iter()
        .enumerate()
        .all(|(i, log)| log.partition.0 as usize == i);
    if one_each {
        let mut logs = ranges.partitions.clone().into_iter();
        let got = check_range_partitions(&runs, ranges.partitions.len(), |p| {
            let log = logs.next().expect("one log per partition");
            assert_eq!(log.partition, p);
            log
        });
        assert_eq!(got, expected);
    }
}

/// A random outcome: kind 0 acked at `offset`, 1 acked with −1, 2 failed, 3 unfinished.
fn outcome(kind: u8, offset: i64) -> AppOutcome {
    match kind {
        0 => AppOutcome::Acked { offset },
        1 => AppOutcome::Acked { offset: -1 },
        2 => AppOutcome::Failed {
            error: "TimeoutException",
        },
        _ => AppOutcome::Unfinished,
    }
}

/// One batch: `len` records sent to `partition`, with one outcome kind, keyed or not.
#[derive(Clone, Debug)]
struct Batch {
    partition: u32,
    len: u64,
    gap: u64,
    kind: u8,
    keyed: bool,
    /// How many copies reach the log (0, 1, 2), and whether the first is cut short.
    copies: u8,
    cut: u64,
    /// Whether the acked offsets are off by one (a mismatch).
    off_by_one: bool,
    /// Whether the copy lands in another partition.
    misplaced: bool,
    pending: bool,
}

fn batch() -> impl Strategy<Value = Batch> {
    (
        (0u32..3, 1u64..12, 0u64..3, 0u8..4, any::<bool>()),
        (
            0u8..3,
            0u64..4,
            prop::bool::weighted(0.1),
            prop::bool::weighted(0.05),
        ),
        prop::bool::weighted(0.2),
    )
        .prop_map(
            |(
                (partition, len, gap, kind, keyed),
                (copies, cut, off_by_one, misplaced),
                pending,
            )| {
                Batch {
                    partition,
                    len,
                    gap,
                    kind,
                    keyed,
                    copies,
                    cut,
                    off_by_one,
                    misplaced,
                    pending,
                }
            },
        )
}

/// Builds records and logs from batches: each batch's copies are appended to its partition's
/// log, in an order shuffled by `swaps` (later batches may land first: reordering).
fn build(
    batches: &[Batch],
    swaps: &[(usize, usize)],
    foreign: &[u64],
    scramble: bool,
) -> (Vec<SentRecord>, FinalLogs) {
    let mut sent = Vec::new();
    let mut id = 0u64;
    let mut copies: Vec<(u32, u64, u64, Batch)> = Vec::new();
    for b in batches {
        id += b.gap;
        let first = id;
        for k in 0..b.len {
            sent.push(SentRecord {
                id: RecordId(first + k),
                partition: PartitionId(b.partition),
                key: b.keyed.then_some(((first + k) % 3) as u32),
                outcome: AppOutcome::Unfinished,
            });
        }
        id += b.len;
        for c in 0..b.copies {
            let len = if c == 0 {
                b.len.saturating_sub(b.cut).max(1)
            } else {
                b.len
            };
            let p = if b.misplaced {
                (b.partition + 1) % 3
            } else {
                b.partition
            };
            copies.push((p, first, len, b.clone()));
        }
    }
    for &(a, b) in swaps {
        if a < copies.len() && b < copies.len() {
            copies.swap(a, b);
        }
    }
    let mut logs: Vec<FinalPartitionLog> = (0..3)
        .map(|p| FinalPartitionLog {
            partition: PartitionId(p),
            records: Vec::new(),
            pending: Vec::new(),
        })
        .collect();
    // The acked offset of each record is where its first copy landed (unless off by one).
    let mut acked_at: Vec<Option<i64>> = vec![None; id as usize];
    for (p, first, len, b) in &copies {
        let log = &mut logs[*p as usize];
        for k in 0..*len {
            let offset = log.records.len() as i64;
            log.records.push(LoggedRecord {
                id: RecordId(first + k),
                offset,
            });
            let slot = &mut acked_at[(first + k) as usize];
            if slot.is_none() {
                *slot = Some(offset + i64::from(b.off_by_one));
            }
        }
        if b.pending {
            log.pending.push(RecordId(first + len));
        }
    }
    // A batch that reached no committed log but lies above a high watermark: pending.
    let mut first = 0u64;
    for b in batches {
        first += b.gap;
        if b.pending && b.copies == 0 {
            let log = &mut logs[b.partition as usize];
            log.pending.extend((first..first + b.len).map(RecordId));
        }
        first += b.len;
    }
    for (i, &f) in foreign.iter().enumerate() {
        let log = &mut logs[i % 3];
        let offset = log.records.len() as i64;
        log.records.push(LoggedRecord {
            id: RecordId(f),
            offset,
        });
    }
    // Outcomes, per batch.
    let mut at = 0usize;
    let mut id = 0u64;
    for b in batches {
        id += b.gap;
        for k in 0..b.len {
            let rid = id + k;
            let offset = acked_at[rid as usize].unwrap_or(1_000 + rid as i64);
            sent[at].outcome = outcome(b.kind, offset);
            at += 1;
        }
        id += b.len;
    }
    for log in &mut logs {
        log.pending.sort_unstable();
        log.pending.dedup();
        if scramble && log.records.len() > 2 {
            // Out of offset order: the checker must use first offsets, not log order.
            log.records.swap(0, 2);
            let last = log.records.len() - 1;
            log.records[last].offset = log.records[0].offset;
        }
    }
    (sent, FinalLogs { partitions: logs })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn the_range_checker_agrees_with_the_per_record_checker(
        batches in prop::collection::vec(batch(), 0..30),
        swaps in prop::collection::vec((0usize..40, 0usize..40), 0..6),
        foreign in prop::collection::vec(0u64..500, 0..4),
        scramble in prop::bool::weighted(0.15),
        dropped in prop::collection::vec(0usize..400, 0..3),
    ) {
        let (mut sent, mut logs) = build(&batches, &swaps, &foreign, scramble);
        // Some records never sent at all leave holes in the ids (their copies become foreign).
        for d in dropped {
            if d < sent.len() {
                sent.remove(d);
            }
        }
        // A pending id the committed log also holds, and one of a record that is absent.
        if let Some(first) = sent.first() {
            logs.partitions[first.partition.0 as usize].pending.push(first.id);
            logs.partitions[first.partition.0 as usize].pending.sort_unstable();
            logs.partitions[first.partition.0 as usize].pending.dedup();
        }
        both(&sent, &logs);
    }
}

#[test]
fn a_partition_named_twice_and_a_log_of_no_sent_partition_agree() {
    let sent: Vec<SentRecord> = (0..6)
        .map(|i| SentRecord {
            id: RecordId(i),
            partition: PartitionId((i % 2) as u32),
            key: None,
            outcome: AppOutcome::Acked { offset: i as i64 },
        })
        .collect();
    let log = |p: u32, ids: &[u64]| FinalPartitionLog {
        partition: PartitionId(p),
        records: ids
            .iter()
            .enumerate()
            .map(|(k, &id)| LoggedRecord {
                id: RecordId(id),
                offset: k as i64,
            })
            .collect(),
        pending: vec![RecordId(5)],
    };
    let logs = FinalLogs {
        partitions: vec![
            log(1, &[3, 1]),
            log(0, &[0, 2, 4]),
            log(1, &[5]),
            log(7, &[2]),
        ],
    };
    both(&sent, &logs);
    both(&[], &logs);
    both(&sent, &FinalLogs::default());
}
