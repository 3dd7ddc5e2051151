//! Replays the fuzz targets' inputs under plain `cargo test` (no cargo-fuzz, no nightly):
//! every file in `fuzz/seeds/<target>/` and `fuzz/regressions/<target>/`, and in
//! `fuzz/corpus/<target>/` when a local fuzzing run left one (at most `CORPUS_CAP` files,
//! sorted by name). The checks are the fuzz targets' own (`fuzz/checks.rs`), so a committed
//! input is checked exactly as the fuzzer checked it.

#[path = "../fuzz/checks.rs"]
mod checks;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// Upper bound on replayed files of a local `fuzz/corpus/<target>/`, to keep the test quick.
const CORPUS_CAP: usize = 2000;

/// The reference implementation recurses once per nesting level (up to `max_depth` = 1024):
/// give it more stack than a test thread's default 2 MiB, as libFuzzer's main thread has.
const STACK: usize = 256 << 20;

/// Regular files of `dir`, sorted by name, hidden ones (`.gitkeep`) left out.
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .filter(|p| {
            !p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'))
        })
        .collect();
    files.sort();
    files
}

fn replay(target: &'static str, check: fn(&[u8])) {
    let worker = std::thread::Builder::new()
        .name(format!("replay-{target}"))
        .stack_size(STACK)
        .spawn(move || run(target, check))
        .expect("spawn the replay thread");
    if let Err(e) = worker.join() {
        std::panic::resume_unwind(e);
    }
}

fn run(target: &str, check: fn(&[u8])) {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut failures: Vec<String> = Vec::new();
    let mut counts = Vec::new();
    for (kind, cap) in [
        ("seeds", usize::MAX),
        ("regressions", usize::MAX),
        ("corpus", CORPUS_CAP),
    ] {
        let dir = fuzz.join(kind).join(target);
        let files = inputs(&dir);
        let total = files.len();
        let mut ran = 0;
        for path in files.into_iter().take(cap) {
            let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            ran += 1;
            if let Err(e) = catch_unwind(AssertUnwindSafe(|| check(&data))) {
                let msg = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "non-string panic".into());
                failures.push(format!("{}: {msg}", path.display()));
            }
        }
        if kind == "seeds" {
            assert!(ran > 0, "no seeds in {}", dir.display());
        }
        counts.push(if ran < total {
            format!("{kind} {ran} of {total}")
        } else {
            format!("{kind} {ran}")
        });
    }
    println!("fuzz replay {target}: {}", counts.join(", "));
    assert!(
        failures.is_empty(),
        "{} {target} input(s) fail:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn replay_differential() {
    replay("differential", checks::differential);
}

#[test]
fn replay_structured() {
    replay("structured", checks::structured);
}

#[test]
fn replay_canonicalize() {
    replay("canonicalize", checks::canonicalize);
}

#[test]
fn replay_stream() {
    replay("stream", checks::stream);
}
