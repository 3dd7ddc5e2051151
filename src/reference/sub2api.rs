//! The sub2api profile, written the way sub2api's Go code reads: gjson lookups on the raw
//! body, `encoding/json` round trips for canonical fragments.

use super::tree::{self, Members, Node};
use super::Extracted;
use crate::canonicalize::go;
use crate::canonicalize::text::{self, SurrogateRule};
use crate::config::BodySignal;
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

    /// sub2api `normalizeCompatToolSeedJSON` (tools as a set): every element normalized,
    /// the texts sorted bytewise, joined with `,` in brackets.
    fn tool_set(&self, raw: &RawValue) -> String {
        let Some(items) = tree::elements(raw) else {
            return self.normalize(raw);
        };
        let mut texts: Vec<String> = items.iter().map(|i| self.normalize(i)).collect();
        texts.sort_unstable();
        format!("[{}]", texts.join(","))
    }

    /// A meaningful value (SPEC §3.6): present, not `null`, not a blank string (Go
    /// `strings.TrimSpace`), not an empty array or object.
    fn meaningful(&self, raw: Option<&RawValue>) -> bool {
        let Some(raw) = raw else { return false };
        match raw.get().as_bytes()[0] {
            b'n' => false,
            b'"' => !hash::go_trim_space(self.string(Some(raw)).as_bytes()).is_empty(),
            b'[' => tree::elements(raw).is_some_and(|e| !e.is_empty()),
            b'{' => tree::members(raw).is_some_and(|m| !m.0.is_empty()),
            _ => true,
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

/// `deriveOpenAIContentSessionSeed` on a valid body, or the variant `config`'s options choose
/// (SPEC §3.6).
pub(super) fn seed(config: &Config, body: &[u8]) -> Option<String> {
    join(config, &pieces(config, body)?)
}

/// [`seed`] cut into its pieces (for [`crate::explain`]); `None` when the root is not an
/// object.
pub(super) fn pieces(config: &Config, body: &[u8]) -> Option<Vec<String>> {
    let original = std::str::from_utf8(body).ok()?;
    let patched = patch_lone_surrogates(original);
    let doc = Doc {
        original,
        patched: &patched,
    };
    let root: Members = tree::members(tree::from_text::<&RawValue>(&patched).ok()?)?;
    Some(seed_pieces(config, &doc, &root))
}

/// The seed made of its pieces: `compat_cs_` (`compat_csp_` for the stable prefix) and all
/// of them, `None` when there is none.
pub(super) fn join(config: &Config, pieces: &[String]) -> Option<String> {
    let prefix = if config.policy.stable_prefix {
        "compat_csp_"
    } else {
        "compat_cs_"
    };
    (!pieces.is_empty()).then(|| format!("{prefix}{}", pieces.concat()))
}

fn seed_of(config: &Config, doc: &Doc, root: &Members) -> Option<String> {
    join(config, &seed_pieces(config, doc, root))
}

/// The seed's pieces in order: `model=…`, `|tools=…`, `|functions=…`, `|instructions=…`,
/// `|system=…` (each), `|first_user=…`, `|input=…`; for the stable prefix `|tools=…`,
/// `|functions=…`, `|instructions=…`, `|system=…`/`|developer=…` (each). Empty when the
/// policy asks for a user anchor and there is none.
fn seed_pieces(config: &Config, doc: &Doc, root: &Members) -> Vec<String> {
    let policy = config.policy;
    let messages = root.first("messages").and_then(tree::elements);
    let input = root.first("input");
    if policy.require_user_anchor && !anchor(doc, messages.as_deref(), input) {
        return Vec::new();
    }
    let mut b = Vec::new();
    let stable = policy.stable_prefix;
    if !stable {
        let model = doc.string(root.first("model"));
        if !model.is_empty() {
            b.push(format!("model={model}"));
        }
    }
    for name in ["tools", "functions"] {
        if let Some(raw) = root.first(name) {
            // The stable prefix skips any empty array (`[ ]` too), the seed only `[]` exactly.
            let wanted = if stable {
                tree::elements(raw).is_some_and(|e| !e.is_empty())
            } else {
                raw.get().starts_with('[') && raw.get() != "[]"
            };
            if wanted {
                let text = if config.tools_as_set {
                    doc.tool_set(raw)
                } else {
                    doc.normalize(raw)
                };
                b.push(format!("|{name}={text}"));
            }
        }
    }
    let instructions = root.first("instructions");
    if stable {
        if let Some(raw) = instructions.filter(|&r| doc.meaningful(Some(r))) {
            b.push(format!("|instructions={}", doc.normalize(raw)));
        }
    } else {
        let instructions = doc.string(instructions);
        if !instructions.is_empty() {
            b.push(format!("|instructions={instructions}"));
        }
    }
    let leading_only = policy.leading_system_only;
    if let Some(items) = messages {
        walk_items(doc, &items, false, leading_only, stable, &mut b);
    } else if let Some(input) = input {
        if input.get().starts_with('"') {
            if !stable {
                b.push(format!("|input={}", doc.string(Some(input))));
            }
        } else if let Some(items) = tree::elements(input) {
            walk_items(doc, &items, true, false, stable, &mut b);
        }
    }
    b
}

/// Every system/developer item adds `|system=` (only the leading ones with `leading_only`),
/// the first user item `|first_user=`; in Responses `input`, a first `input_text` item also
/// counts as the first user text. `stable`: system/developer items with a meaningful content
/// add `|system=`/`|developer=`, nothing else counts.
fn walk_items(
    doc: &Doc,
    items: &[&RawValue],
    input_text: bool,
    leading_only: bool,
    stable: bool,
    b: &mut Vec<String>,
) {
    let mut captured = false;
    let mut leading = true;
    for item in items {
        let m = tree::members(item);
        let get = |k: &str| m.as_ref().and_then(|m| m.first(k));
        let content = || get("content").map(|c| doc.normalize(c)).unwrap_or_default();
        let role = doc.string(get("role"));
        let system = role == "system" || role == "developer";
        if !system {
            leading = false;
        }
        if system && (leading || !leading_only) {
            if !stable {
                b.push(format!("|system={}", content()));
            } else if doc.meaningful(get("content")) {
                b.push(format!("|{role}={}", content()));
            }
        }
        if stable {
            continue;
        }
        if role == "user" && !captured {
            b.push(format!("|first_user={}", content()));
            captured = true;
        }
        if input_text && !captured && doc.string(get("type")) == "input_text" {
            b.push(format!("|first_user={}", doc.string(get("text"))));
            captured = true;
        }
    }
}

/// sub2api `deriveOpenAIAnchoredContentSessionSeed`'s test: the list the seed reads has a
/// meaningful user anchor (SPEC §3.6, rule 3).
fn anchor(doc: &Doc, messages: Option<&[&RawValue]>, input: Option<&RawValue>) -> bool {
    if let Some(items) = messages {
        return list_anchor(doc, items, false);
    }
    match input {
        Some(i) if i.get().starts_with('"') => doc.meaningful(Some(i)),
        Some(i) => tree::elements(i).is_some_and(|items| list_anchor(doc, &items, true)),
        None => false,
    }
}

/// The first item whose trimmed role is `user` (or, in `input`, whose `type` is
/// `input_text`) decides: its content (or text) must be meaningful.
fn list_anchor(doc: &Doc, items: &[&RawValue], input_text: bool) -> bool {
    for item in items {
        let m = tree::members(item);
        let get = |k: &str| m.as_ref().and_then(|m| m.first(k));
        if hash::go_trim_space(doc.string(get("role")).as_bytes()) == b"user" {
            return doc.meaningful(get("content"));
        }
        if input_text && doc.string(get("type")) == "input_text" {
            return doc.meaningful(get("text"));
        }
    }
    false
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
    let mut buf = String::new();
    let body_key = crate::profile::body_signal_key(config, &mut buf, |signal, out| {
        let raw = match signal {
            BodySignal::PromptCacheKey => root.first("prompt_cache_key"),
            BodySignal::PreviousResponseId => root.first("previous_response_id"),
            BodySignal::ClaudeCodeUserId => root
                .first("metadata")
                .and_then(tree::members)
                .and_then(|m| m.first("user_id")),
        };
        out.push_str(&doc.string(raw));
        Ok(raw.is_some())
    })?;
    Ok(Extracted {
        body_key,
        content: seed_of(config, &doc, &root)
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
