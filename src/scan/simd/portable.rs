//! The portable back end, for every target: SWAR ("SIMD within a register") on `u64` words,
//! eight bytes per step.
//!
//! - `string_special` is the shared block kernel over [`Swar`] words.
//! - `skip_container` is a byte loop that runs through each string body a word at a time
//!   ([`string_run`]). The shared block kernel works with SWAR too ([`skip_container_blocks`],
//!   tested like every back end), but building four exact 64-bit masks costs about 45
//!   word operations per 8 bytes, while request bodies are mostly string text. Measured
//!   (the `throughput` test, 64 KiB inputs): byte loop 2.7 GB/s on a chat body and 1.4 GB/s on
//!   tool schemas, against 1.9 and 1.7 GB/s for the block kernel.
//!
//! A comparison yields a word with bit 7 of each byte set where the byte matched. The
//! zero-byte test is the exact one (no false positives from borrows between bytes), so the
//! masks are exact, not merely "has a match somewhere".
#![allow(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

use super::vector::Vector;
use super::{Backend, Kernels, SkipState};

const LO7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
const HI: u64 = 0x8080_8080_8080_8080;

/// Eight bytes, lane 0 in the low byte (read little-endian, whatever the target's byte order).
#[derive(Clone, Copy)]
pub(super) struct Swar(u64);

/// Bit 7 of each byte set exactly where the byte of `x` is zero.
#[inline(always)]
fn zero_bytes(x: u64) -> u64 {
    // (b & 0x7F) + 0x7F sets bit 7 iff the low seven bits are nonzero, without a carry out of
    // the byte; or-ing b adds its own bit 7.
    !(((x & LO7) + LO7) | x | LO7)
}

impl Vector for Swar {
    const LANES: usize = 8;
    type Mask = u64;

    #[inline(always)]
    unsafe fn load(block: &[u8; 64], at: usize) -> Swar {
        let mut word = [0; 8];
        word.copy_from_slice(&block[at..at + 8]);
        Swar(u64::from_le_bytes(word))
    }
    #[inline(always)]
    unsafe fn splat(byte: u8) -> Swar {
        Swar(u64::from_ne_bytes([byte; 8]))
    }
    #[inline(always)]
    unsafe fn or(self, other: Swar) -> Swar {
        Swar(self.0 | other.0)
    }
    #[inline(always)]
    unsafe fn eq(self, other: Swar) -> u64 {
        zero_bytes(self.0 ^ other.0)
    }
    #[inline(always)]
    unsafe fn is_control(self) -> u64 {
        // b < 0x20 iff its top three bits are clear.
        zero_bytes(self.0 & 0xE0E0_E0E0_E0E0_E0E0)
    }
    #[inline(always)]
    unsafe fn union(a: u64, b: u64) -> u64 {
        a | b
    }
    #[inline(always)]
    unsafe fn bits(m: u64) -> u64 {
        // Gather bit 7 of byte j (moved to bit 8j) into bit 56 + j: the multiplier has bit
        // 56 - 7j for each j, and no two partial products land on the same bit, so no carries.
        ((m >> 7) & 0x0101_0101_0101_0101).wrapping_mul(0x0102_0408_1020_4080) >> 56
    }
    #[inline(always)]
    unsafe fn any(m: u64) -> bool {
        m & HI != 0
    }
}

fn string_special(hay: &[u8], from: usize) -> usize {
    // SAFETY: the portable back end runs on every CPU.
    unsafe { super::string_special::string_special::<Swar>(hay, from) }
}

/// Bit 7 of each byte of `word` set where the byte is `"`, `\` or a control byte.
#[inline(always)]
fn special_bytes(word: u64) -> u64 {
    zero_bytes(word ^ 0x2222_2222_2222_2222)
        | zero_bytes(word ^ 0x5C5C_5C5C_5C5C_5C5C)
        | zero_bytes(word & 0xE0E0_E0E0_E0E0_E0E0)
}

/// The same answer as `string_special`, a word at a time with an exit at every word: fewer
/// bytes per step, but no 64-byte block to classify for a string of ten bytes.
#[inline(always)]
fn string_run(hay: &[u8], mut at: usize) -> usize {
    while let Some(word) = hay.get(at..).and_then(|rest| rest.first_chunk::<8>()) {
        let m = special_bytes(u64::from_le_bytes(*word));
        if m != 0 {
            return at + (m.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    while let Some(&b) = hay.get(at) {
        if b == b'"' || b == b'\\' || b < 0x20 {
            return at;
        }
        at += 1;
    }
    hay.len()
}

fn skip_container(hay: &[u8], open_at: usize) -> Option<usize> {
    if !matches!(hay.get(open_at), Some(b'{' | b'[')) {
        return None;
    }
    let mut depth = 0usize;
    let mut i = open_at;
    while let Some(&b) = hay.get(i) {
        match b {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                // depth >= 1: the first byte is the opening bracket, and we return at 0.
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            b'"' => {
                // Run to the closing quote; a backslash skips the byte after it.
                let mut j = i + 1;
                loop {
                    j = string_run(hay, j);
                    match hay.get(j) {
                        None => return None,
                        Some(b'"') => break,
                        Some(b'\\') => j += 2,
                        Some(_) => j += 1,
                    }
                }
                i = j;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The shared block kernel with SWAR: not in the table (see the module doc), but tested with
/// the back ends, so the block algorithm is checked on every target.
#[cfg(test)]
pub(super) fn skip_container_blocks(hay: &[u8], open_at: usize) -> Option<usize> {
    // SAFETY: the portable back end runs on every CPU.
    unsafe { super::skip_container::skip_container::<Swar>(hay, open_at) }
}

/// The shared block kernel with SWAR, resumable (the streaming scanner's loose skips): the
/// byte loop above cannot stop and resume inside a string, and a resumed skip is long.
fn skip_resume(hay: &[u8], at: usize, state: &mut SkipState) -> Result<usize, usize> {
    // SAFETY: the portable back end runs on every CPU.
    unsafe { super::skip_container::skip_resume::<Swar>(hay, at, state) }
}

/// The portable kernel table: always available.
pub(super) static KERNELS: Kernels = Kernels {
    backend: Backend::Portable,
    string_special,
    skip_container,
    skip_resume,
};
