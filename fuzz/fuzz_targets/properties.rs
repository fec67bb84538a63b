//! `cargo fuzz` target: any bytes as a Java properties file, through `parse_properties`,
//! `ProducerConfig::from_entries` and the `linger check-config` listing. libFuzzer reports a
//! panic; every error must carry a message for the user.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for message in experiments::fuzz::parse_properties_bytes(data) {
        assert!(!message.trim().is_empty(), "an empty error message");
    }
});
