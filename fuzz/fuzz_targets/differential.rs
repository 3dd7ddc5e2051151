//! `cargo fuzz run differential`: see fuzz/README.md. The property is `checks::differential`, which
//! tests/fuzz_replay.rs also runs over the committed seeds and regressions.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::differential(data));
