//! Faults a broker injects into its own answers, for stories and tests: produce requests
//! answered with a chosen Kafka error, and produce responses held back before they are sent.
//!
//! ```text
//!   [[faults.schedule]] action = "error"           ─► Injections::errors  (next N produce requests)
//!   [[faults.schedule]] action = "delay_responses" ─► Injections::delays  (next N produce responses)
//!
//!   produce request ─► errors_for(batches) ─► per partition: before append → error, nothing written
//!                                                            after append  → written, error answered
//!   produce response ─► take_delay() ─► sent now, or held for the delay (the channel stays muted)
//! ```
//!
//! Units: counts of requests and responses; the delay in ns.
//!
//! Fidelity: an error before the append is what `ReplicaManager.appendToLocalLog` answers when
//! a check fails (NOT_ENOUGH_REPLICAS, NOT_LEADER_OR_FOLLOWER, ...: nothing written); an error
//! after the append is the shape of NOT_ENOUGH_REPLICAS_AFTER_APPEND and of a request whose
//! acknowledgement is lost after the write (the records are in the log, the client is told it
//! failed). The broker answers at once, without waiting for the acks=all condition. A held
//! response keeps the client's channel muted until it is sent, as `SocketServer` unmutes a
//! channel only after its response is written. acks=0 requests are never answered, so an
//! injected error only skips or keeps their write.

use sim::Duration;

use crate::protocol::{ErrorCode, PartitionId, WireBatch};

/// When an injected error takes effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorStage {
    /// Refused before the append: nothing is written.
    BeforeAppend,
    /// Written, then answered with the error.
    AfterAppend,
}

/// Answer the next `requests` produce requests (that carry `partition`, when given) with
/// `error` for that partition (every partition of the request, when not given).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InjectedError {
    /// The error answered.
    pub error: ErrorCode,
    /// Only this partition, or every partition of a request.
    pub partition: Option<PartitionId>,
    /// How many produce requests are still to be answered so.
    pub requests: u64,
    /// Before or after the append.
    pub stage: ErrorStage,
}

/// The error one partition of one request gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PartitionError {
    pub(crate) partition: Option<PartitionId>,
    pub(crate) error: ErrorCode,
    pub(crate) stage: ErrorStage,
}

impl PartitionError {
    fn applies_to(&self, p: PartitionId) -> bool {
        self.partition.is_none_or(|q| q == p)
    }
}

/// The injected faults a broker still has to apply.
#[derive(Clone, Debug, Default)]
pub(crate) struct Injections {
    errors: Vec<InjectedError>,
    /// `(responses left, delay)`, applied in order.
    delays: Vec<(u64, Duration)>,
}

impl Injections {
    /// Whether nothing is pending (the produce path's fast check).
    pub(crate) fn is_empty(&self) -> bool {
        self.errors.is_empty() && self.delays.is_empty()
    }

    pub(crate) fn add_error(&mut self, error: InjectedError) {
        if error.requests > 0 {
            self.errors.push(error);
        }
    }

    pub(crate) fn add_delay(&mut self, responses: u64, delay: Duration) {
        if responses > 0 {
            self.delays.push((responses, delay));
        }
    }

    /// The errors that apply to a produce request with `batches`, each counting the request
    /// once; exhausted entries are dropped. Entries apply in the order they were scheduled, and
    /// the first that covers a partition decides it.
    pub(crate) fn errors_for(&mut self, batches: &[WireBatch]) -> Vec<PartitionError> {
        let mut out = Vec::new();
        for entry in &mut self.errors {
            let hit = match entry.partition {
                None => true,
                Some(p) => batches.iter().any(|b| b.partition == p),
            };
            if hit {
                entry.requests -= 1;
                out.push(PartitionError {
                    partition: entry.partition,
                    error: entry.error,
                    stage: entry.stage,
                });
            }
        }
        self.errors.retain(|e| e.requests > 0);
        out
    }

    /// How long to hold the next produce response, if a delay is pending.
    pub(crate) fn take_delay(&mut self) -> Option<Duration> {
        let (left, delay) = self.delays.first_mut()?;
        let delay = *delay;
        *left -= 1;
        if *left == 0 {
            self.delays.remove(0);
        }
        Some(delay)
    }

    /// Forgets everything pending (the run settles).
    pub(crate) fn clear(&mut self) {
        self.errors.clear();
        self.delays.clear();
    }
}

/// The injected error that decides partition `p`, if any.
pub(crate) fn error_for(errors: &[PartitionError], p: PartitionId) -> Option<PartitionError> {
    errors.iter().find(|e| e.applies_to(p)).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ProducerId, WireRecord};

    fn batch(p: u32) -> WireBatch {
        WireBatch {
            partition: PartitionId(p),
            producer_id: ProducerId::NONE,
            producer_epoch: -1,
            base_sequence: -1,
            records: vec![WireRecord {
                id: crate::protocol::RecordId(0),
                size_bytes: 10,
            }],
            size_bytes: 80,
            batch_tag: 0,
            transactional: false,
        }
    }

    #[test]
    fn an_error_counts_requests_and_a_partition_filter_skips_other_requests() {
        let mut inj = Injections::default();
        inj.add_error(InjectedError {
            error: ErrorCode::NotEnoughReplicas,
            partition: Some(PartitionId(2)),
            requests: 2,
            stage: ErrorStage::BeforeAppend,
        });
        assert!(inj.errors_for(&[batch(0), batch(1)]).is_empty());
        let hit = inj.errors_for(&[batch(1), batch(2)]);
        assert_eq!(hit.len(), 1);
        assert_eq!(error_for(&hit, PartitionId(1)), None);
        assert_eq!(
            error_for(&hit, PartitionId(2)).map(|e| e.error),
            Some(ErrorCode::NotEnoughReplicas)
        );
        assert_eq!(inj.errors_for(&[batch(2)]).len(), 1);
        assert!(inj.errors_for(&[batch(2)]).is_empty(), "two requests only");
        assert!(inj.is_empty());
    }

    #[test]
    fn an_error_without_partition_covers_the_whole_request() {
        let mut inj = Injections::default();
        inj.add_error(InjectedError {
            error: ErrorCode::NotLeaderOrFollower,
            partition: None,
            requests: 1,
            stage: ErrorStage::AfterAppend,
        });
        let hit = inj.errors_for(&[batch(0), batch(5)]);
        assert!(error_for(&hit, PartitionId(0)).is_some());
        assert!(error_for(&hit, PartitionId(5)).is_some());
        assert!(inj.errors_for(&[batch(0)]).is_empty());
    }

    #[test]
    fn delays_apply_in_order_to_the_next_responses() {
        let mut inj = Injections::default();
        inj.add_delay(2, Duration::from_millis(5));
        inj.add_delay(1, Duration::from_millis(9));
        assert_eq!(inj.take_delay(), Some(Duration::from_millis(5)));
        assert_eq!(inj.take_delay(), Some(Duration::from_millis(5)));
        assert_eq!(inj.take_delay(), Some(Duration::from_millis(9)));
        assert_eq!(inj.take_delay(), None);
    }
}
