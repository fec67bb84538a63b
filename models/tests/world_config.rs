//! The `[workload]` and `[run]` sections as the experiment file writes them.

use models::producer::workload::{Arrivals, Keys, SendMode, ValueBytes, ValueDist, WorkloadConfig};
use models::world::{RunConfig, default_config, run};

#[test]
fn workload_and_run_sections_parse_from_toml() {
    let workload: WorkloadConfig = toml::from_str(
        r#"
        mode = "sync"
        arrivals = { kind = "poisson", per_sec = 2000 }
        keys = { kind = "zipf", count = 100, s = 1.1 }
        value_bytes = { dist = "uniform", min = 100, max = 900 }
        send_cpu_ms = 0.01
        flush_every_ms = 50
        records = 1000
        "#,
    )
    .expect("valid [workload]");
    assert_eq!(workload.mode, SendMode::Sync);
    assert_eq!(workload.arrivals, Arrivals::Poisson { per_sec: 2000.0 });
    assert_eq!(workload.keys, Keys::Zipf { count: 100, s: 1.1 });
    assert_eq!(
        workload.value_bytes,
        ValueBytes::Dist(ValueDist::Uniform { min: 100, max: 900 })
    );
    let constant: WorkloadConfig = toml::from_str("value_bytes = 512\narrivals = { kind = \"on_off\", per_sec = 100, on_ms = 10, off_ms = 90 }").expect("valid");
    assert_eq!(constant.value_bytes, ValueBytes::Constant(512));
    let run_section: RunConfig =
        toml::from_str("duration_ms = 2500\nsettle_ms = 1000\nseed = 9").expect("valid [run]");
    assert_eq!(run_section.duration_ms, 2500.0);
    assert_eq!(run_section.seed, 9);
}

#[test]
fn unknown_keys_are_rejected_with_the_key_named() {
    let err = toml::from_str::<WorkloadConfig>("rate = 5").expect_err("unknown key");
    assert!(err.to_string().contains("rate"), "{err}");
    let err = toml::from_str::<RunConfig>("duration = 5").expect_err("unknown key");
    assert!(err.to_string().contains("duration"), "{err}");
}

#[test]
fn a_config_that_cannot_run_gives_a_result_that_says_why() {
    let mut config = default_config();
    config.workload.arrivals = Arrivals::Constant { per_sec: -1.0 };
    let r = run(&config, 1, sim::Trace::off());
    assert_eq!(r.events, 0);
    assert!(
        r.warnings[0].contains("arrivals.per_sec"),
        "{:?}",
        r.warnings
    );
    let mut config = default_config();
    config.cluster.replication_factor = 5;
    let r = run(&config, 1, sim::Trace::off());
    assert!(
        r.warnings[0].starts_with("the run did not start"),
        "{:?}",
        r.warnings
    );
}
