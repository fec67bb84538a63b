//! The trace: structured events `(time, component, kind, fields)`.
//!
//! A trace that is off costs one branch per call site: events are built inside a closure that
//! only runs when tracing is on. When on, every event is folded into an FNV-1a hash of its
//! canonical JSON line (for determinism checks) and handed to an optional sink (JSON lines to a
//! writer the caller owns, or an in-memory list for teaching views).
//!
//! Each event's canonical line is `{"t":<ns>,"c":"<component>","k":"<kind>","f":{<fields>}}`,
//! with the fields in the order they were added, integers as JSON numbers and strings escaped
//! per RFC 8259. The trace hash is FNV-1a over every line followed by `\n`, which is exactly the
//! FNV-1a of the file a [`JsonLinesSink`] writes, so a hash can be checked against a file with
//! [`hash_bytes`].

use std::fmt::Write as _;
use std::io;

use crate::rng::fnv1a64;
use crate::time::Instant;

/// A field value in a trace event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// An unsigned integer.
    U64(u64),
    /// A signed integer.
    I64(i64),
    /// A boolean.
    Bool(bool),
    /// A string.
    Str(String),
}

impl From<u64> for Value {
    fn from(v: u64) -> Self {
        Value::U64(v)
    }
}
impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::U64(u64::from(v))
    }
}
impl From<usize> for Value {
    fn from(v: usize) -> Self {
        Value::U64(v as u64)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::I64(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::I64(i64::from(v))
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Str(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Str(v)
    }
}

/// One trace event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceEvent {
    /// When it happened.
    pub time: Instant,
    /// Which component, as a stable path such as `broker/1` or `producer/sender`.
    pub component: String,
    /// What happened, such as `append` or `request_timeout`.
    pub kind: &'static str,
    /// Key fields, in the order they were added.
    pub fields: Vec<(&'static str, Value)>,
}

impl TraceEvent {
    /// Adds a field and returns the event, for chaining inside a trace closure.
    pub fn with(mut self, key: &'static str, value: impl Into<Value>) -> Self {
        self.fields.push((key, value.into()));
        self
    }

    /// The field called `key`, if present.
    pub fn field(&self, key: &str) -> Option<&Value> {
        self.fields.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The canonical JSON line (no trailing newline):
    /// `{"t":<ns>,"c":"<component>","k":"<kind>","f":{...}}`.
    pub fn to_json_line(&self) -> String {
        let mut out = String::with_capacity(64);
        out.push_str("{\"t\":");
        let _ = write!(out, "{}", self.time.as_nanos());
        out.push_str(",\"c\":");
        push_json_str(&mut out, &self.component);
        out.push_str(",\"k\":");
        push_json_str(&mut out, self.kind);
        out.push_str(",\"f\":{");
        for (i, (key, value)) in self.fields.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_json_str(&mut out, key);
            out.push(':');
            match value {
                Value::U64(v) => {
                    let _ = write!(out, "{v}");
                }
                Value::I64(v) => {
                    let _ = write!(out, "{v}");
                }
                Value::Bool(v) => out.push_str(if *v { "true" } else { "false" }),
                Value::Str(s) => push_json_str(&mut out, s),
            }
        }
        out.push_str("}}");
        out
    }
}

fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Where trace events go besides the hash.
pub trait TraceSink {
    /// Receives one event; `line` is its canonical JSON line.
    fn record(&mut self, event: &TraceEvent, line: &str);
    /// Called once when the run is over; a sink that writes reports its I/O error here.
    fn finish(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes each event as one JSON line to a writer the caller owns.
pub struct JsonLinesSink<W: io::Write> {
    writer: W,
    error: Option<io::Error>,
}

impl<W: io::Write> JsonLinesSink<W> {
    /// A sink writing to `writer`.
    pub fn new(writer: W) -> Self {
        JsonLinesSink {
            writer,
            error: None,
        }
    }
}

impl<W: io::Write> TraceSink for JsonLinesSink<W> {
    fn record(&mut self, _event: &TraceEvent, line: &str) {
        if self.error.is_some() {
            return;
        }
        let written = self.writer.write_all(line.as_bytes());
        if let Err(e) = written.and_then(|()| self.writer.write_all(b"\n")) {
            self.error = Some(e);
        }
    }
    fn finish(&mut self) -> io::Result<()> {
        match self.error.take() {
            Some(e) => Err(e),
            None => self.writer.flush(),
        }
    }
}

/// How much tracing a run does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceMode {
    /// No events are built at all.
    Off,
    /// Events are built, hashed and passed to the sink (if any).
    On,
}

/// The trace of one run.
pub struct Trace {
    mode: TraceMode,
    hash: u64,
    event_count: u64,
    sink: Option<Box<dyn TraceSink + Send>>,
    kept: Option<Vec<TraceEvent>>,
}

impl Default for Trace {
    fn default() -> Self {
        Trace::off()
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

impl Trace {
    /// A trace that records nothing.
    pub fn off() -> Self {
        Trace {
            mode: TraceMode::Off,
            hash: FNV_OFFSET,
            event_count: 0,
            sink: None,
            kept: None,
        }
    }
    /// A trace that only hashes events.
    pub fn hashing() -> Self {
        Trace {
            mode: TraceMode::On,
            ..Trace::off()
        }
    }
    /// A trace that hashes events and keeps them in memory (see [`Trace::events`]).
    pub fn keeping() -> Self {
        Trace {
            mode: TraceMode::On,
            kept: Some(Vec::new()),
            ..Trace::off()
        }
    }
    /// A trace that hashes events and passes them to `sink`. Call [`Trace::finish`] at the end
    /// of the run to flush the sink and learn of any write error.
    ///
    /// The sink must be `Send` so that a trace (and the engine holding it) can be built on one
    /// thread and handed back from another, as a parallel sweep does.
    pub fn with_sink(sink: Box<dyn TraceSink + Send>) -> Self {
        Trace {
            mode: TraceMode::On,
            sink: Some(sink),
            ..Trace::off()
        }
    }
    /// Also keep events in memory.
    pub fn and_keep(mut self) -> Self {
        self.kept = Some(Vec::new());
        self
    }

    /// Whether events are being built.
    #[inline]
    pub fn is_on(&self) -> bool {
        self.mode == TraceMode::On
    }

    /// Records `event`.
    pub fn record(&mut self, event: TraceEvent) {
        if !self.is_on() {
            return;
        }
        let line = event.to_json_line();
        // Fold the line and a separator into the running FNV-1a hash.
        let mut h = self.hash;
        for &b in line.as_bytes().iter().chain(std::iter::once(&b'\n')) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.hash = h;
        self.event_count += 1;
        if let Some(sink) = self.sink.as_mut() {
            sink.record(&event, &line);
        }
        if let Some(kept) = self.kept.as_mut() {
            kept.push(event);
        }
    }

    /// The FNV-1a hash of every event's JSON line so far; equal traces have equal hashes.
    pub fn hash(&self) -> u64 {
        self.hash
    }
    /// Number of events recorded.
    pub fn event_count(&self) -> u64 {
        self.event_count
    }
    /// Events kept in memory (empty unless made with [`Trace::keeping`] or [`Trace::and_keep`]).
    pub fn events(&self) -> &[TraceEvent] {
        self.kept.as_deref().unwrap_or(&[])
    }
    /// Takes the kept events.
    pub fn take_events(&mut self) -> Vec<TraceEvent> {
        self.kept.as_mut().map(std::mem::take).unwrap_or_default()
    }
    /// Flushes the sink and reports any write error it met.
    pub fn finish(&mut self) -> io::Result<()> {
        match self.sink.as_mut() {
            Some(sink) => sink.finish(),
            None => Ok(()),
        }
    }
}

/// Hash of a byte string with the trace's hash function, for tests that compare traces.
pub fn hash_bytes(bytes: &[u8]) -> u64 {
    fnv1a64(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A writer whose bytes the test can read after the trace has taken it.
    #[derive(Clone, Default)]
    struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

    impl io::Write for SharedBuffer {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0
                .lock()
                .expect("not poisoned")
                .extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// A writer that accepts `budget` bytes and then fails.
    struct FailingWriter {
        budget: usize,
    }

    impl io::Write for FailingWriter {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            if bytes.len() > self.budget {
                return Err(io::Error::other("disk full"));
            }
            self.budget -= bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn tricky_events() -> Vec<TraceEvent> {
        let nasty = "quote \" backslash \\ newline \n tab \t bell \u{7} del \u{7f} ünïcødé 🦀";
        vec![
            TraceEvent {
                time: Instant::from_nanos(0),
                component: "producer/0".to_owned(),
                kind: "append",
                fields: Vec::new(),
            },
            TraceEvent {
                time: Instant::from_nanos(u64::MAX),
                component: nasty.to_owned(),
                kind: "edge",
                fields: Vec::new(),
            }
            .with("max", u64::MAX)
            .with("min", i64::MIN)
            .with("yes", true)
            .with("no", false)
            .with("text", nasty)
            .with("we\"ird", 1u32),
        ]
    }

    fn json_of(event: &TraceEvent) -> serde_json::Value {
        let fields: serde_json::Map<String, serde_json::Value> = event
            .fields
            .iter()
            .map(|(key, value)| {
                let value = match value {
                    Value::U64(v) => serde_json::Value::from(*v),
                    Value::I64(v) => serde_json::Value::from(*v),
                    Value::Bool(v) => serde_json::Value::from(*v),
                    Value::Str(v) => serde_json::Value::from(v.as_str()),
                };
                ((*key).to_owned(), value)
            })
            .collect();
        serde_json::json!({
            "t": event.time.as_nanos(),
            "c": event.component,
            "k": event.kind,
            "f": fields,
        })
    }

    #[test]
    fn json_lines_sink_output_round_trips_through_a_json_parser() {
        let buffer = SharedBuffer::default();
        let mut trace = Trace::with_sink(Box::new(JsonLinesSink::new(buffer.clone())));
        let events = tricky_events();
        for event in &events {
            trace.record(event.clone());
        }
        trace.finish().expect("the buffer never fails");
        let text = String::from_utf8(buffer.0.lock().expect("not poisoned").clone())
            .expect("JSON lines are UTF-8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), events.len());
        assert!(text.ends_with('\n'));
        for (line, event) in lines.iter().zip(&events) {
            let parsed: serde_json::Value = serde_json::from_str(line).expect("each line is JSON");
            assert_eq!(parsed, json_of(event), "line {line}");
            assert_eq!(*line, event.to_json_line());
        }
    }

    #[test]
    fn a_failing_writer_surfaces_its_error_from_finish() {
        let sink = JsonLinesSink::new(FailingWriter { budget: 30 });
        let mut trace = Trace::with_sink(Box::new(sink));
        for event in tricky_events() {
            trace.record(event);
        }
        let error = trace.finish().expect_err("the writer ran out of room");
        assert_eq!(error.to_string(), "disk full");
        assert_eq!(
            trace.event_count(),
            2,
            "hashing goes on after the sink fails"
        );
    }

    #[test]
    fn equal_traces_hash_equal_and_any_difference_changes_the_hash() {
        let hash_of = |events: &[TraceEvent]| {
            let mut trace = Trace::hashing();
            for event in events {
                trace.record(event.clone());
            }
            trace.hash()
        };
        let events = tricky_events();
        assert_eq!(hash_of(&events), hash_of(&events));
        let mut later = events.clone();
        later[0].time = Instant::from_nanos(1);
        assert_ne!(hash_of(&events), hash_of(&later));
        let reversed: Vec<TraceEvent> = events.iter().rev().cloned().collect();
        assert_ne!(hash_of(&events), hash_of(&reversed));
        assert_ne!(hash_of(&events), Trace::hashing().hash());
    }

    #[test]
    fn traces_and_engines_can_cross_threads() {
        fn assert_send<T: Send>() {}
        assert_send::<Trace>();
        assert_send::<crate::Engine<u64>>();
    }

    #[test]
    fn an_off_trace_records_nothing() {
        let mut trace = Trace::off();
        for event in tricky_events() {
            trace.record(event);
        }
        assert_eq!(trace.event_count(), 0);
        assert_eq!(trace.hash(), Trace::hashing().hash());
        assert!(trace.events().is_empty());
        assert!(trace.finish().is_ok());
    }

    #[test]
    fn kept_events_can_be_read_and_taken() {
        let buffer = SharedBuffer::default();
        let mut trace = Trace::with_sink(Box::new(JsonLinesSink::new(buffer.clone()))).and_keep();
        for event in tricky_events() {
            trace.record(event);
        }
        assert_eq!(trace.events(), tricky_events().as_slice());
        assert_eq!(trace.events()[1].field("yes"), Some(&Value::Bool(true)));
        assert_eq!(trace.take_events().len(), 2);
        assert!(trace.events().is_empty());
        assert_eq!(
            buffer
                .0
                .lock()
                .expect("not poisoned")
                .iter()
                .filter(|&&b| b == b'\n')
                .count(),
            2
        );
    }
}
