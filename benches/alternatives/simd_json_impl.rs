//! The sub2api content key on a simd-json DOM: copy the body (simd-json parses in place and
//! needs `&mut [u8]`), `to_borrowed_value_with_buffers` with reused buffers, then the seed
//! rules on the tree and the Go-style writer on the fragments.

use super::go;
use simd_json::{BorrowedValue as Value, StaticNode};
use std::collections::BTreeMap;

/// Reusable state: the copy of the body, simd-json's scratch buffers, the seed buffer.
pub struct SimdJson {
    copy: Vec<u8>,
    buffers: simd_json::Buffers,
    seed: String,
}

impl Default for SimdJson {
    fn default() -> Self {
        Self::new()
    }
}

impl SimdJson {
    pub fn new() -> SimdJson {
        SimdJson {
            copy: Vec::new(),
            buffers: simd_json::Buffers::default(),
            seed: String::new(),
        }
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
        self.copy.clear();
        self.copy.extend_from_slice(body);
        let root = simd_json::to_borrowed_value_with_buffers(&mut self.copy, &mut self.buffers)
            .map_err(|e| e.to_string())?;
        let b = &mut self.seed;
        b.clear();
        let Value::Object(root) = &root else {
            return Ok(None);
        };

        let len = b.len();
        b.push_str("model=");
        gjson_string(root.get("model"), b)?;
        if b.len() == len + "model=".len() {
            b.truncate(len);
        }
        for name in ["tools", "functions"] {
            if let Some(Value::Array(items)) = root.get(name) {
                // The DOM cannot tell `[ ]` from `[]`; a user would test for emptiness.
                if !items.is_empty() {
                    b.push('|');
                    b.push_str(name);
                    b.push('=');
                    write_value(root.get(name).expect("just found"), b);
                }
            }
        }
        let len = b.len();
        b.push_str("|instructions=");
        gjson_string(root.get("instructions"), b)?;
        if b.len() == len + "|instructions=".len() {
            b.truncate(len);
        }

        match (root.get("messages"), root.get("input")) {
            (Some(Value::Array(items)), _) => walk_items(items, false, b)?,
            (_, Some(input @ Value::String(_))) => {
                b.push_str("|input=");
                gjson_string(Some(input), b)?;
            }
            (_, Some(Value::Array(items))) => walk_items(items, true, b)?,
            _ => {}
        }

        if b.is_empty() {
            return Ok(None);
        }
        b.insert_str(0, "compat_cs_");
        Ok(Some(b.as_str()))
    }
}

/// The messages loop of sub2api (see the sonic-rs twin).
fn walk_items(items: &[Value<'_>], input_text: bool, b: &mut String) -> Result<(), String> {
    let mut captured = false;
    for item in items {
        let get = |k: &str| match item {
            Value::Object(m) => m.get(k),
            _ => None,
        };
        let label = match str_of(get("role")) {
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
                write_value(content, b);
            }
        }
        if input_text && !captured && str_of(get("type")) == Some("input_text") {
            b.push_str("|first_user=");
            gjson_string(get("text"), b)?;
            captured = true;
        }
    }
    Ok(())
}

/// The value when it is a string (only a string can have the gjson string "user", ...).
fn str_of<'a>(v: Option<&'a Value<'_>>) -> Option<&'a str> {
    match v {
        Some(Value::String(s)) => Some(s.as_ref()),
        _ => None,
    }
}

/// gjson `Result.String()`; gjson gives the raw text of an object or array, which this DOM
/// no longer has: refused.
fn gjson_string(v: Option<&Value<'_>>, out: &mut String) -> Result<(), String> {
    match v {
        None | Some(Value::Static(StaticNode::Null)) => {}
        Some(Value::Static(StaticNode::Bool(b))) => out.push_str(if *b { "true" } else { "false" }),
        Some(Value::String(s)) => out.push_str(s),
        // Integer lexemes are digits only: gjson returns them as written.
        Some(Value::Static(StaticNode::I64(i))) => out.push_str(&i.to_string()),
        Some(Value::Static(StaticNode::U64(u))) => out.push_str(&u.to_string()),
        Some(Value::Static(StaticNode::F64(f))) => go::write_float_plain(*f, out),
        Some(Value::Array(_) | Value::Object(_)) => {
            return Err("raw text of a container member is not in the DOM".into())
        }
        #[allow(unreachable_patterns)]
        Some(_) => return Err("unsupported number".into()),
    }
    Ok(())
}

/// `json.Marshal` of what `json.Unmarshal` into `any` makes of the value.
fn write_value(v: &Value<'_>, out: &mut String) {
    match v {
        Value::Static(StaticNode::Null) => out.push_str("null"),
        Value::Static(StaticNode::Bool(b)) => out.push_str(if *b { "true" } else { "false" }),
        Value::Static(StaticNode::I64(i)) => go::write_float(*i as f64, out),
        Value::Static(StaticNode::U64(u)) => go::write_float(*u as f64, out),
        Value::Static(StaticNode::F64(f)) => go::write_float(*f, out),
        #[allow(unreachable_patterns)]
        Value::Static(_) => out.push_str("null"),
        Value::String(s) => go::write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(x, out);
            }
            out.push(']');
        }
        Value::Object(members) => {
            // Go's map[string]any: keys sorted bytewise, the last duplicate wins (simd-json
            // keeps duplicates; a later insert overwrites an earlier one here).
            let sorted: BTreeMap<&str, &Value<'_>> =
                members.iter().map(|(k, x)| (k.as_ref(), x)).collect();
            out.push('{');
            for (i, (k, x)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go::write_string(k, out);
                out.push(':');
                write_value(x, out);
            }
            out.push('}');
        }
    }
}
