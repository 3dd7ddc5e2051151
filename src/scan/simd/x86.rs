//! What the x86-64 back ends share beyond the [`Vector`](super::vector::Vector) trait.
#![allow(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

use core::arch::x86_64::{_mm_clmulepi64_si128, _mm_cvtsi128_si64, _mm_set1_epi8, _mm_set_epi64x};

/// Prefix XOR in one carry-less multiplication: multiplying by all ones over GF(2) makes bit
/// `i` of the low half the XOR of bits `0..=i`.
///
/// # Safety
/// The CPU supports PCLMULQDQ (and SSE2, which x86-64 always has).
#[inline(always)]
pub(super) unsafe fn prefix_xor_clmul(x: u64) -> u64 {
    // SAFETY: the caller guarantees PCLMULQDQ; the rest is SSE2, always present on x86-64.
    unsafe {
        let product = _mm_clmulepi64_si128(_mm_set_epi64x(0, x as i64), _mm_set1_epi8(-1), 0);
        _mm_cvtsi128_si64(product) as u64
    }
}
