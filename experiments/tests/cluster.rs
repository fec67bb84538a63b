//! Sweeps on the schedulers users run: `--shard auto` under GNU parallel (the recipe in
//! deploy/parallel), a real single-node Slurm started by the test (the array script in
//! deploy/slurm), a Kubernetes Indexed Job's environment and the Job manifest checked against
//! Kubernetes' own schema, and merges of many, incomplete or foreign shard directories.
//!
//! Every sharded run is compared byte for byte with the unsharded run of the same sweep. The
//! tests that need a tool the machine lacks (GNU parallel, Slurm and munge,
//! `kubernetes-validate`) print `skipped: ...` and pass, unless the environment variable
//! `LINGER_REQUIRE_CLUSTER_TOOLS=1` is set (CI sets it after installing them): then a missing
//! tool, or a Slurm that does not start, fails the test.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// Every variable `--shard auto` reads, removed from the children's environment so the
/// machine running the tests cannot change what they see.
const SCHEDULER_VARS: [&str; 8] = [
    "SLURM_ARRAY_TASK_ID",
    "SLURM_ARRAY_TASK_COUNT",
    "SLURM_ARRAY_TASK_MIN",
    "SLURM_ARRAY_TASK_MAX",
    "JOB_COMPLETION_INDEX",
    "PARALLEL_SEQ",
    "PARALLEL_JOBSLOT",
    "LINGER_SHARD_COUNT",
];

/// A small sweep: 6 points x 2 replicates of a short, light world.
const SMALL_SWEEP: &str = r#"
[experiment]
name = "small"

[producer]
acks = "all"

[workload]
arrivals = { kind = "constant", per_sec = 2000 }

[run]
seed = 42
replicates = 2
duration_ms = 200

[sweep.producer]
"linger.ms" = [0, 5, 20]
"batch.size" = [16384, 65536]
"#;

const RESULT_FILES: [&str; 4] = [
    "manifest.json",
    "results.csv",
    "results.jsonl",
    "summary.csv",
];

fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_linger")
}

fn deploy(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("deploy")
        .join(path)
}

/// The `linger` command with no scheduler variables, plus `vars`.
fn linger_with(args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut command = Command::new(binary());
    command.args(args);
    for var in SCHEDULER_VARS {
        command.env_remove(var);
    }
    command.envs(vars.iter().copied());
    command.output().expect("the binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("linger-cluster")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn write_sweep(dir: &Path) -> String {
    let path = dir.join("small.toml");
    std::fs::write(&path, SMALL_SWEEP).expect("writes");
    path.to_string_lossy().into_owned()
}

fn result_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    RESULT_FILES
        .iter()
        .map(|name| {
            let bytes = std::fs::read(dir.join(name))
                .unwrap_or_else(|error| panic!("{}/{name}: {error}", dir.display()));
            (name.to_string(), bytes)
        })
        .collect()
}

/// The unsharded sweep of `file` into `dir/whole`.
fn unsharded(file: &str, dir: &Path) -> PathBuf {
    let whole = dir.join("whole");
    let output = linger_with(&["sweep", file, "--out", &whole.to_string_lossy()], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    whole
}

fn manifest(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("manifest.json")).expect("manifest");
    serde_json::from_str(&text).expect("JSON")
}

fn expect_bad_input(output: &Output, needles: &[&str]) {
    let text = stderr(output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    for needle in needles {
        assert!(text.contains(needle), "missing `{needle}` in: {text}");
    }
    assert!(!text.contains("panicked"), "{text}");
}

fn tools_required() -> bool {
    std::env::var("LINGER_REQUIRE_CLUSTER_TOOLS").is_ok_and(|v| v == "1")
}

/// Says why a test does not run; fails instead where CI requires the tools.
fn skip(why: &str) {
    assert!(
        !tools_required(),
        "LINGER_REQUIRE_CLUSTER_TOOLS=1 but {why}"
    );
    eprintln!("skipped: {why}");
}

/// The path of `program` on the PATH or in the system directories, if it is installed.
fn installed(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

#[test]
fn kubernetes_indexed_job_pods_merge_into_the_unsharded_sweep() {
    let dir = scratch("kubernetes-env");
    let file = write_sweep(&dir);
    let whole = unsharded(&file, &dir);
    let mut shards = Vec::new();
    for index in 0..3 {
        let out = dir.join(format!("shard-{index}"));
        let index_text = index.to_string();
        let output = linger_with(
            &[
                "sweep",
                &file,
                "--out",
                &out.to_string_lossy(),
                "--shard",
                "auto",
                "--shard-count",
                "3",
            ],
            &[("JOB_COMPLETION_INDEX", &index_text)],
        );
        assert!(output.status.success(), "{}", stderr(&output));
        assert!(
            stderr(&output).contains(&format!(
                "shard {}/3 from a Kubernetes Indexed Job: index JOB_COMPLETION_INDEX={index} + 1, \
                 count --shard-count 3",
                index + 1
            )),
            "{}",
            stderr(&output)
        );
        let written = manifest(&out);
        assert_eq!(written["shard"]["index"], index + 1);
        assert_eq!(written["shard_source"]["scheduler"], "kubernetes");
        assert_eq!(
            written["shard_source"]["read"]["JOB_COMPLETION_INDEX"],
            index_text
        );
        shards.push(out.to_string_lossy().into_owned());
    }
    let merged = dir.join("merged");
    let mut args = vec!["merge"];
    args.extend(shards.iter().map(String::as_str));
    let merged_text = merged.to_string_lossy().into_owned();
    args.extend(["--out", &merged_text]);
    let output = linger_with(&args, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(result_files(&whole), result_files(&merged));
}

#[test]
fn shard_auto_refuses_missing_or_inconsistent_variables_by_name() {
    let dir = scratch("auto-bad");
    let file = write_sweep(&dir);
    let out = dir.join("out");
    let out_text = out.to_string_lossy().into_owned();
    let auto = ["sweep", &file, "--out", &out_text, "--shard", "auto"];
    expect_bad_input(
        &linger_with(&auto, &[]),
        &[
            "SLURM_ARRAY_TASK_ID",
            "JOB_COMPLETION_INDEX",
            "PARALLEL_SEQ",
            "--shard K/N",
        ],
    );
    expect_bad_input(
        &linger_with(
            &auto,
            &[
                ("SLURM_ARRAY_TASK_ID", "4"),
                ("SLURM_ARRAY_TASK_MIN", "1"),
                ("SLURM_ARRAY_TASK_MAX", "3"),
                ("SLURM_ARRAY_TASK_COUNT", "3"),
            ],
        ),
        &["SLURM_ARRAY_TASK_ID=4", "between 1 and 3"],
    );
    expect_bad_input(
        &linger_with(&auto, &[("JOB_COMPLETION_INDEX", "0")]),
        &[
            "JOB_COMPLETION_INDEX=0",
            "--shard-count",
            "LINGER_SHARD_COUNT",
        ],
    );
    expect_bad_input(
        &linger_with(
            &auto,
            &[("PARALLEL_SEQ", "2"), ("LINGER_SHARD_COUNT", "three")],
        ),
        &["LINGER_SHARD_COUNT=`three`", "whole number"],
    );
    expect_bad_input(
        &linger_with(
            &auto,
            &[("PARALLEL_SEQ", "2"), ("JOB_COMPLETION_INDEX", "1")],
        ),
        &["JOB_COMPLETION_INDEX=1", "PARALLEL_SEQ=2", "ambiguous"],
    );
    expect_bad_input(
        &linger_with(
            &[
                "sweep",
                &file,
                "--out",
                &out_text,
                "--shard",
                "1/3",
                "--shard-count",
                "3",
            ],
            &[],
        ),
        &["--shard-count goes with --shard auto"],
    );
    expect_bad_input(
        &linger_with(
            &["sweep", &file, "--out", &out_text, "--shard", "automatic"],
            &[],
        ),
        &["`automatic` is not a shard", "or `auto`"],
    );
    assert!(!out.exists(), "a refused sweep writes nothing");
}

#[test]
fn a_shard_begun_by_a_scheduler_resumes_by_hand_and_merge_names_what_is_missing() {
    let dir = scratch("merge-missing");
    let file = write_sweep(&dir);
    let whole = unsharded(&file, &dir);
    let results = dir.join("results");
    let shard_dir = |k: u32| results.join(format!("shard-{k}"));
    // Shard 1 finishes; shard 2 is stopped after one of its two points; shard 3 never runs.
    for (k, extra) in [(1, None), (2, Some("1"))] {
        let seq = k.to_string();
        let out = shard_dir(k).to_string_lossy().into_owned();
        let mut args = vec!["sweep", &file, "--out", &out, "--shard", "auto"];
        if let Some(limit) = extra {
            args.extend(["--max-points-this-run", limit]);
        }
        let output = linger_with(
            &args,
            &[("PARALLEL_SEQ", &seq), ("LINGER_SHARD_COUNT", "3")],
        );
        assert!(output.status.success(), "{}", stderr(&output));
    }
    let pattern = results.join("shard-*").to_string_lossy().into_owned();
    let merged = dir.join("merged");
    let merged_text = merged.to_string_lossy().into_owned();
    let refused = linger_with(&["merge", &pattern, "--out", &merged_text], &[]);
    let shard2 = shard_dir(2).display().to_string();
    expect_bad_input(
        &refused,
        &[
            "the inputs hold 3 of 6 points; 3 missing",
            &format!("shard 2/3 in {shard2} (1 of its 2 points finished): point 4"),
            "shard 3/3 not among the inputs: points 2, 5",
            "--partial",
        ],
    );
    assert!(!merged.exists(), "a refused merge writes nothing");
    expect_bad_input(
        &linger_with(
            &[
                "merge",
                &format!("{}/nothing-*", dir.display()),
                "--out",
                &merged_text,
            ],
            &[],
        ),
        &["nothing-*` matches no directory"],
    );
    let absent = dir.join("shard-9").to_string_lossy().into_owned();
    expect_bad_input(
        &linger_with(&["merge", &pattern, &absent, "--out", &merged_text], &[]),
        &[&format!("{absent}: no such directory")],
    );
    // A second shard pointed at the first one's directory is refused, naming both shards.
    let first = shard_dir(1).to_string_lossy().into_owned();
    expect_bad_input(
        &linger_with(
            &["sweep", &file, "--out", &first, "--shard", "auto"],
            &[("PARALLEL_SEQ", "2"), ("LINGER_SHARD_COUNT", "3")],
        ),
        &[&first, "it holds shard 1/3 of this experiment, not 2/3"],
    );

    // A partial merge writes what is complete, and every report says it is partial.
    let output = linger_with(
        &["merge", &pattern, "--out", &merged_text, "--partial"],
        &[],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("3 of 6 points"),
        "{}",
        stderr(&output)
    );
    let marker = &manifest(&merged)["partial"];
    assert_eq!(marker["points_present"], 3);
    assert_eq!(marker["points_missing"], 3);
    assert_eq!(marker["missing_shards"], serde_json::json!(["2/3", "3/3"]));
    let csv = std::fs::read_to_string(merged.join("results.csv")).expect("results");
    assert_eq!(csv.lines().count(), 1 + 3 * 2, "3 points x 2 replicates");
    let report = linger_with(&["report", &merged_text], &[]);
    assert!(report.status.success(), "{}", stderr(&report));
    let banner = "Partial results: 3 of 6 points; missing shards 2/3, 3/3";
    for name in ["report.md", "report.html"] {
        let text = std::fs::read_to_string(merged.join(name)).expect("report");
        assert!(text.contains(banner), "{name}: {text}");
    }
    let plot_stem = merged.join("throughput-plot");
    let plot = linger_with(
        &[
            "plot",
            &merged_text,
            "--x",
            "linger.ms",
            "--y",
            "throughput",
            "--out",
            &plot_stem.to_string_lossy(),
        ],
        &[],
    );
    assert!(plot.status.success(), "{}", stderr(&plot));
    let svg = std::fs::read_to_string(plot_stem.with_extension("svg")).expect("svg");
    assert!(
        svg.contains("[partial: 3 of 6 points"),
        "the plot's title says partial"
    );

    // Shard 2 resumed by hand (`--shard 2/3`) keeps the directory the scheduler began.
    let out = shard_dir(2).to_string_lossy().into_owned();
    let resumed = linger_with(&["sweep", &file, "--out", &out, "--shard", "2/3"], &[]);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    assert!(
        stderr(&resumed).contains("1 finished now, 1 before"),
        "{}",
        stderr(&resumed)
    );
    assert!(manifest(&shard_dir(2)).get("shard_source").is_none());
    // The partial directory alone still lacks shard 3/3, and says so.
    let complete = dir.join("complete");
    let complete_text = complete.to_string_lossy().into_owned();
    let shard2_text = shard_dir(2).to_string_lossy().into_owned();
    expect_bad_input(
        &linger_with(
            &["merge", &merged_text, &shard2_text, "--out", &complete_text],
            &[],
        ),
        &[
            "4 of 6 points",
            "shard 3/3 not among the inputs: points 2, 5",
        ],
    );
    // The partial directory and the late shards merge into the whole sweep, byte for byte.
    let out = shard_dir(3).to_string_lossy().into_owned();
    let late = linger_with(
        &["sweep", &file, "--out", &out, "--shard", "auto"],
        &[("PARALLEL_SEQ", "3"), ("LINGER_SHARD_COUNT", "3")],
    );
    assert!(late.status.success(), "{}", stderr(&late));
    let output = linger_with(
        &[
            "merge",
            &merged_text,
            &shard2_text,
            &shard_dir(3).to_string_lossy(),
            "--out",
            &complete_text,
        ],
        &[],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(result_files(&whole), result_files(&complete));
    // Merging all the shards again into the partial directory replaces its marker.
    let output = linger_with(&["merge", &pattern, "--out", &merged_text], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(result_files(&whole), result_files(&merged));
}

#[test]
fn gnu_parallel_three_jobs_match_the_unsharded_sweep() {
    let Some(parallel) = installed("parallel") else {
        skip("GNU parallel is not installed (Debian package `parallel`)");
        return;
    };
    let version = Command::new(&parallel).arg("--version").output();
    if !version.is_ok_and(|v| String::from_utf8_lossy(&v.stdout).contains("GNU parallel")) {
        skip("`parallel` on the PATH is not GNU parallel (moreutils ships another one)");
        return;
    }
    let dir = scratch("parallel");
    let file = write_sweep(&dir);
    let whole = unsharded(&file, &dir);
    let results = dir.join("results");
    let mut command = Command::new("bash");
    command
        .arg(deploy("parallel/sweep.sh"))
        .args([
            file.as_str(),
            &results.to_string_lossy(),
            "3",
            "--will-cite",
            "-j",
            "3",
        ])
        .env("LINGER", binary());
    for var in SCHEDULER_VARS {
        command.env_remove(var);
    }
    let output = command.output().expect("bash runs");
    assert!(output.status.success(), "{}", stderr(&output));
    for k in 1..=3 {
        let written = manifest(&results.join(format!("shard-{k}")));
        assert_eq!(written["shard"]["index"], k);
        assert_eq!(written["shard_source"]["scheduler"], "gnu-parallel");
        assert_eq!(
            written["shard_source"]["index"],
            format!("PARALLEL_SEQ={k}")
        );
    }
    assert_eq!(result_files(&whole), result_files(&results.join("merged")));
}

#[test]
fn the_kubernetes_manifest_is_a_valid_indexed_job() {
    let job = deploy("kubernetes/sweep-indexed-job.yaml");
    let text = std::fs::read_to_string(&job).expect("the manifest is shipped");
    // The shard count given to linger is the Job's number of completions.
    let value_after = |key: &str| {
        text.lines()
            .map(str::trim)
            .skip_while(|line| *line != key)
            .nth(1)
            .map(|line| line.trim_start_matches("- ").trim_matches('"').to_string())
    };
    let completions = text
        .lines()
        .find_map(|line| line.trim().strip_prefix("completions: "))
        .expect("spec.completions");
    assert_eq!(value_after("- --shard-count").as_deref(), Some(completions));
    assert_eq!(value_after("- --shard").as_deref(), Some("auto"));
    assert!(text.contains("completionMode: Indexed"));

    let Some(validator) = installed("kubernetes-validate") else {
        skip("kubernetes-validate is not installed (pip install kubernetes-validate)");
        return;
    };
    // The oldest Kubernetes with backoffLimitPerIndex, and the validator's newest.
    for version in [Some("1.29.0"), None] {
        let mut command = Command::new(&validator);
        command.arg("--strict");
        if let Some(version) = version {
            command.args(["-k", version]);
        }
        let output = command.arg(&job).output().expect("the validator runs");
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            stderr(&output)
        );
        assert!(output.status.success(), "{said}");
        assert!(
            said.contains("passed for resource job/linger-sweep"),
            "{said}"
        );
    }
    // The check is real: a misspelt field of the Job spec fails it.
    let dir = scratch("kubernetes-schema");
    let broken = dir.join("broken.yaml");
    std::fs::write(&broken, text.replace("completionMode:", "completionMod:")).expect("writes");
    let output = Command::new(&validator)
        .arg("--strict")
        .arg(&broken)
        .output()
        .expect("the validator runs");
    assert!(
        !output.status.success(),
        "a misspelt field must fail the schema"
    );
}

/// The daemons of a single-node Slurm, stopped when dropped (also when the test fails):
/// the array's job is cancelled first, then each daemon is killed and reaped.
struct SlurmNode {
    dir: PathBuf,
    daemons: Vec<(&'static str, Child)>,
    job: Option<String>,
}

impl SlurmNode {
    fn conf(&self) -> PathBuf {
        self.dir.join("slurm.conf")
    }

    fn client(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command.env("SLURM_CONF", self.conf());
        for var in SCHEDULER_VARS {
            command.env_remove(var);
        }
        command
    }

    fn start(&mut self, name: &'static str, program: &Path, args: &[&str]) -> std::io::Result<()> {
        let log = std::fs::File::create(self.dir.join(format!("{name}.out")))?;
        let child = Command::new(program)
            .args(args)
            .env("SLURM_CONF", self.conf())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        self.daemons.push((name, child));
        Ok(())
    }

    /// The daemons' own output, for a message about why Slurm did not work.
    fn logs(&self) -> String {
        let mut text = String::new();
        for name in [
            "munged.out",
            "slurmctld.out",
            "slurmd.out",
            "slurmctld.log",
            "slurmd.log",
        ] {
            if let Ok(log) = std::fs::read_to_string(self.dir.join(name)) {
                let tail: Vec<&str> = log.lines().rev().take(15).collect();
                text.push_str(&format!("--- {name} (last lines)\n"));
                for line in tail.into_iter().rev() {
                    text.push_str(line);
                    text.push('\n');
                }
            }
        }
        text
    }
}

impl Drop for SlurmNode {
    fn drop(&mut self) {
        if let Some(job) = &self.job {
            let _ = self
                .client("scancel")
                .arg(job)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        while let Some((_, mut child)) = self.daemons.pop() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port on 127.0.0.1")
}

/// Waits up to `limit` for `done`, polling every 200 ms.
#[allow(clippy::disallowed_methods, clippy::disallowed_types)] // the determinism rule is for simulations; this polls daemons
fn wait_for(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    done()
}

/// slurm.conf for one node called localhost on 127.0.0.1, every file in `dir`, no cgroups,
/// no accounting, no systemd: what a container can run. The daemons run as `user`.
fn slurm_conf(dir: &Path, cpus: usize, user: &str) -> String {
    let d = dir.display();
    let (ctld_port, slurmd_port) = (free_port(), free_port());
    format!(
        "ClusterName=lingertest\nSlurmctldHost=localhost\nSlurmUser={user}\nSlurmdUser={user}\n\
         SlurmctldPort={ctld_port}\nSlurmdPort={slurmd_port}\n\
         AuthType=auth/munge\nAuthInfo=socket={d}/munge.sock\nCredType=cred/munge\n\
         StateSaveLocation={d}/state\nSlurmdSpoolDir={d}/spool\n\
         SlurmctldPidFile={d}/slurmctld.pid\nSlurmdPidFile={d}/slurmd.pid\n\
         SlurmctldLogFile={d}/slurmctld.log\nSlurmdLogFile={d}/slurmd.log\n\
         ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\n\
         JobAcctGatherType=jobacct_gather/none\nAccountingStorageType=accounting_storage/none\n\
         JobCompType=jobcomp/none\nSchedulerType=sched/builtin\nSelectType=select/cons_tres\n\
         SelectTypeParameters=CR_Core\nReturnToService=2\nMpiDefault=none\nSwitchType=switch/none\n\
         NodeName=localhost NodeAddr=127.0.0.1 CPUs={cpus} RealMemory=100 State=UNKNOWN\n\
         PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP\n"
    )
}

/// Starts munged, slurmctld and slurmd for localhost in `dir`; `Err` says why it could not.
fn start_slurm(dir: &Path) -> Result<SlurmNode, String> {
    let find = |program: &str| {
        installed(program).ok_or_else(|| {
            format!("{program} is not installed (Debian packages slurm-wlm and munge)")
        })
    };
    let (munged, slurmctld, slurmd) = (find("munged")?, find("slurmctld")?, find("slurmd")?);
    for client in ["sbatch", "squeue", "sinfo", "scancel"] {
        find(client)?;
    }
    let io = |error: std::io::Error| format!("cannot prepare {}: {error}", dir.display());
    for sub in ["state", "spool"] {
        std::fs::create_dir_all(dir.join(sub)).map_err(io)?;
    }
    // munged checks that no one else can write its directories and read its key.
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io)?;
    let mut key = vec![0u8; 1024];
    std::io::Read::read_exact(
        &mut std::fs::File::open("/dev/urandom").map_err(io)?,
        &mut key,
    )
    .map_err(io)?;
    let key_path = dir.join("munge.key");
    std::fs::write(&key_path, key).map_err(io)?;
    std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o400)).map_err(io)?;
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    // The daemons run as whoever runs the test (root in CI; another user may see Slurm refuse).
    let user = Command::new("id")
        .arg("-un")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .map_err(io)?;
    std::fs::write(dir.join("slurm.conf"), slurm_conf(dir, cpus, &user)).map_err(io)?;
    let mut node = SlurmNode {
        dir: dir.to_path_buf(),
        daemons: Vec::new(),
        job: None,
    };
    let path = |name: &str| dir.join(name).to_string_lossy().into_owned();
    let (socket, conf) = (path("munge.sock"), path("slurm.conf"));
    let start_error = |name: &str, error: std::io::Error| format!("cannot start {name}: {error}");
    node.start(
        "munged",
        &munged,
        &[
            "--foreground",
            "--force",
            &format!("--key-file={}", path("munge.key")),
            &format!("--socket={socket}"),
            &format!("--pid-file={}", path("munged.pid")),
            &format!("--log-file={}", path("munged.log")),
            &format!("--seed-file={}", path("munged.seed")),
        ],
    )
    .map_err(|e| start_error("munged", e))?;
    if !wait_for(Duration::from_secs(10), || Path::new(&socket).exists()) {
        return Err(format!("munged did not open its socket\n{}", node.logs()));
    }
    node.start("slurmctld", &slurmctld, &["-D", "-f", &conf])
        .map_err(|e| start_error("slurmctld", e))?;
    node.start("slurmd", &slurmd, &["-D", "-N", "localhost", "-f", &conf])
        .map_err(|e| start_error("slurmd", e))?;
    let idle = wait_for(Duration::from_secs(30), || {
        node.client("sinfo")
            .args(["-h", "-n", "localhost", "-o", "%T"])
            .output()
            .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "idle")
    });
    if !idle {
        return Err(format!(
            "the Slurm node did not become idle\n{}",
            node.logs()
        ));
    }
    Ok(node)
}

#[test]
fn a_slurm_job_array_on_a_real_single_node_matches_the_unsharded_sweep() {
    let dir = scratch("slurm");
    let mut node = match start_slurm(&dir.join("node")) {
        Ok(node) => node,
        Err(why) => {
            skip(&format!("Slurm cannot start here: {why}"));
            return;
        }
    };
    let file = write_sweep(&dir);
    let whole = unsharded(&file, &dir);
    let results = dir.join("results");
    let submitted = node
        .client("sbatch")
        .args([
            "--parsable",
            "--array=1-3",
            "--cpus-per-task=1",
            &format!("--output={}/job-%A_%a.log", dir.display()),
        ])
        .arg(deploy("slurm/sweep-array.sbatch"))
        .args([&file, &results.to_string_lossy().into_owned()])
        .env("LINGER", binary())
        .output()
        .expect("sbatch runs");
    assert!(
        submitted.status.success(),
        "sbatch: {}\n{}",
        stderr(&submitted),
        node.logs()
    );
    let job = String::from_utf8_lossy(&submitted.stdout)
        .trim()
        .split(';')
        .next()
        .unwrap_or_default()
        .to_string();
    node.job = Some(job.clone());
    let finished = wait_for(Duration::from_secs(180), || {
        node.client("squeue")
            .args(["-h", "-j", &job, "-o", "%i"])
            .output()
            .is_ok_and(|out| out.status.success() && out.stdout.is_empty())
    });
    let job_logs = || {
        (1..=3)
            .map(|k| {
                let path = dir.join(format!("job-{job}_{k}.log"));
                format!(
                    "--- {}\n{}",
                    path.display(),
                    std::fs::read_to_string(&path).unwrap_or_default()
                )
            })
            .collect::<String>()
    };
    assert!(
        finished,
        "the array did not finish in time\n{}{}",
        job_logs(),
        node.logs()
    );
    for k in 1..=3 {
        let shard = results.join(format!("shard-{k}"));
        assert!(
            shard.join("results.csv").exists(),
            "task {k} wrote no results\n{}{}",
            job_logs(),
            node.logs()
        );
        let written = manifest(&shard);
        assert_eq!(written["shard"]["index"], k);
        assert_eq!(written["shard"]["count"], 3);
        assert_eq!(written["shard_source"]["scheduler"], "slurm");
        assert_eq!(
            written["shard_source"]["index"],
            format!("SLURM_ARRAY_TASK_ID={k}")
        );
    }
    let merged = dir.join("merged");
    let pattern = results.join("shard-*").to_string_lossy().into_owned();
    let output = linger_with(
        &["merge", &pattern, "--out", &merged.to_string_lossy()],
        &[],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(result_files(&whole), result_files(&merged));

    // Array index 2 killed after its first point: its journal keeps one line. Submitting index 2
    // again, with the shard count (the re-run is an array of one), resumes that shard.
    let journal = results.join("shard-2").join("journal.jsonl");
    let text = std::fs::read_to_string(&journal).expect("journal");
    let first_line = text.lines().next().expect("a finished point");
    std::fs::write(&journal, format!("{first_line}\n")).expect("writes");
    let rerun_log = dir.join("rerun.log");
    let resubmitted = node
        .client("sbatch")
        .args([
            "--parsable",
            "--array=2",
            "--export=ALL,LINGER_SHARD_COUNT=3",
            "--cpus-per-task=1",
            &format!("--output={}", rerun_log.display()),
        ])
        .arg(deploy("slurm/sweep-array.sbatch"))
        .args([&file, &results.to_string_lossy().into_owned()])
        .env("LINGER", binary())
        .output()
        .expect("sbatch runs");
    assert!(
        resubmitted.status.success(),
        "sbatch: {}",
        stderr(&resubmitted)
    );
    let rerun = String::from_utf8_lossy(&resubmitted.stdout)
        .trim()
        .to_string();
    node.job = Some(rerun.clone());
    let finished = wait_for(Duration::from_secs(120), || {
        node.client("squeue")
            .args(["-h", "-j", &rerun, "-o", "%i"])
            .output()
            .is_ok_and(|out| out.status.success() && out.stdout.is_empty())
    });
    let log = std::fs::read_to_string(&rerun_log).unwrap_or_default();
    assert!(
        finished,
        "the re-run did not finish in time\n{log}{}",
        node.logs()
    );
    let chosen = "shard 2/3 from a Slurm job array: index SLURM_ARRAY_TASK_ID=2, \
                  count LINGER_SHARD_COUNT=3";
    assert!(log.contains(chosen), "{log}");
    assert!(log.contains("1 finished now, 1 before"), "{log}");
    let again = dir.join("merged-again");
    let output = linger_with(&["merge", &pattern, "--out", &again.to_string_lossy()], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(result_files(&whole), result_files(&again));
    drop(node);
}
