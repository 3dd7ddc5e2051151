//! `cargo fuzz run structured`: see fuzz/README.md. The property is `checks::structured`, which
//! tests/fuzz_replay.rs also runs over the committed seeds and regressions.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::structured(data));
