//! The cluster differential in `cargo test`: the lost-acknowledgement pair (a dropped produce
//! response, idempotence off and on) on a real one-broker KRaft cluster on 127.0.0.1 and in
//! linger. Kafka's expected outcome holds on both sides: a duplicate without idempotence, none
//! with it, nothing lost or reordered. Needs `java` and `mvn` (Maven resolves the broker and
//! client from Maven Central on the first run); without them the test prints "skipped: ..." and
//! returns.

use std::path::PathBuf;

use experiments::crosscheck::cluster::{self, Agreement, ClusterOptions, ExperimentReport};

fn project() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("crosscheck")
}

fn row<'a>(e: &'a ExperimentReport, metric: &str) -> &'a cluster::Row {
    e.rows
        .iter()
        .find(|r| r.metric == metric)
        .unwrap_or_else(|| panic!("no {metric} row in {e:#?}"))
}

/// The delivery outcomes and counts this scenario is about; the batching and timing metrics are
/// compared by the full table (`linger crosscheck cluster`), where a disagreement is recorded.
const GATE: [&str; 7] = [
    "lost_acked",
    "duplicated",
    "reordered",
    "records_failed",
    "records_acked",
    "duplicate_copies",
    "record-retry-total",
];

#[test]
fn a_dropped_produce_response_duplicates_without_idempotence_and_not_with_it_on_both_sides() {
    if let Err(error) = experiments::crosscheck::java::check_tools() {
        println!("skipped: {error}");
        return;
    }
    let results = std::env::temp_dir().join(format!("linger-cluster-test-{}", std::process::id()));
    let names = [
        "lost-ack-plain".to_string(),
        "lost-ack-idempotent".to_string(),
    ];
    let options = ClusterOptions {
        experiments: cluster::experiment_files(&project(), &names).expect("the experiments exist"),
        runs: 1,
        project: project(),
        results_dir: results.clone(),
        metrics: GATE.iter().map(ToString::to_string).collect(),
    };
    let report =
        cluster::run_cluster(&options, &mut |_| {}).expect("the cluster differential runs");
    let _ = std::fs::remove_dir_all(&results);
    assert!(report.kafka.starts_with("4.0."), "{}", report.kafka);
    let [plain, idempotent] = report.experiments.as_slice() else {
        panic!("two experiments expected: {report:#?}");
    };
    for e in [plain, idempotent] {
        assert!(e.skipped.is_none(), "{e:#?}");
        assert!(e.isolation_levels_agree, "{e:#?}");
        for metric in ["lost_acked", "reordered"] {
            let r = row(e, metric);
            assert!(r.real.iter().all(|v| *v == 0.0) && r.linger == 0.0, "{r:?}");
        }
    }
    let dup = row(plain, "duplicated");
    assert!(
        dup.real.iter().all(|v| *v >= 1.0) && dup.linger >= 1.0,
        "{dup:?}"
    );
    let dup = row(idempotent, "duplicated");
    assert!(
        dup.real.iter().all(|v| *v == 0.0) && dup.linger == 0.0,
        "{dup:?}"
    );
    for e in [plain, idempotent] {
        let out: Vec<_> = e
            .rows
            .iter()
            .filter(|r| !matches!(r.agreement, Agreement::Agree))
            .collect();
        assert!(out.is_empty(), "{}: disagreements {out:#?}", e.name);
    }
}
