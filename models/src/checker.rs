//! The delivery-semantics checker: compares what the application was told about every `send()`
//! with the records the brokers finally committed, independently of the model's bookkeeping.
//!
//! ```text
//!   SentRecord { id, partition, key, outcome }  ─┐
//!                                                 ├─► check() ─► CheckerReport { counts, examples }
//!   FinalLogs { per partition: (RecordId, offset) } ┘                 └─► guarantees()
//! ```
//!
//! Every sent record falls in exactly one class (the accounting invariant, asserted):
//!
//! | outcome told to the app     | copies in the log | class                |
//! |-----------------------------|-------------------|----------------------|
//! | Acked (offset ≥ 0 or −1)    | 1                 | `delivered_once`     |
//! | Acked                       | ≥ 2               | `duplicated`         |
//! | Acked, offset ≥ 0           | 0                 | `acked_lost`         |
//! | Acked, offset −1 (acks=0)   | 0                 | `silent_lost`        |
//! | Failed                      | 0                 | `failed_absent`      |
//! | Failed                      | ≥ 1               | `failed_present`     |
//! | Unfinished                  | 0 / ≥ 1           | `unfinished_absent` / `unfinished_present` |
//!
//! Besides the classes: `duplicate_copies` counts every extra copy of any record, and
//! reordering is counted per partition and per key. A record is **reordered** when its first
//! position in the log comes after the first position of some record that was sent later (larger
//! [`RecordId`]) to the same partition; `key_reordered` is the same count within each key.

use std::collections::BTreeMap;

use crate::protocol::{PartitionId, RecordId};

/// One committed record in a final log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoggedRecord {
    /// The application's id of the record.
    pub id: RecordId,
    /// Its offset in the partition.
    pub offset: i64,
}

/// The committed part of one partition's log (below the high watermark), in offset order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FinalPartitionLog {
    /// Which partition.
    pub partition: PartitionId,
    /// The records in offset order.
    pub records: Vec<LoggedRecord>,
}

/// The committed logs of every partition at the end of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FinalLogs {
    /// One entry per partition, in partition order.
    pub partitions: Vec<FinalPartitionLog>,
}

/// What the application was finally told about one `send()`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppOutcome {
    /// The callback reported success with this offset (−1 for acks=0).
    Acked {
        /// The offset reported (−1 for acks=0).
        offset: i64,
    },
    /// The callback reported this error.
    Failed {
        /// The error's name.
        error: String,
    },
    /// No callback had run when the run ended.
    Unfinished,
}

/// The application's view of one `send()`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentRecord {
    /// Its id (send order).
    pub id: RecordId,
    /// The partition it was sent to.
    pub partition: PartitionId,
    /// Its key, if any.
    pub key: Option<u64>,
    /// What the application was told.
    pub outcome: AppOutcome,
}

/// How many example record ids are kept per class.
pub const EXAMPLES_PER_CLASS: usize = 5;

/// The checker's verdict.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckerReport {
    /// Records sent.
    pub sent: u64,
    /// Acked and present exactly once.
    pub delivered_once: u64,
    /// Acked and present more than once.
    pub duplicated: u64,
    /// Acked with a real offset, absent: the broker lost an acknowledged record.
    pub acked_lost: u64,
    /// Acked with offset −1 (acks=0), absent.
    pub silent_lost: u64,
    /// Reported failed and absent.
    pub failed_absent: u64,
    /// Reported failed yet present.
    pub failed_present: u64,
    /// Never completed, absent.
    pub unfinished_absent: u64,
    /// Never completed, present.
    pub unfinished_present: u64,
    /// Extra copies of any record (copies − 1, summed over records present at least twice).
    pub duplicate_copies: u64,
    /// Records whose first log position follows that of a record sent later to the same partition.
    pub reordered: u64,
    /// The same count within each key.
    pub key_reordered: u64,
    /// Keys with at least one reordered record.
    pub keys_reordered: u64,
    /// Acked with offset ≥ 0 and present, but not at the offset reported.
    pub acked_offset_mismatch: u64,
    /// Log records whose id no `send()` produced, or that lie in another partition than sent to.
    pub foreign_in_log: u64,
    /// Up to [`EXAMPLES_PER_CLASS`] example ids per class name (`"acked_lost"`, `"duplicated"`, ...).
    pub examples: BTreeMap<&'static str, Vec<RecordId>>,
}

/// The three headline guarantees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Guarantees {
    /// No record acknowledged with an offset is missing.
    pub no_loss_of_acked: bool,
    /// No record is in the log more than once.
    pub no_duplicates: bool,
    /// No record is reordered within its partition.
    pub no_reordering: bool,
}

impl CheckerReport {
    /// Whether no acknowledged (offset ≥ 0) record is missing.
    pub fn no_loss_of_acked(&self) -> bool {
        self.acked_lost == 0
    }
    /// Whether no record has more than one copy.
    pub fn no_duplicates(&self) -> bool {
        self.duplicate_copies == 0
    }
    /// Whether no record is reordered within its partition.
    pub fn no_reordering(&self) -> bool {
        self.reordered == 0
    }
    /// The three guarantees together.
    pub fn guarantees(&self) -> Guarantees {
        Guarantees {
            no_loss_of_acked: self.no_loss_of_acked(),
            no_duplicates: self.no_duplicates(),
            no_reordering: self.no_reordering(),
        }
    }
    /// Sum of the exclusive classes; equals `sent`.
    pub fn class_total(&self) -> u64 {
        self.delivered_once
            + self.duplicated
            + self.acked_lost
            + self.silent_lost
            + self.failed_absent
            + self.failed_present
            + self.unfinished_absent
            + self.unfinished_present
    }

    fn note(&mut self, class: &'static str, id: RecordId) {
        let list = self.examples.entry(class).or_default();
        if list.len() < EXAMPLES_PER_CLASS {
            list.push(id);
        }
    }
}

/// Where each sent record was found: copies and first (offset) position.
struct Presence {
    copies: Vec<u32>,
    first_offset: Vec<i64>,
}

/// Maps a record id to its index in `sent`: direct when ids are dense in send order.
struct IdIndex<'a> {
    sent: &'a [SentRecord],
    dense: bool,
}

impl IdIndex<'_> {
    fn get(&self, id: RecordId) -> Option<usize> {
        if self.dense {
            usize::try_from(id.0).ok().filter(|&i| i < self.sent.len())
        } else {
            self.sent.binary_search_by_key(&id, |s| s.id).ok()
        }
    }
}

/// Classifies every sent record against the final logs. `sent` must be in send order (ascending
/// [`RecordId`]); records are matched by id.
pub fn check(sent: &[SentRecord], logs: &FinalLogs) -> CheckerReport {
    assert!(
        sent.windows(2).all(|w| w[0].id < w[1].id),
        "sent records must be in send order with distinct ids"
    );
    let index = IdIndex {
        sent,
        dense: sent.iter().enumerate().all(|(i, s)| s.id.0 == i as u64),
    };
    let mut report = CheckerReport {
        sent: sent.len() as u64,
        ..CheckerReport::default()
    };
    let presence = locate(sent, &index, logs, &mut report);
    classify(sent, &presence, &mut report);
    count_reordering(sent, &presence, &mut report);
    assert_eq!(
        report.class_total(),
        report.sent,
        "checker accounting: every sent record must fall in exactly one class"
    );
    report
}

fn locate(
    sent: &[SentRecord],
    index: &IdIndex<'_>,
    logs: &FinalLogs,
    report: &mut CheckerReport,
) -> Presence {
    let mut presence = Presence {
        copies: vec![0; sent.len()],
        first_offset: vec![i64::MAX; sent.len()],
    };
    for log in &logs.partitions {
        for rec in &log.records {
            match index.get(rec.id) {
                Some(i) if sent[i].partition == log.partition => {
                    presence.copies[i] += 1;
                    presence.first_offset[i] = presence.first_offset[i].min(rec.offset);
                }
                _ => {
                    report.foreign_in_log += 1;
                    report.note("foreign_in_log", rec.id);
                }
            }
        }
    }
    presence
}

fn classify(sent: &[SentRecord], presence: &Presence, report: &mut CheckerReport) {
    for (i, s) in sent.iter().enumerate() {
        let copies = presence.copies[i];
        report.duplicate_copies += u64::from(copies.saturating_sub(1));
        let class = match (&s.outcome, copies) {
            (AppOutcome::Acked { .. }, 1) => "delivered_once",
            (AppOutcome::Acked { .. }, 0) if acked_offset(&s.outcome) < 0 => "silent_lost",
            (AppOutcome::Acked { .. }, 0) => "acked_lost",
            (AppOutcome::Acked { .. }, _) => "duplicated",
            (AppOutcome::Failed { .. }, 0) => "failed_absent",
            (AppOutcome::Failed { .. }, _) => "failed_present",
            (AppOutcome::Unfinished, 0) => "unfinished_absent",
            (AppOutcome::Unfinished, _) => "unfinished_present",
        };
        *class_counter(report, class) += 1;
        report.note(class, s.id);
        let reported = acked_offset(&s.outcome);
        if reported >= 0 && copies > 0 && presence.first_offset[i] != reported {
            report.acked_offset_mismatch += 1;
            report.note("acked_offset_mismatch", s.id);
        }
    }
}

fn acked_offset(outcome: &AppOutcome) -> i64 {
    match outcome {
        AppOutcome::Acked { offset } => *offset,
        _ => -1,
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
        _ => &mut report.unfinished_present,
    }
}

/// Scans each group (partition, then key) in reverse send order, keeping the smallest first
/// position among records sent later: a record whose position exceeds it is reordered.
fn count_reordering(sent: &[SentRecord], presence: &Presence, report: &mut CheckerReport) {
    let mut min_later_by_partition: BTreeMap<PartitionId, i64> = BTreeMap::new();
    let mut min_later_by_key: BTreeMap<(PartitionId, u64), i64> = BTreeMap::new();
    let mut reordered_keys: BTreeMap<(PartitionId, u64), ()> = BTreeMap::new();
    for (i, s) in sent.iter().enumerate().rev() {
        if presence.copies[i] == 0 {
            continue;
        }
        let pos = presence.first_offset[i];
        let min_later = min_later_by_partition
            .entry(s.partition)
            .or_insert(i64::MAX);
        if *min_later < pos {
            report.reordered += 1;
            report.note("reordered", s.id);
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
}
