//! The native-v1 profile on the fast engine (SPEC §4, and §5 for the Anthropic and Gemini
//! formats): components canonicalized in the arena and hashed with blake3, each framed as
//! tag + digest.

use super::engine::{string_is, Ctx};
use crate::canonicalize::cache::Kind;
use crate::canonicalize::jcs::{self, Duplicate};
use crate::canonicalize::tree::{self, Val};
use crate::config::BodySignal;
use crate::config::Format;
use crate::error::{Error, ErrorKind};
use crate::extract::{Flow, Item, ItemVisitor, List, Root, Span, Walker};
use crate::hash::{self, Tag};
use crate::key::Key;
use crate::scan::BitStack;
use bumpalo::collections::Vec as BVec;

#[derive(Clone, Copy)]
enum FirstUser {
    /// A user message's content (absent counts as `null`).
    Content(Option<Span>),
    /// An `input_text` item's `text`.
    Text(Option<Span>),
    /// A Gemini `contents` entry's `parts`.
    Parts(Option<Span>),
}

struct ListState<'a> {
    /// Leading system/developer messages: role is `developer` (else `system`), content.
    system: BVec<'a, (bool, Option<Span>)>,
    leading: bool,
    first_user: Option<FirstUser>,
}

struct Lists<'a> {
    lists: [ListState<'a>; 3],
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
        if list == List::Contents {
            // Gemini (SPEC §5.3): the first entry that is an object whose `role` is absent or
            // "user"; nothing else in `contents` counts.
            if item.is_object && (item.role.is_none() || string_is(body, item.role, "user")) {
                validate(w, item.parts)?;
                s.first_user = Some(FirstUser::Parts(item.parts));
                return Ok(Flow::Done);
            }
            return Ok(Flow::Continue);
        }
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

/// Which single-part shape collapses to its text.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Collapse {
    /// OpenAI and Anthropic: `[{"type":"text"|"input_text","text":"..."}]` (SPEC §4.1).
    Typed,
    /// Gemini: `[{"text":"..."}]` (SPEC §5.3).
    Gemini,
}

/// Cache slots of collapsed texts: the kind is `NativeContent` and the depth byte tells the
/// places apart (Gemini's collapse rule differs, so its texts get slots of their own).
const CACHE_CONTENT: usize = 3;
const CACHE_ANTHROPIC_SYSTEM: usize = 1;
const CACHE_GEMINI_PARTS: usize = 0x80 | 3;
const CACHE_GEMINI_SYSTEM: usize = 0x80 | 1;

/// A content's canonical text, a single text part collapsed to its string (SPEC §4.1).
fn content_into(
    cx: &mut Ctx<'_>,
    span: Option<Span>,
    slot: usize,
    collapse: Collapse,
    out: &mut String,
) -> Result<(), Error> {
    let Some(span) = span else {
        out.push_str("null");
        return Ok(());
    };
    let raw = span.of(cx.body);
    if let Some(hit) = cx.cache.get(Kind::NativeContent, slot, raw) {
        out.push_str(hit.text);
        return Ok(());
    }
    let start = out.len();
    let arena = cx.arena;
    let (val, _) = tree::build(cx.body, span.start, arena, cx.rules.kernels);
    collapsed_into(val, arena, collapse, out).map_err(|d| dup(cx.body, d))?;
    cx.cache
        .put(Kind::NativeContent, slot, raw, &out[start..], [0; 32]);
    Ok(())
}

/// The canonical text of `v`, a single text part written as its string.
fn collapsed_into<'a>(
    v: Val<'a>,
    arena: &'a bumpalo::Bump,
    collapse: Collapse,
    out: &mut String,
) -> Result<(), Duplicate> {
    match single_text(v, arena, collapse)? {
        Some(text) => jcs::quote_into(text, out),
        None => jcs::write_tree(v, arena, out)?,
    }
    Ok(())
}

/// `[{"type":"text"|"input_text","text":"..."}]` (Typed) or `[{"text":"..."}]` (Gemini),
/// cache_control aside → the text.
fn single_text<'a>(
    v: Val<'a>,
    arena: &'a bumpalo::Bump,
    collapse: Collapse,
) -> Result<Option<&'a str>, Duplicate> {
    let Val::Arr([Val::Obj(members)]) = v else {
        return Ok(None);
    };
    let (mut kind, mut text, mut others) = (None, None, 0);
    for m in members.iter() {
        match m.name.decoded(arena) {
            "cache_control" => {}
            "type" if collapse == Collapse::Typed => kind = Some(m.val),
            "text" => text = Some(m.val),
            _ => others += 1,
        }
    }
    let (Some(Val::Str(t)), 0) = (text, others) else {
        return Ok(None);
    };
    if collapse == Collapse::Typed {
        let Some(Val::Str(k)) = kind else {
            return Ok(None);
        };
        if !matches!(k.decoded(arena), "text" | "input_text") {
            return Ok(None);
        }
    }
    // Not written as an object, but still checked like one.
    jcs::check_unique(v, arena)?;
    Ok(Some(t.decoded(arena)))
}

/// Gemini `systemInstruction` (SPEC §5.3): an object's `parts` member, collapsed like a
/// contents entry's parts; any other value (an object without `parts` included) as it is.
/// The whole value is checked for repeated names.
fn system_instruction_into(cx: &mut Ctx<'_>, span: Span, out: &mut String) -> Result<(), Error> {
    let raw = span.of(cx.body);
    if let Some(hit) = cx.cache.get(Kind::NativeContent, CACHE_GEMINI_SYSTEM, raw) {
        out.push_str(hit.text);
        return Ok(());
    }
    let start = out.len();
    let arena = cx.arena;
    let (val, _) = tree::build(cx.body, span.start, arena, cx.rules.kernels);
    jcs::check_unique(val, arena).map_err(|d| dup(cx.body, d))?;
    let parts = match val {
        Val::Obj(members) => members
            .iter()
            .find(|m| m.name.decoded(arena) == "parts")
            .map(|m| m.val),
        _ => None,
    };
    match parts {
        Some(p) => collapsed_into(p, arena, Collapse::Gemini, out),
        None => jcs::write_tree(val, arena, out),
    }
    .map_err(|d| dup(cx.body, d))?;
    cx.cache.put(
        Kind::NativeContent,
        CACHE_GEMINI_SYSTEM,
        raw,
        &out[start..],
        [0; 32],
    );
    Ok(())
}

/// The format whose rules apply to this body (SPEC §5.1).
fn resolve(format: Format, root: &Root, body: &[u8]) -> Format {
    let array = |s: Option<Span>| s.is_some_and(|s| s.first(body) == b'[');
    match format {
        Format::Auto if array(root.contents) && !array(root.messages) => Format::Gemini,
        Format::Auto if root.system.is_some() => Format::Anthropic,
        Format::Auto if !array(root.messages) && root.input.is_some() => Format::Responses,
        Format::Auto => Format::Chat,
        f => f,
    }
}

/// The model component's canonical text: the body's `model` unless absent or `null`, else
/// the configured hint (SPEC §5.4). Gemini drops a leading `models/` of a string. `false`
/// when there is neither.
fn model_into(cx: &Ctx<'_>, root: &Root, gemini: bool, out: &mut String) -> Result<bool, Error> {
    out.clear();
    match (
        is_null(cx.body, root.model),
        cx.config.model_hint.as_deref(),
    ) {
        (Some(s), _) => canonical(cx, s, out)?,
        (None, Some(hint)) => jcs::quote_into(hint, out),
        (None, None) => return Ok(false),
    }
    // A canonical string is `"` + its text with only `"`, `\` and controls escaped.
    if gemini && out.starts_with("\"models/") {
        out.replace_range(1..8, "");
    }
    Ok(true)
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
pub(crate) type Keys = (Option<crate::SessionKey>, Option<Key>);

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
        lists: [new_list(), new_list(), new_list()],
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

    // Body tier: the config's body signals in order.
    let rules = cx.rules;
    let config = cx.config;
    let body_key = super::body_signal_key(config, buf, |signal, out| {
        let span = match signal {
            BodySignal::PromptCacheKey => root.prompt_cache_key,
            BodySignal::PreviousResponseId => root.previous_response_id,
            BodySignal::ClaudeCodeUserId => {
                let Some(meta) = root.metadata.filter(|m| m.first(body) == b'{') else {
                    return Ok(false);
                };
                // A read object: its names must be unique.
                let (val, _) = tree::build(body, meta.start, arena, rules.kernels);
                jcs::check_unique(val, arena).map_err(|d| dup(body, d))?;
                return Ok(match super::engine::member(body, meta, "user_id", rules) {
                    Some(s) if s.first(body) == b'"' => {
                        super::engine::gjson_string(body, Some(s), out);
                        true
                    }
                    _ => false,
                });
            }
        };
        match is_null(body, span) {
            None => Ok(false),
            Some(s) => {
                if s.first(body) == b'"' {
                    super::engine::gjson_string(body, Some(s), out);
                } else {
                    canonical(cx, s, out)?;
                }
                Ok(true)
            }
        }
    })?;

    let mut parts: BVec<(Tag, [u8; 32])> = BVec::new_in(arena);
    match resolve(cx.config.format, root, body) {
        Format::Gemini => gemini(cx, root, lists, buf, &mut parts)?,
        format => {
            openai(cx, root, lists, buf, &mut parts)?;
            if format == Format::Anthropic {
                if let Some(s) = is_null(body, root.system) {
                    buf.clear();
                    content_into(cx, Some(s), CACHE_ANTHROPIC_SYSTEM, Collapse::Typed, buf)?;
                    parts.push((Tag::AnthropicSystem, hash::digest(buf.as_bytes())));
                }
            }
        }
    }
    parts.sort_unstable_by_key(|p| p.0);
    let content =
        (!parts.is_empty()).then(|| hash::native_content_key(&parts, cx.config.key_length));
    Ok((body_key, content))
}

/// The native-v1 components (SPEC §4.1): Chat, Responses, and Anthropic's shared part.
fn openai(
    cx: &mut Ctx<'_>,
    root: &Root,
    lists: &Lists<'_>,
    buf: &mut String,
    parts: &mut BVec<(Tag, [u8; 32])>,
) -> Result<(), Error> {
    let body = cx.body;
    if model_into(cx, root, false, buf)? {
        parts.push((Tag::Model, hash::digest(buf.as_bytes())));
    }
    tools_component(cx, root.tools, (Tag::ToolsSet, Tag::ToolsList), parts)?;
    tools_component(
        cx,
        root.functions,
        (Tag::FunctionsSet, Tag::FunctionsList),
        parts,
    )?;
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
                content_into(cx, content, CACHE_CONTENT, Collapse::Typed, buf)?;
                buf.push(']');
            }
            buf.push(']');
            parts.push((Tag::System, hash::digest(buf.as_bytes())));
        }
        if let Some(u) = l.first_user {
            buf.clear();
            match u {
                FirstUser::Content(c) => content_into(cx, c, CACHE_CONTENT, Collapse::Typed, buf)?,
                FirstUser::Text(None) => buf.push_str("null"),
                FirstUser::Text(Some(t)) => canonical(cx, t, buf)?,
                // Not met here (only `contents` records parts).
                FirstUser::Parts(p) => {
                    content_into(cx, p, CACHE_GEMINI_PARTS, Collapse::Gemini, buf)?
                }
            }
            parts.push((Tag::FirstUser, hash::digest(buf.as_bytes())));
        }
    }
    Ok(())
}

/// A tools array (a set or a list) under `tags`; a value that is not an array is no
/// component but still checked for repeated names (the profile reads it).
fn tools_component(
    cx: &mut Ctx<'_>,
    span: Option<Span>,
    (set_tag, list_tag): (Tag, Tag),
    parts: &mut BVec<(Tag, [u8; 32])>,
) -> Result<(), Error> {
    let body = cx.body;
    match span {
        Some(s) if s.first(body) == b'[' => {
            if let Some(d) = tools_digest(cx, s)? {
                let set = cx.config.tools_as_set;
                parts.push((if set { set_tag } else { list_tag }, d));
            }
        }
        Some(s) => {
            let (val, _) = tree::build(body, s.start, cx.arena, cx.rules.kernels);
            jcs::check_unique(val, cx.arena).map_err(|d| dup(body, d))?;
        }
        None => {}
    }
    Ok(())
}

/// The Gemini components (SPEC §5.3).
fn gemini(
    cx: &mut Ctx<'_>,
    root: &Root,
    lists: &Lists<'_>,
    buf: &mut String,
    parts: &mut BVec<(Tag, [u8; 32])>,
) -> Result<(), Error> {
    let body = cx.body;
    if model_into(cx, root, true, buf)? {
        parts.push((Tag::GeminiModel, hash::digest(buf.as_bytes())));
    }
    tools_component(
        cx,
        root.tools,
        (Tag::GeminiToolsSet, Tag::GeminiToolsList),
        parts,
    )?;
    let instruction = is_null(body, root.system_instruction)
        .or_else(|| is_null(body, root.system_instruction_snake));
    if let Some(s) = instruction {
        buf.clear();
        system_instruction_into(cx, s, buf)?;
        parts.push((Tag::GeminiSystemInstruction, hash::digest(buf.as_bytes())));
    }
    // `contents` entries count only when no `messages` array is there (the walk reads them
    // only then, whatever the member order).
    let messages_array = root.messages.is_some_and(|m| m.first(body) == b'[');
    let contents_array = root.contents.is_some_and(|c| c.first(body) == b'[');
    if contents_array && !messages_array {
        if let Some(FirstUser::Parts(p)) = lists.lists[List::Contents as usize].first_user {
            buf.clear();
            content_into(cx, p, CACHE_GEMINI_PARTS, Collapse::Gemini, buf)?;
            parts.push((Tag::GeminiFirstUser, hash::digest(buf.as_bytes())));
        }
    }
    Ok(())
}
