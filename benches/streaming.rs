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
//! | `<profile>/paired` | one-shot, stream-16K and stream-64K timed back to back, round by round (below) |
//!
//! for `<profile>` = `sub2api` (`Config::sub2api()`, legacy SHA-256 on), `native`
//! (`Config::native()`) and `native-extracted` (`Config::native()` with
//! `Validation::Extracted`). The chunks are slices of the body in memory: the stream's own
//! cost is measured, not a copy into frames. Each Fingerprinter is created once and reused
//! (fragment cache warm, as in the engine bench). Before a group is timed, the streamed
//! results are checked equal to the one-shot result, and any disagreement is printed.
//!
//! **Paired rounds.** This machine class (shared VMs) drifts in speed by ±30% over seconds,
//! so the ratio of two criterion medians measured seconds apart (`one-shot`, then
//! `stream-16K`) moves by as much, whatever the sample size. `<profile>/paired` interleaves
//! the three instead: each criterion iteration is one *round* that times, with
//! `std::time::Instant` and the same Fingerprinter, `reps` passes of one-shot over the bodies,
//! then `reps` passes of stream-16K, then `reps` of stream-64K (`reps` is calibrated once per
//! group and profile so that each of the three measurements takes ~1 ms or more). The drift
//! cancels within a round, so the median over rounds of the per-round ratios
//! t(one-shot) / t(stream) is stable where the ratio of medians is not. Only the rounds of
//! criterion's measurement phase are kept: the warm-up calls of the routine are the leading
//! run of iteration counts 1, 2, 4, 8, ... and are dropped (modes without a measurement
//! phase, `--test`, `--quick`, `--profile-time`, keep no round and write nothing). Criterion's
//! own number for `paired` is a round's time divided by 3 × `reps`: one pass over the bodies,
//! averaged over the three variants, on the same scale (and throughput) as the others; it
//! always uses flat sampling (a round takes milliseconds).
//!
//! After each group, one JSON line per profile is written to
//! `<target>/criterion/streaming-paired.jsonl` (`<target>` = `$CARGO_TARGET_DIR`, else the
//! target directory of the bench binary): `group`, `body`, `bytes` (of one pass), `profile`,
//! `rounds`, `reps`, `ratio_16k` and `ratio_64k` (medians over rounds of
//! t(one-shot) / t(stream), > 1 means streaming is faster), and `one_shot_ns`,
//! `stream_16k_ns`, `stream_64k_ns` (medians over rounds of one pass's time). The file is
//! truncated by the first line a run writes, so it holds one run only (a filtered run: only
//! its groups).
//!
//! Run: `cargo bench --bench streaming -- --warm-up-time 1 --measurement-time 2 [filter]`,
//! then `python3 benches/report.py` (the "Streaming" tables and "Streaming, paired rounds").

#[path = "support/mod.rs"]
mod support;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use std::fs::OpenOptions;
use std::hint::black_box;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use stickykey::{Config, Error, Fingerprinter, SessionKey, Validation};
use support::Input;

/// Chunk sizes, with their function-name suffix.
const CHUNKS: [(&str, usize); 2] = [("stream-16K", 16 << 10), ("stream-64K", 64 << 10)];

/// Corpus bodies below this size are left out (the brief: ~16 KB to several MB).
const MIN_BYTES: u64 = 12 << 10;

/// The minimum duration of each of the three measurements of a paired round.
const PAIRED_MIN: Duration = Duration::from_millis(1);

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

/// One pass of one-shot `session_key` over the bodies.
fn one_shot_pass(fp: &mut Fingerprinter, bodies: &[Vec<u8>]) {
    for body in bodies {
        black_box(fp.session_key(no_headers(), black_box(body)).ok());
    }
}

/// One pass of streaming in `chunk`-byte slices over the bodies.
fn stream_pass(fp: &mut Fingerprinter, bodies: &[Vec<u8>], chunk: usize) {
    for body in bodies {
        black_box(streamed(fp, black_box(body), chunk).ok());
    }
}

/// Passes per measurement of a paired round: enough for a one-shot measurement of
/// [`PAIRED_MIN`] (the fastest of three timed passes, after one untimed).
fn paired_reps(fp: &mut Fingerprinter, bodies: &[Vec<u8>]) -> u32 {
    one_shot_pass(fp, bodies);
    let pass = (0..3)
        .map(|_| {
            let t = Instant::now();
            one_shot_pass(fp, bodies);
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
        .max(Duration::from_nanos(1));
    PAIRED_MIN
        .as_nanos()
        .div_ceil(pass.as_nanos())
        .clamp(1, 1 << 16) as u32
}

/// One paired round: `reps` passes of one-shot, then of stream-16K, then of stream-64K, each
/// timed as a whole.
fn paired_round(fp: &mut Fingerprinter, bodies: &[Vec<u8>], reps: u32) -> [Duration; 3] {
    let t = Instant::now();
    for _ in 0..reps {
        one_shot_pass(fp, bodies);
    }
    let mut out = [t.elapsed(), Duration::ZERO, Duration::ZERO];
    for (slot, (_, chunk)) in out[1..].iter_mut().zip(CHUNKS) {
        let t = Instant::now();
        for _ in 0..reps {
            stream_pass(fp, bodies, chunk);
        }
        *slot = t.elapsed();
    }
    out
}

/// The rounds of criterion's measurement phase: the calls of the routine (iteration count,
/// rounds) after the warm-up's leading run of counts 1, 2, 4, 8, ...
fn measured_rounds(calls: &[(u64, Vec<[Duration; 3]>)]) -> Vec<[Duration; 3]> {
    let warm_up = calls
        .iter()
        .enumerate()
        .take_while(|&(i, &(iters, _))| i < 64 && iters == 1 << i)
        .count();
    calls[warm_up..]
        .iter()
        .flat_map(|(_, rounds)| rounds.iter().copied())
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => v[n / 2],
        _ => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// `<target>/criterion/streaming-paired.jsonl`, truncated by the first line of the run.
struct PairedLog {
    path: PathBuf,
    started: bool,
}

impl PairedLog {
    fn new() -> Self {
        PairedLog {
            path: support::target_dir()
                .join("criterion")
                .join("streaming-paired.jsonl"),
            started: false,
        }
    }

    fn append(&mut self, line: &serde_json::Value) {
        let res = (|| {
            if let Some(dir) = self.path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let mut f = if self.started {
                OpenOptions::new().append(true).open(&self.path)?
            } else {
                OpenOptions::new()
                    .create(true)
                    .write(true)
                    .truncate(true)
                    .open(&self.path)?
            };
            writeln!(f, "{line}")
        })();
        match res {
            Ok(()) => self.started = true,
            Err(e) => eprintln!("WARNING: cannot write {}: {e}", self.path.display()),
        }
    }
}

/// The JSON line of one (group, profile) from its measured rounds; `None` without rounds.
fn paired_summary(
    input: &Input,
    profile: &str,
    reps: u32,
    rounds: &[[Duration; 3]],
) -> Option<serde_json::Value> {
    if rounds.is_empty() {
        return None;
    }
    let ratio = |k: usize| {
        median(
            rounds
                .iter()
                .map(|r| r[0].as_secs_f64() / r[k].as_secs_f64())
                .collect(),
        )
    };
    let pass_ns = |k: usize| {
        median(
            rounds
                .iter()
                .map(|r| r[k].as_nanos() as f64 / f64::from(reps))
                .collect(),
        )
        .round()
    };
    let (ratio_16k, ratio_64k) = (ratio(1), ratio(2));
    eprintln!(
        "paired streaming/{} {profile}: one-shot / stream-16K {ratio_16k:.3}, \
         one-shot / stream-64K {ratio_64k:.3} (median of {} rounds of {reps} passes)",
        input.name,
        rounds.len()
    );
    Some(serde_json::json!({
        "group": format!("streaming/{}", input.name),
        "body": input.name,
        "bytes": input.bytes(),
        "profile": profile,
        "rounds": rounds.len(),
        "reps": reps,
        "ratio_16k": ratio_16k,
        "ratio_64k": ratio_64k,
        "one_shot_ns": pass_ns(0),
        "stream_16k_ns": pass_ns(1),
        "stream_64k_ns": pass_ns(2),
    }))
}

fn bench_input(c: &mut Criterion, input: &Input, log: &mut PairedLog) {
    let bytes = input.bytes();
    eprintln!("{}: {} B from {}", input.name, bytes, input.source);
    check_agreement(input);
    let bodies = &input.bodies;

    let mut g = c.benchmark_group(format!("streaming/{}", input.name));
    g.throughput(Throughput::Bytes(bytes));
    let sampling = if bytes >= 512 << 10 {
        // Hundreds of µs per call: flat sampling keeps a run within its time budget.
        SamplingMode::Flat
    } else {
        SamplingMode::Auto
    };
    g.sampling_mode(sampling);
    let mut summaries = Vec::new();
    for (profile, cfg) in profiles() {
        let mut fp = Fingerprinter::new(cfg);
        g.bench_function(format!("{profile}/one-shot"), |b| {
            b.iter(|| one_shot_pass(&mut fp, bodies))
        });
        for (name, chunk) in CHUNKS {
            g.bench_function(format!("{profile}/{name}"), |b| {
                b.iter(|| stream_pass(&mut fp, bodies, chunk))
            });
        }

        let reps = paired_reps(&mut fp, bodies);
        // (iteration count, rounds) of every call of the routine, warm-up included.
        let mut calls: Vec<(u64, Vec<[Duration; 3]>)> = Vec::new();
        // A round takes milliseconds: flat sampling keeps the run within its time budget.
        g.sampling_mode(SamplingMode::Flat);
        g.bench_function(format!("{profile}/paired"), |b| {
            b.iter_custom(|iters| {
                let rounds: Vec<[Duration; 3]> = (0..iters)
                    .map(|_| paired_round(&mut fp, bodies, reps))
                    .collect();
                let total: Duration = rounds.iter().flatten().sum();
                calls.push((iters, rounds));
                total / (3 * reps)
            })
        });
        g.sampling_mode(sampling);
        summaries.extend(paired_summary(
            input,
            profile,
            reps,
            &measured_rounds(&calls),
        ));
    }
    g.finish();
    for line in &summaries {
        log.append(line);
    }
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
    let mut log = PairedLog::new();
    for input in &inputs {
        bench_input(c, input, &mut log);
    }
}

criterion_group!(benches, streaming);
criterion_main!(benches);
