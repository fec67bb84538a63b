//! `linger check-config`, `linger list` and `linger keys`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use experiments::catalog::{CATALOG, EntryKind};
use experiments::error::InputError;
use experiments::producer_toml::{ProducerTomlError, producer_config_from_toml_str};
use experiments::spec::{Experiment, Source};
use models::batching::config::{
    ConfigError, ConfigErrorKind, KafkaVersion, ProducerConfig, check_config_lines,
    parse_properties,
};

use super::{emit, lib_error};

/// Arguments of `linger check-config`.
#[derive(Debug, clap::Args)]
pub struct CheckConfigArgs {
    /// A producer.properties file (or a TOML experiment file, whose [producer] is checked).
    pub file: PathBuf,
    /// The Kafka release whose defaults and rules apply, e.g. 3.9, or 3.0.0 / 3.1.0 for those
    /// exact releases (default: 4.0).
    #[arg(long, value_name = "VERSION")]
    pub kafka_version: Option<String>,
}

/// Runs `linger check-config`: prints the effective values (defaults marked), warnings and
/// errors; exits 2 when linger refuses the configuration (which Kafka may only warn about).
pub fn check_config(args: &CheckConfigArgs) -> Result<ExitCode> {
    let version = match &args.kafka_version {
        None => KafkaVersion::default(),
        Some(text) => KafkaVersion::parse(text)
            .ok_or_else(|| lib_error(InputError::new(kafka_version_error(text)).into()))?,
    };
    let bytes = std::fs::read(&args.file).map_err(|error| {
        lib_error(InputError::new(format!("cannot read {}: {error}", args.file.display())).into())
    })?;
    let name = args.file.display().to_string();
    let mut client_warnings = Vec::new();
    let result = if args.file.extension().is_some_and(|ext| ext == "toml") {
        let text = String::from_utf8_lossy(&bytes);
        match producer_config_from_toml_str(&text, &args.file, version) {
            Ok(resolved) => Ok(resolved),
            Err(ProducerTomlError::Config(errors)) => Err(errors),
            Err(other) => return Err(lib_error(InputError::new(other.to_string()).into())),
        }
    } else {
        let entries = parse_properties(&bytes, Some(&name))
            .map_err(|error| lib_error(InputError::new(error.to_string()).into()))?;
        let keys: Vec<&str> = entries.iter().map(|entry| entry.key.as_str()).collect();
        client_warnings = missing_client_keys(&keys);
        ProducerConfig::from_entries(version, entries)
    };
    let mut lines = check_config_lines(&result);
    lines.extend(client_warnings);
    lines.push(NOT_SIMULATED_NOTE.to_owned());
    emit(&(lines.join("\n") + "\n"));
    match result {
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(errors) => {
            eprintln!("{name}: {}", refusal_summary(&errors.errors));
            Ok(ExitCode::from(2))
        }
    }
}

/// What `check-config` says about every file: the parts of a producer the simulation leaves
/// out, whatever the keys.
const NOT_SIMULATED_NOTE: &str = "note: linger simulates batching, the buffer pool, \
    partitioning, retries, idempotence, transactions and delivery against a simulated cluster; \
    it does not simulate serialisation (value sizes come from [workload]), interceptors, TLS and \
    SASL, Schema Registry, consumers (read_committed is judged from the final logs) or metrics \
    reporters (`linger keys \"not simulated\"` lists \
    the keys)";

/// Warnings for the keys a real `KafkaProducer` cannot start without, which a simulation does
/// not need: `bootstrap.servers` (an empty list by default: `ClientUtils.parseAndValidateAddresses`
/// throws "No resolvable bootstrap urls") and the serializers (`ConfigDef` has no default for
/// them: "Missing required configuration ... which has no default value", unless they are
/// passed to the constructor).
fn missing_client_keys(keys: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    if !keys.contains(&"bootstrap.servers") {
        out.push(
            "warning: bootstrap.servers is not set: the real KafkaProducer would fail \
             (ConfigException: No resolvable bootstrap urls given in bootstrap.servers); the \
             simulation does not need it"
                .to_owned(),
        );
    }
    for key in ["key.serializer", "value.serializer"] {
        if !keys.contains(&key) {
            out.push(format!(
                "warning: {key} is not set: the real KafkaProducer would fail (ConfigException: \
                 Missing required configuration \"{key}\" which has no default value) unless the \
                 application passes a serializer to its constructor; the simulation does not need it"
            ));
        }
    }
    out
}

/// Why `--kafka-version TEXT` is refused: a release linger has no profile for (such as 2.8),
/// or text that is not a version at all.
fn kafka_version_error(text: &str) -> String {
    let numbers: Vec<Option<u32>> = text.trim().split('.').map(|p| p.parse().ok()).collect();
    let is_version = (2..=3).contains(&numbers.len()) && numbers.iter().all(Option::is_some);
    if is_version {
        format!(
            "--kafka-version {text}: linger has no profile for Kafka {text}; it models the \
             producer defaults and rules of Kafka {}",
            KafkaVersion::SUPPORTED
        )
    } else {
        format!(
            "--kafka-version {text}: not a Kafka release; write MAJOR.MINOR, {}",
            KafkaVersion::SUPPORTED
        )
    }
}

/// Whether `new KafkaProducer(props)` would also throw `ConfigException` for this error. Kafka
/// only logs unknown keys ("supplied but isn't a known config", `AbstractConfig.logUnused`);
/// linger refuses them on purpose, because a typo would silently change an experiment.
fn kafka_refuses(kind: &ConfigErrorKind) -> bool {
    match kind {
        ConfigErrorKind::UnknownKey { .. } => false,
        ConfigErrorKind::InvalidValue { .. }
        | ConfigErrorKind::IdempotenceNeedsRetries
        | ConfigErrorKind::IdempotenceNeedsAcksAll
        | ConfigErrorKind::IdempotenceNeedsInFlightAtMostFive { .. }
        | ConfigErrorKind::TransactionalIdNeedsIdempotence
        | ConfigErrorKind::DeliveryTimeoutTooSmall { .. } => true,
    }
}

/// The one-line summary of a refused configuration, true for every mix of error kinds.
pub fn refusal_summary(errors: &[ConfigError]) -> String {
    let total = errors.len();
    let by_kafka = errors.iter().filter(|e| kafka_refuses(&e.kind)).count();
    let which = if total == 1 && by_kafka == 1 {
        "Kafka would also refuse it: ConfigException".to_owned()
    } else if by_kafka == total {
        "all of them Kafka would also refuse: ConfigException".to_owned()
    } else if by_kafka == 0 {
        let them = if total == 1 { "it" } else { "them" };
        format!(
            "Kafka would not refuse {them}: it only logs unknown keys and would silently run \
             with the default of the key meant"
        )
    } else {
        format!(
            "{by_kafka} of them Kafka would also refuse: ConfigException; it only logs \
             unknown keys"
        )
    };
    let noun = if total == 1 { "error" } else { "errors" };
    format!("linger refuses this configuration: {total} {noun} ({which})")
}

/// Arguments of `linger keys`.
#[derive(Debug, clap::Args)]
pub struct KeysArgs {
    /// One section (workload, producer, cluster, network, faults, run, sweep, experiment,
    /// distribution, or "not simulated"); default: all of them.
    pub section: Option<String>,
    /// Print the reference as Markdown (the text of docs/keys.md) instead.
    #[arg(long)]
    pub markdown: bool,
}

/// Runs `linger keys`: the key reference, generated from the tables the parser checks against.
pub fn keys(args: &KeysArgs) -> Result<ExitCode> {
    if args.markdown {
        if args.section.is_some() {
            return Err(lib_error(
                InputError::new(
                    "--markdown prints the whole reference; leave out the section, or drop \
                     --markdown to print one section",
                )
                .into(),
            ));
        }
        emit(&experiments::reference::markdown());
        return Ok(ExitCode::SUCCESS);
    }
    let text = experiments::reference::text(args.section.as_deref())
        .map_err(|message| lib_error(InputError::new(message).into()))?;
    emit(&text);
    Ok(ExitCode::SUCCESS)
}

/// Runs `linger list`.
pub fn list() -> Result<ExitCode> {
    let mut out = String::new();
    for (kind, title) in [
        (
            EntryKind::Experiment,
            "experiments (linger run NAME; a sweep: linger sweep NAME --out DIR)",
        ),
        (
            EntryKind::Scenario,
            "teaching scenarios (linger teach NAME draws one; linger run --scenario NAME runs it)",
        ),
    ] {
        out.push_str(&format!("{title}:\n"));
        for entry in CATALOG.iter().filter(|e| e.kind == kind) {
            let experiment = Experiment::parse(Source::built_in(entry.name, entry.text), &[]);
            let (description, points) = match &experiment {
                Ok(e) => (
                    e.description.clone(),
                    e.axes.iter().map(|a| a.values.len()).product::<usize>(),
                ),
                Err(_) => (String::new(), 1),
            };
            let shape = if points > 1 {
                format!("sweep, {points} points")
            } else {
                "single run".to_string()
            };
            out.push_str(
                &format!("  {:<28} {:<20} {description}\n", entry.name, shape).replace(" \n", "\n"),
            );
        }
    }
    out.push_str(&super::alias_lines());
    out.push_str(
        "\nan experiment: linger run NAME, or linger sweep NAME --out DIR for its sweep; a \
         teaching scenario or alias: linger teach NAME, or linger run --scenario NAME\n",
    );
    emit(&out);
    Ok(ExitCode::SUCCESS)
}
