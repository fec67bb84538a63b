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
        error: "REQUEST_TIMED_OUT".into(),
    }
}
fn sent(id: u64, p: u32, key: Option<u64>, outcome: AppOutcome) -> SentRecord {
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

#[test]
fn a_record_written_after_a_later_one_is_reordered() {
    // Scenario A of the facts file: batch 1 (records 0..3) retried after batch 2 (3..6).
    let sent: Vec<SentRecord> = (0..6).map(|i| sent(i, 0, Some(i % 2), acked(0))).collect();
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
        Just(AppOutcome::Failed { error: "X".into() }),
        Just(AppOutcome::Unfinished),
    ]
}

proptest! {
    #[test]
    fn classes_partition_the_sent_records_and_sorted_logs_are_never_reordered(
        outcomes in prop::collection::vec(outcome_strategy(), 0..60),
        picks in prop::collection::vec((0usize..60, 0u32..3), 0..120),
    ) {
        let sent: Vec<SentRecord> = outcomes.into_iter().enumerate().map(|(i, o)| sent(i as u64, (i % 2) as u32, Some(i as u64 % 3), o)).collect();
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
