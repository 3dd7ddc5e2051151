//! Why a request got its key, and why two requests got different keys.
//!
//! [`explain`] lists the components of a body's content tier in key order: for the native
//! profile each component's name, its blake3 digest (the exact 32 bytes framed into the key)
//! and, on request, its canonical text; for the sub2api profile the pieces of the seed
//! (`model=…`, `|tools=…`, `|system=…`, …), each with its own xxh64 for display. The
//! explanation's [`key`](Explanation::key) is computed from those components, and equals
//! [`Fingerprinter::content_key`](crate::Fingerprinter::content_key) of the same body.
//!
//! [`compare`] says which components differ between two explanations and why, in words an
//! operator can act on: `tools: 3rd tool's description changed (lookup_part)`,
//! `system: a second system message appeared`, `model: gpt-4o → gpt-4.1`.
//!
//! Explain is built on the [reference implementation](crate::reference) (serde_json): it is
//! meant for debugging a cache miss, not for the hot path.
//!
//! ```
//! use stickykey::explain::{compare, explain_with, ExplainOptions};
//! use stickykey::Config;
//!
//! let config = Config::native();
//! let opts = ExplainOptions { canonical_text: true };
//! let a = br#"{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}]}"#;
//! let b = br#"{"model":"gpt-4.1","messages":[{"role":"user","content":"Hi"}]}"#;
//! let (a, b) = (explain_with(&config, a, opts)?, explain_with(&config, b, opts)?);
//! assert_eq!(a.components[0].name, "model");
//! assert_eq!(a.components[0].text.as_deref(), Some(r#""gpt-4o""#));
//! let diffs = compare(&a, &b);
//! assert_eq!(diffs[0].to_string(), "model: gpt-4o → gpt-4.1");
//! # Ok::<(), stickykey::Error>(())
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::value::RawValue;
use serde_json::Value;

use crate::config::{Config, Profile};
use crate::error::Error;
use crate::hash::{self, Tag};
use crate::key::{hex, Key};
use crate::reference;

/// What [`explain_with`] includes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExplainOptions {
    /// native: keep each component's canonical text in [`Component::text`] (default `false`:
    /// digests only). [`compare`] needs the texts to say *why* a component changed. The
    /// sub2api pieces are always kept: they are the seed itself.
    pub canonical_text: bool,
}

/// How a component's digest is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Form {
    /// native: blake3 of the canonical text.
    Value,
    /// native: a multiset (tools or functions as a set): blake3 of the sorted digests of its
    /// items, so their order does not count.
    Set,
    /// native: an ordered list (`Config::with_tools_as_set(false)`): blake3 of the canonical
    /// text of the whole array.
    List,
    /// sub2api: one piece of the seed text (the key hashes the whole seed, not the pieces).
    SeedPiece,
}

impl Form {
    /// `value`, `set`, `list` or `seed_piece`.
    pub fn as_str(self) -> &'static str {
        match self {
            Form::Value => "value",
            Form::Set => "set",
            Form::List => "list",
            Form::SeedPiece => "seed_piece",
        }
    }
}

/// One component of a content key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    /// `model`, `tools`, `functions`, `instructions`, `system`, `first_user`, `input`.
    /// Several sub2api pieces can share a name (one `system` piece per system message).
    pub name: String,
    /// native: the component's one-byte frame tag (docs/SPEC.md §4.1); sub2api: `None`.
    pub tag: Option<u8>,
    /// How [`digest`](Component::digest) is made.
    pub form: Form,
    /// Lower-case hex. native: the 32-byte blake3 digest framed into the key (64 digits);
    /// sub2api: xxh64 of the piece's text (16 digits), for display only.
    pub digest: String,
    /// native: the canonical text when [`ExplainOptions::canonical_text`] asked for it (for
    /// a set, its items as one JSON array in document order); sub2api: always the piece
    /// exactly as it is in the seed (`|tools=[…]`).
    pub text: Option<String>,
}

impl Component {
    /// The component's value: the native canonical text, or a sub2api piece without its
    /// `|name=` label (a JSON text for tools, functions and message contents; plain text for
    /// model, instructions, input and a Responses `input_text`). `None` when no text was kept.
    pub fn value(&self) -> Option<&str> {
        let text = self.text.as_deref()?;
        match self.form {
            Form::SeedPiece => text.split_once('=').map(|(_, v)| v),
            _ => Some(text),
        }
    }
}

/// The content tier of one body, component by component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// The profile whose rules made it.
    pub profile: Profile,
    /// The content key the components make; `None` when there is no content seed (no
    /// component, an empty body, a root that is not an object).
    pub key: Option<Key>,
    /// sub2api: the seed text (`compat_cs_` and every piece); native: `None`.
    pub seed: Option<String>,
    /// The components in key order (native: ascending tags; sub2api: seed order).
    pub components: Vec<Component>,
}

/// [`explain_with`] with default options (native: digests without canonical texts).
pub fn explain(config: &Config, body: &[u8]) -> Result<Explanation, Error> {
    explain_with(config, body, ExplainOptions::default())
}

/// The content tier of `body` under `config`, component by component. The body is refused
/// exactly when [`Fingerprinter::content_key`](crate::Fingerprinter::content_key) refuses
/// it (with `Validation::Full`).
pub fn explain_with(
    config: &Config,
    body: &[u8],
    options: ExplainOptions,
) -> Result<Explanation, Error> {
    match config.profile {
        Profile::Native => {
            let parts = reference::native_components(config, body)?.unwrap_or_default();
            let framed: Vec<(Tag, [u8; 32])> = parts.iter().map(|p| (p.tag, p.digest)).collect();
            let key =
                (!framed.is_empty()).then(|| hash::native_content_key(&framed, config.key_length));
            let components = parts
                .into_iter()
                .map(|p| {
                    let (name, form) = tag_name(p.tag);
                    Component {
                        name,
                        tag: Some(p.tag as u8),
                        form,
                        digest: hex(&p.digest),
                        text: options.canonical_text.then_some(p.canonical),
                    }
                })
                .collect();
            Ok(Explanation {
                profile: Profile::Native,
                key,
                seed: None,
                components,
            })
        }
        Profile::Sub2api => {
            let (pieces, seed) = reference::seed_pieces(config, body)?.unwrap_or_default();
            let key = seed
                .as_deref()
                .and_then(|s| hash::sub2api_key(s.as_bytes(), config.legacy_sha256));
            let components = pieces
                .into_iter()
                .map(|piece| Component {
                    name: piece
                        .split_once('=')
                        .map_or(piece.as_str(), |(n, _)| n)
                        .trim_start_matches('|')
                        .to_owned(),
                    tag: None,
                    form: Form::SeedPiece,
                    digest: format!("{:016x}", xxhash_rust::xxh64::xxh64(piece.as_bytes(), 0)),
                    text: Some(piece),
                })
                .collect();
            Ok(Explanation {
                profile: Profile::Sub2api,
                key,
                seed,
                components,
            })
        }
    }
}

/// A component's name and form from its tag's Rust name (`ToolsSet` is `tools`, a set;
/// `FirstUser` is `first_user`), so that tags added later get a name without a table here.
fn tag_name(tag: Tag) -> (String, Form) {
    let mut snake = String::new();
    for (i, c) in format!("{tag:?}").chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                snake.push('_');
            }
            snake.push(c.to_ascii_lowercase());
        } else {
            snake.push(c);
        }
    }
    if let Some(base) = snake.strip_suffix("_set") {
        (base.to_owned(), Form::Set)
    } else if let Some(base) = snake.strip_suffix("_list") {
        (base.to_owned(), Form::List)
    } else {
        (snake, Form::Value)
    }
}

fn profile_name(p: Profile) -> &'static str {
    match p {
        Profile::Native => "native",
        Profile::Sub2api => "sub2api",
    }
}

/// Cuts a text to `max` characters, marking the cut with `…`.
fn shorten(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", s[..at].trim_end()),
        None => s.to_owned(),
    }
}

impl fmt::Display for Explanation {
    /// One line for the key, then one line per component. `{:#}` prints every text in full
    /// (native canonical texts on their own indented lines); `{}` cuts sub2api pieces to 60
    /// characters and leaves native texts out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let profile = profile_name(self.profile);
        match (&self.key, &self.seed) {
            (Some(k), Some(seed)) => {
                let pieces: usize = self
                    .components
                    .iter()
                    .filter_map(|c| c.text.as_ref())
                    .map(String::len)
                    .sum();
                let prefix = seed.get(..seed.len().saturating_sub(pieces)).unwrap_or("");
                writeln!(
                    f,
                    "key {k} ({profile}; seed of {} bytes: {prefix} and {} pieces)",
                    seed.len(),
                    self.components.len()
                )?
            }
            (Some(k), None) => writeln!(
                f,
                "key {k} ({profile}; {} components)",
                self.components.len()
            )?,
            (None, _) => writeln!(f, "key none ({profile}; no content seed)")?,
        }
        let label = |c: &Component| match c.form {
            Form::Set => format!("{} (set)", c.name),
            Form::List => format!("{} (list)", c.name),
            _ => c.name.clone(),
        };
        let width = self
            .components
            .iter()
            .map(|c| label(c).chars().count())
            .max()
            .unwrap_or(0);
        for c in &self.components {
            match (c.form, c.tag) {
                (Form::SeedPiece, _) => {
                    let text = c.text.as_deref().unwrap_or("");
                    let shown = if f.alternate() {
                        text.to_owned()
                    } else {
                        shorten(text, 60)
                    };
                    writeln!(f, "  {:<width$} xxh64 {}  {shown}", c.name, c.digest)?;
                }
                (_, tag) => {
                    let tag = tag.map_or_else(|| "    ".to_owned(), |t| format!("0x{t:02x}"));
                    let label = label(c);
                    writeln!(f, "  {tag} {label:<width$} blake3 {}", c.digest)?;
                    if f.alternate() {
                        match &c.text {
                            Some(t) => writeln!(f, "       {t}")?,
                            None => writeln!(f, "       (canonical text not kept)")?,
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// One reason two explanations differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The component's name (`tools`, `system`, …), or `profile` / `key` / `seed` for a
    /// difference that is not one component's.
    pub component: String,
    /// What changed, in words: `3rd tool's description changed (lookup_part)`.
    pub reason: String,
    /// `false` for a change the profile ignores (native tools as a set: the order of the
    /// items changed); `true` for everything that changes the key.
    pub changes_key: bool,
}

impl fmt::Display for Difference {
    /// `component: reason`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.component, self.reason)
    }
}

/// The differences between two explanations, component by component in key order: which
/// components were added, removed or changed, and why. Identical explanations give none.
///
/// The reasons are precise when the components' texts were kept (native:
/// [`ExplainOptions::canonical_text`]; sub2api: always): tools are matched by name
/// (`tool 'x' added`, `3rd tool's description changed (x)`, `same set, different order`),
/// system messages by position (`a second system message appeared`, `text of the 1st system
/// message changed`), the model by value (`gpt-4o → gpt-4.1`). Without texts a changed native
/// component only says its digest changed.
pub fn compare(a: &Explanation, b: &Explanation) -> Vec<Difference> {
    let mut out = Vec::new();
    if a.profile != b.profile {
        out.push(diff(
            "profile",
            format!(
                "{} vs {}: keys of different profiles never match",
                profile_name(a.profile),
                profile_name(b.profile)
            ),
        ));
        return out;
    }
    for name in component_names(a, b) {
        let xa: Vec<(usize, &Component)> = named(a, &name);
        let xb: Vec<(usize, &Component)> = named(b, &name);
        // Equal digests of equal forms are the same component; only a set's text can still
        // differ then (its order), which needs both texts to be seen.
        let same = xa.len() == xb.len()
            && xa.iter().zip(&xb).all(|((_, p), (_, q))| {
                p.digest == q.digest
                    && p.form == q.form
                    && (p.text == q.text || p.text.is_none() || q.text.is_none())
            });
        if same {
            continue;
        }
        let mut reasons = Reasons::new(&name);
        if xa.is_empty() {
            reasons.changed(added_reason(&name, &xb));
        } else if xb.is_empty() {
            reasons.changed("removed".to_owned());
        } else {
            let (ca, cb) = (xa[0].1, xb[0].1);
            let values_a: Option<Vec<&str>> = xa.iter().map(|(_, c)| c.value()).collect();
            let values_b: Option<Vec<&str>> = xb.iter().map(|(_, c)| c.value()).collect();
            match (values_a, values_b) {
                (Some(va), Some(vb)) => match base_name(&name) {
                    "model" => reasons.changed(format!(
                        "{} → {}",
                        display_value(va[0], 40),
                        display_value(vb[0], 40)
                    )),
                    "tools" | "functions" => {
                        // A set's digest ignores order: an equal digest means only the order
                        // of the items changed.
                        let digest_same = ca.digest == cb.digest;
                        tools_diff(&name, va[0], vb[0], cb.form, digest_same, &mut reasons);
                    }
                    "system" | "developer" if blocks_or_messages(&xa, &va, &vb) => {
                        system_diff(a, b, &xa, &xb, &va, &vb, &mut reasons)
                    }
                    _ if va.len() == vb.len() => {
                        for (i, (p, q)) in va.iter().zip(&vb).enumerate() {
                            if p != q {
                                let which = if va.len() > 1 {
                                    format!("{} ", ordinal(i + 1))
                                } else {
                                    String::new()
                                };
                                let why = content_detail(p, q).unwrap_or_else(|| {
                                    format!("{} → {}", quoted(p, 32), quoted(q, 32))
                                });
                                reasons.changed(format!("{which}changed ({why})"));
                            }
                        }
                    }
                    _ => reasons.changed(format!("{} → {} pieces", va.len(), vb.len())),
                },
                _ => reasons.changed(
                    "changed (digest differs; explain with canonical text to see why)".to_owned(),
                ),
            }
            if ca.form != cb.form {
                reasons.changed(format!(
                    "counted as a {} here, a {} there",
                    ca.form.as_str(),
                    cb.form.as_str()
                ));
            }
        }
        if reasons.list.is_empty() {
            reasons.changed("changed".to_owned());
        }
        out.extend(reasons.list);
    }
    if a.key != b.key && !out.iter().any(|d| d.changes_key) {
        let sequence = |e: &Explanation| -> Vec<String> {
            e.components.iter().map(|c| c.name.clone()).collect()
        };
        let reason = if a.profile == Profile::Sub2api && sequence(a) != sequence(b) {
            format!(
                "same pieces in a different order ({} → {})",
                sequence(a).join(","),
                sequence(b).join(",")
            )
        } else {
            "keys differ though every component is the same (different key length?)".to_owned()
        };
        let component = if a.profile == Profile::Sub2api {
            "seed"
        } else {
            "key"
        };
        out.push(diff(component, reason));
    }
    out
}

/// The name a component's rules go by: `gemini_tools` is compared as `tools`,
/// `anthropic_system` as `system`.
fn base_name(name: &str) -> &str {
    name.strip_prefix("gemini_")
        .or_else(|| name.strip_prefix("anthropic_"))
        .unwrap_or(name)
}

/// Whether a system component reads as a list: native OpenAI system messages (role/content
/// pairs), sub2api pieces (one per message), Anthropic `system` blocks when one body
/// writes it as an array (a string is then one block; two strings compare as values).
fn blocks_or_messages(xa: &[(usize, &Component)], va: &[&str], vb: &[&str]) -> bool {
    let c = xa[0].1;
    c.form == Form::SeedPiece
        || c.name == "system"
        || va[0].starts_with('[')
        || vb[0].starts_with('[')
}

fn diff(component: &str, reason: String) -> Difference {
    Difference {
        component: component.to_owned(),
        reason,
        changes_key: true,
    }
}

/// The reasons found for one component.
struct Reasons {
    name: String,
    list: Vec<Difference>,
}

impl Reasons {
    fn new(name: &str) -> Reasons {
        Reasons {
            name: name.to_owned(),
            list: Vec::new(),
        }
    }

    fn changed(&mut self, reason: String) {
        self.list.push(diff(&self.name, reason));
    }

    fn ignored(&mut self, reason: String) {
        self.list.push(Difference {
            changes_key: false,
            ..diff(&self.name, reason)
        });
    }
}

/// Where a component name sorts: its tag when it has one, else the usual seed order.
fn rank(name: &str, tag: Option<u8>) -> (u16, String) {
    const ORDER: [&str; 7] = [
        "model",
        "tools",
        "functions",
        "instructions",
        "system",
        "first_user",
        "input",
    ];
    let r = match tag {
        Some(t) => u16::from(t),
        None => ORDER
            .iter()
            .position(|n| *n == name)
            .map_or(0x100, |p| p as u16),
    };
    (r, name.to_owned())
}

/// The names of both explanations' components, each once, in key order.
fn component_names(a: &Explanation, b: &Explanation) -> Vec<String> {
    let set: BTreeSet<(u16, String)> = a
        .components
        .iter()
        .chain(&b.components)
        .map(|c| rank(&c.name, c.tag))
        .collect();
    let mut names: Vec<String> = Vec::new();
    for (_, n) in set {
        if !names.contains(&n) {
            names.push(n);
        }
    }
    names
}

/// The components named `name`, with their positions.
fn named<'e>(e: &'e Explanation, name: &str) -> Vec<(usize, &'e Component)> {
    e.components
        .iter()
        .enumerate()
        .filter(|(_, c)| c.name == name)
        .collect()
}

fn added_reason(name: &str, xb: &[(usize, &Component)]) -> String {
    let count = |noun: &str| -> Option<String> {
        let v = xb.first()?.1.value()?;
        let n = array_items(v)?.len();
        Some(format!(
            "added ({n} {noun}{})",
            if n == 1 { "" } else { "s" }
        ))
    };
    match base_name(name) {
        "tools" => count("tool"),
        "functions" => count("function"),
        "system" if xb.len() > 1 => Some(format!("added ({} system messages)", xb.len())),
        "system" => xb
            .first()
            .and_then(|(_, c)| c.value())
            .filter(|_| xb[0].1.form != Form::SeedPiece)
            .and_then(array_items)
            .map(|v| {
                let n = v.len();
                let noun = if name == "system" { "message" } else { "block" };
                format!("added ({n} system {noun}{})", if n == 1 { "" } else { "s" })
            }),
        _ => None,
    }
    .unwrap_or_else(|| "added".to_owned())
}

/// `1st`, `2nd`, `3rd`, `4th`, `11th`, `21st`, …
fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// `first` … `tenth`, then `11th`, …
fn ordinal_word(n: usize) -> String {
    const WORDS: [&str; 10] = [
        "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
        "tenth",
    ];
    match n.checked_sub(1).and_then(|i| WORDS.get(i)) {
        Some(w) => (*w).to_owned(),
        None => ordinal(n),
    }
}

/// Parses a JSON text without serde_json's recursion limit (canonical texts can be as deep
/// as the body's depth limit allows).
fn parse<'t, T: serde::Deserialize<'t>>(text: &'t str) -> Option<T> {
    reference::tree::from_text(text).ok()
}

/// The items of a JSON array text, each as its own text (canonical, since the array is).
fn array_items(text: &str) -> Option<Vec<&str>> {
    let raws: Vec<&RawValue> = parse(text)?;
    Some(raws.into_iter().map(RawValue::get).collect())
}

/// A value as a person reads it: a JSON string decoded, anything else as written; cut to
/// `max` characters.
fn display_value(text: &str, max: usize) -> String {
    let decoded: Option<String> = text.starts_with('"').then(|| parse(text)).flatten();
    match decoded {
        Some(s) => shorten(&s, max),
        None => shorten(text, max),
    }
}

/// [`display_value`] in quotes (with control characters escaped).
fn quoted(text: &str, max: usize) -> String {
    format!("{:?}", display_value(text, max))
}

/// Drops every `cache_control` member, at any depth.
fn without_cache_control(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| k.as_str() != "cache_control")
                .map(|(k, v)| (k.clone(), without_cache_control(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_cache_control).collect()),
        x => x.clone(),
    }
}

/// The text of a content that is a string or a single text part.
fn single_text(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => Some(s),
        Value::Array(items) => match items.as_slice() {
            [Value::Object(m)] => {
                let is_text = matches!(
                    m.get("type").and_then(Value::as_str),
                    Some("text" | "input_text")
                );
                m.get("text").and_then(Value::as_str).filter(|_| is_text)
            }
            _ => None,
        },
        _ => None,
    }
}

/// The text of one content block: a JSON string, or a `text` / `input_text` block.
fn block_text(text: &str) -> Option<String> {
    let v: Value = parse(text)?;
    match &v {
        Value::String(s) => Some(s.clone()),
        Value::Object(_) => {
            single_text(&Value::Array(vec![without_cache_control(&v)])).map(str::to_owned)
        }
        _ => None,
    }
}

/// Why two message contents that differ as texts are the same to a reader, for the two
/// cases where sub2api's seed changes and native's key does not: a moved `cache_control`
/// marker, and a text written as a string in one body and as a single text part in the other.
fn content_detail(a: &str, b: &str) -> Option<String> {
    let (va, vb): (Value, Value) = (parse(a)?, parse(b)?);
    let (sa, sb) = (without_cache_control(&va), without_cache_control(&vb));
    let markers = sa != va || sb != vb;
    if sa == sb {
        return markers.then(|| "only cache_control markers differ".to_owned());
    }
    let (ta, tb) = (single_text(&sa)?, single_text(&sb)?);
    if ta != tb {
        return None;
    }
    let shape = |v: &Value| {
        if v.is_string() {
            "a string"
        } else {
            "a text part"
        }
    };
    let markers = if markers {
        ", and cache_control markers differ"
    } else {
        ""
    };
    Some(format!(
        "same text, as {} → as {}{markers}",
        shape(&sa),
        shape(&sb)
    ))
}

/// A tool (or function) item of a tools array.
struct Tool<'t> {
    text: &'t str,
    value: Option<Value>,
    name: Option<String>,
}

impl<'t> Tool<'t> {
    fn new(text: &'t str) -> Tool<'t> {
        let value: Option<Value> = parse(text);
        let name = value.as_ref().and_then(|v| {
            v.get("function")
                .and_then(|f| f.get("name"))
                .or_else(|| v.get("name"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
        Tool { text, value, name }
    }

    /// The fields a person thinks of as the tool's: the members of a Chat Completions
    /// `function` object and the item's other members (`type`, `strict`, …).
    fn fields(&self) -> Vec<(String, &Value)> {
        let Some(Value::Object(m)) = &self.value else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in m {
            match (k.as_str(), v) {
                ("function", Value::Object(f)) => {
                    out.extend(f.iter().map(|(k, v)| (k.clone(), v)));
                }
                _ => out.push((k.clone(), v)),
            }
        }
        out
    }
}

/// Paths (`properties.query.type`) at which two values differ, at most `limit` of them.
fn diff_paths(a: &Value, b: &Value, prefix: &str, out: &mut Vec<String>, limit: usize) {
    if out.len() >= limit || a == b {
        return;
    }
    let join = |k: &str| {
        if prefix.is_empty() {
            k.to_owned()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                match (x.get(k.as_str()), y.get(k.as_str())) {
                    (Some(p), Some(q)) => diff_paths(p, q, &join(k), out, limit),
                    _ if out.len() < limit => out.push(join(k)),
                    _ => {}
                }
            }
        }
        _ => out.push(if prefix.is_empty() {
            "(whole value)".to_owned()
        } else {
            prefix.to_owned()
        }),
    }
}

/// `a`, `a and b`, `a, b and c`.
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Why one changed tool changed: its fields, and for changed objects (parameters) the paths.
fn tool_change(position: usize, noun: &str, old: &Tool, new: &Tool) -> String {
    let (fa, fb) = (old.fields(), new.fields());
    fn get<'v>(f: &[(String, &'v Value)], k: &str) -> Option<&'v Value> {
        f.iter().find(|(n, _)| n == k).map(|(_, v)| *v)
    }
    let keys: BTreeSet<&String> = fa.iter().chain(&fb).map(|(k, _)| k).collect();
    let (mut changed, mut added, mut removed, mut paths) = (vec![], vec![], vec![], vec![]);
    for k in keys {
        match (get(&fa, k), get(&fb, k)) {
            (Some(p), Some(q)) if p != q => {
                changed.push(k.clone());
                if p.is_object() && q.is_object() {
                    diff_paths(p, q, k, &mut paths, 3);
                }
            }
            (Some(_), None) => removed.push(k.clone()),
            (None, Some(_)) => added.push(k.clone()),
            _ => {}
        }
    }
    let mut clauses = Vec::new();
    if !changed.is_empty() {
        clauses.push(format!("{} changed", and_list(&changed)));
    }
    if !added.is_empty() {
        clauses.push(format!("{} added", and_list(&added)));
    }
    if !removed.is_empty() {
        clauses.push(format!("{} removed", and_list(&removed)));
    }
    let what = if clauses.is_empty() {
        "definition changed".to_owned()
    } else {
        clauses.join(", ")
    };
    let mut detail = new.name.clone().unwrap_or_default();
    if !paths.is_empty() {
        if !detail.is_empty() {
            detail.push_str(": ");
        }
        detail.push_str(&paths.join(", "));
    }
    let detail = if detail.is_empty() {
        String::new()
    } else {
        format!(" ({detail})")
    };
    format!("{} {noun}'s {what}{detail}", ordinal(position))
}

/// Gemini tools: an item listing `functionDeclarations` stands for its functions. `true` when
/// some item did.
fn declarations(items: Vec<&str>) -> (Vec<&str>, bool) {
    let mut out = Vec::new();
    let mut flat = false;
    for t in items {
        let members: Option<BTreeMap<String, &RawValue>> =
            t.starts_with('{').then(|| parse(t)).flatten();
        let listed = members.as_ref().and_then(|m| {
            let raw = m
                .get("functionDeclarations")
                .or_else(|| m.get("function_declarations"))
                .copied()?;
            array_items(raw.get())
        });
        match listed {
            Some(d) => {
                out.extend(d);
                flat = true;
            }
            None => out.push(t),
        }
    }
    (out, flat)
}

/// Matches the tools of two arrays: identical items first, then items with the same name
/// (changed), the rest added or removed; then the order.
fn tools_diff(name: &str, a: &str, b: &str, form: Form, digest_same: bool, reasons: &mut Reasons) {
    let noun = if base_name(name) == "functions" {
        "function"
    } else {
        "tool"
    };
    let (Some((ia, flat_a)), Some((ib, flat_b))) = (
        array_items(a).map(declarations),
        array_items(b).map(declarations),
    ) else {
        reasons.changed("changed".to_owned());
        return;
    };
    // The set is the tools array's items: declarations inside one item keep their order.
    let as_set = form == Form::Set && !flat_a && !flat_b;
    let ta: Vec<Tool> = ia.into_iter().map(Tool::new).collect();
    let tb: Vec<Tool> = ib.into_iter().map(Tool::new).collect();
    // matched[j] = the item of `a` that item j of `b` is.
    let mut matched: Vec<Option<usize>> = vec![None; tb.len()];
    let mut used = vec![false; ta.len()];
    for (j, t) in tb.iter().enumerate() {
        if let Some(i) = (0..ta.len()).find(|&i| !used[i] && ta[i].text == t.text) {
            used[i] = true;
            matched[j] = Some(i);
        }
    }
    let mut changed = Vec::new();
    for (j, t) in tb.iter().enumerate() {
        if matched[j].is_some() || t.name.is_none() {
            continue;
        }
        if let Some(i) = (0..ta.len()).find(|&i| !used[i] && ta[i].name == t.name) {
            used[i] = true;
            matched[j] = Some(i);
            changed.push(j);
        }
    }
    let label = |t: &Tool| match &t.name {
        Some(n) => format!("{noun} '{n}'"),
        None => format!("a {noun} without a name"),
    };
    for (i, t) in ta.iter().enumerate() {
        if !used[i] {
            reasons.changed(format!("{} removed (was {})", label(t), ordinal(i + 1)));
        }
    }
    for (j, t) in tb.iter().enumerate() {
        if matched[j].is_none() {
            reasons.changed(format!("{} added (now {})", label(t), ordinal(j + 1)));
        }
    }
    for &j in &changed {
        if let Some(i) = matched[j] {
            reasons.changed(tool_change(j + 1, noun, &ta[i], &tb[j]));
        }
    }
    let order: Vec<usize> = matched.iter().flatten().copied().collect();
    let reordered = order.windows(2).any(|w| w[0] > w[1]);
    if reordered {
        let only_order = reasons.list.is_empty() && ta.len() == tb.len();
        let what = if only_order {
            format!("same {noun}s, different order")
        } else {
            "order changed too".to_owned()
        };
        if as_set {
            let what = if only_order {
                "same set, different order".to_owned()
            } else {
                what
            };
            let name = base_name(name);
            reasons.ignored(format!("{what} (ignored: {name} count as a set)"));
        } else {
            reasons.changed(what);
        }
    } else if digest_same && reasons.list.is_empty() {
        reasons.ignored("same set (different text, same digest)".to_owned());
    }
}

/// One system message as a component shows it.
struct SystemMessage<'t> {
    /// native: `system` or `developer`; sub2api pieces do not say.
    role: Option<String>,
    /// The canonical text of its content.
    content: &'t str,
    /// sub2api: the piece comes after the first user message's piece.
    late: bool,
    /// Anthropic blocks: the block's text (a string and a text block are the same block).
    text: Option<String>,
}

impl SystemMessage<'_> {
    fn same_content(&self, other: &SystemMessage) -> bool {
        self.content == other.content || (self.text.is_some() && self.text == other.text)
    }

    fn same(&self, other: &SystemMessage) -> bool {
        self.role == other.role && self.same_content(other)
    }
}

fn system_messages<'t>(
    e: &Explanation,
    xs: &[(usize, &Component)],
    values: &[&'t str],
) -> Option<Vec<SystemMessage<'t>>> {
    if xs.first()?.1.form == Form::SeedPiece {
        let first_user = e.components.iter().position(|c| c.name == "first_user");
        return Some(
            xs.iter()
                .zip(values)
                .map(|((at, _), v)| SystemMessage {
                    role: None,
                    content: v,
                    late: first_user.is_some_and(|u| u < *at),
                    text: None,
                })
                .collect(),
        );
    }
    if xs.first()?.1.name != "system" {
        // Anthropic `system` blocks; a string is one block.
        let v = *values.first()?;
        let blocks = if v.starts_with('[') {
            array_items(v)?
        } else {
            vec![v]
        };
        return Some(
            blocks
                .into_iter()
                .map(|content| SystemMessage {
                    role: None,
                    content,
                    late: false,
                    text: block_text(content),
                })
                .collect(),
        );
    }
    // native: one component, `[[role, content], …]`.
    let pairs: Vec<(String, &RawValue)> = parse(values.first()?)?;
    Some(
        pairs
            .into_iter()
            .map(|(role, content)| SystemMessage {
                role: Some(role),
                content: content.get(),
                late: false,
                text: None,
            })
            .collect(),
    )
}

/// The positions of `short`'s messages in `long`, when `short` is a subsequence of it.
fn subsequence(short: &[SystemMessage], long: &[SystemMessage]) -> Option<Vec<bool>> {
    let mut in_short = vec![false; long.len()];
    let mut i = 0;
    for (j, m) in long.iter().enumerate() {
        if i < short.len() && short[i].same(m) {
            in_short[j] = true;
            i += 1;
        }
    }
    (i == short.len()).then_some(in_short)
}

fn system_diff(
    a: &Explanation,
    b: &Explanation,
    xa: &[(usize, &Component)],
    xb: &[(usize, &Component)],
    va: &[&str],
    vb: &[&str],
    reasons: &mut Reasons,
) {
    let (Some(ma), Some(mb)) = (system_messages(a, xa, va), system_messages(b, xb, vb)) else {
        reasons.changed("changed".to_owned());
        return;
    };
    let noun = match (xa[0].1.form, xa[0].1.name.as_str()) {
        (Form::SeedPiece, "developer") => "developer message",
        (Form::SeedPiece, _) | (_, "system") => "system message",
        _ => "system block",
    };
    let late = |m: &SystemMessage| {
        if m.late {
            " (after the first user message)"
        } else {
            ""
        }
    };
    if ma.len() < mb.len() {
        if let Some(kept) = subsequence(&ma, &mb) {
            let tail = kept.iter().rposition(|k| *k).map_or(0, |p| p + 1);
            for (j, m) in mb.iter().enumerate().filter(|(j, _)| !kept[*j]) {
                reasons.changed(if j >= tail {
                    format!("a {} {noun} appeared{}", ordinal_word(j + 1), late(m))
                } else {
                    format!(
                        "a new {noun} appeared in {} position{}",
                        ordinal(j + 1),
                        late(m)
                    )
                });
            }
            return;
        }
    }
    if ma.len() > mb.len() {
        if let Some(kept) = subsequence(&mb, &ma) {
            for (i, _) in ma.iter().enumerate().filter(|(i, _)| !kept[*i]) {
                reasons.changed(format!("the {} {noun} disappeared", ordinal(i + 1)));
            }
            return;
        }
    }
    for (i, (p, q)) in ma.iter().zip(&mb).enumerate() {
        if p.role != q.role {
            reasons.changed(format!(
                "role of the {} {noun} changed ({} → {})",
                ordinal(i + 1),
                p.role.as_deref().unwrap_or("?"),
                q.role.as_deref().unwrap_or("?")
            ));
        }
        if !p.same_content(q) {
            let what = if block_text(p.content).is_some() && block_text(q.content).is_some() {
                "text"
            } else {
                "content"
            };
            let why = content_detail(p.content, q.content)
                .map(|d| format!(" ({d})"))
                .unwrap_or_default();
            reasons.changed(format!(
                "{what} of the {} {noun} changed{why}",
                ordinal(i + 1)
            ));
        }
        if p.late != q.late {
            reasons.changed(format!(
                "the {} {noun} moved {} the first user message",
                ordinal(i + 1),
                if q.late { "after" } else { "before" }
            ));
        }
    }
    for (j, m) in mb.iter().enumerate().skip(ma.len()) {
        reasons.changed(format!(
            "a {} {noun} appeared{}",
            ordinal_word(j + 1),
            late(m)
        ));
    }
    for i in mb.len()..ma.len() {
        reasons.changed(format!("the {} {noun} disappeared", ordinal(i + 1)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_names() {
        let names: Vec<(String, Form)> = [
            Tag::Model,
            Tag::ToolsSet,
            Tag::ToolsList,
            Tag::FunctionsSet,
            Tag::Instructions,
            Tag::System,
            Tag::FirstUser,
            Tag::Input,
        ]
        .into_iter()
        .map(tag_name)
        .collect();
        let want = [
            ("model", Form::Value),
            ("tools", Form::Set),
            ("tools", Form::List),
            ("functions", Form::Set),
            ("instructions", Form::Value),
            ("system", Form::Value),
            ("first_user", Form::Value),
            ("input", Form::Value),
        ];
        for ((n, f), (wn, wf)) in names.iter().zip(want) {
            assert_eq!((n.as_str(), *f), (wn, wf));
        }
    }

    #[test]
    fn ordinals() {
        let got: Vec<String> = [1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111]
            .into_iter()
            .map(ordinal)
            .collect();
        assert_eq!(
            got,
            [
                "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st",
                "111th"
            ]
        );
        assert_eq!(ordinal_word(2), "second");
        assert_eq!(ordinal_word(12), "12th");
    }

    #[test]
    fn shorten_counts_characters() {
        assert_eq!(shorten("héllo wörld", 5), "héllo…");
        assert_eq!(shorten("abc", 3), "abc");
    }
}
