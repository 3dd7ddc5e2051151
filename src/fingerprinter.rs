//! The public entry point: a reusable [`Fingerprinter`] that owns its scratch memory.

use crate::canonicalize::cache::FragmentCache;
use crate::config::{Config, Profile, Validation};
use crate::error::{Error, ErrorKind};
use crate::extract::Span;
use crate::hash::{self, SeedHasher};
use crate::key::{Key, SessionKey, Source};
use crate::profile::{self, engine::Ctx, HeaderPair};
use crate::scan::{self, simd, BitStack};
use bumpalo::Bump;

/// Computes keys for one [`Config`]. Create one per worker thread and reuse it: it keeps its
/// scratch memory (an arena, a nesting stack, text buffers, the fragment cache) between
/// requests, so that after the first few requests it allocates nothing.
#[derive(Debug)]
pub struct Fingerprinter {
    config: Config,
    kernels: &'static simd::Kernels,
    validate: scan::block::ValidateFn,
    stack: BitStack,
    arena: Bump,
    buf: String,
    buf2: String,
    pending: String,
    cache: FragmentCache,
}

/// What one walk of a body found.
struct Found {
    body_key: Option<Key>,
    content: Option<Key>,
}

impl Fingerprinter {
    /// A fingerprinter for `config`, on the fastest SIMD back end of this CPU
    /// (see [`Backend::detect`](crate::Backend::detect)).
    pub fn new(config: Config) -> Fingerprinter {
        // `detect` only returns available back ends; the portable tables need no check.
        Fingerprinter::with_backend(config.clone(), crate::Backend::detect()).unwrap_or_else(|| {
            Fingerprinter::from_parts(config, simd::portable_kernels(), simd::portable_validator())
        })
    }

    /// A fingerprinter on a chosen back end; `None` when this CPU cannot run it. For tests
    /// and benchmarks: every back end gives the same keys.
    pub fn with_backend(config: Config, backend: crate::Backend) -> Option<Fingerprinter> {
        Some(Fingerprinter::from_parts(
            config,
            simd::kernels(backend)?,
            simd::validator(backend)?,
        ))
    }

    fn from_parts(
        config: Config,
        kernels: &'static simd::Kernels,
        validate: scan::block::ValidateFn,
    ) -> Fingerprinter {
        let cache = FragmentCache::new(config.fragment_cache_bytes);
        Fingerprinter {
            config,
            kernels,
            validate,
            stack: BitStack::default(),
            arena: Bump::new(),
            buf: String::new(),
            buf2: String::new(),
            pending: String::new(),
            cache,
        }
    }

    /// The back end this fingerprinter runs on.
    pub fn backend(&self) -> crate::Backend {
        self.kernels.backend
    }

    /// Empties the fragment cache (see [`Config::with_fragment_cache`]).
    pub fn clear_fragment_cache(&mut self) {
        self.cache.clear();
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Size, UTF-8 (Full validation) and per-request reset. `Ok(false)`: empty body.
    fn prepare(&mut self, body: &[u8]) -> Result<bool, Error> {
        if body.is_empty() {
            return Ok(false);
        }
        let limits = self.config.limits;
        if body.len() > limits.max_body_bytes {
            return Err(Error::new(ErrorKind::TooLarge, limits.max_body_bytes));
        }
        if self.config.validation == Validation::Full {
            scan::check_utf8(body)?;
        }
        // `reset` keeps only the newest chunk; if the last request needed more, replace the
        // arena by one chunk that large, so that steady state allocates nothing.
        let used = self.arena.allocated_bytes();
        self.arena.reset();
        if self.arena.allocated_bytes() < used {
            self.arena = Bump::with_capacity(used);
        }
        Ok(true)
    }

    fn rules(&self) -> scan::Rules {
        scan::Rules {
            max_depth: self.config.limits.max_depth,
            reject_lone_surrogates: self.config.profile == Profile::Native,
            kernels: self.kernels,
            validate: self.validate,
            loose_strings: false,
        }
    }

    /// Whole-body validation first, then a walk that trusts it: cheaper than validating
    /// value by value when the body is small enough to stay in L1 for the second pass.
    fn validate_small(&mut self, body: &[u8], rules: scan::Rules) -> Result<bool, Error> {
        const SMALL: usize = 16 << 10;
        if self.config.validation != Validation::Full || body.len() > SMALL {
            return Ok(false);
        }
        self.validate_text(body, rules)?;
        Ok(true)
    }

    /// Validates one whole JSON text (one value, white space around it); returns the value.
    fn validate_text(&mut self, bytes: &[u8], rules: scan::Rules) -> Result<Span, Error> {
        let start = scan::skip_ws(bytes, 0);
        let end = scan::scan_value(bytes, start, rules, 0, &mut self.stack)?;
        let tail = scan::skip_ws(bytes, end);
        if tail != bytes.len() {
            return Err(Error::new(ErrorKind::TrailingData, tail));
        }
        Ok(Span { start, end })
    }

    /// One walk over a non-empty body.
    fn walk(&mut self, body: &[u8]) -> Result<Found, Error> {
        let rules = self.rules();
        let trusted = self.validate_small(body, rules)?;
        let mut cx = Ctx {
            config: &self.config,
            body,
            rules,
            full: self.config.validation == Validation::Full,
            trusted,
            arena: &self.arena,
            cache: &mut self.cache,
            buf: &mut self.buf,
            buf2: &mut self.buf2,
        };
        match self.config.profile {
            Profile::Sub2api => {
                let mut seed = SeedHasher::new(self.config.legacy_sha256, &mut self.pending);
                if !profile::sub2api::run(&mut cx, &mut self.stack, &mut seed)? {
                    return Ok(Found {
                        body_key: None,
                        content: None,
                    });
                }
                let body_key = hash::sub2api_key(cx.buf2.as_bytes(), self.config.legacy_sha256);
                Ok(Found {
                    body_key,
                    content: seed.finish(),
                })
            }
            Profile::Native => {
                let (body_key, content) =
                    profile::native::run(&mut cx, &mut self.stack)?.unwrap_or((None, None));
                Ok(Found { body_key, content })
            }
        }
    }

    /// The content tier alone: `Ok(None)` when the body has nothing to key on (empty body,
    /// a root that is not an object, no seed fields), an error when it is refused
    /// (see `docs/SPEC.md` §1).
    pub fn content_key(&mut self, body: &[u8]) -> Result<Option<Key>, Error> {
        if !self.prepare(body)? {
            return Ok(None);
        }
        Ok(self.walk(body)?.content)
    }

    /// All tiers in order: headers `session_id`, `conversation_id`, body
    /// `prompt_cache_key`, content. `headers` is any iterator of name/value pairs, such as
    /// `&http::HeaderMap` or `[("session_id", "abc")]`. When a header decides, the body is
    /// not read at all (so a malformed body does not matter then).
    pub fn session_key<I>(&mut self, headers: I, body: &[u8]) -> Result<Option<SessionKey>, Error>
    where
        I: IntoIterator,
        I::Item: HeaderPair,
    {
        if let Some(k) = profile::header_key(&self.config, headers) {
            return Ok(Some(k));
        }
        if !self.prepare(body)? {
            return Ok(None);
        }
        let found = self.walk(body)?;
        Ok(found
            .body_key
            .map(|key| SessionKey {
                key,
                source: Source::Body(profile::BODY_TIER),
            })
            .or(found.content.map(|key| SessionKey {
                key,
                source: Source::Content,
            })))
    }

    /// The sub2api content seed text (`compat_cs_model=...`), for debugging and for checking
    /// against a Go deployment; `Ok(None)` when there is no seed. Computed by the sub2api
    /// rules whatever this fingerprinter's profile (its limits and validation level apply).
    pub fn seed_text(&mut self, body: &[u8]) -> Result<Option<String>, Error> {
        if !self.prepare(body)? {
            return Ok(None);
        }
        let config = Config {
            profile: Profile::Sub2api,
            ..self.config.clone()
        };
        let rules = scan::Rules {
            reject_lone_surrogates: false,
            ..self.rules()
        };
        let mut cx = Ctx {
            config: &config,
            body,
            rules,
            full: self.config.validation == Validation::Full,
            trusted: false,
            arena: &self.arena,
            cache: &mut self.cache,
            buf: &mut self.buf,
            buf2: &mut self.buf2,
        };
        let mut seed = String::new();
        profile::sub2api::run(&mut cx, &mut self.stack, &mut seed)?;
        Ok((!seed.is_empty()).then_some(seed))
    }
}

impl Fingerprinter {
    /// The canonical text of one whole JSON text in this profile's dialect (for the fuzz
    /// targets: compared with [`reference::canonical`](crate::reference::canonical)).
    #[doc(hidden)]
    pub fn canonical_fragment(&mut self, bytes: &[u8]) -> Result<Option<String>, Error> {
        if !self.prepare(bytes)? {
            return Ok(None);
        }
        let rules = self.rules();
        let span = self.validate_text(bytes, rules)?;
        let mut out = String::new();
        let mut cx = Ctx {
            config: &self.config,
            body: bytes,
            rules,
            full: true,
            trusted: false,
            arena: &self.arena,
            cache: &mut self.cache,
            buf: &mut self.buf,
            buf2: &mut self.buf2,
        };
        match self.config.profile {
            Profile::Sub2api => profile::sub2api::normalize(&mut cx, span, 0, &mut out),
            Profile::Native => profile::native::canonical(&cx, span, &mut out)?,
        }
        Ok(Some(out))
    }
}
