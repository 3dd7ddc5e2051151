//! The public entry point: a reusable [`Fingerprinter`] that owns its scratch memory.

use crate::canonicalize::cache::FragmentCache;
use crate::config::{Config, Profile, Validation};
use crate::error::{Error, ErrorKind};
use crate::extract::{Recorded, Span};
use crate::hash::SeedHasher;
use crate::key::{Key, SessionKey, Source};
use crate::profile::{self, engine::Ctx, HeaderPair};
use crate::scan::{self, simd, BitStack};
use crate::stream::{self, Stream};
use bumpalo::Bump;

/// Computes keys for one [`Config`]. Create one per worker thread and reuse it: it keeps its
/// scratch memory (an arena, a nesting stack, text buffers, the fragment cache) between
/// requests, so that after the first few requests it allocates nothing.
#[derive(Debug)]
pub struct Fingerprinter {
    config: Config,
    kernels: &'static simd::Kernels,
    validate: scan::block::ValidateFn,
    run: stream::scanner::RunFn,
    stack: BitStack,
    arena: Bump,
    buf: String,
    buf2: String,
    pending: String,
    cache: FragmentCache,
    pub(crate) stream: stream::Scratch,
}

/// What one walk of a body found.
pub(crate) struct Found {
    pub(crate) body_key: Option<SessionKey>,
    pub(crate) content: Option<Key>,
}

impl Fingerprinter {
    /// A fingerprinter for `config`, on the fastest SIMD back end of this CPU
    /// (see [`Backend::detect`](crate::Backend::detect)).
    pub fn new(config: Config) -> Fingerprinter {
        // `detect` only returns available back ends; the portable tables need no check.
        Fingerprinter::with_backend(config.clone(), crate::Backend::detect()).unwrap_or_else(|| {
            Fingerprinter::from_parts(
                config,
                simd::portable_kernels(),
                simd::portable_validator(),
                simd::portable_stream_runner(),
            )
        })
    }

    /// A fingerprinter on a chosen back end; `None` when this CPU cannot run it. For tests
    /// and benchmarks: every back end gives the same keys.
    pub fn with_backend(config: Config, backend: crate::Backend) -> Option<Fingerprinter> {
        Some(Fingerprinter::from_parts(
            config,
            simd::kernels(backend)?,
            simd::validator(backend)?,
            simd::stream_runner(backend)?,
        ))
    }

    fn from_parts(
        config: Config,
        kernels: &'static simd::Kernels,
        validate: scan::block::ValidateFn,
        run: stream::scanner::RunFn,
    ) -> Fingerprinter {
        let cache = FragmentCache::new(config.fragment_cache_bytes);
        Fingerprinter {
            config,
            kernels,
            validate,
            run,
            stack: BitStack::default(),
            arena: Bump::new(),
            buf: String::new(),
            buf2: String::new(),
            pending: String::new(),
            cache,
            stream: stream::Scratch::default(),
        }
    }

    pub(crate) fn stream_runner(&self) -> stream::scanner::RunFn {
        self.run
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
        self.reset_arena();
        Ok(true)
    }

    /// `reset` keeps only the newest chunk; if the last request needed more, replace the
    /// arena by one chunk that large, so that steady state allocates nothing.
    fn reset_arena(&mut self) {
        let used = self.arena.allocated_bytes();
        self.arena.reset();
        if self.arena.allocated_bytes() < used {
            self.arena = Bump::with_capacity(used);
        }
    }

    pub(crate) fn rules(&self) -> scan::Rules {
        scan::Rules {
            max_depth: self.config.limits.max_depth,
            reject_lone_surrogates: self.config.profile == Profile::Native,
            kernels: self.kernels,
            validate: self.validate,
            loose_strings: false,
        }
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

    /// One walk over a non-empty body. (Validating a small body whole first, then walking
    /// it trusted, was measured slower: by 6 to 36% on corpus bodies of 1 to 16 KiB.)
    fn walk(&mut self, body: &[u8]) -> Result<Found, Error> {
        let rules = self.rules();
        self.walk_with(body, rules, None)
    }

    /// The walk; `replay`: the body is a stream's reduced body, whose walk was recorded as it
    /// was written.
    fn walk_with(
        &mut self,
        body: &[u8],
        rules: scan::Rules,
        replay: Option<&Recorded>,
    ) -> Result<Found, Error> {
        let mut cx = Ctx {
            config: &self.config,
            body,
            rules,
            full: self.config.validation == Validation::Full,
            replay,
            arena: &self.arena,
            cache: &mut self.cache,
            buf: &mut self.buf,
            buf2: &mut self.buf2,
            body_key: None,
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
                let body_key = cx.body_key;
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

    /// The one-shot engine's result for the body tiers and the content tier.
    fn body_tiers(&mut self, body: &[u8], content_only: bool) -> Result<Option<SessionKey>, Error> {
        let found = match self.prepare(body) {
            Ok(false) => return Ok(None),
            Ok(true) => self.walk(body),
            Err(e) => Err(e),
        };
        match found {
            Ok(found) => Ok(select(found, content_only)),
            // Errors are rare: recompute the error in body order (the streaming scan's
            // rules), so that one-shot and streaming report the same kind and offset.
            Err(e) => Err(self.body_order_error(body, content_only).unwrap_or(e)),
        }
    }

    fn body_order_error(&mut self, body: &[u8], content_only: bool) -> Option<Error> {
        let mut s = Stream::new(self, None, content_only);
        let r = match s.push(body) {
            Err(e) => Err(e),
            Ok(()) => s.finish(),
        };
        r.err()
    }

    /// Runs the one-shot engine on a stream's reduced body (valid by construction) and maps
    /// its errors back to offsets of the streamed body.
    pub(crate) fn replay(&mut self) -> Result<Found, Error> {
        let reduced = std::mem::take(&mut self.stream.collector.reduced);
        let walk = std::mem::take(&mut self.stream.collector.walk);
        self.reset_arena();
        let rules = self.rules();
        // The reduced body is not walked again: the collector recorded its walk.
        let r = self.walk_with(&reduced, rules, Some(&walk));
        self.stream.collector.reduced = reduced;
        self.stream.collector.walk = walk;
        r.map_err(|e| Error::new(e.kind(), self.stream.collector.body_offset(e.offset())))
    }

    /// The content tier alone: `Ok(None)` when the body has nothing to key on (empty body,
    /// a root that is not an object, no seed fields), an error when it is refused
    /// (see `docs/SPEC.md` §1).
    pub fn content_key(&mut self, body: &[u8]) -> Result<Option<Key>, Error> {
        Ok(self.body_tiers(body, true)?.map(|k| k.key))
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
        self.body_tiers(body, false)
    }

    /// Starts a key for a body that arrives in chunks: the incremental form of
    /// [`session_key`](Fingerprinter::session_key), with the same result for every way of
    /// cutting the body. The headers are looked at now; when one decides, the stream is
    /// [decided](Stream::is_decided) at once and the body is not read.
    ///
    /// ```
    /// use stickykey::{Config, Fingerprinter};
    ///
    /// let mut fp = Fingerprinter::new(Config::native());
    /// let body = br#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#;
    /// let one_shot = fp.session_key(&http::HeaderMap::new(), body)?;
    ///
    /// let mut s = fp.stream(&http::HeaderMap::new());
    /// for chunk in body.chunks(7) {
    ///     s.push(chunk)?;
    /// }
    /// assert_eq!(s.finish()?, one_shot);
    /// # Ok::<(), stickykey::Error>(())
    /// ```
    pub fn stream<I>(&mut self, headers: I) -> Stream<'_>
    where
        I: IntoIterator,
        I::Item: HeaderPair,
    {
        let header = profile::header_key(&self.config, headers);
        Stream::new(self, header, false)
    }

    /// Starts a content key for a body that arrives in chunks: the incremental form of
    /// [`content_key`](Fingerprinter::content_key) (the result's source is always
    /// [`Source::Content`]).
    pub fn content_stream(&mut self) -> Stream<'_> {
        Stream::new(self, None, true)
    }

    /// The sub2api content seed text (`compat_cs_model=...`, or the variant the sub2api
    /// options choose, such as `compat_csp_...` for [`Config::with_stable_prefix`]), for
    /// debugging and for checking against a Go deployment; `Ok(None)` when there is no seed.
    /// Computed by the sub2api rules whatever this fingerprinter's profile (its limits and
    /// validation level apply; a native fingerprinter prints sub2api's default seed).
    pub fn seed_text(&mut self, body: &[u8]) -> Result<Option<String>, Error> {
        if !self.prepare(body)? {
            return Ok(None);
        }
        let config = self.config.seed_config();
        let rules = scan::Rules {
            reject_lone_surrogates: false,
            ..self.rules()
        };
        let mut cx = Ctx {
            config: &config,
            body,
            rules,
            full: self.config.validation == Validation::Full,
            replay: None,
            arena: &self.arena,
            cache: &mut self.cache,
            buf: &mut self.buf,
            buf2: &mut self.buf2,
            body_key: None,
        };
        let mut seed = String::new();
        profile::sub2api::run(&mut cx, &mut self.stack, &mut seed)?;
        Ok((!seed.is_empty()).then_some(seed))
    }
}

/// The key a walk found, tiers in order.
pub(crate) fn select(found: Found, content_only: bool) -> Option<SessionKey> {
    let body = found.body_key.filter(|_| !content_only);
    body.or(found.content.map(|key| SessionKey {
        key,
        source: Source::Content,
    }))
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
            replay: None,
            arena: &self.arena,
            cache: &mut self.cache,
            buf: &mut self.buf,
            buf2: &mut self.buf2,
            body_key: None,
        };
        match self.config.profile {
            Profile::Sub2api => profile::sub2api::normalize(&mut cx, span, 0, &mut out),
            Profile::Native => profile::native::canonical(&cx, span, &mut out)?,
        }
        Ok(Some(out))
    }
}
