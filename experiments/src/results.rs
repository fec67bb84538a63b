//! Result files of a sweep directory, and the journal that makes sweeps resumable.
//!
//! A sweep directory holds:
//!
//! | file            | what                                                                  |
//! |-----------------|-----------------------------------------------------------------------|
//! | `manifest.json` | format version, experiment name and hash, seed, replicates, axes, shard |
//! | `journal.jsonl` | working log: one line per finished point, appended in completion order |
//! | `results.csv`   | tidy: one row per point x replicate; `point, replicate, seed, <axes>, <metrics>, warnings` |
//! | `results.jsonl` | the same rows as JSON objects, keys in the same order                 |
//! | `summary.csv`   | per point per metric: count, mean, stddev, 95% CI (Student t)         |
//! | `linger.lock`   | the directory's lock while a sweep or merge writes it (`crate::lock`)  |
//!
//! Design: each finished point is appended to the journal at once (one `write` of one line), so a
//! killed sweep loses at most the points that were running. The three result files are then
//! assembled from the journal in point order and replaced atomically (written beside, fsynced,
//! renamed). They are therefore a pure function of the manifest and the set of finished points:
//! the same bytes whatever the thread count, the completion order, the number of resumptions, or
//! the shards they were merged from. The journal itself is in completion order and is not
//! expected to match between runs; `crate::journal` reads it back and checks it against the
//! manifest. The directory's lock (`crate::lock`) keeps a second process out while one writes.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, InputError, Result};
use crate::spec::Experiment;
use crate::stats::Summary;
use crate::sweep::Shard;

pub use crate::journal::{Journal, JournalDamage, Repair, read_journal, write_journal};

/// The version of the files' layout; a directory of another version is not resumed.
pub const FORMAT_VERSION: u32 = 1;

/// File names inside a sweep directory.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The working log of finished points.
pub const JOURNAL_FILE: &str = "journal.jsonl";
/// The tidy results table.
pub const RESULTS_CSV_FILE: &str = "results.csv";
/// The results as JSON lines.
pub const RESULTS_JSONL_FILE: &str = "results.jsonl";
/// Mean and confidence interval per point and metric.
pub const SUMMARY_CSV_FILE: &str = "summary.csv";

/// A copy of the experiment file, for reports and for people.
pub const EXPERIMENT_COPY_FILE: &str = "experiment.toml";

const OWNED_FILES: [&str; 6] = [
    MANIFEST_FILE,
    JOURNAL_FILE,
    RESULTS_CSV_FILE,
    RESULTS_JSONL_FILE,
    SUMMARY_CSV_FILE,
    EXPERIMENT_COPY_FILE,
];

/// The outcome of one run: its metrics in the world's fixed order and its warnings.
#[derive(Clone, Debug, PartialEq)]
pub struct RunRow {
    /// Which replicate of the point, from 0.
    pub replicate: u32,
    /// The run's derived seed.
    pub seed: u64,
    /// Metric name and value, in a fixed order.
    pub metrics: Vec<(String, f64)>,
    /// Warnings of the run (for example silently disabled idempotence).
    pub warnings: Vec<String>,
}

/// Every replicate of one point.
#[derive(Clone, Debug, PartialEq)]
pub struct PointResult {
    /// The point's index in the sweep.
    pub point: usize,
    /// One row per replicate, in replicate order.
    pub rows: Vec<RunRow>,
}

/// One sweep axis as recorded in the manifest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ManifestAxis {
    /// `section.key`.
    pub name: String,
    /// The values in sweep order.
    pub values: Vec<serde_json::Value>,
}

/// What a sweep directory holds; it decides whether a directory may be resumed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`FORMAT_VERSION`] of the writer.
    pub format_version: u32,
    /// The experiment's name.
    pub experiment: String,
    /// Hash of the experiment's canonical text.
    pub experiment_hash: String,
    /// The master seed.
    pub master_seed: u64,
    /// Runs per point.
    pub replicates: u32,
    /// Points in the whole sweep (all shards).
    pub point_count: usize,
    /// The axes, in column order.
    pub axes: Vec<ManifestAxis>,
    /// Which slice of the points this directory holds.
    pub shard: Shard,
    /// The directory holds only some of the sweep's points on purpose (a merge of some shards
    /// only); reports and rankings then say "partial". Absent (false) in a whole sweep's
    /// manifest, so older directories read the same.
    #[serde(default, skip_serializing_if = "is_false")]
    pub partial: bool,
}

fn is_false(flag: &bool) -> bool {
    !*flag
}

impl Manifest {
    /// Point indexes of this manifest's shard.
    pub fn shard_points(&self) -> Vec<usize> {
        (0..self.point_count)
            .filter(|&i| self.shard.contains(i))
            .collect()
    }

    /// The axis values of point `index`, last axis fastest.
    pub fn point_values(&self, index: usize) -> Vec<&serde_json::Value> {
        let mut rest = index;
        let mut values = Vec::with_capacity(self.axes.len());
        for axis in self.axes.iter().rev() {
            values.push(&axis.values[rest % axis.values.len()]);
            rest /= axis.values.len();
        }
        values.reverse();
        values
    }

    /// The canonical text of point `index` (see `crate::sweep::canonical_point`), from which its
    /// seeds are derived; `None` when a value cannot be read back as TOML (a JSON `null`).
    pub fn canonical_point(&self, index: usize) -> Option<String> {
        let values: Vec<toml::Value> = self
            .point_values(index)
            .into_iter()
            .map(toml_of_json)
            .collect::<Option<_>>()?;
        let names = self.axes.iter().map(|axis| axis.name.clone());
        Some(crate::sweep::canonical_point_of(names.zip(&values)))
    }

    fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a manifest always serialises");
        text.push('\n');
        text
    }
}

/// An axis value as the manifest stores it, back as the TOML value it was written from.
fn toml_of_json(value: &serde_json::Value) -> Option<toml::Value> {
    match value {
        serde_json::Value::Bool(flag) => Some(toml::Value::Boolean(*flag)),
        serde_json::Value::String(text) => Some(toml::Value::String(text.clone())),
        serde_json::Value::Number(number) if number.is_f64() => {
            number.as_f64().map(toml::Value::Float)
        }
        serde_json::Value::Number(number) => number.as_i64().map(toml::Value::Integer),
        _ => None,
    }
}

/// Whether an existing directory of another experiment may be overwritten.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overwrite {
    /// Refuse (the default).
    Refuse,
    /// Delete this program's files there and start again (`--force`).
    Force,
}

/// Checks an output directory before anything is written: it must be new, empty of results, or
/// hold a resumable run of the same experiment and shard.
pub fn check_out_dir(dir: &Path, manifest: &Manifest, overwrite: Overwrite) -> Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    if !dir.is_dir() {
        return Err(InputError::new(format!(
            "--out {}: exists and is not a directory",
            dir.display()
        ))
        .into());
    }
    let conflict = match read_manifest(dir) {
        Ok(Some(existing)) if existing == *manifest => match copy_conflict(dir, manifest)? {
            None => return Ok(()),
            Some(conflict) => conflict,
        },
        Ok(Some(existing)) => describe_difference(&existing, manifest),
        Ok(None) if OWNED_FILES.iter().any(|f| dir.join(f).exists()) => {
            "it holds result files but no manifest.json".to_string()
        }
        Ok(None) => return Ok(()),
        Err(error) => format!("its manifest cannot be read ({error})"),
    };
    match overwrite {
        Overwrite::Force => remove_owned_files(dir),
        Overwrite::Refuse => Err(InputError::new(format!(
            "--out {}: {conflict}; choose another directory or pass --force to replace its results",
            dir.display()
        ))
        .into()),
    }
}

/// The hash the experiment copy's header names, if the copy is there and has the header.
pub fn experiment_copy_hash(dir: &Path) -> Result<Option<String>> {
    let path = dir.join(EXPERIMENT_COPY_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(Error::io(&path, error)),
    };
    let first = text.lines().next().unwrap_or("");
    let hash = first
        .strip_prefix("# Experiment `")
        .and_then(|rest| rest.rsplit_once(" (hash "))
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(hash, _)| hash.to_string());
    Ok(hash)
}

/// Why the experiment copy of `dir` does not belong to `manifest`, if it does not: the two
/// were written by different experiments (two sweeps mixed, or a hand edit).
pub fn copy_conflict(dir: &Path, manifest: &Manifest) -> Result<Option<String>> {
    Ok(experiment_copy_hash(dir)?
        .filter(|hash| *hash != manifest.experiment_hash)
        .map(|hash| {
            format!(
                "its {EXPERIMENT_COPY_FILE} is of experiment hash {hash} but its {MANIFEST_FILE}                  says hash {}, so the two files come from different experiments",
                manifest.experiment_hash
            )
        }))
}

fn describe_difference(existing: &Manifest, wanted: &Manifest) -> String {
    if existing.format_version != wanted.format_version {
        format!(
            "it holds results of format version {}, not {}",
            existing.format_version, FORMAT_VERSION
        )
    } else if existing.experiment_hash != wanted.experiment_hash || existing.axes != wanted.axes {
        format!(
            "it holds results of a different experiment (`{}`, hash {}; this one is `{}`, hash {})",
            existing.experiment,
            existing.experiment_hash,
            wanted.experiment,
            wanted.experiment_hash
        )
    } else if existing.shard != wanted.shard {
        format!(
            "it holds shard {}/{} of this experiment, not {}/{}",
            existing.shard.index, existing.shard.count, wanted.shard.index, wanted.shard.count
        )
    } else {
        "it holds results with different settings".to_string()
    }
}

fn remove_owned_files(dir: &Path) -> Result<()> {
    for name in OWNED_FILES {
        let path = dir.join(name);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(Error::io(&path, error)),
        }
    }
    Ok(())
}

/// Reads `dir/manifest.json` if there is one.
pub fn read_manifest(dir: &Path) -> Result<Option<Manifest>> {
    let path = dir.join(MANIFEST_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(Error::io(&path, error)),
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|error| Error::Corrupt {
            path,
            message: error.to_string(),
        })
}

/// Creates the directory and writes the manifest and the experiment copy if they are not there
/// yet (the copy first, so a directory with a manifest always has both).
pub fn init_out_dir(dir: &Path, manifest: &Manifest, experiment_copy: &str) -> Result<()> {
    fs::create_dir_all(dir).map_err(|error| Error::io(dir, error))?;
    if !dir.join(MANIFEST_FILE).exists() {
        write_atomically(&dir.join(EXPERIMENT_COPY_FILE), experiment_copy.as_bytes())?;
        write_atomically(&dir.join(MANIFEST_FILE), manifest.to_json().as_bytes())?;
    }
    Ok(())
}

/// The text of the experiment copy: a header naming the experiment's hash, the effective world
/// sections as swept (command-line `--set` overrides applied, so a report reads the values the
/// runs used), then the original file as comments for reference. The sweep axes are in the
/// manifest and the result columns.
pub fn experiment_copy_text(manifest: &Manifest, experiment: &Experiment) -> String {
    let mut effective = toml::Table::new();
    let mut about = toml::Table::new();
    about.insert(
        "name".to_owned(),
        toml::Value::from(experiment.name.clone()),
    );
    if !experiment.description.is_empty() {
        let description = toml::Value::from(experiment.description.clone());
        about.insert("description".to_owned(), description);
    }
    effective.insert("experiment".to_owned(), toml::Value::Table(about));
    for (section, value) in &experiment.sections {
        effective.insert(section.clone(), value.clone());
    }
    let body = toml::to_string(&effective).unwrap_or_else(|error| {
        format!("# (the effective sections could not be written: {error})\n")
    });
    let mut text = format!(
        "# Experiment `{}` (hash {}) as swept: the effective sections, with command-line\n\
         # overrides applied. The sweep axes are in manifest.json and the result columns.\n\n{body}\n\
         # ---- the original file, for reference ----\n",
        manifest.experiment, manifest.experiment_hash
    );
    for line in experiment.source.text.lines() {
        text.push_str("# ");
        text.push_str(line);
        text.push('\n');
    }
    text
}

/// Writes a file beside its final name, fsyncs it, then renames it into place. On any failure
/// the temporary file is removed before the error is returned, so nothing partial stays behind.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomically_with(path, |file| file.write_all(bytes))
}

/// The temporary name [`write_atomically`] writes `path` under.
pub fn partial_path(path: &Path) -> PathBuf {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{file_name}.partial"))
}

/// [`write_atomically`] with the step that fills the temporary file given by the caller: the
/// seam through which tests make a write fail half-way.
fn write_atomically_with(
    path: &Path,
    fill: impl FnOnce(&mut fs::File) -> io::Result<()>,
) -> Result<()> {
    let temporary = partial_path(path);
    let write = || -> io::Result<()> {
        let mut file = fs::File::create(&temporary)?;
        fill(&mut file)?;
        file.sync_all()?;
        fs::rename(&temporary, path)
    };
    if let Err(error) = write() {
        // Best effort: the file may never have been created, and the original error matters.
        let _ = fs::remove_file(&temporary);
        return Err(Error::io(path, error));
    }
    // Make the rename itself durable; a directory that cannot be opened is not an error.
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if let Ok(directory) = fs::File::open(parent) {
        directory
            .sync_all()
            .map_err(|error| Error::io(parent, error))?;
    }
    Ok(())
}

/// Removes the temporary files a killed writer left in `dir` (call it with the directory's
/// lock held, so no live writer owns them).
pub fn remove_stale_partials(dir: &Path) -> Result<()> {
    for name in OWNED_FILES {
        let path = partial_path(&dir.join(name));
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(Error::io(&path, error)),
        }
    }
    Ok(())
}

/// Formats a float so that it reads back to the same bits: shortest round-trip decimal, never
/// an exponent; `NaN`, `inf` and `-inf` for the rest.
pub fn format_f64(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_string()
    } else if value.is_infinite() {
        if value > 0.0 {
            "inf".to_string()
        } else {
            "-inf".to_string()
        }
    } else {
        format!("{value}")
    }
}

fn json_f64(value: f64) -> String {
    if value.is_finite() {
        format_f64(value)
    } else {
        "null".to_string()
    }
}

/// The three result files, as bytes, for a manifest and its finished points (in any order).
pub struct Assembled {
    /// `results.csv`.
    pub results_csv: Vec<u8>,
    /// `results.jsonl`.
    pub results_jsonl: Vec<u8>,
    /// `summary.csv`.
    pub summary_csv: Vec<u8>,
}

/// Builds the result files from finished points, sorted by point and replicate.
pub fn assemble(manifest: &Manifest, finished: &[PointResult]) -> Result<Assembled, String> {
    let mut points: Vec<&PointResult> = finished.iter().collect();
    points.sort_by_key(|p| p.point);
    // Rows of rejected points have no metrics; the columns come from the first row that has.
    let metric_names: Vec<String> = points
        .iter()
        .flat_map(|p| &p.rows)
        .find(|row| !row.metrics.is_empty())
        .map(|row| row.metrics.iter().map(|(name, _)| name.clone()).collect())
        .unwrap_or_default();
    for point in &points {
        for row in point.rows.iter().filter(|row| !row.metrics.is_empty()) {
            let names = row.metrics.iter().map(|(name, _)| name);
            if !names.eq(metric_names.iter()) {
                return Err(format!(
                    "point {} has different metric columns from the others",
                    point.point
                ));
            }
        }
    }
    Ok(Assembled {
        results_csv: results_csv(manifest, &points, &metric_names)?,
        results_jsonl: results_jsonl(manifest, &points, &metric_names),
        summary_csv: summary_csv(manifest, &points, &metric_names)?,
    })
}

/// Metric `index` of a row, NaN for a rejected point's row.
fn metric_at(row: &RunRow, index: usize) -> f64 {
    row.metrics.get(index).map_or(f64::NAN, |(_, value)| *value)
}

fn cell_of(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn results_csv(
    manifest: &Manifest,
    points: &[&PointResult],
    metric_names: &[String],
) -> Result<Vec<u8>, String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = vec!["point".into(), "replicate".into(), "seed".into()];
    header.extend(manifest.axes.iter().map(|a| a.name.clone()));
    header.extend(metric_names.iter().cloned());
    header.push("warnings".into());
    writer.write_record(&header).map_err(|e| e.to_string())?;
    for point in points {
        let axis_cells: Vec<String> = manifest
            .point_values(point.point)
            .into_iter()
            .map(cell_of)
            .collect();
        for row in &point.rows {
            let mut record = vec![
                point.point.to_string(),
                row.replicate.to_string(),
                row.seed.to_string(),
            ];
            record.extend(axis_cells.iter().cloned());
            record.extend((0..metric_names.len()).map(|i| format_f64(metric_at(row, i))));
            record.push(row.warnings.join("; ").replace('\n', " "));
            writer.write_record(&record).map_err(|e| e.to_string())?;
        }
    }
    writer.into_inner().map_err(|e| e.to_string())
}

fn results_jsonl(manifest: &Manifest, points: &[&PointResult], metric_names: &[String]) -> Vec<u8> {
    let key = |name: &str| serde_json::to_string(name).expect("strings serialise");
    let mut out = String::new();
    for point in points {
        let values = manifest.point_values(point.point);
        for row in &point.rows {
            let mut fields = vec![
                format!("\"point\":{}", point.point),
                format!("\"replicate\":{}", row.replicate),
                format!("\"seed\":{}", row.seed),
            ];
            for (axis, value) in manifest.axes.iter().zip(&values) {
                fields.push(format!("{}:{}", key(&axis.name), value));
            }
            for (i, name) in metric_names.iter().enumerate() {
                fields.push(format!("{}:{}", key(name), json_f64(metric_at(row, i))));
            }
            let warnings = serde_json::to_string(&row.warnings).expect("strings serialise");
            fields.push(format!("\"warnings\":{warnings}"));
            out.push('{');
            out.push_str(&fields.join(","));
            out.push_str("}\n");
        }
    }
    out.into_bytes()
}

fn summary_csv(
    manifest: &Manifest,
    points: &[&PointResult],
    metric_names: &[String],
) -> Result<Vec<u8>, String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = vec!["point".into()];
    header.extend(manifest.axes.iter().map(|a| a.name.clone()));
    for column in [
        "metric",
        "count",
        "mean",
        "stddev",
        "ci95_half_width",
        "ci95_low",
        "ci95_high",
    ] {
        header.push(column.into());
    }
    writer.write_record(&header).map_err(|e| e.to_string())?;
    for point in points {
        let axis_cells: Vec<String> = manifest
            .point_values(point.point)
            .into_iter()
            .map(cell_of)
            .collect();
        for (column, name) in metric_names.iter().enumerate() {
            let values: Vec<f64> = point
                .rows
                .iter()
                .filter(|row| !row.metrics.is_empty())
                .map(|row| metric_at(row, column))
                .collect();
            let summary = Summary::of(&values);
            let mut record = vec![point.point.to_string()];
            record.extend(axis_cells.iter().cloned());
            record.push(name.clone());
            record.push(summary.count.to_string());
            for value in [
                summary.mean,
                summary.stddev,
                summary.ci95_half_width,
                summary.mean - summary.ci95_half_width,
                summary.mean + summary.ci95_half_width,
            ] {
                record.push(format_f64(value));
            }
            writer.write_record(&record).map_err(|e| e.to_string())?;
        }
    }
    writer.into_inner().map_err(|e| e.to_string())
}

/// Assembles and atomically writes the three result files of `dir`.
pub fn write_results(dir: &Path, manifest: &Manifest, finished: &[PointResult]) -> Result<()> {
    let assembled = assemble(manifest, finished).map_err(|message| Error::Corrupt {
        path: dir.join(JOURNAL_FILE),
        message,
    })?;
    write_atomically(&dir.join(RESULTS_CSV_FILE), &assembled.results_csv)?;
    write_atomically(&dir.join(RESULTS_JSONL_FILE), &assembled.results_jsonl)?;
    write_atomically(&dir.join(SUMMARY_CSV_FILE), &assembled.summary_csv)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::{Just, Strategy};

    fn manifest() -> Manifest {
        Manifest {
            format_version: FORMAT_VERSION,
            experiment: "t".into(),
            experiment_hash: "00".into(),
            master_seed: 1,
            replicates: 2,
            point_count: 2,
            axes: vec![ManifestAxis {
                name: "producer.linger.ms".into(),
                values: vec![0.into(), 5.into()],
            }],
            shard: Shard::ALL,
            partial: false,
        }
    }

    fn point(index: usize, base: f64) -> PointResult {
        let rows = (0..2)
            .map(|replicate| RunRow {
                replicate,
                seed: 100 + replicate as u64,
                metrics: vec![("x".into(), base + f64::from(replicate)), ("y".into(), 0.1)],
                warnings: vec![],
            })
            .collect();
        PointResult { point: index, rows }
    }

    #[test]
    fn assembly_is_independent_of_completion_order() {
        let a = assemble(&manifest(), &[point(0, 1.0), point(1, 3.0)]).expect("valid");
        let b = assemble(&manifest(), &[point(1, 3.0), point(0, 1.0)]).expect("valid");
        assert_eq!(a.results_csv, b.results_csv);
        assert_eq!(a.summary_csv, b.summary_csv);
        let csv = String::from_utf8(a.results_csv).expect("utf-8");
        assert_eq!(
            csv,
            "point,replicate,seed,producer.linger.ms,x,y,warnings\n0,0,100,0,1,0.1,\n0,1,101,0,2,0.1,\n\
             1,0,100,5,3,0.1,\n1,1,101,5,4,0.1,\n"
        );
        let summary = String::from_utf8(a.summary_csv).expect("utf-8");
        assert!(
            summary.starts_with("point,producer.linger.ms,metric,count,mean,stddev"),
            "{summary}"
        );
        assert!(summary.contains("\n0,0,x,2,1.5,"), "{summary}");
        let jsonl = String::from_utf8(a.results_jsonl).expect("utf-8");
        assert!(
            jsonl.starts_with(
                "{\"point\":0,\"replicate\":0,\"seed\":100,\"producer.linger.ms\":0,\"x\":1,"
            ),
            "{jsonl}"
        );
    }

    #[test]
    fn floats_round_trip_through_text() {
        for value in [0.1, 1.0 / 3.0, 1e-300, 123456789.123, -0.0, 1e21] {
            assert_eq!(
                format_f64(value).parse::<f64>().expect("parses").to_bits(),
                value.to_bits()
            );
        }
        assert_eq!(format_f64(f64::NAN), "NaN");
        assert_eq!(json_f64(f64::INFINITY), "null");
    }

    #[test]
    fn a_different_experiment_is_refused_without_force() {
        let dir = std::env::temp_dir().join(format!("linger-manifest-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        init_out_dir(&dir, &manifest(), "").expect("creates");
        assert!(check_out_dir(&dir, &manifest(), Overwrite::Refuse).is_ok());
        let mut other = manifest();
        other.experiment_hash = "ff".into();
        let error = check_out_dir(&dir, &other, Overwrite::Refuse).expect_err("refused");
        assert_eq!(error.exit_code(), 2);
        assert!(
            error.to_string().contains("different experiment"),
            "{error}"
        );
        assert!(check_out_dir(&dir, &other, Overwrite::Force).is_ok());
        assert!(!dir.join(MANIFEST_FILE).exists());
        fs::remove_dir_all(&dir).expect("cleans up");
    }

    #[test]
    fn a_failed_write_leaves_no_temporary_file_and_the_old_file_intact() {
        let dir = std::env::temp_dir().join(format!("linger-write-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join(RESULTS_CSV_FILE);
        write_atomically(&path, b"old\n").expect("writes");
        // A disk that fills half-way through the write.
        let error = write_atomically_with(&path, |file| {
            file.write_all(b"half of the new")?;
            Err(io::Error::new(io::ErrorKind::StorageFull, "no space left"))
        })
        .expect_err("the write fails");
        assert_eq!(error.exit_code(), 1);
        assert!(error.to_string().contains("results.csv"), "{error}");
        assert!(
            !partial_path(&path).exists(),
            "the temporary file is removed"
        );
        assert_eq!(fs::read(&path).expect("reads"), b"old\n");
        // A rename that fails (the target is a directory that is not empty).
        let blocked = dir.join(SUMMARY_CSV_FILE);
        fs::create_dir_all(blocked.join("inside")).expect("a directory in the way");
        write_atomically(&blocked, b"x").expect_err("cannot replace a directory");
        assert!(
            !partial_path(&blocked).exists(),
            "the temporary file is removed"
        );
        // A killed writer's leftovers go when the directory is next taken.
        fs::write(partial_path(&dir.join(JOURNAL_FILE)), "left over").expect("writes");
        remove_stale_partials(&dir).expect("removes");
        assert!(!partial_path(&dir.join(JOURNAL_FILE)).exists());
        fs::remove_dir_all(&dir).expect("cleans up");
    }

    #[test]
    fn the_manifest_derives_the_same_canonical_point_as_the_experiment() {
        let text = "[sweep.producer]\n\"linger.ms\" = [0, 5]\nacks = [\"1\", \"all\"]\n\
                    [sweep.network]\nratio = [0.5, 1.0]\nflag = [true, false]\n";
        let experiment =
            Experiment::parse(crate::spec::Source::built_in("m.toml", text), &[]).expect("parses");
        let points = crate::sweep::Points::new(&experiment.axes, 100).expect("small");
        let manifest = crate::runner::manifest_of(&experiment, points.count(), Shard::ALL);
        for index in 0..points.count() {
            let wanted = crate::sweep::canonical_point(&experiment.axes, &points.values(index));
            assert_eq!(manifest.canonical_point(index), Some(wanted));
        }
    }

    #[test]
    fn an_experiment_copy_of_another_hash_is_a_conflict() {
        let dir = std::env::temp_dir().join(format!("linger-copy-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("temp dir");
        let header = "# Experiment `t` (hash 00) as swept: the effective sections\n";
        fs::write(dir.join(EXPERIMENT_COPY_FILE), header).expect("writes");
        assert_eq!(copy_conflict(&dir, &manifest()).expect("reads"), None);
        fs::write(dir.join(EXPERIMENT_COPY_FILE), header.replace("00", "ff")).expect("writes");
        let conflict = copy_conflict(&dir, &manifest())
            .expect("reads")
            .expect("a conflict");
        assert!(
            conflict.contains("hash ff") && conflict.contains("hash 00"),
            "{conflict}"
        );
        fs::write(dir.join(MANIFEST_FILE), manifest().to_json()).expect("writes");
        let error = check_out_dir(&dir, &manifest(), Overwrite::Refuse).expect_err("refused");
        assert_eq!(error.exit_code(), 2);
        fs::remove_dir_all(&dir).expect("cleans up");
    }

    proptest::proptest! {
        #[test]
        fn assembled_bytes_ignore_the_order_points_finished(
            order in Just((0..2usize).collect::<Vec<_>>()).prop_shuffle(),
            base in -1e6f64..1e6,
        ) {
            let finished: Vec<PointResult> = order.iter().map(|&i| point(i, base + i as f64)).collect();
            let sorted = vec![point(0, base), point(1, base + 1.0)];
            let a = assemble(&manifest(), &finished).expect("valid");
            let b = assemble(&manifest(), &sorted).expect("valid");
            proptest::prop_assert_eq!(a.results_csv, b.results_csv);
            proptest::prop_assert_eq!(a.results_jsonl, b.results_jsonl);
            proptest::prop_assert_eq!(a.summary_csv, b.summary_csv);
        }
    }
}
