//! Throughput of the content key, per API and body size, against the reference
//! implementation, sonic-rs, simd-json and a memory-speed floor.
//!
//! Groups: `corpus/<api>/<size>` (the body of the `--scale full --seed 7` corpus closest to
//! 1 KB, 16 KB, 128 KB, 1 MB, 4 MB; generated once into `<target>/bench-corpus/`, skipped
//! without `../shared`), `examples` (every valid `examples/requests/*.json`, keyed in turn in
//! each iteration) and `synthetic/chat-history/{1MB,4MB}` (a fixed first turn followed by a
//! long history, built in code). Each group runs the same bodies through:
//!
//! | function | what |
//! | --- | --- |
//! | `stickykey/sub2api/full` | `Fingerprinter::content_key`, `Config::sub2api()` |
//! | `stickykey/sub2api/extracted` | the same with `Validation::Extracted` |
//! | `stickykey/native/full`, `stickykey/native/extracted` | the same for `Config::native()` |
//! | `stickykey/sub2api/warm` | fragment cache warm: one Fingerprinter reused across iterations |
//! | `stickykey/sub2api/cold-xxh64-only` | cold, `with_legacy_sha256(false)`: the same work as the alternatives |
//! | `stickykey/sub2api/cold` | `clear_fragment_cache()` before every iteration, *outside* the timing (`iter_batched`, `BatchSize::PerIteration`: each call is timed on its own, so a few ns of timer overhead are included) |
//! | `reference/sub2api` | `stickykey::reference::content_key` (serde_json, the oracle) |
//! | `sonic-rs/sub2api` | benches/alternatives/sonic_rs_impl.rs |
//! | `simd-json/sub2api` | benches/alternatives/simd_json_impl.rs, body copy included (simd-json parses in place) |
//! | `floor/memchr` | counts `"` with `memchr::memchr_iter`: the memory-speed floor |
//!
//! Every Fingerprinter and alternative is created once, outside the timed loop, and reused
//! (the `full`/`extracted` ones too, so they also run with a warm cache). Before timing a
//! group, the sub2api keys of stickykey, the reference and both alternatives are compared and
//! any disagreement is printed: the comparison is only fair if all compute the same thing.
//!
//! Run: `cargo bench --bench engine -- --warm-up-time 1 --measurement-time 3 [filter]`, then
//! `python3 benches/report.py` for the markdown table.

#[path = "alternatives/mod.rs"]
mod alternatives;
#[path = "support/mod.rs"]
mod support;

use alternatives::simd_json_impl::SimdJson;
use alternatives::sonic_rs_impl::SonicRs;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, SamplingMode, Throughput};
use std::cell::RefCell;
use std::hint::black_box;
use stickykey::{Config, Fingerprinter, Validation};
use support::Input;

/// Compares the sub2api keys of every implementation on the group's bodies.
fn check_agreement(input: &Input) {
    let cfg = Config::sub2api();
    let mut fp = Fingerprinter::new(cfg.clone());
    let mut fpx = Fingerprinter::new(cfg.clone().with_validation(Validation::Extracted));
    let (mut sonic, mut simd) = (SonicRs::new(), SimdJson::new());
    for (i, body) in input.bodies.iter().enumerate() {
        let want = fp.content_key(body).map(|k| k.and_then(|k| k.xxh64()));
        let got = [
            (
                "stickykey/extracted",
                fpx.content_key(body).map(|k| k.and_then(|k| k.xxh64())),
            ),
            (
                "reference",
                stickykey::reference::content_key(&cfg, body).map(|k| k.and_then(|k| k.xxh64())),
            ),
        ];
        for (who, k) in got {
            if k.as_ref().ok() != want.as_ref().ok() {
                eprintln!(
                    "WARNING {} body {i}: {who} {k:x?} != stickykey {want:x?}",
                    input.name
                );
            }
        }
        let Ok(want) = want else { continue };
        for (who, k) in [
            ("sonic-rs", sonic.content_key(body)),
            ("simd-json", simd.content_key(body)),
        ] {
            if k.as_ref() != Ok(&want) {
                eprintln!(
                    "WARNING {} body {i}: {who} {k:x?} != stickykey {want:x?}",
                    input.name
                );
            }
        }
    }
}

fn bench_input(c: &mut Criterion, input: &Input) {
    let bytes = input.bytes();
    eprintln!("{}: {} B from {}", input.name, bytes, input.source);
    check_agreement(input);
    let bodies = &input.bodies;

    let mut g = c.benchmark_group(&input.name);
    g.throughput(Throughput::Bytes(bytes));
    if bytes >= 64 << 10 {
        // The slow implementations take milliseconds per call on large bodies: flat sampling
        // with few samples keeps a run within its time budget.
        g.sampling_mode(SamplingMode::Flat);
        g.sample_size(if bytes >= 512 << 10 { 10 } else { 30 });
    }

    let sub2api = Config::sub2api();
    let native = Config::native();
    let extracted = |c: &Config| c.clone().with_validation(Validation::Extracted);
    let profiles = [
        ("stickykey/sub2api/full", sub2api.clone()),
        ("stickykey/sub2api/extracted", extracted(&sub2api)),
        ("stickykey/native/full", native.clone()),
        ("stickykey/native/extracted", extracted(&native)),
        ("stickykey/sub2api/warm", sub2api.clone()),
    ];
    for (id, cfg) in profiles {
        let mut fp = Fingerprinter::new(cfg);
        g.bench_function(id, |b| {
            b.iter(|| {
                for body in bodies {
                    black_box(fp.content_key(black_box(body)).ok());
                }
            })
        });
    }

    // Cold fragment cache: cleared before each iteration, outside the timed section; once
    // with the default config, once without the legacy SHA-256 (the alternatives compute
    // the xxh64 key only).
    for (id, cfg) in [
        ("stickykey/sub2api/cold", sub2api.clone()),
        (
            "stickykey/sub2api/cold-xxh64-only",
            sub2api.clone().with_legacy_sha256(false),
        ),
    ] {
        let fp = RefCell::new(Fingerprinter::new(cfg));
        g.bench_function(id, |b| {
            b.iter_batched(
                || fp.borrow_mut().clear_fragment_cache(),
                |()| {
                    let mut fp = fp.borrow_mut();
                    for body in bodies {
                        black_box(fp.content_key(black_box(body)).ok());
                    }
                },
                BatchSize::PerIteration,
            )
        });
    }

    g.bench_function("reference/sub2api", |b| {
        b.iter(|| {
            for body in bodies {
                black_box(stickykey::reference::content_key(&sub2api, black_box(body)).ok());
            }
        })
    });

    let mut sonic = SonicRs::new();
    g.bench_function("sonic-rs/sub2api", |b| {
        b.iter(|| {
            for body in bodies {
                black_box(sonic.content_key(black_box(body)).ok());
            }
        })
    });

    let mut simd = SimdJson::new();
    g.bench_function("simd-json/sub2api", |b| {
        b.iter(|| {
            for body in bodies {
                black_box(simd.content_key(black_box(body)).ok());
            }
        })
    });

    g.bench_function("floor/memchr", |b| {
        b.iter(|| {
            for body in bodies {
                black_box(memchr::memchr_iter(b'"', black_box(body)).count());
            }
        })
    });
    g.finish();
}

fn engine(c: &mut Criterion) {
    let mut inputs = support::corpus_inputs();
    inputs.extend(support::examples_input());
    inputs.extend(support::synthetic_inputs());
    for input in &inputs {
        bench_input(c, input);
    }
}

criterion_group!(benches, engine);
criterion_main!(benches);
