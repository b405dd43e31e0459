//! Signature V3: `ACS3-HMAC-SHA256`.
//!
//! The signer chooses which headers to sign and lists them in `Authorization`; a verifier must use
//! exactly that list ([`parse_authorization`]) rather than guessing.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::{AuthorizationError, hex_sha256, percent_encode};

/// The algorithm name, the first token of the `Authorization` header and of the string-to-sign.
pub const ALGORITHM: &str = "ACS3-HMAC-SHA256";

/// CanonicalQueryString: sorted by key bytes, `k=pct(v)` joined with `&`; an empty value gives `k=`.
///
/// Keys are encoded with the same `pct` as values (a no-op for the ASCII names real APIs use).
pub fn canonical_query(params: &[(&str, &str)]) -> String {
    crate::sorted_join(params, percent_encode, percent_encode)
}

/// Lowercases and sorts the headers, trims values and joins duplicates with `,`.
///
/// Returns `(canonical_headers, signed_headers)`; the first ends with `\n`.
fn canonical_headers(headers: &[(&str, &str)]) -> (String, String) {
    let mut sorted: Vec<(String, &str)> = headers
        .iter()
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim()))
        .collect();
    // Stable sort keeps duplicate headers in the order they were given.
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut canon = String::new();
    let mut names: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let name = &sorted[i].0;
        let mut values = vec![sorted[i].1];
        let mut j = i + 1;
        while j < sorted.len() && sorted[j].0 == *name {
            values.push(sorted[j].1);
            j += 1;
        }
        canon.push_str(name);
        canon.push(':');
        canon.push_str(&values.join(","));
        canon.push('\n');
        names.push(name);
        i = j;
    }
    (canon, names.join(";"))
}

/// `METHOD\nPATH\nQUERY\nCANONICAL_HEADERS\nSIGNED_HEADERS\nHASHED_PAYLOAD`.
///
/// `path` is used as given (already URL-encoded; `/` for RPC APIs). `headers` are `(name, value)` of
/// exactly the signed headers, in any order; names are lowercased and values trimmed.
/// `hashed_payload` is the lowercase hex SHA-256 of the body ([`crate::EMPTY_BODY_SHA256`] when empty).
pub fn canonical_request(
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    headers: &[(&str, &str)],
    hashed_payload: &str,
) -> String {
    let (canon_headers, signed) = canonical_headers(headers);
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        method.to_ascii_uppercase(),
        path,
        canonical_query(query),
        canon_headers,
        signed,
        hashed_payload
    )
}

/// `ACS3-HMAC-SHA256\n` + hex(sha256(canonical_request)).
pub fn string_to_sign(canonical_request: &str) -> String {
    format!("{ALGORITHM}\n{}", hex_sha256(canonical_request.as_bytes()))
}

/// Lowercase hex HMAC-SHA256 keyed with the bare secret (no `&`, unlike V1).
pub fn signature(access_key_secret: &str, string_to_sign: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(access_key_secret.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(string_to_sign.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The parts of an `Authorization: ACS3-HMAC-SHA256 ...` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// The AccessKeyId that signed the request.
    pub credential: String,
    /// Lowercase header names, in the order listed.
    pub signed_headers: Vec<String>,
    /// Lowercase hex signature (not a secret: it is sent in clear).
    pub signature: String,
}

/// `ACS3-HMAC-SHA256 Credential=<id>,SignedHeaders=<a;b>,Signature=<hex>` (no spaces after commas).
pub fn format_authorization(
    access_key_id: &str,
    signed_headers: &[&str],
    signature: &str,
) -> String {
    format!(
        "{ALGORITHM} Credential={access_key_id},SignedHeaders={},Signature={signature}",
        signed_headers.join(";")
    )
}

/// Parses an `Authorization` header value. Whitespace around parts is tolerated; every part must be
/// present exactly once and non-empty; unknown parts are rejected.
pub fn parse_authorization(value: &str) -> Result<Authorization, AuthorizationError> {
    let rest = value
        .trim()
        .strip_prefix(ALGORITHM)
        .filter(|r| r.starts_with(char::is_whitespace))
        .ok_or(AuthorizationError::UnsupportedAlgorithm)?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for (i, part) in rest.split(',').enumerate() {
        let (name, val) = part
            .trim()
            .split_once('=')
            .ok_or(AuthorizationError::MalformedPart { index: i + 1 })?;
        let (slot, label) = match name.trim() {
            "Credential" => (&mut credential, "Credential"),
            "SignedHeaders" => (&mut signed, "SignedHeaders"),
            "Signature" => (&mut signature, "Signature"),
            other => {
                return Err(AuthorizationError::UnknownPart {
                    name: other.to_owned(),
                });
            }
        };
        if slot.replace(val.trim()).is_some() {
            return Err(AuthorizationError::DuplicatePart(label));
        }
    }
    let credential = need(credential, "Credential")?.to_owned();
    let signed = need(signed, "SignedHeaders")?;
    let signature = need(signature, "Signature")?.to_owned();
    Ok(Authorization {
        credential,
        signed_headers: signed
            .split(';')
            .map(|h| h.trim().to_ascii_lowercase())
            .collect(),
        signature,
    })
}

/// A present, non-empty part, or `MissingPart`.
fn need<'a>(v: Option<&'a str>, label: &'static str) -> Result<&'a str, AuthorizationError> {
    v.filter(|s| !s.is_empty())
        .ok_or(AuthorizationError::MissingPart(label))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EMPTY_BODY_SHA256;

    #[test]
    fn vector_v3_a() {
        let cr = canonical_request(
            "POST",
            "/",
            &[
                (
                    "ImageId",
                    "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd",
                ),
                ("RegionId", "cn-shanghai"),
            ],
            &[
                ("host", "ecs.cn-shanghai.aliyuncs.com"),
                ("x-acs-action", "RunInstances"),
                ("x-acs-version", "2014-05-26"),
                ("x-acs-date", "2023-10-26T09:01:01Z"),
                ("x-acs-signature-nonce", "d410180a5abf7fe235dd9b74aca91fc0"),
                ("x-acs-content-sha256", EMPTY_BODY_SHA256),
            ],
            EMPTY_BODY_SHA256,
        );
        assert_eq!(
            signature("YourAccessKeySecret", &string_to_sign(&cr)),
            "e521358f7776c97df52e6b2891a8bc73026794a071b50c3323388c4e0df64804"
        );
    }

    fn kms_headers() -> Vec<(&'static str, &'static str)> {
        vec![
            ("x-acs-version", "2016-01-20"),
            ("host", "kms.cn-hangzhou.aliyuncs.com"),
            ("x-acs-action", "GetSecretValue"),
            ("x-acs-content-sha256", EMPTY_BODY_SHA256),
            ("x-acs-date", "2024-05-06T07:08:09Z"),
            ("x-acs-signature-nonce", "b2d1f3a4c5e60718293a4b5c6d7e8f90"),
        ]
    }

    #[test]
    fn vector_v3_b() {
        let cr = canonical_request(
            "POST",
            "/",
            &[
                ("SecretName", "app/db pass*~+é"),
                ("VersionStage", "ACSCurrent"),
                ("FetchExtendedConfig", "true"),
            ],
            &kms_headers(),
            EMPTY_BODY_SHA256,
        );
        let expected = "POST\n/\nFetchExtendedConfig=true&SecretName=app%2Fdb%20pass%2A~%2B%C3%A9&VersionStage=ACSCurrent\n\
host:kms.cn-hangzhou.aliyuncs.com\n\
x-acs-action:GetSecretValue\n\
x-acs-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n\
x-acs-date:2024-05-06T07:08:09Z\n\
x-acs-signature-nonce:b2d1f3a4c5e60718293a4b5c6d7e8f90\n\
x-acs-version:2016-01-20\n\
\n\
host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version\n\
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(cr, expected);
        let sts = string_to_sign(&cr);
        assert_eq!(
            sts,
            "ACS3-HMAC-SHA256\n2abe755d087528a0044852d9f2d118bc5bf5674b3698bf4d61e6c6072bb10558"
        );
        assert_eq!(
            signature("TestSecret123", &sts),
            "408bf162a67c7a69f8ee4ba809e84c9c2aaf5c017e1c63a417cf699b239c9d46"
        );
    }

    #[test]
    fn vector_v3_c() {
        let mut headers = kms_headers();
        headers.push(("x-acs-accesskey-id", "STS.NTestKey"));
        headers.push(("x-acs-security-token", "CAIS/token+with=chars"));
        let cr = canonical_request(
            "POST",
            "/",
            &[("SecretName", "mysecret")],
            &headers,
            EMPTY_BODY_SHA256,
        );
        let signed = cr.lines().nth_back(1).unwrap();
        assert_eq!(
            signed,
            "host;x-acs-accesskey-id;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-security-token;x-acs-signature-nonce;x-acs-version"
        );
        assert_eq!(
            signature("StsSecret", &string_to_sign(&cr)),
            "8abc49356327bb8f5b4dc3bd1b0fef736d6e1bd8ac27a6a985f898a07c5c7c5c"
        );
    }

    #[test]
    fn vector_v3_d_form_body() {
        let body = b"Name=my-param&WithDecryption=true";
        let hashed = hex_sha256(body);
        assert_eq!(
            hashed,
            "6838248a26cea0bcc35b506c83d4deda3a4f64cc264dc46867bf434e19973f44"
        );
        let cr = canonical_request(
            "POST",
            "/",
            &[("RegionId", "cn-hangzhou")],
            &[
                ("host", "oos.cn-hangzhou.aliyuncs.com"),
                ("x-acs-action", "GetSecretParameter"),
                ("x-acs-version", "2019-06-01"),
                ("x-acs-date", "2024-05-06T07:08:09Z"),
                ("x-acs-signature-nonce", "b2d1f3a4c5e60718293a4b5c6d7e8f90"),
                ("x-acs-content-sha256", &hashed),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            &hashed,
        );
        assert_eq!(
            signature("TestSecret123", &string_to_sign(&cr)),
            "7d4974cf7f338c0bea8a9f7e63776d7dba18ed92c230ad838b8fd743e2a64dc7"
        );
    }

    #[test]
    fn header_names_are_lowercased_values_trimmed_duplicates_joined() {
        let cr = canonical_request(
            "get",
            "/",
            &[("Empty", "")],
            &[("X-Acs-B", " two "), ("x-acs-a", "1"), ("x-acs-b", "three")],
            "h",
        );
        assert_eq!(
            cr,
            "GET\n/\nEmpty=\nx-acs-a:1\nx-acs-b:two,three\n\nx-acs-a;x-acs-b\nh"
        );
    }

    #[test]
    fn parse_a_tea_sdk_header() {
        let a = parse_authorization(
            "ACS3-HMAC-SHA256 Credential=LTAI5tTestKeyId,SignedHeaders=accept;content-type;host,Signature=eac95e03",
        )
        .unwrap();
        assert_eq!(a.credential, "LTAI5tTestKeyId");
        assert_eq!(a.signed_headers, ["accept", "content-type", "host"]);
        assert_eq!(a.signature, "eac95e03");
    }

    #[test]
    fn parse_rejects_bad_headers_with_the_reason() {
        use AuthorizationError::*;
        let p = parse_authorization;
        assert_eq!(p("ACS3-HMAC-SHA1 Credential=a"), Err(UnsupportedAlgorithm));
        assert_eq!(p("Bearer x"), Err(UnsupportedAlgorithm));
        assert_eq!(
            p("ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host"),
            Err(MissingPart("Signature"))
        );
        assert_eq!(
            p("ACS3-HMAC-SHA256 Credential=,SignedHeaders=host,Signature=s"),
            Err(MissingPart("Credential"))
        );
        assert_eq!(
            p("ACS3-HMAC-SHA256 Credential=a,Credential=b,SignedHeaders=h,Signature=s"),
            Err(DuplicatePart("Credential"))
        );
        assert_eq!(
            p("ACS3-HMAC-SHA256 Credential=a,junk"),
            Err(MalformedPart { index: 2 })
        );
        assert!(matches!(
            p("ACS3-HMAC-SHA256 Foo=1"),
            Err(UnknownPart { .. })
        ));
        // Spaces after commas (some clients) are accepted.
        assert!(p("ACS3-HMAC-SHA256 Credential=a, SignedHeaders=host, Signature=s").is_ok());
    }
}
