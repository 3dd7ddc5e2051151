//! What the alternatives need from Go: `encoding/json`'s Marshal of a decoded `any`
//! (sorted keys, float64 numbers, HTML-safe string escaping), gjson's `Result.String()` of a
//! number, and `strings.TrimSpace` + xxh64 of the seed.

use std::fmt::Write as _;

/// `encoding/json` Marshal of a float64: `strconv.AppendFloat(f, 'f', -1, 64)` when
/// `1e-6 <= |f| < 1e21` or `f == 0`, else `'e'` notation with Go's exponent spelling
/// (`e+21`, `e-7`). Both use the shortest digits that round trip, as Rust's `{}` and `{:e}`.
pub fn write_float(f: f64, out: &mut String) {
    let abs = f.abs();
    if abs == 0.0 || (1e-6..1e21).contains(&abs) {
        // Rust's Display never uses exponent notation and prints `-0` for negative zero.
        let _ = write!(out, "{f}");
        return;
    }
    // Rust: `1e21`, `1.2345678901234568e29`, `1e-7`. Go: `1e+21`, `1.2345678901234568e+29`,
    // `1e-7` (Go writes `e-07`, then encoding/json drops the zero of a one-digit exponent).
    let mut buf = String::new();
    let _ = write!(buf, "{f:e}");
    let (mantissa, exp) = buf
        .split_once('e')
        .expect("LowerExp always has an exponent");
    let exp: i32 = exp.parse().expect("LowerExp exponent is an integer");
    out.push_str(mantissa);
    if exp < 0 {
        let _ = write!(out, "e-{}", -exp);
    } else {
        let _ = write!(out, "e+{exp:02}");
    }
}

/// `strconv.FormatFloat(f, 'f', -1, 64)`: plain notation, shortest round-trip digits, Go's
/// spellings of the infinities.
pub fn write_float_plain(f: f64, out: &mut String) {
    if f.is_infinite() {
        out.push_str(if f > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        let _ = write!(out, "{f}");
    }
}

/// gjson `Result.String()` of a number: the raw text when it is an optional `-` followed by
/// digits only, else `FormatFloat(ParseFloat(raw), 'f', -1, 64)`.
pub fn write_gjson_number(raw: &str, out: &mut String) {
    let digits = raw.strip_prefix('-').unwrap_or(raw);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        out.push_str(raw);
    } else {
        // ParseFloat rounds correctly, as Rust's parser does; an overflow gives ±Inf.
        write_float_plain(raw.parse::<f64>().unwrap_or(f64::NAN), out);
    }
}

/// `encoding/json` string encoding with HTML escaping (the `json.Marshal` default).
pub fn write_string(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let esc: Option<&str> = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            '\u{8}' => Some("\\b"),
            '\u{c}' => Some("\\f"),
            '\u{2028}' => Some("\\u2028"),
            '\u{2029}' => Some("\\u2029"),
            c if (c as u32) < 0x20 || c == '<' || c == '>' || c == '&' => None,
            _ => continue,
        };
        out.push_str(&s[start..i]);
        match esc {
            Some(e) => out.push_str(e),
            None => {
                let b = bytes[i];
                out.push_str("\\u00");
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 15) as usize] as char);
            }
        }
        start = i + c.len_utf8();
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// `json.Marshal` of what `json.Unmarshal` into `any` makes of a serde_json value. The map is
/// serde_json's default `BTreeMap<String, _>`: keys sorted bytewise like Go's, and the last
/// duplicate wins, like Go's.
pub fn write_serde_value(v: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            // Go decodes every number to float64; `as f64` on integers rounds to nearest even,
            // as Go's ParseFloat does (9007199254740993 -> 9007199254740992).
            let f = if let Some(u) = n.as_u64() {
                u as f64
            } else if let Some(i) = n.as_i64() {
                i as f64
            } else {
                n.as_f64().unwrap_or(f64::NAN)
            };
            write_float(f, out);
        }
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_serde_value(x, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, x)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(k, out);
                out.push(':');
                write_serde_value(x, out);
            }
            out.push('}');
        }
    }
}

/// sub2api `normalizeCompatSeedJSON` of one raw fragment through serde_json: parse into a
/// `serde_json::Value` (recursion limit lifted: tool schemas can nest deeper than 128), then
/// marshal Go-style. `None` when serde_json refuses the text (lone surrogates, `1e400`).
pub fn normalize_with_serde(raw: &str, out: &mut String) -> Option<()> {
    let mut de = serde_json::Deserializer::from_str(raw);
    de.disable_recursion_limit();
    let v: serde_json::Value = serde::Deserialize::deserialize(&mut de).ok()?;
    write_serde_value(&v, out);
    Some(())
}

/// sub2api `deriveOpenAISessionHashes`: xxh64 (seed 0) of the seed trimmed of Unicode white
/// space (Go's `unicode.IsSpace` is the White_Space property, as Rust's `char::is_whitespace`).
pub fn key_of_seed(seed: &str) -> Option<u64> {
    let v = seed.trim();
    (!v.is_empty()).then(|| xxhash_rust::xxh64::xxh64(v.as_bytes(), 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn float(f: f64) -> String {
        let mut s = String::new();
        write_float(f, &mut s);
        s
    }

    #[test]
    fn floats_print_like_go() {
        assert_eq!(float(1.0), "1");
        assert_eq!(float(-0.0), "-0");
        assert_eq!(float(1e21), "1e+21");
        assert_eq!(float(1e20), "100000000000000000000");
        assert_eq!(float(1e-7), "1e-7");
        assert_eq!(float(1.5e-10), "1.5e-10");
        assert_eq!(float(0.000001), "0.000001");
        assert_eq!(float(1.2345678901234568e29), "1.2345678901234568e+29");
        assert_eq!(float(1e308), "1e+308");
        assert_eq!(float(9007199254740993u64 as f64), "9007199254740992");
    }

    #[test]
    fn strings_escape_like_go() {
        let mut s = String::new();
        write_string("a\"\\\n\u{8}\u{1}<>&\u{2028}\u{7f}/é", &mut s);
        assert_eq!(
            s,
            "\"a\\\"\\\\\\n\\b\\u0001\\u003c\\u003e\\u0026\\u2028\u{7f}/é\""
        );
    }
}
