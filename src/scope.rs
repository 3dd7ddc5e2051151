//! Keyed and tenant-scoped keys: a final step over any [`Key`] (see [`KeyScope`]).

use crate::key::Key;

const LABEL: &[u8] = b"stickykey scope v1";
const UNKEYED_CONTEXT: &str = "stickykey scope v1 unkeyed";

/// Turns keys into keyed and/or tenant-scoped keys.
///
/// A content key is a pure function of the request, so anyone can compute it: a client can
/// predict which upstream a request lands on, or grind requests until many land on one. And two
/// tenants who send the same system prompt get the same key, so they share a session (and the
/// upstream's prompt cache) whether or not that is wanted. A [`KeyScope`] fixes both:
///
/// * with a **secret** (32 bytes, blake3 keyed mode), keys cannot be computed without it;
/// * with a **tenant** (any bytes, for example an API-key id), keys of different tenants never
///   collide, unless the caller passes the same tenant for both.
///
/// `scoped = blake3_keyed(K, "stickykey scope v1" || u64le(len(tenant)) || tenant ||
/// u8(len(key)) || key)`, truncated to the input key's length (at least 16 bytes: a scoped
/// sub2api key is 16 bytes of blake3, no longer Go's xxh64). `K` is the secret, or without one
/// `blake3::derive_key("stickykey scope v1 unkeyed", [])`. Lengths frame every variable part,
/// so no two (tenant, key) pairs hash the same input.
///
/// ```
/// use stickykey::{Config, Fingerprinter, KeyScope};
///
/// let mut fp = Fingerprinter::new(Config::native());
/// let body = br#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#;
/// let key = fp.content_key(body)?.unwrap();
///
/// let scope = KeyScope::with_secret([7; 32]);
/// let a = scope.apply(b"tenant-a", &key);
/// let b = scope.apply(b"tenant-b", &key);
/// assert_ne!(a, b);                                  // tenants never share a session
/// assert_eq!(a, scope.apply(b"tenant-a", &key));     // stable for one tenant
/// assert_ne!(a, KeyScope::unkeyed().apply(b"tenant-a", &key)); // the secret matters
/// # Ok::<(), stickykey::Error>(())
/// ```
#[derive(Clone)]
pub struct KeyScope {
    key: [u8; 32],
}

impl std::fmt::Debug for KeyScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        f.debug_struct("KeyScope").finish_non_exhaustive()
    }
}

impl KeyScope {
    /// Keyed mode: keys depend on `secret` (keep it out of clients' reach; rotate by
    /// creating a new scope, which moves every session once).
    pub fn with_secret(secret: [u8; 32]) -> KeyScope {
        KeyScope { key: secret }
    }

    /// No secret: only the tenant separation (keys stay computable by anyone).
    pub fn unkeyed() -> KeyScope {
        KeyScope {
            key: blake3::derive_key(UNKEYED_CONTEXT, &[]),
        }
    }

    /// The scoped key of `key` for `tenant` (`b""` for no tenant: keyed mode only).
    pub fn apply(&self, tenant: &[u8], key: &Key) -> Key {
        let bytes = key.as_bytes();
        let bytes = bytes.as_ref();
        let mut h = blake3::Hasher::new_keyed(&self.key);
        h.update(LABEL);
        h.update(&(tenant.len() as u64).to_le_bytes());
        h.update(tenant);
        h.update(&[bytes.len() as u8]);
        h.update(bytes);
        let len = bytes.len().clamp(16, 32);
        let mut out = [0u8; 32];
        h.finalize_xof().fill(&mut out[..len]);
        Key::native(out, len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8, len: usize) -> Key {
        Key::native([byte; 32], len)
    }

    #[test]
    fn frozen_vector() {
        // Pins the construction (label, framing, truncation): changing it moves every
        // scoped session, so it must be a deliberate, versioned change.
        let k = key(0xab, 16);
        let scoped = KeyScope::with_secret([1; 32]).apply(b"tenant", &k);
        let mut h = blake3::Hasher::new_keyed(&[1; 32]);
        h.update(b"stickykey scope v1");
        h.update(&6u64.to_le_bytes());
        h.update(b"tenant");
        h.update(&[16]);
        h.update(&[0xab; 16]);
        let mut want = [0u8; 32];
        h.finalize_xof().fill(&mut want[..16]);
        assert_eq!(scoped, Key::native(want, 16));
        // Recorded when the construction was frozen (scope v1).
        assert_eq!(scoped.to_string(), "b88f398adf76a718e4477750198c0321");
    }

    #[test]
    fn tenants_secrets_and_keys_separate() {
        let s = KeyScope::with_secret([9; 32]);
        let u = KeyScope::unkeyed();
        let k1 = key(1, 16);
        let k2 = key(2, 16);
        let all = [
            s.apply(b"a", &k1),
            s.apply(b"b", &k1),
            s.apply(b"a", &k2),
            s.apply(b"", &k1),
            u.apply(b"a", &k1),
            KeyScope::with_secret([8; 32]).apply(b"a", &k1),
            // Framing: ("ab", k) and ("a", "b"-prefixed) must not collide.
            s.apply(b"ab", &k1),
        ];
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(s.apply(b"a", &k1), s.apply(b"a", &k1));
        // A 256-bit key stays 256 bits.
        assert_eq!(s.apply(b"a", &key(3, 32)).to_string().len(), 64);
    }

    #[test]
    fn debug_hides_the_secret() {
        let s = format!("{:?}", KeyScope::with_secret([0x5a; 32]));
        assert!(!s.contains("90"), "{s}");
    }
}
