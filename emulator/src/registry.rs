//! A small OCI distribution registry on loopback, for plugin push/pull demos and tests.
//!
//! Speaks the parts of the distribution spec a plugin needs: `GET /v2/`, manifests and blobs
//! (`GET`/`HEAD`/`PUT`, by tag or digest), blob uploads (`POST`, `PATCH`, `PUT ?digest=`, or a
//! monolithic `POST ?digest=`). Optionally requires HTTP basic auth, or the bearer-token flow
//! (401 with `WWW-Authenticate: Bearer realm=…/token`, tokens issued for basic credentials).
//! Counts requests so tests can prove a restart pulled nothing, and can be switched "down"
//! (every request 503).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use sha2::{Digest as _, Sha256};

/// Which authentication the registry demands.
#[derive(Clone, Debug, Default)]
pub enum RegistryAuth {
    /// Anyone may pull and push.
    #[default]
    None,
    /// `Authorization: Basic` with these credentials on every `/v2/` request.
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: String,
    },
    /// Bearer tokens from `/token`, issued for basic credentials.
    Bearer {
        /// User name.
        username: String,
        /// Password.
        password: String,
    },
}

/// How to start the registry.
#[derive(Clone, Debug, Default)]
pub struct RegistryConfig {
    /// Address to listen on; `None` is `127.0.0.1:0`. Must be loopback.
    pub listen: Option<SocketAddr>,
    /// Authentication required.
    pub auth: RegistryAuth,
}

#[derive(Default)]
struct Repo {
    manifests: HashMap<String, (String, Vec<u8>)>, // digest -> (media type, bytes)
    tags: HashMap<String, String>,                 // tag -> digest
    blobs: HashMap<String, Vec<u8>>,               // digest -> bytes
}

struct Shared {
    auth: RegistryAuth,
    base: String,
    repos: Mutex<HashMap<String, Repo>>,
    uploads: Mutex<HashMap<String, Vec<u8>>>,
    requests: AtomicUsize,
    pulls: AtomicUsize,
    down: AtomicBool,
    tokens: Mutex<Vec<String>>,
}

/// A running registry.
pub struct RegistryHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// Starts the registry.
pub async fn start_registry(config: RegistryConfig) -> anyhow::Result<RegistryHandle> {
    let listen = config
        .listen
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
    anyhow::ensure!(
        listen.ip().is_loopback(),
        "the test registry only listens on loopback, not {listen}"
    );
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let shared = Arc::new(Shared {
        auth: config.auth,
        base: format!("http://{addr}"),
        repos: Mutex::default(),
        uploads: Mutex::default(),
        requests: AtomicUsize::new(0),
        pulls: AtomicUsize::new(0),
        down: AtomicBool::new(false),
        tokens: Mutex::default(),
    });
    let app = axum::Router::new()
        .fallback(handle)
        .with_state(shared.clone());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await;
    });
    Ok(RegistryHandle {
        addr,
        shared,
        stop: Some(tx),
        task: Some(task),
    })
}

impl RegistryHandle {
    /// `127.0.0.1:<port>`, the registry part of an `oci://` reference.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// Every request received.
    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// `GET`/`HEAD` requests of manifests and blobs (what a pull costs).
    pub fn pulls(&self) -> usize {
        self.shared.pulls.load(Ordering::SeqCst)
    }

    /// While down, every request is answered 503.
    pub fn set_down(&self, down: bool) {
        self.shared.down.store(down, Ordering::SeqCst);
    }

    /// Replaces the bytes of blob `digest` (`sha256:…`) in `repo` without changing its name,
    /// as a compromised registry would.
    pub fn tamper_blob(&self, repo: &str, digest: &str, bytes: Vec<u8>) {
        if let Some(r) = self.shared.repos.lock().unwrap().get_mut(repo) {
            r.blobs.insert(digest.to_owned(), bytes);
        }
    }

    /// Stops serving.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

fn status(code: StatusCode, err: &str, msg: &str) -> Response {
    let body = serde_json::json!({"errors": [{"code": err, "message": msg}]}).to_string();
    (code, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn query(uri: &Uri, key: &str) -> Option<String> {
    uri.query()?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then(|| v.replace("%3A", ":").replace("%3a", ":"))
    })
}

fn basic_ok(headers: &HeaderMap, user: &str, pass: &str) -> bool {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    );
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        == Some(expected.as_str())
}

/// `None` when the request may proceed, else the 401 to send.
fn check_auth(shared: &Shared, headers: &HeaderMap) -> Option<Response> {
    let challenge = match &shared.auth {
        RegistryAuth::None => return None,
        RegistryAuth::Basic { username, password } => {
            if basic_ok(headers, username, password) {
                return None;
            }
            "Basic realm=\"acs-emulator registry\"".to_owned()
        }
        RegistryAuth::Bearer { .. } => {
            let given = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "));
            if given.is_some_and(|t| shared.tokens.lock().unwrap().iter().any(|k| k == t)) {
                return None;
            }
            format!(
                "Bearer realm=\"{}/token\",service=\"acs-emulator-registry\"",
                shared.base
            )
        }
    };
    let mut resp = status(
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
        "authentication required",
    );
    if let Ok(v) = challenge.parse() {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    Some(resp)
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.requests.fetch_add(1, Ordering::SeqCst);
    if shared.down.load(Ordering::SeqCst) {
        return status(
            StatusCode::SERVICE_UNAVAILABLE,
            "UNAVAILABLE",
            "registry is down",
        );
    }
    let path = uri.path().to_owned();
    if path == "/token" {
        return token(&shared, &headers);
    }
    if !path.starts_with("/v2/") {
        return status(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "not a distribution API path",
        );
    }
    if let Some(denied) = check_auth(&shared, &headers) {
        return denied;
    }
    if path == "/v2/" {
        return (StatusCode::OK, "{}").into_response();
    }
    let rest = &path["/v2/".len()..];
    for (marker, kind) in [
        ("/manifests/", "manifests"),
        ("/blobs/uploads/", "uploads"),
        ("/blobs/", "blobs"),
    ] {
        if let Some(i) = rest.rfind(marker) {
            let repo = rest[..i].to_owned();
            let reference = rest[i + marker.len()..].to_owned();
            return match kind {
                "manifests" => manifests(&shared, &method, &repo, &reference, &headers, body),
                "uploads" => uploads(&shared, &method, &uri, &repo, &reference, body),
                _ => blobs(&shared, &method, &uri, &repo, &reference, body),
            };
        }
    }
    status(StatusCode::NOT_FOUND, "NAME_UNKNOWN", "unknown path")
}

fn token(shared: &Shared, headers: &HeaderMap) -> Response {
    let RegistryAuth::Bearer { username, password } = &shared.auth else {
        return status(StatusCode::NOT_FOUND, "NOT_FOUND", "no token service");
    };
    if !basic_ok(headers, username, password) {
        return status(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "bad credentials");
    }
    let token = format!("tok-{}", uuid::Uuid::new_v4().simple());
    shared.tokens.lock().unwrap().push(token.clone());
    axum::Json(serde_json::json!({"token": token, "access_token": token, "expires_in": 300}))
        .into_response()
}

fn manifests(
    shared: &Shared,
    method: &Method,
    repo: &str,
    reference: &str,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let mut repos = shared.repos.lock().unwrap();
    match *method {
        Method::PUT => {
            let digest = sha256(&body);
            if reference.starts_with("sha256:") && reference != digest {
                return status(StatusCode::BAD_REQUEST, "DIGEST_INVALID", "digest mismatch");
            }
            let media = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("application/vnd.oci.image.manifest.v1+json")
                .to_owned();
            let r = repos.entry(repo.to_owned()).or_default();
            r.manifests.insert(digest.clone(), (media, body.to_vec()));
            if !reference.starts_with("sha256:") {
                r.tags.insert(reference.to_owned(), digest.clone());
            }
            Response::builder()
                .status(StatusCode::CREATED)
                .header(header::LOCATION, format!("/v2/{repo}/manifests/{digest}"))
                .header("Docker-Content-Digest", digest)
                .body(Body::empty())
                .unwrap()
        }
        Method::GET | Method::HEAD => {
            shared.pulls.fetch_add(1, Ordering::SeqCst);
            let Some(r) = repos.get(repo) else {
                return status(StatusCode::NOT_FOUND, "NAME_UNKNOWN", "repository unknown");
            };
            let digest = if reference.starts_with("sha256:") {
                reference.to_owned()
            } else {
                match r.tags.get(reference) {
                    Some(d) => d.clone(),
                    None => {
                        return status(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN", "tag unknown");
                    }
                }
            };
            let Some((media, bytes)) = r.manifests.get(&digest) else {
                return status(
                    StatusCode::NOT_FOUND,
                    "MANIFEST_UNKNOWN",
                    "manifest unknown",
                );
            };
            let body = if *method == Method::HEAD {
                Body::empty()
            } else {
                Body::from(bytes.clone())
            };
            Response::builder()
                .status(StatusCode::OK)
                .header(header::CONTENT_TYPE, media.as_str())
                .header(header::CONTENT_LENGTH, bytes.len())
                .header("Docker-Content-Digest", digest)
                .body(body)
                .unwrap()
        }
        _ => status(StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED", "method"),
    }
}

fn blobs(
    shared: &Shared,
    method: &Method,
    _uri: &Uri,
    repo: &str,
    digest: &str,
    _body: Bytes,
) -> Response {
    if !matches!(*method, Method::GET | Method::HEAD) {
        return status(StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED", "method");
    }
    shared.pulls.fetch_add(1, Ordering::SeqCst);
    let repos = shared.repos.lock().unwrap();
    let Some(bytes) = repos.get(repo).and_then(|r| r.blobs.get(digest)) else {
        return status(StatusCode::NOT_FOUND, "BLOB_UNKNOWN", "blob unknown");
    };
    let body = if *method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(bytes.clone())
    };
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::CONTENT_LENGTH, bytes.len())
        .header("Docker-Content-Digest", digest)
        .body(body)
        .unwrap()
}

fn uploads(
    shared: &Shared,
    method: &Method,
    uri: &Uri,
    repo: &str,
    id: &str,
    body: Bytes,
) -> Response {
    let finish = |data: Vec<u8>, digest: String| -> Response {
        if sha256(&data) != digest {
            return status(StatusCode::BAD_REQUEST, "DIGEST_INVALID", "digest mismatch");
        }
        shared
            .repos
            .lock()
            .unwrap()
            .entry(repo.to_owned())
            .or_default()
            .blobs
            .insert(digest.clone(), data);
        Response::builder()
            .status(StatusCode::CREATED)
            .header(header::LOCATION, format!("/v2/{repo}/blobs/{digest}"))
            .header("Docker-Content-Digest", digest)
            .body(Body::empty())
            .unwrap()
    };
    let mut uploads = shared.uploads.lock().unwrap();
    match *method {
        Method::POST => {
            if let Some(digest) = query(uri, "digest") {
                return finish(body.to_vec(), digest);
            }
            let id = uuid::Uuid::new_v4().simple().to_string();
            uploads.insert(id.clone(), Vec::new());
            Response::builder()
                .status(StatusCode::ACCEPTED)
                .header(header::LOCATION, format!("/v2/{repo}/blobs/uploads/{id}"))
                .header(header::RANGE, "0-0")
                .header("Docker-Upload-UUID", id)
                .body(Body::empty())
                .unwrap()
        }
        Method::PATCH => {
            let Some(buf) = uploads.get_mut(id) else {
                return status(
                    StatusCode::NOT_FOUND,
                    "BLOB_UPLOAD_UNKNOWN",
                    "upload unknown",
                );
            };
            buf.extend_from_slice(&body);
            let end = buf.len().saturating_sub(1);
            Response::builder()
                .status(StatusCode::ACCEPTED)
                .header(header::LOCATION, format!("/v2/{repo}/blobs/uploads/{id}"))
                .header(header::RANGE, format!("0-{end}"))
                .body(Body::empty())
                .unwrap()
        }
        Method::PUT => {
            let Some(mut data) = uploads.remove(id) else {
                return status(
                    StatusCode::NOT_FOUND,
                    "BLOB_UPLOAD_UNKNOWN",
                    "upload unknown",
                );
            };
            data.extend_from_slice(&body);
            let Some(digest) = query(uri, "digest") else {
                return status(StatusCode::BAD_REQUEST, "DIGEST_INVALID", "digest missing");
            };
            drop(uploads);
            finish(data, digest)
        }
        _ => status(StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED", "method"),
    }
}
