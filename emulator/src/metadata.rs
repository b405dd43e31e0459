//! ECS instance metadata server (what `100.100.100.200` serves), plain HTTP under
//! `/latest/`: session tokens (`PUT /latest/api/token`), the instance RAM role's temporary
//! credentials, `region-id` and `instance-id`. Credentials are registered like STS ones,
//! with the role's permissions. Logs never show tokens or secrets.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use serde_json::json;
use time::{Duration, OffsetDateTime};

use crate::clock::format_timestamp;
use crate::server::Shared;
use crate::store::Store;
use crate::temp_keys::Issued;

const TOKEN_TTL_HEADER: &str = "x-aliyun-ecs-metadata-token-ttl-seconds";
const TOKEN_HEADER: &str = "x-aliyun-ecs-metadata-token";
/// Longest token TTL ECS allows (6 h).
const MAX_TOKEN_TTL: i64 = 21600;

/// Metadata server state kept across calls.
#[derive(Default)]
pub struct MetadataState {
    calls: AtomicUsize,
    down: AtomicBool,
    /// Session token → expiry.
    tokens: Mutex<HashMap<String, OffsetDateTime>>,
    /// The instance role credential currently handed out, and when it was minted.
    current: Mutex<Option<(Issued, OffsetDateTime)>>,
}

impl MetadataState {
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::Relaxed)
    }
    pub fn reset_calls(&self) {
        self.calls.store(0, Ordering::Relaxed);
    }
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::Relaxed);
    }
}

pub fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/latest/api/token", put(token))
        .route("/latest/meta-data/{*path}", get(meta_data))
}

fn text(status: StatusCode, body: impl Into<String>) -> Response {
    (
        status,
        [("content-type", "text/plain;charset=utf-8")],
        body.into(),
    )
        .into_response()
}

/// Count the call; when the server is "down" the 500 a broken metadata service gives.
fn gate(shared: &Shared) -> Option<Response> {
    shared.metadata.calls.fetch_add(1, Ordering::Relaxed);
    if shared.metadata.down.load(Ordering::Relaxed) {
        tracing::info!(status = 500, "metadata call while set down");
        return Some(text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "metadata service unavailable (acs-emulator: set_metadata_down)",
        ));
    }
    None
}

async fn token(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Some(r) = gate(&shared) {
        return r;
    }
    let ttl = headers
        .get(TOKEN_TTL_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok());
    let Some(ttl) = ttl.filter(|t| (1..=MAX_TOKEN_TTL).contains(t)) else {
        tracing::info!(status = 400, "metadata token: bad ttl");
        return text(
            StatusCode::BAD_REQUEST,
            format!(
                "header X-aliyun-ecs-metadata-token-ttl-seconds must be an integer from 1 to {MAX_TOKEN_TTL}"
            ),
        );
    };
    let token = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let now = OffsetDateTime::now_utc();
    let mut tokens = shared.metadata.tokens.lock().expect("token lock poisoned");
    tokens.retain(|_, exp| *exp > now);
    tokens.insert(token.clone(), now + Duration::seconds(ttl));
    tracing::info!(status = 200, ttl, "metadata token issued");
    text(StatusCode::OK, token)
}

/// Why a GET is refused (401), if it is: a present token must be valid; an absent one
/// is fine unless `requireToken` is set.
fn token_refusal(shared: &Shared, headers: &HeaderMap, require: bool) -> Option<&'static str> {
    match headers.get(TOKEN_HEADER).and_then(|v| v.to_str().ok()) {
        None if require => {
            Some("hardened mode: send X-aliyun-ecs-metadata-token from PUT /latest/api/token")
        }
        None => None,
        Some(t) => {
            let tokens = shared.metadata.tokens.lock().expect("token lock poisoned");
            match tokens.get(t) {
                Some(exp) if *exp > OffsetDateTime::now_utc() => None,
                Some(_) => Some("the metadata token has expired"),
                None => Some("the metadata token is not valid"),
            }
        }
    }
}

async fn meta_data(
    State(shared): State<Arc<Shared>>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = gate(&shared) {
        return r;
    }
    let store = shared.store();
    let Some(ecs) = &store.ecs else {
        return text(StatusCode::NOT_FOUND, "no ecsMetadata in the emulator seed");
    };
    if let Some(why) = token_refusal(&shared, &headers, ecs.require_token) {
        tracing::info!(status = 401, path = %path, "metadata call refused");
        return text(StatusCode::UNAUTHORIZED, why);
    }
    let resp = match path.trim_end_matches('/') {
        "region-id" => text(
            StatusCode::OK,
            ecs.region.clone().unwrap_or_else(|| store.region.clone()),
        ),
        "instance-id" => text(StatusCode::OK, ecs.instance_id.clone()),
        "ram/security-credentials" => text(StatusCode::OK, ecs.role_name.clone()),
        p => match p.strip_prefix("ram/security-credentials/") {
            Some(role) if role == ecs.role_name => credentials(&shared, &store),
            _ => text(StatusCode::NOT_FOUND, "Not Found"),
        },
    };
    tracing::info!(status = resp.status().as_u16(), path = %path, "metadata call");
    resp
}

/// The instance role's credential: reused while more than half its lifetime remains
/// (ECS rotates well before expiry), else a fresh one is minted.
fn credentials(shared: &Shared, store: &Store) -> Response {
    let ecs = store.ecs.as_ref().expect("checked by the caller");
    let Some(role) = store.role(&ecs.role_name) else {
        return text(StatusCode::NOT_FOUND, "Not Found");
    };
    let now = OffsetDateTime::now_utc();
    let half = Duration::seconds(i64::try_from(ecs.credential_lifetime_seconds / 2).unwrap_or(0));
    let mut current = shared
        .metadata
        .current
        .lock()
        .expect("ecs cred lock poisoned");
    let reusable = current.as_ref().is_some_and(|(c, _)| {
        c.expiration - now > half && store.temp.is_live(&c.access_key_id, now)
    });
    if !reusable {
        let issued = store.temp.issue(
            role.permissions.clone(),
            now,
            ecs.credential_lifetime_seconds,
        );
        *current = Some((issued, now));
    }
    let (c, updated) = current.as_ref().expect("set above");
    let body = json!({
        "AccessKeyId": c.access_key_id,
        "AccessKeySecret": c.access_key_secret,
        "SecurityToken": c.security_token,
        "Expiration": format_timestamp(c.expiration),
        "LastUpdated": format_timestamp(*updated),
        "Code": "Success",
    });
    (
        StatusCode::OK,
        [("content-type", "application/json;charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}
