//! A C ABI over [`Fingerprinter`], for proxies written in C, Go (cgo) or anything else that
//! can call C. Compiled only with the cargo feature `capi`; the header `include/stickykey.h`
//! is generated from this file by cbindgen (see `docs/capi.md`).
//!
//! The API is an opaque handle ([`SkFingerprinter`]) that owns one [`Fingerprinter`], and
//! functions that fill a caller-owned [`SkKey`]:
//!
//! - [`sk_fingerprinter_new`] / [`sk_fingerprinter_free`];
//! - [`sk_session_key`]: all tiers (headers `session_id`, `conversation_id`, body
//!   `prompt_cache_key`, content seed), like [`Fingerprinter::session_key`];
//! - [`sk_content_key`]: the content tier alone, like [`Fingerprinter::content_key`];
//! - [`sk_error_kind_name`], [`sk_version`]: static strings.
//!
//! Rules that hold for every function:
//!
//! - no panic crosses the boundary: each body runs under [`std::panic::catch_unwind`] and a
//!   panic becomes [`SK_ERR_PANIC`] (a bug in stickykey; please report it; Rust's default
//!   panic hook prints its message to stderr);
//! - a NULL pointer with a nonzero length is [`SK_ERR_INVALID_ARGUMENT`]; a NULL pointer with
//!   length 0 is an empty buffer;
//! - a handle is not thread-safe: use it from one thread at a time (one per worker thread,
//!   or behind a lock). It may move between threads.
//! - no allocation per call in steady state (except the legacy SHA-256 text of the sub2api
//!   profile), as with the Rust API.
// The one module besides the SIMD kernels that needs `unsafe`: it reads caller-provided
// pointers. Every block states the invariant that makes it sound.
#![allow(unsafe_code)]

use crate::{Config, Error, ErrorKind, Fingerprinter, Key, SessionKey, Source};
use std::ffi::{c_char, CStr};
use std::panic::{self, AssertUnwindSafe};

/// Profile for [`sk_fingerprinter_new`]: `native-v1` (canonical JSON, blake3, 128-bit keys,
/// 32 hex digits).
pub const SK_PROFILE_NATIVE: u32 = 0;
/// Profile for [`sk_fingerprinter_new`]: byte-exact with sub2api (xxh64 keys, 16 hex digits;
/// the legacy SHA-256 key is computed too).
pub const SK_PROFILE_SUB2API: u32 = 1;

/// Return code: a key was written to `out`.
pub const SK_OK: i32 = 0;
/// Return code: the request has nothing to key on (no explicit signal and no content seed:
/// empty body, a root that is not an object, no seed fields). `out->source` is
/// [`SK_SOURCE_NONE`] and `out->key` is the empty string.
pub const SK_NO_KEY: i32 = 1;
/// Return code: a NULL handle or `out`, a NULL pointer with a nonzero length, or a length
/// larger than `PTRDIFF_MAX`. Nothing was computed; `out` (when not NULL) is cleared.
pub const SK_ERR_INVALID_ARGUMENT: i32 = -1;
/// Return code: the body was refused (invalid JSON, too deep, too large, ...).
/// `out->error_kind` is one of the `SK_ERROR_KIND_*` codes and `out->error_offset` the byte
/// offset in the body where the problem was seen.
pub const SK_ERR_REFUSED: i32 = -2;
/// Return code: an internal panic was caught (a bug in stickykey). The handle has been reset
/// to a fresh fingerprinter (its fragment cache is empty) and stays usable.
pub const SK_ERR_PANIC: i32 = -3;

/// `SkKey::source`: no key.
pub const SK_SOURCE_NONE: i32 = 0;
/// `SkKey::source`: an explicit request header (`session_id` or `conversation_id`; see
/// `SkKey::source_name`).
pub const SK_SOURCE_HEADER: i32 = 1;
/// `SkKey::source`: the body field `prompt_cache_key`.
pub const SK_SOURCE_BODY: i32 = 2;
/// `SkKey::source`: the content seed (model, tools, system prompt, first user message, ...).
pub const SK_SOURCE_CONTENT: i32 = 3;

/// `SkKey::error_kind`: no error.
pub const SK_ERROR_KIND_NONE: i32 = 0;
/// The body ended inside a value.
pub const SK_ERROR_KIND_UNEXPECTED_END: i32 = 1;
/// A byte that the JSON grammar does not allow here.
pub const SK_ERROR_KIND_UNEXPECTED_BYTE: i32 = 2;
/// The body is not valid UTF-8.
pub const SK_ERROR_KIND_INVALID_UTF8: i32 = 3;
/// A backslash escape that RFC 8259 does not define.
pub const SK_ERROR_KIND_INVALID_ESCAPE: i32 = 4;
/// An unescaped control character inside a string.
pub const SK_ERROR_KIND_CONTROL_CHARACTER: i32 = 5;
/// A number literal that RFC 8259 does not allow.
pub const SK_ERROR_KIND_INVALID_NUMBER: i32 = 6;
/// More than one JSON text, or garbage after the root value.
pub const SK_ERROR_KIND_TRAILING_DATA: i32 = 7;
/// Nesting deeper than the limit (1024).
pub const SK_ERROR_KIND_TOO_DEEP: i32 = 8;
/// The body is longer than the limit (64 MiB).
pub const SK_ERROR_KIND_TOO_LARGE: i32 = 9;
/// native profile: a lone surrogate escape.
pub const SK_ERROR_KIND_LONE_SURROGATE: i32 = 10;
/// native profile: an object read by the extractor repeats a member name.
pub const SK_ERROR_KIND_DUPLICATE_KEY: i32 = 11;

/// Size of `SkKey::key` and `SkKey::legacy_sha256`: 64 hex digits (256 bits) and a NUL.
pub const SK_KEY_HEX_CAPACITY: usize = 65;
/// Size of `SkKey::source_name`: the longest name (`header:conversation_id`) and a NUL, with
/// room to spare.
pub const SK_SOURCE_NAME_CAPACITY: usize = 32;

/// An opaque fingerprinter: create with [`sk_fingerprinter_new`], free with
/// [`sk_fingerprinter_free`]. Keeps scratch memory and a fragment cache between calls, so
/// reuse one per worker thread. Not thread-safe: one call at a time per handle.
pub struct SkFingerprinter {
    inner: Fingerprinter,
}

/// One request header. Names match ASCII-case-insensitively; values are trimmed of white
/// space; the first of repeated headers wins. Pointers may be NULL only when their length is
/// 0. Neither needs to be NUL-terminated.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct SkHeader {
    /// The header name's bytes.
    pub name: *const u8,
    /// Length of `name` in bytes.
    pub name_len: usize,
    /// The header value's bytes.
    pub value: *const u8,
    /// Length of `value` in bytes.
    pub value_len: usize,
}

/// The result of [`sk_session_key`] and [`sk_content_key`], written by the callee (the
/// caller only provides the memory). Every field is set on every call that got a non-NULL
/// `out`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct SkKey {
    /// Which tier produced the key: one of the `SK_SOURCE_*` codes ([`SK_SOURCE_NONE`]
    /// unless the call returned [`SK_OK`]).
    pub source: i32,
    /// On [`SK_ERR_REFUSED`], why: one of the `SK_ERROR_KIND_*` codes (see
    /// [`sk_error_kind_name`]); else [`SK_ERROR_KIND_NONE`].
    pub error_kind: i32,
    /// On [`SK_ERR_REFUSED`], the byte offset into the body where the problem was seen;
    /// else 0.
    pub error_offset: usize,
    /// Number of hex digits in `key`: 16 (sub2api), 32 (native), 0 when there is no key.
    pub key_len: usize,
    /// The key as lower-case hex, NUL-terminated (empty when there is no key).
    pub key: [c_char; SK_KEY_HEX_CAPACITY],
    /// `header:session_id`, `header:conversation_id`, `body:prompt_cache_key` or
    /// `content`, NUL-terminated, as the command line prints it (empty when there is no key).
    pub source_name: [c_char; SK_SOURCE_NAME_CAPACITY],
    /// sub2api profile only: the legacy key (lower-case hex SHA-256, 64 digits),
    /// NUL-terminated; empty for the native profile or when there is no key.
    pub legacy_sha256: [c_char; SK_KEY_HEX_CAPACITY],
}

/// An `SkKey` with no key and no error: what every call writes first.
fn empty_key() -> SkKey {
    SkKey {
        source: SK_SOURCE_NONE,
        error_kind: SK_ERROR_KIND_NONE,
        error_offset: 0,
        key_len: 0,
        key: [0; SK_KEY_HEX_CAPACITY],
        source_name: [0; SK_SOURCE_NAME_CAPACITY],
        legacy_sha256: [0; SK_KEY_HEX_CAPACITY],
    }
}

/// The handle is handed between threads by C callers (a Go goroutine may resume on another
/// OS thread): the fingerprinter must be `Send`. Checked at compile time.
#[allow(dead_code)]
fn assert_fingerprinter_is_send() {
    fn send<T: Send>() {}
    send::<Fingerprinter>();
}

/// Creates a fingerprinter for `profile` ([`SK_PROFILE_NATIVE`] or [`SK_PROFILE_SUB2API`],
/// each with its default configuration). Returns NULL for an unknown profile (or if
/// creation panicked). Free it with [`sk_fingerprinter_free`].
#[no_mangle]
pub extern "C" fn sk_fingerprinter_new(profile: u32) -> *mut SkFingerprinter {
    let config = match profile {
        SK_PROFILE_NATIVE => Config::native(),
        SK_PROFILE_SUB2API => Config::sub2api(),
        _ => return std::ptr::null_mut(),
    };
    panic::catch_unwind(|| {
        Box::into_raw(Box::new(SkFingerprinter {
            inner: Fingerprinter::new(config),
        }))
    })
    .unwrap_or(std::ptr::null_mut())
}

/// Frees a fingerprinter. NULL is allowed (and does nothing).
///
/// # Safety
///
/// `fp` is NULL or a pointer returned by [`sk_fingerprinter_new`] that has not been freed
/// yet and is not in use by another thread; it must not be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn sk_fingerprinter_free(fp: *mut SkFingerprinter) {
    if fp.is_null() {
        return;
    }
    // SAFETY: by the contract above, `fp` came from `Box::into_raw` in
    // `sk_fingerprinter_new` and is freed exactly once, with no other reference alive.
    let boxed = unsafe { Box::from_raw(fp) };
    // Dropping frees memory only; should it ever panic, the panic stays on this side.
    let _ = panic::catch_unwind(AssertUnwindSafe(move || drop(boxed)));
}

/// Derives the sticky-session key of a request from all tiers, in order: header
/// `session_id`, header `conversation_id`, body `prompt_cache_key`, then the content seed.
/// When a header decides, the body is not read (a malformed body does not matter then).
///
/// Returns [`SK_OK`] (key in `out`), [`SK_NO_KEY`], [`SK_ERR_INVALID_ARGUMENT`],
/// [`SK_ERR_REFUSED`] (kind and offset in `out`) or [`SK_ERR_PANIC`].
///
/// # Safety
///
/// - `fp` is NULL or a live handle from [`sk_fingerprinter_new`], not used by another thread
///   during the call;
/// - `body` is NULL (then `body_len` must be 0) or points to `body_len` readable bytes;
/// - `headers` is NULL (then `n_headers` must be 0) or points to `n_headers` readable
///   [`SkHeader`]s, each of whose `name`/`value` is NULL with length 0 or points to that
///   many readable bytes;
/// - `out` is NULL or points to writable, aligned memory for one [`SkKey`] that overlaps
///   none of the other buffers;
/// - none of these buffers is modified by another thread during the call.
#[no_mangle]
pub unsafe extern "C" fn sk_session_key(
    fp: *mut SkFingerprinter,
    body: *const u8,
    body_len: usize,
    headers: *const SkHeader,
    n_headers: usize,
    out: *mut SkKey,
) -> i32 {
    let work = |fp: &mut Fingerprinter| {
        // SAFETY: by the contract, `body` is NULL or readable for `body_len` bytes.
        let body = unsafe { bytes(body, body_len) }.ok_or(SK_ERR_INVALID_ARGUMENT)?;
        // SAFETY: by the contract, `headers` is NULL or readable for `n_headers` items.
        let headers = unsafe { slice(headers, n_headers) }.ok_or(SK_ERR_INVALID_ARGUMENT)?;
        // SAFETY: by the contract, each header's pointers are readable for their lengths.
        let headers = unsafe { Headers::new(headers) }.ok_or(SK_ERR_INVALID_ARGUMENT)?;
        Ok(fp.session_key(headers, body))
    };
    // SAFETY: the caller upholds this function's contract, which includes `derive`'s.
    unsafe { derive(fp, out, work) }
}

/// The content tier alone (the key of what stays constant across turns), ignoring explicit
/// signals. Returns [`SK_OK`] (then `out->source` is [`SK_SOURCE_CONTENT`]), [`SK_NO_KEY`],
/// [`SK_ERR_INVALID_ARGUMENT`], [`SK_ERR_REFUSED`] or [`SK_ERR_PANIC`].
///
/// # Safety
///
/// As for [`sk_session_key`] (without the headers).
#[no_mangle]
pub unsafe extern "C" fn sk_content_key(
    fp: *mut SkFingerprinter,
    body: *const u8,
    body_len: usize,
    out: *mut SkKey,
) -> i32 {
    let work = |fp: &mut Fingerprinter| {
        // SAFETY: by the contract, `body` is NULL or readable for `body_len` bytes.
        let body = unsafe { bytes(body, body_len) }.ok_or(SK_ERR_INVALID_ARGUMENT)?;
        let key = fp.content_key(body);
        Ok(key.map(|k| {
            k.map(|key| SessionKey {
                key,
                source: Source::Content,
            })
        }))
    };
    // SAFETY: the caller upholds this function's contract, which includes `derive`'s.
    unsafe { derive(fp, out, work) }
}

/// The stable, machine-readable name of an `SK_ERROR_KIND_*` code (`"unexpected_end"`, ...;
/// `"none"` for [`SK_ERROR_KIND_NONE`], `"unknown"` for a code this library does not know).
/// A static NUL-terminated string: never NULL, never to be freed.
#[no_mangle]
pub extern "C" fn sk_error_kind_name(code: i32) -> *const c_char {
    kind_name(code).as_ptr()
}

/// The library version (`"0.1.0"`), a static NUL-terminated string: never NULL, never to be
/// freed.
#[no_mangle]
pub extern "C" fn sk_version() -> *const c_char {
    const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    VERSION.as_ptr().cast()
}

/// The common part of the key functions: clears `out`, runs `work` under `catch_unwind`,
/// writes the result. `work` returns `Err(code)` for a bad argument.
///
/// # Safety
///
/// `fp` is NULL or a live handle used by no other thread during the call; `out` is NULL or
/// valid for writing one `SkKey`.
unsafe fn derive<F>(fp: *mut SkFingerprinter, out: *mut SkKey, work: F) -> i32
where
    F: FnOnce(&mut Fingerprinter) -> Result<Result<Option<SessionKey>, Error>, i32>,
{
    if out.is_null() {
        return SK_ERR_INVALID_ARGUMENT;
    }
    // SAFETY: `out` is not NULL, so by the contract it is valid for writing one `SkKey`;
    // `write` does not read the (possibly uninitialized) old value.
    unsafe { out.write(empty_key()) };
    if fp.is_null() {
        return SK_ERR_INVALID_ARGUMENT;
    }
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `fp` is a live handle from `sk_fingerprinter_new` (not NULL, checked above)
        // and no other thread uses it, so this is the only reference to it.
        let fp = unsafe { &mut (*fp).inner };
        let outcome = work(fp);
        // SAFETY: `out` is valid for writes (checked and written above); the reference
        // lives only for this statement and nothing else refers to `*out` meanwhile.
        fill(unsafe { &mut *out }, outcome)
    }));
    match result {
        Ok(code) => code,
        Err(_) => {
            // The fingerprinter may have been left half-way through a request: replace it
            // by a fresh one with the same configuration.
            let _ = panic::catch_unwind(AssertUnwindSafe(|| {
                // SAFETY: as above; the reference made inside the closure that panicked is
                // gone, so this is again the only one.
                let inner = unsafe { &mut (*fp).inner };
                *inner = Fingerprinter::new(inner.config().clone());
            }));
            // SAFETY: `out` is valid for writes, as above; no reference to it is alive.
            unsafe { out.write(empty_key()) };
            SK_ERR_PANIC
        }
    }
}

/// Writes the outcome of one call into `out` (already cleared) and returns its code.
fn fill(out: &mut SkKey, outcome: Result<Result<Option<SessionKey>, Error>, i32>) -> i32 {
    match outcome {
        Err(code) => code,
        Ok(Err(e)) => {
            out.error_kind = kind_code(e.kind());
            out.error_offset = e.offset();
            SK_ERR_REFUSED
        }
        Ok(Ok(None)) => SK_NO_KEY,
        Ok(Ok(Some(sk))) => {
            out.key_len = put_hex(&mut out.key, sk.key.as_bytes().as_ref());
            let (code, parts): (i32, [&str; 2]) = match sk.source {
                Source::Header(name) => (SK_SOURCE_HEADER, ["header:", name]),
                Source::Body(name) => (SK_SOURCE_BODY, ["body:", name]),
                Source::Content => (SK_SOURCE_CONTENT, ["content", ""]),
            };
            out.source = code;
            put_str(&mut out.source_name, &parts);
            put_legacy(&mut out.legacy_sha256, &sk.key);
            SK_OK
        }
    }
}

fn put_legacy(buf: &mut [c_char; SK_KEY_HEX_CAPACITY], key: &Key) {
    if let Some(hex) = key.legacy_sha256() {
        put_str(buf, &[&hex]);
    }
}

/// Writes `bytes` as lower-case hex and a NUL; returns the number of digits (at most
/// `buf.len() - 1`: a longer key would be cut, which no key length of this crate needs).
fn put_hex(buf: &mut [c_char], bytes: &[u8]) -> usize {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let room = buf.len().saturating_sub(1);
    let mut n = 0;
    for &b in bytes {
        if n + 2 > room {
            break;
        }
        buf[n] = DIGITS[usize::from(b >> 4)] as c_char;
        buf[n + 1] = DIGITS[usize::from(b & 15)] as c_char;
        n += 2;
    }
    buf[n] = 0;
    n
}

/// Writes the concatenation of `parts` and a NUL, cut to fit.
fn put_str(buf: &mut [c_char], parts: &[&str]) {
    let room = buf.len().saturating_sub(1);
    let mut n = 0;
    for &b in parts.iter().flat_map(|p| p.as_bytes()) {
        if n == room {
            break;
        }
        buf[n] = b as c_char;
        n += 1;
    }
    buf[n] = 0;
}

/// A caller's byte buffer as a slice: `None` for NULL with a nonzero length or a length the
/// language cannot address; NULL with length 0 is the empty slice.
///
/// # Safety
///
/// `ptr` is NULL or valid for reading `len` bytes, unchanged for `'a`.
unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> Option<&'a [u8]> {
    // SAFETY: forwarded contract; `u8` has no alignment or validity requirement.
    unsafe { slice(ptr, len) }
}

/// A caller's array as a slice, with the rules of [`bytes`].
///
/// # Safety
///
/// `ptr` is NULL or valid (and aligned) for reading `len` initialized `T`s, unchanged for
/// `'a`.
unsafe fn slice<'a, T>(ptr: *const T, len: usize) -> Option<&'a [T]> {
    if len == 0 {
        return Some(&[]);
    }
    if ptr.is_null() || len.checked_mul(size_of::<T>())? > isize::MAX as usize {
        return None;
    }
    // SAFETY: `ptr` is not NULL, so by the contract it points to `len` readable, aligned,
    // initialized `T`s that stay unchanged for `'a`, and their total size fits in `isize`
    // (checked above), which is all `from_raw_parts` asks.
    Some(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Checked caller headers, iterated as `(name, value)` byte pairs.
struct Headers<'a> {
    raw: &'a [SkHeader],
}

impl<'a> Headers<'a> {
    /// `None` when a header has a NULL pointer with a nonzero length.
    ///
    /// # Safety
    ///
    /// Each header's `name`/`value` is NULL or valid for reading its length in bytes,
    /// unchanged for `'a`.
    unsafe fn new(raw: &'a [SkHeader]) -> Option<Headers<'a>> {
        for h in raw {
            // SAFETY: forwarded contract (this only checks that the conversion succeeds).
            unsafe {
                bytes(h.name, h.name_len)?;
                bytes(h.value, h.value_len)?;
            }
        }
        Some(Headers { raw })
    }
}

impl<'a> IntoIterator for Headers<'a> {
    type Item = (&'a [u8], &'a [u8]);
    type IntoIter = std::iter::Map<std::slice::Iter<'a, SkHeader>, fn(&'a SkHeader) -> Self::Item>;

    fn into_iter(self) -> Self::IntoIter {
        fn pair(h: &SkHeader) -> (&[u8], &[u8]) {
            // SAFETY: `Headers::new` checked that both conversions succeed, under the contract
            // (readable, unchanged for `'a`) that its caller promised for these pointers.
            unsafe {
                (
                    bytes(h.name, h.name_len).unwrap_or_default(),
                    bytes(h.value, h.value_len).unwrap_or_default(),
                )
            }
        }
        self.raw.iter().map(pair as fn(&'a SkHeader) -> Self::Item)
    }
}

/// The `SK_ERROR_KIND_*` code of a kind. Exhaustive on purpose: a new [`ErrorKind`] does not
/// compile until it has a code here and a name in [`kind_name`].
fn kind_code(kind: ErrorKind) -> i32 {
    match kind {
        ErrorKind::UnexpectedEnd => SK_ERROR_KIND_UNEXPECTED_END,
        ErrorKind::UnexpectedByte => SK_ERROR_KIND_UNEXPECTED_BYTE,
        ErrorKind::InvalidUtf8 => SK_ERROR_KIND_INVALID_UTF8,
        ErrorKind::InvalidEscape => SK_ERROR_KIND_INVALID_ESCAPE,
        ErrorKind::ControlCharacter => SK_ERROR_KIND_CONTROL_CHARACTER,
        ErrorKind::InvalidNumber => SK_ERROR_KIND_INVALID_NUMBER,
        ErrorKind::TrailingData => SK_ERROR_KIND_TRAILING_DATA,
        ErrorKind::TooDeep => SK_ERROR_KIND_TOO_DEEP,
        ErrorKind::TooLarge => SK_ERROR_KIND_TOO_LARGE,
        ErrorKind::LoneSurrogate => SK_ERROR_KIND_LONE_SURROGATE,
        ErrorKind::DuplicateKey => SK_ERROR_KIND_DUPLICATE_KEY,
    }
}

/// The name of a code: [`ErrorKind::as_str`] with a NUL (checked equal by the tests).
fn kind_name(code: i32) -> &'static CStr {
    match code {
        SK_ERROR_KIND_NONE => c"none",
        SK_ERROR_KIND_UNEXPECTED_END => c"unexpected_end",
        SK_ERROR_KIND_UNEXPECTED_BYTE => c"unexpected_byte",
        SK_ERROR_KIND_INVALID_UTF8 => c"invalid_utf8",
        SK_ERROR_KIND_INVALID_ESCAPE => c"invalid_escape",
        SK_ERROR_KIND_CONTROL_CHARACTER => c"control_character",
        SK_ERROR_KIND_INVALID_NUMBER => c"invalid_number",
        SK_ERROR_KIND_TRAILING_DATA => c"trailing_data",
        SK_ERROR_KIND_TOO_DEEP => c"too_deep",
        SK_ERROR_KIND_TOO_LARGE => c"too_large",
        SK_ERROR_KIND_LONE_SURROGATE => c"lone_surrogate",
        SK_ERROR_KIND_DUPLICATE_KEY => c"duplicate_key",
        _ => c"unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_KINDS: [ErrorKind; 11] = [
        ErrorKind::UnexpectedEnd,
        ErrorKind::UnexpectedByte,
        ErrorKind::InvalidUtf8,
        ErrorKind::InvalidEscape,
        ErrorKind::ControlCharacter,
        ErrorKind::InvalidNumber,
        ErrorKind::TrailingData,
        ErrorKind::TooDeep,
        ErrorKind::TooLarge,
        ErrorKind::LoneSurrogate,
        ErrorKind::DuplicateKey,
    ];

    #[test]
    fn kind_codes_are_distinct_and_named_like_the_rust_api() {
        let mut seen = std::collections::HashSet::new();
        for kind in ALL_KINDS {
            let code = kind_code(kind);
            assert!(code > 0 && seen.insert(code), "{kind:?}");
            assert_eq!(kind_name(code).to_str().unwrap(), kind.as_str());
        }
        assert_eq!(kind_name(0).to_str().unwrap(), "none");
        assert_eq!(kind_name(-5).to_str().unwrap(), "unknown");
        assert_eq!(kind_name(12).to_str().unwrap(), "unknown");
    }

    #[test]
    fn a_panic_becomes_an_error_code_and_resets_the_handle() {
        let fp = sk_fingerprinter_new(SK_PROFILE_SUB2API);
        let mut out = empty_key();
        // SAFETY: `fp` is a fresh handle and `out` a local.
        let code = unsafe { derive(fp, &mut out, |_| panic!("test panic")) };
        assert_eq!(code, SK_ERR_PANIC);
        assert_eq!(out.source, SK_SOURCE_NONE);
        let body = br#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#;
        // SAFETY: the handle stays valid after a panic; the body is a live local.
        let code = unsafe { sk_content_key(fp, body.as_ptr(), body.len(), &mut out) };
        assert_eq!(code, SK_OK);
        assert_eq!(out.key_len, 16);
        // SAFETY: freed once.
        unsafe { sk_fingerprinter_free(fp) };
    }

    #[test]
    fn buffers_are_cut_and_terminated() {
        let mut small = [1 as c_char; 5];
        assert_eq!(put_hex(&mut small, &[0xab, 0xcd, 0xef]), 4);
        assert_eq!(small, [b'a', b'b', b'c', b'd', 0].map(|b| b as c_char));
        put_str(&mut small, &["head", "er"]);
        assert_eq!(small, [b'h', b'e', b'a', b'd', 0].map(|b| b as c_char));
        let mut key = [1 as c_char; SK_KEY_HEX_CAPACITY];
        assert_eq!(put_hex(&mut key, &[0xff; 32]), 64);
        assert_eq!(key[64], 0);
    }
}
