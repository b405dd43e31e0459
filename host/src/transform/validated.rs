//! Remembers which step configs a plugin has accepted, so a mount does not pay a fresh sandbox for
//! `validate-config` every time the same SecretProviderClass is mounted again.
//!
//! Keyed by the plugin's sha256 (a changed plugin is a new key), the config text and the limits the
//! call ran under (a tighter policy cap may make validation fail). Only successes are kept: a rejected
//! config is re-validated, so its error is always current. Bounded, least recently used goes first.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// Configs remembered; a node mounts a few hundred distinct SPC steps at most.
const CAPACITY: usize = 1024;

#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    digest: String,
    config: String,
    memory_bytes: usize,
    timeout: Duration,
}

#[derive(Default)]
struct State {
    used: HashMap<Key, u64>,
    clock: u64,
}

/// The accepted (plugin, config, limits) triples.
#[derive(Default)]
pub(crate) struct ValidatedConfigs {
    state: Mutex<State>,
}

impl ValidatedConfigs {
    /// Whether this plugin already accepted `config` under these limits (and marks it used).
    pub(crate) fn contains(
        &self,
        digest: &str,
        config: &str,
        memory_bytes: usize,
        timeout: Duration,
    ) -> bool {
        let key = Key {
            digest: digest.to_owned(),
            config: config.to_owned(),
            memory_bytes,
            timeout,
        };
        let mut s = self.state.lock().expect("validated lock poisoned");
        s.clock += 1;
        let now = s.clock;
        match s.used.get_mut(&key) {
            Some(t) => {
                *t = now;
                true
            }
            None => false,
        }
    }

    /// Records a successful validation, evicting the least recently used entry when full.
    pub(crate) fn insert(
        &self,
        digest: &str,
        config: &str,
        memory_bytes: usize,
        timeout: Duration,
    ) {
        let mut s = self.state.lock().expect("validated lock poisoned");
        if s.used.len() >= CAPACITY
            && let Some(oldest) = s
                .used
                .iter()
                .min_by_key(|(_, t)| **t)
                .map(|(k, _)| k.clone())
        {
            s.used.remove(&oldest);
        }
        s.clock += 1;
        let now = s.clock;
        s.used.insert(
            Key {
                digest: digest.to_owned(),
                config: config.to_owned(),
                memory_bytes,
                timeout,
            },
            now,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Duration = Duration::from_millis(100);

    #[test]
    fn remembers_per_digest_config_and_limits() {
        let v = ValidatedConfigs::default();
        v.insert("d1", "{}", 64, T);
        assert!(v.contains("d1", "{}", 64, T));
        assert!(!v.contains("d2", "{}", 64, T), "another plugin build");
        assert!(!v.contains("d1", "{\"x\":1}", 64, T), "another config");
        assert!(!v.contains("d1", "{}", 32, T), "tighter memory cap");
        assert!(!v.contains("d1", "{}", 64, T / 2), "tighter timeout");
    }

    #[test]
    fn bounded_least_recently_used_first() {
        let v = ValidatedConfigs::default();
        for i in 0..CAPACITY {
            v.insert("d", &i.to_string(), 1, T);
        }
        assert!(v.contains("d", "0", 1, T)); // 0 is now the most recently used
        v.insert("d", "new", 1, T);
        assert!(v.contains("d", "0", 1, T));
        assert!(!v.contains("d", "1", 1, T), "least recently used evicted");
        assert!(v.contains("d", "new", 1, T));
        assert_eq!(v.state.lock().unwrap().used.len(), CAPACITY);
    }
}
