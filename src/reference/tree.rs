//! A small value tree built with serde_json, keeping what `serde_json::Value` loses:
//! duplicate member names, member order, and the exact text of numbers.

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::fmt;

/// A JSON value as the reference implementation sees it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Null,
    Bool(bool),
    /// The number's lexeme, exactly as written.
    Number(String),
    String(String),
    Array(Vec<Node>),
    /// Members in document order, duplicates kept.
    Object(Vec<(String, Node)>),
}

/// The members of an object, values left as raw text.
pub(crate) struct Members<'a>(pub Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Members<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Members<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut m: M) -> Result<Members<'a>, M::Error> {
                let mut v = Vec::new();
                while let Some((k, raw)) = m.next_entry::<String, &'de RawValue>()? {
                    v.push((k, raw));
                }
                Ok(Members(v))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

impl<'a> Members<'a> {
    /// gjson semantics: the first member with this (decoded) name.
    pub(crate) fn first(&self, name: &str) -> Option<&'a RawValue> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| *v)
    }

    /// The first repeated name, if any.
    pub(crate) fn duplicate(&self) -> Option<&str> {
        let mut seen = std::collections::HashSet::new();
        self.0
            .iter()
            .find(|(k, _)| !seen.insert(k.as_str()))
            .map(|(k, _)| k.as_str())
    }
}

/// Runs a serde_json deserializer over `text` without its 128-level recursion limit: the
/// caller has already bounded the depth.
pub(crate) fn from_text<'a, T: Deserialize<'a>>(text: &'a str) -> serde_json::Result<T> {
    let mut de = serde_json::Deserializer::from_str(text);
    de.disable_recursion_limit();
    let v = T::deserialize(&mut de)?;
    de.end()?;
    Ok(v)
}

/// The members of `raw` when it is an object.
pub(crate) fn members(raw: &RawValue) -> Option<Members<'_>> {
    if raw.get().starts_with('{') {
        from_text(raw.get()).ok()
    } else {
        None
    }
}

/// The elements of `raw` when it is an array.
pub(crate) fn elements(raw: &RawValue) -> Option<Vec<&RawValue>> {
    if raw.get().starts_with('[') {
        from_text(raw.get()).ok()
    } else {
        None
    }
}

/// Builds the tree of one raw value. Errors only on strings serde_json cannot decode
/// (lone surrogates), which the callers rule out beforehand.
pub(crate) fn node(raw: &RawValue) -> serde_json::Result<Node> {
    let t = raw.get();
    Ok(match t.as_bytes()[0] {
        b'{' => {
            let m: Members = from_text(t)?;
            let mut out = Vec::with_capacity(m.0.len());
            for (k, v) in m.0 {
                out.push((k, node(v)?));
            }
            Node::Object(out)
        }
        b'[' => {
            let items: Vec<&RawValue> = from_text(t)?;
            Node::Array(items.into_iter().map(node).collect::<Result<_, _>>()?)
        }
        b'"' => Node::String(from_text(t)?),
        b't' => Node::Bool(true),
        b'f' => Node::Bool(false),
        b'n' => Node::Null,
        _ => Node::Number(t.to_owned()),
    })
}

/// Nesting depth of a tree (a scalar is 0, `[]` is 1).
pub(crate) fn depth(n: &Node) -> usize {
    match n {
        Node::Array(v) => 1 + v.iter().map(depth).max().unwrap_or(0),
        Node::Object(v) => 1 + v.iter().map(|(_, n)| depth(n)).max().unwrap_or(0),
        _ => 0,
    }
}

/// The members of an object node.
pub(crate) type MembersOf = [(String, Node)];

/// Visits every object of the tree.
pub(crate) fn any_object(n: &Node, f: &mut dyn FnMut(&MembersOf) -> bool) -> bool {
    match n {
        Node::Array(v) => v.iter().any(|x| any_object(x, f)),
        Node::Object(m) => f(m) || m.iter().any(|(_, x)| any_object(x, f)),
        _ => false,
    }
}
