//! Periodic reports: made on demand (JSON, HTML, .docx) and those kept. (Helper h5.)

use axum::response::Response;

use crate::ApiError;

/// Stub of the contract (filled in by its helper).
pub async fn periodic() -> Result<Response, ApiError> {
    Err(super::not_yet())
}

/// Stub of the contract (filled in by its helper).
pub async fn kept() -> Result<Response, ApiError> {
    Err(super::not_yet())
}
