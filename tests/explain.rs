//! `stickykey::explain`: the explanation's key is the real content key (examples, the shared
//! corpus and the golden edge cases, every profile), `compare` gives the expected reasons on
//! crafted pairs, and `stickykey explain` prints them.

mod common;

use base64::Engine as _;
use common::{read_jsonl, shared_dir};
use std::path::{Path, PathBuf};
use std::process::Command;
use stickykey::explain::{compare, explain, explain_with, Difference, ExplainOptions, Form};
use stickykey::{Config, Fingerprinter};

fn configs() -> Vec<(&'static str, Config)> {
    vec![
        ("native", Config::native()),
        ("native-list", Config::native().with_tools_as_set(false)),
        (
            "native-256",
            Config::native().with_key_length(stickykey::KeyLength::Bits256),
        ),
        ("sub2api", Config::sub2api()),
        (
            "sub2api-no-sha",
            Config::sub2api().with_legacy_sha256(false),
        ),
        (
            "sub2api-tools-set",
            Config::sub2api().with_tools_as_set(true),
        ),
        (
            "sub2api-leading",
            Config::sub2api().with_leading_system_only(true),
        ),
        (
            "sub2api-anchored",
            Config::sub2api().with_require_user_anchor(true),
        ),
        ("sub2api-stable", Config::sub2api().with_stable_prefix(true)),
    ]
}

/// Checks, for every config, that explain's key is `content_key`'s, that it refuses exactly
/// the bodies `content_key` refuses, and (sub2api) that its seed is `seed_text`'s. Returns the
/// mismatches.
fn check_bodies(bodies: &[(String, Vec<u8>)]) -> Vec<String> {
    let mut bad = Vec::new();
    for (label, config) in configs() {
        let mut fp = Fingerprinter::new(config.clone());
        for canonical_text in [false, true] {
            let opts = ExplainOptions { canonical_text };
            for (name, body) in bodies {
                let want = fp.content_key(body);
                let got = explain_with(&config, body, opts);
                match (&want, &got) {
                    (Ok(k), Ok(e)) => {
                        if *k != e.key {
                            bad.push(format!("{label} {name}: explain {:?} != {k:?}", e.key));
                        }
                        if e.key.is_some() == e.components.is_empty() {
                            bad.push(format!("{label} {name}: key without components"));
                        }
                        if label.starts_with("sub2api") {
                            let seed = fp.seed_text(body).ok().flatten();
                            if seed != e.seed {
                                bad.push(format!("{label} {name}: seed differs"));
                            }
                            let joined: String =
                                e.components.iter().filter_map(|c| c.text.clone()).collect();
                            // `compat_cs_` (`compat_csp_` for the stable prefix) and the pieces.
                            let prefix = e.seed.as_deref().and_then(|s| s.strip_suffix(&joined));
                            let made = matches!(prefix, Some("compat_cs_" | "compat_csp_"))
                                || (e.seed.is_none() && joined.is_empty());
                            if !made {
                                bad.push(format!("{label} {name}: pieces do not make the seed"));
                            }
                        } else if e
                            .components
                            .iter()
                            .any(|c| c.text.is_some() != canonical_text)
                        {
                            bad.push(format!("{label} {name}: canonical_text not honoured"));
                        }
                    }
                    (Err(_), Err(_)) => {}
                    _ => bad.push(format!(
                        "{label} {name}: content_key {want:?}, explain {:?}",
                        got.as_ref().map(|e| e.key)
                    )),
                }
            }
        }
    }
    bad
}

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/requests")
}

fn example(name: &str) -> Vec<u8> {
    std::fs::read(examples_dir().join(name)).unwrap()
}

#[test]
fn key_is_content_key_on_examples() {
    let mut bodies = Vec::new();
    for entry in std::fs::read_dir(examples_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|x| x == "json") {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            bodies.push((name, std::fs::read(&path).unwrap()));
        }
    }
    assert!(
        bodies.len() >= 10,
        "examples/requests has the example bodies"
    );
    bodies.push(("empty".into(), Vec::new()));
    let bad = check_bodies(&bodies);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn key_is_content_key_on_shared_corpus() {
    let Some(dir) = shared_dir("explain: key_is_content_key_on_shared_corpus") else {
        return;
    };
    let mut bodies = Vec::new();
    let root = dir.join("corpus/public");
    if root.join("manifest.jsonl").is_file() {
        for m in read_jsonl(&root.join("manifest.jsonl")) {
            let file = m["file"].as_str().unwrap().to_owned();
            let body = std::fs::read(root.join(&file)).unwrap();
            bodies.push((file, body));
        }
    }
    let edge = dir.join("golden/edge-cases.jsonl");
    if edge.is_file() {
        for v in read_jsonl(&edge) {
            let Some(b64) = v["body_b64"].as_str() else {
                continue;
            };
            let body = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap();
            bodies.push((format!("golden {}", v["id"]), body));
        }
    }
    assert!(!bodies.is_empty(), "shared data holds bodies");
    let bad = check_bodies(&bodies);
    eprintln!(
        "explain: {} shared bodies, {} mismatches",
        bodies.len(),
        bad.len()
    );
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// compare() on crafted pairs.

const OPTS: ExplainOptions = ExplainOptions {
    canonical_text: true,
};

fn tool(name: &str, description: &str) -> String {
    format!(
        r#"{{"type":"function","function":{{"name":"{name}","description":"{description}","parameters":{{"type":"object","properties":{{"q":{{"type":"string"}}}}}}}}}}"#
    )
}

/// A Chat Completions body.
fn chat(model: &str, tools: &[String], system: &[&str], user: &str) -> Vec<u8> {
    let mut messages: Vec<String> = system
        .iter()
        .map(|s| format!(r#"{{"role":"system","content":"{s}"}}"#))
        .collect();
    messages.push(format!(r#"{{"role":"user","content":"{user}"}}"#));
    let tools = if tools.is_empty() {
        String::new()
    } else {
        format!(r#","tools":[{}]"#, tools.join(","))
    };
    format!(
        r#"{{"model":"{model}","messages":[{}]{tools}}}"#,
        messages.join(",")
    )
    .into_bytes()
}

fn diffs(config: &Config, a: &[u8], b: &[u8]) -> Vec<Difference> {
    let ea = explain_with(config, a, OPTS).unwrap();
    let eb = explain_with(config, b, OPTS).unwrap();
    compare(&ea, &eb)
}

fn lines(d: &[Difference]) -> Vec<String> {
    d.iter().map(ToString::to_string).collect()
}

fn three_tools() -> Vec<String> {
    vec![
        tool("alpha", "First."),
        tool("beta", "Second."),
        tool("gamma", "Third."),
    ]
}

fn all_profiles() -> [Config; 3] {
    [
        Config::native(),
        Config::native().with_tools_as_set(false),
        Config::sub2api(),
    ]
}

#[test]
fn identical_bodies_have_no_differences() {
    let a = chat("gpt-4o", &three_tools(), &["Be terse."], "Hi");
    // Same content, other spelling: white space, member order, an escape, later history.
    let b = br#"{ "messages" : [ {"content":"Be terse.","role":"system"},
        {"role":"user","content":"H\u0069"}, {"role":"assistant","content":"Hello!"},
        {"role":"user","content":"More"} ],
        "tools": [TOOLS], "model": "gpt-4o" }"#;
    let b = String::from_utf8(b.to_vec())
        .unwrap()
        .replace("TOOLS", &three_tools().join(", "));
    for config in all_profiles() {
        let got = diffs(&config, &a, &a);
        assert!(got.is_empty(), "{got:?}");
        let got = diffs(&config, &a, b.as_bytes());
        assert!(got.is_empty(), "{:?}: {got:?}", config.profile());
    }
}

#[test]
fn tool_description_changed() {
    let a = chat("gpt-4o", &three_tools(), &[], "Hi");
    let mut tools = three_tools();
    tools[2] = tool("gamma", "Third, changed.");
    let b = chat("gpt-4o", &tools, &[], "Hi");
    for config in all_profiles() {
        let got = diffs(&config, &a, &b);
        assert_eq!(
            lines(&got),
            ["tools: 3rd tool's description changed (gamma)"],
            "{:?}",
            config.profile()
        );
        assert!(got[0].changes_key);
    }
}

#[test]
fn tool_parameters_changed_names_the_path() {
    let a = chat("gpt-4o", &three_tools(), &[], "Hi");
    let mut tools = three_tools();
    tools[0] = tools[0].replace(r#""type":"string""#, r#""type":"integer""#);
    let b = chat("gpt-4o", &tools, &[], "Hi");
    let got = diffs(&Config::native(), &a, &b);
    assert_eq!(
        lines(&got),
        ["tools: 1st tool's parameters changed (alpha: parameters.properties.q.type)"]
    );
}

#[test]
fn tool_added_and_removed() {
    let a = chat("gpt-4o", &three_tools(), &[], "Hi");
    let mut tools = three_tools();
    tools.push(tool("delta", "Fourth."));
    let b = chat("gpt-4o", &tools, &[], "Hi");
    for config in all_profiles() {
        assert_eq!(
            lines(&diffs(&config, &a, &b)),
            ["tools: tool 'delta' added (now 4th)"]
        );
        assert_eq!(
            lines(&diffs(&config, &b, &a)),
            ["tools: tool 'delta' removed (was 4th)"]
        );
    }
    // From no tools at all.
    let none = chat("gpt-4o", &[], &[], "Hi");
    for config in all_profiles() {
        assert_eq!(
            lines(&diffs(&config, &none, &a)),
            ["tools: added (3 tools)"]
        );
        assert_eq!(lines(&diffs(&config, &a, &none)), ["tools: removed"]);
    }
}

#[test]
fn tools_reordered_set_versus_list() {
    let a = chat("gpt-4o", &three_tools(), &[], "Hi");
    let mut tools = three_tools();
    tools.reverse();
    let b = chat("gpt-4o", &tools, &[], "Hi");

    // native, tools as a set: the same key, and a note that does not change it.
    let config = Config::native();
    let (ea, eb) = (
        explain_with(&config, &a, OPTS).unwrap(),
        explain_with(&config, &b, OPTS).unwrap(),
    );
    assert_eq!(ea.key, eb.key);
    assert_eq!(ea.components[1].form, Form::Set);
    let got = compare(&ea, &eb);
    assert_eq!(
        lines(&got),
        ["tools: same set, different order (ignored: tools count as a set)"]
    );
    assert!(!got[0].changes_key);

    // native as a list, and sub2api: the order is part of the key.
    for config in [Config::native().with_tools_as_set(false), Config::sub2api()] {
        let (ea, eb) = (
            explain_with(&config, &a, OPTS).unwrap(),
            explain_with(&config, &b, OPTS).unwrap(),
        );
        assert_ne!(ea.key, eb.key);
        let got = compare(&ea, &eb);
        assert_eq!(lines(&got), ["tools: same tools, different order"]);
        assert!(got[0].changes_key);
    }
}

#[test]
fn second_system_message_and_changed_text() {
    let a = chat("gpt-4o", &[], &["Be terse."], "Hi");
    let b = chat("gpt-4o", &[], &["Be terse.", "Use metric units."], "Hi");
    let c = chat("gpt-4o", &[], &["Be brief."], "Hi");
    for config in all_profiles() {
        assert_eq!(
            lines(&diffs(&config, &a, &b)),
            ["system: a second system message appeared"]
        );
        assert_eq!(
            lines(&diffs(&config, &b, &a)),
            ["system: the 2nd system message disappeared"]
        );
        assert_eq!(
            lines(&diffs(&config, &a, &c)),
            ["system: text of the 1st system message changed"]
        );
    }
}

#[test]
fn late_system_message() {
    let a = br#"{"model":"m","messages":[{"role":"system","content":"S"},{"role":"user","content":"U"}]}"#;
    let b = br#"{"model":"m","messages":[{"role":"system","content":"S"},{"role":"user","content":"U"},{"role":"system","content":"Late"}]}"#;
    // native keeps only the leading system messages: no difference.
    assert!(diffs(&Config::native(), a, b).is_empty());
    assert_eq!(
        lines(&diffs(&Config::sub2api(), a, b)),
        ["system: a second system message appeared (after the first user message)"]
    );
}

#[test]
fn cache_control_and_text_part_under_sub2api() {
    let a = br#"{"model":"m","messages":[{"role":"system","content":"S"},{"role":"user","content":"U"}]}"#;
    let b = br#"{"model":"m","messages":[{"role":"system","content":[{"type":"text","text":"S","cache_control":{"type":"ephemeral"}}]},{"role":"user","content":"U"}]}"#;
    assert!(diffs(&Config::native(), a, b).is_empty());
    assert_eq!(
        lines(&diffs(&Config::sub2api(), a, b)),
        [
            "system: content of the 1st system message changed (same text, as a string → as a \
          text part, and cache_control markers differ)"
        ]
    );
}

#[test]
fn model_instructions_first_user() {
    let a = chat("gpt-4o", &[], &[], "Hi");
    let b = chat("gpt-4.1", &[], &[], "Hi");
    for config in all_profiles() {
        assert_eq!(lines(&diffs(&config, &a, &b)), ["model: gpt-4o → gpt-4.1"]);
    }
    let r1 = br#"{"model":"gpt-4.1","input":[{"role":"user","content":"Hi"}]}"#;
    let r2 = br#"{"model":"gpt-4.1","instructions":"Be terse.","input":[{"role":"user","content":"Hi"}]}"#;
    for config in all_profiles() {
        assert_eq!(lines(&diffs(&config, r1, r2)), ["instructions: added"]);
        assert_eq!(lines(&diffs(&config, r2, r1)), ["instructions: removed"]);
    }
    let c = chat("gpt-4o", &[], &[], "Hello there");
    for config in all_profiles() {
        assert_eq!(
            lines(&diffs(&config, &a, &c)),
            [r#"first_user: changed ("Hi" → "Hello there")"#]
        );
    }
}

#[test]
fn digests_only_without_canonical_text() {
    let config = Config::native();
    let a = explain(&config, &chat("gpt-4o", &[], &[], "Hi")).unwrap();
    let b = explain(&config, &chat("gpt-4o", &[], &[], "Ho")).unwrap();
    assert!(a.components.iter().all(|c| c.text.is_none()));
    assert_eq!(a.components[0].name, "model");
    assert_eq!(a.components[0].tag, Some(1));
    assert_eq!(a.components[0].digest.len(), 64);
    let got = compare(&a, &b);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].component, "first_user");
    assert!(got[0].reason.starts_with("changed (digest differs"));
}

#[test]
fn sub2api_pieces() {
    let body = chat("gpt-4o", &[tool("alpha", "First.")], &["Be terse."], "Hi");
    let e = explain(&Config::sub2api(), &body).unwrap();
    let names: Vec<&str> = e.components.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["model", "tools", "system", "first_user"]);
    assert_eq!(e.components[0].text.as_deref(), Some("model=gpt-4o"));
    assert_eq!(e.components[0].value(), Some("gpt-4o"));
    assert_eq!(
        e.components[2].text.as_deref(),
        Some(r#"|system="Be terse.""#)
    );
    assert!(e.components.iter().all(|c| c.digest.len() == 16));
    assert!(e
        .seed
        .as_deref()
        .unwrap()
        .starts_with("compat_cs_model=gpt-4o|tools=["));
}

#[test]
fn refused_and_empty_bodies() {
    for config in all_profiles() {
        assert!(explain(&config, b"{\"model\":").is_err());
        let e = explain(&config, b"").unwrap();
        assert!(e.key.is_none() && e.components.is_empty());
        let e = explain(&config, b"[1,2]").unwrap();
        assert!(e.key.is_none() && e.components.is_empty());
    }
    // native refuses a duplicate name where it reads, like content_key.
    assert!(explain(&Config::native(), br#"{"model":"a","model":"b"}"#).is_err());
}

// ---------------------------------------------------------------------------------------------
// The command line.

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_stickykey"))
        .args(args)
        .current_dir(examples_dir())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn cli_same_conversation_keys_equal() {
    for profile in ["native", "sub2api"] {
        let (code, out, err) = run(&[
            "explain",
            "--profile",
            profile,
            "chat-turn1.json",
            "chat-turn2.json",
        ]);
        assert_eq!(code, 0, "{err}");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3, "{out}");
        assert!(lines[0].starts_with("A: ") && lines[0].ends_with("chat-turn1.json"));
        assert_eq!(lines[2], "keys equal");
    }
}

#[test]
fn cli_other_conversation_lists_differences() {
    let (code, out, err) = run(&["explain", "chat-turn1.json", "chat-other-user.json"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[2], "keys differ", "{out}");
    assert_eq!(lines.len(), 4, "{out}");
    assert!(lines[3].starts_with("first_user: changed ("), "{out}");

    let (code, out, _) = run(&[
        "explain",
        "--profile=sub2api",
        "chat-turn1.json",
        "responses-turn1.json",
    ]);
    assert_eq!(code, 0);
    assert!(
        out.contains("keys differ\nmodel: gpt-4o-mini → gpt-4.1\n"),
        "{out}"
    );
    assert!(
        out.contains("tools: tool 'read_file' added (now 1st)"),
        "{out}"
    );
    assert!(out.contains("instructions: added"), "{out}");
}

#[test]
fn cli_json_and_single_file() {
    let (code, out, _) = run(&[
        "explain",
        "--json",
        "chat-turn1.json",
        "chat-tools-reordered.json",
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["keys_equal"], true);
    assert_eq!(v["differences"][0]["component"], "tools");
    assert_eq!(v["differences"][0]["changes_key"], false);
    assert_eq!(v["a"]["components"].as_array().unwrap().len(), 4);

    // One file: the key, then one line per component; --canonical adds the texts.
    let (code, out, _) = run(&["explain", "chat-turn1.json"]);
    assert_eq!(code, 0);
    let key = Fingerprinter::new(Config::native())
        .content_key(&example("chat-turn1.json"))
        .unwrap()
        .unwrap();
    assert!(
        out.contains(&format!("key {key} (native; 4 components)")),
        "{out}"
    );
    assert_eq!(out.lines().count(), 6, "{out}");
    let (_, out, _) = run(&["explain", "--canonical", "chat-turn1.json"]);
    assert!(out.contains(r#"       "gpt-4o-mini""#), "{out}");
    let (_, out, _) = run(&[
        "explain",
        "--json",
        "--profile",
        "sub2api",
        "chat-turn1.json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["components"][0]["text"], "model=gpt-4o-mini");
    assert!(v["seed"].as_str().unwrap().starts_with("compat_cs_model="));
}

#[test]
fn cli_exit_status() {
    let (code, out, _) = run(&["explain", "chat-turn1.json", "invalid-truncated.json"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("invalid-truncated.json: refused: unexpected_end"),
        "{out}"
    );
    let (code, _, _) = run(&["explain", "no-such-file.json"]);
    assert_eq!(code, 1);
    for args in [
        &["explain"][..],
        &["explain", "a.json", "b.json", "c.json"],
        &["explain", "--bogus", "a.json"],
        &["explain", "--profile", "other", "a.json"],
    ] {
        let (code, _, err) = run(args);
        assert_eq!(code, 2, "{args:?}: {err}");
    }
}

// ---------------------------------------------------------------------------------------------
// Anthropic Messages and Gemini bodies (native profile, format detected from the body).

/// The differences of the component whose name ends with `suffix`.
fn about(d: &[Difference], suffix: &str) -> Vec<String> {
    d.iter()
        .filter(|x| x.component.ends_with(suffix))
        .map(|x| x.reason.clone())
        .collect()
}

#[test]
fn anthropic_system_blocks() {
    let one = br#"{"model":"claude-sonnet-4","system":[{"type":"text","text":"You are Claude Code.","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":"Hi"}]}"#;
    let two = br#"{"model":"claude-sonnet-4","system":[{"type":"text","text":"You are Claude Code."},{"type":"text","text":"Project notes.","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":"Hi"}]}"#;
    let config = Config::native();
    let got = diffs(&config, one, two);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(about(&got, "system"), ["a second system block appeared"]);
    assert_eq!(
        about(&diffs(&config, two, one), "system"),
        ["the 2nd system block disappeared"]
    );
    // The explanation's key is the content key here too.
    let e = explain(&config, two).unwrap();
    assert_eq!(
        e.key,
        Fingerprinter::new(config.clone()).content_key(two).unwrap()
    );
}

#[test]
fn gemini_function_declarations() {
    let a = br#"{"contents":[{"role":"user","parts":[{"text":"Hi"}]}],"tools":[{"functionDeclarations":[{"name":"a","description":"x"},{"name":"b","description":"y"}]}]}"#;
    let b = br#"{"contents":[{"role":"user","parts":[{"text":"Hi"}]},{"role":"model","parts":[{"text":"Hello"}]}],"tools":[{"functionDeclarations":[{"name":"a","description":"x"},{"name":"b","description":"y, longer"}]}]}"#;
    let got = diffs(&Config::native(), a, b);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(about(&got, "tools"), ["2nd tool's description changed (b)"]);
}

#[test]
fn texts_on_one_side_only() {
    let config = Config::native();
    let body = chat("gpt-4o", &three_tools(), &["Be terse."], "Hi");
    let with = explain_with(&config, &body, OPTS).unwrap();
    let without = explain(&config, &body).unwrap();
    assert!(compare(&with, &without).is_empty());
    assert!(compare(&without, &with).is_empty());
    // Different profiles are one difference, never a component list.
    let sub = explain(&Config::sub2api(), &body).unwrap();
    let got = compare(&with, &sub);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].component, "profile");
}
