//! What a [`Fingerprinter`](crate::Fingerprinter) computes: the profile and its options.

/// Which rules turn a request into a key. See `docs/SPEC.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Profile {
    /// Byte-exact with sub2api's Go gateway (xxh64 of a `compat_cs_` seed).
    Sub2api,
    /// stickykey's own `native-v1` rules (JCS-style canonical JSON, blake3).
    Native,
}

/// Resource limits. A body that exceeds one gets an [`Error`](crate::Error), never a panic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Limits {
    /// Deepest allowed nesting of arrays and objects, the root counting as 1.
    /// Default 1024 (Go's `encoding/json` allows 10000; serde_json 128).
    pub max_depth: usize,
    /// Longest accepted body, in bytes. Default 64 MiB.
    pub max_body_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_depth: 1024,
            max_body_bytes: 64 << 20,
        }
    }
}

/// How much of the body is validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Validation {
    /// The whole body must be valid RFC 8259 JSON in valid UTF-8, exactly as the reference
    /// implementation decides (the default).
    #[default]
    Full,
    /// Only the parts the profile reads are validated; skipped values are only checked for
    /// balanced brackets and terminated strings. Faster on long histories; on valid bodies
    /// the key is always the same as with `Full`.
    Extracted,
}

/// Default bound of the fragment cache.
pub(crate) const DEFAULT_FRAGMENT_CACHE_BYTES: usize = 4 << 20;

/// Length of a native key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyLength {
    /// 16 bytes, 32 hex digits (the default).
    Bits128,
    /// 32 bytes, 64 hex digits.
    Bits256,
}

impl KeyLength {
    pub(crate) fn bytes(self) -> usize {
        match self {
            KeyLength::Bits128 => 16,
            KeyLength::Bits256 => 32,
        }
    }
}

/// The API shape of request bodies, for the native profile (`docs/SPEC.md` §5): which members
/// the content key is built from. The sub2api profile ignores it (sub2api has no rule for
/// Anthropic or Gemini bodies, and its keys never change).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Format {
    /// Decided per body from its shape (the default): Gemini when `contents` is an array and
    /// `messages` is not, else Anthropic when there is a `system` member, else Chat or
    /// Responses.
    #[default]
    Auto,
    /// OpenAI Chat Completions: the native-v1 rules (§4).
    Chat,
    /// OpenAI Responses: the native-v1 rules (§4), the same as [`Format::Chat`].
    Responses,
    /// Anthropic Messages: the native-v1 rules plus the top-level `system` member.
    Anthropic,
    /// Gemini `generateContent`: `model` (or the model hint), `tools`, `systemInstruction`,
    /// the first user entry of `contents`.
    Gemini,
}

/// Everything that decides a key: build one with [`Config::sub2api`] or [`Config::native`],
/// then adjust with the `with_*` methods.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Config {
    pub(crate) profile: Profile,
    pub(crate) limits: Limits,
    pub(crate) tools_as_set: bool,
    pub(crate) key_length: KeyLength,
    pub(crate) legacy_sha256: bool,
    pub(crate) validation: Validation,
    pub(crate) fragment_cache_bytes: usize,
    pub(crate) format: Format,
    pub(crate) model_hint: Option<String>,
    pub(crate) policy: Policy,
    pub(crate) signals: Signals,
}

/// A body member that carries an explicit session signal (see [`Signals`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BodySignal {
    /// OpenAI `prompt_cache_key` (any JSON value; sub2api reads gjson's string of it).
    PromptCacheKey,
    /// OpenAI Responses `previous_response_id`: names the response this turn continues. It
    /// changes every turn, so its key identifies the *previous response*: a proxy that records
    /// which upstream served each response id routes the follow-up there (the Responses API
    /// keeps that state on the account that produced it).
    PreviousResponseId,
    /// Claude Code's `metadata.user_id`, in either form it sends: the string
    /// `user_<hex>_account_<uuid>_session_<uuid>`, or a JSON object in a string with a
    /// `session_id` member. Only the session id counts (the rest names the user and device).
    ClaudeCodeUserId,
}

impl BodySignal {
    /// The name the signal's [`Source::Body`](crate::Source::Body) carries.
    pub fn name(self) -> &'static str {
        match self {
            BodySignal::PromptCacheKey => "prompt_cache_key",
            BodySignal::PreviousResponseId => "previous_response_id",
            BodySignal::ClaudeCodeUserId => "metadata.user_id",
        }
    }
}

/// The explicit session signals a [`Config`] looks for, in order: header names first (matched
/// ASCII-case-insensitively; the first non-blank value wins), then body members. Presets:
/// [`Signals::sub2api`] (the default of both profiles) and [`Signals::extended`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Signals {
    pub(crate) headers: Vec<&'static str>,
    pub(crate) body: Vec<BodySignal>,
}

impl Signals {
    /// sub2api's signals: headers `session_id`, `conversation_id`, body `prompt_cache_key`.
    pub fn sub2api() -> Signals {
        Signals {
            headers: vec!["session_id", "conversation_id"],
            body: vec![BodySignal::PromptCacheKey],
        }
    }

    /// What real clients send: Claude Code's `X-Claude-Code-Session-Id`, `session-id` and
    /// `session_id`, `conversation_id`, `x-session-affinity`, `x-session-id`,
    /// `x-opencode-session`, `x-conversation-id`; body `prompt_cache_key`,
    /// `previous_response_id`, and Claude Code's `metadata.user_id` session part.
    pub fn extended() -> Signals {
        Signals {
            headers: vec![
                "x-claude-code-session-id",
                "session-id",
                "session_id",
                "conversation_id",
                "x-session-affinity",
                "x-session-id",
                "x-opencode-session",
                "x-conversation-id",
            ],
            body: vec![
                BodySignal::PromptCacheKey,
                BodySignal::PreviousResponseId,
                BodySignal::ClaudeCodeUserId,
            ],
        }
    }

    /// Any list: header names (at most 16), then body members, each in priority order.
    pub fn new(
        headers: impl IntoIterator<Item = &'static str>,
        body: impl IntoIterator<Item = BodySignal>,
    ) -> Signals {
        Signals {
            headers: headers.into_iter().take(MAX_HEADER_SIGNALS).collect(),
            body: body.into_iter().collect(),
        }
    }

    /// The header names, in order.
    pub fn headers(&self) -> &[&'static str] {
        &self.headers
    }

    /// The body members, in order.
    pub fn body(&self) -> &[BodySignal] {
        &self.body
    }

    /// Reads `signal` (the walk reads the members of the signals it has, nothing more).
    pub(crate) fn has(&self, signal: BodySignal) -> bool {
        self.body.contains(&signal)
    }
}

/// Header signals looked for at most (a fixed table on the stack, no allocation per request).
pub(crate) const MAX_HEADER_SIGNALS: usize = 16;

/// The sub2api seed policies (`docs/SPEC.md` §3.6), set by [`Config::with_leading_system_only`],
/// [`Config::with_require_user_anchor`] and [`Config::with_stable_prefix`]; all off by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(crate) struct Policy {
    pub(crate) leading_system_only: bool,
    pub(crate) require_user_anchor: bool,
    pub(crate) stable_prefix: bool,
}

impl Config {
    /// The sub2api profile: the same keys as sub2api's Go code, byte for byte.
    pub fn sub2api() -> Config {
        Config {
            profile: Profile::Sub2api,
            limits: Limits::default(),
            tools_as_set: false,
            key_length: KeyLength::Bits128,
            legacy_sha256: true,
            validation: Validation::Full,
            fragment_cache_bytes: DEFAULT_FRAGMENT_CACHE_BYTES,
            format: Format::Auto,
            model_hint: None,
            policy: Policy::default(),
            signals: Signals::sub2api(),
        }
    }

    /// The native profile (`native-v1`): tools as a set, 128-bit keys.
    pub fn native() -> Config {
        Config {
            profile: Profile::Native,
            limits: Limits::default(),
            tools_as_set: true,
            key_length: KeyLength::Bits128,
            legacy_sha256: false,
            validation: Validation::Full,
            fragment_cache_bytes: DEFAULT_FRAGMENT_CACHE_BYTES,
            format: Format::Auto,
            model_hint: None,
            policy: Policy::default(),
            signals: Signals::sub2api(),
        }
    }

    /// Replaces the limits.
    pub fn with_limits(mut self, limits: Limits) -> Config {
        self.limits = limits;
        self
    }

    /// Treat `tools` and `functions` as sets (order-insensitive) or as ordered lists.
    ///
    /// - native: default `true` (components 0x02/0x04 as sets, 0x03/0x05 as lists).
    /// - sub2api: default `false` (sub2api's own seed is order-sensitive); `true` writes each
    ///   array as sub2api's `normalizeCompatToolSeedJSON` does: every element canonicalized,
    ///   the element texts sorted bytewise and joined with `,` in brackets
    ///   (`docs/SPEC.md` §3.6, rule 1).
    pub fn with_tools_as_set(mut self, as_set: bool) -> Config {
        self.tools_as_set = as_set;
        self
    }

    /// sub2api: only the *leading* system/developer messages of a Chat `messages` list count
    /// (those before the first message of any other kind), as in sub2api's newer seed variant;
    /// default `false` (every system/developer message counts, wherever it is). A system
    /// message injected later in the conversation then no longer changes the key. Responses
    /// `input` items are not affected. Ignored by native, which always uses the leading ones
    /// (`docs/SPEC.md` §3.6, rule 2).
    pub fn with_leading_system_only(mut self, on: bool) -> Config {
        self.policy.leading_system_only = on;
        self
    }

    /// sub2api: give a content key only when the request has a meaningful user anchor (a first
    /// user message, `input_text` item or `input` string that is not blank, `null` or empty),
    /// as sub2api's `deriveOpenAIAnchoredContentSessionSeed`; default `false`. Requests without
    /// one (a system prompt alone, an empty first message) then get no content key instead of
    /// one shared by every such request. Ignored by native (`docs/SPEC.md` §3.6, rule 3).
    pub fn with_require_user_anchor(mut self, on: bool) -> Config {
        self.policy.require_user_anchor = on;
        self
    }

    /// sub2api: key on the stable prefix only, as sub2api's
    /// `deriveOpenAIStablePrefixSessionSeed` (a `compat_csp_` seed of tools, functions,
    /// instructions and the system/developer messages; no model, no user message); default
    /// `false`. Conversations that share their prompt prefix then share a key, and so an
    /// upstream prompt cache. Ignored by native (`docs/SPEC.md` §3.6, rule 4).
    pub fn with_stable_prefix(mut self, on: bool) -> Config {
        self.policy.stable_prefix = on;
        self
    }

    /// native: the key length (default [`KeyLength::Bits128`]).
    pub fn with_key_length(mut self, len: KeyLength) -> Config {
        self.key_length = len;
        self
    }

    /// sub2api: also compute the legacy SHA-256 key (default `true`). Turning it off saves
    /// one SHA-256 of the seed per request; [`Key::legacy_sha256`](crate::Key::legacy_sha256)
    /// then returns `None`.
    pub fn with_legacy_sha256(mut self, on: bool) -> Config {
        self.legacy_sha256 = on;
        self
    }

    /// How much of each body is validated (default [`Validation::Full`]).
    pub fn with_validation(mut self, v: Validation) -> Config {
        self.validation = v;
        self
    }

    /// Bound, in bytes, of the per-[`Fingerprinter`](crate::Fingerprinter) cache of
    /// canonicalized fragments keyed by a hash of their raw bytes (default 4 MiB; 0 turns it
    /// off). Clients resend the same tools array on every turn: a repeat then costs one hash
    /// of its raw bytes instead of a re-canonicalization.
    pub fn with_fragment_cache(mut self, bytes: usize) -> Config {
        self.fragment_cache_bytes = bytes;
        self
    }

    /// native: the API shape of the bodies (default [`Format::Auto`]: detected per body).
    /// Stating it makes a body's other-format members irrelevant (`docs/SPEC.md` §5).
    pub fn with_format(mut self, format: Format) -> Config {
        self.format = format;
        self
    }

    /// native: the model of requests whose body names none (`model` absent or `null`), as the
    /// caller knows it from elsewhere: Gemini puts it in the URL path
    /// (`/v1beta/models/gemini-2.0-flash:generateContent`), so do Vertex AI and Bedrock for
    /// Anthropic models. The hint counts exactly as a body `model` string would (for Gemini, a
    /// leading `models/` is dropped from both); a body `model` wins over it; an empty hint is
    /// no hint (`docs/SPEC.md` §5.4). For a model that changes per request, keep one
    /// fingerprinter per model.
    pub fn with_model_hint(mut self, model: Option<&str>) -> Config {
        self.model_hint = model.filter(|m| !m.is_empty()).map(str::to_owned);
        self
    }

    /// The configuration `seed_text` runs under: the sub2api profile with this configuration's
    /// limits and validation level, and its sub2api options (tools as a set, the policies) only
    /// when the profile is sub2api (native's `tools_as_set` is native's own rule).
    pub(crate) fn seed_config(&self) -> Config {
        let mut c = self.clone();
        if c.profile != Profile::Sub2api {
            c.profile = Profile::Sub2api;
            c.tools_as_set = false;
            c.policy = Policy::default();
        }
        c
    }

    /// The profile.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// The limits.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Replaces the explicit session signals (default: [`Signals::sub2api`]).
    pub fn with_signals(mut self, signals: Signals) -> Config {
        self.signals = signals;
        self
    }

    /// The explicit session signals.
    pub fn signals(&self) -> &Signals {
        &self.signals
    }

    /// The validation level.
    pub fn validation(&self) -> Validation {
        self.validation
    }

    /// The request format (native).
    pub fn format(&self) -> Format {
        self.format
    }

    /// The model hint (native), if any.
    pub fn model_hint(&self) -> Option<&str> {
        self.model_hint.as_deref()
    }
}
