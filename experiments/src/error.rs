//! The errors of the experiments library: bad input (exit code 2) versus operational failures.
//!
//! Bad input is anything the user can fix in a file or on the command line: malformed TOML, an
//! unknown section or key, a bad sweep axis, an output directory holding another experiment.
//! Such errors carry a location (`file:line:column`) when one is known, and are found before
//! anything is written. Operational failures (I/O while writing results) exit with code 1.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// A position in an experiment file, 1-based.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The file as the user named it (or `<built-in NAME>` for an embedded file).
    pub file: String,
    /// The line, counted from 1.
    pub line: usize,
    /// The column, counted from 1, in characters.
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// A problem with user input: the message, and where it is when that is known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputError {
    /// Where the problem is.
    pub location: Option<Location>,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl InputError {
    /// An error with no known position.
    pub fn new(message: impl Into<String>) -> Self {
        InputError {
            location: None,
            message: message.into(),
        }
    }

    /// An error at a position.
    pub fn at(location: Option<Location>, message: impl Into<String>) -> Self {
        InputError {
            location,
            message: message.into(),
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(location) => write!(f, "{location}: {}", self.message),
            None => write!(f, "{}", self.message),
        }
    }
}

impl std::error::Error for InputError {}

/// Every error of the experiments library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input: fix the file or the command line (exit code 2).
    #[error(transparent)]
    Input(#[from] InputError),
    /// Reading or writing a file failed (exit code 1).
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying failure.
        source: io::Error,
    },
    /// A file this program wrote earlier cannot be read back (exit code 1).
    #[error("{path}: {message}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A simulation run failed (exit code 1).
    #[error("run failed: {0}")]
    Run(String),
    /// Writing an output failed in another library (a plot, a report), its message as it is
    /// (exit code 1, as every unwritable output).
    #[error("{0}")]
    Output(String),
}

impl Error {
    /// The process exit code for this error: 2 for bad input, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input(_) => 2,
            Error::Io { .. } | Error::Corrupt { .. } | Error::Run(_) | Error::Output(_) => 1,
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: &Path, source: io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// Bad input with no known position.
    pub fn input(message: impl Into<String>) -> Self {
        Error::Input(InputError::new(message))
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The closest of `candidates` to `word`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(2);
    candidates
        .into_iter()
        .map(|candidate| (edit_distance(word, candidate), candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// A suffix ` (did you mean `x`?)` or nothing.
pub fn suggestion_suffix<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    match did_you_mean(word, candidates) {
        Some(candidate) => format!(" (did you mean `{candidate}`?)"),
        None => String::new(),
    }
}

/// Levenshtein distance over characters, case-insensitive.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_nearest_key() {
        let keys = ["linger.ms", "batch.size", "acks"];
        assert_eq!(did_you_mean("lingr.ms", keys), Some("linger.ms"));
        assert_eq!(did_you_mean("batch.sise", keys), Some("batch.size"));
        assert_eq!(did_you_mean("compression", keys), None);
    }

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }

    #[test]
    fn input_errors_show_their_location() {
        let location = Location {
            file: "a.toml".into(),
            line: 3,
            column: 7,
        };
        let error = InputError::at(Some(location), "unknown key `x`");
        assert_eq!(error.to_string(), "a.toml:3:7: unknown key `x`");
        assert_eq!(Error::from(error).exit_code(), 2);
    }
}
