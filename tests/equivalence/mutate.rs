//! Byte-level damage to valid bodies: truncation, flipped bits, inserted and deleted bytes.

use proptest::prelude::*;
use proptest::sample::select;

/// Byte strings worth inserting: JSON punctuation, escapes, broken UTF-8.
const INSERTS: &[&[u8]] = &[
    b"\"",
    b"\\",
    b"[",
    b"]",
    b"{",
    b"}",
    b",",
    b":",
    b"0",
    b"-",
    b"e",
    b".",
    b"u",
    b" ",
    b"\n",
    b"\x00",
    b"\x1f",
    b"\x7f",
    b"\x80",
    b"\xbf",
    b"\xc0\x80",
    b"\xc2",
    b"\xe0\x80",
    b"\xed\xa0\x80",
    b"\xef\xbb\xbf",
    b"\xf0\x9f\x98",
    b"\xf4\x90\x80\x80",
    b"\xf5",
    b"\xff",
    b"\\u",
    b"\\ud800",
    b"\\udc00",
    b"\\uD83D\\uDE00",
    b"\\x",
    b"\\'",
    b"/*c*/",
    b"NaN",
    b"Infinity",
    b"1e",
    b"01",
    b",]",
    b",}",
    b"'",
    b"null",
    b"true",
    b"{}",
    b"[]",
    b"\"\":1,",
    b"\"model\":\"m\",",
    b"\"cache_control\":1,",
];

/// One edit; positions are fractions of the current length (`u16` / 65536).
#[derive(Clone, Debug)]
pub enum Edit {
    Truncate(u16),
    Flip(u16, u8),
    Set(u16, u8),
    Insert(u16, Vec<u8>),
    Delete(u16, u8),
    /// Copies `len` bytes from the first position to the second.
    Copy(u16, u16, u8),
    /// Bytes before the body (a BOM, white space, another value).
    Prepend(Vec<u8>),
    /// Bytes after the body (trailing data or white space).
    Append(Vec<u8>),
}

pub fn edit() -> BoxedStrategy<Edit> {
    prop_oneof![
        2 => any::<u16>().prop_map(Edit::Truncate),
        3 => (any::<u16>(), 0u8..8).prop_map(|(p, b)| Edit::Flip(p, b)),
        2 => (any::<u16>(), any::<u8>()).prop_map(|(p, b)| Edit::Set(p, b)),
        5 => (any::<u16>(), select(INSERTS)).prop_map(|(p, s)| Edit::Insert(p, s.to_vec())),
        3 => (any::<u16>(), 1u8..8).prop_map(|(p, n)| Edit::Delete(p, n)),
        1 => (any::<u16>(), any::<u16>(), 1u8..40).prop_map(|(a, b, n)| Edit::Copy(a, b, n)),
        1 => select(INSERTS).prop_map(|s| Edit::Prepend(s.to_vec())),
        1 => select(INSERTS).prop_map(|s| Edit::Append(s.to_vec())),
    ]
    .boxed()
}

fn at(frac: u16, len: usize) -> usize {
    (frac as usize * len) >> 16
}

pub fn apply(body: &mut Vec<u8>, edits: &[Edit]) {
    for e in edits {
        let len = body.len();
        match e {
            Edit::Truncate(p) => body.truncate(at(*p, len)),
            Edit::Flip(p, bit) if len > 0 => body[at(*p, len)] ^= 1 << bit,
            Edit::Set(p, b) if len > 0 => body[at(*p, len)] = *b,
            Edit::Insert(p, s) => {
                let i = at(*p, len + 1).min(len);
                body.splice(i..i, s.iter().copied());
            }
            Edit::Delete(p, n) if len > 0 => {
                let i = at(*p, len);
                body.drain(i..(i + *n as usize).min(len));
            }
            Edit::Copy(a, b, n) if len > 0 => {
                let i = at(*a, len);
                let chunk: Vec<u8> = body[i..(i + *n as usize).min(len)].to_vec();
                let j = at(*b, len + 1).min(len);
                body.splice(j..j, chunk);
            }
            Edit::Prepend(s) => {
                body.splice(0..0, s.iter().copied());
            }
            Edit::Append(s) => body.extend_from_slice(s),
            _ => {}
        }
    }
}
