//! OOS `GetSecretParameter` and `GetParameter` (API version 2019-06-01).

use std::time::Instant;

use serde_json::{Map, Value};

use super::client::{Call, kind, required_str};
use super::{AlibabaBackend, Endpoint, FetchError, FetchRequest, Fetched, SecretBytes};
use crate::auth::Credentials;

const SECRET_LABEL: &str = "OOS GetSecretParameter";
const PLAIN_LABEL: &str = "OOS GetParameter";

/// Fetches an encrypted parameter, decrypted; `version_id` pins `ParameterVersion` (upstream ignored it).
pub(super) async fn get_secret_parameter(
    backend: &AlibabaBackend,
    endpoint: &Endpoint,
    req: &FetchRequest,
    creds: &Credentials,
    deadline: Instant,
) -> Result<Fetched, FetchError> {
    let mut params = common_params(req)?;
    params.push(("WithDecryption".to_owned(), "true".to_owned()));
    fetch(
        backend,
        endpoint,
        SECRET_LABEL,
        "GetSecretParameter",
        params,
        creds,
        deadline,
    )
    .await
}

/// Fetches a plain `String`/`StringList` parameter.
pub(super) async fn get_parameter(
    backend: &AlibabaBackend,
    endpoint: &Endpoint,
    req: &FetchRequest,
    creds: &Credentials,
    deadline: Instant,
) -> Result<Fetched, FetchError> {
    let params = common_params(req)?;
    fetch(
        backend,
        endpoint,
        PLAIN_LABEL,
        "GetParameter",
        params,
        creds,
        deadline,
    )
    .await
}

fn common_params(req: &FetchRequest) -> Result<Vec<(String, String)>, FetchError> {
    let mut params = vec![
        ("Name".to_owned(), req.name.clone()),
        ("RegionId".to_owned(), req.region.clone()),
    ];
    if let Some(v) = &req.version_id {
        match v.trim().parse::<u32>() {
            Ok(n) if (1..=100).contains(&n) => {
                params.push(("ParameterVersion".to_owned(), n.to_string()))
            }
            _ => {
                return Err(FetchError::InvalidRequest(format!(
                    "OOS parameter {:?}: objectVersion {v:?} is not a parameter version; expected an integer 1-100",
                    req.name
                )));
            }
        }
    }
    Ok(params)
}

async fn fetch(
    backend: &AlibabaBackend,
    endpoint: &Endpoint,
    label: &'static str,
    action: &'static str,
    params: Vec<(String, String)>,
    creds: &Credentials,
    deadline: Instant,
) -> Result<Fetched, FetchError> {
    let call = Call {
        label,
        endpoint,
        action,
        version: "2019-06-01",
        params,
    };
    let (body, attempts) = backend.call(call, creds, deadline).await?;
    let (data, version) = parse(label, &body)?;
    Ok(Fetched {
        data,
        version,
        attempts,
    })
}

/// `Parameter.Value` and `Parameter.ParameterVersion` (reported as a decimal string).
fn parse(
    label: &'static str,
    body: &Map<String, Value>,
) -> Result<(SecretBytes, String), FetchError> {
    let invalid = |reason: String| FetchError::InvalidResponse {
        action: label,
        reason,
    };
    let parameter = match body.get("Parameter") {
        Some(Value::Object(p)) => p,
        Some(other) => {
            return Err(invalid(format!(
                "Parameter is a JSON {}, expected an object",
                kind(other)
            )));
        }
        None => return Err(invalid("Parameter is missing".into())),
    };
    let value = required_str(label, parameter, "Parameter.", "Value")?;
    let version = match parameter.get("ParameterVersion") {
        Some(Value::Number(n)) if n.is_u64() => n.to_string(),
        Some(Value::String(s)) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.clone()
        }
        Some(other) => {
            return Err(invalid(format!(
                "Parameter.ParameterVersion is a JSON {}, expected a positive integer",
                kind(other)
            )));
        }
        None => return Err(invalid("Parameter.ParameterVersion is missing".into())),
    };
    Ok((SecretBytes::new(value.as_bytes().to_vec()), version))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn value_and_version() {
        let (d, v) = parse(
            SECRET_LABEL,
            &obj(serde_json::json!({"Parameter":{"Value":"pw","ParameterVersion":3}})),
        )
        .unwrap();
        assert_eq!((d.as_bytes(), v.as_str()), (&b"pw"[..], "3"));
    }

    #[test]
    fn missing_or_null_value_is_an_error_naming_the_field() {
        for body in [
            serde_json::json!({"Parameter":{"ParameterVersion":1}}),
            serde_json::json!({"Parameter":{"Value":null,"ParameterVersion":1}}),
        ] {
            let e = parse(SECRET_LABEL, &obj(body)).unwrap_err().to_string();
            assert!(e.contains("Parameter.Value"), "{e}");
        }
        let e = parse(SECRET_LABEL, &obj(serde_json::json!({"RequestId":"r"})))
            .unwrap_err()
            .to_string();
        assert!(e.contains("Parameter is missing"), "{e}");
    }

    #[test]
    fn version_must_be_1_to_100() {
        let mut req = FetchRequest {
            kind: super::super::ObjectKind::Oos,
            name: "p".into(),
            version_id: Some("7".into()),
            version_stage: None,
            region: "cn-hangzhou".into(),
            endpoint: None,
        };
        assert!(
            common_params(&req)
                .unwrap()
                .contains(&("ParameterVersion".into(), "7".into()))
        );
        for bad in ["0", "101", "v1", ""] {
            req.version_id = Some(bad.into());
            let e = common_params(&req).unwrap_err().to_string();
            assert!(e.contains("integer 1-100"), "{e}");
        }
    }
}
