//! ECS instance metadata under /latest/: tokens (optional and hardened mode), role
//! discovery, role credentials usable against KMS with the role's permissions, region and
//! instance id, expiry, the call counter and a metadata server that is down.

mod common;

use acs_emulator::Handle;
use common::*;
use serde_json::Value;

const CREDS: &str = "/latest/meta-data/ram/security-credentials/";

struct Got {
    status: u16,
    body: String,
}

async fn get(emu: &Handle, path: &str, token: Option<&str>) -> Got {
    let mut rb = reqwest::Client::new().get(format!("{}{path}", emu.base_url()));
    if let Some(t) = token {
        rb = rb.header("X-aliyun-ecs-metadata-token", t);
    }
    let resp = rb.send().await.unwrap();
    Got {
        status: resp.status().as_u16(),
        body: resp.text().await.unwrap(),
    }
}

async fn put_token(emu: &Handle, ttl: Option<&str>) -> Got {
    let mut rb = reqwest::Client::new().put(format!("{}/latest/api/token", emu.base_url()));
    if let Some(t) = ttl {
        rb = rb.header("X-aliyun-ecs-metadata-token-ttl-seconds", t);
    }
    let resp = rb.send().await.unwrap();
    Got {
        status: resp.status().as_u16(),
        body: resp.text().await.unwrap(),
    }
}

fn json(g: &Got) -> Value {
    assert_eq!(g.status, 200, "{}", g.body);
    serde_json::from_str(&g.body).unwrap()
}

#[tokio::test]
async fn hardened_flow_serves_role_credentials_region_and_instance() {
    let emu = emulator().await;
    let token = put_token(&emu, Some("21600")).await;
    assert_eq!(token.status, 200);
    let t = Some(token.body.as_str());
    let role = get(&emu, CREDS, t).await;
    assert_eq!((role.status, role.body.as_str()), (200, "ecs-node-role"));
    let region = get(&emu, "/latest/meta-data/region-id", t).await;
    assert_eq!(region.body, "cn-hangzhou");
    let instance = get(&emu, "/latest/meta-data/instance-id", t).await;
    assert_eq!(instance.body, "i-bp1emulator0001");

    let creds = json(&get(&emu, &format!("{CREDS}ecs-node-role"), t).await);
    assert_eq!(creds["Code"], "Success");
    assert!(creds["AccessKeyId"].as_str().unwrap().starts_with("STS."));
    let left = seconds_until(creds["Expiration"].as_str().unwrap());
    assert!(
        (21590..=21600).contains(&left),
        "default lifetime 6 h: {left}"
    );
    assert!(seconds_until(creds["LastUpdated"].as_str().unwrap()) <= 0);

    // The role's permissions: app/db-password and my-secret-param, nothing else.
    let key = issued_key(&creds);
    send_v3(&emu, &key, &Req::kms(&[("SecretName", "app/db-password")]))
        .await
        .ok();
    send_v1(
        &emu,
        &key,
        &Req::oos("GetSecretParameter", &[("Name", "my-secret-param")]),
    )
    .await
    .ok();
    send_v3(&emu, &key, &Req::kms(&[("SecretName", "team-a/token")]))
        .await
        .err(403, "Forbidden.NoPermission");

    // The same credential is handed out again while it is fresh (as ECS does).
    let again = json(&get(&emu, &format!("{CREDS}ecs-node-role"), None).await);
    assert_eq!(again["AccessKeyId"], creds["AccessKeyId"]);
    assert_eq!(emu.metadata_calls(), 6);
    assert_eq!(
        get(&emu, &format!("{CREDS}other-role"), t).await.status,
        404
    );
    assert_eq!(
        get(&emu, "/latest/meta-data/nothing-here", t).await.status,
        404
    );
}

#[tokio::test]
async fn token_ttl_must_be_1_to_21600() {
    let emu = emulator().await;
    for ttl in [None, Some("0"), Some("21601"), Some("-5"), Some("soon")] {
        let g = put_token(&emu, ttl).await;
        assert_eq!(g.status, 400, "{ttl:?}");
        assert!(g.body.contains("1 to 21600"), "{}", g.body);
    }
    assert_eq!(put_token(&emu, Some("1")).await.status, 200);
}

#[tokio::test]
async fn wrong_or_expired_tokens_get_401_and_hardened_mode_requires_one() {
    let emu = emulator().await;
    // Normal mode: no token is fine, a wrong one is not.
    assert_eq!(get(&emu, CREDS, None).await.status, 200);
    assert_eq!(get(&emu, CREDS, Some("made-up")).await.status, 401);
    let short = put_token(&emu, Some("1")).await.body;
    assert_eq!(get(&emu, CREDS, Some(&short)).await.status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let expired = get(&emu, CREDS, Some(&short)).await;
    assert_eq!(expired.status, 401);
    assert!(expired.body.contains("expired"), "{}", expired.body);

    let hardened = emulator_with(|s| {
        s.replace(
            "  instanceId: i-bp1emulator0001\n",
            "  instanceId: i-bp1emulator0001\n  requireToken: true\n",
        )
    })
    .await;
    let refused = get(&hardened, CREDS, None).await;
    assert_eq!(refused.status, 401);
    assert!(
        refused.body.contains("X-aliyun-ecs-metadata-token"),
        "{}",
        refused.body
    );
    assert_eq!(
        get(&hardened, "/latest/meta-data/region-id", None)
            .await
            .status,
        401
    );
    let token = put_token(&hardened, Some("60")).await.body;
    assert_eq!(
        get(&hardened, CREDS, Some(&token)).await.body,
        "ecs-node-role"
    );
}

#[tokio::test]
async fn short_lived_credentials_expire_and_are_replaced() {
    let emu = emulator_with(|s| {
        s.replace(
            "  instanceId: i-bp1emulator0001\n",
            "  instanceId: i-bp1emulator0001\n  credentialLifetimeSeconds: 2\n  region: cn-shanghai\n",
        )
    })
    .await;
    assert_eq!(
        get(&emu, "/latest/meta-data/region-id", None).await.body,
        "cn-shanghai"
    );
    let first = json(&get(&emu, &format!("{CREDS}ecs-node-role"), None).await);
    assert!(seconds_until(first["Expiration"].as_str().unwrap()) <= 2);
    let key = issued_key(&first);
    send_v3(&emu, &key, &Req::kms(&[("SecretName", "app/db-password")]))
        .await
        .ok();
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    send_v3(&emu, &key, &Req::kms(&[("SecretName", "app/db-password")]))
        .await
        .err(400, "InvalidSecurityToken.Expired");
    let second = json(&get(&emu, &format!("{CREDS}ecs-node-role"), None).await);
    assert_ne!(second["AccessKeyId"], first["AccessKeyId"]);
    send_v3(
        &emu,
        &issued_key(&second),
        &Req::kms(&[("SecretName", "app/db-password")]),
    )
    .await
    .ok();
}

#[tokio::test]
async fn metadata_down_answers_500_and_is_counted() {
    let emu = emulator().await;
    emu.set_metadata_down(true);
    assert_eq!(put_token(&emu, Some("60")).await.status, 500);
    assert_eq!(get(&emu, CREDS, None).await.status, 500);
    assert_eq!(emu.metadata_calls(), 2);
    emu.set_metadata_down(false);
    assert_eq!(get(&emu, CREDS, None).await.status, 200);
    assert_eq!(emu.metadata_calls(), 3);
    // POP calls are not metadata calls, and reset_calls clears both.
    send_v3(
        &emu,
        &ADMIN,
        &Req::kms(&[("SecretName", "app/db-password")]),
    )
    .await
    .ok();
    assert_eq!(emu.metadata_calls(), 3);
    emu.reset_calls();
    assert_eq!(emu.metadata_calls(), 0);
}

#[tokio::test]
async fn without_ecs_metadata_in_the_seed_every_path_is_404() {
    let emu = emulator_with(|s| s[..s.find("ecsMetadata:").unwrap()].to_owned()).await;
    assert_eq!(get(&emu, CREDS, None).await.status, 404);
    assert_eq!(
        get(&emu, "/latest/meta-data/region-id", None).await.status,
        404
    );
}
