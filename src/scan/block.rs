//! Full validation at block speed: the simdjson idea, without its index.
//!
//! A value is read 64 bytes at a time. A kernel classifies each block into bit masks
//! ([`Classes`]); plain integer code then finds the escaped bytes (parity of backslash runs),
//! the inside of strings (prefix XOR of the unescaped quotes, carried across blocks), and the
//! few *events* that need a decision: quotes, structural characters and scalar starts outside
//! strings, and inside strings only what could be wrong (control characters, escapes of the
//! wrong letter, `\u` escapes). Ordinary string bytes and ordinary escapes (`\n`, `\"`) cost
//! nothing beyond the masks, so text-heavy histories validate at several GB/s. Events drive
//! the same grammar as the byte-at-a-time validator in [`super`]; nesting lives in the bit
//! stack, never on the call stack.

use super::{read_hex4, scan_literal, scan_number, BitStack, Rules};
use crate::error::{Error, ErrorKind};

/// Byte classes of one 64-byte block (bit `i` describes byte `i`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Classes {
    /// `"`
    pub quote: u64,
    /// `\`
    pub backslash: u64,
    /// bytes `< 0x20`
    pub control: u64,
    /// space, tab, LF, CR
    pub ws: u64,
    /// `{ } [ ] : ,`
    pub structural: u64,
    /// bytes that may follow a backslash: `" \ / b f n r t u`
    pub escapable: u64,
    /// `u`
    pub u: u64,
}

/// The portable classifier: a table lookup per byte. The SIMD back ends compute the same.
#[cfg(test)]
pub(crate) fn classify_portable(block: &[u8; 64]) -> Classes {
    let mut c = Classes::default();
    for (i, &b) in block.iter().enumerate() {
        let bit = 1u64 << i;
        match b {
            b'"' => c.quote |= bit,
            b'\\' => c.backslash |= bit,
            b' ' | b'\t' | b'\n' | b'\r' => c.ws |= bit,
            b'{' | b'}' | b'[' | b']' | b':' | b',' => c.structural |= bit,
            _ => {}
        }
        if b < 0x20 {
            c.control |= bit;
        }
        if matches!(
            b,
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' | b'u'
        ) {
            c.escapable |= bit;
        }
        if b == b'u' {
            c.u |= bit;
        }
    }
    c
}

const EVEN: u64 = 0x5555_5555_5555_5555;

/// Bytes escaped by an odd run of backslashes. `carry`: the block's first byte is escaped
/// (in), the next block's first byte is (out).
#[inline(always)]
pub(crate) fn escaped(backslash: u64, carry: &mut bool) -> u64 {
    if backslash == 0 && !*carry {
        return 0;
    }
    let c = *carry as u64;
    let bs = backslash & !c;
    let follows = (bs << 1) | c;
    let odd_starts = bs & !EVEN & !follows;
    let (even_seqs, overflow) = odd_starts.overflowing_add(bs);
    *carry = overflow;
    let invert = even_seqs << 1;
    (EVEN ^ invert) & follows
}

pub(crate) fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

/// What both block engines (this validator and the streaming scanner) derive from one block's
/// [`Classes`] and the carries from the block before.
#[derive(Clone, Copy)]
pub(crate) struct Masks {
    /// Unescaped quotes.
    pub quotes: u64,
    /// Bytes inside a string, its opening quote included.
    pub inside: u64,
    /// Bytes inside a string, quotes excluded.
    pub interior: u64,
    /// Bytes outside strings, quotes excluded.
    pub outside: u64,
    /// Escaped bytes inside strings.
    pub escaped_in: u64,
    /// Bytes of number and literal tokens (outside strings, not white space, structural or `\`).
    pub other: u64,
    /// The first byte of the next block is escaped.
    pub bs_carry_out: bool,
}

impl Masks {
    #[inline(always)]
    pub(crate) fn of(c: &Classes, in_string: bool, bs_carry: bool) -> Masks {
        let mut bs_carry_out = bs_carry;
        let esc = escaped(c.backslash, &mut bs_carry_out);
        let quotes = c.quote & !esc;
        let inside = prefix_xor(quotes) ^ if in_string { !0 } else { 0 };
        let interior = inside & !quotes;
        let outside = !inside & !quotes;
        Masks {
            quotes,
            inside,
            interior,
            outside,
            escaped_in: esc & interior,
            other: outside & !c.ws & !c.structural & !c.backslash,
            bs_carry_out,
        }
    }

    /// Starts of number and literal tokens (`carry`: the previous block ended inside one).
    #[inline(always)]
    pub(crate) fn scalar_starts(&self, carry: bool) -> u64 {
        self.other & !((self.other << 1) | carry as u64)
    }

    /// Every byte the strict grammar must look at: quotes, structural characters and
    /// backslashes outside strings, token starts, and inside strings control bytes, escapes
    /// of the wrong letter and `\u` escapes.
    #[inline(always)]
    pub(crate) fn strict_events(&self, c: &Classes, scalar_starts: u64) -> u64 {
        self.quotes
            | (c.structural & self.outside)
            | scalar_starts
            | (c.control & self.interior)
            | (self.escaped_in & (!c.escapable | c.u))
            | (c.backslash & self.outside)
    }
}

/// The 64 bytes at `pos`, padded with spaces (inert) past the end of `b`.
#[inline(always)]
pub(crate) fn block_at<'a>(b: &'a [u8], pos: usize, pad: &'a mut [u8; 64]) -> &'a [u8; 64] {
    match b[pos..].first_chunk::<64>() {
        Some(full) => full,
        None => {
            pad[..b.len() - pos].copy_from_slice(&b[pos..]);
            pad
        }
    }
}

/// Where the grammar stands between two events (both block engines).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum State {
    /// A value must come.
    Value,
    /// After `[`: a value or `]`.
    ValueOrClose,
    /// After `{`: a name or `}`.
    NameOrClose,
    /// After `,` in an object: a name.
    Name,
    /// After a name: `:`.
    Colon,
    /// After a value inside a container: `,` or the close.
    After,
    /// The root value is complete: only white space may follow (the streaming scanner; the
    /// validator returns at that point).
    End,
}

fn err<T>(kind: ErrorKind, at: usize) -> Result<T, Error> {
    Err(Error::new(kind, at))
}

/// The signature of a back end's block validator (see `simd::validator`).
pub(crate) type ValidateFn = fn(&[u8], usize, Rules, usize, &mut BitStack) -> Result<usize, Error>;

/// Validates the JSON value starting exactly at `start` (no white space before it) and
/// returns the index just past it. Same verdicts as [`super::scan_value_bytewise`].
pub(crate) fn validate_value(
    b: &[u8],
    start: usize,
    rules: Rules,
    base_depth: usize,
    stack: &mut BitStack,
) -> Result<usize, Error> {
    (rules.validate)(b, start, rules, base_depth, stack)
}

/// The validator, generic over the block classifier so that each SIMD back end gets its own
/// copy with the classifier inlined (instantiated in `simd::classify`).
#[inline(always)]
pub(crate) fn validate_value_with<C: Fn(&[u8; 64]) -> Classes>(
    classify: C,
    b: &[u8],
    start: usize,
    rules: Rules,
    base_depth: usize,
    stack: &mut BitStack,
) -> Result<usize, Error> {
    stack.clear();
    let len = b.len();
    let mut state = State::Value;
    let mut in_string = false;
    let mut string_is_name = false;
    let mut bs_carry = false;
    let mut scalar_carry = false;
    // Position of the `\u` that completes a pair already checked (native surrogate rule).
    let mut paired_low = usize::MAX;
    let mut base = start;
    // Spaces are inert: the last, partial block is padded with them.
    let mut pad = [b' '; 64];
    // The previous block held no quote, backslash or control byte (a long plain string).
    let mut quiet = false;
    while base < len {
        if in_string && quiet && !bs_carry {
            // Inside a long string nothing happens until the next quote, backslash or
            // control byte: jump there at memchr speed, whole blocks at a time.
            let next = (rules.kernels.string_special)(b, base);
            if next >= base + 64 {
                base += (next - base) / 64 * 64;
                continue;
            }
        }
        let c = classify(block_at(b, base, &mut pad));
        quiet = (c.quote | c.backslash | c.control) == 0;
        let mk = Masks::of(&c, in_string, bs_carry);
        let Masks {
            quotes,
            inside,
            interior,
            ..
        } = mk;
        bs_carry = mk.bs_carry_out;
        in_string = inside >> 63 == 1;
        let scalar_starts = mk.scalar_starts(scalar_carry);
        scalar_carry = mk.other >> 63 == 1;
        let mut events = if rules.loose_strings {
            quotes
        } else {
            mk.strict_events(&c, scalar_starts)
        };
        while events != 0 {
            let bit = events.trailing_zeros();
            events &= events - 1;
            let p = base + bit as usize;
            if p >= len {
                break;
            }
            let m = 1u64 << bit;
            let x = b[p];
            if quotes & m != 0 {
                if inside & m != 0 {
                    // An opening quote.
                    match state {
                        State::Value | State::ValueOrClose => string_is_name = false,
                        State::Name | State::NameOrClose => string_is_name = true,
                        _ => return err(ErrorKind::UnexpectedByte, p),
                    }
                    continue;
                }
                // A closing quote.
                if string_is_name {
                    state = State::Colon;
                    continue;
                }
                if stack.len() == 0 {
                    return Ok(p + 1);
                }
                state = State::After;
            } else if interior & m != 0 {
                if c.control & m != 0 {
                    return err(ErrorKind::ControlCharacter, p);
                }
                if c.u & m == 0 {
                    return err(ErrorKind::InvalidEscape, p);
                }
                let cp = read_hex4(b, p + 1)?;
                if rules.reject_lone_surrogates && (0xD800..0xE000).contains(&cp) {
                    if cp >= 0xDC00 {
                        if paired_low != p {
                            return err(ErrorKind::LoneSurrogate, p - 1);
                        }
                    } else {
                        let paired = b.get(p + 5) == Some(&b'\\')
                            && b.get(p + 6) == Some(&b'u')
                            && matches!(read_hex4(b, p + 7), Ok(lo) if (0xDC00..0xE000).contains(&lo));
                        if !paired {
                            return err(ErrorKind::LoneSurrogate, p - 1);
                        }
                        paired_low = p + 6;
                    }
                }
            } else if c.backslash & m != 0 {
                return err(ErrorKind::UnexpectedByte, p);
            } else if c.structural & m != 0 {
                match (x, state) {
                    (b'{' | b'[', State::Value | State::ValueOrClose) => {
                        if base_depth + stack.len() + 1 > rules.max_depth {
                            return err(ErrorKind::TooDeep, p);
                        }
                        stack.push(x == b'{');
                        state = if x == b'{' {
                            State::NameOrClose
                        } else {
                            State::ValueOrClose
                        };
                    }
                    (b'}', State::NameOrClose | State::After) if stack.top() == Some(true) => {
                        stack.pop();
                        if stack.len() == 0 {
                            return Ok(p + 1);
                        }
                        state = State::After;
                    }
                    (b']', State::ValueOrClose | State::After) if stack.top() == Some(false) => {
                        stack.pop();
                        if stack.len() == 0 {
                            return Ok(p + 1);
                        }
                        state = State::After;
                    }
                    (b':', State::Colon) => state = State::Value,
                    (b',', State::After) => {
                        state = if stack.top() == Some(true) {
                            State::Name
                        } else {
                            State::Value
                        };
                    }
                    _ => return err(ErrorKind::UnexpectedByte, p),
                }
            } else {
                // The first byte of a number or literal outside strings.
                if !matches!(state, State::Value | State::ValueOrClose) {
                    return err(ErrorKind::UnexpectedByte, p);
                }
                let end = match x {
                    b'-' | b'0'..=b'9' => scan_number(b, p)?,
                    b't' => scan_literal(b, p, b"true")?,
                    b'f' => scan_literal(b, p, b"false")?,
                    b'n' => scan_literal(b, p, b"null")?,
                    _ => return err(ErrorKind::UnexpectedByte, p),
                };
                if stack.len() == 0 {
                    // A root scalar: what follows is the caller's business (trailing data).
                    return Ok(end);
                }
                // Inside a container the token must fill its run of non-delimiter bytes (the
                // rest of a run raises no event of its own).
                if let Some(&next) = b.get(end) {
                    if !matches!(
                        next,
                        b' ' | b'\t'
                            | b'\n'
                            | b'\r'
                            | b'{'
                            | b'}'
                            | b'['
                            | b']'
                            | b':'
                            | b','
                            | b'"'
                            | b'\\'
                    ) {
                        let kind = if matches!(x, b'-' | b'0'..=b'9') {
                            ErrorKind::InvalidNumber
                        } else {
                            ErrorKind::UnexpectedByte
                        };
                        return err(kind, end);
                    }
                }
                state = State::After;
            }
        }
        base += 64;
    }
    err(ErrorKind::UnexpectedEnd, len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::{scan_value_bytewise, simd};
    use proptest::prelude::*;

    fn rules(strict: bool, max_depth: usize) -> Rules {
        Rules {
            max_depth,
            reject_lone_surrogates: strict,
            kernels: simd::active(),
            validate: |b, s, r, d, st| validate_value_with(classify_portable, b, s, r, d, st),
            loose_strings: false,
        }
    }

    /// Both validators on `b` from its first non-space byte: same end, or both errors.
    fn agree(b: &[u8], strict: bool, max_depth: usize) -> Result<(), String> {
        let start = crate::scan::skip_ws(b, 0);
        if start >= b.len() {
            return Ok(());
        }
        let r = rules(strict, max_depth);
        let slow = scan_value_bytewise(b, start, r, 0, &mut BitStack::default());
        for backend in simd::Backend::all_available() {
            let r = Rules {
                kernels: simd::kernels(backend).unwrap(),
                validate: simd::validator(backend).unwrap(),
                ..r
            };
            for fast in [
                validate_value(b, start, r, 0, &mut BitStack::default()),
                validate_value_with(classify_portable, b, start, r, 0, &mut BitStack::default()),
            ] {
                if fast.as_ref().ok() != slow.as_ref().ok() || fast.is_err() != slow.is_err() {
                    return Err(format!(
                        "{:?} {backend:?}: block {fast:?} bytewise {slow:?}",
                        String::from_utf8_lossy(b)
                    ));
                }
            }
        }
        Ok(())
    }

    fn json_ish() -> impl Strategy<Value = Vec<u8>> {
        let atom = prop_oneof![
            Just(&b"{"[..]),
            Just(&b"}"[..]),
            Just(&b"["[..]),
            Just(&b"]"[..]),
            Just(&b":"[..]),
            Just(&b","[..]),
            Just(&b"\""[..]),
            Just(&b"\\"[..]),
            Just(&b"\\\\"[..]),
            Just(&b"\\\""[..]),
            Just(&b"\\u00e9"[..]),
            Just(&b"\\ud83d\\ude00"[..]),
            Just(&b"\\ud83d"[..]),
            Just(&b"\\udc00"[..]),
            Just(&b"\\u12"[..]),
            Just(&b"\\x"[..]),
            Just(&b"\\n"[..]),
            Just(&b" "[..]),
            Just(&b"\n"[..]),
            Just(&b"\x01"[..]),
            Just(&b"true"[..]),
            Just(&b"nul"[..]),
            Just(&b"-0.5e+3"[..]),
            Just(&b"01"[..]),
            Just(&b"1."[..]),
            Just(&b"abc"[..]),
            Just(&b"\"k\":"[..]),
            Just(&b"\"v\""[..]),
            Just(&b"x"[..]),
            Just("é".as_bytes()),
            Just(&b"12"[..]),
        ];
        proptest::collection::vec(atom, 0..120).prop_map(|v| v.concat())
    }

    fn valid_json() -> impl Strategy<Value = Vec<u8>> {
        let leaf = prop_oneof![
            Just("null".to_string()),
            Just("true".to_string()),
            any::<i64>().prop_map(|n| n.to_string()),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| format!("{f:e}")),
            "[a-z\\\\\"\\n\\t/é😀 ]{0,80}".prop_map(|s| serde_json::to_string(&s).unwrap()),
            proptest::collection::vec(any::<u16>(), 0..6).prop_map(|v| {
                let inner: String = v.iter().map(|u| format!("\\u{u:04x}")).collect();
                format!("\"{inner}\"")
            }),
        ];
        let tree = leaf.prop_recursive(8, 128, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..8)
                    .prop_map(|v| format!("[{}]", v.join(" ,\n"))),
                proptest::collection::vec(("[a-z]{0,70}", inner), 0..8).prop_map(|v| {
                    let m: Vec<String> = v
                        .into_iter()
                        .map(|(k, x)| format!("\"{k}\" :{x}"))
                        .collect();
                    format!("{{{}}}", m.join(","))
                }),
            ]
        });
        (tree, 0usize..200, any::<bool>()).prop_map(|(t, cut, truncate)| {
            let mut b = t.into_bytes();
            if truncate && !b.is_empty() {
                b.truncate(cut % b.len());
            }
            b
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn block_agrees_with_bytewise_on_noise(b in json_ish(), strict in any::<bool>(), depth in 1usize..6) {
            agree(&b, strict, depth).map_err(TestCaseError::fail)?;
            agree(&b, strict, 1024).map_err(TestCaseError::fail)?;
        }

        #[test]
        fn block_agrees_with_bytewise_on_json(b in valid_json(), strict in any::<bool>()) {
            agree(&b, strict, 1024).map_err(TestCaseError::fail)?;
            agree(&b, strict, 3).map_err(TestCaseError::fail)?;
        }
    }

    #[test]
    fn escapes_across_block_boundaries() {
        for n in 0..140 {
            for tail in [
                &b"\\\"x\"]"[..],
                b"\\\\\"]",
                b"\\n\"]",
                b"\"]",
                b"\\u0041\"]",
                b"\\ud83d\\ude00\"]",
            ] {
                let mut b = b"[\"".to_vec();
                b.extend(std::iter::repeat_n(b'a', n));
                b.extend_from_slice(tail);
                agree(&b, true, 1024).unwrap();
                let mut odd = b"[\"".to_vec();
                odd.extend(std::iter::repeat_n(b'\\', n));
                odd.extend_from_slice(tail);
                agree(&odd, true, 1024).unwrap();
            }
        }
    }
}
