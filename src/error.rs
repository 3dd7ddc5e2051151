//! The one error type of the crate: what went wrong, and at which byte of the body.

use std::fmt;

/// Why a body was refused. New kinds may be added in minor releases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The body ended inside a value (or is empty where a value is required).
    UnexpectedEnd,
    /// A byte that the JSON grammar does not allow here.
    UnexpectedByte,
    /// The body is not valid UTF-8 (this includes a byte-order mark's absence of meaning:
    /// a BOM is reported as [`ErrorKind::UnexpectedByte`]).
    InvalidUtf8,
    /// A backslash escape that RFC 8259 does not define.
    InvalidEscape,
    /// An unescaped control character (U+0000..U+001F) inside a string.
    ControlCharacter,
    /// A number literal that RFC 8259 does not allow (`01`, `1.`, `.5`, `+1`, ...).
    InvalidNumber,
    /// More than one JSON text, or garbage after the root value.
    TrailingData,
    /// Nesting deeper than [`Limits::max_depth`](crate::Limits::max_depth).
    TooDeep,
    /// The body is longer than [`Limits::max_body_bytes`](crate::Limits::max_body_bytes).
    TooLarge,
    /// native profile: a `\uD800`..`\uDFFF` escape that is not part of a valid pair.
    LoneSurrogate,
    /// native profile: an object read by the extractor repeats a member name.
    DuplicateKey,
}

impl ErrorKind {
    /// A short, stable, machine-readable name (`"unexpected_end"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::UnexpectedEnd => "unexpected_end",
            ErrorKind::UnexpectedByte => "unexpected_byte",
            ErrorKind::InvalidUtf8 => "invalid_utf8",
            ErrorKind::InvalidEscape => "invalid_escape",
            ErrorKind::ControlCharacter => "control_character",
            ErrorKind::InvalidNumber => "invalid_number",
            ErrorKind::TrailingData => "trailing_data",
            ErrorKind::TooDeep => "too_deep",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::LoneSurrogate => "lone_surrogate",
            ErrorKind::DuplicateKey => "duplicate_key",
        }
    }
}

/// A refused body: the [`ErrorKind`] and the byte offset where the problem was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Error {
    kind: ErrorKind,
    offset: usize,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, offset: usize) -> Error {
        Error { kind, offset }
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Byte offset into the body (0-based) at which the problem was detected.
    pub fn offset(&self) -> usize {
        self.offset
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.kind.as_str(), self.offset)
    }
}

impl std::error::Error for Error {}
