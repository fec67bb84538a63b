//! The controller and the brokers' lifecycle through the `linger` binary: a crashed leader is
//! fenced from its missed heartbeats (7 to 9 s with Kafka's defaults), a controlled shutdown
//! moves leadership before the broker stops so the producer barely notices, and bad heartbeat
//! keys, the removed election-delay key and a shutdown of a broker already down are refused with
//! exit code 2 and the key named.

mod support;

use support::{Run, Trace, TraceLine, assert_refused_with, get, linger_run, scratch};

const SUITE: &str = "linger-controller";

/// Six partitions on three brokers (RF 3, min ISR 2), 2,000 records/s of 100 B for 14 s.
/// Broker 0 leads partitions 0 and 3 at the start.
const BASE: &str = r#"
[producer]
acks = "all"
"enable.idempotence" = IDEMPOTENCE

[workload]
value_bytes = 100
arrivals = { kind = "constant", per_sec = 2000 }

[cluster]
brokers = 3
partitions = 6
replication_factor = 3
"min.insync.replicas" = 2

[network]
latency = { dist = "constant", ms = 1 }

[run]
duration_ms = DURATION
seed = SEED
"#;

/// Runs `text` with a trace; the metrics of the run and its trace events.
fn run_traced(name: &str, text: &str) -> Run {
    support::run(SUITE, name, text, Trace::Keep)
}

fn experiment(idempotence: bool, duration_ms: u64, seed: u64, extra: &str) -> String {
    BASE.replace("IDEMPOTENCE", &idempotence.to_string())
        .replace("DURATION", &duration_ms.to_string())
        .replace("SEED", &seed.to_string())
        + extra
}

const CRASH_LEADER: &str = r#"
[[faults.schedule]]
at_ms = 2000
action = "crash"
broker = 0
"#;

/// A leader crash with acks=all, min.insync.replicas=2, RF 3: the controller fences the broker
/// `broker.session.timeout.ms` (9 s) after its last heartbeat, heartbeats come every 2 s, so the
/// new leaders are elected 7 to 9 s after the crash, at a point that depends on the seed; no
/// acknowledged record is lost. The client sees the crash at once (the process's connections
/// reset) but finds no other leader until the fence, so a batch waits for the fence, then the
/// metadata refresh and its backoff.
#[test]
fn a_crashed_leader_is_replaced_seven_to_nine_seconds_later_and_nothing_acked_is_lost() {
    let mut delays = Vec::new();
    for seed in 1..=5 {
        let text = experiment(true, 14_000, seed, CRASH_LEADER)
            .replace("[producer]", "[producer]\n\"request.timeout.ms\" = 2000");
        let run = run_traced(&format!("crash-{seed}"), &text);
        let m = &run.metrics;
        assert_eq!(get(m, "lost_acked"), 0.0, "seed {seed}: {m}");
        assert_eq!(get(m, "records_failed"), 0.0, "seed {seed}: {m}");
        assert_eq!(get(m, "delivered_once"), get(m, "records_sent"), "{m}");
        assert!(get(m, "latency_max_ms") < 12_000.0, "seed {seed}: {m}");
        let fence = run.times_ms("controller", "fence");
        assert_eq!(fence.len(), 1, "seed {seed}: fenced once: {fence:?}");
        let delay_ms = fence[0] - 2_000.0;
        assert!(
            (7_000.0..=9_000.0).contains(&delay_ms),
            "seed {seed}: fenced {delay_ms} ms after the crash"
        );
        let elections = run.times_ms("controller", "elect");
        assert_eq!(
            elections,
            vec![fence[0], fence[0]],
            "seed {seed}: broker 0's two partitions get new leaders when it is fenced"
        );
        delays.push(delay_ms);
    }
    delays.sort_by(f64::total_cmp);
    delays.dedup();
    assert!(
        delays.len() > 1,
        "the heartbeat phase varies by seed: {delays:?}"
    );
}

const SHUTDOWN_LEADER: &str = r#"
[[faults.schedule]]
at_ms = 1000
action = "shutdown"
broker = 0
"#;

/// A controlled shutdown of a leader while records are sent: the controller moves broker 0's
/// leadership at once, broker 0 answers NOT_LEADER_OR_FOLLOWER naming the new leader, the
/// producer switches at once and retries without backoff, and broker 0 stops only when it
/// leads nothing. No batch expires, no record fails, nothing is lost, and no record waits even
/// a second.
#[test]
fn a_controlled_shutdown_of_a_leader_costs_the_producer_almost_nothing() {
    for idempotence in [true, false] {
        let text = experiment(idempotence, 4_000, 7, SHUTDOWN_LEADER);
        let run = run_traced(&format!("shutdown-{idempotence}"), &text);
        let m = &run.metrics;
        let ctx = format!("idempotence {idempotence}: {m}");
        assert!(get(m, "records_sent") > 7_000.0, "{ctx}");
        assert_eq!(get(m, "records_failed"), 0.0, "{ctx}");
        assert_eq!(get(m, "record-error-total"), 0.0, "{ctx}");
        assert_eq!(get(m, "records_unfinished"), 0.0, "{ctx}");
        assert_eq!(get(m, "lost_acked"), 0.0, "{ctx}");
        assert!(get(m, "latency_max_ms") < 1_000.0, "{ctx}");
        assert!(run.times_ms("producer", "expire").is_empty(), "{ctx}");
        if idempotence {
            assert_eq!(get(m, "delivered_once"), get(m, "records_sent"), "{ctx}");
        }
        assert_eq!(run.times_ms("faults", "shutdown"), vec![1_000.0]);
        assert_eq!(
            run.times_ms("controller", "controlled_shutdown"),
            vec![1_000.0]
        );
        // Leadership moves at once; the broker stops afterwards, when the controller says so.
        assert_eq!(run.times_ms("controller", "elect"), vec![1_000.0, 1_000.0]);
        let stop = run.times_ms("controller", "shutdown_now");
        assert_eq!(stop.len(), 1, "{ctx}");
        assert!(stop[0] >= 1_050.0 && stop[0] <= 3_050.0, "{stop:?}");
        assert_eq!(run.times_ms("broker/0", "crash"), stop);
        // The producer learnt the new leaders from the NOT_LEADER_OR_FOLLOWER answers.
        let retries: Vec<&TraceLine> = run.events("producer", "retry").collect();
        assert!(!retries.is_empty(), "{ctx}");
        for retry in retries {
            assert_eq!(retry.text("error"), "NOT_LEADER_OR_FOLLOWER", "{retry:?}");
        }
    }
}

#[test]
fn a_shutdown_of_a_broker_already_down_is_refused_naming_the_entry() {
    let crashed = experiment(
        true,
        1_000,
        1,
        r#"
[[faults.schedule]]
at_ms = 100
action = "crash"
broker = 1

[[faults.schedule]]
at_ms = 200
action = "shutdown"
broker = 1
"#,
    );
    assert_refused_with(
        SUITE,
        "shutdown-after-crash",
        &crashed,
        &[
            "faults.schedule[1].broker",
            "broker 1 is already down at 200 ms",
            "faults.schedule[0]",
        ],
    );
    let twice = experiment(
        true,
        1_000,
        1,
        r#"
[[faults.schedule]]
at_ms = 100
action = "shutdown"
broker = 2

[[faults.schedule]]
at_ms = 300
action = "shutdown"
broker = 2
"#,
    );
    assert_refused_with(
        SUITE,
        "shutdown-twice",
        &twice,
        &["faults.schedule[1].broker", "broker 2 is already down"],
    );
    let unused = experiment(
        true,
        1_000,
        1,
        r#"
[[faults.schedule]]
at_ms = 100
action = "shutdown"
broker = 2
n = 3
"#,
    );
    assert_refused_with(
        SUITE,
        "shutdown-unused-key",
        &unused,
        &["faults.schedule[0].n", "action shutdown does not use n"],
    );
    // A restart in between makes the second shutdown fine.
    let restarted = experiment(
        true,
        1_000,
        1,
        r#"
[[faults.schedule]]
at_ms = 100
action = "shutdown"
broker = 2

[[faults.schedule]]
at_ms = 400
action = "restart"
broker = 2

[[faults.schedule]]
at_ms = 600
action = "shutdown"
broker = 2
"#,
    );
    let output = linger_run(
        &scratch(SUITE, "shutdown-restart-shutdown"),
        &restarted,
        &["--json"],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn bad_heartbeat_keys_and_the_removed_election_delay_are_refused_naming_the_key() {
    let with_cluster = |lines: &str| {
        experiment(true, 500, 1, "").replace(
            "\"min.insync.replicas\" = 2",
            &format!("\"min.insync.replicas\" = 2\n{lines}"),
        )
    };
    assert_refused_with(
        SUITE,
        "interval-zero",
        &with_cluster("broker_heartbeat_interval_ms = 0"),
        &[
            "cluster.broker_heartbeat_interval_ms",
            "allowed above 0 and below broker_session_timeout_ms (9000)",
        ],
    );
    assert_refused_with(
        SUITE,
        "interval-above-session",
        &with_cluster("broker_session_timeout_ms = 1000\nbroker_heartbeat_interval_ms = 1000"),
        &[
            "cluster.broker_heartbeat_interval_ms",
            "below broker_session_timeout_ms (1000)",
        ],
    );
    assert_refused_with(
        SUITE,
        "session-zero",
        &with_cluster("broker_session_timeout_ms = 0"),
        &["cluster.broker_session_timeout_ms", "allowed above 0"],
    );
    assert_refused_with(
        SUITE,
        "session-negative",
        &with_cluster("broker_session_timeout_ms = -5"),
        &["cluster.broker_session_timeout_ms", "not a duration"],
    );
    assert_refused_with(
        SUITE,
        "election-delay-removed",
        &with_cluster("controller_election_delay_ms = 500"),
        &[
            "cluster.controller_election_delay_ms was removed",
            "broker_session_timeout_ms",
            "broker_heartbeat_interval_ms",
            "experiment.toml:",
        ],
    );
}

/// A controlled shutdown still under way when the run starts settling is abandoned: the broker
/// stays up and rejoins the ISRs, so the run settles instead of waiting out `settle_ms`.
#[test]
fn a_shutdown_under_way_when_the_run_settles_leaves_the_broker_up() {
    let text = experiment(true, 1_000, 3, "")
        + r#"
[[faults.schedule]]
at_ms = 995
action = "shutdown"
broker = 1
"#;
    let run = run_traced("shutdown-at-the-end", &text);
    let m = &run.metrics;
    assert_eq!(get(m, "unsettled"), 0.0, "{m}");
    assert_eq!(get(m, "lost_acked"), 0.0, "{m}");
    assert_eq!(get(m, "delivered_once"), get(m, "records_sent"), "{m}");
    assert_eq!(
        run.times_ms("controller", "controlled_shutdown"),
        vec![995.0]
    );
    assert!(run.times_ms("controller", "shutdown_now").is_empty());
    assert!(run.times_ms("broker/1", "crash").is_empty());
    assert!(
        !run.times_ms("broker/0", "isr_expand").is_empty()
            || !run.times_ms("broker/2", "isr_expand").is_empty(),
        "broker 1 rejoins the ISRs"
    );
}

/// A broker the controller stops hearing (`isolate`: its session is lost, not yet expired)
/// misses the leader elections that happen meanwhile; heard again before the session timeout,
/// it replays them as a Kafka broker replays the metadata log, and follows the new leaders.
/// Here broker 1 crashes while broker 0 is not heard, so broker 1's partitions move to broker
/// 2; broker 0 comes back 2 s later (7 s before its fencing) and must fetch from broker 2, so
/// the run settles with every replica caught up.
#[test]
fn a_broker_heard_again_before_its_fencing_follows_the_leaders_elected_meanwhile() {
    let text = experiment(false, 4_000, 2, "")
        + r#"
[[faults.schedule]]
at_ms = 500
action = "isolate"
broker = 0

[[faults.schedule]]
at_ms = 1000
action = "crash"
broker = 1

[[faults.schedule]]
at_ms = 1200
action = "restart"
broker = 1

[[faults.schedule]]
at_ms = 2500
action = "rejoin"
broker = 0
"#;
    let run = run_traced("rejoin-replays-metadata", &text);
    let m = &run.metrics;
    assert_eq!(get(m, "unsettled"), 0.0, "{m}");
    assert_eq!(get(m, "lost_acked"), 0.0, "{m}");
    assert!(
        run.times_ms("controller", "fence")
            .iter()
            .all(|&t| t < 2_500.0),
        "broker 0 is heard again before its session expires"
    );
    let follows: Vec<f64> = run
        .events("broker/0", "become_follower")
        .filter(|e| e.int("leader") == 2)
        .map(TraceLine::ms)
        .collect();
    assert!(
        follows.contains(&2_500.0),
        "broker 0 follows broker 2 as soon as it is heard again: {follows:?}"
    );
}
