//! The parts of an incoming POP request the emulator needs, decoded once.
//!
//! Parameters come from the query string **and** an `application/x-www-form-urlencoded`
//! body (both are signed with V1); Action/Version may also arrive only as `x-acs-*` headers
//! (always so with V3).

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Uri, header};
use percent_encoding::percent_decode_str;

/// A decoded POP request.
pub struct PopRequest {
    pub method: Method,
    /// Path, for the V3 canonical URI.
    pub path: String,
    /// Decoded query pairs in arrival order (duplicates kept; empty values kept).
    pub query: Vec<(String, String)>,
    /// Decoded form-body pairs (empty unless the body is form-urlencoded).
    pub form: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl PopRequest {
    pub fn new(method: Method, uri: &Uri, headers: HeaderMap, body: Bytes) -> Self {
        let query = uri.query().map(decode_pairs).unwrap_or_default();
        let is_form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| {
                ct.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/x-www-form-urlencoded")
            });
        let form = if is_form && !body.is_empty() {
            decode_pairs(&String::from_utf8_lossy(&body))
        } else {
            Vec::new()
        };
        Self {
            method,
            path: uri.path().to_owned(),
            query,
            form,
            headers,
            body,
        }
    }

    /// A parameter from the query, else the form body.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .chain(&self.form)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A parameter whose empty value counts as absent (optional API inputs).
    pub fn non_empty_param(&self, name: &str) -> Option<&str> {
        self.param(name).filter(|v| !v.is_empty())
    }

    /// Query ∪ form, the set V1 signs.
    pub fn all_params(&self) -> impl Iterator<Item = (&str, &str)> {
        self.query
            .iter()
            .chain(&self.form)
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// A header value as text (first occurrence).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `Action` param, else the `x-acs-action` header.
    pub fn action(&self) -> Option<&str> {
        self.non_empty_param("Action")
            .or_else(|| self.header("x-acs-action"))
    }

    /// `Version` param, else the `x-acs-version` header.
    pub fn version(&self) -> Option<&str> {
        self.non_empty_param("Version")
            .or_else(|| self.header("x-acs-version"))
    }
}

/// Decode `k=v&k2=v2` as form encoding: `+` is a space, `%XX` is a byte.
fn decode_pairs(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let spaced = s.replace('+', " ");
    percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
}

/// Parse an API boolean: the SDKs send `true`/`false` or Python's `True`/`False`.
pub fn parse_bool(name: &str, value: Option<&str>) -> Result<bool, crate::error::ApiError> {
    match value {
        None | Some("") => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(_) => Err(crate::error::ApiError::invalid_parameter(
            name,
            "expected true or false",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(uri: &str, ct: Option<&str>, body: &'static str) -> PopRequest {
        let mut headers = HeaderMap::new();
        if let Some(ct) = ct {
            headers.insert(header::CONTENT_TYPE, ct.parse().unwrap());
        }
        headers.insert("x-acs-action", "FromHeader".parse().unwrap());
        PopRequest::new(
            Method::POST,
            &uri.parse().unwrap(),
            headers,
            Bytes::from_static(body.as_bytes()),
        )
    }

    #[test]
    fn query_and_form_are_merged_and_decoded() {
        let r = req(
            "/?SecretName=app%2Fdb%20pass%2A~%2B%C3%A9&SignatureType=",
            Some("application/x-www-form-urlencoded; charset=UTF-8"),
            "Name=a+b&WithDecryption=True",
        );
        assert_eq!(r.param("SecretName"), Some("app/db pass*~+é"));
        assert_eq!(r.param("SignatureType"), Some(""));
        assert_eq!(r.param("Name"), Some("a b"));
        assert_eq!(r.all_params().count(), 4);
        assert_eq!(r.action(), Some("FromHeader"));
    }

    #[test]
    fn body_is_ignored_unless_form_encoded() {
        let r = req("/?Action=X", Some("application/json"), "Name=a");
        assert_eq!(r.param("Name"), None);
        assert_eq!(r.action(), Some("X"));
    }

    #[test]
    fn booleans_accept_python_spelling() {
        assert!(parse_bool("B", Some("True")).unwrap());
        assert!(parse_bool("B", Some("true")).unwrap());
        assert!(!parse_bool("B", None).unwrap());
        assert_eq!(
            parse_bool("B", Some("yes")).unwrap_err().code,
            "InvalidParameter"
        );
    }
}
