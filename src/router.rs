//! Upstream choice: rendezvous hashing with bounded loads.
//!
//! A [`Router`] maps a sticky-session key to one of N upstreams (accounts, backends) so that
//! every turn of a conversation reaches the same upstream, while no upstream carries much more
//! than its share of the requests in flight.
//!
//! # Algorithm
//!
//! **Rendezvous (highest-random-weight) hashing** (D. G. Thaler and C. V. Ravishankar, *A
//! Name-Based Mapping Scheme for Rendezvous*, University of Michigan technical report
//! CSE-TR-316-96, 1996; journal version *Using Name-Based Mappings to Increase Hit Rates*,
//! IEEE/ACM Transactions on Networking 6(1), 1998). Every upstream gives every key a score,
//! and the key's *preferred* upstream is the one with the highest score. Sorting all upstreams
//! by score gives the key's *rendezvous order*, its list of fallbacks. Scores depend only on
//! the upstream's id and the key, so:
//!
//! - adding an upstream moves exactly the keys that now score highest on it (about 1/(N+1) of
//!   them), and removing one moves exactly the keys that preferred it (about 1/N);
//!   no key ever moves between two upstreams that stay;
//! - two processes, on any machines, that know the same upstream ids agree on every key,
//!   without talking to each other and whatever order the ids were given in.
//!
//! **Bounded loads** (V. Mirrokni, M. Thorup and M. Zadimoghaddam, *Consistent Hashing with
//! Bounded Loads*, SODA 2018, arXiv:1608.01350). A popular conversation (a shared system prompt
//! behind a busy agent) must not pin one upstream under all of its traffic. The router counts
//! the requests in flight on each upstream (a [`Lease`] is one request; dropping it ends the
//! request). With `t` requests in flight over `n` upstreams, a new request may only go to an
//! upstream whose load `l` satisfies
//!
//! ```text
//! l + 1 <= ceil((1 + eps) * (t + 1) / n)
//! ```
//!
//! computed in `f64` exactly as written: `((1.0 + eps) * (t + 1) as f64 / n as f64).ceil()`.
//! It takes the first upstream in its key's rendezvous order that satisfies this (the
//! highest-scoring one with room). One always exists: if every upstream had `l >= cap`, the
//! loads would sum to at least `n * cap >= (1 + eps) * (t + 1) > t`. So at the moment a request
//! is placed, its upstream carries at most `ceil((1 + eps) * mean)` requests, `mean` counting
//! the new one.
//!
//! Differences from the paper, on purpose: the paper walks a consistent-hashing ring from the
//! key's point; here the walk follows the key's rendezvous order, so each key has its own
//! independent fallback sequence and there is no ring to build. The paper also moves balls
//! when others leave, to keep the bound at all times; a request in flight cannot move, so here
//! the bound holds *when a request is placed*. After other requests finish, an upstream can sit
//! above the (now smaller) bound until its own requests finish; it takes no new ones meanwhile.
//!
//! A key that spilled over is not remembered anywhere: every request walks its key's order
//! from the top again, so as soon as the preferred upstream has room, the key's requests go
//! back to it (and to its prompt cache).
//!
//! # Scores, frozen
//!
//! [`score`] is part of the format and will not change within a major version, so that Rust,
//! Go and C proxies can agree:
//!
//! ```text
//! upstream_seed(id) = xxh3_64_with_seed(id as UTF-8 bytes, ROUTER_SEED)
//! score(id, key)    = xxh3_64_with_seed(key bytes, upstream_seed(id))
//! ROUTER_SEED       = 0x7374_6b79_7274_2f31   (the ASCII bytes "stkyrt/1", big-endian)
//! ```
//!
//! xxh3 is XXH3_64bits_withSeed of the reference xxHash library (version 0.8). Higher score
//! wins; equal scores (probability about 2^-64 per pair) go to the id that sorts first
//! byte-wise. A [`Key`] is routed by its bytes, [`Key::as_bytes`]: the routing of a key and of
//! its bytes given to the `_bytes` methods is the same.
//!
//! # Concurrency
//!
//! All routing methods take `&self`; share a router with an `Arc`. The loads live in a
//! [`Mutex`] around one small table (a counter per upstream and the total). A lock, not
//! atomics, because the bound compares one upstream's load with the *total* load: with
//! separate atomic counters two threads could both see room and both take the last slot, and
//! the bound would not hold. Scores are computed before taking the lock; inside it, the common
//! case (the preferred upstream has room) is one comparison and two increments; only a
//! spill-over scores the upstreams again under the lock. A poisoned lock is recovered (the
//! table is never left half-updated), so no method panics.
//!
//! # Changing the upstreams
//!
//! [`Router::add`] and [`Router::remove`] take `&mut self`, which the borrow checker grants only
//! while no [`Lease`] is alive, so a lease always refers to an upstream that still exists. A
//! proxy that must change the set under live traffic builds a new router with the new ids and
//! swaps it in (behind an `RwLock<Arc<Router>>` or similar); leases from the old router
//! release into the old one, and because scores depend only on ids, the new router sends every
//! key where the old one did unless the change concerns that key's upstream. Its load table
//! starts empty, so the bound applies to new requests only.

#![forbid(unsafe_code)]

use std::collections::HashSet;
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

use xxhash_rust::xxh3::xxh3_64_with_seed;

use crate::Key;

/// The seed from which every upstream's seed is derived: the ASCII bytes `"stkyrt/1"` read
/// big-endian (`0x7374_6b79_7274_2f31`). Frozen, see [`score`].
///
/// ```
/// assert_eq!(stickykey::router::ROUTER_SEED, u64::from_be_bytes(*b"stkyrt/1"));
/// ```
pub const ROUTER_SEED: u64 = u64::from_be_bytes(*b"stkyrt/1");

/// The seed of upstream `id`'s score function: `xxh3_64_with_seed(id, ROUTER_SEED)`.
///
/// ```
/// use stickykey::router::upstream_seed;
/// assert_eq!(upstream_seed("acct-1"), upstream_seed("acct-1"));
/// assert_ne!(upstream_seed("acct-1"), upstream_seed("acct-2"));
/// ```
pub fn upstream_seed(id: &str) -> u64 {
    xxh3_64_with_seed(id.as_bytes(), ROUTER_SEED)
}

/// Upstream `id`'s rendezvous score for the key bytes `key`:
/// `xxh3_64_with_seed(key, upstream_seed(id))`. The highest score wins.
///
/// ```
/// use stickykey::router::{score, Router};
///
/// let ids = ["a", "b", "c"];
/// let router = Router::new(ids, 0.25)?;
/// let key = b"conversation-42";
/// let best = ids.iter().max_by_key(|id| score(id, key)).unwrap();
/// assert_eq!(router.preferred_bytes(key), *best);
/// # Ok::<(), stickykey::router::RouterError>(())
/// ```
pub fn score(id: &str, key: &[u8]) -> u64 {
    xxh3_64_with_seed(key, upstream_seed(id))
}

/// Why a [`Router`] could not be built or changed.
///
/// ```
/// use stickykey::router::{Router, RouterError};
///
/// let none: [&str; 0] = [];
/// assert_eq!(Router::new(none, 0.25).unwrap_err(), RouterError::NoUpstreams);
/// let err = Router::new(["a"], f64::NAN).unwrap_err();
/// assert!(matches!(err, RouterError::InvalidEps(_)));
/// println!("{err}"); // "invalid eps NaN: the load bound needs a finite eps > 0"
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum RouterError {
    /// The list of upstreams is empty (or removing this one would leave none).
    NoUpstreams,
    /// `eps` is not a finite number greater than 0 (it is NaN, infinite, zero or negative).
    InvalidEps(f64),
    /// The same upstream id was given twice; ids must be distinct.
    DuplicateUpstream(String),
    /// [`Router::remove`] was asked for an id the router does not have.
    UnknownUpstream(String),
}

impl fmt::Display for RouterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouterError::NoUpstreams => f.write_str("a router needs at least one upstream"),
            RouterError::InvalidEps(eps) => write!(
                f,
                "invalid eps {eps}: the load bound needs a finite eps > 0"
            ),
            RouterError::DuplicateUpstream(id) => write!(f, "upstream id {id:?} given twice"),
            RouterError::UnknownUpstream(id) => write!(f, "no upstream with id {id:?}"),
        }
    }
}

impl std::error::Error for RouterError {}

/// One upstream: its id and the seed of its score function.
#[derive(Debug)]
struct Upstream {
    id: Box<str>,
    seed: u64,
}

impl Upstream {
    fn new(id: String) -> Upstream {
        let seed = upstream_seed(&id);
        Upstream {
            id: id.into_boxed_str(),
            seed,
        }
    }
}

/// Requests in flight: one counter per upstream (same order as `Router::upstreams`) and their
/// sum.
#[derive(Debug)]
struct Loads {
    per: Vec<u64>,
    total: u64,
}

/// Maps keys to upstreams by rendezvous hashing with bounded loads; see the
/// [module documentation](self) for the algorithm.
///
/// ```
/// use std::sync::Arc;
/// use stickykey::{Config, Fingerprinter, Router};
///
/// let router = Arc::new(Router::new(["acct-a", "acct-b", "acct-c"], 0.25)?);
///
/// let mut fp = Fingerprinter::new(Config::sub2api());
/// let body = br#"{"model":"gpt-4o","messages":[{"role":"user","content":"Hello"}]}"#;
/// let key = fp.content_key(body).unwrap().unwrap();
///
/// let lease = router.acquire(&key); // one request in flight
/// assert_eq!(lease.upstream(), router.preferred(&key)); // nothing else is in flight
/// // ... forward the request to lease.upstream() ...
/// drop(lease); // the response is done
/// assert_eq!(router.in_flight(), 0);
/// # Ok::<(), stickykey::router::RouterError>(())
/// ```
pub struct Router {
    upstreams: Vec<Upstream>,
    eps: f64,
    loads: Mutex<Loads>,
}

impl Router {
    /// A router over `upstreams` (distinct ids, at least one) with load bound `eps`: no
    /// upstream takes a new request that would bring it above `ceil((1 + eps) * mean)`.
    /// Smaller `eps` balances more tightly and spills keys away from their preferred upstream
    /// more often; 0.25 to 1 are usual choices.
    ///
    /// The order of `upstreams` does not matter. Errors: [`RouterError::InvalidEps`] unless
    /// `eps` is finite and > 0, [`RouterError::NoUpstreams`] for an empty list,
    /// [`RouterError::DuplicateUpstream`] for a repeated id.
    ///
    /// ```
    /// use stickykey::Router;
    ///
    /// let ids: Vec<String> = (1..=4).map(|i| format!("https://upstream-{i}.internal")).collect();
    /// let router = Router::new(ids, 0.5)?;
    /// assert_eq!(router.upstreams().len(), 4);
    /// assert!(Router::new(["a", "a"], 0.5).is_err());
    /// assert!(Router::new(["a"], 0.0).is_err());
    /// # Ok::<(), stickykey::router::RouterError>(())
    /// ```
    pub fn new(
        upstreams: impl IntoIterator<Item = impl Into<String>>,
        eps: f64,
    ) -> Result<Router, RouterError> {
        // `!(eps > 0.0)` is true for NaN too.
        if !(eps > 0.0 && eps.is_finite()) {
            return Err(RouterError::InvalidEps(eps));
        }
        let upstreams: Vec<Upstream> = upstreams
            .into_iter()
            .map(|id| Upstream::new(id.into()))
            .collect();
        if upstreams.is_empty() {
            return Err(RouterError::NoUpstreams);
        }
        let mut seen = HashSet::with_capacity(upstreams.len());
        for u in &upstreams {
            if !seen.insert(&*u.id) {
                return Err(RouterError::DuplicateUpstream(u.id.to_string()));
            }
        }
        let n = upstreams.len();
        Ok(Router {
            upstreams,
            eps,
            loads: Mutex::new(Loads {
                per: vec![0; n],
                total: 0,
            }),
        })
    }

    /// The `eps` of the load bound.
    ///
    /// ```
    /// let router = stickykey::Router::new(["a", "b"], 0.25)?;
    /// assert_eq!(router.eps(), 0.25);
    /// # Ok::<(), stickykey::router::RouterError>(())
    /// ```
    pub fn eps(&self) -> f64 {
        self.eps
    }

    /// The upstream ids, in the order they were given (and added).
    ///
    /// ```
    /// let router = stickykey::Router::new(["b", "a"], 0.25)?;
    /// assert_eq!(router.upstreams().collect::<Vec<_>>(), ["b", "a"]);
    /// # Ok::<(), stickykey::router::RouterError>(())
    /// ```
    pub fn upstreams(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.upstreams.iter().map(|u| &*u.id)
    }

    /// Adds upstream `id` (with no load). Keys that now score highest on it move to it; no
    /// other key changes its preferred upstream. Error: [`RouterError::DuplicateUpstream`].
    ///
    /// Takes `&mut self`, so no [`Lease`] may be alive; see the
    /// [module documentation](self#changing-the-upstreams) for changes under live traffic.
    ///
    /// ```
    /// let mut router = stickykey::Router::new(["a", "b"], 0.25)?;
    /// let before = router.preferred_bytes(b"k").to_owned();
    /// router.add("c")?;
    /// let after = router.preferred_bytes(b"k");
    /// assert!(after == before || after == "c");
    /// assert!(router.add("c").is_err());
    /// # Ok::<(), stickykey::router::RouterError>(())
    /// ```
    pub fn add(&mut self, id: impl Into<String>) -> Result<(), RouterError> {
        let id = id.into();
        if self.index_of(&id).is_some() {
            return Err(RouterError::DuplicateUpstream(id));
        }
        self.upstreams.push(Upstream::new(id));
        self.loads
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .per
            .push(0);
        Ok(())
    }

    /// Removes upstream `id`. Exactly the keys that preferred it move, each to the next
    /// upstream in its rendezvous order. Errors: [`RouterError::UnknownUpstream`], and
    /// [`RouterError::NoUpstreams`] if `id` is the last upstream (a router always has one).
    ///
    /// Takes `&mut self`, so no [`Lease`] may be alive; see the
    /// [module documentation](self#changing-the-upstreams) for changes under live traffic.
    ///
    /// ```
    /// let mut router = stickykey::Router::new(["a", "b", "c"], 0.25)?;
    /// router.remove("b")?;
    /// assert_eq!(router.upstreams().collect::<Vec<_>>(), ["a", "c"]);
    /// assert!(router.remove("b").is_err());
    /// # Ok::<(), stickykey::router::RouterError>(())
    /// ```
    pub fn remove(&mut self, id: &str) -> Result<(), RouterError> {
        let Some(i) = self.index_of(id) else {
            return Err(RouterError::UnknownUpstream(id.to_owned()));
        };
        if self.upstreams.len() == 1 {
            return Err(RouterError::NoUpstreams);
        }
        self.upstreams.remove(i);
        let loads = self.loads.get_mut().unwrap_or_else(PoisonError::into_inner);
        // Non-zero only if leases were leaked with `mem::forget`.
        let gone = loads.per.remove(i);
        loads.total = loads.total.saturating_sub(gone);
        Ok(())
    }

    /// `key`'s preferred upstream: the highest rendezvous score, loads ignored. Same as
    /// [`preferred_bytes`](Router::preferred_bytes) on `key.as_bytes()`.
    ///
    /// ```
    /// use stickykey::{Config, Fingerprinter, Router};
    ///
    /// let router = Router::new(["a", "b", "c"], 0.25)?;
    /// let mut fp = Fingerprinter::new(Config::native());
    /// let key = fp.content_key(br#"{"model":"m","input":"hi"}"#).unwrap().unwrap();
    /// assert_eq!(router.preferred(&key), router.preferred_bytes(key.as_bytes().as_ref()));
    /// # Ok::<(), stickykey::router::RouterError>(())
    /// ```
    pub fn preferred(&self, key: &Key) -> &str {
        self.preferred_bytes(key.as_bytes().as_ref())
    }

    /// The preferred upstream of the key bytes `key` (any bytes: a session id, a hash, ...).
    ///
    /// ```
    /// let router = stickykey::Router::new(["a", "b", "c"], 0.25)?;
    /// let first = router.preferred_bytes(b"session-1");
    /// assert_eq!(router.preferred_bytes(b"session-1"), first); // always the same
    /// # Ok::<(), stickykey::router::RouterError>(())
    /// ```
    pub fn preferred_bytes(&self, key: &[u8]) -> &str {
        &self.upstreams[self.top(key)].id
    }

    /// Starts a request for `key`: picks the first upstream in `key`'s rendezvous order that
    /// stays within the load bound and counts the request on it until the returned [`Lease`]
    /// is dropped. Same as [`acquire_bytes`](Router::acquire_bytes) on `key.as_bytes()`.
    ///
    /// ```
    /// use stickykey::{Config, Fingerprinter, Router};
    ///
    /// let router = Router::new(["a", "b", "c"], 0.25)?;
    /// let mut fp = Fingerprinter::new(Config::sub2api());
    /// let key = fp.content_key(br#"{"model":"m","messages":[]}"#).unwrap().unwrap();
    /// let lease = router.acquire(&key);
    /// assert!(lease.is_preferred());
    /// assert_eq!(router.load(lease.upstream()), Some(1));
    /// # Ok::<(), stickykey::router::RouterError>(())
    /// ```
    pub fn acquire(&self, key: &Key) -> Lease<'_> {
        self.acquire_bytes(key.as_bytes().as_ref())
    }

    /// [`acquire`](Router::acquire) for the key bytes `key`.
    ///
    /// ```
    /// let router = stickykey::Router::new(["a", "b", "c"], 0.5)?;
    /// // The bound is ceil(1.5 * (t + 1) / 3) with t requests in flight: 1 for the first
    /// // request and still 1 for the second, so a second request of the same key spills over.
    /// let l1 = router.acquire_bytes(b"hot");
    /// assert!(l1.is_preferred());
    /// let l2 = router.acquire_bytes(b"hot");
    /// assert!(!l2.is_preferred());
    /// assert_ne!(l2.upstream(), l1.upstream());
    /// # Ok::<(), stickykey::router::RouterError>(())
    /// ```
    pub fn acquire_bytes(&self, key: &[u8]) -> Lease<'_> {
        let top = self.top(key);
        let mut loads = self.lock();
        let cap = capacity(self.eps, loads.total, self.upstreams.len());
        let index = if loads.per[top] < cap {
            top
        } else {
            self.best(key, |i| loads.per[i] < cap).unwrap_or(top)
        };
        loads.per[index] = loads.per[index].saturating_add(1);
        loads.total = loads.total.saturating_add(1);
        drop(loads);
        Lease {
            router: self,
            index,
            preferred: index == top,
        }
    }

    /// The requests in flight on upstream `id` (`None` if there is no such upstream).
    ///
    /// ```
    /// let router = stickykey::Router::new(["a", "b"], 0.25)?;
    /// let lease = router.acquire_bytes(b"k");
    /// assert_eq!(router.load(lease.upstream()), Some(1));
    /// assert_eq!(router.load("zzz"), None);
    /// # Ok::<(), stickykey::router::RouterError>(())
    /// ```
    pub fn load(&self, id: &str) -> Option<u64> {
        let i = self.index_of(id)?;
        Some(self.lock().per[i])
    }

    /// A consistent snapshot of every upstream's load, in [`upstreams`](Router::upstreams)
    /// order.
    ///
    /// ```
    /// let router = stickykey::Router::new(["a", "b"], 0.25)?;
    /// let _lease = router.acquire_bytes(b"k");
    /// let loads = router.loads();
    /// assert_eq!(loads.iter().map(|&(_, l)| l).sum::<u64>(), 1);
    /// # Ok::<(), stickykey::router::RouterError>(())
    /// ```
    pub fn loads(&self) -> Vec<(&str, u64)> {
        let loads = self.lock();
        self.upstreams
            .iter()
            .zip(&loads.per)
            .map(|(u, &l)| (&*u.id, l))
            .collect()
    }

    /// The number of requests in flight (leases alive) over all upstreams.
    ///
    /// ```
    /// let router = stickykey::Router::new(["a", "b"], 0.25)?;
    /// let lease = router.acquire_bytes(b"k");
    /// assert_eq!(router.in_flight(), 1);
    /// drop(lease);
    /// assert_eq!(router.in_flight(), 0);
    /// # Ok::<(), stickykey::router::RouterError>(())
    /// ```
    pub fn in_flight(&self) -> u64 {
        self.lock().total
    }

    fn lock(&self) -> MutexGuard<'_, Loads> {
        // Every critical section leaves the table consistent (no panics inside), so a
        // poisoned lock still holds valid counts.
        self.loads.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn index_of(&self, id: &str) -> Option<usize> {
        self.upstreams.iter().position(|u| &*u.id == id)
    }

    /// The index of `key`'s preferred upstream.
    fn top(&self, key: &[u8]) -> usize {
        // A router always has at least one upstream, so `best` finds one.
        self.best(key, |_| true).unwrap_or(0)
    }

    /// The highest-scoring upstream among those `eligible`; ties go to the smaller id.
    fn best(&self, key: &[u8], mut eligible: impl FnMut(usize) -> bool) -> Option<usize> {
        let mut best: Option<(usize, u64)> = None;
        for (i, u) in self.upstreams.iter().enumerate() {
            if !eligible(i) {
                continue;
            }
            let s = xxh3_64_with_seed(key, u.seed);
            let wins = match best {
                None => true,
                Some((j, bs)) => s > bs || (s == bs && u.id < self.upstreams[j].id),
            };
            if wins {
                best = Some((i, s));
            }
        }
        best.map(|(i, _)| i)
    }

    fn release(&self, index: usize) {
        let mut loads = self.lock();
        loads.per[index] = loads.per[index].saturating_sub(1);
        loads.total = loads.total.saturating_sub(1);
    }
}

/// The most requests an upstream may carry after taking a new one, with `total` in flight
/// before it over `n` upstreams: `ceil((1 + eps) * (total + 1) / n)`.
fn capacity(eps: f64, total: u64, n: usize) -> u64 {
    // `as` saturates; eps is finite and n >= 1, so the value is finite and positive.
    ((1.0 + eps) * (total as f64 + 1.0) / n as f64).ceil() as u64
}

impl fmt::Debug for Router {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Router")
            .field("eps", &self.eps)
            .field("loads", &self.loads())
            .finish()
    }
}

/// One request in flight on an upstream, from [`Router::acquire`]; dropping it ends the
/// request and frees its slot. A lease leaked with [`std::mem::forget`] stays counted.
///
/// ```
/// let router = stickykey::Router::new(["a", "b", "c"], 0.25)?;
/// {
///     let lease = router.acquire_bytes(b"conversation-7");
///     println!("forward to {}", lease.upstream());
///     assert_eq!(router.in_flight(), 1);
/// }
/// assert_eq!(router.in_flight(), 0);
/// # Ok::<(), stickykey::router::RouterError>(())
/// ```
#[must_use = "dropping a lease ends the request at once"]
pub struct Lease<'a> {
    router: &'a Router,
    index: usize,
    preferred: bool,
}

impl<'a> Lease<'a> {
    /// The id of the upstream this request goes to.
    ///
    /// ```
    /// let router = stickykey::Router::new(["only"], 0.25)?;
    /// assert_eq!(router.acquire_bytes(b"k").upstream(), "only");
    /// # Ok::<(), stickykey::router::RouterError>(())
    /// ```
    pub fn upstream(&self) -> &'a str {
        &self.router.upstreams[self.index].id
    }

    /// Whether that is the key's preferred upstream (`false`: the request spilled over
    /// because the preferred one was at the load bound).
    ///
    /// ```
    /// let router = stickykey::Router::new(["a", "b"], 0.25)?;
    /// let lease = router.acquire_bytes(b"k");
    /// assert!(lease.is_preferred());
    /// assert_eq!(lease.upstream(), router.preferred_bytes(b"k"));
    /// # Ok::<(), stickykey::router::RouterError>(())
    /// ```
    pub fn is_preferred(&self) -> bool {
        self.preferred
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        self.router.release(self.index);
    }
}

impl fmt::Debug for Lease<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lease")
            .field("upstream", &self.upstream())
            .field("preferred", &self.preferred)
            .finish()
    }
}
