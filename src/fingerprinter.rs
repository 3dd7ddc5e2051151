//! The public entry point: a reusable [`Fingerprinter`] that owns its scratch memory.

use crate::config::{Config, Profile};
use crate::error::{Error, ErrorKind};
use crate::key::{Key, SessionKey, Source};
use crate::profile;
use crate::reference;
use crate::scan::{self, BitStack};

/// Computes keys for one [`Config`]. Create one per worker thread and reuse it: it keeps its
/// scratch buffers between requests.
#[derive(Debug)]
pub struct Fingerprinter {
    config: Config,
    stack: BitStack,
}

impl Fingerprinter {
    /// A fingerprinter for `config`.
    pub fn new(config: Config) -> Fingerprinter {
        Fingerprinter {
            config,
            stack: BitStack::default(),
        }
    }

    /// Empties the fragment cache (see [`Config::with_fragment_cache`]).
    pub fn clear_fragment_cache(&mut self) {}

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Validates the body; `Ok(false)` when it is empty (no body at all).
    fn validate(&mut self, body: &[u8]) -> Result<bool, Error> {
        if body.is_empty() {
            return Ok(false);
        }
        let limits = self.config.limits;
        if body.len() > limits.max_body_bytes {
            return Err(Error::new(ErrorKind::TooLarge, limits.max_body_bytes));
        }
        let rules = scan::Rules {
            max_depth: limits.max_depth,
            reject_lone_surrogates: self.config.profile == Profile::Native,
        };
        scan::validate(body, rules, &mut self.stack)?;
        Ok(true)
    }

    /// The content tier alone: `Ok(None)` when the body has nothing to key on (empty body,
    /// a root that is not an object, no seed fields), an error when it is not valid JSON.
    pub fn content_key(&mut self, body: &[u8]) -> Result<Option<Key>, Error> {
        if !self.validate(body)? {
            return Ok(None);
        }
        Ok(reference::extract_valid(&self.config, body)?.content)
    }

    /// All tiers in order: headers `session_id`, `conversation_id`, body
    /// `prompt_cache_key`, content. `headers` is any iterator of name/value pairs, such as
    /// `&http::HeaderMap` or `[("session_id", "abc")]`. When a header decides, the body is
    /// not read at all (so a malformed body does not matter then).
    pub fn session_key<I, K, V>(
        &mut self,
        headers: I,
        body: &[u8],
    ) -> Result<Option<SessionKey>, Error>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        if let Some(k) = profile::header_key(&self.config, headers) {
            return Ok(Some(k));
        }
        if !self.validate(body)? {
            return Ok(None);
        }
        let x = reference::extract_valid(&self.config, body)?;
        Ok(x.body_key
            .map(|key| SessionKey {
                key,
                source: Source::Body(profile::BODY_TIER),
            })
            .or(x.content.map(|key| SessionKey {
                key,
                source: Source::Content,
            })))
    }

    /// The sub2api content seed text (`compat_cs_model=...`), for debugging and for checking
    /// against a Go deployment; `Ok(None)` when there is no seed. Computed by the sub2api
    /// rules whatever this fingerprinter's profile.
    pub fn seed_text(&mut self, body: &[u8]) -> Result<Option<String>, Error> {
        reference::seed_text(&self.config, body)
    }
}
