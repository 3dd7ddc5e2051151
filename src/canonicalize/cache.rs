//! The fragment cache: canonical results keyed by the raw bytes they came from.
//!
//! Agents resend the same tools array (tens of KB) and system prompt on every turn. A repeat
//! is found by an xxh3 hash of its raw bytes and confirmed by comparing the bytes, so a hit
//! is exact (no collision can return another fragment's result) and costs about two passes
//! at memory speed instead of a parse, a sort and a re-serialization. A hit also proves the
//! bytes valid: they were validated under the same rules, at the same nesting depth, when the
//! entry was made. Bounded in bytes; the oldest entries go first.

use std::collections::{HashMap, VecDeque};

/// What an entry holds; the kind is part of the key (one raw text, several meanings).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub(crate) enum Kind {
    /// sub2api: `normalizeCompatSeedJSON` text of a fragment at a given depth.
    GoText,
    /// native: digest of a tools/functions array as a set.
    NativeSet,
    /// native: digest of a tools/functions array as a list.
    NativeList,
    /// native: text of a message content (single text part collapsed).
    NativeContent,
}

/// Fragments shorter than this are cheaper to canonicalize than to look up.
pub(crate) const MIN_RAW: usize = 256;

struct Entry {
    raw: Box<[u8]>,
    text: Box<str>,
    digest: [u8; 32],
}

/// A hit.
pub(crate) struct Hit<'c> {
    pub text: &'c str,
    pub digest: [u8; 32],
}

type Key = (Kind, u8, u64);

pub(crate) struct FragmentCache {
    map: HashMap<Key, Entry>,
    order: VecDeque<Key>,
    bytes: usize,
    cap: usize,
}

impl std::fmt::Debug for FragmentCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "FragmentCache({} entries, {}/{} bytes)",
            self.map.len(),
            self.bytes,
            self.cap
        )
    }
}

impl FragmentCache {
    pub(crate) fn new(cap: usize) -> FragmentCache {
        FragmentCache {
            map: HashMap::new(),
            order: VecDeque::new(),
            bytes: 0,
            cap,
        }
    }

    pub(crate) fn clear(&mut self) {
        self.map.clear();
        self.order.clear();
        self.bytes = 0;
    }

    fn enabled(&self, raw: &[u8]) -> bool {
        self.cap > 0 && raw.len() >= MIN_RAW
    }

    fn key(kind: Kind, depth: usize, raw: &[u8]) -> Key {
        (kind, depth.min(255) as u8, xxhash_rust::xxh3::xxh3_64(raw))
    }

    /// The entry for exactly these bytes, if any.
    pub(crate) fn get(&self, kind: Kind, depth: usize, raw: &[u8]) -> Option<Hit<'_>> {
        if !self.enabled(raw) {
            return None;
        }
        let e = self.map.get(&Self::key(kind, depth, raw))?;
        (*e.raw == *raw).then_some(Hit {
            text: &e.text,
            digest: e.digest,
        })
    }

    /// Remembers a result (cold path: allocates).
    pub(crate) fn put(
        &mut self,
        kind: Kind,
        depth: usize,
        raw: &[u8],
        text: &str,
        digest: [u8; 32],
    ) {
        let size = raw.len() + text.len() + 64;
        if !self.enabled(raw) || size > self.cap {
            return;
        }
        while self.bytes + size > self.cap {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some(e) = self.map.remove(&old) {
                self.bytes -= e.raw.len() + e.text.len() + 64;
            }
        }
        let key = Self::key(kind, depth, raw);
        let entry = Entry {
            raw: raw.into(),
            text: text.into(),
            digest,
        };
        if let Some(old) = self.map.insert(key, entry) {
            self.bytes -= old.raw.len() + old.text.len() + 64;
        } else {
            self.order.push_back(key);
        }
        self.bytes += size;
    }
}
