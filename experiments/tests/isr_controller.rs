//! ISR changes through the controller and Eligible Leader Replicas, through the `linger`
//! binary: a leader the controller does not hear cannot shrink its ISR, so its acks=all records
//! wait and nothing acknowledged is lost; the high watermark waits on the old ISR while a shrink
//! is in flight; with ELR on the last ELR member becomes leader cleanly after the leader dies,
//! with it off the partition goes offline (or loses acknowledged records with unclean election);
//! the version profiles give ELR's defaults; bad ELR and round-trip keys exit with code 2.

mod support;

use support::{Run, Trace, assert_refused_with, get};

const SUITE: &str = "linger-isr-controller";

/// One partition on three brokers (RF 3, min ISR 2, lag 1 s), 1,000 records/s of 100 B.
/// Broker 0 leads, its followers are brokers 1 and 2 (in assignment order).
const BASE: &str = r#"
[producer]
acks = "all"
"linger.kafka.version" = "PROFILE"

[workload]
value_bytes = 100
arrivals = { kind = "constant", per_sec = 1000 }

[cluster]
brokers = 3
partitions = 1
replication_factor = 3
"min.insync.replicas" = 2
"replica.lag.time.max.ms" = 1000

[network]
latency = { dist = "constant", ms = 1 }

[run]
duration_ms = DURATION
seed = 1
"#;

fn experiment(profile: &str, duration_ms: u64, extra: &str) -> String {
    BASE.replace("PROFILE", profile)
        .replace("DURATION", &duration_ms.to_string())
        + extra
}

/// Runs `text` with a trace; the metrics of the run and its trace events.
fn run_traced(name: &str, text: &str) -> Run {
    support::run(SUITE, name, text, Trace::Keep)
}

/// Broker 0 loses the controller and its broker links at 2 s (a zombie leader the client
/// still reaches). Its followers stop fetching, so after `replica.lag.time.max.ms` it proposes
/// to shrink the ISR, but the controller never answers: the change stays pending, the high
/// watermark waits on the old ISR, and no acks=all record is acknowledged until the controller
/// has fenced broker 0 and elected broker 1, which the producer finds after its requests to
/// broker 0 time out. Nothing acknowledged is lost.
#[test]
fn an_isolated_leader_cannot_shrink_its_isr_and_its_acks_all_records_wait() {
    let text = experiment(
        "4.0",
        16_000,
        r#"
[[faults.schedule]]
at_ms = 2000
action = "isolate"
broker = 0
"#,
    )
    .replace("[producer]", "[producer]\n\"request.timeout.ms\" = 3000");
    let run = run_traced("isolated", &text);
    let m = &run.metrics;
    assert_eq!(get(m, "lost_acked"), 0.0, "{m}");
    assert_eq!(get(m, "records_failed"), 0.0, "{m}");
    assert_eq!(get(m, "delivered_once"), get(m, "records_sent"), "{m}");
    assert!(
        get(m, "record-retry-total") > 0.0,
        "requests timed out: {m}"
    );
    let unanswered = run.times_ms("broker/0", "alter_partition_unanswered");
    assert!(
        unanswered.iter().any(|&t| t > 2_000.0),
        "broker 0 proposed a shrink the controller did not hear: {unanswered:?}"
    );
    let shrinks = run.times_ms("broker/0", "isr_shrink");
    assert!(
        shrinks.iter().all(|&t| t < 2_000.0),
        "no ISR shrink on the isolated leader: {shrinks:?}"
    );
    let hw_moves = run.times_ms("broker/0", "hw");
    let fence = run.times_ms("controller", "fence");
    assert_eq!(fence.len(), 1, "{fence:?}");
    let elect = run
        .events("controller", "elect")
        .find(|e| e.ms() == fence[0])
        .expect("a new leader when broker 0 is fenced");
    assert_eq!(elect.text("leader"), "1");
    // Requests sent before the isolation are answered within a few ms; after that the high
    // watermark on broker 0 never moves again, and no record is acknowledged until the new
    // leader answers.
    assert!(
        hw_moves.iter().all(|&t| t < 2_100.0),
        "the zombie's HW stays put: {hw_moves:?}"
    );
    let acks = run.times_ms("app", "ack");
    assert!(
        acks.iter().all(|&t| t < 2_100.0 || t > fence[0]),
        "no acknowledgement between the isolation and the election at {} ms",
        fence[0]
    );
}

/// A shrink in flight for three seconds (`alter_partition_round_trip_ms` = 3000): broker 2
/// stops fetching at 1 s; when broker 0 proposes to drop it, the high watermark keeps using
/// the old ISR (Kafka's maximal ISR of a pending shrink) and stays where broker 2 left it until
/// the controller's answer commits ISR 0,1; then it jumps at once, and the records waiting in
/// purgatory are acknowledged.
#[test]
fn the_high_watermark_waits_on_the_old_isr_while_a_shrink_is_pending() {
    let round_trip_ms = 3_000.0;
    let text = experiment(
        "4.0",
        8_000,
        r#"
[[faults.schedule]]
at_ms = 1000
action = "cut"
link = ["broker0", "broker2"]
"#,
    )
    .replace(
        "[cluster]",
        &format!("[cluster]\nalter_partition_round_trip_ms = {round_trip_ms}"),
    );
    let run = run_traced("pending-shrink", &text);
    let m = &run.metrics;
    assert_eq!(get(m, "lost_acked"), 0.0, "{m}");
    let shrink = run
        .events("broker/0", "isr_shrink")
        .next()
        .expect("the shrink is committed");
    assert_eq!(shrink.text("isr"), "0,1");
    let committed = shrink.ms();
    let proposed = committed - round_trip_ms;
    assert!(
        proposed >= 2_000.0,
        "proposed after the lag time: {proposed}"
    );
    let elr = run.times_ms("controller", "elr");
    assert!(elr.is_empty(), "ELR is off on 4.0: {elr:?}");
    let hw = run.times_ms("broker/0", "hw");
    let stuck: Vec<f64> = hw
        .iter()
        .copied()
        .filter(|&t| t > 1_100.0 && t < committed)
        .collect();
    assert!(
        stuck.is_empty(),
        "no HW move while broker 2 is out of reach and the shrink is pending: {stuck:?}"
    );
    assert!(
        hw.contains(&committed),
        "the HW moves when the answer commits the shrink at {committed} ms: {hw:?}"
    );
    let acks = run.times_ms("app", "ack");
    assert!(
        !acks.iter().any(|&t| t > 1_100.0 && t < committed),
        "acks=all waits for the committed shrink"
    );
    assert!(acks.iter().any(|&t| t >= committed && t < committed + 10.0));
}

/// The controller refuses stale proposals. With a 3 s round trip, broker 0 proposes to drop
/// the cut-off broker 2 at 2.5 s (the first ISR check more than `replica.lag.time.max.ms` after
/// broker 2's last fetch); before the request arrives at 4 s the record changes under it:
/// a controlled shutdown of follower 1 removes it from the ISR (a newer partition epoch:
/// INVALID_UPDATE_VERSION), or a controlled shutdown of the leader itself moves leadership (a
/// newer leader epoch: FENCED_LEADER_EPOCH). Either way the stale ISR is not applied and
/// nothing acknowledged is lost.
#[test]
fn the_controller_refuses_proposals_with_a_stale_partition_or_leader_epoch() {
    for (broker, error) in [(1, "INVALID_UPDATE_VERSION"), (0, "FENCED_LEADER_EPOCH")] {
        let faults = format!(
            r#"
[[faults.schedule]]
at_ms = 1000
action = "cut"
link = ["broker0", "broker2"]

[[faults.schedule]]
at_ms = 3000
action = "shutdown"
broker = {broker}
"#
        );
        let text = experiment("4.0", 6_000, &faults).replace(
            "[cluster]",
            "[cluster]\nalter_partition_round_trip_ms = 3000",
        );
        let run = run_traced(&format!("stale-{error}"), &text);
        let m = &run.metrics;
        assert_eq!(get(m, "lost_acked"), 0.0, "{error}: {m}");
        let rejected: Vec<(f64, String, String)> = run
            .events("controller", "alter_partition_rejected")
            .map(|e| (e.ms(), e.text("broker"), e.text("error")))
            .collect();
        let (at, from, code) = rejected.first().expect("a rejection").clone();
        assert_eq!((from.as_str(), code.as_str()), ("0", error), "{rejected:?}");
        // It arrives half a round trip after it was proposed, after the shutdown.
        assert!(at > 3_000.0 && at <= 4_500.0, "{error}: {rejected:?}");
        // The stale proposal (ISR 0,1) never became the ISR.
        let stale = run
            .events("broker/0", "isr_shrink")
            .find(|e| e.text("isr") == "0,1");
        assert!(stale.is_none(), "{error}: {stale:?}");
    }
}

/// Follower 1 is cut from the leader at 1 s (ISR 0,2), follower 2 at 4 s (ISR 0, below min
/// ISR, so broker 2 joins the ELR), and the leader crashes at 7 s.
const FOLLOWERS_DROP_THEN_LEADER_DIES: &str = r#"
[[faults.schedule]]
at_ms = 1000
action = "cut"
link = ["broker0", "broker1"]

[[faults.schedule]]
at_ms = 4000
action = "cut"
link = ["broker0", "broker2"]

[[faults.schedule]]
at_ms = 7000
action = "crash"
broker = 0
"#;

/// With ELR (the 4.1 profile's default) the fenced leader empties the ISR, and the controller
/// elects broker 2 from the ELR, cleanly: broker 2 holds every record acknowledged while the
/// ISR was 0,2, and the high watermark did not move while the ISR was 0 alone, so nothing
/// acknowledged is lost and no record fails.
#[test]
fn with_elr_the_last_elr_member_becomes_leader_cleanly_and_nothing_acked_is_lost() {
    let text = experiment("4.1", 12_000, FOLLOWERS_DROP_THEN_LEADER_DIES);
    let run = run_traced("elr-on", &text);
    let m = &run.metrics;
    assert_eq!(get(m, "lost_acked"), 0.0, "{m}");
    assert_eq!(get(m, "records_failed"), 0.0, "{m}");
    assert_eq!(get(m, "delivered_once"), get(m, "records_sent"), "{m}");
    let elr: Vec<(f64, String)> = run
        .events("controller", "elr")
        .map(|e| (e.ms(), e.text("elr")))
        .collect();
    assert_eq!(elr.first().map(|e| e.1.as_str()), Some("2"), "{elr:?}");
    assert!(
        (4_000.0..7_000.0).contains(&elr[0].0),
        "broker 2 joins the ELR when it leaves the ISR: {elr:?}"
    );
    let fence = run.times_ms("controller", "fence");
    let elect = run
        .events("controller", "elect")
        .find(|e| fence.contains(&e.ms()))
        .expect("an election when broker 0 is fenced");
    assert_eq!(elect.text("leader"), "2", "the ELR member leads");
    assert_eq!(elect.text("unclean"), "false");
    assert!(run.events("controller", "offline").next().is_none());
}

/// The same story with ELR off (the 4.0 profile's default): the ISR keeps the dead leader, so
/// the partition goes offline until broker 0 comes back at the end of the run, and every record
/// sent meanwhile fails, but none acknowledged is lost. With unclean election on, the
/// controller instead elects broker 1, which lacks what was acknowledged while the ISR was 0,2:
/// acknowledged records are lost.
#[test]
fn without_elr_the_partition_goes_offline_and_unclean_election_loses_acknowledged_records() {
    let text = experiment("4.0", 12_000, FOLLOWERS_DROP_THEN_LEADER_DIES);
    let offline = run_traced("elr-off", &text);
    let m = &offline.metrics;
    assert_eq!(get(m, "lost_acked"), 0.0, "{m}");
    assert!(get(m, "records_failed") > 0.0, "{m}");
    assert!(offline.events("controller", "elr").next().is_none());
    let fence = offline.times_ms("controller", "fence");
    assert_eq!(offline.times_ms("controller", "offline"), fence);

    let unclean_text = text.replace(
        "[cluster]",
        "[cluster]\n\"unclean.leader.election.enable\" = true",
    );
    let unclean = run_traced("elr-off-unclean", &unclean_text);
    let m = &unclean.metrics;
    assert!(get(m, "lost_acked") > 0.0, "{m}");
    let elect = unclean
        .events("controller", "elect")
        .next()
        .expect("an unclean election");
    assert_eq!(elect.text("leader"), "1");
    assert_eq!(elect.text("unclean"), "true");
}

/// ELR is on by default from the 4.1 profile (4.1 and 4.2), off on 4.0, and the cluster key
/// turns it on for 4.0 and off for 4.1: seen from whether broker 2 joins an ELR.
#[test]
fn profiles_give_the_eligible_leader_replicas_defaults_and_the_key_overrides_them() {
    let drop_followers = r#"
[[faults.schedule]]
at_ms = 500
action = "cut"
link = ["broker0", "broker1"]

[[faults.schedule]]
at_ms = 2000
action = "cut"
link = ["broker0", "broker2"]
"#;
    for (profile, key, elr_expected) in [
        ("4.0", None, false),
        ("4.1", None, true),
        ("4.2", None, true),
        ("4.0", Some(1), true),
        ("4.1", Some(0), false),
        ("3.9", Some(0), false),
    ] {
        let mut text = experiment(profile, 4_000, drop_followers);
        if let Some(version) = key {
            text = text.replace(
                "[cluster]",
                &format!("[cluster]\n\"eligible.leader.replicas.version\" = {version}"),
            );
        }
        let run = run_traced(&format!("profile-{profile}-{key:?}"), &text);
        let elr: Vec<String> = run
            .events("controller", "elr")
            .map(|e| e.text("elr"))
            .collect();
        if elr_expected {
            assert_eq!(
                elr.first().map(String::as_str),
                Some("2"),
                "{profile} {key:?}"
            );
        } else {
            assert!(elr.is_empty(), "{profile} {key:?}: {elr:?}");
        }
    }
}

#[test]
fn bad_elr_and_round_trip_keys_are_refused_naming_key_file_and_line() {
    let with = |profile: &str, line: &str| {
        experiment(profile, 1_000, "").replace("[cluster]", &format!("[cluster]\n{line}"))
    };
    // The key is the first line of [cluster], line 11 of the file.
    assert_refused_with(
        SUITE,
        "elr-on-3x",
        &with("3.9", "\"eligible.leader.replicas.version\" = 1"),
        &[
            "experiment.toml:11",
            "cluster.\"eligible.leader.replicas.version\"",
            "Kafka 3.9 has no Eligible Leader Replicas",
            "allowed 0",
        ],
    );
    assert_refused_with(
        SUITE,
        "elr-two",
        &with("4.1", "\"eligible.leader.replicas.version\" = 2"),
        &[
            "experiment.toml:11",
            "eligible.leader.replicas.version",
            "allowed 0 (off) or 1",
        ],
    );
    assert_refused_with(
        SUITE,
        "elr-negative",
        &with("4.1", "\"eligible.leader.replicas.version\" = -1"),
        &[
            "experiment.toml:11",
            "eligible.leader.replicas.version",
            "0 (off) or 1",
        ],
    );
    assert_refused_with(
        SUITE,
        "elr-without-frozen-hw",
        &with("4.1", "hw_frozen_under_min_isr = false"),
        &[
            "experiment.toml:11",
            "cluster.hw_frozen_under_min_isr",
            "eligible.leader.replicas.version",
        ],
    );
    for bad in ["40000", "-1", "nan"] {
        assert_refused_with(
            SUITE,
            &format!("round-trip-{bad}"),
            &with("4.0", &format!("alter_partition_round_trip_ms = {bad}")),
            &[
                "experiment.toml:11",
                "alter_partition_round_trip_ms",
                "0 ..= 30000 ms",
            ],
        );
    }
}
