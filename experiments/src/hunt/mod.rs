//! `linger hunt`: searches the fault schedules that break a delivery property under one
//! producer and cluster configuration, and shrinks the first one found to a small experiment.
//!
//! ```text
//!   experiment file ─► Hunter::new (baseline run: horizon, config checked)
//!        │
//!        ├─ search:  seeded candidates (fresh, or mutations of runs that reached new producer
//!        │           states), evaluated in fixed batches on every core, judged in batch order
//!        │           ─► the first candidate whose final logs break the property
//!        ├─ shrink:  fewer faults, fewer records, earlier and shorter faults, smaller counts,
//!        │           fewer partitions and brokers, until no smaller candidate still breaks it
//!        └─ counterexample: the file's sections with the schedule, records and cluster size set
//!                     (a runnable experiment file, checked by running it once more)
//! ```
//!
//! A candidate is a set of fault episodes (a crash or power-off or controlled shutdown with its
//! restart, a link cut with its heal, a reset, a blackhole, injected broker errors, held or
//! dropped produce responses) plus a record count and the cluster's size. Every candidate runs
//! as the TOML the counterexample file holds, through the same path as `linger run`, with the
//! file's master seed; the property is judged by the checker from the brokers' final logs.
//!
//! Determinism: candidates come from one splitmix64 stream of `--seed`; a batch is generated
//! before it runs and its results are read in order, so the thread count never changes what is
//! found. `--budget-s` stops on the wall clock and is the one budget that is not reproducible
//! (the number of runs it allows depends on the machine); `--budget-runs` is.

mod candidate;
mod shrink;

use std::collections::BTreeSet;

use models::checker::CheckerReport;
use models::world::{RunResult, RunStop};
use rayon::prelude::*;

use crate::error::{InputError, suggestion_suffix};
use crate::spec::Experiment;
use crate::sweep::run_seed;
use crate::world::{run_world, world_config};

pub use candidate::{Candidate, Fault, FaultKind, Target};

/// A delivery property a run may break.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Property {
    /// No record is in the final log more than once.
    NoDuplicates,
    /// No acknowledged record is missing from the final log.
    NoAckedLoss,
    /// No record lands after a record sent later to the same partition.
    InOrder,
    /// No record the application was told failed is in the final log.
    NoFailedPresent,
    /// Every acknowledged record is in the final log exactly once: no duplicates and no
    /// acknowledged loss (the idempotent producer's promise; a transactional run is judged by its read_committed verdict).
    ExactlyOnce,
}

impl Property {
    /// Every property, in the order of the command-line help.
    pub const ALL: [Property; 5] = [
        Property::NoDuplicates,
        Property::NoAckedLoss,
        Property::InOrder,
        Property::NoFailedPresent,
        Property::ExactlyOnce,
    ];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Property::NoDuplicates => "no-duplicates",
            Property::NoAckedLoss => "no-acked-loss",
            Property::InOrder => "in-order",
            Property::NoFailedPresent => "no-failed-present",
            Property::ExactlyOnce => "exactly-once",
        }
    }

    /// Parses a comma-separated list of properties; an unknown one names the nearest.
    pub fn parse_list(text: &str) -> Result<Vec<Property>, InputError> {
        let mut out = BTreeSet::new();
        for word in text.split(',').map(str::trim) {
            let Some(p) = Property::ALL.iter().find(|p| p.name() == word) else {
                return Err(InputError::new(format!(
                    "--property `{word}`: unknown property{}; allowed: {}",
                    suggestion_suffix(word, Property::ALL.iter().map(|p| p.name())),
                    Property::ALL.map(Property::name).join(", ")
                )));
            };
            out.insert(*p);
        }
        Ok(out.into_iter().collect())
    }

    /// What the checker shows broken, if anything: the classes and their record counts.
    pub fn broken(self, c: &CheckerReport) -> Vec<(&'static str, u64)> {
        let classes: &[(&'static str, u64)] = match self {
            Property::NoDuplicates => &[("duplicated", c.duplicated)],
            Property::NoAckedLoss => &[("lost_acked", c.acked_lost)],
            Property::InOrder => &[("reordered", c.reordered)],
            Property::NoFailedPresent => &[("failed_present", c.failed_present)],
            Property::ExactlyOnce => &[("duplicated", c.duplicated), ("lost_acked", c.acked_lost)],
        };
        classes.iter().copied().filter(|(_, n)| *n > 0).collect()
    }
}

/// How long the search may go on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Budget {
    /// At most this many search runs (reproducible).
    Runs(u64),
    /// At most this many seconds of wall clock (not reproducible across machines).
    Seconds(f64),
}

/// What `linger hunt` was asked.
#[derive(Clone, Debug)]
pub struct HuntSpec {
    /// The properties: a run breaking any of them is a violation.
    pub properties: Vec<Property>,
    /// The fault kinds the search may use.
    pub kinds: Vec<FaultKind>,
    /// The search budget.
    pub budget: Budget,
    /// The seed of the candidate stream.
    pub seed: u64,
    /// Records per run before shrinking.
    pub records: u64,
    /// Most faults in a fresh candidate.
    pub max_faults: usize,
    /// Skip runs whose every broken class real Kafka shows too, by a public bug report (the
    /// guarantee campaign's known behaviours): the search goes on, and counts them.
    pub ignore_known_kafka: bool,
}

/// Candidates generated and run together (on every core), then judged in order.
const BATCH: usize = 8;

/// What one candidate's run showed.
#[derive(Clone, Debug)]
pub(crate) enum Eval {
    /// The candidate does not make a valid experiment (e.g. a fault aimed at a broker the shrunk
    /// cluster no longer has).
    Invalid,
    /// It ran.
    Ran(Box<RunSummary>),
}

/// The part of a run the search keeps.
#[derive(Clone, Debug)]
pub struct RunSummary {
    /// The broken classes with their record counts (empty: the properties held).
    pub broken: Vec<(&'static str, u64)>,
    /// The producer states the run reached.
    pub states: States,
    /// The checker's report.
    pub checker: CheckerReport,
    /// Whether a bound stopped the run early or it did not settle (then it is not judged).
    pub unjudged: bool,
    /// Broken classes real Kafka shows too in such a run, with the bug report (filled when the
    /// search ignores them, and for the final report).
    pub known: Vec<(&'static str, crate::guarantee::KnownKafkaBehaviour)>,
}

/// The producer and cluster states a run reached, read from its metrics and checker report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct States {
    /// Batches were retried (`record-retry-total` > 0), in log2 buckets of the retried records.
    pub retry_bucket: u8,
    /// Records failed (an error, an expiry).
    pub failed: bool,
    /// Records failed but were written.
    pub failed_present: bool,
    /// Records had no outcome when the run ended.
    pub unfinished: bool,
    /// A batch was split after MESSAGE_TOO_LARGE.
    pub split: bool,
    /// A record was duplicated, lost after its ack or reordered.
    pub anomaly: bool,
}

impl States {
    fn of(result: &RunResult) -> States {
        let metric = |name: &str| result.metric(name).unwrap_or(0.0);
        let retried = metric("record-retry-total") as u64;
        let c = &result.checker;
        States {
            retry_bucket: if retried == 0 {
                0
            } else {
                (64 - retried.leading_zeros()).min(8) as u8
            },
            failed: metric("records_failed") > 0.0,
            failed_present: c.failed_present > 0,
            unfinished: metric("records_unfinished") > 0.0,
            split: metric("batch-split-total") > 0.0,
            anomaly: c.duplicated + c.acked_lost + c.reordered > 0,
        }
    }
}

/// What the search ended with.
#[derive(Clone, Debug)]
pub enum SearchOutcome {
    /// A candidate broke a property.
    Found {
        /// The candidate.
        candidate: Candidate,
        /// Its run.
        summary: RunSummary,
        /// Search runs it took (this one included).
        runs: u64,
    },
    /// None did within the budget.
    NotFound(SearchReport),
}

/// What a search that found nothing tried.
#[derive(Clone, Debug, Default)]
pub struct SearchReport {
    /// Search runs (valid candidates that ran).
    pub runs: u64,
    /// Candidates that made no valid experiment.
    pub invalid: u64,
    /// Runs that used each fault kind.
    pub kinds_used: Vec<(FaultKind, u64)>,
    /// Runs that reached each state: retries, failures, failed-but-present, unfinished, splits.
    pub runs_with_retries: u64,
    /// Runs in which records failed.
    pub runs_with_failures: u64,
    /// Runs with records failed but present.
    pub runs_with_failed_present: u64,
    /// Runs that left records unfinished or unsettled.
    pub runs_unjudged_or_unfinished: u64,
    /// Distinct state combinations reached.
    pub distinct_states: usize,
    /// Runs that broke the properties only as real Kafka does (skipped with
    /// `ignore_known_kafka`), per bug report.
    pub known_kafka: Vec<(&'static str, u64)>,
}

/// The broken classes of a traced run that real Kafka shows too (the guarantee campaign's
/// attribution: duplicates from an epoch bump that rewrote written batches, reordering from a
/// leader that accepted an unknown producer's later sequence), each with its bug report. Only
/// an idempotent producer's anomalies are put down to them; acknowledged loss never is.
pub fn known_kafka(
    broken: &[(&'static str, u64)],
    traced: &RunResult,
) -> Vec<(&'static str, crate::guarantee::KnownKafkaBehaviour)> {
    let evidence = crate::guarantee::evidence(traced.trace.events());
    let violations = broken
        .iter()
        .map(|&(class, records)| crate::guarantee::Violation { class, records })
        .collect();
    crate::guarantee::attribute(violations, &evidence)
        .into_iter()
        .filter_map(|(v, known)| known.map(|k| (v.class, k)))
        .collect()
}

/// The hunt over one experiment.
pub struct Hunter {
    experiment: Experiment,
    spec: HuntSpec,
    /// The run seed every candidate uses: the one `linger run` derives from the file's master
    /// seed for a file without sweep axes.
    run_seed: u64,
    /// The file's cluster size and replication.
    pub brokers: u32,
    /// Partitions of the file's topic.
    pub partitions: u32,
    replication_factor: u32,
    /// Virtual ms within which the fault-free run sends and settles: fault times fall in it.
    pub horizon_ms: f64,
    /// The controller's session timeout: a restart after it lets a crashed leader be replaced.
    session_ms: f64,
    /// The mean gap between two sends of the workload, ms (none for back-to-back sending).
    pub(crate) send_gap_ms: Option<f64>,
    /// Whether the file had its own `[faults]` (replaced by the searched schedule).
    pub replaced_file_faults: bool,
}

impl Hunter {
    /// Checks the file, runs it once without faults at the hunt's record count, and measures
    /// the horizon for fault times.
    pub fn new(experiment: Experiment, spec: HuntSpec) -> Result<Hunter, InputError> {
        if !experiment.axes.is_empty() {
            return Err(InputError::new(format!(
                "{}: hunt runs one configuration, and this file has [sweep] axes; run it on one \
                 point (remove the [sweep] table, or copy the point's values into the sections)",
                experiment.source.display_name
            )));
        }
        if spec.records == 0 {
            return Err(InputError::new(
                "--records 0: allowed a whole number of records from 1",
            ));
        }
        if spec.kinds.is_empty() {
            return Err(InputError::new("--faults: name at least one fault kind"));
        }
        if matches!(spec.budget, Budget::Runs(0))
            || matches!(spec.budget, Budget::Seconds(s) if !(s > 0.0 && s.is_finite()))
        {
            return Err(InputError::new(
                "the budget is 0: allowed --budget-runs from 1 or --budget-s above 0",
            ));
        }
        let base = world_config(&experiment.source, &experiment.sections)?;
        let replaced_file_faults = experiment.sections.contains_key("faults");
        let run_seed = run_seed(experiment.master_seed, "", 0);
        let mut hunter = Hunter {
            brokers: base.cluster.brokers,
            partitions: base.cluster.partitions,
            replication_factor: base.cluster.replication_factor,
            session_ms: base.cluster.broker_session_timeout_ms,
            send_gap_ms: match base.workload.arrivals {
                models::producer::workload::Arrivals::Constant { per_sec }
                | models::producer::workload::Arrivals::Poisson { per_sec }
                | models::producer::workload::Arrivals::OnOff { per_sec, .. } => {
                    Some(1000.0 / per_sec)
                }
                models::producer::workload::Arrivals::Saturate { .. } => None,
            },
            horizon_ms: 0.0,
            replaced_file_faults,
            run_seed,
            experiment,
            spec,
        };
        let empty = Candidate {
            faults: Vec::new(),
            records: hunter.spec.records,
            partitions: hunter.partitions,
            brokers: hunter.brokers,
        };
        let config = world_config(&hunter.experiment.source, &hunter.sections_for(&empty))?;
        let result = run_world(&config, run_seed, sim::Trace::off());
        hunter.horizon_ms = (result.virtual_time_ns as f64 / 1e6).max(10.0);
        Ok(hunter)
    }

    /// The spec it runs.
    pub fn spec(&self) -> &HuntSpec {
        &self.spec
    }

    /// The experiment's sections with the candidate's schedule, records and cluster size.
    pub fn sections_for(&self, c: &Candidate) -> toml::Table {
        let mut sections = self.experiment.sections.clone();
        sections.remove("faults");
        if !c.faults.is_empty() {
            let mut faults = toml::Table::new();
            faults.insert("schedule".into(), c.schedule_value());
            sections.insert("faults".into(), toml::Value::Table(faults));
        }
        let table = |sections: &mut toml::Table, name: &str| -> toml::Table {
            sections
                .remove(name)
                .and_then(|v| match v {
                    toml::Value::Table(t) => Some(t),
                    _ => None,
                })
                .unwrap_or_default()
        };
        let mut workload = table(&mut sections, "workload");
        workload.insert("records".into(), toml::Value::Integer(c.records as i64));
        sections.insert("workload".into(), toml::Value::Table(workload));
        let mut run = table(&mut sections, "run");
        run.insert("duration_ms".into(), toml::Value::Integer(0));
        sections.insert("run".into(), toml::Value::Table(run));
        let mut cluster = table(&mut sections, "cluster");
        cluster.insert("brokers".into(), toml::Value::Integer(i64::from(c.brokers)));
        cluster.insert(
            "partitions".into(),
            toml::Value::Integer(i64::from(c.partitions)),
        );
        sections.insert("cluster".into(), toml::Value::Table(cluster));
        sections
    }

    /// Runs one candidate and judges it.
    pub(crate) fn evaluate(&self, c: &Candidate) -> Eval {
        let Ok(config) = world_config(&self.experiment.source, &self.sections_for(c)) else {
            return Eval::Invalid;
        };
        let result = run_world(&config, self.run_seed, sim::Trace::off());
        let mut summary = self.summarize(&result);
        if self.spec.ignore_known_kafka && !summary.broken.is_empty() {
            // Rare: run it again with the trace, for the evidence of the known behaviours.
            let traced = run_world(&config, self.run_seed, sim::Trace::keeping());
            let known = known_kafka(&summary.broken, &traced);
            if known.len() == summary.broken.len() {
                summary.broken.clear();
                summary.known = known;
            }
        }
        Eval::Ran(Box::new(summary))
    }

    fn summarize(&self, result: &RunResult) -> RunSummary {
        let unjudged = !matches!(result.stop, RunStop::Finished) || result.checker.unsettled > 0;
        let mut broken = Vec::new();
        if !unjudged {
            for p in &self.spec.properties {
                for class in p.broken(&result.checker) {
                    if !broken.contains(&class) {
                        broken.push(class);
                    }
                }
            }
        }
        RunSummary {
            broken,
            states: States::of(result),
            checker: result.checker.clone(),
            unjudged,
            known: Vec::new(),
        }
    }

    /// Runs a batch of candidates on every core; the results are in the batch's order.
    pub(crate) fn evaluate_all(&self, batch: &[Candidate]) -> Vec<Eval> {
        batch.par_iter().map(|c| self.evaluate(c)).collect()
    }

    /// Searches until a candidate breaks a property or the budget runs out. `keep_going` hears
    /// the number of runs after each batch and may end the search (the wall-clock budget is the
    /// caller's: this library never reads the clock).
    pub fn search(&self, keep_going: &mut dyn FnMut(u64) -> bool) -> SearchOutcome {
        let mut stopped = false;
        let mut draw = candidate::Draw::new(self.spec.seed);
        let mut corpus: Vec<Candidate> = Vec::new();
        let mut seen: BTreeSet<(States, Vec<FaultKind>)> = BTreeSet::new();
        let mut report = SearchReport::default();
        let mut kinds_used: Vec<(FaultKind, u64)> =
            self.spec.kinds.iter().map(|&k| (k, 0)).collect();
        loop {
            let exhausted = stopped
                || match self.spec.budget {
                    Budget::Runs(n) => report.runs >= n,
                    Budget::Seconds(_) => false,
                };
            if exhausted {
                report.kinds_used = kinds_used;
                report.distinct_states = seen.len();
                return SearchOutcome::NotFound(report);
            }
            let left = match self.spec.budget {
                Budget::Runs(n) => (n - report.runs).min(BATCH as u64) as usize,
                Budget::Seconds(_) => BATCH,
            };
            let batch: Vec<Candidate> = (0..left)
                .map(|_| self.next_candidate(&mut draw, &corpus))
                .collect();
            let evals = self.evaluate_all(&batch);
            for (c, eval) in batch.into_iter().zip(evals) {
                let Eval::Ran(summary) = eval else {
                    report.invalid += 1;
                    continue;
                };
                report.runs += 1;
                for kind in c.kinds() {
                    if let Some(entry) = kinds_used.iter_mut().find(|(k, _)| *k == kind) {
                        entry.1 += 1;
                    }
                }
                let s = summary.states;
                report.runs_with_retries += u64::from(s.retry_bucket > 0);
                report.runs_with_failures += u64::from(s.failed);
                report.runs_with_failed_present += u64::from(s.failed_present);
                report.runs_unjudged_or_unfinished += u64::from(s.unfinished || summary.unjudged);
                for (_, behaviour) in &summary.known {
                    match report
                        .known_kafka
                        .iter_mut()
                        .find(|(r, _)| *r == behaviour.report)
                    {
                        Some(entry) => entry.1 += 1,
                        None => report.known_kafka.push((behaviour.report, 1)),
                    }
                }
                if !summary.broken.is_empty() {
                    return SearchOutcome::Found {
                        candidate: c,
                        summary: *summary,
                        runs: report.runs,
                    };
                }
                if seen.insert((s, c.kinds())) {
                    corpus.push(c);
                }
            }
            stopped = !keep_going(report.runs);
        }
    }

    /// A fresh candidate, or (half the time, once there is a corpus) a mutation of a candidate
    /// that reached new states.
    fn next_candidate(&self, draw: &mut candidate::Draw, corpus: &[Candidate]) -> Candidate {
        let world = self.world_shape();
        if !corpus.is_empty() && draw.chance(1, 2) {
            let parent = &corpus[draw.below(corpus.len() as u64) as usize];
            candidate::mutate(parent, draw, &world)
        } else {
            candidate::fresh(draw, &world)
        }
    }

    fn world_shape(&self) -> candidate::Shape<'_> {
        candidate::Shape {
            kinds: &self.spec.kinds,
            brokers: self.brokers,
            horizon_ms: self.horizon_ms,
            session_ms: self.session_ms,
            max_faults: self.spec.max_faults,
            records: self.spec.records,
            partitions: self.partitions,
        }
    }

    /// The smallest candidate the shrinker reaches from `found`, and the runs it took.
    pub fn shrink(&self, found: Candidate) -> (Candidate, u64) {
        shrink::shrink(self, found, self.replication_factor, self.send_gap_ms)
    }

    /// The counterexample as a runnable experiment file.
    pub fn counterexample_toml(&self, c: &Candidate, summary: &RunSummary) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "# A counterexample found by `linger hunt` in {}: the schedule below breaks {}\n",
            self.experiment.source.display_name,
            self.spec
                .properties
                .iter()
                .map(|p| p.name())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        out.push_str(&format!(
            "# ({}). Replay: linger run counterexample.toml\n",
            summary
                .broken
                .iter()
                .map(|(class, n)| format!("{class} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        out.push_str(&format!(
            "# Searched with --seed {}; the producer, network and workload shape are the file's, the\n\
             # cluster size, the record count and the faults are the shrunk ones.\n\n",
            self.spec.seed
        ));
        let mut doc = toml::Table::new();
        let mut experiment = toml::Table::new();
        experiment.insert(
            "name".into(),
            toml::Value::String(format!("{}-counterexample", self.experiment.name)),
        );
        experiment.insert(
            "description".into(),
            toml::Value::String(format!(
                "found by linger hunt: {}",
                summary
                    .broken
                    .iter()
                    .map(|(class, n)| format!("{class} {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        );
        doc.insert("experiment".into(), toml::Value::Table(experiment));
        for (key, value) in self.sections_for(c) {
            doc.insert(key, value);
        }
        // A properties file named relative to the hunted file is named from where it is, so the
        // counterexample replays wherever it is written.
        if let Some(toml::Value::Table(producer)) = doc.get_mut("producer")
            && let Some(toml::Value::String(path)) = producer.get_mut("properties")
            && std::path::Path::new(path.as_str()).is_relative()
        {
            let joined = self.experiment.source.base_dir.join(path.as_str());
            *path = std::path::absolute(&joined)
                .unwrap_or(joined)
                .display()
                .to_string();
        }
        if let Some(toml::Value::Table(run)) = doc.get_mut("run") {
            run.insert(
                "seed".into(),
                toml::Value::Integer(self.experiment.master_seed as i64),
            );
        }
        out.push_str(&toml::to_string(&doc).unwrap_or_else(|e| format!("# not written: {e}\n")));
        out
    }

    /// Runs `c` with the trace kept, for the diagram and the replay check.
    pub fn traced_run(&self, c: &Candidate) -> Result<RunResult, InputError> {
        let config = world_config(&self.experiment.source, &self.sections_for(c))?;
        Ok(run_world(&config, self.run_seed, sim::Trace::keeping()))
    }

    /// The effective producer config of the file, for the diagram's delivery promise.
    pub fn producer_config(&self) -> Result<models::batching::config::ProducerConfig, InputError> {
        Ok(world_config(&self.experiment.source, &self.experiment.sections)?.producer)
    }

    /// The master seed written into the counterexample.
    pub fn master_seed(&self) -> u64 {
        self.experiment.master_seed
    }
}
