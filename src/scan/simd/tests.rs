//! Every back end this CPU can run, checked against deliberately naive oracles.
//!
//! Back ends the CPU cannot run are skipped, and the skip is printed (run with
//! `--nocapture` to see it). The throughput check at the end is `#[ignore]`d: run it by hand in
//! release mode (see [`throughput`]).

use std::sync::OnceLock;

use proptest::prelude::*;

use super::{active, kernels, parse_backend_env, Backend, SkipState};

// ---------------------------------------------------------------------------------------------
// Oracles: one byte at a time, explicit state, straight from the contract.

fn naive_string_special(hay: &[u8], from: usize) -> usize {
    let mut i = from;
    while i < hay.len() {
        let b = hay[i];
        if b == b'"' || b == b'\\' || b < 0x20 {
            return i;
        }
        i += 1;
    }
    hay.len()
}

fn naive_skip_container(hay: &[u8], open_at: usize) -> Option<usize> {
    if open_at >= hay.len() || !(hay[open_at] == b'{' || hay[open_at] == b'[') {
        return None;
    }
    naive_skip_state(hay, open_at, hay.len()).err()
}

/// Where the skip of the container at `open_at` stands just before `hay[upto]`: `Err(end)` if
/// it closed before (`end` just past the bracket), else `(depth, in_string, escaped)`.
fn naive_skip_state(hay: &[u8], open_at: usize, upto: usize) -> Result<(usize, bool, bool), usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, &b) in hay[..upto].iter().enumerate().skip(open_at) {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if b == b'"' {
            in_string = true;
        } else if b == b'{' || b == b'[' {
            depth += 1;
        } else if b == b'}' || b == b']' {
            depth -= 1;
            if depth == 0 {
                return Err(i + 1);
            }
        }
    }
    Ok((depth, in_string, escaped))
}

// ---------------------------------------------------------------------------------------------
// Harness.

/// One implementation under test.
struct Impl {
    name: &'static str,
    string_special: fn(&[u8], usize) -> usize,
    skip_container: fn(&[u8], usize) -> Option<usize>,
    skip_resume: fn(&[u8], usize, &mut SkipState) -> Result<usize, usize>,
}

/// The kernel tables of every back end this CPU runs (the others are reported once), plus
/// the block `skip_container` with SWAR, which no table uses on its own.
fn under_test() -> &'static [Impl] {
    static IMPLS: OnceLock<Vec<Impl>> = OnceLock::new();
    IMPLS.get_or_init(|| {
        let mut impls = vec![Impl {
            name: "portable-blocks",
            string_special: super::portable::KERNELS.string_special,
            skip_container: super::portable::skip_container_blocks,
            skip_resume: super::portable::KERNELS.skip_resume,
        }];
        for b in Backend::ALL {
            match kernels(b) {
                Some(k) => impls.push(Impl {
                    name: b.name(),
                    string_special: k.string_special,
                    skip_container: k.skip_container,
                    skip_resume: k.skip_resume,
                }),
                None => eprintln!(
                    "scan::simd tests: back end `{}` is not available on this CPU: NOT tested",
                    b.name()
                ),
            }
        }
        impls
    })
}

fn show(hay: &[u8]) -> String {
    if hay.len() <= 300 {
        format!("{:?} (len {})", hay.escape_ascii().to_string(), hay.len())
    } else {
        format!("<{} bytes>", hay.len())
    }
}

fn check_string_special_at(hay: &[u8], from: usize) {
    let want = naive_string_special(hay, from);
    for k in under_test() {
        let got = (k.string_special)(hay, from);
        assert_eq!(
            got,
            want,
            "string_special [{}] from {from} in {}",
            k.name,
            show(hay)
        );
    }
}

fn check_skip_container_at(hay: &[u8], open_at: usize) {
    let want = naive_skip_container(hay, open_at);
    for k in under_test() {
        let got = (k.skip_container)(hay, open_at);
        assert_eq!(
            got,
            want,
            "skip_container [{}] at {open_at} in {}",
            k.name,
            show(hay)
        );
        if matches!(hay.get(open_at), Some(b'{' | b'[')) {
            check_skip_resume(k, hay, open_at);
        }
    }
}

/// `skip_resume` as the streaming scanner drives it: the skip of the container at `open_at`
/// over growing prefixes of `hay` (cut every `step` bytes, for a few steps), resumed where it
/// stopped. Each stop must be a whole number of blocks on, less than a block from the end of
/// the prefix, with the oracle's state there; a find must be the oracle's.
fn check_skip_resume(k: &Impl, hay: &[u8], open_at: usize) {
    // Small steps on short inputs only: every resumed call scans at most one block then.
    let len = hay.len() - open_at;
    let steps: &[usize] = if len <= 512 {
        &[1, 7, 64, 100]
    } else {
        &[64, 100, 4096]
    };
    for &step in steps.iter().chain([&len]) {
        let mut state = SkipState::default();
        let mut at = open_at;
        let mut cut = (open_at + step).min(hay.len());
        loop {
            let what = || {
                format!(
                    "skip_resume [{}] at {open_at} step {step} cut {cut} in {}",
                    k.name,
                    show(hay)
                )
            };
            match (k.skip_resume)(&hay[..cut], at, &mut state) {
                Ok(end) => {
                    assert_eq!(Some(end), naive_skip_container(hay, open_at), "{}", what());
                    break;
                }
                Err(next) => {
                    assert!(
                        next >= at && (next - at).is_multiple_of(64),
                        "{}: stop {next}",
                        what()
                    );
                    assert!(cut - next < 64, "{}: stop {next}", what());
                    let want = naive_skip_state(hay, open_at, next);
                    let got = (state.depth(), state.in_string(), state.escaped());
                    match want {
                        Ok(w) if next > open_at => {
                            assert_eq!(got, w, "{}: state at {next}", what())
                        }
                        Ok(_) => assert_eq!(state, SkipState::default(), "{}", what()),
                        Err(end) => panic!("{}: closed at {end}, not found", what()),
                    }
                    at = next;
                }
            }
            if cut == hay.len() {
                break;
            }
            cut = (cut + step).min(hay.len());
        }
    }
}

/// Both kernels from every position (and one past the end).
fn check_all_positions(hay: &[u8]) {
    for i in 0..=hay.len() + 1 {
        check_string_special_at(hay, i);
        check_skip_container_at(hay, i);
    }
}

/// For long inputs: the first and last `edge` positions, every bracket in between, and a stride.
fn check_sampled(hay: &[u8], edge: usize, stride: usize) {
    let len = hay.len();
    for i in 0..=len + 1 {
        let near_edge = i < edge || i + edge > len;
        if near_edge || i % stride == 0 {
            check_string_special_at(hay, i);
        }
        if near_edge || i % stride == 0 || matches!(hay.get(i), Some(b'{' | b'[')) && i % 7 == 0 {
            check_skip_container_at(hay, i);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Dispatch.

#[test]
fn every_backend_is_listed_and_reported() {
    let tested: Vec<Backend> = Backend::ALL
        .into_iter()
        .filter(|&b| kernels(b).is_some())
        .collect();
    assert_eq!(Backend::all_available(), tested);
    assert_eq!(tested.first(), Some(&Backend::Portable));
    for b in Backend::ALL {
        assert_eq!(b.is_available(), kernels(b).is_some());
        if let Some(k) = kernels(b) {
            assert_eq!(k.backend, b);
        }
    }
    #[cfg(target_arch = "x86_64")]
    assert!(Backend::Sse2.is_available(), "SSE2 is x86-64 baseline");
    #[cfg(not(target_arch = "x86_64"))]
    assert_eq!(tested, [Backend::Portable]);
    eprintln!(
        "scan::simd tests: testing {:?}; detected {:?}",
        tested,
        Backend::detect()
    );
}

#[test]
fn detection_is_available_and_cached() {
    let d = Backend::detect();
    assert!(d.is_available());
    assert_eq!(Backend::detect(), d);
    assert_eq!(active().backend, d);
    if std::env::var_os("STICKYKEY_BACKEND").is_none() {
        assert_eq!(
            Some(&d),
            Backend::all_available().last(),
            "the best one by default"
        );
    }
}

#[test]
fn env_value_parsing() {
    assert_eq!(parse_backend_env(None), None);
    assert_eq!(parse_backend_env(Some("")), None);
    assert_eq!(parse_backend_env(Some("neon")), None);
    assert_eq!(parse_backend_env(Some("avx")), None);
    assert_eq!(parse_backend_env(Some("avx2x")), None);
    assert_eq!(parse_backend_env(Some("portable")), Some(Backend::Portable));
    assert_eq!(parse_backend_env(Some(" SSE2\n")), Some(Backend::Sse2));
    assert_eq!(parse_backend_env(Some("Avx2")), Some(Backend::Avx2));
    assert_eq!(parse_backend_env(Some("AVX512")), Some(Backend::Avx512));
    for b in Backend::ALL {
        assert_eq!(parse_backend_env(Some(b.name())), Some(b));
    }
}

// ---------------------------------------------------------------------------------------------
// Hand-picked cases.

#[test]
fn contract_examples() {
    let k = under_test();
    for k in k {
        let name = k.name;
        let skip = |s: &[u8]| (k.skip_container)(s, 0);
        assert_eq!(
            skip(br#"["a\\"]x"#),
            Some(7),
            "{name}: `\\\\` then the closing quote"
        );
        assert_eq!(skip(br#"["a\"b"]x"#), Some(8), "{name}: escaped quote");
        assert_eq!(skip(br#"["a\"b]"#), None, "{name}: unterminated string");
        assert_eq!(skip(b"{[}]x"), Some(4), "{name}: kinds are not matched");
        assert_eq!(skip(b"{]x"), Some(2), "{name}: kinds are not matched");
        assert_eq!(skip(b"[\"]\"]"), Some(5), "{name}: bracket in string");
        assert_eq!(
            skip(b"[\\\"]"),
            None,
            "{name}: a backslash outside a string escapes nothing"
        );
        assert_eq!(
            skip(b"[\xff\xfe{\"\x80\"}]"),
            Some(9),
            "{name}: invalid UTF-8"
        );
        assert_eq!(skip(b"x[]"), None, "{name}: not at a bracket");
        assert_eq!(skip(b""), None, "{name}: empty");
        assert_eq!((k.skip_container)(b"[]", 2), None, "{name}: past the end");
        assert_eq!(
            (k.skip_container)(b"[]", usize::MAX),
            None,
            "{name}: far past the end"
        );
        assert_eq!((k.string_special)(b"abc\"", 0), 3, "{name}");
        assert_eq!((k.string_special)(b"abc\x1f", 0), 3, "{name}");
        assert_eq!(
            (k.string_special)(b"ab\x7f\xff ", 0),
            5,
            "{name}: DEL and high bytes are not special"
        );
        assert_eq!(
            (k.string_special)(b"abc", 7),
            3,
            "{name}: from past the end"
        );
        assert_eq!((k.string_special)(b"abc", usize::MAX), 3, "{name}");
    }
}

/// A pseudo-random, JSON-flavoured text that exercises every class.
fn noisy_text(len: usize, seed: u64) -> Vec<u8> {
    let alphabet = b"\"\\{}[]\"aaaa  ,:\x01\xff\xc3\xa9\\\\\"{[";
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            alphabet[(x % alphabet.len() as u64) as usize]
        })
        .collect()
}

#[test]
fn every_prefix_of_noisy_texts() {
    // Every length 0..=300 crosses the 64-byte block and the tail paths (short copy and
    // overlapping final load) at every offset.
    for seed in 1..4 {
        let text = noisy_text(300, seed);
        for len in 0..=text.len() {
            check_all_positions(&text[..len]);
        }
    }
}

#[test]
fn backslash_runs_across_block_boundaries() {
    for run in 0..=140 {
        for pad in 0..=70 {
            let body = |prefix: &[u8], inside: bool| {
                let mut t = prefix.to_vec();
                if inside {
                    t.push(b'"');
                }
                t.extend(std::iter::repeat_n(b'a', pad));
                t.extend(std::iter::repeat_n(b'\\', run));
                t.extend_from_slice(b"\"]\",[]]x\"]]");
                t
            };
            for t in [
                body(b"[", true),
                body(b"[", false),
                body(b"[[", true),
                body(b"{\"k\":", true),
            ] {
                for open_at in [0, 1] {
                    check_skip_container_at(&t, open_at);
                }
                for from in [
                    0,
                    1,
                    pad,
                    pad + 1,
                    pad + 2,
                    t.len().saturating_sub(run + 12),
                ] {
                    check_string_special_at(&t, from);
                }
            }
        }
    }
}

#[test]
fn strings_across_block_boundaries() {
    for n in 0..=300 {
        let mut t = b"{\"k\":\"".to_vec();
        t.extend((0..n).map(|i| b"x]}{[ "[i % 6]));
        t.extend_from_slice(b"\",\"e\":[\"\\\"]\"]}tail");
        check_skip_container_at(&t, 0);
        check_skip_container_at(&t, t.len() - 19);
        check_string_special_at(&t, 6);
        check_string_special_at(&t, 7);
        assert_eq!(naive_skip_container(&t, 0), Some(t.len() - 4));
    }
}

#[test]
fn deep_nesting_and_long_inputs() {
    let mut t = vec![b'['; 70_000];
    t.extend(vec![b']'; 70_000]);
    for open_at in [0, 1, 63, 64, 65, 69_999, 70_000] {
        check_skip_container_at(&t, open_at);
    }
    check_skip_container_at(&t[..139_999], 0);
    // One string of 64 KiB and more: the scan runs through it without a bracket or a quote.
    for extra in [0, 1, 63, 64, 65] {
        let mut s = b"[\"".to_vec();
        s.extend(std::iter::repeat_n(b'z', 65_536 + extra));
        s.extend_from_slice(b"\"]");
        check_skip_container_at(&s, 0);
        check_string_special_at(&s, 2);
        check_string_special_at(&s, s.len() - 3);
        check_string_special_at(&s[..s.len() - 2], 2);
        check_skip_container_at(&s[..s.len() - 1], 0);
    }
}

// ---------------------------------------------------------------------------------------------
// Properties.

/// Bytes biased toward the ones the kernels care about.
fn biased_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        5 => prop::sample::select(b"\"\\{}[]".to_vec()),
        3 => Just(b'a'),
        1 => prop::sample::select(b" \n\x00\x1f\x20\x7f\x5b\x7b\x3b\xc3\xff:,".to_vec()),
        1 => any::<u8>(),
    ]
}

/// A JSON string literal, escapes and brackets included, sometimes long.
fn json_string() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => "[a-z ]{1,12}",
        1 => Just("\\\"".to_string()),
        1 => Just("\\\\".to_string()),
        1 => Just("\\n".to_string()),
        1 => Just("\\u00e9".to_string()),
        1 => prop::sample::select(vec!["{", "}", "[", "]", ":", ",", "é", "日本"]).prop_map(String::from),
        1 => (0usize..130).prop_map(|n| "x".repeat(n)),
        1 => (1usize..80).prop_map(|n| "\\\\".repeat(n)),
        1 => (0usize..40).prop_map(|n| format!("{}\\\"", "\\\\".repeat(n))),
    ];
    prop::collection::vec(piece, 0..8).prop_map(|v| format!("\"{}\"", v.concat()))
}

/// A JSON value with nested containers and some whitespace.
fn json_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        3 => json_string(),
        1 => prop::sample::select(vec!["1", "-0.5e3", "true", "false", "null"]).prop_map(String::from),
    ];
    leaf.prop_recursive(6, 80, 6, |inner| {
        let ws = prop::sample::select(vec!["", " ", "\n  "]);
        prop_oneof![
            (prop::collection::vec(inner.clone(), 0..6), ws.clone())
                .prop_map(|(items, ws)| format!("[{ws}{}{ws}]", items.join(","))),
            (prop::collection::vec((json_string(), inner), 0..6), ws).prop_map(|(members, ws)| {
                let members: Vec<String> = members
                    .into_iter()
                    .map(|(k, v)| format!("{k}:{ws}{v}"))
                    .collect();
                format!("{{{ws}{}}}", members.join(","))
            }),
        ]
    })
}

proptest! {
    #[test]
    fn random_bytes_match_the_oracles(hay in prop::collection::vec(biased_byte(), 0..=200)) {
        check_all_positions(&hay);
    }

    #[test]
    fn json_texts_match_the_oracles(text in json_value(), cut in any::<prop::sample::Index>()) {
        let text = format!("[{text}, {text}]");
        let bytes = text.as_bytes();
        check_all_positions(bytes);
        assert_eq!(naive_skip_container(bytes, 0), Some(bytes.len()));
        // and unterminated: a random prefix
        let cut = cut.index(bytes.len() + 1);
        check_all_positions(&bytes[..cut]);
    }

    #[test]
    fn json_with_noise_matches_the_oracles(
        text in json_value(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), biased_byte()), 1..4),
    ) {
        let mut bytes = format!("[{text}]").into_bytes();
        for (at, b) in edits {
            let i = at.index(bytes.len());
            bytes.insert(i, b);
        }
        check_all_positions(&bytes);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn texts_around_64k_match_the_oracles(
        parts in prop::collection::vec(json_value(), 1..8),
        len in 65_520usize..65_552,
        noise in any::<bool>(),
    ) {
        // Repeat the values inside one array until it passes `len`, then cut (mostly
        // unterminated), or keep it whole.
        let mut body = b"[".to_vec();
        let mut i = 0;
        while body.len() < len {
            body.extend_from_slice(parts[i % parts.len()].as_bytes());
            body.push(b',');
            i += 1;
        }
        body.extend_from_slice(b"0]");
        let whole = body.clone();
        body.truncate(len);
        if noise {
            let mid = body.len() / 2;
            body[mid] = b'\\';
        }
        check_sampled(&body, 200, 977);
        check_skip_container_at(&whole, 0);
        prop_assert_eq!(naive_skip_container(&whole, 0), Some(whole.len()));
    }
}

// ---------------------------------------------------------------------------------------------
// Throughput, by hand:
//   cargo test --release --lib scan::simd::tests::throughput -- --ignored --nocapture
// (STICKYKEY_BENCH_BYTES=65536 for inputs that stay in L2 instead of the default 4 MiB).

/// A chat body of about `size` bytes, mostly long message text (with a few escapes).
fn chat_body(size: usize) -> Vec<u8> {
    let para = "The quick brown fox jumps over the lazy dog; it said \\\"hello\\\" and left.\\n\
                Unicode too: caf\u{e9}, \u{65e5}\u{672c}, and a path C:\\\\tmp\\\\x. ";
    let mut body = String::from(
        r#"{"model":"gpt-4o","temperature":0.2,"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}],"messages":["#,
    );
    let mut turn = 0;
    while body.len() < size {
        let role = ["system", "user", "assistant"][turn % 3];
        body.push_str(&format!(r#"{{"role":"{role}","content":""#));
        for _ in 0..(40 + turn % 30) {
            body.push_str(para);
        }
        body.push_str(r#""},"#);
        turn += 1;
    }
    body.push_str(r#"{"role":"user","content":[{"type":"text","text":"ok"}]}]}"#);
    body.into_bytes()
}

/// A body of about `size` bytes that is mostly structure: many small tool schemas.
fn tools_body(size: usize) -> Vec<u8> {
    let mut body = String::from(r#"{"model":"gpt-4o","tools":["#);
    let mut n = 0;
    while body.len() < size {
        body.push_str(&format!(
            r#"{{"type":"function","function":{{"name":"tool_{n}","description":"Look up item {n}.","parameters":{{"type":"object","properties":{{"id":{{"type":"integer","minimum":0}},"tags":{{"type":"array","items":{{"type":"string","enum":["a","b\"c"]}}}}}},"required":["id"]}}}}}},"#
        ));
        n += 1;
    }
    body.push_str(r#"{"type":"function"}],"messages":[]}"#);
    body.into_bytes()
}

/// Best time of several rounds, in seconds.
fn best_time(mut run: impl FnMut() -> usize) -> f64 {
    use std::hint::black_box;
    use std::time::Instant;
    for _ in 0..3 {
        black_box(run());
    }
    let mut best = f64::MAX;
    for _ in 0..15 {
        let t = Instant::now();
        black_box(run());
        best = best.min(t.elapsed().as_secs_f64());
    }
    best
}

#[test]
#[ignore = "throughput numbers, run by hand in release mode"]
fn throughput() {
    use std::hint::black_box;

    // STICKYKEY_BENCH_BYTES overrides the 4 MiB size (e.g. 65536 for an L2-resident input).
    let size: usize = std::env::var("STICKYKEY_BENCH_BYTES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4 << 20)
        .max(1024);
    let text: Vec<u8> = (0..size)
        .map(|i| {
            if i == size - 1 {
                b'"'
            } else {
                b"lorem ipsum dolor sit amet, consectetur adipiscing elit "[i % 56]
            }
        })
        .collect();
    let chat = chat_body(size);
    let tools = tools_body(size);
    assert_eq!(naive_skip_container(&chat, 0), Some(chat.len()));
    assert_eq!(naive_skip_container(&tools, 0), Some(tools.len()));
    // string_special from inside every string of the tools body: short strings, ns per call
    let starts: Vec<usize> = tools
        .iter()
        .enumerate()
        .filter(|&(_, &b)| b == b'"')
        .map(|(i, _)| i + 1)
        .collect();

    let gbps = |bytes: usize, secs: f64| bytes as f64 / secs / 1e9;
    eprintln!("input size {size} bytes; GB/s = 1e9 bytes/s, best of 15 rounds");
    eprintln!(
        "{:<16} {:>22} {:>22} {:>22} {:>22}",
        "backend",
        "string_special text",
        "skip_container chat",
        "skip_container tools",
        "string_special short"
    );
    for k in under_test() {
        let (ss, sc) = (k.string_special, k.skip_container);
        assert_eq!(ss(&text, 0), size - 1);
        assert_eq!(sc(&chat, 0), Some(chat.len()));
        assert_eq!(sc(&tools, 0), Some(tools.len()));
        let a = gbps(size, best_time(|| ss(black_box(&text), 0)));
        let b = gbps(
            chat.len(),
            best_time(|| sc(black_box(&chat), 0).unwrap_or(0)),
        );
        let c = gbps(
            tools.len(),
            best_time(|| sc(black_box(&tools), 0).unwrap_or(0)),
        );
        let d = best_time(|| starts.iter().map(|&i| ss(black_box(&tools), i)).sum()) * 1e9
            / starts.len() as f64;
        eprintln!(
            "{:<16} {:>17.2} GB/s {:>17.2} GB/s {:>17.2} GB/s {:>14.2} ns/call",
            k.name, a, b, c, d
        );
    }
}
