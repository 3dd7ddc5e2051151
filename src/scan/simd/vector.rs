//! The small vector interface that both kernels are written against, once.
//!
//! A back end implements [`Vector`] for one register width (8 bytes of SWAR, 16 for SSE2, 32
//! for AVX2, 64 for AVX-512); the kernels look at 64-byte blocks, which helpers such as
//! [`special_bits`] (here) and `structural_bits` (in `skip_container.rs`) turn into one 64-bit
//! mask per byte class (bit `i` describes byte `i` of the block). Everything after the masks
//! is plain integer code.
#![allow(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

const QUOTE: u8 = b'"';
const BACKSLASH: u8 = b'\\';

/// One SIMD register of bytes, and the handful of operations the kernels need.
///
/// # Safety contract
/// Every method is `unsafe` for one reason shared by all implementations: it may execute
/// instructions of the back end's ISA, so **the caller must have verified at run time that the
/// CPU supports that ISA** (the portable implementation has no such requirement). Loads
/// additionally take a 64-byte block and an offset with `at + LANES <= 64`.
pub(super) trait Vector: Copy {
    /// Bytes per register: 8, 16, 32 or 64 (always a divisor of 64).
    const LANES: usize;
    /// The result of a per-byte comparison (a vector of 0x00/0xFF bytes, or a mask register).
    type Mask: Copy;

    /// Loads `block[at..at + LANES]` (unaligned).
    ///
    /// # Safety
    /// The ISA is available, and `at + LANES <= 64`.
    unsafe fn load(block: &[u8; 64], at: usize) -> Self;
    /// Every lane set to `byte`.
    ///
    /// # Safety
    /// The ISA is available.
    unsafe fn splat(byte: u8) -> Self;
    /// Lane-wise bitwise or.
    ///
    /// # Safety
    /// The ISA is available.
    // Used by the block `skip_container`, which only the x86 back ends (and the tests) run.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    unsafe fn or(self, other: Self) -> Self;
    /// Lanes where `self == other`.
    ///
    /// # Safety
    /// The ISA is available.
    unsafe fn eq(self, other: Self) -> Self::Mask;
    /// Lanes holding a control byte (`< 0x20`, unsigned).
    ///
    /// # Safety
    /// The ISA is available.
    unsafe fn is_control(self) -> Self::Mask;
    /// Lanes set in either mask.
    ///
    /// # Safety
    /// The ISA is available.
    unsafe fn union(a: Self::Mask, b: Self::Mask) -> Self::Mask;
    /// The mask as bits: bit `i` is lane `i`; bits `LANES..64` are zero.
    ///
    /// # Safety
    /// The ISA is available.
    unsafe fn bits(m: Self::Mask) -> u64;
    /// Whether any lane is set (may be cheaper than `bits(m) != 0`).
    ///
    /// # Safety
    /// The ISA is available.
    #[inline(always)]
    unsafe fn any(m: Self::Mask) -> bool {
        // SAFETY: same contract as ours: the caller verified the ISA.
        unsafe { Self::bits(m) != 0 }
    }
    /// Prefix XOR: bit `i` of the result is the XOR of bits `0..=i` of `x`. The default is six
    /// shift-XOR steps; a back end with carry-less multiplication may do it in one.
    ///
    /// # Safety
    /// The ISA is available.
    // Used by the block `skip_container`, which only the x86 back ends (and the tests) run.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    #[inline(always)]
    unsafe fn prefix_xor(x: u64) -> u64 {
        prefix_xor_shifts(x)
    }
}

/// Portable prefix XOR by doubling shifts.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))] // as `Vector::prefix_xor`
#[inline(always)]
fn prefix_xor_shifts(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

/// Lanes of `v` holding `"`, `\` or a control byte: what ends a run through a string body.
///
/// # Safety
/// `V`'s ISA is available.
#[inline(always)]
unsafe fn special<V: Vector>(v: V) -> V::Mask {
    // SAFETY: the caller verified `V`'s ISA.
    unsafe {
        let quote = v.eq(V::splat(QUOTE));
        let backslash = v.eq(V::splat(BACKSLASH));
        V::union(V::union(quote, backslash), v.is_control())
    }
}

/// Bit `i` set when `block[i]` is special (see [`special`]).
///
/// # Safety
/// `V`'s ISA is available.
#[inline(always)]
pub(super) unsafe fn special_bits<V: Vector>(block: &[u8; 64]) -> u64 {
    let mut bits = 0;
    let mut k = 0;
    while k < 64 / V::LANES {
        let at = k * V::LANES;
        // SAFETY: the caller verified `V`'s ISA; `at + LANES = (k + 1) * LANES <= 64`.
        bits |= unsafe { V::bits(special(V::load(block, at))) } << at;
        k += 1;
    }
    bits
}

/// [`special_bits`] of the first register of `block` only (bits `0..LANES`).
///
/// # Safety
/// `V`'s ISA is available.
#[inline(always)]
pub(super) unsafe fn first_register_special_bits<V: Vector>(block: &[u8; 64]) -> u64 {
    // SAFETY: the caller verified `V`'s ISA; the load reads `block[0..LANES]`, `LANES <= 64`.
    unsafe { V::bits(special(V::load(block, 0))) }
}

/// Whether any byte of `block` is special: the registers' masks are or-ed first, so there is
/// one test per block instead of one per register.
///
/// # Safety
/// `V`'s ISA is available.
#[inline(always)]
pub(super) unsafe fn any_special<V: Vector>(block: &[u8; 64]) -> bool {
    // SAFETY: the caller verified `V`'s ISA; the loads read `block[at..at + LANES]`
    // with `at = k * LANES`, `k < 64 / LANES`, so `at + LANES <= 64`.
    unsafe {
        let mut m = special(V::load(block, 0));
        let mut k = 1;
        while k < 64 / V::LANES {
            m = V::union(m, special(V::load(block, k * V::LANES)));
            k += 1;
        }
        V::any(m)
    }
}
