//! The experiment file: a TOML document with one table per part of the simulated world, the run
//! settings, and an optional `[sweep]`.
//!
//! ```toml
//! [experiment]            # optional: name and description
//! [producer]              # Kafka producer keys verbatim: "linger.ms" = 5 (or properties = "p.properties")
//! [workload]              # what the application sends
//! [cluster]               # brokers, replication, "min.insync.replicas", ...
//! [network]               # latencies and losses
//! [faults]                # crashes, lost responses, ...
//! [run]                   # seed, replicates, virtual duration or record count
//! [sweep.producer]        # axes: any key of any section, one table per section
//! "linger.ms" = [0, 1, 5, 10, 20, 50, 100]
//! "batch.size" = { from = 16384, to = 1048576, times = 2 }
//! ```
//!
//! Loading is the first of two stages (as in ripgrep): this file checks the shape of the document
//! (known sections, the keys this crate owns, the sweep axes) and keeps the sections as TOML
//! tables; the world adapter (`crate::world`) then turns each point's tables into the validated
//! types of the models. Errors point at `file:line:column` and suggest the nearest known name.

use std::path::{Path, PathBuf};

use crate::error::{InputError, Location, Result, suggestion_suffix};
use crate::sweep::{Axis, parse_sweep};

/// The sections that describe the simulated world, in the order they are documented.
pub const WORLD_SECTIONS: [&str; 6] = [
    "producer", "workload", "cluster", "network", "faults", "run",
];

/// Every top-level table an experiment file may have.
pub const ALL_SECTIONS: [&str; 8] = [
    "experiment",
    "producer",
    "workload",
    "cluster",
    "network",
    "faults",
    "run",
    "sweep",
];

/// The keys of `[run]` that this crate owns (the rest belong to the world's run settings).
pub const RUN_KEYS_OWNED: [&str; 2] = ["seed", "replicates"];

/// The master seed used when `[run]` names none.
pub const DEFAULT_MASTER_SEED: u64 = 1;

/// The most replicates one point may ask for.
pub const REPLICATES_MAX: u32 = 10_000;

/// The text of an experiment file and where it came from.
#[derive(Clone, Debug)]
pub struct Source {
    /// How to name the file in messages: its path, or `<built-in NAME>`.
    pub display_name: String,
    /// The TOML text.
    pub text: String,
    /// The directory relative paths inside the file are resolved against.
    pub base_dir: PathBuf,
}

impl Source {
    /// Reads a file; a missing or unreadable file is bad input.
    pub fn from_file(path: &Path) -> Result<Source> {
        let text = std::fs::read_to_string(path).map_err(|error| {
            InputError::new(format!(
                "cannot read experiment file {}: {error}",
                path.display()
            ))
        })?;
        let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Ok(Source {
            display_name: path.display().to_string(),
            text,
            base_dir,
        })
    }

    /// An experiment embedded in the binary.
    pub fn built_in(name: &str, text: &str) -> Source {
        Source {
            display_name: format!("<built-in {name}>"),
            text: text.to_string(),
            base_dir: PathBuf::from("."),
        }
    }

    /// How to name this experiment on a `linger` command line: the path, or the shipped name.
    pub fn command_argument(&self) -> &str {
        self.display_name
            .strip_prefix("<built-in ")
            .and_then(|rest| rest.strip_suffix('>'))
            .unwrap_or(&self.display_name)
    }

    /// The position of a byte offset.
    pub fn location_of_offset(&self, offset: usize) -> Location {
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        Location {
            file: self.display_name.clone(),
            line,
            column,
        }
    }

    /// The position of the last key of a path such as `["sweep", "producer", "linger.ms"]`, if
    /// the whole path is written in the file (a path through a non-table value stops there).
    pub fn location_of_key(&self, path: &[&str]) -> Option<Location> {
        let document = toml::de::DeTable::parse(&self.text).ok()?;
        let mut table = document.get_ref();
        let mut found = None;
        for (depth, part) in path.iter().enumerate() {
            let (key, value) = table
                .iter()
                .find(|(key, _)| key.get_ref().as_ref() == *part)?;
            found = Some(key.span().start);
            match value.get_ref().as_table() {
                Some(inner) if depth + 1 < path.len() => table = inner,
                _ => break,
            }
        }
        found.map(|offset| self.location_of_offset(offset))
    }

    /// The position of the deepest part of `path` (keys and array indices, as in
    /// `faults.schedule[0].broker`) that is written in the file: the key itself when it is
    /// there, else its nearest written parent.
    pub fn location_of_path(&self, path: &[PathPart]) -> Option<Location> {
        let document = toml::de::DeTable::parse(&self.text).ok()?;
        let mut value: Option<&toml::de::DeValue<'_>> = None;
        let mut table = Some(document.get_ref());
        let mut found = None;
        for part in path {
            match part {
                PathPart::Key(name) => {
                    let inner = table.take().or_else(|| value.and_then(|v| v.as_table()))?;
                    let Some((key, next)) =
                        inner.iter().find(|(key, _)| key.get_ref().as_ref() == name)
                    else {
                        break;
                    };
                    found = Some(key.span().start);
                    value = Some(next.get_ref());
                }
                PathPart::Index(index) => {
                    let items = match value {
                        Some(toml::de::DeValue::Array(items)) => items,
                        _ => break,
                    };
                    let Some(item) = items.get(*index) else {
                        break;
                    };
                    found = Some(item.span().start);
                    value = Some(item.get_ref());
                }
            }
            table = None;
        }
        found.map(|offset| self.location_of_offset(offset))
    }

    /// The byte offset where a key path first appears, for ordering axes as written.
    pub fn offset_of_key(&self, path: &[&str]) -> Option<usize> {
        let document = toml::de::DeTable::parse(&self.text).ok()?;
        let mut table = document.get_ref();
        let mut found = None;
        for part in path {
            let (key, value) = table
                .iter()
                .find(|(key, _)| key.get_ref().as_ref() == *part)?;
            found = Some(key.span().start);
            match value.get_ref().as_table() {
                Some(inner) => table = inner,
                None => break,
            }
        }
        found
    }

    /// An input error at a key path.
    pub fn error_at_key(&self, path: &[&str], message: impl Into<String>) -> InputError {
        InputError::at(self.location_of_key(path), message)
    }
}

/// One step of a key path: a key of a table, or an index into an array.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathPart {
    /// A key (`brokers`, `min.insync.replicas`).
    Key(String),
    /// An array index (`schedule[0]`).
    Index(usize),
}

impl PathPart {
    /// Writes a path the way messages name keys: `faults.schedule[0].broker`, with a key that
    /// holds dots quoted (`cluster."min.insync.replicas"`).
    pub fn display(path: &[PathPart]) -> String {
        let mut text = String::new();
        for part in path {
            match part {
                PathPart::Index(index) => text.push_str(&format!("[{index}]")),
                PathPart::Key(key) => {
                    if !text.is_empty() {
                        text.push('.');
                    }
                    if key.contains('.') {
                        text.push_str(&format!("\"{key}\""));
                    } else {
                        text.push_str(key);
                    }
                }
            }
        }
        text
    }

    /// Parses a key path as the models write it: `faults.schedule[0].at_ms`,
    /// `cluster."min.insync.replicas"`, `arrivals.per_sec`.
    pub fn parse(text: &str) -> Vec<PathPart> {
        let mut parts = Vec::new();
        let mut rest = text.trim();
        while !rest.is_empty() {
            rest = rest.trim_start_matches('.');
            if let Some(quoted) = rest.strip_prefix('"') {
                let end = quoted.find('"').unwrap_or(quoted.len());
                parts.push(PathPart::Key(quoted[..end].to_string()));
                rest = quoted.get(end + 1..).unwrap_or("");
            } else if let Some(indexed) = rest.strip_prefix('[') {
                let end = indexed.find(']').unwrap_or(indexed.len());
                if let Ok(index) = indexed[..end].trim().parse() {
                    parts.push(PathPart::Index(index));
                }
                rest = indexed.get(end + 1..).unwrap_or("");
            } else {
                let end = rest.find(['.', '[']).unwrap_or(rest.len());
                parts.push(PathPart::Key(rest[..end].to_string()));
                rest = &rest[end..];
            }
        }
        parts
    }
}

/// An experiment file after the first stage of validation.
#[derive(Clone, Debug)]
pub struct Experiment {
    /// Where the text came from.
    pub source: Source,
    /// The experiment's name: `[experiment] name`, or the file stem.
    pub name: String,
    /// `[experiment] description`, or empty.
    pub description: String,
    /// The world sections (`producer` ... `run`), with command-line overrides applied and the
    /// `[run]` keys this crate owns removed.
    pub sections: toml::Table,
    /// The sweep axes in the order they are written; empty for a single-point experiment.
    pub axes: Vec<Axis>,
    /// The master seed: every run's seed is derived from it.
    pub master_seed: u64,
    /// Runs per point, each with its own derived seed.
    pub replicates: u32,
    /// What a sweep does with a point whose configuration Kafka rejects.
    pub on_invalid: OnInvalid,
}

/// What a sweep does with a point whose configuration is rejected (`[sweep] on_invalid`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnInvalid {
    /// Refuse the whole sweep before running anything (the default).
    Fail,
    /// Keep the point as rows with empty metrics and the rejection in the warnings column.
    Record,
}

/// The key of `[sweep]` that chooses [`OnInvalid`].
pub const ON_INVALID_KEY: &str = "on_invalid";

/// One `--set section.key=value` override from the command line.
///
/// The left side is a TOML dotted key: `workload.arrivals.per_sec` reaches into a sub-table, and
/// a quoted part keeps its dots (`cluster."min.insync.replicas"`). Unquoted Kafka keys work too
/// in `[producer]` (whose keys are flattened back to Kafka names) and wherever the file already
/// writes that dotted key.
#[derive(Clone, Debug, PartialEq)]
pub struct Override {
    /// The section.
    pub section: String,
    /// The key parts after the section, as TOML reads them.
    pub parts: Vec<String>,
    /// The value, parsed as TOML (a bare word is a string).
    pub value: toml::Value,
}

impl Override {
    /// Parses `section.key=value`.
    pub fn parse(text: &str) -> Result<Override, InputError> {
        let (path, raw) = text.split_once('=').ok_or_else(|| {
            InputError::new(format!("--set `{text}`: expected section.key=value"))
        })?;
        let mut parts = dotted_key_parts(path.trim()).ok_or_else(|| {
            InputError::new(format!(
                "--set `{text}`: `{}` is not a key; write section.key, quoting parts that \
                 contain dots (cluster.\"min.insync.replicas\")",
                path.trim()
            ))
        })?;
        if parts.len() < 2 {
            return Err(InputError::new(format!(
                "--set `{text}`: the key must be written section.key"
            )));
        }
        let section = parts.remove(0);
        let raw = raw.trim();
        let value = format!("v = {raw}")
            .parse::<toml::Table>()
            .ok()
            .and_then(|mut table| table.remove("v"))
            .unwrap_or_else(|| toml::Value::String(raw.to_string()));
        Ok(Override {
            section,
            parts,
            value,
        })
    }

    /// The key as written after the section, parts joined by dots.
    pub fn key(&self) -> String {
        self.parts.join(".")
    }

    /// Where the override goes: one Kafka-style key in `[producer]` or when the section already
    /// holds that dotted key; otherwise nested tables.
    fn path_in(&self, sections: &toml::Table) -> Vec<String> {
        let joined = self.key();
        let literal = self.section == "producer"
            || sections
                .get(&self.section)
                .and_then(toml::Value::as_table)
                .is_some_and(|table| table.contains_key(&joined));
        let mut path = vec![self.section.clone()];
        if literal {
            path.push(joined);
        } else {
            path.extend(self.parts.iter().cloned());
        }
        path
    }
}

/// The parts of a TOML dotted key (`a."b.c".d` gives `a`, `b.c`, `d`).
fn dotted_key_parts(key: &str) -> Option<Vec<String>> {
    let table: toml::Table = format!("{key} = 0").parse().ok()?;
    let mut parts = Vec::new();
    let mut current = &table;
    loop {
        let (name, value) = current.iter().next()?;
        parts.push(name.clone());
        match value.as_table() {
            Some(inner) => current = inner,
            None => return Some(parts),
        }
    }
}

impl Experiment {
    /// Parses and checks the shape of an experiment file, then applies overrides.
    pub fn parse(source: Source, overrides: &[Override]) -> Result<Experiment> {
        let mut document = parse_document(&source)?;
        check_sections(&source, &document)?;
        let (name, description) = read_metadata(&source, &mut document)?;
        let (master_seed, replicates) = read_run_owned(&source, &mut document)?;
        let (axes, on_invalid) = match document.remove("sweep") {
            Some(mut sweep) => {
                let on_invalid = read_on_invalid(&source, &mut sweep)?;
                (parse_sweep(&source, &sweep, &document)?, on_invalid)
            }
            None => (Vec::new(), OnInvalid::Fail),
        };
        let mut sections = document;
        let (master_seed, replicates) =
            apply_overrides(&mut sections, overrides, (master_seed, replicates))?;
        let name = name.unwrap_or_else(|| stem_of(&source.display_name));
        Ok(Experiment {
            source,
            name,
            description,
            sections,
            axes,
            master_seed,
            replicates,
            on_invalid,
        })
    }

    /// The sections of one sweep point: the base sections with the point's axis values set.
    pub fn sections_at(&self, values: &[toml::Value]) -> toml::Table {
        let mut sections = self.sections.clone();
        for (axis, value) in self.axes.iter().zip(values) {
            set_path(&mut sections, &axis.path, value.clone());
        }
        sections
    }

    /// A canonical text of everything that decides the results, hashed into the manifest: a
    /// results directory only resumes the experiment that started it.
    pub fn canonical_text(&self) -> String {
        let mut text = String::new();
        let canonical = canonical_table(&self.sections);
        let settings = toml::to_string(&canonical).unwrap_or_else(|_| format!("{canonical:?}"));
        text.push_str(&settings);
        text.push_str(&format!(
            "\n#seed={}\n#replicates={}\n#on_invalid={:?}\n",
            self.master_seed, self.replicates, self.on_invalid
        ));
        for axis in &self.axes {
            let values: Vec<String> = axis.values.iter().map(ToString::to_string).collect();
            text.push_str(&format!(
                "#axis {} = [{}]\n",
                axis.name(),
                values.join(", ")
            ));
        }
        text
    }

    /// The hash of [`Experiment::canonical_text`], as 16 hex digits.
    pub fn hash_hex(&self) -> String {
        format!(
            "{:016x}",
            sim::rng::fnv1a64(self.canonical_text().as_bytes())
        )
    }
}

/// A copy of a table with every nested table's keys sorted, whatever map the toml crate uses.
fn canonical_table(table: &toml::Table) -> std::collections::BTreeMap<String, toml::Value> {
    table
        .iter()
        .map(|(key, value)| (key.clone(), canonical_value(value)))
        .collect()
}

fn canonical_value(value: &toml::Value) -> toml::Value {
    match value {
        toml::Value::Table(inner) => {
            let mut sorted = toml::Table::new();
            for (key, value) in canonical_table(inner) {
                sorted.insert(key, value);
            }
            toml::Value::Table(sorted)
        }
        toml::Value::Array(items) => {
            toml::Value::Array(items.iter().map(canonical_value).collect())
        }
        other => other.clone(),
    }
}

/// Sets `path` (section, then keys) in `sections`, creating tables on the way.
pub fn set_path(sections: &mut toml::Table, path: &[String], value: toml::Value) {
    let (last, parents) = path
        .split_last()
        .expect("an axis path has a section and a key");
    let mut table = sections;
    for part in parents {
        let entry = table
            .entry(part.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        table = entry.as_table_mut().expect("just made a table");
    }
    table.insert(last.clone(), value);
}

fn stem_of(display_name: &str) -> String {
    let trimmed = display_name
        .trim_start_matches("<built-in ")
        .trim_end_matches('>');
    Path::new(trimmed).file_stem().map_or_else(
        || trimmed.to_string(),
        |stem| stem.to_string_lossy().into_owned(),
    )
}

fn parse_document(source: &Source) -> Result<toml::Table> {
    source.text.parse::<toml::Table>().map_err(|error| {
        let location = error
            .span()
            .map(|span| source.location_of_offset(span.start));
        let message = format!("malformed TOML: {}", toml_message(error.message().trim()));
        InputError::at(location, message).into()
    })
}

fn check_sections(source: &Source, document: &toml::Table) -> Result<()> {
    for (key, value) in document {
        if !ALL_SECTIONS.contains(&key.as_str()) {
            let message = format!(
                "unknown section `{key}`{}; allowed sections: {}",
                suggestion_suffix(key, ALL_SECTIONS),
                ALL_SECTIONS.join(", ")
            );
            return Err(source.error_at_key(&[key], message).into());
        }
        if !value.is_table() {
            let message = format!(
                "`{key}` must be a table ([{key}]), found a {}",
                value.type_str()
            );
            return Err(source.error_at_key(&[key], message).into());
        }
    }
    Ok(())
}

fn read_metadata(source: &Source, document: &mut toml::Table) -> Result<(Option<String>, String)> {
    let Some(toml::Value::Table(meta)) = document.remove("experiment") else {
        return Ok((None, String::new()));
    };
    let mut name = None;
    let mut description = String::new();
    for (key, value) in meta {
        let text = value.as_str().map(str::to_string);
        match (key.as_str(), text) {
            ("name", Some(text)) => name = Some(text),
            ("description", Some(text)) => description = text,
            ("name" | "description", None) => {
                let message = format!("`experiment.{key}` must be a string");
                return Err(source.error_at_key(&["experiment", &key], message).into());
            }
            _ => {
                let message = format!(
                    "unknown key `{key}` in [experiment]{}; allowed keys: name, description",
                    suggestion_suffix(&key, ["name", "description"])
                );
                return Err(source.error_at_key(&["experiment", &key], message).into());
            }
        }
    }
    Ok((name, description))
}

fn read_run_owned(source: &Source, document: &mut toml::Table) -> Result<(u64, u32)> {
    let Some(toml::Value::Table(run)) = document.get_mut("run") else {
        return Ok((DEFAULT_MASTER_SEED, 1));
    };
    let seed = match run.remove("seed") {
        None => DEFAULT_MASTER_SEED,
        Some(value) => seed_value(&value).ok_or_else(|| {
            source.error_at_key(
                &["run", "seed"],
                "`run.seed` must be a non-negative integer",
            )
        })?,
    };
    let replicates = match run.remove("replicates") {
        None => 1,
        Some(value) => replicates_value(&value).ok_or_else(|| {
            let message = format!("`run.replicates` must be an integer from 1 to {REPLICATES_MAX}");
            source.error_at_key(&["run", "replicates"], message)
        })?,
    };
    Ok((seed, replicates))
}

fn read_on_invalid(source: &Source, sweep: &mut toml::Value) -> Result<OnInvalid> {
    let table = sweep
        .as_table_mut()
        .expect("sections are checked to be tables");
    match table.remove(ON_INVALID_KEY) {
        None => Ok(OnInvalid::Fail),
        Some(value) => match value.as_str() {
            Some("fail") => Ok(OnInvalid::Fail),
            Some("record") => Ok(OnInvalid::Record),
            _ => Err(source
                .error_at_key(
                    &["sweep", ON_INVALID_KEY],
                    format!(
                        "`sweep.{ON_INVALID_KEY}` must be \"fail\" or \"record\", found {value}"
                    ),
                )
                .into()),
        },
    }
}

fn seed_value(value: &toml::Value) -> Option<u64> {
    value.as_integer().and_then(|seed| u64::try_from(seed).ok())
}

fn replicates_value(value: &toml::Value) -> Option<u32> {
    let count = value
        .as_integer()
        .and_then(|count| u32::try_from(count).ok())?;
    (1..=REPLICATES_MAX).contains(&count).then_some(count)
}

fn apply_overrides(
    sections: &mut toml::Table,
    overrides: &[Override],
    owned: (u64, u32),
) -> Result<(u64, u32)> {
    let (mut seed, mut replicates) = owned;
    for item in overrides {
        if !WORLD_SECTIONS.contains(&item.section.as_str()) {
            let message = format!(
                "--set {}.{}: unknown section `{}`{}; allowed: {}",
                item.section,
                item.key(),
                item.section,
                suggestion_suffix(&item.section, WORLD_SECTIONS),
                WORLD_SECTIONS.join(", ")
            );
            return Err(InputError::new(message).into());
        }
        match (item.section.as_str(), item.key().as_str()) {
            ("run", "seed") => {
                seed = seed_value(&item.value).ok_or_else(|| {
                    InputError::new("--set run.seed: must be a non-negative integer")
                })?;
            }
            ("run", "replicates") => {
                replicates = replicates_value(&item.value).ok_or_else(|| {
                    InputError::new(format!(
                        "--set run.replicates: must be 1 to {REPLICATES_MAX}"
                    ))
                })?;
            }
            _ => {
                let path = item.path_in(sections);
                set_path(sections, &path, item.value.clone());
            }
        }
    }
    Ok((seed, replicates))
}

/// The TOML parser's message in the user's terms: an integer beyond 64 bits is reported by
/// the parser as a Rust `i128` that is not a TOML value; the rest is kept as it is.
pub(crate) fn toml_message(message: &str) -> String {
    const PREFIX: &str = "invalid type: integer `";
    const SUFFIX: &str = "` as i128, expected any valid TOML value";
    let Some(start) = message.find(PREFIX) else {
        return message.to_string();
    };
    let digits_at = start + PREFIX.len();
    let Some(len) = message[digits_at..].find(SUFFIX) else {
        return message.to_string();
    };
    let digits = &message[digits_at..digits_at + len];
    format!(
        "{}the integer {digits} is too large: TOML integers are 64-bit, from \
         -9223372036854775808 to 9223372036854775807{}",
        &message[..start],
        &message[digits_at + len + SUFFIX.len()..]
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_integer_beyond_64_bits_is_named_in_the_users_terms() {
        let text = super::toml_message(
            "invalid type: integer `92423372036854775807` as i128, expected any valid TOML value",
        );
        assert!(text.contains("92423372036854775807 is too large"), "{text}");
        assert!(!text.contains("i128"), "{text}");
    }

    use super::*;

    fn parse(text: &str) -> Result<Experiment> {
        Experiment::parse(Source::built_in("t.toml", text), &[])
    }

    #[test]
    fn reads_sections_seed_and_replicates() {
        let experiment = parse("[producer]\n\"linger.ms\" = 5\n[run]\nseed = 7\nreplicates = 3\n")
            .expect("valid file");
        assert_eq!(experiment.master_seed, 7);
        assert_eq!(experiment.replicates, 3);
        assert_eq!(experiment.name, "t");
        let producer = experiment.sections["producer"].as_table().expect("a table");
        assert_eq!(producer["linger.ms"].as_integer(), Some(5));
        assert!(
            experiment.sections["run"]
                .as_table()
                .expect("a table")
                .is_empty()
        );
    }

    #[test]
    fn malformed_toml_names_line_and_column() {
        let error = parse("[producer]\n\"linger.ms\" = = 5\n").expect_err("malformed");
        let text = error.to_string();
        assert!(text.starts_with("<built-in t.toml>:2:"), "{text}");
        assert!(text.contains("malformed TOML"), "{text}");
        assert_eq!(error.exit_code(), 2);
    }

    #[test]
    fn unknown_section_suggests_the_nearest() {
        let error = parse("[producer]\n[netwrok]\nx = 1\n").expect_err("unknown section");
        let text = error.to_string();
        assert!(text.contains(":2:"), "{text}");
        assert!(text.contains("did you mean `network`?"), "{text}");
    }

    #[test]
    fn overrides_set_keys_and_owned_run_keys() {
        let overrides = [
            Override::parse("producer.linger.ms=20").expect("valid"),
            Override::parse("run.seed=99").expect("valid"),
            Override::parse("producer.acks=all").expect("valid"),
        ];
        let experiment = Experiment::parse(
            Source::built_in("t", "[producer]\n\"linger.ms\" = 5\n"),
            &overrides,
        )
        .expect("valid");
        let producer = experiment.sections["producer"].as_table().expect("a table");
        assert_eq!(producer["linger.ms"].as_integer(), Some(20));
        assert_eq!(producer["acks"].as_str(), Some("all"));
        assert_eq!(experiment.master_seed, 99);
    }

    #[test]
    fn overrides_reach_sub_tables_and_quoted_kafka_keys() {
        let overrides = [
            Override::parse("workload.arrivals.per_sec=500").expect("valid"),
            Override::parse("cluster.\"min.insync.replicas\"=3").expect("valid"),
            Override::parse("network.request_loss=0.5").expect("valid"),
        ];
        let text = "[workload]\narrivals = { kind = \"constant\", per_sec = 10 }\n";
        let experiment = Experiment::parse(Source::built_in("t", text), &overrides).expect("valid");
        let workload = experiment.sections["workload"].as_table().expect("a table");
        assert_eq!(workload["arrivals"]["per_sec"].as_integer(), Some(500));
        assert_eq!(workload["arrivals"]["kind"].as_str(), Some("constant"));
        let cluster = experiment.sections["cluster"].as_table().expect("a table");
        assert_eq!(cluster["min.insync.replicas"].as_integer(), Some(3));
        assert!(Override::parse("justakey=1").is_err());
        assert!(Override::parse("a..b=1").is_err());
    }

    #[test]
    fn the_hash_ignores_layout_but_not_values() {
        let a = parse("[producer]\n\"linger.ms\" = 5\n\"batch.size\" = 100\n").expect("valid");
        let b = parse("[producer]\n\"batch.size\" = 100\n\n\"linger.ms\" =   5\n").expect("valid");
        let c = parse("[producer]\n\"batch.size\" = 100\n\"linger.ms\" = 6\n").expect("valid");
        assert_eq!(a.hash_hex(), b.hash_hex());
        assert_ne!(a.hash_hex(), c.hash_hex());
    }
}
