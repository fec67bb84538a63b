//! A tiny test world for the cluster tests: the network, the cluster and the faults in one
//! engine model, with a scripted client that sends requests at given times and records every
//! message the client receives. Requests to one broker share the client's connection (so the
//! broker handles them one at a time); the client opens a new connection before sending on one
//! that lost a message, so one lost message never blocks the next.

#![allow(
    dead_code,
    reason = "each test file uses a different part of the harness"
)]

use models::cluster::{Cluster, ClusterConfig, ClusterEvent};
use models::faults::{FaultEvent, Faults, FaultsConfig};
use models::network::{NetEvent, Network, NetworkConfig};
use models::protocol::{
    Acks, BrokerId, Message, Node, PartitionId, ProduceRequest, ProduceResponse, ProducerId,
    RecordId, WireBatch, WireRecord,
};
use sim::{Ctx, Duration, Engine, Instant, Model, RunLimits, Trace, TraceEvent};

/// A scripted step of the test client or the test itself.
#[derive(Clone, Debug)]
pub enum Step {
    /// The client sends `msg` to `to`.
    Send { to: BrokerId, msg: Message },
    /// Crash a broker.
    Crash(BrokerId),
    /// Restart a broker.
    Restart(BrokerId),
    /// Cut a link.
    Cut(Node, Node),
    /// Heal a link.
    Heal(Node, Node),
    /// The controller stops hearing a broker.
    Fence(BrokerId),
    /// Begin settling.
    Settle,
    /// Steady load: every `interval`, one batch of `records` records per partition to its
    /// current leader, until `until`.
    Load {
        interval: Duration,
        records: u64,
        acks: Acks,
        until: Instant,
    },
    /// The client sends a produce request for one partition to its current leader (if any).
    SendToLeader {
        partition: u32,
        request: ProduceRequest,
    },
}

/// Every event of the test world.
#[derive(Clone, Debug)]
pub enum Ev {
    Net(NetEvent),
    Cluster(ClusterEvent),
    Fault(FaultEvent),
    Step(Step),
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
impl From<FaultEvent> for Ev {
    fn from(e: FaultEvent) -> Self {
        Ev::Fault(e)
    }
}

/// The network, the cluster, optional faults, and what the client received.
pub struct TestWorld {
    pub cluster: Cluster,
    pub net: Network,
    pub faults: Option<Faults>,
    pub received: Vec<(Instant, BrokerId, Message)>,
    /// Whether to keep what the client receives (off for benchmarks).
    pub keep_received: bool,
    /// Records sent by [`Step::Load`].
    pub loaded_records: u64,
}

impl Model for TestWorld {
    type Event = Ev;
    fn on_event(&mut self, ctx: &mut Ctx<'_, Ev>, event: Ev) {
        match event {
            Ev::Net(NetEvent::Retransmit {
                slot,
                conn,
                dir,
                seq,
            }) => self.net.on_retransmit(ctx, (slot, conn, dir, seq)),
            // The scripted client never connects: its connections are established from the start.
            Ev::Net(
                NetEvent::Syn { .. } | NetEvent::SynAck { .. } | NetEvent::SynRetransmit { .. },
            ) => {}
            Ev::Net(NetEvent::Closed {
                initiator,
                acceptor,
                conn,
                side,
            }) => match (initiator, acceptor, side) {
                (Node::Client, Node::Broker(b), Node::Broker(_)) => {
                    self.cluster.on_client_connection_closed(b, conn)
                }
                (Node::Broker(f), Node::Broker(l), Node::Broker(s)) if s == f => self
                    .cluster
                    .on_fetch_connection_closed(ctx, &mut self.net, (f, l), conn),
                // The scripted client notices a closed connection before its next send.
                _ => {}
            },
            Ev::Net(NetEvent::Deliver {
                from,
                to,
                conn,
                msg,
            }) => match (from, to) {
                (_, Node::Broker(b)) => {
                    self.cluster
                        .on_message(ctx, &mut self.net, (from, b, conn), msg)
                }
                (Node::Broker(b), Node::Client) => {
                    if self.keep_received {
                        self.received.push((ctx.now(), b, msg));
                    }
                }
                (Node::Client, Node::Client) => unreachable!("the client does not message itself"),
            },
            Ev::Cluster(ev) => self.cluster.on_event(ctx, &mut self.net, ev),
            Ev::Fault(ev) => {
                let faults = self
                    .faults
                    .as_mut()
                    .expect("fault events come only from faults");
                faults.apply(ctx, &mut self.cluster, &mut self.net, ev);
            }
            Ev::Step(step) => self.on_step(ctx, step),
        }
    }
}

impl TestWorld {
    /// The scripted client has no request timeout to notice a lost connection: it opens a new
    /// one before sending on a connection that lost a message (a cut link stays cut).
    fn reconnect_if_lost(&mut self, now: Instant, to: BrokerId) {
        if self.net.connection_broken(now, Node::Client, to) {
            self.net.reconnect(to);
        }
    }

    fn on_step(&mut self, ctx: &mut Ctx<'_, Ev>, step: Step) {
        match step {
            Step::Send { to, msg } => {
                self.reconnect_if_lost(ctx.now(), to);
                self.net.send(ctx, Node::Client, Node::Broker(to), msg)
            }
            Step::Crash(b) => self.cluster.crash(ctx, b),
            Step::Restart(b) => self.cluster.restart(ctx, &mut self.net, b),
            Step::Cut(a, b) => self.net.cut(a, b),
            Step::Heal(a, b) => self.net.heal(a, b),
            Step::Fence(b) => self.cluster.fence(ctx, b),
            Step::SendToLeader { partition, request } => {
                if let Some(leader) = self.cluster.leader_of(PartitionId(partition)) {
                    let msg = Message::ProduceRequest(request);
                    self.reconnect_if_lost(ctx.now(), leader);
                    self.net.send(ctx, Node::Client, Node::Broker(leader), msg);
                }
            }
            Step::Load {
                interval,
                records,
                acks,
                until,
            } => self.on_load(ctx, (interval, records), acks, until),
            Step::Settle => {
                if let Some(f) = self.faults.as_mut() {
                    f.stop();
                }
                self.cluster.begin_settle(ctx, &mut self.net);
            }
        }
    }

    fn on_load(
        &mut self,
        ctx: &mut Ctx<'_, Ev>,
        (interval, records): (Duration, u64),
        acks: Acks,
        until: Instant,
    ) {
        for p in 0..self.cluster.partition_count() {
            let Some(leader) = self.cluster.leader_of(PartitionId(p)) else {
                continue;
            };
            let first = self.loaded_records;
            self.loaded_records += records;
            let request = ProduceRequest {
                correlation_id: first,
                acks,
                timeout_ns: Duration::from_millis(30_000).as_nanos(),
                batches: vec![batch(p, first, records)],
            };
            self.reconnect_if_lost(ctx.now(), leader);
            self.net.send(
                ctx,
                Node::Client,
                Node::Broker(leader),
                Message::ProduceRequest(request),
            );
        }
        let next = ctx.now() + interval;
        if next <= until {
            ctx.schedule_at(
                next,
                Ev::Step(Step::Load {
                    interval,
                    records,
                    acks,
                    until,
                }),
            );
        }
    }

    /// Produce responses received, with time and broker.
    pub fn produce_responses(&self) -> Vec<(Instant, BrokerId, ProduceResponse)> {
        self.received
            .iter()
            .filter_map(|(t, b, m)| match m {
                Message::ProduceResponse(r) => Some((*t, *b, r.clone())),
                _ => None,
            })
            .collect()
    }

    /// The response with correlation id `corr`.
    pub fn response(&self, corr: u64) -> Option<(Instant, ProduceResponse)> {
        self.produce_responses()
            .into_iter()
            .find(|(_, _, r)| r.correlation_id == corr)
            .map(|(t, _, r)| (t, r))
    }
}

/// An engine and world built from configs, started at time zero with a keeping trace.
pub struct Harness {
    pub engine: Engine<Ev>,
    pub world: TestWorld,
}

impl Harness {
    pub fn new(
        cluster: &ClusterConfig,
        net: &NetworkConfig,
        faults: Option<&FaultsConfig>,
        seed: u64,
    ) -> Harness {
        Harness::with_trace(cluster, (net, faults), seed, Trace::keeping())
    }

    /// Same as [`Harness::new`] with a given trace (e.g. off for benchmarks).
    pub fn with_trace(
        cluster: &ClusterConfig,
        (net, faults): (&NetworkConfig, Option<&FaultsConfig>),
        seed: u64,
        trace: Trace,
    ) -> Harness {
        let mut engine = Engine::with_capacity(seed, 4096);
        engine.set_trace(trace);
        let streams = engine.streams();
        let net = Network::new(net, cluster.brokers, &streams).expect("valid network config");
        let faults =
            faults.map(|f| Faults::new(f, cluster, &streams).expect("valid faults config"));
        let mut world = TestWorld {
            cluster: Cluster::new(
                cluster,
                models::batching::config::KafkaVersion::default(),
                &streams,
            )
            .expect("valid cluster config"),
            net,
            faults,
            received: Vec::new(),
            keep_received: true,
            loaded_records: 0,
        };
        {
            let mut ctx = engine.ctx();
            world.cluster.start(&mut ctx, &mut world.net);
            if let Some(f) = world.faults.as_mut() {
                f.start(&mut ctx);
            }
        }
        Harness { engine, world }
    }

    /// Schedules a step at `at_ms`.
    pub fn at(&mut self, at_ms: f64, step: Step) {
        let at = Instant::from_nanos((at_ms * 1e6) as u64);
        self.engine.ctx().schedule_at(at, Ev::Step(step));
    }

    /// Runs until `until_ms`.
    pub fn run_until(&mut self, until_ms: f64) {
        let until = Instant::from_nanos((until_ms * 1e6) as u64);
        let limits = RunLimits::unbounded()
            .until(until)
            .expect("non-zero time")
            .max_events(50_000_000)
            .expect("non-zero");
        self.engine
            .run(&mut self.world, limits)
            .expect("the run stays within its event budget");
    }

    /// Trace events of `component` and `kind`.
    pub fn events(&self, component: &str, kind: &str) -> Vec<TraceEvent> {
        self.engine
            .trace()
            .events()
            .iter()
            .filter(|e| e.component == component && e.kind == kind)
            .cloned()
            .collect()
    }

    /// Trace events of `kind` on any component.
    pub fn events_of_kind(&self, kind: &str) -> Vec<TraceEvent> {
        self.engine
            .trace()
            .events()
            .iter()
            .filter(|e| e.kind == kind)
            .cloned()
            .collect()
    }
}

/// A 3-broker cluster with `partitions` partitions, RF 3, min ISR 2, short timings.
pub fn small_cluster(partitions: u32) -> ClusterConfig {
    ClusterConfig {
        partitions,
        replica_lag_time_max_ms: 1_000.0,
        replica_fetch_wait_max_ms: 100.0,
        replica_socket_timeout_ms: 1_000.0,
        replica_fetch_backoff_ms: 100.0,
        broker_session_timeout_ms: 200.0,
        broker_heartbeat_interval_ms: 40.0,
        metadata_propagation_delay_ms: 10.0,
        ..ClusterConfig::default()
    }
}

/// Constant 0.5 ms latency, unlimited bandwidth, no loss.
pub fn lan() -> NetworkConfig {
    NetworkConfig {
        bandwidth_bytes_per_s: 0,
        ..NetworkConfig::default()
    }
}

/// A batch for partition `p` holding records `first..first+count`.
pub fn batch(p: u32, first: u64, count: u64) -> WireBatch {
    WireBatch {
        partition: PartitionId(p),
        producer_id: ProducerId::NONE,
        producer_epoch: -1,
        base_sequence: -1,
        records: (first..first + count)
            .map(|i| WireRecord {
                id: RecordId(i),
                size_bytes: 100,
            })
            .collect(),
        size_bytes: 61 + 100 * count as u32,
        batch_tag: first,
        transactional: false,
    }
}

/// An idempotent batch.
pub fn idempotent_batch(
    p: u32,
    (pid, epoch, seq): (i64, i16, i32),
    first: u64,
    count: u64,
) -> WireBatch {
    WireBatch {
        producer_id: ProducerId(pid),
        producer_epoch: epoch,
        base_sequence: seq,
        ..batch(p, first, count)
    }
}

/// A produce request step.
pub fn produce(to: u32, corr: u64, acks: Acks, batches: Vec<WireBatch>) -> Step {
    Step::Send {
        to: BrokerId(to),
        msg: Message::ProduceRequest(ProduceRequest {
            correlation_id: corr,
            acks,
            timeout_ns: Duration::from_millis(30_000).as_nanos(),
            batches,
        }),
    }
}

/// A produce request step with a purgatory timeout.
pub fn produce_with_timeout(
    to: u32,
    corr: u64,
    acks: Acks,
    timeout_ms: u64,
    batches: Vec<WireBatch>,
) -> Step {
    Step::Send {
        to: BrokerId(to),
        msg: Message::ProduceRequest(ProduceRequest {
            correlation_id: corr,
            acks,
            timeout_ns: Duration::from_millis(timeout_ms).as_nanos(),
            batches,
        }),
    }
}

/// The record ids committed in partition `p`.
pub fn committed_ids(world: &TestWorld, p: u32) -> Vec<u64> {
    world.cluster.final_logs().partitions[p as usize]
        .records
        .iter()
        .map(|r| r.id.0)
        .collect()
}

/// Node shorthand.
pub fn broker(b: u32) -> Node {
    Node::Broker(BrokerId(b))
}
