//! Products served on the one POP endpoint, chosen by API `Version`.
//!
//! KMS `2016-01-20`, OOS `2019-06-01` and STS `2015-04-01`. ECS instance metadata is not
//! POP and lives in [`crate::metadata`].

mod kms;
mod oos;
mod sts;

use serde_json::Value;
use time::OffsetDateTime;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::request::PopRequest;
use crate::store::Store;
use axum::http::StatusCode;

/// Fixed timestamp reported as creation/update time when the seed gives none.
pub const DEFAULT_CREATED: &str = "2024-05-06T07:08:09Z";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Product {
    Kms,
    Oos,
    Sts,
}

impl Product {
    pub fn from_version(version: &str) -> Option<Self> {
        match version {
            "2016-01-20" => Some(Self::Kms),
            "2019-06-01" => Some(Self::Oos),
            "2015-04-01" => Some(Self::Sts),
            _ => None,
        }
    }

    /// The `HostId` errors carry, like `kms.cn-hangzhou.aliyuncs.com`.
    pub fn host_id(self, region: &str) -> String {
        let p = match self {
            Self::Kms => "kms",
            Self::Oos => "oos",
            Self::Sts => "sts",
        };
        format!("{p}.{region}.aliyuncs.com")
    }

    /// Whether this product implements `action` (checked before authentication).
    pub fn supports(self, action: &str) -> bool {
        match self {
            Self::Kms => action == "GetSecretValue",
            Self::Oos => matches!(action, "GetSecretParameter" | "GetParameter"),
            Self::Sts => matches!(action, "AssumeRole" | "AssumeRoleWithOIDC"),
        }
    }

    /// Actions called without any credential (no signature is checked).
    pub fn is_anonymous(self, action: &str) -> bool {
        self == Self::Sts && action == "AssumeRoleWithOIDC"
    }

    /// Run an anonymous call (see [`Product::is_anonymous`]).
    pub fn handle_anonymous(
        self,
        action: &str,
        req: &PopRequest,
        store: &Store,
        now: OffsetDateTime,
    ) -> Result<Value, ApiError> {
        match (self, action) {
            (Self::Sts, "AssumeRoleWithOIDC") => sts::assume_role_with_oidc(req, store, now),
            _ => Err(unknown_action(action)),
        }
    }

    /// Run an authenticated call; returns the JSON success body.
    pub fn handle(
        self,
        action: &str,
        req: &PopRequest,
        caller: &Caller,
        store: &Store,
        now: OffsetDateTime,
    ) -> Result<Value, ApiError> {
        match (self, action) {
            (Self::Sts, "AssumeRole") => sts::assume_role(req, caller, store, now),
            (Self::Kms, "GetSecretValue") => kms::get_secret_value(req, caller, store),
            (Self::Oos, "GetSecretParameter") => oos::get_secret_parameter(req, caller, store),
            (Self::Oos, "GetParameter") => oos::get_parameter(req, caller, store),
            _ => Err(unknown_action(action)),
        }
    }
}

pub fn unknown_action(action: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "InvalidAction.NotFound",
        format!(
            "Specified api is not found, please check your url and method: Action \"{action}\" is not emulated for this Version."
        ),
    )
}
