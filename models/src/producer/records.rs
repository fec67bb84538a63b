//! What the application was told about every `send()`: one compact entry per record while its
//! outcome is open, for the callbacks, `flush()`, sync sends and latency; then, in send order,
//! runs of records for the checker.
//!
//! ```text
//!   send() ──► window: [completed prefix | oldest open record ... newest]   (per record)
//!                 ack(offset) | fail(error) ─┘  prefix advances ──► SentRuns (per run)
//! ```
//!
//! Units: ns. A record costs a 40-byte entry from its `send()` until it and every record sent
//! before it are complete; then it joins its partition's runs of consecutive ids with one
//! outcome (about one run per batch when records are not keyed; a keyed record is a run of its
//! own). So memory grows with what is unresolved and with the runs, not with the records.

use std::collections::VecDeque;

use crate::batching::completion::ProduceError;
use crate::checker::{AppOutcome, RunOutcome, SentRecord, SentRuns};
use crate::protocol::{PartitionId, RecordId};

/// A record's outcome as the producer reports it (the error is a small enum; the checker gets
/// its static name).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Acked { offset: i64 },
    Failed { error: ProduceError },
}

impl Outcome {
    /// The checker's per-record form.
    #[inline]
    fn app_outcome(self) -> AppOutcome {
        match self {
            Outcome::Acked { offset } => AppOutcome::Acked { offset },
            Outcome::Failed { error } => AppOutcome::Failed {
                error: error.name(),
            },
        }
    }

    /// The checker's run form: the kind and the offset.
    #[inline]
    fn run_outcome(self) -> (RunOutcome, i64) {
        match self {
            Outcome::Acked { offset } if offset >= 0 => (RunOutcome::Acked, offset),
            Outcome::Acked { .. } => (RunOutcome::AckedNoOffset, 0),
            Outcome::Failed { .. } => (RunOutcome::Failed, 0),
        }
    }
}

/// One sent record, as the application thread sees it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AppRecord {
    pub(crate) sent_at_ns: u64,
    pub(crate) key: Option<u32>,
    pub(crate) partition: u32,
    pub(crate) bytes: u32,
}

/// A record whose outcome is open, or that follows one.
#[derive(Clone, Copy, Debug)]
struct Entry {
    sent_at_ns: u64,
    /// The acked offset ([`RunOutcome::Acked`]).
    offset: i64,
    key: Option<u32>,
    partition: u32,
    bytes: u32,
    outcome: RunOutcome,
}

/// Every record the application sent, indexed by [`RecordId`].
///
/// The window holds the records from the oldest one without an outcome to the newest; once the
/// records before it are complete they leave the window, in send order, for the checker's runs.
pub(crate) struct AppRecords {
    window: VecDeque<Entry>,
    /// Every record below this id is complete (acked or failed) and has left the window.
    completed_prefix: u64,
    len: u64,
    unfinished: u64,
    runs: SentRuns,
    /// The per-record view as well, for the comparison with the per-record checker.
    reference: Option<Vec<SentRecord>>,
}

/// How a completion changed the record.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Completion {
    /// First completion: the callback runs; the record as it was sent.
    First(AppRecord),
    /// Already complete: a second completion is ignored (late or duplicate).
    Ignored,
}

impl AppRecords {
    pub(crate) fn new() -> Self {
        AppRecords {
            window: VecDeque::new(),
            completed_prefix: 0,
            len: 0,
            unfinished: 0,
            runs: SentRuns::default(),
            reference: None,
        }
    }

    /// Also keeps a per-record copy of what the application was told (costly: for the
    /// comparison with the per-record checker only).
    pub(crate) fn keep_reference(&mut self) {
        self.reference = Some(Vec::new());
    }

    /// Whether the per-record copy is kept.
    pub(crate) fn keeps_reference(&self) -> bool {
        self.reference.is_some()
    }

    /// Records a new `send()` (not yet complete) and returns its id.
    pub(crate) fn push(&mut self, record: AppRecord) -> RecordId {
        let id = RecordId(self.len);
        self.window.push_back(Entry {
            sent_at_ns: record.sent_at_ns,
            offset: 0,
            key: record.key,
            partition: record.partition,
            bytes: record.bytes,
            outcome: RunOutcome::Unfinished,
        });
        if let Some(reference) = &mut self.reference {
            reference.push(SentRecord {
                id,
                partition: PartitionId(record.partition),
                key: record.key,
                outcome: AppOutcome::Unfinished,
            });
        }
        self.len += 1;
        self.unfinished += 1;
        id
    }

    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// The window entry of record `id`, if it has not left the window.
    #[inline]
    fn entry(&self, id: RecordId) -> Option<&Entry> {
        let at = id.0.checked_sub(self.completed_prefix)?;
        self.window.get(usize::try_from(at).ok()?)
    }

    #[inline]
    fn entry_mut(&mut self, id: RecordId) -> Option<&mut Entry> {
        let at = id.0.checked_sub(self.completed_prefix)?;
        self.window.get_mut(usize::try_from(at).ok()?)
    }

    /// The application's view of record `id`, which must not be complete.
    pub(crate) fn get(&self, id: RecordId) -> AppRecord {
        let e = self
            .entry(id)
            .expect("a record without an outcome is in the window");
        AppRecord {
            sent_at_ns: e.sent_at_ns,
            key: e.key,
            partition: e.partition,
            bytes: e.bytes,
        }
    }

    /// Whether record `id` has no outcome yet.
    pub(crate) fn is_unfinished(&self, id: RecordId) -> bool {
        self.entry(id)
            .is_some_and(|e| e.outcome == RunOutcome::Unfinished)
    }

    /// Sets the partition of record `id`, which must not be complete.
    pub(crate) fn set_partition(&mut self, id: RecordId, partition: u32) {
        if let Some(e) = self.entry_mut(id) {
            e.partition = partition;
        }
        if let Some(reference) = &mut self.reference {
            reference[id.0 as usize].partition = PartitionId(partition);
        }
    }

    pub(crate) fn unfinished(&self) -> u64 {
        self.unfinished
    }

    /// Completes record `id` with `outcome` (an ack or a failure): [`AppRecords::complete_each`]
    /// for one record, returning the record as it was sent.
    pub(crate) fn complete(&mut self, id: RecordId, outcome: Outcome) -> Completion {
        let Some(&Entry { key, partition, .. }) = self.entry(id) else {
            return Completion::Ignored;
        };
        let mut first = None;
        self.complete_each([(id, outcome)], |_, sent_at_ns, bytes| {
            first = Some((sent_at_ns, bytes));
        });
        match first {
            Some((sent_at_ns, bytes)) => Completion::First(AppRecord {
                sent_at_ns,
                key,
                partition,
                bytes,
            }),
            None => Completion::Ignored,
        }
    }

    /// Completes every record of `completions` (in callback order) that has no outcome yet,
    /// calling `on_first(outcome, sent_at_ns, bytes)` for each, and returns how many: the
    /// same as [`AppRecords::complete`] per record, with the completed prefix advanced once at
    /// the end (the caller reads it only afterwards).
    #[inline]
    pub(crate) fn complete_each(
        &mut self,
        completions: impl IntoIterator<Item = (RecordId, Outcome)>,
        mut on_first: impl FnMut(Outcome, u64, u32),
    ) -> u64 {
        let mut count = 0;
        for (id, outcome) in completions {
            let Some(e) = self.entry_mut(id) else {
                continue;
            };
            if e.outcome != RunOutcome::Unfinished {
                continue;
            }
            (e.outcome, e.offset) = outcome.run_outcome();
            let (sent_at_ns, bytes) = (e.sent_at_ns, e.bytes);
            if let Some(reference) = &mut self.reference {
                reference[id.0 as usize].outcome = outcome.app_outcome();
            }
            count += 1;
            on_first(outcome, sent_at_ns, bytes);
        }
        if count > 0 {
            self.unfinished -= count;
            self.advance_completed_prefix();
        }
        count
    }

    /// Moves every complete record at the front of the window into the checker's runs.
    fn advance_completed_prefix(&mut self) {
        while let Some(e) = self.window.front() {
            if e.outcome == RunOutcome::Unfinished {
                break;
            }
            self.runs.push_kind(
                RecordId(self.completed_prefix),
                PartitionId(e.partition),
                e.key,
                (e.outcome, e.offset),
            );
            self.window.pop_front();
            self.completed_prefix += 1;
        }
    }

    /// Whether every record with an id below `end` is complete (`flush()`'s condition).
    pub(crate) fn all_complete_below(&self, end: u64) -> bool {
        self.completed_prefix >= end
    }

    /// The records sent so far, as the checker's runs, and the per-record view if it was kept
    /// (the end of a run: the window is emptied into the runs, records without an outcome as
    /// unfinished); afterwards only the counts remain.
    pub(crate) fn take_sent(&mut self) -> (SentRuns, Option<Vec<SentRecord>>) {
        let mut id = self.completed_prefix;
        for e in std::mem::take(&mut self.window) {
            self.runs.push_kind(
                RecordId(id),
                PartitionId(e.partition),
                e.key,
                (e.outcome, e.offset),
            );
            id += 1;
        }
        self.completed_prefix = id;
        (std::mem::take(&mut self.runs), self.reference.take())
    }

    /// The records held one by one (the window), a measure of the memory used.
    #[cfg(test)]
    fn window_len(&self) -> usize {
        self.window.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> AppRecord {
        AppRecord {
            sent_at_ns: 0,
            key: None,
            partition: 0,
            bytes: 10,
        }
    }

    #[test]
    fn the_completed_prefix_tracks_out_of_order_completions() {
        let mut r = AppRecords::new();
        r.keep_reference();
        let a = r.push(record());
        let b = r.push(record());
        assert!(matches!(
            r.complete(b, Outcome::Acked { offset: 4 }),
            Completion::First(AppRecord { bytes: 10, .. })
        ));
        assert!(!r.all_complete_below(2));
        assert!(matches!(
            r.complete(
                a,
                Outcome::Failed {
                    error: ProduceError::DeliveryTimeout
                }
            ),
            Completion::First(_)
        ));
        assert!(r.all_complete_below(2));
        assert!(
            matches!(
                r.complete(a, Outcome::Acked { offset: 1 }),
                Completion::Ignored
            ),
            "a late ack is ignored"
        );
        assert_eq!(r.unfinished(), 0);
        assert_eq!(r.window_len(), 0, "complete records leave the window");
        let (runs, reference) = r.take_sent();
        let sent = reference.expect("the reference was kept");
        assert_eq!(
            sent[0].outcome,
            AppOutcome::Failed {
                error: "TimeoutException"
            }
        );
        assert_eq!(runs, SentRuns::of_records(&sent));
    }

    #[test]
    fn records_leave_the_window_in_send_order_as_runs_per_partition() {
        let mut r = AppRecords::new();
        r.keep_reference();
        let count = 1_000u64;
        // Ten records at a time to one partition, as the sticky partitioner sends them.
        for i in 0..count {
            let id = r.push(AppRecord {
                sent_at_ns: i * 10,
                partition: ((i / 10) % 3) as u32,
                bytes: i as u32,
                ..record()
            });
            assert_eq!(id, RecordId(i));
        }
        let last = RecordId(count - 1);
        r.set_partition(last, 2);
        assert_eq!(r.get(last).partition, 2);
        assert_eq!(r.get(last).bytes, (count - 1) as u32);
        // Complete all but the last batch of ten, each batch at consecutive offsets of its
        // partition, the second batch before the first.
        let mut next_offset = [0i64; 3];
        let order: Vec<u64> = (0..count / 10 - 1)
            .map(|b| if b < 2 { 1 - b } else { b })
            .collect();
        for b in order {
            let p = (b % 3) as usize;
            let base = next_offset[p];
            next_offset[p] += 10;
            let completed = r.complete_each(
                (0..10).map(|k| {
                    (
                        RecordId(b * 10 + k),
                        Outcome::Acked {
                            offset: base + k as i64,
                        },
                    )
                }),
                |_, _, _| {},
            );
            assert_eq!(completed, 10);
            if b == 1 {
                assert_eq!(r.window_len(), count as usize, "record 0 is still open");
            }
        }
        assert_eq!(
            r.window_len(),
            10,
            "only the open batch stays in the window"
        );
        assert!(r.is_unfinished(last));
        assert!(!r.is_unfinished(RecordId(0)));
        assert_eq!(r.unfinished(), 10);
        let (runs, reference) = r.take_sent();
        let sent = reference.expect("the reference was kept");
        assert_eq!(runs, SentRuns::of_records(&sent));
        assert_eq!(runs.sent, count);
        assert_eq!(sent[990].outcome, AppOutcome::Unfinished);
        assert_eq!(sent[999].partition, PartitionId(2));
        // Batches 0 and 1 landed in different partitions, so no run spans two batches here;
        // each batch is one run.
        assert_eq!(
            runs.run_count(),
            (count / 10) as usize + 1,
            "and the moved record"
        );
        assert_eq!(r.unfinished(), 10, "the counts survive taking the records");
    }
}
