//! Two independent implementations of the sub2api content key (docs/SPEC.md §3), written the
//! way a competent user of each library would write them, to compare stickykey with:
//!
//! - [`sonic_rs_impl`]: sonic-rs lazy access on the raw body (`get_many` for the root members,
//!   `into_array_iter` and per-item lazy `get` for messages), fragments canonicalized by
//!   parsing them into `serde_json::Value`;
//! - [`simd_json_impl`]: a full simd-json DOM (`to_borrowed_value_with_buffers` on a copy of
//!   the body, since simd-json needs `&mut [u8]`), then the same rules on the DOM.
//!
//! Both share [`go`], the Go `encoding/json` writer (key order, float64 printing, HTML-safe
//! escaping) and the final `TrimSpace` + xxh64.
//!
//! These are benchmark baselines, not products: they need not handle every exotic edge.
//! Known gaps (see `tests/alternatives.rs` for the list of excluded bodies):
//! - lone surrogate escapes (`\ud800` alone): serde_json refuses them, Go decodes U+FFFD;
//! - numbers beyond float64 (`1e400`) in a canonical fragment: Go keeps the raw text;
//! - simd-json only: its DOM keeps no raw text, so a non-string `model`, `instructions` or
//!   `input_text` text that is an object or array (gjson returns its raw text) is refused,
//!   an empty `tools`/`functions` array written with inner white space (`[ ]`, which sub2api
//!   keys as `|tools=[]`) is treated like `[]`, and integers beyond 64 bits are refused by
//!   simd-json's number parser.
#![allow(dead_code)]

pub mod go;
pub mod simd_json_impl;
pub mod sonic_rs_impl;
