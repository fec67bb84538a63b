//! `linger crosscheck accumulator`: linger's batching core against the real Kafka Java client;
//! `linger crosscheck sender`: linger's producer client (sender, connections, idempotence)
//! against the real Kafka `Sender`;
//! `linger crosscheck cluster`: linger's experiments against a real Kafka cluster on loopback.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use experiments::crosscheck::{self, Options, Report};

use super::emit;

/// Arguments of `linger crosscheck`.
#[derive(Debug, clap::Args)]
pub struct CrosscheckArgs {
    /// What to check.
    #[command(subcommand)]
    pub what: CrosscheckWhat,
}

/// The differentials.
#[derive(Debug, clap::Subcommand)]
pub enum CrosscheckWhat {
    /// Compare the record accumulator decision by decision with Kafka's `RecordAccumulator`
    /// (needs java and mvn; exit code 3 when they are missing, 1 on a difference).
    Accumulator(AccumulatorArgs),
    /// Compare the sender (requests, retries, timeouts, in-flight limits, sequences, epoch
    /// bumps, each record's outcome) decision by decision with Kafka's `Sender` over its test
    /// client (needs java and mvn; exit code 3 when they are missing, 1 on a difference).
    Sender(SenderArgs),
    /// Run experiments in linger and on a real 127.0.0.1 Kafka cluster (KRaft, one JVM per
    /// broker, fault proxies, the real producer) and compare lost, duplicated and reordered
    /// records, counts and timings (needs java and mvn; exit code 3 when they are missing, 1 on
    /// a disagreement).
    Cluster(ClusterArgs),
}

/// Arguments of `linger crosscheck cluster`.
#[derive(Debug, clap::Args)]
pub struct ClusterArgs {
    /// Experiments to run: names of files in crosscheck/experiments/ (without .toml) or paths
    /// to experiment files; none: every file there.
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
    /// Real runs per experiment (their min..max shows the real side's spread).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=20))]
    pub runs: u64,
    /// The Maven project of the Java side (default: crosscheck/ in the source tree).
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// Where each run's spec and output are kept (default: results/cluster/ in the project).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Compare only these metrics (comma-separated; default: every compared metric).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub metrics: Vec<String>,
    /// Also replace the cluster section of this validation page (the rest is kept).
    #[arg(long, value_name = "FILE")]
    pub write_doc: Option<PathBuf>,
}

/// Arguments of `linger crosscheck accumulator`.
#[derive(Debug, clap::Args)]
pub struct AccumulatorArgs {
    /// Number of random scripts.
    #[arg(long, default_value_t = 1000)]
    pub scripts: u64,
    /// The master seed of the scripts.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Operations per script.
    #[arg(long, default_value_t = 200)]
    pub ops: usize,
    /// Replay one saved script instead of generating scripts.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["scripts", "seed", "ops"])]
    pub replay: Option<PathBuf>,
    /// The Maven project of the Java driver (default: crosscheck/ in the source tree).
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// Where scripts with a difference are saved (default: results/ in the project).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Also write the validation page (versions, figures, differences) to this Markdown file.
    #[arg(long, value_name = "FILE")]
    pub write_doc: Option<PathBuf>,
}

/// Arguments of `linger crosscheck sender`.
#[derive(Debug, clap::Args)]
pub struct SenderArgs {
    /// Number of random scripts.
    #[arg(long, default_value_t = 1000)]
    pub scripts: u64,
    /// The master seed of the scripts.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Operations per script (a last one moves time past every deadline).
    #[arg(long, default_value_t = 100)]
    pub ops: usize,
    /// Scripts without faults: every response a success, no connection reset, no leader
    /// move (requests and batches still time out).
    #[arg(long)]
    pub without_faults: bool,
    /// Replay one saved script instead of generating scripts.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["scripts", "seed", "ops", "without_faults"])]
    pub replay: Option<PathBuf>,
    /// The Maven project of the Java driver (default: crosscheck/ in the source tree).
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// Where scripts with a difference are saved (default: results/ in the project).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Also write the sender validation page (versions, figures, differences) to this file.
    #[arg(long, value_name = "FILE", conflicts_with = "replay")]
    pub write_doc: Option<PathBuf>,
}

/// Exit code: the differential found a difference.
const EXIT_DIFFERENCE: u8 = 1;

/// Runs `linger crosscheck`.
pub fn crosscheck(args: &CrosscheckArgs) -> Result<ExitCode> {
    let args = match &args.what {
        CrosscheckWhat::Accumulator(args) => args,
        CrosscheckWhat::Cluster(args) => return cluster(args),
        CrosscheckWhat::Sender(args) => return sender(args),
    };
    let project = args
        .project
        .clone()
        .unwrap_or_else(crosscheck::java::default_project_dir);
    let results_dir = args.out.clone().unwrap_or_else(|| project.join("results"));
    #[allow(clippy::disallowed_methods, clippy::disallowed_types)] // the rate is wall time
    let start = std::time::Instant::now();
    let outcome = match &args.replay {
        Some(path) => crosscheck::replay(path, &project),
        None => {
            let options = Options {
                scripts: args.scripts,
                seed: args.seed,
                ops: args.ops,
                project: project.clone(),
                results_dir: results_dir.clone(),
            };
            let step = (args.scripts / 10).max(1);
            crosscheck::run_accumulator(&options, &mut |done| {
                if done % step == 0 && done < args.scripts {
                    eprintln!("  {done} of {} scripts compared", args.scripts);
                }
            })
        }
    };
    let report = match outcome {
        Ok(report) => report,
        Err(error) if error.is_not_available() => {
            eprintln!("not available: {error}");
            return Ok(ExitCode::from(super::EXIT_BOUND_REACHED));
        }
        Err(error) => return Err(anyhow::Error::new(error)),
    };
    let seconds = start.elapsed().as_secs_f64().max(1e-9);
    let rate = report.scripts as f64 / seconds;
    emit(&summary(&report, args.replay.is_some(), rate));
    if let Some(doc) = &args.write_doc {
        let commit = linger_commit(&project);
        let text = crosscheck::validation_doc(&report, &commit, rate);
        // The page's cluster section (`linger crosscheck cluster`) is kept.
        let old = std::fs::read_to_string(doc).unwrap_or_default();
        let text = crosscheck::cluster::keep_cluster_section(&old, &text);
        std::fs::write(doc, text)
            .map_err(|error| anyhow::anyhow!("cannot write {}: {error}", doc.display()))?;
        emit(&format!("wrote {}\n", doc.display()));
    }
    if report.differences.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::from(EXIT_DIFFERENCE))
    }
}

/// Runs `linger crosscheck sender`.
fn sender(args: &SenderArgs) -> Result<ExitCode> {
    let project = args
        .project
        .clone()
        .unwrap_or_else(crosscheck::java::default_project_dir);
    let results_dir = args.out.clone().unwrap_or_else(|| project.join("results"));
    #[allow(clippy::disallowed_methods, clippy::disallowed_types)] // the rate is wall time
    let start = std::time::Instant::now();
    let outcome = match &args.replay {
        Some(path) => crosscheck::sender::replay(path, &project),
        None => {
            let options = Options {
                scripts: args.scripts,
                seed: args.seed,
                ops: args.ops,
                project: project.clone(),
                results_dir,
            };
            let step = (args.scripts / 10).max(1);
            crosscheck::sender::run_sender(&options, !args.without_faults, &mut |done| {
                if done % step == 0 && done < args.scripts {
                    eprintln!("  {done} of {} scripts compared", args.scripts);
                }
            })
        }
    };
    let report = match outcome {
        Ok(report) => report,
        Err(error) if error.is_not_available() => {
            eprintln!("not available: {error}");
            return Ok(ExitCode::from(super::EXIT_BOUND_REACHED));
        }
        Err(error) => return Err(anyhow::Error::new(error)),
    };
    let seconds = start.elapsed().as_secs_f64().max(1e-9);
    let rate = report.scripts as f64 / seconds;
    let mut text = summary_of("sender", &report, args.replay.is_some(), rate);
    if !report.coverage.is_empty() {
        text.push_str("covered:");
        for (key, count) in &report.coverage {
            text.push_str(&format!(" {key} {count};"));
        }
        text.push('\n');
    }
    emit(&text);
    if let Some(doc) = &args.write_doc {
        let commit = linger_commit(&project);
        let page = crosscheck::sender::validation_doc(&report, !args.without_faults, &commit);
        std::fs::write(doc, page)
            .map_err(|error| anyhow::anyhow!("cannot write {}: {error}", doc.display()))?;
        emit(&format!("wrote {}\n", doc.display()));
    }
    if report.differences.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::from(EXIT_DIFFERENCE))
    }
}

fn summary(report: &Report, replay: bool, rate: f64) -> String {
    summary_of("accumulator", report, replay, rate)
}

fn summary_of(what: &str, report: &Report, replay: bool, rate: f64) -> String {
    let mut text = format!(
        "{what} differential: {} script(s), {} operations, kafka-clients {} on Java {}, seed {}\n",
        report.scripts, report.ops, report.kafka_clients, report.java, report.seed
    );
    if !replay {
        text.push_str(&format!("rate: {rate:.0} scripts/s\n"));
    }
    for difference in &report.differences {
        text.push_str(&format!(
            "DIFFERENCE in script {} (seed {}), operation {}:\n  operation: {}\n  linger:    {}\n  Kafka:     {}\n",
            difference.script,
            report.seed,
            difference.op_index,
            difference.op,
            difference.linger,
            difference.kafka
        ));
        if let Some(path) = &difference.saved {
            text.push_str(&format!(
                "  replay:    linger crosscheck {what} --replay {}\n",
                path.display()
            ));
        }
    }
    text.push_str(&format!("{} difference(s)\n", report.differences.len()));
    text
}

/// The commit of the source tree the project sits in, or "unknown" without git.
fn linger_commit(project: &std::path::Path) -> String {
    std::process::Command::new("git")
        .arg("-C")
        .arg(project)
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".to_string())
}

/// Runs `linger crosscheck cluster`.
fn cluster(args: &ClusterArgs) -> Result<ExitCode> {
    use experiments::crosscheck::cluster::{self, ClusterError, ClusterOptions};
    let project = args
        .project
        .clone()
        .unwrap_or_else(crosscheck::java::default_project_dir);
    let experiments = match cluster::experiment_files(&project, &args.names) {
        Ok(files) => files,
        Err(ClusterError::Experiment(error)) => return Err(super::lib_error(error)),
        Err(ClusterError::Java(error)) => return Err(anyhow::Error::new(error)),
    };
    let options = ClusterOptions {
        experiments,
        runs: usize::try_from(args.runs).unwrap_or(1),
        results_dir: args
            .out
            .clone()
            .unwrap_or_else(|| project.join("results").join("cluster")),
        project: project.clone(),
        metrics: args.metrics.clone(),
    };
    let report = match cluster::run_cluster(&options, &mut |step| eprintln!("  {step}")) {
        Ok(report) => report,
        Err(ClusterError::Java(error)) if error.is_not_available() => {
            eprintln!("not available: {error}");
            return Ok(ExitCode::from(super::EXIT_BOUND_REACHED));
        }
        Err(ClusterError::Java(error)) => return Err(anyhow::Error::new(error)),
        Err(ClusterError::Experiment(error)) => return Err(super::lib_error(error)),
    };
    emit(&format!(
        "cluster differential: Apache Kafka {} on Java {}, {} real run(s) per experiment\n",
        report.kafka, report.java, report.runs
    ));
    let table = cluster::table(&report);
    emit(&table);
    std::fs::create_dir_all(&options.results_dir).map_err(|error| {
        anyhow::anyhow!("cannot create {}: {error}", options.results_dir.display())
    })?;
    let table_path = options.results_dir.join("table.md");
    std::fs::write(&table_path, &table)
        .map_err(|error| anyhow::anyhow!("cannot write {}: {error}", table_path.display()))?;
    emit(&format!("wrote {}\n", table_path.display()));
    if let Some(doc) = &args.write_doc {
        let old = std::fs::read_to_string(doc).unwrap_or_default();
        let table = cluster::validation_table(&report, &linger_commit(&project));
        std::fs::write(doc, cluster::splice_table(&old, &table))
            .map_err(|error| anyhow::anyhow!("cannot write {}: {error}", doc.display()))?;
        emit(&format!("wrote {}\n", doc.display()));
    }
    let disagree = report
        .experiments
        .iter()
        .any(|e| e.skipped.is_none() && !e.agrees());
    if disagree {
        Ok(ExitCode::from(EXIT_DIFFERENCE))
    } else {
        Ok(ExitCode::SUCCESS)
    }
}
