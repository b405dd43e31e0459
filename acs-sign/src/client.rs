//! The client side: turns an API call plus credentials into the query and headers to send.

use std::fmt;

use crate::{EMPTY_BODY_SHA256, percent_encode, v1, v3};

/// Which POP signature to produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignatureVersion {
    /// HMAC-SHA1 over all query parameters (core SDK, Tea `signature_algorithm='v2'`).
    V1,
    /// `ACS3-HMAC-SHA256` (Tea SDK default).
    #[default]
    V3,
}

/// A borrowed view of an AccessKey or STS credential. Its `Debug` shows only the AccessKeyId.
#[derive(Clone, Copy)]
pub struct Credential<'a> {
    /// AccessKeyId (`STS.` prefix for STS credentials); not secret.
    pub access_key_id: &'a str,
    /// AccessKeySecret: the HMAC key.
    pub access_key_secret: &'a str,
    /// STS security token, sent as `SecurityToken` (V1) or `x-acs-security-token` (V3).
    pub security_token: Option<&'a str>,
}

impl fmt::Debug for Credential<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &"<redacted>")
            .field("security_token", &self.security_token.map(|_| "<redacted>"))
            .finish()
    }
}

/// One RPC-style API call with an empty body; API parameters travel in the query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcRequest {
    /// HTTP method, normally `POST`.
    pub method: String,
    /// `Host` header value, including `:port` when the port is not the scheme's default.
    pub host: String,
    /// API action, e.g. `GetSecretValue`.
    pub action: String,
    /// API version, e.g. `2016-01-20`.
    pub version: String,
    /// API parameters (not the common ones), e.g. `SecretName`.
    pub params: Vec<(String, String)>,
    /// UTC `YYYY-MM-DDThh:mm:ssZ`.
    pub timestamp: String,
    /// Unique per request (a UUID is fine).
    pub nonce: String,
}

/// What to send: query pairs (unencoded) and headers (lowercase names). Path `/`, empty body.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedRequest {
    /// Query parameters in signing order; encode them with [`SignedRequest::query_string`].
    pub query: Vec<(String, String)>,
    /// Headers to set, including `host` and, when signed, `authorization`.
    pub headers: Vec<(String, String)>,
}

impl SignedRequest {
    /// The encoded query string `pct(k)=pct(v)&...` (no leading `?`), in the order of `query`.
    pub fn query_string(&self) -> String {
        self.query
            .iter()
            .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// The value of header `name` (lowercase), if set.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Redacts the security token; the signature and AccessKeyId are sent in clear anyway.
impl fmt::Debug for SignedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const HIDDEN: [&str; 2] = ["SecurityToken", "x-acs-security-token"];
        let redact = |pairs: &[(String, String)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| {
                    let shown = if HIDDEN.iter().any(|h| h.eq_ignore_ascii_case(k)) {
                        "<redacted>".to_owned()
                    } else {
                        v.clone()
                    };
                    (k.clone(), shown)
                })
                .collect()
        };
        f.debug_struct("SignedRequest")
            .field("query", &redact(&self.query))
            .field("headers", &redact(&self.headers))
            .finish()
    }
}

fn pairs(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

fn owned(k: &str, v: &str) -> (String, String) {
    (k.to_owned(), v.to_owned())
}

/// Signs `req`.
///
/// * `Some(cred)`, V1: every parameter, including `Action`, `Version`, `Format=JSON`, `Timestamp`,
///   `SignatureMethod`, `SignatureVersion`, `SignatureNonce`, `AccessKeyId`, `SecurityToken` and
///   `Signature`, goes in the query; headers `host`, `x-acs-action`, `x-acs-version`.
/// * `Some(cred)`, V3: API params in the query; headers `host`, `x-acs-action`, `x-acs-version`,
///   `x-acs-date`, `x-acs-signature-nonce`, `x-acs-content-sha256` (plus `x-acs-accesskey-id` and
///   `x-acs-security-token` with STS), all signed, and `authorization`.
/// * `None` (anonymous, e.g. STS `AssumeRoleWithOIDC`), either version: the query carries `Action`,
///   `Format`, `Version`, `Timestamp`, `SignatureNonce` and the params; no AccessKeyId, no signature;
///   headers `host`, `x-acs-action`, `x-acs-version`.
pub fn sign(
    version: SignatureVersion,
    req: &RpcRequest,
    cred: Option<&Credential<'_>>,
) -> SignedRequest {
    let mut headers = vec![
        owned("host", &req.host),
        owned("x-acs-action", &req.action),
        owned("x-acs-version", &req.version),
    ];
    match (version, cred) {
        (_, None) => {
            let mut query = vec![
                owned("Action", &req.action),
                owned("Format", "JSON"),
                owned("Version", &req.version),
                owned("Timestamp", &req.timestamp),
                owned("SignatureNonce", &req.nonce),
            ];
            query.extend(req.params.iter().cloned());
            SignedRequest { query, headers }
        }
        (SignatureVersion::V1, Some(c)) => {
            let mut query = vec![
                owned("Action", &req.action),
                owned("Version", &req.version),
                owned("Format", "JSON"),
                owned("Timestamp", &req.timestamp),
                owned("SignatureMethod", v1::SIGNATURE_METHOD),
                owned("SignatureVersion", v1::SIGNATURE_VERSION),
                owned("SignatureNonce", &req.nonce),
                owned("AccessKeyId", c.access_key_id),
            ];
            if let Some(token) = c.security_token {
                query.push(owned("SecurityToken", token));
            }
            query.extend(req.params.iter().cloned());
            let sts = v1::string_to_sign(&req.method, &pairs(&query));
            query.push(owned(
                "Signature",
                &v1::signature(c.access_key_secret, &sts),
            ));
            SignedRequest { query, headers }
        }
        (SignatureVersion::V3, Some(c)) => {
            headers.push(owned("x-acs-date", &req.timestamp));
            headers.push(owned("x-acs-signature-nonce", &req.nonce));
            headers.push(owned("x-acs-content-sha256", EMPTY_BODY_SHA256));
            if let Some(token) = c.security_token {
                headers.push(owned("x-acs-accesskey-id", c.access_key_id));
                headers.push(owned("x-acs-security-token", token));
            }
            let query = req.params.clone();
            let cr = v3::canonical_request(
                &req.method,
                "/",
                &pairs(&query),
                &pairs(&headers),
                EMPTY_BODY_SHA256,
            );
            let sig = v3::signature(c.access_key_secret, &v3::string_to_sign(&cr));
            let mut names: Vec<&str> = headers.iter().map(|(n, _)| n.as_str()).collect();
            names.sort_unstable();
            let auth = v3::format_authorization(c.access_key_id, &names, &sig);
            headers.push(owned("authorization", &auth));
            SignedRequest { query, headers }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kms_request(params: &[(&str, &str)], nonce: &str) -> RpcRequest {
        RpcRequest {
            method: "POST".into(),
            host: "kms.cn-hangzhou.aliyuncs.com".into(),
            action: "GetSecretValue".into(),
            version: "2016-01-20".into(),
            params: params.iter().map(|(k, v)| owned(k, v)).collect(),
            timestamp: "2024-05-06T07:08:09Z".into(),
            nonce: nonce.into(),
        }
    }

    const AK: Credential<'static> = Credential {
        access_key_id: "LTAI5tTestKeyId",
        access_key_secret: "TestSecret123",
        security_token: None,
    };
    const STS: Credential<'static> = Credential {
        access_key_id: "STS.NTestKey",
        access_key_secret: "StsSecret",
        security_token: Some("CAIS/token+with=chars"),
    };

    fn query_value<'a>(s: &'a SignedRequest, key: &str) -> Option<&'a str> {
        s.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn v1_reproduces_vector_v1_b() {
        let req = kms_request(
            &[
                ("RegionId", "cn-hangzhou"),
                ("SecretName", "app/db pass*~+é"),
                ("VersionStage", "ACSCurrent"),
                ("FetchExtendedConfig", "true"),
            ],
            "b2d1f3a4c5e60718293a4b5c6d7e8f90",
        );
        let s = sign(SignatureVersion::V1, &req, Some(&AK));
        assert_eq!(
            query_value(&s, "Signature"),
            Some("bAmGslA0jZtOS30Oa1YOFNEZ6a4=")
        );
        assert_eq!(query_value(&s, "AccessKeyId"), Some("LTAI5tTestKeyId"));
        assert!(
            s.query_string()
                .contains("SecretName=app%2Fdb%20pass%2A~%2B%C3%A9")
        );
        assert!(
            s.query_string()
                .ends_with("Signature=bAmGslA0jZtOS30Oa1YOFNEZ6a4%3D")
        );
        assert_eq!(s.header("authorization"), None);
    }

    #[test]
    fn v1_with_sts_reproduces_vector_v1_c() {
        let req = kms_request(
            &[("SecretName", "mysecret"), ("RegionId", "cn-hangzhou")],
            "0123456789abcdef0123456789abcdef",
        );
        let s = sign(SignatureVersion::V1, &req, Some(&STS));
        assert_eq!(
            query_value(&s, "Signature"),
            Some("hfUhlyWfzsp9tt8j0Du9A4bwRws=")
        );
        assert_eq!(
            query_value(&s, "SecurityToken"),
            Some("CAIS/token+with=chars")
        );
    }

    #[test]
    fn v3_reproduces_vector_v3_b() {
        let req = kms_request(
            &[
                ("SecretName", "app/db pass*~+é"),
                ("VersionStage", "ACSCurrent"),
                ("FetchExtendedConfig", "true"),
            ],
            "b2d1f3a4c5e60718293a4b5c6d7e8f90",
        );
        let s = sign(SignatureVersion::V3, &req, Some(&AK));
        assert_eq!(
            s.header("authorization"),
            Some(
                "ACS3-HMAC-SHA256 Credential=LTAI5tTestKeyId,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=408bf162a67c7a69f8ee4ba809e84c9c2aaf5c017e1c63a417cf699b239c9d46"
            )
        );
        assert_eq!(
            query_value(&s, "Action"),
            None,
            "V3 keeps Action in headers only"
        );
        assert_eq!(s.header("x-acs-security-token"), None);
    }

    #[test]
    fn v3_with_sts_reproduces_vector_v3_c() {
        let req = kms_request(
            &[("SecretName", "mysecret")],
            "b2d1f3a4c5e60718293a4b5c6d7e8f90",
        );
        let s = sign(SignatureVersion::V3, &req, Some(&STS));
        let auth = v3::parse_authorization(s.header("authorization").unwrap()).unwrap();
        assert_eq!(auth.credential, "STS.NTestKey");
        assert_eq!(
            auth.signature,
            "8abc49356327bb8f5b4dc3bd1b0fef736d6e1bd8ac27a6a985f898a07c5c7c5c"
        );
        assert_eq!(s.header("x-acs-accesskey-id"), Some("STS.NTestKey"));
        assert_eq!(
            s.header("x-acs-security-token"),
            Some("CAIS/token+with=chars")
        );
    }

    #[test]
    fn anonymous_has_no_key_and_no_signature() {
        let mut req = kms_request(&[("RoleArn", "acs:ram::1:role/r")], "n1");
        req.action = "AssumeRoleWithOIDC".into();
        for v in [SignatureVersion::V1, SignatureVersion::V3] {
            let s = sign(v, &req, None);
            assert_eq!(query_value(&s, "Action"), Some("AssumeRoleWithOIDC"));
            assert_eq!(query_value(&s, "SignatureNonce"), Some("n1"));
            assert_eq!(query_value(&s, "RoleArn"), Some("acs:ram::1:role/r"));
            for absent in ["AccessKeyId", "Signature", "SignatureMethod"] {
                assert_eq!(query_value(&s, absent), None);
            }
            assert_eq!(s.header("authorization"), None);
            assert_eq!(s.headers.len(), 3);
        }
    }

    #[test]
    fn debug_never_shows_secrets() {
        let shown = format!("{STS:?}");
        assert!(shown.contains("STS.NTestKey"));
        assert!(!shown.contains("StsSecret") && !shown.contains("CAIS"));
        let req = kms_request(&[("SecretName", "mysecret")], "n");
        for v in [SignatureVersion::V1, SignatureVersion::V3] {
            let shown = format!("{:?}", sign(v, &req, Some(&STS)));
            assert!(
                !shown.contains("StsSecret") && !shown.contains("CAIS"),
                "{shown}"
            );
        }
    }
}
