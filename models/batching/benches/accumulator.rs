//! Criterion benchmark of the batching core's hot path: append + ready + drain + complete for
//! 1 KiB keyed records over 12 partitions on 3 nodes (`bench_support::drive`).
//!
//! Run with `cargo bench -p batching`. Two groups report records per second:
//! `accumulator` measures wall-clock time (criterion's default); `accumulator_cpu` measures
//! the benchmark thread's own CPU time (Linux `/proc/thread-self/schedstat`), which is the
//! one-core figure on a shared machine where the thread is often descheduled. The CPU group is
//! skipped where that file cannot be read.

use std::hint::black_box;

use batching::bench_support::drive;
use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const RECORD_COUNT: u64 = 200_000;

/// CPU time of the current thread in nanoseconds, from the scheduler's statistics.
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// A criterion measurement of the benchmark thread's CPU time.
struct ThreadCpuTime;

/// Formats nanoseconds of CPU time like criterion's wall-time formatter.
struct CpuFormatter;

impl ValueFormatter for CpuFormatter {
    fn scale_values(&self, typical_ns: f64, values: &mut [f64]) -> &'static str {
        let (factor, unit) = if typical_ns < 1e3 {
            (1.0, "ns (cpu)")
        } else if typical_ns < 1e6 {
            (1e-3, "µs (cpu)")
        } else if typical_ns < 1e9 {
            (1e-6, "ms (cpu)")
        } else {
            (1e-9, "s (cpu)")
        };
        for value in values {
            *value *= factor;
        }
        unit
    }

    fn scale_throughputs(
        &self,
        _typical_ns: f64,
        throughput: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        let elements = match *throughput {
            Throughput::Elements(n) | Throughput::ElementsAndBytes { elements: n, .. } => n,
            Throughput::Bytes(n) | Throughput::BytesDecimal(n) | Throughput::Bits(n) => n,
        } as f64;
        for value in values {
            *value = elements / (*value * 1e-9) / 1e6;
        }
        "Melem/s (cpu)"
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

impl Measurement for ThreadCpuTime {
    type Intermediate = u64;
    type Value = u64;

    fn start(&self) -> u64 {
        thread_cpu_ns().expect("checked before the group was registered")
    }
    fn end(&self, start: u64) -> u64 {
        thread_cpu_ns()
            .expect("checked before the group was registered")
            .saturating_sub(start)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, value: &u64) -> f64 {
        *value as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &CpuFormatter
    }
}

fn accumulator(c: &mut Criterion) {
    let mut group = c.benchmark_group("accumulator");
    group.throughput(Throughput::Elements(RECORD_COUNT));
    group.sample_size(20);
    group.bench_function("append_ready_drain_complete_1KiB_12p_3n", |b| {
        b.iter(|| black_box(drive(black_box(RECORD_COUNT))))
    });
    group.finish();
}

fn accumulator_cpu(c: &mut Criterion<ThreadCpuTime>) {
    if thread_cpu_ns().is_none() {
        eprintln!("accumulator_cpu skipped: /proc/thread-self/schedstat is not readable");
        return;
    }
    let mut group = c.benchmark_group("accumulator_cpu");
    group.throughput(Throughput::Elements(RECORD_COUNT));
    group.sample_size(20);
    group.bench_function("append_ready_drain_complete_1KiB_12p_3n", |b| {
        b.iter(|| black_box(drive(black_box(RECORD_COUNT))))
    });
    group.finish();
}

criterion_group!(wall, accumulator);
criterion_group! {
    name = cpu;
    config = Criterion::default().with_measurement(ThreadCpuTime);
    targets = accumulator_cpu
}
criterion_main!(wall, cpu);
