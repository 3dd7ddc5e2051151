//! The benchmark's alternative implementations (benches/alternatives: sonic-rs and simd-json)
//! compute the same sub2api content key as `Fingerprinter` on every valid body of the public
//! corpus and of examples/requests, so the benchmark compares equal work. No timing here.

mod common;

#[path = "../benches/alternatives/mod.rs"]
mod alternatives;

use alternatives::simd_json_impl::SimdJson;
use alternatives::sonic_rs_impl::SonicRs;
use std::path::{Path, PathBuf};
use stickykey::{Config, Fingerprinter};

/// Bodies an alternative is known not to reproduce, with the reason (matched as a suffix of
/// the corpus path). Every other valid body must match.
const EXCLUDED_SONIC_RS: &[(&str, &str)] = &[];
const BIG_INT: &str = "simd-json (without its `big-int-as-float` feature) refuses an integer \
                       beyond 64 bits with InvalidNumber; Go parses it as a float64";
const EXCLUDED_SIMD_JSON: &[(&str, &str)] = &[
    ("nasty-numbers-t01-r2.json", BIG_INT),
    ("nasty-numbers-in-tools-t01.json", BIG_INT),
    ("nasty-numbers-in-tools-t02.json", BIG_INT),
    ("nasty-numbers-in-tools-t01-r3.json", BIG_INT),
    (
        "nasty-numbers-in-tools-t01-r2.json",
        "simd-json reads the integer `-0` as I64(0), losing the sign; Go's float64 keeps it \
         and marshals `-0`",
    ),
];

#[derive(Default)]
struct Tally {
    bodies: usize,
    invalid: usize,
    with_key: usize,
    sonic_matched: usize,
    simd_matched: usize,
    sonic_excluded: Vec<String>,
    /// Excluded bodies that matched after all (a stale exclusion).
    stale: Vec<String>,
    simd_excluded: Vec<String>,
    mismatches: Vec<String>,
}

/// The reason `name` is excluded from `list`, if it is.
fn excluded(list: &'static [(&'static str, &'static str)], name: &str) -> Option<&'static str> {
    list.iter().find(|(f, _)| name.ends_with(f)).map(|x| x.1)
}

fn check_one(
    name: &str,
    body: &[u8],
    fp: &mut Fingerprinter,
    sonic: &mut SonicRs,
    simd: &mut SimdJson,
    t: &mut Tally,
) {
    t.bodies += 1;
    let expected = match fp.content_key(body) {
        Ok(k) => k.map(|k| k.xxh64().expect("sub2api key")),
        Err(_) => {
            // Invalid JSON: the alternatives are not compared on it.
            t.invalid += 1;
            return;
        }
    };
    t.with_key += expected.is_some() as usize;

    let got = sonic.content_key(body);
    match (excluded(EXCLUDED_SONIC_RS, name), got == Ok(expected)) {
        (why, true) => {
            t.sonic_matched += 1;
            if why.is_some() {
                t.stale.push(format!("sonic-rs {name}"));
            }
        }
        (Some(why), false) => t.sonic_excluded.push(format!("{name}: {why}")),
        (None, false) => t.mismatches.push(format!(
            "sonic-rs {name}: got {got:x?}, want {expected:x?}\n  seed {:?}\n  want {:?}",
            sonic.seed(body).map(|s| s.map(str::to_owned)),
            fp.seed_text(body)
        )),
    }
    let got = simd.content_key(body);
    match (excluded(EXCLUDED_SIMD_JSON, name), got == Ok(expected)) {
        (why, true) => {
            t.simd_matched += 1;
            if why.is_some() {
                t.stale.push(format!("simd-json {name}"));
            }
        }
        (Some(why), false) => t.simd_excluded.push(format!("{name}: {why}")),
        (None, false) => t.mismatches.push(format!(
            "simd-json {name}: got {got:x?}, want {expected:x?}\n  seed {:?}\n  want {:?}",
            simd.seed(body).map(|s| s.map(str::to_owned)),
            fp.seed_text(body)
        )),
    }
}

fn report(what: &str, t: &Tally) {
    let valid = t.bodies - t.invalid;
    eprintln!(
        "{what}: {} bodies, {} invalid (not compared), {valid} valid ({} with a content key); \
         sonic-rs matched {}/{valid}, simd-json matched {}/{valid}",
        t.bodies, t.invalid, t.with_key, t.sonic_matched, t.simd_matched
    );
    for e in &t.sonic_excluded {
        eprintln!("  excluded (sonic-rs) {e}");
    }
    for e in &t.simd_excluded {
        eprintln!("  excluded (simd-json) {e}");
    }
    for e in &t.stale {
        eprintln!("  note: excluded but matched: {e}");
    }
    assert!(
        t.mismatches.is_empty(),
        "{} mismatches:\n{}",
        t.mismatches.len(),
        t.mismatches.join("\n")
    );
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|x| x == "json"));
    v.sort();
    v
}

fn examples() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/requests");
    let files = json_files(&dir);
    if files.is_empty() {
        eprintln!("SKIPPED: no examples/requests/*.json yet");
        return;
    }
    let mut fp = Fingerprinter::new(Config::sub2api());
    let (mut sonic, mut simd) = (SonicRs::new(), SimdJson::new());
    let mut t = Tally::default();
    for f in &files {
        let body = std::fs::read(f).unwrap();
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        check_one(&name, &body, &mut fp, &mut sonic, &mut simd, &mut t);
    }
    report("examples/requests", &t);
}

/// Runs `f` on a thread with a large stack: sonic-rs skips values recursively, and in debug
/// builds each level takes about 54 KB of stack, so the 107-deep tool schema of the corpus
/// overflows the default 2 MiB test thread (release builds need far less).
fn with_big_stack(f: impl FnOnce() + Send + 'static) {
    let t = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(f)
        .unwrap();
    if let Err(e) = t.join() {
        std::panic::resume_unwind(e);
    }
}

#[test]
fn alternatives_match_stickykey_on_examples() {
    with_big_stack(examples);
}

#[test]
fn alternatives_match_stickykey_on_public_corpus() {
    with_big_stack(public_corpus);
}

fn public_corpus() {
    let Some(shared) = common::shared_dir("alternatives_match_stickykey_on_public_corpus") else {
        return;
    };
    let public = shared.join("corpus/public");
    let manifest = common::read_jsonl(&public.join("manifest.jsonl"));
    assert!(!manifest.is_empty(), "empty manifest");
    let mut fp = Fingerprinter::new(Config::sub2api());
    let (mut sonic, mut simd) = (SonicRs::new(), SimdJson::new());
    // Per API; the anthropic bodies are compared as well (sub2api keys them by the same
    // rules: model, tools, messages).
    for api in ["chat", "responses", "anthropic"] {
        let mut t = Tally::default();
        for entry in &manifest {
            if entry["api"] != api || entry["invalid"] == true {
                continue;
            }
            let file = entry["file"].as_str().expect("file");
            let body = std::fs::read(public.join(file)).unwrap();
            check_one(file, &body, &mut fp, &mut sonic, &mut simd, &mut t);
        }
        assert!(t.bodies > 0, "no {api} bodies in the manifest");
        report(&format!("corpus/public {api}"), &t);
    }
}
