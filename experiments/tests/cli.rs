//! End-to-end tests of the `linger` binary: the README's commands, sweeps that must give the same
//! bytes whatever the threads, shards and interruptions, and every kind of bad input (exit code
//! 2, a message naming the key/file/line, nothing written).

use std::path::{Path, PathBuf};
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

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("linger-cli")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("writes");
    path.to_string_lossy().into_owned()
}

/// A small sweep: 6 points x 2 replicates of a short, light world.
const SMALL_SWEEP: &str = r#"
[experiment]
name = "small"

[producer]
acks = "all"

[workload]
arrivals = { kind = "constant", per_sec = 2000 }

[run]
seed = 42
replicates = 2
duration_ms = 200

[sweep.producer]
"linger.ms" = [0, 5, 20]
"batch.size" = [16384, 65536]
"#;

const RESULT_FILES: [&str; 4] = [
    "manifest.json",
    "results.csv",
    "results.jsonl",
    "summary.csv",
];

fn result_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    RESULT_FILES
        .iter()
        .map(|name| {
            (
                name.to_string(),
                std::fs::read(dir.join(name)).expect("result file exists"),
            )
        })
        .collect()
}

fn sweep_ok(file: &str, out: &Path, extra: &[&str]) -> Output {
    let out_text = out.to_string_lossy();
    let mut args = vec!["sweep", file, "--out", &out_text];
    args.extend_from_slice(extra);
    let output = linger(&args);
    assert!(output.status.success(), "sweep failed: {}", stderr(&output));
    output
}

#[test]
fn readme_run_prints_a_summary_with_seed_and_replay() {
    let output = linger(&["run", "--duration-ms", "200"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("experiment  baseline"), "{text}");
    assert!(text.contains("seed        master 1"), "{text}");
    assert!(
        text.contains("replay      linger run baseline --seed 1 --duration-ms 200"),
        "{text}"
    );
    for heading in ["throughput", "latency", "delivery checker", "warnings"] {
        assert!(text.contains(heading), "missing {heading}: {text}");
    }
}

#[test]
fn run_json_is_one_object_and_the_seed_replays() {
    let first = linger(&["run", "--json", "--duration-ms", "200", "--seed", "7"]);
    assert!(first.status.success(), "{}", stderr(&first));
    let value: serde_json::Value =
        serde_json::from_str(stdout(&first).trim()).expect("one JSON object");
    assert_eq!(value["master_seed"], 7);
    assert!(
        value["runs"][0]["metrics"]["throughput_records_per_s"].is_number(),
        "{value}"
    );
    let again = linger(&["run", "--json", "--duration-ms", "200", "--seed", "7"]);
    assert_eq!(
        stdout(&first),
        stdout(&again),
        "the same seed gives the same bytes"
    );
}

#[test]
fn run_writes_a_json_lines_trace() {
    let dir = scratch("trace");
    let trace = dir.join("t.jsonl");
    let output = linger(&[
        "run",
        "--duration-ms",
        "50",
        "--trace",
        &trace.to_string_lossy(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = std::fs::read_to_string(&trace).expect("trace written");
    for line in text.lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("each line is JSON");
    }
}

#[test]
fn sweep_bytes_do_not_depend_on_threads_shards_or_interruptions() {
    let dir = scratch("identical");
    let file = write(&dir, "small.toml", SMALL_SWEEP);
    let one = dir.join("one");
    sweep_ok(&file, &one, &["--threads", "1"]);
    let csv =
        String::from_utf8(std::fs::read(one.join("results.csv")).expect("csv")).expect("utf-8");
    assert!(
        csv.starts_with("point,replicate,seed,producer.linger.ms,producer.batch.size,"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 1 + 6 * 2, "{csv}");

    let two = dir.join("two");
    sweep_ok(&file, &two, &["--threads", "2"]);
    assert_eq!(result_files(&one), result_files(&two), "1 vs 2 threads");

    let resumed = dir.join("resumed");
    sweep_ok(
        &file,
        &resumed,
        &["--threads", "2", "--max-points-this-run", "3"],
    );
    let partial = std::fs::read_to_string(resumed.join("results.csv")).expect("partial csv");
    assert_eq!(
        partial.lines().count(),
        1 + 3 * 2,
        "three points kept: {partial}"
    );
    let second = sweep_ok(&file, &resumed, &["--threads", "2"]);
    assert!(
        stderr(&second).contains("3 finished now, 3 before"),
        "{}",
        stderr(&second)
    );
    assert_eq!(
        result_files(&one),
        result_files(&resumed),
        "stopped and resumed"
    );

    let mut shard_dirs = Vec::new();
    for k in 1..=3 {
        let shard_dir = dir.join(format!("shard{k}"));
        sweep_ok(&file, &shard_dir, &["--shard", &format!("{k}/3")]);
        shard_dirs.push(shard_dir.to_string_lossy().into_owned());
    }
    let merged = dir.join("merged");
    let mut args = vec!["merge"];
    args.extend(shard_dirs.iter().map(String::as_str));
    let merged_text = merged.to_string_lossy().into_owned();
    args.extend(["--out", &merged_text]);
    let output = linger(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(result_files(&one), result_files(&merged), "merged shards");
}

#[test]
fn a_finished_sweep_rerun_changes_nothing() {
    let dir = scratch("rerun");
    let file = write(&dir, "small.toml", SMALL_SWEEP);
    let out = dir.join("out");
    sweep_ok(&file, &out, &[]);
    let before = result_files(&out);
    let again = sweep_ok(&file, &out, &[]);
    assert!(
        stderr(&again).contains("0 finished now, 6 before"),
        "{}",
        stderr(&again)
    );
    assert_eq!(before, result_files(&out));
}

/// Runs `args`, expects exit code 2 and a message containing every `needle`.
fn expect_bad_input(args: &[&str], needles: &[&str]) -> String {
    let output = linger(args);
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{args:?}: {message}");
    for needle in needles {
        assert!(
            message.contains(needle),
            "{args:?}: missing `{needle}` in: {message}"
        );
    }
    message
}

#[test]
fn bad_experiment_files_exit_2_with_location_and_write_nothing() {
    let dir = scratch("bad");
    let cases: [(&str, &str, &[&str]); 8] = [
        (
            "malformed.toml",
            "[producer]\n\"linger.ms\" = = 5\n",
            &["malformed.toml:2:", "malformed TOML"],
        ),
        (
            "section.toml",
            "[workload]\n[netwrok]\nx = 1\n",
            &["section.toml:2:", "did you mean `network`?"],
        ),
        (
            "key.toml",
            "[workload]\nrecrds = 5\n",
            &["key.toml:2:", "recrds", "did you mean `records`?"],
        ),
        (
            "producer.toml",
            "[producer]\n\"lingr.ms\" = 5\n",
            &["producer.toml:2", "lingr.ms", "linger.ms"],
        ),
        (
            "axis.toml",
            "[sweep.workload]\nrecrds = [1, 2]\n",
            &["axis.toml:2:", "workload.recrds", "records"],
        ),
        (
            "empty.toml",
            "[sweep.producer]\n\"linger.ms\" = []\n",
            &["empty.toml:2:", "producer.linger.ms", "empty"],
        ),
        (
            "props.toml",
            "[producer]\nproperties = \"missing.properties\"\n",
            &["props.toml:2", "missing.properties"],
        ),
        (
            "value.toml",
            "[sweep.producer]\n\"linger.ms\" = [5, -3]\n",
            &["value.toml:2:", "producer.linger.ms"],
        ),
    ];
    for (name, text, needles) in cases {
        let file = write(&dir, name, text);
        let out = dir.join(format!("{name}.out"));
        expect_bad_input(&["sweep", &file, "--out", &out.to_string_lossy()], needles);
        assert!(!out.exists(), "{name}: nothing may be written");
    }
}

#[test]
fn bad_command_lines_exit_2() {
    let dir = scratch("bad-cli");
    let file = write(&dir, "small.toml", SMALL_SWEEP);
    let out = dir.join("out");
    let out_text = out.to_string_lossy().into_owned();
    expect_bad_input(&["run", "--seed", "abc"], &["--seed"]);
    // A trace file that cannot be created is an operational failure (exit 1), not bad input.
    let output = linger(&["run", "--trace", "/nonexistent-dir/t.jsonl"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("/nonexistent-dir/t.jsonl"),
        "{}",
        stderr(&output)
    );
    expect_bad_input(&["run", "no-such-experiment"], &["no-such-experiment"]);
    expect_bad_input(
        &["sweep", &file, "--out", &out_text, "--max-points", "5"],
        &["6 points", "--max-points"],
    );
    expect_bad_input(
        &["sweep", &file, "--out", &out_text, "--shard", "4/3"],
        &["4/3"],
    );
    assert!(!out.exists(), "nothing may be written");
    expect_bad_input(
        &["check-config", "/nonexistent.properties"],
        &["/nonexistent.properties"],
    );
}

#[test]
fn an_out_dir_of_another_experiment_is_refused_unless_forced() {
    let dir = scratch("other");
    let file = write(&dir, "small.toml", SMALL_SWEEP);
    let out = dir.join("out");
    let out_text = out.to_string_lossy().into_owned();
    sweep_ok(&file, &out, &[]);
    let before = result_files(&out);
    let other = write(
        &dir,
        "other.toml",
        &SMALL_SWEEP.replace("seed = 42", "seed = 43"),
    );
    expect_bad_input(
        &["sweep", &other, "--out", &out_text],
        &["different experiment", "--force"],
    );
    assert_eq!(before, result_files(&out), "the refused run wrote nothing");
    sweep_ok(&other, &out, &["--force"]);
    assert_ne!(before, result_files(&out));
}

#[test]
fn check_config_lists_defaults_and_refuses_conflicts() {
    let dir = scratch("check-config");
    let good = write(&dir, "good.properties", "linger.ms=7\nacks=1\n");
    let output = linger(&["check-config", &good]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains("linger.ms") && text.contains("good.properties:1"),
        "{text}"
    );
    assert!(text.contains("# default"), "{text}");
    let bad = write(&dir, "bad.properties", "acks=1\nenable.idempotence=true\n");
    let output = linger(&["check-config", &bad]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stdout(&output).contains("error: "), "{}", stdout(&output));
    assert!(
        stderr(&output).contains("1 error (Kafka would also refuse it: ConfigException)"),
        "{}",
        stderr(&output)
    );
}

/// Kafka 3.0.0 and 3.1.0 left idempotence off unless `enable.idempotence` was set
/// (KAFKA-13598); 3.0.1 fixed it. `check-config` shows the effective value and why.
#[test]
fn check_config_shows_idempotence_off_on_3_0_0_unless_set() {
    let dir = scratch("check-config-3-0-0");
    let plain = write(&dir, "plain.properties", "linger.ms=1\n");
    let output = linger(&["check-config", &plain, "--kafka-version", "3.0.0"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    let row = |key: &str| {
        text.lines()
            .find(|line| line.starts_with(key))
            .unwrap_or_else(|| panic!("no {key} row in {text}"))
            .to_owned()
    };
    assert!(row("linger.kafka.version").contains("= 3.0.0"), "{text}");
    assert!(row("enable.idempotence").contains("= false"), "{text}");
    assert!(row("enable.idempotence").contains("KAFKA-13598"), "{text}");
    assert!(row("acks").contains("= all"), "{text}");
    let output = linger(&["check-config", &plain, "--kafka-version", "3.0.1"]);
    let text = stdout(&output);
    assert!(
        text.contains("the defaults and rules of Kafka 3.0.1"),
        "{text}"
    );
    let idempotence = text
        .lines()
        .find(|line| line.starts_with("enable.idempotence"))
        .expect("a row");
    assert!(idempotence.contains("= true"), "{idempotence}");
    let explicit = write(&dir, "explicit.properties", "enable.idempotence=true\n");
    let output = linger(&["check-config", &explicit, "--kafka-version", "3.0.0"]);
    let text = stdout(&output);
    let idempotence = text
        .lines()
        .find(|line| line.starts_with("enable.idempotence"))
        .expect("a row");
    assert!(idempotence.contains("= true"), "{idempotence}");
}

#[test]
fn check_config_does_not_blame_kafka_for_unknown_keys() {
    let dir = scratch("check-config-unknown");
    let typo = write(&dir, "typo.properties", "lingr.ms=5\n");
    let message = expect_bad_input(
        &["check-config", &typo],
        &["linger refuses this configuration"],
    );
    assert!(!message.contains("Kafka would refuse"), "{message}");
    assert!(message.contains("it only logs unknown keys"), "{message}");
    let mixed = write(
        &dir,
        "mixed.properties",
        "lingr.ms=5\nlinger.ms=-1\nbatch.size=x\n",
    );
    expect_bad_input(
        &["check-config", &mixed],
        &["3 errors (2 of them Kafka would also refuse: ConfigException"],
    );
}

#[test]
fn bad_plot_input_leaves_no_plots_directory() {
    let dir = scratch("plot-bad");
    let csv = "point,replicate,seed,producer.linger.ms,latency_p99_ms\n0,0,1,5,1.5\n";
    for (name, version) in [("current", 1), ("old", 0)] {
        let results = dir.join(name);
        std::fs::create_dir_all(&results).expect("results dir");
        write(
            &results,
            "manifest.json",
            &format!(
                "{{\"format_version\": {version}, \"axes\": [{{\"name\": \"producer.linger.ms\", \"values\": [5]}}]}}"
            ),
        );
        write(&results, "results.csv", csv);
        let text = results.to_string_lossy();
        let output = linger(&["plot", &text, "--x", "lingr.ms", "--y", "p99"]);
        assert_eq!(output.status.code(), Some(2), "{name}: {}", stderr(&output));
        assert!(
            !results.join("plots").exists(),
            "{name}: plots/ left behind"
        );
    }
    // The same directory with a good column does get its plots/ folder.
    let text = dir.join("current").to_string_lossy().into_owned();
    let output = linger(&["plot", &text, "--x", "linger.ms", "--y", "p99"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        dir.join("current/plots/latency_p99_vs_linger_ms.svg")
            .is_file()
    );
}

const ALIASES: [(&str, &str); 3] = [
    ("at-most-once", "acks0-lost"),
    ("at-least-once", "retry-duplicate"),
    ("exactly-once", "idempotent-retry"),
];

#[test]
fn teach_without_a_name_lists_scenarios_and_aliases() {
    let output = linger(&["teach"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    let line = |name: &str| {
        text.lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no line for {name}: {text}"))
            .to_owned()
    };
    for scenario in [
        "acks0-lost",
        "retry-duplicate",
        "idempotent-retry",
        "delivery-timeout",
    ] {
        assert!(
            line(scenario).split_whitespace().count() > 2,
            "{scenario} has a one-line description: {text}"
        );
    }
    let listed = linger(&["list"]);
    for (alias, scenario) in ALIASES {
        assert!(line(alias).ends_with(scenario), "{text}");
        assert!(stdout(&listed).contains(alias), "list shows {alias}");
    }
}

#[test]
fn teaching_aliases_run_their_scenarios() {
    for (alias, scenario) in ALIASES {
        let by_alias = linger(&["teach", alias]);
        assert!(by_alias.status.success(), "{alias}: {}", stderr(&by_alias));
        let by_name = linger(&["teach", scenario]);
        assert_eq!(stdout(&by_alias), stdout(&by_name), "{alias} = {scenario}");
    }
    let by_alias = linger(&["run", "--scenario", "exactly-once", "--json"]);
    assert!(by_alias.status.success(), "{}", stderr(&by_alias));
    let by_name = linger(&["run", "--scenario", "idempotent-retry", "--json"]);
    let runs = |output: &Output| {
        let value: serde_json::Value =
            serde_json::from_str(stdout(output).trim()).expect("one JSON object");
        value["runs"].clone()
    };
    assert_eq!(runs(&by_alias), runs(&by_name));
    expect_bad_input(&["teach", "exactly-twice"], &["exactly-twice"]);
}

#[test]
fn list_names_every_shipped_experiment() {
    let output = linger(&["list"]);
    assert!(output.status.success());
    let text = stdout(&output);
    for name in [
        "baseline",
        "linger-batch-sweep",
        "anomalies-sweep",
        "durability-sweep",
        "acks0-lost",
    ] {
        assert!(text.contains(name), "{name}: {text}");
    }
}

#[test]
fn run_point_reproduces_the_rows_of_a_sweep() {
    let dir = scratch("point");
    let file = write(&dir, "small.toml", SMALL_SWEEP);
    let out = dir.join("out");
    sweep_ok(&file, &out, &[]);
    let output = linger(&["run", &file, "--point", "3", "--all-replicates", "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let value: serde_json::Value = serde_json::from_str(stdout(&output).trim()).expect("JSON");
    let rows: Vec<serde_json::Value> = std::fs::read_to_string(out.join("results.jsonl"))
        .expect("jsonl")
        .lines()
        .map(|line| serde_json::from_str(line).expect("JSON line"))
        .filter(|row: &serde_json::Value| row["point"] == 3)
        .collect();
    assert_eq!(rows.len(), 2);
    for (row, run) in rows.iter().zip(value["runs"].as_array().expect("runs")) {
        assert_eq!(row["seed"], run["seed"]);
        let name = "throughput_records_per_s";
        assert_eq!(row[name], run["metrics"][name], "{row} vs {run}");
    }
}

#[test]
fn a_journal_cut_mid_line_resumes_to_the_same_bytes() {
    let dir = scratch("cut");
    let file = write(&dir, "small.toml", SMALL_SWEEP);
    let clean = dir.join("clean");
    sweep_ok(&file, &clean, &[]);
    let cut = dir.join("cut");
    sweep_ok(&file, &cut, &["--max-points-this-run", "4"]);
    // A kill during a write leaves part of a line: keep two lines and half of the third.
    let journal = std::fs::read_to_string(cut.join("journal.jsonl")).expect("journal");
    let lines: Vec<&str> = journal.lines().collect();
    let partial = format!(
        "{}\n{}\n{}",
        lines[0],
        lines[1],
        &lines[2][..lines[2].len() / 2]
    );
    std::fs::write(cut.join("journal.jsonl"), partial).expect("rewrites");
    let resumed = sweep_ok(&file, &cut, &[]);
    assert!(
        stderr(&resumed).contains("4 finished now, 2 before"),
        "{}",
        stderr(&resumed)
    );
    assert_eq!(result_files(&clean), result_files(&cut));
}

#[test]
fn teach_draws_a_scenario_and_report_writes_html() {
    let output = linger(&["teach", "acks0-lost"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains("acks0-lost") && text.contains("LOST on the network"),
        "{text}"
    );
    expect_bad_input(&["teach", "acks0-lots"], &["did you mean `acks0-lost`?"]);

    let dir = scratch("report");
    let file = write(&dir, "small.toml", SMALL_SWEEP);
    let out = dir.join("out");
    sweep_ok(&file, &out, &[]);
    let output = linger(&["report", &out.to_string_lossy()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let html = std::fs::read_to_string(out.join("report.html")).expect("report written");
    assert!(html.contains("<svg"), "the report embeds its plots");
    expect_bad_input(
        &["plot", &out.to_string_lossy(), "--x", "lingr", "--y", "p99"],
        &["lingr"],
    );
}

#[test]
fn merge_refuses_foreign_or_incomplete_inputs() {
    let dir = scratch("merge-bad");
    let file = write(&dir, "small.toml", SMALL_SWEEP);
    let shard1 = dir.join("shard1");
    sweep_ok(&file, &shard1, &["--shard", "1/2"]);
    let other_file = write(
        &dir,
        "other.toml",
        &SMALL_SWEEP.replace("seed = 42", "seed = 7"),
    );
    let other2 = dir.join("other2");
    sweep_ok(&other_file, &other2, &["--shard", "2/2"]);
    let out = dir.join("out");
    let (s1, o2, o) = (
        shard1.to_string_lossy(),
        other2.to_string_lossy(),
        out.to_string_lossy(),
    );
    expect_bad_input(
        &["merge", &s1, &o2, "--out", &o],
        &["holds experiment", "hash"],
    );
    expect_bad_input(&["merge", &s1, "--out", &o], &["missing"]);
    expect_bad_input(
        &["merge", &dir.to_string_lossy(), "--out", &o],
        &["manifest.json"],
    );
    assert!(!out.exists(), "a refused merge writes nothing");
}

#[test]
fn bench_sweep_runs_a_small_version_and_prints_its_rates() {
    let output = linger(&["bench", "sweep", "--points", "3", "--duration-ms", "100"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    for needle in ["sweep of 3 points", "points/s", "records/s", "threads"] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    // 3 points x 0.1 virtual s x 50000 records/s.
    assert!(text.contains("15000 records sent"), "{text}");
}

/// The standard plots come from a real (small) sweep, as valid SVG and PNG files that
/// name their series.
#[test]
fn sweep_plots_are_valid_svg_and_png_with_their_series() {
    let dir = scratch("sweep-plots");
    let file = write(&dir, "small.toml", SMALL_SWEEP);
    let out = dir.join("out");
    sweep_ok(&file, &out, &["--plots"]);
    let plots = out.join("plots");
    let mut svg_count = 0;
    let mut png_count = 0;
    let mut series_seen = false;
    for entry in std::fs::read_dir(&plots).expect("sweep --plots writes DIR/plots") {
        let path = entry.expect("dir entry").path();
        let bytes = std::fs::read(&path).expect("plot file");
        match path.extension().and_then(|e| e.to_str()) {
            Some("svg") => {
                let text = String::from_utf8(bytes).expect("SVG is UTF-8 text");
                assert!(text.trim_start().starts_with("<svg"), "{path:?}");
                assert!(text.trim_end().ends_with("</svg>"), "{path:?}");
                series_seen |=
                    text.contains("batch.size=16 KiB") && text.contains("batch.size=64 KiB");
                svg_count += 1;
            }
            Some("png") => {
                assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{path:?}");
                assert!(bytes.len() > 2_000, "{path:?} is too small to hold a plot");
                png_count += 1;
            }
            _ => {}
        }
    }
    assert!(
        svg_count >= 2 && svg_count == png_count,
        "{svg_count} SVG, {png_count} PNG"
    );
    assert!(series_seen, "a line plot names one series per batch.size");
}

/// A sweep that runs for minutes in a debug build: the first of two concurrent sweeps.
const SLOW_SWEEP: &str = r#"
[experiment]
name = "slow"

[workload]
arrivals = { kind = "constant", per_sec = 20000 }

[run]
duration_ms = 2000

[sweep.producer]
"linger.ms" = { from = 0, to = 399, step = 1 }
"#;

/// Waits a moment between two looks at another process (bounded by the caller's loop).
#[allow(clippy::disallowed_methods)] // the determinism rule is for simulations; this polls a process
fn pause() {
    std::thread::sleep(std::time::Duration::from_millis(10));
}

#[test]
fn a_second_sweep_on_a_locked_directory_is_refused_and_a_killed_holder_blocks_nothing() {
    let dir = scratch("concurrent");
    let file = write(&dir, "slow.toml", SLOW_SWEEP);
    let out = dir.join("out");
    let out_text = out.to_string_lossy().into_owned();
    let mut first = Command::new(env!("CARGO_BIN_EXE_linger"))
        .args(["sweep", &file, "--out", &out_text, "--threads", "1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the first sweep starts");
    let pid = first.id().to_string();
    let lock = out.join("linger.lock");
    // The holder writes its pid once it has the lock; wait for that, at most two minutes.
    let mut held = false;
    for _ in 0..12_000 {
        if std::fs::read_to_string(&lock).is_ok_and(|text| text.trim() == pid) {
            held = true;
            break;
        }
        if let Some(status) = first.try_wait().expect("polls the first sweep") {
            panic!("the first sweep ended early ({status}) before holding the lock");
        }
        pause();
    }
    assert!(
        held,
        "the first sweep never wrote its pid into {}",
        lock.display()
    );
    let other = write(
        &dir,
        "other.toml",
        &SMALL_SWEEP.replace("seed = 42", "seed = 43"),
    );
    let message = expect_bad_input(
        &["sweep", &other, "--out", &out_text],
        &[&out_text, &format!("pid {pid}"), "another linger process"],
    );
    assert!(!message.contains("different experiment"), "{message}");
    assert!(
        first.try_wait().expect("polls").is_none(),
        "the first sweep must still be running for the refusal to mean anything"
    );
    first.kill().expect("kills the first sweep");
    first.wait().expect("reaps the first sweep");
    // The killed process's lock went with it: the same sweep resumes at once.
    sweep_ok(
        &file,
        &out,
        &["--threads", "1", "--max-points-this-run", "1"],
    );
}

#[test]
fn a_directory_locked_by_another_process_is_refused_with_its_pid() {
    let dir = scratch("locked");
    let file = write(&dir, "small.toml", SMALL_SWEEP);
    let out = dir.join("out");
    std::fs::create_dir_all(&out).expect("out dir");
    let lock = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(out.join("linger.lock"))
        .expect("lock file");
    lock.try_lock().expect("the test takes the lock");
    std::fs::write(out.join("linger.lock"), "4242\n").expect("names a holder");
    let out_text = out.to_string_lossy().into_owned();
    expect_bad_input(&["sweep", &file, "--out", &out_text], &["(pid 4242)"]);
    assert!(
        !out.join("manifest.json").exists(),
        "the refused sweep wrote nothing"
    );
    let shard = dir.join("shard");
    sweep_ok(&file, &shard, &["--shard", "1/1"]);
    expect_bad_input(
        &["merge", &shard.to_string_lossy(), "--out", &out_text],
        &["(pid 4242)"],
    );
    drop(lock);
    sweep_ok(&file, &out, &[]);
}

/// A journal line with one change made to its JSON.
fn edited_line(line: &str, edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut value: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
    edit(&mut value);
    value.to_string()
}

/// The point each journal line of `dir` holds, in file order.
fn journal_points(dir: &Path) -> Vec<u64> {
    std::fs::read_to_string(dir.join("journal.jsonl"))
        .expect("journal")
        .lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            value["point"].as_u64().expect("a point")
        })
        .collect()
}

#[test]
fn a_damaged_journal_is_refused_then_repaired_keeping_the_intact_points() {
    let dir = scratch("repair");
    let file = write(&dir, "small.toml", SMALL_SWEEP);
    let clean = dir.join("clean");
    sweep_ok(&file, &clean, &[]);
    let out = dir.join("out");
    sweep_ok(&file, &out, &[]);
    let points = journal_points(&out);
    let journal = std::fs::read_to_string(out.join("journal.jsonl")).expect("journal");
    let mut lines: Vec<String> = journal.lines().map(str::to_owned).collect();
    // A line cut short by a crash, then followed by more appends.
    lines[2] = format!("{{\"point\":{},\"rows\":[{{\"replicate\":0,", points[2]);
    lines[4] = edited_line(&lines[4], |v| v["rows"][1]["replicate"] = 7.into());
    let damaged = lines.join("\n") + "\n";
    std::fs::write(out.join("journal.jsonl"), &damaged).expect("damages");
    let out_text = out.to_string_lossy().into_owned();
    expect_bad_input(
        &["sweep", &file, "--out", &out_text],
        &[
            "journal.jsonl line 3: ",
            "not valid JSON",
            "--repair",
            "--force",
            "4 intact points",
        ],
    );
    let after = std::fs::read_to_string(out.join("journal.jsonl")).expect("journal");
    assert_eq!(after, damaged, "a refusal changes nothing");
    expect_bad_input(
        &["sweep", &file, "--out", &out_text, "--repair", "--force"],
        &["--force"],
    );
    let repaired = sweep_ok(&file, &out, &["--repair"]);
    let mut rerun = [points[2], points[4]];
    rerun.sort_unstable();
    let note = format!(
        "dropped 2 damaged lines (lines 3, 5); the points they held are run again: {}, {}",
        rerun[0], rerun[1]
    );
    assert!(stderr(&repaired).contains(&note), "{}", stderr(&repaired));
    assert!(
        stderr(&repaired).contains("2 finished now, 4 before"),
        "{}",
        stderr(&repaired)
    );
    assert_eq!(result_files(&clean), result_files(&out));
}

#[test]
fn hand_edited_journal_rows_are_refused_by_line() {
    let dir = scratch("edited");
    let file = write(&dir, "small.toml", SMALL_SWEEP);
    let out = dir.join("out");
    sweep_ok(&file, &out, &[]);
    let journal = std::fs::read_to_string(out.join("journal.jsonl")).expect("journal");
    let first = journal.lines().next().expect("a line");
    let point = journal_points(&out)[0];
    let out_text = out.to_string_lossy().into_owned();
    let edits = [
        (
            edited_line(first, |v| v["point"] = 6.into()),
            "point 6 is not in the sweep",
        ),
        (
            edited_line(first, |v| v["point"] = ((point + 1) % 6).into()),
            "has seed",
        ),
        (
            edited_line(first, |v| v["rows"][1]["replicate"] = 7.into()),
            "replicate 7, but the manifest says 2 replicates",
        ),
        (
            edited_line(first, |v| v["rows"][0]["seed"] = 12345.into()),
            "has seed 12345",
        ),
    ];
    for (edited, needle) in edits {
        std::fs::write(
            out.join("journal.jsonl"),
            journal.replacen(first, &edited, 1),
        )
        .expect("edits");
        expect_bad_input(
            &["sweep", &file, "--out", &out_text],
            &["journal.jsonl line 1: ", needle],
        );
    }
}

#[test]
fn a_failed_result_write_leaves_no_temporary_file() {
    let dir = scratch("failed-write");
    let file = write(&dir, "small.toml", SMALL_SWEEP);
    let clean = dir.join("clean");
    sweep_ok(&file, &clean, &[]);
    let out = dir.join("out");
    sweep_ok(&file, &out, &["--max-points-this-run", "2"]);
    // A directory where results.csv goes makes its rename fail, as a full disk would the write.
    std::fs::remove_file(out.join("results.csv")).expect("removes");
    std::fs::create_dir_all(out.join("results.csv/in-the-way")).expect("blocks");
    let output = linger(&["sweep", &file, "--out", &out.to_string_lossy()]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("results.csv"),
        "{}",
        stderr(&output)
    );
    assert!(
        !out.join(".results.csv.partial").exists(),
        "the temporary file is removed"
    );
    std::fs::remove_dir_all(out.join("results.csv")).expect("unblocks");
    sweep_ok(&file, &out, &[]);
    assert_eq!(result_files(&clean), result_files(&out));

    let html = out.join("report.html");
    std::fs::create_dir_all(html.join("in-the-way")).expect("blocks");
    let output = linger(&["report", &out.to_string_lossy()]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let leftovers: Vec<String> = std::fs::read_dir(&out)
        .expect("lists")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.contains(".tmp-") || name.ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// Rewrites one key of `dir/manifest.json`.
fn edit_manifest(dir: &Path, key: &str, value: serde_json::Value) {
    let path = dir.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("manifest")).expect("JSON");
    manifest[key] = value;
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&manifest).expect("JSON") + "\n",
    )
    .expect("writes");
}

#[test]
fn report_plot_and_merge_refuse_a_manifest_that_does_not_match_its_rows() {
    let dir = scratch("mismatch");
    let file = write(&dir, "small.toml", SMALL_SWEEP);
    let out = dir.join("out");
    sweep_ok(&file, &out, &[]);
    let original = std::fs::read_to_string(out.join("manifest.json")).expect("manifest");
    let out_text = out.to_string_lossy().into_owned();
    let axes = |linger: serde_json::Value, name: &str| {
        serde_json::json!([
            {"name": name, "values": linger},
            {"name": "producer.batch.size", "values": [16384, 65536]},
        ])
    };
    let cases: [(&str, serde_json::Value, &[&str]); 5] = [
        (
            "experiment_hash",
            "0123".into(),
            &["manifest.json", "different experiments"],
        ),
        (
            "axes",
            axes(serde_json::json!([0, 5, 25]), "producer.linger.ms"),
            &[
                "results.csv line",
                "producer.linger.ms = 20",
                "manifest.json gives",
            ],
        ),
        (
            "axes",
            axes(serde_json::json!([0, 5, 20]), "linger.ms"),
            &["results.csv line 1", "lists the axes linger.ms"],
        ),
        (
            "point_count",
            2.into(),
            &["results.csv", "more than the 2 points x 2 replicates"],
        ),
        ("replicates", 1.into(), &["results.csv", "1 replicates"]),
    ];
    for (key, value, needles) in cases {
        edit_manifest(&out, key, value);
        expect_bad_input(&["report", &out_text], needles);
        expect_bad_input(
            &["plot", &out_text, "--x", "linger.ms", "--y", "p99"],
            needles,
        );
        std::fs::write(out.join("manifest.json"), &original).expect("restores");
    }
    let output = linger(&["report", &out_text]);
    assert!(output.status.success(), "{}", stderr(&output));

    let shard = dir.join("shard");
    sweep_ok(&file, &shard, &["--shard", "1/1"]);
    let merged = dir.join("merged");
    let (shard_text, merged_text) = (shard.to_string_lossy(), merged.to_string_lossy());
    edit_manifest(&shard, "experiment_hash", "0123".into());
    expect_bad_input(
        &["merge", &shard_text, "--out", &merged_text],
        &["experiment.toml", "different experiments"],
    );
    std::fs::write(shard.join("manifest.json"), &original).expect("restores");
    let journal = std::fs::read_to_string(shard.join("journal.jsonl")).expect("journal");
    let first = journal.lines().next().expect("a line");
    let edited = edited_line(first, |v| v["rows"][0]["seed"] = 12345.into());
    std::fs::write(
        shard.join("journal.jsonl"),
        journal.replacen(first, &edited, 1),
    )
    .expect("edits");
    expect_bad_input(
        &["merge", &shard_text, "--out", &merged_text],
        &["journal.jsonl line 1: ", "has seed 12345"],
    );
    assert!(!merged.exists(), "a refused merge writes nothing");
}

/// `linger run --json` of a transactional run carries the read_committed verdict of its final
/// logs; a plain run has no such field.
#[test]
fn run_json_carries_the_transactional_verdict_only_for_transactional_runs() {
    let output = linger(&["run", "--scenario", "transaction-commit", "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let value: serde_json::Value = serde_json::from_str(stdout(&output).trim()).expect("JSON");
    let verdict = &value["runs"][0]["transactions"];
    assert_eq!(verdict["committed_transactions"], 1, "{value}");
    assert_eq!(verdict["read_committed_records"], 3, "{value}");
    assert_eq!(verdict["markers_commit_abort"], 1, "{value}");
    assert_eq!(verdict["exactly_once"], true, "{value}");
    let output = linger(&["run", "--scenario", "retry-duplicate", "--json"]);
    let value: serde_json::Value = serde_json::from_str(stdout(&output).trim()).expect("JSON");
    assert!(value["runs"][0].get("transactions").is_none(), "{value}");
}
