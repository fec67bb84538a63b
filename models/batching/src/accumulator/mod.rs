//! `RecordAccumulator`: per-partition queues of batches, append, ready, drain, completion,
//! expiry, flush and close, with the buffer pool, the sticky partitioner and the idempotent
//! sequence state it drives.
//!
//! Fidelity: `RecordAccumulator.java` plus the parts of `Sender.java` that decide a batch's
//! fate (`completeBatch`, `canRetry`, `failBatch`, the expiry scan, muting, the in-flight
//! lists) and the size check of `KafkaProducer.doSend`. See the crate doc for the call
//! protocol and the submodules for each rule.
//!
//! Units: all times are caller nanoseconds (`_ns`); record timestamps are milliseconds, as in
//! the wire format.

mod append;
mod complete;
mod drain;
mod lifecycle;
mod ready;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::backoff::ExponentialBackoff;
use crate::batch::{BatchCompression, PendingRecord, ProducerBatch};
use crate::buffer_pool::{BufferPool, WaitTicket};
use crate::compression::{CodecWork, Compression, RatioEstimator};
use crate::idempotence::{IdempotenceState, SequencedBatch};
use crate::ids::{BatchId, NodeId, PartitionId};
use crate::metrics::AccumulatorMetrics;
use crate::partitioner::{BuiltInPartitioner, PartitionerConfig};

pub use append::{AbortOnNewBatch, AppendOutcome, AppendRequest, RecordMeta, SizeLimit};
pub use complete::{BatchResponse, CompletionOutcome};
pub use drain::{DrainedBatch, NodeBatches};
pub use ready::{NodeReadiness, ReadyCheck};

const MS: u64 = 1_000_000;

/// Whether the producer is idempotent (`enable.idempotence` after validation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Idempotence {
    /// No producer id, no sequences; retries follow `RetriableException`.
    Disabled,
    /// Producer id/epoch and per-partition sequences (`TransactionManager`, non-transactional).
    Enabled,
}

/// Which partitioner the producer uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartitionerMode {
    /// The built-in partitioner: murmur2 for keys, sticky (KIP-794) for null keys.
    BuiltIn,
    /// A custom `partitioner.class`: `append` returns `AbortForNewBatch` instead of opening a
    /// batch, so the caller can run `onNewBatch` and choose again.
    Custom,
}

/// The accumulator's settings, in the units of the core. The world maps the validated
/// `ProducerConfig` into this.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccumulatorConfig {
    /// `batch.size` (0 is treated as 1, like Kafka).
    pub batch_size_bytes: u32,
    /// `linger.ms`, in ns.
    pub linger_ns: u64,
    /// `buffer.memory`.
    pub buffer_memory_bytes: u64,
    /// `max.request.size`: the record size limit and the per-node drain cap.
    pub max_request_size_bytes: u32,
    /// `delivery.timeout.ms`, in ns, from batch creation.
    pub delivery_timeout_ns: u64,
    /// `request.timeout.ms`, in ns (carried for the sender; the core does not use it).
    pub request_timeout_ns: u64,
    /// `retry.backoff.ms`, in ns.
    pub retry_backoff_ns: u64,
    /// `retry.backoff.max.ms`, in ns.
    pub retry_backoff_max_ns: u64,
    /// `max.in.flight.requests.per.connection`; exactly 1 turns on partition muting.
    pub max_in_flight_requests_per_connection: u32,
    /// `retries`.
    pub retries: u32,
    /// Idempotence on or off.
    pub idempotence: Idempotence,
    /// The `partitioner.*` settings.
    pub partitioner: PartitionerConfig,
    /// Built-in or custom partitioner. Informational for the core: with `Custom` the caller
    /// chooses every partition itself and passes `AbortOnNewBatch::Yes` on the first try of
    /// each append (`KafkaProducer.doSend`), so the core never consults the sticky partitioner.
    pub partitioner_mode: PartitionerMode,
}

impl Default for AccumulatorConfig {
    /// The Kafka 4.x producer defaults.
    fn default() -> Self {
        AccumulatorConfig {
            batch_size_bytes: 16_384,
            linger_ns: 5 * MS,
            buffer_memory_bytes: 33_554_432,
            max_request_size_bytes: 1_048_576,
            delivery_timeout_ns: 120_000 * MS,
            request_timeout_ns: 30_000 * MS,
            retry_backoff_ns: 100 * MS,
            retry_backoff_max_ns: 1_000 * MS,
            max_in_flight_requests_per_connection: 5,
            retries: i32::MAX as u32,
            idempotence: Idempotence::Enabled,
            partitioner: PartitionerConfig::default(),
            partitioner_mode: PartitionerMode::BuiltIn,
        }
    }
}

/// One partition's queue of batches and its in-flight batches.
#[derive(Clone, Debug, Default)]
struct PartitionQueues {
    /// Whether the deque exists (Kafka creates it on first append and never removes it).
    created: bool,
    queued: VecDeque<ProducerBatch>,
    /// Drained and awaiting a response, in drain order (`Sender.inFlightBatches`).
    in_flight: Vec<ProducerBatch>,
    muted: bool,
}

/// `NodeLatencyStats`: when a node last had data ready and last could take it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct NodeLatencyStats {
    ready_at_ns: u64,
    drain_at_ns: u64,
}

/// An append blocked on buffer memory.
#[derive(Clone, Copy, Debug)]
struct PendingAppend {
    record: PendingRecord,
    partition: Option<PartitionId>,
}

/// The record accumulator. See the crate doc for the call protocol.
#[derive(Clone, Debug)]
pub struct RecordAccumulator {
    config: AccumulatorConfig,
    backoff: ExponentialBackoff,
    partitions: Vec<PartitionQueues>,
    /// Partitions that may have queued or in-flight batches: every partition that has some is
    /// here (a batch enters a deque only through `enqueued`), and `ready` drops those that have
    /// none. The passes that only look at such partitions (`ready`, expiry) walk this set instead
    /// of every partition, so their cost follows the partitions with data, not the topic's size.
    active: BTreeSet<u32>,
    created_deque_count: u32,
    partitioner: BuiltInPartitioner,
    pool: BufferPool,
    pending_appends: BTreeMap<WaitTicket, PendingAppend>,
    /// `nodesDrainIndex`, indexed by node id.
    drain_index: Vec<usize>,
    /// Reused buffer of `drain`: one node's partitions to visit.
    drain_scratch: Vec<usize>,
    /// Reused buffers of the adaptive-partitioning pass in `ready`.
    ready_scratch: ready::LoadStatsScratch,
    node_stats: BTreeMap<NodeId, NodeLatencyStats>,
    idempotence: Option<IdempotenceState>,
    /// In-flight batches that expired or were aborted while their request was outstanding:
    /// a late response still updates sequence bookkeeping and unmutes.
    zombies: Vec<SequencedBatch>,
    /// Buffers (pool bytes) still held by in-flight batches that expired: returned to the pool
    /// when their late response arrives (`Sender.failBatch` with `deallocateBatch = false`).
    held_by_expired: Vec<(BatchId, u64)>,
    flushes_in_progress: u32,
    /// A transactional producer's partitions that may be drained (`isSendToPartitionAllowed`);
    /// `None` for other producers.
    txn_partitions: Option<BTreeSet<PartitionId>>,
    closed: bool,
    next_batch_id: u64,
    metrics: AccumulatorMetrics,
    /// The codec, when batches are compressed.
    compression: Compression,
    /// `CompressionRatioEstimator` for the topic and codec.
    ratio_estimator: RatioEstimator,
    /// Bytes fed to the codec since the caller last took them.
    codec_work: CodecWork,
}

impl RecordAccumulator {
    /// An empty accumulator. `batch.size` 0 is raised to 1, as Kafka does.
    pub fn new(config: AccumulatorConfig) -> Self {
        let config = AccumulatorConfig {
            batch_size_bytes: config.batch_size_bytes.max(1),
            ..config
        };
        let idempotence = match config.idempotence {
            Idempotence::Disabled => None,
            Idempotence::Enabled => Some(IdempotenceState::new()),
        };
        RecordAccumulator {
            backoff: ExponentialBackoff::new(config.retry_backoff_ns, config.retry_backoff_max_ns),
            partitions: Vec::new(),
            active: BTreeSet::new(),
            created_deque_count: 0,
            partitioner: BuiltInPartitioner::new(config.batch_size_bytes),
            pool: BufferPool::new(
                config.buffer_memory_bytes,
                u64::from(config.batch_size_bytes),
            ),
            pending_appends: BTreeMap::new(),
            drain_index: Vec::new(),
            drain_scratch: Vec::new(),
            ready_scratch: ready::LoadStatsScratch::default(),
            node_stats: BTreeMap::new(),
            idempotence,
            zombies: Vec::new(),
            held_by_expired: Vec::new(),
            flushes_in_progress: 0,
            txn_partitions: None,
            closed: false,
            next_batch_id: 0,
            metrics: AccumulatorMetrics::default(),
            compression: Compression::None,
            ratio_estimator: RatioEstimator::default(),
            codec_work: CodecWork::default(),
            config,
        }
    }

    /// Sets how batches are compressed (`compression.type` with the caller's measured codec).
    /// Call before the first append.
    pub fn set_compression(&mut self, compression: Compression) {
        self.compression = compression;
    }

    /// How batches are compressed.
    pub fn compression(&self) -> &Compression {
        &self.compression
    }

    /// The topic's `CompressionRatioEstimator` value for the codec.
    pub fn ratio_estimator(&self) -> RatioEstimator {
        self.ratio_estimator
    }

    /// The bytes fed to the codec since the last call, and resets them. Take them after each
    /// call to charge the thread that made it: `append` and `resume_append` run on the
    /// application thread; `drain` and `complete` (splits) on the sender.
    pub fn take_codec_work(&mut self) -> CodecWork {
        std::mem::take(&mut self.codec_work)
    }

    /// The compression mode of a batch created now: the estimate is read at creation.
    fn new_batch_compression(&self) -> BatchCompression {
        match &self.compression {
            Compression::None => BatchCompression::None,
            Compression::Codec(codec) => BatchCompression::Codec {
                ratio_bits: self.ratio_estimator.estimate().to_bits(),
                buffer_bytes: codec.stream_buffer_bytes(),
            },
        }
    }

    /// Adds bytes fed to the codec by the current call.
    #[inline(always)]
    fn add_codec_input(&mut self, bytes: u32) {
        self.codec_work.compressed_input_bytes += u64::from(bytes);
    }

    /// The settings in force.
    pub fn config(&self) -> &AccumulatorConfig {
        &self.config
    }

    /// The buffer pool (for its gauges and counters).
    pub fn pool(&self) -> &BufferPool {
        &self.pool
    }

    /// Pool memory still held by in-flight batches that expired, until their late responses
    /// arrive.
    pub fn expired_in_flight_buffer_bytes(&self) -> u64 {
        self.held_by_expired.iter().map(|&(_, bytes)| bytes).sum()
    }

    /// The accumulator's counters.
    pub fn metrics(&self) -> AccumulatorMetrics {
        self.metrics
    }

    /// The idempotent state, when idempotence is on.
    pub fn idempotence(&self) -> Option<&IdempotenceState> {
        self.idempotence.as_ref()
    }

    /// Whether partitions are muted while a batch is in flight (`max.in.flight == 1`,
    /// `guaranteeMessageOrder`).
    pub fn guarantees_message_order(&self) -> bool {
        self.config.max_in_flight_requests_per_connection == 1
    }

    /// The partition's queues, creating its deque on first use (`getOrCreateDeque`).
    fn queues_mut(&mut self, partition: PartitionId) -> &mut PartitionQueues {
        let index = partition.0 as usize;
        if !self.partitions.get(index).is_some_and(|q| q.created) {
            self.create_deque(index);
        }
        &mut self.partitions[index]
    }

    /// Kept out of `queues_mut`, which runs on every append: a deque is created once.
    #[cold]
    fn create_deque(&mut self, index: usize) {
        if self.partitions.len() <= index {
            self.partitions
                .resize_with(index + 1, PartitionQueues::default);
        }
        let queues = &mut self.partitions[index];
        if !queues.created {
            queues.created = true;
            self.created_deque_count += 1;
        }
    }

    /// Notes that `partition`'s deque just received a batch (see `active`).
    fn enqueued(&mut self, partition: PartitionId) {
        self.active.insert(partition.0);
    }

    fn queues(&self, partition: PartitionId) -> Option<&PartitionQueues> {
        self.partitions.get(partition.0 as usize)
    }

    fn next_batch_id(&mut self) -> BatchId {
        let id = BatchId(self.next_batch_id);
        self.next_batch_id += 1;
        id
    }

    /// Queued (undrained) batches of `partition`, head first.
    pub fn queued_batches(&self, partition: PartitionId) -> impl Iterator<Item = &ProducerBatch> {
        self.queues(partition)
            .into_iter()
            .flat_map(|q| q.queued.iter())
    }

    /// In-flight batches of `partition`, in drain order.
    pub fn in_flight_batches(&self, partition: PartitionId) -> &[ProducerBatch] {
        self.queues(partition)
            .map_or(&[], |q| q.in_flight.as_slice())
    }

    /// One in-flight batch, to build the produce request from its records.
    pub fn in_flight_batch(
        &self,
        partition: PartitionId,
        batch_id: BatchId,
    ) -> Option<&ProducerBatch> {
        self.in_flight_batches(partition)
            .iter()
            .find(|b| b.id == batch_id)
    }

    /// Whether any batch is queued and not yet drained (`hasUndrained`).
    pub fn has_undrained(&self) -> bool {
        self.active_queues().any(|q| !q.queued.is_empty())
    }

    /// Whether any batch is incomplete, queued or in flight (`hasIncomplete`).
    pub fn has_incomplete(&self) -> bool {
        self.active_queues()
            .any(|q| !q.queued.is_empty() || !q.in_flight.is_empty())
    }

    /// The queues of the partitions in `active`, in partition order (a superset of those with
    /// queued or in-flight batches).
    fn active_queues(&self) -> impl Iterator<Item = &PartitionQueues> {
        self.active
            .iter()
            .map(|&index| &self.partitions[index as usize])
    }

    /// Ids of every incomplete batch (queued or in flight), partition by partition.
    pub fn incomplete_batch_ids(&self) -> Vec<BatchId> {
        let mut ids = Vec::new();
        for queues in &self.partitions {
            ids.extend(queues.in_flight.iter().map(|b| b.id));
            ids.extend(queues.queued.iter().map(|b| b.id));
        }
        ids
    }

    /// Mutes a partition: ready() and drain() skip it until unmuted.
    pub fn mute(&mut self, partition: PartitionId) {
        self.queues_mut(partition).muted = true;
    }

    /// Unmutes a partition.
    pub fn unmute(&mut self, partition: PartitionId) {
        if let Some(queues) = self.partitions.get_mut(partition.0 as usize) {
            queues.muted = false;
        }
    }

    /// Whether a partition is muted.
    pub fn is_muted(&self, partition: PartitionId) -> bool {
        self.queues(partition).is_some_and(|q| q.muted)
    }

    /// Tickets of blocked appends that can now be resumed (memory arrived, or the producer
    /// closed), in FIFO order. Call after anything that frees memory: `complete`, `expire`,
    /// `abort_incomplete_batches`, `resume_append`, `close`.
    pub fn take_woken_waiters(&mut self) -> Vec<WaitTicket> {
        self.pool.take_woken()
    }

    fn deallocate(&mut self, batch: &ProducerBatch, now_ns: u64) {
        if batch.buffer_origin == crate::batch::BufferOrigin::Pool {
            self.pool.deallocate(u64::from(batch.buffer_bytes), now_ns);
        }
    }

    fn sequenced(batch: &ProducerBatch) -> SequencedBatch {
        SequencedBatch {
            batch_id: batch.id,
            partition: batch.partition,
            producer_id_and_epoch: batch.producer_state,
            base_sequence: batch.base_sequence,
            record_count: batch.record_count(),
            sequence_has_been_reset: batch.sequence_has_been_reset,
        }
    }
}
