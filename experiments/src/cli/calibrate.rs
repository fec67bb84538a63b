//! `linger calibrate compression`: measures each codec's speed on this machine, on sample
//! records built like a run's, and writes the calibration file an experiment names in
//! `[workload.compression] calibration`. The wall clock is read here only, never in a run.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use experiments::error::{Error, InputError};
use models::batching::config::CompressionType;
use models::producer::compression::{
    CodecSpeed, ValueContent, compress, decompress, sample_records,
};
use models::producer::workload::{ValueBytes, WorkloadConfig};

/// What to calibrate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// The codecs of `compression.type`: gzip, snappy, lz4 and zstd at their levels.
    Compression,
}

/// Arguments of `linger calibrate`.
#[derive(Debug, clap::Args)]
pub struct CalibrateArgs {
    /// What to calibrate.
    #[arg(value_enum)]
    pub target: Target,
    /// What the values look like: random, text, json, or a file of sample values (one per line).
    #[arg(long, default_value = "json")]
    pub values: String,
    /// Value size in bytes.
    #[arg(long, default_value_t = 512)]
    pub value_bytes: u32,
    /// Where to write the calibration file.
    #[arg(long, default_value = "compression-calibration.txt")]
    pub out: PathBuf,
}

/// The codecs and levels measured: each codec's default level, and a fast and a strong one.
const LEVELS: &[(CompressionType, i32)] = &[
    (CompressionType::Gzip, -1),
    (CompressionType::Gzip, 1),
    (CompressionType::Gzip, 9),
    (CompressionType::Snappy, 0),
    (CompressionType::Lz4, 9),
    (CompressionType::Zstd, 1),
    (CompressionType::Zstd, 3),
    (CompressionType::Zstd, 9),
];

/// Bytes compressed per measurement (several times, the best kept).
const SAMPLE_BYTES: usize = 1 << 20;

/// Wall-clock seconds of `work`, best of three.
#[allow(clippy::disallowed_methods, clippy::disallowed_types)] // calibration measures wall time
fn best_of_three(mut work: impl FnMut()) -> f64 {
    (0..3)
        .map(|_| {
            let start = std::time::Instant::now();
            work();
            start.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn values(arg: &str) -> ValueContent {
    match arg {
        "random" => ValueContent::Random {},
        "text" => ValueContent::Text {},
        "json" => ValueContent::Json { fields: 8 },
        path => ValueContent::File {
            path: path.to_owned(),
        },
    }
}

/// Runs `linger calibrate compression`.
pub fn calibrate(args: &CalibrateArgs) -> Result<ExitCode> {
    let Target::Compression = args.target;
    let workload = WorkloadConfig {
        values: values(&args.values),
        value_bytes: ValueBytes::Constant(args.value_bytes),
        ..WorkloadConfig::default()
    };
    let sample = sample_records(&workload, SAMPLE_BYTES).map_err(|e| {
        Error::from(InputError::new(format!(
            "--values {}: {}",
            args.values,
            e.message.replace("values.path: ", "")
        )))
    })?;
    let mut text = format!(
        "# linger calibrate compression --values {} --value-bytes {}\n\
         # codec level compress_mb_per_sec decompress_mb_per_sec (MB/s of uncompressed bytes, one core)\n",
        args.values, args.value_bytes
    );
    for &(codec, level) in LEVELS {
        let frame = compress(codec, level, &sample);
        let compress_s = best_of_three(|| {
            std::hint::black_box(compress(codec, level, &sample));
        });
        let decompress_s = best_of_three(|| {
            std::hint::black_box(decompress(codec, &frame));
        });
        let mb = sample.len() as f64 / 1e6;
        let speed = CodecSpeed {
            compress_mb_per_sec: mb / compress_s.max(1e-9),
            decompress_mb_per_sec: mb / decompress_s.max(1e-9),
        };
        let ratio = frame.len() as f64 / sample.len() as f64;
        text.push_str(&format!(
            "{} {level} {:.1} {:.1}  # ratio {ratio:.3}\n",
            codec.name(),
            speed.compress_mb_per_sec,
            speed.decompress_mb_per_sec
        ));
    }
    std::fs::write(&args.out, &text).map_err(|source| Error::Io {
        path: args.out.clone(),
        source,
    })?;
    print!("{text}");
    println!("wrote {}", args.out.display());
    Ok(ExitCode::SUCCESS)
}
