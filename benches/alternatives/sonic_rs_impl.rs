//! The sub2api content key with sonic-rs lazy access: one `to_object_iter` pass over the raw
//! body's root members, keeping the first of the six the seed reads, then lazy per-item
//! lookups (`LazyValue::get`) in `messages` / `input`. Only the fragments that go into the
//! seed are parsed (into `serde_json::Value`) and re-serialized Go-style.
//!
//! Why not `sonic_rs::get_many` for the root: on a duplicated member it returns the *last*
//! occurrence, and gjson (so sub2api) reads the first; the object iterator lets us keep the
//! first, in the same single pass.

use super::go;
use sonic_rs::{JsonValueTrait, LazyValue};

/// Root members read, in the order of `ROOT_MEMBERS`.
const MODEL: usize = 0;
const TOOLS: usize = 1;
const FUNCTIONS: usize = 2;
const INSTRUCTIONS: usize = 3;
const MESSAGES: usize = 4;
const INPUT: usize = 5;
const ROOT_MEMBERS: [&str; 6] = [
    "model",
    "tools",
    "functions",
    "instructions",
    "messages",
    "input",
];

/// Reusable state: the seed buffer.
#[derive(Default)]
pub struct SonicRs {
    seed: String,
}

impl SonicRs {
    pub fn new() -> SonicRs {
        SonicRs::default()
    }

    /// The content key (xxh64 of the trimmed seed); `Ok(None)` when there is no seed.
    pub fn content_key(&mut self, body: &[u8]) -> Result<Option<u64>, String> {
        Ok(match self.seed(body)? {
            Some(seed) => go::key_of_seed(seed),
            None => None,
        })
    }

    /// The seed text (`compat_cs_...`), or `None`. Errors on invalid JSON and on the exotic
    /// inputs this implementation does not support.
    pub fn seed(&mut self, body: &[u8]) -> Result<Option<&str>, String> {
        let b = &mut self.seed;
        b.clear();
        // A root that is not an object has no seed.
        if body.iter().find(|c| !c.is_ascii_whitespace()) != Some(&b'{') {
            return Ok(None);
        }
        // gjson semantics: the first member with a given (decoded) name wins.
        let mut root: [Option<LazyValue<'_>>; 6] = Default::default();
        for member in sonic_rs::to_object_iter(body) {
            let (name, value) = member.map_err(|e| e.to_string())?;
            if let Some(i) = ROOT_MEMBERS.iter().position(|n| *n == &*name) {
                root[i].get_or_insert(value);
            }
        }

        let model = root[MODEL].as_ref();
        let len = b.len();
        b.push_str("model=");
        gjson_string(model, b);
        if b.len() == len + "model=".len() {
            b.truncate(len);
        }
        for (i, name) in [(TOOLS, "tools"), (FUNCTIONS, "functions")] {
            if let Some(v) = &root[i] {
                let raw = v.as_raw_str();
                if v.is_array() && raw != "[]" {
                    b.push('|');
                    b.push_str(name);
                    b.push('=');
                    normalize(raw, b)?;
                }
            }
        }
        let len = b.len();
        b.push_str("|instructions=");
        gjson_string(root[INSTRUCTIONS].as_ref(), b);
        if b.len() == len + "|instructions=".len() {
            b.truncate(len);
        }

        match (&root[MESSAGES], &root[INPUT]) {
            (Some(m), _) if m.is_array() => walk_items(m.clone(), false, b)?,
            (_, Some(input)) if input.is_str() => {
                b.push_str("|input=");
                gjson_string(Some(input), b);
            }
            (_, Some(input)) if input.is_array() => walk_items(input.clone(), true, b)?,
            _ => {}
        }

        if b.is_empty() {
            return Ok(None);
        }
        b.insert_str(0, "compat_cs_");
        Ok(Some(b.as_str()))
    }
}

/// The messages loop of sub2api: every system/developer item adds `|system=`, the first user
/// item `|first_user=`; in Responses `input`, an `input_text` item can be the first user.
fn walk_items(items: LazyValue<'_>, input_text: bool, b: &mut String) -> Result<(), String> {
    let iter = items
        .into_array_iter()
        .expect("checked to be an array by the caller");
    let mut captured = false;
    for item in iter {
        let item = item.map_err(|e| e.to_string())?;
        // A member lookup of a non-object item finds nothing.
        let is_obj = item.is_object();
        let get = |k: &str| if is_obj { item.get(k) } else { None };
        // Only a string can give gjson strings "system", "developer", "user", "input_text".
        let role = get("role");
        let role = role.as_ref().and_then(|r| r.as_str());
        let label = match role {
            Some("system") | Some("developer") => Some("|system="),
            Some("user") if !captured => {
                captured = true;
                Some("|first_user=")
            }
            _ => None,
        };
        if let Some(label) = label {
            b.push_str(label);
            if let Some(content) = get("content") {
                normalize(content.as_raw_str(), b)?;
            }
        }
        if input_text && !captured {
            let ty = get("type");
            if ty.as_ref().and_then(|t| t.as_str()) == Some("input_text") {
                b.push_str("|first_user=");
                gjson_string(get("text").as_ref(), b);
                captured = true;
            }
        }
    }
    Ok(())
}

/// gjson `Result.String()` of an optional lazy value.
fn gjson_string(v: Option<&LazyValue<'_>>, out: &mut String) {
    let Some(v) = v else { return };
    let raw = v.as_raw_str();
    match raw.as_bytes()[0] {
        b'"' => out.push_str(v.as_str().unwrap_or_default()),
        b't' => out.push_str("true"),
        b'f' => out.push_str("false"),
        b'n' => {}
        b'{' | b'[' => out.push_str(raw),
        _ => go::write_gjson_number(raw, out),
    }
}

fn normalize(raw: &str, out: &mut String) -> Result<(), String> {
    go::normalize_with_serde(raw, out)
        .ok_or_else(|| format!("serde_json refuses fragment: {:.60}", raw))
}
