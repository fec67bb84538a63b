//! The producer client: the application's main thread (workload), the sender, the client's
//! metadata and connections, the idempotent producer's bookkeeping, and Kafka's metrics.
//!
//! ```text
//!   workload ──send()──► batching::RecordAccumulator ──ready/drain──► sender ──► Network
//!      ▲                        ▲ complete / expire                      │
//!      └── callbacks (ack/fail) ┴──────────── responses, timeouts ◄──────┘
//! ```
//!
//! The batching decisions (append, ready, drain, completeBatch, expiry, sequences, epoch bump)
//! are made by the real core in `batching`; this module is the I/O around it: it turns the
//! core's answers into network messages, timers and application callbacks.
//!
//! Units: integer ns of virtual time everywhere; the config's ms are converted once in
//! [`Settings::from_config`].
//!
//! Fidelity: `KafkaProducer` + `Sender` + `NetworkClient` + `Metadata` of the Java client 4.x
//! (facts §2-§4). Simplified, and said where it applies: connection setup is instant,
//! custom partitioners are not modelled (the built-in partitioner is used). Transactions
//! (`transactions`): the core's `TransactionManager` driven by the application's commit
//! interval. Compression (`compression`): the codec's sizes are measured at set-up; its
//! time is charged to `send()` for the stream buffers the application thread filled (see
//! `batching::compression`), and counted, but not waited for, on the sender, which compresses
//! the rest of a batch drained before it was full.

mod app;
pub mod client;
pub mod compression;
mod metadata;
pub mod metrics;
pub mod records;
pub mod scripted;
mod sender;
pub mod transactions;
pub mod workload;

use sim::{Ctx, Stream, TimerId};

use crate::batching::backoff::ExponentialBackoff;
use crate::batching::config::{PartitionerClass, ProducerConfig, modelled_ns};
use crate::batching::{
    AccumulatorConfig, Entropy, Idempotence, PartitionerConfig, PartitionerMode, RecordAccumulator,
};
use crate::network::Network;
use crate::protocol::{Acks, BrokerId, Message};
use crate::world::Event;

use self::app::AppThread;
pub(crate) use self::app::RunAhead;
use self::client::{ConnectionPolicy, Connections};
use self::metadata::ClientMetadata;
use self::metrics::ProducerMetrics;
use self::records::AppRecords;
use self::workload::{Workload, WorkloadPlan};

const MS: u64 = 1_000_000;

/// Everything the producer schedules for itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProducerEvent {
    /// The application thread's next step (a send, or continuing after CPU time).
    AppStep,
    /// The sender's one re-armable wake-up (`Sender.runOnce`).
    SenderWake,
    /// A `send()` blocked on buffer memory reached `max.block.ms`.
    BufferWaitExpired {
        /// The blocked append's ticket.
        ticket: u64,
    },
    /// A `send()` blocked on the first metadata reached `max.block.ms`.
    MetadataWaitExpired,
    /// Time for the application's periodic `flush()`.
    FlushTick,
    /// `close(Duration)`'s timeout ran out.
    CloseTimeout,
    /// An acks=0 produce request has been written out to its connection: it leaves the
    /// in-flight requests and its batches complete (`NetworkClient.handleCompletedSends`).
    RequestWritten {
        /// The broker.
        node: u32,
        /// The request's correlation id.
        correlation_id: u64,
    },
}

/// The producer settings the sender uses, in ns.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Settings {
    pub(crate) acks: Acks,
    pub(crate) idempotence: Idempotence,
    pub(crate) request_timeout_ns: u64,
    pub(crate) max_block_ns: u64,
    pub(crate) metadata_max_age_ns: u64,
}

impl Settings {
    /// Maps the validated producer config into the core's settings and the sender's, and
    /// lists what is accepted but not modelled.
    ///
    /// Milliseconds become nanoseconds without overflow for every value Kafka accepts:
    /// `linger.ms` is clamped to `Integer.MAX_VALUE` as `KafkaProducer.lingerMs` does, the `INT`
    /// timeouts fit as they are, and the `LONG` durations are clamped to
    /// `batching::config::MODELLED_DURATION_MS_MAX`, beyond the end of any run.
    pub(crate) fn from_config(
        config: &ProducerConfig,
    ) -> (Settings, AccumulatorConfig, Vec<String>) {
        let idempotence = if config.enable_idempotence {
            Idempotence::Enabled
        } else {
            Idempotence::Disabled
        };
        let accumulator = AccumulatorConfig {
            batch_size_bytes: config.batch_size,
            linger_ns: config.linger_ns(),
            buffer_memory_bytes: config.buffer_memory,
            max_request_size_bytes: config.max_request_size,
            delivery_timeout_ns: u64::from(config.delivery_timeout_ms) * MS,
            request_timeout_ns: u64::from(config.request_timeout_ms) * MS,
            retry_backoff_ns: modelled_ns(config.retry_backoff_ms),
            retry_backoff_max_ns: modelled_ns(config.retry_backoff_max_ms),
            max_in_flight_requests_per_connection: config.max_in_flight_requests_per_connection,
            retries: config.retries,
            idempotence,
            partitioner: PartitionerConfig {
                adaptive_partitioning: config.partitioner_adaptive_partitioning_enable,
                availability_timeout_ns: modelled_ns(config.partitioner_availability_timeout_ms),
                ignore_keys: config.partitioner_ignore_keys,
            },
            partitioner_mode: PartitionerMode::BuiltIn,
        };
        let settings = Settings {
            acks: match config.acks {
                crate::batching::config::Acks::Zero => Acks::None,
                crate::batching::config::Acks::One => Acks::Leader,
                crate::batching::config::Acks::All => Acks::All,
            },
            idempotence,
            request_timeout_ns: accumulator.request_timeout_ns,
            max_block_ns: modelled_ns(config.max_block_ms),
            metadata_max_age_ns: modelled_ns(config.metadata_max_age_ms),
        };
        let mut warnings = Vec::new();
        if config.partitioner_class != PartitionerClass::BuiltIn {
            warnings.push(format!(
                "partitioner.class={} is accepted but not modelled: the built-in partitioner is used",
                config.partitioner_class.class_name()
            ));
        }
        (settings, accumulator, warnings)
    }
}

/// A seeded stream as the core's source of randomness.
pub(crate) struct StreamEntropy(pub(crate) Stream);

impl Entropy for StreamEntropy {
    fn next_u32(&mut self) -> u32 {
        (self.0.next_u64() >> 32) as u32
    }
}

/// The idempotent producer's InitProducerId state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ProducerIdRequest {
    /// Nothing to do (not idempotent, or the id is known).
    Idle,
    /// An InitProducerId request is needed.
    Needed,
    /// One is in flight.
    InFlight,
}

/// The whole producer client.
pub(crate) struct Producer {
    pub(crate) settings: Settings,
    pub(crate) acc: RecordAccumulator,
    pub(crate) workload: Workload,
    pub(crate) app: AppThread,
    pub(crate) records: AppRecords,
    pub(crate) metadata: ClientMetadata,
    pub(crate) conns: Connections<(crate::batching::PartitionId, crate::batching::BatchId)>,
    pub(crate) pid_request: ProducerIdRequest,
    pub(crate) metrics: ProducerMetrics,
    pub(crate) partitioner_entropy: StreamEntropy,
    pub(crate) backoff_entropy: StreamEntropy,
    pub(crate) reconnect_rng: Stream,
    pub(crate) sender_timer: TimerId,
    pub(crate) next_correlation_id: u64,
    /// The codec's speeds, picoseconds per uncompressed byte (compress, decompress), when
    /// batches are compressed.
    pub(crate) codec: Option<(u64, u64)>,
    /// Whether a sender pass now would change nothing (see `Producer::sender_pass_is_settled`):
    /// set by the last pass, cleared by anything that may change what a pass decides.
    pub(crate) sender_settled: bool,
    /// Whether appends to a backlog may skip waking a settled sender.
    pub(crate) wake_skips: WakeSkips,
    /// The transactional producer's state, with a `transactional.id`.
    pub(crate) txn: Option<transactions::TxnProducer>,
}

/// Whether the sender skips the wake-ups that would find nothing to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WakeSkips {
    /// Appends to a backlog behind a sender that found no node able to take a request do not
    /// wake it (see `Producer::sender_pass_is_settled`).
    WhenSettled,
    /// Every new or full batch wakes the sender (tests compare this with `WhenSettled`).
    #[cfg_attr(
        not(test),
        allow(dead_code, reason = "compared against by the world's tests")
    )]
    Never,
}

impl Producer {
    pub(crate) fn new(
        config: &ProducerConfig,
        plan: WorkloadPlan,
        topology: (u32, u32),
        streams: &sim::RngStreams,
        sender_timer: TimerId,
    ) -> (Producer, Vec<String>) {
        let (broker_count, partition_count) = topology;
        let (settings, acc_config, warnings) = Settings::from_config(config);
        let txn = config.transactional_id.as_deref().map(|id| {
            transactions::TxnProducer::new(
                (id, config.transaction_timeout_ms),
                plan.commit,
                modelled_ns(config.retry_backoff_ms),
            )
        });
        let reconnect = ExponentialBackoff::new(
            modelled_ns(config.reconnect_backoff_ms),
            modelled_ns(config.reconnect_backoff_max_ms),
        );
        let producer = Producer {
            settings,
            acc: RecordAccumulator::new(acc_config),
            app: AppThread::new(&plan),
            workload: Workload::new(plan, streams),
            records: AppRecords::new(),
            metadata: ClientMetadata::new(
                partition_count,
                ExponentialBackoff::new(
                    modelled_ns(config.retry_backoff_ms),
                    modelled_ns(config.retry_backoff_max_ms),
                ),
                streams.stream("producer/metadata_backoff"),
            ),
            conns: Connections::new(
                broker_count,
                ConnectionPolicy {
                    request_timeout_ns: settings.request_timeout_ns,
                    max_in_flight: config.max_in_flight_requests_per_connection,
                    reconnect,
                    setup_timeout: ExponentialBackoff::new(
                        modelled_ns(config.socket_connection_setup_timeout_ms),
                        modelled_ns(config.socket_connection_setup_timeout_max_ms),
                    ),
                },
                streams.stream("producer/connection_setup"),
            ),
            pid_request: match settings.idempotence {
                Idempotence::Enabled if txn.is_none() => ProducerIdRequest::Needed,
                _ => ProducerIdRequest::Idle,
            },
            metrics: ProducerMetrics::new(),
            partitioner_entropy: StreamEntropy(streams.stream("producer/partitioner")),
            backoff_entropy: StreamEntropy(streams.stream("producer/retry_backoff")),
            reconnect_rng: streams.stream("producer/reconnect"),
            sender_timer,
            next_correlation_id: 0,
            codec: None,
            sender_settled: false,
            wake_skips: WakeSkips::WhenSettled,
            txn,
        };
        (producer, warnings)
    }

    /// Compresses batches with `codec` (measured at set-up).
    pub(crate) fn set_codec(&mut self, codec: compression::CodecSetup) {
        self.acc.set_compression(codec.compression());
        self.codec = Some((
            codec.speed.compress_ps_per_byte(),
            codec.speed.decompress_ps_per_byte(),
        ));
    }

    /// Virtual ns of codec work at the codec's speeds.
    pub(crate) fn codec_ns(&self, work: crate::batching::compression::CodecWork) -> u64 {
        let (compress_ps, decompress_ps) = self.codec.unwrap_or((0, 0));
        let ps = u128::from(work.compressed_input_bytes) * u128::from(compress_ps)
            + u128::from(work.decompressed_output_bytes) * u128::from(decompress_ps);
        u64::try_from(ps / 1000).unwrap_or(u64::MAX)
    }

    /// Counts the codec work of a sender call (drain, split) on the sender thread.
    pub(crate) fn charge_sender_codec(&mut self) {
        if self.codec.is_some() {
            let work = self.acc.take_codec_work();
            self.metrics.codec_sender_ns += self.codec_ns(work);
        }
    }

    /// Starts the application thread and the sender at time zero.
    pub(crate) fn start(&mut self, ctx: &mut Ctx<'_, Event>, net: &mut Network) {
        self.app_start(ctx);
        self.run_once(ctx, net);
    }

    /// Handles one of the producer's own events.
    pub(crate) fn on_event(
        &mut self,
        ctx: &mut Ctx<'_, Event>,
        net: &mut Network,
        ev: ProducerEvent,
    ) {
        if self.app.gone {
            return;
        }
        if !matches!(ev, ProducerEvent::AppStep | ProducerEvent::SenderWake) {
            self.sender_settled = false;
        }
        match ev {
            ProducerEvent::AppStep => self.on_app_step(ctx, net),
            ProducerEvent::SenderWake => self.run_once(ctx, net),
            ProducerEvent::BufferWaitExpired { ticket } => self.on_buffer_wait_expired(ctx, ticket),
            ProducerEvent::MetadataWaitExpired => self.on_metadata_wait_expired(ctx, net),
            ProducerEvent::FlushTick => self.on_flush_tick(ctx, net),
            ProducerEvent::CloseTimeout => self.on_close_timeout(ctx),
            ProducerEvent::RequestWritten {
                node,
                correlation_id,
            } => {
                self.on_request_written(ctx, node, correlation_id);
                self.wake_blocked_app(ctx);
                self.run_once(ctx, net);
            }
        }
    }

    /// The connection `conn` to `broker` closed under the client.
    pub(crate) fn on_disconnect(
        &mut self,
        ctx: &mut Ctx<'_, Event>,
        net: &mut Network,
        broker: BrokerId,
        conn: u32,
    ) {
        if self.app.gone {
            return;
        }
        self.on_connection_closed(ctx, net, broker, conn);
    }

    /// Handles a message delivered to the client.
    pub(crate) fn on_message(
        &mut self,
        ctx: &mut Ctx<'_, Event>,
        net: &mut Network,
        from: BrokerId,
        msg: Message,
    ) {
        if self.app.gone {
            return;
        }
        match msg {
            Message::ProduceResponse(response) => self.on_produce_response(ctx, from, response),
            Message::MetadataResponse(response) => {
                if self.on_metadata_response(ctx, from, response) {
                    self.on_metadata_known(ctx);
                }
            }
            Message::InitProducerIdResponse {
                correlation_id,
                producer_id,
                epoch,
            } => self.on_init_producer_id_response(ctx, from, correlation_id, (producer_id, epoch)),
            Message::ApiVersionsResponse { correlation_id } => {
                self.on_api_versions_response(ctx, from, correlation_id)
            }
            Message::TxnResponse {
                correlation_id,
                response,
            } => self.on_txn_response(ctx, net, (from, correlation_id), response),
            Message::TxnRequest { .. }
            | Message::ProduceRequest(_)
            | Message::MetadataRequest { .. }
            | Message::InitProducerIdRequest { .. }
            | Message::ApiVersionsRequest { .. } => {
                return;
            }
        }
        self.wake_blocked_app(ctx);
        self.run_once(ctx, net);
    }

    /// Whether nothing is left to do: no queued or in-flight batch, no blocked send.
    pub(crate) fn is_quiescent(&self) -> bool {
        self.app.gone || (!self.acc.has_incomplete() && self.app.is_idle())
    }

    /// The metric rows over `elapsed_ns` of virtual time, with the application sending for
    /// `send_phase_ns` of it.
    pub(crate) fn metric_rows(
        &self,
        (elapsed_ns, send_phase_ns): (u64, u64),
        checker: &metrics::CheckerCounts,
    ) -> Vec<(&'static str, f64)> {
        let core = self.acc.metrics();
        let pool = self.acc.pool().metrics();
        let counters = metrics::CoreCounters {
            records_drained: core.records_drained_total,
            batches_drained: core.batches_drained_total,
            batch_bytes_sum: core.batch_size_bytes_sum,
            batch_bytes_max: core.batch_size_bytes_max,
            queue_time_ns_sum: core.record_queue_time_ns_sum,
            queue_time_ns_max: core.record_queue_time_ns_max,
            records_retried: core.record_retry_total,
            records_errored: core.record_error_total,
            batch_splits: core.batch_split_total,
            buffer_exhausted: pool.buffer_exhausted_count,
            buffer_wait_ns: pool.wait_time_ns_total,
            compression_ratio_sum: core.compression_ratio_sum,
        };
        let span = metrics::RunSpan {
            elapsed_ns,
            send_phase_ns,
            offered_per_sec: self.workload.plan.offered_per_sec(),
        };
        self.metrics
            .rows(span, self.records.unfinished(), checker, &counters)
    }

    /// Records with no outcome yet.
    pub(crate) fn unfinished(&self) -> u64 {
        self.records.unfinished()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batching::config::MODELLED_DURATION_MS_MAX;

    #[test]
    fn every_kafka_duration_at_its_maximum_becomes_nanoseconds_without_overflow() {
        let mut config = ProducerConfig::defaults(crate::batching::config::KafkaVersion::V4_0);
        let long_max = i64::MAX as u64;
        config.linger_ms = long_max;
        config.max_block_ms = long_max;
        config.retry_backoff_ms = long_max;
        config.retry_backoff_max_ms = long_max;
        config.metadata_max_age_ms = long_max;
        config.partitioner_availability_timeout_ms = long_max;
        config.delivery_timeout_ms = i32::MAX as u32;
        config.request_timeout_ms = i32::MAX as u32;
        let (settings, accumulator, _) = Settings::from_config(&config);
        let cap_ns = MODELLED_DURATION_MS_MAX * MS;
        // KafkaProducer.lingerMs: clamped to Integer.MAX_VALUE ms.
        assert_eq!(accumulator.linger_ns, i32::MAX as u64 * MS);
        assert_eq!(accumulator.retry_backoff_ns, cap_ns);
        assert_eq!(accumulator.retry_backoff_max_ns, cap_ns);
        assert_eq!(accumulator.partitioner.availability_timeout_ns, cap_ns);
        assert_eq!(accumulator.delivery_timeout_ns, i32::MAX as u64 * MS);
        assert_eq!(settings.max_block_ns, cap_ns);
        assert_eq!(settings.metadata_max_age_ns, cap_ns);
        assert_eq!(settings.request_timeout_ns, i32::MAX as u64 * MS);
        // A deadline at the end of the longest run plus the longest duration still fits.
        let longest_run_ns = 3 * 10_000_000 * 1_000_000_000u64 + 1_000_000_000;
        assert!(longest_run_ns.checked_add(cap_ns * 10).is_some());
        let backoff = ExponentialBackoff::new(cap_ns, cap_ns);
        assert_eq!(backoff.backoff_with_draw_ns(62, u32::MAX), cap_ns);
    }
}
