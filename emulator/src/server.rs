//! The HTTP front: one POP endpoint (`/`, any method) for every product, plus the ECS
//! metadata paths under `/latest/` ([`crate::metadata`]).
//!
//! Order per call: decode → count → injected fault → product/action lookup → authenticate →
//! handler; the answer leaves the configured latency after the request arrived. Logs name the
//! action, key id, resource and outcome, never secret values, signatures or tokens.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use time::OffsetDateTime;

use crate::auth::{ReplayGuard, authenticate};
use crate::error::ApiError;
use crate::faults::{FaultKind, Faults};
use crate::products::{Product, unknown_action};
use crate::request::PopRequest;
use crate::stats::Stats;
use crate::store::Store;

/// Everything a request handler shares; owned by the server and the [`crate::Handle`].
pub struct Shared {
    /// Read by every call; written only by the Handle's update methods.
    pub store: RwLock<Store>,
    pub replay: ReplayGuard,
    pub stats: Stats,
    pub faults: Faults,
    /// Added delay per call, in microseconds.
    pub latency_us: AtomicU64,
    /// ECS instance metadata server state.
    pub metadata: crate::metadata::MetadataState,
}

impl Shared {
    pub fn store_mut(&self) -> std::sync::RwLockWriteGuard<'_, Store> {
        self.store.write().expect("store lock poisoned")
    }

    pub fn store(&self) -> std::sync::RwLockReadGuard<'_, Store> {
        self.store.read().expect("store lock poisoned")
    }

    pub fn set_latency(&self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.latency_us.store(us, Ordering::Relaxed);
    }
}

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", any(pop))
        .merge(crate::metadata::router())
        .fallback(not_found)
        .with_state(shared)
}

async fn not_found(uri: Uri) -> Response {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "InvalidAction.NotFound",
        format!(
            "No API is served at path {:?}; POP calls go to \"/\".",
            uri.path()
        ),
    )
    .into_response_for("acs-emulator")
}

async fn pop(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let arrived = std::time::Instant::now();
    let latency = Duration::from_micros(shared.latency_us.load(Ordering::Relaxed));
    let response = answer(&shared, method, uri, headers, body).await;
    // The answer leaves `latency` after the request arrived: the emulator's own work is part of that
    // time, as a real service's is, instead of being added on top of it.
    crate::delay::precise_sleep(latency.saturating_sub(arrived.elapsed())).await;
    response
}

async fn answer(
    shared: &Arc<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req = PopRequest::new(method, &uri, headers, body);
    let action = req.action().unwrap_or("").to_owned();
    let resource = req
        .non_empty_param("SecretName")
        .or_else(|| req.non_empty_param("Name"))
        .map(str::to_owned);
    let region = req.non_empty_param("RegionId").map(str::to_owned);
    shared
        .stats
        .record(&action, resource.as_deref(), region.as_deref());

    let fault = if action.is_empty() {
        None
    } else {
        shared
            .faults
            .take(&action, resource.as_deref(), region.as_deref())
    };
    match fault {
        None => {}
        Some(FaultKind::Delay(d)) => tokio::time::sleep(d).await,
        Some(FaultKind::ExpireCredentials) => {
            shared.store().temp.expire_all(OffsetDateTime::now_utc());
        }
        Some(other) => {
            tracing::info!(action = %action, resource = resource.as_deref().unwrap_or("-"), fault = ?other, "pop call: injected fault");
            return fault_response(other);
        }
    }

    let product = req.version().and_then(Product::from_version);
    let host_id = product
        .map(|p| p.host_id(&shared.store().region))
        .or_else(|| req.header("host").map(str::to_owned))
        .unwrap_or_else(|| "acs-emulator".into());
    let mut key_id = None;
    let outcome = handle(shared, &req, &action, product, &mut key_id);
    let (status, code) = match &outcome {
        Ok(_) => (StatusCode::OK, "OK".to_owned()),
        Err(e) => (e.status, e.code.clone()),
    };
    tracing::info!(
        action = %action,
        version = req.version().unwrap_or(""),
        access_key_id = key_id.as_deref().unwrap_or("-"),
        resource = resource.as_deref().unwrap_or("-"),
        status = status.as_u16(),
        code = %code,
        "pop call"
    );
    match outcome {
        Ok(json) => {
            let bytes = serde_json::to_vec(&json).expect("response body serialises");
            let mut resp = (StatusCode::OK, bytes).into_response();
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json;charset=utf-8"),
            );
            resp
        }
        Err(e) => e.into_response_for(&host_id),
    }
}

fn handle(
    shared: &Shared,
    req: &PopRequest,
    action: &str,
    product: Option<Product>,
    key_id: &mut Option<String>,
) -> Result<serde_json::Value, ApiError> {
    if action.is_empty() {
        return Err(ApiError::missing_parameter("Action"));
    }
    let product = match (req.version(), product) {
        (None, _) => return Err(ApiError::missing_parameter("Version")),
        (Some(v), None) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "InvalidVersion",
                format!(
                    "Specified parameter Version {v:?} is not valid; emulated versions are 2016-01-20 (KMS), 2019-06-01 (OOS) and 2015-04-01 (STS)."
                ),
            ));
        }
        (Some(_), Some(p)) => p,
    };
    if !product.supports(action) {
        return Err(unknown_action(action));
    }
    let store = shared.store();
    let now = OffsetDateTime::now_utc();
    if product.is_anonymous(action) {
        return product.handle_anonymous(action, req, &store, now);
    }
    let caller = authenticate(req, &store, &shared.replay, now)?;
    *key_id = Some(caller.access_key_id.clone());
    product.handle(action, req, &caller, &store, now)
}

/// The answer of a fault that replaces the call: an error, a broken connection or a broken body.
fn fault_response(kind: FaultKind) -> Response {
    match kind {
        FaultKind::Error {
            status,
            code,
            message,
            retry_after,
        } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut resp = ApiError::new(status, &code, message).into_response_for("acs-emulator");
            if let Some(after) = retry_after {
                resp.headers_mut().insert(
                    "x-acs-retry-after",
                    HeaderValue::from(u64::try_from(after.as_millis()).unwrap_or(u64::MAX)),
                );
            }
            resp
        }
        FaultKind::MalformedJson => {
            let mut resp = (
                StatusCode::OK,
                "{\"RequestId\":\"4C2F-TRUNC\",\"SecretData\":",
            )
                .into_response();
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json;charset=utf-8"),
            );
            resp
        }
        // A body stream that fails makes the server abort the connection mid-answer.
        FaultKind::Reset => Response::new(axum::body::Body::from_stream(futures::stream::once(
            async {
                Err::<Bytes, _>(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "injected connection reset",
                ))
            },
        ))),
        // Handled before the call goes on; never replaces the answer.
        FaultKind::Delay(_) | FaultKind::ExpireCredentials => {
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
