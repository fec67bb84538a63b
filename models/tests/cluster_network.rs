//! Tests of the simulated network: in-order delivery, retransmission after loss and cuts,
//! latency spikes, bandwidth, scripted response drops and connection identity.

use models::cluster::{ClusterEvent, DistConfig};
use models::network::{NetEvent, Network, NetworkConfig, ResponseApi};
use models::protocol::{BrokerId, Message, Node, ProduceRequest, WireBatch};
use sim::{Ctx, Engine, Instant, Model, RunLimits};

/// Sends scheduled messages and records deliveries.
struct NetWorld {
    net: Network,
    delivered: Vec<(Instant, Node, Node, u64)>,
    /// `(when, side, conn)` of every connection closing seen by one of its ends.
    closed: Vec<(Instant, Node, u32)>,
}

#[derive(Debug)]
enum Ev {
    Net(NetEvent),
    /// Follower fetches (none are sent here).
    Cluster(ClusterEvent),
    Send {
        from: Node,
        to: Node,
        corr: u64,
        bytes: u32,
    },
    Do(fn(&mut Network, Instant)),
}

impl From<NetEvent> for Ev {
    fn from(e: NetEvent) -> Self {
        Ev::Net(e)
    }
}
impl From<ClusterEvent> for Ev {
    fn from(e: ClusterEvent) -> Self {
        Ev::Cluster(e)
    }
}

impl Model for NetWorld {
    type Event = Ev;
    fn on_event(&mut self, ctx: &mut Ctx<'_, Ev>, event: Ev) {
        match event {
            Ev::Net(NetEvent::Retransmit {
                slot,
                conn,
                dir,
                seq,
            }) => self.net.on_retransmit(ctx, (slot, conn, dir, seq)),
            Ev::Net(NetEvent::Syn { broker, conn }) => self.net.on_syn(ctx, broker, conn),
            Ev::Net(NetEvent::SynAck { broker, conn }) => {
                self.net.on_syn_ack(broker, conn);
            }
            Ev::Net(NetEvent::SynRetransmit {
                broker,
                conn,
                attempt,
            }) => self.net.on_syn_retransmit(ctx, (broker, conn, attempt)),
            Ev::Net(NetEvent::Closed { conn, side, .. }) => {
                self.closed.push((ctx.now(), side, conn));
            }
            Ev::Cluster(other) => panic!("unexpected {other:?}"),
            Ev::Net(NetEvent::Deliver { from, to, msg, .. }) => {
                let corr = match msg {
                    Message::ProduceRequest(r) => r.correlation_id,
                    Message::MetadataRequest { correlation_id } => correlation_id,
                    other => panic!("unexpected {other:?}"),
                };
                self.delivered.push((ctx.now(), from, to, corr));
            }
            Ev::Send {
                from,
                to,
                corr,
                bytes,
            } => {
                let msg = if bytes == 0 {
                    Message::MetadataRequest {
                        correlation_id: corr,
                    }
                } else {
                    let batch = WireBatch {
                        partition: models::protocol::PartitionId(0),
                        producer_id: models::protocol::ProducerId::NONE,
                        producer_epoch: -1,
                        base_sequence: -1,
                        records: Vec::new(),
                        size_bytes: bytes,
                        batch_tag: 0,
                        transactional: false,
                    };
                    Message::ProduceRequest(ProduceRequest {
                        correlation_id: corr,
                        acks: models::protocol::Acks::Leader,
                        timeout_ns: 0,
                        batches: vec![batch],
                    })
                };
                self.net.send(ctx, from, to, msg);
            }
            Ev::Do(f) => f(&mut self.net, ctx.now()),
        }
    }
}

const CLIENT: Node = Node::Client;
const B0: Node = Node::Broker(BrokerId(0));

fn world(config: &NetworkConfig, seed: u64) -> (Engine<Ev>, NetWorld) {
    let engine = Engine::new(seed);
    let net = Network::new(config, 3, &engine.streams()).expect("valid");
    (
        engine,
        NetWorld {
            net,
            delivered: Vec::new(),
            closed: Vec::new(),
        },
    )
}

fn run(engine: &mut Engine<Ev>, w: &mut NetWorld) {
    engine
        .run(w, RunLimits::unbounded())
        .expect("no event limit");
}

fn at_us(us: u64) -> Instant {
    Instant::from_nanos(us * 1_000)
}

#[test]
fn a_later_message_never_overtakes_an_earlier_one_on_a_link() {
    let config = NetworkConfig {
        latency: DistConfig::Uniform {
            lo_ms: 0.0,
            hi_ms: 10.0,
        },
        bandwidth_bytes_per_s: 0,
        ..NetworkConfig::default()
    };
    let (mut engine, mut w) = world(&config, 1);
    for i in 0..2_000u64 {
        engine.ctx().schedule_at(
            at_us(i * 50),
            Ev::Send {
                from: CLIENT,
                to: B0,
                corr: i,
                bytes: 0,
            },
        );
    }
    run(&mut engine, &mut w);
    let corrs: Vec<u64> = w.delivered.iter().map(|d| d.3).collect();
    assert_eq!(corrs, (0..2_000).collect::<Vec<_>>());
    // Latency did vary: some message waited for its predecessor.
    let waited = w.delivered.windows(2).filter(|p| p[0].0 == p[1].0).count();
    assert!(
        waited > 0
            || w.delivered
                .windows(2)
                .any(|p| p[1].0 - p[0].0 != sim::Duration::from_micros(50))
    );
}

fn ms(x: f64) -> Instant {
    Instant::from_nanos((x * 1e6).round() as u64)
}

#[test]
fn a_lost_message_is_retransmitted_after_the_rto_and_every_message_arrives_in_order() {
    // Messages 10 s apart, so each one's retransmissions are over before the next is sent
    // (except after many failures in a row): a lost one arrives 200 ms (600 ms, 1.4 s, ...)
    // late, in proportion to the loss ratio; broker-to-broker traffic is never randomly lost.
    let config = NetworkConfig {
        request_loss: 0.25,
        response_loss: 0.5,
        bandwidth_bytes_per_s: 0,
        ..NetworkConfig::default()
    };
    let (mut engine, mut w) = world(&config, 2);
    let n = 2_000u64;
    for i in 0..n {
        let at = Instant::from_millis(i * 10_000);
        for (from, to) in [(CLIENT, B0), (B0, CLIENT), (B0, Node::Broker(BrokerId(1)))] {
            let send = Ev::Send {
                from,
                to,
                corr: i,
                bytes: 0,
            };
            engine.ctx().schedule_at(at, send);
        }
    }
    run(&mut engine, &mut w);
    let delays = |to: Node| -> Vec<u64> {
        let arrived: Vec<_> = w.delivered.iter().filter(|d| d.2 == to).collect();
        assert_eq!(
            arrived.len() as u64,
            n,
            "TCP delivers every message to {to:?}"
        );
        let corrs: Vec<u64> = arrived.iter().map(|d| d.3).collect();
        assert_eq!(corrs, (0..n).collect::<Vec<_>>(), "in order");
        arrived
            .iter()
            .map(|d| (d.0 - Instant::from_millis(d.3 * 10_000)).as_nanos())
            .collect()
    };
    let late = |delays: &[u64]| delays.iter().filter(|&&d| d > 1_000_000).count();
    let requests = delays(B0);
    let responses = delays(CLIENT);
    assert!(
        (440..=560).contains(&late(&requests)),
        "{} of 2000 requests were retransmitted, expected ~25%",
        late(&requests)
    );
    assert!(
        (930..=1_080).contains(&late(&responses)),
        "{} of 2000 responses were retransmitted, expected ~50%",
        late(&responses)
    );
    // Once lost, a request arrives one latency after a retransmission (200, 600, 1400 ms ...
    // after it was sent), or together with the one it waited behind.
    let schedule: Vec<u64> = (1..12u32)
        .map(|k| ((1u64 << k) - 1) * 200_000_000 + 500_000)
        .collect();
    for (i, d) in requests.iter().enumerate().filter(|&(_, &d)| d > 1_000_000) {
        let behind = i > 0 && requests[i - 1] == d + 10_000_000_000;
        assert!(
            schedule.contains(d) || behind,
            "retransmitted request {i} arrived {d} ns after it was sent"
        );
    }
    assert_eq!(late(&delays(Node::Broker(BrokerId(1)))), 0);
    assert_eq!(w.net.dropped_count(), 0, "nothing is dropped");
}

#[test]
fn a_cut_holds_both_directions_until_the_first_retransmission_after_the_heal() {
    let config = NetworkConfig {
        bandwidth_bytes_per_s: 0,
        ..NetworkConfig::default()
    };
    let (mut engine, mut w) = world(&config, 3);
    engine.ctx().schedule_at(
        ms(10.0),
        Ev::Do(|net, _| net.cut(Node::Client, Node::Broker(BrokerId(0)))),
    );
    for (i, t) in [0.0, 20.0, 30.0, 1_300.0].into_iter().enumerate() {
        engine.ctx().schedule_at(
            ms(t),
            Ev::Send {
                from: CLIENT,
                to: B0,
                corr: i as u64,
                bytes: 0,
            },
        );
        engine.ctx().schedule_at(
            ms(t),
            Ev::Send {
                from: B0,
                to: CLIENT,
                corr: 100 + i as u64,
                bytes: 0,
            },
        );
    }
    // Healed after 1 s: the retransmissions of the message sent at 20 ms leave at 220 ms,
    // 620 ms (cut) and 1420 ms (through); the later ones wait behind it, even the one sent
    // after the heal.
    engine.ctx().schedule_at(
        ms(1_010.0),
        Ev::Do(|net, _| net.heal(Node::Broker(BrokerId(0)), Node::Client)),
    );
    run(&mut engine, &mut w);
    let arrivals = |to: Node| -> Vec<(u64, Instant)> {
        w.delivered
            .iter()
            .filter(|d| d.2 == to)
            .map(|d| (d.3, d.0))
            .collect()
    };
    let released = ms(1_420.5);
    assert_eq!(
        arrivals(B0),
        vec![(0, ms(0.5)), (1, released), (2, released), (3, released)]
    );
    assert_eq!(
        arrivals(CLIENT),
        vec![
            (100, ms(0.5)),
            (101, released),
            (102, released),
            (103, released)
        ]
    );
    assert!(w.closed.is_empty(), "the connection survived");
    assert!(!w.net.is_cut(CLIENT, B0));
}

#[test]
fn a_connection_that_cannot_retransmit_gives_up_and_both_ends_are_told() {
    // tcp_retries2 = 3: retransmissions at 200, 600, 1400 ms, given up at 3000 ms.
    let config = NetworkConfig {
        tcp_retries2: 3,
        ..NetworkConfig::default()
    };
    let (mut engine, mut w) = world(&config, 3);
    engine.ctx().schedule_at(
        Instant::ZERO,
        Ev::Do(|net, _| net.cut(Node::Client, Node::Broker(BrokerId(0)))),
    );
    for (t, corr) in [(1.0, 0), (5.0, 1)] {
        let send = Ev::Send {
            from: CLIENT,
            to: B0,
            corr,
            bytes: 0,
        };
        engine.ctx().schedule_at(ms(t), send);
    }
    run(&mut engine, &mut w);
    assert!(w.delivered.is_empty());
    assert_eq!(
        w.closed,
        vec![(ms(3_001.0), CLIENT, 0), (ms(3_001.0), B0, 0)],
        "given up 3 s after the first send"
    );
}

#[test]
fn a_scripted_drop_blackholes_the_client_connection_in_both_directions_until_a_reconnect() {
    let (mut engine, mut w) = world(&NetworkConfig::default(), 4);
    // Response 0 is dropped by script; request 1 and response 2 then vanish on the blackholed
    // connection, while the broker-to-broker link is unaffected; after the reconnect both
    // directions work.
    engine.ctx().schedule_at(
        Instant::ZERO,
        Ev::Do(|net, _| net.drop_next_responses(BrokerId(0), 1, ResponseApi::Any)),
    );
    let sends = [
        (10, B0, CLIENT, 0),
        (20, CLIENT, B0, 1),
        (30, B0, CLIENT, 2),
        (30, B0, Node::Broker(BrokerId(1)), 3),
        (50, CLIENT, B0, 4),
        (50, B0, CLIENT, 5),
    ];
    for (t, from, to, corr) in sends {
        let send = Ev::Send {
            from,
            to,
            corr,
            bytes: 0,
        };
        engine.ctx().schedule_at(at_us(t), send);
    }
    engine.ctx().schedule_at(
        at_us(40),
        Ev::Do(|net, _| {
            assert!(net.connection_broken(Instant::ZERO, Node::Client, BrokerId(0)));
            net.reconnect(BrokerId(0));
        }),
    );
    run(&mut engine, &mut w);
    let mut corrs: Vec<u64> = w.delivered.iter().map(|d| d.3).collect();
    corrs.sort_unstable();
    assert_eq!(corrs, vec![3, 4, 5]);
    assert_eq!(w.net.dropped_count(), 3);
}

#[test]
fn a_new_connection_never_waits_behind_the_old_ones_traffic() {
    // A message on connection 0 is held by a 50 ms spike; the client then reconnects: the new
    // connection's message, sent after the spike, arrives first, and a message stalled on the
    // old connection by a cut is discarded with it.
    let config = NetworkConfig {
        bandwidth_bytes_per_s: 0,
        ..NetworkConfig::default()
    };
    let (mut engine, mut w) = world(&config, 5);
    engine.ctx().schedule_at(
        Instant::ZERO,
        Ev::Do(|net, now| {
            net.latency_spike(
                Node::Broker(BrokerId(0)),
                Node::Client,
                (now, ms(10.0)),
                sim::Duration::from_millis(50),
            );
        }),
    );
    let send = |corr, from, to| Ev::Send {
        from,
        to,
        corr,
        bytes: 0,
    };
    engine.ctx().schedule_at(ms(1.0), send(0, B0, CLIENT));
    engine
        .ctx()
        .schedule_at(ms(2.0), Ev::Do(|net, _| net.cut(CLIENT, B0)));
    engine.ctx().schedule_at(ms(3.0), send(1, CLIENT, B0));
    engine.ctx().schedule_at(
        ms(20.0),
        Ev::Do(|net, _| {
            net.heal(CLIENT, B0);
            net.reconnect(BrokerId(0));
        }),
    );
    engine.ctx().schedule_at(ms(21.0), send(2, B0, CLIENT));
    engine.ctx().schedule_at(ms(21.0), send(3, CLIENT, B0));
    run(&mut engine, &mut w);
    let got: Vec<(u64, Instant)> = w.delivered.iter().map(|d| (d.3, d.0)).collect();
    assert_eq!(
        got,
        vec![(2, ms(21.5)), (3, ms(21.5)), (0, ms(51.5))],
        "the new connection's messages first; the stalled request is gone"
    );
}

#[test]
fn a_latency_spike_delays_messages_sent_inside_its_window() {
    let config = NetworkConfig {
        latency: DistConfig::constant_ms(1.0),
        bandwidth_bytes_per_s: 0,
        ..NetworkConfig::default()
    };
    let (mut engine, mut w) = world(&config, 4);
    engine.ctx().schedule_at(
        Instant::from_millis(10),
        Ev::Do(|net, now| {
            net.latency_spike(
                Node::Client,
                Node::Broker(BrokerId(0)),
                (now, Instant::from_millis(20)),
                sim::Duration::from_millis(50),
            );
        }),
    );
    for (corr, ms) in [(0u64, 5u64), (1, 15), (2, 70), (3, 16)] {
        let to = if corr == 3 {
            Node::Broker(BrokerId(1))
        } else {
            B0
        };
        engine.ctx().schedule_at(
            Instant::from_millis(ms),
            Ev::Send {
                from: CLIENT,
                to,
                corr,
                bytes: 0,
            },
        );
    }
    run(&mut engine, &mut w);
    let arrival = |c: u64| w.delivered.iter().find(|d| d.3 == c).expect("delivered").0;
    assert_eq!(arrival(0), Instant::from_millis(6));
    assert_eq!(arrival(1), Instant::from_millis(66));
    assert_eq!(arrival(2), Instant::from_millis(71));
    assert_eq!(
        arrival(3),
        Instant::from_millis(17),
        "other links are unaffected"
    );
}

#[test]
fn bandwidth_serialises_messages_one_after_another() {
    let config = NetworkConfig {
        latency: DistConfig::constant_ms(0.5),
        bandwidth_bytes_per_s: 1_000_000,
        ..NetworkConfig::default()
    };
    let (mut engine, mut w) = world(&config, 5);
    // 1000-byte batch: 64 + 1000 + 16 = 1080 bytes on the wire = 1080 us at 1 MB/s.
    engine.ctx().schedule_at(
        Instant::ZERO,
        Ev::Send {
            from: CLIENT,
            to: B0,
            corr: 0,
            bytes: 1_000,
        },
    );
    engine.ctx().schedule_at(
        Instant::ZERO,
        Ev::Send {
            from: CLIENT,
            to: B0,
            corr: 1,
            bytes: 1_000,
        },
    );
    engine.ctx().schedule_at(
        Instant::ZERO,
        Ev::Send {
            from: B0,
            to: CLIENT,
            corr: 2,
            bytes: 1_000,
        },
    );
    run(&mut engine, &mut w);
    let arrival = |c: u64| w.delivered.iter().find(|d| d.3 == c).expect("delivered").0;
    assert_eq!(arrival(0), at_us(1_080 + 500));
    assert_eq!(arrival(1), at_us(2 * 1_080 + 500));
    assert_eq!(
        arrival(2),
        at_us(1_080 + 500),
        "each direction has its own bandwidth"
    );
}

#[test]
fn drop_next_responses_drops_exactly_n_responses_on_that_link() {
    // Each dropped response blackholes its connection, so the client reconnects before every
    // response: the first two are dropped, the next two arrive, other links are untouched.
    let (mut engine, mut w) = world(&NetworkConfig::default(), 6);
    engine.ctx().schedule_at(
        Instant::ZERO,
        Ev::Do(|net, _| net.drop_next_responses(BrokerId(0), 2, ResponseApi::Any)),
    );
    for i in 0..4u64 {
        engine
            .ctx()
            .schedule_at(at_us(10 + i), Ev::Do(|net, _| net.reconnect(BrokerId(0))));
        engine.ctx().schedule_at(
            at_us(10 + i),
            Ev::Send {
                from: B0,
                to: CLIENT,
                corr: i,
                bytes: 0,
            },
        );
        engine.ctx().schedule_at(
            at_us(10 + i),
            Ev::Send {
                from: Node::Broker(BrokerId(1)),
                to: CLIENT,
                corr: 20 + i,
                bytes: 0,
            },
        );
    }
    run(&mut engine, &mut w);
    let mut corrs: Vec<u64> = w.delivered.iter().map(|d| d.3).collect();
    corrs.sort_unstable();
    assert_eq!(corrs, vec![2, 3, 20, 21, 22, 23]);
}

#[test]
fn the_same_seed_gives_the_same_deliveries() {
    let config = NetworkConfig {
        latency: DistConfig::Lognormal {
            median_ms: 0.5,
            sigma: 0.5,
        },
        request_loss: 0.1,
        ..NetworkConfig::default()
    };
    let deliveries = |seed| {
        let (mut engine, mut w) = world(&config, seed);
        for i in 0..500u64 {
            engine.ctx().schedule_at(
                at_us(i * 10),
                Ev::Send {
                    from: CLIENT,
                    to: B0,
                    corr: i,
                    bytes: 0,
                },
            );
        }
        run(&mut engine, &mut w);
        w.delivered
    };
    assert_eq!(deliveries(7), deliveries(7));
    assert_ne!(deliveries(7), deliveries(8));
}
