//! # stickykey
//!
//! Turns an LLM API request (Chat Completions, Responses, Anthropic Messages, Gemini) into a
//! *sticky-session key*, so that every turn of one conversation reaches the same upstream
//! account and hits its prompt cache.
//!
//! The key comes from the first tier that has a value: an explicit signal ([`Signals`]; by
//! default header `session_id`, header `conversation_id`, body `prompt_cache_key`), else a
//! *content seed* built from what stays constant across turns (model, tools, leading system
//! prompt, first user message, ...). Two profiles define the rules exactly (see
//! `docs/SPEC.md`):
//!
//! - [`Config::sub2api`]: byte-exact with the Go gateway sub2api (xxh64 keys), so mixed
//!   Go/Rust fleets agree on every key;
//! - [`Config::native`]: `native-v1`, canonical JSON (RFC 8785 strings and key order, exact
//!   decimal numbers), tools as a set, domain-separated blake3 keys.
//!
//! ```
//! use stickykey::{Config, Fingerprinter, Source};
//!
//! let mut fp = Fingerprinter::new(Config::sub2api());
//! let body = br#"{"model":"gpt-4o","messages":[{"role":"user","content":"Hello"}]}"#;
//! let key = fp.content_key(body)?.expect("has a content seed");
//! assert_eq!(key.to_string().len(), 16);
//!
//! let headers = [("session_id", "abc-123")];
//! let sk = fp.session_key(headers, body)?.unwrap();
//! assert_eq!(sk.source, Source::Header("session_id"));
//! # Ok::<(), stickykey::Error>(())
//! ```
//!
//! Bodies that arrive in frames go through [`Fingerprinter::stream`] (the same result for any
//! split). Around the key: [`Router`] picks an upstream (rendezvous hashing with bounded
//! loads), [`KeyScope`] makes keys secret-keyed and tenant-scoped, [`explain`] says why two
//! requests got different keys. Features: `tower` (a tower `Layer`, module `layer`), `capi`
//! (a C ABI, module `capi`).
// `unsafe` is denied everywhere; only the SIMD kernels in `scan::simd` and the C ABI
// (`capi`, feature-gated) opt back in, each block stating the invariant that makes it sound.
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod canonicalize;
#[cfg(feature = "capi")]
pub mod capi;
mod config;
mod error;
pub mod explain;
mod extract;
mod fingerprinter;
mod hash;
mod key;
#[cfg(feature = "tower")]
pub mod layer;
mod profile;
pub mod reference;
pub mod router;
mod scan;
mod scope;
pub(crate) mod stream;

pub use config::{BodySignal, Config, Format, KeyLength, Limits, Profile, Signals, Validation};
pub use error::{Error, ErrorKind};
pub use fingerprinter::Fingerprinter;
pub use key::{Key, KeyBytes, SessionKey, Source};
pub use profile::HeaderPair;
pub use router::Router;
pub use scan::simd::Backend;
pub use scope::KeyScope;
pub use stream::Stream;

/// The README's examples are compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// Hooks for this crate's fuzz targets and tests. Not part of the public API: no stability
/// promise, hidden from the documentation.
#[doc(hidden)]
pub mod __private {
    use crate::{Error, Profile};

    /// The canonical text of one JSON fragment under `profile`'s dialect, by the fast engine.
    /// `Ok(None)` is never returned today; the `Option` leaves room for "no fragment".
    pub fn canonical_fast(profile: Profile, fragment: &[u8]) -> Result<Option<String>, Error> {
        let config = match profile {
            Profile::Sub2api => crate::Config::sub2api(),
            Profile::Native => crate::Config::native(),
        };
        crate::Fingerprinter::new(config).canonical_fragment(fragment)
    }

    /// The same, by the reference implementation.
    pub fn canonical_reference(profile: Profile, fragment: &[u8]) -> Result<Option<String>, Error> {
        crate::reference::canonical(profile, fragment)
    }
}
