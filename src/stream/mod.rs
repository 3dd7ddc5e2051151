//! Streaming input: the key of a body that arrives in chunks, split anywhere.
//!
//! [`Stream`] scans each chunk as it arrives with a resumable version of the block validator
//! ([`scanner`]); the [`collect`]or copies only what the profile can read into a small
//! *reduced body* (model, tools, instructions, the system messages and the first user message,
//! each cut to the fields the profile reads), and records as it goes what walking that body
//! would find. When the body ends, the one-shot profile runs on that record, so the key is
//! the one-shot key by construction, without reading the reduced body again. Between chunks the
//! stream holds the reduced body, the nesting bit stack and less than 100 bytes of carry (a
//! number token longer than a chunk is held whole); never the history it skipped.
//!
//! Errors are reported in body order, so that they do not depend on how the body was cut:
//! the first error the scan meets wins, except that under Full validation an invalid UTF-8
//! sequence at or before it wins; a duplicate name is met when its object closes. Near the
//! size limit an error is only final once the body is known to end before the limit
//! ([`ErrorKind::TooLarge`] otherwise). The one-shot calls report exactly these errors: when
//! they refuse a body, the error is recomputed by this scan.

pub(crate) mod collect;
pub(crate) mod scanner;
mod utf8;

use crate::config::{Profile, Validation};
use crate::error::{Error, ErrorKind};
use crate::key::SessionKey;
use crate::scan::Rules;
use crate::Fingerprinter;
use collect::Collector;
use scanner::{RunFn, Scanner, LOOKAHEAD};
use utf8::Utf8Stream;

/// The stream's buffers, owned by the [`Fingerprinter`] and reused.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    scanner: Scanner,
    pub(crate) collector: Collector,
    carry: Vec<u8>,
    utf8: Utf8Stream,
}

/// A key computed from a body that arrives in chunks: see [`Fingerprinter::stream`].
///
/// Feed the chunks in order with [`push`](Stream::push), then call
/// [`finish`](Stream::finish). The result is exactly what
/// [`Fingerprinter::session_key`] (or [`content_key`](Fingerprinter::content_key) for
/// [`Fingerprinter::content_stream`]) returns for the whole body: the same key and source, or
/// the same error kind at the same offset, however the body was split.
#[derive(Debug)]
pub struct Stream<'f> {
    fp: &'f mut Fingerprinter,
    run: RunFn,
    rules: Rules,
    full: bool,
    content_only: bool,
    max: usize,
    /// A header tier decided before the body.
    header: Option<SessionKey>,
    /// Bytes accepted (never more than the limit).
    total: usize,
    /// Absolute offset of the first byte of the carry.
    carry_base: usize,
    /// Bytes scanned.
    scanned: usize,
    /// The first error the scan met, and the position at which it counts.
    walk_error: Option<(Error, usize)>,
    /// The final error, once known.
    outcome: Option<Error>,
    /// The body went past the size limit.
    over: bool,
    ended: bool,
}

impl<'f> Stream<'f> {
    pub(crate) fn new(
        fp: &'f mut Fingerprinter,
        header: Option<SessionKey>,
        content_only: bool,
    ) -> Stream<'f> {
        let rules = fp.rules();
        let run = fp.stream_runner();
        let config = fp.config();
        let full = config.validation == Validation::Full;
        let max = config.limits.max_body_bytes;
        let native = config.profile == Profile::Native;
        debug_assert_eq!(native, rules.reject_lone_surrogates);
        let signals = crate::extract::SignalMembers::of(config);
        let s = &mut fp.stream;
        s.scanner.reset();
        s.collector.reset(rules, full, signals);
        s.carry.clear();
        s.utf8.reset();
        Stream {
            fp,
            run,
            rules,
            full,
            content_only,
            max,
            header,
            total: 0,
            carry_base: 0,
            scanned: 0,
            walk_error: None,
            outcome: None,
            over: false,
            ended: false,
        }
    }

    /// Feeds the next chunk of the body (any size, cut anywhere). Returns the body's error as
    /// soon as it is certain; after that every call returns it again.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), Error> {
        if self.header.is_some() {
            return Ok(());
        }
        if let Some(e) = self.outcome {
            return Err(e);
        }
        let room = self.max - self.total;
        let data = &chunk[..chunk.len().min(room)];
        let base = self.total;
        if self.full {
            self.fp.stream.utf8.feed(data, base);
        }
        self.total += data.len();
        if self.walk_error.is_none() {
            if let Err(e) = self.scan(data, base) {
                self.fail(e);
            }
        }
        if chunk.len() > room {
            // Past the limit: the body is cut there and only an earlier error can beat
            // `TooLarge`.
            self.over = true;
            self.end_scan();
        }
        self.settle()
    }

    /// Whether the result is already known: a header tier decided (the body is not read at
    /// all, as in [`Fingerprinter::session_key`]), or the body was refused (`push` returned
    /// the error). A body-decided key is never early: `prompt_cache_key` or the content seed
    /// only count if the rest of the body is valid, so the whole body must be read.
    pub fn is_decided(&self) -> bool {
        self.header.is_some() || self.outcome.is_some()
    }

    /// Bytes of the body accepted so far (at most the size limit).
    pub fn bytes_seen(&self) -> usize {
        self.total
    }

    /// The body has ended: the key (or `None` when the body has nothing to key on), or the
    /// body's error.
    pub fn finish(mut self) -> Result<Option<SessionKey>, Error> {
        if let Some(k) = self.header.take() {
            return Ok(Some(k));
        }
        if let Some(e) = self.outcome {
            return Err(e);
        }
        self.ended = true;
        if self.total == 0 {
            return Ok(None);
        }
        self.fp.stream.utf8.finish();
        self.end_scan();
        self.settle()?;
        if !self.fp.stream.collector.root_is_object() {
            return Ok(None);
        }
        let found = self.fp.replay()?;
        Ok(crate::fingerprinter::select(found, self.content_only))
    }

    /// Records the scan's first error with the position it counts at (a duplicate name
    /// counts where its object closes).
    fn fail(&mut self, e: Error) {
        let at = e.offset().max(self.fp.stream.collector.last_event);
        self.walk_error = Some((e, at));
    }

    /// Scans `data` (the body from offset `base`), going on from the carry.
    fn scan(&mut self, data: &[u8], base: usize) -> Result<(), Error> {
        let (run, rules) = (self.run, self.rules);
        let s = &mut self.fp.stream;
        let mut at = 0;
        if !s.carry.is_empty() {
            loop {
                // Move some bytes behind the carry (more each round while a long number
                // keeps a block waiting), scan, and switch to `data` once the carry is used.
                let take = (data.len() - at).min(s.carry.len().max(2 * (64 + LOOKAHEAD)));
                s.carry.extend_from_slice(&data[at..at + take]);
                at += take;
                let pos = run(
                    &mut s.scanner,
                    &mut s.collector,
                    &s.carry,
                    self.carry_base,
                    0,
                    false,
                    rules,
                )?;
                s.collector
                    .flush(&s.carry, self.carry_base, self.carry_base + pos);
                s.carry.drain(..pos);
                self.carry_base += pos;
                self.scanned = self.carry_base;
                if self.carry_base >= base {
                    at = self.carry_base - base;
                    s.carry.clear();
                    break;
                }
                if at == data.len() {
                    return Ok(());
                }
            }
        }
        let pos = run(
            &mut s.scanner,
            &mut s.collector,
            data,
            base,
            at,
            false,
            rules,
        )?;
        s.collector.flush(data, base, base + pos);
        s.carry.extend_from_slice(&data[pos..]);
        self.carry_base = base + pos;
        self.scanned = self.carry_base;
        Ok(())
    }

    /// The body ended (or was cut at the limit): scan what is left, then the root value must
    /// be complete.
    fn end_scan(&mut self) {
        if self.walk_error.is_some() {
            return;
        }
        let s = &mut self.fp.stream;
        let r = (self.run)(
            &mut s.scanner,
            &mut s.collector,
            &s.carry,
            self.carry_base,
            0,
            true,
            self.rules,
        );
        self.scanned = self.total;
        match r {
            Err(e) => self.fail(e),
            Ok(_) if !s.scanner.complete() => {
                self.walk_error =
                    Some((Error::new(ErrorKind::UnexpectedEnd, self.total), self.total));
            }
            Ok(_) => {}
        }
    }

    /// Decides whether the error is final, in body order (see the module documentation).
    fn settle(&mut self) -> Result<(), Error> {
        let ended = self.ended || self.over;
        let utf8 = &self.fp.stream.utf8;
        let bad_utf8 = |at| (Error::new(ErrorKind::InvalidUtf8, at), at);
        let candidate = match (self.walk_error, if self.full { utf8.error } else { None }) {
            (Some((_, r)), Some(u)) if u <= r => Some(bad_utf8(u)),
            (Some((e, r)), _) if !self.full || r < utf8.settled() || ended => Some((e, r)),
            (None, Some(u)) if self.scanned > u || ended => Some(bad_utf8(u)),
            _ => None,
        };
        let horizon = self.max.saturating_sub(LOOKAHEAD);
        let outcome = match candidate {
            Some((e, at)) if at < horizon || (ended && !self.over) => Some(e),
            _ if self.over => Some(Error::new(ErrorKind::TooLarge, self.max)),
            _ => None,
        };
        self.outcome = outcome;
        match outcome {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    //! The recorded walk (`extract::Recorded`) must be exactly what walking the reduced body
    //! finds: the same root spans and the same visitor calls. The end-to-end streaming tests
    //! only see keys; this pins the record itself.

    use crate::extract::{Item, ItemVisitor, List, Recorded, Root, Step, Walker};
    use crate::{Config, Fingerprinter, Signals, Validation};
    use bumpalo::Bump;

    /// Records every call; never says `Done`, so every recorded item is seen.
    #[derive(Default)]
    struct Calls(Vec<Step>);

    impl ItemVisitor for Calls {
        fn begin(&mut self, list: List) {
            self.0.push(Step::Begin(list));
        }
        fn item(
            &mut self,
            _: &mut Walker<'_>,
            list: List,
            item: &Item,
        ) -> Result<crate::extract::Flow, crate::Error> {
            self.0.push(Step::Item(list, *item));
            Ok(crate::extract::Flow::Continue)
        }
    }

    fn walk(fp: &Fingerprinter, body: &[u8], replay: Option<&Recorded>) -> (Option<Root>, Calls) {
        let mut stack = crate::scan::BitStack::default();
        let arena = Bump::new();
        let mut w = Walker {
            body,
            rules: fp.rules(),
            full: true,
            replay,
            reject_duplicates: false,
            formats: fp.config().profile == crate::Profile::Native,
            signals: crate::extract::SignalMembers::of(fp.config()),
            stack: &mut stack,
            arena: &arena,
            deferred: None,
        };
        let mut calls = Calls::default();
        let root = w.root(&mut calls).expect("a reduced body walks");
        (root, calls)
    }

    /// Streams `body` in 7-byte chunks; when it keys, compares the record with a walk of the
    /// reduced body. Returns whether it was compared.
    fn check(fp: &mut Fingerprinter, name: &str, body: &[u8]) -> bool {
        let mut s = fp.content_stream();
        for c in body.chunks(7) {
            if s.push(c).is_err() {
                return false;
            }
        }
        if s.finish().is_err() || !fp.stream.collector.root_is_object() {
            return false;
        }
        let reduced = fp.stream.collector.reduced.clone();
        let (walked, calls) = walk(fp, &reduced, None);
        let record = &fp.stream.collector.walk;
        let (played, played_calls) = walk(fp, &reduced, Some(record));
        let text = String::from_utf8_lossy(&reduced);
        assert_eq!(walked, played, "{name}: root spans, reduced body {text}");
        assert_eq!(
            calls.0, played_calls.0,
            "{name}: items, reduced body {text}"
        );
        assert_eq!(calls.0, record.steps, "{name}");
        true
    }

    fn configs() -> Vec<Config> {
        let mut v = vec![];
        for base in [Config::sub2api(), Config::native()] {
            for validation in [Validation::Full, Validation::Extracted] {
                let c = base.clone().with_validation(validation);
                v.push(c.clone().with_signals(Signals::extended()));
                v.push(c.with_leading_system_only(true));
            }
        }
        v
    }

    const EDGE: &[&str] = &[
        r#"{"model":"m","input":"hello","instructions":"be brief"}"#,
        r#"{"messages":"text","input":[{"role":"user","content":"hi"}]}"#,
        r#"{"messages":null,"contents":[{"role":"model","parts":[]},{"parts":[{"text":"q"}]}]}"#,
        r#"{"input":[{"type":"input_text","text":"t"},{"role":"user","content":"u"}],"messages":[{"role":"user","content":"x"}]}"#,
        r#"{"messages":[{"role":"user","content":"x"}],"input":[1],"contents":[{"parts":1}]}"#,
        r#"{"messages":[{"role":"system","content":"s"},3,{"role":"assistant"},{"role":"system","content":"late"},{"role":"user","content":[{"type":"text","text":"q"}]}]}"#,
        r#"{"messages":[{"r\u006fle":"us\u0065r","c\u006fntent":"esc"}],"tools":[{"b":1,"a":2}],"functions":[]}"#,
        r#"{"messages":[{"role":" user ","content":"anchor"},{"role":"developer","content":"d"}]}"#,
        r#"{"system":[{"type":"text","text":"s"}],"messages":[{"role":"user","content":"a"}],"metadata":{"user_id":"u_session_x"},"previous_response_id":"r1"}"#,
        r#"{"systemInstruction":{"parts":[{"text":"s"}]},"system_instruction":{},"contents":[{"role":"user","parts":[{"text":"q"}]}]}"#,
        r#"{"model":"a","model":"b","messages":[],"messages":[{"role":"user","content":"dup"}]}"#,
    ];

    #[test]
    fn recorded_walk_is_the_reduced_body_walk() {
        let mut bodies: Vec<(String, Vec<u8>)> = EDGE
            .iter()
            .enumerate()
            .map(|(i, b)| (format!("edge {i}"), b.as_bytes().to_vec()))
            .collect();
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/requests");
        for e in std::fs::read_dir(dir).expect("examples/requests") {
            let p = e.expect("an entry").path();
            if p.extension().is_some_and(|x| x == "json") {
                bodies.push((
                    p.display().to_string(),
                    std::fs::read(&p).expect("readable"),
                ));
            }
        }
        let corpus = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/corpus/public/bodies"
        );
        match std::fs::read_dir(corpus) {
            Ok(dir) => {
                for e in dir.flatten() {
                    let p = e.path();
                    if p.extension().is_some_and(|x| x == "json") {
                        let body = std::fs::read(&p).expect("readable");
                        bodies.push((p.display().to_string(), body));
                    }
                }
            }
            Err(_) => eprintln!("skipping the corpus: {corpus} is absent"),
        }
        for config in configs() {
            let mut fp = Fingerprinter::new(config);
            let compared = bodies
                .iter()
                .filter(|(name, body)| check(&mut fp, name, body))
                .count();
            assert!(compared >= EDGE.len(), "only {compared} bodies keyed");
        }
    }
}
