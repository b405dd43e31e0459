//! KMS 2016-01-20 `GetSecretValue`.

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::DEFAULT_CREATED;
use crate::auth::Caller;
use crate::error::{ApiError, new_request_id};
use crate::request::{PopRequest, parse_bool};
use crate::seed::{KmsVersionSeed, SecretType};
use crate::store::Store;

fn not_found(detail: String) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "Forbidden.ResourceNotFound",
        format!("Resource not found. {detail}"),
    )
}

pub(super) fn get_secret_value(
    req: &PopRequest,
    caller: &Caller,
    store: &Store,
) -> Result<Value, ApiError> {
    let requested = req
        .non_empty_param("SecretName")
        .ok_or_else(|| ApiError::missing_parameter("SecretName"))?;
    let fetch_extended = parse_bool("FetchExtendedConfig", req.param("FetchExtendedConfig"))?;
    let dry_run = parse_bool("DryRun", req.param("DryRun"))?;
    let version_id = req.non_empty_param("VersionId");
    // The stage defaults to ACSCurrent only when no explicit version is asked for.
    let stage = req
        .non_empty_param("VersionStage")
        .or(version_id.is_none().then_some("ACSCurrent"));

    let Some(name) = store.secret_name(requested) else {
        return Err(not_found(format!(
            "The ARN {requested:?} does not name a secret of account {} in region {}.",
            store.account_id, store.region
        )));
    };
    if !caller.may_read(name) {
        return Err(ApiError::no_permission());
    }
    let secret = store
        .secret(name)
        .ok_or_else(|| not_found(format!("Secret {name:?} does not exist.")))?;
    let version = secret
        .versions
        .iter()
        .find(|v| selects(v, version_id, stage))
        .ok_or_else(|| {
            not_found(format!(
                "Secret {name:?} has no version with VersionId {} and VersionStage {}.",
                version_id.unwrap_or("(any)"),
                stage.unwrap_or("(any)")
            ))
        })?;
    if dry_run {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "DryRunOperationError",
            "Request validation has been passed with DryRun flag set.",
        ));
    }

    let mut body = Map::new();
    body.insert("RequestId".into(), json!(new_request_id()));
    body.insert("SecretName".into(), json!(secret.name));
    body.insert("SecretType".into(), json!(secret.secret_type.as_str()));
    body.insert("SecretData".into(), json!(version.data));
    body.insert(
        "SecretDataType".into(),
        json!(version.secret_data_type.as_str()),
    );
    body.insert("VersionId".into(), json!(version.version_id));
    body.insert(
        "VersionStages".into(),
        json!({ "VersionStage": version.stages }),
    );
    body.insert(
        "CreateTime".into(),
        json!(version.create_time.as_deref().unwrap_or(DEFAULT_CREATED)),
    );
    if let Some(r) = &secret.rotation {
        let fields = [
            ("AutomaticRotation", &r.automatic_rotation),
            ("RotationInterval", &r.rotation_interval),
            ("LastRotationDate", &r.last_rotation_date),
            ("NextRotationDate", &r.next_rotation_date),
        ];
        for (k, v) in fields {
            if let Some(v) = v {
                body.insert(k.into(), json!(v));
            }
        }
    }
    if fetch_extended
        && secret.secret_type != SecretType::Generic
        && let Some(cfg) = &secret.extended_config
    {
        body.insert("ExtendedConfig".into(), json!(cfg.to_string()));
    }
    Ok(Value::Object(body))
}

fn selects(v: &KmsVersionSeed, version_id: Option<&str>, stage: Option<&str>) -> bool {
    version_id.is_none_or(|id| v.version_id == id)
        && stage.is_none_or(|s| v.stages.iter().any(|x| x == s))
}
