//! The SSE2 back end: 16-byte registers, four per 64-byte block. SSE2 is part of the x86-64
//! baseline, so this is the floor on any x86-64 CPU; it uses nothing beyond SSE2 (no
//! `popcnt`, no carry-less multiply).
#![allow(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

use core::arch::x86_64::{
    __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128,
    _mm_set1_epi8,
};

use super::vector::Vector;
use super::{Backend, Kernels, SkipState};

#[derive(Clone, Copy)]
pub(super) struct Sse2(__m128i);

impl Vector for Sse2 {
    const LANES: usize = 16;
    type Mask = __m128i;

    #[inline(always)]
    unsafe fn load(block: &[u8; 64], at: usize) -> Sse2 {
        debug_assert!(at + 16 <= 64);
        // SAFETY: the caller guarantees SSE2 and `at + 16 <= 64`, so the 16 bytes read are
        // inside `block`; `loadu` has no alignment requirement.
        unsafe { Sse2(_mm_loadu_si128(block.as_ptr().add(at).cast())) }
    }
    #[inline(always)]
    unsafe fn splat(byte: u8) -> Sse2 {
        // SAFETY: the caller guarantees SSE2.
        unsafe { Sse2(_mm_set1_epi8(byte as i8)) }
    }
    #[inline(always)]
    unsafe fn or(self, other: Sse2) -> Sse2 {
        // SAFETY: the caller guarantees SSE2.
        unsafe { Sse2(_mm_or_si128(self.0, other.0)) }
    }
    #[inline(always)]
    unsafe fn eq(self, other: Sse2) -> __m128i {
        // SAFETY: the caller guarantees SSE2.
        unsafe { _mm_cmpeq_epi8(self.0, other.0) }
    }
    #[inline(always)]
    unsafe fn is_control(self) -> __m128i {
        // b <= 0x1F (unsigned) iff min(b, 0x1F) == b.
        // SAFETY: the caller guarantees SSE2.
        unsafe { _mm_cmpeq_epi8(_mm_min_epu8(self.0, _mm_set1_epi8(0x1F)), self.0) }
    }
    #[inline(always)]
    unsafe fn union(a: __m128i, b: __m128i) -> __m128i {
        // SAFETY: the caller guarantees SSE2.
        unsafe { _mm_or_si128(a, b) }
    }
    #[inline(always)]
    unsafe fn bits(m: __m128i) -> u64 {
        // `movemask` fills the low 16 bits of the i32; through u32 so nothing sign-extends.
        // SAFETY: the caller guarantees SSE2.
        unsafe { _mm_movemask_epi8(m) as u32 as u64 }
    }
}

#[target_feature(enable = "sse2")]
unsafe fn string_special_sse2(hay: &[u8], from: usize) -> usize {
    // SAFETY: our caller guarantees SSE2 (see `string_special`).
    unsafe { super::string_special::string_special::<Sse2>(hay, from) }
}

#[target_feature(enable = "sse2")]
unsafe fn skip_container_sse2(hay: &[u8], open_at: usize) -> Option<usize> {
    // SAFETY: our caller guarantees SSE2 (see `skip_container`).
    unsafe { super::skip_container::skip_container::<Sse2>(hay, open_at) }
}

#[target_feature(enable = "sse2")]
unsafe fn skip_resume_sse2(hay: &[u8], at: usize, state: &mut SkipState) -> Result<usize, usize> {
    // SAFETY: our caller guarantees SSE2 (see `skip_resume`).
    unsafe { super::skip_container::skip_resume::<Sse2>(hay, at, state) }
}

fn string_special(hay: &[u8], from: usize) -> usize {
    // SAFETY: this function is private and only reachable through `KERNELS`, which `kernels()`
    // hands out only after checking SSE2 at run time.
    unsafe { string_special_sse2(hay, from) }
}

fn skip_container(hay: &[u8], open_at: usize) -> Option<usize> {
    // SAFETY: as in `string_special`: only reachable after the run-time check in `kernels()`.
    unsafe { skip_container_sse2(hay, open_at) }
}

fn skip_resume(hay: &[u8], at: usize, state: &mut SkipState) -> Result<usize, usize> {
    // SAFETY: as in `string_special`: only reachable after the run-time check in `kernels()`.
    unsafe { skip_resume_sse2(hay, at, state) }
}

static KERNELS: Kernels = Kernels {
    backend: Backend::Sse2,
    string_special,
    skip_container,
    skip_resume,
};

/// The SSE2 kernels, if this CPU has SSE2 (every x86-64 CPU does).
pub(super) fn kernels() -> Option<&'static Kernels> {
    if is_x86_feature_detected!("sse2") {
        Some(&KERNELS)
    } else {
        None
    }
}
