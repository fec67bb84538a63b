//! What `linger perf-test` prints as `kafka-producer-perf-test` does: the tool's statistics
//! of acknowledged records (the periodic window line and the final line with percentiles), its
//! number formats, and the producer metrics table of `--print-metrics`, fed by a trace sink that
//! watches the application's `send()` calls and callbacks in virtual time.
//!
//! Fidelity: `tools/src/main/java/org/apache/kafka/tools/ProducerPerformance.java` in
//! apache/kafka. `Stats.record` counts a record in its callback when it succeeded (failed
//! records are not counted, `PerfCallback.onCompletion`), with the latency from the
//! millisecond clock read just before `send()` to the one read in the callback, so the time
//! `send()` blocks (on the first metadata, on buffer memory) is part of it; a window line is
//! printed from inside the callback that finds 5,000 ms or more since the window began;
//! `Stats` keeps every `sampling`-th latency (`numRecords / min(numRecords, 500000)`) and the
//! percentiles are `sorted[(int)(p * size)]`; `printWindow` and `printTotal` format with
//! `%.1f`/`%.2f`/`%d`, which Java rounds half up on the shortest decimal form of the double
//! (`java_fixed`). `ToolsUtils.printMetrics` prints `group:name:{tags}` sorted, padded to the
//! longest name, values of type double with `%.3f`. What differs: the tool's clock is the wall
//! clock after `producer.close()` (or `flush()` with `--print-metrics`); here it is the virtual
//! time of the last callback, which is when close or flush returns in the simulation.

use std::sync::{Arc, Mutex};

use sim::trace::{TraceEvent, TraceSink, Value};

/// How often the tool prints a window line, in ms (`new Stats(numRecords, 5000)`).
pub const REPORTING_INTERVAL_MS: u64 = 5_000;

/// The most latencies the tool keeps for its percentiles (`Math.min(numRecords, 500000)`).
const LATENCY_SAMPLES_MAX: u64 = 500_000;

/// `ProducerPerformance.Stats`, over virtual milliseconds.
#[derive(Clone, Debug)]
pub struct Stats {
    start_ms: u64,
    latencies: Vec<i32>,
    sampling: u64,
    iteration: u64,
    count: u64,
    bytes: u64,
    max_latency: i32,
    total_latency: i64,
    window_count: u64,
    window_max_latency: i32,
    window_total_latency: i64,
    window_bytes: u64,
    window_start_ms: u64,
    /// The window lines printed so far, in order.
    pub window_lines: Vec<String>,
}

impl Stats {
    /// Statistics for a test of `num_records` records (at least 1) starting at `start_ms`.
    pub fn new(num_records: u64, start_ms: u64) -> Stats {
        let num_records = num_records.max(1);
        let sampling = num_records / num_records.min(LATENCY_SAMPLES_MAX);
        let slots = usize::try_from(num_records / sampling + 1).unwrap_or(usize::MAX);
        Stats {
            start_ms,
            latencies: Vec::with_capacity(slots.min(LATENCY_SAMPLES_MAX as usize + 1)),
            sampling,
            iteration: 0,
            count: 0,
            bytes: 0,
            max_latency: 0,
            total_latency: 0,
            window_count: 0,
            window_max_latency: 0,
            window_total_latency: 0,
            window_bytes: 0,
            window_start_ms: start_ms,
            window_lines: Vec::new(),
        }
    }

    /// A successful callback at `now_ms` for a record of `bytes` whose `send()` began
    /// `latency_ms` earlier (`Stats.record`, then `iteration++` as `PerfCallback` does).
    pub fn record(&mut self, latency_ms: i32, bytes: u64, now_ms: u64) {
        self.count += 1;
        self.bytes += bytes;
        self.total_latency += i64::from(latency_ms);
        self.max_latency = self.max_latency.max(latency_ms);
        self.window_count += 1;
        self.window_bytes += bytes;
        self.window_total_latency += i64::from(latency_ms);
        self.window_max_latency = self.window_max_latency.max(latency_ms);
        if self.iteration.is_multiple_of(self.sampling) {
            self.latencies.push(latency_ms);
        }
        if now_ms.saturating_sub(self.window_start_ms) >= REPORTING_INTERVAL_MS {
            let line = self.window_line(now_ms);
            self.window_lines.push(line);
            self.window_start_ms = now_ms;
            self.window_count = 0;
            self.window_max_latency = 0;
            self.window_total_latency = 0;
            self.window_bytes = 0;
        }
        self.iteration += 1;
    }

    /// Records counted (acknowledged).
    pub fn count(&self) -> u64 {
        self.count
    }

    /// `printWindow` at `now_ms`.
    fn window_line(&self, now_ms: u64) -> String {
        let elapsed = now_ms.saturating_sub(self.window_start_ms) as f64;
        let records_per_s = 1000.0 * self.window_count as f64 / elapsed;
        let mb_per_s = 1000.0 * self.window_bytes as f64 / elapsed / (1024.0 * 1024.0);
        format!(
            "{} records sent, {} records/sec ({} MB/sec), {} ms avg latency, {} ms max latency.",
            self.window_count,
            java_fixed(records_per_s, 1),
            java_fixed(mb_per_s, 2),
            java_fixed(
                self.window_total_latency as f64 / self.window_count as f64,
                1
            ),
            java_fixed(f64::from(self.window_max_latency), 1),
        )
    }

    /// `printTotal` at `end_ms`. With no record acknowledged the tool prints `NaN` for the
    /// average and `0` for the maximum and the percentiles (an empty array's first slot);
    /// linger prints `NaN` for those too, since nothing was measured.
    pub fn total_line(&self, end_ms: u64) -> String {
        let elapsed = end_ms.saturating_sub(self.start_ms) as f64;
        let records_per_s = 1000.0 * self.count as f64 / elapsed;
        let mb_per_s = 1000.0 * self.bytes as f64 / elapsed / (1024.0 * 1024.0);
        let percentiles = self.percentiles(&[0.5, 0.95, 0.99, 0.999]);
        let shown: Vec<String> = percentiles
            .iter()
            .map(|p| p.map_or_else(|| "NaN".to_owned(), |v| v.to_string()))
            .collect();
        format!(
            "{} records sent, {} records/sec ({} MB/sec), {} ms avg latency, {} ms max latency, \
             {} ms 50th, {} ms 95th, {} ms 99th, {} ms 99.9th.",
            self.count,
            java_fixed(records_per_s, 1),
            java_fixed(mb_per_s, 2),
            java_fixed(self.total_latency as f64 / self.count as f64, 2),
            java_fixed(
                if self.count == 0 {
                    f64::NAN
                } else {
                    f64::from(self.max_latency)
                },
                2
            ),
            shown[0],
            shown[1],
            shown[2],
            shown[3],
        )
    }

    /// `Stats.percentiles`: the sampled latencies sorted, `sorted[(int)(p * size)]` each.
    fn percentiles(&self, ps: &[f64]) -> Vec<Option<i32>> {
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        let size = sorted.len();
        ps.iter()
            .map(|p| {
                let index = (p * size as f64) as usize;
                sorted.get(index).copied()
            })
            .collect()
    }
}

/// Java's `String.format("%.Nf", value)`: `NaN` and `Infinity` spelled as Java does, and
/// rounding half up on the shortest decimal digits that identify the double (Rust's `{:.N}`
/// rounds the exact binary value, so 0.125 and 2.675 would differ).
pub fn java_fixed(value: f64, decimals: usize) -> String {
    if value.is_nan() {
        return "NaN".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    let sign = if value.is_sign_negative() && value != 0.0 {
        "-"
    } else {
        ""
    };
    let scientific = format!("{:e}", value.abs());
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i64 = exponent.parse().unwrap_or(0);
    let digits: Vec<u8> = mantissa
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect();
    // The value is 0.d0 d1 d2 ... x 10^(exponent + 1); keep the digits down to 10^-decimals.
    let keep = exponent + 1 + decimals as i64;
    let mut kept: Vec<u8> = (0..keep.max(0))
        .map(|i| digits.get(i as usize).copied().unwrap_or(0))
        .collect();
    let next = usize::try_from(keep)
        .ok()
        .and_then(|i| digits.get(i).copied())
        .unwrap_or(0);
    if keep >= 0 && next >= 5 {
        let mut i = kept.len();
        loop {
            if i == 0 {
                kept.insert(0, 1);
                break;
            }
            i -= 1;
            if kept[i] == 9 {
                kept[i] = 0;
            } else {
                kept[i] += 1;
                break;
            }
        }
    }
    while kept.len() < decimals + 1 {
        kept.insert(0, 0);
    }
    let split = kept.len() - decimals;
    let whole: String = kept[..split].iter().map(|d| char::from(b'0' + d)).collect();
    let fraction: String = kept[split..].iter().map(|d| char::from(b'0' + d)).collect();
    if decimals == 0 {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{fraction}")
    }
}

/// `ToolsUtils.printMetrics`: a blank line, the header, then `name : value` lines sorted by
/// name, the names padded to the longest; every value here is a double (`%.3f`).
pub fn metrics_table(metrics: &[(String, f64)]) -> String {
    let mut sorted: Vec<&(String, f64)> = metrics.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let width = sorted.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    let mut out = format!("\n{:<width$}   {}\n", "Metric Name", "Value");
    for (name, value) in sorted {
        out.push_str(&format!("{name:<width$} : {}\n", java_fixed(*value, 3)));
    }
    out
}

/// What the sink saw of the run: the tool's statistics and the failed callbacks.
#[derive(Debug)]
pub struct Tally {
    /// The tool's statistics.
    pub stats: Stats,
    /// When each record's `send()` began, in ns (`u64::MAX`: not yet seen).
    starts: Vec<u64>,
    /// Value bytes of every record (the tool counts `payload.length`).
    record_bytes: u64,
    /// The virtual time of the last callback, in ns.
    pub last_callback_ns: Option<u64>,
    /// Failed callbacks by Kafka error name, in name order.
    pub failures: std::collections::BTreeMap<String, u64>,
}

impl Tally {
    /// A tally for `num_records` records of `record_bytes` value bytes each, the application
    /// starting at virtual time `start_ns`.
    pub fn new(num_records: u64, record_bytes: u64, start_ns: u64) -> Tally {
        // The first send() begins when the application starts: it may wait in send() for the
        // topic's metadata, which no event marks.
        let starts = vec![start_ns];
        Tally {
            stats: Stats::new(num_records, start_ns / 1_000_000),
            starts,
            record_bytes,
            last_callback_ns: None,
            failures: std::collections::BTreeMap::new(),
        }
    }

    fn start_of(&mut self, record: usize, now_ns: u64) {
        if self.starts.len() <= record {
            self.starts.resize(record + 1, u64::MAX);
        }
        if self.starts[record] == u64::MAX {
            self.starts[record] = now_ns;
        }
    }

    /// Looks at one trace event.
    pub fn observe(&mut self, event: &TraceEvent) {
        if event.component != "app" {
            return;
        }
        let now_ns = event.time.as_nanos();
        let Some(record) = record_of(event) else {
            return;
        };
        match event.kind {
            // A send() that blocks on buffer memory is marked when it begins, and again
            // ("send") when it returns: the first mark is when it began.
            "send_blocked" | "send" => self.start_of(record, now_ns),
            "ack" => {
                self.last_callback_ns = Some(now_ns);
                let start_ns = self.starts.get(record).copied().unwrap_or(now_ns);
                // Two reads of a millisecond clock, as System.currentTimeMillis() gives them.
                let latency_ms = (now_ns / 1_000_000).saturating_sub(start_ns / 1_000_000);
                let latency_ms = i32::try_from(latency_ms).unwrap_or(i32::MAX);
                self.stats
                    .record(latency_ms, self.record_bytes, now_ns / 1_000_000);
            }
            "fail" => {
                self.last_callback_ns = Some(now_ns);
                let error = match event.field("error") {
                    Some(Value::Str(name)) => name.clone(),
                    _ => "an error".to_owned(),
                };
                *self.failures.entry(error).or_insert(0) += 1;
            }
            _ => {}
        }
    }
}

fn record_of(event: &TraceEvent) -> Option<usize> {
    match event.field("record")? {
        Value::U64(id) => usize::try_from(*id).ok(),
        Value::I64(id) => usize::try_from(*id).ok(),
        _ => None,
    }
}

/// A trace sink feeding a shared [`Tally`]; the caller keeps the other handle and reads the
/// tally after the run.
pub struct TallySink(pub Arc<Mutex<Tally>>);

impl TraceSink for TallySink {
    fn record(&mut self, event: &TraceEvent, _line: &str) {
        if let Ok(mut tally) = self.0.lock() {
            tally.observe(event);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_fixed_rounds_half_up_on_the_shortest_digits() {
        assert_eq!(java_fixed(0.125, 2), "0.13");
        assert_eq!(java_fixed(2.675, 2), "2.68");
        assert_eq!(java_fixed(0.25, 1), "0.3");
        assert_eq!(java_fixed(1.0 / 3.0, 1), "0.3");
        assert_eq!(java_fixed(9.96, 1), "10.0");
        assert_eq!(java_fixed(0.0, 2), "0.00");
        assert_eq!(java_fixed(0.004, 2), "0.00");
        assert_eq!(java_fixed(0.005, 2), "0.01");
        assert_eq!(java_fixed(123456.7891, 3), "123456.789");
        assert_eq!(java_fixed(1e-9, 3), "0.000");
        assert_eq!(java_fixed(f64::NAN, 1), "NaN");
        assert_eq!(java_fixed(f64::INFINITY, 1), "Infinity");
        assert_eq!(java_fixed(-1.25, 1), "-1.3");
    }

    #[test]
    fn windows_print_from_the_callback_after_five_seconds() {
        let mut stats = Stats::new(10, 0);
        stats.record(10, 100, 1_000);
        stats.record(30, 100, 4_999);
        assert!(stats.window_lines.is_empty());
        stats.record(20, 100, 5_000);
        assert_eq!(
            stats.window_lines,
            vec![
                "3 records sent, 0.6 records/sec (0.00 MB/sec), 20.0 ms avg latency, 30.0 ms max latency."
            ]
        );
        // The next window starts at that callback.
        stats.record(5, 100, 9_999);
        assert_eq!(stats.window_lines.len(), 1);
        assert_eq!(
            stats.total_line(10_000),
            "4 records sent, 0.4 records/sec (0.00 MB/sec), 16.25 ms avg latency, 30.00 ms max \
             latency, 20 ms 50th, 30 ms 95th, 30 ms 99th, 30 ms 99.9th."
        );
    }

    #[test]
    fn percentiles_sample_every_nth_latency_past_half_a_million() {
        let mut stats = Stats::new(1_000_000, 0);
        for i in 0..1_000_000 {
            stats.record(i % 1000, 1, 1);
        }
        // sampling = 2: the even iterations, whose latencies are the even values.
        assert_eq!(stats.latencies.len(), 500_000);
        assert!(stats.latencies.iter().all(|l| l % 2 == 0));
    }

    #[test]
    fn nothing_acknowledged_prints_nan_not_zero() {
        let stats = Stats::new(10, 0);
        let line = stats.total_line(1_000);
        assert!(line.starts_with(
            "0 records sent, 0.0 records/sec (0.00 MB/sec), NaN ms avg latency, NaN ms max"
        ));
        assert!(line.ends_with("NaN ms 50th, NaN ms 95th, NaN ms 99th, NaN ms 99.9th."));
    }

    #[test]
    fn the_metrics_table_pads_names_and_sorts_them() {
        let table = metrics_table(&[
            ("producer-metrics:b:{client-id=c}".to_owned(), 2.0),
            ("producer-metrics:aa:{client-id=c}".to_owned(), 0.5),
        ]);
        assert_eq!(
            table,
            "\nMetric Name                         Value\n\
             producer-metrics:aa:{client-id=c} : 0.500\n\
             producer-metrics:b:{client-id=c}  : 2.000\n"
        );
    }
}
