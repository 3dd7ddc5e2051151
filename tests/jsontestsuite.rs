//! JSONTestSuite (`../shared/jsontestsuite/test_parsing`) against both profiles.
//!
//! Every document is tried twice: as the whole body, and embedded as a `tools` element of a
//! request (`{"model":"m","tools":[` + document + `],"input":"x"}`), where the extractor
//! canonicalizes it. `y_` documents must be accepted, `n_` refused, `i_` must never panic
//! (and must behave as docs/SPEC.md §1.1 says for what they contain). Every case is also
//! compared with the reference implementation on every back end, at both validation levels
//! (see `common::Checker`).

mod common;

use common::{shared_dir, Checker};
use std::collections::BTreeMap;
use std::path::PathBuf;
use stickykey::{reference, Config, ErrorKind, Profile};

/// `y_` documents that native refuses by design (docs/SPEC.md §4.3): they repeat a member
/// name, and native refuses a duplicate name in the root object and in every object inside an
/// extracted fragment (a tools element is one). So both the whole body and the embedded form
/// are `duplicate_key` errors. sub2api accepts them (gjson takes the first, Go the last).
const NATIVE_Y_DUPLICATE_KEY: &[&str] = &[
    "y_object_duplicated_key.json",           // {"a":"b","a":"c"}
    "y_object_duplicated_key_and_value.json", // {"a":"b","a":"b"}
];

/// `n_` documents that become valid JSON once embedded as a tools element: both are "no
/// value" (empty, or one space), so the embedding reads `"tools":[]` or `"tools":[ ]`, a valid
/// empty array. The request then has a key from `model` and `input` (sub2api additionally
/// adds `|tools=[]` for `[ ]`, whose raw text is not exactly `[]`, SPEC §3.1).
const N_VALID_WHEN_EMBEDDED: &[&str] = &["n_single_space.json", "n_structure_no_data.json"];

/// The empty `n_` document: as a whole body it is "no body" (SPEC §1.1), `Ok(None)`.
const N_EMPTY: &str = "n_structure_no_data.json";

/// `i_` documents that are valid RFC 8259 JSON in UTF-8 (numbers beyond float64, deep but
/// allowed nesting): accepted by both profiles, whole and embedded.
const I_VALID: &[&str] = &[
    "i_number_double_huge_neg_exp.json",
    "i_number_huge_exp.json",
    "i_number_neg_int_huge_exp.json",
    "i_number_pos_double_huge_exp.json",
    "i_number_real_neg_overflow.json",
    "i_number_real_pos_overflow.json",
    "i_number_real_underflow.json",
    "i_number_too_big_neg_int.json",
    "i_number_too_big_pos_int.json",
    "i_number_very_big_negative_int.json",
    "i_structure_500_nested_arrays.json",
];

/// `i_` documents with lone surrogate escapes (valid RFC 8259 syntax): sub2api accepts them,
/// native refuses them with `lone_surrogate` (SPEC §1.1). Every other `i_` document is invalid
/// UTF-8, UTF-16 or starts with a byte order mark: refused by both.
const I_LONE_SURROGATE: &[&str] = &[
    "i_object_key_lone_2nd_surrogate.json",
    "i_string_1st_surrogate_but_2nd_missing.json",
    "i_string_1st_valid_surrogate_2nd_invalid.json",
    "i_string_incomplete_surrogate_and_escape_valid.json",
    "i_string_incomplete_surrogate_pair.json",
    "i_string_incomplete_surrogates_escape_valid.json",
    "i_string_invalid_lonely_surrogate.json",
    "i_string_invalid_surrogate.json",
    "i_string_inverted_surrogates_U+1D11E.json",
    "i_string_lone_second_surrogate.json",
];

fn embed(doc: &[u8]) -> Vec<u8> {
    let mut b = br#"{"model":"m","tools":["#.to_vec();
    b.extend_from_slice(doc);
    b.extend_from_slice(br#"],"input":"x"}"#);
    b
}

/// The first byte after RFC 8259 white space, if any.
fn first_byte(doc: &[u8]) -> Option<u8> {
    doc.iter()
        .copied()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}

fn files(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| {
            let name = e.file_name().into_string().unwrap();
            (name, std::fs::read(e.path()).unwrap())
        })
        .filter(|(n, _)| n.ends_with(".json"))
        .collect();
    v.sort();
    v
}

/// Counts per profile and class, for the report.
#[derive(Default, Debug)]
struct Counts {
    files: usize,
    whole_ok: usize,
    whole_err: usize,
    embedded_ok: usize,
    embedded_err: usize,
}

fn suite_dir() -> Option<PathBuf> {
    let dir = shared_dir("jsontestsuite")?.join("jsontestsuite/test_parsing");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("SKIPPED jsontestsuite: {} not found", dir.display());
        None
    }
}

fn run_profile(config: Config) {
    let Some(dir) = suite_dir() else { return };
    let native = config.profile() == Profile::Native;
    let pname = if native { "native" } else { "sub2api" };
    let mut ck = Checker::new(config.clone());
    let mut bad: Vec<String> = Vec::new();
    let mut counts: BTreeMap<char, Counts> = BTreeMap::new();
    let mut seen_exempt: Vec<String> = Vec::new();
    let mut i_accepted: Vec<String> = Vec::new();

    for (name, doc) in files(&dir) {
        let class = name.chars().next().unwrap();
        let whole = doc.clone();
        let embedded = embed(&doc);

        // Fast path == reference, every back end, both validation levels, twice each.
        let w = ck.content_key(&format!("{name} (whole)"), &whole);
        let e = ck.content_key(&format!("{name} (embedded)"), &embedded);
        ck.session_key(&format!("{name} (whole)"), &[], &whole);
        ck.session_key(&format!("{name} (embedded)"), &[], &embedded);
        ck.seed_text(&format!("{name} (whole)"), &whole);
        ck.seed_text(&format!("{name} (embedded)"), &embedded);
        // A reference panic is already a mismatch; nothing more to say about this file.
        let (Some(w), Some(e)) = (w, e) else { continue };

        let c = counts.entry(class).or_default();
        c.files += 1;
        if w.is_ok() {
            c.whole_ok += 1;
        } else {
            c.whole_err += 1;
        }
        if e.is_ok() {
            c.embedded_ok += 1;
        } else {
            c.embedded_err += 1;
        }

        let non_object_root = first_byte(&doc).is_some_and(|b| b != b'{');
        match class {
            'y' if native && NATIVE_Y_DUPLICATE_KEY.contains(&name.as_str()) => {
                seen_exempt.push(name.clone());
                for (form, got) in [("whole", &w), ("embedded", &e)] {
                    match got {
                        Err(err) if err.kind() == ErrorKind::DuplicateKey => {}
                        other => bad.push(format!(
                            "{name} ({form}): want duplicate_key, got {other:?}"
                        )),
                    }
                }
            }
            'y' => {
                match &e {
                    Ok(Some(_)) => {}
                    other => bad.push(format!(
                        "{name} (embedded): want a content key, got {other:?}"
                    )),
                }
                match &w {
                    Ok(None) => {}
                    Ok(Some(_)) if !non_object_root => {}
                    other => bad.push(format!(
                        "{name} (whole): want Ok{}, got {other:?}",
                        if non_object_root { "(None)" } else { "" }
                    )),
                }
            }
            'n' => {
                if name == N_EMPTY {
                    seen_exempt.push(name.clone());
                    if w != Ok(None) {
                        bad.push(format!(
                            "{name} (whole): empty body must be Ok(None), got {w:?}"
                        ));
                    }
                } else if w.is_ok() {
                    bad.push(format!("{name} (whole): accepted: {w:?}"));
                }
                if N_VALID_WHEN_EMBEDDED.contains(&name.as_str()) {
                    seen_exempt.push(format!("{name} (embedded)"));
                    check_empty_tools(&config, &name, &doc, &e, &mut bad);
                } else if e.is_ok() {
                    bad.push(format!("{name} (embedded): accepted: {e:?}"));
                }
            }
            'i' => {
                if w.is_ok() || e.is_ok() {
                    i_accepted.push(name.clone());
                }
                let accepted = I_VALID.contains(&name.as_str())
                    || (!native && I_LONE_SURROGATE.contains(&name.as_str()));
                for (form, got) in [("whole", &w), ("embedded", &e)] {
                    if got.is_ok() != accepted {
                        bad.push(format!(
                            "{name} ({form}): want {}, got {got:?}",
                            if accepted { "Ok" } else { "Err" }
                        ));
                    }
                    if native && I_LONE_SURROGATE.contains(&name.as_str()) {
                        if let Err(err) = got {
                            if err.kind() != ErrorKind::LoneSurrogate {
                                bad.push(format!(
                                    "{name} ({form}): want lone_surrogate, got {err}"
                                ));
                            }
                        }
                    }
                }
                // Whole body: every valid i_ document has a non-object root.
                if accepted && w != Ok(None) {
                    bad.push(format!("{name} (whole): want Ok(None), got {w:?}"));
                }
            }
            _ => {}
        }
    }

    for (class, c) in &counts {
        eprintln!(
            "jsontestsuite {pname} {class}_: {} files; whole body {} accepted / {} refused; \
             embedded {} accepted / {} refused",
            c.files, c.whole_ok, c.whole_err, c.embedded_ok, c.embedded_err
        );
    }
    eprintln!("jsontestsuite {pname}: i_ accepted (whole or embedded): {i_accepted:?}");
    eprintln!("jsontestsuite {pname}: exempt cases seen: {seen_exempt:?}");
    eprintln!(
        "jsontestsuite {pname}: {} fast-path comparisons, {} mismatches",
        ck.comparisons,
        ck.mismatches.len()
    );

    // Not vacuous: the suite is all there and every class was exercised.
    for class in ['y', 'n', 'i'] {
        let n = counts.get(&class).map_or(0, |c| c.files);
        assert!(n > 0, "no {class}_ files were checked");
    }
    assert!(counts[&'y'].files >= 90 && counts[&'n'].files >= 180 && counts[&'i'].files >= 30);
    assert!(ck.comparisons > 0);
    // Every listed exemption names a file that exists (no stale lists).
    let want_exempt = 1
        + N_VALID_WHEN_EMBEDDED.len()
        + if native {
            NATIVE_Y_DUPLICATE_KEY.len()
        } else {
            0
        };
    assert_eq!(
        seen_exempt.len(),
        want_exempt,
        "exemption lists name missing files: {seen_exempt:?}"
    );

    let all: Vec<String> = ck.mismatches.iter().chain(&bad).cloned().collect();
    assert!(
        all.is_empty(),
        "{} failures:\n{}",
        all.len(),
        all.join("\n")
    );
}

/// An `n_` document that is "no value" embedded as a tools element: `tools` is an empty array.
/// native ignores an empty array, so the key is that of the request without `tools`; so does
/// sub2api for exactly `[]`, while `[ ]` adds `|tools=[]` (SPEC §3.1).
fn check_empty_tools(
    config: &Config,
    name: &str,
    doc: &[u8],
    got: &Result<Option<stickykey::Key>, stickykey::Error>,
    bad: &mut Vec<String>,
) {
    let without = reference::content_key(config, br#"{"model":"m","input":"x"}"#).unwrap();
    let with_empty =
        reference::content_key(config, br#"{"model":"m","tools":[],"input":"x"}"#).unwrap();
    assert!(without.is_some());
    let Ok(Some(key)) = got else {
        bad.push(format!(
            "{name} (embedded): want a content key, got {got:?}"
        ));
        return;
    };
    let same = Some(*key) == without && Some(*key) == with_empty;
    let want_same = config.profile() == Profile::Native || doc.is_empty();
    if same != want_same {
        bad.push(format!(
            "{name} (embedded): key {key:?} should {}equal the key without tools {without:?}",
            if want_same { "" } else { "not " }
        ));
    }
}

#[test]
fn jsontestsuite_sub2api() {
    run_profile(Config::sub2api());
}

#[test]
fn jsontestsuite_native() {
    run_profile(Config::native());
}

/// The same for native with tools as an ordered list and 256-bit keys: other code paths of the
/// tools component.
#[test]
fn jsontestsuite_native_list_256() {
    run_profile(
        Config::native()
            .with_tools_as_set(false)
            .with_key_length(stickykey::KeyLength::Bits256),
    );
}
