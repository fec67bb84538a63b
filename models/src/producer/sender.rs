//! The sender: Kafka's `Sender.runOnce` as an event-driven state machine with one re-armable
//! wake-up timer, plus the client's handling of responses, request timeouts, metadata and
//! InitProducerId.
//!
//! ```text
//!  SenderWake / response / append of a new or full batch
//!    └─► run_once(now)
//!          1 close connections whose oldest request timed out; fail their batches (REQUEST_TIMED_OUT);
//!            close connects past their setup timeout
//!          2 idempotent housekeeping (resolve sequences, local epoch bump); InitProducerId if needed
//!          3 metadata request if one is wanted (errors, unknown leaders, metadata.max.age.ms)
//!          4 ready → client.ready(node) (not ready and may connect: connect) → drain → one
//!            ProduceRequest per node (acks=0: done once written)
//!  SYN-ACK → ApiVersionsRequest │ ApiVersions response → the connection is ready
//!          5 expire batches past delivery.timeout.ms (queued and in flight)
//!          6 re-arm the timer at min(next ready check, next expiry, next request timeout,
//!            reconnect backoff end, metadata backoff end, metadata max age)
//! ```
//!
//! Units: ns.
//!
//! Fidelity: `Sender.sendProducerData`, `Sender.handleProduceResponse`/`completeBatch`
//! (the decision itself is the core's), `NetworkClient.handleTimedOutRequests` (a timed-out
//! request closes the connection and every request on it fails as timed out; late responses on
//! the closed connection are ignored), `NetworkClient.initiateConnect`, `handleConnections`,
//! `handleApiVersionsResponse` and `handleTimedOutConnections` (see `client`), `DefaultMetadataUpdater.maybeUpdate`
//! (a metadata request waits for a connect under way or begins one), `Metadata` (refresh on invalid-metadata errors, unknown
//! leaders and disconnects, KIP-951 leader hints; the refresh backoff of `Metadata.timeToAllowUpdate`
//! is in `metadata`).

use sim::{Ctx, Instant};

use super::client::{InFlightRequest, RequestKind};
use super::records::Outcome;
use super::{Producer, ProducerEvent, ProducerIdRequest};
use crate::batching::{
    BatchId, BatchResponse, CompletionOutcome, DrainedBatch, FinalState, Idempotence, NodeBatches,
    NodeId, NodeReadiness, PartitionMetadata, ProduceError, ProducerBatch, ProducerIdAction,
    ProducerIdAndEpoch,
};
use crate::network::Network;
use crate::protocol::{
    Acks, BrokerId, ErrorCode, LeaderEpoch, Message, MetadataResponse, Node, PartitionId,
    ProduceRequest, ProduceResponse, ProducerId, RecordId, WireBatch, WireRecord,
};
use crate::world::Event;

/// Drain rounds per wake-up: each round drains at most one batch per partition per node.
const DRAIN_ROUNDS_MAX: usize = 64;

/// How one round of `sendProducerData` ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Round {
    /// Some batch was drained: another round may drain more.
    Drained,
    /// No ready node could take a request (or nothing could be sent at all yet).
    NothingDrainable,
    /// Some ready node could take a request but the drain gave it nothing.
    NothingDrained,
}

/// The core's name for a wire error code (`None` for success).
pub(crate) fn produce_error(code: ErrorCode) -> Option<ProduceError> {
    Some(match code {
        ErrorCode::None => return None,
        ErrorCode::UnknownTopicOrPartition => ProduceError::UnknownTopicOrPartition,
        ErrorCode::LeaderNotAvailable => ProduceError::LeaderNotAvailable,
        ErrorCode::NotLeaderOrFollower => ProduceError::NotLeaderOrFollower,
        ErrorCode::RequestTimedOut => ProduceError::RequestTimedOut,
        ErrorCode::MessageTooLarge => ProduceError::MessageTooLarge,
        ErrorCode::NetworkException => ProduceError::NetworkException,
        ErrorCode::NotEnoughReplicas => ProduceError::NotEnoughReplicas,
        ErrorCode::NotEnoughReplicasAfterAppend => ProduceError::NotEnoughReplicasAfterAppend,
        ErrorCode::OutOfOrderSequenceNumber => ProduceError::OutOfOrderSequenceNumber,
        ErrorCode::InvalidProducerEpoch => ProduceError::InvalidProducerEpoch,
        ErrorCode::UnknownProducerId => ProduceError::UnknownProducerId,
        ErrorCode::KafkaStorageError => ProduceError::KafkaStorageError,
        ErrorCode::InvalidRecord => ProduceError::InvalidRecord,
    })
}

/// The `producer drain` trace event of one drained batch.
fn trace_drain(ctx: &mut Ctx<'_, Event>, drained: &DrainedBatch, node: u32) {
    ctx.trace("producer", "drain", |e| {
        e.with("batch", drained.batch_id.0)
            .with("partition", drained.partition.0)
            .with("node", node)
            .with("pid", drained.producer_id_and_epoch.producer_id)
            .with("epoch", i64::from(drained.producer_id_and_epoch.epoch))
            .with("seq", i64::from(drained.base_sequence.unwrap_or(-1)))
            .with("records", drained.record_count)
            .with("attempt", drained.attempts)
    });
}

impl Producer {
    /// Wakes the sender at `at_ns`, the instant of the `send()` that opened or filled a batch
    /// (now, or later when the application thread runs ahead).
    pub(super) fn wake_sender_at(&mut self, ctx: &mut Ctx<'_, Event>, at_ns: u64) {
        self.sender_settled = false;
        let at = Instant::from_nanos(at_ns);
        if ctx.deadline(self.sender_timer) != Some(at) {
            ctx.arm(
                self.sender_timer,
                at,
                Event::Producer(ProducerEvent::SenderWake),
            );
        }
    }

    fn next_correlation_id(&mut self) -> u64 {
        self.next_correlation_id += 1;
        self.next_correlation_id
    }

    /// One pass of `Sender.runOnce`.
    pub(super) fn run_once(&mut self, ctx: &mut Ctx<'_, Event>, net: &mut Network) {
        let now = ctx.now().as_nanos();
        self.handle_request_timeouts(ctx, net, now);
        self.handle_connection_setup_timeouts(ctx, net, now);
        self.idempotent_housekeeping(ctx);
        self.maybe_send_init_producer_id(ctx, net, now);
        if self.txn.is_some() {
            self.txn_sender_step(ctx, net, now);
        }
        self.maybe_send_metadata_request(ctx, net, now);
        let mut next_check = None;
        let mut round = Round::Drained;
        for _ in 0..DRAIN_ROUNDS_MAX {
            let check;
            (round, check) = self.send_producer_data(ctx, net, now);
            next_check = check;
            if round != Round::Drained {
                break;
            }
        }
        let expired = self.expire_batches(ctx, now);
        let blocked_before = self.app.state;
        self.wake_blocked_app(ctx);
        // A metadata or InitProducerId request still wanted is tried again at every pass (each
        // try moves the least-loaded node's rotation), so no pass is skipped until it has left.
        let control_wanted = (self.metadata.update_requested && !self.metadata.request_in_flight)
            || self.pid_request == ProducerIdRequest::Needed;
        self.sender_settled = round == Round::NothingDrainable
            && !control_wanted
            && !expired
            && self.app.state == blocked_before
            && self.acc.config().partitioner.availability_timeout_ns == 0;
        self.rearm_sender(ctx, now, next_check);
    }

    /// Whether the append of a record to `partition`'s last batch, which did not open a batch,
    /// needs no sender pass although its batch counts as full (`batchIsFull` is also true
    /// whenever the deque holds more than one batch, so a backlog behind the in-flight limit
    /// would otherwise wake the sender at every append).
    ///
    /// Exact: such a pass would decide nothing new. The last pass ended with no ready node
    /// able to take a request (each was at its in-flight limit, connecting or backing off), and
    /// since then only appends to the last batch of a deque that already held another have
    /// happened (anything else clears `sender_settled` or wakes the sender itself). Those
    /// leave every deque's length and first batch as the last pass saw them, which is all that
    /// `ready` and `drain` read (and the adaptive partitioner's queue sizes with them); what
    /// time alone changes (linger, backoffs, timeouts, reconnects, metadata age) is on the
    /// sender's timer. With `partitioner.availability.timeout.ms` every pass also moves the
    /// ready nodes' latency stats, so the sender is always woken then; and while a metadata or
    /// InitProducerId request waits to be sent, every pass tries it again.
    pub(super) fn sender_pass_is_settled(&self, partition: crate::batching::PartitionId) -> bool {
        self.sender_settled
            && self.wake_skips == super::WakeSkips::WhenSettled
            && self.acc.queued_batches(partition).nth(1).is_some()
    }

    fn rearm_sender(&mut self, ctx: &mut Ctx<'_, Event>, now: u64, next_check: Option<u64>) {
        let metadata = &self.metadata;
        let candidates = [
            next_check,
            self.acc.next_expiry_at_ns(),
            self.conns.next_timeout_ns(),
            self.conns.next_setup_timeout_ns(),
            self.conns.next_reconnect_ns(now),
            (metadata.update_requested && !metadata.request_in_flight)
                .then_some(metadata.next_allowed_ns),
            metadata.known.then(|| {
                metadata
                    .last_refresh_ns
                    .saturating_add(self.settings.metadata_max_age_ns)
            }),
            self.txn_next_try_ns(),
        ];
        // Anything due now was just handled or is blocked by something with its own later
        // deadline (a reconnect backoff, an in-flight limit that a response will lift).
        match candidates.into_iter().flatten().filter(|&t| t > now).min() {
            Some(at) => {
                let at = Instant::from_nanos(at);
                // Re-arming to the same deadline would only leave a stale queue entry behind.
                if ctx.deadline(self.sender_timer) != Some(at) {
                    ctx.arm(
                        self.sender_timer,
                        at,
                        Event::Producer(ProducerEvent::SenderWake),
                    );
                }
            }
            None => ctx.disarm(self.sender_timer),
        }
    }

    fn handle_request_timeouts(&mut self, ctx: &mut Ctx<'_, Event>, net: &mut Network, now: u64) {
        while self.conns.next_timeout_ns().is_some_and(|t| t <= now) {
            let jitter = (self.reconnect_rng.next_u64() >> 32) as u32;
            let Some((node, requests)) = self.conns.close_timed_out(now, jitter) else {
                break;
            };
            self.process_disconnection(
                ctx,
                net,
                (node, now),
                requests,
                ProduceError::RequestTimedOut,
            );
        }
    }

    /// `NetworkClient.handleTimedOutConnections`: a connect still not established after its
    /// setup timeout is closed and processed as a disconnection.
    fn handle_connection_setup_timeouts(
        &mut self,
        ctx: &mut Ctx<'_, Event>,
        net: &mut Network,
        now: u64,
    ) {
        while let Some(node) = self.conns.setup_timed_out(now) {
            let timeout_ms = self.conns.setup_timeout_ns(node) / 1_000_000;
            ctx.trace("producer", "connect_timeout", |e| {
                e.with("node", node).with("timeout_ms", timeout_ms)
            });
            let jitter = (self.reconnect_rng.next_u64() >> 32) as u32;
            let requests = self.conns.close(node, now, jitter);
            self.process_disconnection(
                ctx,
                net,
                (node, now),
                requests,
                ProduceError::NetworkException,
            );
        }
    }

    /// `NetworkClient.ready(node)`: true when a request can go to `node` now; otherwise, when
    /// `node` may connect (`canConnect`), a connect begins (`initiateConnect`).
    pub(super) fn node_ready(
        &mut self,
        ctx: &mut Ctx<'_, Event>,
        net: &mut Network,
        node: u32,
        now: u64,
    ) -> bool {
        if self.conns.ready(node) {
            return true;
        }
        if self.conns.can_connect(node, now) {
            self.initiate_connect(ctx, net, node, now);
        }
        false
    }

    /// `NetworkClient.initiateConnect`: the connection to `node` starts connecting (its SYN
    /// leaves now).
    fn initiate_connect(
        &mut self,
        ctx: &mut Ctx<'_, Event>,
        net: &mut Network,
        node: u32,
        now: u64,
    ) {
        self.conns.connecting(node, now);
        let setup_timeout_ms = self.conns.setup_timeout_ns(node) / 1_000_000;
        ctx.trace("producer", "connect", |e| {
            e.with("node", node)
                .with("setup_timeout_ms", setup_timeout_ms)
        });
        net.connect(ctx, BrokerId(node));
    }

    /// TCP connection `conn` to `node` is established (its SYN-ACK arrived): the client sends
    /// the ApiVersions request (`NetworkClient.handleConnections`,
    /// `handleInitiateApiVersionRequests`).
    pub(crate) fn on_connection_established(
        &mut self,
        ctx: &mut Ctx<'_, Event>,
        net: &mut Network,
        node: BrokerId,
        conn: u32,
    ) {
        if net.client_connection(node) != conn || !self.conns.is_connecting(node.0) {
            return;
        }
        self.conns.checking_api_versions(node.0);
        let correlation_id = self.next_correlation_id();
        let request = Message::ApiVersionsRequest { correlation_id };
        net.send(ctx, Node::Client, Node::Broker(node), request);
        let now = ctx.now().as_nanos();
        self.conns.push(
            node.0,
            InFlightRequest {
                correlation_id,
                sent_at_ns: now,
                kind: RequestKind::ApiVersions,
            },
        );
        self.run_once(ctx, net);
    }

    /// The ApiVersions response: the connection is READY (`handleApiVersionsResponse`).
    pub(super) fn on_api_versions_response(
        &mut self,
        ctx: &mut Ctx<'_, Event>,
        from: BrokerId,
        correlation_id: u64,
    ) {
        if self.conns.take(from.0, correlation_id).is_none() {
            return;
        }
        self.conns.set_ready(from.0);
        ctx.trace("producer", "ready", |e| e.with("node", from.0));
    }

    /// `NetworkClient.processDisconnection`: the connection to `node` is gone; every request
    /// in flight on it fails with `error` (REQUEST_TIMED_OUT after a request timeout,
    /// NETWORK_EXCEPTION when the connection closed under the client), the next connection
    /// is a new one, and metadata is refreshed (`handleServerDisconnect`).
    #[allow(
        clippy::too_many_arguments,
        reason = "a connection, a direction and what travels on it"
    )]
    fn process_disconnection(
        &mut self,
        ctx: &mut Ctx<'_, Event>,
        net: &mut Network,
        (node, now): (u32, u64),
        requests: Vec<InFlightRequest<(crate::batching::PartitionId, BatchId)>>,
        error: ProduceError,
    ) {
        // The next connection to this broker is a new one: whatever the old one held no longer
        // blocks it.
        net.reconnect(BrokerId(node));
        // A disconnect invalidates metadata.
        self.metadata.update_requested = true;
        for request in requests {
            if error == ProduceError::RequestTimedOut {
                let corr = request.correlation_id;
                ctx.trace("producer", "request_timeout", |e| {
                    e.with("corr", corr).with("node", node)
                });
            }
            match request.kind {
                RequestKind::Produce { batches } => {
                    for (partition, batch_id) in batches {
                        let response = BatchResponse {
                            now_ns: now,
                            partition,
                            batch_id,
                            error: Some(error),
                            base_offset: -1,
                            log_start_offset: -1,
                        };
                        self.complete_batch(ctx, &response);
                    }
                }
                RequestKind::Metadata => self.metadata.on_failed(now),
                RequestKind::InitProducerId => self.pid_request = ProducerIdRequest::Needed,
                RequestKind::ApiVersions => {}
                RequestKind::Transactional => self.on_txn_request_lost(),
            }
        }
    }

    /// The connection `conn` to `node` closed under the client (reset by the broker, a
    /// refused connect, or TCP giving up): processed as `NetworkClient.processDisconnection`
    /// does, unless the client has already moved to a newer connection.
    pub(super) fn on_connection_closed(
        &mut self,
        ctx: &mut Ctx<'_, Event>,
        net: &mut Network,
        node: BrokerId,
        conn: u32,
    ) {
        if net.client_connection(node) != conn {
            return;
        }
        let now = ctx.now().as_nanos();
        let jitter = (self.reconnect_rng.next_u64() >> 32) as u32;
        let requests = self.conns.close(node.0, now, jitter);
        ctx.trace("producer", "disconnect", |e| {
            e.with("node", node.0).with("in_flight", requests.len())
        });
        self.process_disconnection(
            ctx,
            net,
            (node.0, now),
            requests,
            ProduceError::NetworkException,
        );
        self.wake_blocked_app(ctx);
        self.run_once(ctx, net);
    }

    fn idempotent_housekeeping(&mut self, ctx: &mut Ctx<'_, Event>) {
        match self.acc.on_sender_loop_start() {
            ProducerIdAction::None => {}
            ProducerIdAction::EpochBumped(state) => {
                ctx.trace("producer", "epoch_bump", |e| {
                    e.with("pid", state.producer_id)
                        .with("epoch", i64::from(state.epoch))
                });
            }
            // A transactional producer gets its producer id from its coordinator, through the
            // transaction manager's own InitProducerId; `bumpIdempotentEpochAndResetIdIfNeeded`
            // enqueues the plain one only when the producer is not transactional.
            ProducerIdAction::InitProducerIdNeeded if self.txn.is_some() => {}
            ProducerIdAction::InitProducerIdNeeded => {
                if self.pid_request != ProducerIdRequest::InFlight {
                    self.pid_request = ProducerIdRequest::Needed;
                }
            }
        }
    }

    fn maybe_send_init_producer_id(
        &mut self,
        ctx: &mut Ctx<'_, Event>,
        net: &mut Network,
        now: u64,
    ) {
        if self.pid_request != ProducerIdRequest::Needed {
            return;
        }
        let sent = self.send_control_request(ctx, net, now, RequestKind::InitProducerId);
        if sent.is_some() {
            self.pid_request = ProducerIdRequest::InFlight;
        }
    }

    /// Sends a metadata or InitProducerId request to the least-loaded ready connection and
    /// tracks it in flight there (`NetworkClient.leastLoadedNode`); returns the node, or `None`
    /// when no connection can take it now.
    fn send_control_request(
        &mut self,
        ctx: &mut Ctx<'_, Event>,
        net: &mut Network,
        now: u64,
        kind: RequestKind<(crate::batching::PartitionId, BatchId)>,
    ) -> Option<u32> {
        let node = self.conns.least_loaded(now)?;
        // `DefaultMetadataUpdater.maybeUpdate`: send when the node can take it, otherwise wait
        // for a connect under way or begin one.
        if !self.node_ready(ctx, net, node, now) {
            return None;
        }
        let correlation_id = self.next_correlation_id();
        let request = match kind {
            RequestKind::Metadata => Message::MetadataRequest { correlation_id },
            RequestKind::InitProducerId => Message::InitProducerIdRequest { correlation_id },
            RequestKind::Produce { .. } | RequestKind::ApiVersions | RequestKind::Transactional => {
                unreachable!("produce requests go through drain, ApiVersions through a connect")
            }
        };
        net.send(ctx, Node::Client, Node::Broker(BrokerId(node)), request);
        self.conns.push(
            node,
            InFlightRequest {
                correlation_id,
                sent_at_ns: now,
                kind,
            },
        );
        Some(node)
    }

    fn maybe_send_metadata_request(
        &mut self,
        ctx: &mut Ctx<'_, Event>,
        net: &mut Network,
        now: u64,
    ) {
        let metadata = &mut self.metadata;
        if metadata.known
            && now
                >= metadata
                    .last_refresh_ns
                    .saturating_add(self.settings.metadata_max_age_ns)
        {
            metadata.on_max_age();
        }
        if !metadata.update_requested
            || metadata.request_in_flight
            || now < metadata.next_allowed_ns
        {
            return;
        }
        let Some(node) = self.send_control_request(ctx, net, now, RequestKind::Metadata) else {
            return;
        };
        let corr = self.next_correlation_id;
        ctx.trace("producer", "metadata_request", |e| {
            e.with("corr", corr).with("node", node)
        });
        self.metadata.on_request_sent();
    }

    /// `sendProducerData` from `ready` to the requests. Returns how the round ended and the
    /// next ready check.
    fn send_producer_data(
        &mut self,
        ctx: &mut Ctx<'_, Event>,
        net: &mut Network,
        now: u64,
    ) -> (Round, Option<u64>) {
        if !self.metadata.known {
            return (Round::NothingDrainable, None);
        }
        if self.settings.idempotence == Idempotence::Enabled
            && !self
                .acc
                .idempotence()
                .is_some_and(|s| s.producer_id_and_epoch().is_valid())
        {
            return (Round::NothingDrainable, None);
        }
        let check = self.acc.ready(now, &self.metadata.view);
        if !check.unknown_leader_partitions.is_empty() {
            self.metadata.update_requested = true;
        }
        let mut nodes = Vec::with_capacity(check.ready_nodes.len());
        for &node in &check.ready_nodes {
            let readiness = if self.node_ready(ctx, net, node.0, now) {
                nodes.push(node);
                NodeReadiness::CanDrain
            } else {
                NodeReadiness::CannotDrain
            };
            self.acc.update_node_latency_stats(node, now, readiness);
        }
        if nodes.is_empty() {
            return (Round::NothingDrainable, check.next_check_at_ns);
        }
        let requests = self.acc.drain(now, &self.metadata.view, &nodes);
        self.charge_sender_codec();
        let round = if requests.is_empty() {
            Round::NothingDrained
        } else {
            Round::Drained
        };
        for request in requests {
            self.send_produce_request(ctx, net, now, request);
        }
        (round, check.next_check_at_ns)
    }

    fn wire_batch(&self, batch: &ProducerBatch) -> WireBatch {
        let state = batch.producer_id_and_epoch();
        WireBatch {
            partition: PartitionId(batch.partition().0),
            producer_id: ProducerId(state.producer_id),
            producer_epoch: state.epoch,
            base_sequence: batch.base_sequence().unwrap_or(-1),
            records: batch
                .records()
                .iter()
                .map(|r| WireRecord {
                    id: RecordId(r.id.0),
                    size_bytes: r.size_bytes,
                })
                .collect(),
            size_bytes: batch.size_bytes(),
            batch_tag: batch.id().0,
            transactional: self.txn.is_some(),
        }
    }

    fn send_produce_request(
        &mut self,
        ctx: &mut Ctx<'_, Event>,
        net: &mut Network,
        now: u64,
        request: NodeBatches,
    ) {
        let correlation_id = self.next_correlation_id();
        let node = request.node.0;
        let mut wire = Vec::with_capacity(request.batches.len());
        let mut ids = Vec::with_capacity(request.batches.len());
        for drained in &request.batches {
            let batch = self
                .acc
                .in_flight_batch(drained.partition, drained.batch_id)
                .expect("a batch drained a moment ago is in flight");
            wire.push(self.wire_batch(batch));
            ids.push((drained.partition, drained.batch_id));
            self.metrics.produce_request_records += u64::from(drained.record_count);
            trace_drain(ctx, drained, node);
        }
        self.metrics.produce_requests += 1;
        let batch_count = wire.len();
        ctx.trace("producer", "request", |e| {
            e.with("corr", correlation_id)
                .with("node", node)
                .with("batches", batch_count)
        });
        let message = Message::ProduceRequest(ProduceRequest {
            correlation_id,
            acks: self.settings.acks,
            timeout_ns: self.settings.request_timeout_ns,
            batches: wire,
        });
        let broker = Node::Broker(BrokerId(node));
        let written = net.send_written(ctx, Node::Client, broker, message);
        // A request that cannot be written (its connection cannot deliver, the buffer is full) stays in
        // flight until its request timeout closes the connection.
        if self.settings.acks == Acks::None && written {
            // acks=0 expects no response: the request stays in flight (counting against
            // max.in.flight.requests.per.connection, holding its buffer memory) until its bytes
            // have left the client, then its batches complete with offset -1.
            let written = net.written_at(ctx.now(), Node::Client, broker);
            ctx.schedule_at(
                written,
                Event::Producer(ProducerEvent::RequestWritten {
                    node,
                    correlation_id,
                }),
            );
        }
        self.conns.push(
            node,
            InFlightRequest {
                correlation_id,
                sent_at_ns: now,
                kind: RequestKind::Produce { batches: ids },
            },
        );
        self.metrics.requests_in_flight_max = self
            .metrics
            .requests_in_flight_max
            .max(self.conns.in_flight_total() as u64);
    }

    /// An acks=0 request is written out: its batches succeed with offset -1 (unless the
    /// request timed out first and its batches were already failed).
    pub(super) fn on_request_written(
        &mut self,
        ctx: &mut Ctx<'_, Event>,
        node: u32,
        correlation_id: u64,
    ) {
        let Some(request) = self.conns.take(node, correlation_id) else {
            return;
        };
        let RequestKind::Produce { batches } = request.kind else {
            return;
        };
        let now = ctx.now().as_nanos();
        for (partition, batch_id) in batches {
            let response = BatchResponse {
                now_ns: now,
                partition,
                batch_id,
                error: None,
                base_offset: -1,
                log_start_offset: -1,
            };
            self.complete_batch(ctx, &response);
        }
    }

    /// `completeBatch` through the core, then the callbacks of a finished batch.
    fn complete_batch(&mut self, ctx: &mut Ctx<'_, Event>, response: &BatchResponse) {
        match self.acc.complete(response, &mut self.backoff_entropy) {
            CompletionOutcome::Done(batch) => self.finish_batch(ctx, &batch),
            CompletionOutcome::Retried {
                batch_id,
                backoff_ns,
            } => {
                let error = response.error.map_or("NONE", ProduceError::name);
                ctx.trace("producer", "retry", |e| {
                    e.with("batch", batch_id.0)
                        .with("partition", response.partition.0)
                        .with("error", error)
                        .with("backoff_ms", backoff_ns / 1_000_000)
                });
            }
            CompletionOutcome::Split(_) => self.charge_sender_codec(),
            CompletionOutcome::LateResponse => {}
        }
    }

    /// Runs the callbacks of a batch that reached a final state, in record order. Every record
    /// of a batch gets the same kind of outcome (an ack at `base_offset + index`, or one error),
    /// so it is decided once.
    pub(super) fn finish_batch(&mut self, ctx: &mut Ctx<'_, Event>, batch: &ProducerBatch) {
        let error = match batch.final_state() {
            None | Some(FinalState::Split { .. }) => return,
            Some(&FinalState::Succeeded { base_offset }) => {
                // acks=0 reports −1 for every record.
                self.complete_records(ctx, batch.records(), |index| Outcome::Acked {
                    offset: if base_offset < 0 {
                        -1
                    } else {
                        base_offset + index as i64
                    },
                });
                return;
            }
            Some(&FinalState::Failed { error }) => error,
            Some(FinalState::Expired) => {
                ctx.trace("producer", "expire", |e| {
                    e.with("batch", batch.id().0)
                        .with("partition", batch.partition().0)
                });
                ProduceError::DeliveryTimeout
            }
            Some(FinalState::Aborted) => ProduceError::ProducerClosedForcefully,
        };
        if let Some(txn) = &mut self.txn {
            txn.tm.on_batch_failed(error);
        }
        self.complete_records(ctx, batch.records(), |_| Outcome::Failed { error });
    }

    /// Expires what is due; returns whether any batch expired.
    fn expire_batches(&mut self, ctx: &mut Ctx<'_, Event>, now: u64) -> bool {
        if self.acc.next_expiry_at_ns().is_none_or(|t| t > now) {
            return false;
        }
        let expired = self.acc.expire(now);
        let any = !expired.is_empty();
        for batch in expired {
            self.finish_batch(ctx, &batch);
        }
        any
    }

    pub(super) fn on_produce_response(
        &mut self,
        ctx: &mut Ctx<'_, Event>,
        from: BrokerId,
        response: ProduceResponse,
    ) {
        let Some(request) = self.conns.take(from.0, response.correlation_id) else {
            // The connection was closed (request timeout) or the batches expired: ignore it.
            return;
        };
        let now = ctx.now().as_nanos();
        self.metrics.on_response(now - request.sent_at_ns);
        let corr = response.correlation_id;
        ctx.trace("producer", "response", |e| {
            e.with("corr", corr).with("node", from.0)
        });
        for part in response.partitions {
            let partition = crate::batching::PartitionId(part.partition.0);
            let error = produce_error(part.error);
            if error.is_some_and(ProduceError::invalidates_metadata) {
                self.metadata.update_requested = true;
            }
            if let (ErrorCode::NotLeaderOrFollower, Some((leader, epoch))) =
                (part.error, part.current_leader)
            {
                self.apply_leader_hint(ctx, partition, leader, epoch);
            }
            let batch_response = BatchResponse {
                now_ns: now,
                partition,
                batch_id: BatchId(part.batch_tag),
                error,
                base_offset: part.base_offset,
                log_start_offset: part.log_start_offset,
            };
            self.complete_batch(ctx, &batch_response);
        }
    }

    /// KIP-951: a NOT_LEADER_OR_FOLLOWER response names the new leader; use it at once when its
    /// epoch is newer than what the metadata says.
    fn apply_leader_hint(
        &mut self,
        ctx: &mut Ctx<'_, Event>,
        partition: crate::batching::PartitionId,
        leader: BrokerId,
        epoch: LeaderEpoch,
    ) {
        if self
            .metadata
            .view
            .leader_epoch_for(partition)
            .is_some_and(|known| known >= epoch.0)
        {
            return;
        }
        self.set_partition_leader(ctx, partition, Some(leader), epoch);
    }

    fn set_partition_leader(
        &mut self,
        ctx: &mut Ctx<'_, Event>,
        partition: crate::batching::PartitionId,
        leader: Option<BrokerId>,
        epoch: LeaderEpoch,
    ) {
        let metadata = PartitionMetadata {
            leader: leader.map(|b| NodeId(b.0)),
            leader_epoch: Some(epoch.0),
        };
        self.metadata.view.set_leader(partition, metadata);
        ctx.trace("producer", "metadata", |e| {
            e.with("partition", partition.0)
                .with("leader", leader.map_or(-1, |b| i64::from(b.0)))
                .with("epoch", epoch.0)
        });
    }

    /// Applies a metadata response; returns whether the topic just became known.
    pub(super) fn on_metadata_response(
        &mut self,
        ctx: &mut Ctx<'_, Event>,
        from: BrokerId,
        response: MetadataResponse,
    ) -> bool {
        if self.take_metadata_request(from).is_none() {
            return false;
        }
        let now = ctx.now().as_nanos();
        // `updateLatestMetadata`: a new leader epoch or a partition without a leader makes the
        // response count as new.
        let mut changed = false;
        for entry in &response.partitions {
            let partition = crate::batching::PartitionId(entry.partition.0);
            if partition.0 >= self.metadata.view.partition_count() {
                continue;
            }
            let current = (
                self.metadata.view.leader_for(partition),
                self.metadata.view.leader_epoch_for(partition),
            );
            let new = (
                entry.leader.map(|b| NodeId(b.0)),
                Some(entry.leader_epoch.0),
            );
            // Never go back to an older epoch (Metadata.updateLatestMetadata keeps the newer one).
            let older = current.1.is_some_and(|known| known > entry.leader_epoch.0);
            changed |= entry.leader.is_none()
                || current.1.is_none_or(|known| known < entry.leader_epoch.0);
            if current != new && !older {
                self.set_partition_leader(ctx, partition, entry.leader, entry.leader_epoch);
            }
            if entry.leader.is_none() {
                self.metadata.update_requested = true;
            }
        }
        self.metadata.on_response(now, changed);
        let became_known = !self.metadata.known;
        self.metadata.known = true;
        became_known
    }

    /// The outstanding metadata request on `from`, if any (matched by kind: metadata responses
    /// carry no correlation id).
    fn take_metadata_request(
        &mut self,
        from: BrokerId,
    ) -> Option<InFlightRequest<(crate::batching::PartitionId, BatchId)>> {
        let conn = self.conns.nodes.get_mut(from.0 as usize)?;
        let index = conn
            .in_flight
            .iter()
            .position(|r| matches!(r.kind, RequestKind::Metadata))?;
        conn.in_flight.remove(index)
    }

    pub(super) fn on_init_producer_id_response(
        &mut self,
        ctx: &mut Ctx<'_, Event>,
        from: BrokerId,
        correlation_id: u64,
        assigned: (ProducerId, i16),
    ) {
        if self.conns.take(from.0, correlation_id).is_none() {
            return;
        }
        let (producer_id, epoch) = assigned;
        self.acc.set_producer_id_and_epoch(ProducerIdAndEpoch {
            producer_id: producer_id.0,
            epoch,
        });
        self.pid_request = ProducerIdRequest::Idle;
        ctx.trace("producer", "init_producer_id", |e| {
            e.with("pid", producer_id.0).with("epoch", i64::from(epoch))
        });
    }
}
