//! The Go dialect: byte-exact `encoding/json` output and gjson `.String()` of numbers.
//!
//! Facts used (Go 1.22+, `encoding/json/encode.go` and `strconv`):
//! - strings: `"` and `\` escaped; `\b \f \n \r \t` short; other C0 controls and `<` `>` `&`
//!   as `\u00xx` (lower-case hex); U+2028 and U+2029 as `\u2028` `\u2029`; all else raw;
//! - floats: shortest round-trip digits; exponent form when `|f| < 1e-6` or `|f| >= 1e21`
//!   (`1e+21`, `1e-7`: the exponent has at least two digits but a leading zero of a negative
//!   exponent is removed), plain decimal otherwise; `-0` stays `-0`.

use super::text::{self, SurrogateRule};
use super::tree::{Member, Val};
use bumpalo::collections::Vec as BVec;
use bumpalo::Bump;
use std::fmt::Write as _;

/// Bytes that need a decision when Go escapes text: C0 controls, `"`, `\`, `<`, `>`, `&`,
/// and 0xE2 (the lead byte of U+2028 and U+2029).
static GO_SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t[b'<' as usize] = true;
    t[b'>' as usize] = true;
    t[b'&' as usize] = true;
    t[0xE2] = true;
    t
};

/// Appends one character as Go escapes it inside a string literal.
fn escape_char(c: char, out: &mut String) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
            let _ = write!(out, "\\u{:04x}", c as u32);
        }
        c if (c as u32) < 0x20 => {
            let _ = write!(out, "\\u{:04x}", c as u32);
        }
        c => out.push(c),
    }
}

/// Appends `s` escaped as Go does, without the quotes: runs of plain bytes are copied whole.
fn escape_body(s: &str, out: &mut String) {
    let b = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        if !GO_SPECIAL[b[i] as usize] {
            i += 1;
            continue;
        }
        if b[i] == 0xE2
            && !(b.get(i + 1) == Some(&0x80) && matches!(b.get(i + 2), Some(0xA8 | 0xA9)))
        {
            i += 1;
            continue;
        }
        out.push_str(&s[start..i]);
        let c = s[i..].chars().next().unwrap_or('\u{FFFD}');
        escape_char(c, out);
        i += c.len_utf8();
        start = i;
    }
    out.push_str(&s[start..]);
}

/// Appends `s` as a Go `encoding/json` string literal (with HTML escaping, Go's default).
pub(crate) fn quote_into(s: &str, out: &mut String) {
    out.push('"');
    escape_body(s, out);
    out.push('"');
}

/// Appends the string token whose inside is `raw` as Go would re-marshal its decoded value
/// (`encoding/json` surrogate rule), without building the decoded string first.
pub(crate) fn quote_raw_into(raw: &[u8], escaped: bool, out: &mut String) {
    out.push('"');
    if !escaped {
        escape_body(text::run_str(raw), out);
    } else {
        let mut i = 0;
        while i < raw.len() {
            let run_end = memchr::memchr(b'\\', &raw[i..]).map_or(raw.len(), |p| i + p);
            if run_end > i {
                escape_body(text::run_str(&raw[i..run_end]), out);
                i = run_end;
                continue;
            }
            let (c, n) = text::decode_escape(raw, i, SurrogateRule::EncodingJson);
            escape_char(c, out);
            i += n;
        }
    }
    out.push('"');
}

/// Parses a JSON number lexeme as Go's `strconv.ParseFloat(s, 64)` would: correctly rounded.
/// `None` when it overflows (Go reports a range error; `encoding/json` then fails).
pub(crate) fn parse_f64(lexeme: &str) -> Option<f64> {
    lexeme.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// Appends a finite float64 as `encoding/json` marshals it.
pub(crate) fn float_into(f: f64, out: &mut String) {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // Rust's `{:e}` gives the same shortest digits as Go's 'e' with precision -1,
        // but spells the exponent `e21` / `e-7`; Go spells it `e+21` / `e-07` then trims
        // the negative exponent's leading zero, so only the sign differs.
        // Written in place (no temporary string): only the exponent's spelling is fixed up.
        let start = out.len();
        let _ = write!(out, "{f:e}");
        let e = start + out[start..].find('e').unwrap_or(out.len() - start);
        if out.as_bytes().get(e + 1) != Some(&b'-') {
            let digits = out.len() - (e + 1);
            out.insert(e + 1, '+');
            if digits < 2 {
                out.insert(e + 2, '0');
            }
        }
    } else {
        // Rust's `Display` for f64 is the shortest round-trip digits in plain notation,
        // like Go's 'f' with precision -1 ("-0" included).
        let _ = write!(out, "{f}");
    }
}

/// gjson's `Result.String()` of a number token: the raw text when it is an optional `-`
/// followed by digits only, else `strconv.FormatFloat(ParseFloat(raw), 'f', -1, 64)`
/// (so `1.0` is `1`, `1e-7` is `0.0000001`, and an overflow is `+Inf`).
pub(crate) fn gjson_number_string(lexeme: &str, out: &mut String) {
    let digits = lexeme.strip_prefix('-').unwrap_or(lexeme);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        out.push_str(lexeme);
        return;
    }
    let f: f64 = lexeme.parse().unwrap_or(0.0);
    if f.is_infinite() {
        out.push_str(if f > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        let _ = write!(out, "{f}");
    }
}

/// Writes a fragment tree as `encoding/json` would marshal what `Unmarshal` into `any` made
/// of it: last duplicate wins, names sorted by bytes. `Err(())` when a number overflows
/// float64 (Go's Unmarshal fails; the caller then keeps the raw text).
pub(crate) fn write_tree<'a>(v: Val<'a>, arena: &'a Bump, out: &mut String) -> Result<(), ()> {
    enum Frame<'a> {
        Arr(&'a [Val<'a>], usize),
        Obj(&'a [(&'a str, Val<'a>)], usize),
    }
    let mut stack: BVec<'a, Frame<'a>> = BVec::new_in(arena);
    let mut next = Some(v);
    loop {
        if let Some(v) = next.take() {
            match v {
                Val::Null => out.push_str("null"),
                Val::Bool(b) => out.push_str(if b { "true" } else { "false" }),
                Val::Num(lex) => {
                    let f = std::str::from_utf8(lex)
                        .ok()
                        .and_then(parse_f64)
                        .ok_or(())?;
                    float_into(f, out);
                }
                Val::Str(s) => quote_raw_into(s.raw, s.escaped, out),
                Val::Arr(items) => {
                    out.push('[');
                    stack.push(Frame::Arr(items, 0));
                }
                Val::Obj(members) => {
                    out.push('{');
                    stack.push(Frame::Obj(sorted_last_wins(members, arena), 0));
                }
            }
        }
        let Some(top) = stack.last_mut() else {
            return Ok(());
        };
        match top {
            Frame::Arr(items, i) if *i < items.len() => {
                if *i > 0 {
                    out.push(',');
                }
                next = Some(items[*i]);
                *i += 1;
            }
            Frame::Obj(members, i) if *i < members.len() => {
                if *i > 0 {
                    out.push(',');
                }
                let (name, val) = members[*i];
                quote_into(name, out);
                out.push(':');
                next = Some(val);
                *i += 1;
            }
            Frame::Arr(..) => {
                out.push(']');
                stack.pop();
            }
            Frame::Obj(..) => {
                out.push('}');
                stack.pop();
            }
        }
    }
}

/// `map[string]any` order: names sorted bytewise, the last of equal names kept.
fn sorted_last_wins<'a>(members: &'a [Member<'a>], arena: &'a Bump) -> &'a [(&'a str, Val<'a>)] {
    let mut all = BVec::with_capacity_in(members.len(), arena);
    all.extend(
        members
            .iter()
            .enumerate()
            .map(|(i, m)| (m.name.decoded(arena), i, m.val)),
    );
    all.sort_unstable_by(|a, b| a.0.cmp(b.0).then(a.1.cmp(&b.1)));
    let mut out = BVec::with_capacity_in(all.len(), arena);
    for (j, &(name, _, val)) in all.iter().enumerate() {
        if all.get(j + 1).is_none_or(|n| n.0 != name) {
            out.push((name, val));
        }
    }
    out.into_bump_slice()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fl(f: f64) -> String {
        let mut s = String::new();
        float_into(f, &mut s);
        s
    }

    #[test]
    fn floats_like_go() {
        assert_eq!(fl(1.0), "1");
        assert_eq!(fl(-0.0), "-0");
        assert_eq!(fl(1e-7), "1e-7");
        assert_eq!(fl(1e-6), "0.000001");
        assert_eq!(fl(1e21), "1e+21");
        assert_eq!(fl(1e20), "100000000000000000000");
        assert_eq!(fl(1.2345678901234568e29), "1.2345678901234568e+29");
        assert_eq!(fl(1e100), "1e+100");
        assert_eq!(fl(5e-324), "5e-324");
        assert_eq!(fl(0.1), "0.1");
        assert_eq!(fl(12345678901234567890.0), "12345678901234567000");
    }

    #[test]
    fn gjson_numbers() {
        let g = |s: &str| {
            let mut o = String::new();
            gjson_number_string(s, &mut o);
            o
        };
        assert_eq!(g("1.0"), "1");
        assert_eq!(g("1e-7"), "0.0000001");
        assert_eq!(g("-0"), "-0");
        assert_eq!(
            g("123456789012345678901234567890"),
            "123456789012345678901234567890"
        );
        assert_eq!(g("1e400"), "+Inf");
        assert_eq!(g("-1e400"), "-Inf");
    }

    #[test]
    fn quoting_like_go() {
        let mut s = String::new();
        quote_into("a<b>&\u{2028}\u{2029}\u{1}\u{7f}/\"\\\t", &mut s);
        assert_eq!(
            s,
            "\"a\\u003cb\\u003e\\u0026\\u2028\\u2029\\u0001\u{7f}/\\\"\\\\\\t\""
        );
    }
}
