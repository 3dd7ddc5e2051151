//! Stage 5 of the pipeline: from canonical bytes to a key.
//!
//! - sub2api: `%016x` of xxHash64 (seed 0) and hex SHA-256 of the Go-`TrimSpace`d value;
//! - native-v1: blake3 in derive-key mode, one context per tier family, each content
//!   component framed as a one-byte tag plus its 32-byte blake3 digest (fixed width, so no
//!   two different component lists can produce the same hash input).

use crate::config::KeyLength;
use crate::key::Key;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// Go's `unicode.IsSpace` (the Unicode White_Space property), same set as Rust's.
fn is_go_space(c: char) -> bool {
    c.is_whitespace()
}

/// Length of the UTF-8 sequence a lead byte announces (1 for invalid leads: Go decodes an
/// invalid byte as a 1-byte U+FFFD, which is not a space).
fn decode_at(b: &[u8], i: usize) -> (Option<char>, usize) {
    let n = match b[i] {
        0x00..=0x7f => 1,
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return (None, 1),
    };
    match b.get(i..i + n).map(std::str::from_utf8) {
        Some(Ok(s)) => (s.chars().next(), n),
        _ => (None, 1),
    }
}

/// Go's `strings.TrimSpace` on bytes that may not be valid UTF-8.
pub(crate) fn go_trim_space(b: &[u8]) -> &[u8] {
    let mut start = 0;
    while start < b.len() {
        match decode_at(b, start) {
            (Some(c), n) if is_go_space(c) => start += n,
            _ => break,
        }
    }
    let mut end = b.len();
    while end > start {
        // Find the start of the last sequence (at most 3 continuation bytes back).
        let mut s = end - 1;
        while s > start && end - s < 4 && b[s] & 0xc0 == 0x80 {
            s -= 1;
        }
        match decode_at(b, s) {
            (Some(c), n) if s + n == end && is_go_space(c) => end = s,
            _ => break,
        }
    }
    &b[start..end]
}

/// sub2api `deriveOpenAISessionHashes`: `None` when the trimmed value is empty.
pub(crate) fn sub2api_key(value: &[u8], legacy_sha256: bool) -> Option<Key> {
    let v = go_trim_space(value);
    if v.is_empty() {
        return None;
    }
    let x = xxhash_rust::xxh64::xxh64(v, 0);
    let sha = legacy_sha256.then(|| Sha256::digest(v).into());
    Some(Key::sub2api(x, sha))
}

/// blake3 derive-key context of native content keys (see docs/SPEC.md, native-v1).
pub(crate) const NATIVE_CONTENT_CONTEXT: &str = "stickykey native-v1 content key";
/// blake3 derive-key context of native explicit keys (headers, body fields).
pub(crate) const NATIVE_EXPLICIT_CONTEXT: &str = "stickykey native-v1 explicit key";

static CONTENT_HASHER: OnceLock<blake3::Hasher> = OnceLock::new();
static EXPLICIT_HASHER: OnceLock<blake3::Hasher> = OnceLock::new();

/// A derive-key hasher for `context`: deriving the key from the context string costs a hash
/// of its own, so it is done once per process and the hasher cloned.
fn keyed(cell: &OnceLock<blake3::Hasher>, context: &str) -> blake3::Hasher {
    cell.get_or_init(|| blake3::Hasher::new_derive_key(context))
        .clone()
}

/// One-byte tags of native content components, in the order they are framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub(crate) enum Tag {
    Model = 0x01,
    ToolsSet = 0x02,
    ToolsList = 0x03,
    FunctionsSet = 0x04,
    FunctionsList = 0x05,
    Instructions = 0x06,
    System = 0x07,
    FirstUser = 0x08,
    Input = 0x09,
    /// Anthropic Messages: the top-level `system` member (SPEC §5.2).
    AnthropicSystem = 0x0a,
    /// Gemini (SPEC §5.3): each Gemini component has its own tag, so a Gemini request never
    /// frames the same input as an OpenAI or Anthropic one.
    GeminiModel = 0x0b,
    GeminiToolsSet = 0x0c,
    GeminiToolsList = 0x0d,
    GeminiSystemInstruction = 0x0e,
    GeminiFirstUser = 0x0f,
}

/// blake3 of one canonical text.
pub(crate) fn digest(canonical: &[u8]) -> [u8; 32] {
    *blake3::hash(canonical).as_bytes()
}

/// Digest of a multiset: blake3 of the sorted element digests (fixed width, so unambiguous).
pub(crate) fn set_digest(elements: &mut [[u8; 32]]) -> [u8; 32] {
    elements.sort_unstable();
    let mut h = blake3::Hasher::new();
    for e in elements.iter() {
        h.update(e);
    }
    *h.finalize().as_bytes()
}

/// Frames the present components (`tag || digest`, ascending tags) into a native content key.
pub(crate) fn native_content_key(components: &[(Tag, [u8; 32])], len: KeyLength) -> Key {
    let mut h = keyed(&CONTENT_HASHER, NATIVE_CONTENT_CONTEXT);
    for (tag, d) in components {
        h.update(&[*tag as u8]);
        h.update(d);
    }
    let mut out = [0u8; 32];
    h.finalize_xof().fill(&mut out[..len.bytes()]);
    Key::native(out, len.bytes())
}

/// A native explicit key: `label || 0x00 || value` (label = `kind` + `name`, e.g.
/// `header:session_id`) under its own context, so it can never equal a content key or an
/// explicit key from another tier.
pub(crate) fn native_explicit_key(kind: &str, name: &str, value: &[u8], len: KeyLength) -> Key {
    let mut h = keyed(&EXPLICIT_HASHER, NATIVE_EXPLICIT_CONTEXT);
    h.update(kind.as_bytes());
    h.update(name.as_bytes());
    h.update(&[0]);
    h.update(value);
    let mut out = [0u8; 32];
    h.finalize_xof().fill(&mut out[..len.bytes()]);
    Key::native(out, len.bytes())
}

/// Where the sub2api seed goes, piece by piece.
pub(crate) trait SeedOut {
    /// Appends a piece; `prefix` (`compat_cs_`, or `compat_csp_` for the stable prefix) goes
    /// before the first piece.
    fn put(&mut self, prefix: &str, piece: &str);
}

/// The seed text itself (for `seed_text`), untrimmed like Go's.
impl SeedOut for String {
    fn put(&mut self, prefix: &str, piece: &str) {
        if self.is_empty() {
            self.push_str(prefix);
        }
        self.push_str(piece);
    }
}

/// Prefix of every non-empty sub2api seed.
pub(crate) const SEED_PREFIX: &str = "compat_cs_";

/// Streams the seed into xxh64 and SHA-256 as `TrimSpace(seed)`: the prefix is not white
/// space, so only trailing white space needs trimming; it is held back until a later piece
/// shows it is not trailing.
pub(crate) struct SeedHasher<'s> {
    xxh: xxhash_rust::xxh64::Xxh64,
    sha: Option<Sha256>,
    pending: &'s mut String,
    started: bool,
}

impl<'s> SeedHasher<'s> {
    pub(crate) fn new(legacy_sha256: bool, pending: &'s mut String) -> SeedHasher<'s> {
        pending.clear();
        SeedHasher {
            xxh: xxhash_rust::xxh64::Xxh64::new(0),
            sha: legacy_sha256.then(Sha256::new),
            pending,
            started: false,
        }
    }

    fn feed(&mut self, b: &[u8]) {
        self.xxh.update(b);
        if let Some(s) = &mut self.sha {
            s.update(b);
        }
    }

    /// The key, or `None` when no piece was written (no seed).
    pub(crate) fn finish(self) -> Option<Key> {
        self.started.then(|| {
            let sha = self.sha.map(|s| s.finalize().into());
            Key::sub2api(self.xxh.digest(), sha)
        })
    }
}

impl SeedOut for SeedHasher<'_> {
    fn put(&mut self, prefix: &str, piece: &str) {
        if !self.started {
            self.started = true;
            self.feed(prefix.as_bytes());
        }
        let kept = piece.trim_end_matches(is_go_space).len();
        if kept == 0 {
            self.pending.push_str(piece);
            return;
        }
        if !self.pending.is_empty() {
            let p = std::mem::take(self.pending);
            self.feed(p.as_bytes());
            *self.pending = p;
            self.pending.clear();
        }
        self.feed(&piece.as_bytes()[..kept]);
        self.pending.push_str(&piece[kept..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trim_like_go() {
        assert_eq!(go_trim_space(b" \t x y \n"), b"x y");
        assert_eq!(go_trim_space("x \u{85}\u{a0}\u{3000}".as_bytes()), b"x");
        assert_eq!(go_trim_space(b"x\x1f"), b"x\x1f");
        assert_eq!(go_trim_space(b"\xff x \xff"), b"\xff x \xff");
        assert_eq!(go_trim_space("\u{2028}".as_bytes()), b"");
    }

    #[test]
    fn xxh64_matches_known_value() {
        // xxh64("", 0) is the published test vector ef46db3751d8e999.
        assert_eq!(xxhash_rust::xxh64::xxh64(b"", 0), 0xef46db3751d8e999);
        assert!(sub2api_key(b"   ", true).is_none());
    }
}
