//! The producer's metadata requests through the `linger` binary: a default run asks for
//! metadata once at start-up (the Java client's first request carries the topic, so the
//! first `send()` needs no second one), and a leader change is followed by a refresh.

use std::path::Path;
use std::process::Command;

/// The correlation ids of the producer's produce requests in the trace of `linger run ARGS`.
fn produce_correlation_ids(name: &str, args: &[&str]) -> Vec<u64> {
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
        .filter(|e| e["c"] == "producer" && e["k"] == "request")
        .map(|e| e["f"]["corr"].as_u64().expect("a correlation id"))
        .collect()
}

/// Correlation ids count every request the client sends; produce requests are traced, so the
/// gaps between them are the metadata and InitProducerId requests. Linger used to send a
/// second metadata request `retry.backoff.ms` after start-up, because the first `send()`
/// asked for the topic while the start-up request (which carries it) was in flight.
#[test]
fn a_default_run_sends_one_metadata_request_at_start_up() {
    for version in ["4.0", "3.6"] {
        let set = format!("producer.linger.kafka.version=\"{version}\"");
        let ids = produce_correlation_ids(
            &format!("baseline-{version}"),
            &["baseline", "--duration-ms", "1000", "--set", &set],
        );
        assert!(ids.len() > 100, "{version}: {}", ids.len());
        // Corr 1 is the start-up metadata request, corr 2 InitProducerId.
        assert_eq!(ids[0], 3, "{version}");
        let gaps: Vec<(u64, u64)> = ids
            .windows(2)
            .filter(|w| w[1] != w[0] + 1)
            .map(|w| (w[0], w[1]))
            .collect();
        assert!(
            gaps.is_empty(),
            "{version}: no other request in the first second: {gaps:?}"
        );
    }
}
