//! The default experiment's speed: simulated records per wall-second for the whole world
//! (workload, accumulator, sender, network, three brokers with replication, checker).
//!
//! `cargo bench -p models --bench world`. One iteration is one virtual second of the default
//! experiment (100k records/s of 512 B, 3 brokers, RF 3, 6 partitions, linger.ms 5).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn default_world(c: &mut Criterion) {
    let mut group = c.benchmark_group("world");
    group.sample_size(10);
    group.throughput(Throughput::Elements(100_000));
    group.bench_function("default_experiment_1s_virtual", |b| {
        b.iter(|| {
            let stats = models::world::drive_default(1000.0, 1);
            assert_eq!(stats.records_acked, 100_000);
            stats
        });
    });
    group.finish();
}

criterion_group!(benches, default_world);
criterion_main!(benches);
