//! The client's metadata: the leaders it believes in and when it may ask for fresh metadata
//! (Kafka's `Metadata` refresh state).
//!
//! ```text
//!   update wanted (error, unknown leader, disconnect, max age) ─┐
//!   new topic (the first send()) ── answered by a request in flight, else wanted at once
//!                                                               ▼
//!   no request in flight and now ≥ next_allowed ─► MetadataRequest ─► response: update
//!                                                           └─► lost/timed out: failed update
//!   next_allowed = last response or failure
//!                  + max(backoff(attempts - 1, or 0), backoff(equivalent responses - 1, or 0))
//! ```
//!
//! Units: ns.
//!
//! Fidelity: `clients/src/main/java/org/apache/kafka/clients/Metadata.java` of 4.x (KIP-580):
//! `timeToAllowUpdate` takes the larger of two backoffs from `lastRefreshMs` (set by `update`
//! and `failedUpdate`): one over `attempts` (failed updates since the last response, raised by
//! `failedUpdate`, zeroed by `update`), one over `equivalentResponseCount` (raised by every
//! `update`, zeroed by `updateLatestMetadata` when a partition shows a new leader epoch or
//! has no leader, by `failedUpdate`, by `requestUpdateForNewTopics` and when the metadata
//! reaches `metadata.max.age.ms`); both use `ExponentialBackoff(retry.backoff.ms, 2,
//! retry.backoff.max.ms, 0.2)`. `requestUpdateForNewTopics` zeroes `lastRefreshMs`, so a new
//! topic is asked for at once. Before 3.7 the backoff is a flat `retry.backoff.ms` from
//! `lastRefreshMs` (`retry.backoff.max.ms` equals it in those profiles, which makes the same
//! policy flat). Simplified: Kafka draws a new jitter each time it evaluates
//! `timeToAllowUpdate`; here the jitter is drawn once per change of the refresh state, from
//! the stream `producer/metadata_backoff`. A metadata request carries the one topic, so a
//! request already in flight answers a `send()` that needs the topic (Kafka's request
//! versions: the response of a request built after the topic was added clears
//! `needPartialUpdate`).

use sim::Stream;

use crate::batching::ClusterView;
use crate::batching::backoff::ExponentialBackoff;

use super::StreamEntropy;

/// The client's metadata: the leaders it believes in and its refresh state.
pub(crate) struct ClientMetadata {
    pub(crate) view: ClusterView,
    /// Whether any metadata response has arrived (the topic is known).
    pub(crate) known: bool,
    pub(crate) update_requested: bool,
    pub(crate) request_in_flight: bool,
    /// The last successful refresh (`lastSuccessfulRefreshMs`), for `metadata.max.age.ms`.
    pub(crate) last_refresh_ns: u64,
    /// The earliest time of the next metadata request (`timeToAllowUpdate`).
    pub(crate) next_allowed_ns: u64,
    refresh: RefreshBackoff,
}

/// The state behind `Metadata.timeToAllowUpdate`.
struct RefreshBackoff {
    policy: ExponentialBackoff,
    /// The last response or failure (`lastRefreshMs`); `None` before the first, or after a
    /// new topic was asked for.
    last_attempt_ns: Option<u64>,
    /// Failed updates since the last response (`attempts`).
    failed_attempts: u32,
    /// Responses in a row that brought nothing new (`equivalentResponseCount`).
    equivalent_responses: u32,
    entropy: StreamEntropy,
}

impl ClientMetadata {
    /// Metadata for `partition_count` partitions, nothing known yet and an update wanted (the
    /// bootstrap asks for a full update at once); `policy` is the refresh backoff.
    pub(crate) fn new(partition_count: u32, policy: ExponentialBackoff, stream: Stream) -> Self {
        ClientMetadata {
            view: ClusterView::new(partition_count),
            known: false,
            update_requested: true,
            request_in_flight: false,
            last_refresh_ns: 0,
            next_allowed_ns: 0,
            refresh: RefreshBackoff {
                policy,
                last_attempt_ns: None,
                failed_attempts: 0,
                equivalent_responses: 0,
                entropy: StreamEntropy(stream),
            },
        }
    }

    /// `requestUpdateForNewTopics`: a `send()` needs the topic. A request in flight carries it
    /// already; otherwise one is wanted at once, without backoff.
    pub(crate) fn request_update_for_new_topic(&mut self) {
        if self.request_in_flight {
            return;
        }
        self.update_requested = true;
        self.refresh.last_attempt_ns = None;
        self.refresh.equivalent_responses = 0;
        self.next_allowed_ns = 0;
    }

    /// A metadata request was sent.
    pub(crate) fn on_request_sent(&mut self) {
        self.request_in_flight = true;
        self.update_requested = false;
    }

    /// `Metadata.update`: a response arrived at `now_ns`; `changed` says whether it showed a
    /// new leader epoch or a partition without a leader (`updateLatestMetadata`).
    pub(crate) fn on_response(&mut self, now_ns: u64, changed: bool) {
        self.request_in_flight = false;
        self.last_refresh_ns = now_ns;
        let refresh = &mut self.refresh;
        refresh.last_attempt_ns = Some(now_ns);
        refresh.failed_attempts = 0;
        refresh.equivalent_responses = if changed {
            0
        } else {
            refresh.equivalent_responses.saturating_add(1)
        };
        self.next_allowed_ns = self.refresh.allowed_at_ns();
    }

    /// `Metadata.failedUpdate`: the request was lost (its connection closed) at `now_ns`.
    pub(crate) fn on_failed(&mut self, now_ns: u64) {
        self.request_in_flight = false;
        let refresh = &mut self.refresh;
        refresh.last_attempt_ns = Some(now_ns);
        refresh.failed_attempts = refresh.failed_attempts.saturating_add(1);
        refresh.equivalent_responses = 0;
        self.next_allowed_ns = self.refresh.allowed_at_ns();
    }

    /// The metadata reached `metadata.max.age.ms`: an update is wanted, and the backoff over
    /// equivalent responses no longer applies.
    pub(crate) fn on_max_age(&mut self) {
        self.update_requested = true;
        if self.refresh.equivalent_responses > 0 {
            self.refresh.equivalent_responses = 0;
            self.next_allowed_ns = self.refresh.allowed_at_ns();
        }
    }
}

impl RefreshBackoff {
    /// `timeToAllowUpdate` as an instant: the larger backoff over failed attempts and over
    /// equivalent responses, from the last response or failure.
    fn allowed_at_ns(&mut self) -> u64 {
        let Some(last) = self.last_attempt_ns else {
            return 0;
        };
        let policy = self.policy;
        let for_attempts =
            policy.backoff_ns(self.failed_attempts.saturating_sub(1), &mut self.entropy);
        let for_equivalent = match self.equivalent_responses {
            0 => 0,
            n => policy.backoff_ns(n - 1, &mut self.entropy),
        };
        last.saturating_add(for_attempts.max(for_equivalent))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn metadata(backoff_ms: u64, max_ms: u64) -> ClientMetadata {
        let streams = sim::RngStreams::new(7);
        ClientMetadata::new(
            1,
            ExponentialBackoff::new(backoff_ms * MS, max_ms * MS),
            streams.stream("producer/metadata_backoff"),
        )
    }

    fn within_jitter(got_ns: u64, nominal_ms: u64) -> bool {
        let nominal = nominal_ms * MS;
        got_ns >= nominal * 8 / 10 && got_ns <= nominal * 12 / 10
    }

    #[test]
    fn the_first_request_goes_at_once_and_a_new_topic_skips_the_backoff() {
        let mut m = metadata(100, 1000);
        assert!(m.update_requested);
        assert_eq!(m.next_allowed_ns, 0);
        m.on_request_sent();
        // The first send() needs the topic while the bootstrap request is out: it carries it.
        m.request_update_for_new_topic();
        assert!(!m.update_requested, "answered by the request in flight");
        m.on_response(MS, true);
        assert!(!m.update_requested, "no second request after start-up");
        // A new topic later is asked for at once.
        m.request_update_for_new_topic();
        assert!(m.update_requested);
        assert_eq!(m.next_allowed_ns, 0);
    }

    #[test]
    fn equivalent_responses_back_off_exponentially_up_to_the_maximum() {
        let mut m = metadata(100, 1000);
        let mut now = 0;
        // The first response shows the leaders for the first time: backoff(0) from it.
        m.on_request_sent();
        m.on_response(now, true);
        assert!(
            within_jitter(m.next_allowed_ns - now, 100),
            "{}",
            m.next_allowed_ns
        );
        // Responses that bring nothing new: the backoff grows 100, 200, 400, 800, 1000.
        for nominal in [100, 200, 400, 800, 1000, 1000] {
            now = m.next_allowed_ns;
            m.on_request_sent();
            m.on_response(now, false);
            let waited = m.next_allowed_ns - now;
            assert!(within_jitter(waited, nominal), "{waited} vs {nominal} ms");
            assert!(waited <= 1000 * MS, "capped at retry.backoff.max.ms");
        }
        // A new leader epoch starts again from retry.backoff.ms.
        now = m.next_allowed_ns;
        m.on_request_sent();
        m.on_response(now, true);
        assert!(within_jitter(m.next_allowed_ns - now, 100));
        // So does reaching metadata.max.age.ms.
        now = m.next_allowed_ns;
        m.on_request_sent();
        m.on_response(now, false);
        m.on_response(now, false);
        assert!(within_jitter(m.next_allowed_ns - now, 200));
        m.on_max_age();
        assert!(m.update_requested);
        assert!(within_jitter(m.next_allowed_ns - now, 100));
    }

    #[test]
    fn failed_updates_back_off_exponentially_and_a_response_resets_them() {
        let mut m = metadata(100, 1000);
        let mut now = 5 * MS;
        for nominal in [100, 200, 400, 800, 1000, 1000] {
            m.on_request_sent();
            m.on_failed(now);
            let waited = m.next_allowed_ns - now;
            assert!(within_jitter(waited, nominal), "{waited} vs {nominal} ms");
            now = m.next_allowed_ns;
        }
        m.on_request_sent();
        m.on_response(now, true);
        assert!(within_jitter(m.next_allowed_ns - now, 100));
    }

    #[test]
    fn before_kafka_3_7_the_refresh_backoff_is_flat_retry_backoff_ms() {
        // Pre-3.7 profiles have retry.backoff.max.ms equal to retry.backoff.ms.
        let mut m = metadata(100, 100);
        let mut now = 0;
        for changed in [true, false, false, false] {
            m.on_request_sent();
            m.on_response(now, changed);
            assert_eq!(m.next_allowed_ns - now, 100 * MS, "flat, no jitter");
            now = m.next_allowed_ns;
        }
        for _ in 0..4 {
            m.on_request_sent();
            m.on_failed(now);
            assert_eq!(m.next_allowed_ns - now, 100 * MS);
            now = m.next_allowed_ns;
        }
    }
}
