//! The hunt's candidates: fault episodes, their TOML schedule, and the seeded draws that make
//! and mutate them.

use std::fmt;

use crate::error::{InputError, suggestion_suffix};

/// A kind of fault the hunt may use (`--faults`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultKind {
    /// A broker process dies (`crash`), restarted after a length.
    Crash,
    /// A broker host loses power (`power_off`), restarted after a length.
    PowerOff,
    /// A controlled shutdown (`shutdown`), restarted after a length.
    Shutdown,
    /// A link stops carrying messages (`cut`), healed after a length.
    Cut,
    /// The connections on a link close at once (`reset`).
    Reset,
    /// The connections now open on a link lose everything (`blackhole`).
    Blackhole,
    /// A broker answers its next produce requests with a retriable error (`error`).
    Error,
    /// A broker holds its next produce responses back (`delay_responses`).
    Delay,
    /// A broker's next produce responses are lost (`drop_responses`).
    Drop,
}

impl FaultKind {
    /// Every kind, in the order of the command-line help.
    pub const ALL: [FaultKind; 9] = [
        FaultKind::Crash,
        FaultKind::PowerOff,
        FaultKind::Shutdown,
        FaultKind::Cut,
        FaultKind::Reset,
        FaultKind::Blackhole,
        FaultKind::Error,
        FaultKind::Delay,
        FaultKind::Drop,
    ];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Crash => "crash",
            FaultKind::PowerOff => "power_off",
            FaultKind::Shutdown => "shutdown",
            FaultKind::Cut => "cut",
            FaultKind::Reset => "reset",
            FaultKind::Blackhole => "blackhole",
            FaultKind::Error => "error",
            FaultKind::Delay => "delay",
            FaultKind::Drop => "drop",
        }
    }

    /// Parses a comma-separated list; an unknown kind names the nearest.
    pub fn parse_list(text: &str) -> Result<Vec<FaultKind>, InputError> {
        let mut out = Vec::new();
        for word in text.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            let Some(kind) = FaultKind::ALL.iter().find(|k| k.name() == word) else {
                return Err(InputError::new(format!(
                    "--faults `{word}`: unknown fault kind{}; allowed: {}",
                    suggestion_suffix(word, FaultKind::ALL.iter().map(|k| k.name())),
                    FaultKind::ALL.map(FaultKind::name).join(", ")
                )));
            };
            if !out.contains(kind) {
                out.push(*kind);
            }
        }
        out.sort();
        Ok(out)
    }

    fn is_down_episode(self) -> bool {
        matches!(
            self,
            FaultKind::Crash | FaultKind::PowerOff | FaultKind::Shutdown
        )
    }

    fn on_link(self) -> bool {
        matches!(
            self,
            FaultKind::Cut | FaultKind::Reset | FaultKind::Blackhole
        )
    }
}

/// What a fault acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    /// A broker.
    Broker(u32),
    /// The client's link to a broker.
    ClientLink(u32),
    /// The link between two brokers (the smaller id first).
    BrokerLink(u32, u32),
}

impl Target {
    fn highest_broker(self) -> u32 {
        match self {
            Target::Broker(b) | Target::ClientLink(b) => b,
            Target::BrokerLink(a, b) => a.max(b),
        }
    }
}

/// The retriable errors an `error` fault answers, and whether before or after the append.
const ERRORS: [(&str, bool); 4] = [
    ("NOT_ENOUGH_REPLICAS", false),
    ("NOT_LEADER_OR_FOLLOWER", false),
    ("REQUEST_TIMED_OUT", false),
    ("NOT_ENOUGH_REPLICAS_AFTER_APPEND", true),
];

/// One fault episode.
#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    /// The kind.
    pub kind: FaultKind,
    /// When it starts, virtual ms (rounded to a microsecond).
    pub at_ms: f64,
    /// What it acts on.
    pub target: Target,
    /// How long it lasts (down episodes, cuts: until the restart or heal) or how long each
    /// response is held (delay), ms; unused otherwise.
    pub length_ms: f64,
    /// How many requests or responses (error, delay, drop); unused otherwise.
    pub n: u64,
    /// Which of the errors (error).
    pub error: usize,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let target = match self.target {
            Target::Broker(b) => format!("broker {b}"),
            Target::ClientLink(b) => format!("the client's link to broker {b}"),
            Target::BrokerLink(a, b) => format!("the link broker {a} - broker {b}"),
        };
        let at = show_ms(self.at_ms);
        match self.kind {
            FaultKind::Crash | FaultKind::PowerOff | FaultKind::Shutdown => write!(
                f,
                "{at} ms: {} {target}, restarted at {} ms",
                self.kind.name(),
                show_ms(self.at_ms + self.length_ms)
            ),
            FaultKind::Cut => write!(
                f,
                "{at} ms: cut {target}, healed at {} ms",
                show_ms(self.at_ms + self.length_ms)
            ),
            FaultKind::Reset | FaultKind::Blackhole => {
                write!(f, "{at} ms: {} {target}", self.kind.name())
            }
            FaultKind::Error => {
                let (name, after) = ERRORS[self.error];
                write!(
                    f,
                    "{at} ms: {target} answers its next {} produce request(s) with {name} ({} the append)",
                    self.n,
                    if after { "after" } else { "before" }
                )
            }
            FaultKind::Delay => write!(
                f,
                "{at} ms: {target} holds its next {} produce response(s) back for {} ms",
                self.n,
                show_ms(self.length_ms)
            ),
            FaultKind::Drop => write!(
                f,
                "{at} ms: {target} loses its next {} produce response(s)",
                self.n
            ),
        }
    }
}

/// A number of ms with at most three decimals and no trailing zeros.
fn show_ms(ms: f64) -> String {
    let text = format!("{ms:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// What a run of the hunt varies: the faults, the records, the cluster's size.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    /// The fault episodes, in time order.
    pub faults: Vec<Fault>,
    /// Records the application sends.
    pub records: u64,
    /// Partitions of the topic.
    pub partitions: u32,
    /// Brokers.
    pub brokers: u32,
}

impl Candidate {
    /// The distinct kinds it uses, sorted.
    pub fn kinds(&self) -> Vec<FaultKind> {
        let mut kinds: Vec<FaultKind> = self.faults.iter().map(|f| f.kind).collect();
        kinds.sort();
        kinds.dedup();
        kinds
    }

    /// The highest broker id a fault names.
    pub fn highest_broker(&self) -> Option<u32> {
        self.faults.iter().map(|f| f.target.highest_broker()).max()
    }

    /// Sorts the faults by time and drops a down episode that starts while the same broker is
    /// still down from an earlier one (the schedule refuses a shutdown of a broker that is down).
    pub fn normalize(&mut self) {
        self.faults.sort_by(|a, b| {
            a.at_ms
                .total_cmp(&b.at_ms)
                .then_with(|| a.target.cmp(&b.target))
        });
        let mut kept: Vec<Fault> = Vec::with_capacity(self.faults.len());
        for f in self.faults.drain(..) {
            let overlaps = f.kind.is_down_episode()
                && kept.iter().any(|k| {
                    k.kind.is_down_episode()
                        && k.target == f.target
                        && f.at_ms <= k.at_ms + k.length_ms
                });
            if !overlaps {
                kept.push(f);
            }
        }
        self.faults = kept;
    }

    /// The `[[faults.schedule]]` entries, in time order (a restart or heal is its own entry).
    pub fn schedule_value(&self) -> toml::Value {
        let mut entries: Vec<(f64, toml::Table)> = Vec::new();
        for f in &self.faults {
            let mut entry = toml::Table::new();
            let at = round_us(f.at_ms);
            entry.insert("at_ms".into(), toml::Value::Float(at));
            let end = round_us(f.at_ms + f.length_ms);
            let mut follow: Option<(f64, toml::Table)> = None;
            match f.kind {
                FaultKind::Crash | FaultKind::PowerOff | FaultKind::Shutdown => {
                    entry.insert("action".into(), f.kind.name().into());
                    entry.insert("broker".into(), broker_value(f.target));
                    let mut restart = toml::Table::new();
                    restart.insert("at_ms".into(), toml::Value::Float(end));
                    restart.insert("action".into(), "restart".into());
                    restart.insert("broker".into(), broker_value(f.target));
                    follow = Some((end, restart));
                }
                FaultKind::Cut => {
                    entry.insert("action".into(), "cut".into());
                    entry.insert("link".into(), link_value(f.target));
                    let mut heal = toml::Table::new();
                    heal.insert("at_ms".into(), toml::Value::Float(end));
                    heal.insert("action".into(), "heal".into());
                    heal.insert("link".into(), link_value(f.target));
                    follow = Some((end, heal));
                }
                FaultKind::Reset | FaultKind::Blackhole => {
                    entry.insert("action".into(), f.kind.name().into());
                    entry.insert("link".into(), link_value(f.target));
                }
                FaultKind::Error => {
                    let (name, after) = ERRORS[f.error];
                    entry.insert("action".into(), "error".into());
                    entry.insert("broker".into(), broker_value(f.target));
                    entry.insert("error".into(), name.into());
                    entry.insert("n".into(), toml::Value::Integer(f.n as i64));
                    if after {
                        entry.insert("stage".into(), "after_append".into());
                    }
                }
                FaultKind::Delay => {
                    entry.insert("action".into(), "delay_responses".into());
                    entry.insert("broker".into(), broker_value(f.target));
                    entry.insert("n".into(), toml::Value::Integer(f.n as i64));
                    entry.insert(
                        "delay_ms".into(),
                        toml::Value::Float(round_us(f.length_ms).max(0.001)),
                    );
                }
                FaultKind::Drop => {
                    entry.insert("action".into(), "drop_responses".into());
                    entry.insert("broker".into(), broker_value(f.target));
                    entry.insert("n".into(), toml::Value::Integer(f.n as i64));
                }
            }
            entries.push((at, entry));
            if let Some(follow) = follow {
                entries.push(follow);
            }
        }
        // Stable: at one instant the starts keep their order and come before later ends.
        entries.sort_by(|a, b| a.0.total_cmp(&b.0));
        toml::Value::Array(
            entries
                .into_iter()
                .map(|(_, t)| toml::Value::Table(t))
                .collect(),
        )
    }
}

fn round_us(ms: f64) -> f64 {
    (ms * 1000.0).round() / 1000.0
}

fn broker_value(target: Target) -> toml::Value {
    toml::Value::Integer(i64::from(target.highest_broker()))
}

fn link_value(target: Target) -> toml::Value {
    let (a, b) = match target {
        Target::ClientLink(b) => ("client".to_owned(), format!("broker{b}")),
        Target::BrokerLink(a, b) => (format!("broker{a}"), format!("broker{b}")),
        Target::Broker(b) => ("client".to_owned(), format!("broker{b}")),
    };
    toml::Value::Array(vec![a.into(), b.into()])
}

/// The seeded stream of the hunt's choices (splitmix64).
pub(crate) struct Draw(u64);

impl Draw {
    pub(crate) fn new(seed: u64) -> Draw {
        Draw(seed ^ 0x6875_6E74_5F6C_696E)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True with probability `num / den`.
    pub(crate) fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[lo, hi)`, rounded to a microsecond.
    fn ms(&mut self, lo: f64, hi: f64) -> f64 {
        round_us(lo + self.unit() * (hi - lo))
    }

    /// Log-uniform in `[lo, hi)`, rounded to a microsecond.
    fn log_ms(&mut self, lo: f64, hi: f64) -> f64 {
        round_us((lo.ln() + self.unit() * (hi.ln() - lo.ln())).exp())
    }
}

/// What the draws need to know about the world.
pub(crate) struct Shape<'a> {
    pub(crate) kinds: &'a [FaultKind],
    pub(crate) brokers: u32,
    pub(crate) horizon_ms: f64,
    pub(crate) session_ms: f64,
    pub(crate) max_faults: usize,
    pub(crate) records: u64,
    pub(crate) partitions: u32,
}

/// One fault of a kind from `shape.kinds`.
fn fault(draw: &mut Draw, shape: &Shape<'_>) -> Fault {
    let kind = shape.kinds[draw.below(shape.kinds.len() as u64) as usize];
    let broker = draw.below(u64::from(shape.brokers)) as u32;
    let target = if kind.on_link() {
        if shape.brokers > 1 && draw.chance(1, 3) {
            let other =
                (broker + 1 + draw.below(u64::from(shape.brokers - 1)) as u32) % shape.brokers;
            Target::BrokerLink(broker.min(other), broker.max(other))
        } else {
            Target::ClientLink(broker)
        }
    } else {
        Target::Broker(broker)
    };
    // A down episode or a cut may outlast the controller's session timeout (a new leader is
    // elected) or be shorter than a request's round trip.
    let longest = (3.0 * shape.session_ms).max(3_000.0);
    let length_ms = match kind {
        FaultKind::Delay => draw.log_ms(1.0, 60_000.0),
        _ => draw.log_ms(1.0, longest),
    };
    Fault {
        kind,
        at_ms: draw.ms(0.0, shape.horizon_ms),
        target,
        length_ms,
        n: 1 + draw.below(3),
        error: draw.below(ERRORS.len() as u64) as usize,
    }
}

/// A fresh candidate: one to `max_faults` faults, the hunt's records, the file's cluster.
pub(crate) fn fresh(draw: &mut Draw, shape: &Shape<'_>) -> Candidate {
    let count = 1 + draw.below(shape.max_faults as u64) as usize;
    let mut c = Candidate {
        faults: (0..count).map(|_| fault(draw, shape)).collect(),
        records: shape.records,
        partitions: shape.partitions,
        brokers: shape.brokers,
    };
    c.normalize();
    c
}

/// A small change of `parent`: a fault added, removed, moved, retargeted or resized.
pub(crate) fn mutate(parent: &Candidate, draw: &mut Draw, shape: &Shape<'_>) -> Candidate {
    let mut c = parent.clone();
    let choice = draw.below(5);
    if c.faults.is_empty() || (choice == 0 && c.faults.len() < shape.max_faults + 2) {
        c.faults.push(fault(draw, shape));
    } else {
        let i = draw.below(c.faults.len() as u64) as usize;
        match choice {
            1 if c.faults.len() > 1 => {
                c.faults.remove(i);
            }
            2 => c.faults[i].at_ms = draw.ms(0.0, shape.horizon_ms),
            3 => {
                let f = &mut c.faults[i];
                f.length_ms = round_us((f.length_ms * (0.25 + 1.5 * draw.unit())).max(0.001));
                f.n = 1 + draw.below(3);
            }
            _ => {
                let fresh = fault(draw, shape);
                let f = &mut c.faults[i];
                if fresh.kind == f.kind {
                    f.target = fresh.target;
                } else {
                    *f = fresh;
                }
            }
        }
    }
    c.normalize();
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(kinds: &[FaultKind]) -> Shape<'_> {
        Shape {
            kinds,
            brokers: 3,
            horizon_ms: 500.0,
            session_ms: 9_000.0,
            max_faults: 3,
            records: 200,
            partitions: 6,
        }
    }

    #[test]
    fn the_same_seed_draws_the_same_candidates() {
        let kinds = FaultKind::ALL;
        let s = shape(&kinds);
        let (mut a, mut b) = (Draw::new(7), Draw::new(7));
        for _ in 0..50 {
            assert_eq!(fresh(&mut a, &s), fresh(&mut b, &s));
        }
        let mut c = Draw::new(8);
        assert_ne!(fresh(&mut Draw::new(7), &s), fresh(&mut c, &s));
    }

    #[test]
    fn normalized_candidates_never_take_a_down_broker_down_again() {
        let kinds = [FaultKind::Crash, FaultKind::Shutdown, FaultKind::PowerOff];
        let s = shape(&kinds);
        let mut draw = Draw::new(3);
        for _ in 0..500 {
            let c = fresh(&mut draw, &s);
            for (i, f) in c.faults.iter().enumerate() {
                for g in &c.faults[i + 1..] {
                    assert!(
                        f.target != g.target || g.at_ms > f.at_ms + f.length_ms,
                        "{f} overlaps {g}"
                    );
                }
            }
            assert!(c.faults.windows(2).all(|w| w[0].at_ms <= w[1].at_ms));
        }
    }

    #[test]
    fn the_schedule_pairs_every_episode_with_its_end_in_time_order() {
        let c = Candidate {
            faults: vec![
                Fault {
                    kind: FaultKind::Crash,
                    at_ms: 10.0,
                    target: Target::Broker(1),
                    length_ms: 100.0,
                    n: 1,
                    error: 0,
                },
                Fault {
                    kind: FaultKind::Cut,
                    at_ms: 20.5,
                    target: Target::BrokerLink(0, 2),
                    length_ms: 5.0,
                    n: 1,
                    error: 0,
                },
            ],
            records: 10,
            partitions: 1,
            brokers: 3,
        };
        let table = toml::Table::from_iter([("schedule".to_owned(), c.schedule_value())]);
        let text = toml::to_string(&table).expect("serializes");
        let actions: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("action = "))
            .collect();
        assert_eq!(
            actions,
            ["\"crash\"", "\"cut\"", "\"heal\"", "\"restart\""],
            "{text}"
        );
    }

    #[test]
    fn unknown_kinds_name_the_nearest() {
        let error = FaultKind::parse_list("crash,blackhol").expect_err("unknown");
        assert!(
            error.message.contains("did you mean `blackhole`?"),
            "{}",
            error.message
        );
        assert_eq!(
            FaultKind::parse_list("reset, crash,reset").expect("known"),
            vec![FaultKind::Crash, FaultKind::Reset]
        );
    }
}
