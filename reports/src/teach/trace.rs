//! Parsing a trace given as JSON lines, one event per line:
//! `{"t":<ns>,"c":"<component>","k":"<kind>","f":{<fields>}}` (the engine's canonical line).
//!
//! Parsing is strict about the line shape (a line that is not such an object is an error naming
//! its line number) and tolerant about content: any component, kind or field set is accepted.

use crate::error::ReportError;

/// One trace event.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TraceLine {
    /// 1-based line in the input, for messages.
    pub line: u64,
    /// Virtual time in nanoseconds.
    pub t_ns: u64,
    /// The component path, such as `producer` or `broker/1`.
    pub component: String,
    /// The event kind, such as `drain` or `truncate`.
    pub kind: String,
    /// The key fields.
    pub fields: serde_json::Map<String, serde_json::Value>,
}

impl TraceLine {
    /// The field `key` as display text; `?` when missing.
    pub(crate) fn text(&self, key: &str) -> String {
        match self.fields.get(key) {
            None | Some(serde_json::Value::Null) => "?".to_owned(),
            Some(value) => value_text(value),
        }
    }

    /// The field `key` as an integer, when it is one.
    pub(crate) fn int(&self, key: &str) -> Option<i64> {
        self.fields
            .get(key)
            .and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()))
    }
}

fn value_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(value_text).collect();
            format!("[{}]", parts.join(","))
        }
        other => other.to_string(),
    }
}

/// Parses every non-blank line of `text`.
pub(crate) fn parse(text: &str) -> Result<Vec<TraceLine>, ReportError> {
    let mut events = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index as u64 + 1;
        if raw.trim().is_empty() {
            continue;
        }
        events.push(parse_line(raw, line)?);
    }
    Ok(events)
}

fn parse_line(raw: &str, line: u64) -> Result<TraceLine, ReportError> {
    let bad = |message: String| ReportError::Json {
        source_name: "trace".to_owned(),
        line: Some(line),
        message,
    };
    let value: serde_json::Value = serde_json::from_str(raw).map_err(|e| bad(e.to_string()))?;
    let t_ns = value
        .get("t")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| {
            bad("key `t` (virtual time in ns, a non-negative integer) is missing".to_owned())
        })?;
    let component = value
        .get("c")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| bad("key `c` (component, a string) is missing".to_owned()))?
        .to_owned();
    let kind = value
        .get("k")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| bad("key `k` (event kind, a string) is missing".to_owned()))?
        .to_owned();
    let fields = match value.get("f") {
        None | Some(serde_json::Value::Null) => serde_json::Map::new(),
        Some(serde_json::Value::Object(map)) => map.clone(),
        Some(_) => return Err(bad("key `f` (fields) must be an object".to_owned())),
    };
    Ok(TraceLine {
        line,
        t_ns,
        component,
        kind,
        fields,
    })
}

/// Virtual time as milliseconds with three decimals, from integer nanoseconds (no floats).
pub(crate) fn ms_text(t_ns: u64) -> String {
    format!("{}.{:03}", t_ns / 1_000_000, (t_ns / 1_000) % 1_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_canonical_line_and_tolerates_missing_fields() {
        let events =
            parse("{\"t\":1500000,\"c\":\"producer\",\"k\":\"drain\",\"f\":{\"batch\":3}}\n\n")
                .expect("valid");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].t_ns, 1_500_000);
        assert_eq!(events[0].text("batch"), "3");
        assert_eq!(events[0].text("pid"), "?");
    }

    #[test]
    fn bad_line_names_its_number() {
        let err = parse("{\"t\":1,\"c\":\"a\",\"k\":\"b\",\"f\":{}}\nnot json\n")
            .expect_err("line 2 is bad");
        assert!(err.to_string().starts_with("trace line 2:"), "{err}");
        let err = parse("{\"c\":\"a\",\"k\":\"b\"}").expect_err("no time");
        assert!(err.to_string().contains("`t`"), "{err}");
    }

    #[test]
    fn time_is_milliseconds_with_three_decimals() {
        assert_eq!(ms_text(0), "0.000");
        assert_eq!(ms_text(12_345_678), "12.345");
        assert_eq!(ms_text(5_000_000_000), "5000.000");
    }
}
