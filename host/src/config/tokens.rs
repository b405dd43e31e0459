//! `csi.storage.k8s.io/serviceAccount.tokens`: the pod's service-account tokens minted by kubelet for the
//! CSIDriver's `tokenRequests`, a JSON object encoded as a string. Tokens are credentials: they live in
//! `SecretString`, and neither `Debug` nor error messages show them.

use super::error::ConfigError;
use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeMap;
use std::fmt;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The attribute (and secrets) key holding the tokens.
pub const TOKENS_KEY: &str = "csi.storage.k8s.io/serviceAccount.tokens";

/// One token for one audience.
#[derive(Clone)]
pub struct ServiceAccountToken {
    token: SecretString,
    /// When kubelet says the token expires (`expirationTimestamp`), if it said so.
    pub expiration: Option<OffsetDateTime>,
}

impl ServiceAccountToken {
    /// The JWT, for STS `AssumeRoleWithOIDC` only.
    pub fn token(&self) -> &str {
        self.token.expose_secret()
    }
}

impl fmt::Debug for ServiceAccountToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccountToken")
            .field("token", &"<redacted>")
            .field("expiration", &self.expiration)
            .finish()
    }
}

/// Tokens by audience (`""` is the API server's audience).
#[derive(Clone, Default)]
pub struct ServiceAccountTokens(BTreeMap<String, ServiceAccountToken>);

impl ServiceAccountTokens {
    /// The token for `audience`, e.g. `sts.aliyuncs.com`.
    pub fn get(&self, audience: &str) -> Option<&ServiceAccountToken> {
        self.0.get(audience)
    }

    /// The audiences present.
    pub fn audiences(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// Whether kubelet sent no token at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for ServiceAccountTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.0.iter()).finish()
    }
}

/// Parses the tokens value; `origin` says where it came from (for messages). The text itself is never quoted.
pub(crate) fn parse(text: &str, origin: &str) -> Result<ServiceAccountTokens, Vec<ConfigError>> {
    let subject = format!("{origin} key \"{TOKENS_KEY}\"");
    if text.trim().is_empty() {
        return Ok(ServiceAccountTokens::default());
    }
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        vec![ConfigError::new(
            &subject,
            format!(
                "is not valid JSON (line {} column {}); expected {{\"<audience>\":{{\"token\":\"…\",\"expirationTimestamp\":\"<RFC 3339>\"}}}}",
                e.line(),
                e.column()
            ),
        )]
    })?;
    let serde_json::Value::Object(map) = value else {
        return Err(vec![ConfigError::new(
            &subject,
            format!(
                "is a JSON {}; expected an object keyed by audience",
                super::attributes::json_kind(&value)
            ),
        )]);
    };
    let mut errors = Vec::new();
    let mut out = BTreeMap::new();
    for (audience, entry) in map {
        let at = format!("audience {}", super::error::quote(&audience));
        let serde_json::Value::Object(mut entry) = entry else {
            errors.push(ConfigError::new(
                &subject,
                format!("{at} is not an object; expected {{\"token\":\"…\",\"expirationTimestamp\":\"…\"}}"),
            ));
            continue;
        };
        let token = match entry.remove("token") {
            Some(serde_json::Value::String(t)) if !t.is_empty() => SecretString::from(t),
            Some(serde_json::Value::String(_)) | None | Some(serde_json::Value::Null) => {
                errors.push(ConfigError::new(&subject, format!("{at} has no \"token\"")));
                continue;
            }
            Some(_) => {
                errors.push(ConfigError::new(
                    &subject,
                    format!("{at}: \"token\" must be a string"),
                ));
                continue;
            }
        };
        let expiration = match entry.remove("expirationTimestamp") {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) if s.is_empty() => None,
            Some(serde_json::Value::String(s)) => match OffsetDateTime::parse(&s, &Rfc3339) {
                Ok(t) => Some(t),
                Err(_) => {
                    errors.push(ConfigError::new(
                        &subject,
                        format!(
                            "{at}: \"expirationTimestamp\" {} is not an RFC 3339 time such as \"2026-01-02T03:04:05Z\"",
                            super::error::quote(&s)
                        ),
                    ));
                    continue;
                }
            },
            Some(_) => {
                errors.push(ConfigError::new(
                    &subject,
                    format!("{at}: \"expirationTimestamp\" must be a string"),
                ));
                continue;
            }
        };
        out.insert(audience, ServiceAccountToken { token, expiration });
    }
    if errors.is_empty() {
        Ok(ServiceAccountTokens(out))
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_audiences_and_expiry() {
        let t = parse(
            r#"{"sts.aliyuncs.com":{"token":"eyJhbGciOi.secret","expirationTimestamp":"2026-11-25T02:00:00Z"},"":{"token":"api"}}"#,
            "attributes",
        )
        .unwrap();
        assert_eq!(t.audiences().collect::<Vec<_>>(), ["", "sts.aliyuncs.com"]);
        let sts = t.get("sts.aliyuncs.com").unwrap();
        assert_eq!(sts.token(), "eyJhbGciOi.secret");
        assert_eq!(
            sts.expiration,
            Some(time::macros::datetime!(2026-11-25 02:00 UTC))
        );
        assert!(t.get("").unwrap().expiration.is_none());
        let dbg = format!("{t:?}");
        assert!(
            !dbg.contains("eyJhbGciOi") && !dbg.contains("api\""),
            "{dbg}"
        );
    }

    #[test]
    fn malformed_tokens_are_reported_without_quoting_them() {
        let errs = parse(r#"{"a":"eyJraw-token","b":{"token":7},"c":{"token":"eyJ2","expirationTimestamp":"soon"}}"#, "attributes")
            .unwrap_err();
        assert_eq!(errs.len(), 3);
        let text: String = errs.iter().map(|e| e.to_string()).collect();
        assert!(!text.contains("eyJ"), "{text}");
        let err = parse("{\"a\": \"eyJtrunc", "attributes").unwrap_err();
        assert!(!err[0].to_string().contains("eyJ"));
    }
}
