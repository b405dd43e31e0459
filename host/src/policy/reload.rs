//! The policy in force and its hot reload.
//!
//! A watcher thread re-reads the file every interval and compares a sha256 of its content, so a
//! ConfigMap update (kubelet swaps a `..data` symlink; the mtime of the path may not change) is seen
//! by content. A valid new policy replaces the old one atomically (readers hold an `Arc` of the
//! policy they started with); an invalid one is logged with every error, counted in
//! `provider_policy_reloads_total{result="error"}`, shown by the health endpoint, and the last good
//! policy stays in force. The same bad content is reported once, not every interval.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use super::document::Policy;
use super::error::{PolicyErrors, PolicyProblem};
use crate::metrics::Metrics;
use crate::transform::Limits;

/// What a reload did.
#[derive(Debug, Clone)]
pub enum ReloadOutcome {
    /// No file configured, or its content did not change.
    Unchanged,
    /// The new policy is in force.
    Applied,
    /// The new content is invalid; the previous policy stays.
    Rejected(PolicyErrors),
}

/// The last failed reload, for the health endpoint.
#[derive(Debug, Clone)]
pub struct ReloadFailure {
    /// When it was seen.
    pub at: SystemTime,
    /// How many problems.
    pub errors: usize,
    /// The first problem.
    pub first: String,
}

struct Inner {
    path: Option<PathBuf>,
    global: Limits,
    metrics: Metrics,
    current: RwLock<Arc<Policy>>,
    /// Hash of the content last looked at (good or bad).
    seen: Mutex<Option<[u8; 32]>>,
    /// Hash of the content of the policy in force.
    good: Mutex<Option<[u8; 32]>>,
    failure: Mutex<Option<ReloadFailure>>,
}

/// Shared handle to the policy in force. Cheap to clone.
#[derive(Clone)]
pub struct PolicyHandle {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for PolicyHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyHandle")
            .field("path", &self.inner.path)
            .finish()
    }
}

impl PolicyHandle {
    /// No policy file: the built-in defaults (built-in plugins allowed, custom plugins denied).
    pub fn defaults(metrics: Metrics) -> Self {
        Self::with(
            None,
            Policy::builtin_defaults(),
            None,
            Limits::default(),
            metrics,
        )
    }

    /// A fixed policy (tests, `policy explain`), never reloaded.
    pub fn fixed(policy: Policy, metrics: Metrics) -> Self {
        Self::with(None, policy, None, Limits::default(), metrics)
    }

    /// Loads `path`; an invalid or unreadable file is an error (the provider does not start).
    pub fn from_file(path: &Path, global: Limits, metrics: Metrics) -> Result<Self, PolicyErrors> {
        let bytes = std::fs::read(path).map_err(|e| unreadable(path, &e))?;
        let text = String::from_utf8_lossy(&bytes);
        let policy = Policy::parse(&text, &path.display().to_string(), &global)?;
        Ok(Self::with(
            Some(path.to_owned()),
            policy,
            Some(Sha256::digest(&bytes).into()),
            global,
            metrics,
        ))
    }

    fn with(
        path: Option<PathBuf>,
        policy: Policy,
        seen: Option<[u8; 32]>,
        global: Limits,
        metrics: Metrics,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                path,
                global,
                metrics,
                current: RwLock::new(Arc::new(policy)),
                seen: Mutex::new(seen),
                good: Mutex::new(seen),
                failure: Mutex::new(None),
            }),
        }
    }

    /// The policy in force now.
    pub fn current(&self) -> Arc<Policy> {
        self.inner
            .current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The watched file, if any.
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    /// The last failed reload while it is the newest content seen; `None` once a good one loads.
    pub fn failure(&self) -> Option<ReloadFailure> {
        lock(&self.inner.failure).clone()
    }

    /// Re-reads the file now (the watcher does this every interval).
    pub fn reload(&self) -> ReloadOutcome {
        let inner = &self.inner;
        let Some(path) = &inner.path else {
            return ReloadOutcome::Unchanged;
        };
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                // A ConfigMap update is a symlink swap; a missing file mid-swap is retried next time.
                let errors = unreadable(path, &e);
                self.rejected(&errors, None);
                return ReloadOutcome::Rejected(errors);
            }
        };
        let hash: [u8; 32] = Sha256::digest(&bytes).into();
        if *lock(&inner.good) == Some(hash) && lock(&inner.failure).take().is_some() {
            // The file in force is back (e.g. it was unreadable for a moment during a symlink swap).
            *lock(&inner.seen) = Some(hash);
            inner.metrics.record_policy_reload(true);
            tracing::info!(file = %path.display(), "plugin policy file readable and unchanged again");
            return ReloadOutcome::Unchanged;
        }
        if *lock(&inner.seen) == Some(hash) {
            return ReloadOutcome::Unchanged;
        }
        let text = String::from_utf8_lossy(&bytes);
        match Policy::parse(&text, &path.display().to_string(), &inner.global) {
            Ok(policy) => {
                let rules = policy.rules.len();
                *inner.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(policy);
                *lock(&inner.seen) = Some(hash);
                *lock(&inner.good) = Some(hash);
                *lock(&inner.failure) = None;
                inner.metrics.record_policy_reload(true);
                tracing::info!(file = %path.display(), rules, "plugin policy reloaded");
                ReloadOutcome::Applied
            }
            Err(errors) => {
                self.rejected(&errors, Some(hash));
                ReloadOutcome::Rejected(errors)
            }
        }
    }

    fn rejected(&self, errors: &PolicyErrors, hash: Option<[u8; 32]>) {
        let inner = &self.inner;
        let mut failure = lock(&inner.failure);
        // An unreadable file is retried every interval; log it once per failure streak.
        let repeat = hash.is_none() && failure.is_some();
        if !repeat {
            for p in &errors.problems {
                tracing::error!(file = %errors.source_name, problem = %p, "plugin policy reload rejected; the previous policy stays in force");
            }
            inner.metrics.record_policy_reload(false);
        }
        *failure = Some(ReloadFailure {
            at: SystemTime::now(),
            errors: errors.problems.len(),
            first: errors
                .problems
                .first()
                .map(ToString::to_string)
                .unwrap_or_default(),
        });
        if let Some(h) = hash {
            *lock(&inner.seen) = Some(h);
        }
    }

    /// Starts a thread re-reading the file every `interval` while a handle exists.
    pub fn spawn_watcher(&self, interval: Duration) -> std::io::Result<()> {
        if self.inner.path.is_none() || interval.is_zero() {
            return Ok(());
        }
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        std::thread::Builder::new()
            .name("policy-reload".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(interval);
                    let Some(inner) = weak.upgrade() else { break };
                    PolicyHandle { inner }.reload();
                }
            })
            .map(drop)
    }
}

fn unreadable(path: &Path, e: &std::io::Error) -> PolicyErrors {
    PolicyErrors {
        source_name: path.display().to_string(),
        problems: vec![PolicyProblem {
            line: None,
            subject: "file".into(),
            field: String::new(),
            message: format!("cannot be read: {e}"),
        }],
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
