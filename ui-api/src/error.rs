//! The one place where errors become HTTP responses: an [`ApiError`] carries an
//! [`ErrorCode`], and the code decides the status ([`ErrorCode::http_status`]).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
pub use onewall_model::ErrorCode;
use onewall_store::StoreError;
use serde_json::json;

/// An API error: a stable code and a message for the caller.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidArgument, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::new(e.code(), e.to_string())
    }
}

impl From<onewall_model::ModelError> for ApiError {
    fn from(e: onewall_model::ModelError) -> Self {
        ApiError::new(e.code(), e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let code = self.code.as_str();
        let message = if status.is_server_error() {
            // The detail is for the operator's log, not the caller.
            tracing::error!(code, error = %self.message, "request failed");
            "internal error; see the node's log".to_owned()
        } else {
            self.message
        };
        (
            status,
            Json(json!({ "error": { "code": code, "message": message } })),
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_its_status() {
        for code in ErrorCode::ALL {
            let e = ApiError::new(code, "x");
            assert_eq!(e.status().as_u16(), code.http_status(), "{code}");
        }
        assert_eq!(ApiError::invalid("x").status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            ApiError::new(ErrorCode::Unavailable, "x").status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
}
