//! `append`: put a record into the last batch of its partition or open a new batch, blocking
//! on buffer memory in virtual time when needed.
//!
//! Fidelity: `KafkaProducer.doSend` step 8 (size check against `max.request.size` and
//! `buffer.memory` with the upper-bound estimate) and `RecordAccumulator.append` /
//! `tryAppend` / `appendNewBatch` / `partitionChanged`, including the sticky partitioner's
//! produced-bytes update and the custom-partitioner abort-for-new-batch step.
//!
//! Append state machine (one call per `send()`):
//!
//! ```text
//!   append ─► closed? ─────────────────────────────────────────────► Closed
//!          ─► upper bound > max.request.size or buffer.memory ─────► RecordTooLarge
//!          ─► fits the partition's last batch ─────────────────────► Appended{new_batch: false}
//!          ─► custom partitioner ──────────────────────────────────► AbortForNewBatch
//!          ─► buffer allocated ─► new batch at the deque's tail ───► Appended{new_batch: true}
//!          ─► no memory ───────────────────────────────────────────► MustWait{ticket, deadline}
//!   MustWait ─(ticket reported by take_woken_waiters)─► resume_append ─► Appended | Closed
//!   MustWait ─(deadline reached)─────────────────────► resume_append ─► BufferExhausted
//! ```
//! While any append waits, every partition counts as ready (memory exhausted).

use super::{PendingAppend, RecordAccumulator};
use crate::batch::{Appended, BatchSizing, BufferOrigin, PendingRecord, ProducerBatch};
use crate::buffer_pool::{Allocation, PoolError, WaitTicket, WaiterState};
use crate::cluster::ClusterView;
use crate::entropy::Entropy;
use crate::ids::{BatchId, PartitionId, RecordId};
use crate::murmur2::partition_for_key;
use crate::partitioner::SwitchPolicy;
use crate::sizes::RecordShape;

/// What the core needs to know about one record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordMeta<'a> {
    /// The application's record id (opaque).
    pub id: RecordId,
    /// The serialized key, `None` for a null key. Only its hash and length are used.
    pub key: Option<&'a [u8]>,
    /// Value length in bytes, `None` for a null value.
    pub value_bytes: Option<u32>,
    /// Number of headers.
    pub header_count: u32,
    /// Sum of encoded header sizes (see `sizes::header_size_in_bytes`).
    pub headers_bytes: u32,
    /// The record's own timestamp in ms; `None` means "now" (CreateTime).
    pub timestamp_ms: Option<i64>,
}

/// Whether a custom partitioner wants to be asked again before a new batch opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AbortOnNewBatch {
    /// Return `AbortForNewBatch` instead of opening a batch (first try, custom partitioner).
    Yes,
    /// Open a batch when needed.
    No,
}

/// One `send()`'s append.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppendRequest<'a> {
    /// The current time.
    pub now_ns: u64,
    /// The record.
    pub record: RecordMeta<'a>,
    /// An explicit partition (the record's own, or a custom partitioner's choice); `None`
    /// lets the core choose: murmur2 of the key, or the sticky partitioner for null keys (and
    /// for all records with `partitioner.ignore.keys`).
    pub partition: Option<PartitionId>,
    /// What is left of `max.block.ms` for the buffer wait, in ns.
    pub max_block_ns: u64,
    /// The custom-partitioner abort step.
    pub abort_on_new_batch: AbortOnNewBatch,
}

/// Which limit a too-large record broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SizeLimit {
    /// `max.request.size`.
    MaxRequestSize,
    /// `buffer.memory`.
    BufferMemory,
}

/// The result of `append` or `resume_append`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendOutcome {
    /// The record is in a batch. Wake the sender when `batch_is_full || new_batch`.
    Appended {
        /// The partition it went to.
        partition: PartitionId,
        /// The batch holding it.
        batch_id: BatchId,
        /// `deque.size > 1 || batch.isFull`.
        batch_is_full: bool,
        /// Whether a new batch was opened for it.
        new_batch: bool,
    },
    /// Custom partitioner: no room in the last batch; call `onNewBatch`, choose a partition
    /// again and append with `AbortOnNewBatch::No`.
    AbortForNewBatch {
        /// The partition that had no room.
        partition: PartitionId,
    },
    /// Blocked on buffer memory; resume with `resume_append(ticket)` when the ticket is woken
    /// or the deadline is reached.
    MustWait {
        /// The waiter's handle.
        ticket: WaitTicket,
        /// When the wait fails (`BufferExhaustedException`).
        deadline_ns: u64,
    },
    /// `RecordTooLargeException`: the record's upper-bound size breaks a limit.
    RecordTooLarge {
        /// The upper-bound size.
        size_bytes: u32,
        /// The limit broken.
        limit: SizeLimit,
    },
    /// `BufferExhaustedException`: `max.block.ms` passed while waiting for memory.
    BufferExhausted,
    /// The producer is closed (`KafkaException`/`IllegalStateException`).
    Closed,
    /// The ticket is not waiting (already resumed, or never issued).
    UnknownTicket,
}

/// A buffer held by an append between allocation and batch creation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HeldBuffer {
    None,
    Held(u32),
}

impl RecordAccumulator {
    /// Appends one record (`KafkaProducer.doSend` from the size check on, then
    /// `RecordAccumulator.append`).
    pub fn append(
        &mut self,
        request: &AppendRequest<'_>,
        cluster: &ClusterView,
        entropy: &mut dyn Entropy,
    ) -> AppendOutcome {
        if self.closed {
            return AppendOutcome::Closed;
        }
        let record = &request.record;
        // Field lengths beyond max.request.size would overflow the size arithmetic: reject
        // them before computing anything (their upper bound is larger still). A slice is at
        // most isize::MAX bytes and the other three terms are below 2^32 each, so the sum
        // cannot wrap: plain additions, no overflow checks.
        let raw_bytes = (record.key.map_or(0, |k| k.len() as u64))
            .wrapping_add(u64::from(record.value_bytes.unwrap_or(0)))
            .wrapping_add(u64::from(record.headers_bytes))
            .wrapping_add(u64::from(record.header_count));
        if raw_bytes > u64::from(self.config.max_request_size_bytes) {
            self.metrics.record_error_total += 1;
            return AppendOutcome::RecordTooLarge {
                size_bytes: u32::try_from(raw_bytes).unwrap_or(u32::MAX),
                limit: SizeLimit::MaxRequestSize,
            };
        }
        let shape = RecordShape {
            key_bytes: record.key.map(|k| k.len() as u32),
            value_bytes: record.value_bytes,
            header_count: record.header_count,
            headers_bytes: record.headers_bytes,
        };
        let timestamp_ms = record
            .timestamp_ms
            .unwrap_or((request.now_ns / 1_000_000) as i64);
        let pending = PendingRecord::new(record.id, timestamp_ms, shape);
        if let Some(limit) = self.size_limit_broken(pending.upper_bound_bytes) {
            self.metrics.record_error_total += 1;
            return AppendOutcome::RecordTooLarge {
                size_bytes: pending.upper_bound_bytes,
                limit,
            };
        }
        let partition = match (request.partition, record.key) {
            (Some(explicit), _) => Some(explicit),
            (None, Some(key)) if !self.config.partitioner.ignore_keys => {
                Some(partition_for_key(key, cluster.partition_count()))
            }
            (None, _) => None,
        };
        let job = AppendJob {
            now_ns: request.now_ns,
            record: pending,
            partition,
            max_block_ns: request.max_block_ns,
            abort_on_new_batch: request.abort_on_new_batch,
        };
        let mut env = Env { cluster, entropy };
        self.append_loop(&job, HeldBuffer::None, &mut env)
    }

    fn size_limit_broken(&self, upper_bound_bytes: u32) -> Option<SizeLimit> {
        if upper_bound_bytes > self.config.max_request_size_bytes {
            Some(SizeLimit::MaxRequestSize)
        } else if u64::from(upper_bound_bytes) > self.config.buffer_memory_bytes {
            Some(SizeLimit::BufferMemory)
        } else {
            None
        }
    }

    /// Continues an append that returned `MustWait`: with its memory when the ticket was
    /// woken, `BufferExhausted` once `now_ns` reaches the deadline, `Closed` after `close`,
    /// or `MustWait` again when it is still waiting.
    pub fn resume_append(
        &mut self,
        ticket: WaitTicket,
        now_ns: u64,
        cluster: &ClusterView,
        entropy: &mut dyn Entropy,
    ) -> AppendOutcome {
        match self.pool.waiter_state(ticket) {
            WaiterState::Unknown => AppendOutcome::UnknownTicket,
            WaiterState::Closed => {
                self.pending_appends.remove(&ticket);
                AppendOutcome::Closed
            }
            WaiterState::Waiting { deadline_ns, .. } => {
                if self.pool.expire_waiter(ticket, now_ns) {
                    self.pending_appends.remove(&ticket);
                    self.metrics.record_error_total += 1;
                    AppendOutcome::BufferExhausted
                } else {
                    AppendOutcome::MustWait {
                        ticket,
                        deadline_ns,
                    }
                }
            }
            WaiterState::Ready => {
                let size = self
                    .pool
                    .claim(ticket)
                    .expect("a ready ticket holds memory");
                let pending = self
                    .pending_appends
                    .remove(&ticket)
                    .expect("every waiting ticket has its pending append");
                if self.closed {
                    // tryAppend after close: "Producer closed while send in progress".
                    self.pool.deallocate(size, now_ns);
                    return AppendOutcome::Closed;
                }
                let job = AppendJob {
                    now_ns,
                    record: pending.record,
                    partition: pending.partition,
                    max_block_ns: 0,
                    abort_on_new_batch: AbortOnNewBatch::No,
                };
                let held = HeldBuffer::Held(u32::try_from(size).expect("buffer sizes fit u32"));
                let mut env = Env { cluster, entropy };
                self.append_loop(&job, held, &mut env)
            }
        }
    }

    /// The retry loop of `RecordAccumulator.append`.
    // Inlined into `append` (and `resume_append`): a call per record plus the spills around
    // it cost more than the copy of the loop.
    #[inline(always)]
    fn append_loop(
        &mut self,
        job: &AppendJob,
        mut held: HeldBuffer,
        env: &mut Env<'_>,
    ) -> AppendOutcome {
        loop {
            let target = match job.partition {
                Some(explicit) => Target {
                    partition: explicit,
                    sticky: Sticky::No,
                },
                None => Target {
                    partition: self.partitioner.current_partition(env.cluster, env.entropy),
                    sticky: Sticky::Yes,
                },
            };
            let partition = target.partition;
            self.queues_mut(partition);
            if self.partition_changed(target, env) {
                continue;
            }
            if let Some(outcome) = self.try_append(job, target, env) {
                self.release(held, job.now_ns);
                return outcome;
            }
            if job.abort_on_new_batch == AbortOnNewBatch::Yes {
                self.release(held, job.now_ns);
                return AppendOutcome::AbortForNewBatch { partition };
            }
            if held == HeldBuffer::None {
                match self.allocate_for(job) {
                    Ok(size) => held = HeldBuffer::Held(size),
                    Err(outcome) => return outcome,
                }
            }
            if self.partition_changed(target, env) {
                continue;
            }
            let HeldBuffer::Held(size) = held else {
                unreachable!("a buffer is held after allocation")
            };
            return self.append_new_batch(job, target, size, env);
        }
    }

    fn release(&mut self, held: HeldBuffer, now_ns: u64) {
        if let HeldBuffer::Held(size) = held {
            self.pool.deallocate(u64::from(size), now_ns);
        }
    }

    /// `partitionChanged`: complete a switch that was held back while the last batch had
    /// room, once all batches of the partition are full.
    #[inline]
    fn partition_changed(&mut self, target: Target, env: &mut Env<'_>) -> bool {
        // A switch is held back only once `batch.size` bytes went to the partition: test that
        // cheap counter before looking at the batches.
        if target.sticky == Sticky::No
            || !self.partitioner.switch_held_back()
            || !self.all_batches_full(target.partition)
        {
            return false;
        }
        self.partitioner
            .update_partition_info(0, SwitchPolicy::Enabled, env.cluster, env.entropy)
    }

    fn all_batches_full(&self, partition: PartitionId) -> bool {
        self.queues(partition)
            .and_then(|q| q.queued.back())
            .is_none_or(ProducerBatch::is_full)
    }

    /// `updatePartitionInfo` after an append; switching is held back while the partition's
    /// last batch still has room. `last_batch_full` is whether the batch just appended to (the
    /// partition's last) is full, i.e. `allBatchesFull`.
    #[inline(always)]
    fn after_append(
        &mut self,
        target: Target,
        appended_bytes: u32,
        last_batch_full: bool,
        env: &mut Env<'_>,
    ) {
        if target.sticky == Sticky::No {
            return;
        }
        let policy = if last_batch_full {
            SwitchPolicy::Enabled
        } else {
            SwitchPolicy::Held
        };
        self.partitioner
            .update_partition_info(appended_bytes, policy, env.cluster, env.entropy);
    }

    /// `tryAppend` into the last batch; closes it for appends when the record does not fit.
    /// The caller created the partition's deque (`queues_mut`).
    // Every append runs it at least once: always inlined.
    #[inline(always)]
    fn try_append(
        &mut self,
        job: &AppendJob,
        target: Target,
        env: &mut Env<'_>,
    ) -> Option<AppendOutcome> {
        let partition = target.partition;
        let queues = &mut self.partitions[partition.0 as usize];
        let deque_len = queues.queued.len();
        let last = queues.queued.back_mut()?;
        let Some(Appended {
            appended_bytes,
            full: last_full,
            codec_fed_bytes,
        }) = last.append_record(&job.record, job.now_ns)
        else {
            let fed = last.close_for_record_appends();
            self.add_codec_input(fed);
            return None;
        };
        let outcome = AppendOutcome::Appended {
            partition,
            batch_id: last.id,
            batch_is_full: deque_len > 1 || last_full,
            new_batch: false,
        };
        self.metrics.records_appended_total += 1;
        if codec_fed_bytes > 0 {
            self.add_codec_input(codec_fed_bytes);
        }
        self.after_append(target, appended_bytes, last_full, env);
        Some(outcome)
    }

    /// Allocates `max(batch.size, upper bound)`; on `MustWait` parks the record.
    // Once per batch, not per record: kept out of the append loop so its common path stays small.
    #[inline(never)]
    fn allocate_for(&mut self, job: &AppendJob) -> Result<u32, AppendOutcome> {
        let size = self
            .config
            .batch_size_bytes
            .max(job.record.upper_bound_bytes);
        match self
            .pool
            .allocate(u64::from(size), job.now_ns, job.max_block_ns)
        {
            Ok(Allocation::Allocated) => Ok(size),
            Ok(Allocation::MustWait {
                ticket,
                deadline_ns,
            }) => {
                self.pending_appends.insert(
                    ticket,
                    PendingAppend {
                        record: job.record,
                        partition: job.partition,
                    },
                );
                Err(AppendOutcome::MustWait {
                    ticket,
                    deadline_ns,
                })
            }
            Err(PoolError::Closed) => Err(AppendOutcome::Closed),
            Err(PoolError::LargerThanTotalMemory { .. }) => {
                self.metrics.record_error_total += 1;
                Err(AppendOutcome::RecordTooLarge {
                    size_bytes: size,
                    limit: super::SizeLimit::BufferMemory,
                })
            }
        }
    }

    /// `appendNewBatch`: try the last batch once more, else open a batch with the buffer.
    // Once per batch, not per record: kept out of the append loop so its common path stays small.
    #[inline(never)]
    fn append_new_batch(
        &mut self,
        job: &AppendJob,
        target: Target,
        buffer_bytes: u32,
        env: &mut Env<'_>,
    ) -> AppendOutcome {
        let partition = target.partition;
        if let Some(outcome) = self.try_append(job, target, env) {
            self.pool.deallocate(u64::from(buffer_bytes), job.now_ns);
            return outcome;
        }
        let id = self.next_batch_id();
        let mut batch = ProducerBatch::with_compression(
            (id, partition),
            job.now_ns,
            (buffer_bytes, BufferOrigin::Pool),
            BatchSizing {
                first_record_bytes: job.record.first_record_bytes(),
                compression: self.new_batch_compression(),
            },
        );
        let Appended {
            appended_bytes,
            full: last_full,
            codec_fed_bytes,
        } = batch
            .append_record(&job.record, job.now_ns)
            .expect("the first record always fits a new batch");
        let queues = self.queues_mut(partition);
        queues.queued.push_back(batch);
        let batch_is_full = queues.queued.len() > 1 || last_full;
        self.enqueued(partition);
        self.metrics.records_appended_total += 1;
        self.add_codec_input(codec_fed_bytes);
        self.metrics.batches_created_total += 1;
        self.after_append(target, appended_bytes, last_full, env);
        AppendOutcome::Appended {
            partition,
            batch_id: id,
            batch_is_full,
            new_batch: true,
        }
    }
}

/// The caller's metadata and randomness, borrowed for one call.
struct Env<'a> {
    cluster: &'a ClusterView,
    entropy: &'a mut dyn Entropy,
}

/// The partition an append goes to, and whether the sticky partitioner chose it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Target {
    partition: PartitionId,
    sticky: Sticky,
}

/// Whether the partition came from the sticky partitioner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sticky {
    Yes,
    No,
}

/// One append in progress.
#[derive(Clone, Copy, Debug)]
struct AppendJob {
    now_ns: u64,
    record: PendingRecord,
    partition: Option<PartitionId>,
    max_block_ns: u64,
    abort_on_new_batch: AbortOnNewBatch,
}
