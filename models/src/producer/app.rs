//! The application's main thread as a state machine: `send()` calls at the workload's times,
//! blocking on the first metadata and on buffer memory, sync sends waiting for their callback,
//! and periodic `flush()`.
//!
//! ```text
//!  Scheduled ──AppStep──► send(): push record ──► metadata unknown ──► WaitingMetadata ─┐
//!      ▲                        │                                                      │
//!      │                        ▼ append                                               │
//!      │        Appended / failed at once ◄── resume ◄── BlockedOnBuffer (MustWait) ◄──┘
//!      │                        │
//!      ├──── async: next arrival│ (thread busy for send_cpu_ms)
//!      └──── sync: WaitingAck ──┘ until the record's callback
//!  flush(): Flushing until every record sent before the call is complete
//!  stop_sending: the current step finishes, then Stopped; then main ends as the workload's
//!    `end` says: flush() (the default), close() / close(timeout) (then a forced close fails
//!    what is left), or a return from main without either (the process exits)
//! ```
//!
//! Units: ns.
//!
//! Fidelity: `KafkaProducer.send`/`doSend` (facts §2.1): `waitOnMetadata` and the buffer wait
//! share `max.block.ms`; failures inside `send()` (`TimeoutException`,
//! `BufferExhaustedException`, `RecordTooLargeException`) reach the callback at once and count
//! in `record-error-total`; `flush()` marks every partition ready and waits for the records sent
//! before it. A sync send (`send().get()`) that fails inside `send()` makes `get()` throw at
//! once; the application then takes its next record at the workload's next arrival (a sync
//! sender otherwise sends back to back, but an immediate failure takes no time, so back to
//! back would loop at one instant). The end of `main`: `KafkaProducer.close(Duration)` calls
//! `Sender.initiateClose` (`RecordAccumulator.close`: appends refused, every batch sendable),
//! joins the I/O thread for the timeout, then `Sender.forceClose` runs
//! `RecordAccumulator.abortIncompleteBatches` (queued and in-flight batches fail with
//! `KafkaException("Producer is closed forcefully.")`, whatever the broker wrote); the I/O
//! thread is a daemon (`KafkaThread(..., daemon = true)` in the constructor), so a `main` that
//! returns without `flush()` or `close()` ends it with the JVM: nothing more is sent and no
//! callback runs. Simplified: after an exit or a forced close the producer ignores what still
//! reaches it, and the brokers are not told the connections closed. Simplified: one application thread; `send()` costs `send_cpu_ms` of that thread,
//! charged once per call, whatever the blocking.
//!
//! Speed: in runs without faults or tracing, consecutive async sends run inside one `AppStep`
//! event, each at its own instant, while nothing else can observe or affect the producer (the
//! sender's timer, the next possible delivery to the client, the end of the send phase); this
//! is exact, and a test checks that traced runs (one event per send) give the same results.

use std::io::Write as _;

use sim::{Ctx, Instant};

use super::records::{AppRecord, Completion, Outcome};
use super::workload::{EndPlan, NewRecord, SendMode, WorkloadPlan};
use super::{Producer, ProducerEvent};
use crate::batching::{
    AbortOnNewBatch, AppendOutcome, AppendRequest, BatchRecord, ProduceError, RecordMeta,
    WaitTicket,
};
use crate::network::Network;
use crate::protocol::RecordId;
use crate::world::{Event, RunEvent};

/// Where the application thread is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AppState {
    /// An `AppStep` event is pending.
    Scheduled,
    /// Inside `send()`, waiting for the topic's metadata.
    WaitingMetadata {
        record: RecordId,
        new: NewRecord,
        deadline_ns: u64,
    },
    /// Inside `send()`, waiting for buffer memory.
    BlockedOnBuffer {
        ticket: WaitTicket,
        record: RecordId,
    },
    /// `send().get()`: waiting for this record's callback.
    WaitingAck { record: RecordId },
    /// `flush()`: waiting until every record below `end` is complete.
    Flushing { end: u64 },
    /// Inside `initTransactions`, `commitTransaction` or `abortTransaction`, until its
    /// result (see `transactions`).
    InTxnCall,
    /// Done sending.
    Stopped,
}

/// Whether the application still sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sending {
    Open,
    Stopping,
}

/// Whether the application thread may run its next sends inside the current `AppStep` event
/// instead of one event each (see [`Producer::run_ahead_limit_ns`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RunAhead {
    /// One event per send (always the case with faults, which can change links at any time).
    Never,
    /// Sends run ahead while nothing else can observe or affect the producer.
    WhenSafe,
}

/// The application thread's state.
pub(crate) struct AppThread {
    pub(crate) state: AppState,
    sending: Sending,
    mode: SendMode,
    send_cpu_ns: u64,
    flush_every_ns: u64,
    flush_due: bool,
    record_limit: Option<u64>,
    next_arrival_ns: u64,
    /// When the current `send()` call started (its CPU cost runs from here).
    call_started_ns: u64,
    /// When the codec work of the current `send()` ends (0: none): the records are written
    /// into the compressing stream inside `RecordAccumulator.append`, on this thread.
    codec_free_at_ns: u64,
    key_buf: Vec<u8>,
    run_ahead: RunAhead,
    /// When the application stops sending (the run's send phase), if it is known.
    send_end_ns: Option<u64>,
    /// While an `AppStep` runs: sends due strictly before this instant may run inline (0: none).
    ahead_limit_ns: u64,
    /// The next send to run inline, set by [`Producer::after_send`] while running ahead.
    ahead_next_ns: Option<u64>,
    /// How `main` ends after its last send, and whether it has.
    end: EndPlan,
    ended: bool,
    /// The process has exited, or the producer was closed forcefully: nothing it still holds
    /// is sent, and nothing that reaches it is handled.
    pub(crate) gone: bool,
}

impl AppThread {
    pub(crate) fn new(plan: &WorkloadPlan) -> Self {
        AppThread {
            state: AppState::Stopped,
            sending: Sending::Open,
            mode: plan.mode,
            send_cpu_ns: plan.send_cpu_ns,
            flush_every_ns: plan.flush_every_ns,
            flush_due: false,
            record_limit: plan.record_limit,
            next_arrival_ns: 0,
            call_started_ns: 0,
            codec_free_at_ns: 0,
            key_buf: Vec::with_capacity(24),
            run_ahead: RunAhead::Never,
            send_end_ns: plan.duration_ns,
            ahead_limit_ns: 0,
            ahead_next_ns: None,
            end: plan.end,
            ended: false,
            gone: false,
        }
    }

    /// Sets whether sends may run ahead (the world allows it for runs without faults).
    pub(crate) fn set_run_ahead(&mut self, run_ahead: RunAhead) {
        self.run_ahead = run_ahead;
    }

    /// Whether the thread has stopped for good.
    pub(crate) fn is_idle(&self) -> bool {
        self.state == AppState::Stopped
    }
}

impl Producer {
    pub(super) fn app_start(&mut self, ctx: &mut Ctx<'_, Event>) {
        if self.app.flush_every_ns > 0 {
            ctx.schedule_after(
                sim::Duration::from_nanos(self.app.flush_every_ns),
                Event::Producer(ProducerEvent::FlushTick),
            );
        }
        if self.txn_app_start(ctx) {
            return;
        }
        self.schedule_app_step(ctx, ctx.now().as_nanos());
    }

    /// Whether the application has stopped calling `send()`.
    pub(super) fn app_is_stopping(&self) -> bool {
        self.app.sending == Sending::Stopping
    }

    /// `main`'s end after its last transactional call.
    pub(super) fn app_main_done(&mut self, ctx: &mut Ctx<'_, Event>) {
        self.end_main(ctx);
    }

    /// The thread continues with its next `send()` at `at_ns` (after a transactional call).
    pub(super) fn app_resume(&mut self, ctx: &mut Ctx<'_, Event>, at_ns: u64) {
        self.schedule_app_step(ctx, at_ns);
    }

    fn schedule_app_step(&mut self, ctx: &mut Ctx<'_, Event>, at_ns: u64) {
        if self.app.sending == Sending::Stopping {
            self.app.state = AppState::Stopped;
            self.end_main(ctx);
            return;
        }
        self.app.state = AppState::Scheduled;
        ctx.schedule_at(
            Instant::from_nanos(at_ns.max(ctx.now().as_nanos())),
            Event::Producer(ProducerEvent::AppStep),
        );
    }

    /// The application stops calling `send()`; a call in progress finishes first. Every
    /// partition becomes ready (a flush that never ends) so queued batches leave without linger.
    pub(crate) fn stop_sending(&mut self, ctx: &mut Ctx<'_, Event>, net: &mut Network) {
        if self.app.sending == Sending::Stopping {
            return;
        }
        self.app.sending = Sending::Stopping;
        if self.app.state == AppState::Scheduled {
            self.app.state = AppState::Stopped;
        }
        if self.txn.is_some() {
            // The open transaction is committed first; `main` ends once it is.
            self.txn_on_stop(ctx, net);
            if self.app.state == AppState::InTxnCall {
                return;
            }
        }
        if self.app.end == EndPlan::Flush {
            let _ = self.acc.begin_flush();
            self.run_once(ctx, net);
        } else if self.app.state == AppState::Stopped {
            self.end_main(ctx);
        }
    }

    /// `main`'s last step once its thread is idle after the send phase: `close()` or the
    /// return without a close (a flush began with the end of sending).
    fn end_main(&mut self, ctx: &mut Ctx<'_, Event>) {
        if self.app.ended {
            return;
        }
        self.app.ended = true;
        let now = ctx.now().as_nanos();
        match self.app.end {
            EndPlan::Flush => {}
            EndPlan::Close { timeout_ns } => {
                ctx.trace("app", "close", |e| {
                    e.with(
                        "timeout_ms",
                        timeout_ns
                            .map_or(-1, |ns| i64::try_from(ns / 1_000_000).unwrap_or(i64::MAX)),
                    )
                });
                // The app thread is idle, so no append waits to be woken.
                let _ = self.acc.close();
                if timeout_ns == Some(0) {
                    // close(Duration.ZERO) skips the graceful part: `forceClose` at once.
                    self.on_close_timeout(ctx);
                    return;
                }
                self.wake_sender_at(ctx, now);
                if let Some(timeout_ns) = timeout_ns {
                    ctx.schedule_at(
                        Instant::from_nanos(now.saturating_add(timeout_ns)),
                        Event::Producer(ProducerEvent::CloseTimeout),
                    );
                }
            }
            EndPlan::Exit => {
                ctx.trace("app", "exit", |e| e);
                self.app.gone = true;
            }
        }
    }

    /// `close(Duration)` ran out: `Sender.forceClose` fails every batch still queued or in flight.
    pub(super) fn on_close_timeout(&mut self, ctx: &mut Ctx<'_, Event>) {
        if !self.acc.has_incomplete() {
            return;
        }
        ctx.trace("app", "force_close", |e| e);
        let now = ctx.now().as_nanos();
        for batch in self.acc.abort_incomplete_batches(now) {
            self.finish_batch(ctx, &batch);
        }
        self.app.gone = true;
    }

    /// The application thread's step: one `send()`, then, while it is safe, the following
    /// sends at their own instants within the same event.
    ///
    /// Running ahead is exact, not an approximation: a send touches only the producer's own
    /// state (accumulator, record bookkeeping, workload and partitioner streams) and at most
    /// arms the sender's timer at the send's instant. Nothing else reads or changes that state
    /// except producer events and deliveries to the client, and every send run ahead is due
    /// strictly before the earliest of those (see [`Producer::run_ahead_limit_ns`]). Events of
    /// other components in between touch other state (brokers, links not from the client), so
    /// their order relative to the sends does not matter.
    pub(super) fn on_app_step(&mut self, ctx: &mut Ctx<'_, Event>, net: &mut Network) {
        if self.app.state != AppState::Scheduled {
            return;
        }
        self.app.ahead_limit_ns = self.run_ahead_limit_ns(ctx, net);
        let mut now = ctx.now().as_nanos();
        loop {
            self.app_send(ctx, net, now);
            match self.app.ahead_next_ns.take() {
                Some(next_ns) => now = next_ns,
                None => break,
            }
        }
        self.app.ahead_limit_ns = 0;
    }

    /// The instant before which sends may run inside the current event (0: none may): the
    /// earlier of the next possible delivery to the client and the end of the send phase (the
    /// sender's timer, which sends may move, is checked per send in `may_run_ahead_to`). Only
    /// for plain async sending without tracing (trace events carry the event's time), periodic
    /// flushes, a record limit or blocking.
    fn run_ahead_limit_ns(&self, ctx: &Ctx<'_, Event>, net: &Network) -> u64 {
        let app = &self.app;
        // acks=0 requests complete when written (a producer event at a later instant that
        // nothing tracks here), so sends never run ahead with acks=0.
        let plain = app.run_ahead == RunAhead::WhenSafe
            && self.settings.acks != crate::protocol::Acks::None
            && !ctx.tracing()
            && app.mode == SendMode::Async
            && app.flush_every_ns == 0
            && app.record_limit.is_none()
            && app.sending == Sending::Open
            && self.metadata.known;
        let (Some(send_end_ns), Some(arrival), true) = (
            app.send_end_ns,
            net.earliest_client_arrival(ctx.now()),
            plain,
        ) else {
            return 0;
        };
        send_end_ns.min(arrival.as_nanos())
    }

    /// One `send()` call at `now` (the event's time, or a later instant when running ahead).
    fn app_send(&mut self, ctx: &mut Ctx<'_, Event>, net: &mut Network, now: u64) {
        if self.txn.is_some() && self.txn_before_send(ctx, net, now) {
            return;
        }
        if self.app.flush_due {
            self.app.flush_due = false;
            if self.app_flush(ctx, net) {
                return;
            }
        }
        if self
            .app
            .record_limit
            .is_some_and(|limit| self.records.len() >= limit)
        {
            self.app.state = AppState::Stopped;
            return;
        }
        let new = self.workload.next_record();
        self.app.call_started_ns = now;
        self.app.codec_free_at_ns = 0;
        let key_len = new.key.map_or(0, |k| self.fill_key(k).len() as u32);
        let id = self.records.push(AppRecord {
            sent_at_ns: now,
            key: new
                .key
                .map(|k| u32::try_from(k).expect("key counts are validated below 2^32")),
            partition: 0,
            bytes: new.value_bytes.saturating_add(key_len),
        });
        self.metrics.records_sent += 1;
        if self
            .app
            .record_limit
            .is_some_and(|limit| self.records.len() >= limit)
        {
            ctx.schedule_at(Instant::from_nanos(now), Event::Run(RunEvent::SendingDone));
        }
        if !self.metadata.known {
            let deadline_ns = now.saturating_add(self.settings.max_block_ns);
            self.app.state = AppState::WaitingMetadata {
                record: id,
                new,
                deadline_ns,
            };
            ctx.schedule_at(
                Instant::from_nanos(deadline_ns),
                Event::Producer(ProducerEvent::MetadataWaitExpired),
            );
            self.metadata.request_update_for_new_topic();
            self.run_once(ctx, net);
            return;
        }
        self.append_record(ctx, (id, now), new);
    }

    /// Writes `key-<k>` into the reusable key buffer.
    fn fill_key(&mut self, k: u64) -> &[u8] {
        self.app.key_buf.clear();
        write!(self.app.key_buf, "key-{k}").expect("writing to a Vec cannot fail");
        &self.app.key_buf
    }

    fn append_record(
        &mut self,
        ctx: &mut Ctx<'_, Event>,
        (id, now): (RecordId, u64),
        new: NewRecord,
    ) {
        let waited = now - self.app.call_started_ns;
        if let Some(k) = new.key {
            self.fill_key(k);
        }
        let request = AppendRequest {
            now_ns: now,
            record: RecordMeta {
                id: crate::batching::RecordId(id.0),
                key: new.key.map(|_| self.app.key_buf.as_slice()),
                value_bytes: Some(new.value_bytes),
                header_count: 0,
                headers_bytes: 0,
                timestamp_ms: None,
            },
            partition: None,
            max_block_ns: self.settings.max_block_ns.saturating_sub(waited),
            abort_on_new_batch: AbortOnNewBatch::No,
        };
        let outcome = self
            .acc
            .append(&request, &self.metadata.view, &mut self.partitioner_entropy);
        self.on_append_outcome(ctx, (id, now), outcome);
    }

    /// What `send()` does with the accumulator's answer, at `now` (the send's instant). Inlined
    /// into the send path for the common case, an appended record; the rest is out of line.
    #[inline(always)]
    fn on_append_outcome(
        &mut self,
        ctx: &mut Ctx<'_, Event>,
        (id, now): (RecordId, u64),
        outcome: AppendOutcome,
    ) {
        if self.codec.is_some() {
            self.charge_app_codec(now);
        }
        match outcome {
            AppendOutcome::Appended {
                partition,
                batch_id,
                batch_is_full,
                new_batch,
            } => {
                self.records.set_partition(id, partition.0);
                if self.txn.is_some() {
                    self.txn_on_appended(ctx, partition, now);
                }
                // Checked here so that the untraced send path makes no call for the trace.
                if ctx.tracing() {
                    let records = &self.records;
                    ctx.trace("app", "send", |e| {
                        e.with("record", id.0)
                            .with("key", records.get(id).key.map_or(-1, i64::from))
                            .with("partition", partition.0)
                    });
                    if new_batch {
                        ctx.trace("producer", "batch_new", |e| {
                            e.with("batch", batch_id.0).with("partition", partition.0)
                        });
                    }
                }
                if new_batch || (batch_is_full && !self.sender_pass_is_settled(partition)) {
                    self.wake_sender_at(ctx, now);
                }
                self.after_send(ctx, id);
            }
            refused => self.on_append_refused(ctx, (id, now), refused),
        }
    }

    /// `send()` with a record the accumulator did not append: it waits for memory or fails.
    #[inline(never)]
    fn on_append_refused(
        &mut self,
        ctx: &mut Ctx<'_, Event>,
        (id, now): (RecordId, u64),
        outcome: AppendOutcome,
    ) {
        match outcome {
            AppendOutcome::Appended { .. } => unreachable!("handled by on_append_outcome"),
            AppendOutcome::MustWait {
                ticket,
                deadline_ns,
            } => {
                self.app.state = AppState::BlockedOnBuffer { ticket, record: id };
                let records = &self.records;
                ctx.trace("app", "send_blocked", |e| {
                    e.with("record", id.0)
                        .with("key", records.get(id).key.map_or(-1, i64::from))
                        .with("max_block_ms", deadline_ns.saturating_sub(now) / 1_000_000)
                });
                ctx.schedule_at(
                    Instant::from_nanos(deadline_ns.max(now)),
                    Event::Producer(ProducerEvent::BufferWaitExpired { ticket: ticket.0 }),
                );
                // While a send waits for memory every partition is ready: let the sender drain.
                self.wake_sender_at(ctx, now);
            }
            AppendOutcome::RecordTooLarge { .. } => {
                self.fail_in_send(ctx, (id, now), ProduceError::RecordTooLarge)
            }
            AppendOutcome::BufferExhausted => {
                self.metrics.buffer_exhausted += 1;
                self.fail_in_send(ctx, (id, now), ProduceError::BufferExhausted);
            }
            AppendOutcome::Closed
            | AppendOutcome::UnknownTicket
            | AppendOutcome::AbortForNewBatch { .. } => {
                self.fail_in_send(ctx, (id, now), ProduceError::ProducerClosedForcefully);
            }
        }
    }

    /// An `ApiException` inside `send()`: the callback runs at once with the error.
    fn fail_in_send(
        &mut self,
        ctx: &mut Ctx<'_, Event>,
        (id, now): (RecordId, u64),
        error: ProduceError,
    ) {
        // The core counts RecordTooLarge and BufferExhausted in record-error-total itself.
        if !matches!(
            error,
            ProduceError::RecordTooLarge | ProduceError::BufferExhausted
        ) {
            self.metrics.send_errors += 1;
        }
        let records = &self.records;
        ctx.trace("app", "send", |e| {
            e.with("record", id.0)
                .with("key", records.get(id).key.map_or(-1, i64::from))
                .with("partition", -1i64)
        });
        self.complete_record_at(ctx, (id, now), Outcome::Failed { error });
        self.after_send(ctx, id);
    }

    /// The codec work the append at `now` did on the application thread: `send()` returns
    /// only once it is done.
    #[inline(never)]
    fn charge_app_codec(&mut self, now: u64) {
        let work = self.acc.take_codec_work();
        if work.is_empty() {
            return;
        }
        let ns = self.codec_ns(work);
        self.metrics.codec_app_ns += ns;
        self.app.codec_free_at_ns = self.app.codec_free_at_ns.max(now) + ns;
    }

    /// When the current `send()` returns: its own CPU cost from its start, and the codec's
    /// from the append.
    #[inline(always)]
    fn send_free_at(&self) -> u64 {
        let cpu_done = self.app.call_started_ns + self.app.send_cpu_ns;
        if self.codec.is_none() {
            return cpu_done;
        }
        cpu_done.max(self.app.codec_free_at_ns)
    }

    /// `send()` returned: the thread is busy until its CPU cost is paid, then takes the next
    /// record (async) or waits for this one's callback (sync).
    #[inline(always)]
    fn after_send(&mut self, ctx: &mut Ctx<'_, Event>, id: RecordId) {
        // A send run ahead returns at its own instant, after the event's time: it did not block.
        let blocked_ns = ctx
            .now()
            .as_nanos()
            .saturating_sub(self.app.call_started_ns);
        self.metrics.on_send_returned(blocked_ns);
        let free_at = self.send_free_at();
        match self.app.mode {
            SendMode::Sync => {
                if self.records.is_unfinished(id) {
                    self.app.state = AppState::WaitingAck { record: id };
                } else if ctx.now().as_nanos() <= self.app.call_started_ns {
                    // `send()` failed at once (RecordTooLargeException, BufferExhaustedException
                    // with max.block.ms = 0): `get()` throws, and the application moves on to
                    // its next record at the workload's next arrival. Retrying at the same
                    // instant would never let time advance.
                    let next = self.workload.next_arrival_ns(self.app.call_started_ns);
                    self.schedule_app_step(ctx, next.max(free_at));
                } else {
                    self.schedule_app_step(ctx, free_at);
                }
            }
            SendMode::Async => {
                self.app.next_arrival_ns = self.workload.next_arrival_ns(self.app.next_arrival_ns);
                let at = self.app.next_arrival_ns.max(free_at);
                if self.may_run_ahead_to(ctx, at) {
                    self.app.ahead_next_ns = Some(at);
                } else {
                    self.schedule_app_step(ctx, at);
                }
            }
        }
    }

    /// Whether the next send, due at `at_ns`, may run inside the current `AppStep` event: it is
    /// due before the limit computed when the event started and before the sender's timer
    /// (which a send run ahead may have armed at its own instant).
    fn may_run_ahead_to(&self, ctx: &Ctx<'_, Event>, at_ns: u64) -> bool {
        at_ns < self.app.ahead_limit_ns
            && self.app.state == AppState::Scheduled
            && ctx
                .deadline(self.sender_timer)
                .is_none_or(|deadline| at_ns < deadline.as_nanos())
    }

    /// Runs the application callback of record `id` at `now`: counts it, traces it, and
    /// unblocks a sync send or a flush waiting for it.
    fn complete_record_at(
        &mut self,
        ctx: &mut Ctx<'_, Event>,
        (id, now): (RecordId, u64),
        outcome: Outcome,
    ) {
        let Completion::First(record) = self.records.complete(id, outcome) else {
            return;
        };
        match outcome {
            Outcome::Acked { offset } => {
                self.metrics
                    .on_ack(now - record.sent_at_ns, u64::from(record.bytes));
                ctx.trace("app", "ack", |e| {
                    e.with("record", id.0).with("offset", offset)
                });
            }
            Outcome::Failed { error } => {
                self.metrics.records_failed += 1;
                ctx.trace("app", "fail", |e| {
                    e.with("record", id.0).with("error", error.name())
                });
            }
        }
        self.wake_after_callbacks(ctx, now);
    }

    /// Runs the callbacks of a finished batch's records now, in record order, record `index`
    /// with `outcome_of(index)` (one kind for the whole batch: acked at `base_offset + index`,
    /// or failed with one error): the same as [`Producer::complete_record_at`] per record, with
    /// the thread's wake-up checked once after the batch (see [`Producer::wake_after_callbacks`]).
    pub(super) fn complete_records(
        &mut self,
        ctx: &mut Ctx<'_, Event>,
        records: &[BatchRecord],
        outcome_of: impl Fn(usize) -> Outcome,
    ) {
        let now = ctx.now().as_nanos();
        if ctx.tracing() {
            // Traced runs are for reading, not speed: one callback (and trace event) at a time.
            for (index, record) in records.iter().enumerate() {
                self.complete_record_at(ctx, (RecordId(record.id.0), now), outcome_of(index));
            }
            return;
        }
        let metrics = &mut self.metrics;
        let (mut acked, mut bytes_acked) = (0u64, 0u64);
        let outcomes = records
            .iter()
            .enumerate()
            .map(|(index, record)| (RecordId(record.id.0), outcome_of(index)));
        let completed = self
            .records
            .complete_each(outcomes, |outcome, sent_at_ns, bytes| {
                if let Outcome::Acked { .. } = outcome {
                    acked += 1;
                    bytes_acked += u64::from(bytes);
                    metrics.record_ack_latency(now - sent_at_ns);
                }
            });
        if completed > 0 {
            self.metrics.records_acked += acked;
            self.metrics.bytes_acked += bytes_acked;
            self.metrics.records_failed += completed - acked;
            self.wake_after_callbacks(ctx, now);
        }
    }

    /// After callbacks at `now` that completed at least one record (one, or a whole batch's
    /// untraced): wakes the application thread if it waited for them. Once per batch is exact:
    /// such callbacks touch only the records and the metrics, and the thread waits for at most
    /// one thing (a sync send's record, or a flush's prefix), whose wake-up schedules one event,
    /// at the same instant whichever record of the batch caused it.
    fn wake_after_callbacks(&mut self, ctx: &mut Ctx<'_, Event>, now: u64) {
        self.metrics.last_completion_ns = now;
        match self.app.state {
            // A sync send's record is unfinished while the thread waits for it (`after_send`),
            // so it is finished now exactly when these callbacks completed it.
            AppState::WaitingAck { record } if !self.records.is_unfinished(record) => {
                let free_at = self.send_free_at();
                self.schedule_app_step(ctx, free_at.max(now));
            }
            AppState::Flushing { end } if self.records.all_complete_below(end) => {
                self.acc.end_flush();
                self.schedule_app_step(ctx, now);
            }
            _ => {}
        }
    }

    /// `flush()`: returns true when the thread now waits for it.
    fn app_flush(&mut self, ctx: &mut Ctx<'_, Event>, net: &mut Network) -> bool {
        let _ = self.acc.begin_flush();
        let end = self.records.len();
        if self.records.all_complete_below(end) {
            self.acc.end_flush();
            return false;
        }
        self.app.state = AppState::Flushing { end };
        self.run_once(ctx, net);
        true
    }

    pub(super) fn on_flush_tick(&mut self, ctx: &mut Ctx<'_, Event>, _net: &mut Network) {
        if self.app.sending == Sending::Stopping {
            return;
        }
        self.app.flush_due = true;
        ctx.schedule_after(
            sim::Duration::from_nanos(self.app.flush_every_ns),
            Event::Producer(ProducerEvent::FlushTick),
        );
    }

    /// Resumes the blocked send if the buffer pool woke it.
    pub(super) fn wake_blocked_app(&mut self, ctx: &mut Ctx<'_, Event>) {
        let woken = self.acc.take_woken_waiters();
        let AppState::BlockedOnBuffer { ticket, record } = self.app.state else {
            return;
        };
        if !woken.contains(&ticket) {
            return;
        }
        self.resume_blocked(ctx, (ticket, record));
    }

    fn resume_blocked(&mut self, ctx: &mut Ctx<'_, Event>, blocked: (WaitTicket, RecordId)) {
        let (ticket, record) = blocked;
        let now = ctx.now().as_nanos();
        let outcome = self.acc.resume_append(
            ticket,
            now,
            &self.metadata.view,
            &mut self.partitioner_entropy,
        );
        if let AppendOutcome::MustWait { .. } = outcome {
            return;
        }
        self.app.state = AppState::Scheduled;
        self.on_append_outcome(ctx, (record, now), outcome);
    }

    pub(super) fn on_buffer_wait_expired(&mut self, ctx: &mut Ctx<'_, Event>, ticket: u64) {
        match self.app.state {
            AppState::BlockedOnBuffer { ticket: t, record } if t.0 == ticket => {
                self.resume_blocked(ctx, (t, record));
            }
            _ => {}
        }
    }

    pub(super) fn on_metadata_wait_expired(
        &mut self,
        ctx: &mut Ctx<'_, Event>,
        _net: &mut Network,
    ) {
        let AppState::WaitingMetadata {
            record,
            deadline_ns,
            ..
        } = self.app.state
        else {
            return;
        };
        if deadline_ns != ctx.now().as_nanos() {
            return;
        }
        self.app.state = AppState::Scheduled;
        let now = ctx.now().as_nanos();
        self.fail_in_send(ctx, (record, now), ProduceError::DeliveryTimeout);
    }

    /// The first metadata arrived: a send waiting for it continues.
    pub(super) fn on_metadata_known(&mut self, ctx: &mut Ctx<'_, Event>) {
        if let AppState::WaitingMetadata { record, new, .. } = self.app.state {
            self.app.state = AppState::Scheduled;
            let now = ctx.now().as_nanos();
            self.append_record(ctx, (record, now), new);
        }
    }
}
