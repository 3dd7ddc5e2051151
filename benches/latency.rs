//! Latency of one whole `session_key` call on a small body (the ~1-2 KB chat body the gateway
//! sees on most requests), with no headers, so every tier down to the content seed runs.
//! Criterion reports the time per call.
//!
//! The body is the chat body of the `--scale full --seed 7` corpus closest to 1.5 KB
//! (cached in `<target>/bench-corpus/`), else the largest chat example of
//! `examples/requests`. The reference implementation is measured alongside for context.
//!
//! Run: `cargo bench --bench latency -- --warm-up-time 1 --measurement-time 3`.

#[path = "support/mod.rs"]
mod support;

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use stickykey::{Config, Fingerprinter};

/// No headers: the call falls through to the body tiers.
fn no_headers() -> std::iter::Empty<(&'static str, &'static str)> {
    std::iter::empty()
}

fn latency(c: &mut Criterion) {
    let (source, body) = support::small_chat_body();
    eprintln!("latency: {} B from {source}", body.len());
    let mut g = c.benchmark_group("latency/chat-small");
    for (name, cfg) in [("sub2api", Config::sub2api()), ("native", Config::native())] {
        let mut fp = Fingerprinter::new(cfg.clone());
        g.bench_function(format!("stickykey/{name}/session_key"), |b| {
            b.iter(|| black_box(fp.session_key(no_headers(), black_box(&body)).ok()))
        });
        g.bench_function(format!("reference/{name}/session_key"), |b| {
            b.iter(|| {
                black_box(
                    stickykey::reference::session_key(&cfg, no_headers(), black_box(&body)).ok(),
                )
            })
        });
    }
    g.finish();
}

criterion_group!(benches, latency);
criterion_main!(benches);
