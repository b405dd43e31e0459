//! Shared helpers: start the emulator with the fixture seed and send hand-signed requests.
#![allow(dead_code)] // each test binary uses a different subset

use acs_emulator::{EmulatorConfig, Handle, Seed};
use serde_json::Value;
use time::{Duration, OffsetDateTime};

pub const ACCOUNT: &str = "1234567890123456";

pub fn fixture_seed() -> Seed {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/seed.yaml");
    Seed::from_file(std::path::Path::new(path)).expect("fixture seed is valid")
}

pub async fn emulator() -> Handle {
    acs_emulator::start(EmulatorConfig {
        seed: fixture_seed(),
        ..Default::default()
    })
    .await
    .expect("emulator starts")
}

/// An access key (and STS token) to sign with.
#[derive(Clone)]
pub struct Key {
    pub id: &'static str,
    pub secret: &'static str,
    pub token: Option<&'static str>,
}

pub const ADMIN: Key = Key {
    id: "LTAI5tTestKeyId",
    secret: "TestSecret123",
    token: None,
};
pub const STS: Key = Key {
    id: "STS.NTestKey",
    secret: "StsSecret",
    token: Some("CAIS/token+with=chars"),
};
pub const LIMITED: Key = Key {
    id: "LTAI5tLimited",
    secret: "LimitedSecret",
    token: None,
};

/// One API call before signing.
#[derive(Clone)]
pub struct Req {
    pub action: String,
    pub version: String,
    /// API params sent in the query.
    pub query: Vec<(String, String)>,
    /// API params sent in an x-www-form-urlencoded body.
    pub form: Vec<(String, String)>,
    pub timestamp: String,
    pub nonce: String,
}

fn owned(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

pub fn now_ts(offset: Duration) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    (OffsetDateTime::now_utc() + offset).format(f).unwrap()
}

impl Req {
    pub fn new(action: &str, version: &str, params: &[(&str, &str)]) -> Self {
        Self {
            action: action.into(),
            version: version.into(),
            query: owned(params),
            form: Vec::new(),
            timestamp: now_ts(Duration::ZERO),
            nonce: uuid::Uuid::new_v4().simple().to_string(),
        }
    }
    pub fn kms(params: &[(&str, &str)]) -> Self {
        Self::new("GetSecretValue", "2016-01-20", params)
    }
    pub fn oos(action: &str, params: &[(&str, &str)]) -> Self {
        Self::new(action, "2019-06-01", params)
    }
    /// Shift the request time relative to now.
    pub fn at(mut self, offset: Duration) -> Self {
        self.timestamp = now_ts(offset);
        self
    }
    pub fn nonce(mut self, n: &str) -> Self {
        self.nonce = n.into();
        self
    }
    /// Move the API params from the query into a form body.
    pub fn in_form(mut self) -> Self {
        self.form = std::mem::take(&mut self.query);
        self
    }
}

/// What the client saw.
pub struct Resp {
    pub status: u16,
    pub content_type: String,
    pub body: Value,
}

impl Resp {
    pub fn code(&self) -> &str {
        self.body["Code"].as_str().unwrap_or("")
    }
    pub fn message(&self) -> &str {
        self.body["Message"].as_str().unwrap_or("")
    }
    #[track_caller]
    pub fn ok(&self) -> &Value {
        assert_eq!(self.status, 200, "expected success, got {}", self.body);
        &self.body
    }
    #[track_caller]
    pub fn err(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status, self.code()),
            (status, code),
            "body: {}",
            self.body
        );
        assert_eq!(self.content_type, "application/json;charset=utf-8");
    }
}

fn encode_pairs(p: &[(String, String)]) -> String {
    p.iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                acs_sign::percent_encode(k),
                acs_sign::percent_encode(v)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Signature V1 params (as the core SDK builds them, `SignatureType=` included) without `Signature`.
pub fn v1_params(key: &Key, req: &Req) -> Vec<(String, String)> {
    let mut p = owned(&[
        ("Action", &req.action),
        ("Version", &req.version),
        ("Format", "JSON"),
        ("AccessKeyId", key.id),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("SignatureType", ""),
        ("SignatureNonce", &req.nonce),
        ("Timestamp", &req.timestamp),
        ("RegionId", "cn-hangzhou"),
    ]);
    if let Some(t) = key.token {
        p.push(("SecurityToken".into(), t.into()));
    }
    p.extend(req.query.iter().cloned());
    p
}

/// The V1 string-to-sign for `params` plus the form body.
pub fn v1_string_to_sign(params: &[(String, String)], form: &[(String, String)]) -> String {
    let all: Vec<(&str, &str)> = params
        .iter()
        .chain(form)
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    acs_sign::v1::string_to_sign("POST", &all)
}

/// Send `query` (+ form) as a POST, exactly as given.
pub async fn post(
    emu: &Handle,
    query: &[(String, String)],
    form: &[(String, String)],
    headers: &[(String, String)],
) -> Resp {
    send(emu, reqwest::Method::POST, query, form, headers).await
}

/// Send `query` (+ form) with `method`, exactly as given.
pub async fn send(
    emu: &Handle,
    method: reqwest::Method,
    query: &[(String, String)],
    form: &[(String, String)],
    headers: &[(String, String)],
) -> Resp {
    let url = format!("{}/?{}", emu.base_url(), encode_pairs(query));
    let mut rb = reqwest::Client::new().request(method, url);
    for (k, v) in headers {
        rb = rb.header(k, v);
    }
    if !form.is_empty() {
        if !headers.iter().any(|(k, _)| k == "content-type") {
            rb = rb.header("content-type", "application/x-www-form-urlencoded");
        }
        rb = rb.body(encode_pairs(form));
    }
    let resp = rb.send().await.expect("request reaches the emulator");
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = resp.bytes().await.unwrap();
    let body =
        serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("JSON body ({e}): {bytes:?}"));
    Resp {
        status,
        content_type,
        body,
    }
}

/// Sign with V1 and send (params in the query, `req.form` in the body).
pub async fn send_v1(emu: &Handle, key: &Key, req: &Req) -> Resp {
    let mut params = v1_params(key, req);
    let sig = acs_sign::v1::signature(key.secret, &v1_string_to_sign(&params, &req.form));
    params.push(("Signature".into(), sig));
    post(emu, &params, &req.form, &[]).await
}

/// Headers and Authorization for V3; `secret` may differ from the key's to forge a bad signature.
pub fn v3_headers(emu: &Handle, key: &Key, secret: &str, req: &Req) -> Vec<(String, String)> {
    let body = encode_pairs(&req.form);
    let mut headers = owned(&[
        ("host", &emu.addr().to_string()),
        ("x-acs-action", &req.action),
        ("x-acs-version", &req.version),
        ("x-acs-date", &req.timestamp),
        ("x-acs-signature-nonce", &req.nonce),
        (
            "x-acs-content-sha256",
            &acs_sign::hex_sha256(body.as_bytes()),
        ),
    ]);
    if !req.form.is_empty() {
        headers.push((
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        ));
    }
    if let Some(t) = key.token {
        headers.push(("x-acs-accesskey-id".into(), key.id.into()));
        headers.push(("x-acs-security-token".into(), t.into()));
    }
    headers.sort();
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let query: Vec<(&str, &str)> = req
        .query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let canonical = acs_sign::v3::canonical_request(
        "POST",
        "/",
        &query,
        &pairs,
        &acs_sign::hex_sha256(body.as_bytes()),
    );
    let sig = acs_sign::v3::signature(secret, &acs_sign::v3::string_to_sign(&canonical));
    let names: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
    let auth = acs_sign::v3::format_authorization(key.id, &names, &sig);
    headers.push(("authorization".into(), auth));
    // reqwest sets Host itself (same value); don't send it twice.
    headers.retain(|(k, _)| k != "host");
    headers
}

/// Sign with V3 and send.
pub async fn send_v3(emu: &Handle, key: &Key, req: &Req) -> Resp {
    let headers = v3_headers(emu, key, key.secret, req);
    post(emu, &req.query, &req.form, &headers).await
}

/// Start the emulator with the fixture seed text changed by `edit` (e.g. extra knobs).
pub async fn emulator_with(edit: impl FnOnce(String) -> String) -> Handle {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/seed.yaml");
    let text = edit(std::fs::read_to_string(path).unwrap());
    acs_emulator::start(EmulatorConfig {
        seed: Seed::from_yaml_str(&text, "edited fixture").expect("edited seed is valid"),
        ..Default::default()
    })
    .await
    .expect("emulator starts")
}

/// A Key from an STS `Credentials` (or ECS metadata) JSON object; leaked, tests are short.
pub fn issued_key(creds: &Value) -> Key {
    let s = |k: &str| -> &'static str {
        Box::leak(
            creds[k]
                .as_str()
                .unwrap_or_else(|| panic!("{k} in {creds}"))
                .to_owned()
                .into_boxed_str(),
        )
    };
    Key {
        id: s("AccessKeyId"),
        secret: s("AccessKeySecret"),
        token: Some(s("SecurityToken")),
    }
}

/// An unsigned STS call (AssumeRoleWithOIDC), every param in the query, as the SDKs send it.
pub async fn anonymous(
    emu: &Handle,
    method: reqwest::Method,
    action: &str,
    params: &[(&str, &str)],
) -> Resp {
    let mut query = owned(&[
        ("Action", action),
        ("Version", "2015-04-01"),
        ("Format", "JSON"),
        ("Timestamp", &now_ts(Duration::ZERO)),
    ]);
    query.extend(owned(params));
    send(emu, method, &query, &[], &[]).await
}

/// Parse an `Expiration` and return seconds from now.
pub fn seconds_until(expiration: &str) -> i64 {
    let f = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    let t = time::PrimitiveDateTime::parse(expiration, f)
        .unwrap_or_else(|e| panic!("Expiration {expiration:?}: {e}"))
        .assume_utc();
    (t - OffsetDateTime::now_utc()).whole_seconds()
}
