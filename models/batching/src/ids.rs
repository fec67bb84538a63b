//! Identifier newtypes used across the batching core, and Kafka's wrapping sequence arithmetic.
//!
//! The core models one topic, so a partition is just its number. Nodes are broker ids as the
//! caller's metadata names them. Sequences are Kafka's `int` base sequences, which wrap at
//! `i32::MAX` back to 0 (`DefaultRecordBatch.incrementSequence`).

/// A partition of the one modelled topic, numbered from 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PartitionId(pub u32);

/// A broker (node) id as it appears in the caller's metadata.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub u32);

/// The accumulator's identity for one `ProducerBatch`, unique for the accumulator's lifetime.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BatchId(pub u64);

/// The application's identity for one record; opaque to the core.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordId(pub u64);

/// A producer id and epoch as assigned by `InitProducerId` (`ProducerIdAndEpoch`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProducerIdAndEpoch {
    /// The producer id; `-1` means none.
    pub producer_id: i64,
    /// The producer epoch; `-1` means none.
    pub epoch: i16,
}

impl ProducerIdAndEpoch {
    /// No producer id (`ProducerIdAndEpoch.NONE`).
    pub const NONE: ProducerIdAndEpoch = ProducerIdAndEpoch {
        producer_id: -1,
        epoch: -1,
    };

    /// Whether this names a real producer session (`isValid`).
    pub fn is_valid(self) -> bool {
        self.producer_id >= 0
    }
}

/// Adds `increment` to a sequence, wrapping past `i32::MAX` to 0 like
/// `DefaultRecordBatch.incrementSequence`.
pub fn increment_sequence(sequence: i32, increment: i32) -> i32 {
    if sequence > i32::MAX - increment {
        increment - (i32::MAX - sequence) - 1
    } else {
        sequence + increment
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_wraps_at_int_max_like_default_record_batch() {
        assert_eq!(increment_sequence(0, 5), 5);
        assert_eq!(increment_sequence(i32::MAX, 1), 0);
        assert_eq!(increment_sequence(i32::MAX - 1, 3), 1);
    }
}
