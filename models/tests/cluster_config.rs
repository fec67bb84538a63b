//! Tests of the cluster, network and fault configs: defaults, TOML parsing, and every
//! validation error naming its key.

use models::cluster::{ClusterConfig, ConfigError};
use models::faults::{FaultAction, FaultsConfig, ScheduledFault};
use models::network::{Network, NetworkConfig};
use sim::RngStreams;

fn key_of(e: ConfigError) -> String {
    match e {
        ConfigError::Invalid { key, .. } => key,
    }
}

#[test]
fn defaults_are_valid_and_sane() {
    let c = ClusterConfig::default();
    c.validate(models::batching::config::KafkaVersion::default())
        .expect("default cluster");
    assert_eq!((c.brokers, c.replication_factor, c.partitions), (3, 3, 6));
    NetworkConfig::default()
        .validate(3)
        .expect("default network");
    FaultsConfig::default().validate(&c).expect("no faults");
    let p = c
        .params(models::batching::config::KafkaVersion::default())
        .expect("valid");
    assert_eq!(p.replica_lag_time_max.as_nanos(), 30_000_000_000);
    assert_eq!(p.effective_min_isr, 2);
}

#[test]
fn toml_uses_kafka_key_names_and_distribution_tables() {
    let text = r#"
        brokers = 5
        partitions = 12
        replication_factor = 3
        "min.insync.replicas" = 2
        "unclean.leader.election.enable" = true
        "replica.lag.time.max.ms" = 10000.5
    "#;
    let c: ClusterConfig = toml::from_str(text).expect("parses");
    assert_eq!(c.brokers, 5);
    assert!(c.unclean_leader_election_enable);
    assert_eq!(
        c.params(models::batching::config::KafkaVersion::default())
            .expect("valid")
            .replica_lag_time_max
            .as_nanos(),
        10_000_500_000
    );
    let net: NetworkConfig = toml::from_str(
        r#"
        latency = { dist = "lognormal", median_ms = 0.5, sigma = 0.3 }
        request_loss = 0.01
        [[links]]
        link = ["client", "broker1"]
        latency = { dist = "constant", ms = 2 }
    "#,
    )
    .expect("parses");
    Network::new(&net, 3, &RngStreams::new(1)).expect("valid");
    let err = toml::from_str::<ClusterConfig>("brokerz = 3").expect_err("unknown key");
    assert!(err.to_string().contains("brokerz"), "{err}");
    let err = toml::from_str::<NetworkConfig>(r#"latency = { dist = "constant", median_ms = 1 }"#)
        .expect_err("wrong field");
    assert!(err.to_string().contains("median_ms"), "{err}");
}

#[test]
fn cluster_errors_name_the_key() {
    let bad = |c: ClusterConfig| {
        key_of(
            c.validate(models::batching::config::KafkaVersion::default())
                .expect_err("invalid"),
        )
    };
    assert_eq!(
        bad(ClusterConfig {
            replication_factor: 4,
            ..ClusterConfig::default()
        }),
        "cluster.replication_factor"
    );
    assert_eq!(
        bad(ClusterConfig {
            min_insync_replicas: 4,
            replication_factor: 3,
            ..ClusterConfig::default()
        }),
        "cluster.\"min.insync.replicas\""
    );
    assert_eq!(
        bad(ClusterConfig {
            partitions: 0,
            ..ClusterConfig::default()
        }),
        "cluster.partitions"
    );
    assert_eq!(
        bad(ClusterConfig {
            brokers: 0,
            ..ClusterConfig::default()
        }),
        "cluster.brokers"
    );
    assert_eq!(
        bad(ClusterConfig {
            replica_lag_time_max_ms: -1.0,
            ..ClusterConfig::default()
        }),
        "cluster.\"replica.lag.time.max.ms\""
    );
    assert_eq!(
        bad(ClusterConfig {
            append_cost_per_byte_ns: f64::NAN,
            ..ClusterConfig::default()
        }),
        "cluster.append_cost_per_byte_ns"
    );
}

#[test]
fn network_errors_name_the_key() {
    let bad = |n: NetworkConfig| key_of(n.validate(3).expect_err("invalid"));
    assert_eq!(
        bad(NetworkConfig {
            request_loss: 1.5,
            ..NetworkConfig::default()
        }),
        "network.request_loss"
    );
    assert_eq!(
        bad(NetworkConfig {
            response_loss: -0.1,
            ..NetworkConfig::default()
        }),
        "network.response_loss"
    );
    let link: NetworkConfig =
        toml::from_str("[[links]]\nlink = [\"client\", \"broker3\"]").expect("parses");
    let e = link.validate(3).expect_err("broker 3 does not exist");
    assert!(e.to_string().contains("broker 3 does not exist"), "{e}");
    assert_eq!(key_of(e), "network.links[0].link");
    let bad_name: NetworkConfig =
        toml::from_str("[[links]]\nlink = [\"client\", \"kafka\"]").expect("parses");
    assert!(
        bad_name
            .validate(3)
            .expect_err("bad name")
            .to_string()
            .contains("allowed \"client\"")
    );
    let uniform: NetworkConfig =
        toml::from_str("latency = { dist = \"uniform\", lo_ms = 2, hi_ms = 1 }").expect("parses");
    assert_eq!(
        key_of(uniform.validate(3).expect_err("lo > hi")),
        "network.latency"
    );
}

fn fault(at_ms: f64, action: FaultAction) -> ScheduledFault {
    ScheduledFault::new(at_ms, action)
}

#[test]
fn fault_errors_name_the_key() {
    let c = ClusterConfig::default();
    let bad = |schedule: Vec<ScheduledFault>| {
        key_of(
            FaultsConfig {
                schedule,
                ..FaultsConfig::default()
            }
            .validate(&c)
            .expect_err("invalid"),
        )
    };
    assert_eq!(
        bad(vec![ScheduledFault {
            broker: Some(3),
            ..fault(1.0, FaultAction::Crash)
        }]),
        "faults.schedule[0].broker"
    );
    assert_eq!(
        bad(vec![fault(1.0, FaultAction::Restart)]),
        "faults.schedule[0].broker"
    );
    assert_eq!(
        bad(vec![fault(1.0, FaultAction::Cut)]),
        "faults.schedule[0].link"
    );
    assert_eq!(
        bad(vec![ScheduledFault {
            broker: Some(0),
            n: Some(0),
            ..fault(1.0, FaultAction::DropResponses)
        }]),
        "faults.schedule[0].n"
    );
    assert_eq!(
        bad(vec![ScheduledFault {
            extra_ms: Some(5.0),
            until_ms: Some(1.0),
            ..fault(2.0, FaultAction::LatencySpike)
        }]),
        "faults.schedule[0].until_ms"
    );
}

#[test]
fn fault_files_parse_and_random_rates_are_checked() {
    let c = ClusterConfig::default();
    let parsed: FaultsConfig = toml::from_str(
        r#"
        schedule = [ { at_ms = 1000, action = "crash", broker = 0 },
                     { at_ms = 2000, action = "cut", link = ["broker0", "broker1"] },
                     { at_ms = 3000, action = "latency_spike", extra_ms = 50, until_ms = 3500 } ]
        random = { crash_rate_per_broker_per_s = 0.01, restart_delay = { dist = "exponential", mean_ms = 500 } }
    "#,
    )
    .expect("parses");
    parsed.validate(&c).expect("valid");
    let unordered: FaultsConfig = toml::from_str(
        r#"schedule = [ { at_ms = 500, action = "restart", broker = 1 }, { at_ms = 100, action = "crash", broker = 1 } ]"#,
    )
    .expect("parses");
    let error = unordered
        .resolve(&c)
        .expect_err("a schedule that goes back in time is refused")
        .to_string();
    assert!(
        error.contains("faults.schedule[1].at_ms") && error.contains("time order"),
        "{error}"
    );
    let rate = FaultsConfig {
        random: models::faults::RandomFaultsConfig {
            link_flap_rate_per_s: -1.0,
            ..Default::default()
        },
        ..FaultsConfig::default()
    };
    assert_eq!(
        key_of(rate.validate(&c).expect_err("negative rate")),
        "faults.random.link_flap_rate_per_s"
    );
    let err = toml::from_str::<FaultsConfig>(r#"schedule = [ { at_ms = 1, action = "explode" } ]"#)
        .expect_err("unknown action");
    assert!(err.to_string().contains("explode"), "{err}");
}

#[test]
fn a_shutdown_of_a_broker_the_schedule_has_down_is_refused() {
    let c = ClusterConfig::default();
    let on = |at_ms: f64, action: FaultAction, b: u32| ScheduledFault {
        broker: Some(b),
        ..fault(at_ms, action)
    };
    let resolve = |schedule: Vec<ScheduledFault>| {
        FaultsConfig {
            schedule,
            ..FaultsConfig::default()
        }
        .resolve(&c)
    };
    let error = resolve(vec![
        on(1.0, FaultAction::Crash, 0),
        on(2.0, FaultAction::Shutdown, 0),
    ])
    .expect_err("broker 0 is down");
    assert_eq!(key_of(error.clone()), "faults.schedule[1].broker");
    assert!(
        error.to_string().contains("faults.schedule[0] stopped it"),
        "{error}"
    );
    let error = resolve(vec![
        on(1.0, FaultAction::Shutdown, 1),
        on(2.0, FaultAction::Crash, 1),
        on(3.0, FaultAction::Shutdown, 1),
    ])
    .expect_err("broker 1 is down");
    assert_eq!(key_of(error), "faults.schedule[2].broker");
    // Restarted in between, or another broker: fine.
    let ok = resolve(vec![
        on(1.0, FaultAction::Shutdown, 1),
        on(2.0, FaultAction::Restart, 1),
        on(3.0, FaultAction::Shutdown, 1),
        on(4.0, FaultAction::Shutdown, 2),
    ])
    .expect("each shutdown finds its broker up");
    assert_eq!(ok.len(), 4);
}
