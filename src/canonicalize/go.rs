//! The Go dialect: byte-exact `encoding/json` output and gjson `.String()` of numbers.
//!
//! Facts used (Go 1.22+, `encoding/json/encode.go` and `strconv`):
//! - strings: `"` and `\` escaped; `\b \f \n \r \t` short; other C0 controls and `<` `>` `&`
//!   as `\u00xx` (lower-case hex); U+2028 and U+2029 as `\u2028` `\u2029`; all else raw;
//! - floats: shortest round-trip digits; exponent form when `|f| < 1e-6` or `|f| >= 1e21`
//!   (`1e+21`, `1e-7`: the exponent has at least two digits but a leading zero of a negative
//!   exponent is removed), plain decimal otherwise; `-0` stays `-0`.

use std::fmt::Write as _;

/// Appends `s` as a Go `encoding/json` string literal (with HTML escaping, Go's default).
pub(crate) fn quote_into(s: &str, out: &mut String) {
    out.push('"');
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let esc: Option<&str> = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\u{8}' => Some("\\b"),
            '\u{c}' => Some("\\f"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            '<' => Some("\\u003c"),
            '>' => Some("\\u003e"),
            '&' => Some("\\u0026"),
            '\u{2028}' => Some("\\u2028"),
            '\u{2029}' => Some("\\u2029"),
            c if (c as u32) < 0x20 => None,
            _ => continue,
        };
        out.push_str(&s[start..i]);
        match esc {
            Some(e) => out.push_str(e),
            None => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
        }
        start = i + c.len_utf8();
    }
    out.push_str(&s[start..]);
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
        let s = format!("{f:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        out.push_str(mantissa);
        out.push('e');
        if let Some(neg) = exp.strip_prefix('-') {
            out.push('-');
            out.push_str(neg);
        } else {
            out.push('+');
            if exp.len() < 2 {
                out.push('0');
            }
            out.push_str(exp);
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
        assert_eq!(g("123456789012345678901234567890"), "123456789012345678901234567890");
        assert_eq!(g("1e400"), "+Inf");
        assert_eq!(g("-1e400"), "-Inf");
    }

    #[test]
    fn quoting_like_go() {
        let mut s = String::new();
        quote_into("a<b>&\u{2028}\u{2029}\u{1}\u{7f}/\"\\\t", &mut s);
        assert_eq!(s, "\"a\\u003cb\\u003e\\u0026\\u2028\\u2029\\u0001\u{7f}/\\\"\\\\\\t\"");
    }
}
