//! Replay protection as the gateway does it: a ±15 minute timestamp window and nonces
//! that may be used once within that window.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use axum::http::StatusCode;
use time::{Duration, OffsetDateTime};

use crate::clock::parse_timestamp;
use crate::error::ApiError;

/// How far a request timestamp may be from the emulator's clock.
pub const WINDOW: Duration = Duration::minutes(15);

/// Checks request timestamps and remembers nonces per access key.
#[derive(Default)]
pub struct ReplayGuard {
    seen: Mutex<Seen>,
}

/// Nonces by (key id, nonce), plus the same keys in arrival order so that expiry only looks at the
/// oldest entries: a load test makes hundreds of thousands of calls inside one window.
#[derive(Default)]
struct Seen {
    at: HashMap<(String, String), OffsetDateTime>,
    order: VecDeque<(OffsetDateTime, (String, String))>,
}

impl Seen {
    /// Forgets entries older than twice the window: they can never collide with a fresh timestamp.
    fn expire(&mut self, now: OffsetDateTime) {
        while let Some((at, _)) = self.order.front() {
            if now - *at <= WINDOW * 2 {
                break;
            }
            let (at, key) = self.order.pop_front().expect("front exists");
            if self.at.get(&key) == Some(&at) {
                self.at.remove(&key);
            }
        }
    }
}

impl ReplayGuard {
    /// `field` is the parameter or header the value came from (named in errors).
    pub fn check_timestamp(
        &self,
        field: &str,
        value: &str,
        now: OffsetDateTime,
    ) -> Result<(), ApiError> {
        let Some(t) = parse_timestamp(value) else {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "IllegalTimestamp",
                format!(
                    "The input parameter \"{field}\" that is mandatory for processing this request is not supplied or is not in UTC form YYYY-MM-DDThh:mm:ssZ."
                ),
            ));
        };
        if (t - now).abs() > WINDOW {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "InvalidTimeStamp.Expired",
                format!(
                    "Specified time stamp or date value is expired: {field} must be within 15 minutes of the server time."
                ),
            ));
        }
        Ok(())
    }

    /// Record `nonce` for `key_id`; a second use inside the window is refused.
    pub fn use_nonce(
        &self,
        key_id: &str,
        nonce: &str,
        now: OffsetDateTime,
    ) -> Result<(), ApiError> {
        let mut seen = self.seen.lock().expect("nonce cache lock poisoned");
        seen.expire(now);
        let key = (key_id.to_owned(), nonce.to_owned());
        if seen.at.contains_key(&key) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "SignatureNonceUsed",
                "Specified signature nonce was used already.",
            ));
        }
        seen.at.insert(key.clone(), now);
        seen.order.push_back((now, key));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::format_timestamp;

    #[test]
    fn window_is_fifteen_minutes_each_way() {
        let g = ReplayGuard::default();
        let now = OffsetDateTime::now_utc();
        for ok in [-14, 0, 14] {
            let ts = format_timestamp(now + Duration::minutes(ok));
            assert!(g.check_timestamp("Timestamp", &ts, now).is_ok(), "{ok}");
        }
        for bad in [-16, 16] {
            let ts = format_timestamp(now + Duration::minutes(bad));
            let err = g.check_timestamp("Timestamp", &ts, now).unwrap_err();
            assert_eq!(err.code, "InvalidTimeStamp.Expired");
        }
        let err = g
            .check_timestamp("x-acs-date", "yesterday", now)
            .unwrap_err();
        assert_eq!(err.code, "IllegalTimestamp");
    }

    #[test]
    fn nonce_once_per_key_and_forgotten_after_the_window() {
        let g = ReplayGuard::default();
        let now = OffsetDateTime::now_utc();
        g.use_nonce("k1", "n", now).unwrap();
        assert_eq!(
            g.use_nonce("k1", "n", now).unwrap_err().code,
            "SignatureNonceUsed"
        );
        g.use_nonce("k2", "n", now).unwrap();
        g.use_nonce("k1", "n", now + WINDOW * 2 + Duration::seconds(1))
            .unwrap();
    }

    #[test]
    fn expired_nonces_are_dropped_from_memory() {
        let g = ReplayGuard::default();
        let now = OffsetDateTime::now_utc();
        for i in 0..1000 {
            g.use_nonce("k", &i.to_string(), now).unwrap();
        }
        g.use_nonce("k", "late", now + WINDOW * 2 + Duration::seconds(1))
            .unwrap();
        let seen = g.seen.lock().unwrap();
        assert_eq!((seen.at.len(), seen.order.len()), (1, 1));
    }
}
