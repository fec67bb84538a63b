//! acks=0 as the Java client runs it: a request stays in flight until its bytes have left the
//! client (`NetworkClient.handleCompletedSends` completes a request that expects no response),
//! so a slow link fills `max.in.flight.requests.per.connection`, then the accumulator, then
//! `buffer.memory`, and `send()` blocks instead of records vanishing.

use std::path::Path;
use std::process::Command;

/// 10 MB/s offered over three client links of 2 MB/s each (6 MB/s in all), a 4 MiB buffer.
const SLOW_LINKS: &str = r#"
[producer]
acks = "0"
"linger.ms" = 5
"buffer.memory" = 4194304

[workload]
value_bytes = 1000
arrivals = { kind = "constant", per_sec = 10000 }

[cluster]
brokers = 3
partitions = 6
replication_factor = 3

[network]
bandwidth_bytes_per_s = 2000000

[run]
duration_ms = 3000
"#;

fn metrics(text: &str) -> serde_json::Value {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("linger-acks-zero");
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let path = dir.join("slow-links.toml");
    std::fs::write(&path, text).expect("writes");
    let output = Command::new(env!("CARGO_BIN_EXE_linger"))
        .arg("run")
        .arg(&path)
        .arg("--json")
        .output()
        .expect("the binary runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    report["runs"][0]["metrics"].clone()
}

fn get(m: &serde_json::Value, name: &str) -> f64 {
    m[name]
        .as_f64()
        .unwrap_or_else(|| panic!("no metric {name} in {m}"))
}

#[test]
fn acks0_over_links_at_half_the_offered_rate_runs_at_the_links_rate_blocks_and_loses_nothing() {
    let m = metrics(SLOW_LINKS);
    let links_bytes_per_s = 3.0 * 2_000_000.0;
    let achieved = get(&m, "throughput_bytes_per_s");
    assert!(
        (achieved - links_bytes_per_s).abs() < 0.10 * links_bytes_per_s,
        "achieved {achieved} B/s, the links carry {links_bytes_per_s}: {m}"
    );
    assert!(
        get(&m, "bufferpool-wait-ratio") > 0.0,
        "send() blocked: {m}"
    );
    assert!(
        get(&m, "records_sent") < 0.9 * 30_000.0,
        "the application was held back: {m}"
    );
    assert_eq!(get(&m, "silent_absent"), 0.0, "nothing vanished: {m}");
    assert_eq!(get(&m, "delivered_once"), get(&m, "records_sent"));
    assert!(
        get(&m, "requests-in-flight-max") <= 3.0 * 5.0,
        "at most 5 requests in flight per connection: {m}"
    );
}
