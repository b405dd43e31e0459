//! OOS 2019-06-01 `GetSecretParameter` (encrypted parameters) and `GetParameter` (plain).

use axum::http::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::DEFAULT_CREATED;
use crate::auth::Caller;
use crate::error::{ApiError, new_request_id};
use crate::request::{PopRequest, parse_bool};
use crate::store::Store;

/// OOS keeps ParameterVersion 1–100.
const MAX_VERSION: usize = 100;

fn not_found(detail: String) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "EntityNotExists.Parameter",
        format!("The specified parameter does not exist. {detail}"),
    )
}

/// Name, permission and requested version (1-based; `None` = latest).
fn common<'a>(req: &'a PopRequest, caller: &Caller) -> Result<(&'a str, Option<usize>), ApiError> {
    let name = req
        .non_empty_param("Name")
        .ok_or_else(|| ApiError::missing_parameter("Name"))?;
    let version = match req.non_empty_param("ParameterVersion") {
        None => None,
        Some(v) => match v.parse::<usize>() {
            Ok(n @ 1..=MAX_VERSION) => Some(n),
            _ => {
                return Err(ApiError::invalid_parameter(
                    "ParameterVersion",
                    "expected an integer from 1 to 100",
                ));
            }
        },
    };
    if !caller.may_read(name) {
        return Err(ApiError::no_permission());
    }
    Ok((name, version))
}

/// Pick `(version number, value)`; the last listed value is the latest.
fn pick<'a>(
    name: &str,
    values: &'a [String],
    version: Option<usize>,
) -> Result<(usize, &'a str), ApiError> {
    let n = version.unwrap_or(values.len());
    values
        .get(n.wrapping_sub(1))
        .map(|v| (n, v.as_str()))
        .ok_or_else(|| {
            not_found(format!(
                "Parameter {name:?} has no version {n} (it has {}).",
                values.len()
            ))
        })
}

/// A stable fake id like `p-1a2b…` so repeated calls agree.
fn parameter_id(name: &str) -> String {
    format!("p-{}", &hex::encode(Sha256::digest(name.as_bytes()))[..30])
}

fn parameter_base(
    store: &Store,
    name: &str,
    ty: &str,
    value: &str,
    version: usize,
    description: &str,
) -> Value {
    let owner = format!("root({})", store.account_id);
    json!({
        "Name": name,
        "Id": parameter_id(name),
        "Type": ty,
        "Value": value,
        "ParameterVersion": version,
        "Description": description,
        "Constraints": "{}",
        "Tags": {},
        "ShareType": "Private",
        "CreatedBy": owner,
        "CreatedDate": DEFAULT_CREATED,
        "UpdatedBy": owner,
        "UpdatedDate": DEFAULT_CREATED,
    })
}

pub(super) fn get_secret_parameter(
    req: &PopRequest,
    caller: &Caller,
    store: &Store,
) -> Result<Value, ApiError> {
    let (name, version) = common(req, caller)?;
    let decrypt = parse_bool("WithDecryption", req.param("WithDecryption"))?;
    let param = store
        .secret_parameter(name)
        .ok_or_else(|| not_found(format!("No secret parameter {name:?}.")))?;
    let (n, value) = pick(name, &param.versions, version)?;
    // Without WithDecryption=true the cloud does not return the plaintext.
    let value = if decrypt { value } else { "" };
    let mut p = parameter_base(store, name, "Secret", value, n, &param.description);
    let key_id = param
        .key_id
        .clone()
        .unwrap_or_else(|| format!("alias/acs/oos-{}", store.region));
    p["KeyId"] = json!(key_id);
    Ok(json!({ "RequestId": new_request_id(), "Parameter": p }))
}

pub(super) fn get_parameter(
    req: &PopRequest,
    caller: &Caller,
    store: &Store,
) -> Result<Value, ApiError> {
    let (name, version) = common(req, caller)?;
    let param = store
        .plain_parameter(name)
        .ok_or_else(|| not_found(format!("No parameter {name:?}.")))?;
    let (n, value) = pick(name, &param.versions, version)?;
    let p = parameter_base(
        store,
        name,
        param.param_type.as_str(),
        value,
        n,
        &param.description,
    );
    Ok(json!({ "RequestId": new_request_id(), "Parameter": p }))
}
