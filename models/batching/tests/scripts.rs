//! Script tests of the accumulator: each test is a small text script whose lines read like the
//! facts file (`t=5ms ready -> [n1]`), run against the real `RecordAccumulator`.
//!
//! Script language (one command per line, `#` starts a comment, `-> expected` checks the
//! command's rendered result; a line without `->` only runs):
//!
//! ```text
//! config linger=5ms batch=16384 max_request=1048576 buffer=33554432 in_flight=5
//!        idempotence=on|off retries=N delivery=120s backoff=100ms backoff_max=1s
//!        adaptive=on|off ignore_keys=on|off availability=0ms partitioner=builtin|custom
//! leaders n1 n1 n2 -          partition i is led by the i-th node (`-` = unknown)
//! leader p2 n3 epoch=4        one metadata update
//! entropy 0 5 7               the scripted random draws (cycled); default 2^31 (jitter 1.0)
//! pid 7 0                     InitProducerId answer (producer id, epoch)
//! t=T append p0 100B [key=abc] [ts=12] [block=60s] [abort]   explicit partition
//! t=T append 100B [key=abc]   let the core choose (murmur2 or sticky)
//!    -> appended p0 b0 [new] [full] | wait t0 deadline=T | too-large N max-request|buffer-memory
//!       | abort-for-new-batch p0 | exhausted | closed
//! t=T resume t0               -> as append
//! woken                       -> [t0 t1]
//! t=T ready                   -> [n1 n2] [next=T] [unknown=[p3]]
//! t=T drain n1 n2             -> n1:[p0 b0 seq=0 n=1, ...] n2:[...]   (nodes with batches)
//! t=T respond p0 b0 ok [offset=O]   t=T respond p0 b0 ERROR_NAME [log_start=L]
//!    -> done ok offset=O | done failed ERROR | retried backoff=T | split [b3 b4] | late
//! t=T expire                  -> [b0 b1]
//! next-expiry                 -> T | none
//! flush                       -> [b0 b1]   (incomplete batches)      end-flush
//! close                       -> [t0]      t=T abort -> [b0 b1]
//! loop                        -> none | bump pid=7 epoch=1 | init
//! queued p0                   -> [b0 seq=0 attempts=1, b1]
//! mute p0 / unmute p0 / muted p0 -> yes|no
//! t=T node n2 can|cannot     the sender's node latency report (availability timeout)
//! pool                        -> available=N waiters=N
//! ```

use batching::completion::ProduceError;
use batching::entropy::Scripted;
use batching::{
    AbortOnNewBatch, AccumulatorConfig, AppendOutcome, AppendRequest, BatchId, BatchResponse,
    ClusterView, CompletionOutcome, FinalState, Idempotence, NodeId, NodeReadiness, PartitionId,
    PartitionMetadata, PartitionerMode, ProducerIdAction, ProducerIdAndEpoch, RecordAccumulator,
    RecordId, RecordMeta, SizeLimit, WaitTicket,
};

const MS: u64 = 1_000_000;

struct Harness {
    config: AccumulatorConfig,
    accumulator: Option<RecordAccumulator>,
    cluster: ClusterView,
    entropy: Scripted,
    next_record_id: u64,
    now_ns: u64,
}

fn parse_duration(text: &str) -> u64 {
    let (digits, unit): (String, String) = text.chars().partition(|c| c.is_ascii_digit());
    let value: u64 = digits
        .parse()
        .unwrap_or_else(|_| panic!("bad duration {text}"));
    match unit.as_str() {
        "" | "ns" => value,
        "us" => value * 1_000,
        "ms" => value * MS,
        "s" => value * 1_000 * MS,
        other => panic!("bad duration unit {other} in {text}"),
    }
}

fn render_time(ns: u64) -> String {
    if ns == 0 {
        "0".to_string()
    } else if ns.is_multiple_of(1_000 * MS) {
        format!("{}s", ns / (1_000 * MS))
    } else if ns.is_multiple_of(MS) {
        format!("{}ms", ns / MS)
    } else if ns.is_multiple_of(1_000) {
        format!("{}us", ns / 1_000)
    } else {
        format!("{ns}ns")
    }
}

fn id_number(text: &str, prefix: char) -> u64 {
    text.strip_prefix(prefix)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("expected {prefix}<number>, got {text}"))
}

fn error_by_name(name: &str) -> ProduceError {
    let all = ProduceError::BROKER_ERRORS;
    all.into_iter()
        .find(|e| e.name() == name)
        .unwrap_or_else(|| panic!("unknown error name {name}"))
}

impl Harness {
    fn new() -> Self {
        Harness {
            config: AccumulatorConfig {
                idempotence: Idempotence::Disabled,
                ..AccumulatorConfig::default()
            },
            accumulator: None,
            cluster: ClusterView::with_leaders(&[Some(NodeId(1))]),
            entropy: Scripted::new(vec![1 << 31]),
            next_record_id: 0,
            now_ns: 0,
        }
    }

    fn acc(&mut self) -> &mut RecordAccumulator {
        let config = self.config;
        self.accumulator
            .get_or_insert_with(|| RecordAccumulator::new(config))
    }

    fn configure(&mut self, words: &[&str]) {
        assert!(
            self.accumulator.is_none(),
            "config must come before the first use"
        );
        for word in words {
            let (key, value) = word.split_once('=').expect("config takes key=value");
            let on = value == "on";
            let c = &mut self.config;
            match key {
                "linger" => c.linger_ns = parse_duration(value),
                "batch" => c.batch_size_bytes = value.parse().expect("batch size"),
                "max_request" => c.max_request_size_bytes = value.parse().expect("max request"),
                "buffer" => c.buffer_memory_bytes = value.parse().expect("buffer memory"),
                "in_flight" => {
                    c.max_in_flight_requests_per_connection = value.parse().expect("in flight")
                }
                "retries" => c.retries = value.parse().expect("retries"),
                "delivery" => c.delivery_timeout_ns = parse_duration(value),
                "backoff" => c.retry_backoff_ns = parse_duration(value),
                "backoff_max" => c.retry_backoff_max_ns = parse_duration(value),
                "idempotence" => {
                    c.idempotence = if on {
                        Idempotence::Enabled
                    } else {
                        Idempotence::Disabled
                    }
                }
                "adaptive" => c.partitioner.adaptive_partitioning = on,
                "ignore_keys" => c.partitioner.ignore_keys = on,
                "availability" => c.partitioner.availability_timeout_ns = parse_duration(value),
                "partitioner" => {
                    c.partitioner_mode = if value == "custom" {
                        PartitionerMode::Custom
                    } else {
                        PartitionerMode::BuiltIn
                    }
                }
                other => panic!("unknown config key {other}"),
            }
        }
    }

    fn run(&mut self, command: &str) -> String {
        let mut words: Vec<&str> = command.split_whitespace().collect();
        if let Some(time) = words.first().and_then(|w| w.strip_prefix("t=")) {
            self.now_ns = parse_duration(time);
            words.remove(0);
        }
        let (verb, args) = words.split_first().expect("empty command");
        match *verb {
            "config" => {
                self.configure(args);
                String::new()
            }
            "leaders" => {
                let leaders: Vec<Option<NodeId>> = args
                    .iter()
                    .map(|w| (*w != "-").then(|| NodeId(id_number(w, 'n') as u32)))
                    .collect();
                self.cluster = ClusterView::with_leaders(&leaders);
                String::new()
            }
            "leader" => self.leader(args),
            "entropy" => {
                let values = args.iter().map(|w| w.parse().expect("u32 draw")).collect();
                self.entropy = Scripted::new(values);
                String::new()
            }
            "pid" => {
                let producer_id = args[0].parse().expect("producer id");
                let epoch = args[1].parse().expect("epoch");
                self.acc()
                    .set_producer_id_and_epoch(ProducerIdAndEpoch { producer_id, epoch });
                String::new()
            }
            "append" => self.append(args),
            "resume" => {
                let ticket = WaitTicket(id_number(args[0], 't'));
                let (now, cluster) = (self.now_ns, self.cluster.clone());
                let acc = self.accumulator.as_mut().expect("resume after append");
                let outcome = acc.resume_append(ticket, now, &cluster, &mut self.entropy);
                render_append(outcome)
            }
            "woken" => {
                let tickets = self.acc().take_woken_waiters();
                let names: Vec<String> = tickets.iter().map(|t| format!("t{}", t.0)).collect();
                format!("[{}]", names.join(" "))
            }
            "ready" => self.ready(),
            "drain" => self.drain(args),
            "respond" => self.respond(args),
            "expire" => {
                let now = self.now_ns;
                let expired = self.acc().expire(now);
                for batch in &expired {
                    assert_eq!(batch.final_state(), Some(&FinalState::Expired));
                }
                render_ids(expired.iter().map(|b| b.id()))
            }
            "next-expiry" => match self.acc().next_expiry_at_ns() {
                Some(at) => render_time(at),
                None => "none".to_string(),
            },
            "flush" => render_ids(self.acc().begin_flush().into_iter()),
            "end-flush" => {
                self.acc().end_flush();
                String::new()
            }
            "close" => {
                let tickets = self.acc().close();
                let names: Vec<String> = tickets.iter().map(|t| format!("t{}", t.0)).collect();
                format!("[{}]", names.join(" "))
            }
            "abort" => {
                let now = self.now_ns;
                let aborted = self.acc().abort_incomplete_batches(now);
                render_ids(aborted.iter().map(|b| b.id()))
            }
            "loop" => match self.acc().on_sender_loop_start() {
                ProducerIdAction::None => "none".to_string(),
                ProducerIdAction::EpochBumped(p) => {
                    format!("bump pid={} epoch={}", p.producer_id, p.epoch)
                }
                ProducerIdAction::InitProducerIdNeeded => "init".to_string(),
            },
            "queued" => self.queued(args),
            "mute" => {
                self.acc().mute(PartitionId(id_number(args[0], 'p') as u32));
                String::new()
            }
            "unmute" => {
                self.acc()
                    .unmute(PartitionId(id_number(args[0], 'p') as u32));
                String::new()
            }
            "muted" => {
                let muted = self
                    .acc()
                    .is_muted(PartitionId(id_number(args[0], 'p') as u32));
                if muted { "yes" } else { "no" }.to_string()
            }
            "node" => {
                let node = NodeId(id_number(args[0], 'n') as u32);
                let readiness = match args[1] {
                    "can" => NodeReadiness::CanDrain,
                    "cannot" => NodeReadiness::CannotDrain,
                    other => panic!("node takes can|cannot, got {other}"),
                };
                let now = self.now_ns;
                self.acc().update_node_latency_stats(node, now, readiness);
                String::new()
            }
            "pool" => {
                let pool = self.acc().pool();
                format!(
                    "available={} waiters={}",
                    pool.available_memory_bytes(),
                    pool.waiter_count()
                )
            }
            other => panic!("unknown command {other}"),
        }
    }

    fn leader(&mut self, args: &[&str]) -> String {
        let partition = PartitionId(id_number(args[0], 'p') as u32);
        let leader = (args[1] != "-").then(|| NodeId(id_number(args[1], 'n') as u32));
        let epoch = args
            .get(2)
            .and_then(|w| w.strip_prefix("epoch="))
            .map(|e| e.parse().expect("epoch"));
        self.cluster.set_leader(
            partition,
            PartitionMetadata {
                leader,
                leader_epoch: epoch,
            },
        );
        String::new()
    }

    fn append(&mut self, args: &[&str]) -> String {
        let mut partition = None;
        let mut value_bytes = None;
        let mut key: Option<Vec<u8>> = None;
        let mut timestamp_ms = None;
        let mut max_block_ns = 60_000 * MS;
        let mut abort = AbortOnNewBatch::No;
        for word in args {
            if let Some(p) = word.strip_prefix('p') {
                partition = Some(PartitionId(p.parse().expect("partition")));
            } else if let Some(size) = word.strip_suffix('B') {
                value_bytes = Some(size.parse().expect("value size"));
            } else if let Some(k) = word.strip_prefix("key=") {
                key = Some(k.as_bytes().to_vec());
            } else if let Some(ts) = word.strip_prefix("ts=") {
                timestamp_ms = Some(ts.parse().expect("timestamp"));
            } else if let Some(block) = word.strip_prefix("block=") {
                max_block_ns = parse_duration(block);
            } else if *word == "abort" {
                abort = AbortOnNewBatch::Yes;
            } else {
                panic!("bad append argument {word}");
            }
        }
        let id = RecordId(self.next_record_id);
        self.next_record_id += 1;
        let request = AppendRequest {
            now_ns: self.now_ns,
            record: RecordMeta {
                id,
                key: key.as_deref(),
                value_bytes,
                header_count: 0,
                headers_bytes: 0,
                timestamp_ms,
            },
            partition,
            max_block_ns,
            abort_on_new_batch: abort,
        };
        let cluster = self.cluster.clone();
        let config = self.config;
        let acc = self
            .accumulator
            .get_or_insert_with(|| RecordAccumulator::new(config));
        render_append(acc.append(&request, &cluster, &mut self.entropy))
    }

    fn ready(&mut self) -> String {
        let (now, cluster) = (self.now_ns, self.cluster.clone());
        let check = self.acc().ready(now, &cluster);
        let nodes: Vec<String> = check
            .ready_nodes
            .iter()
            .map(|n| format!("n{}", n.0))
            .collect();
        let mut out = format!("[{}]", nodes.join(" "));
        if let Some(at) = check.next_check_at_ns {
            assert!(at >= now, "next check in the past");
            out.push_str(&format!(" next={}", render_time(at)));
        }
        if !check.unknown_leader_partitions.is_empty() {
            let parts: Vec<String> = check
                .unknown_leader_partitions
                .iter()
                .map(|p| format!("p{}", p.0))
                .collect();
            out.push_str(&format!(" unknown=[{}]", parts.join(" ")));
        }
        out
    }

    fn drain(&mut self, args: &[&str]) -> String {
        let nodes: Vec<NodeId> = args
            .iter()
            .map(|w| NodeId(id_number(w, 'n') as u32))
            .collect();
        let (now, cluster) = (self.now_ns, self.cluster.clone());
        let requests = self.acc().drain(now, &cluster, &nodes);
        let rendered: Vec<String> = requests
            .iter()
            .map(|r| {
                let batches: Vec<String> = r
                    .batches
                    .iter()
                    .map(|b| {
                        let seq = b
                            .base_sequence
                            .map(|s| format!(" seq={s}"))
                            .unwrap_or_default();
                        format!(
                            "p{} b{}{} n={}",
                            b.partition.0, b.batch_id.0, seq, b.record_count
                        )
                    })
                    .collect();
                format!("[{}]", batches.join(", "))
            })
            .collect();
        if nodes.len() == 1 {
            return rendered
                .into_iter()
                .next()
                .unwrap_or_else(|| "[]".to_string());
        }
        requests
            .iter()
            .zip(rendered)
            .map(|(r, text)| format!("n{}:{text}", r.node.0))
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn respond(&mut self, args: &[&str]) -> String {
        let partition = PartitionId(id_number(args[0], 'p') as u32);
        let batch_id = BatchId(id_number(args[1], 'b'));
        let error = (args[2] != "ok").then(|| error_by_name(args[2]));
        let mut base_offset = -1;
        let mut log_start_offset = -1;
        for word in &args[3..] {
            if let Some(o) = word.strip_prefix("offset=") {
                base_offset = o.parse().expect("offset");
            } else if let Some(l) = word.strip_prefix("log_start=") {
                log_start_offset = l.parse().expect("log start");
            }
        }
        let response = BatchResponse {
            now_ns: self.now_ns,
            partition,
            batch_id,
            error,
            base_offset,
            log_start_offset,
        };
        let acc = self.accumulator.as_mut().expect("respond after drain");
        match acc.complete(&response, &mut self.entropy) {
            CompletionOutcome::Done(batch) => match batch.final_state() {
                Some(FinalState::Succeeded { base_offset }) => {
                    format!("done ok offset={base_offset}")
                }
                Some(FinalState::Failed { error }) => format!("done failed {}", error.name()),
                other => panic!("unexpected final state {other:?}"),
            },
            CompletionOutcome::Retried { backoff_ns, .. } => {
                format!("retried backoff={}", render_time(backoff_ns))
            }
            CompletionOutcome::Split(parent) => match parent.final_state() {
                Some(FinalState::Split { children }) => {
                    format!("split {}", render_ids(children.iter().copied()))
                }
                other => panic!("split parent in state {other:?}"),
            },
            CompletionOutcome::LateResponse => "late".to_string(),
        }
    }

    fn queued(&mut self, args: &[&str]) -> String {
        let partition = PartitionId(id_number(args[0], 'p') as u32);
        let items: Vec<String> = self
            .acc()
            .queued_batches(partition)
            .map(|b| {
                let mut text = format!("b{}", b.id().0);
                if let Some(seq) = b.base_sequence() {
                    text.push_str(&format!(" seq={seq}"));
                }
                if b.attempts() > 0 {
                    text.push_str(&format!(" attempts={}", b.attempts()));
                }
                text.push_str(&format!(" n={}", b.record_count()));
                text
            })
            .collect();
        format!("[{}]", items.join(", "))
    }
}

fn render_ids(ids: impl Iterator<Item = BatchId>) -> String {
    let names: Vec<String> = ids.map(|id| format!("b{}", id.0)).collect();
    format!("[{}]", names.join(" "))
}

fn render_append(outcome: AppendOutcome) -> String {
    match outcome {
        AppendOutcome::Appended {
            partition,
            batch_id,
            batch_is_full,
            new_batch,
        } => {
            let mut out = format!("appended p{} b{}", partition.0, batch_id.0);
            if new_batch {
                out.push_str(" new");
            }
            if batch_is_full {
                out.push_str(" full");
            }
            out
        }
        AppendOutcome::AbortForNewBatch { partition } => {
            format!("abort-for-new-batch p{}", partition.0)
        }
        AppendOutcome::MustWait {
            ticket,
            deadline_ns,
        } => format!("wait t{} deadline={}", ticket.0, render_time(deadline_ns)),
        AppendOutcome::RecordTooLarge { size_bytes, limit } => {
            let limit = match limit {
                SizeLimit::MaxRequestSize => "max-request",
                SizeLimit::BufferMemory => "buffer-memory",
            };
            format!("too-large {size_bytes} {limit}")
        }
        AppendOutcome::BufferExhausted => "exhausted".to_string(),
        AppendOutcome::Closed => "closed".to_string(),
        AppendOutcome::UnknownTicket => "unknown-ticket".to_string(),
    }
}

/// Runs `script`, checking every `-> expected`; a line `repeat N <command>` runs a command N
/// times without checking.
fn check(script: &str) {
    let mut harness = Harness::new();
    for (number, raw) in script.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("repeat ") {
            let (count, command) = rest.split_once(' ').expect("repeat N command");
            for _ in 0..count.parse::<u32>().expect("repeat count") {
                harness.run(command);
            }
            continue;
        }
        let (command, expected) = match line.split_once("->") {
            Some((c, e)) => (c.trim(), Some(e.trim())),
            None => (line, None),
        };
        let actual = harness.run(command);
        if let Some(expected) = expected {
            assert_eq!(actual, expected, "line {}: `{command}`", number + 1);
        }
    }
}

#[test]
fn linger_counts_from_batch_creation() {
    check(
        "
        config linger=5ms
        t=0 append p0 100B          -> appended p0 b0 new
        t=0 ready                   -> [] next=5ms
        t=3ms append p0 100B        -> appended p0 b0
        t=4ms ready                 -> [] next=5ms
        t=5ms ready                 -> [n1]
        t=5ms drain n1              -> [p0 b0 n=2]
        t=5ms ready                 -> []
        ",
    );
}

#[test]
fn linger_zero_makes_a_batch_ready_at_once() {
    check(
        "
        config linger=0ms
        t=0 append p0 100B          -> appended p0 b0 new
        t=0 ready                   -> [n1]
        ",
    );
}

#[test]
fn a_full_batch_or_a_second_batch_is_ready_before_linger() {
    // 136 records of key 10 / value 100 fill a 16384-byte batch; the 137th opens another.
    check(
        "
        config linger=1s
        leaders n1
        repeat 136 t=0 append p0 100B key=0123456789
        t=0 ready                                -> [] next=1s
        t=0 append p0 100B key=0123456789        -> appended p0 b1 new full
        t=0 ready                                -> [n1]
        t=0 drain n1                             -> [p0 b0 n=136]
        t=0 ready                                -> [] next=1s
        ",
    );
}

#[test]
fn keyed_records_go_to_murmur2_partition() {
    // murmur2("abc") -> 3 and murmur2("21") -> 0 with 6 partitions.
    check(
        "
        leaders n1 n1 n1 n1 n1 n1
        t=0 append 10B key=abc      -> appended p3 b0 new
        t=0 append 10B key=21       -> appended p0 b1 new
        ",
    );
}

#[test]
fn a_record_larger_than_batch_size_gets_its_own_batch() {
    check(
        "
        config batch=1000 linger=1s
        t=0 append p0 100B          -> appended p0 b0 new
        t=0 append p0 5000B         -> appended p0 b1 new full
        t=0 append p0 100B          -> appended p0 b2 new full
        t=0 pool                    -> available=33547346 waiters=0
        ",
    );
}

#[test]
fn record_too_large_for_max_request_size_or_buffer_memory() {
    check(
        "
        config max_request=1000 buffer=5000 batch=1000
        t=0 append p0 914B          -> appended p0 b0 new
        t=0 append p0 915B          -> too-large 1001 max-request
        ",
    );
    check(
        "
        config max_request=100000 buffer=5000 batch=1000
        t=0 append p0 5000B         -> too-large 5086 buffer-memory
        ",
    );
}

#[test]
fn retry_backoff_overrides_readiness_and_linger_does_not_apply_again() {
    check(
        "
        config linger=5ms backoff=100ms backoff_max=1s
        t=0 append p0 100B                      -> appended p0 b0 new
        t=5ms ready                             -> [n1]
        t=5ms drain n1                          -> [p0 b0 n=1]
        t=10ms respond p0 b0 NOT_LEADER_OR_FOLLOWER -> retried backoff=100ms
        t=10ms queued p0                        -> [b0 attempts=1 n=1]
        t=10ms ready                            -> [] next=110ms
        t=50ms drain n1                         -> []
        t=110ms ready                           -> [n1]
        t=110ms drain n1                        -> [p0 b0 n=1]
        t=120ms respond p0 b0 REQUEST_TIMED_OUT -> retried backoff=200ms
        t=319ms ready                           -> [] next=320ms
        t=320ms ready                           -> [n1]
        ",
    );
}

#[test]
fn retried_batch_goes_back_to_the_front_of_its_partition() {
    check(
        "
        config linger=0ms backoff=10ms
        t=0 append p0 100B                       -> appended p0 b0 new
        t=0 drain n1                             -> [p0 b0 n=1]
        t=1ms append p0 100B                     -> appended p0 b1 new
        t=2ms respond p0 b0 NOT_ENOUGH_REPLICAS  -> retried backoff=10ms
        t=2ms queued p0                          -> [b0 attempts=1 n=1, b1 n=1]
        t=3ms drain n1                           -> []
        t=12ms drain n1                          -> [p0 b0 n=1]
        ",
    );
}

#[test]
fn non_retriable_error_fails_the_batch_and_retries_run_out() {
    check(
        "
        config linger=0ms retries=1 backoff=10ms
        t=0 append p0 100B                      -> appended p0 b0 new
        t=0 drain n1                            -> [p0 b0 n=1]
        t=1ms respond p0 b0 INVALID_RECORD      -> done failed INVALID_RECORD
        t=2ms append p0 100B                    -> appended p0 b1 new
        t=2ms drain n1                          -> [p0 b1 n=1]
        t=3ms respond p0 b1 NOT_LEADER_OR_FOLLOWER -> retried backoff=10ms
        t=13ms drain n1                         -> [p0 b1 n=1]
        t=14ms respond p0 b1 NOT_LEADER_OR_FOLLOWER -> done failed NOT_LEADER_OR_FOLLOWER
        ",
    );
}

#[test]
fn muting_with_max_in_flight_one_holds_a_partition_until_its_response() {
    check(
        "
        config linger=0ms in_flight=1
        t=0 append p0 100B          -> appended p0 b0 new
        t=0 drain n1                -> [p0 b0 n=1]
        t=0 muted p0                -> yes
        t=1ms append p0 100B        -> appended p0 b1 new
        t=1ms ready                 -> []
        t=1ms drain n1              -> []
        t=2ms respond p0 b0 ok offset=0 -> done ok offset=0
        t=2ms muted p0              -> no
        t=2ms ready                 -> [n1]
        t=2ms drain n1              -> [p0 b1 n=1]
        ",
    );
}

#[test]
fn drain_rotates_its_start_partition_per_node() {
    // Four partitions on n1; each drain takes one batch per partition. With a small
    // max.request.size only one batch fits, so the start index shows the rotation.
    check(
        "
        config linger=0ms max_request=300
        leaders n1 n1 n1 n1
        t=0 append p0 100B           -> appended p0 b0 new
        t=0 append p1 100B           -> appended p1 b1 new
        t=0 append p2 100B           -> appended p2 b2 new
        t=0 append p3 100B           -> appended p3 b3 new
        t=0 drain n1                 -> [p0 b0 n=1]
        t=0 drain n1                 -> [p1 b1 n=1]
        t=0 drain n1                 -> [p2 b2 n=1]
        t=0 append p0 100B           -> appended p0 b4 new
        t=0 drain n1                 -> [p3 b3 n=1]
        t=0 drain n1                 -> [p0 b4 n=1]
        ",
    );
}

#[test]
fn drain_takes_one_batch_per_partition_and_stops_at_max_request_size_except_the_first() {
    check(
        "
        config linger=0ms batch=200 max_request=500
        leaders n1 n1 n1
        t=0 append p0 180B           -> appended p0 b0 new
        t=0 append p0 180B           -> appended p0 b1 new full
        t=0 append p1 180B           -> appended p1 b2 new
        t=0 append p2 180B           -> appended p2 b3 new
        t=0 drain n1                 -> [p0 b0 n=1, p1 b2 n=1]
        t=0 drain n1                 -> [p2 b3 n=1, p0 b1 n=1]
        ",
    );
    // A batch larger than max.request.size (batch.size above it) is still sent alone.
    check(
        "
        config linger=0ms batch=2000 max_request=500
        leaders n1 n1
        repeat 4 t=0 append p0 400B
        t=0 append p1 400B           -> appended p1 b1 new
        t=0 drain n1                 -> [p0 b0 n=4]
        t=0 drain n1                 -> [p1 b1 n=1]
        ",
    );
}

#[test]
fn drain_after_a_full_pass_restarts_one_before_the_previous_start() {
    // Kafka stores the last partition examined; after a full pass that is start - 1.
    check(
        "
        config linger=0ms
        leaders n1 n1 n1
        t=0 append p0 10B            -> appended p0 b0 new
        t=0 append p1 10B            -> appended p1 b1 new
        t=0 append p2 10B            -> appended p2 b2 new
        t=0 drain n1                 -> [p0 b0 n=1, p1 b1 n=1, p2 b2 n=1]
        t=0 append p0 10B            -> appended p0 b3 new
        t=0 append p1 10B            -> appended p1 b4 new
        t=0 append p2 10B            -> appended p2 b5 new
        t=0 drain n1                 -> [p2 b5 n=1, p0 b3 n=1, p1 b4 n=1]
        ",
    );
}

#[test]
fn unknown_leader_is_reported_and_not_ready() {
    check(
        "
        config linger=0ms
        leaders n1 -
        t=0 append p1 10B            -> appended p1 b0 new
        t=0 ready                    -> [] unknown=[p1]
        t=1ms leader p1 n2 epoch=1
        t=1ms ready                  -> [n2]
        ",
    );
}

#[test]
fn delivery_timeout_expires_queued_and_in_flight_batches_from_creation() {
    check(
        "
        config linger=0ms delivery=100ms
        leaders n1 n1
        t=0 append p0 10B            -> appended p0 b0 new
        t=0 drain n1                 -> [p0 b0 n=1]
        t=40ms append p1 10B         -> appended p1 b1 new
        t=40ms mute p1
        next-expiry                  -> 100ms
        t=99ms expire                -> []
        t=100ms expire               -> [b0]
        next-expiry                  -> 140ms
        t=110ms respond p0 b0 ok offset=5 -> late
        t=140ms expire               -> [b1]
        next-expiry                  -> none
        ",
    );
}

#[test]
fn flush_makes_everything_ready_and_lists_incomplete_batches() {
    check(
        "
        config linger=1s
        leaders n1 n2
        t=0 append p0 10B            -> appended p0 b0 new
        t=0 drain n1
        t=0 ready                    -> []
        t=0 append p0 10B            -> appended p0 b1 new
        t=0 append p1 10B            -> appended p1 b2 new
        t=0 ready                    -> [] next=1s
        flush                        -> [b0 b1 b2]
        t=0 ready                    -> [n1 n2]
        end-flush
        t=0 ready                    -> [] next=1s
        ",
    );
}

#[test]
fn close_makes_batches_sendable_and_rejects_appends() {
    check(
        "
        config linger=1s
        t=0 append p0 10B            -> appended p0 b0 new
        t=0 ready                    -> [] next=1s
        close                        -> []
        t=0 ready                    -> [n1]
        t=0 append p0 10B            -> closed
        t=0 drain n1                 -> [p0 b0 n=1]
        t=0 abort                    -> [b0]
        t=0 pool                     -> available=33554432 waiters=0
        ",
    );
}

#[test]
fn buffer_exhaustion_blocks_appends_makes_all_ready_and_times_out() {
    check(
        "
        config linger=1s batch=1000 buffer=2000
        leaders n1 n2
        t=0 append p0 10B            -> appended p0 b0 new
        t=0 append p1 10B            -> appended p1 b1 new
        t=0 append p0 950B           -> wait t0 deadline=60s
        t=0 ready                    -> [n1 n2]    # n2 only because memory is exhausted
        t=0 pool                     -> available=0 waiters=1
        t=1ms drain n1               -> [p0 b0 n=1]
        t=2ms respond p0 b0 ok offset=0 -> done ok offset=0
        woken                        -> []         # took the freed 1000 of 1036 bytes
        t=3ms drain n2               -> [p1 b1 n=1]
        t=3ms respond p1 b1 ok offset=0 -> done ok offset=0
        woken                        -> [t0]
        t=4ms resume t0              -> appended p0 b2 new
        t=4ms pool                   -> available=964 waiters=0
        t=5ms append p1 1000B block=5ms -> wait t1 deadline=10ms
        t=9ms resume t1              -> wait t1 deadline=10ms
        t=10ms resume t1             -> exhausted
        t=10ms pool                  -> available=964 waiters=0
        ",
    );
}

#[test]
fn close_wakes_blocked_appends_to_fail() {
    check(
        "
        config batch=1000 buffer=1000
        t=0 append p0 10B            -> appended p0 b0 new
        t=0 append p1 10B            -> wait t0 deadline=60s
        close                        -> [t0]
        woken                        -> [t0]
        t=0 resume t0                -> closed
        ",
    );
}

#[test]
fn custom_partitioner_gets_abort_for_new_batch_first() {
    check(
        "
        config batch=200 linger=1s
        t=0 append p0 100B abort     -> abort-for-new-batch p0
        t=0 append p0 100B           -> appended p0 b0 new
        t=0 append p0 10B abort      -> appended p0 b0
        t=0 append p0 150B abort     -> abort-for-new-batch p0
        ",
    );
}

#[test]
fn sticky_partitioner_switches_after_batch_size_when_the_batch_is_full() {
    // Draws: first pick 0 % 3 = p0, then 1 % 3 = p1.
    check(
        "
        config batch=1000 linger=1s adaptive=off
        leaders n1 n1 n1
        entropy 0 1 2
        t=0 append 400B              -> appended p0 b0 new
        t=0 append 400B              -> appended p0 b0
        t=0 append 400B              -> appended p0 b1 new full  # 879 produced < 1000
        t=0 append 400B              -> appended p0 b1 full      # 1758: b1 has room, switch held
        t=0 append 400B              -> appended p1 b2 new       # b1 closed: the held switch completes
        ",
    );
}

#[test]
fn idempotent_sequences_are_assigned_at_drain_and_kept_on_retry() {
    check(
        "
        config linger=0ms idempotence=on backoff=10ms
        t=0 append p0 10B            -> appended p0 b0 new
        t=0 drain n1                 -> []
        loop                         -> init
        pid 7 0
        loop                         -> none
        t=0 drain n1                 -> [p0 b0 seq=0 n=1]
        t=0 append p0 10B            -> appended p0 b1 new
        t=0 append p0 10B            -> appended p0 b1
        t=0 drain n1                 -> [p0 b1 seq=1 n=2]
        t=1ms respond p0 b0 NOT_LEADER_OR_FOLLOWER -> retried backoff=10ms
        t=1ms respond p0 b1 OUT_OF_ORDER_SEQUENCE_NUMBER -> retried backoff=10ms
        t=1ms queued p0              -> [b0 seq=0 attempts=1 n=1, b1 seq=1 attempts=1 n=2]
        t=11ms drain n1              -> [p0 b0 seq=0 n=1]
        t=11ms drain n1              -> []
        t=12ms respond p0 b0 ok offset=0 -> done ok offset=0
        t=12ms drain n1              -> [p0 b1 seq=1 n=2]
        ",
    );
}

#[test]
fn idempotent_retries_are_requeued_in_sequence_order() {
    check(
        "
        config linger=0ms idempotence=on backoff=10ms
        pid 7 0
        t=0 append p0 10B            -> appended p0 b0 new
        t=0 drain n1                 -> [p0 b0 seq=0 n=1]
        t=0 append p0 10B            -> appended p0 b1 new
        t=0 drain n1                 -> [p0 b1 seq=1 n=1]
        t=0 append p0 10B            -> appended p0 b2 new
        t=1ms respond p0 b1 NOT_ENOUGH_REPLICAS -> retried backoff=10ms
        t=1ms respond p0 b0 NOT_ENOUGH_REPLICAS -> retried backoff=10ms
        t=1ms queued p0              -> [b0 seq=0 attempts=1 n=1, b1 seq=1 attempts=1 n=1, b2 n=1]
        ",
    );
}

#[test]
fn idempotent_expired_retry_leaves_the_sequence_unresolved_then_bumps_the_epoch() {
    check(
        "
        config linger=0ms idempotence=on backoff=10ms delivery=100ms
        pid 7 0
        t=0 append p0 10B            -> appended p0 b0 new
        t=0 drain n1                 -> [p0 b0 seq=0 n=1]
        t=1ms respond p0 b0 REQUEST_TIMED_OUT -> retried backoff=10ms
        t=11ms drain n1              -> [p0 b0 seq=0 n=1]
        t=50ms append p0 10B         -> appended p0 b1 new
        t=100ms expire               -> [b0]
        t=100ms drain n1             -> []
        loop                         -> bump pid=7 epoch=1
        t=100ms drain n1             -> [p0 b1 seq=0 n=1]
        ",
    );
}

#[test]
fn message_too_large_splits_the_batch_keeping_sequences() {
    check(
        "
        config linger=0ms idempotence=on batch=16384
        pid 7 0
        repeat 20 t=0 append p0 1000B
        t=0 drain n1                 -> [p0 b0 seq=0 n=16]
        t=1ms respond p0 b0 MESSAGE_TOO_LARGE -> split [b2]
        t=1ms queued p0              -> [b2 seq=0 n=16, b1 n=4]
        t=1ms drain n1               -> [p0 b2 seq=0 n=16]
        ",
    );
}

#[test]
fn split_uses_batch_size_boundaries_and_single_record_too_large_fails() {
    check(
        "
        config linger=0ms batch=3000
        t=0 append p0 10000B         -> appended p0 b0 new
        t=0 drain n1                 -> [p0 b0 n=1]
        t=1ms respond p0 b0 MESSAGE_TOO_LARGE -> done failed RecordTooLargeException
        t=2ms append p0 1000B        -> appended p0 b1 new
        t=2ms append p0 1000B        -> appended p0 b1
        t=2ms drain n1               -> [p0 b1 n=2]
        t=3ms respond p0 b1 MESSAGE_TOO_LARGE -> split [b2]
        ",
    );
}

#[test]
fn a_leader_epoch_change_during_a_retry_skips_the_backoff_kip_951() {
    check(
        "
        config linger=0ms backoff=100ms
        leader p0 n1 epoch=1
        t=0 append p0 10B                       -> appended p0 b0 new
        t=0 drain n1                            -> [p0 b0 n=1]
        t=1ms respond p0 b0 NOT_LEADER_OR_FOLLOWER -> retried backoff=100ms
        t=2ms ready                             -> [] next=101ms
        t=3ms leader p0 n2 epoch=2
        t=3ms ready                             -> [n2]
        t=3ms drain n2                          -> [p0 b0 n=1]
        ",
    );
}

#[test]
fn idempotent_epoch_bump_rewrites_sequences_of_queued_retries() {
    // b0 fails for good before retries ran out: the partition asks for an epoch bump, and the
    // retried b1 is re-sequenced from 0 under the new epoch before it is sent again.
    check(
        "
        config linger=0ms idempotence=on backoff=10ms
        pid 7 0
        t=0 append p0 10B                       -> appended p0 b0 new
        t=0 drain n1                            -> [p0 b0 seq=0 n=1]
        t=0 append p0 10B                       -> appended p0 b1 new
        t=0 append p0 10B                       -> appended p0 b1
        t=0 drain n1                            -> [p0 b1 seq=1 n=2]
        t=1ms respond p0 b0 INVALID_RECORD      -> done failed INVALID_RECORD
        t=1ms respond p0 b1 OUT_OF_ORDER_SEQUENCE_NUMBER -> retried backoff=10ms
        t=1ms queued p0                         -> [b1 seq=1 attempts=1 n=2]
        loop                                    -> bump pid=7 epoch=1
        t=1ms queued p0                         -> [b1 seq=0 attempts=1 n=2]
        t=11ms drain n1                         -> [p0 b1 seq=0 n=2]
        t=11ms append p0 10B                    -> appended p0 b2 new
        t=11ms drain n1                         -> [p0 b2 seq=2 n=1]
        ",
    );
}

#[test]
fn idempotent_unknown_producer_id_is_retried() {
    check(
        "
        config linger=0ms idempotence=on backoff=10ms
        pid 7 0
        t=0 append p0 10B                       -> appended p0 b0 new
        t=0 drain n1                            -> [p0 b0 seq=0 n=1]
        t=1ms respond p0 b0 UNKNOWN_PRODUCER_ID log_start=-1 -> retried backoff=10ms
        loop                                    -> none
        t=11ms drain n1                         -> [p0 b0 seq=0 n=1]
        t=12ms respond p0 b0 UNKNOWN_PRODUCER_ID log_start=5 -> retried backoff=20ms
        loop                                    -> bump pid=7 epoch=1
        t=40ms drain n1                         -> [p0 b0 seq=0 n=1]
        ",
    );
}

#[test]
fn non_idempotent_out_of_order_sequence_is_not_retriable() {
    check(
        "
        config linger=0ms
        t=0 append p0 10B                       -> appended p0 b0 new
        t=0 drain n1                            -> [p0 b0 n=1]
        t=1ms respond p0 b0 OUT_OF_ORDER_SEQUENCE_NUMBER -> done failed OUT_OF_ORDER_SEQUENCE_NUMBER
        ",
    );
}

#[test]
fn legacy_duplicate_sequence_completes_without_an_offset() {
    check(
        "
        config linger=0ms idempotence=on
        pid 7 0
        t=0 append p0 10B                       -> appended p0 b0 new
        t=0 drain n1                            -> [p0 b0 seq=0 n=1]
        t=1ms respond p0 b0 DUPLICATE_SEQUENCE_NUMBER -> done ok offset=-1
        ",
    );
}

#[test]
fn a_retry_after_the_delivery_timeout_fails_instead() {
    check(
        "
        config linger=0ms delivery=100ms
        t=0 append p0 10B                       -> appended p0 b0 new
        t=0 drain n1                            -> [p0 b0 n=1]
        t=100ms respond p0 b0 NOT_ENOUGH_REPLICAS -> done failed NOT_ENOUGH_REPLICAS
        ",
    );
}

#[test]
fn ignore_keys_routes_keyed_records_through_the_sticky_partitioner() {
    check(
        "
        config ignore_keys=on adaptive=off
        leaders n1 n1 n1 n1 n1 n1
        entropy 1
        t=0 append 10B key=abc                  -> appended p1 b0 new
        ",
    );
}

#[test]
fn adaptive_partitioning_prefers_shorter_queues_once_every_partition_has_a_deque() {
    // p0 queues 2 batches, p1 one: weights max+1-size are 1 and 2, table [1, 3]. The first
    // sticky draw is 2: 2 % 3 = 2 picks p1 with load stats; uniformly 2 % 2 = 0 picks p0.
    let script = |adaptive: &str, expected: &str| {
        format!(
            "
            config linger=1s batch=100 adaptive={adaptive}
            leaders n1 n1
            entropy 2
            t=0 append p0 10B                   -> appended p0 b0 new
            t=0 append p0 90B                   -> appended p0 b1 new full
            t=0 append p1 10B                   -> appended p1 b2 new
            t=0 ready                           -> [n1]
            t=0 append 10B                      -> {expected}
            "
        )
    };
    check(&script("on", "appended p1 b2"));
    check(&script("off", "appended p0 b3 new full"));
}

#[test]
fn adaptive_partitioning_waits_until_every_partition_has_a_deque() {
    // Only p0 has a deque, so ready() builds no load stats and the draw is uniform.
    check(
        "
        config linger=1s batch=100 adaptive=on
        leaders n1 n1
        entropy 2
        t=0 append p0 10B                       -> appended p0 b0 new
        t=0 append p0 90B                       -> appended p0 b1 new full
        t=0 ready                               -> [n1]
        t=0 append 10B                          -> appended p0 b2 new full
        ",
    );
}

#[test]
fn availability_timeout_excludes_partitions_of_a_node_that_cannot_take_sends() {
    // Queue sizes (1, 1) are equal: uniform, draw 3 % 2 = 1 -> p1. Once n2 has had data
    // ready but could not drain it for longer than the timeout, p1 leaves the table [1]: p0.
    let script = |report: &str, expected: &str| {
        format!(
            "
            config linger=1s availability=10ms adaptive=on
            leaders n1 n2
            entropy 3
            t=0 append p0 10B                   -> appended p0 b0 new
            t=0 append p1 10B                   -> appended p1 b1 new
            t=0 node n2 cannot
            t=20ms node n2 {report}
            t=20ms ready                        -> [] next=1s
            t=20ms append 10B                   -> {expected}
            "
        )
    };
    check(&script("cannot", "appended p0 b0"));
    check(&script("can", "appended p1 b1"));
}

#[test]
fn a_woken_append_resumed_after_close_fails_and_returns_its_memory() {
    check(
        "
        config linger=0ms batch=1000 buffer=1000
        t=0 append p0 10B            -> appended p0 b0 new
        t=0 append p1 10B            -> wait t0 deadline=60s
        t=0 drain n1                 -> [p0 b0 n=1]
        t=1ms respond p0 b0 ok offset=0 -> done ok offset=0
        woken                        -> [t0]
        close                        -> [t0]       # every blocked append now resumes as closed
        t=2ms resume t0              -> closed
        t=2ms pool                   -> available=1000 waiters=0
        ",
    );
}

#[test]
fn absurdly_large_fields_are_rejected_without_overflow() {
    check(
        "
        t=0 append p0 4294967295B    -> too-large 4294967295 max-request
        ",
    );
}

#[test]
fn a_retried_batch_is_sendable_when_its_backoff_ends_even_with_a_long_linger() {
    // A drained batch is closed, so it counts as full: linger never applies to it again.
    check(
        "
        config linger=1s backoff=100ms backoff_max=1s
        t=0 append p0 10B                       -> appended p0 b0 new
        t=1s drain n1                           -> [p0 b0 n=1]
        t=1001ms respond p0 b0 NOT_ENOUGH_REPLICAS -> retried backoff=100ms
        t=1001ms append p0 10B                  -> appended p0 b1 new full
        t=1100ms ready                          -> [] next=1101ms
        t=1101ms ready                          -> [n1]
        ",
    );
}
