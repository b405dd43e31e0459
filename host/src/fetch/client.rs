//! The real backend: one pooled HTTP client, signed POP calls, retries.

use std::time::{Duration, Instant};

use acs_sign::{RpcRequest, sign};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::macros::format_description;

use super::error::parse_api_error;
use super::{
    Endpoint, FetchConfig, FetchError, FetchRequest, Fetched, ObjectKind, SecretBackend, Service,
    kms, oos, retry,
};
use crate::auth::Credentials;

/// Largest response body accepted; real answers are a few KiB (KMS secrets are at most 64 KiB).
const MAX_BODY: usize = 4 << 20;

/// Fetches from Alibaba Cloud KMS and OOS. Cheap to share: build once, use for every mount.
#[derive(Debug, Clone)]
pub struct AlibabaBackend {
    http: reqwest::Client,
    cfg: FetchConfig,
}

/// One API call: which service action and its parameters.
pub(super) struct Call<'a> {
    /// For messages, e.g. `KMS GetSecretValue`.
    pub label: &'static str,
    pub endpoint: &'a Endpoint,
    pub action: &'static str,
    pub version: &'static str,
    pub params: Vec<(String, String)>,
}

impl AlibabaBackend {
    /// Builds the HTTP client and checks the configured endpoint overrides.
    pub fn new(cfg: FetchConfig) -> Result<Self, FetchError> {
        for e in [&cfg.kms_endpoint, &cfg.oos_endpoint].into_iter().flatten() {
            Endpoint::parse(e)?;
        }
        let mut builder = reqwest::Client::builder();
        if let Some(pem) = &cfg.extra_ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
                .map_err(|e| FetchError::Client(format!("extra CA bundle: {}", e.without_url())))?;
            if certs.is_empty() {
                return Err(FetchError::Client(
                    "extra CA bundle contains no PEM certificates (expected -----BEGIN CERTIFICATE----- blocks)".into(),
                ));
            }
            builder = builder.tls_certs_merge(certs);
        }
        let http = builder
            .connect_timeout(cfg.connect_timeout)
            .timeout(cfg.request_timeout)
            // A redirect could carry x-acs-security-token to another host.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!(
                "csi-provider-alibabacloud/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()
            .map_err(|e| FetchError::Client(e.without_url().to_string()))?;
        Ok(Self { http, cfg })
    }

    /// The settings this backend was built with.
    pub fn config(&self) -> &FetchConfig {
        &self.cfg
    }

    /// The endpoint an object of `kind` in `region` goes to.
    pub fn endpoint_for(&self, req: &FetchRequest) -> Result<Endpoint, FetchError> {
        let (service, configured) = match req.kind {
            ObjectKind::Kms => (Service::Kms, &self.cfg.kms_endpoint),
            ObjectKind::Oos | ObjectKind::OosParameter => (Service::Oos, &self.cfg.oos_endpoint),
        };
        Ok(Endpoint::resolve(
            service,
            &req.region,
            req.endpoint.as_deref(),
            configured.as_deref(),
            self.cfg.endpoint_type,
        )?)
    }

    /// Sends `call` with retries; returns the JSON object of the 2xx answer and the attempt count.
    pub(super) async fn call(
        &self,
        call: Call<'_>,
        creds: &Credentials,
        deadline: Instant,
    ) -> Result<(Map<String, Value>, u32), FetchError> {
        retry::run(&self.cfg.retry, call.label, deadline, |left| {
            self.attempt(&call, Some(creds), left)
        })
        .await
    }

    /// Any other POP call (STS for the auth module) through the same client, retries and error
    /// parsing; `creds: None` sends it unsigned (`AssumeRoleWithOIDC`). Returns the JSON answer.
    pub(crate) async fn rpc(
        &self,
        label: &'static str,
        endpoint: &Endpoint,
        (action, version): (&'static str, &'static str),
        params: Vec<(String, String)>,
        creds: Option<&Credentials>,
        deadline: Instant,
    ) -> Result<Map<String, Value>, FetchError> {
        let call = Call {
            label,
            endpoint,
            action,
            version,
            params,
        };
        retry::run(&self.cfg.retry, label, deadline, |left| {
            self.attempt(&call, creds, left)
        })
        .await
        .map(|(map, _)| map)
    }

    /// The shared HTTP client (no redirects), for non-POP calls such as ECS instance metadata.
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    async fn attempt(
        &self,
        call: &Call<'_>,
        creds: Option<&Credentials>,
        left: Duration,
    ) -> Result<Map<String, Value>, FetchError> {
        // A fresh timestamp and nonce per attempt: the server rejects a reused nonce.
        let req = RpcRequest {
            method: "POST".into(),
            host: call.endpoint.host().to_owned(),
            action: call.action.into(),
            version: call.version.into(),
            params: call.params.clone(),
            timestamp: now_timestamp(),
            nonce: uuid::Uuid::new_v4().to_string(),
        };
        let signing = creds.map(Credentials::signing);
        let signed = sign(self.cfg.signature_version, &req, signing.as_ref());
        let mut headers = HeaderMap::new();
        for (name, value) in &signed.headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                FetchError::InvalidRequest(format!("header name {name:?} is not valid"))
            })?;
            let mut value = HeaderValue::from_str(value).map_err(|_| {
                FetchError::InvalidRequest(format!(
                    "the value of header {name} contains characters not allowed in HTTP headers (check the credential for stray characters)"
                ))
            })?;
            if name == "authorization" || name == "x-acs-security-token" {
                value.set_sensitive(true);
            }
            headers.insert(name, value);
        }
        headers.insert("accept", HeaderValue::from_static("application/json"));
        let query = signed.query_string();
        let url = if query.is_empty() {
            call.endpoint.base_url()
        } else {
            format!("{}?{query}", call.endpoint.base_url())
        };
        let host = call.endpoint.host();
        let mut resp = self
            .http
            .post(url)
            .headers(headers)
            .body(Vec::new())
            .timeout(self.cfg.request_timeout.min(left))
            .send()
            .await
            .map_err(|e| FetchError::network(call.label, host, e))?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get("x-acs-retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_millis);
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| FetchError::network(call.label, host, e))?
        {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(FetchError::TooLarge {
                    action: call.label,
                    limit: MAX_BODY,
                });
            }
            body.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            return Err(FetchError::Api {
                action: call.label,
                error: parse_api_error(status.as_u16(), retry_after, &body),
                attempts: 1,
            });
        }
        // Parse into a Value first: typed serde errors would quote (secret) values.
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(FetchError::InvalidResponse {
                action: call.label,
                reason: format!("HTTP {} but the body is not a JSON object", status.as_u16()),
            }),
        }
    }
}

impl SecretBackend for AlibabaBackend {
    async fn fetch(
        &self,
        req: &FetchRequest,
        creds: &Credentials,
        deadline: Instant,
    ) -> Result<Fetched, FetchError> {
        let endpoint = self.endpoint_for(req)?;
        match req.kind {
            ObjectKind::Kms => kms::get_secret_value(self, &endpoint, req, creds, deadline).await,
            ObjectKind::Oos => {
                oos::get_secret_parameter(self, &endpoint, req, creds, deadline).await
            }
            ObjectKind::OosParameter => {
                oos::get_parameter(self, &endpoint, req, creds, deadline).await
            }
        }
    }
}

/// UTC `YYYY-MM-DDThh:mm:ssZ`, the format both signatures use.
fn now_timestamp() -> String {
    OffsetDateTime::now_utc()
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
        ))
        .expect("formatting a UTC time with a fixed format cannot fail")
}

/// A required string field of a response object; the error names the field, never a value.
pub(super) fn required_str<'a>(
    label: &'static str,
    map: &'a Map<String, Value>,
    path: &str,
    field: &str,
) -> Result<&'a str, FetchError> {
    match map.get(field) {
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(FetchError::InvalidResponse {
            action: label,
            reason: format!("{path}{field} is a JSON {}, expected a string", kind(other)),
        }),
        None => Err(FetchError::InvalidResponse {
            action: label,
            reason: format!("{path}{field} is missing"),
        }),
    }
}

/// The JSON kind, for messages that must not show the value.
pub(super) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}
