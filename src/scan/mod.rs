//! Stage 1 of the pipeline: reading the body's bytes.
//!
//! [`validate`] checks a whole body against RFC 8259 in one pass, without recursion: the
//! nesting is kept in a bit stack (one bit per open container), so a body of 100 000 `[`
//! costs 12.5 KB of scratch, not 100 000 stack frames. Errors carry the byte offset.

use crate::error::{Error, ErrorKind};

pub(crate) mod block;
pub(crate) mod simd;

/// One bit per open container: 1 = object, 0 = array. Reused across requests.
#[derive(Default, Debug)]
pub(crate) struct BitStack {
    words: Vec<u64>,
    len: usize,
}

impl BitStack {
    pub(crate) fn clear(&mut self) {
        self.len = 0;
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn push(&mut self, is_object: bool) {
        let (w, b) = (self.len / 64, self.len % 64);
        if w == self.words.len() {
            self.words.push(0);
        }
        if is_object {
            self.words[w] |= 1 << b;
        } else {
            self.words[w] &= !(1 << b);
        }
        self.len += 1;
    }

    pub(crate) fn pop(&mut self) {
        self.len -= 1;
    }

    /// `Some(true)` when the innermost open container is an object.
    pub(crate) fn top(&self) -> Option<bool> {
        let i = self.len.checked_sub(1)?;
        Some(self.words[i / 64] >> (i % 64) & 1 == 1)
    }
}

#[inline]
pub(crate) fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

#[inline]
pub(crate) fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && is_ws(b[i]) {
        i += 1;
    }
    i
}

/// What the validator checks beyond the grammar, and the kernels it runs on.
#[derive(Clone, Copy)]
pub(crate) struct Rules {
    pub max_depth: usize,
    /// Refuse `\u` surrogate escapes that are not a valid pair (native profile).
    pub reject_lone_surrogates: bool,
    pub kernels: &'static simd::Kernels,
    /// The block validator of the back end (see [`block::validate_value`]).
    pub validate: block::ValidateFn,
    /// Skipping, not validating, a string (Extracted validation): the block validator only
    /// looks for its closing quote.
    pub loose_strings: bool,
}

impl std::fmt::Debug for Rules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rules")
            .field("max_depth", &self.max_depth)
            .field("reject_lone_surrogates", &self.reject_lone_surrogates)
            .finish_non_exhaustive()
    }
}

fn err<T>(kind: ErrorKind, at: usize) -> Result<T, Error> {
    Err(Error::new(kind, at))
}

fn hex_value(b: u8) -> Option<u32> {
    (b as char).to_digit(16)
}

pub(crate) fn read_hex4(b: &[u8], i: usize) -> Result<u32, Error> {
    let mut v = 0;
    for k in 0..4 {
        match b.get(i + k) {
            None => return err(ErrorKind::UnexpectedEnd, b.len()),
            Some(&c) => match hex_value(c) {
                Some(h) => v = v * 16 + h,
                None => return err(ErrorKind::InvalidEscape, i + k),
            },
        }
    }
    Ok(v)
}

/// Validates the string token that starts with the quote at `i`; returns the index just
/// past its closing quote. The body is already known to be valid UTF-8.
pub(crate) fn scan_string(b: &[u8], i: usize, rules: Rules) -> Result<usize, Error> {
    let mut j = i + 1;
    loop {
        // The kernel runs to the next byte that needs a decision.
        j = (rules.kernels.string_special)(b, j);
        let Some(&c) = b.get(j) else {
            return err(ErrorKind::UnexpectedEnd, b.len());
        };
        match c {
            b'"' => return Ok(j + 1),
            b'\\' => {
                let Some(&e) = b.get(j + 1) else {
                    return err(ErrorKind::UnexpectedEnd, b.len());
                };
                match e {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => j += 2,
                    b'u' => {
                        let cp = read_hex4(b, j + 2)?;
                        if rules.reject_lone_surrogates && (0xD800..0xE000).contains(&cp) {
                            let paired = cp < 0xDC00
                                && b.get(j + 6) == Some(&b'\\')
                                && b.get(j + 7) == Some(&b'u')
                                && matches!(read_hex4(b, j + 8), Ok(lo) if (0xDC00..0xE000).contains(&lo));
                            if !paired {
                                return err(ErrorKind::LoneSurrogate, j);
                            }
                            j += 6;
                        }
                        j += 6;
                    }
                    _ => return err(ErrorKind::InvalidEscape, j + 1),
                }
            }
            0..=0x1f => return err(ErrorKind::ControlCharacter, j),
            _ => j += 1,
        }
    }
}

/// Validates the number token at `i`; returns the index just past it.
pub(crate) fn scan_number(b: &[u8], i: usize) -> Result<usize, Error> {
    let digit = |j: usize| b.get(j).is_some_and(u8::is_ascii_digit);
    let bad = |j: usize| {
        if j >= b.len() {
            err(ErrorKind::UnexpectedEnd, b.len())
        } else {
            err(ErrorKind::InvalidNumber, j)
        }
    };
    let mut j = i;
    if b.get(j) == Some(&b'-') {
        j += 1;
    }
    match b.get(j) {
        Some(b'0') => {
            j += 1;
            if digit(j) {
                return bad(j);
            }
        }
        Some(b'1'..=b'9') => {
            while digit(j) {
                j += 1;
            }
        }
        _ => return bad(j),
    }
    if b.get(j) == Some(&b'.') {
        j += 1;
        if !digit(j) {
            return bad(j);
        }
        while digit(j) {
            j += 1;
        }
    }
    if matches!(b.get(j), Some(b'e' | b'E')) {
        j += 1;
        if matches!(b.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        if !digit(j) {
            return bad(j);
        }
        while digit(j) {
            j += 1;
        }
    }
    Ok(j)
}

pub(crate) fn scan_literal(b: &[u8], i: usize, word: &[u8]) -> Result<usize, Error> {
    for (k, &w) in word.iter().enumerate() {
        match b.get(i + k) {
            None => return err(ErrorKind::UnexpectedEnd, b.len()),
            Some(&c) if c != w => return err(ErrorKind::UnexpectedByte, i + k),
            _ => {}
        }
    }
    Ok(i + word.len())
}

/// Validates the single JSON value starting at `start` (whitespace allowed before it) and
/// returns the index just past it: containers and strings at block speed
/// ([`block::validate_value`]), scalars directly.
pub(crate) fn scan_value(
    b: &[u8],
    start: usize,
    rules: Rules,
    base_depth: usize,
    stack: &mut BitStack,
) -> Result<usize, Error> {
    let i = skip_ws(b, start);
    match b.get(i) {
        Some(b'{' | b'[') => block::validate_value(b, i, rules, base_depth, stack),
        Some(b'"') => {
            // Most strings (roles, names, short texts) end before any escape: one kernel
            // call finds the closing quote. Others go to the block validator.
            let j = (rules.kernels.string_special)(b, i + 1);
            if b.get(j) == Some(&b'"') {
                Ok(j + 1)
            } else {
                block::validate_value(b, i, rules, base_depth, stack)
            }
        }
        _ => scan_value_bytewise(b, i, rules, base_depth, stack),
    }
}

/// The byte-at-a-time validator: the definition [`block::validate_value`] is tested against.
pub(crate) fn scan_value_bytewise(
    b: &[u8],
    start: usize,
    rules: Rules,
    base_depth: usize,
    stack: &mut BitStack,
) -> Result<usize, Error> {
    stack.clear();
    let mut i = start;
    'value: loop {
        // Parse one value at `i`.
        i = skip_ws(b, i);
        let Some(&c) = b.get(i) else {
            return err(ErrorKind::UnexpectedEnd, b.len());
        };
        match c {
            b'{' | b'[' => {
                if base_depth + stack.len() + 1 > rules.max_depth {
                    return err(ErrorKind::TooDeep, i);
                }
                let is_object = c == b'{';
                stack.push(is_object);
                i = skip_ws(b, i + 1);
                let close = if is_object { b'}' } else { b']' };
                if b.get(i) == Some(&close) {
                    stack.pop();
                    i += 1;
                } else if is_object {
                    i = scan_member_name(b, i, rules)?;
                    continue 'value;
                } else {
                    continue 'value;
                }
            }
            b'"' => i = scan_string(b, i, rules)?,
            b'-' | b'0'..=b'9' => i = scan_number(b, i)?,
            b't' => i = scan_literal(b, i, b"true")?,
            b'f' => i = scan_literal(b, i, b"false")?,
            b'n' => i = scan_literal(b, i, b"null")?,
            _ => return err(ErrorKind::UnexpectedByte, i),
        }
        // After a complete value: close containers or move to the next element.
        loop {
            let Some(is_object) = stack.top() else {
                return Ok(i);
            };
            i = skip_ws(b, i);
            let close = if is_object { b'}' } else { b']' };
            match b.get(i) {
                None => return err(ErrorKind::UnexpectedEnd, b.len()),
                Some(b',') => {
                    i = skip_ws(b, i + 1);
                    if is_object {
                        i = scan_member_name(b, i, rules)?;
                    }
                    continue 'value;
                }
                Some(&x) if x == close => {
                    stack.pop();
                    i += 1;
                }
                Some(_) => return err(ErrorKind::UnexpectedByte, i),
            }
        }
    }
}

/// At `i` (whitespace skipped) expects `"name"` `:`; returns the index after the colon.
fn scan_member_name(b: &[u8], i: usize, rules: Rules) -> Result<usize, Error> {
    match b.get(i) {
        Some(b'"') => {}
        Some(_) => return err(ErrorKind::UnexpectedByte, i),
        None => return err(ErrorKind::UnexpectedEnd, b.len()),
    }
    let j = skip_ws(b, scan_string(b, i, rules)?);
    match b.get(j) {
        Some(b':') => Ok(j + 1),
        Some(_) => err(ErrorKind::UnexpectedByte, j),
        None => err(ErrorKind::UnexpectedEnd, b.len()),
    }
}

/// Checks UTF-8 of the whole body (SIMD, all of it: Full validation).
pub(crate) fn check_utf8(b: &[u8]) -> Result<(), Error> {
    if simdutf8::basic::from_utf8(b).is_err() {
        // Slow path only for bad input: find the exact offset.
        if let Err(e) = simdutf8::compat::from_utf8(b) {
            return err(ErrorKind::InvalidUtf8, e.valid_up_to());
        }
    }
    Ok(())
}

/// Extracted validation of a skipped value at `i` (whitespace skipped): containers only
/// need balanced brackets outside strings, strings a closing quote; scalars are checked.
pub(crate) fn skip_value(b: &[u8], i: usize, rules: Rules) -> Result<usize, Error> {
    let kernels = rules.kernels;
    match b.get(i) {
        Some(b'"') => {
            // Short or escape-free strings end at the first special byte; escape-heavy ones
            // (code, JSON in JSON) go block by block, escapes resolved by bit parity.
            let j = (kernels.string_special)(b, i + 1);
            if b.get(j) == Some(&b'"') {
                return Ok(j + 1);
            }
            let loose = Rules {
                loose_strings: true,
                ..rules
            };
            (rules.validate)(b, i, loose, 0, &mut BitStack::default())
        }
        None => err(ErrorKind::UnexpectedEnd, b.len()),
        Some(b'{' | b'[') => {
            (kernels.skip_container)(b, i).ok_or(Error::new(ErrorKind::UnexpectedEnd, b.len()))
        }
        Some(b'-' | b'0'..=b'9') => scan_number(b, i),
        Some(b't') => scan_literal(b, i, b"true"),
        Some(b'f') => scan_literal(b, i, b"false"),
        Some(b'n') => scan_literal(b, i, b"null"),
        Some(_) => err(ErrorKind::UnexpectedByte, i),
    }
}

/// Checks UTF-8, then the grammar of one JSON text filling the whole body.
#[cfg(test)]
pub(crate) fn validate(b: &[u8], rules: Rules, stack: &mut BitStack) -> Result<(), Error> {
    check_utf8(b)?;
    let end = scan_value(b, 0, rules, 0, stack)?;
    let end = skip_ws(b, end);
    if end != b.len() {
        return err(ErrorKind::TrailingData, end);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Rules {
        Rules {
            max_depth: 1024,
            reject_lone_surrogates: false,
            kernels: simd::active(),
            validate: simd::validator(simd::Backend::detect()).unwrap(),
            loose_strings: false,
        }
    }

    fn v(s: &[u8]) -> Result<(), Error> {
        validate(s, rules(), &mut BitStack::default())
    }

    #[test]
    fn accepts_and_rejects() {
        for ok in [
            &b"{}"[..],
            b" [1, -0.5e+3, \"a\\u00e9\", true, false, null, {\"k\": []}] ",
            b"0",
        ] {
            assert!(v(ok).is_ok(), "{:?}", String::from_utf8_lossy(ok));
        }
        let cases: &[(&[u8], ErrorKind, usize)] = &[
            (b"", ErrorKind::UnexpectedEnd, 0),
            (b"  ", ErrorKind::UnexpectedEnd, 2),
            (b"{\"a\":1,}", ErrorKind::UnexpectedByte, 7),
            (b"[1,]", ErrorKind::UnexpectedByte, 3),
            (b"[01]", ErrorKind::InvalidNumber, 2),
            (b"[1.]", ErrorKind::InvalidNumber, 3),
            (b"{} x", ErrorKind::TrailingData, 3),
            (b"[\"\\x\"]", ErrorKind::InvalidEscape, 3),
            (b"[\"a\nb\"]", ErrorKind::ControlCharacter, 3),
            (b"\xef\xbb\xbf{}", ErrorKind::UnexpectedByte, 0),
            (b"[\"\xff\"]", ErrorKind::InvalidUtf8, 2),
            (b"[tru]", ErrorKind::UnexpectedByte, 4),
            (b"{\"a\" 1}", ErrorKind::UnexpectedByte, 5),
        ];
        for &(body, kind, at) in cases {
            let e = v(body).unwrap_err();
            assert_eq!(
                (e.kind(), e.offset()),
                (kind, at),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn depth_is_bounded_without_recursion() {
        let deep = vec![b'['; 100_000];
        assert_eq!(v(&deep).unwrap_err().kind(), ErrorKind::TooDeep);
        let mut ok = vec![b'['; 1024];
        ok.extend(vec![b']'; 1024]);
        assert!(v(&ok).is_ok());
        let mut too = vec![b'['; 1025];
        too.extend(vec![b']'; 1025]);
        assert_eq!(v(&too).unwrap_err(), Error::new(ErrorKind::TooDeep, 1024));
    }

    #[test]
    fn lone_surrogates_follow_the_rule() {
        let strict = Rules {
            reject_lone_surrogates: true,
            ..rules()
        };
        let body = br#"["\ud83d\u0041"]"#;
        assert!(v(body).is_ok());
        let e = validate(body, strict, &mut BitStack::default()).unwrap_err();
        assert_eq!((e.kind(), e.offset()), (ErrorKind::LoneSurrogate, 2));
        assert!(validate(br#"["\ud83d\ude00"]"#, strict, &mut BitStack::default()).is_ok());
    }
}
