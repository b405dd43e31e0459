//! POP error responses: the JSON shape both official SDKs parse, with the right status.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error as the cloud reports it: HTTP status, `Code`, `Message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_owned(),
            message: message.into(),
        }
    }

    pub fn missing_parameter(name: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "MissingParameter",
            format!(
                "The input parameter \"{name}\" that is mandatory for processing this request is not supplied."
            ),
        )
    }

    pub fn invalid_parameter(name: &str, why: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidParameter",
            format!("The specified parameter \"{name}\" is not valid: {why}"),
        )
    }

    pub fn incomplete_signature(detail: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "IncompleteSignature",
            format!("The request signature does not conform to Aliyun standards. {detail}"),
        )
    }

    /// The exact message matters: the core SDK compares the text after `is:` with its own
    /// string-to-sign and, if equal, reports `InvalidAccessKeySecret` instead.
    pub fn signature_mismatch(server_string_to_sign: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "SignatureDoesNotMatch",
            format!(
                "Specified signature is not matched with our calculation. server string to sign is:{server_string_to_sign}"
            ),
        )
    }

    pub fn no_permission() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "Forbidden.NoPermission",
            "This operation is forbidden by permission system.",
        )
    }

    /// Render with the product's `HostId` and a fresh `RequestId`.
    pub fn into_response_for(self, host_id: &str) -> Response {
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Body<'a> {
            request_id: String,
            host_id: &'a str,
            code: &'a str,
            message: &'a str,
            recommend: String,
        }
        let body = Body {
            request_id: new_request_id(),
            host_id,
            code: &self.code,
            message: &self.message,
            recommend: format!("https://api.aliyun.com/troubleshoot?q={}", self.code),
        };
        let json = serde_json::to_vec(&body).expect("error body serialises");
        let mut resp = (self.status, json).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json;charset=utf-8"),
        );
        resp
    }
}

/// Request ids are upper-case UUIDs, as the cloud returns them.
pub fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string().to_uppercase()
}
