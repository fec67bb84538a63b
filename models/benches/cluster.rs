//! Throughput of the network and the replicated brokers under the default experiment's load:
//! about 100k records/s (6 partitions, one 83-record batch per partition every 5 ms, acks=all,
//! RF 3) through a 3-broker cluster, trace off. Criterion reports simulated records per
//! wall-clock second as "elements/s".

#[path = "../tests/cluster_support/mod.rs"]
mod cluster_support;

use cluster_support::{Harness, Step, lan};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use models::cluster::ClusterConfig;
use models::protocol::Acks;
use sim::{Duration, Instant, Trace};

const VIRTUAL_MS: u64 = 5_000;
const RECORDS_PER_BATCH: u64 = 83;

fn run_load(acks: Acks) -> u64 {
    let mut h = Harness::with_trace(&ClusterConfig::default(), (&lan(), None), 1, Trace::off());
    h.world.keep_received = false;
    let until = Instant::from_millis(VIRTUAL_MS);
    h.at(
        1.0,
        Step::Load {
            interval: Duration::from_millis(5),
            records: RECORDS_PER_BATCH,
            acks,
            until,
        },
    );
    h.run_until((VIRTUAL_MS + 100) as f64);
    assert!(
        h.world.cluster.is_settled(),
        "replication keeps up with the load"
    );
    h.world.loaded_records
}

fn bench_cluster(c: &mut Criterion) {
    let records = run_load(Acks::All);
    let mut group = c.benchmark_group("cluster");
    group.sample_size(10);
    group.throughput(Throughput::Elements(records));
    group.bench_function("acks_all_100k_records_per_s_5s", |b| {
        b.iter(|| run_load(Acks::All))
    });
    group.bench_function("acks_1_100k_records_per_s_5s", |b| {
        b.iter(|| run_load(Acks::Leader))
    });
    group.finish();
}

criterion_group!(benches, bench_cluster);
criterion_main!(benches);
