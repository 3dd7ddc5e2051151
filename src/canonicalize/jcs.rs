//! The native dialect: RFC 8785 (JCS) strings and member order.
//!
//! Strings: `"` and `\` escaped, `\b \f \n \r \t` short, other C0 controls as `\u00xx`
//! (lower-case hex), everything else raw UTF-8 (`/`, DEL, U+2028 included). Members are
//! ordered by the UTF-16 code units of their names. Numbers are not JCS's: see
//! [`number`](super::number).

use super::number;
use super::text::{self, SurrogateRule};
use super::tree::{Member, Val};
use bumpalo::collections::Vec as BVec;
use bumpalo::Bump;
use std::cmp::Ordering;
use std::fmt::Write as _;

/// Appends one character as RFC 8785 escapes it inside a string literal.
fn escape_char(c: char, out: &mut String) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x20 => {
            let _ = write!(out, "\\u{:04x}", c as u32);
        }
        c => out.push(c),
    }
}

/// Appends `s` escaped, without the quotes: runs of plain bytes are copied whole.
fn escape_body(s: &str, out: &mut String) {
    let b = s.as_bytes();
    let mut start = 0;
    for (i, &x) in b.iter().enumerate() {
        if x < 0x20 || x == b'"' || x == b'\\' {
            out.push_str(&s[start..i]);
            escape_char(x as char, out);
            start = i + 1;
        }
    }
    out.push_str(&s[start..]);
}

/// Appends `s` as an RFC 8785 string literal.
pub(crate) fn quote_into(s: &str, out: &mut String) {
    out.push('"');
    escape_body(s, out);
    out.push('"');
}

/// Appends the string token whose inside is `raw` in canonical form, without building the
/// decoded string first: an unescaped token is already canonical inside.
pub(crate) fn quote_raw_into(raw: &[u8], escaped: bool, out: &mut String) {
    out.push('"');
    if !escaped {
        // A valid token holds no `"`, `\` or control character: nothing to escape.
        out.push_str(text::run_str(raw));
    } else {
        let mut i = 0;
        while i < raw.len() {
            let run_end = memchr::memchr(b'\\', &raw[i..]).map_or(raw.len(), |p| i + p);
            if run_end > i {
                out.push_str(text::run_str(&raw[i..run_end]));
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

/// RFC 8785 §3.2.3 member order: compare names as UTF-16 code unit sequences.
///
/// This differs from byte (code point) order only between a supplementary-plane character
/// (surrogates D800–DFFF) and a BMP character in E000–FFFF.
pub(crate) fn cmp_keys(a: &str, b: &str) -> Ordering {
    let (x, y) = (a.as_bytes(), b.as_bytes());
    match x.iter().zip(y).position(|(p, q)| p != q) {
        None => x.len().cmp(&y.len()),
        // Below lead byte 0xEE both characters are under U+E000, where UTF-16 order is
        // code point order is UTF-8 byte order. (A difference after equal lead bytes is
        // also safe, but rare enough not to special-case.)
        Some(k) if x[k] < 0xEE && y[k] < 0xEE => x[k].cmp(&y[k]),
        Some(_) => a.encode_utf16().cmp(b.encode_utf16()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_order_differs_from_utf8_order() {
        // U+1F600 (surrogates D83D DE00) sorts before U+FF21 in UTF-16 but after it in UTF-8.
        assert_eq!(cmp_keys("😀", "Ａ"), Ordering::Less);
        assert_eq!("😀".cmp("Ａ"), Ordering::Greater);
        assert_eq!(cmp_keys("a", "b"), Ordering::Less);
    }

    #[test]
    fn minimal_escapes() {
        let mut s = String::new();
        quote_into("a/\u{7f}\u{2028}<\"\\\u{1}\n", &mut s);
        assert_eq!(s, "\"a/\u{7f}\u{2028}<\\\"\\\\\\u0001\\n\"");
    }
}

/// What a native writer refuses.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Duplicate {
    /// The repeated name as written (its address locates it in the body).
    pub at: *const u8,
}

/// Members in RFC 8785 order; a repeated name (`cache_control` included) is an error.
fn sorted_unique<'a>(
    members: &'a [Member<'a>],
    arena: &'a Bump,
) -> Result<&'a [(&'a str, Member<'a>)], Duplicate> {
    let mut all = BVec::with_capacity_in(members.len(), arena);
    all.extend(members.iter().map(|m| (m.name.decoded(arena), *m)));
    all.sort_unstable_by(|a, b| cmp_keys(a.0, b.0));
    if let Some(w) = all.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(Duplicate {
            at: w[1].1.name.raw.as_ptr(),
        });
    }
    Ok(all.into_bump_slice())
}

/// Checks a subtree that is dropped from the output (a `cache_control` value) for repeated
/// names, so that dropping never hides an error the reference reports.
pub(crate) fn check_unique<'a>(v: Val<'a>, arena: &'a Bump) -> Result<(), Duplicate> {
    let mut todo: BVec<'a, Val<'a>> = BVec::new_in(arena);
    todo.push(v);
    while let Some(v) = todo.pop() {
        match v {
            Val::Arr(items) => todo.extend(items.iter().copied()),
            Val::Obj(members) => {
                sorted_unique(members, arena)?;
                todo.extend(members.iter().map(|m| m.val));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Writes a fragment tree in the native canonical form, dropping `cache_control` members.
pub(crate) fn write_tree<'a>(
    v: Val<'a>,
    arena: &'a Bump,
    out: &mut String,
) -> Result<(), Duplicate> {
    enum Frame<'a> {
        Arr(&'a [Val<'a>], usize),
        Obj(&'a [(&'a str, Member<'a>)], usize, bool),
    }
    let mut stack: BVec<'a, Frame<'a>> = BVec::new_in(arena);
    let mut next = Some(v);
    loop {
        if let Some(v) = next.take() {
            match v {
                Val::Null => out.push_str("null"),
                Val::Bool(b) => out.push_str(if b { "true" } else { "false" }),
                Val::Num(lex) => number::exact_decimal_into(lex, out),
                Val::Str(s) => quote_raw_into(s.raw, s.escaped, out),
                Val::Arr(items) => {
                    out.push('[');
                    stack.push(Frame::Arr(items, 0));
                }
                Val::Obj(members) => {
                    out.push('{');
                    stack.push(Frame::Obj(sorted_unique(members, arena)?, 0, false));
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
            Frame::Obj(members, i, wrote) if *i < members.len() => {
                let (name, m) = members[*i];
                *i += 1;
                if name == "cache_control" {
                    check_unique(m.val, arena)?;
                    continue;
                }
                if *wrote {
                    out.push(',');
                }
                *wrote = true;
                quote_into(name, out);
                out.push(':');
                next = Some(m.val);
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
