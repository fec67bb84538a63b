//! `compression.type` with real codecs: what the values look like, each codec's ratio measured
//! on them once at set-up, and the codec's speed for the CPU it costs.
//!
//! ```text
//!   [workload.values] ──► sample records (fixed seed, the workload's keys and value sizes)
//!        │                    │ encoded as record-batch v2 records
//!        │                    ▼
//!        │      the producer's codec, framed as the Java client frames it, on windows of
//!        │      1, 4, 16, 64 and 256 KiB  ──►  MeasuredCodec (compressed bytes per window size)
//!        ▼                                           │ batching::compression::CompressedSize
//!   [workload.compression] speeds ──► CodecSpeed      ▼
//!        (reference table × speed_factor,     the batching core sizes and closes batches
//!         or a calibration file, or given)     (estimate, real size, split), counts codec input
//! ```
//!
//! Fidelity: the frames follow the Java client's streams (`GzipCompression.wrapForOutput`:
//! gzip at `compression.gzip.level`, -1 meaning zlib's 6; `SnappyOutputStream`: the 16-byte
//! xerial header, then 32 KiB blocks each with a 4-byte length; `Lz4BlockOutputStream`: a
//! 7-byte frame header, 64 KiB blocks each with a 4-byte length, stored raw when they do not
//! shrink, a 4-byte end mark; `ZstdOutputStreamNoFinalizer` at `compression.zstd.level`).
//! The codecs are Rust implementations, not the Java client's native libraries, so their bytes
//! differ a little: zstd is the same libzstd (bundled source, 1.5.x); gzip is miniz_oxide's
//! deflate instead of zlib's (ratios within a few per cent); lz4 is lz4_flex's block
//! compressor, the same LZ4 format as lz4-java's fast compressor, which Kafka uses at the
//! default level 9 (`Lz4BlockOutputStream`: `level == defaultLevel() ? fastCompressor :
//! highCompressor(level)`); at other levels Kafka uses LZ4 HC, which is not measured: its ratio
//! is the fast compressor's (a little worse than HC's), its speed the HC row of the table.
//!
//! Determinism: the sample is drawn from a fixed seed (not the run's), so a workload has one
//! ratio on every run, seed and thread count; the codecs are deterministic for one input.
//!
//! Speeds cannot be measured inside a run. [`reference_speed`] gives compression and
//! decompression speeds per codec and level, in MB/s of uncompressed bytes on one core. The
//! anchors are the benchmark table of the zstd project's README (zstd 1.5.1 at -1, lz4 1.9.3,
//! snappy 1.1.9 and zlib 1.2.11 at -1 on a Core i7-9700K, lzbench, Silesia corpus: 530/1700,
//! 740/4500, 550/1750 and 95/400 MB/s compress/decompress). A codec at another level compresses
//! at its anchor times the ratio of that level's speed to the anchor level's in lzbench 1.7's
//! results table (its README, Silesia corpus): zlib 1.2.11 at 1/6/9 (66/20/8.3 MB/s), lz4hc
//! 1.7.5 at 1/4/9/12 against lz4 1.7.5 (100/56/23/3.52 against 452), zstd 1.1.4 at
//! 1/2/5/8/11/15/18/22 (242/185/88/30/15/4.78/2.75/1.39). A level that table skips is placed
//! geometrically between its neighbours; that interpolation is this project's, not a
//! measurement. So gzip at the default 6 is 28.8 MB/s, zstd at the default 3 is 316 MB/s, LZ4
//! HC at 4 is 92 MB/s. Decompression speed is taken as independent of the level (lzbench's rows
//! differ little). `linger calibrate compression` measures this machine's figures at the level
//! an experiment uses; they are figures for a fast desktop core, and `speed_factor` scales them.

use std::io::Write;
use std::sync::Arc;

use serde::Deserialize;

use crate::batching::compression::{CodecModel, CompressedSize, Compression};
use crate::batching::config::{CompressionType, ProducerConfig};
use crate::batching::sizes::{RecordShape, record_size_in_bytes, varint_size};
use crate::producer::workload::{Workload, WorkloadConfig, WorkloadError, WorkloadPlan};

/// What the record values look like, for measuring the codec (`[workload.values]`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ValueContent {
    /// Uniformly random bytes: incompressible.
    Random {},
    /// English-like text: words from a vocabulary of 256, separated by spaces.
    Text {},
    /// JSON objects with `fields` fields of mixed kinds (ids, timestamps, short enumerations,
    /// names, amounts, flags), cut or extended to the value size.
    Json {
        /// Fields per object (1 ..= 64). Default 8.
        #[serde(default = "default_json_fields")]
        fields: u32,
    },
    /// Sample values from a file, one per line, used in turn (each cut or repeated to the
    /// value size).
    File {
        /// The file, relative to the experiment file.
        path: String,
    },
}

impl Default for ValueContent {
    /// Random bytes: nothing for a codec to gain.
    fn default() -> Self {
        ValueContent::Random {}
    }
}

fn default_json_fields() -> u32 {
    8
}

/// The most JSON fields per value.
pub const JSON_FIELDS_MAX: u32 = 64;

/// `[workload.compression]`: where the codec's ratio and speeds come from.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CompressionCosts {
    /// Multiplies the reference speeds (2.0: a core twice as fast). Default 1.
    pub speed_factor: f64,
    /// Compressed over uncompressed bytes, instead of measuring (0 < ratio <= 2).
    pub ratio: Option<f64>,
    /// Compression speed, MB/s of uncompressed input on one core, instead of the table.
    pub compress_mb_per_sec: Option<f64>,
    /// Decompression speed, MB/s of uncompressed output, instead of the table.
    pub decompress_mb_per_sec: Option<f64>,
    /// Speeds from a file written by `linger calibrate compression`: its figures replace the
    /// table's for the codecs it lists (`speed_factor` still applies).
    pub calibration: Option<String>,
    /// Size of the sample the ratio is measured on, KiB (16 ..= 4096). Default 256.
    pub sample_kib: u32,
}

impl Default for CompressionCosts {
    fn default() -> Self {
        CompressionCosts {
            speed_factor: 1.0,
            ratio: None,
            compress_mb_per_sec: None,
            decompress_mb_per_sec: None,
            calibration: None,
            sample_kib: 256,
        }
    }
}

/// A codec's speeds, MB/s (10^6 bytes per second) of uncompressed bytes on one core.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CodecSpeed {
    /// Compression.
    pub compress_mb_per_sec: f64,
    /// Decompression.
    pub decompress_mb_per_sec: f64,
}

impl CodecSpeed {
    /// Picoseconds per uncompressed byte compressed (integer, for exact sums).
    pub(crate) fn compress_ps_per_byte(&self) -> u64 {
        (1e6 / self.compress_mb_per_sec).round().max(1.0) as u64
    }
    /// Picoseconds per uncompressed byte decompressed.
    pub(crate) fn decompress_ps_per_byte(&self) -> u64 {
        (1e6 / self.decompress_mb_per_sec).round().max(1.0) as u64
    }
}

/// The reference speeds of a codec at a level (see the module doc for the source).
pub fn reference_speed(codec: CompressionType, level: i32) -> CodecSpeed {
    let (compress, decompress) = match codec {
        CompressionType::None => (f64::INFINITY, f64::INFINITY),
        // zlib: -1 is the default 6 (`GzipCompression`); levels 1 ..= 9.
        CompressionType::Gzip => {
            let level = if level == -1 { 6 } else { level.clamp(1, 9) };
            (95.0 * level_factor(ZLIB_LEVELS, level), 400.0)
        }
        CompressionType::Snappy => (550.0, 1750.0),
        // Kafka's default level 9 is lz4-java's fast compressor; every other level is LZ4 HC,
        // whose levels stop at 12 (higher ones compress as 12).
        CompressionType::Lz4 if level == 9 => (740.0, 4500.0),
        CompressionType::Lz4 => (
            740.0 * level_factor(LZ4HC_LEVELS, level.clamp(1, 12)),
            4500.0,
        ),
        // Negative (fast) levels get level 1's figure: they are faster still.
        CompressionType::Zstd => (
            530.0 * level_factor(ZSTD_LEVELS, level.clamp(1, 22)),
            1700.0,
        ),
    };
    CodecSpeed {
        compress_mb_per_sec: compress,
        decompress_mb_per_sec: decompress,
    }
}

/// lzbench 1.7's compression speeds (MB/s, Silesia corpus) of zlib 1.2.11 at the levels it
/// lists; the reference is its level 1.
const ZLIB_LEVELS: &[(i32, f64)] = &[(1, 66.0), (6, 20.0), (9, 8.3)];

/// lzbench 1.7's compression speeds of lz4hc 1.7.5 at the levels it lists, with lz4 1.7.5's
/// fast compressor (452 MB/s) as the reference, which [`level_factor`] reads at level 0.
const LZ4HC_LEVELS: &[(i32, f64)] = &[(0, 452.0), (1, 100.0), (4, 56.0), (9, 23.0), (12, 3.52)];

/// lzbench 1.7's compression speeds of zstd 1.1.4 at the levels it lists; the reference is
/// its level 1.
const ZSTD_LEVELS: &[(i32, f64)] = &[
    (1, 242.0),
    (2, 185.0),
    (5, 88.0),
    (8, 30.0),
    (11, 15.0),
    (15, 4.78),
    (18, 2.75),
    (22, 1.39),
];

/// How much slower `level` compresses than the table's first row: the ratio of the two rows'
/// speeds, with a level the table skips placed geometrically between its neighbours (each level
/// slower than the last by the same factor).
fn level_factor(table: &[(i32, f64)], level: i32) -> f64 {
    let reference = table[0].1;
    let speed = match table.iter().position(|&(l, _)| l >= level) {
        Some(0) => table[0].1,
        Some(i) => {
            let ((low, low_speed), (high, high_speed)) = (table[i - 1], table[i]);
            let step = f64::from(level - low) / f64::from(high - low);
            low_speed * (high_speed / low_speed).powf(step)
        }
        None => table[table.len() - 1].1,
    };
    speed / reference
}

/// Whether a codec level is slow enough that set-up measures it on a smaller sample: gzip 7
/// to 9, zstd 10 and up, and LZ4 HC above 12.
fn slow_level(codec: CompressionType, level: i32) -> bool {
    match codec {
        CompressionType::Gzip => level >= 7,
        CompressionType::Zstd => level >= 10,
        CompressionType::Lz4 => level >= 13,
        CompressionType::None | CompressionType::Snappy => false,
    }
}

/// The producer's codec level in force.
pub fn codec_level(config: &ProducerConfig) -> i32 {
    match config.compression_type {
        CompressionType::Gzip => config.compression_gzip_level,
        CompressionType::Lz4 => config.compression_lz4_level,
        CompressionType::Zstd => config.compression_zstd_level,
        CompressionType::None | CompressionType::Snappy => 0,
    }
}

/// The window sizes the ratio is measured at, bytes.
const PROBE_BYTES: [u32; 5] = [1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10];
/// At most this many windows of one size are compressed (bounds the set-up time).
const WINDOWS_MAX: usize = 16;
/// Bytes of the sample a slow codec level compresses per window size.
const SLOW_BUDGET_BYTES: usize = 64 * 1024;
/// The fixed seed of the sample: a workload's ratio must not depend on the run's seed.
const SAMPLE_SEED: u64 = 0x6c69_6e67_6572_7a69;

/// A codec measured on sample records: the compressed bytes of windows of several sizes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeasuredCodec {
    /// `(uncompressed bytes, compressed bytes)`, by increasing size.
    points: Vec<(u32, u32)>,
}

impl MeasuredCodec {
    /// The same ratio at every size (`ratio` given in the experiment).
    pub fn with_ratio(ratio: f64) -> Self {
        let at = 1u32 << 20;
        MeasuredCodec {
            points: vec![(at, (f64::from(at) * ratio).round() as u32)],
        }
    }

    /// The measured points.
    pub fn points(&self) -> &[(u32, u32)] {
        &self.points
    }

    /// The ratio at the largest window measured.
    pub fn ratio(&self) -> f64 {
        let &(u, c) = self.points.last().expect("at least one point");
        f64::from(c) / f64::from(u)
    }
}

impl CompressedSize for MeasuredCodec {
    /// Piecewise linear in the measured points, proportional below the first and beyond the
    /// last; integer arithmetic only.
    fn compressed_bytes(&self, uncompressed_bytes: u32, _record_count: u32) -> u32 {
        let u = u64::from(uncompressed_bytes);
        let first = self.points[0];
        let last = *self.points.last().expect("at least one point");
        let scaled = |(pu, pc): (u32, u32)| u * u64::from(pc) / u64::from(pu).max(1);
        let bytes = if uncompressed_bytes <= first.0 {
            scaled(first)
        } else if uncompressed_bytes >= last.0 {
            scaled(last)
        } else {
            let upper = self
                .points
                .iter()
                .position(|&(pu, _)| pu >= uncompressed_bytes)
                .expect("below the last point");
            let (u0, c0) = self.points[upper - 1];
            let (u1, c1) = self.points[upper];
            let (u0, c0, u1, c1) = (u64::from(u0), i64::from(c0), u64::from(u1), i64::from(c1));
            let num = (c1 - c0) * i64::try_from(u - u0).expect("small") / (u1 - u0) as i64;
            (c0 + num).max(0) as u64
        };
        u32::try_from(bytes.max(1)).unwrap_or(u32::MAX)
    }
}

/// A `[workload.values]` or `[workload.compression]` value that cannot be used.
fn bad(key: &'static str, message: impl Into<String>) -> WorkloadError {
    WorkloadError {
        key,
        message: message.into(),
    }
}

/// Checks `[workload.values]` and `[workload.compression]` (the sample file exists and has a
/// value; numbers in range).
pub fn validate(values: &ValueContent, costs: &CompressionCosts) -> Result<(), WorkloadError> {
    match values {
        ValueContent::Json { fields } if !(1..=JSON_FIELDS_MAX).contains(fields) => {
            return Err(bad(
                "values.fields",
                format!("{fields}: allowed 1 ..= {JSON_FIELDS_MAX} fields per JSON value"),
            ));
        }
        ValueContent::File { path } => {
            sample_lines(path)?;
        }
        _ => {}
    }
    let positive = |key: &'static str, v: f64, max: f64| {
        if v.is_finite() && v > 0.0 && v <= max {
            Ok(())
        } else {
            Err(bad(key, format!("{v}: allowed above 0, at most {max}")))
        }
    };
    positive("compression.speed_factor", costs.speed_factor, 1e6)?;
    if let Some(ratio) = costs.ratio {
        positive("compression.ratio", ratio, 2.0)?;
    }
    if let Some(speed) = costs.compress_mb_per_sec {
        positive("compression.compress_mb_per_sec", speed, 1e6)?;
    }
    if let Some(speed) = costs.decompress_mb_per_sec {
        positive("compression.decompress_mb_per_sec", speed, 1e6)?;
    }
    if !(16..=4096).contains(&costs.sample_kib) {
        return Err(bad(
            "compression.sample_kib",
            format!("{}: allowed 16 ..= 4096 KiB", costs.sample_kib),
        ));
    }
    if let Some(path) = &costs.calibration {
        read_calibration(path)?;
    }
    Ok(())
}

/// The non-empty lines of a sample file.
fn sample_lines(path: &str) -> Result<Vec<Vec<u8>>, WorkloadError> {
    let bytes = std::fs::read(path).map_err(|e| {
        bad(
            "values.path",
            format!("cannot read the sample file {path}: {e}"),
        )
    })?;
    let lines: Vec<Vec<u8>> = bytes
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    if lines.is_empty() {
        return Err(bad(
            "values.path",
            format!("the sample file {path} has no value: give one value per line"),
        ));
    }
    Ok(lines)
}

/// Speeds per codec read from a calibration file: lines `codec level compress decompress`
/// (MB/s), `#` comments.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Calibration {
    /// `(codec, level, speeds)`.
    pub rows: Vec<(CompressionType, i32, CodecSpeed)>,
}

/// Reads a calibration file written by `linger calibrate compression`.
pub fn read_calibration(path: &str) -> Result<Calibration, WorkloadError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        bad(
            "compression.calibration",
            format!("cannot read the calibration file {path}: {e}"),
        )
    })?;
    parse_calibration(&text).map_err(|(line, message)| {
        bad(
            "compression.calibration",
            format!("{path} line {line}: {message}"),
        )
    })
}

/// Parses the calibration format; errors carry the 1-based line.
pub fn parse_calibration(text: &str) -> Result<Calibration, (usize, String)> {
    let mut rows = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [codec, level, compress, decompress] = fields[..] else {
            return Err((
                index + 1,
                "expected `codec level compress_mb_per_sec decompress_mb_per_sec`".into(),
            ));
        };
        let codec = CompressionType::ALL
            .into_iter()
            .find(|c| c.name() == codec && *c != CompressionType::None)
            .ok_or_else(|| {
                (
                    index + 1,
                    format!("unknown codec {codec}: gzip, snappy, lz4 or zstd"),
                )
            })?;
        let level: i32 = level
            .parse()
            .map_err(|_| (index + 1, format!("level {level} is not a whole number")))?;
        let speed = |s: &str| -> Result<f64, (usize, String)> {
            s.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v > 0.0)
                .ok_or_else(|| (index + 1, format!("{s} is not a speed above 0 MB/s")))
        };
        rows.push((
            codec,
            level,
            CodecSpeed {
                compress_mb_per_sec: speed(compress)?,
                decompress_mb_per_sec: speed(decompress)?,
            },
        ));
    }
    Ok(Calibration { rows })
}

/// The producer's codec as the run uses it: sizes for the batching core and speeds for CPU.
#[derive(Clone, Debug)]
pub struct CodecSetup {
    /// The codec and its level.
    pub codec: CompressionType,
    /// The level in force.
    pub level: i32,
    /// Measured (or given) sizes.
    pub measured: Arc<MeasuredCodec>,
    /// Speeds after `speed_factor`.
    pub speed: CodecSpeed,
}

impl CodecSetup {
    /// The batching core's compression mode.
    pub fn compression(&self) -> Compression {
        Compression::Codec(CodecModel {
            codec: self.codec,
            size: self.measured.clone(),
        })
    }
}

/// Measures the producer's codec on the workload's values (once, at set-up). `None` for
/// `compression.type=none`.
pub fn set_up(
    config: &ProducerConfig,
    workload: &WorkloadConfig,
) -> Result<Option<CodecSetup>, WorkloadError> {
    let costs = &workload.compression;
    let codec = config.compression_type;
    if codec == CompressionType::None {
        return Ok(None);
    }
    let level = codec_level(config);
    let measured = match costs.ratio {
        Some(ratio) => MeasuredCodec::with_ratio(ratio),
        None => {
            let sample = sample_records(workload, costs.sample_kib as usize * 1024)?;
            measure(codec, level, &sample)
        }
    };
    let mut speed = reference_speed(codec, level);
    if let Some(path) = &costs.calibration {
        let calibration = read_calibration(path)?;
        if let Some(&(_, _, row)) = calibration
            .rows
            .iter()
            .find(|(c, l, _)| *c == codec && *l == level)
            .or_else(|| calibration.rows.iter().find(|(c, _, _)| *c == codec))
        {
            speed = row;
        }
    }
    if let Some(v) = costs.compress_mb_per_sec {
        speed.compress_mb_per_sec = v;
    }
    if let Some(v) = costs.decompress_mb_per_sec {
        speed.decompress_mb_per_sec = v;
    }
    speed.compress_mb_per_sec *= costs.speed_factor;
    speed.decompress_mb_per_sec *= costs.speed_factor;
    Ok(Some(CodecSetup {
        codec,
        level,
        measured: Arc::new(measured),
        speed,
    }))
}

/// The leader's codec work per uncompressed byte produced, picoseconds
/// (`LogValidator.validateMessagesAndAssignOffsetsCompressed`): decompression of a compressed
/// batch to validate its records, plus compression at the topic codec's default level when the
/// topic's `compression.type` names another codec than the producer's. Uncompressed batches
/// for an uncompressed topic cost nothing here (`assignOffsetsNonCompressed`). The broker's
/// speeds are the same reference figures, scaled by the same `speed_factor`.
pub fn broker_validation_ps_per_byte(
    producer: &ProducerConfig,
    topic: crate::cluster::config::TopicCompression,
    costs: &CompressionCosts,
) -> u64 {
    let source = producer.compression_type;
    let target = topic.target(source);
    let scaled = |mb_per_sec: f64| CodecSpeed {
        compress_mb_per_sec: mb_per_sec * costs.speed_factor,
        decompress_mb_per_sec: mb_per_sec * costs.speed_factor,
    };
    let mut ps = 0;
    if source != CompressionType::None {
        let speed = reference_speed(source, codec_level(producer));
        ps += scaled(speed.decompress_mb_per_sec).decompress_ps_per_byte();
    }
    if target != source && target != CompressionType::None {
        let default_level = match target {
            CompressionType::Gzip => -1,
            CompressionType::Lz4 => 9,
            CompressionType::Zstd => 3,
            CompressionType::None | CompressionType::Snappy => 0,
        };
        let speed = reference_speed(target, default_level);
        ps += scaled(speed.compress_mb_per_sec).compress_ps_per_byte();
    }
    ps
}

/// Encoded record-batch v2 records (no batch header) built from the workload's keys, value
/// sizes and values, `bytes` long.
pub fn sample_records(workload: &WorkloadConfig, bytes: usize) -> Result<Vec<u8>, WorkloadError> {
    let plan: WorkloadPlan = workload.plan()?;
    let streams = sim::RngStreams::new(SAMPLE_SEED);
    let mut content = ValueWriter::new(&workload.values, streams.stream("compression/values"))?;
    let mut workload = Workload::new(plan, &streams);
    let mut out = Vec::with_capacity(bytes + 1024);
    let mut value = Vec::new();
    let mut offset_delta = 0i32;
    while out.len() < bytes {
        let record = workload.next_record();
        // A value can be huge; a sample needs no more than its own length of any one value.
        let value_bytes = (record.value_bytes as usize).min(bytes);
        value.clear();
        content.fill(&mut value, value_bytes);
        let key = record.key.map(|k| format!("key-{k}").into_bytes());
        write_record(&mut out, offset_delta, key.as_deref(), &value);
        offset_delta = (offset_delta + 1) % 1000;
    }
    out.truncate(bytes);
    Ok(out)
}

/// `DefaultRecord.writeTo`: size, attributes, timestamp delta 0, offset delta, key, value, no
/// headers.
fn write_record(out: &mut Vec<u8>, offset_delta: i32, key: Option<&[u8]>, value: &[u8]) {
    let shape = RecordShape {
        key_bytes: key.map(|k| k.len() as u32),
        value_bytes: Some(value.len() as u32),
        header_count: 0,
        headers_bytes: 0,
    };
    let total = record_size_in_bytes(offset_delta, 0, shape);
    let body = total - varint_size(total as i32);
    write_varint(out, body as i32);
    out.push(0);
    write_varint(out, 0);
    write_varint(out, offset_delta);
    match key {
        None => write_varint(out, -1),
        Some(key) => {
            write_varint(out, key.len() as i32);
            out.extend_from_slice(key);
        }
    }
    write_varint(out, value.len() as i32);
    out.extend_from_slice(value);
    write_varint(out, 0);
}

fn write_varint(out: &mut Vec<u8>, value: i32) {
    let mut v = ((value << 1) ^ (value >> 31)) as u32;
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Writes value bytes of one kind.
struct ValueWriter {
    kind: ValueKind,
    rng: sim::Stream,
}

enum ValueKind {
    Random,
    Text,
    Json { fields: u32 },
    Lines { lines: Vec<Vec<u8>>, next: usize },
}

/// The text vocabulary: common English words.
const WORDS: &[&str] = &[
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "was",
    "that",
    "for",
    "on",
    "with",
    "as",
    "by",
    "at",
    "from",
    "his",
    "it",
    "an",
    "were",
    "are",
    "which",
    "this",
    "be",
    "or",
    "has",
    "had",
    "first",
    "one",
    "their",
    "its",
    "new",
    "after",
    "but",
    "who",
    "not",
    "they",
    "have",
    "her",
    "she",
    "two",
    "been",
    "other",
    "when",
    "there",
    "all",
    "during",
    "into",
    "school",
    "time",
    "may",
    "years",
    "more",
    "most",
    "only",
    "over",
    "city",
    "some",
    "world",
    "would",
    "where",
    "later",
    "up",
    "such",
    "used",
    "many",
    "can",
    "state",
    "about",
    "national",
    "out",
    "known",
    "university",
    "united",
    "then",
    "made",
    "between",
    "several",
    "american",
    "under",
    "three",
    "while",
    "well",
    "film",
    "series",
    "season",
    "born",
    "also",
    "team",
    "war",
    "part",
    "game",
    "name",
    "since",
    "album",
    "early",
    "each",
    "music",
    "both",
    "through",
    "year",
    "these",
    "group",
    "being",
    "county",
    "area",
    "company",
    "south",
    "number",
    "north",
    "second",
    "against",
    "public",
    "including",
    "system",
    "members",
    "however",
    "government",
    "called",
    "work",
    "club",
    "located",
    "high",
    "before",
    "million",
    "family",
    "him",
    "around",
    "history",
    "league",
    "became",
    "west",
    "until",
    "show",
    "four",
    "played",
    "same",
    "any",
    "there",
    "order",
    "event",
    "service",
    "record",
    "message",
    "producer",
    "broker",
    "partition",
    "batch",
    "offset",
    "leader",
    "replica",
    "topic",
    "commit",
    "request",
    "response",
    "network",
    "client",
    "server",
    "data",
    "stream",
    "value",
    "key",
    "header",
    "timestamp",
    "payment",
    "customer",
    "account",
    "status",
    "created",
    "updated",
    "deleted",
    "active",
    "pending",
    "shipped",
];

/// JSON field names, in order of use.
const FIELD_NAMES: &[&str] = &[
    "id", "user", "ts", "status", "amount", "currency", "country", "active", "session", "item",
    "quantity", "price", "category", "source", "device", "version",
];
const STATUSES: &[&str] = &["ok", "pending", "failed", "shipped", "cancelled"];
const COUNTRIES: &[&str] = &["DE", "US", "FR", "GB", "JP", "BR", "IN", "NL"];
const CATEGORIES: &[&str] = &["books", "music", "garden", "toys", "sports", "food"];

impl ValueWriter {
    fn new(values: &ValueContent, rng: sim::Stream) -> Result<Self, WorkloadError> {
        let kind = match values {
            ValueContent::Random {} => ValueKind::Random,
            ValueContent::Text {} => ValueKind::Text,
            ValueContent::Json { fields } => ValueKind::Json { fields: *fields },
            ValueContent::File { path } => ValueKind::Lines {
                lines: sample_lines(path)?,
                next: 0,
            },
        };
        Ok(ValueWriter { kind, rng })
    }

    /// Appends exactly `len` value bytes.
    fn fill(&mut self, out: &mut Vec<u8>, len: usize) {
        let start = out.len();
        let rng = &mut self.rng;
        match &mut self.kind {
            ValueKind::Random => {
                while out.len() < start + len {
                    out.extend_from_slice(&rng.next_u64().to_le_bytes());
                }
            }
            ValueKind::Text => {
                while out.len() < start + len {
                    let word = WORDS[rng.below(WORDS.len() as u64) as usize];
                    out.extend_from_slice(word.as_bytes());
                    out.push(b' ');
                }
            }
            ValueKind::Json { fields } => {
                while out.len() < start + len {
                    write_json_object(out, *fields, rng);
                }
            }
            ValueKind::Lines { lines, next } => {
                let line = &lines[*next % lines.len()];
                *next += 1;
                while out.len() < start + len {
                    out.extend_from_slice(line);
                }
            }
        }
        out.truncate(start + len);
    }
}

fn write_json_object(out: &mut Vec<u8>, fields: u32, rng: &mut sim::Stream) {
    out.push(b'{');
    for index in 0..fields as usize {
        if index > 0 {
            out.push(b',');
        }
        let name = FIELD_NAMES[index % FIELD_NAMES.len()];
        let round = index / FIELD_NAMES.len();
        fn pick(rng: &mut sim::Stream, list: &[&'static str]) -> &'static str {
            list[rng.below(list.len() as u64) as usize]
        }
        let value = match name {
            "id" | "session" => format!("{}", 1_000_000 + rng.below(9_000_000)),
            "user" => format!("\"user-{}\"", rng.below(10_000)),
            "ts" => format!("{}", 1_700_000_000_000u64 + rng.below(100_000_000)),
            "status" => format!("\"{}\"", pick(rng, STATUSES)),
            "amount" | "price" => format!("{}.{:02}", rng.below(1000), rng.below(100)),
            "currency" => format!("\"{}\"", pick(rng, &["EUR", "USD", "GBP", "JPY"])),
            "country" => format!("\"{}\"", pick(rng, COUNTRIES)),
            "active" => format!("{}", rng.below(2) == 1),
            "item" => format!("\"sku-{:05}\"", rng.below(50_000)),
            "quantity" => format!("{}", 1 + rng.below(20)),
            "category" => format!("\"{}\"", pick(rng, CATEGORIES)),
            "source" => format!("\"{}\"", pick(rng, &["web", "app", "pos", "api"])),
            "device" => format!("\"{}\"", pick(rng, &["ios", "android", "desktop"])),
            _ => format!("\"{}.{}\"", 1 + rng.below(3), rng.below(10)),
        };
        if round == 0 {
            write!(out, "\"{name}\":{value}").expect("writing to a Vec cannot fail");
        } else {
            write!(out, "\"{name}{round}\":{value}").expect("writing to a Vec cannot fail");
        }
    }
    out.extend_from_slice(b"}\n");
}

/// Compresses windows of the sample at each probe size and keeps the average compressed size.
///
/// The slow levels (gzip 7 to 9, zstd 10 and up, LZ4 HC above 12) compress at most 64 KiB per
/// window size, so set-up stays near 100 ms.
pub fn measure(codec: CompressionType, level: i32, sample: &[u8]) -> MeasuredCodec {
    let budget = if slow_level(codec, level) {
        SLOW_BUDGET_BYTES.min(sample.len())
    } else {
        sample.len()
    };
    let mut points = Vec::new();
    for &size in PROBE_BYTES.iter().filter(|&&s| s as usize <= budget) {
        let windows: Vec<&[u8]> = sample
            .chunks_exact(size as usize)
            .take(WINDOWS_MAX.min(budget / size as usize).max(1))
            .collect();
        let total: u64 = windows
            .iter()
            .map(|w| compress(codec, level, w).len() as u64)
            .sum();
        let average = total / windows.len() as u64;
        points.push((size, u32::try_from(average).unwrap_or(u32::MAX)));
    }
    if points.is_empty() {
        let size = sample.len().max(1) as u32;
        points.push((size, compress(codec, level, sample).len() as u32));
    }
    MeasuredCodec { points }
}

/// The bytes the Java client's stream for `codec` writes for `data` (see the module doc).
pub fn compress(codec: CompressionType, level: i32, data: &[u8]) -> Vec<u8> {
    match codec {
        CompressionType::None => data.to_vec(),
        CompressionType::Gzip => {
            let level = if level == -1 {
                6
            } else {
                level.clamp(1, 9) as u32
            };
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
            encoder
                .write_all(data)
                .expect("writing to a Vec cannot fail");
            encoder.finish().expect("writing to a Vec cannot fail")
        }
        CompressionType::Snappy => {
            // xerial SnappyOutputStream: magic 8, version 4, compatible version 4, then blocks.
            let mut out = Vec::with_capacity(data.len() / 2 + 64);
            out.extend_from_slice(&[0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0]);
            out.extend_from_slice(&1u32.to_be_bytes());
            out.extend_from_slice(&1u32.to_be_bytes());
            let mut encoder = snap::raw::Encoder::new();
            for block in data.chunks(32 * 1024) {
                let compressed = encoder
                    .compress_vec(block)
                    .expect("a block below 4 GiB compresses");
                out.extend_from_slice(&(compressed.len() as u32).to_be_bytes());
                out.extend_from_slice(&compressed);
            }
            out
        }
        CompressionType::Lz4 => {
            // Lz4BlockOutputStream: magic 4, FLG, BD, header checksum; blocks; end mark.
            let mut out = Vec::with_capacity(data.len() / 2 + 64);
            out.extend_from_slice(&[0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82]);
            for block in data.chunks(64 * 1024) {
                let compressed = lz4_flex::block::compress(block);
                if compressed.len() < block.len() {
                    out.extend_from_slice(&(compressed.len() as u32).to_le_bytes());
                    out.extend_from_slice(&compressed);
                } else {
                    let raw = block.len() as u32 | 0x8000_0000;
                    out.extend_from_slice(&raw.to_le_bytes());
                    out.extend_from_slice(block);
                }
            }
            out.extend_from_slice(&0u32.to_le_bytes());
            out
        }
        CompressionType::Zstd => {
            zstd::stream::encode_all(data, level).expect("zstd compresses a byte slice")
        }
    }
}

/// Reads back what [`compress`] wrote (for calibrating decompression speeds); `None` when the
/// bytes are not such a frame.
pub fn decompress(codec: CompressionType, compressed: &[u8]) -> Option<Vec<u8>> {
    use std::io::Read;
    match codec {
        CompressionType::None => Some(compressed.to_vec()),
        CompressionType::Gzip => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(compressed)
                .read_to_end(&mut out)
                .ok()?;
            Some(out)
        }
        CompressionType::Snappy => {
            let mut rest = compressed.get(16..)?;
            let mut out = Vec::new();
            let mut decoder = snap::raw::Decoder::new();
            while !rest.is_empty() {
                let len = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
                out.extend(decoder.decompress_vec(rest.get(4..4 + len)?).ok()?);
                rest = &rest[4 + len..];
            }
            Some(out)
        }
        CompressionType::Lz4 => {
            let mut rest = compressed.get(7..)?;
            let mut out = Vec::new();
            loop {
                let word = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?);
                if word == 0 {
                    return Some(out);
                }
                let len = (word & 0x7fff_ffff) as usize;
                let block = rest.get(4..4 + len)?;
                if word & 0x8000_0000 != 0 {
                    out.extend_from_slice(block);
                } else {
                    out.extend(lz4_flex::block::decompress(block, 64 * 1024).ok()?);
                }
                rest = &rest[4 + len..];
            }
        }
        CompressionType::Zstd => zstd::stream::decode_all(compressed).ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_speeds_follow_the_published_rows_and_fall_with_the_level() {
        let speed = |codec, level| reference_speed(codec, level).compress_mb_per_sec;
        let close = |got: f64, want: f64| (got - want).abs() < 0.05;
        // The anchors themselves.
        assert!(close(speed(CompressionType::Gzip, 1), 95.0));
        assert!(close(speed(CompressionType::Lz4, 9), 740.0));
        assert!(close(speed(CompressionType::Zstd, 1), 530.0));
        assert!(close(speed(CompressionType::Snappy, 0), 550.0));
        // Rows of the level table: anchor x (row / first row).
        assert!(close(speed(CompressionType::Gzip, 6), 95.0 * 20.0 / 66.0));
        assert!(close(speed(CompressionType::Gzip, -1), 95.0 * 20.0 / 66.0));
        assert!(close(speed(CompressionType::Zstd, 5), 530.0 * 88.0 / 242.0));
        assert!(close(speed(CompressionType::Lz4, 4), 740.0 * 56.0 / 452.0));
        // A skipped level lies geometrically between its neighbours: zstd 3 and 4 split the
        // factor from 2 to 5 in three equal steps.
        let (two, three, four, five) = (
            speed(CompressionType::Zstd, 2),
            speed(CompressionType::Zstd, 3),
            speed(CompressionType::Zstd, 4),
            speed(CompressionType::Zstd, 5),
        );
        assert!(close(three / two, four / three) && close(four / three, five / four));
        // Slower at every higher level, for every codec with levels.
        for (codec, levels) in [
            (CompressionType::Gzip, 1..=9),
            (CompressionType::Zstd, 1..=22),
            (CompressionType::Lz4, 1..=8),
        ] {
            let speeds: Vec<f64> = levels.map(|l| speed(codec, l)).collect();
            assert!(
                speeds.windows(2).all(|w| w[1] < w[0]),
                "{codec:?}: {speeds:?}"
            );
        }
        // LZ4 HC stops at 12; zstd's fast levels get level 1's figure.
        assert_eq!(
            speed(CompressionType::Lz4, 17),
            speed(CompressionType::Lz4, 12)
        );
        assert_eq!(
            speed(CompressionType::Zstd, -5),
            speed(CompressionType::Zstd, 1)
        );
    }

    #[test]
    fn every_frame_reads_back_to_its_input() {
        let sample =
            sample_records(&workload(&ValueContent::Json { fields: 8 }), 100_000).expect("sample");
        for codec in CompressionType::ALL {
            let level = match codec {
                CompressionType::Gzip => -1,
                CompressionType::Lz4 => 9,
                CompressionType::Zstd => 3,
                _ => 0,
            };
            let frame = compress(codec, level, &sample);
            assert_eq!(
                decompress(codec, &frame).as_deref(),
                Some(&sample[..]),
                "{codec}"
            );
        }
    }

    fn workload(values: &ValueContent) -> WorkloadConfig {
        WorkloadConfig {
            values: values.clone(),
            ..WorkloadConfig::default()
        }
    }

    fn ratio(codec: CompressionType, level: i32, values: &ValueContent) -> f64 {
        let sample = sample_records(&workload(values), 256 * 1024).expect("sample");
        measure(codec, level, &sample).ratio()
    }

    #[test]
    fn json_and_text_compress_and_random_bytes_do_not() {
        let json = ValueContent::Json { fields: 8 };
        for codec in [
            CompressionType::Gzip,
            CompressionType::Snappy,
            CompressionType::Lz4,
            CompressionType::Zstd,
        ] {
            let level = match codec {
                CompressionType::Gzip => -1,
                CompressionType::Lz4 => 9,
                CompressionType::Zstd => 3,
                _ => 0,
            };
            let on_json = ratio(codec, level, &json);
            let on_text = ratio(codec, level, &ValueContent::Text {});
            let on_random = ratio(codec, level, &ValueContent::Random {});
            assert!(on_json < 0.6, "{codec} on JSON: {on_json}");
            assert!(on_text < 0.7, "{codec} on text: {on_text}");
            assert!(on_random > 0.97, "{codec} on random bytes: {on_random}");
        }
        // zstd and gzip compress JSON better than the fast codecs.
        assert!(ratio(CompressionType::Zstd, 3, &json) < ratio(CompressionType::Lz4, 9, &json));
        assert!(ratio(CompressionType::Gzip, -1, &json) < ratio(CompressionType::Snappy, 0, &json));
    }

    #[test]
    fn measured_ratios_are_the_same_on_every_call_and_every_thread() {
        let json = ValueContent::Json { fields: 8 };
        let here = {
            let sample = sample_records(&workload(&json), 256 * 1024).expect("sample");
            measure(CompressionType::Zstd, 3, &sample)
        };
        let there = std::thread::spawn(move || {
            let sample = sample_records(&workload(&json), 256 * 1024).expect("sample");
            measure(CompressionType::Zstd, 3, &sample)
        })
        .join()
        .expect("the thread measures");
        assert_eq!(here, there);
    }

    #[test]
    fn the_size_model_interpolates_between_measured_windows() {
        let model = MeasuredCodec {
            points: vec![(1000, 600), (2000, 1000)],
        };
        assert_eq!(model.compressed_bytes(500, 1), 300);
        assert_eq!(model.compressed_bytes(1500, 1), 800);
        assert_eq!(model.compressed_bytes(4000, 1), 2000);
    }

    #[test]
    fn a_missing_or_empty_sample_file_is_refused_naming_the_key() {
        let missing = ValueContent::File {
            path: "/nonexistent/linger-sample.txt".into(),
        };
        let error = validate(&missing, &CompressionCosts::default()).expect_err("missing");
        assert_eq!(error.key, "values.path");
        let dir = std::env::temp_dir().join(format!("linger-empty-{}", std::process::id()));
        std::fs::write(&dir, b"\n\n").expect("temp file");
        let empty = ValueContent::File {
            path: dir.to_string_lossy().into_owned(),
        };
        let error = validate(&empty, &CompressionCosts::default()).expect_err("empty");
        assert!(error.message.contains("no value"), "{}", error.message);
        std::fs::remove_file(&dir).expect("temp file");
    }

    #[test]
    fn calibration_lines_parse_and_bad_lines_name_their_number() {
        let ok = parse_calibration("# speeds\nlz4 9 700 4000\nzstd 3 300.5 1500\n").expect("ok");
        assert_eq!(ok.rows.len(), 2);
        assert_eq!(ok.rows[1].2.compress_mb_per_sec, 300.5);
        let (line, message) = parse_calibration("lz4 9 700 4000\nbrotli 1 2 3\n").expect_err("bad");
        assert_eq!(line, 2);
        assert!(message.contains("brotli"));
    }
}
