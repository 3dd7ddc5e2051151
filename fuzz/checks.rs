//! The properties behind stickykey's fuzz targets, in one file shared by the targets
//! (`fuzz/fuzz_targets/*.rs`: `#[path = "../checks.rs"] mod checks;`) and the replay test
//! (`tests/fuzz_replay.rs`: `#[path = "../fuzz/checks.rs"] mod checks;`), so a committed input
//! replays exactly what the fuzzer ran.
//!
//! Each public target function takes the raw fuzz input and panics when a property fails:
//!
//! - [`differential`]: option byte(s) + body; [`Fingerprinter`] (fresh, reused, reused after
//!   other bodies) against `stickykey::reference`;
//! - [`structured`]: bytes for [`arbitrary::Unstructured`] → a request model → JSON text in
//!   random spellings; the same property, plus: spellings of one request get one native key;
//! - [`canonicalize`]: profile byte + fragment; `__private::canonical_fast` against
//!   `canonical_reference`, plus idempotence of the canonical text.
//!
//! The oracle is `stickykey::reference` (serde_json based, a transcription of docs/SPEC.md).
#![allow(dead_code)]

use arbitrary::{Arbitrary, Unstructured};
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Debug;
use stickykey::{
    __private, reference, Config, Error, Fingerprinter, Key, KeyLength, Limits, Profile,
    SessionKey, Source, Validation,
};

// ---------------------------------------------------------------------------------------------
// Options: the first byte of an input (and a few more when it asks for them)
// ---------------------------------------------------------------------------------------------

/// Option bits of the first byte.
pub mod flag {
    /// Profile native (else sub2api).
    pub const NATIVE: u8 = 0x01;
    /// `Validation::Extracted` (else `Full`).
    pub const EXTRACTED: u8 = 0x02;
    /// `KeyLength::Bits256` (else `Bits128`).
    pub const BITS256: u8 = 0x04;
    /// `with_tools_as_set(false)` (else `true`; sub2api must ignore both).
    pub const TOOLS_AS_LIST: u8 = 0x08;
    /// `with_fragment_cache(0)`.
    pub const NO_CACHE: u8 = 0x10;
    /// One more byte follows: small limits or a small fragment cache (see [`super::Opts`]).
    pub const LIMITS: u8 = 0x20;
    /// A header list follows: one count byte (`% 4`), then one byte per header.
    pub const HEADERS: u8 = 0x40;
    /// `with_legacy_sha256(false)`.
    pub const NO_LEGACY: u8 = 0x80;
}

/// Header names, picked by the low 3 bits of a header byte. Only `session_id` and
/// `conversation_id` count (ASCII case-insensitively); the dashed ones must be ignored.
const HEADER_NAMES: [&str; 8] = [
    "session_id",
    "Session_Id",
    "SESSION_ID",
    "conversation_id",
    "Conversation_ID",
    "session-id",
    "conversation-id",
    "x-session-id",
];

/// Header values, picked by the high 5 bits of a header byte (mod 16): blanks under Go's
/// `strings.TrimSpace`, padded values, invalid UTF-8, a BOM (not white space).
const HEADER_VALUES: [&[u8]; 16] = [
    b"",
    b" ",
    b"\t\r\n",
    "\u{3000}\u{85}\u{a0}".as_bytes(),
    b"abc",
    b" abc ",
    b"sess-1",
    "\u{a0}x\u{2029}".as_bytes(),
    b"\xff\xfe",
    b" \xc3",
    b"0",
    b"conv 2",
    "\u{2028}".as_bytes(),
    "\u{1680}k\u{180e}".as_bytes(),
    b"x\x00y",
    "\u{feff}z".as_bytes(),
];

/// Everything a check varies besides the body.
#[derive(Clone, Debug)]
pub struct Opts {
    pub cfg: Config,
    /// Kept beside `cfg`, which has no getter for it.
    pub validation: Validation,
    pub key_length: KeyLength,
    pub headers: Headers,
}

impl Opts {
    /// Options from the `flags` byte; further bytes (limits, headers) come from `next`.
    ///
    /// The limits byte `l`, when [`flag::LIMITS`] is set: `l & 3` picks
    /// 0 → `max_depth = 1 + (l >> 2 & 7)`; 1 → `max_body_bytes = (l >> 2) * 8`;
    /// 2 → fragment cache of `32 << (l >> 2 & 15)` bytes (unless [`flag::NO_CACHE`]);
    /// 3 → `max_depth = 1 + (l >> 2)` (1..=64).
    pub fn decode(flags: u8, next: &mut dyn FnMut() -> u8) -> Opts {
        let base = if flags & flag::NATIVE != 0 {
            Config::native()
        } else {
            Config::sub2api()
        };
        let validation = if flags & flag::EXTRACTED != 0 {
            Validation::Extracted
        } else {
            Validation::Full
        };
        let key_length = if flags & flag::BITS256 != 0 {
            KeyLength::Bits256
        } else {
            KeyLength::Bits128
        };
        let mut cfg = base
            .with_validation(validation)
            .with_key_length(key_length)
            .with_tools_as_set(flags & flag::TOOLS_AS_LIST == 0)
            .with_legacy_sha256(flags & flag::NO_LEGACY == 0);
        if flags & flag::NO_CACHE != 0 {
            cfg = cfg.with_fragment_cache(0);
        }
        if flags & flag::LIMITS != 0 {
            let l = next();
            let arg = (l >> 2) as usize;
            let mut limits = Limits::default();
            match l & 3 {
                0 => limits.max_depth = 1 + (arg & 7),
                1 => limits.max_body_bytes = arg * 8,
                2 if flags & flag::NO_CACHE == 0 => cfg = cfg.with_fragment_cache(32 << (arg & 15)),
                2 => {}
                _ => limits.max_depth = 1 + arg,
            }
            cfg = cfg.with_limits(limits);
        }
        let mut headers = Vec::new();
        if flags & flag::HEADERS != 0 {
            for _ in 0..next() % 4 {
                let h = next();
                headers.push((
                    HEADER_NAMES[(h & 7) as usize].as_bytes().to_vec(),
                    HEADER_VALUES[(h >> 3) as usize % HEADER_VALUES.len()].to_vec(),
                ));
            }
        }
        Opts {
            cfg,
            validation,
            key_length,
            headers,
        }
    }

    fn header_pairs(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.headers
            .iter()
            .map(|(k, v)| (k.as_slice(), v.as_slice()))
    }
}

// ---------------------------------------------------------------------------------------------
// The differential property on one body
// ---------------------------------------------------------------------------------------------

/// The three answers for one body.
#[derive(Debug, Clone, PartialEq)]
struct Outcome {
    content: Result<Option<Key>, Error>,
    session: Result<Option<SessionKey>, Error>,
    seed: Result<Option<String>, Error>,
}

fn reference_outcome(opts: &Opts, body: &[u8]) -> Outcome {
    Outcome {
        content: reference::content_key(&opts.cfg, body),
        session: reference::session_key(&opts.cfg, opts.header_pairs(), body),
        seed: reference::seed_text(&opts.cfg, body),
    }
}

fn fast_outcome(fp: &mut Fingerprinter, opts: &Opts, body: &[u8]) -> Outcome {
    Outcome {
        content: fp.content_key(body),
        session: fp.session_key(opts.header_pairs(), body),
        seed: fp.seed_text(body),
    }
}

/// The body for a panic message: lossy UTF-8, escaped, cut at 3000 bytes.
fn show(body: &[u8]) -> String {
    let cut = body.len().min(3000);
    let more = if cut < body.len() { " (cut)" } else { "" };
    format!("{:?}{more}", String::from_utf8_lossy(&body[..cut]))
}

/// `Full`: the same `Ok` value, or both `Err` (kind and offset may differ).
/// `Extracted`: when the reference accepts, the same `Ok` value; when it refuses, anything
/// (but no panic, which the caller has already survived).
fn agree<T: PartialEq + Debug>(
    what: &str,
    when: &str,
    opts: &Opts,
    body: &[u8],
    fast: &Result<T, Error>,
    want: &Result<T, Error>,
) {
    let ok = match (opts.validation, fast, want) {
        (_, Ok(a), Ok(b)) => a == b,
        (Validation::Full, Err(_), Err(_)) => true,
        (Validation::Extracted, _, Err(_)) => true,
        _ => false,
    };
    assert!(
        ok,
        "{what} ({when}): fast {fast:?} != reference {want:?}\nopts: {opts:?}\nbody: {}",
        show(body)
    );
}

/// Properties of any one outcome, whoever computed it (`who`): error offsets lie in the
/// body, a content-tier session key is the content key, keys have their profile's length,
/// and (sub2api) a content key exists exactly when a seed does.
fn sanity(who: &str, opts: &Opts, body: &[u8], o: &Outcome) {
    let fail = |msg: String| -> ! {
        panic!(
            "{who}: {msg}\noutcome: {o:?}\nopts: {opts:?}\nbody: {}",
            show(body)
        )
    };
    for e in [
        o.content.as_ref().err(),
        o.session.as_ref().err(),
        o.seed.as_ref().err(),
    ]
    .into_iter()
    .flatten()
    {
        if e.offset() > body.len() {
            fail(format!(
                "error offset {} past the body's {} bytes",
                e.offset(),
                body.len()
            ));
        }
    }
    if let Ok(Some(sk)) = &o.session {
        if sk.source == Source::Content && o.content != Ok(Some(sk.key)) {
            fail("session_key from the content tier differs from content_key".into());
        }
    }
    let want_len = match (opts.cfg.profile(), opts.key_length) {
        (Profile::Sub2api, _) => 16,
        (_, KeyLength::Bits128) => 32,
        (_, KeyLength::Bits256) => 64,
    };
    let keys = [
        o.content.as_ref().ok().copied().flatten(),
        o.session.as_ref().ok().copied().flatten().map(|s| s.key),
    ];
    for k in keys.into_iter().flatten() {
        if k.to_string().len() != want_len {
            fail(format!("key {k} is not {want_len} hex digits"));
        }
    }
    if let Ok(Some(seed)) = &o.seed {
        if !seed.starts_with("compat_cs_") {
            fail("seed without the compat_cs_ prefix".into());
        }
    }
    if opts.cfg.profile() == Profile::Sub2api {
        let consistent = match (&o.content, &o.seed) {
            (Ok(k), Ok(s)) => k.is_some() == s.is_some(),
            (Err(_), Err(_)) => true,
            _ => false,
        };
        if !consistent {
            fail("sub2api: content_key and seed_text disagree on the body".into());
        }
    }
}

/// Small bodies run through the same fingerprinter between two runs of the input body, so
/// that state left behind (scratch buffers, the fragment cache) is exercised.
const WARM_BODIES: [&[u8]; 2] = [
    br#"{"model":"gpt-4o","tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}],"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":[{"type":"text","text":"hi","cache_control":{"type":"ephemeral"}}]}]}"#,
    br#"{"model":"gpt-5","instructions":"x","prompt_cache_key":null,"input":[{"type":"message","role":"developer","content":"d"},{"type":"input_text","text":"hi"}],"tools":[{"type":"function","name":"f","parameters":{}},[],{}]}"#,
];

thread_local! {
    /// The reference's answers for [`WARM_BODIES`] per configuration and header list: they
    /// never change, and recomputing them would cost a third of an iteration.
    static WARM_OUTCOMES: RefCell<HashMap<(Config, Headers), Vec<Outcome>>> =
        RefCell::new(HashMap::new());
}

type Headers = Vec<(Vec<u8>, Vec<u8>)>;

fn warm_outcomes(opts: &Opts) -> Vec<Outcome> {
    WARM_OUTCOMES.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.len() > 4096 {
            cache.clear();
        }
        cache
            .entry((opts.cfg.clone(), opts.headers.clone()))
            .or_insert_with(|| {
                WARM_BODIES
                    .iter()
                    .map(|w| reference_outcome(opts, w))
                    .collect()
            })
            .clone()
    })
}

fn expect(fp: &mut Fingerprinter, opts: &Opts, body: &[u8], want: &Outcome, when: &str) {
    let got = fast_outcome(fp, opts, body);
    agree("content_key", when, opts, body, &got.content, &want.content);
    agree("session_key", when, opts, body, &got.session, &want.session);
    agree("seed_text", when, opts, body, &got.seed, &want.seed);
    if opts.validation == Validation::Full {
        sanity(&format!("fast ({when})"), opts, body, &got);
    }
}

/// The differential property of one body under `opts`, on a fresh fingerprinter that is
/// then reused: same body again, half of it, the body, warm-up bodies, the body.
pub fn check_body(opts: &Opts, body: &[u8]) {
    let want = reference_outcome(opts, body);
    sanity("reference", opts, body, &want);
    let mut fp = Fingerprinter::new(opts.cfg.clone());
    expect(&mut fp, opts, body, &want, "fresh fingerprinter");
    expect(&mut fp, opts, body, &want, "same body again");
    let half = &body[..body.len() / 2];
    let want_half = reference_outcome(opts, half);
    sanity("reference (half body)", opts, half, &want_half);
    expect(&mut fp, opts, half, &want_half, "first half of the body");
    expect(&mut fp, opts, body, &want, "after the first half");
    for (warm, want_warm) in WARM_BODIES.iter().zip(warm_outcomes(opts)) {
        expect(&mut fp, opts, warm, &want_warm, "warm-up body");
    }
    expect(&mut fp, opts, body, &want, "after the warm-up bodies");
}

/// Target `differential`: `[flags][limits byte?][header bytes?] body`.
pub fn differential(data: &[u8]) {
    let Some((&flags, mut rest)) = data.split_first() else {
        return;
    };
    let opts = Opts::decode(flags, &mut || match rest.split_first() {
        Some((&b, r)) => {
            rest = r;
            b
        }
        None => 0,
    });
    check_body(&opts, rest);
}

// ---------------------------------------------------------------------------------------------
// Target `canonicalize`
// ---------------------------------------------------------------------------------------------

/// Target `canonicalize`: `[profile byte] fragment` (bit 0: native, else sub2api).
///
/// - fast and reference agree: the same `Ok` value, or both `Err`;
/// - `Ok(None)` exactly for the empty fragment;
/// - idempotence, checked on both engines: canonicalizing a canonical text gives it back.
///   native: JCS output is a fixed point (sorted unique names, minimal escapes, one number
///   spelling, no `cache_control` left, same depth). sub2api: Go's Marshal output re-marshals
///   to itself (shortest round-trip floats parse back to the same float64, `-0` included;
///   `\u003c`-style escapes decode and re-escape the same; invalid surrogates are already
///   U+FFFD; no duplicate names left); where Unmarshal fails (a number beyond float64) the raw
///   text is kept, and it fails again the same way, so it holds there too. Verified on the
///   reference by the smoke runs: no restriction needed.
pub fn canonicalize(data: &[u8]) {
    let Some((&flags, frag)) = data.split_first() else {
        return;
    };
    let profile = if flags & 1 != 0 {
        Profile::Native
    } else {
        Profile::Sub2api
    };
    let fast = __private::canonical_fast(profile, frag);
    let want = __private::canonical_reference(profile, frag);
    let agree = match (&fast, &want) {
        (Ok(a), Ok(b)) => a == b,
        (Err(_), Err(_)) => true,
        _ => false,
    };
    assert!(
        agree,
        "canonical {profile:?}: fast {fast:?} != reference {want:?}\nfragment: {}",
        show(frag)
    );
    if let Ok(None) = want {
        assert!(
            frag.is_empty(),
            "canonical {profile:?}: Ok(None) for a non-empty fragment {}",
            show(frag)
        );
    }
    type Canonical = Result<Option<String>, Error>;
    type Engine = fn(Profile, &[u8]) -> Canonical;
    let engines: [(&str, &Canonical, Engine); 2] = [
        ("reference", &want, __private::canonical_reference),
        ("fast", &fast, __private::canonical_fast),
    ];
    for (who, out, f) in engines {
        if let Ok(Some(text)) = out {
            let again = f(profile, text.as_bytes());
            assert!(
                matches!(&again, Ok(Some(t)) if t == text),
                "canonical {profile:?} ({who}) is not idempotent: {text:?} -> {again:?}\nfragment: {}",
                show(frag)
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Target `structured`: a request model, rendered in random spellings
// ---------------------------------------------------------------------------------------------

type AResult<T> = arbitrary::Result<T>;

/// Up to `N` items.
#[derive(Debug, Clone)]
pub struct Few<T, const N: usize>(pub Vec<T>);

impl<'a, T: Arbitrary<'a>, const N: usize> Arbitrary<'a> for Few<T, N> {
    fn arbitrary(u: &mut Unstructured<'a>) -> AResult<Self> {
        let n = u.int_in_range(0..=N)?;
        (0..n)
            .map(|_| T::arbitrary(u))
            .collect::<AResult<_>>()
            .map(Few)
    }
}

/// Mostly `Some` (7 in 8).
#[derive(Debug, Clone)]
pub struct Mostly<T>(pub Option<T>);

impl<'a, T: Arbitrary<'a>> Arbitrary<'a> for Mostly<T> {
    fn arbitrary(u: &mut Unstructured<'a>) -> AResult<Self> {
        Ok(Mostly(if u.ratio(1u8, 8)? {
            None
        } else {
            Some(T::arbitrary(u)?)
        }))
    }
}

/// Rarely `Some` (1 in 6).
#[derive(Debug, Clone)]
pub struct Rare<T>(pub Option<T>);

impl<'a, T: Arbitrary<'a>> Arbitrary<'a> for Rare<T> {
    fn arbitrary(u: &mut Unstructured<'a>) -> AResult<Self> {
        Ok(Rare(if u.ratio(1u8, 6)? {
            Some(T::arbitrary(u)?)
        } else {
            None
        }))
    }
}

/// The expected shape `T` (7 in 8), or an odd one `U`.
#[derive(Debug, Clone)]
pub enum Usually<T, U> {
    Normal(T),
    Odd(U),
}

impl<'a, T: Arbitrary<'a>, U: Arbitrary<'a>> Arbitrary<'a> for Usually<T, U> {
    fn arbitrary(u: &mut Unstructured<'a>) -> AResult<Self> {
        Ok(if u.ratio(1u8, 8)? {
            Usually::Odd(U::arbitrary(u)?)
        } else {
            Usually::Normal(T::arbitrary(u)?)
        })
    }
}

/// Words the profiles react to, and strings that are hard to spell.
const WORDS: &[&str] = &[
    "",
    " ",
    "hi",
    "Hello",
    "user",
    "system",
    "developer",
    "assistant",
    "tool",
    "text",
    "input_text",
    "type",
    "role",
    "content",
    "model",
    "tools",
    "cache_control",
    "prompt_cache_key",
    "gpt-4o",
    "You are terse.",
    "<b>&amp;</b>",
    "a\"b\\c/d",
    "tab\there",
    "line\nbreak\r",
    "\u{0}\u{1f}\u{7f}\u{8}\u{c}",
    "\u{2028}\u{2029}",
    "😀",
    "\u{ff21}",
    "e\u{301}",
    "é",
    "\u{feff}",
    "  padded  ",
    "\u{3000}wide\u{3000}",
    "\u{fffd}",
    "1.0",
    "null",
    "𝄞\u{10ffff}",
];

/// Characters worth escaping or mis-sorting.
const CHARS: &[char] = &[
    '"',
    '\\',
    '/',
    '\u{0}',
    '\u{1f}',
    '\u{7f}',
    '\u{80}',
    '<',
    '>',
    '&',
    '\u{2028}',
    '\u{2029}',
    '\u{fffd}',
    '\u{ffff}',
    '\u{e000}',
    '😀',
    '\u{10000}',
    '\u{10ffff}',
    'é',
    ' ',
    '\t',
    '\n',
];

/// A short text, mostly made of pieces the profiles care about.
#[derive(Debug, Clone)]
pub struct Text(pub String);

fn arb_char(u: &mut Unstructured) -> AResult<char> {
    Ok(match u.int_in_range(0u8..=3)? {
        0 | 1 => u.int_in_range(0x20u8..=0x7e)? as char,
        2 => *u.choose(CHARS)?,
        _ => char::arbitrary(u)?,
    })
}

impl<'a> Arbitrary<'a> for Text {
    fn arbitrary(u: &mut Unstructured<'a>) -> AResult<Self> {
        let mut s = String::new();
        match u.int_in_range(0u8..=7)? {
            0..=3 => s.push_str(u.choose(WORDS)?),
            4 | 5 => {
                for _ in 0..u.int_in_range(0..=16)? {
                    s.push(arb_char(u)?);
                }
            }
            6 => {
                s.push_str(u.choose(WORDS)?);
                for _ in 0..u.int_in_range(1..=4)? {
                    s.push(arb_char(u)?);
                }
            }
            _ => s.extend(String::arbitrary(u)?.chars().take(64)),
        }
        Ok(Text(s))
    }
}

/// A number's value: `±digits × 10^exp` (`digits` without leading zeros, `"0"` for zero).
#[derive(Debug, Clone, PartialEq)]
pub struct Num {
    neg: bool,
    digits: String,
    exp: Exp,
}

#[derive(Debug, Clone, PartialEq)]
enum Exp {
    Small(i32),
    /// An exponent beyond any machine integer: sign and decimal digits.
    Huge(bool, String),
}

/// Values that break naive implementations: 2^53 + 1, 2^64, beyond f64, subnormals, ...
const SPECIAL_NUMBERS: &[(&str, i32)] = &[
    ("9007199254740993", 0),
    ("9007199254740992", 0),
    ("18446744073709551616", 0),
    ("123456789012345678901234567890", 0),
    ("5", -324),
    ("2", -1075),
    ("17976931348623157", 292),
    ("17976931348623159", 292),
    ("1", 400),
    ("1", -400),
    ("1", 21),
    ("1", 20),
    ("1", -7),
    ("1", -6),
    ("12345678901234567", 13),
    ("435", -2),
    ("1", -1),
    ("30000000000000004", -17),
    ("25", -1),
    ("1", 308),
    ("1", 309),
    ("100", 0),
    ("0", 0),
];

fn digits_of(s: String) -> String {
    let t = s.trim_start_matches('0');
    if t.is_empty() {
        "0".into()
    } else {
        t.into()
    }
}

impl<'a> Arbitrary<'a> for Num {
    fn arbitrary(u: &mut Unstructured<'a>) -> AResult<Self> {
        let neg = u.ratio(1u8, 4)?;
        let (digits, exp) = match u.int_in_range(0u8..=6)? {
            0 | 1 => (u.int_in_range(0u32..=1000)?.to_string(), Exp::Small(0)),
            2 => (
                u64::arbitrary(u)?.to_string(),
                Exp::Small(u.int_in_range(-30..=30)?),
            ),
            3 => {
                let (d, e) = *u.choose(SPECIAL_NUMBERS)?;
                (d.to_string(), Exp::Small(e))
            }
            4 => {
                let d = u.int_in_range(0u8..=99)?.to_string();
                let k = u.int_in_range(20..=40)?;
                let mag = if u.arbitrary()? {
                    "9".repeat(k)
                } else {
                    format!("1{}", "0".repeat(k))
                };
                (d, Exp::Huge(u.arbitrary()?, mag))
            }
            5 => {
                let n = u.int_in_range(17..=40)?;
                let mut d = String::new();
                for i in 0..n {
                    d.push(char::from(b'0' + u.int_in_range(u8::from(i == 0)..=9)?));
                }
                (d, Exp::Small(u.int_in_range(-50..=50)?))
            }
            _ => ("0".into(), Exp::Small(u.int_in_range(-3..=3)?)),
        };
        Ok(Num {
            neg,
            digits: digits_of(digits),
            exp,
        })
    }
}

/// A JSON value of the model. Object member names are unique (see [`obj`]); duplicates are
/// added only by the wild rendering.
#[derive(Debug, Clone, PartialEq)]
pub enum J {
    Null,
    Bool(bool),
    Num(Num),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

/// An object; a repeated name keeps its first member.
fn obj(members: Vec<(String, J)>) -> J {
    let mut out: Vec<(String, J)> = Vec::with_capacity(members.len());
    for (k, v) in members {
        if !out.iter().any(|(n, _)| *n == k) {
            out.push((k, v));
        }
    }
    J::Obj(out)
}

fn s(x: &str) -> J {
    J::Str(x.to_owned())
}

fn arb_json(u: &mut Unstructured, depth: u8) -> AResult<J> {
    let top = if depth == 0 { 4 } else { 6 };
    Ok(match u.int_in_range(0..=top)? {
        0 => J::Null,
        1 => J::Bool(u.arbitrary()?),
        2 => J::Num(u.arbitrary()?),
        3 | 4 => J::Str(Text::arbitrary(u)?.0),
        5 => J::Arr(
            (0..u.int_in_range(0..=4)?)
                .map(|_| arb_json(u, depth - 1))
                .collect::<AResult<_>>()?,
        ),
        _ => obj((0..u.int_in_range(0..=4)?)
            .map(|_| Ok((Text::arbitrary(u)?.0, arb_json(u, depth - 1)?)))
            .collect::<AResult<_>>()?),
    })
}

impl<'a> Arbitrary<'a> for J {
    fn arbitrary(u: &mut Unstructured<'a>) -> AResult<Self> {
        arb_json(u, 3)
    }
}

/// A JSON Schema (nested `properties` / `items`), as tools carry them.
#[derive(Debug, Clone)]
pub struct Schema(pub J);

const SCHEMA_TYPES: &[&str] = &[
    "object", "string", "number", "integer", "boolean", "array", "null",
];

fn arb_schema(u: &mut Unstructured, depth: u8) -> AResult<J> {
    let mut m = vec![("type".to_owned(), s(u.choose(SCHEMA_TYPES)?))];
    if u.ratio(1u8, 2)? {
        m.push(("description".into(), J::Str(Text::arbitrary(u)?.0)));
    }
    if depth > 0 && u.ratio(2u8, 3)? {
        let mut props = Vec::new();
        let mut names = Vec::new();
        for _ in 0..u.int_in_range(0..=3)? {
            let name = Text::arbitrary(u)?.0;
            names.push(J::Str(name.clone()));
            props.push((name, arb_schema(u, depth - 1)?));
        }
        m.push(("properties".into(), obj(props)));
        if u.arbitrary()? {
            m.push(("required".into(), J::Arr(names)));
        }
    }
    if depth > 0 && u.ratio(1u8, 4)? {
        m.push(("items".into(), arb_schema(u, depth - 1)?));
    }
    for key in ["minimum", "maximum", "default"] {
        if u.ratio(1u8, 5)? {
            m.push((key.into(), J::Num(u.arbitrary()?)));
        }
    }
    if u.ratio(1u8, 5)? {
        m.push((
            "enum".into(),
            J::Arr(
                (0..u.int_in_range(0..=3)?)
                    .map(|_| arb_json(u, 0))
                    .collect::<AResult<_>>()?,
            ),
        ));
    }
    if u.ratio(1u8, 6)? {
        m.push(("additionalProperties".into(), J::Bool(u.arbitrary()?)));
    }
    if u.ratio(1u8, 10)? {
        m.push(("cache_control".into(), CacheControl::arbitrary(u)?.json()));
    }
    if u.ratio(1u8, 6)? {
        m.push((Text::arbitrary(u)?.0, arb_json(u, 1)?));
    }
    Ok(obj(m))
}

impl<'a> Arbitrary<'a> for Schema {
    fn arbitrary(u: &mut Unstructured<'a>) -> AResult<Self> {
        arb_schema(u, 3).map(Schema)
    }
}

#[derive(Arbitrary, Debug, Clone)]
pub enum CacheControl {
    Ephemeral,
    EphemeralTtl(Text),
    Any(J),
}

impl CacheControl {
    fn json(&self) -> J {
        match self {
            CacheControl::Ephemeral => obj(vec![("type".into(), s("ephemeral"))]),
            CacheControl::EphemeralTtl(t) => obj(vec![
                ("type".into(), s("ephemeral")),
                ("ttl".into(), J::Str(t.0.clone())),
            ]),
            CacheControl::Any(j) => j.clone(),
        }
    }
}

fn text_or(v: &Usually<Text, J>) -> J {
    match v {
        Usually::Normal(t) => J::Str(t.0.clone()),
        Usually::Odd(j) => j.clone(),
    }
}

#[derive(Arbitrary, Debug, Clone)]
pub enum ToolShape {
    /// Chat Completions: `{"type":"function","function":{...}}`.
    Chat,
    /// Responses: `{"type":"function","name":...,"parameters":...}`.
    Flat,
    /// A built-in tool: `{"type":"web_search"}`.
    BuiltIn(Text),
}

#[derive(Arbitrary, Debug, Clone)]
pub struct Tool {
    shape: ToolShape,
    name: Text,
    description: Option<Text>,
    parameters: Mostly<Schema>,
    strict: Rare<bool>,
    cache_control: Rare<CacheControl>,
    extra: Few<(Text, J), 1>,
}

impl Tool {
    /// `flat`: as a legacy `functions` entry (no `type` wrapper).
    fn json(&self, flat: bool) -> J {
        let mut f = vec![("name".to_owned(), J::Str(self.name.0.clone()))];
        if let Some(d) = &self.description {
            f.push(("description".into(), J::Str(d.0.clone())));
        }
        if let Some(p) = &self.parameters.0 {
            f.push(("parameters".into(), p.0.clone()));
        }
        if let Some(b) = self.strict.0 {
            f.push(("strict".into(), J::Bool(b)));
        }
        let mut m = match (&self.shape, flat) {
            (_, true) => f,
            (ToolShape::Chat, false) => {
                vec![("type".into(), s("function")), ("function".into(), obj(f))]
            }
            (ToolShape::Flat, false) => {
                let mut m = vec![("type".to_owned(), s("function"))];
                m.extend(f);
                m
            }
            (ToolShape::BuiltIn(t), false) => vec![("type".into(), J::Str(t.0.clone()))],
        };
        if let Some(c) = &self.cache_control.0 {
            m.push(("cache_control".into(), c.json()));
        }
        m.extend(self.extra.0.iter().map(|(k, v)| (k.0.clone(), v.clone())));
        obj(m)
    }
}

fn tools_json(v: &Usually<Few<Tool, 4>, J>, flat: bool) -> J {
    match v {
        Usually::Normal(list) => J::Arr(list.0.iter().map(|t| t.json(flat)).collect()),
        Usually::Odd(j) => j.clone(),
    }
}

/// A role, weighted toward the ones the profiles read.
#[derive(Debug, Clone)]
pub enum Role {
    Named(&'static str),
    Odd(Text),
    Absent,
    NotAString(J),
}

impl<'a> Arbitrary<'a> for Role {
    fn arbitrary(u: &mut Unstructured<'a>) -> AResult<Self> {
        const ROLES: &[&str] = &[
            "user",
            "user",
            "user",
            "system",
            "system",
            "developer",
            "assistant",
            "assistant",
            "tool",
            "function",
            " user ",
            "User",
            "SYSTEM",
            "",
        ];
        Ok(match u.int_in_range(0u8..=15)? {
            0..=11 => Role::Named(u.choose(ROLES)?),
            12 | 13 => Role::Odd(u.arbitrary()?),
            14 => Role::Absent,
            _ => Role::NotAString(u.arbitrary()?),
        })
    }
}

#[derive(Arbitrary, Debug, Clone)]
pub enum PartKind {
    Text,
    InputText,
    OutputText,
    ImageUrl,
    Missing,
    Other(Text),
}

#[derive(Arbitrary, Debug, Clone)]
pub struct Part {
    kind: PartKind,
    text: Mostly<Usually<Text, J>>,
    cache_control: Rare<CacheControl>,
    extra: Rare<(Text, J)>,
}

impl Part {
    fn json(&self) -> J {
        let mut m = Vec::new();
        let ty = match &self.kind {
            PartKind::Text => Some("text".to_owned()),
            PartKind::InputText => Some("input_text".into()),
            PartKind::OutputText => Some("output_text".into()),
            PartKind::ImageUrl => Some("image_url".into()),
            PartKind::Missing => None,
            PartKind::Other(t) => Some(t.0.clone()),
        };
        if let Some(t) = ty {
            m.push(("type".to_owned(), J::Str(t)));
        }
        if let PartKind::ImageUrl = self.kind {
            m.push((
                "image_url".into(),
                obj(vec![(
                    "url".into(),
                    s("data:image/png;base64,iVBORw0KGgo="),
                )]),
            ));
        } else if let Some(t) = &self.text.0 {
            m.push(("text".into(), text_or(t)));
        }
        if let Some(c) = &self.cache_control.0 {
            m.push(("cache_control".into(), c.json()));
        }
        if let Some((k, v)) = &self.extra.0 {
            m.push((k.0.clone(), v.clone()));
        }
        obj(m)
    }
}

#[derive(Arbitrary, Debug, Clone)]
pub enum Content {
    Absent,
    Null,
    Str(Text),
    Parts(Few<Part, 4>),
    OnePart(Part),
    Other(J),
}

#[derive(Arbitrary, Debug, Clone)]
pub enum ItemType {
    Message,
    InputText,
    FunctionCall,
    FunctionCallOutput,
    Reasoning,
    Other(Text),
}

/// A Chat message or a Responses input item.
#[derive(Arbitrary, Debug, Clone)]
pub struct Msg {
    role: Role,
    content: Content,
    ty: Option<ItemType>,
    text: Rare<Usually<Text, J>>,
    name: Rare<Text>,
    cache_control: Rare<CacheControl>,
    extra: Few<(Text, J), 2>,
}

impl Msg {
    fn json(&self) -> J {
        let mut m = Vec::new();
        if let Some(t) = &self.ty {
            let ty = match t {
                ItemType::Message => "message".to_owned(),
                ItemType::InputText => "input_text".into(),
                ItemType::FunctionCall => "function_call".into(),
                ItemType::FunctionCallOutput => "function_call_output".into(),
                ItemType::Reasoning => "reasoning".into(),
                ItemType::Other(t) => t.0.clone(),
            };
            m.push(("type".to_owned(), J::Str(ty)));
        }
        match &self.role {
            Role::Named(r) => m.push(("role".into(), s(r))),
            Role::Odd(t) => m.push(("role".into(), J::Str(t.0.clone()))),
            Role::Absent => {}
            Role::NotAString(j) => m.push(("role".into(), j.clone())),
        }
        let content = match &self.content {
            Content::Absent => None,
            Content::Null => Some(J::Null),
            Content::Str(t) => Some(J::Str(t.0.clone())),
            Content::Parts(p) => Some(J::Arr(p.0.iter().map(Part::json).collect())),
            Content::OnePart(p) => Some(J::Arr(vec![p.json()])),
            Content::Other(j) => Some(j.clone()),
        };
        if let Some(c) = content {
            m.push(("content".into(), c));
        }
        if let Some(t) = &self.text.0 {
            m.push(("text".into(), text_or(t)));
        } else if let Some(ItemType::InputText) = self.ty {
            m.push(("text".into(), s("typed")));
        }
        if let Some(n) = &self.name.0 {
            m.push(("name".into(), J::Str(n.0.clone())));
        }
        if let Some(c) = &self.cache_control.0 {
            m.push(("cache_control".into(), c.json()));
        }
        m.extend(self.extra.0.iter().map(|(k, v)| (k.0.clone(), v.clone())));
        obj(m)
    }
}

fn items_json(items: &[Usually<Msg, J>]) -> J {
    J::Arr(
        items
            .iter()
            .map(|i| match i {
                Usually::Normal(m) => m.json(),
                Usually::Odd(j) => j.clone(),
            })
            .collect(),
    )
}

#[derive(Arbitrary, Debug, Clone)]
pub enum Api {
    /// `messages` only.
    Chat,
    /// `input` only.
    Responses,
    /// Both (`messages` wins when it is an array).
    Mixed,
}

/// The request model.
#[derive(Arbitrary, Debug, Clone)]
pub struct Request {
    api: Api,
    model: Mostly<Usually<Text, J>>,
    tools: Option<Usually<Few<Tool, 4>, J>>,
    functions: Rare<Usually<Few<Tool, 4>, J>>,
    instructions: Option<Usually<Text, J>>,
    messages: Usually<Few<Usually<Msg, J>, 8>, J>,
    input: Usually<Few<Usually<Msg, J>, 6>, Usually<Text, J>>,
    prompt_cache_key: Option<Usually<Text, J>>,
    stream: Option<bool>,
    temperature: Rare<Num>,
    extra: Few<(Text, J), 3>,
}

impl Request {
    fn json(&self) -> J {
        let mut m: Vec<(String, J)> = Vec::new();
        if let Some(v) = &self.model.0 {
            m.push(("model".into(), text_or(v)));
        }
        if let Some(v) = &self.tools {
            m.push(("tools".into(), tools_json(v, false)));
        }
        if let Some(v) = &self.functions.0 {
            m.push(("functions".into(), tools_json(v, true)));
        }
        if let Some(v) = &self.instructions {
            m.push(("instructions".into(), text_or(v)));
        }
        if matches!(self.api, Api::Chat | Api::Mixed) {
            let v = match &self.messages {
                Usually::Normal(items) => items_json(&items.0),
                Usually::Odd(j) => j.clone(),
            };
            m.push(("messages".into(), v));
        }
        if matches!(self.api, Api::Responses | Api::Mixed) {
            let v = match &self.input {
                Usually::Normal(items) => items_json(&items.0),
                Usually::Odd(t) => text_or(t),
            };
            m.push(("input".into(), v));
        }
        if let Some(v) = &self.prompt_cache_key {
            m.push(("prompt_cache_key".into(), text_or(v)));
        }
        if let Some(b) = self.stream {
            m.push(("stream".into(), J::Bool(b)));
        }
        if let Some(n) = &self.temperature.0 {
            m.push(("temperature".into(), J::Num(n.clone())));
        }
        m.extend(self.extra.0.iter().map(|(k, v)| (k.0.clone(), v.clone())));
        obj(m)
    }
}

/// The same value with every member named `cache_control` removed, at any depth.
fn strip_cache_control(j: &J) -> J {
    match j {
        J::Arr(v) => J::Arr(v.iter().map(strip_cache_control).collect()),
        J::Obj(m) => J::Obj(
            m.iter()
                .filter(|(k, _)| k != "cache_control")
                .map(|(k, v)| (k.clone(), strip_cache_control(v)))
                .collect(),
        ),
        x => x.clone(),
    }
}

/// The root with the elements of its `tools` and `functions` arrays shuffled.
fn permute_tool_sets(root: &J, rng: &mut Rng) -> J {
    let J::Obj(m) = root else { return root.clone() };
    J::Obj(
        m.iter()
            .map(|(k, v)| match v {
                J::Arr(items) if k == "tools" || k == "functions" => {
                    let mut items = items.clone();
                    rng.shuffle(&mut items);
                    (k.clone(), J::Arr(items))
                }
                _ => (k.clone(), v.clone()),
            })
            .collect(),
    )
}

/// splitmix64: the rendering's coin flips, seeded from the input.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with probability `p / 256`.
    fn chance(&mut self, p: u8) -> bool {
        (self.next() & 255) < u64::from(p)
    }

    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}

/// How a model value is spelled. A *clean* style changes only what JSON says is the same
/// text (white space, member order, escapes, number spellings of one value); a *wild* one
/// also adds duplicate members and lone surrogate escapes.
struct Style {
    rng: Rng,
    /// 0: none, 1: sparse, 2: dense white space between tokens.
    ws: u8,
    /// Chance (/256) that a character is written as an escape.
    escape: u8,
    shuffle: bool,
    /// Numbers in a random spelling of their value (else one plain spelling).
    respell: bool,
    /// Chance (/256), per object, of a duplicate member (wild only).
    dup: u8,
    /// Chance (/256), per character, of a lone surrogate escape (wild only).
    lone: u8,
}

static NULL: J = J::Null;
static EMPTY: J = J::Str(String::new());
static TRUE: J = J::Bool(true);

const WS: &[&str] = &[" ", "\n", "\t", "\r\n", "  ", "\n    "];

impl Style {
    /// A style from the input; `flip` is xored into its bits so that two clean styles drawn
    /// from an exhausted input still differ.
    fn arbitrary(u: &mut Unstructured, wild: bool, flip: u8) -> AResult<Style> {
        let seed: u64 = u.arbitrary()?;
        let bits = u.arbitrary::<u8>()? ^ flip;
        Ok(Style {
            rng: Rng(seed ^ u64::from(flip)),
            ws: (bits & 3).min(2),
            escape: [0, 16, 96, 255][usize::from(bits >> 2 & 3)],
            shuffle: bits & 0x10 != 0,
            respell: bits & 0x20 != 0,
            dup: if wild && bits & 0x40 != 0 { 48 } else { 0 },
            lone: if wild && bits & 0x80 != 0 { 12 } else { 0 },
        })
    }

    fn body(&mut self, j: &J) -> String {
        let mut out = String::new();
        self.space(&mut out);
        self.value(j, &mut out);
        self.space(&mut out);
        out
    }

    fn space(&mut self, out: &mut String) {
        match self.ws {
            0 => {}
            1 => {
                if self.rng.chance(64) {
                    out.push_str(WS[self.rng.below(WS.len())]);
                }
            }
            _ => {
                for _ in 0..1 + self.rng.below(2) {
                    out.push_str(WS[self.rng.below(WS.len())]);
                }
            }
        }
    }

    fn value(&mut self, j: &J, out: &mut String) {
        match j {
            J::Null => out.push_str("null"),
            J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            J::Num(n) => self.number(n, out),
            J::Str(t) => self.string(t, out),
            J::Arr(items) => {
                out.push('[');
                self.space(out);
                for (i, x) in items.iter().enumerate() {
                    if i > 0 {
                        self.space(out);
                        out.push(',');
                        self.space(out);
                    }
                    self.value(x, out);
                }
                self.space(out);
                out.push(']');
            }
            J::Obj(m) => {
                let mut members: Vec<(&str, &J)> = m.iter().map(|(k, v)| (k.as_str(), v)).collect();
                if self.shuffle {
                    self.rng.shuffle(&mut members);
                }
                if !members.is_empty() && self.dup > 0 && self.rng.chance(self.dup) {
                    let (name, same) = members[self.rng.below(members.len())];
                    let other = members[self.rng.below(members.len())].1;
                    let v = [same, other, &NULL, &EMPTY, &TRUE][self.rng.below(5)];
                    let at = self.rng.below(members.len() + 1);
                    members.insert(at, (name, v));
                }
                out.push('{');
                self.space(out);
                for (i, (k, v)) in members.into_iter().enumerate() {
                    if i > 0 {
                        self.space(out);
                        out.push(',');
                        self.space(out);
                    }
                    self.string(k, out);
                    self.space(out);
                    out.push(':');
                    self.space(out);
                    self.value(v, out);
                }
                self.space(out);
                out.push('}');
            }
        }
    }

    fn hex4(&mut self, v: u32, out: &mut String) {
        out.push_str("\\u");
        let upper = self.rng.below(3); // 0 lower, 1 upper, 2 mixed
        for c in format!("{v:04x}").chars() {
            let up = upper == 1 || (upper == 2 && self.rng.chance(128));
            out.push(if up { c.to_ascii_uppercase() } else { c });
        }
    }

    fn escape_char(&mut self, c: char, out: &mut String) {
        let v = c as u32;
        if v > 0xFFFF {
            let w = v - 0x10000;
            self.hex4(0xD800 + (w >> 10), out);
            self.hex4(0xDC00 + (w & 0x3FF), out);
        } else {
            self.hex4(v, out);
        }
    }

    fn lone_surrogate(&mut self, out: &mut String) {
        let hi = 0xD800 + self.rng.below(0x400) as u32;
        let lo = 0xDC00 + self.rng.below(0x400) as u32;
        match self.rng.below(5) {
            0 => self.hex4(hi, out),
            1 => self.hex4(lo, out),
            2 => {
                // A high surrogate followed by an escape that is not a low one.
                self.hex4(hi, out);
                let next = [0x41, 0xE9, 0xFFFD, 0xD83D][self.rng.below(4)];
                self.hex4(next, out);
            }
            3 => {
                self.hex4(lo, out);
                self.hex4(hi, out);
            }
            _ => {
                // A high surrogate followed by a raw character or a short escape.
                self.hex4(hi, out);
                out.push_str(["A", "\\n", "\\\\", "é"][self.rng.below(4)]);
            }
        }
    }

    fn string(&mut self, t: &str, out: &mut String) {
        out.push('"');
        for c in t.chars() {
            if self.lone > 0 && self.rng.chance(self.lone) {
                self.lone_surrogate(out);
            }
            let esc = self.escape > 0 && self.rng.chance(self.escape);
            match c {
                '"' | '\\' | '\u{8}' | '\u{c}' | '\n' | '\r' | '\t' if !esc => {
                    out.push_str(match c {
                        '"' => "\\\"",
                        '\\' => "\\\\",
                        '\u{8}' => "\\b",
                        '\u{c}' => "\\f",
                        '\n' => "\\n",
                        '\r' => "\\r",
                        _ => "\\t",
                    })
                }
                '/' if esc && self.rng.chance(128) => out.push_str("\\/"),
                c if esc || (c as u32) < 0x20 => self.escape_char(c, out),
                c => out.push(c),
            }
        }
        if self.lone > 0 && self.rng.chance(self.lone) {
            self.lone_surrogate(out);
        }
        out.push('"');
    }

    /// A spelling of `n`'s value: sign, then digits with the point moved, zeros added before
    /// or after, and an exponent that compensates (`e`/`E`, optional `+`, leading zeros).
    fn number(&mut self, n: &Num, out: &mut String) {
        if n.neg {
            out.push('-');
        }
        let d = n.digits.as_str();
        let zero = d == "0";
        let e = match &n.exp {
            Exp::Huge(neg, mag) => {
                out.push_str(d);
                out.push(if self.respell && self.rng.chance(128) {
                    'E'
                } else {
                    'e'
                });
                if *neg {
                    out.push('-');
                } else if self.respell && self.rng.chance(128) {
                    out.push('+');
                }
                if self.respell {
                    out.push_str(&"0".repeat(self.rng.below(3)));
                }
                out.push_str(mag);
                return;
            }
            Exp::Small(e) => i64::from(*e),
        };
        if !self.respell {
            out.push_str(d);
            if e != 0 {
                out.push_str(&format!("e{e}"));
            }
            return;
        }
        let t = self.rng.below(3); // extra trailing zeros
        let (int, frac, exp) = match self.rng.below(3) {
            // D000 × 10^(e - t)
            0 if !zero => (format!("{d}{}", "0".repeat(t)), String::new(), e - t as i64),
            // D[..q].D[q..]000 × 10^(e + len - q)
            1 if d.len() >= 2 => {
                let q = 1 + self.rng.below(d.len() - 1);
                (
                    d[..q].to_owned(),
                    format!("{}{}", &d[q..], "0".repeat(t)),
                    e + (d.len() - q) as i64,
                )
            }
            // 0.00D000 × 10^(e + z + len)
            2 => {
                let z = self.rng.below(3);
                let frac = format!("{}{d}{}", "0".repeat(z), "0".repeat(t));
                ("0".to_owned(), frac, e + (z + d.len()) as i64)
            }
            // D.000 × 10^e
            _ => (d.to_owned(), "0".repeat(t), e),
        };
        out.push_str(&int);
        if !frac.is_empty() {
            out.push('.');
            out.push_str(&frac);
        }
        if exp != 0 || self.rng.chance(64) {
            out.push(if self.rng.chance(128) { 'E' } else { 'e' });
            if exp < 0 {
                out.push('-');
            } else if self.rng.chance(128) {
                out.push('+');
            }
            out.push_str(&"0".repeat(self.rng.below(3)));
            out.push_str(&exp.unsigned_abs().to_string());
        }
    }
}

/// Target `structured`: bytes → [`Request`] → JSON text.
///
/// 1. A wild spelling (white space, member order, escapes, number spellings, sometimes
///    duplicate members and lone surrogates) under options drawn like [`differential`]'s:
///    the differential property ([`check_body`]).
/// 2. Two clean spellings A and B (no duplicates, no lone surrogates), and C = B's spelling
///    of the request without any `cache_control` member and, with tools as a set, with the
///    `tools`/`functions` elements shuffled (C only when that changes the request). Native:
///    the reference accepts A and gives B and C the same content key and session key
///    (SPEC §4.2: one canonical text per value, `cache_control` dropped; §4.4: tools are a
///    multiset); the fast engine gives all of them that key too; sub2api accepts A.
pub fn structured(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(req) = Request::arbitrary(&mut u) else {
        return;
    };
    let flags: u8 = u.arbitrary().unwrap_or(0);
    let opts = Opts::decode(flags, &mut || u.arbitrary().unwrap_or(0));
    let (Ok(mut wild), Ok(mut clean_a), Ok(mut clean_b)) = (
        Style::arbitrary(&mut u, true, 0),
        Style::arbitrary(&mut u, false, 0),
        Style::arbitrary(&mut u, false, 0x3f),
    ) else {
        return;
    };
    let root = req.json();

    let body = wild.body(&root);
    check_body(&opts, body.as_bytes());

    let tools_as_set = flags & flag::TOOLS_AS_LIST == 0;
    let native = Opts {
        cfg: Config::native()
            .with_tools_as_set(tools_as_set)
            .with_key_length(opts.key_length),
        validation: Validation::Full,
        key_length: opts.key_length,
        headers: Vec::new(),
    };
    let a = clean_a.body(&root);
    let b = clean_b.body(&root);
    let mut variant = strip_cache_control(&root);
    if tools_as_set {
        variant = permute_tool_sets(&variant, &mut clean_b.rng);
    }
    // C only when it is another request than A's and B's.
    let c = (variant != root).then(|| clean_b.body(&variant));
    let spellings: Vec<(&str, &String)> = [("A", &a), ("B", &b)]
        .into_iter()
        .chain(
            c.as_ref()
                .map(|c| ("C (no cache_control, tool sets shuffled)", c)),
        )
        .collect();
    for (name, text) in &spellings {
        if let Err(e) = serde_json::from_str::<Box<serde_json::value::RawValue>>(text) {
            panic!(
                "harness bug: clean spelling {name} is not JSON ({e}): {}",
                show(text.as_bytes())
            );
        }
    }
    // The reference: A accepted, B and C the same keys.
    let keys = |body: &str| {
        (
            reference::content_key(&native.cfg, body.as_bytes()),
            reference::session_key(&native.cfg, native.header_pairs(), body.as_bytes()),
        )
    };
    let ka = keys(&a);
    assert!(
        ka.0.is_ok() && ka.1.is_ok(),
        "native reference refuses clean spelling A: {ka:?}\nbody: {}",
        show(a.as_bytes())
    );
    for (name, text) in &spellings[1..] {
        let k = keys(text);
        assert!(
            k == ka,
            "native reference: spelling {name} gets another key\nA: {ka:?}\n{name}: {k:?}\nA body: {}\n{name} body: {}",
            show(a.as_bytes()),
            show(text.as_bytes())
        );
    }
    // The fast engine on every spelling, one fingerprinter for all (its fragment cache sees
    // the same fragments spelled differently).
    let mut fp = Fingerprinter::new(native.cfg.clone());
    for (name, text) in &spellings {
        let when = format!("clean spelling {name}");
        let body = text.as_bytes();
        let content = fp.content_key(body);
        agree("content_key", &when, &native, body, &content, &ka.0);
        let session = fp.session_key(native.header_pairs(), body);
        agree("session_key", &when, &native, body, &session, &ka.1);
    }
    let sub = reference::content_key(&Config::sub2api(), a.as_bytes());
    assert!(
        sub.is_ok(),
        "sub2api reference refuses clean spelling A: {sub:?}\nbody: {}",
        show(a.as_bytes())
    );
}

// ---------------------------------------------------------------------------------------------
// Target `stream`: a body and the points it is cut at, streamed against one-shot
// ---------------------------------------------------------------------------------------------

/// Option bits of the `stream` target's first byte (see [`StreamCase::decode`]).
pub mod stream_flag {
    /// Profile native (else sub2api).
    pub const NATIVE: u8 = 0x01;
    /// `Validation::Extracted` (else `Full`).
    pub const EXTRACTED: u8 = 0x02;
    /// Content tier only: `content_stream` against `content_key` (else `stream(headers)`
    /// against `session_key`).
    pub const CONTENT_ONLY: u8 = 0x04;
    /// `KeyLength::Bits256` (else `Bits128`).
    pub const BITS256: u8 = 0x08;
    /// `with_fragment_cache(0)`.
    pub const NO_CACHE: u8 = 0x10;
    /// Two limits bytes follow (little-endian `v`, see [`super::StreamCase::decode`]).
    pub const LIMITS: u8 = 0x20;
    /// A header list follows, as in `differential`: a count byte (`% 4`), one byte per header.
    pub const HEADERS: u8 = 0x40;
    /// `with_legacy_sha256(false)`.
    pub const NO_LEGACY: u8 = 0x80;
}

/// Bits of the `stream` target's cut byte.
pub mod cut_flag {
    /// The low 4 bits: how many gap bytes follow (0..=15).
    pub const COUNT: u8 = 0x0f;
    /// After the last gap, start again with the first one until the body ends (when the
    /// gaps are not all 0); else the rest of the body is one chunk.
    pub const REPEAT: u8 = 0x10;
    /// Gaps count in units of 16 bytes (else bytes).
    pub const WIDE: u8 = 0x20;
    /// Push an empty chunk before every chunk.
    pub const EMPTY: u8 = 0x40;
}

/// One `stream` input, decoded.
#[derive(Debug, Clone)]
pub struct StreamCase {
    pub cfg: Config,
    pub backend: stickykey::Backend,
    pub content_only: bool,
    pub headers: Headers,
    /// Chunk lengths, in order (0 for an empty chunk); the last chunk runs to the body's end
    /// and is not listed.
    pub chunks: Vec<usize>,
    pub empty_chunks: bool,
}

/// `(name, value)` pairs of a header list, as the engine takes them.
fn pairs(headers: &Headers) -> Vec<(&[u8], &[u8])> {
    headers
        .iter()
        .map(|(k, v)| (k.as_slice(), v.as_slice()))
        .collect()
}

impl StreamCase {
    /// `[flags][backend][limits lo, hi]?[header count, header bytes]?[cut byte][gaps] body`.
    ///
    /// - `flags`: [`stream_flag`].
    /// - `backend`: `b & 3` picks portable, sse2, avx2, avx512; one this CPU lacks is
    ///   replaced by the fastest available one below it (`Backend::all_available()`).
    /// - limits `v` (16 bits, when [`stream_flag::LIMITS`]): `v & 3` picks
    ///   0 → `max_depth = 1 + (v >> 2) % 8`; 1 → `max_body_bytes = (v >> 2) % 401`;
    ///   2 → both, `max_depth = 1 + (v >> 2 & 7)`, `max_body_bytes = (v >> 5) % 401`;
    ///   3 → `max_depth = 1 + (v >> 2) % 64`.
    /// - headers (when [`stream_flag::HEADERS`]): as in `differential` ([`HEADER_NAMES`],
    ///   [`HEADER_VALUES`]); ignored by the content tier.
    /// - cut byte: [`cut_flag`]; then its count of gap bytes. The chunks are the gaps in
    ///   order (repeated with [`cut_flag::REPEAT`]), clamped to the body, then the rest.
    ///
    /// Missing bytes read as 0.
    pub fn decode(data: &[u8]) -> (StreamCase, &[u8]) {
        let mut rest = data;
        let mut next = || match rest.split_first() {
            Some((&b, r)) => {
                rest = r;
                b
            }
            None => 0,
        };
        let flags = next();
        let backend_byte = next();
        let base = if flags & stream_flag::NATIVE != 0 {
            Config::native()
        } else {
            Config::sub2api()
        };
        let mut cfg = base
            .with_validation(if flags & stream_flag::EXTRACTED != 0 {
                Validation::Extracted
            } else {
                Validation::Full
            })
            .with_key_length(if flags & stream_flag::BITS256 != 0 {
                KeyLength::Bits256
            } else {
                KeyLength::Bits128
            })
            .with_legacy_sha256(flags & stream_flag::NO_LEGACY == 0);
        if flags & stream_flag::NO_CACHE != 0 {
            cfg = cfg.with_fragment_cache(0);
        }
        if flags & stream_flag::LIMITS != 0 {
            let v = u16::from_le_bytes([next(), next()]) as usize;
            let mut limits = Limits::default();
            let arg = v >> 2;
            match v & 3 {
                0 => limits.max_depth = 1 + arg % 8,
                1 => limits.max_body_bytes = arg % 401,
                2 => {
                    limits.max_depth = 1 + (arg & 7);
                    limits.max_body_bytes = (v >> 5) % 401;
                }
                _ => limits.max_depth = 1 + arg % 64,
            }
            cfg = cfg.with_limits(limits);
        }
        let mut headers = Vec::new();
        if flags & stream_flag::HEADERS != 0 {
            for _ in 0..next() % 4 {
                let h = next();
                headers.push((
                    HEADER_NAMES[(h & 7) as usize].as_bytes().to_vec(),
                    HEADER_VALUES[(h >> 3) as usize % HEADER_VALUES.len()].to_vec(),
                ));
            }
        }
        let cut = next();
        let unit = if cut & cut_flag::WIDE != 0 { 16 } else { 1 };
        let gaps: Vec<usize> = (0..cut & cut_flag::COUNT)
            .map(|_| next() as usize * unit)
            .collect();
        let body = rest;

        use stickykey::Backend;
        let order = [
            Backend::Portable,
            Backend::Sse2,
            Backend::Avx2,
            Backend::Avx512,
        ];
        let avail = Backend::all_available();
        let backend = order[..=(backend_byte & 3) as usize]
            .iter()
            .rev()
            .find(|b| avail.contains(b))
            .copied()
            .unwrap_or(Backend::Portable);

        let mut chunks = Vec::new();
        let mut left = body.len();
        let repeat = cut & cut_flag::REPEAT != 0 && gaps.iter().any(|&g| g > 0);
        'cut: loop {
            for &g in &gaps {
                if left == 0 {
                    break 'cut;
                }
                let g = g.min(left);
                chunks.push(g);
                left -= g;
            }
            if !repeat {
                break;
            }
        }
        (
            StreamCase {
                cfg,
                backend,
                content_only: flags & stream_flag::CONTENT_ONLY != 0,
                headers,
                chunks,
                empty_chunks: cut & cut_flag::EMPTY != 0,
            },
            body,
        )
    }

    fn fingerprinter(&self) -> Fingerprinter {
        Fingerprinter::with_backend(self.cfg.clone(), self.backend)
            .unwrap_or_else(|| panic!("back end {:?} is not available", self.backend))
    }

    /// `content_key` (as a content-tier `SessionKey`) or `session_key`.
    fn one_shot(&self, fp: &mut Fingerprinter, body: &[u8]) -> Result<Option<SessionKey>, Error> {
        if self.content_only {
            fp.content_key(body).map(|k| {
                k.map(|key| SessionKey {
                    key,
                    source: Source::Content,
                })
            })
        } else {
            fp.session_key(pairs(&self.headers), body)
        }
    }

    /// The body as the chunks of `lengths` (then the rest), with the stream's own
    /// properties checked on the way: `is_decided` before any error only for a header-tier
    /// answer; an error from `push` makes the stream decided and sticks (later pushes, an
    /// empty one too, and `finish` return it); `bytes_seen` never exceeds what was pushed
    /// nor the size limit. `abandon_after`: drop the stream after that many chunks (`None`
    /// for the whole run).
    fn streamed(
        &self,
        fp: &mut Fingerprinter,
        body: &[u8],
        lengths: &[usize],
        abandon_after: Option<usize>,
        want: &Result<Option<SessionKey>, Error>,
        when: &str,
    ) -> Option<Result<Option<SessionKey>, Error>> {
        let fail = |msg: String| -> ! {
            panic!(
                "stream ({when}): {msg}\none-shot: {want:?}\ncase: {self:?}\nbody: {}",
                show(body)
            )
        };
        let header_decided = matches!(
            want,
            Ok(Some(SessionKey {
                source: Source::Header(_),
                ..
            }))
        );
        let max = self.cfg.limits().max_body_bytes;
        let mut s = if self.content_only {
            fp.content_stream()
        } else {
            fp.stream(pairs(&self.headers))
        };
        let mut at = 0;
        let push = |s: &mut stickykey::Stream, chunk: &[u8], at: usize| match s.push(chunk) {
            Ok(()) => {
                if s.is_decided() != header_decided {
                    fail(format!(
                        "after push of {} bytes at {at}: is_decided() = {} with no error",
                        chunk.len(),
                        s.is_decided()
                    ));
                }
                let pushed = at + chunk.len();
                if s.bytes_seen() > pushed.min(max) {
                    fail(format!(
                        "bytes_seen() = {} after {pushed} bytes pushed (max_body_bytes {max})",
                        s.bytes_seen()
                    ));
                }
                Ok(())
            }
            Err(e) => {
                if !s.is_decided() {
                    fail(format!(
                        "push of {} bytes at {at} returned {e:?} but is_decided() is false",
                        chunk.len()
                    ));
                }
                for again in [&b""[..], b"{\"more\":1}", b"\xff"] {
                    let r = s.push(again);
                    if r != Err(e) {
                        fail(format!(
                            "push returned {e:?} at {at}, a later push of {again:?} returned {r:?}"
                        ));
                    }
                }
                if !s.is_decided() {
                    fail(format!("is_decided() false again after the error {e:?}"));
                }
                Err(e)
            }
        };
        if s.is_decided() != header_decided {
            fail(format!(
                "before any push: is_decided() = {}",
                s.is_decided()
            ));
        }
        let mut error = None;
        let rest_len = body.len() - lengths.iter().sum::<usize>();
        for (i, &n) in lengths.iter().chain([&rest_len]).enumerate() {
            if abandon_after == Some(i) {
                return None;
            }
            if self.empty_chunks {
                if let Err(e) = push(&mut s, &[], at) {
                    error = Some(e);
                    break;
                }
            }
            if let Err(e) = push(&mut s, &body[at..at + n], at) {
                error = Some(e);
                break;
            }
            at += n;
        }
        if abandon_after.is_some() {
            return None;
        }
        let r = s.finish();
        if let Some(e) = error {
            if r != Err(e) {
                fail(format!("push returned {e:?}, finish returned {r:?}"));
            }
        }
        Some(r)
    }
}

/// Target `stream`: the body streamed in the input's chunks equals the one-shot call on the
/// whole body exactly (the same key and source, or the same error kind and offset), on one
/// fingerprinter of the input's back end:
///
/// 1. one-shot (`session_key(headers)` or `content_key`);
/// 2. streamed in the input's chunks;
/// 3. a stream dropped after half of the chunks (state left behind must not matter);
/// 4. streamed as one chunk;
/// 5. one-shot again (the streams must not have changed what it computes).
///
/// On the way, every stream checks `push`/`is_decided`/`finish` (see `StreamCase::streamed`).
pub fn stream(data: &[u8]) {
    let (case, body) = StreamCase::decode(data);
    let mut fp = case.fingerprinter();
    let want = case.one_shot(&mut fp, body);
    let compare = |got: &Result<Option<SessionKey>, Error>, when: &str| {
        assert!(
            *got == want,
            "stream ({when}): streamed {got:?} != one-shot {want:?}\ncase: {case:?}\nbody: {}",
            show(body)
        );
    };
    let got = case
        .streamed(&mut fp, body, &case.chunks, None, &want, "input's chunks")
        .expect("a whole run");
    compare(&got, "input's chunks");
    case.streamed(
        &mut fp,
        body,
        &case.chunks,
        Some(case.chunks.len().div_ceil(2)),
        &want,
        "abandoned",
    );
    let whole = case
        .streamed(&mut fp, body, &[], None, &want, "one chunk")
        .expect("a whole run");
    compare(&whole, "one chunk");
    let again = case.one_shot(&mut fp, body);
    compare(&again, "one-shot again, after the streams");
}
