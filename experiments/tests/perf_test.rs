//! `linger perf-test`: its lines have the shapes of kafka-producer-perf-test's (the fixture
//! `fixtures/kafka-producer-perf-test.txt`, written by hand from the tool's format strings),
//! its figures agree with `linger run` on the same world, and bad options exit 2 saying what to
//! use.

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

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("linger-perf-test")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// The kinds of line the tool prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Window,
    Total,
    MetricsHeader,
    Metric,
    Payloads,
}

fn kind_of(line: &str) -> Option<Kind> {
    if line.starts_with("Reading payloads from: ") || line.starts_with("Number of messages read: ")
    {
        Some(Kind::Payloads)
    } else if line.contains(" records sent, ") && line.ends_with(" ms 99.9th.") {
        Some(Kind::Total)
    } else if line.contains(" records sent, ") {
        Some(Kind::Window)
    } else if line.starts_with("Metric Name ") {
        Some(Kind::MetricsHeader)
    } else if line.contains(":{") && line.contains(" : ") {
        Some(Kind::Metric)
    } else {
        None
    }
}

/// The line with every whole-number run written `#` and every fractional digit `d`, so that
/// `19988.4` and `7.0` have one shape (`#.d`) and `19.52` another (`#.dd`), and, for a metric,
/// the name replaced by its `group:name:{tags}` skeleton.
fn shape(line: &str) -> String {
    if kind_of(line) == Some(Kind::Metric) {
        let (name, value) = line.split_once(" : ").expect("a metric line");
        let mut parts = name.trim_end().splitn(3, ':');
        let group = parts.next().unwrap_or_default();
        let metric = parts.next().unwrap_or_default();
        let tags = parts.next().unwrap_or_default();
        let name_ok = !group.is_empty()
            && group.chars().all(|c| c.is_ascii_lowercase() || c == '-')
            && !metric.is_empty()
            && metric.chars().all(|c| c.is_ascii_lowercase() || c == '-')
            && tags.starts_with("{client-id=")
            && tags.ends_with('}');
        return format!("metric name_ok={name_ok} : {}", shape_numbers(value));
    }
    if kind_of(line) == Some(Kind::MetricsHeader) {
        return line.split_whitespace().collect::<Vec<_>>().join(" ");
    }
    if line.starts_with("Reading payloads from: ") {
        return "Reading payloads from: PATH".to_owned();
    }
    shape_numbers(line)
}

fn shape_numbers(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
            out.push('#');
            if chars.peek() == Some(&'.') {
                let mut ahead = chars.clone();
                ahead.next();
                if ahead.peek().is_some_and(char::is_ascii_digit) {
                    chars.next();
                    out.push('.');
                    while chars.peek().is_some_and(char::is_ascii_digit) {
                        chars.next();
                        out.push('d');
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The fixture's lines by kind, as shapes.
fn fixture_shapes() -> Vec<(Kind, String)> {
    let text = include_str!("fixtures/kafka-producer-perf-test.txt");
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| kind_of(line).map(|kind| (kind, shape(line))))
        .collect()
}

/// Checks every tool line of `output` against the fixture; returns the lines by kind.
fn check_tool_lines(output: &str) -> Vec<(Kind, String)> {
    let fixture = fixture_shapes();
    let mut seen = Vec::new();
    for line in output.lines() {
        if line.is_empty() || line.starts_with("linger:") {
            continue;
        }
        let kind = kind_of(line).unwrap_or_else(|| panic!("not a line of the tool: {line:?}"));
        let shaped = shape(line);
        assert!(
            fixture.iter().any(|(k, s)| *k == kind && *s == shaped),
            "{line:?} (shape {shaped:?}) matches no {kind:?} line of the fixture"
        );
        seen.push((kind, line.to_owned()));
    }
    seen
}

/// The figures of the final line: records, records/sec, MB/sec, avg, max, p50, p95, p99, p999.
fn total_figures(line: &str) -> Vec<f64> {
    line.trim_end_matches('.')
        .split_whitespace()
        .filter_map(|word| {
            word.trim_start_matches('(')
                .trim_end_matches(',')
                .parse()
                .ok()
        })
        .collect()
}

#[test]
fn throttled_lines_match_the_tools_format_and_rate() {
    let output = linger(&[
        "perf-test",
        "--topic",
        "test",
        "--num-records",
        "120000",
        "--record-size",
        "512",
        "--throughput",
        "20000",
        "--producer-props",
        "bootstrap.servers=localhost:9092",
        "acks=all",
        "linger.ms=5",
        "--print-metrics",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    let lines = check_tool_lines(&text);
    let windows = lines.iter().filter(|(k, _)| *k == Kind::Window).count();
    // 120,000 records at 20,000/s take 6 s: one window line at 5 s.
    assert_eq!(windows, 1, "{text}");
    let total = &lines
        .iter()
        .find(|(k, _)| *k == Kind::Total)
        .expect("a final line")
        .1;
    let figures = total_figures(total);
    assert_eq!(figures[0], 120_000.0, "{total}");
    // The throttled rate, within 1%: 6 s of sends, then the last acknowledgement.
    assert!((figures[1] - 20_000.0).abs() < 200.0, "{total}");
    // 512 B x the rate in MiB/s.
    let mb = figures[1] * 512.0 / (1024.0 * 1024.0);
    assert!((figures[2] - mb).abs() < 0.01, "{total}");
    // Percentiles in order, the max above them.
    assert!(figures[5] <= figures[6] && figures[6] <= figures[7] && figures[7] <= figures[8]);
    assert!(figures[4] >= figures[8], "{total}");
    assert!(
        lines.iter().any(|(k, _)| *k == Kind::MetricsHeader),
        "{text}"
    );
    // The values start in the header's "Value" column, as the padding to the longest name
    // puts them.
    let header = &lines
        .iter()
        .find(|(k, _)| *k == Kind::MetricsHeader)
        .expect("header")
        .1;
    let column = header.find("Value").expect("a Value column");
    for (_, line) in lines.iter().filter(|(k, _)| *k == Kind::Metric) {
        assert_eq!(line.find(" : ").map(|i| i + 3), Some(column), "{line:?}");
    }
    assert!(text.contains("producer-metrics:record-send-total:{client-id=perf-producer-client}"));
    assert!(text.contains(
        "linger: checker over the final broker logs: 120000 sent, 120000 delivered once"
    ));
}

#[test]
fn the_average_latency_is_linger_runs_send_to_ack_latency() {
    let perf = linger(&[
        "perf-test",
        "--topic=t",
        "--num-records=50000",
        "--record-size=1024",
        "--throughput=-1",
        "--producer-props",
        "linger.ms=2",
        "--seed",
        "3",
    ]);
    assert!(perf.status.success(), "{}", stderr(&perf));
    let text = stdout(&perf);
    let lines = check_tool_lines(&text);
    let total = &lines
        .iter()
        .find(|(k, _)| *k == Kind::Total)
        .expect("total")
        .1;
    let avg = total_figures(total)[3];
    let run = linger(&[
        "run",
        "--seed",
        "3",
        "--json",
        "--set",
        "workload.value_bytes=1024",
        "--set",
        "workload.records=50000",
        "--set",
        "workload.arrivals={kind=\"saturate\"}",
        "--set",
        "workload.send_cpu_ms=0.002",
        "--set",
        "workload.end=\"close\"",
        "--set",
        "producer.linger.ms=2",
        "--set",
        "run.duration_ms=600100",
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let json: serde_json::Value = serde_json::from_str(&stdout(&run)).expect("json");
    let mean = json["runs"][0]["metrics"]["latency_mean_ms"]
        .as_f64()
        .expect("a mean latency");
    // The tool reads a millisecond clock twice, so its latencies are whole milliseconds, each
    // within 1 ms of the exact one.
    assert!(
        (avg - mean).abs() <= 1.0,
        "perf-test avg {avg} ms against linger run's mean {mean} ms\n{text}"
    );
    assert!(mean > 0.0);
}

#[test]
fn the_same_command_gives_the_same_bytes() {
    let args = [
        "perf-test",
        "--topic",
        "t",
        "--num-records",
        "20000",
        "--record-size",
        "100",
        "--throughput",
        "5000",
        "--producer-props",
        "acks=1",
    ];
    let first = linger(&args);
    let second = linger(&args);
    assert!(first.status.success());
    assert_eq!(first.stdout, second.stdout);
    let other = linger(&[&args[..], &["--seed", "9"]].concat());
    assert_ne!(first.stdout, other.stdout, "another seed changes the run");
}

#[test]
fn a_payload_file_prints_the_tools_lines_and_sends_its_mean_length() {
    let dir = scratch("payloads");
    let path = dir.join("payloads.txt");
    std::fs::write(&path, "aaaa\nbbbbbbbb\ncccccc\n").expect("writes");
    let config = dir.join("producer.properties");
    std::fs::write(&config, "bootstrap.servers=b:9092\nacks=all\n").expect("writes");
    let output = linger(&[
        "perf-test",
        "--topic",
        "t",
        "--num-records",
        "1000",
        "--payload-file",
        path.to_str().expect("utf-8"),
        "--throughput",
        "1000",
        "--producer.config",
        config.to_str().expect("utf-8"),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    check_tool_lines(&text);
    assert!(text.contains("Number of messages read: 3\n"), "{text}");
    assert!(text.contains("linger sends 6 bytes, their mean"), "{text}");
}

#[test]
fn options_linger_does_not_support_exit_2_saying_what_to_use() {
    let base = [
        "perf-test",
        "--topic",
        "t",
        "--num-records",
        "10",
        "--record-size",
        "10",
        "--throughput",
        "10",
    ];
    let cases: &[(&[&str], &str)] = &[
        (
            &["--transactional-id", "x", "--producer-props", "acks=1"],
            "does not run the tool's transactional mode",
        ),
        (
            &[
                "--transaction-duration-ms",
                "100",
                "--producer-props",
                "acks=1",
            ],
            "does not run the tool's transactional mode",
        ),
        (
            &["--producer-props", "transactional.id=x"],
            "does not run the tool's transactional mode",
        ),
        (
            &["--payload-monotonic", "--producer-props", "acks=1"],
            "use --record-size",
        ),
        (&["--producer-props", "acks"], "Invalid property: acks"),
        (
            &["--print-metric", "--producer-props", "acks=1"],
            "did you mean --print-metrics?",
        ),
        (&["--producer-props", "lingr.ms=5"], "linger.ms"),
        (
            &[],
            "Either --producer-props or --producer.config must be specified.",
        ),
    ];
    for (extra, expected) in cases {
        let args = [&base[..], extra].concat();
        let output = linger(&args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains(expected),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(stdout(&output).is_empty(), "{args:?}");
    }
    let zero = linger(&[
        "perf-test",
        "--topic",
        "t",
        "--num-records",
        "10",
        "--record-size",
        "10",
        "--throughput",
        "0",
        "--producer-props",
        "acks=1",
    ]);
    assert_eq!(zero.status.code(), Some(2));
    assert!(
        stderr(&zero).contains("-1 for no limit"),
        "{}",
        stderr(&zero)
    );
    let help = linger(&["perf-test"]);
    assert!(help.status.success());
    assert!(stdout(&help).contains("--producer-props"));
}
