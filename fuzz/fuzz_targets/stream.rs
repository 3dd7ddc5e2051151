//! `cargo fuzz run stream`: see fuzz/README.md. The property is `checks::stream`, which
//! tests/fuzz_replay.rs also runs over the committed seeds and regressions.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::stream(data));
