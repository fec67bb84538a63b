//! `compression.type` from the command line: the calibration file `linger calibrate
//! compression` writes and a run then uses, `check-config` accepting every codec without a
//! warning, and bad compression input refused with the key, line and exit code 2.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn linger(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_linger"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("linger-compression")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn write(dir: &Path, name: &str, contents: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("writes");
    path.to_string_lossy().into_owned()
}

fn experiment(codec: &str, workload_extra: &str) -> String {
    format!(
        "[producer]\n\"compression.type\" = \"{codec}\"\n\"linger.ms\" = 10\n\
         [workload]\nvalue_bytes = 512\narrivals = {{ kind = \"constant\", per_sec = 20000 }}\n\
         values = {{ kind = \"json\" }}\n{workload_extra}\n[run]\nduration_ms = 300\n"
    )
}

fn codec_cpu(file: &str) -> f64 {
    let output = linger(&["run", file, "--json"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let value: serde_json::Value =
        serde_json::from_str(text(&output.stdout).trim()).expect("one JSON object");
    value["runs"][0]["metrics"]["producer_codec_cpu_ratio"]
        .as_f64()
        .expect("the codec's CPU share")
}

#[test]
fn calibrate_writes_a_file_that_a_run_then_uses() {
    let dir = scratch("calibrate");
    let out = dir.join("calibration.txt");
    let output = linger(&[
        "calibrate",
        "compression",
        "--values",
        "json",
        "--out",
        &out.to_string_lossy(),
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let written = std::fs::read_to_string(&out).expect("the calibration file");
    for codec in ["gzip", "snappy", "lz4", "zstd"] {
        assert!(
            written.lines().any(|l| l.starts_with(codec)),
            "{codec}: {written}"
        );
    }
    let measured = write(
        &dir,
        "measured.toml",
        &experiment(
            "gzip",
            "compression = { calibration = \"calibration.txt\" }",
        ),
    );
    assert!(codec_cpu(&measured) > 0.0);
    // A hand-written file: gzip ten times slower than another makes the codec's share ten
    // times larger (the file, not the reference table, sets the speed).
    write(&dir, "fast.txt", "gzip -1 100 400\n");
    write(&dir, "slow.txt", "gzip -1 10 40\n");
    let fast = write(
        &dir,
        "fast.toml",
        &experiment("gzip", "compression = { calibration = \"fast.txt\" }"),
    );
    let slow = write(
        &dir,
        "slow.toml",
        &experiment("gzip", "compression = { calibration = \"slow.txt\" }"),
    );
    let ratio = codec_cpu(&slow) / codec_cpu(&fast);
    assert!((9.0..11.0).contains(&ratio), "{ratio}");
}

#[test]
fn check_config_accepts_every_codec_without_a_warning() {
    let dir = scratch("check-config");
    for codec in ["gzip", "snappy", "lz4", "zstd"] {
        let file = write(
            &dir,
            &format!("{codec}.properties"),
            &format!("compression.type={codec}\n"),
        );
        let output = linger(&["check-config", &file]);
        assert!(output.status.success(), "{}", text(&output.stderr));
        let all = text(&output.stdout) + &text(&output.stderr);
        assert!(!all.contains("not modelled"), "{codec}: {all}");
    }
}

fn expect_bad_input(file: &str, needles: &[&str]) {
    let output = linger(&["run", file]);
    let message = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{file}: {message}");
    for needle in needles {
        assert!(message.contains(needle), "missing `{needle}` in: {message}");
    }
}

#[test]
fn bad_compression_input_names_the_key_and_line_and_exits_2() {
    let dir = scratch("bad");
    let unknown = write(&dir, "unknown.toml", &experiment("lz5", ""));
    expect_bad_input(&unknown, &["compression.type", "lz4", "unknown.toml:2"]);
    let level = write(
        &dir,
        "level.toml",
        &experiment("zstd", "")
            .replace("[workload]", "\"compression.zstd.level\" = 23\n[workload]"),
    );
    expect_bad_input(&level, &["compression.zstd.level", "22"]);
    let missing = write(
        &dir,
        "missing.toml",
        &experiment("lz4", "").replace(
            "values = { kind = \"json\" }",
            "values = { kind = \"file\", path = \"nowhere.txt\" }",
        ),
    );
    expect_bad_input(&missing, &["values.path", "nowhere.txt", "missing.toml:"]);
    write(&dir, "empty.txt", "\n");
    let empty = write(
        &dir,
        "empty.toml",
        &experiment("lz4", "").replace(
            "values = { kind = \"json\" }",
            "values = { kind = \"file\", path = \"empty.txt\" }",
        ),
    );
    expect_bad_input(&empty, &["values.path", "no value", "empty.toml:"]);
    let kind = write(
        &dir,
        "kind.toml",
        &experiment("lz4", "").replace("kind = \"json\"", "kind = \"xml\""),
    );
    expect_bad_input(&kind, &["values", "kind.toml:"]);
}
