//! Configurable explicit signals (issue #5 item 1): the `sub2api` and `extended` presets,
//! header priority, blank values falling through, the body signals `prompt_cache_key`,
//! `previous_response_id` and Claude Code's `metadata.user_id` in both its forms; the fast
//! engine, the reference and the stream agree on all of it.

mod common;

use stickykey::{reference, Config, Fingerprinter, SessionKey, Signals, Source};

const BODY: &[u8] = br#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#;

fn configs() -> Vec<Config> {
    vec![
        Config::sub2api().with_signals(Signals::extended()),
        Config::native().with_signals(Signals::extended()),
    ]
}

/// The key three ways (fast, reference, streamed in 5-byte chunks), which must agree.
fn key(config: &Config, headers: &[(&str, &str)], body: &[u8]) -> Option<SessionKey> {
    let mut fp = Fingerprinter::new(config.clone());
    let fast = fp.session_key(headers, body).unwrap();
    let slow = reference::session_key(config, headers, body).unwrap();
    assert_eq!(
        fast,
        slow,
        "fast vs reference on {}",
        String::from_utf8_lossy(body)
    );
    let mut s = fp.stream(headers);
    for c in body.chunks(5) {
        s.push(c).unwrap();
    }
    assert_eq!(s.finish().unwrap(), fast, "stream vs one-shot");
    fast
}

#[test]
fn presets_list_what_clients_send() {
    assert_eq!(
        Signals::sub2api().headers(),
        ["session_id", "conversation_id"]
    );
    assert_eq!(Config::sub2api().signals(), &Signals::sub2api());
    assert_eq!(Config::native().signals(), &Signals::sub2api());
    let ext = Signals::extended();
    for h in [
        "x-claude-code-session-id",
        "session-id",
        "session_id",
        "conversation_id",
        "x-session-affinity",
        "x-session-id",
        "x-opencode-session",
        "x-conversation-id",
    ] {
        assert!(ext.headers().contains(&h), "{h}");
    }
    assert_eq!(ext.body().len(), 3);
}

#[test]
fn each_extended_header_is_a_tier_in_order() {
    for config in configs() {
        let names = config.signals().headers().to_vec();
        for (i, &name) in names.iter().enumerate() {
            // Alone, in another case: this header decides.
            let upper = name.to_ascii_uppercase();
            let k = key(&config, &[(&upper, " sess-1 ")], BODY).unwrap();
            assert_eq!(k.source, Source::Header(name));
            // With every later header present too: still this one.
            let mut hs: Vec<(&str, &str)> = vec![(name, "first")];
            for &later in &names[i + 1..] {
                hs.push((later, "later"));
            }
            hs.reverse();
            assert_eq!(
                key(&config, &hs, BODY).unwrap().source,
                Source::Header(name)
            );
            // Blank: falls through to the content.
            assert_eq!(
                key(&config, &[(name, "  ")], BODY).unwrap().source,
                Source::Content
            );
        }
        // Not a signal under the sub2api preset.
        let plain = Config::sub2api();
        let mut fp = Fingerprinter::new(plain);
        assert_eq!(
            fp.session_key([("x-session-id", "abc")], BODY)
                .unwrap()
                .unwrap()
                .source,
            Source::Content
        );
    }
}

#[test]
fn body_signals_in_order() {
    for config in configs() {
        let both = br#"{"prompt_cache_key":"pck","previous_response_id":"resp_1","metadata":{"user_id":"user_ab_account_11_session_s1"},"model":"m"}"#;
        assert_eq!(
            key(&config, &[], both).unwrap().source,
            Source::Body("prompt_cache_key")
        );
        let prev = br#"{"previous_response_id":"resp_1","metadata":{"user_id":"user_ab_account_11_session_s1"},"model":"m"}"#;
        assert_eq!(
            key(&config, &[], prev).unwrap().source,
            Source::Body("previous_response_id")
        );
        let meta = br#"{"metadata":{"user_id":"user_ab_account_11_session_s1"},"model":"m"}"#;
        assert_eq!(
            key(&config, &[], meta).unwrap().source,
            Source::Body("metadata.user_id")
        );
        // A header still wins over every body signal.
        assert_eq!(
            key(&config, &[("session_id", "h")], both).unwrap().source,
            Source::Header("session_id")
        );
        // Blank or malformed values fall through.
        for body in [
            &br#"{"previous_response_id":"  ","metadata":{"user_id":"no session part"},"model":"m"}"#[..],
            br#"{"previous_response_id":null,"metadata":{"user_id":"user_1_account_2_session_"},"model":"m"}"#,
            br#"{"metadata":{"user_id":"{\"device_id\":\"d\"}"},"model":"m"}"#,
            br#"{"metadata":"user_ab_account_11_session_s1","model":"m"}"#,
        ] {
            assert_eq!(key(&config, &[], body).unwrap().source, Source::Content);
        }
    }
}

#[test]
fn claude_code_user_id_keys_on_the_session_part() {
    for config in configs() {
        let legacy = |user: &str, account: &str, session: &str| {
            format!(
                r#"{{"model":"claude","metadata":{{"user_id":"user_{user}_account_{account}_session_{session}"}},"messages":[{{"role":"user","content":"x"}}]}}"#
            )
        };
        let json = |device: &str, session: &str| {
            format!(
                r#"{{"model":"claude","metadata":{{"user_id":"{{\"device_id\":\"{device}\",\"account_uuid\":\"acc\",\"session_id\":\"{session}\"}}"}},"messages":[]}}"#
            )
        };
        let a = key(&config, &[], legacy("aa", "u1", "S-1").as_bytes()).unwrap();
        let b = key(&config, &[], legacy("bb", "u2", "S-1").as_bytes()).unwrap();
        let c = key(&config, &[], legacy("aa", "u1", "S-2").as_bytes()).unwrap();
        let d = key(&config, &[], json("dev", "S-1").as_bytes()).unwrap();
        assert_eq!(a.source, Source::Body("metadata.user_id"));
        assert_eq!(a, b, "only the session part counts");
        assert_ne!(a, c);
        assert_eq!(a, d, "both forms give the session's key");
    }
    // sub2api hashes the session id itself: the same key as a session_id header with it.
    let config = Config::sub2api().with_signals(Signals::extended());
    let body = br#"{"metadata":{"user_id":"user_aa_account_u_session_S-9"}}"#;
    let from_body = key(&config, &[], body).unwrap().key;
    let from_header = key(&config, &[("session_id", "S-9")], BODY).unwrap().key;
    assert_eq!(from_body, from_header);
}

#[test]
fn the_default_preset_ignores_the_extended_members() {
    for config in [Config::sub2api(), Config::native()] {
        let plain = key(&config, &[], BODY).unwrap();
        let with = br#"{"model":"m","previous_response_id":"r","metadata":{"user_id":"user_a_account_b_session_c"},"messages":[{"role":"user","content":"hi"}]}"#;
        assert_eq!(key(&config, &[], with).unwrap(), plain);
    }
}

#[test]
fn extended_signals_fast_equals_reference_on_the_corpus_and_examples() {
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/requests"),
    )
    .unwrap()
    .map(|e| e.unwrap().path())
    .filter(|p| p.extension().is_some_and(|e| e == "json"))
    .collect();
    if let Some(dir) = common::shared_dir("signals corpus") {
        let bodies = dir.join("corpus/public/bodies");
        files.extend(
            std::fs::read_dir(bodies)
                .unwrap()
                .map(|e| e.unwrap().path()),
        );
    }
    for config in configs() {
        let mut fp = Fingerprinter::new(config.clone());
        for f in &files {
            let body = std::fs::read(f).unwrap();
            let fast = fp.session_key(&[] as &[(&str, &str)], &body);
            let slow = reference::session_key(&config, &[] as &[(&str, &str)], &body);
            match (&fast, &slow) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{}", f.display()),
                (a, b) => assert_eq!(a.is_err(), b.is_err(), "{}", f.display()),
            }
            let mut s = fp.stream(&[] as &[(&str, &str)]);
            let mut r = Ok(());
            for c in body.chunks(4096) {
                r = s.push(c);
                if r.is_err() {
                    break;
                }
            }
            let streamed = match r {
                Err(e) => Err(e),
                Ok(()) => s.finish(),
            };
            assert_eq!(streamed, fast, "{}", f.display());
        }
    }
}
