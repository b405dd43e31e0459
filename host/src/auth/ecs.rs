//! ECS RAM role credentials from the instance metadata service (the node's own identity).
//!
//! Hardened mode first: `PUT /latest/api/token`, then every GET carries the token. If the PUT
//! fails the GETs go without it (normal mode), and a hardened-only server answers 401 with a clear
//! message. Every call has a short timeout: on a non-ECS host the address does not answer at all.

use std::time::Duration;

use serde_json::Value;
use url::Url;

use super::sts::credentials_from_json;
use super::{AuthError, Credentials};

const TOKEN_HEADER: &str = "x-aliyun-ecs-metadata-token";
const TOKEN_TTL_HEADER: &str = "x-aliyun-ecs-metadata-token-ttl-seconds";
const TOKEN_TTL: &str = "21600";

/// The default metadata address (link-local on every ECS instance).
pub const DEFAULT_ENDPOINT: &str = "http://100.100.100.200";

/// Reads the instance's RAM role credential.
#[derive(Debug, Clone)]
pub struct EcsMetadata {
    http: reqwest::Client,
    base: String,
    role_name: Option<String>,
    timeout: Duration,
}

impl EcsMetadata {
    /// `endpoint` is `http(s)://host[:port]`; `role_name` skips discovery when set.
    pub fn new(
        http: reqwest::Client,
        endpoint: &str,
        role_name: Option<String>,
        timeout: Duration,
    ) -> Result<Self, AuthError> {
        let bad = |why: &str| AuthError::Settings {
            problems: vec![format!(
                "ECS metadata endpoint {endpoint:?} {why}; expected http(s)://host[:port]"
            )],
        };
        let url = Url::parse(endpoint).map_err(|_| bad("is not a URL"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(bad("has no http(s) scheme or host"));
        }
        if !(url.path().is_empty() || url.path() == "/") || url.query().is_some() {
            return Err(bad("has a path or query"));
        }
        Ok(Self {
            http,
            base: endpoint.trim_end_matches('/').to_owned(),
            role_name,
            timeout,
        })
    }

    /// The endpoint, for messages.
    pub fn endpoint(&self) -> &str {
        &self.base
    }

    /// Token, role name (discovered unless configured), then the credential.
    pub async fn credentials(&self) -> Result<Credentials, AuthError> {
        let token = self.token().await;
        let role = match &self.role_name {
            Some(r) => r.clone(),
            None => {
                let listed = self
                    .get(
                        "/latest/meta-data/ram/security-credentials/",
                        token.as_deref(),
                    )
                    .await?;
                let first = listed.lines().map(str::trim).find(|l| !l.is_empty());
                first
                    .ok_or_else(|| {
                        self.error("no RAM role is attached to this instance; attach one or give the provider credentials another way".into())
                    })?
                    .to_owned()
            }
        };
        let body = self
            .get(
                &format!("/latest/meta-data/ram/security-credentials/{role}"),
                token.as_deref(),
            )
            .await?;
        let json: Value = serde_json::from_str(&body)
            .map_err(|_| self.error(format!("role {role}: the answer is not JSON")))?;
        let Value::Object(map) = json else {
            return Err(self.error(format!("role {role}: the answer is not a JSON object")));
        };
        if let Some(code) = map.get("Code").and_then(Value::as_str)
            && code != "Success"
        {
            return Err(self.error(format!("role {role}: Code is {code:?}, not Success")));
        }
        credentials_from_json(&map, "ECS RAM role")
            .map_err(|why| self.error(format!("role {role}: {why}")))
    }

    /// The instance's region id (used as the last region fallback).
    pub async fn region(&self) -> Result<String, AuthError> {
        let token = self.token().await;
        let r = self
            .get("/latest/meta-data/region-id", token.as_deref())
            .await?;
        Ok(r.trim().to_owned())
    }

    async fn token(&self) -> Option<String> {
        let sent = self
            .http
            .put(format!("{}/latest/api/token", self.base))
            .header(TOKEN_TTL_HEADER, TOKEN_TTL)
            .timeout(self.timeout)
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => r.text().await.ok().map(|t| t.trim().to_owned()),
            Ok(r) => {
                tracing::debug!(
                    status = r.status().as_u16(),
                    "ECS metadata token refused; continuing without"
                );
                None
            }
            Err(e) => {
                tracing::debug!(error = %e.without_url(), "ECS metadata token call failed; continuing without");
                None
            }
        }
    }

    async fn get(&self, path: &str, token: Option<&str>) -> Result<String, AuthError> {
        let mut req = self
            .http
            .get(format!("{}{path}", self.base))
            .timeout(self.timeout);
        if let Some(t) = token {
            req = req.header(TOKEN_HEADER, t);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| self.error(format!("GET {path}: {}", e.without_url())))?;
        let status = resp.status();
        let body = resp
            .text()
            .await
            .map_err(|e| self.error(format!("GET {path}: {}", e.without_url())))?;
        if !status.is_success() {
            let hint = if status.as_u16() == 401 {
                " (the metadata service requires a token and the token call failed)"
            } else {
                ""
            };
            return Err(self.error(format!("GET {path}: HTTP {}{hint}", status.as_u16())));
        }
        Ok(body)
    }

    fn error(&self, detail: String) -> AuthError {
        AuthError::Metadata {
            endpoint: self.base.clone(),
            detail,
        }
    }
}
