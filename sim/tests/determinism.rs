//! Determinism of whole runs: the same seed gives the same trace, in one process and across two.
//!
//! The toy world is a ring of players passing balls with random delays. Each player has its own
//! stream and a watchdog timer that it re-arms on every catch; when a player holds no ball for
//! too long, the watchdog fires and it serves a new ball. So the run exercises named streams,
//! ties, timers that are re-armed and timers that fire, and the trace.
//!
//! The cross-process check runs this test binary again with `SIM_DETERMINISM_CHILD_SEED` set;
//! the child prints its trace hash and the parent compares it with its own.

use std::io;
use std::process::Command;
use std::sync::{Arc, Mutex};

use sim::trace::JsonLinesSink;
use sim::{Ctx, Dist, Duration, Engine, Instant, Model, RunLimits, Stream, TimerId, Trace};

const PLAYERS: usize = 5;
const CHILD_SEED_VAR: &str = "SIM_DETERMINISM_CHILD_SEED";

#[derive(Clone, Copy, Debug)]
enum Event {
    Catch { player: usize, ball: u64 },
    Watchdog { player: usize },
}

struct Player {
    /// Trace component name, built once so an off trace costs nothing per event.
    name: String,
    stream: Stream,
    watchdog: TimerId,
    catches: u64,
}

struct Ring {
    players: Vec<Player>,
    pass_delay: Dist,
    next_ball: u64,
}

impl Ring {
    fn on_catch(&mut self, ctx: &mut Ctx<'_, Event>, player: usize, ball: u64) {
        let me = &mut self.players[player];
        me.catches += 1;
        // Half the catches pass to the right neighbour, the rest anywhere (possibly to oneself).
        let to = if me.stream.bernoulli(1, 2) {
            (player + 1) % PLAYERS
        } else {
            me.stream.below(PLAYERS as u64) as usize
        };
        let delay = self.pass_delay.sample(&mut me.stream);
        let watchdog = me.watchdog;
        ctx.arm(
            watchdog,
            ctx.now() + Duration::from_millis(40),
            Event::Watchdog { player },
        );
        ctx.schedule_after(delay, Event::Catch { player: to, ball });
        ctx.trace(&me.name, "pass", |e| {
            e.with("ball", ball)
                .with("to", to)
                .with("delay_ns", delay.as_nanos())
        });
    }

    fn on_watchdog(&mut self, ctx: &mut Ctx<'_, Event>, player: usize) {
        let ball = self.next_ball;
        self.next_ball += 1;
        ctx.trace(&self.players[player].name, "serve", |e| {
            e.with("ball", ball)
        });
        ctx.schedule_after(Duration::ZERO, Event::Catch { player, ball });
    }
}

impl Model for Ring {
    type Event = Event;
    fn on_event(&mut self, ctx: &mut Ctx<'_, Event>, event: Event) {
        match event {
            Event::Catch { player, ball } => self.on_catch(ctx, player, ball),
            Event::Watchdog { player } => self.on_watchdog(ctx, player),
        }
    }
}

/// Runs the ring for one virtual second; returns the engine (holding the trace) and the world.
fn run_ring(seed: u64, trace: Trace) -> (Engine<Event>, Ring) {
    let mut engine = Engine::new(seed);
    engine.set_trace(trace);
    let streams = engine.streams();
    let mut ctx = engine.ctx();
    let players = (0..PLAYERS)
        .map(|index| Player {
            name: format!("player/{index}"),
            stream: streams.stream(&format!("player/{index}")),
            watchdog: ctx.new_timer(),
            catches: 0,
        })
        .collect();
    // Two balls start at the same instant, so ties are there from the first event.
    ctx.schedule_at(Instant::ZERO, Event::Catch { player: 0, ball: 0 });
    ctx.schedule_at(Instant::ZERO, Event::Catch { player: 2, ball: 1 });
    let mut ring = Ring {
        players,
        pass_delay: Dist::Exponential {
            mean: Duration::from_millis(15),
        },
        next_ball: 2,
    };
    let limits = RunLimits::unbounded()
        .until(Instant::from_millis(1_000))
        .and_then(|l| l.max_events(1_000_000))
        .expect("non-zero limits");
    engine
        .run(&mut ring, limits)
        .expect("the ring stays within its budget");
    (engine, ring)
}

fn trace_hash(seed: u64) -> u64 {
    run_ring(seed, Trace::hashing()).0.trace().hash()
}

#[test]
fn same_seed_gives_the_same_trace_twice_in_one_process() {
    let (first, ring) = run_ring(7, Trace::keeping());
    let (second, _) = run_ring(7, Trace::keeping());
    assert!(
        first.trace().event_count() > 100,
        "the toy world did too little to be a test"
    );
    assert!(
        ring.next_ball > 2,
        "no watchdog fired, so timers were not exercised"
    );
    assert_eq!(first.trace().hash(), second.trace().hash());
    assert_eq!(first.trace().events(), second.trace().events());
    assert_eq!(first.events_handled(), second.events_handled());
}

/// A writer whose bytes stay readable after the trace has taken it.
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

#[test]
fn same_seed_gives_byte_identical_json_lines() {
    let write = |seed| {
        let buffer = SharedBuffer::default();
        let sink = JsonLinesSink::new(io::BufWriter::new(buffer.clone()));
        let (mut engine, _) = run_ring(seed, Trace::with_sink(Box::new(sink)));
        engine
            .trace_mut()
            .finish()
            .expect("the buffer takes the trace");
        let hash = engine.trace().hash();
        let bytes = buffer.0.lock().expect("not poisoned").clone();
        (hash, bytes)
    };
    let (hash_a, bytes_a) = write(11);
    let (hash_b, bytes_b) = write(11);
    assert!(!bytes_a.is_empty());
    assert_eq!(bytes_a, bytes_b);
    assert_eq!(hash_a, hash_b);
    assert_eq!(
        hash_a,
        sim::trace::hash_bytes(&bytes_a),
        "the hash is FNV-1a of the lines"
    );
    let (_, bytes_other) = write(12);
    assert_ne!(bytes_a, bytes_other);
}

#[test]
fn different_seeds_give_different_traces() {
    let hashes: Vec<u64> = (0..8).map(trace_hash).collect();
    for (i, a) in hashes.iter().enumerate() {
        for b in &hashes[i + 1..] {
            assert_ne!(a, b, "two seeds gave the same trace: {hashes:x?}");
        }
    }
}

/// In a child process (the variable set), prints the trace hash for the parent to read.
/// Run directly, it checks that a run leaves a non-empty trace.
#[test]
fn child_prints_trace_hash() {
    match std::env::var(CHILD_SEED_VAR) {
        Ok(seed) => {
            let seed: u64 = seed.parse().expect("the parent passes a u64 seed");
            println!("trace-hash: {seed} {:016x}", trace_hash(seed));
        }
        Err(_) => assert_ne!(trace_hash(3), Trace::hashing().hash()),
    }
}

fn hash_from_child(seed: u64) -> u64 {
    let exe = std::env::current_exe().expect("the test binary knows its path");
    let output = Command::new(exe)
        .args([
            "child_prints_trace_hash",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_SEED_VAR, seed.to_string())
        .output()
        .expect("the test binary can run itself");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "child failed: {stdout}");
    // The harness prints "test <name> ... " on the same line before the child's own output.
    let prefix = format!("trace-hash: {seed} ");
    let hex = stdout
        .split_once(&prefix)
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no hash line in the child's output: {stdout}"));
    u64::from_str_radix(hex, 16).expect("the child prints hex")
}

#[test]
fn same_seed_gives_the_same_trace_across_processes() {
    for seed in [5, 6] {
        assert_eq!(hash_from_child(seed), trace_hash(seed), "seed {seed}");
    }
    assert_ne!(hash_from_child(5), hash_from_child(6));
}
