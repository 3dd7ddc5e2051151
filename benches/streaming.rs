//! Streaming against one-shot on the same bodies (issue #4, item 5): the throughput of
//! `Fingerprinter::stream` fed the body in fixed-size chunks, side by side with
//! `Fingerprinter::session_key` on the whole body.
//!
//! Bodies: the history-heavy bodies of the engine bench (`benches/support`): the corpus's
//! Chat Completions and Responses bodies of 16 KB and more (`corpus/{chat,responses}/...`,
//! skipped without `../shared`) and the synthetic chat histories of 1 MB and 4 MB. One
//! criterion group per body, `streaming/<engine group name>`, with these functions:
//!
//! | function | what |
//! | --- | --- |
//! | `<profile>/one-shot` | `fp.session_key(no headers, body)` |
//! | `<profile>/stream-16K` | `fp.stream(no headers)`, `push` of every 16 KiB slice of the body, `finish` |
//! | `<profile>/stream-64K` | the same with 64 KiB slices |
//!
//! for `<profile>` = `sub2api` (`Config::sub2api()`, legacy SHA-256 on), `native`
//! (`Config::native()`) and `native-extracted` (`Config::native()` with
//! `Validation::Extracted`). The chunks are slices of the body in memory: the stream's own
//! cost is measured, not a copy into frames. Each Fingerprinter is created once and reused
//! (fragment cache warm, as in the engine bench). Before a group is timed, the streamed
//! results are checked equal to the one-shot result, and any disagreement is printed.
//!
//! Run: `cargo bench --bench streaming -- --warm-up-time 1 --measurement-time 2 [filter]`,
//! then `python3 benches/report.py` (the "Streaming" tables).

#[path = "support/mod.rs"]
mod support;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use std::hint::black_box;
use stickykey::{Config, Error, Fingerprinter, SessionKey, Validation};
use support::Input;

/// Chunk sizes, with their function-name suffix.
const CHUNKS: [(&str, usize); 2] = [("stream-16K", 16 << 10), ("stream-64K", 64 << 10)];

/// Corpus bodies below this size are left out (the brief: ~16 KB to several MB).
const MIN_BYTES: u64 = 12 << 10;

/// No headers: the stream (and the one-shot call) go through the body tiers.
fn no_headers() -> std::iter::Empty<(&'static str, &'static str)> {
    std::iter::empty()
}

fn streamed(
    fp: &mut Fingerprinter,
    body: &[u8],
    chunk: usize,
) -> Result<Option<SessionKey>, Error> {
    let mut s = fp.stream(no_headers());
    for c in body.chunks(chunk) {
        s.push(c)?;
    }
    s.finish()
}

fn profiles() -> [(&'static str, Config); 3] {
    [
        ("sub2api", Config::sub2api()),
        ("native", Config::native()),
        (
            "native-extracted",
            Config::native().with_validation(Validation::Extracted),
        ),
    ]
}

/// The streamed results must equal the one-shot result: the comparison is only fair if both
/// compute the same thing.
fn check_agreement(input: &Input) {
    for (profile, cfg) in profiles() {
        let mut fp = Fingerprinter::new(cfg);
        for (i, body) in input.bodies.iter().enumerate() {
            let want = fp.session_key(no_headers(), body);
            if want.is_err() || matches!(want, Ok(None)) {
                eprintln!(
                    "WARNING {} body {i}: {profile} one-shot gives {want:?}",
                    input.name
                );
            }
            for (name, chunk) in CHUNKS {
                let got = streamed(&mut fp, body, chunk);
                if got != want {
                    eprintln!(
                        "WARNING {} body {i}: {profile}/{name} {got:?} != one-shot {want:?}",
                        input.name
                    );
                }
            }
        }
    }
}

fn bench_input(c: &mut Criterion, input: &Input) {
    let bytes = input.bytes();
    eprintln!("{}: {} B from {}", input.name, bytes, input.source);
    check_agreement(input);
    let bodies = &input.bodies;

    let mut g = c.benchmark_group(format!("streaming/{}", input.name));
    g.throughput(Throughput::Bytes(bytes));
    if bytes >= 512 << 10 {
        // Hundreds of µs per call: flat sampling keeps a run within its time budget.
        g.sampling_mode(SamplingMode::Flat);
    }
    for (profile, cfg) in profiles() {
        let mut fp = Fingerprinter::new(cfg);
        g.bench_function(format!("{profile}/one-shot"), |b| {
            b.iter(|| {
                for body in bodies {
                    black_box(fp.session_key(no_headers(), black_box(body)).ok());
                }
            })
        });
        for (name, chunk) in CHUNKS {
            g.bench_function(format!("{profile}/{name}"), |b| {
                b.iter(|| {
                    for body in bodies {
                        black_box(streamed(&mut fp, black_box(body), chunk).ok());
                    }
                })
            });
        }
    }
    g.finish();
}

fn streaming(c: &mut Criterion) {
    let mut inputs: Vec<Input> = support::corpus_inputs()
        .into_iter()
        .filter(|i| {
            let api = i.name.split('/').nth(1).unwrap_or_default();
            matches!(api, "chat" | "responses") && i.bytes() >= MIN_BYTES
        })
        .collect();
    inputs.extend(support::synthetic_inputs());
    for input in &inputs {
        bench_input(c, input);
    }
}

criterion_group!(benches, streaming);
criterion_main!(benches);
