//! linger's side of the accumulator differential: runs `models::batching` on a script's
//! operations and writes each decision as the JSON value the Java driver prints for it.
//!
//! ```text
//!  ScriptHeader ─► AccumulatorConfig + ClusterView + SplitMix64(random_seed)
//!  Op ──apply──► RecordAccumulator call(s) ──► decision (serde_json::Value) ── compared with Java's line
//! ```
//!
//! Batches are named by their number in the script, given in the order they first appear in a
//! decision (a new batch at append, the children of a split in queue order), the same rule the
//! driver uses, so neither side's internal ids leak into the comparison.
//! Times are milliseconds in the script and nanoseconds in the core.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use batching::compression::{CodecModel, CompressedSize, Compression};
use batching::config::CompressionType;
use batching::entropy::SplitMix64;
use batching::sizes::header_size_in_bytes;
use batching::{
    AbortOnNewBatch, AccumulatorConfig, AppendOutcome, AppendRequest, BatchId, BatchResponse,
    ClusterView, CompletionOutcome, Entropy, FinalState, Idempotence, NodeId, NodeReadiness,
    PartitionId, PartitionerConfig, PartitionerMode, ProduceError, ProducerIdAction,
    ProducerIdAndEpoch, RecordAccumulator, RecordId, RecordMeta,
};

use super::script::{Op, ScriptHeader};

const MS: u64 = 1_000_000;

/// The backoff jitter draw that makes the factor exactly 1.0: the driver runs Kafka's
/// backoff with its jitter set to zero, since Kafka draws it afresh on every check.
struct NoJitter;

impl Entropy for NoJitter {
    fn next_u32(&mut self) -> u32 {
        1 << 31
    }
}

/// An operation linger's side cannot apply (a script that does not fit its state).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ApplyError(pub String);

/// The accumulator of one script and the bookkeeping around it.
pub struct LingerSide {
    header: ScriptHeader,
    accumulator: RecordAccumulator,
    cluster: ClusterView,
    draws: SplitMix64,
    script_ids: BTreeMap<BatchId, u64>,
    core_ids: Vec<(BatchId, PartitionId)>,
    /// Batches drained whose response has not been applied yet, by script number.
    awaiting_response: Vec<u64>,
    last_ready_nodes: Vec<u32>,
    next_record_id: u64,
    closed: bool,
    flushes_in_progress: u32,
    producer_id_needed: bool,
}

/// Kafka's lz4 stream on bytes that do not compress: the 7-byte frame header, each 64 KiB
/// block stored raw behind its 4-byte length, the 4-byte end mark (`Lz4BlockOutputStream`).
#[derive(Debug)]
struct IncompressibleLz4;

impl CompressedSize for IncompressibleLz4 {
    fn compressed_bytes(&self, uncompressed_bytes: u32, _record_count: u32) -> u32 {
        let blocks = uncompressed_bytes.div_ceil(64 * 1024);
        7 + 4 * blocks + uncompressed_bytes + 4
    }
}

impl LingerSide {
    /// A fresh accumulator for the script's settings.
    pub fn new(header: &ScriptHeader) -> LingerSide {
        let config = AccumulatorConfig {
            batch_size_bytes: header.batch_size,
            linger_ns: u64::from(header.linger_ms) * MS,
            buffer_memory_bytes: header.buffer_memory,
            max_request_size_bytes: header.max_request_size,
            delivery_timeout_ns: u64::from(header.delivery_timeout_ms) * MS,
            request_timeout_ns: u64::from(header.request_timeout_ms) * MS,
            retry_backoff_ns: header.retry_backoff_ms * MS,
            retry_backoff_max_ns: header.retry_backoff_max_ms * MS,
            max_in_flight_requests_per_connection: header.max_in_flight,
            retries: header.retries,
            idempotence: if header.idempotence {
                Idempotence::Enabled
            } else {
                Idempotence::Disabled
            },
            partitioner: PartitionerConfig {
                adaptive_partitioning: header.adaptive_partitioning,
                availability_timeout_ns: header.availability_timeout_ms * MS,
                ignore_keys: header.ignore_keys,
            },
            partitioner_mode: PartitionerMode::BuiltIn,
        };
        let leaders: Vec<Option<NodeId>> = header
            .leaders
            .iter()
            .map(|&leader| u32::try_from(leader).ok().map(NodeId))
            .collect();
        let mut accumulator = RecordAccumulator::new(config);
        if header.compression == "lz4" {
            accumulator.set_compression(Compression::Codec(CodecModel {
                codec: CompressionType::Lz4,
                size: std::sync::Arc::new(IncompressibleLz4),
            }));
        }
        LingerSide {
            header: header.clone(),
            accumulator,
            cluster: ClusterView::with_leaders(&leaders),
            draws: SplitMix64::new(header.random_seed),
            script_ids: BTreeMap::new(),
            core_ids: Vec::new(),
            awaiting_response: Vec::new(),
            last_ready_nodes: Vec::new(),
            next_record_id: 0,
            closed: false,
            flushes_in_progress: 0,
            producer_id_needed: header.idempotence,
        }
    }

    /// Drained batches still waiting for their response, by script number, oldest first.
    pub fn awaiting_response(&self) -> &[u64] {
        &self.awaiting_response
    }

    /// The nodes the last `ready` reported.
    pub fn last_ready_nodes(&self) -> &[u32] {
        &self.last_ready_nodes
    }

    /// Whether `close` has run.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Flushes begun and not ended.
    pub fn flushes_in_progress(&self) -> u32 {
        self.flushes_in_progress
    }

    /// Whether the idempotent producer has no producer id (an `InitProducerId` is due).
    pub fn producer_id_needed(&self) -> bool {
        self.producer_id_needed
    }

    /// The number of batches the script has named so far.
    pub fn batch_count(&self) -> usize {
        self.core_ids.len()
    }

    fn script_id(&mut self, batch: BatchId, partition: PartitionId) -> u64 {
        if let Some(&id) = self.script_ids.get(&batch) {
            return id;
        }
        let id = self.core_ids.len() as u64;
        self.script_ids.insert(batch, id);
        self.core_ids.push((batch, partition));
        id
    }

    /// Applies one operation and returns its decision line.
    pub fn apply(&mut self, op: &Op) -> Result<Value, ApplyError> {
        let now_ns = op.time_ms() * MS;
        let mut decision = match op {
            Op::Append {
                partition,
                key,
                value,
                headers,
                ..
            } => self.append(
                now_ns,
                &AppendFields {
                    partition: *partition,
                    key_hex: key.as_deref(),
                    value: *value,
                    headers,
                },
            )?,
            Op::Ready { .. } => self.ready(now_ns),
            Op::Drain {
                nodes, not_ready, ..
            } => self.drain(now_ns, nodes, not_ready),
            Op::Complete {
                batch,
                error,
                base_offset,
                ..
            } => self.complete(now_ns, *batch, error, *base_offset)?,
            Op::Expire { .. } => self.expire(now_ns),
            Op::SenderLoop { .. } => self.sender_loop(),
            Op::InitPid {
                producer_id, epoch, ..
            } => self.init_producer_id(*producer_id, *epoch)?,
            Op::FlushBegin { .. } => {
                self.accumulator.begin_flush();
                self.flushes_in_progress += 1;
                json!({"op": "flush_begin"})
            }
            Op::FlushEnd { .. } => {
                self.accumulator.end_flush();
                self.flushes_in_progress = self.flushes_in_progress.saturating_sub(1);
                json!({"op": "flush_end"})
            }
            Op::Close { .. } => {
                self.accumulator.close();
                self.closed = true;
                json!({"op": "close"})
            }
        };
        decision["memory"] = json!(self.accumulator.pool().available_memory_bytes());
        Ok(decision)
    }

    fn append(&mut self, now_ns: u64, fields: &AppendFields<'_>) -> Result<Value, ApplyError> {
        let AppendFields {
            partition,
            key_hex,
            value,
            headers,
        } = *fields;
        if self.closed {
            return Ok(json!({"op": "append", "result": "closed"}));
        }
        let key = key_hex.map(decode_hex).transpose()?;
        let headers_bytes = headers
            .iter()
            .map(|&(key_bytes, value_bytes)| {
                header_size_in_bytes(key_bytes, u32::try_from(value_bytes).ok())
            })
            .sum();
        let record = RecordMeta {
            id: RecordId(self.next_record_id),
            key: key.as_deref(),
            value_bytes: value,
            header_count: headers.len() as u32,
            headers_bytes,
            timestamp_ms: None,
        };
        self.next_record_id += 1;
        let request = AppendRequest {
            now_ns,
            record,
            partition: partition.map(PartitionId),
            max_block_ns: 0,
            abort_on_new_batch: AbortOnNewBatch::No,
        };
        let mut outcome = self
            .accumulator
            .append(&request, &self.cluster, &mut self.draws);
        if let AppendOutcome::MustWait { ticket, .. } = outcome {
            // max.block.ms = 0: the wait's deadline is now.
            outcome =
                self.accumulator
                    .resume_append(ticket, now_ns, &self.cluster, &mut self.draws);
        }
        self.append_decision(outcome)
    }

    fn append_decision(&mut self, outcome: AppendOutcome) -> Result<Value, ApplyError> {
        let result = match outcome {
            AppendOutcome::Appended {
                partition,
                batch_id,
                batch_is_full,
                new_batch,
            } => {
                let (records, bytes) = self
                    .accumulator
                    .queued_batches(partition)
                    .find(|b| b.id() == batch_id)
                    .map(|b| (b.record_count(), b.size_bytes()))
                    .ok_or_else(|| ApplyError("the appended batch is not queued".into()))?;
                let id = self.script_id(batch_id, partition);
                return Ok(json!({
                    "op": "append", "result": "appended", "partition": partition.0,
                    "batch": id, "new_batch": new_batch, "batch_is_full": batch_is_full,
                    "batch_records": records, "batch_bytes": bytes,
                }));
            }
            AppendOutcome::RecordTooLarge { .. } => "record_too_large",
            AppendOutcome::BufferExhausted | AppendOutcome::MustWait { .. } => "buffer_exhausted",
            AppendOutcome::Closed => "closed",
            AppendOutcome::AbortForNewBatch { .. } => "abort_for_new_batch",
            AppendOutcome::UnknownTicket => "unknown_ticket",
        };
        Ok(json!({"op": "append", "result": result}))
    }

    fn ready(&mut self, now_ns: u64) -> Value {
        let check = self.accumulator.ready(now_ns, &self.cluster);
        let mut nodes: Vec<u32> = check.ready_nodes.iter().map(|n| n.0).collect();
        nodes.sort_unstable();
        self.last_ready_nodes.clone_from(&nodes);
        let delay = check
            .next_check_at_ns
            .map(|at| at.saturating_sub(now_ns) / MS);
        json!({
            "op": "ready", "ready_nodes": nodes, "next_check_delay_ms": delay,
            "unknown_leader": !check.unknown_leader_partitions.is_empty(),
        })
    }

    fn drain(&mut self, now_ns: u64, nodes: &[u32], not_ready: &[u32]) -> Value {
        for &node in not_ready {
            self.accumulator.update_node_latency_stats(
                NodeId(node),
                now_ns,
                NodeReadiness::CannotDrain,
            );
        }
        for &node in nodes {
            self.accumulator.update_node_latency_stats(
                NodeId(node),
                now_ns,
                NodeReadiness::CanDrain,
            );
        }
        let node_ids: Vec<NodeId> = nodes.iter().map(|&n| NodeId(n)).collect();
        let mut requests = self.accumulator.drain(now_ns, &self.cluster, &node_ids);
        requests.sort_by_key(|r| r.node);
        let idempotent = self.header.idempotence;
        let mut lines = Vec::new();
        for request in requests {
            let mut batches = Vec::new();
            for batch in &request.batches {
                let id = self.script_id(batch.batch_id, batch.partition);
                if !self.awaiting_response.contains(&id) {
                    self.awaiting_response.push(id);
                }
                let mut line = json!({
                    "batch": id, "partition": batch.partition.0, "records": batch.record_count,
                    "bytes": batch.size_bytes, "attempts": batch.attempts,
                });
                if idempotent {
                    line["base_sequence"] = json!(batch.base_sequence.unwrap_or(-1));
                    line["producer_id"] = json!(batch.producer_id_and_epoch.producer_id);
                    line["epoch"] = json!(batch.producer_id_and_epoch.epoch);
                }
                batches.push(line);
            }
            lines.push(json!({"node": request.node.0, "batches": batches}));
        }
        json!({"op": "drain", "requests": lines})
    }

    fn complete(
        &mut self,
        now_ns: u64,
        batch: u64,
        error_name: &str,
        base_offset: i64,
    ) -> Result<Value, ApplyError> {
        let &(batch_id, partition) = usize::try_from(batch)
            .ok()
            .and_then(|index| self.core_ids.get(index))
            .ok_or_else(|| ApplyError(format!("batch {batch} is unknown")))?;
        let error = if error_name == "NONE" {
            None
        } else {
            Some(error_by_name(error_name)?)
        };
        self.awaiting_response.retain(|&id| id != batch);
        let response = BatchResponse {
            now_ns,
            partition,
            batch_id,
            error,
            base_offset: if error.is_none() { base_offset } else { -1 },
            log_start_offset: -1,
        };
        let outcome = self.accumulator.complete(&response, &mut NoJitter);
        let mut children = Vec::new();
        let outcome = match outcome {
            CompletionOutcome::Done(done) => match done.final_state() {
                Some(FinalState::Succeeded { .. }) => "succeeded",
                Some(FinalState::Failed { .. }) => "failed",
                other => return Err(ApplyError(format!("a done batch in state {other:?}"))),
            },
            CompletionOutcome::Retried { .. } => "retried",
            CompletionOutcome::Split(_) => {
                let unnamed: Vec<BatchId> = self
                    .accumulator
                    .queued_batches(partition)
                    .map(|b| b.id())
                    .filter(|id| !self.script_ids.contains_key(id))
                    .collect();
                for id in unnamed {
                    children.push(self.script_id(id, partition));
                }
                "split"
            }
            CompletionOutcome::LateResponse => "late",
        };
        let mut decision = json!({"op": "complete", "outcome": outcome});
        if !children.is_empty() {
            decision["children"] = json!(children);
        }
        if let Some(state) = self.accumulator.idempotence() {
            let sequences = state.partition(partition);
            decision["next_sequence"] = json!(sequences.map_or(0, |s| s.next_sequence()));
            decision["last_acked_sequence"] =
                json!(sequences.map_or(-1, |s| s.last_acked_sequence()));
            decision["unresolved"] = json!(state.has_unresolved_sequence(partition));
        }
        Ok(decision)
    }

    fn expire(&mut self, now_ns: u64) -> Value {
        let expired = self.accumulator.expire(now_ns);
        let mut ids: Vec<u64> = expired
            .iter()
            .map(|b| self.script_id(b.id(), b.partition()))
            .collect();
        ids.sort_unstable();
        let next = self.accumulator.next_expiry_at_ns().map(|at| at / MS);
        json!({"op": "expire", "expired": ids, "next_expiry_ms": next})
    }

    fn sender_loop(&mut self) -> Value {
        let action = self.accumulator.on_sender_loop_start();
        let Some(state) = self.accumulator.idempotence() else {
            return json!({"op": "sender_loop", "action": "none"});
        };
        let ProducerIdAndEpoch { producer_id, epoch } = state.producer_id_and_epoch();
        let action = match action {
            ProducerIdAction::None => "none",
            ProducerIdAction::EpochBumped(_) => "epoch_bumped",
            ProducerIdAction::InitProducerIdNeeded => {
                self.producer_id_needed = true;
                "init_producer_id_needed"
            }
        };
        json!({"op": "sender_loop", "action": action, "producer_id": producer_id, "epoch": epoch})
    }

    fn init_producer_id(&mut self, producer_id: i64, epoch: i16) -> Result<Value, ApplyError> {
        if !self.header.idempotence {
            return Err(ApplyError(
                "init_pid is only valid in an idempotent script".into(),
            ));
        }
        self.accumulator
            .set_producer_id_and_epoch(ProducerIdAndEpoch { producer_id, epoch });
        self.producer_id_needed = false;
        let state = self
            .accumulator
            .idempotence()
            .map(|s| s.producer_id_and_epoch())
            .unwrap_or(ProducerIdAndEpoch {
                producer_id: -1,
                epoch: -1,
            });
        Ok(json!({
            "op": "init_pid", "producer_id": state.producer_id, "epoch": state.epoch,
        }))
    }
}

/// The fields of an `append` operation.
#[derive(Clone, Copy)]
struct AppendFields<'a> {
    partition: Option<u32>,
    key_hex: Option<&'a str>,
    value: Option<u32>,
    headers: &'a [(u32, i32)],
}

/// The broker error with Kafka's name `name`.
pub fn error_by_name(name: &str) -> Result<ProduceError, ApplyError> {
    ProduceError::BROKER_ERRORS
        .iter()
        .copied()
        .find(|e| e.name() == name)
        .ok_or_else(|| ApplyError(format!("unknown error name {name:?}")))
}

fn decode_hex(text: &str) -> Result<Vec<u8>, ApplyError> {
    if !text.len().is_multiple_of(2) {
        return Err(ApplyError(format!(
            "key {text:?}: expected an even number of hex digits"
        )));
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or_else(|| ApplyError(format!("key {text:?}: expected hex digits")))
        })
        .collect()
}
