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

// ---------------------------------------------------------------------------------------------
// Fast path against the reference (appended for tests/jsontestsuite.rs, tests/corpus.rs and
// tests/native_vectors.rs).

use std::panic::{catch_unwind, AssertUnwindSafe};
use stickykey::{reference, Backend, Config, Error, Fingerprinter, Key, SessionKey, Validation};

/// The outcome of one call, as the reference computed it; `None` when the reference panicked
/// (already recorded as a mismatch).
pub type Outcome<T> = Option<Result<Option<T>, Error>>;

/// Compares the fast path with [`stickykey::reference`] on every back end of this CPU, at both
/// validation levels, with long-lived fingerprinters (each body is keyed twice, so the
/// fragment cache is hit as well as filled). Rules:
/// - `Validation::Full`: the same `Ok` value and the same `is_err` (error kinds and offsets
///   may differ);
/// - `Validation::Extracted`: the same `Ok` value whenever the reference accepts the body
///   (when it refuses, anything but a panic goes).
///
/// Panics of either side are caught and recorded, never propagated.
pub struct Checker {
    /// The configuration given to the reference (its validation level is irrelevant there).
    pub config: Config,
    fps: Vec<(Backend, Validation, Fingerprinter)>,
    /// One line per disagreement or panic.
    pub mismatches: Vec<String>,
    /// How many fast-path results were compared.
    pub comparisons: usize,
}

impl Checker {
    /// A checker for `config` (its validation level is replaced by each level in turn).
    pub fn new(config: Config) -> Checker {
        let mut fps = Vec::new();
        for backend in Backend::all_available() {
            for v in [Validation::Full, Validation::Extracted] {
                let fp = Fingerprinter::with_backend(config.clone().with_validation(v), backend)
                    .expect("available back end");
                fps.push((backend, v, fp));
            }
        }
        assert!(!fps.is_empty(), "no back end available");
        Checker {
            config,
            fps,
            mismatches: Vec::new(),
            comparisons: 0,
        }
    }

    fn run<T: PartialEq + fmt::Debug>(
        &mut self,
        name: &str,
        what: &str,
        reference: impl Fn(&Config) -> Result<Option<T>, Error>,
        fast: impl Fn(&mut Fingerprinter) -> Result<Option<T>, Error>,
    ) -> Outcome<T> {
        let want = match catch_unwind(AssertUnwindSafe(|| reference(&self.config))) {
            Ok(w) => Some(w),
            Err(_) => {
                self.mismatches
                    .push(format!("{name}: {what}: the reference panicked"));
                None
            }
        };
        for (backend, validation, fp) in &mut self.fps {
            for call in 1..=2 {
                self.comparisons += 1;
                let got = match catch_unwind(AssertUnwindSafe(|| fast(fp))) {
                    Ok(g) => g,
                    Err(_) => {
                        self.mismatches.push(format!(
                            "{name}: {what}: fast path panicked ({}, {validation:?}, call {call})",
                            backend.name()
                        ));
                        // Its scratch state may be inconsistent after an unwind: start afresh.
                        *fp = Fingerprinter::with_backend(fp.config().clone(), *backend)
                            .expect("available back end");
                        continue;
                    }
                };
                let Some(want) = &want else { continue };
                let agrees = match validation {
                    Validation::Full => {
                        got.is_err() == want.is_err() && got.as_ref().ok() == want.as_ref().ok()
                    }
                    Validation::Extracted => {
                        want.is_err() || got.as_ref().ok() == want.as_ref().ok()
                    }
                };
                if !agrees {
                    self.mismatches.push(format!(
                        "{name}: {what} ({}, {validation:?}, call {call}): fast {got:?} != reference {want:?}",
                        backend.name()
                    ));
                }
            }
        }
        want
    }

    /// `content_key` through every fingerprinter and the reference; returns the reference's.
    pub fn content_key(&mut self, name: &str, body: &[u8]) -> Outcome<Key> {
        self.run(
            name,
            "content_key",
            |c| reference::content_key(c, body),
            |fp| fp.content_key(body),
        )
    }

    /// `session_key` with `headers` (in order) through every fingerprinter and the reference.
    pub fn session_key(
        &mut self,
        name: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Outcome<SessionKey> {
        let pairs = || headers.iter().map(|(k, v)| (k.as_bytes(), v.as_bytes()));
        self.run(
            name,
            "session_key",
            |c| reference::session_key(c, pairs(), body),
            |fp| fp.session_key(pairs(), body),
        )
    }

    /// `seed_text` through every fingerprinter and the reference.
    pub fn seed_text(&mut self, name: &str, body: &[u8]) -> Outcome<String> {
        self.run(
            name,
            "seed_text",
            |c| reference::seed_text(c, body),
            |fp| fp.seed_text(body),
        )
    }
}
