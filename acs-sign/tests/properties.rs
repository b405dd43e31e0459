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
