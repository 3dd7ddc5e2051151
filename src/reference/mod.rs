//! The reference implementation: the oracle every faster path is checked against.
//!
//! It is written for obviousness, not speed: serde_json parses (with its recursion limit
//! lifted after the depth has been checked), a small tree keeps duplicate names and number
//! lexemes, and each profile's rules read like the spec. Property tests and the fuzz targets
//! compare [`Fingerprinter`](crate::Fingerprinter) with these functions.

mod native;
mod sub2api;
pub(crate) mod tree;

use crate::config::{Config, Profile};
use crate::error::{Error, ErrorKind};
use crate::key::{Key, SessionKey, Source};
use crate::profile::{self, HeaderPair};
pub(crate) use native::Component;

/// Checks a body the simple way: size, UTF-8, nesting depth, then serde_json's grammar;
/// native also refuses lone surrogate escapes. `Ok(false)` for an empty body (no body).
fn check(config: &Config, body: &[u8]) -> Result<bool, Error> {
    if body.is_empty() {
        return Ok(false);
    }
    if body.len() > config.limits.max_body_bytes {
        return Err(Error::new(
            ErrorKind::TooLarge,
            config.limits.max_body_bytes,
        ));
    }
    let text = std::str::from_utf8(body)
        .map_err(|e| Error::new(ErrorKind::InvalidUtf8, e.valid_up_to()))?;
    // Depth: count brackets outside strings.
    let (mut depth, mut in_str, mut esc) = (0usize, false, false);
    for (i, &b) in body.iter().enumerate() {
        if in_str {
            match (esc, b) {
                (true, _) => esc = false,
                (false, b'\\') => esc = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
        } else {
            match b {
                b'"' => in_str = true,
                b'[' | b'{' => {
                    depth += 1;
                    if depth > config.limits.max_depth {
                        return Err(Error::new(ErrorKind::TooDeep, i));
                    }
                }
                b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
    }
    tree::from_text::<serde::de::IgnoredAny>(text).map_err(|e| serde_error(text, &e))?;
    if config.profile == Profile::Native {
        if let Some(at) = crate::canonicalize::text::find_lone_surrogate(body) {
            return Err(Error::new(ErrorKind::LoneSurrogate, at));
        }
    }
    Ok(true)
}

fn serde_error(text: &str, e: &serde_json::Error) -> Error {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(e.line().saturating_sub(1))
        .map(str::len)
        .sum();
    let kind = if e.is_eof() {
        ErrorKind::UnexpectedEnd
    } else {
        ErrorKind::UnexpectedByte
    };
    Error::new(kind, line_start + e.column().saturating_sub(1))
}

/// What the extractor found in a valid body.
pub(crate) struct Extracted {
    /// The first body signal with a value (`prompt_cache_key`, ...), already keyed.
    pub body_key: Option<SessionKey>,
    /// The content key.
    pub content: Option<Key>,
}

/// Extraction on a body already known valid under `config`'s rules.
pub(crate) fn extract_valid(config: &Config, body: &[u8]) -> Result<Extracted, Error> {
    match config.profile {
        Profile::Sub2api => sub2api::extract(config, body),
        Profile::Native => native::extract(config, body),
    }
}

/// The content tier alone (see [`Fingerprinter::content_key`](crate::Fingerprinter::content_key)).
pub fn content_key(config: &Config, body: &[u8]) -> Result<Option<Key>, Error> {
    if !check(config, body)? {
        return Ok(None);
    }
    Ok(extract_valid(config, body)?.content)
}

/// All tiers (see [`Fingerprinter::session_key`](crate::Fingerprinter::session_key)).
pub fn session_key<I>(config: &Config, headers: I, body: &[u8]) -> Result<Option<SessionKey>, Error>
where
    I: IntoIterator,
    I::Item: HeaderPair,
{
    if let Some(k) = profile::header_key(config, headers) {
        return Ok(Some(k));
    }
    if !check(config, body)? {
        return Ok(None);
    }
    let x = extract_valid(config, body)?;
    Ok(x.body_key.or(x.content.map(|key| SessionKey {
        key,
        source: Source::Content,
    })))
}

/// The sub2api content seed (`compat_cs_...`, or the variant `config`'s sub2api options
/// choose, e.g. `compat_csp_...` for the stable prefix), `None` when there is none.
/// Validation follows `config`'s limits; the seed itself is always sub2api's.
pub fn seed_text(config: &Config, body: &[u8]) -> Result<Option<String>, Error> {
    let cfg = config.seed_config();
    if !check(&cfg, body)? {
        return Ok(None);
    }
    Ok(sub2api::seed(&cfg, body))
}

/// For [`crate::explain`]: the native content components of a body, in key order, as the
/// content key frames them. `Ok(None)` for an empty body.
pub(crate) fn native_components(
    config: &Config,
    body: &[u8],
) -> Result<Option<Vec<Component>>, Error> {
    if !check(config, body)? {
        return Ok(None);
    }
    Ok(Some(native::extract_parts(config, body)?.1))
}

/// A sub2api seed's pieces and the seed they make (`None` when there are no pieces).
pub(crate) type SeedPieces = (Vec<String>, Option<String>);

/// For [`crate::explain`]: the sub2api seed cut into its pieces (`model=…`, `|tools=…`, …)
/// and the seed they make. `Ok(None)` for an empty body or a root that is not an object.
pub(crate) fn seed_pieces(config: &Config, body: &[u8]) -> Result<Option<SeedPieces>, Error> {
    if !check(config, body)? {
        return Ok(None);
    }
    Ok(sub2api::pieces(config, body).map(|p| {
        let seed = sub2api::join(config, &p);
        (p, seed)
    }))
}

/// The canonical text of one JSON text under `profile`'s dialect (sub2api:
/// `normalizeCompatSeedJSON`; native: §4.2 with `cache_control` dropped). `Ok(None)` for an
/// empty input. For the fuzz targets.
#[doc(hidden)]
pub fn canonical(profile: Profile, fragment: &[u8]) -> Result<Option<String>, Error> {
    let cfg = match profile {
        Profile::Sub2api => Config::sub2api(),
        Profile::Native => Config::native(),
    };
    if !check(&cfg, fragment)? {
        return Ok(None);
    }
    match profile {
        Profile::Sub2api => Ok(sub2api::canonical(fragment)),
        Profile::Native => native::canonical_fragment(fragment).map(Some),
    }
}
