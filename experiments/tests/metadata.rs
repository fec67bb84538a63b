//! The producer's metadata requests through the `linger` binary: a default run asks for
//! metadata once at start-up (the Java client's first request carries the topic, so the
//! first `send()` needs no second one), and a leader change is followed by a refresh.

use std::path::Path;
use std::process::Command;

/// The producer's trace events in the trace of `linger run ARGS`.
fn producer_events(name: &str, args: &[&str]) -> Vec<serde_json::Value> {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("linger-metadata")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let trace = dir.join("trace.jsonl");
    let output = Command::new(env!("CARGO_BIN_EXE_linger"))
        .arg("run")
        .args(args)
        .arg("--trace")
        .arg(&trace)
        .output()
        .expect("the binary runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::read_to_string(&trace)
        .expect("the trace was written")
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).expect("a JSON line"))
        .filter(|e| e["c"] == "producer")
        .collect()
}

/// Linger used to send a second metadata request `retry.backoff.ms` after start-up, because
/// the first `send()` asked for the topic while the start-up request (which carries it) was in
/// flight. The start-up request is the first one on the first connection, right after its
/// ApiVersions exchange (corr 1) and the InitProducerId request (corr 2).
#[test]
fn a_default_run_sends_one_metadata_request_at_start_up() {
    for version in ["4.0", "3.6"] {
        let set = format!("producer.linger.kafka.version=\"{version}\"");
        let args = ["baseline", "--duration-ms", "1000", "--set", &set];
        let name = format!("baseline-{version}");
        let events = producer_events(&name, &args);
        let of = |kind: &str| -> Vec<&serde_json::Value> {
            events.iter().filter(|e| e["k"] == kind).collect()
        };
        let requests = of("metadata_request");
        assert_eq!(requests.len(), 1, "{version}: {requests:?}");
        assert_eq!(requests[0]["f"]["corr"], 3, "{version}");
        let ready = of("ready");
        assert_eq!(requests[0]["t"], ready[0]["t"], "{version}: once connected");
        let produce = of("request");
        assert!(produce.len() > 100, "{version}: {}", produce.len());
    }
}
