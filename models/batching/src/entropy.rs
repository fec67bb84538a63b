//! The caller-supplied source of randomness.
//!
//! The core has no RNG of its own: the sticky partitioner's partition draws and the retry
//! backoff jitter ask the caller, which implements this with a seeded stream. Kafka uses
//! `ThreadLocalRandom` for both.

/// A source of uniformly distributed 32-bit values.
pub trait Entropy {
    /// The next uniformly distributed `u32`.
    fn next_u32(&mut self) -> u32;
}

/// A tiny deterministic generator (SplitMix64) for tests, benchmarks and callers without a
/// stream of their own. Not used by the core itself.
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }
}

impl Entropy for SplitMix64 {
    fn next_u32(&mut self) -> u32 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) >> 32) as u32
    }
}

/// A scripted source that replays fixed values in a cycle; for tests that pin a draw.
#[derive(Clone, Debug)]
pub struct Scripted {
    values: Vec<u32>,
    next_index: usize,
}

impl Scripted {
    /// A source that returns `values` in order, cycling. `values` must not be empty.
    pub fn new(values: Vec<u32>) -> Self {
        assert!(
            !values.is_empty(),
            "a scripted entropy source needs at least one value"
        );
        Scripted {
            values,
            next_index: 0,
        }
    }
}

impl Entropy for Scripted {
    fn next_u32(&mut self) -> u32 {
        let value = self.values[self.next_index % self.values.len()];
        self.next_index += 1;
        value
    }
}
