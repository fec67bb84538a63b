//! Tests of the Java properties parser (`java.util.Properties.load` semantics) and
//! properties-driven proptests.

use proptest::prelude::*;

use super::*;

fn parse(text: &str) -> Vec<(String, String, u32)> {
    parse_properties(text.as_bytes(), Some("p.properties"))
        .unwrap_or_else(|error| panic!("parse failed: {error}"))
        .into_iter()
        .map(|entry| {
            let RawValue::Str(value) = entry.value else {
                panic!("properties values are strings");
            };
            let line = entry.location.line.expect("every entry has a line");
            (entry.key, value, line)
        })
        .collect()
}

fn pair(key: &str, value: &str, line: u32) -> (String, String, u32) {
    (key.to_owned(), value.to_owned(), line)
}

// Properties.load: `#` and `!` comments, leading blanks, blank lines.
#[test]
fn comments_and_blank_lines_are_skipped() {
    let text = "# comment\n  ! also a comment\n\n\t\nlinger.ms=5\n   # indented comment\n";
    assert_eq!(parse(text), [pair("linger.ms", "5", 5)]);
}

// Properties.load0: `=`, `:` and blanks separate; blanks around one separator are skipped.
#[test]
fn equals_colon_and_whitespace_separate_key_and_value() {
    let text = "a=1\nb:2\nc 3\nd   =   4\ne\t:\t5\nf=:6\ng  h\n";
    assert_eq!(
        parse(text),
        [
            pair("a", "1", 1),
            pair("b", "2", 2),
            pair("c", "3", 3),
            pair("d", "4", 4),
            pair("e", "5", 5),
            pair("f", ":6", 6),
            pair("g", "h", 7),
        ]
    );
}

// Properties.load0: a key alone or with an empty value has the value "".
#[test]
fn empty_values_are_kept() {
    assert_eq!(
        parse("a=\nb\nc = \n"),
        [pair("a", "", 1), pair("b", "", 2), pair("c", "", 3)]
    );
}

// Trailing blanks of a value are part of the value, as in Java.
#[test]
fn trailing_blanks_of_a_value_are_kept() {
    assert_eq!(parse("a = x  \n"), [pair("a", "x  ", 1)]);
}

// Properties.loadConvert: \t \n \r \f \\ \uXXXX, other escapes stand for themselves.
#[test]
fn escapes_are_resolved() {
    let text = "a=tab\\there\nb=\\n\\r\\f\nc=back\\\\slash\nd=\\u0041\\u00e9\ne=\\q\\#\n";
    assert_eq!(
        parse(text),
        [
            pair("a", "tab\there", 1),
            pair("b", "\n\r\x0c", 2),
            pair("c", "back\\slash", 3),
            pair("d", "Aé", 4),
            pair("e", "q#", 5),
        ]
    );
}

// \uXXXX escapes are UTF-16: a surrogate pair is one character.
#[test]
fn surrogate_pairs_combine_and_lone_surrogates_fail() {
    assert_eq!(parse("a=\\uD83D\\uDE00\n"), [pair("a", "😀", 1)]);
    let error = parse_properties(b"a=\\uD83D\n", None).expect_err("lone surrogate");
    assert_eq!(error.kind, PropertiesErrorKind::LoneSurrogate);
}

// Escaped separators belong to the key.
#[test]
fn escaped_separators_stay_in_the_key() {
    assert_eq!(
        parse("a\\=b=c\nx\\:y:z\nsp\\ ace v\n"),
        [
            pair("a=b", "c", 1),
            pair("x:y", "z", 2),
            pair("sp ace", "v", 3)
        ]
    );
}

// LineReader: an odd trailing backslash continues the line; the next line's leading blanks go.
#[test]
fn backslash_continues_a_line_and_drops_leading_blanks() {
    let text = "linger.ms=1\\\n      0\nnext=1\n";
    assert_eq!(
        parse(text),
        [pair("linger.ms", "10", 1), pair("next", "1", 3)]
    );
    // An even number of backslashes is an escaped backslash, not a continuation.
    assert_eq!(
        parse("a=b\\\\\nc=d\n"),
        [pair("a", "b\\", 1), pair("c", "d", 2)]
    );
    // A continuation line starting with # is content, not a comment.
    assert_eq!(parse("a=1\\\n#2\n"), [pair("a", "1#2", 1)]);
    // A blank continuation line ends the logical line.
    assert_eq!(
        parse("a=1\\\n\nb=2\n"),
        [pair("a", "1", 1), pair("b", "2", 3)]
    );
}

// LineReader: a comment line is never continued, even if it ends with a backslash.
#[test]
fn comment_lines_do_not_continue() {
    assert_eq!(
        parse("# note \\\nlinger.ms=5\n"),
        [pair("linger.ms", "5", 2)]
    );
}

// LineReader: a trailing lone backslash at the end of the file is dropped.
#[test]
fn trailing_backslash_at_end_of_file_is_dropped() {
    assert_eq!(parse("a=xyz\\"), [pair("a", "xyz", 1)]);
}

// Lines end with \n, \r\n or \r; line numbers count each once.
#[test]
fn crlf_and_cr_line_endings_count_lines_correctly() {
    assert_eq!(
        parse("a=1\r\nb=2\rc=3\n\r\nd=4"),
        [
            pair("a", "1", 1),
            pair("b", "2", 2),
            pair("c", "3", 3),
            pair("d", "4", 5)
        ]
    );
}

// linger reads UTF-8 and names the file and line of the first bad byte.
#[test]
fn non_utf8_bytes_fail_with_file_and_line() {
    let bytes = b"a=1\nb=caf\xe9\n";
    let error = parse_properties(bytes, Some("conf/p.properties")).expect_err("latin-1 byte");
    assert_eq!(error.kind, PropertiesErrorKind::NotUtf8);
    assert_eq!(error.location, Location::at("conf/p.properties", 2));
    assert!(
        error
            .to_string()
            .starts_with("conf/p.properties:2: not valid UTF-8")
    );
}

// Properties.loadConvert: "Malformed \uxxxx encoding."
#[test]
fn malformed_unicode_escapes_fail_with_the_line() {
    for text in ["x=1\na=\\u12\n", "x=1\na=\\uZZZZ\n", "x=1\na=\\u+123\n"] {
        let error = parse_properties(text.as_bytes(), Some("p")).expect_err("malformed");
        assert_eq!(
            error.kind,
            PropertiesErrorKind::MalformedUnicodeEscape,
            "{text:?}"
        );
        assert_eq!(error.location.line, Some(2));
    }
}

// A line with an empty key is an error in linger (Java would store the key "").
#[test]
fn empty_key_is_an_error() {
    let error = parse_properties(b"=5\n", Some("p")).expect_err("empty key");
    assert_eq!(error.kind, PropertiesErrorKind::EmptyKey);
}

// Duplicates are all returned; the resolver keeps the last (Properties semantics).
#[test]
fn duplicate_keys_are_all_returned_in_order() {
    assert_eq!(parse("a=1\na=2\n"), [pair("a", "1", 1), pair("a", "2", 2)]);
}

// End to end: a properties file through the resolver, locations included.
#[test]
fn properties_file_resolves_with_locations() {
    let text = "acks=all\nlinger.ms = 20\nbatch.size: 65536\nlinger_ms=1\n";
    let entries = parse_properties(text.as_bytes(), Some("p.properties")).expect("valid file");
    let failure = ProducerConfig::from_entries(KafkaVersion::V4_0, entries).expect_err("typo");
    assert_eq!(failure.errors[0].location, Location::at("p.properties", 4));
}

/// Writes a key or value so that `Properties.load` reads it back unchanged.
fn escape(text: &str, is_key: bool) -> String {
    let mut out = String::new();
    for (index, character) in text.chars().enumerate() {
        match character {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\x0c' => out.push_str("\\f"),
            '=' | ':' | '#' | '!' => {
                out.push('\\');
                out.push(character);
            }
            ' ' if is_key || index == 0 => out.push_str("\\ "),
            other => out.push(other),
        }
    }
    out
}

proptest! {
    // The parser returns a result (never panics) for any bytes.
    #[test]
    fn parser_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse_properties(&bytes, Some("fuzz"));
    }

    // Properties.store-style escaping round-trips through Properties.load semantics.
    #[test]
    fn escaped_pairs_round_trip(
        key in "[a-z.=: \\\\#!\t\u{e9}]{1,12}",
        value in "[a-z.=: \\\\#!\t\n\u{e9}]{0,12}",
    ) {
        let text = format!("{}={}\n", escape(&key, true), escape(&value, false));
        let parsed = parse(&text);
        prop_assert_eq!(parsed, vec![(key, value, 1)]);
    }

    // Any valid value set through a properties file comes back unchanged in the listing.
    #[test]
    fn values_set_via_properties_round_trip_through_the_listing(
        batch_size in 0u32..=i32::MAX as u32,
        buffer_memory in 0u64..=i64::MAX as u64,
        max_block_ms in 0u64..=i64::MAX as u64,
        compression in 0usize..5,
        ignore_keys in any::<bool>(),
        transaction_timeout_ms in any::<i32>(),
    ) {
        let codec = CompressionType::ALL[compression].name();
        let text = format!(
            "batch.size={batch_size}\nbuffer.memory={buffer_memory}\nmax.block.ms={max_block_ms}\n\
             compression.type={codec}\npartitioner.ignore.keys={ignore_keys}\n\
             transaction.timeout.ms={transaction_timeout_ms}\n"
        );
        let entries = parse_properties(text.as_bytes(), Some("p")).expect("valid file");
        let resolved = ProducerConfig::from_entries(KafkaVersion::V4_0, entries).expect("valid config");
        let rows = resolved.effective_listing();
        let expected = [
            ("batch.size", batch_size.to_string()),
            ("buffer.memory", buffer_memory.to_string()),
            ("max.block.ms", max_block_ms.to_string()),
            ("compression.type", codec.to_owned()),
            ("partitioner.ignore.keys", ignore_keys.to_string()),
            ("transaction.timeout.ms", transaction_timeout_ms.to_string()),
        ];
        for (key, value) in expected {
            let row = rows.iter().find(|row| row.key == key).expect("every key is listed");
            prop_assert_eq!(&row.value, &value);
            prop_assert_eq!(&row.origin, &Origin::UserSet);
        }
    }
}
