//! No heap allocation per request in steady state: after a first call has sized the
//! fingerprinter's scratch memory, later calls on the same body allocate nothing.
//! A counting global allocator sees every allocation in this test binary.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use stickykey::{Config, Fingerprinter, Validation};

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: defers to the system allocator; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by `f` (this test binary runs its tests one at a time: see `main`).
fn count<T>(f: impl FnOnce() -> T) -> (T, usize) {
    ALLOCATIONS.store(0, Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    let r = f();
    COUNTING.store(false, Ordering::SeqCst);
    (r, ALLOCATIONS.load(Ordering::SeqCst))
}

fn bodies() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/requests");
    let mut dirs = vec![examples];
    if let Some(shared) = common::shared_dir("alloc (corpus part)") {
        dirs.push(shared.join("corpus/public/bodies"));
    }
    for dir in dirs {
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files {
            if f.extension().is_some_and(|e| e == "json") {
                out.push((f.display().to_string(), std::fs::read(&f).unwrap()));
            }
        }
    }
    out
}

#[test]
fn steady_state_allocates_nothing() {
    let bodies = bodies();
    let headers = [("content-type", "application/json")];
    let mut checked = 0;
    let mut bad = Vec::new();
    for cfg in [Config::sub2api(), Config::native()] {
        for v in [Validation::Full, Validation::Extracted] {
            let cfg = cfg.clone().with_validation(v);
            for (name, body) in &bodies {
                let mut fp = Fingerprinter::new(cfg.clone());
                let first = fp.content_key(body);
                let _ = fp.session_key(headers, body);
                for _ in 0..2 {
                    let (again, n) = count(|| fp.content_key(body));
                    let (_, m) = count(|| fp.session_key(headers, body));
                    assert_eq!(
                        again, first,
                        "{name}: same answer on a reused fingerprinter"
                    );
                    if n + m != 0 {
                        bad.push(format!(
                            "{name} {:?} {v:?}: {n} + {m} allocations",
                            cfg.profile()
                        ));
                    }
                    checked += 1;
                }
            }
        }
    }
    eprintln!(
        "alloc: {checked} repeated calls over {} bodies, {} allocating",
        bodies.len(),
        bad.len()
    );
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    assert!(checked > 0);
}
