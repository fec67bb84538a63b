//! Reading a sweep's results directory: the manifest (with its format version), the tidy
//! `results.csv`, the sweep axes, and column look-up by exact name, unique suffix or alias.
//!
//! The directory layout is the experiments crate's: `manifest.json` (an object with an integer
//! `format_version` and the `axes` list), `results.csv` (one row per replicate: `point`,
//! `replicate`, `seed`, one column per axis, then metric columns) and, for the report, any copy of
//! the experiment file (`*.toml`). `summary.csv` is not read: means and 95% intervals are
//! recomputed from the replicates, which keeps this reader independent of the summary's layout.

use std::path::{Path, PathBuf};

use crate::error::ReportError;

/// The results format this reader understands (`format_version` in `manifest.json`).
pub const RESULTS_FORMAT_VERSION: u64 = 1;

/// The manifest's file name inside a results directory.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The tidy per-replicate results file inside a results directory.
pub const RESULTS_FILE: &str = "results.csv";

/// Short names accepted for metric columns (alias, column).
pub const COLUMN_ALIASES: &[(&str, &str)] = &[
    ("throughput", "throughput_records_per_s"),
    ("throughput_bytes", "throughput_bytes_per_s"),
    ("p50", "latency_p50_ms"),
    ("p90", "latency_p90_ms"),
    ("p99", "latency_p99_ms"),
    ("p999", "latency_p999_ms"),
    ("latency", "latency_p99_ms"),
];

/// One data row of `results.csv`.
#[derive(Clone, Debug)]
pub(crate) struct Row {
    /// 1-based line in the file.
    pub line: u64,
    /// The cells, in column order.
    pub cells: Vec<String>,
}

/// A configuration point: the rows (replicates) that share one set of axis values.
#[derive(Clone, Debug)]
pub(crate) struct Point {
    /// One value per sweep axis, in axis order.
    pub axis_values: Vec<String>,
    /// Indexes into `Sweep::rows`.
    pub rows: Vec<usize>,
}

/// A loaded results directory.
#[derive(Clone, Debug)]
pub(crate) struct Sweep {
    /// The directory.
    pub dir: PathBuf,
    /// The parsed manifest.
    pub manifest: serde_json::Value,
    /// The results file's path (for error messages).
    pub results_path: PathBuf,
    /// The header of `results.csv`.
    pub columns: Vec<String>,
    /// The data rows.
    pub rows: Vec<Row>,
    /// Column indexes of the sweep axes.
    pub axes: Vec<usize>,
    /// Configuration points in order of first appearance.
    pub points: Vec<Point>,
    /// Copies of experiment files found in the directory: (file name, text).
    pub experiment_files: Vec<(String, String)>,
}

impl Sweep {
    /// Loads and validates `dir`; nothing is written.
    pub(crate) fn load(dir: &Path) -> Result<Sweep, ReportError> {
        if !dir.is_dir() {
            return Err(ReportError::MissingDir {
                dir: dir.to_path_buf(),
            });
        }
        let manifest = read_manifest(dir)?;
        let results_path = dir.join(RESULTS_FILE);
        if !results_path.is_file() {
            return Err(ReportError::MissingFile { path: results_path });
        }
        let (columns, rows) = read_csv(&results_path)?;
        let manifest_path = dir.join(MANIFEST_FILE);
        let axes = find_axes(&manifest, &columns, (&manifest_path, &results_path))?;
        let experiment_files = read_experiment_files(dir)?;
        let files = Files {
            manifest: &manifest_path,
            results: &results_path,
            dir,
        };
        check_copy_hash(&manifest, &experiment_files, &files)?;
        check_rows(&manifest, &columns, &rows, &files)?;
        let points = group_points(&columns, &rows, &axes);
        Ok(Sweep {
            dir: dir.to_path_buf(),
            manifest,
            results_path,
            columns,
            rows,
            axes,
            points,
            experiment_files,
        })
    }

    /// The column called `name`: an exact name, an alias from [`COLUMN_ALIASES`], or a unique
    /// suffix at a `.`/`_`/`-` boundary (`linger.ms` finds `producer.linger.ms`).
    pub(crate) fn column(&self, name: &str) -> Result<usize, ReportError> {
        resolve_column(&self.columns, name).map_err(|matches| {
            if matches.is_empty() {
                ReportError::UnknownColumn {
                    name: name.to_owned(),
                    path: self.results_path.clone(),
                    available: self.columns.clone(),
                }
            } else {
                ReportError::AmbiguousColumn {
                    name: name.to_owned(),
                    path: self.results_path.clone(),
                    matches,
                }
            }
        })
    }

    /// Like [`Sweep::column`] but `None` when absent or ambiguous.
    pub(crate) fn find_column(&self, name: &str) -> Option<usize> {
        resolve_column(&self.columns, name).ok()
    }

    /// Position of column `column` among the axes, if it is an axis.
    pub(crate) fn axis_index(&self, column: usize) -> Option<usize> {
        self.axes.iter().position(|&a| a == column)
    }

    /// The numeric value of `column` in row `row`; `None` for an empty or NaN cell.
    pub(crate) fn number(&self, row: usize, column: usize) -> Result<Option<f64>, ReportError> {
        let row = &self.rows[row];
        let text = row.cells.get(column).map(|s| s.trim()).unwrap_or("");
        parse_number(text).map_err(|()| ReportError::NotNumeric {
            path: self.results_path.clone(),
            line: row.line,
            column: self.columns[column].clone(),
            value: text.to_owned(),
        })
    }

    /// Validates that every cell of `column` is a number or empty.
    pub(crate) fn check_numeric(&self, column: usize) -> Result<(), ReportError> {
        for row in 0..self.rows.len() {
            self.number(row, column)?;
        }
        Ok(())
    }

    /// The per-replicate values of `column` at `point`, skipping empty cells.
    pub(crate) fn values(&self, point: &Point, column: usize) -> Result<Vec<f64>, ReportError> {
        let mut out = Vec::with_capacity(point.rows.len());
        for &row in &point.rows {
            if let Some(v) = self.number(row, column)? {
                out.push(v);
            }
        }
        Ok(out)
    }

    /// When the directory is a partial merge (`partial` in `manifest.json`, written by
    /// `linger merge --partial`), how many points it holds and which shards it lacks.
    pub(crate) fn partial_note(&self) -> Option<String> {
        let partial = self.manifest.get("partial")?;
        let number = |key: &str| partial.get(key).and_then(serde_json::Value::as_u64);
        let shards: Vec<&str> = partial
            .get("missing_shards")
            .and_then(serde_json::Value::as_array)
            .map(|list| list.iter().filter_map(serde_json::Value::as_str).collect())
            .unwrap_or_default();
        let counts = match (number("points_present"), number("points_missing")) {
            (Some(present), Some(missing)) => {
                format!("{present} of {} points", present + missing)
            }
            _ => "some of the points".to_owned(),
        };
        let from = if shards.is_empty() {
            String::new()
        } else {
            format!(
                "; missing shard{} {}",
                if shards.len() == 1 { "" } else { "s" },
                shards.join(", ")
            )
        };
        Some(format!("{counts}{from}"))
    }

    /// What part of the sweep this directory holds, when it is not the whole: a shard of a
    /// sharded sweep, a directory the manifest marks `partial` (merged from some shards only),
    /// or fewer points in `results.csv` than the sweep has (a sweep stopped or still running).
    /// Every report and ranking names it, since a best configuration over some points is not
    /// the best of the sweep.
    pub(crate) fn completeness(&self) -> Option<String> {
        let total = manifest_count(&self.manifest, "point_count")?;
        let shard = self.manifest.get("shard");
        let shard_of = |key: &str| {
            shard
                .and_then(|s| s.get(key))
                .and_then(serde_json::Value::as_u64)
        };
        let (index, count) = (
            shard_of("index").unwrap_or(1),
            shard_of("count").unwrap_or(1),
        );
        // `linger merge --partial` writes an object with the counts and the missing shards.
        let merged_note = self.partial_note().filter(|_| {
            self.manifest
                .get("partial")
                .is_some_and(serde_json::Value::is_object)
        });
        if let Some(note) = merged_note {
            return Some(format!(
                "partial results: {note}. This directory was merged with points missing: tables, \
                 rankings and plots cover only the points present; merge the missing shards for \
                 the whole sweep"
            ));
        }
        let marked = self
            .manifest
            .get("partial")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false);
        let present = self.points.len() as u64;
        if count <= 1 && !marked && present >= total {
            return None;
        }
        let mut text = format!("partial results: {present} of the sweep's {total} points");
        if count > 1 {
            text.push_str(&format!(" (this directory is shard {index}/{count})"));
        } else if marked {
            text.push_str(" (merged from some of its shards only)");
        }
        text.push_str(
            "; every ranking here is over these points only, and the sweep's best may be among \
             the points not run",
        );
        Some(text)
    }

    /// A short label of a point's configuration, such as `linger.ms=5 batch.size=16384`.
    pub(crate) fn point_label(&self, point: &Point) -> String {
        let parts: Vec<String> = self
            .axes
            .iter()
            .zip(&point.axis_values)
            .map(|(&a, v)| format!("{}={v}", short_name(&self.columns[a])))
            .collect();
        if parts.is_empty() {
            "default".to_owned()
        } else {
            parts.join(" ")
        }
    }
}

/// The name without a leading `producer.`/`broker.`/`network.` style prefix, for labels.
pub(crate) fn short_name(column: &str) -> &str {
    for prefix in [
        "producer.",
        "broker.",
        "brokers.",
        "network.",
        "net.",
        "workload.",
        "cluster.",
    ] {
        if let Some(rest) = column.strip_prefix(prefix) {
            return rest;
        }
    }
    column
}

fn parse_number(text: &str) -> Result<Option<f64>, ()> {
    if text.is_empty() || text.eq_ignore_ascii_case("nan") {
        return Ok(None);
    }
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(Some(v)),
        Ok(_) => Ok(None),
        Err(_) => Err(()),
    }
}

/// Finds `name` among `columns`; on failure returns the candidates (empty when none match).
pub(crate) fn resolve_column(columns: &[String], name: &str) -> Result<usize, Vec<String>> {
    if let Some(i) = columns.iter().position(|c| c == name) {
        return Ok(i);
    }
    if let Some((_, target)) = COLUMN_ALIASES.iter().find(|(alias, _)| *alias == name)
        && let Some(i) = columns.iter().position(|c| c == target)
    {
        return Ok(i);
    }
    let wanted = normalise(name);
    let matches: Vec<usize> = (0..columns.len())
        .filter(|&i| {
            let have = normalise(&columns[i]);
            have == wanted || have.ends_with(&format!(".{wanted}"))
        })
        .collect();
    match matches.as_slice() {
        [one] => Ok(*one),
        _ => Err(matches.iter().map(|&i| columns[i].clone()).collect()),
    }
}

fn normalise(name: &str) -> String {
    name.trim().to_ascii_lowercase().replace(['_', '-'], ".")
}

fn read_manifest(dir: &Path) -> Result<serde_json::Value, ReportError> {
    let path = dir.join(MANIFEST_FILE);
    if !path.is_file() {
        return Err(ReportError::MissingFile { path });
    }
    let text = std::fs::read_to_string(&path).map_err(|e| ReportError::io(&path, e))?;
    let manifest: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| ReportError::Json {
            source_name: path.display().to_string(),
            line: Some(e.line() as u64),
            message: e.to_string(),
        })?;
    let version = ["format_version", "format"]
        .iter()
        .find_map(|k| manifest.get(*k).and_then(serde_json::Value::as_u64));
    match version {
        None => Err(ReportError::NoFormatVersion {
            path,
            supported: RESULTS_FORMAT_VERSION,
        }),
        Some(v) if v < RESULTS_FORMAT_VERSION => Err(ReportError::UnsupportedFormat {
            path,
            found: v,
            supported: RESULTS_FORMAT_VERSION,
            advice: "the results are older than this reader; re-run the sweep",
        }),
        Some(v) if v > RESULTS_FORMAT_VERSION => Err(ReportError::UnsupportedFormat {
            path,
            found: v,
            supported: RESULTS_FORMAT_VERSION,
            advice: "the results are newer than this reader; update linger",
        }),
        Some(_) => Ok(manifest),
    }
}

fn read_csv(path: &Path) -> Result<(Vec<String>, Vec<Row>), ReportError> {
    let csv_error = |e: csv::Error| ReportError::Csv {
        path: path.to_path_buf(),
        line: e.position().map(csv::Position::line),
        message: e.to_string(),
    };
    let mut reader = csv::ReaderBuilder::new()
        .from_path(path)
        .map_err(csv_error)?;
    let columns: Vec<String> = reader
        .headers()
        .map_err(csv_error)?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(csv_error)?;
        let line = record.position().map_or(0, csv::Position::line);
        rows.push(Row {
            line,
            cells: record.iter().map(str::to_owned).collect(),
        });
    }
    if rows.is_empty() {
        return Err(ReportError::NoRows {
            path: path.to_path_buf(),
        });
    }
    Ok((columns, rows))
}

/// The axis columns: the manifest's `axes` list (every manifest of this format has one, empty
/// for a sweep without axes), so this reader needs no list of the metric columns.
fn find_axes(
    manifest: &serde_json::Value,
    columns: &[String],
    (manifest_path, path): (&Path, &Path),
) -> Result<Vec<usize>, ReportError> {
    let Some(list) = manifest.get("axes").and_then(serde_json::Value::as_array) else {
        return Err(ReportError::ManifestKey {
            path: manifest_path.to_path_buf(),
            key: "axes",
        });
    };
    let mut axes = Vec::new();
    for entry in list {
        let name = entry.as_str().or_else(|| {
            ["column", "key", "name"]
                .iter()
                .find_map(|k| entry.get(*k)?.as_str())
        });
        let Some(name) = name else { continue };
        match resolve_column(columns, name) {
            Ok(i) if !axes.contains(&i) => axes.push(i),
            Ok(_) => {}
            Err(_) => {
                return Err(ReportError::UnknownColumn {
                    name: name.to_owned(),
                    path: path.to_path_buf(),
                    available: columns.to_vec(),
                });
            }
        }
    }
    Ok(axes)
}

/// The paths that consistency errors name.
struct Files<'a> {
    manifest: &'a Path,
    results: &'a Path,
    dir: &'a Path,
}

/// The experiment copy `linger sweep` writes starts with a header naming the experiment's hash;
/// it must be the manifest's.
fn check_copy_hash(
    manifest: &serde_json::Value,
    experiment_files: &[(String, String)],
    files: &Files<'_>,
) -> Result<(), ReportError> {
    let Some(wanted) = manifest
        .get("experiment_hash")
        .and_then(serde_json::Value::as_str)
    else {
        return Ok(());
    };
    let Some((name, text)) = experiment_files
        .iter()
        .find(|(name, _)| name == "experiment.toml")
    else {
        return Ok(());
    };
    let header_hash = text
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("# Experiment `"))
        .and_then(|rest| rest.rsplit_once(" (hash "))
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(hash, _)| hash);
    match header_hash {
        Some(hash) if hash != wanted => Err(ReportError::Inconsistent {
            path: files.manifest.to_path_buf(),
            line: None,
            message: format!(
                "says experiment hash {wanted}, but {} was written for hash {hash}: the two                  files come from different experiments",
                files.dir.join(name).display()
            ),
        }),
        _ => Ok(()),
    }
}

/// The manifest's counts, when it has them (every manifest `linger sweep` writes does).
fn manifest_count(manifest: &serde_json::Value, key: &str) -> Option<u64> {
    manifest.get(key).and_then(serde_json::Value::as_u64)
}

/// The manifest's axes as (name, values), for those that list their values.
fn manifest_axis_values(manifest: &serde_json::Value) -> Vec<(&str, &Vec<serde_json::Value>)> {
    manifest
        .get("axes")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|axis| {
            let name = axis.get("name")?.as_str()?;
            let values = axis.get("values")?.as_array()?;
            Some((name, values)).filter(|(_, values)| !values.is_empty())
        })
        .collect()
}

/// A value as `linger sweep` writes it in a CSV cell: strings bare, the rest as JSON.
fn cell_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Checks the rows against the manifest: the axis columns follow `point, replicate, seed` in
/// the manifest's order, there are no more rows than points x replicates, every row's point
/// and replicate are in range and appear once, and its axis cells are the manifest's values for
/// its point.
fn check_rows(
    manifest: &serde_json::Value,
    columns: &[String],
    rows: &[Row],
    files: &Files<'_>,
) -> Result<(), ReportError> {
    let axes = manifest_axis_values(manifest);
    check_sweep_keys(manifest, axes.len(), files.manifest)?;
    let inconsistent = |line: Option<u64>, message: String| ReportError::Inconsistent {
        path: files.results.to_path_buf(),
        line,
        message,
    };
    let leading = ["point", "replicate", "seed"];
    if !columns.iter().take(3).eq(leading.iter()) {
        return Ok(());
    }
    let axis_columns: Vec<&str> = columns[3..]
        .iter()
        .take(axes.len())
        .map(String::as_str)
        .collect();
    let axis_names: Vec<&str> = axes.iter().map(|(name, _)| *name).collect();
    if axis_columns != axis_names {
        return Err(inconsistent(
            Some(1),
            format!(
                "the columns after point, replicate, seed are {}, but {} lists the axes {}",
                axis_columns.join(", "),
                files.manifest.display(),
                axis_names.join(", ")
            ),
        ));
    }
    let (Some(point_count), Some(replicates)) = (
        manifest_count(manifest, "point_count"),
        manifest_count(manifest, "replicates"),
    ) else {
        return Ok(());
    };
    let most = point_count.saturating_mul(replicates);
    if rows.len() as u64 > most {
        return Err(inconsistent(
            None,
            format!(
                "has {} rows, more than the {point_count} points x {replicates} replicates                  {} describes",
                rows.len(),
                files.manifest.display()
            ),
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for row in rows {
        let cell = |i: usize| row.cells.get(i).map_or("", String::as_str);
        let (point, replicate) = match (cell(0).parse::<u64>(), cell(1).parse::<u64>()) {
            (Ok(point), Ok(replicate)) => (point, replicate),
            _ => {
                let message = format!(
                    "point `{}` and replicate `{}` must be whole numbers",
                    cell(0),
                    cell(1)
                );
                return Err(inconsistent(Some(row.line), message));
            }
        };
        let problem = if point >= point_count {
            Some(format!(
                "point {point} is not in the sweep: {} has {point_count} points (0 to {})",
                files.manifest.display(),
                point_count.saturating_sub(1)
            ))
        } else if replicate >= replicates {
            Some(format!(
                "replicate {replicate} of point {point} is out of range: {} says {replicates}                  replicates",
                files.manifest.display()
            ))
        } else if !seen.insert((point, replicate)) {
            Some(format!("point {point} replicate {replicate} appears twice"))
        } else {
            axis_mismatch(&axes, point, |i| cell(3 + i), files.manifest)
        };
        if let Some(message) = problem {
            return Err(inconsistent(Some(row.line), message));
        }
    }
    Ok(())
}

/// A manifest `linger sweep` wrote (it names the experiment's hash) has whole-number counts and
/// a non-empty list of values for every axis; an edit that breaks that is refused here as
/// `linger sweep` would refuse it on resume.
fn check_sweep_keys(
    manifest: &serde_json::Value,
    axes_with_values: usize,
    manifest_path: &Path,
) -> Result<(), ReportError> {
    if manifest.get("experiment_hash").is_none() {
        return Ok(());
    }
    let refuse = |message: String| ReportError::Inconsistent {
        path: manifest_path.to_path_buf(),
        line: None,
        message,
    };
    for key in ["point_count", "replicates"] {
        if manifest_count(manifest, key).is_none() {
            return Err(refuse(format!("`{key}` must be a whole number")));
        }
    }
    let axis_count = manifest
        .get("axes")
        .and_then(serde_json::Value::as_array)
        .map_or(0, Vec::len);
    if axes_with_values != axis_count {
        return Err(refuse(
            "every entry of `axes` needs a `name` and a non-empty list of `values`".to_string(),
        ));
    }
    Ok(())
}

/// Where a row's axis cells differ from the manifest's values for its point (last axis
/// fastest, as the sweep numbers points).
fn axis_mismatch<'c>(
    axes: &[(&str, &Vec<serde_json::Value>)],
    point: u64,
    cell: impl Fn(usize) -> &'c str,
    manifest_path: &Path,
) -> Option<String> {
    let mut rest = point;
    let mut expected = vec![String::new(); axes.len()];
    for (slot, (_, values)) in expected.iter_mut().zip(axes).rev() {
        let len = values.len() as u64;
        *slot = cell_text(&values[(rest % len) as usize]);
        rest /= len;
    }
    axes.iter()
        .zip(&expected)
        .enumerate()
        .find(|(i, (_, wanted))| cell(*i) != wanted.as_str())
        .map(|(i, ((name, _), wanted))| {
            format!(
                "point {point} has {name} = {}, but {} gives point {point} {name} = {wanted}",
                cell(i),
                manifest_path.display()
            )
        })
}

fn group_points(columns: &[String], rows: &[Row], axes: &[usize]) -> Vec<Point> {
    let point_column = columns.iter().position(|c| c == "point");
    let mut keys: Vec<String> = Vec::new();
    let mut points: Vec<Point> = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        let axis_values: Vec<String> = axes
            .iter()
            .map(|&a| row.cells.get(a).cloned().unwrap_or_default())
            .collect();
        let key = match point_column.and_then(|p| row.cells.get(p)) {
            Some(p) => p.clone(),
            None => axis_values.join("\u{1f}"),
        };
        match keys.iter().position(|k| *k == key) {
            Some(i) => points[i].rows.push(index),
            None => {
                keys.push(key);
                points.push(Point {
                    axis_values,
                    rows: vec![index],
                });
            }
        }
    }
    points
}

fn read_experiment_files(dir: &Path) -> Result<Vec<(String, String)>, ReportError> {
    let entries = std::fs::read_dir(dir).map_err(|e| ReportError::io(dir, e))?;
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    names.sort();
    let mut files = Vec::new();
    for name in names {
        let path = dir.join(&name);
        let text = std::fs::read_to_string(&path).map_err(|e| ReportError::io(&path, e))?;
        files.push((name, text));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn column_found_by_exact_name_suffix_and_alias() {
        let c = cols(&[
            "point",
            "producer.linger.ms",
            "producer.batch.size",
            "throughput_records_per_s",
        ]);
        assert_eq!(resolve_column(&c, "producer.linger.ms"), Ok(1));
        assert_eq!(resolve_column(&c, "linger.ms"), Ok(1));
        assert_eq!(resolve_column(&c, "linger_ms"), Ok(1));
        assert_eq!(resolve_column(&c, "batch.size"), Ok(2));
        assert_eq!(resolve_column(&c, "throughput"), Ok(3));
        assert_eq!(resolve_column(&c, "nope"), Err(vec![]));
    }

    #[test]
    fn ambiguous_suffix_lists_the_candidates() {
        let c = cols(&["producer.retries", "broker.retries"]);
        assert_eq!(
            resolve_column(&c, "retries"),
            Err(vec![
                "producer.retries".to_owned(),
                "broker.retries".to_owned()
            ])
        );
    }

    fn check(manifest: &str, csv: &[&str]) -> Result<(), String> {
        let manifest: serde_json::Value = serde_json::from_str(manifest).expect("JSON");
        let columns = cols(&csv[0].split(',').collect::<Vec<_>>());
        let rows: Vec<Row> = csv[1..]
            .iter()
            .zip(2..)
            .map(|(line, number)| Row {
                line: number,
                cells: line.split(',').map(str::to_owned).collect(),
            })
            .collect();
        let files = Files {
            manifest: Path::new("m/manifest.json"),
            results: Path::new("m/results.csv"),
            dir: Path::new("m"),
        };
        check_rows(&manifest, &columns, &rows, &files).map_err(|e| e.to_string())
    }

    const MANIFEST: &str = r#"{"format_version": 1, "point_count": 4, "replicates": 1,
        "axes": [{"name": "a", "values": [1, 2]}, {"name": "b", "values": ["x", 0.5]}]}"#;

    #[test]
    fn rows_must_match_the_manifest() {
        let header = "point,replicate,seed,a,b,m";
        assert_eq!(
            check(MANIFEST, &[header, "0,0,9,1,x,3", "3,0,9,2,0.5,3"]),
            Ok(())
        );
        let refused = [
            (
                vec![header, "4,0,9,1,x,3"],
                "m/results.csv line 2: point 4 is not in the sweep",
            ),
            (
                vec![header, "1,1,9,1,0.5,3"],
                "replicate 1 of point 1 is out of range",
            ),
            (
                vec![header, "1,0,9,1,0.5,3", "1,0,9,1,0.5,3"],
                "line 3: point 1 replicate 0 appears twice",
            ),
            (
                vec![header, "1,0,9,1,x,3"],
                "point 1 has b = x, but m/manifest.json gives point 1 b = 0.5",
            ),
            (
                vec!["point,replicate,seed,b,a,m", "0,0,9,x,1,3"],
                "line 1: the columns after point, replicate, seed are b, a",
            ),
            (
                vec![
                    header,
                    "0,0,9,1,x,3",
                    "1,0,9,1,0.5,3",
                    "2,0,9,2,x,3",
                    "3,0,9,2,0.5,3",
                    "3,0,9,2,0.5,3",
                ],
                "has 5 rows, more than the 4 points x 1 replicates",
            ),
        ];
        for (csv, needle) in refused {
            let message = check(MANIFEST, &csv).expect_err(needle);
            assert!(message.contains(needle), "{needle}: {message}");
        }
        let swept = MANIFEST.replacen('{', "{\"experiment_hash\": \"00\", ", 1);
        assert_eq!(check(&swept, &[header, "0,0,9,1,x,3"]), Ok(()));
        let edited = swept.replace("\"replicates\": 1", "\"replicates\": \"one\"");
        let message = check(&edited, &[header, "0,0,9,1,x,3"]).expect_err("edited");
        assert!(
            message.contains("`replicates` must be a whole number"),
            "{message}"
        );
        let edited = swept.replace("\"values\": [1, 2]", "\"values\": []");
        let message = check(&edited, &[header, "0,0,9,1,x,3"]).expect_err("edited");
        assert!(message.contains("non-empty list of `values`"), "{message}");
    }

    #[test]
    fn suffix_must_start_at_a_separator() {
        let c = cols(&["producer.xlinger.ms"]);
        assert_eq!(resolve_column(&c, "linger.ms"), Err(vec![]));
    }
}
