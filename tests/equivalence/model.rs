//! A small JSON value model and a renderer that writes one model in many legal spellings.
//!
//! The model holds *values* (decoded strings, exact decimal numbers); the renderer picks the
//! *spelling* (white space, member order, escapes, number forms) from a seeded generator, so
//! two seeds give two texts of the same value, and one seed always gives the same text.
//! Duplicate member names can be injected at render time (then the value is no longer the
//! model's: see [`Renderer::dups`]).

use std::fmt::Write as _;

/// One character of a decoded JSON string: a Unicode scalar value, or a lone surrogate
/// (legal RFC 8259 escape syntax, not Unicode text).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SChar {
    C(char),
    Lone(u16),
}

/// A decoded JSON string.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Text(pub Vec<SChar>);

impl Text {
    pub fn new(s: &str) -> Text {
        Text(s.chars().map(SChar::C).collect())
    }

    /// The same text with every lone surrogate replaced by an ASCII letter.
    pub fn without_lone(&self) -> Text {
        Text(
            self.0
                .iter()
                .map(|c| match c {
                    SChar::Lone(u) => SChar::C(char::from(b'A' + (*u % 26) as u8)),
                    c => c.clone(),
                })
                .collect(),
        )
    }

    pub fn push_str(&mut self, s: &str) {
        self.0.extend(s.chars().map(SChar::C));
    }

    pub fn is(&self, s: &str) -> bool {
        self.0.iter().cloned().eq(s.chars().map(SChar::C))
    }
}

/// An exact decimal number: `(-1)^neg × digits × 10^exp`. `digits` has no leading zero
/// (or is `"0"`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Num {
    pub neg: bool,
    pub digits: String,
    pub exp: i32,
}

impl Num {
    pub fn new(neg: bool, digits: &str, exp: i32) -> Num {
        let t = digits.trim_start_matches('0');
        Num {
            neg,
            digits: if t.is_empty() { "0".into() } else { t.into() },
            exp,
        }
    }

    pub fn int(i: i64) -> Num {
        Num::new(i < 0, &i.unsigned_abs().to_string(), 0)
    }
}

/// A JSON value.
#[derive(Clone, Debug, PartialEq)]
pub enum J {
    Null,
    Bool(bool),
    Num(Num),
    /// A number written exactly like this (lexemes the model cannot vary, e.g. a
    /// 25-digit exponent).
    NumLex(String),
    Str(Text),
    Arr(Vec<J>),
    Obj(Vec<(Text, J)>),
    /// A value rendered by its own renderer seeded with the `u64`: the same bytes wherever
    /// it appears (to make one raw fragment appear in several places of a body).
    Shared(Box<J>, u64),
    /// Text spliced in verbatim (must be one valid JSON value).
    Raw(String),
}

impl J {
    pub fn s(s: &str) -> J {
        J::Str(Text::new(s))
    }

    pub fn obj(members: Vec<(&str, J)>) -> J {
        J::Obj(
            members
                .into_iter()
                .map(|(k, v)| (Text::new(k), v))
                .collect(),
        )
    }

    pub fn int(i: i64) -> J {
        J::Num(Num::int(i))
    }

    /// The member named `name`, if the value is an object.
    pub fn get(&self, name: &str) -> Option<&J> {
        match self {
            J::Obj(m) => m.iter().find(|(k, _)| k.is(name)).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The same, mutable.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut J> {
        match self {
            J::Obj(m) => m.iter_mut().find(|(k, _)| k.is(name)).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Sets (or adds) a member of an object.
    pub fn set(&mut self, name: &str, v: J) {
        if let J::Obj(m) = self {
            match m.iter_mut().find(|(k, _)| k.is(name)) {
                Some((_, slot)) => *slot = v,
                None => m.push((Text::new(name), v)),
            }
        }
    }

    /// The same value without lone surrogates, duplicate member names (the first one is
    /// kept), shared fragments (inlined) or lexeme-only numbers (replaced by `0`): a value
    /// whose every spelling means the same to the native profile.
    pub fn sanitized(&self) -> J {
        match self {
            J::Str(t) => J::Str(t.without_lone()),
            J::Arr(v) => J::Arr(v.iter().map(J::sanitized).collect()),
            J::Obj(m) => {
                let mut out: Vec<(Text, J)> = Vec::new();
                for (k, v) in m {
                    let k = k.without_lone();
                    if !out.iter().any(|(n, _)| *n == k) {
                        out.push((k, v.sanitized()));
                    }
                }
                J::Obj(out)
            }
            J::Shared(v, _) => v.sanitized(),
            J::NumLex(_) => J::int(0),
            x => x.clone(),
        }
    }

    /// The same value with every lone surrogate (in strings and names) replaced.
    pub fn without_lone(&self) -> J {
        match self {
            J::Str(t) => J::Str(t.without_lone()),
            J::Arr(items) => J::Arr(items.iter().map(J::without_lone).collect()),
            J::Obj(m) => J::Obj(
                m.iter()
                    .map(|(k, v)| (k.without_lone(), v.without_lone()))
                    .collect(),
            ),
            J::Shared(v, s) => J::Shared(Box::new(v.without_lone()), *s),
            x => x.clone(),
        }
    }
}

/// SplitMix64: a tiny deterministic generator for spelling choices.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5eed_5eed_5eed_5eed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with probability `pct` percent.
    pub fn pct(&mut self, pct: u8) -> bool {
        self.below(100) < pct as usize
    }

    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

/// How adventurous a rendering is.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    /// Percent chance of white space at each place the grammar allows it.
    pub ws: u8,
    /// Percent chance of writing a character that needs no escape as `\uXXXX`.
    pub esc: u8,
    /// Shuffle object members.
    pub shuffle: bool,
    /// Vary number spellings (`1`, `1.0`, `10E-1`, ...).
    pub numbers: bool,
    /// Percent chance, per object, of adding a member whose name repeats another's.
    pub dup: u8,
}

impl Style {
    /// Value-preserving spellings only.
    pub fn spelling(ws: u8, esc: u8) -> Style {
        Style {
            ws,
            esc,
            shuffle: true,
            numbers: true,
            dup: 0,
        }
    }
}

/// Writes values as JSON text.
pub struct Renderer {
    rng: Rng,
    style: Style,
    /// Duplicate members injected so far.
    pub dups: usize,
}

const WS: [char; 4] = [' ', '\t', '\r', '\n'];

impl Renderer {
    pub fn new(seed: u64, style: Style) -> Renderer {
        Renderer {
            rng: Rng::new(seed),
            style,
            dups: 0,
        }
    }

    /// A whole body: the value with optional surrounding white space.
    pub fn body(&mut self, v: &J) -> String {
        let mut out = String::new();
        self.ws(&mut out);
        self.value(v, &mut out);
        self.ws(&mut out);
        out
    }

    fn ws(&mut self, out: &mut String) {
        if self.style.ws > 0 && self.rng.pct(self.style.ws) {
            // Now and then a run long enough to cross a 64-byte block.
            let n = if self.rng.pct(2) {
                20 + self.rng.below(150)
            } else {
                1 + self.rng.below(3)
            };
            for _ in 0..n {
                out.push(*self.rng.pick(&WS));
            }
        }
    }

    pub fn value(&mut self, v: &J, out: &mut String) {
        match v {
            J::Null => out.push_str("null"),
            J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            J::Num(n) => self.number(n, out),
            J::NumLex(s) => out.push_str(s),
            J::Str(t) => self.string(t, out),
            J::Arr(items) => {
                out.push('[');
                self.ws(out);
                for (i, x) in items.iter().enumerate() {
                    if i > 0 {
                        self.ws(out);
                        out.push(',');
                        self.ws(out);
                    }
                    self.value(x, out);
                }
                self.ws(out);
                out.push(']');
            }
            J::Obj(members) => {
                let mut order: Vec<usize> = (0..members.len()).collect();
                if self.style.shuffle {
                    for i in (1..order.len()).rev() {
                        let j = self.rng.below(i + 1);
                        order.swap(i, j);
                    }
                }
                // A duplicate: another member with the name of an existing one, before or
                // after it, holding the same value or another one.
                let mut extra: Vec<(Text, J)> = Vec::new();
                if !members.is_empty() && self.style.dup > 0 && self.rng.pct(self.style.dup) {
                    let (k, v) = &members[self.rng.below(members.len())];
                    let other = match self.rng.below(4) {
                        0 => v.clone(),
                        1 => J::Null,
                        2 => J::s("dup"),
                        _ => J::Arr(vec![J::int(1)]),
                    };
                    extra.push((k.clone(), other));
                    let at = self.rng.below(order.len() + 1);
                    order.insert(at, usize::MAX);
                    self.dups += 1;
                }
                out.push('{');
                self.ws(out);
                for (n, &i) in order.iter().enumerate() {
                    if n > 0 {
                        self.ws(out);
                        out.push(',');
                        self.ws(out);
                    }
                    let (k, v) = if i == usize::MAX {
                        &extra[0]
                    } else {
                        &members[i]
                    };
                    self.string(k, out);
                    self.ws(out);
                    out.push(':');
                    self.ws(out);
                    self.value(v, out);
                }
                self.ws(out);
                out.push('}');
            }
            J::Shared(v, seed) => {
                let mut r = Renderer::new(*seed, self.style);
                r.value(v, out);
                self.dups += r.dups;
            }
            J::Raw(s) => out.push_str(s),
        }
    }

    fn hex4(&mut self, u: u32, out: &mut String) {
        out.push_str("\\u");
        for shift in [12, 8, 4, 0] {
            let d = (u >> shift) & 15;
            let c = char::from_digit(d, 16).unwrap();
            out.push(if self.rng.pct(50) {
                c.to_ascii_uppercase()
            } else {
                c
            });
        }
    }

    pub fn string(&mut self, t: &Text, out: &mut String) {
        out.push('"');
        for c in &t.0 {
            match *c {
                SChar::Lone(u) => self.hex4(u as u32, out),
                SChar::C(c) => self.char_in_string(c, out),
            }
        }
        out.push('"');
    }

    fn char_in_string(&mut self, c: char, out: &mut String) {
        let u = c as u32;
        let escape = self.style.esc > 0 && self.rng.pct(self.style.esc);
        let short = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '/' => Some("\\/"),
            '\u{8}' => Some("\\b"),
            '\u{c}' => Some("\\f"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            _ => None,
        };
        let must = c == '"' || c == '\\' || u < 0x20;
        if !must && !escape {
            out.push(c);
            return;
        }
        if let Some(s) = short {
            if !escape || self.rng.pct(50) {
                out.push_str(s);
                return;
            }
        }
        if u >= 0x10000 {
            let v = u - 0x10000;
            self.hex4(0xD800 + (v >> 10), out);
            self.hex4(0xDC00 + (v & 0x3FF), out);
        } else {
            self.hex4(u, out);
        }
    }

    /// One of the spellings of an exact decimal.
    pub fn number(&mut self, n: &Num, out: &mut String) {
        if n.neg {
            out.push('-');
        }
        let d = n.digits.as_str();
        let len = d.len() as i64;
        let exp = n.exp as i64;
        let form = if self.style.numbers {
            self.rng.below(5)
        } else {
            0
        };
        match form {
            // Plain, when it fits; else the exponent form.
            0 if (0..=25).contains(&exp) => {
                out.push_str(d);
                if d != "0" {
                    for _ in 0..exp {
                        out.push('0');
                    }
                }
            }
            0 if exp < 0 && -exp < len => {
                let p = (len + exp) as usize;
                out.push_str(&d[..p]);
                out.push('.');
                out.push_str(&d[p..]);
            }
            0 if exp < 0 && -exp <= 30 => {
                out.push_str("0.");
                for _ in 0..(-exp - len) {
                    out.push('0');
                }
                out.push_str(d);
            }
            // A point after p digits (p >= 1), trailing zeros, and the exponent to match.
            2 => {
                let p = 1 + self.rng.below(d.len());
                let zeros = self.rng.below(3);
                out.push_str(&d[..p]);
                out.push('.');
                out.push_str(&d[p..]);
                if p == d.len() || zeros > 0 {
                    for _ in 0..zeros.max(1) {
                        out.push('0');
                    }
                }
                let e = exp + (len - p as i64);
                if e != 0 || self.rng.pct(50) {
                    self.exponent(e, out);
                }
            }
            // Extra trailing zeros on the integer, exponent lowered to match.
            3 if d != "0" => {
                let k = self.rng.below(4) as i64;
                out.push_str(d);
                for _ in 0..k {
                    out.push('0');
                }
                self.exponent(exp - k, out);
            }
            // "0.000ddd" with a matching exponent.
            4 => {
                let z = self.rng.below(3) as i64;
                out.push_str("0.");
                for _ in 0..z {
                    out.push('0');
                }
                out.push_str(d);
                self.exponent(exp + len + z, out);
            }
            _ => {
                out.push_str(d);
                self.exponent(exp, out);
            }
        }
    }

    fn exponent(&mut self, e: i64, out: &mut String) {
        out.push(if self.rng.pct(50) { 'e' } else { 'E' });
        if e < 0 {
            out.push('-');
        } else if self.rng.pct(50) {
            out.push('+');
        }
        for _ in 0..self.rng.below(3) {
            out.push('0');
        }
        let _ = write!(out, "{}", e.unsigned_abs());
    }
}

/// The text of a value with no white space, no escapes beyond the needed ones, members in
/// model order (for messages and descriptions).
pub fn plain(v: &J) -> String {
    let mut r = Renderer::new(
        0,
        Style {
            ws: 0,
            esc: 0,
            shuffle: false,
            numbers: false,
            dup: 0,
        },
    );
    let mut s = String::new();
    r.value(v, &mut s);
    s
}
