//! `linger perf-test`: `kafka-producer-perf-test`'s command line over a simulated cluster,
//! printing the tool's lines (see `experiments::perf_test`) and linger's checker verdict below.
//!
//! The cluster, the network and any faults come from an experiment file (`--experiment FILE`
//! or a shipped name; default the built-in baseline: 3 brokers, replication factor 3, 6
//! partitions, 0.5 ms one way on every link). The tool's options decide the workload: async
//! sends with no key (`new ProducerRecord<>(topic, payload)`), `--num-records` records of
//! `--record-size` bytes (or the mean length of the `--payload-file` payloads), `--throughput`
//! records/s or, with a negative value, as fast as `send()` returns, then `close()` (or
//! `flush()` with `--print-metrics`). The producer's keys are the experiment's `[producer]`,
//! then `--producer.config`, then `--producer-props`, as the tool lets the second override
//! the first; the tool's own settings follow (ByteArraySerializer, `client.id`
//! perf-producer-client unless set).
//!
//! Fidelity: `ProducerPerformance.ConfigPostProcessor` and `argParser` (the options, their
//! checks and messages), `readProps` (`k=v` split on `=` into exactly two pieces),
//! `readPayloadFile` (split on the delimiter, `\n` by default), and `ThroughputThrottler`
//! (`server-common/.../util/ThroughputThrottler.java`): it lets the loop run ahead of
//! `THROUGHPUT` records/s and sleeps once the deficit reaches 2 ms, so sends leave in bursts of
//! about 2 ms worth of records; linger spaces them evenly at the rate (a constant arrival
//! process), and a send that falls behind (blocked in `send()`) catches up back to back as
//! the throttler does. The tool's transactional mode is not offered here yet, so
//! `--transactional-id`, `--transaction-duration-ms` and `transactional.id` are refused with the
//! way to run a transactional producer (`linger run` on an experiment file).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::Result;

use experiments::catalog;
use experiments::error::{Error, InputError};
use experiments::perf_test::{Tally, TallySink, metrics_table};
use experiments::producer_toml::{TomlOrigin, producer_entries_from_toml};
use experiments::spec::{Experiment, Override, set_path};
use experiments::world::world_config_with_producer;
use models::batching::config::{
    ConfigEntry, KafkaVersion, Location, ProducerConfig, RawValue, parse_properties,
};

use super::{emit, lib_error};

/// Arguments of `linger perf-test`: kafka-producer-perf-test's options, read by this module
/// so that every option the tool has gets its own answer.
#[derive(Debug, clap::Args)]
pub struct PerfTestArgs {
    /// kafka-producer-perf-test's options (--topic T --num-records N --record-size B
    /// --throughput R --producer-props k=v ...), and linger's --experiment FILE, --seed N,
    /// --set section.key=value; `linger perf-test --help` lists them.
    #[arg(num_args = 0.., allow_hyphen_values = true, trailing_var_arg = true)]
    pub args: Vec<String>,
}

/// The help text (`linger perf-test` with no option, or `--help`).
const HELP: &str = "\
usage: linger perf-test --topic TOPIC --num-records NUM-RECORDS
                        (--record-size RECORD-SIZE | --payload-file PAYLOAD-FILE)
                        --throughput THROUGHPUT
                        (--producer-props PROP-NAME=PROP-VALUE [...] | --producer.config CONFIG-FILE)
                        [--payload-delimiter PAYLOAD-DELIMITER] [--print-metrics]
                        [--experiment FILE] [--seed N] [--set SECTION.KEY=VALUE ...]

kafka-producer-perf-test's options, run against a simulated cluster; its output lines, then
linger's delivery checker verdict.

kafka-producer-perf-test options:
  --topic TOPIC                 the topic (the simulated topic has the experiment's partitions)
  --num-records NUM-RECORDS     number of records to produce (> 0)
  --record-size RECORD-SIZE     value size in bytes (> 0)
  --payload-file PAYLOAD-FILE   UTF-8 payloads, split on --payload-delimiter; linger sends
                                values of their mean length, and with compression measures the
                                codec on them when the delimiter is a new line
  --payload-delimiter DELIM     default \\n
  --throughput THROUGHPUT       records/s, approximately; -1 (any negative value): no limit
  --producer-props K=V ...      producer settings (override --producer.config)
  --producer.config FILE        a producer.properties file
  --print-metrics               print the producer metrics linger has, in the tool's layout

linger options:
  --experiment FILE|NAME        the cluster, network and faults (default: the built-in
                                baseline: 3 brokers, replication factor 3, 6 partitions,
                                min.insync.replicas 2, 0.5 ms one way on every link);
                                its [producer] keys apply before the producer options
  --seed N                      the master seed (default the file's [run] seed)
  --set SECTION.KEY=VALUE       override a key of the experiment (repeatable)

Not offered here yet, refused: --transactional-id, --transaction-duration-ms, transactional.id
(run a transactional producer with linger run: [producer] transactional.id, [workload] commit_every_ms).
--payload-monotonic is refused: use --record-size with the length of the numbers.
";

/// Where the payloads come from.
#[derive(Clone, Debug, PartialEq)]
enum Payload {
    /// `--record-size`.
    Size(u32),
    /// `--payload-file`.
    File(PathBuf),
}

/// The options as read.
#[derive(Clone, Debug, Default, PartialEq)]
struct Options {
    topic: Option<String>,
    num_records: Option<u64>,
    record_size: Option<u32>,
    payload_file: Option<PathBuf>,
    payload_delimiter: Option<String>,
    throughput: Option<f64>,
    producer_props: Option<Vec<String>>,
    producer_config: Option<PathBuf>,
    print_metrics: bool,
    experiment: Option<PathBuf>,
    seed: Option<u64>,
    sets: Vec<String>,
    help: bool,
}

fn bad(message: impl Into<String>) -> anyhow::Error {
    lib_error(InputError::new(message).into())
}

/// Every option name the command knows, for suggestions.
const OPTION_NAMES: &[&str] = &[
    "--topic",
    "--num-records",
    "--record-size",
    "--payload-file",
    "--payload-delimiter",
    "--throughput",
    "--producer-props",
    "--producer.config",
    "--print-metrics",
    "--experiment",
    "--seed",
    "--set",
    "--help",
];

/// Reads the options as argparse4j does: `--name value` or `--name=value`;
/// `--producer-props` takes every following word up to the next option.
fn parse_options(args: &[String]) -> Result<Options> {
    let mut options = Options::default();
    let mut i = 0;
    while i < args.len() {
        let word = &args[i];
        i += 1;
        let (name, inline) = match word.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name, Some(value.to_owned())),
            _ => (word.as_str(), None),
        };
        let mut value = |what: &str| -> Result<String> {
            if let Some(v) = &inline {
                return Ok(v.clone());
            }
            match args.get(i) {
                Some(next) if !next.starts_with("--") => {
                    i += 1;
                    Ok(next.clone())
                }
                _ => Err(bad(format!(
                    "argument {name}: expected one argument ({what})"
                ))),
            }
        };
        match name {
            "--help" | "-h" => options.help = true,
            "--topic" => options.topic = Some(value("TOPIC")?),
            "--num-records" => {
                let text = value("NUM-RECORDS")?;
                let n: i64 = text.parse().map_err(|_| {
                    bad(format!(
                        "argument --num-records: could not convert '{text}' to Long"
                    ))
                })?;
                if n <= 0 {
                    return Err(bad("--num-records should be greater than zero"));
                }
                options.num_records = Some(n as u64);
            }
            "--record-size" => {
                let text = value("RECORD-SIZE")?;
                let n: i32 = text.parse().map_err(|_| {
                    bad(format!(
                        "argument --record-size: could not convert '{text}' to Integer"
                    ))
                })?;
                if n <= 0 {
                    return Err(bad("--record-size should be greater than zero"));
                }
                options.record_size = Some(n as u32);
            }
            "--payload-file" => options.payload_file = Some(PathBuf::from(value("PAYLOAD-FILE")?)),
            "--payload-delimiter" => options.payload_delimiter = Some(value("PAYLOAD-DELIMITER")?),
            "--throughput" => {
                let text = value("THROUGHPUT")?;
                let rate: f64 = text.parse().map_err(|_| {
                    bad(format!(
                        "argument --throughput: could not convert '{text}' to Double"
                    ))
                })?;
                if rate.is_nan() {
                    return Err(bad("argument --throughput: NaN is not a rate"));
                }
                options.throughput = Some(rate);
            }
            "--producer-props" => {
                let mut props: Vec<String> = inline.iter().cloned().collect();
                while let Some(next) = args.get(i).filter(|next| !next.starts_with("--")) {
                    props.push(next.clone());
                    i += 1;
                }
                if props.is_empty() {
                    return Err(bad(
                        "argument --producer-props: expected one or more PROP-NAME=PROP-VALUE",
                    ));
                }
                options
                    .producer_props
                    .get_or_insert_with(Vec::new)
                    .extend(props);
            }
            "--producer.config" => {
                options.producer_config = Some(PathBuf::from(value("CONFIG-FILE")?));
            }
            "--print-metrics" => options.print_metrics = true,
            "--experiment" => options.experiment = Some(PathBuf::from(value("FILE")?)),
            "--seed" => {
                let text = value("N")?;
                options.seed = Some(text.parse().map_err(|_| {
                    bad(format!(
                        "--seed {text}: expected a whole number from 0 to 2^64-1"
                    ))
                })?);
            }
            "--set" => options.sets.push(value("SECTION.KEY=VALUE")?),
            "--transactional-id" | "--transaction-duration-ms" => {
                return Err(bad(format!(
                    "{name}: linger perf-test does not run the tool's transactional mode yet; \
                     drop {name} to measure the idempotent producer (enable.idempotence=true, \
                     the default), or run a transactional producer with `linger run FILE` \
                     ([producer] transactional.id, [workload] commit_every_ms)"
                )));
            }
            "--payload-monotonic" => {
                return Err(bad(
                    "--payload-monotonic is not supported: linger's values have a size, not \
                     content; use --record-size with the length of the numbers (for example \
                     --record-size 6 up to a million records)",
                ));
            }
            other => {
                let hint = experiments::error::did_you_mean(other, OPTION_NAMES.iter().copied())
                    .map(|near| format!(" (did you mean {near}?)"))
                    .unwrap_or_default();
                return Err(bad(format!(
                    "{other}: not a kafka-producer-perf-test option linger supports{hint}; it \
                     supports {}; `linger perf-test --help` describes them",
                    OPTION_NAMES[..OPTION_NAMES.len() - 1].join(", ")
                )));
            }
        }
    }
    Ok(options)
}

/// The options checked as the tool checks them, with its messages.
struct Checked {
    num_records: u64,
    payload: Payload,
    throughput: f64,
}

fn check(options: &Options) -> Result<Checked> {
    let mut missing = Vec::new();
    if options.topic.is_none() {
        missing.push("--topic");
    }
    if options.num_records.is_none() {
        missing.push("--num-records");
    }
    if options.throughput.is_none() {
        missing.push("--throughput");
    }
    if !missing.is_empty() {
        return Err(bad(format!(
            "argument(s) {} are required; `linger perf-test --help` lists the options",
            missing.join(", ")
        )));
    }
    let payload = match (&options.record_size, &options.payload_file) {
        (Some(size), None) => Payload::Size(*size),
        (None, Some(path)) => Payload::File(path.clone()),
        (Some(_), Some(_)) => {
            return Err(bad(
                "argument --payload-file: not allowed with argument --record-size (give one of them)",
            ));
        }
        (None, None) => {
            return Err(bad(
                "one of the arguments --record-size --payload-file is required",
            ));
        }
    };
    if options.producer_props.is_none() && options.producer_config.is_none() {
        return Err(bad(
            "Either --producer-props or --producer.config must be specified.",
        ));
    }
    let throughput = options.throughput.unwrap_or(-1.0);
    if throughput == 0.0 {
        return Err(bad(
            "--throughput 0: kafka-producer-perf-test would send one record and then wait \
             forever; give a positive rate in records/s, or -1 for no limit",
        ));
    }
    Ok(Checked {
        num_records: options.num_records.unwrap_or(1),
        payload,
        throughput,
    })
}

/// The payloads of `--payload-file` (`readPayloadFile`): their count and mean length in bytes.
fn read_payloads(path: &PathBuf, delimiter: &str) -> Result<(usize, u32)> {
    let bytes = std::fs::read(path).map_err(|error| {
        bad(format!(
            "--payload-file {}: cannot read it ({error})",
            path.display()
        ))
    })?;
    if bytes.is_empty() {
        return Err(bad(format!(
            "--payload-file {}: File does not exist or empty file provided.",
            path.display()
        )));
    }
    let text = String::from_utf8_lossy(&bytes);
    let mut payloads: Vec<&str> = text.split(delimiter).collect();
    // Java's String.split drops trailing empty strings.
    while payloads.last().is_some_and(|p| p.is_empty()) {
        payloads.pop();
    }
    if payloads.is_empty() {
        return Err(bad(format!(
            "--payload-file {}: no payload between the delimiters",
            path.display()
        )));
    }
    let total: u64 = payloads.iter().map(|p| p.len() as u64).sum();
    let mean = (total as f64 / payloads.len() as f64).round().max(1.0);
    Ok((payloads.len(), mean as u32))
}

/// Runs `linger perf-test`.
pub fn perf_test(args: &PerfTestArgs) -> Result<ExitCode> {
    let options = parse_options(&args.args)?;
    if options.help || args.args.is_empty() {
        emit(HELP);
        return Ok(ExitCode::SUCCESS);
    }
    let checked = check(&options)?;
    let mut out = String::new();
    let record_bytes = match &checked.payload {
        Payload::Size(size) => *size,
        Payload::File(path) => {
            let delimiter = match options.payload_delimiter.as_deref() {
                None | Some("\\n") => "\n",
                Some(other) => other,
            };
            let absolute = std::path::absolute(path).unwrap_or_else(|_| path.clone());
            out.push_str(&format!("Reading payloads from: {}\n", absolute.display()));
            let (count, mean) = read_payloads(path, delimiter)?;
            out.push_str(&format!("Number of messages read: {count}\n"));
            mean
        }
    };
    let (source, _) = catalog::resolve(options.experiment.as_deref()).map_err(lib_error)?;
    let mut overrides = Vec::new();
    for text in &options.sets {
        overrides.push(Override::parse(text).map_err(|e| lib_error(e.into()))?);
    }
    if let Some(seed) = options.seed {
        overrides
            .push(Override::parse(&format!("run.seed={seed}")).map_err(|e| lib_error(e.into()))?);
    }
    let experiment = Experiment::parse(source, &overrides).map_err(lib_error)?;
    let (sections, notes) = perf_sections(&experiment, &checked, &options, record_bytes);
    let (resolved, client_id) = resolve_producer(&experiment, &sections, &options)?;
    let config = world_config_with_producer(&experiment.source, &sections, resolved)
        .map_err(|e| lib_error(e.into()))?;
    let seed = experiments::sweep::run_seed(experiment.master_seed, "", 0);
    let tally = Arc::new(Mutex::new(Tally::new(
        checked.num_records,
        u64::from(record_bytes),
        0,
    )));
    let trace = sim::Trace::with_sink(Box::new(TallySink(Arc::clone(&tally))));
    let result = experiments::world::run_world(&config, seed, trace);
    let tally = tally
        .lock()
        .map_err(|_| lib_error(Error::Run("the perf-test tally was poisoned".to_owned())))?;
    for line in &tally.stats.window_lines {
        out.push_str(line);
        out.push('\n');
    }
    let end_ns = tally.last_callback_ns.unwrap_or(result.virtual_time_ns);
    out.push_str(&tally.stats.total_line(end_ns / 1_000_000));
    out.push('\n');
    if options.print_metrics {
        out.push_str(&metrics_table(&kafka_metrics(&result.metrics, &client_id)));
    }
    out.push_str(&verdict_lines(&experiment, &config, &result, seed));
    for note in notes {
        out.push_str(&format!("linger: note: {note}\n"));
    }
    emit(&out);
    for (error, count) in &tally.failures {
        eprintln!(
            "linger: {count} records failed with {error} (kafka-producer-perf-test prints a \
             stack trace for each)"
        );
    }
    if let models::world::RunStop::BoundReached(bound) = &result.stop {
        eprintln!("{bound}");
        return Ok(ExitCode::from(super::EXIT_BOUND_REACHED));
    }
    Ok(ExitCode::SUCCESS)
}

/// The send CPU time linger charges per `send()` when unthrottled and the experiment sets none:
/// the tool fills each payload with random letters and the client serialises and appends it, a
/// few microseconds per record on a current machine.
const UNTHROTTLED_SEND_CPU_MS: f64 = 0.002;

/// The experiment's sections with the tool's workload, and notes on what was replaced.
fn perf_sections(
    experiment: &Experiment,
    checked: &Checked,
    options: &Options,
    record_bytes: u32,
) -> (toml::Table, Vec<String>) {
    let mut sections = experiment.sections.clone();
    let mut notes = Vec::new();
    if !experiment.axes.is_empty() {
        notes.push(format!(
            "{} has a [sweep]; perf-test ran its base settings",
            experiment.source.display_name
        ));
    }
    let workload = sections
        .get("workload")
        .and_then(toml::Value::as_table)
        .cloned()
        .unwrap_or_default();
    let replaced: Vec<&str> = [
        "mode",
        "arrivals",
        "keys",
        "value_bytes",
        "records",
        "end",
        "flush_every_ms",
        "close_timeout_ms",
    ]
    .into_iter()
    .filter(|key| workload.contains_key(*key))
    .collect();
    if !replaced.is_empty() && options.experiment.is_some() {
        notes.push(format!(
            "the perf-test options replace [workload] {} of {}",
            replaced.join(", "),
            experiment.source.display_name
        ));
    }
    let mut new_workload = workload.clone();
    for key in &replaced {
        new_workload.remove(*key);
    }
    let set = |table: &mut toml::Table, key: &str, value: toml::Value| {
        table.insert(key.to_owned(), value);
    };
    set(&mut new_workload, "mode", "async".into());
    set(
        &mut new_workload,
        "value_bytes",
        toml::Value::Integer(i64::from(record_bytes)),
    );
    set(
        &mut new_workload,
        "records",
        toml::Value::Integer(i64::try_from(checked.num_records).unwrap_or(i64::MAX)),
    );
    set(
        &mut new_workload,
        "end",
        if options.print_metrics {
            "flush"
        } else {
            "close"
        }
        .into(),
    );
    let mut arrivals = toml::Table::new();
    let send_cpu_ms = workload
        .get("send_cpu_ms")
        .and_then(|v| v.as_float().or_else(|| v.as_integer().map(|i| i as f64)))
        .unwrap_or(0.0);
    let duration_ms = if checked.throughput > 0.0 {
        arrivals.insert("kind".into(), "constant".into());
        arrivals.insert("per_sec".into(), toml::Value::Float(checked.throughput));
        checked.num_records as f64 / checked.throughput * 1000.0
    } else {
        arrivals.insert("kind".into(), "saturate".into());
        let cpu_ms = if send_cpu_ms > 0.0 {
            send_cpu_ms
        } else {
            notes.push(format!(
                "unthrottled: each send() costs {} ms of the application thread ([workload] \
                 send_cpu_ms, set it with --set workload.send_cpu_ms=MS)",
                UNTHROTTLED_SEND_CPU_MS
            ));
            set(
                &mut new_workload,
                "send_cpu_ms",
                toml::Value::Float(UNTHROTTLED_SEND_CPU_MS),
            );
            UNTHROTTLED_SEND_CPU_MS
        };
        checked.num_records as f64 * cpu_ms
    };
    set(&mut new_workload, "arrivals", toml::Value::Table(arrivals));
    let mut keys = toml::Table::new();
    keys.insert("kind".into(), "none".into());
    set(&mut new_workload, "keys", toml::Value::Table(keys));
    sections.insert("workload".into(), toml::Value::Table(new_workload));
    // The send phase ends at the last record; the duration is only a bound far past it (a
    // producer slower than the offered rate takes longer).
    let bound_ms = (duration_ms * 4.0 + 600_000.0).ceil();
    set_path(
        &mut sections,
        &["run".to_owned(), "duration_ms".to_owned()],
        toml::Value::Float(bound_ms),
    );
    if let Payload::File(path) = &checked.payload {
        let newline = matches!(
            options.payload_delimiter.as_deref(),
            None | Some("\\n") | Some("\n")
        );
        let path = std::path::absolute(path).unwrap_or_else(|_| path.clone());
        if newline {
            set_path(
                &mut sections,
                &["workload".to_owned(), "values".to_owned()],
                toml::Value::Table(toml::Table::from_iter([
                    ("kind".to_owned(), toml::Value::from("file")),
                    (
                        "path".to_owned(),
                        toml::Value::from(path.to_string_lossy().into_owned()),
                    ),
                ])),
            );
        }
        notes.push(format!(
            "the payloads' sizes vary in the tool; linger sends {record_bytes} bytes, their mean"
        ));
    }
    (sections, notes)
}

/// The producer's entries: the experiment's `[producer]`, `--producer.config`,
/// `--producer-props`, then the tool's own settings (`readProps`).
fn resolve_producer(
    experiment: &Experiment,
    sections: &toml::Table,
    options: &Options,
) -> Result<(models::batching::config::Resolved, String)> {
    let empty = toml::Table::new();
    let table = sections
        .get("producer")
        .and_then(toml::Value::as_table)
        .unwrap_or(&empty);
    let origin = TomlOrigin {
        display_name: &experiment.source.display_name,
        base_dir: &experiment.source.base_dir,
        text: Some(&experiment.source.text),
    };
    let mut entries = producer_entries_from_toml(table, &origin).map_err(|e| bad(e.to_string()))?;
    if let Some(path) = &options.producer_config {
        let bytes = std::fs::read(path).map_err(|error| {
            bad(format!(
                "--producer.config {}: cannot read it ({error})",
                path.display()
            ))
        })?;
        entries.extend(
            parse_properties(&bytes, Some(&path.display().to_string()))
                .map_err(|e| bad(e.to_string()))?,
        );
    }
    for prop in options.producer_props.iter().flatten() {
        let pieces: Vec<&str> = prop.split('=').collect();
        if pieces.len() != 2 || pieces[0].is_empty() || pieces[1].is_empty() {
            return Err(bad(format!(
                "--producer-props: Invalid property: {prop} (write PROP-NAME=PROP-VALUE, e.g. \
                 linger.ms=5)"
            )));
        }
        entries.push(ConfigEntry {
            key: pieces[0].to_owned(),
            value: RawValue::Str(pieces[1].to_owned()),
            location: Location {
                file: Some("--producer-props".to_owned()),
                line: None,
            },
        });
    }
    // The tool also sets the ByteArraySerializers and client.id perf-producer-client unless
    // given; the simulation does not use them, so they are not added (client.id names the
    // metrics below).
    if let Some(entry) = entries.iter().find(|entry| entry.key == "transactional.id") {
        let place = entry.location.file.clone().unwrap_or_default();
        return Err(bad(format!(
            "transactional.id (in {place}): linger perf-test does not run the tool's \
             transactional mode yet; remove transactional.id to measure the idempotent \
             producer, or run a transactional producer with `linger run FILE` ([producer] \
             transactional.id, [workload] commit_every_ms)"
        )));
    }
    let client_id = entries
        .iter()
        .rev()
        .find(|entry| entry.key == "client.id")
        .and_then(|entry| match &entry.value {
            RawValue::Str(text) => Some(text.clone()),
            _ => None,
        })
        .unwrap_or_else(|| "perf-producer-client".to_owned());
    let resolved = ProducerConfig::from_entries(KafkaVersion::default(), entries)
        .map_err(|e| bad(e.to_string()))?;
    Ok((resolved, client_id))
}

/// Kafka's `producer-metrics` group: the metrics linger has, by their Kafka names, tagged with
/// the client id as `ToolsUtils.printMetrics` names them.
fn kafka_metrics(metrics: &[(&'static str, f64)], client_id: &str) -> Vec<(String, f64)> {
    const KAFKA_NAMED: &[&str] = &[
        "record-send-rate",
        "record-send-total",
        "batch-size-avg",
        "batch-size-max",
        "records-per-request-avg",
        "request-latency-avg",
        "request-latency-max",
        "record-queue-time-avg",
        "record-queue-time-max",
        "record-retry-rate",
        "record-retry-total",
        "record-error-rate",
        "record-error-total",
        "bufferpool-wait-ratio",
        "buffer-exhausted-total",
        "batch-split-total",
        "compression-rate-avg",
        "bufferpool-wait-time-ns-total",
    ];
    metrics
        .iter()
        .filter(|(name, _)| KAFKA_NAMED.contains(name))
        .map(|(name, value)| {
            (
                format!("producer-metrics:{name}:{{client-id={client_id}}}"),
                *value,
            )
        })
        .collect()
}

/// linger's lines below the tool's: the simulated cluster, the checker's verdict over the
/// final broker logs, and the run's warnings.
fn verdict_lines(
    experiment: &Experiment,
    config: &models::world::WorldConfig,
    result: &models::world::RunResult,
    seed: u64,
) -> String {
    let cluster = &config.cluster;
    let network = if experiment.sections.contains_key("network") {
        format!("the [network] of {}", experiment.source.display_name)
    } else {
        "0.5 ms one way on every link, 10 Gbit/s".to_owned()
    };
    let c = &result.checker;
    let broken: Vec<String> = [
        (c.duplicated, "duplicated"),
        (c.acked_lost, "acknowledged but lost"),
        (
            c.silent_lost,
            "lost without an acknowledgement offset (acks=0)",
        ),
        (c.reordered, "reordered"),
        (c.failed_present, "reported failed but in the log"),
        (
            c.unfinished_present + c.unfinished_absent,
            "never completed",
        ),
    ]
    .into_iter()
    .filter(|(count, _)| *count > 0)
    .map(|(count, what)| format!("{count} {what}"))
    .collect();
    let verdict = if broken.is_empty() && c.delivered_once == 0 {
        "no record was acknowledged".to_owned()
    } else if broken.is_empty() {
        "every acknowledged record is in the log exactly once, in order".to_owned()
    } else {
        broken.join(", ")
    };
    let mut out = format!(
        "\nlinger: simulated {} brokers, replication factor {}, {} partitions, \
         min.insync.replicas {}; network: {network}; from {} (run seed {seed})\n",
        cluster.brokers,
        cluster.replication_factor,
        cluster.partitions,
        cluster.min_insync_replicas,
        experiment.source.display_name,
    );
    out.push_str(&format!(
        "linger: checker over the final broker logs: {} sent, {} delivered once, {} failed; {verdict}\n",
        c.sent,
        c.delivered_once,
        c.failed_absent + c.failed_present,
    ));
    for warning in &result.warnings {
        out.push_str(&format!("linger: warning: {warning}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn producer_props_take_every_word_up_to_the_next_option() {
        let options = parse_options(&words(
            "--topic t --num-records 10 --producer-props acks=1 linger.ms=5 --record-size=100 --throughput -1",
        ))
        .expect("parses");
        assert_eq!(
            options.producer_props,
            Some(vec!["acks=1".to_owned(), "linger.ms=5".to_owned()])
        );
        assert_eq!(options.record_size, Some(100));
        assert_eq!(options.throughput, Some(-1.0));
    }

    #[test]
    fn the_tool_checks_come_with_its_messages() {
        let err = |text: &str| {
            parse_options(&words(text))
                .and_then(|o| check(&o).map(|_| ()))
                .expect_err("refused")
                .to_string()
        };
        assert!(
            err("--topic t --num-records 0").contains("--num-records should be greater than zero")
        );
        assert!(
            err("--topic t --num-records 5 --record-size 10 --throughput 1")
                .contains("Either --producer-props or --producer.config must be specified.")
        );
        assert!(err("--topic t --transactional-id x").contains("transactional mode"));
        assert!(err("--topic t --payload-monotonic").contains("use --record-size"));
        assert!(err("--topci t").contains("did you mean --topic?"));
        assert!(
            err("--topic t --num-records 5 --record-size 10 --payload-file f --throughput 1 --producer-props a=b")
                .contains("not allowed with argument --record-size")
        );
    }
}
