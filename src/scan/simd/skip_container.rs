//! Kernel `skip_container`: the index just past the bracket that closes `hay[open_at]`.
//!
//! The block algorithm (the idea sonic-rs uses to skip values it does not need):
//!
//! 1. classify 64 bytes at once into quote, backslash, open-bracket and close-bracket masks;
//! 2. find the escaped bytes from the parity of each backslash run ([`escapes`]), with the
//!    "first byte is escaped" state carried across blocks;
//! 3. the in-string mask is the prefix XOR of the unescaped quotes, XORed with the
//!    "still inside a string" state carried from the previous block;
//! 4. brackets inside strings are dropped; if the closes of this block cannot bring the depth
//!    to zero (fewer closes than the depth), the block only adds `opens - closes`, otherwise
//!    its close brackets are walked in order until the depth reaches zero.
//!
//! Step 2 treats every backslash as an escape, but the contract says a backslash escapes only
//! inside a string (outside one it is just a byte, as in the invalid text `[\"]`, where the
//! quote opens a string). When the masks show a backslash outside a string, that block is
//! re-scanned byte by byte ([`SkipState::block_exact`]); on any text where every backslash is
//! inside a string (every valid JSON text) both readings agree, so the fallback never runs.
#![allow(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

use super::vector::Vector;

/// Index just past the bracket closing the `{` or `[` at `open_at`, counting `{[` as +1 and
/// `}]` as -1 outside strings; `None` if the slice ends first, or if `hay[open_at]` is not `{`
/// or `[` (including `open_at >= hay.len()`).
///
/// # Safety
/// `V`'s ISA is available on this CPU.
#[inline(always)]
pub(super) unsafe fn skip_container<V: Vector>(hay: &[u8], open_at: usize) -> Option<usize> {
    if !matches!(hay.get(open_at), Some(b'{' | b'[')) {
        return None;
    }
    let len = hay.len();
    let mut scan = SkipState::default();
    let mut at = open_at;
    while let Some(block) = hay[at..].first_chunk::<64>() {
        // SAFETY: the caller verified `V`'s ISA.
        let found = unsafe { scan.block::<V>(structural_bits::<V>(block), block) };
        if let Some(end) = found {
            return Some(at + end);
        }
        at += 64;
    }
    if at == len {
        return None;
    }
    // 1..=63 bytes left.
    let classes = match hay.last_chunk::<64>() {
        // `last` starts at `len - 64 < at`: shift out the bytes before `at`; the bits shifted
        // in at the top are zero, i.e. no class.
        // SAFETY: the caller verified `V`'s ISA.
        Some(last) => unsafe { structural_bits::<V>(last) }.shr((at - (len - 64)) as u32),
        None => {
            // A zero byte belongs to no class, so the padding is inert.
            let mut buf = [0u8; 64];
            buf[..len - at].copy_from_slice(&hay[at..]);
            // SAFETY: the caller verified `V`'s ISA.
            unsafe { structural_bits::<V>(&buf) }
        }
    };
    // SAFETY: the caller verified `V`'s ISA.
    let found = unsafe { scan.block::<V>(classes, &hay[at..]) };
    found.map(|end| at + end)
}

/// The four byte classes `skip_container` needs, for one 64-byte block (bit `i` = byte `i`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Structural {
    quote: u64,
    backslash: u64,
    /// `{` and `[`.
    open: u64,
    /// `}` and `]`.
    close: u64,
}

impl Structural {
    /// Every mask shifted right by `n < 64` (drops the first `n` bytes of the block).
    #[inline(always)]
    fn shr(self, n: u32) -> Structural {
        Structural {
            quote: self.quote >> n,
            backslash: self.backslash >> n,
            open: self.open >> n,
            close: self.close >> n,
        }
    }
}

/// Classifies one 64-byte block for `skip_container`.
///
/// # Safety
/// `V`'s ISA is available.
#[inline(always)]
unsafe fn structural_bits<V: Vector>(block: &[u8; 64]) -> Structural {
    // SAFETY: the caller verified `V`'s ISA; each load reads
    // `block[at..at + LANES]` with `at = k * LANES`, `k < 64 / LANES`.
    unsafe {
        let quote = V::splat(b'"');
        let backslash = V::splat(b'\\');
        // `{` (0x7B) and `[` (0x5B) differ only in bit 0x20, as do `}` (0x7D) and `]` (0x5D):
        // after `byte | 0x20` one comparison finds both brackets of a kind and nothing else
        // (0x5B and 0x7B are the only bytes with `b | 0x20 == 0x7B`; likewise for 0x7D).
        let case = V::splat(0x20);
        let open = V::splat(b'{');
        let close = V::splat(b'}');
        let mut s = Structural::default();
        let mut k = 0;
        while k < 64 / V::LANES {
            let at = k * V::LANES;
            let v = V::load(block, at);
            let folded = v.or(case);
            s.quote |= V::bits(v.eq(quote)) << at;
            s.backslash |= V::bits(v.eq(backslash)) << at;
            s.open |= V::bits(folded.eq(open)) << at;
            s.close |= V::bits(folded.eq(close)) << at;
            k += 1;
        }
        s
    }
}

/// Resumes a skip (the streaming scanner's, across chunks): runs the block algorithm over the
/// whole 64-byte blocks of `hay` from `at`, `state` saying where the skip stands. `Ok` with the
/// index just past the closing bracket, or `Err` with the index of the first byte not scanned
/// (fewer than 64 bytes are left from there), `state` then updated. Starting with
/// `SkipState::default()` at an opening bracket finds what [`skip_container`] finds.
///
/// # Safety
/// `V`'s ISA is available on this CPU.
#[inline(always)]
pub(super) unsafe fn skip_resume<V: Vector>(
    hay: &[u8],
    mut at: usize,
    state: &mut SkipState,
) -> Result<usize, usize> {
    while let Some(block) = hay.get(at..).and_then(|h| h.first_chunk::<64>()) {
        // SAFETY: the caller verified `V`'s ISA.
        let found = unsafe { state.block::<V>(structural_bits::<V>(block), block) };
        if let Some(end) = found {
            return Ok(at + end);
        }
        at += 64;
    }
    Err(at)
}

/// What one block hands to the next: where a skip stands between blocks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SkipState {
    /// Containers open so far, the first bracket included (it is 0 only before that bracket:
    /// the scan returns as soon as it drops back to 0).
    depth: usize,
    /// All ones when the previous block ended inside a string, else 0.
    in_string: u64,
    /// 1 when the first byte of this block is escaped (an odd backslash run ended the previous
    /// block inside a string), else 0.
    escaped: u64,
}

impl SkipState {
    /// A skip `depth >= 1` brackets deep, the next byte inside a string or not, escaped or not.
    pub(crate) fn within(depth: usize, in_string: bool, escaped: bool) -> SkipState {
        SkipState {
            depth,
            in_string: if in_string { !0 } else { 0 },
            escaped: escaped as u64,
        }
    }

    /// Brackets still open.
    pub(crate) fn depth(&self) -> usize {
        self.depth
    }

    /// The next byte is inside a string.
    pub(crate) fn in_string(&self) -> bool {
        self.in_string != 0
    }

    /// The next byte is escaped (inside a string, after an odd backslash run).
    pub(crate) fn escaped(&self) -> bool {
        self.escaped != 0
    }

    /// Scans one block given its classes; `bytes` are the same bytes (64 of them, or fewer in
    /// the tail), for the exact fallback. Returns the offset just past the closing bracket.
    ///
    /// # Safety
    /// `V`'s ISA is available.
    #[inline(always)]
    unsafe fn block<V: Vector>(&mut self, s: Structural, bytes: &[u8]) -> Option<usize> {
        let (escaped, escaped_out) = if s.backslash | self.escaped == 0 {
            (0, 0)
        } else {
            escapes(s.backslash, self.escaped)
        };
        let quotes = s.quote & !escaped;
        // Bit i: inside a string after byte i (an opening quote is inside, a closing one not).
        // SAFETY: the caller verified `V`'s ISA.
        let in_string = unsafe { V::prefix_xor(quotes) } ^ self.in_string;
        if s.backslash & !in_string != 0 {
            return self.block_exact(bytes);
        }
        self.in_string = ((in_string as i64) >> 63) as u64;
        self.escaped = escaped_out;
        let open = s.open & !in_string;
        let close = s.close & !in_string;
        if open | close == 0 {
            return None;
        }
        let closes = close.count_ones() as usize;
        if closes >= self.depth {
            // The depth may reach 0 in this block: walk the closes in order.
            let mut rest = close;
            let mut seen = 0;
            while rest != 0 {
                let bit = rest & rest.wrapping_neg();
                seen += 1;
                if self.depth + (open & (bit - 1)).count_ones() as usize == seen {
                    return Some(bit.trailing_zeros() as usize + 1);
                }
                rest ^= bit;
            }
        }
        // Did not reach 0, so depth + opens > closes.
        self.depth = self.depth + open.count_ones() as usize - closes;
        None
    }

    /// The same block, byte by byte, with the contract's exact rules (a backslash escapes only
    /// inside a string). Only for blocks with a backslash outside a string: invalid JSON.
    #[cold]
    #[inline(never)]
    fn block_exact(&mut self, bytes: &[u8]) -> Option<usize> {
        let mut in_string = self.in_string != 0;
        let mut escaped = self.escaped != 0;
        for (i, &b) in bytes.iter().enumerate() {
            if in_string {
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                } else if b == b'"' {
                    in_string = false;
                }
            } else {
                match b {
                    b'"' => in_string = true,
                    b'{' | b'[' => self.depth += 1,
                    b'}' | b']' => {
                        // depth >= 1 here: the first byte scanned is the opening bracket, and
                        // the scan stops when the depth returns to 0.
                        self.depth -= 1;
                        if self.depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
            }
        }
        self.in_string = if in_string { !0 } else { 0 };
        self.escaped = escaped as u64;
        None
    }
}

/// The bytes escaped by backslash runs, reading every backslash as an escape: the byte after a
/// run of odd length. `escaped_in` (0 or 1) says byte 0 is escaped by the previous block.
/// Returns the escaped mask (the bytes after runs, plus byte 0 from `escaped_in`; the escaped
/// backslashes inside runs are not marked: only quotes are asked about) and the carry (1 when
/// an odd run reaches the end of the block, escaping the next block's byte 0).
///
/// A run starting at bit `p` of length `L` ends at `p + L`; `L` is odd exactly when `p` and
/// `p + L` have different parity. Adding the run's start bit to the run carries through it to
/// bit `p + L`, so, with starts split by parity, `(bs + even_starts) & !bs` marks the ends of
/// runs that started on even bits (escaping when the end is odd), and likewise for odd ones. A
/// run that reaches bit 63 carries out of the addition; it is odd exactly when it started on
/// an odd bit.
#[inline(always)]
fn escapes(backslash: u64, escaped_in: u64) -> (u64, u64) {
    const EVEN: u64 = 0x5555_5555_5555_5555;
    const ODD: u64 = !EVEN;
    // A backslash escaped by the previous block is an escaped byte, not the start of a run.
    let bs = backslash & !escaped_in;
    let starts = bs & !(bs << 1);
    let (ends_even, _) = bs.overflowing_add(starts & EVEN);
    let (ends_odd, odd_carry) = bs.overflowing_add(starts & ODD);
    let escaped = (ends_even & !bs & ODD) | (ends_odd & !bs & EVEN) | escaped_in;
    (escaped, odd_carry as u64)
}

#[cfg(test)]
mod tests {
    use super::escapes;

    /// Byte-by-byte reading of the same rule, for one block.
    fn escapes_naive(backslash: u64, escaped_in: u64) -> (u64, u64) {
        let mut escaped_mask = 0;
        let mut pending = escaped_in == 1;
        for i in 0..64 {
            let is_bs = backslash >> i & 1 == 1;
            if pending {
                if !is_bs {
                    escaped_mask |= 1 << i;
                } else if i == 0 {
                    // byte 0 escaped by the previous block: marked like any escaped byte 0
                    escaped_mask |= 1;
                }
                pending = false;
            } else if is_bs {
                pending = true;
            }
        }
        (escaped_mask, pending as u64)
    }

    #[test]
    fn escapes_match_a_byte_loop() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut masks = vec![0, !0, 1, 1 << 63, 0x5555_5555_5555_5555, !0 >> 1, !0 << 1];
        for _ in 0..20_000 {
            // xorshift; AND of two draws biases toward runs of backslashes of all lengths
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let a = x;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            masks.push(a | x);
            masks.push(a & x);
        }
        for &m in &masks {
            for carry in [0, 1] {
                let (got, got_carry) = escapes(m, carry);
                let (want, want_carry) = escapes_naive(m, carry);
                assert_eq!(got_carry, want_carry, "{m:064b} carry {carry}");
                // only non-backslash bytes (and byte 0 when carried) are asked about
                let asked = !m | carry;
                assert_eq!(got & asked, want & asked, "{m:064b} carry {carry}");
            }
        }
    }
}
