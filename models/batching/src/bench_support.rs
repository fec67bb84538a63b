//! The benchmark loop, exposed so the CLI can run it (`linger bench accumulator`) as well as
//! criterion (`cargo bench -p batching`).
//!
//! It drives append → ready → drain → complete for 1 KiB keyed records over 12 partitions led
//! by 3 nodes with the default (4.x) configuration, idempotence on, acknowledging every
//! drained batch at once. Virtual time advances 1 µs per record. Like a sender woken by
//! `append`, the loop runs a sender pass (ready, drain, complete) when a batch is full or the
//! next check time has come; a lone new batch only moves the next check to the end of its
//! linger. No timing happens here.

use crate::accumulator::{
    AbortOnNewBatch, AccumulatorConfig, AppendOutcome, AppendRequest, BatchResponse,
    RecordAccumulator, RecordMeta,
};
use crate::cluster::ClusterView;
use crate::entropy::SplitMix64;
use crate::ids::{NodeId, ProducerIdAndEpoch, RecordId};

const PARTITION_COUNT: usize = 12;
const NODE_COUNT: u32 = 3;

/// Runs `record_count` records through the accumulator and returns a checksum of the
/// acknowledged offsets (so the work cannot be optimised away).
pub fn drive(record_count: u64) -> u64 {
    let leaders: Vec<Option<NodeId>> = (0..PARTITION_COUNT)
        .map(|p| Some(NodeId(p as u32 % NODE_COUNT)))
        .collect();
    let cluster = ClusterView::with_leaders(&leaders);
    let config = AccumulatorConfig::default();
    let linger_ns = config.linger_ns;
    let mut accumulator = RecordAccumulator::new(config);
    accumulator.set_producer_id_and_epoch(ProducerIdAndEpoch {
        producer_id: 1,
        epoch: 0,
    });
    let mut entropy = SplitMix64::new(7);
    let keys: Vec<Vec<u8>> = (0..64).map(|k| format!("key-{k}").into_bytes()).collect();
    let mut next_offsets = [0i64; PARTITION_COUNT];
    let mut checksum = 0u64;
    let mut next_check_at_ns = 0;
    for index in 0..record_count {
        let now_ns = index * 1_000;
        let request = AppendRequest {
            now_ns,
            record: RecordMeta {
                id: RecordId(index),
                key: Some(&keys[(index % 64) as usize]),
                value_bytes: Some(1024),
                header_count: 0,
                headers_bytes: 0,
                timestamp_ms: None,
            },
            partition: None,
            max_block_ns: 60_000_000_000,
            abort_on_new_batch: AbortOnNewBatch::No,
        };
        match accumulator.append(&request, &cluster, &mut entropy) {
            // A batch that is full (or has a successor) is sendable now: run the sender.
            AppendOutcome::Appended {
                batch_is_full: true,
                ..
            } => next_check_at_ns = now_ns,
            // A lone new batch becomes sendable when its linger ends; that is all a sender
            // pass would learn from it, so only the timer moves.
            AppendOutcome::Appended {
                new_batch: true, ..
            } => next_check_at_ns = next_check_at_ns.min(now_ns + linger_ns),
            AppendOutcome::Appended { .. } => {}
            other => panic!("the benchmark never runs out of memory: {other:?}"),
        }
        if now_ns >= next_check_at_ns {
            next_check_at_ns = sender_pass(
                &mut accumulator,
                &cluster,
                now_ns,
                &mut next_offsets,
                &mut checksum,
            );
        }
    }
    checksum
}

/// One sender loop: ready, drain, acknowledge everything drained. Returns the next check time.
fn sender_pass(
    accumulator: &mut RecordAccumulator,
    cluster: &ClusterView,
    now_ns: u64,
    next_offsets: &mut [i64; PARTITION_COUNT],
    checksum: &mut u64,
) -> u64 {
    let mut entropy = SplitMix64::new(now_ns);
    let check = accumulator.ready(now_ns, cluster);
    for request in accumulator.drain(now_ns, cluster, &check.ready_nodes) {
        for drained in request.batches {
            let partition = drained.partition.0 as usize;
            let base_offset = next_offsets[partition];
            next_offsets[partition] += i64::from(drained.record_count);
            let response = BatchResponse {
                now_ns,
                partition: drained.partition,
                batch_id: drained.batch_id,
                error: None,
                base_offset,
                log_start_offset: 0,
            };
            accumulator.complete(&response, &mut entropy);
            *checksum = checksum.wrapping_mul(31).wrapping_add(base_offset as u64);
        }
    }
    check.next_check_at_ns.unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drive_is_deterministic_and_acknowledges_records() {
        assert_eq!(drive(5_000), drive(5_000));
        assert_ne!(drive(5_000), 0);
    }
}
