//! The native-v1 profile on the fast engine (SPEC §4): components canonicalized in the arena
//! and hashed with blake3, each framed as tag + digest.

use super::engine::{string_is, Ctx};
use crate::canonicalize::cache::Kind;
use crate::canonicalize::jcs::{self, Duplicate};
use crate::canonicalize::tree::{self, Val};
use crate::error::{Error, ErrorKind};
use crate::extract::{Flow, Item, ItemVisitor, List, Root, Span, Walker};
use crate::hash::{self, Tag};
use crate::key::{Key, Source};
use crate::scan::BitStack;
use bumpalo::collections::Vec as BVec;

#[derive(Clone, Copy)]
enum FirstUser {
    /// A user message's content (absent counts as `null`).
    Content(Option<Span>),
    /// An `input_text` item's `text`.
    Text(Option<Span>),
}

struct ListState<'a> {
    /// Leading system/developer messages: role is `developer` (else `system`), content.
    system: BVec<'a, (bool, Option<Span>)>,
    leading: bool,
    first_user: Option<FirstUser>,
}

struct Lists<'a> {
    lists: [ListState<'a>; 2],
}

impl ItemVisitor for Lists<'_> {
    fn begin(&mut self, list: List) {
        let s = &mut self.lists[list as usize];
        s.system.clear();
        s.leading = true;
        s.first_user = None;
    }

    fn item(&mut self, w: &mut Walker<'_>, list: List, item: &Item) -> Result<Flow, Error> {
        let body = w.body;
        let s = &mut self.lists[list as usize];
        let developer = string_is(body, item.role, "developer");
        if s.leading && (developer || string_is(body, item.role, "system")) {
            validate(w, item.content)?;
            s.system.push((developer, item.content));
        } else {
            s.leading = false;
        }
        if s.first_user.is_none() && string_is(body, item.role, "user") {
            validate(w, item.content)?;
            s.first_user = Some(FirstUser::Content(item.content));
        }
        if list == List::Input && s.first_user.is_none() && string_is(body, item.kind, "input_text")
        {
            validate(w, item.text)?;
            s.first_user = Some(FirstUser::Text(item.text));
        }
        Ok(if !s.leading && s.first_user.is_some() {
            Flow::Done
        } else {
            Flow::Continue
        })
    }
}

fn validate(w: &mut Walker<'_>, span: Option<Span>) -> Result<(), Error> {
    match span {
        Some(s) => w.validate(s, 3),
        None => Ok(()),
    }
}

fn dup(body: &[u8], d: Duplicate) -> Error {
    Error::new(
        ErrorKind::DuplicateKey,
        (d.at as usize).saturating_sub(body.as_ptr() as usize),
    )
}

/// Canonical text of a whole fragment, appended to `out`.
pub(crate) fn canonical(cx: &Ctx<'_>, span: Span, out: &mut String) -> Result<(), Error> {
    let (val, _) = tree::build(cx.body, span.start, cx.arena, cx.rules.kernels);
    jcs::write_tree(val, cx.arena, out).map_err(|d| dup(cx.body, d))
}

/// A content's canonical text, a single text part collapsed to its string (SPEC §4.1).
fn content_into(cx: &mut Ctx<'_>, span: Option<Span>, out: &mut String) -> Result<(), Error> {
    let Some(span) = span else {
        out.push_str("null");
        return Ok(());
    };
    let raw = span.of(cx.body);
    if let Some(hit) = cx.cache.get(Kind::NativeContent, 3, raw) {
        out.push_str(hit.text);
        return Ok(());
    }
    let start = out.len();
    let arena = cx.arena;
    let (val, _) = tree::build(cx.body, span.start, arena, cx.rules.kernels);
    if let Some(text) = single_text(val, arena).map_err(|d| dup(cx.body, d))? {
        jcs::quote_into(text, out);
    } else {
        jcs::write_tree(val, arena, out).map_err(|d| dup(cx.body, d))?;
    }
    cx.cache
        .put(Kind::NativeContent, 3, raw, &out[start..], [0; 32]);
    Ok(())
}

/// `[{"type":"text"|"input_text","text":"..."}]` (cache_control aside) → the text.
fn single_text<'a>(v: Val<'a>, arena: &'a bumpalo::Bump) -> Result<Option<&'a str>, Duplicate> {
    let Val::Arr([Val::Obj(members)]) = v else {
        return Ok(None);
    };
    let (mut kind, mut text, mut others) = (None, None, 0);
    for m in members.iter() {
        match m.name.decoded(arena) {
            "cache_control" => {}
            "type" => kind = Some(m.val),
            "text" => text = Some(m.val),
            _ => others += 1,
        }
    }
    let (Some(Val::Str(k)), Some(Val::Str(t)), 0) = (kind, text, others) else {
        return Ok(None);
    };
    if !matches!(k.decoded(arena), "text" | "input_text") {
        return Ok(None);
    }
    // Not written as an object, but still checked like one.
    jcs::check_unique(v, arena)?;
    Ok(Some(t.decoded(arena)))
}

fn is_null(body: &[u8], s: Option<Span>) -> Option<Span> {
    s.filter(|s| s.first(body) != b'n')
}

/// A tools/functions array: set (sorted element digests) or list (digest of its text).
fn tools_digest(cx: &mut Ctx<'_>, span: Span) -> Result<Option<[u8; 32]>, Error> {
    let body = cx.body;
    let raw = span.of(body);
    let kind = if cx.config.tools_as_set {
        Kind::NativeSet
    } else {
        Kind::NativeList
    };
    if let Some(hit) = cx.cache.get(kind, 1, raw) {
        return Ok(Some(hit.digest));
    }
    let arena = cx.arena;
    let (val, _) = tree::build(body, span.start, arena, cx.rules.kernels);
    let Val::Arr(items) = val else {
        return Ok(None);
    };
    if items.is_empty() {
        return Ok(None);
    }
    let buf = &mut *cx.buf2;
    let digest = if cx.config.tools_as_set {
        let mut digests = BVec::with_capacity_in(items.len(), arena);
        for &item in items {
            buf.clear();
            jcs::write_tree(item, arena, buf).map_err(|d| dup(body, d))?;
            digests.push(hash::digest(buf.as_bytes()));
        }
        hash::set_digest(&mut digests)
    } else {
        buf.clear();
        jcs::write_tree(val, arena, buf).map_err(|d| dup(body, d))?;
        hash::digest(buf.as_bytes())
    };
    cx.cache.put(kind, 1, raw, "", digest);
    Ok(Some(digest))
}

/// The body tier's key and the content key.
pub(crate) type Keys = (Option<Key>, Option<Key>);

/// Walks the body. Returns the body tier's key and the content key; `None` when the root is
/// not an object.
pub(crate) fn run(cx: &mut Ctx<'_>, stack: &mut BitStack) -> Result<Option<Keys>, Error> {
    let arena = cx.arena;
    let new_list = || ListState {
        system: BVec::new_in(arena),
        leading: true,
        first_user: None,
    };
    let mut lists = Lists {
        lists: [new_list(), new_list()],
    };
    let root: Root = {
        let mut w = cx.walker(stack, true);
        match w.root(&mut lists)? {
            Some(r) => r,
            None => return Ok(None),
        }
    };
    // The scratch buffer is lent out and must come back on every path, errors included,
    // or the next request would allocate a new one.
    let mut buf = std::mem::take(cx.buf);
    let r = assemble(cx, &root, &lists, &mut buf);
    *cx.buf = buf;
    r.map(Some)
}

fn assemble(
    cx: &mut Ctx<'_>,
    root: &Root,
    lists: &Lists<'_>,
    buf: &mut String,
) -> Result<Keys, Error> {
    let arena = cx.arena;
    let body = cx.body;

    // Body tier.
    let body_key = match is_null(body, root.prompt_cache_key) {
        None => None,
        Some(s) => {
            buf.clear();
            if s.first(body) == b'"' {
                super::engine::gjson_string(body, Some(s), buf);
            } else {
                canonical(cx, s, buf)?;
            }
            super::explicit_key(cx.config, Source::Body(super::BODY_TIER), buf.as_bytes())
        }
    };

    let mut parts: BVec<(Tag, [u8; 32])> = BVec::new_in(arena);
    if let Some(s) = is_null(body, root.model) {
        buf.clear();
        canonical(cx, s, buf)?;
        parts.push((Tag::Model, hash::digest(buf.as_bytes())));
    }
    let set = cx.config.tools_as_set;
    for (span, set_tag, list_tag) in [
        (root.tools, Tag::ToolsSet, Tag::ToolsList),
        (root.functions, Tag::FunctionsSet, Tag::FunctionsList),
    ] {
        match span {
            Some(s) if s.first(body) == b'[' => {
                if let Some(d) = tools_digest(cx, s)? {
                    parts.push((if set { set_tag } else { list_tag }, d));
                }
            }
            // Not a component, but still a member the profile reads: names must be unique.
            Some(s) => {
                let (val, _) = tree::build(body, s.start, arena, cx.rules.kernels);
                jcs::check_unique(val, arena).map_err(|d| dup(body, d))?;
            }
            None => {}
        }
    }
    if let Some(s) = is_null(body, root.instructions) {
        buf.clear();
        canonical(cx, s, buf)?;
        parts.push((Tag::Instructions, hash::digest(buf.as_bytes())));
    }
    let list = match (root.messages, root.input) {
        (Some(m), _) if m.first(body) == b'[' => Some(&lists.lists[List::Messages as usize]),
        (_, Some(i)) if i.first(body) == b'"' => {
            buf.clear();
            canonical(cx, i, buf)?;
            parts.push((Tag::Input, hash::digest(buf.as_bytes())));
            None
        }
        (_, Some(i)) if i.first(body) == b'[' => Some(&lists.lists[List::Input as usize]),
        _ => None,
    };
    if let Some(l) = list {
        if !l.system.is_empty() {
            buf.clear();
            buf.push('[');
            for (i, &(developer, content)) in l.system.iter().enumerate() {
                if i > 0 {
                    buf.push(',');
                }
                buf.push_str(if developer {
                    "[\"developer\","
                } else {
                    "[\"system\","
                });
                content_into(cx, content, buf)?;
                buf.push(']');
            }
            buf.push(']');
            parts.push((Tag::System, hash::digest(buf.as_bytes())));
        }
        if let Some(u) = l.first_user {
            buf.clear();
            match u {
                FirstUser::Content(c) => content_into(cx, c, buf)?,
                FirstUser::Text(None) => buf.push_str("null"),
                FirstUser::Text(Some(t)) => canonical(cx, t, buf)?,
            }
            parts.push((Tag::FirstUser, hash::digest(buf.as_bytes())));
        }
    }
    parts.sort_unstable_by_key(|p| p.0);
    let content =
        (!parts.is_empty()).then(|| hash::native_content_key(&parts, cx.config.key_length));
    Ok((body_key, content))
}
