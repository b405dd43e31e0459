//! Single-flight and payload-cache edge cases against a counting fake backend.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use secrecy::SecretString;

use super::*;
use crate::fetch::{ApiError, CacheConfig, SecretBytes};

/// Counts calls, waits `delay`, then answers with the call number or fails as told.
#[derive(Clone)]
struct Fake {
    calls: Arc<AtomicUsize>,
    delay: Duration,
    fail: Option<fn() -> FetchError>,
}

impl Fake {
    fn new(delay: Duration) -> Self {
        Self {
            calls: Arc::new(AtomicUsize::new(0)),
            delay,
            fail: None,
        }
    }
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl SecretBackend for Fake {
    async fn fetch(
        &self,
        _req: &FetchRequest,
        _creds: &Credentials,
        deadline: Instant,
    ) -> Result<Fetched, FetchError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if Instant::now() + self.delay > deadline {
            tokio::time::sleep_until(deadline.into()).await;
            return Err(FetchError::DeadlineExceeded {
                action: "KMS GetSecretValue",
            });
        }
        tokio::time::sleep(self.delay).await;
        if let Some(f) = self.fail {
            return Err(f());
        }
        Ok(Fetched {
            data: SecretBytes::new(format!("value-{n}").into_bytes()),
            version: format!("v{n}"),
            attempts: 1,
        })
    }
}

fn not_found() -> FetchError {
    FetchError::Api {
        action: "KMS GetSecretValue",
        error: ApiError {
            code: Some("Forbidden.ResourceNotFound".into()),
            status: 404,
            request_id: None,
            message: String::new(),
            retry_after: None,
        },
        attempts: 1,
    }
}

fn req(name: &str) -> FetchRequest {
    FetchRequest {
        kind: ObjectKind::Kms,
        name: name.into(),
        version_id: None,
        version_stage: None,
        region: "cn-hangzhou".into(),
        endpoint: None,
    }
}

fn creds(id: &str, secret: &str) -> Credentials {
    Credentials::new(id, SecretString::from(secret.to_owned()), "test")
}

fn ttl(d: Duration) -> Deduplicator {
    Deduplicator::new(CacheConfig {
        ttl: d,
        ..CacheConfig::default()
    })
    .unwrap()
}

fn text(r: &SharedFetch) -> String {
    String::from_utf8(r.as_ref().unwrap().data.as_bytes().to_vec()).unwrap()
}

#[test]
fn key_separates_every_field_and_every_identity() {
    let d = ttl(Duration::ZERO);
    let a = creds("LTAI5tKeyA", "secret-a");
    let base = d.key(&req("app/db"), &a);
    assert_eq!(base, d.key(&req("app/db"), &a.clone()), "stable");
    let mut variants = Vec::new();
    for f in [
        (|r: &mut FetchRequest| r.name = "app/other".into()) as fn(&mut FetchRequest),
        |r| r.version_id = Some("v2".into()),
        |r| r.version_stage = Some("ACSPrevious".into()),
        |r| r.region = "cn-shanghai".into(),
        |r| r.endpoint = Some("https://kms.example".into()),
        |r| r.kind = ObjectKind::Oos,
        |r| r.kind = ObjectKind::OosParameter,
    ] {
        let mut r = req("app/db");
        f(&mut r);
        variants.push(d.key(&r, &a));
    }
    // Same AccessKeyId with another secret (a forged nodePublishSecretRef), another key, an STS token.
    variants.push(d.key(&req("app/db"), &creds("LTAI5tKeyA", "wrong")));
    variants.push(d.key(&req("app/db"), &creds("LTAI5tKeyB", "secret-a")));
    variants.push(
        d.key(
            &req("app/db"),
            &a.clone()
                .with_security_token(SecretString::from("tok".to_owned())),
        ),
    );
    variants.push(d.key(
        &req("app/db"),
        &Credentials::new(
            "LTAI5tKeyA",
            SecretString::from("secret-a".to_owned()),
            "env",
        ),
    ));
    for (i, v) in variants.iter().enumerate() {
        assert_ne!(&base, v, "variant {i} must not share");
    }
    // The fingerprint is salted per process: another deduplicator never produces the same proof.
    assert_ne!(base, ttl(Duration::ZERO).key(&req("app/db"), &a));
}

#[test]
fn key_debug_shows_neither_secret_nor_full_key_id() {
    let d = ttl(Duration::ZERO);
    let k = d.key(
        &req("app/db"),
        &creds("LTAI5tSecretKeyId", "super-secret-value")
            .with_security_token(SecretString::from("CAIS-token".to_owned())),
    );
    let shown = format!("{k:?}");
    for leaked in ["super-secret", "CAIS", "SecretKeyId"] {
        assert!(!shown.contains(leaked), "{shown}");
    }
    assert!(
        shown.contains("LTAI****") && shown.contains("app/db"),
        "{shown}"
    );
}

#[tokio::test]
async fn concurrent_identical_requests_make_one_call_and_share_it() {
    let db = req("app/db");
    let d = ttl(Duration::ZERO);
    let fake = Fake::new(Duration::from_millis(100));
    let c = creds("LTAI5tKeyA", "s");
    let deadline = Instant::now() + Duration::from_secs(10);
    let results =
        futures::future::join_all((0..20).map(|_| d.fetch(&fake, &db, &c, deadline))).await;
    assert_eq!(fake.calls(), 1);
    let served: Vec<Served> = results.iter().map(|(_, s)| *s).collect();
    assert_eq!(served.iter().filter(|s| **s == Served::Backend).count(), 1);
    assert_eq!(
        served.iter().filter(|s| **s == Served::Coalesced).count(),
        19
    );
    assert!(results.iter().all(|(r, _)| text(r) == "value-1"));
    // Finished flights leave the table: the next request calls again (no cache).
    let (r, s) = d.fetch(&fake, &db, &c, deadline).await;
    assert_eq!(
        (text(&r).as_str(), s, fake.calls()),
        ("value-2", Served::Backend, 2)
    );
}

#[tokio::test]
async fn different_identities_and_objects_do_not_share() {
    let db = req("app/db");
    let other = req("app/other");
    let d = ttl(Duration::ZERO);
    let fake = Fake::new(Duration::from_millis(50));
    let deadline = Instant::now() + Duration::from_secs(10);
    let (a, b) = (creds("LTAI5tKeyA", "s"), creds("LTAI5tKeyA", "other"));
    let (r1, r2, r3) = tokio::join!(
        d.fetch(&fake, &db, &a, deadline),
        d.fetch(&fake, &db, &b, deadline),
        d.fetch(&fake, &other, &a, deadline),
    );
    assert_eq!(fake.calls(), 3);
    assert!([r1.1, r2.1, r3.1].iter().all(|s| *s == Served::Backend));
}

#[tokio::test]
async fn followers_share_a_final_error() {
    let db = req("app/db");
    let d = ttl(Duration::from_secs(30));
    let mut fake = Fake::new(Duration::from_millis(50));
    fake.fail = Some(not_found);
    let c = creds("LTAI5tKeyA", "s");
    let deadline = Instant::now() + Duration::from_secs(10);
    let results =
        futures::future::join_all((0..5).map(|_| d.fetch(&fake, &db, &c, deadline))).await;
    assert_eq!(fake.calls(), 1);
    for (r, _) in &results {
        let e = r.as_ref().unwrap_err();
        assert!(e.to_string().contains("Forbidden.ResourceNotFound"), "{e}");
    }
    // Errors are never cached.
    let _ = d.fetch(&fake, &db, &c, deadline).await;
    assert_eq!(fake.calls(), 2);
}

#[tokio::test]
async fn a_cancelled_leader_does_not_fail_its_followers() {
    let db = req("app/db");
    let d = ttl(Duration::ZERO);
    let fake = Fake::new(Duration::from_millis(150));
    let c = creds("LTAI5tKeyA", "s");
    let deadline = Instant::now() + Duration::from_secs(10);
    let leader = {
        let (d, fake, c) = (d.clone(), fake.clone(), c.clone());
        tokio::spawn(async move { d.fetch(&fake, &req("app/db"), &c, deadline).await })
    };
    tokio::time::sleep(Duration::from_millis(30)).await;
    let follower = d.fetch(&fake, &db, &c, deadline);
    let abort = async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        leader.abort();
    };
    let ((r, s), ()) = tokio::join!(follower, abort);
    assert_eq!((text(&r).as_str(), s), ("value-1", Served::Coalesced));
    assert_eq!(fake.calls(), 1);
}

#[tokio::test]
async fn a_follower_with_more_time_retries_a_leader_that_ran_out() {
    let db = req("app/db");
    let d = ttl(Duration::ZERO);
    let fake = Fake::new(Duration::from_millis(100));
    let c = creds("LTAI5tKeyA", "s");
    let short = Instant::now() + Duration::from_millis(40);
    let long = Instant::now() + Duration::from_secs(10);
    let (lead, follow) = tokio::join!(d.fetch(&fake, &db, &c, short), async {
        tokio::time::sleep(Duration::from_millis(10)).await;
        d.fetch(&fake, &db, &c, long).await
    });
    assert!(
        matches!(
            lead.0.as_ref().unwrap_err(),
            FetchError::DeadlineExceeded { .. }
        ),
        "{:?}",
        lead.0
    );
    assert_eq!(text(&follow.0), "value-2", "the follower fetched itself");
    assert_eq!(fake.calls(), 2);
}

#[tokio::test]
async fn cache_serves_within_ttl_only_and_counts_from_the_request() {
    let db = req("app/db");
    let d = ttl(Duration::from_millis(300));
    let fake = Fake::new(Duration::from_millis(20));
    let c = creds("LTAI5tKeyA", "s");
    let deadline = Instant::now() + Duration::from_secs(10);
    let (r1, s1) = d.fetch(&fake, &db, &c, deadline).await;
    let (r2, s2) = d.fetch(&fake, &db, &c, deadline).await;
    assert_eq!((s1, s2), (Served::Backend, Served::Cache));
    assert_eq!(text(&r1), text(&r2));
    assert_eq!(r2.as_ref().unwrap().attempts, 0);
    // Another identity is not served from the cache.
    let (_, s) = d
        .fetch(&fake, &db, &creds("LTAI5tKeyA", "x"), deadline)
        .await;
    assert_eq!(s, Served::Backend);
    tokio::time::sleep(Duration::from_millis(320)).await;
    let (r3, s3) = d.fetch(&fake, &db, &c, deadline).await;
    assert_eq!((text(&r3).as_str(), s3), ("value-3", Served::Backend));
    assert_eq!(fake.calls(), 3);
}

#[test]
fn cache_is_bounded_by_entries_and_bytes_oldest_first() {
    let d = ttl(Duration::ZERO);
    let c = creds("LTAI5tKeyA", "s");
    let cache = PayloadCache::new(CacheConfig {
        ttl: Duration::from_secs(30),
        max_entries: 3,
        max_bytes: 10,
    });
    let f = |n: usize| Fetched {
        data: SecretBytes::new(vec![b'x'; n]),
        version: "v".into(),
        attempts: 1,
    };
    let t0 = Instant::now();
    for (i, name) in ["a", "b", "c", "d"].iter().enumerate() {
        cache.insert(
            d.key(&req(name), &c),
            &f(2),
            t0 + Duration::from_millis(i as u64),
        );
    }
    assert_eq!(cache.len_and_bytes(), (3, 6));
    assert!(cache.get(&d.key(&req("a"), &c)).is_none(), "oldest evicted");
    assert!(cache.get(&d.key(&req("d"), &c)).is_some());
    cache.insert(d.key(&req("e"), &c), &f(7), t0 + Duration::from_millis(9));
    let (n, bytes) = cache.len_and_bytes();
    assert!(bytes <= 10 && n <= 3, "{n} {bytes}");
    assert!(cache.get(&d.key(&req("e"), &c)).is_some());
    cache.insert(d.key(&req("huge"), &c), &f(11), Instant::now());
    assert!(
        cache.get(&d.key(&req("huge"), &c)).is_none(),
        "larger than the cache"
    );
}

#[test]
fn cache_settings_are_checked() {
    let e = CacheConfig {
        ttl: Duration::from_secs(61),
        max_entries: 0,
        max_bytes: 0,
    }
    .validate()
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("longer than the maximum 60s")
            && e.contains("max_entries")
            && e.contains("max_bytes"),
        "{e}"
    );
    assert!(CacheConfig::default().validate().is_ok());
    assert!(
        Deduplicator::new(CacheConfig {
            ttl: Duration::from_secs(120),
            ..CacheConfig::default()
        })
        .is_err()
    );
}
