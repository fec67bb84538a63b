//! Tests of the delivery checker on hand-built logs: every class, the accounting invariant,
//! duplicates, reordering per partition and per key.

use models::checker::{AppOutcome, FinalLogs, FinalPartitionLog, LoggedRecord, SentRecord, check};
use models::protocol::{PartitionId, RecordId};
use proptest::prelude::*;

fn acked(offset: i64) -> AppOutcome {
    AppOutcome::Acked { offset }
}
fn failed() -> AppOutcome {
    AppOutcome::Failed {
        error: "REQUEST_TIMED_OUT",
    }
}
fn sent(id: u64, p: u32, key: Option<u32>, outcome: AppOutcome) -> SentRecord {
    SentRecord {
        id: RecordId(id),
        partition: PartitionId(p),
        key,
        outcome,
    }
}
fn log(p: u32, ids: &[u64]) -> FinalPartitionLog {
    FinalPartitionLog {
        partition: PartitionId(p),
        records: ids
            .iter()
            .enumerate()
            .map(|(i, &id)| LoggedRecord {
                id: RecordId(id),
                offset: i as i64,
            })
            .collect(),
        pending: Vec::new(),
    }
}

#[test]
fn every_class_is_counted_once_and_the_classes_add_up() {
    let sent = vec![
        sent(0, 0, None, acked(0)),               // delivered once
        sent(1, 0, None, acked(1)),               // duplicated
        sent(2, 0, None, acked(5)),               // acked but lost
        sent(3, 0, None, acked(-1)),              // acks=0, absent: silent loss
        sent(4, 0, None, failed()),               // failed, absent
        sent(5, 0, None, failed()),               // failed, present
        sent(6, 0, None, AppOutcome::Unfinished), // unfinished, absent
        sent(7, 0, None, AppOutcome::Unfinished), // unfinished, present
        sent(8, 0, None, acked(-1)),              // acks=0, present: delivered once
    ];
    let logs = FinalLogs {
        partitions: vec![log(0, &[0, 1, 1, 1, 5, 7, 8])],
    };
    let r = check(&sent, &logs);
    assert_eq!(r.sent, 9);
    assert_eq!(
        (r.delivered_once, r.duplicated, r.acked_lost, r.silent_lost),
        (2, 1, 1, 1)
    );
    assert_eq!(
        (
            r.failed_absent,
            r.failed_present,
            r.unfinished_absent,
            r.unfinished_present
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(r.class_total(), r.sent);
    assert_eq!(r.duplicate_copies, 2, "record 1 has two extra copies");
    assert_eq!(r.examples["acked_lost"], vec![RecordId(2)]);
    assert_eq!(r.examples["duplicated"], vec![RecordId(1)]);
    assert_eq!(r.reordered, 0);
    assert!(!r.no_loss_of_acked() && !r.no_duplicates() && r.no_reordering());
}

/// A run that ends before replication caught up: records absent from the committed log but
/// above the high watermark on some replica are unsettled, whatever the application was told;
/// committed records and records on no replica keep their classes, and a pending id of another
/// partition says nothing about a record.
#[test]
fn records_only_above_the_high_watermark_are_unsettled_not_lost() {
    let sent = vec![
        sent(0, 0, None, acked(0)),               // committed: delivered once
        sent(1, 0, None, acked(1)),               // pending only: unsettled, not acked_lost
        sent(2, 0, None, failed()),               // pending only: unsettled, not failed_absent
        sent(3, 0, None, AppOutcome::Unfinished), // pending only: unsettled
        sent(4, 0, None, acked(2)),               // nowhere: acked_lost
        sent(5, 1, None, acked(0)),               // pending in partition 0, sent to 1: lost
        sent(6, 0, None, acked(-1)),              // committed and pending: delivered once
    ];
    let mut p0 = log(0, &[0, 6]);
    p0.pending = vec![
        RecordId(1),
        RecordId(2),
        RecordId(3),
        RecordId(5),
        RecordId(6),
    ];
    let logs = FinalLogs {
        partitions: vec![p0, log(1, &[])],
    };
    let r = check(&sent, &logs);
    assert_eq!(r.unsettled, 3);
    assert_eq!(r.acked_lost, 2);
    assert_eq!(r.delivered_once, 2);
    assert_eq!((r.failed_absent, r.unfinished_absent), (0, 0));
    assert_eq!(r.class_total(), r.sent);
    assert_eq!(
        r.examples["unsettled"],
        vec![RecordId(1), RecordId(2), RecordId(3)]
    );
    assert_eq!(r.examples["acked_lost"], vec![RecordId(4), RecordId(5)]);
}

#[test]
fn a_record_written_after_a_later_one_is_reordered() {
    // Scenario A of the facts file: batch 1 (records 0..3) retried after batch 2 (3..6).
    let sent: Vec<SentRecord> = (0..6)
        .map(|i| sent(i, 0, Some((i % 2) as u32), acked(0)))
        .collect();
    let logs = FinalLogs {
        partitions: vec![log(0, &[3, 4, 5, 0, 1, 2])],
    };
    let r = check(&sent, &logs);
    assert_eq!(
        r.reordered, 3,
        "records 0, 1 and 2 each follow a record sent later"
    );
    // Key 0: ids 0, 2, 4 at offsets 3, 5, 1 → 0 and 2 follow 4. Key 1: 1, 3, 5 at 4, 0, 2 → 1 follows 3 and 5.
    assert_eq!(r.key_reordered, 3);
    assert_eq!(r.keys_reordered, 2);
    assert_eq!(
        r.acked_offset_mismatch, 5,
        "only record 3 landed at the offset 0 it was told"
    );
    assert!(!r.guarantees().no_reordering);
}

#[test]
fn reordering_is_judged_per_partition_and_duplicates_use_the_first_copy() {
    let sent: Vec<SentRecord> = (0..4)
        .map(|i| sent(i, (i % 2) as u32, None, acked(-1)))
        .collect();
    // p0 holds 0 then 2; p1 holds 1, then 3, then a later copy of 1: first positions keep order.
    let logs = FinalLogs {
        partitions: vec![log(0, &[0, 2]), log(1, &[1, 3, 1])],
    };
    let r = check(&sent, &logs);
    assert_eq!(r.reordered, 0);
    assert_eq!(r.duplicated, 1);
    assert_eq!(r.duplicate_copies, 1);
}

#[test]
fn records_in_the_wrong_partition_or_unknown_are_foreign() {
    let sent = vec![sent(0, 0, None, acked(0))];
    let logs = FinalLogs {
        partitions: vec![log(0, &[]), log(1, &[0, 9])],
    };
    let r = check(&sent, &logs);
    assert_eq!(r.foreign_in_log, 2);
    assert_eq!(r.acked_lost, 1);
}

#[test]
fn sparse_ids_are_matched_by_search() {
    let sent = vec![sent(10, 0, None, acked(0)), sent(20, 0, None, acked(1))];
    let logs = FinalLogs {
        partitions: vec![log(0, &[10, 20])],
    };
    let r = check(&sent, &logs);
    assert_eq!(r.delivered_once, 2);
    assert_eq!(r.acked_offset_mismatch, 0);
}

fn outcome_strategy() -> impl Strategy<Value = AppOutcome> {
    prop_oneof![
        (-1i64..50).prop_map(|offset| AppOutcome::Acked { offset }),
        Just(AppOutcome::Failed { error: "X" }),
        Just(AppOutcome::Unfinished),
    ]
}

proptest! {
    #[test]
    fn classes_partition_the_sent_records_and_sorted_logs_are_never_reordered(
        outcomes in prop::collection::vec(outcome_strategy(), 0..60),
        picks in prop::collection::vec((0usize..60, 0u32..3), 0..120),
    ) {
        let sent: Vec<SentRecord> = outcomes.into_iter().enumerate().map(|(i, o)| sent(i as u64, (i % 2) as u32, Some(i as u32 % 3), o)).collect();
        let mut ids: Vec<u64> = picks.iter().filter(|(i, _)| *i < sent.len()).flat_map(|&(i, n)| std::iter::repeat_n(i as u64, n as usize)).collect();
        ids.sort_unstable();
        let p0: Vec<u64> = ids.iter().copied().filter(|i| i % 2 == 0).collect();
        let p1: Vec<u64> = ids.iter().copied().filter(|i| i % 2 == 1).collect();
        let r = check(&sent, &FinalLogs { partitions: vec![log(0, &p0), log(1, &p1)] });
        prop_assert_eq!(r.class_total(), sent.len() as u64);
        prop_assert_eq!(r.reordered, 0);
        prop_assert_eq!(r.key_reordered, 0);
        prop_assert_eq!(r.duplicate_copies as usize + (r.sent - r.acked_lost - r.silent_lost - r.failed_absent - r.unfinished_absent) as usize, ids.len());
    }

    #[test]
    fn reversing_a_partition_reorders_all_but_its_last_sent_record(n in 1u64..40) {
        let sent: Vec<SentRecord> = (0..n).map(|i| sent(i, 0, None, acked(0))).collect();
        let ids: Vec<u64> = (0..n).rev().collect();
        let r = check(&sent, &FinalLogs { partitions: vec![log(0, &ids)] });
        prop_assert_eq!(r.reordered, n - 1);
    }
}

/// The checker as first written (string class names, maps per partition and key): the reference
/// the faster `check` must agree with on every field and example.
mod reference {
    use std::collections::BTreeMap;

    use models::checker::{AppOutcome, CheckerReport, EXAMPLES_PER_CLASS, FinalLogs, SentRecord};
    use models::protocol::{PartitionId, RecordId};

    fn note(report: &mut CheckerReport, class: &'static str, id: RecordId) {
        let list = report.examples.entry(class).or_default();
        if list.len() < EXAMPLES_PER_CLASS {
            list.push(id);
        }
    }

    fn class_counter<'r>(report: &'r mut CheckerReport, class: &str) -> &'r mut u64 {
        match class {
            "delivered_once" => &mut report.delivered_once,
            "duplicated" => &mut report.duplicated,
            "acked_lost" => &mut report.acked_lost,
            "silent_lost" => &mut report.silent_lost,
            "failed_absent" => &mut report.failed_absent,
            "failed_present" => &mut report.failed_present,
            "unfinished_absent" => &mut report.unfinished_absent,
            "unsettled" => &mut report.unsettled,
            _ => &mut report.unfinished_present,
        }
    }

    pub fn check(sent: &[SentRecord], logs: &FinalLogs) -> CheckerReport {
        let index: BTreeMap<RecordId, usize> =
            sent.iter().enumerate().map(|(i, s)| (s.id, i)).collect();
        let mut report = CheckerReport {
            sent: sent.len() as u64,
            ..CheckerReport::default()
        };
        let mut copies = vec![0u32; sent.len()];
        let mut first_offset = vec![i64::MAX; sent.len()];
        for log in &logs.partitions {
            for rec in &log.records {
                match index.get(&rec.id) {
                    Some(&i) if sent[i].partition == log.partition => {
                        copies[i] += 1;
                        first_offset[i] = first_offset[i].min(rec.offset);
                    }
                    _ => {
                        report.foreign_in_log += 1;
                        note(&mut report, "foreign_in_log", rec.id);
                    }
                }
            }
        }
        for (i, s) in sent.iter().enumerate() {
            let copies = copies[i];
            report.duplicate_copies += u64::from(copies.saturating_sub(1));
            let reported = match s.outcome {
                AppOutcome::Acked { offset } => offset,
                _ => -1,
            };
            let pending = logs
                .partitions
                .iter()
                .any(|log| log.partition == s.partition && log.pending.contains(&s.id));
            let class = match (&s.outcome, copies) {
                (_, 0) if pending => "unsettled",
                (AppOutcome::Acked { .. }, 1) => "delivered_once",
                (AppOutcome::Acked { .. }, 0) if reported < 0 => "silent_lost",
                (AppOutcome::Acked { .. }, 0) => "acked_lost",
                (AppOutcome::Acked { .. }, _) => "duplicated",
                (AppOutcome::Failed { .. }, 0) => "failed_absent",
                (AppOutcome::Failed { .. }, _) => "failed_present",
                (AppOutcome::Unfinished, 0) => "unfinished_absent",
                (AppOutcome::Unfinished, _) => "unfinished_present",
            };
            *class_counter(&mut report, class) += 1;
            note(&mut report, class, s.id);
            if reported >= 0 && copies > 0 && first_offset[i] != reported {
                report.acked_offset_mismatch += 1;
                note(&mut report, "acked_offset_mismatch", s.id);
            }
        }
        let mut min_later_by_partition: BTreeMap<PartitionId, i64> = BTreeMap::new();
        let mut min_later_by_key: BTreeMap<(PartitionId, u32), i64> = BTreeMap::new();
        let mut reordered_keys: BTreeMap<(PartitionId, u32), ()> = BTreeMap::new();
        for (i, s) in sent.iter().enumerate().rev() {
            if copies[i] == 0 {
                continue;
            }
            let pos = first_offset[i];
            let min_later = min_later_by_partition
                .entry(s.partition)
                .or_insert(i64::MAX);
            if *min_later < pos {
                report.reordered += 1;
                note(&mut report, "reordered", s.id);
            }
            *min_later = (*min_later).min(pos);
            if let Some(key) = s.key {
                let min_key = min_later_by_key
                    .entry((s.partition, key))
                    .or_insert(i64::MAX);
                if *min_key < pos {
                    report.key_reordered += 1;
                    reordered_keys.insert((s.partition, key), ());
                }
                *min_key = (*min_key).min(pos);
            }
        }
        report.keys_reordered = reordered_keys.len() as u64;
        report
    }
}

/// Partition ids: small and dense, or sparse and huge (the checker's map fallback).
const SMALL_PARTITIONS: [u32; 4] = [0, 1, 2, 3];
const HUGE_PARTITIONS: [u32; 4] = [0, 7, 1 << 20, u32::MAX];
/// Key indexes: small, or huge (the checker's map fallback).
const SMALL_KEYS: [u32; 5] = [0, 1, 2, 3, 4];
const HUGE_KEYS: [u32; 5] = [0, 3, 77, 1 << 30, u32::MAX];

fn any_outcome() -> impl Strategy<Value = AppOutcome> {
    prop_oneof![
        (-1i64..40).prop_map(|offset| AppOutcome::Acked { offset }),
        prop::sample::select(vec!["REQUEST_TIMED_OUT", "TimeoutException"])
            .prop_map(|error| AppOutcome::Failed { error }),
        Just(AppOutcome::Unfinished),
    ]
}

/// One sent record: id gap before it, partition and key choice, outcome.
fn any_sent() -> impl Strategy<Value = (u64, usize, Option<usize>, AppOutcome)> {
    (
        prop_oneof![6 => Just(0u64), 1 => 1u64..4],
        0usize..4,
        prop::option::of(0usize..5),
        any_outcome(),
    )
}

/// The sent list drawn by `any_sent`: ids ascending from `first_id` with the drawn gaps, the
/// drawn partition and key indices mapped through `partitions` and `keys`.
fn sent_list(
    first_id: u64,
    records: Vec<(u64, usize, Option<usize>, AppOutcome)>,
    partitions: &[u32],
    keys: &[u32],
) -> Vec<SentRecord> {
    let mut next_id = first_id;
    records
        .into_iter()
        .map(|(gap, p, key, outcome)| {
            next_id += gap;
            let s = sent(next_id, partitions[p], key.map(|k| keys[k]), outcome);
            next_id += 1;
            s
        })
        .collect()
}

/// One log entry: which id (mostly a sent record's, else anything near), whether it lands in
/// another partition than sent to, and a sort key that shuffles the log.
fn any_entry() -> impl Strategy<Value = (usize, bool, u32)> {
    (0usize..100, prop::bool::weighted(0.1), any::<u32>())
}

/// Ids pending above the high watermark of partition `p`, sorted and distinct, as the cluster
/// lists them: picks within the sent list name its records (of any partition: a pending id of
/// another partition must not count), picks past it ids nobody sent.
fn pending_ids(sent: &[SentRecord], picks: &[usize], p: u32) -> Vec<RecordId> {
    let mut ids: Vec<RecordId> = picks
        .iter()
        .filter(|&&pick| {
            sent.get(pick)
                .is_none_or(|s| s.partition.0 == p || pick % 3 == 0)
        })
        .map(|&pick| {
            sent.get(pick)
                .map_or(RecordId(pick as u64 + 5000), |s| s.id)
        })
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

proptest! {
    #![proptest_config(ProptestConfig { cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(512), ..ProptestConfig::default() })]

    #[test]
    fn check_agrees_with_the_reference_implementation(
        first_id in prop_oneof![3 => Just(0u64), 1 => 1u64..5],
        records in prop::collection::vec(any_sent(), 0..80),
        entries in prop::collection::vec(any_entry(), 0..160),
        huge_partitions in prop::bool::weighted(0.25),
        huge_keys in prop::bool::weighted(0.25),
        in_send_order in prop::bool::weighted(0.3),
        offset_stride in 1i64..3,
        pending_picks in prop::collection::vec(0usize..100, 0..20),
    ) {
        let partitions = if huge_partitions { HUGE_PARTITIONS } else { SMALL_PARTITIONS };
        let keys = if huge_keys { HUGE_KEYS } else { SMALL_KEYS };
        let sent = sent_list(first_id, records, &partitions, &keys);
        // Per log partition (the sent ones plus one nobody sent to): (sort key, id).
        let mut logs: Vec<(u32, Vec<(u32, u64)>)> = partitions
            .iter()
            .chain(&[5])
            .map(|&p| (p, Vec::new()))
            .collect();
        for (pick, elsewhere, order) in entries {
            // Picks past the sent list hit gaps and ids nobody sent (foreign).
            let (id, p) = match sent.get(pick) {
                Some(s) => (s.id.0, s.partition.0),
                None => (pick as u64 - sent.len() as u64 + first_id, partitions[pick % 4]),
            };
            let p = if elsewhere { partitions[(pick + 1) % 4] } else { p };
            let order = if in_send_order { id as u32 } else { order };
            let log = logs.iter_mut().find(|(q, _)| *q == p).expect("every partition has a log");
            log.1.push((order, id));
        }
        let logs = FinalLogs {
            partitions: logs
                .into_iter()
                .map(|(p, mut ids)| {
                    ids.sort_by_key(|&(order, _)| order);
                    FinalPartitionLog {
                        partition: PartitionId(p),
                        records: ids
                            .iter()
                            .enumerate()
                            .map(|(i, &(_, id))| LoggedRecord { id: RecordId(id), offset: i as i64 * offset_stride })
                            .collect(),
                        pending: pending_ids(&sent, &pending_picks, p),
                    }
                })
                .collect(),
        };
        prop_assert_eq!(check(&sent, &logs), reference::check(&sent, &logs));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(512), ..ProptestConfig::default() })]

    /// Logs out of offset order (shuffled, tied offsets) or listing a partition twice take the
    /// checker's general reordering pass, and small logs whose random offsets happen to ascend
    /// its log-order pass: both must agree with the reference.
    #[test]
    fn check_agrees_with_the_reference_on_logs_out_of_offset_order(
        records in prop::collection::vec(any_sent(), 0..60),
        entries in prop::collection::vec((0usize..70, 0usize..8, 0i64..12), 0..120),
        repeat_partition in any::<bool>(),
    ) {
        let sent = sent_list(0, records, &SMALL_PARTITIONS, &SMALL_KEYS);
        // Logs of partitions 0..=3, then partition 1 again if repeated.
        let mut logs: Vec<FinalPartitionLog> = [0, 1, 2, 3, 1][..4 + usize::from(repeat_partition)]
            .iter()
            .map(|&p| FinalPartitionLog { partition: PartitionId(p), records: Vec::new(), pending: Vec::new() })
            .collect();
        for (pick, choice, offset) in entries {
            // Picks past the sent list are ids nobody sent (foreign).
            let (id, p) = sent.get(pick).map_or((pick as u64 + 1000, 0), |s| (s.id.0, s.partition.0));
            // Mostly the partition sent to (either of partition 1's logs), else any.
            let log = match choice {
                0..5 if p == 1 && repeat_partition && choice % 2 == 0 => 4,
                0..5 => p as usize,
                _ => choice - 5,
            };
            logs[log].records.push(LoggedRecord { id: RecordId(id), offset });
        }
        let logs = FinalLogs { partitions: logs };
        prop_assert_eq!(check(&sent, &logs), reference::check(&sent, &logs));
    }
}
