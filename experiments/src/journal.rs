//! The journal of a sweep directory: one line per finished point, appended as each point
//! finishes, read back on resume and by `linger merge`, checked against the manifest, and
//! repaired on request.
//!
//! Every line is checked before its point counts as finished: it must parse, its point must be
//! one of the manifest's (and of its shard), it must have one row per replicate in replicate
//! order, each row's seed must be the one the master seed derives for that point and replicate
//! (so a row moved to another point is caught, since journal lines carry no axis values), and
//! its metric columns must be those of the other lines. A line that fails is damaged. Damage is
//! refused, naming the file, the line and what is wrong, unless the caller repairs: then the
//! journal is rewritten with its intact lines only, and the damaged lines' points run again.
//!
//! A trailing partial line (a kill during a write) is not damage: it is cut off when the journal
//! is opened for appending, and ignored when it is only read.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, InputError, Result};
use crate::results::{JOURNAL_FILE, Manifest, PointResult, RunRow, format_f64, write_atomically};
use crate::sweep::run_seed;

/// What to do with damaged journal lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JournalDamage {
    /// Refuse the directory, naming the first damaged line (the default).
    Refuse,
    /// Drop the damaged lines, keep the intact ones, and run their points again (`--repair`).
    Repair,
}

/// What a repair dropped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Repair {
    /// The 1-based numbers of the dropped lines.
    pub dropped_lines: Vec<usize>,
    /// The points of the dropped lines that no intact line holds, which will run again.
    pub rerun_points: Vec<usize>,
    /// How many dropped lines are too damaged to tell their point (it runs again too).
    pub unknown_point_count: usize,
}

#[derive(Serialize, Deserialize)]
struct JournalLine {
    point: usize,
    rows: Vec<JournalRow>,
}

#[derive(Serialize, Deserialize)]
struct JournalRow {
    replicate: u32,
    seed: u64,
    /// Values as [`format_f64`] text, so they read back bit for bit.
    metrics: Vec<(String, String)>,
    warnings: Vec<String>,
}

impl JournalLine {
    fn of(result: &PointResult) -> JournalLine {
        let rows = result
            .rows
            .iter()
            .map(|row| JournalRow {
                replicate: row.replicate,
                seed: row.seed,
                metrics: row
                    .metrics
                    .iter()
                    .map(|(name, value)| (name.clone(), format_f64(*value)))
                    .collect(),
                warnings: row.warnings.clone(),
            })
            .collect();
        JournalLine {
            point: result.point,
            rows,
        }
    }

    fn into_result(self) -> Option<PointResult> {
        let mut rows = Vec::with_capacity(self.rows.len());
        for row in self.rows {
            let mut metrics = Vec::with_capacity(row.metrics.len());
            for (name, text) in row.metrics {
                metrics.push((name, text.parse::<f64>().ok()?));
            }
            rows.push(RunRow {
                replicate: row.replicate,
                seed: row.seed,
                metrics,
                warnings: row.warnings,
            });
        }
        Some(PointResult {
            point: self.point,
            rows,
        })
    }

    fn text(result: &PointResult) -> String {
        let mut line =
            serde_json::to_string(&JournalLine::of(result)).expect("journal lines serialise");
        line.push('\n');
        line
    }
}

/// One damaged line.
#[derive(Clone, Debug, PartialEq)]
struct Damage {
    /// 1-based.
    line: usize,
    /// The point the line names, when that much can be read.
    point: Option<usize>,
    problem: String,
}

/// A journal read and checked against its manifest; nothing is changed on disk.
#[derive(Debug)]
struct Checked {
    /// Intact points, the first intact line of each point, sorted by point.
    finished: Vec<PointResult>,
    /// The bytes of every intact complete line, in file order, each with its newline.
    intact_text: Vec<u8>,
    damaged: Vec<Damage>,
    /// Bytes up to the end of the last complete line.
    complete_len: usize,
    /// The file's length.
    file_len: usize,
}

impl Checked {
    fn refusal(&self, path: &Path) -> InputError {
        let first = &self.damaged[0];
        let more = match self.damaged.len() {
            1 => String::new(),
            2 => " (and 1 more damaged line)".to_string(),
            n => format!(" (and {} more damaged lines)", n - 1),
        };
        InputError::new(format!(
            "{} line {}: {}{more}; run the sweep of this directory again with --repair to drop \
             the damaged lines and run their points again ({} intact points are kept), or with \
             --force to discard every result",
            path.display(),
            first.line,
            first.problem,
            self.finished.len()
        ))
    }

    fn repair(&self, manifest: &Manifest) -> Repair {
        let rerun_points = self
            .damaged
            .iter()
            .filter_map(|damage| damage.point)
            .filter(|&point| point < manifest.point_count && manifest.shard.contains(point))
            .filter(|point| {
                self.finished
                    .binary_search_by_key(point, |p| p.point)
                    .is_err()
            })
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        Repair {
            dropped_lines: self.damaged.iter().map(|damage| damage.line).collect(),
            rerun_points,
            unknown_point_count: self.damaged.iter().filter(|d| d.point.is_none()).count(),
        }
    }
}

/// Reads and checks a journal; a missing file is an empty journal.
fn read_checked(path: &Path, manifest: &Manifest) -> Result<Checked> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(error) => return Err(Error::io(path, error)),
    };
    let complete_len = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let mut parsed = Vec::new();
    let mut damaged = Vec::new();
    for (index, line) in bytes[..complete_len].split(|&b| b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        match parse_line(line) {
            Ok(result) => parsed.push((index + 1, line, result)),
            Err((point, problem)) => damaged.push(Damage {
                line: index + 1,
                point,
                problem,
            }),
        }
    }
    let reference = usual_metric_names(parsed.iter().map(|(_, _, result)| result));
    let mut by_point = BTreeMap::new();
    let mut intact_text = Vec::new();
    for (line, text, result) in parsed {
        match check_point(manifest, &result, &reference) {
            Ok(()) => {
                intact_text.extend_from_slice(text);
                intact_text.push(b'\n');
                by_point.entry(result.point).or_insert(result);
            }
            Err(problem) => damaged.push(Damage {
                line,
                point: Some(result.point),
                problem,
            }),
        }
    }
    damaged.sort_by_key(|damage| damage.line);
    Ok(Checked {
        finished: by_point.into_values().collect(),
        intact_text,
        damaged,
        complete_len,
        file_len: bytes.len(),
    })
}

/// Parses one line, or says what is wrong with it (and its point, when that can be read).
fn parse_line(line: &[u8]) -> Result<PointResult, (Option<usize>, String)> {
    let value: serde_json::Value = serde_json::from_slice(line).map_err(|_| {
        let problem = "is not a journal entry: it is not valid JSON".to_string();
        (leading_point(line), problem)
    })?;
    let point = value
        .get("point")
        .and_then(serde_json::Value::as_u64)
        .and_then(|p| usize::try_from(p).ok());
    let entry: JournalLine = serde_json::from_value(value).map_err(|_| {
        let problem = "is not a journal entry: it needs `point` (a whole number) and `rows` \
                       (each with `replicate`, `seed`, `metrics` and `warnings`)";
        (point, problem.to_string())
    })?;
    entry
        .into_result()
        .ok_or_else(|| (point, "has a metric value that is not a number".to_string()))
}

/// The point of a line that is not JSON, when it starts as every journal line does
/// (`{"point":N,`): a line cut by a kill and continued by the next append keeps its start.
fn leading_point(line: &[u8]) -> Option<usize> {
    let rest = line.strip_prefix(b"{\"point\":")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if rest.get(digits) != Some(&b',') {
        return None;
    }
    std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()
}

/// The metric columns most lines have (the earliest on a tie); rows of rejected points, which
/// have no metrics, do not count.
fn usual_metric_names<'a>(results: impl Iterator<Item = &'a PointResult>) -> Vec<String> {
    let mut counts: Vec<(Vec<String>, usize)> = Vec::new();
    for result in results {
        for row in result.rows.iter().filter(|row| !row.metrics.is_empty()) {
            let names: Vec<String> = row.metrics.iter().map(|(name, _)| name.clone()).collect();
            match counts.iter_mut().find(|(known, _)| *known == names) {
                Some((_, count)) => *count += 1,
                None => counts.push((names, 1)),
            }
        }
    }
    let best = counts.iter().map(|(_, count)| *count).max().unwrap_or(0);
    counts
        .into_iter()
        .find(|(_, count)| *count == best)
        .map(|(names, _)| names)
        .unwrap_or_default()
}

/// Checks one parsed line against the manifest: its point, replicates, seeds and metric columns.
fn check_point(
    manifest: &Manifest,
    result: &PointResult,
    metric_names: &[String],
) -> Result<(), String> {
    let point = result.point;
    if point >= manifest.point_count {
        return Err(format!(
            "point {point} is not in the sweep: the manifest has {} points (0 to {})",
            manifest.point_count,
            manifest.point_count.saturating_sub(1)
        ));
    }
    if !manifest.shard.contains(point) {
        let count = manifest.shard.count;
        return Err(format!(
            "point {point} belongs to shard {}/{count}, not to this directory's shard {}/{count}",
            point % count as usize + 1,
            manifest.shard.index
        ));
    }
    let replicates = manifest.replicates;
    if let Some(row) = result.rows.iter().find(|row| row.replicate >= replicates) {
        return Err(format!(
            "point {point} has replicate {}, but the manifest says {replicates} replicates \
             (0 to {})",
            row.replicate,
            replicates.saturating_sub(1)
        ));
    }
    if result.rows.len() != replicates as usize {
        return Err(format!(
            "point {point} has {} rows, but the manifest says {replicates} replicates",
            result.rows.len()
        ));
    }
    if let Some((index, row)) = (0u32..)
        .zip(&result.rows)
        .find(|(i, row)| row.replicate != *i)
    {
        return Err(format!(
            "point {point}: row {} is replicate {}, expected replicate {index} (rows are in \
             replicate order)",
            index + 1,
            row.replicate
        ));
    }
    check_seeds(manifest, result)?;
    for row in result.rows.iter().filter(|row| !row.metrics.is_empty()) {
        let names: Vec<&str> = row.metrics.iter().map(|(name, _)| name.as_str()).collect();
        if !names
            .iter()
            .copied()
            .eq(metric_names.iter().map(String::as_str))
        {
            return Err(format!(
                "point {point} replicate {} has metric columns ({}) that differ from the other \
                 lines' ({})",
                row.replicate,
                names.join(", "),
                metric_names.join(", ")
            ));
        }
    }
    Ok(())
}

fn check_seeds(manifest: &Manifest, result: &PointResult) -> Result<(), String> {
    // A value the manifest cannot give back as TOML (JSON null) leaves the seeds unchecked.
    let Some(canonical) = manifest.canonical_point(result.point) else {
        return Ok(());
    };
    for row in &result.rows {
        let expected = run_seed(manifest.master_seed, &canonical, row.replicate);
        if row.seed != expected {
            return Err(format!(
                "point {} replicate {} has seed {}, but the manifest's master seed {} gives \
                 this replicate of this point ({}) the seed {expected}",
                result.point,
                row.replicate,
                row.seed,
                manifest.master_seed,
                if canonical.is_empty() {
                    "no axes"
                } else {
                    &canonical
                },
            ));
        }
    }
    Ok(())
}

/// The append-only log of finished points.
pub struct Journal {
    path: PathBuf,
    file: fs::File,
}

impl Journal {
    /// Opens (or creates) the journal of `dir` for appending, returning the intact points
    /// already finished (sorted by point) and, after a repair, what it dropped. A trailing
    /// partial line is cut off. Damaged lines are refused (exit code 2) unless `damage` is
    /// [`JournalDamage::Repair`]; then the journal is rewritten with its intact lines.
    pub fn open(
        dir: &Path,
        manifest: &Manifest,
        damage: JournalDamage,
    ) -> Result<(Journal, Vec<PointResult>, Option<Repair>)> {
        let path = dir.join(JOURNAL_FILE);
        let checked = read_checked(&path, manifest)?;
        let repair = match (checked.damaged.is_empty(), damage) {
            (true, _) => None,
            (false, JournalDamage::Refuse) => return Err(checked.refusal(&path).into()),
            (false, JournalDamage::Repair) => {
                write_atomically(&path, &checked.intact_text)?;
                Some(checked.repair(manifest))
            }
        };
        if repair.is_none() && checked.complete_len < checked.file_len {
            let file = fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .map_err(|e| Error::io(&path, e))?;
            file.set_len(checked.complete_len as u64)
                .map_err(|e| Error::io(&path, e))?;
        }
        let file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|error| Error::io(&path, error))?;
        Ok((Journal { path, file }, checked.finished, repair))
    }

    /// Appends one finished point as a single line, written with one call.
    pub fn append(&mut self, result: &PointResult) -> Result<()> {
        self.file
            .write_all(JournalLine::text(result).as_bytes())
            .map_err(|error| Error::io(&self.path, error))
    }

    /// Forces the journal to disk.
    pub fn sync(&mut self) -> Result<()> {
        self.file
            .sync_all()
            .map_err(|error| Error::io(&self.path, error))
    }
}

/// Writes a whole journal at once, in point order (used by merge).
pub fn write_journal(path: &Path, finished: &[PointResult]) -> Result<()> {
    let text: String = finished.iter().map(JournalLine::text).collect();
    write_atomically(path, text.as_bytes())
}

/// Reads a journal without changing it: its intact points, sorted by point (later duplicates
/// of a point are ignored, a trailing partial line too). A damaged line is refused.
pub fn read_journal(path: &Path, manifest: &Manifest) -> Result<Vec<PointResult>> {
    let checked = read_checked(path, manifest)?;
    if !checked.damaged.is_empty() {
        return Err(checked.refusal(path).into());
    }
    Ok(checked.finished)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{FORMAT_VERSION, ManifestAxis};
    use crate::sweep::Shard;

    fn manifest() -> Manifest {
        Manifest {
            format_version: FORMAT_VERSION,
            experiment: "t".into(),
            experiment_hash: "00".into(),
            master_seed: 1,
            replicates: 2,
            point_count: 3,
            axes: vec![ManifestAxis {
                name: "producer.linger.ms".into(),
                values: vec![0.into(), 5.into(), "x".into()],
            }],
            shard: Shard::ALL,
            partial: false,
        }
    }

    /// A point with the seeds the manifest derives and metrics `x` and `y`.
    fn point(index: usize, base: f64) -> PointResult {
        let canonical = manifest().canonical_point(index).expect("scalar values");
        let rows = (0..2)
            .map(|replicate| RunRow {
                replicate,
                seed: run_seed(1, &canonical, replicate),
                metrics: vec![("x".into(), base + f64::from(replicate)), ("y".into(), 0.1)],
                warnings: vec![],
            })
            .collect();
        PointResult { point: index, rows }
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("linger-journal-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    fn line(result: &PointResult) -> String {
        JournalLine::text(result)
    }

    #[test]
    fn a_partial_last_line_and_duplicates_are_dropped_quietly() {
        let dir = temp_dir("partial");
        {
            let (mut journal, finished, repair) =
                Journal::open(&dir, &manifest(), JournalDamage::Refuse).expect("opens");
            assert!(finished.is_empty() && repair.is_none());
            journal.append(&point(1, 3.0)).expect("appends");
            journal.append(&point(0, 1.0)).expect("appends");
            journal.append(&point(1, 9.0)).expect("appends");
        }
        let path = dir.join(JOURNAL_FILE);
        let mut file = fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .expect("opens");
        file.write_all(b"{\"point\":2,\"ro").expect("writes");
        assert_eq!(
            read_journal(&path, &manifest()).expect("reads"),
            vec![point(0, 1.0), point(1, 3.0)]
        );
        assert!(
            !fs::read(&path).expect("reads").ends_with(b"\n"),
            "reading changes nothing"
        );
        let (_, finished, repair) =
            Journal::open(&dir, &manifest(), JournalDamage::Refuse).expect("opens");
        assert_eq!((finished.len(), repair), (2, None));
        assert!(
            fs::read(&path).expect("reads").ends_with(b"\n"),
            "opening cuts the tail"
        );
        fs::remove_dir_all(&dir).expect("cleans up");
    }

    /// Each hand edit of a good line, and the words its refusal must contain.
    fn edits() -> Vec<(String, &'static str)> {
        let good = line(&point(1, 3.0));
        let mut seven = point(1, 3.0);
        seven.rows[1].replicate = 7;
        let mut short = point(1, 3.0);
        short.rows.pop();
        let mut swapped = point(1, 3.0);
        swapped.rows.swap(0, 1);
        let mut moved = point(1, 3.0);
        moved.point = 2;
        let mut seed = point(1, 3.0);
        seed.rows[0].seed += 1;
        let mut columns = point(1, 3.0);
        columns.rows[0].metrics[1].0 = "z".into();
        vec![
            (good.replace("\"rows\"", "\"rwos\""), "needs `point`"),
            (good[..good.len() / 2].to_string() + "\n", "not valid JSON"),
            (good.replace("\"3\"", "\"three\""), "not a number"),
            (
                line(&seven),
                "replicate 7, but the manifest says 2 replicates",
            ),
            (line(&short), "has 1 rows"),
            (line(&swapped), "expected replicate 0"),
            (
                line(&PointResult {
                    point: 3,
                    ..point(1, 3.0)
                }),
                "point 3 is not in the sweep",
            ),
            (line(&moved), "point 2 replicate 0 has seed"),
            (line(&seed), "has seed"),
            (line(&columns), "metric columns (x, z)"),
        ]
    }

    #[test]
    fn every_hand_edit_is_refused_with_its_line_and_repaired_on_request() {
        for (index, (edited, needle)) in edits().into_iter().enumerate() {
            let dir = temp_dir(&format!("edit{index}"));
            let path = dir.join(JOURNAL_FILE);
            let text = format!("{}{edited}{}", line(&point(0, 1.0)), line(&point(2, 5.0)));
            fs::write(&path, &text).expect("writes");
            let error = match Journal::open(&dir, &manifest(), JournalDamage::Refuse) {
                Ok(_) => panic!("edit {index} ({needle}) was accepted"),
                Err(error) => error,
            };
            let message = error.to_string();
            assert_eq!(error.exit_code(), 2, "{message}");
            assert!(message.contains("journal.jsonl line 2: "), "{message}");
            assert!(message.contains(needle), "{needle}: {message}");
            assert!(
                message.contains("--repair") && message.contains("--force"),
                "{message}"
            );
            assert_eq!(
                fs::read_to_string(&path).expect("reads"),
                text,
                "a refusal changes nothing"
            );

            let (_, finished, repair) =
                Journal::open(&dir, &manifest(), JournalDamage::Repair).expect("repairs");
            assert_eq!(finished, vec![point(0, 1.0), point(2, 5.0)], "{needle}");
            let repair = repair.expect("something was dropped");
            assert_eq!(repair.dropped_lines, vec![2], "{needle}");
            assert!(repair.rerun_points.iter().all(|&p| p == 1), "{repair:?}");
            let kept = format!("{}{}", line(&point(0, 1.0)), line(&point(2, 5.0)));
            assert_eq!(fs::read_to_string(&path).expect("reads"), kept);
            fs::remove_dir_all(&dir).expect("cleans up");
        }
    }

    #[test]
    fn a_repair_names_the_points_to_run_again() {
        let dir = temp_dir("rerun");
        let path = dir.join(JOURNAL_FILE);
        let mut seven = point(1, 3.0);
        seven.rows[0].replicate = 7;
        let text = format!("garbage\n{}{}", line(&point(0, 1.0)), line(&seven));
        fs::write(&path, text).expect("writes");
        let (_, finished, repair) =
            Journal::open(&dir, &manifest(), JournalDamage::Repair).expect("repairs");
        assert_eq!(finished, vec![point(0, 1.0)]);
        let expected = Repair {
            dropped_lines: vec![1, 3],
            rerun_points: vec![1],
            unknown_point_count: 1,
        };
        assert_eq!(repair, Some(expected));
        fs::remove_dir_all(&dir).expect("cleans up");
    }

    #[test]
    fn a_cut_line_continued_by_the_next_append_still_names_its_point() {
        let good = line(&point(2, 5.0));
        let cut = format!("{}{}", &good[..20], line(&point(0, 1.0)));
        assert_eq!(
            parse_line(cut.trim_end().as_bytes())
                .expect_err("damaged")
                .0,
            Some(2)
        );
        assert_eq!(leading_point(b"{\"point\":12"), None);
        assert_eq!(leading_point(b"garbage"), None);
    }

    #[test]
    fn a_point_of_another_shard_is_damage() {
        let mut shard = manifest();
        shard.shard = Shard { index: 1, count: 2 };
        let reference = vec!["x".to_string(), "y".to_string()];
        let problem = check_point(&shard, &point(1, 3.0), &reference).expect_err("not this shard");
        assert!(problem.contains("belongs to shard 2/2"), "{problem}");
        assert_eq!(check_point(&shard, &point(2, 3.0), &reference), Ok(()));
    }
}
