//! The generator of random experiment files: TOML text as a user writes it, from one seed.
//!
//! Every section and every key the file format knows is drawn: the Kafka keys of `[producer]`
//! (the modelled keys of the batching config key table, a test keeps the list equal to it),
//! every workload, arrival, key and value-size kind, clusters of 1 to 7 brokers and 1 to 200
//! partitions, every network key, every scripted fault action and the random fault processes,
//! `[run]` and, now and then, a `[sweep]`.
//!
//! ```text
//!   seed ──► Stream (sim::rng) ──► file kind: valid (5/6) | invalid (1/6)
//!                                     │
//!          per key: typical value | edge value (0, 1, MAX_INT, MAX_LONG, inf, nan, ...)
//!                   | a corruption (wrong type, out of range, unknown key), invalid files only
//!                                     ▼
//!                               Generated { text, kind, small_bound, keys }
//! ```
//!
//! Valid files are kept small on purpose (a short `duration_ms`, modest rates, a `records` cap
//! whenever a rate is an edge value), so that thousands of them run in minutes in a debug build;
//! the edge values are where the interesting failures are, not in sheer size.
//! The same seed always gives the same text: the generator reads only its own stream.

use std::fmt::Write as _;

use sim::rng::Stream;

/// Whether the generator meant the file to be accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// Only valid types and known keys (edge values may still be refused by range checks).
    Valid,
    /// At least one deliberate corruption: a wrong type, an unknown key or an out-of-range value.
    Invalid,
}

/// One generated experiment file.
#[derive(Clone, Debug)]
pub struct Generated {
    /// The seed that produced it.
    pub seed: u64,
    /// The TOML text.
    pub text: String,
    /// What the generator meant.
    pub kind: FileKind,
    /// The file sets `[run] max_events` to a small bound, so "bound reached" is a fair outcome.
    pub small_bound: bool,
    /// Every key the file writes (without section names), for checking error messages.
    pub keys: Vec<String>,
}

/// The largest `[run] max_events` that counts as a small bound the file set itself.
pub const SMALL_BOUND_MAX: u64 = 1_000_000;

/// Generates the experiment file of `seed`.
pub fn experiment_file(seed: u64) -> Generated {
    let mut g = Gen::new(seed);
    g.file();
    Generated {
        seed,
        text: g.out,
        kind: if g.corrupted {
            FileKind::Invalid
        } else {
            FileKind::Valid
        },
        small_bound: g.small_bound,
        keys: g.keys,
    }
}

/// The modelled `[producer]` keys and how their values are drawn, in key-table order.
pub const PRODUCER_KEYS: &[(&str, Kafka)] = &[
    ("acks", Kafka::Acks),
    ("enable.idempotence", Kafka::Bool),
    ("retries", Kafka::Int(0, 10)),
    ("delivery.timeout.ms", Kafka::Int(31_000, 130_000)),
    ("request.timeout.ms", Kafka::Int(100, 30_000)),
    ("linger.ms", Kafka::Int(0, 100)),
    ("batch.size", Kafka::Int(0, 262_144)),
    ("buffer.memory", Kafka::Int(16_384, 67_108_864)),
    ("max.block.ms", Kafka::Int(0, 60_000)),
    ("max.request.size", Kafka::Int(1_024, 2_097_152)),
    ("max.in.flight.requests.per.connection", Kafka::Int(1, 5)),
    ("retry.backoff.ms", Kafka::Int(0, 1_000)),
    ("retry.backoff.max.ms", Kafka::Int(0, 2_000)),
    ("reconnect.backoff.ms", Kafka::Int(0, 1_000)),
    ("reconnect.backoff.max.ms", Kafka::Int(0, 2_000)),
    (
        "socket.connection.setup.timeout.ms",
        Kafka::Int(1_000, 20_000),
    ),
    (
        "socket.connection.setup.timeout.max.ms",
        Kafka::Int(1_000, 40_000),
    ),
    (
        "compression.type",
        Kafka::Choice(&["none", "gzip", "snappy", "lz4", "zstd"]),
    ),
    ("compression.gzip.level", Kafka::Int(1, 9)),
    ("compression.lz4.level", Kafka::Int(1, 17)),
    ("compression.zstd.level", Kafka::Int(-131_072, 22)),
    (
        "partitioner.class",
        Kafka::Choice(&[
            "org.apache.kafka.clients.producer.RoundRobinPartitioner",
            "org.apache.kafka.clients.producer.internals.DefaultPartitioner",
            "org.apache.kafka.clients.producer.UniformStickyPartitioner",
        ]),
    ),
    ("partitioner.adaptive.partitioning.enable", Kafka::Bool),
    ("partitioner.availability.timeout.ms", Kafka::Int(0, 1_000)),
    ("partitioner.ignore.keys", Kafka::Bool),
    ("metadata.max.age.ms", Kafka::Int(0, 300_000)),
    ("metadata.max.idle.ms", Kafka::Int(5_000, 300_000)),
    ("transaction.timeout.ms", Kafka::Int(1_000, 900_000)),
    ("transactional.id", Kafka::Choice(&["fuzz-tx", "", "tx"])),
    ("send.buffer.bytes", Kafka::Int(-1, 131_072)),
    ("receive.buffer.bytes", Kafka::Int(-1, 131_072)),
    ("connections.max.idle.ms", Kafka::Int(-1, 540_000)),
    ("metrics.sample.window.ms", Kafka::Int(0, 30_000)),
    ("metrics.num.samples", Kafka::Int(1, 10)),
    ("enable.metrics.push", Kafka::Bool),
];

/// How a Kafka key's value is drawn.
#[derive(Clone, Copy, Debug)]
pub enum Kafka {
    /// `acks`: a string or the integer form.
    Acks,
    /// A boolean (also written as a string now and then, as Kafka accepts).
    Bool,
    /// An integer with a typical range.
    Int(i64, i64),
    /// One of these strings.
    Choice(&'static [&'static str]),
}

/// Integer edge values: Kafka's and Java's limits, then (drawn a quarter of the time) their
/// out-of-range neighbours.
const INT_EDGES: &[&str] = &["0", "1", "2147483647", "9223372036854775807"];
const INT_EDGES_OUTSIDE: &[&str] = &["-1", "2147483648", "-2147483648", "-9223372036854775808"];

/// Millisecond edge values of the simulator's float keys.
const MS_EDGES: &[&str] = &[
    "0",
    "0.0",
    "1e-9",
    "1e-6",
    "1",
    "-1",
    "-0.0",
    "1e300",
    "inf",
    "nan",
    "2147483647",
    "9.3e18",
];

/// Values of the wrong type, one of which replaces a value in an invalid file.
const WRONG_TYPES: &[&str] = &[
    "\"fast\"",
    "true",
    "1.5",
    "[1, 2]",
    "{ x = 1 }",
    "\"\"",
    "1979-05-27",
];

struct Gen {
    rng: Stream,
    out: String,
    keys: Vec<String>,
    /// Corruptions still to place (invalid files only).
    corruptions_left: u32,
    corrupted: bool,
    /// Edge values still to place: a few per file, so most files stay valid.
    edges_left: u32,
    small_bound: bool,
    brokers: u32,
    saturating: bool,
    /// `[run] duration_ms` will be an edge value (drawn before `[workload]`, which then caps
    /// the records so that a duration of days or of zero stays a small run).
    duration_edge: bool,
}

impl Gen {
    fn new(seed: u64) -> Gen {
        let mut rng = Stream::from_seed_u64(sim::rng::derive_seed(seed, "fuzz/gen"));
        let corruptions_left = if rng.below(6) == 0 {
            1 + u32::try_from(rng.below(2)).expect("below 2")
        } else {
            0
        };
        let edges_left = u32::try_from(rng.below(3)).expect("below 3");
        Gen {
            rng,
            out: String::new(),
            keys: Vec::new(),
            corruptions_left,
            corrupted: false,
            edges_left,
            small_bound: false,
            brokers: 3,
            saturating: false,
            duration_edge: false,
        }
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.rng.below(100) < percent
    }

    fn int(&mut self, lo: i64, hi: i64) -> i64 {
        let span = u64::try_from(hi - lo).expect("lo <= hi");
        lo + i64::try_from(self.rng.uniform_inclusive(0, span)).expect("span fits")
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        let len = u64::try_from(items.len()).expect("short list");
        items[usize::try_from(self.rng.below(len)).expect("index")]
    }

    fn float(&mut self, lo: f64, hi: f64) -> String {
        // Three significant decimals, as a user writes them.
        let x = lo + (hi - lo) * self.rng.unit_f64();
        let text = format!("{x:.3}");
        let text = text.trim_end_matches('0');
        if text.ends_with('.') {
            format!("{text}0")
        } else {
            text.to_owned()
        }
    }

    /// Whether to spend an edge value on the next value (`percent` of the time while any are left).
    fn edge(&mut self, percent: u64) -> bool {
        if self.edges_left > 0 && self.chance(percent) {
            self.edges_left -= 1;
            return true;
        }
        false
    }

    /// Whether to spend a corruption on the next value.
    fn corrupt_now(&mut self) -> bool {
        if self.corruptions_left > 0 && self.chance(6) {
            self.corruptions_left -= 1;
            self.corrupted = true;
            return true;
        }
        false
    }

    fn int_edge(&mut self) -> String {
        if self.chance(25) {
            self.pick(INT_EDGES_OUTSIDE).to_owned()
        } else {
            self.pick(INT_EDGES).to_owned()
        }
    }

    fn wrong_type(&mut self) -> String {
        self.pick(WRONG_TYPES).to_owned()
    }

    /// Writes `key = value`, quoting the key when it has dots; may rename the key (a typo).
    fn put(&mut self, key: &str, value: &str) {
        let written = if self.corrupt_now() {
            typo_of(key, self.rng.next_u64())
        } else {
            key.to_owned()
        };
        self.keys.push(written.clone());
        if written.contains('.') || written.is_empty() {
            let _ = writeln!(self.out, "\"{written}\" = {value}");
        } else {
            let _ = writeln!(self.out, "{written} = {value}");
        }
    }

    /// A simulator float in ms: typical, an edge (10%) or a corruption.
    fn ms(&mut self, lo: f64, hi: f64) -> String {
        if self.corrupt_now() {
            return self.wrong_type();
        }
        if self.edge(10) {
            return self.pick(MS_EDGES).to_owned();
        }
        self.float(lo, hi)
    }

    /// A simulator integer: typical, an edge (10%) or a corruption.
    fn count(&mut self, lo: i64, hi: i64) -> String {
        if self.corrupt_now() {
            return if self.chance(50) {
                self.wrong_type()
            } else {
                "-5".to_owned()
            };
        }
        if self.edge(10) {
            return self.int_edge();
        }
        self.int(lo, hi).to_string()
    }

    fn boolean(&mut self) -> String {
        if self.corrupt_now() {
            return self.pick(&["\"yes\"", "1", "\"true\""]).to_owned();
        }
        self.pick(&["true", "false"]).to_owned()
    }

    fn section(&mut self, header: &str) {
        let _ = writeln!(self.out, "\n[{header}]");
    }

    fn file(&mut self) {
        self.duration_edge = self.edge(8);
        if self.chance(10) {
            self.section("experiment");
            self.put("name", "\"fuzz\"");
            self.put("description", "\"a generated experiment\"");
        }
        if self.chance(85) {
            self.producer();
        }
        if self.duration_edge || self.chance(90) {
            self.workload();
        }
        if self.chance(80) {
            self.cluster();
        }
        if self.chance(60) {
            self.network();
        }
        if self.chance(55) {
            self.faults();
        }
        self.run();
        if self.chance(8) {
            self.sweep();
        }
        if self.corruptions_left > 0 {
            self.corrupt_at_end();
        }
    }

    /// Places a corruption the values did not: an unknown key, section or out-of-range value.
    fn corrupt_at_end(&mut self) {
        self.corrupted = true;
        self.corruptions_left = 0;
        match self.rng.below(4) {
            0 => {
                self.section("producer.extra");
                self.put_plain("lingr_ms", "5");
            }
            1 => {
                self.section("wrokload");
                self.put_plain("mode", "\"async\"");
            }
            2 => {
                self.section("cluster.more");
                self.put_plain("brokers", "-3");
            }
            _ => {
                self.section("run.more");
                self.put_plain("duration_ms", "\"ten seconds\"");
            }
        }
    }

    fn put_plain(&mut self, key: &str, value: &str) {
        self.keys.push(key.to_owned());
        let _ = writeln!(self.out, "{key} = {value}");
    }

    fn producer(&mut self) {
        self.section("producer");
        for &(key, kind) in PRODUCER_KEYS {
            // Keys whose every value draws a refusal or a warning are written less often.
            let percent = match key {
                "transactional.id" | "partitioner.class" | "compression.gzip.level" => 4,
                _ => 20,
            };
            if self.chance(percent) {
                let value = self.kafka_value(kind);
                self.put(key, &value);
            }
        }
        if self.chance(3) {
            let version = self.pick(&[
                "\"3.0\"", "\"3.3\"", "\"3.9\"", "\"4.0\"", "\"4.2\"", "\"2.8\"",
            ]);
            self.put("linger.kafka.version", version);
        }
        if self.chance(4) {
            let key = self.pick(&["client.id", "bootstrap.servers", "key.serializer"]);
            self.put(key, "\"fuzz\"");
        }
        if self.chance(1) {
            self.put("properties", "\"no-such-file.properties\"");
            self.corrupted = true;
        }
    }

    fn kafka_value(&mut self, kind: Kafka) -> String {
        if self.corrupt_now() {
            return self.wrong_type();
        }
        match kind {
            Kafka::Acks => self
                .pick(&["\"all\"", "\"-1\"", "\"0\"", "\"1\"", "0", "1", "-1"])
                .to_owned(),
            Kafka::Bool => self
                .pick(&["true", "false", "\"true\"", "\"FALSE\""])
                .to_owned(),
            Kafka::Int(lo, hi) => {
                if self.edge(15) {
                    self.int_edge()
                } else if self.chance(10) {
                    // Kafka parses numbers written as strings too.
                    format!("\"{}\"", self.int(lo, hi))
                } else {
                    self.int(lo, hi).to_string()
                }
            }
            Kafka::Choice(choices) => format!("\"{}\"", self.pick(choices)),
        }
    }
}

impl Gen {
    fn workload(&mut self) {
        self.section("workload");
        if self.chance(70) {
            let mode = self.pick(&["\"async\"", "\"async\"", "\"sync\""]);
            self.put("mode", mode);
        }
        let edge_rate = self.arrivals();
        if self.chance(50) {
            let keys = self.keys_value();
            self.put("keys", &keys);
        }
        if self.chance(60) {
            let value = self.value_bytes();
            self.put("value_bytes", &value);
        }
        if self.saturating || self.chance(15) {
            let cpu = if self.saturating && !self.edge(20) {
                self.float(0.001, 0.05)
            } else {
                self.ms(0.0, 0.05)
            };
            self.put("send_cpu_ms", &cpu);
        }
        if self.chance(15) {
            let flush = self.ms(0.0, 50.0);
            self.put("flush_every_ms", &flush);
        }
        let capped = edge_rate || self.duration_edge;
        if capped || self.chance(20) {
            // A rate or a duration at an edge runs only as long as a records cap allows.
            let records = if capped {
                self.int(1, 3_000).to_string()
            } else {
                self.count(0, 5_000)
            };
            self.put("records", &records);
        }
    }

    /// Writes `arrivals`; returns whether its rate (an edge value, saturation, or the default
    /// 100,000 records/s when absent) needs a records cap.
    fn arrivals(&mut self) -> bool {
        if !self.chance(85) {
            return true;
        }
        let (rate, edge) = if self.edge(12) {
            let rate = self.pick(&[
                "0.0", "1e-9", "0.5", "1e9", "2e9", "1e300", "inf", "nan", "-1.0",
            ]);
            (rate.to_owned(), true)
        } else {
            (self.float(1.0, 20_000.0), false)
        };
        let value = match self.rng.below(5) {
            0 => format!("{{ kind = \"constant\", per_sec = {rate} }}"),
            1 => format!("{{ kind = \"poisson\", per_sec = {rate} }}"),
            2 => {
                let on = self.ms(1.0, 100.0);
                let off = self.ms(0.0, 100.0);
                format!("{{ kind = \"on_off\", per_sec = {rate}, on_ms = {on}, off_ms = {off} }}")
            }
            3 => return self.saturate(),
            _ => format!("{{ kind = \"constant\", per_sec = {rate} }}"),
        };
        let value = if self.corrupt_now() {
            value.replacen("kind = ", "knd = ", 1)
        } else {
            value
        };
        self.put("arrivals", &value);
        edge
    }

    fn saturate(&mut self) -> bool {
        self.saturating = true;
        self.put("arrivals", "{ kind = \"saturate\" }");
        true
    }

    fn keys_value(&mut self) -> String {
        match self.rng.below(4) {
            0 => "{ kind = \"none\" }".to_owned(),
            1 => format!("{{ kind = \"uniform\", count = {} }}", self.count(1, 1_000)),
            2 => {
                let count = self.count(1, 1_000);
                let s = if self.edge(10) {
                    self.pick(&["0.0", "-1.0", "nan", "inf", "1e300"])
                        .to_owned()
                } else {
                    self.float(0.1, 2.5)
                };
                format!("{{ kind = \"zipf\", count = {count}, s = {s} }}")
            }
            _ => format!("{{ kind = \"uniform\", count = {} }}", self.count(1, 16)),
        }
    }

    fn value_bytes(&mut self) -> String {
        match self.rng.below(4) {
            0 | 1 => {
                if self.edge(10) {
                    self.pick(&["0", "1", "1000000", "4294967295", "4294967296", "-1"])
                        .to_owned()
                } else {
                    self.count(1, 4_096)
                }
            }
            2 => {
                let min = self.count(0, 512);
                let max = self.count(512, 4_096);
                format!("{{ dist = \"uniform\", min = {min}, max = {max} }}")
            }
            _ => format!(
                "{{ dist = \"exponential\", mean = {} }}",
                self.count(1, 2_048)
            ),
        }
    }
}

impl Gen {
    fn cluster(&mut self) {
        self.section("cluster");
        let brokers = if self.edge(5) {
            self.pick(&["0", "-1", "100", "4294967296"]).to_owned()
        } else {
            self.int(1, 7).to_string()
        };
        self.brokers = brokers
            .parse::<u32>()
            .ok()
            .filter(|b| (1..=7).contains(b))
            .unwrap_or(3);
        self.put("brokers", &brokers);
        if self.chance(80) {
            let partitions = if self.edge(5) {
                // Far larger clusters are valid but take wall-clock minutes per run.
                self.pick(&["0", "201", "1000"]).to_owned()
            } else {
                self.int(1, 200).to_string()
            };
            self.put("partitions", &partitions);
        }
        let b = i64::from(self.brokers);
        let above = i64::from(self.edge(5));
        let rf = self.int(1, b + above);
        // Both or neither: the defaults of one need not fit the other's value.
        if self.chance(80) {
            self.put("replication_factor", &rf.to_string());
            let above = i64::from(self.edge(5));
            let min_isr = self.int(1, rf + above);
            self.put("min.insync.replicas", &min_isr.to_string());
        }
        self.cluster_broker_keys();
    }

    fn cluster_broker_keys(&mut self) {
        const MS_KEYS: &[(&str, f64, f64)] = &[
            ("replica.lag.time.max.ms", 100.0, 30_000.0),
            ("replica.fetch.wait.max.ms", 0.0, 500.0),
            ("replica.fetch.backoff.ms", 0.0, 1_000.0),
            ("replica.socket.timeout.ms", 100.0, 30_000.0),
            ("broker_session_timeout_ms", 1.0, 10_000.0),
            ("broker_heartbeat_interval_ms", 0.1, 2_000.0),
            ("metadata_propagation_delay_ms", 0.0, 1_000.0),
            ("append_cost_per_byte_ns", 0.0, 5.0),
        ];
        for &(key, lo, hi) in MS_KEYS {
            if self.chance(15) {
                let value = self.ms(lo, hi);
                self.put(key, &value);
            }
        }
        if self.chance(15) {
            let value = self.boolean();
            self.put("unclean.leader.election.enable", &value);
        }
        if self.chance(10) {
            let value = self.boolean();
            self.put("hw_frozen_under_min_isr", &value);
        }
        if self.chance(15) {
            let value = self.count(1_024, 2_097_152);
            self.put("max.message.bytes", &value);
        }
        if self.chance(15) {
            let value = self.count(0, 100_000);
            self.put("append_cost_per_batch_ns", &value);
        }
        if self.chance(15) {
            let value = self.ms(0.0, 1_000.0);
            self.put("alter_partition_round_trip_ms", &value);
        }
    }

    /// A latency distribution, as an inline table.
    fn dist(&mut self, lo: f64, hi: f64) -> String {
        let a = self.ms(lo, hi);
        match self.rng.below(5) {
            0 => format!("{{ dist = \"constant\", ms = {a} }}"),
            1 => {
                let b = self.ms(lo, hi * 2.0);
                format!("{{ dist = \"uniform\", lo_ms = {a}, hi_ms = {b} }}")
            }
            2 => {
                let b = self.ms(0.0, hi);
                format!("{{ dist = \"normal\", mean_ms = {a}, std_dev_ms = {b} }}")
            }
            3 => {
                let sigma = if self.edge(10) {
                    self.pick(&["0.0", "10.0", "50.0", "-1.0", "nan"])
                        .to_owned()
                } else {
                    self.float(0.0, 1.5)
                };
                format!("{{ dist = \"lognormal\", median_ms = {a}, sigma = {sigma} }}")
            }
            _ => format!("{{ dist = \"exponential\", mean_ms = {a} }}"),
        }
    }

    fn probability(&mut self) -> String {
        if self.corrupt_now() {
            return self.pick(&["1.5", "-0.1", "\"often\""]).to_owned();
        }
        if self.edge(10) {
            return self.pick(&["0.0", "1.0", "0.5", "nan", "1e-12"]).to_owned();
        }
        self.float(0.0, 0.05)
    }

    fn node(&mut self) -> String {
        if self.edge(3) {
            return self
                .pick(&["\"broker99\"", "\"zookeeper\"", "\"b-1\""])
                .to_owned();
        }
        let index = self.rng.below(u64::from(self.brokers) + 1);
        if index == u64::from(self.brokers) {
            "\"client\"".to_owned()
        } else if self.chance(20) {
            format!("\"b{index}\"")
        } else {
            format!("\"broker{index}\"")
        }
    }

    fn link(&mut self) -> String {
        let from = self.node();
        let mut to = self.node();
        if to == from && !self.edge(10) {
            to = if from == "\"client\"" {
                "\"broker0\"".to_owned()
            } else {
                "\"client\"".to_owned()
            };
        }
        format!("[{from}, {to}]")
    }

    fn network(&mut self) {
        self.section("network");
        if self.chance(60) {
            let latency = self.dist(0.05, 5.0);
            self.put("latency", &latency);
        }
        if self.chance(20) {
            let bandwidth = if self.edge(15) {
                self.pick(&["0", "1", "9223372036854775807"]).to_owned()
            } else {
                self.int(1_000_000, 10_000_000_000).to_string()
            };
            self.put("bandwidth_bytes_per_s", &bandwidth);
        }
        for key in ["request_loss", "response_loss"] {
            if self.chance(20) {
                let p = self.probability();
                self.put(key, &p);
            }
        }
        if self.chance(15) {
            let retries = self.count(1, 15);
            self.put("tcp_retries2", &retries);
        }
        if self.chance(10) {
            let rto = self.ms(1.0, 1000.0);
            self.put("tcp_rto_min_ms", &rto);
        }
        if self.chance(20) {
            let links = self.links();
            self.put("links", &links);
        }
    }

    fn links(&mut self) -> String {
        let count = 1 + self.rng.below(3);
        let mut entries = Vec::new();
        for _ in 0..count {
            let mut fields = vec![format!("link = {}", self.link())];
            if self.chance(50) {
                fields.push(format!("latency = {}", self.dist(0.05, 20.0)));
            }
            if self.chance(30) {
                fields.push(format!(
                    "bandwidth_bytes_per_s = {}",
                    self.int(1_000, 1_000_000_000)
                ));
            }
            if self.chance(30) {
                fields.push(format!("request_loss = {}", self.probability()));
            }
            if self.chance(30) {
                fields.push(format!("response_loss = {}", self.probability()));
            }
            entries.push(format!("{{ {} }}", fields.join(", ")));
        }
        format!("[{}]", entries.join(", "))
    }
}

impl Gen {
    fn faults(&mut self) {
        if self.chance(75) {
            self.schedule();
        }
        if self.chance(40) {
            self.random_faults();
        }
    }

    fn broker_index(&mut self) -> String {
        if self.edge(3) {
            return self.pick(&["-1", "7", "4294967296"]).to_owned();
        }
        self.rng.below(u64::from(self.brokers)).to_string()
    }

    /// `[[faults.schedule]]` entries in time order, with every action.
    fn schedule(&mut self) {
        const ACTIONS: &[&str] = &[
            "crash",
            "power_off",
            "restart",
            "cut",
            "heal",
            "reset",
            "blackhole",
            "drop_responses",
            "latency_spike",
            "fence",
            "unfence",
            "isolate",
            "rejoin",
            "shutdown",
        ];
        let count = 1 + self.rng.below(6);
        let mut at_ms = 0.0_f64;
        for _ in 0..count {
            // Written `[[faults.schedule]]`: an array of tables.
            self.section("[faults.schedule]");
            at_ms += f64::from(u32::try_from(self.rng.below(150)).expect("small"));
            let at = if self.edge(8) {
                self.pick(MS_EDGES).to_owned()
            } else {
                format!("{at_ms:.1}")
            };
            self.put("at_ms", &at);
            let action = self.pick(ACTIONS);
            self.put("action", &format!("\"{action}\""));
            self.fault_fields(action, at_ms);
        }
    }

    fn fault_fields(&mut self, action: &str, at_ms: f64) {
        match action {
            "cut" | "heal" | "reset" | "blackhole" => {
                let link = self.link();
                self.put("link", &link);
            }
            "drop_responses" => {
                let broker = self.broker_index();
                self.put("broker", &broker);
                let n = self.count(1, 20);
                self.put("n", &n);
            }
            "latency_spike" => {
                if self.chance(50) {
                    let link = self.link();
                    self.put("link", &link);
                }
                let extra = self.ms(0.0, 200.0);
                self.put("extra_ms", &extra);
                let until = if self.edge(10) {
                    self.pick(MS_EDGES).to_owned()
                } else {
                    format!("{:.1}", at_ms + 100.0)
                };
                self.put("until_ms", &until);
            }
            _ => {
                let broker = self.broker_index();
                self.put("broker", &broker);
            }
        }
        if self.corrupt_now() {
            // A field that does not belong to the action.
            if action == "drop_responses" {
                self.put("extra_ms", "3.0");
            } else {
                self.put("n", "3");
            }
        }
    }

    fn random_faults(&mut self) {
        self.section("faults.random");
        if self.chance(70) {
            let rate = self.ms(0.0, 5.0);
            self.put("crash_rate_per_broker_per_s", &rate);
        }
        if self.chance(40) {
            let delay = self.dist(0.0, 200.0);
            self.put("restart_delay", &delay);
        }
        if self.chance(40) {
            let down = self.count(0, i64::from(self.brokers) - 1);
            self.put("max_down_brokers", &down);
        }
        if self.chance(60) {
            let rate = self.ms(0.0, 20.0);
            self.put("link_flap_rate_per_s", &rate);
        }
        if self.chance(40) {
            let duration = self.dist(0.0, 100.0);
            self.put("link_flap_duration", &duration);
        }
    }

    fn run(&mut self) {
        self.section("run");
        let duration = if self.duration_edge {
            self.pick(MS_EDGES).to_owned()
        } else if self.corrupt_now() {
            self.wrong_type()
        } else {
            self.float(1.0, 300.0)
        };
        self.put("duration_ms", &duration);
        if self.chance(70) {
            let drain = self.ms(0.0, 3_000.0);
            self.put("drain_ms", &drain);
        }
        if self.chance(70) {
            let settle = self.ms(0.0, 3_000.0);
            self.put("settle_ms", &settle);
        }
        if self.chance(10) {
            let bound = self.int(1, 200_000);
            self.small_bound = bound <= i64::try_from(SMALL_BOUND_MAX).expect("fits");
            self.put("max_events", &bound.to_string());
        } else if self.chance(3) {
            let bound = self.pick(&["0", "9223372036854775807", "-1"]);
            self.put("max_events", bound);
        }
        if self.chance(30) {
            let seed = if self.edge(10) {
                self.pick(&["0", "-1", "9223372036854775807"]).to_owned()
            } else {
                self.int(0, 1_000_000).to_string()
            };
            self.put("seed", &seed);
        }
        if self.chance(20) {
            let replicates = self.count(1, 5);
            self.put("replicates", &replicates);
        }
    }

    /// A `[sweep]` with one or two axes over keys the file format knows.
    fn sweep(&mut self) {
        self.section("sweep");
        if self.chance(30) {
            let on_invalid = self.pick(&["\"fail\"", "\"record\""]);
            self.put("on_invalid", on_invalid);
        }
        match self.rng.below(4) {
            0 => self.put("producer.linger.ms", "[0, 5, 50]"),
            1 => self.put(
                "producer.batch.size",
                "{ from = 16384, to = 65536, times = 2 }",
            ),
            2 => self.put(
                "workload.arrivals.per_sec",
                "{ from = 100, to = 1000, step = 300 }",
            ),
            _ => self.put("cluster.min.insync.replicas", "[1, 2]"),
        }
        if self.chance(30) {
            self.put("producer.acks", "[\"0\", \"1\", \"all\"]");
        }
    }
}

/// A near-miss of `key`: one character dropped, doubled or swapped, as a user mistypes.
fn typo_of(key: &str, draw: u64) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() < 3 {
        return format!("{key}x");
    }
    let at = 1 + usize::try_from(draw % (chars.len() as u64 - 2)).expect("index");
    let mut typo = chars.clone();
    match (draw >> 32) % 3 {
        0 => {
            typo.remove(at);
        }
        1 => typo.insert(at, chars[at]),
        _ => typo.swap(at, at + 1),
    }
    let typo: String = typo.into_iter().collect();
    if typo == key { format!("{key}s") } else { typo }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_file() {
        for seed in 0..50 {
            assert_eq!(experiment_file(seed).text, experiment_file(seed).text);
        }
    }

    #[test]
    fn every_file_is_toml() {
        for seed in 0..3_000 {
            let generated = experiment_file(seed);
            if let Err(error) = generated.text.parse::<toml::Table>() {
                panic!("seed {seed}: {error}\n{}", generated.text);
            }
        }
    }

    #[test]
    fn producer_keys_are_the_key_table() {
        let resolved = models::batching::config::ProducerConfig::from_entries(
            models::batching::config::KafkaVersion::default(),
            Vec::<models::batching::config::ConfigEntry>::new(),
        )
        .expect("defaults are valid");
        let table: Vec<&str> = resolved
            .effective_listing()
            .iter()
            .map(|entry| entry.key)
            .filter(|key| *key != models::batching::config::KAFKA_VERSION_KEY)
            .collect();
        let ours: Vec<&str> = PRODUCER_KEYS.iter().map(|(key, _)| *key).collect();
        assert_eq!(ours, table);
    }

    #[test]
    fn both_kinds_and_small_bounds_occur() {
        let files: Vec<Generated> = (0..400).map(experiment_file).collect();
        let invalid = files.iter().filter(|f| f.kind == FileKind::Invalid).count();
        assert!((40..200).contains(&invalid), "{invalid} invalid of 400");
        assert!(files.iter().any(|f| f.small_bound));
        assert!(files.iter().any(|f| f.text.contains("[sweep]")));
        assert!(files.iter().any(|f| f.text.contains("[[faults.schedule]]")));
    }

    #[test]
    fn typos_differ_from_the_key() {
        for draw in 0..100 {
            assert_ne!(typo_of("linger.ms", draw), "linger.ms");
        }
    }
}
