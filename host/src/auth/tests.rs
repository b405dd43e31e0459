use std::collections::{BTreeMap, HashMap};

use super::*;

const ID: &str = "LTAI5tVolumeKeyId";
const SECRET: &str = "volume-secret-value";
const ENV_SECRET: &str = "env-secret-value";
const TOKEN: &str = "CAIS-env-token-value";

fn volume(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn env(pairs: &[(&str, &str)]) -> EnvCredentials {
    let m: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    EnvCredentials::from_map(&m)
}

#[test]
fn per_volume_credential_wins_over_environment() {
    let v = volume(&[("Access_Key", ID), ("ACCESS_SECRET", SECRET)]);
    let e = env(&[
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAIenv"),
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", ENV_SECRET),
    ]);
    let c = resolve(&v, &e).unwrap();
    assert_eq!(c.access_key_id(), ID);
    assert_eq!(c.signing().access_key_secret, SECRET);
    assert_eq!(c.origin(), "nodePublishSecretRef");
}

#[test]
fn volume_values_are_trimmed() {
    let v = volume(&[("access_key", " LTAIx\n"), ("access_secret", "s3cr3t\n")]);
    let c = resolve(&v, &EnvCredentials::none()).unwrap();
    assert_eq!(c.access_key_id(), "LTAIx");
    assert_eq!(c.signing().access_key_secret, "s3cr3t");
}

#[test]
fn environment_is_used_when_the_volume_has_none() {
    let e = env(&[
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", "STS.envid"),
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", ENV_SECRET),
        ("ALIBABA_CLOUD_SECURITY_TOKEN", TOKEN),
    ]);
    let c = resolve(&volume(&[]), &e).unwrap();
    let s = c.signing();
    assert_eq!(
        (s.access_key_id, s.access_key_secret, s.security_token),
        ("STS.envid", ENV_SECRET, Some(TOKEN))
    );
}

#[test]
fn chart_env_names_work_and_rank_after_the_sdk_names() {
    let chart = env(&[
        ("ACCESS_KEY_ID", "LTAIchart"),
        ("SECRET_ACCESS_KEY", ENV_SECRET),
    ]);
    assert_eq!(
        resolve(&volume(&[]), &chart).unwrap().access_key_id(),
        "LTAIchart"
    );
    let both = env(&[
        ("ACCESS_KEY_ID", "LTAIchart"),
        ("SECRET_ACCESS_KEY", ENV_SECRET),
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAIsdk"),
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", ENV_SECRET),
    ]);
    assert_eq!(
        resolve(&volume(&[]), &both).unwrap().access_key_id(),
        "LTAIsdk"
    );
}

#[test]
fn half_a_volume_pair_names_the_missing_key() {
    let err = resolve(&volume(&[("access_key", ID)]), &EnvCredentials::none())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("nodePublishSecretRef") && err.contains("access_secret is missing"),
        "{err}"
    );
    let err = resolve(
        &volume(&[("access_secret", SECRET)]),
        &EnvCredentials::none(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("access_key is missing") && !err.contains(SECRET),
        "{err}"
    );
}

#[test]
fn volume_secret_with_wrong_keys_is_an_error_not_a_fallback() {
    let v = volume(&[("accessKeyId", ID), ("accessKeySecret", SECRET)]);
    let e = env(&[
        ("ACCESS_KEY_ID", "LTAIchart"),
        ("SECRET_ACCESS_KEY", ENV_SECRET),
    ]);
    let err = resolve(&v, &e).unwrap_err().to_string();
    assert!(
        err.contains("accessKeyId, accessKeySecret") && err.contains("access_key"),
        "{err}"
    );
    assert!(!err.contains(SECRET) && !err.contains(ID), "{err}");
}

#[test]
fn half_an_env_pair_is_reported_only_when_the_env_is_needed() {
    let e = env(&[("SECRET_ACCESS_KEY", ENV_SECRET)]);
    let err = e.problem().unwrap().to_string();
    assert!(
        err.contains("SECRET_ACCESS_KEY is set but ACCESS_KEY_ID is missing"),
        "{err}"
    );
    assert!(!err.contains(ENV_SECRET));
    assert!(resolve(&volume(&[]), &e).is_err());
    // A volume credential still works.
    let v = volume(&[("access_key", ID), ("access_secret", SECRET)]);
    assert_eq!(resolve(&v, &e).unwrap().access_key_id(), ID);
    // A token alone is also half a credential.
    let err = env(&[("ALIBABA_CLOUD_SECURITY_TOKEN", TOKEN)])
        .problem()
        .unwrap()
        .to_string();
    assert!(
        err.contains("ALIBABA_CLOUD_SECURITY_TOKEN is set") && !err.contains(TOKEN),
        "{err}"
    );
}

#[test]
fn no_credentials_lists_every_source_tried() {
    let err = resolve(&volume(&[]), &env(&[("ACCESS_KEY_ID", "")]))
        .unwrap_err()
        .to_string();
    for expected in [
        "nodePublishSecretRef",
        "ALIBABA_CLOUD_ACCESS_KEY_ID",
        "SECRET_ACCESS_KEY",
    ] {
        assert!(err.contains(expected), "{err}");
    }
}

#[test]
fn debug_redacts_secrets_and_masks_the_key_id() {
    let e = env(&[
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", "STS.envid-long"),
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", ENV_SECRET),
        ("ALIBABA_CLOUD_SECURITY_TOKEN", TOKEN),
    ]);
    let c = e.credentials().unwrap().unwrap();
    for shown in [
        format!("{c:?}"),
        format!("{e:?}"),
        format!("{:?}", c.signing()),
    ] {
        assert!(
            !shown.contains(ENV_SECRET) && !shown.contains(TOKEN),
            "{shown}"
        );
    }
    assert!(format!("{c:?}").contains("STS.****"));
}

#[tokio::test]
async fn sources_share_one_trait() {
    async fn first<S: CredentialSource>(sources: &[&S]) -> Option<Credentials> {
        for s in sources {
            if let Some(c) = s.get().await.unwrap() {
                return Some(c);
            }
        }
        None
    }
    let v =
        VolumeCredentials::new(&volume(&[("access_key", ID), ("access_secret", SECRET)])).unwrap();
    assert_eq!(first(&[&v]).await.unwrap().access_key_id(), ID);
    let e = env(&[
        ("ACCESS_KEY_ID", "LTAIchart"),
        ("SECRET_ACCESS_KEY", ENV_SECRET),
    ]);
    assert_eq!(first(&[&e]).await.unwrap().access_key_id(), "LTAIchart");
}
