//! Kafka's murmur2 hash and the keyed partition choice.
//!
//! Fidelity: exactly `Utils.murmur2` (seed `0x9747b28c`, little-endian 4-byte blocks, tail
//! fall-through with the multiply only when a tail exists) and `Utils.toPositive` (mask the sign
//! bit; it is not `abs`). `KafkaProducer.partition` then takes the result modulo the topic's
//! partition count, counting unavailable partitions too.

use crate::ids::PartitionId;

const SEED: u32 = 0x9747_b28c;
const M: u32 = 0x5bd1_e995;
const R: u32 = 24;

/// Kafka's `Utils.murmur2(byte[])`, as the signed 32-bit value Java returns.
pub fn murmur2(data: &[u8]) -> i32 {
    let length = u32::try_from(data.len()).expect("keys are shorter than 2^32 bytes");
    let mut h = SEED ^ length;
    let mut blocks = data.chunks_exact(4);
    for block in &mut blocks {
        let mut k = u32::from_le_bytes([block[0], block[1], block[2], block[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = blocks.remainder();
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// `Utils.toPositive`: clears the sign bit.
pub fn to_positive(value: i32) -> u32 {
    (value & 0x7fff_ffff) as u32
}

/// The partition of a keyed record: `toPositive(murmur2(key)) % partitionCount`.
///
/// Panics if `partition_count` is 0: metadata always has at least one partition.
pub fn partition_for_key(key: &[u8], partition_count: u32) -> PartitionId {
    assert!(partition_count > 0, "a topic has at least one partition");
    PartitionId(to_positive(murmur2(key)) % partition_count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_matches_kafka_utils_test_vectors() {
        assert_eq!(murmur2(b"21"), -973_932_308);
        assert_eq!(murmur2(b"foobar"), -790_332_482);
        assert_eq!(murmur2(b"a-little-bit-long-string"), -985_981_536);
        assert_eq!(murmur2(b"a-little-bit-longer-string"), -1_486_304_829);
        assert_eq!(
            murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"),
            -58_897_971
        );
        assert_eq!(murmur2(b"abc"), 479_470_107);
    }

    #[test]
    fn murmur2_of_empty_key_is_275646681() {
        assert_eq!(murmur2(b""), 275_646_681);
    }

    #[test]
    fn to_positive_masks_the_sign_bit_instead_of_abs() {
        assert_eq!(to_positive(-1), 0x7fff_ffff);
        assert_eq!(to_positive(i32::MIN), 0);
        assert_eq!(to_positive(5), 5);
    }

    #[test]
    fn keyed_partition_is_murmur2_mod_partition_count() {
        assert_eq!(partition_for_key(b"abc", 6), PartitionId(3));
        assert_eq!(partition_for_key(b"21", 6), PartitionId(0));
    }
}
