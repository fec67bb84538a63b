//! The delivery-semantics checker: compares what the application was told about every `send()`
//! with the records the brokers finally committed, independently of the model's bookkeeping.
//!
//! ```text
//!   runs: SentRuns { per partition: ids a..b, one outcome } ─┐
//!                                                             ├─► check_ranges() ─► CheckerReport
//!   runs: RangeLogs { per partition: offset o, ids a..b }  ───┘        (every run is judged so)
//!
//!   per record: SentRecord + FinalLogs { (RecordId, offset) } ──► check()  (the same verdict:
//!                                      the real-cluster cross-check, and tests comparing both)
//! ```
//!
//! **Memory.** A run is judged from ranges, not from a copy per record: the application's
//! records become runs of consecutive ids with one outcome (acked ones at consecutive offsets)
//! once they and every record sent before them are complete, and the final logs are runs of
//! consecutive ids at consecutive offsets, read from the brokers' batches at the end. With the
//! sticky partitioner a batch is one run on each side, so memory grows with the batches (about
//! 30 records each in the default experiment), not with the records; a keyed record is a run of
//! its own. The verdict is given once, at the end, from the final logs: a record committed at
//! offset o can still be truncated by an unclean election or replaced after a failover, and a
//! checker that finalised classes as the run goes would have to know that no copy of a record is
//! still in flight (in a request on the network, a broker's queue or a replica's log above the
//! committed prefix) and that the committed prefix can no longer change on any replica. Judging
//! the final logs' ranges at the end keeps the rule that classes come from the brokers' final
//! logs with no such bookkeeping, at the cost of keeping each batch's ranges to the end.
//! [`check_ranges`] and [`check`] give the same report on the same records and logs (property
//! tested, and compared on the catalog, the scenarios and fault campaigns).
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
//! | any                         | 0, but on a replica above the high watermark | `unsettled` |
//!
//! `unsettled` exists because a run can end before replication has caught up (the settle
//! phase reached its bound): a record that is not committed but still sits in some replica's
//! log above the high watermark may yet be committed, or be truncated away. The checker does
//! not guess; it says the record's fate was not settled. A settled run has none.
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

/// The committed part of one partition's log (below the high watermark), in offset order, and
/// what lies above it on any replica.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FinalPartitionLog {
    /// Which partition.
    pub partition: PartitionId,
    /// The records in offset order.
    pub records: Vec<LoggedRecord>,
    /// Ids of records at or above the high watermark on some replica: not committed when the
    /// run ended, but not gone either (empty once replication has caught up). Sorted, distinct.
    pub pending: Vec<RecordId>,
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
    /// Not committed, but in some replica's log above the high watermark when the run ended:
    /// its fate was not settled (whatever the application was told).
    pub unsettled: u64,
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
            + self.unsettled
    }
}

/// Every class the checker counts and keeps examples of: the nine exclusive classes, then the
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
    Unsettled,
    AckedOffsetMismatch,
    Reordered,
    ForeignInLog,
}

const CLASSES: usize = 12;

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
        Class::Unsettled,
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
            Class::Unsettled => "unsettled",
            Class::AckedOffsetMismatch => "acked_offset_mismatch",
            Class::Reordered => "reordered",
            Class::ForeignInLog => "foreign_in_log",
        }
    }
}

/// Per-class counts and examples, turned into the report's fields and example map once at the
/// end. Examples are the ids in the order the report has always listed them: the first
/// [`EXAMPLES_PER_CLASS`] in send order for the exclusive classes and offset mismatches, in log
/// order for foreign records, and the last in reverse send order for reordered ones (the order
/// of the reverse scan that first found them).
struct Tally {
    counts: [u64; CLASSES],
    examples: [[RecordId; RING]; CLASSES],
}

/// Example slots per class: a power of two at least [`EXAMPLES_PER_CLASS`], so the ring of
/// last ids indexes with a mask.
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
        // A count of records cannot wrap; no check in the hottest loop.
        self.counts[c] = seen.wrapping_add(1);
    }

    /// Counts one record of `class`, keeping the last ids noted in a ring.
    #[inline]
    fn note_keeping_last(&mut self, class: Class, id: RecordId) {
        let c = class as usize;
        let seen = self.counts[c];
        self.examples[c][(seen & RING_MASK) as usize] = id;
        self.counts[c] = seen.wrapping_add(1);
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
            // The last one noted (largest id) first.
            Class::Reordered => (1..=kept as u64)
                .map(|back| ring[((count - back) & RING_MASK) as usize])
                .collect(),
            _ => ring[..kept].to_vec(),
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
        report.unsettled = self.count(Class::Unsettled);
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

/// Where each sent record was found, in arrays indexed like `sent` (zeroed at allocation, so
/// they cost nothing to set up): its copies in the partition it was sent to, its first offset
/// there (meaningful when present), and whether a record sent later comes first.
struct Presence {
    copies: Vec<u32>,
    first_offset: Vec<i64>,
    reordered: Vec<bool>,
    /// Copies beyond the first, summed over all records.
    duplicate_copies: u64,
    /// Whether any record has a key (found by `judge`).
    keyed: bool,
}

impl Presence {
    fn new(sent: usize) -> Self {
        Presence {
            copies: vec![0; sent],
            first_offset: vec![0; sent],
            reordered: vec![false; sent],
            duplicate_copies: 0,
            keyed: false,
        }
    }
}

/// Tables indexed by key stay within a small multiple of the input (an odd input with huge keys
/// falls back to a map instead).
const DENSE_SLACK: usize = 4096;

/// Reordering state of one key within the partition being walked.
#[derive(Clone, Copy, Debug)]
struct KeyState {
    /// Which partition walk the rest belongs to (stale entries are reset on first use).
    walk: u32,
    /// The largest index (or id) met so far in this key (0 also when none: nothing is below 0).
    max_met: u64,
    /// Whether any record of the key is reordered in this partition.
    reordered: bool,
}

const NEW_KEY: KeyState = KeyState {
    walk: 0,
    max_met: 0,
    reordered: false,
};

/// Counts reordering within each (partition, key) while walking each partition's present
/// records in first-offset order: a record is reordered when one sent later (larger index in
/// `sent`) was met before it. Comparing indices compares ids, because `sent` is in send order.
struct KeyReorder {
    /// Numbers the partition walks, so key states need no clearing between partitions.
    walk: u32,
    /// Key states by key, for keys below `dense_keys` (grown on demand).
    keys: Vec<KeyState>,
    dense_keys: usize,
    /// Key states of larger keys.
    sparse_keys: BTreeMap<u32, KeyState>,
    key_reordered: u64,
    keys_reordered: u64,
}

impl KeyReorder {
    fn new(sent: usize) -> Self {
        KeyReorder {
            walk: 0,
            keys: Vec::new(),
            dense_keys: sent.saturating_add(DENSE_SLACK),
            sparse_keys: BTreeMap::new(),
            key_reordered: 0,
            keys_reordered: 0,
        }
    }

    fn start_partition(&mut self) {
        self.walk += 1;
    }

    /// Notes the first copy of record `i`, of `key`, in the current partition.
    fn met(&mut self, i: u64, key: u32) {
        let walk = self.walk;
        let state = if (key as usize) < self.dense_keys {
            if key as usize >= self.keys.len() {
                self.keys.resize(key as usize + 1, NEW_KEY);
            }
            &mut self.keys[key as usize]
        } else {
            self.sparse_keys.entry(key).or_insert(NEW_KEY)
        };
        if state.walk != walk {
            *state = KeyState { walk, ..NEW_KEY };
        }
        if state.max_met > i {
            self.key_reordered += 1;
            if !state.reordered {
                state.reordered = true;
                self.keys_reordered += 1;
            }
        }
        state.max_met = state.max_met.max(i);
    }
}

/// Classifies every sent record against the final logs. `sent` must be in send order (ascending
/// [`RecordId`]); records are matched by id.
///
/// One pass over the logs finds every record's copies and first offset and, when the logs are
/// in offset order (as the cluster's are), marks reordered records on the way; one pass over
/// `sent` then puts each record in its class. Keyed reordering takes another pass over the logs
/// when a key is present; logs out of offset order get a separate reordering pass.
pub fn check(sent: &[SentRecord], logs: &FinalLogs) -> CheckerReport {
    // Sorted distinct ids are 0..len exactly when the first is 0 and the last len − 1 (the
    // order is asserted by `judge`; until then a wrong guess only finds wrong records).
    let dense = match (sent.first(), sent.last()) {
        (Some(first), Some(last)) => first.id.0 == 0 && last.id.0 == sent.len() as u64 - 1,
        _ => true,
    };
    let dense_index = |id: RecordId| usize::try_from(id.0).ok();
    let search_index = |id: RecordId| sent.binary_search_by_key(&id, |s| s.id).ok();
    let mut tally = Tally::new();
    let mut presence = Presence::new(sent.len());
    let mut keys = KeyReorder::new(sent.len());
    let in_order = in_offset_order(logs);
    match (in_order, dense) {
        (true, true) => locate::<true>(sent, logs, dense_index, &mut presence, &mut tally),
        (true, false) => locate::<true>(sent, logs, search_index, &mut presence, &mut tally),
        (false, true) => locate::<false>(sent, logs, dense_index, &mut presence, &mut tally),
        (false, false) => locate::<false>(sent, logs, search_index, &mut presence, &mut tally),
    }
    if !in_order {
        reorder_by_first_offset(sent, &mut presence, &mut keys);
    }
    if dense {
        mark_pending(sent, logs, dense_index, &mut presence);
    } else {
        mark_pending(sent, logs, search_index, &mut presence);
    }
    judge(sent, &mut presence, &mut tally);
    if in_order && presence.keyed {
        if dense {
            reorder_keys_in_log_order(sent, logs, dense_index, &presence, &mut keys);
        } else {
            reorder_keys_in_log_order(sent, logs, search_index, &presence, &mut keys);
        }
    }
    let mut report = CheckerReport {
        sent: sent.len() as u64,
        duplicate_copies: presence.duplicate_copies,
        key_reordered: keys.key_reordered,
        keys_reordered: keys.keys_reordered,
        ..CheckerReport::default()
    };
    tally.fill(&mut report);
    assert_eq!(
        report.class_total(),
        report.sent,
        "checker accounting: every sent record must fall in exactly one class"
    );
    report
}

/// Whether the logs are of distinct partitions (ascending) with strictly ascending offsets: then
/// a record's first copy met is at its first offset, and every record met before it lies earlier.
fn in_offset_order(logs: &FinalLogs) -> bool {
    logs.partitions
        .windows(2)
        .all(|w| w[0].partition < w[1].partition)
        && logs.partitions.iter().all(|log| {
            log.records
                .windows(2)
                .fold(true, |ok, w| ok & (w[0].offset < w[1].offset))
        })
}

/// The sent record a log record stands for, with its index, if it was sent to `partition`.
#[inline]
fn sent_in<'s>(
    sent: &'s [SentRecord],
    index: &impl Fn(RecordId) -> Option<usize>,
    id: RecordId,
    partition: PartitionId,
) -> Option<(usize, &'s SentRecord)> {
    let i = index(id)?;
    sent.get(i)
        .filter(|s| s.partition == partition)
        .map(|s| (i, s))
}

/// Counts the copies of each sent record in the partition it was sent to, and its first offset
/// there; anything else in a log is foreign. `IN_ORDER` (logs in offset order): also marks
/// reordered records as their first copy is met.
#[inline(never)] // Its own register allocation: inlined into `check`, its loop state spills.
fn locate<const IN_ORDER: bool>(
    sent: &[SentRecord],
    logs: &FinalLogs,
    index: impl Fn(RecordId) -> Option<usize>,
    presence: &mut Presence,
    tally: &mut Tally,
) {
    let n = sent.len();
    let copies = &mut presence.copies[..n];
    let first_offset = &mut presence.first_offset[..n];
    let reordered = &mut presence.reordered[..n];
    let mut duplicate_copies = 0u64;
    for log in &logs.partitions {
        // The largest index met in this log (0 also when none: nothing is below 0).
        let mut max_met = 0usize;
        for rec in &log.records {
            let Some((i, _)) = sent_in(sent, &index, rec.id, log.partition) else {
                tally.note(Class::ForeignInLog, rec.id);
                continue;
            };
            let c = copies[i];
            if c == 0 {
                first_offset[i] = rec.offset;
                if IN_ORDER {
                    reordered[i] = max_met > i;
                    max_met = max_met.max(i);
                }
            } else {
                first_offset[i] = first_offset[i].min(rec.offset);
                duplicate_copies += 1;
            }
            copies[i] = c + 1;
        }
    }
    presence.duplicate_copies = duplicate_copies;
}

/// Marks the records that are absent from the committed logs but pending above a high
/// watermark (`first_offset` = [`PENDING`]; an absent record's first offset is otherwise unused).
fn mark_pending(
    sent: &[SentRecord],
    logs: &FinalLogs,
    index: impl Fn(RecordId) -> Option<usize>,
    presence: &mut Presence,
) {
    for log in &logs.partitions {
        for &id in &log.pending {
            if let Some((i, _)) = sent_in(sent, &index, id, log.partition)
                && presence.copies[i] == 0
            {
                presence.first_offset[i] = PENDING;
            }
        }
    }
}

/// The first offset of an absent record that is pending above a high watermark.
const PENDING: i64 = i64::MIN;

/// Counts keyed reordering when the logs are in offset order: walks them again, meeting each
/// keyed record at its first offset.
fn reorder_keys_in_log_order(
    sent: &[SentRecord],
    logs: &FinalLogs,
    index: impl Fn(RecordId) -> Option<usize>,
    presence: &Presence,
    keys: &mut KeyReorder,
) {
    for log in &logs.partitions {
        keys.start_partition();
        for rec in &log.records {
            if let Some((i, s)) = sent_in(sent, &index, rec.id, log.partition)
                && let Some(key) = s.key
                && presence.first_offset[i] == rec.offset
            {
                keys.met(i as u64, key);
            }
        }
    }
}

/// Marks reordered records when the logs are not in offset order: each partition's present
/// records are walked by first offset (ties in send order, so a tie reorders nothing).
fn reorder_by_first_offset(sent: &[SentRecord], presence: &mut Presence, keys: &mut KeyReorder) {
    let mut by_partition: BTreeMap<PartitionId, Vec<(i64, usize)>> = BTreeMap::new();
    for (i, s) in sent.iter().enumerate() {
        if presence.copies[i] > 0 {
            by_partition
                .entry(s.partition)
                .or_default()
                .push((presence.first_offset[i], i));
        }
    }
    for mut met in by_partition.into_values() {
        met.sort_unstable();
        keys.start_partition();
        let mut max_met = 0usize;
        for (_, i) in met {
            presence.reordered[i] = max_met > i;
            max_met = max_met.max(i);
            if let Some(key) = sent[i].key {
                keys.met(i as u64, key);
            }
        }
    }
}

/// The class of a record by its code: pending (16 when absent from the committed log but
/// pending above a high watermark) + outcome kind (acked with an offset, acked with −1, failed,
/// unfinished) × 4 + copies (none, one, more). Codes ≡ 3 (mod 4) do not occur, nor do pending
/// codes with copies (a present record has a real first offset).
#[rustfmt::skip]
const CLASS_OF: [Class; 32] = {
    use Class::*;
    [
        AckedLost, DeliveredOnce, Duplicated, Duplicated,
        SilentLost, DeliveredOnce, Duplicated, Duplicated,
        FailedAbsent, FailedPresent, FailedPresent, FailedPresent,
        UnfinishedAbsent, UnfinishedPresent, UnfinishedPresent, UnfinishedPresent,
        Unsettled, DeliveredOnce, Duplicated, Duplicated,
        Unsettled, DeliveredOnce, Duplicated, Duplicated,
        Unsettled, FailedPresent, FailedPresent, FailedPresent,
        Unsettled, UnfinishedPresent, UnfinishedPresent, UnfinishedPresent,
    ]
};

/// Puts every record in its class and notes offset mismatches and reordered records, in one
/// pass that also asserts send order and notes whether any record has a key.
#[inline(never)] // Its own register allocation, as for `locate`.
fn judge(sent: &[SentRecord], presence: &mut Presence, tally: &mut Tally) {
    let n = sent.len();
    let copies = &presence.copies[..n];
    let first_offset = &presence.first_offset[..n];
    let reordered = &presence.reordered[..n];
    let (mut in_order, mut keyed) = (true, false);
    if n > 0 {
        keyed |= judge_one(&sent[0], copies[0], first_offset[0], reordered[0], tally);
    }
    for i in 1..n {
        in_order &= sent[i - 1].id < sent[i].id;
        keyed |= judge_one(&sent[i], copies[i], first_offset[i], reordered[i], tally);
    }
    presence.keyed = keyed;
    assert!(
        in_order,
        "sent records must be in send order with distinct ids"
    );
}

/// Notes one record's class, and whether its offset mismatches or it is reordered; returns
/// whether it has a key.
#[inline(always)]
fn judge_one(
    s: &SentRecord,
    copies: u32,
    first_offset: i64,
    reordered: bool,
    tally: &mut Tally,
) -> bool {
    // Failed and unfinished records have no offset; 0 keeps their kind as numbered.
    let (tag, offset) = match s.outcome {
        AppOutcome::Acked { offset } => (0, offset),
        AppOutcome::Failed { .. } => (2, 0),
        AppOutcome::Unfinished => (3, 0),
    };
    let kind = tag + usize::from(offset < 0);
    if (kind == 0) & (copies > 0) & (first_offset != offset) {
        tally.note(Class::AckedOffsetMismatch, s.id);
    }
    let pending = usize::from(first_offset == PENDING) * 16;
    tally.note(
        CLASS_OF[(pending + kind * 4 + copies.min(2) as usize) & 31],
        s.id,
    );
    if reordered {
        tally.note_keeping_last(Class::Reordered, s.id);
    }
    s.key.is_some()
}

// ---------------------------------------------------------------------------------------------
// The range checker: the same verdict from run-length ranges, without a copy per record.
// ---------------------------------------------------------------------------------------------

/// What the application was told about a run of records, by kind (the checker needs no error
/// name: a failure is a failure).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunOutcome {
    /// Acked at consecutive offsets from [`SentRun::offset`].
    Acked,
    /// Acked with offset −1 (acks=0).
    AckedNoOffset,
    /// Reported failed.
    Failed,
    /// No callback had run when the run ended.
    Unfinished,
}

impl RunOutcome {
    /// The kind number [`CLASS_OF`] is indexed by.
    fn kind(self) -> usize {
        self as usize
    }
}

/// Records sent to one partition with consecutive ids and one outcome (acked records at
/// consecutive offsets). A keyed record is a run of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SentRun {
    /// The first record's id.
    pub first: RecordId,
    /// The offset acknowledged for the first record ([`RunOutcome::Acked`]; 0 otherwise).
    pub offset: i64,
    /// How many records.
    pub len: u32,
    /// The key index, for a single keyed record.
    pub key: Option<u32>,
    /// What the application was told about every record of the run.
    pub outcome: RunOutcome,
}

impl SentRun {
    fn end(&self) -> u64 {
        self.first.0 + u64::from(self.len)
    }
}

/// What the application was told about every `send()`, as runs per partition: memory grows with
/// the runs (about one per batch when records are not keyed), not with the records.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SentRuns {
    /// Runs per partition, indexed by partition, in send order.
    pub partitions: Vec<Vec<SentRun>>,
    /// Records pushed.
    pub sent: u64,
}

impl SentRuns {
    /// Adds one record; within a partition, records must come in send order (ascending ids).
    pub fn push(
        &mut self,
        id: RecordId,
        partition: PartitionId,
        key: Option<u32>,
        outcome: &AppOutcome,
    ) {
        let (outcome, offset) = match *outcome {
            AppOutcome::Acked { offset } if offset >= 0 => (RunOutcome::Acked, offset),
            AppOutcome::Acked { .. } => (RunOutcome::AckedNoOffset, 0),
            AppOutcome::Failed { .. } => (RunOutcome::Failed, 0),
            AppOutcome::Unfinished => (RunOutcome::Unfinished, 0),
        };
        self.push_kind(id, partition, key, (outcome, offset));
    }

    /// [`SentRuns::push`] with the outcome as a kind and the acked offset.
    #[inline]
    pub fn push_kind(
        &mut self,
        id: RecordId,
        partition: PartitionId,
        key: Option<u32>,
        (outcome, offset): (RunOutcome, i64),
    ) {
        self.sent += 1;
        let p = partition.0 as usize;
        if p >= self.partitions.len() {
            self.partitions.resize_with(p + 1, Vec::new);
        }
        let runs = &mut self.partitions[p];
        if let Some(last) = runs.last_mut()
            && key.is_none()
            && last.key.is_none()
            && last.outcome == outcome
            && last.end() == id.0
            && last.len < u32::MAX
            && (outcome != RunOutcome::Acked || last.offset + i64::from(last.len) == offset)
        {
            last.len += 1;
            return;
        }
        runs.push(SentRun {
            first: id,
            offset,
            len: 1,
            key,
            outcome,
        });
    }

    /// The runs held (a measure of the memory used).
    pub fn run_count(&self) -> usize {
        self.partitions.iter().map(Vec::len).sum()
    }
}

/// Records with consecutive ids at consecutive offsets of a log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogRun {
    /// The offset of the first record.
    pub offset: i64,
    /// The first record's id.
    pub first: RecordId,
    /// How many records.
    pub len: u32,
}

/// Consecutive record ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdRange {
    /// The first id.
    pub first: RecordId,
    /// How many.
    pub len: u32,
}

/// [`FinalPartitionLog`] as ranges.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RangePartitionLog {
    /// Which partition.
    pub partition: PartitionId,
    /// The committed records, in offset order, as runs.
    pub runs: Vec<LogRun>,
    /// The records at or above the high watermark on some replica, sorted and distinct, merged.
    pub pending: Vec<IdRange>,
}

/// [`FinalLogs`] as ranges: memory grows with the batches, not the records.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RangeLogs {
    /// One entry per partition, in partition order.
    pub partitions: Vec<RangePartitionLog>,
}

impl RangePartitionLog {
    /// An empty log of `partition`.
    pub fn new(partition: PartitionId) -> Self {
        RangePartitionLog {
            partition,
            runs: Vec::new(),
            pending: Vec::new(),
        }
    }

    /// Appends `len` records with ids from `first` at offsets from `offset`, merging with the
    /// last run when both continue it.
    pub fn push_run(&mut self, offset: i64, first: RecordId, len: u32) {
        if len == 0 {
            return;
        }
        if let Some(last) = self.runs.last_mut()
            && last.offset + i64::from(last.len) == offset
            && last.first.0 + u64::from(last.len) == first.0
            && last.len.checked_add(len).is_some()
        {
            last.len += len;
            return;
        }
        self.runs.push(LogRun { offset, first, len });
    }

    /// Sets the pending ids from ranges in any order, possibly overlapping.
    pub fn set_pending(&mut self, mut ranges: Vec<IdRange>) {
        ranges.sort_unstable_by_key(|r| r.first);
        let mut merged: Vec<IdRange> = Vec::with_capacity(ranges.len());
        for r in ranges.into_iter().filter(|r| r.len > 0) {
            if let Some(last) = merged.last_mut() {
                let last_end = last.first.0 + u64::from(last.len);
                if r.first.0 <= last_end {
                    let end = last_end.max(r.first.0 + u64::from(r.len));
                    if let Ok(len) = u32::try_from(end - last.first.0) {
                        last.len = len;
                        continue;
                    }
                    // Too long for one range: start a new one where the last ends.
                    let len = u32::try_from(end - last_end).unwrap_or(u32::MAX);
                    merged.push(IdRange {
                        first: RecordId(last_end),
                        len,
                    });
                    continue;
                }
            }
            merged.push(r);
        }
        self.pending = merged;
    }
}

impl FinalLogs {
    /// The same logs as ranges.
    pub fn to_ranges(&self) -> RangeLogs {
        RangeLogs {
            partitions: self
                .partitions
                .iter()
                .map(|log| {
                    let mut out = RangePartitionLog::new(log.partition);
                    for r in &log.records {
                        out.push_run(r.offset, r.id, 1);
                    }
                    out.set_pending(
                        log.pending
                            .iter()
                            .map(|&first| IdRange { first, len: 1 })
                            .collect(),
                    );
                    out
                })
                .collect(),
        }
    }
}

impl SentRuns {
    /// The same records as runs.
    pub fn of_records(sent: &[SentRecord]) -> Self {
        let mut runs = SentRuns::default();
        for s in sent {
            runs.push(s.id, s.partition, s.key, &s.outcome);
        }
        runs
    }
}

/// The smallest (or largest) few ids of a class, kept sorted.
#[derive(Clone, Debug, Default)]
struct Few {
    ids: Vec<u64>,
}

impl Few {
    /// Offers the ids `first..first + len` (ascending); keeps the smallest.
    fn offer_smallest(&mut self, first: u64, len: u64) {
        if self.ids.len() == EXAMPLES_PER_CLASS && self.ids.last().is_some_and(|&l| l < first) {
            return;
        }
        self.ids
            .extend((first..first.saturating_add(len)).take(EXAMPLES_PER_CLASS));
        self.ids.sort_unstable();
        self.ids.dedup();
        self.ids.truncate(EXAMPLES_PER_CLASS);
    }

    /// Offers the ids `first..first + len`; keeps the largest.
    fn offer_largest(&mut self, first: u64, len: u64) {
        let end = first.saturating_add(len);
        let take = len.min(EXAMPLES_PER_CLASS as u64);
        self.ids.extend((end - take)..end);
        self.ids.sort_unstable_by(|a, b| b.cmp(a));
        self.ids.dedup();
        self.ids.truncate(EXAMPLES_PER_CLASS);
    }
}

/// One piece of a partition's coverage by its logs: ids `start..end` each present `copies`
/// times, the first copy at offset `id + delta`.
#[derive(Clone, Copy, Debug)]
struct Cover {
    start: u64,
    end: u64,
    copies: u32,
    delta: i128,
}

/// How the logs naming one partition cover the id space: sorted, disjoint pieces.
fn coverage(runs: &[LogRun]) -> Vec<Cover> {
    // (id, +1 start / −1 end, delta); ends sort before starts at the same id.
    let mut bounds: Vec<(u64, i8, i128)> = Vec::with_capacity(runs.len() * 2);
    for r in runs.iter().filter(|r| r.len > 0) {
        let delta = i128::from(r.offset) - i128::from(r.first.0);
        bounds.push((r.first.0, 1, delta));
        bounds.push((r.first.0 + u64::from(r.len), -1, delta));
    }
    bounds.sort_unstable();
    let mut active: BTreeMap<i128, u32> = BTreeMap::new();
    let mut copies = 0u32;
    let mut out = Vec::with_capacity(runs.len());
    let mut i = 0;
    while i < bounds.len() {
        let at = bounds[i].0;
        while i < bounds.len() && bounds[i].0 == at {
            let (_, step, delta) = bounds[i];
            if step > 0 {
                *active.entry(delta).or_insert(0) += 1;
                copies += 1;
            } else {
                if let Some(n) = active.get_mut(&delta) {
                    *n -= 1;
                    if *n == 0 {
                        active.remove(&delta);
                    }
                }
                copies -= 1;
            }
            i += 1;
        }
        if let (Some((&delta, _)), Some(&(next, _, _))) = (active.first_key_value(), bounds.get(i))
        {
            if let Some(last) = out
                .last_mut()
                .filter(|c: &&mut Cover| c.end == at && c.copies == copies && c.delta == delta)
            {
                last.end = next;
            } else {
                out.push(Cover {
                    start: at,
                    end: next,
                    copies,
                    delta,
                });
            }
        }
    }
    out
}

/// The number of ids of `start..end` inside `runs` (sorted, disjoint), and the first few ids of
/// `start..end` outside them (at most `want`), in id order.
fn outside(runs: &[SentRun], start: u64, end: u64, want: usize) -> (u64, Vec<u64>) {
    let mut inside = 0u64;
    let mut found = Vec::new();
    let mut at = start;
    let mut k = runs.partition_point(|r| r.end() <= start);
    while at < end {
        let (next_in, next_out) = match runs.get(k) {
            Some(r) if r.first.0 < end => (r.first.0.max(at), r.end().min(end)),
            _ => (end, end),
        };
        while found.len() < want && at < next_in {
            found.push(at);
            at += 1;
        }
        at = next_in.max(at);
        if at < next_out {
            inside += next_out - at;
            at = next_out;
        }
        k += 1;
    }
    (inside, found)
}

/// Classifies every sent record against the final logs, from ranges: the same verdict as
/// [`check`] on the same records and logs, in time and memory that grow with the runs.
///
/// Per partition, the logs' runs are turned into a coverage of the id space (how many copies,
/// and the first copy's offset, which within a piece is the id plus a constant); each sent run
/// is cut at the pieces' and the pending ranges' bounds, and every cut piece is one class for all
/// its records. Reordering is found walking the present pieces from the last sent: a record is
/// reordered when some record sent later has a smaller first offset, and within one piece first
/// offsets grow with the ids, so only later pieces can reorder it.
pub fn check_ranges(sent: &SentRuns, logs: &RangeLogs) -> CheckerReport {
    let mut tally = RangeTally {
        counts: [0; CLASSES],
        examples: Default::default(),
        duplicate_copies: 0,
        keys: KeyReorder::new(0),
    };
    let no_runs: Vec<SentRun> = Vec::new();
    let sent_to = |p: PartitionId| sent.partitions.get(p.0 as usize).unwrap_or(&no_runs);
    // Foreign records, counted and noted in log order.
    let mut foreign_examples: Vec<u64> = Vec::new();
    for log in &logs.partitions {
        let runs = sent_to(log.partition);
        for r in &log.runs {
            let want = EXAMPLES_PER_CLASS - foreign_examples.len();
            let (inside, found) = outside(runs, r.first.0, r.first.0 + u64::from(r.len), want);
            tally.counts[Class::ForeignInLog as usize] += u64::from(r.len) - inside;
            foreign_examples.extend(found);
        }
    }
    // The logs naming each partition, in the order given.
    let mut by_partition: BTreeMap<PartitionId, Vec<&RangePartitionLog>> = BTreeMap::new();
    for log in &logs.partitions {
        by_partition.entry(log.partition).or_default().push(log);
    }
    let partitions = sent.partitions.len().max(
        by_partition
            .keys()
            .next_back()
            .map_or(0, |p| p.0 as usize + 1),
    );
    for p in 0..partitions {
        let partition = PartitionId(p as u32);
        let runs = sent_to(partition);
        assert!(
            runs.windows(2).all(|w| w[0].end() <= w[1].first.0),
            "sent records must be in send order with distinct ids"
        );
        let named = by_partition.get(&partition).map_or(&[][..], Vec::as_slice);
        let (cover, pending) = partition_coverage(partition, named);
        tally.judge_partition(runs, &cover, &pending);
    }
    tally.examples[Class::ForeignInLog as usize].ids = foreign_examples;
    let report = tally.report(sent.sent);
    assert_eq!(
        report.class_total(),
        report.sent,
        "checker accounting: every sent record must fall in exactly one class"
    );
    report
}

/// [`check_ranges`] for logs read one partition at a time: `log_of(p)` gives partition `p`'s
/// final log, for each of the `partitions` in order, and is dropped once judged, so only one
/// partition's ranges are held. The same report as [`check_ranges`] on those logs.
pub fn check_range_partitions(
    sent: &SentRuns,
    partitions: usize,
    mut log_of: impl FnMut(PartitionId) -> RangePartitionLog,
) -> CheckerReport {
    let mut tally = RangeTally {
        counts: [0; CLASSES],
        examples: Default::default(),
        duplicate_copies: 0,
        keys: KeyReorder::new(0),
    };
    let no_runs: Vec<SentRun> = Vec::new();
    let mut foreign_examples: Vec<u64> = Vec::new();
    for p in 0..partitions.max(sent.partitions.len()) {
        let partition = PartitionId(p as u32);
        let runs = sent.partitions.get(p).unwrap_or(&no_runs);
        assert!(
            runs.windows(2).all(|w| w[0].end() <= w[1].first.0),
            "sent records must be in send order with distinct ids"
        );
        let log = if p < partitions {
            log_of(partition)
        } else {
            RangePartitionLog::new(partition)
        };
        for r in &log.runs {
            let want = EXAMPLES_PER_CLASS - foreign_examples.len();
            let (inside, found) = outside(runs, r.first.0, r.first.0 + u64::from(r.len), want);
            tally.counts[Class::ForeignInLog as usize] += u64::from(r.len) - inside;
            foreign_examples.extend(found);
        }
        let (cover, pending) = partition_coverage(partition, &[&log]);
        drop(log);
        tally.judge_partition(runs, &cover, &pending);
    }
    tally.examples[Class::ForeignInLog as usize].ids = foreign_examples;
    let report = tally.report(sent.sent);
    assert_eq!(
        report.class_total(),
        report.sent,
        "checker accounting: every sent record must fall in exactly one class"
    );
    report
}

/// The coverage of one partition by the logs naming it, and its pending ranges merged.
fn partition_coverage(
    partition: PartitionId,
    named: &[&RangePartitionLog],
) -> (Vec<Cover>, Vec<IdRange>) {
    let cover = match named {
        [log] => coverage(&log.runs),
        _ => coverage(
            &named
                .iter()
                .flat_map(|log| log.runs.iter().copied())
                .collect::<Vec<_>>(),
        ),
    };
    let mut pending = RangePartitionLog::new(partition);
    pending.set_pending(
        named
            .iter()
            .flat_map(|log| log.pending.iter().copied())
            .collect(),
    );
    (cover, pending.pending)
}

/// A piece of a sent run that is present in the log: ids `start..start + len`, first copies at
/// `id + delta`.
#[derive(Clone, Copy, Debug)]
struct Present {
    start: u64,
    len: u64,
    delta: i128,
    key: Option<u32>,
}

/// What [`check_ranges`] has counted so far.
struct RangeTally {
    counts: [u64; CLASSES],
    examples: [Few; CLASSES],
    duplicate_copies: u64,
    keys: KeyReorder,
}

impl RangeTally {
    /// Judges the records sent to one partition (`runs`) against its coverage and pending
    /// ranges: cuts every run at their bounds, each piece one class for all its records.
    fn judge_partition(&mut self, runs: &[SentRun], cover: &[Cover], pending: &[IdRange]) {
        let mut present: Vec<Present> = Vec::new();
        let (mut c, mut q) = (0usize, 0usize);
        for run in runs {
            let (start, end) = (run.first.0, run.end());
            let mut at = start;
            while at < end {
                while c < cover.len() && cover[c].end <= at {
                    c += 1;
                }
                while q < pending.len() && pending[q].first.0 + u64::from(pending[q].len) <= at {
                    q += 1;
                }
                // The piece from `at`: covered (copies, delta) or not, pending or not.
                let (copies, delta, mut next) = match cover.get(c) {
                    Some(cv) if cv.start <= at => (cv.copies, cv.delta, cv.end.min(end)),
                    Some(cv) => (0, 0, cv.start.min(end)),
                    None => (0, 0, end),
                };
                let mut is_pending = false;
                if copies == 0 {
                    match pending.get(q) {
                        Some(pr) if pr.first.0 <= at => {
                            is_pending = true;
                            next = next.min(pr.first.0 + u64::from(pr.len));
                        }
                        Some(pr) => next = next.min(pr.first.0),
                        None => {}
                    }
                }
                let piece = Present {
                    start: at,
                    len: next - at,
                    delta,
                    key: run.key,
                };
                self.note_piece(run, piece, copies, is_pending);
                if copies > 0 {
                    present.push(piece);
                }
                at = next;
            }
        }
        self.reorder(&present);
    }

    /// Counts one piece of `run` with `copies` copies in its class, and its offset mismatches
    /// and extra copies.
    fn note_piece(&mut self, run: &SentRun, piece: Present, copies: u32, is_pending: bool) {
        let Present { start, len, .. } = piece;
        let kind = run.outcome.kind();
        let class =
            CLASS_OF[(usize::from(is_pending) * 16 + kind * 4 + copies.min(2) as usize) & 31];
        self.note(class, start, len);
        if copies > 0 {
            if run.outcome == RunOutcome::Acked
                && piece.delta != i128::from(run.offset) - i128::from(run.first.0)
            {
                self.note(Class::AckedOffsetMismatch, start, len);
            }
            self.duplicate_copies += u64::from(copies - 1) * len;
        }
    }

    fn note(&mut self, class: Class, start: u64, len: u64) {
        self.counts[class as usize] += len;
        self.examples[class as usize].offer_smallest(start, len);
    }

    /// Marks reordered records among one partition's present pieces (in id order), walking
    /// them from the last sent: `min_later` is the smallest first offset of any record sent
    /// later. Then keyed reordering: keyed records are runs of one, met in first-offset order.
    fn reorder(&mut self, present: &[Present]) {
        let mut min_later: Option<i128> = None;
        for piece in present.iter().rev() {
            let Present {
                start, len, delta, ..
            } = *piece;
            if let Some(m) = min_later {
                // Reordered: id + delta > m, i.e. id ≥ m − delta + 1.
                let from = (m - delta + 1).max(i128::from(start));
                let end = i128::from(start) + i128::from(len);
                if from < end {
                    let n = (end - from) as u64;
                    self.counts[Class::Reordered as usize] += n;
                    self.examples[Class::Reordered as usize].offer_largest(from as u64, n);
                }
            }
            let first = i128::from(start) + delta;
            min_later = Some(min_later.map_or(first, |m| m.min(first)));
        }
        let mut keyed: Vec<(i128, u64, u32)> = present
            .iter()
            .filter_map(|piece| {
                debug_assert!(piece.key.is_none() || piece.len == 1);
                piece
                    .key
                    .map(|k| (i128::from(piece.start) + piece.delta, piece.start, k))
            })
            .collect();
        if !keyed.is_empty() {
            keyed.sort_unstable();
            self.keys.start_partition();
            for (_, id, key) in keyed {
                self.keys.met(id, key);
            }
        }
    }

    /// The report of `sent` records.
    fn report(&self, sent: u64) -> CheckerReport {
        let count = |class: Class| self.counts[class as usize];
        let mut report = CheckerReport {
            sent,
            delivered_once: count(Class::DeliveredOnce),
            duplicated: count(Class::Duplicated),
            acked_lost: count(Class::AckedLost),
            silent_lost: count(Class::SilentLost),
            failed_absent: count(Class::FailedAbsent),
            failed_present: count(Class::FailedPresent),
            unfinished_absent: count(Class::UnfinishedAbsent),
            unfinished_present: count(Class::UnfinishedPresent),
            unsettled: count(Class::Unsettled),
            duplicate_copies: self.duplicate_copies,
            reordered: count(Class::Reordered),
            key_reordered: self.keys.key_reordered,
            keys_reordered: self.keys.keys_reordered,
            acked_offset_mismatch: count(Class::AckedOffsetMismatch),
            foreign_in_log: count(Class::ForeignInLog),
            examples: BTreeMap::new(),
        };
        for class in Class::ALL.into_iter().filter(|&c| count(c) > 0) {
            let ids = &self.examples[class as usize].ids;
            report
                .examples
                .insert(class.name(), ids.iter().map(|&id| RecordId(id)).collect());
        }
        report
    }
}
