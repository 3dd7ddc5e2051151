//! Kernel `string_special`: the first `"`, `\` or control byte at or after `from`.
//!
//! A memchr-like scan: first one register (short strings are the common case), then 64-byte
//! blocks with one "any special byte?" test per block; on a hit,
//! the block's bit mask and `trailing_zeros` give the exact index. The last partial block is
//! read as the final 64 bytes of the haystack (overlapping what was already scanned, with the
//! already-scanned bits shifted out), or, when the whole haystack is shorter than 64 bytes,
//! from a stack copy padded with spaces. No read ever goes past the slice.
#![allow(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

use super::vector::{any_special, first_register_special_bits, special_bits, Vector};

/// First `i >= from` with `hay[i]` in `"`, `\`, `0x00..=0x1F`; `hay.len()` if none (also when
/// `from >= hay.len()`).
///
/// # Safety
/// `V`'s ISA is available on this CPU.
#[inline(always)]
pub(super) unsafe fn string_special<V: Vector>(hay: &[u8], from: usize) -> usize {
    let len = hay.len();
    if from >= len {
        return len;
    }
    let mut at = from;
    // Most strings of a request body are short (member names, roles, ids): look at one
    // register first (with AVX-512 that is the whole block, so skip it), then go block by
    // block.
    if V::LANES < 64 {
        if let Some(block) = hay[at..].first_chunk::<64>() {
            // SAFETY: the caller verified `V`'s ISA.
            let bits = unsafe { first_register_special_bits::<V>(block) };
            if bits != 0 {
                return at + bits.trailing_zeros() as usize;
            }
            at += V::LANES;
        }
    }
    while let Some(block) = hay[at..].first_chunk::<64>() {
        // SAFETY: the caller verified `V`'s ISA.
        if unsafe { any_special::<V>(block) } {
            // SAFETY: as above.
            let bits = unsafe { special_bits::<V>(block) };
            return at + bits.trailing_zeros() as usize;
        }
        at += 64;
    }
    if at == len {
        return len;
    }
    // 1..=63 bytes left.
    let bits = match hay.last_chunk::<64>() {
        Some(last) => {
            // `last` starts at `len - 64 < at`; drop the bits of bytes before `at`.
            // SAFETY: the caller verified `V`'s ISA.
            let bits = unsafe { special_bits::<V>(last) };
            bits >> (at - (len - 64))
        }
        None => {
            // Space is not special, so the padding never matches.
            let mut buf = [b' '; 64];
            buf[..len - at].copy_from_slice(&hay[at..]);
            // SAFETY: the caller verified `V`'s ISA.
            unsafe { special_bits::<V>(&buf) }
        }
    };
    if bits == 0 {
        len
    } else {
        at + bits.trailing_zeros() as usize
    }
}
