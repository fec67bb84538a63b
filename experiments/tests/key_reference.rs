//! The key reference (`linger keys`, `docs/keys.md`) cannot drift from the parser: every table
//! the parser reads is asked for its keys (its "allowed keys" answer to an unknown one) and
//! compared with the reference both ways; every example parses; every default is what an empty
//! section gives; the producer keys are the batching core's; docs/keys.md is the generated text.

use std::collections::BTreeSet;

use experiments::reference::{KeyDoc, entries, markdown, producer_doc_keys};
use experiments::spec::{Experiment, Source};
use experiments::world::world_config;

/// Parses `text` as an experiment file in a directory that also holds a `producer.properties`,
/// a `values.txt` and a `speeds.txt` (for the examples of the keys that name files) and builds
/// its world; the error message on failure.
fn configure(text: &str) -> Result<models::world::WorldConfig, String> {
    static FILES: std::sync::Once = std::sync::Once::new();
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("key-reference");
    // Written once per test process: the tests run in parallel and read these files.
    FILES.call_once(|| {
        std::fs::create_dir_all(&dir).expect("scratch dir");
        std::fs::write(dir.join("producer.properties"), "acks=all\n").expect("writes");
        std::fs::write(dir.join("values.txt"), "{\"id\": 1}\n{\"id\": 2}\n").expect("writes");
        std::fs::write(dir.join("speeds.txt"), "lz4 9 700 4000\n").expect("writes");
    });
    let source = Source {
        display_name: "k.toml".to_owned(),
        text: text.to_owned(),
        base_dir: dir,
    };
    let experiment = Experiment::parse(source, &[]).map_err(|e| e.to_string())?;
    world_config(&experiment.source, &experiment.sections).map_err(|e| e.to_string())
}

/// The keys the parser allows in the table a probe key was put in: the list after "allowed
/// keys: " in its refusal, or none when the table takes no key besides its kind.
fn allowed_keys(text: &str) -> BTreeSet<String> {
    let message = configure(text).expect_err("the probe key is refused");
    assert!(message.contains("unknown key `zz_probe`"), "{message}");
    match message.split_once("allowed keys: ") {
        Some((_, list)) => list.split(", ").map(|k| k.trim().to_owned()).collect(),
        None => BTreeSet::new(),
    }
}

/// The tags a tagged table takes, from the parser's answer to an unknown one.
fn variants(text: &str) -> Vec<String> {
    let message = configure(text).expect_err("the probe tag is refused");
    let list = message
        .split_once("expected one of ")
        .map(|(_, list)| list.to_owned())
        .or_else(|| {
            message
                .split_once("allowed: one of ")
                .map(|(_, list)| list.split(", with").next().unwrap_or("").to_owned())
        })
        .unwrap_or_else(|| panic!("no list of kinds in: {message}"));
    list.split(|c| [',', ' '].contains(&c))
        .map(|part| part.trim_matches(['`', '"', '.']))
        .filter(|part| !part.is_empty() && *part != "or")
        .map(str::to_owned)
        .collect()
}

/// The reference's keys of `section` under `prefix` (`""` for the section itself, `"arrivals."`,
/// `"links[]."`), without the prefix, that apply with `variant` (or whatever the tag).
fn documented(section: &str, prefix: &str, variant: Option<&str>) -> BTreeSet<String> {
    entries()
        .into_iter()
        .filter(|e| e.section == section)
        .filter_map(|e: KeyDoc| {
            let rest = e.key.strip_prefix(prefix)?.to_owned();
            let nested = rest.contains("[]") || (prefix.is_empty() && is_sub_table_path(&e));
            let applies = match variant {
                Some(tag) => e.variants.is_empty() || e.variants.contains(&tag),
                None => true,
            };
            (!nested && applies).then_some(rest)
        })
        .collect()
}

/// Whether a reference key is a path into a sub-table (`arrivals.per_sec`) rather than one of
/// Kafka's dotted names (`min.insync.replicas`).
fn is_sub_table_path(entry: &KeyDoc) -> bool {
    let first = entry.key.split(['.', '[']).next().unwrap_or("");
    entry.key != first
        && entries()
            .iter()
            .any(|e| e.section == entry.section && e.key == first)
}

#[test]
fn every_section_table_has_exactly_the_documented_keys() {
    for section in ["workload", "cluster", "network", "faults", "run"] {
        let parser = allowed_keys(&format!("[{section}]\nzz_probe = 1\n"));
        assert_eq!(parser, documented(section, "", None), "[{section}]");
    }
    let tables = [
        ("faults", "random.", "[faults.random]\nzz_probe = 1\n"),
        ("network", "links[].", "[[network.links]]\nzz_probe = 1\n"),
        (
            "workload",
            "compression.",
            "[workload.compression]\nzz_probe = 1\n",
        ),
        (
            "faults",
            "schedule[].",
            "[[faults.schedule]]\nat_ms = 1\naction = \"crash\"\nzz_probe = 1\n",
        ),
    ];
    for (section, prefix, text) in tables {
        let mut parser = allowed_keys(text);
        let mut ours = documented(section, prefix, None);
        // Tables inside these tables are listed with their own prefix in the reference.
        parser.retain(|k| !k.is_empty());
        ours.retain(|k| !k.is_empty());
        assert_eq!(parser, ours, "{section}.{prefix}");
    }
}

#[test]
fn every_kind_of_every_tagged_table_has_exactly_the_documented_keys() {
    let tagged = [
        (
            "workload",
            "arrivals",
            "kind",
            "[workload]\nsend_cpu_ms = 0.01\n",
        ),
        ("workload", "keys", "kind", "[workload]\n"),
        ("workload", "values", "kind", "[workload]\n"),
    ];
    for (section, table, tag, prelude) in tagged {
        let kinds = variants(&format!("{prelude}{table} = {{ {tag} = \"zz\" }}\n"));
        assert!(kinds.len() >= 3, "{kinds:?}");
        let documented_tag = format!("{table}.{tag}");
        let tag_doc = entries()
            .into_iter()
            .find(|e| e.section == section && e.key == documented_tag)
            .expect("the tag is documented");
        for kind in &kinds {
            assert!(tag_doc.allowed.contains(&format!("\"{kind}\"")), "{kind}");
            let parser = allowed_keys(&format!(
                "{prelude}{table} = {{ {tag} = \"{kind}\", zz_probe = 1 }}\n"
            ));
            let mut ours = documented(section, &format!("{table}."), Some(kind));
            ours.remove(tag);
            assert_eq!(parser, ours, "{section}.{table} with {tag} = {kind}");
        }
    }
    // Every latency-like table takes the same distributions.
    let kinds = variants("[network]\nlatency = { dist = \"zz\" }\n");
    assert_eq!(kinds.len(), 5, "{kinds:?}");
    for kind in &kinds {
        let parser = allowed_keys(&format!(
            "[network]\nlatency = {{ dist = \"{kind}\", zz_probe = 1 }}\n"
        ));
        let mut ours = documented("distribution", "", Some(kind));
        ours.remove("dist");
        assert_eq!(parser, ours, "a {kind} distribution");
    }
}

/// The table an example is written under.
fn header_of(section: &str) -> &str {
    match section {
        "distribution" => "network",
        other => other,
    }
}

#[test]
fn every_example_is_accepted_and_every_key_says_what_it_allows() {
    for entry in entries() {
        assert!(
            !entry.allowed.is_empty(),
            "{}: no allowed values",
            entry.key
        );
        assert!(!entry.doc.is_empty(), "{}: no description", entry.key);
        assert!(
            !entry.allowed.contains("see the key's description"),
            "{}.{}: the reference does not say what is allowed",
            entry.section,
            entry.key
        );
        if entry.section == "not simulated" {
            continue;
        }
        // A commit interval needs a transactional producer to be accepted.
        let companion = if entry.key.starts_with("commit_every_") {
            "[producer]\n\"transactional.id\" = \"t\"\n"
        } else {
            ""
        };
        let text = format!(
            "{companion}[{}]\n{}\n",
            header_of(entry.section),
            entry.example
        );
        if entry.section == "sweep" {
            let experiment = Experiment::parse(Source::built_in("k.toml", &text), &[])
                .unwrap_or_else(|e| panic!("{}: {e}\n{text}", entry.key));
            assert!(
                entry.key == "on_invalid" || !experiment.axes.is_empty(),
                "{text}"
            );
            continue;
        }
        if let Err(message) = configure(&text) {
            panic!("{}.{}: {message}\n{text}", entry.section, entry.key);
        }
    }
}

#[test]
fn every_written_default_is_the_default_the_parser_uses() {
    let empty = configure("").expect("the empty file is valid");
    let debug_of = |config: &models::world::WorldConfig, section: &str| match section {
        "workload" => format!("{:?}", config.workload),
        "cluster" => format!("{:?}", config.cluster),
        "network" => format!("{:?}", config.network),
        "faults" => format!("{:?}", config.faults),
        "run" => format!("{:?}", config.run),
        _ => String::new(),
    };
    let mut checked = 0;
    for entry in entries() {
        let section = entry.section;
        if !["workload", "cluster", "network", "faults", "run"].contains(&section)
            || entry.key.contains('[')
            || ["seed", "replicates"].contains(&entry.key)
        {
            continue;
        }
        let value = format!("v = {}", entry.default);
        if value.parse::<toml::Table>().is_err() {
            continue;
        }
        let key = if is_sub_table_path(&entry) || !entry.key.contains('.') {
            entry.key.to_owned()
        } else {
            format!("\"{}\"", entry.key)
        };
        let text = format!("[{section}]\n{key} = {}\n", entry.default);
        // A key inside a tagged table only makes sense with its tag: the tables are checked
        // whole instead (arrivals, keys, value_bytes, latency).
        if is_sub_table_path(&entry) {
            continue;
        }
        let config = configure(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(
            debug_of(&config, section),
            debug_of(&empty, section),
            "the documented default of {section}.{}",
            entry.key
        );
        checked += 1;
    }
    assert!(checked >= 35, "only {checked} defaults checked");
}

#[test]
fn every_producer_key_linger_models_is_documented_once() {
    let modelled: Vec<String> = batching::config::ProducerConfig::from_entries(
        batching::config::KafkaVersion::default(),
        Vec::<batching::config::ConfigEntry>::new(),
    )
    .expect("the defaults are valid")
    .effective_listing()
    .iter()
    .map(|entry| entry.key.to_owned())
    .filter(|key| key != batching::config::KAFKA_VERSION_KEY)
    .collect();
    let documented: Vec<String> = producer_doc_keys()
        .iter()
        .map(|k| (*k).to_owned())
        .collect();
    assert_eq!(documented, modelled);
    let in_reference: Vec<KeyDoc> = entries()
        .into_iter()
        .filter(|e| e.section == "producer")
        .collect();
    for key in &modelled {
        let entry = in_reference
            .iter()
            .find(|e| e.key == key)
            .expect("in the reference");
        assert!(
            !entry.example.is_empty() && entry.doc != "undocumented here",
            "{key}"
        );
    }
}

#[test]
fn every_not_simulated_key_is_accepted_by_check_config() {
    let keys: Vec<String> = entries()
        .into_iter()
        .filter(|e| e.section == "not simulated")
        .map(|e| e.key.replace('*', "anything"))
        .collect();
    assert!(
        keys.iter().any(|k| k.starts_with("schema.registry.")),
        "{keys:?}"
    );
    let text: String = keys.iter().map(|key| format!("{key}=x\n")).collect();
    let entries =
        batching::config::parse_properties(text.as_bytes(), Some("p.properties")).expect("parses");
    let resolved = batching::config::ProducerConfig::from_entries(
        batching::config::KafkaVersion::default(),
        entries,
    )
    .unwrap_or_else(|errors| panic!("{errors}"));
    let listed = resolved.warnings.iter().any(|w| {
        matches!(&w.kind, batching::config::ConfigWarningKind::NotModelled { keys: listed } if listed.len() == keys.len())
    });
    assert!(
        listed,
        "{} keys, warnings: {:?}",
        keys.len(),
        resolved.warnings
    );
}

#[test]
fn docs_keys_md_is_the_generated_reference() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/keys.md");
    let generated = markdown();
    if std::env::var_os("LINGER_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).expect("writes docs/keys.md");
    }
    let written = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        written == generated,
        "docs/keys.md is out of date: run `cargo run -p experiments -- keys --markdown > docs/keys.md` \
         (or LINGER_UPDATE_DOCS=1 cargo test -p experiments --test key_reference)"
    );
}
