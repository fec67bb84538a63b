//! The real Kafka producer batching core, sans-IO.
//!
//! This crate makes the same decisions as the Apache Kafka Java producer's
//! `clients/.../producer/internals` (record accumulator, buffer pool, built-in partitioner,
//! idempotent sequencing) and its `ProducerConfig` validation. It uses `std` only: it never
//! imports the engine, an RNG crate or a clock. Time comes in as a value, randomness comes in
//! through a caller-supplied source, and every call that can make something ready later says
//! when to look again.
//!
//! # API overview
//!
//! Units: time is `u64` nanoseconds of the caller's clock (`now_ns`, `*_at_ns`, `*_ns`); record
//! timestamps are milliseconds; sizes are bytes (`*_bytes`). One topic is modelled; partitions
//! are [`PartitionId`]s, brokers [`NodeId`]s. Randomness (sticky partition draws, backoff
//! jitter) comes from the caller's [`Entropy`].
//!
//! ```text
//!  main thread                      RecordAccumulator                      sender
//!  ───────────                      ─────────────────                      ──────
//!  append(AppendRequest) ─────────► queues: partition → VecDeque<ProducerBatch>
//!    Appended{batch_is_full,new_batch}  (wake the sender if either)
//!    MustWait{ticket,deadline} ···► BufferPool FIFO ··· take_woken_waiters() ··► resume_append(ticket)
//!                                                        on_sender_loop_start() ◄── (idempotent: pid/epoch)
//!                                                        ready(now, cluster) ◄──── ReadyCheck{ready_nodes,
//!                                                                                   next_check_at_ns, unknown…}
//!                                                        drain(now, cluster, nodes) ─► NodeBatches (1 request/node)
//!                                                           batches move in flight; in_flight_batch() has records
//!                                                        complete(BatchResponse) ─► Done | Retried | Split | LateResponse
//!                                                        expire(now) ─► expired batches; next_expiry_at_ns()
//!  flush: begin_flush() → incomplete ids … end_flush();  close(); abort_incomplete_batches(now)
//! ```
//!
//! The sender's poll timeout is `min(ready.next_check_at_ns, next_expiry_at_ns(), …)`.
//! Muting for `max.in.flight == 1` is automatic: drain mutes, completion unmutes.
//!
//! Modules: [`sizes`] (v2 size arithmetic), [`murmur2`] (keyed partitioning), [`partitioner`]
//! (KIP-794 sticky partitioner settings), [`buffer_pool`], [`batch`] (`ProducerBatch`),
//! [`accumulator`], [`idempotence`] (`TransactionManager` for the idempotent producer),
//! [`completion`] (`Sender.completeBatch` as a pure decision), [`backoff`], [`metrics`],
//! [`bench_support`].
//!
//! # Fidelity
//!
//! Follows Kafka 4.x (`RecordAccumulator`, `ProducerBatch`, `BufferPool`,
//! `BuiltInPartitioner`, `TransactionManager`, `TxnPartitionEntry`, `MemoryRecordsBuilder`,
//! `DefaultRecord`, `Utils.murmur2`, `ExponentialBackoff`, the decision parts of `Sender`).
//! Simplifications, each documented where it applies:
//! - compression is modelled by its sizes and the decisions made with them ([`compression`]):
//!   the caller supplies the codec's measured output sizes, the core compresses no byte;
//! - one topic; the transactional state machine is in [`transactions`] (no
//!   `sendOffsetsToTransaction`);
//! - backoff jitter is drawn once per retry instead of on every check, in integer ns;
//! - blocked appends are resumed by the caller instead of being woken threads.
//!
//! # Tests
//!
//! Unit tests sit next to each rule and name the Kafka behaviour they check.
//! `tests/scripts.rs` runs the accumulator through a small text DSL
//! (`t=5ms ready -> [n1]`); `tests/invariants.rs` checks invariants with proptest and by
//! exhaustive enumeration of short operation sequences; `tests/differential.rs` compares the
//! accumulator with a naive reference model. `cargo bench -p batching` measures the hot path.

#![deny(missing_docs)]

pub mod accumulator;
pub mod backoff;
pub mod batch;
pub mod bench_support;
pub mod buffer_pool;
pub mod cluster;
pub mod completion;
pub mod compression;
pub mod config;
pub mod entropy;
pub mod idempotence;
pub mod ids;
pub mod metrics;
pub mod murmur2;
pub mod partitioner;
pub mod sizes;
pub mod transactions;

pub use accumulator::{
    AbortOnNewBatch, AccumulatorConfig, AppendOutcome, AppendRequest, BatchResponse,
    CompletionOutcome, DrainedBatch, Idempotence, NodeBatches, NodeReadiness, PartitionerMode,
    ReadyCheck, RecordAccumulator, RecordMeta, SizeLimit,
};
pub use batch::{BatchRecord, BufferOrigin, FinalState, ProducerBatch};
pub use buffer_pool::WaitTicket;
pub use cluster::{ClusterView, PartitionMetadata};
pub use completion::ProduceError;
pub use entropy::Entropy;
pub use idempotence::ProducerIdAction;
pub use ids::{BatchId, NodeId, PartitionId, ProducerIdAndEpoch, RecordId};
pub use partitioner::PartitionerConfig;
