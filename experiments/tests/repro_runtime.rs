//! Regression tests for inputs that used to hang, storm or overflow at run time: each runs the
//! `linger` binary on a copy of a reproduction file (`tests/repro/`) under a wall-clock timeout,
//! so a hang fails the test instead of hanging CI, and checks what is right for it: the run
//! finishes with its failures counted, or it stops as a bound reached (exit 3) naming the key
//! to raise, or it is refused before it starts (exit 2).

use std::io::Read as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
#[allow(clippy::disallowed_types)]
use std::time::{Duration, Instant};

/// What one `linger` invocation printed, and how it ended.
struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `linger args...`, killing it (and failing) after `limit` of wall time. The wall clock
/// and the polling sleep only turn a hang into a failure; nothing from them enters a run.
#[allow(clippy::disallowed_methods, clippy::disallowed_types)]
fn linger_within(limit: Duration, args: &[&str]) -> Ran {
    let mut child = Command::new(env!("CARGO_BIN_EXE_linger"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("the child can be polled") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "`linger {}` did not finish within {limit:?}",
                args.join(" ")
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .expect("piped")
        .read_to_string(&mut stdout)
        .expect("utf-8 stdout");
    child
        .stderr
        .take()
        .expect("piped")
        .read_to_string(&mut stderr)
        .expect("utf-8 stderr");
    Ran {
        code: status.code().unwrap_or(-1),
        stdout,
        stderr,
    }
}

fn repro(name: &str) -> String {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "repro", name]
        .iter()
        .collect();
    path.to_string_lossy().into_owned()
}

const LIMIT: Duration = Duration::from_secs(60);

/// The metrics of the first run of `linger run --json`.
fn metrics(ran: &Ran) -> serde_json::Value {
    let report: serde_json::Value = serde_json::from_str(&ran.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", ran.stdout, ran.stderr));
    report["runs"][0]["metrics"].clone()
}

fn metric(metrics: &serde_json::Value, name: &str) -> f64 {
    metrics[name]
        .as_f64()
        .unwrap_or_else(|| panic!("no metric {name} in {metrics}"))
}

/// A sync send that fails inside `send()` is counted failed and the application moves on at its
/// next arrival: the run ends with every record acked or failed, none unfinished, and time
/// advanced through the send phase (10 ms at the default 100,000 records/s).
fn assert_sync_sends_fail_and_time_advances(file: &str) -> serde_json::Value {
    let ran = linger_within(LIMIT, &["run", &repro(file), "--json"]);
    assert_eq!(ran.code, 0, "{file}: {}", ran.stderr);
    assert!(!ran.stderr.contains("broken invariant"), "{}", ran.stderr);
    let m = metrics(&ran);
    let sent = metric(&m, "records_sent");
    let failed = metric(&m, "records_failed");
    assert!(failed > 0.0, "{file}: no record failed");
    assert_eq!(
        metric(&m, "records_acked") + failed,
        sent,
        "{file}: none unfinished"
    );
    let report: serde_json::Value = serde_json::from_str(&ran.stdout).expect("JSON");
    let virtual_ns = report["runs"][0]["virtual_time_ns"].as_u64().expect("time");
    assert!(
        virtual_ns >= 10_000_000,
        "{file}: time stopped at {virtual_ns} ns"
    );
    m
}

/// The send fails for every record: one failed record per arrival, 10 µs apart, from the
/// first metadata (about 3 ms in: the connect's SYN, ApiVersions and Metadata round trips) to
/// the end of the 10 ms send phase.
fn assert_every_sync_send_fails(file: &str) {
    let m = assert_sync_sends_fail_and_time_advances(file);
    let sent = metric(&m, "records_sent");
    assert!(
        (600.0..=800.0).contains(&sent),
        "{file}: {sent} records sent"
    );
    assert_eq!(
        metric(&m, "records_failed"),
        sent,
        "{file}: every record failed"
    );
}

#[test]
fn sync_send_failing_on_buffer_memory_moves_on() {
    assert_every_sync_send_fails("sync-livelock-buffer-memory.toml");
}

#[test]
fn sync_send_failing_with_max_block_0_moves_on() {
    // Some sends find memory free and are acknowledged; the others fail at once.
    assert_sync_sends_fail_and_time_advances("sync-livelock-max-block-0.toml");
}

#[test]
fn sync_send_of_a_record_too_large_moves_on() {
    assert_every_sync_send_fails("sync-livelock-too-large.toml");
}

/// With `replica.fetch.backoff.ms = 0` and a cut broker link, the follower's fetch is noticed
/// lost after `replica.socket.timeout.ms` instead of being refetched at the same instant: the
/// run finishes, acknowledges its records, and handles few events.
fn assert_fetch_backoff_0_finishes(file: &str) {
    let ran = linger_within(LIMIT, &["run", &repro(file), "--json"]);
    assert_eq!(ran.code, 0, "{file}: {}", ran.stderr);
    let report: serde_json::Value = serde_json::from_str(&ran.stdout).expect("JSON");
    let events = report["runs"][0]["events"].as_u64().expect("events");
    assert!(events < 200_000, "{file}: {events} events");
    let m = metrics(&ran);
    assert!(metric(&m, "records_sent") > 0.0);
    assert_eq!(metric(&m, "records_acked"), metric(&m, "records_sent"));
}

#[test]
fn fetch_backoff_0_with_a_cut_link_lets_time_advance() {
    assert_fetch_backoff_0_finishes("fetch-backoff-0-livelock.toml");
}

#[test]
fn fetch_backoff_0_with_a_cut_link_lets_time_advance_under_its_own_bound() {
    assert_fetch_backoff_0_finishes("fetch-backoff-0-livelock-bounded.toml");
}

/// A storm of events within each virtual millisecond stops at the progress guard, as a bound
/// reached that names the guard, the event kind, the virtual time, the seed and the key to
/// raise: never a broken invariant, never the user's event budget after minutes.
fn assert_progress_guard_trips(file: &str) {
    let ran = linger_within(LIMIT, &["run", &repro(file)]);
    assert!(!ran.stderr.contains("broken invariant"), "{}", ran.stderr);
    assert_eq!(ran.code, 3, "{file}: {}", ran.stderr);
    let line = bound_line(&ran);
    assert!(
        line.contains("the progress guard (50000 events within 1ms"),
        "{line}"
    );
    assert!(line.contains("mostly "), "{line}");
    // The dominant kind is named in Kafka's words, not as a path of the model's types.
    assert!(!line.contains("::"), "{line}");
    assert!(line.contains("at virtual time "), "{line}");
    assert!(line.contains("(seed "), "{line}");
    assert!(
        line.contains("raise [run] max_events_per_virtual_ms to go further"),
        "{line}"
    );
    assert!(ran.stderr.contains("replay: linger run "), "{}", ran.stderr);
}

#[test]
fn zero_latency_with_fetch_wait_0_stops_at_the_progress_guard() {
    assert_progress_guard_trips("zero-latency-fetch-wait-0.toml");
}

/// `request.timeout.ms = 0` (which Kafka's `ConfigDef` accepts) times every request out the
/// instant it is sent: no answer can arrive, so the simulation refuses it before running.
#[test]
fn request_timeout_0_is_refused_naming_the_key() {
    let ran = linger_within(
        LIMIT,
        &["run", &repro("request-timeout-0-event-storm.toml")],
    );
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("request.timeout.ms"), "{}", ran.stderr);
    assert!(ran.stderr.contains("allowed from 1 ms"), "{}", ran.stderr);
    assert!(ran.stdout.is_empty(), "nothing ran: {}", ran.stdout);
}

/// Zero latency with retries that take virtual time: the work per virtual second is bounded
/// (a few hundred events per virtual ms), so 200 virtual ms cost few events.
fn assert_work_per_virtual_second_is_bounded(file: &str) {
    let ran = linger_within(
        LIMIT,
        &["run", &repro(file), "--max-virtual-time", "200", "--json"],
    );
    assert!(!ran.stderr.contains("broken invariant"), "{}", ran.stderr);
    assert_eq!(ran.code, 3, "{file}: {}", ran.stderr);
    assert!(bound_line(&ran).contains("the virtual time bound of 0.200000000s"));
    let report: serde_json::Value = serde_json::from_str(&ran.stdout).expect("JSON");
    let events = report["runs"][0]["events"].as_u64().expect("events");
    assert!(
        events < 200_000,
        "{file}: {events} events in 200 virtual ms"
    );
}

#[test]
fn zero_latency_with_message_too_large_does_bounded_work_per_virtual_second() {
    assert_work_per_virtual_second_is_bounded("zero-latency-message-too-large.toml");
}

#[test]
fn zero_latency_retries_do_bounded_work_per_virtual_second() {
    assert_work_per_virtual_second_is_bounded("zero-latency-retry-livelock.toml");
}

/// The line of stderr that reports a bound reached.
fn bound_line(ran: &Ran) -> &str {
    ran.stderr
        .lines()
        .find(|l| l.starts_with("bound reached: "))
        .unwrap_or_else(|| panic!("no bound line (exit {}): {}", ran.code, ran.stderr))
}

#[test]
fn a_users_event_bound_is_a_bound_reached_with_exit_3() {
    let file = repro("drain-maxevents.toml");
    let ran = linger_within(LIMIT, &["run", &file, "--set", "run.max_events=20000"]);
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    assert!(!ran.stderr.contains("broken invariant"), "{}", ran.stderr);
    let line = bound_line(&ran);
    assert!(line.contains("the event budget of 20000 events"), "{line}");
    assert!(
        line.contains("raise [run] max_events to go further"),
        "{line}"
    );
    assert!(line.contains("(seed "), "{line}");
    // The partial results are still printed, with the bound among the warnings.
    assert!(ran.stdout.contains("bound reached: "), "{}", ran.stdout);
}

#[test]
fn a_drain_of_virtual_days_is_announced_and_bounded_by_max_virtual_time() {
    let file = repro("drain-maxevents.toml");
    let ran = linger_within(LIMIT, &["run", &file, "--max-virtual-time", "20000"]);
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    let line = bound_line(&ran);
    assert!(
        line.contains("the virtual time bound of 20.000000000s"),
        "{line}"
    );
    assert!(line.contains("at virtual time 20.000000000s"), "{line}");
    assert!(line.contains("--max-virtual-time"), "{line}");
    // Without the bound, the same file is warned about before it starts.
    let ran = linger_within(
        LIMIT,
        &["run", &file, "--set", "run.max_virtual_time_ms=5000"],
    );
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    assert!(
        !ran.stderr.contains("virtual days"),
        "bounded: {}",
        ran.stderr
    );
}

#[test]
fn a_giant_drain_is_warned_about_before_it_starts() {
    let file = repro("giant-drain-linger-int-max.toml");
    let ran = linger_within(LIMIT, &["run", &file, "--max-virtual-time", "3000"]);
    assert!(!ran.stderr.contains("broken invariant"), "{}", ran.stderr);
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    assert!(bound_line(&ran).contains("max_virtual_time_ms"));
    // Without a bound short of the drain, the estimate is printed before the run starts.
    let ran = linger_within(LIMIT, &["run", &file, "--set", "run.max_events=1000"]);
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    let warning = ran
        .stderr
        .lines()
        .find(|l| l.starts_with("warning: this run may last up to "))
        .unwrap_or_else(|| panic!("no estimate: {}", ran.stderr));
    assert!(warning.contains("24.9 virtual days"), "{warning}");
    assert!(warning.contains("--max-virtual-time"), "{warning}");
}

#[test]
fn a_run_estimated_over_its_memory_budget_is_refused_before_it_starts() {
    // The default world for a virtual hour: 360 million records, about 12 million batches,
    // against a budget of 64 MiB (the default budget holds it).
    let ran = linger_within(
        LIMIT,
        &["run", "--duration-ms", "3600000", "--max-memory-mb", "64"],
    );
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("[run] max_memory_mb"), "{}", ran.stderr);
    assert!(
        ran.stderr.contains("over the budget of 64 MiB"),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr
            .contains("360000000 records sent, 6 partitions, replication factor 3"),
        "{}",
        ran.stderr
    );
    // A keyed workload holds a run per record: a virtual day of it is over the default budget.
    let ran = linger_within(
        LIMIT,
        &[
            "run",
            "--duration-ms",
            "86400000",
            "--set",
            "workload.keys={ kind = \"uniform\", count = 100 }",
        ],
    );
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("over the budget of 8192 MiB"),
        "{}",
        ran.stderr
    );
    assert!(ran.stdout.is_empty(), "nothing ran: {}", ran.stdout);
}

#[test]
fn days_of_retries_do_not_overflow_and_stop_at_the_virtual_time_bound() {
    let file = repro("queue-time-overflow.toml");
    let ran = linger_within(
        LIMIT,
        &["run", &file, "--max-virtual-time", "30000", "--json"],
    );
    assert!(!ran.stderr.contains("broken invariant"), "{}", ran.stderr);
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    // The partial metrics are still reported (the sums themselves are unit-tested in
    // `batching::metrics`: a u128 queue-time sum).
    let m = metrics(&ran);
    assert_eq!(metric(&m, "records_sent"), 1.0, "{m}");
}

#[test]
fn a_sweep_point_that_reaches_a_bound_is_recorded_and_the_sweep_exits_3() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("repro-runtime-sweep");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let file = dir.join("sweep.toml");
    std::fs::write(
        &file,
        "[workload]\narrivals = { kind = \"constant\", per_sec = 1000 }\n\
         [run]\nduration_ms = 100\n[sweep.run]\nmax_events = [50, 100000000]\n",
    )
    .expect("writes");
    let out = dir.join("out");
    let ran = linger_within(
        LIMIT,
        &[
            "sweep",
            &file.to_string_lossy(),
            "--out",
            &out.to_string_lossy(),
            "--threads",
            "1",
        ],
    );
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("bound reached: 1 runs"),
        "{}",
        ran.stderr
    );
    let rows = std::fs::read_to_string(out.join("results.jsonl")).expect("rows written");
    assert_eq!(rows.lines().count(), 2, "both points recorded: {rows}");
    assert_eq!(
        rows.lines()
            .filter(|l| l.contains("bound reached: the event budget of 50 events"))
            .count(),
        1,
        "{rows}"
    );
}

/// A `send()` blocked on the first metadata for 3 s while 30,000 records/s come due: the
/// backlog is a finite burst, not a loop, but with no CPU cost per `send()` it falls on one
/// instant and trips the progress guard, whose message names the application's sends and the
/// key that gives `send()` its cost. With 2 µs per `send()` the same run finishes, every record
/// delivered once.
#[test]
fn a_send_backlog_at_one_instant_names_send_cpu_ms_and_runs_with_a_send_cost() {
    let file = "send-backlog-after-metadata-block.toml";
    assert_progress_guard_trips(file);
    let tripped = linger_within(LIMIT, &["run", &repro(file)]);
    let line = bound_line(&tripped);
    assert!(line.contains("mostly application send() calls"), "{line}");
    assert!(line.contains("[workload] send_cpu_ms"), "{line}");
    let ran = linger_within(
        LIMIT,
        &[
            "run",
            &repro(file),
            "--json",
            "--set",
            "workload.send_cpu_ms=0.002",
        ],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let m = metrics(&ran);
    // 30,000 records/s for 4 s.
    assert!(metric(&m, "records_sent") >= 120_000.0, "{m}");
    assert_eq!(
        metric(&m, "delivered_once"),
        metric(&m, "records_sent"),
        "{m}"
    );
    let max = metric(&m, "latency_max_ms");
    assert!((3_000.0..3_500.0).contains(&max), "{m}");
}
