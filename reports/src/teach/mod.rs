//! Teaching sequence diagrams of one run: who sent what to whom, in virtual time, with the
//! producer id, epoch and sequence numbers on every produce request, lost messages, retries,
//! duplicate answers, truncation and elections marked, and the checker's verdict explained.
//!
//! Terminal legend (one row per trace event):
//!
//! ```text
//!  time (ms) | lanes                                  | event
//!      5.000 |     |    o-------->|         |         | Produce #1 [b0 PID 0 epoch 0 SEQ 0..2]
//! ```
//!
//! `o--->` is a message from the `o` lane to the arrow's head, `o--x` a message lost on the
//! network, `o` an event on that lane and `*` a notable one (fault, retry, duplicate answer,
//! truncation, election). Time is virtual milliseconds with three decimals.

mod diagram;
mod html;
mod svg;
mod terminal;
mod trace;

use crate::error::ReportError;

/// The most events a diagram draws (a longer trace ends with a line saying how many were left
/// out).
pub const TEACH_MAX_STEPS: usize = diagram::MAX_STEPS;
use crate::guarantee::{DeliveryConfig, Promise};

/// The checker's verdict on a run and the scenario it ran, as the command line passes it in.
///
/// Counts follow the results schema (`results.csv` columns of the same names).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutcomeSummary {
    /// The scenario's name, such as `idempotent-retry-after-lost-response`.
    pub scenario: String,
    /// One or two sentences on what the scenario does.
    pub description: String,
    /// Records the application sent.
    pub records_sent: u64,
    /// Records the application was told were written.
    pub records_acked: u64,
    /// Records the application was told failed.
    pub records_failed: u64,
    /// Records in the final log exactly once.
    pub delivered_once: u64,
    /// Records in the final log more than once.
    pub duplicated: u64,
    /// Acknowledged records missing from the final log.
    pub lost_acked: u64,
    /// Records out of send order within their partition.
    pub reordered: u64,
    /// Records reported failed that are nevertheless in the log.
    pub failed_present: u64,
    /// Records with no answer when the run ended.
    pub unfinished: u64,
    /// Records missing from the log for which the application got no error (`acks=0` loss).
    pub silent_absent: u64,
    /// The producer's delivery settings; the default (all unknown) claims no guarantee and
    /// reports only what was observed.
    pub delivery: DeliveryConfig,
    /// The scenario's own explanation of the outcome, shown verbatim after the generated one.
    pub explanation: Option<String>,
    /// Drawn from a saved trace alone: the counts of what the application was told come from
    /// the trace, and the final logs (the checker's classes) are not known.
    pub from_trace_only: bool,
    /// Records the checker found more than once in the final logs (its examples): the diagram
    /// marks the write that made each duplicate.
    pub duplicated_records: Vec<u64>,
    /// Acknowledged records the checker found missing from the final logs (its examples): the
    /// diagram marks their acknowledgement.
    pub lost_records: Vec<u64>,
}

impl OutcomeSummary {
    fn findings(&self) -> diagram::Findings {
        diagram::Findings::new(&self.duplicated_records, &self.lost_records)
    }
}

/// The terminal diagram of `trace` (JSON lines) followed by the verdict; deterministic text.
pub fn render_terminal(trace: &str, summary: &OutcomeSummary) -> Result<String, ReportError> {
    let events = trace::parse(trace)?;
    let diagram = diagram::build(&events, &summary.findings());
    let verdict = verdict_sentences(&events, summary);
    Ok(terminal::render(&diagram, summary, &verdict))
}

/// The same diagram as a standalone SVG picture.
pub fn render_svg(trace: &str, summary: &OutcomeSummary) -> Result<String, ReportError> {
    let events = trace::parse(trace)?;
    let diagram = diagram::build(&events, &summary.findings());
    let verdict = verdict_sentences(&events, summary);
    Ok(svg::render(&diagram, summary, &verdict))
}

/// A self-contained HTML page with the diagram and a step-through control (Prev/Next buttons
/// and the arrow keys highlight one event at a time); no network fetches.
pub fn render_html(trace: &str, summary: &OutcomeSummary) -> Result<String, ReportError> {
    let events = trace::parse(trace)?;
    let diagram = diagram::build(&events, &summary.findings());
    let verdict = verdict_sentences(&events, summary);
    let picture = svg::render(&diagram, summary, &verdict);
    Ok(html::render(&diagram, summary, &verdict, &picture))
}

/// What the trace shows happened, for the explanation.
struct Evidence {
    lost_message: bool,
    timeout: bool,
    retry: bool,
    duplicate_answer: bool,
    out_of_order: bool,
    truncate: bool,
    /// `main` returned without flush() or close().
    exited: bool,
}

impl Evidence {
    fn of(events: &[trace::TraceLine]) -> Evidence {
        let has = |component: &str, kind: &str| {
            events.iter().any(|e| {
                e.kind == kind
                    && (e.component == component
                        || (component == "broker" && e.component.starts_with("broker/")))
            })
        };
        Evidence {
            lost_message: has("net", "drop"),
            timeout: has("producer", "request_timeout"),
            retry: has("producer", "retry"),
            duplicate_answer: has("broker", "duplicate"),
            out_of_order: has("broker", "out_of_order"),
            truncate: has("broker", "truncate"),
            exited: has("app", "exit"),
        }
    }
}

/// Two or three sentences: which guarantee held, and why, from the counts and the trace.
fn verdict_sentences(events: &[trace::TraceLine], s: &OutcomeSummary) -> Vec<String> {
    let evidence = Evidence::of(events);
    if s.from_trace_only {
        let mut out = vec![
            "Drawn from a saved trace: it holds what the producer, the network and the brokers \
             did, not the brokers' final logs, so no guarantee is judged here; run the \
             experiment (linger run or linger teach FILE.toml) for the checker's verdict."
                .to_owned(),
        ];
        out.extend(why_sentence(&evidence, s));
        return out;
    }
    let mut out = vec![headline(s)];
    if s.reordered > 0 {
        out.push(format!(
            "Ordering broke: {} record(s) are out of send order within their partition.",
            s.reordered
        ));
    }
    if let Some(why) = why_sentence(&evidence, s) {
        out.push(why);
    }
    if s.records_failed > 0 {
        out.push(format!(
            "{} send(s) failed and the application was told so; that breaks no guarantee{}.",
            s.records_failed,
            if s.failed_present > 0 {
                format!(
                    ", but {} of them are in the log anyway, so an application that resends \
                     them would write duplicates",
                    s.failed_present
                )
            } else {
                String::new()
            }
        ));
    }
    if s.unfinished > 0 && evidence.exited {
        out.push(format!(
            "{} record(s) were still in the producer when main returned without flush() or \
             close(): no callback ever ran for them, and the application cannot know whether they \
             were written.",
            s.unfinished
        ));
    } else if s.unfinished > 0 {
        out.push(format!(
            "{} record(s) had no answer when the run ended, so they are not judged.",
            s.unfinished
        ));
    }
    if let Some(text) = &s.explanation {
        out.push(text.clone());
    }
    out
}

/// The first sentence: the guarantee the configuration promises, and whether it held.
fn headline(s: &OutcomeSummary) -> String {
    let promise = s.delivery.promise();
    if s.records_sent == 0 {
        "The checker counted no records sent, so no delivery guarantee is judged.".to_owned()
    } else if promise == Promise::Unconfirmed {
        let outcome = match s.silent_absent {
            0 => "this time every record reached the log".to_owned(),
            n => format!(
                "{n} record(s) are missing from the log, and the application was given no error"
            ),
        };
        format!(
            "At most once (acks=0): the producer waited for no answer, so nothing was confirmed \
             and at-least-once was never promised; {outcome}."
        )
    } else if s.lost_acked > 0 {
        format!(
            "At-least-once broke: {} acknowledged record(s) are not in the final log.",
            s.lost_acked
        )
    } else if s.duplicated > 0 {
        format!(
            "At-least-once held but exactly-once did not: every acknowledged record is in the \
             log, and {} record(s) are there more than once.",
            s.duplicated
        )
    } else {
        clean_headline(promise)
    }
}

/// The first sentence when nothing was lost or duplicated, true to what the config promises.
fn clean_headline(promise: Promise) -> String {
    match promise {
        Promise::ExactlyOnceInOrder => {
            "Exactly-once held: every acknowledged record is in the final log exactly once."
        }
        Promise::AtLeastOnce => {
            "At-least-once held: every acknowledged record is in the final log, once each in this \
             run; without idempotence a retry could have written one twice."
        }
        Promise::NoResend => {
            "Every acknowledged record is in the final log exactly once; with retries=0 and no \
             idempotence a failed send is not retried (at most once per send)."
        }
        Promise::Unconfirmed | Promise::Unknown => {
            "No anomaly observed: every acknowledged record is in the final log exactly once \
             (the configuration is not known here, so no guarantee is claimed)."
        }
    }
    .to_owned()
}

fn why_sentence(ev: &Evidence, s: &OutcomeSummary) -> Option<String> {
    let lost_answer = ev.lost_message || ev.timeout;
    if s.lost_acked > 0 && ev.truncate {
        return Some(
            "The leader acknowledged before its followers had copied the records; after the election the old leader truncated its log to match the new leader, and the records were gone.".to_owned(),
        );
    }
    if s.lost_acked > 0 {
        return Some("The records were acknowledged before they were safely replicated and did not survive the failure.".to_owned());
    }
    if s.duplicated > 0 && lost_answer && ev.retry {
        return Some(
            "A response was lost, so the producer retried a batch the broker had already written; without idempotence the broker had no PID and SEQ to recognise it and wrote it again.".to_owned(),
        );
    }
    if ev.duplicate_answer {
        return Some(
            "When the retried batch arrived, the broker matched its PID, epoch and SEQ to the batch already written and answered with the original offset instead of writing it again.".to_owned(),
        );
    }
    if ev.out_of_order {
        return Some("The broker refused a batch whose SEQ skipped ahead (OUT_OF_ORDER_SEQUENCE), which keeps the partition in send order.".to_owned());
    }
    None
}

/// The one-line count summary shared by every view.
fn counts_line(s: &OutcomeSummary) -> String {
    if s.from_trace_only {
        return format!(
            "sent {}, acknowledged {}, failed {} (the application's events in the trace) | the final logs are not in a trace",
            s.records_sent, s.records_acked, s.records_failed
        );
    }
    format!(
        "sent {}, acknowledged {}, failed {}, unfinished {} | in the final log: once {}, duplicated {}, acknowledged-but-lost {}, reordered {}, failed-but-present {}",
        s.records_sent,
        s.records_acked,
        s.records_failed,
        s.unfinished,
        s.delivered_once,
        s.duplicated,
        s.lost_acked,
        s.reordered,
        s.failed_present
    )
}
