//! Determinism: the same seed gives the same trace hash and metrics; different seeds differ.

use models::cluster::config::DistConfig;
use models::producer::workload::{Arrivals, Keys};
use models::world::{WorldConfig, default_config, run};

fn noisy_world() -> WorldConfig {
    let mut config = default_config();
    config.run.duration_ms = 300.0;
    config.workload.arrivals = Arrivals::Poisson { per_sec: 5_000.0 };
    config.workload.keys = Keys::Zipf { count: 50, s: 1.1 };
    config.network.latency = DistConfig::Lognormal {
        median_ms: 0.5,
        sigma: 0.4,
    };
    config.network.response_loss = 0.01;
    config
}

#[test]
fn the_same_seed_gives_the_same_trace_and_metrics() {
    let config = noisy_world();
    let a = run(&config, 42, sim::Trace::hashing());
    let b = run(&config, 42, sim::Trace::hashing());
    assert!(
        a.trace.event_count() > 1000,
        "the trace is on: {}",
        a.trace.event_count()
    );
    assert_eq!(a.trace_hash, b.trace_hash);
    assert_eq!(a.events, b.events);
    assert_eq!(a.metric_bits(), b.metric_bits());
    assert_eq!(a.checker, b.checker);
}

#[test]
fn different_seeds_give_different_runs() {
    let config = noisy_world();
    let a = run(&config, 1, sim::Trace::hashing());
    let b = run(&config, 2, sim::Trace::hashing());
    assert_ne!(a.trace_hash, b.trace_hash);
    assert_ne!(
        a.metric("records_sent"),
        b.metric("records_sent"),
        "Poisson arrivals differ"
    );
}

#[test]
fn tracing_does_not_change_the_run() {
    let config = noisy_world();
    let off = run(&config, 7, sim::Trace::off());
    let on = run(&config, 7, sim::Trace::hashing());
    assert_eq!(off.events, on.events);
    assert_eq!(off.metric_bits(), on.metric_bits());
}
