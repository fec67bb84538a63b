//! Connections as TCP has them, through the `linger` binary: a short cut is retransmitted
//! across instead of timing out, a leader-follower cut stalls replication for about the cut,
//! a reconnect's traffic never waits behind the old connection's, and the explicit connection
//! faults (`reset`, `blackhole`) and broker losses (`crash`, `power_off`) behave as a Kafka
//! client on Linux sees them. Every figure comes from the checker's classes and the run's
//! metrics; bad entries are refused with exit code 2 and the key named.

mod support;

use support::{Trace, get};

/// One partition on three brokers led by broker 0, about 20,000 records/s of 100 B.
const BASE: &str = r#"
[producer]
acks = "all"
"enable.idempotence" = IDEMPOTENCE
"max.in.flight.requests.per.connection" = 5
REQUEST_TIMEOUT

[workload]
value_bytes = 100
arrivals = { kind = "constant", per_sec = 20000 }

[cluster]
brokers = 3
partitions = 1
replication_factor = 3
"min.insync.replicas" = 2

[run]
duration_ms = DURATION
"#;

struct Setup<'a> {
    idempotence: bool,
    request_timeout_ms: Option<u32>,
    duration_ms: u32,
    extra: &'a str,
}

fn experiment(setup: &Setup<'_>) -> String {
    let timeout = setup
        .request_timeout_ms
        .map_or(String::new(), |ms| format!("\"request.timeout.ms\" = {ms}"));
    BASE.replace("IDEMPOTENCE", &setup.idempotence.to_string())
        .replace("REQUEST_TIMEOUT", &timeout)
        .replace("DURATION", &setup.duration_ms.to_string())
        + setup.extra
}

/// The metrics of the run, after checking it succeeded.
fn metrics(name: &str, setup: &Setup<'_>) -> serde_json::Value {
    support::run(SUITE, name, &experiment(setup), Trace::Off).metrics
}

const SUITE: &str = "linger-tcp-connections";

fn cut(link: &str, from_ms: u32, to_ms: u32) -> String {
    format!(
        "\n[[faults.schedule]]\nat_ms = {from_ms}\naction = \"cut\"\nlink = {link}\n\
         \n[[faults.schedule]]\nat_ms = {to_ms}\naction = \"heal\"\nlink = {link}\n"
    )
}

const CLIENT_LEADER: &str = "[\"client\", \"broker0\"]";

/// A 50 ms cut of the client-leader link costs a retransmission (200 ms), nothing more: no
/// request times out, so nothing is retried, duplicated or reordered, even without
/// idempotence and with five requests in flight.
#[test]
fn a_50_ms_client_leader_cut_is_retransmitted_across_without_retries() {
    let extra = cut(CLIENT_LEADER, 500, 550);
    let m = metrics(
        "cut-50ms",
        &Setup {
            idempotence: false,
            request_timeout_ms: None,
            duration_ms: 1500,
            extra: &extra,
        },
    );
    assert_eq!(get(&m, "records_acked"), get(&m, "records_sent"), "{m}");
    assert_eq!(get(&m, "duplicated"), 0.0, "{m}");
    assert_eq!(get(&m, "reordered"), 0.0, "{m}");
    assert_eq!(get(&m, "record-retry-total"), 0.0, "{m}");
    let max = get(&m, "latency_max_ms");
    assert!((200.0..1_000.0).contains(&max), "max latency {max} ms");
}

/// A 2 s cut is under the 30 s request timeout: the retransmission after the heal (at 3 s,
/// after 200 + 400 + 800 + 1600 ms) gets everything through; no retries.
#[test]
fn a_2_s_client_leader_cut_costs_a_few_seconds_and_no_retries() {
    let extra = cut(CLIENT_LEADER, 500, 2500);
    let m = metrics(
        "cut-2s",
        &Setup {
            idempotence: false,
            request_timeout_ms: None,
            duration_ms: 4000,
            extra: &extra,
        },
    );
    assert_eq!(get(&m, "record-retry-total"), 0.0, "{m}");
    assert_eq!(get(&m, "duplicated"), 0.0, "{m}");
    let max = get(&m, "latency_max_ms");
    assert!((2_000.0..4_000.0).contains(&max), "max latency {max} ms");
}

/// A 1 s cut between the leader and both followers with acks=all and min.insync.replicas=2:
/// the high watermark waits for the fetches to be retransmitted (about the cut plus RTO
/// slack: the retransmissions leave 200, 600 and 1400 ms after the cut began), not for
/// replica.socket.timeout.ms (30 s).
#[test]
fn a_1_s_leader_follower_cut_stalls_acks_all_for_about_the_cut() {
    let cut_both = |action: &str, at_ms: u32| {
        ["broker1", "broker2"]
            .map(|f| {
                format!(
                    "\n[[faults.schedule]]\nat_ms = {at_ms}\naction = \"{action}\"\n\
                     link = [\"broker0\", \"{f}\"]\n"
                )
            })
            .concat()
    };
    let extra = cut_both("cut", 500) + &cut_both("heal", 1500);
    let m = metrics(
        "leader-follower-cut-1s",
        &Setup {
            idempotence: true,
            request_timeout_ms: None,
            duration_ms: 3000,
            extra: &extra,
        },
    );
    assert_eq!(get(&m, "records_acked"), get(&m, "records_sent"), "{m}");
    assert_eq!(get(&m, "record-retry-total"), 0.0, "{m}");
    let max = get(&m, "latency_max_ms");
    assert!(
        (1_000.0..3_000.0).contains(&max),
        "max latency {max} ms: the cut plus RTO slack"
    );
}

/// The leader holds one produce response back past request.timeout.ms (800 ms against
/// 500 ms). The requests pipelined behind it wait unread on the broker's muted channel; at the
/// timeout the client closes the connection, the broker forgets what the old channel held, and
/// all five batches are sent again on a new connection, whose answers do not wait behind the
/// held one. Only the held request had been written, so only its batch is duplicated: one
/// batch's records, linger.ms (5 ms) × 20,000 records/s = 100.
#[test]
fn a_new_connection_is_not_held_behind_the_old_ones_delayed_response() {
    let extra = "\n[[faults.schedule]]\nat_ms = 500\naction = \"delay_responses\"\nbroker = 0\n\
                 n = 1\ndelay_ms = 800\n";
    let m = metrics(
        "delayed-response",
        &Setup {
            idempotence: false,
            request_timeout_ms: Some(500),
            duration_ms: 2000,
            extra,
        },
    );
    let duplicated = get(&m, "duplicated");
    assert!(
        (1.0..=100.0).contains(&duplicated),
        "one resent batch's records duplicated, got {duplicated}: {m}"
    );
    assert!(get(&m, "record-retry-total") > 0.0, "{m}");
    // The new connection's responses arrive at once: nothing waits for the held one.
    let max = get(&m, "latency_max_ms");
    assert!(max < 1_200.0, "max latency {max} ms: {m}");
}

/// A reset of the client-leader link at `at_ms`, on links of 5 ms one way, so that each
/// acks=all request takes about 20 ms (the round trip and a follower fetch) and, with a batch
/// every linger.ms (5 ms), about four are in flight.
fn reset(at_ms: f64) -> String {
    format!(
        "\n[network]\nlatency = {{ dist = \"constant\", ms = 5 }}\n\
         \n[[faults.schedule]]\nat_ms = {at_ms}\naction = \"reset\"\nlink = {CLIENT_LEADER}\n"
    )
}

/// A reset fails the requests in flight with NETWORK_EXCEPTION at once: they are retried on a
/// new connection (without idempotence, possibly reordered or duplicated; with it, never).
#[test]
fn a_reset_is_retried_at_once_and_idempotence_keeps_order() {
    let extra = reset(501.7);
    let off = metrics(
        "reset-no-idempotence",
        &Setup {
            idempotence: false,
            request_timeout_ms: None,
            duration_ms: 1000,
            extra: &extra,
        },
    );
    assert!(get(&off, "record-retry-total") > 0.0, "{off}");
    assert!(get(&off, "latency_max_ms") < 1_000.0, "{off}");
    assert_eq!(get(&off, "lost_acked"), 0.0);
    let on = metrics(
        "reset-idempotence",
        &Setup {
            idempotence: true,
            request_timeout_ms: None,
            duration_ms: 1000,
            extra: &extra,
        },
    );
    assert!(get(&on, "record-retry-total") > 0.0, "{on}");
    assert_eq!(get(&on, "duplicated"), 0.0, "{on}");
    assert_eq!(get(&on, "reordered"), 0.0, "{on}");
    assert_eq!(get(&on, "records_acked"), get(&on, "records_sent"), "{on}");
}

/// A blackholed connection loses everything silently until the request timeout abandons it;
/// the new connection works.
#[test]
fn a_blackhole_costs_the_request_timeout_then_the_new_connection_works() {
    let extra = format!(
        "\n[[faults.schedule]]\nat_ms = 500\naction = \"blackhole\"\nlink = {CLIENT_LEADER}\n"
    );
    let m = metrics(
        "blackhole",
        &Setup {
            idempotence: true,
            request_timeout_ms: Some(1000),
            duration_ms: 2000,
            extra: &extra,
        },
    );
    let max = get(&m, "latency_max_ms");
    assert!(
        (1_000.0..2_000.0).contains(&max),
        "max latency {max} ms: {m}"
    );
    assert!(get(&m, "record-retry-total") > 0.0, "{m}");
    assert_eq!(get(&m, "records_acked"), get(&m, "records_sent"), "{m}");
    assert_eq!(get(&m, "duplicated"), 0.0, "{m}");
}

/// A leader's process crash with acks=all, min.insync.replicas=2, RF 3: the client sees the
/// reset, retries on refused connects until the metadata names the new leader; nothing
/// acknowledged is lost and no request waits for the 30 s request timeout. (Holds whether the
/// controller fences after a fixed delay or 7-9 s of missed heartbeats.)
#[test]
fn a_leader_process_crash_fails_over_without_the_request_timeout() {
    let extra = "\n[[faults.schedule]]\nat_ms = 500\naction = \"crash\"\nbroker = 0\n";
    let m = metrics(
        "leader-crash",
        &Setup {
            idempotence: true,
            request_timeout_ms: None,
            duration_ms: 2000,
            extra,
        },
    );
    assert_eq!(get(&m, "lost_acked"), 0.0, "{m}");
    assert_eq!(get(&m, "records_acked"), get(&m, "records_sent"), "{m}");
    let max = get(&m, "latency_max_ms");
    assert!(max < 12_000.0, "max latency {max} ms: {m}");
}

/// A leader's host losing power answers nothing: the client notices only through
/// request.timeout.ms (3 s here).
#[test]
fn a_leader_power_off_is_noticed_through_the_request_timeout() {
    let extra = "\n[[faults.schedule]]\nat_ms = 500\naction = \"power_off\"\nbroker = 0\n";
    let m = metrics(
        "leader-power-off",
        &Setup {
            idempotence: true,
            request_timeout_ms: Some(3000),
            duration_ms: 1500,
            extra,
        },
    );
    assert_eq!(get(&m, "lost_acked"), 0.0, "{m}");
    let max = get(&m, "latency_max_ms");
    assert!(max >= 3_000.0, "max latency {max} ms: {m}");
}

/// A bad entry is refused with exit code 2, naming the file, line and key.
fn assert_refused(name: &str, text: &str, key: &str, words: &str) {
    support::assert_refused(SUITE, name, text, key, words);
}

#[test]
fn bad_retransmission_settings_are_refused_by_key() {
    let setup = |extra| Setup {
        idempotence: true,
        request_timeout_ms: None,
        duration_ms: 10,
        extra,
    };
    assert_refused(
        "rto-cap-below-floor",
        &experiment(&setup(
            "\n[network]\ntcp_rto_min_ms = 300\ntcp_rto_max_ms = 100\n",
        )),
        "network.tcp_rto_max_ms",
        "at least network.tcp_rto_min_ms",
    );
    assert_refused(
        "zero-retries",
        &experiment(&setup("\n[network]\ntcp_retries2 = 0\n")),
        "network.tcp_retries2",
        "allowed 1 ..= 100",
    );
}

#[test]
fn unused_keys_on_connection_faults_are_refused() {
    for (name, entry, key) in [
        (
            "reset-broker",
            "action = \"reset\"\nlink = [\"client\", \"broker0\"]\nbroker = 0\n",
            "broker",
        ),
        (
            "blackhole-n",
            "action = \"blackhole\"\nlink = [\"client\", \"broker0\"]\nn = 1\n",
            "n",
        ),
        (
            "power-off-link",
            "action = \"power_off\"\nbroker = 0\nlink = [\"client\", \"broker0\"]\n",
            "link",
        ),
    ] {
        let extra = format!("\n[[faults.schedule]]\nat_ms = 5\n{entry}");
        let text = experiment(&Setup {
            idempotence: true,
            request_timeout_ms: None,
            duration_ms: 10,
            extra: &extra,
        });
        assert_refused(
            name,
            &text,
            &format!("faults.schedule[0].{key}"),
            "does not use",
        );
    }
}
