//! The public request corpus (`../shared/corpus/public`): manifest expectations under the
//! native profile, invalid bodies in both profiles, and the fast path against the reference on
//! every body (both profiles, both validation levels, every back end, see `common::Checker`).

mod common;

use common::{read_jsonl, shared_dir, Checker, Pairs};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use stickykey::{Config, Error, ErrorKind, Key};

/// Anthropic Messages (`system` as a top-level member, content blocks; SPEC §5.2): its manifest
/// expectations are enforced like the others (with `false` they would only be counted).
const ANTHROPIC_SUPPORTED: bool = true;

struct Body {
    file: String,
    api: String,
    headers: Pairs,
    bytes: Vec<u8>,
    invalid: bool,
    invalid_reason: String,
    same_as: Option<String>,
    differs_from: Vec<String>,
}

fn load(dir: &Path) -> Vec<Body> {
    let root = dir.join("corpus/public");
    read_jsonl(&root.join("manifest.jsonl"))
        .into_iter()
        .map(|m: Value| {
            let file = m["file"].as_str().unwrap().to_owned();
            let bytes = std::fs::read(root.join(&file)).unwrap_or_else(|e| panic!("{file}: {e}"));
            Body {
                api: m["api"].as_str().unwrap().to_owned(),
                headers: serde_json::from_value(m["headers"].clone()).unwrap_or_default(),
                bytes,
                invalid: m["invalid"].as_bool().unwrap_or(false),
                invalid_reason: m["invalid_reason"].as_str().unwrap_or("").to_owned(),
                same_as: m["expect_same_key_as"].as_str().map(str::to_owned),
                differs_from: m["expect_different_key_from"]
                    .as_array()
                    .map(|a| a.iter().map(|x| x.as_str().unwrap().to_owned()).collect())
                    .unwrap_or_default(),
                file,
            }
        })
        .collect()
}

type Keys = HashMap<String, Option<Result<Option<Key>, Error>>>;

/// Runs every body through a checker for `config`; returns the reference content keys.
fn compare(config: Config, bodies: &[Body], bad: &mut Vec<String>) -> Keys {
    let mut ck = Checker::new(config);
    let mut keys = Keys::new();
    for b in bodies {
        let content = ck.content_key(&b.file, &b.bytes);
        ck.session_key(&b.file, &b.headers.0, &b.bytes);
        // Without headers too, so that the body tiers are compared where a header would win.
        if !b.headers.0.is_empty() {
            ck.session_key(&format!("{} (no headers)", b.file), &[], &b.bytes);
        }
        ck.seed_text(&b.file, &b.bytes);
        keys.insert(b.file.clone(), content);
    }
    eprintln!(
        "corpus {:?}: {} bodies, {} fast-path comparisons, {} mismatches",
        ck.config.profile(),
        bodies.len(),
        ck.comparisons,
        ck.mismatches.len()
    );
    assert!(ck.comparisons > 0);
    bad.extend(ck.mismatches);
    keys
}

fn key_of(keys: &Keys, file: &str) -> Result<Key, String> {
    match keys.get(file) {
        None => Err(format!("{file} is not in the manifest")),
        Some(None) => Err(format!("{file}: the reference panicked")),
        Some(Some(Ok(Some(k)))) => Ok(*k),
        Some(Some(other)) => Err(format!("{file}: no key: {other:?}")),
    }
}

#[derive(Default, Debug)]
struct Tally {
    same_checked: usize,
    different_checked: usize,
    /// Of the checked ones, those on Anthropic bodies.
    anthropic_same_checked: usize,
    anthropic_different_checked: usize,
    anthropic_skipped_same: usize,
    anthropic_skipped_different: usize,
    /// Informational: what the skipped Anthropic expectations would give today.
    anthropic_would_pass: usize,
    anthropic_would_fail: usize,
    anthropic_failures: Vec<String>,
}

/// The manifest expectations (`expect_same_key_as`, `expect_different_key_from`) under native.
fn expectations(bodies: &[Body], keys: &Keys, bad: &mut Vec<String>) -> Tally {
    let mut t = Tally::default();
    for b in bodies {
        let enforced = match b.api.as_str() {
            "chat" | "responses" => true,
            "anthropic" => ANTHROPIC_SUPPORTED,
            other => panic!("{}: unknown api {other}", b.file),
        };
        let mut failures = Vec::new();
        if let Some(other) = &b.same_as {
            match (key_of(keys, &b.file), key_of(keys, other)) {
                (Ok(a), Ok(o)) if a == o => {}
                (Ok(a), Ok(o)) => failures.push(format!("{}: key {a} != {o} of {other}", b.file)),
                (a, o) => failures.push(format!(
                    "{}: same key as {other} expected: {a:?} / {o:?}",
                    b.file
                )),
            }
        }
        for other in &b.differs_from {
            match (key_of(keys, &b.file), key_of(keys, other)) {
                (Ok(a), Ok(o)) if a != o => {}
                (a, o) => failures.push(format!(
                    "{}: a key different from {other} expected: {a:?} / {o:?}",
                    b.file
                )),
            }
        }
        let n_same = b.same_as.is_some() as usize;
        let n_diff = b.differs_from.len();
        if enforced {
            t.same_checked += n_same;
            t.different_checked += n_diff;
            if b.api == "anthropic" {
                t.anthropic_same_checked += n_same;
                t.anthropic_different_checked += n_diff;
            }
            bad.extend(failures);
        } else {
            t.anthropic_skipped_same += n_same;
            t.anthropic_skipped_different += n_diff;
            let n_fail = failures.len();
            t.anthropic_would_fail += n_fail;
            t.anthropic_failures.extend(failures);
            t.anthropic_would_pass += n_same + n_diff - n_fail;
        }
    }
    t
}

/// Invalid bodies: never a content key (SPEC §1.1).
fn invalid_bodies(bodies: &[Body], profile: &str, keys: &Keys, bad: &mut Vec<String>) -> usize {
    let mut n = 0;
    for b in bodies.iter().filter(|b| b.invalid) {
        n += 1;
        let reason = b.invalid_reason.as_str();
        let Some(Some(got)) = keys.get(&b.file) else {
            bad.push(format!(
                "{} ({profile}): no outcome (reference panicked)",
                b.file
            ));
            continue;
        };
        let ok = match reason {
            _ if reason.contains("surrogate") => match profile {
                "native" => matches!(got, Err(e) if e.kind() == ErrorKind::LoneSurrogate),
                // tests/golden.rs holds sub2api's answer (Go decodes them); no panic here
                // is all we ask (a panic is already a mismatch of the checker).
                _ => true,
            },
            // Valid JSON without an object root, and the empty body: nothing to key on.
            "empty" => got == &Ok(None) && b.bytes.is_empty(),
            _ if reason.starts_with("top-level-") => got == &Ok(None),
            _ => got.is_err(),
        };
        if !ok {
            bad.push(format!(
                "{} ({profile}, {reason}): unexpected {got:?}",
                b.file
            ));
        }
    }
    n
}

fn summary(profile: &str, bodies: &[Body], keys: &Keys, invalid: usize) {
    let with_key = keys
        .values()
        .filter(|k| matches!(k, Some(Ok(Some(_)))))
        .count();
    let errors = keys.values().filter(|k| matches!(k, Some(Err(_)))).count();
    eprintln!(
        "corpus {profile}: {} bodies ({invalid} flagged invalid): {with_key} with a content key, \
         {errors} refused, {} without a key",
        bodies.len(),
        bodies.len() - with_key - errors
    );
}

/// native: manifest expectations, invalid bodies, fast path == reference.
#[test]
fn corpus_native() {
    let Some(dir) = shared_dir("corpus_native") else {
        return;
    };
    let bodies = load(&dir);
    let mut bad = Vec::new();
    let native = compare(Config::native(), &bodies, &mut bad);
    let t = expectations(&bodies, &native, &mut bad);
    let invalid = invalid_bodies(&bodies, "native", &native, &mut bad);
    summary("native", &bodies, &native, invalid);
    eprintln!(
        "corpus native expectations: {} same-key and {} different-key checks ({} and {} of them \
         on anthropic bodies); anthropic skipped: {} same-key, {} different-key (would pass \
         today: {}, would fail: {})",
        t.same_checked,
        t.different_checked,
        t.anthropic_same_checked,
        t.anthropic_different_checked,
        t.anthropic_skipped_same,
        t.anthropic_skipped_different,
        t.anthropic_would_pass,
        t.anthropic_would_fail
    );
    for f in &t.anthropic_failures {
        eprintln!("  anthropic (not enforced): {f}");
    }
    // Valid bodies that native refuses (by design: duplicate names, SPEC §4.3).
    for b in bodies.iter().filter(|b| !b.invalid) {
        if let Some(Some(Err(e))) = native.get(&b.file) {
            eprintln!("  native refuses valid body {}: {e}", b.file);
        }
    }
    assert!(
        bodies.len() >= 250,
        "expected the full public corpus, found {}",
        bodies.len()
    );
    assert!(
        t.same_checked > 100 && t.different_checked > 5 && invalid > 40,
        "{t:?}"
    );
    if ANTHROPIC_SUPPORTED {
        assert!(
            t.anthropic_same_checked >= 20 && t.anthropic_different_checked >= 5,
            "{t:?}"
        );
    }
    assert!(
        bad.is_empty(),
        "{} failures:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

/// sub2api: invalid bodies, fast path == reference (tests/golden.rs checks the keys).
#[test]
fn corpus_sub2api() {
    let Some(dir) = shared_dir("corpus_sub2api") else {
        return;
    };
    let bodies = load(&dir);
    let mut bad = Vec::new();
    let sub2api = compare(Config::sub2api(), &bodies, &mut bad);
    let invalid = invalid_bodies(&bodies, "sub2api", &sub2api, &mut bad);
    summary("sub2api", &bodies, &sub2api, invalid);
    assert!(
        bodies.len() >= 250,
        "expected the full public corpus, found {}",
        bodies.len()
    );
    assert!(invalid > 40);
    assert!(
        bad.is_empty(),
        "{} failures:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

/// Anthropic bodies of the corpus (SPEC §5): the detected format is the stated one, and the
/// top-level `system` is what sets them apart from the Chat rules. The Claude Code conversations
/// that move their `cache_control` breakpoint really do move it (the manifest's same-key
/// expectations above then prove that moving it does not change the key).
#[test]
fn corpus_anthropic_formats() {
    let Some(dir) = shared_dir("corpus_anthropic_formats") else {
        return;
    };
    let bodies = load(&dir);
    let mut auto = stickykey::Fingerprinter::new(Config::native());
    let mut anthropic =
        stickykey::Fingerprinter::new(Config::native().with_format(stickykey::Format::Anthropic));
    let mut chat =
        stickykey::Fingerprinter::new(Config::native().with_format(stickykey::Format::Chat));
    let (mut checked, mut with_system, mut moved) = (0, 0, 0);
    let mut bad = Vec::new();
    for b in bodies.iter().filter(|b| b.api == "anthropic" && !b.invalid) {
        let a = auto.content_key(&b.bytes);
        if a != anthropic.content_key(&b.bytes) {
            bad.push(format!("{}: auto and stated Anthropic differ", b.file));
        }
        checked += 1;
        let v: Value = match serde_json::from_slice(&b.bytes) {
            Ok(v) => v,
            Err(_) => continue,
        };
        let has_system = v.get("system").is_some_and(|s| !s.is_null());
        if has_system && a.is_ok() {
            with_system += 1;
            if a == chat.content_key(&b.bytes) {
                bad.push(format!(
                    "{}: stated Chat ignores system, yet same key",
                    b.file
                ));
            }
        }
        // A later turn of a moving-breakpoint conversation: the first user message carried
        // cache_control in turn 1 and carries none now.
        if let (Some(first), true) = (&b.same_as, b.file.contains("moving")) {
            let t1: Value = serde_json::from_slice(
                &std::fs::read(dir.join("corpus/public").join(first)).unwrap(),
            )
            .unwrap();
            let marked = |v: &Value| v["messages"][0].to_string().contains("cache_control");
            if marked(&t1) && !marked(&v) {
                moved += 1;
            }
        }
    }
    eprintln!(
        "corpus anthropic formats: {checked} bodies, {with_system} with system, {moved} turns \
         whose cache_control left the first user message"
    );
    assert!(checked >= 40 && with_system >= 30 && moved >= 2);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// The Gemini conversation shipped in `examples/requests` (no shared data needed): its three
/// turns share a key, another conversation gets another one; with a model hint (Gemini puts
/// the model in the URL) likewise, and the hint is part of the key. sub2api has no Gemini rule
/// (only `tools` reaches its seed), as `examples/requests/README.md` says.
#[test]
fn gemini_examples() {
    use stickykey::{Fingerprinter, Format};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/requests");
    let read = |stem: &str| std::fs::read(dir.join(format!("{stem}.json"))).unwrap();
    let turns: Vec<Vec<u8>> = ["gemini-turn1", "gemini-turn2", "gemini-turn3"]
        .iter()
        .map(|s| read(s))
        .collect();
    let other = read("gemini-other-user");
    let keys = |config: Config| -> (Vec<Key>, Key) {
        let mut fp = Fingerprinter::new(config.clone());
        let mut ck = Checker::new(config);
        let mut key = |name: &str, body: &[u8]| {
            ck.content_key(name, body);
            fp.content_key(body).unwrap().expect("a key")
        };
        let t: Vec<Key> = turns
            .iter()
            .enumerate()
            .map(|(i, b)| key(&format!("gemini-turn{}", i + 1), b))
            .collect();
        let o = key("gemini-other-user", &other);
        assert!(ck.mismatches.is_empty(), "{:?}", ck.mismatches);
        (t, o)
    };
    let native = Config::native();
    let hinted = Config::native().with_model_hint(Some("gemini-2.0-flash"));
    let stated = hinted.clone().with_format(Format::Gemini);
    let (plain, plain_other) = keys(native);
    let (hint, hint_other) = keys(hinted);
    let (st, st_other) = keys(stated);
    for (name, t, o) in [
        ("native", &plain, plain_other),
        ("with a hint", &hint, hint_other),
        ("stated Gemini", &st, st_other),
    ] {
        assert!(t.iter().all(|k| *k == t[0]), "{name}: turns differ: {t:?}");
        assert_ne!(t[0], o, "{name}: another conversation, same key");
    }
    assert_ne!(plain[0], hint[0], "the hint is the model component");
    assert_eq!(hint, st, "the body is detected as Gemini");

    // sub2api: unchanged Go behaviour; its seed is the tools alone, shared by both
    // conversations.
    let (s, s_other) = keys(Config::sub2api());
    assert!(s.iter().all(|k| *k == s[0]) && s[0] == s_other);
    let seed = Fingerprinter::new(Config::sub2api())
        .seed_text(&turns[0])
        .unwrap()
        .unwrap();
    assert!(seed.starts_with("compat_cs_|tools="), "{seed}");
}
