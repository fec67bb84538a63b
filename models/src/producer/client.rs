//! The client's network side: one connection per broker with its in-flight requests, request
//! timeouts, reconnect backoff, and the least-loaded-node choice for metadata requests.
//!
//! ```text
//!   Connection state (per broker)
//!   ┌───────────┐ request timed out ┌──────────────────────┐ backoff over ┌───────────┐
//!   │ Connected │ ────────────────► │ Backoff { until_ns } │ ───────────► │ Connected │
//!   └───────────┘ (every in-flight  └──────────────────────┘              └───────────┘
//!                  request fails)
//! ```
//!
//! Units: ns.
//!
//! Fidelity: follows `NetworkClient` and `InFlightRequests`: `ready(node)` needs an established
//! connection and fewer than `max.in.flight.requests.per.connection` requests outstanding; a
//! request whose time since the send exceeds `request.timeout.ms` (`InFlightRequests.
//! hasExpiredRequest`, strictly greater, so a batch whose delivery timeout falls on the same
//! instant expires first) closes the whole connection and completes every request in flight on
//! it as timed out; a connection that closes under the client (a reset, a refused connect,
//! TCP giving up) fails its requests in flight as disconnected
//! (`NetworkClient.processDisconnection` → `cancelInFlightRequests`, NETWORK_EXCEPTION in
//! `Sender.handleProduceResponse`) and asks for a metadata refresh (`handleServerDisconnect`);
//! reconnects back off exponentially (`ClusterConnectionStates.disconnected` →
//! `updateReconnectBackoff`: `reconnect.backoff.ms` doubling to `reconnect.backoff.max.ms`,
//! ±20% jitter). Simplified: connection setup itself takes no time (no SYN round trip, no
//! ApiVersionsRequest, no `socket.connection.setup.timeout.ms`: the first request after the
//! backoff goes out at once); the failed attempts reset on a response rather than when a
//! connection becomes ready (`ClusterConnectionStates.ready`), so refused connects keep
//! growing the backoff as in Kafka; the "request fully written to the socket" condition is not
//! modelled.

use std::collections::VecDeque;

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
}

/// One request awaiting its response.
#[derive(Debug)]
pub(crate) struct InFlightRequest<B> {
    pub(crate) correlation_id: u64,
    pub(crate) sent_at_ns: u64,
    pub(crate) kind: RequestKind<B>,
}

/// Connection state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ConnState {
    Connected,
    Backoff { until_ns: u64 },
}

/// One broker connection.
#[derive(Debug)]
pub(crate) struct Connection<B> {
    pub(crate) state: ConnState,
    /// Oldest first: the front is the first to time out.
    pub(crate) in_flight: VecDeque<InFlightRequest<B>>,
    pub(crate) failed_attempts: u32,
}

/// Every connection of the client.
pub(crate) struct Connections<B> {
    pub(crate) nodes: Vec<Connection<B>>,
    request_timeout_ns: u64,
    max_in_flight: usize,
    reconnect: ExponentialBackoff,
    /// Rotates the tie-break of the least-loaded-node choice.
    least_loaded_offset: usize,
}

impl<B> Connections<B> {
    pub(crate) fn new(
        broker_count: u32,
        request_timeout_ns: u64,
        max_in_flight: u32,
        reconnect: ExponentialBackoff,
    ) -> Self {
        Connections {
            nodes: (0..broker_count)
                .map(|_| Connection {
                    state: ConnState::Connected,
                    in_flight: VecDeque::new(),
                    failed_attempts: 0,
                })
                .collect(),
            request_timeout_ns,
            max_in_flight: max_in_flight as usize,
            reconnect,
            least_loaded_offset: 0,
        }
    }

    /// Whether a connection to `node` exists now (a finished backoff counts as reconnected).
    pub(crate) fn is_connected(&mut self, node: u32, now_ns: u64) -> bool {
        let conn = &mut self.nodes[node as usize];
        match conn.state {
            ConnState::Connected => true,
            ConnState::Backoff { until_ns } if until_ns <= now_ns => {
                conn.state = ConnState::Connected;
                true
            }
            ConnState::Backoff { .. } => false,
        }
    }

    /// `NetworkClient.ready(node)`: connected and below the in-flight limit.
    pub(crate) fn ready(&mut self, node: u32, now_ns: u64) -> bool {
        self.is_connected(node, now_ns)
            && self.nodes[node as usize].in_flight.len() < self.max_in_flight
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
        conn.failed_attempts = 0;
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

    /// The earliest end of a reconnect backoff.
    pub(crate) fn next_reconnect_ns(&self) -> Option<u64> {
        self.nodes
            .iter()
            .filter_map(|c| match c.state {
                ConnState::Backoff { until_ns } => Some(until_ns),
                ConnState::Connected => None,
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
    /// backoff grows with the failed attempts) and returns every request that was in flight on
    /// it. `jitter` is one random draw for the backoff.
    pub(crate) fn close(&mut self, node: u32, now_ns: u64, jitter: u32) -> Vec<InFlightRequest<B>> {
        let conn = &mut self.nodes[node as usize];
        let backoff = self
            .reconnect
            .backoff_with_draw_ns(conn.failed_attempts, jitter);
        conn.failed_attempts = conn.failed_attempts.saturating_add(1);
        conn.state = ConnState::Backoff {
            until_ns: now_ns + backoff,
        };
        conn.in_flight.drain(..).collect()
    }

    /// `NetworkClient.leastLoadedNode`: a connected node with the fewest requests in flight,
    /// ties broken by a rotating start; `None` when every node is backing off.
    pub(crate) fn least_loaded(&mut self, now_ns: u64) -> Option<u32> {
        let count = self.nodes.len();
        let mut best: Option<(usize, u32)> = None;
        for step in 0..count {
            let node = ((self.least_loaded_offset + step) % count) as u32;
            if !self.is_connected(node, now_ns) {
                continue;
            }
            let load = self.nodes[node as usize].in_flight.len();
            if best.is_none_or(|(b, _)| load < b) {
                best = Some((load, node));
            }
        }
        self.least_loaded_offset = (self.least_loaded_offset + 1) % count.max(1);
        best.map(|(_, node)| node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connections() -> Connections<u32> {
        Connections::new(3, 30, 2, ExponentialBackoff::new(50, 1000))
    }

    fn request(correlation_id: u64, sent_at_ns: u64) -> InFlightRequest<u32> {
        InFlightRequest {
            correlation_id,
            sent_at_ns,
            kind: RequestKind::Metadata,
        }
    }

    #[test]
    fn ready_needs_a_connection_below_max_in_flight() {
        let mut c = connections();
        assert!(c.ready(0, 0));
        c.push(0, request(1, 0));
        c.push(0, request(2, 0));
        assert!(!c.ready(0, 0), "two in flight with max.in.flight=2");
        assert!(c.take(0, 1).is_some());
        assert!(c.ready(0, 0));
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
        assert!(!c.ready(1, 31), "backing off");
        assert!(c.take(1, 2).is_none(), "a late response is ignored");
        let until = c.next_reconnect_ns().expect("backing off");
        assert!((31 + 40..=31 + 60).contains(&until), "{until}");
        assert!(c.ready(1, until));
    }

    #[test]
    fn least_loaded_skips_busy_and_backing_off_nodes() {
        let mut c = connections();
        c.push(0, request(1, 0));
        c.push(2, request(2, 0));
        assert_eq!(c.least_loaded(0), Some(1));
    }
}
