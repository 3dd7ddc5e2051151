//! The example reverse proxy (`examples/proxy.rs`, feature `tower`), in-process on ephemeral
//! loopback ports: every turn of a conversation reaches one upstream (the one `Router` prefers
//! for the key), bodies arrive byte-identical, different conversations spread, a header tier
//! wins over the body, an invalid body is forwarded, a too-large `content-length` gets 413.
//! Requests are sent one at a time, so the load bound never moves a key (no timing involved).
#![cfg(feature = "tower")]

#[path = "../examples/proxy/app.rs"]
mod app;

use app::{body_hash, Mode, Options, Seen, Upstream, KEY_HEADER, UPSTREAM_HEADER};
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use std::collections::{BTreeSet, HashMap};
use std::io::{Read, Write};
use std::net::SocketAddr;
use stickykey::{Config, Fingerprinter, Router};
use tokio::net::TcpListener;

const LIMIT: usize = 256 << 10;

struct Reply {
    status: StatusCode,
    upstream: String,
    key: String,
    echo: String,
}

struct Harness {
    upstreams: Vec<Upstream>,
    proxy: SocketAddr,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Harness {
    async fn start(mode: Mode) -> Harness {
        let upstreams = app::start_upstreams(4, true).await.unwrap();
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let options = Options {
            mode,
            max_body_bytes: LIMIT,
            ..Options::default()
        };
        let proxy = app::start_proxy(listener, &upstreams, options).unwrap();
        Harness {
            upstreams,
            proxy: proxy.addr,
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// Sends `body`, checks that the upstream got it byte for byte, returns the reply.
    async fn send(&self, headers: &[(&'static str, &'static str)], body: &[u8]) -> Reply {
        let mut req = Request::post(format!("http://{}/v1/chat/completions", self.proxy))
            .header("content-type", "application/json");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(Full::new(Bytes::copy_from_slice(body))).unwrap();
        let response = self.client.request(req).await.unwrap();
        let header = |name| {
            response
                .headers()
                .get(name)
                .map_or("", |v| v.to_str().unwrap())
                .to_owned()
        };
        let (status, upstream, key) = (
            response.status(),
            header(UPSTREAM_HEADER),
            header(KEY_HEADER),
        );
        let echo = response.into_body().collect().await.unwrap().to_bytes();
        let reply = Reply {
            status,
            upstream,
            key,
            echo: String::from_utf8(echo.to_vec()).unwrap(),
        };
        if reply.status == StatusCode::OK {
            let want = format!(
                r#"{{"upstream":"{}","len":{},"xxh3":"{:016x}"}}"#,
                reply.upstream,
                body.len(),
                body_hash(body)
            );
            assert_eq!(reply.echo, want, "the upstream got the same bytes");
            let up = self.upstream(&reply.upstream);
            let last = up.seen.lock().unwrap().last().cloned();
            assert_eq!(
                last,
                Some(Seen {
                    key: reply.key.clone(),
                    len: body.len(),
                    hash: body_hash(body),
                })
            );
        }
        reply
    }

    fn upstream(&self, id: &str) -> &Upstream {
        self.upstreams.iter().find(|u| u.id == id).unwrap()
    }

    /// The router the proxy has (same ids, so the same preferences).
    fn router(&self) -> Router {
        Router::new(self.upstreams.iter().map(|u| u.id.clone()), 0.25).unwrap()
    }
}

fn example(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/examples/requests/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conversations_stick_and_bodies_arrive_intact() {
    let h = Harness::start(Mode::Key).await;
    let router = h.router();
    let mut fp = Fingerprinter::new(Config::native());

    // examples/requests/README.md, native profile: files of one group share a key.
    let groups: &[&[&str]] = &[
        &[
            "chat-turn1",
            "chat-turn2",
            "chat-tools-reordered",
            "chat-cache-control",
            "chat-late-system",
        ],
        &["responses-turn1", "responses-turn2"],
        &["chat-other-user"],
        &["chat-prompt-cache-key"],
    ];
    let mut keys = BTreeSet::new();
    for group in groups {
        let mut where_ = BTreeSet::new();
        for name in *group {
            let body = example(name);
            let reply = h.send(&[], &body).await;
            assert_eq!(reply.status, StatusCode::OK);
            let key = fp.session_key(&HeaderMap::new(), &body).unwrap().unwrap();
            assert_eq!(reply.key, key.to_string(), "{name}");
            assert_eq!(reply.upstream, router.preferred(&key.key), "{name}");
            where_.insert(reply.upstream);
            keys.insert(reply.key);
        }
        assert_eq!(where_.len(), 1, "one upstream for {group:?}");
    }
    assert_eq!(keys.len(), groups.len(), "one key per group");

    // Many conversations, their turns interleaved, history growing from 2 KB to 200 KB.
    let mut upstream_of: HashMap<usize, String> = HashMap::new();
    for size in [2_000, 8_000, 200_000] {
        for c in 0..24 {
            let body = app::chat_body(size, c);
            let reply = h.send(&[], body.as_bytes()).await;
            assert_eq!(reply.status, StatusCode::OK);
            let first = upstream_of
                .entry(c)
                .or_insert_with(|| reply.upstream.clone());
            assert_eq!(*first, reply.upstream, "conversation {c} at {size} bytes");
        }
    }
    let used: BTreeSet<_> = upstream_of.values().collect();
    assert!(used.len() >= 3, "24 conversations spread: {used:?}");

    // A header tier wins over any body, even an invalid one (never read).
    let a = h
        .send(&[("session_id", "abc-123")], &example("chat-turn1"))
        .await;
    let b = h
        .send(&[("session_id", "abc-123")], &example("invalid-truncated"))
        .await;
    assert_eq!((a.status, b.status), (StatusCode::OK, StatusCode::OK));
    assert_eq!(a.key, b.key);
    assert_eq!(a.upstream, b.upstream);

    // No header: an invalid body is forwarded unchanged, marked, spread like keyless ones.
    let bad = h.send(&[], &example("invalid-truncated")).await;
    assert_eq!(bad.status, StatusCode::OK);
    assert_eq!(bad.key, "error");
    let none = h.send(&[], &example("not-an-object")).await;
    assert_eq!(none.key, "none");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_large_content_length_gets_413() {
    let h = Harness::start(Mode::Key).await;
    let addr = h.proxy;
    // Headers only: the proxy answers from the content-length without reading a body, so
    // the connection closes with nothing unread (no reset racing the response).
    let head = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        write!(
            s,
            "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
             content-length: {}\r\n\r\n",
            LIMIT + 1
        )
        .unwrap();
        let mut buf = [0u8; 256];
        let n = s.read(&mut buf).unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    })
    .await
    .unwrap();
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    for u in &h.upstreams {
        assert!(u.seen.lock().unwrap().is_empty());
    }
    // At the limit: forwarded.
    let body = app::chat_body(LIMIT - 100, 7);
    assert!(body.len() <= LIMIT);
    assert_eq!(h.send(&[], body.as_bytes()).await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_robin_mode_forwards_without_reading() {
    let h = Harness::start(Mode::RoundRobin).await;
    let body = example("chat-turn1");
    let mut seen = Vec::new();
    for _ in 0..8 {
        let reply = h.send(&[], &body).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.key, "off");
        seen.push(reply.upstream);
    }
    // Round robin: every upstream twice, in turn.
    assert_eq!(seen[..4], seen[4..]);
    assert_eq!(seen[..4].iter().collect::<BTreeSet<_>>().len(), 4);
}
