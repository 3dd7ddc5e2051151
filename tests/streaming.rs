//! Streaming equals one-shot: for every body, every way of cutting it into chunks gives what
//! `session_key` / `content_key` give for the whole body: the same key and source, or the same
//! error kind at the same offset (issue #4).
//!
//! Bodies: the shipped examples, hand-written edge cases, the shared corpus and JSONTestSuite
//! (skipped with a message when `../shared` is absent), and proptest's request-shaped and
//! damaged bodies (the generators of `tests/equivalence.rs`). Cuts: fixed chunk sizes around
//! the scanner's 64-byte blocks, random cut points, and exhaustively every single cut and every
//! pair of cuts of small bodies. Every configuration axis that changes the scan is varied:
//! profile, validation level, nesting limit and body-size limit, and every SIMD back end.

mod common;
#[allow(dead_code)]
#[path = "equivalence/gen.rs"]
mod gen;
#[allow(dead_code)]
#[path = "equivalence/model.rs"]
mod model;
#[allow(dead_code)]
#[path = "equivalence/mutate.rs"]
mod mutate;

use proptest::prelude::*;
use proptest::test_runner::{Config as PtConfig, TestCaseError, TestRunner};
use std::path::Path;
use stickykey::{
    Backend, Config, Error, Fingerprinter, Limits, SessionKey, Signals, Source, Validation,
};

type Outcome = Result<Option<SessionKey>, Error>;

fn configs() -> Vec<Config> {
    let mut v = Vec::new();
    // The sub2api policies (SPEC §3.6) change which message items matter: leading-only needs
    // the end of the leading run, the anchor an item whose trimmed role is `user`.
    let policies = Config::sub2api()
        .with_leading_system_only(true)
        .with_require_user_anchor(true);
    let prefix = Config::sub2api()
        .with_stable_prefix(true)
        .with_leading_system_only(true)
        .with_tools_as_set(true);
    // The extended signals read two more root members (`previous_response_id`, `metadata`).
    let signals = Config::native().with_signals(Signals::extended());
    for base in [
        Config::sub2api(),
        Config::native(),
        policies,
        prefix,
        signals,
    ] {
        for validation in [Validation::Full, Validation::Extracted] {
            v.push(base.clone().with_validation(validation));
        }
    }
    v
}

fn one_shot(
    fp: &mut Fingerprinter,
    headers: &[(&str, &str)],
    body: &[u8],
    content: bool,
) -> Outcome {
    if content {
        fp.content_key(body).map(|k| {
            k.map(|key| SessionKey {
                key,
                source: Source::Content,
            })
        })
    } else {
        fp.session_key(headers, body)
    }
}

/// Streams `body` cut at `cuts` (increasing offsets). Checks that an error returned by `push`
/// is returned again by every later call, and that `is_decided` says so.
fn streamed(
    fp: &mut Fingerprinter,
    headers: &[(&str, &str)],
    body: &[u8],
    cuts: &[usize],
    content: bool,
) -> Outcome {
    let mut s = if content {
        fp.content_stream()
    } else {
        fp.stream(headers)
    };
    let mut prev = 0;
    for &c in cuts.iter().chain([&body.len()]) {
        let c = c.clamp(prev, body.len());
        if let Err(e) = s.push(&body[prev..c]) {
            assert!(
                s.is_decided(),
                "an error was returned: the stream is decided"
            );
            assert_eq!(s.push(b"more"), Err(e), "errors stick");
            assert_eq!(s.finish(), Err(e), "finish returns the error push returned");
            return Err(e);
        }
        prev = c;
    }
    s.finish()
}

/// One body, one fingerprinter, several cut sets: all equal to the one-shot result.
fn check_cuts(
    fp: &mut Fingerprinter,
    headers: &[(&str, &str)],
    body: &[u8],
    cut_sets: &[Vec<usize>],
    content: bool,
) -> Result<(), String> {
    let want = one_shot(fp, headers, body, content);
    for cuts in cut_sets {
        let got = streamed(fp, headers, body, cuts, content);
        if got != want {
            return Err(format!(
                "{:?} {:?} content={content}: one-shot {want:?}, streamed with cuts {cuts:?}: {got:?}\nbody: {}",
                fp.config().profile(),
                fp.backend(),
                String::from_utf8_lossy(&body[..body.len().min(400)])
            ));
        }
    }
    Ok(())
}

/// Cuts every `size` bytes.
fn every(size: usize, len: usize) -> Vec<usize> {
    (1..).map(|i| i * size).take_while(|&c| c < len).collect()
}

/// The fixed cut sets: chunk sizes around the 64-byte block and the 16-byte look-ahead.
fn fixed_cut_sets(len: usize) -> Vec<Vec<usize>> {
    let mut sets = vec![vec![]];
    for size in [
        2,
        3,
        7,
        15,
        16,
        17,
        63,
        64,
        65,
        80,
        81,
        127,
        1000,
        4096,
        16 << 10,
        64 << 10,
    ] {
        if size < len && (size >= 7 || len <= 64 << 10) {
            sets.push(every(size, len));
        }
    }
    if len <= 64 << 10 {
        sets.push(every(1, len));
    }
    sets
}

/// A deterministic pseudo-random cut set (xorshift), for the corpus sweep.
fn random_cuts(len: usize, seed: u64, n: usize) -> Vec<usize> {
    let mut x = seed | 1;
    let mut v: Vec<usize> = (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % (len as u64 + 1)) as usize
        })
        .collect();
    v.sort_unstable();
    v
}

fn fingerprinters(config: &Config) -> Vec<Fingerprinter> {
    Backend::all_available()
        .into_iter()
        .filter_map(|b| Fingerprinter::with_backend(config.clone(), b))
        .collect()
}

/// Small hand-written bodies that put every kind of token across every cut.
const EDGE_CASES: &[&str] = &[
    r#"{"previous_response_id":"resp_1","metadata":{"user_id":"user_a_account_b_session_c"},"model":"m"}"#,
    r#"{"metadata":{"user_id":"{\"session_id\":\"s\"}","user_id":"dup"},"model":"m"}"#,
    r#"{"model":"m","messages":[{"role":"system","content":"s\u00e9\ud83d\ude00"},{"role":"user","content":[{"type":"text","text":"a\"b\\c"}]}]}"#,
    r#"{"model":-12.5e+3,"tools":[{"type":"function","function":{"name":"f","parameters":{"a":[1,2.0,true,false,null]}}}],"input":"hi"}"#,
    r#"{"input":[{"type":"input_text","text":"t"},{"role":"user","content":"u"}],"instructions":"i"}"#,
    r#"{"content":1,"messages":[{"content":"late role","role":"system"},{"role":"assistant","content":"x"},{"role":"system","content":"not leading"},{"role":"user","content":"u"}]}"#,
    r#"{"messages":"not a list","input":[{"role":"developer","content":"d"},0,{"role":"user","content":null}]}"#,
    r#"{"input":[{"role":"system","content":"s"},{"role":"assistant","content":"a"},{"role":"system","type":"input_text","text":"t"}]}"#,
    r#"{"input":[{"type":"input_text","role":"developer","text":"t","content":"c"},{"role":"user","content":"u"}]}"#,
    r#"{"prompt_cache_key":"  pk  ","model":"m"}"#,
    r#"{"prompt_cache_key":{"b":1,"a":[2]},"model":"m"}"#,
    r#"{"model":"m","model":"dup","messages":[{"role":"user","role":"x","content":"c"}]}"#,
    r#"{"model":"m","input":[{"role":"user","content":"a","content":"b"}],"messages":[{"role":"user","content":"c"}]}"#,
    r#"{"model":"m","input":[{"role":"user","content":"a","content":"b"}]}"#,
    r#"  {"model" : "m" , "messages" : [ { "role" : "user" , "content" : "x" } ] }  "#,
    r#"{"model":"\u006d","mess\u0061ges":[{"r\u006fle":"us\u0065r","content":"x"}]}"#,
    r#"{"model":"m","messages":[{"role":"user","content":"\ud800"}]}"#,
    r#"{"model":"m","history":"\udc00","messages":[]}"#,
    r#"{"model":"m","messages":[{"role":"user","content":"x"}]} x"#,
    r#"{"model":"m","messages":[{"role":"user","content":"x"}"#,
    r#"{"model":"m","messages":[{"role":"user","content":"x\u12"}]}"#,
    r#"{"model":"m","messages":[{"role":"user","content":"x"},{"role":"assistant","content":[1,2,}]}"#,
    r#"{"model":"m","n":01,"messages":[]}"#,
    r#"{"model":"m","n":1.,"messages":[]}"#,
    r#"{"model":"m","n":tru,"messages":[]}"#,
    r#"{"model":"m","n":12345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890,"messages":[]}"#,
    r#"{"model":"m","skip":[\"x\"],"messages":[]}"#,
    r#"{"model":"m","skip":{"a":[1,2,{"b":"]}"}]},"messages":[{"role":"user","content":"x"}]}"#,
    r#"[{"role":"user","content":"x"}]"#,
    r#""just a string""#,
    r#"12"#,
    r#"12 13"#,
    r#"{}"#,
    r#"{"a":"b\x"}"#,
    "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\u{1}\"}]}",
    "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\u{e9}\u{1F600}\"}]}",
    "   ",
    // Anthropic Messages (SPEC §5.2).
    r#"{"model":"c","system":[{"type":"text","text":"s","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":[{"type":"text","text":"u","cache_control":{}}]}],"tools":[{"name":"t","input_schema":{}}]}"#,
    r#"{"messages":[{"role":"assistant","content":"a"},{"content":[{"type":"text","text":"u"}],"role":"user"}],"system":"s\u00e9"}"#,
    r#"{"system":"s","model":"m","system":"dup","messages":[]}"#,
    r#"{"system":[{"type":"text","text":"a","text":"b"}],"messages":[{"role":"user","content":"u"}]}"#,
    r#"{"system":[1,],"messages":[{"role":"user","content":"u"}]}"#,
    r#"{"system":null,"messages":[{"role":"system","content":"s"},{"role":"user","content":"u"}]}"#,
    // Gemini generateContent (SPEC §5.3).
    r#"{"contents":[{"role":"model","parts":[{"text":"m"}]},{"parts":[{"text":"u"}]},{"role":"user","parts":[1]}],"systemInstruction":{"parts":[{"text":"s"}]},"tools":[{"googleSearch":{}}]}"#,
    r#"{"contents":[{"parts":[{"text":"x"}],"role":"user"}],"system_instruction":{"role":"r","parts":[{"text":"s\u00e9"}]},"model":"models/g"}"#,
    r#"{"contents":[0,{"role":1,"parts":[]},{"role":null,"parts":"n"},{"parts":[{"text":"p"}]},{"role":"user","role":"user"}]}"#,
    r#"{"contents":[{"role":"user","role":"user","parts":[]}],"messages":[{"role":"user","content":"c"}]}"#,
    r#"{"messages":[{"role":"user","content":"c"}],"contents":[{"role":"user","role":"user"}]}"#,
    r#"{"contents":[{"role":"user","parts":[{"text":"a","text":"b"}]}]}"#,
    r#"{"input":[{"role":"user","content":"a","content":"b"}],"contents":[{"parts":"x","role":"user","role":"u"}]}"#,
    r#"{"contents":[{"parts":"x","role":"user","role":"u"}],"input":[{"role":"user","content":"a","content":"b"}]}"#,
    r#"{"contents":"str","system_instruction":{"role":"x","parts":"p"},"systemInstruction":null}"#,
    r#"{"contents":[{"role":"user","parts":[1,]}]}"#,
    r#"{"contents":[{"role":"model","parts":[1,]},{"role":"user","parts":"ok"}]}"#,
    r#"{"contents":[{"parts":[{"text":"\ud800"}]}]}"#,
    r#"{"systemInstruction":{"parts":[{"text":"s"}],"parts":[]},"contents":[]}"#,
];

#[test]
fn edge_cases_every_single_and_double_cut() {
    let mut bodies: Vec<Vec<u8>> = EDGE_CASES.iter().map(|s| s.as_bytes().to_vec()).collect();
    // Invalid UTF-8 in and outside strings, and a sequence cut by the end.
    bodies.push(b"{\"model\":\"m\xff\",\"messages\":[]}".to_vec());
    bodies.push(b"{\"model\":\"m\",\"x\":\"\xe2\x28\xa1\",\"messages\":[1,]}".to_vec());
    bodies.push(b"{\"model\":\"m\",\"x\":[1,]\xe2\x28\xa1}".to_vec());
    bodies.push(b"{\"model\":\"\xf0\x9f\x98".to_vec());
    bodies.push(b"\xef\xbb\xbf{}".to_vec());
    let mut n = 0;
    for config in configs() {
        for mut fp in fingerprinters(&config) {
            for body in &bodies {
                let len = body.len();
                let mut sets = vec![vec![]];
                for a in 0..=len {
                    sets.push(vec![a]);
                    for b in a..=len {
                        sets.push(vec![a, b]);
                    }
                }
                sets.push(every(1, len));
                for content in [false, true] {
                    check_cuts(&mut fp, &[], body, &sets, content).unwrap();
                }
                n += sets.len() * 2;
            }
        }
    }
    eprintln!("edge cases: {n} streams equal to one-shot");
}

#[test]
fn header_tier_decides_at_once() {
    for config in configs() {
        let mut fp = Fingerprinter::new(config);
        let headers = [("Session_ID", " abc ")];
        let want = fp.session_key(&headers[..], b"not json").unwrap();
        let mut s = fp.stream(&headers[..]);
        assert!(s.is_decided());
        s.push(b"{not json at all").unwrap();
        assert_eq!(s.bytes_seen(), 0, "a decided stream does not read the body");
        assert_eq!(s.finish().unwrap(), want);
        // Without the header the same body is refused, both ways.
        // Errors surface as soon as the scan reaches them (a block and its look-ahead).
        let bad = format!("{{not json{}", " ".repeat(100));
        let mut s = fp.stream(&[("x", "y")][..]);
        assert!(!s.is_decided());
        let e = s.push(bad.as_bytes()).unwrap_err();
        assert!(s.is_decided());
        assert_eq!(Err(e), fp.session_key(&[("x", "y")][..], bad.as_bytes()));
    }
}

#[test]
fn empty_and_blank_bodies() {
    for config in configs() {
        let mut fp = Fingerprinter::new(config);
        assert_eq!(streamed(&mut fp, &[], b"", &[], false), Ok(None));
        let s = fp.stream(&[] as &[(&str, &str)]);
        assert_eq!(s.finish(), Ok(None));
        check_cuts(&mut fp, &[], b" \n ", &[vec![], vec![1]], false).unwrap();
    }
}

/// The size limit: a body over it is `TooLarge` unless an error comes clearly before the
/// limit, however it is cut (also when the cut falls exactly at the limit).
#[test]
fn size_limit_every_cut() {
    let bodies: Vec<&[u8]> = vec![
        br#"{"model":"m","messages":[{"role":"user","content":"hello world, a longer text"}]}"#,
        br#"{"model":"m","x":[1,,2],"messages":[{"role":"user","content":"hello world, a longer text"}]}"#,
        br#"{"model":"m","messages":[{"role":"user","content":"\ud83d\ude00\ud83d\ude00\ud83d\ude00"}]}"#,
    ];
    for base in configs() {
        for body in &bodies {
            for max in 0..body.len() + 3 {
                let config = base.clone().with_limits(Limits {
                    max_body_bytes: max,
                    ..Limits::default()
                });
                let mut fp = Fingerprinter::new(config);
                let len = body.len();
                let mut sets = vec![vec![], every(1, len), every(5, len), every(64, len)];
                for a in 0..=len {
                    sets.push(vec![a]);
                }
                check_cuts(&mut fp, &[], body, &sets, false).unwrap();
            }
        }
    }
}

/// Nesting limits: the bit stack and `TooDeep` across cuts.
#[test]
fn depth_limit_every_cut() {
    let deep = format!(
        "{{\"model\":\"m\",\"x\":{}1{},\"messages\":[{{\"role\":\"user\",\"content\":[[[\"x\"]]]}}]}}",
        "[".repeat(70),
        "]".repeat(70)
    );
    for base in configs() {
        for max_depth in [1, 2, 3, 4, 5, 6, 64, 70, 71, 72, 1024] {
            let config = base.clone().with_limits(Limits {
                max_depth,
                ..Limits::default()
            });
            let mut fp = Fingerprinter::new(config);
            let len = deep.len();
            let mut sets = vec![vec![], every(1, len), every(3, len), every(64, len)];
            for a in (0..=len).step_by(5) {
                sets.push(vec![a]);
            }
            check_cuts(&mut fp, &[], deep.as_bytes(), &sets, false).unwrap();
        }
    }
}

fn shipped_examples() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/requests");
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    v.sort();
    v
}

#[test]
fn shipped_examples_every_chunk_size() {
    for config in configs() {
        for mut fp in fingerprinters(&config) {
            for (name, body) in shipped_examples() {
                let mut sets = fixed_cut_sets(body.len());
                for seed in 0..10 {
                    sets.push(random_cuts(body.len(), seed + 1, 1 + seed as usize * 3));
                }
                for content in [false, true] {
                    check_cuts(&mut fp, &[], &body, &sets, content)
                        .unwrap_or_else(|e| panic!("{name}: {e}"));
                }
            }
        }
    }
}

#[test]
fn corpus_every_chunk_size() {
    let Some(dir) = common::shared_dir("streaming corpus") else {
        return;
    };
    let root = dir.join("corpus/public");
    let manifest = common::read_jsonl(&root.join("manifest.jsonl"));
    let mut streams = 0;
    for config in configs() {
        let mut fp = Fingerprinter::new(config);
        for m in &manifest {
            let file = m["file"].as_str().unwrap();
            let body = std::fs::read(root.join(file)).unwrap();
            let headers: common::Pairs =
                serde_json::from_value(m["headers"].clone()).unwrap_or_default();
            let headers: Vec<(&str, &str)> = headers
                .0
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let mut sets = fixed_cut_sets(body.len());
            for seed in 0..6 {
                sets.push(random_cuts(body.len(), seed * 7919 + 3, 1 << seed));
            }
            streams += sets.len();
            check_cuts(&mut fp, &headers, &body, &sets, false)
                .unwrap_or_else(|e| panic!("{file}: {e}"));
        }
    }
    eprintln!(
        "corpus: {} bodies, {streams} streams equal to one-shot",
        manifest.len()
    );
}

/// Where JSONTestSuite documents are put: the whole body, and inside request bodies at
/// places the profiles read and places they skip.
const EMBEDDINGS: &[(&str, &str)] = &[
    ("", ""),
    (
        r#"{"model":"m","tools":"#,
        r#","messages":[{"role":"user","content":"u"}]}"#,
    ),
    (
        r#"{"model":"m","messages":[{"role":"system","content":"#,
        r#"},{"role":"user","content":"u"}]}"#,
    ),
    (
        r#"{"model":"m","messages":[{"role":"user","content":"u"},{"role":"assistant","content":"#,
        r#"}]}"#,
    ),
    (r#"{"model":"m","metadata":"#, r#","input":"x"}"#),
    (r#"{"model":"m","input":["#, r#"]}"#),
];

#[test]
fn jsontestsuite_every_cut() {
    let Some(dir) = common::shared_dir("streaming jsontestsuite") else {
        return;
    };
    let dir = dir.join("jsontestsuite/test_parsing");
    if !dir.is_dir() {
        eprintln!(
            "SKIPPED streaming jsontestsuite: {} not found",
            dir.display()
        );
        return;
    }
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut streams = 0;
    for config in configs() {
        for mut fp in fingerprinters(&config) {
            for path in &files {
                let doc = std::fs::read(path).unwrap();
                for (pre, post) in EMBEDDINGS {
                    let mut body = pre.as_bytes().to_vec();
                    body.extend_from_slice(&doc);
                    body.extend_from_slice(post.as_bytes());
                    let len = body.len();
                    let mut sets = vec![vec![], every(1, len), every(64, len), every(65, len)];
                    if len <= 160 {
                        for a in 0..=len {
                            for b in (a..=len).step_by(3) {
                                sets.push(vec![a, b]);
                            }
                        }
                    } else {
                        for a in (0..=len).step_by(len / 97 + 1) {
                            sets.push(vec![a]);
                        }
                    }
                    streams += sets.len();
                    check_cuts(&mut fp, &[], &body, &sets, false)
                        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                }
            }
        }
    }
    eprintln!(
        "jsontestsuite: {} documents x {} embeddings, {streams} streams equal to one-shot",
        files.len(),
        EMBEDDINGS.len()
    );
}

// ---------------------------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------------------------

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(default)
}

/// A configuration that changes how the scan runs.
fn config_strategy() -> BoxedStrategy<Config> {
    (
        any::<bool>(),
        any::<bool>(),
        prop_oneof![8 => Just(1024usize), 1 => 1usize..8],
        prop_oneof![8 => Just(usize::MAX), 1 => 0usize..400],
        any::<[bool; 5]>(),
    )
        .prop_map(|(native, full, max_depth, max_body, policy)| {
            let signals = if policy[4] {
                Signals::extended()
            } else {
                Signals::sub2api()
            };
            let base = if native {
                Config::native()
            } else {
                Config::sub2api()
            };
            let limits = Limits {
                max_depth,
                max_body_bytes: max_body.min(Limits::default().max_body_bytes),
            };
            base.with_validation(if full {
                Validation::Full
            } else {
                Validation::Extracted
            })
            .with_limits(limits)
            .with_tools_as_set(policy[0] ^ native)
            .with_leading_system_only(policy[1])
            .with_require_user_anchor(policy[2])
            .with_stable_prefix(policy[3])
            .with_signals(signals)
        })
        .boxed()
}

/// A body: request-shaped (valid), or damaged by a few edits.
fn body_strategy() -> BoxedStrategy<Vec<u8>> {
    (
        gen::request(),
        gen::style(),
        any::<u64>(),
        proptest::collection::vec(mutate::edit(), 0..4),
        proptest::bool::weighted(0.15),
    )
        .prop_map(|(req, style, seed, edits, lone)| {
            let req = if lone { req } else { req.without_lone() };
            let mut body = model::Renderer::new(seed, style).body(&req).into_bytes();
            mutate::apply(&mut body, &edits);
            body
        })
        .boxed()
}

fn cut_strategy() -> BoxedStrategy<(Vec<prop::sample::Index>, usize)> {
    (
        proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
        prop_oneof![6 => Just(0usize), 1 => 1usize..4, 1 => 60usize..70],
    )
        .boxed()
}

#[test]
fn random_bodies_random_cuts() {
    let mut runner = TestRunner::new(PtConfig {
        cases: cases(3000),
        failure_persistence: None,
        ..PtConfig::default()
    });
    let strategy = (
        body_strategy(),
        config_strategy(),
        cut_strategy(),
        any::<bool>(),
        proptest::sample::select(Backend::all_available()),
    );
    runner
        .run(
            &strategy,
            |(body, config, (points, chunk), content, backend)| {
                let mut fp = Fingerprinter::with_backend(config, backend).unwrap();
                let len = body.len();
                let mut cuts: Vec<usize> = points.iter().map(|i| i.index(len + 1)).collect();
                cuts.sort_unstable();
                let mut sets = vec![cuts];
                if chunk > 0 {
                    sets.push(every(chunk, len));
                }
                check_cuts(&mut fp, &[], &body, &sets, content).map_err(TestCaseError::fail)
            },
        )
        .unwrap();
}
