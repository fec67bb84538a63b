//! Scenario tests of the replicated brokers: acks, ISR, high watermark, purgatory, elections,
//! truncation and broker-side idempotence, driven by a scripted test client.

mod cluster_support;

use cluster_support::*;
use models::cluster::ClusterConfig;
use models::protocol::{Acks, BrokerId, ErrorCode, PartitionId};
use sim::{Instant, Value};

fn field_u64(e: &sim::TraceEvent, key: &str) -> u64 {
    match e.field(key) {
        Some(Value::U64(v)) => *v,
        Some(Value::I64(v)) => *v as u64,
        other => panic!("field {key} missing or not a number: {other:?}"),
    }
}

#[test]
fn acks1_append_then_leader_crash_before_fetch_loses_the_batch_and_old_leader_truncates() {
    let mut h = Harness::new(&small_cluster(1), &lan(), None, 1);
    h.at(1.0, Step::Cut(broker(0), broker(1)));
    h.at(1.0, Step::Cut(broker(0), broker(2)));
    h.at(2.0, produce(0, 1, Acks::Leader, vec![batch(0, 0, 5)]));
    h.at(10.0, Step::Crash(BrokerId(0)));
    h.at(300.0, produce(1, 2, Acks::Leader, vec![batch(0, 100, 3)]));
    h.at(400.0, Step::Heal(broker(0), broker(1)));
    h.at(400.0, Step::Heal(broker(0), broker(2)));
    h.at(400.0, Step::Restart(BrokerId(0)));
    h.run_until(3_000.0);

    let (_, r1) = h.world.response(1).expect("acks=1 is answered");
    assert_eq!(r1.partitions[0].error, ErrorCode::None);
    assert_eq!(r1.partitions[0].base_offset, 0);
    let elect = h.events("controller", "elect");
    assert_eq!(elect.len(), 1);
    assert_eq!(elect[0].field("leader"), Some(&Value::U64(1)));
    assert_eq!(elect[0].field("unclean"), Some(&Value::Bool(false)));
    let (_, r2) = h.world.response(2).expect("the new leader answers");
    assert_eq!(
        r2.partitions[0].base_offset, 0,
        "the new leader never had the first batch"
    );
    let truncates = h.events("broker/0", "truncate");
    assert_eq!(truncates.len(), 1);
    assert_eq!(field_u64(&truncates[0], "to_offset"), 0);
    assert_eq!(field_u64(&truncates[0], "removed"), 5);
    assert_eq!(committed_ids(&h.world, 0), vec![100, 101, 102]);
    assert_eq!(
        h.world.cluster.log_end_offset(BrokerId(0), PartitionId(0)),
        3
    );
    assert!(h.world.cluster.is_settled());
}

#[test]
fn acks_all_is_answered_only_after_the_high_watermark_passes_the_batch() {
    let mut h = Harness::new(&small_cluster(1), &lan(), None, 2);
    h.at(1.0, produce(0, 1, Acks::All, vec![batch(0, 0, 5)]));
    h.run_until(100.0);
    let (t_resp, r) = h.world.response(1).expect("answered");
    assert_eq!(r.partitions[0].error, ErrorCode::None);
    assert_eq!(r.partitions[0].base_offset, 0);
    let append = &h.events("broker/0", "append")[0];
    let hw = h
        .events("broker/0", "hw")
        .into_iter()
        .find(|e| field_u64(e, "hw") >= 5)
        .expect("the HW reached 5");
    // Request 0.5 ms, then the woken fetch response 0.5 ms, the next fetch 0.5 ms, the response 0.5 ms.
    assert!(append.time >= Instant::from_nanos(1_500_000));
    assert!(
        hw.time >= append.time + sim::Duration::from_micros(1_000),
        "the HW needs a fetch round trip"
    );
    assert!(
        t_resp >= hw.time + sim::Duration::from_micros(500),
        "the response leaves after the HW moved"
    );
    assert!(
        t_resp < Instant::from_millis(5),
        "long polling answers within one round trip, not fetch.wait.max"
    );
}

#[test]
fn acks1_is_answered_right_after_the_leader_append() {
    let mut h = Harness::new(&small_cluster(1), &lan(), None, 3);
    h.at(1.0, produce(0, 1, Acks::Leader, vec![batch(0, 0, 5)]));
    h.at(1.0, produce(0, 2, Acks::None, vec![batch(0, 5, 5)]));
    h.run_until(100.0);
    let (t, r) = h.world.response(1).expect("answered");
    assert_eq!(r.partitions[0].error, ErrorCode::None);
    let append = &h.events("broker/0", "append")[0];
    assert_eq!(t, append.time + sim::Duration::from_micros(500));
    assert!(h.world.response(2).is_none(), "acks=0 gets no response");
    assert_eq!(
        h.world.cluster.log_end_offset(BrokerId(0), PartitionId(0)),
        10,
        "acks=0 is still appended"
    );
}

/// Cuts the leader (broker 0) from its followers and writes with acks=1 so they fall behind.
fn isolate_leader_with_lagging_followers(h: &mut Harness) {
    h.at(1.0, Step::Cut(broker(0), broker(1)));
    h.at(1.0, Step::Cut(broker(0), broker(2)));
    h.at(2.0, produce(0, 1, Acks::Leader, vec![batch(0, 0, 5)]));
}

#[test]
fn isr_shrinks_to_the_leader_and_acks_all_gets_not_enough_replicas_without_append() {
    let mut h = Harness::new(&small_cluster(1), &lan(), None, 4);
    isolate_leader_with_lagging_followers(&mut h);
    h.at(2_000.0, produce(0, 2, Acks::All, vec![batch(0, 5, 5)]));
    h.run_until(2_100.0);
    let shrink = h.events("broker/0", "isr_shrink");
    assert!(!shrink.is_empty());
    assert_eq!(
        shrink.last().expect("non-empty").field("isr"),
        Some(&Value::Str("0".into()))
    );
    assert_eq!(h.world.cluster.isr(PartitionId(0)), &[BrokerId(0)]);
    let (_, r) = h.world.response(2).expect("answered");
    assert_eq!(r.partitions[0].error, ErrorCode::NotEnoughReplicas);
    assert_eq!(h.events("broker/0", "not_enough_replicas").len(), 1);
    assert_eq!(
        h.world.cluster.log_end_offset(BrokerId(0), PartitionId(0)),
        5,
        "nothing was appended"
    );
}

#[test]
fn isr_shrink_after_append_gives_not_enough_replicas_after_append_when_hw_is_not_frozen() {
    let config = ClusterConfig {
        hw_frozen_under_min_isr: false,
        ..small_cluster(1)
    };
    let mut h = Harness::new(&config, &lan(), None, 5);
    h.at(1.0, Step::Cut(broker(0), broker(1)));
    h.at(1.0, Step::Cut(broker(0), broker(2)));
    h.at(2.0, produce(0, 1, Acks::All, vec![batch(0, 0, 5)]));
    h.run_until(5_000.0);
    let (t, r) = h.world.response(1).expect("answered after the shrink");
    assert_eq!(
        r.partitions[0].error,
        ErrorCode::NotEnoughReplicasAfterAppend
    );
    assert!(
        t >= Instant::from_millis(1_000),
        "only once the lagging followers left the ISR"
    );
    assert_eq!(
        committed_ids(&h.world, 0),
        vec![0, 1, 2, 3, 4],
        "the data was written and is below the HW"
    );
}

#[test]
fn purgatory_timeout_gives_request_timed_out_with_the_data_in_the_log() {
    let mut h = Harness::new(&small_cluster(1), &lan(), None, 6);
    h.at(1.0, Step::Cut(broker(0), broker(1)));
    h.at(1.0, Step::Cut(broker(0), broker(2)));
    h.at(
        2.0,
        produce_with_timeout(0, 1, Acks::All, 3_000, vec![batch(0, 0, 5)]),
    );
    h.run_until(4_000.0);
    let (t, r) = h.world.response(1).expect("answered at the timeout");
    assert_eq!(r.partitions[0].error, ErrorCode::RequestTimedOut);
    assert!(t >= Instant::from_millis(3_002));
    assert_eq!(
        h.world.cluster.log_end_offset(BrokerId(0), PartitionId(0)),
        5,
        "the data is in the leader's log"
    );
    assert_eq!(
        h.world.cluster.high_watermark(PartitionId(0)),
        0,
        "HW frozen under min ISR (3.7+)"
    );
    // Once healed the followers catch up and the timed-out data becomes committed.
    h.at(4_000.0, Step::Settle);
    h.run_until(8_000.0);
    assert!(h.world.cluster.is_settled());
    assert_eq!(committed_ids(&h.world, 0), vec![0, 1, 2, 3, 4]);
}

#[test]
fn duplicate_batch_is_answered_with_the_original_offset_and_not_appended() {
    let mut h = Harness::new(&small_cluster(1), &lan(), None, 7);
    h.at(
        1.0,
        produce(0, 1, Acks::All, vec![idempotent_batch(0, (7, 0, 0), 0, 5)]),
    );
    h.at(
        10.0,
        produce(0, 2, Acks::All, vec![idempotent_batch(0, (7, 0, 5), 5, 5)]),
    );
    h.at(
        20.0,
        produce(0, 3, Acks::All, vec![idempotent_batch(0, (7, 0, 0), 0, 5)]),
    );
    h.run_until(100.0);
    let offsets: Vec<(ErrorCode, i64)> = (1..=3)
        .map(|c| {
            let (_, r) = h.world.response(c).expect("answered");
            (r.partitions[0].error, r.partitions[0].base_offset)
        })
        .collect();
    assert_eq!(
        offsets,
        vec![
            (ErrorCode::None, 0),
            (ErrorCode::None, 5),
            (ErrorCode::None, 0)
        ]
    );
    assert_eq!(
        h.world.cluster.log_end_offset(BrokerId(0), PartitionId(0)),
        10
    );
    let dup = h.events("broker/0", "duplicate");
    assert_eq!(dup.len(), 1);
    assert_eq!(field_u64(&dup[0], "offset"), 0);
}

#[test]
fn a_new_leader_dedups_from_replicated_producer_state() {
    let mut h = Harness::new(&small_cluster(1), &lan(), None, 8);
    h.at(
        1.0,
        produce(0, 1, Acks::All, vec![idempotent_batch(0, (7, 0, 0), 0, 5)]),
    );
    h.at(10.0, Step::Crash(BrokerId(0)));
    h.at(
        300.0,
        produce(1, 2, Acks::All, vec![idempotent_batch(0, (7, 0, 0), 0, 5)]),
    );
    h.at(
        310.0,
        produce(1, 3, Acks::All, vec![idempotent_batch(0, (7, 0, 5), 5, 2)]),
    );
    h.run_until(400.0);
    let (_, r2) = h.world.response(2).expect("answered by the new leader");
    assert_eq!(
        (r2.partitions[0].error, r2.partitions[0].base_offset),
        (ErrorCode::None, 0)
    );
    let (_, r3) = h.world.response(3).expect("answered");
    assert_eq!(
        (r3.partitions[0].error, r3.partitions[0].base_offset),
        (ErrorCode::None, 5)
    );
    assert_eq!(h.events("broker/1", "duplicate").len(), 1);
}

#[test]
fn out_of_order_sequence_is_rejected_and_nothing_is_appended() {
    let mut h = Harness::new(&small_cluster(1), &lan(), None, 9);
    h.at(
        1.0,
        produce(
            0,
            1,
            Acks::Leader,
            vec![idempotent_batch(0, (7, 0, 0), 0, 5)],
        ),
    );
    h.at(
        10.0,
        produce(
            0,
            2,
            Acks::Leader,
            vec![idempotent_batch(0, (7, 0, 10), 10, 5)],
        ),
    );
    h.at(
        20.0,
        produce(
            0,
            3,
            Acks::Leader,
            vec![idempotent_batch(0, (7, 1, 3), 15, 5)],
        ),
    );
    h.run_until(100.0);
    let (_, r2) = h.world.response(2).expect("answered");
    assert_eq!(r2.partitions[0].error, ErrorCode::OutOfOrderSequenceNumber);
    let (_, r3) = h.world.response(3).expect("answered");
    assert_eq!(
        r3.partitions[0].error,
        ErrorCode::OutOfOrderSequenceNumber,
        "a new epoch must start at 0"
    );
    let ooo = h.events("broker/0", "out_of_order");
    assert_eq!(field_u64(&ooo[0], "expected"), 5);
    assert_eq!(
        h.world.cluster.log_end_offset(BrokerId(0), PartitionId(0)),
        5
    );
}

#[test]
fn not_leader_gets_the_kip951_hint() {
    let mut h = Harness::new(&small_cluster(1), &lan(), None, 10);
    h.at(1.0, produce(1, 1, Acks::Leader, vec![batch(0, 0, 1)]));
    h.at(1.0, produce(0, 2, Acks::Leader, vec![batch(7, 1, 1)]));
    h.run_until(10.0);
    let (_, r) = h.world.response(1).expect("answered");
    assert_eq!(r.partitions[0].error, ErrorCode::NotLeaderOrFollower);
    assert_eq!(
        r.partitions[0].current_leader.map(|(b, _)| b),
        Some(BrokerId(0))
    );
    let (_, r) = h.world.response(2).expect("answered");
    assert_eq!(r.partitions[0].error, ErrorCode::UnknownTopicOrPartition);
}

#[test]
fn message_too_large_is_rejected() {
    let config = ClusterConfig {
        max_message_bytes: 1_000,
        ..small_cluster(1)
    };
    let mut h = Harness::new(&config, &lan(), None, 11);
    h.at(1.0, produce(0, 1, Acks::Leader, vec![batch(0, 0, 20)]));
    h.run_until(10.0);
    let (_, r) = h.world.response(1).expect("answered");
    assert_eq!(r.partitions[0].error, ErrorCode::MessageTooLarge);
}

/// min ISR 1: the leader alone still takes acks=all writes; then it dies.
fn lone_leader_acks_all_then_crash(unclean: bool, seed: u64) -> Harness {
    let config = ClusterConfig {
        min_insync_replicas: 1,
        unclean_leader_election_enable: unclean,
        ..small_cluster(1)
    };
    let mut h = Harness::new(&config, &lan(), None, seed);
    isolate_leader_with_lagging_followers(&mut h);
    h.at(2_000.0, produce(0, 2, Acks::All, vec![batch(0, 5, 5)]));
    h.at(2_100.0, Step::Crash(BrokerId(0)));
    h.at(2_500.0, produce(1, 3, Acks::Leader, vec![batch(0, 100, 2)]));
    h.at(3_000.0, Step::Settle);
    h.run_until(6_000.0);
    h
}

#[test]
fn unclean_election_loses_acknowledged_data() {
    let h = lone_leader_acks_all_then_crash(true, 12);
    let (_, r) = h
        .world
        .response(2)
        .expect("acks=all with the leader alone in the ISR");
    assert_eq!(r.partitions[0].error, ErrorCode::None);
    let elect = h.events("controller", "elect");
    assert_eq!(elect.len(), 1);
    assert_eq!(elect[0].field("unclean"), Some(&Value::Bool(true)));
    assert_eq!(
        h.events("broker/0", "truncate").len(),
        1,
        "the old leader truncates on return"
    );
    assert!(h.world.cluster.is_settled());
    assert_eq!(
        committed_ids(&h.world, 0),
        vec![100, 101],
        "records 0..10 were acknowledged and lost"
    );
}

#[test]
fn clean_election_keeps_the_partition_offline_until_the_isr_member_returns() {
    let h = lone_leader_acks_all_then_crash(false, 13);
    assert!(
        h.world
            .response(3)
            .is_some_and(|(_, r)| r.partitions[0].error == ErrorCode::NotLeaderOrFollower)
    );
    assert_eq!(h.events("controller", "offline").len(), 1);
    let elect = h.events("controller", "elect");
    assert_eq!(elect.len(), 1, "broker 0 is elected again when it restarts");
    assert_eq!(elect[0].field("leader"), Some(&Value::U64(0)));
    assert!(h.world.cluster.is_settled());
    assert_eq!(committed_ids(&h.world, 0), (0..10).collect::<Vec<_>>());
}

#[test]
fn metadata_reflects_an_election_after_the_propagation_delay() {
    // Session timeout 200 ms, heartbeats every 40 ms: a crash at 10 ms is fenced after the last
    // heartbeat before it (between -30 and 10 ms) plus 200 ms.
    let mut h = Harness::new(&small_cluster(1), &lan(), None, 14);
    h.at(10.0, Step::Crash(BrokerId(0)));
    h.run_until(169.0);
    assert_eq!(
        h.world.cluster.leader_of(PartitionId(0)),
        Some(BrokerId(0)),
        "not yet detected"
    );
    h.run_until(211.0);
    let fence = h.events("controller", "fence");
    assert_eq!(fence.len(), 1, "fenced once");
    let fenced_ms = fence[0].time.as_nanos() as f64 / 1e6;
    assert!((170.0..=210.0).contains(&fenced_ms), "{fenced_ms}");
    assert_eq!(h.world.cluster.leader_of(PartitionId(0)), Some(BrokerId(1)));
    h.run_until(fenced_ms + 9.0);
    assert_eq!(
        h.world.cluster.metadata().partitions[0].leader,
        Some(BrokerId(0)),
        "not yet published"
    );
    h.run_until(fenced_ms + 11.0);
    assert_eq!(
        h.world.cluster.metadata().partitions[0].leader,
        Some(BrokerId(1))
    );
    assert_eq!(h.world.cluster.metadata().partitions[0].leader_epoch.0, 1);
}

#[test]
fn a_crashed_broker_is_fenced_one_session_after_its_last_heartbeat() {
    // Over seeds the heartbeat phase varies, so the fence lands anywhere in
    // (crash + session - interval, crash + session], and not always at the same point.
    let mut delays = Vec::new();
    for seed in 0..40 {
        let mut h = Harness::new(&small_cluster(1), &lan(), None, seed);
        h.at(1_000.0, Step::Crash(BrokerId(0)));
        h.run_until(1_300.0);
        let fence = h.events("controller", "fence");
        assert_eq!(fence.len(), 1, "seed {seed}");
        let delay_ms = fence[0].time.as_nanos() as f64 / 1e6 - 1_000.0;
        assert!(
            delay_ms > 160.0 && delay_ms <= 200.0,
            "seed {seed}: {delay_ms}"
        );
        delays.push(delay_ms);
    }
    let (lo, hi) = delays
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), &d| (lo.min(d), hi.max(d)));
    assert!(hi - lo > 20.0, "the phase spreads the fence: {lo} .. {hi}");
}

#[test]
fn an_isolated_zombie_leader_acks_writes_that_are_lost_when_it_rejoins() {
    use models::faults::{FaultAction, FaultsConfig, ScheduledFault};
    let fault = |at_ms: f64, action| ScheduledFault {
        broker: Some(0),
        ..ScheduledFault::new(at_ms, action)
    };
    let faults = FaultsConfig {
        schedule: vec![
            fault(10.0, FaultAction::Isolate),
            fault(3_000.0, FaultAction::Rejoin),
        ],
        ..FaultsConfig::default()
    };
    let mut h = Harness::new(&small_cluster(1), &lan(), Some(&faults), 15);
    h.at(1.0, produce(0, 1, Acks::All, vec![batch(0, 0, 5)]));
    h.at(600.0, produce(0, 2, Acks::Leader, vec![batch(0, 10, 5)]));
    h.at(
        650.0,
        produce_with_timeout(0, 3, Acks::All, 1_000, vec![batch(0, 20, 5)]),
    );
    h.at(700.0, produce(1, 4, Acks::All, vec![batch(0, 30, 5)]));
    h.run_until(2_900.0);

    assert_eq!(
        h.events("controller", "fence").len(),
        1,
        "fenced after the session timeout"
    );
    assert_eq!(h.world.cluster.leader_of(PartitionId(0)), Some(BrokerId(1)));
    assert!(h.world.cluster.is_fenced(BrokerId(0)));
    let (_, zombie_ack) = h
        .world
        .response(2)
        .expect("the zombie still answers the client");
    assert_eq!(
        (
            zombie_ack.partitions[0].error,
            zombie_ack.partitions[0].base_offset
        ),
        (ErrorCode::None, 5)
    );
    let (_, zombie_all) = h
        .world
        .response(3)
        .expect("answered at the purgatory timeout");
    assert_eq!(
        zombie_all.partitions[0].error,
        ErrorCode::RequestTimedOut,
        "its ISR cannot shrink without the controller, so its HW is stuck"
    );
    assert!(
        h.events("broker/0", "isr_shrink").is_empty(),
        "AlterPartition fails while fenced"
    );
    let (_, real) = h.world.response(4).expect("the new leader answers");
    assert_eq!(
        (real.partitions[0].error, real.partitions[0].base_offset),
        (ErrorCode::None, 5)
    );

    h.run_until(6_000.0);
    assert_eq!(
        h.events("broker/0", "truncate").len(),
        1,
        "the zombie truncates when it rejoins"
    );
    assert!(h.world.cluster.is_settled());
    assert_eq!(
        committed_ids(&h.world, 0),
        vec![0, 1, 2, 3, 4, 30, 31, 32, 33, 34]
    );
}

#[test]
fn a_session_restored_before_the_timeout_changes_nothing() {
    use models::faults::{FaultAction, FaultsConfig, ScheduledFault};
    let fault = |at_ms: f64, action| ScheduledFault {
        broker: Some(0),
        ..ScheduledFault::new(at_ms, action)
    };
    let faults = FaultsConfig {
        schedule: vec![
            fault(10.0, FaultAction::Fence),
            fault(100.0, FaultAction::Unfence),
        ],
        ..FaultsConfig::default()
    };
    let mut h = Harness::new(&small_cluster(1), &lan(), Some(&faults), 16);
    h.run_until(1_000.0);
    assert!(h.events("controller", "fence").is_empty());
    assert!(h.events("controller", "elect").is_empty());
    assert_eq!(h.world.cluster.leader_of(PartitionId(0)), Some(BrokerId(0)));
    assert!(!h.world.cluster.is_fenced(BrokerId(0)));
}

#[test]
fn settling_reconnects_a_fenced_broker() {
    let mut h = Harness::new(&small_cluster(2), &lan(), None, 17);
    h.at(1.0, produce(0, 1, Acks::All, vec![batch(0, 0, 3)]));
    h.at(10.0, Step::Cut(broker(0), broker(1)));
    h.at(10.0, Step::Cut(broker(0), broker(2)));
    h.at(10.0, Step::Fence(BrokerId(0)));
    h.at(400.0, produce(0, 2, Acks::Leader, vec![batch(0, 10, 3)]));
    h.at(1_000.0, Step::Settle);
    h.run_until(5_000.0);
    assert!(!h.world.cluster.is_fenced(BrokerId(0)));
    assert!(h.world.cluster.is_settled());
    assert_eq!(
        committed_ids(&h.world, 0),
        vec![0, 1, 2],
        "the zombie's acks=1 write is gone"
    );
}

/// Appends on broker 0 with their times, in order.
fn append_times(h: &Harness) -> Vec<Instant> {
    h.events("broker/0", "append")
        .iter()
        .map(|e| e.time)
        .collect()
}

#[test]
fn a_broker_reads_the_next_request_of_a_connection_only_after_answering_the_current_one() {
    // Kafka's SocketServer mutes a channel while one of its requests is handled: with acks=all
    // the second pipelined request waits, unread, until the first one's response is sent.
    let mut h = Harness::new(&small_cluster(1), &lan(), None, 4);
    h.at(1.0, produce(0, 1, Acks::All, vec![batch(0, 0, 5)]));
    h.at(1.0, produce(0, 2, Acks::All, vec![batch(0, 5, 5)]));
    h.run_until(100.0);
    let (t1, r1) = h.world.response(1).expect("the first request is answered");
    let (t2, r2) = h.world.response(2).expect("the second request is answered");
    assert_eq!(r1.partitions[0].error, ErrorCode::None);
    assert_eq!(r2.partitions[0].error, ErrorCode::None);
    let appends = append_times(&h);
    assert_eq!(appends.len(), 2);
    // The first response leaves the broker 0.5 ms before it reaches the client.
    let first_response_sent = t1 - sim::Duration::from_micros(500);
    assert!(
        appends[1] >= first_response_sent,
        "the second append ({}) waits for the first response ({first_response_sent})",
        appends[1]
    );
    assert!(
        t2 > t1 + sim::Duration::from_micros(1_000),
        "a second replication round trip"
    );
}

#[test]
fn acks1_requests_of_one_connection_are_handled_back_to_back() {
    // acks=1 answers at the append, so the channel is muted only while the request is processed.
    let mut h = Harness::new(&small_cluster(1), &lan(), None, 5);
    h.at(1.0, produce(0, 1, Acks::Leader, vec![batch(0, 0, 5)]));
    h.at(1.0, produce(0, 2, Acks::Leader, vec![batch(0, 5, 5)]));
    h.run_until(100.0);
    let appends = append_times(&h);
    assert_eq!(appends.len(), 2);
    assert!(
        appends[1] - appends[0] < sim::Duration::from_micros(100),
        "no replication wait between acks=1 requests: {appends:?}"
    );
    let (t1, _) = h.world.response(1).expect("answered");
    let (t2, _) = h.world.response(2).expect("answered");
    assert!(t1 <= t2, "responses come back in request order");
}

#[test]
fn acks0_requests_do_not_hold_the_connection() {
    let mut h = Harness::new(&small_cluster(1), &lan(), None, 6);
    h.at(1.0, produce(0, 1, Acks::None, vec![batch(0, 0, 5)]));
    h.at(1.0, produce(0, 2, Acks::All, vec![batch(0, 5, 5)]));
    h.run_until(100.0);
    assert_eq!(append_times(&h).len(), 2, "acks=0 unmutes once handled");
    assert!(h.world.response(1).is_none());
    assert!(h.world.response(2).is_some());
}

#[test]
fn a_reconnect_drops_requests_held_back_on_the_old_connection() {
    // The first request waits in purgatory (its followers are cut off), the second is held
    // back behind it; the client then reconnects: the held-back request is gone with the old
    // connection, and a request on the new connection is handled at once.
    let mut h = Harness::new(&small_cluster(1), &lan(), None, 7);
    h.at(0.5, Step::Cut(broker(0), broker(1)));
    h.at(0.5, Step::Cut(broker(0), broker(2)));
    h.at(1.0, produce(0, 1, Acks::All, vec![batch(0, 0, 5)]));
    h.at(1.0, produce(0, 2, Acks::All, vec![batch(0, 5, 5)]));
    h.run_until(5.0);
    assert_eq!(append_times(&h).len(), 1, "the second request is held back");
    h.world.net.reconnect(BrokerId(0));
    h.at(6.0, produce(0, 3, Acks::Leader, vec![batch(0, 10, 5)]));
    h.run_until(20.0);
    let appends = h.events("broker/0", "append");
    assert_eq!(appends.len(), 2, "request 2 never runs; request 3 does");
    assert_eq!(field_u64(&appends[1], "first_record"), 10);
    let (_, r3) = h
        .world
        .response(3)
        .expect("the new connection is not muted");
    assert_eq!(r3.partitions[0].base_offset, 5);
}
