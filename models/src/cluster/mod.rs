//! The replicated brokers and their controller: partitions with replica assignment, leader logs,
//! follower fetching, ISR and high watermark, produce purgatory, elections, truncation and
//! broker-side idempotence.
//!
//! ```text
//!  client ──ProduceRequest──► broker request queue ─► num.io.threads handler threads
//!                                 │ (per-batch + per-byte cost; follower fetches: fetch cost)
//!                                 │ RequestProcessed
//!                                 ▼
//!   leader append ─► acks=0: nothing │ acks=1: respond │ acks=all: purgatory until HW ≥ last+1
//!        │ wakes parked fetches                                   ▲ HW = min LEO over ISR
//!        ▼                                                        │
//!   follower ◄─FetchResponse(batches by Rc, HW)── leader ◄─FetchRequest(LEO per partition)─ follower
//!   controller: crash/fence: fenced broker_session_timeout after the last heartbeat → elect from
//!               live ISR (then ELR, or unclean), bump epoch, followers truncate to the divergence point,
//!               metadata after a delay; shutdown: leadership moves first, then the broker stops
//! ```
//!
//! API overview (for the world):
//! - [`Cluster::new`]`(&ClusterConfig)`, then [`Cluster::start`]`(ctx, net)` at time zero.
//! - [`Cluster::on_message`]`(ctx, net, from, to_broker, msg)` for each `NetEvent::Deliver` to a
//!   broker; [`Cluster::on_event`]`(ctx, net, ev)` for each [`ClusterEvent`].
//! - Faults: [`Cluster::crash`], [`Cluster::restart`], [`Cluster::controlled_shutdown`],
//!   [`Cluster::fence`], [`Cluster::unfence`];
//!   queries [`Cluster::is_alive`], [`Cluster::is_fenced`],
//!   [`Cluster::leader_of`], [`Cluster::isr`], [`Cluster::high_watermark`], [`Cluster::metadata`].
//! - End of run: [`Cluster::begin_settle`] (heal links, restart brokers), run until
//!   [`Cluster::is_settled`], then [`Cluster::final_logs`] for the checker.
//!
//! Units: integer ns for time, bytes for sizes, offsets as `i64` like Kafka.
//!
//! Trace events (component | kind | fields), for the teaching views:
//! - `broker/<id>` | `append` | partition, base_offset, records, pid, epoch, seq, first_record
//! - `broker/<id>` | `duplicate` | partition, offset, pid, epoch, seq
//! - `broker/<id>` | `out_of_order` | partition, pid, epoch, seq, expected
//! - `broker/<id>` | `respond` | corr, partition, error, offset (one per partition)
//! - `broker/<id>` | `not_enough_replicas` | partition, isr
//! - `broker/<id>` | `hw` | partition, hw (leader only)
//! - `broker/<id>` | `isr_shrink`, `isr_expand` | partition, isr (e.g. `"0,2"`)
//! - `broker/<id>` | `become_leader` | partition, epoch; `become_follower` | partition, leader
//! - `broker/<id>` | `truncate` | partition, to_offset, removed (records)
//! - `broker/<id>` | `crash`, `restart`
//! - `broker/<id>` | `inject_error` | partition, error, stage; `hold_response` | corr, delay_ns
//! - `broker/<id>` | `alter_partition_unanswered` | partition (the controller did not hear it)
//! - `controller` | `alter_partition_rejected` | broker, partition, error (e.g.
//!   `INVALID_UPDATE_VERSION`)
//! - `controller` | `elr` | partition, elr (the Eligible Leader Replicas changed, e.g. `"2"`)
//! - `controller` | `elect` | partition, leader, epoch, unclean; `offline` | partition
//! - `controller` | `session_lost`, `fence`, `register`, `controlled_shutdown`, `shutdown_now` |
//!   broker; `isr_shrink` when no leader
//! - `net` | `drop` | from, to, msg, corr, reason (see `network`)
//!
//! Fidelity (facts file §5; Kafka `ReplicaManager`, `Partition.scala`, `DelayedProduce`,
//! `UnifiedLog`, KRaft `PartitionChangeBuilder`):
//! - ISR changes are AlterPartition proposals, one in flight per partition, answered after
//!   `alter_partition_round_trip_ms`; meanwhile the HW and acks=all use the maximal ISR, and a
//!   leader the controller does not hear never gets an answer (see `isr`). Eligible Leader
//!   Replicas (KIP-966) are kept by the controller when enabled (see `isr`).
//! - Broker CPU (see `handlers`): `num.io.threads` handler threads behind one request queue of
//!   `queued.max.requests` handle client requests and the leader's side of follower fetches;
//!   followers append on their fetcher threads, one per leader.
//! - A request in flight to a broker that crashes is dropped on arrival; an acks=0 produce
//!   error closes the client's connection, as `KafkaApis.handleProduceRequest` does to tell a
//!   client that gets no response.
//! - Follower fetches travel the broker↔broker links of the [`Network`] (latency, bandwidth,
//!   cuts) as cluster events, not as [`Message`]s; one fetch session per (follower, leader) pair
//!   covers all its partitions, long-polls for `replica.fetch.wait.max.ms`, times out after
//!   `replica.socket.timeout.ms`, and backs off `replica.fetch.backoff.ms` on a cut link.
//! - The controller is not a network node: a broker's session ends on a crash or an explicit
//!   [`Cluster::fence`] (faults "fence"/"isolate"), never on link cuts alone; it is fenced
//!   `broker_session_timeout_ms` after its last heartbeat (see `controller`), and a controlled
//!   shutdown ([`Cluster::controlled_shutdown`]) moves leadership before the process stops.
//!   Elections reach brokers that hear the controller at
//!   once; a fenced leader runs on as a zombie with its stale ISR (its AlterPartition is never
//!   answered);
//!   clients see elections through metadata after `metadata_propagation_delay_ms`.
//! - A crashed broker's log survives (Kafka flushes lazily, but replication is the durability
//!   story here); on restart it truncates to its divergence point with the leader.
//! - Truncation points are computed from both logs directly (the result of Kafka's leader-epoch
//!   protocol), and producer state is rebuilt from the truncated log.
//! - No preferred-leader rebalancing, no log retention, no producer-id expiry.

pub mod config;
pub mod log;
pub mod producer_state;
mod txn_broker;
pub mod txn_coordinator;

mod broker;
mod controller;
mod fetch_session;
mod handlers;
pub mod injected;
mod isr;
mod replica;

use std::collections::VecDeque;

use sim::{Ctx, Instant, TimerId};

pub use self::config::{ClusterConfig, ClusterParams, ConfigError, DistConfig, NodeName};
pub use self::handlers::HandlerStats;
pub use self::injected::{ErrorStage, InjectedError};
use self::log::PartitionLog;
use self::producer_state::ProducerStates;
pub use self::replica::{FetchRequest, FetchResponse};
use crate::batching::config::KafkaVersion;
use crate::checker::{FinalLogs, IdRange, RangeLogs};
use crate::network::{NetEvent, Network};
use crate::protocol::{
    BrokerId, ErrorCode, LeaderEpoch, Message, MetadataResponse, Node, PartitionId,
    PartitionResponse,
};

/// Everything the cluster schedules for itself.
#[derive(Clone, Debug)]
pub enum ClusterEvent {
    /// A handler thread of the broker finished the oldest request it was given.
    RequestProcessed {
        /// The broker.
        broker: BrokerId,
        /// The handler thread.
        thread: u32,
        /// Its incarnation when the request was queued (stale after a crash).
        incarnation: u32,
    },
    /// A follower sends its next fetch to a leader.
    FetchSend {
        /// The follower.
        follower: BrokerId,
        /// The leader.
        leader: BrokerId,
        /// The follower's incarnation.
        incarnation: u32,
    },
    /// A fetch request reaches the leader.
    FetchArrive(Box<replica::FetchRequest>),
    /// A parked (long-polling) fetch's wait ran out.
    FetchWaitExpired {
        /// The leader holding it.
        leader: BrokerId,
        /// The follower that sent it.
        follower: BrokerId,
        /// The leader's incarnation.
        incarnation: u32,
        /// The fetch's sequence number.
        fetch_seq: u64,
    },
    /// A fetch response reaches the follower.
    FetchResponseArrive(Box<replica::FetchResponse>),
    /// A follower's fetch watchdog: at most one pending per fetch session; gives up on a fetch
    /// out longer than `replica.socket.timeout.ms`.
    FetchTimeout {
        /// The follower.
        follower: BrokerId,
        /// The leader.
        leader: BrokerId,
        /// The follower's incarnation.
        incarnation: u32,
        /// The fetch in flight when the watchdog was armed (for traces; the watchdog re-checks
        /// whichever fetch is in flight when it fires).
        fetch_seq: u64,
    },
    /// The broker's purgatory timer: every acks=all request whose timeout has passed times out.
    /// One re-armable timer per broker, armed at (or before) the earliest pending deadline.
    PurgatoryTimeout {
        /// The broker.
        broker: BrokerId,
        /// Its incarnation.
        incarnation: u32,
    },
    /// The periodic ISR shrink check (every `replica.lag.time.max.ms / 2`).
    IsrCheck {
        /// The broker.
        broker: BrokerId,
        /// Its incarnation.
        incarnation: u32,
    },
    /// A broker's controller session times out (`broker_session_timeout_ms` after the last
    /// heartbeat the controller heard from it): the controller fences it.
    SessionExpired {
        /// The broker.
        broker: BrokerId,
        /// Its session epoch when the session was lost (stale if restored since).
        session_epoch: u32,
    },
    /// A broker in controlled shutdown sends its next heartbeat (with wantShutDown); the
    /// controller tells it to stop once it leads nothing and every active broker has seen the
    /// leadership changes.
    ShutdownHeartbeat {
        /// The broker.
        broker: BrokerId,
        /// Its incarnation (a crash or restart ends the controlled shutdown).
        incarnation: u32,
        /// When the controlled shutdown began (the controller's leadership changes).
        began: Instant,
    },
    /// The metadata that brokers serve to clients changes to this.
    PublishMetadata(Box<MetadataResponse>),
    /// The oldest produce response a broker holds back (fault `delay_responses`) is due.
    HeldResponseDue {
        /// The broker.
        broker: BrokerId,
        /// Its incarnation (a crash loses what it held).
        incarnation: u32,
    },
    /// A leader's AlterPartition request reaches the controller.
    AlterPartitionArrive(Box<isr::AlterPartition>),
    /// The controller's answer to an AlterPartition reaches the leader.
    AlterPartitionAnswer(Box<isr::AlterPartitionAnswer>),
    /// The transaction coordinators look for transactions past their timeout.
    TxnTimeoutCheck,
    /// Transaction markers that found no leader are tried again.
    TxnMarkerRetry,
}

/// The controller's record of one partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionState {
    /// Replicas in assignment order.
    pub replicas: Vec<BrokerId>,
    /// The leader, or `None` when the partition is offline.
    pub leader: Option<BrokerId>,
    /// The leader epoch.
    pub leader_epoch: LeaderEpoch,
    /// The in-sync replicas, in assignment order.
    pub isr: Vec<BrokerId>,
    /// The partition epoch: bumped by every change of this record (ISR, ELR, leader).
    pub partition_epoch: u32,
    /// The Eligible Leader Replicas (KIP-966), in assignment order: replicas that left the ISR
    /// while it was below min ISR and so hold every committed record. Empty with ELR off.
    pub elr: Vec<BrokerId>,
}

/// What a leader tracks about one follower (Kafka's `Replica` state).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FollowerProgress {
    pub(crate) broker: BrokerId,
    /// Its LEO as of its last fetch (−1 = unknown).
    pub(crate) leo: i64,
    pub(crate) last_caught_up: Instant,
    pub(crate) last_fetch_time: Instant,
    pub(crate) last_fetch_leader_leo: i64,
}

/// An acks=all produce waiting for the high watermark (a watcher per partition).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Watcher {
    pub(crate) required_offset: i64,
    pub(crate) delayed_id: u64,
    pub(crate) slot: usize,
}

/// A replica's role.
#[derive(Clone, Debug)]
pub(crate) enum Role {
    /// Not serving (the broker is down or has not been told its role yet).
    Offline,
    /// Leading at this epoch.
    Leader(LeaderState),
    /// Following `leader` at `epoch`.
    Follower {
        leader: BrokerId,
        epoch: LeaderEpoch,
    },
}

#[derive(Clone, Debug)]
pub(crate) struct LeaderState {
    pub(crate) epoch: LeaderEpoch,
    pub(crate) epoch_start_offset: i64,
    pub(crate) followers: Vec<FollowerProgress>,
    pub(crate) watchers: VecDeque<Watcher>,
    /// The leader's view of the committed ISR: the controller's as of the last answer or
    /// metadata update it got; a fenced (zombie) leader keeps a stale view.
    pub(crate) isr: Vec<BrokerId>,
    /// The partition epoch of that view (sent with each AlterPartition).
    pub(crate) partition_epoch: u32,
    /// The ISR change in flight to the controller, if any (at most one per partition).
    pub(crate) pending: isr::PendingIsr,
}

/// A broker's session with the controller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Session {
    /// Registered and heard: the broker follows the controller's metadata.
    Connected,
    /// The controller no longer hears it (crash or lost contact); fenced when the session expires.
    Lost,
    /// Fenced: out of every ISR, not electable, until it registers again.
    Fenced,
}

/// Where a broker is in its lifecycle towards a stop (`BrokerLifecycleManager` states).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lifecycle {
    /// Serving (or down: see `alive`).
    Running,
    /// Asked the controller to shut down (`PENDING_CONTROLLED_SHUTDOWN`): out of every ISR, not
    /// electable, still running and answering; it stops when the controller says so.
    PendingControlledShutdown,
}

/// One replica of one partition on one broker.
#[derive(Clone, Debug)]
pub(crate) struct Replica {
    pub(crate) log: PartitionLog,
    pub(crate) hw: i64,
    pub(crate) producers: ProducerStates,
    pub(crate) role: Role,
}

/// An acks=all request in purgatory.
#[derive(Clone, Debug)]
pub(crate) struct DelayedProduce {
    pub(crate) client: Node,
    /// The client connection the request came on (see [`ClientChannel`]).
    pub(crate) connection: u32,
    pub(crate) correlation_id: u64,
    pub(crate) responses: Vec<PartitionResponse>,
    pub(crate) pending_count: usize,
}

/// The broker's end of the client's connection: Kafka's `SocketServer` mutes a channel once it
/// has read a request and unmutes it when the response is sent (or, for acks=0, when the
/// request is handled), so a broker handles one request per connection at a time. Requests the
/// client pipelines behind it (up to `max.in.flight.requests.per.connection`) wait, unread, in
/// `backlog`. When the client reconnects, the old connection's unread requests are gone.
#[derive(Clone, Debug, Default)]
pub(crate) struct ClientChannel {
    /// Which client connection this is ([`crate::network::Network::client_connection`]).
    pub(crate) connection: u32,
    /// A request of this connection is being handled (queued, processed or in purgatory).
    pub(crate) muted: bool,
    /// Requests that arrived while muted, in arrival order.
    pub(crate) backlog: VecDeque<Message>,
}

impl ClientChannel {
    /// Forgets everything (the connection closed, or the broker crashed).
    pub(crate) fn reset(&mut self, connection: u32) {
        self.connection = connection;
        self.muted = false;
        self.backlog.clear();
    }
}

/// One follower's fetch session with one leader.
#[derive(Clone, Debug, Default)]
pub(crate) struct Fetcher {
    pub(crate) partitions: Vec<PartitionId>,
    pub(crate) in_flight: Option<u64>,
    pub(crate) scheduled: bool,
    pub(crate) fetch_seq: u64,
    pub(crate) sent_at: Instant,
    pub(crate) watchdog_armed: bool,
    /// Which of `partitions` the fetches need not visit (see `fetch_session`).
    pub(crate) session: fetch_session::FetchSession,
}

/// One broker.
#[derive(Clone, Debug)]
pub(crate) struct Broker {
    pub(crate) alive: bool,
    pub(crate) session: Session,
    pub(crate) session_epoch: u32,
    /// The time of one of its heartbeats: it heartbeats at this instant plus every multiple of
    /// `broker_heartbeat_interval_ms` (drawn at start, reset when it registers).
    pub(crate) heartbeat_origin: Instant,
    pub(crate) lifecycle: Lifecycle,
    /// Set by a crash or power-off (an unclean shutdown), cleared at the next registration,
    /// where such a broker leaves every ELR; a controlled shutdown clears it at once.
    pub(crate) registers_unclean: bool,
    pub(crate) incarnation: u32,
    /// The request queue and handler threads (`num.io.threads`).
    pub(crate) handlers: handlers::HandlerPool,
    /// The channel of the client's connection (Kafka mutes it while one request is handled).
    pub(crate) client_channel: ClientChannel,
    /// Indexed by partition; `None` when not a replica.
    pub(crate) replicas: Vec<Option<Replica>>,
    /// Indexed by leader broker.
    pub(crate) fetchers: Vec<Fetcher>,
    /// The acks=all requests waiting, by delayed id.
    pub(crate) purgatory: broker::Purgatory,
    /// `(deadline, delayed id)` of the requests in purgatory, in deadline order; entries whose
    /// request has already been answered are dropped lazily from the front.
    pub(crate) purgatory_deadlines: VecDeque<(Instant, u64)>,
    /// The one timer that fires at the earliest purgatory deadline (made on first use).
    pub(crate) purgatory_timer: Option<TimerId>,
    /// Indexed by follower broker: a fetch parked here (long poll).
    pub(crate) parked_fetches: Vec<Option<Box<replica::FetchRequest>>>,
    /// Indexed by follower broker: the re-armable timer of that follower's parked fetch (made on
    /// first use). Most parked fetches are answered by new data long before their wait runs
    /// out, so the timer is disarmed then instead of leaving a dead entry in the event queue.
    pub(crate) parked_fetch_timers: Vec<Option<TimerId>>,
    /// Injected errors and response delays still to apply (faults `error`, `delay_responses`).
    pub(crate) injections: injected::Injections,
    /// Produce responses held back by `delay_responses`, oldest first.
    pub(crate) held_responses: VecDeque<DelayedProduce>,
}

/// The whole cluster: brokers, the controller's partition records, the published metadata.
#[derive(Clone, Debug)]
pub struct Cluster {
    params: ClusterParams,
    brokers: Vec<Broker>,
    partitions: Vec<PartitionState>,
    published: MetadataResponse,
    next_producer_id: i64,
    settling: bool,
    /// Spare fetch buffers (see [`replica::FetchPool`]).
    fetch_pool: replica::FetchPool,
    /// Spare per-request lists of the produce path (see [`broker::ProduceScratch`]).
    produce_scratch: broker::ProduceScratch,
    /// The id of the next AlterPartition proposal (matches answers to proposals).
    next_alter_partition_id: u64,
    /// Transaction coordination (see `txn_broker`).
    txn: txn_broker::TxnBrokers,
}

/// Traces under the component `broker/<id>`, building the name only when tracing is on.
pub(crate) fn trace_broker<E>(
    ctx: &mut Ctx<'_, E>,
    broker: BrokerId,
    kind: &'static str,
    fill: impl FnOnce(sim::TraceEvent) -> sim::TraceEvent,
) {
    if ctx.tracing() {
        ctx.trace(&format!("broker/{}", broker.0), kind, fill);
    }
}

/// A list of brokers as text for traces, e.g. `"0,2"`.
pub(crate) fn broker_list(brokers: &[BrokerId]) -> String {
    brokers
        .iter()
        .map(|b| b.0.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Kafka's round-robin replica assignment (`AdminUtils.assignReplicasToBrokers` without racks),
/// with start index and shift 0 so runs are deterministic.
pub fn assign_replicas(
    broker_count: u32,
    partition_count: u32,
    replication_factor: u32,
) -> Vec<Vec<BrokerId>> {
    let n = broker_count;
    (0..partition_count)
        .map(|p| {
            let first = p % n;
            let shift = p / n;
            let mut replicas = vec![BrokerId(first)];
            for j in 1..replication_factor {
                let offset = 1 + (shift + j - 1) % (n - 1).max(1);
                replicas.push(BrokerId((first + offset) % n));
            }
            replicas
        })
        .collect()
}

impl Cluster {
    /// A cluster with every broker up and no leaders yet; call [`Cluster::start`] at time zero.
    /// Each broker's heartbeat phase is drawn from the stream `cluster/heartbeat/<id>`.
    /// `profile` is the Kafka release whose broker and controller defaults apply.
    pub fn new(
        config: &ClusterConfig,
        profile: KafkaVersion,
        streams: &sim::RngStreams,
    ) -> Result<Cluster, ConfigError> {
        let params = config.params(profile)?;
        let interval_ns = params.broker_heartbeat_interval.as_nanos();
        let assignment = assign_replicas(
            params.broker_count,
            params.partition_count,
            params.replication_factor,
        );
        let broker_count = params.broker_count as usize;
        let brokers = (0..params.broker_count)
            .map(|b| Broker {
                alive: true,
                session: Session::Connected,
                session_epoch: 0,
                // Real brokers start long before the producer and independently of each other,
                // so each one's heartbeat phase is uniform over one interval.
                heartbeat_origin: Instant::from_nanos(
                    streams
                        .stream(&format!("cluster/heartbeat/{b}"))
                        .below(interval_ns),
                ),
                lifecycle: Lifecycle::Running,
                registers_unclean: false,
                incarnation: 0,
                handlers: handlers::HandlerPool::new(
                    params.num_io_threads,
                    params.queued_max_requests,
                ),
                client_channel: ClientChannel::default(),
                replicas: assignment
                    .iter()
                    .map(|r| {
                        r.contains(&BrokerId(b)).then(|| Replica {
                            log: PartitionLog::default(),
                            hw: 0,
                            producers: ProducerStates::default(),
                            role: Role::Offline,
                        })
                    })
                    .collect(),
                fetchers: vec![Fetcher::default(); broker_count],
                purgatory: broker::Purgatory::default(),
                purgatory_deadlines: VecDeque::new(),
                purgatory_timer: None,
                parked_fetches: vec![None; broker_count],
                parked_fetch_timers: vec![None; broker_count],
                injections: injected::Injections::default(),
                held_responses: VecDeque::new(),
            })
            .collect();
        let partitions = assignment
            .into_iter()
            .map(|replicas| PartitionState {
                isr: replicas.clone(),
                replicas,
                leader: None,
                leader_epoch: LeaderEpoch(0),
                partition_epoch: 0,
                elr: Vec::new(),
            })
            .collect();
        let txn = txn_broker::TxnBrokers::new(params.transaction_max_timeout_ms);
        Ok(Cluster {
            params,
            brokers,
            partitions,
            published: MetadataResponse {
                partitions: Vec::new(),
            },
            next_producer_id: 0,
            settling: false,
            fetch_pool: replica::FetchPool::default(),
            produce_scratch: broker::ProduceScratch::default(),
            next_alter_partition_id: 0,
            txn,
        })
    }

    /// Elects the first replica of every partition, publishes metadata at once, starts the
    /// followers' fetchers and the ISR checks.
    pub fn start<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
    ) {
        for p in 0..self.partitions.len() {
            let partition = PartitionId(p as u32);
            let leader = self.partitions[p].replicas[0];
            self.partitions[p].leader = Some(leader);
            self.apply_leadership(ctx, net, partition);
        }
        self.published = self.metadata_snapshot();
        for b in 0..self.brokers.len() {
            self.schedule_isr_check(ctx, BrokerId(b as u32));
        }
    }

    /// Handles a message delivered to broker `to` on client connection `conn` (requests;
    /// anything else is ignored). A broker whose process is down on a live host refuses the
    /// connection (the client learns it one latency later); a powered-off one answers nothing,
    /// so the sender's TCP retransmits the message.
    pub fn on_message<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
        (from, to, conn): (Node, BrokerId, u32),
        msg: Message,
    ) {
        if net.refuses_connections(to) {
            net.refuse(ctx, from, to, conn);
            return;
        }
        if net.is_powered_off(to) {
            // Sent before the power-off was felt: never acknowledged, so retransmitted.
            net.hold_unacknowledged(ctx, (from, to, conn), msg);
            return;
        }
        self.enqueue_request(ctx, net, (from, to, conn), msg);
    }

    /// The broker's end of client connection `conn` learns that it closed: the channel and
    /// the requests it held back unread are forgotten.
    pub fn on_client_connection_closed(&mut self, b: BrokerId, conn: u32) {
        if let Some(broker) = self.brokers.get_mut(b.0 as usize)
            && broker.client_channel.connection == conn
        {
            broker.client_channel.reset(conn.wrapping_add(1));
        }
    }

    /// Handles one of the cluster's own events.
    pub fn on_event<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
        ev: ClusterEvent,
    ) {
        match ev {
            ClusterEvent::RequestProcessed {
                broker,
                thread,
                incarnation,
            } => self.on_request_processed(ctx, net, (broker, thread), incarnation),
            ClusterEvent::FetchSend {
                follower,
                leader,
                incarnation,
            } => self.on_fetch_send(ctx, net, (follower, leader), incarnation),
            ClusterEvent::FetchArrive(req) => self.on_fetch_arrive(ctx, net, req),
            ClusterEvent::FetchWaitExpired {
                leader,
                follower,
                incarnation,
                fetch_seq,
            } => self.on_fetch_wait_expired(ctx, net, (leader, follower), (incarnation, fetch_seq)),
            ClusterEvent::FetchResponseArrive(resp) => self.on_fetch_response(ctx, resp),
            ClusterEvent::FetchTimeout {
                follower,
                leader,
                incarnation,
                fetch_seq: _,
            } => self.on_fetch_timeout(ctx, net, (follower, leader), incarnation),
            ClusterEvent::PurgatoryTimeout {
                broker,
                incarnation,
            } => self.on_purgatory_timeout(ctx, net, (broker, incarnation)),
            ClusterEvent::IsrCheck {
                broker,
                incarnation,
            } => self.on_isr_check(ctx, broker, incarnation),
            ClusterEvent::SessionExpired {
                broker,
                session_epoch,
            } => self.on_session_expired(ctx, net, broker, session_epoch),
            ClusterEvent::ShutdownHeartbeat {
                broker,
                incarnation,
                began,
            } => self.on_shutdown_heartbeat(ctx, net, (broker, incarnation), began),
            ClusterEvent::PublishMetadata(metadata) => self.published = *metadata,
            ClusterEvent::HeldResponseDue {
                broker,
                incarnation,
            } => self.on_held_response_due(ctx, net, (broker, incarnation)),
            ClusterEvent::AlterPartitionArrive(request) => {
                self.on_alter_partition_arrive(ctx, request);
            }
            ClusterEvent::AlterPartitionAnswer(answer) => {
                self.on_alter_partition_answer(ctx, net, *answer);
            }
            ClusterEvent::TxnTimeoutCheck => self.on_txn_timeout_check(ctx, net),
            ClusterEvent::TxnMarkerRetry => self.write_pending_markers(ctx, net),
        }
    }

    /// Whether the controller has fenced broker `b` (crashed, or cut off from the controller
    /// for longer than the session timeout) and not yet seen it register again.
    pub fn is_fenced(&self, b: BrokerId) -> bool {
        self.brokers
            .get(b.0 as usize)
            .is_some_and(|br| br.session == Session::Fenced)
    }

    /// Whether broker `b` is up.
    pub fn is_alive(&self, b: BrokerId) -> bool {
        self.brokers.get(b.0 as usize).is_some_and(|br| br.alive)
    }

    /// Number of brokers.
    pub fn broker_count(&self) -> u32 {
        self.params.broker_count
    }

    /// Number of partitions.
    pub fn partition_count(&self) -> u32 {
        self.params.partition_count
    }

    /// The validated parameters.
    pub fn params(&self) -> &ClusterParams {
        &self.params
    }

    /// Sets the leader's codec work per uncompressed byte produced (from the codecs' speeds).
    pub(crate) fn set_codec_validation_cost(&mut self, ps_per_byte: u64) {
        self.params.codec_validation_ps_per_byte = ps_per_byte;
    }

    /// The controller's record of partition `p`.
    pub fn partition_state(&self, p: PartitionId) -> &PartitionState {
        &self.partitions[p.0 as usize]
    }

    /// The current leader of `p` (the controller's view, not yet the clients').
    pub fn leader_of(&self, p: PartitionId) -> Option<BrokerId> {
        self.partitions[p.0 as usize].leader
    }

    /// The ISR of `p` (the controller's record).
    pub fn isr(&self, p: PartitionId) -> &[BrokerId] {
        &self.partitions[p.0 as usize].isr
    }

    /// The Eligible Leader Replicas of `p` (empty with ELR off).
    pub fn elr(&self, p: PartitionId) -> &[BrokerId] {
        &self.partitions[p.0 as usize].elr
    }

    /// The high watermark of `p` on `broker`'s replica (−1 when it has none).
    pub fn high_watermark_on(&self, broker: BrokerId, p: PartitionId) -> i64 {
        self.replica(broker, p).map_or(-1, |r| r.hw)
    }

    /// The high watermark of `p` on its leader (−1 when offline).
    pub fn high_watermark(&self, p: PartitionId) -> i64 {
        self.leader_of(p)
            .map_or(-1, |l| self.high_watermark_on(l, p))
    }

    /// The log end offset of `p` on `broker` (−1 when it has no replica).
    pub fn log_end_offset(&self, broker: BrokerId, p: PartitionId) -> i64 {
        self.replica(broker, p).map_or(-1, |r| r.log.leo())
    }

    /// The batches of `p` on `broker`.
    pub fn log(&self, broker: BrokerId, p: PartitionId) -> Option<&PartitionLog> {
        self.replica(broker, p).map(|r| &r.log)
    }

    /// The metadata brokers currently serve to clients.
    pub fn metadata(&self) -> &MetadataResponse {
        &self.published
    }

    /// Whether [`Cluster::begin_settle`] was called.
    pub fn is_settling(&self) -> bool {
        self.settling
    }

    pub(crate) fn replica(&self, broker: BrokerId, p: PartitionId) -> Option<&Replica> {
        self.brokers
            .get(broker.0 as usize)?
            .replicas
            .get(p.0 as usize)?
            .as_ref()
    }

    pub(crate) fn replica_mut(&mut self, broker: BrokerId, p: PartitionId) -> Option<&mut Replica> {
        self.brokers
            .get_mut(broker.0 as usize)?
            .replicas
            .get_mut(p.0 as usize)?
            .as_mut()
    }

    /// The KIP-951 hint for NOT_LEADER_OR_FOLLOWER sent by broker `b`: the leader its own
    /// metadata names. A broker that hears the controller has applied every election (roles
    /// change at once here), so it knows the controller's record; one cut off from the
    /// controller knows what it last learnt as a follower, or else what clients are served.
    pub(crate) fn leader_hint_on(
        &self,
        b: BrokerId,
        p: PartitionId,
    ) -> Option<(BrokerId, LeaderEpoch)> {
        if self.hears_controller(b) {
            let state = self.partitions.get(p.0 as usize)?;
            return state.leader.map(|l| (l, state.leader_epoch));
        }
        if let Some(Role::Follower { leader, epoch }) = self.replica(b, p).map(|r| &r.role) {
            return Some((*leader, *epoch));
        }
        let m = self.published.partitions.get(p.0 as usize)?;
        m.leader.map(|l| (l, m.leader_epoch))
    }

    /// What each broker's handler pool and fetcher threads did, indexed by broker.
    pub fn handler_stats(&self) -> Vec<HandlerStats> {
        self.brokers.iter().map(|b| b.handlers.stats).collect()
    }

    /// The replica whose log is `partition`'s final log: the leader, or for an offline partition
    /// the replica with the highest high watermark; with its high watermark.
    fn final_source(&self, partition: PartitionId) -> Option<(&Replica, i64)> {
        let p = partition.0 as usize;
        let source = self.leader_of(partition).or_else(|| {
            self.partitions[p]
                .replicas
                .iter()
                .copied()
                .max_by_key(|&b| (self.high_watermark_on(b, partition), std::cmp::Reverse(b)))
        });
        source
            .and_then(|b| self.replica(b, partition))
            .map(|r| (r, r.hw))
    }

    /// The final committed logs as ranges ([`Cluster::final_logs`] without a copy per record):
    /// per partition, the runs of ids at consecutive offsets below the final log's high
    /// watermark, and the ranges of ids pending above it on any replica.
    pub fn range_logs(&self) -> RangeLogs {
        RangeLogs {
            partitions: (0..self.partitions.len())
                .map(|p| self.range_log(PartitionId(p as u32)))
                .collect(),
        }
    }

    /// One partition's final committed log as ranges ([`Cluster::range_logs`]), for the end of
    /// a run: the partition's replica logs are emptied once its ranges are read, so the batches
    /// and their ranges are not held at once.
    pub fn take_range_log(&mut self, partition: PartitionId) -> crate::checker::RangePartitionLog {
        self.touch_partition(partition);
        let log = self.range_log(partition);
        let replicas = self
            .partitions
            .get(partition.0 as usize)
            .map(|p| p.replicas.clone())
            .unwrap_or_default();
        for b in replicas {
            if let Some(replica) = self.replica_mut(b, partition) {
                replica.log = log::PartitionLog::default();
            }
        }
        log
    }

    /// One partition's final committed log as ranges.
    fn range_log(&self, partition: PartitionId) -> crate::checker::RangePartitionLog {
        let mut log = crate::checker::RangePartitionLog::new(partition);
        let source = self.final_source(partition);
        if let Some((replica, hw)) = source {
            for batch in replica
                .log
                .entries()
                .iter()
                .take_while(|e| e.base_offset < hw)
            {
                // Only the batch that straddles the high watermark is cut short.
                let below_hw = usize::try_from(hw - batch.base_offset).unwrap_or(0);
                for (at, run) in batch.records.runs_between(0, below_hw) {
                    log.push_run(batch.base_offset + at as i64, run.first, run.len);
                }
            }
        }
        let hw = source.map_or(0, |(_, hw)| hw);
        log.set_pending(self.pending_above(partition, hw));
        log
    }

    /// The final committed logs: per partition, the leader's records below its high watermark
    /// (an offline partition uses the replica with the highest high watermark), a copy per
    /// record (for tests and the comparison with the per-record checker).
    pub fn final_logs(&self) -> FinalLogs {
        use crate::checker::{FinalPartitionLog, LoggedRecord};
        use crate::protocol::RecordId;
        let partitions = self
            .range_logs()
            .partitions
            .into_iter()
            .map(|log| FinalPartitionLog {
                partition: log.partition,
                records: log
                    .runs
                    .iter()
                    .flat_map(|r| {
                        (0..u64::from(r.len)).map(move |k| LoggedRecord {
                            id: RecordId(r.first.0 + k),
                            offset: r.offset + k as i64,
                        })
                    })
                    .collect(),
                pending: log
                    .pending
                    .iter()
                    .flat_map(|r| (r.first.0..r.first.0 + u64::from(r.len)).map(RecordId))
                    .collect(),
            })
            .collect();
        FinalLogs { partitions }
    }

    /// The ids of the records at or above `hw` on any replica of `partition`, as ranges: what
    /// the committed log does not hold yet but a later election or fetch still could.
    fn pending_above(&self, partition: PartitionId, hw: i64) -> Vec<IdRange> {
        let mut pending = Vec::new();
        for &broker in &self.partitions[partition.0 as usize].replicas {
            let Some(replica) = self.replica(broker, partition) else {
                continue;
            };
            if replica.log.leo() <= hw {
                continue;
            }
            let entries = replica.log.entries();
            for batch in &entries[replica.log.index_from(hw)..] {
                let skip = usize::try_from(hw - batch.base_offset).unwrap_or(0);
                pending.extend(
                    batch
                        .records
                        .runs_between(skip, batch.records.len())
                        .map(|(_, run)| run),
                );
            }
        }
        pending
    }

    /// An error response for one batch.
    pub(crate) fn error_response(
        &self,
        p: PartitionId,
        error: ErrorCode,
        batch_tag: u64,
    ) -> PartitionResponse {
        PartitionResponse {
            partition: p,
            error,
            base_offset: -1,
            log_start_offset: -1,
            // Filled in for NOT_LEADER_OR_FOLLOWER when the response is sent.
            current_leader: None,
            batch_tag,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(replicas: &[BrokerId]) -> Vec<u32> {
        replicas.iter().map(|b| b.0).collect()
    }

    #[test]
    fn assignment_is_kafka_round_robin_with_shifted_followers() {
        let a = assign_replicas(3, 6, 3);
        let got: Vec<Vec<u32>> = a.iter().map(|r| ids(r)).collect();
        assert_eq!(
            got,
            vec![
                vec![0, 1, 2],
                vec![1, 2, 0],
                vec![2, 0, 1],
                vec![0, 2, 1],
                vec![1, 0, 2],
                vec![2, 1, 0]
            ]
        );
        let single = assign_replicas(1, 2, 1);
        assert_eq!(
            single.iter().map(|r| ids(r)).collect::<Vec<_>>(),
            vec![vec![0], vec![0]]
        );
        for r in assign_replicas(5, 20, 3) {
            let mut distinct = ids(&r);
            distinct.sort_unstable();
            distinct.dedup();
            assert_eq!(
                distinct.len(),
                3,
                "replicas of a partition are distinct brokers: {r:?}"
            );
        }
    }
}
