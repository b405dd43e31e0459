//! Request coalescing (single-flight) and the optional payload cache in front of a [`SecretBackend`].
//!
//! Many pods of one Deployment start together and read the same secrets; the rotation poller remounts every
//! volume at once. Identical requests in flight share one backend call: the first caller (the leader) starts
//! it as a spawned task, later callers (followers) await the same result, errors included. Because the call
//! is a task of its own, a leader whose mount is cancelled does not cancel it, and a follower whose own
//! deadline is later than the leader's retries a retryable failure itself instead of inheriting a failure
//! caused by the leader's shorter deadline.
//!
//! Only the same identity shares: the key holds a fingerprint of the credential (source, AccessKeyId and a
//! salted hash of the secret and token), so a caller that presents a known AccessKeyId with a wrong secret
//! never receives another caller's payload.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use rand::Rng;
use sha2::{Digest, Sha256};

use super::cache::{CacheConfig, CacheConfigError, PayloadCache};
use super::{FetchError, FetchRequest, Fetched, ObjectKind, SecretBackend};
use crate::auth::Credentials;

/// The result followers share: the payload, or the leader's error.
pub type SharedFetch = Result<Fetched, FetchError>;

/// Where a result came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served {
    /// This caller's own backend call.
    Backend,
    /// Another caller's identical call that was in flight.
    Coalesced,
    /// The payload cache (`--cache-ttl`).
    Cache,
}

/// A stable, non-secret fingerprint of a credential: equal only for the same source, AccessKeyId, secret
/// and security token. The secret part is a SHA-256 over a per-process random salt, never shown.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Identity {
    origin: &'static str,
    access_key_id: String,
    proof: [u8; 16],
}

impl Identity {
    fn of(creds: &Credentials, salt: &[u8; 32]) -> Self {
        let signing = creds.signing();
        let mut h = Sha256::new();
        h.update(salt);
        h.update((signing.access_key_secret.len() as u64).to_le_bytes());
        h.update(signing.access_key_secret.as_bytes());
        match signing.security_token {
            Some(t) => {
                h.update([1]);
                h.update(t.as_bytes());
            }
            None => h.update([0]),
        }
        let digest = h.finalize();
        let mut proof = [0u8; 16];
        proof.copy_from_slice(&digest[..16]);
        Self {
            origin: creds.origin(),
            access_key_id: creds.access_key_id().to_owned(),
            proof,
        }
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: String = self.access_key_id.chars().take(4).collect();
        write!(f, "Identity({}, {shown}****)", self.origin)
    }
}

/// What makes two backend requests identical: identity, service, object, version/stage, region, endpoint.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct FetchKey {
    identity: Identity,
    kind: &'static str,
    name: String,
    version_id: Option<String>,
    version_stage: Option<String>,
    region: String,
    /// The per-object override; the process-wide endpoints are fixed, so this with `region` and `kind`
    /// determines the resolved endpoint.
    endpoint: Option<String>,
}

struct Flight {
    id: u64,
    deadline: Instant,
    result: Shared<BoxFuture<'static, SharedFetch>>,
}

struct Inner {
    salt: [u8; 32],
    flights: Mutex<HashMap<FetchKey, Flight>>,
    cache: Option<PayloadCache>,
    next_id: AtomicU64,
}

/// Single-flight plus the optional payload cache; cheap to clone, one per provider.
#[derive(Clone)]
pub struct Deduplicator {
    inner: Arc<Inner>,
}

impl fmt::Debug for Deduplicator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deduplicator")
            .field("cache", &self.inner.cache.is_some())
            .finish_non_exhaustive()
    }
}

/// Rounds a follower may start over after an unfairly shared failure (bounds the loop).
const MAX_ROUNDS: usize = 3;

impl Deduplicator {
    /// Coalescing is always on; `cache` with a zero TTL disables the payload cache.
    pub fn new(cache: CacheConfig) -> Result<Self, CacheConfigError> {
        cache.validate()?;
        let mut salt = [0u8; 32];
        rand::rng().fill(&mut salt);
        Ok(Self {
            inner: Arc::new(Inner {
                salt,
                flights: Mutex::new(HashMap::new()),
                cache: (!cache.ttl.is_zero()).then(|| PayloadCache::new(cache)),
                next_id: AtomicU64::new(0),
            }),
        })
    }

    /// Whether the payload cache is on.
    pub fn caches(&self) -> bool {
        self.inner.cache.is_some()
    }

    /// The key of `req` fetched with `creds`.
    pub fn key(&self, req: &FetchRequest, creds: &Credentials) -> FetchKey {
        FetchKey {
            identity: Identity::of(creds, &self.inner.salt),
            kind: match req.kind {
                ObjectKind::Kms => "kms",
                ObjectKind::Oos => "oos",
                ObjectKind::OosParameter => "oos-parameter",
            },
            name: req.name.clone(),
            version_id: req.version_id.clone(),
            version_stage: req.version_stage.clone(),
            region: req.region.clone(),
            endpoint: req.endpoint.clone(),
        }
    }

    /// Fetches `req` through the cache and the in-flight table; says whether this caller's own backend
    /// call produced the result (count it as a backend call) or it was shared.
    pub async fn fetch<B>(
        &self,
        backend: &B,
        req: &FetchRequest,
        creds: &Credentials,
        deadline: Instant,
    ) -> (SharedFetch, Served)
    where
        B: SecretBackend + Clone + 'static,
    {
        let key = self.key(req, creds);
        let mut last = None;
        for _ in 0..MAX_ROUNDS {
            if let Some(hit) = self.inner.cache.as_ref().and_then(|c| c.get(&key)) {
                return (Ok(hit), Served::Cache);
            }
            let (flight, leader, flight_deadline) = {
                let mut flights = self.inner.flights.lock().expect("flights lock poisoned");
                match flights.get(&key) {
                    Some(f) => (f.result.clone(), false, f.deadline),
                    None => {
                        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
                        let result = self.start(
                            id,
                            key.clone(),
                            backend.clone(),
                            req.clone(),
                            creds.clone(),
                            deadline,
                        );
                        flights.insert(
                            key.clone(),
                            Flight {
                                id,
                                deadline,
                                result: result.clone(),
                            },
                        );
                        (result, true, deadline)
                    }
                }
            };
            let got = flight.await;
            if leader {
                return (got, Served::Backend);
            }
            match &got {
                // The leader had less time: a failure that more time might fix is retried by this caller.
                Err(e)
                    if flight_deadline < deadline
                        && Instant::now() < deadline
                        && (e.is_retryable()
                            || matches!(e, FetchError::DeadlineExceeded { .. })) =>
                {
                    last = Some(got);
                }
                _ => return (got, Served::Coalesced),
            }
        }
        (
            last.expect("the loop ran at least once and only continues with a result"),
            Served::Coalesced,
        )
    }

    /// Spawns the backend call; when it ends, the result is cached (successes only) and the flight leaves
    /// the table, so later callers start afresh (or hit the cache).
    fn start<B>(
        &self,
        id: u64,
        key: FetchKey,
        backend: B,
        req: FetchRequest,
        creds: Credentials,
        deadline: Instant,
    ) -> Shared<BoxFuture<'static, SharedFetch>>
    where
        B: SecretBackend + Clone + 'static,
    {
        let inner = self.inner.clone();
        let started = Instant::now();
        let action = match key.kind {
            "kms" => "KMS GetSecretValue",
            "oos" => "OOS GetSecretParameter",
            _ => "OOS GetParameter",
        };
        let task = tokio::spawn(async move {
            let got = backend.fetch(&req, &creds, deadline).await;
            if let (Ok(f), Some(cache)) = (&got, &inner.cache) {
                cache.insert(key.clone(), f, started);
            }
            let mut flights = inner.flights.lock().expect("flights lock poisoned");
            if flights.get(&key).is_some_and(|f| f.id == id) {
                flights.remove(&key);
            }
            drop(flights);
            got
        });
        async move {
            task.await.unwrap_or_else(|join| {
                Err(FetchError::Network {
                    action,
                    host: "-".into(),
                    detail: format!("the shared fetch task stopped: {join}"),
                    timeout: false,
                    attempts: 0,
                })
            })
        }
        .boxed()
        .shared()
    }
}

#[cfg(test)]
#[path = "coalesce_tests.rs"]
mod tests;
