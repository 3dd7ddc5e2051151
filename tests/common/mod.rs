//! Helpers shared by the integration tests: where `../shared` is, and ordered JSON pairs.
#![allow(dead_code)]

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use std::fmt;
use std::path::PathBuf;

/// The read-only shared data set (`../shared` beside the project, or `$STICKYKEY_SHARED`).
/// `None` (and a message on stderr) when it is absent, as on users' machines.
pub fn shared_dir(test: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("STICKYKEY_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    if dir.join("golden").is_dir() || dir.join("corpus").is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED {test}: shared data not found at {} (set STICKYKEY_SHARED to run it)",
            dir.display()
        );
        None
    }
}

/// A JSON object read as name/value pairs in document order (duplicates kept).
#[derive(Debug, Default, Clone)]
pub struct Pairs(pub Vec<(String, String)>);

impl<'de> Deserialize<'de> for Pairs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Pairs;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of strings")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut m: M) -> Result<Pairs, M::Error> {
                let mut v = Vec::new();
                while let Some(kv) = m.next_entry::<String, String>()? {
                    v.push(kv);
                }
                Ok(Pairs(v))
            }
            fn visit_unit<E>(self) -> Result<Pairs, E> {
                Ok(Pairs::default())
            }
        }
        d.deserialize_any(V)
    }
}

/// Reads a JSON Lines file into values.
pub fn read_jsonl(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}
