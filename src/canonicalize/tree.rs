//! A fragment's values in the per-request arena: slices of the body, no copies.
//!
//! Only extracted fragments (tools, a system prompt, a first user message) are built, never
//! the whole body. The builder is iterative (an explicit stack in the arena), so nesting
//! depth costs arena bytes, not call-stack frames.

use crate::scan::{self, simd::Kernels};
use bumpalo::collections::Vec as BVec;
use bumpalo::Bump;

/// A string as written: the bytes between the quotes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Str<'a> {
    pub raw: &'a [u8],
    pub escaped: bool,
}

impl<'a> Str<'a> {
    /// The decoded text (`encoding/json`'s rule for invalid surrogates, which the native
    /// scanner refuses anyway), borrowed from the body when there is no escape.
    pub(crate) fn decoded(self, arena: &'a Bump) -> &'a str {
        if !self.escaped {
            // The scanner validated UTF-8.
            return std::str::from_utf8(self.raw).unwrap_or_default();
        }
        let mut d = bumpalo::collections::String::with_capacity_in(self.raw.len(), arena);
        super::text::unescape_into(self.raw, super::text::SurrogateRule::EncodingJson, &mut d);
        d.into_bump_str()
    }
}

/// One JSON value of a fragment.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Val<'a> {
    Null,
    Bool(bool),
    /// The lexeme, exactly as written.
    Num(&'a [u8]),
    Str(Str<'a>),
    Arr(&'a [Val<'a>]),
    Obj(&'a [Member<'a>]),
}

/// An object member, in document order.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Member<'a> {
    pub name: Str<'a>,
    pub val: Val<'a>,
}

enum Frame<'a> {
    Arr(BVec<'a, Val<'a>>),
    Obj(BVec<'a, Member<'a>>, Str<'a>),
}

/// The string token at the quote `i` of valid JSON: its inside, and the index past it.
fn string_at<'a>(b: &'a [u8], i: usize, k: &Kernels) -> (Str<'a>, usize) {
    let mut j = i + 1;
    let mut escaped = false;
    loop {
        j = (k.string_special)(b, j);
        match b.get(j) {
            Some(b'\\') => {
                escaped = true;
                j += 2;
            }
            Some(b'"') | None => break,
            Some(_) => j += 1,
        }
    }
    let end = j.min(b.len());
    (
        Str {
            raw: &b[i + 1..end],
            escaped,
        },
        end + 1,
    )
}

/// Builds the tree of the valid JSON value `b[start..]`. Returns it and its nesting depth.
pub(crate) fn build<'a>(
    b: &'a [u8],
    start: usize,
    arena: &'a Bump,
    k: &Kernels,
) -> (Val<'a>, usize) {
    let mut stack: BVec<'a, Frame<'a>> = BVec::new_in(arena);
    let mut max_depth = 0;
    let mut i = start;
    'value: loop {
        i = scan::skip_ws(b, i);
        let mut v = match b[i] {
            b'{' => {
                let j = scan::skip_ws(b, i + 1);
                if b[j] == b'}' {
                    i = j + 1;
                    max_depth = max_depth.max(stack.len() + 1);
                    Val::Obj(&[])
                } else {
                    let (name, after) = string_at(b, j, k);
                    i = scan::skip_ws(b, after) + 1; // past ':'
                    stack.push(Frame::Obj(BVec::new_in(arena), name));
                    max_depth = max_depth.max(stack.len());
                    continue 'value;
                }
            }
            b'[' => {
                let j = scan::skip_ws(b, i + 1);
                if b[j] == b']' {
                    i = j + 1;
                    max_depth = max_depth.max(stack.len() + 1);
                    Val::Arr(&[])
                } else {
                    i = j;
                    stack.push(Frame::Arr(BVec::new_in(arena)));
                    max_depth = max_depth.max(stack.len());
                    continue 'value;
                }
            }
            b'"' => {
                let (s, end) = string_at(b, i, k);
                i = end;
                Val::Str(s)
            }
            b't' => {
                i += 4;
                Val::Bool(true)
            }
            b'f' => {
                i += 5;
                Val::Bool(false)
            }
            b'n' => {
                i += 4;
                Val::Null
            }
            _ => {
                let end = scan::scan_number(b, i).unwrap_or(b.len());
                let lexeme = &b[i..end];
                i = end;
                Val::Num(lexeme)
            }
        };
        // Attach the finished value to its parent, closing containers as they end.
        loop {
            let Some(top) = stack.last_mut() else {
                return (v, max_depth);
            };
            i = scan::skip_ws(b, i);
            let more = b[i] == b',';
            match top {
                Frame::Arr(items) => {
                    items.push(v);
                    if more {
                        i += 1;
                        continue 'value;
                    }
                }
                Frame::Obj(members, name) => {
                    members.push(Member {
                        name: *name,
                        val: v,
                    });
                    if more {
                        let j = scan::skip_ws(b, i + 1);
                        let (next, after) = string_at(b, j, k);
                        *name = next;
                        i = scan::skip_ws(b, after) + 1; // past ':'
                        continue 'value;
                    }
                }
            }
            i += 1; // the closing bracket
            v = match stack.pop() {
                Some(Frame::Arr(items)) => Val::Arr(items.into_bump_slice()),
                Some(Frame::Obj(members, _)) => Val::Obj(members.into_bump_slice()),
                None => Val::Null, // not reached: `top` above was on the stack
            };
        }
    }
}
