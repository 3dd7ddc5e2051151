//! The profiles' rules that do not depend on JSON: explicit tiers and their order.
//!
//! Both profiles (native-v1 and sub2api) look at the same explicit signals, in this order:
//! header `session_id`, header `conversation_id`, body `prompt_cache_key`, then the content
//! seed. Header names match ASCII-case-insensitively (Go's canonical header lookup), the first
//! value of a repeated header wins, values are trimmed of Unicode white space, and a blank
//! value falls through to the next tier. `session-id` (dash) is a different header.

pub(crate) mod engine;
pub(crate) mod native;
pub(crate) mod sub2api;

use crate::config::{Config, Profile};
use crate::hash;
use crate::key::{SessionKey, Source};

/// Header tiers, in order.
pub(crate) const HEADER_TIERS: [&str; 2] = ["session_id", "conversation_id"];
/// The body field tier.
pub(crate) const BODY_TIER: &str = "prompt_cache_key";

/// A request header: a `(name, value)` pair, owned or borrowed. Implemented for tuples of
/// anything byte-like, so `&http::HeaderMap`, `[("session_id", "abc")]` and
/// `&Vec<(String, String)>` all work as the `headers` of
/// [`Fingerprinter::session_key`](crate::Fingerprinter::session_key).
pub trait HeaderPair {
    /// The header name (matched ASCII-case-insensitively).
    fn name(&self) -> &[u8];
    /// The header value.
    fn value(&self) -> &[u8];
}

impl<K: AsRef<[u8]>, V: AsRef<[u8]>> HeaderPair for (K, V) {
    fn name(&self) -> &[u8] {
        self.0.as_ref()
    }
    fn value(&self) -> &[u8] {
        self.1.as_ref()
    }
}

impl<K: AsRef<[u8]>, V: AsRef<[u8]>> HeaderPair for &(K, V) {
    fn name(&self) -> &[u8] {
        self.0.as_ref()
    }
    fn value(&self) -> &[u8] {
        self.1.as_ref()
    }
}

/// The key of the first header tier with a non-blank value, if any.
pub(crate) fn header_key<I>(config: &Config, headers: I) -> Option<SessionKey>
where
    I: IntoIterator,
    I::Item: HeaderPair,
{
    let mut found: [Option<I::Item>; 2] = [None, None];
    for h in headers {
        let tier = HEADER_TIERS
            .iter()
            .position(|t| h.name().eq_ignore_ascii_case(t.as_bytes()));
        if let Some(t) = tier {
            if found[t].is_none() {
                found[t] = Some(h);
            }
        }
    }
    for (slot, tier) in found.iter().zip(HEADER_TIERS) {
        if let Some(h) = slot {
            if let Some(key) = explicit_key(config, Source::Header(tier), h.value()) {
                return Some(SessionKey {
                    key,
                    source: Source::Header(tier),
                });
            }
        }
    }
    None
}

/// The key of an explicit value (trimmed; `None` when blank).
pub(crate) fn explicit_key(config: &Config, source: Source, value: &[u8]) -> Option<crate::Key> {
    match config.profile {
        Profile::Sub2api => hash::sub2api_key(value, config.legacy_sha256),
        Profile::Native => {
            let v = hash::go_trim_space(value);
            if v.is_empty() {
                return None;
            }
            let (kind, name) = match source {
                Source::Header(n) => ("header:", n),
                Source::Body(n) => ("body:", n),
                Source::Content => ("content", ""),
            };
            Some(hash::native_explicit_key(kind, name, v, config.key_length))
        }
    }
}
