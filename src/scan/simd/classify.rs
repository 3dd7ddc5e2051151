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
            let ws = V::union(V::union(eq(b' '), eq(b'\t')), V::union(eq(b'\n'), eq(b'\r')));
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

fn validate_portable(b: &[u8], start: usize, rules: Rules, depth: usize, stack: &mut BitStack) -> Result<usize, Error> {
    block::validate_value_with(classify_portable, b, start, rules, depth, stack)
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::*;

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
        unsafe { classify::<super::super::avx2::Avx2>(block) }
    }
    #[cfg(test)]
    #[target_feature(enable = "avx512f,avx512bw,popcnt,pclmulqdq")]
    unsafe fn avx512(block: &[u8; 64]) -> Classes {
        // SAFETY: our caller guarantees AVX-512F/BW.
        unsafe { classify::<super::super::avx512::Avx512>(block) }
    }

    type R = Result<usize, Error>;

    #[target_feature(enable = "sse2")]
    unsafe fn validate_sse2_tf(b: &[u8], s: usize, r: Rules, d: usize, st: &mut BitStack) -> R {
        // SAFETY (closure): this function only runs where SSE2 was verified by our caller.
        block::validate_value_with(|x| unsafe { classify::<super::super::sse2::Sse2>(x) }, b, s, r, d, st)
    }
    #[target_feature(enable = "avx2,popcnt,pclmulqdq")]
    unsafe fn validate_avx2_tf(b: &[u8], s: usize, r: Rules, d: usize, st: &mut BitStack) -> R {
        // SAFETY (closure): this function only runs where AVX2 was verified by our caller.
        block::validate_value_with(|x| unsafe { classify::<super::super::avx2::Avx2>(x) }, b, s, r, d, st)
    }
    #[target_feature(enable = "avx512f,avx512bw,popcnt,pclmulqdq")]
    unsafe fn validate_avx512_tf(b: &[u8], s: usize, r: Rules, d: usize, st: &mut BitStack) -> R {
        // SAFETY (closure): this function only runs where AVX-512 was verified by our caller.
        block::validate_value_with(|x| unsafe { classify::<super::super::avx512::Avx512>(x) }, b, s, r, d, st)
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
    use super::*;
    use proptest::prelude::*;
    use super::classifier;

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
