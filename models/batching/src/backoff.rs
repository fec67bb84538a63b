//! Retry backoff: Kafka's `ExponentialBackoff(retry.backoff.ms, 2, retry.backoff.max.ms, 0.2)`.
//!
//! Fidelity (KIP-580, `ExponentialBackoff.java`): `initial = min(retry.backoff, max)`; when
//! `max <= initial` the backoff is the flat `initial` with no jitter (the 3.x behaviour);
//! otherwise `min(max, floor(U[0.8, 1.2) * initial * 2^min(n, log2(max/initial))))`.
//! Simplification: integer nanoseconds instead of floating-point milliseconds. The exponent
//! term is computed as `min(initial << n, max)`, which equals Kafka's `initial * 2^min(n,
//! expMax)` exactly in real arithmetic; the jitter factor is `0.8 + 0.4 * u / 2^32` from one
//! caller-supplied `u32`, so no float enters a decision.

use crate::entropy::Entropy;

/// An exponential backoff policy with ±20% jitter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExponentialBackoff {
    initial_ns: u64,
    max_ns: u64,
}

impl ExponentialBackoff {
    /// The policy for `retry.backoff` and `retry.backoff.max`, in nanoseconds.
    pub fn new(retry_backoff_ns: u64, retry_backoff_max_ns: u64) -> Self {
        ExponentialBackoff {
            initial_ns: retry_backoff_ns.min(retry_backoff_max_ns),
            max_ns: retry_backoff_max_ns,
        }
    }

    /// Whether the policy is flat (`max <= initial`): no growth and no jitter.
    pub fn is_flat(self) -> bool {
        self.max_ns <= self.initial_ns
    }

    /// The backoff after `attempts` failed attempts have been retried (Kafka passes
    /// `batch.attempts - 1`), drawing the jitter from `entropy` unless the policy is flat.
    pub fn backoff_ns(self, attempts: u32, entropy: &mut dyn Entropy) -> u64 {
        if self.is_flat() {
            return self.initial_ns;
        }
        self.backoff_with_draw_ns(attempts, entropy.next_u32())
    }

    /// The backoff with an explicit jitter draw `u` (factor `0.8 + 0.4 * u / 2^32`).
    pub fn backoff_with_draw_ns(self, attempts: u32, draw: u32) -> u64 {
        if self.is_flat() {
            return self.initial_ns;
        }
        let term = if attempts >= 63 {
            self.max_ns
        } else {
            self.initial_ns
                .checked_shl(attempts)
                .filter(|shifted| shifted >> attempts == self.initial_ns)
                .map_or(self.max_ns, |shifted| shifted.min(self.max_ns))
        };
        let term = u128::from(term);
        // term * (0.8 + 0.4 * draw / 2^32) = (term * 8 * 2^32 + term * 4 * draw) / (10 * 2^32)
        let scaled = (term * 8 * (1u128 << 32) + term * 4 * u128::from(draw)) / (10u128 << 32);
        let scaled = u64::try_from(scaled).expect("at most 1.2 * a u64 term divided back down");
        scaled.min(self.max_ns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn exponential_backoff_doubles_from_retry_backoff_and_caps_at_max() {
        let policy = ExponentialBackoff::new(100 * MS, 1000 * MS);
        let mid = 1u32 << 31; // factor exactly 1.0
        assert_eq!(policy.backoff_with_draw_ns(0, mid), 100 * MS);
        assert_eq!(policy.backoff_with_draw_ns(1, mid), 200 * MS);
        assert_eq!(policy.backoff_with_draw_ns(2, mid), 400 * MS);
        assert_eq!(policy.backoff_with_draw_ns(3, mid), 800 * MS);
        assert_eq!(policy.backoff_with_draw_ns(4, mid), 1000 * MS);
        assert_eq!(policy.backoff_with_draw_ns(40, mid), 1000 * MS);
        assert_eq!(policy.backoff_with_draw_ns(200, mid), 1000 * MS);
    }

    #[test]
    fn exponential_backoff_jitter_is_plus_minus_20_percent_and_never_above_max() {
        let policy = ExponentialBackoff::new(100 * MS, 1000 * MS);
        assert_eq!(policy.backoff_with_draw_ns(0, 0), 80 * MS);
        let top = policy.backoff_with_draw_ns(0, u32::MAX);
        assert!(top < 120 * MS && top > 119 * MS, "{top}");
        assert_eq!(policy.backoff_with_draw_ns(4, u32::MAX), 1000 * MS);
        assert_eq!(policy.backoff_with_draw_ns(4, 0), 800 * MS);
    }

    #[test]
    fn flat_backoff_when_max_not_above_initial_like_3x() {
        let policy = ExponentialBackoff::new(100 * MS, 100 * MS);
        assert!(policy.is_flat());
        assert_eq!(policy.backoff_with_draw_ns(5, 0), 100 * MS);
        // retry.backoff.ms > retry.backoff.max.ms: flat at the max.
        let policy = ExponentialBackoff::new(500 * MS, 100 * MS);
        assert_eq!(policy.backoff_with_draw_ns(0, u32::MAX), 100 * MS);
    }
}
