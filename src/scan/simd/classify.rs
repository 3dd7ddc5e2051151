//! Kernel `classify`: the byte classes of one 64-byte block, for Full validation at block
//! speed (`scan::block`). Written once over [`Vector`]; each back end below only wraps it in
//! its `#[target_feature]` function.
#![allow(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

use super::vector::Vector;
use super::Backend;
use crate::error::Error;
use crate::scan::block::{self, Classes, ValidateFn};
use crate::scan::{BitStack, Rules};
use crate::stream::collect::Collector;
use crate::stream::scanner::{self, RunFn, Scanner};

/// The classes of `block`.
///
/// # Safety
/// `V`'s ISA is available on this CPU.
#[inline(always)]
unsafe fn classify<V: Vector>(block: &[u8; 64]) -> Classes {
    let mut c = Classes::default();
    let mut k = 0;
    while k < 64 / V::LANES {
        let at = k * V::LANES;
        // SAFETY: the caller verified `V`'s ISA; `at + LANES = (k + 1) * LANES <= 64`.
        unsafe {
            let v = V::load(block, at);
            let eq = |b: u8| v.eq(V::splat(b));
            let quote = eq(b'"');
            let backslash = eq(b'\\');
            let u = eq(b'u');
            let ws = V::union(
                V::union(eq(b' '), eq(b'\t')),
                V::union(eq(b'\n'), eq(b'\r')),
            );
            let structural = V::union(
                V::union(V::union(eq(b'{'), eq(b'}')), V::union(eq(b'['), eq(b']'))),
                V::union(eq(b':'), eq(b',')),
            );
            let letters = V::union(
                V::union(V::union(eq(b'b'), eq(b'f')), V::union(eq(b'n'), eq(b'r'))),
                V::union(eq(b't'), eq(b'/')),
            );
            let escapable = V::union(V::union(letters, u), V::union(quote, backslash));
            c.quote |= V::bits(quote) << at;
            c.backslash |= V::bits(backslash) << at;
            c.control |= V::bits(v.is_control()) << at;
            c.ws |= V::bits(ws) << at;
            c.structural |= V::bits(structural) << at;
            c.escapable |= V::bits(escapable) << at;
            c.u |= V::bits(u) << at;
        }
        k += 1;
    }
    c
}

fn classify_portable(block: &[u8; 64]) -> Classes {
    // SAFETY: the portable vector needs no CPU feature.
    unsafe { classify::<super::portable::Swar>(block) }
}

fn validate_portable(
    b: &[u8],
    start: usize,
    rules: Rules,
    depth: usize,
    stack: &mut BitStack,
) -> Result<usize, Error> {
    block::validate_value_with(classify_portable, b, start, rules, depth, stack)
}

fn run_portable(
    sc: &mut Scanner,
    co: &mut Collector,
    b: &[u8],
    base: usize,
    pos: usize,
    eof: bool,
    rules: Rules,
) -> Result<usize, Error> {
    scanner::run_with(classify_portable, sc, co, b, base, pos, eof, rules)
}

/// Nibble tables for the shuffle classifiers: a byte's class bits are
/// `LOW[b & 15] & HIGH[b >> 4]`. Each bit names one rectangle of (high, low) nibbles that
/// holds only members of its class (checked exhaustively by a test):
/// bit 0 `[ ] { }` (high 5/7 × low B/D), bit 1 `:`, bit 2 `,`, bit 3 space, bit 4 tab/LF/CR,
/// bit 5 `" b r` (low 2 × high 2/6/7), bit 6 `f n`, bit 7 `t u`.
#[cfg(target_arch = "x86_64")]
const LOW: [u8; 16] = {
    let mut t = [0u8; 16];
    t[0x0] = 1 << 3;
    t[0x2] = 1 << 5;
    t[0x4] = 1 << 7;
    t[0x5] = 1 << 7;
    t[0x6] = 1 << 6;
    t[0x9] = 1 << 4;
    t[0xA] = (1 << 1) | (1 << 4);
    t[0xB] = 1 << 0;
    t[0xC] = 1 << 2;
    t[0xD] = (1 << 0) | (1 << 4);
    t[0xE] = 1 << 6;
    t
};
#[cfg(target_arch = "x86_64")]
const HIGH: [u8; 16] = {
    let mut t = [0u8; 16];
    t[0x0] = 1 << 4;
    t[0x2] = (1 << 2) | (1 << 3) | (1 << 5);
    t[0x3] = 1 << 1;
    t[0x5] = 1 << 0;
    t[0x6] = (1 << 5) | (1 << 6);
    t[0x7] = (1 << 0) | (1 << 5) | (1 << 7);
    t
};
#[cfg(target_arch = "x86_64")]
const STRUCTURAL_BITS: u8 = 0b0000_0111;
#[cfg(target_arch = "x86_64")]
const WS_BITS: u8 = 0b0001_1000;
#[cfg(target_arch = "x86_64")]
const LETTER_BITS: u8 = 0b1110_0000;

#[cfg(target_arch = "x86_64")]
// The streaming scanner's wrappers take its whole interface (one call per chunk).
#[allow(clippy::too_many_arguments)]
mod x86 {
    use super::*;
    use core::arch::x86_64::*;

    /// AVX-512BW classifier: four compares and one nibble lookup pair instead of twenty
    /// compares.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw")]
    unsafe fn shuffle_avx512(block: &[u8; 64]) -> Classes {
        // SAFETY: our caller guarantees AVX-512F/BW; the load reads exactly the 64 bytes of
        // `block` (no alignment needed); the table loads read 16-byte arrays.
        unsafe {
            let v = _mm512_loadu_si512(block.as_ptr().cast());
            let s = |b: u8| _mm512_set1_epi8(b as i8);
            let low = _mm512_broadcast_i32x4(_mm_loadu_si128(LOW.as_ptr().cast()));
            let high = _mm512_broadcast_i32x4(_mm_loadu_si128(HIGH.as_ptr().cast()));
            let lo = _mm512_and_si512(v, s(0x0f));
            let hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), s(0x0f));
            let class =
                _mm512_and_si512(_mm512_shuffle_epi8(low, lo), _mm512_shuffle_epi8(high, hi));
            let quote = _mm512_cmpeq_epi8_mask(v, s(b'"'));
            let backslash = _mm512_cmpeq_epi8_mask(v, s(b'\\'));
            let slash = _mm512_cmpeq_epi8_mask(v, s(b'/'));
            let u = _mm512_cmpeq_epi8_mask(v, s(b'u'));
            Classes {
                quote,
                backslash,
                control: _mm512_cmplt_epu8_mask(v, s(0x20)),
                ws: _mm512_test_epi8_mask(class, s(WS_BITS)),
                structural: _mm512_test_epi8_mask(class, s(STRUCTURAL_BITS)),
                escapable: _mm512_test_epi8_mask(class, s(LETTER_BITS)) | quote | backslash | slash,
                u,
            }
        }
    }

    /// AVX2 classifier: the same lookups on two 32-byte halves.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn shuffle_avx2(block: &[u8; 64]) -> Classes {
        let mut c = Classes::default();
        for half in 0..2 {
            // SAFETY: our caller guarantees AVX2; the load reads `block[32 * half..][..32]`,
            // in bounds; the table loads read 16-byte arrays.
            unsafe {
                let v = _mm256_loadu_si256(block.as_ptr().add(32 * half).cast());
                let s = |b: u8| _mm256_set1_epi8(b as i8);
                let low = _mm256_broadcastsi128_si256(_mm_loadu_si128(LOW.as_ptr().cast()));
                let high = _mm256_broadcastsi128_si256(_mm_loadu_si128(HIGH.as_ptr().cast()));
                let lo = _mm256_and_si256(v, s(0x0f));
                let hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), s(0x0f));
                let class =
                    _mm256_and_si256(_mm256_shuffle_epi8(low, lo), _mm256_shuffle_epi8(high, hi));
                let bits = |m: __m256i| _mm256_movemask_epi8(m) as u32 as u64;
                let has = |b: u8| {
                    bits(_mm256_cmpeq_epi8(
                        _mm256_and_si256(class, s(b)),
                        _mm256_setzero_si256(),
                    )) ^ 0xffff_ffff
                };
                let quote = bits(_mm256_cmpeq_epi8(v, s(b'"')));
                let backslash = bits(_mm256_cmpeq_epi8(v, s(b'\\')));
                let slash = bits(_mm256_cmpeq_epi8(v, s(b'/')));
                let u = bits(_mm256_cmpeq_epi8(v, s(b'u')));
                // Unsigned `< 0x20`: min(v, 0x1f) == v.
                let control = bits(_mm256_cmpeq_epi8(_mm256_min_epu8(v, s(0x1f)), v));
                let sh = 32 * half as u32;
                c.quote |= quote << sh;
                c.backslash |= backslash << sh;
                c.control |= control << sh;
                c.ws |= has(WS_BITS) << sh;
                c.structural |= has(STRUCTURAL_BITS) << sh;
                c.escapable |= (has(LETTER_BITS) | quote | backslash | slash) << sh;
                c.u |= u << sh;
            }
        }
        c
    }

    #[cfg(test)]
    #[target_feature(enable = "sse2")]
    unsafe fn sse2(block: &[u8; 64]) -> Classes {
        // SAFETY: our caller guarantees SSE2.
        unsafe { classify::<super::super::sse2::Sse2>(block) }
    }
    #[cfg(test)]
    #[target_feature(enable = "avx2,popcnt,pclmulqdq")]
    unsafe fn avx2(block: &[u8; 64]) -> Classes {
        // SAFETY: our caller guarantees AVX2.
        unsafe { shuffle_avx2(block) }
    }
    #[cfg(test)]
    #[target_feature(enable = "avx512f,avx512bw,popcnt,pclmulqdq")]
    unsafe fn avx512(block: &[u8; 64]) -> Classes {
        // SAFETY: our caller guarantees AVX-512F/BW.
        unsafe { shuffle_avx512(block) }
    }

    type R = Result<usize, Error>;

    #[target_feature(enable = "sse2")]
    unsafe fn validate_sse2_tf(b: &[u8], s: usize, r: Rules, d: usize, st: &mut BitStack) -> R {
        block::validate_value_with(
            |x| {
                // SAFETY: this closure only runs inside this function, whose target features
                // our caller verified at run time.
                unsafe { classify::<super::super::sse2::Sse2>(x) }
            },
            b,
            s,
            r,
            d,
            st,
        )
    }
    #[target_feature(enable = "avx2,popcnt,pclmulqdq")]
    unsafe fn validate_avx2_tf(b: &[u8], s: usize, r: Rules, d: usize, st: &mut BitStack) -> R {
        block::validate_value_with(
            |x| {
                // SAFETY: this closure only runs inside this function, whose target features
                // our caller verified at run time.
                unsafe { shuffle_avx2(x) }
            },
            b,
            s,
            r,
            d,
            st,
        )
    }
    #[target_feature(enable = "avx512f,avx512bw,popcnt,pclmulqdq")]
    unsafe fn validate_avx512_tf(b: &[u8], s: usize, r: Rules, d: usize, st: &mut BitStack) -> R {
        block::validate_value_with(
            |x| {
                // SAFETY: this closure only runs inside this function, whose target features
                // our caller verified at run time.
                unsafe { shuffle_avx512(x) }
            },
            b,
            s,
            r,
            d,
            st,
        )
    }
    pub(super) fn validate_sse2(b: &[u8], s: usize, r: Rules, d: usize, st: &mut BitStack) -> R {
        // SAFETY: only handed out by `validator` after `kernels(Sse2)` checked the CPU.
        unsafe { validate_sse2_tf(b, s, r, d, st) }
    }
    pub(super) fn validate_avx2(b: &[u8], s: usize, r: Rules, d: usize, st: &mut BitStack) -> R {
        // SAFETY: only handed out by `validator` after `kernels(Avx2)` checked the CPU.
        unsafe { validate_avx2_tf(b, s, r, d, st) }
    }
    pub(super) fn validate_avx512(b: &[u8], s: usize, r: Rules, d: usize, st: &mut BitStack) -> R {
        // SAFETY: only handed out by `validator` after `kernels(Avx512)` checked the CPU.
        unsafe { validate_avx512_tf(b, s, r, d, st) }
    }

    type S<'a> = &'a mut Scanner;
    type C<'a> = &'a mut Collector;

    #[target_feature(enable = "sse2")]
    unsafe fn run_sse2_tf(sc: S, co: C, b: &[u8], base: usize, p: usize, eof: bool, r: Rules) -> R {
        scanner::run_with(
            |x| {
                // SAFETY: this closure only runs inside this function, whose target features
                // our caller verified at run time.
                unsafe { classify::<super::super::sse2::Sse2>(x) }
            },
            sc,
            co,
            b,
            base,
            p,
            eof,
            r,
        )
    }
    #[target_feature(enable = "avx2,popcnt,pclmulqdq")]
    unsafe fn run_avx2_tf(sc: S, co: C, b: &[u8], base: usize, p: usize, eof: bool, r: Rules) -> R {
        scanner::run_with(
            |x| {
                // SAFETY: this closure only runs inside this function, whose target features
                // our caller verified at run time.
                unsafe { shuffle_avx2(x) }
            },
            sc,
            co,
            b,
            base,
            p,
            eof,
            r,
        )
    }
    #[target_feature(enable = "avx512f,avx512bw,popcnt,pclmulqdq")]
    unsafe fn run_avx512_tf(
        sc: S,
        co: C,
        b: &[u8],
        base: usize,
        p: usize,
        eof: bool,
        r: Rules,
    ) -> R {
        scanner::run_with(
            |x| {
                // SAFETY: this closure only runs inside this function, whose target features
                // our caller verified at run time.
                unsafe { shuffle_avx512(x) }
            },
            sc,
            co,
            b,
            base,
            p,
            eof,
            r,
        )
    }
    pub(super) fn run_sse2(
        sc: S,
        co: C,
        b: &[u8],
        base: usize,
        p: usize,
        eof: bool,
        r: Rules,
    ) -> R {
        // SAFETY: only handed out by `stream_runner` after `kernels(Sse2)` checked the CPU.
        unsafe { run_sse2_tf(sc, co, b, base, p, eof, r) }
    }
    pub(super) fn run_avx2(
        sc: S,
        co: C,
        b: &[u8],
        base: usize,
        p: usize,
        eof: bool,
        r: Rules,
    ) -> R {
        // SAFETY: only handed out by `stream_runner` after `kernels(Avx2)` checked the CPU.
        unsafe { run_avx2_tf(sc, co, b, base, p, eof, r) }
    }
    pub(super) fn run_avx512(
        sc: S,
        co: C,
        b: &[u8],
        base: usize,
        p: usize,
        eof: bool,
        r: Rules,
    ) -> R {
        // SAFETY: only handed out by `stream_runner` after `kernels(Avx512)` checked the CPU.
        unsafe { run_avx512_tf(sc, co, b, base, p, eof, r) }
    }

    #[cfg(test)]
    pub(super) fn classify_sse2(block: &[u8; 64]) -> Classes {
        // SAFETY: only handed out by `classifier` after `kernels(Sse2)` checked the CPU.
        unsafe { sse2(block) }
    }
    #[cfg(test)]
    pub(super) fn classify_avx2(block: &[u8; 64]) -> Classes {
        // SAFETY: only handed out by `classifier` after `kernels(Avx2)` checked the CPU.
        unsafe { avx2(block) }
    }
    #[cfg(test)]
    pub(super) fn classify_avx512(block: &[u8; 64]) -> Classes {
        // SAFETY: only handed out by `classifier` after `kernels(Avx512)` checked the CPU.
        unsafe { avx512(block) }
    }
}

/// The portable block validator: available everywhere, no CPU check.
pub(crate) fn portable_validator() -> ValidateFn {
    validate_portable
}

/// The block validator of `backend` (the classifier inlined), or `None` when this CPU
/// cannot run it.
pub(crate) fn validator(backend: Backend) -> Option<ValidateFn> {
    super::kernels(backend)?;
    Some(match backend {
        Backend::Portable => validate_portable,
        #[cfg(target_arch = "x86_64")]
        Backend::Sse2 => x86::validate_sse2,
        #[cfg(target_arch = "x86_64")]
        Backend::Avx2 => x86::validate_avx2,
        #[cfg(target_arch = "x86_64")]
        Backend::Avx512 => x86::validate_avx512,
        #[cfg(not(target_arch = "x86_64"))]
        _ => return None,
    })
}

/// The portable streaming scanner: available everywhere, no CPU check.
pub(crate) fn portable_stream_runner() -> RunFn {
    run_portable
}

/// The streaming scanner of `backend` (the classifier inlined), or `None` when this CPU
/// cannot run it.
pub(crate) fn stream_runner(backend: Backend) -> Option<RunFn> {
    super::kernels(backend)?;
    Some(match backend {
        Backend::Portable => run_portable,
        #[cfg(target_arch = "x86_64")]
        Backend::Sse2 => x86::run_sse2,
        #[cfg(target_arch = "x86_64")]
        Backend::Avx2 => x86::run_avx2,
        #[cfg(target_arch = "x86_64")]
        Backend::Avx512 => x86::run_avx512,
        #[cfg(not(target_arch = "x86_64"))]
        _ => return None,
    })
}

/// The classifier of `backend`, or `None` when this CPU cannot run it.
#[cfg(test)]
pub(crate) fn classifier(backend: Backend) -> Option<fn(&[u8; 64]) -> Classes> {
    // The run-time CPU check lives in `kernels`; a back end with kernels can run its
    // classifier (same features).
    super::kernels(backend)?;
    Some(match backend {
        Backend::Portable => classify_portable,
        #[cfg(target_arch = "x86_64")]
        Backend::Sse2 => x86::classify_sse2,
        #[cfg(target_arch = "x86_64")]
        Backend::Avx2 => x86::classify_avx2,
        #[cfg(target_arch = "x86_64")]
        Backend::Avx512 => x86::classify_avx512,
        #[cfg(not(target_arch = "x86_64"))]
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::classifier;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_byte_in_every_lane_is_classified_like_the_table() {
        for byte in 0..=255u8 {
            for lane in [0, 1, 15, 16, 31, 32, 47, 63] {
                let mut block = [b'a'; 64];
                block[lane] = byte;
                let want = crate::scan::block::classify_portable(&block);
                for b in Backend::all_available() {
                    assert_eq!(
                        classifier(b).unwrap()(&block),
                        want,
                        "{b:?} byte {byte:#x} lane {lane}"
                    );
                }
            }
        }
    }

    proptest! {
        #[test]
        fn every_back_end_classifies_like_the_table(bytes in proptest::collection::vec(any::<u8>(), 64)) {
            let block: [u8; 64] = bytes.try_into().unwrap();
            let want = crate::scan::block::classify_portable(&block);
            for b in Backend::all_available() {
                prop_assert_eq!(classifier(b).unwrap()(&block), want, "{:?}", b);
            }
        }
    }
}
