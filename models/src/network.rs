//! The simulated network: one link per ordered pair of nodes, each with latency, bandwidth,
//! loss, cuts, latency spikes and scripted response drops.
//!
//! ```text
//!   send(from,to,msg) ─► link(from→to): cut? drop │ drop_next>0 (responses)? drop │ loss ratio? drop
//!                          │ serialise: start = max(now, busy_until); busy_until = start + bytes/bandwidth
//!                          │ arrive   = max(busy_until + latency + spike, last_arrival)   (in order)
//!                          └─► schedule NetEvent::Deliver { from, to, msg } at arrive
//! ```
//!
//! API overview:
//! - [`NetworkConfig`] (serde, `Default` = 0.5 ms constant LAN latency, 10 Gbit/s, no loss) with
//!   per-link overrides; [`Network::new`] validates it against the broker count.
//! - [`Network::send`] applies the link and schedules [`NetEvent::Deliver`]; the world hands the
//!   delivered message to the cluster or the producer.
//! - [`Network::transit`] gives the arrival time of a broker-to-broker message that is not a
//!   [`Message`] (follower fetches), through the same link state, or `None` when the link is cut.
//! - Fault hooks: [`Network::cut`], [`Network::heal`], [`Network::heal_all`],
//!   [`Network::drop_next_responses`], [`Network::latency_spike`]; query [`Network::is_cut`] and
//!   [`Network::connection_broken`].
//! - Arrivals at the client: after [`Network::track_client_arrivals`], the world reports each
//!   delivery to the client ([`Network::on_client_delivery`]) and the producer asks
//!   [`Network::earliest_client_arrival`] how long its application thread may run sends ahead.
//!
//! Units: time in integer ns, bandwidth in bytes per second, probabilities as parts per billion.
//!
//! Fidelity: a link stands for a TCP connection, so it never reorders, and it never loses one
//! message while delivering the next: once a message between the client and a broker is dropped
//! (loss, a cut, a scripted drop), that connection carries nothing more, in either direction,
//! until the client reconnects ([`Network::reconnect`], after its request timeout closed the
//! connection, as Kafka's `NetworkClient` does). A cut drops every message *sent* while it
//! lasts, in both directions; a message already on the wire when the cut starts is still
//! delivered (it had left the sender). Request loss applies to client→broker messages,
//! response loss to broker→client messages; broker↔broker traffic is lost only by cuts. The
//! client models its own request timeouts; there is no TCP reset notification.

use std::collections::VecDeque;

use serde::Deserialize;
use sim::{Ctx, Dist, Duration, Instant, RngStreams, Stream};

use crate::cluster::config::{
    ConfigError, DistConfig, LinkName, RATIO_DENOMINATOR, check_probability, probability_to_ppb,
    resolve_link,
};
use crate::protocol::{BrokerId, Message, Node};

/// What the network schedules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetEvent {
    /// `msg` arrives at `to`.
    Deliver {
        /// Sender.
        from: Node,
        /// Receiver.
        to: Node,
        /// The message.
        msg: Message,
    },
}

fn default_latency() -> DistConfig {
    DistConfig::constant_ms(0.5)
}
fn default_bandwidth() -> u64 {
    1_250_000_000
}

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
    /// Probability that a client→broker request is lost.
    #[serde(default)]
    pub request_loss: f64,
    /// Probability that a broker→client response is lost.
    #[serde(default)]
    pub response_loss: f64,
    /// Per-link overrides (both directions).
    #[serde(default)]
    pub links: Vec<LinkOverride>,
    /// Whether a message lost between the client and a broker leaves that connection dead
    /// until the client reconnects after its request timeout (true, the default: a TCP
    /// connection never drops one message and delivers the next). `false` makes every loss
    /// independent, a teaching simplification for stories such as "the first request is lost,
    /// the second arrives"; a scenario that sets it says so.
    #[serde(default = "default_true")]
    pub lost_message_breaks_connection: bool,
}

fn default_true() -> bool {
    true
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
            lost_message_breaks_connection: true,
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
    last_arrival: Instant,
    stream: Stream,
}

/// Why a message was dropped (the `reason` field of the `net/drop` trace event).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// The link is cut.
    Cut,
    /// A scripted "drop the next N responses".
    Scripted,
    /// Random loss.
    Loss,
    /// The receiving broker is down.
    BrokerDown,
    /// An earlier message on the client's connection was lost: a TCP connection delivers every
    /// byte in order or nothing, so nothing more gets through until the client reconnects.
    ConnectionLost,
}

impl DropReason {
    /// The name used in traces.
    pub fn name(self) -> &'static str {
        match self {
            DropReason::Cut => "cut",
            DropReason::Scripted => "scripted",
            DropReason::Loss => "loss",
            DropReason::BrokerDown => "broker_down",
            DropReason::ConnectionLost => "connection_lost",
        }
    }
}

/// The network of one run: `(brokers + 1)^2` directed links.
#[derive(Clone, Debug)]
pub struct Network {
    node_count: usize,
    links: Vec<Link>,
    dropped_count: u64,
    /// Produce requests sent by the client and not yet delivered to their broker.
    produce_requests_on_wire: u64,
    /// Per node index: whether the client's connection to that broker lost a message and so
    /// carries nothing more until the client reconnects (see [`Network::reconnect`]).
    connection_lost: Vec<bool>,
    /// Per node index: which of the client's connections to that broker is open (counts
    /// reconnects), so a broker can tell requests of a closed connection from the new one's.
    client_connection: Vec<u32>,
    /// Per node index: bytes the client wrote into its connection to that broker while the
    /// peer could not be reached (they sit in the socket's send buffer; see
    /// [`Network::send_written`]).
    unreachable_bytes: Vec<u64>,
    /// [`NetworkConfig::lost_message_breaks_connection`].
    lost_message_breaks_connection: bool,
    /// Scheduled arrivals at the client, per sending node index (in arrival order: a link
    /// delivers in order), when the world asked for them (see [`ClientArrivals`]).
    client_arrivals: ClientArrivals,
}

/// Whether the network keeps the arrival times of messages in flight to the client, which
/// lets the producer know the earliest instant a response can reach it. The world turns it on
/// and reports every delivery with [`Network::on_client_delivery`]; other users (cluster tests)
/// leave it off.
#[derive(Clone, Debug)]
enum ClientArrivals {
    Untracked,
    Tracked(Vec<VecDeque<Instant>>),
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
        Message::InitProducerIdResponse { .. } => "init_producer_id_response",
    }
}

/// The correlation id of a message, or -1 when it has none.
pub fn message_correlation_id(msg: &Message) -> i64 {
    match msg {
        Message::ProduceRequest(r) => r.correlation_id as i64,
        Message::ProduceResponse(r) => r.correlation_id as i64,
        Message::MetadataRequest { correlation_id }
        | Message::InitProducerIdRequest { correlation_id }
        | Message::InitProducerIdResponse { correlation_id, .. } => *correlation_id as i64,
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
                    last_arrival: Instant::ZERO,
                    stream: streams.stream(&format!("net/link/{from}->{to}")),
                });
            }
        }
        let mut net = Network {
            node_count,
            links,
            dropped_count: 0,
            produce_requests_on_wire: 0,
            connection_lost: vec![false; node_count],
            client_connection: vec![0; node_count],
            unreachable_bytes: vec![0; node_count],
            lost_message_breaks_connection: config.lost_message_breaks_connection,
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

    /// Sends `msg`: drops it (with a `net/drop` trace event) or schedules its delivery.
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
    /// it was delivered or lost on the way, and, while the peer cannot be reached (the link is
    /// cut or the connection dead), until the writes since then fill the socket's send buffer
    /// (`send.buffer.bytes`, 128 KiB by default in `ProducerConfig`); false after that, as a
    /// write into a full buffer does not complete.
    pub fn send_written<E: From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        from: Node,
        to: Node,
        msg: Message,
    ) -> bool {
        let now = ctx.now();
        let is_response = matches!(to, Node::Client);
        // The broker end of a client connection, if this message travels on one.
        let client_conn = match (from, to) {
            (Node::Client, Node::Broker(_)) => Some(node_index(to)),
            (Node::Broker(_), Node::Client) => Some(node_index(from)),
            _ => None,
        };
        let lost = client_conn.is_some_and(|i| self.connection_lost[i]);
        let link = self.link_mut(from, to);
        let verdict = if lost {
            Err(DropReason::ConnectionLost)
        } else if link.cut {
            Err(DropReason::Cut)
        } else if is_response && link.take_scripted_drop(&msg) {
            Err(DropReason::Scripted)
        } else if link.loss_ppb > 0 && link.stream.bernoulli(link.loss_ppb, RATIO_DENOMINATOR) {
            Err(DropReason::Loss)
        } else {
            Ok(link.arrival(now, msg.size_bytes()))
        };
        match verdict {
            Ok(at) => {
                if matches!(msg, Message::ProduceRequest(_)) {
                    self.produce_requests_on_wire += 1;
                }
                if let (true, ClientArrivals::Tracked(pending)) =
                    (is_response, &mut self.client_arrivals)
                {
                    pending[node_index(from)].push_back(at);
                }
                ctx.schedule_at(at, E::from(NetEvent::Deliver { from, to, msg }));
                true
            }
            Err(reason) => {
                self.dropped_count += 1;
                if let (Some(i), true) = (client_conn, self.lost_message_breaks_connection) {
                    self.connection_lost[i] = true;
                }
                trace_drop(ctx, from, to, &msg, reason);
                match (reason, client_conn) {
                    (DropReason::ConnectionLost | DropReason::Cut, Some(i))
                        if from == Node::Client =>
                    {
                        let buffered = self.unreachable_bytes[i].saturating_add(msg.size_bytes());
                        self.unreachable_bytes[i] = buffered;
                        buffered <= SEND_BUFFER_BYTES
                    }
                    _ => true,
                }
            }
        }
    }

    /// The client closed its connection to `broker` and opened a new one (after a request
    /// timeout): traffic flows again, subject to the link's own state.
    pub fn reconnect(&mut self, broker: BrokerId) {
        let i = node_index(Node::Broker(broker));
        self.connection_lost[i] = false;
        self.unreachable_bytes[i] = 0;
        self.client_connection[i] = self.client_connection[i].wrapping_add(1);
    }

    /// Which of the client's connections to `broker` is open now: starts at 0 and changes on
    /// every [`Network::reconnect`].
    pub fn client_connection(&self, broker: BrokerId) -> u32 {
        self.client_connection[node_index(Node::Broker(broker))]
    }

    /// Starts keeping the arrival times of messages in flight to the client; the caller must
    /// then report every delivery to the client with [`Network::on_client_delivery`].
    pub fn track_client_arrivals(&mut self) {
        self.client_arrivals = ClientArrivals::Tracked(vec![VecDeque::new(); self.node_count]);
    }

    /// A message from `from` reached the client (forgets its tracked arrival).
    pub fn on_client_delivery(&mut self, from: Node, now: Instant) {
        if let ClientArrivals::Tracked(pending) = &mut self.client_arrivals {
            let arrival = pending[node_index(from)].pop_front();
            assert_eq!(
                arrival,
                Some(now),
                "a delivery to the client that was not tracked, or out of link order"
            );
        }
    }

    /// The earliest instant at which a message can next reach the client, as far as the network
    /// can tell at `now`: the earliest tracked arrival, and no earlier than `now` plus the
    /// smallest latency any link to the client can draw (for messages not sent yet). `None`
    /// when arrivals are not tracked (anything may arrive at any time).
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
            if let Some(&at) = queued.front() {
                earliest = earliest.min(at);
            }
        }
        Some(earliest)
    }

    /// The arrival time of `bytes` sent now from `from` to `to` through the link's latency,
    /// bandwidth and order, or `None` when the link is cut (for broker-internal traffic such as
    /// follower fetches, which is not a [`Message`]).
    pub fn transit(&mut self, now: Instant, from: Node, to: Node, bytes: u64) -> Option<Instant> {
        let link = self.link_mut(from, to);
        if link.cut {
            return None;
        }
        Some(link.arrival(now, bytes))
    }

    /// Cuts the link between `a` and `b` in both directions.
    pub fn cut(&mut self, a: Node, b: Node) {
        self.link_mut(a, b).cut = true;
        self.link_mut(b, a).cut = true;
    }

    /// Heals the link between `a` and `b`.
    pub fn heal(&mut self, a: Node, b: Node) {
        self.link_mut(a, b).cut = false;
        self.link_mut(b, a).cut = false;
    }

    /// Heals every link and forgets scripted drops and spikes (used when the run settles).
    pub fn heal_all(&mut self) {
        for link in &mut self.links {
            link.cut = false;
            link.drop_next = [0; ResponseApi::COUNT];
            link.spikes.clear();
        }
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

    /// Whether a connection between `client` and `broker` cannot carry traffic right now
    /// (the link is cut); the client still learns of it only through its own timeouts.
    pub fn connection_broken(&self, _now: Instant, client: Node, broker: BrokerId) -> bool {
        self.connection_lost[node_index(Node::Broker(broker))]
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

    /// Produce requests still travelling from the client to a broker: a run does not end
    /// while an acks=0 request is on the wire.
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
        let node = |i: usize| {
            if i == 0 {
                Node::Client
            } else {
                Node::Broker(BrokerId((i - 1) as u32))
            }
        };
        let mut pairs = Vec::new();
        for a in 0..self.node_count {
            for b in a + 1..self.node_count {
                pairs.push((node(a), node(b)));
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

    /// Serialises `bytes` behind what is already queued, then adds latency and any spike;
    /// never earlier than the previous arrival on this link direction.
    fn arrival(&mut self, now: Instant, bytes: u64) -> Instant {
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
            .max(self.last_arrival);
        self.last_arrival = arrive;
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
}
