//! The `tidy` test: house rules that clippy cannot see, checked over the whole workspace.
//!
//! It walks the workspace (the parent of this crate's directory, skipping `target/` and hidden
//! directories) and fails, naming every offending `file:line`, when:
//!
//! 1. a `.rs` file under `sim/`, `models/`, `experiments/` or `reports/` does not start with a
//!    `//!` module doc;
//! 2. code under `sim/` or `models/` (tests included; only `sim/benches/` is exempt) names a
//!    hash-ordered collection, the wall clock, unseeded randomness or sleeping; comment lines are
//!    not checked, so docs may explain the rule;
//! 3. anything under `models/batching/` mentions `sim::`, `use sim`, a `sim` dependency or `rand`
//!    (the batching core is std only);
//! 4. a `.rs`, `.md` or `.toml` file has trailing whitespace;
//! 5. a `.rs` file uses the attribute that expects a panic (tests assert outcomes instead).
//!
//! The rules are plain functions over `(path, text)`, so the unit tests below feed them broken
//! snippets and check that each rule fires.
//!
//! Rule 2 is the text-level twin of `clippy.toml`, which denies the same items by path
//! (`disallowed-types`, `disallowed-methods`) wherever they are resolved, aliases included.
//! Those clippy entries were checked to fire in a scratch crate with this `clippy.toml`:
//! `HashMap`, `HashSet`, `std::time::Instant` and `SystemTime` (types), `Instant::now`,
//! `SystemTime::now` and `std::thread::sleep` (methods) are each reported as errors. The
//! `rand::random` and `rand::rng` entries cannot fire because `rand` is built without its
//! `thread_rng` feature, so those functions do not exist at all (a stronger ban); clippy warns
//! that the paths are unreachable unless the entries carry `allow-invalid = true`.

use std::fs;
use std::path::{Path, PathBuf};

/// Rule 2: names banned in `sim/` and `models/` code.
const BANNED_IN_DETERMINISTIC_CODE: &[&str] = &[
    "HashMap",
    "HashSet",
    "Instant::now",
    "SystemTime",
    "thread_rng",
    "rand::random",
    "thread::sleep",
];

/// Rule 5, spelled in two halves so this file does not trip its own rule.
const PANIC_EXPECTING_ATTRIBUTE: &str = concat!("should", "_panic");

/// Top-level directories whose `.rs` files need a module doc (rule 1).
const DOCUMENTED_ROOTS: &[&str] = &["sim/", "models/", "experiments/", "reports/"];

/// One broken rule at one place.
#[derive(Debug, PartialEq, Eq)]
struct Problem {
    path: String,
    line: usize,
    message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.path, self.line, self.message)
    }
}

/// Every file of the workspace worth checking, as paths relative to the root with `/`
/// separators, sorted so the report is stable.
fn workspace_files(root: &Path) -> Vec<(String, PathBuf)> {
    let mut files = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot list {dir:?}: {e}"));
        for entry in entries {
            let path = entry.expect("a directory entry can be read").path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.starts_with('.') || name == "target" {
                continue;
            }
            if path.is_dir() {
                pending.push(path);
            } else {
                let relative = path.strip_prefix(root).expect("walked from the root");
                let relative = relative.to_string_lossy().replace('\\', "/");
                files.push((relative, path));
            }
        }
    }
    files.sort();
    files
}

/// All problems in one file, given its workspace-relative path and its text.
fn problems_in(path: &str, text: &str) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut report = |line: usize, message: String| {
        problems.push(Problem {
            path: path.to_owned(),
            line,
            message,
        });
    };
    let is_rust = path.ends_with(".rs");
    if is_rust && DOCUMENTED_ROOTS.iter().any(|root| path.starts_with(root)) {
        let first = text.lines().next().unwrap_or("");
        if !first.starts_with("//!") {
            report(
                1,
                "file does not start with a `//!` doc saying what it is for".into(),
            );
        }
    }
    let deterministic = is_rust
        && (path.starts_with("sim/") || path.starts_with("models/"))
        && !path.starts_with("sim/benches/");
    let batching = path.starts_with("models/batching/");
    let whitespace_checked = [".rs", ".md", ".toml"]
        .iter()
        .any(|ext| path.ends_with(ext));
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if deterministic && !line.trim_start().starts_with("//") {
            for banned in BANNED_IN_DETERMINISTIC_CODE {
                if line.contains(banned) {
                    report(number, format!("`{banned}` is banned in sim/ and models/"));
                }
            }
        }
        if batching && let Some(what) = batching_violation(path, line) {
            report(
                number,
                format!("models/batching/ must stay std only: mentions {what}"),
            );
        }
        if whitespace_checked && line.ends_with([' ', '\t']) {
            report(number, "trailing whitespace".into());
        }
        if is_rust && line.contains(PANIC_EXPECTING_ATTRIBUTE) {
            report(
                number,
                "tests must assert outcomes, not expect panics".into(),
            );
        }
    }
    problems
}

/// Rule 3 for one line of a file under `models/batching/`.
fn batching_violation(path: &str, line: &str) -> Option<&'static str> {
    if line.contains("sim::") {
        return Some("`sim::`");
    }
    if line.contains("use sim") {
        return Some("`use sim`");
    }
    let trimmed = line.trim_start();
    let dependency_key = |key: &str| {
        trimmed
            .strip_prefix(key)
            .is_some_and(|rest| rest.trim_start().starts_with(['=', '.']))
    };
    if path.ends_with("Cargo.toml") && dependency_key("sim") {
        return Some("a `sim` dependency");
    }
    if mentions_rand(line) {
        return Some("`rand`");
    }
    None
}

/// Whether `line` has the identifier `rand` or one starting with `rand_` (as in `rand_chacha`),
/// but not a word that merely contains it (`random`, `operand`).
fn mentions_rand(line: &str) -> bool {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    line.match_indices("rand").any(|(start, _)| {
        let before = line[..start].chars().next_back();
        let after = line[start + 4..].chars().next();
        !before.is_some_and(is_ident) && (!after.is_some_and(is_ident) || after == Some('_'))
    })
}

#[test]
fn workspace_is_tidy() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("experiments/ lives inside the workspace");
    let mut problems = Vec::new();
    let mut checked = 0;
    for (relative, path) in workspace_files(root) {
        let Ok(text) = fs::read_to_string(&path) else {
            continue; // Not UTF-8 (an image, a font): none of the rules applies.
        };
        checked += 1;
        problems.extend(problems_in(&relative, &text));
    }
    assert!(
        checked > 10,
        "tidy found only {checked} files under {root:?}"
    );
    let report: Vec<String> = problems.iter().map(Problem::to_string).collect();
    assert!(
        problems.is_empty(),
        "tidy found {} problem(s):\n{}",
        problems.len(),
        report.join("\n")
    );
}

/// The lines a rule fired on for a snippet, to keep the rule tests short.
fn lines_flagged(path: &str, text: &str) -> Vec<usize> {
    problems_in(path, text).iter().map(|p| p.line).collect()
}

#[test]
fn rule_1_wants_a_module_doc_first() {
    assert_eq!(lines_flagged("sim/src/x.rs", "use std::fmt;\n"), [1]);
    assert_eq!(lines_flagged("reports/src/x.rs", "// plain comment\n"), [1]);
    assert_eq!(lines_flagged("experiments/src/x.rs", ""), [1]);
    assert!(lines_flagged("models/src/x.rs", "//! Why this exists.\nfn f() {}\n").is_empty());
    assert!(lines_flagged("other/x.rs", "fn f() {}\n").is_empty());
}

#[test]
fn rule_2_bans_nondeterminism_in_sim_and_models_code() {
    let text = "//! Doc.\n\
                use std::collections::HashMap;\n\
                // A comment may name HashSet.\n\
                let t = std::time::Instant::now();\n\
                let r = rand::random::<u8>();\n\
                std::thread::sleep(d);\n\
                let s = SystemTime::UNIX_EPOCH; let g = thread_rng();\n";
    assert_eq!(lines_flagged("models/src/x.rs", text), [2, 4, 5, 6, 7, 7]);
    assert_eq!(lines_flagged("sim/tests/x.rs", text), [2, 4, 5, 6, 7, 7]);
    assert!(lines_flagged("sim/benches/x.rs", text).is_empty());
    assert!(lines_flagged("experiments/src/x.rs", text).is_empty());
}

#[test]
fn rule_3_keeps_batching_free_of_sim_and_rand() {
    let text = "//! Doc.\n\
                use sim::Engine;\n\
                let x = sim::Instant::ZERO;\n\
                let r = rand_chacha::ChaCha8Rng;\n\
                // random operands and brands are fine\n\
                use rand::Rng;\n";
    assert_eq!(
        lines_flagged("models/batching/src/x.rs", text),
        [2, 3, 4, 6]
    );
    let manifest =
        "[dependencies]\nsim = { workspace = true }\nsimple = \"1\"\nrand.workspace = true\n";
    assert_eq!(
        lines_flagged("models/batching/Cargo.toml", manifest),
        [2, 4]
    );
    assert!(lines_flagged("models/src/x.rs", "//! Doc.\nuse sim::Engine;\n").is_empty());
}

#[test]
fn rule_4_finds_trailing_whitespace() {
    assert_eq!(
        lines_flagged("README.md", "ok\nspace \ntab\t\nok\n"),
        [2, 3]
    );
    assert_eq!(lines_flagged("Cargo.toml", "a = 1 \n"), [1]);
    assert!(lines_flagged("data.csv", "a, \n").is_empty());
}

#[test]
fn rule_5_bans_tests_that_expect_a_panic() {
    let text = format!("//! Doc.\n#[test]\n#[{PANIC_EXPECTING_ATTRIBUTE}]\nfn t() {{}}\n");
    assert_eq!(lines_flagged("experiments/tests/x.rs", &text), [3]);
    assert_eq!(lines_flagged("x.rs", &text), [3]);
}

#[test]
fn problems_print_as_file_and_line() {
    let problems = problems_in("sim/src/x.rs", "fn f() {}  \n");
    let printed: Vec<String> = problems.iter().map(Problem::to_string).collect();
    assert_eq!(
        printed,
        [
            "sim/src/x.rs:1: file does not start with a `//!` doc saying what it is for",
            "sim/src/x.rs:1: trailing whitespace",
        ]
    );
}
