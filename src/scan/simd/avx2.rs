//! The AVX2 back end: 32-byte registers, two per 64-byte block, plus POPCNT for the bracket
//! counts and PCLMULQDQ for the in-string prefix XOR (every AVX2 CPU has both; they are
//! checked anyway).
#![allow(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

use core::arch::x86_64::{
    __m256i, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_min_epu8, _mm256_movemask_epi8,
    _mm256_or_si256, _mm256_set1_epi8,
};

use super::vector::Vector;
use super::x86::prefix_xor_clmul;
use super::{Backend, Kernels, SkipState};

#[derive(Clone, Copy)]
pub(super) struct Avx2(__m256i);

impl Vector for Avx2 {
    const LANES: usize = 32;
    type Mask = __m256i;

    #[inline(always)]
    unsafe fn load(block: &[u8; 64], at: usize) -> Avx2 {
        debug_assert!(at + 32 <= 64);
        // SAFETY: the caller guarantees AVX2 and `at + 32 <= 64`, so the 32 bytes read are
        // inside `block`; `loadu` has no alignment requirement.
        unsafe { Avx2(_mm256_loadu_si256(block.as_ptr().add(at).cast())) }
    }
    #[inline(always)]
    unsafe fn splat(byte: u8) -> Avx2 {
        // SAFETY: the caller guarantees AVX2.
        unsafe { Avx2(_mm256_set1_epi8(byte as i8)) }
    }
    #[inline(always)]
    unsafe fn or(self, other: Avx2) -> Avx2 {
        // SAFETY: the caller guarantees AVX2.
        unsafe { Avx2(_mm256_or_si256(self.0, other.0)) }
    }
    #[inline(always)]
    unsafe fn eq(self, other: Avx2) -> __m256i {
        // SAFETY: the caller guarantees AVX2.
        unsafe { _mm256_cmpeq_epi8(self.0, other.0) }
    }
    #[inline(always)]
    unsafe fn is_control(self) -> __m256i {
        // b <= 0x1F (unsigned) iff min(b, 0x1F) == b.
        // SAFETY: the caller guarantees AVX2.
        unsafe { _mm256_cmpeq_epi8(_mm256_min_epu8(self.0, _mm256_set1_epi8(0x1F)), self.0) }
    }
    #[inline(always)]
    unsafe fn union(a: __m256i, b: __m256i) -> __m256i {
        // SAFETY: the caller guarantees AVX2.
        unsafe { _mm256_or_si256(a, b) }
    }
    #[inline(always)]
    unsafe fn bits(m: __m256i) -> u64 {
        // `movemask` fills all 32 bits of the i32; through u32 so bit 31 does not sign-extend.
        // SAFETY: the caller guarantees AVX2.
        unsafe { _mm256_movemask_epi8(m) as u32 as u64 }
    }
    #[inline(always)]
    unsafe fn prefix_xor(x: u64) -> u64 {
        // SAFETY: the caller guarantees this back end's features, PCLMULQDQ included.
        unsafe { prefix_xor_clmul(x) }
    }
}

#[target_feature(enable = "avx2,popcnt,pclmulqdq")]
unsafe fn string_special_avx2(hay: &[u8], from: usize) -> usize {
    // SAFETY: our caller guarantees AVX2, POPCNT and PCLMULQDQ (see `string_special`).
    unsafe { super::string_special::string_special::<Avx2>(hay, from) }
}

#[target_feature(enable = "avx2,popcnt,pclmulqdq")]
unsafe fn skip_container_avx2(hay: &[u8], open_at: usize) -> Option<usize> {
    // SAFETY: our caller guarantees AVX2, POPCNT and PCLMULQDQ (see `skip_container`).
    unsafe { super::skip_container::skip_container::<Avx2>(hay, open_at) }
}

#[target_feature(enable = "avx2,popcnt,pclmulqdq")]
unsafe fn skip_resume_avx2(hay: &[u8], at: usize, state: &mut SkipState) -> Result<usize, usize> {
    // SAFETY: our caller guarantees AVX2, POPCNT and PCLMULQDQ (see `skip_resume`).
    unsafe { super::skip_container::skip_resume::<Avx2>(hay, at, state) }
}

fn string_special(hay: &[u8], from: usize) -> usize {
    // SAFETY: this function is private and only reachable through `KERNELS`, which `kernels()`
    // hands out only after checking AVX2, POPCNT and PCLMULQDQ at run time.
    unsafe { string_special_avx2(hay, from) }
}

fn skip_container(hay: &[u8], open_at: usize) -> Option<usize> {
    // SAFETY: as in `string_special`: only reachable after the run-time check in `kernels()`.
    unsafe { skip_container_avx2(hay, open_at) }
}

fn skip_resume(hay: &[u8], at: usize, state: &mut SkipState) -> Result<usize, usize> {
    // SAFETY: as in `string_special`: only reachable after the run-time check in `kernels()`.
    unsafe { skip_resume_avx2(hay, at, state) }
}

static KERNELS: Kernels = Kernels {
    backend: Backend::Avx2,
    string_special,
    skip_container,
    skip_resume,
};

/// The AVX2 kernels, if this CPU (and OS) supports AVX2, POPCNT and PCLMULQDQ.
pub(super) fn kernels() -> Option<&'static Kernels> {
    if is_x86_feature_detected!("avx2")
        && is_x86_feature_detected!("popcnt")
        && is_x86_feature_detected!("pclmulqdq")
    {
        Some(&KERNELS)
    } else {
        None
    }
}
