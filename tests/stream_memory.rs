//! Streaming memory (issue #4): what a stream keeps between chunks is the extracted fragments,
//! the nesting stack and a few bytes of carry, never the history it skips. Measured with a
//! counting global allocator (current and peak live heap bytes).
//!
//! `a_256_mib_history_in_64_kib_chunks`: a 256 MiB body, generated on the fly (never held in
//! memory), fed in 64 KiB chunks: the peak heap while streaming stays under 1 MiB beyond what
//! was live before the first chunk, and the key equals the one-shot key of a small body with
//! the same extracted fragments (the history does not change it).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use stickykey::{Config, Fingerprinter, Validation};

struct Counting;

// Per-thread counters: the test harness's own threads (which print results while another
// test runs) must not count. `const` thread-locals without destructors never allocate.
thread_local! {
    static CURRENT: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
    static CALLS: Cell<usize> = const { Cell::new(0) };
}

fn grow(by: isize) {
    let _ = CURRENT.try_with(|c| {
        let now = c.get() + by;
        c.set(now);
        let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
    });
}

fn counted() {
    let _ = CALLS.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the
// counters are thread-local cells.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        grow(l.size() as isize);
        counted();
        // SAFETY: forwarded as is.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        grow(-(l.size() as isize));
        // SAFETY: forwarded as is.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        grow(new as isize - l.size() as isize);
        counted();
        // SAFETY: forwarded as is.
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The body's head: the parts every profile reads.
const HEAD: &str = r#"{"model":"gpt-4o","tools":[{"type":"function","function":{"name":"read_file","description":"Read a file","parameters":{"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}}}],"messages":[{"role":"system","content":"You are a careful coding agent. Answer tersely."},{"role":"user","content":"Refactor the parser, please."}"#;

/// Generates `total` bytes of body, chunk by chunk, into one reused buffer: the head, then
/// history items (assistant text with escapes, tool-call JSON in strings, user turns), then
/// the closing `]}` at exactly `total` bytes.
struct History {
    total: usize,
    emitted: usize,
    pending: Vec<u8>,
    turn: u64,
}

impl History {
    fn new(total: usize) -> History {
        let mut pending = Vec::with_capacity(1 << 20);
        pending.extend_from_slice(HEAD.as_bytes());
        History {
            total,
            emitted: 0,
            pending,
            turn: 0,
        }
    }

    fn item(&mut self) {
        self.turn += 1;
        let t = self.turn;
        let item = match t % 3 {
            0 => format!(
                r#",{{"role":"assistant","content":"Step {t}: I read the file and found \"parse_value\" at line {t}.\nThe fix:\n\tmatch c {{ b'\\\\' => escape(), _ => plain() }}\nDone with step {t} — ok ✓. {pad}"}}"#,
                pad = "lorem ipsum dolor sit amet ".repeat(20)
            ),
            1 => format!(
                r#",{{"role":"assistant","content":null,"tool_calls":[{{"id":"call_{t}","type":"function","function":{{"name":"read_file","arguments":"{{\"path\":\"src/file_{t}.rs\",\"lines\":[1,2,3]}}"}}}}]}},{{"role":"tool","tool_call_id":"call_{t}","content":"fn main() {{ println!(\"{t}\"); }} {pad}"}}"#,
                pad = "x".repeat(700)
            ),
            _ => format!(
                r#",{{"role":"user","content":[{{"type":"text","text":"Turn {t}: continue with the next function, and keep the tests green. {pad}"}}]}}"#,
                pad = "more words here ".repeat(30)
            ),
        };
        self.pending.extend_from_slice(item.as_bytes());
    }

    /// The next chunk (at most `size` bytes) into `out`; `false` at the end.
    fn next(&mut self, size: usize, out: &mut Vec<u8>) -> bool {
        out.clear();
        let tail = b"]}";
        while out.len() < size && self.emitted < self.total {
            let room_for_history = self.total - tail.len();
            if self.pending.is_empty() {
                if self.emitted < room_for_history {
                    self.item();
                    // Never let an item run into the tail: cut the history to fit exactly.
                    let left = room_for_history - self.emitted;
                    if self.pending.len() > left {
                        self.pending.clear();
                        // Pad with white space up to the tail (valid between items).
                        self.pending.resize(left, b' ');
                    }
                } else {
                    self.pending.extend_from_slice(tail);
                }
            }
            let n = (size - out.len()).min(self.pending.len());
            out.extend_from_slice(&self.pending[..n]);
            self.pending.drain(..n);
            self.emitted += n;
        }
        !out.is_empty()
    }
}

/// The same fragments with a short history: its one-shot key is the key the big body must
/// have.
fn small_equivalent() -> Vec<u8> {
    let mut b = Vec::new();
    let mut h = History::new(usize::MAX);
    // The head plus three history items, then the end of the list.
    b.extend_from_slice(HEAD.as_bytes());
    h.pending.clear();
    for _ in 0..3 {
        h.item();
    }
    b.extend_from_slice(&h.pending);
    b.extend_from_slice(b"]}");
    b
}

#[test]
fn a_256_mib_history_in_64_kib_chunks() {
    const TOTAL: usize = 256 << 20;
    const CHUNK: usize = 64 << 10;
    let small = small_equivalent();
    for config in [
        Config::sub2api(),
        Config::native(),
        Config::native().with_validation(Validation::Extracted),
    ] {
        let config = config.with_limits(stickykey::Limits {
            max_body_bytes: 512 << 20,
            ..Default::default()
        });
        let mut fp = Fingerprinter::new(config.clone());
        let want = fp
            .session_key(&http::HeaderMap::new(), &small)
            .unwrap()
            .expect("a key");
        let mut history = History::new(TOTAL);
        let mut chunk = Vec::with_capacity(CHUNK);
        let headers = http::HeaderMap::new();
        let before = CURRENT.with(Cell::get);
        PEAK.with(|p| p.set(before));
        let mut s = fp.stream(&headers);
        let mut fed = 0usize;
        while history.next(CHUNK, &mut chunk) {
            s.push(&chunk).unwrap();
            fed += chunk.len();
        }
        let got = s.finish().unwrap().expect("a key");
        let peak = PEAK.with(Cell::get) - before;
        assert_eq!(fed, TOTAL);
        assert_eq!(
            got,
            want,
            "{:?}: the history must not change the key",
            config.profile()
        );
        eprintln!(
            "{:?} {:?}: 256 MiB in 64 KiB chunks, peak heap beyond the start {peak} bytes",
            config.profile(),
            config.validation()
        );
        assert!(
            peak < 1 << 20,
            "peak heap {peak} bytes while streaming 256 MiB: must stay under 1 MiB"
        );
    }
}

/// A reused fingerprinter streams without allocating once its buffers have grown.
#[test]
fn steady_state_streaming_allocates_nothing() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/requests");
    let mut bodies: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    bodies.push(small_equivalent());
    for config in [
        Config::sub2api(),
        Config::native(),
        Config::sub2api().with_validation(Validation::Extracted),
        Config::native().with_validation(Validation::Extracted),
    ] {
        let mut fp = Fingerprinter::new(config.clone());
        let headers = http::HeaderMap::new();
        let run = |fp: &mut Fingerprinter| {
            for body in &bodies {
                for size in [1usize, 7, 64, 100, 16 << 10] {
                    let mut s = fp.stream(&headers);
                    for c in body.chunks(size) {
                        let _ = s.push(c);
                    }
                    let _ = s.finish();
                }
            }
        };
        run(&mut fp);
        run(&mut fp);
        let calls = CALLS.with(Cell::get);
        run(&mut fp);
        let after = CALLS.with(Cell::get);
        assert_eq!(
            after - calls,
            0,
            "{:?} {:?}: allocations in steady state",
            config.profile(),
            config.validation()
        );
    }
}
