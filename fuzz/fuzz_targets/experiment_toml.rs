//! `cargo fuzz` target: any text as an experiment file, through `Experiment::parse`, the second
//! validation stage and the `[producer]` path of `linger check-config` (never a run). libFuzzer
//! reports a panic; every error must carry a message for the user.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for message in experiments::fuzz::parse_experiment_text(&text) {
        assert!(!message.trim().is_empty(), "an empty error message");
    }
});
