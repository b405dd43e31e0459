//! Just enough JWT for `AssumeRoleWithOIDC`: split the three base64url parts and read the
//! JSON claims. **Signatures are not verified** (the emulator has no issuer keys); it checks
//! shape, `exp`, `iss`, `aud` and `sub`, which is what a client's behaviour depends on.
//! [`mint`] lets tests build tokens without a JWT crate.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

/// Build an unsigned-in-spirit token (`alg: RS256`, placeholder signature) that the emulator
/// accepts when `iss`/`aud`/`sub` match a seeded provider and role. `exp` is Unix seconds.
pub fn mint(iss: &str, sub: &str, aud: &str, exp: i64) -> String {
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": "acs-emulator"});
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = json!({"iss": iss, "sub": sub, "aud": [aud], "exp": exp, "iat": now.min(exp)});
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode(b"signature-not-verified-by-acs-emulator"),
    )
}

/// The claims the emulator checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    /// `aud` as a list (a single string becomes one element).
    pub aud: Vec<String>,
    pub exp: i64,
    pub iat: Option<i64>,
}

/// Decode `token`; the error says what is malformed, never echoing the token.
pub fn parse(token: &str) -> Result<Claims, String> {
    let parts: Vec<&str> = token.split('.').collect();
    let [header, payload, signature] = parts[..] else {
        return Err(format!(
            "a JWT has three dot-separated parts, this one has {}",
            parts.len()
        ));
    };
    if signature.is_empty() {
        return Err("the signature part is empty".into());
    }
    let json_part = |what: &str, part: &str| -> Result<Value, String> {
        let bytes = URL_SAFE_NO_PAD
            .decode(part.trim_end_matches('='))
            .map_err(|_| format!("the {what} is not base64url"))?;
        let value: Value =
            serde_json::from_slice(&bytes).map_err(|_| format!("the {what} is not JSON"))?;
        if value.is_object() {
            Ok(value)
        } else {
            Err(format!("the {what} is not a JSON object"))
        }
    };
    json_part("header", header)?;
    let claims = json_part("payload", payload)?;
    let text = |name: &str| -> Result<String, String> {
        claims[name]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("claim {name:?} is missing or not a string"))
    };
    let aud = match &claims["aud"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or("claim \"aud\" must be a string or a list of strings")?,
        _ => return Err("claim \"aud\" is missing".into()),
    };
    Ok(Claims {
        iss: text("iss")?,
        sub: text("sub")?,
        aud,
        exp: claims["exp"]
            .as_i64()
            .ok_or("claim \"exp\" is missing or not a number")?,
        iat: claims["iat"].as_i64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_parse_back() {
        let t = mint(
            "https://iss",
            "system:serviceaccount:ns:sa",
            "sts.aliyuncs.com",
            42,
        );
        let c = parse(&t).unwrap();
        assert_eq!(c.iss, "https://iss");
        assert_eq!(c.sub, "system:serviceaccount:ns:sa");
        assert_eq!(c.aud, vec!["sts.aliyuncs.com".to_owned()]);
        assert_eq!(c.exp, 42);
    }

    #[test]
    fn malformed_tokens_say_why() {
        assert!(parse("a.b").unwrap_err().contains("three"));
        assert!(
            parse("!!.e30.c2ln")
                .unwrap_err()
                .contains("header is not base64url")
        );
        let not_json = URL_SAFE_NO_PAD.encode("nope");
        assert!(
            parse(&format!("e30.{not_json}.c2ln"))
                .unwrap_err()
                .contains("payload is not JSON")
        );
        let no_exp = URL_SAFE_NO_PAD.encode(r#"{"iss":"i","sub":"s","aud":"a"}"#);
        assert!(
            parse(&format!("e30.{no_exp}.c2ln"))
                .unwrap_err()
                .contains("exp")
        );
        let aud_str = URL_SAFE_NO_PAD.encode(r#"{"iss":"i","sub":"s","aud":"a","exp":1}"#);
        assert_eq!(parse(&format!("e30.{aud_str}.c2ln")).unwrap().aud, ["a"]);
    }
}
