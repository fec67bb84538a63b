//! Criterion benchmark of the batching core's hot path: append + ready + drain + complete for
//! 1 KiB keyed records over 12 partitions on 3 nodes (`bench_support::drive`).
//!
//! Run with `cargo bench -p batching`; the throughput line reports records per second.

use std::hint::black_box;

use batching::bench_support::drive;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const RECORD_COUNT: u64 = 200_000;

fn accumulator(c: &mut Criterion) {
    let mut group = c.benchmark_group("accumulator");
    group.throughput(Throughput::Elements(RECORD_COUNT));
    group.sample_size(20);
    group.bench_function("append_ready_drain_complete_1KiB_12p_3n", |b| {
        b.iter(|| black_box(drive(black_box(RECORD_COUNT))))
    });
    group.finish();
}

criterion_group!(benches, accumulator);
criterion_main!(benches);
