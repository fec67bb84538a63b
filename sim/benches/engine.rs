//! Engine throughput on the hold model, against a bare `BinaryHeap` doing the same work.
//!
//! For each number of pending events N, both workloads are built once and then advanced in
//! slices of `SLICE` events, so the figure is the steady-state cost of one pop plus one push
//! (plus one exponential draw, which both pay). A third variant also re-arms a timer far ahead
//! on every event, as a delivery timeout would, to show the cost of stale timer entries and
//! their compaction. Run with `cargo bench -p sim`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sim::hold::{EngineHold, HOLD_MEAN_DELAY, HeapHold};
use sim::{Ctx, Duration, Engine, Model, RngStreams, RunLimits, Stream, TimerId};
use std::hint::black_box;

/// Events handled per measured iteration.
const SLICE: u64 = 100_000;

const SEED: u64 = 0x6c69_6e67_6572;

/// Timers re-armed round-robin by the churn variant.
const TIMER_COUNT: usize = 64;

/// The hold model plus one timer re-armed one second ahead per event; the timers never fire.
struct RearmingHold {
    delays: Stream,
    timers: Vec<TimerId>,
}

/// What the churn variant's queue holds.
enum ChurnEvent {
    Hold(u64),
    Timeout,
}

impl Model for RearmingHold {
    type Event = ChurnEvent;
    fn on_event(&mut self, ctx: &mut Ctx<'_, ChurnEvent>, event: ChurnEvent) {
        let ChurnEvent::Hold(id) = event else {
            return;
        };
        let timer = self.timers[id as usize % TIMER_COUNT];
        ctx.arm(
            timer,
            ctx.now() + Duration::from_secs(1),
            ChurnEvent::Timeout,
        );
        let delay = self.delays.exponential(HOLD_MEAN_DELAY);
        ctx.schedule_after(delay, ChurnEvent::Hold(id));
    }
}

fn rearming_hold(pending: usize) -> (Engine<ChurnEvent>, RearmingHold) {
    let mut engine = Engine::with_capacity(SEED, pending);
    let mut delays = RngStreams::new(SEED).stream("bench/rearm");
    let mut ctx = engine.ctx();
    let timers = (0..TIMER_COUNT).map(|_| ctx.new_timer()).collect();
    for id in 0..pending as u64 {
        ctx.schedule_after(delays.exponential(HOLD_MEAN_DELAY), ChurnEvent::Hold(id));
    }
    (engine, RearmingHold { delays, timers })
}

fn hold(c: &mut Criterion) {
    for pending in [100usize, 10_000, 1_000_000] {
        let mut group = c.benchmark_group(format!("hold/N={pending}"));
        group.throughput(Throughput::Elements(SLICE));
        group.sample_size(20);
        let mut engine = EngineHold::new(pending, SEED);
        group.bench_function("engine", |b| b.iter(|| black_box(engine.advance(SLICE))));
        let mut heap = HeapHold::new(pending, SEED);
        group.bench_function("binary_heap", |b| b.iter(|| black_box(heap.advance(SLICE))));
        let (mut churn, mut model) = rearming_hold(pending);
        let limits = RunLimits::unbounded().max_events(SLICE).expect("non-zero");
        group.bench_function("engine_rearming_timers", |b| {
            b.iter(|| black_box(churn.run(&mut model, limits).is_err()))
        });
        group.finish();
    }
}

criterion_group!(benches, hold);
criterion_main!(benches);
