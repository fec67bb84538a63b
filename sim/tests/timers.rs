//! Ordering and timer guarantees as a model sees them through `Ctx`.
//!
//! The queue's own unit tests (with a proptest against a naive reference) cover the mechanism;
//! these check the same promises end to end through `Engine::run`, including a proptest of
//! models that schedule, arm and disarm while they run.

use proptest::prelude::*;
use sim::{Ctx, Duration, Engine, Instant, Model, RunLimits, TimerId};

/// What a script step does when its event is handled.
#[derive(Clone, Debug)]
enum Action {
    /// Schedule a plain event `delay` ns from now.
    Schedule { delay: u64 },
    /// Arm timer `timer` to fire `delay` ns from now.
    Arm { timer: usize, delay: u64 },
    /// Disarm timer `timer`.
    Disarm { timer: usize },
}

/// Runs a script: each handled event performs the next action, and records what fired.
struct Scripted {
    timers: Vec<TimerId>,
    actions: std::vec::IntoIter<Action>,
    next_id: u64,
    /// (time, id) of every handled event.
    fired: Vec<(u64, u64)>,
    /// For each timer, the id of the event it would deliver now, per the script.
    armed: Vec<Option<u64>>,
    /// Ids made by `Schedule` or `Arm` and not cancelled.
    live: Vec<u64>,
}

impl Scripted {
    fn new(timers: Vec<TimerId>, actions: Vec<Action>) -> Self {
        let count = timers.len();
        Scripted {
            timers,
            actions: actions.into_iter(),
            next_id: 1,
            fired: Vec::new(),
            armed: vec![None; count],
            live: Vec::new(),
        }
    }

    fn cancel(&mut self, timer: usize) {
        if let Some(id) = self.armed[timer].take() {
            self.live.retain(|&live| live != id);
        }
    }
}

impl Model for Scripted {
    type Event = u64;
    fn on_event(&mut self, ctx: &mut Ctx<'_, u64>, id: u64) {
        self.fired.push((ctx.now().as_nanos(), id));
        for armed in &mut self.armed {
            if *armed == Some(id) {
                *armed = None;
            }
        }
        let id = self.next_id;
        match self.actions.next() {
            None => return,
            Some(Action::Schedule { delay }) => {
                ctx.schedule_after(Duration::from_nanos(delay), id);
            }
            Some(Action::Arm { timer, delay }) => {
                self.cancel(timer);
                let at = ctx.now() + Duration::from_nanos(delay);
                ctx.arm(self.timers[timer], at, id);
                assert_eq!(ctx.deadline(self.timers[timer]), Some(at));
                self.armed[timer] = Some(id);
            }
            Some(Action::Disarm { timer }) => {
                self.cancel(timer);
                ctx.disarm(self.timers[timer]);
                assert_eq!(ctx.deadline(self.timers[timer]), None);
                return;
            }
        }
        self.live.push(id);
        self.next_id += 1;
    }
}

fn run_script(start_count: u64, actions: Vec<Action>) -> Scripted {
    let mut engine = Engine::new(1);
    let mut ctx = engine.ctx();
    let timers = (0..3).map(|_| ctx.new_timer()).collect();
    let mut model = Scripted::new(timers, actions);
    // Several events at time zero get the script going, and tie with each other.
    for _ in 0..start_count {
        let id = model.next_id;
        model.next_id += 1;
        model.live.push(id);
        ctx.schedule_at(Instant::ZERO, id);
    }
    engine
        .run(&mut model, RunLimits::unbounded())
        .expect("a script is finite");
    model
}

#[test]
fn equal_time_events_run_in_the_order_they_were_scheduled() {
    struct Fanout(Vec<u32>);
    impl Model for Fanout {
        type Event = u32;
        fn on_event(&mut self, ctx: &mut Ctx<'_, u32>, event: u32) {
            self.0.push(event);
            if event == 0 {
                for child in (1..=50).rev() {
                    ctx.schedule_after(Duration::from_micros(1), child);
                }
            }
        }
    }
    let mut engine = Engine::new(1);
    engine.ctx().schedule_at(Instant::ZERO, 0);
    let mut model = Fanout(Vec::new());
    engine
        .run(&mut model, RunLimits::unbounded())
        .expect("finite");
    let expected: Vec<u32> = std::iter::once(0).chain((1..=50).rev()).collect();
    assert_eq!(model.0, expected);
}

#[test]
fn a_disarmed_timer_never_fires_and_a_rearmed_one_fires_once() {
    let actions = vec![
        Action::Arm {
            timer: 0,
            delay: 10,
        },
        Action::Arm { timer: 1, delay: 5 },
        Action::Disarm { timer: 0 },
        Action::Arm {
            timer: 1,
            delay: 50,
        },
    ];
    // Four events at t=0 run the four actions; then only timer 1's last arming (id 7) fires.
    let model = run_script(4, actions);
    assert_eq!(model.fired, vec![(0, 1), (0, 2), (0, 3), (0, 4), (50, 7)]);
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        (0..4u64).prop_map(|delay| Action::Schedule { delay }),
        (0..3usize, 0..6u64).prop_map(|(timer, delay)| Action::Arm { timer, delay }),
        (0..3usize).prop_map(|timer| Action::Disarm { timer }),
    ]
}

proptest! {
    #[test]
    fn exactly_the_live_events_fire_in_time_order(
        start_count in 1..4u64,
        actions in proptest::collection::vec(action(), 0..120),
    ) {
        let model = run_script(start_count, actions);
        let mut fired_ids: Vec<u64> = model.fired.iter().map(|&(_, id)| id).collect();
        prop_assert!(model.fired.windows(2).all(|w| w[0].0 <= w[1].0), "time went backwards");
        fired_ids.sort_unstable();
        let mut live = model.live.clone();
        live.sort_unstable();
        prop_assert_eq!(fired_ids, live);
    }
}
