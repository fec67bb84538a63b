//! What the application was told about every `send()`: one compact entry per record, in send
//! order, for the callbacks, `flush()`, sync sends, latency, and finally the checker.
//!
//! ```text
//!   send() ──► push(Unfinished) ──► ack(offset) | fail(error) ──► checker's SentRecord list
//! ```
//!
//! Units: ns. The entry is 32 bytes so a 6-million-record run keeps its bookkeeping small.

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

/// Every record the application sent, indexed by [`RecordId`].
pub(crate) struct AppRecords {
    records: Vec<AppRecord>,
    /// Every record below this index is complete (acked or failed).
    completed_prefix: usize,
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
    /// Bookkeeping with room for `expected` records (a hint; it grows past it as needed).
    pub(crate) fn with_capacity(expected: usize) -> Self {
        AppRecords {
            records: Vec::with_capacity(expected),
            ..AppRecords::new()
        }
    }

    pub(crate) fn new() -> Self {
        AppRecords {
            records: Vec::new(),
            completed_prefix: 0,
            unfinished: 0,
        }
    }

    /// Records a new `send()` and returns its id.
    pub(crate) fn push(&mut self, record: AppRecord) -> RecordId {
        let id = RecordId(self.records.len() as u64);
        self.records.push(record);
        self.unfinished += 1;
        id
    }

    pub(crate) fn len(&self) -> u64 {
        self.records.len() as u64
    }

    pub(crate) fn get(&self, id: RecordId) -> &AppRecord {
        &self.records[id.0 as usize]
    }

    pub(crate) fn set_partition(&mut self, id: RecordId, partition: u32) {
        self.records[id.0 as usize].partition = partition;
    }

    pub(crate) fn unfinished(&self) -> u64 {
        self.unfinished
    }

    /// Completes record `id` with `outcome` (ack or failure).
    pub(crate) fn complete(&mut self, id: RecordId, outcome: Outcome) -> Completion {
        let record = &mut self.records[id.0 as usize];
        if record.outcome != Outcome::Unfinished {
            return Completion::Ignored;
        }
        record.outcome = outcome;
        self.unfinished -= 1;
        while self.completed_prefix < self.records.len()
            && self.records[self.completed_prefix].outcome != Outcome::Unfinished
        {
            self.completed_prefix += 1;
        }
        Completion::First
    }

    /// Whether every record with an id below `end` is complete (`flush()`'s condition).
    pub(crate) fn all_complete_below(&self, end: u64) -> bool {
        self.completed_prefix as u64 >= end
    }

    /// The application's view of every record, for the checker.
    pub(crate) fn sent_records(&self) -> Vec<SentRecord> {
        self.records
            .iter()
            .enumerate()
            .map(|(index, r)| SentRecord {
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
            })
            .collect()
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
}
