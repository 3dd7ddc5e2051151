//! The native-v1 profile, as the spec states it, on serde_json.

use super::tree::{self, Members, Node};
use super::Extracted;
use crate::canonicalize::{jcs, number};
use crate::config::BodySignal;
use crate::config::{Config, Format};
use crate::error::{Error, ErrorKind};
use crate::hash::{self, Tag};
use serde_json::value::RawValue;

fn dup_error(body: &str, raw: &RawValue) -> Error {
    Error::new(
        ErrorKind::DuplicateKey,
        raw.get().as_ptr() as usize - body.as_ptr() as usize,
    )
}

/// The members of an object the extractor reads; a repeated name is an error.
fn read_members<'a>(body: &str, raw: &'a RawValue) -> Result<Option<Members<'a>>, Error> {
    match tree::members(raw) {
        Some(m) if m.duplicate().is_some() => Err(dup_error(body, raw)),
        m => Ok(m),
    }
}

/// The tree of an extracted fragment: no duplicate names anywhere, `cache_control` dropped.
fn fragment(body: &str, raw: &RawValue) -> Result<Node, Error> {
    let n = tree::node(raw).map_err(|_| Error::new(ErrorKind::LoneSurrogate, 0))?;
    let dup = tree::any_object(&n, &mut |m| {
        let mut seen = std::collections::HashSet::new();
        m.iter().any(|(k, _)| !seen.insert(k.as_str()))
    });
    if dup {
        return Err(dup_error(body, raw));
    }
    Ok(drop_cache_control(n))
}

fn drop_cache_control(n: Node) -> Node {
    match n {
        Node::Array(v) => Node::Array(v.into_iter().map(drop_cache_control).collect()),
        Node::Object(m) => Node::Object(
            m.into_iter()
                .filter(|(k, _)| k != "cache_control")
                .map(|(k, v)| (k, drop_cache_control(v)))
                .collect(),
        ),
        x => x,
    }
}

/// A content of exactly one text part counts as that text (`[{"type":"text","text":"hi"}]`
/// and Responses `input_text` are "hi").
fn collapse_single_text(n: Node) -> Node {
    if let Node::Array(items) = &n {
        if let [Node::Object(m)] = items.as_slice() {
            let get = |k: &str| m.iter().find(|(n, _)| n == k).map(|(_, v)| v);
            let is_text_type =
                matches!(get("type"), Some(Node::String(t)) if t == "text" || t == "input_text");
            if m.len() == 2 && is_text_type {
                if let Some(Node::String(s)) = get("text") {
                    return Node::String(s.clone());
                }
            }
        }
    }
    n
}

/// Gemini parts (SPEC §5.3): exactly one part whose only member is a string `text` counts as
/// that text.
fn collapse_gemini(n: Node) -> Node {
    if let Node::Array(items) = &n {
        if let [Node::Object(m)] = items.as_slice() {
            if let [(k, Node::String(s))] = m.as_slice() {
                if k == "text" {
                    return Node::String(s.clone());
                }
            }
        }
    }
    n
}

/// RFC 8785 serialization with exact-decimal numbers.
fn jcs(n: &Node, out: &mut String) {
    match n {
        Node::Null => out.push_str("null"),
        Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Node::Number(lex) => number::exact_decimal_into(lex.as_bytes(), out),
        Node::String(s) => jcs::quote_into(s, out),
        Node::Array(items) => {
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                jcs(x, out);
            }
            out.push(']');
        }
        Node::Object(m) => {
            let mut sorted: Vec<&(String, Node)> = m.iter().collect();
            sorted.sort_by(|a, b| jcs::cmp_keys(&a.0, &b.0));
            out.push('{');
            for (i, (k, v)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                jcs::quote_into(k, out);
                out.push(':');
                jcs(v, out);
            }
            out.push('}');
        }
    }
}

fn canonical(n: &Node) -> String {
    let mut s = String::new();
    jcs(n, &mut s);
    s
}

/// One content component as the key frames it (§4.4), with the canonical text it was
/// digested from (for a set, its items as one JSON array in document order). The key uses
/// the tag and the digest; [`crate::explain`] shows the text too.
pub(crate) struct Component {
    pub tag: Tag,
    pub canonical: String,
    pub digest: [u8; 32],
}

impl Component {
    fn text(tag: Tag, canonical: String) -> Component {
        let digest = hash::digest(canonical.as_bytes());
        Component {
            tag,
            canonical,
            digest,
        }
    }

    /// A multiset: the digest of its items' digests, sorted.
    fn set(tag: Tag, items: &[Node]) -> Component {
        let texts: Vec<String> = items.iter().map(canonical).collect();
        let mut ds: Vec<[u8; 32]> = texts.iter().map(|t| hash::digest(t.as_bytes())).collect();
        Component {
            tag,
            canonical: format!("[{}]", texts.join(",")),
            digest: hash::set_digest(&mut ds),
        }
    }
}

/// Canonical text of a message content (absent counts as `null`).
fn content_text(body: &str, raw: Option<&RawValue>) -> Result<String, Error> {
    Ok(match raw {
        None => "null".into(),
        Some(r) => canonical(&collapse_single_text(fragment(body, r)?)),
    })
}

fn is_null(raw: &RawValue) -> bool {
    raw.get() == "null"
}

/// The string value of a member, when it is a string.
fn string_of(raw: Option<&RawValue>) -> Option<String> {
    let raw = raw?;
    raw.get()
        .starts_with('"')
        .then(|| tree::from_text(raw.get()).ok())?
}

pub(super) fn extract(config: &Config, body: &[u8]) -> Result<Extracted, Error> {
    let (body_key, parts) = extract_parts(config, body)?;
    let framed: Vec<(Tag, [u8; 32])> = parts.iter().map(|p| (p.tag, p.digest)).collect();
    let content =
        (!framed.is_empty()).then(|| hash::native_content_key(&framed, config.key_length));
    Ok(Extracted { body_key, content })
}

/// The body tier's key and the content components, in key order (ascending tags).
pub(super) fn extract_parts(
    config: &Config,
    body: &[u8],
) -> Result<(Option<crate::SessionKey>, Vec<Component>), Error> {
    let none = (None, Vec::new());
    let text = std::str::from_utf8(body)
        .map_err(|e| Error::new(ErrorKind::InvalidUtf8, e.valid_up_to()))?;
    let root_raw: &RawValue =
        tree::from_text(text).map_err(|_| Error::new(ErrorKind::UnexpectedByte, 0))?;
    let Some(root) = read_members(text, root_raw)? else {
        return Ok(none);
    };

    // Body tier: the config's body signals in order. A string is trimmed; any other non-null
    // value counts by its canonical text (Claude Code's `metadata.user_id`: strings only).
    let mut buf = String::new();
    let body_key = crate::profile::body_signal_key(config, &mut buf, |signal, out| {
        let raw = match signal {
            BodySignal::PromptCacheKey => root.first("prompt_cache_key"),
            BodySignal::PreviousResponseId => root.first("previous_response_id"),
            BodySignal::ClaudeCodeUserId => {
                let Some(meta) = root.first("metadata") else {
                    return Ok(false);
                };
                // A read object: its names must be unique.
                let Some(members) = read_members(text, meta)? else {
                    return Ok(false);
                };
                match string_of(members.first("user_id")) {
                    Some(s) => {
                        out.push_str(&s);
                        return Ok(true);
                    }
                    None => return Ok(false),
                }
            }
        };
        match raw {
            Some(r) if !is_null(r) => {
                match string_of(Some(r)) {
                    Some(s) => out.push_str(&s),
                    None => out.push_str(&canonical(&fragment(text, r)?)),
                }
                Ok(true)
            }
            _ => Ok(false),
        }
    })?;

    // The format (SPEC §5.1).
    let array = |name: &str| root.first(name).is_some_and(|r| r.get().starts_with('['));
    let format = match config.format {
        Format::Auto if array("contents") && !array("messages") => Format::Gemini,
        Format::Auto if root.first("system").is_some() => Format::Anthropic,
        Format::Auto if !array("messages") && root.first("input").is_some() => Format::Responses,
        Format::Auto => Format::Chat,
        f => f,
    };
    let gemini = format == Format::Gemini;

    let mut parts: Vec<Component> = Vec::new();
    // The model: the body's unless absent or null, else the hint (SPEC §5.4).
    let mut model = match root.first("model").filter(|r| !is_null(r)) {
        Some(r) => Some(fragment(text, r)?),
        None => config.model_hint.clone().map(Node::String),
    };
    if gemini {
        if let Some(Node::String(s)) = &mut model {
            if let Some(rest) = s.strip_prefix("models/") {
                *s = rest.to_owned();
            }
        }
    }
    if let Some(m) = model {
        let tag = if gemini { Tag::GeminiModel } else { Tag::Model };
        parts.push(Component::text(tag, canonical(&m)));
    }
    let tool_members: &[(&str, Tag, Tag)] = if gemini {
        &[("tools", Tag::GeminiToolsSet, Tag::GeminiToolsList)]
    } else {
        &[
            ("tools", Tag::ToolsSet, Tag::ToolsList),
            ("functions", Tag::FunctionsSet, Tag::FunctionsList),
        ]
    };
    for &(name, set_tag, list_tag) in tool_members {
        let Some(r) = root.first(name) else { continue };
        let Node::Array(items) = fragment(text, r)? else {
            continue;
        };
        if items.is_empty() {
            continue;
        }
        if config.tools_as_set {
            parts.push(Component::set(set_tag, &items));
        } else {
            parts.push(Component::text(list_tag, canonical(&Node::Array(items))));
        }
    }
    if !gemini {
        if let Some(r) = root.first("instructions").filter(|r| !is_null(r)) {
            parts.push(Component::text(
                Tag::Instructions,
                canonical(&fragment(text, r)?),
            ));
        }
    }
    if format == Format::Anthropic {
        if let Some(r) = root.first("system").filter(|r| !is_null(r)) {
            parts.push(Component::text(
                Tag::AnthropicSystem,
                content_text(text, Some(r))?,
            ));
        }
    }
    if gemini {
        let instruction = root
            .first("systemInstruction")
            .filter(|r| !is_null(r))
            .or_else(|| root.first("system_instruction").filter(|r| !is_null(r)));
        if let Some(r) = instruction {
            let n = fragment(text, r)?;
            let parts_member = match &n {
                Node::Object(m) => m.iter().find(|(k, _)| k == "parts").map(|(_, v)| v),
                _ => None,
            };
            let t = match parts_member {
                Some(p) => canonical(&collapse_gemini(p.clone())),
                None => canonical(&n),
            };
            parts.push(Component::text(Tag::GeminiSystemInstruction, t));
        }
    }

    // The OpenAI message list. Its items are read (and their names checked) whatever the
    // format; their contents only count for Chat, Responses and Anthropic.
    let messages = root.first("messages").and_then(tree::elements);
    let messages_array = messages.is_some();
    let (items, input_text) = match (messages, root.first("input")) {
        (Some(items), _) => (items, false),
        (None, Some(input)) if input.get().starts_with('"') => {
            if !gemini {
                let s = canonical(&fragment(text, input)?);
                parts.push(Component::text(Tag::Input, s));
            }
            (Vec::new(), false)
        }
        (None, Some(input)) => (tree::elements(input).unwrap_or_default(), true),
        (None, None) => (Vec::new(), false),
    };
    let content_of = |raw: Option<&RawValue>| -> Result<String, Error> {
        if gemini {
            Ok(String::new())
        } else {
            content_text(text, raw)
        }
    };

    // Leading system/developer messages, then the first user message.
    let mut system: Vec<String> = Vec::new();
    let mut leading = true;
    let mut first_user: Option<String> = None;
    for item in items {
        if !leading && first_user.is_some() {
            break;
        }
        let m = read_members(text, item)?;
        let get = |k: &str| m.as_ref().and_then(|m| m.first(k));
        let role = string_of(get("role"));
        match role.as_deref() {
            Some(r @ ("system" | "developer")) if leading => {
                let mut pair = String::from("[");
                jcs::quote_into(r, &mut pair);
                pair.push(',');
                pair.push_str(&content_of(get("content"))?);
                pair.push(']');
                system.push(pair);
            }
            _ => leading = false,
        }
        if role.as_deref() == Some("user") && first_user.is_none() {
            first_user = Some(content_of(get("content"))?);
        }
        if input_text
            && first_user.is_none()
            && string_of(get("type")).as_deref() == Some("input_text")
        {
            first_user = Some(match get("text") {
                Some(t) if !gemini => canonical(&fragment(text, t)?),
                _ => "null".into(),
            });
        }
    }
    if !gemini {
        if !system.is_empty() {
            let list = format!("[{}]", system.join(","));
            parts.push(Component::text(Tag::System, list));
        }
        if let Some(u) = first_user {
            parts.push(Component::text(Tag::FirstUser, u));
        }
    }

    // Gemini `contents`: read (names checked) whenever `messages` is not an array, up to the
    // first entry that is an object whose `role` is absent or "user".
    if !messages_array {
        let entries = root.first("contents").and_then(tree::elements);
        for item in entries.unwrap_or_default() {
            let Some(m) = read_members(text, item)? else {
                continue;
            };
            let role = m.first("role");
            if role.is_none() || string_of(role).as_deref() == Some("user") {
                if gemini {
                    let t = match m.first("parts") {
                        None => "null".to_owned(),
                        Some(p) => canonical(&collapse_gemini(fragment(text, p)?)),
                    };
                    parts.push(Component::text(Tag::GeminiFirstUser, t));
                }
                break;
            }
        }
    }
    parts.sort_by_key(|p| p.tag);
    Ok((body_key, parts))
}

/// Canonical text of a whole valid JSON text (duplicates refused, `cache_control` dropped).
pub(super) fn canonical_fragment(bytes: &[u8]) -> Result<String, Error> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| Error::new(ErrorKind::InvalidUtf8, e.valid_up_to()))?;
    let raw: &RawValue =
        tree::from_text(text).map_err(|_| Error::new(ErrorKind::UnexpectedByte, 0))?;
    Ok(canonical(&fragment(text, raw)?))
}
