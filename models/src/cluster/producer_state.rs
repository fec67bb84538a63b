//! Broker-side idempotence: per partition, per producer id, the epoch and the last five
//! batches' `(first_seq, last_seq, base_offset)`, as Kafka's `ProducerStateEntry`.
//!
//! ```text
//!   check(pid, epoch, first, last):
//!     no state for pid               → Append (any sequence accepted)
//!     same epoch, cached (first,last) → Duplicate { original base offset }   (checked first)
//!     epoch < cached                 → INVALID_PRODUCER_EPOCH
//!     epoch > cached, first ≠ 0      → OUT_OF_ORDER_SEQUENCE_NUMBER
//!     same epoch, first ≠ last+1     → OUT_OF_ORDER_SEQUENCE_NUMBER (gap or stale)
//!     otherwise                      → Append
//! ```
//!
//! Fidelity: follows `UnifiedLog.analyzeAndValidateProducerState`, `ProducerAppendInfo.checkSequence`
//! and `ProducerStateEntry` (NUM_BATCHES_TO_RETAIN = 5). Followers update the same state from
//! the batches they replicate, and a replica rebuilds it from its log after truncation, so a new
//! leader dedups as Kafka's does. Producer-id expiry (`producer.id.expiration.ms`) is not modelled.

use std::collections::VecDeque;

use super::log::{LogBatch, PartitionLog};
use crate::protocol::{ErrorCode, ProducerId};

/// Batches remembered per producer (Kafka's `NUM_BATCHES_TO_RETAIN`).
pub const BATCHES_TO_RETAIN: usize = 5;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct BatchMeta {
    first_seq: i32,
    last_seq: i32,
    base_offset: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct ProducerEntry {
    producer_id: ProducerId,
    epoch: i16,
    batches: VecDeque<BatchMeta>,
}

/// The verdict on an incoming idempotent batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeqCheck {
    /// Append it.
    Append,
    /// Already in the log at this base offset: answer success, do not append.
    Duplicate {
        /// The original base offset.
        base_offset: i64,
    },
    /// Reject with this error; `expected` is the sequence the broker wanted (−1 if none).
    Reject {
        /// The error.
        error: ErrorCode,
        /// Expected first sequence.
        expected: i64,
    },
}

/// Producer state of one replica of one partition.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProducerStates {
    entries: Vec<ProducerEntry>,
}

fn in_sequence(last_seq: i32, next_seq: i32) -> bool {
    i64::from(next_seq) == i64::from(last_seq) + 1 || (next_seq == 0 && last_seq == i32::MAX)
}

impl ProducerStates {
    fn find(&self, pid: ProducerId) -> Option<&ProducerEntry> {
        self.entries.iter().find(|e| e.producer_id == pid)
    }

    /// What this replica remembers of producer `pid`, for the trace: its last batches as
    /// `first-last@base_offset`, oldest first, comma-separated (empty when it has no state).
    pub fn describe(&self, pid: ProducerId) -> String {
        let Some(entry) = self.find(pid) else {
            return String::new();
        };
        let batches: Vec<String> = entry
            .batches
            .iter()
            .map(|b| format!("{}-{}@{}", b.first_seq, b.last_seq, b.base_offset))
            .collect();
        batches.join(",")
    }

    /// Whether this replica has state for producer `pid`.
    pub fn knows(&self, pid: ProducerId) -> bool {
        self.find(pid).is_some()
    }

    /// Checks a batch from producer `pid` at `epoch` with sequences `first..=last`.
    pub fn check(&self, pid: ProducerId, epoch: i16, first: i32, last: i32) -> SeqCheck {
        let Some(entry) = self.find(pid) else {
            return SeqCheck::Append;
        };
        // The duplicate check comes first, and only within the cached epoch.
        let same_epoch = epoch == entry.epoch;
        let duplicate = entry
            .batches
            .iter()
            .find(|m| same_epoch && m.first_seq == first && m.last_seq == last);
        if let Some(m) = duplicate {
            return SeqCheck::Duplicate {
                base_offset: m.base_offset,
            };
        }
        if epoch < entry.epoch {
            return SeqCheck::Reject {
                error: ErrorCode::InvalidProducerEpoch,
                expected: -1,
            };
        }
        if epoch > entry.epoch {
            return if first == 0 {
                SeqCheck::Append
            } else {
                SeqCheck::Reject {
                    error: ErrorCode::OutOfOrderSequenceNumber,
                    expected: 0,
                }
            };
        }
        match entry.batches.back() {
            None => SeqCheck::Append,
            Some(m) if in_sequence(m.last_seq, first) => SeqCheck::Append,
            Some(m) => SeqCheck::Reject {
                error: ErrorCode::OutOfOrderSequenceNumber,
                expected: i64::from(m.last_seq) + 1,
            },
        }
    }

    /// Records an appended batch (leader or follower).
    pub fn record(&mut self, batch: &LogBatch) {
        if batch.producer_id == ProducerId::NONE {
            return;
        }
        let meta = BatchMeta {
            first_seq: batch.base_sequence,
            last_seq: batch.last_sequence,
            base_offset: batch.base_offset,
        };
        let index = match self
            .entries
            .iter()
            .position(|e| e.producer_id == batch.producer_id)
        {
            Some(i) => i,
            None => {
                self.entries.push(ProducerEntry {
                    producer_id: batch.producer_id,
                    epoch: batch.producer_epoch,
                    batches: VecDeque::new(),
                });
                self.entries.len() - 1
            }
        };
        let entry = &mut self.entries[index];
        if entry.epoch != batch.producer_epoch {
            entry.epoch = batch.producer_epoch;
            entry.batches.clear();
        }
        if entry.batches.len() == BATCHES_TO_RETAIN {
            entry.batches.pop_front();
        }
        entry.batches.push_back(meta);
    }

    /// Rebuilds the state from a log (after truncation), as Kafka reloads producer state.
    pub fn rebuild(log: &PartitionLog) -> ProducerStates {
        let mut states = ProducerStates::default();
        for batch in log.entries() {
            states.record(batch);
        }
        states
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{LeaderEpoch, RecordId, WireRecord};

    fn batch(base: i64, epoch: i16, first: i32, n: i32) -> LogBatch {
        LogBatch {
            base_offset: base,
            leader_epoch: LeaderEpoch(0),
            producer_id: ProducerId(7),
            producer_epoch: epoch,
            base_sequence: first,
            last_sequence: first + n - 1,
            records: crate::cluster::log::BatchRecords::of(
                &(0..n)
                    .map(|i| WireRecord {
                        id: RecordId(i as u64),
                        size_bytes: 1,
                    })
                    .collect::<Vec<_>>(),
            ),
            size_bytes: 61,
            kind: crate::cluster::log::BatchKind::Plain,
        }
    }

    #[test]
    fn sequence_rules_follow_kafka() {
        let mut s = ProducerStates::default();
        let pid = ProducerId(7);
        assert_eq!(
            s.check(pid, 0, 42, 45),
            SeqCheck::Append,
            "no state: any sequence"
        );
        s.record(&batch(0, 0, 0, 10));
        assert_eq!(
            s.check(pid, 0, 0, 9),
            SeqCheck::Duplicate { base_offset: 0 }
        );
        assert_eq!(s.check(pid, 0, 10, 19), SeqCheck::Append);
        assert_eq!(
            s.check(pid, 0, 11, 19),
            SeqCheck::Reject {
                error: ErrorCode::OutOfOrderSequenceNumber,
                expected: 10
            }
        );
        assert_eq!(
            s.check(pid, 1, 10, 19),
            SeqCheck::Reject {
                error: ErrorCode::OutOfOrderSequenceNumber,
                expected: 0
            }
        );
        assert_eq!(s.check(pid, 1, 0, 9), SeqCheck::Append);
        s.record(&batch(10, 1, 0, 10));
        assert_eq!(
            s.check(pid, 0, 10, 19),
            SeqCheck::Reject {
                error: ErrorCode::InvalidProducerEpoch,
                expected: -1
            }
        );
    }

    #[test]
    fn only_five_batches_are_remembered() {
        let mut s = ProducerStates::default();
        for i in 0..6 {
            s.record(&batch(i64::from(i) * 2, 0, i * 2, 2));
        }
        let pid = ProducerId(7);
        assert_eq!(
            s.check(pid, 0, 2, 3),
            SeqCheck::Duplicate { base_offset: 2 }
        );
        assert!(matches!(
            s.check(pid, 0, 0, 1),
            SeqCheck::Reject {
                error: ErrorCode::OutOfOrderSequenceNumber,
                ..
            }
        ));
    }
}
