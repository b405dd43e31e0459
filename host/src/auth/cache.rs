//! Temporary credentials cached per identity, refreshed ahead of expiry, one refresh at a time.
//!
//! Each identity key has its own async mutex: the first caller refreshes while the others wait
//! and then take its result, so a burst of mounts costs one STS (or metadata) call.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;

use super::{AuthError, Credentials};

/// Default lead time before expiry at which a credential is refreshed.
pub const DEFAULT_REFRESH_BEFORE: Duration = Duration::from_secs(15 * 60);

/// How long past the moment a refresh first failed a still-valid ECS credential keeps being served.
pub const DEFAULT_MAX_STALE: Duration = Duration::from_secs(5 * 60);

#[derive(Default)]
struct Slot {
    cached: Option<Entry>,
}

struct Entry {
    creds: Credentials,
    fetched_at: OffsetDateTime,
    first_failure: Option<OffsetDateTime>,
}

/// The cache. Cheap to share behind an `Arc`.
pub struct CredentialCache {
    slots: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Slot>>>>,
    refresh_before: Duration,
    max_stale: Duration,
    metrics: crate::metrics::Metrics,
}

impl std::fmt::Debug for CredentialCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.slots.lock().map(|s| s.len()).unwrap_or(0);
        f.debug_struct("CredentialCache")
            .field("identities", &n)
            .field("refresh_before", &self.refresh_before)
            .finish()
    }
}

impl CredentialCache {
    /// Refreshes `min(refresh_before, lifetime / 4)` before expiry.
    pub fn new(refresh_before: Duration, max_stale: Duration) -> Self {
        Self {
            slots: Mutex::new(HashMap::new()),
            refresh_before,
            max_stale,
            metrics: crate::metrics::Metrics::disabled(),
        }
    }

    /// Counts fetches and refreshes in `metrics` (by the key's kind: the text before its first `|`).
    pub fn set_metrics(&mut self, metrics: crate::metrics::Metrics) {
        self.metrics = metrics;
    }

    /// The cached credential for `key` if still fresh, else the result of `fetch` (cached).
    /// With `allow_stale`, a failed refresh serves the previous credential while it has not
    /// expired and for at most `max_stale` after the first failure.
    pub async fn get<F, Fut>(
        &self,
        key: &str,
        allow_stale: bool,
        fetch: F,
    ) -> Result<Credentials, AuthError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Credentials, AuthError>>,
    {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            slots.entry(key.to_owned()).or_default().clone()
        };
        let mut slot = slot.lock().await;
        let now = OffsetDateTime::now_utc();
        if let Some(e) = &slot.cached
            && !self.needs_refresh(e, now)
        {
            return Ok(e.creds.clone());
        }
        let source = key.split('|').next().unwrap_or(key);
        match fetch().await {
            Ok(creds) => {
                self.metrics.record_credential_refresh(source, "ok");
                slot.cached = Some(Entry {
                    creds: creds.clone(),
                    fetched_at: OffsetDateTime::now_utc(),
                    first_failure: None,
                });
                Ok(creds)
            }
            Err(err) => {
                if allow_stale && let Some(e) = slot.cached.as_mut() {
                    let since = *e.first_failure.get_or_insert(now);
                    let valid = e.creds.expiration().is_none_or(|x| x > now);
                    if valid && now - since <= self.max_stale {
                        self.metrics.record_credential_refresh(source, "stale");
                        tracing::warn!(
                            origin = e.creds.origin(),
                            error = %err,
                            "credential refresh failed; serving the previous, still valid credential"
                        );
                        return Ok(e.creds.clone());
                    }
                }
                self.metrics.record_credential_refresh(source, "error");
                Err(err)
            }
        }
    }

    /// Forgets every cached credential with this AccessKey id (the server said its token expired),
    /// so the next [`get`](Self::get) fetches a new one. A slot being refreshed right now is left
    /// alone: its refresh replaces the key anyway. Returns how many entries were dropped.
    pub fn invalidate(&self, access_key_id: &str) -> usize {
        let slots: Vec<_> = {
            let slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            slots.values().cloned().collect()
        };
        let mut dropped = 0;
        for slot in slots {
            if let Ok(mut slot) = slot.try_lock()
                && slot
                    .cached
                    .as_ref()
                    .is_some_and(|e| e.creds.access_key_id() == access_key_id)
            {
                slot.cached = None;
                dropped += 1;
            }
        }
        dropped
    }

    fn needs_refresh(&self, e: &Entry, now: OffsetDateTime) -> bool {
        let Some(exp) = e.creds.expiration() else {
            return false;
        };
        let lifetime = (exp - e.fetched_at).max(time::Duration::ZERO);
        let quarter: time::Duration = lifetime / 4;
        let configured = time::Duration::try_from(self.refresh_before).unwrap_or(lifetime);
        let lead = quarter.min(configured);
        now + lead >= exp
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn sts(id: &str) -> Credentials {
        Credentials::new(id, SecretString::from("s"), "test")
            .with_security_token(SecretString::from("t"))
            .with_expiration(OffsetDateTime::now_utc() + time::Duration::hours(1))
    }

    #[tokio::test]
    async fn invalidate_drops_only_that_key_and_the_next_get_refetches() {
        let cache = CredentialCache::new(DEFAULT_REFRESH_BEFORE, DEFAULT_MAX_STALE);
        let a = cache.get("a", false, || async { Ok(sts("STS.a1")) }).await;
        cache
            .get("b", false, || async { Ok(sts("STS.b1")) })
            .await
            .unwrap();
        assert_eq!(a.unwrap().access_key_id(), "STS.a1");
        assert_eq!(cache.invalidate("STS.unknown"), 0);
        assert_eq!(cache.invalidate("STS.a1"), 1);
        let a = cache.get("a", false, || async { Ok(sts("STS.a2")) }).await;
        assert_eq!(a.unwrap().access_key_id(), "STS.a2");
        // The other identity kept its credential.
        let b = cache.get("b", false, || async { Ok(sts("STS.b2")) }).await;
        assert_eq!(b.unwrap().access_key_id(), "STS.b1");
        // A late invalidation of the old key does not throw away the refreshed one.
        assert_eq!(cache.invalidate("STS.a1"), 0);
    }
}
