//! The fuzz campaign's library half: a generator of random experiment files ([`generate`]), and
//! [`run_case`], which takes one file through the whole `linger run FILE` pipeline in process
//! and judges the outcome.
//!
//! ```text
//!   generate::experiment_file(seed) ──► text ──► Experiment::parse ──► world_config ──► run_world
//!                                              │ Err                 │ Err            │ panic / result
//!                                              ▼                     ▼                ▼
//!                                          BadInput (message checked)          Panic | BoundReached
//!                                                                              | NotStarted | Ok
//!                                                                              (Ok: invariants checked)
//! ```
//!
//! Two harnesses drive it: the property test `experiments/tests/fuzz_experiments.rs` (in
//! process, a worker thread per case with a wall-clock timeout) and the long campaign
//! `cargo run --release -p experiments --example fuzz_campaign` (a child process per case, killed
//! at its timeout). The wall clock is read only there, never inside a run.
//!
//! [`Verdict::is_failure`] is the campaign's definition of a bug: a panic, a run that validated
//! but did not start, a bound reached that the file did not set, broken accounting, or a bad-input
//! message that names neither a key nor the file or that leaks a Rust type name.
//! A bound reached is recognised by its message (today a panic raised by `models::world::run`);
//! when it becomes a typed outcome, [`classify_run`] is the one place to change.

pub mod generate;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use models::world::RunResult;

use crate::error::Error;
use crate::spec::{Experiment, Source};
use crate::sweep::{Points, canonical_point, run_seed};
use crate::world::{run_world, world_config};

pub use generate::{FileKind, Generated, experiment_file};

/// What one case came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The run finished and its invariants hold (exit code 0).
    Ok,
    /// The file was refused as bad input (exit code 2), with this message.
    BadInput(String),
    /// The run stopped at a bound (exit code 3 in a fixed linger), with this message.
    BoundReached(String),
    /// The run validated, then did not start (its first warning says why).
    NotStarted(String),
    /// The run panicked, with this message.
    Panic(String),
    /// The run finished but an accounting invariant does not hold.
    Invariant(String),
    /// Reading the file failed in a way that is not bad input (exit code 1).
    Other(String),
}

/// An outcome judged against what the generator wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// The outcome.
    pub outcome: Outcome,
    /// Why it counts as a failure, if it does.
    pub failure: Option<String>,
}

impl Verdict {
    /// Whether the campaign should report this case.
    pub fn is_failure(&self) -> bool {
        self.failure.is_some()
    }
}

/// Rust type names a message for users must not contain.
pub const RUST_TYPE_NAMES: &[&str] = &[
    "u8",
    "u16",
    "u32",
    "u64",
    "u128",
    "usize",
    "i8",
    "i16",
    "i32",
    "i64",
    "i128",
    "isize",
    "f32",
    "f64",
    "untagged enum",
    "internally tagged enum",
    "Option<",
    "Vec<",
];

/// The name a case's file has in messages (and on disk, when the campaign writes it).
pub fn file_name(seed: u64) -> String {
    format!("fuzz-{seed}.toml")
}

/// Generates the file of `seed`, runs it and judges the outcome.
pub fn run_seed_case(seed: u64) -> (Generated, Verdict) {
    let generated = experiment_file(seed);
    let outcome = run_case(&generated.text, &file_name(seed), seed);
    let verdict = judge(&generated, &file_name(seed), outcome);
    (generated, verdict)
}

/// The virtual time the harness gives each case (10 virtual minutes), as `--max-virtual-time`.
pub const HARNESS_VIRTUAL_MS: f64 = 600_000.0;

/// The events the harness gives each case whose file sets no smaller `max_events`: a valid
/// file can keep a run busy for millions of events (a batch that Kafka splits and resends until
/// its delivery timeout, for one), which a debug build cannot get through in the harness's
/// wall-clock budget.
pub const HARNESS_MAX_EVENTS: u64 = 500_000;

/// The mark the harness puts on a bound it set itself.
const HARNESS_MARK: &str = "(the fuzz harness's bound)";

/// Whether a bound-reached message is one of the harness's own bounds.
fn is_harness_bound(message: &str) -> bool {
    message.contains("max_virtual_time_ms") || message.contains(HARNESS_MARK)
}

/// Runs `text` as `linger run FILE` would (replicate 0; a sweep's point `pick` modulo its point
/// count, as `--point` does), catching panics.
pub fn run_case(text: &str, display_name: &str, pick: u64) -> Outcome {
    let source = Source {
        display_name: display_name.to_owned(),
        text: text.to_owned(),
        base_dir: PathBuf::from("."),
    };
    let experiment = match Experiment::parse(source, &[]) {
        Ok(experiment) => experiment,
        Err(error) => return outcome_of_error(&error),
    };
    let (sections, canonical) = match point_of(&experiment, pick) {
        Ok(point) => point,
        Err(error) => return outcome_of_error(&error),
    };
    let mut config = match world_config(&experiment.source, &sections) {
        Ok(config) => config,
        Err(error) => return Outcome::BadInput(error.to_string()),
    };
    // Valid settings can make a run last virtual days (`linger run` warns about those before it
    // starts); the harness bounds every case as a user would with --max-virtual-time, and a
    // run that reaches that bound is judged as finishing.
    if config
        .run
        .max_virtual_time_ms
        .is_none_or(|ms| ms > HARNESS_VIRTUAL_MS)
    {
        config.run.max_virtual_time_ms = Some(HARNESS_VIRTUAL_MS);
    }
    let harness_events = config.run.max_events == 0 || config.run.max_events > HARNESS_MAX_EVENTS;
    if harness_events {
        config.run.max_events = HARNESS_MAX_EVENTS;
    }
    let seed = run_seed(experiment.master_seed, &canonical, 0);
    PANIC_AT.with(|cell| cell.borrow_mut().take());
    let attempt = catch_unwind(AssertUnwindSafe(|| {
        run_world(&config, seed, sim::Trace::off())
    }));
    match attempt {
        Ok(result) => match classify_run(&result) {
            Outcome::BoundReached(message)
                if harness_events
                    && message.contains("max_events")
                    && !message.contains("max_events_per_virtual_ms") =>
            {
                Outcome::BoundReached(format!("{message} {HARNESS_MARK}"))
            }
            other => other,
        },
        Err(payload) => {
            let mut message = panic_message(payload.as_ref());
            if let Some(at) = PANIC_AT.with(|cell| cell.borrow_mut().take()) {
                // The first line names the source line, so that equal bugs group together.
                message = format!("{at}: {message}");
            }
            classify_panic(message)
        }
    }
}

fn point_of(experiment: &Experiment, pick: u64) -> Result<(toml::Table, String), Error> {
    if experiment.axes.is_empty() {
        return Ok((experiment.sections.clone(), String::new()));
    }
    let points = Points::new(&experiment.axes, u64::MAX)?;
    let count = u64::try_from(points.count()).expect("a point count fits u64");
    let index = usize::try_from(pick % count.max(1)).expect("below the point count");
    let values = points.values(index);
    Ok((
        experiment.sections_at(&values),
        canonical_point(&experiment.axes, &values),
    ))
}

fn outcome_of_error(error: &Error) -> Outcome {
    match error.exit_code() {
        2 => Outcome::BadInput(error.to_string()),
        _ => Outcome::Other(error.to_string()),
    }
}

std::thread_local! {
    /// Where the last panic on this thread happened (set by [`record_panics_quietly`]).
    static PANIC_AT: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Installs a panic hook that prints nothing for panics on threads whose name starts with
/// `quiet_prefix` (or on every thread when it is empty) and records where each panic happened,
/// so that [`run_case`] can name the source line of a panic; other panics print as usual.
pub fn record_panics_quietly(quiet_prefix: &'static str) {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if let Some(location) = info.location() {
            let at = format!("{}:{}", location.file(), location.line());
            // The first panic is the cause; a re-raise (as `models::world::run` does) is not.
            PANIC_AT.with(|cell| {
                cell.borrow_mut().get_or_insert(at);
            });
        }
        let quiet = quiet_prefix.is_empty()
            || std::thread::current()
                .name()
                .is_some_and(|name| name.starts_with(quiet_prefix));
        if !quiet {
            default(info);
        }
    }));
}

/// The text of a panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "(no message)".to_owned())
}

fn classify_panic(message: String) -> Outcome {
    if is_bound_message(&message) {
        Outcome::BoundReached(message)
    } else {
        Outcome::Panic(message)
    }
}

/// Whether a message reports a run bound (`max_events`, a virtual-time limit) being reached.
fn is_bound_message(message: &str) -> bool {
    message.contains("exceeded its limit of") || message.to_lowercase().contains("bound reached")
}

/// Judges a finished run: the accounting invariants and the checker's classes.
pub fn classify_run(result: &RunResult) -> Outcome {
    if let models::world::RunStop::BoundReached(bound) = &result.stop {
        return Outcome::BoundReached(bound.to_string());
    }
    if let Some(why) = result
        .warnings
        .iter()
        .find(|w| w.starts_with("the run did not start"))
    {
        return Outcome::NotStarted(why.clone());
    }
    match accounting_problem(result) {
        Some(problem) => Outcome::Invariant(problem),
        None => Outcome::Ok,
    }
}

fn metric(result: &RunResult, name: &str) -> u64 {
    let value = result.metric(name).unwrap_or(f64::NAN);
    if value.is_finite() && value >= 0.0 && value.fract() == 0.0 {
        // A count metric is a whole number well below 2^53.
        value as u64
    } else {
        u64::MAX
    }
}

/// The first accounting invariant the result breaks, if any.
pub fn accounting_problem(result: &RunResult) -> Option<String> {
    let sent = metric(result, "records_sent");
    let acked = metric(result, "records_acked");
    let failed = metric(result, "records_failed");
    let unfinished = metric(result, "records_unfinished");
    let c = &result.checker;
    let acked_classes = [c.delivered_once, c.duplicated, c.acked_lost, c.silent_lost];
    let failed_classes = [c.failed_absent, c.failed_present];
    let unfinished_classes = [c.unfinished_absent, c.unfinished_present];
    let sum = |xs: &[u64]| xs.iter().try_fold(0_u64, |a, x| a.checked_add(*x));
    // An unsettled record may have been told anything, so with unsettled records each outcome's
    // classes only bound its count from below.
    let unsettled = c.unsettled;
    let within = |classes: Option<u64>, count: u64| {
        classes.is_some_and(|n| n <= count && count <= n.saturating_add(unsettled))
    };
    let checks = [
        (
            Some(sent) == sum(&[acked, failed, unfinished]),
            format!("sent {sent} != acked {acked} + failed {failed} + unfinished {unfinished}"),
        ),
        (
            c.sent == sent,
            format!("checker sent {} != records_sent {sent}", c.sent),
        ),
        (
            sum(&[
                sum(&acked_classes).unwrap_or(u64::MAX),
                sum(&failed_classes).unwrap_or(u64::MAX),
                sum(&unfinished_classes).unwrap_or(u64::MAX),
                unsettled,
            ]) == Some(c.sent),
            format!("checker classes do not sum to sent {}: {c:?}", c.sent),
        ),
        (
            within(sum(&acked_classes), acked),
            format!("acked classes {acked_classes:?} do not sum to records_acked {acked}"),
        ),
        (
            within(sum(&failed_classes), failed),
            format!("failed classes {failed_classes:?} do not sum to records_failed {failed}"),
        ),
        (
            within(sum(&unfinished_classes), unfinished),
            format!(
                "unfinished classes {unfinished_classes:?} do not sum to records_unfinished {unfinished}"
            ),
        ),
    ];
    checks
        .into_iter()
        .find(|(holds, _)| !holds)
        .map(|(_, problem)| problem)
}

/// Judges an outcome against what the generator wrote.
pub fn judge(generated: &Generated, display_name: &str, outcome: Outcome) -> Verdict {
    let failure = match &outcome {
        Outcome::Ok => None,
        Outcome::BadInput(message) => bad_message(generated, display_name, message),
        Outcome::BoundReached(message) if !generated.small_bound && !is_harness_bound(message) => {
            Some(format!(
                "a bound was reached that the file did not set: {message}"
            ))
        }
        Outcome::BoundReached(_) => None,
        Outcome::NotStarted(message) => Some(format!("validated but did not start: {message}")),
        Outcome::Panic(message) => Some(format!("panic: {message}")),
        Outcome::Invariant(problem) => Some(format!("invariant: {problem}")),
        Outcome::Other(message) => Some(format!("not bad input, not a run: {message}")),
    };
    Verdict { outcome, failure }
}

/// What is wrong with a bad-input message, if anything: it must name a key the file writes or
/// the file, and must not leak a Rust type name.
fn bad_message(generated: &Generated, display_name: &str, message: &str) -> Option<String> {
    if message.trim().is_empty() {
        return Some("bad input with an empty message".to_owned());
    }
    if let Some(name) = leaked_type_name(message, &generated.text) {
        return Some(format!(
            "bad-input message names the Rust type `{name}`: {message}"
        ));
    }
    let names_key = generated
        .keys
        .iter()
        .any(|key| !key.is_empty() && message.contains(key.as_str()));
    if !names_key && !message.contains(display_name) {
        return Some(format!(
            "bad-input message names neither a key nor the file: {message}"
        ));
    }
    None
}

/// The first Rust type name in `message` that does not come from the `input` it quotes.
pub fn leaked_type_name(message: &str, input: &str) -> Option<&'static str> {
    RUST_TYPE_NAMES
        .iter()
        .find(|name| contains_word(message, name) && !input.contains(*name))
        .copied()
}

/// Whether `needle` occurs in `text` not as part of a longer identifier.
fn contains_word(text: &str, needle: &str) -> bool {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(needle).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + needle.len()..].chars().next();
        let open = |c: Option<char>| c.is_none_or(|c| !is_ident(c));
        (open(before) || !needle.starts_with(is_ident))
            && (open(after) || !needle.ends_with(is_ident))
    })
}

/// The experiment-file entry points without a run, as the `cargo fuzz` target
/// `experiment_toml` and the parser property tests drive them: `Experiment::parse`, the second
/// validation stage (`world_config`) and the `[producer]` path of `linger check-config`.
/// Returns the error messages, each for the user.
pub fn parse_experiment_text(text: &str) -> Vec<String> {
    let mut messages = Vec::new();
    let source = Source {
        display_name: "fuzz.toml".to_owned(),
        text: text.to_owned(),
        base_dir: PathBuf::from("."),
    };
    match Experiment::parse(source, &[]) {
        Ok(experiment) => {
            if let Err(error) = world_config(&experiment.source, &experiment.sections) {
                messages.push(error.to_string());
            }
        }
        Err(error) => messages.push(error.to_string()),
    }
    let profile = models::batching::config::KafkaVersion::default();
    if let Err(error) = crate::producer_toml::producer_config_from_toml_str(
        text,
        std::path::Path::new("fuzz.toml"),
        profile,
    ) {
        messages.push(error.to_string());
    }
    messages
}

/// The Java properties path of `linger check-config`, as the `cargo fuzz` target `properties`
/// and the parser property tests drive it: parse, resolve, list. Returns the error messages.
pub fn parse_properties_bytes(bytes: &[u8]) -> Vec<String> {
    use models::batching::config::{KafkaVersion, ProducerConfig, check_config_lines};
    match models::batching::config::parse_properties(bytes, Some("fuzz.properties")) {
        Ok(entries) => {
            let result = ProducerConfig::from_entries(KafkaVersion::default(), entries);
            let lines = check_config_lines(&result);
            match result {
                Ok(_) => Vec::new(),
                Err(errors) => {
                    let mut messages = vec![errors.to_string()];
                    messages.extend(lines.into_iter().filter(|line| line.contains("error")));
                    messages
                }
            }
        }
        Err(error) => vec![error.to_string()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_type_names_are_found_as_words_only() {
        assert!(contains_word("expected u32", "u32"));
        assert!(contains_word("Option<u64>", "Option<"));
        assert!(!contains_word("menu32", "u32"));
        assert!(!contains_word("an u64x value", "u64"));
    }

    #[test]
    fn an_empty_file_runs_to_a_verdict() {
        let outcome = run_case("[run]\nduration_ms = 20.0\n", "t.toml", 0);
        assert_eq!(outcome, Outcome::Ok);
    }

    #[test]
    fn a_wrong_type_is_bad_input() {
        let outcome = run_case("[producer]\n\"linger.ms\" = \"soon\"\n", "t.toml", 0);
        assert!(matches!(outcome, Outcome::BadInput(_)), "{outcome:?}");
    }
}
