//! Property tests: the fast engine ([`Fingerprinter`], on every SIMD back end this CPU has)
//! computes exactly what the reference implementation (`stickykey::reference`, the spec
//! transcribed on serde_json) computes, on request-shaped bodies written in many legal
//! spellings, on damaged bodies, and on bare fragments; and the native profile's key depends
//! on what a conversation *means*, not on how it is spelled (docs/SPEC.md §4).
//!
//! Case counts: `PROPTEST_CASES` sets the count of every property (each one's default is in
//! its `run` call: 4000 requests, 5000 damaged bodies, 12000 fragments, 1500 conversations;
//! about 35 s wall-clock in release on two busy cores). A failure prints the minimal case
//! (bodies as lossy text, plus base64 when not UTF-8) and writes its bodies to
//! `$TMPDIR/stickykey-equivalence-<test>-<n>-<what>.bin`. `generator_statistics`
//! (`--ignored`) shows what the generators produce.

#[path = "equivalence/gen.rs"]
mod gen;
#[path = "equivalence/model.rs"]
mod model;
#[path = "equivalence/mutate.rs"]
mod mutate;

use model::{Renderer, SChar, Style, Text, J};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config as PtConfig, TestCaseError, TestError, TestRunner};
use std::fmt;
use stickykey::{
    __private, reference, Backend, Config, Error, Fingerprinter, Format, Key, KeyLength, Limits,
    Profile, Validation,
};

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

/// The reference implementation recurses once per nesting level: run on a big stack.
const STACK: usize = 256 << 20;

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(default)
}

/// Bodies a failing case carries, to be written out for minimization.
trait Bodies {
    fn bodies(&self) -> Vec<(&'static str, &[u8])>;
}

/// Runs one property on a thread with a big stack; the strategy is built there (boxed
/// strategies are not `Send`).
fn run<V, F>(name: &'static str, default_cases: u32, make: fn() -> BoxedStrategy<V>, test: F)
where
    V: Bodies + fmt::Debug + 'static,
    F: Fn(V) -> Result<(), TestCaseError> + Send + Sync + 'static,
{
    let worker = std::thread::Builder::new()
        .name(name.into())
        .stack_size(STACK)
        .spawn(move || {
            let n = cases(default_cases);
            let config = PtConfig {
                cases: n,
                failure_persistence: None,
                max_shrink_iters: 4096,
                ..PtConfig::default()
            };
            let mut runner = TestRunner::new(config);
            let strategy = make();
            let t0 = std::time::Instant::now();
            let result = runner.run(&strategy, test);
            match result {
                Ok(()) => eprintln!("{name}: {n} cases passed in {:.1?}", t0.elapsed()),
                Err(TestError::Fail(reason, value)) => {
                    let dir = std::env::temp_dir();
                    let mut written = Vec::new();
                    for (i, (what, b)) in value.bodies().into_iter().enumerate() {
                        let p = dir.join(format!("stickykey-equivalence-{name}-{i}-{what}.bin"));
                        if std::fs::write(&p, b).is_ok() {
                            written.push(p.display().to_string());
                        }
                    }
                    panic!("{name}: {reason}\nminimal failing input: {value:#?}\nbodies written to: {written:?}");
                }
                Err(e) => panic!("{name}: {e}"),
            }
        })
        .expect("spawn the test thread");
    if let Err(e) = worker.join() {
        std::panic::resume_unwind(e);
    }
}

/// Bytes shown as lossy text (shortened when long), plus base64 when not UTF-8.
#[derive(Clone)]
struct Shown(Vec<u8>);

impl fmt::Debug for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use base64::Engine as _;
        let b = &self.0;
        let text = String::from_utf8_lossy(b);
        let chars: Vec<char> = text.chars().collect();
        if chars.len() <= 3000 {
            write!(f, "{} bytes {:?}", b.len(), text)?;
        } else {
            let head: String = chars[..1500].iter().collect();
            let tail: String = chars[chars.len() - 500..].iter().collect();
            write!(f, "{} bytes {:?} ... {:?}", b.len(), head, tail)?;
        }
        if std::str::from_utf8(b).is_err() && b.len() <= 4096 {
            write!(
                f,
                " base64 {}",
                base64::engine::general_purpose::STANDARD.encode(b)
            )?;
        }
        Ok(())
    }
}

fn shown(b: &[u8]) -> String {
    format!("{:?}", Shown(b.to_vec()))
}

/// Ok values equal, or both refused (kinds and offsets may differ).
fn agree<T: PartialEq>(fast: &Result<T, Error>, reference: &Result<T, Error>) -> bool {
    match (fast, reference) {
        (Ok(a), Ok(b)) => a == b,
        (Err(_), Err(_)) => true,
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------
// Configurations and headers
// ---------------------------------------------------------------------------------------------

/// The options of one case's second configuration (the first is the profile's default).
#[derive(Clone, Debug)]
struct CfgSpec {
    tools_as_set: bool,
    bits256: bool,
    max_depth: Option<usize>,
    max_body_bytes: Option<usize>,
    cache: Option<usize>,
    legacy_sha256: bool,
    /// The sub2api policies (SPEC §3.6): leading system only, user anchor, stable prefix.
    policy: [bool; 3],
}

fn cfg_spec() -> BoxedStrategy<CfgSpec> {
    (
        any::<bool>(),
        any::<bool>(),
        proptest::option::weighted(0.35, 5usize..=40),
        proptest::option::weighted(0.08, 64usize..4096),
        select(vec![None, None, Some(0), Some(0), Some(300), Some(3000)]),
        proptest::bool::weighted(0.8),
        any::<[bool; 3]>(),
    )
        .prop_map(
            |(tools_as_set, bits256, max_depth, max_body_bytes, cache, legacy_sha256, policy)| {
                CfgSpec {
                    tools_as_set,
                    bits256,
                    max_depth,
                    max_body_bytes,
                    cache,
                    legacy_sha256,
                    policy,
                }
            },
        )
        .boxed()
}

fn base(profile: Profile) -> Config {
    match profile {
        Profile::Sub2api => Config::sub2api(),
        _ => Config::native(),
    }
}

impl CfgSpec {
    fn build(&self, profile: Profile) -> Config {
        let mut limits = Limits::default();
        if let Some(d) = self.max_depth {
            limits.max_depth = d;
        }
        if let Some(b) = self.max_body_bytes {
            limits.max_body_bytes = b;
        }
        let mut c = base(profile)
            .with_tools_as_set(self.tools_as_set)
            .with_legacy_sha256(self.legacy_sha256)
            .with_key_length(if self.bits256 {
                KeyLength::Bits256
            } else {
                KeyLength::Bits128
            })
            .with_limits(limits)
            .with_leading_system_only(self.policy[0])
            .with_require_user_anchor(self.policy[1])
            .with_stable_prefix(self.policy[2]);
        if let Some(bytes) = self.cache {
            c = c.with_fragment_cache(bytes);
        }
        c
    }
}

type Headers = Vec<(String, Vec<u8>)>;

/// Mostly none; else names that count (any ASCII case) or not (`session-id`), values that
/// are blank under Go's `strings.TrimSpace` or not, some not UTF-8.
fn headers() -> BoxedStrategy<Headers> {
    let names = vec![
        "session_id",
        "Session_Id",
        "SESSION_ID",
        "conversation_id",
        "Conversation_ID",
        "session-id",
        "x-request-id",
        "content-type",
    ];
    let values: Vec<&'static [u8]> = vec![
        b"",
        b"  ",
        b"\t\r\n",
        "\u{3000}\u{85}\u{a0}".as_bytes(),
        b"abc-123",
        b" abc ",
        b"\xff\xfe",
        b" \xc3",
        "\u{feff}z".as_bytes(),
        b"0",
    ];
    prop_oneof![
        3 => Just(Vec::new()),
        2 => vec((select(names), select(values)), 1..4)
            .prop_map(|v| v.into_iter().map(|(k, v)| (k.to_owned(), v.to_vec())).collect()),
    ]
    .boxed()
}

fn header_pairs(h: &Headers) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
    h.iter().map(|(k, v)| (k.as_bytes(), v.as_slice()))
}

// ---------------------------------------------------------------------------------------------
// The differential check
// ---------------------------------------------------------------------------------------------

/// What one body gets from the three entry points.
#[derive(Debug, PartialEq)]
struct Outcomes {
    content: Result<Option<Key>, Error>,
    session: Result<Option<stickykey::SessionKey>, Error>,
    seed: Result<Option<String>, Error>,
}

impl Outcomes {
    fn reference(cfg: &Config, headers: &Headers, body: &[u8]) -> Outcomes {
        Outcomes {
            content: reference::content_key(cfg, body),
            session: reference::session_key(cfg, header_pairs(headers), body),
            seed: reference::seed_text(cfg, body),
        }
    }

    /// The three calls, in an order that depends on `turn` (so that each one is sometimes
    /// the first to meet a body, with a cold fragment cache).
    fn fast(fp: &mut Fingerprinter, headers: &Headers, body: &[u8], turn: usize) -> Outcomes {
        let mut o = Outcomes {
            content: Ok(None),
            session: Ok(None),
            seed: Ok(None),
        };
        for i in 0..3 {
            match (i + turn) % 3 {
                0 => o.content = fp.content_key(body),
                1 => o.session = fp.session_key(header_pairs(headers), body),
                _ => o.seed = fp.seed_text(body),
            }
        }
        o
    }

    /// Full validation: each outcome agrees with the reference.
    fn check_full(&self, r: &Outcomes) -> Option<&'static str> {
        if !agree(&self.content, &r.content) {
            return Some("content_key");
        }
        if !agree(&self.session, &r.session) {
            return Some("session_key");
        }
        if !agree(&self.seed, &r.seed) {
            return Some("seed_text");
        }
        None
    }

    /// Extracted validation: where the reference gives a value, the same value (elsewhere
    /// anything but a panic: only what is read is validated).
    fn check_extracted(&self, r: &Outcomes) -> Option<&'static str> {
        if r.content.is_ok() && self.content != r.content {
            return Some("content_key");
        }
        if r.session.is_ok() && self.session != r.session {
            return Some("session_key");
        }
        if r.seed.is_ok() && self.seed != r.seed {
            return Some("seed_text");
        }
        None
    }
}

/// `body` twice, `other`, `body` again, on a fresh fingerprinter per back end, with `cfg`
/// (Full validation) and with `cfg` under `Validation::Extracted`.
fn differential(
    cfg: &Config,
    headers: &Headers,
    body: &[u8],
    other: &[u8],
) -> Result<(), TestCaseError> {
    let r_body = Outcomes::reference(cfg, headers, body);
    let r_other = Outcomes::reference(cfg, headers, other);
    let extracted = cfg.clone().with_validation(Validation::Extracted);
    for (bi, backend) in Backend::all_available().into_iter().enumerate() {
        for (cfg, full) in [(cfg, true), (&extracted, false)] {
            let mut fp =
                Fingerprinter::with_backend(cfg.clone(), backend).expect("available back end");
            let steps: [(&str, &[u8], &Outcomes); 4] = [
                ("1st call", body, &r_body),
                ("2nd call", body, &r_body),
                ("other body", other, &r_other),
                ("after the other body", body, &r_body),
            ];
            for (si, (step, b, r)) in steps.into_iter().enumerate() {
                let f = Outcomes::fast(&mut fp, headers, b, bi + si);
                let bad = if full {
                    f.check_full(r)
                } else {
                    f.check_extracted(r)
                };
                if let Some(what) = bad {
                    return Err(TestCaseError::fail(format!(
                        "{what} differs ({step}, backend {})\nconfig {cfg:?}\nheaders {headers:?}\nbody {}\nfast      {f:?}\nreference {r:?}",
                        backend.name(),
                        shown(b),
                    )));
                }
            }
        }
    }
    Ok(())
}

/// Both profiles, the default configuration and the case's variation.
fn differential_all(
    spec: &CfgSpec,
    headers: &Headers,
    body: &[u8],
    other: &[u8],
) -> Result<(), TestCaseError> {
    for profile in [Profile::Sub2api, Profile::Native] {
        differential(&base(profile), headers, body, other)?;
        differential(&spec.build(profile), headers, body, other)?;
    }
    differential(&format_variant(body), headers, body, other)?;
    Ok(())
}

/// native with a stated format and maybe a model hint (SPEC §5), picked from the body's bytes
/// so that every format meets every kind of body.
fn format_variant(body: &[u8]) -> Config {
    let h = body.iter().fold(body.len(), |h, &b| {
        h.wrapping_mul(31).wrapping_add(b as usize)
    });
    let format = [
        Format::Auto,
        Format::Chat,
        Format::Responses,
        Format::Anthropic,
        Format::Gemini,
    ][h % 5];
    let hint = [None, Some("gemini-2.0-flash"), Some("models/m")][(h / 5) % 3];
    Config::native().with_format(format).with_model_hint(hint)
}

// ---------------------------------------------------------------------------------------------
// 1. Request-shaped bodies
// ---------------------------------------------------------------------------------------------

struct ReqCase {
    body: Vec<u8>,
    other: Vec<u8>,
    headers: Headers,
    spec: CfgSpec,
    dups: usize,
    style: Style,
}

impl fmt::Debug for ReqCase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReqCase")
            .field("body", &Shown(self.body.clone()))
            .field("other", &Shown(self.other.clone()))
            .field("headers", &self.headers)
            .field("spec", &self.spec)
            .field("dups", &self.dups)
            .field("style", &self.style)
            .finish()
    }
}

impl Bodies for ReqCase {
    fn bodies(&self) -> Vec<(&'static str, &[u8])> {
        vec![("body", &self.body), ("other", &self.other)]
    }
}

/// Two requests (the second one is met after the first, on the same fingerprinter),
/// sometimes sharing one rendered fragment (a fragment cache entry met in another place).
fn req_case() -> BoxedStrategy<ReqCase> {
    (
        gen::request(),
        gen::request(),
        gen::style(),
        any::<(u64, u64)>(),
        proptest::option::weighted(0.3, (gen::shared_fragment(), any::<u64>(), any::<u32>())),
        headers(),
        (cfg_spec(), proptest::bool::weighted(0.15)),
    )
        .prop_map(
            |(mut a, mut b, style, (sa, sb), shared, headers, (spec, lone))| {
                // Lone surrogates in a few bodies only (native refuses them anywhere).
                if !lone {
                    a = a.without_lone();
                    b = b.without_lone();
                }
                if let Some((frag, seed, mask)) = &shared {
                    gen::share(&mut a, frag, *seed, *mask);
                    gen::share(&mut b, frag, *seed, mask.rotate_left(7));
                }
                let mut ra = Renderer::new(sa, style);
                let body = ra.body(&a).into_bytes();
                let mut rb = Renderer::new(sb, style);
                let other = rb.body(&b).into_bytes();
                ReqCase {
                    body,
                    other,
                    headers,
                    spec,
                    dups: ra.dups + rb.dups,
                    style,
                }
            },
        )
        .boxed()
}

#[test]
fn requests_fast_equals_reference() {
    run("requests", 4000, req_case, |c| {
        differential_all(&c.spec, &c.headers, &c.body, &c.other)
    });
}

// ---------------------------------------------------------------------------------------------
// 2. Damaged bodies
// ---------------------------------------------------------------------------------------------

struct DamagedCase {
    original: Vec<u8>,
    body: Vec<u8>,
    other: Vec<u8>,
    edits: Vec<mutate::Edit>,
    headers: Headers,
    spec: CfgSpec,
}

impl fmt::Debug for DamagedCase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DamagedCase")
            .field("body", &Shown(self.body.clone()))
            .field("original", &Shown(self.original.clone()))
            .field("edits", &self.edits)
            .field("other", &Shown(self.other.clone()))
            .field("headers", &self.headers)
            .field("spec", &self.spec)
            .finish()
    }
}

impl Bodies for DamagedCase {
    fn bodies(&self) -> Vec<(&'static str, &[u8])> {
        vec![("body", &self.body), ("other", &self.other)]
    }
}

fn damaged_case() -> BoxedStrategy<DamagedCase> {
    (
        gen::request(),
        gen::style(),
        any::<u64>(),
        vec(mutate::edit(), 1..4),
        any::<bool>(),
        headers(),
        (cfg_spec(), proptest::bool::weighted(0.15)),
    )
        .prop_map(
            |(a, style, seed, edits, other_is_original, headers, (spec, lone))| {
                let a = if lone { a } else { a.without_lone() };
                let original = Renderer::new(seed, style).body(&a).into_bytes();
                let mut body = original.clone();
                mutate::apply(&mut body, &edits);
                // The other body: the undamaged one (it shares every fragment), or another damage.
                let other = if other_is_original {
                    original.clone()
                } else {
                    let mut o = original.clone();
                    mutate::apply(&mut o, &edits[..1]);
                    o
                };
                DamagedCase {
                    original,
                    body,
                    other,
                    edits,
                    headers,
                    spec,
                }
            },
        )
        .boxed()
}

#[test]
fn damaged_bodies_fast_equals_reference() {
    run("damaged", 5000, damaged_case, |c| {
        differential_all(&c.spec, &c.headers, &c.body, &c.other)
    });
}

// ---------------------------------------------------------------------------------------------
// 3. Fragments: canonical_fast == canonical_reference
// ---------------------------------------------------------------------------------------------

struct FragCase {
    frag: Vec<u8>,
    /// Two value-preserving spellings of the sanitized value (no duplicates, no lone
    /// surrogates): the same native canonical text.
    spelled: (Vec<u8>, Vec<u8>),
}

impl fmt::Debug for FragCase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FragCase")
            .field("frag", &Shown(self.frag.clone()))
            .field("spelled.0", &Shown(self.spelled.0.clone()))
            .field("spelled.1", &Shown(self.spelled.1.clone()))
            .finish()
    }
}

impl Bodies for FragCase {
    fn bodies(&self) -> Vec<(&'static str, &[u8])> {
        vec![
            ("frag", &self.frag),
            ("spelled0", &self.spelled.0),
            ("spelled1", &self.spelled.1),
        ]
    }
}

fn frag_case() -> BoxedStrategy<FragCase> {
    let value = prop_oneof![
        6 => gen::json(),
        2 => gen::tool(),
        2 => gen::content(),
        1 => gen::request(),
    ];
    (
        value,
        gen::style(),
        any::<(u64, u64, u64)>(),
        (select(vec![0u8, 5, 30, 80]), select(vec![0u8, 5, 30, 100])),
        proptest::option::weighted(0.25, vec(mutate::edit(), 1..3)),
    )
        .prop_map(|(v, style, (s0, s1, s2), (ws, esc), edits)| {
            let mut frag = Renderer::new(s0, style).body(&v).into_bytes();
            if let Some(e) = edits {
                mutate::apply(&mut frag, &e);
            }
            let clean = v.sanitized();
            let a = Renderer::new(s1, Style::spelling(ws, esc))
                .body(&clean)
                .into_bytes();
            let b = Renderer::new(s2, Style::spelling(ws, esc))
                .body(&clean)
                .into_bytes();
            FragCase {
                frag,
                spelled: (a, b),
            }
        })
        .boxed()
}

fn canonical_agree(
    profile: Profile,
    frag: &[u8],
) -> Result<Result<Option<String>, Error>, TestCaseError> {
    let f = __private::canonical_fast(profile, frag);
    let r = __private::canonical_reference(profile, frag);
    if !agree(&f, &r) {
        return Err(TestCaseError::fail(format!(
            "canonical ({profile:?}) differs\nfragment {}\nfast      {f:?}\nreference {r:?}",
            shown(frag)
        )));
    }
    Ok(r)
}

#[test]
fn canonical_fast_equals_reference() {
    run("canonical", 12000, frag_case, |c| {
        for p in [Profile::Sub2api, Profile::Native] {
            let _ = canonical_agree(p, &c.frag)?;
            let _ = canonical_agree(p, &c.spelled.0)?;
            let _ = canonical_agree(p, &c.spelled.1)?;
        }
        // Native canonical text is a function of the value (SPEC §4.2).
        let a = canonical_agree(Profile::Native, &c.spelled.0)?;
        let b = canonical_agree(Profile::Native, &c.spelled.1)?;
        prop_assert!(
            matches!(&a, Ok(Some(_))) && a == b,
            "two spellings of one value, two native canonical texts:\n{}\n{a:?}\n{}\n{b:?}",
            shown(&c.spelled.0),
            shown(&c.spelled.1)
        );
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------------
// 4. Native: spelling invariance, and what changes the key
// ---------------------------------------------------------------------------------------------

struct ConvCase {
    conv: gen::Conv,
    /// Representation seeds (equivalent values: `"t"` or a single text part, absent or
    /// `null`, `[]` or absent tools, a bare `input_text` item, ...).
    reps: (u64, u64),
    /// Spelling seeds with their styles (no duplicates, value-preserving numbers).
    spell: ((u64, Style), (u64, Style)),
    /// Picks which tool/system message a change touches.
    pick: u64,
    /// Items appended after the first user message (later history), rendered with
    /// duplicate names sometimes.
    later: Vec<J>,
    later_seed: u64,
    cc: J,
    unread: J,
    pck: J,
}

impl fmt::Debug for ConvCase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (a, b) = self.pair();
        f.debug_struct("ConvCase")
            .field("body_a", &Shown(a))
            .field("body_b", &Shown(b))
            .field("conv", &self.conv)
            .field("reps", &self.reps)
            .field("spell", &self.spell)
            .field("pick", &self.pick)
            .field("later", &self.later)
            .finish()
    }
}

impl Bodies for ConvCase {
    fn bodies(&self) -> Vec<(&'static str, &[u8])> {
        Vec::new()
    }
}

impl ConvCase {
    fn render(&self, conv: &gen::Conv, which: usize) -> Vec<u8> {
        let rep = if which == 0 { self.reps.0 } else { self.reps.1 };
        let (seed, style) = if which == 0 {
            self.spell.0
        } else {
            self.spell.1
        };
        Renderer::new(seed, style)
            .body(&conv.to_json(rep))
            .into_bytes()
    }

    fn pair(&self) -> (Vec<u8>, Vec<u8>) {
        (self.render(&self.conv, 0), self.render(&self.conv, 1))
    }
}

fn spelling_style() -> BoxedStrategy<(u64, Style)> {
    (
        any::<u64>(),
        select(vec![0u8, 10, 50, 90]),
        select(vec![0u8, 10, 50, 100]),
    )
        .prop_map(|(seed, ws, esc)| (seed, Style::spelling(ws, esc)))
        .boxed()
}

fn conv_case() -> BoxedStrategy<ConvCase> {
    (
        gen::conv(),
        any::<(u64, u64)>(),
        (spelling_style(), spelling_style()),
        any::<u64>(),
        (
            vec(prop_oneof![gen::message(), gen::input_item()], 1..4),
            any::<u64>(),
        ),
        gen::cache_control(),
        gen::json(),
        gen::prompt_cache_key(),
    )
        .prop_map(
            |(conv, reps, spell, pick, (later, later_seed), cc, unread, pck)| ConvCase {
                conv,
                reps,
                spell,
                pick,
                later,
                later_seed,
                cc: cc.sanitized(),
                unread: unread.sanitized(),
                pck: pck.sanitized(),
            },
        )
        .boxed()
}

/// A different value: strings get a character, numbers a digit, objects a member, ...
fn changed(v: &J) -> J {
    match v {
        J::Str(t) => {
            let mut t = t.clone();
            t.0.push(SChar::C('\u{10fffd}'));
            J::Str(t)
        }
        J::Num(n) => J::Num(model::Num::new(n.neg, &format!("{}7", n.digits), n.exp)),
        J::Bool(b) => J::Bool(!b),
        J::Null => J::Bool(true),
        J::Arr(items) => {
            let mut items = items.clone();
            items.push(J::int(7));
            J::Arr(items)
        }
        J::Obj(_) => {
            let mut o = v.clone();
            let new = match o.get_mut("zz_changed") {
                Some(old) => changed(old),
                None => J::int(1),
            };
            o.set("zz_changed", new);
            o
        }
        other => other.clone(),
    }
}

fn changed_content(c: &gen::Content) -> gen::Content {
    use gen::Content;
    match c {
        Content::Text(t) => {
            let mut t = t.clone();
            t.push_str("\u{10fffd}");
            Content::Text(t)
        }
        Content::Parts(parts) => {
            let mut parts = parts.clone();
            let first_text = parts
                .iter_mut()
                .find(|p| matches!(p.get("text"), Some(J::Str(_))));
            match first_text {
                Some(p) => {
                    let t = p.get_mut("text").unwrap().clone();
                    p.set("text", changed(&t));
                }
                None => parts.push(J::obj(vec![
                    ("type", J::s("text")),
                    ("text", J::s("changed")),
                ])),
            }
            Content::Parts(parts)
        }
        Content::Other(j) => Content::Other(changed(j)),
    }
}

/// `cache_control` set on every object part (a text becomes one part that has it).
fn with_cache_control(c: &gen::Content, cc: &J) -> gen::Content {
    use gen::Content;
    match c {
        Content::Text(t) => Content::Parts(vec![J::obj(vec![
            ("type", J::s("text")),
            ("text", J::Str(t.clone())),
            ("cache_control", cc.clone()),
        ])]),
        Content::Parts(parts) => Content::Parts(
            parts
                .iter()
                .map(|p| {
                    let mut p = p.clone();
                    p.set("cache_control", cc.clone());
                    p
                })
                .collect(),
        ),
        Content::Other(j) => Content::Other(j.clone()),
    }
}

/// The native content key by the fast engine (default back end) and by the reference; they
/// must agree, and the body must get a key.
fn native_key(cfg: &Config, body: &[u8]) -> Result<Key, TestCaseError> {
    let f = Fingerprinter::new(cfg.clone()).content_key(body);
    let r = reference::content_key(cfg, body);
    if !agree(&f, &r) {
        return Err(TestCaseError::fail(format!(
            "content_key differs\nconfig {cfg:?}\nbody {}\nfast      {f:?}\nreference {r:?}",
            shown(body)
        )));
    }
    match r {
        Ok(Some(k)) => Ok(k),
        other => Err(TestCaseError::fail(format!(
            "a conversation got no key: {other:?}\nconfig {cfg:?}\nbody {}",
            shown(body)
        ))),
    }
}

fn native_canonical(v: &J) -> String {
    __private::canonical_reference(Profile::Native, model::plain(v).as_bytes())
        .expect("a sanitized value is valid")
        .expect("non-empty")
}

fn conv_property(c: &ConvCase) -> Result<(), TestCaseError> {
    let configs = [
        (Config::native(), true),
        (Config::native().with_tools_as_set(false), false),
        (Config::native().with_key_length(KeyLength::Bits256), true),
    ];
    let (a, b) = c.pair();
    for (cfg, as_set) in &configs {
        let key = native_key(cfg, &a)?;
        let key_b = native_key(cfg, &b)?;
        prop_assert_eq!(
            key,
            key_b,
            "two spellings of one conversation, two keys\nconfig {:?}\nA {}\nB {}",
            cfg,
            shown(&a),
            shown(&b)
        );
        // `variant`, in both spellings, must give `key` (same) or another key (!same).
        let expect = |what: &str, variant: &gen::Conv, same: bool| -> Result<(), TestCaseError> {
            for which in 0..2 {
                let body = c.render(variant, which);
                let k = native_key(cfg, &body)?;
                if (k == key) != same {
                    return Err(TestCaseError::fail(format!(
                        "{what}: expected {} key\nconfig {cfg:?}\noriginal {}\nvariant  {}",
                        if same { "the same" } else { "another" },
                        shown(&a),
                        shown(&body)
                    )));
                }
            }
            Ok(())
        };
        let pick = c.pick as usize;

        // What the key depends on (SPEC §4.1): model, first user content, the leading
        // system/developer messages (roles and contents), tools, functions, instructions.
        let mut v = c.conv.clone();
        v.model = Some(match &c.conv.model {
            Some(m) => changed(m),
            None => J::s("gpt-4o"),
        });
        expect("model changed", &v, false)?;

        let mut v = c.conv.clone();
        v.first_user = changed_content(&c.conv.first_user);
        expect("first user content changed", &v, false)?;

        if !c.conv.systems.is_empty() {
            let i = pick % c.conv.systems.len();
            let mut v = c.conv.clone();
            v.systems[i].1 = changed_content(&c.conv.systems[i].1);
            expect("leading system content changed", &v, false)?;
            let mut v = c.conv.clone();
            v.systems[i].0 = !v.systems[i].0;
            expect("leading system role system <-> developer", &v, false)?;
        }
        let mut v = c.conv.clone();
        v.systems
            .push((false, gen::Content::Text(Text::new("You are terse."))));
        expect("a leading system message added", &v, false)?;

        let mut v = c.conv.clone();
        if c.conv.tools.is_empty() {
            v.tools.push(J::obj(vec![
                ("type", J::s("function")),
                ("name", J::s("f")),
            ]));
            expect("a tool added", &v, false)?;
        } else {
            let i = pick % c.conv.tools.len();
            v.tools[i] = changed(&c.conv.tools[i]);
            expect("a tool changed", &v, false)?;
        }

        let mut v = c.conv.clone();
        v.functions.push(J::obj(vec![("name", J::s("legacy_fn"))]));
        expect("a function added", &v, false)?;

        let mut v = c.conv.clone();
        v.instructions = Some(match &c.conv.instructions {
            Some(i) => changed(i),
            None => J::s("Be brief."),
        });
        expect("instructions changed", &v, false)?;

        // The exceptions: changes the key must not see.
        // - Anything after the first user message is never read (SPEC §4.1): later turns,
        //   a system message injected later, even objects repeating a member name there
        //   (§4.3). Lone surrogates stay out: they are refused anywhere in the body (§1.1).
        let mut v = c.conv.clone();
        let mut r = Renderer::new(
            c.later_seed,
            Style {
                dup: 30,
                ..Style::spelling(10, 10)
            },
        );
        for item in &c.later {
            let mut s = String::new();
            r.value(&item.without_lone(), &mut s);
            v.history.push(J::Raw(s));
        }
        v.history.push(J::obj(vec![
            ("role", J::s("system")),
            ("content", J::s("injected later")),
        ]));
        expect("later history appended", &v, true)?;

        // - `cache_control` members are dropped wherever they are (§4.1, §4.2).
        let mut v = c.conv.clone();
        v.first_user = with_cache_control(&c.conv.first_user, &c.cc);
        for (_, s) in v.systems.iter_mut() {
            *s = with_cache_control(s, &c.cc);
        }
        for t in v.tools.iter_mut() {
            t.set("cache_control", c.cc.clone());
        }
        expect("cache_control added", &v, true)?;

        // - Root members no rule reads; `prompt_cache_key` is another tier (§2).
        let mut v = c.conv.clone();
        v.extras.retain(|(k, _)| !k.is("metadata"));
        v.extras.push((Text::new("metadata"), c.unread.clone()));
        v.extras
            .push((Text::new("prompt_cache_key"), c.pck.clone()));
        expect("unread root members changed", &v, true)?;

        // - Tools as a set: their order does not count; as a list it does, unless the
        //   rotation leaves the sequence of canonical texts as it was (§4.1, §4.4).
        if c.conv.tools.len() >= 2 {
            let mut v = c.conv.clone();
            v.tools.rotate_left(1 + pick % (c.conv.tools.len() - 1));
            let before: Vec<String> = c.conv.tools.iter().map(native_canonical).collect();
            let after: Vec<String> = v.tools.iter().map(native_canonical).collect();
            expect("tools reordered", &v, *as_set || before == after)?;
        }
    }
    Ok(())
}

#[test]
fn native_spelling_invariance() {
    run("native_spelling", 1500, conv_case, |c| conv_property(&c));
}
// ---------------------------------------------------------------------------------------------
// 5. Minimized bodies (failures found by the properties above, and edge cases)
// ---------------------------------------------------------------------------------------------

/// Small bodies checked on every run, each under both profiles, the default configuration
/// and a variation, every back end, Full and Extracted validation.
const MINIMIZED: &[&[u8]] = &[
    // native, found by `requests_fast_equals_reference`: `tools`/`functions` that is not an
    // array holds a duplicate name. The reference refused (duplicate_key), the fast engine
    // skipped the value and gave a key. SPEC §4.3 now says tools and functions are read
    // whatever their type: duplicate_key.
    br#"{"tools":{"a":1,"a":2}}"#,
    br#"{"model":"m","functions":{"a":1,"a":2}}"#,
    // native, found by `requests_fast_equals_reference` and `damaged_bodies_...`: `messages`
    // is an array, so `input` is not read and its items are not checked for duplicates
    // (SPEC §4.1, §4.3); the fast engine refused with duplicate_key (either member order).
    br#"{"messages":[],"input":[{"a":1,"a":1}]}"#,
    br#"{"input":[{"a":1,"a":1}],"messages":[{"role":"user","content":"hi"}]}"#,
    // Edge cases that agree today.
    br#"{"tools":[ ],"functions":[]}"#,
    br#"{"model":1e400,"tools":[1e400,-0,0.0e+00]}"#,
    br#"{"model":"\ud83d\u0041","instructions":"\udc00"}"#,
    br#"{"messages":[{"role":"user","content":[{"type":"text","text":"hi","cache_control":{"type":"ephemeral"}}]}]}"#,
    br#"{"input":[{"type":"input_text","text":[{"type":"text","text":"hi"}]}]}"#,
    br#"{"prompt_cache_key":" ","model":"m"}"#,
    b"",
    b" \t\r\n",
    b"\xef\xbb\xbf{}",
    br#"{"a":1} x"#,
    br#"[{"model":"m"}]"#,
];

#[test]
fn minimized_cases_fast_equals_reference() {
    let spec = CfgSpec {
        tools_as_set: false,
        bits256: true,
        max_depth: Some(3),
        max_body_bytes: None,
        cache: Some(0),
        legacy_sha256: false,
        policy: [false; 3],
    };
    let other: &[u8] = br#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#;
    let failures: Vec<String> = MINIMIZED
        .iter()
        .filter_map(|&body| {
            let spec = spec.clone();
            std::thread::Builder::new()
                .stack_size(STACK)
                .spawn(move || differential_all(&spec, &Headers::new(), body, other).err())
                .expect("spawn")
                .join()
                .expect("no panic")
                .map(|e| e.to_string())
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} bodies disagree:\n{}",
        failures.len(),
        MINIMIZED.len(),
        failures.join("\n\n")
    );
}

/// What the generators produce (run with `--ignored --nocapture`): sizes, outcomes, seed
/// parts, and a few conversation spellings.
#[test]
#[ignore]
fn generator_statistics() {
    use proptest::strategy::ValueTree;
    use std::collections::BTreeMap;
    let mut runner = TestRunner::default();
    let n = cases(2000);
    let mut hist: BTreeMap<String, usize> = BTreeMap::new();
    let mut bump = |k: String| *hist.entry(k).or_default() += 1;
    let outcome = |r: Result<Option<Key>, Error>| match r {
        Ok(Some(_)) => "Some".to_string(),
        Ok(None) => "None".to_string(),
        Err(e) => format!("Err {:?}", e.kind()),
    };
    let s = req_case();
    for _ in 0..n {
        let c = s.new_tree(&mut runner).unwrap().current();
        let bucket = match c.body.len() {
            0..=99 => "<100",
            100..=999 => "<1k",
            1000..=9999 => "<10k",
            10000..=99999 => "<100k",
            _ => ">=100k",
        };
        bump(format!("len {bucket}"));
        bump(format!("dups>0 {}", c.dups > 0));
        for p in [Profile::Sub2api, Profile::Native] {
            bump(format!(
                "{p:?} content {}",
                outcome(reference::content_key(&base(p), &c.body))
            ));
            bump(format!(
                "{p:?} variant content {}",
                outcome(reference::content_key(&c.spec.build(p), &c.body))
            ));
        }
        if let Ok(Some(s)) = reference::seed_text(&Config::sub2api(), &c.body) {
            for part in [
                "model=",
                "|tools=",
                "|functions=",
                "|instructions=",
                "|system=",
                "|first_user=",
                "|input=",
            ] {
                if s.contains(part) {
                    bump(format!("seed has {part}"));
                }
            }
        }
    }
    for (k, v) in hist {
        eprintln!("{k:40} {v:6} ({:.1}%)", 100.0 * v as f64 / n as f64);
    }
    let s = conv_case();
    let mut printed = 0;
    while printed < 3 {
        let c = s.new_tree(&mut runner).unwrap().current();
        let (a, b) = c.pair();
        if a.len() < 700 {
            eprintln!(
                "conv A {}\nconv B {}\n",
                String::from_utf8_lossy(&a),
                String::from_utf8_lossy(&b)
            );
            printed += 1;
        }
    }
}
