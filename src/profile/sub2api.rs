//! The sub2api profile on the fast engine: the seed of SPEC §3 (and its policy variants, §3.6),
//! streamed into xxh64 and SHA-256 piece by piece (never assembled in one buffer unless the
//! caller asks for it).

use super::engine::{gjson_string, string_is, Ctx};
use crate::canonicalize::cache::Kind;
use crate::canonicalize::{go, text, tree};
use crate::config::BodySignal;
use crate::error::Error;
use crate::extract::{Flow, Item, ItemVisitor, List, Root, Span, Walker};
use crate::hash::{go_trim_space, SeedOut, SEED_PREFIX};
use crate::scan::{self, BitStack};
use bumpalo::collections::Vec as BVec;
use bumpalo::Bump;

/// Go's `encoding/json` refuses deeper nesting; sub2api then keeps the raw text.
const GO_MAX_DEPTH: usize = 10_000;

/// Prefix of a stable-prefix seed (`deriveOpenAIStablePrefixSessionSeed`).
const STABLE_PREFIX: &str = "compat_csp_";

/// Fragment-cache depth tag of a tools/functions array written as a set (real depths are
/// small, so the tag keeps set entries apart from `normalizeCompatSeedJSON` entries).
const SET_DEPTH: usize = 128 + 1;

#[derive(Clone, Copy)]
enum Piece {
    /// A system or developer item: `|system=` + N(content), or nothing after `=` when content
    /// is absent (stable prefix: `|system=` or `|developer=`, meaningful contents only).
    System {
        content: Option<Span>,
        developer: bool,
    },
    /// `|first_user=` + N(content).
    FirstUser(Option<Span>),
    /// `|first_user=` + S(text) (Responses `input_text` item).
    FirstUserText(Option<Span>),
}

/// Records, for `messages` and for `input`, the pieces in order, and each list's user anchor.
struct Pieces<'a> {
    lists: [BVec<'a, Piece>; 2],
    captured: [bool; 2],
    /// Still in the list's leading run of system/developer items.
    leading: [bool; 2],
    /// The user anchor (SPEC §3.6 rule 3), once an item decided it.
    anchor: [Option<bool>; 2],
    /// Only the leading system/developer items of `messages` count.
    leading_only: bool,
}

impl ItemVisitor for Pieces<'_> {
    fn begin(&mut self, list: List) {
        let l = list as usize;
        self.lists[l].clear();
        self.captured[l] = false;
        self.leading[l] = true;
        self.anchor[l] = None;
    }

    // What is validated (under Extracted) does not depend on the policies: every
    // system/developer content, the first user content or text, and the content of the item
    // that decides the anchor. The stream's collector keeps exactly these items.
    fn item(&mut self, w: &mut Walker<'_>, list: List, item: &Item) -> Result<Flow, Error> {
        let body = w.body;
        let l = list as usize;
        let system = string_is(body, item.role, "system");
        let developer = !system && string_is(body, item.role, "developer");
        let exact_user = !system && !developer && string_is(body, item.role, "user");
        let anchor_user = self.anchor[l].is_none() && trimmed_is(body, item.role, "user", w.arena);
        if system || developer {
            validate(w, item.content)?;
            if self.leading[l] || !(self.leading_only && list == List::Messages) {
                self.lists[l].push(Piece::System {
                    content: item.content,
                    developer,
                });
            }
        } else {
            self.leading[l] = false;
            if !self.captured[l] && exact_user {
                validate(w, item.content)?;
                self.lists[l].push(Piece::FirstUser(item.content));
                self.captured[l] = true;
            }
        }
        if anchor_user && !exact_user {
            // A role such as " user ": only the anchor reads this content.
            validate(w, item.content)?;
        }
        let input_text = list == List::Input && string_is(body, item.kind, "input_text");
        if input_text && !self.captured[l] {
            validate(w, item.text)?;
            self.lists[l].push(Piece::FirstUserText(item.text));
            self.captured[l] = true;
        }
        if self.anchor[l].is_none() {
            if anchor_user {
                self.anchor[l] = Some(meaningful(body, item.content, w.arena));
            } else if input_text {
                validate(w, item.text)?;
                self.anchor[l] = Some(meaningful(body, item.text, w.arena));
            }
        }
        Ok(Flow::Continue)
    }
}

fn validate(w: &mut Walker<'_>, span: Option<Span>) -> Result<(), Error> {
    match span {
        Some(s) => w.validate(s, 3),
        None => Ok(()),
    }
}

/// Is `span` a JSON string whose decoded value, trimmed of white space (Go
/// `strings.TrimSpace`), is `want`?
fn trimmed_is(body: &[u8], span: Option<Span>, want: &str, arena: &Bump) -> bool {
    let Some(s) = span.filter(|s| s.first(body) == b'"') else {
        return false;
    };
    let inner = &body[s.start + 1..s.end - 1];
    if inner.len() < want.len() {
        return false;
    }
    if inner.contains(&b'\\') {
        let mut d = bumpalo::collections::String::new_in(arena);
        text::unescape_bump(inner, &mut d);
        go_trim_space(d.as_bytes()) == want.as_bytes()
    } else {
        go_trim_space(inner) == want.as_bytes()
    }
}

/// A meaningful value (SPEC §3.6): present, not `null`, not a string that is blank under Go's
/// `strings.TrimSpace`, not an empty array or object. `span` is validated.
fn meaningful(body: &[u8], span: Option<Span>, arena: &Bump) -> bool {
    let Some(s) = span else { return false };
    match s.first(body) {
        b'n' => false,
        b'"' => {
            let inner = &body[s.start + 1..s.end - 1];
            if inner.contains(&b'\\') {
                let mut d = bumpalo::collections::String::new_in(arena);
                text::unescape_bump(inner, &mut d);
                !go_trim_space(d.as_bytes()).is_empty()
            } else {
                !go_trim_space(inner).is_empty()
            }
        }
        b'[' | b'{' => !matches!(body[scan::skip_ws(body, s.start + 1)], b']' | b'}'),
        _ => true,
    }
}

/// `normalizeCompatSeedJSON(raw)` appended to `out`, through the fragment cache.
pub(crate) fn normalize(cx: &mut Ctx<'_>, span: Span, depth: usize, out: &mut String) {
    let body = cx.body;
    let raw = span.of(body);
    if let Some(hit) = cx.cache.get(Kind::GoText, depth, raw) {
        out.push_str(hit.text);
        return;
    }
    let start = out.len();
    let (val, nesting) = tree::build(body, span.start, cx.arena, cx.rules.kernels);
    if nesting > GO_MAX_DEPTH || go::write_tree(val, cx.arena, out).is_err() {
        out.truncate(start);
        out.push_str(std::str::from_utf8(raw).unwrap_or_default());
    }
    cx.cache
        .put(Kind::GoText, depth, raw, &out[start..], [0; 32]);
}

/// sub2api `normalizeCompatToolSeedJSON(raw)` (tools as a set) appended to `out`: every
/// element normalized, the texts sorted bytewise, joined with `,` in brackets. Through the
/// fragment cache, whole and element by element.
fn tool_set(cx: &mut Ctx<'_>, span: Span, out: &mut String) {
    let body = cx.body;
    let raw = span.of(body);
    if let Some(hit) = cx.cache.get(Kind::GoText, SET_DEPTH, raw) {
        out.push_str(hit.text);
        return;
    }
    let start = out.len();
    let mut ranges = BVec::new_in(cx.arena);
    let mut i = scan::skip_ws(body, span.start + 1);
    if body[i] != b']' {
        loop {
            let Ok(end) = scan::skip_value(body, i, cx.rules) else {
                // Not reached: the array was validated when it was taken.
                out.truncate(start);
                normalize(cx, span, 1, out);
                return;
            };
            let from = out.len();
            normalize(cx, Span { start: i, end }, 2, out);
            ranges.push((from, out.len()));
            i = scan::skip_ws(body, end);
            if body[i] != b',' {
                break;
            }
            i = scan::skip_ws(body, i + 1);
        }
    }
    let texts: &str = cx.arena.alloc_str(&out[start..]);
    out.truncate(start);
    ranges.sort_unstable_by(|a, b| {
        texts[a.0 - start..a.1 - start].cmp(&texts[b.0 - start..b.1 - start])
    });
    out.push('[');
    for (n, &(a, b)) in ranges.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        out.push_str(&texts[a - start..b - start]);
    }
    out.push(']');
    cx.cache
        .put(Kind::GoText, SET_DEPTH, raw, &out[start..], [0; 32]);
}

/// Where the seed's message part comes from.
enum Source {
    List(List),
    /// Responses `input` as a string.
    Text(Span),
    Nothing,
}

/// Walks the body, writes the seed (the variant the config's policies choose, SPEC §3.6)
/// into `seed`, and puts the body tier's gjson string (`prompt_cache_key`) into `cx.buf2`.
/// `Ok(false)` when the root is not an object.
pub(crate) fn run(
    cx: &mut Ctx<'_>,
    stack: &mut BitStack,
    seed: &mut dyn SeedOut,
) -> Result<bool, Error> {
    let arena = cx.arena;
    let policy = cx.config.policy;
    let as_set = cx.config.tools_as_set;
    let stable = policy.stable_prefix;
    let prefix = if stable { STABLE_PREFIX } else { SEED_PREFIX };
    let mut pieces = Pieces {
        lists: [BVec::new_in(arena), BVec::new_in(arena)],
        captured: [false; 2],
        leading: [true; 2],
        anchor: [None; 2],
        leading_only: policy.leading_system_only,
    };
    let root: Root = {
        let mut w = cx.walker(stack, false);
        match w.root(&mut pieces)? {
            Some(r) => r,
            None => return Ok(false),
        }
    };
    let body = cx.body;
    let rules = cx.rules;
    let mut buf2 = std::mem::take(cx.buf2);
    let body_key = super::body_signal_key(cx.config, &mut buf2, |signal, out| {
        let span = match signal {
            BodySignal::PromptCacheKey => root.prompt_cache_key,
            BodySignal::PreviousResponseId => root.previous_response_id,
            BodySignal::ClaudeCodeUserId => root
                .metadata
                .and_then(|m| super::engine::member(body, m, "user_id", rules)),
        };
        gjson_string(body, span, out);
        Ok(span.is_some())
    });
    *cx.buf2 = buf2;
    cx.body_key = body_key?;

    let source = match (root.messages, root.input) {
        (Some(m), _) if m.first(body) == b'[' => Source::List(List::Messages),
        (_, Some(i)) if i.first(body) == b'"' => Source::Text(i),
        (_, Some(i)) if i.first(body) == b'[' => Source::List(List::Input),
        _ => Source::Nothing,
    };
    if policy.require_user_anchor {
        let anchored = match source {
            Source::List(l) => pieces.anchor[l as usize] == Some(true),
            Source::Text(i) => meaningful(body, Some(i), arena),
            Source::Nothing => false,
        };
        if !anchored {
            return Ok(true);
        }
    }

    let mut buf = std::mem::take(cx.buf);
    let mut put = |piece: &str| seed.put(prefix, piece);

    if !stable {
        buf.clear();
        gjson_string(body, root.model, &mut buf);
        if !buf.is_empty() {
            put("model=");
            put(&buf);
        }
    }
    for (name, span) in [("|tools=", root.tools), ("|functions=", root.functions)] {
        if let Some(s) = span {
            let wanted = if stable {
                s.first(body) == b'[' && meaningful(body, Some(s), arena)
            } else {
                s.first(body) == b'[' && s.of(body) != b"[]"
            };
            if wanted {
                buf.clear();
                if as_set {
                    tool_set(cx, s, &mut buf);
                } else {
                    normalize(cx, s, 1, &mut buf);
                }
                put(name);
                put(&buf);
            }
        }
    }
    buf.clear();
    if stable {
        if meaningful(body, root.instructions, arena) {
            if let Some(s) = root.instructions {
                normalize(cx, s, 1, &mut buf);
            }
            put("|instructions=");
            put(&buf);
        }
    } else {
        gjson_string(body, root.instructions, &mut buf);
        if !buf.is_empty() {
            put("|instructions=");
            put(&buf);
        }
    }
    let list = match source {
        Source::List(l) => Some(&pieces.lists[l as usize]),
        Source::Text(i) => {
            if !stable {
                buf.clear();
                gjson_string(body, Some(i), &mut buf);
                put("|input=");
                put(&buf);
            }
            None
        }
        Source::Nothing => None,
    };
    for p in list.map(|l| l.as_slice()).unwrap_or_default() {
        buf.clear();
        match *p {
            Piece::System { content, developer } => {
                if stable {
                    if !meaningful(body, content, arena) {
                        continue;
                    }
                    put(if developer { "|developer=" } else { "|system=" });
                } else {
                    put("|system=");
                }
                if let Some(c) = content {
                    normalize(cx, c, 3, &mut buf);
                }
            }
            Piece::FirstUser(_) | Piece::FirstUserText(_) if stable => continue,
            Piece::FirstUser(c) => {
                put("|first_user=");
                if let Some(c) = c {
                    normalize(cx, c, 3, &mut buf);
                }
            }
            Piece::FirstUserText(t) => {
                put("|first_user=");
                gjson_string(body, t, &mut buf);
            }
        }
        put(&buf);
    }
    *cx.buf = buf;
    Ok(true)
}
