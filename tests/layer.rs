//! `stickykey::layer` (feature `tower`): the body handed on is the body received (bytes, frame
//! boundaries, trailers, errors), the key in the extensions is `session_key`'s, header tiers
//! read nothing, bodies over the limit get 413 without reaching the inner service, invalid
//! bodies are forwarded with the error in the outcome.
#![cfg(feature = "tower")]

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use http_body::{Body, Frame};
use proptest::prelude::*;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use stickykey::layer::{attach_key, BodyTooLarge, KeyOutcome, KeyedBody, SessionKeyLayer};
use stickykey::{Config, ErrorKind, Fingerprinter, Limits, SessionKey, Source};
use tower_layer::Layer;
use tower_service::Service;

/// The error of a [`TestBody`].
#[derive(Debug, Clone, PartialEq, Eq)]
struct BodyFailed(&'static str);

impl std::fmt::Display for BodyFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}
impl std::error::Error for BodyFailed {}

/// A body that yields given frames, optionally `Pending` (self-woken) before each, and counts
/// the polls that returned a frame.
struct TestBody {
    frames: VecDeque<Result<Frame<Bytes>, BodyFailed>>,
    pending: bool,
    yielded: bool,
    taken: Arc<AtomicUsize>,
}

impl TestBody {
    fn new(chunks: &[&[u8]]) -> TestBody {
        TestBody {
            frames: chunks
                .iter()
                .map(|c| Ok(Frame::data(Bytes::copy_from_slice(c))))
                .collect(),
            pending: false,
            yielded: false,
            taken: Arc::default(),
        }
    }
}

impl Body for TestBody {
    type Data = Bytes;
    type Error = BodyFailed;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyFailed>>> {
        if self.pending && !self.yielded {
            self.yielded = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.yielded = false;
        let frame = self.frames.pop_front();
        if frame.is_some() {
            self.taken.fetch_add(1, Ordering::Relaxed);
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.frames.is_empty()
    }
}

/// Runs a future whose wake-ups all come from its own polls (no I/O).
fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

/// What the inner service saw.
#[derive(Debug, Default)]
struct Seen {
    called: bool,
    outcome: Option<KeyOutcome>,
    key: Option<SessionKey>,
    buffered_at_call: usize,
    frames_taken_at_call: usize,
    data: Vec<Bytes>,
    trailers: Option<HeaderMap>,
    error: Option<BodyFailed>,
}

/// An inner service that reads the whole body it gets and answers with what it saw.
#[derive(Clone, Default)]
struct Capture {
    taken: Arc<AtomicUsize>,
}

impl Service<Request<KeyedBody<TestBody>>> for Capture {
    type Response = Response<Seen>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Seen>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<KeyedBody<TestBody>>) -> Self::Future {
        let taken = self.taken.load(Ordering::Relaxed);
        Box::pin(async move {
            let mut seen = Seen {
                called: true,
                outcome: req.extensions().get::<KeyOutcome>().copied(),
                key: req.extensions().get::<SessionKey>().copied(),
                buffered_at_call: req.body().buffered_bytes(),
                frames_taken_at_call: taken,
                ..Seen::default()
            };
            let mut body = req.into_body();
            while let Some(frame) =
                std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await
            {
                match frame {
                    Err(e) => {
                        seen.error = Some(e);
                        break;
                    }
                    Ok(frame) => match frame.into_data() {
                        Ok(d) => seen.data.push(d),
                        Err(frame) => seen.trailers = frame.into_trailers().ok(),
                    },
                }
            }
            assert!(body.is_end_stream() || seen.error.is_some());
            Ok(Response::new(seen))
        })
    }
}

fn run(layer: &SessionKeyLayer, headers: &HeaderMap, body: TestBody) -> Response<Seen> {
    let capture = Capture {
        taken: Arc::clone(&body.taken),
    };
    let mut service = layer.layer(capture);
    let mut req = Request::post("/v1/chat/completions").body(body).unwrap();
    *req.headers_mut() = headers.clone();
    block_on(service.call(req)).unwrap()
}

fn example(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/examples/requests/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn examples() -> Vec<Vec<u8>> {
    let dir = format!("{}/examples/requests", env!("CARGO_MANIFEST_DIR"));
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    v.sort();
    v.into_iter().map(|p| std::fs::read(p).unwrap()).collect()
}

fn session(value: &'static str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("session_id", HeaderValue::from_static(value));
    h
}

fn chunks_at<'a>(body: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = cuts.iter().map(|&c| c % (body.len() + 1)).collect();
    cuts.sort_unstable();
    let mut out = Vec::new();
    let mut at = 0;
    for c in cuts.into_iter().chain([body.len()]) {
        out.push(&body[at..c]); // empty frames too: a body may send them
        at = c;
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 192,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Any body (the examples, damaged copies of them, random bytes), cut anywhere, with or
    /// without a header tier, frames delivered at once or after a `Pending`, with or without
    /// trailers: the inner service gets the same frames and the key of `session_key`.
    #[test]
    fn same_frames_and_the_one_shot_key(
        pick in 0usize..64,
        damage in prop::option::of((any::<usize>(), any::<u8>())),
        truncate in prop::option::of(any::<usize>()),
        random in prop::collection::vec(any::<u8>(), 0..300),
        cuts in prop::collection::vec(any::<usize>(), 0..12),
        header in 0u8..3,
        native in any::<bool>(),
        pending in any::<bool>(),
        trailers in any::<bool>(),
    ) {
        let all = examples();
        let mut body = if pick < all.len() * 3 { all[pick % all.len()].clone() } else { random };
        if let Some((at, byte)) = damage {
            if !body.is_empty() {
                let n = body.len();
                body[at % n] = byte;
            }
        }
        if let Some(at) = truncate {
            body.truncate(at % (body.len() + 1));
        }
        let headers = match header {
            0 => HeaderMap::new(),
            1 => session("conv-42"),
            _ => session("   "), // blank: falls through to the body
        };
        let config = if native { Config::native() } else { Config::sub2api() };
        let chunks = chunks_at(&body, &cuts);
        let mut test_body = TestBody::new(&chunks);
        test_body.pending = pending;
        let mut sent_trailers = None;
        if trailers {
            let mut t = HeaderMap::new();
            t.insert("x-checksum", HeaderValue::from_static("abc"));
            test_body.frames.push_back(Ok(Frame::trailers(t.clone())));
            sent_trailers = Some(t);
        }
        let layer = SessionKeyLayer::new(config.clone());
        let seen = run(&layer, &headers, test_body).into_body();

        prop_assert!(seen.called);
        let got: Vec<&[u8]> = seen.data.iter().map(|b| &b[..]).collect();
        prop_assert_eq!(&got, &chunks, "same frames, same boundaries");
        prop_assert_eq!(seen.trailers, sent_trailers);
        prop_assert_eq!(seen.error, None);

        let want = Fingerprinter::new(config).session_key(&headers, &body);
        let outcome = seen.outcome.unwrap();
        prop_assert_eq!(outcome.result, want);
        prop_assert_eq!(seen.key, want.ok().flatten());
        match outcome.result {
            Ok(Some(k)) if matches!(k.source, Source::Header(_)) => {
                prop_assert_eq!(outcome.bytes_read, 0);
                prop_assert_eq!(seen.frames_taken_at_call, 0);
            }
            Ok(_) => prop_assert_eq!(outcome.bytes_read, body.len()),
            Err(_) => prop_assert!(outcome.bytes_read <= body.len()),
        }
        prop_assert_eq!(seen.buffered_at_call, outcome.bytes_read);
    }
}

#[test]
fn header_tier_reads_no_frame() {
    let layer = SessionKeyLayer::new(Config::native()).max_body_bytes(10);
    // Invalid and over the limit: neither matters when a header decides.
    let body = example("invalid-truncated.json");
    let chunks: Vec<&[u8]> = body.chunks(7).collect();
    let seen = run(&layer, &session("abc"), TestBody::new(&chunks)).into_body();
    let outcome = seen.outcome.unwrap();
    assert_eq!(outcome.key().unwrap().source, Source::Header("session_id"));
    assert_eq!(outcome.bytes_read, 0);
    assert_eq!(seen.frames_taken_at_call, 0);
    assert_eq!(seen.buffered_at_call, 0);
    assert_eq!(seen.data.concat(), body);
}

#[test]
fn content_tier_key_in_the_extensions() {
    let layer = SessionKeyLayer::new(Config::sub2api());
    let body = example("chat-turn2.json");
    let chunks: Vec<&[u8]> = body.chunks(100).collect();
    let seen = run(&layer, &HeaderMap::new(), TestBody::new(&chunks)).into_body();
    let want = Fingerprinter::new(Config::sub2api())
        .session_key(&HeaderMap::new(), &body)
        .unwrap()
        .unwrap();
    assert_eq!(want.source, Source::Content);
    assert_eq!(seen.key, Some(want));
    // Every frame was read before the call: the key needs the whole body.
    assert_eq!(seen.frames_taken_at_call, chunks.len());
    assert_eq!(seen.data.concat(), body);
}

#[test]
fn over_the_limit_is_413_and_the_inner_service_is_not_called() {
    let body = example("chat-turn2.json"); // 1294 bytes
    let layer = SessionKeyLayer::new(Config::native()).max_body_bytes(1000);
    let chunks: Vec<&[u8]> = body.chunks(100).collect();

    // No content-length: refused once the bytes read pass the limit.
    let response = run(&layer, &HeaderMap::new(), TestBody::new(&chunks));
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        response.extensions().get::<BodyTooLarge>(),
        Some(&BodyTooLarge {
            limit: 1000,
            content_length: None
        })
    );
    assert!(!response.body().called);

    // A content-length over the limit: refused before reading anything.
    let mut headers = HeaderMap::new();
    headers.insert("content-length", HeaderValue::from(body.len()));
    let test_body = TestBody::new(&chunks);
    let taken = Arc::clone(&test_body.taken);
    let response = run(&layer, &headers, test_body);
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let err = response.extensions().get::<BodyTooLarge>().unwrap();
    assert_eq!(err.content_length, Some(body.len() as u64));
    assert!(err.to_string().contains("1000"));
    assert!(!response.body().called);
    assert_eq!(taken.load(Ordering::Relaxed), 0);

    // Exactly at the limit: accepted.
    let layer = SessionKeyLayer::new(Config::native()).max_body_bytes(body.len());
    let seen = run(&layer, &headers, TestBody::new(&chunks)).into_body();
    assert!(seen.called);
    assert!(seen.outcome.unwrap().key().is_some());
    assert_eq!(seen.data.concat(), body);
}

#[test]
fn invalid_body_is_forwarded_with_the_error() {
    let layer = SessionKeyLayer::new(Config::native());
    let body = example("invalid-truncated.json");
    let chunks: Vec<&[u8]> = body.chunks(50).collect();
    let seen = run(&layer, &HeaderMap::new(), TestBody::new(&chunks)).into_body();
    let err = seen.outcome.unwrap().error().unwrap();
    assert_eq!(err.kind(), ErrorKind::UnexpectedEnd);
    assert_eq!(err.offset(), body.len());
    assert_eq!(seen.key, None);
    assert_eq!(seen.data.concat(), body);
}

#[test]
fn early_error_stops_reading_and_streams_the_rest() {
    let layer = SessionKeyLayer::new(Config::native());
    let mut body = b"x".to_vec();
    body.extend(std::iter::repeat_n(b' ', 100_000));
    let chunks: Vec<&[u8]> = body.chunks(1000).collect();
    let seen = run(&layer, &HeaderMap::new(), TestBody::new(&chunks)).into_body();
    let outcome = seen.outcome.unwrap();
    assert_eq!(outcome.error().unwrap().kind(), ErrorKind::UnexpectedByte);
    assert_eq!(outcome.error().unwrap().offset(), 0);
    assert!(outcome.bytes_read < 10_000, "{}", outcome.bytes_read);
    assert!(seen.frames_taken_at_call < 10);
    assert_eq!(seen.data.len(), chunks.len());
    assert_eq!(seen.data.concat(), body);
}

#[test]
fn failing_body_is_forwarded_with_its_error() {
    let layer = SessionKeyLayer::new(Config::native());
    let body = example("chat-turn1.json");
    let (a, b) = body.split_at(400);
    let mut test_body = TestBody::new(&[a, b]);
    test_body.frames.truncate(1);
    test_body
        .frames
        .push_back(Err(BodyFailed("connection reset")));
    let seen = run(&layer, &HeaderMap::new(), test_body).into_body();
    assert_eq!(seen.data.concat(), a);
    assert_eq!(seen.error, Some(BodyFailed("connection reset")));
    // The key of what arrived: a cut-off body.
    let outcome = seen.outcome.unwrap();
    assert_eq!(outcome.error().unwrap().kind(), ErrorKind::UnexpectedEnd);
    assert_eq!(outcome.bytes_read, 400);
}

#[test]
fn config_limit_below_the_layer_limit_forwards_too_large() {
    let config = Config::native().with_limits(Limits {
        max_body_bytes: 1000,
        ..Limits::default()
    });
    let layer = SessionKeyLayer::new(config).max_body_bytes(1 << 20);
    let body = example("chat-turn2.json");
    let chunks: Vec<&[u8]> = body.chunks(64).collect();
    let seen = run(&layer, &HeaderMap::new(), TestBody::new(&chunks)).into_body();
    let err = seen.outcome.unwrap().error().unwrap();
    assert_eq!(err.kind(), ErrorKind::TooLarge);
    assert_eq!(seen.data.concat(), body);
}

#[test]
fn attach_key_without_the_service() {
    let mut fp = Fingerprinter::new(Config::native());
    let body = example("responses-turn2.json");
    let req = Request::post("/v1/responses")
        .body(TestBody::new(&[&body[..10], &body[10..]]))
        .unwrap();
    let req = block_on(attach_key(&mut fp, req, 1 << 20)).unwrap();
    let outcome = req.extensions().get::<KeyOutcome>().unwrap();
    assert_eq!(outcome.result, fp.session_key(&HeaderMap::new(), &body));
    let hint = req.body().size_hint();
    assert_eq!(hint.exact(), Some(body.len() as u64));
    let too_small = Request::new(TestBody::new(&[&body]));
    let err = block_on(attach_key(&mut fp, too_small, 10)).unwrap_err();
    assert_eq!(err.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(err.content_length, None);
    // A body that knows its length (HTTP/2's `Incoming`, `Full`) is refused before reading.
    let full = http_body_util::Full::new(Bytes::from(body.clone()));
    let err = block_on(attach_key(&mut fp, Request::new(full), 10)).unwrap_err();
    assert_eq!(err.content_length, Some(body.len() as u64));
}

#[test]
fn frames_that_arrive_over_time() {
    // A channel body fed by another task, on a real runtime.
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let body = example("chat-turn2.json");
    let layer = SessionKeyLayer::new(Config::native());
    let (data, outcome) = rt.block_on(async {
        let (mut tx, rx) = http_body_util::channel::Channel::<Bytes, BodyFailed>::new(1);
        let sent = body.clone();
        tokio::spawn(async move {
            for c in sent.chunks(37) {
                tx.send_data(Bytes::copy_from_slice(c)).await.unwrap();
                tokio::task::yield_now().await;
            }
        });
        let mut fp = Fingerprinter::new(Config::native());
        let req = attach_key(&mut fp, Request::new(rx), 1 << 20)
            .await
            .unwrap();
        let outcome = *req.extensions().get::<KeyOutcome>().unwrap();
        let data = http_body_util::BodyExt::collect(req.into_body())
            .await
            .unwrap()
            .to_bytes();
        (data, outcome)
    });
    assert_eq!(&data[..], &body[..]);
    assert_eq!(
        outcome.result,
        Fingerprinter::new(layer.config().clone()).session_key(&HeaderMap::new(), &body)
    );
}

#[test]
fn the_service_future_is_send() {
    fn send<T: Send>(_: &T) {}
    let mut service = SessionKeyLayer::new(Config::native()).layer(Capture::default());
    let future = service.call(Request::new(TestBody::new(&[b"{}"])));
    send(&future);
}
