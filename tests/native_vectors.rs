//! Frozen native-v1 vectors (docs/SPEC.md §4.5): `tests/vectors/native-v1.jsonl` pins the keys
//! of the requests listed in [`cases`], forever. A change of any of them is a new version
//! (`native-v2`), never an edit of the file.
//!
//! - [`cases`] is the source of truth for the inputs (config, headers, body) and the relations
//!   between cases (`same_as`: the same session key; `differs_from`: different session keys;
//!   both sides must have a key).
//! - `regenerate_native_vectors` (ignored; writes only with `STICKYKEY_REGEN_VECTORS=1`) fills
//!   the expected values from the current implementation, after checking that fast path and
//!   reference agree and that every relation holds. It refuses to change the expectations of an
//!   id already in the file: it only adds new cases.
//! - `native_v1_vectors` reads the file and recomputes every line through the fast path (every
//!   back end, reused fingerprinters, both validation levels) and the reference.
//!
//! Line format: `{"id","note","config":{"tools_as_set","key_bits","max_depth"?,"format"?,
//! "model_hint"?},"headers":
//! [[name,value],...],"body"|"body_b64","content_key","session_key","source","error",
//! "same_as"?,"differs_from"?}`. `content_key` is the content tier alone (`null`: none or an
//! error); `session_key`/`source` are all tiers (`source` is `none` when there is no key or the
//! body is refused); `error` is the `ErrorKind::as_str()` of the body (`null` when accepted): a
//! refused body refuses `content_key`, and `session_key` too unless a header decides.
//!
//! Regenerate (adds new cases only):
//! `STICKYKEY_REGEN_VECTORS=1 cargo test --release --test native_vectors -- --ignored`

mod common;

use base64::Engine as _;
use common::Checker;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use stickykey::{reference, Backend, Config, ErrorKind, Fingerprinter, Format, KeyLength, Limits};

/// One request of the frozen set (inputs only).
#[derive(Clone, Debug)]
struct Case {
    id: &'static str,
    note: &'static str,
    tools_as_set: bool,
    key_bits: u32,
    max_depth: Option<usize>,
    /// `Config::with_format` (`"chat"`, `"responses"`, `"anthropic"`, `"gemini"`; absent: auto).
    format: Option<&'static str>,
    /// `Config::with_model_hint`.
    model_hint: Option<&'static str>,
    headers: Vec<(&'static str, &'static str)>,
    body: Vec<u8>,
    same_as: Option<&'static str>,
    differs_from: Vec<&'static str>,
}

fn case(id: &'static str, note: &'static str, body: &str) -> Case {
    Case {
        id,
        note,
        tools_as_set: true,
        key_bits: 128,
        max_depth: None,
        format: None,
        model_hint: None,
        headers: Vec::new(),
        body: body.as_bytes().to_vec(),
        same_as: None,
        differs_from: Vec::new(),
    }
}

impl Case {
    fn headers(mut self, h: &[(&'static str, &'static str)]) -> Case {
        self.headers = h.to_vec();
        self
    }
    fn same(mut self, id: &'static str) -> Case {
        self.same_as = Some(id);
        self
    }
    fn differs(mut self, ids: &[&'static str]) -> Case {
        self.differs_from = ids.to_vec();
        self
    }
    fn list(mut self) -> Case {
        self.tools_as_set = false;
        self
    }
    fn bits256(mut self) -> Case {
        self.key_bits = 256;
        self
    }
    fn depth(mut self, d: usize) -> Case {
        self.max_depth = Some(d);
        self
    }
    fn bytes(mut self, b: &[u8]) -> Case {
        self.body = b.to_vec();
        self
    }
    fn format(mut self, f: &'static str) -> Case {
        self.format = Some(f);
        self
    }
    fn hint(mut self, model: &'static str) -> Case {
        self.model_hint = Some(model);
        self
    }

    fn config(&self) -> Config {
        let mut c = Config::native()
            .with_tools_as_set(self.tools_as_set)
            .with_key_length(match self.key_bits {
                128 => KeyLength::Bits128,
                256 => KeyLength::Bits256,
                b => panic!("{}: key_bits {b}", self.id),
            });
        if let Some(d) = self.max_depth {
            c = c.with_limits(Limits {
                max_depth: d,
                ..Limits::default()
            });
        }
        if let Some(f) = self.format {
            c = c.with_format(format_of(f));
        }
        c.with_model_hint(self.model_hint)
    }

    /// The input part of a line (everything but the expectations and the note).
    fn inputs(&self) -> Value {
        let mut config = json!({"tools_as_set": self.tools_as_set, "key_bits": self.key_bits});
        if let Some(d) = self.max_depth {
            config["max_depth"] = json!(d);
        }
        if let Some(f) = self.format {
            config["format"] = json!(f);
        }
        if let Some(m) = self.model_hint {
            config["model_hint"] = json!(m);
        }
        let mut v = json!({
            "id": self.id,
            "config": config,
            "headers": self.headers.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
        });
        match std::str::from_utf8(&self.body) {
            Ok(s) => v["body"] = json!(s),
            Err(_) => {
                v["body_b64"] = json!(base64::engine::general_purpose::STANDARD.encode(&self.body))
            }
        }
        if let Some(s) = self.same_as {
            v["same_as"] = json!(s);
        }
        if !self.differs_from.is_empty() {
            v["differs_from"] = json!(self.differs_from);
        }
        v
    }
}

const BASE: &str = r#"{"model":"gpt-4o","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Hello"}]}"#;
const BASE_PCK: &str = r#"{"model":"gpt-4o","prompt_cache_key":"abc-123","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Hello"}]}"#;

/// The frozen cases. Append only: never edit or remove a case (its id is pinned in the file).
fn cases() -> Vec<Case> {
    let pck = |v: &str| {
        format!(
            r#"{{"model":"gpt-4o","prompt_cache_key":{v},"messages":[{{"role":"system","content":"You are terse."}},{{"role":"user","content":"Hello"}}]}}"#
        )
    };
    let num = |n: &str| {
        format!(
            r#"{{"model":"m","tools":[{{"type":"function","function":{{"name":"f","parameters":{{"maximum":{n}}}}}}}]}}"#
        )
    };
    let user = |content: &str| {
        format!(r#"{{"model":"m","messages":[{{"role":"user","content":{content}}}]}}"#)
    };
    let msgs = |items: &str| format!(r#"{{"model":"m","messages":[{items}]}}"#);
    let input = |items: &str| format!(r#"{{"model":"m","input":[{items}]}}"#);
    const S: &str = r#"{"role":"system","content":"S"}"#;
    const D: &str = r#"{"role":"developer","content":"S"}"#;
    const U: &str = r#"{"role":"user","content":"U"}"#;
    const A: &str = r#"{"role":"assistant","content":"A"}"#;
    const TA: &str =
        r#"{"type":"function","function":{"name":"a","parameters":{"type":"object"}}}"#;
    const TB: &str =
        r#"{"type":"function","function":{"name":"b","parameters":{"type":"object"}}}"#;
    let tools = |member: &str, items: &str| {
        format!(
            r#"{{"model":"m","{member}":[{items}],"messages":[{{"role":"user","content":"hi"}}]}}"#
        )
    };
    let ab = format!("{TA},{TB}");
    let ba = format!("{TB},{TA}");
    let aab = format!("{TA},{TA},{TB}");

    let mut all = vec![
        // ---- Tiers: headers.
        case("content-base", "no header, no prompt_cache_key: the content tier (model, leading system, first user)", BASE),
        case("header-session-id", "header session_id wins over the content", BASE)
            .headers(&[("session_id", "abc-123")])
            .differs(&["content-base"]),
        case("header-conversation-id", "header conversation_id: its own label, so a different key than session_id with the same value", BASE)
            .headers(&[("conversation_id", "abc-123")])
            .differs(&["header-session-id", "content-base"]),
        case("header-session-id-before-conversation-id", "session_id is tier 1 wherever it appears in the header list", BASE)
            .headers(&[("conversation_id", "zzz"), ("session_id", "abc-123")])
            .same("header-session-id"),
        case("header-name-case-insensitive", "header names match ASCII-case-insensitively", BASE)
            .headers(&[("SESSION_ID", "abc-123")])
            .same("header-session-id"),
        case("header-conversation-id-mixed-case", "header names match ASCII-case-insensitively", BASE)
            .headers(&[("Conversation_Id", "abc-123")])
            .same("header-conversation-id"),
        case("header-dash-name-ignored", "session-id (dash) is another header: ignored", BASE)
            .headers(&[("session-id", "abc-123")])
            .same("content-base"),
        case("header-value-trimmed", "header values are trimmed of white space", BASE)
            .headers(&[("session_id", " \tabc-123 \r\n")])
            .same("header-session-id"),
        case("header-value-unicode-trimmed", "trimming is Unicode White_Space (U+00A0, U+3000), as Go strings.TrimSpace", BASE)
            .headers(&[("session_id", "\u{a0}abc-123\u{3000}")])
            .same("header-session-id"),
        case("header-value-case-sensitive", "header values are compared exactly", BASE)
            .headers(&[("session_id", "ABC-123")])
            .differs(&["header-session-id"]),
        case("header-blank-falls-through", "a blank session_id falls through to conversation_id", BASE)
            .headers(&[("session_id", " \t "), ("conversation_id", "abc-123")])
            .same("header-conversation-id"),
        case("header-blank-falls-to-content", "blank header values fall through to the content", BASE)
            .headers(&[("session_id", ""), ("conversation_id", "  ")])
            .same("content-base"),
        case("header-first-value-counts", "a repeated header: its first value counts", BASE)
            .headers(&[("session_id", "abc-123"), ("Session_Id", "other")])
            .same("header-session-id"),
        case("header-first-value-blank", "a repeated header whose first value is blank: the tier falls through (later values are not looked at)", BASE)
            .headers(&[("session_id", " "), ("session_id", "abc-123")])
            .same("content-base"),
        case("header-decides-without-reading-body", "a header decides before the body is read: a malformed body does not matter to session_key", r#"{"model":"#)
            .headers(&[("session_id", "abc-123")])
            .same("header-session-id"),
        case("header-beats-prompt-cache-key", "header tiers come before prompt_cache_key", BASE_PCK)
            .headers(&[("session_id", "abc-123")])
            .same("header-session-id"),
        // ---- Tiers: body prompt_cache_key.
        case("pck-string", "prompt_cache_key string: its own label, a different key than the same value in a header", BASE_PCK)
            .differs(&["header-session-id", "header-conversation-id", "content-base"]),
        case("pck-string-trimmed", "a string prompt_cache_key is trimmed", &pck(r#"" abc-123\n""#)).same("pck-string"),
        case("pck-string-escaped", "a string prompt_cache_key is its decoded value", &pck(r#""\u0061bc\u002d123""#)).same("pck-string"),
        case("pck-blank-falls-through", "a blank string falls through to the content", &pck(r#"" \t""#)).same("content-base"),
        case("pck-empty-falls-through", "an empty string falls through to the content", &pck(r#""""#)).same("content-base"),
        case("pck-null-falls-through", "null falls through to the content", &pck("null")).same("content-base"),
        case("pck-number", "a number counts by its canonical text (1.5)", &pck("1.50")),
        case("pck-number-other-spelling", "15e-1 has the canonical text of 1.50", &pck("15e-1")).same("pck-number"),
        case("pck-string-of-number-text", "SPEC §2: a string counts by its value, a number by its canonical text; both are the text 1.5", &pck(r#""1.5""#)).same("pck-number"),
        case("pck-false", "false counts by its canonical text", &pck("false")).differs(&["pck-null-falls-through"]),
        case("pck-object", "an object counts by its canonical text", &pck(r#"{"b":1,"a":[true,null]}"#)),
        case("pck-object-reordered", "canonical text: member order, white space and number spelling do not matter", &pck(r#"{ "a" : [ true , null ] , "b" : 1.0 }"#)).same("pck-object"),
        case("pck-object-cache-control-dropped", "canonical text drops cache_control members", &pck(r#"{"b":1,"cache_control":{"type":"ephemeral"},"a":[true,null]}"#)).same("pck-object"),
        case("pck-array", "an array counts by its canonical text", &pck(r#"[1,"x"]"#)).differs(&["pck-object"]),
        case("pck-duplicate-key", "a non-string prompt_cache_key is an extracted fragment: duplicate names are refused", &pck(r#"{"a":1,"a":2}"#)),
        // ---- Domain separation.
        case("domain-input", "the same text as Responses input: a content key, unlike the header and body tiers", r#"{"input":"abc-123"}"#)
            .differs(&["header-session-id", "header-conversation-id", "pck-string"]),
        case("domain-model", "the same text as model: its own component tag", r#"{"model":"abc-123"}"#)
            .differs(&["domain-input", "header-session-id", "pck-string"]),
        case("domain-instructions", "the same text as instructions", r#"{"instructions":"abc-123"}"#)
            .differs(&["domain-input", "domain-model"]),
        case("domain-first-user", "the same text as the first user message", r#"{"messages":[{"role":"user","content":"abc-123"}]}"#)
            .differs(&["domain-input", "domain-model", "domain-instructions"]),
        case("domain-system", "the same text as a leading system message", r#"{"messages":[{"role":"system","content":"abc-123"}]}"#)
            .differs(&["domain-first-user", "domain-instructions"]),
        // ---- Canonicalization.
        case("canon-base", "reference request for the canonicalization cases",
            r#"{"model":"gpt-4o","messages":[{"role":"user","content":"Hello / world"}],"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]}"#),
        case("canon-member-order", "member order does not matter, at any level",
            r#"{"tools":[{"function":{"parameters":{"properties":{"city":{"type":"string"}},"type":"object"},"name":"get_weather"},"type":"function"}],"messages":[{"content":"Hello / world","role":"user"}],"model":"gpt-4o"}"#)
            .same("canon-base"),
        case("canon-whitespace", "white space between tokens does not matter",
            "\r\n{ \"model\" :\t\"gpt-4o\" ,\n  \"messages\" : [ { \"role\" : \"user\" , \"content\" : \"Hello / world\" } ] ,\n  \"tools\" : [ { \"type\" : \"function\" , \"function\" : { \"name\" : \"get_weather\" , \"parameters\" : { \"type\" : \"object\" , \"properties\" : { \"city\" : { \"type\" : \"string\" } } } } } ]\n}\n")
            .same("canon-base"),
        case("canon-escapes", "escaped spellings of string values (\\u0048, \\/, \\u005f) are equal",
            r#"{"model":"gpt\u002d4o","messages":[{"role":"user","content":"\u0048ello \/ world"}],"tools":[{"type":"function","function":{"name":"get\u005fweather","parameters":{"type":"object","properties":{"city":{"type":"str\u0069ng"}}}}}]}"#)
            .same("canon-base"),
        case("canon-escaped-member-names", "member names are compared decoded, at the root, in items and inside fragments",
            r#"{"mod\u0065l":"gpt-4o","\u006dessages":[{"r\u006Fle":"user","c\u006fntent":"Hello / world"}],"tool\u0073":[{"typ\u0065":"function","function":{"name":"get_weather","parameters":{"type":"object","properti\u0065s":{"c\u0069ty":{"type":"string"}}}}}]}"#)
            .same("canon-base"),
        case("canon-unicode-raw", "non-ASCII text as raw UTF-8", &user("\"caf\u{e9} \u{2615} \u{1f600}\"")),
        case("canon-unicode-escaped", "the same text as \\u escapes (lower-case hex, a surrogate pair)", &user(r#""caf\u00e9 \u2615 \ud83d\ude00""#)).same("canon-unicode-raw"),
        case("canon-unicode-escaped-upper", "upper-case hex escapes", &user(r#""caf\u00E9 \u2615 \uD83D\uDE00""#)).same("canon-unicode-raw"),
        case("canon-nfd-differs", "no Unicode normalization: NFD is another text", &user("\"cafe\u{301} \u{2615} \u{1f600}\"")).differs(&["canon-unicode-raw"]),
        case("canon-control-short", "control characters: short escapes", &user(r#""a\tb\n\u0001""#)),
        case("canon-control-long", "the same controls as \\u00XX escapes", &user(r#""a\u0009b\u000A\u0001""#)).same("canon-control-short"),
        case("canon-u2028", "U+2028 escaped or raw is the same text", &user(r#""x\u2028y""#)),
        case("canon-u2028-raw", "U+2028 raw", &user("\"x\u{2028}y\"")).same("canon-u2028"),
        // ---- Numbers (inside a tools element).
        case("num-1", "number 1", &num("1")),
        case("num-1.0", "1.0 is 1", &num("1.0")).same("num-1"),
        case("num-1e0", "1e0 is 1", &num("1e0")).same("num-1"),
        case("num-10E-1", "10E-1 is 1", &num("10E-1")).same("num-1"),
        case("num-0.1e+1", "0.1e+1 is 1", &num("0.1e+1")).same("num-1"),
        case("num-2", "2 is not 1", &num("2")).differs(&["num-1"]),
        case("num-2p53-plus-1", "9007199254740993 is exact (not rounded to float64)", &num("9007199254740993")),
        case("num-2p53", "9007199254740992 differs from 9007199254740993", &num("9007199254740992")).differs(&["num-2p53-plus-1"]),
        case("num-zero", "0", &num("0")),
        case("num-minus-zero", "-0 is 0", &num("-0")).same("num-zero"),
        case("num-minus-zero-float", "-0.0e-5 is 0", &num("-0.0e-5")).same("num-zero"),
        case("num-huge-exponent", "1e400: exact, beyond float64", &num("1e400")),
        case("num-huge-exponent-spelling", "10e399 is 1e400", &num("10e399")).same("num-huge-exponent"),
        case("num-huge-exponent-next", "1e401 is not 1e400 (no overflow to infinity)", &num("1e401")).differs(&["num-huge-exponent"]),
        case("num-small", "0.00000015", &num("0.00000015")),
        case("num-small-exponent", "1.5e-7 is 0.00000015", &num("1.5e-7")).same("num-small"),
        case("num-string-1", "a number is not the string of its digits", &num("\"1\"")).differs(&["num-1"]),
        case("num-1e20", "1e20: n = 21, written in digits (100000000000000000000)", &num("1e20")),
        case("num-1e20-digits", "the same value in digits", &num("100000000000000000000")).same("num-1e20"),
        case("num-1e21", "1e21: n = 22, written 1e+21", &num("1e21")).differs(&["num-1e20"]),
        case("num-1e21-digits", "the same value in digits", &num("1000000000000000000000")).same("num-1e21"),
        case("num-1e-6", "0.000001: n = -5, plain notation", &num("0.000001")),
        case("num-1e-6-exponent", "1e-6 is 0.000001", &num("1e-6")).same("num-1e-6"),
        case("num-1e-7", "1e-7: n = -6, exponent notation", &num("1e-7")).differs(&["num-1e-6"]),
        case("num-1e-7-plain", "0.0000001 is 1e-7", &num("0.0000001")).same("num-1e-7"),
        case("num-negative", "-1.5", &num("-1.500")),
        case("num-negative-exponent", "-15E-1 is -1.5", &num("-15E-1")).same("num-negative"),
        case("num-exponent-leading-zeros", "an exponent with leading zeros: 1e0000000000000000000000000000001 is 10", &num("1e0000000000000000000000000000001")),
        case("num-10", "10", &num("10")).same("num-exponent-leading-zeros"),
        case("num-exponent-beyond-64-bits", "exponents of any length are exact", &num("4e100000000000000000000000000000000000000")),
        case("num-exponent-beyond-64-bits-spelling", "40e99999999999999999999999999999999999999 is the same value", &num("40e99999999999999999999999999999999999999")).same("num-exponent-beyond-64-bits"),
        case("num-exponent-beyond-64-bits-next", "4e100000000000000000000000000000000000001 is not", &num("4e100000000000000000000000000000000000001")).differs(&["num-exponent-beyond-64-bits"]),
        // ---- cache_control.
        case("cc-base", "reference request for the cache_control cases",
            r#"{"model":"claude","tools":[{"name":"t","input_schema":{"type":"object","properties":{"q":{"type":"string"}}}}],"messages":[{"role":"system","content":[{"type":"text","text":"sys"},{"type":"text","text":"more"}]},{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"x"}}]}]}"#),
        case("cc-dropped-everywhere", "cache_control is dropped in tools (nested too), system and first-user parts",
            r#"{"model":"claude","tools":[{"name":"t","cache_control":{"type":"ephemeral"},"input_schema":{"type":"object","properties":{"q":{"type":"string","cache_control":null}}}}],"messages":[{"role":"system","content":[{"type":"text","text":"sys"},{"type":"text","text":"more","cache_control":{"type":"ephemeral"}}]},{"role":"user","content":[{"type":"text","text":"hi","cache_control":{"type":"ephemeral","ttl":"1h"}},{"type":"image_url","image_url":{"url":"x","cache_control":1}}]}]}"#)
            .same("cc-base"),
        case("cc-single-part-collapses", "a single text part with cache_control is that text", &user(r#"[{"type":"text","text":"hi","cache_control":{"type":"ephemeral"}}]"#)).same("content-string"),
        // ---- Content: a string equals a single text part.
        case("content-string", "user content as a string", &user(r#""hi""#)),
        case("content-text-part", "one text part is its text", &user(r#"[{"type":"text","text":"hi"}]"#)).same("content-string"),
        case("content-input-text-part", "one input_text part is its text", &user(r#"[{"type":"input_text","text":"hi"}]"#)).same("content-string"),
        case("content-part-member-order", "member order inside the part does not matter", &user(r#"[{"text":"hi","type":"text"}]"#)).same("content-string"),
        case("content-part-extra-member", "a part with another member is not collapsed", &user(r#"[{"type":"text","text":"hi","x":1}]"#)).differs(&["content-string"]),
        case("content-two-parts", "two parts are not collapsed", &user(r#"[{"type":"text","text":"hi"},{"type":"text","text":"hi"}]"#)).differs(&["content-string"]),
        case("content-part-other-type", "a part of another type is not collapsed", &user(r#"[{"type":"output_text","text":"hi"}]"#)).differs(&["content-string"]),
        case("content-absent", "a user message without content counts as null", &msgs(r#"{"role":"user"}"#)).differs(&["content-string"]),
        case("content-null", "content null equals absent content", &user("null")).same("content-absent"),
        // ---- Tools and functions.
        case("tools-ab", "tools as a set (default)", &tools("tools", &ab)),
        case("tools-ba", "tools as a set: order does not matter", &tools("tools", &ba)).same("tools-ab"),
        case("tools-aab", "tools as a multiset: a repeated tool counts", &tools("tools", &aab)).differs(&["tools-ab"]),
        case("tools-empty", "an empty tools array is no component", &tools("tools", "")).same("content-string"),
        case("tools-not-array", "tools that is not an array is no component", r#"{"model":"m","tools":"x","messages":[{"role":"user","content":"hi"}]}"#).same("content-string"),
        case("tools-list-ab", "tools as an ordered list (with_tools_as_set(false)): its own tag", &tools("tools", &ab)).list().differs(&["tools-ab"]),
        case("tools-list-ba", "tools as an ordered list: order matters", &tools("tools", &ba)).list().differs(&["tools-list-ab"]),
        case("functions-ab", "functions: their own tag, not tools", &tools("functions", &ab)).differs(&["tools-ab"]),
        case("functions-ba", "functions as a set", &tools("functions", &ba)).same("functions-ab"),
        case("functions-list-ab", "functions as an ordered list", &tools("functions", &ab)).list().differs(&["functions-ab", "tools-list-ab"]),
        case("tools-and-functions", "both components",
            &format!(r#"{{"model":"m","tools":[{TA}],"functions":[{TB}],"messages":[{{"role":"user","content":"hi"}}]}}"#))
            .differs(&["tools-ab", "functions-ab"]),
        // ---- instructions, model.
        case("input-string-only", "Responses input string alone", r#"{"input":"hi"}"#),
        case("instructions", "instructions is a component", r#"{"model":"m","instructions":"Be brief.","input":"hi"}"#).differs(&["responses-input-string"]),
        case("instructions-null", "instructions null is no component", r#"{"model":"m","instructions":null,"input":"hi"}"#).same("responses-input-string"),
        case("model-only", "model alone", r#"{"model":"m"}"#),
        case("model-null", "model null is no component", r#"{"model":null,"input":"hi"}"#).same("input-string-only"),
        case("model-number", "model 1 (canonical text 1) is not model \"1\"", r#"{"model":1}"#).differs(&["model-string-1"]),
        case("model-string-1", "model \"1\"", r#"{"model":"1"}"#),
        // ---- Leading system messages, first user.
        case("system-leading", "leading system message and first user", &msgs(&format!("{S},{U}"))),
        case("system-late-ignored", "a system message later in the conversation does not change the key", &msgs(&format!(r#"{S},{U},{A},{{"role":"system","content":"LATE"}},{{"role":"user","content":"U2"}}"#))).same("system-leading"),
        case("system-run-ends-at-assistant", "the leading run ends at the first other role", &msgs(&format!(r#"{S},{A},{{"role":"system","content":"X"}},{U}"#))).same("system-leading"),
        case("developer-vs-system", "developer and system are different roles", &msgs(&format!("{D},{U}"))).differs(&["system-leading"]),
        case("system-two-leading", "every leading system/developer message counts, in order", &msgs(&format!(r#"{S},{{"role":"developer","content":"D"}},{U}"#))).differs(&["system-leading", "developer-vs-system"]),
        case("system-two-leading-swapped", "the order of the leading messages counts", &msgs(&format!(r#"{{"role":"developer","content":"D"}},{S},{U}"#))).differs(&["system-two-leading"]),
        case("system-role-exact", "role is matched exactly: \" system\" is not system", &msgs(&format!(r#"{{"role":" system","content":"S"}},{U}"#))).same("first-user-only"),
        case("system-only", "a leading system message without a user message", &msgs(S)).differs(&["system-leading", "model-only"]),
        case("first-user-only", "the first user message", &msgs(U)),
        case("system-after-user-ignored", "a system message after the first user is not leading", &msgs(&format!("{U},{S}"))).same("first-user-only"),
        case("first-user-later-turns-ignored", "later user messages do not count", &msgs(&format!(r#"{U},{A},{{"role":"user","content":"U2"}}"#))).same("first-user-only"),
        case("first-user-after-assistant", "the first user message after an assistant message", &msgs(&format!("{A},{U}"))).same("first-user-only"),
        case("duplicate-in-later-history-ignored", "items after the first user and the end of the leading run are never read: their duplicate names are not checked",
            &msgs(&format!(r#"{U},{{"role":"assistant","role":"assistant","content":{{"a":1,"a":2}}}}"#))).same("first-user-only"),
        // ---- Responses input.
        case("responses-input-string", "input as a string: component input, not a first user message", r#"{"model":"m","input":"hi"}"#).differs(&["responses-input-array"]),
        case("responses-input-array", "input as an array of messages: first user, like Chat messages", &input(r#"{"role":"user","content":"hi"}"#)).same("content-string"),
        case("responses-input-array-parts", "input_text content part", &input(r#"{"role":"user","content":[{"type":"input_text","text":"hi"}]}"#)).same("responses-input-array"),
        case("responses-message-item", "a type:message item with role user", &input(r#"{"type":"message","role":"user","content":[{"type":"input_text","text":"hi"}]}"#)).same("responses-input-array"),
        case("responses-input-text-item", "an input_text item counts as the first user message", &input(r#"{"type":"input_text","text":"hi"}"#)).same("responses-input-array"),
        case("responses-developer-then-input-text", "a leading developer message, then an input_text item", &input(r#"{"role":"developer","content":"S"},{"type":"input_text","text":"hi"}"#)).differs(&["responses-input-text-item"]),
        case("input-text-item-in-messages-ignored", "the input_text rule applies to input arrays only", &msgs(r#"{"type":"input_text","text":"hi"}"#)).same("model-only"),
        case("messages-preferred-over-input", "messages (an array) wins over input", r#"{"model":"m","messages":[{"role":"user","content":"hi"}],"input":"other"}"#).same("content-string"),
        case("input-used-when-messages-not-array", "messages that is not an array: input is read", r#"{"model":"m","messages":null,"input":"hi"}"#).same("responses-input-string"),
        // ---- No key.
        case("root-array", "a root that is not an object: no key", r#"[{"model":"m"}]"#),
        case("root-string", "a string root: no key", r#""hello""#),
        case("root-null", "a null root: no key", "null"),
        case("empty-body", "the empty body is no body: no key, no error", ""),
        case("empty-body-with-header", "headers still apply without a body", "").headers(&[("session_id", "abc-123")]).same("header-session-id"),
        case("no-components", "an object without any component: no key", r#"{"temperature":0.2,"stream":true}"#),
        case("whitespace-around-root", "white space around the root", " \n{\"model\":\"m\"}\t\r\n").same("model-only"),
        // ---- Errors.
        case("err-duplicate-root", "duplicate name in the root object", r#"{"model":"a","model":"a"}"#),
        case("err-duplicate-root-escaped", "names are compared decoded", r#"{"model":"a","mod\u0065l":"b"}"#),
        case("err-duplicate-root-unread-member", "any duplicate name in the root object", r#"{"model":"a","x":1,"x":2}"#),
        case("err-duplicate-first-user", "duplicate name in the first user content", &user(r#"[{"type":"text","text":"a","text":"b"}]"#)),
        case("err-duplicate-read-item", "duplicate name in a message item that is read", &msgs(r#"{"role":"user","role":"user","content":"hi"}"#)),
        case("err-duplicate-in-tool", "duplicate name inside a tools element", &tools("tools", r#"{"name":"a","x":{"k":1,"k":1}}"#)),
        case("err-lone-surrogate", "a lone high surrogate", r#"{"model":"m","input":"\ud800"}"#),
        case("err-lone-surrogate-unread", "lone surrogates are refused anywhere in the body", r#"{"model":"m","metadata":{"x":"\udc00"}}"#),
        case("err-lone-surrogate-reversed", "a low surrogate before a high one is two lone surrogates", r#"{"model":"m","input":"\udc00\ud800"}"#),
        case("err-truncated", "truncated body", r#"{"model":"m""#),
        case("err-trailing-comma", "trailing comma", r#"{"model":"m",}"#),
        case("err-trailing-data", "data after the root value", r#"{"model":"m"} x"#),
        case("err-whitespace-only", "white space only", " \n "),
        case("err-bom", "a byte order mark", "\u{feff}{\"model\":\"m\"}"),
        case("err-invalid-utf8", "invalid UTF-8", "").bytes(b"{\"model\":\"m\xff\"}"),
        case("err-bad-number", "a leading zero", r#"{"model":01}"#),
        case("err-bad-escape", "an escape RFC 8259 does not define", r#"{"model":"\x"}"#),
        case("err-control-character", "a raw control character in a string", "{\"model\":\"a\tb\"}"),
        case("err-too-deep", "max_depth 3: the root counts 1, so [[[ inside tools is too deep", r#"{"model":"m","tools":[[[1]]]}"#).depth(3),
        case("err-too-deep-unread", "depth is checked everywhere", r#"{"model":"m","x":[[[1]]]}"#).depth(3),
        case("depth-at-limit", "max_depth 3: exactly at the limit is fine and changes nothing in the key", r#"{"model":"m","tools":[[1]]}"#).depth(3).same("depth-default"),
        case("depth-default", "the same body with the default limit", r#"{"model":"m","tools":[[1]]}"#),
        // ---- 256-bit keys.
        case("bits256-content", "a 256-bit content key", BASE).bits256(),
        case("bits256-header", "a 256-bit header key", BASE).bits256().headers(&[("session_id", "abc-123")]),
        case("bits256-pck", "a 256-bit prompt_cache_key key", BASE_PCK).bits256(),
        case("bits256-tools-list", "256 bits with tools as a list", &tools("tools", &ab)).bits256().list(),
    ];
    all.extend(format_cases());
    all
}

/// Anthropic Messages and Gemini `generateContent` (SPEC §5), appended after the OpenAI cases.
/// Append only, as above.
fn format_cases() -> Vec<Case> {
    // Anthropic: tools with input_schema, system as a string or blocks, content blocks.
    const AT1: &str = r#"{"name":"get_weather","description":"Weather of a city.","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}"#;
    const AT2: &str = r#"{"name":"get_time","description":"Local time of a city.","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}"#;
    const CC: &str = r#""cache_control":{"type":"ephemeral"}"#;
    let anth = |system: &str, tools: &str, messages: &str| {
        let system = if system.is_empty() {
            String::new()
        } else {
            format!(r#""system":{system},"#)
        };
        format!(
            r#"{{"model":"claude-sonnet-4-5","max_tokens":1024,{system}"tools":[{tools}],"messages":[{messages}]}}"#
        )
    };
    let at12 = format!("{AT1},{AT2}");
    let at21 = format!("{AT2},{AT1}");
    const HELLO: &str = r#"{"role":"user","content":"Hello"}"#;
    let hello_cc =
        format!(r#"{{"role":"user","content":[{{"type":"text","text":"Hello",{CC}}}]}}"#);
    let turn2 = |first: &str, last_cc: bool| {
        let cc = if last_cc {
            format!(",{CC}")
        } else {
            String::new()
        };
        format!(
            r#"{first},{{"role":"assistant","content":[{{"type":"text","text":"Hi."}},{{"type":"tool_use","id":"t1","name":"get_weather","input":{{"city":"Paris"}}}}]}},{{"role":"user","content":[{{"type":"tool_result","tool_use_id":"t1","content":"sunny"}},{{"type":"text","text":"And tomorrow?"{cc}}}]}}"#
        )
    };
    let two_blocks = |cc_first: bool| {
        let (a, b) = if cc_first {
            (format!(",{CC}"), String::new())
        } else {
            (String::new(), format!(",{CC}"))
        };
        format!(
            r#"[{{"type":"text","text":"You are terse."{a}}},{{"type":"text","text":"Use the tools."{b}}}]"#
        )
    };

    // Gemini: systemInstruction, contents with parts, functionDeclarations tools.
    const GT1: &str = r#"{"functionDeclarations":[{"name":"get_weather","description":"Weather of a city.","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}]}"#;
    const GT2: &str = r#"{"googleSearch":{}}"#;
    const SI: &str = r#"{"parts":[{"text":"You are terse."}]}"#;
    const GU: &str = r#"{"role":"user","parts":[{"text":"Hello"}]}"#;
    let gem = |head: &str, system: &str, tools: &str, contents: &str| {
        format!(
            r#"{{{head}"systemInstruction":{system},"tools":[{tools}],"contents":[{contents}],"generationConfig":{{"temperature":0.2}}}}"#
        )
    };
    let gt12 = format!("{GT1},{GT2}");
    let gt21 = format!("{GT2},{GT1}");
    let g_base = gem("", SI, &gt12, GU);
    let g_later = format!(
        r#"{GU},{{"role":"model","parts":[{{"functionCall":{{"name":"get_weather","args":{{"city":"Paris"}}}}}}]}},{{"role":"user","parts":[{{"functionResponse":{{"name":"get_weather","response":{{"sky":"sunny"}}}}}}]}},{{"role":"model","parts":[{{"text":"Sunny."}}]}},{{"role":"user","parts":[{{"text":"And tomorrow?"}}]}}"#
    );

    vec![
        // ---- Anthropic Messages (SPEC §5.2).
        case("anthropic-base", "Anthropic Messages: model, tools with input_schema, system as a string, first user", &anth(r#""You are terse.""#, &at12, HELLO)),
        case("anthropic-system-one-block", "a system of one text block is its text", &anth(r#"[{"type":"text","text":"You are terse."}]"#, &at12, HELLO)).same("anthropic-base"),
        case("anthropic-system-block-cache-control", "cache_control on the system block is dropped", &anth(&format!(r#"[{{"type":"text","text":"You are terse.",{CC}}}]"#), &at12, HELLO)).same("anthropic-base"),
        case("anthropic-first-user-one-block", "a first user message of one text block is its text", &anth(r#""You are terse.""#, &at12, r#"{"role":"user","content":[{"type":"text","text":"Hello"}]}"#)).same("anthropic-base"),
        case("anthropic-first-user-block-cache-control", "a first user message of one text block with cache_control is its text", &anth(r#""You are terse.""#, &at12, &hello_cc)).same("anthropic-base"),
        case("anthropic-turn2-cache-control-moved", "turn 2: the breakpoint moved from the first user message to the newest one (Claude Code): same key", &anth(r#""You are terse.""#, &at12, &turn2(HELLO, true))).same("anthropic-first-user-block-cache-control"),
        case("anthropic-system-two-blocks", "a system of two blocks is a list of blocks: another system", &anth(&two_blocks(false), &at12, HELLO)).differs(&["anthropic-base"]),
        case("anthropic-system-two-blocks-cache-moved", "the system breakpoint on the other block: same key", &anth(&two_blocks(true), &at12, &turn2(&hello_cc, false))).same("anthropic-system-two-blocks"),
        case("anthropic-tools-reordered", "tools as a set: order does not matter", &anth(r#""You are terse.""#, &at21, HELLO)).same("anthropic-base"),
        case("anthropic-tool-cache-control", "cache_control on the last tool is dropped", &anth(r#""You are terse.""#, &format!(r#"{AT1},{{"name":"get_time","description":"Local time of a city.","input_schema":{{"type":"object","properties":{{"city":{{"type":"string"}}}}}},{CC}}}"#), HELLO)).same("anthropic-base"),
        case("anthropic-tools-list", "tools as a list", &anth(r#""You are terse.""#, &at12, HELLO)).list(),
        case("anthropic-tools-list-reordered", "tools as a list: order matters", &anth(r#""You are terse.""#, &at21, HELLO)).list().differs(&["anthropic-tools-list"]),
        case("anthropic-other-system", "another system text", &anth(r#""You are brief.""#, &at12, HELLO)).differs(&["anthropic-base"]),
        case("anthropic-other-first-user", "another first user message", &anth(r#""You are terse.""#, &at12, r#"{"role":"user","content":"Bonjour"}"#)).differs(&["anthropic-base"]),
        case("anthropic-no-system", "no system: the Chat rules (the same key as under a stated Chat format)", &anth("", &at12, HELLO)).differs(&["anthropic-base"]),
        case("anthropic-no-system-stated", "stated Anthropic: the same key", &anth("", &at12, HELLO)).format("anthropic").same("anthropic-no-system"),
        case("anthropic-system-null", "system null is no component", &anth("null", &at12, HELLO)).same("anthropic-no-system"),
        case("anthropic-stated-chat-ignores-system", "stated Chat: the top-level system is not read", &anth(r#""You are terse.""#, &at12, HELLO)).format("chat").same("anthropic-no-system"),
        case("anthropic-stated", "stated Anthropic: the same key as detected", &anth(r#""You are terse.""#, &at12, HELLO)).format("anthropic").same("anthropic-base"),
        case("anthropic-vs-chat-system-message", "the same text as a Chat system message: another component (0x07 vs 0x0a)", &anth("", &at12, &format!(r#"{{"role":"system","content":"You are terse."}},{HELLO}"#))).differs(&["anthropic-base", "anthropic-no-system"]),
        case("anthropic-system-and-system-message", "a top-level system and a leading system message: both count", &anth(r#""You are terse.""#, &at12, &format!(r#"{{"role":"system","content":"You are terse."}},{HELLO}"#))).differs(&["anthropic-base", "anthropic-vs-chat-system-message"]),
        case("anthropic-model-hint", "no model in the body (Vertex AI, Bedrock): the hint is the model", &anth(r#""You are terse.""#, &at12, HELLO).replace(r#""model":"claude-sonnet-4-5","#, "")).hint("claude-sonnet-4-5").same("anthropic-base"),
        case("anthropic-model-hint-ignored", "a body model wins over the hint", &anth(r#""You are terse.""#, &at12, HELLO)).hint("claude-opus-4").same("anthropic-base"),
        case("anthropic-no-model", "no model and no hint: no model component", &anth(r#""You are terse.""#, &at12, HELLO).replace(r#""model":"claude-sonnet-4-5","#, "")).differs(&["anthropic-base"]),
        case("anthropic-err-duplicate-in-system", "a repeated name inside system is refused", &anth(r#"[{"type":"text","text":"a","text":"b"}]"#, &at12, HELLO)),
        case("anthropic-duplicate-in-system-unread-under-chat", "stated Chat does not read system: its repeated names are not checked", &anth(r#"[{"type":"text","text":"a","text":"b"}]"#, &at12, HELLO)).format("chat").same("anthropic-no-system"),
        case("format-responses-on-chat", "stated Responses on a Chat body: Chat and Responses are one rule set", BASE).format("responses").same("content-base"),
        case("format-chat-model-hint", "the model hint on a Chat body without model", r#"{"messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Hello"}]}"#).hint("gpt-4o").same("content-base"),
        case("format-anthropic-on-gemini-body", "stated Anthropic on a Gemini body: only the tools count (no model, no messages)", r#"{"systemInstruction":{"parts":[{"text":"S"}]},"tools":[{"googleSearch":{}}],"contents":[{"role":"user","parts":[{"text":"Hello"}]}]}"#).format("anthropic"),
        case("anthropic-bits256", "a 256-bit Anthropic key", &anth(r#""You are terse.""#, &at12, HELLO)).bits256(),
        // ---- Gemini generateContent (SPEC §5.3).
        case("gemini-base", "Gemini: model from the hint (URL), systemInstruction, tools, first user entry", &g_base).hint("gemini-2.0-flash"),
        case("gemini-model-in-body", "the model in the body instead of the hint: same key", &gem(r#""model":"gemini-2.0-flash","#, SI, &gt12, GU)).same("gemini-base"),
        case("gemini-model-resource-name", "the body model as a resource name (models/...): same key", &gem(r#""model":"models/gemini-2.0-flash","#, SI, &gt12, GU)).same("gemini-base"),
        case("gemini-hint-resource-name", "the hint as a resource name: same key", &g_base).hint("models/gemini-2.0-flash").same("gemini-base"),
        case("gemini-body-model-wins", "a body model wins over the hint", &gem(r#""model":"gemini-1.5-pro","#, SI, &gt12, GU)).hint("gemini-2.0-flash").differs(&["gemini-base"]),
        case("gemini-no-model", "neither body model nor hint: no model component", &g_base).differs(&["gemini-base"]),
        case("gemini-later-turn", "a later turn: model replies, functionCall / functionResponse, another user entry", &gem("", SI, &gt12, &g_later)).hint("gemini-2.0-flash").same("gemini-base"),
        case("gemini-reserialized", "another client: member order, white space, escapes",
            "{ \"tools\" : [ {\"googleSearch\":{}}, {\"functionDeclarations\":[{\"parameters\":{\"properties\":{\"city\":{\"type\":\"string\"}},\"type\":\"object\"},\"description\":\"Weather of a city.\",\"name\":\"get\\u005fweather\"}]} ],\n \"contents\" : [ {\"parts\":[{\"text\":\"Hell\\u006f\"}],\"role\":\"user\"} ],\n \"system_instruction\" : {\"parts\":[{\"text\":\"You are terse.\"}]} }").hint("gemini-2.0-flash").same("gemini-base"),
        case("gemini-system-snake-case", "system_instruction (the proto field name) is systemInstruction", &gem("", SI, &gt12, GU).replace("systemInstruction", "system_instruction")).hint("gemini-2.0-flash").same("gemini-base"),
        case("gemini-system-role-ignored", "a role in the system instruction does not count", &gem("", r#"{"role":"system","parts":[{"text":"You are terse."}]}"#, &gt12, GU)).hint("gemini-2.0-flash").same("gemini-base"),
        case("gemini-system-string", "a system instruction string equals one text part", &gem("", r#""You are terse.""#, &gt12, GU)).hint("gemini-2.0-flash").same("gemini-base"),
        case("gemini-system-two-parts", "two parts are a list of parts: another system instruction", &gem("", r#"{"parts":[{"text":"You are terse."},{"text":"Use the tools."}]}"#, &gt12, GU)).hint("gemini-2.0-flash").differs(&["gemini-base"]),
        case("gemini-system-camel-wins", "systemInstruction wins over system_instruction", &gem("", SI, &gt12, GU).replace(r#""tools""#, r#""system_instruction":{"parts":[{"text":"other"}]},"tools""#)).hint("gemini-2.0-flash").same("gemini-base"),
        case("gemini-first-user-no-role", "an entry without role is the user's", &gem("", SI, &gt12, r#"{"parts":[{"text":"Hello"}]}"#)).hint("gemini-2.0-flash").same("gemini-base"),
        case("gemini-first-user-parts-string", "parts as a string counts as one text part", &gem("", SI, &gt12, r#"{"role":"user","parts":"Hello"}"#)).hint("gemini-2.0-flash").same("gemini-base"),
        case("gemini-first-user-typed-part", "a part with type is not collapsed (Gemini parts have none)", &gem("", SI, &gt12, r#"{"role":"user","parts":[{"type":"text","text":"Hello"}]}"#)).hint("gemini-2.0-flash").differs(&["gemini-base"]),
        case("gemini-model-entry-first", "entries before the first user entry do not count", &gem("", SI, &gt12, &format!(r#"{{"role":"model","parts":[{{"text":"Hi!"}}]}},{GU}"#))).hint("gemini-2.0-flash").same("gemini-base"),
        case("gemini-role-null-not-user", "role null is not the user: the next entry is", &gem("", SI, &gt12, &format!(r#"{{"role":null,"parts":[{{"text":"x"}}]}},{GU}"#))).hint("gemini-2.0-flash").same("gemini-base"),
        case("gemini-tools-reordered", "tools as a set: order does not matter", &gem("", SI, &gt21, GU)).hint("gemini-2.0-flash").same("gemini-base"),
        case("gemini-tools-list-reordered", "tools as a list: order matters", &gem("", SI, &gt21, GU)).hint("gemini-2.0-flash").list().differs(&["gemini-tools-list"]),
        case("gemini-tools-list", "tools as a list", &g_base).hint("gemini-2.0-flash").list().differs(&["gemini-base"]),
        case("gemini-other-first-user", "another first user entry", &gem("", SI, &gt12, r#"{"role":"user","parts":[{"text":"Bonjour"}]}"#)).hint("gemini-2.0-flash").differs(&["gemini-base"]),
        case("gemini-vs-chat", "the same model, system text, tools and first user as a Chat body: Gemini tags differ",
            r#"{"model":"gemini-2.0-flash","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Hello"}]}"#).differs(&["gemini-no-tools-vs-chat"]),
        case("gemini-no-tools-vs-chat", "a Gemini body with those components", &gem(r#""model":"gemini-2.0-flash","#, SI, "", GU).replace(r#""tools":[],"#, "")),
        case("gemini-stated", "stated Gemini: the same key as detected", &g_base).hint("gemini-2.0-flash").format("gemini").same("gemini-base"),
        case("gemini-stated-chat", "stated Chat: contents and systemInstruction are not read (the model hint and tools count by the rules of SPEC §4.1)", &g_base).hint("gemini-2.0-flash").format("chat").differs(&["gemini-base"]),
        case("gemini-messages-array-wins", "with a messages array the body is not Gemini (Chat rules)", &gem("", SI, &gt12, GU).replace(r#""contents""#, r#""messages":[{"role":"user","content":"Hello"}],"contents""#)).hint("gemini-2.0-flash"),
        case("gemini-stated-with-messages-array", "stated Gemini with a messages array: contents entries do not count", &gem("", SI, &gt12, GU).replace(r#""contents""#, r#""messages":[],"contents""#)).hint("gemini-2.0-flash").format("gemini").differs(&["gemini-base"]),
        case("gemini-contents-not-array", "contents that is not an array: not Gemini", r#"{"contents":"Hello","systemInstruction":{"parts":[{"text":"S"}]}}"#),
        case("gemini-err-duplicate-in-entry", "a repeated name in a contents entry that is read is refused", &gem("", SI, &gt12, r#"{"role":"user","role":"user","parts":[{"text":"Hello"}]}"#)),
        case("gemini-err-duplicate-in-parts", "a repeated name in the first user's parts is refused", &gem("", SI, &gt12, r#"{"role":"user","parts":[{"text":"a","text":"b"}]}"#)),
        case("gemini-err-duplicate-in-system-instruction", "a repeated name anywhere in the system instruction used is refused", &gem("", r#"{"role":"a","role":"b","parts":[{"text":"S"}]}"#, &gt12, GU)),
        case("gemini-duplicate-after-first-user-ignored", "entries after the first user entry are never read", &gem("", SI, &gt12, &format!(r#"{GU},{{"role":"model","role":"model"}}"#))).hint("gemini-2.0-flash").same("gemini-base"),
        case("gemini-duplicate-with-messages-array-ignored", "with a messages array, contents entries are not checked", &gem("", SI, &gt12, r#"{"role":"user","role":"user"}"#).replace(r#""generationConfig""#, r#""messages":[{"role":"user","content":"Hello"}],"generationConfig""#)),
        case("gemini-bits256", "a 256-bit Gemini key", &g_base).hint("gemini-2.0-flash").bits256(),
    ]
}

fn vectors_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/native-v1.jsonl")
}

/// The expectations of one case, computed by the fast path (default back end) and checked
/// against the reference.
fn compute(c: &Case) -> Result<Value, String> {
    let cfg = c.config();
    let mut fp = Fingerprinter::new(cfg.clone());
    let content = fp.content_key(&c.body);
    let session = fp.session_key(c.headers.iter().copied(), &c.body);
    let ref_content = reference::content_key(&cfg, &c.body);
    let ref_session = reference::session_key(&cfg, c.headers.iter().copied(), &c.body);
    if content.as_ref().ok() != ref_content.as_ref().ok()
        || content.is_err() != ref_content.is_err()
    {
        return Err(format!(
            "{}: content_key: fast {content:?} != reference {ref_content:?}",
            c.id
        ));
    }
    if session.as_ref().ok() != ref_session.as_ref().ok()
        || session.is_err() != ref_session.is_err()
    {
        return Err(format!(
            "{}: session_key: fast {session:?} != reference {ref_session:?}",
            c.id
        ));
    }
    let error = content.as_ref().err().map(|e| e.kind());
    if let Err(e) = &session {
        if Some(e.kind()) != error {
            return Err(format!(
                "{}: session_key error {e} but content_key {content:?}",
                c.id
            ));
        }
    }
    let mut v = c.inputs();
    v["note"] = json!(c.note);
    v["content_key"] = json!(content.ok().flatten().map(|k| k.to_string()));
    let sk = session.ok().flatten();
    v["session_key"] = json!(sk.map(|s| s.key.to_string()));
    v["source"] = json!(sk.map_or("none".to_owned(), |s| s.source.to_string()));
    v["error"] = json!(error.map(ErrorKind::as_str));
    Ok(v)
}

/// One line, fields in the documented order.
fn line(v: &Value) -> String {
    const ORDER: [&str; 12] = [
        "id",
        "note",
        "config",
        "headers",
        "body",
        "body_b64",
        "content_key",
        "session_key",
        "source",
        "error",
        "same_as",
        "differs_from",
    ];
    let obj = v.as_object().unwrap();
    assert!(
        obj.keys().all(|k| ORDER.contains(&k.as_str())),
        "unknown field in {v}"
    );
    let fields: Vec<String> = ORDER
        .iter()
        .filter_map(|k| obj.get(*k).map(|x| format!("{}:{}", json!(k), x)))
        .collect();
    format!("{{{}}}", fields.join(","))
}

/// `same_as` / `differs_from` over the session keys of `lines` (by id).
fn relations(lines: &[Value]) -> Vec<String> {
    let by_id: HashMap<&str, &Value> = lines
        .iter()
        .map(|v| (v["id"].as_str().unwrap(), v))
        .collect();
    let key = |id: &str| -> Result<&str, String> {
        let v = by_id.get(id).ok_or(format!("unknown id {id}"))?;
        v["session_key"]
            .as_str()
            .ok_or(format!("{id} has no session key"))
    };
    let mut bad = Vec::new();
    for v in lines {
        let id = v["id"].as_str().unwrap();
        if let Some(other) = v["same_as"].as_str() {
            match (key(id), key(other)) {
                (Ok(a), Ok(b)) if a == b => {}
                (a, b) => bad.push(format!("{id} same_as {other}: {a:?} vs {b:?}")),
            }
        }
        for other in v["differs_from"].as_array().into_iter().flatten() {
            let other = other.as_str().unwrap();
            match (key(id), key(other)) {
                (Ok(a), Ok(b)) if a != b => {}
                (a, b) => bad.push(format!("{id} differs_from {other}: {a:?} vs {b:?}")),
            }
        }
    }
    bad
}

fn without_note(v: &Value) -> Value {
    let mut v = v.clone();
    v.as_object_mut().unwrap().remove("note");
    v
}

#[test]
#[ignore = "writes tests/vectors/native-v1.jsonl; run with STICKYKEY_REGEN_VECTORS=1"]
fn regenerate_native_vectors() {
    if std::env::var_os("STICKYKEY_REGEN_VECTORS").as_deref() != Some("1".as_ref()) {
        eprintln!(
            "set STICKYKEY_REGEN_VECTORS=1 to write {}",
            vectors_path().display()
        );
        return;
    }
    let cases = cases();
    let mut ids = HashSet::new();
    for c in &cases {
        assert!(ids.insert(c.id), "duplicate id {}", c.id);
    }
    let computed: Vec<Value> = cases
        .iter()
        .map(|c| compute(c).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let bad = relations(&computed);
    assert!(bad.is_empty(), "relations do not hold:\n{}", bad.join("\n"));

    // native-v1 is frozen: an id already in the file must keep its line (the note may change).
    let path = vectors_path();
    if path.exists() {
        let old = common::read_jsonl(&path);
        let new_by_id: HashMap<&str, &Value> = computed
            .iter()
            .map(|v| (v["id"].as_str().unwrap(), v))
            .collect();
        for o in &old {
            let id = o["id"].as_str().unwrap();
            let n = new_by_id
                .get(id)
                .unwrap_or_else(|| panic!("{id} was removed from cases(): frozen ids stay"));
            assert_eq!(
                without_note(o),
                without_note(n),
                "{id} changed: native-v1 is frozen, a change of rules is native-v2"
            );
        }
    }
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let text: String = computed.iter().map(|v| line(v) + "\n").collect();
    std::fs::write(&path, text).unwrap();
    eprintln!("wrote {} vectors to {}", computed.len(), path.display());
}

fn body_of(v: &Value) -> Vec<u8> {
    match (v["body"].as_str(), v["body_b64"].as_str()) {
        (Some(s), None) => s.as_bytes().to_vec(),
        (None, Some(b)) => base64::engine::general_purpose::STANDARD.decode(b).unwrap(),
        _ => panic!("{}: exactly one of body, body_b64", v["id"]),
    }
}

fn config_of(v: &Value) -> Config {
    let c = &v["config"];
    let mut cfg = Config::native()
        .with_tools_as_set(c["tools_as_set"].as_bool().unwrap())
        .with_key_length(match c["key_bits"].as_u64().unwrap() {
            128 => KeyLength::Bits128,
            256 => KeyLength::Bits256,
            b => panic!("{}: key_bits {b}", v["id"]),
        });
    if let Some(d) = c["max_depth"].as_u64() {
        cfg = cfg.with_limits(Limits {
            max_depth: d as usize,
            ..Limits::default()
        });
    }
    if let Some(f) = c["format"].as_str() {
        cfg = cfg.with_format(format_of(f));
    }
    cfg.with_model_hint(c["model_hint"].as_str())
}

/// A `Format` by its name in the vector file.
fn format_of(name: &str) -> Format {
    match name {
        "auto" => Format::Auto,
        "chat" => Format::Chat,
        "responses" => Format::Responses,
        "anthropic" => Format::Anthropic,
        "gemini" => Format::Gemini,
        other => panic!("unknown format {other}"),
    }
}

fn headers_of(v: &Value) -> Vec<(String, String)> {
    v["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_str().unwrap().to_owned(),
                p[1].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// `content_stream` (no headers) or `stream(headers)` over `body` cut every `size` bytes.
fn streamed(
    fp: &mut Fingerprinter,
    headers: Option<&[(String, String)]>,
    body: &[u8],
    size: usize,
) -> Result<Option<stickykey::SessionKey>, stickykey::Error> {
    let mut s = match headers {
        None => fp.content_stream(),
        Some(h) => fp.stream(h.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
    };
    for chunk in body.chunks(size) {
        s.push(chunk)?;
    }
    s.finish()
}

/// Error kinds the reference reports exactly (serde_json's grammar errors are coarser).
const EXACT_IN_REFERENCE: [ErrorKind; 4] = [
    ErrorKind::DuplicateKey,
    ErrorKind::LoneSurrogate,
    ErrorKind::TooDeep,
    ErrorKind::InvalidUtf8,
];

#[test]
fn native_v1_vectors() {
    let path = vectors_path();
    let lines = common::read_jsonl(&path);

    // The file and the case list agree (inputs and relations, in order).
    let cases = cases();
    let file_ids: Vec<&str> = lines.iter().map(|v| v["id"].as_str().unwrap()).collect();
    let case_ids: Vec<&str> = cases.iter().map(|c| c.id).collect();
    assert_eq!(
        file_ids, case_ids,
        "{} is out of date with cases(): STICKYKEY_REGEN_VECTORS=1 cargo test --release --test native_vectors -- --ignored",
        path.display()
    );
    for (v, c) in lines.iter().zip(&cases) {
        let mut inputs = v.clone();
        let obj = inputs.as_object_mut().unwrap();
        for k in ["note", "content_key", "session_key", "source", "error"] {
            assert!(obj.remove(k).is_some(), "{}: no {k}", c.id);
        }
        assert_eq!(inputs, c.inputs(), "{}: inputs differ from cases()", c.id);
    }

    let mut bad = Vec::new();
    let mut checkers: HashMap<Config, Checker> = HashMap::new();
    // Long-lived fingerprinters per (config, back end): the fragment cache carries over.
    let mut fps: HashMap<(Config, Backend), Fingerprinter> = HashMap::new();
    let mut stats = [0usize; 4]; // content keys, session keys, errors, no key
    for v in &lines {
        let id = v["id"].as_str().unwrap();
        let cfg = config_of(v);
        let body = body_of(v);
        let headers = headers_of(v);
        let pairs = || headers.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        let want_content = v["content_key"].as_str().map(str::to_owned);
        let want_session = v["session_key"].as_str().map(str::to_owned);
        let want_source = v["source"].as_str().unwrap().to_owned();
        let want_error = v["error"].as_str().map(str::to_owned);
        stats[0] += want_content.is_some() as usize;
        stats[1] += want_session.is_some() as usize;
        stats[2] += want_error.is_some() as usize;
        stats[3] += (want_session.is_none() && want_error.is_none()) as usize;
        if want_error.is_some() && want_content.is_some() {
            bad.push(format!("{id}: a refused body cannot have a content key"));
        }
        let key_len = if v["config"]["key_bits"] == 256 {
            64
        } else {
            32
        };
        for k in want_content.iter().chain(&want_session) {
            if k.len() != key_len
                || !k
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            {
                bad.push(format!("{id}: malformed key {k}"));
            }
        }

        // Fast path == reference (every back end, both validation levels, reused, twice).
        let ck = checkers
            .entry(cfg.clone())
            .or_insert_with(|| Checker::new(cfg.clone()));
        ck.content_key(id, &body);
        ck.session_key(id, &headers, &body);

        // The pinned values, through the reference and every back end's fast path.
        let mut outcomes = vec![(
            "reference".to_owned(),
            reference::content_key(&cfg, &body),
            reference::session_key(&cfg, pairs(), &body),
        )];
        for backend in Backend::all_available() {
            let fp = fps
                .entry((cfg.clone(), backend))
                .or_insert_with(|| Fingerprinter::with_backend(cfg.clone(), backend).unwrap());
            for call in 1..=2 {
                outcomes.push((
                    format!("{} call {call}", backend.name()),
                    fp.content_key(&body),
                    fp.session_key(pairs(), &body),
                ));
            }
            let mut fresh = Fingerprinter::with_backend(cfg.clone(), backend).unwrap();
            outcomes.push((
                format!("{} fresh", backend.name()),
                fresh.content_key(&body),
                fresh.session_key(pairs(), &body),
            ));
            // Streamed in chunks (the collector reads every format's members, the replay
            // applies the configured format and hint).
            for size in [1, 7, 64] {
                outcomes.push((
                    format!("{} streamed by {size}", backend.name()),
                    streamed(fp, None, &body, size).map(|k| k.map(|s| s.key)),
                    streamed(fp, Some(&headers), &body, size),
                ));
            }
        }
        for (who, content, session) in outcomes {
            let got_content = content
                .as_ref()
                .ok()
                .copied()
                .flatten()
                .map(|k| k.to_string());
            let got_error = content.as_ref().err().map(|e| e.kind());
            let (got_session, got_source) = match &session {
                Ok(Some(s)) => (Some(s.key.to_string()), s.source.to_string()),
                _ => (None, "none".to_owned()),
            };
            if got_content != want_content {
                bad.push(format!(
                    "{id} ({who}): content_key {got_content:?} != {want_content:?}"
                ));
            }
            if got_session != want_session || got_source != want_source {
                bad.push(format!(
                    "{id} ({who}): session_key {got_session:?} {got_source} != {want_session:?} {want_source}"
                ));
            }
            // The error kind: exact for the fast path; the reference must refuse too, with the
            // same kind where its kinds are exact.
            let want_kind = want_error.as_deref();
            let got_kind = got_error.map(ErrorKind::as_str);
            let exact = who != "reference"
                || got_error.is_some_and(|k| EXACT_IN_REFERENCE.contains(&k))
                || EXACT_IN_REFERENCE
                    .iter()
                    .any(|k| Some(k.as_str()) == want_kind);
            if got_kind.is_some() != want_kind.is_some() || (exact && got_kind != want_kind) {
                bad.push(format!("{id} ({who}): error {got_kind:?} != {want_kind:?}"));
            }
            // session_key is refused with the body unless a header decided.
            let header_won = want_source.starts_with("header:");
            if session.is_err() != (want_kind.is_some() && !header_won) {
                bad.push(format!(
                    "{id} ({who}): session_key {session:?} with error {want_kind:?}"
                ));
            }
        }

        // A 128-bit key is the first half of the 256-bit key (the XOF truncated, SPEC §2, §4.4).
        let other_len = if key_len == 64 {
            KeyLength::Bits128
        } else {
            KeyLength::Bits256
        };
        let other = cfg.clone().with_key_length(other_len);
        let oc = reference::content_key(&other, &body)
            .ok()
            .flatten()
            .map(|k| k.to_string());
        let os = reference::session_key(&other, pairs(), &body)
            .ok()
            .flatten()
            .map(|s| s.key.to_string());
        for (what, mine, theirs) in [
            ("content", &want_content, &oc),
            ("session", &want_session, &os),
        ] {
            let ok = match (mine, theirs) {
                (None, None) => true,
                (Some(a), Some(b)) => a.starts_with(b.as_str()) || b.starts_with(a.as_str()),
                _ => false,
            };
            if !ok {
                bad.push(format!("{id}: {what} key {mine:?} is not a prefix/extension of {theirs:?} at the other length"));
            }
        }
    }
    bad.extend(relations(&lines));
    let mut comparisons = 0;
    for ck in checkers.into_values() {
        comparisons += ck.comparisons;
        bad.extend(ck.mismatches);
    }
    eprintln!(
        "native-v1 vectors: {} cases ({} content keys, {} session keys, {} refused, {} without key), {comparisons} fast-path comparisons",
        lines.len(),
        stats[0],
        stats[1],
        stats[2],
        stats[3]
    );
    assert!(
        lines.len() >= 50,
        "the frozen set has {} cases",
        lines.len()
    );
    assert!(
        bad.is_empty(),
        "{} failures:\n{}",
        bad.len(),
        bad.join("\n")
    );
}
