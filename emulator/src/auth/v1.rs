//! Signature V1 (HMAC-SHA1 over all params of query ∪ form body, `Signature` excluded).

use time::OffsetDateTime;

use super::{
    Caller, ReplayGuard, check_expiry, check_security_token, constant_time_eq, lookup_key,
};
use crate::error::ApiError;
use crate::request::PopRequest;
use crate::store::Store;

pub(super) fn verify(
    req: &PopRequest,
    store: &Store,
    replay: &ReplayGuard,
    now: OffsetDateTime,
) -> Result<Caller, ApiError> {
    let key_id = req
        .non_empty_param("AccessKeyId")
        .ok_or_else(|| ApiError::missing_parameter("AccessKeyId"))?;
    let Some(presented) = req.non_empty_param("Signature") else {
        return Err(ApiError::incomplete_signature(
            "Signature is missing: send the Signature parameter (V1) or an Authorization header (V3).",
        ));
    };
    match req.param("SignatureMethod") {
        Some(acs_sign::v1::SIGNATURE_METHOD) => {}
        _ => {
            return Err(ApiError::invalid_parameter(
                "SignatureMethod",
                "only HMAC-SHA1 is supported for signature V1",
            ));
        }
    }
    if let Some(v) = req.param("SignatureVersion")
        && v != acs_sign::v1::SIGNATURE_VERSION
    {
        return Err(ApiError::invalid_parameter(
            "SignatureVersion",
            "expected 1.0",
        ));
    }
    let timestamp = req
        .non_empty_param("Timestamp")
        .ok_or_else(|| ApiError::missing_parameter("Timestamp"))?;
    let nonce = req
        .non_empty_param("SignatureNonce")
        .ok_or_else(|| ApiError::missing_parameter("SignatureNonce"))?;

    let entry = lookup_key(store, key_id)?;
    let key = &entry.key;
    replay.check_timestamp("Timestamp", timestamp, now)?;

    // Every param but Signature, empty values included (the core SDK signs `SignatureType=`).
    let signed: Vec<(&str, &str)> = req
        .all_params()
        .filter(|(k, _)| *k != "Signature")
        .collect();
    let string_to_sign = acs_sign::v1::string_to_sign(req.method.as_str(), &signed);
    let expected = acs_sign::v1::signature(&key.secret, &string_to_sign);
    if !constant_time_eq(expected.as_bytes(), presented.as_bytes()) {
        return Err(ApiError::signature_mismatch(&string_to_sign));
    }
    check_security_token(key, req.param("SecurityToken"))?;
    check_expiry(&entry, now)?;
    replay.use_nonce(key_id, nonce, now)?;
    Ok(Caller::from_key(key))
}
