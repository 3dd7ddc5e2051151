//! The sub2api profile, written the way sub2api's Go code reads: gjson lookups on the raw
//! body, `encoding/json` round trips for canonical fragments.

use super::tree::{self, Members, Node};
use super::Extracted;
use crate::canonicalize::go;
use crate::canonicalize::text::{self, SurrogateRule};
use crate::config::Config;
use crate::error::Error;
use crate::hash;
use serde_json::value::RawValue;
use std::collections::BTreeMap;

/// Go's `encoding/json` refuses deeper nesting than this and the Go code then keeps raw text.
const GO_MAX_DEPTH: usize = 10_000;

/// The body's text with every invalid surrogate escape replaced by `\ufffd` (same length),
/// which is what `encoding/json` decodes them to; serde_json then accepts it.
fn patch_lone_surrogates(body: &str) -> String {
    let mut b = body.as_bytes().to_vec();
    let mut from = 0;
    while let Some(at) = text::find_lone_surrogate(&b[from..]) {
        b[from + at..from + at + 6].copy_from_slice(br"\ufffd");
        from += at + 6;
    }
    // Six ASCII bytes replaced six ASCII bytes: still the UTF-8 it was.
    String::from_utf8(b).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// A view of the original body next to its patched twin (same offsets).
struct Doc<'a> {
    original: &'a str,
    patched: &'a str,
}

impl Doc<'_> {
    /// The original text of a value found in the patched text.
    fn original<'s>(&'s self, raw: &RawValue) -> &'s str {
        let at = raw.get().as_ptr() as usize - self.patched.as_ptr() as usize;
        &self.original[at..at + raw.get().len()]
    }

    /// gjson `Result.String()`.
    fn string(&self, raw: Option<&RawValue>) -> String {
        let Some(raw) = raw else { return String::new() };
        let orig = self.original(raw);
        match orig.as_bytes()[0] {
            b'"' => text::unescape(&orig.as_bytes()[1..orig.len() - 1], SurrogateRule::Gjson),
            b't' => "true".into(),
            b'f' => "false".into(),
            b'n' => String::new(),
            b'{' | b'[' => orig.to_owned(),
            _ => {
                let mut s = String::new();
                go::gjson_number_string(orig, &mut s);
                s
            }
        }
    }

    /// sub2api `normalizeCompatSeedJSON`: Go Unmarshal into `any` then Marshal, or the raw
    /// text when Unmarshal fails (a number beyond float64, nesting beyond 10000).
    fn normalize(&self, raw: &RawValue) -> String {
        let orig = self.original(raw);
        let Ok(n) = tree::node(raw) else {
            return orig.to_owned();
        };
        if tree::depth(&n) > GO_MAX_DEPTH {
            return orig.to_owned();
        }
        let mut out = String::new();
        match marshal(&n, &mut out) {
            Some(()) => out,
            None => orig.to_owned(),
        }
    }
}

/// `encoding/json` Marshal of what Unmarshal into `any` made of `n`; `None` if a number
/// overflows float64 (Unmarshal would have failed).
fn marshal(n: &Node, out: &mut String) -> Option<()> {
    match n {
        Node::Null => out.push_str("null"),
        Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Node::Number(lex) => go::float_into(go::parse_f64(lex)?, out),
        Node::String(s) => go::quote_into(s, out),
        Node::Array(items) => {
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                marshal(x, out)?;
            }
            out.push(']');
        }
        Node::Object(members) => {
            // map[string]any: the last duplicate wins, keys sorted bytewise.
            let map: BTreeMap<&str, &Node> = members.iter().map(|(k, v)| (k.as_str(), v)).collect();
            out.push('{');
            for (i, (k, v)) in map.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go::quote_into(k, out);
                out.push(':');
                marshal(v, out)?;
            }
            out.push('}');
        }
    }
    Some(())
}

/// `deriveOpenAIContentSessionSeed` on a valid body.
pub(super) fn seed(body: &[u8]) -> Option<String> {
    let original = std::str::from_utf8(body).ok()?;
    let patched = patch_lone_surrogates(original);
    let doc = Doc {
        original,
        patched: &patched,
    };
    let root: Members = tree::members(tree::from_text::<&RawValue>(&patched).ok()?)?;
    seed_of(&doc, &root)
}

fn seed_of(doc: &Doc, root: &Members) -> Option<String> {
    let mut b = String::new();
    let model = doc.string(root.first("model"));
    if !model.is_empty() {
        b.push_str("model=");
        b.push_str(&model);
    }
    for name in ["tools", "functions"] {
        if let Some(raw) = root.first(name) {
            if raw.get().starts_with('[') && raw.get() != "[]" {
                b.push('|');
                b.push_str(name);
                b.push('=');
                b.push_str(&doc.normalize(raw));
            }
        }
    }
    let instructions = doc.string(root.first("instructions"));
    if !instructions.is_empty() {
        b.push_str("|instructions=");
        b.push_str(&instructions);
    }
    let messages = root.first("messages").and_then(tree::elements);
    let input = root.first("input");
    if let Some(items) = messages {
        walk_items(doc, &items, false, &mut b);
    } else if let Some(input) = input {
        if input.get().starts_with('"') {
            b.push_str("|input=");
            b.push_str(&doc.string(Some(input)));
        } else if let Some(items) = tree::elements(input) {
            walk_items(doc, &items, true, &mut b);
        }
    }
    (!b.is_empty()).then(|| format!("compat_cs_{b}"))
}

/// Every system/developer item adds `|system=`, the first user item `|first_user=`; in
/// Responses `input`, a first `input_text` item also counts as the first user text.
fn walk_items(doc: &Doc, items: &[&RawValue], input_text: bool, b: &mut String) {
    let mut captured = false;
    for item in items {
        let m = tree::members(item);
        let get = |k: &str| m.as_ref().and_then(|m| m.first(k));
        let content = || get("content").map(|c| doc.normalize(c)).unwrap_or_default();
        match doc.string(get("role")).as_str() {
            "system" | "developer" => {
                b.push_str("|system=");
                b.push_str(&content());
            }
            "user" if !captured => {
                b.push_str("|first_user=");
                b.push_str(&content());
                captured = true;
            }
            _ => {}
        }
        if input_text && !captured && doc.string(get("type")) == "input_text" {
            b.push_str("|first_user=");
            b.push_str(&doc.string(get("text")));
            captured = true;
        }
    }
}

pub(super) fn extract(config: &Config, body: &[u8]) -> Result<Extracted, Error> {
    let none = Extracted {
        body_key: None,
        content: None,
    };
    let Ok(original) = std::str::from_utf8(body) else {
        return Ok(none);
    };
    let patched = patch_lone_surrogates(original);
    let doc = Doc {
        original,
        patched: &patched,
    };
    let Some(root) = tree::from_text::<&RawValue>(&patched)
        .ok()
        .and_then(tree::members)
    else {
        return Ok(none);
    };
    let pck = doc.string(root.first(crate::profile::BODY_TIER));
    Ok(Extracted {
        body_key: hash::sub2api_key(pck.as_bytes(), config.legacy_sha256),
        content: seed_of(&doc, &root)
            .and_then(|s| hash::sub2api_key(s.as_bytes(), config.legacy_sha256)),
    })
}

/// `normalizeCompatSeedJSON` of a whole valid JSON text.
pub(super) fn canonical(fragment: &[u8]) -> Option<String> {
    let original = std::str::from_utf8(fragment).ok()?;
    let patched = patch_lone_surrogates(original);
    let doc = Doc {
        original,
        patched: &patched,
    };
    Some(doc.normalize(tree::from_text::<&RawValue>(&patched).ok()?))
}
