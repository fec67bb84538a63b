//! The Java side: finding `java` and `mvn`, building the driver of the `crosscheck/` Maven
//! project, and running it as one child process that reads scripts on stdin and writes
//! decisions on stdout.
//!
//! The child is killed and reaped when its [`JavaDriver`] is dropped, on every exit path
//! (a difference, an error, a panic unwinding through the caller).

use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::CrosscheckError;

/// The driver's main class.
pub const DRIVER_CLASS: &str = "org.apache.kafka.clients.producer.internals.AccumulatorDriver";

/// Lines of Maven's output quoted when a build fails.
const MAVEN_TAIL_LINES: usize = 40;

/// Whether `program` runs (`program -version` exits successfully).
fn runs(program: &str, version_flag: &str) -> bool {
    Command::new(program)
        .arg(version_flag)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Checks that a JDK and Maven are installed.
pub fn check_tools() -> Result<(), CrosscheckError> {
    let mut missing = Vec::new();
    if !runs("java", "-version") {
        missing.push("java (a JDK 17 or newer, e.g. Debian's openjdk-17-jdk-headless)");
    }
    if !runs("mvn", "-v") {
        missing.push("mvn (Apache Maven 3, e.g. Debian's maven)");
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(CrosscheckError::ToolsMissing(missing.join(" and ")))
    }
}

// File modification times decide whether to rebuild; they never feed a comparison.
#[allow(clippy::disallowed_types)]
fn newest_source_change(project: &Path) -> Option<std::time::SystemTime> {
    let mut newest = std::fs::metadata(project.join("pom.xml"))
        .ok()?
        .modified()
        .ok()?;
    let mut pending = vec![project.join("src")];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).ok()?.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if let Ok(modified) = entry.metadata().and_then(|m| m.modified()) {
                newest = newest.max(modified);
            }
        }
    }
    Some(newest)
}

#[allow(clippy::disallowed_types)] // file times, as above
/// Builds the driver with Maven unless its build is newer than every source file, and
/// returns the classpath to start it with.
pub fn build(project: &Path) -> Result<String, CrosscheckError> {
    let classpath_file = project.join("target").join("classpath.txt");
    let jar = project.join("target").join("linger-crosscheck-1.0.0.jar");
    let built = std::fs::metadata(&jar)
        .and_then(|m| m.modified())
        .ok()
        .zip(std::fs::metadata(&classpath_file).ok());
    let fresh = match (built, newest_source_change(project)) {
        (Some((built_at, _)), Some(source_at)) => built_at >= source_at,
        _ => false,
    };
    if !fresh {
        let pom = project.join("pom.xml");
        let output = Command::new("mvn")
            .args(["-B", "-q", "-Dstyle.color=never", "-f"])
            .arg(&pom)
            .arg("package")
            .output()
            .map_err(|error| CrosscheckError::Io {
                what: "run mvn".into(),
                error,
            })?;
        if !output.status.success() {
            let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&output.stderr));
            let text = strip_terminal_colours(&text);
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(MAVEN_TAIL_LINES)..].join("\n");
            return Err(CrosscheckError::MavenFailed { tail });
        }
    }
    let dependencies =
        std::fs::read_to_string(&classpath_file).map_err(|error| CrosscheckError::Io {
            what: format!("read {}", classpath_file.display()),
            error,
        })?;
    let separator = if cfg!(windows) { ";" } else { ":" };
    Ok(format!(
        "{}{separator}{}",
        jar.display(),
        dependencies.trim()
    ))
}

/// Maven's output without the terminal colour codes some of its messages keep.
fn strip_terminal_colours(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            for next in chars.by_ref() {
                if next.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The running driver.
pub struct JavaDriver {
    child: Child,
    stdin: Option<BufWriter<ChildStdin>>,
    stdout: BufReader<ChildStdout>,
    stderr_tail: Arc<Mutex<Vec<String>>>,
    stderr_thread: Option<JoinHandle<()>>,
}

impl JavaDriver {
    /// Starts the accumulator driver on `classpath`.
    pub fn start(classpath: &str) -> Result<JavaDriver, CrosscheckError> {
        JavaDriver::start_class(classpath, DRIVER_CLASS)
    }

    /// Starts the driver whose main class is `class` on `classpath`.
    pub fn start_class(classpath: &str, class: &str) -> Result<JavaDriver, CrosscheckError> {
        let mut child = Command::new("java")
            .args(["-XX:+UseSerialGC", "-Xss4m", "-cp", classpath, class])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|error| CrosscheckError::Io {
                what: "start java".into(),
                error,
            })?;
        let stdin = child.stdin.take().map(BufWriter::new);
        let stdout = child.stdout.take().map(BufReader::new);
        let stderr = child.stderr.take();
        let (Some(stdin), Some(stdout), Some(mut stderr)) = (stdin, stdout, stderr) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(CrosscheckError::Driver(
                "the Java driver's pipes were not set up".into(),
            ));
        };
        let stderr_tail = Arc::new(Mutex::new(Vec::new()));
        let tail = Arc::clone(&stderr_tail);
        let stderr_thread = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            if let Ok(mut lines) = tail.lock() {
                lines.extend(
                    text.lines()
                        .filter(|l| !l.starts_with("SLF4J:"))
                        .map(str::to_string),
                );
            }
        });
        Ok(JavaDriver {
            child,
            stdin: Some(stdin),
            stdout,
            stderr_tail,
            stderr_thread: Some(stderr_thread),
        })
    }

    /// Takes the writing end (for a writer thread); the driver ends when it is dropped.
    pub fn take_stdin(&mut self) -> Option<BufWriter<ChildStdin>> {
        self.stdin.take()
    }

    /// The next line the driver printed, `None` when it ended.
    pub fn read_line(&mut self) -> Result<Option<String>, CrosscheckError> {
        let mut line = String::new();
        let read = self
            .stdout
            .read_line(&mut line)
            .map_err(|error| CrosscheckError::Io {
                what: "read the Java driver's output".into(),
                error,
            })?;
        if read == 0 {
            return Ok(None);
        }
        Ok(Some(line.trim_end().to_string()))
    }

    /// What the driver wrote on stderr so far (after it ended: all of it).
    pub fn stderr_tail(&mut self) -> String {
        if let Ok(status) = self.child.try_wait()
            && status.is_some()
            && let Some(thread) = self.stderr_thread.take()
        {
            let _ = thread.join();
        }
        self.stderr_tail
            .lock()
            .map(|lines| lines[lines.len().saturating_sub(20)..].join("\n"))
            .unwrap_or_default()
    }

    /// Waits for the driver to exit after its input closed.
    pub fn finish(mut self) -> Result<(), CrosscheckError> {
        drop(self.stdin.take());
        let status = self.child.wait().map_err(|error| CrosscheckError::Io {
            what: "wait for the Java driver".into(),
            error,
        })?;
        if status.success() {
            Ok(())
        } else {
            Err(CrosscheckError::Driver(format!(
                "the Java driver exited with {status}: {}",
                self.stderr_tail()
            )))
        }
    }
}

impl Drop for JavaDriver {
    fn drop(&mut self) {
        drop(self.stdin.take());
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        if let Some(thread) = self.stderr_thread.take() {
            let _ = thread.join();
        }
    }
}

/// Writes `text` to the driver's stdin; a closed pipe means the driver died.
pub fn write_all(stdin: &mut BufWriter<ChildStdin>, text: &str) -> std::io::Result<()> {
    stdin.write_all(text.as_bytes())
}

/// The `crosscheck/` project beside the workspace this binary was built from.
pub fn default_project_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map_or_else(
        || PathBuf::from("crosscheck"),
        |root| root.join("crosscheck"),
    )
}
