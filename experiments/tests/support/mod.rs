//! Helpers shared by the tests that drive the `linger` binary on an experiment file and judge
//! the run from its JSON report and its trace.

#![allow(dead_code, reason = "each test file uses the helpers it needs")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A fresh scratch directory `<suite>/<name>` under the test target's temporary directory.
pub fn scratch(suite: &str, name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(suite)
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Writes `text` to `<scratch>/experiment.toml` and runs `linger run` on it with `args`.
pub fn linger_run(dir: &Path, text: &str, args: &[&str]) -> Output {
    let path = dir.join("experiment.toml");
    std::fs::write(&path, text).expect("writes");
    Command::new(env!("CARGO_BIN_EXE_linger"))
        .arg("run")
        .arg(&path)
        .args(args)
        .output()
        .expect("the binary runs")
}

/// A run's metrics (replicate 0) and, when asked for, its trace.
pub struct Run {
    pub metrics: serde_json::Value,
    pub trace: Vec<TraceLine>,
}

/// One trace event: virtual time in ns, component, kind, fields.
#[derive(Debug)]
pub struct TraceLine {
    pub t_ns: u64,
    pub component: String,
    pub kind: String,
    pub fields: serde_json::Value,
}

impl TraceLine {
    /// Virtual time in ms.
    pub fn ms(&self) -> f64 {
        self.t_ns as f64 / 1e6
    }

    /// An integer field.
    pub fn int(&self, name: &str) -> i64 {
        self.fields[name]
            .as_i64()
            .unwrap_or_else(|| panic!("no integer {name} in {self:?}"))
    }

    /// Whether this is `component`'s `kind` event.
    pub fn is(&self, component: &str, kind: &str) -> bool {
        self.component == component && self.kind == kind
    }

    /// A field as text: a string field without its quotes, anything else as JSON.
    pub fn text(&self, name: &str) -> String {
        match &self.fields[name] {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }
}

impl Run {
    /// The trace events of `component` and `kind`, in order.
    pub fn events<'a>(
        &'a self,
        component: &'a str,
        kind: &'a str,
    ) -> impl Iterator<Item = &'a TraceLine> + 'a {
        self.trace.iter().filter(move |e| e.is(component, kind))
    }

    /// The times, in ms, of the trace events of `component` and `kind`.
    pub fn times_ms(&self, component: &str, kind: &str) -> Vec<f64> {
        self.events(component, kind).map(TraceLine::ms).collect()
    }
}

/// Runs `text` (which must succeed) and returns its metrics; with `Trace::Keep`, its trace too.
pub fn run(suite: &str, name: &str, text: &str, trace: Trace) -> Run {
    let dir = scratch(suite, name);
    let trace_path = dir.join("trace.jsonl");
    let trace_arg = trace_path.to_str().expect("a UTF-8 path").to_owned();
    let mut args = vec!["--json"];
    if trace == Trace::Keep {
        args.extend(["--trace", trace_arg.as_str()]);
    }
    let output = linger_run(&dir, text, &args);
    assert!(
        output.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let trace = match trace {
        Trace::Off => Vec::new(),
        Trace::Keep => read_trace(&trace_path),
    };
    Run {
        metrics: report["runs"][0]["metrics"].clone(),
        trace,
    }
}

/// Whether a run keeps its trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trace {
    Off,
    Keep,
}

fn read_trace(path: &Path) -> Vec<TraceLine> {
    let text = std::fs::read_to_string(path).expect("the trace was written");
    text.lines()
        .map(|line| {
            let e: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            TraceLine {
                t_ns: e["t"].as_u64().expect("a time"),
                component: e["c"].as_str().expect("a component").to_owned(),
                kind: e["k"].as_str().expect("a kind").to_owned(),
                fields: e["f"].clone(),
            }
        })
        .collect()
}

/// A metric of a run.
pub fn get(m: &serde_json::Value, name: &str) -> f64 {
    m[name]
        .as_f64()
        .unwrap_or_else(|| panic!("no metric {name} in {m}"))
}

/// `text` is refused with exit code 2, naming the file and line, `key` and `words`.
pub fn assert_refused(suite: &str, name: &str, text: &str, key: &str, words: &str) {
    let output = linger_run(&scratch(suite, name), text, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{name}: {stderr}");
    assert!(stderr.contains(key), "{name}: {stderr}");
    assert!(stderr.contains(words), "{name}: {stderr}");
    assert!(stderr.contains("experiment.toml:"), "{name}: {stderr}");
}

/// `text` is refused with exit code 2, without a panic, and the message holds every `needle`.
pub fn assert_refused_with(suite: &str, name: &str, text: &str, needles: &[&str]) {
    let output = linger_run(&scratch(suite, name), text, &[]);
    let message = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{name}: {message}");
    assert!(!message.contains("panicked"), "{name}: {message}");
    for needle in needles {
        assert!(message.contains(needle), "{name}: {needle:?} in {message}");
    }
}
