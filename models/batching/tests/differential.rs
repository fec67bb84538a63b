//! Differential test: the accumulator against a naive reference model written from the facts
//! file, on random append / time / sender-pass sequences.
//!
//! The reference recomputes every batch's size from scratch with its own varint arithmetic
//! (`bits / 7` instead of a shift loop) and decides room, fullness, linger readiness, the next
//! check time and drain with the plainest possible code. Scope: no key, explicit partitions,
//! one partition per node (so drain rotation is not involved), no errors, no memory pressure,
//! idempotence off; record timestamps follow virtual time, so timestamp deltas vary.

use batching::entropy::SplitMix64;
use batching::{
    AbortOnNewBatch, AccumulatorConfig, AppendOutcome, AppendRequest, BatchId, BatchResponse,
    ClusterView, CompletionOutcome, Idempotence, NodeId, PartitionId, RecordAccumulator, RecordId,
    RecordMeta,
};
use proptest::prelude::*;

const PARTITION_COUNT: usize = 3;
const MS: u64 = 1_000_000;

fn naive_varint_len(value: i64) -> u64 {
    let zigzag = ((value << 1) ^ (value >> 63)) as u64;
    let bits = u64::from(64 - zigzag.leading_zeros());
    bits.div_ceil(7).max(1)
}

/// `DefaultRecord.sizeInBytes` for a null key, no headers.
fn naive_record_size(offset_delta: usize, timestamp_delta_ms: i64, value_bytes: u64) -> u64 {
    let body = 1
        + naive_varint_len(offset_delta as i64)
        + naive_varint_len(timestamp_delta_ms)
        + 1
        + naive_varint_len(value_bytes as i64)
        + value_bytes
        + 1;
    body + naive_varint_len(body as i64)
}

fn naive_upper_bound(value_bytes: u64) -> u64 {
    61 + 21 + 1 + naive_varint_len(value_bytes as i64) + value_bytes + 1
}

#[derive(Clone, Debug)]
struct RefBatch {
    id: u64,
    records: Vec<(u64, u64, i64)>,
    created_ns: u64,
    buffer_bytes: u64,
    closed: bool,
}

impl RefBatch {
    fn size_with(&self, extra: Option<(u64, i64)>) -> u64 {
        let first_ts = self
            .records
            .first()
            .map(|r| r.2)
            .or(extra.map(|e| e.1))
            .unwrap_or(0);
        let mut size = 61;
        let all = self.records.iter().map(|r| (r.1, r.2)).chain(extra);
        for (index, (value_bytes, ts)) in all.enumerate() {
            size += naive_record_size(index, ts - first_ts, value_bytes);
        }
        size
    }

    fn full(&self) -> bool {
        self.closed || self.buffer_bytes <= self.size_with(None)
    }
}

/// One append as the reference sees it.
struct RefAppend {
    partition: usize,
    record: u64,
    value_bytes: u64,
    now_ns: u64,
    batch_size: u64,
}

#[derive(Default)]
struct Reference {
    partitions: Vec<Vec<RefBatch>>,
    next_batch: u64,
}

impl Reference {
    /// Returns (batch id, new batch).
    fn append(&mut self, append: RefAppend) -> (u64, bool) {
        let RefAppend {
            partition,
            record,
            value_bytes,
            now_ns,
            batch_size,
        } = append;
        let ts = (now_ns / MS) as i64;
        let deque = &mut self.partitions[partition];
        if let Some(last) = deque.last_mut() {
            if !last.closed && last.buffer_bytes >= last.size_with(Some((value_bytes, ts))) {
                last.records.push((record, value_bytes, ts));
                return (last.id, false);
            }
            last.closed = true;
        }
        let id = self.next_batch;
        self.next_batch += 1;
        deque.push(RefBatch {
            id,
            records: vec![(record, value_bytes, ts)],
            created_ns: now_ns,
            buffer_bytes: batch_size.max(naive_upper_bound(value_bytes)),
            closed: false,
        });
        (id, true)
    }

    /// Ready partitions (= nodes) and the next check time.
    fn ready(&self, now_ns: u64, linger_ns: u64) -> (Vec<usize>, Option<u64>) {
        let mut ready = Vec::new();
        let mut next: Option<u64> = None;
        for (partition, deque) in self.partitions.iter().enumerate() {
            let Some(first) = deque.first() else { continue };
            if deque.len() > 1 || first.full() || now_ns - first.created_ns >= linger_ns {
                ready.push(partition);
            } else {
                let at = first.created_ns + linger_ns;
                next = Some(next.map_or(at, |n| n.min(at)));
            }
        }
        (ready, next)
    }
}

#[derive(Clone, Debug)]
enum Op {
    Append { partition: usize, value_bytes: u64 },
    Advance(u64),
    SenderPass,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (0..PARTITION_COUNT, 0u64..4000).prop_map(|(partition, value_bytes)| Op::Append { partition, value_bytes }),
        2 => (0u64..8_000_000).prop_map(Op::Advance),
        2 => Just(Op::SenderPass),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn accumulator_matches_the_naive_reference(
        batch_size in prop_oneof![Just(1u32), Just(300), Just(5000), Just(16384)],
        linger_ms in 0u64..10,
        ops in proptest::collection::vec(op(), 1..150),
    ) {
        let linger_ns = linger_ms * MS;
        let config = AccumulatorConfig {
            batch_size_bytes: batch_size,
            linger_ns,
            idempotence: Idempotence::Disabled,
            ..AccumulatorConfig::default()
        };
        let leaders: Vec<Option<NodeId>> = (0..PARTITION_COUNT).map(|p| Some(NodeId(p as u32))).collect();
        let cluster = ClusterView::with_leaders(&leaders);
        let mut acc = RecordAccumulator::new(config);
        let mut entropy = SplitMix64::new(1);
        let mut reference = Reference { partitions: vec![Vec::new(); PARTITION_COUNT], next_batch: 0 };
        let mut now_ns = 0;
        let mut next_record = 0;
        for op in &ops {
            match op {
                Op::Advance(dt) => now_ns += dt,
                Op::Append { partition, value_bytes } => {
                    let request = AppendRequest {
                        now_ns,
                        record: RecordMeta {
                            id: RecordId(next_record),
                            key: None,
                            value_bytes: Some(*value_bytes as u32),
                            header_count: 0,
                            headers_bytes: 0,
                            timestamp_ms: None,
                        },
                        partition: Some(PartitionId(*partition as u32)),
                        max_block_ns: 0,
                        abort_on_new_batch: AbortOnNewBatch::No,
                    };
                    let outcome = acc.append(&request, &cluster, &mut entropy);
                    let (id, new) = reference.append(RefAppend {
                        partition: *partition,
                        record: next_record,
                        value_bytes: *value_bytes,
                        now_ns,
                        batch_size: u64::from(batch_size),
                    });
                    next_record += 1;
                    let AppendOutcome::Appended { batch_id, new_batch, .. } = outcome else {
                        panic!("unexpected {outcome:?}")
                    };
                    prop_assert_eq!((batch_id, new_batch), (BatchId(id), new));
                }
                Op::SenderPass => {
                    let check = acc.ready(now_ns, &cluster);
                    let (ready, next) = reference.ready(now_ns, linger_ns);
                    let ready_nodes: Vec<NodeId> = ready.iter().map(|p| NodeId(*p as u32)).collect();
                    prop_assert_eq!(&check.ready_nodes, &ready_nodes);
                    prop_assert_eq!(check.next_check_at_ns, next);
                    for request in acc.drain(now_ns, &cluster, &check.ready_nodes) {
                        prop_assert_eq!(request.batches.len(), 1);
                        let drained = request.batches[0];
                        let expected = reference.partitions[drained.partition.0 as usize].remove(0);
                        prop_assert_eq!(drained.batch_id, BatchId(expected.id));
                        prop_assert_eq!(u64::from(drained.size_bytes), expected.size_with(None));
                        let ids: Vec<u64> = acc
                            .in_flight_batch(drained.partition, drained.batch_id)
                            .map(|b| b.records().iter().map(|r| r.id.0).collect())
                            .unwrap_or_default();
                        let expected_ids: Vec<u64> = expected.records.iter().map(|r| r.0).collect();
                        prop_assert_eq!(ids, expected_ids);
                        let response = BatchResponse {
                            now_ns,
                            partition: drained.partition,
                            batch_id: drained.batch_id,
                            error: None,
                            base_offset: 0,
                            log_start_offset: 0,
                        };
                        let done = acc.complete(&response, &mut entropy);
                        prop_assert!(matches!(done, CompletionOutcome::Done(_)));
                    }
                }
            }
        }
    }
}
