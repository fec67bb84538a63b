//! Regression tests for inputs that once crashed `linger run` or were silently changed: each
//! file in `tests/repro/` is a copy of a reproduction from a random input campaign. Values
//! Kafka accepts run to a sane end (exit 0); simulator values out of range, and values of the
//! wrong type, are refused with exit code 2 and a message naming the key, its line and what
//! is allowed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repro(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("repro")
        .join(name)
}

fn run(name: &str, extra: &[&str]) -> Output {
    let path = repro(name);
    assert!(path.exists(), "missing {}", path.display());
    Command::new(env!("CARGO_BIN_EXE_linger"))
        .arg("run")
        .arg(&path)
        .args(extra)
        .output()
        .expect("the binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A metric from the run's summary, e.g. `records_sent              1,000`.
fn metric(output: &Output, name: &str) -> u64 {
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text
        .lines()
        .find(|line| line.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no metric {name} in:\n{text}"));
    let value = line.split_whitespace().nth(1).expect("a value");
    value
        .replace(',', "")
        .parse()
        .unwrap_or_else(|_| panic!("{name} = {value} is not a count"))
}

/// The run finished with exit 0, every record has an outcome, and nothing acked was lost.
fn assert_sane_run(output: &Output, records: u64) {
    let err = stderr(output);
    assert_eq!(output.status.code(), Some(0), "stderr:\n{err}");
    assert!(!err.contains("broken invariant"), "{err}");
    let sent = metric(output, "records_sent");
    assert_eq!(sent, records);
    let acked = metric(output, "records_acked");
    let failed = metric(output, "records_failed");
    let unfinished = metric(output, "records_unfinished");
    assert_eq!(acked + failed + unfinished, sent);
    assert_eq!(metric(output, "lost_acked"), 0);
}

/// The file is refused with exit 2 and a message at `file:line` naming `key` and `allowed`.
fn assert_refused(name: &str, line: usize, key: &str, allowed: &str) {
    let output = run(name, &[]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "stderr:\n{err}");
    let at = format!("{name}:{line}");
    assert!(err.contains(&at), "expected {at} in: {err}");
    assert!(err.contains(key), "expected the key {key} in: {err}");
    assert!(err.contains(allowed), "expected `{allowed}` in: {err}");
    for rust_word in ["u32", "u64", "f64", "ValueBytes", "enum", "panicked"] {
        assert!(!err.contains(rust_word), "`{rust_word}` in: {err}");
    }
}

#[test]
fn linger_ms_long_max_is_clamped_to_integer_max_and_runs() {
    let output = run("linger-ms-long-max.toml", &[]);
    assert_sane_run(&output, 1_000);
    // Flushed at the end of the send phase, every record is acked although linger never ends.
    assert_eq!(metric(&output, "records_acked"), 1_000);
    let warnings = String::from_utf8_lossy(&output.stdout);
    assert!(warnings.contains("Setting it to 2147483647"), "{warnings}");
}

#[test]
fn reconnect_backoff_long_max_never_reconnects_and_runs_to_the_end() {
    let output = run("reconnect-backoff-overflow.toml", &[]);
    assert_sane_run(&output, 10);
}

#[test]
fn run_phases_above_the_maximum_are_refused() {
    let allowed = "allowed 0 ..= 10000000000 ms";
    assert_refused("run-drain_ms-1e300.toml", 3, "drain_ms", allowed);
    assert_refused("run-duration-1e300.toml", 2, "duration_ms", allowed);
    assert_refused("run-settle_ms-1e300.toml", 3, "settle_ms", allowed);
    let output = run("run-drain_ms-1e300.toml", &[]);
    assert!(stderr(&output).contains("1e300"), "{}", stderr(&output));
}

#[test]
fn an_off_period_above_the_maximum_is_refused() {
    assert_refused(
        "onoff-off-huge.toml",
        2,
        "arrivals.off_ms",
        "allowed 0 ..= 10000000000 ms",
    );
}

#[test]
fn an_append_cost_above_the_maximum_is_refused() {
    assert_refused(
        "append-cost-byte.toml",
        2,
        "cluster.append_cost_per_byte_ns",
        "allowed 0 ..= 1000000 ns",
    );
}

#[test]
fn heavy_tailed_fault_durations_are_bounded() {
    assert_refused(
        "flap-exp-mean.toml",
        3,
        "faults.random.link_flap_duration.mean_ms",
        "allowed 0 ..= 10000000000 ms",
    );
    assert_refused(
        "flap-lognormal-sigma-10.toml",
        3,
        "faults.random.link_flap_duration.sigma",
        "allowed 0 ..= 5",
    );
}

#[test]
fn a_rate_above_one_record_per_nanosecond_is_refused_not_changed() {
    assert_refused(
        "rate-2e9-silently-1e9.toml",
        2,
        "arrivals.per_sec",
        "allowed 1e-7 ..= 1e9",
    );
}

#[test]
fn type_errors_name_the_key_its_line_and_what_is_allowed() {
    assert_refused(
        "msg-brokers-negative.toml",
        2,
        "cluster.brokers",
        "a whole number from 1 to 100",
    );
    assert_refused(
        "msg-drain-string.toml",
        3,
        "run.drain_ms",
        "a number of milliseconds",
    );
    assert_refused(
        "msg-value-bytes-huge.toml",
        2,
        "workload.value_bytes",
        "a byte count from 0 to 2147483647, or a table",
    );
    assert_refused(
        "msg-float-zero-for-long.toml",
        2,
        "linger.ms",
        "but it was a float (0.0): write a whole number without a decimal point, such as 0",
    );
}
