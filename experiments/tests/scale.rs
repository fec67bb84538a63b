//! Scale and trace-cost behaviour of `linger run`: a topic of 10,000 partitions runs to the
//! end, and the trace is built only when asked for, without changing any metric.

use std::process::Command;

fn linger_json(args: &[&str]) -> serde_json::Value {
    let output = Command::new(env!("CARGO_BIN_EXE_linger"))
        .args(args)
        .output()
        .expect("the binary runs");
    assert!(
        output.status.success(),
        "linger {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("--json prints one JSON object")
}

fn metric(report: &serde_json::Value, name: &str) -> f64 {
    report["runs"][0]["metrics"][name]
        .as_f64()
        .unwrap_or_else(|| panic!("metric {name} in {report}"))
}

/// The baseline's acks=all producer without faults on 10,000 partitions: the run finishes and
/// every record sent is acknowledged and in the log exactly once.
#[test]
fn a_ten_thousand_partition_run_of_one_virtual_second_finishes() {
    let report = linger_json(&[
        "run",
        "baseline",
        "--duration-ms",
        "1000",
        "--set",
        "cluster.partitions=10000",
        "--json",
    ]);
    let sent = metric(&report, "records_sent");
    assert!(sent > 0.0, "{report}");
    assert_eq!(metric(&report, "records_acked"), sent);
    assert_eq!(metric(&report, "delivered_once"), sent);
    for class in ["lost_acked", "duplicated", "reordered", "records_failed"] {
        assert_eq!(metric(&report, class), 0.0, "{class}");
    }
}

/// Without `--trace` or `--trace-hash` no trace is built (no hash is printed); asking for the
/// hash changes no metric, and the same seed gives the same hash twice.
#[test]
fn linger_run_hashes_the_trace_only_when_asked_and_the_metrics_do_not_depend_on_it() {
    let plain = linger_json(&["run", "baseline", "--duration-ms", "300", "--json"]);
    let hashed = linger_json(&[
        "run",
        "baseline",
        "--duration-ms",
        "300",
        "--json",
        "--trace-hash",
    ]);
    let again = linger_json(&[
        "run",
        "baseline",
        "--duration-ms",
        "300",
        "--json",
        "--trace-hash",
    ]);
    assert!(plain["runs"][0]["trace_hash"].is_null(), "{plain}");
    let hash = hashed["runs"][0]["trace_hash"]
        .as_str()
        .expect("a hash with --trace-hash");
    assert_eq!(hash.len(), 16, "{hash}");
    assert_eq!(
        again["runs"][0]["trace_hash"],
        hashed["runs"][0]["trace_hash"]
    );
    assert_eq!(plain["runs"][0]["metrics"], hashed["runs"][0]["metrics"]);
}
