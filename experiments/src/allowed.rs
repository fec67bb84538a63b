//! What each simulator key allows, in the user's terms, for messages about values of the wrong
//! type or shape: serde knows only Rust types (`u32`, `f64`, an untagged enum), so a message
//! about `[cluster] brokers = -1` says "a whole number from 1 to 100" instead.
//!
//! The ranges here repeat the checks of the models (`models::cluster::config`,
//! `models::producer::workload`, `models::network`, `models::faults`, `models::world`), which
//! are the authority; a test keeps the two in step for the keys whose ranges are constants.

use crate::spec::PathPart;

/// A duration key.
pub const DURATION: &str = "a number of milliseconds from 0 to 10000000000 (10^7 s)";

const DIST: &str = "a table { dist = \"constant\", ms = ... }, { dist = \"uniform\", lo_ms = ..., \
                    hi_ms = ... }, { dist = \"normal\", mean_ms = ..., std_dev_ms = ... }, \
                    { dist = \"lognormal\", median_ms = ..., sigma = 0 to 5 } or \
                    { dist = \"exponential\", mean_ms = ... }";

const FAULT_RATE: &str = "0 (off) or a rate from 1e-7 to 1e6 per second";

const PROBABILITY: &str = "a probability from 0.0 to 1.0";

const BOOLEAN: &str = "true or false";

/// What the key at `path` in `[section]` allows, when known.
pub fn allowed(section: &str, path: &[PathPart]) -> Option<&'static str> {
    let keys: Vec<&str> = path
        .iter()
        .filter_map(|part| match part {
            PathPart::Key(key) => Some(key.as_str()),
            PathPart::Index(_) => None,
        })
        .collect();
    let last = *keys.last()?;
    let parent = keys.len().checked_sub(2).map(|i| keys[i]);
    if let Some(text) = by_section(section, parent, last) {
        return Some(text);
    }
    if matches!(
        parent,
        Some("latency" | "restart_delay" | "link_flap_duration")
    ) {
        return Some(match last {
            "sigma" => "a number from 0 to 5",
            "dist" => {
                "one of \"constant\", \"uniform\", \"normal\", \"lognormal\" or \
                 \"exponential\", with its keys: a table { dist = \"constant\", ms = ... }, \
                 { dist = \"uniform\", lo_ms = ..., hi_ms = ... }, { dist = \"normal\", \
                 mean_ms = ..., std_dev_ms = ... }, { dist = \"lognormal\", median_ms = ..., \
                 sigma = 0 to 5 } or { dist = \"exponential\", mean_ms = ... }"
            }
            _ => DURATION,
        });
    }
    // A count per millisecond is not a duration.
    if (last.ends_with("_ms") || last.ends_with(".ms")) && !last.ends_with("per_virtual_ms") {
        return Some(DURATION);
    }
    None
}

fn by_section(section: &str, parent: Option<&str>, last: &str) -> Option<&'static str> {
    Some(match (section, parent, last) {
        ("workload", _, "mode") => "\"async\" or \"sync\"",
        ("workload", None, "arrivals") => {
            "a table { kind = \"constant\", per_sec = ... }, { kind = \"poisson\", per_sec = ... }, \
             { kind = \"on_off\", per_sec = ..., on_ms = ..., off_ms = ... } or \
             { kind = \"saturate\" }"
        }
        ("workload", Some("arrivals"), "per_sec") => {
            "a rate from 1e-7 to 1e9 records per second (arrivals are whole nanoseconds apart)"
        }
        ("workload", None, "keys") => {
            "a table { kind = \"none\" }, { kind = \"uniform\", count = ... } or \
             { kind = \"zipf\", count = ..., s = ... }"
        }
        ("workload", Some("keys"), "count") => "a whole number of keys from 1",
        ("workload", Some("keys"), "s") => "a number above 0, at most 100",
        ("workload", None, "value_bytes") => {
            "a byte count from 0 to 2147483647, or a table \
             { dist = \"uniform\", min = ..., max = ... } or { dist = \"exponential\", mean = ... }"
        }
        ("workload", Some("value_bytes"), "dist") => {
            "\"uniform\" (with min and max) or \"exponential\" (with mean)"
        }
        ("workload", Some("value_bytes"), _) => "a byte count from 0 to 2147483647",
        ("workload", None, "records") => "a whole number from 0 (no limit) to 10000000000",
        ("workload", None, "end") => "\"flush\", \"close\" or \"exit\"",
        ("workload", None, "values") => {
            "a table { kind = \"random\" }, { kind = \"text\" }, { kind = \"json\", fields = 1 to 64 } \
             or { kind = \"file\", path = \"one value per line\" }"
        }
        ("workload", Some("values"), "fields") => "a whole number of JSON fields from 1 to 64",
        ("workload", Some("values"), "path") => "a file name, relative to the experiment file",
        ("workload", None, "compression") => {
            "a table with speed_factor, ratio, compress_mb_per_sec, decompress_mb_per_sec, \
             calibration and sample_kib"
        }
        ("workload", Some("compression"), "speed_factor") => "a number above 0, at most 1000000",
        ("workload", Some("compression"), "ratio") => "a number above 0, at most 2",
        ("workload", Some("compression"), "compress_mb_per_sec" | "decompress_mb_per_sec") => {
            "a speed in MB/s above 0, at most 1000000"
        }
        ("workload", Some("compression"), "calibration") => {
            "a file written by `linger calibrate compression`, relative to the experiment file"
        }
        ("workload", Some("compression"), "sample_kib") => "a whole number of KiB from 16 to 4096",
        ("cluster", None, "brokers") => "a whole number from 1 to 100",
        ("cluster", None, "partitions") => "a whole number from 1 to 100000",
        ("cluster", None, "replication_factor") => "a whole number from 1 to brokers",
        ("cluster", None, "min.insync.replicas") => "a whole number from 1 to replication_factor",
        ("cluster", None, "max.message.bytes") => "a whole number of bytes from 1 to 2147483647",
        ("cluster", None, "transaction.max.timeout.ms") => {
            "a whole number of ms from 1 to 2147483647"
        }
        ("workload", None, "commit_every_records") => {
            "a whole number of records from 1 to 10000000000"
        }
        ("workload", None, "commit_every_ms") => "a number of ms from 0.1",
        ("cluster", None, "compression.type") => {
            "the topic's codec: \"producer\" (the default), \"uncompressed\", \"gzip\", \"snappy\", \
             \"lz4\" or \"zstd\""
        }
        ("cluster", None, "append_cost_per_batch_ns") => {
            "a whole number of ns from 0 to 1000000000000"
        }
        ("cluster", None, "append_cost_per_byte_ns") => "a number of ns from 0 to 1000000",
        ("cluster", None, "num.io.threads") => "a whole number of threads from 1 to 10000",
        ("cluster", None, "queued.max.requests") => {
            "a whole number of requests from 1 to 2147483647"
        }
        ("cluster", None, "fetch_cost_per_request_ns") => {
            "a whole number of ns from 0 to 1000000000000"
        }
        ("cluster", None, "unclean.leader.election.enable" | "hw_frozen_under_min_isr") => BOOLEAN,
        ("cluster", None, "eligible.leader.replicas.version") => {
            "0 (off) or 1 (on; Kafka 4.0 and later, the default from 4.1)"
        }
        ("cluster", None, "alter_partition_round_trip_ms") => "a number of ms from 0 to 30000",
        ("network", _, "latency") => DIST,
        ("network", _, "bandwidth_bytes_per_s") => {
            "0 (unlimited) or a whole number of bytes per second from 1000"
        }
        ("network", _, "request_loss" | "response_loss") => PROBABILITY,
        ("network", None, "tcp_rto_min_ms") => "a number of ms from 1 to 10000000000 (Linux: 200)",
        ("network", None, "tcp_rto_max_ms") => {
            "a number of ms from tcp_rto_min_ms to 10000000000 (Linux: 120000)"
        }
        ("network", None, "tcp_retries2") => "a whole number from 1 to 100 (Linux: 15)",
        ("network", None, "links") => {
            "a list of tables [[network.links]] with link = [\"client\", \"broker0\"] and \
             optional latency, bandwidth_bytes_per_s, request_loss, response_loss"
        }
        ("network" | "faults", _, "link") => {
            "two node names, \"client\" or \"broker<N>\", such as [\"client\", \"broker0\"]"
        }
        ("faults", None, "schedule") => {
            "a list of tables [[faults.schedule]] with at_ms, action and its arguments"
        }
        ("faults", Some("schedule"), "action") => {
            "one of \"crash\", \"power_off\", \"restart\", \"shutdown\", \"cut\", \"heal\", \"reset\", \
             \"blackhole\", \"drop_responses\", \"error\", \"delay_responses\", \
             \"latency_spike\", \"fence\", \"unfence\", \"isolate\", \"rejoin\""
        }
        ("faults", Some("schedule"), "broker") => "a broker index from 0 to brokers - 1",
        ("faults", Some("schedule"), "n") => {
            "a whole number from 1 (responses, or produce requests for error)"
        }
        ("faults", Some("schedule"), "partition") => "a partition index from 0 to partitions - 1",
        ("faults", Some("schedule"), "error" | "stage" | "api") => {
            "text: error a Kafka error name such as \"NOT_ENOUGH_REPLICAS\"; stage \
             \"before_append\" or \"after_append\"; api \"produce\", \"metadata\", \
             \"init_producer_id\" or \"any\""
        }
        ("faults", Some("random"), "crash_rate_per_broker_per_s" | "link_flap_rate_per_s") => {
            FAULT_RATE
        }
        ("faults", Some("random"), "max_down_brokers") => "a whole number from 0 to brokers - 1",
        ("faults", Some("random"), "restart_delay" | "link_flap_duration") => DIST,
        ("run", None, "max_events") => "a whole number of events (0: derived from the workload)",
        ("run", None, "max_events_per_virtual_ms") => {
            "a whole number of events in one virtual millisecond (0: the default of 50000)"
        }
        ("run", None, "max_memory_mb") => "a whole number of MiB (0: the default of 8192)",
        _ => return None,
    })
}

/// A serde message with Rust's type words replaced by the user's (`u32` is "a whole number",
/// `f64` "a number"), for keys [`allowed`] does not know.
pub fn in_user_terms(message: &str) -> String {
    let replacements = [
        ("expected u8", "expected a whole number from 0 to 255"),
        ("expected u16", "expected a whole number from 0 to 65535"),
        (
            "expected u32",
            "expected a whole number from 0 to 4294967295",
        ),
        ("expected u64", "expected a whole number >= 0"),
        ("expected usize", "expected a whole number >= 0"),
        ("expected i32", "expected a whole number"),
        ("expected i64", "expected a whole number"),
        ("expected f64", "expected a number"),
        ("expected f32", "expected a number"),
        ("expected a boolean", "expected true or false"),
    ];
    let mut text = message.to_string();
    for (from, to) in replacements {
        if let Some(start) = text.find(from) {
            let end = start + from.len();
            let at_word_end = text[end..]
                .chars()
                .next()
                .is_none_or(|c| !c.is_ascii_alphanumeric());
            if at_word_end {
                text.replace_range(start..end, to);
            }
        }
    }
    text
}

/// What was found, from a serde message `invalid type: string "x", expected f64` or
/// `invalid value: integer `-1`, expected u32` (`string "x"`, `integer -1`).
pub fn found_in(message: &str) -> Option<String> {
    let rest = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))?;
    let found = rest.split(", expected").next()?;
    Some(found.replace('`', ""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(text: &str) -> Vec<PathPart> {
        PathPart::parse(text)
    }

    #[test]
    fn known_keys_name_their_range_and_type_words_are_translated() {
        assert_eq!(
            allowed("cluster", &path("brokers")),
            Some("a whole number from 1 to 100")
        );
        assert_eq!(allowed("run", &path("drain_ms")), Some(DURATION));
        assert_eq!(
            allowed("faults", &path("random.link_flap_duration.sigma")),
            Some("a number from 0 to 5")
        );
        assert!(
            allowed("network", &path("latency.dist"))
                .is_some_and(|text| text.starts_with("one of \"constant\", \"uniform\"")),
            "a distribution's kind is not a duration"
        );
        assert_eq!(
            allowed("faults", &path("schedule[2].broker")),
            Some("a broker index from 0 to brokers - 1")
        );
        assert_eq!(
            in_user_terms("invalid value: integer `-1`, expected u32"),
            "invalid value: integer `-1`, expected a whole number from 0 to 4294967295"
        );
        assert_eq!(
            found_in("invalid type: string \"x\", expected f64").as_deref(),
            Some("string \"x\"")
        );
    }

    #[test]
    fn the_ranges_match_the_models_constants() {
        use models::cluster::config::{BROKERS_MAX, PARTITIONS_MAX};
        let brokers = allowed("cluster", &path("brokers")).expect("known");
        assert!(brokers.ends_with(&format!("to {BROKERS_MAX}")), "{brokers}");
        let partitions = allowed("cluster", &path("partitions")).expect("known");
        assert!(
            partitions.ends_with(&format!("to {PARTITIONS_MAX}")),
            "{partitions}"
        );
        let max_ms = models::cluster::config::DURATION_MS_MAX;
        assert!(DURATION.contains(&format!("to {max_ms}")), "{DURATION}");
        let bytes = allowed("workload", &path("value_bytes")).expect("known");
        let max_bytes = models::producer::workload::VALUE_BYTES_MAX;
        assert!(bytes.contains(&format!("to {max_bytes}")), "{bytes}");
    }
}
