//! The keys a [`Fingerprinter`](crate::Fingerprinter) hands out.

use std::fmt;

/// A sticky-session key. `Display` gives lower-case hex: 16 digits (xxh64) for the sub2api
/// profile, 32 or 64 digits (blake3) for the native profile.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    repr: Repr,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Repr {
    Sub2api {
        xxh64: u64,
        sha256: Option<[u8; 32]>,
    },
    Native {
        bytes: [u8; 32],
        len: u8,
    },
}

impl Key {
    pub(crate) fn sub2api(xxh64: u64, sha256: Option<[u8; 32]>) -> Key {
        Key {
            repr: Repr::Sub2api { xxh64, sha256 },
        }
    }

    pub(crate) fn native(bytes: [u8; 32], len: usize) -> Key {
        Key {
            repr: Repr::Native {
                bytes,
                len: len as u8,
            },
        }
    }

    /// The key's bytes (big-endian for the sub2api xxh64 value, as its hex is printed).
    pub fn as_bytes(&self) -> KeyBytes {
        match self.repr {
            Repr::Sub2api { xxh64, .. } => {
                let mut b = [0; 32];
                b[..8].copy_from_slice(&xxh64.to_be_bytes());
                KeyBytes { bytes: b, len: 8 }
            }
            Repr::Native { bytes, len } => KeyBytes { bytes, len },
        }
    }

    /// sub2api only: the xxh64 value as a number.
    pub fn xxh64(&self) -> Option<u64> {
        match self.repr {
            Repr::Sub2api { xxh64, .. } => Some(xxh64),
            Repr::Native { .. } => None,
        }
    }

    /// sub2api only: the legacy key, lower-case hex SHA-256 of the same trimmed value
    /// (`None` for native keys or when disabled by
    /// [`Config::with_legacy_sha256`](crate::Config::with_legacy_sha256)).
    pub fn legacy_sha256(&self) -> Option<String> {
        match self.repr {
            Repr::Sub2api {
                sha256: Some(d), ..
            } => Some(hex(&d)),
            _ => None,
        }
    }
}

/// The bytes of a [`Key`], borrowed with `as_ref()`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct KeyBytes {
    bytes: [u8; 32],
    len: u8,
}

impl AsRef<[u8]> for KeyBytes {
    fn as_ref(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.repr {
            Repr::Sub2api { xxh64, .. } => write!(f, "{xxh64:016x}"),
            Repr::Native { .. } => f.write_str(&hex(self.as_bytes().as_ref())),
        }
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({self})")
    }
}

/// Which tier produced a [`SessionKey`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Source {
    /// An explicit request header, e.g. `session_id` (the name as the spec spells it).
    Header(&'static str),
    /// An explicit body field, e.g. `prompt_cache_key`.
    Body(&'static str),
    /// The content seed (model, tools, system prompt, first user message, ...).
    Content,
}

impl fmt::Display for Source {
    /// `header:<name>`, `body:<field>` or `content`, as the CLI prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Header(n) => write!(f, "header:{n}"),
            Source::Body(n) => write!(f, "body:{n}"),
            Source::Content => f.write_str("content"),
        }
    }
}

/// A key together with the tier that produced it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionKey {
    /// The key.
    pub key: Key,
    /// Where it came from.
    pub source: Source,
}

impl fmt::Display for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.key.fmt(f)
    }
}
