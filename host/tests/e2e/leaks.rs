//! Secrets never leak: every in-process test of this binary runs under the trace-level capture of
//! `common::leaks` (checked at `Env::stop`); this module adds the scenarios most likely to leak (wrong keys, STS
//! tokens, per-pod tokens, plugin failures), the `Debug` of every credential and payload type, and a request that
//! panics without taking the server down.

use crate::common::{self, Options, leaks, start};
use provider::grpc::v1alpha1::VersionRequest;
use secrecy::SecretString;
use std::collections::HashMap;
use tonic::Code;

const POD_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.in-process-pod-token-never-logged";
const STS_ID: &str = "STS.DemoStsAccessKey";
const STS_SECRET: &str = "DemoStsSecret-change-me";
const STS_TOKEN: &str = "CAIS-demo-security-token";

fn tokens() -> String {
    serde_json::json!({"sts.aliyuncs.com": {"token": POD_TOKEN, "expirationTimestamp": "2030-01-01T00:00:00Z"}})
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_logs_status_messages_and_metrics_hold_no_secret() {
    leaks::install();
    leaks::forbid(POD_TOKEN);
    leaks::forbid("wrong-secret-in-process-never-logged");
    // The capture knows the seed's secrets (else this test could not fail).
    for seeded in [
        "demo-pass-v2",
        "demo-param-value-v1",
        STS_TOKEN,
        common::DEMO_KEY_SECRET,
    ] {
        assert!(
            !leaks::leaked_in(&format!("x {seeded} x")).is_empty(),
            "{seeded}"
        );
    }
    let before = leaks::lines();
    // The provider's own identity is an STS credential: its security token is on every signed request.
    let env = start(Options {
        env: [
            ("ALIBABA_CLOUD_ACCESS_KEY_ID", STS_ID),
            ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", STS_SECRET),
            ("ALIBABA_CLOUD_SECURITY_TOKEN", STS_TOKEN),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        ..Options::default()
    })
    .await;
    let tokens = tokens();
    let objects = r#"
- objectName: app/db
  jmesPath: [{path: password, objectAlias: pw}]
  transforms:
    - plugin: template
      config: {template: "{{ password }}", output: rendered, input: app_db}
- objectName: demo-secret-param
  objectType: oos
- objectName: app/tls-key
"#;
    let with = |objects: &'static str| {
        vec![
            ("objects", objects),
            ("region", "cn-hangzhou"),
            ("csi.storage.k8s.io/serviceAccount.tokens", tokens.as_str()),
        ]
    };
    let ok = env
        .mount(&with(objects), "")
        .await
        .expect("mount with STS credentials");
    assert!(ok.files.iter().any(|f| f.contents == b"demo-pass-v2"));

    // The volume's own key, right and wrong (signature mismatch names the key id, never the secret).
    let right = serde_json::json!({"access_key": common::DEMO_KEY_ID, "access_secret": common::DEMO_KEY_SECRET});
    env.mount(&with("- objectName: app/api-token"), &right.to_string())
        .await
        .expect("volume key");
    let wrong = serde_json::json!({"access_key": common::DEMO_KEY_ID, "access_secret": "wrong-secret-in-process-never-logged"});
    let err = env
        .mount(&with("- objectName: app/db"), &wrong.to_string())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");

    // Per-pod identity with a token but no OIDC provider configured: refused, token unnamed.
    let mut pod = with("- objectName: app/db");
    pod.push(("usePodServiceAccountToken", "true"));
    pod.push(("roleArn", "acs:ram::1234567890123456:role/app"));
    let err = env.mount(&pod, "").await.unwrap_err();
    assert!(!err.message().contains(POD_TOKEN));

    // Plugin failures after the fetch (messages quoting the input are scrubbed) and a missing object.
    let failing = r#"
- objectName: app/db
  transforms: [{plugin: template, config: {output: x, template: "{{ password | int }}"}}]
- objectName: app/nope
"#;
    env.mount(&with(failing), "").await.unwrap_err();

    let metrics = env.metrics.render();
    assert!(metrics.contains("provider_mounts_total"), "{metrics}");
    assert!(leaks::leaked_in(&metrics).is_empty());
    assert!(
        leaks::lines() > before + 20,
        "the trace capture saw only {} lines",
        leaks::lines() - before
    );
    // Env::stop checks the capture and the metrics once more.
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_in_one_request_fails_only_that_request() {
    let env = start(Options::default()).await;
    let params = |pod: &'static str| {
        [
            ("objects", "- objectName: app/db"),
            ("region", "cn-hangzhou"),
            ("csi.storage.k8s.io/pod.name", pod),
        ]
    };
    // The capture layer panics inside the mount task when this pod's mount logs its outcome.
    let panicking = format!("web-{}", leaks::PANIC_MARKER);
    let panicking: &'static str = Box::leak(panicking.into_boxed_str());
    let (bad_params, good_params) = (params(panicking), params("web-1"));
    let (bad, good) = tokio::join!(env.mount(&bad_params, ""), env.mount(&good_params, ""));
    let err = bad.unwrap_err();
    assert_eq!(err.code(), Code::Internal, "{err:?}");
    assert!(
        err.message().contains("internal error"),
        "{}",
        err.message()
    );
    good.expect("a mount running next to the panicking one succeeds");
    // The server keeps serving on the same socket.
    for _ in 0..3 {
        env.mount(&params("web-2"), "")
            .await
            .expect("later mounts succeed");
    }
    let mut client = env.client().await;
    client
        .version(VersionRequest {
            version: "v1alpha1".into(),
        })
        .await
        .expect("Version still answers");
    env.stop().await;
}

/// `Debug` of every type that holds a credential or a payload shows neither.
#[test]
fn debug_of_every_credential_and_payload_type_is_redacted() {
    const KEY_SECRET: &str = "debug-key-secret-5b1e";
    const TOKEN: &str = "debug-security-token-77aa";
    const SA_TOKEN: &str = "debug-sa-token-eyJ0eXAi";
    const PAYLOAD: &str = "debug-payload-c0ffee";
    let mut shown = Vec::new();

    let creds =
        provider::auth::Credentials::new("LTAI5tDebugKey", SecretString::from(KEY_SECRET), "test")
            .with_security_token(SecretString::from(TOKEN));
    shown.push(("Credentials", format!("{creds:?} {creds:#?}")));
    let vars: HashMap<String, String> = [
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAI5tDebugKey"),
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", KEY_SECRET),
        ("ALIBABA_CLOUD_SECURITY_TOKEN", TOKEN),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let env = provider::auth::EnvCredentials::from_map(&vars);
    shown.push(("EnvCredentials", format!("{env:?}")));
    let half: HashMap<String, String> = [(
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET".to_string(),
        KEY_SECRET.to_string(),
    )]
    .into();
    let half = provider::auth::EnvCredentials::from_map(&half);
    shown.push(("EnvCredentials (half pair)", format!("{half:?}")));
    let cred = acs_sign::Credential {
        access_key_id: "LTAI5tDebugKey",
        access_key_secret: KEY_SECRET,
        security_token: Some(TOKEN),
    };
    shown.push(("acs_sign::Credential", format!("{cred:?}")));
    let signed = acs_sign::sign(
        acs_sign::SignatureVersion::V3,
        &acs_sign::RpcRequest {
            method: "POST".into(),
            host: "kms.cn-hangzhou.aliyuncs.com".into(),
            action: "GetSecretValue".into(),
            version: "2016-01-20".into(),
            params: vec![("SecretName".into(), "app/db".into())],
            timestamp: "2026-01-01T00:00:00Z".into(),
            nonce: "n".into(),
        },
        Some(&cred),
    );
    shown.push(("acs_sign::SignedRequest", format!("{signed:?}")));
    let mut role = provider::auth::RoleRequest::new("acs:ram::1:role/x");
    role.external_id = Some(TOKEN.into());
    shown.push(("RoleRequest", format!("{role:?}")));

    // What a mount request parses into: per-volume secrets and service-account tokens.
    let attrs = serde_json::json!({
        "objects": "- objectName: app/db",
        "csi.storage.k8s.io/serviceAccount.tokens":
            serde_json::json!({"sts.aliyuncs.com": {"token": SA_TOKEN}}).to_string(),
    })
    .to_string();
    let secrets = serde_json::json!({"access_key": "LTAI5tDebugKey", "access_secret": KEY_SECRET})
        .to_string();
    let spec = provider::config::parse_mount_request(&attrs, &secrets, "420", "").unwrap();
    shown.push(("MountSpec", format!("{spec:?} {spec:#?}")));
    shown.push((
        "NodePublishSecrets",
        format!("{:?}", spec.node_publish_secrets),
    ));
    let sa = spec.service_account_tokens.as_ref().unwrap();
    shown.push(("ServiceAccountTokens", format!("{sa:?}")));
    shown.push((
        "ServiceAccountToken",
        format!("{:?}", sa.get("sts.aliyuncs.com").unwrap()),
    ));

    // Payloads on their way through fetch, transforms and the mount answer.
    let payload = provider::mount::Payload::new(PAYLOAD.as_bytes().to_vec());
    shown.push(("Payload/SecretBytes", format!("{payload:?}")));
    let file = provider::transform::File::new("db", PAYLOAD.as_bytes().to_vec());
    shown.push(("transform::File", format!("{file:?}")));
    let out = provider::mount::MountOutput {
        files: vec![provider::mount::MountedFile {
            path: "db".into(),
            mode: 0o644,
            contents: payload,
        }],
        versions: vec![],
    };
    shown.push(("MountOutput", format!("{out:?} {out:#?}")));
    let fetched = provider::fetch::Fetched {
        data: provider::fetch::SecretBytes::new(PAYLOAD.as_bytes().to_vec()),
        version: "v1".into(),
        attempts: 1,
    };
    shown.push(("fetch::Fetched", format!("{fetched:?}")));
    // Plugin registry credentials (oci:// plugins).
    let registry = provider::transform::oci::RegistryCredentials::new("robot", KEY_SECRET);
    shown.push(("RegistryCredentials", format!("{registry:?}")));

    let mut bad = Vec::new();
    for (ty, text) in &shown {
        for secret in [KEY_SECRET, TOKEN, SA_TOKEN, PAYLOAD] {
            if text.contains(secret) {
                bad.push(format!("{ty} shows {secret}: {text}"));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    assert_eq!(shown.len(), 15, "every type above was checked");
}
