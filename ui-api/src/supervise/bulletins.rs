//! Bulletins: issue, list, one, statistics, the four steps, attachments. (Helper h4.)

use axum::response::Response;

use crate::ApiError;

/// Stub of the contract (filled in by its helper).
pub async fn issue() -> Result<Response, ApiError> {
    Err(super::not_yet())
}

/// Stub of the contract (filled in by its helper).
pub async fn list() -> Result<Response, ApiError> {
    Err(super::not_yet())
}

/// Stub of the contract (filled in by its helper).
pub async fn stats() -> Result<Response, ApiError> {
    Err(super::not_yet())
}

/// Stub of the contract (filled in by its helper).
pub async fn get() -> Result<Response, ApiError> {
    Err(super::not_yet())
}

/// Stub of the contract (filled in by its helper).
pub async fn sign() -> Result<Response, ApiError> {
    Err(super::not_yet())
}

/// Stub of the contract (filled in by its helper).
pub async fn answer() -> Result<Response, ApiError> {
    Err(super::not_yet())
}

/// Stub of the contract (filled in by its helper).
pub async fn rectify() -> Result<Response, ApiError> {
    Err(super::not_yet())
}

/// Stub of the contract (filled in by its helper).
pub async fn review() -> Result<Response, ApiError> {
    Err(super::not_yet())
}

/// Stub of the contract (filled in by its helper).
pub async fn attachment() -> Result<Response, ApiError> {
    Err(super::not_yet())
}
