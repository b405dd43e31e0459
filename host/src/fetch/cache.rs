//! The optional short-TTL cache of fetched payloads (`--cache-ttl`, off by default).
//!
//! Keyed like coalescing ([`super::coalesce::FetchKey`]: identity, region, endpoint, object, type, version
//! or stage), so a payload is only ever served to the identity that read it. Errors are never cached.
//! Bounded by entries and bytes (the oldest entry goes first); payload bytes are zeroised when an entry
//! expires, is evicted or replaced. An entry's age counts from the start of the backend call, so no payload
//! is served more than `ttl` after it was requested from the backend.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use thiserror::Error;
use zeroize::Zeroizing;

use super::coalesce::FetchKey;
use super::{Fetched, SecretBytes};

/// Longest TTL accepted. Keep it at most half the driver's rotation poll interval, so every poll still
/// sees a rotation within one interval (the chart refuses a larger value).
pub const MAX_CACHE_TTL: Duration = Duration::from_secs(60);

/// Settings of the payload cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheConfig {
    /// How long a fetched payload is served again; zero (the default) disables the cache.
    pub ttl: Duration,
    /// Most payloads kept.
    pub max_entries: usize,
    /// Most payload bytes kept (a larger single payload is not cached).
    pub max_bytes: usize,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            ttl: Duration::ZERO,
            max_entries: 1000,
            max_bytes: 16 << 20,
        }
    }
}

/// A cache setting out of range; lists every problem.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("payload cache: {}", .0.join("; "))]
pub struct CacheConfigError(pub Vec<String>);

impl CacheConfig {
    /// Checks the bounds (all problems at once).
    pub fn validate(&self) -> Result<(), CacheConfigError> {
        let mut problems = Vec::new();
        if self.ttl > MAX_CACHE_TTL {
            problems.push(format!(
                "ttl {:?} is longer than the maximum {:?} (keep it at most half the rotation poll interval)",
                self.ttl, MAX_CACHE_TTL
            ));
        }
        if !self.ttl.is_zero() {
            if self.max_entries == 0 {
                problems.push("max_entries must be more than zero".into());
            }
            if self.max_bytes == 0 {
                problems.push("max_bytes must be more than zero".into());
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(CacheConfigError(problems))
        }
    }
}

struct Entry {
    data: Zeroizing<Vec<u8>>,
    version: String,
    born: Instant,
}

struct State {
    entries: HashMap<FetchKey, Entry>,
    bytes: usize,
}

/// The cache itself; shared by every mount of the provider.
pub(crate) struct PayloadCache {
    cfg: CacheConfig,
    state: Mutex<State>,
}

impl PayloadCache {
    pub(crate) fn new(cfg: CacheConfig) -> Self {
        Self {
            cfg,
            state: Mutex::new(State {
                entries: HashMap::new(),
                bytes: 0,
            }),
        }
    }

    /// A fresh copy of the payload if one younger than the TTL is cached (an expired one is dropped).
    pub(crate) fn get(&self, key: &FetchKey) -> Option<Fetched> {
        let mut s = self.state.lock().expect("cache lock poisoned");
        let fresh = s.entries.get(key)?.born.elapsed() < self.cfg.ttl;
        if !fresh {
            s.remove(key);
            return None;
        }
        let e = s.entries.get(key)?;
        Some(Fetched {
            data: SecretBytes::new(e.data.to_vec()),
            version: e.version.clone(),
            attempts: 0,
        })
    }

    /// Keeps a copy of `f`, requested from the backend at `born`; evicts expired, then oldest entries.
    pub(crate) fn insert(&self, key: FetchKey, f: &Fetched, born: Instant) {
        let len = f.data.as_bytes().len();
        if len > self.cfg.max_bytes || born.elapsed() >= self.cfg.ttl {
            return;
        }
        let mut s = self.state.lock().expect("cache lock poisoned");
        s.remove(&key);
        let ttl = self.cfg.ttl;
        let expired: Vec<FetchKey> = s
            .entries
            .iter()
            .filter(|(_, e)| e.born.elapsed() >= ttl)
            .map(|(k, _)| k.clone())
            .collect();
        for k in &expired {
            s.remove(k);
        }
        while s.entries.len() >= self.cfg.max_entries || s.bytes + len > self.cfg.max_bytes {
            let Some(oldest) = s
                .entries
                .iter()
                .min_by_key(|(_, e)| e.born)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            s.remove(&oldest);
        }
        s.bytes += len;
        s.entries.insert(
            key,
            Entry {
                data: Zeroizing::new(f.data.as_bytes().to_vec()),
                version: f.version.clone(),
                born,
            },
        );
    }

    #[cfg(test)]
    pub(crate) fn len_and_bytes(&self) -> (usize, usize) {
        let s = self.state.lock().expect("cache lock poisoned");
        (s.entries.len(), s.bytes)
    }
}

impl State {
    /// Drops an entry; `Zeroizing` wipes its bytes.
    fn remove(&mut self, key: &FetchKey) {
        if let Some(e) = self.entries.remove(key) {
            self.bytes -= e.data.len();
        }
    }
}
