//! The upstream [`Router`]: rendezvous hashing (minimal movement, uniformity, determinism)
//! and bounded loads (the Mirrokni et al. bound under a skewed key stream, spill-over and
//! return). Nothing here measures time; every check is on counts.

use std::collections::HashMap;
use std::sync::{Arc, Barrier};

use proptest::prelude::*;
use stickykey::router::{score, upstream_seed, Lease, RouterError, ROUTER_SEED};
use stickykey::{Config, Fingerprinter, Key, Router};

/// SplitMix64 (Steele, Lea and Flood 2014): a tiny seeded PRNG, so the streams below are the
/// same on every run and every machine.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 random bits.
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [0, n), n > 0 (the modulo bias is below 2^-40 for the n used here).
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

fn ids(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("upstream-{i}")).collect()
}

/// The shapes keys come in: text (session ids), 8 bytes (sub2api xxh64 keys), 16 and 32 bytes
/// (native blake3 keys). xxh3 takes a different code path for each length class.
#[derive(Debug, Clone, Copy)]
enum Shape {
    Text,
    Bytes8,
    Bytes16,
    Bytes32,
}

const SHAPES: [Shape; 4] = [Shape::Text, Shape::Bytes8, Shape::Bytes16, Shape::Bytes32];

fn keys(shape: Shape, count: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut rng = SplitMix64(seed);
    (0..count)
        .map(|i| match shape {
            Shape::Text => format!("conversation-{i}").into_bytes(),
            Shape::Bytes8 => rng.next_u64().to_be_bytes().to_vec(),
            Shape::Bytes16 => (0..2).flat_map(|_| rng.next_u64().to_be_bytes()).collect(),
            Shape::Bytes32 => (0..4).flat_map(|_| rng.next_u64().to_be_bytes()).collect(),
        })
        .collect()
}

/// 100k keys, a quarter of each shape.
fn mixed_keys(count: usize) -> Vec<Vec<u8>> {
    SHAPES
        .iter()
        .enumerate()
        .flat_map(|(i, &s)| keys(s, count / 4, 1000 + i as u64))
        .collect()
}

/// `ceil((1 + eps) * mean)` with `total` requests in flight (the new one counted) over `n`
/// upstreams: computed here independently of the router, in the same f64 arithmetic.
fn bound(eps: f64, total: u64, n: usize) -> u64 {
    ((1.0 + eps) * total as f64 / n as f64).ceil() as u64
}

// ---------------------------------------------------------------------------------------
// 1. Minimal movement.
// ---------------------------------------------------------------------------------------

/// The moved fraction must be within 6 standard deviations of the binomial expectation p:
/// for an ideal random hash, `moved ~ Binomial(K, p)`, so a false failure has probability
/// about 2e-9. With K = 100k that is at most 0.0076 for p = 1/5 and 0.0041 for p = 1/20, far
/// tighter than 0.25/N (0.05 and 0.0125): a hash that favoured or shunned the changed upstream
/// by a few percent would fail.
fn assert_fraction(what: &str, moved: usize, total: usize, p: f64) -> f64 {
    let f = moved as f64 / total as f64;
    let sd = (p * (1.0 - p) / total as f64).sqrt();
    assert!(
        (f - p).abs() < 6.0 * sd,
        "{what}: moved {f:.5} of keys, expected {p:.5} +- {:.5}",
        6.0 * sd
    );
    assert!((f - p).abs() < 0.25 * p, "{what}: also outside 0.25/N");
    f
}

#[test]
fn membership_change_moves_about_one_in_n_keys_and_only_those() {
    let keys = mixed_keys(100_000);
    for n in [5usize, 10, 20] {
        let all = ids(n);
        let base = Router::new(all.clone(), 0.25).unwrap();
        let before: Vec<&str> = keys.iter().map(|k| base.preferred_bytes(k)).collect();

        // Remove one upstream (three different ones, each on its own).
        for gone in [0, n / 2, n - 1] {
            let gone = all[gone].as_str();
            let mut r = Router::new(all.clone(), 0.25).unwrap();
            r.remove(gone).unwrap();
            let mut moved = 0;
            for (k, &old) in keys.iter().zip(&before) {
                let new = r.preferred_bytes(k);
                if new != old {
                    moved += 1;
                    // Only keys of the removed upstream move ...
                    assert_eq!(old, gone, "key {k:?} moved between two surviving upstreams");
                } else {
                    // ... and every one of them moves (they cannot stay on a removed one).
                    assert_ne!(old, gone);
                }
            }
            let f = assert_fraction(
                &format!("remove 1 of {n}"),
                moved,
                keys.len(),
                1.0 / n as f64,
            );
            println!(
                "N = {n}: removing {gone} moved {f:.4} of keys (1/N = {:.4})",
                1.0 / n as f64
            );

            // Putting it back (at the end of the list, not where it was) restores every key.
            r.add(gone).unwrap();
            assert!(keys
                .iter()
                .zip(&before)
                .all(|(k, &old)| r.preferred_bytes(k) == old));
        }

        // Add one upstream: N -> N + 1.
        let mut r = Router::new(all.clone(), 0.25).unwrap();
        r.add("upstream-new").unwrap();
        let mut moved = 0;
        for (k, &old) in keys.iter().zip(&before) {
            let new = r.preferred_bytes(k);
            if new != old {
                moved += 1;
                assert_eq!(
                    new, "upstream-new",
                    "key {k:?} moved between two old upstreams"
                );
            }
        }
        let p = 1.0 / (n + 1) as f64;
        let f = assert_fraction(&format!("add 1 to {n}"), moved, keys.len(), p);
        println!("N = {n}: adding one moved {f:.4} of keys (1/(N+1) = {p:.4})");
    }
}

// ---------------------------------------------------------------------------------------
// 2. Bounded loads under a Zipf key stream.
// ---------------------------------------------------------------------------------------

/// Draws ranks 0..n with P(rank k) proportional to 1 / (k + 1)^s, by inverting the
/// cumulative distribution (binary search).
struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    fn new(n: usize, s: f64) -> Zipf {
        let mut acc = 0.0;
        let mut cdf: Vec<f64> = (1..=n)
            .map(|k| {
                acc += (k as f64).powf(-s);
                acc
            })
            .collect();
        for c in &mut cdf {
            *c /= acc;
        }
        Zipf { cdf }
    }

    fn sample(&self, rng: &mut SplitMix64) -> usize {
        let u = rng.next_f64();
        self.cdf
            .partition_point(|&c| c <= u)
            .min(self.cdf.len() - 1)
    }
}

#[derive(Default, Debug)]
struct ZipfRun {
    acquisitions: u64,
    spills: u64,
    /// The largest load / mean seen on the chosen upstream, once t >= 10 N and once
    /// t >= 100 N (where the rounding up of the bound matters less).
    max_ratio: f64,
    max_ratio_large: f64,
    /// The largest load / bound seen on the chosen upstream (must stay <= 1).
    max_of_bound: f64,
    /// Pure rendezvous (no bound) on the same stream: how often the preferred upstream's load
    /// would have exceeded the bound, and its largest load / mean.
    unbounded_violations: u64,
    unbounded_max_ratio: f64,
}

/// Acquires and releases leases for a Zipf(1.1) stream over 10k keys, with the number in flight
/// wandering between levels from 8 to 3000, and checks the bound at every acquisition.
fn zipf_run(n: usize, eps: f64, steps: usize, seed: u64) -> ZipfRun {
    let router = Router::new(ids(n), eps).unwrap();
    let names: Vec<String> = router.upstreams().map(str::to_owned).collect();
    let index: HashMap<&str, usize> = names
        .iter()
        .enumerate()
        .map(|(i, s)| (s.as_str(), i))
        .collect();
    let zipf = Zipf::new(10_000, 1.1);
    let key_bytes: Vec<Vec<u8>> = (0..10_000)
        .map(|k| format!("zipf-key-{k}").into_bytes())
        .collect();
    let mut rng = SplitMix64(seed);
    let mut pool: Vec<(Lease<'_>, usize)> = Vec::new();
    let mut shadow = vec![0u64; n]; // loads if every request went to its preferred upstream
    let mut run = ZipfRun::default();
    let levels = [8usize, 40, 200, 1000, 3000, 100];

    for step in 0..steps {
        let level = levels[(step / 20_000) % levels.len()];
        let p_acquire = if pool.len() < level { 0.75 } else { 0.25 };
        if pool.is_empty() || rng.next_f64() < p_acquire {
            let key = &key_bytes[zipf.sample(&mut rng)];
            let pref = index[router.preferred_bytes(key)];
            let lease = router.acquire_bytes(key);
            let total = router.in_flight();
            assert_eq!(total, pool.len() as u64 + 1);
            let load = router.load(lease.upstream()).unwrap();
            let cap = bound(eps, total, n);
            assert!(
                load <= cap,
                "step {step}: {} carries {load} of {total} in flight, bound {cap} (eps {eps}, N {n})",
                lease.upstream()
            );
            assert_eq!(lease.is_preferred(), index[lease.upstream()] == pref);
            run.acquisitions += 1;
            run.spills += u64::from(!lease.is_preferred());
            run.max_of_bound = run.max_of_bound.max(load as f64 / cap as f64);
            let mean = total as f64 / n as f64;
            shadow[pref] += 1;
            if shadow[pref] > cap {
                run.unbounded_violations += 1;
            }
            if total >= 10 * n as u64 {
                run.max_ratio = run.max_ratio.max(load as f64 / mean);
                if total >= 100 * n as u64 {
                    run.max_ratio_large = run.max_ratio_large.max(load as f64 / mean);
                }
                run.unbounded_max_ratio = run.unbounded_max_ratio.max(shadow[pref] as f64 / mean);
            }
            pool.push((lease, pref));
        } else {
            let (lease, pref) = pool.swap_remove(rng.below(pool.len()));
            drop(lease);
            shadow[pref] -= 1;
        }
    }
    drop(pool);
    assert_eq!(router.in_flight(), 0);
    assert!(router.loads().iter().all(|&(_, l)| l == 0));
    run
}

#[test]
fn zipf_stream_never_exceeds_the_load_bound() {
    for eps in [0.25, 1.0] {
        for n in [3usize, 10] {
            let run = zipf_run(n, eps, 240_000, 0x5eed ^ n as u64);
            println!(
                "eps {eps}, N {n}: {} acquisitions, {} spilled ({:.1}%), max load/mean {:.3} \
                 (t >= 10 N), {:.3} (t >= 100 N) (1+eps = {}), max load/bound {:.3}; pure rendezvous would break the \
                 bound {} times, max load/mean {:.2}",
                run.acquisitions,
                run.spills,
                100.0 * run.spills as f64 / run.acquisitions as f64,
                run.max_ratio,
                run.max_ratio_large,
                1.0 + eps,
                run.max_of_bound,
                run.unbounded_violations,
                run.unbounded_max_ratio,
            );
            assert!(run.max_of_bound <= 1.0);
            // The stream is skewed enough that the bound matters: without it, the hot keys'
            // upstream would have gone over it, so the check above is not vacuous.
            assert!(run.unbounded_violations > 0, "{run:?}");
            assert!(run.spills > 0, "{run:?}");
        }
    }
}

/// With acquisitions only (no releases), the bound holds for *every* upstream at every step,
/// not only the one that took the request: the bound only grows with the total.
#[test]
fn zipf_fill_keeps_every_upstream_within_the_bound() {
    for eps in [0.25, 1.0] {
        let n = 10;
        let router = Router::new(ids(n), eps).unwrap();
        let zipf = Zipf::new(10_000, 1.1);
        let mut rng = SplitMix64(77);
        let mut held = Vec::new();
        for _ in 0..5_000 {
            let key = format!("zipf-key-{}", zipf.sample(&mut rng));
            held.push(router.acquire_bytes(key.as_bytes()));
            let total = router.in_flight();
            let cap = bound(eps, total, n);
            let max = router.loads().iter().map(|&(_, l)| l).max().unwrap();
            assert!(
                max <= cap,
                "eps {eps}: max load {max} > bound {cap} at {total} in flight"
            );
        }
    }
}

/// Eight threads each take 2000 leases at once (nobody releases until all are done), then
/// the consistent snapshot is within the bound for every upstream and the counts add up; after
/// all leases are dropped, every load is 0 (no lost update).
#[test]
fn concurrent_acquisitions_keep_the_bound_and_the_counts() {
    let n = 7;
    let eps = 0.25;
    let router = Arc::new(Router::new(ids(n), eps).unwrap());
    let threads = 8;
    let per_thread = 2_000;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let router = Arc::clone(&router);
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let zipf = Zipf::new(10_000, 1.1);
                let mut rng = SplitMix64(t as u64);
                let mut held = Vec::with_capacity(per_thread);
                for _ in 0..per_thread {
                    let key = format!("zipf-key-{}", zipf.sample(&mut rng));
                    held.push(router.acquire_bytes(key.as_bytes()));
                }
                barrier.wait(); // all leases of all threads are alive here
                let loads = router.loads();
                let total: u64 = loads.iter().map(|&(_, l)| l).sum();
                assert_eq!(total, (threads * per_thread) as u64);
                let cap = bound(eps, total, n);
                for &(id, l) in &loads {
                    assert!(l <= cap, "{id}: {l} > {cap}");
                }
                barrier.wait(); // nobody releases before everyone has looked
                drop(held);
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(router.in_flight(), 0);
    assert!(router.loads().iter().all(|&(_, l)| l == 0));
}

// ---------------------------------------------------------------------------------------
// 3. Determinism.
// ---------------------------------------------------------------------------------------

const REGIONS: [&str; 5] = [
    "us-east-1",
    "us-west-2",
    "eu-west-1",
    "ap-south-1",
    "sa-east-1",
];

fn sub2api_key() -> Key {
    let body = br#"{"model":"gpt-4o","messages":[{"role":"user","content":"Hello"}]}"#;
    Fingerprinter::new(Config::sub2api())
        .content_key(body)
        .unwrap()
        .unwrap()
}

fn native_key() -> Key {
    let body = br#"{"model":"gpt-4o","messages":[{"role":"user","content":"Hello"}]}"#;
    Fingerprinter::new(Config::native())
        .content_key(body)
        .unwrap()
        .unwrap()
}

/// Computed once with this implementation and frozen: a change here breaks every deployed
/// fleet's routing (and agreement with non-Rust implementations of `score`). The values were
/// also reproduced with the C reference xxHash (python-xxhash 3.x, `xxh3_64_intdigest` with
/// the documented seeds), so they pin the documented formula, not just this code.
#[test]
fn fixed_keys_map_to_fixed_upstreams() {
    assert_eq!(ROUTER_SEED, 0x7374_6b79_7274_2f31);
    assert_eq!(upstream_seed("us-east-1"), 0x3e7b_4fef_9730_e04f);
    assert_eq!(score("us-east-1", b"session-123"), 0x03fe_3242_cbd5_54a8);
    assert_eq!(score("", b""), 0x2953_1940_c60a_31dc);

    let router = Router::new(REGIONS, 0.25).unwrap();
    let raw: [(&[u8], &str); 8] = [
        (b"", "ap-south-1"),
        (b"a", "sa-east-1"),
        (b"session-123", "us-west-2"),
        (b"conversation-42", "sa-east-1"),
        (&0x0123_4567_89ab_cdefu64.to_be_bytes(), "ap-south-1"),
        (&[0xab; 16], "sa-east-1"),
        (&[0x5a; 32], "us-east-1"),
        ("c0ffee\u{e9}".as_bytes(), "eu-west-1"),
    ];
    for (key, want) in raw {
        assert_eq!(router.preferred_bytes(key), want, "key {key:?}");
    }
    let sk = sub2api_key();
    let nk = native_key();
    assert_eq!(sk.to_string(), "806aa392efbbce33");
    assert_eq!(router.preferred(&sk), "ap-south-1");
    assert_eq!(nk.to_string(), "8118f99378604915493c8410f0b535b5");
    assert_eq!(router.preferred(&nk), "sa-east-1");
}

/// Two routers built independently (ids in different orders, one grown with `add`) agree on
/// 10k keys of every shape, and a `Key` routes like its bytes.
#[test]
fn independently_built_routers_agree() {
    let a = Router::new(REGIONS, 0.25).unwrap();
    let mut reversed: Vec<String> = REGIONS.iter().rev().map(|s| s.to_string()).collect();
    let last = reversed.pop().unwrap();
    let mut b = Router::new(reversed, 1.0).unwrap();
    b.add(last).unwrap();
    for shape in SHAPES {
        for k in keys(shape, 10_000, 99) {
            assert_eq!(
                a.preferred_bytes(&k),
                b.preferred_bytes(&k),
                "{shape:?} key {k:?}"
            );
            let lease = b.acquire_bytes(&k); // alone in flight: always the preferred one
            assert_eq!(lease.upstream(), a.preferred_bytes(&k));
        }
    }
    for key in [sub2api_key(), native_key()] {
        assert_eq!(
            a.preferred(&key),
            a.preferred_bytes(key.as_bytes().as_ref())
        );
        assert_eq!(a.preferred(&key), b.preferred(&key));
        assert_eq!(a.acquire(&key).upstream(), a.preferred(&key));
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// The preferred upstream is the highest `score` (ties to the smaller id), whatever the
    /// order of the ids; removing any other upstream does not change it.
    #[test]
    fn preferred_is_the_highest_score(
        key in proptest::collection::vec(any::<u8>(), 0..80),
        names in proptest::collection::btree_set("[a-z0-9.:-]{0,12}", 1..12),
        rotate in 0usize..12,
    ) {
        let mut names: Vec<String> = names.into_iter().collect();
        let best = names
            .iter()
            .max_by(|x, y| score(x, &key).cmp(&score(y, &key)).then_with(|| y.cmp(x)))
            .unwrap()
            .clone();
        let len = names.len();
        names.rotate_left(rotate % len);
        let mut router = Router::new(names.clone(), 0.5).unwrap();
        prop_assert_eq!(router.preferred_bytes(&key), best.as_str());
        for other in names.iter().filter(|n| **n != best) {
            router.remove(other).unwrap();
            prop_assert_eq!(router.preferred_bytes(&key), best.as_str());
        }
    }
}

// ---------------------------------------------------------------------------------------
// 4. Spill-over, then return.
// ---------------------------------------------------------------------------------------

/// `key`'s second choice: its preferred upstream once the first is gone.
fn second_choice(upstreams: &[String], key: &[u8]) -> String {
    let first = Router::new(upstreams.to_vec(), 0.25).unwrap();
    let first = first.preferred_bytes(key).to_owned();
    let mut r = Router::new(upstreams.to_vec(), 0.25).unwrap();
    r.remove(&first).unwrap();
    r.preferred_bytes(key).to_owned()
}

#[test]
fn spilled_key_returns_to_its_preferred_upstream() {
    let names = ids(5);
    let router = Router::new(names.clone(), 0.25).unwrap();
    let key = b"conversation-under-test";
    let home = router.preferred_bytes(key).to_owned();
    let second = second_choice(&names, key);

    // Background traffic on every upstream (other keys, none released until the key is back
    // home; a few of them spilled while the total was small).
    let background: Vec<Lease<'_>> = keys(Shape::Bytes16, 400, 3)
        .iter()
        .map(|k| router.acquire_bytes(k))
        .collect();

    // Other keys whose home is the same upstream fill it up.
    let blockers: Vec<Vec<u8>> = keys(Shape::Text, 2_000, 0)
        .into_iter()
        .filter(|k| router.preferred_bytes(k) == home)
        .collect();
    let mut held = Vec::new();
    let spilled = loop {
        let probe = router.acquire_bytes(key);
        if !probe.is_preferred() {
            break probe;
        }
        assert_eq!(probe.upstream(), home);
        drop(probe);
        held.push(router.acquire_bytes(&blockers[held.len()]));
    };
    let total = router.in_flight();
    let home_load = router.load(&home).unwrap();
    // The home upstream is at the bound for one more request ...
    assert!(
        home_load + 1 > bound(0.25, total + 1, 5),
        "{home_load} of {total}"
    );
    // ... so the key went to the next upstream in its rendezvous order.
    assert_eq!(spilled.upstream(), second);
    println!(
        "home {home} full at {home_load} of {total} in flight (bound for one more: {}): key spilled to \
         {second} after {} blockers",
        bound(0.25, total + 1, 5),
        held.len()
    );
    // While the home upstream stays full, the key keeps going elsewhere.
    let again = router.acquire_bytes(key);
    assert_ne!(again.upstream(), home);
    drop(again);

    // The blockers' requests end (the background stays): the key comes back home.
    drop(spilled);
    held.clear();
    let back = router.acquire_bytes(key);
    assert!(back.is_preferred());
    assert_eq!(back.upstream(), home);
    drop(back);
    drop(background);

    // A hot key on its own: its requests fill its home up to the bound, spill, and once
    // they end it is home again.
    let mut own = Vec::new();
    while own.last().is_none_or(|l: &Lease<'_>| l.is_preferred()) {
        own.push(router.acquire_bytes(key));
    }
    assert!(own.len() >= 2);
    assert_eq!(own.last().unwrap().upstream(), second);
    own.clear();
    assert_eq!(router.in_flight(), 0);
    assert_eq!(router.acquire_bytes(key).upstream(), home);
}

// ---------------------------------------------------------------------------------------
// 5. Uniformity without load.
// ---------------------------------------------------------------------------------------

/// 100k keys over N = 10: every upstream gets within 10% of the mean (10k; one standard
/// deviation of a bucket is about 95 keys, so 10% is about 10 of them), for each key shape.
#[test]
fn keys_spread_uniformly_without_load() {
    let n = 10;
    let router = Router::new(ids(n), 0.25).unwrap();
    for shape in SHAPES {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        let ks = keys(shape, 100_000, 7);
        for k in &ks {
            *counts.entry(router.preferred_bytes(k)).or_default() += 1;
        }
        assert_eq!(counts.len(), n, "{shape:?}: some upstream got no key");
        let mean = ks.len() as f64 / n as f64;
        let worst = counts
            .values()
            .map(|&c| (c as f64 - mean).abs() / mean)
            .fold(0.0, f64::max);
        println!(
            "{shape:?}: largest deviation from the mean {:.2}%",
            100.0 * worst
        );
        for (id, &c) in &counts {
            assert!(
                (c as f64 - mean).abs() <= 0.10 * mean,
                "{shape:?}: {id} got {c} keys, mean {mean}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Errors, not panics.
// ---------------------------------------------------------------------------------------

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let none: Vec<String> = Vec::new();
    assert_eq!(
        Router::new(none, 0.25).unwrap_err(),
        RouterError::NoUpstreams
    );
    for eps in [0.0, -0.0, -1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let err = Router::new(["a"], eps).unwrap_err();
        assert!(matches!(err, RouterError::InvalidEps(_)), "{eps}");
        assert!(err.to_string().contains("eps"), "{err}");
    }
    assert_eq!(
        Router::new(["a", "b", "a"], 0.25).unwrap_err(),
        RouterError::DuplicateUpstream("a".into())
    );
    let mut r = Router::new(["a", "b"], 0.25).unwrap();
    assert_eq!(r.add("b"), Err(RouterError::DuplicateUpstream("b".into())));
    assert_eq!(r.remove("c"), Err(RouterError::UnknownUpstream("c".into())));
    r.remove("a").unwrap();
    assert_eq!(r.remove("b"), Err(RouterError::NoUpstreams));
    assert_eq!(r.preferred_bytes(b"anything"), "b");
    // A tiny eps still always finds an upstream (the bound is never below the mean).
    let tight = Router::new(ids(4), 1e-12).unwrap();
    let held: Vec<_> = (0..100).map(|_| tight.acquire_bytes(b"hot")).collect();
    assert!(tight
        .loads()
        .iter()
        .all(|&(_, l)| l <= bound(1e-12, 100, 4)));
    assert_eq!(bound(1e-12, 100, 4), 26);
    drop(held);
    let e: Box<dyn std::error::Error> = Box::new(RouterError::NoUpstreams);
    assert!(!e.to_string().is_empty());
}
