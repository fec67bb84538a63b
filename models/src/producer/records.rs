//! What the application was told about every `send()`: one compact entry per record, in send
//! order, for the callbacks, `flush()`, sync sends, latency, and finally the checker.
//!
//! ```text
//!   send() ──► push(Unfinished) ──► ack(offset) | fail(error) ──► checker's SentRecord list
//! ```
//!
//! Units: ns. The entry is 40 bytes, kept in 64 Ki-record chunks, so a 6-million-record run keeps
//! its bookkeeping small and never copies it while growing.

use crate::batching::completion::ProduceError;
use crate::checker::{AppOutcome, SentRecord};
use crate::protocol::{PartitionId, RecordId};

/// The outcome as stored (the error is a small enum, turned into a string only for the checker).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Unfinished,
    Acked { offset: i64 },
    Failed { error: ProduceError },
}

/// One sent record.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AppRecord {
    pub(crate) sent_at_ns: u64,
    pub(crate) key: Option<u32>,
    pub(crate) partition: u32,
    pub(crate) bytes: u32,
    pub(crate) outcome: Outcome,
}

/// Records per storage chunk (a power of two, so an id splits into chunk and slot by shifts).
const CHUNK_BITS: u32 = 16;
const CHUNK_LEN: usize = 1 << CHUNK_BITS;
const SLOT_MASK: u64 = (CHUNK_LEN as u64) - 1;

/// Every record the application sent, indexed by [`RecordId`].
///
/// Stored in fixed-size chunks rather than one vector: growth never copies (or touches again)
/// what is already stored, and [`AppRecords::take_sent_records`] frees each chunk as soon as it
/// is converted, so the end-of-run conversion for the checker does not double the memory.
pub(crate) struct AppRecords {
    chunks: Vec<Vec<AppRecord>>,
    len: u64,
    /// Every record below this index is complete (acked or failed).
    completed_prefix: u64,
    unfinished: u64,
}

/// How a completion changed the record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Completion {
    /// First completion: the callback ran.
    First,
    /// Already complete: a second completion is ignored (late or duplicate).
    Ignored,
}

impl AppRecords {
    /// Bookkeeping expecting about `expected` records (a hint for the chunk directory).
    pub(crate) fn with_capacity(expected: usize) -> Self {
        AppRecords {
            chunks: Vec::with_capacity(expected.div_ceil(CHUNK_LEN)),
            ..AppRecords::new()
        }
    }

    pub(crate) fn new() -> Self {
        AppRecords {
            chunks: Vec::new(),
            len: 0,
            completed_prefix: 0,
            unfinished: 0,
        }
    }

    /// Records a new `send()` and returns its id.
    pub(crate) fn push(&mut self, record: AppRecord) -> RecordId {
        let id = RecordId(self.len);
        if self.len & SLOT_MASK == 0 {
            self.chunks.push(Vec::with_capacity(CHUNK_LEN));
        }
        self.chunks
            .last_mut()
            .expect("a chunk was opened for this record")
            .push(record);
        self.len += 1;
        self.unfinished += 1;
        id
    }

    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    pub(crate) fn get(&self, id: RecordId) -> &AppRecord {
        &self.chunks[(id.0 >> CHUNK_BITS) as usize][(id.0 & SLOT_MASK) as usize]
    }

    fn get_mut(&mut self, id: RecordId) -> &mut AppRecord {
        &mut self.chunks[(id.0 >> CHUNK_BITS) as usize][(id.0 & SLOT_MASK) as usize]
    }

    pub(crate) fn set_partition(&mut self, id: RecordId, partition: u32) {
        self.get_mut(id).partition = partition;
    }

    pub(crate) fn unfinished(&self) -> u64 {
        self.unfinished
    }

    /// Completes record `id` with `outcome` (ack or failure).
    pub(crate) fn complete(&mut self, id: RecordId, outcome: Outcome) -> Completion {
        let record = self.get_mut(id);
        if record.outcome != Outcome::Unfinished {
            return Completion::Ignored;
        }
        record.outcome = outcome;
        self.unfinished -= 1;
        while self.completed_prefix < self.len
            && self.get(RecordId(self.completed_prefix)).outcome != Outcome::Unfinished
        {
            self.completed_prefix += 1;
        }
        Completion::First
    }

    /// Whether every record with an id below `end` is complete (`flush()`'s condition).
    pub(crate) fn all_complete_below(&self, end: u64) -> bool {
        self.completed_prefix >= end
    }

    /// The application's view of every record, for the checker (copying; tests only).
    #[cfg(test)]
    pub(crate) fn sent_records(&self) -> Vec<SentRecord> {
        let mut sent = Vec::with_capacity(self.len as usize);
        for (index, r) in self.chunks.iter().flatten().enumerate() {
            sent.push(sent_record(index, r));
        }
        sent
    }

    /// Like [`AppRecords::sent_records`], but moves the records out, freeing each chunk once
    /// converted (the end of a run, where the peak memory is). Afterwards only the counts
    /// (`len`, `unfinished`) remain; the records themselves are gone.
    pub(crate) fn take_sent_records(&mut self) -> Vec<SentRecord> {
        let mut sent = Vec::with_capacity(self.len as usize);
        for chunk in std::mem::take(&mut self.chunks) {
            for r in &chunk {
                sent.push(sent_record(sent.len(), r));
            }
        }
        sent
    }
}

fn sent_record(index: usize, r: &AppRecord) -> SentRecord {
    SentRecord {
        id: RecordId(index as u64),
        partition: PartitionId(r.partition),
        key: r.key.map(u64::from),
        outcome: match r.outcome {
            Outcome::Unfinished => AppOutcome::Unfinished,
            Outcome::Acked { offset } => AppOutcome::Acked { offset },
            Outcome::Failed { error } => AppOutcome::Failed {
                error: error.name().to_owned(),
            },
        },
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
            outcome: Outcome::Unfinished,
        }
    }

    #[test]
    fn the_completed_prefix_tracks_out_of_order_completions() {
        let mut r = AppRecords::new();
        let a = r.push(record());
        let b = r.push(record());
        assert_eq!(
            r.complete(b, Outcome::Acked { offset: 4 }),
            Completion::First
        );
        assert!(!r.all_complete_below(2));
        assert_eq!(
            r.complete(
                a,
                Outcome::Failed {
                    error: ProduceError::DeliveryTimeout
                }
            ),
            Completion::First
        );
        assert!(r.all_complete_below(2));
        assert_eq!(
            r.complete(a, Outcome::Acked { offset: 1 }),
            Completion::Ignored,
            "a late ack is ignored"
        );
        assert_eq!(r.unfinished(), 0);
        let sent = r.sent_records();
        assert_eq!(
            sent[0].outcome,
            AppOutcome::Failed {
                error: "TimeoutException".into()
            }
        );
    }

    #[test]
    fn records_across_chunk_boundaries_keep_their_ids_and_outcomes() {
        let mut r = AppRecords::with_capacity(10);
        let count = CHUNK_LEN as u64 * 2 + 3;
        for i in 0..count {
            let id = r.push(AppRecord {
                partition: (i % 7) as u32,
                ..record()
            });
            assert_eq!(id, RecordId(i));
        }
        let last = RecordId(count - 1);
        let boundary = RecordId(CHUNK_LEN as u64);
        r.complete(boundary, Outcome::Acked { offset: 9 });
        r.set_partition(last, 5);
        assert_eq!(r.get(boundary).outcome, Outcome::Acked { offset: 9 });
        assert_eq!(r.get(last).partition, 5);
        assert_eq!(r.unfinished(), count - 1);
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
        assert_eq!(
            taken[CHUNK_LEN + 1].partition,
            PartitionId(((CHUNK_LEN + 1) % 7) as u32)
        );
        assert_eq!(r.len(), count, "the count survives taking the records");
    }
}
