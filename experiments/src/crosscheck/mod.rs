//! The accumulator differential: linger's batching core against the real Kafka Java client.
//!
//! ```text
//!  seed ─► generate (script i) ─► script lines ─────► java: AccumulatorDriver (RecordAccumulator,
//!             │ steps linger's side                     BufferPool, BuiltInPartitioner,
//!             ▼                                         TransactionManager, Sender.completeBatch)
//!          linger's decisions ──── compare, line by line ◄── Java's decision lines
//!                                     │
//!                      a difference: script number, seed, operation, both decisions,
//!                      the script saved for `--replay`
//! ```
//!
//! One JVM runs every script of a run: a writer thread generates scripts (running linger's side
//! as it goes) and streams them to the driver's stdin, while the caller's thread reads the
//! driver's decisions and compares them as JSON values. The driver lives in the `crosscheck/`
//! Maven project; it is built once (`mvn package`) and started with `java -cp`.
//!
//! Fidelity of the comparison itself (what the scripts leave out is listed in ARCHITECTURE.md,
//! "Fidelity: what is simplified"): `max.block.ms` is 0, so buffer exhaustion is an immediate
//! `BufferExhaustedException` and no thread ever waits in the pool; the retry backoff has no
//! jitter on either side; one topic, leaders fixed for the whole script; compression only as
//! lz4 on values that do not compress (every block stored raw, so both sides know each
//! batch's bytes exactly; see `script::ScriptHeader::compression`).

pub mod cluster;
pub mod generate;
pub mod java;
pub mod model;
pub mod script;
pub mod sender;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use serde_json::Value;

use generate::Generated;
use java::JavaDriver;
use model::LingerSide;
use script::{Script, ScriptError};

/// Why a differential could not run (not a difference: those are in the [`Report`]).
#[derive(Debug, thiserror::Error)]
pub enum CrosscheckError {
    /// `java` or `mvn` is not installed.
    #[error(
        "the differential against the Kafka Java client needs {0}; install what is missing (Debian: apt-get install openjdk-17-jdk-headless maven) and try again"
    )]
    ToolsMissing(String),
    /// Maven could not build the driver.
    #[error("building the Java driver with Maven failed; the end of Maven's output:\n{tail}")]
    MavenFailed {
        /// The last lines Maven printed.
        tail: String,
    },
    /// The driver misbehaved (died, printed something unexpected).
    #[error("the Java driver: {0}")]
    Driver(String),
    /// A script file given for replay cannot be read.
    #[error("{path}: {error}")]
    BadScript {
        /// The file.
        path: String,
        /// What is wrong.
        error: ScriptError,
    },
    /// linger's side could not apply an operation of a script.
    #[error("script {script}, operation {op_index}: {message}")]
    Apply {
        /// The script number.
        script: u64,
        /// The 1-based operation number.
        op_index: usize,
        /// What went wrong.
        message: String,
    },
    /// Reading or writing a file or a pipe failed.
    #[error("cannot {what}: {error}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        error: std::io::Error,
    },
}

impl CrosscheckError {
    /// Whether the error means "not available here" (exit code 3) rather than a failure.
    pub fn is_not_available(&self) -> bool {
        matches!(self, CrosscheckError::ToolsMissing(_))
    }
}

/// What to run.
#[derive(Clone, Debug)]
pub struct Options {
    /// Number of scripts.
    pub scripts: u64,
    /// The master seed of the scripts.
    pub seed: u64,
    /// Operations per script.
    pub ops: usize,
    /// The `crosscheck/` Maven project.
    pub project: PathBuf,
    /// Where scripts with a difference are saved.
    pub results_dir: PathBuf,
}

/// One difference between linger and Kafka.
#[derive(Clone, Debug)]
pub struct Difference {
    /// The script number.
    pub script: u64,
    /// The 1-based operation number (0 for the script as a whole).
    pub op_index: usize,
    /// The operation's line.
    pub op: String,
    /// linger's decision.
    pub linger: String,
    /// Kafka's decision.
    pub kafka: String,
    /// Where the script was saved, if it was.
    pub saved: Option<PathBuf>,
}

/// The outcome of a differential run.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// The master seed.
    pub seed: u64,
    /// Scripts compared.
    pub scripts: u64,
    /// Operations compared.
    pub ops: u64,
    /// The kafka-clients version the driver ran.
    pub kafka_clients: String,
    /// The JVM's version.
    pub java: String,
    /// The first difference of each script that had one.
    pub differences: Vec<Difference>,
    /// How often each kind of decision occurred (what the scripts covered).
    pub coverage: BTreeMap<String, u64>,
}

/// Counts what a decision line shows, to report what the scripts exercised.
fn count_coverage(coverage: &mut BTreeMap<String, u64>, decision: &Value) {
    let op = decision["op"].as_str().unwrap_or("?");
    let mut bump = |key: String, by: u64| *coverage.entry(key).or_insert(0) += by;
    bump(format!("op {op}"), 1);
    match op {
        "append" => {
            let result = decision["result"].as_str().unwrap_or("?");
            bump(format!("append {result}"), 1);
            if decision["new_batch"] == Value::Bool(true) {
                bump("append new batch".into(), 1);
            }
        }
        "drain" => {
            let batches: usize = decision["requests"].as_array().map_or(0, |r| {
                r.iter()
                    .map(|n| n["batches"].as_array().map_or(0, Vec::len))
                    .sum()
            });
            bump("drained batches".into(), batches as u64);
        }
        "complete" => bump(
            format!("complete {}", decision["outcome"].as_str().unwrap_or("?")),
            1,
        ),
        "expire" => bump(
            "expired batches".into(),
            decision["expired"].as_array().map_or(0, Vec::len) as u64,
        ),
        "ready"
            if decision["ready_nodes"]
                .as_array()
                .is_some_and(|n| !n.is_empty()) =>
        {
            bump("ready with nodes".into(), 1);
        }
        "sender_loop" => bump(
            format!("sender_loop {}", decision["action"].as_str().unwrap_or("?")),
            1,
        ),
        _ => {}
    }
}

/// Saves a script with a difference for replay; returns its path.
fn save_script(dir: &Path, seed: u64, script: &Script) -> Option<PathBuf> {
    std::fs::create_dir_all(dir).ok()?;
    let path = dir.join(format!(
        "accumulator-seed{seed}-script{}.jsonl",
        script.header.script
    ));
    std::fs::write(&path, script.to_lines()).ok()?;
    Some(path)
}

/// The driver's next line; its end before every operation was answered is an error.
pub(crate) fn read_decision(driver: &mut JavaDriver) -> Result<String, CrosscheckError> {
    driver.read_line()?.ok_or_else(|| {
        CrosscheckError::Driver(format!(
            "it ended before answering every operation: {}",
            driver.stderr_tail()
        ))
    })
}

/// Reads the driver's answer to a script's header line (script `script`), and the versions it
/// names into `report`.
pub(crate) fn read_header_answer(
    driver: &mut JavaDriver,
    script: u64,
    report: &mut Report,
) -> Result<(), CrosscheckError> {
    let first = read_decision(driver)?;
    let first_value: Value = serde_json::from_str(&first)
        .map_err(|_| CrosscheckError::Driver(format!("expected a JSON line, got {first:?}")))?;
    if let Some(error) = first_value["error"].as_str() {
        // A header the driver cannot use: it skipped the script.
        return Err(CrosscheckError::Driver(format!("script {script}: {error}")));
    }
    if first_value["script"].as_u64() != Some(script) {
        return Err(CrosscheckError::Driver(format!(
            "expected the header answer of script {script}, got {first}"
        )));
    }
    report.kafka_clients = first_value["kafka_clients"]
        .as_str()
        .unwrap_or("?")
        .to_string();
    report.java = first_value["java"].as_str().unwrap_or("?").to_string();
    Ok(())
}

/// Compares one script's decisions with the driver's lines. Returns the first difference.
fn compare_script(
    driver: &mut JavaDriver,
    generated: &Generated,
    report: &mut Report,
) -> Result<Option<Difference>, CrosscheckError> {
    let script = &generated.script;
    read_header_answer(driver, script.header.script, report)?;
    let mut difference = None;
    for (index, (op, linger)) in script.ops.iter().zip(&generated.decisions).enumerate() {
        let line = read_decision(driver)?;
        let kafka: Value = serde_json::from_str(&line).unwrap_or(Value::String(line.clone()));
        if kafka["skipped"] == Value::Bool(true) {
            // The driver could not read the line and skipped the rest of the script.
            return Err(CrosscheckError::Driver(
                kafka["error"].as_str().unwrap_or(&line).to_string(),
            ));
        }
        count_coverage(&mut report.coverage, linger);
        report.ops += 1;
        if difference.is_none() && &kafka != linger {
            difference = Some(Difference {
                script: script.header.script,
                op_index: index + 1,
                op: serde_json::to_string(op).unwrap_or_default(),
                linger: linger.to_string(),
                kafka: line,
                saved: None,
            });
        }
    }
    let end = read_decision(driver)?;
    let end_value: Value = serde_json::from_str(&end).unwrap_or(Value::Null);
    if end_value["end"].as_u64() != Some(script.header.script) {
        return Err(CrosscheckError::Driver(format!(
            "expected the end of script {}, got {end}",
            script.header.script
        )));
    }
    Ok(difference)
}

/// Runs the differential: `options.scripts` generated scripts through linger and Kafka.
/// `progress` is called with the number of scripts compared so far.
pub fn run_accumulator(
    options: &Options,
    progress: &mut dyn FnMut(u64),
) -> Result<Report, CrosscheckError> {
    java::check_tools()?;
    let classpath = java::build(&options.project)?;
    let mut driver = JavaDriver::start(&classpath)?;
    let mut stdin = driver
        .take_stdin()
        .ok_or_else(|| CrosscheckError::Driver("no stdin".into()))?;
    let (sender, receiver) = mpsc::sync_channel::<Result<Generated, CrosscheckError>>(64);
    let (seed, count, ops) = (options.seed, options.scripts, options.ops);
    let writer = std::thread::spawn(move || {
        for index in 0..count {
            let generated =
                generate::generate(seed, index, ops).map_err(|error| CrosscheckError::Apply {
                    script: index,
                    op_index: 0,
                    message: error.0,
                });
            let text = generated.as_ref().ok().map(|g| g.script.to_lines());
            if sender.send(generated).is_err() {
                return;
            }
            let Some(text) = text else { return };
            use std::io::Write as _;
            if java::write_all(&mut stdin, &text)
                .and_then(|()| stdin.flush())
                .is_err()
            {
                return;
            }
        }
    });
    let mut report = Report {
        seed: options.seed,
        ..Report::default()
    };
    let outcome = (|| {
        for generated in receiver.iter() {
            let generated = generated?;
            if let Some(mut difference) = compare_script(&mut driver, &generated, &mut report)? {
                difference.saved =
                    save_script(&options.results_dir, options.seed, &generated.script);
                report.differences.push(difference);
            }
            report.scripts += 1;
            progress(report.scripts);
        }
        Ok(())
    })();
    drop(receiver);
    let _ = writer.join();
    outcome?;
    driver.finish()?;
    Ok(report)
}

/// Replays one saved script through linger and Kafka.
pub fn replay(path: &Path, project: &Path) -> Result<Report, CrosscheckError> {
    let text = std::fs::read_to_string(path).map_err(|error| CrosscheckError::Io {
        what: format!("read {}", path.display()),
        error,
    })?;
    let script = Script::parse(&text).map_err(|error| CrosscheckError::BadScript {
        path: path.display().to_string(),
        error,
    })?;
    let decisions = run_linger(&script)?;
    java::check_tools()?;
    let classpath = java::build(project)?;
    let mut driver = JavaDriver::start(&classpath)?;
    let mut stdin = driver
        .take_stdin()
        .ok_or_else(|| CrosscheckError::Driver("no stdin".into()))?;
    let text = script.to_lines();
    // A writer thread, so that a long script cannot fill both pipes at once.
    let writer = std::thread::spawn(move || {
        let _ = java::write_all(&mut stdin, &text);
    });
    let generated = Generated { script, decisions };
    let mut report = Report::default();
    if let Some(difference) = compare_script(&mut driver, &generated, &mut report)? {
        report.differences.push(difference);
    }
    report.scripts = 1;
    let _ = writer.join();
    driver.finish()?;
    Ok(report)
}

/// linger's decisions for every operation of `script`.
pub fn run_linger(script: &Script) -> Result<Vec<Value>, CrosscheckError> {
    let mut side = LingerSide::new(&script.header);
    script
        .ops
        .iter()
        .enumerate()
        .map(|(index, op)| {
            side.apply(op).map_err(|error| CrosscheckError::Apply {
                script: script.header.script,
                op_index: index + 1,
                message: error.0,
            })
        })
        .collect()
}

/// The Markdown validation page: versions, figures, differences and what they mean.
pub fn validation_doc(report: &Report, linger_commit: &str, rate_per_s: f64) -> String {
    let mut doc = String::new();
    let _ = writeln!(
        doc,
        "# Validation: linger's batching core against the Kafka Java client\n"
    );
    let _ = writeln!(
        doc,
        "Generated by `linger crosscheck accumulator --scripts {} --seed {} --write-doc docs/validation.md`; do not edit by hand.\n",
        report.scripts, report.seed
    );
    let _ = writeln!(
        doc,
        "The differential runs the real `RecordAccumulator`, `BufferPool`, `BuiltInPartitioner`, idempotent `TransactionManager` and `Sender.completeBatch` of the Kafka Java client on random scripts of operations, runs linger's batching core (`models/batching`) on the same scripts, and compares every decision: which partition and batch a record joined, new batches and fullness, batch sizes and record counts, the ready nodes and the next ready-check delay, the batches drained per node in order with their sequence numbers, retries, splits, failures, expired batches, the next expiry time, producer id and epoch, and the free buffer memory after each operation.\n"
    );
    let _ = writeln!(doc, "## Versions\n");
    let _ = writeln!(doc, "| What | Version |\n|---|---|");
    let _ = writeln!(
        doc,
        "| Kafka client (`org.apache.kafka:kafka-clients`) | {} |",
        report.kafka_clients
    );
    let _ = writeln!(doc, "| JDK | {} |", report.java);
    let _ = writeln!(doc, "| linger commit | {linger_commit} |\n");
    let _ = writeln!(doc, "## Figures\n");
    let _ = writeln!(doc, "| Figure | Value |\n|---|---|");
    let _ = writeln!(doc, "| Scripts | {} |", report.scripts);
    let _ = writeln!(doc, "| Operations compared | {} |", report.ops);
    let _ = writeln!(
        doc,
        "| Scripts with a difference | {} |",
        report.differences.len()
    );
    let _ = writeln!(
        doc,
        "| Rate (scripts per wall second, generation, linger and the JVM together) | {rate_per_s:.0} |\n"
    );
    let _ = writeln!(doc, "What the scripts exercised (counts of decisions):\n");
    let _ = writeln!(doc, "| Decision | Count |\n|---|---|");
    for (key, count) in &report.coverage {
        let _ = writeln!(doc, "| {key} | {count} |");
    }
    let _ = writeln!(doc, "\n## Differences\n");
    if report.differences.is_empty() {
        let _ = writeln!(doc, "None: every decision of every script matched.\n");
    } else {
        for difference in &report.differences {
            let _ = writeln!(
                doc,
                "- script {}, operation {}: `{}`\n  - linger: `{}`\n  - Kafka: `{}`",
                difference.script,
                difference.op_index,
                difference.op,
                difference.linger,
                difference.kafka
            );
        }
        doc.push('\n');
    }
    let _ = writeln!(
        doc,
        "## Divergences this differential found in linger, since fixed\n"
    );
    let _ = writeln!(
        doc,
        "- An in-flight batch that expired gave its buffer back to the pool at once; Kafka (4.0.1 and later, KAFKA-19012) keeps it until the request's response or disconnect, because the network client may still be writing it. Pinned by `an_expired_in_flight_batch_keeps_its_buffer_until_the_late_response`."
    );
    let _ = writeln!(
        doc,
        "- A batch that failed with `UNKNOWN_PRODUCER_ID` reset its partition's sequence state; in Kafka `UnknownProducerIdException` is an `OutOfOrderSequenceException`, so the idempotent producer requests an epoch bump instead. Pinned by `failed_unknown_producer_id_bumps_the_epoch_like_out_of_order_sequence`."
    );
    let _ = writeln!(
        doc,
        "- A batch whose sequence an epoch bump rewrote stayed marked as reset for good; Kafka's `ProducerBatch.close()` at the next drain clears the mark, so a later `OUT_OF_ORDER_SEQUENCE_NUMBER` for it is a real gap and bumps the epoch again. Pinned by `a_sequence_reset_mark_lasts_until_the_next_drain_like_reopened`.\n"
    );
    let _ = writeln!(doc, "## What the comparison leaves out\n");
    let _ = writeln!(
        doc,
        "- Partition order: linger visits partitions in partition order, Kafka in the iteration order of its hash maps; the driver gives Kafka partition-ordered maps (ARCHITECTURE.md, \"Fidelity: what is simplified\"; pinned by `kafka_visits_partitions_in_hash_map_order_linger_in_partition_order`)."
    );
    let _ = writeln!(
        doc,
        "- `max.block.ms` is 0: an allocation the pool cannot serve at once fails with `BufferExhaustedException`, so no thread waits in the pool and the \"memory exhausted, every partition is ready\" rule is not exercised."
    );
    let _ = writeln!(
        doc,
        "- The retry backoff runs without jitter on both sides: Kafka draws a fresh jitter from `ThreadLocalRandom` on every check, which no script can predict; linger draws one per retry."
    );
    let _ = writeln!(
        doc,
        "- Compression: 30% of the scripts run with `compression.type=lz4` through Kafka's own `Lz4BlockOutputStream` with a block compressor that never shrinks a block, so every block is stored raw, as Kafka stores values that do not compress; linger's side uses the same size (`7 + Σ(4 + block) + 4` bytes). This compares the whole fill logic with a compressed batch (the `61 + records × estimate × 1.05` room test, the estimate's rise to 1.05 after the first batch and its fall by 0.005 per batch, the real size at close, the reset on a split, which reads the batch back through Kafka's lz4 input stream) exactly; it does not compare codec bytes, because lz4-java's and linger's compressors write a few bytes differently on compressible data, and one byte moves the estimate and every later room test. Ratios on compressible values come from linger's own codecs (`models::producer::compression`) and are not compared with the Java client's."
    );
    let _ = writeln!(
        doc,
        "- One topic, leaders fixed for the whole script (no metadata updates, so the KIP-951 leader-change skip of the backoff is not exercised), no transactions."
    );
    let _ = writeln!(
        doc,
        "- The driver plays the parts of `KafkaProducer.doSend` (the record size check, murmur2 for keyed records) and of `Sender.sendProducerData` (node latency stats, muting, the in-flight lists, the expiry pass) by calling Kafka's own methods, not the whole `Sender` loop; the network is not involved."
    );
    doc
}

/// Kafka's decision lines for raw script text (any number of scripts), in order: the header
/// answers, one line per operation and the end lines. For tests and one-off checks.
pub fn java_decisions(project: &Path, text: &str) -> Result<Vec<Value>, CrosscheckError> {
    java::check_tools()?;
    let classpath = java::build(project)?;
    let mut driver = JavaDriver::start(&classpath)?;
    let mut stdin = driver
        .take_stdin()
        .ok_or_else(|| CrosscheckError::Driver("no stdin".into()))?;
    let text = text.to_string();
    let writer = std::thread::spawn(move || {
        let _ = java::write_all(&mut stdin, &text);
    });
    let mut lines = Vec::new();
    while let Some(line) = driver.read_line()? {
        let value = serde_json::from_str(&line)
            .map_err(|_| CrosscheckError::Driver(format!("expected a JSON line, got {line:?}")))?;
        lines.push(value);
    }
    let _ = writer.join();
    driver.finish()?;
    Ok(lines)
}
