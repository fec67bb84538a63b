//! The fuzz campaign as tests: generated experiment files through the whole `linger run FILE`
//! pipeline (in process, one worker thread per case, a wall-clock timeout per case), and random
//! bytes through the two parser entry points (the TOML experiment file and a Java properties
//! file, with the `check-config` listing).
//!
//! Every failing case prints its seed and the generated file is written under `FUZZ_OUT`
//! (default: `target/fuzz-failures`); `cargo run -p experiments --example fuzz_campaign --
//! --cases 1 --seed N` replays seed N alone. Knobs: `FUZZ_CASES` (default 2000), `FUZZ_SEED`
//! (the first seed, default 0), `FUZZ_TIMEOUT_S` (default 20), `FUZZ_MAX_HANGS` (hangs after
//! which a lane of cases stops, default 3).

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use experiments::fuzz::{self, Outcome, Verdict};
use proptest::prelude::*;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(default)
}

/// One case on its own thread; `None` when it did not finish within `timeout`.
fn run_with_timeout(seed: u64, timeout: Duration) -> Option<Verdict> {
    let (send, receive) = mpsc::channel();
    std::thread::Builder::new()
        .name(format!("fuzz-case-{seed}"))
        .stack_size(16 << 20)
        .spawn(move || {
            let (_, verdict) = fuzz::run_seed_case(seed);
            let _ = send.send(verdict);
        })
        .expect("a case thread starts");
    receive.recv_timeout(timeout).ok()
}

/// What a lane of cases found: counts per outcome kind, and the failures.
#[derive(Default)]
struct Tally {
    counts: BTreeMap<&'static str, u64>,
    failures: Vec<(u64, &'static str, String)>,
}

fn kind_of(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Ok => "ok",
        Outcome::BadInput(_) => "bad-input",
        Outcome::BoundReached(_) => "bound-reached",
        Outcome::NotStarted(_) => "not-started",
        Outcome::Panic(_) => "panic",
        Outcome::Invariant(_) => "invariant",
        Outcome::Other(_) => "other",
    }
}

/// Runs the seeds `first + lane, first + lane + lanes, ...`; stops after `FUZZ_MAX_HANGS`
/// hangs (default 3), whose threads keep running until the test process exits.
fn run_lane(first: u64, cases: u64, lane: u64, lanes: u64, timeout: Duration) -> Tally {
    let mut tally = Tally::default();
    let mut hangs = 0;
    let max_hangs = env_u64("FUZZ_MAX_HANGS", 3);
    for seed in (first + lane..first + cases).step_by(usize::try_from(lanes).expect("few")) {
        match run_with_timeout(seed, timeout) {
            Some(verdict) => {
                let kind = kind_of(&verdict.outcome);
                *tally.counts.entry(kind).or_default() += 1;
                if let Some(why) = verdict.failure {
                    tally.failures.push((seed, kind, why));
                }
            }
            None => {
                *tally.counts.entry("hang").or_default() += 1;
                tally.failures.push((
                    seed,
                    "hang",
                    format!("no outcome within {} s", timeout.as_secs()),
                ));
                hangs += 1;
                if hangs >= max_hangs {
                    let why = format!("lane stopped after {hangs} hangs");
                    tally.failures.push((seed, "stopped", why));
                    break;
                }
            }
        }
    }
    tally
}

fn write_failures(failures: &[(u64, &'static str, String)]) -> PathBuf {
    let out = std::env::var_os("FUZZ_OUT").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/fuzz-failures"),
        PathBuf::from,
    );
    std::fs::create_dir_all(&out).expect("the failure directory can be created");
    for (seed, _, _) in failures {
        let generated = fuzz::experiment_file(*seed);
        std::fs::write(out.join(fuzz::file_name(*seed)), generated.text)
            .expect("a failing file can be written");
    }
    out
}

/// At least 2,000 generated experiment files, each run as `linger run FILE` would: success, bad
/// input with a message naming a key or the file, or a bound reached that the file itself set;
/// never a panic, a hang, or broken accounting.
#[test]
fn generated_experiments_run_or_are_refused() {
    fuzz::record_panics_quietly("fuzz-case");
    let cases = env_u64("FUZZ_CASES", 2_000);
    let first = env_u64("FUZZ_SEED", 0);
    let timeout = Duration::from_secs(env_u64("FUZZ_TIMEOUT_S", 20));
    let lanes = 2;
    let tallies: Vec<Tally> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..lanes)
            .map(|lane| scope.spawn(move || run_lane(first, cases, lane, lanes, timeout)))
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("a lane finishes"))
            .collect()
    });
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    let mut failures = Vec::new();
    for tally in tallies {
        for (kind, count) in tally.counts {
            *counts.entry(kind).or_default() += count;
        }
        failures.extend(tally.failures);
    }
    failures.sort_by_key(|(seed, _, _)| *seed);
    eprintln!("fuzz: {cases} cases from seed {first}: {counts:?}");
    if failures.is_empty() {
        return;
    }
    let out = write_failures(&failures);
    let mut report = String::new();
    for (seed, kind, why) in &failures {
        let first_line = why.lines().next().unwrap_or("");
        report.push_str(&format!("  seed {seed} [{kind}] {first_line}\n"));
    }
    panic!(
        "{} of {cases} generated experiments failed (files in {}):\n{report}",
        failures.len(),
        out.display()
    );
}

/// How much an error message is checked.
#[derive(Clone, Copy)]
enum Clarity {
    /// Not empty.
    NonEmpty,
    /// Not empty, and no Rust type names.
    Strict,
}

/// A message for users about `input`: not empty, and free of Rust type names (other than those
/// the input itself contains, which the message may quote).
fn assert_clear(context: &str, message: &str, input: &str, clarity: Clarity) {
    assert!(
        !message.trim().is_empty(),
        "{context}: an empty error message"
    );
    if let Clarity::NonEmpty = clarity {
        return;
    }
    if let Some(name) = fuzz::leaked_type_name(message, input) {
        panic!("{context}: the message names the Rust type `{name}`: {message}");
    }
}

/// The experiment parser and both validation stages, never the run.
fn parse_experiment(text: &str, clarity: Clarity) {
    for message in fuzz::parse_experiment_text(text) {
        assert_clear("experiment file", &message, text, clarity);
    }
}

/// The properties parser and `check-config`'s resolution and listing.
fn parse_properties_file(bytes: &[u8]) {
    let input = String::from_utf8_lossy(bytes);
    for message in fuzz::parse_properties_bytes(bytes) {
        assert_clear("properties file", &message, &input, Clarity::Strict);
    }
}

/// A generated file with a few bytes changed, inserted or cut: near-valid input.
fn mutated(seed: u64, edits: &[(usize, u8, u8)]) -> Vec<u8> {
    let mut bytes = fuzz::experiment_file(seed).text.into_bytes();
    for &(at, op, byte) in edits {
        if bytes.is_empty() {
            break;
        }
        let at = at % bytes.len();
        match op % 3 {
            0 => bytes[at] = byte,
            1 => bytes.insert(at, byte),
            _ => bytes.truncate(at),
        }
    }
    bytes
}

const PROPERTY_LINES: &[&str] = &[
    "linger.ms=5",
    "acks = all",
    "batch.size:16384",
    "retries=2147483648",
    "enable.idempotence=yes",
    "linger.ms=9223372036854775807",
    "max.in.flight.requests.per.connection=6",
    "\\u00e9=1",
    "key\\\n  continued=1",
    "# comment",
    "! comment",
    "delivery.timeout.ms=1",
    "unknown.key=1",
    "compression.type=zstd",
    "transactional.id=",
    "buffer.memory=-1",
];

// The seed is fixed so that CI judges the same inputs every time; the long campaign explores.
proptest! {
    #![proptest_config(ProptestConfig { cases: 1_000, rng_seed: proptest::test_runner::RngSeed::Fixed(1), .. ProptestConfig::default() })]

    #[test]
    fn the_experiment_parser_takes_any_text(text in any::<String>()) {
        let result = catch_unwind(AssertUnwindSafe(|| parse_experiment(&text, Clarity::Strict)));
        prop_assert!(result.is_ok(), "the parser panicked on {text:?}");
    }

    #[test]
    fn the_experiment_parser_takes_mutated_files(
        seed in 0_u64..100_000,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 0..4),
    ) {
        let bytes = mutated(seed, &edits);
        let text = String::from_utf8_lossy(&bytes);
        parse_experiment(&text, Clarity::NonEmpty);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1_000, rng_seed: proptest::test_runner::RngSeed::Fixed(1), .. ProptestConfig::default() })]

    /// The strict form of the test above: no message names a Rust type.
    #[test]
    fn mutated_files_get_messages_without_rust_types(
        seed in 0_u64..100_000,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 0..4),
    ) {
        let bytes = mutated(seed, &edits);
        let text = String::from_utf8_lossy(&bytes);
        parse_experiment(&text, Clarity::Strict);
    }

    #[test]
    fn the_properties_parser_takes_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        parse_properties_file(&bytes);
    }

    #[test]
    fn the_properties_parser_takes_near_valid_files(
        lines in proptest::collection::vec(proptest::sample::select(PROPERTY_LINES), 0..12),
        noise in proptest::collection::vec(any::<u8>(), 0..8),
    ) {
        let mut bytes = lines.join("\n").into_bytes();
        bytes.extend(noise);
        parse_properties_file(&bytes);
    }
}
