//! `cargo fuzz run canonicalize`: see fuzz/README.md. The property is `checks::canonicalize`, which
//! tests/fuzz_replay.rs also runs over the committed seeds and regressions.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::canonicalize(data));
