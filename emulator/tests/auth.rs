//! Authentication against hand-signed requests (acs-sign): V1, V3, STS tokens,
//! timestamp window, nonce replay, and the exact error shapes the SDKs rely on.

mod common;

use common::*;
use time::Duration;

fn db() -> Req {
    Req::kms(&[("SecretName", "app/db-password")])
}

#[tokio::test]
async fn v1_core_sdk_style_request_is_accepted() {
    let emu = emulator().await;
    let body = send_v1(&emu, &ADMIN, &db()).await;
    assert_eq!(body.ok()["VersionId"], "v2");
}

#[tokio::test]
async fn v1_params_in_a_form_body_are_signed_and_read() {
    let emu = emulator().await;
    let req = Req::kms(&[
        ("SecretName", "app/db-password"),
        ("VersionStage", "ACSPrevious"),
    ])
    .in_form();
    assert_eq!(send_v1(&emu, &ADMIN, &req).await.ok()["VersionId"], "v1");
}

#[tokio::test]
async fn v1_name_needing_percent_encoding_round_trips() {
    let emu = emulator().await;
    let req = Req::kms(&[("SecretName", "app/db pass*~+é")]);
    assert_eq!(
        send_v1(&emu, &ADMIN, &req).await.ok()["SecretData"],
        "encoded-name-value"
    );
    let v3 = send_v3(&emu, &ADMIN, &req.clone().nonce("other")).await;
    assert_eq!(v3.ok()["SecretData"], "encoded-name-value");
}

#[tokio::test]
async fn v1_wrong_secret_reports_the_servers_string_to_sign_exactly() {
    let emu = emulator().await;
    let req = db();
    let mut params = v1_params(&ADMIN, &req);
    let sts = v1_string_to_sign(&params, &[]);
    params.push((
        "Signature".into(),
        acs_sign::v1::signature("WrongSecret", &sts),
    ));
    let r = post(&emu, &params, &[], &[]).await;
    r.err(400, "SignatureDoesNotMatch");
    // The core SDK turns this into InvalidAccessKeySecret only if the text after "is:" is its own STS.
    assert_eq!(
        r.message(),
        format!(
            "Specified signature is not matched with our calculation. server string to sign is:{sts}"
        )
    );
    assert_eq!(r.body["HostId"], "kms.cn-hangzhou.aliyuncs.com");
    assert!(r.body["RequestId"].as_str().unwrap().len() == 36);
    assert!(
        r.body["Recommend"]
            .as_str()
            .unwrap()
            .contains("SignatureDoesNotMatch")
    );
}

#[tokio::test]
async fn v1_param_changed_after_signing_is_rejected() {
    let emu = emulator().await;
    let mut params = v1_params(&ADMIN, &db());
    params.push((
        "Signature".into(),
        acs_sign::v1::signature(ADMIN.secret, &v1_string_to_sign(&params, &[])),
    ));
    for p in params.iter_mut() {
        if p.0 == "SecretName" {
            p.1 = "bin/cert".into();
        }
    }
    post(&emu, &params, &[], &[])
        .await
        .err(400, "SignatureDoesNotMatch");
}

#[tokio::test]
async fn v1_dropping_the_empty_signature_type_breaks_the_signature() {
    // The empty `SignatureType=` is part of the signed set; a server that ignored it would accept this.
    let emu = emulator().await;
    let mut params = v1_params(&ADMIN, &db());
    params.push((
        "Signature".into(),
        acs_sign::v1::signature(ADMIN.secret, &v1_string_to_sign(&params, &[])),
    ));
    params.retain(|(k, _)| k != "SignatureType");
    post(&emu, &params, &[], &[])
        .await
        .err(400, "SignatureDoesNotMatch");
}

#[tokio::test]
async fn unknown_key_missing_signature_and_missing_key_id() {
    let emu = emulator().await;
    let nobody = Key {
        id: "LTAI5tNobody",
        secret: "x",
        token: None,
    };
    send_v1(&emu, &nobody, &db())
        .await
        .err(404, "InvalidAccessKeyId.NotFound");
    send_v3(&emu, &nobody, &db())
        .await
        .err(404, "InvalidAccessKeyId.NotFound");

    let unsigned = v1_params(&ADMIN, &db());
    post(&emu, &unsigned, &[], &[])
        .await
        .err(400, "IncompleteSignature");
    let anonymous: Vec<_> = unsigned
        .into_iter()
        .filter(|(k, _)| k != "AccessKeyId")
        .collect();
    let r = post(&emu, &anonymous, &[], &[]).await;
    r.err(400, "MissingParameter");
    assert!(r.message().contains("AccessKeyId"), "{}", r.message());
}

#[tokio::test]
async fn timestamp_must_be_within_fifteen_minutes() {
    let emu = emulator().await;
    send_v1(&emu, &ADMIN, &db().at(Duration::minutes(-10)))
        .await
        .ok();
    send_v1(&emu, &ADMIN, &db().at(Duration::minutes(10)))
        .await
        .ok();
    send_v1(&emu, &ADMIN, &db().at(Duration::minutes(-20)))
        .await
        .err(400, "InvalidTimeStamp.Expired");
    send_v1(&emu, &ADMIN, &db().at(Duration::minutes(20)))
        .await
        .err(400, "InvalidTimeStamp.Expired");
    send_v3(&emu, &ADMIN, &db().at(Duration::minutes(-20)))
        .await
        .err(400, "InvalidTimeStamp.Expired");
    let mut bad = db();
    bad.timestamp = "2024-05-06 07:08:09".into();
    send_v1(&emu, &ADMIN, &bad)
        .await
        .err(400, "IllegalTimestamp");
}

#[tokio::test]
async fn a_nonce_is_accepted_once() {
    let emu = emulator().await;
    let req = db().nonce("fixed-nonce-1");
    send_v1(&emu, &ADMIN, &req).await.ok();
    send_v1(&emu, &ADMIN, &req)
        .await
        .err(400, "SignatureNonceUsed");
    send_v3(&emu, &ADMIN, &db().nonce("fixed-nonce-2"))
        .await
        .ok();
    send_v3(&emu, &ADMIN, &db().nonce("fixed-nonce-2"))
        .await
        .err(400, "SignatureNonceUsed");
    // A rejected request does not burn its nonce.
    let bad = Key {
        secret: "wrong",
        ..ADMIN
    };
    send_v1(&emu, &bad, &db().nonce("fixed-nonce-3"))
        .await
        .err(400, "SignatureDoesNotMatch");
    send_v1(&emu, &ADMIN, &db().nonce("fixed-nonce-3"))
        .await
        .ok();
}

#[tokio::test]
async fn sts_keys_need_their_exact_token() {
    let emu = emulator().await;
    send_v1(&emu, &STS, &db()).await.ok();
    send_v3(&emu, &STS, &db()).await.ok();
    let wrong = Key {
        token: Some("CAIS/other"),
        ..STS
    };
    send_v1(&emu, &wrong, &db())
        .await
        .err(400, "InvalidSecurityToken.MismatchWithAccessKey");
    send_v3(&emu, &wrong, &db())
        .await
        .err(400, "InvalidSecurityToken.MismatchWithAccessKey");
    let none = Key { token: None, ..STS };
    send_v1(&emu, &none, &db())
        .await
        .err(400, "InvalidSecurityToken.MismatchWithAccessKey");
    let plain_with_token = Key {
        token: Some("CAIS/token+with=chars"),
        ..ADMIN
    };
    send_v3(&emu, &plain_with_token, &db())
        .await
        .err(400, "InvalidSecurityToken.MismatchWithAccessKey");
}

#[tokio::test]
async fn v3_with_a_form_body_is_accepted() {
    let emu = emulator().await;
    let req = Req::oos(
        "GetSecretParameter",
        &[("Name", "my-secret-param"), ("WithDecryption", "true")],
    )
    .in_form();
    let r = send_v3(&emu, &ADMIN, &req).await;
    assert_eq!(r.ok()["Parameter"]["Value"], "param-value-v2");
}

#[tokio::test]
async fn v3_wrong_secret_and_body_tampering_are_rejected() {
    let emu = emulator().await;
    let req = db();
    let headers = v3_headers(&emu, &ADMIN, "WrongSecret", &req);
    let r = post(&emu, &req.query, &[], &headers).await;
    r.err(400, "SignatureDoesNotMatch");
    assert!(
        r.message()
            .starts_with("Specified signature is not matched with our calculation. server string to sign is:ACS3-HMAC-SHA256\n"),
        "{}",
        r.message()
    );

    // Body differs from x-acs-content-sha256.
    let req = Req::oos("GetSecretParameter", &[("Name", "my-secret-param")]).in_form();
    let headers = v3_headers(&emu, &ADMIN, ADMIN.secret, &req);
    let other_body = vec![("Name".to_owned(), "team-param".to_owned())];
    post(&emu, &req.query, &other_body, &headers)
        .await
        .err(400, "IncompleteSignature");
}

#[tokio::test]
async fn v3_unsigned_acs_header_is_rejected() {
    let emu = emulator().await;
    let req = db();
    let mut headers = v3_headers(&emu, &ADMIN, ADMIN.secret, &req);
    headers.push(("x-acs-extra".into(), "sneaky".into()));
    let r = post(&emu, &req.query, &[], &headers).await;
    r.err(400, "IncompleteSignature");
    assert!(r.message().contains("x-acs-extra"), "{}", r.message());
}

#[tokio::test]
async fn requests_signed_by_the_shared_client_signer_verify() {
    // The provider signs with acs_sign::sign; the emulator must accept both versions it emits.
    let emu = emulator().await;
    for (version, key) in [
        (acs_sign::SignatureVersion::V1, &ADMIN),
        (acs_sign::SignatureVersion::V3, &ADMIN),
        (acs_sign::SignatureVersion::V1, &STS),
        (acs_sign::SignatureVersion::V3, &STS),
    ] {
        let rpc = acs_sign::RpcRequest {
            method: "POST".into(),
            host: emu.addr().to_string(),
            action: "GetSecretValue".into(),
            version: "2016-01-20".into(),
            params: vec![("SecretName".into(), "app/db-password".into())],
            timestamp: now_ts(Duration::ZERO),
            nonce: uuid::Uuid::new_v4().to_string(),
        };
        let cred = acs_sign::Credential {
            access_key_id: key.id,
            access_key_secret: key.secret,
            security_token: key.token,
        };
        let signed = acs_sign::sign(version, &rpc, Some(&cred));
        let headers: Vec<_> = signed
            .headers
            .iter()
            .filter(|(k, _)| k != "host")
            .cloned()
            .collect();
        let r = post(&emu, &signed.query, &[], &headers).await;
        assert_eq!(r.ok()["VersionId"], "v2", "{version:?} {}", key.id);
    }
}

#[tokio::test]
async fn v1_get_requests_sign_the_get_method() {
    // The credentials library sends signed V1 calls as GET; the method is part of the STS.
    let emu = emulator().await;
    let mut params = v1_params(&ADMIN, &db());
    let all: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let sig = acs_sign::v1::signature(ADMIN.secret, &acs_sign::v1::string_to_sign("GET", &all));
    params.push(("Signature".into(), sig));
    let r = send(&emu, reqwest::Method::GET, &params, &[], &[]).await;
    assert_eq!(r.ok()["VersionId"], "v2");
    // The same signed params sent as a POST no longer match (checked before the nonce).
    post(&emu, &params, &[], &[])
        .await
        .err(400, "SignatureDoesNotMatch");
}
