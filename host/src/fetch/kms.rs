//! KMS Secrets Manager `GetSecretValue` (API version 2016-01-20).

use std::time::Instant;

use base64::Engine as _;
use serde_json::{Map, Value};

use super::client::{Call, required_str};
use super::{AlibabaBackend, Endpoint, FetchError, FetchRequest, Fetched, SecretBytes};
use crate::auth::Credentials;

const LABEL: &str = "KMS GetSecretValue";

/// Fetches a secret by name or ARN, pinned by `VersionId` and/or `VersionStage` when given.
pub(super) async fn get_secret_value(
    backend: &AlibabaBackend,
    endpoint: &Endpoint,
    req: &FetchRequest,
    creds: &Credentials,
    deadline: Instant,
) -> Result<Fetched, FetchError> {
    let mut params = vec![("SecretName".to_owned(), req.name.clone())];
    if let Some(v) = &req.version_id {
        params.push(("VersionId".to_owned(), v.clone()));
    }
    if let Some(s) = &req.version_stage {
        params.push(("VersionStage".to_owned(), s.clone()));
    }
    let call = Call {
        label: LABEL,
        endpoint,
        action: "GetSecretValue",
        version: "2016-01-20",
        params,
    };
    let (body, attempts) = backend.call(call, creds, deadline).await?;
    let (data, version) = parse(&body)?;
    Ok(Fetched {
        data,
        version,
        attempts,
    })
}

/// `SecretData` (base64-decoded when `SecretDataType` is `binary`) and `VersionId`.
/// Missing fields are errors: upstream dereferenced them blindly.
fn parse(body: &Map<String, Value>) -> Result<(SecretBytes, String), FetchError> {
    let data = required_str(LABEL, body, "", "SecretData")?;
    let version = required_str(LABEL, body, "", "VersionId")?.to_owned();
    let data_type = match body.get("SecretDataType") {
        None | Some(Value::Null) => "text",
        Some(_) => required_str(LABEL, body, "", "SecretDataType")?,
    };
    let bytes = match data_type {
        "text" => data.as_bytes().to_vec(),
        "binary" => base64::engine::general_purpose::STANDARD
            .decode(data.trim())
            .map_err(|_| FetchError::InvalidResponse {
                action: LABEL,
                reason: "SecretDataType is binary but SecretData is not valid base64".into(),
            })?,
        other => {
            return Err(FetchError::InvalidResponse {
                action: LABEL,
                reason: format!("SecretDataType {other:?} is not one of text, binary"),
            });
        }
    };
    Ok((SecretBytes::new(bytes), version))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn text_binary_and_default_type() {
        let (d, v) = parse(&obj(
            serde_json::json!({"SecretData":"hello","SecretDataType":"text","VersionId":"v1"}),
        ))
        .unwrap();
        assert_eq!((d.as_bytes(), v.as_str()), (&b"hello"[..], "v1"));
        let (d, _) = parse(&obj(
            serde_json::json!({"SecretData":"AAEC/w==","SecretDataType":"binary","VersionId":"v2"}),
        ))
        .unwrap();
        assert_eq!(d.as_bytes(), [0u8, 1, 2, 255]);
        let (d, _) = parse(&obj(serde_json::json!({"SecretData":"x","VersionId":"v"}))).unwrap();
        assert_eq!(d.as_bytes(), b"x");
    }

    #[test]
    fn problems_name_the_field_not_the_value() {
        let e = parse(&obj(serde_json::json!({"VersionId":"v1"})))
            .unwrap_err()
            .to_string();
        assert!(e.contains("SecretData is missing"), "{e}");
        let e = parse(&obj(serde_json::json!({"SecretData":"s3cr3t-value"})))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("VersionId is missing") && !e.contains("s3cr3t"),
            "{e}"
        );
        let e = parse(&obj(
            serde_json::json!({"SecretData":"s3cr3t!!","SecretDataType":"binary","VersionId":"v"}),
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("not valid base64") && !e.contains("s3cr3t"),
            "{e}"
        );
        let e = parse(&obj(
            serde_json::json!({"SecretData":{"k":"s3cr3t"},"VersionId":"v"}),
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("SecretData is a JSON object") && !e.contains("s3cr3t"),
            "{e}"
        );
        let e = parse(&obj(
            serde_json::json!({"SecretData":"x","SecretDataType":"hex","VersionId":"v"}),
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("\"hex\" is not one of text, binary"), "{e}");
    }
}
