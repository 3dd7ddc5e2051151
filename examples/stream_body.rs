//! Feeds an HTTP body's frames to the streaming API as they arrive (issue #4).
//!
//! A producer task sends a request file from `examples/requests/` as a body of small data frames
//! (an `http_body_util` channel body, which behaves like hyper's `Incoming`: frames arrive
//! when the peer sends them); the consumer pushes each `Frame::data` into a
//! [`stickykey::Stream`] as soon as it arrives and stops reading once the stream is decided.
//!
//! ```sh
//! cargo run --release --example stream_body [FILE] [FRAME_BYTES]
//! ```

use http::{HeaderMap, HeaderValue};
use http_body_util::{channel::Channel, BodyExt};
use hyper::body::{Body, Bytes};
use std::convert::Infallible;
use stickykey::{Config, Error, Fingerprinter, SessionKey};

/// A body that delivers `bytes` in frames of `frame` bytes, sent by another task.
fn arriving_body(bytes: Vec<u8>, frame: usize) -> Channel<Bytes, Infallible> {
    let (mut tx, body) = Channel::new(1);
    tokio::spawn(async move {
        for chunk in bytes.chunks(frame) {
            // The receiver dropped the body: it needs no more frames.
            if tx.send_data(Bytes::copy_from_slice(chunk)).await.is_err() {
                break;
            }
            tokio::task::yield_now().await; // the next frame comes later
        }
    });
    body
}

/// The key of a request whose body arrives as `body`'s frames, and how many bytes were read.
async fn key_of<B>(
    fp: &mut Fingerprinter,
    headers: &HeaderMap,
    mut body: B,
) -> (Result<Option<SessionKey>, Error>, usize)
where
    B: Body<Data = Bytes> + Unpin, // hyper's `Incoming` is such a body
    B::Error: std::fmt::Debug,
{
    let mut s = fp.stream(headers);
    // `is_decided`: a header tier won (the body is not needed at all) or the body was refused.
    while !s.is_decided() {
        let Some(frame) = body.frame().await else {
            break; // the body ended
        };
        let frame = frame.expect("this body does not fail");
        if let Some(data) = frame.data_ref() {
            // An error is returned as soon as it is certain, and again by `finish`.
            let _ = s.push(data);
        }
        // Other frames (trailers) do not take part in the key.
    }
    let read = s.bytes_seen();
    (s.finish(), read)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .unwrap_or_else(|| "examples/requests/chat-turn2.json".into());
    let frame: usize = args.next().map_or(64, |n| n.parse().expect("FRAME_BYTES"));
    let bytes = std::fs::read(&path).expect("readable request file");
    let mut fp = Fingerprinter::new(Config::native());

    // 1. No header: the body decides; the key comes when the last frame has arrived.
    let none = HeaderMap::new();
    let (streamed, read) = key_of(&mut fp, &none, arriving_body(bytes.clone(), frame)).await;
    let one_shot = fp.session_key(&none, &bytes);
    match &streamed {
        Ok(Some(k)) => println!("{path}: key {k} (source {}), read {read} bytes", k.source),
        Ok(None) => println!("{path}: no key, read {read} bytes"),
        Err(e) => println!("{path}: error {e}, read {read} of {} bytes", bytes.len()),
    }
    assert_eq!(streamed, one_shot, "streaming gives the one-shot result");

    // 2. A `session_id` header decides before the first frame: nothing is read, and the body
    //    (even a malformed one) does not matter.
    let mut headers = HeaderMap::new();
    headers.insert("session_id", HeaderValue::from_static("abc-123"));
    let (streamed, read) = key_of(&mut fp, &headers, arriving_body(bytes.clone(), frame)).await;
    let k = streamed
        .expect("a header key")
        .expect("a header key is never empty");
    println!(
        "{path} with session_id: key {k} (source {}), read {read} bytes",
        k.source
    );
    assert_eq!(read, 0);

    // 3. A malformed body: refused as soon as the error is certain; the rest is not read.
    let mut broken = bytes.clone();
    broken[0] = b'x';
    let (streamed, read) = key_of(&mut fp, &none, arriving_body(broken.clone(), frame)).await;
    let e = streamed.expect_err("a malformed body");
    println!(
        "{path} with its first byte replaced: error {e}, read {read} of {} bytes",
        broken.len()
    );
    assert_eq!(Err(e), fp.session_key(&none, &broken));
}
