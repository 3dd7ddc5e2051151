//! What the stream keeps: the scanner's events at depth ≤ 3 decide which bytes are copied.
//!
//! The collector builds a *reduced body*: a small JSON text with the root members the
//! profiles read (first occurrences, in body order) and, for the message list, only the items
//! that can still change the key, each cut down to `role`, `content`, `type` and `text` (native
//! Gemini `contents`: the first user entry's `role` and `parts`, SPEC §5.3). As it writes
//! that body it records what the one-shot walker would find there ([`Recorded`]: the root
//! spans and the visitor calls); at the end the one-shot profile runs on the record. It finds
//! the same fragments, so the key is the same (a unit test in `stream` checks the record
//! against a real walk of the reduced body). Everything else is scanned (and validated) as it
//! passes, never kept.
//!
//! Which items can change the key is the profiles' rule (SPEC §3.2, §4.1), restated here as
//! [`ListState::decide`]: an item is kept when the one-shot visitor would record something for
//! it, whatever the sub2api policies (SPEC §3.6); the replay also needs to see where the
//! leading system run ends (native, and sub2api's leading-system-only policy), so the first
//! dropped item that ends it leaves a `0` in its place. Duplicate names (native) and, under
//! Extracted validation, the checks the one-shot walker makes on what it reads happen here, at
//! the same points of the walk, so the errors are the same too.

use super::scanner::Mode;
use crate::canonicalize::text::{decode_escape, SurrogateRule};
use crate::error::{Error, ErrorKind};
use crate::extract::{Item, List, Name, Recorded, Root, SignalMembers, Span, Step};
use crate::scan::{self, BitStack, Rules};

/// The root members the profiles read as whole values (first occurrence each); native also
/// reads the three Anthropic and Gemini members (SPEC §5.1), and both profiles the last two
/// when the config's signals include them (`Config::with_signals`).
const FIELDS: [&str; 10] = [
    "model",
    "tools",
    "functions",
    "instructions",
    "prompt_cache_key",
    "system",
    "systemInstruction",
    "system_instruction",
    "previous_response_id",
    "metadata",
];
/// How many of [`FIELDS`] sub2api reads (before the signal members).
const SUB2API_FIELDS: usize = 5;
/// Where the optional signal members start in [`FIELDS`].
const SIGNAL_FIELDS: usize = 8;

/// The members of a message item the profiles read.
const ITEM_FIELDS: [&str; 5] = ["role", "content", "type", "text", "parts"];
const ROLE: usize = 0;
const CONTENT: usize = 1;
const TYPE: usize = 2;
const TEXT: usize = 3;
/// Gemini `parts` (read in native `contents` entries only).
const PARTS: usize = 4;

/// Where the bytes of the value being captured go.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Dest {
    /// A member name (with its quotes).
    Name,
    /// Straight into the reduced body.
    Reduced,
    /// One of the current item's fields.
    Item(usize),
    /// Nowhere but a UTF-8 check (a value the walker validates but never reads).
    Check,
}

#[derive(Clone, Copy, Debug)]
struct Capture {
    /// Absolute offset of the next byte to copy.
    from: usize,
    dest: Dest,
}

/// A copied value: `reduced[at..at + len]` is `body[orig..orig + len]`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Segment {
    at: usize,
    len: usize,
    orig: usize,
}

/// A root member, by its name.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Member {
    Field(usize),
    Messages,
    Input,
    /// native: Gemini `contents`.
    Contents,
    Other,
}

/// What the current member of the root object is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Current {
    /// A value copied into the reduced body (or only checked).
    Taken(Dest),
    /// The message list being walked.
    List(List),
    Skipped,
}

/// The decoded role of an item, as far as the profiles care.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
enum Role {
    System,
    User,
    /// sub2api: not `user`, but `user` once trimmed (`" user "`): only its anchor rule reads
    /// it (SPEC §3.6); native: as `Other`.
    AnchorUser,
    #[default]
    Other,
}

/// What to do with one item.
#[derive(Clone, Copy, Debug, Default)]
struct Decision {
    content: bool,
    text: bool,
    /// Leave a `0` for a dropped item (it ends the leading system run).
    placeholder: bool,
}

impl Decision {
    fn keep(&self) -> bool {
        self.content || self.text
    }
}

/// The profile's state over one list: exactly what its visitor remembers.
#[derive(Clone, Copy, Debug)]
struct ListState {
    /// sub2api: the first user message (or input_text) was recorded; native: `first_user`.
    captured: bool,
    /// Still in the leading system run (native; sub2api's leading-system-only policy, whose
    /// replay needs to see where the run ends).
    leading: bool,
    /// sub2api: the user anchor (SPEC §3.6) was decided by an item.
    anchored: bool,
    /// Items are still read (native stops after its last component; a duplicate in an
    /// `input` item stops the walk too).
    reading: bool,
    /// Items written to the reduced list so far.
    written: usize,
}

impl ListState {
    fn new() -> ListState {
        ListState {
            captured: false,
            leading: true,
            anchored: false,
            reading: true,
            written: 0,
        }
    }

    /// Is the content needed, knowing only the role?
    fn content_needed(&self, native: bool, role: Role) -> bool {
        if native {
            (self.leading && role == Role::System) || (!self.captured && role == Role::User)
        } else {
            // Whatever the policies: every system item (leading or not) and the item that
            // decides the user anchor are kept, and validated by the one-shot walk too.
            role == Role::System
                || (!self.captured && role == Role::User)
                || (!self.anchored && role == Role::AnchorUser)
        }
    }

    /// Is the text needed (Responses `input_text` item)? The same rule in both profiles.
    fn text_needed(&self, list: List, role: Role, input_text: bool) -> bool {
        list == List::Input && input_text && !self.captured && role != Role::User
    }

    /// The visitor's step for one item (sub2api `Pieces::item`, native `Lists::item`).
    fn decide(&mut self, native: bool, list: List, role: Role, input_text: bool) -> Decision {
        let mut d = Decision {
            content: self.content_needed(native, role),
            text: self.text_needed(list, role, input_text),
            placeholder: false,
        };
        if self.leading && role != Role::System {
            self.leading = false;
            d.placeholder = !d.keep();
        }
        if (!self.captured && role == Role::User) || d.text {
            self.captured = true;
        }
        if matches!(role, Role::User | Role::AnchorUser) || (list == List::Input && input_text) {
            self.anchored = true;
        }
        if native && !self.leading && self.captured {
            self.reading = false;
        }
        d
    }
}

/// The item being read: where its fields sit in `item_buf`.
#[derive(Clone, Copy, Debug, Default)]
struct ItemFields {
    /// `(start, end, orig)` per field of [`ITEM_FIELDS`]; `end` is set when it is complete.
    spans: [Option<(usize, usize, usize)>; 5],
    /// The field the last name named (`None`: another member).
    named: Option<usize>,
    /// The field being captured.
    open: Option<usize>,
    /// The item is an object (other items have no fields).
    object: bool,
    /// The decoded role, once the first `role` value is complete.
    role: Role,
}

/// The collector's state and buffers, reused across streams.
#[derive(Default)]
pub(crate) struct Collector {
    /// Full validation (else Extracted).
    full: bool,
    /// native profile: duplicate names are errors, the native list rule.
    native: bool,
    /// The reduced body.
    pub(crate) reduced: Vec<u8>,
    segments: Vec<Segment>,
    /// The walk of the reduced body, recorded as it is written (played back at the end).
    pub(crate) walk: Recorded,
    /// Where the message list being walked starts in the reduced body.
    list_at: usize,
    /// The root value is an object (`None` before it starts).
    root_object: Option<bool>,
    seen: [bool; FIELDS.len()],
    /// Which of [`FIELDS`] this profile and config read.
    reads: [bool; FIELDS.len()],
    /// The first `messages` member: `Some(is_array)`.
    messages: Option<bool>,
    input_seen: bool,
    contents_seen: bool,
    members: usize,
    current: Option<Current>,
    member: Option<Member>,
    /// Raw bytes of the last name (with quotes) and where it starts in the body.
    name: Vec<u8>,
    name_at: usize,
    capture: Option<Capture>,
    check: Vec<u8>,
    check_at: usize,
    /// Decoded names of the root object (native duplicate rule) and of the current item.
    names: Vec<u8>,
    root_names: Vec<(usize, usize, usize)>,
    item_name_bytes: Vec<u8>,
    item_names: Vec<(usize, usize, usize)>,
    /// Decoded bytes of the last name (`names[last_name.0..last_name.1]`).
    last_name: (usize, usize),
    lists: [Option<ListState>; 3],
    item: Option<ItemFields>,
    item_buf: Vec<u8>,
    /// The first duplicate name in an `input` or (native) `contents` item: an error unless
    /// `messages` is an array.
    deferred: Option<Error>,
    /// Position of the last event that could raise an error here (for error ordering).
    pub(crate) last_event: usize,
    scratch: BitStack,
    rules: Option<Rules>,
}

impl Collector {
    pub(crate) fn reset(&mut self, rules: Rules, full: bool, signals: SignalMembers) {
        self.rules = Some(rules);
        self.full = full;
        let native = rules.reject_lone_surrogates;
        for (i, r) in self.reads.iter_mut().enumerate() {
            *r = match i {
                _ if i < SUB2API_FIELDS => true,
                _ if i < SIGNAL_FIELDS => native,
                _ if i == SIGNAL_FIELDS => signals.previous_response_id,
                _ => signals.metadata,
            };
        }
        self.native = native;
        self.reduced.clear();
        self.segments.clear();
        self.walk.root = Root::default();
        self.walk.steps.clear();
        self.root_object = None;
        self.seen = [false; FIELDS.len()];
        self.messages = None;
        self.input_seen = false;
        self.contents_seen = false;
        self.members = 0;
        self.current = None;
        self.member = None;
        self.name.clear();
        self.capture = None;
        self.check.clear();
        self.names.clear();
        self.root_names.clear();
        self.item_names.clear();
        self.item_name_bytes.clear();
        self.lists = [None, None, None];
        self.item = None;
        self.item_buf.clear();
        self.deferred = None;
        self.last_event = 0;
    }

    /// The root value is an object: the reduced body is worth replaying.
    pub(crate) fn root_is_object(&self) -> bool {
        self.root_object == Some(true)
    }

    /// The body offset of a byte of the reduced body (for errors found by the replay).
    pub(crate) fn body_offset(&self, at: usize) -> usize {
        let i = self.segments.partition_point(|s| s.at <= at);
        match i.checked_sub(1).map(|i| self.segments[i]) {
            Some(s) if at < s.at + s.len.max(1) => s.orig + (at - s.at),
            Some(s) => s.orig + s.len,
            None => 0,
        }
    }

    /// How values the walker does not read are skipped.
    fn skip_mode(&self) -> Mode {
        if self.full {
            Mode::Opaque
        } else {
            Mode::Loose
        }
    }

    fn start_capture(&mut self, at: usize, dest: Dest) {
        self.capture = Some(Capture { from: at, dest });
        match dest {
            Dest::Reduced => self.segments.push(Segment {
                at: self.reduced.len(),
                len: 0,
                orig: at,
            }),
            Dest::Check => {
                self.check.clear();
                self.check_at = at;
            }
            Dest::Name => {
                self.name.clear();
                self.name_at = at;
            }
            Dest::Item(_) => {}
        }
    }

    /// Copies the captured bytes up to `to` (absolute) out of `b` (which starts at `base`).
    fn copy(&mut self, b: &[u8], base: usize, to: usize) {
        let Some(cap) = self.capture.as_mut() else {
            return;
        };
        if to <= cap.from {
            return;
        }
        let bytes = &b[cap.from - base..to - base];
        cap.from = to;
        match cap.dest {
            Dest::Name => self.name.extend_from_slice(bytes),
            Dest::Reduced => {
                self.reduced.extend_from_slice(bytes);
                if let Some(s) = self.segments.last_mut() {
                    s.len += bytes.len();
                }
            }
            Dest::Item(_) => self.item_buf.extend_from_slice(bytes),
            Dest::Check => self.check.extend_from_slice(bytes),
        }
    }

    /// The slice `b` (from `base`) was scanned up to `upto`: copy what a capture needs
    /// before the bytes go.
    pub(crate) fn flush(&mut self, b: &[u8], base: usize, upto: usize) {
        self.copy(b, base, upto);
    }

    /// Extracted validation checks the UTF-8 of what the walker reads.
    fn utf8(&self, bytes: &[u8], at: usize) -> Result<(), Error> {
        if self.full {
            return Ok(());
        }
        scan::check_utf8(bytes).map_err(|e| Error::new(e.kind(), at + e.offset()))
    }

    /// The values at depth 2 are items of a list whose items are no longer read, under
    /// Extracted validation: each is skipped loosely and nothing is recorded for it, so the
    /// scanner need not report them ([`Collector::value_start`] and
    /// [`Collector::value_end`] would do nothing but say [`Mode::Loose`]).
    pub(crate) fn items_skipped(&self) -> bool {
        match self.current {
            Some(Current::List(l)) => {
                !self.full && self.lists[l as usize].is_some_and(|s| !s.reading)
            }
            _ => false,
        }
    }

    /// Inside an object item of the list being walked (its members are at depth 3).
    fn in_item(&self) -> bool {
        matches!(self.current, Some(Current::List(_))) && self.item.is_some_and(|i| i.object)
    }

    /// A name starts at `at` (its opening quote), in an object at `depth`.
    pub(crate) fn name_start(&mut self, depth: usize, at: usize) {
        if (depth == 1 && self.root_is_object()) || (depth == 3 && self.in_item()) {
            self.start_capture(at, Dest::Name);
        }
    }

    /// The name ends just before `end`.
    pub(crate) fn name_end(
        &mut self,
        depth: usize,
        end: usize,
        b: &[u8],
        base: usize,
    ) -> Result<(), Error> {
        if !((depth == 1 && self.root_is_object()) || (depth == 3 && self.in_item())) {
            return Ok(());
        }
        self.last_event = end;
        let from = self.capture.take().map_or(end, |c| c.from);
        // An item's member name that lies in this slice (nearly all of them) is read where it
        // is; a root member's is copied, since the reduced body repeats it.
        let in_slice = depth == 3 && self.name.is_empty() && from >= base;
        let mut name = std::mem::take(&mut self.name);
        let r = if in_slice {
            self.read_name(depth, &b[from - base..end - base], from)
        } else {
            name.extend_from_slice(&b[from - base..end - base]);
            self.read_name(depth, &name, self.name_at)
        };
        self.name = name;
        r
    }

    /// What a complete name (`bytes`, with its quotes, from body offset `at`) means here.
    fn read_name(&mut self, depth: usize, bytes: &[u8], at: usize) -> Result<(), Error> {
        self.utf8(bytes, at)?;
        let inner = bytes
            .get(1..bytes.len().saturating_sub(1))
            .unwrap_or_default();
        if depth == 1 {
            self.member = Some(member_of(inner));
        } else if let Some(item) = self.item.as_mut() {
            item.named = item_field(inner);
        }
        if self.native {
            let buf = if depth == 1 {
                &mut self.names
            } else {
                &mut self.item_name_bytes
            };
            let start = buf.len();
            decode_name(inner, buf);
            self.last_name = (start, buf.len());
        }
        Ok(())
    }

    /// Writes `,"name":` into the reduced root object.
    fn member_prefix(&mut self) {
        if self.members > 0 {
            self.reduced.push(b',');
        }
        self.members += 1;
        self.reduced.extend_from_slice(&self.name);
        self.reduced.push(b':');
    }

    /// A value starts at `at` (its first byte `first`) in a container at `depth` (0: the
    /// root value). Returns how to scan it.
    pub(crate) fn value_start(&mut self, depth: usize, at: usize, first: u8) -> Mode {
        match depth {
            0 => {
                let object = first == b'{';
                self.root_object = Some(object);
                if object {
                    self.reduced.push(b'{');
                    Mode::Strict
                } else {
                    self.skip_mode()
                }
            }
            1 if self.root_is_object() => self.member_start(at, first),
            2 => match self.current {
                Some(Current::List(l)) => self.item_start(l, first),
                _ => Mode::Opaque,
            },
            3 if self.in_item() => self.field_start(at),
            _ => Mode::Opaque,
        }
    }

    fn member_start(&mut self, at: usize, first: u8) -> Mode {
        if self.native {
            let (s, e) = self.last_name;
            self.root_names.push((s, e, at));
        }
        let (current, mode) = match self.member.unwrap_or(Member::Other) {
            Member::Field(i) if !self.seen[i] && self.reads[i] => {
                self.seen[i] = true;
                self.member_prefix();
                self.start_capture(at, Dest::Reduced);
                (Current::Taken(Dest::Reduced), Mode::Opaque)
            }
            Member::Messages if self.messages.is_none() => {
                self.messages = Some(first == b'[');
                self.member_prefix();
                self.list_or_placeholder(List::Messages, at, first, false)
            }
            Member::Input if !self.input_seen => {
                self.input_seen = true;
                self.later_list(List::Input, at, first, true)
            }
            Member::Contents if self.native && !self.contents_seen => {
                self.contents_seen = true;
                self.later_list(List::Contents, at, first, false)
            }
            _ => (Current::Skipped, self.skip_mode()),
        };
        self.current = Some(current);
        mode
    }

    /// `input` or `contents`: never read after a `messages` array, else a possible list.
    fn later_list(
        &mut self,
        list: List,
        at: usize,
        first: u8,
        keep_string: bool,
    ) -> (Current, Mode) {
        if self.messages == Some(true) {
            return (Current::Skipped, self.skip_mode());
        }
        self.member_prefix();
        self.list_or_placeholder(list, at, first, keep_string)
    }

    /// A possible message list: walked when an array, taken when a string (kept only for
    /// `input`, whose string is read), else only its type matters.
    fn list_or_placeholder(
        &mut self,
        list: List,
        at: usize,
        first: u8,
        keep_string: bool,
    ) -> (Current, Mode) {
        match first {
            b'[' => {
                self.list_at = self.reduced.len();
                self.reduced.push(b'[');
                self.lists[list as usize] = Some(ListState::new());
                self.walk.steps.push(Step::Begin(list));
                (Current::List(list), Mode::Strict)
            }
            b'"' if keep_string => {
                self.start_capture(at, Dest::Reduced);
                (Current::Taken(Dest::Reduced), Mode::Opaque)
            }
            _ => {
                let start = self.reduced.len();
                self.reduced.extend_from_slice(b"null");
                self.record_member(Span {
                    start,
                    end: self.reduced.len(),
                });
                if first == b'"' {
                    self.start_capture(at, Dest::Check);
                    (Current::Taken(Dest::Check), Mode::Opaque)
                } else {
                    (Current::Skipped, self.skip_mode())
                }
            }
        }
    }

    fn item_start(&mut self, list: List, first: u8) -> Mode {
        let reading = self.lists[list as usize].is_some_and(|s| s.reading);
        if !reading {
            self.item = None;
            return self.skip_mode();
        }
        self.item = Some(ItemFields {
            object: first == b'{',
            ..ItemFields::default()
        });
        self.item_buf.clear();
        self.item_names.clear();
        self.item_name_bytes.clear();
        if first == b'{' {
            Mode::Strict
        } else {
            self.skip_mode()
        }
    }

    fn field_start(&mut self, at: usize) -> Mode {
        if self.native {
            let (s, e) = self.last_name;
            self.item_names.push((s, e, at));
        }
        // Borrowed, not copied: this runs for every member of every item.
        let Some(item) = self.item.as_ref() else {
            return self.skip_mode();
        };
        let Some(f) = item.named.filter(|&f| item.spans[f].is_none()) else {
            return self.skip_mode();
        };
        // The role, once its value is complete (decoded then).
        let role = item.spans[ROLE].map(|_| item.role);
        // role and type are always read (validated now); content and text only when the
        // item turns out to need them (skipped now, validated then).
        let mode = match f {
            ROLE | TYPE => Mode::Opaque,
            _ => self.skip_mode(),
        };
        let list = match self.current {
            Some(Current::List(l)) => l,
            _ => return mode,
        };
        // A content whose item's role already rules it out is never copied (the role comes
        // first in every client we know of; otherwise the content waits for the item's end).
        let needed = match (f, role) {
            // `parts` is read in `contents` entries only, and `content` never there.
            (PARTS, _) if list != List::Contents => false,
            (CONTENT, _) if list == List::Contents => false,
            (PARTS, Some(role)) => role == Role::User,
            (CONTENT, Some(role)) => {
                self.lists[list as usize].is_some_and(|s| s.content_needed(self.native, role))
            }
            _ => true,
        };
        if needed {
            let start = self.item_buf.len();
            if let Some(it) = self.item.as_mut() {
                it.spans[f] = Some((start, usize::MAX, at));
                it.open = Some(f);
            }
            self.start_capture(at, Dest::Item(f));
        } else if let Some(it) = self.item.as_mut() {
            // Remember that the first occurrence was seen (and not copied).
            it.spans[f] = Some((0, 0, usize::MAX));
        }
        mode
    }

    /// A value that started in a container at `depth` ended just before `end`.
    pub(crate) fn value_end(
        &mut self,
        depth: usize,
        end: usize,
        b: &[u8],
        base: usize,
    ) -> Result<(), Error> {
        match depth {
            0 if self.root_is_object() => {
                self.last_event = end;
                if self.native {
                    check_unique(&self.names, &mut self.root_names)?;
                }
                if let Some(e) = self.deferred.take() {
                    if self.messages != Some(true) {
                        return Err(e);
                    }
                }
                self.reduced.push(b'}');
            }
            1 if self.root_is_object() => {
                self.last_event = end;
                match self.current.take() {
                    Some(Current::Taken(dest)) => {
                        self.copy(b, base, end);
                        self.capture = None;
                        match dest {
                            Dest::Reduced => {
                                let s = *self.segments.last().expect("a segment per capture");
                                self.utf8(&self.reduced[s.at..s.at + s.len], s.orig)?;
                                let span = Span {
                                    start: s.at,
                                    end: s.at + s.len,
                                };
                                self.record_member(span);
                            }
                            _ => self.utf8(&self.check, self.check_at)?,
                        }
                    }
                    Some(Current::List(_)) => {
                        self.reduced.push(b']');
                        let span = Span {
                            start: self.list_at,
                            end: self.reduced.len(),
                        };
                        self.record_member(span);
                    }
                    _ => {}
                }
            }
            2 => {
                if let Some(Current::List(l)) = self.current {
                    if self.item.is_some() {
                        self.last_event = end;
                        self.item_end(l)?;
                    }
                }
            }
            3 if self.in_item() => {
                let open = self.item.as_ref().and_then(|i| i.open);
                if let Some(f) = open {
                    self.last_event = end;
                    self.copy(b, base, end);
                    self.capture = None;
                    let len = self.item_buf.len();
                    let item = self.item.as_mut().expect("in an item");
                    item.open = None;
                    let span = item.spans[f].as_mut().expect("an open field");
                    span.1 = len;
                    let (s, e, orig) = *span;
                    if f == ROLE || f == TYPE {
                        self.utf8(&self.item_buf[s..e], orig)?;
                    }
                    if f == ROLE {
                        // Decoded once, here: both the content's and the item's decisions
                        // ask for it.
                        let role = decode_role(&self.item_buf[s..e]);
                        if let Some(item) = self.item.as_mut() {
                            item.role = role;
                        }
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The end of one item of `list`: the duplicate rule, the profile's decision, the
    /// deferred validation of what it reads, and its reduced copy.
    fn item_end(&mut self, list: List) -> Result<(), Error> {
        let item = self.item.take().expect("an item");
        if self.native {
            if let Err(e) = check_unique(&self.item_name_bytes, &mut self.item_names) {
                if list != List::Messages {
                    // Only an error if `input` or `contents` turns out to be read (no
                    // `messages` array); the first one met counts.
                    self.deferred.get_or_insert(e);
                    if let Some(s) = self.lists[list as usize].as_mut() {
                        s.reading = false;
                    }
                    return Ok(());
                }
                return Err(e);
            }
        }
        if list == List::Contents {
            return self.contents_entry_end(item);
        }
        let role = item.role;
        let input_text = match item.spans[TYPE] {
            Some((s, e, orig)) if orig != usize::MAX => {
                string_is(&self.item_buf[s..e], "input_text")
            }
            _ => false,
        };
        let native = self.native;
        let Some(state) = self.lists[list as usize].as_mut() else {
            return Ok(());
        };
        let d = state.decide(native, list, role, input_text);
        let written = state.written;
        if !d.keep() {
            if d.placeholder {
                self.separator(list, written);
                self.reduced.push(b'0');
                self.walk.steps.push(Step::Item(list, Item::default()));
            }
            return Ok(());
        }
        // Validate what the profile reads, as the one-shot visitor does after the item.
        for (f, wanted) in [(CONTENT, d.content), (TEXT, d.text)] {
            if wanted {
                self.check_read_field(item.spans[f])?;
            }
        }
        self.separator(list, written);
        let fields = [
            (ROLE, true),
            (CONTENT, d.content),
            (TYPE, true),
            (TEXT, d.text),
        ];
        self.write_item(list, &item, fields.iter().filter(|f| f.1).map(|f| f.0));
        Ok(())
    }

    /// Under Extracted validation, a copied field the profile reads (skipped loosely when it
    /// passed) is validated now, as the one-shot visitor validates it after the item.
    fn check_read_field(&mut self, span: Option<(usize, usize, usize)>) -> Result<(), Error> {
        let Some((s, e, orig)) = span else {
            return Ok(());
        };
        if self.full || orig == usize::MAX {
            return Ok(());
        }
        let bytes = &self.item_buf[s..e];
        let rules = self.rules.expect("rules are set by reset");
        let at = |er: Error| Error::new(er.kind(), orig + er.offset());
        let end = scan::scan_value(bytes, 0, rules, 3, &mut self.scratch).map_err(at)?;
        if end != bytes.len() {
            return Err(Error::new(ErrorKind::UnexpectedByte, orig + end));
        }
        scan::check_utf8(bytes).map_err(at)
    }

    /// Writes `{"field":value,...}`: the given fields of `item` that were copied, in order;
    /// records the item as the walker would find it there.
    fn write_item(&mut self, list: List, item: &ItemFields, fields: impl Iterator<Item = usize>) {
        self.reduced.push(b'{');
        let mut found = Item {
            is_object: true,
            ..Item::default()
        };
        let mut first = true;
        for f in fields {
            let Some((s, e, orig)) = item.spans[f] else {
                continue;
            };
            if orig == usize::MAX {
                continue;
            }
            if !first {
                self.reduced.push(b',');
            }
            first = false;
            self.reduced.push(b'"');
            self.reduced.extend_from_slice(ITEM_FIELDS[f].as_bytes());
            self.reduced.extend_from_slice(b"\":");
            let at = self.reduced.len();
            self.segments.push(Segment {
                at,
                len: e - s,
                orig,
            });
            self.reduced.extend_from_slice(&self.item_buf[s..e]);
            let span = Some(Span {
                start: at,
                end: self.reduced.len(),
            });
            match f {
                ROLE => found.role = span,
                CONTENT => found.content = span,
                TYPE => found.kind = span,
                TEXT => found.text = span,
                _ => found.parts = span,
            }
        }
        self.reduced.push(b'}');
        self.walk.steps.push(Step::Item(list, found));
    }

    /// Records where the value of the current root member lies in the reduced body.
    fn record_member(&mut self, span: Span) {
        let root = &mut self.walk.root;
        let slot = match self.member {
            Some(Member::Field(i)) => match FIELDS[i] {
                "model" => &mut root.model,
                "tools" => &mut root.tools,
                "functions" => &mut root.functions,
                "instructions" => &mut root.instructions,
                "prompt_cache_key" => &mut root.prompt_cache_key,
                "system" => &mut root.system,
                "systemInstruction" => &mut root.system_instruction,
                "system_instruction" => &mut root.system_instruction_snake,
                "previous_response_id" => &mut root.previous_response_id,
                "metadata" => &mut root.metadata,
                _ => return,
            },
            Some(Member::Messages) => &mut root.messages,
            Some(Member::Input) => &mut root.input,
            Some(Member::Contents) => &mut root.contents,
            _ => return,
        };
        *slot = Some(span);
    }

    /// The end of a Gemini `contents` entry (native, SPEC §5.3): the first object entry whose
    /// `role` is absent or "user" is kept as `{"role":…,"parts":…}` and ends the walk of the
    /// list; the entries before it never count.
    fn contents_entry_end(&mut self, item: ItemFields) -> Result<(), Error> {
        let user = item.object && (item.spans[ROLE].is_none() || item.role == Role::User);
        let Some(state) = self.lists[List::Contents as usize].as_mut() else {
            return Ok(());
        };
        if !user {
            return Ok(());
        }
        state.captured = true;
        state.reading = false;
        let written = state.written;
        // Validate `parts` as the one-shot visitor does after the item.
        self.check_read_field(item.spans[PARTS])?;
        self.separator(List::Contents, written);
        self.write_item(List::Contents, &item, [ROLE, PARTS].into_iter());
        Ok(())
    }

    fn separator(&mut self, list: List, written: usize) {
        if written > 0 {
            self.reduced.push(b',');
        }
        if let Some(s) = self.lists[list as usize].as_mut() {
            s.written += 1;
        }
    }
}

/// Which root member a name (the inside of its string token) is.
fn member_of(raw: &[u8]) -> Member {
    let name = Name {
        raw,
        escaped: raw.contains(&b'\\'),
    };
    // Without escapes, plain byte comparisons (a length test first): no decoding.
    let is = |want: &str| {
        if name.escaped {
            name.is(want)
        } else {
            raw == want.as_bytes()
        }
    };
    if let Some(i) = FIELDS.iter().position(|f| is(f)) {
        Member::Field(i)
    } else if is("messages") {
        Member::Messages
    } else if is("input") {
        Member::Input
    } else if is("contents") {
        Member::Contents
    } else {
        Member::Other
    }
}

/// Which of [`ITEM_FIELDS`] a member name (the inside of its string token) is: met for every
/// member of every item read, so the usual spellings are matched first, as they are.
#[inline]
fn item_field(raw: &[u8]) -> Option<usize> {
    match raw {
        b"role" => Some(ROLE),
        b"content" => Some(CONTENT),
        b"type" => Some(TYPE),
        b"text" => Some(TEXT),
        b"parts" => Some(PARTS),
        _ if raw.contains(&b'\\') => {
            let name = Name { raw, escaped: true };
            ITEM_FIELDS.iter().position(|f| name.is(f))
        }
        _ => None,
    }
}

/// The role a `role` value (a whole copied value) gives its item.
fn decode_role(v: &[u8]) -> Role {
    match v {
        br#""system""# | br#""developer""# => Role::System,
        br#""user""# => Role::User,
        // Escaped spellings: decoded.
        _ if v.contains(&b'\\') => {
            if string_is(v, "system") || string_is(v, "developer") {
                Role::System
            } else if string_is(v, "user") {
                Role::User
            } else if trimmed_user(v) {
                Role::AnchorUser
            } else {
                Role::Other
            }
        }
        _ if trimmed_user(v) => Role::AnchorUser,
        _ => Role::Other,
    }
}

/// Is the JSON value `v` (a whole copied value) a string whose decoded value is `want`?
fn string_is(v: &[u8], want: &str) -> bool {
    let whole = Span {
        start: 0,
        end: v.len(),
    };
    crate::profile::engine::string_is(v, (!v.is_empty()).then_some(whole), want)
}

/// Is the JSON value `v` a string that is `user` once decoded and trimmed (Go
/// `strings.TrimSpace`)?
fn trimmed_user(v: &[u8]) -> bool {
    if v.len() < 6 || v[0] != b'"' {
        return false;
    }
    let raw = &v[1..v.len() - 1];
    if raw.contains(&b'\\') {
        let d = crate::canonicalize::text::unescape(raw, SurrogateRule::Gjson);
        crate::hash::go_trim_space(d.as_bytes()) == b"user"
    } else {
        crate::hash::go_trim_space(raw) == b"user"
    }
}

/// Appends the decoded bytes of a name (the inside of its string token) to `out`, as the
/// one-shot walker decodes names for the duplicate rule.
fn decode_name(raw: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < raw.len() {
        let run_end = memchr::memchr(b'\\', &raw[i..]).map_or(raw.len(), |p| i + p);
        if run_end > i {
            out.extend_from_slice(&raw[i..run_end]);
            i = run_end;
            continue;
        }
        let (c, n) = decode_escape(raw, i, SurrogateRule::EncodingJson);
        let mut utf8 = [0u8; 4];
        out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
        i += n;
    }
}

/// The native duplicate rule, as the one-shot walker applies it: names sorted (then by
/// position), the first repeated name is reported at its later value.
fn check_unique(names: &[u8], list: &mut [(usize, usize, usize)]) -> Result<(), Error> {
    list.sort_unstable_by(|a, b| names[a.0..a.1].cmp(&names[b.0..b.1]).then(a.2.cmp(&b.2)));
    for w in list.windows(2) {
        if names[w[0].0..w[0].1] == names[w[1].0..w[1].1] {
            return Err(Error::new(ErrorKind::DuplicateKey, w[0].2.max(w[1].2)));
        }
    }
    Ok(())
}

impl std::fmt::Debug for Collector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collector")
            .field("reduced_len", &self.reduced.len())
            .finish_non_exhaustive()
    }
}
