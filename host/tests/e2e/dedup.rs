//! Request coalescing and the payload cache, over gRPC against the emulator's call counter.

use crate::common::{DEMO_KEY_ID, Options, start, text};
use provider::fetch::CacheConfig;
use std::time::Duration;

const DB: [(&str, &str); 2] = [
    ("objects", "- objectName: app/db"),
    ("region", "cn-hangzhou"),
];

fn volume_key(id: &str, secret: &str) -> String {
    serde_json::json!({ "access_key": id, "access_secret": secret }).to_string()
}

fn with_ttl(ttl: Duration) -> Options {
    Options {
        cache: CacheConfig {
            ttl,
            ..CacheConfig::default()
        },
        ..Options::default()
    }
}

#[tokio::test]
async fn concurrent_mounts_of_one_secret_share_one_backend_call_per_identity() {
    let env = start(Options::default()).await;
    // Long enough that every mount below is in flight while the first call waits.
    env.emulator.set_latency(Duration::from_millis(1000));
    let read_db_only = volume_key("LTAI5tDemoReadDbOnly", "DemoReadDbOnly-change-me");
    let forged = volume_key("LTAI5tDemoReadDbOnly", "not-the-secret");
    let mut mounts = Vec::new();
    for i in 0..21 {
        let secrets = match i % 3 {
            0 => "",
            1 => read_db_only.as_str(),
            _ => forged.as_str(),
        };
        mounts.push(env.mount(&DB, secrets));
    }
    let results = futures::future::join_all(mounts).await;

    for (i, r) in results.iter().enumerate() {
        if i % 3 == 2 {
            // The right AccessKeyId with a wrong secret never receives another caller's payload.
            let e = r.as_ref().unwrap_err();
            assert!(e.message().contains("SignatureDoesNotMatch"), "{e:?}");
        } else {
            let resp = r.as_ref().unwrap();
            assert!(text(resp, "app_db").contains("demo-pass-v2"));
        }
    }
    // Three identities (provider env key, volume key, forged volume key): three calls for 21 mounts.
    assert_eq!(env.emulator.calls("GetSecretValue"), 3);
    let metrics = env.metrics.render();
    assert!(
        metrics.contains("provider_fetch_coalesced_total{api=\"kms_get_secret_value\"} 18"),
        "{metrics}"
    );
    assert!(
        metrics
            .contains("provider_backend_calls_total{api=\"kms_get_secret_value\",code=\"OK\",region=\"cn-hangzhou\"} 2"),
        "{metrics}"
    );
    assert!(!metrics.contains("provider_fetch_cache_total"), "cache off");
    env.stop().await;
}

#[tokio::test]
async fn the_cache_serves_a_remount_within_its_ttl_and_not_after() {
    let env = start(with_ttl(Duration::from_millis(700))).await;
    let first = env.mount(&DB, "").await.unwrap();
    env.emulator
        .put_secret_value("app/db", "v3", r#"{"password":"rotated"}"#)
        .unwrap();
    let again = env.mount(&DB, "").await.unwrap();
    assert_eq!(
        env.emulator.calls("GetSecretValue"),
        1,
        "served from the cache"
    );
    assert_eq!(text(&again, "app_db"), text(&first, "app_db"));
    // Another identity is not served what the first one read.
    let other = volume_key(DEMO_KEY_ID, "DemoSecret-change-me");
    env.mount(&DB, &other).await.unwrap();
    assert_eq!(env.emulator.calls("GetSecretValue"), 2);

    tokio::time::sleep(Duration::from_millis(750)).await;
    let later = env.mount(&DB, "").await.unwrap();
    assert_eq!(env.emulator.calls("GetSecretValue"), 3, "expired");
    assert!(text(&later, "app_db").contains("rotated"));
    let metrics = env.metrics.render();
    for (result, n) in [("hit", 1), ("miss", 3)] {
        let line = format!(
            "provider_fetch_cache_total{{api=\"kms_get_secret_value\",result=\"{result}\"}} {n}"
        );
        assert!(metrics.contains(&line), "{line} in {metrics}");
    }
    env.stop().await;
}

#[tokio::test]
async fn without_a_cache_every_mount_fetches() {
    let env = start(with_ttl(Duration::ZERO)).await;
    for n in 1..=3 {
        env.mount(&DB, "").await.unwrap();
        assert_eq!(env.emulator.calls("GetSecretValue"), n);
    }
    env.stop().await;
}

#[tokio::test]
async fn failures_are_never_cached() {
    let env = start(with_ttl(Duration::from_secs(30))).await;
    let missing = [
        ("objects", "- objectName: app/not-there"),
        ("region", "cn-hangzhou"),
    ];
    for n in 1..=2 {
        env.mount(&missing, "").await.unwrap_err();
        assert_eq!(env.emulator.calls("GetSecretValue"), n);
    }
    env.stop().await;
}
