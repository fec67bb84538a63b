//! The long guarantee campaign: random fault schedules against idempotent acks=all producers
//! (no duplicates, no reordering, no acknowledged loss) and acks=all producers without
//! idempotence (no acknowledged loss), many seeds, in parallel.
//!
//! ```text
//!   cargo run --release -p experiments --example guarantee_campaign -- \
//!       --cases 10000 --seed 1 --jobs 2 --out guarantee-out
//! ```
//!
//! Each seed runs once per flavour. A case that breaks a promise is written to
//! `OUT/<flavour>-<seed>.toml` with a line in `OUT/violations.tsv` (flavour, seed, the broken
//! classes, and the Kafka bug report it is put down to, when it is); the summary counts cases
//! held, broken, not judged (a bound reached or records unsettled) and defects. The exit code is
//! 1 when any case counts against linger.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Parser;
use rayon::prelude::*;

use experiments::guarantee::{self, CaseOutcome, Flavour};

/// Arguments of the campaign.
#[derive(Debug, Parser)]
struct Args {
    /// How many seeds (each runs in both flavours).
    #[arg(long, default_value_t = 1_000)]
    cases: u64,
    /// The first seed; case i uses seed + i.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Cases run at once.
    #[arg(long, default_value_t = 2)]
    jobs: usize,
    /// Where violating cases are written.
    #[arg(long, default_value = "guarantee-out")]
    out: PathBuf,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    rayon::ThreadPoolBuilder::new()
        .num_threads(args.jobs.max(1))
        .build_global()?;
    std::fs::create_dir_all(&args.out)?;
    experiments::fuzz::record_panics_quietly("");
    let cases: Vec<(u64, Flavour)> = (args.seed..args.seed.saturating_add(args.cases))
        .flat_map(|s| [(s, Flavour::Idempotent), (s, Flavour::AcksAll)])
        .collect();
    let outcomes: Vec<(u64, Flavour, String, CaseOutcome)> = cases
        .par_iter()
        .map(|&(seed, flavour)| {
            let (text, outcome) = guarantee::run_case(seed, flavour);
            (seed, flavour, text, outcome)
        })
        .collect();
    let (mut held, mut broken, mut known, mut not_judged, mut defects) = (0, 0, 0, 0, 0);
    let mut tsv = String::from("flavour\tseed\toutcome\tdetail\n");
    for (seed, flavour, text, outcome) in &outcomes {
        let detail = match outcome {
            CaseOutcome::Held => {
                held += 1;
                continue;
            }
            CaseOutcome::NotJudged(why) => {
                not_judged += 1;
                format!("not judged\t{why}")
            }
            CaseOutcome::Defect(why) => {
                defects += 1;
                format!("defect\t{}", why.lines().next().unwrap_or(""))
            }
            CaseOutcome::Broken(violations) => {
                if outcome.is_failure() {
                    broken += 1;
                } else {
                    known += 1;
                }
                let classes: Vec<String> = violations
                    .iter()
                    .map(|(v, k)| match k {
                        Some(k) => format!("{} {} ({})", v.class, v.records, k.report),
                        None => format!("{} {}", v.class, v.records),
                    })
                    .collect();
                format!("broken\t{}", classes.join(", "))
            }
        };
        let _ = writeln!(tsv, "{}\t{seed}\t{detail}", flavour.name());
        std::fs::write(
            args.out.join(format!("{}-{seed}.toml", flavour.name())),
            text,
        )?;
    }
    std::fs::write(args.out.join("violations.tsv"), &tsv)?;
    println!(
        "{} cases: {held} held, {broken} broken, {known} broken as real Kafka is (bug report cited), {not_judged} not judged, {defects} defects",
        outcomes.len()
    );
    if broken + defects > 0 {
        println!("see {}", args.out.join("violations.tsv").display());
        std::process::exit(1);
    }
    Ok(())
}
