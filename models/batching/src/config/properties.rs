//! A Java properties file parser with `java.util.Properties.load` semantics, returning
//! entries with their line numbers.
//!
//! What it follows (`Properties.LineReader` and `Properties.load0`):
//! - Lines end with `\n`, `\r\n` or `\r`. Leading spaces, tabs and form feeds are skipped.
//! - A line whose first non-blank character is `#` or `!` is a comment (even if it ends with a
//!   backslash); blank lines are skipped.
//! - A line ending in an odd number of backslashes continues on the next line; the backslash
//!   and line break are removed and the next line's leading blanks are dropped. A trailing
//!   backslash at the end of the file is dropped.
//! - The key ends at the first unescaped `=`, `:` or blank. Blanks around the separator are
//!   skipped, and one `=` or `:` after blanks counts as the separator. The rest is the value
//!   (possibly empty); trailing blanks of the value are kept.
//! - Escapes in keys and values: `\t \n \r \f`, `\uXXXX` (UTF-16, surrogate pairs combined);
//!   any other escaped character stands for itself (`\=`, `\:`, `\ `, `\\`, `\#`).
//! - Duplicate keys are all returned in order; the resolver keeps the last, as `Properties`
//!   does, and warns.
//!
//! Where linger differs, on purpose:
//! - Encoding: Java's `load(InputStream)` reads ISO-8859-1, which never fails but silently
//!   turns a UTF-8 file's non-ASCII text into mojibake. linger reads UTF-8 (what editors write
//!   today, and what `load(Reader)` users mostly pass) and rejects bytes that are not UTF-8
//!   with the file and line, so nothing is garbled silently. Producer keys are ASCII, and
//!   `\uXXXX` escapes work as in Java.
//! - An empty key (a line like `=5`) is an error here; Java would store the key "" and Kafka
//!   would ignore it, which hides a typo.
//! - A `\uXXXX` escape for a lone UTF-16 surrogate cannot be represented in a Rust string and
//!   is an error.

use std::fmt;

use super::raw::{ConfigEntry, Location, RawValue};

/// Why a properties file could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropertiesErrorKind {
    /// The bytes are not valid UTF-8.
    NotUtf8,
    /// A `\u` escape not followed by four hex digits (Java: "Malformed \uxxxx encoding.").
    MalformedUnicodeEscape,
    /// A `\u` escape of a UTF-16 surrogate without its pair.
    LoneSurrogate,
    /// A line with an empty key, e.g. `=5`.
    EmptyKey,
}

/// A properties file error with its location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertiesError {
    /// The file and 1-based line.
    pub location: Location,
    /// What is wrong.
    pub kind: PropertiesErrorKind,
}

impl fmt::Display for PropertiesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.location)?;
        match self.kind {
            PropertiesErrorKind::NotUtf8 => f.write_str(
                "not valid UTF-8 (linger reads properties files as UTF-8; write other \
                 characters as \\uXXXX escapes)",
            ),
            PropertiesErrorKind::MalformedUnicodeEscape => {
                f.write_str("Malformed \\uxxxx encoding: expected four hex digits after \\u")
            }
            PropertiesErrorKind::LoneSurrogate => {
                f.write_str("\\u escape of a UTF-16 surrogate without its pair")
            }
            PropertiesErrorKind::EmptyKey => f.write_str("a property with an empty key"),
        }
    }
}

impl std::error::Error for PropertiesError {}

/// The blanks `Properties` skips: space, tab, form feed.
fn is_blank(character: char) -> bool {
    matches!(character, ' ' | '\t' | '\x0c')
}

/// Splits into natural lines, each with its 1-based number, on `\n`, `\r\n` or `\r`.
fn natural_lines(text: &str) -> Vec<(u32, &str)> {
    let mut lines = Vec::new();
    let mut rest = text;
    let mut number: u32 = 1;
    while !rest.is_empty() {
        let end = rest.find(['\n', '\r']).unwrap_or(rest.len());
        lines.push((number, &rest[..end]));
        let terminator = if rest[end..].starts_with("\r\n") {
            2
        } else {
            usize::from(end < rest.len())
        };
        rest = &rest[end + terminator..];
        number = number.saturating_add(1);
    }
    lines
}

/// Whether `text` ends with an odd number of backslashes (a continuation).
fn ends_with_continuation(text: &str) -> bool {
    text.chars().rev().take_while(|&c| c == '\\').count() % 2 == 1
}

/// The 1-based line of byte `offset`.
fn line_of_offset(bytes: &[u8], offset: usize) -> u32 {
    let before = &bytes[..offset];
    let breaks = before
        .iter()
        .enumerate()
        .filter(|&(index, &byte)| {
            byte == b'\n' || (byte == b'\r' && before.get(index + 1) != Some(&b'\n'))
        })
        .count();
    u32::try_from(breaks + 1).unwrap_or(u32::MAX)
}

/// Parses a properties file; `file` names it in locations and errors.
pub fn parse_properties(
    bytes: &[u8],
    file: Option<&str>,
) -> Result<Vec<ConfigEntry>, PropertiesError> {
    let location = |line: u32| Location {
        file: file.map(str::to_owned),
        line: Some(line),
    };
    let text = std::str::from_utf8(bytes).map_err(|error| PropertiesError {
        location: location(line_of_offset(bytes, error.valid_up_to())),
        kind: PropertiesErrorKind::NotUtf8,
    })?;
    let lines = natural_lines(text);
    let mut entries = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let (start_line, first) = lines[index];
        index += 1;
        let first = first.trim_start_matches(is_blank);
        if first.is_empty() || first.starts_with(['#', '!']) {
            continue;
        }
        let mut logical = first.to_owned();
        while ends_with_continuation(&logical) {
            logical.pop();
            let Some(&(_, next)) = lines.get(index) else {
                break;
            };
            index += 1;
            logical.push_str(next.trim_start_matches(is_blank));
        }
        let (key, value) = split_key_value(&logical).map_err(|kind| PropertiesError {
            location: location(start_line),
            kind,
        })?;
        entries.push(ConfigEntry {
            key,
            value: RawValue::Str(value),
            location: location(start_line),
        });
    }
    Ok(entries)
}

/// `Properties.load0`: finds the key's end and the value's start, then unescapes both.
fn split_key_value(logical: &str) -> Result<(String, String), PropertiesErrorKind> {
    let characters: Vec<char> = logical.chars().collect();
    let mut key_end = 0;
    let mut value_start = characters.len();
    let mut has_separator = false;
    let mut preceding_backslash = false;
    while key_end < characters.len() {
        let character = characters[key_end];
        if !preceding_backslash && (character == '=' || character == ':') {
            value_start = key_end + 1;
            has_separator = true;
            break;
        }
        if !preceding_backslash && is_blank(character) {
            value_start = key_end + 1;
            break;
        }
        preceding_backslash = character == '\\' && !preceding_backslash;
        key_end += 1;
    }
    while let Some(&character) = characters.get(value_start) {
        if !is_blank(character) {
            if !has_separator && (character == '=' || character == ':') {
                has_separator = true;
            } else {
                break;
            }
        }
        value_start += 1;
    }
    let key = unescape(&characters[..key_end])?;
    if key.is_empty() {
        return Err(PropertiesErrorKind::EmptyKey);
    }
    let value = unescape(&characters[value_start.min(characters.len())..])?;
    Ok((key, value))
}

/// `Properties.loadConvert`: resolves backslash escapes.
fn unescape(characters: &[char]) -> Result<String, PropertiesErrorKind> {
    let mut units: Vec<u16> = Vec::with_capacity(characters.len());
    let mut index = 0;
    while index < characters.len() {
        let mut character = characters[index];
        index += 1;
        if character == '\\' && index < characters.len() {
            character = characters[index];
            index += 1;
            if character == 'u' {
                let digits = characters
                    .get(index..index + 4)
                    .ok_or(PropertiesErrorKind::MalformedUnicodeEscape)?;
                let hex: String = digits.iter().collect();
                let unit = u16::from_str_radix(&hex, 16)
                    .ok()
                    .filter(|_| digits.iter().all(char::is_ascii_hexdigit))
                    .ok_or(PropertiesErrorKind::MalformedUnicodeEscape)?;
                units.push(unit);
                index += 4;
                continue;
            }
            character = match character {
                't' => '\t',
                'r' => '\r',
                'n' => '\n',
                'f' => '\x0c',
                other => other,
            };
        }
        let mut buffer = [0u16; 2];
        units.extend_from_slice(character.encode_utf16(&mut buffer));
    }
    String::from_utf16(&units).map_err(|_| PropertiesErrorKind::LoneSurrogate)
}
