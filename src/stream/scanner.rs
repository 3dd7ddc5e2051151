//! The resumable scanner: the block validator of [`crate::scan::block`], turned inside out so
//! that it can stop at the end of any chunk and go on with the next one.
//!
//! The one-shot validator checks one value and may look ahead as far as it likes. This one
//! runs over the whole body, one 64-byte block at a time, and keeps everything it needs
//! between blocks in [`Scanner`]: the grammar state, the nesting bit stack, whether the block
//! starts inside a string or right after a backslash, and where a scalar token runs on. Two
//! rules make that enough:
//!
//! * a block is only processed when [`LOOKAHEAD`] more bytes follow it in the same slice (or
//!   the body has ended), so a `\uXXXX\uXXXX` pair or a literal starting in the block is
//!   always readable in one piece;
//! * a number that runs past the block must end inside the slice; if it does not, the block
//!   is left untouched and waits for more bytes (so a number longer than a chunk is held
//!   whole: the only case where the carry outgrows a block).
//!
//! Events at nesting depth 3 or less (the root object, the message list, its items) go to
//! the [`Collector`], which decides what to keep. For each value it says how to scan it
//! ([`Mode`]): validated with its events reported, validated in silence (nothing inside it
//! interests the collector: a history item the profile no longer reads, the inside of a
//! fragment being copied), or skipped loosely (Extracted validation: brackets counted,
//! strings found, nothing else checked), exactly as the one-shot walker skips it.
//!
//! A loose skip runs on the one-shot walker's bracket-matching kernel, in its resumable form
//! (`Kernels::skip_resume`): whole blocks at its speed, its state kept across chunks. After a
//! skipped item, the next `,` and item of the same list are read right there, without a
//! block scan, so a run of skipped history costs what it costs the one-shot walker.

use super::collect::Collector;
use crate::error::{Error, ErrorKind};
use crate::scan::block::{block_at, Classes, Masks, State};
use crate::scan::simd::SkipState;
use crate::scan::{read_hex4, scan_literal, scan_number, skip_ws, BitStack, Rules};

/// Bytes a block needs after it before it can be processed (a surrogate pair read from the
/// block's last byte needs 11).
pub(crate) const LOOKAHEAD: usize = 16;

/// The deepest level whose events the collector sees.
const SHALLOW: usize = 3;

/// How the collector wants a value read.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Mode {
    /// Validated (RFC 8259 plus the profile's rules), the events inside reported.
    Strict,
    /// Validated, but nothing inside is reported (only the value's end).
    Opaque,
    /// Skipped as the one-shot walker skips under Extracted validation: a container to its
    /// matching bracket (any bracket kind counts), a string to its closing quote.
    Loose,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Loose {
    Off,
    /// Inside a loosely skipped container, this many brackets deep.
    Container(u64),
    /// Inside a loosely skipped string.
    Str,
}

/// Everything the scan keeps between blocks.
#[derive(Debug)]
pub(crate) struct Scanner {
    state: State,
    pub(crate) stack: BitStack,
    in_string: bool,
    string_is_name: bool,
    bs_carry: bool,
    scalar_carry: bool,
    /// Absolute position of the `u` of a low surrogate already checked as part of a pair.
    paired_low: usize,
    /// The previous block held no quote, backslash or control byte.
    quiet: bool,
    loose: Loose,
    /// The deepest level whose events the collector hears: [`SHALLOW`], or less inside an
    /// [`Mode::Opaque`] container (its own level, so that its end is heard).
    report: usize,
}

impl Default for Scanner {
    fn default() -> Scanner {
        Scanner {
            state: State::Value,
            stack: BitStack::default(),
            in_string: false,
            string_is_name: false,
            bs_carry: false,
            scalar_carry: false,
            paired_low: usize::MAX,
            quiet: false,
            loose: Loose::Off,
            report: SHALLOW,
        }
    }
}

impl Scanner {
    pub(crate) fn reset(&mut self) {
        let stack = std::mem::take(&mut self.stack);
        *self = Scanner {
            stack,
            ..Scanner::default()
        };
        self.stack.clear();
    }

    /// The root value is complete (only white space may follow).
    pub(crate) fn complete(&self) -> bool {
        self.state == State::End
    }

    /// The scan goes on at a byte known to be outside any string and token, so nothing
    /// carries over from the block before.
    #[inline(always)]
    fn restart_outside(&mut self) {
        self.in_string = false;
        self.bs_carry = false;
        self.scalar_carry = false;
        self.quiet = false;
    }
}

/// The signature of a back end's instantiation of [`run_with`].
pub(crate) type RunFn =
    fn(&mut Scanner, &mut Collector, &[u8], usize, usize, bool, Rules) -> Result<usize, Error>;

/// A byte that continues a number or literal token (not white space, structural, quote or
/// backslash).
#[inline]
fn token_byte(x: u8) -> bool {
    !matches!(
        x,
        b' ' | b'\t' | b'\n' | b'\r' | b'{' | b'}' | b'[' | b']' | b':' | b',' | b'"' | b'\\'
    )
}

fn err<T>(kind: ErrorKind, at: usize) -> Result<T, Error> {
    Err(Error::new(kind, at))
}

/// An error of a helper that works on slice positions, moved to body positions.
fn shifted(e: Error, base: usize) -> Error {
    Error::new(e.kind(), e.offset() + base)
}

/// A byte the grammar does not allow: after the root value it is trailing data.
fn unexpected<T>(state: State, at: usize) -> Result<T, Error> {
    if state == State::End {
        err(ErrorKind::TrailingData, at)
    } else {
        err(ErrorKind::UnexpectedByte, at)
    }
}

/// A value ended at `end` (absolute): the grammar moves on and the collector hears of it.
#[inline]
fn value_done(
    sc: &mut Scanner,
    co: &mut Collector,
    end: usize,
    b: &[u8],
    base: usize,
) -> Result<(), Error> {
    let d = sc.stack.len();
    sc.state = if d == 0 { State::End } else { State::After };
    if d <= sc.report {
        // Inside an opaque container nothing ends at its level but the container itself.
        sc.report = SHALLOW;
        co.value_end(d, end, b, base)?;
    }
    Ok(())
}

/// What became of a container opened at `p`.
enum Opened {
    /// Pushed on the stack: scanned strictly (its events reported or not).
    Pushed,
    /// Skipped loosely and already over: the scan goes on at this slice position.
    Jumped(usize),
    /// Skipped loosely, not over: the skip kernel stopped at this slice position (the
    /// scanner's loose state says where it stands).
    Skipping(usize),
    /// Skipped loosely, bracket by bracket from the byte after it (too few bytes follow it
    /// for the skip kernel).
    Loose,
}

/// The loose skip of a container stands at `state`: the scanner keeps that between blocks.
fn hold_skip(sc: &mut Scanner, state: SkipState) {
    sc.loose = Loose::Container(state.depth() as u64);
    sc.in_string = state.in_string();
    sc.bs_carry = state.escaped();
    // A token cannot run on from inside the container to after it (a bracket ends it).
    sc.scalar_carry = false;
    sc.quiet = false;
}

/// Starts the loose skip of the container at slice position `p` with the skip kernel.
fn start_skip(sc: &mut Scanner, b: &[u8], p: usize, rules: Rules) -> Opened {
    let mut state = SkipState::default();
    match (rules.kernels.skip_resume)(b, p, &mut state) {
        Ok(end) => Opened::Jumped(end),
        Err(next) if next > p => {
            hold_skip(sc, state);
            Opened::Skipping(next)
        }
        Err(_) => {
            sc.loose = Loose::Container(1);
            Opened::Loose
        }
    }
}

/// A `{` or `[` at slice position `p` where a value may start.
#[inline(always)]
fn open_container(
    sc: &mut Scanner,
    co: &mut Collector,
    b: &[u8],
    base: usize,
    p: usize,
    rules: Rules,
) -> Result<Opened, Error> {
    let x = b[p];
    let d = sc.stack.len();
    if d <= sc.report {
        match co.value_start(d, base + p, x) {
            Mode::Strict => {}
            // Checking such a container with the one-shot validator when it ends inside the
            // slice was tried: slower overall, since a large one (tools) that runs past the
            // slice is then scanned twice.
            Mode::Opaque => sc.report = d,
            Mode::Loose => {
                // Skipped containers are jumped by the bracket-matching kernel the one-shot
                // walker uses (whose rules loose mode restates), in its resumable form: it
                // stops at the end of the slice and goes on with the next one.
                let opened = start_skip(sc, b, p, rules);
                if let Opened::Jumped(end) = opened {
                    value_done(sc, co, base + end, b, base)?;
                }
                return Ok(opened);
            }
        }
    }
    if d + 1 > rules.max_depth {
        return err(ErrorKind::TooDeep, base + p);
    }
    sc.stack.push(x == b'{');
    sc.state = if x == b'{' {
        State::NameOrClose
    } else {
        State::ValueOrClose
    };
    Ok(Opened::Pushed)
}

/// A container was jumped up to `at`: while a `,` and another container follow in the slice
/// (the next item of a run of skipped history), open that one here too, without a block
/// scan. Returns where the block scan goes on.
#[inline(always)]
fn jump_run(
    sc: &mut Scanner,
    co: &mut Collector,
    b: &[u8],
    base: usize,
    mut at: usize,
    rules: Rules,
) -> Result<usize, Error> {
    sc.restart_outside();
    // The rest of the message list, when the collector would only say "loose" to each item
    // (and hear nothing of it): skipped without asking.
    let unread = sc.stack.len() == 2 && co.items_skipped();
    // Exactly the strict grammar's steps for `,` and `{`/`[` in a list (state `After`).
    while sc.state == State::After && sc.stack.top() == Some(false) {
        let comma = skip_ws(b, at);
        if b.get(comma) != Some(&b',') {
            break;
        }
        let next = skip_ws(b, comma + 1);
        if !matches!(b.get(next), Some(b'{' | b'[')) {
            break;
        }
        sc.state = State::Value;
        let opened = if unread {
            start_skip(sc, b, next, rules)
        } else {
            open_container(sc, co, b, base, next, rules)?
        };
        match opened {
            Opened::Jumped(end) => {
                // What `value_done` does for an item, the collector's part being nothing.
                sc.state = State::After;
                at = end;
            }
            Opened::Skipping(stop) => return Ok(stop),
            Opened::Pushed | Opened::Loose => return Ok(next + 1),
        }
    }
    Ok(at)
}

/// Scans `b` (the body's bytes from absolute offset `base`) from `pos` on, block by block,
/// and returns the position of the first block it could not process yet: the caller keeps
/// the bytes from there and calls again with more. With `eof`, `b` ends the body and
/// everything is processed (the last partial block padded with spaces).
// One call per chunk: these arguments are the scanner's whole interface.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn run_with<C: Fn(&[u8; 64]) -> Classes>(
    classify: C,
    sc: &mut Scanner,
    co: &mut Collector,
    b: &[u8],
    base: usize,
    mut pos: usize,
    eof: bool,
    rules: Rules,
) -> Result<usize, Error> {
    let len = b.len();
    // Spaces are inert: the last, partial block is padded with them.
    let mut pad = [b' '; 64];
    'blocks: while pos < len {
        if let Loose::Container(depth) = sc.loose {
            // A loose skip goes on with the kernel, whole blocks at a time; a tail of fewer
            // than 64 bytes waits for more bytes, or at the end goes bracket by bracket below.
            let mut state = SkipState::within(depth as usize, sc.in_string, sc.bs_carry);
            match (rules.kernels.skip_resume)(b, pos, &mut state) {
                Ok(end) => {
                    sc.loose = Loose::Off;
                    value_done(sc, co, base + end, b, base)?;
                    pos = jump_run(sc, co, b, base, end, rules)?;
                    continue 'blocks;
                }
                Err(next) => {
                    hold_skip(sc, state);
                    pos = next;
                    if pos >= len {
                        break;
                    }
                }
            }
        }
        if !eof && pos + 64 + LOOKAHEAD > len {
            break;
        }
        if sc.in_string && sc.quiet && !sc.bs_carry {
            // Inside a long string nothing happens until the next quote, backslash or
            // control byte: jump there, whole blocks at a time.
            let next = (rules.kernels.string_special)(b, pos);
            if next >= pos + 64 {
                pos += (next - pos) / 64 * 64;
                continue;
            }
        }
        let c = classify(block_at(b, pos, &mut pad));
        let mk = Masks::of(&c, sc.in_string, sc.bs_carry);
        let Masks {
            quotes,
            inside,
            interior,
            outside,
            other,
            ..
        } = mk;
        if other >> 63 == 1 && !eof {
            // A token runs on past the block: it must end (and the byte after it be
            // readable) inside this slice, or the block waits for more bytes, untouched.
            let mut j = pos + 64;
            while j < len && token_byte(b[j]) {
                j += 1;
            }
            if j >= len {
                break;
            }
        }
        let scalar_starts = mk.scalar_starts(sc.scalar_carry);
        sc.bs_carry = mk.bs_carry_out;
        sc.in_string = inside >> 63 == 1;
        sc.scalar_carry = other >> 63 == 1;
        sc.quiet = (c.quote | c.backslash | c.control) == 0;
        let mut events = mk.strict_events(&c, scalar_starts);
        // Kept in a register: the loose state changes rarely within a block.
        let mut loose = sc.loose != Loose::Off;
        while events != 0 {
            let bit = events.trailing_zeros();
            events &= events - 1;
            let p = pos + bit as usize;
            if p >= len {
                break;
            }
            let m = 1u64 << bit;
            let x = b[p];
            if loose {
                match sc.loose {
                    Loose::Off => {}
                    Loose::Str => {
                        if quotes & m != 0 {
                            sc.loose = Loose::Off;
                            loose = false;
                            value_done(sc, co, base + p + 1, b, base)?;
                        }
                        continue;
                    }
                    Loose::Container(n) => {
                        if c.structural & outside & m != 0 {
                            match x {
                                b'{' | b'[' => sc.loose = Loose::Container(n + 1),
                                b'}' | b']' if n == 1 => {
                                    sc.loose = Loose::Off;
                                    loose = false;
                                    value_done(sc, co, base + p + 1, b, base)?;
                                }
                                b'}' | b']' => sc.loose = Loose::Container(n - 1),
                                _ => {}
                            }
                        } else if c.backslash & outside & m != 0 {
                            // Outside a string a backslash escapes nothing, but the masks took
                            // it for an escape: start again right after it, state known.
                            sc.restart_outside();
                            pos = p + 1;
                            continue 'blocks;
                        }
                        continue;
                    }
                }
            }
            if quotes & m != 0 {
                let d = sc.stack.len();
                if inside & m != 0 {
                    // An opening quote.
                    match sc.state {
                        State::Value | State::ValueOrClose => {
                            sc.string_is_name = false;
                            if d <= sc.report && co.value_start(d, base + p, x) == Mode::Loose {
                                sc.loose = Loose::Str;
                                loose = true;
                            }
                        }
                        State::Name | State::NameOrClose => {
                            sc.string_is_name = true;
                            if d <= sc.report {
                                co.name_start(d, base + p);
                            }
                        }
                        s => return unexpected(s, base + p),
                    }
                    continue;
                }
                // A closing quote.
                if sc.string_is_name {
                    sc.state = State::Colon;
                    if d <= sc.report {
                        co.name_end(d, base + p + 1, b, base)?;
                    }
                    continue;
                }
                value_done(sc, co, base + p + 1, b, base)?;
            } else if interior & m != 0 {
                if c.control & m != 0 {
                    return err(ErrorKind::ControlCharacter, base + p);
                }
                if c.u & m == 0 {
                    return err(ErrorKind::InvalidEscape, base + p);
                }
                let cp = read_hex4(b, p + 1).map_err(|e| shifted(e, base))?;
                if rules.reject_lone_surrogates && (0xD800..0xE000).contains(&cp) {
                    if cp >= 0xDC00 {
                        if sc.paired_low != base + p {
                            return err(ErrorKind::LoneSurrogate, base + p - 1);
                        }
                    } else {
                        let paired = b.get(p + 5) == Some(&b'\\')
                            && b.get(p + 6) == Some(&b'u')
                            && matches!(read_hex4(b, p + 7), Ok(lo) if (0xDC00..0xE000).contains(&lo));
                        if !paired {
                            return err(ErrorKind::LoneSurrogate, base + p - 1);
                        }
                        sc.paired_low = base + p + 6;
                    }
                }
            } else if c.backslash & m != 0 {
                return unexpected(sc.state, base + p);
            } else if c.structural & m != 0 {
                match (x, sc.state) {
                    (b'{' | b'[', State::Value | State::ValueOrClose) => {
                        match open_container(sc, co, b, base, p, rules)? {
                            Opened::Pushed => {}
                            Opened::Loose => loose = true,
                            Opened::Skipping(stop) => {
                                pos = stop;
                                continue 'blocks;
                            }
                            Opened::Jumped(end) => {
                                // Start again after the jumped container (and the items
                                // jumped after it), where the state is known.
                                pos = jump_run(sc, co, b, base, end, rules)?;
                                continue 'blocks;
                            }
                        }
                    }
                    (b'}', State::NameOrClose | State::After) if sc.stack.top() == Some(true) => {
                        sc.stack.pop();
                        value_done(sc, co, base + p + 1, b, base)?;
                    }
                    (b']', State::ValueOrClose | State::After) if sc.stack.top() == Some(false) => {
                        sc.stack.pop();
                        value_done(sc, co, base + p + 1, b, base)?;
                    }
                    (b':', State::Colon) => sc.state = State::Value,
                    (b',', State::After) => {
                        sc.state = if sc.stack.top() == Some(true) {
                            State::Name
                        } else {
                            State::Value
                        };
                    }
                    (_, s) => return unexpected(s, base + p),
                }
            } else {
                // The first byte of a number or literal outside strings.
                if !matches!(sc.state, State::Value | State::ValueOrClose) {
                    return unexpected(sc.state, base + p);
                }
                let number = matches!(x, b'-' | b'0'..=b'9');
                let end = match x {
                    b'-' | b'0'..=b'9' => scan_number(b, p),
                    b't' => scan_literal(b, p, b"true"),
                    b'f' => scan_literal(b, p, b"false"),
                    b'n' => scan_literal(b, p, b"null"),
                    _ => return err(ErrorKind::UnexpectedByte, base + p),
                }
                .map_err(|e| shifted(e, base))?;
                let d = sc.stack.len();
                // The token must fill its run of non-delimiter bytes (the rest of a run
                // raises no event of its own).
                if b.get(end).is_some_and(|&n| token_byte(n)) {
                    let kind = if d == 0 {
                        ErrorKind::TrailingData
                    } else if number {
                        ErrorKind::InvalidNumber
                    } else {
                        ErrorKind::UnexpectedByte
                    };
                    return err(kind, base + end);
                }
                if d <= sc.report {
                    co.value_start(d, base + p, x);
                }
                value_done(sc, co, base + end, b, base)?;
            }
        }
        pos += 64;
    }
    Ok(pos.min(len))
}
