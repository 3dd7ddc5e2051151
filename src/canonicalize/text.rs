//! Decoding of JSON string escapes, in the two flavours the sub2api profile needs.
//!
//! Go has two different decoders on the path of one request: gjson's (for `.String()` of a
//! looked-up value and for key matching) and `encoding/json`'s (for canonical fragments). They
//! disagree on invalid surrogate escapes, and byte-exact compatibility needs both.

/// Where decoded text goes: a `String` or an arena string.
pub(crate) trait TextOut {
    fn push_str(&mut self, s: &str);
    fn push(&mut self, c: char);
}

impl TextOut for String {
    fn push_str(&mut self, s: &str) {
        String::push_str(self, s)
    }
    fn push(&mut self, c: char) {
        String::push(self, c)
    }
}

impl TextOut for bumpalo::collections::String<'_> {
    fn push_str(&mut self, s: &str) {
        bumpalo::collections::String::push_str(self, s)
    }
    fn push(&mut self, c: char) {
        bumpalo::collections::String::push(self, c)
    }
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

/// Decodes the escape at `raw[i]` (a backslash) of a validated string token: the character
/// and the number of bytes consumed. Invalid surrogates follow `rule`.
pub(crate) fn decode_escape(raw: &[u8], i: usize, rule: SurrogateRule) -> (char, usize) {
    let c = match raw.get(i + 1) {
        Some(b'"') => '"',
        Some(b'\\') => '\\',
        Some(b'/') => '/',
        Some(b'b') => '\u{8}',
        Some(b'f') => '\u{c}',
        Some(b'n') => '\n',
        Some(b'r') => '\r',
        Some(b't') => '\t',
        Some(b'u') => {
            let Some(c) = hex4(&raw[i + 2..]) else {
                return ('\u{FFFD}', raw.len() - i);
            };
            if !is_surrogate(c) {
                return (char::from_u32(c).unwrap_or('\u{FFFD}'), 6);
            }
            let j = i + 6;
            let next = if raw.get(j) == Some(&b'\\') && raw.get(j + 1) == Some(&b'u') {
                hex4(&raw[j + 2..])
            } else {
                None
            };
            return match (rule, next) {
                (SurrogateRule::Gjson, Some(lo)) => (pair_char(c, lo), 12),
                (_, Some(lo)) if decode_pair(c, lo).is_some() => (pair_char(c, lo), 12),
                _ => ('\u{FFFD}', 6),
            };
        }
        _ => return ('\u{FFFD}', (raw.len() - i).max(1)),
    };
    (c, 2)
}

fn pair_char(hi: u32, lo: u32) -> char {
    decode_pair(hi, lo)
        .and_then(char::from_u32)
        .unwrap_or('\u{FFFD}')
}

/// The validated UTF-8 text of a run of a string token (between escapes).
pub(crate) fn run_str(run: &[u8]) -> &str {
    // The scanner validated the body's UTF-8 and runs end at ASCII bytes, so this never
    // fails; simdutf8 makes the re-check cost little.
    simdutf8::basic::from_utf8(run).unwrap_or_default()
}

/// Decodes the inside of a JSON string token (without the quotes) that the validator accepted.
pub(crate) fn unescape_into(raw: &[u8], rule: SurrogateRule, out: &mut impl TextOut) {
    let mut i = 0;
    while i < raw.len() {
        let run_end = memchr::memchr(b'\\', &raw[i..]).map_or(raw.len(), |p| i + p);
        if run_end > i {
            out.push_str(run_str(&raw[i..run_end]));
            i = run_end;
            continue;
        }
        let (c, n) = decode_escape(raw, i, rule);
        out.push(c);
        i += n;
    }
}

/// Decodes a member name into the arena (encoding/json rule; names only need equality).
pub(crate) fn unescape_bump(raw: &[u8], out: &mut bumpalo::collections::String<'_>) {
    unescape_into(raw, SurrogateRule::EncodingJson, out)
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
        assert_eq!(
            unescape(br"\ud83d\ude00", SurrogateRule::EncodingJson),
            "😀"
        );
        assert_eq!(
            unescape(br#"\"\\\/\b\f\n\r\t\u00e9"#, SurrogateRule::Strict),
            "\"\\/\u{8}\u{c}\n\r\té"
        );
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
