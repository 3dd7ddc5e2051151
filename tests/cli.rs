//! The `stickykey` binary, run on `examples/requests`: the key (in)equalities that
//! `examples/requests/README.md` claims, the output format, and the exit statuses.

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;
use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_stickykey");
const DIR: &str = "examples/requests";

/// Every example body, by file stem.
const EXAMPLES: [&str; 11] = [
    "chat-turn1",
    "chat-turn2",
    "chat-tools-reordered",
    "chat-cache-control",
    "chat-late-system",
    "chat-prompt-cache-key",
    "chat-other-user",
    "responses-turn1",
    "responses-turn2",
    "invalid-truncated",
    "not-an-object",
];

fn path(stem: &str) -> String {
    format!("{DIR}/{stem}.json")
}

fn stickykey(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the stickykey binary");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        pipe.write_all(input).expect("write stdin");
    }
    child.wait_with_output().expect("wait for stickykey")
}

fn run(args: &[&str]) -> Output {
    stickykey(args, None)
}

fn stdout(out: &Output) -> &str {
    std::str::from_utf8(&out.stdout).expect("stdout is UTF-8")
}

fn stderr(out: &Output) -> &str {
    std::str::from_utf8(&out.stderr).expect("stderr is UTF-8")
}

/// Every stdout line parsed as JSON (and the output ends with a newline).
fn lines(out: &Output) -> Vec<Value> {
    let text = stdout(out);
    assert!(
        text.ends_with('\n'),
        "output not newline-terminated: {text:?}"
    );
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// `stickykey key [args] <every example>`, checked to exit 0, by file stem.
fn keys(args: &[&str]) -> HashMap<&'static str, Value> {
    let paths: Vec<String> = EXAMPLES.iter().map(|s| path(s)).collect();
    let mut command_line = vec!["key"];
    command_line.extend_from_slice(args);
    command_line.extend(paths.iter().map(String::as_str));
    let out = run(&command_line);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let got = lines(&out);
    assert_eq!(got.len(), EXAMPLES.len(), "one line per file");
    EXAMPLES
        .iter()
        .zip(got)
        .map(|(stem, line)| {
            assert_eq!(line["file"], path(stem), "lines come in argument order");
            (*stem, line)
        })
        .collect()
}

fn key_of<'a>(lines: &'a HashMap<&str, Value>, stem: &str) -> &'a str {
    lines[stem]["key"]
        .as_str()
        .unwrap_or_else(|| panic!("{stem} has no key: {}", lines[stem]))
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The member names of a JSON object, in document order (`serde_json`'s `Map` sorts them).
struct MemberOrder(Vec<String>);

impl<'de> Deserialize<'de> for MemberOrder {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MemberOrder;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut m: M) -> Result<MemberOrder, M::Error> {
                let mut names = Vec::new();
                while let Some((k, IgnoredAny)) = m.next_entry::<String, IgnoredAny>()? {
                    names.push(k);
                }
                Ok(MemberOrder(names))
            }
        }
        d.deserialize_map(V)
    }
}

fn member_order(line: &str) -> Vec<String> {
    serde_json::from_str::<MemberOrder>(line)
        .unwrap_or_else(|e| panic!("not a JSON object ({e}): {line}"))
        .0
}

/// One row of the README's "Which files share a key" table.
#[derive(Debug, PartialEq)]
struct Claim {
    a: String,
    b: String,
    content_only: bool,
    native_same: bool,
    sub2api_same: bool,
}

/// The README's key table. A cell starting with "same" claims equal keys, "different"
/// different ones; anything else is a malformed table and fails the test.
fn readme_claims() -> Vec<Claim> {
    let readme = std::fs::read_to_string(format!("{}/{DIR}/README.md", env!("CARGO_MANIFEST_DIR")))
        .expect("read examples/requests/README.md");
    let table = readme
        .split("## Which files share a key")
        .nth(1)
        .expect("README has a 'Which files share a key' section");
    let verdict = |cell: &str| match cell.split_whitespace().next() {
        Some("same") => true,
        Some("different") => false,
        _ => panic!("README cell is neither same nor different: {cell:?}"),
    };
    table
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2) // header and separator rows
        .map(|row| {
            let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
            assert_eq!(cells.len(), 3, "README row: {row}");
            let names: Vec<&str> = cells[0].split('`').skip(1).step_by(2).collect();
            let content_only = names.last() == Some(&"--content-only");
            let files: Vec<&str> = names.into_iter().filter(|n| !n.starts_with('-')).collect();
            assert_eq!(files.len(), 2, "README row names two files: {row}");
            for f in &files {
                assert!(EXAMPLES.contains(f), "README names an unknown example {f}");
            }
            Claim {
                a: files[0].to_owned(),
                b: files[1].to_owned(),
                content_only,
                native_same: verdict(cells[1]),
                sub2api_same: verdict(cells[2]),
            }
        })
        .collect()
}

fn claim(a: &str, b: &str, content_only: bool, native_same: bool, sub2api_same: bool) -> Claim {
    let (a, b) = (a.to_owned(), b.to_owned());
    Claim {
        a,
        b,
        content_only,
        native_same,
        sub2api_same,
    }
}

#[test]
fn readme_states_the_promised_claims() {
    let claims = readme_claims();
    for want in [
        claim("chat-turn1", "chat-turn2", false, true, true),
        claim("chat-turn1", "chat-tools-reordered", false, true, false),
        claim("chat-turn1", "chat-cache-control", false, true, false),
        claim("chat-turn1", "chat-late-system", false, true, false),
        claim("responses-turn1", "responses-turn2", false, true, true),
        claim("chat-turn1", "chat-other-user", false, false, false),
        claim("chat-turn1", "chat-prompt-cache-key", false, false, false),
        claim("chat-turn1", "chat-prompt-cache-key", true, true, true),
    ] {
        assert!(
            claims.contains(&want),
            "README lacks {want:?}; it has {claims:#?}"
        );
    }
}

#[test]
fn keys_follow_the_readme_in_both_profiles() {
    let claims = readme_claims();
    let native = [keys(&[]), keys(&["--content-only"])];
    let sub2api = [
        keys(&["--profile", "sub2api"]),
        keys(&["--profile", "sub2api", "--content-only"]),
    ];
    for c in &claims {
        let pick = usize::from(c.content_only);
        for (profile, lines, same) in [
            ("native", &native[pick], c.native_same),
            ("sub2api", &sub2api[pick], c.sub2api_same),
        ] {
            let (ka, kb) = (key_of(lines, &c.a), key_of(lines, &c.b));
            assert_eq!(ka == kb, same, "{profile} {c:?}: {ka} vs {kb}");
        }
    }
}

#[test]
fn native_keys_are_32_hex_digits() {
    let lines = keys(&[]);
    for stem in EXAMPLES {
        let line = &lines[stem];
        match stem {
            "invalid-truncated" | "not-an-object" => assert!(line["key"].is_null(), "{line}"),
            _ => assert!(is_hex(key_of(&lines, stem), 32), "{line}"),
        }
        assert!(
            line.get("legacy_sha256").is_none(),
            "native has no legacy key: {line}"
        );
    }
    assert_eq!(lines["chat-turn1"]["source"], "content");
    assert_eq!(lines["responses-turn1"]["source"], "content");
    assert_eq!(
        lines["chat-prompt-cache-key"]["source"],
        "body:prompt_cache_key"
    );
}

#[test]
fn sub2api_keys_are_16_hex_digits_with_a_legacy_sha256() {
    let lines = keys(&["--profile=sub2api"]);
    for stem in EXAMPLES {
        let line = &lines[stem];
        match stem {
            "invalid-truncated" | "not-an-object" => {
                assert!(line["key"].is_null(), "{line}");
                assert!(line["legacy_sha256"].is_null(), "{line}");
            }
            _ => {
                assert!(is_hex(key_of(&lines, stem), 16), "{line}");
                let legacy = line["legacy_sha256"].as_str().unwrap_or_default();
                assert!(is_hex(legacy, 64), "{line}");
            }
        }
    }
    // The legacy key is a function of the same seed: equal keys, equal legacy keys.
    assert_eq!(
        lines["chat-turn1"]["legacy_sha256"],
        lines["chat-turn2"]["legacy_sha256"]
    );
    assert_ne!(
        lines["chat-turn1"]["legacy_sha256"],
        lines["chat-other-user"]["legacy_sha256"]
    );
    assert_eq!(
        lines["chat-prompt-cache-key"]["source"],
        "body:prompt_cache_key"
    );
}

#[test]
fn output_members_come_in_the_documented_order() {
    let turn1 = path("chat-turn1");
    let missing = path("does-not-exist");
    let cases: [(&[&str], &[&str]); 4] = [
        (&["key"], &["file", "source", "key", "error"]),
        (
            &["key", "--profile", "native"],
            &["file", "source", "key", "error"],
        ),
        (
            &["key", "--profile", "sub2api"],
            &["file", "source", "key", "error", "legacy_sha256"],
        ),
        (&["seed"], &["file", "seed", "error"]),
    ];
    for (args, want) in cases {
        let mut argv = args.to_vec();
        argv.extend([turn1.as_str(), missing.as_str()]);
        let out = run(&argv);
        let text = stdout(&out);
        assert_eq!(text.lines().count(), 2, "{args:?}: {text}");
        for line in text.lines() {
            assert_eq!(member_order(line), want, "{args:?}: {line}");
        }
    }
}

#[test]
fn a_session_id_header_decides_and_content_only_ignores_it() {
    for profile in ["native", "sub2api"] {
        let plain = keys(&["--profile", profile]);
        let header = keys(&["--profile", profile, "-H", "session_id: abc"]);
        let content_only = keys(&[
            "--profile",
            profile,
            "-H",
            "session_id: abc",
            "--content-only",
        ]);
        let hk = key_of(&header, "chat-turn1");
        for stem in EXAMPLES {
            // The header wins before the body is read: even the invalid body gets its key.
            assert_eq!(
                header[stem]["source"], "header:session_id",
                "{profile}: {}",
                header[stem]
            );
            assert_eq!(key_of(&header, stem), hk, "{profile} {stem}");
            assert!(
                header[stem]["error"].is_null(),
                "{profile}: {}",
                header[stem]
            );
            // --content-only: as without the header, but the body field is ignored too.
            let want = if stem == "chat-prompt-cache-key" {
                "chat-turn1"
            } else {
                stem
            };
            assert_eq!(
                content_only[stem]["key"], plain[want]["key"],
                "{profile} {stem}"
            );
        }
        assert_ne!(hk, key_of(&plain, "chat-turn1"), "{profile}");
        assert_eq!(content_only["chat-turn1"]["source"], "content", "{profile}");
        assert_eq!(content_only["not-an-object"]["source"], "none", "{profile}");
    }
}

#[test]
fn header_spellings_are_equivalent() {
    let file = path("chat-turn1");
    let key = |args: &[&str]| -> Value {
        let mut argv = vec!["key"];
        argv.extend_from_slice(args);
        argv.push(&file);
        let out = run(&argv);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        let line = lines(&out).remove(0);
        assert_eq!(line["source"], "header:session_id", "{args:?}");
        line["key"].clone()
    };
    let want = key(&["-H", "session_id: abc"]);
    assert_eq!(key(&["--header", "session_id: abc"]), want);
    assert_eq!(key(&["--header=session_id: abc"]), want);
    assert_eq!(key(&["-Hsession_id:abc"]), want);
    assert_eq!(key(&["-H", "Session_ID:   abc  "]), want);
    assert_ne!(key(&["-H", "session_id: abd"]), want);
    // A blank session_id falls through to conversation_id.
    let out = run(&[
        "key",
        "-H",
        "session_id:",
        "-H",
        "conversation_id: abc",
        &file,
    ]);
    assert_eq!(lines(&out)[0]["source"], "header:conversation_id");
}

#[test]
fn an_invalid_body_is_an_error_in_its_line_not_a_failure() {
    for profile in ["native", "sub2api"] {
        let out = run(&["key", "--profile", profile, &path("invalid-truncated")]);
        assert_eq!(out.status.code(), Some(0), "{profile}");
        let line = &lines(&out)[0];
        assert_eq!(line["source"], "none", "{line}");
        assert!(line["key"].is_null(), "{line}");
        let error = line["error"].as_str().unwrap_or_default();
        assert!(error.starts_with("unexpected_end at byte "), "{line}");
    }
    let out = run(&["seed", &path("invalid-truncated")]);
    assert_eq!(out.status.code(), Some(0));
    let line = &lines(&out)[0];
    assert!(line["seed"].is_null(), "{line}");
    assert!(
        line["error"]
            .as_str()
            .unwrap_or_default()
            .starts_with("unexpected_end"),
        "{line}"
    );
}

#[test]
fn a_body_that_is_not_an_object_has_no_key_and_no_error() {
    let lines = keys(&[]);
    let line = &lines["not-an-object"];
    assert_eq!(line["source"], "none");
    assert!(line["key"].is_null() && line["error"].is_null(), "{line}");
}

#[test]
fn an_unreadable_file_exits_1_and_still_gets_a_line() {
    let missing = path("does-not-exist");
    for cmd in ["key", "seed"] {
        let out = run(&[cmd, &missing, &path("chat-turn1")]);
        assert_eq!(out.status.code(), Some(1), "{cmd}");
        let got = lines(&out);
        assert_eq!(got.len(), 2, "{cmd}: the other file is still processed");
        assert_eq!(got[0]["file"], missing);
        assert!(
            got[0]["error"]
                .as_str()
                .unwrap_or_default()
                .contains("cannot read"),
            "{}",
            got[0]
        );
        assert!(got[1]["error"].is_null(), "{}", got[1]);
    }
    // A directory cannot be read as a body either.
    let out = run(&["key", DIR]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn usage_errors_exit_2_with_a_hint() {
    let turn1 = path("chat-turn1");
    let f = turn1.as_str();
    let cases: &[&[&str]] = &[
        &[],
        &["frobnicate", f],
        &["--frobnicate"],
        &["key"],
        &["seed"],
        &["key", "--frobnicate", f],
        &["key", "-x", f],
        &["key", "--profile", "go", f],
        &["key", "--profile=", f],
        &["key", f, "--profile"],
        &["key", "-H", "session_id abc", f],
        &["key", "-H", ": abc", f],
        &["key", f, "-H"],
        &["key", "--content-only=yes", f],
        &["seed", "--profile", "native", f],
        &["seed", "-H", "session_id: abc", f],
        &["seed", "--content-only", f],
    ];
    for args in cases {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}: {}", stdout(&out));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 2, "{args:?}: {err}");
        assert!(err.starts_with("stickykey: "), "{args:?}: {err}");
        assert!(err.contains("--help"), "{args:?}: {err}");
    }
}

#[test]
fn dash_reads_standard_input() {
    let body = std::fs::read(format!(
        "{}/{}",
        env!("CARGO_MANIFEST_DIR"),
        path("chat-turn1")
    ))
    .expect("read example");
    let file = path("chat-turn1");
    // Standard input is read once: the second `-` gets the same body, not an empty one.
    let out = stickykey(&["key", "-", &file, "-"], Some(&body));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let got = lines(&out);
    assert_eq!(got.len(), 3);
    assert_eq!(got[0]["file"], "-");
    assert_eq!(got[2]["file"], "-");
    assert!(got[0]["key"].is_string(), "{}", got[0]);
    assert_eq!(got[0]["key"], got[1]["key"]);
    assert_eq!(got[2]["key"], got[1]["key"]);

    let out = stickykey(&["seed", "-"], Some(&body));
    assert_eq!(lines(&out)[0]["file"], "-");
    // `--` ends the options; `-` after it is still standard input.
    let out = stickykey(&["key", "--", "-"], Some(&body));
    assert_eq!(lines(&out)[0]["key"], got[1]["key"]);
}

#[test]
fn seed_prints_the_sub2api_seed() {
    let files = [
        "chat-turn1",
        "chat-turn2",
        "chat-tools-reordered",
        "responses-turn1",
        "not-an-object",
    ];
    let paths: Vec<String> = files.iter().map(|s| path(s)).collect();
    for profile_args in [&[][..], &["--profile", "sub2api"][..]] {
        let mut argv = vec!["seed"];
        argv.extend_from_slice(profile_args);
        argv.extend(paths.iter().map(String::as_str));
        let out = run(&argv);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let got = lines(&out);
        let seed = |i: usize| got[i]["seed"].as_str().unwrap_or_default().to_owned();
        assert!(
            seed(0).starts_with("compat_cs_model=gpt-4o-mini|tools=["),
            "{}",
            got[0]
        );
        assert!(
            seed(0).contains("|first_user=\"A customer says"),
            "{}",
            got[0]
        );
        assert_eq!(seed(0), seed(1), "turn 2 keeps the seed");
        assert_ne!(seed(0), seed(2), "tool order is part of the sub2api seed");
        assert!(
            seed(3).starts_with("compat_cs_model=gpt-4.1|"),
            "{}",
            got[3]
        );
        assert!(
            seed(3).contains("|instructions=You are a code reviewer."),
            "{}",
            got[3]
        );
        assert!(
            got[4]["seed"].is_null() && got[4]["error"].is_null(),
            "{}",
            got[4]
        );
    }
}

#[test]
fn help_and_version() {
    for args in [
        &["--help"][..],
        &["-h"],
        &["key", "--help"],
        &["seed", "-h"],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(stdout(&out).contains("Usage:"), "{args:?}");
        assert!(stdout(&out).contains("stickykey key"), "{args:?}");
        assert!(out.stderr.is_empty(), "{args:?}");
    }
    let want = format!("stickykey {}\n", env!("CARGO_PKG_VERSION"));
    for flag in ["--version", "-V"] {
        let out = run(&[flag]);
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(stdout(&out), want);
    }
}

#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    // Far more output than a pipe buffer holds, so the writes must hit the closed pipe.
    let body = br#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#;
    let args: Vec<&str> = std::iter::once("key")
        .chain(std::iter::repeat_n("-", 5000))
        .collect();
    let mut child = Command::new(BIN)
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the stickykey binary");
    drop(child.stdout.take()); // the reader goes away before reading anything
    let mut stdin = child.stdin.take().expect("stdin is piped");
    stdin.write_all(body).expect("write stdin");
    drop(stdin);
    let out = child.wait_with_output().expect("wait for stickykey");
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    assert!(out.stderr.is_empty(), "stderr: {}", stderr(&out));
}

/// A fresh directory under the system temp dir for one test's files (removed on drop).
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("stickykey-cli-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create a temp dir");
        TempDir(dir)
    }

    fn write(&self, name: &str, body: &[u8]) -> String {
        let p = self.0.join(name);
        std::fs::write(&p, body).expect("write a temp file");
        p.to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A valid chat body of more than `target` bytes whose history has multi-byte UTF-8, escapes,
/// numbers and literals, so that 64 KiB chunks cut it inside its values.
fn long_chat(target: usize) -> String {
    let mut body = String::from(
        r#"{"model":"gpt-4o","temperature":0.25,"stream":true,"tools":[{"type":"function","function":{"name":"read","parameters":{"type":"object","properties":{"path":{"type":"string"}}}}}],"messages":[{"role":"system","content":"Sé breve. \u00e9\n\"quoted\" 日本語 😀"},{"role":"user","content":[{"type":"text","text":"Fix the parser, ünïcödé \\ slash \/"}]}"#,
    );
    let mut turn = 0;
    while body.len() < target {
        turn += 1;
        body.push_str(&format!(
            r#",{{"role":"assistant","content":"Schritt {turn}: prüfe 🦀 \u2028 \t {turn}e-3","tool_calls":[{{"id":"c{turn}","type":"function","function":{{"name":"read","arguments":"{{\"path\":\"/src/m{turn}.rs\",\"n\":{turn}.5e2,\"ok\":true}}"}}}}]}},{{"role":"tool","tool_call_id":"c{turn}","content":"fn f() -> Option<()> {{ None }} // ½ ∑ null false"}}"#
        ));
    }
    body.push_str("]}");
    body
}

/// Bodies beside the examples for the `--chunk-size` comparison: invalid ones (each refused
/// in its own way, some far past the first 64 KiB) and long valid ones.
fn chunk_bodies(dir: &TempDir) -> Vec<String> {
    let long = long_chat(150_000);
    let mut bad_utf8 = long.clone().into_bytes();
    bad_utf8.insert(120_000, 0xff);
    let mut late_truncation = long.clone().into_bytes();
    late_truncation.truncate(100_003);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty.json", Vec::new()),
        ("whitespace.json", b" \n\t ".to_vec()),
        (
            "truncated-in-string.json",
            br#"{"model":"gpt-4o","messages":[{"role":"user","content":"hel"#.to_vec(),
        ),
        (
            "truncated-in-escape.json",
            br#"{"model":"gpt-4o","messages":[{"role":"user","content":"a\u00"#.to_vec(),
        ),
        (
            "bad-escape.json",
            br#"{"model":"m","messages":[{"role":"user","content":"a\qb"}]}"#.to_vec(),
        ),
        (
            "lone-surrogate.json",
            br#"{"model":"m","messages":[{"role":"user","content":"x\ud800y"}]}"#.to_vec(),
        ),
        (
            "invalid-utf8-in-history.json",
            b"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":\"a\xc3(b\"}]}".to_vec(),
        ),
        (
            "trailing-garbage.json",
            br#"{"model":"m","messages":[{"role":"user","content":"hi"}]} x"#.to_vec(),
        ),
        (
            "duplicate-name.json",
            br#"{"model":"a","messages":[{"role":"user","content":"hi"}],"model":"b"}"#.to_vec(),
        ),
        (
            "bad-number.json",
            br#"{"model":"m","temperature":01,"messages":[{"role":"user","content":"hi"}]}"#
                .to_vec(),
        ),
        ("long-valid.json", long.into_bytes()),
        ("long-bad-utf8.json", bad_utf8),
        ("long-truncated.json", late_truncation),
    ];
    cases
        .into_iter()
        .map(|(name, body)| dir.write(name, &body))
        .collect()
}

#[test]
fn chunk_size_gives_the_same_lines_as_the_one_shot_calls() {
    let dir = TempDir::new("chunk-size");
    let examples = format!("{}/{DIR}", env!("CARGO_MANIFEST_DIR"));
    // Every file of examples/requests (README.md too: one more body that is not JSON).
    let mut files: Vec<String> = std::fs::read_dir(&examples)
        .expect("list examples/requests")
        .map(|e| e.expect("dir entry").path().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert!(files.len() > EXAMPLES.len(), "{files:?}");
    let extra = chunk_bodies(&dir);
    let examples_count = files.len();
    files.extend(extra);

    for profile in ["native", "sub2api"] {
        let modes: [&[&str]; 3] = [&[], &["--content-only"], &["-H", "session_id: abc"]];
        for mode in modes {
            let mut argv = vec!["key", "--profile", profile];
            argv.extend_from_slice(mode);
            let base = argv.len();
            argv.extend(files.iter().map(String::as_str));
            let want = run(&argv);
            assert_eq!(
                want.status.code(),
                Some(0),
                "{profile} {mode:?}: {}",
                stderr(&want)
            );
            assert_eq!(lines(&want).len(), files.len());
            if profile == "native" && mode.is_empty() {
                // The extra bodies are refused as meant (native refuses every one of them),
                // the long valid one has a key.
                for line in lines(&want).iter().skip(examples_count) {
                    let file = line["file"].as_str().unwrap_or_default();
                    let refused =
                        !file.ends_with("/empty.json") && !file.ends_with("/long-valid.json");
                    assert_eq!(line["error"].is_string(), refused, "{line}");
                    assert_eq!(
                        line["key"].is_string(),
                        file.ends_with("/long-valid.json"),
                        "{line}"
                    );
                }
            }
            for n in ["1", "7", "64", "65536"] {
                argv.splice(base..base, ["--chunk-size", n]);
                let got = run(&argv);
                argv.drain(base..base + 2);
                assert_eq!(got.status.code(), Some(0), "{profile} {mode:?} {n}");
                assert!(
                    got.stderr.is_empty(),
                    "{profile} {mode:?} {n}: {}",
                    stderr(&got)
                );
                if got.stdout != want.stdout {
                    for (g, w) in stdout(&got).lines().zip(stdout(&want).lines()) {
                        assert_eq!(g, w, "{profile} {mode:?} --chunk-size {n}");
                    }
                    panic!("{profile} {mode:?} --chunk-size {n}: output differs");
                }
            }
        }
    }
}

#[test]
fn chunk_size_also_reads_standard_input() {
    let body = std::fs::read(format!(
        "{}/{}",
        env!("CARGO_MANIFEST_DIR"),
        path("responses-turn2")
    ))
    .expect("read example");
    let want = stickykey(&["key", "-", "-"], Some(&body));
    let got = stickykey(&["key", "--chunk-size=5", "-", "-"], Some(&body));
    assert_eq!(got.status.code(), Some(0), "{}", stderr(&got));
    assert_eq!(stdout(&got), stdout(&want));
    assert!(lines(&got)[1]["key"].is_string(), "{}", stdout(&got));
}

#[test]
fn chunk_size_zero_or_junk_is_a_usage_error() {
    let turn1 = path("chat-turn1");
    let f = turn1.as_str();
    let cases: &[&[&str]] = &[
        &["key", "--chunk-size", "0", f],
        &["key", "--chunk-size=0", f],
        &["key", "--chunk-size", "-1", f],
        &["key", "--chunk-size", "abc", f],
        &["key", "--chunk-size", "1.5", f],
        &["key", "--chunk-size", "", f],
        &["key", "--chunk-size", "99999999999999999999999", f],
        &["key", f, "--chunk-size"],
        &["seed", "--chunk-size", "7", f],
    ];
    for args in cases {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}: {}", stdout(&out));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 2, "{args:?}: {err}");
        assert!(err.starts_with("stickykey: "), "{args:?}: {err}");
        assert!(err.contains("--help"), "{args:?}: {err}");
    }
    assert!(stdout(&run(&["--help"])).contains("--chunk-size N"));
}

#[test]
fn policy_flags_change_the_key_and_the_seed() {
    let key = |flags: &[&str], stems: &[&str]| -> Vec<String> {
        let mut argv = vec!["key", "--profile", "sub2api"];
        argv.extend_from_slice(flags);
        let paths: Vec<String> = stems.iter().map(|s| path(s)).collect();
        argv.extend(paths.iter().map(String::as_str));
        let out = run(&argv);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        lines(&out)
            .iter()
            .map(|l| l["key"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    // sub2api counts every system message; --leading-system-only only the leading ones.
    let late = ["chat-turn1", "chat-late-system"];
    let k = key(&[], &late);
    assert_ne!(
        k[0], k[1],
        "a late system message changes the default sub2api key"
    );
    let k = key(&["--leading-system-only"], &late);
    assert_eq!(k[0], k[1], "--leading-system-only ignores it");
    // --tools-as-set: the tools' order no longer matters.
    let reordered = ["chat-turn1", "chat-tools-reordered"];
    assert_ne!(key(&[], &reordered)[0], key(&[], &reordered)[1]);
    let k = key(&["--tools-as-set"], &reordered);
    assert_eq!(k[0], k[1], "--tools-as-set ignores the tools' order");

    // seed prints the Go variant's seed: the stable prefix has no model and no user message.
    let out = run(&["seed", "--stable-prefix", &path("chat-turn1")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let seed = lines(&out)[0]["seed"].as_str().unwrap().to_owned();
    assert!(seed.starts_with("compat_csp_|tools=[{"), "{seed}");
    assert!(seed.contains("|system=\"You are Dispatch"), "{seed}");
    assert!(
        !seed.contains("model=") && !seed.contains("first_user"),
        "{seed}"
    );

    // --require-user-anchor: a system prompt alone gets no content key and no seed.
    let body = br#"{"model":"m","messages":[{"role":"system","content":"S"}]}"#;
    let out = stickykey(
        &["key", "--profile", "sub2api", "--require-user-anchor", "-"],
        Some(body),
    );
    assert_eq!(lines(&out)[0]["source"], "none");
    let out = stickykey(&["seed", "--require-user-anchor", "-"], Some(body));
    assert!(lines(&out)[0]["seed"].is_null());
    let out = stickykey(&["seed", "-"], Some(body));
    assert_eq!(lines(&out)[0]["seed"], "compat_cs_model=m|system=\"S\"");
}

#[test]
fn signals_preset_and_format_flags() {
    let body = br#"{"model":"m","metadata":{"user_id":"user_a_account_b_session_S1"},"messages":[{"role":"user","content":"x"}]}"#;
    let out = stickykey(&["key", "-"], Some(body));
    assert!(String::from_utf8_lossy(&out.stdout).contains(r#""source":"content""#));
    for chunk in [None, Some("3")] {
        let mut args = vec!["key", "--signals", "extended"];
        if let Some(c) = chunk {
            args.extend(["--chunk-size", c]);
        }
        args.push("-");
        let out = stickykey(&args, Some(body));
        assert!(out.status.success());
        let line = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            line.contains(r#""source":"body:metadata.user_id""#),
            "{line}"
        );
    }
    let out = stickykey(
        &[
            "key",
            "--signals",
            "extended",
            "-H",
            "X-Session-Affinity: s",
            "-",
        ],
        Some(body),
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(r#""source":"header:x-session-affinity""#)
    );
    assert_eq!(
        run(&["key", "--signals", "bogus", "-"]).status.code(),
        Some(2)
    );
    assert_eq!(
        run(&["key", "--format", "bogus", "-"]).status.code(),
        Some(2)
    );
    // A stated format changes what native reads: an Anthropic body read as Chat ignores `system`.
    let anth = br#"{"model":"m","system":"be brief","messages":[{"role":"user","content":"x"}]}"#;
    let auto = stickykey(&["key", "-"], Some(anth));
    let chat = stickykey(&["key", "--format", "chat", "-"], Some(anth));
    assert_ne!(auto.stdout, chat.stdout);
}
