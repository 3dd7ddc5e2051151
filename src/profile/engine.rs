//! What the profiles share while they run: the body, the walk's rules, and the scratch
//! memory a [`Fingerprinter`](crate::Fingerprinter) owns and reuses across requests.

use crate::canonicalize::cache::FragmentCache;
use crate::canonicalize::go;
use crate::canonicalize::text::{self, SurrogateRule};
use crate::config::Config;
use crate::extract::{Name, Recorded, Span, Walker};
use crate::scan::{BitStack, Rules};
use bumpalo::Bump;

/// One request's context.
pub(crate) struct Ctx<'r> {
    pub config: &'r Config,
    pub body: &'r [u8],
    pub rules: Rules,
    pub full: bool,
    /// The body is a stream's reduced body (see `Walker::replay`).
    pub replay: Option<&'r Recorded>,
    pub arena: &'r Bump,
    pub cache: &'r mut FragmentCache,
    /// Scratch text buffers (cleared, never shrunk).
    pub buf: &'r mut String,
    pub buf2: &'r mut String,
    /// sub2api: the body signal's key, set by the walk.
    pub body_key: Option<crate::SessionKey>,
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
            replay: self.replay,
            reject_duplicates,
            formats: self.config.profile == crate::config::Profile::Native,
            signals: crate::extract::SignalMembers::of(self.config),
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

/// The first member named `name` of the (valid) object at `obj` (gjson's first occurrence).
pub(crate) fn member(
    body: &[u8],
    obj: Span,
    name: &str,
    rules: crate::scan::Rules,
) -> Option<Span> {
    if obj.first(body) != b'{' {
        return None;
    }
    let mut i = crate::scan::skip_ws(body, obj.start + 1);
    while body.get(i) == Some(&b'"') {
        let end = crate::scan::skip_value(body, i, rules).ok()?;
        let raw = &body[i + 1..end - 1];
        let found = Name {
            raw,
            escaped: raw.contains(&b'\\'),
        }
        .is(name);
        let v = crate::scan::skip_ws(body, crate::scan::skip_ws(body, end) + 1);
        let vend = crate::scan::skip_value(body, v, rules).ok()?;
        if found {
            return Some(Span {
                start: v,
                end: vend,
            });
        }
        i = crate::scan::skip_ws(body, vend);
        if body.get(i) != Some(&b',') {
            return None;
        }
        i = crate::scan::skip_ws(body, i + 1);
    }
    None
}
