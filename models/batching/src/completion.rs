//! The produce-response decision tree (`Sender.completeBatch`) as a pure function, and the
//! error names it decides on.
//!
//! Fidelity: `Sender.completeBatch` and `Sender.canRetry` (4.x):
//!
//! ```text
//! MESSAGE_TOO_LARGE ∧ records > 1 ∧ ¬done        → Split
//! error ≠ NONE ∧ canRetry                         → Retry (re-enqueue with backoff)
//! error = DUPLICATE_SEQUENCE_NUMBER               → SuccessDuplicateNoOffset (offset -1)
//! error ≠ NONE                                    → Fail(error), adjust sequences iff attempts < retries
//! NONE                                            → Success
//! canRetry = ¬deliveryTimeoutReached ∧ attempts < retries ∧ ¬done
//!            ∧ (idempotent ? TransactionManager.canRetry : error is RetriableException)
//! ```
//!
//! The idempotent `canRetry` (which has side effects: it may request an epoch bump) lives in
//! [`crate::idempotence`]; this function takes its verdict as an input so it stays pure.

use std::fmt;

/// Kafka produce errors by their `Errors` names, plus the client-side failures a record's
/// callback can see. The world maps its wire error codes onto these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProduceError {
    /// 2: CORRUPT_MESSAGE (retriable).
    CorruptMessage,
    /// 3: UNKNOWN_TOPIC_OR_PARTITION (retriable, invalid metadata).
    UnknownTopicOrPartition,
    /// 5: LEADER_NOT_AVAILABLE (retriable, invalid metadata).
    LeaderNotAvailable,
    /// 6: NOT_LEADER_OR_FOLLOWER (retriable, invalid metadata).
    NotLeaderOrFollower,
    /// 7: REQUEST_TIMED_OUT (retriable).
    RequestTimedOut,
    /// 10: MESSAGE_TOO_LARGE (split when >1 record, else fatal).
    MessageTooLarge,
    /// 13: NETWORK_EXCEPTION (retriable, invalid metadata).
    NetworkException,
    /// 18: RECORD_LIST_TOO_LARGE.
    RecordListTooLarge,
    /// 19: NOT_ENOUGH_REPLICAS (retriable).
    NotEnoughReplicas,
    /// 20: NOT_ENOUGH_REPLICAS_AFTER_APPEND (retriable).
    NotEnoughReplicasAfterAppend,
    /// 21: INVALID_REQUIRED_ACKS.
    InvalidRequiredAcks,
    /// 29: TOPIC_AUTHORIZATION_FAILED.
    TopicAuthorizationFailed,
    /// 45: OUT_OF_ORDER_SEQUENCE_NUMBER (idempotent: see `TransactionManager.canRetry`).
    OutOfOrderSequenceNumber,
    /// 46: DUPLICATE_SEQUENCE_NUMBER (legacy brokers; treated as success without offset).
    DuplicateSequenceNumber,
    /// 47: INVALID_PRODUCER_EPOCH.
    InvalidProducerEpoch,
    /// 51: CONCURRENT_TRANSACTIONS (retriable).
    ConcurrentTransactions,
    /// 56: KAFKA_STORAGE_ERROR (retriable, invalid metadata).
    KafkaStorageError,
    /// 59: UNKNOWN_PRODUCER_ID (idempotent: see `TransactionManager.canRetry`).
    UnknownProducerId,
    /// 74: FENCED_LEADER_EPOCH (retriable, invalid metadata).
    FencedLeaderEpoch,
    /// 87: INVALID_RECORD.
    InvalidRecord,
    /// Client side: `TimeoutException` from delivery-timeout expiry.
    DeliveryTimeout,
    /// Client side: `BufferExhaustedException` after `max.block.ms`.
    BufferExhausted,
    /// Client side: `RecordTooLargeException` (above `max.request.size`/`buffer.memory`, or a
    /// one-record batch rejected with MESSAGE_TOO_LARGE).
    RecordTooLarge,
    /// Client side: `KafkaException` from a forced close.
    ProducerClosedForcefully,
    /// Client side: `TransactionAbortedException`, a batch not sent because its transaction
    /// aborted.
    TransactionAborted,
}

impl ProduceError {
    /// Every error a broker can answer with (all but the client-side
    /// [`Self::DeliveryTimeout`]), in code order.
    pub const BROKER_ERRORS: [ProduceError; 20] = [
        ProduceError::CorruptMessage,
        ProduceError::UnknownTopicOrPartition,
        ProduceError::LeaderNotAvailable,
        ProduceError::NotLeaderOrFollower,
        ProduceError::RequestTimedOut,
        ProduceError::MessageTooLarge,
        ProduceError::NetworkException,
        ProduceError::RecordListTooLarge,
        ProduceError::NotEnoughReplicas,
        ProduceError::NotEnoughReplicasAfterAppend,
        ProduceError::InvalidRequiredAcks,
        ProduceError::TopicAuthorizationFailed,
        ProduceError::OutOfOrderSequenceNumber,
        ProduceError::DuplicateSequenceNumber,
        ProduceError::InvalidProducerEpoch,
        ProduceError::ConcurrentTransactions,
        ProduceError::KafkaStorageError,
        ProduceError::UnknownProducerId,
        ProduceError::FencedLeaderEpoch,
        ProduceError::InvalidRecord,
    ];

    /// Whether the Java exception is a `RetriableException`.
    pub fn is_retriable(self) -> bool {
        use ProduceError::*;
        matches!(
            self,
            CorruptMessage
                | UnknownTopicOrPartition
                | LeaderNotAvailable
                | NotLeaderOrFollower
                | RequestTimedOut
                | NetworkException
                | NotEnoughReplicas
                | NotEnoughReplicasAfterAppend
                | ConcurrentTransactions
                | KafkaStorageError
                | FencedLeaderEpoch
        )
    }

    /// Whether the Java exception is an `InvalidMetadataException` (refresh metadata).
    pub fn invalidates_metadata(self) -> bool {
        use ProduceError::*;
        matches!(
            self,
            UnknownTopicOrPartition
                | LeaderNotAvailable
                | NotLeaderOrFollower
                | NetworkException
                | KafkaStorageError
                | FencedLeaderEpoch
        )
    }

    /// Kafka's name for the error (`Errors` constant or exception class).
    pub fn name(self) -> &'static str {
        use ProduceError::*;
        match self {
            CorruptMessage => "CORRUPT_MESSAGE",
            UnknownTopicOrPartition => "UNKNOWN_TOPIC_OR_PARTITION",
            LeaderNotAvailable => "LEADER_NOT_AVAILABLE",
            NotLeaderOrFollower => "NOT_LEADER_OR_FOLLOWER",
            RequestTimedOut => "REQUEST_TIMED_OUT",
            MessageTooLarge => "MESSAGE_TOO_LARGE",
            NetworkException => "NETWORK_EXCEPTION",
            RecordListTooLarge => "RECORD_LIST_TOO_LARGE",
            NotEnoughReplicas => "NOT_ENOUGH_REPLICAS",
            NotEnoughReplicasAfterAppend => "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
            InvalidRequiredAcks => "INVALID_REQUIRED_ACKS",
            TopicAuthorizationFailed => "TOPIC_AUTHORIZATION_FAILED",
            OutOfOrderSequenceNumber => "OUT_OF_ORDER_SEQUENCE_NUMBER",
            DuplicateSequenceNumber => "DUPLICATE_SEQUENCE_NUMBER",
            InvalidProducerEpoch => "INVALID_PRODUCER_EPOCH",
            ConcurrentTransactions => "CONCURRENT_TRANSACTIONS",
            KafkaStorageError => "KAFKA_STORAGE_ERROR",
            UnknownProducerId => "UNKNOWN_PRODUCER_ID",
            FencedLeaderEpoch => "FENCED_LEADER_EPOCH",
            InvalidRecord => "INVALID_RECORD",
            DeliveryTimeout => "TimeoutException",
            BufferExhausted => "BufferExhaustedException",
            RecordTooLarge => "RecordTooLargeException",
            ProducerClosedForcefully => "KafkaException(closed forcefully)",
            TransactionAborted => "TransactionAbortedException",
        }
    }
}

impl fmt::Display for ProduceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether sequence numbers should be adjusted after a failure (`failBatch(.., adjust)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdjustSequences {
    /// `attempts < retries`: the failure was not from running out of retries.
    Yes,
    /// Retries were exhausted (or the batch expired).
    No,
}

/// What `completeBatch` does with a response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Complete the batch successfully.
    Success,
    /// Legacy `DUPLICATE_SEQUENCE_NUMBER`: complete successfully with offset -1.
    SuccessDuplicateNoOffset,
    /// Re-enqueue for another attempt.
    Retry,
    /// Split into smaller batches and re-enqueue them (not a retry).
    Split,
    /// Fail the batch with this error.
    Fail {
        /// The error the callbacks see.
        error: ProduceError,
        /// Whether to adjust sequences (idempotent: request an epoch bump).
        adjust_sequences: AdjustSequences,
    },
}

/// Whether the batch's delivery timeout has passed (`hasReachedDeliveryTimeout`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryDeadline {
    /// Still within `delivery.timeout.ms` of creation.
    Pending,
    /// `delivery.timeout.ms` has passed since creation.
    Reached,
}

/// The retry verdict of the producer's mode: `RetriableException` when not idempotent,
/// `TransactionManager.canRetry` when idempotent (computed by the caller, since it has side
/// effects).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModeRetryVerdict {
    /// The mode allows a retry.
    Retriable,
    /// The mode does not allow a retry.
    NotRetriable,
}

/// Everything `completeBatch` looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompletionInput {
    /// The partition's error, `None` for success.
    pub error: Option<ProduceError>,
    /// Records in the batch.
    pub record_count: u32,
    /// The batch's attempts so far.
    pub attempts: u32,
    /// The `retries` config.
    pub retries: u32,
    /// Whether `delivery.timeout.ms` has passed.
    pub deadline: DeliveryDeadline,
    /// Whether the batch is already done (expired or aborted while in flight).
    pub already_done: bool,
}

/// The first gate of `Sender.canRetry`, before the mode's own verdict is consulted:
/// `¬deliveryTimeoutReached ∧ attempts < retries ∧ ¬done`. Kafka evaluates the mode's verdict
/// (with its side effects) only when this is true.
pub fn retry_gate_open(input: &CompletionInput) -> bool {
    input.deadline == DeliveryDeadline::Pending
        && input.attempts < input.retries
        && !input.already_done
}

/// Whether the response is a split (`MESSAGE_TOO_LARGE` with more than one record, not done).
pub fn is_split(input: &CompletionInput) -> bool {
    input.error == Some(ProduceError::MessageTooLarge)
        && input.record_count > 1
        && !input.already_done
}

/// `Sender.completeBatch` as a pure decision. `mode_verdict` is only read when
/// [`retry_gate_open`] is true.
pub fn decide(input: &CompletionInput, mode_verdict: ModeRetryVerdict) -> Decision {
    let Some(error) = input.error else {
        return Decision::Success;
    };
    if is_split(input) {
        return Decision::Split;
    }
    if retry_gate_open(input) && mode_verdict == ModeRetryVerdict::Retriable {
        return Decision::Retry;
    }
    if error == ProduceError::DuplicateSequenceNumber {
        return Decision::SuccessDuplicateNoOffset;
    }
    let error = match error {
        ProduceError::MessageTooLarge => ProduceError::RecordTooLarge,
        other => other,
    };
    let adjust_sequences = if input.attempts < input.retries {
        AdjustSequences::Yes
    } else {
        AdjustSequences::No
    };
    Decision::Fail {
        error,
        adjust_sequences,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(error: Option<ProduceError>) -> CompletionInput {
        CompletionInput {
            error,
            record_count: 3,
            attempts: 0,
            retries: i32::MAX as u32,
            deadline: DeliveryDeadline::Pending,
            already_done: false,
        }
    }

    #[test]
    fn complete_batch_success_on_no_error() {
        assert_eq!(
            decide(&input(None), ModeRetryVerdict::NotRetriable),
            Decision::Success
        );
    }

    #[test]
    fn complete_batch_splits_message_too_large_with_more_than_one_record() {
        let i = input(Some(ProduceError::MessageTooLarge));
        assert_eq!(decide(&i, ModeRetryVerdict::NotRetriable), Decision::Split);
        let single = CompletionInput {
            record_count: 1,
            ..i
        };
        assert_eq!(
            decide(&single, ModeRetryVerdict::NotRetriable),
            Decision::Fail {
                error: ProduceError::RecordTooLarge,
                adjust_sequences: AdjustSequences::Yes
            }
        );
    }

    #[test]
    fn complete_batch_retries_retriable_errors_within_retries_and_deadline() {
        let i = input(Some(ProduceError::NotLeaderOrFollower));
        assert_eq!(decide(&i, ModeRetryVerdict::Retriable), Decision::Retry);
        let late = CompletionInput {
            deadline: DeliveryDeadline::Reached,
            ..i
        };
        assert!(matches!(
            decide(&late, ModeRetryVerdict::Retriable),
            Decision::Fail { .. }
        ));
        let out_of_retries = CompletionInput {
            attempts: 2,
            retries: 2,
            ..i
        };
        assert_eq!(
            decide(&out_of_retries, ModeRetryVerdict::Retriable),
            Decision::Fail {
                error: ProduceError::NotLeaderOrFollower,
                adjust_sequences: AdjustSequences::No
            }
        );
    }

    #[test]
    fn complete_batch_treats_legacy_duplicate_sequence_as_success_without_offset() {
        let i = input(Some(ProduceError::DuplicateSequenceNumber));
        assert_eq!(
            decide(&i, ModeRetryVerdict::NotRetriable),
            Decision::SuccessDuplicateNoOffset
        );
    }

    #[test]
    fn complete_batch_never_retries_a_batch_that_is_already_done() {
        let i = CompletionInput {
            already_done: true,
            ..input(Some(ProduceError::RequestTimedOut))
        };
        assert!(matches!(
            decide(&i, ModeRetryVerdict::Retriable),
            Decision::Fail { .. }
        ));
    }

    #[test]
    fn retriable_exception_classes_match_kafka() {
        assert!(ProduceError::NotEnoughReplicas.is_retriable());
        assert!(ProduceError::FencedLeaderEpoch.invalidates_metadata());
        assert!(!ProduceError::OutOfOrderSequenceNumber.is_retriable());
        assert!(!ProduceError::UnknownProducerId.is_retriable());
        assert!(!ProduceError::RequestTimedOut.invalidates_metadata());
    }
}
