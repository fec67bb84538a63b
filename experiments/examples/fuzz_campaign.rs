//! The long fuzz campaign: many generated experiment files, each run as `linger run FILE`
//! would, in a child process of its own that is killed at a wall-clock timeout; a summary
//! table, and the seed, message and file of every failure.
//!
//! ```text
//!   cargo run --release -p experiments --example fuzz_campaign -- \
//!       --cases 100000 --seed 1 --jobs 2 --out fuzz-out [--timeout-s 20]
//! ```
//!
//! Cases run in parallel across rayon threads (`--jobs`), each run single-threaded in its child.
//! A child process per case means a hang or a runaway allocation is killed, not leaked.
//! Failures go to `OUT/failures.tsv` (seed, category, first line of the reason) and
//! `OUT/<category>/fuzz-<seed>.toml`; `--cases 1 --seed N` replays one case.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use clap::Parser;
use rayon::prelude::*;

use experiments::fuzz::{self, Outcome};

/// Arguments of the campaign.
#[derive(Debug, Parser)]
struct Args {
    /// How many cases.
    #[arg(long, default_value_t = 1_000)]
    cases: u64,
    /// The first seed; case i uses seed + i.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Cases run at once.
    #[arg(long, default_value_t = 2)]
    jobs: usize,
    /// Where failures are written.
    #[arg(long, default_value = "fuzz-out")]
    out: PathBuf,
    /// Wall-clock seconds a case may take before it counts as a hang.
    #[arg(long, default_value_t = 20)]
    timeout_s: u64,
    /// Also write every case's outcome and message to OUT/cases.tsv (for tuning the generator).
    #[arg(long)]
    all: bool,
    /// Internal: run this one seed in this process and print its verdict.
    #[arg(long, hide = true)]
    one: Option<u64>,
}

/// What the parent learns about one case.
struct Finding {
    seed: u64,
    category: String,
    reason: Option<String>,
    message: String,
}

fn main() {
    let args = Args::parse();
    if let Some(seed) = args.one {
        child(seed);
        return;
    }
    campaign(&args);
}

/// The child: runs one case and prints `category`, then the failure reason or `-`, then the
/// outcome's message.
fn child(seed: u64) {
    fuzz::record_panics_quietly("");
    let (_, verdict) = fuzz::run_seed_case(seed);
    let category = category_of(&verdict.outcome);
    let reason = verdict
        .failure
        .map_or_else(|| "-".to_owned(), |why| why.replace('\n', " | "));
    let message = message_of(&verdict.outcome).replace('\n', " | ");
    println!("{category}\n{reason}\n{message}");
}

fn message_of(outcome: &Outcome) -> &str {
    match outcome {
        Outcome::Ok => "",
        Outcome::BadInput(m)
        | Outcome::BoundReached(m)
        | Outcome::NotStarted(m)
        | Outcome::Panic(m)
        | Outcome::Invariant(m)
        | Outcome::Other(m) => m,
    }
}

fn category_of(outcome: &Outcome) -> &'static str {
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

#[allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    reason = "the harness times the campaign for its summary; no run reads the clock"
)]
fn campaign(args: &Args) {
    let exe = std::env::current_exe().expect("the campaign knows its own path");
    let timeout = Duration::from_secs(args.timeout_s);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.jobs.max(1))
        .build()
        .expect("a thread pool");
    let started = std::time::Instant::now();
    let findings: Vec<Finding> = pool.install(|| {
        (args.seed..args.seed + args.cases)
            .into_par_iter()
            .map(|seed| run_child(&exe, seed, timeout))
            .collect()
    });
    let seconds = started.elapsed().as_secs_f64();
    report(args, &findings, seconds);
}

/// Runs one case in a child process; kills it (by its id) when it outlives `timeout`.
fn run_child(exe: &Path, seed: u64, timeout: Duration) -> Finding {
    let mut child = Command::new(exe)
        .args(["--one", &seed.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the campaign can start a child");
    let pid = child.id();
    let mut stdout = child.stdout.take().expect("piped");
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        let status = child.wait();
        let _ = send.send((text, status));
    });
    let Ok((text, status)) = receive.recv_timeout(timeout) else {
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        return Finding {
            seed,
            category: "hang".into(),
            reason: Some(format!("no outcome within {} s", timeout.as_secs())),
            message: String::new(),
        };
    };
    let mut lines = text.lines();
    match (lines.next(), lines.next()) {
        (Some(category), Some(reason)) => Finding {
            seed,
            category: category.to_owned(),
            reason: (reason != "-").then(|| reason.to_owned()),
            message: lines.next().unwrap_or("").to_owned(),
        },
        _ => Finding {
            seed,
            category: "crash".into(),
            reason: Some(format!("the child died without a verdict: {status:?}")),
            message: String::new(),
        },
    }
}

/// A failure reason with its numbers blanked, so that equal bugs group together.
fn signature(reason: &str) -> String {
    let mut out = String::new();
    let mut in_number = false;
    for c in reason.chars().take(160) {
        if c.is_ascii_digit() {
            if !in_number {
                out.push('N');
            }
            in_number = true;
        } else {
            in_number = false;
            out.push(c);
        }
    }
    out
}

fn report(args: &Args, findings: &[Finding], seconds: f64) {
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    let mut failed: BTreeMap<&str, u64> = BTreeMap::new();
    let mut groups: BTreeMap<(String, String), Vec<u64>> = BTreeMap::new();
    for finding in findings {
        *counts.entry(&finding.category).or_default() += 1;
        if let Some(reason) = &finding.reason {
            *failed.entry(&finding.category).or_default() += 1;
            groups
                .entry((finding.category.clone(), signature(reason)))
                .or_default()
                .push(finding.seed);
        }
    }
    write_failures(&args.out, findings);
    if args.all {
        let mut table = String::from("seed\tcategory\tmessage\n");
        for finding in findings {
            table.push_str(&format!(
                "{}\t{}\t{}\n",
                finding.seed, finding.category, finding.message
            ));
        }
        std::fs::write(args.out.join("cases.tsv"), table).expect("cases.tsv is written");
    }
    let count = |name: &str| counts.get(name).copied().unwrap_or(0);
    let fail = |name: &str| failed.get(name).copied().unwrap_or(0);
    println!("cases            {}", findings.len());
    println!("ok               {}", count("ok"));
    println!(
        "bad-input        {} ({} with an unclear message)",
        count("bad-input"),
        fail("bad-input")
    );
    println!(
        "bound-reached    {} ({} not set by the file)",
        count("bound-reached"),
        fail("bound-reached")
    );
    println!("panics           {}", count("panic"));
    println!("hangs            {}", count("hang"));
    println!("invariant        {}", count("invariant"));
    println!("not-started      {}", count("not-started"));
    println!("other            {}", count("other") + count("crash"));
    println!(
        "wall time        {seconds:.1} s ({:.1} cases/s)",
        findings.len() as f64 / seconds.max(1e-9)
    );
    let mut ranked: Vec<_> = groups.into_iter().collect();
    ranked.sort_by_key(|(_, seeds)| std::cmp::Reverse(seeds.len()));
    if !ranked.is_empty() {
        println!("\nfailures by kind (count, example seeds, reason):");
    }
    for ((category, signature), seeds) in ranked {
        let examples: Vec<String> = seeds.iter().take(5).map(u64::to_string).collect();
        println!(
            "{:>6}  {category:<13} seeds {:<30} {signature}",
            seeds.len(),
            examples.join(",")
        );
    }
    println!("\nfailing files and reasons: {}", args.out.display());
}

fn write_failures(out: &Path, findings: &[Finding]) {
    let mut table = String::from("seed\tcategory\treason\n");
    for finding in findings {
        let Some(reason) = &finding.reason else {
            continue;
        };
        let dir = out.join(&finding.category);
        std::fs::create_dir_all(&dir).expect("the output directory can be created");
        let text = fuzz::experiment_file(finding.seed).text;
        std::fs::write(dir.join(fuzz::file_name(finding.seed)), text).expect("a file is written");
        table.push_str(&format!(
            "{}\t{}\t{reason}\n",
            finding.seed, finding.category
        ));
    }
    std::fs::create_dir_all(out).expect("the output directory can be created");
    std::fs::write(out.join("failures.tsv"), table).expect("failures.tsv is written");
}
