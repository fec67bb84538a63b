//! Golden snapshots of every teaching diagram: each test runs the real `linger teach NAME`
//! binary (the real simulation, the scenario's own seed) and pins its terminal diagram with an
//! insta file snapshot under `experiments/tests/snapshots/`.
//!
//! A snapshot changes only when the simulation's behaviour (or the renderer) changes; read the
//! new diagram, and if the change is meant, accept it with
//! `INSTA_UPDATE=always cargo test -p experiments --test teach_golden`.

use std::process::{Command, Output};

/// The most rows a teaching diagram may have: a few dozen tell one story (every connection
/// the producer opens adds a connect row and a ready row).
const DIAGRAM_ROWS_MAX: usize = 90;

fn teach(name: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_linger"))
        .args(["teach", name])
        .output()
        .expect("the linger binary runs")
}

/// Rows of the diagram: lines with a time column, such as `    6.000 | ... | event`.
fn diagram_rows(diagram: &str) -> usize {
    diagram
        .lines()
        .filter(|line| {
            line.split_once(" |")
                .is_some_and(|(time, _)| time.trim().parse::<f64>().is_ok())
        })
        .count()
}

/// Runs `linger teach name`, checks it is a whole, teaching-sized diagram that shows every
/// row in `story` (so a snapshot accepted with `INSTA_UPDATE` still tells the lesson), and
/// snapshots it.
fn assert_teach_snapshot(name: &str, story: &[&str]) {
    let output = teach(name);
    let stdout = String::from_utf8(output.stdout).expect("the diagram is UTF-8");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{name}: {stderr}");
    assert!(
        stderr.contains(&format!("replay: linger teach {name} --seed")),
        "{name}: the replay line is printed: {stderr}"
    );
    assert!(
        stdout.starts_with(&format!("Scenario: {name}\n")),
        "{name}: {stdout}"
    );
    assert!(
        !stdout.contains("more events not drawn"),
        "{name}: the whole trace is drawn"
    );
    let rows = diagram_rows(&stdout);
    assert!(
        (10..=DIAGRAM_ROWS_MAX).contains(&rows),
        "{name}: {rows} rows; a teaching diagram has a few dozen"
    );
    for needle in story {
        assert!(
            stdout.contains(needle),
            "{name}: the diagram lost part of its story, `{needle}`:\n{stdout}"
        );
    }
    insta::assert_snapshot!(name, stdout);
}

macro_rules! golden {
    ($($test:ident => $name:literal: [$($story:literal),* $(,)?],)*) => {
        $(
            #[test]
            fn $test() {
                assert_teach_snapshot($name, &[$($story),*]);
            }
        )*

        /// Every scenario `linger teach` knows has a golden test above.
        const GOLDEN: &[&str] = &[$($name,)* "idempotence-acks0-conflict"];
    };
}

golden! {
    acks0_lost => "acks0-lost": [
        "LOST on the network: produce request",
        "ack record 1: offset -1",
    ],
    sync_vs_async => "sync-vs-async": ["Produce #8 [b4 PID 0 epoch 0 SEQ 4]", "ack record 4"],
    async_batching => "async-batching": [
        "(5 records, attempt 0)",
        "[b0 PID 0 epoch 0 SEQ 0..4]",
        "ack record 4: offset 4",
    ],
    acks1_failover_loss => "acks1-failover-loss": [
        "ack record 1: offset 1 -- LOST: acknowledged, but not in the final log",
        "FAULT: crash broker/0",
        "ELECT: p0 leader broker/1",
        "ack record 3: offset 1",
        "TRUNCATE p0 to offset 1: 2 records removed",
        "acknowledged-but-lost 2",
    ],
    acks_all_min_isr => "acks-all-min-isr": [
        "FAULT: crash broker/0",
        "ELECT: p0 leader broker/1",
        "RETRY b1 p0",
        "ack record 3: offset 3",
        "acknowledged-but-lost 0",
    ],
    acks_all_isr_shrunk => "acks-all-isr-shrunk": [
        "ISR shrink p0: [0]",
        "NOT_ENOUGH_REPLICAS p0: ISR [0]",
        "FAILED record 2: NOT_ENOUGH_REPLICAS",
    ],
    retry_duplicate => "retry-duplicate": [
        "no PID/SEQ (not idempotent)",
        "LOST on the network: produce response",
        "RETRY b1 p0 after REQUEST_TIMED_OUT",
        "append p0 at offset 3: no PID/SEQ (not idempotent) -- DUPLICATE WRITE: record 1 is already at offset 1",
        "ack record 1: offset 3",
        "duplicated 1",
    ],
    idempotent_retry => "idempotent-retry": [
        "LOST on the network: produce response",
        "RETRY b1 p0 after REQUEST_TIMED_OUT",
        "append p0 at offset 1: PID 0 epoch 0 SEQ 1; stored SEQ 0@0 1@1",
        "DUPLICATE PID 0 epoch 0 SEQ 1: already at offset 1, not written again; stored SEQ 0@0 1@1",
        "ack record 1: offset 1",
        "duplicated 0",
    ],
    reorder_inflight => "reorder-inflight": [
        "LOST on the network: produce request #4",
        "LOST on the network: produce request #5",
        "RETRY b1 p0 after REQUEST_TIMED_OUT",
        "RETRY b2 p0 after REQUEST_TIMED_OUT",
        "ack record 2: offset 1",
        "ack record 1: offset 2",
        "reordered 1",
    ],
    idempotent_order => "idempotent-order": [
        "LOST on the network: produce request",
        "RETRY b1 p0 after REQUEST_TIMED_OUT",
        "RETRY b2 p0 after REQUEST_TIMED_OUT",
        "ack record 1: offset 1",
        "ack record 2: offset 2",
        "reordered 0",
    ],
    delivery_timeout => "delivery-timeout": [
        "EXPIRED b0 p0",
        "FAILED record 1: TimeoutException",
        "LOST on the network: produce response",
        "FAILED record 3: TimeoutException",
        "failed-but-present 2",
    ],
    inflight2_reorder => "inflight2-reorder": [
        "NOT_ENOUGH_REPLICAS",
        "RETRY b1 p0 after NOT_ENOUGH_REPLICAS",
        "ack record 2: offset 1",
        "ack record 1: offset 2",
        "reordered 1",
    ],
    idempotent_out_of_order => "idempotent-out-of-order": [
        "RETRY b1 p0 after NOT_ENOUGH_REPLICAS",
        "OUT_OF_ORDER_SEQUENCE p0: PID 0 got SEQ 2, expected 1",
        "RETRY b2 p0 after OUT_OF_ORDER_SEQUENCE_NUMBER",
        "ack record 1: offset 1",
        "ack record 2: offset 2",
        "reordered 0",
    ],
    retries_vs_delivery_timeout => "retries-vs-delivery-timeout": [
        "TIMEOUT: no response to #4 from broker/0 within request.timeout.ms",
        "DUPLICATE PID 0 epoch 0 SEQ 0: already at offset 0",
        "EXPIRED b0 p0: delivery.timeout.ms passed",
        "FAILED record 2: TimeoutException",
        "failed-but-present 3",
    ],
    max_block_buffer_full => "max-block-buffer-full": [
        "send record 2 (key 0) BLOCKS: buffer.memory is full, waits up to 200 ms (max.block.ms)",
        "FAILED record 2: BufferExhaustedException",
        "FAILED record 3: BufferExhaustedException",
        "ack record 4",
    ],
    exit_without_flush => "exit-without-flush": [
        "ack record 1: offset 1",
        "main returns without flush() or close()",
        "were still in the producer when main returned",
    ],
    close_timeout => "close-timeout": [
        "close(Duration.ofMillis(50))",
        "close timeout: the producer closes forcefully",
        "FAILED record 2: KafkaException(closed forcefully)",
        "failed-but-present 3",
    ],
    transaction_commit => "transaction-commit": [
        "initTransactions(): the producer id and epoch come from the transaction coordinator",
        "InitProducerId #",
        "AddPartitionsToTxn #",
        "commitTransaction(): flush every batch, then EndTxn(COMMIT)",
        "COMMIT marker in p0 at offset 3 (PID 0 epoch 1)",
        "the transaction is committed",
        "once 3, duplicated 0",
    ],
}

/// The one scenario Kafka refuses to start: no diagram, exit code 2 and the ConfigException's
/// meaning on stderr.
#[test]
fn idempotence_acks0_conflict() {
    let output = teach("idempotence-acks0-conflict");
    let stderr = String::from_utf8(output.stderr).expect("the message is UTF-8");
    assert_eq!(output.status.code(), Some(2), "bad input: {stderr}");
    assert!(output.stdout.is_empty(), "no diagram is drawn");
    insta::assert_snapshot!("idempotence-acks0-conflict", stderr);
}

#[test]
fn every_teaching_scenario_has_a_golden_snapshot() {
    let known: Vec<&str> = models::scenarios::SCENARIOS
        .iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(
        GOLDEN,
        known.as_slice(),
        "one golden test per scenario, in order"
    );
}

#[test]
fn diagram_rows_counts_only_timed_lines() {
    let text = " time (ms) | lanes | event\n-----------+\n     6.000 |  o-> | Produce #1\n  1015.000 |  *   | TIMEOUT\nOutcome: sent 1\n";
    assert_eq!(diagram_rows(text), 2);
}

/// Every text of an SVG diagram with its anchor, its x and its content (the `<tspan>`s of a
/// wrapped label are separate lines).
fn svg_texts(svg: &str) -> Vec<(String, f64, String)> {
    let attribute = |tag: &str, name: &str| -> Option<String> {
        let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
        let len = tag[start..].find('"')?;
        Some(tag[start..start + len].to_owned())
    };
    let unescape = |t: &str| {
        t.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&")
    };
    let mut out = Vec::new();
    for piece in svg.split("<text").skip(1) {
        let Some((tag, rest)) = piece.split_once('>') else {
            continue;
        };
        let body = rest.split("</text>").next().unwrap_or("");
        let anchor = attribute(tag, "text-anchor").unwrap_or_else(|| "start".to_owned());
        let x: f64 = attribute(tag, "x")
            .and_then(|x| x.parse().ok())
            .unwrap_or(0.0);
        if body.contains("<tspan") {
            for span in body.split("<tspan").skip(1) {
                if let Some((_, text)) = span.split_once('>') {
                    let text = text.split("</tspan>").next().unwrap_or("");
                    out.push((anchor.clone(), x, unescape(text)));
                }
            }
        } else {
            out.push((anchor, x, unescape(body)));
        }
    }
    out
}

/// Readable at 1024 px: every scenario's SVG is at most 1024 px wide and no text runs past its
/// edge, measuring each character at a generous 7.4 px (12 px DejaVu Sans averages about 7).
#[test]
fn every_svg_diagram_fits_1024_pixels_without_cutting_text() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("teach-svg");
    std::fs::create_dir_all(&dir).expect("scratch dir");
    for name in GOLDEN
        .iter()
        .filter(|n| **n != "idempotence-acks0-conflict")
    {
        let path = dir.join(format!("{name}.svg"));
        let output = Command::new(env!("CARGO_BIN_EXE_linger"))
            .args(["teach", name, "--svg", path.to_str().expect("utf-8")])
            .output()
            .expect("the linger binary runs");
        assert!(output.status.success(), "{name}");
        let svg = std::fs::read_to_string(&path).expect("the SVG is written");
        let width: f64 = svg
            .split_once("width=\"")
            .and_then(|(_, rest)| rest.split('"').next()?.parse().ok())
            .expect("the SVG has a width");
        assert!(width <= 1024.0, "{name}: {width} px wide");
        let texts = svg_texts(&svg);
        assert!(texts.len() > 20, "{name}: the texts are found");
        for (anchor, x, text) in texts {
            let length = text.chars().count() as f64 * 7.4;
            let (left, right) = match anchor.as_str() {
                "end" => (x - length, x),
                "middle" => (x - length / 2.0, x + length / 2.0),
                _ => (x, x + length),
            };
            assert!(
                left >= 0.0 && right <= width,
                "{name}: `{text}` spans {left:.0}..{right:.0} px of {width}"
            );
        }
    }
}
