//! `linger hunt`: search the fault schedules that break a delivery property under a file's
//! producer and cluster config, shrink the first one found, and print it as a runnable
//! experiment with its verdict and diagram.
//!
//! Exit codes: 1 a violation was found (so a CI pipeline can gate on it), 0 none within the
//! budget, 2 bad input.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use experiments::catalog;
use experiments::error::{Error, InputError};
use experiments::hunt::{
    Budget, Candidate, FaultKind, HuntSpec, Hunter, Property, RunSummary, SearchOutcome,
};
use experiments::results::write_atomically;
use experiments::spec::Experiment;
use models::batching::config::{Acks as KafkaAcks, ProducerConfig};
use reports::{Acks, DeliveryConfig, OutcomeSummary};

use super::{emit, lib_error};

/// Arguments of `linger hunt`.
#[derive(Debug, clap::Args)]
pub struct HuntArgs {
    /// The experiment file (or the name of a shipped experiment) whose producer, cluster,
    /// network and workload shape are hunted; its own [faults] are replaced by the search.
    pub file: PathBuf,
    /// The properties a run must keep, comma-separated: no-duplicates, no-acked-loss, in-order,
    /// no-failed-present, exactly-once (no duplicates and no acknowledged loss).
    #[arg(long)]
    pub property: String,
    /// Stop after this many search runs (the reproducible budget; default 2000).
    #[arg(long, conflicts_with = "budget_s")]
    pub budget_runs: Option<u64>,
    /// Stop after this many seconds of wall clock (how many runs that allows depends on the
    /// machine).
    #[arg(long)]
    pub budget_s: Option<f64>,
    /// The fault kinds to search, comma-separated (default: all of crash, power_off, shutdown,
    /// cut, reset, blackhole, error, delay, drop).
    #[arg(long)]
    pub faults: Option<String>,
    /// The seed of the search.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Records per run before shrinking (the file's rate, keys and sizes; sending stops after
    /// them).
    #[arg(long, default_value_t = 200)]
    pub records: u64,
    /// Most faults in a fresh candidate (mutations may add two more).
    #[arg(long, default_value_t = 3)]
    pub max_faults: usize,
    /// Write counterexample.toml, its trace (trace.jsonl) and its diagram (diagram.txt) here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Go on searching past runs whose every broken class real Kafka shows too, by a public
    /// bug report (KAFKA-14034, KAFKA-15591); they are counted in the summary.
    #[arg(long)]
    pub ignore_known_kafka: bool,
}

/// Runs `linger hunt`.
#[allow(clippy::disallowed_methods, clippy::disallowed_types)] // the budget in seconds is wall time
pub fn hunt(args: &HuntArgs) -> Result<ExitCode> {
    let spec = spec_of(args).map_err(|e| lib_error(e.into()))?;
    let (source, _) = catalog::resolve(Some(&args.file)).map_err(lib_error)?;
    let experiment = Experiment::parse(source, &[]).map_err(lib_error)?;
    let display = experiment.source.display_name.clone();
    let hunter = Hunter::new(experiment, spec).map_err(|e| lib_error(e.into()))?;
    let producer = hunter.producer_config().map_err(|e| lib_error(e.into()))?;
    let properties = names(&hunter.spec().properties);
    eprintln!(
        "hunt: {properties} under {display} ({}); {} broker(s), {} partition(s), {} records per run, \
         faults within the first {} ms",
        producer_line(&producer),
        hunter.brokers,
        hunter.partitions,
        hunter.spec().records,
        hunter.horizon_ms.round()
    );
    if hunter.replaced_file_faults {
        eprintln!("hunt: the file's own [faults] are replaced by the searched schedules");
    }
    let bar = progress_bar(&hunter.spec().budget);
    let started = std::time::Instant::now();
    let seconds = match hunter.spec().budget {
        Budget::Seconds(s) => Some(s),
        Budget::Runs(_) => None,
    };
    let outcome = hunter.search(&mut |runs| {
        bar.set_position(runs);
        seconds.is_none_or(|s| started.elapsed().as_secs_f64() < s)
    });
    bar.finish_and_clear();
    match outcome {
        SearchOutcome::NotFound(report) => {
            let mut out = format!(
                "no violation of {properties} in {} runs ({:.1} s, seed {})\n",
                report.runs,
                started.elapsed().as_secs_f64(),
                hunter.spec().seed
            );
            out.push_str("fault kinds tried (runs using each):");
            for (kind, runs) in &report.kinds_used {
                out.push_str(&format!(" {} {runs},", kind.name()));
            }
            out.pop();
            out.push('\n');
            out.push_str(&format!(
                "producer states reached: retries in {} runs, failed records in {}, failed but \
                 present in {}, unfinished or unsettled in {}; {} distinct state combinations; \
                 {} candidates made no valid experiment\n",
                report.runs_with_retries,
                report.runs_with_failures,
                report.runs_with_failed_present,
                report.runs_unjudged_or_unfinished,
                report.distinct_states,
                report.invalid
            ));
            if !report.known_kafka.is_empty() {
                out.push_str(&format!(
                    "runs that broke the properties only as real Kafka does (skipped): {}\n",
                    report
                        .known_kafka
                        .iter()
                        .map(|(r, n)| format!("{r} in {n}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            if let Some(promise) = documented_promise(&producer, &hunter.spec().properties) {
                out.push_str(&promise);
                out.push('\n');
            }
            emit(&out);
            Ok(ExitCode::SUCCESS)
        }
        SearchOutcome::Found {
            candidate,
            summary,
            runs,
        } => {
            let found_after = started.elapsed().as_secs_f64();
            eprintln!(
                "hunt: run {runs} broke {} ({} fault(s), {} records); shrinking",
                classes(&summary),
                candidate.faults.len(),
                candidate.records
            );
            let (shrunk, shrink_runs) = hunter.shrink(candidate);
            report_found(args, &hunter, &shrunk, (runs, found_after, shrink_runs))?;
            Ok(ExitCode::from(1))
        }
    }
}

/// Prints (and with `--out` writes) the shrunk counterexample, checked by running its file.
fn report_found(
    args: &HuntArgs,
    hunter: &Hunter,
    shrunk: &Candidate,
    (runs, found_after, shrink_runs): (u64, f64, u64),
) -> Result<()> {
    let traced = hunter.traced_run(shrunk).map_err(|e| lib_error(e.into()))?;
    let summary = summary_of(hunter, &traced);
    let toml_text = hunter.counterexample_toml(shrunk, &summary);
    let mut out = format!(
        "violation of {} found after {runs} runs ({found_after:.1} s); shrunk in {shrink_runs} runs \
         to {} fault(s), {} records, {} partition(s), {} broker(s):\n",
        names(&hunter.spec().properties),
        shrunk.faults.len(),
        shrunk.records,
        shrunk.partitions,
        shrunk.brokers
    );
    for fault in &shrunk.faults {
        out.push_str(&format!("  {fault}\n"));
    }
    let c = &traced.checker;
    out.push_str(&format!(
        "verdict (the checker over the final logs): {}; delivered once {}, duplicated {}, \
         acknowledged but lost {}, reordered {}, failed but present {}\n",
        classes(&summary),
        c.delivered_once,
        c.duplicated,
        c.acked_lost,
        c.reordered,
        c.failed_present
    ));
    for (class, behaviour) in experiments::hunt::known_kafka(&summary.broken, &traced) {
        out.push_str(&format!(
            "real Kafka shows this too: {class} is {} ({})\n",
            behaviour.report, behaviour.what
        ));
    }
    let mut lines = String::new();
    for event in traced.trace.events() {
        lines.push_str(&event.to_json_line());
        lines.push('\n');
    }
    let metric = |name: &str| traced.metric(name).unwrap_or(0.0).max(0.0) as u64;
    let producer = hunter.producer_config().map_err(|e| lib_error(e.into()))?;
    let outcome = OutcomeSummary {
        scenario: "counterexample".to_owned(),
        description: format!(
            "The shrunk schedule of linger hunt ({}).",
            classes(&summary)
        ),
        records_sent: metric("records_sent"),
        records_acked: metric("records_acked"),
        records_failed: metric("records_failed"),
        delivered_once: metric("delivered_once"),
        duplicated: metric("duplicated"),
        lost_acked: metric("lost_acked"),
        reordered: metric("reordered"),
        failed_present: metric("failed_present"),
        unfinished: metric("records_unfinished"),
        silent_absent: metric("silent_absent"),
        delivery: delivery_config(&producer),
        explanation: None,
        from_trace_only: false,
        duplicated_records: super::render::checked_examples(&traced.checker, "duplicated"),
        lost_records: super::render::checked_examples(&traced.checker, "acked_lost"),
    };
    let diagram = reports::render_terminal(&lines, &outcome)
        .map_err(|e| lib_error(Error::Run(format!("the diagram could not be drawn: {e}"))))?;
    match &args.out {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| lib_error(Error::io(dir, e)))?;
            let file = dir.join("counterexample.toml");
            write_atomically(&file, toml_text.as_bytes()).map_err(lib_error)?;
            write_atomically(&dir.join("trace.jsonl"), lines.as_bytes()).map_err(lib_error)?;
            write_atomically(&dir.join("diagram.txt"), diagram.as_bytes()).map_err(lib_error)?;
            // The file must replay what the hunt saw.
            let (source, _) = catalog::resolve(Some(&file)).map_err(lib_error)?;
            let replayed = Experiment::parse(source, &[]).map_err(lib_error)?;
            let config = experiments::world::world_config(&replayed.source, &replayed.sections)
                .map_err(|e| lib_error(e.into()))?;
            let seed = experiments::sweep::run_seed(replayed.master_seed, "", 0);
            let again = experiments::world::run_world(&config, seed, sim::Trace::off());
            if again.checker != traced.checker {
                return Err(lib_error(Error::Run(format!(
                    "{}: the written counterexample does not replay the hunt's run (a bug in \
                     linger hunt)",
                    file.display()
                ))));
            }
            out.push_str(&format!(
                "counterexample: {}\nreplay: linger run {}\n",
                file.display(),
                file.display()
            ));
        }
        None => {
            out.push_str("counterexample (save it and replay with `linger run FILE`):\n");
            out.push_str(&toml_text);
        }
    }
    out.push('\n');
    out.push_str(&diagram);
    emit(&out);
    Ok(())
}

fn summary_of(hunter: &Hunter, result: &models::world::RunResult) -> RunSummary {
    let mut broken = Vec::new();
    for p in &hunter.spec().properties {
        for class in p.broken(&result.checker) {
            if !broken.contains(&class) {
                broken.push(class);
            }
        }
    }
    RunSummary {
        broken,
        states: Default::default(),
        checker: result.checker.clone(),
        unjudged: false,
        known: Vec::new(),
    }
}

fn spec_of(args: &HuntArgs) -> Result<HuntSpec, InputError> {
    let properties = Property::parse_list(&args.property)?;
    let kinds = match &args.faults {
        Some(text) => FaultKind::parse_list(text)?,
        None => FaultKind::ALL.to_vec(),
    };
    let budget = match (args.budget_runs, args.budget_s) {
        (Some(n), _) => Budget::Runs(n),
        (None, Some(s)) => Budget::Seconds(s),
        (None, None) => Budget::Runs(2000),
    };
    if args.max_faults == 0 {
        return Err(InputError::new("--max-faults 0: allowed 1 or more"));
    }
    Ok(HuntSpec {
        properties,
        kinds,
        budget,
        seed: args.seed,
        records: args.records,
        max_faults: args.max_faults,
        ignore_known_kafka: args.ignore_known_kafka,
    })
}

fn names(properties: &[Property]) -> String {
    properties
        .iter()
        .map(|p| p.name())
        .collect::<Vec<_>>()
        .join(", ")
}

fn classes(summary: &RunSummary) -> String {
    summary
        .broken
        .iter()
        .map(|(class, n)| format!("{class} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn progress_bar(budget: &Budget) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = match budget {
        Budget::Runs(n) => indicatif::ProgressBar::new(*n),
        Budget::Seconds(_) => indicatif::ProgressBar::new_spinner(),
    };
    if let Ok(style) = indicatif::ProgressStyle::with_template("hunt {bar:30} {pos} runs {msg}") {
        bar.set_style(style);
    }
    bar
}

fn producer_line(p: &ProducerConfig) -> String {
    format!(
        "acks={}, enable.idempotence={}, retries={}, max.in.flight.requests.per.connection={}",
        match p.acks {
            KafkaAcks::Zero => "0",
            KafkaAcks::One => "1",
            KafkaAcks::All => "all",
        },
        p.enable_idempotence,
        p.retries,
        p.max_in_flight_requests_per_connection
    )
}

fn delivery_config(producer: &ProducerConfig) -> DeliveryConfig {
    DeliveryConfig {
        acks: Some(match producer.acks {
            KafkaAcks::Zero => Acks::Zero,
            KafkaAcks::One => Acks::One,
            KafkaAcks::All => Acks::All,
        }),
        enable_idempotence: Some(producer.enable_idempotence),
        retries: Some(u64::from(producer.retries)),
        max_in_flight: Some(u64::from(producer.max_in_flight_requests_per_connection)),
    }
}

/// What Kafka documents for a configuration it calls safe, when the hunt checked that promise.
fn documented_promise(p: &ProducerConfig, properties: &[Property]) -> Option<String> {
    if p.acks != KafkaAcks::All {
        return None;
    }
    let mut promised = vec![
        "no acknowledged record is lost (acks=all, as long as a replica of the ISR survives and no unclean election)",
    ];
    if p.enable_idempotence {
        promised
            .push("no duplicates and no reordering within a partition (the idempotent producer)");
    }
    let checked = properties.iter().any(|q| {
        matches!(q, Property::NoAckedLoss | Property::ExactlyOnce)
            || (p.enable_idempotence && matches!(q, Property::NoDuplicates | Property::InOrder))
    });
    checked.then(|| {
        format!(
            "this matches what Kafka documents for this configuration: {}",
            promised.join("; ")
        )
    })
}
