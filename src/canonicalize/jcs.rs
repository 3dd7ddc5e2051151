//! The native dialect: RFC 8785 (JCS) strings and member order.
//!
//! Strings: `"` and `\` escaped, `\b \f \n \r \t` short, other C0 controls as `\u00xx`
//! (lower-case hex), everything else raw UTF-8 (`/`, DEL, U+2028 included). Members are
//! ordered by the UTF-16 code units of their names. Numbers are not JCS's: see
//! [`number`](super::number).

use std::cmp::Ordering;
use std::fmt::Write as _;

/// Appends `s` as an RFC 8785 string literal.
pub(crate) fn quote_into(s: &str, out: &mut String) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            0x08 => "\\b",
            0x0c => "\\f",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// RFC 8785 §3.2.3 member order: compare names as UTF-16 code unit sequences.
///
/// This differs from byte (code point) order only between a supplementary-plane character
/// (surrogates D800–DFFF) and a BMP character in E000–FFFF.
pub(crate) fn cmp_keys(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
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
