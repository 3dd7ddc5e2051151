//! The sub2api profile against vectors produced by sub2api's own Go code (`../shared/golden`).
//! Every vector is checked: seed text, both hashes, and the winning tier, through both the
//! fast path ([`Fingerprinter`]) and the [`reference`] implementation; and the policy variants
//! (SPEC §3.6: `anchored_seed`, `stable_prefix_seed`, `leading_system_seed`, `tools_set`), alone
//! and combined where the vectors determine the combination, as seed text and key.

mod common;

use base64::Engine as _;
use common::{read_jsonl, shared_dir, Pairs};
use serde_json::value::RawValue;
use serde_json::Value;
use sha2::Digest as _;
use std::collections::BTreeMap;
use stickykey::{reference, Config, Fingerprinter, Profile, Source};

fn b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

/// A field that may be stored as text, as `<f>_b64` bytes or as `<f>_sha256`.
#[derive(Clone)]
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

/// What a variant's seed must be: `pre`, then a middle known by its bytes or its SHA-256
/// (`None`: no middle), then `post`.
#[derive(Clone)]
struct Want {
    pre: Vec<u8>,
    mid: Option<Expected>,
    post: Vec<u8>,
}

impl Want {
    fn of(e: Expected) -> Want {
        Want {
            pre: Vec::new(),
            mid: Some(e),
            post: Vec::new(),
        }
    }

    fn empty() -> Want {
        Want::of(Expected::Bytes(Vec::new()))
    }

    fn is_empty(&self) -> bool {
        self.pre.is_empty()
            && self.post.is_empty()
            && match &self.mid {
                None => true,
                Some(Expected::Bytes(b)) => b.is_empty(),
                Some(Expected::Sha256(_)) => false,
            }
    }

    fn matches(&self, got: &[u8]) -> bool {
        let (p, q) = (self.pre.len(), self.post.len());
        got.len() >= p + q
            && got.starts_with(&self.pre)
            && got.ends_with(&self.post)
            && match &self.mid {
                Some(m) => matches(m, &got[p..got.len() - q]),
                None => got.len() == p + q,
            }
    }

    fn show(&self) -> String {
        let mid = match &self.mid {
            Some(Expected::Bytes(b)) => String::from_utf8_lossy(b).into_owned(),
            Some(Expected::Sha256(h)) => format!("<sha256 {h}>"),
            None => String::new(),
        };
        let s = format!(
            "{}{mid}{}",
            String::from_utf8_lossy(&self.pre),
            String::from_utf8_lossy(&self.post)
        );
        s.chars().take(600).collect()
    }
}

/// The first occurrence of each member of the body's root object, raw (gjson lookups).
fn first_members(body: &[u8]) -> BTreeMap<String, String> {
    struct Members(Vec<(String, Box<RawValue>)>);
    impl<'de> serde::Deserialize<'de> for Members {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> serde::de::Visitor<'de> for V {
                type Value = Members;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<M: serde::de::MapAccess<'de>>(
                    self,
                    mut m: M,
                ) -> Result<Members, M::Error> {
                    let mut v = Vec::new();
                    while let Some(kv) = m.next_entry::<String, Box<RawValue>>()? {
                        v.push(kv);
                    }
                    Ok(Members(v))
                }
            }
            d.deserialize_map(V)
        }
    }
    let mut out = BTreeMap::new();
    if let Ok(Members(m)) = serde_json::from_slice::<Members>(body) {
        for (k, v) in m {
            out.entry(k).or_insert_with(|| v.get().to_owned());
        }
    }
    out
}

/// `normalizeCompatSeedJSON` (the reference's, proven equal to Go's by the `seed` vectors).
fn normalized(raw: &str) -> String {
    reference::canonical(Profile::Sub2api, raw.as_bytes())
        .unwrap()
        .unwrap()
}

/// Tools as a set, computed here from its definition: the elements normalized, sorted
/// bytewise, joined (for `functions`, which the vectors do not cover).
fn set_text(raw: &str) -> String {
    let items: Vec<Box<RawValue>> = serde_json::from_str(raw).unwrap();
    let mut texts: Vec<String> = items.iter().map(|i| normalized(i.get())).collect();
    texts.sort();
    format!("[{}]", texts.join(","))
}

/// The seed `base` (a variant's seed, known by its bytes) with tools as a set: its `|tools=`
/// piece replaced by the vector's `tools_set`, its `|functions=` piece by [`set_text`].
/// `None` when `base` is only known by its hash. The flag says whether `tools_set` is in it.
fn with_tools_set(
    v: &Value,
    members: &BTreeMap<String, String>,
    base: &Want,
) -> Option<(Want, bool)> {
    let Want {
        pre,
        mid: Some(Expected::Bytes(seed)),
        post,
    } = base
    else {
        return None;
    };
    if !pre.is_empty() || !post.is_empty() {
        return None;
    }
    let mut seed = seed.clone();
    let piece = |name: &str| {
        members
            .get(name)
            .filter(|r| r.starts_with('[') && r.as_str() != "[]")
            .map(|r| (format!("|{name}={}", normalized(r)), r.clone()))
    };
    if let Some((old, raw)) = piece("functions") {
        let at = find(&seed, old.as_bytes())?;
        let new = format!("|functions={}", set_text(&raw));
        seed.splice(at..at + old.len(), new.bytes());
    }
    match piece("tools") {
        Some((old, _)) => {
            let at = find(&seed, old.as_bytes())? + "|tools=".len();
            let post = seed[at - "|tools=".len() + old.len()..].to_vec();
            seed.truncate(at);
            Some((
                Want {
                    pre: seed,
                    mid: Some(expected(v, "tools_set")),
                    post,
                },
                true,
            ))
        }
        None => Some((Want::of(Expected::Bytes(seed)), false)),
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Go `strings.TrimSpace` (Unicode White_Space, as Rust's) of a valid UTF-8 seed.
fn go_trim(b: &[u8]) -> &str {
    std::str::from_utf8(b)
        .unwrap()
        .trim_matches(char::is_whitespace)
}

/// Pass counts per checked variant.
#[derive(Default)]
struct Tally(BTreeMap<String, (usize, usize)>);

impl Tally {
    fn add(&mut self, name: &str, ok: bool) {
        let e = self.0.entry(name.to_owned()).or_default();
        if ok {
            e.0 += 1;
        } else {
            e.1 += 1;
        }
    }

    fn report(&self, what: &str) {
        for (name, (ok, bad)) in &self.0 {
            eprintln!("golden {what}: {name}: {ok} pass, {bad} fail");
        }
    }
}

/// One variant on one body: `seed_text` (fast and reference) must match `want`, and the
/// content key (fast and reference) must be the xxh64 / SHA-256 of the trimmed seed.
fn check_variant(id: &str, name: &str, cfg: &Config, body: &[u8], want: &Want) -> Vec<String> {
    let mut bad = Vec::new();
    let mut fp = Fingerprinter::new(cfg.clone());
    let fast = fp
        .seed_text(body)
        .unwrap_or_else(|e| panic!("{id} {name}: {e}"))
        .unwrap_or_default();
    let slow = reference::seed_text(cfg, body)
        .unwrap_or_else(|e| panic!("{id} {name}: {e}"))
        .unwrap_or_default();
    for (path, got) in [("fast", &fast), ("reference", &slow)] {
        if !want.matches(got.as_bytes()) {
            bad.push(format!(
                "{id}: {name} ({path})\n  got  {:?}\n  want {:?}",
                got.chars().take(600).collect::<String>(),
                want.show()
            ));
        }
    }
    let trimmed = go_trim(fast.as_bytes());
    let want_key = (!trimmed.is_empty()).then(|| {
        (
            format!("{:016x}", xxhash_rust::xxh64::xxh64(trimmed.as_bytes(), 0)),
            stickykey_hex(&sha2::Sha256::digest(trimmed.as_bytes())),
        )
    });
    let keys = [
        ("fast", fp.content_key(body)),
        ("reference", reference::content_key(cfg, body)),
    ];
    for (path, key) in keys {
        let got = key
            .unwrap_or_else(|e| panic!("{id} {name}: {e}"))
            .map(|k| (k.to_string(), k.legacy_sha256().unwrap_or_default()));
        if got != want_key {
            bad.push(format!("{id}: {name} key ({path}) {got:?} != {want_key:?}"));
        }
    }
    bad
}

/// The policy variants of one vector (SPEC §3.6).
fn check_variants(v: &Value, body: &[u8], tally: &mut Tally) -> Vec<String> {
    let id = v["id"].as_str().unwrap();
    let mut bad = Vec::new();
    let base = Config::sub2api();
    let anchored = base.clone().with_require_user_anchor(true);
    let stable = base.clone().with_stable_prefix(true);
    let leading = base.clone().with_leading_system_only(true);
    let set = base.clone().with_tools_as_set(true);
    if !v["valid_json"].as_bool().unwrap() {
        // Refused like the default seed (an empty body has no seed).
        for (name, cfg) in [
            ("anchored_seed", &anchored),
            ("stable_prefix_seed", &stable),
            ("leading_system_seed", &leading),
            ("tools_set", &set),
        ] {
            let mut fp = Fingerprinter::new(cfg.clone());
            let ok = if body.is_empty() {
                fp.seed_text(body) == Ok(None) && fp.content_key(body) == Ok(None)
            } else {
                fp.seed_text(body).is_err()
                    && fp.content_key(body).is_err()
                    && reference::seed_text(cfg, body).is_err()
            };
            tally.add(&format!("{name} (invalid body refused)"), ok);
            if !ok {
                bad.push(format!("{id}: {name}: invalid body not refused"));
            }
        }
        return bad;
    }
    let want_anchored = Want::of(expected(v, "anchored_seed"));
    let want_stable = Want::of(expected(v, "stable_prefix_seed"));
    let want_leading = Want::of(expected(v, "leading_system_seed"));
    let want_seed = Want::of(expected(v, "seed"));
    let members = first_members(body);
    let gate = |w: &Want| {
        if want_anchored.is_empty() {
            Want::empty()
        } else {
            w.clone()
        }
    };

    let run = |tally: &mut Tally, name: &str, cfg: &Config, want: &Want, bad: &mut Vec<String>| {
        let b = check_variant(id, name, cfg, body, want);
        tally.add(name, b.is_empty());
        bad.extend(b);
    };
    run(tally, "anchored_seed", &anchored, &want_anchored, &mut bad);
    run(tally, "stable_prefix_seed", &stable, &want_stable, &mut bad);
    run(
        tally,
        "leading_system_seed",
        &leading,
        &want_leading,
        &mut bad,
    );

    // tools_set: through the `|tools=` piece of the seed with tools as a set; where there is
    // no such piece, the field must say "no array" ("") or an empty one ("[]").
    match with_tools_set(v, &members, &want_seed) {
        Some((want, true)) => run(tally, "tools_set", &set, &want, &mut bad),
        Some((want, false)) => {
            let b = check_variant(id, "tools_set", &set, body, &want);
            let field = expected(v, "tools_set");
            let tools = members.get("tools");
            let ok = match tools {
                Some(t) if t.starts_with('[') => matches(&field, normalized(t).as_bytes()),
                _ => matches(&field, b""),
            };
            tally.add("tools_set (no tools piece in the seed)", b.is_empty() && ok);
            if !ok {
                bad.push(format!("{id}: tools_set field inconsistent with the body"));
            }
            bad.extend(b);
        }
        None => bad.push(format!("{id}: tools_set: seed piece not found")),
    }

    // Combinations the vectors determine: the anchor gates any variant; tools as a set
    // replaces the tools piece of any variant.
    run(
        tally,
        "anchor+stable_prefix",
        &stable.clone().with_require_user_anchor(true),
        &gate(&want_stable),
        &mut bad,
    );
    run(
        tally,
        "anchor+leading_system",
        &leading.clone().with_require_user_anchor(true),
        &gate(&want_leading),
        &mut bad,
    );
    for (name, cfg, base_want) in [
        (
            "tools_set+anchor",
            anchored.clone().with_tools_as_set(true),
            &want_anchored,
        ),
        (
            "tools_set+stable_prefix",
            stable.clone().with_tools_as_set(true),
            &want_stable,
        ),
        (
            "tools_set+leading_system",
            leading.clone().with_tools_as_set(true),
            &want_leading,
        ),
    ] {
        match with_tools_set(v, &members, base_want) {
            Some((want, _)) => run(tally, name, &cfg, &want, &mut bad),
            None => tally.add(
                &format!("{name} (skipped: variant known by hash only)"),
                true,
            ),
        }
    }
    bad
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
    let mut tally = Tally::default();
    for v in &vectors {
        let body = b64(v["body_b64"].as_str().unwrap());
        let headers: Pairs = serde_json::from_value(v["headers"].clone()).unwrap();
        bad.extend(check(v, &body, &headers));
        bad.extend(check_variants(v, &body, &mut tally));
    }
    tally.report("edge cases");
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
    let mut tally = Tally::default();
    for v in &vectors {
        let id = v["id"].as_str().unwrap();
        let body = std::fs::read(dir.join("corpus/public").join(id)).unwrap();
        let m = manifest
            .iter()
            .find(|m| m["file"] == id)
            .expect("in manifest");
        let headers: Pairs = serde_json::from_value(m["headers"].clone()).unwrap_or_default();
        bad.extend(check(v, &body, &headers));
        bad.extend(check_variants(v, &body, &mut tally));
    }
    tally.report("corpus");
    eprintln!(
        "golden corpus: {} vectors, {} mismatches",
        vectors.len(),
        bad.len()
    );
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    assert_eq!(vectors.len(), manifest.len(), "one vector per corpus body");
}

/// The policy rules the vectors leave open (SPEC §3.6): combinations and choices, on
/// hand-made bodies, through the fast path and the reference.
#[test]
fn policy_rules_beyond_the_vectors() {
    let base = Config::sub2api();
    let chat = br#"{"model":"m","tools":[{"b":1},{"a":1}],"instructions":"I","messages":[{"role":"system","content":"S1"},{"role":"user","content":"U"},{"role":"developer","content":"late"}]}"#;
    let cases: Vec<(&str, Config, &[u8], Option<&str>)> = vec![
        (
            "stable prefix",
            base.clone().with_stable_prefix(true),
            chat,
            Some(r#"compat_csp_|tools=[{"b":1},{"a":1}]|instructions="I"|system="S1"|developer="late""#),
        ),
        (
            "stable prefix + leading system only",
            base.clone().with_stable_prefix(true).with_leading_system_only(true),
            chat,
            Some(r#"compat_csp_|tools=[{"b":1},{"a":1}]|instructions="I"|system="S1""#),
        ),
        (
            "stable prefix + leading system only + tools as a set",
            base.clone()
                .with_stable_prefix(true)
                .with_leading_system_only(true)
                .with_tools_as_set(true),
            chat,
            Some(r#"compat_csp_|tools=[{"a":1},{"b":1}]|instructions="I"|system="S1""#),
        ),
        (
            "leading system only + tools as a set",
            base.clone().with_leading_system_only(true).with_tools_as_set(true),
            chat,
            Some(r#"compat_cs_model=m|tools=[{"a":1},{"b":1}]|instructions=I|system="S1"|first_user="U""#),
        ),
        (
            "leading system only: a dropped history item ends the run",
            base.clone().with_leading_system_only(true),
            br#"{"messages":[{"role":"system","content":"S1"},{"role":"assistant","content":"A"},{"role":"system","content":"S2"},{"role":"user","content":"U"}]}"#,
            Some(r#"compat_cs_|system="S1"|first_user="U""#),
        ),
        (
            "leading system only: input items keep every system item",
            base.clone().with_leading_system_only(true),
            br#"{"model":"m","input":[{"role":"user","content":"U"},{"role":"system","content":"late"}]}"#,
            Some(r#"compat_cs_model=m|first_user="U"|system="late""#),
        ),
        (
            "anchor + stable prefix: no anchor, no seed",
            base.clone().with_stable_prefix(true).with_require_user_anchor(true),
            br#"{"model":"m","instructions":"I","messages":[{"role":"system","content":"S"}]}"#,
            None,
        ),
        (
            "anchor + stable prefix: anchored",
            base.clone().with_stable_prefix(true).with_require_user_anchor(true),
            br#"{"model":"m","instructions":"I","messages":[{"role":"system","content":"S"},{"role":"user","content":"U"}]}"#,
            Some(r#"compat_csp_|instructions="I"|system="S""#),
        ),
        (
            "anchor: a blank input_text",
            base.clone().with_require_user_anchor(true),
            br#"{"model":"m","input":[{"type":"input_text","text":" \t"}]}"#,
            None,
        ),
        (
            "anchor: an empty object content",
            base.clone().with_require_user_anchor(true),
            br#"{"model":"m","messages":[{"role":"user","content":{}}]}"#,
            None,
        ),
        (
            "anchor: an array content with an element",
            base.clone().with_require_user_anchor(true),
            br#"{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":" "}]}]}"#,
            Some(r#"compat_cs_model=m|first_user=[{"text":" ","type":"text"}]"#),
        ),
        (
            "anchor: an escaped padded role",
            base.clone().with_require_user_anchor(true),
            br#"{"model":"m","messages":[{"role":"\u0020us\u0065r\n","content":"x"}]}"#,
            Some("compat_cs_model=m"),
        ),
        (
            "tools as a set: functions too",
            base.clone().with_tools_as_set(true),
            br#"{"functions":[{"name":"b"},{"name":"a"},{"name":"a"}],"input":"x"}"#,
            Some(r#"compat_cs_|functions=[{"name":"a"},{"name":"a"},{"name":"b"}]|input=x"#),
        ),
        (
            "tools as a set: an element beyond float64 keeps its raw text",
            base.clone().with_tools_as_set(true),
            br#"{"tools":[ 2.0 , 1e400 ],"input":"x"}"#,
            Some("compat_cs_|tools=[1e400,2]|input=x"),
        ),
        (
            "a native fingerprinter prints the default seed",
            Config::native().with_stable_prefix(true),
            chat,
            Some(r#"compat_cs_model=m|tools=[{"b":1},{"a":1}]|instructions=I|system="S1"|first_user="U"|system="late""#),
        ),
    ];
    let mut bad = Vec::new();
    for (name, cfg, body, want) in cases {
        let mut fp = Fingerprinter::new(cfg.clone());
        let fast = fp.seed_text(body).unwrap();
        let slow = reference::seed_text(&cfg, body).unwrap();
        for (path, got) in [("fast", &fast), ("reference", &slow)] {
            if got.as_deref() != want {
                bad.push(format!("{name} ({path}): {got:?} != {want:?}"));
            }
        }
        if cfg.profile() == Profile::Sub2api {
            let key = fp.content_key(body).unwrap().map(|k| k.to_string());
            let want_key =
                want.map(|s| format!("{:016x}", xxhash_rust::xxh64::xxh64(s.as_bytes(), 0)));
            if key != want_key
                || reference::content_key(&cfg, body)
                    .unwrap()
                    .map(|k| k.to_string())
                    != want_key
            {
                bad.push(format!("{name}: key {key:?} != {want_key:?}"));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
