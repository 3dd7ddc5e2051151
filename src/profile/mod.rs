//! The profiles' rules that do not depend on JSON: explicit tiers and their order.
//!
//! Both profiles look at the config's explicit signals ([`Signals`](crate::Signals); by
//! default sub2api's: header `session_id`, header `conversation_id`, body `prompt_cache_key`),
//! in order, then the content seed. Header names match ASCII-case-insensitively (Go's canonical header lookup), the first
//! value of a repeated header wins, values are trimmed of Unicode white space, and a blank
//! value falls through to the next tier. `session-id` (dash) is a different header.

pub(crate) mod engine;
pub(crate) mod native;
pub(crate) mod sub2api;

use crate::config::{BodySignal, Config, Profile, MAX_HEADER_SIGNALS};
use crate::hash;
use crate::key::{SessionKey, Source};

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

/// The key of the first header tier with a non-blank value, if any (the config's header
/// signals, in order; the first value of a repeated header counts).
pub(crate) fn header_key<I>(config: &Config, headers: I) -> Option<SessionKey>
where
    I: IntoIterator,
    I::Item: HeaderPair,
{
    let tiers = &config.signals.headers;
    let mut found: [Option<I::Item>; MAX_HEADER_SIGNALS] = std::array::from_fn(|_| None);
    for h in headers {
        let tier = tiers
            .iter()
            .position(|t| h.name().eq_ignore_ascii_case(t.as_bytes()));
        if let Some(t) = tier {
            if found[t].is_none() {
                found[t] = Some(h);
            }
        }
    }
    for (slot, &tier) in found.iter().zip(tiers) {
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

/// The key of the first body signal with a non-blank value (the config's order).
/// `value_of(signal, out)` appends the signal's text to `out` (`false`: absent).
pub(crate) fn body_signal_key(
    config: &Config,
    buf: &mut String,
    mut value_of: impl FnMut(BodySignal, &mut String) -> Result<bool, crate::Error>,
) -> Result<Option<SessionKey>, crate::Error> {
    for &signal in &config.signals.body {
        buf.clear();
        if !value_of(signal, buf)? {
            continue;
        }
        let value = match signal {
            BodySignal::ClaudeCodeUserId => match claude_code_session(buf) {
                Some(v) => v,
                None => continue,
            },
            _ => std::borrow::Cow::Borrowed(buf.as_str()),
        };
        let source = Source::Body(signal.name());
        if let Some(key) = explicit_key(config, source, value.as_bytes()) {
            return Ok(Some(SessionKey { key, source }));
        }
    }
    Ok(None)
}

/// The session part of Claude Code's `metadata.user_id`: after the last `_session_` of
/// `user_<hex>_account_<uuid>_session_<uuid>`, or the `session_id` string member of the JSON
/// object form. `None` for anything else.
pub(crate) fn claude_code_session(user_id: &str) -> Option<std::borrow::Cow<'_, str>> {
    let v = user_id.trim();
    if v.starts_with('{') {
        // The newer form: a JSON object in the string. Rare and small: parsed with serde_json.
        let obj: serde_json::Map<String, serde_json::Value> = serde_json::from_str(v).ok()?;
        let id = obj.get("session_id")?.as_str()?;
        return Some(std::borrow::Cow::Owned(id.to_owned()));
    }
    let at = v.rfind("_session_")?;
    let id = &v[at + "_session_".len()..];
    (!id.is_empty()).then_some(std::borrow::Cow::Borrowed(id))
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
