//! The transactional producer in the whole world: commits at the workload's interval, the
//! coordinator's markers in the partition logs, and the exactly-once verdict from the final logs.

use models::producer::workload::Arrivals;
use models::world::{RunResult, WorldConfig, default_config, run};

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

#[test]
fn a_plain_idempotent_run_has_no_transaction_verdict() {
    let mut config = default_config();
    config.workload.records = 200;
    config.run.duration_ms = 0.0;
    let r = run(&config, 1, sim::Trace::off());
    assert!(r.transactions.is_none());
}

#[test]
#[ignore = "prints a traced run for inspection"]
fn print_run() {
    let mut config = transactional(300, 5_000.0);
    config.workload.commit_every_records = Some(100);
    let r = traced(&config, 1);
    for e in r.trace.events().iter().filter(|e| {
        e.kind.starts_with("txn") || e.component == "app" || e.kind == "init_transactions"
    }) {
        println!("{e:?}");
    }
    println!("{:?}\n{:?}", r.transactions, r.warnings);
}
