//! Loopback tests: a tiny axum server on 127.0.0.1 plays KMS/OOS with canned answers and checks that
//! what arrives is signed correctly.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use acs_sign::SignatureVersion;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use secrecy::SecretString;

use super::*;
use crate::auth::Credentials;

const SECRET: &str = "TestSecret123";
const TOKEN: &str = "CAIS/token+with=chars";
const SECRET_VALUE: &str = "db-password-value-9f3k";

#[derive(Clone)]
struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
    delay: Duration,
}

fn reply(status: u16, body: serde_json::Value) -> Reply {
    Reply {
        status,
        headers: vec![("content-type", "application/json;charset=utf-8".into())],
        body: body.to_string(),
        delay: Duration::ZERO,
    }
}

fn api_error(status: u16, code: &str) -> Reply {
    reply(
        status,
        serde_json::json!({"RequestId": "req-1", "Code": code, "Message": "canned"}),
    )
}

#[derive(Debug, Clone)]
struct Seen {
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
}

impl Seen {
    fn param(&self, k: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }
    fn header(&self, k: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Clone, Default)]
struct Script {
    /// Replies in order; the last one repeats.
    replies: Arc<Mutex<VecDeque<Reply>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Script {
    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn handle(State(s): State<Script>, req: Request) -> Response {
    let query = req
        .uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let headers = req
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    s.seen.lock().unwrap().push(Seen { query, headers });
    let r = {
        let mut q = s.replies.lock().unwrap();
        if q.len() > 1 {
            q.pop_front().unwrap()
        } else {
            q.front().unwrap().clone()
        }
    };
    tokio::time::sleep(r.delay).await;
    let mut b = Response::builder().status(r.status);
    for (k, v) in r.headers {
        b = b.header(k, v);
    }
    b.body(Body::from(r.body)).unwrap()
}

/// Starts the fake on an ephemeral loopback port; returns `http://127.0.0.1:port`.
async fn serve(replies: Vec<Reply>) -> (String, Script) {
    let script = Script {
        replies: Arc::new(Mutex::new(replies.into())),
        ..Default::default()
    };
    let app = axum::Router::new()
        .fallback(handle)
        .with_state(script.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), script)
}

fn fast_config(version: SignatureVersion) -> FetchConfig {
    FetchConfig {
        signature_version: version,
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
        retry: RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
        },
        ..FetchConfig::default()
    }
}

fn ak() -> Credentials {
    Credentials::new("LTAI5tTestKeyId", SecretString::from(SECRET), "test")
}

fn sts() -> Credentials {
    Credentials::new("STS.NTestKey", SecretString::from(SECRET), "test")
        .with_security_token(SecretString::from(TOKEN))
}

fn kms(endpoint: &str, name: &str) -> FetchRequest {
    FetchRequest {
        kind: ObjectKind::Kms,
        name: name.into(),
        version_id: None,
        version_stage: None,
        region: "cn-hangzhou".into(),
        endpoint: Some(endpoint.into()),
    }
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(10)
}

fn kms_ok(data: &str, data_type: &str, version: &str) -> Reply {
    reply(
        200,
        serde_json::json!({"RequestId":"r","SecretName":"s","SecretData":data,"SecretDataType":data_type,
            "VersionId":version,"VersionStages":{"VersionStage":["ACSCurrent"]}}),
    )
}

/// Recomputes the V3 signature from what the server received, as the emulator would.
fn assert_v3_signed(seen: &Seen, secret: &str) {
    let auth =
        acs_sign::v3::parse_authorization(seen.header("authorization").expect("authorization"))
            .unwrap();
    let headers: Vec<(&str, &str)> = auth
        .signed_headers
        .iter()
        .map(|h| {
            (
                h.as_str(),
                seen.header(h)
                    .unwrap_or_else(|| panic!("signed header {h} not sent")),
            )
        })
        .collect();
    for required in [
        "host",
        "x-acs-action",
        "x-acs-version",
        "x-acs-date",
        "x-acs-signature-nonce",
        "x-acs-content-sha256",
    ] {
        assert!(
            auth.signed_headers.iter().any(|h| h == required),
            "{required} not signed"
        );
    }
    let query: Vec<(&str, &str)> = seen
        .query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let cr =
        acs_sign::v3::canonical_request("POST", "/", &query, &headers, acs_sign::EMPTY_BODY_SHA256);
    assert_eq!(
        acs_sign::v3::signature(secret, &acs_sign::v3::string_to_sign(&cr)),
        auth.signature
    );
}

fn assert_v1_signed(seen: &Seen, secret: &str) {
    let params: Vec<(&str, &str)> = seen
        .query
        .iter()
        .filter(|(k, _)| k != "Signature")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let sts = acs_sign::v1::string_to_sign("POST", &params);
    assert_eq!(
        Some(acs_sign::v1::signature(secret, &sts).as_str()),
        seen.param("Signature")
    );
}

#[tokio::test]
async fn kms_v3_fetch_is_signed_and_pins_versions() {
    let (url, script) = serve(vec![kms_ok(SECRET_VALUE, "text", "v7")]).await;
    let backend = AlibabaBackend::new(fast_config(SignatureVersion::V3)).unwrap();
    let mut req = kms(&url, "app/db pass*~+é");
    req.version_id = Some("v7".into());
    req.version_stage = Some("ACSCurrent".into());
    let got = backend.fetch(&req, &ak(), soon()).await.unwrap();
    assert_eq!(got.data.as_bytes(), SECRET_VALUE.as_bytes());
    assert_eq!((got.version.as_str(), got.attempts), ("v7", 1));
    assert!(!format!("{got:?}").contains(SECRET_VALUE));

    let seen = &script.seen()[0];
    assert_eq!(seen.param("SecretName"), Some("app/db pass*~+é"));
    assert_eq!(seen.param("VersionId"), Some("v7"));
    assert_eq!(seen.param("VersionStage"), Some("ACSCurrent"));
    assert_eq!(seen.param("Action"), None);
    assert_eq!(seen.header("x-acs-action"), Some("GetSecretValue"));
    assert_eq!(seen.header("x-acs-version"), Some("2016-01-20"));
    assert_eq!(seen.header("host"), Some(url.trim_start_matches("http://")));
    assert_eq!(seen.headers.iter().filter(|(n, _)| n == "host").count(), 1);
    assert_v3_signed(seen, SECRET);
}

#[tokio::test]
async fn kms_v1_with_sts_token_is_signed() {
    let (url, script) = serve(vec![kms_ok("x", "text", "v1")]).await;
    let backend = AlibabaBackend::new(fast_config(SignatureVersion::V1)).unwrap();
    backend
        .fetch(&kms(&url, "mysecret"), &sts(), soon())
        .await
        .unwrap();
    let seen = &script.seen()[0];
    assert_eq!(seen.param("Action"), Some("GetSecretValue"));
    assert_eq!(seen.param("AccessKeyId"), Some("STS.NTestKey"));
    assert_eq!(seen.param("SecurityToken"), Some(TOKEN));
    assert_v1_signed(seen, SECRET);
}

#[tokio::test]
async fn kms_v3_with_sts_token_sends_token_headers() {
    let (url, script) = serve(vec![kms_ok("x", "text", "v1")]).await;
    let backend = AlibabaBackend::new(fast_config(SignatureVersion::V3)).unwrap();
    backend
        .fetch(&kms(&url, "mysecret"), &sts(), soon())
        .await
        .unwrap();
    let seen = &script.seen()[0];
    assert_eq!(seen.header("x-acs-security-token"), Some(TOKEN));
    assert_eq!(seen.header("x-acs-accesskey-id"), Some("STS.NTestKey"));
    assert_v3_signed(seen, SECRET);
}

#[tokio::test]
async fn binary_secrets_are_base64_decoded() {
    let (url, _) = serve(vec![kms_ok("AAEC/w==", "binary", "v2")]).await;
    let backend = AlibabaBackend::new(fast_config(SignatureVersion::V3)).unwrap();
    let got = backend
        .fetch(&kms(&url, "blob"), &ak(), soon())
        .await
        .unwrap();
    assert_eq!(got.data.as_bytes(), [0u8, 1, 2, 255]);
}

#[tokio::test]
async fn throttling_and_transient_failures_are_retried_with_fresh_nonces() {
    let (url, script) = serve(vec![
        api_error(400, "Throttling.User"),
        api_error(503, "ServiceUnavailableTemporary"),
        api_error(500, "InternalFailure"),
        kms_ok("x", "text", "v1"),
    ])
    .await;
    let backend = AlibabaBackend::new(fast_config(SignatureVersion::V3)).unwrap();
    let got = backend.fetch(&kms(&url, "s"), &ak(), soon()).await.unwrap();
    assert_eq!(got.attempts, 4);
    let seen = script.seen();
    let nonces: std::collections::HashSet<_> = seen
        .iter()
        .map(|s| s.header("x-acs-signature-nonce").unwrap())
        .collect();
    assert_eq!(nonces.len(), 4);
}

#[tokio::test]
async fn retry_after_header_is_honoured() {
    let mut throttled = api_error(400, "Rejected.Throttling");
    throttled.headers.push(("x-acs-retry-after", "300".into()));
    let (url, _) = serve(vec![throttled, kms_ok("x", "text", "v1")]).await;
    let backend = AlibabaBackend::new(fast_config(SignatureVersion::V3)).unwrap();
    let started = Instant::now();
    let got = backend.fetch(&kms(&url, "s"), &ak(), soon()).await.unwrap();
    assert_eq!(got.attempts, 2);
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn not_found_and_permission_errors_are_not_retried_and_are_parsed() {
    // Lowercase keys, as Tea also accepts.
    let lower = reply(
        404,
        serde_json::json!({"requestId":"abc-123","code":"Forbidden.ResourceNotFound","message":"Resource not found."}),
    );
    let (url, script) = serve(vec![lower]).await;
    let backend = AlibabaBackend::new(fast_config(SignatureVersion::V3)).unwrap();
    let err = backend
        .fetch(&kms(&url, "missing"), &ak(), soon())
        .await
        .unwrap_err();
    assert_eq!(err.attempts(), 1);
    assert_eq!(script.seen().len(), 1);
    let api = err.api_error().unwrap();
    assert_eq!(api.code.as_deref(), Some("Forbidden.ResourceNotFound"));
    assert_eq!(
        (api.status, api.request_id.as_deref()),
        (404, Some("abc-123"))
    );
    assert_eq!(
        err.to_string(),
        "KMS GetSecretValue: Forbidden.ResourceNotFound (HTTP 404): Resource not found. \
         (check the object name, version and region) [RequestId abc-123] (after 1 attempt)"
    );

    let (url, script) = serve(vec![api_error(403, "Forbidden.NoPermission")]).await;
    let err = backend
        .fetch(&kms(&url, "s"), &ak(), soon())
        .await
        .unwrap_err();
    assert!(!err.is_retryable());
    assert_eq!((err.attempts(), script.seen().len()), (1, 1));
}

#[tokio::test]
async fn gateway_errors_without_json_are_retried_up_to_the_limit() {
    let html = Reply {
        status: 502,
        headers: vec![("content-type", "text/html".into())],
        body: "<html>Bad Gateway</html>".into(),
        delay: Duration::ZERO,
    };
    let (url, script) = serve(vec![html]).await;
    let backend = AlibabaBackend::new(fast_config(SignatureVersion::V3)).unwrap();
    let err = backend
        .fetch(&kms(&url, "s"), &ak(), soon())
        .await
        .unwrap_err();
    assert_eq!((err.attempts(), script.seen().len()), (4, 4));
    let api = err.api_error().unwrap();
    assert_eq!((api.code.as_deref(), api.status), (None, 502));
    assert!(err.to_string().contains("Bad Gateway"), "{err}");
}

#[tokio::test]
async fn the_deadline_bounds_all_retries() {
    let (url, script) = serve(vec![api_error(400, "Rejected.Throttling")]).await;
    let mut cfg = fast_config(SignatureVersion::V3);
    cfg.retry = RetryPolicy {
        max_attempts: 1000,
        base_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(100),
    };
    let backend = AlibabaBackend::new(cfg).unwrap();
    // Generous margins: this checks that retries stop at the deadline, not how fast a loaded machine is.
    let started = Instant::now();
    let err = backend
        .fetch(
            &kms(&url, "s"),
            &ak(),
            started + Duration::from_millis(1500),
        )
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert!(
        err.attempts() >= 2 && err.attempts() < 100,
        "{}",
        err.attempts()
    );
    assert_eq!(err.attempts() as usize, script.seen().len());

    let err = backend
        .fetch(&kms(&url, "s"), &ak(), Instant::now())
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::DeadlineExceeded { .. }), "{err}");
}

#[tokio::test]
async fn connection_refused_is_retried_and_never_shows_the_url() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let backend = AlibabaBackend::new(fast_config(SignatureVersion::V1)).unwrap();
    let err = backend
        .fetch(
            &kms(&format!("http://127.0.0.1:{port}"), "s"),
            &sts(),
            soon(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, FetchError::Network { timeout: false, .. }),
        "{err:?}"
    );
    assert_eq!(err.attempts(), 4);
    let (shown, debug) = (err.to_string(), format!("{err:?}"));
    assert!(
        shown.contains("could not connect") && shown.contains(&format!("127.0.0.1:{port}")),
        "{shown}"
    );
    for text in [shown, debug] {
        assert!(
            !text.contains("CAIS") && !text.contains("SecurityToken") && !text.contains(SECRET),
            "{text}"
        );
    }
}

#[tokio::test]
async fn slow_answers_time_out_per_attempt() {
    let mut slow = kms_ok("x", "text", "v1");
    slow.delay = Duration::from_secs(3);
    let (url, script) = serve(vec![slow]).await;
    let mut cfg = fast_config(SignatureVersion::V3);
    cfg.request_timeout = Duration::from_millis(200);
    cfg.retry.max_attempts = 2;
    let backend = AlibabaBackend::new(cfg).unwrap();
    let started = Instant::now();
    let err = backend
        .fetch(&kms(&url, "s"), &ak(), soon())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            FetchError::Network {
                timeout: true,
                attempts: 2,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(script.seen().len(), 2);
}

#[tokio::test]
async fn incomplete_success_answers_name_the_field_without_the_value() {
    let (url, _) = serve(vec![reply(
        200,
        serde_json::json!({"SecretData": SECRET_VALUE}),
    )])
    .await;
    let backend = AlibabaBackend::new(fast_config(SignatureVersion::V3)).unwrap();
    let err = backend
        .fetch(&kms(&url, "s"), &ak(), soon())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("VersionId is missing") && !err.contains(SECRET_VALUE),
        "{err}"
    );

    let (url, _) = serve(vec![Reply {
        status: 200,
        headers: vec![],
        body: format!("oops {SECRET_VALUE}"),
        delay: Duration::ZERO,
    }])
    .await;
    let err = backend
        .fetch(&kms(&url, "s"), &ak(), soon())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("not a JSON object") && !err.contains(SECRET_VALUE),
        "{err}"
    );
}

#[tokio::test]
async fn oos_secret_parameter_sends_version_and_reports_it() {
    let ok = reply(
        200,
        serde_json::json!({"RequestId":"r","Parameter":{"Name":"p","Type":"Secret","Value":"pw","ParameterVersion":3}}),
    );
    let (url, script) = serve(vec![ok]).await;
    let backend = AlibabaBackend::new(fast_config(SignatureVersion::V3)).unwrap();
    let req = FetchRequest {
        kind: ObjectKind::Oos,
        name: "my-secret-param".into(),
        version_id: Some("3".into()),
        version_stage: None,
        region: "cn-shanghai".into(),
        endpoint: None,
    };
    // The per-object endpoint is absent: the service-wide override is used.
    let backend_with_override = AlibabaBackend::new(FetchConfig {
        oos_endpoint: Some(url.clone()),
        ..backend.config().clone()
    })
    .unwrap();
    let got = backend_with_override
        .fetch(&req, &ak(), soon())
        .await
        .unwrap();
    assert_eq!(
        (got.data.as_bytes(), got.version.as_str()),
        (&b"pw"[..], "3")
    );
    let seen = &script.seen()[0];
    assert_eq!(seen.header("x-acs-action"), Some("GetSecretParameter"));
    assert_eq!(seen.header("x-acs-version"), Some("2019-06-01"));
    for (k, v) in [
        ("Name", "my-secret-param"),
        ("WithDecryption", "true"),
        ("ParameterVersion", "3"),
        ("RegionId", "cn-shanghai"),
    ] {
        assert_eq!(seen.param(k), Some(v), "{k}");
    }
    assert_v3_signed(seen, SECRET);
}

#[tokio::test]
async fn oos_plain_parameter_uses_get_parameter() {
    let ok = reply(
        200,
        serde_json::json!({"Parameter":{"Name":"p","Type":"StringList","Value":"a,b","ParameterVersion":"1"}}),
    );
    let (url, script) = serve(vec![ok]).await;
    let backend = AlibabaBackend::new(fast_config(SignatureVersion::V1)).unwrap();
    let req = FetchRequest {
        kind: ObjectKind::OosParameter,
        name: "p".into(),
        version_id: None,
        version_stage: None,
        region: "cn-hangzhou".into(),
        endpoint: Some(url),
    };
    let got = backend.fetch(&req, &ak(), soon()).await.unwrap();
    assert_eq!(
        (got.data.as_bytes(), got.version.as_str()),
        (&b"a,b"[..], "1")
    );
    let seen = &script.seen()[0];
    assert_eq!(seen.param("Action"), Some("GetParameter"));
    assert_eq!(seen.param("WithDecryption"), None);
    assert_v1_signed(seen, SECRET);
}

#[test]
fn endpoints_default_to_vpc_and_allow_http_only_on_loopback() {
    let host = |e: Result<Endpoint, EndpointError>| e.unwrap().base_url();
    let r =
        |per: Option<&str>, kind| Endpoint::resolve(Service::Kms, "cn-hangzhou", per, None, kind);
    assert_eq!(
        host(r(None, EndpointType::Vpc)),
        "https://kms-vpc.cn-hangzhou.aliyuncs.com/"
    );
    assert_eq!(
        host(r(None, EndpointType::Public)),
        "https://kms.cn-hangzhou.aliyuncs.com/"
    );
    assert_eq!(
        host(Endpoint::resolve(
            Service::Oos,
            "cn-beijing",
            None,
            None,
            EndpointType::Vpc
        )),
        "https://oos-vpc.cn-beijing.aliyuncs.com/"
    );
    // Upstream's kmsEndpoint is a bare host: https is implied.
    assert_eq!(
        host(r(
            Some("kst-abc.cryptoservice.kms.aliyuncs.com"),
            EndpointType::Vpc
        )),
        "https://kst-abc.cryptoservice.kms.aliyuncs.com/"
    );
    assert_eq!(
        host(r(Some("https://kms.example.com:8443"), EndpointType::Vpc)),
        "https://kms.example.com:8443/"
    );
    // The default port is not part of the signed Host.
    assert_eq!(
        Endpoint::parse("https://kms.example.com:443")
            .unwrap()
            .host(),
        "kms.example.com"
    );
    for ok in [
        "http://127.0.0.1:18080",
        "http://127.8.9.10:1",
        "http://localhost:9",
        "http://[::1]:8080/",
    ] {
        assert!(Endpoint::parse(ok).is_ok(), "{ok}");
    }
    assert_eq!(
        Endpoint::parse("http://[::1]:8080").unwrap().host(),
        "[::1]:8080"
    );

    for bad in [
        "http://10.0.0.1:8080",
        "http://kms.cn-hangzhou.aliyuncs.com",
        "http://100.100.100.200",
    ] {
        let e = Endpoint::parse(bad).unwrap_err().to_string();
        assert!(
            e.contains("plain http to a non-loopback host") && e.contains(bad),
            "{e}"
        );
    }
    for (bad, why) in [
        ("ftp://x", "scheme"),
        ("https://kms.example.com/path", "path"),
        ("https://user:pw@kms.example.com", "user info"),
        ("", "empty"),
    ] {
        let e = Endpoint::parse(bad).unwrap_err().to_string();
        assert!(e.contains(why), "{bad}: {e}");
    }
    let e = Endpoint::regional(Service::Kms, "evil.com/x", EndpointType::Vpc)
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a region id"), "{e}");
}

#[test]
fn bad_service_wide_overrides_fail_at_start_up() {
    let err = AlibabaBackend::new(FetchConfig {
        kms_endpoint: Some("http://192.168.1.10".into()),
        ..FetchConfig::default()
    })
    .unwrap_err();
    assert!(
        matches!(
            err,
            FetchError::Endpoint(EndpointError::PlainHttpNotLoopback { .. })
        ),
        "{err}"
    );
}

#[tokio::test]
async fn per_object_http_to_a_remote_host_is_refused_before_sending() {
    let backend = AlibabaBackend::new(fast_config(SignatureVersion::V3)).unwrap();
    let err = backend
        .fetch(&kms("http://203.0.113.7:80", "s"), &ak(), soon())
        .await
        .unwrap_err();
    assert!(
        matches!(err, FetchError::Endpoint(_)) && err.attempts() == 0,
        "{err}"
    );
}

#[test]
fn an_extra_ca_bundle_without_certificates_is_rejected() {
    let err = AlibabaBackend::new(FetchConfig {
        extra_ca_pem: Some("not a certificate".into()),
        ..FetchConfig::default()
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("no PEM certificates"), "{err}");
}
