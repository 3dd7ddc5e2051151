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
        }
    }

    /// Replaces the limits.
    pub fn with_limits(mut self, limits: Limits) -> Config {
        self.limits = limits;
        self
    }

    /// native: treat `tools` and `functions` as sets (default `true`) or as ordered lists.
    /// Ignored by the sub2api profile, whose order sensitivity is part of its contract.
    pub fn with_tools_as_set(mut self, as_set: bool) -> Config {
        self.tools_as_set = as_set;
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

    /// The profile.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// The limits.
    pub fn limits(&self) -> Limits {
        self.limits
    }
}
