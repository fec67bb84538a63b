//! Kafka's type coercion and validators for one raw value (`ConfigDef.parseType`,
//! `ConfigDef.Range`, `ConfigDef.ValidString`, `ConfigDef.NonEmptyString`).
//!
//! Strings are trimmed first, as `ConfigDef` does. `INT` and `LONG` accept a decimal string
//! (Java's `Integer.parseInt`/`Long.parseLong`: optional sign, ASCII digits) or an integer that
//! fits the Java type. `BOOLEAN` accepts `true`/`false` in any case, or a boolean. Reasons are
//! phrased like Kafka's so that messages read the same.

use super::raw::RawValue;

/// A rejected value: what the user wrote and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Invalid {
    /// The value as written.
    pub value: String,
    /// What is allowed.
    pub reason: String,
}

impl Invalid {
    pub(crate) fn new(value: &RawValue, reason: impl Into<String>) -> Invalid {
        Invalid {
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}

/// Parses like Java's `parseInt`/`parseLong`: an optional `+` or `-` then ASCII digits.
fn parse_java_integer(text: &str) -> Option<i64> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// After Kafka's phrase for a float where an integer belongs, what to write instead: TOML
/// reads `0.0` as a float, and Kafka's `INT` and `LONG` take whole numbers only.
fn whole_number_hint(value: &RawValue) -> String {
    match value {
        RawValue::Float(number) => format!(
            " ({number:?}): write a whole number without a decimal point, such as {}",
            number.trunc().clamp(-1e18, 1e18) as i64
        ),
        _ => String::new(),
    }
}

/// A Kafka `LONG`.
pub(crate) fn long(value: &RawValue) -> Result<i64, Invalid> {
    match value {
        RawValue::Int(number) => Ok(*number),
        RawValue::Str(text) => parse_java_integer(text.trim())
            .ok_or_else(|| Invalid::new(value, "Not a number of type LONG")),
        other => Err(Invalid::new(
            value,
            format!(
                "Expected value to be a 64-bit integer (long), but it was a {}{}",
                other.type_name(),
                whole_number_hint(other)
            ),
        )),
    }
}

/// A Kafka `INT` (32-bit).
pub(crate) fn int(value: &RawValue) -> Result<i32, Invalid> {
    let not_int = || Invalid::new(value, "Not a number of type INT");
    match value {
        RawValue::Int(number) => i32::try_from(*number).map_err(|_| not_int()),
        RawValue::Str(text) => parse_java_integer(text.trim())
            .and_then(|number| i32::try_from(number).ok())
            .ok_or_else(not_int),
        other => Err(Invalid::new(
            value,
            format!(
                "Expected value to be a 32-bit integer, but it was a {}{}",
                other.type_name(),
                whole_number_hint(other)
            ),
        )),
    }
}

/// A Kafka `BOOLEAN`: `true`/`false` in any case (after trimming), or a boolean.
pub(crate) fn boolean(value: &RawValue) -> Result<bool, Invalid> {
    let reason = "Expected value to be either true or false";
    match value {
        RawValue::Bool(flag) => Ok(*flag),
        RawValue::Str(text) if text.trim().eq_ignore_ascii_case("true") => Ok(true),
        RawValue::Str(text) if text.trim().eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(Invalid::new(value, reason)),
    }
}

/// A Kafka `STRING`, trimmed.
pub(crate) fn string(value: &RawValue) -> Result<String, Invalid> {
    match value {
        RawValue::Str(text) => Ok(text.trim().to_owned()),
        other => Err(Invalid::new(
            value,
            format!(
                "Expected value to be a string, but it was a {}",
                other.type_name()
            ),
        )),
    }
}

/// `ConfigDef.Range.atLeast(min)` (and `between` when `max` is given): checks `number`.
pub(crate) fn in_range(
    value: &RawValue,
    number: i64,
    min: i64,
    max: Option<i64>,
) -> Result<i64, Invalid> {
    if number < min {
        return Err(Invalid::new(value, format!("Value must be at least {min}")));
    }
    match max {
        Some(max) if number > max => Err(Invalid::new(
            value,
            format!("Value must be no more than {max}"),
        )),
        _ => Ok(number),
    }
}

/// An `INT` with `Range.atLeast(min)`, returned as a `u32` (for non-negative `min`).
pub(crate) fn int_at_least_u32(value: &RawValue, min: i64) -> Result<u32, Invalid> {
    let number = in_range(value, i64::from(int(value)?), min.max(0), None)?;
    Ok(u32::try_from(number).expect("an INT at least 0 fits a u32"))
}

/// A `LONG` with `Range.atLeast(min)`, returned as a `u64` (for non-negative `min`).
pub(crate) fn long_at_least_u64(value: &RawValue, min: i64) -> Result<u64, Invalid> {
    let number = in_range(value, long(value)?, min.max(0), None)?;
    Ok(u64::try_from(number).expect("a LONG at least 0 fits a u64"))
}

/// `ConfigDef.ValidString.in(options)`: case-sensitive membership, as in Kafka.
pub(crate) fn one_of<'a>(
    value: &RawValue,
    text: &str,
    options: &[&'a str],
) -> Result<&'a str, Invalid> {
    options
        .iter()
        .find(|option| **option == text)
        .copied()
        .ok_or_else(|| {
            Invalid::new(
                value,
                format!("String must be one of: {}", options.join(", ")),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(raw: &str) -> RawValue {
        RawValue::Str(raw.to_owned())
    }

    // ConfigDef.parseType INT: trimmed string, Integer.parseInt semantics.
    #[test]
    fn int_parses_trimmed_signed_strings_like_integer_parse_int() {
        assert_eq!(int(&text(" 42 ")), Ok(42));
        assert_eq!(int(&text("+7")), Ok(7));
        assert_eq!(int(&text("-1")), Ok(-1));
        assert!(int(&text("1_000")).is_err());
        assert!(int(&text("")).is_err());
        assert!(int(&text("-")).is_err());
        assert!(int(&text("2147483648")).is_err());
        assert_eq!(int(&RawValue::Int(2_147_483_647)), Ok(i32::MAX));
        assert!(int(&RawValue::Int(2_147_483_648)).is_err());
    }

    // ConfigDef.parseType INT: a non-integer typed value is a type error naming the type.
    #[test]
    fn int_rejects_other_types_with_the_type_name() {
        let error = int(&RawValue::Float(1.5)).expect_err("a float is not an INT");
        assert!(error.reason.contains("32-bit integer"), "{}", error.reason);
        assert!(error.reason.contains("float"), "{}", error.reason);
    }

    // ConfigDef.parseType LONG: 64-bit range.
    #[test]
    fn long_accepts_the_full_java_long_range() {
        assert_eq!(long(&text("9223372036854775807")), Ok(i64::MAX));
        assert!(long(&text("9223372036854775808")).is_err());
        assert_eq!(
            long(&text("abc")).expect_err("not a number").reason,
            "Not a number of type LONG"
        );
    }

    // ConfigDef.parseType BOOLEAN: equalsIgnoreCase("true"/"false") after trim.
    #[test]
    fn boolean_is_case_insensitive_and_strict_otherwise() {
        assert_eq!(boolean(&text(" TRUE ")), Ok(true));
        assert_eq!(boolean(&text("False")), Ok(false));
        assert!(boolean(&text("yes")).is_err());
        assert!(boolean(&text("1")).is_err());
        assert!(boolean(&RawValue::Int(1)).is_err());
    }

    // ConfigDef.Range.between: messages name the violated bound.
    #[test]
    fn range_messages_name_the_bound() {
        let value = RawValue::Int(-1);
        assert_eq!(
            in_range(&value, -1, 0, None).expect_err("below").reason,
            "Value must be at least 0"
        );
        assert_eq!(
            in_range(&value, 18, 1, Some(17)).expect_err("above").reason,
            "Value must be no more than 17"
        );
    }
}
