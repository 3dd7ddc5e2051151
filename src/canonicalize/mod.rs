//! Stage 4 of the pipeline: canonical text of a JSON fragment.
//!
//! Two dialects, chosen by the profile:
//! - [`go`]: what Go's `encoding/json` prints after `Unmarshal` into `any` (the sub2api profile);
//! - [`jcs`]: RFC 8785 strings and key order with exact decimal numbers (the native profile).
//!
//! The pieces here are pure functions over decoded values; both the reference implementation
//! and the fast engine use them, and the golden and frozen vectors pin their output.

pub(crate) mod cache;
pub(crate) mod go;
pub(crate) mod jcs;
pub(crate) mod number;
pub(crate) mod text;
pub(crate) mod tree;
