//! Property tests: random operation sequences against the accumulator, checking the
//! invariants that must hold after every step whatever the configuration.
//!
//! - every appended record is in exactly one place: queued, in flight, or done (acknowledged,
//!   failed, expired or aborted), and no record appears that was never appended;
//! - queued records of a partition keep append order when idempotent or with one request in
//!   flight (otherwise Kafka may reorder retries), and each batch keeps its records' order;
//! - a batch's bytes stay within its buffer, `max(batch.size, first record's upper bound)`:
//!   beyond `batch.size` only when its first record alone is larger;
//! - a node is ready only if one of its partitions' first batch is full, lingered long
//!   enough, retried past its backoff, or a flush/close/memory wait is under way;
//! - `next_check_at_ns` is never in the past;
//! - buffer memory is conserved: free + held by batches + held by waiters = `buffer.memory`.

use std::collections::{BTreeMap, BTreeSet};

use batching::completion::ProduceError;
use batching::entropy::SplitMix64;
use batching::sizes::estimate_size_upper_bound;
use batching::{
    AbortOnNewBatch, AccumulatorConfig, AppendOutcome, AppendRequest, BatchId, BatchResponse,
    BufferOrigin, ClusterView, CompletionOutcome, FinalState, Idempotence, NodeId, PartitionId,
    ProducerBatch, ProducerIdAndEpoch, RecordAccumulator, RecordId, RecordMeta, WaitTicket,
};
use proptest::prelude::*;

const PARTITION_COUNT: u32 = 4;
const MS: u64 = 1_000_000;

#[derive(Clone, Debug)]
enum Op {
    Append {
        partition: Option<u32>,
        key: Option<u8>,
        value_bytes: u16,
    },
    Advance(u16),
    SenderLoop,
    Respond {
        pick: u16,
        outcome: u8,
    },
    Expire,
    Flush,
    EndFlush,
    Close,
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (proptest::option::of(0..PARTITION_COUNT), proptest::option::of(0u8..8), 0u16..3000)
            .prop_map(|(partition, key, value_bytes)| Op::Append { partition, key, value_bytes }),
        3 => (0u16..2000).prop_map(Op::Advance),
        3 => Just(Op::SenderLoop),
        4 => (any::<u16>(), 0u8..10).prop_map(|(pick, outcome)| Op::Respond { pick, outcome }),
        1 => Just(Op::Expire),
        1 => Just(Op::Flush),
        1 => Just(Op::EndFlush),
        1 => (0u8..40).prop_map(|n| if n == 0 { Op::Close } else { Op::Expire }),
    ]
}

#[derive(Clone, Debug)]
struct Setup {
    config: AccumulatorConfig,
    leaders: Vec<Option<NodeId>>,
}

fn setup_strategy() -> impl Strategy<Value = Setup> {
    (
        prop_oneof![Just(1u32), Just(500), Just(2000), Just(16384)],
        0u64..20,
        prop_oneof![Just(6000u64), Just(20_000), Just(1_000_000)],
        prop_oneof![Just(1u32), Just(5)],
        any::<bool>(),
        prop_oneof![Just(0u32), Just(2), Just(1000)],
        proptest::collection::vec(
            proptest::option::weighted(0.9, 0u32..3),
            PARTITION_COUNT as usize,
        ),
    )
        .prop_map(
            |(batch, linger_ms, buffer, in_flight, idempotent, retries, leaders)| Setup {
                config: AccumulatorConfig {
                    batch_size_bytes: batch,
                    linger_ns: linger_ms * MS,
                    buffer_memory_bytes: buffer.max(u64::from(batch)),
                    max_request_size_bytes: 5000,
                    delivery_timeout_ns: 3_000 * MS,
                    retry_backoff_ns: 10 * MS,
                    retry_backoff_max_ns: 100 * MS,
                    max_in_flight_requests_per_connection: in_flight,
                    retries,
                    idempotence: if idempotent {
                        Idempotence::Enabled
                    } else {
                        Idempotence::Disabled
                    },
                    ..AccumulatorConfig::default()
                },
                leaders: leaders.into_iter().map(|l| l.map(NodeId)).collect(),
            },
        )
}

struct World {
    acc: RecordAccumulator,
    cluster: ClusterView,
    entropy: SplitMix64,
    now_ns: u64,
    next_record: u64,
    /// Appended records and the order in which their appends completed.
    appended: BTreeMap<RecordId, u64>,
    done: BTreeMap<RecordId, u32>,
    waiting: BTreeMap<WaitTicket, (RecordId, u64)>,
    outstanding: Vec<(PartitionId, BatchId)>,
    flushes: u32,
}

impl World {
    fn new(setup: &Setup) -> Self {
        let mut acc = RecordAccumulator::new(setup.config);
        acc.set_producer_id_and_epoch(ProducerIdAndEpoch {
            producer_id: 1,
            epoch: 0,
        });
        World {
            acc,
            cluster: ClusterView::with_leaders(&setup.leaders),
            entropy: SplitMix64::new(42),
            now_ns: 0,
            next_record: 0,
            appended: BTreeMap::new(),
            done: BTreeMap::new(),
            waiting: BTreeMap::new(),
            outstanding: Vec::new(),
            flushes: 0,
        }
    }

    fn finish(&mut self, batch: &ProducerBatch) {
        assert!(batch.is_done());
        for record in batch.records() {
            *self.done.entry(record.id).or_insert(0) += 1;
        }
    }

    fn note_append(&mut self, record: RecordId, outcome: AppendOutcome, deadline_of: u64) {
        match outcome {
            AppendOutcome::Appended { .. } => {
                let order = self.appended.len() as u64;
                assert!(
                    self.appended.insert(record, order).is_none(),
                    "record appended twice"
                );
            }
            AppendOutcome::MustWait {
                ticket,
                deadline_ns,
            } => {
                assert_eq!(deadline_ns, deadline_of);
                self.waiting.insert(ticket, (record, deadline_ns));
            }
            _ => {}
        }
    }

    fn append(&mut self, partition: Option<u32>, key: Option<u8>, value_bytes: u16) {
        let record = RecordId(self.next_record);
        self.next_record += 1;
        let key_bytes = key.map(|k| format!("key-{k}").into_bytes());
        let request = AppendRequest {
            now_ns: self.now_ns,
            record: RecordMeta {
                id: record,
                key: key_bytes.as_deref(),
                value_bytes: Some(u32::from(value_bytes)),
                header_count: 0,
                headers_bytes: 0,
                timestamp_ms: None,
            },
            partition: partition.map(PartitionId),
            max_block_ns: 500 * MS,
            abort_on_new_batch: AbortOnNewBatch::No,
        };
        let outcome = self.acc.append(&request, &self.cluster, &mut self.entropy);
        self.note_append(record, outcome, self.now_ns + 500 * MS);
    }

    /// Resumes woken appends and those whose deadline has come.
    fn resume_waiters(&mut self) {
        let mut due: Vec<WaitTicket> = self.acc.take_woken_waiters();
        due.extend(
            self.waiting
                .iter()
                .filter(|(_, (_, deadline))| *deadline <= self.now_ns)
                .map(|(t, _)| *t),
        );
        for ticket in due {
            let Some(&(record, deadline)) = self.waiting.get(&ticket) else {
                continue;
            };
            let outcome =
                self.acc
                    .resume_append(ticket, self.now_ns, &self.cluster, &mut self.entropy);
            if !matches!(outcome, AppendOutcome::MustWait { .. }) {
                self.waiting.remove(&ticket);
            }
            if let AppendOutcome::MustWait { .. } = outcome {
                continue;
            }
            self.note_append(record, outcome, deadline);
        }
    }

    fn sender_loop(&mut self) {
        self.acc.on_sender_loop_start();
        let check = self.acc.ready(self.now_ns, &self.cluster);
        if let Some(at) = check.next_check_at_ns {
            assert!(at >= self.now_ns, "next check in the past");
        }
        for node in &check.ready_nodes {
            assert!(
                self.node_may_be_ready(*node),
                "node {node:?} ready without cause"
            );
        }
        for request in self
            .acc
            .drain(self.now_ns, &self.cluster, &check.ready_nodes)
        {
            assert!(!request.batches.is_empty());
            let partitions: BTreeSet<PartitionId> =
                request.batches.iter().map(|b| b.partition).collect();
            assert_eq!(
                partitions.len(),
                request.batches.len(),
                "one batch per partition"
            );
            for batch in request.batches {
                self.outstanding.push((batch.partition, batch.batch_id));
            }
        }
    }

    fn node_may_be_ready(&self, node: NodeId) -> bool {
        let config = self.acc.config();
        if self.flushes > 0 || self.acc.is_closed() || self.acc.pool().has_waiters() {
            return true;
        }
        self.cluster.partitions_for_node(node).iter().any(|p| {
            let mut queued = self.acc.queued_batches(*p);
            let Some(first) = queued.next() else {
                return false;
            };
            let full = queued.next().is_some() || first.is_full();
            let lingered = self.now_ns - first.created_at_ns() >= config.linger_ns;
            full || lingered || first.attempts() > 0
        })
    }

    fn respond(&mut self, pick: u16, outcome: u8) {
        if self.outstanding.is_empty() {
            return;
        }
        let (partition, batch_id) = self
            .outstanding
            .remove(pick as usize % self.outstanding.len());
        let error = match outcome {
            0..=3 => None,
            4 => Some(ProduceError::NotLeaderOrFollower),
            5 => Some(ProduceError::MessageTooLarge),
            6 => Some(ProduceError::OutOfOrderSequenceNumber),
            7 => Some(ProduceError::InvalidRecord),
            8 => Some(ProduceError::UnknownProducerId),
            _ => Some(ProduceError::RequestTimedOut),
        };
        let response = BatchResponse {
            now_ns: self.now_ns,
            partition,
            batch_id,
            error,
            base_offset: 0,
            log_start_offset: 0,
        };
        match self.acc.complete(&response, &mut self.entropy) {
            CompletionOutcome::Done(batch) => self.finish(&batch),
            CompletionOutcome::Split(parent) => {
                assert!(matches!(
                    parent.final_state(),
                    Some(FinalState::Split { .. })
                ));
            }
            CompletionOutcome::Retried { .. } | CompletionOutcome::LateResponse => {}
        }
    }

    fn apply(&mut self, op: &Op) {
        match op {
            Op::Append {
                partition,
                key,
                value_bytes,
            } => self.append(*partition, *key, *value_bytes),
            Op::Advance(ms) => self.now_ns += u64::from(*ms) * MS,
            Op::SenderLoop => self.sender_loop(),
            Op::Respond { pick, outcome } => self.respond(*pick, *outcome),
            Op::Expire => {
                for batch in self.acc.expire(self.now_ns) {
                    self.finish(&batch);
                }
            }
            Op::Flush => {
                self.acc.begin_flush();
                self.flushes += 1;
            }
            Op::EndFlush => {
                if self.flushes > 0 {
                    self.acc.end_flush();
                    self.flushes -= 1;
                }
            }
            Op::Close => {
                self.acc.close();
            }
        }
        self.resume_waiters();
    }

    fn live_batches(&self) -> Vec<&ProducerBatch> {
        (0..PARTITION_COUNT)
            .flat_map(|p| {
                let p = PartitionId(p);
                self.acc
                    .queued_batches(p)
                    .chain(self.acc.in_flight_batches(p).iter())
            })
            .collect()
    }

    fn check_invariants(&self) {
        let config = *self.acc.config();
        let mut seen: BTreeMap<RecordId, u32> = self.done.clone();
        let mut held_bytes = 0u64;
        for batch in self.live_batches() {
            assert!(!batch.is_done());
            // The write limit is max(batch.size, upper bound of the first record): a batch
            // exceeds batch.size only when its first record alone is larger.
            let first_bound = estimate_size_upper_bound(batch.records()[0].shape);
            assert_eq!(
                batch.buffer_bytes(),
                config.batch_size_bytes.max(1).max(first_bound)
            );
            assert!(
                batch.size_bytes() <= batch.buffer_bytes(),
                "batch {:?} of {} bytes in a {}-byte buffer",
                batch.id(),
                batch.size_bytes(),
                batch.buffer_bytes()
            );
            let ids: Vec<RecordId> = batch.records().iter().map(|r| r.id).collect();
            let orders: Vec<u64> = ids.iter().map(|id| self.appended[id]).collect();
            assert!(
                orders.windows(2).all(|w| w[0] < w[1]),
                "records out of order in a batch"
            );
            for id in ids {
                *seen.entry(id).or_insert(0) += 1;
            }
            if batch.buffer_origin() == BufferOrigin::Pool {
                held_bytes += u64::from(batch.buffer_bytes());
            }
        }
        for (id, count) in &seen {
            assert_eq!(*count, 1, "record {id:?} found {count} times");
            assert!(
                self.appended.contains_key(id),
                "record {id:?} never appended"
            );
        }
        assert_eq!(seen.len(), self.appended.len(), "a record went missing");
        // Without idempotence and with several requests in flight, two failed batches of a
        // partition are re-enqueued at the front in response order: Kafka reorders them.
        let order_guaranteed = config.idempotence == Idempotence::Enabled
            || config.max_in_flight_requests_per_connection == 1;
        for p in (0..PARTITION_COUNT).filter(|_| order_guaranteed) {
            let orders: Vec<u64> = self
                .acc
                .queued_batches(PartitionId(p))
                .flat_map(|b| b.records().iter().map(|r| self.appended[&r.id]))
                .collect();
            assert!(
                orders.windows(2).all(|w| w[0] < w[1]),
                "queued order broken in p{p}"
            );
        }
        // Expired in-flight batches keep their buffers until their late responses.
        held_bytes += self.acc.expired_in_flight_buffer_bytes();
        let pool = self.acc.pool();
        assert!(pool.available_memory_bytes() <= pool.total_memory_bytes());
        assert_eq!(
            pool.available_memory_bytes() + held_bytes + pool.reserved_by_waiters_bytes(),
            pool.total_memory_bytes(),
            "buffer memory not conserved"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn accumulator_invariants_hold_after_every_step(
        setup in setup_strategy(),
        ops in proptest::collection::vec(op_strategy(), 1..120),
    ) {
        let mut world = World::new(&setup);
        for op in &ops {
            world.apply(op);
            world.check_invariants();
        }
    }

    #[test]
    fn every_record_ends_done_after_flush_close_and_full_acknowledgement(
        setup in setup_strategy(),
        ops in proptest::collection::vec(op_strategy(), 1..60),
    ) {
        let mut world = World::new(&setup);
        for op in &ops {
            world.apply(op);
        }
        world.acc.close();
        world.resume_waiters();
        // Acknowledge everything until nothing is left; retries and splits may requeue.
        for _ in 0..10_000 {
            if !world.acc.has_incomplete() && world.outstanding.is_empty() {
                break;
            }
            world.now_ns += 200 * MS;
            world.sender_loop();
            while !world.outstanding.is_empty() {
                world.respond(0, 0);
            }
            for batch in world.acc.expire(world.now_ns) {
                world.finish(&batch);
            }
            world.check_invariants();
        }
        let unknown_leader = setup.leaders.iter().any(Option::is_none);
        if !unknown_leader {
            prop_assert!(!world.acc.has_incomplete(), "batches left after close");
        }
        for batch in world.acc.abort_incomplete_batches(world.now_ns) {
            world.finish(&batch);
        }
        world.check_invariants();
        prop_assert_eq!(world.done.len(), world.appended.len());
        prop_assert_eq!(world.acc.pool().available_memory_bytes(), world.acc.pool().total_memory_bytes());
    }
}

/// Every sequence of up to `LENGTH` operations from a small alphabet, for each combination of
/// idempotence and in-flight limit (exhaustive small-scope checking).
#[test]
fn invariants_hold_for_every_short_operation_sequence() {
    const LENGTH: u32 = 4;
    let alphabet = [
        Op::Append {
            partition: Some(0),
            key: None,
            value_bytes: 100,
        },
        Op::Append {
            partition: Some(0),
            key: None,
            value_bytes: 2900,
        },
        Op::Append {
            partition: None,
            key: None,
            value_bytes: 10,
        },
        Op::Advance(6),
        Op::SenderLoop,
        Op::Respond {
            pick: 0,
            outcome: 0,
        },
        Op::Respond {
            pick: 0,
            outcome: 4,
        },
        Op::Respond {
            pick: 1,
            outcome: 5,
        },
        Op::Expire,
    ];
    let mut runs = 0u64;
    for (idempotent, in_flight) in [(false, 1), (false, 5), (true, 1), (true, 5)] {
        let setup = Setup {
            config: AccumulatorConfig {
                batch_size_bytes: 3000,
                linger_ns: 5 * MS,
                buffer_memory_bytes: 6000,
                max_request_size_bytes: 5000,
                delivery_timeout_ns: 12 * MS,
                retry_backoff_ns: MS,
                retry_backoff_max_ns: 4 * MS,
                max_in_flight_requests_per_connection: in_flight,
                retries: 3,
                idempotence: if idempotent {
                    Idempotence::Enabled
                } else {
                    Idempotence::Disabled
                },
                ..AccumulatorConfig::default()
            },
            leaders: vec![Some(NodeId(0)), Some(NodeId(1)), None, Some(NodeId(0))],
        };
        let total = (alphabet.len() as u64).pow(LENGTH);
        for code in 0..total {
            let mut world = World::new(&setup);
            let mut rest = code;
            for _ in 0..LENGTH {
                let op = &alphabet[(rest % alphabet.len() as u64) as usize];
                rest /= alphabet.len() as u64;
                world.apply(op);
                world.check_invariants();
            }
            runs += 1;
        }
    }
    assert_eq!(runs, 4 * 9u64.pow(LENGTH));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Idempotent sequences tile each partition: with only successes and retriable errors
    /// (no epoch bump, no expiry), the acknowledged batches' `[base, base + count)` ranges of a
    /// partition cover `0..records` exactly once, whatever the response order.
    #[test]
    fn idempotent_sequences_tile_each_partition_without_gaps_or_overlaps(
        ops in proptest::collection::vec(op_strategy(), 1..150),
    ) {
        let setup = Setup {
            config: AccumulatorConfig {
                batch_size_bytes: 2000,
                linger_ns: 0,
                retry_backoff_ns: MS,
                retry_backoff_max_ns: 8 * MS,
                delivery_timeout_ns: u64::MAX / 4,
                idempotence: Idempotence::Enabled,
                ..AccumulatorConfig::default()
            },
            leaders: vec![Some(NodeId(0)), Some(NodeId(1)), Some(NodeId(0)), Some(NodeId(2))],
        };
        let mut world = World::new(&setup);
        let mut acked: BTreeMap<PartitionId, Vec<(i32, u32)>> = BTreeMap::new();
        let mut records: BTreeMap<PartitionId, u32> = BTreeMap::new();
        for op in &ops {
            match op {
                Op::Respond { pick, outcome } if !world.outstanding.is_empty() => {
                    let (partition, batch_id) =
                        world.outstanding.remove(*pick as usize % world.outstanding.len());
                    let error = (*outcome >= 6).then_some(ProduceError::NotLeaderOrFollower);
                    let response = BatchResponse {
                        now_ns: world.now_ns,
                        partition,
                        batch_id,
                        error,
                        base_offset: 0,
                        log_start_offset: 0,
                    };
                    if let CompletionOutcome::Done(batch) = world.acc.complete(&response, &mut world.entropy) {
                        let base = batch.base_sequence().expect("idempotent batches carry a sequence");
                        acked.entry(partition).or_default().push((base, batch.record_count()));
                        world.finish(&batch);
                    }
                }
                Op::Respond { .. } | Op::Expire | Op::Close => {}
                Op::Append { partition, key, value_bytes } => {
                    let before = world.appended.len();
                    world.append(*partition, *key, *value_bytes);
                    prop_assert_eq!(world.appended.len(), before + 1, "no memory pressure here");
                }
                other => world.apply(other),
            }
        }
        // Drain and acknowledge everything left.
        for _ in 0..1000 {
            if !world.acc.has_incomplete() {
                break;
            }
            world.now_ns += 10 * MS;
            world.sender_loop();
            while let Some((partition, batch_id)) = world.outstanding.pop() {
                let response = BatchResponse {
                    now_ns: world.now_ns,
                    partition,
                    batch_id,
                    error: None,
                    base_offset: 0,
                    log_start_offset: 0,
                };
                if let CompletionOutcome::Done(batch) = world.acc.complete(&response, &mut world.entropy) {
                    let base = batch.base_sequence().expect("idempotent batches carry a sequence");
                    acked.entry(partition).or_default().push((base, batch.record_count()));
                    world.finish(&batch);
                }
            }
        }
        prop_assert!(!world.acc.has_incomplete());
        for (id, _) in world.appended.iter() {
            prop_assert!(world.done.contains_key(id));
        }
        for (partition, ranges) in &mut acked {
            ranges.sort_unstable();
            let mut next = 0i32;
            for (base, count) in ranges.iter() {
                prop_assert_eq!(*base, next, "gap or overlap in {:?}", partition);
                next += *count as i32;
            }
            *records.entry(*partition).or_default() = next as u32;
        }
        let total: u32 = records.values().sum();
        prop_assert_eq!(total as usize, world.appended.len());
    }
}
