//! Stage 2 of the pipeline: walking the request's structure, reading only what the profile
//! needs and skipping every other value.
//!
//! The walk is one pass over the body. The root object's members are matched by decoded name;
//! the few wanted values are validated and recorded as [`Span`]s (no copy), the message list
//! (`messages`, or Responses `input`, or in the native profile Gemini `contents`) is walked
//! item by item through an [`ItemVisitor`] that the profile implements, and everything else is
//! skipped: fully validated under [`Validation::Full`](crate::Validation::Full), or only
//! bracket-matched by the SIMD skip kernel under `Extracted`.

use crate::error::{Error, ErrorKind};
use crate::scan::{self, BitStack, Rules};
use bumpalo::collections::Vec as BVec;
use bumpalo::Bump;

/// A value's bytes: `body[start..end]`, whitespace excluded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub(crate) fn of<'b>(&self, body: &'b [u8]) -> &'b [u8] {
        &body[self.start..self.end]
    }

    /// The first byte says the JSON type.
    pub(crate) fn first(&self, body: &[u8]) -> u8 {
        body[self.start]
    }
}

/// A member name as written: the bytes between the quotes, and whether it has escapes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Name<'b> {
    pub raw: &'b [u8],
    pub escaped: bool,
}

impl Name<'_> {
    /// Compares the decoded name with `want` (ASCII). Escapes are decoded on the fly; a
    /// surrogate escape never equals ASCII, so the Go decoders' surrogate rules do not matter.
    pub(crate) fn is(&self, want: &str) -> bool {
        if !self.escaped {
            return self.raw == want.as_bytes();
        }
        let mut w = want.as_bytes().iter();
        let mut i = 0;
        let r = self.raw;
        while i < r.len() {
            let c = if r[i] == b'\\' {
                let e = r[i + 1];
                i += 2;
                match e {
                    b'u' => {
                        let hex = std::str::from_utf8(&r[i..i + 4]).ok();
                        i += 4;
                        match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                            Some(v) if v < 0x80 => v,
                            _ => return false,
                        }
                    }
                    b'b' => 8,
                    b'f' => 12,
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    other => other, // `"`, `\`, `/`
                }
            } else {
                i += 1;
                r[i - 1]
            };
            if w.next() != Some(&c) {
                return false;
            }
        }
        w.next().is_none()
    }
}

/// Which list of items is being walked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum List {
    Messages,
    Input,
    /// Gemini `contents` (native only).
    Contents,
}

/// What the walker found in one item of the message list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Item {
    /// The item is an object (otherwise every field is `None`).
    pub is_object: bool,
    pub role: Option<Span>,
    pub content: Option<Span>,
    pub kind: Option<Span>,
    pub text: Option<Span>,
    /// Gemini `parts` (read in `contents` items only).
    pub parts: Option<Span>,
}

/// Whether the walker should keep reading items.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flow {
    Continue,
    /// The profile has what it needs: the rest of the list is skipped unread.
    Done,
}

/// The profile's rules for the message list.
pub(crate) trait ItemVisitor {
    /// Called before the first item of a list (a list may be walked and later discarded:
    /// `input` is walked before the walker knows whether `messages` follows).
    fn begin(&mut self, list: List);
    /// One item, in order. Spans in `item` are valid under the walk's rules.
    fn item(&mut self, w: &mut Walker<'_>, list: List, item: &Item) -> Result<Flow, Error>;
}

/// The root members both profiles read (first occurrence of each).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Root {
    pub model: Option<Span>,
    pub tools: Option<Span>,
    pub functions: Option<Span>,
    pub instructions: Option<Span>,
    pub prompt_cache_key: Option<Span>,
    /// `messages` (first occurrence), whatever its type; its items were walked if an array.
    pub messages: Option<Span>,
    /// `input` (first occurrence), whatever its type; its items were walked if an array.
    pub input: Option<Span>,
    /// native only: Anthropic `system`, Gemini `systemInstruction` / `system_instruction`.
    pub system: Option<Span>,
    pub system_instruction: Option<Span>,
    pub system_instruction_snake: Option<Span>,
    /// native only: Gemini `contents` (first occurrence); its items were walked if an array
    /// and no `messages` array came before it.
    pub contents: Option<Span>,
    /// Body signals beyond `prompt_cache_key`, read only when the config has them.
    pub previous_response_id: Option<Span>,
    pub metadata: Option<Span>,
}

/// A walk already done: what [`Walker::root`] finds in a stream's reduced body, and the
/// visitor calls it makes there, recorded by the stream as it wrote that body
/// (`stream::collect`). Played back instead of parsing the reduced body again.
#[derive(Debug, Default)]
pub(crate) struct Recorded {
    pub root: Root,
    /// The list walks, in body order.
    pub steps: Vec<Step>,
}

/// One visitor call of a recorded walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    Begin(List),
    Item(List, Item),
}

/// Which optional signal members the walk reads (`Config::with_signals`).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SignalMembers {
    pub previous_response_id: bool,
    pub metadata: bool,
}

impl SignalMembers {
    pub(crate) fn of(config: &crate::Config) -> SignalMembers {
        let s = config.signals();
        SignalMembers {
            previous_response_id: s.has(crate::BodySignal::PreviousResponseId),
            metadata: s.has(crate::BodySignal::ClaudeCodeUserId),
        }
    }
}

/// The walker: body, rules, and scratch. Depth: the root object is 1.
pub(crate) struct Walker<'b> {
    pub body: &'b [u8],
    pub rules: Rules,
    /// `false` under Extracted validation: skipped values are only bracket-matched.
    pub full: bool,
    /// The body is a stream's reduced body (valid by construction), whose walk the stream
    /// recorded as it wrote it: [`Walker::root`] plays the record back instead of reading
    /// the body, and nothing the visitor reads needs validating.
    pub replay: Option<&'b Recorded>,
    /// native: a repeated name in an object the walker reads is an error.
    pub reject_duplicates: bool,
    /// native: also read the members of the other formats (Anthropic `system`, Gemini
    /// `systemInstruction`, `system_instruction`, `contents`). The walk reads them whatever
    /// the stated format (SPEC §5.1); the profile picks the components afterwards.
    pub formats: bool,
    /// The optional signal members to read.
    pub signals: SignalMembers,
    pub stack: &'b mut BitStack,
    pub arena: &'b Bump,
    /// A duplicate name met while walking `input` or `contents` items (the first one met): an
    /// error only if no `messages` array turns up (a `messages` array takes priority, and the
    /// spec never reads `input` or `contents` items then).
    pub deferred: Option<Error>,
}

impl<'b> Walker<'b> {
    fn err<T>(&self, kind: ErrorKind, at: usize) -> Result<T, Error> {
        Err(Error::new(kind, at.min(self.body.len())))
    }

    fn expect_more(&self, i: usize) -> Result<u8, Error> {
        match self.body.get(i) {
            Some(&c) => Ok(c),
            None => self.err(ErrorKind::UnexpectedEnd, self.body.len()),
        }
    }

    /// Opens a container at `i` at nesting `depth`, checking the limit.
    fn open(&self, i: usize, depth: usize) -> Result<(), Error> {
        if depth > self.rules.max_depth {
            return self.err(ErrorKind::TooDeep, i);
        }
        Ok(())
    }

    /// A value the profile reads: always fully validated. `depth` is the nesting of the
    /// container holding it. Returns its span.
    pub(crate) fn take(&mut self, i: usize, depth: usize) -> Result<Span, Error> {
        let end = scan::scan_value(self.body, i, self.rules, depth, self.stack)?;
        if !self.full {
            // Full validation checked the whole body's UTF-8 up front; here only what is read.
            self.utf8(i, end)?;
        }
        Ok(Span { start: i, end })
    }

    fn utf8(&self, start: usize, end: usize) -> Result<(), Error> {
        scan::check_utf8(&self.body[start..end])
            .map_err(|e| Error::new(e.kind(), start + e.offset()))
    }

    /// A value the profile does not read.
    pub(crate) fn skip(&mut self, i: usize, depth: usize) -> Result<Span, Error> {
        if self.full {
            self.take(i, depth)
        } else {
            let end = scan::skip_value(self.body, i, self.rules)?;
            Ok(Span { start: i, end })
        }
    }

    /// Makes sure a span recorded by [`Walker::skip`] is valid before the profile reads it
    /// (a no-op under Full validation, where skipping already validated, and on a replay).
    pub(crate) fn validate(&mut self, span: Span, depth: usize) -> Result<(), Error> {
        if !self.full && self.replay.is_none() {
            let end = scan::scan_value(self.body, span.start, self.rules, depth, self.stack)?;
            if end != span.end {
                return self.err(ErrorKind::UnexpectedByte, end);
            }
            self.utf8(span.start, end)?;
        }
        Ok(())
    }

    /// Reads the next member name of an object: `i` is just after `{` (first) or after the
    /// previous value. Returns `None` at the closing brace (and the index past it).
    fn next_member(
        &mut self,
        i: usize,
        first: bool,
    ) -> Result<(Option<(Name<'b>, usize)>, usize), Error> {
        let body = self.body;
        let mut i = scan::skip_ws(body, i);
        let c = self.expect_more(i)?;
        if c == b'}' {
            return Ok((None, i + 1));
        }
        if !first {
            if c != b',' {
                return self.err(ErrorKind::UnexpectedByte, i);
            }
            i = scan::skip_ws(body, i + 1);
        }
        if self.expect_more(i)? != b'"' {
            return self.err(ErrorKind::UnexpectedByte, i);
        }
        let end = scan::scan_string(body, i, self.rules)?;
        if !self.full {
            self.utf8(i, end)?;
        }
        let raw = &body[i + 1..end - 1];
        let escaped = raw.contains(&b'\\');
        let j = scan::skip_ws(body, end);
        if self.expect_more(j)? != b':' {
            return self.err(ErrorKind::UnexpectedByte, j);
        }
        let v = scan::skip_ws(body, j + 1);
        self.expect_more(v)?;
        Ok((Some((Name { raw, escaped }, v)), v))
    }

    /// Reads the next element start of an array: `i` is just after `[` (first) or after the
    /// previous value. Returns `None` at the closing bracket (and the index past it).
    fn next_element(&mut self, i: usize, first: bool) -> Result<(Option<usize>, usize), Error> {
        let body = self.body;
        let mut i = scan::skip_ws(body, i);
        let c = self.expect_more(i)?;
        if c == b']' && first {
            return Ok((None, i + 1));
        }
        if !first {
            match c {
                b']' => return Ok((None, i + 1)),
                b',' => i = scan::skip_ws(body, i + 1),
                _ => return self.err(ErrorKind::UnexpectedByte, i),
            }
        }
        self.expect_more(i)?;
        Ok((Some(i), i))
    }

    /// Sorts the decoded names and reports the first repeat (native duplicate rule).
    fn check_duplicates(&self, names: &mut BVec<'_, (&'b [u8], usize)>) -> Result<(), Error> {
        names.sort_unstable();
        for w in names.windows(2) {
            if w[0].0 == w[1].0 {
                return self.err(ErrorKind::DuplicateKey, w[0].1.max(w[1].1));
            }
        }
        Ok(())
    }

    /// The decoded bytes of a name (borrowed when it has no escapes).
    fn decoded(&self, n: Name<'b>) -> &'b [u8] {
        if !n.escaped {
            return n.raw;
        }
        let mut s = bumpalo::collections::String::new_in(self.arena);
        crate::canonicalize::text::unescape_bump(n.raw, &mut s);
        s.into_bump_str().as_bytes()
    }

    /// Walks the root value. `Ok(None)` when the root is not an object.
    pub(crate) fn root(&mut self, visitor: &mut dyn ItemVisitor) -> Result<Option<Root>, Error> {
        if let Some(record) = self.replay {
            return self.play(record, visitor).map(Some);
        }
        let body = self.body;
        let start = scan::skip_ws(body, 0);
        let c = self.expect_more(start)?;
        let (root, end) = if c == b'{' {
            let (root, end) = self.root_object(start, visitor)?;
            (Some(root), end)
        } else {
            // Not an object: nothing to read, but Full validation still checks it.
            (None, self.skip(start, 0)?.end)
        };
        let tail = scan::skip_ws(body, end);
        if tail != body.len() {
            return self.err(ErrorKind::TrailingData, tail);
        }
        Ok(root)
    }

    /// A recorded walk: the visitor sees the same calls as in [`Walker::root`] over the
    /// reduced body, and stops seeing a list's items once it says [`Flow::Done`].
    fn play(&mut self, record: &Recorded, visitor: &mut dyn ItemVisitor) -> Result<Root, Error> {
        let mut reading = false;
        for step in &record.steps {
            match *step {
                Step::Begin(list) => {
                    visitor.begin(list);
                    reading = true;
                }
                Step::Item(list, ref item) if reading => {
                    reading = visitor.item(self, list, item)? == Flow::Continue;
                }
                Step::Item(..) => {}
            }
        }
        Ok(record.root)
    }

    fn root_object(
        &mut self,
        start: usize,
        visitor: &mut dyn ItemVisitor,
    ) -> Result<(Root, usize), Error> {
        let body = self.body;
        self.open(start, 1)?;
        let mut root = Root::default();
        let mut names = BVec::new_in(self.arena);
        let mut i = start + 1;
        let mut first = true;
        loop {
            let (m, next) = self.next_member(i, first)?;
            first = false;
            let Some((name, v)) = m else {
                i = next;
                break;
            };
            if self.reject_duplicates {
                names.push((self.decoded(name), v));
            }
            let slot = if name.is("model") {
                Some(&mut root.model)
            } else if name.is("tools") {
                Some(&mut root.tools)
            } else if name.is("functions") {
                Some(&mut root.functions)
            } else if name.is("instructions") {
                Some(&mut root.instructions)
            } else if name.is("prompt_cache_key") {
                Some(&mut root.prompt_cache_key)
            } else if self.signals.previous_response_id && name.is("previous_response_id") {
                Some(&mut root.previous_response_id)
            } else if self.signals.metadata && name.is("metadata") {
                Some(&mut root.metadata)
            } else if !self.formats {
                None
            } else if name.is("system") {
                Some(&mut root.system)
            } else if name.is("systemInstruction") {
                Some(&mut root.system_instruction)
            } else if name.is("system_instruction") {
                Some(&mut root.system_instruction_snake)
            } else {
                None
            };
            let span = match slot {
                Some(slot) if slot.is_none() => {
                    let s = self.take(v, 1)?;
                    *slot = Some(s);
                    s
                }
                Some(_) => self.skip(v, 1)?,
                None if root.messages.is_none() && name.is("messages") => {
                    let s = self.list(v, List::Messages, visitor)?;
                    root.messages = Some(s);
                    s
                }
                None if root.input.is_none() && name.is("input") => {
                    // After a `messages` array, `input` items are never read.
                    let s = match root.messages {
                        Some(m) if body[m.start] == b'[' => self.skip(v, 1)?,
                        _ => self.list(v, List::Input, visitor)?,
                    };
                    root.input = Some(s);
                    s
                }
                None if self.formats && root.contents.is_none() && name.is("contents") => {
                    // Like `input`: after a `messages` array, never read.
                    let s = match root.messages {
                        Some(m) if body[m.start] == b'[' => self.skip(v, 1)?,
                        _ => self.list(v, List::Contents, visitor)?,
                    };
                    root.contents = Some(s);
                    s
                }
                None => self.skip(v, 1)?,
            };
            i = span.end;
        }
        if self.reject_duplicates {
            self.check_duplicates(&mut names)?;
        }
        if let Some(e) = self.deferred.take() {
            if !matches!(root.messages, Some(m) if body[m.start] == b'[') {
                return Err(e);
            }
        }
        Ok((root, i))
    }

    /// A root member that may be the message list: walked item by item when it is an array,
    /// taken whole when it is a string (Responses `input`; `messages` and `contents` strings
    /// are validated the same way, then ignored), skipped otherwise.
    fn list(&mut self, v: usize, list: List, visitor: &mut dyn ItemVisitor) -> Result<Span, Error> {
        match self.body[v] {
            b'[' => {}
            b'"' => return self.take(v, 1),
            _ => return self.skip(v, 1),
        }
        self.open(v, 2)?;
        visitor.begin(list);
        let mut i = v + 1;
        let mut first = true;
        let mut reading = true;
        loop {
            let (e, next) = self.next_element(i, first)?;
            first = false;
            let Some(at) = e else {
                return Ok(Span {
                    start: v,
                    end: next,
                });
            };
            if !reading {
                i = self.skip(at, 2)?.end;
                continue;
            }
            let (item, end) = match self.item(at) {
                Err(e) if e.kind() == ErrorKind::DuplicateKey && list != List::Messages => {
                    self.deferred.get_or_insert(e);
                    reading = false;
                    i = self.skip(at, 2)?.end;
                    continue;
                }
                r => r?,
            };
            if visitor.item(self, list, &item)? == Flow::Done {
                reading = false;
            }
            i = end;
        }
    }

    /// Reads one item of the message list (depth 3 when it is an object).
    fn item(&mut self, at: usize) -> Result<(Item, usize), Error> {
        let mut item = Item::default();
        if self.body[at] != b'{' {
            return Ok((item, self.skip(at, 2)?.end));
        }
        self.open(at, 3)?;
        item.is_object = true;
        let mut names = BVec::new_in(self.arena);
        let mut i = at + 1;
        let mut first = true;
        loop {
            let (m, next) = self.next_member(i, first)?;
            first = false;
            let Some((name, v)) = m else {
                i = next;
                break;
            };
            if self.reject_duplicates {
                names.push((self.decoded(name), v));
            }
            let slot = if name.is("role") {
                Some(&mut item.role)
            } else if name.is("content") {
                Some(&mut item.content)
            } else if name.is("type") {
                Some(&mut item.kind)
            } else if name.is("text") {
                Some(&mut item.text)
            } else if name.is("parts") {
                Some(&mut item.parts)
            } else {
                None
            };
            let span = match slot {
                // role and type are short and always read: validate them now.
                Some(slot) if slot.is_none() => {
                    let s = if name.is("content") || name.is("text") || name.is("parts") {
                        self.skip(v, 3)?
                    } else {
                        self.take(v, 3)?
                    };
                    *slot = Some(s);
                    s
                }
                _ => self.skip(v, 3)?,
            };
            i = span.end;
        }
        if self.reject_duplicates {
            self.check_duplicates(&mut names)?;
        }
        Ok((item, i))
    }
}
