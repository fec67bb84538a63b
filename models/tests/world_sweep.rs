//! One fault schedule across the config matrix acks × idempotence × max.in.flight × retries,
//! every run judged by the checker: each combination must keep the guarantees Kafka gives it.
//!
//! The faults: 3% of responses lost, and the leader of partition 0 crashes at
//! 200 ms (clean election only) and comes back at 1.5 s. Small runs over a few seeds by default;
//! `RUN_SLOW_TESTS=1` runs 200 seeds per combination.

use models::batching::config::{KafkaVersion, Location, ProducerConfig, RawValue};
use models::cluster::config::DistConfig;
use models::faults::{FaultAction, FaultsConfig, ScheduledFault};
use models::producer::workload::{Arrivals, Keys, ValueBytes};
use models::world::{RunResult, WorldConfig, default_config, run};

#[derive(Clone, Copy, Debug)]
struct Combo {
    acks: &'static str,
    idempotence: bool,
    max_in_flight: u32,
    retries: u32,
}

fn combos() -> Vec<Combo> {
    let mut out = Vec::new();
    for acks in ["0", "1", "all"] {
        for idempotence in [false, true] {
            for max_in_flight in [1, 5] {
                for retries in [0, i32::MAX as u32] {
                    // Explicit idempotence needs acks=all and retries > 0 (a ConfigException
                    // otherwise, tested in the scenarios); those combinations do not run.
                    if idempotence && (acks != "all" || retries == 0) {
                        continue;
                    }
                    out.push(Combo {
                        acks,
                        idempotence,
                        max_in_flight,
                        retries,
                    });
                }
            }
        }
    }
    out
}

fn world(combo: Combo) -> WorldConfig {
    let entries = [
        ("acks", combo.acks.to_owned()),
        ("enable.idempotence", combo.idempotence.to_string()),
        (
            "max.in.flight.requests.per.connection",
            combo.max_in_flight.to_string(),
        ),
        ("retries", combo.retries.to_string()),
        ("request.timeout.ms", "300".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), RawValue::Str(v), Location::default()));
    let resolved =
        ProducerConfig::from_entries(KafkaVersion::V4_0, entries).expect("valid combination");
    let mut config = default_config();
    config.producer = resolved.config;
    config.workload.arrivals = Arrivals::Poisson { per_sec: 1000.0 };
    config.workload.keys = Keys::Uniform { count: 8 };
    config.workload.value_bytes = ValueBytes::Constant(200);
    config.workload.records = 300;
    config.run.duration_ms = 0.0;
    config.network.latency = DistConfig::Lognormal {
        median_ms: 0.5,
        sigma: 0.3,
    };
    // Responses only: a request lost while a later one on the same connection arrives is
    // something TCP never does (see world_properties.rs for what it would do to idempotence).
    config.network.response_loss = 0.03;
    config.cluster.broker_session_timeout_ms = 300.0;
    config.cluster.broker_heartbeat_interval_ms = 60.0;
    config.faults = FaultsConfig {
        schedule: vec![
            ScheduledFault {
                broker: Some(0),
                ..ScheduledFault::new(200.0, FaultAction::Crash)
            },
            ScheduledFault {
                broker: Some(0),
                ..ScheduledFault::new(1500.0, FaultAction::Restart)
            },
        ],
        ..FaultsConfig::default()
    };
    config
}

fn check_guarantees(combo: Combo, seed: u64, r: &RunResult) {
    let c = &r.checker;
    let ctx = format!("{combo:?} seed {seed}: {c:?}");
    assert_eq!(c.sent, 300, "{ctx}");
    let retries_on = combo.retries > 0;
    if combo.idempotence && combo.acks == "all" {
        // The idempotent producer with acks=all and clean elections.
        assert_eq!(c.duplicated, 0, "idempotence: no duplicates: {ctx}");
        assert_eq!(c.reordered, 0, "idempotence: no reordering: {ctx}");
        assert_eq!(c.acked_lost, 0, "acks=all: no acknowledged loss: {ctx}");
    }
    if combo.acks == "all" {
        assert_eq!(
            c.acked_lost, 0,
            "acks=all with clean election never loses an acknowledged record: {ctx}"
        );
    }
    if !retries_on || combo.acks == "0" {
        // Nothing is ever sent twice.
        assert_eq!(c.duplicated, 0, "no resend, no duplicate: {ctx}");
        assert_eq!(
            c.failed_present
                + c.delivered_once
                + c.silent_lost
                + c.failed_absent
                + c.acked_lost
                + c.unfinished_absent
                + c.unfinished_present,
            300,
            "{ctx}"
        );
    }
    if combo.max_in_flight == 1 {
        assert_eq!(
            c.reordered, 0,
            "max.in.flight=1 mutes the partition: no reordering: {ctx}"
        );
    }
    if combo.acks == "0" {
        assert_eq!(
            c.failed_absent + c.failed_present,
            0,
            "acks=0 reports no failure: {ctx}"
        );
    }
}

#[test]
fn every_combination_keeps_its_guarantees_under_lost_messages_and_a_leader_crash() {
    let seeds: u64 = if std::env::var_os("RUN_SLOW_TESTS").is_some() {
        200
    } else {
        2
    };
    let mut duplicates_seen_without_idempotence = 0;
    for combo in combos() {
        let config = world(combo);
        for seed in 1..=seeds {
            let r = run(&config, seed, sim::Trace::off());
            assert!(
                !r.warnings
                    .iter()
                    .any(|w| w.contains("stopped in phase") || w.contains("did not start")),
                "{combo:?} seed {seed}: {:?}",
                r.warnings
            );
            check_guarantees(combo, seed, &r);
            if !combo.idempotence && combo.retries > 0 && combo.acks != "0" {
                duplicates_seen_without_idempotence += r.checker.duplicated;
            }
        }
    }
    assert!(
        duplicates_seen_without_idempotence > 0,
        "the schedule is harsh enough to duplicate without idempotence"
    );
}
