//! The client's network side: one connection per broker with its setup (TCP connect, then the
//! ApiVersions exchange), its in-flight requests, request and connection setup timeouts,
//! reconnect backoff, and the least-loaded-node choice for metadata requests.
//!
//! ```text
//!   Connection state (per broker), as ClusterConnectionStates has it
//!   ┌──────────────────────────┐ backoff over, ┌────────────┐ SYN-ACK ┌──────────────────────┐
//!   │ Disconnected { until_ns }│ needed: SYN   │ Connecting │ ──────► │ CheckingApiVersions  │
//!   └──────────────────────────┘ ────────────► └────────────┘         └──────────────────────┘
//!        ▲   ▲  setup timeout / refused (RST)        │                   │ ApiVersions response
//!        │   └───────────────────────────────────────┘                   ▼
//!        │   request timed out, connection closed (every in-flight     ┌───────┐
//!        └──────────────────────────────────────────── request fails) ─│ Ready │
//!                                                                      └───────┘
//! ```
//!
//! Units: ns.
//!
//! Fidelity: follows `NetworkClient`, `ClusterConnectionStates` and `InFlightRequests`:
//! `ready(node)` (`NetworkClient.ready` → `isReady`) needs a connection in the READY state and
//! fewer than `max.in.flight.requests.per.connection` requests outstanding; a node that is not
//! ready and may connect (`canConnect`: disconnected and its reconnect backoff over) gets a
//! connect (`initiateConnect` → `connecting`); once TCP is established the client sends an
//! ApiVersionsRequest (`handleConnections` → `checkingApiVersions`, `handleInitiateApiVersionRequests`;
//! it is an ordinary in-flight request with `request.timeout.ms`), and its response makes the
//! connection READY (`handleApiVersionsResponse` → `ready`, which resets the failed attempts).
//! A connect that does not finish within the setup timeout is closed (`handleTimedOutConnections`,
//! `isConnectionSetupTimeout`: strictly more than the timeout since the attempt, and only while
//! CONNECTING, not while checking API versions); the timeout starts at
//! `socket.connection.setup.timeout.ms` and grows per consecutive failed connect as
//! `ExponentialBackoff(timeout, 2, max, 0.2)` (`updateConnectionSetupTimeout`), reset once a
//! connection is established (`resetConnectionSetupTimeout`), each value drawn with ±20% jitter
//! from the seeded stream `producer/connection_setup`. A request whose time since the send
//! exceeds `request.timeout.ms` (`InFlightRequests.hasExpiredRequest`, strictly greater, so a
//! batch whose delivery timeout falls on the same instant expires first) closes the whole
//! connection and completes every request in flight on it as timed out; a connection that
//! closes under the client (a reset, a refused connect, TCP giving up) fails its requests in
//! flight as disconnected (`NetworkClient.processDisconnection` → `cancelInFlightRequests`,
//! NETWORK_EXCEPTION in `Sender.handleProduceResponse`) and asks for a metadata refresh
//! (`handleServerDisconnect`); reconnects back off exponentially
//! (`ClusterConnectionStates.disconnected` → `updateReconnectBackoff`: `reconnect.backoff.ms`
//! doubling to `reconnect.backoff.max.ms`, ±20% jitter). `leastLoadedNode` prefers a ready
//! node with the fewest requests in flight, then a node that is connecting, then the node that
//! may connect whose last attempt is oldest. Simplified: the "request fully written to the
//! socket" condition of `isReady` is not modelled; a node's address never changes (no DNS
//! re-resolution, no `client.dns.lookup`).

use std::collections::VecDeque;

use sim::Stream;

use crate::batching::backoff::ExponentialBackoff;

/// What an outstanding request is for.
#[derive(Debug)]
pub(crate) enum RequestKind<B> {
    /// A produce request carrying these drained batches.
    Produce { batches: Vec<B> },
    /// A metadata request.
    Metadata,
    /// InitProducerId.
    InitProducerId,
    /// ApiVersions, the first request on a new connection.
    ApiVersions,
    /// A transactional request (FindCoordinator, InitProducerId, AddPartitionsToTxn, EndTxn).
    Transactional,
}

/// One request awaiting its response.
#[derive(Debug)]
pub(crate) struct InFlightRequest<B> {
    pub(crate) correlation_id: u64,
    pub(crate) sent_at_ns: u64,
    pub(crate) kind: RequestKind<B>,
}

/// Connection state (`ClusterConnectionStates`' `ConnectionState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ConnState {
    /// No connection: a connect may start once `until_ns` has passed (reconnect backoff).
    Disconnected { until_ns: u64 },
    /// The TCP connect is under way (SYN sent).
    Connecting,
    /// TCP is established; the ApiVersions request is in flight.
    CheckingApiVersions,
    /// Requests may be sent.
    Ready,
}

/// One broker connection.
#[derive(Debug)]
pub(crate) struct Connection<B> {
    pub(crate) state: ConnState,
    /// Oldest first: the front is the first to time out.
    pub(crate) in_flight: VecDeque<InFlightRequest<B>>,
    /// Consecutive failed connections (the reconnect backoff's exponent).
    pub(crate) failed_attempts: u32,
    /// Consecutive connects that timed out or failed before TCP was established.
    failed_connect_attempts: u32,
    /// The setup timeout of the next (or current) connect.
    setup_timeout_ns: u64,
    /// When the last connect began (or the connection closed).
    last_connect_attempt_ns: u64,
}

/// Every connection of the client.
pub(crate) struct Connections<B> {
    pub(crate) nodes: Vec<Connection<B>>,
    request_timeout_ns: u64,
    max_in_flight: usize,
    reconnect: ExponentialBackoff,
    /// `socket.connection.setup.timeout.ms` growing to `socket.connection.setup.timeout.max.ms`.
    setup_timeout: ExponentialBackoff,
    /// The jitter of the setup timeouts.
    setup_rng: Stream,
    /// Rotates the tie-break of the least-loaded-node choice.
    least_loaded_offset: usize,
}

/// The timing policies of a client's connections, in ns.
pub(crate) struct ConnectionPolicy {
    pub(crate) request_timeout_ns: u64,
    pub(crate) max_in_flight: u32,
    pub(crate) reconnect: ExponentialBackoff,
    pub(crate) setup_timeout: ExponentialBackoff,
}

impl<B> Connections<B> {
    pub(crate) fn new(broker_count: u32, policy: ConnectionPolicy, mut setup_rng: Stream) -> Self {
        let setup_timeout = policy.setup_timeout;
        Connections {
            nodes: (0..broker_count)
                .map(|_| Connection {
                    state: ConnState::Disconnected { until_ns: 0 },
                    in_flight: VecDeque::new(),
                    failed_attempts: 0,
                    failed_connect_attempts: 0,
                    // `connecting` on a node without state: `connectionSetupTimeout.backoff(0)`.
                    setup_timeout_ns: setup_timeout.backoff_with_draw_ns(0, draw(&mut setup_rng)),
                    last_connect_attempt_ns: 0,
                })
                .collect(),
            request_timeout_ns: policy.request_timeout_ns,
            max_in_flight: policy.max_in_flight as usize,
            reconnect: policy.reconnect,
            setup_timeout,
            setup_rng,
            least_loaded_offset: 0,
        }
    }

    /// `NetworkClient.ready(node)` without the connect: READY and below the in-flight limit
    /// (`canSendRequest`).
    pub(crate) fn ready(&self, node: u32) -> bool {
        let conn = &self.nodes[node as usize];
        conn.state == ConnState::Ready && conn.in_flight.len() < self.max_in_flight
    }

    /// `ClusterConnectionStates.canConnect`: disconnected, and the reconnect backoff is over.
    pub(crate) fn can_connect(&self, node: u32, now_ns: u64) -> bool {
        matches!(self.nodes[node as usize].state, ConnState::Disconnected { until_ns } if until_ns <= now_ns)
    }

    /// `ClusterConnectionStates.isPreparingConnection`: connecting or checking API versions.
    fn is_preparing(&self, node: u32) -> bool {
        matches!(
            self.nodes[node as usize].state,
            ConnState::Connecting | ConnState::CheckingApiVersions
        )
    }

    /// Whether `node` is connecting right now (SYN sent, no SYN-ACK yet).
    pub(crate) fn is_connecting(&self, node: u32) -> bool {
        self.nodes[node as usize].state == ConnState::Connecting
    }

    /// `ClusterConnectionStates.connecting`: a connect to `node` begins now.
    pub(crate) fn connecting(&mut self, node: u32, now_ns: u64) {
        let conn = &mut self.nodes[node as usize];
        conn.state = ConnState::Connecting;
        conn.last_connect_attempt_ns = now_ns;
    }

    /// `ClusterConnectionStates.checkingApiVersions`: TCP is established.
    pub(crate) fn checking_api_versions(&mut self, node: u32) {
        self.nodes[node as usize].state = ConnState::CheckingApiVersions;
        self.reset_setup_timeout(node);
    }

    /// `ClusterConnectionStates.ready`: the ApiVersions response came.
    pub(crate) fn set_ready(&mut self, node: u32) {
        let conn = &mut self.nodes[node as usize];
        conn.state = ConnState::Ready;
        conn.failed_attempts = 0;
        self.reset_setup_timeout(node);
    }

    /// `resetConnectionSetupTimeout`.
    fn reset_setup_timeout(&mut self, node: u32) {
        let jitter = draw(&mut self.setup_rng);
        let conn = &mut self.nodes[node as usize];
        conn.failed_connect_attempts = 0;
        conn.setup_timeout_ns = self.setup_timeout.backoff_with_draw_ns(0, jitter);
    }

    /// The setup timeout of the next (or current) connect to `node`.
    pub(crate) fn setup_timeout_ns(&self, node: u32) -> u64 {
        self.nodes[node as usize].setup_timeout_ns
    }

    /// The first instant at which a connect counts as timed out (`isConnectionSetupTimeout`:
    /// strictly more than the timeout since the attempt).
    fn setup_deadline_ns(conn: &Connection<B>) -> Option<u64> {
        (conn.state == ConnState::Connecting).then(|| {
            conn.last_connect_attempt_ns
                .saturating_add(conn.setup_timeout_ns)
                .saturating_add(1)
        })
    }

    /// The earliest connection setup deadline over all connections.
    pub(crate) fn next_setup_timeout_ns(&self) -> Option<u64> {
        self.nodes.iter().filter_map(Self::setup_deadline_ns).min()
    }

    /// A node whose connect has timed out at `now_ns` (`nodesWithConnectionSetupTimeout`).
    pub(crate) fn setup_timed_out(&self, now_ns: u64) -> Option<u32> {
        self.nodes
            .iter()
            .position(|c| Self::setup_deadline_ns(c).is_some_and(|t| t <= now_ns))
            .map(|node| node as u32)
    }

    /// Records a request sent to `node`.
    pub(crate) fn push(&mut self, node: u32, request: InFlightRequest<B>) {
        self.nodes[node as usize].in_flight.push_back(request);
    }

    /// Total requests in flight over all connections.
    pub(crate) fn in_flight_total(&self) -> usize {
        self.nodes.iter().map(|c| c.in_flight.len()).sum()
    }

    /// Removes and returns the request `correlation_id` on `node`, if it is still outstanding
    /// (a response to a closed connection or an unknown request is ignored by the caller).
    pub(crate) fn take(&mut self, node: u32, correlation_id: u64) -> Option<InFlightRequest<B>> {
        let conn = self.nodes.get_mut(node as usize)?;
        let index = conn
            .in_flight
            .iter()
            .position(|r| r.correlation_id == correlation_id)?;
        conn.in_flight.remove(index)
    }

    /// The first instant at which `request` counts as timed out. `InFlightRequests.
    /// hasExpiredRequest` needs the time since the send to *exceed* `request.timeout.ms`, while
    /// `ProducerBatch.hasReachedDeliveryTimeout` expires a batch once `delivery.timeout.ms` is
    /// *reached*: with `delivery.timeout.ms = linger.ms + request.timeout.ms` (the smallest value
    /// `KafkaProducer.configureDeliveryTimeout` accepts) the delivery expiry comes first, so the
    /// timed-out request later finds its batch already done. One nanosecond is the smallest
    /// "exceeds" on this clock.
    fn deadline_ns(&self, request: &InFlightRequest<B>) -> u64 {
        request
            .sent_at_ns
            .saturating_add(self.request_timeout_ns)
            .saturating_add(1)
    }

    /// The earliest request deadline over all connections.
    pub(crate) fn next_timeout_ns(&self) -> Option<u64> {
        self.nodes
            .iter()
            .filter_map(|c| c.in_flight.front())
            .map(|r| self.deadline_ns(r))
            .min()
    }

    /// The earliest end of a reconnect backoff still to come after `now_ns`.
    pub(crate) fn next_reconnect_ns(&self, now_ns: u64) -> Option<u64> {
        self.nodes
            .iter()
            .filter_map(|c| match c.state {
                ConnState::Disconnected { until_ns } if until_ns > now_ns => Some(until_ns),
                _ => None,
            })
            .min()
    }

    /// Finds a connection whose oldest request has timed out, closes it, and returns the node and
    /// every request that was in flight on it. `jitter` is one random draw for the backoff.
    pub(crate) fn close_timed_out(
        &mut self,
        now_ns: u64,
        jitter: u32,
    ) -> Option<(u32, Vec<InFlightRequest<B>>)> {
        let node = self.nodes.iter().position(|c| {
            c.in_flight
                .front()
                .is_some_and(|r| self.deadline_ns(r) <= now_ns)
        })?;
        Some((node as u32, self.close(node as u32, now_ns, jitter)))
    }

    /// Closes the connection to `node` (`ClusterConnectionStates.disconnected`: the reconnect
    /// backoff grows with the failed attempts; a connect that never got established grows the
    /// setup timeout, any other resets it) and returns every request that was in flight on
    /// it. `jitter` is one random draw for the backoff.
    pub(crate) fn close(&mut self, node: u32, now_ns: u64, jitter: u32) -> Vec<InFlightRequest<B>> {
        let setup_jitter = draw(&mut self.setup_rng);
        let conn = &mut self.nodes[node as usize];
        let backoff = self
            .reconnect
            .backoff_with_draw_ns(conn.failed_attempts, jitter);
        conn.failed_attempts = conn.failed_attempts.saturating_add(1);
        conn.last_connect_attempt_ns = now_ns;
        if conn.state == ConnState::Connecting {
            conn.failed_connect_attempts = conn.failed_connect_attempts.saturating_add(1);
        } else {
            conn.failed_connect_attempts = 0;
        }
        conn.setup_timeout_ns = self
            .setup_timeout
            .backoff_with_draw_ns(conn.failed_connect_attempts, setup_jitter);
        conn.state = ConnState::Disconnected {
            until_ns: now_ns + backoff,
        };
        conn.in_flight.drain(..).collect()
    }

    /// `NetworkClient.leastLoadedNode`: a node that can take a request with the fewest
    /// requests in flight (ties broken by a rotating start), else one that is connecting, else
    /// the one that may connect whose last attempt is oldest; `None` when every node is
    /// backing off.
    pub(crate) fn least_loaded(&mut self, now_ns: u64) -> Option<u32> {
        let count = self.nodes.len();
        let mut ready: Option<(usize, u32)> = None;
        let mut connecting = None;
        let mut can_connect: Option<u32> = None;
        for step in 0..count {
            let node = ((self.least_loaded_offset + step) % count) as u32;
            if self.ready(node) {
                let load = self.nodes[node as usize].in_flight.len();
                if ready.is_none_or(|(b, _)| load < b) {
                    ready = Some((load, node));
                }
            } else if self.is_preparing(node) {
                connecting = Some(node);
            } else if self.can_connect(node, now_ns)
                && can_connect.is_none_or(|found| {
                    self.nodes[found as usize].last_connect_attempt_ns
                        > self.nodes[node as usize].last_connect_attempt_ns
                })
            {
                can_connect = Some(node);
            }
        }
        self.least_loaded_offset = (self.least_loaded_offset + 1) % count.max(1);
        ready.map(|(_, node)| node).or(connecting).or(can_connect)
    }
}

/// One jitter draw.
fn draw(rng: &mut Stream) -> u32 {
    (rng.next_u64() >> 32) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connections() -> Connections<u32> {
        let policy = ConnectionPolicy {
            request_timeout_ns: 30,
            max_in_flight: 2,
            reconnect: ExponentialBackoff::new(50, 1000),
            setup_timeout: ExponentialBackoff::new(10_000, 30_000),
        };
        let mut c = Connections::new(3, policy, sim::RngStreams::new(1).stream("setup"));
        for node in 0..3 {
            c.connecting(node, 0);
            c.checking_api_versions(node);
            c.set_ready(node);
        }
        c
    }

    fn request(correlation_id: u64, sent_at_ns: u64) -> InFlightRequest<u32> {
        InFlightRequest {
            correlation_id,
            sent_at_ns,
            kind: RequestKind::Metadata,
        }
    }

    #[test]
    fn ready_needs_a_ready_connection_below_max_in_flight() {
        let mut c = connections();
        assert!(c.ready(0));
        c.push(0, request(1, 0));
        c.push(0, request(2, 0));
        assert!(!c.ready(0), "two in flight with max.in.flight=2");
        assert!(c.take(0, 1).is_some());
        assert!(c.ready(0));
    }

    #[test]
    fn a_timed_out_request_closes_the_connection_and_fails_everything_in_flight() {
        let mut c = connections();
        c.push(1, request(1, 0));
        c.push(1, request(2, 10));
        assert_eq!(
            c.next_timeout_ns(),
            Some(31),
            "the timeout must be exceeded"
        );
        assert!(c.close_timed_out(30, 0).is_none());
        let (node, failed) = c.close_timed_out(31, 0).expect("timed out");
        assert_eq!(node, 1);
        assert_eq!(
            failed.len(),
            2,
            "the younger request fails with the connection"
        );
        assert!(!c.ready(1), "closed");
        assert!(c.take(1, 2).is_none(), "a late response is ignored");
        let until = c.next_reconnect_ns(31).expect("backing off");
        assert!((31 + 40..=31 + 60).contains(&until), "{until}");
        assert!(!c.can_connect(1, until - 1));
        assert!(c.can_connect(1, until));
    }

    #[test]
    fn least_loaded_skips_busy_and_backing_off_nodes() {
        let mut c = connections();
        c.push(0, request(1, 0));
        c.push(2, request(2, 0));
        assert_eq!(c.least_loaded(0), Some(1));
    }

    #[test]
    fn the_setup_timeout_grows_per_failed_connect_within_the_jitter_and_resets_on_ready() {
        let mut c = connections();
        let mut at = 100;
        let mut seen = Vec::new();
        for failures in 0..4u32 {
            c.close(0, at, 0);
            at += 10_000;
            c.connecting(0, at);
            let timeout = c.setup_timeout_ns(0);
            // 10 µs · 2^failures · [0.8, 1.2), never above the 30 µs maximum.
            let term = (10_000u64 << failures).min(30_000);
            assert!(
                timeout >= term * 8 / 10 && timeout <= (term * 12 / 10).min(30_000),
                "after {failures} failed connects: {timeout}"
            );
            assert_eq!(c.setup_timed_out(at + timeout), None, "strictly more");
            assert_eq!(c.setup_timed_out(at + timeout + 1), Some(0));
            seen.push(timeout);
        }
        assert!(seen[0] < seen[3], "{seen:?}");
        c.checking_api_versions(0);
        assert_eq!(c.next_setup_timeout_ns(), None, "only a connect times out");
        let reset = c.setup_timeout_ns(0);
        assert!((8_000..12_000).contains(&reset), "{reset}");
    }
}
