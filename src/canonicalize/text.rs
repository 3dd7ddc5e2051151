//! Decoding of JSON string escapes, in the two flavours the sub2api profile needs.
//!
//! Go has two different decoders on the path of one request: gjson's (for `.String()` of a
//! looked-up value and for key matching) and `encoding/json`'s (for canonical fragments). They
//! disagree on invalid surrogate escapes, and byte-exact compatibility needs both.

/// Appends the UTF-8 of `c` (or U+FFFD for a surrogate code point) to `out`.
fn push_code_point(out: &mut String, c: u32) {
    out.push(char::from_u32(c).unwrap_or('\u{FFFD}'));
}

fn hex4(s: &[u8]) -> Option<u32> {
    if s.len() < 4 {
        return None;
    }
    let mut v = 0u32;
    for &b in &s[..4] {
        v = v * 16 + (b as char).to_digit(16)?;
    }
    Some(v)
}

fn is_surrogate(c: u32) -> bool {
    (0xD800..0xE000).contains(&c)
}

fn decode_pair(hi: u32, lo: u32) -> Option<u32> {
    if (0xD800..0xDC00).contains(&hi) && (0xDC00..0xE000).contains(&lo) {
        Some(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
    } else {
        None
    }
}

/// Which decoder's surrogate rule to follow.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[allow(dead_code)] // the fast engine (scan/extract) uses all three
pub(crate) enum SurrogateRule {
    /// `encoding/json`: an invalid surrogate becomes U+FFFD and the next escape is decoded on
    /// its own (`\ud83d\u0041` is "\u{FFFD}A").
    EncodingJson,
    /// gjson: a surrogate followed by any `\u` escape swallows it (`\ud83d\u0041` is
    /// "\u{FFFD}"); a surrogate not followed by `\u` is U+FFFD.
    Gjson,
    /// Lone surrogates are impossible (the validator already refused them).
    Strict,
}

/// Decodes the inside of a JSON string token (without the quotes) that the validator accepted.
pub(crate) fn unescape_into(raw: &[u8], rule: SurrogateRule, out: &mut String) {
    let mut i = 0;
    while i < raw.len() {
        // Copy the run up to the next backslash in one go.
        let run_end = raw[i..]
            .iter()
            .position(|&b| b == b'\\')
            .map_or(raw.len(), |p| i + p);
        if run_end > i {
            // The validator guarantees UTF-8; fall back to lossy rather than panic.
            out.push_str(&String::from_utf8_lossy(&raw[i..run_end]));
            i = run_end;
            continue;
        }
        let Some(&e) = raw.get(i + 1) else { return };
        i += 2;
        let simple = match e {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let Some(c) = hex4(&raw[i..]) else { return };
                i += 4;
                if !is_surrogate(c) {
                    push_code_point(out, c);
                    continue;
                }
                let next = if raw.get(i) == Some(&b'\\') && raw.get(i + 1) == Some(&b'u') {
                    hex4(&raw[i + 2..])
                } else {
                    None
                };
                match (rule, next) {
                    (SurrogateRule::Gjson, Some(lo)) => {
                        i += 6;
                        push_code_point(out, decode_pair(c, lo).unwrap_or(0xFFFD));
                    }
                    (_, Some(lo)) if decode_pair(c, lo).is_some() => {
                        i += 6;
                        push_code_point(out, decode_pair(c, lo).unwrap_or(0xFFFD));
                    }
                    _ => push_code_point(out, 0xFFFD),
                }
                continue;
            }
            _ => return,
        };
        out.push(simple);
    }
}

/// Decodes into a fresh `String`.
pub(crate) fn unescape(raw: &[u8], rule: SurrogateRule) -> String {
    let mut s = String::with_capacity(raw.len());
    unescape_into(raw, rule, &mut s);
    s
}

/// Does this string token contain a `\u` surrogate escape that is not half of a valid pair?
/// Returns the byte offset (within `raw`) of the first one.
pub(crate) fn find_lone_surrogate(raw: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < raw.len() {
        if raw[i] != b'\\' {
            i += 1;
            continue;
        }
        if raw.get(i + 1) != Some(&b'u') {
            i += 2;
            continue;
        }
        let c = hex4(&raw[i + 2..])?;
        if !is_surrogate(c) {
            i += 6;
            continue;
        }
        let lo = if raw.get(i + 6) == Some(&b'\\') && raw.get(i + 7) == Some(&b'u') {
            hex4(&raw[i + 8..])
        } else {
            None
        };
        match lo {
            Some(lo) if decode_pair(c, lo).is_some() => i += 12,
            _ => return Some(i),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surrogate_rules_differ_like_go() {
        let raw = br"A\ud83d\u0041B|\udc00Z|\ud800";
        assert_eq!(
            unescape(raw, SurrogateRule::Gjson),
            "A\u{FFFD}B|\u{FFFD}Z|\u{FFFD}"
        );
        assert_eq!(
            unescape(raw, SurrogateRule::EncodingJson),
            "A\u{FFFD}AB|\u{FFFD}Z|\u{FFFD}"
        );
        assert_eq!(unescape(br"\ud83d\ude00", SurrogateRule::Gjson), "😀");
        assert_eq!(unescape(br"\ud83d\ude00", SurrogateRule::EncodingJson), "😀");
        assert_eq!(unescape(br#"\"\\\/\b\f\n\r\t\u00e9"#, SurrogateRule::Strict), "\"\\/\u{8}\u{c}\n\r\té");
    }

    #[test]
    fn lone_surrogate_detection() {
        assert_eq!(find_lone_surrogate(br"ab\ud83d\ude00"), None);
        assert_eq!(find_lone_surrogate(br"ab\\ud800"), None);
        assert_eq!(find_lone_surrogate(br"ab\ud800"), Some(2));
        assert_eq!(find_lone_surrogate(br"\ude00\ud83d"), Some(0));
        assert_eq!(find_lone_surrogate(br"x\ud83d\u0041"), Some(1));
    }
}
