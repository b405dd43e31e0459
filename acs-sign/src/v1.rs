//! Signature V1: HMAC-SHA1 over the canonicalised parameters ("RPC" style).
//!
//! All parameters except `Signature` are signed, whether they travel in the query or a form body,
//! and empty values (the core SDK's `SignatureType=`) are kept.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use crate::percent_encode;

/// `SignatureMethod` value for V1.
pub const SIGNATURE_METHOD: &str = "HMAC-SHA1";
/// `SignatureVersion` value for V1.
pub const SIGNATURE_VERSION: &str = "1.0";

/// The CanonicalizedQueryString: params sorted by key bytes, `pct(k)=pct(v)` joined with `&`.
///
/// Pass every parameter except `Signature`.
pub fn canonicalized_query(params: &[(&str, &str)]) -> String {
    crate::sorted_join(params, percent_encode, percent_encode)
}

/// `METHOD&%2F&pct(canonicalized_query)`: the canonical query is encoded a second time.
pub fn string_to_sign(method: &str, params: &[(&str, &str)]) -> String {
    format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        percent_encode("/"),
        percent_encode(&canonicalized_query(params))
    )
}

/// base64(HMAC-SHA1(key = `access_key_secret + "&"`, string_to_sign)).
pub fn signature(access_key_secret: &str, string_to_sign: &str) -> String {
    let mut key = Vec::with_capacity(access_key_secret.len() + 1);
    key.extend_from_slice(access_key_secret.as_bytes());
    key.push(b'&');
    let mut mac = Hmac::<Sha1>::new_from_slice(&key).expect("HMAC accepts keys of any length");
    mac.update(string_to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1A: &[(&str, &str)] = &[
        ("AccessKeyId", "testid"),
        ("Action", "DescribeRegions"),
        ("Format", "XML"),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"),
        ("SignatureVersion", "1.0"),
        ("Timestamp", "2016-02-23T12:46:24Z"),
        ("Version", "2014-05-26"),
    ];

    fn with_signature_type<'a>(p: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut v = p.to_vec();
        v.push(("SignatureType", ""));
        v
    }

    #[test]
    fn vector_v1_a() {
        let sts = string_to_sign("GET", V1A);
        assert_eq!(
            sts,
            "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26"
        );
        assert_eq!(
            signature("testsecret", &sts),
            "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
        );
        let sts = string_to_sign("GET", &with_signature_type(V1A));
        assert_eq!(
            signature("testsecret", &sts),
            "l2RHWHoXOKbFEAkq17TTwV31vac="
        );
    }

    fn v1b() -> Vec<(&'static str, &'static str)> {
        vec![
            ("Action", "GetSecretValue"),
            ("Version", "2016-01-20"),
            ("Format", "JSON"),
            ("AccessKeyId", "LTAI5tTestKeyId"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureVersion", "1.0"),
            ("SignatureNonce", "b2d1f3a4c5e60718293a4b5c6d7e8f90"),
            ("Timestamp", "2024-05-06T07:08:09Z"),
            ("RegionId", "cn-hangzhou"),
            ("SecretName", "app/db pass*~+é"),
            ("VersionStage", "ACSCurrent"),
            ("FetchExtendedConfig", "true"),
        ]
    }

    #[test]
    fn vector_v1_b() {
        let sts = string_to_sign("POST", &v1b());
        assert_eq!(
            sts,
            "POST&%2F&AccessKeyId%3DLTAI5tTestKeyId%26Action%3DGetSecretValue%26FetchExtendedConfig%3Dtrue%26Format%3DJSON%26RegionId%3Dcn-hangzhou%26SecretName%3Dapp%252Fdb%2520pass%252A~%252B%25C3%25A9%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3Db2d1f3a4c5e60718293a4b5c6d7e8f90%26SignatureVersion%3D1.0%26Timestamp%3D2024-05-06T07%253A08%253A09Z%26Version%3D2016-01-20%26VersionStage%3DACSCurrent"
        );
        assert_eq!(
            signature("TestSecret123", &sts),
            "bAmGslA0jZtOS30Oa1YOFNEZ6a4="
        );
        let with_type = string_to_sign("POST", &with_signature_type(&v1b()));
        let sig = signature("TestSecret123", &with_type);
        assert_eq!(sig, "J3Uj9y5fv6Mnc4n+h8RfxyLtMgY=");
        // The URL form the core SDK sends.
        assert_eq!(percent_encode(&sig), "J3Uj9y5fv6Mnc4n%2Bh8RfxyLtMgY%3D");
    }

    fn v1c() -> Vec<(&'static str, &'static str)> {
        vec![
            ("Action", "GetSecretValue"),
            ("Version", "2016-01-20"),
            ("Format", "JSON"),
            ("AccessKeyId", "STS.NTestKey"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureVersion", "1.0"),
            ("SignatureNonce", "0123456789abcdef0123456789abcdef"),
            ("Timestamp", "2024-05-06T07:08:09Z"),
            ("SecretName", "mysecret"),
            ("RegionId", "cn-hangzhou"),
            ("SecurityToken", "CAIS/token+with=chars"),
        ]
    }

    #[test]
    fn vector_v1_c() {
        let sts = string_to_sign("POST", &v1c());
        assert_eq!(signature("StsSecret", &sts), "hfUhlyWfzsp9tt8j0Du9A4bwRws=");
        let sts = string_to_sign("POST", &with_signature_type(&v1c()));
        assert_eq!(signature("StsSecret", &sts), "JePTLJFeWxQ4mUcA7t1U1pezNbk=");
    }

    #[test]
    fn wrong_secret_gives_a_different_signature() {
        let sts = string_to_sign("GET", V1A);
        assert_ne!(
            signature("testsecreT", &sts),
            "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
        );
    }
}
