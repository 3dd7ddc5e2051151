//! A reverse proxy on loopback that routes LLM API requests by sticky-session key (issue #6).
//!
//! It starts N upstream servers itself (each echoes which upstream it is and the length and
//! hash of the body it got), derives each request's key with `stickykey::layer` (the body
//! frames go through the streaming API as they arrive and are handed on unchanged), and picks
//! the upstream with `stickykey::Router` (rendezvous hashing with bounded loads).
//!
//! ```sh
//! # Send the conversations of examples/requests/ through the proxy and show where they went:
//! cargo run --release --features tower --example proxy
//! # Serve on a fixed port until killed (for load tests; see examples/proxy-load.sh):
//! cargo run --release --features tower --example proxy -- serve --port 8080 --mode key
//! cargo run --release --features tower --example proxy -- serve --port 8080 --mode round-robin
//! # Print a realistic chat body of about 8 KB:
//! cargo run --release --features tower --example proxy -- body 8192
//! ```
//!
//! Options of `serve`: `--port P` (default 8080, loopback only), `--upstreams N` (4),
//! `--mode key|round-robin` (key), `--profile native|sub2api` (native), `--max-body BYTES`
//! (16 MiB), `--seconds S` (stop after S seconds; default: run until killed).

#[path = "proxy/app.rs"]
mod app;

use app::{Mode, Options, KEY_HEADER, UPSTREAM_HEADER};
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use stickykey::Config;
use tokio::net::TcpListener;

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = args.first().map_or("demo", String::as_str);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match command {
        "demo" => rt.block_on(demo()),
        "serve" => rt.block_on(serve(&args[1..])),
        "body" => {
            let size = args.get(1).map_or(Ok(8192), |s| s.parse())?;
            let conversation = args.get(2).map_or(Ok(0), |s| s.parse())?;
            println!("{}", app::chat_body(size, conversation));
            Ok(())
        }
        other => Err(format!("unknown command {other:?}: demo, serve or body").into()),
    }
}

/// Every file of examples/requests/ through a proxy over 4 upstreams, twice: with no header,
/// then with a `session_id` header.
async fn demo() -> Res<()> {
    let upstreams = app::start_upstreams(4, false).await?;
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let proxy = app::start_proxy(listener, &upstreams, Options::default())?;
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut files: Vec<_> = std::fs::read_dir("examples/requests")?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    println!("proxy on {} (native profile), upstreams:", proxy.addr);
    for u in &upstreams {
        println!("  {} on {}", u.id, u.addr);
    }
    for session in [None, Some("abc-123")] {
        println!();
        for path in &files {
            let body = std::fs::read(path)?;
            let mut req = Request::post(format!("http://{}/v1/chat/completions", proxy.addr))
                .header("content-type", "application/json");
            if let Some(s) = session {
                req = req.header("session_id", s);
            }
            let response = client.request(req.body(Full::from(body))?).await?;
            let header = |name| {
                response
                    .headers()
                    .get(name)
                    .map_or(String::new(), |v| v.to_str().unwrap_or_default().to_owned())
            };
            let (upstream, key) = (header(UPSTREAM_HEADER), header(KEY_HEADER));
            let echo = response.into_body().collect().await?.to_bytes();
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            let with = session.map_or(String::new(), |s| format!(" (session_id {s})"));
            let echo = String::from_utf8_lossy(&echo);
            println!("{name:28}{with} -> {upstream:10} key {key:32} echo {echo}");
        }
    }
    Ok(())
}

async fn serve(args: &[String]) -> Res<()> {
    let mut port = 8080u16;
    let mut n = 4usize;
    let mut options = Options::default();
    let mut seconds = None;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--port" => port = value()?.parse()?,
            "--upstreams" => n = value()?.parse()?,
            "--max-body" => options.max_body_bytes = value()?.parse()?,
            "--seconds" => seconds = Some(value()?.parse::<u64>()?),
            "--mode" => {
                options.mode = match value()?.as_str() {
                    "key" => Mode::Key,
                    "round-robin" | "rr" => Mode::RoundRobin,
                    m => return Err(format!("--mode key|round-robin, not {m}").into()),
                }
            }
            "--profile" => {
                options.config = match value()?.as_str() {
                    "native" => Config::native(),
                    "sub2api" => Config::sub2api(),
                    p => return Err(format!("--profile native|sub2api, not {p}").into()),
                }
            }
            f => return Err(format!("unknown option {f}").into()),
        }
    }
    let upstreams = app::start_upstreams(n, false).await?;
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let proxy = app::start_proxy(listener, &upstreams, options.clone())?;
    println!(
        "proxy on http://{} ({:?}, {:?} profile), {n} upstreams",
        proxy.addr,
        options.mode,
        options.config.profile()
    );
    match seconds {
        Some(s) => tokio::time::sleep(std::time::Duration::from_secs(s)).await,
        None => std::future::pending::<()>().await,
    }
    let served: Vec<u64> = upstreams
        .iter()
        .map(|u| u.served.load(std::sync::atomic::Ordering::Relaxed))
        .collect();
    println!("served per upstream: {served:?}");
    Ok(())
}
