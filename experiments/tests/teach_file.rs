//! `linger teach FILE.toml`: any experiment file drawn as a teaching diagram, whole or in a
//! window of time or of record ids, and refused with a way out when it is too big to draw.

use std::path::Path;
use std::process::{Command, Output};

fn teach(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_linger"))
        .arg("teach")
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .output()
        .expect("the binary runs")
}

/// The baseline's cluster and producer at its rate, but only 5,000 records (tens of thousands of
/// events: too many to draw whole).
fn busy_file(name: &str) -> String {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("teach-file");
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(
        &path,
        "[experiment]\nname = \"busy\"\ndescription = \"5000 records at 100k/s\"\n\n\
         [workload]\narrivals = { kind = \"constant\", per_sec = 100000 }\nvalue_bytes = 512\n\
         records = 5000\n\n[run]\nduration_ms = 0\n",
    )
    .expect("scratch file");
    path.to_str().expect("utf-8").to_owned()
}

fn rows(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter(|line| {
            line.split_once(" |")
                .is_some_and(|(time, _)| time.trim().parse::<f64>().is_ok())
        })
        .collect()
}

fn row_times(stdout: &str) -> Vec<f64> {
    rows(stdout)
        .iter()
        .filter_map(|l| l.split_once(" |").and_then(|(t, _)| t.trim().parse().ok()))
        .collect()
}

// A scenario's mirror file draws the very diagram the scenario draws.
#[test]
fn a_scenario_file_draws_the_scenarios_diagram() {
    let by_name = teach(&["retry-duplicate"]);
    let by_file = teach(&["experiments/catalog/scenarios/retry-duplicate.toml"]);
    assert!(
        by_file.status.success(),
        "{}",
        String::from_utf8_lossy(&by_file.stderr)
    );
    let (a, b) = (
        String::from_utf8_lossy(&by_name.stdout),
        String::from_utf8_lossy(&by_file.stdout),
    );
    assert!(rows(&a).len() > 10);
    assert_eq!(rows(&a), rows(&b));
    assert!(b.contains("duplicated 1"), "{b}");
}

// A window of virtual time draws only the events inside it; the verdict is the whole run's.
#[test]
fn a_time_window_of_a_big_run_draws_only_its_events() {
    let file = busy_file("window");
    let output = teach(&[&file, "--from-ms", "3", "--to-ms", "6"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let times = row_times(&stdout);
    assert!(!times.is_empty());
    assert!(times.iter().all(|t| (3.0..=6.0).contains(t)), "{times:?}");
    assert!(
        stdout.contains("The events from 3.000 ms to 6.000 ms"),
        "{stdout}"
    );
    assert!(
        stdout.contains("sent 5000,"),
        "the verdict covers the whole run: {stdout}"
    );
}

// A window of record ids runs from the first record's send to the last one's answer.
#[test]
fn a_record_window_starts_at_the_first_send_and_ends_at_the_last_answer() {
    let output = teach(&[
        "experiments/catalog/scenarios/acks1-failover-loss.toml",
        "--records",
        "1..2",
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rows = rows(&stdout);
    assert!(
        rows.first().is_some_and(|r| r.contains("send record 1")),
        "{stdout}"
    );
    assert!(
        rows.last().is_some_and(|r| r.contains("record 2")),
        "{stdout}"
    );
}

#[test]
fn a_run_too_big_to_draw_is_refused_with_a_window_that_fits() {
    let file = busy_file("too-big");
    let output = teach(&[&file]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("a diagram draws at most 2000"), "{stderr}");
    assert!(stderr.contains("--to-ms"), "{stderr}");
    assert!(output.stdout.is_empty());
    for (args, needle) in [
        (
            vec![file.as_str(), "--records", "5"],
            "expected FIRST..LAST",
        ),
        (vec![file.as_str(), "--records", "9..3"], "FIRST <= LAST"),
        (vec![file.as_str(), "--from-ms=-1"], "--from-ms -1"),
        (
            vec![file.as_str(), "--from-ms", "9", "--to-ms", "3"],
            "the window is empty",
        ),
        (
            vec!["retry-duplicate", "--to-ms", "3"],
            "is a teaching scenario, drawn whole",
        ),
        (vec!["linger-batch-sweep"], "[sweep] axes"),
    ] {
        let output = teach(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}

// A saved trace draws the very rows its run drew; the verdict says the final logs are not in it.
#[test]
fn a_saved_trace_draws_the_runs_rows_without_judging() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("teach-file");
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let trace = dir.join("retry-duplicate.jsonl");
    let trace = trace.to_str().expect("utf-8");
    let run = teach(&["retry-duplicate", "--trace", trace]);
    assert!(run.status.success());
    let drawn = teach(&["--trace", trace]);
    let (a, b) = (
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&drawn.stdout),
    );
    assert!(
        drawn.status.success(),
        "{}",
        String::from_utf8_lossy(&drawn.stderr)
    );
    // The same rows, except that only the run knows the final logs: it marks the write that
    // made the duplicate, which the trace alone cannot tell.
    let (run_rows, trace_rows) = (rows(&a), rows(&b));
    assert_eq!(run_rows.len(), trace_rows.len());
    let mut marked = 0;
    for (from_run, from_trace) in run_rows.iter().zip(&trace_rows) {
        match from_run.split_once(" -- DUPLICATE WRITE") {
            Some((event, _)) => {
                marked += 1;
                let trace_event = from_trace.rsplit_once(" | ").map(|(_, t)| t);
                assert_eq!(event.rsplit_once(" | ").map(|(_, t)| t), trace_event);
            }
            None => assert_eq!(from_run, from_trace),
        }
    }
    assert_eq!(marked, 1, "the run marks the one duplicate write: {a}");
    assert!(b.contains("the final logs are not in a trace"), "{b}");
    assert!(
        !b.contains("duplicated 1"),
        "no checker class is claimed: {b}"
    );
    let window = teach(&["--trace", trace, "--to-ms", "9"]);
    let times = row_times(&String::from_utf8_lossy(&window.stdout));
    assert!(
        !times.is_empty() && times.iter().all(|t| *t <= 9.0),
        "{times:?}"
    );

    let bad = dir.join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"t\":0,\"c\":\"app\",\"k\":\"send\",\"f\":{}}\nnot json\n",
    )
    .expect("scratch");
    let output = teach(&["--trace", bad.to_str().expect("utf-8")]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("bad.jsonl:2: not a trace line"), "{stderr}");
    let output = teach(&[
        "--trace",
        dir.join("missing.jsonl").to_str().expect("utf-8"),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot read the trace"));
}
