//! Connection setup as the Kafka client runs it, through the `linger` binary: a connect costs
//! the SYN/SYN-ACK round trip and the ApiVersions round trip before the first request; a
//! connect to a powered-off host is abandoned after `socket.connection.setup.timeout.ms`
//! (growing with jitter to its max), one to a crashed process is refused within a round trip;
//! a powered-off broker that restarts resets the client's stale connection at its next
//! retransmission; an acks=0 produce error closes the connection. Every figure comes from the
//! run's trace and metrics; bad setup timeouts are refused with exit code 2.

mod support;

use support::{Run, Trace, TraceLine, get};

const SUITE: &str = "linger-connection-setup";

/// One broker holding one partition, 1,000 records/s of 100 B, links of `LATENCY` ms one way.
const ONE_BROKER: &str = r#"
[producer]
acks = "1"
"enable.idempotence" = false
PRODUCER

[workload]
value_bytes = 100
arrivals = { kind = "constant", per_sec = 1000 }

[cluster]
brokers = 1
partitions = 1
replication_factor = 1
"min.insync.replicas" = 1

[network]
latency = { dist = "constant", ms = LATENCY }

[run]
duration_ms = DURATION
"#;

fn one_broker(latency_ms: u32, duration_ms: u32, producer: &str, faults: &str) -> String {
    ONE_BROKER
        .replace("PRODUCER", producer)
        .replace("LATENCY", &latency_ms.to_string())
        .replace("DURATION", &duration_ms.to_string())
        + faults
}

fn fault(at_ms: u32, action: &str, target: &str) -> String {
    format!("\n[[faults.schedule]]\nat_ms = {at_ms}\naction = \"{action}\"\n{target}\n")
}

fn traced(name: &str, text: &str) -> Run {
    support::run(SUITE, name, text, Trace::Keep)
}

fn events<'a>(run: &'a Run, component: &'a str, kind: &'a str) -> Vec<&'a TraceLine> {
    run.events(component, kind).collect()
}

const MS: u64 = 1_000_000;

/// With 5 ms links the connect's SYN and SYN-ACK take 10 ms and the ApiVersions exchange
/// another 10 ms: the connection is ready 20 ms after the connect began, and the first
/// request on it (the metadata request) leaves then, not at once.
#[test]
fn the_first_request_after_a_connect_waits_for_the_syn_and_api_versions_round_trips() {
    let run = traced("first-request", &one_broker(5, 50, "", ""));
    let connect = events(&run, "producer", "connect")[0];
    let ready = events(&run, "producer", "ready")[0];
    let rtt = 10 * MS;
    let setup = ready.t_ns - connect.t_ns;
    // Two round trips, plus the serialisation of four small segments at 10 Gbit/s.
    assert!(
        (2 * rtt..2 * rtt + MS / 100).contains(&setup),
        "ready {setup} ns after the connect"
    );
    let first_metadata = events(&run, "producer", "metadata_request")[0];
    assert_eq!(
        first_metadata.t_ns, ready.t_ns,
        "the first request leaves at once"
    );
    let first_produce = events(&run, "producer", "request")[0];
    assert!(
        first_produce.t_ns >= ready.t_ns + rtt,
        "the first produce request waits for the metadata too: {} ms",
        first_produce.ms()
    );
    assert_eq!(
        get(&run.metrics, "delivered_once"),
        get(&run.metrics, "records_sent")
    );
}

/// A reset at 100 ms closes the client's connection while the broker's host loses power: the
/// reconnects' SYNs go unanswered, and each connect is abandoned after its setup timeout
/// (2 s here, doubling per failed connect to the 6 s max, ±20% jitter, never above the max),
/// not after request.timeout.ms (30 s).
#[test]
fn a_connect_to_a_powered_off_broker_is_abandoned_after_the_growing_setup_timeout() {
    let producer = "\"socket.connection.setup.timeout.ms\" = 2000\n\
                    \"socket.connection.setup.timeout.max.ms\" = 6000";
    let faults = fault(100, "reset", "link = [\"client\", \"broker0\"]")
        + &fault(100, "power_off", "broker = 0");
    let run = traced(
        "power-off-connect",
        &one_broker(1, 25_000, producer, &faults),
    );
    let connects: Vec<_> = events(&run, "producer", "connect")
        .into_iter()
        .filter(|e| e.t_ns > 100 * MS)
        .collect();
    let timeouts = events(&run, "producer", "connect_timeout");
    assert!(timeouts.len() >= 4, "{} setup timeouts", timeouts.len());
    for (k, timeout) in timeouts.iter().enumerate() {
        let connect = connects[k];
        let waited_ms = (timeout.t_ns - connect.t_ns) as f64 / 1e6;
        let term_ms = (2_000.0 * 2f64.powi(k as i32)).min(6_000.0);
        let band = (0.8 * term_ms)..=(1.2 * term_ms).min(6_000.0);
        // The timeout drawn (whole ms in the trace) plus the "strictly more" nanosecond.
        assert!(
            band.contains(&waited_ms.floor()),
            "connect {k} abandoned after {waited_ms} ms, allowed {band:?}"
        );
        assert_eq!(connect.int("setup_timeout_ms"), waited_ms.floor() as i64);
        assert!(waited_ms < 30_000.0, "not the request timeout");
    }
    assert!(events(&run, "producer", "request_timeout").is_empty());
}

/// A crashed process on a live host: each connect is answered with a reset, which the client
/// sees one round trip (10 ms) after the connect began, far inside the setup timeout.
#[test]
fn a_connect_to_a_crashed_broker_is_refused_within_one_round_trip() {
    let run = traced(
        "crash-connect",
        &one_broker(5, 1_000, "", &fault(100, "crash", "broker = 0")),
    );
    let connects: Vec<_> = events(&run, "producer", "connect")
        .into_iter()
        .filter(|e| e.t_ns > 100 * MS)
        .collect();
    let disconnects = events(&run, "producer", "disconnect");
    assert!(
        connects.len() >= 3,
        "{} connects after the crash",
        connects.len()
    );
    for connect in &connects {
        let refused = disconnects
            .iter()
            .find(|d| d.t_ns > connect.t_ns)
            .expect("every connect is refused");
        let after = refused.t_ns - connect.t_ns;
        assert!(
            (10 * MS..10 * MS + MS / 100).contains(&after),
            "refused {after} ns after the connect at {} ms",
            connect.ms()
        );
    }
}

/// A power-off at 100 ms and a restart at 1000 ms: what the client sends meanwhile is
/// retransmitted (Linux's RTO from 200 ms, doubling); the first retransmission after the
/// restart reaches a host that knows nothing of the connection and answers with a reset, so
/// the client disconnects one round trip later, long before request.timeout.ms (30 s), and
/// the records go through on a new connection.
#[test]
fn a_restarted_host_resets_the_stale_connection_at_the_next_retransmission() {
    let faults = fault(100, "power_off", "broker = 0") + &fault(1_000, "restart", "broker = 0");
    let run = traced("power-off-restart", &one_broker(5, 3_000, "", &faults));
    let reset = events(&run, "net", "reset_stale");
    assert_eq!(reset.len(), 1, "{reset:?}");
    let reset = reset[0];
    let retransmissions = events(&run, "net", "retransmit");
    let first_after_restart = retransmissions
        .iter()
        .find(|e| e.t_ns >= 1_000 * MS)
        .expect("a retransmission after the restart");
    assert_eq!(reset.t_ns, first_after_restart.t_ns);
    // Before the restart every retransmission was lost into the dead host.
    assert!(
        retransmissions
            .iter()
            .filter(|e| e.t_ns < 1_000 * MS)
            .all(|e| e.fields["delivered"] == false)
    );
    // The retransmissions leave 200, 600, 1400 ms after the stall began (at 100 ms or later).
    assert!(
        reset.t_ns <= 100 * MS + 1_400 * MS + 10 * MS,
        "{} ms",
        reset.ms()
    );
    let disconnect = events(&run, "producer", "disconnect")
        .into_iter()
        .find(|d| d.t_ns > 1_000 * MS)
        .expect("the client sees the reset");
    assert_eq!(
        disconnect.t_ns - reset.t_ns,
        10 * MS,
        "one round trip later"
    );
    assert!(events(&run, "producer", "request_timeout").is_empty());
    assert_eq!(get(&run.metrics, "lost_acked"), 0.0, "{}", run.metrics);
    assert_eq!(
        get(&run.metrics, "records_acked"),
        get(&run.metrics, "records_sent"),
        "{}",
        run.metrics
    );
}

/// One partition on three brokers led by broker 0, 20,000 records/s; at 500 ms the leader is
/// cut off from its followers, at 600 ms its process crashes (the followers, still in the ISR,
/// take over; when it rejoins it truncates what only it had).
const LEADER_CRASH: &str = r#"
[producer]
acks = "ACKS"
"enable.idempotence" = false

[workload]
value_bytes = 100
arrivals = { kind = "constant", per_sec = 20000 }

[cluster]
brokers = 3
partitions = 1
replication_factor = 3
"min.insync.replicas" = 1

[run]
duration_ms = 2000

[[faults.schedule]]
at_ms = 500
action = "cut"
link = ["broker0", "broker1"]

[[faults.schedule]]
at_ms = 500
action = "cut"
link = ["broker0", "broker2"]

[[faults.schedule]]
at_ms = 600
action = "crash"
broker = 0
"#;

/// acks=0 and acks=1 through the same isolation and crash lose about the same: what the
/// leader had taken but the followers had not fetched, plus for acks=0 what was written to the
/// dead leader before the client saw the reset. The bound: acks=0 loses between half and
/// twice what acks=1 loses, plus one linger.ms of records (5 ms at 20,000/s = 100).
#[test]
fn acks0_and_acks1_lose_the_same_order_of_magnitude_in_a_leader_crash() {
    let lost = |acks: &str| {
        let m = support::run(
            SUITE,
            &format!("crash-acks{acks}"),
            &LEADER_CRASH.replace("ACKS", acks),
            Trace::Off,
        )
        .metrics;
        // acks=0 is told nothing but "sent": a record missing from the log is silent_absent.
        get(&m, "lost_acked") + get(&m, "silent_absent")
    };
    let (zero, one) = (lost("0"), lost("1"));
    // 100 ms of records at 20,000/s reach only the isolated leader.
    assert!(
        one >= 1_000.0,
        "acks=1 loses what the followers had not fetched: {one}"
    );
    assert!(
        (0.5 * one..=2.0 * one + 100.0).contains(&zero),
        "acks=0 lost {zero}, acks=1 lost {one}"
    );
}

/// An injected NOT_LEADER_OR_FOLLOWER on an acks=0 request makes the broker close the
/// connection (there is no response to carry the error): the client sees the close one
/// latency later, asks for new metadata and connects again.
#[test]
fn an_acks0_produce_error_closes_the_connection_and_refreshes_metadata() {
    let producer = "acks = \"0\"\n\"enable.idempotence\" = false";
    let text = one_broker(5, 1_000, producer, "")
        .replace("acks = \"1\"\n\"enable.idempotence\" = false\n", "")
        + &fault(
            500,
            "error",
            "broker = 0\nerror = \"NOT_LEADER_OR_FOLLOWER\"",
        );
    let run = traced("acks0-error", &text);
    let closes = events(&run, "broker/0", "close_connection");
    assert_eq!(closes.len(), 1, "{closes:?}");
    let close = closes[0];
    let disconnect = events(&run, "producer", "disconnect")
        .into_iter()
        .find(|d| d.t_ns >= close.t_ns)
        .expect("the client sees the close");
    assert_eq!(disconnect.t_ns - close.t_ns, 5 * MS, "one latency later");
    let refresh = events(&run, "producer", "metadata_request")
        .into_iter()
        .find(|m| m.t_ns >= disconnect.t_ns)
        .expect("a metadata refresh");
    assert!(
        refresh.t_ns < disconnect.t_ns + 1_000 * MS,
        "{} ms",
        refresh.ms()
    );
    assert!(
        events(&run, "producer", "connect")
            .iter()
            .any(|c| c.t_ns > disconnect.t_ns),
        "a new connection"
    );
    // The refused request's records, and those of the requests already written behind it on
    // the closed connection, were reported sent (acks=0) but are not in the log: at most what
    // 1,000 records/s put into one round trip (10 ms) and one linger.ms (5 ms).
    let lost = get(&run.metrics, "silent_absent") + get(&run.metrics, "lost_acked");
    assert!((1.0..=15.0).contains(&lost), "lost {lost}: {}", run.metrics);
}

#[test]
fn negative_setup_timeouts_are_refused_by_key() {
    for key in [
        "socket.connection.setup.timeout.ms",
        "socket.connection.setup.timeout.max.ms",
    ] {
        let text = one_broker(1, 10, &format!("\"{key}\" = -1"), "");
        support::assert_refused(SUITE, key, &text, key, "at least 0");
    }
}

/// A setup timeout above its maximum is what Kafka warns about and then applies the maximum
/// as a static timeout (`CommonClientConfigs.warnDisablingExponentialBackoff`): the run says
/// so and every connect to a powered-off host is abandoned after exactly the maximum.
#[test]
fn a_setup_timeout_above_its_max_warns_and_is_static() {
    let producer = "\"socket.connection.setup.timeout.ms\" = 5000\n\
                    \"socket.connection.setup.timeout.max.ms\" = 1500";
    let faults = fault(100, "reset", "link = [\"client\", \"broker0\"]")
        + &fault(100, "power_off", "broker = 0");
    let text = one_broker(1, 6_000, producer, &faults);
    let dir = support::scratch(SUITE, "static-setup-timeout-warning");
    let output = support::linger_run(&dir, &text, &[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    assert!(
        stdout.contains("A static connection setup timeout with value '1500' will be applied"),
        "{stdout}"
    );
    let run = traced("static-setup-timeout", &text);
    let timeouts = events(&run, "producer", "connect_timeout");
    assert!(timeouts.len() >= 2, "{timeouts:?}");
    assert!(
        timeouts.iter().all(|t| t.int("timeout_ms") == 1_500),
        "{timeouts:?}"
    );
}
