//! The broker's request path: the request queue and handler threads (see `handlers`), the
//! leader append with its checks (leadership, size, min ISR, idempotence), and the acks=all
//! purgatory.
//!
//! ```text
//!   on_message ─► client channel muted? ─► backlog (unread until the current request is answered)
//!             ─► mute, request queue, a handler thread: done at start + cost ─► RequestProcessed
//!     Produce:  per batch: not leader → NOT_LEADER_OR_FOLLOWER (+hint) │ too big → MESSAGE_TOO_LARGE
//!               acks=all ∧ |ISR| < min ISR → NOT_ENOUGH_REPLICAS (nothing written)
//!               dedup/sequence → duplicate (original offset) │ OUT_OF_ORDER │ INVALID_EPOCH │ append
//!               acks=0: no response (any error: close the connection) │ acks=1: respond now │
//!               acks=all: purgatory until HW ≥ last+1
//!               injected error (fault `error`): before the append → the error, nothing written;
//!               after it → written, the error answered at once
//!     Metadata: the published view        InitProducerId: a fresh producer id, epoch 0
//!     ApiVersions: answered at once (the first request on every client connection)
//!     a produce response is sent, or held back by a pending `delay_responses` (still muted)
//! ```
//!
//! Fidelity: Kafka's `SocketServer` (`Processor.processCompletedReceives` mutes a channel after
//! reading a request; `processCompletedSends`/`tryUnmuteChannel` unmutes it after the response
//! is written) handles one request per connection at a time. So requests the client pipelines
//! under `max.in.flight.requests.per.connection` overlap only their network transit: an acks=all
//! request in purgatory holds back the next one on its connection. An acks=0 request unmutes
//! once handled; one that met any error closes the connection instead
//! (`KafkaApis.handleProduceRequest` → `requestChannel.closeConnection`: there is no response
//! to carry the error, so the client learns of it by the disconnect and refreshes its
//! metadata), and the requests held back behind it are gone with it. A reconnect discards the
//! old connection's held-back requests.
//!
//! Purgatory transitions per partition slot (DelayedProduce): pending → NONE when HW passes and
//! |ISR| ≥ min ISR; → NOT_ENOUGH_REPLICAS_AFTER_APPEND when HW passes with |ISR| < min ISR;
//! → NOT_LEADER_OR_FOLLOWER when leadership is lost; → REQUEST_TIMED_OUT at the request timeout.
//!
//! Request timeouts use one re-armable timer per broker, not one event per request: the broker
//! keeps `(deadline, request)` in deadline order and the timer fires at the earliest deadline not
//! yet answered (a request answered before its deadline is dropped from the list lazily), so
//! the event queue holds one entry per broker however many requests wait (Kafka's
//! `DelayedOperationPurgatory` likewise keeps its timeouts in a timing wheel, not per request).

use std::collections::VecDeque;
use std::rc::Rc;

use sim::{Ctx, Duration, Instant};

use super::handlers::Work;
use super::injected::{ErrorStage, InjectedError, PartitionError, error_for};
use super::log::{BatchKind, BatchRecords, LogBatch};
use super::producer_state::SeqCheck;
use super::{Broker, ClusterEvent, DelayedProduce, Role, Watcher, trace_broker};
use crate::cluster::{Cluster, broker_list};
use crate::network::{DropReason, NetEvent, Network};
use crate::protocol::{
    Acks, BrokerId, ErrorCode, Message, Node, PartitionId, PartitionResponse, ProduceRequest,
    ProduceResponse, ProducerId, WireBatch,
};

/// The result of one batch of a produce request on the leader.
enum AppendOutcome {
    /// Rejected: this response, nothing written.
    Rejected(PartitionResponse),
    /// Written now: respond once the HW passes `required_offset`.
    Appended {
        response: PartitionResponse,
        required_offset: i64,
    },
    /// Already in the log: respond (original offset) once the HW passes `required_offset`.
    Duplicate {
        response: PartitionResponse,
        required_offset: i64,
    },
}

/// The acks=all requests of one broker waiting in purgatory, by delayed id. Ids are handed out
/// in order and requests leave in any order, so a deque of slots starting at the oldest id
/// still waiting finds a request by subtraction, and its capacity is reused from one request
/// to the next (a map would allocate a node whenever it goes from empty to one entry, which
/// is every request: the muted channel lets one request per connection wait at a time).
#[derive(Clone, Debug, Default)]
pub(crate) struct Purgatory {
    /// The id of `slots[0]`.
    first_id: u64,
    /// `None` for a request already answered.
    slots: VecDeque<Option<DelayedProduce>>,
}

impl Purgatory {
    /// The id the next parked request gets.
    pub(crate) fn next_id(&self) -> u64 {
        self.first_id + self.slots.len() as u64
    }

    /// Parks `delayed` under [`Purgatory::next_id`].
    fn insert(&mut self, delayed: DelayedProduce) {
        self.slots.push_back(Some(delayed));
    }

    fn slot(&self, id: u64) -> Option<usize> {
        let i = usize::try_from(id.checked_sub(self.first_id)?).ok()?;
        (i < self.slots.len()).then_some(i)
    }

    fn contains(&self, id: u64) -> bool {
        self.slot(id).is_some_and(|i| self.slots[i].is_some())
    }

    fn get_mut(&mut self, id: u64) -> Option<&mut DelayedProduce> {
        let i = self.slot(id)?;
        self.slots[i].as_mut()
    }

    fn remove(&mut self, id: u64) -> Option<DelayedProduce> {
        let i = self.slot(id)?;
        let delayed = self.slots[i].take();
        while self.slots.front().is_some_and(Option::is_none) {
            self.slots.pop_front();
            self.first_id += 1;
        }
        delayed
    }

    /// Forgets every waiting request (the broker crashed); ids keep counting up.
    pub(crate) fn clear(&mut self) {
        self.first_id = self.next_id();
        self.slots.clear();
    }
}

/// Lists the produce path needs per request only while handling it, kept between requests so
/// their capacity is reused instead of allocated each time.
#[derive(Clone, Debug, Default)]
pub(crate) struct ProduceScratch {
    /// `(slot, partition, required_offset)` of each written batch an acks=all request waits for.
    waits: Vec<(usize, PartitionId, i64)>,
    /// Partitions appended to by the request.
    appended: Vec<PartitionId>,
    /// Watchers the high watermark just passed.
    pub(crate) passed: Vec<Watcher>,
}

/// `LogValidator.validateMessagesAndAssignOffsetsCompressed`: a compressed batch is read back
/// through its codec to validate every record, and written again when the topic's codec is not
/// the producer's; the work is per uncompressed byte (`61 + Σ record sizes`).
fn codec_validation_ns(
    params: &super::config::ClusterParams,
    request: &crate::protocol::ProduceRequest,
) -> u64 {
    let ps = params.codec_validation_ps_per_byte;
    if ps == 0 {
        return 0;
    }
    let uncompressed: u64 = request
        .batches
        .iter()
        .map(|b| {
            61 + b
                .records
                .iter()
                .map(|r| u64::from(r.size_bytes))
                .sum::<u64>()
        })
        .sum();
    u64::try_from(u128::from(uncompressed) * u128::from(ps) / 1000).unwrap_or(u64::MAX)
}

impl Cluster {
    pub(crate) fn enqueue_request<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
        (from, to, connection): (Node, BrokerId, u32),
        msg: Message,
    ) {
        let Some(broker) = self.brokers.get_mut(to.0 as usize) else {
            return;
        };
        if !broker.alive {
            net.record_drop(ctx, (from, Node::Broker(to)), &msg, DropReason::BrokerDown);
            return;
        }
        let cost = match &msg {
            Message::ProduceRequest(r) => {
                let bytes: u64 = r.batches.iter().map(|b| u64::from(b.size_bytes)).sum();
                let per_batch =
                    self.params.append_cost_per_batch.as_nanos() * r.batches.len() as u64;
                per_batch
                    + bytes * self.params.append_cost_per_kib_ns / 1024
                    + codec_validation_ns(&self.params, r)
            }
            Message::MetadataRequest { .. }
            | Message::InitProducerIdRequest { .. }
            | Message::ApiVersionsRequest { .. }
            | Message::TxnRequest { .. } => 0,
            // Responses are never addressed to a broker; ignore anything else.
            _ => return,
        };
        if from == Node::Client {
            // One request per client connection at a time: later ones wait, unread.
            let channel = &mut broker.client_channel;
            if channel.connection != connection {
                if (connection.wrapping_sub(channel.connection) as i32) < 0 {
                    // A request of a connection older than the one this channel serves: the
                    // client closed it, so its answer could not be sent anyway.
                    return;
                }
                channel.reset(connection);
            }
            if channel.muted {
                channel.backlog.push_back(msg);
                return;
            }
            channel.muted = true;
        }
        let work = Work::Request {
            from,
            msg,
            connection,
        };
        let admitted = broker
            .handlers
            .admit(ctx.now(), Duration::from_nanos(cost), work);
        ctx.schedule_at(
            admitted.done,
            E::from(ClusterEvent::RequestProcessed {
                broker: to,
                thread: admitted.thread,
                incarnation: broker.incarnation,
            }),
        );
    }

    pub(crate) fn on_request_processed<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
        (b, thread): (BrokerId, u32),
        incarnation: u32,
    ) {
        let broker = &mut self.brokers[b.0 as usize];
        if !broker.alive || broker.incarnation != incarnation {
            return;
        }
        let (from, msg, connection) = match broker.handlers.take_done(thread) {
            Some(Work::Request {
                from,
                msg,
                connection,
            }) => (from, msg, connection),
            Some(Work::Fetch(req)) => return self.handle_fetch(ctx, net, req),
            None => return,
        };
        match msg {
            Message::ProduceRequest(req) => {
                self.handle_produce(ctx, net, (b, from, connection), req)
            }
            Message::MetadataRequest { correlation_id: _ } => {
                let response = Message::MetadataResponse(self.published.clone());
                net.send_on(ctx, Node::Broker(b), from, connection, response);
                self.unmute_client(ctx, net, (b, from, connection));
            }
            Message::ApiVersionsRequest { correlation_id } => {
                let response = Message::ApiVersionsResponse { correlation_id };
                net.send_on(ctx, Node::Broker(b), from, connection, response);
                self.unmute_client(ctx, net, (b, from, connection));
            }
            Message::InitProducerIdRequest { correlation_id } => {
                let producer_id = ProducerId(self.next_producer_id);
                self.next_producer_id += 1;
                net.send_on(
                    ctx,
                    Node::Broker(b),
                    from,
                    connection,
                    Message::InitProducerIdResponse {
                        correlation_id,
                        producer_id,
                        epoch: 0,
                    },
                );
                self.unmute_client(ctx, net, (b, from, connection));
            }
            Message::TxnRequest {
                correlation_id,
                request,
            } => {
                self.handle_txn_request(ctx, net, (b, from, connection), (correlation_id, request))
            }
            _ => self.unmute_client(ctx, net, (b, from, connection)),
        }
    }

    /// The request from `from` on `connection` is answered (or needs no answer): its channel
    /// reads the next request it holds back, if that connection is still the client's.
    pub(super) fn unmute_client<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
        (b, from, connection): (BrokerId, Node, u32),
    ) {
        if from != Node::Client {
            return;
        }
        let channel = &mut self.brokers[b.0 as usize].client_channel;
        if channel.connection != connection {
            // The answer to a request of a connection already closed: the open one is not
            // muted by it.
            return;
        }
        if net.client_connection(b) != connection {
            // The client has reconnected since: this channel and what it held back are gone.
            channel.reset(net.client_connection(b));
            return;
        }
        channel.muted = false;
        if let Some(next) = channel.backlog.pop_front() {
            self.enqueue_request(ctx, net, (Node::Client, b, connection), next);
        }
    }

    fn handle_produce<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
        (b, client, connection): (BrokerId, Node, u32),
        req: ProduceRequest,
    ) {
        let injections = &mut self.brokers[b.0 as usize].injections;
        let injected = if injections.is_empty() {
            Vec::new()
        } else {
            injections.errors_for(&req.batches)
        };
        let (responses, waits) =
            self.append_batches(ctx, net, b, (req.batches, req.acks, &injected));
        if req.acks == Acks::None {
            self.produce_scratch.waits = waits;
            if responses.iter().any(|r| r.error != ErrorCode::None) {
                // `KafkaApis.handleProduceRequest`: an acks=0 request with any error closes
                // the connection, so that the client refreshes its metadata.
                let corr = req.correlation_id;
                trace_broker(ctx, b, "close_connection", |e| {
                    e.with("corr", corr).with("reason", "acks0_error")
                });
                net.close_by_acceptor(ctx, b, connection);
                return;
            }
            // acks=0: no response; the channel is unmuted once the request is handled.
            self.unmute_client(ctx, net, (b, client, connection));
            return;
        }
        let delayed = DelayedProduce {
            client,
            connection,
            correlation_id: req.correlation_id,
            responses,
            pending_count: 0,
        };
        let timeout = Duration::from_nanos(req.timeout_ns);
        self.park_or_respond(ctx, net, (b, timeout), (delayed, waits));
    }

    /// Appends every batch of a request in order; returns one response per batch and, for
    /// acks=all, the `(slot, partition, required_offset)` each written batch waits for.
    /// `injected`: the errors this request was chosen for (fault `error`): refused before the
    /// append, or written and then answered with the error without waiting for acks=all.
    fn append_batches<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
        b: BrokerId,
        (batches, acks, injected): (Vec<WireBatch>, Acks, &[PartitionError]),
    ) -> (Vec<PartitionResponse>, Vec<(usize, PartitionId, i64)>) {
        let mut responses = Vec::with_capacity(batches.len());
        // Taken, not borrowed: the calls below need `self` (a nested use just allocates anew).
        let mut waits = std::mem::take(&mut self.produce_scratch.waits);
        let mut appended = std::mem::take(&mut self.produce_scratch.appended);
        for batch in batches {
            let (p, tag) = (batch.partition, batch.batch_tag);
            let injected = error_for(injected, p);
            if let Some(e) = injected.filter(|e| e.stage == ErrorStage::BeforeAppend) {
                trace_injected(ctx, b, p, e);
                responses.push(self.error_response(p, e.error, tag));
                continue;
            }
            let outcome = self.append_to_leader(ctx, b, batch, acks);
            if let Some(e) = injected {
                // Written (or found a duplicate): answered with the error at once.
                if let AppendOutcome::Appended { response, .. } = &outcome {
                    appended.push(response.partition);
                }
                if !matches!(outcome, AppendOutcome::Rejected(_)) {
                    trace_injected(ctx, b, p, e);
                    responses.push(self.error_response(p, e.error, tag));
                    continue;
                }
            }
            let (response, required_offset) = match outcome {
                AppendOutcome::Rejected(r) => {
                    responses.push(r);
                    continue;
                }
                AppendOutcome::Appended {
                    response,
                    required_offset,
                } => {
                    appended.push(response.partition);
                    (response, required_offset)
                }
                AppendOutcome::Duplicate {
                    response,
                    required_offset,
                } => (response, required_offset),
            };
            if acks == Acks::All {
                waits.push((responses.len(), response.partition, required_offset));
            }
            responses.push(response);
        }
        for &p in &appended {
            self.maybe_advance_hw(ctx, net, b, p);
            self.wake_parked_fetches(ctx, net, b, p);
        }
        appended.clear();
        self.produce_scratch.appended = appended;
        (responses, waits)
    }

    /// Responds at once when every written batch is already below the HW; otherwise parks the
    /// request in purgatory with a watcher per waiting partition and a timeout.
    fn park_or_respond<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
        (b, timeout): (BrokerId, Duration),
        (mut delayed, mut waits): (DelayedProduce, Vec<(usize, PartitionId, i64)>),
    ) {
        let id = self.brokers[b.0 as usize].purgatory.next_id();
        for (slot, p, required_offset) in waits.drain(..) {
            let verdict = self.hw_passed_verdict(b, p);
            let replica = self
                .replica_mut(b, p)
                .expect("the partition was just appended on this broker");
            if replica.hw >= required_offset {
                delayed.responses[slot].error = verdict;
                continue;
            }
            let Role::Leader(leader) = &mut replica.role else {
                unreachable!("append_to_leader checked leadership")
            };
            // Watchers stay sorted by offset: a duplicate may wait for an earlier offset.
            let at = leader
                .watchers
                .partition_point(|w| w.required_offset <= required_offset);
            leader.watchers.insert(
                at,
                Watcher {
                    required_offset,
                    delayed_id: id,
                    slot,
                },
            );
            delayed.pending_count += 1;
        }
        self.produce_scratch.waits = waits;
        if delayed.pending_count == 0 {
            self.send_produce_response(ctx, net, b, delayed);
            return;
        }
        let broker = &mut self.brokers[b.0 as usize];
        broker.purgatory.insert(delayed);
        add_purgatory_deadline(ctx, b, broker, (ctx.now() + timeout, id));
    }

    /// The leader-side append of one batch (Partition.appendRecordsToLeader + UnifiedLog checks).
    fn append_to_leader<E: From<ClusterEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        b: BrokerId,
        batch: WireBatch,
        acks: Acks,
    ) -> AppendOutcome {
        let (p, tag) = (batch.partition, batch.batch_tag);
        if let Err(error) = self.check_leader_append(ctx, b, &batch, acks) {
            return AppendOutcome::Rejected(self.error_response(p, error, tag));
        }
        if let Some(outcome) = self.check_producer_state(ctx, b, &batch) {
            return outcome;
        }
        let base_offset = self.append_batch(ctx, b, batch);
        let required_offset = self.log_end_offset(b, p);
        AppendOutcome::Appended {
            response: success(p, base_offset, tag),
            required_offset,
        }
    }

    /// Checks before anything is written: partition, leadership, size, min ISR for acks=all.
    fn check_leader_append<E>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        b: BrokerId,
        batch: &WireBatch,
        acks: Acks,
    ) -> Result<(), ErrorCode> {
        let p = batch.partition;
        if p.0 >= self.params.partition_count {
            return Err(ErrorCode::UnknownTopicOrPartition);
        }
        if !matches!(self.replica(b, p).map(|r| &r.role), Some(Role::Leader(_))) {
            return Err(ErrorCode::NotLeaderOrFollower);
        }
        if batch.size_bytes > self.params.max_message_bytes {
            return Err(ErrorCode::MessageTooLarge);
        }
        let isr = self.leader_isr(b, p).expect("checked leadership");
        if acks == Acks::All && isr.len() < self.params.effective_min_isr as usize {
            let isr = broker_list(isr);
            trace_broker(ctx, b, "not_enough_replicas", |e| {
                e.with("partition", p.0).with("isr", isr)
            });
            return Err(ErrorCode::NotEnoughReplicas);
        }
        Ok(())
    }

    /// Broker-side idempotence: `Some` outcome for a duplicate or a rejected sequence/epoch,
    /// `None` when the batch is to be appended.
    fn check_producer_state<E>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        b: BrokerId,
        batch: &WireBatch,
    ) -> Option<AppendOutcome> {
        let (p, tag) = (batch.partition, batch.batch_tag);
        let (pid, epoch, first_seq) =
            (batch.producer_id, batch.producer_epoch, batch.base_sequence);
        if pid == ProducerId::NONE {
            return None;
        }
        let replica = self
            .replica(b, p)
            .expect("check_leader_append found the replica");
        match replica
            .producers
            .check(pid, epoch, first_seq, batch.last_sequence())
        {
            SeqCheck::Append => {
                if first_seq != 0 && !replica.producers.knows(pid) {
                    // `ProducerAppendInfo.checkSequence` accepts any first sequence from a
                    // producer the partition has no state for (KAFKA-15591).
                    trace_broker(ctx, b, "unknown_producer_sequence", |e| {
                        e.with("partition", p.0)
                            .with("pid", pid.0)
                            .with("epoch", i64::from(epoch))
                            .with("seq", first_seq)
                    });
                }
                None
            }
            SeqCheck::Duplicate { base_offset } => {
                trace_broker(ctx, b, "duplicate", |e| {
                    e.with("partition", p.0)
                        .with("offset", base_offset)
                        .with("pid", pid.0)
                        .with("epoch", i64::from(epoch))
                        .with("seq", first_seq)
                        .with("stored", replica.producers.describe(pid))
                });
                let required_offset = base_offset + batch.records.len() as i64;
                Some(AppendOutcome::Duplicate {
                    response: success(p, base_offset, tag),
                    required_offset,
                })
            }
            SeqCheck::Reject { error, expected } => {
                if error == ErrorCode::OutOfOrderSequenceNumber {
                    trace_broker(ctx, b, "out_of_order", |e| {
                        e.with("partition", p.0)
                            .with("pid", pid.0)
                            .with("epoch", i64::from(epoch))
                            .with("seq", first_seq)
                            .with("expected", expected)
                    });
                }
                Some(AppendOutcome::Rejected(self.error_response(p, error, tag)))
            }
        }
    }

    /// Writes the batch at the leader's log end; returns its base offset.
    fn append_batch<E>(&mut self, ctx: &mut Ctx<'_, E>, b: BrokerId, batch: WireBatch) -> i64 {
        let p = batch.partition;
        let replica = self
            .replica_mut(b, p)
            .expect("the caller checked the replica");
        let Role::Leader(leader) = &replica.role else {
            unreachable!("the caller checked leadership")
        };
        let entry = Rc::new(LogBatch {
            base_offset: replica.log.leo(),
            leader_epoch: leader.epoch,
            producer_id: batch.producer_id,
            producer_epoch: batch.producer_epoch,
            base_sequence: batch.base_sequence,
            last_sequence: batch.last_sequence(),
            size_bytes: batch.size_bytes,
            records: BatchRecords::of(&batch.records),
            kind: if batch.transactional {
                BatchKind::Transactional
            } else {
                BatchKind::Plain
            },
        });
        replica.producers.record(&entry);
        replica.log.append(Rc::clone(&entry));
        trace_broker(ctx, b, "append", |e| {
            e.with("partition", p.0)
                .with("base_offset", entry.base_offset)
                .with("records", entry.records.len())
                .with("pid", entry.producer_id.0)
                .with("epoch", i64::from(entry.producer_epoch))
                .with("seq", entry.base_sequence)
                .with(
                    "first_record",
                    entry.records.first().map_or(-1, |r| r.0 as i64),
                )
                .with("record_ids", entry.records.describe())
                .with("stored", replica.producers.describe(entry.producer_id))
        });
        self.touch_partition(p);
        entry.base_offset
    }

    /// Resolves slot `slot` of delayed produce `id` on broker `b` with `error`; sends the
    /// response when it was the last pending slot.
    pub(crate) fn resolve_delayed<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
        b: BrokerId,
        (watcher, error): (Watcher, ErrorCode),
    ) {
        let broker = &mut self.brokers[b.0 as usize];
        let Some(delayed) = broker.purgatory.get_mut(watcher.delayed_id) else {
            return;
        };
        let response = &mut delayed.responses[watcher.slot];
        if error != ErrorCode::None {
            response.error = error;
            if error == ErrorCode::NotLeaderOrFollower {
                response.base_offset = -1;
                response.log_start_offset = -1;
            }
        }
        delayed.pending_count -= 1;
        if delayed.pending_count == 0 {
            let delayed = broker
                .purgatory
                .remove(watcher.delayed_id)
                .expect("looked up above");
            self.send_produce_response(ctx, net, b, delayed);
        }
    }

    /// The broker's purgatory timer fired: every request whose deadline has passed times out,
    /// in deadline order (then arrival order), and the timer is re-armed at the next deadline.
    pub(crate) fn on_purgatory_timeout<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
        (b, incarnation): (BrokerId, u32),
    ) {
        let broker = &self.brokers[b.0 as usize];
        if !broker.alive || broker.incarnation != incarnation {
            return;
        }
        let now = ctx.now();
        while let Some(&(deadline, id)) = self.brokers[b.0 as usize].purgatory_deadlines.front() {
            if deadline > now {
                break;
            }
            self.brokers[b.0 as usize].purgatory_deadlines.pop_front();
            self.time_out_delayed(ctx, net, b, id);
        }
        let broker = &mut self.brokers[b.0 as usize];
        drop_answered_deadlines(broker);
        if let Some(&(deadline, _)) = broker.purgatory_deadlines.front() {
            let timer = broker.purgatory_timer.expect("armed before it fired");
            let ev = ClusterEvent::PurgatoryTimeout {
                broker: b,
                incarnation,
            };
            ctx.arm(timer, deadline, E::from(ev));
        }
    }

    /// Delayed produce `id` reached its timeout: slots still waiting get REQUEST_TIMED_OUT.
    fn time_out_delayed<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
        b: BrokerId,
        id: u64,
    ) {
        let broker = &mut self.brokers[b.0 as usize];
        let Some(mut delayed) = broker.purgatory.remove(id) else {
            return;
        };
        // Slots still watched time out; their watchers are dropped lazily when popped.
        for replica in broker.replicas.iter_mut().flatten() {
            if let Role::Leader(leader) = &mut replica.role {
                for w in leader.watchers.iter().filter(|w| w.delayed_id == id) {
                    delayed.responses[w.slot].error = ErrorCode::RequestTimedOut;
                    delayed.responses[w.slot].base_offset = -1;
                }
                leader.watchers.retain(|w| w.delayed_id != id);
            }
        }
        self.send_produce_response(ctx, net, b, delayed);
    }

    /// Answers `delayed` now, or holds it back when a `delay_responses` fault is pending (the
    /// client's channel stays muted until it is sent).
    fn send_produce_response<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
        b: BrokerId,
        delayed: DelayedProduce,
    ) {
        let broker = &mut self.brokers[b.0 as usize];
        if !broker.injections.is_empty()
            && let Some(delay) = broker.injections.take_delay()
        {
            let corr = delayed.correlation_id;
            broker.held_responses.push_back(delayed);
            let incarnation = broker.incarnation;
            trace_broker(ctx, b, "hold_response", |e| {
                e.with("corr", corr).with("delay_ns", delay.as_nanos())
            });
            ctx.schedule_after(
                delay,
                E::from(ClusterEvent::HeldResponseDue {
                    broker: b,
                    incarnation,
                }),
            );
            return;
        }
        self.write_produce_response(ctx, net, b, delayed);
    }

    /// Sends the oldest held response of broker `b`, unless it crashed since.
    pub(crate) fn on_held_response_due<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
        (b, incarnation): (BrokerId, u32),
    ) {
        let broker = &mut self.brokers[b.0 as usize];
        if broker.incarnation != incarnation {
            return;
        }
        if let Some(delayed) = broker.held_responses.pop_front() {
            self.write_produce_response(ctx, net, b, delayed);
        }
    }

    /// Fault `error`: broker `b` answers its next produce requests with an error.
    pub fn inject_error(&mut self, b: BrokerId, error: InjectedError) {
        if let Some(broker) = self.brokers.get_mut(b.0 as usize) {
            broker.injections.add_error(error);
        }
    }

    /// Fault `delay_responses`: broker `b` holds its next `n` produce responses back by `delay`.
    pub fn delay_responses(&mut self, b: BrokerId, n: u64, delay: Duration) {
        if let Some(broker) = self.brokers.get_mut(b.0 as usize) {
            broker.injections.add_delay(n, delay);
        }
    }

    fn write_produce_response<E: From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        net: &mut Network,
        b: BrokerId,
        delayed: DelayedProduce,
    ) {
        let (client, connection) = (delayed.client, delayed.connection);
        let corr = delayed.correlation_id;
        let mut delayed = delayed;
        // KIP-951: `KafkaApis` fills in the current leader of every NOT_LEADER_OR_FOLLOWER
        // partition when it sends the response, from the broker's own metadata.
        for r in &mut delayed.responses {
            if r.error == ErrorCode::NotLeaderOrFollower {
                r.current_leader = self.leader_hint_on(b, r.partition);
            }
        }
        for r in &delayed.responses {
            trace_broker(ctx, b, "respond", |e| {
                e.with("corr", corr)
                    .with("partition", r.partition.0)
                    .with("error", r.error.name())
                    .with("offset", r.base_offset)
            });
        }
        let msg = Message::ProduceResponse(ProduceResponse {
            correlation_id: corr,
            partitions: delayed.responses,
        });
        net.send_on(ctx, Node::Broker(b), client, connection, msg);
        self.unmute_client(ctx, net, (b, client, connection));
    }

    /// The verdict for a watcher whose offset the HW passed: NONE, or
    /// NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR is below min ISR.
    pub(crate) fn hw_passed_verdict(&self, leader: BrokerId, p: PartitionId) -> ErrorCode {
        // `checkEnoughReplicasReachOffset` compares min ISR with the maximal ISR.
        if self.leader_maximal_isr_len(leader, p) >= self.params.effective_min_isr as usize {
            ErrorCode::None
        } else {
            ErrorCode::NotEnoughReplicasAfterAppend
        }
    }
}

/// The `broker/<id> | inject_error` trace event.
fn trace_injected<E>(ctx: &mut Ctx<'_, E>, b: BrokerId, p: PartitionId, e: PartitionError) {
    trace_broker(ctx, b, "inject_error", |ev| {
        ev.with("partition", p.0)
            .with("error", e.error.name())
            .with(
                "stage",
                match e.stage {
                    ErrorStage::BeforeAppend => "before_append",
                    ErrorStage::AfterAppend => "after_append",
                },
            )
    });
}

/// Records the deadline of a request just parked in purgatory and makes sure the broker's
/// timer fires no later than it. The timer is only re-armed when the new deadline is earlier
/// than the armed one (with a constant `request.timeout.ms`, only when it is disarmed), so
/// parking a request costs no event-queue entry in the common case.
fn add_purgatory_deadline<E: From<ClusterEvent>>(
    ctx: &mut Ctx<'_, E>,
    b: BrokerId,
    broker: &mut Broker,
    (deadline, id): (Instant, u64),
) {
    drop_answered_deadlines(broker);
    let deadlines = &mut broker.purgatory_deadlines;
    // Deadlines arrive in non-decreasing order when the timeout is constant; keep the order
    // (ties by arrival) when it is not.
    let at = deadlines.partition_point(|&(d, _)| d <= deadline);
    deadlines.insert(at, (deadline, id));
    let timer = *broker
        .purgatory_timer
        .get_or_insert_with(|| ctx.new_timer());
    if ctx.deadline(timer).is_none_or(|armed| armed > deadline) {
        let ev = ClusterEvent::PurgatoryTimeout {
            broker: b,
            incarnation: broker.incarnation,
        };
        ctx.arm(timer, deadline, E::from(ev));
    }
}

/// Drops deadlines at the front whose request was already answered (lazy removal).
fn drop_answered_deadlines(broker: &mut Broker) {
    while let Some(&(_, id)) = broker.purgatory_deadlines.front() {
        if broker.purgatory.contains(id) {
            break;
        }
        broker.purgatory_deadlines.pop_front();
    }
}

fn success(p: PartitionId, base_offset: i64, batch_tag: u64) -> PartitionResponse {
    PartitionResponse {
        partition: p,
        error: ErrorCode::None,
        base_offset,
        log_start_offset: 0,
        current_leader: None,
        batch_tag,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delayed(correlation_id: u64) -> DelayedProduce {
        DelayedProduce {
            client: Node::Client,
            connection: 0,
            correlation_id,
            responses: Vec::new(),
            pending_count: 1,
        }
    }

    #[test]
    fn purgatory_finds_requests_by_id_when_they_leave_out_of_order() {
        let mut purgatory = Purgatory::default();
        for corr in 0..3 {
            assert_eq!(purgatory.next_id(), corr);
            purgatory.insert(delayed(corr));
        }
        assert_eq!(purgatory.remove(1).map(|d| d.correlation_id), Some(1));
        assert!(purgatory.remove(1).is_none(), "removed once");
        assert!(purgatory.contains(0) && !purgatory.contains(1) && purgatory.contains(2));
        assert_eq!(purgatory.remove(0).map(|d| d.correlation_id), Some(0));
        assert_eq!(purgatory.get_mut(2).map(|d| d.correlation_id), Some(2));
        assert!(!purgatory.contains(3), "not parked yet");
        purgatory.clear();
        assert!(!purgatory.contains(2));
        assert_eq!(purgatory.next_id(), 3, "ids keep counting after a crash");
        purgatory.insert(delayed(3));
        assert_eq!(purgatory.remove(3).map(|d| d.correlation_id), Some(3));
        assert_eq!(purgatory.next_id(), 4);
    }
}
