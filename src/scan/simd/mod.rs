//! The byte-scanning kernels of the scanner, and the run-time choice of who runs them.
//!
//! Two kernels, each written once against the small [`vector::Vector`] trait:
//! `string_special.rs` (run through a string body to its next `"`, `\` or control byte) and
//! `skip_container.rs` (find the bracket that closes a container, 64 bytes per step, with
//! in-string masks). Four back ends instantiate them:
//!
//! | back end | file | register | runs on |
//! | --- | --- | --- | --- |
//! | [`Backend::Portable`] | `portable.rs` | `u64` SWAR | every target |
//! | [`Backend::Sse2`] | `sse2.rs` | 16 bytes | x86-64 |
//! | [`Backend::Avx2`] | `avx2.rs` | 32 bytes | x86-64 with AVX2, POPCNT, PCLMULQDQ |
//! | [`Backend::Avx512`] | `avx512.rs` | 64 bytes, mask registers | x86-64 with AVX-512F/BW, POPCNT, PCLMULQDQ |
//!
//! (The portable `skip_container` is a byte loop that runs through strings a word at a time:
//! measured faster than the block kernel with SWAR masks on text-heavy bodies; see
//! `portable.rs`.)
//!
//! Dispatch happens once: [`kernels`] checks the CPU and hands out a `&'static` [`Kernels`]
//! table of plain function pointers; callers keep it, so a kernel call is one indirect call
//! with no per-call detection. Each x86 module does its own feature check right beside the
//! table it hands out, which is what makes its `unsafe` calls into `#[target_feature]`
//! functions sound.
//!
//! Tests (`tests.rs`) compare every back end available on the machine with deliberately naive
//! byte-loop oracles.

mod classify;
mod portable;
// Without an x86 back end, only the tests run the block kernel (with SWAR).
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
mod skip_container;
pub(crate) use skip_container::SkipState;
mod string_special;
mod vector;

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
#[cfg(target_arch = "x86_64")]
mod sse2;
#[cfg(target_arch = "x86_64")]
mod x86;

#[cfg(test)]
mod tests;

pub(crate) use classify::{portable_stream_runner, portable_validator, stream_runner, validator};
use std::sync::OnceLock;

/// The implementation that runs stickykey's byte-scanning kernels (the SIMD code that runs
/// through string bodies and skips over nested containers).
///
/// stickykey picks the best one for the CPU at run time ([`Backend::detect`]); no
/// `-C target-cpu` flag is needed, and one binary runs everywhere. Every back end computes
/// exactly the same results; they differ only in speed. Choosing one by hand is meant for
/// testing and benchmarking: set the environment variable `STICKYKEY_BACKEND` to `portable`,
/// `sse2`, `avx2` or `avx512` before the first key is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// Plain Rust on 64-bit words (SWAR), eight bytes per step. Available on every target;
    /// the fallback where no SIMD back end applies (for example on aarch64).
    Portable,
    /// x86-64 SSE2, 16 bytes per instruction. Part of the x86-64 baseline, so always
    /// available there.
    Sse2,
    /// x86-64 AVX2, 32 bytes per instruction. Needs AVX2, POPCNT and PCLMULQDQ, which every
    /// AVX2 CPU has (Intel Haswell, AMD Excavator and later).
    Avx2,
    /// x86-64 AVX-512 (the BW subset, with mask registers), 64 bytes per instruction. Needs
    /// AVX-512F, AVX-512BW, POPCNT and PCLMULQDQ (Intel Skylake-SP, Ice Lake, AMD Zen 4 and
    /// later), and an OS that saves the AVX-512 registers.
    Avx512,
}

impl Backend {
    /// Every back end, slowest first.
    const ALL: [Backend; 4] = [
        Backend::Portable,
        Backend::Sse2,
        Backend::Avx2,
        Backend::Avx512,
    ];

    /// The back end stickykey uses: the fastest one this CPU supports, unless the
    /// environment variable `STICKYKEY_BACKEND` names another one that is available
    /// (`portable`, `sse2`, `avx2` or `avx512`, case-insensitive). A value naming an
    /// unavailable or unknown back end is ignored. Computed on the first call and cached
    /// for the life of the process, so changing the variable later has no effect.
    pub fn detect() -> Backend {
        static DETECTED: OnceLock<Backend> = OnceLock::new();
        *DETECTED.get_or_init(|| {
            let wanted = std::env::var("STICKYKEY_BACKEND").ok();
            parse_backend_env(wanted.as_deref())
                .filter(|b| b.is_available())
                .unwrap_or_else(best_available)
        })
    }

    /// Whether this CPU (and OS) can run this back end. [`Backend::Portable`] always can;
    /// the x86 back ends never can on other architectures.
    pub fn is_available(self) -> bool {
        kernels(self).is_some()
    }

    /// The back ends this CPU can run, slowest first ([`Backend::Portable`] is always the
    /// first).
    pub fn all_available() -> Vec<Backend> {
        Backend::ALL
            .into_iter()
            .filter(|b| b.is_available())
            .collect()
    }

    /// The lower-case name, as accepted by `STICKYKEY_BACKEND`: `"portable"`, `"sse2"`,
    /// `"avx2"` or `"avx512"`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Portable => "portable",
            Backend::Sse2 => "sse2",
            Backend::Avx2 => "avx2",
            Backend::Avx512 => "avx512",
        }
    }
}

/// The fastest available back end.
fn best_available() -> Backend {
    Backend::ALL
        .into_iter()
        .rev()
        .find(|b| b.is_available())
        .unwrap_or(Backend::Portable)
}

/// Reads the value of `STICKYKEY_BACKEND`: a back end's [`Backend::name`], ignoring ASCII
/// case and surrounding whitespace. `None` when unset or unknown (availability is checked by
/// the caller).
fn parse_backend_env(value: Option<&str>) -> Option<Backend> {
    let value = value?.trim();
    Backend::ALL
        .into_iter()
        .find(|b| b.name().eq_ignore_ascii_case(value))
}

/// The kernel table of one back end. Obtain it once (see [`kernels`], [`active`]) and keep it:
/// calling through it costs one indirect call.
pub(crate) struct Kernels {
    /// Who runs these kernels.
    pub backend: Backend,
    /// First index `i >= from` with `hay[i] == b'"' || hay[i] == b'\\' || hay[i] < 0x20`;
    /// `hay.len()` if there is none (also when `from >= hay.len()`). Used to run through
    /// string bodies.
    pub string_special: fn(hay: &[u8], from: usize) -> usize,
    /// `hay[open_at]` is `{` or `[`: returns the index just past the bracket that closes it,
    /// counting every `{` and `[` outside strings as +1 and every `}` and `]` outside strings
    /// as -1 (bracket kinds are not matched, nothing else is validated). Strings start and end
    /// at an unescaped `"`; inside a string a backslash escapes the next byte (outside one it
    /// is an ordinary byte). `None` when the slice ends before the depth returns to 0, or when
    /// `hay[open_at]` is not `{` or `[` (including `open_at >= hay.len()`). Any bytes are
    /// accepted (invalid UTF-8, unterminated strings) without panicking.
    pub skip_container: fn(hay: &[u8], open_at: usize) -> Option<usize>,
    /// `skip_container` in steps: goes on with a skip that stands at `state`, over the whole
    /// 64-byte blocks of `hay` from `at`. `Ok(end)` as `skip_container`'s `Some(end)`, or
    /// `Err(next)`: the first byte not scanned (fewer than 64 are left), `state` updated.
    /// `SkipState::default()` at an opening bracket starts a skip.
    pub skip_resume: fn(hay: &[u8], at: usize, state: &mut SkipState) -> Result<usize, usize>,
}

impl std::fmt::Debug for Kernels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kernels")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

/// The kernels of `backend`, or `None` if this CPU cannot run it. The only way to obtain the
/// SIMD tables: each comes from its module's `kernels()`, which checks the CPU first.
pub(crate) fn kernels(backend: Backend) -> Option<&'static Kernels> {
    match backend {
        Backend::Portable => Some(&portable::KERNELS),
        #[cfg(target_arch = "x86_64")]
        Backend::Sse2 => sse2::kernels(),
        #[cfg(target_arch = "x86_64")]
        Backend::Avx2 => avx2::kernels(),
        #[cfg(target_arch = "x86_64")]
        Backend::Avx512 => avx512::kernels(),
        #[cfg(not(target_arch = "x86_64"))]
        Backend::Sse2 | Backend::Avx2 | Backend::Avx512 => None,
    }
}

/// The portable kernels: available everywhere, no CPU check.
pub(crate) fn portable_kernels() -> &'static Kernels {
    &portable::KERNELS
}

/// The kernels of [`Backend::detect`].
// The Fingerprinter resolves its back end with `kernels` (it may be given one); today only
// tests call this.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn active() -> &'static Kernels {
    kernels(Backend::detect()).unwrap_or(&portable::KERNELS)
}
