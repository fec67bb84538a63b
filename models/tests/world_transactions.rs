//! The transactional producer in the whole world: commits at the workload's interval, the
//! coordinator's markers in the partition logs, and the exactly-once verdict from the final logs.

use models::cluster::config::NodeName;
use models::faults::{FaultAction, FaultsConfig, ScheduledFault};
use models::producer::workload::Arrivals;
use models::world::{RunResult, WorldConfig, WorldConfigError, default_config, run};

fn transactional(records: u64, per_sec: f64) -> WorldConfig {
    let mut config = default_config();
    config.producer.transactional_id = Some("orders".into());
    config.workload.arrivals = Arrivals::Constant { per_sec };
    config.workload.records = records;
    config.run.duration_ms = 0.0;
    config
}

fn traced(config: &WorldConfig, seed: u64) -> RunResult {
    run(config, seed, sim::Trace::keeping())
}

fn count(r: &RunResult, component: &str, kind: &str) -> usize {
    r.trace
        .events()
        .iter()
        .filter(|e| e.component.starts_with(component) && e.kind == kind)
        .count()
}

#[test]
fn committed_transactions_are_read_exactly_once_in_read_committed() {
    let mut config = transactional(2_000, 5_000.0);
    config.workload.commit_every_records = Some(100);
    let r = traced(&config, 1);
    let v = r
        .transactions
        .clone()
        .expect("a transactional run has a verdict");
    assert!(
        r.warnings
            .iter()
            .all(|w| !w.contains("transactions are not modelled"))
    );
    assert_eq!(v.committed_transactions, 20, "{v:?}\n{:?}", r.warnings);
    assert_eq!(v.committed_records, 2_000);
    assert_eq!(v.read_committed_records, 2_000);
    assert!(v.exactly_once(), "{v:?}");
    assert_eq!(v.read_uncommitted_aborted, 0);
    assert_eq!(v.beyond_lso, 0);
    // One COMMIT marker per partition of each transaction.
    assert!(v.markers.0 >= 20, "{v:?}");
    assert_eq!(v.markers.1, 0);
    assert!(count(&r, "producer", "txn_request") > 20);
}

/// A transactional producer's id comes from its coordinator only (Kafka's
/// `bumpIdempotentEpochAndResetIdIfNeeded` sends the plain InitProducerId only for a producer
/// that is not transactional), so no plain InitProducerId can hand the batches another id.
#[test]
fn a_transactional_producer_sends_no_plain_init_producer_id() {
    let mut config = transactional(200, 5_000.0);
    config.workload.commit_every_records = Some(50);
    let r = traced(&config, 1);
    assert_eq!(count(&r, "producer", "init_producer_id"), 0);
    let transactional_inits = r
        .trace
        .events()
        .iter()
        .filter(|e| {
            e.component == "producer"
                && e.kind == "txn_request"
                && e.field("api")
                    .is_some_and(|v| format!("{v:?}").contains("InitProducerId"))
        })
        .count();
    assert_eq!(transactional_inits, 1);
    assert!(r.transactions.expect("a verdict").exactly_once());
}

#[test]
fn a_plain_idempotent_run_has_no_transaction_verdict() {
    let mut config = default_config();
    config.workload.records = 200;
    config.run.duration_ms = 0.0;
    let r = run(&config, 1, sim::Trace::off());
    assert!(r.transactions.is_none());
}

fn schedule(faults: Vec<ScheduledFault>) -> FaultsConfig {
    FaultsConfig {
        schedule: faults,
        ..FaultsConfig::default()
    }
}

fn broker_fault(at_ms: f64, action: FaultAction, broker: u32) -> ScheduledFault {
    ScheduledFault {
        broker: Some(broker),
        ..ScheduledFault::new(at_ms, action)
    }
}

fn link_fault(at_ms: f64, action: FaultAction, broker: u32) -> ScheduledFault {
    ScheduledFault {
        link: Some([
            NodeName("client".into()),
            NodeName(format!("broker{broker}")),
        ]),
        ..ScheduledFault::new(at_ms, action)
    }
}

/// The broker that coordinates "orders" in the default three-broker cluster.
fn coordinator_of_orders() -> u32 {
    let config = transactional(1, 1.0);
    let streams = sim::RngStreams::new(1);
    let cluster =
        models::cluster::Cluster::new(&config.cluster, config.producer.kafka_version, &streams)
            .expect("the default cluster is valid");
    cluster
        .txn_coordinator_for("orders")
        .expect("every broker is up")
        .0
}

#[test]
fn the_commit_interval_and_the_transaction_timeout_are_checked_before_the_run() {
    let mut zero = transactional(10, 10.0);
    zero.workload.commit_every_records = Some(0);
    let error = zero.validate().unwrap_err().to_string();
    assert!(error.contains("commit_every_records"), "{error}");
    assert!(error.contains("at least 1 record"), "{error}");

    let mut plain = default_config();
    plain.workload.commit_every_ms = Some(50.0);
    let error = plain.validate().unwrap_err();
    assert!(matches!(error, WorldConfigError::Workload(ref e) if e.key == "commit_every_ms"));
    assert!(error.to_string().contains("transactional.id"), "{error}");

    let mut long = transactional(10, 10.0);
    long.producer.transaction_timeout_ms = 900_001;
    let error = long.validate().unwrap_err().to_string();
    assert!(error.contains("transaction.timeout.ms"), "{error}");
    assert!(error.contains("transaction.max.timeout.ms"), "{error}");
    long.cluster.transaction_max_timeout_ms = 1_000_000;
    long.validate().expect("a higher broker maximum allows it");
}

#[test]
fn a_crash_of_the_coordinator_moves_it_and_nothing_is_lost_or_doubled() {
    let coordinator = coordinator_of_orders();
    let mut config = transactional(4_000, 2_000.0);
    config.workload.commit_every_records = Some(200);
    config.faults = schedule(vec![
        broker_fault(700.0, FaultAction::Crash, coordinator),
        broker_fault(1_500.0, FaultAction::Restart, coordinator),
    ]);
    let r = traced(&config, 3);
    let v = r.transactions.clone().expect("transactional");
    assert!(v.exactly_once(), "{v:?}\n{:?}", r.warnings);
    assert!(v.committed_transactions >= 15, "{v:?}");
    // Another broker answered as coordinator while the first was down.
    let others = r
        .trace
        .events()
        .iter()
        .filter(|e| e.kind == "txn_request")
        .filter(|e| {
            e.component.starts_with("broker/") && e.component != format!("broker/{coordinator}")
        })
        .count();
    assert!(others > 0, "no other broker coordinated");
}

#[test]
fn a_hung_transaction_is_aborted_by_its_timeout_and_never_read_committed() {
    // The producer loses its coordinator link in the middle of a transaction for longer
    // than transaction.timeout.ms: the coordinator fences the epoch and aborts; the
    // producer's EndTxn then gets PRODUCER_FENCED, a fatal error.
    let coordinator = coordinator_of_orders();
    let mut config = transactional(3_000, 1_000.0);
    config.producer.transaction_timeout_ms = 1_000;
    config.workload.commit_every_records = Some(100);
    config.faults = schedule(vec![
        link_fault(250.0, FaultAction::Cut, coordinator),
        link_fault(12_000.0, FaultAction::Heal, coordinator),
    ]);
    let r = traced(&config, 5);
    let v = r.transactions.clone().expect("transactional");
    assert!(v.exactly_once(), "{v:?}\n{:?}", r.warnings);
    assert!(count(&r, "broker/", "txn_timeout") >= 1, "{v:?}");
    assert!(v.markers.1 >= 1, "an ABORT marker: {v:?}");
    assert!(v.read_uncommitted_aborted > 0, "{v:?}");
    assert!(count(&r, "app", "close_after_fatal") == 1, "{v:?}");
    assert!(v.aborted_transactions >= 1, "{v:?}");
}

/// Random crash and restart times of the coordinator's broker and of another broker, acks=all,
/// min.insync.replicas=2, no unclean election: read_committed has every committed record once
/// and nothing else.
#[test]
fn random_broker_crashes_never_break_exactly_once_in_read_committed() {
    let coordinator = coordinator_of_orders();
    let mut rng = sim::RngStreams::new(99).stream("test/crash_times");
    for seed in 0..12u64 {
        let mut config = transactional(3_000, 2_000.0);
        config.producer.acks = models::batching::config::Acks::All;
        config.cluster.min_insync_replicas = 2;
        config.cluster.unclean_leader_election_enable = false;
        config.workload.commit_every_records = Some(1 + rng.below(300));
        let victim = if seed % 2 == 0 {
            coordinator
        } else {
            (coordinator + 1) % 3
        };
        let crash = 50.0 + rng.below(1_200) as f64;
        let restart = crash + 100.0 + rng.below(1_500) as f64;
        config.faults = schedule(vec![
            broker_fault(crash, FaultAction::Crash, victim),
            broker_fault(restart, FaultAction::Restart, victim),
        ]);
        let r = run(&config, seed, sim::Trace::off());
        let v = r.transactions.clone().expect("transactional");
        assert!(
            v.exactly_once(),
            "seed {seed}, broker {victim} down {crash}..{restart} ms: {v:?}\n{:?}",
            r.warnings
        );
        assert!(v.committed_records > 0, "seed {seed}: {v:?}");
    }
}

/// The application thread may run its sends ahead inside one event in untraced runs: a commit
/// due at a later send waits for its own step, so a traced run (one event per send) gives the
/// same results.
#[test]
fn running_sends_ahead_gives_the_same_transactions_as_one_event_per_send() {
    let mut config = transactional(0, 50_000.0);
    config.run.duration_ms = 600.0;
    config.workload.commit_every_ms = Some(100.0);
    let fast = run(&config, 7, sim::Trace::off());
    let traced = run(&config, 7, sim::Trace::keeping());
    assert_eq!(fast.transactions, traced.transactions);
    assert_eq!(
        format!("{:?}", fast.metrics),
        format!("{:?}", traced.metrics)
    );
    let v = fast.transactions.expect("transactional");
    assert!(v.exactly_once(), "{v:?}");
    assert!(v.committed_transactions >= 5, "{v:?}");
    assert!(
        fast.events < traced.events,
        "the fast run took fewer events"
    );
}
