//! The native-v1 profile, as the spec states it, on serde_json.

use super::tree::{self, Members, Node};
use super::Extracted;
use crate::canonicalize::{jcs, number};
use crate::config::Config;
use crate::error::{Error, ErrorKind};
use crate::hash::{self, Tag};
use crate::key::Source;
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
    let none = Extracted {
        body_key: None,
        content: None,
    };
    let text = std::str::from_utf8(body)
        .map_err(|e| Error::new(ErrorKind::InvalidUtf8, e.valid_up_to()))?;
    let root_raw: &RawValue =
        tree::from_text(text).map_err(|_| Error::new(ErrorKind::UnexpectedByte, 0))?;
    let Some(root) = read_members(text, root_raw)? else {
        return Ok(none);
    };

    // Body tier: a string is trimmed; any other non-null value counts by its canonical text.
    let body_key = match root.first(crate::profile::BODY_TIER) {
        Some(r) if !is_null(r) => {
            let v = match string_of(Some(r)) {
                Some(s) => s,
                None => canonical(&fragment(text, r)?),
            };
            crate::profile::explicit_key(
                config,
                Source::Body(crate::profile::BODY_TIER),
                v.as_bytes(),
            )
        }
        _ => None,
    };

    let mut parts: Vec<(Tag, [u8; 32])> = Vec::new();
    if let Some(r) = root.first("model").filter(|r| !is_null(r)) {
        parts.push((
            Tag::Model,
            hash::digest(canonical(&fragment(text, r)?).as_bytes()),
        ));
    }
    for (name, set_tag, list_tag) in [
        ("tools", Tag::ToolsSet, Tag::ToolsList),
        ("functions", Tag::FunctionsSet, Tag::FunctionsList),
    ] {
        let Some(r) = root.first(name) else { continue };
        let Node::Array(items) = fragment(text, r)? else {
            continue;
        };
        if items.is_empty() {
            continue;
        }
        if config.tools_as_set {
            let mut ds: Vec<[u8; 32]> = items
                .iter()
                .map(|x| hash::digest(canonical(x).as_bytes()))
                .collect();
            parts.push((set_tag, hash::set_digest(&mut ds)));
        } else {
            parts.push((
                list_tag,
                hash::digest(canonical(&Node::Array(items)).as_bytes()),
            ));
        }
    }
    if let Some(r) = root.first("instructions").filter(|r| !is_null(r)) {
        parts.push((
            Tag::Instructions,
            hash::digest(canonical(&fragment(text, r)?).as_bytes()),
        ));
    }

    let messages = root.first("messages").and_then(tree::elements);
    let (items, input_text) = match (messages, root.first("input")) {
        (Some(items), _) => (items, false),
        (None, Some(input)) if input.get().starts_with('"') => {
            let s = canonical(&fragment(text, input)?);
            parts.push((Tag::Input, hash::digest(s.as_bytes())));
            (Vec::new(), false)
        }
        (None, Some(input)) => (tree::elements(input).unwrap_or_default(), true),
        (None, None) => (Vec::new(), false),
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
                pair.push_str(&content_text(text, get("content"))?);
                pair.push(']');
                system.push(pair);
            }
            _ => leading = false,
        }
        if role.as_deref() == Some("user") && first_user.is_none() {
            first_user = Some(content_text(text, get("content"))?);
        }
        if input_text
            && first_user.is_none()
            && string_of(get("type")).as_deref() == Some("input_text")
        {
            first_user = Some(match get("text") {
                None => "null".into(),
                Some(t) => canonical(&fragment(text, t)?),
            });
        }
    }
    if !system.is_empty() {
        let list = format!("[{}]", system.join(","));
        parts.push((Tag::System, hash::digest(list.as_bytes())));
    }
    if let Some(u) = first_user {
        parts.push((Tag::FirstUser, hash::digest(u.as_bytes())));
    }
    parts.sort_by_key(|p| p.0);
    let content = (!parts.is_empty()).then(|| hash::native_content_key(&parts, config.key_length));
    Ok(Extracted { body_key, content })
}

/// Canonical text of a whole valid JSON text (duplicates refused, `cache_control` dropped).
pub(super) fn canonical_fragment(bytes: &[u8]) -> Result<String, Error> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| Error::new(ErrorKind::InvalidUtf8, e.valid_up_to()))?;
    let raw: &RawValue =
        tree::from_text(text).map_err(|_| Error::new(ErrorKind::UnexpectedByte, 0))?;
    Ok(canonical(&fragment(text, raw)?))
}
