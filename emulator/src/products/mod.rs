//! Products served on the one POP endpoint, chosen by API `Version`.
//!
//! This is the seam for later products: STS (`2015-04-01`: AssumeRole, AssumeRoleWithOIDC)
//! becomes one more [`Product`] variant and module. ECS instance metadata is not POP and
//! will be a separate router under `/latest/` in `server.rs`.

mod kms;
mod oos;

use serde_json::Value;

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
}

impl Product {
    pub fn from_version(version: &str) -> Option<Self> {
        match version {
            "2016-01-20" => Some(Self::Kms),
            "2019-06-01" => Some(Self::Oos),
            _ => None,
        }
    }

    /// The `HostId` errors carry, like `kms.cn-hangzhou.aliyuncs.com`.
    pub fn host_id(self, region: &str) -> String {
        let p = match self {
            Self::Kms => "kms",
            Self::Oos => "oos",
        };
        format!("{p}.{region}.aliyuncs.com")
    }

    /// Whether this product implements `action` (checked before authentication).
    pub fn supports(self, action: &str) -> bool {
        match self {
            Self::Kms => action == "GetSecretValue",
            Self::Oos => matches!(action, "GetSecretParameter" | "GetParameter"),
        }
    }

    /// Run an authenticated call; returns the JSON success body.
    pub fn handle(
        self,
        action: &str,
        req: &PopRequest,
        caller: &Caller,
        store: &Store,
    ) -> Result<Value, ApiError> {
        match (self, action) {
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
