//! The C ABI (feature `capi`): `cargo test --release --features capi --test capi`.
//!
//! - the `sk_*` functions called from Rust give what the Rust API gives, and refuse bad
//!   arguments;
//! - the committed header `include/stickykey.h` declares the constants and functions of
//!   `src/capi.rs` (and, when cbindgen is installed, is exactly what it generates);
//! - `tests/c/capi_test.c`, compiled with the system C compiler and linked against the
//!   static library that `cargo rustc --crate-type staticlib` builds, passes; its expected
//!   keys, error kinds and offsets are computed here by the Rust API.
#![cfg(feature = "capi")]

use std::ffi::{c_char, CStr};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use stickykey::capi::*;
use stickykey::{Config, Fingerprinter};

const BODY_CHAT: &[u8] = br#"{"model":"gpt-4o","messages":[{"role":"system","content":"Be terse."},{"role":"user","content":"Hello"}]}"#;
const BODY_CACHE_KEY: &[u8] = br#"{"model":"gpt-4o","prompt_cache_key":"pck-42","input":"hi"}"#;
const BODY_INVALID: &[u8] = br#"{"model":"gpt-4o","messages":[}"#;
const BODY_BAD_UTF8: &[u8] = b"{\"model\":\"gpt-\xff\"}";
const BODY_NO_SEED: &[u8] = b"[1,2,3]";

/// The headers of the `session_id` case (the C test sends the same).
const SESSION_HEADERS: [(&str, &str); 2] = [
    ("Content-Type", "application/json"),
    ("Session_ID", "  abc-123 "),
];

const PROFILES: [(u32, fn() -> Config); 2] = [
    (SK_PROFILE_NATIVE, Config::native),
    (SK_PROFILE_SUB2API, Config::sub2api),
];

/// What a profile must answer, computed by the Rust API (the `struct expected` of the C test).
#[derive(Debug)]
struct Expected {
    session_id: (String, String),
    conversation_id: (String, String),
    cache_key: (String, String),
    content: (String, String),
    cache_key_content: (String, String),
    invalid: (&'static str, usize),
    bad_utf8: (&'static str, usize),
}

fn expected(config: Config) -> Expected {
    let mut fp = Fingerprinter::new(config);
    let mut key = |headers: &[(&str, &str)], body: &[u8], content_only: bool| {
        let key = if content_only {
            fp.content_key(body).unwrap().expect("a content key")
        } else {
            fp.session_key(headers, body).unwrap().expect("a key").key
        };
        (key.to_string(), key.legacy_sha256().unwrap_or_default())
    };
    let expected = Expected {
        session_id: key(&SESSION_HEADERS, BODY_CHAT, false),
        conversation_id: key(&[("conversation_id", "conv-9")], BODY_INVALID, false),
        cache_key: key(&[], BODY_CACHE_KEY, false),
        content: key(&[], BODY_CHAT, true),
        cache_key_content: key(&[], BODY_CACHE_KEY, true),
        invalid: refusal(&mut fp, BODY_INVALID),
        bad_utf8: refusal(&mut fp, BODY_BAD_UTF8),
    };
    // The cases must be distinct tiers, or the test would prove less than it claims.
    assert_ne!(expected.cache_key, expected.cache_key_content);
    assert_ne!(expected.session_id, expected.content);
    expected
}

fn refusal(fp: &mut Fingerprinter, body: &[u8]) -> (&'static str, usize) {
    let e = fp.content_key(body).unwrap_err();
    (e.kind().as_str(), e.offset())
}

// ---- the ABI called from Rust ----

fn text(buf: &[c_char]) -> String {
    // SAFETY: every call writes NUL-terminated text into these buffers.
    let s = unsafe { CStr::from_ptr(buf.as_ptr()) };
    s.to_str().unwrap().to_owned()
}

fn raw_headers(headers: &[(&str, &str)]) -> Vec<SkHeader> {
    headers
        .iter()
        .map(|(n, v)| SkHeader {
            name: n.as_ptr(),
            name_len: n.len(),
            value: v.as_ptr(),
            value_len: v.len(),
        })
        .collect()
}

/// `sk_session_key` on live buffers; returns the code and the `SkKey`.
fn session(fp: *mut SkFingerprinter, headers: &[(&str, &str)], body: &[u8]) -> (i32, SkKey) {
    let raw = raw_headers(headers);
    let mut out = std::mem::MaybeUninit::<SkKey>::uninit();
    // SAFETY: `fp` is live, the buffers are live locals, `out` is writable.
    let rc = unsafe {
        sk_session_key(
            fp,
            body.as_ptr(),
            body.len(),
            raw.as_ptr(),
            raw.len(),
            out.as_mut_ptr(),
        )
    };
    // SAFETY: with a non-NULL `out`, every call initializes it.
    (rc, unsafe { out.assume_init() })
}

fn content(fp: *mut SkFingerprinter, body: &[u8]) -> (i32, SkKey) {
    let mut out = std::mem::MaybeUninit::<SkKey>::uninit();
    // SAFETY: as in `session`.
    let rc = unsafe { sk_content_key(fp, body.as_ptr(), body.len(), out.as_mut_ptr()) };
    // SAFETY: as in `session`.
    (rc, unsafe { out.assume_init() })
}

fn assert_key(got: (i32, SkKey), source: i32, name: &str, want: &(String, String)) {
    let (rc, out) = got;
    assert_eq!(rc, SK_OK, "{name}");
    assert_eq!(out.source, source, "{name}");
    assert_eq!(text(&out.source_name), name);
    assert_eq!((text(&out.key), text(&out.legacy_sha256)), *want, "{name}");
    assert_eq!(out.key_len, want.0.len());
    assert_eq!((out.error_kind, out.error_offset), (SK_ERROR_KIND_NONE, 0));
}

fn assert_refused(got: (i32, SkKey), want: (&str, usize)) {
    let (rc, out) = got;
    assert_eq!(rc, SK_ERR_REFUSED);
    // SAFETY: `sk_error_kind_name` returns a static NUL-terminated string.
    let kind = unsafe { CStr::from_ptr(sk_error_kind_name(out.error_kind)) };
    assert_eq!((kind.to_str().unwrap(), out.error_offset), want);
    assert_eq!(
        (out.source, out.key_len, text(&out.key)),
        (SK_SOURCE_NONE, 0, String::new())
    );
}

#[test]
fn the_abi_gives_the_keys_of_the_rust_api() {
    for (profile, config) in PROFILES {
        let want = expected(config());
        let fp = sk_fingerprinter_new(profile);
        assert!(!fp.is_null());
        assert_key(
            session(fp, &SESSION_HEADERS, BODY_CHAT),
            SK_SOURCE_HEADER,
            "header:session_id",
            &want.session_id,
        );
        assert_key(
            session(fp, &[("conversation_id", "conv-9")], BODY_INVALID),
            SK_SOURCE_HEADER,
            "header:conversation_id",
            &want.conversation_id,
        );
        assert_key(
            session(fp, &[], BODY_CACHE_KEY),
            SK_SOURCE_BODY,
            "body:prompt_cache_key",
            &want.cache_key,
        );
        for _ in 0..2 {
            let chat = session(fp, &[], BODY_CHAT);
            assert_key(chat, SK_SOURCE_CONTENT, "content", &want.content);
            let chat = content(fp, BODY_CHAT);
            assert_key(chat, SK_SOURCE_CONTENT, "content", &want.content);
        }
        let ck = content(fp, BODY_CACHE_KEY);
        assert_key(ck, SK_SOURCE_CONTENT, "content", &want.cache_key_content);
        assert_refused(session(fp, &[], BODY_INVALID), want.invalid);
        assert_refused(content(fp, BODY_BAD_UTF8), want.bad_utf8);
        let (rc, out) = session(fp, &[], BODY_NO_SEED);
        assert_eq!(
            (rc, out.source, text(&out.key)),
            (SK_NO_KEY, SK_SOURCE_NONE, "".into())
        );
        assert_eq!(session(fp, &[], b"").0, SK_NO_KEY);
        // SAFETY: freed once.
        unsafe { sk_fingerprinter_free(fp) };
    }
}

#[test]
fn bad_arguments_are_refused_without_touching_memory() {
    let fp = sk_fingerprinter_new(SK_PROFILE_NATIVE);
    let mut out = std::mem::MaybeUninit::<SkKey>::uninit();
    let body = BODY_CHAT;
    let name = "session_id";
    let header = |name: *const u8, name_len: usize| SkHeader {
        name,
        name_len,
        value: b"abc".as_ptr(),
        value_len: 3,
    };
    // SAFETY: each call gets live buffers, or NULL pointers that the ABI must reject (or
    // accept as empty, with length 0) without reading them.
    unsafe {
        let o = out.as_mut_ptr();
        let null = std::ptr::null::<u8>();
        assert_eq!(
            sk_session_key(fp, null, 5, std::ptr::null(), 0, o),
            SK_ERR_INVALID_ARGUMENT
        );
        assert_eq!(out.assume_init_ref().source, SK_SOURCE_NONE);
        assert_eq!(
            sk_session_key(fp, null, 0, std::ptr::null(), 0, o),
            SK_NO_KEY
        );
        let huge = usize::MAX / 2 + 1; // more than isize::MAX bytes: refused before any read
        let rc = sk_session_key(fp, body.as_ptr(), huge, std::ptr::null(), 0, o);
        assert_eq!(rc, SK_ERR_INVALID_ARGUMENT);
        let rc = sk_session_key(fp, body.as_ptr(), body.len(), std::ptr::null(), 2, o);
        assert_eq!(rc, SK_ERR_INVALID_ARGUMENT);
        let bad = [header(null, 4)];
        let rc = sk_session_key(fp, body.as_ptr(), body.len(), bad.as_ptr(), 1, o);
        assert_eq!(rc, SK_ERR_INVALID_ARGUMENT);
        // A NULL name of length 0 is an empty name: not a tier, so the content decides.
        let empty = [header(null, 0)];
        let rc = sk_session_key(fp, body.as_ptr(), body.len(), empty.as_ptr(), 1, o);
        assert_eq!(
            (rc, out.assume_init_ref().source),
            (SK_OK, SK_SOURCE_CONTENT)
        );
        let good = [header(name.as_ptr(), name.len())];
        let rc = sk_session_key(fp, body.as_ptr(), body.len(), good.as_ptr(), 1, o);
        assert_eq!(
            (rc, out.assume_init_ref().source),
            (SK_OK, SK_SOURCE_HEADER)
        );
        let rc = sk_session_key(
            fp,
            body.as_ptr(),
            body.len(),
            good.as_ptr(),
            1,
            std::ptr::null_mut(),
        );
        assert_eq!(rc, SK_ERR_INVALID_ARGUMENT);
        let rc = sk_session_key(
            std::ptr::null_mut(),
            body.as_ptr(),
            body.len(),
            std::ptr::null(),
            0,
            o,
        );
        assert_eq!(rc, SK_ERR_INVALID_ARGUMENT);
        assert_eq!(sk_content_key(fp, null, 1, o), SK_ERR_INVALID_ARGUMENT);
        assert_eq!(
            sk_content_key(std::ptr::null_mut(), null, 0, o),
            SK_ERR_INVALID_ARGUMENT
        );
        sk_fingerprinter_free(fp);
        sk_fingerprinter_free(std::ptr::null_mut());
    }
    assert!(sk_fingerprinter_new(2).is_null());
    assert!(sk_fingerprinter_new(u32::MAX).is_null());
    // SAFETY: static NUL-terminated strings.
    let name = |code| {
        unsafe { CStr::from_ptr(sk_error_kind_name(code)) }
            .to_str()
            .unwrap()
    };
    assert_eq!(name(SK_ERROR_KIND_TOO_DEEP), "too_deep");
    assert_eq!(name(99), "unknown");
    // SAFETY: as above.
    let version = unsafe { CStr::from_ptr(sk_version()) };
    assert_eq!(version.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
}

// ---- the committed header ----

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `(name, value)` of each constant and the name of each function, in the source and in the
/// header: the header must declare exactly what the source exports.
#[test]
fn the_committed_header_declares_what_the_source_exports() {
    let source = std::fs::read_to_string(manifest_dir().join("src/capi.rs")).unwrap();
    let header = std::fs::read_to_string(manifest_dir().join("include/stickykey.h")).unwrap();
    let mut src_consts = Vec::new();
    let mut src_fns = Vec::new();
    for line in source.lines() {
        if let Some(rest) = line.strip_prefix("pub const SK_") {
            let (name, value) = rest.split_once(':').unwrap();
            let value = value
                .split_once('=')
                .unwrap()
                .1
                .trim()
                .trim_end_matches(';');
            src_consts.push((format!("SK_{name}"), value.to_owned()));
        }
        if let Some((_, rest)) = line.split_once("extern \"C\" fn ") {
            src_fns.push(rest.split_once('(').unwrap().0.to_owned());
        }
    }
    let mut h_consts = Vec::new();
    let mut h_fns = Vec::new();
    for line in header.lines() {
        if let Some(rest) = line.strip_prefix("#define SK_") {
            let (name, value) = rest.split_once(' ').unwrap();
            h_consts.push((format!("SK_{name}"), value.trim().to_owned()));
        } else if !line.starts_with([' ', '/', '#', '}']) {
            if let Some(at) = line.find("sk_") {
                let name = &line[at..];
                if let Some((name, _)) = name.split_once('(') {
                    h_fns.push(name.to_owned());
                }
            }
        }
    }
    assert!(
        src_consts.len() >= 20 && src_fns.len() == 6,
        "{src_consts:?} {src_fns:?}"
    );
    src_consts.sort();
    h_consts.sort();
    src_fns.sort();
    h_fns.sort();
    assert_eq!(
        src_consts, h_consts,
        "include/stickykey.h is stale: regenerate it (docs/capi.md)"
    );
    assert_eq!(
        src_fns, h_fns,
        "include/stickykey.h is stale: regenerate it (docs/capi.md)"
    );
}

/// The cbindgen version the committed header was generated with (CI installs this one).
const CBINDGEN_VERSION: &str = "0.29.4";

/// Byte-exact check against cbindgen, when that very version is installed (CI runs it as
/// `cbindgen --verify`, see docs/capi.md; here it is a convenience, skipped otherwise).
#[test]
fn the_committed_header_is_what_cbindgen_generates() {
    let mut candidates = vec![PathBuf::from("cbindgen")];
    if let Some(home) = std::env::var_os("CARGO_HOME")
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo").into_os_string()))
    {
        candidates.push(Path::new(&home).join("bin").join("cbindgen"));
    }
    let found = candidates.into_iter().find_map(|bin| {
        let out = Command::new(&bin).arg("--version").output().ok()?;
        Some((bin, String::from_utf8_lossy(&out.stdout).trim().to_owned()))
    });
    let Some((bin, version)) = found else {
        eprintln!("SKIPPED: cbindgen is not installed (cargo install cbindgen --locked --version {CBINDGEN_VERSION})");
        return;
    };
    if version != format!("cbindgen {CBINDGEN_VERSION}") {
        eprintln!("SKIPPED: {version} installed, the header is generated with {CBINDGEN_VERSION}");
        return;
    }
    let out = Command::new(bin)
        .current_dir(manifest_dir())
        .args(["--quiet", "--config", "cbindgen.toml", "src/capi.rs"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let committed = std::fs::read(manifest_dir().join("include/stickykey.h")).unwrap();
    assert!(
        out.stdout == committed,
        "include/stickykey.h is stale: regenerate it with\n  \
         cbindgen --config cbindgen.toml --output include/stickykey.h src/capi.rs"
    );
}

// ---- the C test program ----

/// A C string literal for `bytes`: printable ASCII as is, everything else (and `"`, `\`,
/// `?` against trigraphs) as three-digit octal escapes, which unlike `\x` cannot run on.
fn c_literal(bytes: &[u8]) -> String {
    let mut s = String::from("\"");
    for &b in bytes {
        if (b' '..=b'~').contains(&b) && !matches!(b, b'"' | b'\\' | b'?') {
            s.push(b as char);
        } else {
            write!(s, "\\{b:03o}").unwrap();
        }
    }
    s.push('"');
    s
}

/// The generated `capi_vectors.h`: bodies, expected values per profile, Rust's layout.
fn vectors_header() -> String {
    let mut h =
        String::from("/* Generated by tests/capi.rs: values computed by the Rust API. */\n");
    for (name, body) in [
        ("BODY_CHAT", BODY_CHAT),
        ("BODY_CACHE_KEY", BODY_CACHE_KEY),
        ("BODY_INVALID", BODY_INVALID),
        ("BODY_BAD_UTF8", BODY_BAD_UTF8),
        ("BODY_NO_SEED", BODY_NO_SEED),
    ] {
        writeln!(h, "#define {name} {}", c_literal(body)).unwrap();
    }
    let lit = |s: &str| c_literal(s.as_bytes());
    for ((_, config), name) in PROFILES.iter().zip(["EXPECTED_NATIVE", "EXPECTED_SUB2API"]) {
        let e = expected(config());
        let pair = |(k, l): &(String, String)| format!("{}, {}", lit(k), lit(l));
        writeln!(
            h,
            "static const struct expected {name} = {{\n    {},\n    {},\n    {},\n    {},\n    {},\n    {}, {},\n    {}, {},\n}};",
            pair(&e.session_id),
            pair(&e.conversation_id),
            pair(&e.cache_key),
            pair(&e.content),
            pair(&e.cache_key_content),
            lit(e.invalid.0),
            e.invalid.1,
            lit(e.bad_utf8.0),
            e.bad_utf8.1,
        )
        .unwrap();
    }
    for (name, value) in [
        ("RUST_SIZEOF_SKKEY", size_of::<SkKey>()),
        (
            "RUST_OFFSETOF_SKKEY_ERROR_OFFSET",
            std::mem::offset_of!(SkKey, error_offset),
        ),
        ("RUST_OFFSETOF_SKKEY_KEY", std::mem::offset_of!(SkKey, key)),
        (
            "RUST_OFFSETOF_SKKEY_SOURCE_NAME",
            std::mem::offset_of!(SkKey, source_name),
        ),
        (
            "RUST_OFFSETOF_SKKEY_LEGACY",
            std::mem::offset_of!(SkKey, legacy_sha256),
        ),
        ("RUST_SIZEOF_SKHEADER", size_of::<SkHeader>()),
    ] {
        writeln!(h, "#define {name} {value}u").unwrap();
    }
    writeln!(h, "#define RUST_VERSION {}", lit(env!("CARGO_PKG_VERSION"))).unwrap();
    h
}

fn run(cmd: &mut Command) -> std::process::Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Builds the static library in its own target directory (the outer cargo holds the lock on
/// its own) with the test's profile, and returns it with the system libraries it needs.
fn build_staticlib(work: &Path) -> (PathBuf, Vec<String>) {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    let target_dir = work.join("target");
    let release = !cfg!(debug_assertions);
    let mut cmd = Command::new(cargo);
    cmd.arg("rustc")
        .arg("--manifest-path")
        .arg(manifest_dir().join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir)
        .args(["--lib", "--features", "capi", "--crate-type", "staticlib"]);
    if release {
        cmd.arg("--release");
    }
    // rustc prints the libraries to link with ("note: native-static-libs: -lgcc_s ...");
    // cargo replays that note when the library is already fresh.
    cmd.args(["--", "--print", "native-static-libs"]);
    let out = run(&mut cmd);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let libs = stderr
        .lines()
        .find_map(|l| l.split_once("native-static-libs:"))
        .map(|(_, libs)| libs.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_else(|| {
            // Not printed: the usual set for a Rust static library on Unix.
            ["-lpthread", "-ldl", "-lm"].map(str::to_owned).to_vec()
        });
    let profile = if release { "release" } else { "debug" };
    (target_dir.join(profile).join("libstickykey.a"), libs)
}

#[test]
fn the_c_program_agrees_with_the_rust_api() {
    if cfg!(windows) {
        eprintln!("SKIPPED: the C test program is built with a Unix C compiler driver");
        return;
    }
    let cc = std::env::var_os("CC").unwrap_or_else(|| "cc".into());
    if Command::new(&cc).arg("--version").output().is_err() {
        eprintln!("SKIPPED: no C compiler ({}); set CC", cc.to_string_lossy());
        return;
    }
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("capi");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(work.join("capi_vectors.h"), vectors_header()).unwrap();
    let (lib, libs) = build_staticlib(&work);
    let exe = work.join("capi_test");
    run(Command::new(&cc)
        .args([
            "-std=c99",
            "-Wall",
            "-Wextra",
            "-Wpedantic",
            "-Werror",
            "-O1",
        ])
        .arg("-I")
        .arg(manifest_dir().join("include"))
        .arg("-I")
        .arg(&work)
        .arg(manifest_dir().join("tests/c/capi_test.c"))
        .arg(&lib)
        .args(&libs)
        .arg("-o")
        .arg(&exe));
    let out = run(&mut Command::new(&exe));
    print!("{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains(", 0 failed"));
}
