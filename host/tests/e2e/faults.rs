//! Cloud and network faults end to end: one test per fault kind the emulator injects, through the gRPC
//! Mount, asserting what the pod sees (the secret after a retry, or a clear error naming the object, the
//! code and the request id, within the mount's deadline) and how many backend calls were made.
//!
//! Retries use short delays here (20-100 ms) and one HTTP attempt times out after 300 ms, so every test
//! takes well under two seconds.

use std::time::{Duration, Instant};

use acs_emulator::{Fault, Seed};
use provider::fetch::RetryPolicy;
use tonic::Code;

use crate::common::{Env, Options, start, text, workspace};

const ROLE: &str = "acs:ram::1234567890123456:role/app-role";

/// The demo seed (its secrets are what the harness's leak check forbids in logs and messages) plus
/// a role the demo AccessKey may assume, for the expired-token case.
const ROLE_SEED: &str = r#"
roles:
  - name: app-role
    permissions: ["app/*"]
    trust:
      accessKeys: [LTAI5tDemoAccessKey]
"#;

fn seed() -> Seed {
    let demo = std::fs::read_to_string(workspace().join("examples/emulator/seed.yaml")).unwrap();
    Seed::from_yaml_str(&format!("{demo}{ROLE_SEED}"), "faults seed").unwrap()
}

/// `app/db`'s current value in the demo seed.
const DB_VALUE: &str =
    r#"{"username":"app","password":"demo-pass-v2","host":"db.demo.internal","port":5432}"#;

/// Attempts per fetch in these tests (the first included).
const ATTEMPTS: u32 = 4;

async fn env_with(extra_env: &[(&str, &str)], mount_timeout: Duration) -> Env {
    let mut env = Options::default().env;
    env.extend(
        extra_env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    start(Options {
        seed: seed(),
        env,
        mount_timeout,
        request_timeout: Duration::from_millis(300),
        retry: RetryPolicy {
            max_attempts: ATTEMPTS,
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(100),
        },
        ..Options::default()
    })
    .await
}

async fn fast_env() -> Env {
    env_with(&[], Duration::from_secs(5)).await
}

const DB: [(&str, &str); 2] = [
    ("objects", "- objectName: app/db"),
    ("region", "cn-hangzhou"),
];

fn gsv(env: &Env) -> usize {
    env.emulator.calls("GetSecretValue")
}

/// A failed mount's message names the object, the Alibaba code and the request id.
fn assert_clear(err: &tonic::Status, code: &str) {
    let m = err.message();
    assert!(m.contains("app/db"), "object missing: {m}");
    assert!(m.contains(code), "code {code} missing: {m}");
    assert!(m.contains("RequestId "), "request id missing: {m}");
}

#[tokio::test]
async fn throttling_without_a_hint_is_retried_with_backoff() {
    let env = fast_env().await;
    env.emulator
        .inject_fault(Fault::throttling(Some("GetSecretValue"), 2));
    let resp = env
        .mount(&DB, "")
        .await
        .expect("succeeds on the third call");
    assert_eq!(text(&resp, "app_db"), DB_VALUE);
    assert_eq!(gsv(&env), 3);
    let metrics = env.metrics.render();
    assert!(
        metrics.contains(
            "provider_backend_calls_total{api=\"kms_get_secret_value\",code=\"retried\",region=\"cn-hangzhou\"} 2"
        ),
        "{metrics}"
    );
    env.stop().await;
}

#[tokio::test]
async fn throttling_with_retry_after_waits_the_servers_hint() {
    let env = fast_env().await;
    // 400 ms is far above the 20-100 ms backoff of these tests: only the hint explains the wait.
    env.emulator.inject_fault(
        Fault::throttling(Some("GetSecretValue"), 1).with_retry_after(Duration::from_millis(400)),
    );
    let started = Instant::now();
    let resp = env.mount(&DB, "").await.expect("succeeds after the hint");
    let took = started.elapsed();
    assert_eq!(text(&resp, "app_db"), DB_VALUE);
    assert_eq!(gsv(&env), 2);
    assert!(took >= Duration::from_millis(400), "{took:?}");
    env.stop().await;
}

#[tokio::test]
async fn a_retry_after_beyond_the_deadline_fails_at_once_instead_of_waiting() {
    let env = env_with(&[], Duration::from_secs(2)).await;
    env.emulator.inject_fault(
        Fault::throttling(Some("GetSecretValue"), usize::MAX)
            .with_retry_after(Duration::from_secs(30)),
    );
    let started = Instant::now();
    let err = env.mount(&DB, "").await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    assert_clear(&err, "Rejected.Throttling");
    assert_eq!(gsv(&env), 1);
    env.stop().await;
}

#[tokio::test]
async fn internal_failure_500_is_retried() {
    let env = fast_env().await;
    env.emulator
        .inject_fault(Fault::internal_failure(Some("GetSecretValue"), 2));
    let resp = env
        .mount(&DB, "")
        .await
        .expect("succeeds on the third call");
    assert_eq!(text(&resp, "app_db"), DB_VALUE);
    assert_eq!(gsv(&env), 3);
    env.stop().await;
}

#[tokio::test]
async fn a_lasting_503_fails_clearly_after_the_bounded_retries() {
    let env = fast_env().await;
    env.emulator.inject_fault(Fault::service_unavailable(
        Some("GetSecretValue"),
        usize::MAX,
    ));
    let err = env.mount(&DB, "").await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    assert_clear(&err, "ServiceUnavailableTemporary");
    assert!(
        err.message()
            .contains(&format!("after {ATTEMPTS} attempts")),
        "{}",
        err.message()
    );
    assert_eq!(gsv(&env), ATTEMPTS as usize);
    env.stop().await;
}

#[tokio::test]
async fn a_response_slower_than_the_call_timeout_is_abandoned_and_retried() {
    let env = fast_env().await;
    env.emulator.inject_fault(Fault::slow(
        Some("GetSecretValue"),
        Duration::from_secs(3),
        1,
    ));
    let started = Instant::now();
    let resp = env.mount(&DB, "").await.expect("the retry is answered");
    assert_eq!(text(&resp, "app_db"), DB_VALUE);
    assert_eq!(gsv(&env), 2);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the 3 s answer was not awaited: {:?}",
        started.elapsed()
    );
    env.stop().await;
}

#[tokio::test]
async fn answers_slower_than_every_call_timeout_fail_clearly_within_the_deadline() {
    let env = env_with(&[], Duration::from_secs(1)).await;
    env.emulator.inject_fault(Fault::slow(
        Some("GetSecretValue"),
        Duration::from_secs(5),
        usize::MAX,
    ));
    let started = Instant::now();
    let err = env.mount(&DB, "").await.unwrap_err();
    let took = started.elapsed();
    // Whether the last attempt or the deadline ends it first is a matter of milliseconds; either
    // way the pod learns within the deadline which object timed out.
    assert!(
        matches!(err.code(), Code::Unavailable | Code::DeadlineExceeded),
        "{err:?}"
    );
    let m = err.message();
    assert!(m.contains("timed out") || m.contains("deadline"), "{m}");
    assert!(took < Duration::from_millis(1800), "{took:?}");
    // 300 ms per attempt within a 1 s budget: at most four attempts, at least two.
    let calls = gsv(&env);
    assert!((2..=ATTEMPTS as usize).contains(&calls), "{calls} calls");
    env.stop().await;
}

#[tokio::test]
async fn a_connection_reset_is_retried_and_only_hits_the_faulted_secret() {
    let env = fast_env().await;
    env.emulator
        .inject_fault(Fault::reset(Some("GetSecretValue"), 1).for_resource("app/db"));
    let objects = "- objectName: app/api-token\n- objectName: app/db\n";
    let resp = env
        .mount(&[("objects", objects), ("region", "cn-hangzhou")], "")
        .await
        .expect("the reset call is retried");
    assert_eq!(text(&resp, "app_db"), DB_VALUE);
    assert_eq!(env.emulator.calls_for("GetSecretValue", "app/db"), 2);
    assert_eq!(env.emulator.calls_for("GetSecretValue", "app/api-token"), 1);
    env.stop().await;
}

#[tokio::test]
async fn a_refused_connection_fails_clearly_after_the_bounded_retries() {
    let env = fast_env().await;
    // A port that was free a moment ago: nothing listens there, so connecting is refused.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let objects = format!("- objectName: app/db\n  kmsEndpoint: http://{dead}\n");
    let started = Instant::now();
    let err = env
        .mount(
            &[("objects", objects.as_str()), ("region", "cn-hangzhou")],
            "",
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    let m = err.message();
    assert!(
        m.contains("app/db") && m.contains("could not connect"),
        "{m}"
    );
    assert!(m.contains(&format!("after {ATTEMPTS} attempts")), "{m}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let metrics = env.metrics.render();
    assert!(
        metrics.contains(&format!(
            "provider_backend_calls_total{{api=\"kms_get_secret_value\",code=\"network\",region=\"cn-hangzhou\"}} {ATTEMPTS}"
        )),
        "{metrics}"
    );
    assert_eq!(gsv(&env), 0);
    env.stop().await;
}

#[tokio::test]
async fn malformed_json_is_a_clear_error_and_not_retried() {
    let env = fast_env().await;
    env.emulator
        .inject_fault(Fault::malformed_json(Some("GetSecretValue"), 1));
    let err = env.mount(&DB, "").await.unwrap_err();
    let m = err.message();
    assert!(
        m.contains("app/db") && m.contains("not a JSON object"),
        "{m}"
    );
    assert_eq!(
        gsv(&env),
        1,
        "a 200 with a broken body is not on the retryable list"
    );
    // The next mount is served normally.
    env.mount(&DB, "").await.expect("served after the fault");
    env.stop().await;
}

#[tokio::test]
async fn an_expired_security_token_mid_flight_is_refreshed_once() {
    let env = env_with(&[("ALICLOUD_ROLE_ARN", ROLE)], Duration::from_secs(5)).await;
    env.mount(&DB, "").await.expect("first mount");
    assert_eq!(env.emulator.calls("AssumeRole"), 1);
    assert_eq!(gsv(&env), 1);

    // The cached STS credential expires (server side) while the provider still holds it.
    env.emulator
        .inject_fault(Fault::expire_credentials(Some("GetSecretValue"), 1));
    let resp = env.mount(&DB, "").await.expect("refreshed and retried");
    assert_eq!(text(&resp, "app_db"), DB_VALUE);
    assert_eq!(env.emulator.calls("AssumeRole"), 2, "one refresh");
    assert_eq!(gsv(&env), 3, "the refused call and its one repeat");

    // Expiring at every call: exactly one refresh and one repeat, then a clear error.
    env.emulator.reset_calls();
    env.emulator.inject_fault(Fault::expire_credentials(
        Some("GetSecretValue"),
        usize::MAX,
    ));
    let err = env.mount(&DB, "").await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");
    assert_clear(&err, "InvalidSecurityToken.Expired");
    assert_eq!(env.emulator.calls("AssumeRole"), 1);
    assert_eq!(gsv(&env), 2);
    env.stop().await;
}

#[tokio::test]
async fn permission_and_not_found_answers_are_never_retried() {
    let env = fast_env().await;
    env.emulator.inject_fault(Fault::error(
        Some("GetSecretValue"),
        403,
        "Forbidden.NoPermission",
        "This operation is forbidden by permission system.",
        usize::MAX,
    ));
    let err = env.mount(&DB, "").await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    assert_clear(&err, "Forbidden.NoPermission");
    assert_eq!(gsv(&env), 1);

    env.emulator.clear_faults();
    env.emulator.reset_calls();
    let missing = [
        ("objects", "- objectName: app/missing"),
        ("region", "cn-hangzhou"),
    ];
    let err = env.mount(&missing, "").await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    assert!(
        err.message().contains("Forbidden.ResourceNotFound"),
        "{}",
        err.message()
    );
    assert_eq!(gsv(&env), 1);
    env.stop().await;
}
