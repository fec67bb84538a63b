//! Record and batch size arithmetic for record-batch format v2 (magic 2).
//!
//! Fidelity: follows `DefaultRecordBatch.RECORD_BATCH_OVERHEAD`, `DefaultRecord.sizeInBytes`,
//! `DefaultRecord.recordSizeUpperBound` (through `AbstractRecords.estimateSizeInBytesUpperBound`)
//! and `ByteUtils.sizeOfVarint/sizeOfVarlong`. All varints are zigzag-encoded. These are the
//! uncompressed sizes, `61 + Σ record sizes`; a compressed batch's estimate and real size are
//! in `compression`.

/// Bytes of the v2 record-batch header (`RECORD_BATCH_OVERHEAD`).
pub const RECORD_BATCH_OVERHEAD_BYTES: u32 = 61;

/// Worst-case bytes of a record's fixed fields (`DefaultRecord.MAX_RECORD_OVERHEAD`): size
/// varint 5, attributes 1, timestamp-delta varlong 10, offset-delta varint 5.
pub const MAX_RECORD_OVERHEAD_BYTES: u32 = 21;

/// The size of a record's key, value and headers: everything the core needs to know about its
/// bytes. `None` for key or value means a null field (`varint(-1)`, one byte).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct RecordShape {
    /// Key length in bytes, `None` for a null key.
    pub key_bytes: Option<u32>,
    /// Value length in bytes, `None` for a null value.
    pub value_bytes: Option<u32>,
    /// Number of headers.
    pub header_count: u32,
    /// Sum of the encoded header sizes; build each with [`header_size_in_bytes`].
    pub headers_bytes: u32,
}

/// Bytes of a zigzag varint holding `value` (`ByteUtils.sizeOfVarint`).
#[inline]
pub fn varint_size(value: i32) -> u32 {
    let zigzag = ((value << 1) ^ (value >> 31)) as u32;
    unsigned_varint_size(u64::from(zigzag))
}

/// Bytes of a zigzag varlong holding `value` (`ByteUtils.sizeOfVarlong`).
#[inline]
pub fn varlong_size(value: i64) -> u32 {
    let zigzag = ((value << 1) ^ (value >> 63)) as u64;
    unsigned_varint_size(zigzag)
}

/// Bytes of an unsigned LEB128 varint: one per started group of 7 significant bits, and one
/// for zero. Without a loop, as `ByteUtils.sizeOfUnsignedVarlong` computes it:
/// `(70 - leadingZeros) / 7 + leadingZeros / 64`.
#[inline]
fn unsigned_varint_size(value: u64) -> u32 {
    // Offset and timestamp deltas and header counts mostly take one byte: answer those
    // without the bit arithmetic (the formula gives 1 for them too).
    if value < 0x80 {
        return 1;
    }
    let leading_zeros = value.leading_zeros();
    (70 - leading_zeros) / 7 + leading_zeros / 64
}

/// Bytes of a length-prefixed nullable field: `varint(len) + len`, or 1 byte for null.
#[inline]
fn nullable_field_size(len: Option<u32>) -> u32 {
    match len {
        None => 1,
        Some(len) => varint_size(len_as_i32(len)) + len,
    }
}

#[inline]
fn len_as_i32(len: u32) -> i32 {
    i32::try_from(len).expect("record field lengths are below 2^31 bytes (Kafka uses int)")
}

/// Encoded bytes of one header: `varint(keyLen) + key + (varint(valueLen) + value | 1)`.
pub fn header_size_in_bytes(key_utf8_bytes: u32, value_bytes: Option<u32>) -> u32 {
    varint_size(len_as_i32(key_utf8_bytes)) + key_utf8_bytes + nullable_field_size(value_bytes)
}

/// Key, value and header bytes of a record body (`DefaultRecord.sizeOfBodyInBytes` minus the
/// attributes and deltas). It does not depend on the record's place in a batch, so the
/// append path computes it once per record and passes it to the `*_from_payload` functions.
// Once per record on the append path: always inlined there.
#[inline(always)]
pub(crate) fn payload_size(shape: RecordShape) -> u32 {
    nullable_field_size(shape.key_bytes)
        + nullable_field_size(shape.value_bytes)
        + varint_size(len_as_i32(shape.header_count))
        + shape.headers_bytes
}

/// Exact bytes of a record at `offset_delta` with `timestamp_delta_ms` inside a batch
/// (`DefaultRecord.sizeInBytes`): `body + varint(body)`.
pub fn record_size_in_bytes(offset_delta: i32, timestamp_delta_ms: i64, shape: RecordShape) -> u32 {
    record_size_from_payload(offset_delta, timestamp_delta_ms, payload_size(shape))
}

/// [`record_size_in_bytes`] for a record whose [`payload_size`] is already known.
#[inline]
pub(crate) fn record_size_from_payload(
    offset_delta: i32,
    timestamp_delta_ms: i64,
    payload_bytes: u32,
) -> u32 {
    let body = 1 + varint_size(offset_delta) + varlong_size(timestamp_delta_ms) + payload_bytes;
    body + varint_size(len_as_i32(body))
}

/// Upper-bound bytes of a batch holding only this record
/// (`AbstractRecords.estimateSizeInBytesUpperBound` for magic v2):
/// `61 + 21 + keyPart + valuePart + varint(headerCount) + headers`. Used for the
/// `max.request.size` / `buffer.memory` check and to size a new batch's buffer.
pub fn estimate_size_upper_bound(shape: RecordShape) -> u32 {
    upper_bound_from_payload(payload_size(shape))
}

/// [`estimate_size_upper_bound`] for a record whose [`payload_size`] is already known.
#[inline]
pub(crate) fn upper_bound_from_payload(payload_bytes: u32) -> u32 {
    RECORD_BATCH_OVERHEAD_BYTES + MAX_RECORD_OVERHEAD_BYTES + payload_bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(key: u32, value: u32) -> RecordShape {
        RecordShape {
            key_bytes: Some(key),
            value_bytes: Some(value),
            header_count: 0,
            headers_bytes: 0,
        }
    }

    #[test]
    fn zigzag_varint_sizes_match_byte_utils() {
        assert_eq!(varint_size(0), 1);
        assert_eq!(varint_size(-1), 1);
        assert_eq!(varint_size(63), 1);
        assert_eq!(varint_size(64), 2);
        assert_eq!(varint_size(-64), 1);
        assert_eq!(varint_size(-65), 2);
        assert_eq!(varint_size(8191), 2);
        assert_eq!(varint_size(8192), 3);
        assert_eq!(varint_size(i32::MAX), 5);
        assert_eq!(varint_size(i32::MIN), 5);
        assert_eq!(varlong_size(i64::MIN), 10);
        assert_eq!(varlong_size(0), 1);
    }

    #[test]
    fn unsigned_varint_size_matches_the_7_bit_group_loop_at_every_boundary() {
        fn by_loop(mut value: u64) -> u32 {
            let mut bytes = 1;
            while value >= 0x80 {
                value >>= 7;
                bytes += 1;
            }
            bytes
        }
        for shift in 0..64 {
            let edge = 1u64 << shift;
            for value in [edge - 1, edge, edge + 1, edge.wrapping_mul(3)] {
                assert_eq!(unsigned_varint_size(value), by_loop(value), "{value:#x}");
            }
        }
        assert_eq!(unsigned_varint_size(u64::MAX), 10);
    }

    #[test]
    fn default_record_size_key10_value100_is_119_then_120_from_offset_delta_64() {
        assert_eq!(record_size_in_bytes(0, 0, shape(10, 100)), 119);
        assert_eq!(record_size_in_bytes(63, 0, shape(10, 100)), 119);
        assert_eq!(record_size_in_bytes(64, 0, shape(10, 100)), 120);
    }

    #[test]
    fn upper_bound_estimate_key10_value100_is_196() {
        assert_eq!(estimate_size_upper_bound(shape(10, 100)), 196);
    }

    #[test]
    fn null_key_and_value_take_one_byte_each() {
        let null = RecordShape::default();
        // body = attributes 1 + offset 1 + ts 1 + key 1 + value 1 + header count 1 = 6, +1 size.
        assert_eq!(record_size_in_bytes(0, 0, null), 7);
    }

    #[test]
    fn header_sizes_add_into_the_record() {
        let h = header_size_in_bytes(3, Some(5)) + header_size_in_bytes(2, None);
        assert_eq!(h, (1 + 3 + 1 + 5) + (1 + 2 + 1));
        let with_headers = RecordShape {
            header_count: 2,
            headers_bytes: h,
            ..shape(10, 100)
        };
        assert_eq!(record_size_in_bytes(0, 0, with_headers), 119 + h);
    }
}
