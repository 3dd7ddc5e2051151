//! The example reverse proxy's parts: upstream servers that echo what they got, and the proxy
//! that routes by sticky-session key. Shared by `examples/proxy.rs` and `tests/proxy.rs`
//! (included with `#[path]`).

// Each includer uses part of it.
#![allow(dead_code)]

use http::{HeaderValue, Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use stickykey::layer::{KeyOutcome, KeyedBody, SessionKeyLayer};
use stickykey::{Config, Router};
use tokio::net::TcpListener;
use tower_layer::Layer;
use tower_service::Service;

/// Response header: the upstream that served the request.
pub const UPSTREAM_HEADER: &str = "x-upstream";
/// Request header the proxy adds for the upstream, and response header it returns: the key
/// (hex), `none` (nothing to key on), `error` (invalid body) or `off` (key derivation off).
pub const KEY_HEADER: &str = "x-stickykey";

/// One request as an upstream received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// The `x-stickykey` header the proxy added.
    pub key: String,
    /// Body length.
    pub len: usize,
    /// xxh3-64 of the body.
    pub hash: u64,
}

/// A running upstream server.
#[derive(Debug, Clone)]
pub struct Upstream {
    /// Its id in the router.
    pub id: String,
    /// Where it listens.
    pub addr: SocketAddr,
    /// What it received, in order (only when started with `record`).
    pub seen: Arc<Mutex<Vec<Seen>>>,
    /// How many requests it served.
    pub served: Arc<AtomicU64>,
}

/// The body hash the upstreams report.
pub fn body_hash(body: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(body)
}

/// Starts upstream `id` on an ephemeral loopback port: it reads each request body whole and
/// answers `{"upstream":ID,"len":N,"xxh3":"HEX"}`, recording what it got if `record`.
pub async fn start_upstream(id: String, record: bool) -> std::io::Result<Upstream> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let up = Upstream {
        id,
        addr: listener.local_addr()?,
        seen: Arc::default(),
        served: Arc::default(),
    };
    let shared = up.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let up = shared.clone();
            let service = service_fn(move |req: Request<Incoming>| {
                let up = up.clone();
                async move { Ok::<_, Infallible>(echo(&up, record, req).await) }
            });
            tokio::spawn(async move {
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(up)
}

async fn echo(up: &Upstream, record: bool, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let key = req
        .headers()
        .get(KEY_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let Ok(body) = req.into_body().collect().await else {
        return status(StatusCode::BAD_REQUEST);
    };
    let body = body.to_bytes();
    let (len, hash) = (body.len(), body_hash(&body));
    up.served.fetch_add(1, Ordering::Relaxed);
    if record {
        up.seen.lock().unwrap().push(Seen { key, len, hash });
    }
    let text = format!(
        r#"{{"upstream":"{}","len":{len},"xxh3":"{hash:016x}"}}"#,
        up.id
    );
    Response::new(Full::new(Bytes::from(text)))
}

fn status(code: StatusCode) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::default());
    *r.status_mut() = code;
    r
}

/// How the proxy picks an upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Key derivation on: the `SessionKeyLayer` reads the body, the `Router` picks the
    /// upstream of the key (requests without a key are spread).
    Key,
    /// Key derivation off: round robin, the body streamed through without being read.
    RoundRobin,
}

/// The proxy's settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// Key or round robin.
    pub mode: Mode,
    /// The stickykey profile and its limits.
    pub config: Config,
    /// Larger bodies get 413 (key mode).
    pub max_body_bytes: usize,
    /// The router's load bound.
    pub eps: f64,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            mode: Mode::Key,
            config: Config::native(),
            max_body_bytes: 16 << 20,
            eps: 0.25,
        }
    }
}

/// What every connection of the proxy shares.
struct Shared {
    router: Router,
    /// `(id, authority)` per upstream, in the router's order.
    upstreams: Vec<(String, String)>,
    client: Client<HttpConnector, KeyedBody<Incoming>>,
    next: AtomicUsize,
}

impl Shared {
    fn authority(&self, id: &str) -> &str {
        let (_, authority) = self.upstreams.iter().find(|(i, _)| i == id).unwrap();
        authority
    }

    /// Key mode: the layer has put a `KeyOutcome` in the extensions.
    async fn route_by_key(&self, mut req: Request<KeyedBody<Incoming>>) -> Response<Full<Bytes>> {
        let outcome = req.extensions().get::<KeyOutcome>().copied();
        let (label, key) = match outcome.map(|o| o.result) {
            Some(Ok(Some(k))) => (k.key.to_string(), Some(k.key)),
            Some(Ok(None)) => ("none".to_owned(), None),
            _ => ("error".to_owned(), None),
        };
        let value = HeaderValue::from_str(&label).unwrap();
        req.headers_mut().insert(KEY_HEADER, value.clone());
        // No key (or an invalid body, forwarded for the upstream to refuse): spread such
        // requests, still within the load bound.
        let lease = match &key {
            Some(k) => self.router.acquire(k),
            None => {
                let n = self.next.fetch_add(1, Ordering::Relaxed) as u64;
                self.router.acquire_bytes(&n.to_le_bytes())
            }
        };
        let id = lease.upstream();
        let mut response = self.forward(req, self.authority(id)).await;
        // The upstream's response has been read whole, so the request is over. A proxy that
        // streams responses would hold the lease until the response body ends.
        drop(lease);
        let headers = response.headers_mut();
        headers.insert(UPSTREAM_HEADER, HeaderValue::from_str(id).unwrap());
        headers.insert(KEY_HEADER, value);
        response
    }

    /// Round-robin mode: the body is not read.
    async fn route_round_robin(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let n = self.next.fetch_add(1, Ordering::Relaxed) % self.upstreams.len();
        let (id, authority) = &self.upstreams[n];
        let mut req = req.map(KeyedBody::passthrough);
        req.headers_mut()
            .insert(KEY_HEADER, HeaderValue::from_static("off"));
        let mut response = self.forward(req, authority).await;
        let headers = response.headers_mut();
        headers.insert(UPSTREAM_HEADER, HeaderValue::from_str(id).unwrap());
        headers.insert(KEY_HEADER, HeaderValue::from_static("off"));
        response
    }

    /// Sends `req` to the upstream at `authority` (method, path, headers and body unchanged)
    /// and reads its response (small echoes here).
    async fn forward(
        &self,
        mut req: Request<KeyedBody<Incoming>>,
        authority: &str,
    ) -> Response<Full<Bytes>> {
        let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
        let uri: Uri = match format!("http://{authority}{path}").parse() {
            Ok(uri) => uri,
            Err(_) => return status(StatusCode::BAD_REQUEST),
        };
        *req.uri_mut() = uri;
        let Ok(response) = self.client.request(req).await else {
            return status(StatusCode::BAD_GATEWAY);
        };
        let (parts, body) = response.into_parts();
        match body.collect().await {
            Ok(body) => Response::from_parts(parts, Full::new(body.to_bytes())),
            Err(_) => status(StatusCode::BAD_GATEWAY),
        }
    }
}

/// The inner tower service of key mode (behind the `SessionKeyLayer`).
#[derive(Clone)]
struct RouteByKey(Arc<Shared>);

impl Service<Request<KeyedBody<Incoming>>> for RouteByKey {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<KeyedBody<Incoming>>) -> Self::Future {
        let shared = Arc::clone(&self.0);
        Box::pin(async move { Ok(shared.route_by_key(req).await) })
    }
}

/// A running proxy.
#[derive(Debug)]
pub struct Proxy {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The accept loop (aborting it stops accepting connections).
    pub task: tokio::task::JoinHandle<()>,
}

/// Starts the proxy on `listener`, routing over `upstreams`.
pub fn start_proxy(
    listener: TcpListener,
    upstreams: &[Upstream],
    options: Options,
) -> std::io::Result<Proxy> {
    let router = Router::new(upstreams.iter().map(|u| u.id.clone()), options.eps)
        .map_err(std::io::Error::other)?;
    let client = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(256)
        .build(connector());
    let shared = Arc::new(Shared {
        router,
        upstreams: upstreams
            .iter()
            .map(|u| (u.id.clone(), u.addr.to_string()))
            .collect(),
        client,
        next: AtomicUsize::new(0),
    });
    let keyed = SessionKeyLayer::new(options.config)
        .max_body_bytes(options.max_body_bytes)
        .layer(RouteByKey(Arc::clone(&shared)));
    let addr = listener.local_addr()?;
    let mode = options.mode;
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let io = TokioIo::new(stream);
            match mode {
                Mode::Key => {
                    let service = TowerToHyperService::new(keyed.clone());
                    tokio::spawn(async move {
                        let _ = http1::Builder::new().serve_connection(io, service).await;
                    });
                }
                Mode::RoundRobin => {
                    let shared = Arc::clone(&shared);
                    let service = service_fn(move |req: Request<Incoming>| {
                        let shared = Arc::clone(&shared);
                        async move { Ok::<_, Infallible>(shared.route_round_robin(req).await) }
                    });
                    tokio::spawn(async move {
                        let _ = http1::Builder::new().serve_connection(io, service).await;
                    });
                }
            }
        }
    });
    Ok(Proxy { addr, task })
}

fn connector() -> HttpConnector {
    let mut c = HttpConnector::new();
    c.set_nodelay(true);
    c
}

/// Starts `n` upstreams `upstream-0`, ... on ephemeral loopback ports.
pub async fn start_upstreams(n: usize, record: bool) -> std::io::Result<Vec<Upstream>> {
    let mut v = Vec::with_capacity(n);
    for i in 0..n {
        v.push(start_upstream(format!("upstream-{i}"), record).await?);
    }
    Ok(v)
}

/// A realistic Chat Completions body of about `size` bytes: a system prompt, two tools and a
/// conversation history of `turns` long enough to reach the size. `conversation` changes the
/// first user message (so the key).
pub fn chat_body(size: usize, conversation: usize) -> String {
    const PROSE: &str = "The quarterly report shows revenue growth across all regions, with the \
        strongest gains in the enterprise segment; operating costs rose more slowly than sales, \
        and the team expects the new pricing model to improve margins next year. ";
    let mut messages = vec![
        String::from(
            r#"{"role":"system","content":"You are a careful financial analyst. Answer in short paragraphs, cite the figures you use, and say when data is missing."}"#,
        ),
        format!(
            r#"{{"role":"user","content":"Conversation {conversation}: summarize the attached report and list three risks."}}"#
        ),
    ];
    let tools = r#"[{"type":"function","function":{"name":"lookup_metric","description":"Fetch one metric of the report by name and period","parameters":{"type":"object","properties":{"name":{"type":"string"},"period":{"type":"string","enum":["Q1","Q2","Q3","Q4"]}},"required":["name"]}}},{"type":"function","function":{"name":"plot","description":"Plot a series of values","parameters":{"type":"object","properties":{"values":{"type":"array","items":{"type":"number"}},"title":{"type":"string"}},"required":["values"]}}}]"#;
    let mut len = 300 + tools.len() + messages.iter().map(String::len).sum::<usize>();
    let mut turn = 0;
    while len < size {
        let role = if turn % 2 == 0 { "assistant" } else { "user" };
        let want = (size - len).clamp(40, 1500);
        let mut text = String::new();
        while text.len() + PROSE.len() <= want {
            text.push_str(PROSE);
        }
        text.push_str(&PROSE[..(want - text.len()).min(PROSE.len())]);
        let m = format!(r#"{{"role":"{role}","content":"Turn {turn}. {text}"}}"#);
        len += m.len() + 1;
        messages.push(m);
        turn += 1;
    }
    format!(
        r#"{{"model":"gpt-4o","messages":[{}],"tools":{tools},"temperature":0.2,"stream":false}}"#,
        messages.join(",")
    )
}
