//! The sub2api profile against vectors produced by sub2api's own Go code (`../shared/golden`).
//! Every vector is checked: seed text, both hashes, and the winning tier, through both the
//! fast path ([`Fingerprinter`]) and the [`reference`] implementation.

mod common;

use base64::Engine as _;
use common::{read_jsonl, shared_dir, Pairs};
use serde_json::Value;
use sha2::Digest as _;
use stickykey::{reference, Config, Fingerprinter, Source};

fn b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

/// A field that may be stored as text, as `<f>_b64` bytes or as `<f>_sha256`.
enum Expected {
    Bytes(Vec<u8>),
    Sha256(String),
}

fn expected(v: &Value, field: &str) -> Expected {
    if let Some(s) = v[field].as_str() {
        Expected::Bytes(s.as_bytes().to_vec())
    } else if let Some(s) = v[format!("{field}_b64")].as_str() {
        Expected::Bytes(b64(s))
    } else if let Some(s) = v[format!("{field}_sha256")].as_str() {
        Expected::Sha256(s.to_owned())
    } else {
        panic!("{}: no {field}", v["id"])
    }
}

fn matches(e: &Expected, got: &[u8]) -> bool {
    match e {
        Expected::Bytes(b) => b == got,
        Expected::Sha256(h) => *h == stickykey_hex(&sha2::Sha256::digest(got)),
    }
}

fn stickykey_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn source_name(s: Option<Source>) -> String {
    match s {
        None => "none".into(),
        Some(Source::Header(n)) | Some(Source::Body(n)) => n.into(),
        Some(Source::Content) => "content".into(),
        Some(other) => format!("{other}"),
    }
}

/// Checks one vector; returns a description of each mismatch.
fn check(v: &Value, body: &[u8], headers: &Pairs) -> Vec<String> {
    let id = v["id"].as_str().unwrap();
    let mut bad = Vec::new();
    let cfg = Config::sub2api();
    let mut fp = Fingerprinter::new(cfg.clone());
    let valid = v["valid_json"].as_bool().unwrap();
    let hdrs = headers.0.iter().map(|(k, v)| (k.as_str(), v.as_str()));

    let session = fp.session_key(hdrs.clone(), body);
    let reference = reference::session_key(&cfg, hdrs.clone(), body);
    // Error kinds and offsets may differ (serde_json reports its own); outcomes may not.
    if session.ok() != reference.ok() || session.is_err() != reference.is_err() {
        bad.push(format!(
            "{id}: fast path {session:?} != reference {reference:?}"
        ));
    }
    let want_source = v["session_source"].as_str().unwrap();
    let header_won = want_source == "session_id" || want_source == "conversation_id";
    if valid || body.is_empty() || header_won {
        // Go's answer is ours: tier, key and legacy key.
        match session {
            Ok(sk) => {
                let got_source = source_name(sk.map(|s| s.source));
                if got_source != want_source {
                    bad.push(format!("{id}: source {got_source} != {want_source}"));
                }
                let key = sk.map(|s| s.key.to_string()).unwrap_or_default();
                if key != v["session_hash"].as_str().unwrap_or("") {
                    bad.push(format!("{id}: session_hash {key} != {}", v["session_hash"]));
                }
                let legacy = sk.and_then(|s| s.key.legacy_sha256()).unwrap_or_default();
                if legacy != v["session_hash_legacy"].as_str().unwrap_or("") {
                    bad.push(format!("{id}: legacy hash differs"));
                }
            }
            Err(e) => bad.push(format!("{id}: session_key error {e}")),
        }
    } else if session.is_ok() {
        // The spec: a malformed body is an error, where Go would scan past the damage.
        bad.push(format!("{id}: malformed body accepted: {session:?}"));
    }

    if valid {
        let seed = fp
            .seed_text(body)
            .unwrap_or_else(|e| panic!("{id}: {e}"))
            .unwrap_or_default();
        if !matches(&expected(v, "seed"), seed.as_bytes()) {
            bad.push(format!(
                "{id}: seed\n  got  {seed:?}\n  want {:?}",
                v["seed"]
            ));
        }
        let key = fp.content_key(body).unwrap_or_else(|e| panic!("{id}: {e}"));
        let want = v["seed_xxh64"].as_str().unwrap_or("");
        if key.map(|k| k.to_string()).unwrap_or_default() != want {
            bad.push(format!("{id}: seed_xxh64 {key:?} != {want}"));
        }
        let legacy = key.and_then(|k| k.legacy_sha256()).unwrap_or_default();
        if legacy != v["seed_sha256"].as_str().unwrap_or("") {
            bad.push(format!("{id}: seed_sha256 differs"));
        }
    } else if !body.is_empty() {
        if fp.content_key(body).is_ok() || fp.seed_text(body).is_ok() {
            bad.push(format!("{id}: malformed body gave a content key or seed"));
        }
    } else if fp.content_key(body) != Ok(None) {
        bad.push(format!("{id}: empty body must give no content key"));
    }
    bad
}

#[test]
fn golden_edge_cases() {
    let Some(dir) = shared_dir("golden_edge_cases") else {
        return;
    };
    let vectors = read_jsonl(&dir.join("golden/edge-cases.jsonl"));
    let mut bad = Vec::new();
    for v in &vectors {
        let body = b64(v["body_b64"].as_str().unwrap());
        let headers: Pairs = serde_json::from_value(v["headers"].clone()).unwrap();
        bad.extend(check(v, &body, &headers));
    }
    eprintln!(
        "golden edge cases: {} vectors, {} mismatches",
        vectors.len(),
        bad.len()
    );
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    assert!(
        vectors.len() >= 90,
        "expected the full golden set, found {}",
        vectors.len()
    );
}

#[test]
fn golden_corpus() {
    let Some(dir) = shared_dir("golden_corpus") else {
        return;
    };
    let manifest = read_jsonl(&dir.join("corpus/public/manifest.jsonl"));
    let vectors = read_jsonl(&dir.join("golden/corpus.jsonl"));
    let mut bad = Vec::new();
    for v in &vectors {
        let id = v["id"].as_str().unwrap();
        let body = std::fs::read(dir.join("corpus/public").join(id)).unwrap();
        let m = manifest
            .iter()
            .find(|m| m["file"] == id)
            .expect("in manifest");
        let headers: Pairs = serde_json::from_value(m["headers"].clone()).unwrap_or_default();
        bad.extend(check(v, &body, &headers));
    }
    eprintln!(
        "golden corpus: {} vectors, {} mismatches",
        vectors.len(),
        bad.len()
    );
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    assert_eq!(vectors.len(), manifest.len(), "one vector per corpus body");
}
