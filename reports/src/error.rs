//! The one error type of the reports crate: every way an input file or a request can be wrong.
//!
//! Each variant names the file, line or key at fault and, where it helps, what is allowed, so
//! that the `linger` command line can print it as is.

use std::path::PathBuf;

/// Everything that can go wrong while reading results or traces and writing plots or reports.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The results directory does not exist or is not a directory.
    #[error("results directory {dir} does not exist or is not a directory")]
    MissingDir {
        /// The directory asked for.
        dir: PathBuf,
    },
    /// A file the results directory must contain is absent.
    #[error("{path} is missing: a sweep results directory holds manifest.json and results.csv")]
    MissingFile {
        /// The absent file.
        path: PathBuf,
    },
    /// The manifest has no format version.
    #[error(
        "{path} has no `format_version` key: it was written before versioned results \
         (this reader supports format_version {supported}); re-run the sweep"
    )]
    NoFormatVersion {
        /// The manifest file.
        path: PathBuf,
        /// The version this reader understands.
        supported: u64,
    },
    /// The manifest's format version is older or newer than this reader understands.
    #[error(
        "{path} has format_version {found}, this reader supports format_version {supported} \
         only; {advice}"
    )]
    UnsupportedFormat {
        /// The manifest file.
        path: PathBuf,
        /// The version found in the file.
        found: u64,
        /// The version this reader understands.
        supported: u64,
        /// What to do about it.
        advice: &'static str,
    },
    /// The manifest lacks a key every manifest of the supported format has.
    #[error("{path} has no `{key}` key: it was not written by `linger sweep`; re-run the sweep")]
    ManifestKey {
        /// The manifest file.
        path: PathBuf,
        /// The missing key.
        key: &'static str,
    },
    /// A CSV file could not be parsed.
    #[error("{path}{}: {message}", line_suffix(*line))]
    Csv {
        /// The file.
        path: PathBuf,
        /// The 1-based line, when known.
        line: Option<u64>,
        /// What is wrong.
        message: String,
    },
    /// A JSON file or JSON line could not be parsed.
    #[error("{source_name}{}: {message}", line_suffix(*line))]
    Json {
        /// The file, or a description such as `trace` for text passed in memory.
        source_name: String,
        /// The 1-based line, when known.
        line: Option<u64>,
        /// What is wrong.
        message: String,
    },
    /// The manifest and the files beside it do not describe the same results (an edited or
    /// mixed directory): `linger sweep` would refuse it, so the reports do too.
    #[error("{path}{}: {message}", line_suffix(*line))]
    Inconsistent {
        /// The file at fault.
        path: PathBuf,
        /// The 1-based line, when one row is at fault.
        line: Option<u64>,
        /// What does not match, and with what.
        message: String,
    },
    /// A column asked for does not exist.
    #[error("no column `{name}` in {path}; available columns: {}", available.join(", "))]
    UnknownColumn {
        /// The name asked for.
        name: String,
        /// The file searched.
        path: PathBuf,
        /// Every column of the file.
        available: Vec<String>,
    },
    /// A column name suffix matches more than one column.
    #[error("column `{name}` is ambiguous in {path}: it matches {}; use the full name", matches.join(", "))]
    AmbiguousColumn {
        /// The name asked for.
        name: String,
        /// The file searched.
        path: PathBuf,
        /// The columns it matches.
        matches: Vec<String>,
    },
    /// A metric cell is not a number.
    #[error("{path} line {line}: column `{column}` holds `{value}`, expected a number")]
    NotNumeric {
        /// The file.
        path: PathBuf,
        /// The 1-based line.
        line: u64,
        /// The column.
        column: String,
        /// The cell's text.
        value: String,
    },
    /// The results file has no data rows.
    #[error("{path} has no data rows")]
    NoRows {
        /// The file.
        path: PathBuf,
    },
    /// A scenario name the command line does not know (the caller lists the known ones).
    #[error("unknown scenario `{name}`; known scenarios: {}", known.join(", "))]
    UnknownScenario {
        /// The name asked for.
        name: String,
        /// Every scenario name that exists.
        known: Vec<String>,
    },
    /// Drawing a plot failed.
    #[error("could not draw {what}: {message}")]
    Plot {
        /// Which plot.
        what: String,
        /// The backend's message.
        message: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

fn line_suffix(line: Option<u64>) -> String {
    match line {
        Some(n) => format!(" line {n}"),
        None => String::new(),
    }
}

impl ReportError {
    /// An I/O error on `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ReportError::Io {
            path: path.into(),
            source,
        }
    }
}
