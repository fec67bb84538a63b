//! The simulated network: one link per ordered pair of nodes (latency, bandwidth, loss, cuts,
//! latency spikes, scripted response drops), and over the links the connections, each an
//! ordered byte stream with retransmission as TCP has it.
//!
//! ```text
//!   send(from,to,msg) on connection c, direction d
//!     c closed, broken or blackholed? vanish │ d stalled? queue behind the head (head-of-line)
//!     link cut │ loss ratio? stall: d's head waits for its retransmissions
//!     else serialise: start = max(now, busy_until); busy_until = start + bytes/bandwidth
//!          arrive = max(busy_until + latency + spike, d's last arrival)  (in order per connection)
//!          └─► schedule NetEvent::Deliver { from, to, conn, msg } at arrive
//!   NetEvent::Retransmit (head first sent at t0, k-th retransmission at t0 + RTO·(2^k − 1),
//!     each interval capped at tcp_rto_max_ms): link usable? release the head and the queue
//!     behind it, in order │ else the next one │ after tcp_retries2 of them: give up, the
//!     connection breaks, both ends get NetEvent::Closed
//! ```
//!
//! API overview:
//! - [`NetworkConfig`] (serde, `Default` = 0.5 ms constant LAN latency, 10 Gbit/s, no loss,
//!   Linux's retransmission defaults) with per-link overrides; [`Network::new`] validates it
//!   against the broker count.
//! - Connection setup: [`Network::connect`], then [`NetEvent::Syn`] to [`Network::on_syn`],
//!   [`NetEvent::SynAck`] to [`Network::on_syn_ack`], [`NetEvent::SynRetransmit`] to
//!   [`Network::on_syn_retransmit`]; [`Network::close_by_acceptor`] (a broker closing a client
//!   connection), [`Network::hold_unacknowledged`] (a message reaching a powered-off host).
//! - Client connections: [`Network::send`] / [`Network::send_written`] (the client's current
//!   connection) and [`Network::send_on`] (a broker answering on the connection a request came
//!   on); [`Network::client_connection`] names the open one, [`Network::reconnect`] closes it and
//!   opens the next.
//! - Follower fetch connections: [`Network::send_fetch_request`], [`Network::send_fetch_response`],
//!   [`Network::fetch_connection`], [`Network::close_fetch_connection`].
//! - The world hands [`NetEvent::Retransmit`] to [`Network::on_retransmit`] and
//!   [`NetEvent::Closed`] to the end it names.
//! - Fault hooks: [`Network::cut`], [`Network::heal`], [`Network::heal_all`],
//!   [`Network::drop_next_responses`], [`Network::latency_spike`], [`Network::reset`],
//!   [`Network::blackhole`], [`Network::process_crash`], [`Network::power_off`],
//!   [`Network::restart`]; query [`Network::is_cut`] and [`Network::connection_broken`].
//! - Arrivals at the client: after [`Network::track_client_arrivals`], the world reports each
//!   delivery to the client ([`Network::on_client_delivery`]) and the producer asks
//!   [`Network::earliest_client_arrival`] how long its application thread may run sends ahead.
//!
//! Units: time in integer ns, bandwidth in bytes per second, probabilities as parts per billion.
//!
//! Fidelity: each client-broker connection (the client's reconnect count names it) and each
//! follower fetcher's connection to its leader is a TCP connection: its own identity, its own
//! in-order arrival bound per direction, so a new connection's traffic never waits behind a
//! closed one's, and what a closed connection still held is discarded (a closed socket's data
//! is never read; a response to a request of a closed connection is never sent). A message
//! lost to random loss or sent while its link is cut is not lost: it waits for its
//! retransmissions on Linux's schedule (the RTO starts at `TCP_RTO_MIN`, 200 ms, and doubles
//! per failed retransmission up to `TCP_RTO_MAX`, 120 s, Linux `include/net/tcp.h`; the
//! connection gives up after `tcp_retries2` retransmissions, 15 by default, about 924.6 s,
//! Linux ip-sysctl documentation), and every later message in that direction waits behind it.
//! A connection that gives up breaks and both ends are told; an application timeout (the
//! client's `request.timeout.ms`, a follower's `replica.socket.timeout.ms`) still closes a
//! connection first when it is shorter. While a connection cannot deliver, the client's writes
//! complete until `send.buffer.bytes` (128 KiB) are buffered. Explicit connection faults:
//! `reset` (both ends see the connection close at once), `blackhole` (the connection's
//! segments vanish until an application timeout abandons it, as a middlebox that lost the
//! flow's state), a scripted response drop (the response vanishes and its connection
//! blackholes from there, since TCP alone never loses one message and delivers the next); a
//! process crash resets the broker's connections (the peers learn it one latency later) and
//! refuses new ones until restart, a power-off answers nothing: what reaches the dead host (or
//! is sent to it) waits for its retransmissions, and after the restart the first segment of a
//! connection from before the power-off that reaches the host is answered with a reset (Linux
//! answers a segment for which it has no socket with RST), so the sender sees the close one
//! round trip after that retransmission.
//! Connection setup (client connections): [`Network::connect`] sends the SYN (lost on a cut or
//! to `request_loss`; retransmitted on Linux's SYN schedule, `TCP_TIMEOUT_INIT` 1 s doubling,
//! `tcp_syn_retries` 6, then the connect fails after about 127 s); the broker's host answers
//! with a SYN-ACK when the broker runs (lost on a cut or to `response_loss`, made good by the
//! next SYN), with a reset when its process is down (the connect is refused one round trip
//! after the SYN), and not at all when it is powered off. The client's side of the handshake
//! and the setup timeout are the producer's (`producer::client`).
//! Kafka's side of it: the client learns of a closed connection as `Selector.poll` reports a
//! disconnect and `NetworkClient.processDisconnection` handles it (requests in flight cancelled
//! as disconnected, `metadataUpdater.handleServerDisconnect` requests a metadata update); its
//! own request timeout closes the connection first (`NetworkClient.handleTimedOutRequests`,
//! `InFlightRequests.nodesWithTimedOutRequests`); a follower's `BrokerBlockingSender` closes
//! its connection on a failed or timed-out fetch.
//! Simplified: the RTO is the floor `tcp_rto_min_ms` (the smoothed round trip a LAN adds,
//! about a millisecond, is left out); there is no fast retransmit, SACK or tail-loss probe, so
//! a single random loss stalls its direction for one RTO (≥ 200 ms) where Linux usually
//! recovers within a few round trips when more data follows; there is no congestion window:
//! once a retransmission gets through, everything queued behind it follows at once. A cut
//! delays messages already on the wire as little as before: a message that left before the cut
//! is delivered. Request loss applies to client→broker messages, response loss to
//! broker→client messages; broker↔broker traffic is delayed only by cuts. A follower's fetch
//! connection has no handshake: it is usable as soon as it is opened (its fetch request goes
//! out at once, and a connect to a crashed or powered-off leader fails or times out as that
//! request does), so a follower reconnecting to a leader fetches one round trip early.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use serde::Deserialize;
use sim::{Ctx, Dist, Duration, Instant, RngStreams, Stream};

use crate::cluster::config::{
    ConfigError, DistConfig, LinkName, RATIO_DENOMINATOR, check_probability, ms_to_duration,
    probability_to_ppb, resolve_link,
};
use crate::cluster::{ClusterEvent, FetchRequest, FetchResponse};
use crate::protocol::{BrokerId, Message, Node};

/// What the network schedules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetEvent {
    /// `msg` arrives at `to` on the client connection `conn`.
    Deliver {
        /// Sender.
        from: Node,
        /// Receiver.
        to: Node,
        /// The client connection it travelled on ([`Network::client_connection`]).
        conn: u32,
        /// The message.
        msg: Message,
    },
    /// The retransmission timer of one direction of one connection.
    Retransmit {
        /// Which connection (an index into the network's connection table).
        slot: u32,
        /// Its identity when the timer was set (a closed connection's timer does nothing).
        conn: u32,
        /// 0: from the end that opened the connection, 1: towards it.
        dir: u8,
        /// Which stall the timer belongs to.
        seq: u64,
    },
    /// The client's SYN for connection `conn` reaches `broker`'s host.
    Syn {
        /// The broker connected to.
        broker: BrokerId,
        /// The connection's identity.
        conn: u32,
    },
    /// `broker`'s SYN-ACK for connection `conn` reaches the client: the connection is
    /// established on the client's side.
    SynAck {
        /// The broker connected to.
        broker: BrokerId,
        /// The connection's identity.
        conn: u32,
    },
    /// The client's SYN retransmission timer of connection `conn` to `broker`.
    SynRetransmit {
        /// The broker connected to.
        broker: BrokerId,
        /// The connection's identity.
        conn: u32,
        /// Which retransmission this is (1 = the first).
        attempt: u32,
    },
    /// The end `side` learns that connection `conn` from `initiator` to `acceptor` closed
    /// (reset by the peer, refused, or given up by TCP).
    Closed {
        /// The end that opened the connection (the client, or a follower).
        initiator: Node,
        /// The other end (a broker, or the leader a follower fetches from).
        acceptor: Node,
        /// The connection's identity.
        conn: u32,
        /// Which end learns it now.
        side: Node,
    },
}

fn default_latency() -> DistConfig {
    DistConfig::constant_ms(0.5)
}
fn default_bandwidth() -> u64 {
    1_250_000_000
}
fn default_rto_min_ms() -> f64 {
    200.0
}
fn default_rto_max_ms() -> f64 {
    120_000.0
}
fn default_retries2() -> u32 {
    15
}

/// The most retransmissions `tcp_retries2` may ask for (more would only outlast every run).
pub const TCP_RETRIES2_MAX: u32 = 100;

/// The network of one run.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    /// One-way latency of every link unless overridden.
    #[serde(default = "default_latency")]
    pub latency: DistConfig,
    /// Bandwidth of every link direction, bytes per second (default 10 Gbit/s); 0 = unlimited.
    #[serde(default = "default_bandwidth")]
    pub bandwidth_bytes_per_s: u64,
    /// Probability that a client→broker request (each transmission of it) is lost.
    #[serde(default)]
    pub request_loss: f64,
    /// Probability that a broker→client response (each transmission of it) is lost.
    #[serde(default)]
    pub response_loss: f64,
    /// Per-link overrides (both directions).
    #[serde(default)]
    pub links: Vec<LinkOverride>,
    /// The first retransmission timeout, ms (Linux `TCP_RTO_MIN`, 200 ms).
    #[serde(default = "default_rto_min_ms")]
    pub tcp_rto_min_ms: f64,
    /// The longest retransmission timeout, ms (Linux `TCP_RTO_MAX`, 120 s).
    #[serde(default = "default_rto_max_ms")]
    pub tcp_rto_max_ms: f64,
    /// Retransmissions of one segment before the connection gives up (Linux
    /// `net.ipv4.tcp_retries2`, 15: about 924.6 s with a 200 ms floor).
    #[serde(default = "default_retries2")]
    pub tcp_retries2: u32,
}

/// Settings for one link, both directions.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkOverride {
    /// The two nodes, e.g. `["client", "broker1"]`.
    pub link: LinkName,
    /// Latency on this link.
    #[serde(default)]
    pub latency: Option<DistConfig>,
    /// Bandwidth on this link, bytes per second; 0 = unlimited.
    #[serde(default)]
    pub bandwidth_bytes_per_s: Option<u64>,
    /// Request loss on this link (client→broker direction).
    #[serde(default)]
    pub request_loss: Option<f64>,
    /// Response loss on this link (broker→client direction).
    #[serde(default)]
    pub response_loss: Option<f64>,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            latency: default_latency(),
            bandwidth_bytes_per_s: default_bandwidth(),
            request_loss: 0.0,
            response_loss: 0.0,
            links: Vec::new(),
            tcp_rto_min_ms: default_rto_min_ms(),
            tcp_rto_max_ms: default_rto_max_ms(),
            tcp_retries2: default_retries2(),
        }
    }
}

impl NetworkConfig {
    /// Checks every key against a cluster of `broker_count` brokers.
    pub fn validate(&self, broker_count: u32) -> Result<(), ConfigError> {
        self.latency.to_dist("network.latency")?;
        check_bandwidth("network.bandwidth_bytes_per_s", self.bandwidth_bytes_per_s)?;
        check_probability("network.request_loss", self.request_loss)?;
        check_probability("network.response_loss", self.response_loss)?;
        self.retransmission()?;
        for (i, o) in self.links.iter().enumerate() {
            let key = format!("network.links[{i}]");
            resolve_link(&format!("{key}.link"), &o.link, broker_count)?;
            if let Some(l) = &o.latency {
                l.to_dist(&format!("{key}.latency"))?;
            }
            if let Some(bandwidth) = o.bandwidth_bytes_per_s {
                check_bandwidth(&format!("{key}.bandwidth_bytes_per_s"), bandwidth)?;
            }
            if let Some(p) = o.request_loss {
                check_probability(&format!("{key}.request_loss"), p)?;
            }
            if let Some(p) = o.response_loss {
                check_probability(&format!("{key}.response_loss"), p)?;
            }
        }
        Ok(())
    }

    /// The retransmission schedule of `tcp_rto_min_ms`, `tcp_rto_max_ms` and `tcp_retries2`.
    pub fn retransmission(&self) -> Result<Retransmission, ConfigError> {
        let rto_min = ms_to_duration("network.tcp_rto_min_ms", self.tcp_rto_min_ms)?;
        if rto_min < Duration::from_millis(1) {
            return Err(ConfigError::invalid(
                "network.tcp_rto_min_ms",
                format!(
                    "{}: allowed at least 1 ms (Linux's floor is 200 ms)",
                    crate::cluster::config::show_number(self.tcp_rto_min_ms)
                ),
            ));
        }
        let rto_max = ms_to_duration("network.tcp_rto_max_ms", self.tcp_rto_max_ms)?;
        if rto_max < rto_min {
            return Err(ConfigError::invalid(
                "network.tcp_rto_max_ms",
                format!(
                    "{}: allowed at least network.tcp_rto_min_ms ({} ms): the cap cannot be below the floor",
                    crate::cluster::config::show_number(self.tcp_rto_max_ms),
                    crate::cluster::config::show_number(self.tcp_rto_min_ms)
                ),
            ));
        }
        if !(1..=TCP_RETRIES2_MAX).contains(&self.tcp_retries2) {
            return Err(ConfigError::invalid(
                "network.tcp_retries2",
                format!(
                    "{}: allowed 1 ..= {TCP_RETRIES2_MAX} retransmissions before the connection gives up (Linux default 15)",
                    self.tcp_retries2
                ),
            ));
        }
        Ok(Retransmission {
            rto_min,
            rto_max,
            retries: self.tcp_retries2,
        })
    }
}

/// Linux's retransmission schedule for one segment: the k-th retransmission leaves
/// `offset(k)` after the first transmission, each interval the previous one doubled (from
/// `rto_min`, capped at `rto_max`); after `retries` of them the connection gives up when the
/// next interval has passed too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retransmission {
    /// The first interval.
    pub rto_min: Duration,
    /// The longest interval.
    pub rto_max: Duration,
    /// Retransmissions before giving up.
    pub retries: u32,
}

impl Retransmission {
    /// The `j`-th interval (0-based): `rto_min · 2^j`, at most `rto_max`.
    fn interval(&self, j: u32) -> Duration {
        let ns = 1u64
            .checked_shl(j)
            .and_then(|f| self.rto_min.as_nanos().checked_mul(f))
            .unwrap_or(u64::MAX);
        Duration::from_nanos(ns.min(self.rto_max.as_nanos()))
    }

    /// Time from the first transmission to the `k`-th retransmission (`k = retries + 1`: to
    /// giving up).
    pub fn offset(&self, k: u32) -> Duration {
        (0..k).fold(Duration::ZERO, |sum, j| {
            sum.saturating_add(self.interval(j))
        })
    }

    /// Time from the first transmission until the connection gives up.
    pub fn give_up_after(&self) -> Duration {
        self.offset(self.retries + 1)
    }
}

/// The lowest limited bandwidth, bytes per second: below it one large request would hold a
/// link for longer than any run.
pub const BANDWIDTH_BYTES_PER_S_MIN: u64 = 1_000;

/// A bandwidth is 0 (unlimited) or at least [`BANDWIDTH_BYTES_PER_S_MIN`].
fn check_bandwidth(key: &str, bytes_per_s: u64) -> Result<(), ConfigError> {
    if bytes_per_s != 0 && bytes_per_s < BANDWIDTH_BYTES_PER_S_MIN {
        return Err(ConfigError::invalid(
            key,
            format!(
                "{bytes_per_s}: allowed 0 (unlimited) or at least {BANDWIDTH_BYTES_PER_S_MIN} bytes per second"
            ),
        ));
    }
    Ok(())
}

/// The smallest latency `dist` can draw (spikes and bandwidth only add to it).
fn latency_lower_bound(dist: &Dist) -> Duration {
    match *dist {
        Dist::Constant(d) => d,
        Dist::Uniform { lo, .. } => lo,
        // Unbounded below (or rounded towards zero): no guarantee.
        Dist::Exponential { .. } | Dist::Normal { .. } | Dist::LogNormal { .. } => Duration::ZERO,
    }
}

/// A temporary extra delay on a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Spike {
    from: Instant,
    until: Instant,
    extra: Duration,
}

/// The producer's `send.buffer.bytes` default (128 KiB): what a connection whose peer cannot be
/// reached still accepts from the client.
const SEND_BUFFER_BYTES: u64 = 128 * 1024;

/// Linux's `TCP_TIMEOUT_INIT`: the first SYN retransmission leaves 1 s after the SYN.
const SYN_RTO_INITIAL: Duration = Duration::from_millis(1_000);

/// Linux's `net.ipv4.tcp_syn_retries` default: SYN retransmissions before a connect fails.
const TCP_SYN_RETRIES: u32 = 6;

/// The size of a SYN or SYN-ACK segment on the wire (headers with options).
const HANDSHAKE_SEGMENT_BYTES: u64 = 60;

/// Which responses a scripted `drop_responses` drops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseApi {
    /// Produce responses (the default).
    Produce,
    /// Metadata responses.
    Metadata,
    /// InitProducerId responses.
    InitProducerId,
    /// Whatever message to the client comes next.
    Any,
}

impl ResponseApi {
    const COUNT: usize = 4;

    /// The name in experiment files.
    pub fn name(self) -> &'static str {
        match self {
            ResponseApi::Produce => "produce",
            ResponseApi::Metadata => "metadata",
            ResponseApi::InitProducerId => "init_producer_id",
            ResponseApi::Any => "any",
        }
    }

    /// The API of an experiment file's name.
    pub fn from_name(name: &str) -> Option<ResponseApi> {
        [
            ResponseApi::Produce,
            ResponseApi::Metadata,
            ResponseApi::InitProducerId,
            ResponseApi::Any,
        ]
        .into_iter()
        .find(|api| api.name() == name)
    }

    /// The API of a response message (requests have none).
    fn of(msg: &Message) -> Option<ResponseApi> {
        match msg {
            Message::ProduceResponse(_) => Some(ResponseApi::Produce),
            Message::MetadataResponse(_) => Some(ResponseApi::Metadata),
            Message::InitProducerIdResponse { .. } => Some(ResponseApi::InitProducerId),
            _ => None,
        }
    }
}

/// One direction of one link.
#[derive(Clone, Debug)]
struct Link {
    latency: Dist,
    bandwidth_bytes_per_s: u64,
    loss_ppb: u64,
    cut: bool,
    /// Scripted drops still to come, by [`ResponseApi`] index.
    drop_next: [u64; ResponseApi::COUNT],
    spikes: Vec<Spike>,
    busy_until: Instant,
    stream: Stream,
}

/// What a connection carries, queued behind a segment being retransmitted.
#[derive(Debug)]
enum Payload {
    Message(Message),
    FetchRequest(Box<FetchRequest>),
    FetchResponse(Box<FetchResponse>),
}

/// One message waiting in a stalled direction.
#[derive(Debug)]
struct Segment {
    bytes: u64,
    payload: Payload,
}

/// A direction whose oldest unacknowledged segment is being retransmitted.
#[derive(Debug)]
struct Stall {
    /// When the head segment was (last) sent before its retransmissions began.
    head_sent: Instant,
    /// Retransmissions of the head that failed so far.
    attempts: u32,
    /// Identifies the pending retransmission timer.
    seq: u64,
    /// The head first, then everything sent behind it.
    queue: VecDeque<Segment>,
    /// How many segments at the front reached a powered-off host before it was known dead
    /// (they were sent before everything queued after them).
    held_count: usize,
}

/// One direction of one connection.
#[derive(Debug, Default)]
struct Flow {
    /// The in-order bound: nothing arrives before the previous message of this direction.
    last_arrival: Instant,
    stall: Option<Box<Stall>>,
    /// Bytes written while this direction could not deliver (for the client's send buffer).
    unsent_bytes: u64,
}

/// What a connection can still do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum ConnState {
    /// Delivering (or retransmitting).
    #[default]
    Open,
    /// Its segments vanish silently (a `blackhole` fault or a scripted drop).
    Blackhole,
    /// Broken (reset, refused, given up): nothing more crosses until an end opens a new one.
    Broken,
}

/// One connection between an initiator (the client, or a follower) and an acceptor.
#[derive(Debug, Default)]
struct Conn {
    /// Its identity: counts the connections opened so far between these two ends.
    id: u32,
    state: ConnState,
    /// 0: initiator → acceptor, 1: acceptor → initiator.
    flows: [Flow; 2],
    /// Where the three-way handshake is (client connections; a follower's are established
    /// at once).
    handshake: Handshake,
    /// The acceptor's host lost power while this connection was open: it holds no state for
    /// it any more, and answers the next segment that reaches it after its restart with a
    /// reset.
    peer_lost: bool,
}

/// The TCP three-way handshake of a connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Handshake {
    /// Established (or needing no handshake).
    #[default]
    Established,
    /// SYN sent at `first_sent`, `retransmissions` SYN retransmissions so far, no SYN-ACK yet.
    SynSent {
        first_sent: Instant,
        retransmissions: u32,
    },
}

impl Conn {
    /// Closes this connection and opens the next: returns the produce requests discarded.
    fn renew(&mut self) -> u64 {
        let discarded = self.discard();
        self.id = self.id.wrapping_add(1);
        self.state = ConnState::Open;
        self.handshake = Handshake::Established;
        self.peer_lost = false;
        discarded
    }

    /// Forgets what both directions still held; returns the produce requests among it.
    fn discard(&mut self) -> u64 {
        let mut produce = 0;
        for flow in &mut self.flows {
            if let Some(stall) = flow.stall.take() {
                produce += stall
                    .queue
                    .iter()
                    .filter(|s| matches!(s.payload, Payload::Message(Message::ProduceRequest(_))))
                    .count() as u64;
            }
            flow.last_arrival = Instant::ZERO;
            flow.unsent_bytes = 0;
        }
        produce
    }
}

/// Why a message was dropped (the `reason` field of the `net/drop` trace event).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// A scripted "drop the next N responses" (its connection blackholes from there).
    Scripted,
    /// The connection is blackholed.
    Blackhole,
    /// The receiving broker is down.
    BrokerDown,
    /// The connection is closed or broken: a closed socket's data is never read, nor written.
    ConnectionClosed,
}

impl DropReason {
    /// The name used in traces.
    pub fn name(self) -> &'static str {
        match self {
            DropReason::Scripted => "scripted",
            DropReason::Blackhole => "blackhole",
            DropReason::BrokerDown => "broker_down",
            DropReason::ConnectionClosed => "connection_closed",
        }
    }
}

/// Where a message goes.
enum Route {
    /// Arrives then.
    At(Instant),
    /// Waits behind a retransmission.
    Queued,
    /// Vanishes.
    Vanished(DropReason),
}

/// The network of one run: `(brokers + 1)^2` directed links and as many connection slots.
#[derive(Debug)]
pub struct Network {
    node_count: usize,
    links: Vec<Link>,
    /// Per (initiator, acceptor) index: the open connection between them.
    conns: Vec<Conn>,
    retransmission: Retransmission,
    /// Per node index: the broker's process is down with its host up, so connects are refused.
    refusing: Vec<bool>,
    /// Per node index: the broker's host is powered off, so nothing it receives is answered.
    powered_off: Vec<bool>,
    /// Counts stalls, to tell a stale retransmission timer from the current one.
    next_stall_seq: u64,
    dropped_count: u64,
    /// Produce requests sent by the client and not yet delivered to their broker.
    produce_requests_on_wire: u64,
    /// Scheduled arrivals at the client, per sending node index, when the world asked for
    /// them (see [`ClientArrivals`]).
    client_arrivals: ClientArrivals,
}

/// Whether the network keeps the arrival times of messages in flight to the client, which
/// lets the producer know the earliest instant a response can reach it. The world turns it on
/// and reports every delivery with [`Network::on_client_delivery`]; other users (cluster tests)
/// leave it off. Per sender, earliest first (connections deliver in order only each on its own).
#[derive(Clone, Debug)]
enum ClientArrivals {
    Untracked,
    Tracked(Vec<BinaryHeap<Reverse<Instant>>>),
}

/// Index of a node: the client is 0, broker `b` is `b + 1`.
fn node_index(node: Node) -> usize {
    match node {
        Node::Client => 0,
        Node::Broker(BrokerId(b)) => b as usize + 1,
    }
}

/// A short label for traces: `client` or `broker/<id>`.
pub fn node_label(node: Node) -> String {
    match node {
        Node::Client => "client".to_owned(),
        Node::Broker(BrokerId(b)) => format!("broker/{b}"),
    }
}

/// The kind of a message, for traces.
pub fn message_kind(msg: &Message) -> &'static str {
    match msg {
        Message::ProduceRequest(_) => "produce_request",
        Message::ProduceResponse(_) => "produce_response",
        Message::MetadataRequest { .. } => "metadata_request",
        Message::MetadataResponse(_) => "metadata_response",
        Message::InitProducerIdRequest { .. } => "init_producer_id_request",
        Message::ApiVersionsRequest { .. } => "api_versions_request",
        Message::ApiVersionsResponse { .. } => "api_versions_response",
        Message::InitProducerIdResponse { .. } => "init_producer_id_response",
        Message::TxnRequest { .. } => "txn_request",
        Message::TxnResponse { .. } => "txn_response",
    }
}

/// The correlation id of a message, or -1 when it has none.
pub fn message_correlation_id(msg: &Message) -> i64 {
    match msg {
        Message::ProduceRequest(r) => r.correlation_id as i64,
        Message::ProduceResponse(r) => r.correlation_id as i64,
        Message::MetadataRequest { correlation_id }
        | Message::InitProducerIdRequest { correlation_id }
        | Message::ApiVersionsRequest { correlation_id }
        | Message::ApiVersionsResponse { correlation_id }
        | Message::InitProducerIdResponse { correlation_id, .. }
        | Message::TxnRequest { correlation_id, .. }
        | Message::TxnResponse { correlation_id, .. } => *correlation_id as i64,
        Message::MetadataResponse(_) => -1,
    }
}

impl Network {
    /// Builds the links of a cluster of `broker_count` brokers; per-link streams come from
    /// `streams` under `net/link/<from>-><to>`.
    pub fn new(
        config: &NetworkConfig,
        broker_count: u32,
        streams: &RngStreams,
    ) -> Result<Network, ConfigError> {
        config.validate(broker_count)?;
        let retransmission = config.retransmission()?;
        let node_count = broker_count as usize + 1;
        let default_latency = config.latency.to_dist("network.latency")?;
        let mut links = Vec::with_capacity(node_count * node_count);
        for from in 0..node_count {
            for to in 0..node_count {
                let loss = match (from, to) {
                    (0, t) if t > 0 => config.request_loss,
                    (f, 0) if f > 0 => config.response_loss,
                    _ => 0.0,
                };
                links.push(Link {
                    latency: default_latency,
                    bandwidth_bytes_per_s: config.bandwidth_bytes_per_s,
                    loss_ppb: probability_to_ppb(loss),
                    cut: false,
                    drop_next: [0; ResponseApi::COUNT],
                    spikes: Vec::new(),
                    busy_until: Instant::ZERO,
                    stream: streams.stream(&format!("net/link/{from}->{to}")),
                });
            }
        }
        let mut net = Network {
            node_count,
            links,
            conns: (0..node_count * node_count)
                .map(|_| Conn::default())
                .collect(),
            retransmission,
            refusing: vec![false; node_count],
            powered_off: vec![false; node_count],
            next_stall_seq: 0,
            dropped_count: 0,
            produce_requests_on_wire: 0,
            client_arrivals: ClientArrivals::Untracked,
        };
        for (i, o) in config.links.iter().enumerate() {
            net.apply_override(i, o, broker_count)?;
        }
        Ok(net)
    }

    fn apply_override(
        &mut self,
        i: usize,
        o: &LinkOverride,
        broker_count: u32,
    ) -> Result<(), ConfigError> {
        let key = format!("network.links[{i}]");
        let (a, b) = resolve_link(&format!("{key}.link"), &o.link, broker_count)?;
        let latency = o
            .latency
            .map(|l| l.to_dist(&format!("{key}.latency")))
            .transpose()?;
        for (from, to) in [(a, b), (b, a)] {
            let link = self.link_mut(from, to);
            if let Some(l) = latency {
                link.latency = l;
            }
            if let Some(bw) = o.bandwidth_bytes_per_s {
                link.bandwidth_bytes_per_s = bw;
            }
            let loss = match (from, to) {
                (Node::Client, Node::Broker(_)) => o.request_loss,
                (Node::Broker(_), Node::Client) => o.response_loss,
                _ => None,
            };
            if let Some(p) = loss {
                link.loss_ppb = probability_to_ppb(p);
            }
        }
        Ok(())
    }

    fn node(&self, i: usize) -> Node {
        debug_assert!(i < self.node_count);
        if i == 0 {
            Node::Client
        } else {
            Node::Broker(BrokerId((i - 1) as u32))
        }
    }

    fn link_index(&self, from: Node, to: Node) -> usize {
        let (f, t) = (node_index(from), node_index(to));
        assert!(
            f < self.node_count && t < self.node_count,
            "node {from:?} or {to:?} is not on this network"
        );
        f * self.node_count + t
    }

    fn link_mut(&mut self, from: Node, to: Node) -> &mut Link {
        let i = self.link_index(from, to);
        &mut self.links[i]
    }

    /// The connection slot of connections opened by `initiator` to `acceptor`.
    fn slot(&self, initiator: Node, acceptor: Node) -> usize {
        self.link_index(initiator, acceptor)
    }

    /// The two ends of slot `slot`: (initiator, acceptor).
    fn ends(&self, slot: usize) -> (Node, Node) {
        (
            self.node(slot / self.node_count),
            self.node(slot % self.node_count),
        )
    }

    /// `(from, to)` of direction `dir` of slot `slot`.
    fn flow_nodes(&self, slot: usize, dir: usize) -> (Node, Node) {
        let (i, a) = self.ends(slot);
        if dir == 0 { (i, a) } else { (a, i) }
    }

    /// Sends `msg` on the client's current connection (a broker answering uses
    /// [`Network::send_on`]).
    pub fn send<E: From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        from: Node,
        to: Node,
        msg: Message,
    ) {
        self.send_written(ctx, from, to, msg);
    }

    /// [`Network::send`], telling whether the client's write of the message completed: true when
    /// it is on its way, and, while the connection cannot deliver (a cut link, a retransmission
    /// ahead of it, a blackhole), until the writes since then fill the socket's send buffer
    /// (`send.buffer.bytes`, 128 KiB by default in `ProducerConfig`); false after that, as a
    /// write into a full buffer does not complete.
    pub fn send_written<E: From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        from: Node,
        to: Node,
        msg: Message,
    ) -> bool {
        let slot = match (from, to) {
            (_, Node::Client) => self.slot(Node::Client, from),
            _ if from == Node::Client => self.slot(Node::Client, to),
            _ => self.slot(from, to),
        };
        let conn = self.conns[slot].id;
        self.send_on(ctx, from, to, conn, msg)
    }

    /// Sends `msg` between the client and a broker on client connection `conn`: when that
    /// connection is closed already (the client reconnected since the request came), the
    /// message vanishes. Returns whether the write completed (see [`Network::send_written`]).
    #[allow(
        clippy::too_many_arguments,
        reason = "a connection, a direction and what travels on it"
    )]
    pub fn send_on<E: From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        from: Node,
        to: Node,
        conn: u32,
        msg: Message,
    ) -> bool {
        // A message between two brokers (not sent by the world) travels on a connection the
        // sender opened.
        let (slot, dir) = match (from, to) {
            (_, Node::Client) => (self.slot(Node::Client, from), 1),
            _ if from == Node::Client => (self.slot(Node::Client, to), 0),
            _ => (self.slot(from, to), 0),
        };
        if self.conns[slot].id != conn {
            self.record_drop(ctx, (from, to), &msg, DropReason::ConnectionClosed);
            return true;
        }
        let scripted = to == Node::Client && self.conns[slot].state == ConnState::Open && {
            let i = self.link_index(from, to);
            self.links[i].take_scripted_drop(&msg)
        };
        let bytes = msg.size_bytes();
        let route = if scripted {
            // The response vanishes and its connection with it, silently.
            self.conns[slot].state = ConnState::Blackhole;
            Route::Vanished(DropReason::Scripted)
        } else {
            self.route(ctx, slot, dir, bytes)
        };
        let produce = matches!(msg, Message::ProduceRequest(_));
        let written = match route {
            Route::At(at) => {
                if produce {
                    self.produce_requests_on_wire += 1;
                }
                self.schedule_message(ctx, at, (from, to), conn, msg);
                return true;
            }
            Route::Queued => {
                if produce {
                    self.produce_requests_on_wire += 1;
                }
                self.queue(slot, dir, bytes, Payload::Message(msg));
                true
            }
            Route::Vanished(reason) => {
                self.record_drop(ctx, (from, to), &msg, reason);
                true
            }
        };
        if from != Node::Client {
            return written;
        }
        let flow = &mut self.conns[slot].flows[dir];
        flow.unsent_bytes = flow.unsent_bytes.saturating_add(bytes);
        flow.unsent_bytes <= SEND_BUFFER_BYTES
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "a connection, a direction and what travels on it"
    )]
    fn schedule_message<E: From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        at: Instant,
        (from, to): (Node, Node),
        conn: u32,
        msg: Message,
    ) {
        if let (Node::Client, ClientArrivals::Tracked(pending)) = (to, &mut self.client_arrivals) {
            pending[node_index(from)].push(Reverse(at));
        }
        ctx.schedule_at(
            at,
            E::from(NetEvent::Deliver {
                from,
                to,
                conn,
                msg,
            }),
        );
    }

    /// Decides what happens to `bytes` sent now in direction `dir` of connection `slot`; a
    /// segment that meets a cut or a loss starts a stall with its retransmission timer.
    fn route<E: From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        slot: usize,
        dir: usize,
        bytes: u64,
    ) -> Route {
        let now = ctx.now();
        let (from, to) = self.flow_nodes(slot, dir);
        let li = self.link_index(from, to);
        let peer_down = self.powered_off[node_index(to)];
        let conn = &mut self.conns[slot];
        match conn.state {
            ConnState::Open => {}
            ConnState::Blackhole => {
                if conn.flows[dir].stall.is_none() {
                    // TCP keeps retransmitting into the void, and gives up in the end.
                    self.start_stall(ctx, slot, dir, now, VecDeque::new());
                }
                return Route::Vanished(DropReason::Blackhole);
            }
            ConnState::Broken => return Route::Vanished(DropReason::ConnectionClosed),
        }
        if conn.peer_lost && dir == 1 {
            // A restarted host sends nothing on a connection it has forgotten.
            return Route::Vanished(DropReason::ConnectionClosed);
        }
        if conn.flows[dir].stall.is_some() {
            return Route::Queued;
        }
        let link = &mut self.links[li];
        if link.cut || peer_down || link.lose() {
            // A powered-off host acknowledges nothing: the segment waits for its
            // retransmissions as behind a cut.
            self.start_stall(ctx, slot, dir, now, VecDeque::new());
            return Route::Queued;
        }
        let arrive = link.arrival(now, bytes, &mut conn.flows[dir].last_arrival);
        if conn.peer_lost {
            // The host is up again and holds no state for this connection: it answers the
            // segment with a reset.
            self.reset_stale(ctx, slot, arrive);
            return Route::Vanished(DropReason::ConnectionClosed);
        }
        Route::At(arrive)
    }

    /// A segment of a connection whose acceptor lost power reached the restarted host at
    /// `arrive`: the host answers with a reset, which the initiator learns one latency later.
    fn reset_stale<E: From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        slot: usize,
        arrive: Instant,
    ) {
        let (initiator, acceptor) = self.ends(slot);
        let conn_id = self.conns[slot].id;
        ctx.trace("net", "reset_stale", |e| {
            e.with("from", node_label(initiator))
                .with("to", node_label(acceptor))
                .with("conn", conn_id)
        });
        let told = self.reset_arrival(arrive, acceptor, initiator);
        self.break_connection(ctx, slot, (Some(told), None));
    }

    /// Puts a segment at the back of a stalled direction.
    fn queue(&mut self, slot: usize, dir: usize, bytes: u64, payload: Payload) {
        if let Some(stall) = self.conns[slot].flows[dir].stall.as_mut() {
            stall.queue.push_back(Segment { bytes, payload });
        }
    }

    /// Direction `dir` of `slot` stalls: its head was sent at `head_sent` and is retransmitted
    /// from `head_sent + tcp_rto_min_ms`.
    #[allow(
        clippy::too_many_arguments,
        reason = "a connection, a direction and what travels on it"
    )]
    fn start_stall<E: From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        slot: usize,
        dir: usize,
        head_sent: Instant,
        queue: VecDeque<Segment>,
    ) {
        self.next_stall_seq += 1;
        let seq = self.next_stall_seq;
        let conn = &mut self.conns[slot];
        conn.flows[dir].stall = Some(Box::new(Stall {
            head_sent,
            attempts: 0,
            seq,
            queue,
            held_count: 0,
        }));
        let at = head_sent.saturating_add(self.retransmission.offset(1));
        ctx.schedule_at(
            at,
            E::from(NetEvent::Retransmit {
                slot: slot as u32,
                conn: conn.id,
                dir: dir as u8,
                seq,
            }),
        );
    }

    /// A retransmission timer fired: the head of the stalled direction is sent again. When it
    /// gets through, it and everything queued behind it are delivered in order; when it does
    /// not, the next retransmission is timed, or, after `tcp_retries2` of them, the
    /// connection gives up and both ends are told.
    pub fn on_retransmit<E: From<NetEvent> + From<ClusterEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        (slot, conn_id, dir, seq): (u32, u32, u8, u64),
    ) {
        let (slot, dir) = (slot as usize, usize::from(dir));
        let now = ctx.now();
        let (from, to) = self.flow_nodes(slot, dir);
        let li = self.link_index(from, to);
        let retransmission = self.retransmission;
        let conn = &mut self.conns[slot];
        if conn.id != conn_id {
            return;
        }
        let state = conn.state;
        let peer_lost = conn.peer_lost;
        let peer_down = self.powered_off[node_index(to)];
        let Some(stall) = conn.flows[dir].stall.as_mut() else {
            return;
        };
        if stall.seq != seq {
            return;
        }
        if stall.attempts >= retransmission.retries {
            ctx.trace("net", "give_up", |e| {
                e.with("from", node_label(from))
                    .with("to", node_label(to))
                    .with("conn", conn_id)
            });
            self.break_connection(ctx, slot, (Some(now), Some(now)));
            return;
        }
        let link = &mut self.links[li];
        let blocked = state != ConnState::Open || link.cut || peer_down || link.lose();
        let attempt = stall.attempts + 1;
        ctx.trace("net", "retransmit", |e| {
            e.with("from", node_label(from))
                .with("to", node_label(to))
                .with("conn", conn_id)
                .with("attempt", attempt)
                .with("delivered", !blocked)
        });
        if blocked {
            stall.attempts = attempt;
            let at = stall
                .head_sent
                .saturating_add(retransmission.offset(attempt + 1));
            ctx.schedule_at(
                at,
                E::from(NetEvent::Retransmit {
                    slot: slot as u32,
                    conn: conn_id,
                    dir: dir as u8,
                    seq,
                }),
            );
            return;
        }
        if peer_lost {
            // The retransmission reaches the restarted host, which knows no such connection.
            let arrive = link.arrival(now, 0, &mut conn.flows[dir].last_arrival);
            self.reset_stale(ctx, slot, arrive);
            return;
        }
        let Some(stall) = conn.flows[dir].stall.take() else {
            return;
        };
        conn.flows[dir].unsent_bytes = 0;
        let mut queue = stall.queue;
        let mut first = true;
        while let Some(segment) = queue.pop_front() {
            let link = &mut self.links[li];
            if !first && link.lose() {
                // Lost again in the burst: it heads a new stall.
                queue.push_front(segment);
                self.start_stall(ctx, slot, dir, now, queue);
                return;
            }
            first = false;
            let flow = &mut self.conns[slot].flows[dir];
            let at = link.arrival(now, segment.bytes, &mut flow.last_arrival);
            self.schedule_payload(ctx, at, (from, to), conn_id, segment.payload);
        }
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "a connection, a direction and what travels on it"
    )]
    fn schedule_payload<E: From<NetEvent> + From<ClusterEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        at: Instant,
        (from, to): (Node, Node),
        conn: u32,
        payload: Payload,
    ) {
        match payload {
            Payload::Message(msg) => self.schedule_message(ctx, at, (from, to), conn, msg),
            Payload::FetchRequest(req) => {
                ctx.schedule_at(at, E::from(ClusterEvent::FetchArrive(req)));
            }
            Payload::FetchResponse(resp) => {
                ctx.schedule_at(at, E::from(ClusterEvent::FetchResponseArrive(resp)));
            }
        }
    }

    /// Connection `slot` breaks: nothing more crosses it, what it held is discarded, and its
    /// initiator and acceptor learn it at the given instants.
    fn break_connection<E: From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        slot: usize,
        (initiator_at, acceptor_at): (Option<Instant>, Option<Instant>),
    ) {
        let (initiator, acceptor) = self.ends(slot);
        let conn = &mut self.conns[slot];
        if conn.state == ConnState::Broken {
            return;
        }
        conn.state = ConnState::Broken;
        let discarded = conn.discard();
        let id = conn.id;
        self.produce_requests_on_wire = self.produce_requests_on_wire.saturating_sub(discarded);
        for (side, at) in [(initiator, initiator_at), (acceptor, acceptor_at)] {
            let Some(at) = at else { continue };
            ctx.schedule_at(
                at,
                E::from(NetEvent::Closed {
                    initiator,
                    acceptor,
                    conn: id,
                    side,
                }),
            );
        }
    }

    /// When a reset sent now from `from` reaches `to` (one latency, no bandwidth).
    fn reset_arrival(&mut self, now: Instant, from: Node, to: Node) -> Instant {
        let link = self.link_mut(from, to);
        now.saturating_add(link.latency.sample(&mut link.stream))
    }

    /// The client closed its connection to `broker` and opened a new one: what the old one
    /// still held is discarded, and the new one starts with its own order.
    pub fn reconnect(&mut self, broker: BrokerId) {
        let slot = self.slot(Node::Client, Node::Broker(broker));
        let discarded = self.conns[slot].renew();
        self.produce_requests_on_wire = self.produce_requests_on_wire.saturating_sub(discarded);
    }

    /// The client opens its current connection to `broker`: the SYN leaves now (lost on a cut
    /// link or to `request_loss`, then retransmitted on Linux's SYN schedule). Returns the
    /// connection's identity.
    pub fn connect<E: From<NetEvent>>(&mut self, ctx: &mut Ctx<'_, E>, broker: BrokerId) -> u32 {
        let now = ctx.now();
        let slot = self.slot(Node::Client, Node::Broker(broker));
        let conn = &mut self.conns[slot];
        conn.handshake = Handshake::SynSent {
            first_sent: now,
            retransmissions: 0,
        };
        let id = conn.id;
        self.send_syn(ctx, broker, id);
        self.schedule_syn_retransmit(ctx, (broker, id), now, 1);
        id
    }

    /// One transmission of the SYN of client connection `id` to `broker`.
    fn send_syn<E: From<NetEvent>>(&mut self, ctx: &mut Ctx<'_, E>, broker: BrokerId, id: u32) {
        let now = ctx.now();
        let slot = self.slot(Node::Client, Node::Broker(broker));
        let li = self.link_index(Node::Client, Node::Broker(broker));
        let link = &mut self.links[li];
        if link.cut || link.lose() {
            return;
        }
        let conn = &mut self.conns[slot];
        let at = link.arrival(
            now,
            HANDSHAKE_SEGMENT_BYTES,
            &mut conn.flows[0].last_arrival,
        );
        ctx.schedule_at(at, E::from(NetEvent::Syn { broker, conn: id }));
    }

    /// Times the `attempt`-th SYN retransmission (or, past `TCP_SYN_RETRIES`, giving up).
    fn schedule_syn_retransmit<E: From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        (broker, conn): (BrokerId, u32),
        first_sent: Instant,
        attempt: u32,
    ) {
        let at = first_sent.saturating_add(self.syn_retransmission().offset(attempt));
        ctx.schedule_at(
            at,
            E::from(NetEvent::SynRetransmit {
                broker,
                conn,
                attempt,
            }),
        );
    }

    /// Linux's SYN schedule: from `TCP_TIMEOUT_INIT` (1 s), doubling, `tcp_syn_retries` (6)
    /// retransmissions, then the connect fails (about 127 s).
    fn syn_retransmission(&self) -> Retransmission {
        Retransmission {
            rto_min: SYN_RTO_INITIAL,
            rto_max: self.retransmission.rto_max.max(SYN_RTO_INITIAL),
            retries: TCP_SYN_RETRIES,
        }
    }

    /// A SYN retransmission timer fired: no SYN-ACK came yet, so the SYN is sent again, or,
    /// after `tcp_syn_retries` of them, the connect fails and the client is told.
    pub fn on_syn_retransmit<E: From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        (broker, conn, attempt): (BrokerId, u32, u32),
    ) {
        let slot = self.slot(Node::Client, Node::Broker(broker));
        let c = &mut self.conns[slot];
        let Handshake::SynSent {
            first_sent,
            retransmissions,
        } = c.handshake
        else {
            return;
        };
        if c.id != conn || c.state != ConnState::Open || retransmissions + 1 != attempt {
            return;
        }
        if attempt > TCP_SYN_RETRIES {
            ctx.trace("net", "give_up", |e| {
                e.with("from", node_label(Node::Client))
                    .with("to", node_label(Node::Broker(broker)))
                    .with("conn", conn)
            });
            let now = ctx.now();
            self.break_connection(ctx, slot, (Some(now), None));
            return;
        }
        c.handshake = Handshake::SynSent {
            first_sent,
            retransmissions: attempt,
        };
        ctx.trace("net", "syn_retransmit", |e| {
            e.with("to", node_label(Node::Broker(broker)))
                .with("conn", conn)
                .with("attempt", attempt)
        });
        self.send_syn(ctx, broker, conn);
        self.schedule_syn_retransmit(ctx, (broker, conn), first_sent, attempt + 1);
    }

    /// The SYN of client connection `conn` reached `broker`'s host: a powered-off host
    /// answers nothing, a host whose broker process is down answers with a reset (the connect
    /// is refused), a running broker's host answers with a SYN-ACK.
    pub fn on_syn<E: From<NetEvent>>(&mut self, ctx: &mut Ctx<'_, E>, broker: BrokerId, conn: u32) {
        let b = Node::Broker(broker);
        let slot = self.slot(Node::Client, b);
        let c = &self.conns[slot];
        if c.id != conn || c.state != ConnState::Open || self.powered_off[node_index(b)] {
            return;
        }
        if self.refusing[node_index(b)] {
            let told = self.reset_arrival(ctx.now(), b, Node::Client);
            self.break_connection(ctx, slot, (Some(told), None));
            return;
        }
        let now = ctx.now();
        let li = self.link_index(b, Node::Client);
        let link = &mut self.links[li];
        // A lost SYN-ACK is made good by the client's next SYN retransmission.
        if link.cut || link.lose() {
            return;
        }
        let c = &mut self.conns[slot];
        // A SYN that reaches a restarted host opens a connection it knows.
        c.peer_lost = false;
        let at = link.arrival(now, HANDSHAKE_SEGMENT_BYTES, &mut c.flows[1].last_arrival);
        if let ClientArrivals::Tracked(pending) = &mut self.client_arrivals {
            pending[node_index(b)].push(Reverse(at));
        }
        ctx.schedule_at(at, E::from(NetEvent::SynAck { broker, conn }));
    }

    /// `broker`'s SYN-ACK of client connection `conn` reached the client (the world reports
    /// it as a delivery to the client first): returns whether this established the client's
    /// current connection (a duplicate or one for a closed connection does nothing).
    pub fn on_syn_ack(&mut self, broker: BrokerId, conn: u32) -> bool {
        let slot = self.slot(Node::Client, Node::Broker(broker));
        let c = &mut self.conns[slot];
        if c.id != conn || c.state == ConnState::Broken {
            return false;
        }
        if !matches!(c.handshake, Handshake::SynSent { .. }) {
            return false;
        }
        c.handshake = Handshake::Established;
        true
    }

    /// Which of the client's connections to `broker` is open now: starts at 0 and changes on
    /// every [`Network::reconnect`].
    pub fn client_connection(&self, broker: BrokerId) -> u32 {
        self.conns[self.slot(Node::Client, Node::Broker(broker))].id
    }

    /// Which of `follower`'s fetch connections to `leader` is open now.
    pub fn fetch_connection(&self, follower: BrokerId, leader: BrokerId) -> u32 {
        self.conns[self.slot(Node::Broker(follower), Node::Broker(leader))].id
    }

    /// `follower` closed its fetch connection to `leader` (its socket timeout, a broken
    /// connection) and opens a new one for the next fetch.
    pub fn close_fetch_connection(&mut self, follower: BrokerId, leader: BrokerId) {
        let slot = self.slot(Node::Broker(follower), Node::Broker(leader));
        self.conns[slot].renew();
    }

    /// Sends a follower's fetch request to its leader on the current fetch connection
    /// (stamping the connection on it); `bytes` is its size on the wire.
    pub fn send_fetch_request<E: From<NetEvent> + From<ClusterEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        bytes: u64,
        mut req: Box<FetchRequest>,
    ) -> Result<(), Box<FetchRequest>> {
        let (follower, leader) = (Node::Broker(req.follower), Node::Broker(req.leader));
        let slot = self.slot(follower, leader);
        req.conn = self.conns[slot].id;
        match self.route(ctx, slot, 0, bytes) {
            Route::At(at) => {
                ctx.schedule_at(at, E::from(ClusterEvent::FetchArrive(req)));
                Ok(())
            }
            Route::Queued => {
                self.queue(slot, 0, bytes, Payload::FetchRequest(req));
                Ok(())
            }
            Route::Vanished(_) => Err(req),
        }
    }

    /// Sends a leader's fetch response on the connection its request came on (`resp.conn`);
    /// on a connection closed since, it vanishes (handed back for reuse).
    pub fn send_fetch_response<E: From<NetEvent> + From<ClusterEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        bytes: u64,
        resp: Box<FetchResponse>,
    ) -> Result<(), Box<FetchResponse>> {
        let (follower, leader) = (Node::Broker(resp.follower), Node::Broker(resp.leader));
        let slot = self.slot(follower, leader);
        if self.conns[slot].id != resp.conn {
            return Err(resp);
        }
        match self.route(ctx, slot, 1, bytes) {
            Route::At(at) => {
                ctx.schedule_at(at, E::from(ClusterEvent::FetchResponseArrive(resp)));
                Ok(())
            }
            Route::Queued => {
                self.queue(slot, 1, bytes, Payload::FetchResponse(resp));
                Ok(())
            }
            Route::Vanished(_) => Err(resp),
        }
    }

    /// Starts keeping the arrival times of messages in flight to the client; the caller must
    /// then report every delivery to the client with [`Network::on_client_delivery`].
    pub fn track_client_arrivals(&mut self) {
        self.client_arrivals = ClientArrivals::Tracked(vec![BinaryHeap::new(); self.node_count]);
    }

    /// A message from `from` reached the client (forgets its tracked arrival).
    pub fn on_client_delivery(&mut self, from: Node, now: Instant) {
        if let ClientArrivals::Tracked(pending) = &mut self.client_arrivals {
            let arrival = pending[node_index(from)].pop().map(|Reverse(at)| at);
            assert_eq!(
                arrival,
                Some(now),
                "a delivery to the client that was not tracked, or not the earliest"
            );
        }
    }

    /// The earliest instant at which a message can next reach the client, as far as the network
    /// can tell at `now`: the earliest tracked arrival, and no earlier than `now` plus the
    /// smallest latency any link to the client can draw (for messages not sent yet, or released
    /// by a retransmission). `None` when arrivals are not tracked (anything may arrive at any
    /// time).
    pub fn earliest_client_arrival(&self, now: Instant) -> Option<Instant> {
        let ClientArrivals::Tracked(pending) = &self.client_arrivals else {
            return None;
        };
        let mut earliest = Instant::MAX;
        // Node 0 is the client itself; every other node is a broker with a link to it.
        for (from, queued) in pending.iter().enumerate().skip(1) {
            let link = &self.links[from * self.node_count];
            let fresh = now.saturating_add(latency_lower_bound(&link.latency));
            earliest = earliest.min(fresh);
            if let Some(&Reverse(at)) = queued.peek() {
                earliest = earliest.min(at);
            }
        }
        Some(earliest)
    }

    /// Cuts the link between `a` and `b` in both directions: what is sent on it waits for
    /// retransmissions.
    pub fn cut(&mut self, a: Node, b: Node) {
        self.link_mut(a, b).cut = true;
        self.link_mut(b, a).cut = true;
    }

    /// Heals the link between `a` and `b`: stalled connections get through at their next
    /// retransmission.
    pub fn heal(&mut self, a: Node, b: Node) {
        self.link_mut(a, b).cut = false;
        self.link_mut(b, a).cut = false;
    }

    /// The connection slots whose ends are `a` and `b` (either may have opened them).
    fn slots_between(&self, a: Node, b: Node) -> [usize; 2] {
        [self.slot(a, b), self.slot(b, a)]
    }

    /// Whether slot `slot` can carry a connection at all (the client accepts none, and a
    /// follower's fetch connections are between two brokers).
    fn slot_in_use(&self, slot: usize) -> bool {
        let (initiator, acceptor) = self.ends(slot);
        initiator != acceptor && acceptor != Node::Client
    }

    /// The `reset` fault: the connections between `a` and `b` close at once and both ends
    /// learn it now.
    pub fn reset<E: From<NetEvent>>(&mut self, ctx: &mut Ctx<'_, E>, a: Node, b: Node) {
        let now = ctx.now();
        for slot in self.slots_between(a, b) {
            if self.slot_in_use(slot) {
                self.break_connection(ctx, slot, (Some(now), Some(now)));
            }
        }
    }

    /// The `blackhole` fault: the current connections between `a` and `b` silently lose
    /// everything from now on, until an end abandons them (a new connection works).
    pub fn blackhole(&mut self, a: Node, b: Node) {
        for slot in self.slots_between(a, b) {
            if self.slot_in_use(slot) && self.conns[slot].state == ConnState::Open {
                self.conns[slot].state = ConnState::Blackhole;
            }
        }
    }

    /// `broker`'s process crashed, its host still up: the OS resets its connections (each
    /// peer learns it one latency later) and refuses new ones until [`Network::restart`].
    pub fn process_crash<E: From<NetEvent>>(&mut self, ctx: &mut Ctx<'_, E>, broker: BrokerId) {
        let now = ctx.now();
        let b = Node::Broker(broker);
        self.refusing[node_index(b)] = true;
        for i in 0..self.node_count {
            let peer = self.node(i);
            if peer == b {
                continue;
            }
            // Connections the peer opened to the broker are reset; the peer learns it one
            // latency later, the crashed end learns nothing (its process is gone).
            let accepted = self.slot(peer, b);
            if self.slot_in_use(accepted) && self.conns[accepted].state != ConnState::Broken {
                let told = self.reset_arrival(now, b, peer);
                self.break_connection(ctx, accepted, (Some(told), None));
            }
            // Connections the broker opened die with it; after a restart it opens new ones.
            let opened = self.slot(b, peer);
            if self.slot_in_use(opened) {
                let discarded = self.conns[opened].renew();
                self.produce_requests_on_wire =
                    self.produce_requests_on_wire.saturating_sub(discarded);
            }
        }
    }

    /// `broker`'s host lost power: it answers nothing (what reaches it is dropped), and its own
    /// fetch connections die with it, unknown to their peers.
    pub fn power_off(&mut self, broker: BrokerId) {
        let b = Node::Broker(broker);
        self.powered_off[node_index(b)] = true;
        for i in 0..self.node_count {
            let peer = self.node(i);
            if peer == b {
                continue;
            }
            let slot = self.slot(b, peer);
            if self.slot_in_use(slot) {
                self.conns[slot].renew();
            }
            // Connections the peers opened to it live on at their end only: what they send
            // is retransmitted until the host answers again (with a reset) or TCP gives up.
            let accepted = self.slot(peer, b);
            if self.slot_in_use(accepted) && self.conns[accepted].state != ConnState::Broken {
                self.conns[accepted].peer_lost = true;
            }
        }
    }

    /// `broker` runs again: connects to it are accepted, and a connection that outlived a
    /// power-off is reset by the host at the next segment that reaches it.
    pub fn restart(&mut self, broker: BrokerId) {
        self.refusing[node_index(Node::Broker(broker))] = false;
        self.powered_off[node_index(Node::Broker(broker))] = false;
    }

    /// Whether `broker`'s host is powered off (nothing it receives is answered).
    pub fn is_powered_off(&self, broker: BrokerId) -> bool {
        self.powered_off[node_index(Node::Broker(broker))]
    }

    /// `msg`, sent by `from` on connection `conn` before `broker`'s host lost power, reached
    /// the dead host: no acknowledgement comes back, so the sender's TCP retransmits it (and
    /// what follows waits behind it) until the host answers again or TCP gives up.
    pub fn hold_unacknowledged<E: From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        (from, broker, conn): (Node, BrokerId, u32),
        msg: Message,
    ) {
        let slot = self.slot(from, Node::Broker(broker));
        if self.conns[slot].id != conn || self.conns[slot].state != ConnState::Open {
            return;
        }
        if matches!(msg, Message::ProduceRequest(_)) {
            self.produce_requests_on_wire += 1;
        }
        let segment = Segment {
            bytes: msg.size_bytes(),
            payload: Payload::Message(msg),
        };
        if self.conns[slot].flows[0].stall.is_none() {
            self.start_stall(ctx, slot, 0, ctx.now(), VecDeque::new());
        }
        if let Some(stall) = self.conns[slot].flows[0].stall.as_mut() {
            // Sent before the segments queued since the power-off, after those held before.
            stall.queue.insert(stall.held_count, segment);
            stall.held_count += 1;
        }
    }

    /// The broker closes its end of the client connection `conn` (`KafkaApis` closing the
    /// connection after an acks=0 produce error): the client learns it one latency later.
    pub fn close_by_acceptor<E: From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        broker: BrokerId,
        conn: u32,
    ) {
        let slot = self.slot(Node::Client, Node::Broker(broker));
        if self.conns[slot].id != conn {
            return;
        }
        let now = ctx.now();
        let told = self.reset_arrival(now, Node::Broker(broker), Node::Client);
        self.break_connection(ctx, slot, (Some(told), Some(now)));
    }

    /// Whether `broker`'s process is down on a live host, so a connect to it is refused.
    pub fn refuses_connections(&self, broker: BrokerId) -> bool {
        self.refusing[node_index(Node::Broker(broker))]
    }

    /// A message from `from` reached `broker`, whose process is down: the connect is refused
    /// (a reset), which `from` learns one latency later.
    pub fn refuse<E: From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        from: Node,
        broker: BrokerId,
        conn: u32,
    ) {
        let slot = self.slot(from, Node::Broker(broker));
        if self.conns[slot].id != conn {
            return;
        }
        let told = self.reset_arrival(ctx.now(), Node::Broker(broker), from);
        self.break_connection(ctx, slot, (Some(told), None));
    }

    /// Heals every link, lifts blackholes and refusals, and forgets scripted drops and spikes
    /// (used when the run settles).
    pub fn heal_all(&mut self) {
        for link in &mut self.links {
            link.cut = false;
            link.drop_next = [0; ResponseApi::COUNT];
            link.spikes.clear();
        }
        for conn in &mut self.conns {
            if conn.state == ConnState::Blackhole {
                conn.state = ConnState::Open;
            }
        }
        self.refusing.iter_mut().for_each(|r| *r = false);
        self.powered_off.iter_mut().for_each(|p| *p = false);
    }

    /// Drops the next `n` responses of `api` (or of any API) from `broker` to the client.
    pub fn drop_next_responses(&mut self, broker: BrokerId, n: u64, api: ResponseApi) {
        let link = self.link_mut(Node::Broker(broker), Node::Client);
        let count = &mut link.drop_next[api as usize];
        *count = count.saturating_add(n);
    }

    /// Adds `extra` to the latency of messages sent between `a` and `b` (both directions) during
    /// `[from, until)`.
    pub fn latency_spike(&mut self, a: Node, b: Node, window: (Instant, Instant), extra: Duration) {
        let spike = Spike {
            from: window.0,
            until: window.1,
            extra,
        };
        for (f, t) in [(a, b), (b, a)] {
            let link = self.link_mut(f, t);
            link.spikes.retain(|s| s.until > window.0);
            link.spikes.push(spike);
        }
    }

    /// Whether the link between `a` and `b` is cut.
    pub fn is_cut(&self, a: Node, b: Node) -> bool {
        self.links[self.link_index(a, b)].cut
    }

    /// Whether the client's connection to `broker` cannot deliver right now (its link is cut,
    /// a retransmission is pending on it, or it is blackholed or broken); the client itself
    /// learns only what its timeouts and the connection's closing tell it.
    pub fn connection_broken(&self, _now: Instant, client: Node, broker: BrokerId) -> bool {
        let conn = &self.conns[self.slot(client, Node::Broker(broker))];
        conn.state != ConnState::Open
            || conn.flows.iter().any(|f| f.stall.is_some())
            || self.is_cut(client, Node::Broker(broker))
    }

    /// When the last message sent from `from` to `to` has left `from` (its link has serialised
    /// it at the link's bandwidth), or `now` when that was earlier.
    pub fn written_at(&self, now: Instant, from: Node, to: Node) -> Instant {
        self.links[self.link_index(from, to)].busy_until.max(now)
    }

    /// Notes that a produce request reached its broker (the world calls this on delivery).
    pub fn on_produce_request_delivered(&mut self) {
        self.produce_requests_on_wire = self.produce_requests_on_wire.saturating_sub(1);
    }

    /// Produce requests still travelling from the client to a broker (or waiting for their
    /// retransmission): a run does not end while an acks=0 request is on the wire.
    pub fn produce_requests_on_wire(&self) -> u64 {
        self.produce_requests_on_wire
    }

    /// Messages dropped so far, for every reason.
    pub fn dropped_count(&self) -> u64 {
        self.dropped_count
    }

    /// Counts a drop decided outside the network (e.g. the receiver is down) and traces it.
    pub fn record_drop<E>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        (from, to): (Node, Node),
        msg: &Message,
        reason: DropReason,
    ) {
        self.dropped_count += 1;
        trace_drop(ctx, from, to, msg, reason);
    }

    /// Every ordered pair of distinct nodes, for random link faults: `(client, broker)` pairs first.
    pub fn node_pairs(&self) -> Vec<(Node, Node)> {
        let mut pairs = Vec::new();
        for a in 0..self.node_count {
            for b in a + 1..self.node_count {
                pairs.push((self.node(a), self.node(b)));
            }
        }
        pairs
    }
}

fn trace_drop<E>(ctx: &mut Ctx<'_, E>, from: Node, to: Node, msg: &Message, reason: DropReason) {
    ctx.trace("net", "drop", |e| {
        e.with("from", node_label(from))
            .with("to", node_label(to))
            .with("msg", message_kind(msg))
            .with("corr", message_correlation_id(msg))
            .with("reason", reason.name())
    });
}

impl Link {
    /// Whether `msg` is taken by a scripted drop (of its API, or else of any API), counting it.
    fn take_scripted_drop(&mut self, msg: &Message) -> bool {
        if self.drop_next == [0; ResponseApi::COUNT] {
            return false;
        }
        let own = ResponseApi::of(msg).map(|api| api as usize);
        for slot in own.into_iter().chain([ResponseApi::Any as usize]) {
            if self.drop_next[slot] > 0 {
                self.drop_next[slot] -= 1;
                return true;
            }
        }
        false
    }

    /// Whether one transmission is lost to random loss.
    fn lose(&mut self) -> bool {
        self.loss_ppb > 0 && self.stream.bernoulli(self.loss_ppb, RATIO_DENOMINATOR)
    }

    /// Serialises `bytes` behind what is already queued, then adds latency and any spike;
    /// never earlier than `last_arrival`, the previous arrival on the same connection
    /// direction, which it updates.
    fn arrival(&mut self, now: Instant, bytes: u64, last_arrival: &mut Instant) -> Instant {
        let start = now.max(self.busy_until);
        let serialise_ns = if self.bandwidth_bytes_per_s == 0 {
            0
        } else {
            // ceil(bytes * 1e9 / bandwidth) in u128 to avoid overflow.
            let num = u128::from(bytes) * 1_000_000_000u128;
            let bw = u128::from(self.bandwidth_bytes_per_s);
            u64::try_from(num.div_ceil(bw)).unwrap_or(u64::MAX)
        };
        self.busy_until = start.saturating_add(Duration::from_nanos(serialise_ns));
        let extra = self
            .spikes
            .iter()
            .filter(|s| s.from <= now && now < s.until)
            .map(|s| s.extra)
            .max()
            .unwrap_or_default();
        let latency = self.latency.sample(&mut self.stream);
        let arrive = self
            .busy_until
            .saturating_add(latency)
            .saturating_add(extra)
            .max(*last_arrival);
        *last_arrival = arrive;
        arrive
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::MetadataResponse;

    fn metadata() -> Message {
        Message::MetadataResponse(MetadataResponse {
            partitions: Vec::new(),
        })
    }

    #[test]
    fn the_earliest_client_arrival_is_the_first_in_flight_or_the_smallest_latency_from_now() {
        let mut engine: sim::Engine<NetEvent> = sim::Engine::new(3);
        let config = NetworkConfig {
            latency: DistConfig::Uniform {
                lo_ms: 0.25,
                hi_ms: 2.0,
            },
            ..NetworkConfig::default()
        };
        let mut net = Network::new(&config, 2, &engine.streams()).expect("valid config");
        let ms = |x: u64| Instant::from_nanos(x * 1_000_000);
        assert_eq!(net.earliest_client_arrival(ms(0)), None, "untracked");
        net.track_client_arrivals();
        let fresh = Instant::from_nanos(250_000);
        assert_eq!(net.earliest_client_arrival(Instant::ZERO), Some(fresh));
        let mut ctx = engine.ctx();
        net.send(
            &mut ctx,
            Node::Broker(BrokerId(1)),
            Node::Client,
            metadata(),
        );
        net.send(
            &mut ctx,
            Node::Broker(BrokerId(1)),
            Node::Client,
            metadata(),
        );
        // A request to a broker is not an arrival at the client.
        net.send(
            &mut ctx,
            Node::Client,
            Node::Broker(BrokerId(0)),
            metadata(),
        );
        let first = net.earliest_client_arrival(ms(10)).expect("tracked");
        assert!(first >= fresh && first <= ms(3), "in flight: {first}");
        net.on_client_delivery(Node::Broker(BrokerId(1)), first);
        let second = net.earliest_client_arrival(ms(10)).expect("tracked");
        assert!(
            second >= first && second < ms(10),
            "next in flight: {second}"
        );
        net.on_client_delivery(Node::Broker(BrokerId(1)), second);
        assert_eq!(
            net.earliest_client_arrival(ms(10)),
            Some(ms(10).saturating_add(Duration::from_nanos(250_000))),
            "nothing in flight: only new messages, at least the smallest latency away"
        );
    }

    fn schedule(min_ms: f64, max_ms: f64, retries: u32) -> Retransmission {
        NetworkConfig {
            tcp_rto_min_ms: min_ms,
            tcp_rto_max_ms: max_ms,
            tcp_retries2: retries,
            ..NetworkConfig::default()
        }
        .retransmission()
        .expect("valid")
    }

    #[test]
    fn retransmissions_start_at_the_floor_and_double() {
        let r = schedule(200.0, 120_000.0, 15);
        let ms = Duration::from_millis;
        assert_eq!(r.offset(0), Duration::ZERO);
        assert_eq!(
            r.offset(1),
            ms(200),
            "the first retransmission after TCP_RTO_MIN"
        );
        assert_eq!(r.offset(2), ms(600));
        assert_eq!(r.offset(3), ms(1_400));
        assert_eq!(r.offset(4), ms(3_000));
    }

    #[test]
    fn the_rto_is_capped_and_linux_defaults_give_up_after_about_15_minutes() {
        let capped = schedule(200.0, 1_000.0, 5);
        let ms = Duration::from_millis;
        // Intervals 200, 400, 800, then 1000 each.
        assert_eq!(capped.offset(5), ms(200 + 400 + 800 + 1_000 + 1_000));
        assert_eq!(capped.give_up_after(), ms(4_400));
        let linux = schedule(200.0, 120_000.0, 15);
        // 200 ms · (2^10 − 1) for the first ten intervals, then six of 120 s: 924.6 s.
        assert_eq!(linux.give_up_after(), ms(924_600));
        // A schedule that would overflow saturates instead.
        let long = schedule(1e10, 1e10, TCP_RETRIES2_MAX);
        assert!(long.give_up_after() >= Duration::from_secs(1_000_000_000));
    }

    #[test]
    fn a_cap_below_the_floor_and_zero_retries_are_refused_by_name() {
        let bad = |config: NetworkConfig| config.validate(1).expect_err("refused").to_string();
        let err = bad(NetworkConfig {
            tcp_rto_max_ms: 100.0,
            ..NetworkConfig::default()
        });
        assert!(err.starts_with("network.tcp_rto_max_ms:"), "{err}");
        assert!(err.contains("network.tcp_rto_min_ms"), "{err}");
        let err = bad(NetworkConfig {
            tcp_retries2: 0,
            ..NetworkConfig::default()
        });
        assert!(err.starts_with("network.tcp_retries2:"), "{err}");
        assert!(err.contains("1 ..= 100"), "{err}");
        let err = bad(NetworkConfig {
            tcp_rto_min_ms: 0.0,
            ..NetworkConfig::default()
        });
        assert!(err.starts_with("network.tcp_rto_min_ms:"), "{err}");
    }

    /// Records the client connection and correlation id of every delivered request.
    struct Recorder(Vec<(u32, i64)>);

    impl sim::Model for Recorder {
        type Event = NetEvent;
        fn on_event(&mut self, _ctx: &mut Ctx<'_, NetEvent>, event: NetEvent) {
            if let NetEvent::Deliver { conn, msg, .. } = event {
                self.0.push((conn, message_correlation_id(&msg)));
            }
        }
    }

    #[test]
    fn each_connection_keeps_its_own_order() {
        // Random latency per message; the client's connection is renewed half way: the second
        // connection's messages overtake the first one's, but never each other.
        let mut engine: sim::Engine<NetEvent> = sim::Engine::new(9);
        let config = NetworkConfig {
            latency: DistConfig::Uniform {
                lo_ms: 0.1,
                hi_ms: 20.0,
            },
            ..NetworkConfig::default()
        };
        let mut net = Network::new(&config, 1, &engine.streams()).expect("valid config");
        let b = Node::Broker(BrokerId(0));
        {
            let mut ctx = engine.ctx();
            for correlation_id in 0..40 {
                if correlation_id == 20 {
                    net.reconnect(BrokerId(0));
                }
                let msg = Message::MetadataRequest { correlation_id };
                net.send(&mut ctx, Node::Client, b, msg);
            }
        }
        let mut seen = Recorder(Vec::new());
        engine
            .run(&mut seen, sim::RunLimits::unbounded())
            .expect("no bound");
        for c in [0, 1] {
            let corrs: Vec<i64> = seen.0.iter().filter(|s| s.0 == c).map(|s| s.1).collect();
            let mut sorted = corrs.clone();
            sorted.sort_unstable();
            assert_eq!(corrs.len(), 20);
            assert_eq!(corrs, sorted, "connection {c} delivers in order");
        }
        let first_of_new = seen.0.iter().position(|s| s.0 == 1).expect("delivered");
        assert!(
            first_of_new < 20,
            "the new connection does not wait for the old one: {:?}",
            seen.0
        );
    }

    /// Drives the handshake events of one network and records what reached the client.
    struct Handshakes {
        net: Network,
        /// (time, "established" | "closed").
        seen: Vec<(Instant, &'static str)>,
    }

    impl sim::Model for Handshakes {
        type Event = NetEvent;
        fn on_event(&mut self, ctx: &mut Ctx<'_, NetEvent>, event: NetEvent) {
            match event {
                NetEvent::Syn { broker, conn } => self.net.on_syn(ctx, broker, conn),
                NetEvent::SynAck { broker, conn } if self.net.on_syn_ack(broker, conn) => {
                    self.seen.push((ctx.now(), "established"));
                }
                NetEvent::SynRetransmit {
                    broker,
                    conn,
                    attempt,
                } => self.net.on_syn_retransmit(ctx, (broker, conn, attempt)),
                NetEvent::Closed {
                    side: Node::Client, ..
                } => {
                    self.seen.push((ctx.now(), "closed"));
                }
                _ => {}
            }
        }
    }

    fn handshake(setup: impl FnOnce(&mut Network)) -> Vec<(Instant, &'static str)> {
        let mut engine: sim::Engine<NetEvent> = sim::Engine::new(5);
        let config = NetworkConfig {
            latency: DistConfig::constant_ms(5.0),
            bandwidth_bytes_per_s: 0,
            ..NetworkConfig::default()
        };
        let mut net = Network::new(&config, 1, &engine.streams()).expect("valid config");
        setup(&mut net);
        net.connect(&mut engine.ctx(), BrokerId(0));
        let mut model = Handshakes {
            net,
            seen: Vec::new(),
        };
        engine
            .run(&mut model, sim::RunLimits::unbounded())
            .expect("no bound");
        model.seen
    }

    #[test]
    fn a_connect_is_established_refused_or_retried_on_the_syn_schedule() {
        let ms = |x: u64| Instant::from_nanos(x * 1_000_000);
        assert_eq!(
            handshake(|_| {}),
            vec![(ms(10), "established")],
            "one round trip"
        );
        let mut engine: sim::Engine<NetEvent> = sim::Engine::new(1);
        let refused = handshake(|net| {
            net.process_crash(&mut engine.ctx(), BrokerId(0));
            // The crash reset the old connection: the client opens a new one.
            net.reconnect(BrokerId(0));
        });
        assert_eq!(
            refused,
            vec![(ms(10), "closed")],
            "a reset one round trip later"
        );
        // A powered-off host: SYNs at 0, 1, 3, 7, 15, 31, 63 s, then the connect fails at 127 s.
        let silent = handshake(|net| net.power_off(BrokerId(0)));
        assert_eq!(silent, vec![(ms(127_000), "closed")]);
    }
}
