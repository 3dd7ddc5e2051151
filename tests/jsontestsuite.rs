//! JSONTestSuite (`../shared/jsontestsuite/test_parsing`) against both profiles.
//!
//! Every document is tried as the whole body, and embedded in a request: as a `tools` element
//! (`{"model":"m","tools":[` + document + `],"input":"x"}`), where the extractor canonicalizes
//! it, and in five more places (see [`POSITIONS`]): first-user content, `prompt_cache_key`, an
//! unread member, later history (never read by native) and a Responses `input` item. `y_` documents must be accepted, `n_` refused, `i_` must never panic
//! (and must behave as docs/SPEC.md §1.1 says for what they contain). Every case is also
//! compared with the reference implementation on every back end, at both validation levels
//! (see `common::Checker`).

mod common;

use common::{shared_dir, Checker};
use std::collections::BTreeMap;
use std::path::PathBuf;
use stickykey::{reference, Config, ErrorKind, Key, Profile};

/// `y_` documents that native refuses by design (docs/SPEC.md §4.3): they repeat a member
/// name, and native refuses a duplicate name in the root object and in every object inside an
/// extracted fragment (a tools element is one) or read message item. So the whole body and the
/// embedded forms in read positions are `duplicate_key` errors; in positions native never reads
/// (an unknown member, later history) they are accepted. sub2api accepts them everywhere
/// (gjson takes the first, Go the last).
const NATIVE_Y_DUPLICATE_KEY: &[&str] = &[
    "y_object_duplicated_key.json",           // {"a":"b","a":"c"}
    "y_object_duplicated_key_and_value.json", // {"a":"b","a":"b"}
];

/// `n_` documents that become valid JSON once embedded as an array element (tools, input
/// item): both are "no value" (empty, or one space), so the embedding reads `"tools":[]` or
/// `"tools":[ ]`, a valid empty array. The request then has a key from `model` and `input`
/// (sub2api additionally adds `|tools=[]` for `[ ]`, whose raw text is not exactly `[]`, SPEC
/// §3.1). In member positions (`"x":` + nothing + `}`) they stay invalid: no other `n_`
/// document becomes valid in any position (checked with an independent strict parser).
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

/// Where a document is embedded: name, text before, text after, whether native reads the
/// document there (so a duplicate name is refused), whether it is an array element.
/// Where a document is embedded: (name, prefix, suffix, read by the profile, is an array element).
type Position = (&'static str, &'static str, &'static str, bool, bool);

const POSITIONS: &[Position] = &[
    (
        "tools",
        r#"{"model":"m","tools":["#,
        r#"],"input":"x"}"#,
        true,
        true,
    ),
    (
        "first_user",
        r#"{"model":"m","messages":[{"role":"user","content":"#,
        r#"}]}"#,
        true,
        false,
    ),
    (
        "prompt_cache_key",
        r#"{"prompt_cache_key":"#,
        r#","model":"m"}"#,
        true,
        false,
    ),
    (
        "unread_member",
        r#"{"model":"m","metadata":"#,
        r#","input":"x"}"#,
        false,
        false,
    ),
    (
        "later_history",
        r#"{"model":"m","messages":[{"role":"user","content":"u"},{"role":"assistant","content":"#,
        r#"}]}"#,
        false,
        false,
    ),
    (
        "input_item",
        r#"{"model":"m","input":["#,
        r#"]}"#,
        true,
        true,
    ),
];

fn embed(pos: &(&str, &str, &str, bool, bool), doc: &[u8]) -> Vec<u8> {
    let mut b = pos.1.as_bytes().to_vec();
    b.extend_from_slice(doc);
    b.extend_from_slice(pos.2.as_bytes());
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

/// Accepted / refused counts per class and form (whole body or position), for the report.
#[derive(Default, Debug)]
struct Counts {
    files: usize,
    /// form -> (accepted, refused)
    forms: BTreeMap<&'static str, (usize, usize)>,
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

type Outcome = Result<Option<Key>, stickykey::Error>;

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
        // Every form: fast path == reference (every back end, both validation levels, twice).
        let mut forms: Vec<(&'static str, Vec<u8>, &Position)> = Vec::new();
        let whole_pos = &("whole", "", "", true, false);
        forms.push(("whole", doc.clone(), whole_pos));
        for pos in POSITIONS {
            forms.push((pos.0, embed(pos, &doc), pos));
        }
        let mut outcomes: Vec<(&'static str, &Position, Outcome)> = Vec::new();
        for (form, body, pos) in &forms {
            let label = format!("{name} ({form})");
            let got = ck.content_key(&label, body);
            ck.session_key(&label, &[], body);
            ck.seed_text(&label, body);
            // A reference panic is already a mismatch; nothing more to say about this form.
            if let Some(got) = got {
                outcomes.push((form, pos, got));
            }
        }

        let c = counts.entry(class).or_default();
        c.files += 1;
        for (form, _, got) in &outcomes {
            let e = c.forms.entry(form).or_default();
            if got.is_ok() {
                e.0 += 1;
            } else {
                e.1 += 1;
            }
        }
        if class == 'i' && outcomes.iter().any(|o| o.2.is_ok()) {
            i_accepted.push(name.clone());
        }

        let non_object_root = first_byte(&doc).is_some_and(|b| b != b'{');
        let dup_exempt = native && NATIVE_Y_DUPLICATE_KEY.contains(&name.as_str());
        if class == 'y' && dup_exempt {
            seen_exempt.push(name.clone());
        }
        if class == 'n' && name == N_EMPTY {
            seen_exempt.push(name.clone());
        }
        for (form, pos, got) in &outcomes {
            let (form, read, array) = (*form, pos.3, pos.4);
            match class {
                'y' if dup_exempt && read => match got {
                    Err(err) if err.kind() == ErrorKind::DuplicateKey => {}
                    other => bad.push(format!(
                        "{name} ({form}): want duplicate_key, got {other:?}"
                    )),
                },
                'y' if form == "whole" => match got {
                    Ok(None) => {}
                    Ok(Some(_)) if !non_object_root => {}
                    other => bad.push(format!(
                        "{name} (whole): want Ok{}, got {other:?}",
                        if non_object_root { "(None)" } else { "" }
                    )),
                },
                'y' => match got {
                    Ok(Some(_)) => {}
                    other => bad.push(format!(
                        "{name} ({form}): want a content key, got {other:?}"
                    )),
                },
                'n' if form == "whole" => {
                    if name == N_EMPTY {
                        if *got != Ok(None) {
                            bad.push(format!(
                                "{name} (whole): empty body must be Ok(None), got {got:?}"
                            ));
                        }
                    } else if got.is_ok() {
                        bad.push(format!("{name} (whole): accepted: {got:?}"));
                    }
                }
                'n' if array && N_VALID_WHEN_EMBEDDED.contains(&name.as_str()) => {
                    seen_exempt.push(format!("{name} ({form})"));
                    check_empty_array(&config, &name, form, &doc, got, &mut bad);
                }
                'n' if got.is_ok() => {
                    bad.push(format!("{name} ({form}): accepted: {got:?}"));
                }
                'n' => {}
                'i' => {
                    let accepted = I_VALID.contains(&name.as_str())
                        || (!native && I_LONE_SURROGATE.contains(&name.as_str()));
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
                    // Whole body: every accepted i_ document without an object root has no key.
                    if accepted && form == "whole" && non_object_root && *got != Ok(None) {
                        bad.push(format!("{name} (whole): want Ok(None), got {got:?}"));
                    }
                }
                _ => {}
            }
        }
    }

    for (class, c) in &counts {
        let forms: Vec<String> = c
            .forms
            .iter()
            .map(|(f, (ok, err))| format!("{f} {ok}/{err}"))
            .collect();
        eprintln!(
            "jsontestsuite {pname} {class}_: {} files; accepted/refused: {}",
            c.files,
            forms.join(", ")
        );
    }
    eprintln!("jsontestsuite {pname}: i_ accepted (in some form): {i_accepted:?}");
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
    // Every listed exemption names a file that exists (no stale lists): the empty document,
    // the two "no value" documents in both array positions, native's duplicate-name files.
    let want_exempt = 1
        + 2 * N_VALID_WHEN_EMBEDDED.len()
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

/// An `n_` document that is "no value" embedded as an array element: the array is empty.
/// - tools: native ignores an empty array, so the key is that of the request without `tools`;
///   so does sub2api for exactly `[]`, while `[ ]` adds `|tools=[]` (SPEC §3.1);
/// - input: an empty input array adds nothing in either profile: the key of `{"model":"m"}`.
fn check_empty_array(
    config: &Config,
    name: &str,
    form: &str,
    doc: &[u8],
    got: &Outcome,
    bad: &mut Vec<String>,
) {
    let Ok(Some(key)) = got else {
        bad.push(format!("{name} ({form}): want a content key, got {got:?}"));
        return;
    };
    let (without, want_same) = match form {
        "tools" => (
            br#"{"model":"m","input":"x"}"#.as_slice(),
            config.profile() == Profile::Native || doc.is_empty(),
        ),
        "input_item" => (br#"{"model":"m"}"#.as_slice(), true),
        other => panic!("{other} is not an array position"),
    };
    let without = reference::content_key(config, without).unwrap();
    assert!(without.is_some());
    if (Some(*key) == without) != want_same {
        bad.push(format!(
            "{name} ({form}): key {key:?} should {}equal the key without the element {without:?}",
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
