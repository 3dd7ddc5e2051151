//! tower / hyper integration (feature `tower`): the key of an [`http::Request`], computed from
//! its body frames as they arrive, attached to the request's extensions; the body handed on
//! with the same bytes.
//!
//! ```
//! use stickykey::layer::{KeyOutcome, KeyedBody, SessionKeyLayer};
//! use stickykey::{Config, Source};
//! use std::convert::Infallible;
//! use std::task::{Context, Poll};
//! use tower_layer::Layer;
//! use tower_service::Service;
//!
//! /// The inner service: here, it tells which key the request got.
//! #[derive(Clone)]
//! struct Route;
//!
//! impl<B: http_body::Body> Service<http::Request<KeyedBody<B>>> for Route {
//!     type Response = http::Response<String>;
//!     type Error = Infallible;
//!     type Future = std::future::Ready<Result<Self::Response, Infallible>>;
//!
//!     fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
//!         Poll::Ready(Ok(()))
//!     }
//!
//!     fn call(&mut self, req: http::Request<KeyedBody<B>>) -> Self::Future {
//!         let outcome = req.extensions().get::<KeyOutcome>().unwrap();
//!         // ... pick an upstream by `outcome.key()`, forward `req` (its body unchanged) ...
//!         let text = match outcome.key() {
//!             Some(k) => format!("{} from {}", k.key, k.source),
//!             None => "no key".to_owned(),
//!         };
//!         std::future::ready(Ok(http::Response::new(text)))
//!     }
//! }
//!
//! let mut service = SessionKeyLayer::new(Config::native())
//!     .max_body_bytes(16 << 20) // larger bodies get 413 Payload Too Large
//!     .layer(Route);
//!
//! let body = r#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#.to_owned();
//! let request = http::Request::post("/v1/chat/completions").body(body).unwrap();
//! let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
//! let response = rt.block_on(service.call(request)).unwrap();
//! assert!(response.body().ends_with("from content"));
//! ```
//!
//! # What the layer does with a request
//!
//! 1. The header tiers are looked at first. When one decides (`session_id`,
//!    `conversation_id`), the body is not read at all: it is handed on untouched (not
//!    buffered, no limit applied).
//! 2. Otherwise, a declared length (`content-length`, or the body's size hint) above the limit
//!    is answered with **413** at once, without reading the body. Then the body frames are
//!    read one by one, each data frame pushed into a [`Stream`](crate::Stream) and kept; when
//!    the bytes read pass the limit, the answer is **413** too. In both cases the inner
//!    service is not called.
//! 3. The body ends, or the stream returns an error (an invalid body is refused as soon as
//!    that is certain, [`Stream::push`](crate::Stream::push)): the request goes on to the inner
//!    service, with a [`KeyOutcome`] (and the [`SessionKey`], when there is one) in its
//!    extensions and a [`KeyedBody`] that yields the frames read, then whatever the
//!    original body still has. When the body was refused early, its rest is streamed, not
//!    buffered.
//!
//! The key is exactly what [`Fingerprinter::session_key`] returns for the request's headers
//! and whole body. **An invalid body is forwarded**, unchanged, with the error in
//! [`KeyOutcome::result`]: the layer does not decide what an invalid request means for the
//! application (the upstream's own 400 is usually the best answer); an inner service that
//! wants to refuse it checks [`KeyOutcome::error`]. A body that is valid but has nothing to
//! key on (not an object, no seed fields, empty) gets `Ok(None)`.
//!
//! A body whose frames fail (the client went away) is forwarded too: the [`KeyedBody`] yields
//! the frames read and then the same error, as the original body would have. The outcome is
//! then the result for the part that arrived, usually an
//! [`ErrorKind::UnexpectedEnd`](crate::ErrorKind::UnexpectedEnd) error.
//!
//! # Bodies
//!
//! The request body `B` is any [`http_body::Body`] that is [`Unpin`] (hyper's `Incoming`,
//! `http_body_util`'s bodies and boxed bodies are; pin any other with `Box::pin`). The frames
//! read are kept as [`Bytes`]: each data frame is turned into `Bytes` with
//! [`Buf::copy_to_bytes`], which is zero-copy for hyper's `Incoming` (its data is `Bytes`) and a
//! copy for other data types. Frame boundaries and trailers are kept as they were.
//!
//! # Fingerprinters
//!
//! A [`Fingerprinter`] is not `Sync` and a [`Stream`](crate::Stream) borrows one mutably
//! until the body ends, across `.await` points, on whatever worker thread the task is polled.
//! So a thread-local fingerprinter cannot be used (the task may move between threads, and a
//! thread-local borrow cannot live across an `.await`), and creating one per request would
//! lose its warm scratch memory and fragment cache. The [`SessionKeyService`] takes one from
//! a small pool shared by its clones for the time it reads a body (a `Mutex` held only to pop
//! or push a `Vec` entry, never across an `.await`), and puts it back before calling the inner
//! service. At most [`max_idle`](SessionKeyLayer::max_idle) fingerprinters stay in the pool
//! (default: twice the available parallelism); more are created under a burst of concurrent
//! slow uploads and dropped afterwards.
//!
//! Code that manages its own fingerprinters (one per connection, say) calls [`attach_key`]
//! directly.

use crate::{Config, Error, Fingerprinter, SessionKey};
use bytes::{Buf, Bytes};
use http::{header::CONTENT_LENGTH, HeaderMap, Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use std::collections::VecDeque;
use std::fmt;
use std::future::{poll_fn, Future};
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{ready, Context, Poll};
use tower_layer::Layer;
use tower_service::Service;

/// What the layer found for one request, in the request's extensions
/// (`req.extensions().get::<KeyOutcome>()`). The [`SessionKey`] itself is also inserted when
/// there is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyOutcome {
    /// What [`Fingerprinter::session_key`] returns for the request's headers and whole body:
    /// the key, `Ok(None)` when there is nothing to key on, or the body's error. (For a body
    /// whose frames failed: what it returns for the part received.)
    pub result: Result<Option<SessionKey>, Error>,
    /// Bytes of the body read (and buffered) before the request was handed on: 0 when a
    /// header decided, the whole body when a body tier did, a prefix when the body was
    /// refused early.
    pub bytes_read: usize,
}

impl KeyOutcome {
    /// The key, if there is one.
    pub fn key(&self) -> Option<SessionKey> {
        self.result.ok().flatten()
    }

    /// The body's error, if it was refused.
    pub fn error(&self) -> Option<Error> {
        self.result.err()
    }
}

/// The body is larger than the layer's limit: [`SessionKeyService`] answers
/// `413 Payload Too Large` (with this value in the response's extensions), [`attach_key`]
/// returns it as its error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyTooLarge {
    /// The limit, in bytes.
    pub limit: usize,
    /// The declared length (`content-length`, or the body's
    /// [`size_hint`](http_body::Body::size_hint) lower bound), when that is what showed the
    /// body to be too large before reading it (`None`: the bytes read went past the limit).
    pub content_length: Option<u64>,
}

impl BodyTooLarge {
    /// `413 Payload Too Large`.
    pub fn status(&self) -> StatusCode {
        StatusCode::PAYLOAD_TOO_LARGE
    }

    /// A `413` response with an empty (default) body and this value in its extensions.
    pub fn to_response<T: Default>(&self) -> Response<T> {
        let mut response = Response::new(T::default());
        *response.status_mut() = self.status();
        response.extensions_mut().insert(*self);
        response
    }
}

impl fmt::Display for BodyTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.content_length {
            Some(n) => write!(
                f,
                "request body of {n} bytes is larger than the limit of {} bytes",
                self.limit
            ),
            None => write!(
                f,
                "request body is larger than the limit of {} bytes",
                self.limit
            ),
        }
    }
}

impl std::error::Error for BodyTooLarge {}

/// Computes the key of `request` with `fp` (reading its body frames up to `max_body_bytes`),
/// inserts a [`KeyOutcome`] (and the [`SessionKey`], if any) into its extensions, and returns
/// it with a body that yields the same frames. See the [module documentation](self) for
/// what is read and when; the error is returned before the whole body is read, and the
/// request (with the part of the body read) is dropped.
pub async fn attach_key<B>(
    fp: &mut Fingerprinter,
    request: Request<B>,
    max_body_bytes: usize,
) -> Result<Request<KeyedBody<B>>, BodyTooLarge>
where
    B: Body + Unpin,
{
    let (mut parts, mut body) = request.into_parts();
    let mut stream = fp.stream(&parts.headers);
    if !stream.is_decided() {
        // The declared length: `content-length`, or what the body says of itself (hyper's
        // `Incoming` knows an HTTP/2 request's length from the header too).
        let declared = content_length(&parts.headers)
            .unwrap_or(0)
            .max(body.size_hint().lower());
        if declared > max_body_bytes as u64 {
            return Err(BodyTooLarge {
                limit: max_body_bytes,
                content_length: Some(declared),
            });
        }
    }
    let mut frames = VecDeque::new();
    let mut read = 0usize;
    let mut end = End::Open;
    while !stream.is_decided() {
        match poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
            None => {
                end = End::Ended;
                break;
            }
            Some(Err(e)) => {
                end = End::Failed(e);
                break;
            }
            Some(Ok(frame)) => match frame.into_data() {
                Ok(mut data) => {
                    let bytes = data.copy_to_bytes(data.remaining());
                    read += bytes.len();
                    if read > max_body_bytes {
                        return Err(BodyTooLarge {
                            limit: max_body_bytes,
                            content_length: None,
                        });
                    }
                    // An error sticks in the stream and makes it decided: read no further.
                    let _ = stream.push(&bytes);
                    frames.push_back(Frame::data(bytes));
                }
                // Trailers (or a frame kind from a later http-body): kept as they are.
                Err(frame) => {
                    frames.push_back(frame.map_data(|mut d| d.copy_to_bytes(d.remaining())))
                }
            },
        }
    }
    let outcome = KeyOutcome {
        result: stream.finish(),
        bytes_read: read,
    };
    if let Some(key) = outcome.key() {
        parts.extensions.insert(key);
    }
    parts.extensions.insert(outcome);
    let tail = match end {
        End::Open => Tail::Body(body),
        End::Ended => Tail::Done,
        End::Failed(e) => Tail::Error(Some(e)),
    };
    Ok(Request::from_parts(
        parts,
        KeyedBody {
            frames,
            buffered: read,
            tail,
        },
    ))
}

/// How reading the body stopped.
enum End<E> {
    /// The stream was decided: the body may have more.
    Open,
    /// The body ended.
    Ended,
    /// The body failed.
    Failed(E),
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// A request body handed on by the layer: the frames it read (data as [`Bytes`], trailers),
/// then the rest of the original body `B`, if any. The bytes, frame boundaries and trailers
/// are those of the original body; an error of the original body comes at the same place.
pub struct KeyedBody<B: Body> {
    frames: VecDeque<Frame<Bytes>>,
    /// Data bytes still in `frames`.
    buffered: usize,
    tail: Tail<B>,
}

enum Tail<B: Body> {
    /// The rest of the original body.
    Body(B),
    /// The original body failed after the buffered frames.
    Error(Option<B::Error>),
    /// The original body ended.
    Done,
}

impl<B: Body> KeyedBody<B> {
    /// A body that hands `body` on as it is, for requests that do not go through the layer
    /// (so that every route forwards one body type).
    pub fn passthrough(body: B) -> KeyedBody<B> {
        KeyedBody {
            frames: VecDeque::new(),
            buffered: 0,
            tail: Tail::Body(body),
        }
    }

    /// Bytes of data the layer read and holds, not yet yielded.
    pub fn buffered_bytes(&self) -> usize {
        self.buffered
    }
}

// No field is structurally pinned: the buffered frames and the error are only moved out, and
// `B` is polled through `Pin::new`, which needs `B: Unpin`.
impl<B: Body + Unpin> Unpin for KeyedBody<B> {}

impl<B> Body for KeyedBody<B>
where
    B: Body + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.get_mut();
        if let Some(frame) = this.frames.pop_front() {
            if let Some(d) = frame.data_ref() {
                this.buffered -= d.len();
            }
            return Poll::Ready(Some(Ok(frame)));
        }
        match &mut this.tail {
            Tail::Body(b) => Poll::Ready(match ready!(Pin::new(b).poll_frame(cx)) {
                Some(Ok(frame)) => Some(Ok(frame.map_data(|mut d| d.copy_to_bytes(d.remaining())))),
                Some(Err(e)) => Some(Err(e)),
                None => None,
            }),
            Tail::Error(e) => match e.take() {
                Some(e) => Poll::Ready(Some(Err(e))),
                None => Poll::Ready(None),
            },
            Tail::Done => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.frames.is_empty()
            && match &self.tail {
                Tail::Body(b) => b.is_end_stream(),
                Tail::Error(e) => e.is_none(),
                Tail::Done => true,
            }
    }

    fn size_hint(&self) -> SizeHint {
        let buffered = self.buffered as u64;
        match &self.tail {
            Tail::Body(b) => {
                let rest = b.size_hint();
                let mut hint = SizeHint::new();
                hint.set_lower(rest.lower().saturating_add(buffered));
                if let Some(upper) = rest.upper() {
                    hint.set_upper(upper.saturating_add(buffered));
                }
                hint
            }
            Tail::Error(_) => {
                let mut hint = SizeHint::new();
                hint.set_lower(buffered);
                hint
            }
            Tail::Done => SizeHint::with_exact(buffered),
        }
    }
}

impl<B: Body> fmt::Debug for KeyedBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tail = match self.tail {
            Tail::Body(_) => "body",
            Tail::Error(_) => "error",
            Tail::Done => "done",
        };
        f.debug_struct("KeyedBody")
            .field("frames", &self.frames.len())
            .field("buffered", &self.buffered)
            .field("tail", &tail)
            .finish()
    }
}

/// The fingerprinters a [`SessionKeyLayer`]'s services share.
struct Pool {
    config: Config,
    idle: Mutex<Vec<Fingerprinter>>,
    max_idle: usize,
}

impl Pool {
    fn new(config: Config, max_idle: usize) -> Pool {
        Pool {
            config,
            idle: Mutex::new(Vec::new()),
            max_idle,
        }
    }

    fn take(self: &Arc<Pool>) -> Pooled {
        // The lock is held for one `pop`; a poisoned lock still holds whole fingerprinters.
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        Pooled {
            fp: Some(idle.unwrap_or_else(|| Fingerprinter::new(self.config.clone()))),
            pool: Arc::clone(self),
        }
    }
}

/// A fingerprinter out of the pool; goes back when dropped (also when the request's future is
/// dropped half-way: a stream resets the fingerprinter's scratch when it starts).
struct Pooled {
    fp: Option<Fingerprinter>,
    pool: Arc<Pool>,
}

impl Deref for Pooled {
    type Target = Fingerprinter;
    fn deref(&self) -> &Fingerprinter {
        self.fp.as_ref().expect("present until drop")
    }
}

impl DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut Fingerprinter {
        self.fp.as_mut().expect("present until drop")
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        // A fingerprinter that was in use when its thread panicked is not reused.
        if std::thread::panicking() {
            return;
        }
        if let Some(fp) = self.fp.take() {
            let mut idle = self
                .pool
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if idle.len() < self.pool.max_idle {
                idle.push(fp);
            }
        }
    }
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let idle = self.idle.lock().map(|v| v.len()).unwrap_or(0);
        f.debug_struct("Pool")
            .field("config", &self.config)
            .field("idle", &idle)
            .field("max_idle", &self.max_idle)
            .finish()
    }
}

/// A tower [`Layer`] that wraps a service in a [`SessionKeyService`]. Its clones and the
/// services it makes share one pool of fingerprinters.
#[derive(Debug, Clone)]
pub struct SessionKeyLayer {
    pool: Arc<Pool>,
    max_body_bytes: usize,
}

impl SessionKeyLayer {
    /// A layer computing keys with `config`. The body limit is the config's
    /// [`max_body_bytes`](crate::Limits::max_body_bytes) (64 MiB by default).
    pub fn new(config: Config) -> SessionKeyLayer {
        let max_body_bytes = config.limits().max_body_bytes;
        let max_idle = std::thread::available_parallelism().map_or(2, |n| n.get()) * 2;
        SessionKeyLayer {
            pool: Arc::new(Pool::new(config, max_idle)),
            max_body_bytes,
        }
    }

    /// The largest body the layer reads: a request that needs its body for the key and whose
    /// body (or `content-length`) is larger gets `413 Payload Too Large`. Above the config's
    /// [`max_body_bytes`](crate::Limits::max_body_bytes), a body between the two limits is
    /// forwarded with an [`ErrorKind::TooLarge`](crate::ErrorKind::TooLarge) outcome (the
    /// layer stops reading at the config's limit and streams the rest).
    pub fn max_body_bytes(mut self, limit: usize) -> SessionKeyLayer {
        self.max_body_bytes = limit;
        self
    }

    /// At most this many idle fingerprinters are kept for reuse (default: twice the
    /// available parallelism). Resets the pool.
    pub fn max_idle(self, n: usize) -> SessionKeyLayer {
        SessionKeyLayer {
            pool: Arc::new(Pool::new(self.pool.config.clone(), n)),
            max_body_bytes: self.max_body_bytes,
        }
    }

    /// The configuration keys are computed with.
    pub fn config(&self) -> &Config {
        &self.pool.config
    }
}

impl<S> Layer<S> for SessionKeyLayer {
    type Service = SessionKeyService<S>;

    fn layer(&self, inner: S) -> SessionKeyService<S> {
        SessionKeyService {
            inner,
            pool: Arc::clone(&self.pool),
            max_body_bytes: self.max_body_bytes,
        }
    }
}

/// The service of a [`SessionKeyLayer`]: reads the request body for the key (see the
/// [module documentation](self)), then calls the inner service with a
/// `Request<KeyedBody<B>>` that carries a [`KeyOutcome`]; answers `413 Payload Too Large`
/// (an empty default body, a [`BodyTooLarge`] in the response's extensions) itself.
#[derive(Debug, Clone)]
pub struct SessionKeyService<S> {
    inner: S,
    pool: Arc<Pool>,
    max_body_bytes: usize,
}

impl<S> SessionKeyService<S> {
    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

/// The future of a [`SessionKeyService`] call.
pub type ResponseFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'static>>;

impl<S, B, ResBody> Service<Request<B>> for SessionKeyService<S>
where
    S: Service<Request<KeyedBody<B>>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Body + Unpin + Send + 'static,
    B::Error: Send,
    ResBody: Default + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<Response<ResBody>, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The service that was driven to readiness serves this request; the clone stays.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let pool = Arc::clone(&self.pool);
        let limit = self.max_body_bytes;
        Box::pin(async move {
            let request = {
                let mut fp = pool.take();
                attach_key(&mut fp, request, limit).await
                // The fingerprinter goes back to the pool here, before the inner call.
            };
            match request {
                Ok(request) => inner.call(request).await,
                Err(too_large) => Ok(too_large.to_response()),
            }
        })
    }
}
