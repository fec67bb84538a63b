//! Identifiers and the messages that cross the simulated network.
//!
//! The producer side and the broker side share only these types: a produce request carries
//! record batches in the shape of Kafka's record batch v2 (producer id, epoch, base sequence,
//! records), a produce response carries one result per partition with Kafka's error codes.
//! Records carry the application's [`RecordId`], so the checker can find each sent record in the
//! brokers' final logs.

/// A broker, numbered from 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BrokerId(pub u32);

/// A partition of the one simulated topic, numbered from 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PartitionId(pub u32);

/// The application's identity for one `send()`: its index in send order, from 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordId(pub u64);

/// A producer session's id as assigned by InitProducerId (`-1` when not idempotent).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProducerId(pub i64);

impl ProducerId {
    /// No producer id: a non-idempotent producer.
    pub const NONE: ProducerId = ProducerId(-1);
}

/// A leader epoch of a partition, raised on each election.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LeaderEpoch(pub u32);

/// A node on the simulated network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Node {
    /// The producer client.
    Client,
    /// A broker.
    Broker(BrokerId),
}

/// Kafka protocol error codes that the simulated brokers and network can produce
/// (names and numbers as in `org.apache.kafka.common.protocol.Errors`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorCode {
    /// 0: success.
    None,
    /// 3: the partition is unknown to this broker.
    UnknownTopicOrPartition,
    /// 5: no leader right now.
    LeaderNotAvailable,
    /// 6: this broker does not lead the partition.
    NotLeaderOrFollower,
    /// 7: the broker's purgatory (acks=all) timed out; the data was written.
    RequestTimedOut,
    /// 10: the batch is larger than `max.message.bytes`.
    MessageTooLarge,
    /// 13: client-side: the connection was lost or the request timed out on the client.
    NetworkException,
    /// 19: ISR below min.insync.replicas before append; nothing was written.
    NotEnoughReplicas,
    /// 20: ISR fell below min.insync.replicas after append; the data was written.
    NotEnoughReplicasAfterAppend,
    /// 45: the broker expected a different sequence number.
    OutOfOrderSequenceNumber,
    /// 47: the producer epoch is older than the broker's.
    InvalidProducerEpoch,
    /// 59: the broker has no state for this producer id.
    UnknownProducerId,
    /// 56: the broker could not read or write the log's disk.
    KafkaStorageError,
    /// 87: the broker refused a record of the batch (it fails; nothing is written).
    InvalidRecord,
}

impl ErrorCode {
    /// Every code, in the order of Kafka's numbers.
    pub const ALL: [ErrorCode; 14] = [
        ErrorCode::None,
        ErrorCode::UnknownTopicOrPartition,
        ErrorCode::LeaderNotAvailable,
        ErrorCode::NotLeaderOrFollower,
        ErrorCode::RequestTimedOut,
        ErrorCode::MessageTooLarge,
        ErrorCode::NetworkException,
        ErrorCode::NotEnoughReplicas,
        ErrorCode::NotEnoughReplicasAfterAppend,
        ErrorCode::OutOfOrderSequenceNumber,
        ErrorCode::InvalidProducerEpoch,
        ErrorCode::KafkaStorageError,
        ErrorCode::UnknownProducerId,
        ErrorCode::InvalidRecord,
    ];

    /// Kafka's numeric code.
    pub fn code(self) -> i16 {
        match self {
            ErrorCode::None => 0,
            ErrorCode::UnknownTopicOrPartition => 3,
            ErrorCode::LeaderNotAvailable => 5,
            ErrorCode::NotLeaderOrFollower => 6,
            ErrorCode::RequestTimedOut => 7,
            ErrorCode::MessageTooLarge => 10,
            ErrorCode::NetworkException => 13,
            ErrorCode::NotEnoughReplicas => 19,
            ErrorCode::NotEnoughReplicasAfterAppend => 20,
            ErrorCode::OutOfOrderSequenceNumber => 45,
            ErrorCode::InvalidProducerEpoch => 47,
            ErrorCode::UnknownProducerId => 59,
            ErrorCode::KafkaStorageError => 56,
            ErrorCode::InvalidRecord => 87,
        }
    }

    /// Kafka's constant name, e.g. `NOT_LEADER_OR_FOLLOWER`.
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::None => "NONE",
            ErrorCode::UnknownTopicOrPartition => "UNKNOWN_TOPIC_OR_PARTITION",
            ErrorCode::LeaderNotAvailable => "LEADER_NOT_AVAILABLE",
            ErrorCode::NotLeaderOrFollower => "NOT_LEADER_OR_FOLLOWER",
            ErrorCode::RequestTimedOut => "REQUEST_TIMED_OUT",
            ErrorCode::MessageTooLarge => "MESSAGE_TOO_LARGE",
            ErrorCode::NetworkException => "NETWORK_EXCEPTION",
            ErrorCode::NotEnoughReplicas => "NOT_ENOUGH_REPLICAS",
            ErrorCode::NotEnoughReplicasAfterAppend => "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
            ErrorCode::OutOfOrderSequenceNumber => "OUT_OF_ORDER_SEQUENCE_NUMBER",
            ErrorCode::InvalidProducerEpoch => "INVALID_PRODUCER_EPOCH",
            ErrorCode::UnknownProducerId => "UNKNOWN_PRODUCER_ID",
            ErrorCode::KafkaStorageError => "KAFKA_STORAGE_ERROR",
            ErrorCode::InvalidRecord => "INVALID_RECORD",
        }
    }

    /// Whether the Java client treats this as a `RetriableException` (facts file §4.2).
    pub fn is_retriable(self) -> bool {
        matches!(
            self,
            ErrorCode::UnknownTopicOrPartition
                | ErrorCode::LeaderNotAvailable
                | ErrorCode::NotLeaderOrFollower
                | ErrorCode::RequestTimedOut
                | ErrorCode::NetworkException
                | ErrorCode::NotEnoughReplicas
                | ErrorCode::NotEnoughReplicasAfterAppend
                | ErrorCode::KafkaStorageError
        )
    }

    /// Whether the client must refresh metadata after this error (`InvalidMetadataException`).
    pub fn invalidates_metadata(self) -> bool {
        matches!(
            self,
            ErrorCode::UnknownTopicOrPartition
                | ErrorCode::LeaderNotAvailable
                | ErrorCode::NotLeaderOrFollower
                | ErrorCode::NetworkException
                | ErrorCode::KafkaStorageError
        )
    }
}

/// `acks` as sent in a produce request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Acks {
    /// `acks=0`: no response.
    None,
    /// `acks=1`: the leader's append.
    Leader,
    /// `acks=all` (-1): the whole ISR, subject to min.insync.replicas.
    All,
}

/// One record as it travels in a batch and lies in a log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WireRecord {
    /// The application's id of the `send()` that made it.
    pub id: RecordId,
    /// Its size in the batch, in bytes.
    pub size_bytes: u32,
}

/// One record batch in a produce request (record batch v2, uncompressed sizes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireBatch {
    /// Target partition.
    pub partition: PartitionId,
    /// Producer id, or [`ProducerId::NONE`].
    pub producer_id: ProducerId,
    /// Producer epoch (`-1` when not idempotent).
    pub producer_epoch: i16,
    /// Sequence of the first record (`-1` when not idempotent).
    pub base_sequence: i32,
    /// The records, in order.
    pub records: Vec<WireRecord>,
    /// Size of the whole batch in bytes (61-byte header included).
    pub size_bytes: u32,
    /// The producer's id for this batch, echoed in the response (for tracing and teaching).
    pub batch_tag: u64,
    /// The record batch's transactional attribute: written inside a transaction.
    pub transactional: bool,
}

impl WireBatch {
    /// Sequence of the last record, or `-1` when not idempotent.
    pub fn last_sequence(&self) -> i32 {
        if self.base_sequence < 0 {
            return -1;
        }
        let count = i32::try_from(self.records.len()).expect("batch holds fewer than 2^31 records");
        // Sequences wrap at i32::MAX to 0, as in DefaultRecordBatch.incrementSequence.
        ((i64::from(self.base_sequence) + i64::from(count) - 1) % (i64::from(i32::MAX) + 1)) as i32
    }
}

/// A produce request: all batches drained for one node in one sender pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProduceRequest {
    /// Client-assigned correlation id, unique per run.
    pub correlation_id: u64,
    /// Required acks.
    pub acks: Acks,
    /// The broker's purgatory timeout (the client's `request.timeout.ms`), in ns.
    pub timeout_ns: u64,
    /// At most one batch per partition.
    pub batches: Vec<WireBatch>,
}

/// The result for one partition of a produce request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionResponse {
    /// Which partition.
    pub partition: PartitionId,
    /// The outcome.
    pub error: ErrorCode,
    /// Base offset of the batch in the log (the original offset for a duplicate), or -1.
    pub base_offset: i64,
    /// Log start offset, or -1 (used by UNKNOWN_PRODUCER_ID handling).
    pub log_start_offset: i64,
    /// KIP-951 hint: the current leader when `error` is NOT_LEADER_OR_FOLLOWER.
    pub current_leader: Option<(BrokerId, LeaderEpoch)>,
    /// The producer's batch tag echoed back.
    pub batch_tag: u64,
}

/// A produce response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProduceResponse {
    /// The request's correlation id.
    pub correlation_id: u64,
    /// One entry per batch of the request.
    pub partitions: Vec<PartitionResponse>,
}

/// Leadership of one partition as the producer's metadata knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartitionMetadata {
    /// Which partition.
    pub partition: PartitionId,
    /// Its leader, if any.
    pub leader: Option<BrokerId>,
    /// The leader epoch.
    pub leader_epoch: LeaderEpoch,
}

/// A metadata response: the leaders of every partition of the topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetadataResponse {
    /// One entry per partition, in partition order.
    pub partitions: Vec<PartitionMetadata>,
}

/// Everything that crosses the network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// Client to broker.
    ProduceRequest(ProduceRequest),
    /// Broker to client.
    ProduceResponse(ProduceResponse),
    /// Client to broker: send me the current metadata.
    MetadataRequest {
        /// Correlation id.
        correlation_id: u64,
    },
    /// Broker to client.
    MetadataResponse(MetadataResponse),
    /// Client to broker: InitProducerId (idempotent producer without a transactional id).
    InitProducerIdRequest {
        /// Correlation id.
        correlation_id: u64,
    },
    /// Client to broker: the first request on a new connection (`NetworkClient` asks which
    /// API versions the broker supports before anything else).
    ApiVersionsRequest {
        /// Correlation id.
        correlation_id: u64,
    },
    /// Broker to client.
    ApiVersionsResponse {
        /// Correlation id.
        correlation_id: u64,
    },
    /// Broker to client.
    InitProducerIdResponse {
        /// Correlation id.
        correlation_id: u64,
        /// The assigned producer id.
        producer_id: ProducerId,
        /// The assigned epoch.
        epoch: i16,
    },
    /// Client to broker: a transactional request (FindCoordinator, InitProducerId with a
    /// transactional id, AddPartitionsToTxn, EndTxn).
    TxnRequest {
        /// Correlation id.
        correlation_id: u64,
        /// The request.
        request: TxnWireRequest,
    },
    /// Broker to client: the answer to a [`Message::TxnRequest`].
    TxnResponse {
        /// Correlation id.
        correlation_id: u64,
        /// The answer.
        response: TxnWireResponse,
    },
}

/// A transactional request as it crosses the network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxnWireRequest {
    /// FindCoordinator(TRANSACTION, key).
    FindCoordinator {
        /// The transactional id.
        transactional_id: String,
    },
    /// InitProducerId with a transactional id.
    InitProducerId {
        /// The transactional id.
        transactional_id: String,
        /// `transaction.timeout.ms`.
        timeout_ms: i32,
        /// The producer id and epoch to bump, if any.
        bump_from: Option<(ProducerId, i16)>,
    },
    /// AddPartitionsToTxn.
    AddPartitions {
        /// The transactional id.
        transactional_id: String,
        /// Producer id and epoch.
        producer: (ProducerId, i16),
        /// The partitions.
        partitions: Vec<PartitionId>,
    },
    /// EndTxn.
    EndTxn {
        /// The transactional id.
        transactional_id: String,
        /// Producer id and epoch.
        producer: (ProducerId, i16),
        /// Commit (true) or abort.
        commit: bool,
    },
}

/// The answer to a transactional request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxnWireResponse {
    /// FindCoordinator: the coordinator, or none available.
    FindCoordinator {
        /// The coordinator's broker.
        coordinator: Option<BrokerId>,
    },
    /// InitProducerId.
    InitProducerId {
        /// The error, or `NONE`.
        error: crate::batching::transactions::TxnError,
        /// The producer id and epoch assigned.
        producer: (ProducerId, i16),
    },
    /// AddPartitionsToTxn (one error for the request).
    AddPartitions {
        /// The error, or `NONE`.
        error: crate::batching::transactions::TxnError,
    },
    /// EndTxn; under transaction version 2 with the epoch to continue with.
    EndTxn {
        /// The error, or `NONE`.
        error: crate::batching::transactions::TxnError,
        /// The producer id and epoch to continue with.
        producer: (ProducerId, i16),
    },
}

impl Message {
    /// Approximate size on the wire in bytes, for bandwidth and serialisation delay.
    pub fn size_bytes(&self) -> u64 {
        // Request/response headers are small next to record data; these constants follow the
        // order of magnitude of Kafka's v9+ produce headers.
        match self {
            Message::ProduceRequest(r) => {
                64 + r
                    .batches
                    .iter()
                    .map(|b| u64::from(b.size_bytes) + 16)
                    .sum::<u64>()
            }
            Message::ProduceResponse(r) => 32 + 48 * r.partitions.len() as u64,
            Message::MetadataRequest { .. } | Message::InitProducerIdRequest { .. } => 48,
            Message::MetadataResponse(r) => 64 + 24 * r.partitions.len() as u64,
            Message::InitProducerIdResponse { .. } => 48,
            // ApiVersions v3+: the request names the client software; the response lists
            // about 70 APIs of 7 bytes each.
            Message::ApiVersionsRequest { .. } => 64,
            Message::ApiVersionsResponse { .. } => 512,
            Message::TxnRequest { request, .. } => match request {
                TxnWireRequest::AddPartitions { partitions, .. } => {
                    64 + 4 * partitions.len() as u64
                }
                _ => 64,
            },
            Message::TxnResponse { .. } => 48,
        }
    }
}
