//! STS AssumeRole / AssumeRoleWithOIDC: responses, every error code, issued credentials
//! carrying the role's permissions and expiring, counters and injected faults.

mod common;

use acs_emulator::{Fault, jwt};
use common::*;
use reqwest::Method;
use serde_json::Value;

const ROLE: &str = "acs:ram::1234567890123456:role/app-role";
const PARTNER: &str = "acs:ram::1234567890123456:role/partner-role";
const PROVIDER: &str = "acs:ram::1234567890123456:oidc-provider/ack-rrsa";
const ISSUER: &str = "https://oidc-ack-cn-hangzhou.oss-cn-hangzhou.aliyuncs.com/c1234567890";
const SUBJECT: &str = "system:serviceaccount:default:app";

/// Params, expected HTTP status, expected Code.
type Case<'a> = (Vec<(&'a str, &'a str)>, u16, &'a str);

fn assume(params: &[(&str, &str)]) -> Req {
    Req::new("AssumeRole", "2015-04-01", params)
}

fn in_an_hour() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp() + 3600
}

async fn oidc(
    emu: &acs_emulator::Handle,
    method: Method,
    token: &str,
    extra: &[(&str, &str)],
) -> Resp {
    let mut p = vec![
        ("RoleArn", ROLE),
        ("OIDCProviderArn", PROVIDER),
        ("OIDCToken", token),
        ("RoleSessionName", "rrsa-session"),
    ];
    p.extend_from_slice(extra);
    anonymous(emu, method, "AssumeRoleWithOIDC", &p).await
}

async fn read(emu: &acs_emulator::Handle, key: &Key, secret: &str) -> Resp {
    send_v3(emu, key, &Req::kms(&[("SecretName", secret)])).await
}

#[tokio::test]
async fn assume_role_v1_and_v3_issue_credentials_limited_to_the_role() {
    let emu = emulator().await;
    for v3 in [false, true] {
        let req = assume(&[("RoleArn", ROLE), ("RoleSessionName", "my-session")]);
        let resp = if v3 {
            send_v3(&emu, &ADMIN, &req).await
        } else {
            send_v1(&emu, &ADMIN, &req).await
        };
        let body = resp.ok().clone();
        assert!(body["RequestId"].as_str().is_some_and(|s| !s.is_empty()));
        let user = &body["AssumedRoleUser"];
        assert_eq!(
            user["Arn"],
            "acs:ram::1234567890123456:assumed-role/app-role/my-session"
        );
        assert!(
            user["AssumedRoleId"]
                .as_str()
                .unwrap()
                .ends_with(":my-session")
        );
        assert!(body.get("OIDCTokenInfo").is_none());
        let creds = &body["Credentials"];
        assert!(creds["AccessKeyId"].as_str().unwrap().starts_with("STS."));
        let left = seconds_until(creds["Expiration"].as_str().unwrap());
        assert!(
            (3590..=3600).contains(&left),
            "default DurationSeconds 3600: {left}"
        );

        let key = issued_key(creds);
        let ok = read(&emu, &key, "app/db-password").await;
        assert!(
            ok.ok()["SecretData"]
                .as_str()
                .unwrap()
                .contains("s3cr3t-v2")
        );
        // Also over V1 with the SecurityToken param.
        send_v1(&emu, &key, &Req::kms(&[("SecretName", "app/db-password")]))
            .await
            .ok();
        // app-role may read app/* only.
        read(&emu, &key, "team-a/token")
            .await
            .err(403, "Forbidden.NoPermission");
        send_v3(
            &emu,
            &key,
            &Req::oos("GetSecretParameter", &[("Name", "my-secret-param")]),
        )
        .await
        .err(403, "Forbidden.NoPermission");
        // The token is bound to the key.
        let forged = Key {
            token: Some("CAISnot-the-token"),
            ..key
        };
        read(&emu, &forged, "app/db-password")
            .await
            .err(400, "InvalidSecurityToken.MismatchWithAccessKey");
    }
    assert_eq!(emu.calls("AssumeRole"), 2);
}

#[tokio::test]
async fn duration_seconds_sets_expiration_within_the_role_maximum() {
    let emu = emulator().await;
    let req = assume(&[
        ("RoleArn", ROLE),
        ("RoleSessionName", "s1"),
        ("DurationSeconds", "900"),
    ]);
    let body = send_v3(&emu, &ADMIN, &req).await.ok().clone();
    let left = seconds_until(body["Credentials"]["Expiration"].as_str().unwrap());
    assert!((890..=900).contains(&left), "{left}");
    let max = assume(&[
        ("RoleArn", ROLE),
        ("RoleSessionName", "s1"),
        ("DurationSeconds", "7200"),
    ]);
    send_v3(&emu, &ADMIN, &max).await.ok();
}

#[tokio::test]
async fn assume_role_errors_name_the_problem() {
    let emu = emulator().await;
    let cases: Vec<Case> = vec![
        (vec![("RoleSessionName", "s-1")], 400, "MissingParameter"),
        (vec![("RoleArn", ROLE)], 400, "MissingParameter"),
        (
            vec![("RoleArn", ROLE), ("RoleSessionName", "x")],
            400,
            "InvalidParameter.RoleSessionName",
        ),
        (
            vec![("RoleArn", ROLE), ("RoleSessionName", "has space")],
            400,
            "InvalidParameter.RoleSessionName",
        ),
        (
            vec![
                ("RoleArn", ROLE),
                ("RoleSessionName", "s-1"),
                ("DurationSeconds", "899"),
            ],
            400,
            "InvalidParameter.DurationSeconds",
        ),
        (
            vec![
                ("RoleArn", ROLE),
                ("RoleSessionName", "s-1"),
                ("DurationSeconds", "7201"),
            ],
            400,
            "InvalidParameter.DurationSeconds",
        ),
        (
            vec![
                ("RoleArn", ROLE),
                ("RoleSessionName", "s-1"),
                ("DurationSeconds", "soon"),
            ],
            400,
            "InvalidParameter.DurationSeconds",
        ),
        (
            vec![
                ("RoleArn", ROLE),
                ("RoleSessionName", "s-1"),
                ("Policy", "{not json"),
            ],
            400,
            "InvalidParameter.PolicyGrammar",
        ),
        (
            vec![
                ("RoleArn", "acs:ram::1234567890123456:role/nope"),
                ("RoleSessionName", "s-1"),
            ],
            404,
            "EntityNotExist.Role",
        ),
        (
            vec![
                ("RoleArn", "acs:ram::999:role/app-role"),
                ("RoleSessionName", "s-1"),
            ],
            404,
            "EntityNotExist.Role",
        ),
        (
            vec![("RoleArn", PARTNER), ("RoleSessionName", "s-1")],
            403,
            "NoPermission",
        ),
        (
            vec![
                ("RoleArn", PARTNER),
                ("RoleSessionName", "s-1"),
                ("ExternalId", "wrong-id"),
            ],
            403,
            "NoPermission",
        ),
    ];
    for (params, status, code) in cases {
        let resp = send_v3(&emu, &ADMIN, &assume(&params)).await;
        assert_eq!(
            (resp.status, resp.code()),
            (status, code),
            "{params:?}: {}",
            resp.body
        );
    }
    let missing = send_v3(&emu, &ADMIN, &assume(&[("RoleSessionName", "s-1")])).await;
    assert!(
        missing.message().contains("RoleArn"),
        "{}",
        missing.message()
    );
    let partner_ok = assume(&[
        ("RoleArn", PARTNER),
        ("RoleSessionName", "s-1"),
        ("ExternalId", "partner-external-id"),
        ("Policy", r#"{"Version":"1","Statement":[]}"#),
    ]);
    let creds = issued_key(&send_v3(&emu, &ADMIN, &partner_ok).await.ok()["Credentials"]);
    read(&emu, &creds, "team-a/token").await.ok();
    read(&emu, &creds, "app/db-password")
        .await
        .err(403, "Forbidden.NoPermission");

    // A key the role does not trust (the seeded STS key), and no signature at all.
    send_v3(
        &emu,
        &STS,
        &assume(&[("RoleArn", ROLE), ("RoleSessionName", "s-1")]),
    )
    .await
    .err(403, "NoPermission");
    anonymous(
        &emu,
        Method::POST,
        "AssumeRole",
        &[("RoleArn", ROLE), ("RoleSessionName", "s-1")],
    )
    .await
    .err(400, "MissingParameter");
    // A wrong secret is still a signature error, as for KMS.
    let wrong = Key {
        secret: "nope",
        ..ADMIN
    };
    send_v1(
        &emu,
        &wrong,
        &assume(&[("RoleArn", ROLE), ("RoleSessionName", "s-1")]),
    )
    .await
    .err(400, "SignatureDoesNotMatch");
}

#[tokio::test]
async fn issued_credentials_expire_with_the_lifetime_override() {
    let emu = emulator_with(|s| s + "\nstsCredentialLifetimeSeconds: 2\n").await;
    // The override lifts the 900 s minimum and replaces DurationSeconds.
    let req = assume(&[
        ("RoleArn", ROLE),
        ("RoleSessionName", "short"),
        ("DurationSeconds", "60"),
    ]);
    let body = send_v3(&emu, &ADMIN, &req).await.ok().clone();
    let left = seconds_until(body["Credentials"]["Expiration"].as_str().unwrap());
    assert!((0..=2).contains(&left), "{left}");
    let key = issued_key(&body["Credentials"]);
    read(&emu, &key, "app/db-password").await.ok();
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    let expired = read(&emu, &key, "app/db-password").await;
    expired.err(400, "InvalidSecurityToken.Expired");
    send_v1(
        &emu,
        &key,
        &Req::oos("GetSecretParameter", &[("Name", "x")]),
    )
    .await
    .err(400, "InvalidSecurityToken.Expired");
    // OIDC credentials expire the same way; DurationSeconds below 900 is accepted here.
    let token = jwt::mint(ISSUER, SUBJECT, "sts.aliyuncs.com", in_an_hour());
    let body = oidc(&emu, Method::GET, &token, &[("DurationSeconds", "5")])
        .await
        .ok()
        .clone();
    let left = seconds_until(body["Credentials"]["Expiration"].as_str().unwrap());
    assert!((0..=2).contains(&left), "{left}");
}

#[tokio::test]
async fn assume_role_with_oidc_is_anonymous_over_get_and_post() {
    let emu = emulator().await;
    let exp = in_an_hour();
    let token = jwt::mint(ISSUER, SUBJECT, "sts.aliyuncs.com", exp);
    for method in [Method::GET, Method::POST] {
        let body = oidc(&emu, method, &token, &[("DurationSeconds", "3600")])
            .await
            .ok()
            .clone();
        assert_eq!(
            body["AssumedRoleUser"]["Arn"],
            "acs:ram::1234567890123456:assumed-role/app-role/rrsa-session"
        );
        let info = &body["OIDCTokenInfo"];
        assert_eq!(info["Subject"], SUBJECT);
        assert_eq!(info["Issuer"], ISSUER);
        assert_eq!(info["ClientIds"], "sts.aliyuncs.com");
        let exp_text = time::OffsetDateTime::from_unix_timestamp(exp).unwrap();
        assert_eq!(
            seconds_until(info["ExpirationTime"].as_str().unwrap()),
            (exp_text - time::OffsetDateTime::now_utc()).whole_seconds()
        );
        let key = issued_key(&body["Credentials"]);
        read(&emu, &key, "app/db-password").await.ok();
        read(&emu, &key, "team-a/token")
            .await
            .err(403, "Forbidden.NoPermission");
    }
    assert_eq!(emu.calls("AssumeRoleWithOIDC"), 2);
}

#[tokio::test]
async fn oidc_token_errors_are_the_real_codes() {
    let emu = emulator().await;
    let good = |sub: &str, aud: &str, iss: &str| jwt::mint(iss, sub, aud, in_an_hour());
    let expired = jwt::mint(ISSUER, SUBJECT, "sts.aliyuncs.com", 1_600_000_000);
    let resp = oidc(&emu, Method::GET, &expired, &[]).await;
    resp.err(400, "AuthenticationFail.OIDCToken.Expired");
    assert_eq!(resp.message(), "This JsonWebToken is expired.");

    for (token, why) in [
        (
            good(SUBJECT, "sts.aliyuncs.com", "https://other-issuer"),
            "issuer",
        ),
        (good(SUBJECT, "some-other-client", ISSUER), "audience"),
        ("not-a-jwt".to_owned(), "three"),
        ("e30.bm90IGpzb24.c2ln".to_owned(), "payload is not JSON"),
    ] {
        let resp = oidc(&emu, Method::POST, &token, &[]).await;
        resp.err(400, "AuthenticationFail.OIDCToken.Invalid");
        assert!(resp.message().contains(why), "{why}: {}", resp.message());
        assert!(
            !resp.message().contains(&token),
            "token echoed: {}",
            resp.message()
        );
    }

    let stranger = good(
        "system:serviceaccount:default:other",
        "sts.aliyuncs.com",
        ISSUER,
    );
    oidc(&emu, Method::GET, &stranger, &[])
        .await
        .err(403, "AuthenticationFail.NoPermission");
    // A role that trusts no OIDC provider at all.
    let token = good(SUBJECT, "sts.aliyuncs.com", ISSUER);
    anonymous(
        &emu,
        Method::GET,
        "AssumeRoleWithOIDC",
        &[
            ("RoleArn", PARTNER),
            ("OIDCProviderArn", PROVIDER),
            ("OIDCToken", &token),
            ("RoleSessionName", "s-1"),
        ],
    )
    .await
    .err(403, "AuthenticationFail.NoPermission");
    anonymous(
        &emu,
        Method::GET,
        "AssumeRoleWithOIDC",
        &[
            ("RoleArn", "acs:ram::1234567890123456:role/ghost"),
            ("OIDCProviderArn", PROVIDER),
            ("OIDCToken", &token),
            ("RoleSessionName", "s-1"),
        ],
    )
    .await
    .err(404, "EntityNotExist.Role");
    anonymous(
        &emu,
        Method::GET,
        "AssumeRoleWithOIDC",
        &[
            ("RoleArn", ROLE),
            (
                "OIDCProviderArn",
                "acs:ram::1234567890123456:oidc-provider/ghost",
            ),
            ("OIDCToken", &token),
            ("RoleSessionName", "s-1"),
        ],
    )
    .await
    .err(404, "EntityNotExist.OIDCProvider");
    anonymous(
        &emu,
        Method::GET,
        "AssumeRoleWithOIDC",
        &[
            ("RoleArn", ROLE),
            ("OIDCProviderArn", PROVIDER),
            ("RoleSessionName", "s-1"),
        ],
    )
    .await
    .err(400, "MissingParameter");
    oidc(&emu, Method::GET, &token, &[("DurationSeconds", "100")])
        .await
        .err(400, "InvalidParameter.DurationSeconds");
}

#[tokio::test]
async fn sts_calls_are_counted_and_faults_apply() {
    let emu = emulator().await;
    emu.inject_fault(Fault::throttling(Some("AssumeRole"), 1));
    emu.inject_fault(Fault::internal_failure(Some("AssumeRoleWithOIDC"), 1));
    let req = || assume(&[("RoleArn", ROLE), ("RoleSessionName", "s-1")]);
    send_v3(&emu, &ADMIN, &req())
        .await
        .err(400, "Rejected.Throttling");
    send_v3(&emu, &ADMIN, &req()).await.ok();
    let token = jwt::mint(ISSUER, SUBJECT, "sts.aliyuncs.com", in_an_hour());
    oidc(&emu, Method::GET, &token, &[])
        .await
        .err(500, "InternalFailure");
    let body: Value = oidc(&emu, Method::GET, &token, &[]).await.ok().clone();
    assert!(
        body["Credentials"]["SecurityToken"]
            .as_str()
            .unwrap()
            .starts_with("CAIS")
    );
    assert_eq!(
        (emu.calls("AssumeRole"), emu.calls("AssumeRoleWithOIDC")),
        (2, 2)
    );
    emu.reset_calls();
    assert_eq!(emu.calls("AssumeRole"), 0);
}
