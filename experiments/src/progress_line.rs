//! A one-line progress display on stderr for work that may take a while: a single run (virtual
//! time reached, records sent, records per wall second) and a sweep's preparation (which step
//! it is at).
//!
//! The line appears only when stderr is a terminal and only once the work has taken more than
//! a second, so piped output and short runs never see it; it is overwritten in place and
//! cleared when the work is done. It reads the wall clock (allowed in this crate for display)
//! and only ever receives copies of a run's values, so it cannot change a result.

use std::io::{IsTerminal, Write};

/// Wall time before the line first appears.
const SHOW_AFTER_SECS: f64 = 1.0;
/// Least wall time between two redraws.
const REDRAW_EVERY_SECS: f64 = 0.1;

/// A progress line on stderr, drawn only on a terminal and after the first second.
pub struct ProgressLine {
    on_terminal: bool,
    #[allow(clippy::disallowed_types, reason = "wall time for the display only")]
    started: std::time::Instant,
    last_drawn_secs: Option<f64>,
    width: usize,
}

impl ProgressLine {
    /// A line that starts counting now; `enabled` false (or stderr not a terminal) draws
    /// nothing ever.
    #[allow(
        clippy::disallowed_methods,
        clippy::disallowed_types,
        reason = "wall time for the display only"
    )]
    pub fn new(enabled: bool) -> Self {
        ProgressLine {
            on_terminal: enabled && std::io::stderr().is_terminal(),
            started: std::time::Instant::now(),
            last_drawn_secs: None,
            width: 0,
        }
    }

    /// Wall seconds since the line was made.
    pub fn elapsed_secs(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Redraws the line with `text` (built only when it is drawn), if it is due.
    pub fn show(&mut self, text: impl FnOnce(f64) -> String) {
        if !self.on_terminal {
            return;
        }
        let elapsed = self.elapsed_secs();
        let due = self
            .last_drawn_secs
            .is_none_or(|last| elapsed - last >= REDRAW_EVERY_SECS);
        if elapsed < SHOW_AFTER_SECS || !due {
            return;
        }
        self.last_drawn_secs = Some(elapsed);
        let text = text(elapsed);
        let pad = self.width.saturating_sub(text.chars().count());
        self.width = text.chars().count();
        let mut stderr = std::io::stderr().lock();
        let _ = write!(stderr, "\r{text}{:pad$}", "");
        let _ = stderr.flush();
    }

    /// The line for a run at `progress`, sending for `send_ns` of virtual time.
    pub fn show_run(&mut self, progress: models::world::RunProgress, send_ns: u64) {
        self.show(|elapsed| {
            format!(
                "virtual {:.3} s (sending for {:.3} s), {} records sent, {:.2} M records/s",
                progress.virtual_ns as f64 / 1e9,
                send_ns as f64 / 1e9,
                progress.records_sent,
                progress.records_sent as f64 / elapsed / 1e6,
            )
        });
    }

    /// Erases the line if it was drawn.
    pub fn clear(&mut self) {
        if self.last_drawn_secs.take().is_some() {
            let mut stderr = std::io::stderr().lock();
            let _ = write!(stderr, "\r{:width$}\r", "", width = self.width);
            let _ = stderr.flush();
        }
    }
}

impl Drop for ProgressLine {
    fn drop(&mut self) {
        self.clear();
    }
}
