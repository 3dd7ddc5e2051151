//! The sub2api profile on the fast engine: the seed of SPEC §3, streamed into xxh64 and
//! SHA-256 piece by piece (never assembled in one buffer unless the caller asks for it).

use super::engine::{gjson_string, string_is, Ctx};
use crate::canonicalize::cache::Kind;
use crate::canonicalize::{go, tree};
use crate::error::Error;
use crate::extract::{Flow, Item, ItemVisitor, List, Root, Span, Walker};
use crate::hash::SeedOut;
use crate::scan::BitStack;
use bumpalo::collections::Vec as BVec;

/// Go's `encoding/json` refuses deeper nesting; sub2api then keeps the raw text.
const GO_MAX_DEPTH: usize = 10_000;

#[derive(Clone, Copy)]
enum Piece {
    /// `|system=` + N(content), or nothing after `=` when content is absent.
    System(Option<Span>),
    /// `|first_user=` + N(content).
    FirstUser(Option<Span>),
    /// `|first_user=` + S(text) (Responses `input_text` item).
    FirstUserText(Option<Span>),
}

/// Records, for `messages` and for `input`, the pieces in order.
struct Pieces<'a> {
    lists: [BVec<'a, Piece>; 2],
    captured: [bool; 2],
}

impl ItemVisitor for Pieces<'_> {
    fn begin(&mut self, list: List) {
        self.lists[list as usize].clear();
        self.captured[list as usize] = false;
    }

    fn item(&mut self, w: &mut Walker<'_>, list: List, item: &Item) -> Result<Flow, Error> {
        let body = w.body;
        let l = list as usize;
        if string_is(body, item.role, "system") || string_is(body, item.role, "developer") {
            validate(w, item.content)?;
            self.lists[l].push(Piece::System(item.content));
        } else if !self.captured[l] && string_is(body, item.role, "user") {
            validate(w, item.content)?;
            self.lists[l].push(Piece::FirstUser(item.content));
            self.captured[l] = true;
        }
        if list == List::Input && !self.captured[l] && string_is(body, item.kind, "input_text") {
            validate(w, item.text)?;
            self.lists[l].push(Piece::FirstUserText(item.text));
            self.captured[l] = true;
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

/// Walks the body, writes the seed into `seed`, and puts the body tier's gjson string
/// (`prompt_cache_key`) into `cx.buf2`. `Ok(false)` when the root is not an object.
pub(crate) fn run(
    cx: &mut Ctx<'_>,
    stack: &mut BitStack,
    seed: &mut dyn SeedOut,
) -> Result<bool, Error> {
    let arena = cx.arena;
    let mut pieces = Pieces {
        lists: [BVec::new_in(arena), BVec::new_in(arena)],
        captured: [false; 2],
    };
    let root: Root = {
        let mut w = cx.walker(stack, false);
        match w.root(&mut pieces)? {
            Some(r) => r,
            None => return Ok(false),
        }
    };
    let body = cx.body;
    cx.buf2.clear();
    gjson_string(body, root.prompt_cache_key, cx.buf2);

    let mut buf = std::mem::take(cx.buf);

    buf.clear();
    gjson_string(body, root.model, &mut buf);
    if !buf.is_empty() {
        seed.put("model=");
        seed.put(&buf);
    }
    for (name, span) in [("|tools=", root.tools), ("|functions=", root.functions)] {
        if let Some(s) = span {
            if s.first(body) == b'[' && s.of(body) != b"[]" {
                buf.clear();
                normalize(cx, s, 1, &mut buf);
                seed.put(name);
                seed.put(&buf);
            }
        }
    }
    buf.clear();
    gjson_string(body, root.instructions, &mut buf);
    if !buf.is_empty() {
        seed.put("|instructions=");
        seed.put(&buf);
    }
    let list = match (root.messages, root.input) {
        (Some(m), _) if m.first(body) == b'[' => Some(&pieces.lists[List::Messages as usize]),
        (_, Some(i)) if i.first(body) == b'"' => {
            buf.clear();
            gjson_string(body, Some(i), &mut buf);
            seed.put("|input=");
            seed.put(&buf);
            None
        }
        (_, Some(i)) if i.first(body) == b'[' => Some(&pieces.lists[List::Input as usize]),
        _ => None,
    };
    for p in list.map(|l| l.as_slice()).unwrap_or_default() {
        buf.clear();
        match *p {
            Piece::System(c) => {
                seed.put("|system=");
                if let Some(c) = c {
                    normalize(cx, c, 3, &mut buf);
                }
            }
            Piece::FirstUser(c) => {
                seed.put("|first_user=");
                if let Some(c) = c {
                    normalize(cx, c, 3, &mut buf);
                }
            }
            Piece::FirstUserText(t) => {
                seed.put("|first_user=");
                gjson_string(body, t, &mut buf);
            }
        }
        seed.put(&buf);
    }
    *cx.buf = buf;
    Ok(true)
}
