//! The cluster differential: a linger experiment run both in linger and on a real Apache Kafka
//! cluster on loopback, and the outcomes compared.
//!
//! ```text
//!  experiment.toml ─► linger (models::world::run) ──────────────► metrics + checker verdict ─┐
//!        │                                                                                      ├─► table
//!        └─► spec ─► java: dev.linger.cluster.ClusterCheck (N runs) ─► sends + logs (JSON)      │
//!                     KRaft nodes (one JVM each), fault proxies,     └─► linger's checker ──────┘
//!                     the real KafkaProducer, a consumer
//! ```
//!
//! Both sides are judged by one definition: the Java side only reports what the application was
//! told about every `send()` and what a consumer read back from every partition (read_uncommitted,
//! and read_committed, which must agree for a non-transactional producer); linger's own checker
//! ([`models::checker::check`]) classifies them. The real side runs several times, since its
//! timing is the machine's; the table gives its min..max.
//!
//! Agreement: for the outcome classes (`lost_acked`, `duplicated`, `reordered`,
//! `records_failed`) the class must be the same: present in every real run and in linger, or
//! absent from every real run and from linger. A class present in some real runs only is a
//! disagreement, named "varies". For counts and timings, linger's value must lie within the real
//! min..max widened by the metric's tolerance ([`TOLERANCES`]).
//!
//! What the real side cannot honour (a linger model parameter with no Kafka key is ignored,
//! listed in [`IGNORED_CLUSTER_KEYS`]; anything else, e.g. a random fault process, a Poisson
//! arrival, an injected broker error) makes the experiment "skipped" with the reason.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use models::checker::{AppOutcome, FinalLogs, FinalPartitionLog, LoggedRecord, SentRecord};
use models::protocol::{PartitionId, RecordId};
use serde::Deserialize;

use super::CrosscheckError;
use crate::error::Error;
use crate::spec::{Experiment, Source};

/// The Java main class of a cluster run.
pub const CLUSTER_CLASS: &str = "dev.linger.cluster.ClusterCheck";

/// Why the cluster differential could not run.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// Java, Maven or the driver.
    #[error(transparent)]
    Java(#[from] CrosscheckError),
    /// The experiment file is bad input (exit code 2).
    #[error(transparent)]
    Experiment(#[from] Error),
}

/// `[cluster]` keys that are parameters of linger's model of a broker and have no Kafka setting:
/// the real broker has its own costs and timings.
pub const IGNORED_CLUSTER_KEYS: [&str; 6] = [
    "append_cost_per_batch_ns",
    "append_cost_per_byte_ns",
    "fetch_cost_per_request_ns",
    "alter_partition_round_trip_ms",
    "metadata_propagation_delay_ms",
    "hw_frozen_under_min_isr",
];

/// `[cluster]` keys passed to every broker under their Kafka names.
const BROKER_KEYS: [(&str, &str); 10] = [
    ("num.io.threads", "num.io.threads"),
    ("queued.max.requests", "queued.max.requests"),
    (
        "unclean.leader.election.enable",
        "unclean.leader.election.enable",
    ),
    ("replica.lag.time.max.ms", "replica.lag.time.max.ms"),
    ("replica.fetch.wait.max.ms", "replica.fetch.wait.max.ms"),
    ("replica.fetch.backoff.ms", "replica.fetch.backoff.ms"),
    ("replica.socket.timeout.ms", "replica.socket.timeout.ms"),
    ("max.message.bytes", "message.max.bytes"),
    ("broker_session_timeout_ms", "broker.session.timeout.ms"),
    (
        "broker_heartbeat_interval_ms",
        "broker.heartbeat.interval.ms",
    ),
];

/// Fault actions the real side applies (through the proxy or to the node's process).
const REAL_FAULTS: [&str; 11] = [
    "drop_responses",
    "delay_responses",
    "blackhole",
    "reset",
    "cut",
    "heal",
    "crash",
    "power_off",
    "shutdown",
    "restart",
    "latency_spike",
];

/// How one metric is compared.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Tolerance {
    /// The outcome class must be the same (zero in both, or non-zero in both).
    Class,
    /// linger within the real min..max widened by this fraction of the bounds and this many units.
    Within {
        /// Relative widening.
        relative: f64,
        /// Absolute widening, in the metric's unit.
        absolute: f64,
    },
}

/// The metrics compared, with their tolerances. The timing tolerance is wide because the
/// real side shares 2 cores with three broker JVMs; the injected delays dominate the figures
/// the experiments compare.
pub const TOLERANCES: [(&str, Tolerance); 11] = [
    ("lost_acked", Tolerance::Class),
    ("duplicated", Tolerance::Class),
    ("reordered", Tolerance::Class),
    ("records_failed", Tolerance::Class),
    (
        "records_acked",
        Tolerance::Within {
            relative: 0.0,
            absolute: 0.0,
        },
    ),
    (
        "duplicate_copies",
        Tolerance::Within {
            relative: 0.0,
            absolute: 0.0,
        },
    ),
    (
        "record-retry-total",
        Tolerance::Within {
            relative: 0.25,
            absolute: 1.0,
        },
    ),
    (
        "records-per-request-avg",
        Tolerance::Within {
            relative: 0.25,
            absolute: 0.5,
        },
    ),
    (
        "batch-size-avg",
        Tolerance::Within {
            relative: 0.25,
            absolute: 50.0,
        },
    ),
    (
        "latency_mean_ms",
        Tolerance::Within {
            relative: 0.25,
            absolute: 20.0,
        },
    ),
    (
        "latency_max_ms",
        Tolerance::Within {
            relative: 0.25,
            absolute: 20.0,
        },
    ),
];

/// What to run.
#[derive(Clone, Debug)]
pub struct ClusterOptions {
    /// The experiment files.
    pub experiments: Vec<PathBuf>,
    /// Real runs per experiment.
    pub runs: usize,
    /// The `crosscheck/` Maven project.
    pub project: PathBuf,
    /// Where each run's spec and output are kept.
    pub results_dir: PathBuf,
    /// The metrics compared (names from [`TOLERANCES`]); empty: all of them.
    pub metrics: Vec<String>,
}

/// Checks a `--metrics` list against the compared metrics.
pub fn check_metrics(metrics: &[String]) -> Result<(), Error> {
    for m in metrics {
        if !TOLERANCES.iter().any(|(name, _)| name == m) {
            let known: Vec<&str> = TOLERANCES.iter().map(|(name, _)| *name).collect();
            return Err(Error::Input(crate::error::InputError::new(format!(
                "--metrics: `{m}` is not a compared metric; allowed: {}",
                known.join(", ")
            ))));
        }
    }
    Ok(())
}

/// One row of the table.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The metric.
    pub metric: String,
    /// Its value in each real run.
    pub real: Vec<f64>,
    /// linger's value.
    pub linger: f64,
    /// Whether they agree under the metric's tolerance.
    pub agreement: Agreement,
}

/// The verdict of one row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Agreement {
    /// Same class, or within tolerance.
    Agree,
    /// Different class, or out of tolerance.
    Disagree,
    /// The class is present in some real runs only.
    Varies,
    /// The real side has no value (a metric the client did not report).
    NoValue,
}

impl Agreement {
    /// The table's word.
    pub fn word(self) -> &'static str {
        match self {
            Agreement::Agree => "agree",
            Agreement::Disagree => "DISAGREE",
            Agreement::Varies => "VARIES",
            Agreement::NoValue => "no real value",
        }
    }
}

/// One experiment's outcome.
#[derive(Clone, Debug, PartialEq)]
pub struct ExperimentReport {
    /// The experiment's name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// Why it was not run on the real cluster, if it was not.
    pub skipped: Option<String>,
    /// The rows (empty when skipped).
    pub rows: Vec<Row>,
    /// Cluster start-up time of each real run, ms (start to topic ready).
    pub ready_ms: Vec<f64>,
    /// Whether read_committed read the same records as read_uncommitted in every run.
    pub isolation_levels_agree: bool,
}

impl ExperimentReport {
    /// Whether every row agrees (a skipped experiment agrees with nothing).
    pub fn agrees(&self) -> bool {
        self.skipped.is_none()
            && self
                .rows
                .iter()
                .all(|r| matches!(r.agreement, Agreement::Agree | Agreement::NoValue))
    }
}

/// The differential's result.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ClusterReport {
    /// Kafka's version (client and broker).
    pub kafka: String,
    /// The JVM's version.
    pub java: String,
    /// Real runs per experiment.
    pub runs: usize,
    /// One entry per experiment, in the order given.
    pub experiments: Vec<ExperimentReport>,
}

/// The experiment files shipped in `crosscheck/experiments/`, sorted, or those named.
pub fn experiment_files(project: &Path, names: &[String]) -> Result<Vec<PathBuf>, ClusterError> {
    let dir = project.join("experiments");
    let mut all: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|error| {
            ClusterError::Java(CrosscheckError::Io {
                what: format!("read {}", dir.display()),
                error,
            })
        })?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    all.sort();
    if names.is_empty() {
        return Ok(all);
    }
    let mut chosen = Vec::new();
    for name in names {
        let path = Path::new(name);
        if path.extension().is_some_and(|e| e == "toml") && path.exists() {
            chosen.push(path.to_path_buf());
            continue;
        }
        let found = all
            .iter()
            .find(|p| p.file_stem().is_some_and(|s| s == name.as_str()));
        match found {
            Some(p) => chosen.push(p.clone()),
            None => {
                let known: Vec<String> = all
                    .iter()
                    .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
                    .collect();
                return Err(ClusterError::Experiment(Error::Input(
                    crate::error::InputError::new(format!(
                        "no cluster experiment named `{name}`; known: {} (or give a .toml file)",
                        known.join(", ")
                    )),
                )));
            }
        }
    }
    Ok(chosen)
}

/// A TOML value as a Java properties value.
fn property_value(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => Some(format!("{f:.0}")),
        toml::Value::Float(f) => Some(f.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

fn number(value: Option<&toml::Value>) -> Option<f64> {
    match value? {
        toml::Value::Integer(i) => Some(*i as f64),
        toml::Value::Float(f) => Some(*f),
        _ => None,
    }
}

/// The broker index of a fault entry: `broker`, or the broker end of a `["client", "brokerN"]`
/// link.
fn fault_broker(entry: &toml::Table) -> Result<u32, String> {
    if let Some(b) = number(entry.get("broker")) {
        return Ok(b as u32);
    }
    let Some(link) = entry.get("link").and_then(toml::Value::as_array) else {
        return Err("a fault on every link is not applied on the real cluster".into());
    };
    let names: Vec<&str> = link.iter().filter_map(toml::Value::as_str).collect();
    let broker = match names.as_slice() {
        ["client", b] | [b, "client"] => *b,
        _ => return Err("a fault on a link between brokers is not applied on the real cluster (its proxies sit on the client's links only)".into()),
    };
    broker
        .strip_prefix("broker")
        .or_else(|| broker.strip_prefix('b'))
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("link end `{broker}` is not a broker name"))
}

/// The Java side's spec (a properties file) for the experiment's sections, or why the real
/// cluster cannot run it.
pub fn spec_of(experiment: &Experiment, seed: u64) -> Result<String, String> {
    if !experiment.axes.is_empty() {
        return Err("a sweep: give each point its own file".into());
    }
    let empty = toml::Table::new();
    let table = |name: &str| {
        experiment
            .sections
            .get(name)
            .and_then(toml::Value::as_table)
            .unwrap_or(&empty)
    };
    let mut lines: Vec<String> = vec![format!("seed={seed}")];
    for (key, value) in table("producer") {
        let value = property_value(value)
            .ok_or_else(|| format!("[producer] {key} is not a single value"))?;
        lines.push(format!("producer.{key}={value}"));
    }
    let cluster = table("cluster");
    for (key, value) in cluster {
        match key.as_str() {
            "brokers" => lines.push(format!(
                "nodes={}",
                property_value(value).unwrap_or_default()
            )),
            "partitions" => lines.push(format!(
                "partitions={}",
                property_value(value).unwrap_or_default()
            )),
            "replication_factor" => lines.push(format!(
                "replication.factor={}",
                property_value(value).unwrap_or_default()
            )),
            "min.insync.replicas" => lines.push(format!(
                "min.insync.replicas={}",
                property_value(value).unwrap_or_default()
            )),
            k if IGNORED_CLUSTER_KEYS.contains(&k) => {}
            "eligible.leader.replicas.version" => {
                return Err(
                    "[cluster] \"eligible.leader.replicas.version\" is a feature level \
                     chosen when the real cluster's storage is formatted; it runs at its \
                     release's default"
                        .into(),
                );
            }
            k => match BROKER_KEYS.iter().find(|(linger, _)| *linger == k) {
                Some((_, kafka)) => lines.push(format!(
                    "broker.{kafka}={}",
                    property_value(value).unwrap_or_default()
                )),
                None => {
                    return Err(format!(
                        "[cluster] {k} has no counterpart on the real cluster"
                    ));
                }
            },
        }
    }
    if !cluster.contains_key("brokers") {
        lines.push(format!(
            "nodes={}",
            models::world::default_config().cluster.brokers
        ));
    }
    for (key, value) in table("network") {
        match key.as_str() {
            "latency" => {
                let dist = value.as_table();
                let kind = dist
                    .and_then(|d| d.get("dist"))
                    .and_then(toml::Value::as_str);
                match (kind, dist.and_then(|d| number(d.get("ms")))) {
                    (Some("constant"), Some(ms)) => {
                        lines.push(format!("network.one.way.delay.ms={ms}"));
                    }
                    _ => {
                        return Err("[network] latency: only a constant one-way delay is applied on the real cluster".into());
                    }
                }
            }
            // The fault proxy retransmits what a cut held back on this schedule.
            "tcp_rto_min_ms" | "tcp_rto_max_ms" => match number(Some(value)) {
                Some(ms) => lines.push(format!(
                    "network.tcp.rto.{}.ms={ms}",
                    if key == "tcp_rto_min_ms" {
                        "min"
                    } else {
                        "max"
                    }
                )),
                None => return Err(format!("[network] {key}: a number of ms")),
            },
            "tcp_retries2" => {}
            k => return Err(format!("[network] {k} is not applied on the real cluster")),
        }
    }
    let workload = table("workload");
    for (key, value) in workload {
        match key.as_str() {
            "mode" => lines.push(format!(
                "workload.mode={}",
                property_value(value).unwrap_or_default()
            )),
            "records" => lines.push(format!(
                "workload.records={}",
                property_value(value).unwrap_or_default()
            )),
            "value_bytes" => match number(Some(value)) {
                Some(n) => lines.push(format!("workload.value.bytes={n}")),
                None => {
                    return Err(
                        "[workload] value_bytes: only a fixed size is sent on the real cluster"
                            .into(),
                    );
                }
            },
            "arrivals" => {
                let t = value.as_table();
                let kind = t.and_then(|t| t.get("kind")).and_then(toml::Value::as_str);
                match (kind, t.and_then(|t| number(t.get("per_sec")))) {
                    (Some("constant"), Some(rate)) => {
                        lines.push(format!("workload.per.sec={rate}"));
                    }
                    _ => return Err(
                        "[workload] arrivals: only constant arrivals are sent on the real cluster"
                            .into(),
                    ),
                }
            }
            "keys" => {
                let t = value.as_table();
                let kind = t.and_then(|t| t.get("kind")).and_then(toml::Value::as_str);
                match (kind, t.and_then(|t| number(t.get("count")))) {
                    (Some("uniform"), Some(count)) => lines.push(format!("workload.keys={count}")),
                    (Some("none"), _) => {}
                    _ => {
                        return Err(
                            "[workload] keys: only uniform keys are sent on the real cluster"
                                .into(),
                        );
                    }
                }
            }
            "send_cpu_ms" => {}
            k => return Err(format!("[workload] {k} is not applied on the real cluster")),
        }
    }
    let run = table("run");
    let records = number(workload.get("records")).unwrap_or(0.0);
    if let Some(duration) = number(run.get("duration_ms")) {
        lines.push(format!("workload.duration.ms={duration}"));
    }
    if records == 0.0 && number(run.get("duration_ms")).unwrap_or(1.0) == 0.0 {
        return Err("neither [workload] records nor [run] duration_ms bounds the run".into());
    }
    if let Some(settle) = number(run.get("settle_ms")) {
        lines.push(format!("settle.ms={settle}"));
    }
    let faults = table("faults");
    for (key, value) in faults {
        if key != "schedule" {
            return Err(format!(
                "[faults] {key}: random fault processes are not applied on the real cluster"
            ));
        }
        let entries = value.as_array().map(Vec::as_slice).unwrap_or(&[]);
        for (i, entry) in entries.iter().enumerate() {
            let Some(entry) = entry.as_table() else {
                continue;
            };
            let action = entry
                .get("action")
                .and_then(toml::Value::as_str)
                .unwrap_or("");
            if !REAL_FAULTS.contains(&action) {
                return Err(format!(
                    "faults.schedule[{i}]: `{action}` is not applied on the real cluster"
                ));
            }
            if action == "drop_responses"
                && entry
                    .get("api")
                    .and_then(toml::Value::as_str)
                    .is_some_and(|a| a != "produce")
            {
                return Err(format!(
                    "faults.schedule[{i}]: only produce responses are dropped on the real cluster"
                ));
            }
            let broker = fault_broker(entry).map_err(|e| format!("faults.schedule[{i}]: {e}"))?;
            let p = format!("fault.{i}.");
            lines.push(format!("{p}action={action}"));
            lines.push(format!("{p}broker={broker}"));
            for (toml_key, spec_key) in [
                ("at_ms", "at.ms"),
                ("n", "n"),
                ("delay_ms", "delay.ms"),
                ("extra_ms", "extra.ms"),
                ("until_ms", "until.ms"),
            ] {
                if let Some(v) = number(entry.get(toml_key)) {
                    lines.push(format!("{p}{spec_key}={v}"));
                }
            }
        }
    }
    lines.push(String::new());
    Ok(lines.join("\n"))
}

/// The Java side's output of one run.
#[derive(Clone, Debug, Deserialize)]
pub struct RealRun {
    /// Start to topic ready, ms.
    pub ready_ms: f64,
    /// Kafka's version.
    pub kafka_version: String,
    /// The JVM's version.
    pub java: String,
    /// Every send, in id order.
    pub sent: Vec<RealSend>,
    /// read_uncommitted logs.
    pub log: Vec<RealLog>,
    /// read_committed logs.
    pub log_committed: Vec<RealLog>,
    /// The producer's metrics (null: the client reported no value).
    pub metrics: BTreeMap<String, Option<f64>>,
}

/// One send on the real side.
#[derive(Clone, Debug, Deserialize)]
pub struct RealSend {
    /// Send order.
    pub id: u64,
    /// Key index, −1 for none.
    pub key: i64,
    /// `acked`, `failed` or `unfinished`.
    pub outcome: String,
    /// The partition (−1 when the client gave none).
    pub partition: i64,
    /// The offset acknowledged.
    #[serde(default)]
    pub offset: Option<i64>,
    /// The error's class name.
    #[serde(default)]
    pub error: Option<String>,
    /// Send to callback, ms.
    #[serde(default)]
    pub latency_ms: Option<f64>,
}

/// One partition's log as read back.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct RealLog {
    /// The partition.
    pub partition: u32,
    /// `[record id, offset]` in offset order.
    pub records: Vec<(i64, i64)>,
}

fn final_logs(logs: &[RealLog]) -> FinalLogs {
    FinalLogs {
        partitions: logs
            .iter()
            .map(|l| FinalPartitionLog {
                partition: PartitionId(l.partition),
                records: l
                    .records
                    .iter()
                    .map(|&(id, offset)| LoggedRecord {
                        id: RecordId(u64::try_from(id).unwrap_or(u64::MAX)),
                        offset,
                    })
                    .collect(),
                pending: Vec::new(),
            })
            .collect(),
    }
}

/// The compared metrics of one real run, judged by linger's checker.
pub fn real_metrics(run: &RealRun) -> BTreeMap<String, Option<f64>> {
    let sent: Vec<SentRecord> = run
        .sent
        .iter()
        .map(|s| SentRecord {
            id: RecordId(s.id),
            partition: PartitionId(u32::try_from(s.partition).unwrap_or(u32::MAX)),
            key: u32::try_from(s.key).ok(),
            outcome: match s.outcome.as_str() {
                "acked" => AppOutcome::Acked {
                    offset: s.offset.unwrap_or(-1),
                },
                "failed" => AppOutcome::Failed { error: "failed" },
                _ => AppOutcome::Unfinished,
            },
        })
        .collect();
    let report = models::checker::check(&sent, &final_logs(&run.log));
    let latencies: Vec<f64> = run.sent.iter().filter_map(|s| s.latency_ms).collect();
    let mut out = BTreeMap::new();
    let mut put = |k: &str, v: Option<f64>| {
        out.insert(k.to_string(), v);
    };
    put("lost_acked", Some(report.acked_lost as f64));
    put("duplicated", Some(report.duplicated as f64));
    put("duplicate_copies", Some(report.duplicate_copies as f64));
    put("reordered", Some(report.reordered as f64));
    let acked = run.sent.iter().filter(|s| s.outcome == "acked").count();
    let failed = run.sent.iter().filter(|s| s.outcome == "failed").count();
    put("records_acked", Some(acked as f64));
    put("records_failed", Some(failed as f64));
    put(
        "latency_mean_ms",
        (!latencies.is_empty()).then(|| latencies.iter().sum::<f64>() / latencies.len() as f64),
    );
    put("latency_max_ms", latencies.iter().copied().reduce(f64::max));
    for (name, value) in &run.metrics {
        put(name, *value);
    }
    out
}

/// Compares one metric.
pub fn judge(tolerance: Tolerance, real: &[f64], linger: f64) -> Agreement {
    if real.is_empty() {
        return Agreement::NoValue;
    }
    match tolerance {
        Tolerance::Class => {
            let present = real.iter().filter(|v| **v > 0.0).count();
            if present != 0 && present != real.len() {
                Agreement::Varies
            } else if (present > 0) == (linger > 0.0) {
                Agreement::Agree
            } else {
                Agreement::Disagree
            }
        }
        Tolerance::Within { relative, absolute } => {
            let lo = real.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = real.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let lo = lo - lo.abs() * relative - absolute;
            let hi = hi + hi.abs() * relative + absolute;
            if (lo..=hi).contains(&linger) {
                Agreement::Agree
            } else {
                Agreement::Disagree
            }
        }
    }
}

/// Runs the Java side once on `spec`; returns its output.
fn run_real(
    classpath: &str,
    spec: &str,
    dir: &Path,
    run: usize,
) -> Result<RealRun, CrosscheckError> {
    std::fs::create_dir_all(dir).map_err(|error| CrosscheckError::Io {
        what: format!("create {}", dir.display()),
        error,
    })?;
    let spec_path = dir.join("spec.properties");
    std::fs::write(&spec_path, spec).map_err(|error| CrosscheckError::Io {
        what: format!("write {}", spec_path.display()),
        error,
    })?;
    let out_path = dir.join(format!("run-{run}.json"));
    let output = Command::new("java")
        .args([
            "-Xmx256m",
            "-XX:+UseSerialGC",
            "-cp",
            classpath,
            CLUSTER_CLASS,
        ])
        .arg(&spec_path)
        .arg(&out_path)
        .output()
        .map_err(|error| CrosscheckError::Io {
            what: "start java".into(),
            error,
        })?;
    if !output.status.success() {
        let text = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = text.lines().filter(|l| !l.starts_with("SLF4J")).collect();
        return Err(CrosscheckError::Driver(format!(
            "the cluster run exited with {}: {}",
            output.status,
            tail[tail.len().saturating_sub(30)..].join("\n")
        )));
    }
    let text = std::fs::read_to_string(&out_path).map_err(|error| CrosscheckError::Io {
        what: format!("read {}", out_path.display()),
        error,
    })?;
    serde_json::from_str(&text).map_err(|error| {
        CrosscheckError::Driver(format!(
            "the cluster run's output {} is not what linger expects: {error}",
            out_path.display()
        ))
    })
}

/// Runs the differential.
pub fn run_cluster(
    options: &ClusterOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<ClusterReport, ClusterError> {
    check_metrics(&options.metrics)?;
    super::java::check_tools()?;
    let classpath = super::java::build(&options.project)?;
    let mut report = ClusterReport {
        runs: options.runs,
        ..ClusterReport::default()
    };
    for path in &options.experiments {
        let experiment = Experiment::parse(Source::from_file(path)?, &[])?;
        let sections = experiment.sections.clone();
        let config =
            crate::world::world_config(&experiment.source, &sections).map_err(Error::from)?;
        let seed = crate::sweep::run_seed(
            experiment.master_seed,
            &crate::sweep::canonical_point(&[], &[]),
            0,
        );
        let mut entry = ExperimentReport {
            name: experiment.name.clone(),
            description: experiment.description.clone(),
            skipped: None,
            rows: Vec::new(),
            ready_ms: Vec::new(),
            isolation_levels_agree: true,
        };
        let spec = match spec_of(&experiment, seed) {
            Ok(spec) => spec,
            Err(reason) => {
                entry.skipped = Some(reason);
                report.experiments.push(entry);
                continue;
            }
        };
        progress(&format!("{}: linger", experiment.name));
        let result = crate::world::run_world(&config, seed, sim::Trace::off());
        let linger: BTreeMap<&str, f64> = result.metrics.iter().copied().collect();
        let mut real: Vec<BTreeMap<String, Option<f64>>> = Vec::new();
        for run in 0..options.runs {
            progress(&format!(
                "{}: real cluster, run {} of {}",
                experiment.name,
                run + 1,
                options.runs
            ));
            let dir = options.results_dir.join(&experiment.name);
            let outcome = run_real(&classpath, &spec, &dir, run + 1)?;
            report.kafka.clone_from(&outcome.kafka_version);
            report.java.clone_from(&outcome.java);
            entry.ready_ms.push(outcome.ready_ms);
            if outcome.log != outcome.log_committed {
                entry.isolation_levels_agree = false;
            }
            real.push(real_metrics(&outcome));
        }
        for (metric, tolerance) in TOLERANCES {
            if !options.metrics.is_empty() && !options.metrics.iter().any(|m| m == metric) {
                continue;
            }
            let values: Vec<f64> = real
                .iter()
                .filter_map(|m| m.get(metric).copied().flatten())
                .collect();
            let linger_value = linger.get(metric).copied().unwrap_or(f64::NAN);
            entry.rows.push(Row {
                metric: metric.to_string(),
                agreement: judge(tolerance, &values, linger_value),
                real: values,
                linger: linger_value,
            });
        }
        report.experiments.push(entry);
    }
    Ok(report)
}

fn figure(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e12 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

fn range(values: &[f64]) -> String {
    if values.is_empty() {
        return "-".into();
    }
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if lo == hi {
        figure(lo)
    } else {
        format!("{}..{}", figure(lo), figure(hi))
    }
}

fn tolerance_text(metric: &str) -> String {
    match TOLERANCES.iter().find(|(m, _)| *m == metric) {
        Some((_, Tolerance::Class)) => "same class".into(),
        Some((_, Tolerance::Within { relative, absolute })) => {
            format!("±{:.0}% ±{}", relative * 100.0, figure(*absolute))
        }
        None => String::new(),
    }
}

/// The table as Markdown.
pub fn table(report: &ClusterReport) -> String {
    let mut text = String::from(
        "| experiment | metric | real (min..max) | linger | tolerance | agreement |\n|---|---|---|---|---|---|\n",
    );
    for e in &report.experiments {
        if let Some(reason) = &e.skipped {
            let _ = writeln!(text, "| {} | - | - | - | - | skipped: {reason} |", e.name);
            continue;
        }
        for row in &e.rows {
            let _ = writeln!(
                text,
                "| {} | {} | {} | {} | {} | {} |",
                e.name,
                row.metric,
                range(&row.real),
                if row.linger.is_nan() {
                    "-".into()
                } else {
                    figure(row.linger)
                },
                tolerance_text(&row.metric),
                row.agreement.word()
            );
        }
        if !e.isolation_levels_agree {
            let _ = writeln!(
                text,
                "| {} | read_committed vs read_uncommitted | differ | - | equal | DISAGREE |",
                e.name
            );
        }
    }
    let run: Vec<&ExperimentReport> = report
        .experiments
        .iter()
        .filter(|e| e.skipped.is_none())
        .collect();
    let agree = run.iter().filter(|e| e.agrees()).count();
    let _ = writeln!(
        text,
        "\n{agree} of {} experiment(s) run agree in every row; {} skipped; {} real run(s) each.",
        run.len(),
        report.experiments.len() - run.len(),
        report.runs
    );
    text
}

/// The table of the validation page's cluster section, between its markers.
pub fn validation_table(report: &ClusterReport, linger_commit: &str) -> String {
    let mut text = String::new();
    let _ = writeln!(text, "{TABLE_BEGIN}");
    let _ = writeln!(
        text,
        "linger {linger_commit} against Apache Kafka {} (KRaft: one controller node and one JVM \
         per broker on 127.0.0.1; the real KafkaProducer; Java {}), {} real run(s) per \
         experiment. Written by `linger crosscheck cluster --write-doc docs/validation.md`.\n",
        report.kafka, report.java, report.runs
    );
    text.push_str(&table(report));
    let _ = writeln!(text, "{TABLE_END}");
    text
}

/// Markers around the cluster section of the validation page (kept by
/// `linger crosscheck accumulator --write-doc`).
pub const CLUSTER_BEGIN: &str = "<!-- cluster differential: begin -->";
/// The end of the cluster section.
pub const CLUSTER_END: &str = "<!-- cluster differential: end -->";
/// Markers around the generated table inside the cluster section (the prose around it is kept).
pub const TABLE_BEGIN: &str = "<!-- cluster table: begin (generated) -->";
/// The end of the generated table.
pub const TABLE_END: &str = "<!-- cluster table: end -->";

fn between(doc: &str, begin: &str, end: &str) -> Option<(usize, usize)> {
    let b = doc.find(begin)?;
    let e = doc[b..].find(end)? + b + end.len();
    Some((b, e))
}

/// `doc` with its generated cluster table replaced by `table`; without one, the table goes at
/// the end of the cluster section, and without a section a new one is appended.
pub fn splice_table(doc: &str, table: &str) -> String {
    let table = table.trim_end_matches('\n');
    if let Some((b, e)) = between(doc, TABLE_BEGIN, TABLE_END) {
        return format!("{}{table}{}", &doc[..b], &doc[e..]);
    }
    if let Some((_, e)) = between(doc, CLUSTER_BEGIN, CLUSTER_END) {
        let at = e - CLUSTER_END.len();
        return format!("{}{table}\n{}", &doc[..at], &doc[at..]);
    }
    let mut out = doc.trim_end_matches('\n').to_string();
    if !out.is_empty() {
        out.push_str("\n\n");
    }
    out.push_str(&format!(
        "{CLUSTER_BEGIN}\n## linger against a real Kafka cluster (`linger crosscheck cluster`)\n\n{table}\n{CLUSTER_END}\n"
    ));
    out
}

/// `new_doc` (a regenerated accumulator page) followed by the cluster section of `old_doc`, if
/// it had one.
pub fn keep_cluster_section(old_doc: &str, new_doc: &str) -> String {
    match between(old_doc, CLUSTER_BEGIN, CLUSTER_END) {
        Some((b, e)) => format!("{}\n\n{}\n", new_doc.trim_end_matches('\n'), &old_doc[b..e]),
        None => new_doc.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_class_present_in_some_real_runs_only_varies() {
        assert_eq!(judge(Tolerance::Class, &[0.0, 1.0], 1.0), Agreement::Varies);
        assert_eq!(judge(Tolerance::Class, &[2.0, 1.0], 1.0), Agreement::Agree);
        assert_eq!(
            judge(Tolerance::Class, &[0.0, 0.0], 1.0),
            Agreement::Disagree
        );
    }

    #[test]
    fn a_count_agrees_inside_the_widened_real_range_only() {
        let t = Tolerance::Within {
            relative: 0.25,
            absolute: 1.0,
        };
        assert_eq!(judge(t, &[4.0, 8.0], 11.0), Agreement::Agree);
        assert_eq!(judge(t, &[4.0, 8.0], 11.5), Agreement::Disagree);
        assert_eq!(judge(t, &[], 1.0), Agreement::NoValue);
    }

    #[test]
    fn an_injected_broker_error_skips_the_experiment_with_the_reason() {
        let text = "[[faults.schedule]]\nat_ms = 1\naction = \"error\"\nbroker = 0\nerror = \"NOT_LEADER_OR_FOLLOWER\"\n[workload]\nrecords = 3\n";
        let experiment = Experiment::parse(Source::built_in("e.toml", text), &[]).expect("parses");
        let reason = spec_of(&experiment, 1).expect_err("not applied");
        assert!(reason.contains("`error` is not applied"), "{reason}");
    }

    #[test]
    fn the_spec_carries_producer_keys_verbatim_and_cluster_keys_under_kafka_names() {
        let text = "[producer]\n\"linger.ms\" = 7\nacks = \"all\"\n[cluster]\nbrokers = 3\nbroker_session_timeout_ms = 500\nappend_cost_per_batch_ns = 10\n[workload]\nrecords = 3\n[[faults.schedule]]\nat_ms = 5\naction = \"reset\"\nlink = [\"client\", \"broker2\"]\n";
        let experiment = Experiment::parse(Source::built_in("e.toml", text), &[]).expect("parses");
        let spec = spec_of(&experiment, 9).expect("runs");
        for line in [
            "producer.linger.ms=7",
            "producer.acks=all",
            "nodes=3",
            "broker.broker.session.timeout.ms=500",
            "fault.0.action=reset",
            "fault.0.broker=2",
            "fault.0.at.ms=5",
        ] {
            assert!(
                spec.lines().any(|l| l == line),
                "{line} missing from\n{spec}"
            );
        }
        assert!(!spec.contains("append_cost"), "{spec}");
    }

    #[test]
    fn broker_cpu_and_retransmission_keys_reach_the_real_side_and_model_only_keys_do_not() {
        let text = "[cluster]\n\"num.io.threads\" = 2\n\"queued.max.requests\" = 50\nfetch_cost_per_request_ns = 100\nalter_partition_round_trip_ms = 5\n[workload]\nrecords = 3\n";
        let experiment = Experiment::parse(Source::built_in("e.toml", text), &[]).expect("parses");
        let spec = spec_of(&experiment, 1).expect("runs");
        for line in ["broker.num.io.threads=2", "broker.queued.max.requests=50"] {
            assert!(
                spec.lines().any(|l| l == line),
                "{line} missing from\n{spec}"
            );
        }
        assert!(
            !spec.contains("fetch_cost") && !spec.contains("alter_partition"),
            "{spec}"
        );
        let text = "[network]\ntcp_rto_min_ms = 50\ntcp_rto_max_ms = 1000\ntcp_retries2 = 8\n[workload]\nrecords = 3\n";
        let experiment = Experiment::parse(Source::built_in("e.toml", text), &[]).expect("parses");
        let spec = spec_of(&experiment, 1).expect("runs");
        for line in ["network.tcp.rto.min.ms=50", "network.tcp.rto.max.ms=1000"] {
            assert!(
                spec.lines().any(|l| l == line),
                "{line} missing from\n{spec}"
            );
        }
        let text = "[producer]\n\"linger.kafka.version\" = \"4.1\"\n[cluster]\n\"eligible.leader.replicas.version\" = 1\n[workload]\nrecords = 3\n";
        let experiment = Experiment::parse(Source::built_in("e.toml", text), &[]).expect("parses");
        let reason = spec_of(&experiment, 1).expect_err("a feature level");
        assert!(reason.contains("feature level"), "{reason}");
    }

    #[test]
    fn the_table_is_replaced_and_the_prose_around_it_kept() {
        let doc = format!(
            "# V\n\nacc\n{CLUSTER_BEGIN}\nprose\n{TABLE_BEGIN}\nold\n{TABLE_END}\nnotes\n{CLUSTER_END}\n"
        );
        let out = splice_table(&doc, &format!("{TABLE_BEGIN}\nnew\n{TABLE_END}\n"));
        for kept in ["acc\n", "prose\n", "new", "notes\n"] {
            assert!(out.contains(kept), "{kept} lost: {out}");
        }
        assert!(!out.contains("old"), "{out}");
        let fresh = splice_table("# V\n", &format!("{TABLE_BEGIN}\nnew\n{TABLE_END}\n"));
        assert!(
            fresh.contains(CLUSTER_BEGIN) && fresh.contains("new"),
            "{fresh}"
        );
    }

    #[test]
    fn a_regenerated_accumulator_page_keeps_the_cluster_section() {
        let old = format!("# old acc\n{CLUSTER_BEGIN}\nprose and table\n{CLUSTER_END}\n");
        let out = keep_cluster_section(&old, "# new acc\n");
        assert!(
            out.starts_with("# new acc\n") && out.contains("prose and table"),
            "{out}"
        );
        assert!(!out.contains("old acc"), "{out}");
    }
}
