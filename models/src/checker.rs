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
        /// The error's name (`ProduceError::name`, or a broker error code's name).
        error: &'static str,
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
    /// Its key index (`key-<k>`), if any.
    pub key: Option<u32>,
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
}

/// Every class the checker counts and keeps examples of: the eight exclusive classes, then the
/// three extra counts. Indexes [`Tally`]'s arrays, so the per-record loops never touch strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    DeliveredOnce,
    Duplicated,
    AckedLost,
    SilentLost,
    FailedAbsent,
    FailedPresent,
    UnfinishedAbsent,
    UnfinishedPresent,
    AckedOffsetMismatch,
    Reordered,
    ForeignInLog,
}

const CLASSES: usize = 11;

impl Class {
    const ALL: [Class; CLASSES] = [
        Class::DeliveredOnce,
        Class::Duplicated,
        Class::AckedLost,
        Class::SilentLost,
        Class::FailedAbsent,
        Class::FailedPresent,
        Class::UnfinishedAbsent,
        Class::UnfinishedPresent,
        Class::AckedOffsetMismatch,
        Class::Reordered,
        Class::ForeignInLog,
    ];

    /// The key in [`CheckerReport::examples`] (the report field's name).
    fn name(self) -> &'static str {
        match self {
            Class::DeliveredOnce => "delivered_once",
            Class::Duplicated => "duplicated",
            Class::AckedLost => "acked_lost",
            Class::SilentLost => "silent_lost",
            Class::FailedAbsent => "failed_absent",
            Class::FailedPresent => "failed_present",
            Class::UnfinishedAbsent => "unfinished_absent",
            Class::UnfinishedPresent => "unfinished_present",
            Class::AckedOffsetMismatch => "acked_offset_mismatch",
            Class::Reordered => "reordered",
            Class::ForeignInLog => "foreign_in_log",
        }
    }
}

/// Per-class counts and examples, turned into the report's fields and example map once at the
/// end. Examples are the first [`EXAMPLES_PER_CLASS`] ids in the order the report has always
/// listed them: send order for the exclusive classes and offset mismatches, log order for
/// foreign records, and reverse send order for reordered ones (the order of the scan that finds
/// them).
struct Tally {
    counts: [u64; CLASSES],
    examples: [[RecordId; RING]; CLASSES],
}

/// Example slots per class: a power of two at least [`EXAMPLES_PER_CLASS`], so the backward
/// ring indexes with a mask.
const RING: usize = EXAMPLES_PER_CLASS.next_power_of_two();
const RING_MASK: u64 = RING as u64 - 1;

impl Tally {
    fn new() -> Self {
        Tally {
            counts: [0; CLASSES],
            examples: [[RecordId(0); RING]; CLASSES],
        }
    }

    /// Counts one record of `class`, keeping the first ids noted.
    #[inline]
    fn note(&mut self, class: Class, id: RecordId) {
        let c = class as usize;
        let seen = self.counts[c];
        if seen < EXAMPLES_PER_CLASS as u64 {
            self.examples[c][seen as usize] = id;
        }
        self.counts[c] = seen + 1;
    }

    /// Counts one record of `class` met in reverse send order, keeping the last ids noted in a
    /// ring: they are the first in send order (so one reverse pass serves every class).
    #[inline]
    fn note_backward(&mut self, class: Class, id: RecordId) {
        let c = class as usize;
        let seen = self.counts[c];
        self.examples[c][(seen & RING_MASK) as usize] = id;
        self.counts[c] = seen + 1;
    }

    fn count(&self, class: Class) -> u64 {
        self.counts[class as usize]
    }

    /// The examples of `class` in report order.
    fn examples(&self, class: Class) -> Vec<RecordId> {
        let count = self.count(class);
        let kept = count.min(EXAMPLES_PER_CLASS as u64) as usize;
        let ring = &self.examples[class as usize];
        match class {
            Class::Reordered | Class::ForeignInLog => ring[..kept].to_vec(),
            // The last one noted (smallest id) first.
            _ => (1..=kept as u64)
                .map(|back| ring[((count - back) & RING_MASK) as usize])
                .collect(),
        }
    }

    /// Moves the counts and examples into the report (a class appears in `examples` iff it was
    /// noted at least once).
    fn fill(&self, report: &mut CheckerReport) {
        report.delivered_once = self.count(Class::DeliveredOnce);
        report.duplicated = self.count(Class::Duplicated);
        report.acked_lost = self.count(Class::AckedLost);
        report.silent_lost = self.count(Class::SilentLost);
        report.failed_absent = self.count(Class::FailedAbsent);
        report.failed_present = self.count(Class::FailedPresent);
        report.unfinished_absent = self.count(Class::UnfinishedAbsent);
        report.unfinished_present = self.count(Class::UnfinishedPresent);
        report.acked_offset_mismatch = self.count(Class::AckedOffsetMismatch);
        report.reordered = self.count(Class::Reordered);
        report.foreign_in_log = self.count(Class::ForeignInLog);
        for class in Class::ALL {
            if self.count(class) > 0 {
                report.examples.insert(class.name(), self.examples(class));
            }
        }
    }
}

/// Where each sent record was found: copies and first (offset) position, by index in `sent`.
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
    #[inline]
    fn get(&self, id: RecordId) -> Option<usize> {
        if self.dense {
            usize::try_from(id.0).ok().filter(|&i| i < self.sent.len())
        } else {
            self.sent.binary_search_by_key(&id, |s| s.id).ok()
        }
    }
}

/// What the first pass over `sent` learns: the sizes of the dense tables, and each record's
/// partition in a compact array (so matching the logs does not stride through `sent`).
struct SentShape {
    max_partition: u32,
    max_key: Option<u32>,
    keyed: usize,
    partitions: Vec<PartitionId>,
}

impl SentShape {
    /// Also asserts send order.
    fn scan(sent: &[SentRecord]) -> Self {
        // Locals, not fields, so the loop keeps them in registers.
        let (mut max_partition, mut max_key, mut keyed) = (0u32, 0u32, 0usize);
        // The smallest id the next record may have (u128: an id of u64::MAX has no successor).
        let mut next_id = 0u128;
        let mut in_order = true;
        let mut partitions = Vec::with_capacity(sent.len());
        partitions.extend(sent.iter().map(|s| {
            in_order &= u128::from(s.id.0) >= next_id;
            next_id = u128::from(s.id.0) + 1;
            max_partition = max_partition.max(s.partition.0);
            if let Some(key) = s.key {
                keyed += 1;
                max_key = max_key.max(key);
            }
            s.partition
        }));
        assert!(
            in_order,
            "sent records must be in send order with distinct ids"
        );
        SentShape {
            max_partition,
            max_key: (keyed > 0).then_some(max_key),
            keyed,
            partitions,
        }
    }
}

/// Tables indexed by these slots stay within a small multiple of the input (an odd input with
/// huge partition ids or keys falls back to a search or a map instead).
const DENSE_SLACK: usize = 4096;

/// Maps a sent record's partition to a dense slot (0..len).
enum PartitionSlots {
    /// Partition ids are small: the slot is the id.
    Direct { len: usize },
    /// The distinct partition ids, sorted: the slot is the position.
    Sorted(Vec<PartitionId>),
}

impl PartitionSlots {
    fn new(shape: &SentShape) -> Self {
        let direct_len = shape.max_partition as usize + 1;
        if direct_len <= shape.partitions.len() + DENSE_SLACK {
            return PartitionSlots::Direct { len: direct_len };
        }
        let mut ids = shape.partitions.clone();
        ids.sort_unstable();
        ids.dedup();
        PartitionSlots::Sorted(ids)
    }

    fn len(&self) -> usize {
        match self {
            PartitionSlots::Direct { len } => *len,
            PartitionSlots::Sorted(ids) => ids.len(),
        }
    }

    #[inline]
    fn slot(&self, p: PartitionId) -> usize {
        match self {
            PartitionSlots::Direct { .. } => p.0 as usize,
            PartitionSlots::Sorted(ids) => ids
                .binary_search(&p)
                .expect("every sent partition has a slot"),
        }
    }
}

/// Reordering state of one (partition, key) group.
#[derive(Clone, Copy, Debug)]
struct KeyGroup {
    /// The smallest first position among records of the group sent later.
    min_later: i64,
    /// Whether any record of the group is reordered.
    reordered: bool,
}

const NEW_GROUP: KeyGroup = KeyGroup {
    min_later: i64::MAX,
    reordered: false,
};

/// The (partition slot, key) groups: a table when slots × keys is small, else an ordered map.
enum KeyGroups {
    Table { keys: usize, groups: Vec<KeyGroup> },
    Map(BTreeMap<(usize, u32), KeyGroup>),
}

impl KeyGroups {
    fn new(shape: &SentShape, slots: &PartitionSlots) -> Self {
        let keys = shape.max_key.map_or(0, |k| k as usize + 1);
        match slots.len().checked_mul(keys) {
            Some(cells) if cells <= shape.keyed.saturating_mul(4) + DENSE_SLACK => {
                KeyGroups::Table {
                    keys,
                    groups: vec![NEW_GROUP; cells],
                }
            }
            _ => KeyGroups::Map(BTreeMap::new()),
        }
    }

    #[inline]
    fn get(&mut self, slot: usize, key: u32) -> &mut KeyGroup {
        match self {
            KeyGroups::Table { keys, groups } => &mut groups[slot * *keys + key as usize],
            KeyGroups::Map(map) => map.entry((slot, key)).or_insert(NEW_GROUP),
        }
    }
}

/// Classifies every sent record against the final logs. `sent` must be in send order (ascending
/// [`RecordId`]); records are matched by id.
///
/// Two passes over `sent` (forward: order and shape; reverse: classes and reordering) around
/// one pass over the logs; per-record state lives in arrays indexed like `sent`.
pub fn check(sent: &[SentRecord], logs: &FinalLogs) -> CheckerReport {
    let shape = SentShape::scan(sent);
    // Sorted distinct ids are 0..len exactly when the first is 0 and the last len − 1.
    let dense = match (sent.first(), sent.last()) {
        (Some(first), Some(last)) => first.id.0 == 0 && last.id.0 == sent.len() as u64 - 1,
        _ => true,
    };
    let index = IdIndex { sent, dense };
    let mut tally = Tally::new();
    let mut report = CheckerReport {
        sent: sent.len() as u64,
        ..CheckerReport::default()
    };
    let presence = locate(&index, &shape.partitions, logs, &mut tally);
    judge(sent, &shape, &presence, &mut tally, &mut report);
    tally.fill(&mut report);
    assert_eq!(
        report.class_total(),
        report.sent,
        "checker accounting: every sent record must fall in exactly one class"
    );
    report
}

/// Counts the copies of each sent record in the partition it was sent to, and its first offset
/// there; anything else in a log is foreign.
fn locate(
    index: &IdIndex<'_>,
    partitions: &[PartitionId],
    logs: &FinalLogs,
    tally: &mut Tally,
) -> Presence {
    let mut presence = Presence {
        copies: vec![0; partitions.len()],
        first_offset: vec![i64::MAX; partitions.len()],
    };
    for log in &logs.partitions {
        for rec in &log.records {
            match index.get(rec.id) {
                Some(i) if partitions[i] == log.partition => {
                    presence.copies[i] += 1;
                    presence.first_offset[i] = presence.first_offset[i].min(rec.offset);
                }
                _ => tally.note(Class::ForeignInLog, rec.id),
            }
        }
    }
    presence
}

/// Puts every record in its class and counts reordering, in one reverse pass.
///
/// Reordering: each group (partition, then key) is scanned in reverse send order, keeping the
/// smallest first position among records sent later: a record whose position exceeds it is
/// reordered.
fn judge(
    sent: &[SentRecord],
    shape: &SentShape,
    presence: &Presence,
    tally: &mut Tally,
    report: &mut CheckerReport,
) {
    let slots = PartitionSlots::new(shape);
    let mut min_later_by_partition = vec![i64::MAX; slots.len()];
    let mut key_groups = KeyGroups::new(shape, &slots);
    let mut duplicate_copies = 0u64;
    for ((s, &copies), &first) in sent
        .iter()
        .zip(&presence.copies)
        .zip(&presence.first_offset)
        .rev()
    {
        duplicate_copies += u64::from(copies.saturating_sub(1));
        let class = match s.outcome {
            AppOutcome::Acked { offset } => {
                if offset >= 0 && copies > 0 && first != offset {
                    tally.note_backward(Class::AckedOffsetMismatch, s.id);
                }
                match copies {
                    1 => Class::DeliveredOnce,
                    0 if offset < 0 => Class::SilentLost,
                    0 => Class::AckedLost,
                    _ => Class::Duplicated,
                }
            }
            AppOutcome::Failed { .. } if copies == 0 => Class::FailedAbsent,
            AppOutcome::Failed { .. } => Class::FailedPresent,
            AppOutcome::Unfinished if copies == 0 => Class::UnfinishedAbsent,
            AppOutcome::Unfinished => Class::UnfinishedPresent,
        };
        tally.note_backward(class, s.id);
        if copies == 0 {
            continue;
        }
        let slot = slots.slot(s.partition);
        let min_later = &mut min_later_by_partition[slot];
        if *min_later < first {
            tally.note(Class::Reordered, s.id);
        }
        *min_later = (*min_later).min(first);
        if let Some(key) = s.key {
            let group = key_groups.get(slot, key);
            if group.min_later < first {
                report.key_reordered += 1;
                if !group.reordered {
                    group.reordered = true;
                    report.keys_reordered += 1;
                }
            }
            group.min_later = group.min_later.min(first);
        }
    }
    report.duplicate_copies = duplicate_copies;
}
