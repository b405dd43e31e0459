//! Property tests: encoding alphabet, order independence, Authorization round trip.

use acs_sign::{percent_encode, v1, v3};
use proptest::prelude::*;

fn is_allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-_.~%".contains(c)
}

proptest! {
    #[test]
    fn percent_encode_emits_only_the_allowed_alphabet(s in any::<String>()) {
        let e = percent_encode(&s);
        prop_assert!(e.chars().all(is_allowed), "{e}");
        // Every escape is %XX with uppercase hex, and decoding gives the input back.
        let decoded = percent_encoding::percent_decode_str(&e).decode_utf8().unwrap();
        prop_assert_eq!(decoded.as_ref(), s.as_str());
        let b = e.as_bytes();
        for (i, _) in e.match_indices('%') {
            let hex = &b[i + 1..i + 3];
            prop_assert!(hex.iter().all(|h| h.is_ascii_digit() || (b'A'..=b'F').contains(h)), "{}", e);
        }
    }

    #[test]
    fn canonicalisation_does_not_depend_on_input_order(
        params in proptest::collection::vec(("[A-Za-z]{1,8}", ".{0,8}"), 0..8),
        seed in any::<u64>(),
    ) {
        let a: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut b = a.clone();
        // A deterministic shuffle driven by the seed.
        let n = b.len();
        if n > 1 {
            for i in 0..n {
                b.swap(i, (seed as usize).wrapping_add(i * 7) % n);
            }
        }
        b.reverse();
        prop_assert_eq!(v1::canonicalized_query(&a), v1::canonicalized_query(&b));
        prop_assert_eq!(v3::canonical_query(&a), v3::canonical_query(&b));
        let ha: Vec<(&str, &str)> = a.iter().map(|(k, v)| (*k, *v)).collect();
        prop_assert_eq!(
            v3::canonical_request("POST", "/", &a, &ha, "x"),
            v3::canonical_request("POST", "/", &b, &ha, "x")
        );
    }

    #[test]
    fn authorization_round_trips(
        id in "[A-Za-z0-9.]{1,30}",
        headers in proptest::collection::vec("[a-z][a-z0-9-]{0,20}", 1..8),
        sig in "[0-9a-f]{64}",
    ) {
        let names: Vec<&str> = headers.iter().map(String::as_str).collect();
        let parsed = v3::parse_authorization(&v3::format_authorization(&id, &names, &sig)).unwrap();
        prop_assert_eq!(parsed.credential, id);
        prop_assert_eq!(parsed.signed_headers, headers);
        prop_assert_eq!(parsed.signature, sig);
    }
}

/// Reference vector B of alibaba-api.md (also a unit test in `v3.rs`): headers and query in any order, with any
/// header-name case and surrounding whitespace, give the same signature.
const VECTOR_B_SIGNATURE: &str = "408bf162a67c7a69f8ee4ba809e84c9c2aaf5c017e1c63a417cf699b239c9d46";
const VECTOR_B_HEADERS: &[(&str, &str)] = &[
    ("host", "kms.cn-hangzhou.aliyuncs.com"),
    ("x-acs-action", "GetSecretValue"),
    (
        "x-acs-content-sha256",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    ),
    ("x-acs-date", "2024-05-06T07:08:09Z"),
    ("x-acs-signature-nonce", "b2d1f3a4c5e60718293a4b5c6d7e8f90"),
    ("x-acs-version", "2016-01-20"),
];
const VECTOR_B_QUERY: &[(&str, &str)] = &[
    ("SecretName", "app/db pass*~+é"),
    ("VersionStage", "ACSCurrent"),
    ("FetchExtendedConfig", "true"),
];

/// Splits a canonical query back into decoded pairs.
fn decode_query(q: &str) -> Vec<(String, String)> {
    if q.is_empty() {
        return Vec::new();
    }
    q.split('&')
        .map(|pair| {
            let (k, v) = pair.split_once('=').expect("every pair has '='");
            let d = |s: &str| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8()
                    .unwrap()
                    .into_owned()
            };
            (d(k), d(v))
        })
        .collect()
}

fn shuffled<T: Clone>(items: &[T], seed: u64) -> Vec<T> {
    let mut v = items.to_vec();
    let n = v.len();
    for i in 0..n {
        let j = (seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(i as u64)
            % n as u64) as usize;
        v.swap(i, j);
    }
    v
}

proptest! {
    /// Canonical queries (V1 and V3) decode back to exactly the input pairs, sorted by key then value:
    /// nothing is lost, merged or double-encoded, whatever the characters.
    #[test]
    fn canonical_query_round_trips(params in proptest::collection::vec((".{0,6}", ".{0,6}"), 0..6)) {
        let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut expected: Vec<(String, String)> = params.clone();
        // alibaba-api.md: sorted by key in byte order (of the raw key, as the official SDKs do).
        expected.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()).then(a.1.cmp(&b.1)));
        prop_assert_eq!(decode_query(&v3::canonical_query(&pairs)), expected.clone());
        // V1 canonicalises the same way (its string-to-sign then encodes the whole query once more).
        prop_assert_eq!(decode_query(&v1::canonicalized_query(&pairs)), expected);
    }

    /// Reference vector B holds for every ordering of headers and query, any header-name case and padding.
    #[test]
    fn reference_vector_b_is_order_and_case_insensitive(
        seed in any::<u64>(),
        upper in proptest::collection::vec(any::<bool>(), 6),
        pad in proptest::collection::vec(0usize..3, 6),
    ) {
        let names: Vec<String> = VECTOR_B_HEADERS
            .iter()
            .zip(&upper)
            .map(|((n, _), u)| if *u { n.to_ascii_uppercase() } else { n.to_string() })
            .collect();
        let values: Vec<String> = VECTOR_B_HEADERS
            .iter()
            .zip(&pad)
            .map(|((_, v), p)| format!("{}{v}{}", " ".repeat(*p), " ".repeat(*p)))
            .collect();
        let headers: Vec<(&str, &str)> = names.iter().map(String::as_str).zip(values.iter().map(String::as_str)).collect();
        let headers = shuffled(&headers, seed);
        let query = shuffled(VECTOR_B_QUERY, seed.rotate_left(17));
        let cr = v3::canonical_request("POST", "/", &query, &headers, acs_sign::EMPTY_BODY_SHA256);
        prop_assert_eq!(v3::signature("TestSecret123", &v3::string_to_sign(&cr)), VECTOR_B_SIGNATURE);
    }

    /// Changing any single query value changes the V3 signature (nothing is dropped from what is signed).
    #[test]
    fn every_query_value_is_signed(i in 0usize..3, extra in "[a-z0-9 /+*~%]{1,4}") {
        let mut query: Vec<(String, String)> = VECTOR_B_QUERY.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        query[i].1.push_str(&extra);
        let q: Vec<(&str, &str)> = query.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let cr = v3::canonical_request("POST", "/", &q, VECTOR_B_HEADERS, acs_sign::EMPTY_BODY_SHA256);
        prop_assert_ne!(v3::signature("TestSecret123", &v3::string_to_sign(&cr)), VECTOR_B_SIGNATURE);
    }
}
