//! Faults: a scripted schedule and seeded random processes that crash and restart brokers, cut
//! and heal links, drop responses and add latency spikes.
//!
//! ```text
//!   [faults]
//!   schedule = [ { at_ms = 1000, action = "crash", broker = 0 },
//!                { at_ms = 4000, action = "restart", broker = 0 },
//!                { at_ms = 4500, action = "shutdown", broker = 1 },  # controlled: leadership moves first
//!                { at_ms = 1500, action = "power_off", broker = 1 },             # silent host loss
//!                { at_ms = 2000, action = "cut", link = ["client", "broker1"] },
//!                { at_ms = 2100, action = "reset", link = ["client", "broker2"] },
//!                { at_ms = 2200, action = "blackhole", link = ["broker0", "broker2"] },
//!                { at_ms = 2500, action = "drop_responses", broker = 2, n = 3 },   # api = "produce"
//!                { at_ms = 2600, action = "error", broker = 1, error = "NOT_ENOUGH_REPLICAS", n = 1 },
//!                { at_ms = 2700, action = "delay_responses", broker = 1, n = 2, delay_ms = 800 },
//!                { at_ms = 3000, action = "latency_spike", link = ["client", "broker0"], extra_ms = 50, until_ms = 3500 },
//!                { at_ms = 5000, action = "isolate", broker = 0 },      # zombie leader: fenced, client still reaches it
//!                { at_ms = 9000, action = "rejoin", broker = 0 } ]
//!   random = { crash_rate_per_broker_per_s = 0.01, restart_delay = { dist = "constant", ms = 5000 },
//!              link_flap_rate_per_s = 0.1, link_flap_duration = { dist = "exponential", mean_ms = 500 } }
//! ```
//!
//! API: [`Faults::new`] validates against the cluster, [`Faults::start`] schedules
//! [`FaultEvent`]s, the world passes each one to [`Faults::apply`], and [`Faults::stop`] ends every
//! fault process before settling. Random draws come only from streams named `faults/...`.
//! Each applied fault is traced under the component `faults` with the action's name as the kind
//! (`crash`, `power_off`, `restart`, `shutdown`, `cut`, `heal`, `reset`, `blackhole`, `drop_responses`,
//! `error`, `delay_responses`, `latency_spike`, `fence`, `unfence`, `isolate`, `rejoin`;
//! random ones carry `random = true`).
//! An entry's keys that its action does not read are refused.
//!
//! Fidelity: crash-stop brokers with durable logs (see `cluster`). "shutdown" is KRaft's
//! controlled shutdown (`BrokerLifecycleManager`, `BrokerHeartbeatManager`, see the controller),
//! whose final stop is the process crash. `crash` is a process crash:
//! the host's TCP stack resets the broker's connections at once and refuses connects until
//! `restart`, so the client processes a disconnection one latency later
//! (`NetworkClient.processDisconnection`: requests in flight fail with NETWORK_EXCEPTION and
//! are retried, a metadata refresh is requested) and a reconnect fails within a round trip;
//! random crashes are process crashes. `power_off` is a silent host loss: nothing answers, what
//! is sent to it is never acknowledged and so retransmitted (see `network`), the client notices
//! only through `request.timeout.ms`, and a connect to it is abandoned after
//! `socket.connection.setup.timeout.ms`; after `restart` the host answers the next segment of a
//! connection from before the power-off with a reset (Linux: no socket for it), so the client
//! sees that connection close at its next retransmission. A cut is
//! a symmetric network partition of one link: TCP retransmits across it (see `network`).
//! `reset` closes the link's connections and both ends see it at once; `blackhole` makes the
//! link's current connections lose everything silently, as a middlebox that dropped the
//! flow's state, until an application timeout (`request.timeout.ms`,
//! `replica.socket.timeout.ms`) abandons them; the new connection works. "drop_responses"
//! drops the next N broker→client responses of one API (produce by default) on one link, and
//! the connection that carried each blackholes from there (TCP alone never loses one message
//! and delivers the next); "error" and "delay_responses" are the broker's own doing (see
//! `cluster::injected`);
//! "fence" models a broker that loses its controller session while running (the controller is
//! not a network node, so cuts alone never fence anyone); "isolate" combines that with cutting
//! the broker off from the other brokers, the classic zombie-leader partition.

use serde::Deserialize;
use sim::{Ctx, Dist, Duration, Instant, RngStreams, Stream};

use crate::cluster::config::{ConfigError, DistConfig, LinkName, ms_to_duration, resolve_link};
use crate::cluster::{Cluster, ClusterConfig, ClusterEvent, ErrorStage, InjectedError};
use crate::network::{NetEvent, Network, ResponseApi, node_label};
use crate::protocol::{BrokerId, ErrorCode, Node, PartitionId};

/// A scripted action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultAction {
    /// `broker`'s process crashes: its host resets its connections and refuses new ones.
    Crash,
    /// `broker`'s host loses power: nothing answers, not even a reset.
    PowerOff,
    /// Restart `broker` (after `crash` or `power_off`).
    Restart,
    /// Controlled shutdown of `broker`: the controller moves its leadership away, then the
    /// process stops (brought back by `restart`).
    Shutdown,
    /// Cut `link`.
    Cut,
    /// Heal `link`.
    Heal,
    /// Close the connections on `link` at once; both ends see it.
    Reset,
    /// The connections on `link` silently lose everything until an application timeout
    /// abandons them (a new connection works).
    Blackhole,
    /// Drop the next `n` responses from `broker` to the client (produce responses unless `api`
    /// says otherwise).
    DropResponses,
    /// `broker` answers its next `n` produce requests (carrying `partition`, when given) with
    /// the Kafka error `error`, before the append (`stage = "before_append"`, the default:
    /// nothing written) or after it (`"after_append"`: written, yet answered with the error).
    Error,
    /// `broker` holds its next `n` produce responses back by `delay_ms`.
    DelayResponses,
    /// Add `extra_ms` to `link` (or every link) until `until_ms`.
    LatencySpike,
    /// The controller stops hearing `broker` (fenced after the session timeout; it keeps running).
    Fence,
    /// The controller hears `broker` again (a fenced broker re-registers and steps down).
    Unfence,
    /// Cut `broker` from every other broker and fence it: a zombie leader still reachable by
    /// the client.
    Isolate,
    /// Undo `isolate`: heal `broker`'s broker links and unfence it.
    Rejoin,
}

/// One entry of the scripted schedule.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduledFault {
    /// When, ms from the start of the run.
    pub at_ms: f64,
    /// What.
    pub action: FaultAction,
    /// The broker (crash, power_off, restart, drop_responses, error, delay_responses, fence,
    /// unfence, isolate, rejoin).
    #[serde(default)]
    pub broker: Option<u32>,
    /// The link (cut, heal, reset, blackhole; latency_spike: omitted = every link).
    #[serde(default)]
    pub link: Option<LinkName>,
    /// How many responses (drop_responses, delay_responses) or requests (error).
    #[serde(default)]
    pub n: Option<u64>,
    /// The Kafka error name (error), e.g. `"NOT_ENOUGH_REPLICAS"`.
    #[serde(default)]
    pub error: Option<String>,
    /// Only requests carrying this partition (error; default: every request).
    #[serde(default)]
    pub partition: Option<u32>,
    /// `"before_append"` (default) or `"after_append"` (error).
    #[serde(default)]
    pub stage: Option<String>,
    /// How long each response is held back (delay_responses), ms.
    #[serde(default)]
    pub delay_ms: Option<f64>,
    /// Which responses are dropped (drop_responses): `"produce"` (default), `"metadata"`,
    /// `"init_producer_id"` or `"any"`.
    #[serde(default)]
    pub api: Option<String>,
    /// Extra latency (latency_spike), ms.
    #[serde(default)]
    pub extra_ms: Option<f64>,
    /// End of the spike (latency_spike), ms from the start of the run.
    #[serde(default)]
    pub until_ms: Option<f64>,
}

impl ScheduledFault {
    /// An entry with no keys but its time and action (the others are set by the caller).
    pub fn new(at_ms: f64, action: FaultAction) -> Self {
        ScheduledFault {
            at_ms,
            action,
            broker: None,
            link: None,
            n: None,
            error: None,
            partition: None,
            stage: None,
            delay_ms: None,
            api: None,
            extra_ms: None,
            until_ms: None,
        }
    }
}

fn default_restart_delay() -> DistConfig {
    DistConfig::constant_ms(10_000.0)
}
fn default_flap_duration() -> DistConfig {
    DistConfig::constant_ms(1_000.0)
}
fn default_max_down() -> u32 {
    1
}

/// Random fault processes (all off by default).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandomFaultsConfig {
    /// Poisson rate of crashes per broker per second (0 = off).
    #[serde(default)]
    pub crash_rate_per_broker_per_s: f64,
    /// Time from a random crash to its restart.
    #[serde(default = "default_restart_delay")]
    pub restart_delay: DistConfig,
    /// At most this many brokers down from random crashes at once.
    #[serde(default = "default_max_down")]
    pub max_down_brokers: u32,
    /// Poisson rate of link flaps over the whole network, per second (0 = off).
    #[serde(default)]
    pub link_flap_rate_per_s: f64,
    /// How long a flapped link stays cut.
    #[serde(default = "default_flap_duration")]
    pub link_flap_duration: DistConfig,
}

impl Default for RandomFaultsConfig {
    fn default() -> Self {
        RandomFaultsConfig {
            crash_rate_per_broker_per_s: 0.0,
            restart_delay: default_restart_delay(),
            max_down_brokers: default_max_down(),
            link_flap_rate_per_s: 0.0,
            link_flap_duration: default_flap_duration(),
        }
    }
}

/// The faults of one run (default: none).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultsConfig {
    /// Scripted faults in time order (an entry earlier than the one before it is refused);
    /// faults at the same time apply in list order.
    #[serde(default)]
    pub schedule: Vec<ScheduledFault>,
    /// Random processes.
    #[serde(default)]
    pub random: RandomFaultsConfig,
}

/// A scripted action resolved to nodes and integer times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResolvedAction {
    /// A broker's process crashes.
    Crash(BrokerId),
    /// A broker's host loses power.
    PowerOff(BrokerId),
    /// Reset the connections on a link.
    Reset(Node, Node),
    /// Blackhole the connections on a link.
    Blackhole(Node, Node),
    /// Restart a broker.
    Restart(BrokerId),
    /// Shut a broker down in a controlled way.
    Shutdown(BrokerId),
    /// Cut a link.
    Cut(Node, Node),
    /// Heal a link.
    Heal(Node, Node),
    /// Drop the next n responses of one API (or any) from a broker to the client.
    DropResponses(BrokerId, u64, ResponseApi),
    /// A broker answers its next produce requests with an error.
    Error(BrokerId, InjectedError),
    /// A broker holds its next n produce responses back by a delay.
    DelayResponses(BrokerId, u64, Duration),
    /// The controller stops hearing a broker.
    Fence(BrokerId),
    /// The controller hears a broker again.
    Unfence(BrokerId),
    /// Cut a broker from every other broker and fence it.
    Isolate(BrokerId),
    /// Heal a broker's broker links and unfence it.
    Rejoin(BrokerId),
    /// A latency spike on one link or (None) every link.
    LatencySpike {
        /// The link, or every link.
        link: Option<(Node, Node)>,
        /// Extra delay.
        extra: Duration,
        /// End of the spike.
        until: Instant,
    },
}

/// What the faults schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultEvent {
    /// Scripted fault number `index`.
    Scripted {
        /// Index in the schedule.
        index: usize,
    },
    /// A random crash of `broker`.
    RandomCrash {
        /// The broker.
        broker: BrokerId,
    },
    /// The restart after a random crash.
    RandomRestart {
        /// The broker.
        broker: BrokerId,
    },
    /// A random link flap starts.
    FlapStart,
    /// A random link flap ends.
    FlapEnd {
        /// One end.
        a: Node,
        /// The other end.
        b: Node,
    },
}

/// The highest rate of a random fault process, per second (one per virtual microsecond).
pub const FAULT_RATE_PER_S_MAX: f64 = 1e6;

/// The lowest non-zero rate, per second: one per 10^7 s, the longest run phase.
pub const FAULT_RATE_PER_S_MIN: f64 = 1e-7;

fn rate_mean(key: &str, rate: f64) -> Result<Option<Duration>, ConfigError> {
    if rate == 0.0 {
        return Ok(None);
    }
    if !rate.is_finite() || !(FAULT_RATE_PER_S_MIN..=FAULT_RATE_PER_S_MAX).contains(&rate) {
        return Err(ConfigError::invalid(
            key,
            format!(
                "{}: allowed 0 (off) or 1e-7 ..= 1e6 per second",
                crate::cluster::config::show_number(rate)
            ),
        ));
    }
    Ok(Some(Duration::from_nanos(
        (1e9 / rate).round().max(1.0) as u64
    )))
}

impl FaultsConfig {
    /// Checks every key against the cluster (brokers and links must exist, a spike must end
    /// after it starts, rates and distributions must make sense).
    pub fn validate(&self, cluster: &ClusterConfig) -> Result<(), ConfigError> {
        self.resolve(cluster).map(|_| ())
    }

    /// Resolves the schedule to `(at, action)` pairs.
    pub fn resolve(
        &self,
        cluster: &ClusterConfig,
    ) -> Result<Vec<(Instant, ResolvedAction)>, ConfigError> {
        let mut out: Vec<(Instant, ResolvedAction)> = Vec::with_capacity(self.schedule.len());
        let mut down = ScriptedDown::default();
        for (i, f) in self.schedule.iter().enumerate() {
            let key = format!("faults.schedule[{i}]");
            let at = Instant::ZERO + ms_to_duration(&format!("{key}.at_ms"), f.at_ms)?;
            // A schedule is read as a timeline: an entry earlier than the one before it is
            // almost always a typo, so it is refused rather than silently sorted.
            if let Some(&(previous, _)) = out.last()
                && at < previous
            {
                return Err(ConfigError::invalid(
                    format!("{key}.at_ms"),
                    format!(
                        "{} is before faults.schedule[{}].at_ms ({}): list the schedule in time order",
                        f.at_ms,
                        i - 1,
                        self.schedule[i - 1].at_ms
                    ),
                ));
            }
            let action = resolve_action(&key, f, at, cluster.brokers)?;
            if let ResolvedAction::Error(
                _,
                InjectedError {
                    partition: Some(p), ..
                },
            ) = action
                && p.0 >= cluster.partitions
            {
                return Err(ConfigError::invalid(
                    format!("{key}.partition"),
                    format!(
                        "partition {} does not exist: allowed 0 ..= {}",
                        p.0,
                        cluster.partitions.saturating_sub(1)
                    ),
                ));
            }
            down.check(&key, f.at_ms, action)?;
            out.push((at, action));
        }
        let r = &self.random;
        rate_mean(
            "faults.random.crash_rate_per_broker_per_s",
            r.crash_rate_per_broker_per_s,
        )?;
        rate_mean("faults.random.link_flap_rate_per_s", r.link_flap_rate_per_s)?;
        r.restart_delay.to_dist("faults.random.restart_delay")?;
        r.link_flap_duration
            .to_dist("faults.random.link_flap_duration")?;
        if r.max_down_brokers >= cluster.brokers && r.crash_rate_per_broker_per_s > 0.0 {
            return Err(ConfigError::invalid(
                "faults.random.max_down_brokers",
                format!(
                    "{}: allowed 0 ..= brokers - 1 ({})",
                    r.max_down_brokers,
                    cluster.brokers.saturating_sub(1)
                ),
            ));
        }
        Ok(out)
    }
}

/// Which brokers the schedule has down so far (crashed, powered off or shut down, not restarted since),
/// with the entry that took each one down: a `shutdown` of a broker that is down is refused.
#[derive(Default)]
struct ScriptedDown {
    /// `(broker, the key of the entry that took it down)`.
    down: Vec<(BrokerId, String)>,
}

impl ScriptedDown {
    fn check(&mut self, key: &str, at_ms: f64, action: ResolvedAction) -> Result<(), ConfigError> {
        match action {
            ResolvedAction::Shutdown(b) => {
                if let Some((_, by)) = self.down.iter().find(|(d, _)| *d == b) {
                    return Err(ConfigError::invalid(
                        format!("{key}.broker"),
                        format!(
                            "broker {} is already down at {at_ms} ms ({by} stopped it and no \
                             restart came since): allowed a broker that is up; add a restart \
                             before this entry or remove it",
                            b.0
                        ),
                    ));
                }
                self.down.push((b, key.to_owned()));
            }
            ResolvedAction::Crash(b) | ResolvedAction::PowerOff(b)
                if !self.down.iter().any(|(d, _)| *d == b) =>
            {
                self.down.push((b, key.to_owned()));
            }
            ResolvedAction::Restart(b) => self.down.retain(|(d, _)| *d != b),
            _ => {}
        }
        Ok(())
    }
}

fn resolve_action(
    key: &str,
    f: &ScheduledFault,
    at: Instant,
    brokers: u32,
) -> Result<ResolvedAction, ConfigError> {
    let broker = || -> Result<BrokerId, ConfigError> {
        let b = f.broker.ok_or_else(|| {
            ConfigError::invalid(format!("{key}.broker"), "this action needs a broker")
        })?;
        if b >= brokers {
            return Err(ConfigError::invalid(
                format!("{key}.broker"),
                format!("broker {b} does not exist: allowed 0 ..= {}", brokers - 1),
            ));
        }
        Ok(BrokerId(b))
    };
    let link = || -> Result<(Node, Node), ConfigError> {
        let l = f.link.as_ref().ok_or_else(|| {
            ConfigError::invalid(
                format!("{key}.link"),
                "this action needs a link, e.g. [\"client\", \"broker0\"]",
            )
        })?;
        resolve_link(&format!("{key}.link"), l, brokers)
    };
    refuse_unused_fields(key, f)?;
    Ok(match f.action {
        FaultAction::Crash => ResolvedAction::Crash(broker()?),
        FaultAction::PowerOff => ResolvedAction::PowerOff(broker()?),
        FaultAction::Reset => {
            let (a, b) = link()?;
            ResolvedAction::Reset(a, b)
        }
        FaultAction::Blackhole => {
            let (a, b) = link()?;
            ResolvedAction::Blackhole(a, b)
        }
        FaultAction::Restart => ResolvedAction::Restart(broker()?),
        FaultAction::Shutdown => ResolvedAction::Shutdown(broker()?),
        FaultAction::Fence => ResolvedAction::Fence(broker()?),
        FaultAction::Unfence => ResolvedAction::Unfence(broker()?),
        FaultAction::Isolate => ResolvedAction::Isolate(broker()?),
        FaultAction::Rejoin => ResolvedAction::Rejoin(broker()?),
        FaultAction::Cut => {
            let (a, b) = link()?;
            ResolvedAction::Cut(a, b)
        }
        FaultAction::Heal => {
            let (a, b) = link()?;
            ResolvedAction::Heal(a, b)
        }
        FaultAction::DropResponses => {
            let n = f.n.filter(|&n| n > 0).ok_or_else(|| {
                ConfigError::invalid(format!("{key}.n"), "drop_responses needs n >= 1")
            })?;
            let api = match f.api.as_deref() {
                None => ResponseApi::Produce,
                Some(name) => ResponseApi::from_name(name).ok_or_else(|| {
                    ConfigError::invalid(
                        format!("{key}.api"),
                        format!(
                            "{name:?}: allowed \"produce\", \"metadata\", \"init_producer_id\", \"any\""
                        ),
                    )
                })?,
            };
            ResolvedAction::DropResponses(broker()?, n, api)
        }
        FaultAction::Error => ResolvedAction::Error(broker()?, resolve_error(key, f)?),
        FaultAction::DelayResponses => {
            let n = f.n.filter(|&n| n > 0).ok_or_else(|| {
                ConfigError::invalid(format!("{key}.n"), "delay_responses needs n >= 1")
            })?;
            let delay_ms = f.delay_ms.ok_or_else(|| {
                ConfigError::invalid(
                    format!("{key}.delay_ms"),
                    "delay_responses needs delay_ms, how long each response is held back",
                )
            })?;
            let delay = ms_to_duration(&format!("{key}.delay_ms"), delay_ms)?;
            if delay == Duration::ZERO {
                return Err(ConfigError::invalid(
                    format!("{key}.delay_ms"),
                    "0: allowed a delay > 0 ms",
                ));
            }
            ResolvedAction::DelayResponses(broker()?, n, delay)
        }
        FaultAction::LatencySpike => {
            let link = if f.link.is_some() {
                Some(link()?)
            } else {
                None
            };
            resolve_spike(key, f, at, link)?
        }
    })
}

/// A field the action does not read is refused rather than silently ignored.
fn refuse_unused_fields(key: &str, f: &ScheduledFault) -> Result<(), ConfigError> {
    let (action, used): (&str, &[&str]) = match f.action {
        FaultAction::Crash => ("crash", &["broker"]),
        FaultAction::PowerOff => ("power_off", &["broker"]),
        FaultAction::Reset => ("reset", &["link"]),
        FaultAction::Blackhole => ("blackhole", &["link"]),
        FaultAction::Restart => ("restart", &["broker"]),
        FaultAction::Shutdown => ("shutdown", &["broker"]),
        FaultAction::Fence => ("fence", &["broker"]),
        FaultAction::Unfence => ("unfence", &["broker"]),
        FaultAction::Isolate => ("isolate", &["broker"]),
        FaultAction::Rejoin => ("rejoin", &["broker"]),
        FaultAction::Cut => ("cut", &["link"]),
        FaultAction::Heal => ("heal", &["link"]),
        FaultAction::DropResponses => ("drop_responses", &["broker", "n", "api"]),
        FaultAction::Error => ("error", &["broker", "n", "error", "partition", "stage"]),
        FaultAction::DelayResponses => ("delay_responses", &["broker", "n", "delay_ms"]),
        FaultAction::LatencySpike => ("latency_spike", &["link", "extra_ms", "until_ms"]),
    };
    let set = [
        ("broker", f.broker.is_some()),
        ("link", f.link.is_some()),
        ("n", f.n.is_some()),
        ("error", f.error.is_some()),
        ("partition", f.partition.is_some()),
        ("stage", f.stage.is_some()),
        ("delay_ms", f.delay_ms.is_some()),
        ("api", f.api.is_some()),
        ("extra_ms", f.extra_ms.is_some()),
        ("until_ms", f.until_ms.is_some()),
    ];
    match set
        .iter()
        .find(|(name, is_set)| *is_set && !used.contains(name))
    {
        Some((name, _)) => Err(ConfigError::invalid(
            format!("{key}.{name}"),
            format!(
                "action {action} does not use {name}; its keys are at_ms, action, {}",
                used.join(", ")
            ),
        )),
        None => Ok(()),
    }
}

/// `error` needs a known Kafka error name; the partition, when given, must exist.
fn resolve_error(key: &str, f: &ScheduledFault) -> Result<InjectedError, ConfigError> {
    let n = f.n.unwrap_or(1);
    if n == 0 {
        return Err(ConfigError::invalid(
            format!("{key}.n"),
            "0: allowed n >= 1 produce requests (default 1)",
        ));
    }
    let name = f.error.as_deref().ok_or_else(|| {
        ConfigError::invalid(
            format!("{key}.error"),
            "error needs the Kafka error to answer with, e.g. \"NOT_ENOUGH_REPLICAS\"",
        )
    })?;
    let error = injectable_error(name)
        .map_err(|problem| ConfigError::invalid(format!("{key}.error"), problem))?;
    let stage = match f.stage.as_deref() {
        None | Some("before_append") => ErrorStage::BeforeAppend,
        Some("after_append") => ErrorStage::AfterAppend,
        Some(other) => {
            return Err(ConfigError::invalid(
                format!("{key}.stage"),
                format!(
                    "{other:?}: allowed \"before_append\" (nothing written) or \"after_append\" (written, then the error)"
                ),
            ));
        }
    };
    Ok(InjectedError {
        error,
        partition: f.partition.map(PartitionId),
        requests: n,
        stage,
    })
}

/// The error a broker may be told to answer with: any produce error Kafka's brokers send
/// (NETWORK_EXCEPTION is the client's own, never on the wire). An unknown name gets the
/// nearest known one as a suggestion.
fn injectable_error(name: &str) -> Result<ErrorCode, String> {
    let allowed: Vec<ErrorCode> = ErrorCode::ALL
        .into_iter()
        .filter(|e| !matches!(e, ErrorCode::None | ErrorCode::NetworkException))
        .collect();
    if let Some(&e) = allowed.iter().find(|e| e.name() == name) {
        return Ok(e);
    }
    let upper = name.to_ascii_uppercase().replace(['-', '.', ' '], "_");
    let nearest = allowed
        .iter()
        .map(|e| (strsim::levenshtein(&upper, e.name()), e.name()))
        .min()
        .filter(|&(distance, _)| distance <= upper.len().max(4) / 2)
        .map(|(_, n)| n);
    let names: Vec<&str> = allowed.iter().map(|e| e.name()).collect();
    Err(match nearest {
        Some(n) => format!(
            "{name:?} is not a Kafka error a broker sends: did you mean \"{n}\"? allowed: {}",
            names.join(", ")
        ),
        None => format!(
            "{name:?} is not a Kafka error a broker sends; allowed: {}",
            names.join(", ")
        ),
    })
}

/// A latency spike needs `extra_ms` and an `until_ms` after `at_ms`.
fn resolve_spike(
    key: &str,
    f: &ScheduledFault,
    at: Instant,
    link: Option<(Node, Node)>,
) -> Result<ResolvedAction, ConfigError> {
    let extra_ms = f.extra_ms.ok_or_else(|| {
        ConfigError::invalid(format!("{key}.extra_ms"), "latency_spike needs extra_ms")
    })?;
    let extra = ms_to_duration(&format!("{key}.extra_ms"), extra_ms)?;
    let until_ms = f.until_ms.ok_or_else(|| {
        ConfigError::invalid(format!("{key}.until_ms"), "latency_spike needs until_ms")
    })?;
    let until = Instant::ZERO + ms_to_duration(&format!("{key}.until_ms"), until_ms)?;
    if until <= at {
        return Err(ConfigError::invalid(
            format!("{key}.until_ms"),
            format!("{until_ms} must be after at_ms {}", f.at_ms),
        ));
    }
    Ok(ResolvedAction::LatencySpike { link, extra, until })
}

/// The fault processes of one run.
#[derive(Clone, Debug)]
pub struct Faults {
    schedule: Vec<(Instant, ResolvedAction)>,
    crash_mean: Option<Duration>,
    restart_delay: Dist,
    max_down_brokers: u32,
    flap_mean: Option<Duration>,
    flap_duration: Dist,
    crash_streams: Vec<Stream>,
    flap_stream: Stream,
    randomly_down: Vec<BrokerId>,
    stopped: bool,
}

impl Faults {
    /// Validates `config` against `cluster` and seeds the streams `faults/crash/<b>` and
    /// `faults/flap`.
    pub fn new(
        config: &FaultsConfig,
        cluster: &ClusterConfig,
        streams: &RngStreams,
    ) -> Result<Faults, ConfigError> {
        let schedule = config.resolve(cluster)?;
        let r = &config.random;
        Ok(Faults {
            schedule,
            crash_mean: rate_mean(
                "faults.random.crash_rate_per_broker_per_s",
                r.crash_rate_per_broker_per_s,
            )?,
            restart_delay: r.restart_delay.to_dist("faults.random.restart_delay")?,
            max_down_brokers: r.max_down_brokers,
            flap_mean: rate_mean("faults.random.link_flap_rate_per_s", r.link_flap_rate_per_s)?,
            flap_duration: r
                .link_flap_duration
                .to_dist("faults.random.link_flap_duration")?,
            crash_streams: (0..cluster.brokers)
                .map(|b| streams.stream(&format!("faults/crash/{b}")))
                .collect(),
            flap_stream: streams.stream("faults/flap"),
            randomly_down: Vec::new(),
            stopped: false,
        })
    }

    /// The resolved scripted schedule.
    pub fn schedule(&self) -> &[(Instant, ResolvedAction)] {
        &self.schedule
    }

    /// Schedules the scripted faults and the first event of each random process.
    pub fn start<E: From<FaultEvent>>(&mut self, ctx: &mut Ctx<'_, E>) {
        for (index, &(at, _)) in self.schedule.iter().enumerate() {
            ctx.schedule_at(at.max(ctx.now()), E::from(FaultEvent::Scripted { index }));
        }
        if let Some(mean) = self.crash_mean {
            for b in 0..self.crash_streams.len() {
                let delay = self.crash_streams[b].exponential(mean);
                ctx.schedule_after(
                    delay,
                    E::from(FaultEvent::RandomCrash {
                        broker: BrokerId(b as u32),
                    }),
                );
            }
        }
        if let Some(mean) = self.flap_mean {
            let delay = self.flap_stream.exponential(mean);
            ctx.schedule_after(delay, E::from(FaultEvent::FlapStart));
        }
    }

    /// Ends every fault process: later fault events do nothing (used before settling).
    pub fn stop(&mut self) {
        self.stopped = true;
    }

    /// Applies one fault event.
    pub fn apply<E: From<FaultEvent> + From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        cluster: &mut Cluster,
        net: &mut Network,
        ev: FaultEvent,
    ) {
        if self.stopped {
            return;
        }
        match ev {
            FaultEvent::Scripted { index } => {
                let action = self.schedule[index].1;
                apply_action(ctx, cluster, net, action);
            }
            FaultEvent::RandomCrash { broker } => self.on_random_crash(ctx, cluster, net, broker),
            FaultEvent::RandomRestart { broker } => {
                self.randomly_down.retain(|&b| b != broker);
                apply_action(ctx, cluster, net, ResolvedAction::Restart(broker));
                if let Some(mean) = self.crash_mean {
                    let delay = self.crash_streams[broker.0 as usize].exponential(mean);
                    ctx.schedule_after(delay, E::from(FaultEvent::RandomCrash { broker }));
                }
            }
            FaultEvent::FlapStart => self.on_flap_start(ctx, net),
            FaultEvent::FlapEnd { a, b } => {
                apply_action(ctx, cluster, net, ResolvedAction::Heal(a, b))
            }
        }
    }

    fn on_random_crash<E: From<FaultEvent> + From<ClusterEvent> + From<NetEvent>>(
        &mut self,
        ctx: &mut Ctx<'_, E>,
        cluster: &mut Cluster,
        net: &mut Network,
        broker: BrokerId,
    ) {
        let Some(mean) = self.crash_mean else { return };
        let stream = &mut self.crash_streams[broker.0 as usize];
        if !cluster.is_alive(broker) || self.randomly_down.len() as u32 >= self.max_down_brokers {
            let delay = stream.exponential(mean);
            ctx.schedule_after(delay, E::from(FaultEvent::RandomCrash { broker }));
            return;
        }
        let restart_after = self.restart_delay.sample(stream);
        self.randomly_down.push(broker);
        ctx.trace("faults", "crash", |e| {
            e.with("broker", broker.0).with("random", true)
        });
        cluster.crash(ctx, broker);
        net.process_crash(ctx, broker);
        ctx.schedule_after(restart_after, E::from(FaultEvent::RandomRestart { broker }));
    }

    fn on_flap_start<E: From<FaultEvent>>(&mut self, ctx: &mut Ctx<'_, E>, net: &mut Network) {
        let Some(mean) = self.flap_mean else { return };
        let pairs = net.node_pairs();
        let (a, b) = pairs[self.flap_stream.below(pairs.len() as u64) as usize];
        let duration = self.flap_duration.sample(&mut self.flap_stream);
        ctx.trace("faults", "cut", |e| {
            e.with("a", node_label(a))
                .with("b", node_label(b))
                .with("random", true)
        });
        net.cut(a, b);
        ctx.schedule_after(duration, E::from(FaultEvent::FlapEnd { a, b }));
        let next = self.flap_stream.exponential(mean);
        ctx.schedule_after(next, E::from(FaultEvent::FlapStart));
    }
}

/// Applies one resolved action now.
pub fn apply_action<E: From<ClusterEvent> + From<NetEvent>>(
    ctx: &mut Ctx<'_, E>,
    cluster: &mut Cluster,
    net: &mut Network,
    action: ResolvedAction,
) {
    match action {
        ResolvedAction::Crash(b) => {
            ctx.trace("faults", "crash", |e| e.with("broker", b.0));
            let alive = cluster.is_alive(b);
            cluster.crash(ctx, b);
            if alive {
                net.process_crash(ctx, b);
            }
        }
        ResolvedAction::PowerOff(b) => {
            ctx.trace("faults", "power_off", |e| e.with("broker", b.0));
            let alive = cluster.is_alive(b);
            cluster.crash(ctx, b);
            if alive {
                net.power_off(b);
            }
        }
        ResolvedAction::Restart(b) => {
            ctx.trace("faults", "restart", |e| e.with("broker", b.0));
            net.restart(b);
            cluster.restart(ctx, net, b);
        }
        ResolvedAction::Shutdown(b) => {
            ctx.trace("faults", "shutdown", |e| e.with("broker", b.0));
            cluster.controlled_shutdown(ctx, net, b);
        }
        ResolvedAction::Reset(a, b) => {
            ctx.trace("faults", "reset", |e| {
                e.with("a", node_label(a)).with("b", node_label(b))
            });
            net.reset(ctx, a, b);
        }
        ResolvedAction::Blackhole(a, b) => {
            ctx.trace("faults", "blackhole", |e| {
                e.with("a", node_label(a)).with("b", node_label(b))
            });
            net.blackhole(a, b);
        }
        ResolvedAction::Cut(a, b) => {
            ctx.trace("faults", "cut", |e| {
                e.with("a", node_label(a)).with("b", node_label(b))
            });
            net.cut(a, b);
        }
        ResolvedAction::Fence(b) => {
            ctx.trace("faults", "fence", |e| e.with("broker", b.0));
            cluster.fence(ctx, b);
        }
        ResolvedAction::Unfence(b) => {
            ctx.trace("faults", "unfence", |e| e.with("broker", b.0));
            cluster.unfence(ctx, net, b);
        }
        ResolvedAction::Isolate(b) => {
            ctx.trace("faults", "isolate", |e| e.with("broker", b.0));
            set_broker_links(cluster, net, b, Network::cut);
            cluster.fence(ctx, b);
        }
        ResolvedAction::Rejoin(b) => {
            ctx.trace("faults", "rejoin", |e| e.with("broker", b.0));
            set_broker_links(cluster, net, b, Network::heal);
            cluster.unfence(ctx, net, b);
        }
        ResolvedAction::Heal(a, b) => {
            ctx.trace("faults", "heal", |e| {
                e.with("a", node_label(a)).with("b", node_label(b))
            });
            net.heal(a, b);
        }
        ResolvedAction::DropResponses(b, n, api) => {
            ctx.trace("faults", "drop_responses", |e| {
                e.with("broker", b.0).with("n", n).with("api", api.name())
            });
            net.drop_next_responses(b, n, api);
        }
        ResolvedAction::Error(b, error) => {
            ctx.trace("faults", "error", |e| {
                e.with("broker", b.0)
                    .with("error", error.error.name())
                    .with("n", error.requests)
            });
            cluster.inject_error(b, error);
        }
        ResolvedAction::DelayResponses(b, n, delay) => {
            ctx.trace("faults", "delay_responses", |e| {
                e.with("broker", b.0)
                    .with("n", n)
                    .with("delay_ns", delay.as_nanos())
            });
            cluster.delay_responses(b, n, delay);
        }
        ResolvedAction::LatencySpike { link, extra, until } => {
            ctx.trace("faults", "latency_spike", |e| {
                e.with("extra_ns", extra.as_nanos())
                    .with("until_ns", until.as_nanos())
            });
            let window = (ctx.now(), until);
            match link {
                Some((a, b)) => net.latency_spike(a, b, window, extra),
                None => {
                    for (a, b) in net.node_pairs() {
                        net.latency_spike(a, b, window, extra);
                    }
                }
            }
        }
    }
}

/// Cuts or heals every link between broker `b` and the other brokers.
fn set_broker_links(
    cluster: &Cluster,
    net: &mut Network,
    b: BrokerId,
    change: fn(&mut Network, Node, Node),
) {
    for other in (0..cluster.broker_count())
        .map(BrokerId)
        .filter(|&o| o != b)
    {
        change(net, Node::Broker(b), Node::Broker(other));
    }
}
