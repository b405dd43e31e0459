//! Temporary (STS-style) access keys issued at run time by STS and the ECS metadata
//! server. They carry the role's permissions and stop working at their expiration, so
//! the provider's credential refresh is exercised against real expiry.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use base64::Engine as _;
use time::{Duration, OffsetDateTime};

use crate::seed::AccessKeySeed;

/// Keys expired longer than this are forgotten (then they are simply unknown).
const FORGET_AFTER: Duration = Duration::hours(1);

/// A credential as handed to a client. Debug never shows the secret or token.
#[derive(Clone)]
pub struct Issued {
    pub access_key_id: String,
    pub access_key_secret: String,
    pub security_token: String,
    /// Whole seconds, so the `Expiration` text the client sees is exact.
    pub expiration: OffsetDateTime,
}

impl fmt::Debug for Issued {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issued")
            .field("access_key_id", &self.access_key_id)
            .field("expiration", &self.expiration)
            .finish_non_exhaustive()
    }
}

/// Registry of issued keys: id → (key with permissions, expiration).
#[derive(Default)]
pub struct TempKeys {
    keys: Mutex<HashMap<String, (AccessKeySeed, OffsetDateTime)>>,
}

impl TempKeys {
    /// Mint and register a key valid from `now` for `lifetime_secs`.
    pub fn issue(
        &self,
        permissions: Option<Vec<String>>,
        now: OffsetDateTime,
        lifetime_secs: u64,
    ) -> Issued {
        let now = now.replace_nanosecond(0).expect("0 ns is valid");
        let lifetime = Duration::seconds(i64::try_from(lifetime_secs).unwrap_or(i64::MAX / 2));
        let issued = Issued {
            access_key_id: format!("STS.{}", &random_hex()[..28]),
            access_key_secret: random_hex(),
            security_token: format!("CAIS{}", random_token()),
            expiration: now + lifetime,
        };
        let key = AccessKeySeed {
            id: issued.access_key_id.clone(),
            secret: issued.access_key_secret.clone(),
            security_token: Some(issued.security_token.clone()),
            permissions,
        };
        let mut keys = self.keys.lock().expect("temp key lock poisoned");
        keys.retain(|_, (_, exp)| now - *exp < FORGET_AFTER);
        keys.insert(issued.access_key_id.clone(), (key, issued.expiration));
        issued
    }

    /// The key and its expiration, if it was issued (and not long forgotten).
    pub fn get(&self, id: &str) -> Option<(AccessKeySeed, OffsetDateTime)> {
        self.keys
            .lock()
            .expect("temp key lock poisoned")
            .get(id)
            .cloned()
    }

    /// Whether `id` is registered and unexpired at `now`.
    pub fn is_live(&self, id: &str, now: OffsetDateTime) -> bool {
        self.get(id).is_some_and(|(_, exp)| exp > now)
    }

    /// Every key issued so far expires at `now` (kept, so callers get `Expired`, not unknown).
    pub fn expire_all(&self, now: OffsetDateTime) {
        for (_, exp) in self
            .keys
            .lock()
            .expect("temp key lock poisoned")
            .values_mut()
        {
            *exp = (*exp).min(now);
        }
    }
}

fn random_hex() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Token text with `+`, `/` and `=` in it, like real STS tokens, so clients' encoding is tested.
fn random_token() -> String {
    let bytes: Vec<u8> = (0..4)
        .flat_map(|_| *uuid::Uuid::new_v4().as_bytes())
        .collect();
    base64::engine::general_purpose::STANDARD.encode(&bytes[..62])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_keys_are_registered_with_permissions_and_expire() {
        let keys = TempKeys::default();
        let now = OffsetDateTime::now_utc();
        let a = keys.issue(Some(vec!["app/*".into()]), now, 5);
        let b = keys.issue(None, now, 5);
        assert_ne!(a.access_key_id, b.access_key_id);
        assert!(a.access_key_id.starts_with("STS.") && a.security_token.starts_with("CAIS"));
        assert_eq!(a.expiration.nanosecond(), 0);
        let (key, exp) = keys.get(&a.access_key_id).unwrap();
        assert_eq!(key.permissions, Some(vec!["app/*".to_owned()]));
        assert_eq!(
            key.security_token.as_deref(),
            Some(a.security_token.as_str())
        );
        assert_eq!(exp, a.expiration);
        assert!(keys.is_live(&a.access_key_id, now));
        assert!(!keys.is_live(&a.access_key_id, now + Duration::seconds(6)));
        keys.expire_all(now);
        assert!(!keys.is_live(&b.access_key_id, now));
        assert!(
            keys.get(&b.access_key_id).is_some(),
            "expired, not forgotten"
        );
        // Long-expired keys are forgotten when the next one is issued.
        keys.issue(None, now + FORGET_AFTER + Duration::seconds(10), 5);
        assert!(keys.get(&a.access_key_id).is_none());
    }

    #[test]
    fn debug_shows_neither_secret_nor_token() {
        let i = TempKeys::default().issue(None, OffsetDateTime::now_utc(), 60);
        let dbg = format!("{i:?}");
        assert!(dbg.contains(&i.access_key_id));
        assert!(!dbg.contains(&i.access_key_secret) && !dbg.contains(&i.security_token));
    }
}
