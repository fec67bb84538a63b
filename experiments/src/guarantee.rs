//! The guarantee campaign: random fault schedules against the producer configurations Kafka
//! documents as safe, each run judged by the checker over the brokers' final logs.
//!
//! ```text
//!   case_file(seed, flavour) ──► TOML text ──► Experiment::parse ──► world_config ──► run_world
//!                                                                                     │
//!        violations(flavour, checker) ◄───────────────────────────────────────────────┘
//! ```
//!
//! Two flavours, both with acks=all, min.insync.replicas=2, replication factor 3 and no
//! unclean election:
//! - [`Flavour::Idempotent`] (idempotence on): Kafka promises no duplicates, no reordering
//!   within a partition and no loss of an acknowledged record;
//! - [`Flavour::AcksAll`] (idempotence off): only no loss of an acknowledged record.
//!
//! Every case draws its producer settings, workload, network and a schedule of faults of every
//! kind the world has (process crashes, power-offs, controlled shutdowns and restarts, link
//! cuts, connection resets and blackholes, response drops and delays, injected
//! broker errors, latency spikes, fencing, zombie-leader isolation) plus, sometimes, the random
//! fault processes; [`case_file`] is a function of the seed only, so a failing case replays
//! with `linger run` on its file. The property test `tests/guarantee_campaign.rs` runs a few
//! hundred seeds in CI; the long campaign is
//! `cargo run --release -p experiments --example guarantee_campaign -- --cases 10000`.
//!
//! A violation counts against linger unless real Kafka shows it too, and then only with the
//! public bug report that says so: [`KnownKafkaBehaviour`] lists those, each with the evidence
//! the run must show for a case to be put down to it.

use std::fmt::Write as _;
use std::path::PathBuf;

use models::checker::CheckerReport;
use models::world::{RunResult, RunStop};

use crate::spec::{Experiment, Source};
use crate::sweep::run_seed;
use crate::world::{run_world, world_config};

/// Which promise a case checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    /// Idempotence on: no duplicates, no reordering, no acknowledged loss.
    Idempotent,
    /// Idempotence off: no acknowledged loss.
    AcksAll,
}

impl Flavour {
    /// The flavour's name in messages and file names.
    pub fn name(self) -> &'static str {
        match self {
            Flavour::Idempotent => "idempotent",
            Flavour::AcksAll => "acks-all",
        }
    }
}

/// A small seeded generator (splitmix64): the campaign's files depend on the seed alone.
struct Draw(u64);

impl Draw {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    fn int(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }

    /// Uniform in `[lo, hi)`, rounded to a microsecond.
    fn ms(&mut self, lo: f64, hi: f64) -> f64 {
        let unit = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((lo + unit * (hi - lo)) * 1000.0).round() / 1000.0
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
}

/// The fault kinds a schedule draws from.
const KINDS: &[&str] = &[
    "crash",
    "power_off",
    "shutdown",
    "reset",
    "blackhole",
    "cut_client",
    "cut_brokers",
    "drop_responses",
    "error",
    "delay_responses",
    "latency_spike",
    "fence",
    "isolate",
];

/// Retriable produce errors a broker may be told to answer with (`Errors` in Kafka: each is a
/// `RetriableException`), so that a failed record is never the expected outcome of the fault.
const RETRIABLE_ERRORS: &[&str] = &[
    "NOT_ENOUGH_REPLICAS",
    "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
    "NOT_LEADER_OR_FOLLOWER",
    "REQUEST_TIMED_OUT",
    "KAFKA_STORAGE_ERROR",
];

/// The experiment file of one case.
pub fn case_file(seed: u64, flavour: Flavour) -> String {
    let mut d = Draw(seed ^ 0x005E_ED0F_6A11_A27E);
    let mut s = String::new();
    let brokers = 3u64;
    let duration_ms = d.int(300, 3000) as f64;
    let _ = writeln!(
        s,
        "[experiment]\nname = \"guarantee-{}-{seed}\"\n",
        flavour.name()
    );
    let in_flight = d.int(1, 5);
    let request_timeout = *d.pick(&[500u64, 1000, 3000, 30_000]);
    let linger = *d.pick(&[0u64, 0, 1, 5, 20]);
    let _ = writeln!(s, "[producer]\nacks = \"all\"");
    let _ = writeln!(
        s,
        "\"enable.idempotence\" = {}",
        flavour == Flavour::Idempotent
    );
    let _ = writeln!(s, "\"max.in.flight.requests.per.connection\" = {in_flight}");
    let _ = writeln!(s, "\"request.timeout.ms\" = {request_timeout}");
    let _ = writeln!(s, "\"linger.ms\" = {linger}");
    let _ = writeln!(s, "\"batch.size\" = {}", d.pick(&[1024u64, 16384, 65536]));
    let _ = writeln!(s, "\"retry.backoff.ms\" = {}", d.pick(&[10u64, 100]));
    if d.chance(40) {
        // A delivery timeout close to its floor makes expiry race the retries.
        let delivery = linger + request_timeout + d.int(0, 2000);
        let _ = writeln!(s, "\"delivery.timeout.ms\" = {delivery}");
    }
    let rate = *d.pick(&[200u64, 1000, 5000, 20_000]);
    let _ = writeln!(
        s,
        "\n[workload]\nmode = \"{}\"\nvalue_bytes = {}\narrivals = {{ kind = \"{}\", per_sec = {rate} }}",
        if d.chance(15) { "sync" } else { "async" },
        d.pick(&[16u64, 100, 512]),
        d.pick(&["constant", "poisson"]),
    );
    if d.chance(50) {
        let _ = writeln!(
            s,
            "keys = {{ kind = \"uniform\", count = {} }}",
            d.int(1, 50)
        );
    }
    let _ = writeln!(
        s,
        "\n[cluster]\nbrokers = {brokers}\npartitions = {}\nreplication_factor = 3\n\"min.insync.replicas\" = 2\n\"unclean.leader.election.enable\" = false",
        d.int(1, 6)
    );
    if d.chance(50) {
        let _ = writeln!(
            s,
            "\"replica.lag.time.max.ms\" = {}\n\"replica.socket.timeout.ms\" = {}\n\"replica.fetch.wait.max.ms\" = {}",
            d.pick(&[1000u64, 5000, 30_000]),
            d.pick(&[1000u64, 30_000]),
            d.pick(&[50u64, 500]),
        );
    }
    let latency = if d.chance(50) {
        format!("{{ dist = \"constant\", ms = {} }}", d.ms(0.1, 5.0))
    } else {
        format!(
            "{{ dist = \"lognormal\", median_ms = {}, sigma = {} }}",
            d.ms(0.2, 3.0),
            d.ms(0.1, 1.0)
        )
    };
    let _ = writeln!(s, "\n[network]\nlatency = {latency}");
    if d.chance(20) {
        let _ = writeln!(
            s,
            "request_loss = {}\nresponse_loss = {}",
            d.pick(&[0.0, 0.001, 0.01]),
            d.pick(&[0.0, 0.001, 0.01])
        );
    }
    let _ = writeln!(s, "\n[run]\nduration_ms = {duration_ms}\nseed = {seed}");
    if d.chance(25) {
        let _ = writeln!(
            s,
            "\n[faults.random]\ncrash_rate_per_broker_per_s = {}\nmax_down_brokers = 1\nrestart_delay = {{ dist = \"exponential\", mean_ms = {} }}\nlink_flap_rate_per_s = {}\nlink_flap_duration = {{ dist = \"exponential\", mean_ms = {} }}",
            d.pick(&[0.0, 0.3, 2.0]),
            d.pick(&[200u64, 2000]),
            d.pick(&[0.0, 1.0, 10.0]),
            d.pick(&[20u64, 500]),
        );
    }
    schedule(&mut d, &mut s, brokers, duration_ms);
    s
}

/// A random schedule of 1 to 6 faults within the send phase, each undone after a while when it
/// has an undo (restart, heal, unfence, rejoin), at most one broker down at a time.
fn schedule(d: &mut Draw, s: &mut String, brokers: u64, duration_ms: f64) {
    let mut entries: Vec<(f64, String)> = Vec::new();
    let count = d.int(1, 6);
    // Until when each broker is busy with a crash, fence or isolation of its own.
    let mut busy_until = vec![0.0f64; brokers as usize];
    for _ in 0..count {
        let at = d.ms(0.0, duration_ms);
        let kind = *d.pick(KINDS);
        let broker = d.int(0, brokers - 1);
        let hold = d.ms(10.0, 3000.0);
        let node = |b: u64| format!("\"broker{b}\"");
        match kind {
            "crash" | "power_off" | "shutdown" | "fence" | "isolate" => {
                // One broker out at a time keeps two in sync, so acks=all can go on.
                if busy_until.iter().any(|&u| u > at) {
                    continue;
                }
                busy_until[broker as usize] = at + hold + 1.0;
                let undo = match kind {
                    "crash" | "power_off" | "shutdown" => "restart",
                    "fence" => "unfence",
                    _ => "rejoin",
                };
                entries.push((at, format!("action = \"{kind}\"\nbroker = {broker}")));
                entries.push((at + hold, format!("action = \"{undo}\"\nbroker = {broker}")));
            }
            "cut_client" | "cut_brokers" => {
                let link = if kind == "cut_client" {
                    format!("[\"client\", {}]", node(broker))
                } else {
                    let other = (broker + d.int(1, brokers - 1)) % brokers;
                    format!("[{}, {}]", node(broker), node(other))
                };
                entries.push((at, format!("action = \"cut\"\nlink = {link}")));
                entries.push((at + hold, format!("action = \"heal\"\nlink = {link}")));
            }
            "reset" | "blackhole" => {
                let link = if d.chance(70) {
                    format!("[\"client\", {}]", node(broker))
                } else {
                    let other = (broker + d.int(1, brokers - 1)) % brokers;
                    format!("[{}, {}]", node(broker), node(other))
                };
                entries.push((at, format!("action = \"{kind}\"\nlink = {link}")));
            }
            "drop_responses" => {
                let api = d.pick(&["produce", "produce", "metadata", "any"]);
                entries.push((
                    at,
                    format!(
                        "action = \"drop_responses\"\nbroker = {broker}\nn = {}\napi = \"{api}\"",
                        d.int(1, 20)
                    ),
                ));
            }
            "error" => {
                let error = d.pick(RETRIABLE_ERRORS);
                let stage = if *error == "NOT_ENOUGH_REPLICAS_AFTER_APPEND" || d.chance(30) {
                    "after_append"
                } else {
                    "before_append"
                };
                entries.push((
                    at,
                    format!(
                        "action = \"error\"\nbroker = {broker}\nerror = \"{error}\"\nn = {}\nstage = \"{stage}\"",
                        d.int(1, 5)
                    ),
                ));
            }
            "delay_responses" => {
                entries.push((
                    at,
                    format!(
                        "action = \"delay_responses\"\nbroker = {broker}\nn = {}\ndelay_ms = {}",
                        d.int(1, 5),
                        d.ms(1.0, 5000.0)
                    ),
                ));
            }
            _ => {
                let link = if d.chance(50) {
                    format!("\nlink = [\"client\", {}]", node(broker))
                } else {
                    String::new()
                };
                entries.push((
                    at,
                    format!(
                        "action = \"latency_spike\"{link}\nextra_ms = {}\nuntil_ms = {}",
                        d.ms(1.0, 2000.0),
                        at + hold
                    ),
                ));
            }
        }
    }
    // A stable sort keeps each fault before its own undo at equal times.
    entries.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (at, body) in entries {
        let _ = writeln!(s, "\n[[faults.schedule]]\nat_ms = {at}\n{body}");
    }
}

/// A behaviour of real Kafka that breaks a promise, with its public bug report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KnownKafkaBehaviour {
    /// The bug report.
    pub report: &'static str,
    /// What happens.
    pub what: &'static str,
}

/// A broken promise in one run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// `duplicated`, `reordered` or `lost_acked`.
    pub class: &'static str,
    /// How many records.
    pub records: u64,
}

/// What one case came to.
#[derive(Clone, Debug, PartialEq)]
pub enum CaseOutcome {
    /// Every promise of the flavour held.
    Held,
    /// Promises broke; each violation with the known Kafka behaviour it is put down to, if any.
    Broken(Vec<(Violation, Option<KnownKafkaBehaviour>)>),
    /// The run did not finish (a bound was reached) or did not settle: nothing can be judged.
    NotJudged(String),
    /// The file was refused or the run panicked: a defect of the generator or of linger.
    Defect(String),
}

impl CaseOutcome {
    /// Whether the case counts against linger: a panic, a refused file, a violation that no
    /// known Kafka behaviour explains.
    pub fn is_failure(&self) -> bool {
        match self {
            CaseOutcome::Held | CaseOutcome::NotJudged(_) => false,
            CaseOutcome::Defect(_) => true,
            CaseOutcome::Broken(violations) => violations.iter().any(|(_, known)| known.is_none()),
        }
    }
}

/// The promises of `flavour` that `checker` shows broken.
pub fn violations(flavour: Flavour, checker: &CheckerReport) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut add = |class, records| {
        if records > 0 {
            out.push(Violation { class, records });
        }
    };
    add("lost_acked", checker.acked_lost);
    if flavour == Flavour::Idempotent {
        add("duplicated", checker.duplicated);
        add("reordered", checker.reordered);
    }
    out
}

/// Runs one case in process, as `linger run FILE` would run its replicate 0.
pub fn run_case(seed: u64, flavour: Flavour) -> (String, CaseOutcome) {
    let text = case_file(seed, flavour);
    let outcome = run_text(&text, seed, flavour);
    (text, outcome)
}

fn run_text(text: &str, seed: u64, flavour: Flavour) -> CaseOutcome {
    let source = Source {
        display_name: format!("guarantee-{}-{seed}.toml", flavour.name()),
        text: text.to_owned(),
        base_dir: PathBuf::from("."),
    };
    let experiment = match Experiment::parse(source, &[]) {
        Ok(experiment) => experiment,
        Err(error) => return CaseOutcome::Defect(format!("refused: {error}")),
    };
    let mut config = match world_config(&experiment.source, &experiment.sections) {
        Ok(config) => config,
        Err(error) => return CaseOutcome::Defect(format!("refused: {error}")),
    };
    // A case lasts seconds of sending; ten virtual minutes covers every drain and settle phase.
    config.run.max_virtual_time_ms = Some(600_000.0);
    // A case's sends are finite (a few seconds of arrivals), so a burst at one instant is the
    // backlog that came due while `send()` was blocked, not a loop: the guard is raised above
    // any case's record count times the events a send takes.
    config.run.max_events_per_virtual_ms = 5_000_000;
    let run_seed = run_seed(experiment.master_seed, "", 0);
    let attempt = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run_world(&config, run_seed, sim::Trace::off())
    }));
    match attempt {
        Ok(result) => match judge(flavour, &result) {
            CaseOutcome::Broken(violations) => {
                // The same run again, its trace kept, to read the mechanism.
                let mut traced = run_world(&config, run_seed, sim::Trace::keeping());
                let found = evidence(&traced.trace.take_events());
                CaseOutcome::Broken(attribute(
                    violations.into_iter().map(|(v, _)| v).collect(),
                    &found,
                ))
            }
            other => other,
        },
        Err(payload) => CaseOutcome::Defect(format!(
            "panic: {}",
            crate::fuzz::panic_message(payload.as_ref())
        )),
    }
}

/// Judges a finished run of `flavour`.
pub fn judge(flavour: Flavour, result: &RunResult) -> CaseOutcome {
    if let RunStop::BoundReached(bound) = &result.stop {
        return CaseOutcome::NotJudged(bound.to_string());
    }
    if let Some(problem) = crate::fuzz::accounting_problem(result) {
        return CaseOutcome::Defect(format!("accounting: {problem}"));
    }
    let found = violations(flavour, &result.checker);
    if found.is_empty() {
        if result.checker.unsettled > 0 {
            return CaseOutcome::NotJudged(format!(
                "{} records unsettled",
                result.checker.unsettled
            ));
        }
        return CaseOutcome::Held;
    }
    CaseOutcome::Broken(found.into_iter().map(|v| (v, None)).collect())
}

/// An idempotent producer's epoch bump gives batches that a broker had already written, but
/// whose responses the client never got, new sequences under the new epoch, and they are
/// written again (`TransactionManager.bumpIdempotentProducerEpoch` resets the sequences of
/// in-flight batches; the broker's duplicate check only looks within one epoch).
pub const KAFKA_14034: KnownKafkaBehaviour = KnownKafkaBehaviour {
    report: "KAFKA-14034",
    what: "an epoch bump re-sequences written but unacknowledged batches, which are written again",
};

/// A leader with no state for the producer accepts a batch with any first sequence
/// (`ProducerAppendInfo.checkSequence`), so a later batch can land before earlier ones.
pub const KAFKA_15591: KnownKafkaBehaviour = KnownKafkaBehaviour {
    report: "KAFKA-15591",
    what: "a leader without the producer's state accepts a later sequence first",
};

/// What the trace of a run shows of the two known behaviours.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Evidence {
    /// Producer epoch bumps.
    pub epoch_bumps: u64,
    /// Records in batches a leader appended a second time under a newer producer epoch (the
    /// same first record as an earlier append of the partition, a higher epoch).
    pub rewritten_records: u64,
    /// Appends by a leader that had no state for the producer, with a first sequence above 0.
    pub unknown_producer_appends: u64,
}

/// Reads the evidence from a run's trace events.
pub fn evidence(events: &[sim::TraceEvent]) -> Evidence {
    use std::collections::BTreeMap;
    let int = |e: &sim::TraceEvent, key: &str| match e.field(key) {
        Some(sim::Value::I64(v)) => Some(*v),
        Some(sim::Value::U64(v)) => i64::try_from(*v).ok(),
        _ => None,
    };
    let mut found = Evidence::default();
    // (partition, first record) -> the highest producer epoch it was appended under.
    let mut appended: BTreeMap<(i64, i64), i64> = BTreeMap::new();
    for e in events {
        match e.kind {
            "epoch_bump" => found.epoch_bumps += 1,
            "unknown_producer_sequence" => found.unknown_producer_appends += 1,
            "append" if e.component.starts_with("broker/") => {
                let (Some(partition), Some(first), Some(epoch), Some(records)) = (
                    int(e, "partition"),
                    int(e, "first_record"),
                    int(e, "epoch"),
                    int(e, "records"),
                ) else {
                    continue;
                };
                match appended.get(&(partition, first)) {
                    Some(&before) if before < epoch => {
                        found.rewritten_records += records.max(0) as u64;
                    }
                    _ => {}
                }
                let slot = appended.entry((partition, first)).or_insert(epoch);
                *slot = (*slot).max(epoch);
            }
            _ => {}
        }
    }
    found
}

/// Puts each violation of an idempotent case down to a known Kafka behaviour when the
/// evidence covers it: duplicates to KAFKA-14034 when at least as many records were rewritten
/// under a newer epoch; reordering to KAFKA-15591 when a leader accepted an unknown producer's
/// later sequence. Acknowledged loss is never put down to anything.
pub fn attribute(
    violations: Vec<Violation>,
    found: &Evidence,
) -> Vec<(Violation, Option<KnownKafkaBehaviour>)> {
    violations
        .into_iter()
        .map(|v| {
            let known = match v.class {
                "duplicated" if found.epoch_bumps > 0 && found.rewritten_records >= v.records => {
                    Some(KAFKA_14034)
                }
                "reordered" if found.unknown_producer_appends > 0 => Some(KAFKA_15591),
                _ => None,
            };
            (v, known)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_file_is_a_function_of_its_seed() {
        assert_eq!(
            case_file(7, Flavour::Idempotent),
            case_file(7, Flavour::Idempotent)
        );
        assert_ne!(
            case_file(7, Flavour::Idempotent),
            case_file(8, Flavour::Idempotent)
        );
    }

    #[test]
    fn every_fault_kind_occurs_within_a_hundred_seeds() {
        let files: Vec<String> = (0..100).map(|s| case_file(s, Flavour::AcksAll)).collect();
        for action in [
            "crash",
            "power_off",
            "shutdown",
            "reset",
            "blackhole",
            "restart",
            "cut",
            "heal",
            "drop_responses",
            "error",
            "delay_responses",
            "latency_spike",
            "fence",
            "isolate",
            "rejoin",
        ] {
            let needle = format!("action = \"{action}\"");
            assert!(
                files.iter().any(|f| f.contains(&needle)),
                "no case has {action}"
            );
        }
    }
}
