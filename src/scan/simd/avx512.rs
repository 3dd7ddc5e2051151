//! The AVX-512 back end: one 64-byte register per block, comparisons straight into 64-bit mask
//! registers (AVX-512BW), so there is no `movemask` step at all. Also POPCNT and PCLMULQDQ,
//! as in the AVX2 back end.
#![allow(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

use core::arch::x86_64::{
    __m512i, _mm512_cmpeq_epi8_mask, _mm512_cmplt_epu8_mask, _mm512_loadu_si512, _mm512_or_si512,
    _mm512_set1_epi8,
};

use super::vector::Vector;
use super::x86::prefix_xor_clmul;
use super::{Backend, Kernels, SkipState};

#[derive(Clone, Copy)]
pub(super) struct Avx512(__m512i);

impl Vector for Avx512 {
    const LANES: usize = 64;
    type Mask = u64;

    #[inline(always)]
    unsafe fn load(block: &[u8; 64], at: usize) -> Avx512 {
        debug_assert!(at == 0);
        // SAFETY: the caller guarantees AVX-512F and `at + 64 <= 64`, i.e. the 64 bytes read
        // are exactly `block`; `loadu` has no alignment requirement.
        unsafe { Avx512(_mm512_loadu_si512(block.as_ptr().add(at).cast())) }
    }
    #[inline(always)]
    unsafe fn splat(byte: u8) -> Avx512 {
        // SAFETY: the caller guarantees AVX-512F.
        unsafe { Avx512(_mm512_set1_epi8(byte as i8)) }
    }
    #[inline(always)]
    unsafe fn or(self, other: Avx512) -> Avx512 {
        // SAFETY: the caller guarantees AVX-512F.
        unsafe { Avx512(_mm512_or_si512(self.0, other.0)) }
    }
    #[inline(always)]
    unsafe fn eq(self, other: Avx512) -> u64 {
        // SAFETY: the caller guarantees AVX-512BW.
        unsafe { _mm512_cmpeq_epi8_mask(self.0, other.0) }
    }
    #[inline(always)]
    unsafe fn is_control(self) -> u64 {
        // SAFETY: the caller guarantees AVX-512BW.
        unsafe { _mm512_cmplt_epu8_mask(self.0, _mm512_set1_epi8(0x20)) }
    }
    #[inline(always)]
    unsafe fn union(a: u64, b: u64) -> u64 {
        a | b
    }
    #[inline(always)]
    unsafe fn bits(m: u64) -> u64 {
        m
    }
    #[inline(always)]
    unsafe fn prefix_xor(x: u64) -> u64 {
        // SAFETY: the caller guarantees this back end's features, PCLMULQDQ included.
        unsafe { prefix_xor_clmul(x) }
    }
}

#[target_feature(enable = "avx512f,avx512bw,popcnt,pclmulqdq")]
unsafe fn string_special_avx512(hay: &[u8], from: usize) -> usize {
    // SAFETY: our caller guarantees AVX-512F/BW, POPCNT and PCLMULQDQ (see `string_special`).
    unsafe { super::string_special::string_special::<Avx512>(hay, from) }
}

#[target_feature(enable = "avx512f,avx512bw,popcnt,pclmulqdq")]
unsafe fn skip_container_avx512(hay: &[u8], open_at: usize) -> Option<usize> {
    // SAFETY: our caller guarantees AVX-512F/BW, POPCNT and PCLMULQDQ (see `skip_container`).
    unsafe { super::skip_container::skip_container::<Avx512>(hay, open_at) }
}

#[target_feature(enable = "avx512f,avx512bw,popcnt,pclmulqdq")]
unsafe fn skip_resume_avx512(hay: &[u8], at: usize, state: &mut SkipState) -> Result<usize, usize> {
    // SAFETY: our caller guarantees AVX-512F/BW, POPCNT and PCLMULQDQ (see `skip_resume`).
    unsafe { super::skip_container::skip_resume::<Avx512>(hay, at, state) }
}

fn string_special(hay: &[u8], from: usize) -> usize {
    // SAFETY: this function is private and only reachable through `KERNELS`, which `kernels()`
    // hands out only after checking AVX-512F, AVX-512BW, POPCNT and PCLMULQDQ at run time.
    unsafe { string_special_avx512(hay, from) }
}

fn skip_container(hay: &[u8], open_at: usize) -> Option<usize> {
    // SAFETY: as in `string_special`: only reachable after the run-time check in `kernels()`.
    unsafe { skip_container_avx512(hay, open_at) }
}

fn skip_resume(hay: &[u8], at: usize, state: &mut SkipState) -> Result<usize, usize> {
    // SAFETY: as in `string_special`: only reachable after the run-time check in `kernels()`.
    unsafe { skip_resume_avx512(hay, at, state) }
}

static KERNELS: Kernels = Kernels {
    backend: Backend::Avx512,
    string_special,
    skip_container,
    skip_resume,
};

/// The AVX-512 kernels, if this CPU (and OS: the detection includes the ZMM state) supports
/// AVX-512F, AVX-512BW, POPCNT and PCLMULQDQ.
pub(super) fn kernels() -> Option<&'static Kernels> {
    if is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx512bw")
        && is_x86_feature_detected!("popcnt")
        && is_x86_feature_detected!("pclmulqdq")
    {
        Some(&KERNELS)
    } else {
        None
    }
}
