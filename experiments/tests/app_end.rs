//! How the application's main thread ends (`[workload] end`), through the `linger` binary:
//! `exit` leaves what is still queued unsent and unanswered, `close` with `close_timeout_ms`
//! fails what is left when the timeout runs out, and the keys refuse what Kafka's API cannot do.

mod support;

use support::{assert_refused_with, get, linger_run, scratch};

const SUITE: &str = "app-end";

/// A producer sending 1,000 records of 100 B at 10,000/s with `linger.ms` = 50 to one broker,
/// ending with `end`.
fn experiment(end: &str) -> String {
    format!(
        "[producer]\n\"linger.ms\" = 50\n\n\
         [cluster]\nbrokers = 1\npartitions = 1\nreplication_factor = 1\n\"min.insync.replicas\" = 1\n\n\
         [workload]\narrivals = {{ kind = \"constant\", per_sec = 10000 }}\nvalue_bytes = 100\n\
         records = 1000\n{end}\n\n[run]\nduration_ms = 0\n"
    )
}

fn metrics(name: &str, end: &str) -> serde_json::Value {
    let output = linger_run(&scratch(SUITE, name), &experiment(end), &["--json"]);
    assert!(
        output.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let result: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON result");
    result["runs"][0]["metrics"].clone()
}

// A return from main leaves the last linger.ms worth of records unsent; a flush() sends them.
#[test]
fn exit_leaves_the_records_of_the_open_batch_unfinished_and_flush_sends_them() {
    let exited = metrics("exit", "end = \"exit\"");
    let unfinished = get(&exited, "records_unfinished");
    // 50 ms of linger at 10 records per ms: the open batch holds hundreds of records.
    assert!(
        (100.0..=600.0).contains(&unfinished),
        "records in the open batch at the exit: {unfinished}"
    );
    assert_eq!(get(&exited, "unfinished_absent"), unfinished);
    assert_eq!(get(&exited, "records_failed"), 0.0, "no callback runs");
    assert_eq!(get(&exited, "records_acked") + unfinished, 1000.0);

    let flushed = metrics("flush", "end = \"flush\"");
    assert_eq!(get(&flushed, "records_acked"), 1000.0);
    assert_eq!(get(&flushed, "records_unfinished"), 0.0);
    let closed = metrics("close", "end = \"close\"");
    assert_eq!(get(&closed, "records_acked"), 1000.0);
}

// close(Duration.ZERO) closes forcefully at once: the open batch fails unsent; nothing is left
// unfinished.
#[test]
fn close_with_a_zero_timeout_fails_the_open_batch_unsent() {
    let closed = metrics("close-zero", "end = \"close\"\nclose_timeout_ms = 0");
    let failed = get(&closed, "records_failed");
    assert!(failed >= 100.0, "the open batch fails: {failed}");
    assert_eq!(get(&closed, "failed_absent"), failed, "it was never sent");
    assert_eq!(get(&closed, "records_unfinished"), 0.0);
    assert_eq!(get(&closed, "records_acked") + failed, 1000.0);
}

#[test]
fn end_keys_refuse_what_the_api_cannot_do() {
    assert_refused_with(
        SUITE,
        "timeout-without-close",
        &experiment("end = \"exit\"\nclose_timeout_ms = 50"),
        &[
            "close_timeout_ms",
            "only with end = \"close\"",
            "end is \"exit\"",
        ],
    );
    assert_refused_with(
        SUITE,
        "unknown-end",
        &experiment("end = \"quit\""),
        &["workload.end", "\"flush\", \"close\" or \"exit\""],
    );
    assert_refused_with(
        SUITE,
        "negative-timeout",
        &experiment("end = \"close\"\nclose_timeout_ms = -1"),
        &["close_timeout_ms", "is not a duration"],
    );
}
