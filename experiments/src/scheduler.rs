//! `--shard auto`: which shard this process is, read from the environment the scheduler that
//! started it sets.
//!
//! | scheduler | shard index (1-based `K` of `--shard K/N`) | shard count `N` |
//! |-----------|---------------------------------------------|-----------------|
//! | Slurm job array | `SLURM_ARRAY_TASK_ID`, as is for an array from 1 (`--array=1-N`), plus one for an array from 0 (`--array=0-(N-1)`, told by `SLURM_ARRAY_TASK_MIN=0`) | `--shard-count`, else `LINGER_SHARD_COUNT`, else `SLURM_ARRAY_TASK_COUNT` |
//! | Kubernetes Indexed Job | `JOB_COMPLETION_INDEX` plus one (it counts from 0) | `--shard-count` or `LINGER_SHARD_COUNT` (the Job's `spec.completions`; Kubernetes does not expose it to the pod) |
//! | GNU parallel | `PARALLEL_SEQ` (the job's sequence number, from 1, unique per job) | `--shard-count` or `LINGER_SHARD_COUNT` (parallel's `{##}`) |
//!
//! GNU parallel's `PARALLEL_JOBSLOT` is not used: a slot is reused by the next job once the
//! previous one ends, so two jobs share a slot; the sequence number is unique, and
//! `--retry-failed` re-runs a job with its old sequence number.
//!
//! When Slurm's count is used (a whole array), the array must be contiguous from 0 or 1:
//! `SLURM_ARRAY_TASK_MAX` = `SLURM_ARRAY_TASK_MIN` + `SLURM_ARRAY_TASK_COUNT` - 1. A re-run of
//! some indices (`sbatch --array=2`) is its own array of one task, so its count says nothing
//! about the sweep; such a run needs the count given (`--shard-count` or `LINGER_SHARD_COUNT`),
//! and then an array that does not start at 0 is read as numbered from 1 (the shipped script's
//! `--array=1-N`).
//!
//! Every refusal is bad input (exit code 2) naming the variable, its value and what is allowed.
//! The environment is read through a function so tests give their own.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::InputError;
use crate::sweep::Shard;

/// The environment variable that gives the shard count when no flag does.
pub const SHARD_COUNT_VAR: &str = "LINGER_SHARD_COUNT";

/// Slurm's variables.
const SLURM_ID: &str = "SLURM_ARRAY_TASK_ID";
const SLURM_COUNT: &str = "SLURM_ARRAY_TASK_COUNT";
const SLURM_MIN: &str = "SLURM_ARRAY_TASK_MIN";
const SLURM_MAX: &str = "SLURM_ARRAY_TASK_MAX";
/// Kubernetes' variable in each pod of an Indexed Job.
const K8S_INDEX: &str = "JOB_COMPLETION_INDEX";
/// GNU parallel's variables.
const PARALLEL_SEQ: &str = "PARALLEL_SEQ";
const PARALLEL_JOBSLOT: &str = "PARALLEL_JOBSLOT";

/// Where an automatically chosen shard came from, as written in the manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardSource {
    /// `slurm`, `kubernetes` or `gnu-parallel`.
    pub scheduler: String,
    /// How the shard index was found, such as `SLURM_ARRAY_TASK_ID=2 (array from 1)`.
    pub index: String,
    /// Where the shard count came from, such as `SLURM_ARRAY_TASK_COUNT=3`.
    pub count: String,
    /// Every variable (and the flag) read, with its value.
    pub read: BTreeMap<String, String>,
}

/// A shard chosen from the environment and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AutoShard {
    /// The shard.
    pub shard: Shard,
    /// What was read to choose it.
    pub source: ShardSource,
}

impl AutoShard {
    /// One line for people: `shard 2/3 from Slurm (SLURM_ARRAY_TASK_ID=2, ...)`.
    pub fn describe(&self) -> String {
        let scheduler = match self.source.scheduler.as_str() {
            "slurm" => "a Slurm job array",
            "kubernetes" => "a Kubernetes Indexed Job",
            _ => "GNU parallel",
        };
        format!(
            "shard {}/{} from {scheduler}: index {}, count {}",
            self.shard.index, self.shard.count, self.source.index, self.source.count
        )
    }
}

/// Chooses the shard from the scheduler's environment (`env` looks a variable up);
/// `count_flag` is `--shard-count`.
pub fn auto_shard(
    env: &dyn Fn(&str) -> Option<String>,
    count_flag: Option<u32>,
) -> Result<AutoShard, InputError> {
    let present: Vec<(&str, &str)> = [
        ("Slurm", SLURM_ID),
        ("Kubernetes", K8S_INDEX),
        ("GNU parallel", PARALLEL_SEQ),
    ]
    .into_iter()
    .filter(|(_, var)| env(var).is_some())
    .collect();
    match present.as_slice() {
        [] => Err(InputError::new(format!(
            "--shard auto: none of the schedulers' variables is set: Slurm's {SLURM_ID} (a job \
             array, sbatch --array=1-N), Kubernetes' {K8S_INDEX} (an Indexed Job) or GNU \
             parallel's {PARALLEL_SEQ}; outside a scheduler, pass --shard K/N"
        ))),
        [(_, var)] if *var == SLURM_ID => slurm(env, count_flag),
        [(_, var)] if *var == K8S_INDEX => kubernetes(env, count_flag),
        [_] => gnu_parallel(env, count_flag),
        several => {
            let named: Vec<String> = several
                .iter()
                .map(|(who, var)| format!("{who}'s {var}={}", env(var).unwrap_or_default().trim()))
                .collect();
            Err(InputError::new(format!(
                "--shard auto: more than one scheduler's variable is set ({}), so the shard is \
                 ambiguous; pass --shard K/N, or unset the variables of the scheduler that \
                 does not number the shards",
                named.join(", ")
            )))
        }
    }
}

/// A variable that must hold a whole number; `None` when unset.
fn number(env: &dyn Fn(&str) -> Option<String>, var: &str) -> Result<Option<i64>, InputError> {
    let Some(text) = env(var) else {
        return Ok(None);
    };
    text.trim().parse::<i64>().map(Some).map_err(|_| {
        InputError::new(format!(
            "--shard auto: {var}=`{text}` is not a whole number; it must be a number such as 3"
        ))
    })
}

/// The shard count from `--shard-count` or `LINGER_SHARD_COUNT`, recorded in `read`.
fn given_count(
    env: &dyn Fn(&str) -> Option<String>,
    count_flag: Option<u32>,
    read: &mut BTreeMap<String, String>,
) -> Result<Option<u32>, InputError> {
    let from_env = number(env, SHARD_COUNT_VAR)?;
    if let Some(value) = from_env {
        read.insert(SHARD_COUNT_VAR.to_string(), value.to_string());
        if value < 1 || value > i64::from(u32::MAX) {
            return Err(InputError::new(format!(
                "--shard auto: {SHARD_COUNT_VAR}={value} is not a shard count; it must be at \
                 least 1"
            )));
        }
    }
    if let Some(flag) = count_flag {
        read.insert("--shard-count".to_string(), flag.to_string());
        if let Some(value) = from_env
            && value != i64::from(flag)
        {
            return Err(InputError::new(format!(
                "--shard auto: --shard-count {flag} and {SHARD_COUNT_VAR}={value} disagree; \
                 give the shard count once"
            )));
        }
        return Ok(Some(flag));
    }
    Ok(from_env.map(|value| value as u32))
}

/// What one scheduler's variables said, before the index is checked against the count.
struct Reading {
    /// `slurm`, `kubernetes` or `gnu-parallel`.
    scheduler: &'static str,
    /// The variable that numbers the task, and its value.
    index_var: &'static str,
    index_value: i64,
    /// The 1-based shard it gives.
    index: i64,
    /// How the index was found, for the manifest.
    index_text: String,
    /// What the shards are shards of, for a refusal.
    count_note: String,
    /// Every variable read.
    read: BTreeMap<String, String>,
}

impl Reading {
    /// The shard of `count`, refusing an index beyond the count.
    fn of(self, count: u32) -> Result<AutoShard, InputError> {
        let Reading {
            index,
            index_var,
            index_value,
            count_note,
            ..
        } = &self;
        if *index < 1 || *index > i64::from(count) {
            return Err(InputError::new(format!(
                "--shard auto: {index_var}={index_value} gives shard {index}, beyond the {count} \
                 shards of {count_note}; the shard must be between 1 and {count}"
            )));
        }
        Ok(AutoShard {
            shard: Shard {
                index: *index as u32,
                count,
            },
            source: ShardSource {
                scheduler: self.scheduler.to_string(),
                index: self.index_text,
                count: count_text(count, &self.read),
                read: self.read,
            },
        })
    }
}

/// Where the count came from: the flag, the variable, or Slurm's array size.
fn count_text(count: u32, read: &BTreeMap<String, String>) -> String {
    if read.contains_key("--shard-count") {
        format!("--shard-count {count}")
    } else if read.contains_key(SHARD_COUNT_VAR) {
        format!("{SHARD_COUNT_VAR}={count}")
    } else {
        format!("{SLURM_COUNT}={count}")
    }
}

fn count_missing(var: &str, value: i64, scheduler: &str, hint: &str) -> InputError {
    InputError::new(format!(
        "--shard auto: {scheduler} sets {var}={value} but not how many shards there are: pass \
         --shard-count N ({hint}) or set {SHARD_COUNT_VAR}=N"
    ))
}

fn slurm(
    env: &dyn Fn(&str) -> Option<String>,
    count_flag: Option<u32>,
) -> Result<AutoShard, InputError> {
    let mut read = BTreeMap::new();
    let id = number(env, SLURM_ID)?.unwrap_or_default();
    read.insert(SLURM_ID.to_string(), id.to_string());
    let min = number(env, SLURM_MIN)?;
    let max = number(env, SLURM_MAX)?;
    let array_count = number(env, SLURM_COUNT)?;
    for (var, value) in [
        (SLURM_MIN, min),
        (SLURM_MAX, max),
        (SLURM_COUNT, array_count),
    ] {
        if let Some(value) = value {
            read.insert(var.to_string(), value.to_string());
        }
    }
    let given = given_count(env, count_flag, &mut read)?;
    let zero_based = min == Some(0);
    let index = if zero_based { id + 1 } else { id };
    let count = match given {
        Some(count) => {
            if let Some(array_count) = array_count
                && array_count > i64::from(count)
            {
                return Err(InputError::new(format!(
                    "--shard auto: the Slurm array has {SLURM_COUNT}={array_count} tasks, more \
                     than the {count} shards given; submit --array=1-{count} or give \
                     --shard-count {array_count}"
                )));
            }
            count
        }
        None => {
            let Some(array_count) = array_count else {
                return Err(count_missing(
                    SLURM_ID,
                    id,
                    "Slurm",
                    "the number of array tasks",
                ));
            };
            let min = min.unwrap_or(1);
            if min != 0 && min != 1 {
                return Err(InputError::new(format!(
                    "--shard auto: the Slurm array starts at {SLURM_MIN}={min}, so its \
                     {SLURM_COUNT}={array_count} is not the sweep's shard count (a re-run of \
                     some indices, or an array numbered from {min}); arrays are numbered from 1 \
                     (--array=1-N) or 0 (--array=0-(N-1)); to re-run some shards pass \
                     --shard-count N or set {SHARD_COUNT_VAR}=N"
                )));
            }
            if let Some(max) = max
                && max != min + array_count - 1
            {
                return Err(InputError::new(format!(
                    "--shard auto: the Slurm array {SLURM_MIN}={min}..{SLURM_MAX}={max} has \
                     {SLURM_COUNT}={array_count} tasks, so it is not contiguous (a step or a \
                     list of indices); submit --array={min}-{} (a throttle such as %4 is fine), \
                     or give --shard-count N",
                    min + array_count - 1
                )));
            }
            u32::try_from(array_count).ok().filter(|c| *c >= 1).ok_or_else(|| {
                InputError::new(format!(
                    "--shard auto: {SLURM_COUNT}={array_count} is not a shard count; it must be \
                     at least 1"
                ))
            })?
        }
    };
    let (index_text, count_note) = if zero_based {
        (
            format!("{SLURM_ID}={id} + 1 (the array starts at {SLURM_MIN}=0)"),
            format!("the Slurm array from 0 ({SLURM_MIN}=0, so shard = {SLURM_ID} + 1)"),
        )
    } else {
        (
            format!("{SLURM_ID}={id}"),
            "the Slurm array (numbered from 1)".to_string(),
        )
    };
    Reading {
        scheduler: "slurm",
        index_var: SLURM_ID,
        index_value: id,
        index,
        index_text,
        count_note,
        read,
    }
    .of(count)
}

fn kubernetes(
    env: &dyn Fn(&str) -> Option<String>,
    count_flag: Option<u32>,
) -> Result<AutoShard, InputError> {
    let mut read = BTreeMap::new();
    let index = number(env, K8S_INDEX)?.unwrap_or_default();
    read.insert(K8S_INDEX.to_string(), index.to_string());
    let count = given_count(env, count_flag, &mut read)?.ok_or_else(|| {
        count_missing(K8S_INDEX, index, "Kubernetes", "the Job's spec.completions")
    })?;
    Reading {
        scheduler: "kubernetes",
        index_var: K8S_INDEX,
        index_value: index,
        index: index + 1,
        index_text: format!("{K8S_INDEX}={index} + 1"),
        count_note: format!(
            "the Indexed Job ({K8S_INDEX} counts from 0, so shard = {K8S_INDEX} + 1)"
        ),
        read,
    }
    .of(count)
}

fn gnu_parallel(
    env: &dyn Fn(&str) -> Option<String>,
    count_flag: Option<u32>,
) -> Result<AutoShard, InputError> {
    let mut read = BTreeMap::new();
    let seq = number(env, PARALLEL_SEQ)?.unwrap_or_default();
    read.insert(PARALLEL_SEQ.to_string(), seq.to_string());
    if let Some(slot) = env(PARALLEL_JOBSLOT) {
        // Recorded for people; a slot is reused, so it never picks the shard.
        read.insert(PARALLEL_JOBSLOT.to_string(), slot.trim().to_string());
    }
    let count = given_count(env, count_flag, &mut read)?.ok_or_else(|| {
        count_missing(
            PARALLEL_SEQ,
            seq,
            "GNU parallel",
            "the number of jobs, parallel's {##}",
        )
    })?;
    Reading {
        scheduler: "gnu-parallel",
        index_var: PARALLEL_SEQ,
        index_value: seq,
        index: seq,
        index_text: format!("{PARALLEL_SEQ}={seq}"),
        count_note: format!("the GNU parallel run ({PARALLEL_SEQ} counts jobs from 1)"),
        read,
    }
    .of(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choose(vars: &[(&str, &str)], flag: Option<u32>) -> Result<AutoShard, InputError> {
        let vars: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        auto_shard(&|name| vars.get(name).cloned(), flag)
    }

    fn shard(vars: &[(&str, &str)], flag: Option<u32>) -> (u32, u32) {
        let chosen = choose(vars, flag).expect("a shard");
        (chosen.shard.index, chosen.shard.count)
    }

    fn refusal(vars: &[(&str, &str)], flag: Option<u32>) -> String {
        choose(vars, flag).expect_err("refused").message
    }

    #[test]
    fn slurm_arrays_from_one_and_from_zero_give_the_same_shards() {
        for task in 1..=3 {
            let one_based = [
                ("SLURM_ARRAY_TASK_ID", task.to_string()),
                ("SLURM_ARRAY_TASK_MIN", "1".into()),
                ("SLURM_ARRAY_TASK_MAX", "3".into()),
                ("SLURM_ARRAY_TASK_COUNT", "3".into()),
            ];
            let vars: Vec<(&str, &str)> = one_based.iter().map(|(k, v)| (*k, v.as_str())).collect();
            assert_eq!(shard(&vars, None), (task, 3));
            let zero_based = [
                ("SLURM_ARRAY_TASK_ID", (task - 1).to_string()),
                ("SLURM_ARRAY_TASK_MIN", "0".into()),
                ("SLURM_ARRAY_TASK_MAX", "2".into()),
                ("SLURM_ARRAY_TASK_COUNT", "3".into()),
            ];
            let vars: Vec<(&str, &str)> =
                zero_based.iter().map(|(k, v)| (*k, v.as_str())).collect();
            assert_eq!(shard(&vars, None), (task, 3));
        }
    }

    #[test]
    fn a_slurm_rerun_of_one_index_needs_the_count_and_keeps_the_index() {
        let rerun = [
            ("SLURM_ARRAY_TASK_ID", "2"),
            ("SLURM_ARRAY_TASK_MIN", "2"),
            ("SLURM_ARRAY_TASK_MAX", "2"),
            ("SLURM_ARRAY_TASK_COUNT", "1"),
        ];
        let message = refusal(&rerun, None);
        assert!(
            message.contains("SLURM_ARRAY_TASK_MIN=2") && message.contains("--shard-count"),
            "{message}"
        );
        assert_eq!(shard(&rerun, Some(3)), (2, 3));
        let mut with_env = rerun.to_vec();
        with_env.push(("LINGER_SHARD_COUNT", "3"));
        assert_eq!(shard(&with_env, None), (2, 3));
        let message = refusal(&with_env, Some(4));
        assert!(message.contains("disagree"), "{message}");
    }

    #[test]
    fn inconsistent_slurm_variables_are_refused_by_name() {
        let beyond = [
            ("SLURM_ARRAY_TASK_ID", "4"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ];
        let message = refusal(&beyond, None);
        assert!(
            message.contains("SLURM_ARRAY_TASK_ID=4") && message.contains("between 1 and 3"),
            "{message}"
        );
        let stepped = [
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_MAX", "5"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ];
        assert!(refusal(&stepped, None).contains("not contiguous"));
        let bigger = [
            ("SLURM_ARRAY_TASK_ID", "1"),
            ("SLURM_ARRAY_TASK_COUNT", "5"),
        ];
        assert!(refusal(&bigger, Some(3)).contains("SLURM_ARRAY_TASK_COUNT=5"));
        let text = [("SLURM_ARRAY_TASK_ID", "two")];
        let message = refusal(&text, None);
        assert!(
            message.contains("SLURM_ARRAY_TASK_ID=`two`") && message.contains("whole number"),
            "{message}"
        );
    }

    #[test]
    fn kubernetes_counts_from_zero_and_needs_the_completions() {
        assert_eq!(shard(&[("JOB_COMPLETION_INDEX", "0")], Some(4)), (1, 4));
        assert_eq!(
            shard(
                &[("JOB_COMPLETION_INDEX", "3"), ("LINGER_SHARD_COUNT", "4")],
                None
            ),
            (4, 4)
        );
        let message = refusal(&[("JOB_COMPLETION_INDEX", "1")], None);
        assert!(
            message.contains("JOB_COMPLETION_INDEX=1") && message.contains("--shard-count"),
            "{message}"
        );
        let message = refusal(&[("JOB_COMPLETION_INDEX", "4")], Some(4));
        assert!(
            message.contains("JOB_COMPLETION_INDEX=4") && message.contains("between 1 and 4"),
            "{message}"
        );
    }

    #[test]
    fn gnu_parallel_uses_the_sequence_number_not_the_reused_slot() {
        let chosen =
            choose(&[("PARALLEL_SEQ", "3"), ("PARALLEL_JOBSLOT", "1")], Some(3)).expect("a shard");
        assert_eq!((chosen.shard.index, chosen.shard.count), (3, 3));
        assert_eq!(chosen.source.scheduler, "gnu-parallel");
        assert_eq!(chosen.source.read["PARALLEL_JOBSLOT"], "1");
        assert_eq!(
            chosen.describe(),
            "shard 3/3 from GNU parallel: index PARALLEL_SEQ=3, count --shard-count 3"
        );
        assert!(refusal(&[("PARALLEL_SEQ", "0")], Some(3)).contains("PARALLEL_SEQ=0"));
        assert!(refusal(&[("PARALLEL_SEQ", "1")], None).contains("{##}"));
    }

    #[test]
    fn no_or_several_schedulers_are_refused_naming_the_variables() {
        let message = refusal(&[], None);
        for var in [
            "SLURM_ARRAY_TASK_ID",
            "JOB_COMPLETION_INDEX",
            "PARALLEL_SEQ",
        ] {
            assert!(message.contains(var), "{message}");
        }
        let message = refusal(
            &[("SLURM_ARRAY_TASK_ID", "1"), ("PARALLEL_SEQ", "2")],
            Some(3),
        );
        assert!(
            message.contains("SLURM_ARRAY_TASK_ID=1") && message.contains("PARALLEL_SEQ=2"),
            "{message}"
        );
        let message = refusal(&[("PARALLEL_SEQ", "1"), ("LINGER_SHARD_COUNT", "0")], None);
        assert!(message.contains("LINGER_SHARD_COUNT=0"), "{message}");
    }
}
