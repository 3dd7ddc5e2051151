//! What the profiles share while they run: the body, the walk's rules, and the scratch
//! memory a [`Fingerprinter`](crate::Fingerprinter) owns and reuses across requests.

use crate::canonicalize::cache::FragmentCache;
use crate::canonicalize::go;
use crate::canonicalize::text::{self, SurrogateRule};
use crate::config::Config;
use crate::extract::{Name, Span, Walker};
use crate::scan::{BitStack, Rules};
use bumpalo::Bump;

/// One request's context.
pub(crate) struct Ctx<'r> {
    pub config: &'r Config,
    pub body: &'r [u8],
    pub rules: Rules,
    pub full: bool,
    /// The whole body is already validated (see `Walker::trusted`).
    pub trusted: bool,
    pub arena: &'r Bump,
    pub cache: &'r mut FragmentCache,
    /// Scratch text buffers (cleared, never shrunk).
    pub buf: &'r mut String,
    pub buf2: &'r mut String,
}

impl<'r> Ctx<'r> {
    /// A walker over the body for this request.
    pub(crate) fn walker<'w>(
        &'w self,
        stack: &'w mut BitStack,
        reject_duplicates: bool,
    ) -> Walker<'w> {
        Walker {
            body: self.body,
            rules: self.rules,
            full: self.full,
            trusted: self.trusted,
            reject_duplicates,
            stack,
            arena: self.arena,
            deferred: None,
        }
    }
}

/// Is `span` a JSON string whose decoded value is `want`?
pub(crate) fn string_is(body: &[u8], span: Option<Span>, want: &str) -> bool {
    match span {
        Some(s) if s.first(body) == b'"' => {
            let raw = &body[s.start + 1..s.end - 1];
            Name {
                raw,
                escaped: raw.contains(&b'\\'),
            }
            .is(want)
        }
        _ => false,
    }
}

/// Appends gjson's `Result.String()` of a value (absent: nothing).
pub(crate) fn gjson_string(body: &[u8], span: Option<Span>, out: &mut String) {
    let Some(s) = span else { return };
    let raw = s.of(body);
    match raw[0] {
        b'"' => {
            let inner = &raw[1..raw.len() - 1];
            if inner.contains(&b'\\') {
                text::unescape_into(inner, SurrogateRule::Gjson, out);
            } else {
                out.push_str(std::str::from_utf8(inner).unwrap_or_default());
            }
        }
        b't' => out.push_str("true"),
        b'f' => out.push_str("false"),
        b'n' => {}
        b'{' | b'[' => out.push_str(std::str::from_utf8(raw).unwrap_or_default()),
        _ => go::gjson_number_string(std::str::from_utf8(raw).unwrap_or_default(), out),
    }
}
