//! UTF-8 validation of a body that arrives in pieces (Full validation).
//!
//! Each chunk is checked at SIMD speed by simdutf8; a multi-byte sequence cut by a chunk
//! boundary is kept (at most 3 bytes) and completed from the next chunk. The first invalid
//! sequence is reported at the offset of its first byte, as a check of the whole body does.

#[derive(Debug, Default)]
pub(crate) struct Utf8Stream {
    /// A valid but incomplete sequence at the end of the bytes seen so far.
    tail: [u8; 4],
    tail_len: usize,
    tail_at: usize,
    /// Bytes seen so far.
    seen: usize,
    /// Offset of the first invalid sequence.
    pub(crate) error: Option<usize>,
}

/// The length of the sequence a valid lead byte starts.
fn sequence_len(lead: u8) -> usize {
    match lead {
        0xF0.. => 4,
        0xE0.. => 3,
        _ => 2,
    }
}

impl Utf8Stream {
    pub(crate) fn reset(&mut self) {
        *self = Utf8Stream::default();
    }

    /// Every byte before this offset is known to be valid (or the error is known).
    pub(crate) fn settled(&self) -> usize {
        if self.tail_len > 0 {
            self.tail_at
        } else {
            self.seen
        }
    }

    /// Checks `data`, the body's bytes from offset `base`.
    pub(crate) fn feed(&mut self, data: &[u8], base: usize) {
        self.seen = base + data.len();
        if self.error.is_some() || data.is_empty() {
            return;
        }
        let mut i = 0;
        if self.tail_len > 0 {
            let need = sequence_len(self.tail[0]) - self.tail_len;
            let take = need.min(data.len());
            let mut buf = [0u8; 4];
            buf[..self.tail_len].copy_from_slice(&self.tail[..self.tail_len]);
            buf[self.tail_len..self.tail_len + take].copy_from_slice(&data[..take]);
            let have = self.tail_len + take;
            match std::str::from_utf8(&buf[..have]) {
                Ok(_) => {
                    self.tail_len = 0;
                    i = take;
                }
                Err(e) if e.error_len().is_some() => {
                    self.error = Some(self.tail_at + e.valid_up_to());
                    return;
                }
                Err(_) => {
                    // Still incomplete: the whole chunk was part of the sequence.
                    self.tail = buf;
                    self.tail_len = have;
                    return;
                }
            }
        }
        // The fast check first; the one that says where only when it fails (rarely).
        if simdutf8::basic::from_utf8(&data[i..]).is_ok() {
            return;
        }
        if let Err(e) = simdutf8::compat::from_utf8(&data[i..]) {
            let at = i + e.valid_up_to();
            match e.error_len() {
                Some(_) => self.error = Some(base + at),
                None => {
                    let rest = &data[at..];
                    self.tail[..rest.len()].copy_from_slice(rest);
                    self.tail_len = rest.len();
                    self.tail_at = base + at;
                }
            }
        }
    }

    /// The body ended: an incomplete sequence at its end is an error.
    pub(crate) fn finish(&mut self) {
        if self.error.is_none() && self.tail_len > 0 {
            self.error = Some(self.tail_at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every split of every test string gives the whole-string verdict.
    #[test]
    fn any_split_gives_the_whole_verdict() {
        let cases: [&[u8]; 9] = [
            "héllo wörld 😀 日本".as_bytes(),
            b"\xF0\x9F\x98",
            b"ab\xE2\x28\xA1cd",
            b"\xED\xA0\x80",
            b"ok\xC3",
            b"\xF4\x90\x80\x80",
            b"a\xF0\x9F\x98\x80\xF0\x9F",
            b"\x80",
            b"plain ascii",
        ];
        for case in cases {
            let whole = match std::str::from_utf8(case) {
                Ok(_) => None,
                Err(e) => Some(e.valid_up_to()),
            };
            for a in 0..=case.len() {
                for b in a..=case.len() {
                    let mut u = Utf8Stream::default();
                    u.feed(&case[..a], 0);
                    u.feed(&case[a..b], a);
                    u.feed(&case[b..], b);
                    u.finish();
                    assert_eq!(u.error, whole, "{case:?} split at {a}, {b}");
                }
            }
        }
    }
}
