//! What a tuner reads must not mislead: a point where nothing was acknowledged has empty
//! metrics (n/a in text, NaN in CSV, null in JSON) and never wins a ranking; the listing and the
//! error texts name the commands that work.

mod support;

use std::path::Path;
use std::process::{Command, Output};

fn linger(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_linger"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Every send fails inside `send()`: a 2,000,000-byte value is above `max.request.size`.
const ALL_FAILED: &str = r#"
[workload]
value_bytes = 2000000
records = 40
arrivals = { kind = "constant", per_sec = 1000 }

[run]
duration_ms = 0
"#;

#[test]
fn run_on_a_point_where_every_send_failed_prints_n_a_and_a_warning_not_zero() {
    let dir = support::scratch("honest", "run-all-failed");
    let output = support::linger_run(&dir, ALL_FAILED, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    let line = text
        .lines()
        .find(|line| line.trim_start().starts_with("latency_p99_ms"))
        .expect("a p99 line");
    assert!(line.ends_with("n/a"), "{line}");
    assert!(
        text.contains("no record was acknowledged (40 sent, 40 failed"),
        "{text}"
    );
    assert!(!text.contains("warnings (0)"), "{text}");
    let output = support::linger_run(&dir, ALL_FAILED, &["--json"]);
    let value: serde_json::Value =
        serde_json::from_str(stdout(&output).trim()).expect("one JSON object");
    let metrics = &value["runs"][0]["metrics"];
    assert!(metrics["latency_p99_ms"].is_null(), "{metrics}");
    assert_eq!(metrics["records_acked"].as_f64(), Some(0.0));
}

/// The audit's misleading report: a sweep over value sizes where the largest fails every send
/// must not recommend that point, and its result rows hold empty latencies.
#[test]
fn a_sweep_point_where_every_send_failed_has_empty_cells_and_never_wins_the_report() {
    let dir = support::scratch("honest", "sweep-all-failed");
    let file = dir.join("values.toml");
    let text = format!(
        "{}\n[producer]\nacks = \"all\"\n\n[sweep.workload]\nvalue_bytes = [512, 2000000]\n",
        ALL_FAILED.replace("value_bytes = 2000000\n", "")
    );
    std::fs::write(&file, text).expect("writes");
    let out = dir.join("out");
    let file_arg = file.to_string_lossy().into_owned();
    let out_arg = out.to_string_lossy().into_owned();
    let sweep = linger(&["sweep", &file_arg, "--out", &out_arg]);
    assert!(sweep.status.success(), "{}", stderr(&sweep));
    let csv = std::fs::read_to_string(out.join("results.csv")).expect("results written");
    let header: Vec<&str> = csv.lines().next().expect("a header").split(',').collect();
    let p99 = header
        .iter()
        .position(|c| *c == "latency_p99_ms")
        .expect("a p99 column");
    let failed_row: Vec<&str> = csv
        .lines()
        .find(|line| line.starts_with("1,"))
        .expect("point 1")
        .split(',')
        .collect();
    assert_eq!(failed_row[p99], "NaN", "{csv}");
    let report = linger(&["report", &out_arg]);
    assert!(report.status.success(), "{}", stderr(&report));
    let md = std::fs::read_to_string(out.join("report.md")).expect("report written");
    let ranking: Vec<&str> = md
        .lines()
        .skip_while(|line| !line.starts_with("## Best configurations"))
        .take_while(|line| !line.starts_with("## Plots"))
        .filter(|line| line.starts_with("| highest") || line.starts_with("| lowest"))
        .collect();
    assert!(!ranking.is_empty(), "{md}");
    for row in &ranking {
        assert!(!row.contains("value_bytes=2000000"), "{row}");
    }
    assert!(
        md.contains("n/a: no record was acknowledged (40 sent, 40 failed)"),
        "{md}"
    );
}

#[test]
fn list_names_the_command_of_each_kind_and_run_points_a_scenario_to_it() {
    let output = linger(&["list"]);
    let text = stdout(&output);
    assert!(
        text.contains(
            "teaching scenarios (linger teach NAME draws one; linger run --scenario NAME runs it)"
        ),
        "{text}"
    );
    assert!(!text.contains("run one: linger run NAME (or"), "{text}");
    let output = linger(&["run", "acks0-lost"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("`linger run --scenario acks0-lost`"),
        "{}",
        stderr(&output)
    );
    let output = linger(&["run", "--scenario", "acks0-lost"]);
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn teach_with_an_output_file_but_no_scenario_is_bad_input_and_writes_nothing() {
    let dir = support::scratch("honest", "teach-no-name");
    let html = dir.join("f.html");
    let html_arg = html.to_string_lossy().into_owned();
    let output = linger(&["teach", "--html", &html_arg]);
    assert_eq!(output.status.code(), Some(2), "{}", stdout(&output));
    assert!(
        stderr(&output).contains("needs something to draw: linger teach NAME|FILE.toml --html"),
        "{}",
        stderr(&output)
    );
    assert!(!Path::new(&html).exists());
}

#[test]
fn an_unmodelled_kafka_version_is_named_with_the_supported_ones() {
    let dir = support::scratch("honest", "kafka-version");
    let file = dir.join("producer.properties");
    std::fs::write(&file, "acks=all\n").expect("writes");
    let file_arg = file.to_string_lossy().into_owned();
    let output = linger(&["check-config", "--kafka-version", "2.8", &file_arg]);
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert!(text.contains("no profile for Kafka 2.8"), "{text}");
    assert!(text.contains("3.0 to 3.9 or 4.0 to 4.2"), "{text}");
    assert!(!text.contains("expected MAJOR.MINOR"), "{text}");
}
