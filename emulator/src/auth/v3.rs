//! Signature V3 (`ACS3-HMAC-SHA256` in the `Authorization` header).

use time::OffsetDateTime;

use super::{
    Caller, ReplayGuard, check_expiry, check_security_token, constant_time_eq, lookup_key,
};
use crate::error::ApiError;
use crate::request::PopRequest;
use crate::store::Store;

pub(super) fn verify(
    req: &PopRequest,
    authorization: &str,
    store: &Store,
    replay: &ReplayGuard,
    now: OffsetDateTime,
) -> Result<Caller, ApiError> {
    let auth = acs_sign::v3::parse_authorization(authorization)
        .map_err(|e| ApiError::incomplete_signature(&e.to_string()))?;
    check_signed_header_list(req, &auth.signed_headers)?;
    if let Some(id) = req.header("x-acs-accesskey-id")
        && id != auth.credential
    {
        return Err(ApiError::incomplete_signature(
            "Header x-acs-accesskey-id differs from the Credential in Authorization.",
        ));
    }
    let date = req
        .header("x-acs-date")
        .ok_or_else(|| ApiError::missing_parameter("x-acs-date"))?;
    let nonce = req
        .header("x-acs-signature-nonce")
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::missing_parameter("x-acs-signature-nonce"))?;
    let content_sha = req
        .header("x-acs-content-sha256")
        .ok_or_else(|| ApiError::missing_parameter("x-acs-content-sha256"))?;

    let entry = lookup_key(store, &auth.credential)?;
    let key = &entry.key;
    replay.check_timestamp("x-acs-date", date, now)?;
    if !content_sha.eq_ignore_ascii_case(&acs_sign::hex_sha256(&req.body)) {
        return Err(ApiError::incomplete_signature(
            "Header x-acs-content-sha256 is not the hex SHA-256 of the request body.",
        ));
    }

    let query: Vec<(&str, &str)> = req
        .query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    // Every value of each signed header (duplicates are joined by the canonicaliser);
    // a signed header that is absent canonicalises to an empty value.
    let mut headers: Vec<(&str, &str)> = Vec::new();
    for name in &auth.signed_headers {
        let mut values = req.headers.get_all(name.as_str()).iter().peekable();
        if values.peek().is_none() {
            headers.push((name, ""));
        }
        for v in values {
            headers.push((name, v.to_str().unwrap_or("")));
        }
    }
    let canonical = acs_sign::v3::canonical_request(
        req.method.as_str(),
        &req.path,
        &query,
        &headers,
        &content_sha.to_ascii_lowercase(),
    );
    let string_to_sign = acs_sign::v3::string_to_sign(&canonical);
    let expected = acs_sign::v3::signature(&key.secret, &string_to_sign);
    if !constant_time_eq(
        expected.as_bytes(),
        auth.signature.to_ascii_lowercase().as_bytes(),
    ) {
        return Err(ApiError::signature_mismatch(&string_to_sign));
    }
    check_security_token(key, req.header("x-acs-security-token"))?;
    check_expiry(&entry, now)?;
    replay.use_nonce(&auth.credential, nonce, now)?;
    Ok(Caller::from_key(key))
}

/// SignedHeaders must be sorted, unique, and cover `host` and every `x-acs-*` header sent,
/// so nothing that selects the action, key or token can be altered unsigned.
fn check_signed_header_list(req: &PopRequest, signed: &[String]) -> Result<(), ApiError> {
    if signed.windows(2).any(|w| w[0] >= w[1]) {
        return Err(ApiError::incomplete_signature(
            "SignedHeaders must list lowercase header names sorted and without duplicates.",
        ));
    }
    let must: Vec<&str> = std::iter::once("host")
        .chain(
            req.headers
                .keys()
                .map(|n| n.as_str())
                .filter(|n| n.starts_with("x-acs-")),
        )
        .collect();
    let missing: Vec<&str> = must
        .into_iter()
        .filter(|m| !signed.iter().any(|s| s == m))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(ApiError::incomplete_signature(&format!(
            "SignedHeaders must include host and every x-acs-* header; missing: {}.",
            missing.join(", ")
        )))
    }
}
