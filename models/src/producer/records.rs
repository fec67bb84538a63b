//! What the application was told about every `send()`: one compact entry per record, in send
//! order, for the callbacks, `flush()`, sync sends, latency, and finally the checker.
//!
//! ```text
//!   send() ──► push(Unfinished) ──► ack(offset) | fail(error) ──► checker's SentRecord list
//! ```
//!
//! Units: ns. Each record costs the checker's 48-byte entry plus 16 bytes of send time and size,
//! and nothing is converted or copied at the end of a run.

use crate::batching::completion::ProduceError;
use crate::checker::{AppOutcome, SentRecord};
use crate::protocol::{PartitionId, RecordId};

/// A record's outcome as the producer reports it (the error is a small enum; the checker gets
/// its static name).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Acked { offset: i64 },
    Failed { error: ProduceError },
}

impl Outcome {
    /// The checker's form.
    #[inline]
    fn app_outcome(self) -> AppOutcome {
        match self {
            Outcome::Acked { offset } => AppOutcome::Acked { offset },
            Outcome::Failed { error } => AppOutcome::Failed {
                error: error.name(),
            },
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

/// What only the producer needs about a record (the rest is in its [`SentRecord`]).
#[derive(Clone, Copy, Debug)]
struct SendInfo {
    sent_at_ns: u64,
    bytes: u32,
}

/// Records per chunk of [`SendInfo`] (a power of two, so an id splits by shifts).
const CHUNK_BITS: u32 = 16;
const CHUNK_LEN: usize = 1 << CHUNK_BITS;
const SLOT_MASK: u64 = (CHUNK_LEN as u64) - 1;

/// Every record the application sent, indexed by [`RecordId`].
///
/// The checker's view of each record ([`SentRecord`]) is kept from the start and updated in
/// place, so the end of a run hands it over without converting (or holding twice) millions of
/// entries. The producer's own per-record data sits beside it in fixed-size chunks, which grow
/// without copying, and a chunk is freed once every record in it is complete (the memory is
/// reused by the next chunks instead of growing the process).
pub(crate) struct AppRecords {
    sent: Vec<SentRecord>,
    info: Vec<Vec<SendInfo>>,
    /// Every record below this index is complete (acked or failed).
    completed_prefix: usize,
    unfinished: u64,
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
    /// Bookkeeping with room for `expected` records (a hint; it grows past it as needed).
    pub(crate) fn with_capacity(expected: usize) -> Self {
        AppRecords {
            sent: Vec::with_capacity(expected),
            info: Vec::with_capacity(expected.div_ceil(CHUNK_LEN)),
            ..AppRecords::new()
        }
    }

    pub(crate) fn new() -> Self {
        AppRecords {
            sent: Vec::new(),
            info: Vec::new(),
            completed_prefix: 0,
            unfinished: 0,
        }
    }

    /// Records a new `send()` (not yet complete) and returns its id.
    pub(crate) fn push(&mut self, record: AppRecord) -> RecordId {
        let id = RecordId(self.sent.len() as u64);
        self.sent.push(SentRecord {
            id,
            partition: PartitionId(record.partition),
            key: record.key,
            outcome: AppOutcome::Unfinished,
        });
        if id.0 & SLOT_MASK == 0 {
            self.info.push(Vec::with_capacity(CHUNK_LEN));
        }
        self.info
            .last_mut()
            .expect("a chunk was opened for this record")
            .push(SendInfo {
                sent_at_ns: record.sent_at_ns,
                bytes: record.bytes,
            });
        self.unfinished += 1;
        id
    }

    pub(crate) fn len(&self) -> u64 {
        self.sent.len() as u64
    }

    /// The application's view of record `id`, which must not be complete (its send data may
    /// be freed once it is).
    pub(crate) fn get(&self, id: RecordId) -> AppRecord {
        let sent = &self.sent[id.0 as usize];
        let info = self.info(id);
        AppRecord {
            sent_at_ns: info.sent_at_ns,
            key: sent.key,
            partition: sent.partition.0,
            bytes: info.bytes,
        }
    }

    /// The send data of record `id` (present until its chunk is freed).
    #[inline]
    fn info(&self, id: RecordId) -> SendInfo {
        self.info[(id.0 >> CHUNK_BITS) as usize][(id.0 & SLOT_MASK) as usize]
    }

    /// Whether record `id` has no outcome yet.
    pub(crate) fn is_unfinished(&self, id: RecordId) -> bool {
        matches!(self.sent[id.0 as usize].outcome, AppOutcome::Unfinished)
    }

    pub(crate) fn set_partition(&mut self, id: RecordId, partition: u32) {
        self.sent[id.0 as usize].partition = PartitionId(partition);
    }

    pub(crate) fn unfinished(&self) -> u64 {
        self.unfinished
    }

    /// Completes record `id` with `outcome` (an ack or a failure): [`AppRecords::complete_each`]
    /// for one record, returning the record as it was sent.
    pub(crate) fn complete(&mut self, id: RecordId, outcome: Outcome) -> Completion {
        let (key, partition) = {
            let record = &self.sent[id.0 as usize];
            (record.key, record.partition.0)
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
            let record = &mut self.sent[id.0 as usize];
            if !matches!(record.outcome, AppOutcome::Unfinished) {
                continue;
            }
            record.outcome = outcome.app_outcome();
            let info = self.info(id);
            count += 1;
            on_first(outcome, info.sent_at_ns, info.bytes);
        }
        if count > 0 {
            self.unfinished -= count;
            self.advance_completed_prefix();
        }
        count
    }

    /// Moves the completed prefix past every complete record and frees the send data of the
    /// chunks now wholly below it (they are never read again).
    fn advance_completed_prefix(&mut self) {
        let before = self.completed_prefix;
        let rest = &self.sent[before..];
        let done = rest
            .iter()
            .position(|r| matches!(r.outcome, AppOutcome::Unfinished))
            .unwrap_or(rest.len());
        if done == 0 {
            return;
        }
        let after = before + done;
        self.completed_prefix = after;
        for chunk in &mut self.info[before / CHUNK_LEN..after / CHUNK_LEN] {
            *chunk = Vec::new();
        }
    }

    /// Whether every record with an id below `end` is complete (`flush()`'s condition).
    pub(crate) fn all_complete_below(&self, end: u64) -> bool {
        self.completed_prefix as u64 >= end
    }

    /// The application's view of every record, for the checker (copying; tests only).
    #[cfg(test)]
    pub(crate) fn sent_records(&self) -> Vec<SentRecord> {
        self.sent.clone()
    }

    /// Moves the application's view of every record out for the checker (the end of a run,
    /// where memory peaks) and frees the producer's per-record data; afterwards the records
    /// are gone and only the counts remain.
    pub(crate) fn take_sent_records(&mut self) -> Vec<SentRecord> {
        self.info = Vec::new();
        std::mem::take(&mut self.sent)
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

    #[cfg(target_pointer_width = "64")]
    #[test]
    fn the_checker_entry_is_48_bytes_as_the_module_docs_say() {
        assert_eq!(std::mem::size_of::<SentRecord>(), 48);
    }

    #[test]
    fn the_completed_prefix_tracks_out_of_order_completions() {
        let mut r = AppRecords::new();
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
        let sent = r.sent_records();
        assert_eq!(
            sent[0].outcome,
            AppOutcome::Failed {
                error: "TimeoutException"
            }
        );
    }

    #[test]
    fn records_across_chunk_boundaries_keep_their_ids_and_outcomes() {
        let mut r = AppRecords::with_capacity(10);
        let count = CHUNK_LEN as u64 * 2 + 3;
        for i in 0..count {
            let id = r.push(AppRecord {
                sent_at_ns: i * 10,
                partition: (i % 7) as u32,
                bytes: i as u32,
                ..record()
            });
            assert_eq!(id, RecordId(i));
        }
        let last = RecordId(count - 1);
        let boundary = RecordId(CHUNK_LEN as u64);
        assert_eq!(r.get(boundary).sent_at_ns, CHUNK_LEN as u64 * 10);
        let Completion::First(sent) = r.complete(boundary, Outcome::Acked { offset: 9 }) else {
            panic!("the first completion of {boundary:?} counts")
        };
        assert_eq!(
            (sent.sent_at_ns, sent.bytes),
            (CHUNK_LEN as u64 * 10, CHUNK_LEN as u32)
        );
        r.set_partition(last, 5);
        assert!(!r.is_unfinished(boundary));
        assert!(r.is_unfinished(last));
        assert_eq!(r.get(last).partition, 5);
        assert_eq!(r.get(last).bytes, (count - 1) as u32);
        // Completing the whole first chunk frees its send data; the rest stays readable.
        for i in 0..CHUNK_LEN as u64 {
            r.complete(RecordId(i), Outcome::Acked { offset: i as i64 });
        }
        assert!(r.all_complete_below(CHUNK_LEN as u64 + 1));
        assert!(r.info[0].capacity() == 0 && r.info[1].len() == CHUNK_LEN);
        assert_eq!(
            r.get(RecordId(CHUNK_LEN as u64 + 1)).sent_at_ns,
            (CHUNK_LEN as u64 + 1) * 10
        );
        assert_eq!(r.unfinished(), count - 1 - CHUNK_LEN as u64);
        let copied = r.sent_records();
        let taken = r.take_sent_records();
        assert_eq!(copied, taken);
        assert_eq!(taken.len() as u64, count);
        assert!(
            taken
                .iter()
                .enumerate()
                .all(|(i, s)| s.id == RecordId(i as u64))
        );
        assert_eq!(taken[CHUNK_LEN].outcome, AppOutcome::Acked { offset: 9 });
        assert_eq!(taken[1].outcome, AppOutcome::Acked { offset: 1 });
        assert_eq!(
            taken[CHUNK_LEN + 1].partition,
            PartitionId(((CHUNK_LEN + 1) % 7) as u32)
        );
        assert_eq!(
            r.unfinished(),
            count - 1 - CHUNK_LEN as u64,
            "the counts survive taking the records"
        );
    }
}
