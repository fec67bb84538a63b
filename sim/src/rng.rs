//! Seeded randomness: one master seed per run, one ChaCha8 stream per named component.
//!
//! A stream's seed is derived from the master seed and a stable component name
//! (`"net/link/0->2"`) with FNV-1a and SplitMix64, both implemented here, so adding a component
//! never shifts the draws of another. Every sampler is written in this file on top of the raw
//! `u64` output, so a dependency upgrade cannot silently change a result: the only thing taken
//! from outside is the ChaCha8 block function, whose output is fixed by its specification.

use rand::{Rng as _, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::time::Duration;

/// Derives per-component streams from one master seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RngStreams {
    master_seed: u64,
}

impl RngStreams {
    /// Streams for a run with this master seed.
    pub const fn new(master_seed: u64) -> Self {
        RngStreams { master_seed }
    }

    /// The master seed.
    pub const fn master_seed(&self) -> u64 {
        self.master_seed
    }

    /// The stream for the component called `name`; the same name always gives the same stream.
    pub fn stream(&self, name: &str) -> Stream {
        Stream::from_seed_u64(derive_seed(self.master_seed, name))
    }
}

/// The seed of stream `name` under `master_seed`: SplitMix64 of the master seed mixed with the
/// FNV-1a hash of the name.
pub fn derive_seed(master_seed: u64, name: &str) -> u64 {
    splitmix64(master_seed ^ splitmix64(fnv1a64(name.as_bytes())))
}

/// FNV-1a, 64 bit.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// One step of SplitMix64 (Steele, Lea and Flood, 2014) as a mixing function.
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A seeded random stream owned by one component.
#[derive(Clone, Debug)]
pub struct Stream {
    rng: ChaCha8Rng,
}

impl Stream {
    /// A stream seeded directly from a `u64` (prefer [`RngStreams::stream`]).
    pub fn from_seed_u64(seed: u64) -> Self {
        Stream { rng: ChaCha8Rng::seed_from_u64(seed) }
    }

    /// The next raw 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.rng.next_u64()
    }

    /// A uniform integer in `0..n` without modulo bias (Lemire's method). `n` must be non-zero.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "below(0) has no values to draw");
        let threshold = n.wrapping_neg() % n;
        loop {
            let wide = u128::from(self.next_u64()) * u128::from(n);
            if (wide as u64) >= threshold {
                return (wide >> 64) as u64;
            }
        }
    }

    /// A uniform integer in `lo..=hi`.
    pub fn uniform_inclusive(&mut self, lo: u64, hi: u64) -> u64 {
        assert!(lo <= hi, "empty range {lo}..={hi}");
        match (hi - lo).checked_add(1) {
            Some(span) => lo + self.below(span),
            None => self.next_u64(),
        }
    }

    /// True with probability `numerator / denominator`, decided on integers only.
    pub fn bernoulli(&mut self, numerator: u64, denominator: u64) -> bool {
        assert!(denominator > 0 && numerator <= denominator, "bad ratio {numerator}/{denominator}");
        numerator == denominator || self.below(denominator) < numerator
    }

    /// A uniform float in `[0, 1)` with 53 random bits.
    pub fn unit_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A uniform float in `(0, 1]`, safe to take the logarithm of.
    fn open_unit_f64(&mut self) -> f64 {
        1.0 - self.unit_f64()
    }

    /// An exponential variate with the given mean, rounded to whole nanoseconds.
    pub fn exponential(&mut self, mean: Duration) -> Duration {
        let x = -self.open_unit_f64().ln() * mean.as_nanos() as f64;
        Duration::from_nanos(round_ns(x))
    }

    /// A standard normal variate (Box-Muller; one draw of the pair is discarded so every call
    /// consumes exactly two `u64`s, which keeps streams aligned).
    pub fn standard_normal(&mut self) -> f64 {
        let u1 = self.open_unit_f64();
        let u2 = self.unit_f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// Rounds a sampled float of nanoseconds to an integer, clamping negatives to zero.
fn round_ns(x: f64) -> u64 {
    if x.is_nan() || x <= 0.0 {
        0
    } else if x >= u64::MAX as f64 {
        u64::MAX
    } else {
        x.round() as u64
    }
}

/// A distribution of durations, sampled to whole nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Dist {
    /// Always the same value.
    Constant(Duration),
    /// Uniform over `[lo, hi]`.
    Uniform {
        /// Smallest value.
        lo: Duration,
        /// Largest value.
        hi: Duration,
    },
    /// Exponential with this mean.
    Exponential {
        /// Mean value.
        mean: Duration,
    },
    /// Normal, truncated at zero.
    Normal {
        /// Mean value.
        mean: Duration,
        /// Standard deviation.
        std_dev: Duration,
    },
    /// Log-normal given by the mean and standard deviation of the underlying normal of
    /// `ln(nanoseconds)`.
    LogNormal {
        /// Mean of `ln(ns)`.
        mu: f64,
        /// Standard deviation of `ln(ns)`.
        sigma: f64,
    },
}

impl Dist {
    /// Draws one duration from `stream`.
    pub fn sample(&self, stream: &mut Stream) -> Duration {
        match *self {
            Dist::Constant(d) => d,
            Dist::Uniform { lo, hi } => {
                Duration::from_nanos(stream.uniform_inclusive(lo.as_nanos(), hi.as_nanos()))
            }
            Dist::Exponential { mean } => stream.exponential(mean),
            Dist::Normal { mean, std_dev } => {
                let x = mean.as_nanos() as f64 + std_dev.as_nanos() as f64 * stream.standard_normal();
                Duration::from_nanos(round_ns(x))
            }
            Dist::LogNormal { mu, sigma } => {
                Duration::from_nanos(round_ns((mu + sigma * stream.standard_normal()).exp()))
            }
        }
    }

    /// The distribution's mean, for reporting.
    pub fn mean(&self) -> Duration {
        match *self {
            Dist::Constant(d) => d,
            Dist::Uniform { lo, hi } => Duration::from_nanos(lo.as_nanos() / 2 + hi.as_nanos() / 2),
            Dist::Exponential { mean } | Dist::Normal { mean, .. } => mean,
            Dist::LogNormal { mu, sigma } => Duration::from_nanos(round_ns((mu + sigma * sigma / 2.0).exp())),
        }
    }
}
