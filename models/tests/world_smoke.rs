//! Smoke test of the whole world: a short default run delivers every record exactly once.

use models::world::{default_config, run};

#[test]
fn a_short_default_run_delivers_every_record_once() {
    let mut config = default_config();
    config.run.duration_ms = 1000.0;
    config.workload.arrivals = models::producer::workload::Arrivals::Constant { per_sec: 10_000.0 };
    let result = run(&config, 1, sim::Trace::off());
    for (name, value) in &result.metrics {
        println!("{name} = {value}");
    }
    println!("warnings: {:?}", result.warnings);
    println!("events: {} time: {}", result.events, result.virtual_time_ns);
    assert!(result.warnings.is_empty(), "{:?}", result.warnings);
    assert_eq!(result.metric("records_sent"), Some(10_000.0));
    assert_eq!(result.metric("records_acked"), Some(10_000.0));
    assert_eq!(result.checker.delivered_once, 10_000);
}
