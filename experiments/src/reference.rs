//! The key reference: every section and key of an experiment file, with its type, unit,
//! default, allowed values and an example, behind `linger keys [SECTION]` and `docs/keys.md`.
//!
//! ```text
//!   SIMULATOR_KEYS (this table) ──┐
//!   allowed::allowed (the texts type errors use) ──┼──► entries() ──► text() / markdown()
//!   batching's effective listing (producer defaults) + PRODUCER_DOCS ──┘
//! ```
//!
//! The table cannot drift from the parser: `tests/key_reference.rs` asks the parser for the
//! keys of every table it reads (its "allowed keys" answer to an unknown key) and compares them
//! with this table both ways, parses every example, and checks every default against the
//! configuration an empty section gives; the producer keys come from the batching core's own
//! key table, and a test checks that each has its documentation here. The allowed values are
//! the very texts the error messages print ([`crate::allowed`]) wherever those know the key.

use batching::config::{KafkaVersion, ProducerConfig};

/// One key of the reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyDoc {
    /// The section (`workload`, `producer`, ...), or `distribution` for the keys every
    /// latency-like table takes.
    pub section: &'static str,
    /// The key within its section: `brokers`, `arrivals.per_sec`, `schedule[].at_ms` (`[]`: in
    /// every entry of a list of tables).
    pub key: &'static str,
    /// What kind of value: a whole number, a number, text, true or false, a table, ...
    pub kind: &'static str,
    /// The unit, or empty.
    pub unit: &'static str,
    /// The default as TOML, or a sentence when there is none ("required", "none: ...").
    pub default: String,
    /// The values allowed, in words.
    pub allowed: String,
    /// A line that sets the key, written directly under the section's header (`[network]` for
    /// a distribution's keys).
    pub example: String,
    /// What the key does.
    pub doc: &'static str,
    /// For a key inside a tagged table (`arrivals`, `keys`, a distribution, a fault action),
    /// the tags it belongs to; empty when it applies whatever the tag.
    pub variants: &'static [&'static str],
}

/// The sections, in the order the reference lists them, with one line each.
pub const SECTIONS: [(&str, &str); 10] = [
    ("experiment", "optional name and description"),
    (
        "producer",
        "Kafka producer keys verbatim (quoted: they contain dots), or a properties file",
    ),
    (
        "workload",
        "what the application sends: arrivals, keys, value sizes, send mode",
    ),
    (
        "cluster",
        "brokers, the topic's partitions and replication, broker timings and costs",
    ),
    (
        "network",
        "latency, bandwidth and loss of every link, per-link overrides, TCP retransmission",
    ),
    ("faults", "scripted faults and random fault processes"),
    (
        "run",
        "seed, replicates, the send phase's length and the run's bounds",
    ),
    (
        "sweep",
        "axes over any key of any section, and what to do with rejected points",
    ),
    (
        "distribution",
        "the keys of every latency-like table (network.latency, faults.random.restart_delay, ...)",
    ),
    (
        "not simulated",
        "keys of the producer's ecosystem linger accepts in [producer] and ignores",
    ),
];

/// A simulator key written in the table below: `(section, key, kind, unit, default, allowed,
/// example, doc, variants)`; an empty `allowed` takes the error messages' text.
type Row = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
);

const RATE_KINDS: &[&str] = &["constant", "poisson", "on_off"];
const DIST_WITH_MEAN: &[&str] = &["normal", "exponential"];
const BROKER_ACTIONS: &[&str] = &[
    "crash",
    "power_off",
    "restart",
    "shutdown",
    "drop_responses",
    "error",
    "delay_responses",
    "fence",
    "unfence",
    "isolate",
    "rejoin",
];
const LINK_ACTIONS: &[&str] = &["cut", "heal", "reset", "blackhole", "latency_spike"];

/// Every simulator key (all sections but `[producer]`, whose keys are Kafka's).
const SIMULATOR_KEYS: &[Row] = &[
    (
        "experiment",
        "name",
        "text",
        "",
        "the file's stem",
        "any text",
        "name = \"linger-batch\"",
        "the experiment's name, in result directories and reports",
        &[],
    ),
    (
        "experiment",
        "description",
        "text",
        "",
        "\"\"",
        "any text",
        "description = \"linger.ms x batch.size at 50k records/s\"",
        "one line about the experiment, shown by `linger list` and reports",
        &[],
    ),
    (
        "producer",
        "properties",
        "text (a path)",
        "",
        "none",
        "the path of a Java properties file, relative to the experiment file",
        "properties = \"producer.properties\"",
        "loads a producer.properties file first; keys in [producer] override it",
        &[],
    ),
    (
        "producer",
        "linger.kafka.version",
        "text",
        "",
        "\"4.0\"",
        "\"3.0\" to \"3.9\", \"4.0\" to \"4.2\", or \"3.0.0\" / \"3.1.0\" for those releases",
        "\"linger.kafka.version\" = \"3.9\"",
        "the Kafka release whose producer defaults and rules apply (linger's own key, not Kafka's)",
        &[],
    ),
    (
        "workload",
        "mode",
        "text",
        "",
        "\"async\"",
        "",
        "mode = \"sync\"",
        "async: send(record, callback) at the arrival times; sync: send().get(), the next send waits for this record's outcome (closed loop)",
        &[],
    ),
    (
        "workload",
        "arrivals",
        "table",
        "",
        "{ kind = \"constant\", per_sec = 100000 }",
        "",
        "arrivals = { kind = \"poisson\", per_sec = 50000 }",
        "when records arrive at the application thread (async mode)",
        &[],
    ),
    (
        "workload",
        "arrivals.kind",
        "text",
        "",
        "\"constant\"",
        "\"constant\", \"poisson\", \"on_off\" or \"saturate\" (as fast as send() returns; needs send_cpu_ms > 0 in async mode)",
        "arrivals = { kind = \"poisson\", per_sec = 20000 }",
        "the arrival process",
        &[],
    ),
    (
        "workload",
        "arrivals.per_sec",
        "number",
        "records/s",
        "100000",
        "",
        "arrivals = { kind = \"constant\", per_sec = 50000 }",
        "the offered rate (for on_off: while on)",
        RATE_KINDS,
    ),
    (
        "workload",
        "arrivals.on_ms",
        "number",
        "ms",
        "required",
        "",
        "arrivals = { kind = \"on_off\", per_sec = 50000, on_ms = 100, off_ms = 900 }",
        "length of an on period (above 0)",
        &["on_off"],
    ),
    (
        "workload",
        "arrivals.off_ms",
        "number",
        "ms",
        "required",
        "",
        "arrivals = { kind = \"on_off\", per_sec = 50000, on_ms = 100, off_ms = 900 }",
        "length of an off period",
        &["on_off"],
    ),
    (
        "workload",
        "keys",
        "table",
        "",
        "{ kind = \"none\" }",
        "",
        "keys = { kind = \"uniform\", count = 1000 }",
        "which keys the records carry (key-<k>); none lets the built-in sticky partitioner choose",
        &[],
    ),
    (
        "workload",
        "keys.kind",
        "text",
        "",
        "\"none\"",
        "\"none\", \"uniform\" or \"zipf\"",
        "keys = { kind = \"zipf\", count = 1000, s = 1.1 }",
        "how keys are drawn",
        &[],
    ),
    (
        "workload",
        "keys.count",
        "whole number",
        "keys",
        "required",
        "",
        "keys = { kind = \"uniform\", count = 1000 }",
        "number of distinct keys",
        &["uniform", "zipf"],
    ),
    (
        "workload",
        "keys.s",
        "number",
        "",
        "required",
        "",
        "keys = { kind = \"zipf\", count = 1000, s = 1.1 }",
        "the Zipf exponent",
        &["zipf"],
    ),
    (
        "workload",
        "value_bytes",
        "whole number or table",
        "bytes",
        "512",
        "",
        "value_bytes = 1024",
        "the size of each record's value: a constant, or { dist = \"uniform\", min, max } or { dist = \"exponential\", mean }",
        &[],
    ),
    (
        "workload",
        "value_bytes.dist",
        "text",
        "",
        "none (a constant)",
        "",
        "value_bytes = { dist = \"uniform\", min = 100, max = 2000 }",
        "the value size distribution",
        &[],
    ),
    (
        "workload",
        "value_bytes.min",
        "whole number",
        "bytes",
        "required",
        "",
        "value_bytes = { dist = \"uniform\", min = 100, max = 2000 }",
        "smallest value size",
        &["uniform"],
    ),
    (
        "workload",
        "value_bytes.max",
        "whole number",
        "bytes",
        "required",
        "",
        "value_bytes = { dist = \"uniform\", min = 100, max = 2000 }",
        "largest value size",
        &["uniform"],
    ),
    (
        "workload",
        "value_bytes.mean",
        "whole number",
        "bytes",
        "required",
        "",
        "value_bytes = { dist = \"exponential\", mean = 800 }",
        "mean value size (at least 1 byte each)",
        &["exponential"],
    ),
    (
        "workload",
        "send_cpu_ms",
        "number",
        "ms",
        "0",
        "",
        "send_cpu_ms = 0.002",
        "CPU time of one send() call on the application thread",
        &[],
    ),
    (
        "workload",
        "flush_every_ms",
        "number",
        "ms",
        "0",
        "0 (no periodic flush) or from 0.1 ms",
        "flush_every_ms = 100",
        "the application calls flush() this often",
        &[],
    ),
    (
        "workload",
        "commit_every_records",
        "whole number",
        "records",
        "absent",
        "1 ..= 10000000000 (needs a transactional.id)",
        "commit_every_records = 1000",
        "a transactional producer commits once its transaction holds this many records",
        &[],
    ),
    (
        "workload",
        "commit_every_ms",
        "number",
        "ms",
        "100 (when neither commit key is given)",
        "from 0.1 ms (needs a transactional.id)",
        "commit_every_ms = 100",
        "a transactional producer commits at its first send once its transaction has been open this long",
        &[],
    ),
    (
        "workload",
        "records",
        "whole number",
        "records",
        "0",
        "",
        "records = 100000",
        "stop sending after this many records (0: no limit; [run] duration_ms still applies)",
        &[],
    ),
    (
        "workload",
        "end",
        "text",
        "",
        "\"flush\"",
        "",
        "end = \"close\"",
        "how the main thread ends after its last send(): flush (the producer stays open), close (close(), or close(Duration) with close_timeout_ms: queued batches are sent and answered, then a forced close fails what is left), or exit (main returns without flush or close: what is queued is never sent and no callback runs)",
        &[],
    ),
    (
        "workload",
        "close_timeout_ms",
        "number",
        "ms",
        "none (close() waits as long as it takes)",
        "above 0; only with end = \"close\"",
        "end = \"close\"\nclose_timeout_ms = 50",
        "the timeout of close(Duration)",
        &[],
    ),
    (
        "workload",
        "values",
        "table",
        "",
        "{ kind = \"random\" }",
        "",
        "values = { kind = \"json\", fields = 8 }",
        "what the record values look like: the bytes a codec measures its compression ratio on at set-up",
        &[],
    ),
    (
        "workload",
        "values.kind",
        "text",
        "",
        "\"random\"",
        "\"random\" (incompressible bytes), \"text\" (English-like words), \"json\" (objects with a mix of field kinds) or \"file\" (sample values, one per line)",
        "values = { kind = \"text\" }",
        "the kind of values",
        &[],
    ),
    (
        "workload",
        "values.fields",
        "whole number",
        "fields",
        "8",
        "",
        "values = { kind = \"json\", fields = 12 }",
        "fields per JSON object",
        &["json"],
    ),
    (
        "workload",
        "values.path",
        "text",
        "",
        "required",
        "",
        "values = { kind = \"file\", path = \"values.txt\" }",
        "the file of sample values (each cut or repeated to the value size)",
        &["file"],
    ),
    (
        "workload",
        "compression",
        "table",
        "",
        "{ speed_factor = 1, sample_kib = 256 }",
        "",
        "compression = { speed_factor = 2.0 }",
        "where the codec's ratio and speeds come from: measured ratio and reference speeds by default",
        &[],
    ),
    (
        "workload",
        "compression.speed_factor",
        "number",
        "",
        "1",
        "",
        "compression = { speed_factor = 0.5 }",
        "multiplies the reference speeds (2: a core twice as fast)",
        &[],
    ),
    (
        "workload",
        "compression.ratio",
        "number",
        "",
        "none (measured on the values at set-up)",
        "",
        "compression = { ratio = 0.4 }",
        "compressed over uncompressed bytes, instead of measuring",
        &[],
    ),
    (
        "workload",
        "compression.compress_mb_per_sec",
        "number",
        "MB/s",
        "none (the reference table)",
        "",
        "compression = { compress_mb_per_sec = 400 }",
        "compression speed on one core, of uncompressed input, instead of the table",
        &[],
    ),
    (
        "workload",
        "compression.decompress_mb_per_sec",
        "number",
        "MB/s",
        "none (the reference table)",
        "",
        "compression = { decompress_mb_per_sec = 1500 }",
        "decompression speed on one core, of uncompressed output, instead of the table",
        &[],
    ),
    (
        "workload",
        "compression.calibration",
        "text",
        "",
        "none",
        "",
        "compression = { calibration = \"speeds.txt\" }",
        "speeds from a file written by linger calibrate compression, for the codecs it lists (speed_factor still applies)",
        &[],
    ),
    (
        "workload",
        "compression.sample_kib",
        "whole number",
        "KiB",
        "256",
        "",
        "compression = { sample_kib = 64 }",
        "size of the sample the ratio is measured on",
        &[],
    ),
    (
        "cluster",
        "brokers",
        "whole number",
        "brokers",
        "3",
        "",
        "brokers = 5",
        "number of brokers",
        &[],
    ),
    (
        "cluster",
        "partitions",
        "whole number",
        "partitions",
        "6",
        "",
        "partitions = 12",
        "partitions of the one topic (partitions x replication_factor at most 10^6)",
        &[],
    ),
    (
        "cluster",
        "replication_factor",
        "whole number",
        "replicas",
        "3",
        "",
        "replication_factor = 3",
        "replicas per partition",
        &[],
    ),
    (
        "cluster",
        "min.insync.replicas",
        "whole number",
        "replicas",
        "2",
        "",
        "\"min.insync.replicas\" = 2",
        "Kafka's min.insync.replicas (Kafka's default is 1; linger's default cluster uses 2)",
        &[],
    ),
    (
        "cluster",
        "unclean.leader.election.enable",
        "true or false",
        "",
        "false",
        "",
        "\"unclean.leader.election.enable\" = true",
        "Kafka's unclean.leader.election.enable",
        &[],
    ),
    (
        "cluster",
        "replica.lag.time.max.ms",
        "number",
        "ms",
        "30000",
        "",
        "\"replica.lag.time.max.ms\" = 10000",
        "Kafka's replica.lag.time.max.ms: a follower this far behind leaves the ISR",
        &[],
    ),
    (
        "cluster",
        "replica.fetch.wait.max.ms",
        "number",
        "ms",
        "500",
        "",
        "\"replica.fetch.wait.max.ms\" = 100",
        "how long a leader parks an empty follower fetch",
        &[],
    ),
    (
        "cluster",
        "replica.fetch.backoff.ms",
        "number",
        "ms",
        "1000",
        "",
        "\"replica.fetch.backoff.ms\" = 500",
        "a follower's pause after a failed fetch",
        &[],
    ),
    (
        "cluster",
        "replica.socket.timeout.ms",
        "number",
        "ms",
        "30000",
        "",
        "\"replica.socket.timeout.ms\" = 10000",
        "a follower gives up on a fetch after this long",
        &[],
    ),
    (
        "cluster",
        "compression.type",
        "text",
        "",
        "\"producer\"",
        "",
        "\"compression.type\" = \"zstd\"",
        "the topic's compression.type: producer keeps the producer's codec; another codec makes the leader recompress every batch",
        &[],
    ),
    (
        "cluster",
        "max.message.bytes",
        "whole number",
        "bytes",
        "1048588",
        "",
        "\"max.message.bytes\" = 2097152",
        "the topic's max.message.bytes: a larger batch gets MESSAGE_TOO_LARGE",
        &[],
    ),
    (
        "cluster",
        "transaction.max.timeout.ms",
        "whole number",
        "ms",
        "900000",
        "1 ..= 2147483647",
        "\"transaction.max.timeout.ms\" = 60000",
        "the longest transaction.timeout.ms a producer may ask for; a larger one is refused",
        &[],
    ),
    (
        "cluster",
        "append_cost_per_batch_ns",
        "whole number",
        "ns",
        "5000",
        "",
        "append_cost_per_batch_ns = 10000",
        "handler (leader) and fetcher (follower) thread time per appended batch; a simulator default, not a measurement",
        &[],
    ),
    (
        "cluster",
        "append_cost_per_byte_ns",
        "number",
        "ns",
        "0.5",
        "",
        "append_cost_per_byte_ns = 1.0",
        "the same per appended byte",
        &[],
    ),
    (
        "cluster",
        "num.io.threads",
        "whole number",
        "threads",
        "8",
        "",
        "\"num.io.threads\" = 4",
        "Kafka's num.io.threads: request handler threads per broker",
        &[],
    ),
    (
        "cluster",
        "queued.max.requests",
        "whole number",
        "requests",
        "500",
        "",
        "\"queued.max.requests\" = 100",
        "Kafka's queued.max.requests: the request queue's capacity",
        &[],
    ),
    (
        "cluster",
        "fetch_cost_per_request_ns",
        "whole number",
        "ns",
        "0",
        "",
        "fetch_cost_per_request_ns = 20000",
        "handler thread time a leader spends on each follower fetch request",
        &[],
    ),
    (
        "cluster",
        "broker_session_timeout_ms",
        "number",
        "ms",
        "9000",
        "above 0, up to 10^10 ms",
        "broker_session_timeout_ms = 6000",
        "KRaft's broker.session.timeout.ms: the controller fences a broker this long after its last heartbeat",
        &[],
    ),
    (
        "cluster",
        "broker_heartbeat_interval_ms",
        "number",
        "ms",
        "2000",
        "above 0 and below broker_session_timeout_ms",
        "broker_heartbeat_interval_ms = 1000",
        "KRaft's broker.heartbeat.interval.ms",
        &[],
    ),
    (
        "cluster",
        "metadata_propagation_delay_ms",
        "number",
        "ms",
        "50",
        "",
        "metadata_propagation_delay_ms = 100",
        "how long a leadership change takes to reach the metadata brokers serve to clients",
        &[],
    ),
    (
        "cluster",
        "hw_frozen_under_min_isr",
        "true or false",
        "",
        "true",
        "",
        "hw_frozen_under_min_isr = false",
        "Kafka 3.7 and later: the high watermark does not advance while the ISR is below min.insync.replicas; false gives the older behaviour (NOT_ENOUGH_REPLICAS_AFTER_APPEND)",
        &[],
    ),
    (
        "cluster",
        "eligible.leader.replicas.version",
        "whole number",
        "",
        "none: 1 on the 4.1 and 4.2 profiles, 0 on 4.0",
        "",
        "\"eligible.leader.replicas.version\" = 1",
        "the KRaft feature of Eligible Leader Replicas (KIP-966)",
        &[],
    ),
    (
        "cluster",
        "alter_partition_round_trip_ms",
        "number",
        "ms",
        "2",
        "",
        "alter_partition_round_trip_ms = 5",
        "how long a leader's AlterPartition takes to the controller and back",
        &[],
    ),
    (
        "network",
        "latency",
        "distribution",
        "ms",
        "{ dist = \"constant\", ms = 0.5 }",
        "",
        "latency = { dist = \"lognormal\", median_ms = 1, sigma = 0.3 }",
        "one-way latency of every link, client-broker and broker-broker alike, unless a [[network.links]] entry overrides it (see \"the client round trip alone\" below)",
        &[],
    ),
    (
        "network",
        "bandwidth_bytes_per_s",
        "whole number",
        "bytes/s",
        "1250000000",
        "",
        "bandwidth_bytes_per_s = 125000000",
        "bandwidth of every link direction (the default is 10 Gbit/s)",
        &[],
    ),
    (
        "network",
        "request_loss",
        "number",
        "",
        "0",
        "",
        "request_loss = 0.01",
        "probability that one transmission of a client-to-broker message is lost (TCP retransmits it)",
        &[],
    ),
    (
        "network",
        "response_loss",
        "number",
        "",
        "0",
        "",
        "response_loss = 0.01",
        "probability that one transmission of a broker-to-client message is lost (TCP retransmits it)",
        &[],
    ),
    (
        "network",
        "links",
        "list of tables",
        "",
        "[] (no override)",
        "",
        "links = [{ link = [\"client\", \"broker0\"], latency = { dist = \"constant\", ms = 15 } }]",
        "per-link overrides, both directions",
        &[],
    ),
    (
        "network",
        "links[].link",
        "two node names",
        "",
        "required",
        "",
        "links = [{ link = [\"client\", \"broker1\"] }]",
        "the link an override applies to",
        &[],
    ),
    (
        "network",
        "links[].latency",
        "distribution",
        "ms",
        "the section's latency",
        "",
        "links = [{ link = [\"client\", \"broker0\"], latency = { dist = \"constant\", ms = 15 } }]",
        "one-way latency on this link",
        &[],
    ),
    (
        "network",
        "links[].bandwidth_bytes_per_s",
        "whole number",
        "bytes/s",
        "the section's bandwidth",
        "",
        "links = [{ link = [\"client\", \"broker0\"], bandwidth_bytes_per_s = 12500000 }]",
        "bandwidth on this link",
        &[],
    ),
    (
        "network",
        "links[].request_loss",
        "number",
        "",
        "the section's request_loss",
        "",
        "links = [{ link = [\"client\", \"broker0\"], request_loss = 0.05 }]",
        "request loss on this link (client-to-broker direction)",
        &[],
    ),
    (
        "network",
        "links[].response_loss",
        "number",
        "",
        "the section's response_loss",
        "",
        "links = [{ link = [\"client\", \"broker0\"], response_loss = 0.05 }]",
        "response loss on this link (broker-to-client direction)",
        &[],
    ),
    (
        "network",
        "tcp_rto_min_ms",
        "number",
        "ms",
        "200",
        "",
        "tcp_rto_min_ms = 50",
        "the first retransmission timeout (Linux TCP_RTO_MIN); each failed retransmission doubles it",
        &[],
    ),
    (
        "network",
        "tcp_rto_max_ms",
        "number",
        "ms",
        "120000",
        "",
        "tcp_rto_max_ms = 60000",
        "the longest retransmission timeout (Linux TCP_RTO_MAX)",
        &[],
    ),
    (
        "network",
        "tcp_retries2",
        "whole number",
        "retransmissions",
        "15",
        "",
        "tcp_retries2 = 8",
        "retransmissions of one segment before the connection gives up (Linux net.ipv4.tcp_retries2)",
        &[],
    ),
    (
        "faults",
        "schedule",
        "list of tables",
        "",
        "[] (no scripted fault)",
        "",
        "schedule = [{ at_ms = 1000, action = \"crash\", broker = 0 }]",
        "scripted faults in time order; each action takes only its own keys",
        &[],
    ),
    (
        "faults",
        "schedule[].at_ms",
        "number",
        "ms",
        "required",
        "",
        "schedule = [{ at_ms = 1000, action = \"crash\", broker = 0 }]",
        "when, from the start of the run",
        &[],
    ),
    (
        "faults",
        "schedule[].action",
        "text",
        "",
        "required",
        "",
        "schedule = [{ at_ms = 1000, action = \"restart\", broker = 0 }]",
        "what happens (the table in experiments/README.md says what each does)",
        &[],
    ),
    (
        "faults",
        "schedule[].broker",
        "whole number",
        "",
        "required by its actions",
        "",
        "schedule = [{ at_ms = 1000, action = \"crash\", broker = 0 }]",
        "the broker",
        BROKER_ACTIONS,
    ),
    (
        "faults",
        "schedule[].link",
        "two node names",
        "",
        "required by its actions (latency_spike: every link)",
        "",
        "schedule = [{ at_ms = 1000, action = \"cut\", link = [\"client\", \"broker1\"] }]",
        "the link",
        LINK_ACTIONS,
    ),
    (
        "faults",
        "schedule[].n",
        "whole number",
        "",
        "1 for error; required by drop_responses and delay_responses",
        "",
        "schedule = [{ at_ms = 1000, action = \"drop_responses\", broker = 0, n = 3 }]",
        "how many responses (drop_responses, delay_responses) or produce requests (error)",
        &["drop_responses", "error", "delay_responses"],
    ),
    (
        "faults",
        "schedule[].error",
        "text",
        "",
        "required by error",
        "a Kafka error name such as \"NOT_ENOUGH_REPLICAS\"",
        "schedule = [{ at_ms = 100, action = \"error\", broker = 0, error = \"NOT_ENOUGH_REPLICAS\" }]",
        "the error the broker answers with",
        &["error"],
    ),
    (
        "faults",
        "schedule[].partition",
        "whole number",
        "",
        "none (every request)",
        "",
        "schedule = [{ at_ms = 100, action = \"error\", broker = 0, error = \"NOT_LEADER_OR_FOLLOWER\", partition = 2 }]",
        "only requests carrying this partition",
        &["error"],
    ),
    (
        "faults",
        "schedule[].stage",
        "text",
        "",
        "\"before_append\"",
        "\"before_append\" or \"after_append\"",
        "schedule = [{ at_ms = 100, action = \"error\", broker = 0, error = \"NOT_ENOUGH_REPLICAS\", stage = \"after_append\" }]",
        "whether the records are written before the error",
        &["error"],
    ),
    (
        "faults",
        "schedule[].delay_ms",
        "number",
        "ms",
        "required by delay_responses",
        "",
        "schedule = [{ at_ms = 100, action = \"delay_responses\", broker = 0, n = 3, delay_ms = 5000 }]",
        "how long each response is held back",
        &["delay_responses"],
    ),
    (
        "faults",
        "schedule[].api",
        "text",
        "",
        "\"produce\"",
        "\"produce\", \"metadata\", \"init_producer_id\" or \"any\"",
        "schedule = [{ at_ms = 100, action = \"drop_responses\", broker = 0, n = 1, api = \"any\" }]",
        "which responses are dropped",
        &["drop_responses"],
    ),
    (
        "faults",
        "schedule[].extra_ms",
        "number",
        "ms",
        "required by latency_spike",
        "",
        "schedule = [{ at_ms = 100, action = \"latency_spike\", extra_ms = 200, until_ms = 3000 }]",
        "extra latency",
        &["latency_spike"],
    ),
    (
        "faults",
        "schedule[].until_ms",
        "number",
        "ms",
        "required by latency_spike",
        "",
        "schedule = [{ at_ms = 100, action = \"latency_spike\", extra_ms = 200, until_ms = 3000 }]",
        "end of the spike, from the start of the run",
        &["latency_spike"],
    ),
    (
        "faults",
        "random",
        "table",
        "",
        "all off",
        "a table of the random.* keys below",
        "random = { crash_rate_per_broker_per_s = 0.01 }",
        "random fault processes",
        &[],
    ),
    (
        "faults",
        "random.crash_rate_per_broker_per_s",
        "number",
        "per s",
        "0",
        "",
        "random = { crash_rate_per_broker_per_s = 0.01 }",
        "Poisson rate of crashes per broker (0: off)",
        &[],
    ),
    (
        "faults",
        "random.restart_delay",
        "distribution",
        "ms",
        "{ dist = \"constant\", ms = 10000 }",
        "",
        "random = { restart_delay = { dist = \"uniform\", lo_ms = 5000, hi_ms = 20000 } }",
        "time from a random crash to its restart",
        &[],
    ),
    (
        "faults",
        "random.max_down_brokers",
        "whole number",
        "brokers",
        "1",
        "",
        "random = { max_down_brokers = 2 }",
        "at most this many brokers down from random crashes at once",
        &[],
    ),
    (
        "faults",
        "random.link_flap_rate_per_s",
        "number",
        "per s",
        "0",
        "",
        "random = { link_flap_rate_per_s = 0.1 }",
        "Poisson rate of link flaps over the whole network (0: off)",
        &[],
    ),
    (
        "faults",
        "random.link_flap_duration",
        "distribution",
        "ms",
        "{ dist = \"constant\", ms = 1000 }",
        "",
        "random = { link_flap_duration = { dist = \"exponential\", mean_ms = 500 } }",
        "how long a flapped link stays cut",
        &[],
    ),
    (
        "run",
        "seed",
        "whole number",
        "",
        "1",
        "a whole number from 0",
        "seed = 42",
        "the master seed: every run's seed is derived from it and the point's coordinates",
        &[],
    ),
    (
        "run",
        "replicates",
        "whole number",
        "runs",
        "1",
        "1 to 10000",
        "replicates = 5",
        "runs per point, each with its own derived seed (means and 95% intervals over them)",
        &[],
    ),
    (
        "run",
        "duration_ms",
        "number",
        "ms",
        "10000",
        "",
        "duration_ms = 60000",
        "virtual time of the send phase (0: until [workload] records are sent)",
        &[],
    ),
    (
        "run",
        "drain_ms",
        "number",
        "ms",
        "none: delivery.timeout.ms + 5000",
        "",
        "drain_ms = 30000",
        "after sending stops, how long in-flight work may take to finish",
        &[],
    ),
    (
        "run",
        "settle_ms",
        "number",
        "ms",
        "300000",
        "",
        "settle_ms = 60000",
        "then at most how long the cluster may take to heal and catch up",
        &[],
    ),
    (
        "run",
        "max_events",
        "whole number",
        "events",
        "0",
        "",
        "max_events = 50000000",
        "bound on handled events (0: derived from the workload and the phases); reaching it is a bound reached (exit 3)",
        &[],
    ),
    (
        "run",
        "max_events_per_virtual_ms",
        "whole number",
        "events",
        "0",
        "",
        "max_events_per_virtual_ms = 100000",
        "the progress guard: most events in one virtual millisecond",
        &[],
    ),
    (
        "run",
        "max_virtual_time_ms",
        "number",
        "ms",
        "none: the phases' own bounds",
        "",
        "max_virtual_time_ms = 60000",
        "bound on the run's virtual time (also --max-virtual-time); reaching it is exit 3",
        &[],
    ),
    (
        "run",
        "max_memory_mb",
        "whole number",
        "MiB",
        "0",
        "",
        "max_memory_mb = 2048",
        "a run estimated to hold more memory is refused (exit 2; also --max-memory-mb)",
        &[],
    ),
    (
        "sweep",
        "on_invalid",
        "text",
        "",
        "\"fail\"",
        "\"fail\" (refuse the sweep) or \"record\" (keep the point as rows with empty metrics)",
        "on_invalid = \"record\"",
        "what a sweep does with a point Kafka would reject",
        &[],
    ),
    (
        "sweep",
        "SECTION.KEY",
        "list, or { from, to, times } or { from, to, step }",
        "",
        "none",
        "a list of numbers, strings or booleans; a geometric range { from, to, times }; an arithmetic range { from, to, step }",
        "producer = { \"linger.ms\" = [0, 5, 20], \"batch.size\" = { from = 16384, to = 262144, times = 2 } }",
        "an axis over any key of any section (one table per section, or the flat form \"producer.linger.ms\" = [...]); points are the cartesian product",
        &[],
    ),
    (
        "distribution",
        "dist",
        "text",
        "",
        "required",
        "",
        "latency = { dist = \"constant\", ms = 1 }",
        "the distribution's kind",
        &[],
    ),
    (
        "distribution",
        "ms",
        "number",
        "ms",
        "required",
        "",
        "latency = { dist = \"constant\", ms = 1 }",
        "the value",
        &["constant"],
    ),
    (
        "distribution",
        "lo_ms",
        "number",
        "ms",
        "required",
        "",
        "latency = { dist = \"uniform\", lo_ms = 1, hi_ms = 3 }",
        "smallest value",
        &["uniform"],
    ),
    (
        "distribution",
        "hi_ms",
        "number",
        "ms",
        "required",
        "",
        "latency = { dist = \"uniform\", lo_ms = 1, hi_ms = 3 }",
        "largest value",
        &["uniform"],
    ),
    (
        "distribution",
        "mean_ms",
        "number",
        "ms",
        "required",
        "",
        "latency = { dist = \"exponential\", mean_ms = 2 }",
        "the mean",
        DIST_WITH_MEAN,
    ),
    (
        "distribution",
        "std_dev_ms",
        "number",
        "ms",
        "required",
        "",
        "latency = { dist = \"normal\", mean_ms = 2, std_dev_ms = 0.5 }",
        "the standard deviation (samples below 0 are 0)",
        &["normal"],
    ),
    (
        "distribution",
        "median_ms",
        "number",
        "ms",
        "required",
        "",
        "latency = { dist = \"lognormal\", median_ms = 1, sigma = 0.3 }",
        "the median",
        &["lognormal"],
    ),
    (
        "distribution",
        "sigma",
        "number",
        "",
        "required",
        "",
        "latency = { dist = \"lognormal\", median_ms = 1, sigma = 0.3 }",
        "the shape: the standard deviation of the log",
        &["lognormal"],
    ),
];

/// The allowed values of a distribution's keys, by key.
fn distribution_allowed(key: &str) -> &'static str {
    match key {
        "dist" => {
            "\"constant\", \"uniform\", \"normal\", \"lognormal\" or \"exponential\", with its keys"
        }
        "sigma" => "a number from 0 to 5",
        _ => crate::allowed::DURATION,
    }
}

/// The section a key's allowed text is looked up in, and its path there.
fn allowed_of(row: &Row) -> String {
    let (section, key, _, _, _, allowed, ..) = *row;
    if !allowed.is_empty() {
        return allowed.to_owned();
    }
    if section == "distribution" {
        return distribution_allowed(key).to_owned();
    }
    // A path into a sub-table (`arrivals.per_sec`) is split; a Kafka name (`min.insync.replicas`)
    // is one key.
    let first = key.split(['.', '[']).next().unwrap_or(key);
    let nested = first != key
        && SIMULATOR_KEYS
            .iter()
            .any(|other| other.0 == section && other.1 == first);
    let path = if nested {
        crate::spec::PathPart::parse(&key.replace("[]", "[0]"))
    } else {
        vec![crate::spec::PathPart::Key(key.to_owned())]
    };
    crate::allowed::allowed(section, &path)
        .unwrap_or("see the key's description")
        .to_owned()
}

/// `(key, kind, unit, allowed, example, doc)` of every `[producer]` key linger models, in the
/// order of Kafka's documentation; the defaults come from the batching core.
const PRODUCER_DOCS: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "acks",
        "text",
        "",
        "\"all\", \"-1\", \"0\" or \"1\"",
        "acks = \"1\"",
        "how many replicas must have a record before the leader acknowledges it",
    ),
    (
        "enable.idempotence",
        "true or false",
        "",
        "true or false",
        "\"enable.idempotence\" = false",
        "sequence numbers so that retries write no duplicate and keep order",
    ),
    (
        "retries",
        "whole number",
        "retries",
        "0 to 2147483647",
        "retries = 0",
        "resends of a failed batch (bounded by delivery.timeout.ms)",
    ),
    (
        "delivery.timeout.ms",
        "whole number",
        "ms",
        "0 to 2147483647, at least linger.ms + request.timeout.ms",
        "\"delivery.timeout.ms\" = 60000",
        "upper bound on the time from send() to the outcome",
    ),
    (
        "request.timeout.ms",
        "whole number",
        "ms",
        "1 to 2147483647 (0 is refused in a simulation)",
        "\"request.timeout.ms\" = 10000",
        "how long the client waits for a response",
    ),
    (
        "linger.ms",
        "whole number",
        "ms",
        "0 to 9223372036854775807 (clamped to 2147483647)",
        "\"linger.ms\" = 20",
        "how long a batch waits for more records before it is sent",
    ),
    (
        "batch.size",
        "whole number",
        "bytes",
        "0 to 2147483647",
        "\"batch.size\" = 65536",
        "the size a batch is sent at, and of the buffers it is built in",
    ),
    (
        "buffer.memory",
        "whole number",
        "bytes",
        "0 to 9223372036854775807",
        "\"buffer.memory\" = 67108864",
        "memory for records waiting to be sent; send() blocks when it is full",
    ),
    (
        "max.block.ms",
        "whole number",
        "ms",
        "0 to 9223372036854775807",
        "\"max.block.ms\" = 1000",
        "how long send() may block for metadata or memory",
    ),
    (
        "max.request.size",
        "whole number",
        "bytes",
        "from 1",
        "\"max.request.size\" = 2097152",
        "largest request, and largest record send() accepts",
    ),
    (
        "max.in.flight.requests.per.connection",
        "whole number",
        "requests",
        "from 1 (at most 5 with idempotence)",
        "\"max.in.flight.requests.per.connection\" = 1",
        "unanswered requests per connection",
    ),
    (
        "retry.backoff.ms",
        "whole number",
        "ms",
        "from 0",
        "\"retry.backoff.ms\" = 50",
        "the first wait before a retry",
    ),
    (
        "retry.backoff.max.ms",
        "whole number",
        "ms",
        "from 0",
        "\"retry.backoff.max.ms\" = 500",
        "the longest wait before a retry (exponential backoff)",
    ),
    (
        "reconnect.backoff.ms",
        "whole number",
        "ms",
        "from 0",
        "\"reconnect.backoff.ms\" = 100",
        "the first wait before reconnecting to a broker",
    ),
    (
        "reconnect.backoff.max.ms",
        "whole number",
        "ms",
        "from 0",
        "\"reconnect.backoff.max.ms\" = 2000",
        "the longest wait before reconnecting",
    ),
    (
        "socket.connection.setup.timeout.ms",
        "whole number",
        "ms",
        "from 0",
        "\"socket.connection.setup.timeout.ms\" = 5000",
        "time a connect gets to be established",
    ),
    (
        "socket.connection.setup.timeout.max.ms",
        "whole number",
        "ms",
        "from 0",
        "\"socket.connection.setup.timeout.max.ms\" = 20000",
        "the longest connection setup timeout after repeated failures",
    ),
    (
        "compression.type",
        "text",
        "",
        "\"none\", \"gzip\", \"snappy\", \"lz4\" or \"zstd\"",
        "\"compression.type\" = \"lz4\"",
        "the codec batches are compressed with",
    ),
    (
        "compression.gzip.level",
        "whole number",
        "",
        "-1 or 1 to 9",
        "\"compression.gzip.level\" = 6",
        "gzip's level (Kafka 3.8 and later)",
    ),
    (
        "compression.lz4.level",
        "whole number",
        "",
        "1 to 17",
        "\"compression.lz4.level\" = 9",
        "lz4's level (Kafka 3.8 and later)",
    ),
    (
        "compression.zstd.level",
        "whole number",
        "",
        "-131072 to 22",
        "\"compression.zstd.level\" = 3",
        "zstd's level (Kafka 3.8 and later)",
    ),
    (
        "partitioner.class",
        "text",
        "",
        "null or one of Kafka's own partitioners: org.apache.kafka.clients.producer.RoundRobinPartitioner (and on 3.x DefaultPartitioner, UniformStickyPartitioner)",
        "\"partitioner.class\" = \"org.apache.kafka.clients.producer.RoundRobinPartitioner\"",
        "the partitioner; null is the built-in sticky partitioner",
    ),
    (
        "partitioner.adaptive.partitioning.enable",
        "true or false",
        "",
        "true or false",
        "\"partitioner.adaptive.partitioning.enable\" = false",
        "the sticky partitioner favours partitions of faster brokers",
    ),
    (
        "partitioner.availability.timeout.ms",
        "whole number",
        "ms",
        "from 0",
        "\"partitioner.availability.timeout.ms\" = 1000",
        "a broker this slow to accept is skipped by the partitioner (0: never)",
    ),
    (
        "partitioner.ignore.keys",
        "true or false",
        "",
        "true or false",
        "\"partitioner.ignore.keys\" = true",
        "keyed records are partitioned as unkeyed ones",
    ),
    (
        "metadata.max.age.ms",
        "whole number",
        "ms",
        "from 0",
        "\"metadata.max.age.ms\" = 60000",
        "metadata is refreshed at least this often",
    ),
    (
        "metadata.max.idle.ms",
        "whole number",
        "ms",
        "from 5000",
        "\"metadata.max.idle.ms\" = 60000",
        "a topic not used for this long leaves the metadata",
    ),
    (
        "transaction.timeout.ms",
        "whole number",
        "ms",
        "a whole number",
        "\"transaction.timeout.ms\" = 30000",
        "the coordinator aborts a transaction open longer than this (at most the cluster's transaction.max.timeout.ms)",
    ),
    (
        "transactional.id",
        "text",
        "",
        "null or any text (needs idempotence)",
        "\"transactional.id\" = \"tx-1\"",
        "makes the producer transactional: initTransactions, then a transaction per commit interval ([workload] commit_every_records / commit_every_ms)",
    ),
    (
        "send.buffer.bytes",
        "whole number",
        "bytes",
        "-1 (the OS default) or from 0",
        "\"send.buffer.bytes\" = 262144",
        "the socket's send buffer (not simulated: the network has no window)",
    ),
    (
        "receive.buffer.bytes",
        "whole number",
        "bytes",
        "-1 (the OS default) or from 0",
        "\"receive.buffer.bytes\" = 65536",
        "the socket's receive buffer (not simulated)",
    ),
    (
        "connections.max.idle.ms",
        "whole number",
        "ms",
        "a whole number",
        "\"connections.max.idle.ms\" = 60000",
        "idle connections are closed after this long (not simulated)",
    ),
    (
        "metrics.sample.window.ms",
        "whole number",
        "ms",
        "from 0",
        "\"metrics.sample.window.ms\" = 10000",
        "Kafka's metrics window (linger's rates are over the whole run)",
    ),
    (
        "metrics.num.samples",
        "whole number",
        "",
        "from 1",
        "\"metrics.num.samples\" = 3",
        "Kafka's metrics samples (linger's rates are over the whole run)",
    ),
    (
        "enable.metrics.push",
        "true or false",
        "",
        "true or false",
        "\"enable.metrics.push\" = false",
        "client metrics push to the broker (KIP-714; not simulated)",
    ),
];

/// The reference entries of `[producer]`: linger's own two keys, then every key the batching
/// core models, with the default of the default Kafka profile.
fn producer_entries() -> Vec<KeyDoc> {
    let defaults = ProducerConfig::from_entries(
        KafkaVersion::default(),
        Vec::<batching::config::ConfigEntry>::new(),
    )
    .map(|resolved| resolved.effective_listing())
    .unwrap_or_default();
    defaults
        .iter()
        .filter(|entry| entry.key != batching::config::KAFKA_VERSION_KEY)
        .map(|entry| {
            let doc = PRODUCER_DOCS.iter().find(|doc| doc.0 == entry.key);
            let (kind, unit, allowed, example, text) = doc.map_or(
                ("see Kafka's documentation", "", "", "", "undocumented here"),
                |doc| (doc.1, doc.2, doc.3, doc.4, doc.5),
            );
            KeyDoc {
                section: "producer",
                key: entry.key,
                kind,
                unit,
                default: toml_default(kind, &entry.value),
                allowed: allowed.to_owned(),
                example: example.to_owned(),
                doc: text,
                variants: &[],
            }
        })
        .collect()
}

/// A producer default as TOML: text quoted, `null` as "none".
fn toml_default(kind: &str, value: &str) -> String {
    if value == "null" {
        "none (null)".to_owned()
    } else if kind == "text" {
        format!("\"{value}\"")
    } else {
        value.to_owned()
    }
}

/// The documentation row of a modelled producer key, if there is one (for the drift test).
pub fn producer_doc_keys() -> Vec<&'static str> {
    PRODUCER_DOCS.iter().map(|doc| doc.0).collect()
}

/// Every key of the reference, section by section in [`SECTIONS`] order.
pub fn entries() -> Vec<KeyDoc> {
    let of_row = |row: &Row| KeyDoc {
        section: row.0,
        key: row.1,
        kind: row.2,
        unit: row.3,
        default: row.4.to_owned(),
        allowed: allowed_of(row),
        example: row.6.to_owned(),
        doc: row.7,
        variants: row.8,
    };
    let mut out = Vec::new();
    for (section, _) in SECTIONS {
        out.extend(
            SIMULATOR_KEYS
                .iter()
                .filter(|row| row.0 == section)
                .map(of_row),
        );
        if section == "producer" {
            out.extend(producer_entries());
        }
        if section == "not simulated" {
            out.extend(not_simulated_entries());
        }
    }
    out
}

/// The producer keys of the ecosystem around the client that linger accepts and ignores.
fn not_simulated_entries() -> Vec<KeyDoc> {
    batching::config::not_simulated_keys()
        .map(|(key, why)| KeyDoc {
            section: "not simulated",
            key,
            kind: "as in Kafka",
            unit: "",
            default: "as in Kafka".to_owned(),
            allowed: "any value (not checked)".to_owned(),
            example: format!("\"{key}\" = ..."),
            doc: why,
            variants: &[],
        })
        .collect()
}

/// How to set the client's round trip alone: `[network] latency` applies to every link, the
/// brokers' replication links included.
pub const CLIENT_ROUND_TRIP_NOTE: &str = "[network] latency is the one-way latency of every link, \
the brokers' replication links included, so it changes how fast followers fetch too. To set the \
client's round trip alone (30 ms here, with 3 brokers), override the client's links and keep \
the default elsewhere:

    [[network.links]]
    link = [\"client\", \"broker0\"]
    latency = { dist = \"constant\", ms = 15 }
    [[network.links]]
    link = [\"client\", \"broker1\"]
    latency = { dist = \"constant\", ms = 15 }
    [[network.links]]
    link = [\"client\", \"broker2\"]
    latency = { dist = \"constant\", ms = 15 }

A round trip is two one-way latencies: 15 ms each way is 30 ms.";

/// The reference as text for `linger keys [SECTION]`.
pub fn text(section: Option<&str>) -> Result<String, String> {
    let sections: Vec<&(&str, &str)> = match section {
        None => SECTIONS.iter().collect(),
        Some(name) => {
            let wanted = name.trim_matches(['[', ']']);
            let found: Vec<_> = SECTIONS.iter().filter(|(s, _)| *s == wanted).collect();
            if found.is_empty() {
                let names = SECTIONS.iter().map(|(s, _)| *s);
                return Err(format!(
                    "no section `{name}`{}; sections: {}",
                    crate::error::suggestion_suffix(wanted, names.clone()),
                    names.collect::<Vec<_>>().join(", ")
                ));
            }
            found
        }
    };
    let all = entries();
    let mut out = String::new();
    for (name, about) in sections {
        out.push_str(&format!("[{name}]  {about}\n"));
        for entry in all.iter().filter(|e| e.section == *name) {
            out.push_str(&format!("  {}\n", entry.key));
            let unit = if entry.unit.is_empty() {
                String::new()
            } else {
                format!(", in {}", entry.unit)
            };
            out.push_str(&format!(
                "      {}{unit}; default {}\n",
                entry.kind, entry.default
            ));
            out.push_str(&format!("      {}\n", entry.doc));
            if !entry.variants.is_empty() {
                out.push_str(&format!("      only with: {}\n", entry.variants.join(", ")));
            }
            out.push_str(&format!("      allowed: {}\n", entry.allowed));
            out.push_str(&format!("      example: {}\n", entry.example));
        }
        if *name == "network" {
            out.push_str("\n  the client round trip alone:\n");
            for line in CLIENT_ROUND_TRIP_NOTE.lines() {
                out.push_str(&format!("    {line}\n").replace("    \n", "\n"));
            }
        }
        out.push('\n');
    }
    Ok(out)
}

/// The reference as Markdown: `docs/keys.md`.
pub fn markdown() -> String {
    let mut out = String::from(
        "# Experiment file keys\n\n\
         Every section and key of a linger experiment file, generated from the code by \
         `linger keys --markdown` (a test keeps this file up to date).\n\
         `linger keys SECTION` prints one section in the terminal.\n\
         The file format itself (sweeps, `--set`, seeds, result files) is described in \
         `experiments/README.md`.\n\n",
    );
    let all = entries();
    for (name, about) in SECTIONS {
        out.push_str(&format!("## [{name}]\n\n{}.\n\n", capitalised(about)));
        if name == "not simulated" {
            out.push_str(
                "These keys are accepted in `[producer]` and in a properties file and listed by \
                 `linger check-config` as not simulated; the simulation runs without them.\n\n",
            );
        }
        out.push_str(
            "| key | type | unit | default | allowed | example | what it does |\n|---|---|---|---|---|---|---|\n",
        );
        for entry in all.iter().filter(|e| e.section == name) {
            let doc = if entry.variants.is_empty() {
                entry.doc.to_owned()
            } else {
                format!("{} (only with {})", entry.doc, entry.variants.join(", "))
            };
            out.push_str(&format!(
                "| `{}` | {} | {} | {} | {} | `{}` | {} |\n",
                entry.key,
                cell(entry.kind),
                cell(entry.unit),
                cell(&entry.default),
                cell(&entry.allowed),
                entry.example.replace('|', "\\|"),
                cell(&doc)
            ));
        }
        if name == "network" {
            out.push_str("\n### The client round trip alone\n\n");
            out.push_str(CLIENT_ROUND_TRIP_NOTE.split("\n\n").next().unwrap_or(""));
            out.push_str("\n\n```toml\n");
            let example = CLIENT_ROUND_TRIP_NOTE
                .lines()
                .filter(|line| line.starts_with("    "))
                .map(|line| &line[4..])
                .collect::<Vec<_>>()
                .join("\n");
            out.push_str(&example);
            out.push_str(
                "\n```\n\nA round trip is two one-way latencies: 15 ms each way is 30 ms.\n",
            );
        }
        out.push('\n');
    }
    out
}

fn cell(text: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    text.replace('|', "\\|")
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}
