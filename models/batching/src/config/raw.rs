//! Raw configuration input: untyped values with the place they came from.
//!
//! A properties file gives only strings; a TOML file also gives integers, booleans, floats and
//! arrays. Kafka's `ConfigDef.parseType` accepts both strings and typed values, and so does
//! linger: [`RawValue`] carries either, and the coercion in `coerce.rs` follows Kafka's rules.

use std::fmt;

/// One untyped configuration value, as the user wrote it.
#[derive(Debug, Clone, PartialEq)]
pub enum RawValue {
    /// A string, e.g. every value of a properties file (Kafka trims it before parsing).
    Str(String),
    /// An integer, e.g. `linger.ms = 5` in TOML.
    Int(i64),
    /// A boolean, e.g. `"enable.idempotence" = true` in TOML.
    Bool(bool),
    /// A floating-point number. No key linger models accepts one.
    Float(f64),
    /// A list, e.g. `interceptor.classes = ["a", "b"]` in TOML.
    List(Vec<RawValue>),
}

impl RawValue {
    /// The name of the value's type, for "expected X, but it was a Y" messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            RawValue::Str(_) => "string",
            RawValue::Int(_) => "integer",
            RawValue::Bool(_) => "boolean",
            RawValue::Float(_) => "float",
            RawValue::List(_) => "list",
        }
    }
}

impl fmt::Display for RawValue {
    /// Writes the value the way Kafka's `ConfigException` prints it: strings bare, lists in
    /// brackets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RawValue::Str(text) => f.write_str(text),
            RawValue::Int(number) => write!(f, "{number}"),
            RawValue::Bool(flag) => write!(f, "{flag}"),
            RawValue::Float(number) => write!(f, "{number}"),
            RawValue::List(items) => {
                f.write_str("[")?;
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
        }
    }
}

/// Where a key was set: a file and a 1-based line, when known.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    /// The file the key came from, as the user named it.
    pub file: Option<String>,
    /// The 1-based line of the key in that file.
    pub line: Option<u32>,
}

impl Location {
    /// A location in `file` at 1-based `line`.
    pub fn at(file: impl Into<String>, line: u32) -> Location {
        Location {
            file: Some(file.into()),
            line: Some(line),
        }
    }

    /// Whether neither the file nor the line is known.
    pub fn is_unknown(&self) -> bool {
        self.file.is_none() && self.line.is_none()
    }
}

impl fmt::Display for Location {
    /// `file:line`, `file`, `line N`, or `<unknown>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, self.line) {
            (Some(file), Some(line)) => write!(f, "{file}:{line}"),
            (Some(file), None) => f.write_str(file),
            (None, Some(line)) => write!(f, "line {line}"),
            (None, None) => f.write_str("<unknown>"),
        }
    }
}

/// One key as the user set it, with its value and location.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigEntry {
    /// The key, e.g. `linger.ms`.
    pub key: String,
    /// The untyped value.
    pub value: RawValue,
    /// Where the key was set.
    pub location: Location,
}

impl From<(String, RawValue, Location)> for ConfigEntry {
    fn from((key, value, location): (String, RawValue, Location)) -> Self {
        ConfigEntry {
            key,
            value,
            location,
        }
    }
}
