//! Tests of the simulated network: in-order delivery, loss ratios, cuts, latency spikes,
//! bandwidth and scripted response drops.

use models::cluster::DistConfig;
use models::network::{NetEvent, Network, NetworkConfig, ResponseApi};
use models::protocol::{BrokerId, Message, Node, ProduceRequest, WireBatch};
use sim::{Ctx, Engine, Instant, Model, RunLimits};

/// Sends scheduled messages and records deliveries.
struct NetWorld {
    net: Network,
    delivered: Vec<(Instant, Node, Node, u64)>,
}

#[derive(Debug)]
enum Ev {
    Net(NetEvent),
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

impl Model for NetWorld {
    type Event = Ev;
    fn on_event(&mut self, ctx: &mut Ctx<'_, Ev>, event: Ev) {
        match event {
            Ev::Net(NetEvent::Deliver { from, to, msg }) => {
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

#[test]
fn request_and_response_loss_follow_their_ratios() {
    // Independent losses, so every message draws its own fate (with the default, the first loss
    // would leave the connection dead until a reconnect; see the test after the cut test).
    let config = NetworkConfig {
        request_loss: 0.25,
        response_loss: 0.5,
        lost_message_breaks_connection: false,
        ..NetworkConfig::default()
    };
    let (mut engine, mut w) = world(&config, 2);
    for i in 0..20_000u64 {
        engine.ctx().schedule_at(
            at_us(i),
            Ev::Send {
                from: CLIENT,
                to: B0,
                corr: i,
                bytes: 0,
            },
        );
        engine.ctx().schedule_at(
            at_us(i),
            Ev::Send {
                from: B0,
                to: CLIENT,
                corr: i,
                bytes: 0,
            },
        );
        engine.ctx().schedule_at(
            at_us(i),
            Ev::Send {
                from: B0,
                to: Node::Broker(BrokerId(1)),
                corr: i,
                bytes: 0,
            },
        );
    }
    run(&mut engine, &mut w);
    let count = |to: Node| w.delivered.iter().filter(|d| d.2 == to).count();
    let requests = count(B0);
    let responses = count(CLIENT);
    assert!(
        (14_700..=15_300).contains(&requests),
        "{requests} of 20000 requests arrived, expected ~75%"
    );
    assert!(
        (9_700..=10_300).contains(&responses),
        "{responses} of 20000 responses arrived, expected ~50%"
    );
    assert_eq!(
        count(Node::Broker(BrokerId(1))),
        20_000,
        "broker-to-broker traffic is never randomly lost"
    );
    assert_eq!(
        w.net.dropped_count(),
        40_000 - requests as u64 - responses as u64
    );
}

#[test]
fn a_cut_drops_both_directions_until_healed() {
    let (mut engine, mut w) = world(&NetworkConfig::default(), 3);
    engine.ctx().schedule_at(
        at_us(10),
        Ev::Do(|net, _| net.cut(Node::Client, Node::Broker(BrokerId(0)))),
    );
    for (i, t) in [0u64, 20, 30, 60].into_iter().enumerate() {
        engine.ctx().schedule_at(
            at_us(t),
            Ev::Send {
                from: CLIENT,
                to: B0,
                corr: i as u64,
                bytes: 0,
            },
        );
        engine.ctx().schedule_at(
            at_us(t),
            Ev::Send {
                from: B0,
                to: CLIENT,
                corr: 100 + i as u64,
                bytes: 0,
            },
        );
    }
    engine.ctx().schedule_at(
        at_us(50),
        Ev::Do(|net, _| {
            net.heal(Node::Broker(BrokerId(0)), Node::Client);
            // The messages dropped by the cut killed the client's connection: the client opens
            // a new one (after its request timeout, in the world).
            net.reconnect(BrokerId(0));
        }),
    );
    run(&mut engine, &mut w);
    let mut corrs: Vec<u64> = w.delivered.iter().map(|d| d.3).collect();
    corrs.sort_unstable();
    assert_eq!(corrs, vec![0, 3, 100, 103]);
    assert!(!w.net.is_cut(CLIENT, B0));
}

#[test]
fn a_lost_message_kills_the_client_connection_in_both_directions_until_a_reconnect() {
    let (mut engine, mut w) = world(&NetworkConfig::default(), 4);
    // Response 0 is dropped by script; request 1 and response 2 then find the connection dead,
    // while the broker-to-broker link is unaffected; after the reconnect both directions work.
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
    // Count the scripted drops alone: independent losses, so the first drop does not also kill
    // the connection (that rule has its own test).
    let config = NetworkConfig {
        lost_message_breaks_connection: false,
        ..NetworkConfig::default()
    };
    let (mut engine, mut w) = world(&config, 6);
    engine.ctx().schedule_at(
        Instant::ZERO,
        Ev::Do(|net, _| net.drop_next_responses(BrokerId(0), 2, ResponseApi::Any)),
    );
    for i in 0..4u64 {
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
                from: CLIENT,
                to: B0,
                corr: 10 + i,
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
    assert_eq!(corrs, vec![2, 3, 10, 11, 12, 13, 20, 21, 22, 23]);
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
