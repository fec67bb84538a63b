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
    expect_bad_input(
        &["run", "--trace", "/nonexistent-dir/t.jsonl"],
        &["--trace", "/nonexistent-dir/t.jsonl"],
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

#[test]
fn check_config_does_not_blame_kafka_for_unknown_keys() {
    let dir = scratch("check-config-unknown");
    let typo = write(&dir, "typo.properties", "lingr.ms=5\n");
    let message = expect_bad_input(
        &["check-config", &typo],
        &["linger refuses this configuration"],
    );
    assert!(!message.contains("Kafka would refuse"), "{message}");
    assert!(
        message.contains("it only warns about unknown keys"),
        "{message}"
    );
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
    assert!(dir.join("current/plots/p99-vs-linger_ms.svg").is_file());
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

/// Issue 6: the standard plots come from a real (small) sweep, as valid SVG and PNG files that
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
                    text.contains("batch.size=16384") && text.contains("batch.size=65536");
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
